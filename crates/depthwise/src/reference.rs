//! The scalar reference, the specification of every depthwise kernel: plain loops.

use crate::DwDesc;

/// Output size of `desc` on an `in_h × in_w` image, or `None` when it would be empty, when a
/// kernel size, stride or dilation is 0, or when a size overflows `usize`.
pub fn output_size(d: &DwDesc, in_h: usize, in_w: usize) -> Option<(usize, usize)> {
    let dim = |input: usize, k: usize, s: usize, dil: usize, p0: usize, p1: usize| {
        if s == 0 || k == 0 || dil == 0 {
            return None;
        }
        let ext = dil.checked_mul(k - 1)?.checked_add(1)?;
        let padded = input.checked_add(p0)?.checked_add(p1)?;
        (padded >= ext).then(|| (padded - ext) / s + 1)
    };
    let oh = dim(
        in_h,
        d.kernel[0],
        d.stride[0],
        d.dilation[0],
        d.pad[0],
        d.pad[2],
    )?;
    let ow = dim(
        in_w,
        d.kernel[1],
        d.stride[1],
        d.dilation[1],
        d.pad[1],
        d.pad[3],
    )?;
    Some((oh, ow))
}

/// `oh · ow · cout`, or a panic naming the sizes.
fn out_len(oh: usize, ow: usize, cout: usize) -> usize {
    oh.checked_mul(ow)
        .and_then(|v| v.checked_mul(cout))
        .unwrap_or_else(|| panic!("reference output {oh}x{ow}x{cout} overflows usize"))
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
    let cout = c
        .checked_mul(d.multiplier)
        .expect("reference: channels times multiplier overflows usize");
    // Input coordinate of output position `o`, tap `k` along one axis, if inside the image:
    // `o·s + k·dil` is below the padded size, which output_size computed without overflow.
    let coord = |o: usize, s: usize, k: usize, dil: usize, pad: usize, size: usize| {
        (o * s + k * dil).checked_sub(pad).filter(|&i| i < size)
    };
    for oy in 0..oh {
        for ox in 0..ow {
            for co in 0..cout {
                let ci = co / d.multiplier;
                for ky in 0..d.kernel[0] {
                    for kx in 0..d.kernel[1] {
                        let iy = coord(oy, d.stride[0], ky, d.dilation[0], d.pad[0], in_h);
                        let ix = coord(ox, d.stride[1], kx, d.dilation[1], d.pad[1], in_w);
                        let input = iy.zip(ix).map(|(iy, ix)| (iy * in_w + ix) * c + ci);
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

/// The outputs of one image: `bias(c)` plus `term(in_index, weight_index)` for every tap that is
/// not padding, in tap order.
fn accumulate<A: Copy + core::ops::AddAssign>(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    bias: impl Fn(usize) -> A,
    term: impl Fn(usize, usize) -> A,
) -> Vec<A> {
    let (oh, ow) = output_size(d, in_h, in_w).unwrap_or((0, 0));
    let cout = d.cout();
    let mut out: Vec<A> = (0..out_len(oh, ow, cout)).map(|i| bias(i % cout)).collect();
    for_each_tap(d, in_h, in_w, |o, i, wi| {
        if let Some(i) = i {
            out[o] += term(i, wi);
        }
    });
    out
}

#[allow(clippy::too_many_arguments)]
/// Exact i32 accumulators `bias + Σ (x − zx)(w − zw)` of one NHWC image (`in_h × in_w × C`),
/// weights `kh × kw × (C·multiplier)`, per-output-channel weight zero points.
///
/// # Panics
/// If the output size overflows `usize` or a slice is shorter than the shape needs.
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
    let cout = d.cout();
    accumulate(
        d,
        in_h,
        in_w,
        |c| bias[c],
        |i, wi| {
            let x: i32 = input[i].into() - x_zero_point;
            let w: i32 = weights[wi].into() - w_zero_points[wi % cout];
            x * w
        },
    )
}

/// fp32 depthwise convolution of one NHWC image in f64 (the accuracy reference), before clamp.
/// Padding taps are skipped (contribute nothing).
///
/// # Panics
/// If the output size overflows `usize` or a slice is shorter than the shape needs.
pub fn depthwise_f64(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
) -> Vec<f64> {
    accumulate(
        d,
        in_h,
        in_w,
        |c| f64::from(bias[c]),
        |i, wi| f64::from(input[i]) * f64::from(weights[wi]),
    )
}
