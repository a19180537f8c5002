//! A safe wrapper over the `gemm` crate for the fp32 products of `ops` (MatMul, Gemm, the
//! im2col convolution fallback).

/// A strided matrix view: element (i, j) at `offset + i * rs + j * cs`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Offset of element (0, 0).
    pub offset: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl View {
    /// A row-major matrix with `cols` columns starting at `offset`.
    pub fn row_major(offset: usize, cols: usize) -> View {
        View {
            offset,
            rs: cols,
            cs: 1,
        }
    }
    /// The transposed view.
    pub fn t(self) -> View {
        View {
            offset: self.offset,
            rs: self.cs,
            cs: self.rs,
        }
    }
    /// The index of element (rows − 1, cols − 1), or `None` if it overflows `usize` (rows and
    /// cols are >= 1).
    fn last(&self, rows: usize, cols: usize) -> Option<usize> {
        (rows - 1)
            .checked_mul(self.rs)?
            .checked_add((cols - 1).checked_mul(self.cs)?)?
            .checked_add(self.offset)
    }

    /// Whether every stride fits `isize` (the `gemm` crate takes signed strides).
    fn strides_fit(&self) -> bool {
        isize::try_from(self.rs).is_ok() && isize::try_from(self.cs).is_ok()
    }
}

/// `c[m×n] = alpha·c + beta·a[m×k]·b[k×n]` (`accumulate`), or `c = beta·a·b`. Panics never: an
/// out-of-bounds view is a bug of the caller reported as `Err`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    av: View,
    b: &[f32],
    bv: View,
    c: &mut [f32],
    cv: View,
    accumulate: bool,
    alpha: f32,
    beta: f32,
    threads: usize,
) -> Result<(), String> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if cv.last(m, n).is_none_or(|l| l >= c.len()) || !cv.strides_fit() {
        return Err(format!(
            "output view exceeds its buffer ({} elements)",
            c.len()
        ));
    }
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                let x = &mut c[cv.offset + i * cv.rs + j * cv.cs];
                *x = if accumulate { alpha * *x } else { 0.0 };
            }
        }
        return Ok(());
    }
    if av.last(m, k).is_none_or(|l| l >= a.len())
        || bv.last(k, n).is_none_or(|l| l >= b.len())
        || !av.strides_fit()
        || !bv.strides_fit()
    {
        return Err("input view exceeds its buffer".into());
    }
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every element the product reads or writes lies inside its slice: the last
    // element of each view (offset + (rows-1)·rs + (cols-1)·cs, computed without overflow) was
    // checked against the slice length above, all strides are non-negative and fit isize, so
    // the casts below keep their values. `c` is borrowed mutably, so it cannot alias
    // `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr().add(cv.offset),
            cv.cs as isize,
            cv.rs as isize,
            accumulate,
            a.as_ptr().add(av.offset),
            av.cs as isize,
            av.rs as isize,
            b.as_ptr().add(bv.offset),
            bv.cs as isize,
            bv.rs as isize,
            alpha,
            beta,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_product() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // 3x2
                                                // C row-major, then C written through a transposed view.
        let cases = [
            (View::row_major(0, 2), [4.0, 5.0, 10.0, 11.0]),
            (View::row_major(0, 2).t(), [4.0, 10.0, 5.0, 11.0]),
        ];
        let mut c = [0.0; 4];
        for (cv, want) in cases {
            c = [0.0; 4];
            sgemm(
                2,
                2,
                3,
                &a,
                View::row_major(0, 3),
                &b,
                View::row_major(0, 2),
                &mut c,
                cv,
                false,
                0.0,
                1.0,
                1,
            )
            .unwrap();
            assert_eq!(c, want);
        }
        assert!(sgemm(
            2,
            2,
            3,
            &a[..5],
            View::row_major(0, 3),
            &b,
            View::row_major(0, 2),
            &mut c,
            View::row_major(0, 2),
            false,
            0.0,
            1.0,
            1
        )
        .is_err());
    }
}
