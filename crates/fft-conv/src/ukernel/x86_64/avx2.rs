//! AVX2 + FMA variant: 8 tiles per `__m256`.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_<tile>__<isa>`

use super::super::generic::{self, RowSource};
use super::super::{Fused, GemmArgs, Kernels, Lanes, OutLanes, Post, Simd};
use super::col_masks;
use core::arch::x86_64::*;

/// AVX2 + FMA, `__m256`.
pub(crate) struct Avx2;

x86_simd!(
    Avx2,
    __m256,
    8,
    "AVX and FMA",
    splat: _mm256_set1_ps,
    load: _mm256_loadu_ps,
    store: _mm256_storeu_ps,
    add: _mm256_add_ps,
    sub: _mm256_sub_ps,
    fma: _mm256_fmadd_ps,
    fnma: _mm256_fnmadd_ps,
    min: _mm256_min_ps,
    max: _mm256_max_ps
);

// 8x8 and 16x16 transforms and the 2-output-channel tuple GEMM (8 tiles a vector).
entry_points!(
    #[target_feature(enable = "avx2,fma")]
    Avx2,
    1,
    2,
    Some(FUSED_AVX2),
    None,
    KERNELS_AVX2,
    gather_x8__avx2,
    scatter_x8__avx2,
    fft_fwd_8x8__avx2,
    fft_fwd_16x16__avx2,
    fft_inv_8x8__avx2,
    fft_inv_16x16__avx2,
    cgemm_2x8__avx2
);
/// Lane `i` of `x` as i32 (wrapping: only valid, hence < 2^31, indices are ever used).
#[inline(always)]
fn lane_i32<const L: usize>(x: impl Fn(usize) -> i64) -> [i32; L] {
    core::array::from_fn(|i| x(i) as i32)
}

/// Portable code (8 lanes).
pub(super) unsafe fn scatter_x8__avx2(
    tile: *const f32,
    t: usize,
    ow: usize,
    d: &OutLanes,
    out: *mut f32,
) {
    // SAFETY: forwarded contract of `ScatterFn`.
    unsafe { super::super::scatter_generic::<8>(tile, t, ow, d, out) }
}

/// One masked `vgatherdps` per patch element, 8 tiles at a time.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gather_x8__avx2(
    input: *const f32,
    w: usize,
    t: usize,
    d: &Lanes,
    tile: *mut f32,
) {
    let origin = lane_i32::<8>(|i| d.origin[i] as i64);
    let a0 = lane_i32::<8>(|i| d.rows[i].0 as i64);
    let a1 = lane_i32::<8>(|i| d.rows[i].1 as i64);
    let b0 = lane_i32::<8>(|i| d.cols[i].0 as i64);
    let b1 = lane_i32::<8>(|i| d.cols[i].1 as i64);
    // SAFETY: the arrays hold 8 i32; masked-off lanes are not accessed by the gather; masked-in
    // lanes are valid input indices (contract of `GatherFn`, including the i32 range); `tile`
    // holds `t·t·8` floats.
    unsafe {
        let origin = _mm256_loadu_si256(origin.as_ptr().cast());
        let a0 = _mm256_loadu_si256(a0.as_ptr().cast());
        let a1 = _mm256_loadu_si256(a1.as_ptr().cast());
        let b0 = _mm256_loadu_si256(b0.as_ptr().cast());
        let b1 = _mm256_loadu_si256(b1.as_ptr().cast());
        let one = _mm256_set1_epi32(1);
        let zero = _mm256_setzero_ps();
        for a in 0..t {
            let av = _mm256_set1_epi32(a as i32);
            // a >= a0 && a < a1  <=>  a + 1 > a0 && a1 > a
            let rm = _mm256_and_si256(
                _mm256_cmpgt_epi32(_mm256_add_epi32(av, one), a0),
                _mm256_cmpgt_epi32(a1, av),
            );
            let row = _mm256_add_epi32(origin, _mm256_set1_epi32((a * w) as i32));
            for b in 0..t {
                let bv = _mm256_set1_epi32(b as i32);
                let m = _mm256_and_si256(
                    rm,
                    _mm256_and_si256(
                        _mm256_cmpgt_epi32(_mm256_add_epi32(bv, one), b0),
                        _mm256_cmpgt_epi32(b1, bv),
                    ),
                );
                let v = _mm256_mask_i32gather_ps::<4>(
                    zero,
                    input,
                    _mm256_add_epi32(row, bv),
                    _mm256_castsi256_ps(m),
                );
                _mm256_storeu_ps(tile.add((a * t + b) * 8), v);
            }
        }
    }
}

