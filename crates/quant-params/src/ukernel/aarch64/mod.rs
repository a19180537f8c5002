//! aarch64 kernels (Advanced SIMD).

pub mod neon;
