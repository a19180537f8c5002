//! The specification: direct 3x3 stride-1 convolution over NCHW in f64, plain loops.

/// Direct convolution in f64: `out[n][k][y][x] = act(bias[k] + Σ_{c,i,j} w[k][c][i][j] ·
/// in[n][c][y + i − pad_top][x + j − pad_left])` (zero outside the image), then clamped to
/// `[lo, hi]`. Returns the NCHW output and its size `(oh, ow)`.
///
/// `kernel` is OIHW (`k · c · 9`), `input` is `batch · c · h · w`.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_f64(
    input: &[f32],
    batch: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    k: usize,
    pad: [usize; 4],
    lo: f32,
    hi: f32,
) -> (Vec<f64>, usize, usize) {
    let [pt, pl, pb, pr] = pad;
    let oh = (h + pt + pb).saturating_sub(2);
    let ow = (w + pl + pr).saturating_sub(2);
    let mut out = vec![0.0f64; batch * k * oh * ow];
    for n in 0..batch {
        for ko in 0..k {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = bias.map_or(0.0, |b| b[ko] as f64);
                    for ci in 0..c {
                        for i in 0..3 {
                            for j in 0..3 {
                                let yy = (y + i) as isize - pt as isize;
                                let xx = (x + j) as isize - pl as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                let v = input[((n * c + ci) * h + yy as usize) * w + xx as usize];
                                acc += kernel[((ko * c + ci) * 3 + i) * 3 + j] as f64 * v as f64;
                            }
                        }
                    }
                    out[((n * k + ko) * oh + y) * ow + x] = acc.max(lo as f64).min(hi as f64);
                }
            }
        }
    }
    (out, oh, ow)
}
