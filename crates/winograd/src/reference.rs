//! The specification: direct 3x3 stride-1 convolution over NCHW in f64, plain loops.

use crate::{check_dim, shape_err, WinogradError};

/// `a · b`, or an error naming `what` and the operands.
fn mul(a: usize, b: usize, what: &str) -> Result<usize, WinogradError> {
    a.checked_mul(b)
        .ok_or_else(|| shape_err(format!("{what} overflows usize ({a} x {b})")))
}

/// Checks that `argument` has at least `need` elements.
fn need(argument: &str, len: usize, need: usize) -> Result<(), WinogradError> {
    if len < need {
        return Err(shape_err(format!(
            "{argument} has {len} elements but {need} are required"
        )));
    }
    Ok(())
}

/// Direct convolution in f64: `out[n][k][y][x] = act(bias[k] + Σ_{c,i,j} w[k][c][i][j] ·
/// in[n][c][y + i − pad_top][x + j − pad_left])` (zero outside the image), then clamped to
/// `[lo, hi]` with NaN kept (IEEE propagation: `clamp(NaN) = NaN`, see the crate docs).
/// Returns the NCHW output and its size `(oh, ow)`.
///
/// `kernel` is OIHW (`k · c · 9`), `input` is `batch · c · h · w`, `bias` (if any) `k` floats.
/// Dimensions are at most [`crate::MAX_DIM`]; short buffers, sizes that overflow and an output
/// that cannot be allocated are errors naming the argument.
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
) -> Result<(Vec<f64>, usize, usize), WinogradError> {
    for (name, v) in [("batch", batch), ("c", c), ("h", h), ("w", w), ("k", k)] {
        check_dim(name, v)?;
    }
    for (p, side) in pad.iter().zip(["top", "left", "bottom", "right"]) {
        check_dim(&format!("padding {side}"), *p)?;
    }
    let [pt, pl, pb, pr] = pad;
    // Each term is at most u32::MAX: the sums fit a 64-bit usize; checked for 32-bit ones.
    let add3 = |a: usize, b: usize, c: usize, what: &str| {
        a.checked_add(b)
            .and_then(|x| x.checked_add(c))
            .ok_or_else(|| shape_err(format!("{what} overflows usize ({a} + {b} + {c})")))
    };
    let oh = add3(h, pt, pb, "padded height")?.saturating_sub(2);
    let ow = add3(w, pl, pr, "padded width")?.saturating_sub(2);
    let in_len = mul(
        mul(mul(batch, c, "input size")?, h, "input size")?,
        w,
        "input size",
    )?;
    need("input", input.len(), in_len)?;
    need(
        "kernel",
        kernel.len(),
        mul(mul(k, c, "kernel size")?, 9, "kernel size")?,
    )?;
    if let Some(b) = bias {
        need("bias", b.len(), k)?;
    }
    let out_len = mul(
        mul(mul(batch, k, "output size")?, oh, "output size")?,
        ow,
        "output size",
    )?;
    let mut out = cpu_probe::alloc::try_filled(out_len, 0.0f64, "reference output")?;
    let (lo, hi) = (lo as f64, hi as f64);
    for n in 0..batch {
        for ko in 0..k {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = bias.map_or(0.0, |b| b[ko] as f64);
                    for ci in 0..c {
                        for i in 0..3 {
                            for j in 0..3 {
                                // Wraps to a huge value (so fails `< h`) above the image.
                                let yy = (y + i).wrapping_sub(pt);
                                let xx = (x + j).wrapping_sub(pl);
                                if yy >= h || xx >= w {
                                    continue;
                                }
                                let v = input[((n * c + ci) * h + yy) * w + xx];
                                acc += kernel[((ko * c + ci) * 3 + i) * 3 + j] as f64 * v as f64;
                            }
                        }
                    }
                    // NaN fails both comparisons and stays NaN.
                    out[((n * k + ko) * oh + y) * ow + x] = if acc < lo {
                        lo
                    } else if acc > hi {
                        hi
                    } else {
                        acc
                    };
                }
            }
        }
    }
    Ok((out, oh, ow))
}
