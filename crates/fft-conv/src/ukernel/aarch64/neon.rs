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

#[target_feature(enable = "neon")]
unsafe fn fft_fwd_8x8__neon(tile: *const f32, mid: *mut f32, x: *mut f32, bs: usize) {
    // SAFETY: forwarded contract of `FwdFn`; NEON is enabled here.
    unsafe { generic::forward::<Neon, 8, _>(&generic::TileBuf(tile.cast_mut()), mid, x, bs) }
}
#[target_feature(enable = "neon")]
unsafe fn fft_fwd_16x16__neon(tile: *const f32, mid: *mut f32, x: *mut f32, bs: usize) {
    // SAFETY: forwarded contract of `FwdFn`; NEON is enabled here.
    unsafe { generic::forward::<Neon, 16, _>(&generic::TileBuf(tile.cast_mut()), mid, x, bs) }
}
#[target_feature(enable = "neon")]
unsafe fn fft_inv_8x8__neon(
    y: *const f32,
    bs: usize,
    rows: usize,
    post: &Post,
    mid: *mut f32,
    out: *mut f32,
) {
    // SAFETY: forwarded contract of `InvFn`; NEON is enabled here.
    unsafe { generic::inverse::<Neon, 8, _>(y, bs, rows, post, mid, &generic::TileBuf(out)) }
}
#[target_feature(enable = "neon")]
unsafe fn fft_inv_16x16__neon(
    y: *const f32,
    bs: usize,
    rows: usize,
    post: &Post,
    mid: *mut f32,
    out: *mut f32,
) {
    // SAFETY: forwarded contract of `InvFn`; NEON is enabled here.
    unsafe { generic::inverse::<Neon, 16, _>(y, bs, rows, post, mid, &generic::TileBuf(out)) }
}
#[target_feature(enable = "neon")]
unsafe fn cgemm_4x4__neon(a: &GemmArgs) {
    // SAFETY: forwarded contract of `GemmFn`; NEON is enabled here.
    unsafe { generic::gemm::<Neon, 1, 4>(a) }
}

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

pub(crate) const KERNELS: Kernels = Kernels {
    name: "cgemm_4x4__neon",
    half: None,
    fused: None,
    lanes: 4,
    gather: gather_x4__neon,
    scatter: scatter_x4__neon,
    fwd8: fft_fwd_8x8__neon,
    fwd16: fft_fwd_16x16__neon,
    inv8: fft_inv_8x8__neon,
    inv16: fft_inv_16x16__neon,
    gemm: cgemm_4x4__neon,
};
