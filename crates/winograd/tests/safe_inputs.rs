//! Hostile caller data (issue 17): every public entry point of `winograd` refuses what it cannot
//! compute with an `Err` naming the argument (or computes the exact answer), in debug AND
//! release builds (`cargo test --release -p winograd --test safe_inputs`): release builds have
//! no overflow checks, so unchecked `usize` products wrap there and "buffer large enough" checks
//! pass. One test per bug; each says what happened before the fix.
//!
//! The fp32 NaN rule (IEEE propagation, also through ReLU and clamps) is tested on every
//! available variant and tile.

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

use cpu_probe::parallel::Parallel;
use quant_params::QType;
use winograd::int8::transform::{input_tile, output_tile, pack_kernel};
use winograd::int8::{
    activation_magnitude, check_channel, Conv2dDesc, Input8, Int8Config, Int8Error, Output8,
    OutputStage, Padding, WinogradInt8,
};
use winograd::reference::conv3x3_f64;
use winograd::transforms::kernel_transform_f64;
use winograd::ukernel::TGEMM;
use winograd::{Activation, Tile, WinogradConfig, WinogradConv, WinogradError, MAX_DIM};

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
const BIG: usize = 1 << 32; // u32::MAX + 1

fn fp32_err(cfg: WinogradConfig<'_>) -> WinogradError {
    WinogradConv::new(cfg).expect_err("plan must be refused")
}

fn assert_msg<E: std::fmt::Display>(e: &E, parts: &[&str]) {
    let s = e.to_string();
    for p in parts {
        assert!(s.contains(p), "error {s:?} should mention {p:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// fp32 plan

/// Before: `Tile::Auto` added the hinted size and the paddings unchecked (debug: overflow panic
/// in `new`; release: wrapped). Now every padding is bounded by u32::MAX.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn fp32_padding_near_usize_max_is_refused() {
    let k = vec![1.0f32; 9];
    for pad in [
        [usize::MAX, 0, 1, 0],
        [i64::MAX as usize, 0, 1, 0],
        [1 << 62, 0, 1 << 62, 0],
        [0, 0, 0, BIG],
    ] {
        let mut cfg = WinogradConfig::new(1, 1, &k);
        cfg.padding = pad;
        cfg.input_size_hint = Some([4, 4]);
        let e = fp32_err(cfg);
        assert!(matches!(e, WinogradError::Shape(_)), "{e:?}");
        let big = pad.iter().copied().max().unwrap_or(0);
        assert_msg(&e, &["padding", &big.to_string(), "u32::MAX"]);
    }
    // The limit itself is accepted.
    let mut cfg = WinogradConfig::new(1, 1, &k);
    cfg.padding = [MAX_DIM, 0, 0, 0];
    cfg.tile = Tile::F2x2;
    assert!(WinogradConv::new(cfg).is_ok());
}

/// Before: the `Tile::Auto` cost model multiplied the hinted tile counts in usize (debug:
/// overflow panic for a hint near usize::MAX).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn fp32_size_hint_near_usize_max_is_refused() {
    let k = vec![1.0f32; 9];
    for hint in [[usize::MAX, usize::MAX], [BIG, 1], [1, BIG]] {
        let mut cfg = WinogradConfig::new(1, 1, &k);
        cfg.input_size_hint = Some(hint);
        let e = fp32_err(cfg);
        let (name, bad) = if hint[0] > MAX_DIM {
            ("input_size_hint height", hint[0])
        } else {
            ("input_size_hint width", hint[1])
        };
        assert_msg(&e, &[name, &bad.to_string(), "u32::MAX"]);
    }
    // The largest accepted hint picks a tile without overflowing.
    let mut cfg = WinogradConfig::new(1, 1, &k);
    cfg.input_size_hint = Some([MAX_DIM, MAX_DIM]);
    cfg.padding = [MAX_DIM; 4];
    assert!(WinogradConv::new(cfg).is_ok());
}

/// Channel counts above u32::MAX, and counts whose product overflows: an error naming the
/// channels, before the kernel length is even looked at.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn fp32_channel_overflow_is_refused() {
    let k: Vec<f32> = Vec::new();
    for (c, m, name) in [
        (usize::MAX, 8, "in_channels"),
        (BIG, 1, "in_channels"),
        (1, usize::MAX / 4, "out_channels"),
        (1, BIG, "out_channels"),
    ] {
        let e = fp32_err(WinogradConfig::new(c, m, &k));
        assert_msg(&e, &[name, "u32::MAX"]);
    }
    // Within the limit but with a kernel one short: a length error with the exact count.
    let k = vec![0.0f32; 2 * 3 * 9 - 1];
    let e = fp32_err(WinogradConfig::new(3, 2, &k));
    assert_eq!(
        e,
        WinogradError::Length {
            argument: "kernel (OIHW 3x3)",
            expected: 54,
            actual: 53
        }
    );
}

