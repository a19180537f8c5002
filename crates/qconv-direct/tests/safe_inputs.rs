//! Hostile geometry and buffer sizes (as a model file could give them): each is an error that
//! names the argument, or the exact answer where one exists, in release builds (no overflow
//! checks: the old unchecked sizes wrapped there) as in debug ones. One test per bug found.

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

use cpu_probe::parallel::Parallel;
use qconv_direct::{
    Conv2dDesc, ConvError, ConvGeometry, Input8, Kernel, Output8, OutputStage, Padding, QConv2d,
    QConv2dConfig, IGEMM, MAX_ATTRIBUTE,
};
use quant_params::{QType, RequantScheme, Requantizer};

/// `u32::MAX + 1`: the first value above every geometry attribute's limit.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
const BIG: usize = u32::MAX as usize + 1;
/// `2^63`, `usize::MAX / 2 + 1`.
const HALF: usize = usize::MAX / 2 + 1;

/// 1x1, stride 1, no padding, one group of `cin` -> `cout`.
fn one_by_one(cin: usize, cout: usize) -> Conv2dDesc {
    Conv2dDesc::square(1, 1, Padding::uniform(0), 1, cin, cout)
}

/// `desc` with one change (`|d| d.stride = [2, 1]`).
fn edit(mut desc: Conv2dDesc, change: impl FnOnce(&mut Conv2dDesc)) -> Conv2dDesc {
    change(&mut desc);
    desc
}

fn plan_with(
    desc: Conv2dDesc,
    weights: &[i8],
    output: OutputStage,
    variant: Option<&'static Kernel>,
) -> Result<QConv2d, ConvError> {
    QConv2d::new(QConv2dConfig {
        desc,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(weights),
        weight_zero_points: &[0],
        bias: None,
        output,
        kernel: variant,
    })
}

fn plan(desc: Conv2dDesc, weights: &[i8]) -> Result<QConv2d, ConvError> {
    plan_with(desc, weights, OutputStage::RawI32, None)
}

/// The error text of a plan that must be refused.
fn refused(r: Result<QConv2d, ConvError>) -> String {
    match r {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "{text:?} lacks {p:?}");
    }
}

/// Pads above u32::MAX that the old "pad < dilated extent" rule let through (a dilation of
/// u32::MAX makes the extent about 2^33).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn pads_above_u32_are_refused() {
    let base = Conv2dDesc {
        dilation: [u32::MAX as usize, u32::MAX as usize],
        ..Conv2dDesc::square(3, 1, Padding::uniform(0), 1, 1, 1)
    };
    for (i, side) in ["top", "left", "bottom", "right"].iter().enumerate() {
        let mut p = [0; 4];
        p[i] = BIG;
        let desc = Conv2dDesc {
            padding: Padding::Explicit(p),
            ..base
        };
        let e = refused(plan(desc, &[1; 9]));
        assert_has(
            &e,
            &[&format!(
                "{side} padding 4294967296 exceeds the limit 4294967295"
            )],
        );
    }
}

/// The issue's `pads = [i64::MAX, 0, 1, 0]`, with a dilation large enough (2^62) that the pad
/// is below the dilated extent: accepted before.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn pads_near_i64_max_are_refused() {
    let desc = Conv2dDesc {
        kernel: [3, 1],
        stride: [1, 1],
        dilation: [1 << 62, 1],
        padding: Padding::Explicit([i64::MAX as usize, 0, 1, 0]),
        groups: 1,
        cin_per_group: 1,
        cout_per_group: 1,
    };
    let e = refused(plan(desc, &[1; 3]));
    assert_has(
        &e,
        &["dilation height 4611686018427387904 exceeds the limit"],
    );
    let desc = Conv2dDesc {
        dilation: [u32::MAX as usize, 1],
        ..desc
    };
    let e = refused(plan(desc, &[1; 3]));
    assert_has(&e, &["top padding 9223372036854775807 exceeds the limit"]);
}