/// Transposes 8 rows of 8 floats in registers: `c[j][i] = r[i][j]` (24 shuffles).
#[inline(always)]
pub(super) unsafe fn transpose8(r: &[__m256; 8]) -> [__m256; 8] {
    // SAFETY: register-only intrinsics; the caller runs with AVX enabled.
    unsafe {
        let z = _mm256_setzero_ps();
        let mut t = [z; 8];
        for k in 0..4 {
            t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // u[4m + c]: each 128-bit half holds rows 4m..4m+3 of column (half·4 + c).
        let mut u = [z; 8];
        for m in 0..2 {
            u[4 * m] = _mm256_shuffle_ps::<0x44>(t[4 * m], t[4 * m + 2]);
            u[4 * m + 1] = _mm256_shuffle_ps::<0xEE>(t[4 * m], t[4 * m + 2]);
            u[4 * m + 2] = _mm256_shuffle_ps::<0x44>(t[4 * m + 1], t[4 * m + 3]);
            u[4 * m + 3] = _mm256_shuffle_ps::<0xEE>(t[4 * m + 1], t[4 * m + 3]);
        }
        let mut out = [z; 8];
        for c in 0..4 {
            out[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
            out[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
        }
        out
    }
}

/// Row source of the fused AVX2 forward transform: per row, `vmaskmovps` loads of each lane's
/// row segment (two of 8 columns for 16x16 tiles; masked-off elements are not accessed), then
/// 8×8 register transposes (instead of one `vgatherdps` per element).
struct MaskLoadRows8<'a> {
    input: *const f32,
    w: usize,
    d: &'a Lanes,
    /// Per lane, the load masks of columns 0..8 and 8..16 (sign bit set: load).
    lo: [__m256i; 8],
    hi: [__m256i; 8],
}

impl RowSource<Avx2> for MaskLoadRows8<'_> {
    #[inline(always)]
    unsafe fn row<const T: usize>(&self, a: usize) -> [__m256; T] {
        // SAFETY: `vmaskmovps` touches only the elements of its mask, which are in-range patch
        // elements of a row `rows.0 <= a < rows.1`, hence valid input indices (contract of
        // `FwdInFn`); addresses are formed with `wrapping_offset`. The caller runs with AVX2.
        unsafe {
            let z = _mm256_setzero_ps();
            let mut lo = [z; 8];
            let mut hi = [z; 8];
            for i in 0..8 {
                let (a0, a1) = self.d.rows[i];
                if a < a0 || a >= a1 {
                    continue;
                }
                let p = self
                    .input
                    .wrapping_offset(self.d.origin[i].wrapping_add((a * self.w) as isize));
                lo[i] = _mm256_maskload_ps(p, self.lo[i]);
                if T > 8 {
                    hi[i] = _mm256_maskload_ps(p.wrapping_add(8), self.hi[i]);
                }
            }
            let mut v = [z; T];
            v[..8].copy_from_slice(&transpose8(&lo));
            if T > 8 {
                v[8..].copy_from_slice(&transpose8(&hi)[..T - 8]);
            }
            v
        }
    }
}

macro_rules! fused_avx2 {
    ($fwd:ident, $t:literal) => {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $fwd(
            input: *const f32,
            w: usize,
            d: &Lanes,
            mid: *mut f32,
            x: *mut f32,
            bs: usize,
        ) {
            let colmask = col_masks(|i| d.cols[i]);
            // SAFETY: register-only intrinsics building the masks (AVX2 enabled here), then the
            // forwarded contract of `FwdInFn` (the row source reads only in-range patch
            // elements).
            unsafe {
                let bits_lo = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
                let bits_hi = _mm256_slli_epi32::<8>(bits_lo);
                let zero = _mm256_setzero_si256();
                let mut lo = [zero; 8];
                let mut hi = [zero; 8];
                for i in 0..8 {
                    // (No closure: it would not inherit this function's ISA.)
                    let m = _mm256_set1_epi32(i32::from(colmask[i]));
                    lo[i] = _mm256_cmpeq_epi32(_mm256_and_si256(m, bits_lo), bits_lo);
                    hi[i] = _mm256_cmpeq_epi32(_mm256_and_si256(m, bits_hi), bits_hi);
                }
                let src = MaskLoadRows8 {
                    input,
                    w,
                    d,
                    lo,
                    hi,
                };
                generic::forward::<Avx2, $t, _>(&src, mid, x, bs)
            }
        }
    };
}

fused_avx2!(fft_fwd_in_8x8__avx2, 8);
fused_avx2!(fft_fwd_in_16x16__avx2, 16);

/// The fused AVX2 forward transforms (the inverse keeps the separate scatter: `vmaskmovps`
/// stores are slow on some CPUs).
const FUSED_AVX2: Fused = Fused {
    fwd8: fft_fwd_in_8x8__avx2,
    fwd16: fft_fwd_in_16x16__avx2,
    inv8: None,
    inv16: None,
};
