//! Hostile caller data: every public entry point refuses what it cannot compute (an `Err`
//! naming the argument and the values) or computes the exact answer, in release builds (no
//! overflow checks) as in debug ones; fp32 NaN propagates (IEEE) through every table entry, with and
//! without a fused clamp. One test per bug; run also with `cargo test --release --test
//! safe_inputs`.

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

use cpu_probe::parallel::Parallel;
use depthwise::reference::{depthwise_f64, output_size};
use depthwise::{
    Depthwise32, DwDesc, DwError, Entry, F32Kernels, Input8, Output8, OutputStage, QDepthwise,
    QDepthwiseConfig, DWCONV_F32, MAX_DIM,
};
use quant_params::{QType, RequantScheme, Requantizer};

const U32: usize = u32::MAX as usize;

fn par() -> Parallel {
    Parallel::single()
}

/// The message of `r`'s error; panics (failing the test) on `Ok`.
fn err<T: std::fmt::Debug>(r: Result<T, DwError>) -> String {
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

fn desc(kernel: [usize; 2], stride: [usize; 2], pad: [usize; 4], c: usize, m: usize) -> DwDesc {
    DwDesc::new(kernel, stride, pad, c, m)
}

fn f32_plan(d: DwDesc, v: Option<&'static Entry<F32Kernels>>) -> Result<Depthwise32, DwError> {
    let n = d.taps().saturating_mul(d.cout());
    let w = vec![1.0f32; n.min(1 << 16)];
    Depthwise32::new(d, &w, None, (f32::NEG_INFINITY, f32::INFINITY), v)
}

fn q_plan(d: DwDesc, w: &[i8]) -> Result<QDepthwise, DwError> {
    let r = Requantizer::new(RequantScheme::Fp32, 0.5, 0, QType::U8).unwrap();
    QDepthwise::new(QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 0,
        weights: Input8::I8(w),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::PerTensor(r),
        entry: None,
    })
}

/// Bug: padding was added to the input size unchecked (`in + pt + pb` wraps in release), so
/// `pads = [i64::MAX, 0, 1, 0]` (the ONNX case of the issue) or `[2^62, 0, 2^62, 0]` gave a
/// plan with a wrapped output size. Every padding above `u32::MAX` is now refused by the plan.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn padding_near_usize_max_is_refused() {
    for pad in [
        [i64::MAX as usize, 0, 1, 0],
        [usize::MAX, 0, 1, 0],
        [1 << 62, 0, 1 << 62, 0],
        [0, usize::MAX, 0, 1],
        [0, 0, 0, U32 + 1],
    ] {
        let d = desc([1, 1], [1, 1], pad, 2, 1);
        let big = pad.iter().copied().max().unwrap().to_string();
        assert_msg(&err(f32_plan(d, None)), &["pad", &big, "4294967295"]);
        assert_msg(&err(q_plan(d, &[1, 1])), &["pad", &big]);
        assert_msg(&err(d.output_size(1, 2)), &["pad", &big]);
    }
}

/// Bug: kernel, stride and dilation had no upper bound, and the dilated extent
/// `dilation · (k − 1) + 1` was computed unchecked (it wraps in release). Values above
/// `u32::MAX` are now refused, naming the attribute.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn stride_dilation_kernel_near_usize_max_are_refused() {
    let mut cases = Vec::new();
    for big in [usize::MAX, usize::MAX / 2 + 1, U32 + 1] {
        let mut d = desc([3, 3], [1, 1], [0; 4], 1, 1);
        d.stride = [1, big];
        cases.push((d, "stride", big));
        let mut d = desc([3, 3], [1, 1], [0; 4], 1, 1);
        d.dilation = [big, 1];
        cases.push((d, "dilation", big));
        let d = desc([big, 1], [1, 1], [0; 4], 1, 1);
        cases.push((d, "kernel", big));
    }
    for (d, what, big) in cases {
        let msg = err(f32_plan(d, None));
        assert_msg(&msg, &[what, &big.to_string()]);
        assert_msg(&err(d.output_size(8, 8)), &[what, &big.to_string()]);
        assert_msg(&err(q_plan(d, &[1; 9])), &[what]);
    }
}

