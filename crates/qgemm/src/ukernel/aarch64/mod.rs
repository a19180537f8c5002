//! aarch64 micro-kernels.

pub mod dot;
pub mod neon;
