//! aarch64 kernels, one file per ISA level: [`neon`] (baseline), [`neondot`] (FEAT_DotProd).

pub mod neon;
pub mod neondot;
