#![no_main]
//! `winograd::WinogradConv` (fp32, NCHW, every tile size, activations, chunk sizes) and
//! `winograd::int8::WinogradInt8` (NHWC, F(2x2,3x3) exact) with arbitrary channels, padding,
//! batch, image sizes and pixel strides (full `usize` range, mostly small), zero points, output
//! stages, 1 or 2 threads and every available variant.
//!
//! Oracles: `Ok` only for valid calls (lengths checked here with checked arithmetic; output
//! elements past the needed length untouched); for small problems the fp32 output equals
//! `winograd::reference::conv3x3_f64` clamped with NaN propagating (DESIGN.md rule 5) within
//! `2e-4 · (max Σ|w·x| + max_k Σ|w| · max|x|)` (a NaN in the input may also spread to the other outputs of its tile), and
//! the int8 output equals the direct-convolution reference (`qconv_direct::reference::conv_i32`,
//! + bias, requantized by `Requantizer::requantize`) bit for bit.

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};
use winograd::int8::{
    self, Conv2dDesc, Input8 as Tensor8, Int8Config, OutputStage, Padding, WinogradInt8,
};
use winograd::{Activation, Tile, WinogradConfig, WinogradConv};

#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if bool::arbitrary(&mut u).unwrap_or(false) {
        run_f32(&mut u)
    } else {
        run_i8(&mut u)
    };
});

fn pads(u: &mut Unstructured<'_>) -> Result<[usize; 4]> {
    Ok([
        mix::size(u, 2)?,
        mix::size(u, 2)?,
        mix::size(u, 2)?,
        mix::size(u, 2)?,
    ])
}

/// `(oh, ow)` of a 3x3 stride-1 convolution, checked; `None` if empty or overflowing.
fn out_size(h: usize, w: usize, p: [usize; 4]) -> Option<(usize, usize)> {
    let ph = h.checked_add(p[0])?.checked_add(p[2])?;
    let pw = w.checked_add(p[1])?.checked_add(p[3])?;
    (h > 0 && w > 0 && ph >= 3 && pw >= 3).then(|| (ph - 2, pw - 2))
}

