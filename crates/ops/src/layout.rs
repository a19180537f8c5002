//! Layout conversions between ONNX's NCHW and the NHWC the quantized kernels use.
//!
//! Each function checks that the dimensions it is given describe its input exactly (product
//! computed without overflow) and returns an [`OpsError::Shape`] otherwise.

use crate::OpsError;

/// `Err` unless the product of `dims` (checked) is `len`.
fn check(what: &str, len: usize, dims: &[usize]) -> Result<(), OpsError> {
    if crate::limits::elements(dims, what)? != len {
        return Err(OpsError::Shape(format!(
            "{what}: {len} elements do not have the shape {dims:?}"
        )));
    }
    Ok(())
}

/// `N×C×H×W` → `N×H×W×C`.
pub fn nchw_to_nhwc<T: Copy + Default>(
    x: &[T],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Result<Vec<T>, OpsError> {
    check("nchw_to_nhwc", x.len(), &[n, c, h, w])?;
    let mut y = vec![T::default(); x.len()];
    let hw = h * w;
    for b in 0..n {
        for ch in 0..c {
            let src = &x[(b * c + ch) * hw..(b * c + ch + 1) * hw];
            for (p, &v) in src.iter().enumerate() {
                y[(b * hw + p) * c + ch] = v;
            }
        }
    }
    Ok(y)
}

/// `N×H×W×C` → `N×C×H×W`.
pub fn nhwc_to_nchw<T: Copy + Default>(
    x: &[T],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Result<Vec<T>, OpsError> {
    check("nhwc_to_nchw", x.len(), &[n, h, w, c])?;
    let mut y = vec![T::default(); x.len()];
    let hw = h * w;
    for b in 0..n {
        for p in 0..hw {
            let src = &x[(b * hw + p) * c..(b * hw + p + 1) * c];
            for (ch, &v) in src.iter().enumerate() {
                y[(b * c + ch) * hw + p] = v;
            }
        }
    }
    Ok(y)
}

/// Weights `M×Cg×kH×kW` (OIHW) → `M×kH×kW×Cg` (OHWI).
pub fn oihw_to_ohwi<T: Copy + Default>(
    w: &[T],
    m: usize,
    cg: usize,
    kh: usize,
    kw: usize,
) -> Result<Vec<T>, OpsError> {
    check("oihw_to_ohwi", w.len(), &[m, cg, kh, kw])?;
    let mut y = vec![T::default(); w.len()];
    for o in 0..m {
        for i in 0..cg {
            for r in 0..kh {
                for s in 0..kw {
                    y[((o * kh + r) * kw + s) * cg + i] = w[((o * cg + i) * kh + r) * kw + s];
                }
            }
        }
    }
    Ok(y)
}

/// Depthwise weights `M×1×kH×kW` → `kH×kW×M`.
pub fn dw_to_hwc<T: Copy + Default>(
    w: &[T],
    m: usize,
    kh: usize,
    kw: usize,
) -> Result<Vec<T>, OpsError> {
    check("dw_to_hwc", w.len(), &[m, kh, kw])?;
    let mut y = vec![T::default(); w.len()];
    for o in 0..m {
        for t in 0..kh * kw {
            y[t * m + o] = w[o * kh * kw + t];
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let x: Vec<i32> = (0..2 * 3 * 4 * 5).collect();
        let y = nchw_to_nhwc(&x, 2, 3, 4, 5).unwrap();
        assert_eq!(y[1], x[20]);
        assert_eq!(nhwc_to_nchw(&y, 2, 3, 4, 5).unwrap(), x);
        assert!(nhwc_to_nchw(&y, 2, 3, 4, 6).is_err());
        let w: Vec<i32> = (0..4 * 2 * 3 * 3).collect();
        let o = oihw_to_ohwi(&w, 4, 2, 3, 3).unwrap();
        assert_eq!(o[1], w[9]);
    }
}
