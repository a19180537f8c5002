//! Every available variant == the reference, bit for bit: QNNPACK's case matrix plus proptest.

use cpu_probe::parallel::Parallel;
use proptest::prelude::*;
use qgemm::reference::gemm_i32;
use qgemm::{GemmConfig, GemmError, GemmOutput, Input8, Kernel, PackedB, Tiling, IGEMM};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};

#[path = "support/guarded.rs"]
mod guarded;
use guarded::Guarded;

#[path = "support/lcg.rs"]
mod support_lcg;

/// The shared generator's 31-bit values as i32.
fn lcg(s: &mut u64) -> i32 {
    support_lcg::lcg(s) as i32
}

#[path = "support/entries.rs"]
mod entries;
use entries::exact_entries;

#[allow(clippy::too_many_arguments)]
fn check(
    m: usize,
    k: usize,
    n: usize,
    extra_a: usize,
    extra_b: usize,
    extra_c: usize,
    ops: usize,
    per_channel: bool,
    seed: u64,
) {
    let (a_type, b_type) = [
        (QType::U8, QType::U8),
        (QType::I8, QType::I8),
        (QType::U8, QType::I8),
    ][ops];
    let mut s = seed;
    let (lda, ldb, ldc) = (k + extra_a, n + extra_b, n + extra_c);
    let a: Vec<i32> = (0..m * lda)
        .map(|_| a_type.min() + lcg(&mut s).rem_euclid(256))
        .collect();
    let b: Vec<i32> = (0..k * ldb)
        .map(|_| b_type.min() + lcg(&mut s).rem_euclid(256))
        .collect();
    let za = a_type.min() + lcg(&mut s).rem_euclid(256);
    let zb: Vec<i32> = (0..if per_channel { n } else { 1 })
        .map(|_| {
            if ops == 1 {
                0
            } else {
                b_type.min() + lcg(&mut s).rem_euclid(256)
            }
        })
        .collect();
    let bias: Vec<i32> = (0..n)
        .map(|_| lcg(&mut s).rem_euclid(20001) - 10000)
        .collect();
    check_data(
        (m, k, n),
        (lda, ldb, ldc),
        (a_type, &a, za),
        (b_type, &b, &zb),
        &bias,
        seed,
    );
}

/// Every available entry against the reference on the given operands (`a`: `m` rows of
/// stride `lda`, `b`: `k` rows of stride `ldb`, values in their types' ranges; `zb`: 1 or `n`
/// zero points), into every output type with C's row stride `ldc`.
fn check_data(
    (m, k, n): (usize, usize, usize),
    (lda, ldb, ldc): (usize, usize, usize),
    (a_type, a, za): (QType, &[i32], i32),
    (b_type, b, zb): (QType, &[i32], &[i32]),
    bias: &[i32],
    seed: u64,
) {
    let zb_full: Vec<i32> = if zb.len() == 1 {
        vec![zb[0]; n]
    } else {
        zb.to_vec()
    };
    let mut want = gemm_i32(m, n, k, a, lda, za, b, ldb, &zb_full);
    for (i, x) in want.iter_mut().enumerate() {
        *x += bias[i % n];
    }
    let a_u8: Vec<u8> = a.iter().map(|&v| v as u8).collect();
    let a_i8: Vec<i8> = a.iter().map(|&v| v as i8).collect();
    let b_u8: Vec<u8> = b.iter().map(|&v| v as u8).collect();
    let b_i8: Vec<i8> = b.iter().map(|&v| v as i8).collect();
    let ain = if a_type == QType::U8 {
        Input8::U8(&a_u8)
    } else {
        Input8::I8(&a_i8)
    };
    let bin = if b_type == QType::U8 {
        Input8::U8(&b_u8)
    } else {
        Input8::I8(&b_i8)
    };
    let scheme = RequantScheme::ALL[(seed % 4) as usize];
    let r = Requantizer::new(scheme, 0.0007, 7, QType::U8)
        .unwrap()
        .with_clamp(3, 250)
        .unwrap();
    let r8 = Requantizer::new(scheme, 0.0011, -5, QType::I8).unwrap();
    let col_scales: Vec<f32> = (0..n).map(|j| 0.25 + 0.125 * (j % 5) as f32).collect();
    let req_scales: Vec<f32> = (0..n).map(|j| 0.0003 + 0.0002 * (j % 7) as f32).collect();
    let pc_u8 = PerChannelRequantizer::new(scheme, &req_scales, 9, QType::U8).unwrap();
    let pc_i8 = PerChannelRequantizer::new(scheme, &req_scales, 0, QType::I8)
        .unwrap()
        .with_clamp(-100, 100)
        .unwrap();
    let par = if seed.is_multiple_of(3) {
        Parallel::new(2)
    } else {
        Parallel::single()
    };
    for v in exact_entries(bin) {
        let p = match PackedB::new(GemmConfig {
            k,
            n,
            b: bin,
            ldb,
            a_type,
            a_zero_point: za,
            b_zero_points: zb,
            bias: Some(bias),
            kernel: Some(v),
        }) {
            Ok(p) => p,
            Err(GemmError::Overflow(_)) => return,
            Err(e) => panic!("{e}"),
        };
        // The driver's own split, then a forced one (every rows/blocks split gives the same C).
        let nb = n.div_ceil(p.kernel().kernels.nr);
        let forced = Tiling {
            rows: 1 + (seed as usize / 7) % m,
            blocks: 1 + (seed as usize / 11) % nb,
        };
        for tiling in [None, Some(forced)] {
            let run = |out: GemmOutput<'_>| match tiling {
                None => p.gemm(m, ain, lda, out, &par),
                Some(t) => p.gemm_with_tiling(m, ain, lda, out, &par, t),
            };
            let stages = Stages {
                r: &r,
                r8: &r8,
                col_scales: &col_scales,
                pc_u8: &pc_u8,
                pc_i8: &pc_i8,
            };
            let outs = outputs(&run, m, ldc, &stages);
            compare(
                &format!("{} {tiling:?}", v.name),
                (m, k, n, ldc),
                &want,
                &outs,
                &stages,
            );
        }
    }
}

