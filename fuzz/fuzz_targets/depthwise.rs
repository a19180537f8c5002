#![no_main]
//! `depthwise::{QDepthwise, Depthwise32}::new` + `run` with arbitrary geometry (kernel, stride,
//! dilation, 4-sided padding, channels, multiplier: full `usize` range, mostly small), zero
//! points, bias, output stages and clamps, batch, 1 or 2 threads, every available variant.
//!
//! Oracles: `Ok` only for valid calls (weight, input and output lengths checked here with checked
//! arithmetic); for small problems the int8 output equals `depthwise::reference::depthwise_i32`
//! requantized by `Requantizer::requantize` bit for bit, and the fp32 output equals
//! `depthwise::reference::depthwise_f64` clamped with NaN propagating (DESIGN.md rule 5) within
//! `(taps + 2) · 2^-23 · Σ|w·x|` per output.

use arbitrary::{Arbitrary, Result, Unstructured};
use depthwise::{
    Depthwise32, DwDesc, Input8, Output8, OutputStage, QDepthwise, QDepthwiseConfig, DWCONV_F32,
    DWCONV_INT8,
};
use libfuzzer_sys::fuzz_target;
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

fn input8<'a>(t: QType, bytes: &'a [u8], signed: &'a mut Vec<i8>) -> Input8<'a> {
    match t {
        QType::U8 => Input8::U8(bytes),
        QType::I8 => {
            *signed = bytes.iter().map(|&b| b as i8).collect();
            Input8::I8(signed)
        }
    }
}

/// Output `(oh, ow)` checked; `None` on overflow or an empty output.
fn out_size(d: &DwDesc, in_h: usize, in_w: usize) -> Option<(usize, usize)> {
    let dim = |input: usize, k: usize, s: usize, dil: usize, p0: usize, p1: usize| {
        if k == 0 || s == 0 || dil == 0 {
            return None;
        }
        let ext = dil.checked_mul(k - 1)?.checked_add(1)?;
        let padded = input.checked_add(p0)?.checked_add(p1)?;
        (padded >= ext).then(|| (padded - ext) / s + 1)
    };
    Some((
        dim(
            in_h,
            d.kernel[0],
            d.stride[0],
            d.dilation[0],
            d.pad[0],
            d.pad[2],
        )?,
        dim(
            in_w,
            d.kernel[1],
            d.stride[1],
            d.dilation[1],
            d.pad[1],
            d.pad[3],
        )?,
    ))
}

fn desc(u: &mut Unstructured<'_>) -> Result<DwDesc> {
    Ok(DwDesc {
        kernel: [mix::size1(u, 5)?, mix::size1(u, 5)?],
        stride: [mix::size1(u, 3)?, mix::size1(u, 3)?],
        dilation: [mix::size1(u, 2)?, mix::size1(u, 2)?],
        pad: [
            mix::size(u, 3)?,
            mix::size(u, 3)?,
            mix::size(u, 3)?,
            mix::size(u, 3)?,
        ],
        channels: mix::size1(u, 40)?,
        multiplier: mix::size1(u, 3)?,
    })
}

/// Run-time sizes and the lengths the call needs.
struct Run {
    batch: usize,
    in_h: usize,
    in_w: usize,
    need_in: Option<usize>,
    wrap_in: usize,
    out: Option<(usize, usize)>,
    need_out: Option<usize>,
    wrap_out: usize,
}

fn run_sizes(u: &mut Unstructured<'_>, d: &DwDesc, cout: usize) -> Result<Run> {
    let batch = mix::size(u, 2)?;
    let in_h = mix::size(u, 10)?;
    let in_w = mix::size(u, 10)?;
    let out = out_size(d, in_h, in_w);
    let (oh, ow) = out.unwrap_or((0, 0));
    Ok(Run {
        batch,
        in_h,
        in_w,
        need_in: mix::prod(&[batch, in_h, in_w, d.channels]),
        wrap_in: mix::wprod(&[batch, in_h, in_w, d.channels]),
        out,
        need_out: out.and_then(|(oh, ow)| mix::prod(&[batch, oh, ow, cout])),
        wrap_out: mix::wprod(&[batch, oh, ow, cout]),
    })
}