fn run_f32(u: &mut Unstructured<'_>) -> Result<()> {
    let c = mix::size1(u, 12)?;
    let k = mix::size1(u, 20)?;
    let padding = pads(u)?;
    let k_need = mix::prod(&[k, c, 9]);
    let k_len = mix::buf_len::<f32>(u, k_need, mix::wprod(&[k, c, 9]))?;
    let specials = u8::arbitrary(u)? >= 250;
    let kernel = mix::floats(u, k_len, specials, false);
    let nan = u8::arbitrary(u)? < 64;
    let bias: Option<Vec<f32>> = match u8::arbitrary(u)? % 4 {
        0 if k <= 64 => Some(mix::floats(u, k, false, false)),
        1 => Some(vec![0.0; usize::from(u8::arbitrary(u)? % 4)]),
        _ => None,
    };
    let activation = match u8::arbitrary(u)? % 6 {
        0 => Activation::Relu,
        1 => Activation::Clamp { min: 0.0, max: 6.0 },
        2 => Activation::Clamp {
            min: mix::value(u, true, false)?,
            max: mix::value(u, true, false)?,
        },
        _ => Activation::None,
    };
    let tile = [Tile::F6x6, Tile::F4x4, Tile::F2x2, Tile::Auto][usize::from(u8::arbitrary(u)? % 4)];
    let available = winograd::ukernel::TGEMM.available();
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(available[usize::from(v) % available.len()]),
    };
    let hint = if bool::arbitrary(u)? {
        Some([mix::size(u, 16)?, mix::size(u, 16)?])
    } else {
        None
    };
    let chunk_tiles = match u8::arbitrary(u)? {
        0..=199 => None,
        200..=239 => Some(32 * (1 + usize::from(u8::arbitrary(u)? % 4))),
        _ => Some(mix::size(u, 64)?),
    };
    let cfg = WinogradConfig {
        bias: bias.as_deref(),
        padding,
        tile,
        activation,
        kernels: variant,
        input_size_hint: hint,
        chunk_tiles,
        ..WinogradConfig::new(c, k, &kernel)
    };
    trace!("WinogradConv::new(c {c}, k {k}, kernel of {k_len}, bias {:?}, padding {padding:?}, {tile:?}, {activation:?}, {:?}, hint {hint:?}, chunk {chunk_tiles:?})", bias.as_ref().map(Vec::len), variant.map(|e| e.name));
    trace!("  kernel {:?}", &kernel[..kernel.len().min(36)]);
    let Ok(plan) = WinogradConv::new(cfg) else {
        return Ok(());
    };
    let Some(k_need) = k_need else {
        panic!("WinogradConv::new accepted {k}x{c}x3x3 (overflows usize)");
    };
    assert_eq!(
        k_len, k_need,
        "WinogradConv::new accepted a kernel of {k_len} for {k}x{c}x3x3"
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            k,
            "WinogradConv::new accepted a bias of {} for {k} channels",
            b.len()
        );
    }
    let (lo, hi) = match activation {
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::Clamp { min, max } => (min, max),
        _ => (f32::NEG_INFINITY, f32::INFINITY),
    };
    assert!(
        !lo.is_nan() && !hi.is_nan() && lo <= hi,
        "WinogradConv::new accepted clamp [{lo}, {hi}]"
    );

    for _ in 0..1 + u8::arbitrary(u)? % 2 {
        let batch = mix::size(u, 2)?;
        let h = mix::size(u, 14)?;
        let w = mix::size(u, 14)?;
        let out = out_size(h, w, padding);
        let (oh, ow) = out.unwrap_or((0, 0));
        let in_need = mix::prod(&[batch, c, h, w]);
        let out_need = out.and_then(|_| mix::prod(&[batch, k, oh, ow]));
        let in_len = mix::buf_len::<f32>(u, in_need, mix::wprod(&[batch, c, h, w]))?;
        let input = mix::floats(u, in_len, nan, true);
        let extra = usize::from(u8::arbitrary(u)? % 3);
        let out_len = mix::buf_len::<f32>(u, out_need, mix::wprod(&[batch, k, oh, ow]))?
            .saturating_add(extra);
        const S: u32 = 0x7fc0_dead;
        let mut output = vec![f32::from_bits(S); out_len];
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!("run(input of {in_len}, batch {batch}, {h}x{w}, output of {out_len})");
        trace!("  input {:?}", &input[..input.len().min(36)]);
        if plan.run(&input, batch, h, w, &mut output, par).is_err() {
            continue;
        }
        let Some(in_need) = in_need else {
            panic!("run accepted {batch}x{c}x{h}x{w} (overflows usize)");
        };
        assert!(
            in_len >= in_need,
            "run accepted an input of {in_len}; {batch}x{c}x{h}x{w} needs {in_need}"
        );
        let Some(out_need) = out_need else {
            panic!("run accepted {batch}x{k} on {h}x{w} padding {padding:?}: no valid output size");
        };
        assert!(
            out_len >= out_need,
            "run accepted an output of {out_len}; {batch}x{k}x{oh}x{ow} needs {out_need}"
        );
        assert!(
            output[out_need..].iter().all(|v| v.to_bits() == S),
            "run wrote past the {out_need} output elements"
        );
        if mix::prod(&[out_need, c, 9]).is_none_or(|x| x > 1 << 20) || out_need == 0 {
            continue;
        }
        // Huge kernel values (finite, so accepted) overflow f32 inside the transforms where the
        // f64 reference does not: compare only tame kernels.
        // Subnormal ones lose their precision in any f32 arithmetic.
        if !kernel
            .iter()
            .all(|&v| v == 0.0 || (0.0625..=8.0).contains(&v.abs()))
        {
            continue;
        }
        let (want, _, _) = winograd::reference::conv3x3_f64(
            &input[..in_need],
            batch,
            c,
            h,
            w,
            &kernel,
            bias.as_deref(),
            k,
            padding,
            f32::NEG_INFINITY,
            f32::INFINITY,
        )
        .expect("the plan ran, so the reference geometry is valid");
        let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<f32>>();
        let (mag, _, _) = winograd::reference::conv3x3_f64(
            &abs(&input[..in_need]),
            batch,
            c,
            h,
            w,
            &abs(&kernel),
            bias.as_ref().map(|b| abs(b)).as_deref(),
            k,
            padding,
            f32::NEG_INFINITY,
            f32::INFINITY,
        )
        .expect("the plan ran, so the reference geometry is valid");
        let max_mag = mag
            .iter()
            .copied()
            .filter(|m| m.is_finite() && *m >= 0.0)
            .fold(0.0f64, f64::max);
        let any_nan = input[..in_need].iter().any(|v| v.is_nan());
        // Winograd's rounding error grows with the whole tile (the transforms mix every kernel
        // coefficient with every input of the tile, padding included), not only with the terms
        // of one output: bound it by max_k Σ|w| · max|x| as well as by the outputs' magnitudes.
        let w_sum = kernel
            .chunks(c * 9)
            .map(|kk| kk.iter().map(|v| f64::from(v.abs())).sum::<f64>())
            .fold(0.0f64, f64::max);
        let x_max = input[..in_need]
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
        let tol = 2e-4 * (max_mag + w_sum * x_max);
        for (i, (&wv, &m)) in want.iter().zip(&mag).enumerate() {
            let got = output[i];
            // The reference clamps with f64::max/min even for (-inf, inf), which turns NaN into
            // -inf: a NaN among an output's inputs shows as a magnitude that is not >= 0.
            let wv = if m >= 0.0 {
                mix::clamp_nan(wv, lo, hi)
            } else {
                f64::NAN
            };
            if wv.is_finite() && got.is_nan() && any_nan {
                continue; // a NaN elsewhere in the same Winograd tile
            }
            assert!(
                mix::close(got, wv, tol),
                "output {i}: kernel {got}, reference {wv} (tolerance {tol:e}, clamp [{lo}, {hi}]); c {c} k {k} on {batch}x{h}x{w} padding {padding:?}, {:?} {:?}",
                plan.tile(),
                plan.name()
            );
        }
    }
    Ok(())
}

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

