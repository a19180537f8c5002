//! x86-64 kernels: AVX2 and AVX-512.

pub mod avx2;
pub mod avx512;