/// Asserts that an accepted run was valid; returns `(oh, ow)`.
fn check_accepted(d: &DwDesc, r: &Run, in_len: usize, out_len: usize) -> (usize, usize) {
    let (b, h, w) = (r.batch, r.in_h, r.in_w);
    match r.need_in {
        Some(n) => assert!(
            in_len >= n,
            "run accepted an input of {in_len}; {b}x{h}x{w}x{} needs {n}",
            d.channels
        ),
        None => panic!(
            "run accepted {b}x{h}x{w}x{} (overflows usize), input of {in_len}",
            d.channels
        ),
    }
    let Some((oh, ow)) = r.out else {
        panic!("run accepted {d:?} on {h}x{w}: no valid output size");
    };
    match r.need_out {
        Some(n) => assert_eq!(
            out_len,
            n,
            "run accepted an output of {out_len}; {b}x{oh}x{ow}x{} is {n}",
            d.cout()
        ),
        None => panic!(
            "run accepted {b}x{oh}x{ow}x{} (overflows usize), output of {out_len}",
            d.cout()
        ),
    }
    (oh, ow)
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let d = desc(u)?;
    // An entry of the chosen table (int8 or f32), or the best one (None).
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(usize::from(v)),
    };
    if bool::arbitrary(u)? {
        run_q8(u, d, variant)
    } else {
        run_f32(u, d, variant)
    }
}

enum Stage {
    Tensor(Requantizer, QType),
    Channel(PerChannelRequantizer, QType),
    Raw,
}

