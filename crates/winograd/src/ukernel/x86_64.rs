//! x86_64 kernels: `tgemm_6x16__avx2` (AVX2 + FMA) and `tgemm_6x32__avx512` (AVX-512 F),
//! with the block transforms instantiated for AVX2 + FMA (used by both).

use super::{GemmFn, Kernels, MR};
use crate::transforms::LANES;
use crate::Tile;
use core::arch::x86_64::*;

mod avx2 {
    super::super::block_transforms!(#[target_feature(enable = "avx2,fma")]; Fused);
    pub(super) use tf::select;
}

/// `tgemm_{R}x16__avx2`: one panel of 16 tiles as two ymm per row. See [`GemmFn`].
///
/// # Safety
/// As [`GemmFn`] with one panel; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tgemm_avx2<const R: usize>(
    kc: usize,
    u: *const f32,
    v: *const f32,
    _vps: usize,
    m: *mut f32,
    _mps: usize,
    accumulate: bool,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; R];
    for c in 0..kc {
        // SAFETY: v readable for kc·16 floats, u for kc·6 (contract).
        unsafe {
            let v0 = _mm256_loadu_ps(v.add(c * LANES));
            let v1 = _mm256_loadu_ps(v.add(c * LANES + 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let s = _mm256_broadcast_ss(&*u.add(c * MR + r));
                a[0] = _mm256_fmadd_ps(s, v0, a[0]);
                a[1] = _mm256_fmadd_ps(s, v1, a[1]);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: m writable for R·16 floats (contract).
        unsafe {
            let d = m.add(r * LANES);
            let (mut x0, mut x1) = (a[0], a[1]);
            if accumulate {
                x0 = _mm256_add_ps(x0, _mm256_loadu_ps(d));
                x1 = _mm256_add_ps(x1, _mm256_loadu_ps(d.add(8)));
            }
            _mm256_storeu_ps(d, x0);
            _mm256_storeu_ps(d.add(8), x1);
        }
    }
}

/// `tgemm_{R}x32__avx512`: two panels of 16 tiles (one zmm each) per row. See [`GemmFn`].
///
/// # Safety
/// As [`GemmFn`] with two panels; the CPU has AVX-512 F.
#[target_feature(enable = "avx512f")]
pub unsafe fn tgemm_avx512<const R: usize>(
    kc: usize,
    u: *const f32,
    v: *const f32,
    vps: usize,
    m: *mut f32,
    mps: usize,
    accumulate: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    for c in 0..kc {
        // SAFETY: both panels of v readable for kc·16 floats, u for kc·6 (contract).
        unsafe {
            let v0 = _mm512_loadu_ps(v.add(c * LANES));
            let v1 = _mm512_loadu_ps(v.add(vps + c * LANES));
            for (r, a) in acc.iter_mut().enumerate() {
                let s = _mm512_set1_ps(*u.add(c * MR + r));
                a[0] = _mm512_fmadd_ps(s, v0, a[0]);
                a[1] = _mm512_fmadd_ps(s, v1, a[1]);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: both panels of m writable for R·16 floats (contract).
        unsafe {
            let d0 = m.add(r * LANES);
            let d1 = m.add(mps + r * LANES);
            let (mut x0, mut x1) = (a[0], a[1]);
            if accumulate {
                x0 = _mm512_add_ps(x0, _mm512_loadu_ps(d0));
                x1 = _mm512_add_ps(x1, _mm512_loadu_ps(d1));
            }
            _mm512_storeu_ps(d0, x0);
            _mm512_storeu_ps(d1, x1);
        }
    }
}

/// `tgemm_{R}x16__avx512`: the single-panel tail of [`tgemm_avx512`].
///
/// # Safety
/// As [`GemmFn`] with one panel; the CPU has AVX-512 F.
#[target_feature(enable = "avx512f")]
pub unsafe fn tgemm1_avx512<const R: usize>(
    kc: usize,
    u: *const f32,
    v: *const f32,
    _vps: usize,
    m: *mut f32,
    _mps: usize,
    accumulate: bool,
) {
    let mut acc = [_mm512_setzero_ps(); R];
    for c in 0..kc {
        // SAFETY: v readable for kc·16 floats, u for kc·6 (contract).
        unsafe {
            let v0 = _mm512_loadu_ps(v.add(c * LANES));
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(*u.add(c * MR + r)), v0, *a);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: m writable for R·16 floats (contract).
        unsafe {
            let d = m.add(r * LANES);
            let x = if accumulate {
                _mm512_add_ps(*a, _mm512_loadu_ps(d))
            } else {
                *a
            };
            _mm512_storeu_ps(d, x);
        }
    }
}

/// The AVX2 kernels for `tile`.
pub fn kernels_avx2(tile: Tile) -> Kernels {
    let (input, output) = avx2::select(tile);
    let gemm: [GemmFn; MR] = [
        tgemm_avx2::<1>,
        tgemm_avx2::<2>,
        tgemm_avx2::<3>,
        tgemm_avx2::<4>,
        tgemm_avx2::<5>,
        tgemm_avx2::<6>,
    ];
    Kernels {
        input,
        output,
        gemm,
        panels: 1,
        gemm1: gemm,
    }
}

/// The AVX-512 kernels for `tile`: the AVX-512 GEMM with the AVX2 block transforms.
///
/// The transforms stay on 256-bit code on purpose: instantiated with AVX-512 enabled, LLVM
/// vectorizes their small fixed-count loops across points with `vgatherdps`/`vscatterdps`, which
/// measured 3–4x slower than the AVX2 code (W1 F6x6 output transform 867 µs vs 243 µs).
pub fn kernels_avx512(tile: Tile) -> Kernels {
    let (input, output) = avx2::select(tile);
    Kernels {
        input,
        output,
        gemm: [
            tgemm_avx512::<1>,
            tgemm_avx512::<2>,
            tgemm_avx512::<3>,
            tgemm_avx512::<4>,
            tgemm_avx512::<5>,
            tgemm_avx512::<6>,
        ],
        panels: 2,
        gemm1: [
            tgemm1_avx512::<1>,
            tgemm1_avx512::<2>,
            tgemm1_avx512::<3>,
            tgemm1_avx512::<4>,
            tgemm1_avx512::<5>,
            tgemm1_avx512::<6>,
        ],
    }
}
