//! x86-64 kernels, one file per ISA level: [`avx2`], [`avx512`], [`avx512vnni`]. The AVX-512
//! int8 bodies are written once over the internal vector trait of `wide` (zmm and ymm).

pub mod avx2;
pub mod avx512;
pub mod avx512vnni;
mod wide;

use crate::ukernel::Fp32Requant;

/// Placeholder for the kernels that store i32 (never read).
const NO_REQUANT: Fp32Requant<'static> = Fp32Requant {
    scale: 1.0,
    lo: 0.0,
    hi: 0.0,
    zero_point: 0,
    signed: false,
    channel_scales: None,
};
