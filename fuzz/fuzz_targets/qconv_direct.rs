#![no_main]
//! `qconv_direct::QConv2d::new` + `run` with arbitrary geometry (kernel, stride, dilation,
//! explicit or SAME padding, groups, channels: full `usize` range, mostly small), zero points,
//! bias, output stages, input pixel strides, batch, 1 or 2 threads, every available variant.
//!
//! Oracles: `Ok` only for valid calls (weight, input and output lengths checked here with checked
//! arithmetic against the geometry); for small problems the output equals
//! `qconv_direct::reference::conv_i32` (+ bias, requantized by `Requantizer::requantize`) bit for
//! bit, per image of the batch.

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use qconv_direct::{
    Conv2dDesc, ConvGeometry, Input8, Output8 as Output, OutputStage, Padding, QConv2d,
    QConv2dConfig, IGEMM,
};
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

/// Output side for one dimension (ONNX semantics), checked: `None` when it overflows or the
/// output would be empty.
fn out_dim(
    input: usize,
    k: usize,
    s: usize,
    d: usize,
    p0: usize,
    p1: usize,
    same: bool,
) -> Option<usize> {
    if k == 0 || s == 0 || d == 0 {
        return None;
    }
    if same {
        // ONNX: ceil(input / stride); an empty image has an empty output.
        return (input > 0).then(|| input.div_ceil(s));
    }
    // Explicit padding: an empty image with enough padding has a (padding-only) output.
    let ext = d.checked_mul(k - 1)?.checked_add(1)?;
    let padded = input.checked_add(p0)?.checked_add(p1)?;
    (padded >= ext).then(|| (padded - ext) / s + 1)
}

