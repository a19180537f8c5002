//! aarch64 micro-kernels.

pub mod dot;
pub mod mmla;
pub mod neon;
