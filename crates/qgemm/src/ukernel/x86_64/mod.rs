//! x86_64 micro-kernels.

pub mod avx2;
pub mod avx512vnni;
