//! # qgemm
//!
//! 8-bit GEMM for edge-kernels: `C[M×N] = requantize(A[M×K] · B[K×N] + bias)` with zero points.
//!
//! This crate currently holds the scalar reference ([`reference`](mod@reference)) and the variant table
//! ([`Variant`]); the packed-B driver and SIMD micro-kernels land with the qgemm issue.
//!
//! ```
//! // 1x2 = [1 2] x [[1 0], [0 1]] with zero points 0.
//! let c = qgemm::reference::gemm_i32(1, 2, 2, &[1u8, 2], 2, 0, &[1u8, 0, 0, 1], 2, &[0, 0]);
//! assert_eq!(c, vec![1, 2]);
//! ```

pub mod reference;

use cpu_probe::Features;

/// The micro-kernel families of this crate, named after their ISA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// Portable scalar code: runs everywhere.
    Scalar,
}

impl Variant {
    /// Every variant the running CPU can execute (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        Variant::available_for(&Features::get())
    }

    /// Every variant a CPU with `features` can execute, best last.
    pub fn available_for(_features: &Features) -> Vec<Variant> {
        vec![Variant::Scalar]
    }

    /// The variant dispatch picks by default: the best available.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }
}