/// Strides and dilations of u32::MAX + 1 (accepted before).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn strides_and_dilations_above_u32_are_refused() {
    let ok = Conv2dDesc::square(3, 1, Padding::uniform(0), 1, 1, 1);
    for (desc, want) in [
        (
            edit(ok, |d| d.stride = [BIG, 1]),
            "stride height 4294967296 exceeds",
        ),
        (
            edit(ok, |d| d.stride = [1, BIG]),
            "stride width 4294967296 exceeds",
        ),
        (
            edit(ok, |d| d.dilation = [BIG, 1]),
            "dilation height 4294967296 exceeds",
        ),
        (
            edit(ok, |d| d.dilation = [1, BIG]),
            "dilation width 4294967296 exceeds",
        ),
    ] {
        let e = refused(plan(desc, &[1; 9]));
        assert_has(&e, &[want]);
    }
    assert!(plan(ok, &[1; 9]).is_ok());
}

/// Every attribute at usize::MAX and at 2^63: refused by the limit (before: wrapped products,
/// e.g. `dilation · (k − 1) + 1`, or an unrelated "weights have" error).
#[cfg(target_pointer_width = "64")] // a 32-bit usize::MAX is u32::MAX, within the limit
#[test]
fn near_usize_max_attributes_are_refused() {
    let ok = Conv2dDesc::square(3, 1, Padding::uniform(1), 1, 1, 1);
    for v in [usize::MAX, HALF, usize::MAX - 1] {
        let cases = [
            (edit(ok, |d| d.kernel = [v, 3]), "kernel height"),
            (edit(ok, |d| d.kernel = [3, v]), "kernel width"),
            (edit(ok, |d| d.stride = [v, 1]), "stride height"),
            (edit(ok, |d| d.dilation = [1, v]), "dilation width"),
            (edit(ok, |d| d.groups = v), "groups"),
            (
                edit(ok, |d| d.cin_per_group = v),
                "input channels per group",
            ),
            (
                edit(ok, |d| d.cout_per_group = v),
                "output channels per group",
            ),
            (
                edit(ok, |d| d.padding = Padding::Explicit([1, 1, v, 1])),
                "bottom padding",
            ),
        ];
        for (desc, name) in cases {
            let e = refused(plan(desc, &[1; 9]));
            assert_has(
                &e,
                &[&format!("{name} {v} exceeds the limit {MAX_ATTRIBUTE}")],
            );
            // The geometry helpers refuse it too (before: a wrapped size, or a panic).
            let e = desc.output_size(4, 4).unwrap_err().to_string();
            assert_has(&e, &[name, "exceeds the limit"]);
        }
    }
}

/// groups · cout_per_group · taps · cin_per_group past usize with every attribute within the
/// limit. 2^16 · 2^16 · 2^16 · 2^16 = 2^64 wrapped to 0 and matched empty weights before.
#[test]
fn groups_times_channels_overflow_is_refused() {
    let desc = Conv2dDesc {
        kernel: [1 << 16, 1],
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding::Explicit([0; 4]),
        groups: 1 << 16,
        cin_per_group: 1 << 16,
        cout_per_group: 1 << 16,
    };
    let e = refused(plan(desc, &[]));
    // On a 32-bit target groups · cin_per_group (2^32) overflows first.
    let first = if cfg!(target_pointer_width = "64") {
        "weight size"
    } else {
        "groups 65536 times input channels per group 65536"
    };
    assert_has(&e, &[first, "overflows usize"]);
    let max = u32::MAX as usize;
    let desc = Conv2dDesc {
        kernel: [1, 1],
        groups: max,
        cin_per_group: max,
        cout_per_group: max,
        ..desc
    };
    let e = refused(plan(desc, &[1; 9]));
    assert_has(&e, &["overflows usize"]);
}