/// Bug: `taps()` and `cout()` wrapped in release (`channels · multiplier` = 2^33 · 2^31 gave
/// 0, so an empty weight slice was "the right length"). The products are now checked in
/// every plan (and the accessors saturate).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn channel_count_overflow_is_refused() {
    let d = desc([3, 3], [1, 1], [1; 4], 1 << 33, 1 << 31);
    assert_eq!(d.cout(), usize::MAX);
    assert_msg(&err(f32_plan(d, None)), &["channels", "8589934592"]);
    assert_msg(&err(q_plan(d, &[])), &["channels", "8589934592"]);
    // Within the limit each, but the weight count taps · cout overflows usize.
    let d = desc([U32, U32], [1, 1], [0; 4], U32, U32);
    assert_eq!(d.taps(), U32 * U32);
    let msg = err(Depthwise32::new(d, &[], None, (0.0, 1.0), None));
    assert_msg(&msg, &["weights have 0 elements", "4294967295x4294967295x"]);
    assert_msg(&err(q_plan(d, &[])), &["weights have 0 elements"]);
    // The unchecked reference accessor no longer panics on a zero kernel.
    assert_eq!(output_size(&desc([0, 3], [1, 1], [0; 4], 1, 1), 4, 4), None);
    assert_eq!(
        output_size(&desc([3, 3], [1, 1], [usize::MAX, 0, 1, 0], 1, 1), 4, 4),
        None
    );
}

/// Bug: `batch · in_h · in_w · channels` wrapped in release: batch 2^31, a 2^31 x 4 image
/// made the input length 0, an empty input was accepted and the first row sliced past it.
/// Now the input size is checked (and batch, height and width are at most `u32::MAX`).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn input_size_overflow_is_refused() {
    let d = desc([1, 1], [1, 1], [1 << 31, 0, 0, 0], 1, 1);
    let plan = f32_plan(d, None).unwrap();
    let (b, h) = (1usize << 31, 1usize << 31);
    let msg = err(plan.run(&[], b, h, 4, &mut [], &par()));
    assert_msg(
        &msg,
        &["input", "2147483648x2147483648x4x1", "overflows usize"],
    );
    let q = q_plan(d, &[1]).unwrap();
    let msg = err(q.run(Input8::U8(&[]), b, h, 4, Output8::U8(&mut []), &par()));
    assert_msg(&msg, &["input", "overflows usize"]);
    // Above the per-dimension limit.
    for (b, h, w, what) in [
        (U32 + 1, 1, 1, "batch"),
        (1, U32 + 1, 1, "input 4294967296x1"),
        (1, 1, usize::MAX, "18446744073709551615"),
    ] {
        assert_msg(&err(plan.run(&[0.0], b, h, w, &mut [], &par())), &[what]);
        let r = q.run(Input8::U8(&[0]), b, h, w, Output8::U8(&mut []), &par());
        assert_msg(&err(r), &[what]);
    }
}

/// Bug: `batch · oh · ow · cout` wrapped in release: an empty (0-row) input of 2 columns with
/// 2^31 top and bottom padding and batch 2^31 has 2^31 · 2^32 · 2 = 2^64 outputs, which
/// wrapped to 0, so an empty output was accepted and every row wrote through its dangling
/// pointer (SIGSEGV). Now the output size is checked.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn output_size_overflow_is_refused() {
    let d = desc([1, 1], [1, 1], [1 << 31, 0, 1 << 31, 0], 1, 1);
    assert_eq!(d.output_size(0, 2).unwrap(), (1 << 32, 2));
    let plan = f32_plan(d, None).unwrap();
    let msg = err(plan.run(&[], 1 << 31, 0, 2, &mut [], &par()));
    assert_msg(
        &msg,
        &["output", "2147483648x4294967296x2x1", "overflows usize"],
    );
    let q = q_plan(d, &[1]).unwrap();
    let r = q.run(Input8::U8(&[]), 1 << 31, 0, 2, Output8::U8(&mut []), &par());
    assert_msg(&err(r), &["output", "overflows usize"]);
}