/// Runs one GEMM (`m` rows, row stride `ldc`) into each of the six outputs, filled with
/// markers first.
fn outputs(
    run: &dyn Fn(GemmOutput<'_>) -> Result<(), GemmError>,
    m: usize,
    ldc: usize,
    s: &Stages,
) -> Outs {
    let mut c32 = vec![i32::MIN; m * ldc];
    run(GemmOutput::I32 { c: &mut c32, ldc }).unwrap();
    let mut cu8 = vec![0xA5u8; m * ldc];
    run(GemmOutput::U8 {
        c: &mut cu8,
        ldc,
        requant: s.r,
    })
    .unwrap();
    let mut ci8 = vec![0x5Ai8; m * ldc];
    run(GemmOutput::I8 {
        c: &mut ci8,
        ldc,
        requant: s.r8,
    })
    .unwrap();
    let mut cf = vec![0f32; m * ldc];
    run(GemmOutput::F32 {
        c: &mut cf,
        ldc,
        a_scale: 0.5,
        b_scales: s.col_scales,
    })
    .unwrap();
    let mut cpu = vec![0u8; m * ldc];
    run(GemmOutput::U8PerChannel {
        c: &mut cpu,
        ldc,
        requant: s.pc_u8,
    })
    .unwrap();
    let mut cpi = vec![0i8; m * ldc];
    run(GemmOutput::I8PerChannel {
        c: &mut cpi,
        ldc,
        requant: s.pc_i8,
    })
    .unwrap();
    Outs {
        c32,
        cu8,
        ci8,
        cf,
        cpu,
        cpi,
    }
}

/// The six outputs of one run of [`check`].
struct Outs {
    c32: Vec<i32>,
    cu8: Vec<u8>,
    ci8: Vec<i8>,
    cf: Vec<f32>,
    cpu: Vec<u8>,
    cpi: Vec<i8>,
}

/// The output stages of [`check`].
struct Stages<'a> {
    r: &'a Requantizer,
    r8: &'a Requantizer,
    col_scales: &'a [f32],
    pc_u8: &'a PerChannelRequantizer,
    pc_i8: &'a PerChannelRequantizer,
}

/// Every output == the reference `want` (m × n) requantized, and nothing written past column n.
fn compare(
    v: &str,
    (m, k, n, ldc): (usize, usize, usize, usize),
    want: &[i32],
    o: &Outs,
    s: &Stages,
) {
    let Outs {
        c32,
        cu8,
        ci8,
        cf,
        cpu,
        cpi,
    } = o;
    let Stages {
        r,
        r8,
        col_scales,
        pc_u8,
        pc_i8,
    } = s;
    for i in 0..m {
        for j in 0..n {
            let w = want[i * n + j];
            let at = i * ldc + j;
            assert_eq!(c32[at], w, "{v:?} i32 m{m} k{k} n{n} ({i},{j})");
            assert_eq!(i32::from(cu8[at]), r.requantize(w), "{v:?} u8");
            assert_eq!(i32::from(ci8[at]), r8.requantize(w), "{v:?} i8");
            assert_eq!(cf[at], w as f32 * (0.5 * col_scales[j]), "{v:?} f32");
            assert_eq!(
                i32::from(cpu[at]),
                pc_u8.channel(j).unwrap().requantize(w),
                "{v:?} u8 per channel"
            );
            assert_eq!(
                i32::from(cpi[at]),
                pc_i8.channel(j).unwrap().requantize(w),
                "{v:?} i8 per channel"
            );
        }
        for j in n..ldc {
            assert_eq!(c32[i * ldc + j], i32::MIN, "{v:?} wrote past n");
            assert_eq!(cu8[i * ldc + j], 0xA5, "{v:?} u8 wrote past n");
            assert_eq!(ci8[i * ldc + j], 0x5A, "{v:?} i8 wrote past n");
        }
    }
}