// ---------------------------------------------------------------------------------------------
// fp32 run

fn small_plan(pad: usize) -> WinogradConv {
    let k: Vec<f32> = (0..2 * 3 * 9)
        .map(|i| (i % 7) as f32 * 0.25 - 0.5)
        .collect();
    let mut cfg = WinogradConfig::new(3, 2, &k);
    cfg.padding = [pad; 4];
    cfg.tile = Tile::F2x2;
    WinogradConv::new(cfg).unwrap()
}

/// Batch, height and width above u32::MAX or near usize::MAX: an error naming the argument
/// (no allocation, nothing written).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn fp32_run_dims_near_usize_max_are_refused() {
    let plan = small_plan(1);
    let par = Parallel::single();
    let x = vec![0.0f32; 3 * 4 * 4];
    let mut y = vec![7.0f32; 2 * 4 * 4];
    for (b, h, w, name) in [
        (usize::MAX, 4, 4, "batch"),
        (BIG, 4, 4, "batch"),
        (1, usize::MAX, 4, "height"),
        (1, BIG, 4, "height"),
        (1, 4, usize::MAX, "width"),
        (1, 4, BIG, "width"),
        (1, usize::MAX - 1, usize::MAX - 1, "height"),
    ] {
        let e = plan.run(&x, b, h, w, &mut y, &par).unwrap_err();
        assert_msg(&e, &[name, "u32::MAX"]);
        let e = plan.output_size(h, w);
        if name != "batch" {
            assert_msg(&e.unwrap_err(), &[name]);
        }
    }
    assert!(y.iter().all(|&v| v == 7.0), "nothing may be written");
    // Within the limits the products are checked: 2^32-1 squared times 3 channels still fits
    // 64 bits, so the input length check reports the exact requirement.
    let e = plan.run(&x, 1, MAX_DIM, MAX_DIM, &mut y, &par).unwrap_err();
    let need = 3u128 * (MAX_DIM as u128) * (MAX_DIM as u128);
    if need <= usize::MAX as u128 {
        assert_msg(&e, &["input", &need.to_string()]);
    } else {
        assert_msg(&e, &["overflows"]);
    }
}

/// Input or output one element short: a length error with both counts (before and after the
/// fix; kept as a regression test for the checked lengths).
#[test]
fn fp32_buffers_one_short_are_refused() {
    let plan = small_plan(1);
    let par = Parallel::single();
    let (b, h, w) = (2, 5, 4);
    let x = vec![0.5f32; b * 3 * h * w];
    let mut y = vec![0.0f32; b * 2 * h * w];
    plan.run(&x, b, h, w, &mut y, &par).unwrap();
    let e = plan
        .run(&x[..x.len() - 1], b, h, w, &mut y, &par)
        .unwrap_err();
    assert_eq!(
        e,
        WinogradError::Length {
            argument: "input",
            expected: 120,
            actual: 119
        }
    );
    let n = y.len();
    let e = plan.run(&x, b, h, w, &mut y[..n - 1], &par).unwrap_err();
    assert_eq!(
        e,
        WinogradError::Length {
            argument: "output",
            expected: 80,
            actual: 79
        }
    );
    assert_msg(&e, &["output", "79", "80"]);
}

// ---------------------------------------------------------------------------------------------
// fp32 NaN

