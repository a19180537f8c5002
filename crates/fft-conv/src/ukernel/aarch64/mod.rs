//! aarch64 variants (Advanced SIMD).

pub(crate) mod neon;