/// QNNPACK's matrix: k == KR, k > KR, k a multiple of KR, every m < MR and n < NR, strides.
#[test]
fn case_matrix() {
    eprintln!(
        "qgemm variants: {:?}",
        IGEMM.available().iter().map(|v| v.name).collect::<Vec<_>>()
    );
    let mut seed = 1u64;
    for k in [1, 3, 4, 5, 8, 12, 16, 17, 64] {
        for m in 1..=9 {
            for n in [1, 7, 8, 9, 31, 32, 33] {
                for ops in 0..3 {
                    seed += 1;
                    check(
                        m,
                        k,
                        n,
                        (seed % 3) as usize,
                        (seed % 2) as usize,
                        (seed % 4) as usize,
                        ops,
                        seed.is_multiple_of(2),
                        seed,
                    );
                }
            }
        }
    }
}

/// Plain GEMMs in the shape of the strided whole-block paths (the aarch64 entries run every
/// 16-column block of a row block in one asm block when k is a multiple of 16 and there are no
/// row sums, i.e. weight zero point 0): k in 16-channel steps (and 4- or 8-channel tails), n
/// over several blocks with and
/// without a partial one, m over several row blocks and a tail, u8 and i8 A, weights with and
/// without -128 (the i16-pair entry takes the first only), every output form.
#[test]
fn whole_block_gemms() {
    let mut s = 77u64;
    for (k, n) in [
        (16, 48),
        (64, 53),
        (48, 16),
        (32, 37),
        (128, 8),
        (8, 35),
        (24, 32),
        (12, 17),
        (40, 64),
    ] {
        for (a_type, w_floor) in [(QType::U8, -128), (QType::U8, -127), (QType::I8, -127)] {
            for ldx in [0, 3] {
                let m = 29;
                let (lda, ldb) = (k + ldx, n + ldx);
                let a: Vec<i32> = (0..m * lda)
                    .map(|_| a_type.min() + lcg(&mut s).rem_euclid(256))
                    .collect();
                let b: Vec<i32> = (0..k * ldb)
                    .map(|_| (-128 + lcg(&mut s).rem_euclid(256)).max(w_floor))
                    .collect();
                let za = a_type.min() + lcg(&mut s).rem_euclid(256);
                let bias: Vec<i32> = (0..n)
                    .map(|_| lcg(&mut s).rem_euclid(20001) - 10000)
                    .collect();
                check_data(
                    (m, k, n),
                    (lda, ldb, n + ldx),
                    (a_type, &a, za),
                    (QType::I8, &b, &[0]),
                    &bias,
                    s,
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 24 } else { 64 }, ..ProptestConfig::default() })]
    #[test]
    fn random_shapes(m in 1usize..70, k in 1usize..300, n in 1usize..90, ea in 0usize..5, eb in 0usize..5, ec in 0usize..5, ops in 0usize..3, pc in any::<bool>(), seed in any::<u64>()) {
        check(m, k, n, ea, eb, ec, ops, pc, seed);
    }
}

/// K past the 2048 channels the AVX2 6x8 kernel widens at once (chunked path), around the
/// chunk boundary, for GEMV and row tails.
#[test]
fn long_k() {
    let mut seed = 7u64;
    for k in [2047, 2048, 2049, 4100] {
        for m in [1, 5, 6, 7, 13] {
            for n in [1, 8, 9, 17] {
                seed += 1;
                check(
                    m,
                    k,
                    n,
                    1,
                    0,
                    2,
                    (seed % 3) as usize,
                    seed.is_multiple_of(2),
                    seed,
                );
            }
        }
    }
}

