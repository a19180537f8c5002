#![no_main]
//! `qgemm::PackedB::new` + `gemm` / `gemm_with_tiling` with arbitrary k, n, m, lda, ldb, ldc (full
//! `usize` range, mostly small), zero points, bias, every output kind, forced tilings, 1 or 2
//! threads and every available variant.
//!
//! Oracles: a call that returns `Ok` must have been valid (buffer lengths at least what the
//! shapes and strides need, computed here with checked arithmetic); C outside the rows × n
//! window is untouched; and for small problems C equals the scalar reference
//! (`qgemm::reference::gemm_i32` plus bias, requantized by `Requantizer::requantize`) bit for bit
//! (f32 output within 1e-6 relative).

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB, Tiling, IGEMM};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};

#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = run(&mut u);
});

fn qtype(u: &mut Unstructured<'_>) -> Result<QType> {
    Ok(if bool::arbitrary(u)? {
        QType::U8
    } else {
        QType::I8
    })
}

fn scheme(u: &mut Unstructured<'_>) -> Result<RequantScheme> {
    Ok([
        RequantScheme::Fp32,
        RequantScheme::Gemmlowp,
        RequantScheme::Rndnu,
        RequantScheme::Precise,
    ][usize::from(u8::arbitrary(u)?) % 4])
}

/// A stride: `min + small` usually, else anything from [`mix::size`].
fn stride(u: &mut Unstructured<'_>, min: usize) -> Result<usize> {
    if u8::arbitrary(u)? < 200 {
        Ok(min.saturating_add(usize::from(u8::arbitrary(u)?) % 6))
    } else {
        mix::size(u, min.saturating_add(8))
    }
}

/// `(rows − 1) · ld + cols`, checked, and wrapping.
fn need2(rows: usize, ld: usize, cols: usize) -> (Option<usize>, usize) {
    if rows == 0 {
        return (Some(0), 0);
    }
    (
        (rows - 1).checked_mul(ld).and_then(|x| x.checked_add(cols)),
        (rows - 1).wrapping_mul(ld).wrapping_add(cols),
    )
}

fn input8<'a>(t: QType, bytes: &'a [u8], signed: &'a mut Vec<i8>) -> Input8<'a> {
    match t {
        QType::U8 => Input8::U8(bytes),
        QType::I8 => {
            *signed = bytes.iter().map(|&b| b as i8).collect();
            Input8::I8(signed)
        }
    }
}