/// Zero-sized dimensions: refused in the description; a batch of 0 and an empty image with
/// padding have exact answers (nothing, and the bias everywhere).
#[test]
fn zero_sized_dims() {
    let ok = Conv2dDesc::square(3, 1, Padding::uniform(2), 1, 1, 1);
    for (desc, want) in [
        (edit(ok, |d| d.kernel = [0, 3]), "zero side"),
        (edit(ok, |d| d.stride = [1, 0]), "stride"),
        (edit(ok, |d| d.dilation = [0, 1]), "dilation"),
        (edit(ok, |d| d.groups = 0), "groups (0)"),
        (
            edit(ok, |d| d.cin_per_group = 0),
            "input channels per group (0)",
        ),
        (
            edit(ok, |d| d.cout_per_group = 0),
            "output channels per group (0)",
        ),
    ] {
        let e = refused(plan(desc, &[1; 9]));
        assert_has(&e, &[want]);
    }
    let p = QConv2d::new(QConv2dConfig {
        desc: ok,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(&[1; 9]),
        weight_zero_points: &[0],
        bias: Some(&[7]),
        output: OutputStage::RawI32,
        kernel: None,
    })
    .unwrap();
    let par = Parallel::single();
    // Batch 0: nothing to read or write.
    p.run(Input8::U8(&[]), 0, 4, 4, 1, Output8::I32(&mut []), &par)
        .unwrap();
    // A 0x0 image padded by 2: a 2x2 output that sees only padding, i.e. the bias.
    assert_eq!(ok.output_size(0, 0).unwrap(), (2, 2));
    let mut out = [0i32; 4];
    p.run(Input8::U8(&[]), 1, 0, 0, 1, Output8::I32(&mut out), &par)
        .unwrap();
    assert_eq!(out, [7; 4]);
}

/// batch · in_h · in_w · stride past usize: `(pixels − 1) · stride + cin` and
/// `pixels · cout` both wrapped to the tiny buffers given, and the run went on (an indirection
/// buffer of 2^63 entries: a capacity-overflow panic).
#[test]
fn batch_times_pixel_stride_overflow_is_refused() {
    let p = plan(one_by_one(1, 2), &[1, 1]).unwrap();
    let mut out = [0i32; 2];
    let e = p
        .run(
            Input8::U8(&[0]),
            HALF + 1,
            1,
            1,
            2,
            Output8::I32(&mut out),
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &[
            "input length",
            &format!("input pixels − 1 {HALF} times input pixel stride 2 overflows usize"),
        ],
    );
}

/// A pixel stride of 2^63 on a 3-pixel image: the input length `2 · 2^63 + 1` wrapped to 1, so a
/// 1-byte input passed, and pixel 1 was read at offset 2^63 (SIGSEGV in release).
#[test]
fn pixel_stride_near_usize_max_is_refused() {
    let p = plan(one_by_one(1, 1), &[1]).unwrap();
    for (px, h) in [(HALF, 3), (usize::MAX, 2), (usize::MAX / 3 + 1, 4)] {
        let mut out = vec![0i32; h];
        let e = p
            .run(
                Input8::U8(&[0]),
                1,
                h,
                1,
                px,
                Output8::I32(&mut out),
                &Parallel::single(),
            )
            .unwrap_err()
            .to_string();
        assert_has(&e, &["input length", &format!(" {px} "), "overflows usize"]);
    }
}

/// Output pixels past usize: a 1x1 image, 2x2 kernel with dilation u32::MAX and pads u32::MAX on
/// every side (each below the dilated extent 2^32) gives a 2^32 x 2^32 output; the pixel count
/// wrapped to 0 and the run returned Ok on an empty output.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn output_pixels_overflow_is_refused() {
    let d = u32::MAX as usize;
    let desc = Conv2dDesc {
        kernel: [2, 2],
        stride: [1, 1],
        dilation: [d, d],
        padding: Padding::Explicit([d; 4]),
        groups: 1,
        cin_per_group: 1,
        cout_per_group: 1,
    };
    assert_eq!(desc.output_size(1, 1).unwrap(), (1 << 32, 1 << 32));
    let p = plan(desc, &[1; 4]).unwrap();
    let e = p
        .run(
            Input8::U8(&[0]),
            1,
            1,
            1,
            1,
            Output8::I32(&mut []),
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &["output height 4294967296 times output width 4294967296 overflows usize"],
    );
}

