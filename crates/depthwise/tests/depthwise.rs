//! Every available table entry against the reference: int8 bit-exact, fp32 within 1e-6 relative
//! (of the sum of |terms|) of an f64 reference.

use cpu_probe::parallel::Parallel;
use depthwise::reference::{depthwise_f64, depthwise_i32, output_size};
use depthwise::{
    Depthwise32, DwDesc, Input8, Output8, OutputStage, QDepthwise, QDepthwiseConfig, DWCONV_F32,
    DWCONV_INT8,
};
use proptest::prelude::*;
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};
use std::sync::atomic::Ordering;

static CHECKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn lcg(s: &mut u64) -> i32 {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*s >> 33) as i32
}

/// Test values (each in the range of the type they stand for) as u8 and as i8 bytes.
fn bytes(v: &[i32]) -> (Vec<u8>, Vec<i8>) {
    v.iter().map(|&v| (v as u8, v as i8)).unzip()
}

/// `u` or `i` as a tensor of type `t`.
fn input8<'a>(t: QType, u: &'a [u8], i: &'a [i8]) -> Input8<'a> {
    if t == QType::U8 {
        Input8::U8(u)
    } else {
        Input8::I8(i)
    }
}

#[allow(clippy::too_many_arguments)]
fn check_i8(
    d: DwDesc,
    batch: usize,
    h: usize,
    w: usize,
    ops: usize,
    per_channel: bool,
    extreme: bool,
    seed: u64,
) {
    let Some((oh, ow)) = output_size(&d, h, w) else {
        return;
    };
    CHECKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (at, wt) = [
        (QType::U8, QType::U8),
        (QType::I8, QType::I8),
        (QType::U8, QType::I8),
    ][ops];
    let mut s = seed;
    let cout = d.cout();
    let n_in = batch * h * w * d.channels;
    let x: Vec<i32> = (0..n_in)
        .map(|i| {
            if extreme {
                if i % 2 == 0 {
                    at.max()
                } else {
                    at.min()
                }
            } else {
                at.min() + lcg(&mut s).rem_euclid(256)
            }
        })
        .collect();
    let wv: Vec<i32> = (0..d.taps() * cout)
        .map(|i| {
            if extreme {
                [wt.min(), wt.max(), (-127i32).max(wt.min())][i % 3]
            } else {
                wt.min() + lcg(&mut s).rem_euclid(256)
            }
        })
        .collect();
    let za = if extreme {
        if at == QType::U8 {
            0
        } else {
            -128
        }
    } else {
        at.min() + lcg(&mut s).rem_euclid(256)
    };
    let zw: Vec<i32> = (0..if per_channel { cout } else { 1 })
        .map(|_| {
            if ops == 1 || extreme {
                0
            } else {
                wt.min() + lcg(&mut s).rem_euclid(256)
            }
        })
        .collect();
    let zw_full: Vec<i32> = if zw.len() == 1 {
        vec![zw[0]; cout]
    } else {
        zw.clone()
    };
    let bias: Vec<i32> = (0..cout)
        .map(|_| lcg(&mut s).rem_euclid(2001) - 1000)
        .collect();
    let mut want = Vec::new();
    for b in 0..batch {
        want.extend(depthwise_i32(
            &d,
            h,
            w,
            &x[b * h * w * d.channels..(b + 1) * h * w * d.channels],
            za,
            &wv,
            &zw_full,
            &bias,
        ));
    }
    assert_eq!(want.len(), batch * oh * ow * cout);
    let ((xu, xi), (wu, wi)) = (bytes(&x), bytes(&wv));
    let (inp, wts) = (input8(at, &xu, &xi), input8(wt, &wu, &wi));
    let scheme = RequantScheme::ALL[(seed % 4) as usize];
    let r = Requantizer::new(scheme, 0.003, 5, QType::U8)
        .unwrap()
        .with_clamp(2, 251)
        .unwrap();
    let scales: Vec<f32> = (0..cout).map(|c| 0.001 + 0.0005 * (c % 5) as f32).collect();
    let pc = PerChannelRequantizer::new(scheme, &scales, -3, QType::I8).unwrap();
    // Per-tensor i8 output with the Fp32 scheme (fused into the AVX-512 kernels' store).
    let r8 = Requantizer::new(RequantScheme::Fp32, 0.004, -7, QType::I8)
        .unwrap()
        .with_clamp(-100, 120)
        .unwrap();
    let par = if seed.is_multiple_of(3) {
        Parallel::new(2)
    } else {
        Parallel::single()
    };
    let cfg = QDepthwiseConfig {
        desc: d,
        input_type: at,
        input_zero_point: za,
        weights: wts,
        weight_zero_points: &zw,
        bias: Some(&bias),
        output: OutputStage::RawI32,
        entry: None,
    };
    let run = |plan: &QDepthwise, y: Output8<'_>| plan.run(inp, batch, h, w, y, &par).unwrap();
    check_i8_entries(&cfg, &want, [r, r8], &pc, run);
}

