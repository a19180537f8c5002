//! x86_64 kernels, one file per ISA level.

pub mod avx2;
pub mod avx512;