fn tensor8<'a>(t: QType, bytes: &'a [u8], signed: &'a mut Vec<i8>) -> Tensor8<'a> {
    match t {
        QType::U8 => Tensor8::U8(bytes),
        QType::I8 => {
            *signed = bytes.iter().map(|&b| b as i8).collect();
            Tensor8::I8(signed)
        }
    }
}

enum Stage {
    Tensor(Requantizer, QType),
    Channel(PerChannelRequantizer, QType),
    Raw,
}

fn byte(v: u8, t: QType) -> i32 {
    match t {
        QType::U8 => i32::from(v),
        QType::I8 => i32::from(v as i8),
    }
}

fn run_i8(u: &mut Unstructured<'_>) -> Result<()> {
    let cin = mix::size1(u, 20)?;
    let cout = mix::size1(u, 20)?;
    let padding = pads(u)?;
    let in_t = qtype(u)?;
    let w_t = qtype(u)?;
    let in_zp = mix::zero_point(u)?;
    let w_need = mix::prod(&[cout, 9, cin]);
    let w_len = mix::buf_len::<u8>(u, w_need, mix::wprod(&[cout, 9, cin]))?;
    let w_bytes = mix::bytes(u, w_len);
    let mut w_signed = Vec::new();
    let weights = tensor8(w_t, &w_bytes, &mut w_signed);
    let w_zps: Vec<i32> = match u8::arbitrary(u)? % 4 {
        0 if cout <= 64 => mix::fill(u, cout, |u| mix::zero_point(u))?,
        1 => vec![0; usize::from(u8::arbitrary(u)? % 3) * 2],
        _ => vec![mix::zero_point(u)?],
    };
    let bias: Option<Vec<i32>> = match u8::arbitrary(u)? % 4 {
        0 if cout <= 64 => Some(mix::fill(u, cout, |u| {
            Ok(i32::from(i16::arbitrary(u)?) * i32::from(u8::arbitrary(u)? % 4))
        })?),
        1 => Some(vec![0; usize::from(u8::arbitrary(u)? % 5)]),
        _ => None,
    };
    let out_t = qtype(u)?;
    let stage = match u8::arbitrary(u)? % 4 {
        0 => Stage::Raw,
        1 => {
            let ch = if cout <= 64 && u8::arbitrary(u)? < 240 {
                cout
            } else {
                usize::from(u8::arbitrary(u)? % 8)
            };
            let scales = mix::fill(u, ch, |u| mix::scale(u))?;
            let Ok(p) = PerChannelRequantizer::new(scheme(u)?, &scales, mix::zero_point(u)?, out_t)
            else {
                return Ok(());
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
    let available = int8::WGEMM.available();
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(available[usize::from(v) % available.len()]),
    };
    trace!("WinogradInt8::new(cin {cin}, cout {cout}, padding {padding:?}, {in_t:?} zp {in_zp}, weights of {w_len} {w_t:?}, w zps {w_zps:?}, bias {:?}, {:?})", bias.as_ref().map(Vec::len), variant.map(|e| e.name));
    let plan = WinogradInt8::new(Int8Config {
        desc: Conv2dDesc::square(3, 1, Padding::Explicit(padding), 1, cin, cout),
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
        kernels: variant,
    });
    let Ok(plan) = plan else { return Ok(()) };
    let Some(w_need) = w_need else {
        panic!("WinogradInt8::new accepted {cout}x3x3x{cin} (overflows usize)");
    };
    assert_eq!(
        w_len, w_need,
        "WinogradInt8::new accepted {w_len} weights for {cout}x3x3x{cin}"
    );
    assert!(
        w_zps.len() == 1 || w_zps.len() == cout,
        "WinogradInt8::new accepted {} zero points",
        w_zps.len()
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            cout,
            "WinogradInt8::new accepted a bias of {} for {cout} channels",
            b.len()
        );
    }

    for _ in 0..1 + u8::arbitrary(u)? % 2 {
        let batch = mix::size(u, 2)?;
        let in_h = mix::size(u, 10)?;
        let in_w = mix::size(u, 10)?;
        let pstride = if u8::arbitrary(u)? < 200 {
            cin.saturating_add(usize::from(u8::arbitrary(u)? % 4))
        } else {
            mix::size(u, cin.saturating_add(4))?
        };
        let run_t = if u8::arbitrary(u)? < 240 {
            in_t
        } else {
            qtype(u)?
        };
        let pixels = mix::prod(&[batch, in_h, in_w]);
        let need_in = match pixels {
            Some(0) => Some(0),
            Some(p) => (p - 1)
                .checked_mul(pstride)
                .and_then(|x| x.checked_add(cin)),
            None => None,
        };
        let wrap_in = mix::wprod(&[batch, in_h, in_w])
            .wrapping_sub(1)
            .wrapping_mul(pstride)
            .wrapping_add(cin);
        let in_len = mix::buf_len::<u8>(u, need_in, wrap_in)?;
        let in_bytes = mix::bytes(u, in_len);
        let mut in_signed = Vec::new();
        let input = tensor8(run_t, &in_bytes, &mut in_signed);
        // An empty image with enough padding has a (padding-only) output, as in `out_dim`.
        let out = (|| {
            let ph = in_h.checked_add(padding[0])?.checked_add(padding[2])?;
            let pw = in_w.checked_add(padding[1])?.checked_add(padding[3])?;
            (ph >= 3 && pw >= 3).then(|| (ph - 2, pw - 2))
        })();
        let (oh, ow) = out.unwrap_or((0, 0));
        let out_need = out.and_then(|_| mix::prod(&[batch, oh, ow, cout]));
        let out_wrap = mix::wprod(&[batch, oh, ow, cout]);
        let out_kind = match (&stage, u8::arbitrary(u)? < 240) {
            (Stage::Raw, true) => 2,
            (Stage::Tensor(_, t) | Stage::Channel(_, t), true) => usize::from(*t == QType::I8),
            _ => usize::from(u8::arbitrary(u)? % 3),
        };
        let out_len = if out_kind == 2 {
            mix::buf_len::<i32>(u, out_need, out_wrap)?
        } else {
            mix::buf_len::<u8>(u, out_need, out_wrap)?
        };
        let mut o8 = vec![0u8; if out_kind < 2 { out_len } else { 0 }];
        let mut o32 = vec![0i32; if out_kind == 2 { out_len } else { 0 }];
        let output = match out_kind {
            0 => int8::Output8::U8(&mut o8),
            // SAFETY: u8 and i8 have the same layout and validity.
            1 => int8::Output8::I8(unsafe { &mut *(o8.as_mut_slice() as *mut [u8] as *mut [i8]) }),
            _ => int8::Output8::I32(&mut o32),
        };
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!("run({run_t:?} input of {in_len}, batch {batch}, {in_h}x{in_w}, pixel stride {pstride}, output of {out_len} kind {out_kind})");
        if plan
            .run(input, batch, in_h, in_w, pstride, output, par)
            .is_err()
        {
            continue;
        }
        assert_eq!(
            run_t, in_t,
            "run accepted {run_t:?} input for a {in_t:?} plan"
        );
        assert!(
            pstride >= cin,
            "run accepted pixel stride {pstride} < {cin} channels"
        );
        match need_in {
            Some(n) => assert!(in_len >= n, "run accepted an input of {in_len}; {batch}x{in_h}x{in_w} stride {pstride} needs {n}"),
            None => panic!("run accepted {batch}x{in_h}x{in_w} pixels with stride {pstride} (overflows usize)"),
        }
        let Some(out_need) = out_need else {
            panic!("run accepted {batch}x{in_h}x{in_w} padding {padding:?}: no valid output size");
        };
        assert_eq!(
            out_len, out_need,
            "run accepted an output of {out_len}; {batch}x{oh}x{ow}x{cout} is {out_need}"
        );
        if out_need == 0 || mix::prod(&[out_need, 9, cin]).is_none_or(|x| x > 1 << 20) {
            continue;
        }
        let g = qconv_direct::ConvGeometry {
            in_h,
            in_w,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad: padding,
        };
        let zw: Vec<i32> = if w_zps.len() == 1 {
            vec![w_zps[0]; cout]
        } else {
            w_zps.clone()
        };
        let img_out = oh * ow * cout;
        for b in 0..batch {
            let off = b * in_h * in_w * pstride;
            use qconv_direct::reference::conv_i32;
            let acc = match (input, weights) {
                (Tensor8::U8(x), Tensor8::U8(w)) => {
                    conv_i32(&g, 1, cin, cout, &x[off..], pstride, in_zp, w, &zw)
                }
                (Tensor8::U8(x), Tensor8::I8(w)) => {
                    conv_i32(&g, 1, cin, cout, &x[off..], pstride, in_zp, w, &zw)
                }
                (Tensor8::I8(x), Tensor8::U8(w)) => {
                    conv_i32(&g, 1, cin, cout, &x[off..], pstride, in_zp, w, &zw)
                }
                (Tensor8::I8(x), Tensor8::I8(w)) => {
                    conv_i32(&g, 1, cin, cout, &x[off..], pstride, in_zp, w, &zw)
                }
            };
            for (i, &a) in acc.iter().enumerate() {
                let co = i % cout;
                let want = a + bias.as_ref().map_or(0, |bb| bb[co]);
                let at = b * img_out + i;
                let (got, want) = match &stage {
                    Stage::Raw => (o32[at], want),
                    Stage::Tensor(r, t) => (byte(o8[at], *t), r.requantize(want)),
                    Stage::Channel(p, t) => {
                        (byte(o8[at], *t), p.channel(co).unwrap().requantize(want))
                    }
                };
                assert_eq!(got, want, "image {b} output {i} (channel {co}): kernel {got}, reference {want}; {cin}->{cout} on {in_h}x{in_w} stride {pstride} padding {padding:?}, {}", plan.name());
            }
        }
    }
    Ok(())
}
