//! Unit tests of the tile transforms against rustfft (the oracle).

#[path = "../tests/common/mod.rs"]
mod common;
use crate::pack::{bin_index, bins};
use crate::ukernel::{Post, FFT};
use common::values;
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Full complex 2-D DFT of a real `t × t` tile with rustfft (rows, then columns), in f64.
fn dft2(t: usize, x: &[f32]) -> Vec<Complex<f64>> {
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(t);
    let mut a: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v as f64, 0.0)).collect();
    for row in a.chunks_mut(t) {
        fft.process(row);
    }
    for c in 0..t {
        let mut col: Vec<Complex<f64>> = (0..t).map(|r| a[r * t + c]).collect();
        fft.process(&mut col);
        for r in 0..t {
            a[r * t + c] = col[r];
        }
    }
    a
}

#[test]
fn real_fft_of_one_row_matches_realfft() {
    // The row stage of the transform is a real FFT; check the library oracle agrees with rustfft
    // on the convention (e^-i, unnormalised) this crate uses.
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    for t in [8usize, 16] {
        let r2c = planner.plan_fft_forward(t);
        let x = values(t, t as u64);
        let mut inp: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut spec = r2c.make_output_vec();
        r2c.process(&mut inp, &mut spec).unwrap();
        let mut tile = vec![0.0f32; t * t];
        tile[..t].copy_from_slice(&x);
        let full = dft2(t, &tile);
        // Row 0 only: the 2-D DFT of a one-row tile is that row's DFT in every ky.
        for kx in 0..=t / 2 {
            assert!((full[kx] - spec[kx]).norm() < 1e-9);
        }
    }
}

#[test]
fn forward_transform_matches_rustfft() {
    for v in FFT.available() {
        let k = &v.kernels;
        let l = k.lanes;
        for t in [8usize, 16] {
            let nb = bins(t);
            let tiles: Vec<Vec<f32>> = (0..l)
                .map(|i| values(t * t, (t * 100 + i) as u64))
                .collect();
            let mut soa = vec![0.0f32; t * t * l];
            for (lane, tl) in tiles.iter().enumerate() {
                for (i, &x) in tl.iter().enumerate() {
                    soa[i * l + lane] = x;
                }
            }
            let mut mid = vec![0.0f32; t * (t / 2 + 1) * 2 * l];
            let mut out = vec![f32::NAN; nb * 2 * l];
            let f = if t == 8 { k.fwd8 } else { k.fwd16 };
            // SAFETY: buffers have the sizes `FwdFn` requires; `FFT.available()` checked the ISA.
            unsafe { f(soa.as_ptr(), mid.as_mut_ptr(), out.as_mut_ptr(), 2 * l) };
            for (lane, tl) in tiles.iter().enumerate() {
                let want = dft2(t, tl);
                for ky in 0..t {
                    for kx in 0..=t / 2 {
                        let Some(b) = bin_index(t, ky, kx) else {
                            continue;
                        };
                        // Twice the DFT, four times in the real columns 0 and t/2.
                        let factor = if kx == 0 || kx == t / 2 { 0.25 } else { 0.5 };
                        let got = Complex::new(
                            out[b * 2 * l + lane] as f64,
                            out[b * 2 * l + l + lane] as f64,
                        ) * factor;
                        let err = (got - want[ky * t + kx]).norm();
                        assert!(err < 2e-5 * t as f64, "{v:?} t={t} ({ky},{kx}) err {err}");
                    }
                }
            }
        }
    }
}

