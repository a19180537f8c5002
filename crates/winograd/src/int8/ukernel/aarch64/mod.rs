//! aarch64 kernels of the int8 path, one file per ISA level.

pub mod neon;
