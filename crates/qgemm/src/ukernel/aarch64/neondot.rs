//! `igemm_4x8c4__neondot`: 4 rows × 8 columns, 4 input channels per SDOT (FEAT_DotProd),
//! written with `asm!` (the dot-product intrinsics are not stable in Rust 1.95).
//!
//! The four rows' 4-byte activation groups share one vector; each by-element dot product
//! multiplies 16 weight bytes (4 columns × 4 channels) by one row's group (the body is
//! [`super::dot_kernel`], shared with the SUDOT kernel `igemm_4x8c4__neoni8mm`).
//!
//! SDOT needs both operands signed: the kernel is handed `a'' = a' − 128` (one more xor with
//! 0x80) and the plan adds `128·Σw'` to the folded bias (see [`crate::pack`]).
#![allow(non_snake_case)]

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

super::dot_kernel!(igemm_4x8c4__neondot, inner_sdot, "neon,dotprod", "sdot");
