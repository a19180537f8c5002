//! NEON variant: 4 tiles per `float32x4_t`.

#![allow(non_snake_case)] // kernel names follow the tile__isa convention (e.g. fft_fwd_8x8__avx2)

use super::super::generic;
use super::super::{GemmArgs, Kernels, Lanes, OutLanes, Post, Simd};
use core::arch::aarch64::*;

/// NEON, `float32x4_t`.
pub(crate) struct Neon;

impl Simd for Neon {
    const LANES: usize = 4;
    type V = float32x4_t;
    #[inline(always)]
    unsafe fn splat(x: f32) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> float32x4_t {
        // SAFETY: the caller guarantees 4 readable floats and NEON.
        unsafe { vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: float32x4_t) {
        // SAFETY: the caller guarantees 4 writable floats and NEON.
        unsafe { vst1q_f32(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vaddq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vsubq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn fma(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    unsafe fn fnma(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vfmsq_f32(c, a, b) }
    }
    #[inline(always)]
    unsafe fn min(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vminq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is enabled in the caller.
        unsafe { vmaxq_f32(a, b) }
    }
}

// 8x8 and 16x16 transforms and the 4-output-channel tuple GEMM (4 tiles a vector).
entry_points!(
    #[target_feature(enable = "neon")]
    Neon,
    1,
    4,
    None,
    None,
    KERNELS,
    gather_x4__neon,
    scatter_x4__neon,
    fft_fwd_8x8__neon,
    fft_fwd_16x16__neon,
    fft_inv_8x8__neon,
    fft_inv_16x16__neon,
    cgemm_4x4__neon
);

/// Portable code: NEON has no gather.
unsafe fn gather_x4__neon(input: *const f32, w: usize, t: usize, d: &Lanes, tile: *mut f32) {
    // SAFETY: forwarded contract of `GatherFn`.
    unsafe { super::super::gather_generic::<4>(input, w, t, d, tile) }
}

/// `scatter_x4__neon` (portable code).
unsafe fn scatter_x4__neon(tile: *const f32, t: usize, ow: usize, d: &OutLanes, out: *mut f32) {
    // SAFETY: forwarded contract of `ScatterFn`.
    unsafe { super::super::scatter_generic::<4>(tile, t, ow, d, out) }
}