/// Plans `cfg` with every available int8 entry and every output stage (raw, per-tensor `rs[0]`
/// to u8, per-channel `pc` to i8, per-tensor `rs[1]` to i8), runs each with `run` and compares
/// with the reference accumulators `want`.
fn check_i8_entries(
    cfg: &QDepthwiseConfig<'_>,
    want: &[i32],
    rs: [Requantizer; 2],
    pc: &PerChannelRequantizer,
    run: impl Fn(&QDepthwise, Output8<'_>),
) {
    let (d, cout) = (cfg.desc, cfg.desc.cout());
    let [r, r8] = rs;
    for v in DWCONV_INT8.available() {
        let vn = v.name;
        for stage in 0..4 {
            let output = match stage {
                0 => OutputStage::RawI32,
                1 => OutputStage::PerTensor(r),
                2 => OutputStage::PerChannel(pc.clone()),
                _ => OutputStage::PerTensor(r8),
            };
            let plan = QDepthwise::new(QDepthwiseConfig {
                output,
                entry: Some(v),
                ..cfg.clone()
            })
            .unwrap();
            let n = want.len();
            match stage {
                0 => {
                    let mut y = vec![0i32; n];
                    run(&plan, Output8::I32(&mut y));
                    assert_eq!(y, want, "{vn} {d:?}");
                }
                1 => {
                    let mut y = vec![0u8; n];
                    run(&plan, Output8::U8(&mut y));
                    let e: Vec<u8> = want.iter().map(|&a| r.requantize(a) as u8).collect();
                    assert_eq!(y, e, "{vn}");
                }
                2 => {
                    let mut y = vec![0i8; n];
                    run(&plan, Output8::I8(&mut y));
                    let e: Vec<i8> = want
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| pc.channel(i % cout).unwrap().requantize(a) as i8)
                        .collect();
                    assert_eq!(y, e, "{vn}");
                }
                _ => {
                    let mut y = vec![0i8; n];
                    run(&plan, Output8::I8(&mut y));
                    let e: Vec<i8> = want.iter().map(|&a| r8.requantize(a) as i8).collect();
                    assert_eq!(y, e, "{vn}");
                }
            }
        }
    }
}

fn check_f32(d: DwDesc, batch: usize, h: usize, w: usize, seed: u64) {
    check_f32_at(d, batch, h, w, seed, None);
}

