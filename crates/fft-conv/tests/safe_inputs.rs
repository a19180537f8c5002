//! Hostile caller data: every public entry point refuses what it cannot compute (an `Err`
//! naming the argument and the values) or computes the exact answer, in release builds (no
//! overflow checks) as in debug ones; NaN propagates (IEEE) through every variant and tile
//! size, with and without the fused clamp. One test per bug; run also with
//! `cargo test --release --test safe_inputs`.

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

mod common;
use common::values;
use cpu_probe::parallel::Parallel;
use fft_conv::pack::bins;
use fft_conv::reference::conv2d_nchw;
use fft_conv::{choose_tile, FftConfig, FftConv, FftEntry, FftError, Tile, FFT, MAX_DIM};

const U32: usize = u32::MAX as usize;

fn par() -> Parallel {
    Parallel::single()
}

/// The message of `r`'s error; panics (failing the test) on `Ok`.
fn err<T: std::fmt::Debug>(r: Result<T, FftError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.to_string(),
    }
}

fn assert_msg(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error {msg:?} does not mention {p:?}");
    }
}

fn plan(
    cin: usize,
    cout: usize,
    k: usize,
    pad: [usize; 4],
    v: Option<&'static FftEntry>,
) -> FftConv {
    let w = vec![1.0f32; cin * cout * k * k];
    FftConv::new(FftConfig {
        padding: pad,
        ukernel: v,
        ..FftConfig::new(cin, cout, k, k, &w)
    })
    .unwrap()
}

/// Bug: padding was added to the input size unchecked (`h + top + bottom` wraps in release):
/// `pads = [2^63 + 2^62, 0, 2^62, 0]` wrapped to no padding at all and the run returned the
/// bias only (debug builds panicked on the overflow); `[i64::MAX, 0, 1, 0]` and
/// `[2^62, 0, 2^62, 0]` (the ONNX cases of the issue) were accepted by the plan. Padding
/// above `u32::MAX` is now refused by the plan, naming the value.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn padding_near_usize_max_is_refused() {
    let w = [1.0f32; 9];
    for pad in [
        [i64::MAX as usize, 0, 1, 0],
        [usize::MAX, 0, 1, 0],
        [1 << 62, 0, 1 << 62, 0],
        [(1 << 63) + (1 << 62), 0, 1 << 62, 0],
        [0, 0, 0, U32 + 1],
    ] {
        let r = FftConv::new(FftConfig {
            padding: pad,
            ..FftConfig::new(1, 1, 3, 3, &w)
        });
        let big = pad.iter().copied().max().unwrap().to_string();
        assert_msg(&err(r), &["padding", &big, "4294967295"]);
    }
    // At the limit the sizes are exact: a 1x1 kernel on a 1x1 input padded by u32::MAX on
    // every side has 2^33 − 1 rows and columns, too many for any buffer: an error, not a wrap.
    let p = plan(1, 1, 1, [U32; 4], None);
    assert_eq!(p.output_size(1, 1).unwrap(), (2 * U32 + 1, 2 * U32 + 1));
    let msg = err(p.run(&[1.0], 1, 1, 1, &mut [0.0; 4], &par()));
    assert_msg(
        &msg,
        &["output size", "8589934591 x 8589934591", "overflows usize"],
    );
}

/// Bug: channel counts, batch, height and width had no bound (only some products were
/// checked). Each is now at most `u32::MAX`, and the kernel size product stays checked.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn counts_above_u32_max_are_refused() {
    for (cin, cout, what) in [
        (1 << 33, 1, "in_channels"),
        (1, U32 + 1, "out_channels"),
        (usize::MAX, usize::MAX, "in_channels"),
    ] {
        let r = FftConv::new(FftConfig::new(cin, cout, 3, 3, &[]));
        assert_msg(&err(r), &[what, "exceeds the limit 4294967295"]);
    }
    // Each within the limit, the kernel size 2^32·2^32·9 overflows.
    let r = FftConv::new(FftConfig::new(U32, U32, 3, 3, &[]));
    assert_msg(&err(r), &["kernel size", "4294967295 x 4294967295 x 3 x 3"]);
    let p = plan(2, 3, 3, [1; 4], None);
    assert_msg(
        &err(p.output_size(U32 + 1, 4)),
        &["input height", "4294967296"],
    );
    assert_msg(&err(p.output_size(4, usize::MAX)), &["input width"]);
    assert_msg(&err(p.tile_for(4, U32 + 1)), &["input width"]);
    let mut y = [0.0f32; 4];
    let msg = err(p.run(&[0.0; 4], U32 + 1, 1, 1, &mut y, &par()));
    assert_msg(&msg, &["batch", "4294967296"]);
    // Within the limits, the input size overflows usize.
    let msg = err(p.run(&[0.0; 4], U32, U32, U32, &mut y, &par()));
    assert_msg(&msg, &["input size", "overflows usize"]);
}