/// Bug: the expanded-rows scratch of a channel multiplier (`kh · in_w · cout` elements) and
/// the indirection list were allocated infallibly: a huge kernel height over a wide (0-row)
/// input aborted the process. They are now reserved fallibly; the run returns an error.
#[test]
fn scratch_too_large_to_allocate_is_an_error() {
    // kh = 2^16, in_w = u32::MAX, cout = 2: 2^49 floats (2 PiB) of expanded rows.
    let kh = 1 << 16;
    let d = desc([kh, 1], [1, U32], [kh, 0, 0, 0], 1, 2);
    assert_eq!(d.output_size(0, U32).unwrap(), (1, 1));
    let w = vec![1.0f32; kh * 2];
    let plan = Depthwise32::new(d, &w, None, (f32::NEG_INFINITY, f32::INFINITY), None).unwrap();
    let mut y = [7.0f32; 2];
    // On a 32-bit target the element count itself overflows usize: refused before allocating.
    let why = if cfg!(target_pointer_width = "64") {
        "cannot allocate"
    } else {
        "overflows usize"
    };
    let msg = err(plan.run(&[], 1, 0, U32, &mut y, &par()));
    assert_msg(&msg, &["expanded input rows", why]);
    let wq = vec![1i8; kh * 2];
    let q = q_plan(d, &wq).unwrap();
    let mut yq = [7u8; 2];
    let r = q.run(Input8::U8(&[]), 1, 0, U32, Output8::U8(&mut yq), &par());
    assert_msg(&err(r), &["expanded input rows", why]);
}

/// The limits are inclusive: padding, stride and dilation of exactly `u32::MAX` compute the
/// exact answer in every table entry (the index arithmetic stays in range).
#[cfg(target_pointer_width = "64")] // u32::MAX plus a padding: beyond a 32-bit usize
#[test]
fn attributes_at_u32_max_compute_exactly() {
    // 1x1 kernel, pad top u32::MAX, stride u32::MAX along H: output row 0 is all padding
    // (bias), output row 1 reads input row 0.
    let c = 3;
    let d = desc([1, 1], [U32, 1], [U32, 0, 0, 0], c, 1);
    assert_eq!(d.output_size(1, 2).unwrap(), (2, 2));
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let w = [2.0f32, 3.0, 4.0];
    let b = [0.5f32, -0.5, 1.0];
    let want = [
        0.5, -0.5, 1.0, 0.5, -0.5, 1.0, 2.5, 5.5, 13.0, 8.5, 14.5, 25.0,
    ];
    // 2 taps, dilation u32::MAX along H, pad top u32::MAX: the extent is 2^32, so one output
    // row whose first tap is padding and whose second reads input row 0.
    let mut d2 = desc([2, 1], [1, 1], [U32, 0, 0, 0], c, 1);
    d2.dilation = [U32, 1];
    assert_eq!(d2.output_size(1, 2).unwrap(), (1, 2));
    let w2 = [9.0f32, 9.0, 9.0, 2.0, 3.0, 4.0];
    for v in DWCONV_F32.available() {
        let vn = v.name;
        let plan = Depthwise32::new(d, &w, Some(&b), (f32::NEG_INFINITY, 100.0), Some(v)).unwrap();
        let mut y = [0.0f32; 12];
        plan.run(&x, 1, 1, 2, &mut y, &par()).unwrap();
        assert_eq!(y, want, "{vn}");
        let plan = Depthwise32::new(d2, &w2, Some(&b), (-100.0, 100.0), Some(v)).unwrap();
        let mut y = [0.0f32; 6];
        plan.run(&x, 1, 1, 2, &mut y, &par()).unwrap();
        assert_eq!(y, want[6..], "{vn}");
    }
    // The same through the 8-bit plan: u8 activations, Fp32 requantization with scale 0.5.
    let xq = [2u8, 4, 6, 8, 10, 12];
    let wq = [2i8, 3, 4];
    let q = q_plan(d, &wq).unwrap();
    let mut y = [0u8; 12];
    q.run(Input8::U8(&xq), 1, 1, 2, Output8::U8(&mut y), &par())
        .unwrap();
    assert_eq!(y, [0, 0, 0, 0, 0, 0, 2, 6, 12, 8, 15, 24]);
}

