//! Portable variant: vectors of 4 floats as plain arrays (the compiler maps them to whatever the
//! baseline target offers, e.g. SSE2 or NEON). Also the fallback on every CPU.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_<tile>__<isa>`

use super::generic;
use super::{GemmArgs, Kernels, Lanes, OutLanes, Post, Simd};

/// Four f32 lanes.
#[derive(Clone, Copy)]
pub(crate) struct F4([f32; 4]);

/// The portable [`Simd`] implementation.
pub(crate) struct Scalar;

#[inline(always)]
fn map2(a: F4, b: F4, f: impl Fn(f32, f32) -> f32) -> F4 {
    F4([
        f(a.0[0], b.0[0]),
        f(a.0[1], b.0[1]),
        f(a.0[2], b.0[2]),
        f(a.0[3], b.0[3]),
    ])
}

impl Simd for Scalar {
    const LANES: usize = 4;
    type V = F4;
    #[inline(always)]
    unsafe fn splat(x: f32) -> F4 {
        F4([x; 4])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> F4 {
        // SAFETY: the caller guarantees 4 readable floats at `p`.
        F4(unsafe { p.cast::<[f32; 4]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: F4) {
        // SAFETY: the caller guarantees 4 writable floats at `p`.
        unsafe { p.cast::<[f32; 4]>().write_unaligned(v.0) }
    }
    #[inline(always)]
    unsafe fn add(a: F4, b: F4) -> F4 {
        map2(a, b, |x, y| x + y)
    }
    #[inline(always)]
    unsafe fn sub(a: F4, b: F4) -> F4 {
        map2(a, b, |x, y| x - y)
    }
    #[inline(always)]
    unsafe fn fma(a: F4, b: F4, c: F4) -> F4 {
        let p = map2(a, b, |x, y| x * y);
        map2(p, c, |x, y| x + y)
    }
    #[inline(always)]
    unsafe fn fnma(a: F4, b: F4, c: F4) -> F4 {
        let p = map2(a, b, |x, y| x * y);
        map2(c, p, |x, y| x - y)
    }
    #[inline(always)]
    unsafe fn min(a: F4, b: F4) -> F4 {
        // `minps` semantics: `b` unless `a < b` (so a NaN `b` is returned); `f32::min` would
        // return the other operand.
        map2(a, b, |a, b| if a < b { a } else { b })
    }
    #[inline(always)]
    unsafe fn max(a: F4, b: F4) -> F4 {
        // `maxps` semantics (see `min`).
        map2(a, b, |a, b| if a > b { a } else { b })
    }
}

// 8x8 and 16x16 transforms and the 2-output-channel tuple GEMM (4 tiles a vector).
entry_points!(
    Scalar,
    1,
    2,
    None,
    None,
    KERNELS,
    gather_x4__scalar,
    scatter_x4__scalar,
    fft_fwd_8x8__scalar,
    fft_fwd_16x16__scalar,
    fft_inv_8x8__scalar,
    fft_inv_16x16__scalar,
    cgemm_2x4__scalar
);

unsafe fn gather_x4__scalar(input: *const f32, w: usize, t: usize, d: &Lanes, tile: *mut f32) {
    // SAFETY: forwarded contract of `GatherFn`.
    unsafe { super::gather_generic::<4>(input, w, t, d, tile) }
}

unsafe fn scatter_x4__scalar(tile: *const f32, t: usize, ow: usize, d: &OutLanes, out: *mut f32) {
    // SAFETY: forwarded contract of `ScatterFn`.
    unsafe { super::scatter_generic::<4>(tile, t, ow, d, out) }
}
