//! AVX2 + FMA (8 tiles per vector) and AVX-512 (16 tiles per vector) variants.

#![allow(non_snake_case)] // kernel names follow the tile__isa convention (e.g. ft8x8_fwd__avx2)

use super::generic;
use super::{GemmArgs, Kernels, Post, Simd};
use core::arch::x86_64::*;

/// AVX2 + FMA, `__m256`.
pub(crate) struct Avx2;
/// AVX-512 F, `__m512`.
pub(crate) struct Avx512;

impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable floats and AVX.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        // SAFETY: the caller guarantees 8 writable floats and AVX.
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: the caller runs with FMA enabled.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn fnma(a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: the caller runs with FMA enabled.
        unsafe { _mm256_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn min(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: __m256, b: __m256) -> __m256 {
        // SAFETY: the caller runs with AVX enabled.
        unsafe { _mm256_max_ps(a, b) }
    }
}

impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        // SAFETY: the caller guarantees 16 readable floats and AVX-512 F.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        // SAFETY: the caller guarantees 16 writable floats and AVX-512 F.
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn fnma(a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn min(a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn max(a: __m512, b: __m512) -> __m512 {
        // SAFETY: the caller runs with AVX-512 F enabled.
        unsafe { _mm512_max_ps(a, b) }
    }
}

macro_rules! entry_points {
    ($feat:literal, $S:ty, $nr:literal, $konst:ident, $fwd8:ident, $fwd16:ident, $inv8:ident,
     $inv16:ident, $gemm:ident) => {
        #[target_feature(enable = $feat)]
        unsafe fn $fwd8(tile: *const f32, mid: *mut f32, x: *mut f32, bs: usize) {
            // SAFETY: forwarded contract of `FwdFn`; the ISA is enabled here.
            unsafe { generic::forward::<$S, 8>(tile, mid, x, bs) }
        }
        #[target_feature(enable = $feat)]
        unsafe fn $fwd16(tile: *const f32, mid: *mut f32, x: *mut f32, bs: usize) {
            // SAFETY: forwarded contract of `FwdFn`; the ISA is enabled here.
            unsafe { generic::forward::<$S, 16>(tile, mid, x, bs) }
        }
        #[target_feature(enable = $feat)]
        unsafe fn $inv8(
            y: *const f32,
            bs: usize,
            rows: usize,
            post: &Post,
            mid: *mut f32,
            out: *mut f32,
        ) {
            // SAFETY: forwarded contract of `InvFn`; the ISA is enabled here.
            unsafe { generic::inverse::<$S, 8>(y, bs, rows, post, mid, out) }
        }
        #[target_feature(enable = $feat)]
        unsafe fn $inv16(
            y: *const f32,
            bs: usize,
            rows: usize,
            post: &Post,
            mid: *mut f32,
            out: *mut f32,
        ) {
            // SAFETY: forwarded contract of `InvFn`; the ISA is enabled here.
            unsafe { generic::inverse::<$S, 16>(y, bs, rows, post, mid, out) }
        }
        #[target_feature(enable = $feat)]
        unsafe fn $gemm(a: &GemmArgs) {
            // SAFETY: forwarded contract of `GemmFn`; the ISA is enabled here.
            unsafe { generic::gemm::<$S, $nr>(a) }
        }
        pub(crate) const $konst: Kernels = Kernels {
            lanes: <$S as Simd>::LANES,
            fwd8: $fwd8,
            fwd16: $fwd16,
            inv8: $inv8,
            inv16: $inv16,
            gemm: $gemm,
        };
    };
}

// ft8x8/ft16x16 transforms and cgemm_4x1 (8 tiles a vector).
entry_points!(
    "avx2,fma",
    Avx2,
    1,
    KERNELS_AVX2,
    ft8x8_fwd__avx2,
    ft16x16_fwd__avx2,
    ft8x8_inv__avx2,
    ft16x16_inv__avx2,
    cgemm_4x1__avx2
);
// ft8x8/ft16x16 transforms and cgemm_4x2 (16 tiles a vector).
entry_points!(
    "avx512f,avx512bw,avx512dq,avx512vl",
    Avx512,
    2,
    KERNELS_AVX512,
    ft8x8_fwd__avx512,
    ft16x16_fwd__avx512,
    ft8x8_inv__avx512,
    ft16x16_inv__avx512,
    cgemm_4x2__avx512
);