/// Before: ReLU and Clamp dropped NaN in every variant (`x.max(lo).min(hi)` on the portable
/// lanes of Scalar/AVX2/NEON, `_mm512_max_ps(v, lo)` on AVX-512): a NaN input became 0 or the
/// lower bound. Now every output whose window reads a NaN is NaN, in every available variant,
/// tile and activation (with and without bias), and the other outputs of tiles that do not read
/// it equal the NaN-free run.
#[test]
fn fp32_nan_propagates_in_every_variant_with_and_without_clamp() {
    let (c, k, h, w, batch) = (3, 5, 13, 11, 2);
    let kernel: Vec<f32> = (0..k * c * 9)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) * 0.125 + 0.0625)
        .collect();
    let bias: Vec<f32> = (0..k).map(|i| i as f32 * 0.5 - 1.0).collect();
    let clean: Vec<f32> = (0..batch * c * h * w)
        .map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.1)
        .collect();
    // NaNs: a corner, an edge, the interior (image 0, channels 0/2), and one in image 1.
    let nans = [(0, 0, 0, 0), (0, 2, 0, 7), (0, 1, 6, 5), (1, 0, 12, 10)];
    let mut x = clean.clone();
    for &(n, ci, yy, xx) in &nans {
        x[((n * c + ci) * h + yy) * w + xx] = f32::NAN;
    }
    let pad = 1;
    let (oh, ow) = (h + 2 * pad - 2, w + 2 * pad - 2);
    // Output (n, y, x) reads input rows y - pad .. y - pad + 3 and the same columns.
    let reads_nan = |n: usize, y: usize, xo: usize| {
        nans.iter().any(|&(nn, _, yy, xx)| {
            nn == n && yy + pad >= y && yy + pad < y + 3 && xx + pad >= xo && xx + pad < xo + 3
        })
    };
    let activations = [
        Activation::None,
        Activation::Relu,
        Activation::Clamp {
            min: -1.0,
            max: 1.0,
        },
        Activation::Clamp {
            min: 0.5,
            max: 0.75,
        },
        Activation::Clamp { min: 0.0, max: 0.0 },
    ];
    let variants = TGEMM.available();
    let names: Vec<_> = variants.iter().map(|e| e.name).collect();
    eprintln!("fp32 table entries tested for NaN: {names:?}");
    let par = Parallel::single();
    for &variant in &variants {
        for tile in Tile::ALL {
            for act in activations {
                for with_bias in [false, true] {
                    let mut cfg = WinogradConfig::new(c, k, &kernel);
                    cfg.padding = [pad; 4];
                    cfg.tile = tile;
                    cfg.kernels = Some(variant);
                    cfg.activation = act;
                    cfg.bias = with_bias.then_some(&bias[..]);
                    let plan = WinogradConv::new(cfg).unwrap();
                    let mut y = vec![0.0f32; batch * k * oh * ow];
                    plan.run(&x, batch, h, w, &mut y, &par).unwrap();
                    let mut y0 = vec![0.0f32; batch * k * oh * ow];
                    plan.run(&clean, batch, h, w, &mut y0, &par).unwrap();
                    let m = tile.m();
                    for n in 0..batch {
                        for ko in 0..k {
                            for yy in 0..oh {
                                for xx in 0..ow {
                                    let i = ((n * k + ko) * oh + yy) * ow + xx;
                                    let what = format!(
                                        "{} {tile:?} {act:?} bias {with_bias}: output (n {n}, k {ko}, y {yy}, x {xx}) = {}",
                                        variant.name,
                                        y[i]
                                    );
                                    if reads_nan(n, yy, xx) {
                                        assert!(y[i].is_nan(), "{what} should be NaN");
                                    }
                                    // Tiles that read no NaN at all (their α×α window in
                                    // padded coordinates) are bit-for-bit unchanged.
                                    let (ty, tx) = (yy / m * m, xx / m * m);
                                    let tile_reads = nans.iter().any(|&(nn, _, iy, ix)| {
                                        nn == n
                                            && (ty..ty + m + 2).contains(&(iy + pad))
                                            && (tx..tx + m + 2).contains(&(ix + pad))
                                    });
                                    if !tile_reads {
                                        assert_eq!(y[i].to_bits(), y0[i].to_bits(), "{what}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The reference (the spec the tests compare against) follows the same NaN rule, and its size
/// arithmetic is checked. Before: `acc.max(lo).min(hi)` turned NaN into the bound, and a size
/// near usize::MAX overflowed (debug panic, release wrap).
#[test]
fn fp32_reference_keeps_nan_and_checks_sizes() {
    let kernel = vec![0.5f32; 9];
    let mut x = vec![1.0f32; 16];
    x[5] = f32::NAN;
    for (lo, hi) in [
        (0.0, f32::INFINITY),
        (-1.0, 1.0),
        (f32::NEG_INFINITY, f32::INFINITY),
    ] {
        let (y, oh, ow) = conv3x3_f64(&x, 1, 1, 4, 4, &kernel, None, 1, [0; 4], lo, hi).unwrap();
        assert_eq!((oh, ow), (2, 2));
        // Every 3x3 window of a 4x4 image contains (1, 1).
        assert!(y.iter().all(|v| v.is_nan()), "{lo} {hi}: {y:?}");
    }
    let e = conv3x3_f64(
        &x,
        1,
        1,
        4,
        4,
        &kernel,
        None,
        1,
        [usize::MAX, 0, 1, 0],
        0.0,
        1.0,
    )
    .unwrap_err();
    // A 32-bit usize::MAX is u32::MAX, within the padding limit: the padded height overflows.
    let what = if cfg!(target_pointer_width = "64") {
        "padding top"
    } else {
        "padded height overflows usize"
    };
    assert_msg(&e, &[what, &usize::MAX.to_string()]);
    let e = conv3x3_f64(&x, 1, 1, 4, 4, &kernel[..8], None, 1, [0; 4], 0.0, 1.0).unwrap_err();
    assert_msg(&e, &["kernel", "8", "9"]);
    let e = conv3x3_f64(&x[..15], 1, 1, 4, 4, &kernel, None, 1, [0; 4], 0.0, 1.0).unwrap_err();
    assert_msg(&e, &["input", "15", "16"]);
    let e = conv3x3_f64(
        &x, MAX_DIM, MAX_DIM, MAX_DIM, MAX_DIM, &kernel, None, 1, [0; 4], 0.0, 1.0,
    )
    .unwrap_err();
    assert_msg(&e, &["overflows"]);
}

/// Before: `kernel_transform_f64` indexed with any `alpha` and unchecked slice lengths (a
/// panic, or a silently wrong transform for alpha 5 or 7).
#[test]
fn fp32_kernel_transform_checks_its_arguments() {
    let g = [1.0f32; 9];
    let mut out = [0.0f64; 64];
    for alpha in [0, 5, 7, 9, usize::MAX] {
        let e = kernel_transform_f64(alpha, &g, &mut out).unwrap_err();
        assert_msg(&e, &["alpha", &alpha.to_string()]);
    }
    assert_msg(
        &kernel_transform_f64(4, &g[..8], &mut out).unwrap_err(),
        &["kernel g", "8"],
    );
    assert_msg(
        &kernel_transform_f64(8, &g, &mut out[..63]).unwrap_err(),
        &["out", "63", "64"],
    );
    kernel_transform_f64(4, &g, &mut out).unwrap();
    // U[0][0] = g[0][0] = 1 for F(2x2,3x3) (G row 0 = [1, 0, 0]).
    assert_eq!(out[0], 1.0);
}

/// Before: `f2x3::correlate_1d_times2` used plain i32 arithmetic (debug: overflow panic on
/// large arguments). Now the exact answer modulo 2^32 in both builds.
#[test]
fn f2x3_correlation_wraps_exactly() {
    let d = [i32::MAX, i32::MIN, 12345, -7];
    let g = [i32::MAX, -3, i32::MIN];
    let got = winograd::f2x3::correlate_1d_times2(d, g);
    for (o, got) in got.into_iter().enumerate() {
        let exact: i128 = (0..3)
            .map(|j| d[o + j] as i128 * g[j] as i128)
            .sum::<i128>()
            * 2;
        assert_eq!(got, exact as u128 as u32 as i32, "output {o}");
    }
}

// ---------------------------------------------------------------------------------------------
// int8 plan

fn int8_cfg<'a>(cin: usize, cout: usize, pad: [usize; 4], w: &'a [i8]) -> Int8Config<'a> {
    Int8Config {
        desc: Conv2dDesc::square(3, 1, Padding::Explicit(pad), 1, cin, cout),
        input_type: QType::U8,
        input_zero_point: 3,
        weights: Input8::I8(w),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::RawI32,
        kernels: None,
    }
}

/// The int8 geometry is qconv-direct's `Conv2dDesc`: a description this path does not compute
/// (not 3x3, stride or dilation not 1, groups) is refused naming the values; SAME padding is one
/// pixel per side.
#[test]
fn int8_desc_outside_3x3_stride_1_is_refused() {
    let w = vec![1i8; 9 * 2];
    let mut bad = Vec::new();
    let mut d = Conv2dDesc::square(3, 2, Padding::uniform(1), 1, 2, 1);
    bad.push(d);
    d.stride = [1, 1];
    d.dilation = [1, 2];
    bad.push(d);
    d.dilation = [1, 1];
    d.kernel = [3, 5];
    bad.push(d);
    d.kernel = [3, 3];
    d.groups = 2;
    d.cin_per_group = 1;
    bad.push(d);
    for d in bad {
        let mut cfg = int8_cfg(2, 1, [1; 4], &w);
        cfg.desc = d;
        let e = WinogradInt8::new(cfg).unwrap_err();
        assert!(matches!(e, Int8Error::Geometry(_)), "{e:?}");
        assert_msg(
            &e,
            &["3x3 kernels with stride 1", &format!("{:?}", d.kernel)],
        );
    }
    for p in [Padding::SameUpper, Padding::SameLower] {
        let mut cfg = int8_cfg(2, 1, [1; 4], &w);
        cfg.desc.padding = p;
        let plan = WinogradInt8::new(cfg).unwrap();
        assert_eq!(plan.output_size(5, 7).unwrap(), (5, 7));
    }
}

/// Before: `WinogradInt8::output_size` added the paddings unchecked: `[usize::MAX, 0, 1, 0]`
/// wrapped back to the input height (release: a "valid" run reading shifted rows; debug:
/// overflow panic). Now paddings above u32::MAX are refused at plan time.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn int8_padding_near_usize_max_is_refused() {
    let w = vec![1i8; 9];
    for pad in [
        [usize::MAX, 0, 1, 0],
        [i64::MAX as usize, 0, 1, 0],
        [1 << 62, 0, 1 << 62, 0],
        [0, BIG, 0, 0],
    ] {
        let e = WinogradInt8::new(int8_cfg(1, 1, pad, &w)).unwrap_err();
        assert!(matches!(e, Int8Error::Geometry(_)), "{e:?}");
        let big = pad.iter().copied().max().unwrap_or(0);
        assert_msg(&e, &["padding", &big.to_string(), "u32::MAX"]);
    }
}

/// Before: `cout · 9 · cin` was computed unchecked: cin = 2^61, cout = 8 wrapped to 0, an empty
/// weight slice was accepted and the exactness loop then indexed past it (release: panic;
/// debug: overflow panic). Now channel counts are bounded and the length is checked.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn int8_channel_overflow_is_refused() {
    let empty: [i8; 0] = [];
    for (cin, cout, name) in [
        (1usize << 61, 8usize, "cin"),
        (usize::MAX, usize::MAX, "cin"),
        (BIG, 1, "cin"),
        (1, BIG, "cout"),
        (1, usize::MAX / 9 + 1, "cout"),
    ] {
        let e = WinogradInt8::new(int8_cfg(cin, cout, [0; 4], &empty)).unwrap_err();
        assert_msg(
            &e,
            &[name, &if name == "cin" { cin } else { cout }.to_string()],
        );
    }
    // Within the limits, a weight slice one short names both counts.
    let w = vec![1i8; 2 * 9 * 3 - 1];
    let e = WinogradInt8::new(int8_cfg(3, 2, [0; 4], &w)).unwrap_err();
    assert_msg(&e, &["weights have 53 elements", "54"]);
}

// ---------------------------------------------------------------------------------------------
// int8 run

fn int8_plan(cin: usize, cout: usize, pad: [usize; 4]) -> WinogradInt8 {
    let w: Vec<i8> = (0..cout * 9 * cin).map(|i| (i % 5) as i8 - 2).collect();
    let mut cfg = int8_cfg(cin, cout, pad, &w);
    cfg.kernels = Some(&winograd::int8::WGEMM.all()[0]);
    WinogradInt8::new(cfg).unwrap()
}

/// Before (release, heap overflow): `batch · OH · OW · cout` and `(pixels − 1) · stride + cin`
/// were computed unchecked. With a 1x1 image, padding 8 (15x15 output), batch = 225⁻¹ mod 2^64
/// and pixel stride 2^59, both wrapped to 1, so a 1-byte input and a 1-element output passed the
/// length checks, and the first block of tiles wrote 225 outputs into the 1-element buffer.
/// Now batch and stride are bounded and every product is checked.
#[cfg(target_pointer_width = "64")]
#[test]
fn int8_wrapping_output_length_is_refused() {
    let plan = int8_plan(1, 1, [8; 4]);
    let par = Parallel::single();
    let batch = 1_147_797_409_030_816_545usize; // 225 · batch ≡ 1 (mod 2^64)
    assert_eq!(batch.wrapping_mul(225), 1);
    let input = [3u8];
    let mut out = [0i32; 1];
    let (x, stride) = (Input8::U8(&input), 1 << 59);
    let e = plan
        .run(x, batch, 1, 1, stride, Output8::I32(&mut out), &par)
        .unwrap_err();
    assert_msg(&e, &["batch", &batch.to_string(), "u32::MAX"]);
    let e = plan
        .run_profiled(x, batch, 1, 1, stride, Output8::I32(&mut out))
        .unwrap_err();
    assert_msg(&e, &["batch"]);
    assert_eq!(out, [0]);
}

/// Products of in-limit values that overflow usize: checked, an error naming the size.
#[cfg(target_pointer_width = "64")]
#[test]
fn int8_overflowing_products_are_refused() {
    let par = Parallel::single();
    let input = [3u8; 16];
    let mut out = [0i32; 4];
    // 2^32-1 images of a 1x1 input padded by 2^32-1 on every side: OH = OW ≈ 2^33.
    let plan = int8_plan(1, 1, [MAX_DIM; 4]);
    let e = plan
        .run(
            Input8::U8(&input),
            MAX_DIM,
            1,
            1,
            1,
            Output8::I32(&mut out),
            &par,
        )
        .unwrap_err();
    assert_msg(&e, &["output length", "overflows"]);
    // (pixels − 1) · stride overflows: 3·(2^32-1) pixels with stride 2^32-1.
    let plan = int8_plan(1, 1, [0; 4]);
    let e = plan
        .run(
            Input8::U8(&input),
            1,
            MAX_DIM,
            3,
            MAX_DIM,
            Output8::I32(&mut out),
            &par,
        )
        .unwrap_err();
    assert_msg(&e, &["input length", "overflows"]);
    assert_eq!(out, [0; 4]);
}

/// Run-time dimensions above u32::MAX or near usize::MAX: an error naming the argument.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn int8_run_dims_near_usize_max_are_refused() {
    let plan = int8_plan(2, 3, [1; 4]);
    let par = Parallel::single();
    let input = [0u8; 2 * 16];
    let mut out = [0i32; 3 * 16];
    for (b, h, w, s, name) in [
        (usize::MAX, 4, 4, 2, "batch"),
        (BIG, 4, 4, 2, "batch"),
        (1, usize::MAX, 4, 2, "input height"),
        (1, BIG, 4, 2, "input height"),
        (1, 4, usize::MAX, 2, "input width"),
        (1, 4, 4, usize::MAX, "input pixel stride"),
        (1, 4, 4, BIG, "input pixel stride"),
    ] {
        let e = plan
            .run(Input8::U8(&input), b, h, w, s, Output8::I32(&mut out), &par)
            .unwrap_err();
        assert_msg(&e, &[name, "u32::MAX"]);
    }
    assert_msg(
        &plan.output_size(usize::MAX, 4).unwrap_err(),
        &["input height"],
    );
    assert!(out.iter().all(|&v| v == 0));
}

/// Input one short, output one short or one long, with a pixel stride: errors naming the
/// counts (the output must match the plan's shape exactly).
#[test]
fn int8_buffers_one_short_are_refused() {
    let plan = int8_plan(2, 3, [1; 4]);
    let par = Parallel::single();
    let (b, h, w, s) = (2, 4, 5, 3);
    let input = vec![5u8; (b * h * w - 1) * s + 2];
    let mut out = vec![0i32; b * h * w * 3];
    plan.run(Input8::U8(&input), b, h, w, s, Output8::I32(&mut out), &par)
        .unwrap();
    let e = plan
        .run(
            Input8::U8(&input[..input.len() - 1]),
            b,
            h,
            w,
            s,
            Output8::I32(&mut out),
            &par,
        )
        .unwrap_err();
    assert_msg(&e, &["input has 118 elements", "need 119"]);
    let n = out.len();
    let e = plan
        .run(
            Input8::U8(&input),
            b,
            h,
            w,
            s,
            Output8::I32(&mut out[..n - 1]),
            &par,
        )
        .unwrap_err();
    assert_msg(&e, &["output has 119 elements", "120"]);
    let mut long = vec![0i32; n + 1];
    let e = plan
        .run(
            Input8::U8(&input),
            b,
            h,
            w,
            s,
            Output8::I32(&mut long),
            &par,
        )
        .unwrap_err();
    assert_msg(&e, &["output has 121 elements", "120"]);
}

// ---------------------------------------------------------------------------------------------
// int8 building blocks

/// Before: `pack_kernel` divided by `nr` (panic for 0), indexed past its buffer for `kp < cin`
/// (panic), computed `16 · blocks · kp · nr` unchecked and allocated infallibly (abort).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn int8_pack_kernel_checks_its_arguments() {
    let g = |_o: usize, _y: usize, _x: usize, _c: usize| 1i32;
    assert_msg(&pack_kernel(g, 4, 4, 4, 0).unwrap_err(), &["nr = 0"]);
    assert_msg(
        &pack_kernel(g, 5, 4, 4, 8).unwrap_err(),
        &["kp = 4", "cin = 5"],
    );
    assert_msg(
        &pack_kernel(g, 4, 4, 6, 8).unwrap_err(),
        &["kp = 6", "multiple of 4"],
    );
    let e = pack_kernel(g, 4, 1, 1 << 62, 8).unwrap_err();
    assert!(matches!(e, Int8Error::Geometry(_)), "{e:?}");
    assert_msg(&e, &["overflows", &(1usize << 62).to_string()]);
    // 2^61 i16 = 2^62 bytes: representable, impossible to allocate.
    #[cfg(target_pointer_width = "64")]
    {
        let e = pack_kernel(g, 4, 1, 1 << 53, 16).unwrap_err();
        assert!(matches!(e, Int8Error::Allocation(_)), "{e:?}");
        assert_msg(&e, &["packed kernel", "cannot be allocated"]);
    }
    let bad = |o: usize, _y: usize, _x: usize, c: usize| if o == 1 && c == 2 { 256 } else { 0 };
    let e = pack_kernel(bad, 4, 2, 4, 8).unwrap_err();
    assert_msg(&e, &["g(1, 0, 0, 2) = 256", "[-255, 255]"]);
    // A valid call: 16 points × 1 block × kp 4 × nr 8, the all-ones kernel's U[0] = 4.
    let u = pack_kernel(g, 4, 4, 4, 8).unwrap();
    assert_eq!(u.len(), 16 * 4 * 8);
    assert_eq!(u[0], 4);
}

/// Before: the safe tile transforms computed `p · ps` unchecked and panicked on short slices.
/// Now they check the lengths (checked arithmetic) and return an error, writing nothing.
#[test]
fn int8_tile_transforms_check_their_arguments() {
    let row = [7u8; 8];
    let rows: [&[u8]; 16] = [&row; 16];
    let mut out = vec![-1i16; 15 * 8 + 8];
    input_tile(&rows, 8, 0, 7, &mut out, 8).unwrap();
    assert!(
        out.iter().all(|&v| v == 0),
        "constant d = 0 transforms to 0"
    );
    let mut short = vec![-1i16; 15 * 8 + 7];
    assert_msg(
        &input_tile(&rows, 8, 0, 7, &mut short, 8).unwrap_err(),
        &["out has 127 elements", "128"],
    );
    assert!(short.iter().all(|&v| v == -1));
    assert_msg(
        &input_tile(&rows, 8, 0, 7, &mut out, 7).unwrap_err(),
        &["point stride 7", "8 channels"],
    );
    assert_msg(
        &input_tile(&rows, 8, 0, 7, &mut out, usize::MAX / 2).unwrap_err(),
        &["overflows"],
    );
    let short_row = [7u8; 7];
    let mut rows2 = rows;
    rows2[9] = &short_row;
    assert_msg(
        &input_tile(&rows2, 8, 0, 7, &mut out, 8).unwrap_err(),
        &["rows[9] has 7 elements", "8"],
    );

    let cout = 3;
    let m = vec![0i32; 15 * 4 + cout];
    let bias = [1, 2, 3];
    let mut y = vec![0i32; 4 * cout];
    output_tile(&m, 4, &bias, cout, &mut y).unwrap();
    assert_eq!(y, [1, 2, 3].repeat(4));
    assert_msg(
        &output_tile(&m[..m.len() - 1], 4, &bias, cout, &mut y).unwrap_err(),
        &["m has 62 elements", "63"],
    );
    assert_msg(
        &output_tile(&m, 4, &bias[..2], cout, &mut y).unwrap_err(),
        &["bias has 2 elements", "3"],
    );
    assert_msg(
        &output_tile(&m, 4, &bias, cout, &mut y[..11]).unwrap_err(),
        &["y has 11 elements", "12"],
    );
    assert_msg(
        &output_tile(&m, usize::MAX / 8, &bias, cout, &mut y).unwrap_err(),
        &["overflows"],
    );
    assert_msg(
        &output_tile(&m, 4, &bias, usize::MAX / 2, &mut y).unwrap_err(),
        &["point stride 4"],
    );
}

/// Before: `activation_magnitude` subtracted in i32 (debug: overflow panic, release: a wrong
/// magnitude) for zero points outside the type. Now the exact value in i64.
#[test]
fn int8_activation_magnitude_is_exact_for_any_zero_point() {
    assert_eq!(activation_magnitude(QType::U8, 0), 255);
    assert_eq!(activation_magnitude(QType::I8, 0), 128);
    assert_eq!(
        activation_magnitude(QType::U8, i32::MIN),
        255 + (1i64 << 31)
    );
    assert_eq!(
        activation_magnitude(QType::I8, i32::MAX),
        i32::MAX as i64 + 128
    );
}

/// Before: `check_channel` computed `4 · A · S` in unchecked i64: `A = 2^62`, `S = 4` wrapped to
/// 0 in release and the plan-time exactness check passed. Now overflow (and negative
/// arguments) are refused.
#[test]
fn int8_check_channel_refuses_overflowing_bounds() {
    assert!(check_channel(255, 1000, 0).is_ok());
    let e = check_channel(1 << 62, 4, 0).unwrap_err();
    assert!(e.contains("more than 2^63"), "{e}");
    assert!(check_channel(i64::MAX, i64::MAX, i32::MIN).is_err());
    assert!(check_channel(-1, 5, 0)
        .unwrap_err()
        .contains("non-negative"));
    // The boundary stays exact: 4·A·S = 2^31 − 4 passes, + |bias| may not push A·S past 2^31 − 1.
    let s = ((1i64 << 31) - 4) / 4 / 255;
    assert!(check_channel(255, s, 0).is_ok());
    assert!(check_channel(255, s + 2, 0).is_err());
    assert!(check_channel(1, 1, i32::MIN).is_err());
}