/// Buffers one element too short (or long) are refused before anything is written.
#[test]
fn buffers_one_element_off_are_refused() {
    let d = desc([3, 3], [1, 1], [1; 4], 3, 2);
    let (h, w) = (4, 5);
    let (oh, ow) = d.output_size(h, w).unwrap();
    let (n_in, n_out, n_w) = (2 * h * w * 3, 2 * oh * ow * 6, 9 * 6);
    let x = vec![1.0f32; n_in + 1];
    let wt = vec![1.0f32; n_w + 1];
    let bias = [0.0f32; 7];
    let clamp = (f32::NEG_INFINITY, f32::INFINITY);
    for v in DWCONV_F32.available() {
        let msg = err(Depthwise32::new(d, &wt[..n_w - 1], None, clamp, Some(v)));
        assert_msg(&msg, &["weights have 53 elements", "3x3x6"]);
        let msg = err(Depthwise32::new(d, &wt, None, clamp, Some(v)));
        assert_msg(&msg, &["weights have 55 elements"]);
        let msg = err(Depthwise32::new(
            d,
            &wt[..n_w],
            Some(&bias[..5]),
            clamp,
            Some(v),
        ));
        assert_msg(&msg, &["bias has 5 elements but 6"]);
        let plan = Depthwise32::new(d, &wt[..n_w], Some(&bias[..6]), clamp, Some(v)).unwrap();
        let mut y = vec![-1.0f32; n_out + 1];
        let msg = err(plan.run(&x[..n_in - 1], 2, h, w, &mut y[..n_out], &par()));
        assert_msg(&msg, &["input has 119 elements", "2x4x5x3 = 120"]);
        let msg = err(plan.run(&x, 2, h, w, &mut y[..n_out], &par()));
        assert_msg(&msg, &["input has 121 elements"]);
        let msg = err(plan.run(&x[..n_in], 2, h, w, &mut y[..n_out - 1], &par()));
        assert_msg(&msg, &["output has 239 elements", "2x4x5x6 = 240"]);
        let msg = err(plan.run(&x[..n_in], 2, h, w, &mut y, &par()));
        assert_msg(&msg, &["output has 241 elements"]);
        assert!(y.iter().all(|&v| v == -1.0), "nothing written on an error");
        plan.run(&x[..n_in], 2, h, w, &mut y[..n_out], &par())
            .unwrap();
    }
    // 8-bit: weights, zero points, bias, input, output.
    let wq = vec![1i8; n_w + 1];
    let xq = vec![1u8; n_in + 1];
    let r = Requantizer::new(RequantScheme::Fp32, 0.5, 0, QType::U8).unwrap();
    let cfg = |w: &'static [i8], zw: &'static [i32], b: Option<&'static [i32]>| QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 0,
        weights: Input8::I8(w),
        weight_zero_points: zw,
        bias: b,
        output: OutputStage::PerTensor(r),
        entry: None,
    };
    let wq: &'static [i8] = Box::leak(wq.into_boxed_slice());
    let msg = err(QDepthwise::new(cfg(&wq[..n_w - 1], &[0], None)));
    assert_msg(&msg, &["weights have 53 elements", "3x3x6"]);
    let msg = err(QDepthwise::new(cfg(&wq[..n_w], &[0; 5], None)));
    assert_msg(&msg, &["5 weight zero points", "need 1 or 6"]);
    let msg = err(QDepthwise::new(cfg(&wq[..n_w], &[0], Some(&[0; 5]))));
    assert_msg(&msg, &["bias has 5 elements but 6"]);
    let q = QDepthwise::new(cfg(&wq[..n_w], &[0], Some(&[0; 6]))).unwrap();
    let mut y = vec![9u8; n_out + 1];
    let r = q.run(
        Input8::U8(&xq[..n_in - 1]),
        2,
        h,
        w,
        Output8::U8(&mut y[..n_out]),
        &par(),
    );
    assert_msg(&err(r), &["input has 119 elements", "2x4x5x3 = 120"]);
    let r = q.run(
        Input8::U8(&xq[..n_in]),
        2,
        h,
        w,
        Output8::U8(&mut y[..n_out - 1]),
        &par(),
    );
    assert_msg(&err(r), &["output has 239 elements", "2x4x5x6 = 240"]);
    assert!(y.iter().all(|&v| v == 9), "nothing written on an error");
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// `v` clamped with NaN kept (the rule every kernel follows).
fn clamp(v: f64, lo: f32, hi: f32) -> f64 {
    if v < f64::from(lo) {
        f64::from(lo)
    } else if v > f64::from(hi) {
        f64::from(hi)
    } else {
        v
    }
}

