//! The scalar reference: the specification every micro-kernel is tested against.

/// `C[i][j] = Σ_k (A[i][k] − a_zero_point) · (B[k][j] − b_zero_point[j])`, exact in i32.
///
/// `A` is `m × k` with row stride `lda`; `B` is `k × n` with row stride `ldb`; `b_zero_point`
/// holds one zero point per column (per output channel), repeat one value for per-tensor.
/// Works for `u8` and `i8` operands in any combination.
///
/// # Panics
/// The specification, kept plain: it panics (it never reads outside its slices) if `m · n`
/// overflows `usize` or a buffer is shorter than its shape and stride need.
#[allow(clippy::too_many_arguments)]
pub fn gemm_i32<A: Copy + Into<i32>, B: Copy + Into<i32>>(
    m: usize,
    n: usize,
    k: usize,
    a: &[A],
    lda: usize,
    a_zero_point: i32,
    b: &[B],
    ldb: usize,
    b_zero_point: &[i32],
) -> Vec<i32> {
    let len = m
        .checked_mul(n)
        .expect("reference gemm_i32: m x n overflows usize");
    let mut c = vec![0i32; len];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0i32;
            for p in 0..k {
                let x: i32 = a[i * lda + p].into() - a_zero_point;
                let w: i32 = b[p * ldb + j].into() - b_zero_point[j];
                acc += x * w;
            }
            c[i * n + j] = acc;
        }
    }
    c
}