/// Bug: the tile-choice cost multiplied tile counts in `usize` (a 3·2^32-row output with an
/// 8x8 kernel has 2^67 tiles of 8x8): a debug panic in `tile_for`, a wrapped estimate in
/// release. The estimate is now in f64; here 16x16 tiles are cheaper, as for any large output.
/// The public `choose_tile` and `bins` had the same kind of overflow.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn tile_choice_does_not_overflow() {
    let p = plan(1, 1, 8, [U32; 4], None);
    assert_eq!(p.output_size(U32, U32).unwrap(), (3 * U32 - 7, 3 * U32 - 7));
    assert_eq!(p.tile_for(U32, U32), Ok(16));
    // NNPACK's rule: 8x8 tiles need (14/6)^2 > 4 times as many tiles as 16x16 for a 3x3
    // kernel on a large output, so 16 (the wrapped products said 8 for 2^40).
    assert_eq!(choose_tile(1 << 40, 1 << 40, 3), Some(16));
    assert_eq!(choose_tile(usize::MAX, usize::MAX, 2), Some(16));
    assert_eq!(choose_tile(usize::MAX, 1, 1), Some(8));
    assert_eq!(choose_tile(usize::MAX, usize::MAX, 17), None);
    assert_eq!((bins(8), bins(16)), (34, 130));
    assert_eq!(bins(0), 2);
    assert_eq!(bins(usize::MAX), usize::MAX);
}

/// Buffers one element too short are refused before anything is written, in every variant.
#[test]
fn buffers_one_element_short_are_refused() {
    let (cin, cout, k) = (2, 3, 3);
    let w = vec![1.0f32; cin * cout * k * k];
    for v in FFT.available() {
        let r = FftConv::new(FftConfig {
            ukernel: Some(v),
            ..FftConfig::new(cin, cout, k, k, &w[..w.len() - 1])
        });
        assert_msg(&err(r), &["kernel has 53 elements but must have 54"]);
        let r = FftConv::new(FftConfig {
            ukernel: Some(v),
            bias: Some(&[0.0; 2]),
            ..FftConfig::new(cin, cout, k, k, &w)
        });
        assert_msg(&err(r), &["bias has 2 elements but must have 3"]);
        let p = plan(cin, cout, k, [1; 4], Some(v));
        let x = vec![1.0f32; 2 * cin * 9 * 7];
        let mut y = vec![-1.0f32; 2 * cout * 9 * 7];
        let msg = err(p.run(&x[1..], 2, 9, 7, &mut y, &par()));
        assert_msg(&msg, &["input has 251 elements but the shape needs 252"]);
        let msg = err(p.run(&x, 2, 9, 7, &mut y[1..], &par()));
        assert_msg(&msg, &["output has 377 elements but the shape needs 378"]);
        assert!(y.iter().all(|&v| v == -1.0), "nothing written on an error");
        p.run(&x, 2, 9, 7, &mut y, &par()).unwrap();
        // Interior output of channel 1: 2 · 9 taps of ones.
        assert!(
            (y[9 * 7 + 7 + 1] - 18.0).abs() < 1e-4,
            "{}",
            y[9 * 7 + 7 + 1]
        );
    }
}