/// The stage's output type, or `None` for raw i32.
enum Stage {
    Tensor(Requantizer, QType),
    Channel(PerChannelRequantizer, QType),
    Raw,
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let kernel = [mix::size1(u, 5)?, mix::size1(u, 5)?];
    let stride = [mix::size1(u, 3)?, mix::size1(u, 3)?];
    let dilation = [mix::size1(u, 3)?, mix::size1(u, 3)?];
    let padding = match u8::arbitrary(u)? % 8 {
        0 => Padding::SameUpper,
        1 => Padding::SameLower,
        _ => Padding::Explicit([
            mix::size(u, 3)?,
            mix::size(u, 3)?,
            mix::size(u, 3)?,
            mix::size(u, 3)?,
        ]),
    };
    let groups = mix::size1(u, 3)?;
    let cin_g = mix::size1(u, 8)?;
    let cout_g = mix::size1(u, 8)?;
    let desc = Conv2dDesc {
        kernel,
        stride,
        dilation,
        padding,
        groups,
        cin_per_group: cin_g,
        cout_per_group: cout_g,
    };
    let in_t = qtype(u)?;
    let w_t = qtype(u)?;
    let in_zp = mix::zero_point(u)?;
    let cout = groups.checked_mul(cout_g);
    let cin = groups.checked_mul(cin_g);
    let w_need = mix::prod(&[groups, cout_g, kernel[0], kernel[1], cin_g]);
    let w_wrap = mix::wprod(&[groups, cout_g, kernel[0], kernel[1], cin_g]);
    let w_len = mix::buf_len::<u8>(u, w_need, w_wrap)?;
    let w_bytes = mix::bytes(u, w_len);
    let mut w_signed = Vec::new();
    let weights = input8(w_t, &w_bytes, &mut w_signed);
    let small_cout = cout.filter(|&c| c <= 64);
    let w_zps: Vec<i32> = match (u8::arbitrary(u)? % 4, small_cout) {
        (0, Some(c)) => mix::fill(u, c, |u| mix::zero_point(u))?,
        (1, _) => vec![mix::zero_point(u)?; usize::from(u8::arbitrary(u)? % 3) * 2],
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
    let available = IGEMM.available();
    let variant = match u8::arbitrary(u)? {
        0..=127 => None,
        v => Some(available[usize::from(v) % available.len()]),
    };
    trace!("QConv2d::new({desc:?}, {in_t:?} zp {in_zp}, weights of {w_len} {w_t:?}, w zps {w_zps:?}, bias {:?}, stage {}, {:?})", bias.as_ref().map(Vec::len), stage_name(&stage), variant.map(|e| e.name));
    let plan = QConv2d::new(QConv2dConfig {
        desc,
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
        kernel: variant,
    });
    let Ok(plan) = plan else { return Ok(()) };
    let (Some(cout), Some(cin), Some(w_need)) = (cout, cin, w_need) else {
        panic!("QConv2d::new accepted {desc:?} whose sizes overflow usize");
    };
    assert_eq!(
        w_len, w_need,
        "QConv2d::new accepted {w_len} weights for {desc:?}"
    );
    assert!(
        w_zps.len() == 1 || w_zps.len() == cout,
        "QConv2d::new accepted {} zero points",
        w_zps.len()
    );
    if let Some(b) = &bias {
        assert_eq!(
            b.len(),
            cout,
            "QConv2d::new accepted a bias of {} for {cout} channels",
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
        let input = input8(run_t, &in_bytes, &mut in_signed);
        let same = !matches!(padding, Padding::Explicit(_));
        let pads = match padding {
            Padding::Explicit(p) => p,
            _ => [0; 4],
        };
        let mut oh = out_dim(
            in_h,
            kernel[0],
            stride[0],
            dilation[0],
            pads[0],
            pads[2],
            same,
        );
        let mut ow = out_dim(
            in_w,
            kernel[1],
            stride[1],
            dilation[1],
            pads[1],
            pads[3],
            same,
        );
        if same && (in_h == 0 || in_w == 0) {
            // Known: qconv-direct's SAME padding of an empty image pads it to one output row or
            // column (ONNX: ceil(0 / stride) = 0). Reported; take the crate's size here.
            if let Ok((h, w)) = desc.output_size(in_h, in_w) {
                (oh, ow) = (Some(h), Some(w));
            }
        }
        let out_need = match (oh, ow) {
            (Some(h), Some(w)) => mix::prod(&[batch, h, w, cout]),
            _ => None,
        };
        let out_wrap = mix::wprod(&[batch, oh.unwrap_or(0), ow.unwrap_or(0), cout]);
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
            0 => Output::U8(&mut o8),
            // SAFETY: u8 and i8 have the same layout and validity.
            1 => Output::I8(unsafe { &mut *(o8.as_mut_slice() as *mut [u8] as *mut [i8]) }),
            _ => Output::I32(&mut o32),
        };
        let par = mix::parallel(bool::arbitrary(u)?);
        trace!("run({run_t:?} input of {in_len}, batch {batch}, {in_h}x{in_w}, pixel stride {pstride}, output of {out_len} kind {out_kind}, {} threads)", par.threads());
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
        let (Some(oh), Some(ow), Some(out_need)) = (oh, ow, out_need) else {
            panic!("run accepted {batch}x{in_h}x{in_w} with {desc:?}: no valid output size");
        };
        assert_eq!(
            out_len, out_need,
            "run accepted an output of {out_len}; {batch}x{oh}x{ow}x{cout} is {out_need}"
        );

        // Differential against the reference, image by image.
        let work = mix::prod(&[out_need, kernel[0], kernel[1], cin_g]);
        if work.is_none_or(|w| w > 1 << 20) || out_need == 0 {
            continue;
        }
        let p = desc
            .pads_for(in_h, in_w)
            .expect("run succeeded, so the padding of this geometry is valid");
        let g = ConvGeometry {
            in_h,
            in_w,
            k_h: kernel[0],
            k_w: kernel[1],
            stride_h: stride[0],
            stride_w: stride[1],
            dilation_h: dilation[0],
            dilation_w: dilation[1],
            pad: p,
        };
        assert_eq!(
            (g.out_h(), g.out_w()),
            (Some(oh), Some(ow)),
            "output size disagrees with the reference geometry"
        );
        let zw: Vec<i32> = if w_zps.len() == 1 {
            vec![w_zps[0]; cout]
        } else {
            w_zps.clone()
        };
        let img_out = oh * ow * cout;
        for b in 0..batch {
            let off = b * in_h * in_w * pstride;
            let acc = match (input, weights) {
                (Input8::U8(x), Input8::U8(w)) => qconv_direct::reference::conv_i32(
                    &g,
                    groups,
                    cin_g,
                    cout_g,
                    &x[off..],
                    pstride,
                    in_zp,
                    w,
                    &zw,
                ),
                (Input8::U8(x), Input8::I8(w)) => qconv_direct::reference::conv_i32(
                    &g,
                    groups,
                    cin_g,
                    cout_g,
                    &x[off..],
                    pstride,
                    in_zp,
                    w,
                    &zw,
                ),
                (Input8::I8(x), Input8::U8(w)) => qconv_direct::reference::conv_i32(
                    &g,
                    groups,
                    cin_g,
                    cout_g,
                    &x[off..],
                    pstride,
                    in_zp,
                    w,
                    &zw,
                ),
                (Input8::I8(x), Input8::I8(w)) => qconv_direct::reference::conv_i32(
                    &g,
                    groups,
                    cin_g,
                    cout_g,
                    &x[off..],
                    pstride,
                    in_zp,
                    w,
                    &zw,
                ),
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
                assert_eq!(got, want, "image {b} output {i} (channel {co}): kernel {got}, reference {want}; {desc:?} in {in_h}x{in_w} stride {pstride}");
            }
        }
    }
    Ok(())
}

fn stage_name(s: &Stage) -> String {
    match s {
        Stage::Tensor(r, t) => format!("per tensor {t:?} {r:?}"),
        Stage::Channel(p, t) => format!("per channel {t:?} x{}", p.channels()),
        Stage::Raw => "i32".into(),
    }
}

fn byte(v: u8, t: QType) -> i32 {
    match t {
        QType::U8 => i32::from(v),
        QType::I8 => i32::from(v as i8),
    }
}
