//! The scalar reference, the specification of every depthwise kernel: plain loops.

use crate::DwDesc;

/// Output size of `desc` on an `in_h × in_w` image, or `None` when it would be empty.
pub fn output_size(d: &DwDesc, in_h: usize, in_w: usize) -> Option<(usize, usize)> {
    let dim = |input: usize, k: usize, s: usize, dil: usize, pad: usize| {
        let ext = dil * (k - 1) + 1;
        let padded = input + pad;
        (s > 0 && k > 0 && padded >= ext).then(|| (padded - ext) / s + 1)
    };
    let oh = dim(
        in_h,
        d.kernel[0],
        d.stride[0],
        d.dilation[0],
        d.pad[0] + d.pad[2],
    )?;
    let ow = dim(
        in_w,
        d.kernel[1],
        d.stride[1],
        d.dilation[1],
        d.pad[1] + d.pad[3],
    )?;
    Some((oh, ow))
}

/// Visits every (output pixel, output channel, tap) of one image; `f(out_index, in_index or
/// None for padding, weight_index)`.
fn for_each_tap(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    mut f: impl FnMut(usize, Option<usize>, usize),
) {
    let Some((oh, ow)) = output_size(d, in_h, in_w) else {
        return;
    };
    let c = d.channels;
    let cout = c * d.multiplier;
    for oy in 0..oh {
        for ox in 0..ow {
            for co in 0..cout {
                let ci = co / d.multiplier;
                for ky in 0..d.kernel[0] {
                    for kx in 0..d.kernel[1] {
                        let iy =
                            (oy * d.stride[0] + ky * d.dilation[0]) as isize - d.pad[0] as isize;
                        let ix =
                            (ox * d.stride[1] + kx * d.dilation[1]) as isize - d.pad[1] as isize;
                        let inside =
                            iy >= 0 && ix >= 0 && (iy as usize) < in_h && (ix as usize) < in_w;
                        let input = inside.then(|| (iy as usize * in_w + ix as usize) * c + ci);
                        f(
                            (oy * ow + ox) * cout + co,
                            input,
                            (ky * d.kernel[1] + kx) * cout + co,
                        );
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// Exact i32 accumulators `bias + Σ (x − zx)(w − zw)` of one NHWC image (`in_h × in_w × C`),
/// weights `kh × kw × (C·multiplier)`, per-output-channel weight zero points.
pub fn depthwise_i32<X: Copy + Into<i32>, W: Copy + Into<i32>>(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    input: &[X],
    x_zero_point: i32,
    weights: &[W],
    w_zero_points: &[i32],
    bias: &[i32],
) -> Vec<i32> {
    let (oh, ow) = output_size(d, in_h, in_w).unwrap_or((0, 0));
    let cout = d.channels * d.multiplier;
    let mut out: Vec<i32> = (0..oh * ow * cout).map(|i| bias[i % cout]).collect();
    for_each_tap(d, in_h, in_w, |o, i, wi| {
        if let Some(i) = i {
            let x: i32 = input[i].into() - x_zero_point;
            let w: i32 = weights[wi].into() - w_zero_points[wi % cout];
            out[o] += x * w;
        }
    });
    out
}

/// fp32 depthwise convolution of one NHWC image in f64 (the accuracy reference), before clamp.
pub fn depthwise_f64(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
) -> Vec<f64> {
    let (oh, ow) = output_size(d, in_h, in_w).unwrap_or((0, 0));
    let cout = d.channels * d.multiplier;
    let mut out: Vec<f64> = (0..oh * ow * cout)
        .map(|i| f64::from(bias[i % cout]))
        .collect();
    for_each_tap(d, in_h, in_w, |o, i, wi| {
        if let Some(i) = i {
            out[o] += f64::from(input[i]) * f64::from(weights[wi]);
        }
    });
    out
}
