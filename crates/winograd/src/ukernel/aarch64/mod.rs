//! aarch64 kernels, one file per ISA level.

pub mod neon;