fn run_q8(u: &mut Unstructured<'_>, d: DwDesc, variant: Option<usize>) -> Result<()> {
    let available = DWCONV_INT8.available();
    let variant = variant.map(|v| available[v % available.len()]);
    let cout = d.channels.checked_mul(d.multiplier);
    let taps = d.kernel[0].checked_mul(d.kernel[1]);
    let w_need = mix::prod(&[d.kernel[0], d.kernel[1], d.channels, d.multiplier]);
    let w_wrap = mix::wprod(&[d.kernel[0], d.kernel[1], d.channels, d.multiplier]);
    let w_len = mix::buf_len::<u8>(u, w_need, w_wrap)?;
    let w_bytes = mix::bytes(u, w_len);
    let mut w_signed = Vec::new();
    let in_t = qtype(u)?;
    let weights = input8(qtype(u)?, &w_bytes, &mut w_signed);
    let in_zp = mix::zero_point(u)?;
    let small_cout = cout.filter(|&c| c <= 160);
    let w_zps: Vec<i32> = match (u8::arbitrary(u)? % 4, small_cout) {
        (0, Some(c)) => mix::fill(u, c, |u| mix::zero_point(u))?,
        (1, _) => vec![0; usize::from(u8::arbitrary(u)? % 3) * 2],
        _ => vec![mix::zero_point(u)?],
    };
    let bias: Option<Vec<i32>> = match (u8::arbitrary(u)? % 4, small_cout) {
        (0, Some(c)) => Some(mix::fill(u, c, |u| {
            Ok(i32::from(i16::arbitrary(u)?) * i32::from(u8::arbitrary(u)? % 4))
        })?),
        (1, _) => Some(vec![0; usize::from(u8::arbitrary(u)? % 5)]),
        _ => None,
    };
    let out_t = qtype(u)?;
    let stage = match u8::arbitrary(u)? % 4 {
        0 => Stage::Raw,
        1 => {
            let ch = match small_cout {
                Some(c) if u8::arbitrary(u)? < 240 => c,
                _ => usize::from(u8::arbitrary(u)? % 8),
            };
            let scales = mix::fill(u, ch, |u| mix::scale(u))?;
            let Ok(p) = PerChannelRequantizer::new(scheme(u)?, &scales, mix::zero_point(u)?, out_t)
            else {
                return Ok(());
            };
            let p = if u8::arbitrary(u)? < 64 {
                match p.with_clamp(mix::zero_point(u)?, mix::zero_point(u)?) {
                    Ok(p) => p,
                    Err(_) => return Ok(()),
                }
            } else {
                p
            };
            Stage::Channel(p, out_t)
        }
        _ => {
            let Ok(r) = Requantizer::new(scheme(u)?, mix::scale(u)?, mix::zero_point(u)?, out_t)
            else {
                return Ok(());
            };
            let r = if u8::arbitrary(u)? < 64 {
                match r.with_clamp(mix::zero_point(u)?, mix::zero_point(u)?) {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            } else {
                r
            };
            Stage::Tensor(r, out_t)
        }
    };
    trace!("QDepthwise::new({d:?}, {in_t:?} zp {in_zp}, weights of {w_len}, w zps {w_zps:?}, bias {:?}, {:?})", bias.as_ref().map(Vec::len), variant.map(|e| e.name));
    let plan = QDepthwise::new(QDepthwiseConfig {
        desc: d,
        input_type: in_t,
        input_zero_point: in_zp,
        weights,
        weight_zero_points: &w_zps,
        bias: bias.as_deref(),
        output: match &stage {
            Stage::Tensor(r, _) => OutputStage::PerTensor(*r),
            Stage::Channel(p, _) => OutputStage::PerChannel(p.clone()),
            Stage::Raw => OutputStage::RawI32,
        },
        entry: variant,
    });
    let Ok(plan) = plan else { return Ok(()) };
    let (Some(cout), Some(taps), Some(w_need)) = (cout, taps, w_need) else {
        panic!("QDepthwise::new accepted {d:?} whose sizes overflow usize");
    };
    assert_eq!(
        w_len, w_need,
        "QDepthwise::new accepted {w_len} weights for {d:?}"
    );
    assert!(
        w_zps.len() == 1 || w_zps.len() == cout,
        "QDepthwise::new accepted {} zero points",
        w_zps.len()
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            cout,
            "QDepthwise::new accepted a bias of {} for {cout} channels",
            b.len()
        );
    }

    for _ in 0..1 + u8::arbitrary(u)? % 2 {
        let r = run_sizes(u, &d, cout)?;
        let run_t = if u8::arbitrary(u)? < 240 {
            in_t
        } else {
            qtype(u)?
        };
        let in_len = mix::buf_len::<u8>(u, r.need_in, r.wrap_in)?;
        let in_bytes = mix::bytes(u, in_len);
        let mut in_signed = Vec::new();
        let input = input8(run_t, &in_bytes, &mut in_signed);
        let out_kind = match (&stage, u8::arbitrary(u)? < 240) {
            (Stage::Raw, true) => 2,
            (Stage::Tensor(_, t) | Stage::Channel(_, t), true) => usize::from(*t == QType::I8),
            _ => usize::from(u8::arbitrary(u)? % 3),
        };
        let out_len = if out_kind == 2 {
            mix::buf_len::<i32>(u, r.need_out, r.wrap_out)?
        } else {
            mix::buf_len::<u8>(u, r.need_out, r.wrap_out)?
        };
        let mut o8 = vec![0u8; if out_kind < 2 { out_len } else { 0 }];
        let mut o32 = vec![0i32; if out_kind == 2 { out_len } else { 0 }];
        let output = match out_kind {
            0 => Output8::U8(&mut o8),
            // SAFETY: u8 and i8 have the same layout and validity.
            1 => Output8::I8(unsafe { &mut *(o8.as_mut_slice() as *mut [u8] as *mut [i8]) }),
            _ => Output8::I32(&mut o32),
        };
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!("run({run_t:?} input of {in_len}, batch {}, {}x{}, output of {out_len} kind {out_kind})", r.batch, r.in_h, r.in_w);
        if plan
            .run(input, r.batch, r.in_h, r.in_w, output, par)
            .is_err()
        {
            continue;
        }
        assert_eq!(
            run_t, in_t,
            "run accepted {run_t:?} input for a {in_t:?} plan"
        );
        let (oh, ow) = check_accepted(&d, &r, in_len, out_len);

        let img_in = r.in_h * r.in_w * d.channels;
        let img_out = oh * ow * cout;
        if mix::prod(&[r.batch, img_out, taps]).is_none_or(|w| w > 1 << 20) || img_out == 0 {
            continue;
        }
        let zw: Vec<i32> = if w_zps.len() == 1 {
            vec![w_zps[0]; cout]
        } else {
            w_zps.clone()
        };
        let b0 = bias.clone().unwrap_or_else(|| vec![0; cout]);
        for b in 0..r.batch {
            let x = b * img_in..(b + 1) * img_in;
            let acc = match (input, weights) {
                (Input8::U8(i), Input8::U8(w)) => depthwise::reference::depthwise_i32(
                    &d, r.in_h, r.in_w, &i[x], in_zp, w, &zw, &b0,
                ),
                (Input8::U8(i), Input8::I8(w)) => depthwise::reference::depthwise_i32(
                    &d, r.in_h, r.in_w, &i[x], in_zp, w, &zw, &b0,
                ),
                (Input8::I8(i), Input8::U8(w)) => depthwise::reference::depthwise_i32(
                    &d, r.in_h, r.in_w, &i[x], in_zp, w, &zw, &b0,
                ),
                (Input8::I8(i), Input8::I8(w)) => depthwise::reference::depthwise_i32(
                    &d, r.in_h, r.in_w, &i[x], in_zp, w, &zw, &b0,
                ),
            };
            for (i, &want) in acc.iter().enumerate() {
                let co = i % cout;
                let at = b * img_out + i;
                let (got, want) = match &stage {
                    Stage::Raw => (o32[at], want),
                    Stage::Tensor(rq, t) => (byte(o8[at], *t), rq.requantize(want)),
                    Stage::Channel(p, t) => {
                        (byte(o8[at], *t), p.channel(co).unwrap().requantize(want))
                    }
                };
                assert_eq!(got, want, "image {b} output {i} (channel {co}): kernel {got}, reference {want}; {d:?} on {}x{}, {:?}", r.in_h, r.in_w, plan.name());
            }
        }
    }
    Ok(())
}

fn byte(v: u8, t: QType) -> i32 {
    match t {
        QType::U8 => i32::from(v),
        QType::I8 => i32::from(v as i8),
    }
}