/// [`check_f32`] with the input starting `skew` floats past a 64-byte boundary (`None`: where
/// the allocator puts it).
fn check_f32_at(d: DwDesc, batch: usize, h: usize, w: usize, seed: u64, skew: Option<usize>) {
    let Some((oh, ow)) = output_size(&d, h, w) else {
        return;
    };
    let mut s = seed;
    let cout = d.cout();
    let mut f = || (lcg(&mut s).rem_euclid(2001) - 1000) as f32 / 500.0;
    let n_in = batch * h * w * d.channels;
    let xbuf: Vec<f32> = (0..n_in + 16).map(|_| f()).collect();
    let at = skew.map_or(0, |k| (k * 4 + 64 - xbuf.as_ptr() as usize % 64) % 64 / 4);
    let x = &xbuf[at..at + n_in];
    let wv: Vec<f32> = (0..d.taps() * cout).map(|_| f()).collect();
    let bias: Vec<f32> = (0..cout).map(|_| f()).collect();
    let absx: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let absw: Vec<f32> = wv.iter().map(|v| v.abs()).collect();
    let absb: Vec<f32> = bias.iter().map(|v| v.abs()).collect();
    for v in DWCONV_F32.available() {
        let vn = v.name;
        for clamp in [(f32::NEG_INFINITY, f32::INFINITY), (0.0, 6.0)] {
            let plan = Depthwise32::new(d, &wv, Some(&bias), clamp, Some(v)).unwrap();
            let mut y = vec![0f32; batch * oh * ow * cout];
            plan.run(x, batch, h, w, &mut y, &Parallel::single())
                .unwrap();
            for b in 0..batch {
                let img = b * h * w * d.channels..(b + 1) * h * w * d.channels;
                let want = depthwise_f64(&d, h, w, &x[img.clone()], &wv, &bias);
                let mag = depthwise_f64(&d, h, w, &absx[img], &absw, &absb);
                for (i, (&e, &m)) in want.iter().zip(&mag).enumerate() {
                    let e = e.clamp(f64::from(clamp.0), f64::from(clamp.1));
                    let got = f64::from(y[b * oh * ow * cout + i]);
                    assert!(
                        (got - e).abs() <= 1e-6 * m + 1e-30,
                        "{vn} {d:?} {got} vs {e}"
                    );
                }
            }
        }
    }
}

fn desc() -> impl Strategy<Value = (DwDesc, usize, usize, usize)> {
    (
        1usize..=5,
        1usize..=5,
        1usize..=3,
        1usize..=2,
        prop::array::uniform4(0usize..3),
        1usize..=37,
        1usize..=3,
        1usize..=2,
        1usize..=9,
        1usize..=9,
    )
        .prop_map(|(kh, kw, s, dil, pad, c, mult, batch, h, w)| {
            let pad = [
                pad[0].min(kh - 1),
                pad[1].min(kw - 1),
                pad[2].min(kh - 1),
                pad[3].min(kw - 1),
            ];
            (
                DwDesc {
                    kernel: [kh, kw],
                    stride: [s, s],
                    dilation: [dil, dil],
                    pad,
                    channels: c,
                    multiplier: mult,
                },
                batch,
                h,
                w,
            )
        })
}

#[test]
fn proptest_compares_real_cases() {
    int8_every_variant();
    let n = CHECKED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("{n} int8 geometries compared against the reference");
    assert!(n >= 20, "only {n} geometries were compared");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(any(target_arch = "aarch64", target_arch = "arm")) { 24 } else { 96 }, ..ProptestConfig::default() })]
    #[test]
    fn int8_every_variant((d, batch, h, w) in desc(), ops in 0usize..3, pc in any::<bool>(), seed in any::<u64>()) {
        check_i8(d, batch, h, w, ops, pc, false, seed);
    }

    #[test]
    fn fp32_every_variant((d, batch, h, w) in desc(), seed in any::<u64>()) {
        check_f32(d, batch, h, w, seed);
    }
}

/// Full-range u8 with zero point 0 and weights at ±127/−128 (the case int16 kernels get wrong),
/// C = 1, odd C, stride 2 with odd sizes, 3x3, 5x5 and 7x7, every channel-tile remainder.
#[test]
fn extremes() {
    eprintln!(
        "depthwise kernels: {:?} {:?}",
        DWCONV_INT8
            .available()
            .iter()
            .map(|v| v.name)
            .collect::<Vec<_>>(),
        DWCONV_F32
            .available()
            .iter()
            .map(|v| v.name)
            .collect::<Vec<_>>()
    );
    for (k, s, c, h) in [
        (3, 1, 1, 5),
        (3, 2, 17, 7),
        (5, 1, 33, 9),
        (5, 2, 144, 11),
        (3, 1, 96, 3),
        // Channel tiles: 32 + 16, 32 + 8 (16-wide tails), 240 = 7·32 + 16; 7x7 (49 taps) takes
        // the generic kernels.
        (3, 1, 48, 6),
        (5, 1, 40, 7),
        (3, 2, 240, 5),
        (7, 1, 19, 9),
    ] {
        for ops in 0..3 {
            let d = DwDesc::new([k, k], [s, s], [k / 2; 4], c, 1);
            check_i8(d, 1, h, h, ops, false, true, 7 + ops as u64);
            check_f32(d, 1, h, h, 11);
        }
    }
}

