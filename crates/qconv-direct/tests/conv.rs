//! Every available variant == the naive reference, bit for bit, over random geometries.

use cpu_probe::parallel::Parallel;
use proptest::prelude::*;
use qconv_direct::reference::conv_i32;
use qconv_direct::{
    Conv2dDesc, ConvError, ConvGeometry, Input8, Kernel, Output8, OutputStage, Padding, QConv2d,
    QConv2dConfig, IGEMM,
};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};

#[path = "../../qgemm/tests/support/guarded.rs"]
mod guarded;
use guarded::Guarded;

#[derive(Clone, Debug)]
struct Case {
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pad: [usize; 4],
    same: Option<bool>,
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    batch: usize,
    h: usize,
    w: usize,
    extra_stride: usize,
    a_type: QType,
    w_type: QType,
    za: i32,
    zw: Vec<i32>,
    seed: u64,
}

#[path = "../../qgemm/tests/support/lcg.rs"]
mod lcg;
use lcg::lcg;

#[path = "../../qgemm/tests/support/entries.rs"]
mod entries;
use entries::exact_entries;

fn case() -> impl Strategy<Value = Case> {
    (
        (
            1usize..=7,
            1usize..=7,
            1usize..=3,
            1usize..=3,
            1usize..=3,
            1usize..=3,
        ),
        (
            prop::array::uniform4(0usize..7),
            prop::option::of(any::<bool>()),
        ),
        (1usize..=3, 1usize..=13, 1usize..=37, 1usize..=2),
        (1usize..=9, 1usize..=9, 0usize..=3),
        (0usize..3, any::<u64>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (kh, kw, sh, sw, dh, dw),
                (pad, same),
                (groups, cin_g, cout_g, batch),
                (h0, w0, extra_stride),
                (ops, seed, extreme, per_channel),
            )| {
                let (a_type, w_type) = [
                    (QType::U8, QType::U8),
                    (QType::I8, QType::I8),
                    (QType::U8, QType::I8),
                ][ops];
                // Keep images large enough for the dilated kernel, and pads below the kernel extent.
                let eh = dh * (kh - 1) + 1;
                let ew = dw * (kw - 1) + 1;
                let pad = [pad[0] % eh, pad[1] % ew, pad[2] % eh, pad[3] % ew];
                let h = h0.max(eh.saturating_sub(pad[0] + pad[2]));
                let w = w0.max(ew.saturating_sub(pad[1] + pad[3]));
                let mut s = seed;
                let za = if extreme {
                    [a_type.min(), a_type.max()][(lcg(&mut s) % 2) as usize]
                } else {
                    a_type.min() + (lcg(&mut s) % 256) as i32
                };
                let cout = groups * cout_g;
                let n = if per_channel { cout } else { 1 };
                let zw = (0..n)
                    .map(|_| match w_type {
                        QType::I8 if ops == 1 => 0, // s8 x s8: symmetric weights (TFLite)
                        t => t.min() + (lcg(&mut s) % 256) as i32,
                    })
                    .collect();
                Case {
                    kh,
                    kw,
                    sh,
                    sw,
                    dh,
                    dw,
                    pad,
                    same,
                    groups,
                    cin_g,
                    cout_g,
                    batch,
                    h,
                    w,
                    extra_stride,
                    a_type,
                    w_type,
                    za,
                    zw,
                    seed,
                }
            },
        )
}

fn bytes(n: usize, t: QType, seed: &mut u64) -> Vec<i32> {
    (0..n).map(|_| t.min() + (lcg(seed) % 256) as i32).collect()
}

/// Output stage `kind` of the case matrix: raw i32, per-tensor u8 with a clamp, per-channel i8,
/// per-tensor i8 without a clamp; and the output type it produces.
fn stage(kind: usize, scheme: RequantScheme, scales: &[f32]) -> (OutputStage, Option<QType>) {
    match kind {
        0 => (OutputStage::RawI32, None),
        1 => (
            OutputStage::PerTensor(
                Requantizer::new(scheme, scales[0], 3, QType::U8)
                    .unwrap()
                    .with_clamp(5, 250)
                    .unwrap(),
            ),
            Some(QType::U8),
        ),
        2 => (
            OutputStage::PerChannel(
                PerChannelRequantizer::new(scheme, scales, -7, QType::I8).unwrap(),
            ),
            Some(QType::I8),
        ),
        // Per tensor, i8, no clamp (the kernels' other fused form).
        _ => (
            OutputStage::PerTensor(Requantizer::new(scheme, scales[0], -7, QType::I8).unwrap()),
            Some(QType::I8),
        ),
    }
}

static CHECKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Plans of `igemm_2x8c16__neon` (exact only for packed weights >= −127) run by `check`.
static RAN_C16: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn check(c: &Case) -> Result<(), TestCaseError> {
    let padding = match c.same {
        None => Padding::Explicit(c.pad),
        Some(true) => Padding::SameUpper,
        Some(false) => Padding::SameLower,
    };
    let desc = Conv2dDesc {
        kernel: [c.kh, c.kw],
        stride: [c.sh, c.sw],
        dilation: [c.dh, c.dw],
        padding,
        groups: c.groups,
        cin_per_group: c.cin_g,
        cout_per_group: c.cout_g,
    };
    let Ok((oh, ow)) = desc.output_size(c.h, c.w) else {
        return Ok(());
    };
    let pads = desc.pads_for(c.h, c.w).unwrap();
    let cin = c.groups * c.cin_g;
    let cout = c.groups * c.cout_g;
    let px = cin + c.extra_stride;
    let mut seed = c.seed;
    let input = bytes(c.batch * c.h * c.w * px, c.a_type, &mut seed);
    let mut weights = bytes(cout * c.kh * c.kw * c.cin_g, c.w_type, &mut seed);
    if (c.seed >> 2) & 1 == 1 {
        // No packed weight w' at -128 (i8 -128, u8 0) in half the cases, so the entries exact
        // only above it (igemm_2x8c16__neon) run too; the other half keeps the full range.
        let low = if c.w_type == QType::I8 { -128 } else { 0 };
        for x in weights.iter_mut().filter(|x| **x == low) {
            *x = low + 1;
        }
    }
    let bias: Vec<i32> = (0..cout)
        .map(|_| (lcg(&mut seed) % 20001) as i32 - 10000)
        .collect();
    let zw_full: Vec<i32> = if c.zw.len() == 1 {
        vec![c.zw[0]; cout]
    } else {
        c.zw.clone()
    };

    // Reference, per image.
    let g = ConvGeometry {
        in_h: c.h,
        in_w: c.w,
        k_h: c.kh,
        k_w: c.kw,
        stride_h: c.sh,
        stride_w: c.sw,
        dilation_h: c.dh,
        dilation_w: c.dw,
        pad: pads,
    };
    let mut want = Vec::new();
    for b in 0..c.batch {
        let img = &input[b * c.h * c.w * px..(b + 1) * c.h * c.w * px];
        let mut r = conv_i32(
            &g, c.groups, c.cin_g, c.cout_g, img, px, c.za, &weights, &zw_full,
        );
        for (i, x) in r.iter_mut().enumerate() {
            *x += bias[i % cout];
        }
        want.extend(r);
    }
    prop_assert_eq!(want.len(), c.batch * oh * ow * cout);
    CHECKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);

    let in_u8: Vec<u8> = input.iter().map(|&v| v as u8).collect();
    let in_i8: Vec<i8> = input.iter().map(|&v| v as i8).collect();
    let w_u8: Vec<u8> = weights.iter().map(|&v| v as u8).collect();
    let w_i8: Vec<i8> = weights.iter().map(|&v| v as i8).collect();
    let inp = match c.a_type {
        QType::U8 => Input8::U8(&in_u8),
        QType::I8 => Input8::I8(&in_i8),
    };
    let wts = match c.w_type {
        QType::U8 => Input8::U8(&w_u8),
        QType::I8 => Input8::I8(&w_i8),
    };
    let scales: Vec<f32> = (0..cout)
        .map(|i| 0.0005 + 0.0003 * (i % 7) as f32)
        .collect();
    let scheme = RequantScheme::ALL[(c.seed % 4) as usize];
    for variant in exact_entries(wts) {
        if variant.name == "igemm_2x8c16__neon" {
            RAN_C16.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        for stage_kind in 0..4 {
            let (stage, out_t) = stage(stage_kind, scheme, &scales);
            let plan = QConv2d::new(QConv2dConfig {
                desc,
                input_type: c.a_type,
                input_zero_point: c.za,
                weights: wts,
                weight_zero_points: &c.zw,
                bias: Some(&bias),
                output: stage.clone(),
                kernel: Some(variant),
            });
            let plan = match plan {
                Ok(p) => p,
                Err(ConvError::Overflow(_)) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            let par = if c.seed.is_multiple_of(3) {
                Parallel::new(2)
            } else {
                Parallel::single()
            };
            let n = want.len();
            match out_t {
                None => {
                    let mut got = vec![0i32; n];
                    plan.run(inp, c.batch, c.h, c.w, px, Output8::I32(&mut got), &par)
                        .unwrap();
                    prop_assert_eq!(&got, &want, "{} {:?}", variant.name, c);
                }
                Some(QType::U8) => {
                    let r = match &stage {
                        OutputStage::PerTensor(r) => *r,
                        _ => unreachable!(),
                    };
                    let mut got = vec![0u8; n];
                    plan.run(inp, c.batch, c.h, c.w, px, Output8::U8(&mut got), &par)
                        .unwrap();
                    let exp: Vec<u8> = want.iter().map(|&a| r.requantize(a) as u8).collect();
                    prop_assert_eq!(got, exp, "{} {:?}", variant.name, c);
                }
                Some(QType::I8) => {
                    let mut got = vec![0i8; n];
                    plan.run(inp, c.batch, c.h, c.w, px, Output8::I8(&mut got), &par)
                        .unwrap();
                    let exp: Vec<i8> = want
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| {
                            let scale = if stage_kind == 2 {
                                scales[i % cout]
                            } else {
                                scales[0]
                            };
                            Requantizer::new(scheme, scale, -7, QType::I8)
                                .unwrap()
                                .requantize(a) as i8
                        })
                        .collect();
                    prop_assert_eq!(got, exp, "{} {:?}", variant.name, c);
                }
            }
        }
    }
    Ok(())
}