/// Input sides above u32::MAX, in `run` and in the geometry helpers (SAME padding computed
/// `(ceil(in / s) − 1) · s + extent` unchecked: a panic in debug, a wrapped pad in release).
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn input_sides_above_u32_are_refused() {
    let p = plan(one_by_one(1, 1), &[1]).unwrap();
    let e = p
        .run(
            Input8::U8(&[0]),
            1,
            BIG,
            1,
            1,
            Output8::I32(&mut [0]),
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    assert_has(
        &e,
        &["input height 4294967296 exceeds the limit 4294967295"],
    );
    let same = Conv2dDesc {
        dilation: [3, 3],
        ..Conv2dDesc::square(3, 2, Padding::SameUpper, 1, 1, 1)
    };
    for (h, w, want) in [
        (usize::MAX, 4, "input height 18446744073709551615"),
        (4, usize::MAX, "input width 18446744073709551615"),
        (4, BIG, "input width 4294967296"),
    ] {
        let e = same.pads_for(h, w).unwrap_err().to_string();
        assert_has(&e, &[want, "exceeds the limit"]);
        let e = same.output_size(h, w).unwrap_err().to_string();
        assert_has(&e, &[want, "exceeds the limit"]);
    }
    // At the limit SAME padding is exact: extent 7, stride 2, ceil(in / 2) outputs.
    let m = u32::MAX as usize;
    assert_eq!(same.pads_for(m, 4).unwrap(), [3, 2, 3, 3]);
    assert_eq!(same.output_size(m, 4).unwrap(), (m.div_ceil(2), 2));
    // A zero stride with SAME padding divided by zero before.
    let zero = Conv2dDesc {
        stride: [0, 1],
        ..same
    };
    let e = zero.pads_for(4, 4).unwrap_err().to_string();
    assert_has(&e, &["stride [0, 1] must be >= 1"]);
}

/// `ConvGeometry` (the reference's geometry): pads summing past usize wrapped to a small
/// padding and gave an output size.
#[test]
fn conv_geometry_sizes_do_not_wrap() {
    let g = ConvGeometry {
        in_h: 1,
        in_w: 1,
        k_h: 1,
        k_w: 3,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: usize::MAX,
        pad: [usize::MAX, 0, 1, 0],
    };
    assert_eq!(g.out_h(), None);
    assert_eq!(g.out_w(), None);
    let g = ConvGeometry {
        pad: [1, 0, 1, 0],
        dilation_w: 1,
        ..g
    };
    assert_eq!((g.out_h(), g.out_w()), (Some(3), None));
}

/// An indirection buffer of 2^44 entries (a 2^20-tap kernel over a 2^20 x 16 output of a
/// 1 x 16 image, every buffer small): its allocation aborted the process before; now it is an
/// error. (2^47 bytes: more than any test machine's memory, and than a 47-bit address space.)
#[test]
fn indirection_buffer_too_large_is_an_error() {
    let taps = 1usize << 20;
    let desc = Conv2dDesc {
        kernel: [taps, 1],
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding::Explicit([taps - 1, 0, taps - 1, 0]),
        groups: 1,
        cin_per_group: 1,
        cout_per_group: 1,
    };
    assert_eq!(desc.output_size(1, 16).unwrap(), (taps, 16));
    let r = Requantizer::new(RequantScheme::Fp32, 0.5, 128, QType::U8).unwrap();
    // Scalar: the smallest packed weights (NR = 8, 32 MiB); the buffer is the same for all.
    let p = plan_with(
        desc,
        &vec![1; taps],
        OutputStage::PerTensor(r),
        Some(&IGEMM.all()[0]),
    )
    .unwrap();
    let mut out = vec![0u8; taps * 16];
    let e = p
        .run(
            Input8::U8(&[0; 16]),
            1,
            1,
            16,
            1,
            Output8::U8(&mut out),
            &Parallel::single(),
        )
        .unwrap_err()
        .to_string();
    // On a 32-bit target the entry count 2^44 itself overflows usize.
    let want = if cfg!(target_pointer_width = "64") {
        "indirection buffer: cannot allocate 17592186044416 elements of 8 bytes"
    } else {
        "indirection buffer: output pixels 16777216 times taps 1048576 overflows usize"
    };
    assert_has(&e, &[want]);
}