fn run_f32(u: &mut Unstructured<'_>, d: DwDesc, variant: Option<usize>) -> Result<()> {
    let available = DWCONV_F32.available();
    let variant = variant.map(|v| available[v % available.len()]);
    let cout = d.channels.checked_mul(d.multiplier);
    let taps = d.kernel[0].checked_mul(d.kernel[1]);
    let w_need = mix::prod(&[d.kernel[0], d.kernel[1], d.channels, d.multiplier]);
    let w_wrap = mix::wprod(&[d.kernel[0], d.kernel[1], d.channels, d.multiplier]);
    // Differential inputs: grid values, NaN only in the input and bias (a NaN weight at a padded
    // tap is a case the reference, which skips padded taps, does not define).
    let nan = u8::arbitrary(u)? < 64;
    let w_len = mix::buf_len::<f32>(u, w_need, w_wrap)?;
    let weights = mix::floats(u, w_len, false, false);
    let bias: Option<Vec<f32>> = match (u8::arbitrary(u)? % 4, cout.filter(|&c| c <= 160)) {
        (0, Some(c)) => Some(mix::fill(u, c, |u| mix::value(u, nan, true))?),
        (1, _) => Some(vec![0.0; usize::from(u8::arbitrary(u)? % 5)]),
        _ => None,
    };
    let clamp = match u8::arbitrary(u)? % 8 {
        0 => (0.0, f32::INFINITY),
        1 => (0.0, 6.0),
        2 => (mix::value(u, true, false)?, mix::value(u, true, false)?),
        3 => (-1.0, 1.0),
        _ => (f32::NEG_INFINITY, f32::INFINITY),
    };
    trace!(
        "Depthwise32::new({d:?}, weights of {w_len}, bias {:?}, clamp {clamp:?}, {:?})",
        bias.as_ref().map(Vec::len),
        variant.map(|e| e.name)
    );
    let plan = Depthwise32::new(d, &weights, bias.as_deref(), clamp, variant);
    let Ok(plan) = plan else { return Ok(()) };
    let (Some(cout), Some(taps), Some(w_need)) = (cout, taps, w_need) else {
        panic!("Depthwise32::new accepted {d:?} whose sizes overflow usize");
    };
    assert_eq!(
        w_len, w_need,
        "Depthwise32::new accepted {w_len} weights for {d:?}"
    );
    assert!(
        !clamp.0.is_nan() && !clamp.1.is_nan() && clamp.0 <= clamp.1,
        "Depthwise32::new accepted clamp {clamp:?}"
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            cout,
            "Depthwise32::new accepted a bias of {} for {cout} channels",
            b.len()
        );
    }

    for _ in 0..1 + u8::arbitrary(u)? % 2 {
        let r = run_sizes(u, &d, cout)?;
        let in_len = mix::buf_len::<f32>(u, r.need_in, r.wrap_in)?;
        let input = mix::floats(u, in_len, nan, true);
        let out_len = mix::buf_len::<f32>(u, r.need_out, r.wrap_out)?;
        let mut output = vec![0f32; out_len];
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!(
            "run(input of {in_len}, batch {}, {}x{}, output of {out_len})",
            r.batch,
            r.in_h,
            r.in_w
        );
        if plan
            .run(&input, r.batch, r.in_h, r.in_w, &mut output, par)
            .is_err()
        {
            continue;
        }
        let (oh, ow) = check_accepted(&d, &r, in_len, out_len);

        let img_in = r.in_h * r.in_w * d.channels;
        let img_out = oh * ow * cout;
        if mix::prod(&[r.batch, img_out, taps]).is_none_or(|w| w > 1 << 20) || img_out == 0 {
            continue;
        }
        let b0 = bias.clone().unwrap_or_else(|| vec![0.0; cout]);
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<f32>>();
        let (w_abs, b_abs) = (abs(&weights), abs(&b0));
        for b in 0..r.batch {
            let x = &input[b * img_in..(b + 1) * img_in];
            let want = depthwise::reference::depthwise_f64(&d, r.in_h, r.in_w, x, &weights, &b0);
            let mag =
                depthwise::reference::depthwise_f64(&d, r.in_h, r.in_w, &abs(x), &w_abs, &b_abs);
            for (i, (&w, &m)) in want.iter().zip(&mag).enumerate() {
                let got = output[b * img_out + i];
                let w = mix::clamp_nan(w, clamp.0, clamp.1);
                let tol = (taps + 2) as f64 * f64::from(f32::EPSILON) * m;
                assert!(
                    mix::close(got, w, tol),
                    "image {b} output {i} (channel {}): kernel {got}, reference {w} (clamp {clamp:?}); {d:?} on {}x{}, {:?}",
                    i % cout,
                    r.in_h,
                    r.in_w,
                    plan.name()
                );
            }
        }
    }
    Ok(())
}
