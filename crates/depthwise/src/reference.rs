//! The scalar reference, the specification of every depthwise kernel.

/// fp32 NHWC depthwise convolution, batch 1, channel multiplier `mult`, stride `stride`, equal
/// padding `pad` on all sides, no dilation. Weights are `k_h × k_w × (channels·mult)`.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_f32(
    in_h: usize,
    in_w: usize,
    channels: usize,
    mult: usize,
    input: &[f32],
    k_h: usize,
    k_w: usize,
    weights: &[f32],
    stride: usize,
    pad: usize,
) -> Vec<f32> {
    let oh = (in_h + 2 * pad - k_h) / stride + 1;
    let ow = (in_w + 2 * pad - k_w) / stride + 1;
    let cout = channels * mult;
    let mut out = vec![0f32; oh * ow * cout];
    for oy in 0..oh {
        for ox in 0..ow {
            for co in 0..cout {
                let ci = co / mult;
                let mut acc = 0f32;
                for ky in 0..k_h {
                    for kx in 0..k_w {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        let ix = (ox * stride + kx) as isize - pad as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < in_h && (ix as usize) < in_w {
                            acc += input[(iy as usize * in_w + ix as usize) * channels + ci]
                                * weights[(ky * k_w + kx) * cout + co];
                        }
                    }
                }
                out[(oy * ow + ox) * cout + co] = acc;
            }
        }
    }
    out
}