/// Bug: the fused clamp computed `min(max(v, lo), hi)`, and x86 `maxps(v, lo)` and scalar
/// `f32::max` return `lo` for a NaN `v`: with a ReLU / ReLU6 / Clip, a NaN input, weight or
/// bias gave numbers (0, `lo`) instead of NaN on AVX2, AVX-512 and scalar (NEON's `FMAX`
/// kept it); the reference's clamp (`f64::max`) dropped NaN too. Now the clamp keeps NaN in
/// every variant and tile size: every output that depends on a NaN is NaN (a NaN pixel spreads
/// over the tiles that contain it, in every output channel; a NaN weight or bias over its
/// output channel), and every output that is not NaN equals the reference.
#[test]
fn nan_propagates_through_every_variant_and_clamp() {
    let (batch, cin, cout, h, w) = (2, 3, 5, 13, 12);
    let clamps = [
        None,
        Some((0.0, f32::INFINITY)),
        Some((0.0, 6.0)),
        Some((-0.5, 0.5)),
    ];
    let mut checked = 0;
    for (k, pad) in [(3, [1, 1, 1, 1]), (5, [2, 1, 0, 2])] {
        let x0 = values(batch * cin * h * w, k as u64);
        let w0 = values(cout * cin * k * k, 10 + k as u64);
        let b0 = values(cout, 20 + k as u64);
        // NaN in image 0, channel 1, near a corner; in weight (oc 2, ic 1); in bias 4.
        let mut xn = x0.clone();
        xn[2 * h * w - 2 * w - 3] = f32::NAN;
        let mut wn = w0.clone();
        wn[(2 * cin + 1) * k * k + k] = f32::NAN;
        let mut bn = b0.clone();
        bn[4] = f32::NAN;
        let cases = [
            ("input", &xn, &w0, &b0, usize::MAX),
            ("weight", &x0, &wn, &b0, 2),
            ("bias", &x0, &w0, &bn, 4),
        ];
        for (what, x, wts, bias, nan_oc) in cases {
            let reference = |clamp| {
                conv2d_nchw(
                    x,
                    batch,
                    cin,
                    h,
                    w,
                    wts,
                    cout,
                    k,
                    k,
                    pad,
                    Some(&bias[..]),
                    clamp,
                )
            };
            for clamp in clamps {
                let want = reference(clamp);
                let raw = reference(None);
                // The reference's clamp keeps NaN too.
                for (a, b) in want.iter().zip(&raw) {
                    assert_eq!(a.is_nan(), b.is_nan(), "reference clamp {clamp:?}");
                }
                let finite: Vec<f64> = raw.iter().copied().filter(|v| !v.is_nan()).collect();
                let rms = (finite.iter().map(|v| v * v).sum::<f64>() / finite.len() as f64).sqrt();
                for v in FFT.available() {
                    for tile in [Tile::T8, Tile::T16] {
                        let p = FftConv::new(FftConfig {
                            bias: Some(&bias[..]),
                            padding: pad,
                            tile,
                            clamp,
                            ukernel: Some(v),
                            ..FftConfig::new(cin, cout, k, k, wts)
                        })
                        .unwrap();
                        let (oh, ow) = p.output_size(h, w).unwrap();
                        let mut y = vec![0.0f32; batch * cout * oh * ow];
                        p.run(x, batch, h, w, &mut y, &par()).unwrap();
                        let mut numbers = 0;
                        for (i, (&got, &r)) in y.iter().zip(&want).enumerate() {
                            let oc = i / (oh * ow) % cout;
                            let ctx = format!(
                                "{} {tile:?} k {k} NaN {what} clamp {clamp:?} output {i}: {got}",
                                v.name
                            );
                            if r.is_nan() || oc == nan_oc {
                                assert!(got.is_nan(), "{ctx} should be NaN");
                            } else if !got.is_nan() || what != "input" {
                                // Only a NaN pixel spreads beyond what depends on it (over its
                                // tiles); elsewhere every output is a number.
                                let err = (f64::from(got) - r).abs();
                                assert!(err <= 1e-5 * rms, "{ctx} want {r}");
                                numbers += 1;
                            }
                        }
                        // Image 1 has no NaN input: at least its outputs are numbers.
                        assert!(
                            numbers >= (cout - 1) * oh * ow,
                            "{} {tile:?} {what}",
                            v.name
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 3 * clamps.len() * 2 * FFT.available().len());
    assert_eq!(MAX_DIM, U32);
}