/// Plans that gather rows (one group, few channels per tap, weight zero points 0): first-layer
/// shapes with padding, strides, dilations (taps not contiguous), a pixel stride past the
/// channels (not contiguous either), batches, 1-7 channels and K up to 128, every entry and
/// output stage, against the reference; and the plan reports gathering exactly there (on
/// aarch64; elsewhere never).
#[test]
fn gathered_rows_plans() {
    let mut seed = 4242u64;
    let mut gathered = 0;
    for (kh, kw, sh, sw, dh, dw, pad, cin_g, extra_stride, h, w) in [
        (3, 3, 2, 2, 1, 1, [1, 1, 1, 1], 3, 0, 11, 13),
        (3, 3, 1, 1, 1, 1, [1, 1, 1, 1], 1, 0, 7, 9),
        (3, 3, 1, 2, 2, 1, [2, 1, 0, 2], 4, 0, 9, 10),
        (2, 5, 1, 1, 1, 2, [0, 2, 1, 0], 7, 0, 6, 12),
        (3, 3, 2, 2, 1, 1, [1, 1, 1, 1], 3, 2, 10, 10),
        (5, 5, 1, 1, 1, 1, [2, 2, 2, 2], 5, 0, 8, 8),
        (1, 3, 1, 1, 1, 1, [0, 1, 0, 1], 6, 1, 5, 17),
        (4, 4, 3, 1, 1, 1, [0; 4], 7, 0, 9, 11),
    ] {
        for a_type in [QType::U8, QType::I8] {
            seed += 1;
            let c = Case {
                kh,
                kw,
                sh,
                sw,
                dh,
                dw,
                pad,
                same: None,
                groups: 1,
                cin_g,
                cout_g: [5, 16, 37][(seed % 3) as usize],
                batch: 1 + (seed % 2) as usize,
                h,
                w,
                extra_stride,
                a_type,
                w_type: QType::I8,
                za: a_type.min() + (seed * 37 % 256) as i32,
                zw: vec![0],
                seed,
            };
            check(&c).unwrap();
            let desc = Conv2dDesc {
                kernel: [kh, kw],
                stride: [sh, sw],
                dilation: [dh, dw],
                padding: Padding::Explicit(pad),
                groups: 1,
                cin_per_group: cin_g,
                cout_per_group: 8,
            };
            let wts = vec![1i8; 8 * kh * kw * cin_g];
            let plan = QConv2d::new(QConv2dConfig {
                desc,
                input_type: a_type,
                input_zero_point: 0,
                weights: Input8::I8(&wts),
                weight_zero_points: &[0],
                bias: None,
                output: OutputStage::RawI32,
                kernel: None,
            })
            .unwrap();
            let k = kh * kw * cin_g;
            let expect = cfg!(target_arch = "aarch64") && k <= 128;
            assert_eq!(plan.gathered_rows().is_some(), expect, "{desc:?}");
            if let Some(kp) = plan.gathered_rows() {
                assert!(kp >= k && kp < k + 16, "{kp} for K = {k}");
                gathered += 1;
            }
        }
    }
    assert!(gathered > 0 || !cfg!(target_arch = "aarch64"));
    // Not gathered: weight zero points (w' domain), groups, many channels per tap, one tap.
    let plan = |groups: usize, cin_g: usize, kernel: [usize; 2], zw: i32| {
        let desc = Conv2dDesc {
            kernel,
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding::Explicit([0; 4]),
            groups,
            cin_per_group: cin_g,
            cout_per_group: 4,
        };
        let wts = vec![1u8; groups * 4 * kernel[0] * kernel[1] * cin_g];
        QConv2d::new(QConv2dConfig {
            desc,
            input_type: QType::U8,
            input_zero_point: 0,
            weights: Input8::U8(&wts),
            weight_zero_points: &[zw as u8 as i32],
            bias: None,
            output: OutputStage::RawI32,
            kernel: None,
        })
        .unwrap()
        .gathered_rows()
    };
    // (u8 weights: zero point 128 is w' zero point 0 in the kernel domain.)
    assert_eq!(
        plan(1, 3, [3, 3], 128).is_some(),
        cfg!(target_arch = "aarch64")
    );
    assert!(plan(1, 3, [3, 3], 7).is_none());
    assert!(plan(2, 3, [3, 3], 128).is_none());
    assert!(plan(1, 8, [3, 3], 128).is_none());
    assert!(plan(1, 3, [1, 1], 128).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 24 } else { 96 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_variant_matches_the_reference(c in case()) {
        check(&c)?;
    }
}

#[test]
fn proptest_checked_real_cases() {
    every_variant_matches_the_reference();
    let n = CHECKED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{n} geometries compared against the reference");
    assert!(n >= 20, "only {n} geometries were compared");
    let c16 = RAN_C16.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{c16} of them on igemm_2x8c16__neon");
    if IGEMM
        .available()
        .iter()
        .any(|e| e.name == "igemm_2x8c16__neon")
    {
        assert!(c16 > 0, "igemm_2x8c16__neon never ran");
    }
}

#[test]
fn variants_that_ran() {
    eprintln!("qconv-direct kernels:");
    for v in IGEMM.available() {
        eprintln!("  {}", v.name);
    }
}

#[test]
fn tiny_and_extreme_cases() {
    // Output 1x1, full-range values, zero points at the ends of the range, 1x1 grouped conv.
    for (a_type, w_type, za, zw) in [
        (QType::U8, QType::U8, 0, 255),
        (QType::U8, QType::U8, 255, 0),
        (QType::I8, QType::I8, -128, 0),
        (QType::I8, QType::I8, 127, 0),
        (QType::U8, QType::I8, 0, -128),
        (QType::U8, QType::I8, 255, 127),
    ] {
        for (k, groups, cin_g, cout_g, h) in [
            (3, 1, 5, 3, 3),
            (1, 3, 4, 80, 5),
            (7, 1, 1, 1, 7),
            (2, 2, 33, 65, 2),
        ] {
            let c = Case {
                kh: k,
                kw: k,
                sh: 1,
                sw: 1,
                dh: 1,
                dw: 1,
                pad: [0; 4],
                same: None,
                groups,
                cin_g,
                cout_g,
                batch: 2,
                h,
                w: h,
                extra_stride: 1,
                a_type,
                w_type,
                za,
                zw: vec![zw],
                seed: 12345,
            };
            check(&c).unwrap();
        }
    }
}

/// The fused per-tensor Fp32 stores (AVX-512 VNNI): 1x1 stride-1 unpadded convolutions run the
/// strided GEMM entry over whole row blocks (input channels per group not a multiple of 4, so
/// the last pixels' k-groups reach past the input end and must go to the pointer path; pixel
/// counts with and without a partial row block; groups; padded pixel strides), the others the
/// indirect entry; u8 with a clamp and i8 without (`check` runs both).
#[test]
fn fused_requantization_paths() {
    let mut seed = 0u64;
    for (k, sh, pad, groups, cin_g, cout_g, h, w, extra) in [
        (1, 1, 0, 1, 5, 45, 8, 8, 0),
        (1, 1, 0, 3, 3, 80, 5, 13, 0),
        (1, 1, 0, 2, 4, 33, 3, 11, 2),
        (1, 1, 0, 1, 13, 64, 9, 9, 1),
        (1, 1, 0, 1, 64, 70, 7, 9, 0),
        (1, 2, 0, 2, 6, 17, 9, 7, 0),
        (2, 1, 1, 1, 7, 9, 4, 5, 0),
        (3, 1, 1, 2, 5, 40, 6, 7, 1),
    ] {
        for ops in 0..3 {
            let (a_type, w_type) = [
                (QType::U8, QType::U8),
                (QType::I8, QType::I8),
                (QType::U8, QType::I8),
            ][ops];
            // Seeds that are multiples of 4 pick the Fp32 scheme in `check`.
            seed += 4;
            let c = Case {
                kh: k,
                kw: k,
                sh,
                sw: sh,
                dh: 1,
                dw: 1,
                pad: [pad; 4],
                same: None,
                groups,
                cin_g,
                cout_g,
                batch: 1 + (seed as usize / 4) % 2,
                h,
                w,
                extra_stride: extra,
                a_type,
                w_type,
                za: if a_type == QType::U8 { 131 } else { -3 },
                zw: vec![if ops == 1 { 0 } else { 17 }],
                seed,
            };
            check(&c).unwrap();
        }
    }
}

#[test]
fn bad_geometry_and_buffers_are_errors() {
    let ok = Conv2dDesc::square(3, 1, Padding::uniform(1), 1, 4, 4);
    let w = vec![0i8; 4 * 9 * 4];
    let mk = |desc: Conv2dDesc, w: &[i8], zw: &[i32]| {
        QConv2d::new(QConv2dConfig {
            desc,
            input_type: QType::U8,
            input_zero_point: 128,
            weights: Input8::I8(w),
            weight_zero_points: zw,
            bias: None,
            output: OutputStage::RawI32,
            kernel: None,
        })
    };
    let e = mk(
        Conv2dDesc {
            stride: [0, 1],
            ..ok
        },
        &w,
        &[0],
    )
    .unwrap_err();
    assert!(e.to_string().contains("stride"), "{e}");
    let e = mk(
        Conv2dDesc::square(3, 1, Padding::uniform(3), 1, 4, 4),
        &w,
        &[0],
    )
    .unwrap_err();
    assert!(e.to_string().contains("padding"), "{e}");
    let e = mk(ok, &w[1..], &[0]).unwrap_err();
    assert!(e.to_string().contains("weights have"), "{e}");
    let e = mk(ok, &w, &[0, 0]).unwrap_err();
    assert!(e.to_string().contains("zero points"), "{e}");
    let e = mk(ok, &w, &[200]).unwrap_err();
    assert!(e.to_string().contains("zero point"), "{e}");
    let plan = mk(ok, &w, &[0]).unwrap();
    let par = Parallel::single();
    let mut out = vec![0i32; 4 * 4 * 4];
    let err = |input: Input8<'_>, px: usize, output: Output8<'_>| {
        plan.run(input, 1, 4, 4, px, output, &par)
            .unwrap_err()
            .to_string()
    };
    let e = err(Input8::U8(&[0u8; 10]), 4, Output8::I32(&mut out));
    assert!(e.contains("input has 10"), "{e}");
    let e = err(Input8::U8(&[0u8; 64]), 3, Output8::I32(&mut out));
    assert!(e.contains("pixel stride"), "{e}");
    let e = err(Input8::U8(&[0u8; 64]), 4, Output8::I32(&mut out[1..]));
    assert!(e.contains("output has"), "{e}");
    let e = err(Input8::U8(&[0u8; 64]), 4, Output8::U8(&mut [0u8; 64]));
    assert!(e.contains("output stage"), "{e}");
    let e = err(Input8::I8(&[0i8; 64]), 4, Output8::I32(&mut out));
    assert!(e.contains("activations"), "{e}");
    let small = mk(
        Conv2dDesc::square(3, 1, Padding::uniform(0), 1, 4, 4),
        &w,
        &[0],
    )
    .unwrap();
    let e = small
        .run(
            Input8::U8(&[0u8; 16]),
            1,
            2,
            2,
            4,
            Output8::I32(&mut out),
            &par,
        )
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn overflow_boundary() {
    // u8 x u8 with za = 0 and zw = 255 on all-zero weights: |a − za| <= 255, |w − zw| = 255:
    // each product up to 65025, so K = 33025 fits (2147450625 <= 2^31 − 1) and 33026 does not.
    let mk = |cin: usize, variant: Option<&'static Kernel>| {
        let w = vec![0u8; cin];
        QConv2d::new(QConv2dConfig {
            desc: Conv2dDesc::square(1, 1, Padding::uniform(0), 1, cin, 1),
            input_type: QType::U8,
            input_zero_point: 0,
            weights: Input8::U8(&w),
            weight_zero_points: &[255],
            bias: None,
            output: OutputStage::RawI32,
            kernel: variant,
        })
    };
    let input = vec![255u8; 33025];
    // All-zero u8 weights: w' = −128 everywhere.
    for v in exact_entries(Input8::U8(&[0])) {
        let p = mk(33025, Some(v)).unwrap();
        let mut out = [0i32; 1];
        let par = Parallel::single();
        p.run(
            Input8::U8(&input),
            1,
            1,
            1,
            33025,
            Output8::I32(&mut out),
            &par,
        )
        .unwrap();
        assert_eq!(out[0], -2147450625, "{v:?}");
    }
    assert!(matches!(
        mk(33026, None).unwrap_err(),
        ConvError::Overflow(_)
    ));
}

/// No kernel reads past the input: it ends at a guard page, pixel stride = channels, input
/// channels per group not a multiple of 4 (the strided 1x1 entry reads whole 4-byte groups, so
/// the last pixels must go to the pointer path). Fused u8 output == the i32 output requantized,
/// and the i32 output == the reference; every variant.
#[test]
fn no_read_past_the_end_of_the_input() {
    for (k, groups, cin_g, cout_g, h, w) in [
        (1, 1, 5, 45, 8, 8),
        (1, 3, 3, 80, 5, 13),
        (1, 2, 7, 33, 4, 6),
        (1, 1, 1, 9, 3, 9),
        (3, 1, 6, 20, 5, 5),
    ] {
        let desc = Conv2dDesc::square(k, 1, Padding::uniform(k / 2), groups, cin_g, cout_g);
        let (cin, cout) = (groups * cin_g, groups * cout_g);
        let mut seed = (k * 100 + cin * 10 + cout) as u64;
        let mut gi = Guarded::new(h * w * cin);
        for x in gi.bytes().iter_mut() {
            *x = lcg(&mut seed) as u8;
        }
        let wts: Vec<i8> = (0..cout * k * k * cin_g)
            // >= −127: every entry, `igemm_2x8c16__neon` included, reads through the guard.
            .map(|_| (lcg(&mut seed) as i8).max(-127))
            .collect();
        let r = Requantizer::new(RequantScheme::Fp32, 0.003, 120, QType::U8).unwrap();
        let inp32: Vec<i32> = gi.bytes().iter().map(|&v| i32::from(v)).collect();
        let w32: Vec<i32> = wts.iter().map(|&v| i32::from(v)).collect();
        let geom = ConvGeometry {
            in_h: h,
            in_w: w,
            k_h: k,
            k_w: k,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad: desc.pads_for(h, w).unwrap(),
        };
        let want = conv_i32(
            &geom,
            groups,
            cin_g,
            cout_g,
            &inp32,
            cin,
            128,
            &w32,
            &vec![0; cout],
        );
        for v in IGEMM.available() {
            let plan = |output| {
                QConv2d::new(QConv2dConfig {
                    desc,
                    input_type: QType::U8,
                    input_zero_point: 128,
                    weights: Input8::I8(&wts),
                    weight_zero_points: &[0],
                    bias: None,
                    output,
                    kernel: Some(v),
                })
                .unwrap()
            };
            let n = h * w * cout;
            let mut c32 = vec![0i32; n];
            let mut c8 = vec![0u8; n];
            let inp = Input8::U8(gi.bytes());
            plan(OutputStage::RawI32)
                .run(
                    inp,
                    1,
                    h,
                    w,
                    cin,
                    Output8::I32(&mut c32),
                    &Parallel::single(),
                )
                .unwrap();
            plan(OutputStage::PerTensor(r))
                .run(inp, 1, h, w, cin, Output8::U8(&mut c8), &Parallel::single())
                .unwrap();
            assert_eq!(c32, want, "{v:?} k{k} g{groups} cin_g{cin_g}");
            for (i, (&got, &acc)) in c8.iter().zip(&c32).enumerate() {
                assert_eq!(i32::from(got), r.requantize(acc), "{v:?} at {i}");
            }
        }
    }
}
