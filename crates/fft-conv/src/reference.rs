//! Scalar f64 reference: direct NCHW cross-correlation (what NN frameworks call convolution),
//! stride 1, 4-sided zero padding, optional bias and clamp. Plain loops, the spec of this crate.

/// Output height and width of a stride-1 convolution, or `None` if the padded input is smaller
/// than the kernel (or its size overflows `usize`).
pub fn output_size(
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 4],
) -> Option<(usize, usize)> {
    let ph = h.checked_add(pad[0])?.checked_add(pad[2])?;
    let pw = w.checked_add(pad[1])?.checked_add(pad[3])?;
    if ph < kh || pw < kw || kh == 0 || kw == 0 {
        return None;
    }
    Some((ph - kh + 1, pw - kw + 1))
}

/// Direct convolution in f64. `input` is `batch × cin × h × w`, `kernel` is OIHW
/// (`cout × cin × kh × kw`), `pad` is `[top, left, bottom, right]`; returns
/// `batch × cout × oh × ow` (empty if the output would be empty). The clamp keeps NaN
/// (`clamp(NaN) = NaN`); padding contributes nothing.
///
/// # Panics
/// If the output size overflows `usize` or a slice is shorter than the shape needs.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_nchw(
    input: &[f32],
    batch: usize,
    cin: usize,
    h: usize,
    w: usize,
    kernel: &[f32],
    cout: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 4],
    bias: Option<&[f32]>,
    clamp: Option<(f32, f32)>,
) -> Vec<f64> {
    let Some((oh, ow)) = output_size(h, w, kh, kw, pad) else {
        return Vec::new();
    };
    let len = batch
        .checked_mul(cout)
        .and_then(|v| v.checked_mul(oh))
        .and_then(|v| v.checked_mul(ow))
        .unwrap_or_else(|| panic!("reference output {batch}x{cout}x{oh}x{ow} overflows usize"));
    let mut out = vec![0.0f64; len];
    for n in 0..batch {
        for oc in 0..cout {
            let o = &mut out[(n * cout + oc) * oh * ow..][..oh * ow];
            let b = bias.map_or(0.0, |b| b[oc] as f64);
            o.iter_mut().for_each(|v| *v = b);
            for ic in 0..cin {
                let x = &input[(n * cin + ic) * h * w..][..h * w];
                let k = &kernel[(oc * cin + ic) * kh * kw..][..kh * kw];
                for i in 0..kh {
                    for j in 0..kw {
                        let wv = k[i * kw + j] as f64;
                        for oy in 0..oh {
                            let iy = (oy + i) as isize - pad[0] as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            let row = &x[iy as usize * w..][..w];
                            for ox in 0..ow {
                                let ix = (ox + j) as isize - pad[1] as isize;
                                if ix >= 0 && ix < w as isize {
                                    o[oy * ow + ox] += wv * row[ix as usize] as f64;
                                }
                            }
                        }
                    }
                }
            }
            if let Some((lo, hi)) = clamp {
                let (lo, hi) = (lo as f64, hi as f64);
                o.iter_mut().for_each(|v| {
                    if *v < lo {
                        *v = lo;
                    } else if *v > hi {
                        *v = hi;
                    }
                });
            }
        }
    }
    out
}