/// fp32 with the input at every offset within a cache line (the AVX-512 kernels tile the
/// channels by the input's alignment), rows long enough for every pixel block (8, 4, 1), stride
/// 1 (the column-reusing kernel) and 2, 3x3, 5x5 and a generic 3x2.
#[test]
fn fp32_every_alignment() {
    for skew in 0..16 {
        for (k, s, c, w) in [
            ([3, 3], 1, 144, 21),
            ([3, 3], 1, 19, 13),
            ([5, 5], 1, 32, 14),
            ([3, 2], 1, 17, 12),
            ([3, 3], 2, 48, 23),
            ([3, 3], 1, 1, 9),
        ] {
            let d = DwDesc::new(k, [s, s], [1, k[1] / 2, 1, k[1] / 2], c, 1);
            check_f32_at(d, 2, 4, w, 5 + skew as u64, Some(skew));
            let d = DwDesc::new(k, [s, s], [0; 4], c, 2);
            check_f32_at(d, 1, 5, w, 9 + skew as u64, Some(skew));
        }
    }
}

/// How many plans of [`fused_stride1_exact`] ran `dwconv_c16_mla8_fp32__neon`.
static MLA8_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The fused per-tensor Fp32 path with stride 1 or 2 along W (on AVX-512 VNNI the `vpdpbusd`
/// kernel, which takes 3x3 and 5x5 with 8-bit `w'`): u8 and i8 activations (full range, zero point at the
/// ends), s8 weights at ±127/−128 and u8 weights with zero point 128, u8 and i8 outputs with
/// clamps, scales small to 200 (accumulators far past the clamp), channel counts around the
/// 64-channel tile, rows long enough for every pixel block.
#[test]
fn fused_stride1_exact() {
    let mut seed = 99u64;
    for (k, sw, c, h, w) in [
        (3, 1, 144, 3, 13),
        (3, 1, 1, 4, 6),
        (3, 1, 63, 3, 9),
        (3, 1, 65, 2, 7),
        (5, 1, 240, 5, 11),
        (5, 1, 16, 6, 6),
        (5, 1, 97, 3, 9),
        (3, 2, 96, 3, 19),
        (3, 2, 33, 4, 12),
        (5, 2, 130, 5, 22),
        (5, 2, 7, 3, 8),
    ] {
        for (at, wt, wzp) in [
            (QType::U8, QType::I8, 0),
            (QType::I8, QType::I8, 0),
            (QType::U8, QType::U8, 128),
        ] {
            for extreme in [false, true] {
                let d = DwDesc::new([k, k], [1, sw], [k / 2; 4], c, 1);
                let n_in = h * w * c;
                let x: Vec<i32> = (0..n_in)
                    .map(|i| match (extreme, i % 3) {
                        (true, 0) => at.min(),
                        (true, _) => at.max(),
                        _ => at.min() + lcg(&mut seed).rem_euclid(256),
                    })
                    .collect();
                let wv: Vec<i32> = (0..k * k * c)
                    .map(|i| match (extreme, i % 3) {
                        (true, 0) => (wzp - 128).max(wt.min()),
                        (true, 1) => wzp + 127,
                        (true, _) => wzp - 127,
                        _ => wzp - 128 + lcg(&mut seed).rem_euclid(256),
                    })
                    .collect();
                let za = match (extreme, at) {
                    (true, QType::U8) => 0,
                    (true, _) => -128,
                    _ => at.min() + lcg(&mut seed).rem_euclid(256),
                };
                let bias: Vec<i32> = (0..c)
                    .map(|_| lcg(&mut seed).rem_euclid(20001) - 10000)
                    .collect();
                let want = depthwise_i32(&d, h, w, &x, za, &wv, &vec![wzp; c], &bias);
                let ((xu, xi), (wu, wi)) = (bytes(&x), bytes(&wv));
                let (inp, wts) = (input8(at, &xu, &xi), input8(wt, &wu, &wi));
                for scale in [0.0003f32, 0.011, 200.0] {
                    for signed_out in [false, true] {
                        let r = if signed_out {
                            Requantizer::new(RequantScheme::Fp32, scale, -7, QType::I8)
                                .unwrap()
                                .with_clamp(-100, 120)
                        } else {
                            Requantizer::new(RequantScheme::Fp32, scale, 5, QType::U8)
                                .unwrap()
                                .with_clamp(2, 251)
                        }
                        .unwrap();
                        for v in DWCONV_INT8.available() {
                            let vn = v.name;
                            let plan = QDepthwise::new(QDepthwiseConfig {
                                desc: d,
                                input_type: at,
                                input_zero_point: za,
                                weights: wts,
                                weight_zero_points: &[wzp],
                                bias: Some(&bias),
                                output: OutputStage::PerTensor(r),
                                entry: Some(v),
                            })
                            .unwrap();
                            // ARMv8.0 NEON: the 8-bit pair kernel whenever every w' >= -127.
                            if vn == "dwconv_c16__neon" {
                                let pairs = wv.iter().all(|&v| v - wzp >= -127);
                                let mla8 = plan.name() == "dwconv_c16_mla8_fp32__neon";
                                assert_eq!(mla8, pairs, "{vn} chose {}", plan.name());
                                MLA8_RUNS.fetch_add(usize::from(mla8), Ordering::Relaxed);
                            }
                            let e: Vec<i32> = want.iter().map(|&a| r.requantize(a)).collect();
                            let got: Vec<i32> = if signed_out {
                                let mut y = vec![0i8; e.len()];
                                plan.run(inp, 1, h, w, Output8::I8(&mut y), &Parallel::single())
                                    .unwrap();
                                y.iter().map(|&v| i32::from(v)).collect()
                            } else {
                                let mut y = vec![0u8; e.len()];
                                plan.run(inp, 1, h, w, Output8::U8(&mut y), &Parallel::single())
                                    .unwrap();
                                y.iter().map(|&v| i32::from(v)).collect()
                            };
                            assert_eq!(
                                got, e,
                                "{vn} {d:?} {at:?}x{wt:?} extreme {extreme} scale {scale}"
                            );
                        }
                    }
                }
            }
        }
    }
    if cfg!(target_arch = "aarch64") {
        let runs = MLA8_RUNS.load(Ordering::Relaxed);
        eprintln!("dwconv_c16_mla8_fp32__neon ran {runs} plans");
        assert!(runs > 0);
    }
}

#[test]
fn errors_name_the_problem() {
    let d = DwDesc::new([3, 3], [1, 1], [1; 4], 4, 1);
    let w = [0i8; 36];
    let cfg = QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 0,
        weights: Input8::I8(&w),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::RawI32,
        entry: None,
    };
    assert!(QDepthwise::new(QDepthwiseConfig {
        weights: Input8::I8(&w[1..]),
        ..cfg.clone()
    })
    .unwrap_err()
    .to_string()
    .contains("weights have"));
    assert!(QDepthwise::new(QDepthwiseConfig {
        desc: DwDesc {
            stride: [0, 1],
            ..d
        },
        ..cfg.clone()
    })
    .unwrap_err()
    .to_string()
    .contains("stride"));
    assert!(QDepthwise::new(QDepthwiseConfig {
        weight_zero_points: &[0, 0],
        ..cfg.clone()
    })
    .unwrap_err()
    .to_string()
    .contains("zero points"));
    let p = QDepthwise::new(cfg).unwrap();
    let mut y = [0i32; 64];
    let e = p
        .run(
            Input8::U8(&[0u8; 63]),
            1,
            4,
            4,
            Output8::I32(&mut y),
            &Parallel::single(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("input has 63"), "{e}");
    let e = p
        .run(
            Input8::U8(&[0u8; 64]),
            1,
            4,
            4,
            Output8::U8(&mut [0u8; 64]),
            &Parallel::single(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("output stage"), "{e}");
    assert!(Depthwise32::new(d, &[0.0; 36], None, (1.0, 0.0), None)
        .unwrap_err()
        .to_string()
        .contains("clamp"));
    let small = DwDesc::new([3, 3], [1, 1], [0; 4], 4, 1);
    let f = Depthwise32::new(
        small,
        &[0.0; 36],
        None,
        (f32::NEG_INFINITY, f32::INFINITY),
        None,
    )
    .unwrap();
    assert!(f
        .run(&[0.0; 16], 1, 2, 2, &mut [], &Parallel::single())
        .unwrap_err()
        .to_string()
        .contains("smaller"));
}
