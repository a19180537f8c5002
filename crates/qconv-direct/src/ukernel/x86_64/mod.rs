//! x86_64 micro-kernels.

pub mod avx512vnni;
