//! Hostile shapes, strides and lengths (as a model file could give them): each is an error that
//! names the argument, or the exact answer where one exists, in release builds (no overflow
//! checks: the old unchecked sizes wrapped there) as in debug ones. One test per bug found.

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

use cpu_probe::parallel::Parallel;
use qgemm::pack::{pack, pack_kernel};
use qgemm::{
    activation_domain, check_accumulator, weight_domain, GemmConfig, GemmError, GemmOutput, Input8,
    Kernel, PackedB, Tiling, IGEMM,
};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};

/// `2^63`, `usize::MAX / 2 + 1`.
const HALF: usize = usize::MAX / 2 + 1;

/// `k × n` ones (s8), u8 activations with zero point 0, on `variant`.
fn packed(k: usize, n: usize, variant: Option<&'static Kernel>) -> PackedB {
    PackedB::new(GemmConfig {
        a_zero_point: 0,
        kernel: variant,
        ..GemmConfig::u8_by_s8(k, n, &vec![1; k * n])
    })
    .unwrap()
}

fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "{text:?} lacks {p:?}");
    }
}

/// Every output kind, each over `len` elements with row stride `ldc`, run through `f`.
fn for_each_output(n: usize, len: usize, ldc: usize, mut f: impl FnMut(&str, GemmOutput<'_>)) {
    let ru8 = Requantizer::new(RequantScheme::Fp32, 0.5, 0, QType::U8).unwrap();
    let ri8 = Requantizer::new(RequantScheme::Fp32, 0.5, 0, QType::I8).unwrap();
    let pu8 = PerChannelRequantizer::new(RequantScheme::Fp32, &vec![0.5; n], 0, QType::U8).unwrap();
    let pi8 = PerChannelRequantizer::new(RequantScheme::Fp32, &vec![0.5; n], 0, QType::I8).unwrap();
    let (mut u, mut i, mut w, mut x) = (
        vec![0u8; len],
        vec![0i8; len],
        vec![0i32; len],
        vec![0f32; len],
    );
    f(
        "u8",
        GemmOutput::U8 {
            c: &mut u,
            ldc,
            requant: &ru8,
        },
    );
    f(
        "i8",
        GemmOutput::I8 {
            c: &mut i,
            ldc,
            requant: &ri8,
        },
    );
    f(
        "u8 per channel",
        GemmOutput::U8PerChannel {
            c: &mut u,
            ldc,
            requant: &pu8,
        },
    );
    f(
        "i8 per channel",
        GemmOutput::I8PerChannel {
            c: &mut i,
            ldc,
            requant: &pi8,
        },
    );
    f("i32", GemmOutput::I32 { c: &mut w, ldc });
    f(
        "f32",
        GemmOutput::F32 {
            c: &mut x,
            ldc,
            a_scale: 1.0,
            b_scales: &[1.0],
        },
    );
}

/// `lda = 2^63`, m = 3: `(m − 1) · lda + k` wrapped to k, so a 16-byte A passed the length
/// check and row 2 was addressed at 2 · 2^63 (row pointers, and the strided AVX-512 entry's
/// `a + r · lda`).
#[test]
fn lda_past_half_of_usize_is_refused() {
    let p = packed(4, 8, None);
    for_each_output(8, 3 * 8, 8, |kind, out| {
        let e = p
            .gemm(3, Input8::U8(&[1; 16]), HALF, out, &Parallel::single())
            .unwrap_err();
        assert!(matches!(e, GemmError::Shape(_)), "{kind}: {e}");
        assert_has(
            &e.to_string(),
            &[&format!(
                "A: lda {HALF} times m − 1 = 2 plus k 4 overflows usize"
            )],
        );
    });
}

/// `ldc` near usize::MAX: `(m − 1) · ldc + n` wrapped to a few elements, so an 8-element C
/// passed and row 1 was written at offset ldc (every output kind; memory corruption).
#[test]
fn ldc_near_usize_max_is_refused() {
    let p = packed(4, 4, None);
    for (m, ldc) in [
        (2, usize::MAX - 2),
        (2, usize::MAX),
        (3, HALF),
        (5, usize::MAX / 4 + 1),
    ] {
        for_each_output(4, 8, ldc, |kind, out| {
            let e = p
                .gemm(m, Input8::U8(&[1; 64]), 4, out, &Parallel::single())
                .unwrap_err()
                .to_string();
            assert_has(
                &e,
                &[&format!(
                    "C: ldc {ldc} times m − 1 = {} plus n 4 overflows usize",
                    m - 1
                )],
            );
            let _ = kind;
        });
    }
}

/// Huge m with a tiny A (and C): m = 2^63 + 2 rows of lda = ldc = 2 span (2^63 + 1) · 2 + 2,
/// which wrapped to 4, so a 4-byte A and a 4-element C passed and the tasks walked 2^63 rows
/// (writing C rows past its end).
#[test]
fn huge_m_with_a_tiny_a_is_refused() {
    let p = packed(2, 2, None);
    let m = HALF + 2;
    let mut c = [0i32; 4];
    let e = p
        .gemm(
            m,
            Input8::U8(&[1; 4]),
            2,
            GemmOutput::I32 { c: &mut c, ldc: 2 },
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &[&format!(
            "A: lda 2 times m − 1 = {} plus k 2 overflows usize",
            HALF + 1
        )],
    );
    // m = usize::MAX with lda = k = 1 does not wrap: a plain length error.
    let p1 = packed(1, 1, None);
    let e = p1
        .gemm(
            usize::MAX,
            Input8::U8(&[1; 4]),
            1,
            GemmOutput::I32 { c: &mut c, ldc: 1 },
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    assert_has(&e, &[&format!("A has 4 elements but {}x1", usize::MAX)]);
}

/// `PackedB::new`: `(k − 1) · ldb + n` wrapped (ldb = 2^63, k = 3: to 1), so a 1-byte B passed
/// and the transpose indexed byte 2^63.
#[test]
fn ldb_past_half_of_usize_is_refused() {
    for (k, ldb) in [(3, HALF), (2, usize::MAX)] {
        let e = PackedB::new(GemmConfig {
            ldb,
            a_zero_point: 0,
            ..GemmConfig::u8_by_s8(k, 1, &[1])
        })
        .unwrap_err()
        .to_string();
        assert_has(
            &e,
            &[&format!(
                "B: ldb {ldb} times k − 1 = {} plus n 1 overflows usize",
                k - 1
            )],
        );
    }
}

/// k and n are bounded by u32::MAX (the documented limit), before B's length is looked at.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn k_and_n_above_u32_are_refused() {
    let big = u32::MAX as usize + 1;
    for (k, n, want) in [
        (big, 1, "k 4294967296 exceeds the limit 4294967295"),
        (1, big, "n 4294967296 exceeds the limit 4294967295"),
        (usize::MAX, usize::MAX, "k 18446744073709551615 exceeds"),
    ] {
        let e = PackedB::new(GemmConfig {
            a_zero_point: 0,
            ..GemmConfig::u8_by_s8(k, n, &[1; 16])
        })
        .unwrap_err()
        .to_string();
        assert_has(&e, &[want]);
    }
}

/// Zero-sized dimensions: k or n of 0 are refused; m = 0 is the exact answer (nothing written).
#[test]
fn zero_sized_dims() {
    for (k, n) in [(0, 4), (4, 0), (0, 0)] {
        let e = PackedB::new(GemmConfig {
            ldb: 4,
            a_zero_point: 0,
            ..GemmConfig::u8_by_s8(k, n, &[1; 16])
        })
        .unwrap_err()
        .to_string();
        assert_has(&e, &[&format!("k ({k}) and n ({n}) must be >= 1")]);
    }
    let p = packed(4, 4, None);
    let mut c = [5i32; 4];
    p.gemm(
        0,
        Input8::U8(&[]),
        4,
        GemmOutput::I32 { c: &mut c, ldc: 4 },
        &Parallel::single(),
    )
    .unwrap();
    assert_eq!(c, [5; 4]);
}

/// `PackedB::tiling` / `tiling_direct` with m and threads at usize::MAX: `ceil(m / MR) · MR` and
/// `threads · TASKS_PER_THREAD` overflowed (a debug panic; rows = 0 in release).
#[test]
fn tiling_of_huge_m_and_threads_is_sane() {
    let p = packed(64, 100, None);
    let (mr, nr) = (p.kernel().kernels.mr, p.kernel().kernels.nr);
    let nb = 100usize.div_ceil(nr);
    for m in [usize::MAX, HALF, 1, 0] {
        for threads in [usize::MAX, HALF, 1, 0] {
            for t in [p.tiling(m, threads), p.tiling_direct(m, threads)] {
                assert!(t.rows >= 1 && t.rows <= m.max(1), "{m} {threads}: {t:?}");
                assert!(t.blocks >= 1 && t.blocks <= nb, "{m} {threads}: {t:?}");
                if m == usize::MAX && threads == 1 {
                    assert!(t.rows >= mr, "{t:?}");
                }
            }
        }
    }
}

/// A forced tiling of usize::MAX rows and blocks is clamped (a task's i32 scratch is capped)
/// and gives the exact answer; a zero one is refused.
#[test]
fn forced_huge_tiling_is_exact() {
    let (m, k, n) = (37, 20, 70);
    let p = packed(k, n, None);
    let a: Vec<u8> = (0..m * k).map(|i| (i * 7 % 251) as u8).collect();
    let want: Vec<i32> = (0..m * n)
        .map(|i| a[(i / n) * k..][..k].iter().map(|&v| i32::from(v)).sum())
        .collect();
    for tiling in [
        Tiling {
            rows: usize::MAX,
            blocks: usize::MAX,
        },
        Tiling {
            rows: 1,
            blocks: usize::MAX,
        },
        Tiling {
            rows: usize::MAX,
            blocks: 1,
        },
    ] {
        let mut c = vec![0i32; m * n];
        p.gemm_with_tiling(
            m,
            Input8::U8(&a),
            k,
            GemmOutput::I32 { c: &mut c, ldc: n },
            &Parallel::single(),
            tiling,
        )
        .unwrap();
        assert_eq!(c, want, "{tiling:?}");
        let mut f = vec![0f32; m * n];
        p.gemm_with_tiling(
            m,
            Input8::U8(&a),
            k,
            GemmOutput::F32 {
                c: &mut f,
                ldc: n,
                a_scale: 1.0,
                b_scales: &[1.0],
            },
            &Parallel::single(),
            tiling,
        )
        .unwrap();
        assert!(
            f.iter().zip(&want).all(|(&x, &w)| x == w as f32),
            "{tiling:?}"
        );
    }
    let e = p
        .gemm_with_tiling(
            m,
            Input8::U8(&a),
            k,
            GemmOutput::I32 {
                c: &mut vec![0; m * n],
                ldc: n,
            },
            &Parallel::single(),
            Tiling { rows: 0, blocks: 3 },
        )
        .unwrap_err()
        .to_string();
    assert_has(&e, &["tiling rows (0) and blocks (3) must be >= 1"]);
}

/// `check_accumulator` is public: a zero point of i32::MIN overflowed `max − za` (a debug
/// panic; in release a negative bound, so the check passed), and weights shorter than
/// `channels · k` panicked on a slice index.
#[test]
fn check_accumulator_rejects_hostile_arguments() {
    let e = check_accumulator(QType::U8, i32::MIN, &[1], &[0], &[0], 1)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["activation zero point is -2147483648"]);
    let e = check_accumulator(QType::U8, 0, &[1; 3], &[0, 0], &[0, 0], 2)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["3 weights but 2 channels x k 2 = 4 are needed"]);
    let e = check_accumulator(QType::U8, 0, &[1; 4], &[0, 0], &[0], 2)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["1 biases for 2 channels"]);
    let e = check_accumulator(QType::U8, 0, &[1; 4], &[0, 0], &[0, 0], usize::MAX)
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &[&format!("2 channels x k {} overflows usize", usize::MAX)],
    );
    // A hostile weight zero point (|w − zw| up to 2^31 + 127) is an overflow, not a wrap.
    let e = check_accumulator(QType::U8, 0, &[127; 4], &[i32::MIN], &[i32::MAX], 4).unwrap_err();
    assert!(matches!(e, GemmError::Overflow(_)), "{e}");
    // The exact boundary still holds: 33025 products of 255 · 255 fit, 33026 do not.
    let w = vec![-128i8; 33026];
    assert!(check_accumulator(QType::U8, 0, &w[..33025], &[127], &[0], 33025).is_ok());
    assert!(check_accumulator(QType::U8, 0, &w, &[127], &[0], 33026).is_err());
}