/// The operand extremes: every A byte at one end of its type, every weight at one end (−128 for
/// i8 weights, the case `vpmaddubsw`'s sign trick cannot take), zero points at both ends, and a
/// mix, for every operand combination; K up to the accumulator bound the plans accept.
#[test]
fn extreme_operands() {
    let combos = [
        (QType::U8, QType::U8),
        (QType::I8, QType::I8),
        (QType::U8, QType::I8),
        (QType::I8, QType::U8),
    ];
    let mut seed = 99u64;
    for (a_type, b_type) in combos {
        let (amin, amax, bmin, bmax) = (a_type.min(), a_type.max(), b_type.min(), b_type.max());
        for (av, bv) in [(amax, bmin), (amin, bmin), (amax, bmax), (amin, bmax)] {
            for (za, zb) in [(amin, bmin), (amax, bmax), (amin, bmax), (amax, bmin)] {
                for (m, k, n) in [(1, 4, 8), (6, 33, 9), (7, 1000, 17), (2, 4099, 3)] {
                    seed += 1;
                    // Mostly the extremes, one value in 7 the other end of the range.
                    let mut s = seed;
                    let mut mostly = |len: usize, v: i32, other: i32| -> Vec<i32> {
                        let pick = |_| if lcg(&mut s) % 7 == 0 { other } else { v };
                        (0..len).map(pick).collect()
                    };
                    let a = mostly(m * k, av, amin + amax - av);
                    let b = mostly(k * n, bv, bmin + bmax - bv);
                    let bias = vec![(seed % 5) as i32 - 2; n];
                    let zbs = if seed.is_multiple_of(2) {
                        vec![zb; n]
                    } else {
                        vec![zb]
                    };
                    check_data(
                        (m, k, n),
                        (k, n, n),
                        (a_type, &a, za),
                        (b_type, &b, &zbs),
                        &bias,
                        seed,
                    );
                }
            }
        }
    }
}

#[test]
fn overflow_boundary() {
    // u8 x u8, za = 0, zb = 255, B all zero: 65025 per product, K = 33025 fits, 33026 does not.
    let mk = |k: usize, v: Option<&'static Kernel>| {
        let b = vec![0u8; k];
        PackedB::new(GemmConfig {
            k,
            n: 1,
            b: Input8::U8(&b),
            ldb: 1,
            a_type: QType::U8,
            a_zero_point: 0,
            b_zero_points: &[255],
            bias: None,
            kernel: v,
        })
    };
    let a = vec![255u8; 33025];
    // B all 0 as u8: w' = −128 everywhere.
    for v in exact_entries(Input8::U8(&[0])) {
        let p = mk(33025, Some(v)).unwrap();
        let mut c = [0i32; 1];
        p.gemm(
            1,
            Input8::U8(&a),
            33025,
            GemmOutput::I32 { c: &mut c, ldc: 1 },
            &Parallel::single(),
        )
        .unwrap();
        assert_eq!(c[0], -2147450625, "{v:?}");
    }
    assert!(matches!(
        mk(33026, None).unwrap_err(),
        GemmError::Overflow(_)
    ));
}

#[test]
fn bad_input_is_an_error() {
    let b = [0i8; 12];
    let cfg = GemmConfig::u8_by_s8(3, 4, &b);
    let refused = |cfg| PackedB::new(cfg).unwrap_err().to_string();
    assert!(refused(GemmConfig { ldb: 3, ..cfg }).contains("ldb"));
    assert!(refused(GemmConfig { k: 4, ..cfg }).contains("B has 12"));
    let two_zps = GemmConfig {
        b_zero_points: &[0, 0],
        ..cfg
    };
    assert!(refused(two_zps).contains("zero points"));
    let bad_zp = GemmConfig {
        a_zero_point: 300,
        ..cfg
    };
    assert!(refused(bad_zp).contains("zero point"));
    let p = PackedB::new(cfg).unwrap();
    let par = Parallel::single();
    // A 2x3 times the 3x4 B.
    let gemm_err =
        |a: Input8<'_>, out: GemmOutput<'_>| p.gemm(2, a, 3, out, &par).unwrap_err().to_string();
    let mut c = [0i32; 8];
    let e = gemm_err(Input8::U8(&[0; 5]), GemmOutput::I32 { c: &mut c, ldc: 4 });
    assert!(e.contains("A has 5"), "{e}");
    let short = GemmOutput::I32 {
        c: &mut c[..7],
        ldc: 4,
    };
    let e = gemm_err(Input8::U8(&[0; 6]), short);
    assert!(e.contains("C has 7"), "{e}");
    let e = gemm_err(Input8::I8(&[0; 6]), GemmOutput::I32 { c: &mut c, ldc: 4 });
    assert!(e.contains("activations"), "{e}");
    let r = Requantizer::new(RequantScheme::Fp32, 0.5, 0, QType::I8).unwrap();
    let u8out = GemmOutput::U8 {
        c: &mut [0u8; 8],
        ldc: 4,
        requant: &r,
    };
    let e = gemm_err(Input8::U8(&[0; 6]), u8out);
    assert!(e.contains("requantizer produces"), "{e}");
}