#[test]
fn inverse_transform_matches_rustfft() {
    for v in FFT.available() {
        let k = &v.kernels;
        let l = k.lanes;
        for t in [8usize, 16] {
            let nb = bins(t);
            let tiles: Vec<Vec<f32>> = (0..l).map(|i| values(t * t, (t * 7 + i) as u64)).collect();
            let mut spec = vec![0.0f32; nb * 2 * l];
            for (lane, tl) in tiles.iter().enumerate() {
                let s = dft2(t, tl);
                for ky in 0..t {
                    for kx in 0..=t / 2 {
                        if let Some(b) = bin_index(t, ky, kx) {
                            spec[b * 2 * l + lane] = s[ky * t + kx].re as f32;
                            spec[b * 2 * l + l + lane] = s[ky * t + kx].im as f32;
                        }
                    }
                }
            }
            let f = if t == 8 { k.inv8 } else { k.inv16 };
            // (rows, columns read): all, and the crops of 7x7 and 5x5 kernels on 16x16 tiles (10
            // and 12 columns: the pruned inverse), and fewer rows than columns.
            for (rows, cols) in [
                (1, t),
                (t / 2 + 1, t),
                (t, t),
                (t + 1 - 7, t + 1 - 7),
                (t + 1 - 5, t + 1 - 5),
                (3, t + 1 - 7),
            ] {
                let post = Post {
                    bias: 0.25,
                    clamp: None,
                    cols,
                };
                let mut mid = vec![0.0f32; t * (t / 2 + 1) * 2 * l];
                let mut out = vec![f32::NAN; t * t * l];
                // SAFETY: buffers have the sizes `InvFn` requires; `FFT.available()` checked the ISA.
                unsafe {
                    f(
                        spec.as_ptr(),
                        2 * l,
                        rows,
                        &post,
                        mid.as_mut_ptr(),
                        out.as_mut_ptr(),
                    )
                };
                let n2 = (t * t) as f64;
                for (lane, tl) in tiles.iter().enumerate() {
                    for r in 0..rows {
                        for c in 0..cols {
                            let got = (out[(r * t + c) * l + lane] as f64 - 0.25) / n2;
                            let err = (got - tl[r * t + c] as f64).abs();
                            assert!(
                                err < 1e-5,
                                "{v:?} t={t} rows={rows} cols={cols} ({r},{c}) err {err}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Timing of the tile kernels alone (`cargo test --release -p fft-conv --lib -- --ignored
/// --nocapture kernel_timing`); not a test of anything.
#[test]
#[ignore]
fn kernel_timing() {
    for v in FFT.available() {
        let k = &v.kernels;
        let l = k.lanes;
        for t in [8usize, 16] {
            let nb = bins(t);
            let tile = values(t * t * l, 1);
            let mut mid = vec![0.0f32; t * (t / 2 + 1) * 2 * l];
            // Bin stride in floats: FFT_BS (e.g. 512, a block of 16 channels as in F2), else 2·L.
            let bs: usize = std::env::var("FFT_BS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2 * l);
            let mut out = vec![0.0f32; nb * bs];
            let mut sp = vec![0.0f32; t * t * l];
            let (f, i) = if t == 8 {
                (k.fwd8, k.inv8)
            } else {
                (k.fwd16, k.inv16)
            };
            let post = Post {
                bias: 0.0,
                clamp: None,
                cols: t,
            };
            let n = 10;
            let mut best_f = f64::MAX;
            let mut best_i = f64::MAX;
            for _ in 0..3000 {
                let s = std::time::Instant::now();
                for _ in 0..n {
                    // SAFETY: sizes as `FwdFn` requires.
                    unsafe { f(tile.as_ptr(), mid.as_mut_ptr(), out.as_mut_ptr(), bs) };
                }
                best_f = best_f.min(s.elapsed().as_secs_f64() / n as f64);
                let s = std::time::Instant::now();
                for _ in 0..n {
                    // SAFETY: sizes as `InvFn` requires.
                    unsafe {
                        i(
                            out.as_ptr(),
                            2 * l,
                            t,
                            &post,
                            mid.as_mut_ptr(),
                            sp.as_mut_ptr(),
                        )
                    };
                }
                best_i = best_i.min(s.elapsed().as_secs_f64() / n as f64);
            }
            println!(
                "{v:?} t={t}: fwd {:.0} ns ({:.1} ns/tile), inv {:.0} ns ({:.1} ns/tile)",
                best_f * 1e9,
                best_f * 1e9 / l as f64,
                best_i * 1e9,
                best_i * 1e9 / l as f64
            );
        }
    }
}

/// The fused transforms (gather in the forward, scatter in the inverse) give exactly what the
/// separate gather + forward and inverse + scatter give, on lanes with padding on every side,
/// partial output tiles and an empty lane.
#[test]
fn fused_transforms_match_gather_and_scatter() {
    use crate::ukernel::{Kernels, Lanes, OutLanes};
    let mut all: Vec<&Kernels> = Vec::new();
    for v in FFT.available() {
        all.push(&v.kernels);
        all.extend(v.kernels.half);
    }
    let mut tested = 0;
    for k in all {
        let Some(fused) = k.fused else {
            continue;
        };
        tested += 1;
        let l = k.lanes;
        for t in [8usize, 16] {
            let nb = bins(t);
            // Forward: a 20 x 23 image, patches overlapping every border.
            let (h, w) = (20usize, 23usize);
            let input = values(h * w, t as u64 + 3);
            let mut d = Lanes::default();
            for i in 0..l - 1 {
                let y0 = (i % 4) as isize * 5 - 3;
                let x0 = (i / 4) as isize * 6 - 4;
                d.origin[i] = y0 * w as isize + x0;
                d.rows[i] = (
                    (-y0).clamp(0, t as isize) as usize,
                    (h as isize - y0).clamp(0, t as isize) as usize,
                );
                d.cols[i] = (
                    (-x0).clamp(0, t as isize) as usize,
                    (w as isize - x0).clamp(0, t as isize) as usize,
                );
            }
            let mut tile = vec![0.0f32; t * t * l];
            let mut mid = vec![0.0f32; t * (t / 2 + 1) * 2 * l];
            let mut want = vec![0.0f32; nb * 2 * l];
            let mut got = vec![1.0f32; nb * 2 * l];
            let (fwd, fwd_in) = if t == 8 {
                (k.fwd8, fused.fwd8)
            } else {
                (k.fwd16, fused.fwd16)
            };
            // SAFETY: in-range lane elements are inside `input` (rows and columns clipped to the
            // image); buffer sizes as `GatherFn`, `FwdFn` and `FwdInFn` require; the kernels
            // were checked against the CPU.
            unsafe {
                (k.gather)(input.as_ptr(), w, t, &d, tile.as_mut_ptr());
                fwd(tile.as_ptr(), mid.as_mut_ptr(), want.as_mut_ptr(), 2 * l);
                fwd_in(
                    input.as_ptr(),
                    w,
                    &d,
                    mid.as_mut_ptr(),
                    got.as_mut_ptr(),
                    2 * l,
                );
            }
            assert_eq!(want, got, "forward, {l} lanes, t={t}");

            // Inverse: lanes write disjoint cells of a 4 x 4 grid, some cropped, the last empty.
            let cell = t.min(10);
            let ow = 4 * cell + 3;
            let spec = values(nb * 2 * l, t as u64 + 5);
            let mut o = OutLanes::default();
            for i in 0..l - 1 {
                o.rows[i] = cell - i % 3;
                o.cols[i] = cell - i % 2;
                o.base[i] = (i / 4) * cell * ow + (i % 4) * cell;
            }
            let rows = cell;
            let post = Post {
                bias: 0.5,
                clamp: Some((-3.0, 3.0)),
                cols: cell,
            };
            let mut want = vec![7.0f32; 4 * cell * ow];
            let mut got = want.clone();
            let (inv, inv_out) = if t == 8 {
                (k.inv8, fused.inv8)
            } else {
                (k.inv16, fused.inv16)
            };
            let Some(inv_out) = inv_out else {
                continue;
            };
            // SAFETY: every lane's cell lies inside the output; buffer sizes as `InvFn`,
            // `ScatterFn` and `InvOutFn` require; the kernels were checked against the CPU.
            unsafe {
                inv(
                    spec.as_ptr(),
                    2 * l,
                    rows,
                    &post,
                    mid.as_mut_ptr(),
                    tile.as_mut_ptr(),
                );
                (k.scatter)(tile.as_ptr(), t, ow, &o, want.as_mut_ptr());
                inv_out(
                    spec.as_ptr(),
                    2 * l,
                    rows,
                    &post,
                    mid.as_mut_ptr(),
                    ow,
                    &o,
                    got.as_mut_ptr(),
                );
            }
            let written: usize = (0..l).map(|i| o.rows[i] * o.cols[i]).sum();
            assert_eq!(want.iter().filter(|&&v| v != 7.0).count(), written);
            assert_eq!(want, got, "inverse, {l} lanes, t={t}");
        }
    }
    eprintln!("fused transforms checked for {tested} kernel sets");
}