fn requantizer(u: &mut Unstructured<'_>, t: QType) -> Result<Option<Requantizer>> {
    let r = Requantizer::new(scheme(u)?, mix::scale(u)?, mix::zero_point(u)?, t);
    let Ok(r) = r else { return Ok(None) };
    if u8::arbitrary(u)? < 64 {
        let lo = mix::zero_point(u)?;
        let hi = mix::zero_point(u)?;
        return Ok(r.with_clamp(lo, hi).ok());
    }
    Ok(Some(r))
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let k = mix::size1(u, 40)?;
    let n = mix::size1(u, 40)?;
    let m = mix::size(u, 20)?;
    let ldb = stride(u, n)?;
    let a_type = qtype(u)?;
    let b_type = qtype(u)?;
    let a_zp = mix::zero_point(u)?;
    let b_zps: Vec<i32> = match u8::arbitrary(u)? % 4 {
        0 if n <= 64 => mix::fill(u, n, |u| mix::zero_point(u))?,
        1 => vec![],
        _ => vec![mix::zero_point(u)?],
    };
    let bias: Option<Vec<i32>> = match u8::arbitrary(u)? % 4 {
        0 if n <= 64 => Some(mix::fill(u, n, |u| {
            Ok(i32::from(i16::arbitrary(u)?) * i32::from(u8::arbitrary(u)? % 4))
        })?),
        1 => Some(vec![i32::arbitrary(u)?; usize::from(u8::arbitrary(u)? % 3)]),
        _ => None,
    };
    let available = IGEMM.available();
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(available[usize::from(v) % available.len()]),
    };

    let (need_b, wrap_b) = need2(k, ldb, n);
    let b_len = mix::buf_len::<u8>(u, need_b, wrap_b)?;
    let b_bytes = mix::bytes(u, b_len);
    let mut b_signed = Vec::new();
    let b = input8(b_type, &b_bytes, &mut b_signed);
    trace!("PackedB::new(k {k}, n {n}, B of {b_len} {b_type:?}, ldb {ldb}, A {a_type:?} zp {a_zp}, B zps {b_zps:?}, bias {:?}, {:?})", bias.as_ref().map(Vec::len), variant.map(|e| e.name));
    let packed = PackedB::new(GemmConfig {
        k,
        n,
        b,
        ldb,
        a_type,
        a_zero_point: a_zp,
        b_zero_points: &b_zps,
        bias: bias.as_deref(),
        kernel: variant,
    });
    let Ok(packed) = packed else { return Ok(()) };
    // A plan exists: its B must have been valid.
    assert!(ldb >= n, "PackedB::new accepted ldb {ldb} < n {n}");
    match need_b {
        Some(nb) => assert!(
            b_len >= nb,
            "PackedB::new accepted B of {b_len} elements; {k}x{n} with ldb {ldb} needs {nb}"
        ),
        None => panic!("PackedB::new accepted k {k} x ldb {ldb} (overflows usize), B of {b_len}"),
    }
    assert!(
        b_zps.len() == 1 || b_zps.len() == n,
        "PackedB::new accepted {} zero points for n = {n}",
        b_zps.len()
    );
    if let Some(bias) = &bias {
        assert_eq!(
            bias.len(),
            n,
            "PackedB::new accepted a bias of the wrong length"
        );
    }

    // Several GEMMs on one plan.
    for _ in 0..1 + u8::arbitrary(u)? % 3 {
        gemm(
            u,
            &packed,
            k,
            n,
            m,
            a_type,
            a_zp,
            &b,
            ldb,
            &b_zps,
            bias.as_deref(),
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    u: &mut Unstructured<'_>,
    packed: &PackedB,
    k: usize,
    n: usize,
    m0: usize,
    a_type: QType,
    a_zp: i32,
    b: &Input8<'_>,
    ldb: usize,
    b_zps: &[i32],
    bias: Option<&[i32]>,
) -> Result<()> {
    let m = if bool::arbitrary(u)? {
        m0
    } else {
        mix::size(u, 20)?
    };
    let lda = stride(u, k)?;
    let ldc = stride(u, n)?;
    let a_t = if u8::arbitrary(u)? < 240 {
        a_type
    } else {
        qtype(u)?
    };
    let (need_a, wrap_a) = need2(m, lda, k);
    let a_len = mix::buf_len::<u8>(u, need_a, wrap_a)?;
    let a_bytes = mix::bytes(u, a_len);
    let mut a_signed = Vec::new();
    let a = input8(a_t, &a_bytes, &mut a_signed);
    let kind = u8::arbitrary(u)? % 6;
    let (need_c, wrap_c) = need2(m, ldc, n);
    let elem = if kind >= 4 { 4 } else { 1 };
    let c_len = if elem == 4 {
        mix::buf_len::<i32>(u, need_c, wrap_c)?
    } else {
        mix::buf_len::<u8>(u, need_c, wrap_c)?
    };
    let out_t = if u8::arbitrary(u)? < 240 {
        if kind % 2 == 0 {
            QType::U8
        } else {
            QType::I8
        }
    } else {
        qtype(u)?
    };
    let tiling = match u8::arbitrary(u)? {
        0..=191 => None,
        _ => Some(Tiling {
            rows: mix::size(u, 12)?,
            blocks: mix::size(u, 6)?,
        }),
    };
    let par = mix::parallel(bool::arbitrary(u)?);

    // Output buffers, filled with a sentinel so writes outside the window show.
    const S8: u8 = 0xA5;
    const S32: i32 = 0x5A5A_5A5A;
    let mut c8 = vec![S8; if elem == 1 { c_len } else { 0 }];
    let mut c32 = vec![S32; if elem == 4 && kind == 4 { c_len } else { 0 }];
    let mut cf = vec![f32::from_bits(S32 as u32); if kind == 5 { c_len } else { 0 }];
    let mut requant: Option<Requantizer> = None;
    let mut per_channel: Option<PerChannelRequantizer> = None;
    let mut a_scale = 1.0f32;
    let mut b_scales: Vec<f32> = Vec::new();
    let out = match kind {
        0 | 1 => {
            requant = requantizer(u, out_t)?;
            let Some(r) = &requant else { return Ok(()) };
            if kind == 0 {
                GemmOutput::U8 {
                    c: &mut c8,
                    ldc,
                    requant: r,
                }
            } else {
                // SAFETY: u8 and i8 have the same layout and validity.
                let c = unsafe { &mut *(c8.as_mut_slice() as *mut [u8] as *mut [i8]) };
                GemmOutput::I8 { c, ldc, requant: r }
            }
        }
        2 | 3 => {
            let ch = if u8::arbitrary(u)? < 240 {
                n
            } else {
                mix::size(u, 8)?
            };
            if ch > 64 {
                return Ok(());
            }
            let scales = mix::fill(u, ch, |u| mix::scale(u))?;
            let pc = PerChannelRequantizer::new(scheme(u)?, &scales, mix::zero_point(u)?, out_t);
            per_channel = match pc {
                Ok(p) if u8::arbitrary(u)? < 64 => {
                    p.with_clamp(mix::zero_point(u)?, mix::zero_point(u)?).ok()
                }
                Ok(p) => Some(p),
                Err(_) => None,
            };
            let Some(r) = &per_channel else { return Ok(()) };
            if kind == 2 {
                GemmOutput::U8PerChannel {
                    c: &mut c8,
                    ldc,
                    requant: r,
                }
            } else {
                // SAFETY: u8 and i8 have the same layout and validity.
                let c = unsafe { &mut *(c8.as_mut_slice() as *mut [u8] as *mut [i8]) };
                GemmOutput::I8PerChannel { c, ldc, requant: r }
            }
        }
        4 => GemmOutput::I32 { c: &mut c32, ldc },
        _ => {
            a_scale = mix::scale(u)?;
            let ns = match u8::arbitrary(u)? % 4 {
                0 if n <= 64 => n,
                1 => usize::from(u8::arbitrary(u)? % 4),
                _ => 1,
            };
            b_scales = mix::fill(u, ns, |u| mix::scale(u))?;
            GemmOutput::F32 {
                c: &mut cf,
                ldc,
                a_scale,
                b_scales: &b_scales,
            }
        }
    };
    trace!("gemm(m {m}, A of {a_len} {a_t:?}, lda {lda}, C of {c_len} kind {kind} ldc {ldc}, {requant:?}, {:?}, {tiling:?}, {} threads)", per_channel.as_ref().map(|p| p.channels()), par.threads());
    let res = match tiling {
        None => packed.gemm(m, a, lda, out, par),
        Some(t) => packed.gemm_with_tiling(m, a, lda, out, par, t),
    };
    if res.is_err() {
        return Ok(());
    }
    // Ok: the call must have been valid.
    assert_eq!(
        a_t, a_type,
        "gemm accepted {a_t:?} A for a plan packed for {a_type:?}"
    );
    if m == 0 {
        return Ok(());
    }
    assert!(lda >= k, "gemm accepted lda {lda} < k {k}");
    assert!(ldc >= n, "gemm accepted ldc {ldc} < n {n}");
    match need_a {
        Some(na) => assert!(
            a_len >= na,
            "gemm accepted A of {a_len}; {m}x{k} lda {lda} needs {na}"
        ),
        None => panic!("gemm accepted m {m} x lda {lda} (overflows usize), A of {a_len}"),
    }
    let need_c = match need_c {
        Some(nc) => {
            assert!(
                c_len >= nc,
                "gemm accepted C of {c_len}; {m}x{n} ldc {ldc} needs {nc}"
            );
            nc
        }
        None => panic!("gemm accepted m {m} x ldc {ldc} (overflows usize), C of {c_len}"),
    };
    if let Some(t) = tiling {
        assert!(t.rows >= 1 && t.blocks >= 1, "gemm accepted tiling {t:?}");
    }

    // The window C[i·ldc + j], i < m, j < n, is written; nothing else.
    let in_window = |idx: usize| idx < need_c && idx % ldc < n;
    match kind {
        0..=3 => check_untouched(&c8, S8, in_window),
        4 => check_untouched(&c32, S32, in_window),
        _ => check_untouched(
            &cf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            S32 as u32,
            in_window,
        ),
    }

    // Differential: the scalar reference.
    if mix::prod(&[m, n, k]).is_none_or(|w| w > 1 << 18) {
        return Ok(());
    }
    let zb: Vec<i32> = if b_zps.len() == 1 {
        vec![b_zps[0]; n]
    } else {
        b_zps.to_vec()
    };
    let acc = match (a, *b) {
        (Input8::U8(a), Input8::U8(b)) => {
            qgemm::reference::gemm_i32(m, n, k, a, lda, a_zp, b, ldb, &zb)
        }
        (Input8::U8(a), Input8::I8(b)) => {
            qgemm::reference::gemm_i32(m, n, k, a, lda, a_zp, b, ldb, &zb)
        }
        (Input8::I8(a), Input8::U8(b)) => {
            qgemm::reference::gemm_i32(m, n, k, a, lda, a_zp, b, ldb, &zb)
        }
        (Input8::I8(a), Input8::I8(b)) => {
            qgemm::reference::gemm_i32(m, n, k, a, lda, a_zp, b, ldb, &zb)
        }
    };
    for i in 0..m {
        for j in 0..n {
            let want = acc[i * n + j] + bias.map_or(0, |b| b[j]);
            let at = i * ldc + j;
            match kind {
                0 | 1 => {
                    let r = requant.as_ref().unwrap();
                    let w = r.requantize(want);
                    let g = if kind == 0 {
                        i32::from(c8[at])
                    } else {
                        i32::from(c8[at] as i8)
                    };
                    assert_eq!(
                        g, w,
                        "C[{i}][{j}]: kernel {g}, reference {w} (acc {want}, {r:?})"
                    );
                }
                2 | 3 => {
                    let r = per_channel.as_ref().unwrap().channel(j).unwrap();
                    let w = r.requantize(want);
                    let g = if kind == 2 {
                        i32::from(c8[at])
                    } else {
                        i32::from(c8[at] as i8)
                    };
                    assert_eq!(
                        g, w,
                        "C[{i}][{j}]: kernel {g}, reference {w} (acc {want}, {r:?})"
                    );
                }
                4 => assert_eq!(
                    c32[at], want,
                    "C[{i}][{j}]: kernel {}, reference {want}",
                    c32[at]
                ),
                _ => {
                    let s = if b_scales.len() == 1 {
                        b_scales[0]
                    } else {
                        b_scales[j]
                    };
                    if mix::tame_scale(a_scale) && mix::tame_scale(s) {
                        let w = f64::from(want) * f64::from(a_scale) * f64::from(s);
                        assert!(
                            mix::close(cf[at], w, 1e-6 * w.abs()),
                            "C[{i}][{j}]: kernel {}, reference {w} (acc {want})",
                            cf[at]
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn check_untouched<T: PartialEq + Copy + std::fmt::Debug>(
    c: &[T],
    sentinel: T,
    in_window: impl Fn(usize) -> bool,
) {
    for (idx, &v) in c.iter().enumerate() {
        if !in_window(idx) {
            assert_eq!(v, sentinel, "C[{idx}] outside the m x n window was written");
        }
    }
}
