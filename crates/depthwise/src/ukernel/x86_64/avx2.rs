//! AVX2 + FMA kernels: `dwconv_c16__avx2` (int8) and `dwconv_f32_c8x4__avx2` (fp32).
//!
//! int8: bytes of two taps are widened to i16 and interleaved (`vpunpck{l,h}wd`), then
//! multiplied by the pair-interleaved packed weights `w'` with `vpmaddwd` + `vpaddd`: two taps per
//! instruction, exact in i32 (|x| ≤ 255, |w'| ≤ 255, no i16 saturation); a partial tile goes
//! through a small buffer. fp32: 8 channels per vector, 4 output pixels per iteration sharing
//! each weight load, fused multiply-adds in tap order, clamp at the store (`vmaskmovps` for a
//! partial tile). Nothing reads past a row. Specialised for 9 and 25 taps.

#![allow(non_snake_case)]

use crate::ukernel::{pack_f32_tiles, pack_i8_pairs};
use crate::DwError;
use core::arch::x86_64::*;

/// Pixels per fp32 iteration.
const PB: usize = 4;

/// int8 packer of [`dwconv_c16__avx2`] (16-channel tiles).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    pack_i8_pairs(16, taps, ch, w, bias)
}

/// fp32 packer of [`dwconv_f32_c8x4__avx2`] (8-channel tiles).
pub fn pack_f32(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    pack_f32_tiles(8, taps, ch, w, bias)
}

// ---------------------------------------------------------------- int8, AVX2

kernel_fn! {
    /// `dwconv_c16__avx2`; see [`crate::ukernel::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`pack_i8`], on a CPU with
    /// AVX2.
    i8 dwconv_c16__avx2(px, taps, ind, w, ch, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => i8_256::<SIGNED, K>(px, taps, ind, w, ch, out)) }
    }
}

/// 16 bytes widened to 16 i16; `n < 16` reads only `n` bytes (through a zeroed copy).
#[inline(always)]
unsafe fn widen16<const SIGNED: bool>(p: *const u8, n: usize) -> __m256i {
    // SAFETY: p is readable for n bytes (caller); the full load only when n == 16.
    unsafe {
        let v = if n == 16 {
            _mm_loadu_si128(p.cast())
        } else {
            let mut buf = [0u8; 16];
            core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
            _mm_loadu_si128(buf.as_ptr().cast())
        };
        if SIGNED {
            _mm256_cvtepi8_epi16(v)
        } else {
            _mm256_cvtepu8_epi16(v)
        }
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn i8_256<const SIGNED: bool, const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let pairs = taps.div_ceil(2);
    let tile_words = 16 * (1 + pairs);
    let tiles = ch.div_ceil(16);
    // SAFETY: as in the AVX-512 kernel; partial tiles read and write exactly n channels.
    unsafe {
        for p in 0..px {
            let rows = ind.add(p * taps);
            let o = out.add(p * ch);
            for j in 0..tiles {
                let c = 16 * j;
                let n = (ch - c).min(16);
                let wt = w.add(j * tile_words);
                let mut lo = _mm256_loadu_si256(wt.cast());
                let mut hi = _mm256_loadu_si256(wt.add(8).cast());
                for pr in 0..pairs {
                    let t0 = 2 * pr;
                    let a = widen16::<SIGNED>((*rows.add(t0)).add(c), n);
                    let b = if t0 + 1 < taps {
                        widen16::<SIGNED>((*rows.add(t0 + 1)).add(c), n)
                    } else {
                        _mm256_setzero_si256()
                    };
                    let wp = wt.add(16 + 16 * pr);
                    let wl = _mm256_loadu_si256(wp.cast());
                    let wh = _mm256_loadu_si256(wp.add(8).cast());
                    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wl));
                    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wh));
                }
                let r0 = _mm256_permute2x128_si256(lo, hi, 0x20);
                let r1 = _mm256_permute2x128_si256(lo, hi, 0x31);
                if n == 16 {
                    _mm256_storeu_si256(o.add(c).cast(), r0);
                    _mm256_storeu_si256(o.add(c + 8).cast(), r1);
                } else {
                    let mut buf = [0i32; 16];
                    _mm256_storeu_si256(buf.as_mut_ptr().cast(), r0);
                    _mm256_storeu_si256(buf.as_mut_ptr().add(8).cast(), r1);
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), o.add(c), n);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- fp32, AVX2

kernel_fn! {
    /// `dwconv_f32_c8x4__avx2` (fp32); see [`crate::ukernel::DwF32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32Fn`] with the layout of [`pack_f32`], on a CPU with
    /// AVX2 and FMA.
    f32 dwconv_f32_c8x4__avx2(px, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => f32_256::<K>(px, taps, ind, w, ch, lo, hi, out)) }
    }
}

#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_256<const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let taps = if K == 0 { taps_rt } else { K };
    // SAFETY: forwarded contract; each call covers pixels p..p+P <= px.
    unsafe {
        pixel_blocks!(px, p, [PB], P => {
            f32_256_px::<K, P>(taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
        })
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_256_px<const K: usize, const P: usize>(
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let tile_len = 8 * (1 + taps);
    let full = ch / 8;
    // SAFETY: full tiles read/write channels c..c+8 <= ch; the tail uses vmaskmovps, which
    // touches only the selected lanes; weights stay in the packed buffer.
    unsafe {
        let vlo = _mm256_set1_ps(lo);
        let vhi = _mm256_set1_ps(hi);
        for j in 0..full {
            let c = 8 * j;
            let wt = w.add(j * tile_len);
            let b = _mm256_loadu_ps(wt);
            let mut acc = [b; P];
            for t in 0..taps {
                let wv = _mm256_loadu_ps(wt.add(8 + 8 * t));
                for (q, a) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps((*ind.add(q * taps + t)).add(c));
                    *a = _mm256_fmadd_ps(x, wv, *a);
                }
            }
            for (q, a) in acc.iter().enumerate() {
                // Value second: NaN stays NaN (see `avx512::st16`).
                let r = _mm256_min_ps(vhi, _mm256_max_ps(vlo, *a));
                _mm256_storeu_ps(out.add(q * ch + c), r);
            }
        }
        let n = ch - 8 * full;
        if n > 0 {
            let c = 8 * full;
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes);
            let wt = w.add(full * tile_len);
            let b = _mm256_loadu_ps(wt);
            let mut acc = [b; P];
            for t in 0..taps {
                let wv = _mm256_loadu_ps(wt.add(8 + 8 * t));
                for (q, a) in acc.iter_mut().enumerate() {
                    let x = _mm256_maskload_ps((*ind.add(q * taps + t)).add(c), mask);
                    *a = _mm256_fmadd_ps(x, wv, *a);
                }
            }
            for (q, a) in acc.iter().enumerate() {
                // Value second: NaN stays NaN (see `avx512::st16`).
                let r = _mm256_min_ps(vhi, _mm256_max_ps(vlo, *a));
                _mm256_maskstore_ps(out.add(q * ch + c), mask, r);
            }
        }
    }
}