#[test]
fn packed_b_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PackedB>();
    // One PackedB used from two threads at once gives the same C.
    let b: Vec<i8> = (0..64 * 40).map(|i| (i % 251) as i8).collect();
    let p = PackedB::new(GemmConfig {
        a_zero_point: 100,
        ..GemmConfig::u8_by_s8(64, 40, &b)
    })
    .unwrap();
    let a: Vec<u8> = (0..13 * 64).map(|i| (i * 7 % 256) as u8).collect();
    let run = || {
        let mut c = vec![0i32; 13 * 40];
        p.gemm(
            13,
            Input8::U8(&a),
            64,
            GemmOutput::I32 { c: &mut c, ldc: 40 },
            &Parallel::single(),
        )
        .unwrap();
        c
    };
    let (x, y) = std::thread::scope(|s| {
        let h = s.spawn(run);
        (run(), h.join().unwrap())
    });
    assert_eq!(x, y);
}

#[test]
fn driver_tiling() {
    // Q1 (1x1024x1000, a classifier head): 2 threads split the columns; 1 thread does not.
    let b = vec![1i8; 1024 * 1000];
    let p = PackedB::new(GemmConfig::u8_by_s8(1024, 1000, &b)).unwrap();
    let nb = 1000usize.div_ceil(p.kernel().kernels.nr);
    let t2 = p.tiling(1, 2);
    assert!(nb.div_ceil(t2.blocks) >= 2, "{t2:?}");
    let t1 = p.tiling(1, 1);
    assert_eq!(t1.rows, 1);
    // Q2 (3136x64x64): at least 2 tasks per thread, row tiles a multiple of MR.
    let b = vec![1i8; 64 * 64];
    let p = PackedB::new(GemmConfig::u8_by_s8(64, 64, &b)).unwrap();
    let t = p.tiling(3136, 2);
    assert!(3136usize.div_ceil(t.rows) >= 4, "{t:?}");
    assert_eq!(t.rows % p.kernel().kernels.mr, 0);
    // A zero tiling is an error, not a panic.
    let mut c = vec![0i32; 64];
    let e = p
        .gemm_with_tiling(
            1,
            Input8::U8(&[0; 64]),
            64,
            GemmOutput::I32 { c: &mut c, ldc: 64 },
            &Parallel::single(),
            Tiling { rows: 0, blocks: 1 },
        )
        .unwrap_err();
    assert!(e.to_string().contains("tiling"), "{e}");
}

/// The fused requantization (strided and per-block kernels), per tensor and per channel,
/// `Fp32` (every fused entry) and `Rndnu` (the aarch64 entries fuse it, the others run it
/// through the i32 scratch), at its edges: scales from 2^-20 to 255 (products past ±2^31 and
/// past the i16 range; `Rndnu` pre-shifts from 0.5 up), biases near ±2^31, u8 and i8 outputs with and without a [qmin, qmax] clamp, every
/// zero point kind; rows 8 · 3 + 5 so both the many-block entry and the row-block tail run;
/// column panels that start past column 0; every variant, == the scalar
/// `Requantizer::requantize` of the reference accumulators.
#[test]
fn fused_requantization_edges() {
    for scheme in [RequantScheme::Fp32, RequantScheme::Rndnu] {
        // k = 12: 4-channel k-group tails; k = 32: whole 16-channel steps (every whole-block
        // path, `igemm_2x8c16__neon`'s included).
        for k in [12usize, 32] {
            fused_edges(scheme, k);
        }
    }
}

