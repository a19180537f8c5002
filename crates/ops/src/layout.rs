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

/// Transposes each of `batches` row-major `rows×cols` matrices of `x` (whose length the caller
/// has checked to be `batches·rows·cols`) into a `cols×rows` one. No product here overflows:
/// [`check`] refuses dimensions whose non-zero ones multiply past `usize`, even for an empty
/// tensor.
fn transpose_batches<T: Copy + Default>(
    x: &[T],
    batches: usize,
    rows: usize,
    cols: usize,
) -> Vec<T> {
    let mut y = vec![T::default(); x.len()];
    let plane = rows * cols;
    for b in 0..batches {
        let (src, dst) = (&x[b * plane..][..plane], &mut y[b * plane..][..plane]);
        for (r, row) in src.chunks_exact(cols.max(1)).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                dst[c * rows + r] = v;
            }
        }
    }
    y
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
    Ok(transpose_batches(x, n, c, h * w))
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
    Ok(transpose_batches(x, n, h * w, c))
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
    Ok(transpose_batches(w, m, cg, kh * kw))
}

/// Depthwise weights `M×1×kH×kW` → `kH×kW×M`.
pub fn dw_to_hwc<T: Copy + Default>(
    w: &[T],
    m: usize,
    kh: usize,
    kw: usize,
) -> Result<Vec<T>, OpsError> {
    check("dw_to_hwc", w.len(), &[m, kh, kw])?;
    Ok(transpose_batches(w, 1, m, kh * kw))
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
        assert_eq!(o[(2 * 9 + 4) * 2 + 1], w[(2 * 2 + 1) * 9 + 4]);
        let d = dw_to_hwc(&w[..4 * 9], 4, 3, 3).unwrap();
        assert_eq!((d[1], d[4]), (w[9], w[1]));
        let empty: [i32; 0] = [];
        assert!(nchw_to_nhwc(&empty, 2, 0, 4, 5).unwrap().is_empty());
        assert!(nchw_to_nhwc(&empty, 2, 3, 0, 5).unwrap().is_empty());
    }
}