/// `activation_domain` / `weight_domain` are public: `za + 128` and `zw − 128` overflowed for
/// zero points outside the type (a debug panic, a wrapped zero point in release).
#[test]
fn domain_helpers_reject_out_of_range_zero_points() {
    let e = activation_domain(QType::I8, i32::MAX)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["2147483647"]);
    assert_eq!(activation_domain(QType::I8, -3).unwrap(), (0x80, 125));
    assert_eq!(activation_domain(QType::U8, 7).unwrap(), (0, 7));
    let e = weight_domain(Input8::U8(&[1, 2]), &[i32::MIN])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["-2147483648"]);
    assert_eq!(
        weight_domain(Input8::U8(&[1, 200]), &[128, 3]).unwrap(),
        (vec![-127, 72], vec![0, -125])
    );
}

/// `pack::pack` / `pack_kernel` are public: NR or KR of 0 divided by zero, short weights
/// panicked on an index, and the packed size `groups · blocks · taps · kc4 · NR · 4` was
/// computed unchecked and allocated infallibly (capacity overflow: a panic or an abort).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn pack_rejects_bad_layouts() {
    let w = [1i8; 8];
    let e = pack(0, 1, 4, 2, 1, &w, &[0, 0], 0, &[0, 0], false)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["NR 0"]);
    let mut kern = IGEMM.all()[0].kernels;
    kern.kr = 0;
    let e = pack_kernel(&kern, 1, 4, 2, 1, &w, &[0, 0], 0, &[0, 0])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["KR 0"]);
    let kern = IGEMM.all()[0].kernels;
    let e = pack_kernel(&kern, 1, 4, 2, 1, &w[..7], &[0, 0], 0, &[0, 0])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["7 weights", "8"]);
    let e = pack_kernel(&kern, 1, 4, 2, 1, &w, &[0], 0, &[0, 0])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["1 weight zero points", "2"]);
    let e = pack_kernel(&kern, 1, 4, 2, 1, &w, &[0, 0], 0, &[0])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["1 biases", "2"]);
    for (taps, groups) in [(0, 1), (1, 0)] {
        assert!(pack_kernel(&kern, taps, 4, 2, groups, &[], &[], 0, &[]).is_err());
    }
    // Sizes past usize.
    let e = pack_kernel(&kern, HALF, 4, 2, 1, &w, &[0, 0], 0, &[0, 0])
        .unwrap_err()
        .to_string();
    assert_has(&e, &["overflows usize"]);
    // A packed size of 2^63 bytes (NR = 2^61): refused by the fallible allocation.
    let e = pack(1 << 61, 1, 1, 1, 1, &[1], &[0], 0, &[0], false)
        .unwrap_err()
        .to_string();
    assert_has(&e, &["cannot be allocated"]);
    // A good layout still packs.
    let p = pack_kernel(&kern, 1, 4, 2, 1, &w, &[0, 0], 0, &[5, 6]).unwrap();
    assert_eq!(p.bias(), &[5, 6]);
    assert_eq!(p.block(0, 0).len(), p.block_len());
    let (wr, br) = p.block_range(0, 0, p.blocks());
    assert_eq!(wr.len(), p.blocks() * p.block_len());
    assert_eq!(br.len(), p.blocks() * p.nr());
    // Out-of-range blocks panic (they are never an out-of-bounds read).
    assert!(std::panic::catch_unwind(|| p.block_range(0, 0, p.blocks() + 1).0.len()).is_err());
    assert!(std::panic::catch_unwind(|| p.block(usize::MAX, usize::MAX).len()).is_err());
}