/// [`fused_requantization_edges`] for one scheme (fused by the kernels that fuse it, through
/// the i32 scratch by the others) and depth.
fn fused_edges(scheme: RequantScheme, k: usize) {
    let (m, n) = (29usize, 45usize);
    let mut s = 7u64;
    let a: Vec<u8> = (0..m * k).map(|_| lcg(&mut s) as u8).collect();
    // >= −127: every entry, `igemm_2x8c16__neon` included, runs these requantization edges.
    let b: Vec<i8> = (0..k * n).map(|_| (lcg(&mut s) as i8).max(-127)).collect();
    let bias: Vec<i32> = (0..n)
        .map(|j| match j % 5 {
            0 => 2_147_000_000,
            1 => -2_147_000_000,
            2 => 40_000 * (j as i32) - 900_000,
            3 => 0,
            _ => lcg(&mut s).rem_euclid(200_001) - 100_000,
        })
        .collect();
    let a32: Vec<i32> = a.iter().map(|&v| i32::from(v)).collect();
    let b32: Vec<i32> = b.iter().map(|&v| i32::from(v)).collect();
    let mut want = gemm_i32(m, n, k, &a32, k, 128, &b32, n, &vec![0; n]);
    for (i, x) in want.iter_mut().enumerate() {
        *x += bias[i % n];
    }
    let scales = [
        1.0f32 / 1_048_576.0,
        0.0007,
        0.499,
        0.999_999_94,
        1.0,
        3.5,
        255.0,
    ];
    for v in IGEMM.available() {
        let p = PackedB::new(GemmConfig {
            bias: Some(&bias),
            kernel: Some(v),
            ..GemmConfig::u8_by_s8(k, n, &b)
        })
        .unwrap();
        for (si, &scale) in scales.iter().enumerate() {
            for (qt, zp, clamp) in [
                (QType::U8, 0, None),
                (QType::U8, 255, None),
                (QType::U8, 131, None),
                (QType::U8, 7, Some((3, 250))),
                (QType::U8, 200, Some((0, 201))),
                (QType::I8, 0, None),
                (QType::I8, -128, None),
                (QType::I8, 127, None),
                (QType::I8, -5, Some((-100, 100))),
                (QType::I8, 9, Some((-128, 0))),
            ] {
                let mut r = Requantizer::new(scheme, scale, zp, qt).unwrap();
                // Per channel: the scales rotated by si over the columns.
                let col_scales: Vec<f32> =
                    (0..n).map(|j| scales[(j + si) % scales.len()]).collect();
                let mut pc = PerChannelRequantizer::new(scheme, &col_scales, zp, qt).unwrap();
                if let Some((lo, hi)) = clamp {
                    r = r.with_clamp(lo, hi).unwrap();
                    pc = pc.with_clamp(lo, hi).unwrap();
                }
                let ldc = n + 3;
                // Per tensor and per channel, the driver's split and one of 8-row, 1-block tasks
                // (panels starting at column 32: the channel scales must follow).
                for (per_channel, tiling) in [
                    (false, None),
                    (true, None),
                    (true, Some(Tiling { rows: 8, blocks: 1 })),
                ] {
                    let mut c = vec![0x33u8; m * ldc];
                    // SAFETY: u8 and i8 have the same size and alignment; c outlives the call.
                    let ci8 = unsafe {
                        std::slice::from_raw_parts_mut(c.as_mut_ptr().cast::<i8>(), c.len())
                    };
                    let out = match (qt, per_channel) {
                        (QType::U8, false) => GemmOutput::U8 {
                            c: ci8_as_u8(ci8),
                            ldc,
                            requant: &r,
                        },
                        (QType::U8, true) => GemmOutput::U8PerChannel {
                            c: ci8_as_u8(ci8),
                            ldc,
                            requant: &pc,
                        },
                        (QType::I8, false) => GemmOutput::I8 {
                            c: ci8,
                            ldc,
                            requant: &r,
                        },
                        (QType::I8, true) => GemmOutput::I8PerChannel {
                            c: ci8,
                            ldc,
                            requant: &pc,
                        },
                    };
                    let par = Parallel::single();
                    match tiling {
                        None => p.gemm(m, Input8::U8(&a), k, out, &par),
                        Some(t) => p.gemm_with_tiling(m, Input8::U8(&a), k, out, &par, t),
                    }
                    .unwrap();
                    for i in 0..m {
                        for j in 0..n {
                            let got = if qt == QType::U8 {
                                i32::from(c[i * ldc + j])
                            } else {
                                i32::from(c[i * ldc + j] as i8)
                            };
                            let acc = want[i * n + j];
                            let exp = if per_channel {
                                pc.channel(j).unwrap().requantize(acc)
                            } else {
                                r.requantize(acc)
                            };
                            assert_eq!(
                                got, exp,
                                "{v:?} {scheme:?} k {k} scale {scale} {qt:?} zp {zp} clamp {clamp:?} per channel \
                                 {per_channel} {tiling:?} ({i},{j}) acc {acc}"
                            );
                        }
                        for j in n..ldc {
                            assert_eq!(c[i * ldc + j], 0x33, "{v:?} wrote past n");
                        }
                    }
                }
            }
        }
    }
}

fn ci8_as_u8(c: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have the same size and alignment; the borrow is passed through.
    unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr().cast::<u8>(), c.len()) }
}

