//! The scalar reference: a naive 7-loop convolution, the specification of every kernel.

use crate::ConvGeometry;

/// Raw i32 accumulators of a grouped NHWC convolution, batch 1.
///
/// `input` is `in_h × in_w × (groups·cin_g)` with pixel stride `in_pixel_stride`; `weights` are
/// OHWI: `(groups·cout_g) × k_h × k_w × cin_g`; `w_zero_point` has one entry per output channel.
/// Out-of-image taps contribute 0 (they read the input zero point).
///
/// # Panics
/// The specification for valid geometry, kept plain: it panics (it never reads outside its
/// slices) on an output size that overflows `usize`, on buffers shorter than the geometry
/// needs, and on strides, dilations or pads so large that the tap positions leave `isize`.
#[allow(clippy::too_many_arguments)]
pub fn conv_i32<A: Copy + Into<i32>, W: Copy + Into<i32>>(
    g: &ConvGeometry,
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    input: &[A],
    in_pixel_stride: usize,
    a_zero_point: i32,
    weights: &[W],
    w_zero_point: &[i32],
) -> Vec<i32> {
    let (oh, ow) = (g.out_h().unwrap_or(0), g.out_w().unwrap_or(0));
    let cout = groups
        .checked_mul(cout_g)
        .expect("reference conv_i32: groups x cout_g overflows usize");
    let len = cout
        .checked_mul(oh)
        .and_then(|c| c.checked_mul(ow))
        .expect("reference conv_i32: the output size overflows usize");
    let mut out = vec![0i32; len];
    for oy in 0..oh {
        for ox in 0..ow {
            for gr in 0..groups {
                for oc in 0..cout_g {
                    let co = gr * cout_g + oc;
                    let mut acc = 0i32;
                    for ky in 0..g.k_h {
                        for kx in 0..g.k_w {
                            let iy =
                                (oy * g.stride_h + ky * g.dilation_h) as isize - g.pad[0] as isize;
                            let ix =
                                (ox * g.stride_w + kx * g.dilation_w) as isize - g.pad[1] as isize;
                            if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
                                continue;
                            }
                            let pix = (iy as usize * g.in_w + ix as usize) * in_pixel_stride;
                            for ic in 0..cin_g {
                                let x: i32 = input[pix + gr * cin_g + ic].into() - a_zero_point;
                                let w: i32 = weights[((co * g.k_h + ky) * g.k_w + kx) * cin_g + ic]
                                    .into()
                                    - w_zero_point[co];
                                acc += x * w;
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + co] = acc;
                }
            }
        }
    }
    out
}