/// Bug: the fp32 clamp `max(v, lo)` dropped NaN (scalar `f32::max`, x86 `maxps(v, lo)`), so a
/// NaN input, weight or bias became `lo` (`-inf` without an activation, 0 with ReLU).
/// Now NaN propagates in every table entry and kernel (generic, 3x3 and 5x5, the AVX-512 stride-1
/// kernel, multiplier > 1, channel tails), clamp or not: an output with a NaN among its inputs
/// is NaN (padding taps multiply zeros by the weight, so a NaN weight reaches every output of
/// its channel); every other output equals the reference.
#[test]
fn nan_propagates_through_every_variant_and_clamp() {
    let shapes = [
        // kernel, stride, dilation, pad, channels, multiplier, h, w
        ([3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 19, 1, 5, 11),
        ([3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 17, 1, 6, 13),
        ([5, 5], [1, 1], [1, 1], [2, 2, 2, 2], 33, 1, 6, 10),
        ([2, 3], [1, 1], [2, 1], [1, 0, 2, 1], 5, 2, 5, 9),
    ];
    let clamps = [
        (f32::NEG_INFINITY, f32::INFINITY),
        (0.0, f32::INFINITY),
        (0.0, 6.0),
        (-0.25, 0.25),
    ];
    let mut checked = 0;
    for (si, &(kernel, stride, dilation, pad, c, m, h, w)) in shapes.iter().enumerate() {
        let mut d = desc(kernel, stride, pad, c, m);
        d.dilation = dilation;
        let (oh, ow) = d.output_size(h, w).unwrap();
        let cout = c * m;
        let taps = d.taps();
        let x0 = values(h * w * c, 1 + si as u64);
        let w0 = values(taps * cout, 2 + si as u64);
        let b0 = values(cout, 3 + si as u64);
        // (what, input, weights, bias, NaN channel)
        let (py, px, ci) = (h / 2, w / 2, c - 1);
        let mut xn = x0.clone();
        xn[(py * w + px) * c + ci] = f32::NAN;
        let mut wn = w0.clone();
        let (wt, wc) = (taps / 2, cout / 2);
        wn[wt * cout + wc] = f32::NAN;
        let mut bn = b0.clone();
        bn[cout - 1] = f32::NAN;
        let cases = [
            ("input", &xn, &w0, &b0),
            ("weight", &x0, &wn, &b0),
            ("bias", &x0, &w0, &bn),
        ];
        for (what, x, wts, bias) in cases {
            let reference = depthwise_f64(&d, h, w, x, wts, bias);
            for &(lo, hi) in &clamps {
                for v in DWCONV_F32.available() {
                    let vn = v.name;
                    let plan =
                        Depthwise32::new(d, wts, Some(&bias[..]), (lo, hi), Some(v)).unwrap();
                    let mut y = vec![0.0f32; oh * ow * cout];
                    plan.run(x, 1, h, w, &mut y, &par()).unwrap();
                    for (i, (&got, &r)) in y.iter().zip(&reference).enumerate() {
                        let co = i % cout;
                        let must_nan = match what {
                            // The reference skips padding, so it is NaN exactly where the NaN
                            // pixel is under the kernel.
                            "input" => r.is_nan(),
                            "weight" => co == wc,
                            _ => co == cout - 1,
                        };
                        let ctx = format!(
                            "{vn} shape {si} NaN {what} clamp [{lo}, {hi}] output {i}: {got}"
                        );
                        if must_nan {
                            assert!(got.is_nan(), "{ctx} should be NaN");
                        } else {
                            let want = clamp(r, lo, hi);
                            assert!(!want.is_nan(), "{ctx}: reference NaN");
                            let tol = 1e-5 * (1.0 + want.abs());
                            assert!((f64::from(got) - want).abs() <= tol, "{ctx} want {want}");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(
        checked,
        shapes.len() * 3 * clamps.len() * DWCONV_F32.available().len()
    );
}

/// Many threads: the run's scratch checks and error reporting work from worker threads too.
#[test]
fn threads_share_the_checks() {
    let d = desc([3, 3], [1, 1], [1; 4], 4, 1);
    let w = vec![0.5f32; 36];
    let plan = Depthwise32::new(d, &w, None, (f32::NEG_INFINITY, f32::INFINITY), None).unwrap();
    let p = Parallel::new(2);
    let x = vec![1.0f32; 2 * 6 * 6 * 4];
    let mut y = vec![0.0f32; 2 * 6 * 6 * 4];
    plan.run(&x, 2, 6, 6, &mut y, &p).unwrap();
    assert_eq!(y[(6 + 1) * 4], 4.5); // an interior pixel: 9 taps x 0.5
    assert_eq!(y[0], 2.0); // a corner: 4 taps
    let msg = err(plan.run(&x, 2, 6, 6, &mut y[1..], &p));
    assert_msg(&msg, &["output has 287 elements"]);
    assert_eq!(MAX_DIM, U32);
}