/// No kernel reads past A: A ends at a guard page, with k not a multiple of 4 (the strided
/// entry reads whole 4-byte groups, so its last rows must go to the pointer path) and lda = k;
/// every variant, every output kind, == the reference.
#[test]
fn no_read_past_the_end_of_a() {
    for (m, k, n) in [
        (8, 1, 7),
        (16, 3, 45),
        (17, 5, 64),
        (29, 6, 33),
        (64, 7, 32),
        (24, 13, 40),
        (9, 66, 64),
        (40, 64, 64),
    ] {
        let mut s = (m * 1000 + k * 10 + n) as u64;
        let mut ga = Guarded::new(m * k);
        for x in ga.bytes().iter_mut() {
            *x = lcg(&mut s) as u8;
        }
        // >= −127: every entry, `igemm_2x8c16__neon` included, reads A through the guard.
        let b: Vec<i8> = (0..k * n).map(|_| (lcg(&mut s) as i8).max(-127)).collect();
        let a32: Vec<i32> = ga.bytes().iter().map(|&v| i32::from(v)).collect();
        let b32: Vec<i32> = b.iter().map(|&v| i32::from(v)).collect();
        let want = gemm_i32(m, n, k, &a32, k, 128, &b32, n, &vec![0; n]);
        let r = Requantizer::new(RequantScheme::Fp32, 0.01, 128, QType::U8).unwrap();
        for v in IGEMM.available() {
            let p = PackedB::new(GemmConfig {
                kernel: Some(v),
                ..GemmConfig::u8_by_s8(k, n, &b)
            })
            .unwrap();
            let a = Input8::U8(ga.bytes());
            let mut c8 = vec![0u8; m * n];
            let out = GemmOutput::U8 {
                c: &mut c8,
                ldc: n,
                requant: &r,
            };
            p.gemm(m, a, k, out, &Parallel::single()).unwrap();
            let mut c32 = vec![0i32; m * n];
            let out = GemmOutput::I32 {
                c: &mut c32,
                ldc: n,
            };
            p.gemm(m, a, k, out, &Parallel::single()).unwrap();
            assert_eq!(c32, want, "{v:?} m{m} k{k} n{n} i32");
            for (i, (&got, &acc)) in c8.iter().zip(&want).enumerate() {
                assert_eq!(
                    i32::from(got),
                    r.requantize(acc),
                    "{v:?} m{m} k{k} n{n} at {i}"
                );
            }
        }
    }
}

/// Every entry is reachable by its name (= its function's name) and a plan forced to it prints
/// that name; an entry this CPU cannot run is an error, not a panic.
#[test]
fn entries_by_name() {
    let b = [1i8; 6];
    for e in IGEMM.all() {
        let cfg = GemmConfig {
            a_zero_point: 0,
            kernel: Some(e),
            ..GemmConfig::u8_by_s8(3, 2, &b)
        };
        match IGEMM.by_name(e.name) {
            Ok(found) => {
                assert!(std::ptr::eq(found, e));
                assert_eq!(PackedB::new(cfg).unwrap().kernel().name, e.name);
            }
            Err(_) => assert!(matches!(PackedB::new(cfg), Err(GemmError::Kernel(_)))),
        }
    }
    assert!(IGEMM.by_name("igemm_4x8c4__sse9").is_err());
}

