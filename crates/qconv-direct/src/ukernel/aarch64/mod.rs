//! aarch64 micro-kernels.

pub mod neon;