/// `igemm_2x8c16__neon` (ARMv8.0 NEON; exact only for packed weights `w' >= −127`) at the plan
/// level: chosen by default on a CPU whose best entry is plain NEON when the weights allow it and
/// `k` fills its 16-channel groups, an exact entry instead when a weight is −128 or `k` would be
/// mostly padding, and refused with an error naming the weights when forced on a −128 weight.
/// Every plan against the reference: u8 and i8 weights with per-tensor and per-channel zero
/// points (the row-sum path), u8 and i8 activations, `m` below and above the tile. Off aarch64
/// (no such entry) the default plans are still checked.
#[test]
fn i16_pair_kernel_plans() {
    const C16: &str = "igemm_2x8c16__neon";
    let c16 = IGEMM.available().into_iter().find(|e| e.name == C16);
    let neon_best = IGEMM.best().isa == cpu_probe::Isa::Neon;
    eprintln!(
        "{C16} available: {}; best entry: {}",
        c16.is_some(),
        IGEMM.best().name
    );
    let mut s = 77u64;
    for (m, k, n) in [
        (5, 64, 24),
        (3, 48, 16),
        (2, 17, 9),
        (1, 1024, 8),
        (7, 3, 8),
        (4, 32, 1),
    ] {
        for case in 0..4 {
            let (b_type, a_type) = [
                (QType::I8, QType::U8),
                (QType::U8, QType::U8),
                (QType::I8, QType::I8),
                (QType::U8, QType::I8),
            ][case];
            // Weights in the kernel's range: i8 in [-127, 127], u8 in [1, 255] (w' = w - 128).
            let b: Vec<i32> = (0..k * n)
                .map(|_| match b_type {
                    QType::I8 => lcg(&mut s).rem_euclid(255) - 127,
                    QType::U8 => 1 + lcg(&mut s).rem_euclid(255),
                })
                .collect();
            let zb: Vec<i32> = match (b_type, case % 2) {
                (QType::I8, 0) => vec![0; n],
                (QType::I8, _) => (0..n).map(|j| (j as i32 % 5) - 2).collect(),
                (QType::U8, 0) => vec![128; n],
                (QType::U8, _) => (0..n).map(|j| 120 + (j as i32 % 9)).collect(),
            };
            let za = if a_type == QType::U8 { 128 } else { -3 };
            let a: Vec<i32> = (0..m * k)
                .map(|_| match a_type {
                    QType::U8 => lcg(&mut s).rem_euclid(256),
                    QType::I8 => lcg(&mut s).rem_euclid(256) - 128,
                })
                .collect();
            let bias: Vec<i32> = (0..n).map(|j| 1000 * j as i32 - 4000).collect();
            let mut want = gemm_i32(m, n, k, &a, k, za, &b, n, &zb);
            for (i, x) in want.iter_mut().enumerate() {
                *x += bias[i % n];
            }
            let a_u8: Vec<u8> = a.iter().map(|&v| v as u8).collect();
            let a_i8: Vec<i8> = a.iter().map(|&v| v as i8).collect();
            let ain = if a_type == QType::U8 {
                Input8::U8(&a_u8)
            } else {
                Input8::I8(&a_i8)
            };
            for minus128 in [false, true] {
                let mut b = b.clone();
                let mut want = want.clone();
                if minus128 {
                    // One weight at w' = -128 (i8 -128, u8 0); the reference follows.
                    let (p, j) = (k / 2, n - 1);
                    let old = b[p * n + j];
                    b[p * n + j] = if b_type == QType::I8 { -128 } else { 0 };
                    for r in 0..m {
                        want[r * n + j] += (a[r * k + p] - za) * (b[p * n + j] - old);
                    }
                }
                let b_u8: Vec<u8> = b.iter().map(|&v| v as u8).collect();
                let b_i8: Vec<i8> = b.iter().map(|&v| v as i8).collect();
                let bin = if b_type == QType::U8 {
                    Input8::U8(&b_u8)
                } else {
                    Input8::I8(&b_i8)
                };
                let plan = |kernel| {
                    PackedB::new(GemmConfig {
                        k,
                        n,
                        b: bin,
                        ldb: n,
                        a_type,
                        a_zero_point: za,
                        b_zero_points: &zb,
                        bias: Some(&bias),
                        kernel,
                    })
                };
                let what = format!("m {m} k {k} n {n} case {case} minus128 {minus128}");
                let run = |p: &PackedB| {
                    let mut c = vec![0i32; m * n];
                    let out = GemmOutput::I32 { c: &mut c, ldc: n };
                    p.gemm(m, ain, k, out, &Parallel::single()).unwrap();
                    c
                };
                let p = plan(None).unwrap();
                let chosen = p.kernel().name;
                // >= 4 groups, whole or with padded channels at most 1/4 (Kernels::suits).
                let fills = k.div_ceil(16) >= 4
                    && (k.is_multiple_of(16) || k.div_ceil(16) * 16 * 3 <= k * 4);
                if c16.is_some() && neon_best && fills && !minus128 {
                    assert_eq!(chosen, C16, "{what}");
                } else {
                    assert_ne!(chosen, C16, "{what}");
                }
                assert_eq!(run(&p), want, "{what}: default plan on {chosen}");
                if let Some(e) = c16 {
                    match plan(Some(e)) {
                        Ok(p) => {
                            assert!(!minus128, "{what}: forced {C16} accepted a -128 weight");
                            assert_eq!(run(&p), want, "{what}: forced {C16}");
                        }
                        Err(GemmError::Kernel(msg)) => {
                            assert!(minus128, "{what}: {msg}");
                            assert!(
                                msg.contains("exact only for packed weights >= -127"),
                                "{msg}"
                            );
                        }
                        Err(e) => panic!("{what}: {e}"),
                    }
                }
            }
        }
    }
}
