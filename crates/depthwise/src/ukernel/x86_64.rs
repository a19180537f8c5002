//! x86-64 kernels.
//!
//! - `dwconv_c16__avx2` / `dwconv_c32__avx512` / `dwconv_c32__avx512vnni` (int8): bytes of two
//!   taps are widened to i16 and interleaved (`vpunpck{l,h}wd`), then multiplied by the
//!   pair-interleaved packed weights `w'` with `vpmaddwd` (+ `vpaddd`) or `vpdpwssd`: two taps per
//!   instruction, exact in i32 (|x| ≤ 255, |w'| ≤ 255, no i16 saturation). The accumulators hold
//!   channels in the interleaved order and are put back in order at the store.
//! - `dwconv_c64s1__avx512vnni` ([`dw_i8q_s1_vnni`]): u8 (or i8 + 128) × s8 bytes of four
//!   kernel rows interleaved per channel, `vpdpbusd`, each input column interleaved once per
//!   block of pixels; 3x3 / 5x5, stride 1 or 2 along W, requantization fused.
//! - fp32: 8 (AVX2) or 16 (AVX-512) channels per vector, 4 (AVX-512: 8) output pixels per
//!   iteration sharing each weight load, fused multiply-adds in tap order, clamp at the store.
//!   AVX-512: weights packed flat (a tile may start at any channel) and channel tiles aligned to
//!   the input's cache lines; with stride 1 along W ([`dw_f32_avx512_s1`]) each input column
//!   of a kernel row is loaded once for the `kw` pixels that use it.
//!
//! Tails: AVX-512 uses masked loads/stores; AVX2 copies a partial int8 tile through a small
//! buffer and uses `vmaskmovps` for fp32. Nothing reads past a row.
//! All kernels are specialised for 9 and 25 taps (the tap loop fully unrolled), with a generic
//! loop for any other kernel size.

use super::{
    check_pack, pack_f32_tiles, pack_i8_pairs, pack_i8_pairs_range, packed_len, pairs_len, try_vec,
    Fp32Requant,
};
use crate::DwError;

/// Placeholder for the kernels that store i32 (never read).
const NO_REQUANT: Fp32Requant = Fp32Requant {
    scale: 1.0,
    lo: 0.0,
    hi: 0.0,
    zero_point: 0,
    signed: false,
};
use core::arch::x86_64::*;

/// Pixels per fp32 iteration (AVX2; AVX-512 uses [`PB512`]).
const PB: usize = 4;
/// Pixels per AVX-512 fp32 iteration: 8 independent FMA chains.
const PB512: usize = 8;

/// int8 packer of [`dw_i8_avx2`] (16-channel tiles).
pub fn pack_i8_avx2(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    pack_i8_pairs(16, taps, ch, w, bias)
}

/// int8 packer of [`dw_i8_avx512`]: 32-channel tiles; a remainder of at most 16 channels gets
/// a 16-channel tile (half the work of a masked 32-channel one).
pub fn pack_i8_avx512(
    taps: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let split = ch / 32 * 32;
    let tail = if ch - split > 16 { 32 } else { 16 };
    let n = pairs_len(32, taps, split)?
        .checked_add(pairs_len(tail, taps, ch - split)?)
        .ok_or_else(|| {
            DwError::Geometry(format!(
                "packed weights of {ch} channels and {taps} taps overflow usize"
            ))
        })?;
    let mut out = try_vec(n, "packed weights")?;
    pack_i8_pairs_range(32, taps, ch, 0, split, w, bias, &mut out);
    pack_i8_pairs_range(tail, taps, ch, split, ch, w, bias, &mut out);
    Ok(out)
}

/// fp32 packer of [`dw_f32_avx2`] (8-channel tiles).
pub fn pack_f32_avx2(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    pack_f32_tiles(8, taps, ch, w, bias)
}

/// fp32 packer of [`dw_f32_avx512`] and [`dw_f32_avx512_s1`]: flat, so that a channel tile
/// may start at any channel (the kernels align their tiles to the input's cache lines): `chp`
/// biases, then per tap `chp` weights, `chp` = `ch` rounded up to 16, zero-padded.
pub fn pack_f32_avx512(
    taps: usize,
    ch: usize,
    w: &[f32],
    bias: &[f32],
) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let chp = ch.div_ceil(16) * 16;
    let mut out = try_vec(
        packed_len(ch.div_ceil(16), 16, 1, 1, taps, 0)?,
        "packed weights",
    )?;
    out.resize(chp * (1 + taps), 0.0);
    out[..ch].copy_from_slice(&bias[..ch]);
    for t in 0..taps {
        out[chp * (1 + t)..chp * (1 + t) + ch].copy_from_slice(&w[t * ch..(t + 1) * ch]);
    }
    Ok(out)
}

// ---------------------------------------------------------------- int8, AVX-512

/// `dwconv_c32__avx512[vnni]`; see [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`] with the layout of [`pack_i8_avx512`], on a CPU with
/// AVX-512 F/BW/DQ/VL (and VNNI when `VNNI`).
pub unsafe fn dw_i8_avx512<const SIGNED: bool, const VNNI: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    // SAFETY: same contract; the variant table hands out the VNNI kernel only when VNNI is there.
    unsafe { i8_512_dispatch::<SIGNED, VNNI, false>(px, taps, ind, w, ch, &NO_REQUANT, out.cast()) }
}

/// `dwconv_c32__avx512[vnni]` with the per-tensor Fp32 requantization fused into the store;
/// see [`super::DwI8QFn`].
///
/// # Safety
/// The contract of [`super::DwI8QFn`] with the layout of [`pack_i8_avx512`], on a CPU with
/// AVX-512 F/BW/DQ/VL (and VNNI when `VNNI`).
pub unsafe fn dw_i8_avx512_q<const SIGNED: bool, const VNNI: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    // SAFETY: same contract.
    unsafe { i8_512_dispatch::<SIGNED, VNNI, true>(px, taps, ind, w, ch, q, out) }
}

#[inline(always)]
unsafe fn i8_512_dispatch<const SIGNED: bool, const VNNI: bool, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    // SAFETY: forwarded contract; the VNNI kernel only when VNNI is there.
    unsafe {
        match (VNNI, taps) {
            (true, 9) => i8_512_vnni::<SIGNED, 9, Q>(px, taps, ind, w, ch, q, out),
            (true, 25) => i8_512_vnni::<SIGNED, 25, Q>(px, taps, ind, w, ch, q, out),
            (true, _) => i8_512_vnni::<SIGNED, 0, Q>(px, taps, ind, w, ch, q, out),
            (false, 9) => i8_512::<SIGNED, 9, Q>(px, taps, ind, w, ch, q, out),
            (false, 25) => i8_512::<SIGNED, 25, Q>(px, taps, ind, w, ch, q, out),
            (false, _) => i8_512::<SIGNED, 0, Q>(px, taps, ind, w, ch, q, out),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn i8_512<const SIGNED: bool, const K: usize, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    // SAFETY: forwarded contract.
    unsafe { i8_512_body::<SIGNED, false, K, Q>(px, taps, ind, w, ch, q, out) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn i8_512_vnni<const SIGNED: bool, const K: usize, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    // SAFETY: forwarded contract.
    unsafe { i8_512_body::<SIGNED, true, K, Q>(px, taps, ind, w, ch, q, out) }
}

/// Stores 16 accumulators at channel `c` of pixel base `o` (masked to `m`): raw i32, or (`Q`)
/// requantized to bytes exactly as `Requantizer::requantize` (Fp32 scheme).
#[inline(always)]
unsafe fn store16<const Q: bool>(o: *mut u8, c: usize, v: __m512i, m: __mmask16, q: &Fp32Requant) {
    // SAFETY: (masked) stores of channels c.. selected by m, inside the pixel's output.
    unsafe {
        if Q {
            let f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(q.scale));
            let f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(q.lo)), _mm512_set1_ps(q.hi));
            // Default MXCSR rounding: to nearest, ties to even.
            let i = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(q.zero_point));
            // In [qmin, qmax] already: the saturating narrowing is exact.
            let b = if q.signed {
                _mm512_cvtsepi32_epi8(i)
            } else {
                _mm512_cvtusepi32_epi8(i)
            };
            if m == !0 {
                _mm_storeu_si128(o.add(c).cast(), b);
            } else {
                _mm_mask_storeu_epi8(o.add(c).cast(), m, b);
            }
        } else {
            let p = o.cast::<i32>().add(c);
            if m == !0 {
                _mm512_storeu_si512(p.cast(), v);
            } else {
                _mm512_mask_storeu_epi32(p.cast(), m, v);
            }
        }
    }
}

/// [`store16`] for 8 accumulators (ymm).
#[inline(always)]
unsafe fn store8<const Q: bool>(o: *mut u8, c: usize, v: __m256i, m: __mmask8, q: &Fp32Requant) {
    // SAFETY: (masked) stores of channels c.. selected by m, inside the pixel's output.
    unsafe {
        if Q {
            let f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(q.scale));
            let f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(q.lo)), _mm256_set1_ps(q.hi));
            let i = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(q.zero_point));
            let b = if q.signed {
                _mm256_cvtsepi32_epi8(i)
            } else {
                _mm256_cvtusepi32_epi8(i)
            };
            _mm_mask_storeu_epi8(o.add(c).cast(), __mmask16::from(m), b);
        } else {
            let p = o.cast::<i32>().add(c);
            if m == !0 {
                _mm256_storeu_si256(p.cast(), v);
            } else {
                _mm256_mask_storeu_epi32(p.cast(), m, v);
            }
        }
    }
}

/// 32 bytes (masked to `m`; all 32 when `m` is all ones) widened to 32 i16.
#[inline(always)]
unsafe fn widen32<const SIGNED: bool>(p: *const u8, m: __mmask32) -> __m512i {
    // SAFETY: the (masked) load touches only the bytes selected by `m`, which the caller
    // guarantees readable; the caller's target features include AVX-512 BW/VL.
    unsafe {
        let v = if m == !0 {
            _mm256_loadu_si256(p.cast())
        } else {
            _mm256_maskz_loadu_epi8(m, p.cast())
        };
        if SIGNED {
            _mm512_cvtepi8_epi16(v)
        } else {
            _mm512_cvtepu8_epi16(v)
        }
    }
}

/// `lo += xl · wp[0..16]`, `hi += xh · wp[16..32]` (i16 pairs, `vpdpwssd`).
///
/// Written as asm: LLVM otherwise splits the unrolled intrinsic back into `vpmaddwd` + `vpaddd`.
///
/// # Safety
/// `wp` is readable for 32 i32; the CPU has AVX-512 F and VNNI.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn dpwssd2(
    mut lo: __m512i,
    mut hi: __m512i,
    xl: __m512i,
    xh: __m512i,
    wp: *const i32,
) -> (__m512i, __m512i) {
    // SAFETY: reads the 128 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {lo}, {xl}, zmmword ptr [{wp}]",
            "vpdpwssd {hi}, {xh}, zmmword ptr [{wp} + 64]",
            lo = inout(zmm_reg) lo,
            hi = inout(zmm_reg) hi,
            xl = in(zmm_reg) xl,
            xh = in(zmm_reg) xh,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    (lo, hi)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8_512_body<const SIGNED: bool, const VNNI: bool, const K: usize, const Q: bool>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let pairs = taps.div_ceil(2);
    let tile_words = 32 * (1 + pairs);
    let full = ch / 32;
    // SAFETY: loads cover channels c..c+n (masked) of rows that hold ch >= c+n bytes; weight
    // loads stay inside the packed buffer (tiles · tile_words i32); stores cover out[p·ch + c..+n].
    unsafe {
        for p in 0..px {
            let mut rows = ind.add(p * taps);
            // The K row pointers copied to a local array: the compiler then knows the output
            // stores cannot change them and keeps them in registers across the tiles.
            let mut local = [core::ptr::null::<u8>(); K];
            if K != 0 {
                for (t, r) in local.iter_mut().enumerate() {
                    *r = *rows.add(t);
                }
                rows = local.as_ptr();
            }
            // Pixel base: bytes (Q) or i32.
            let o = if Q {
                out.add(p * ch)
            } else {
                out.cast::<i32>().add(p * ch).cast::<u8>()
            };
            for j in 0..full {
                i8_512_tile::<SIGNED, VNNI, Q>(
                    taps,
                    pairs,
                    rows,
                    w.add(j * tile_words),
                    32 * j,
                    !0,
                    q,
                    o,
                );
            }
            let (c, n) = (32 * full, ch - 32 * full);
            let wt = w.add(full * tile_words);
            if n > 16 {
                let m = (1u32 << n) - 1;
                i8_512_tile::<SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, m, q, o);
            } else if n == 16 {
                i8_512_tile16::<SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, !0, q, o);
            } else if n > 0 {
                let m = ((1u32 << n) - 1) as __mmask16;
                i8_512_tile16::<SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, m, q, o);
            }
        }
    }
}

/// One 32-channel tile of one pixel: channels `c..` selected by `m` (all ones: 32).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8_512_tile<const SIGNED: bool, const VNNI: bool, const Q: bool>(
    taps: usize,
    pairs: usize,
    rows: *const *const u8,
    wt: *const i32,
    c: usize,
    m: __mmask32,
    q: &Fp32Requant,
    o: *mut u8,
) {
    // SAFETY: see i8_512_body.
    unsafe {
        let idx0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
        let idx1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
        // Two accumulator sets (even / odd tap pairs): twice the independent chains.
        let mut lo = _mm512_loadu_si512(wt.cast());
        let mut hi = _mm512_loadu_si512(wt.add(16).cast());
        let mut lo1 = _mm512_setzero_si512();
        let mut hi1 = _mm512_setzero_si512();
        for pr in 0..pairs {
            let t0 = 2 * pr;
            let a = widen32::<SIGNED>((*rows.add(t0)).add(c), m);
            let b = if t0 + 1 < taps {
                widen32::<SIGNED>((*rows.add(t0 + 1)).add(c), m)
            } else {
                _mm512_setzero_si512()
            };
            let xl = _mm512_unpacklo_epi16(a, b);
            let xh = _mm512_unpackhi_epi16(a, b);
            let wp = wt.add(32 + 32 * pr);
            if VNNI {
                if pr % 2 == 0 {
                    (lo, hi) = dpwssd2(lo, hi, xl, xh, wp);
                } else {
                    (lo1, hi1) = dpwssd2(lo1, hi1, xl, xh, wp);
                }
            } else {
                let wl = _mm512_loadu_si512(wp.cast());
                let wh = _mm512_loadu_si512(wp.add(16).cast());
                if pr % 2 == 0 {
                    lo = _mm512_add_epi32(lo, _mm512_madd_epi16(xl, wl));
                    hi = _mm512_add_epi32(hi, _mm512_madd_epi16(xh, wh));
                } else {
                    lo1 = _mm512_add_epi32(lo1, _mm512_madd_epi16(xl, wl));
                    hi1 = _mm512_add_epi32(hi1, _mm512_madd_epi16(xh, wh));
                }
            }
        }
        let lo = _mm512_add_epi32(lo, lo1);
        let hi = _mm512_add_epi32(hi, hi1);
        let r0 = _mm512_permutex2var_epi32(lo, idx0, hi);
        let r1 = _mm512_permutex2var_epi32(lo, idx1, hi);
        if m == !0 {
            store16::<Q>(o, c, r0, !0, q);
            store16::<Q>(o, c + 16, r1, !0, q);
        } else {
            store16::<Q>(o, c, r0, (m & 0xffff) as __mmask16, q);
            store16::<Q>(o, c + 16, r1, (m >> 16) as __mmask16, q);
        }
    }
}

/// `lo += xl · wp[0..8]`, `hi += xh · wp[8..16]` (i16 pairs, `vpdpwssd` on ymm).
///
/// # Safety
/// `wp` is readable for 16 i32; the CPU has AVX-512 F/VL and VNNI.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
#[inline]
unsafe fn dpwssd2_256(
    mut lo: __m256i,
    mut hi: __m256i,
    xl: __m256i,
    xh: __m256i,
    wp: *const i32,
) -> (__m256i, __m256i) {
    // SAFETY: reads the 64 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {lo}, {xl}, ymmword ptr [{wp}]",
            "vpdpwssd {hi}, {xh}, ymmword ptr [{wp} + 32]",
            lo = inout(ymm_reg) lo,
            hi = inout(ymm_reg) hi,
            xl = in(ymm_reg) xl,
            xh = in(ymm_reg) xh,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    (lo, hi)
}

/// The last tile of at most 16 channels (16-channel layout of [`pack_i8_avx512`]): channels
/// `c..` selected by `m` (all ones: 16).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8_512_tile16<const SIGNED: bool, const VNNI: bool, const Q: bool>(
    taps: usize,
    pairs: usize,
    rows: *const *const u8,
    wt: *const i32,
    c: usize,
    m: __mmask16,
    q: &Fp32Requant,
    o: *mut u8,
) {
    let widen = |p: *const u8| {
        // SAFETY: the (masked) load touches only the channels of m, readable in every row.
        unsafe {
            let v = if m == !0 {
                _mm_loadu_si128(p.cast())
            } else {
                _mm_maskz_loadu_epi8(m, p.cast())
            };
            if SIGNED {
                _mm256_cvtepi8_epi16(v)
            } else {
                _mm256_cvtepu8_epi16(v)
            }
        }
    };
    // SAFETY: see i8_512_body; weights stay inside this tile (16 · (1 + pairs) i32).
    unsafe {
        let mut lo = _mm256_loadu_si256(wt.cast());
        let mut hi = _mm256_loadu_si256(wt.add(8).cast());
        let mut lo1 = _mm256_setzero_si256();
        let mut hi1 = _mm256_setzero_si256();
        for pr in 0..pairs {
            let t0 = 2 * pr;
            let a = widen((*rows.add(t0)).add(c));
            let b = if t0 + 1 < taps {
                widen((*rows.add(t0 + 1)).add(c))
            } else {
                _mm256_setzero_si256()
            };
            let xl = _mm256_unpacklo_epi16(a, b);
            let xh = _mm256_unpackhi_epi16(a, b);
            let wp = wt.add(16 + 16 * pr);
            if VNNI {
                if pr % 2 == 0 {
                    (lo, hi) = dpwssd2_256(lo, hi, xl, xh, wp);
                } else {
                    (lo1, hi1) = dpwssd2_256(lo1, hi1, xl, xh, wp);
                }
            } else {
                let wl = _mm256_loadu_si256(wp.cast());
                let wh = _mm256_loadu_si256(wp.add(8).cast());
                if pr % 2 == 0 {
                    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(xl, wl));
                    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(xh, wh));
                } else {
                    lo1 = _mm256_add_epi32(lo1, _mm256_madd_epi16(xl, wl));
                    hi1 = _mm256_add_epi32(hi1, _mm256_madd_epi16(xh, wh));
                }
            }
        }
        let lo = _mm256_add_epi32(lo, lo1);
        let hi = _mm256_add_epi32(hi, hi1);
        let r0 = _mm256_permute2x128_si256(lo, hi, 0x20);
        let r1 = _mm256_permute2x128_si256(lo, hi, 0x31);
        store8::<Q>(o, c, r0, (m & 0xff) as __mmask8, q);
        store8::<Q>(o, c + 8, r1, (m >> 8) as __mmask8, q);
    }
}

// ---------------------------------------------------------------- int8, AVX-512 VNNI, u8 x s8

/// Pixels per iteration of [`dw_i8q_s1_vnni`].
const Q8P: usize = 4;

/// Packer of [`dw_i8q_s1_vnni`] (3x3 and 5x5, `w'` in `[-128, 127]`): 64-channel tiles
/// (zero-padded); per tile the folded bias (64 i32; with `signed` inputs less `128 · Σ_t w'`,
/// since the kernel reads `x + 128`), then per group of 4 kernel rows `g` and column `kx` 64
/// words whose bytes are `w'[4g + r][kx][c]`, `r = 0..4` (0 past the last row). Word `i` of
/// accumulator `k` (`i = 4L + j`, 128-bit lane `L`) holds channel `16L + 4k + j`: the order in
/// which `vpunpck{l,h}bw` + `vpunpck{l,h}wd` interleave four rows.
pub fn pack_i8_quads(
    kh: usize,
    kw: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
    signed: bool,
) -> Result<Vec<i32>, DwError> {
    let taps = kh.checked_mul(kw).ok_or_else(|| {
        DwError::Geometry(format!("kernel {kh}x{kw}: the tap count overflows usize"))
    })?;
    check_pack(taps, ch, w.len(), bias.len())?;
    let groups = kh.div_ceil(4);
    let chan = |base: usize, k: usize, i: usize| base + 16 * (i / 4) + 4 * k + i % 4;
    // groups · kw <= taps (each group of up to 4 rows has kw words per channel).
    let n = packed_len(ch.div_ceil(64), 64, 1, groups, kw, 0)?;
    let mut out = try_vec(n, "packed weights")?;
    for base in (0..ch).step_by(64) {
        for k in 0..4 {
            for i in 0..16 {
                let c = chan(base, k, i);
                out.push(if c < ch {
                    let sw = (0..taps).fold(0i32, |s, t| s.wrapping_add(w[t * ch + c]));
                    bias[c].wrapping_sub(if signed { sw.wrapping_mul(128) } else { 0 })
                } else {
                    0
                });
            }
        }
        for g in 0..groups {
            for kx in 0..kw {
                for k in 0..4 {
                    for i in 0..16 {
                        let c = chan(base, k, i);
                        let b = |r: usize| {
                            let ky = 4 * g + r;
                            if c < ch && ky < kh {
                                w[(ky * kw + kx) * ch + c] as i8 as u8
                            } else {
                                0
                            }
                        };
                        out.push(i32::from_le_bytes([b(0), b(1), b(2), b(3)]));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `dwconv_c64s1__avx512vnni` (u8 or i8 activations × s8 weights, `vpdpbusd`): 3x3 and 5x5,
/// stride 1 or 2 and dilation 1 along W, per-tensor Fp32 requantization fused; see
/// [`super::DwI8QS1Fn`].
///
/// Per 64-channel tile (a last tile of at most 32 channels in ymm) and block of `Q8P` (4)
/// pixels (a row's last 1-3 pixels as one smaller block), each input column of a group of 4 kernel
/// rows is loaded and interleaved once (`vpunpck{l,h}bw` + `vpunpck{l,h}wd`: four 16-channel
/// vectors whose dwords hold the 4 rows' bytes of one channel; a lone row, as the fifth of a 5x5
/// kernel, is spread with `vpshufb`) and feeds the up to `kw` pixels that use it: one
/// `vpdpbusd` multiplies 4 taps of 16 channels, exact in i32 (u8 · s8 products, no
/// saturation). i8 activations are read as `x + 128` (`vpxor`), with `128 · Σ w'` taken off the
/// packed bias. The accumulators are requantized in their interleaved order (scale and round in
/// f32, the upper clamp there too when the scale exceeds 0.5), packed back to channel order with
/// `vpackssdw` (+ zero point, saturating) and `vpack{us,ss}wb`, and clamped in bytes: `clamp(round(x), lo, hi) = round(clamp(x,
/// lo, hi))` for integer bounds, so this is bit-exact with `Requantizer::requantize`.
///
/// # Safety
/// The contract of [`super::DwI8QS1Fn`] with the layout of [`pack_i8_quads`], on a CPU with
/// AVX-512 F/BW/VL and VNNI.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_i8q_s1_vnni<const SIGNED: bool>(
    px: usize,
    kw: usize,
    sw: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    // SAFETY: same contract; the plan hands this kernel out only for 3x3 and 5x5 with stride
    // 1 or 2 along W.
    unsafe {
        match (taps, kw, sw) {
            (9, 3, 1) => i8q_s1::<SIGNED, 3, 3, 1>(px, ind, w, ch, q, out),
            (25, 5, 1) => i8q_s1::<SIGNED, 5, 5, 1>(px, ind, w, ch, q, out),
            (9, 3, 2) => i8q_s1::<SIGNED, 3, 3, 2>(px, ind, w, ch, q, out),
            (25, 5, 2) => i8q_s1::<SIGNED, 5, 5, 2>(px, ind, w, ch, q, out),
            _ => unreachable!("dw_i8q_s1_vnni: only 3x3 and 5x5, stride 1 or 2"),
        }
    }
}

/// Per-tensor requantization constants in registers.
#[derive(Clone, Copy)]
struct Q8Consts {
    scale: __m512,
    hi: __m512,
    zp: __m512i,
    qmin: __m512i,
    qmax: __m512i,
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn i8q_s1<const SIGNED: bool, const KH: usize, const KW: usize, const S: usize>(
    px: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    out: *mut u8,
) {
    let qmin = (q.lo as i32 + q.zero_point) as i8;
    let qmax = (q.hi as i32 + q.zero_point) as i8;
    let k = Q8Consts {
        scale: _mm512_set1_ps(q.scale),
        hi: _mm512_set1_ps(q.hi),
        zp: _mm512_set1_epi16(q.zero_point as i16),
        qmin: _mm512_set1_epi8(qmin),
        qmax: _mm512_set1_epi8(qmax),
    };
    // With scale <= 0.5, |acc · scale| <= 2^30 (|acc as f32| <= 2^31), so the conversion to
    // i32 is exact and the upper clamp can be done in bytes after the saturating packs.
    if q.scale > 0.5 {
        // SAFETY: forwarded.
        unsafe { i8q_tiles::<SIGNED, KH, KW, S, true>(px, ind, w, ch, q, k, out) }
    } else {
        // SAFETY: forwarded.
        unsafe { i8q_tiles::<SIGNED, KH, KW, S, false>(px, ind, w, ch, q, k, out) }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8q_tiles<
    const SIGNED: bool,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const BIG: bool,
>(
    px: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant,
    k: Q8Consts,
    out: *mut u8,
) {
    let taps = KH * KW;
    let tile_words = 64 * (1 + KH.div_ceil(4) * KW);
    // SAFETY: every call covers channels c..c+n <= ch of pixels p..p+P <= px; weights stay in
    // tile j's tile_words.
    unsafe {
        let mut c = 0;
        while c < ch {
            let n = (ch - c).min(64);
            let m: __mmask64 = if n == 64 { !0 } else { (1u64 << n) - 1 };
            let wt = w.add(c / 64 * tile_words);
            // Blocks of Q8P pixels, then one block of the remaining 1..Q8P − 1.
            macro_rules! sweep {
                ($blk:ident, $m:expr) => {{
                    let mut p = 0;
                    while p + Q8P <= px {
                        let (i, o) = (ind.add(p * taps), out.add(p * ch + c));
                        $blk::<SIGNED, KH, KW, S, Q8P, BIG>(i, wt, c, $m, ch, q.signed, k, o);
                        p += Q8P;
                    }
                    let (i, o) = (ind.add(p * taps), out.add(p * ch + c));
                    match px - p {
                        4 => $blk::<SIGNED, KH, KW, S, 4, BIG>(i, wt, c, $m, ch, q.signed, k, o),
                        3 => $blk::<SIGNED, KH, KW, S, 3, BIG>(i, wt, c, $m, ch, q.signed, k, o),
                        2 => $blk::<SIGNED, KH, KW, S, 2, BIG>(i, wt, c, $m, ch, q.signed, k, o),
                        1 => $blk::<SIGNED, KH, KW, S, 1, BIG>(i, wt, c, $m, ch, q.signed, k, o),
                        _ => {}
                    }
                }};
            }
            if n <= 32 {
                sweep!(i8q_s1_block_256, m as __mmask32);
                break;
            }
            sweep!(i8q_s1_block, m);
            c += n;
        }
    }
}

/// 64 bytes of channels `c..` selected by `m` (the others 0), as `x + 128` when `SIGNED`.
#[inline(always)]
unsafe fn ld64<const SIGNED: bool>(p: *const u8, m: __mmask64) -> __m512i {
    // SAFETY: the caller guarantees the selected bytes readable.
    unsafe {
        let v = if m == !0 {
            _mm512_loadu_si512(p.cast())
        } else {
            _mm512_maskz_loadu_epi8(m, p.cast())
        };
        if SIGNED {
            _mm512_xor_si512(v, _mm512_set1_epi8(-128))
        } else {
            v
        }
    }
}

/// `acc + Σ4 u8(x) · s8([wp])` per dword (`vpdpbusd` with a memory operand).
///
/// Written as asm so that the weights stay a memory operand: as an intrinsic, LLVM hoists a
/// block's loop-invariant weight loads and spills them (and the accumulators) to the stack,
/// whose position then decides 4K-aliasing stalls (D3 23 or 29 µs by the size of the
/// environment, which moves the stack).
///
/// # Safety
/// `wp` is readable for 16 i32; the CPU has AVX-512 F and VNNI.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn dpbusd_mem(mut acc: __m512i, x: __m512i, wp: *const i32) -> __m512i {
    // SAFETY: reads the 64 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpbusd {acc}, {x}, zmmword ptr [{wp}]",
            acc = inout(zmm_reg) acc,
            x = in(zmm_reg) x,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    acc
}

/// [`dpbusd_mem`] on ymm (8 dwords).
///
/// # Safety
/// `wp` is readable for 8 i32; the CPU has AVX-512 F/VL and VNNI.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
#[inline]
unsafe fn dpbusd_mem256(mut acc: __m256i, x: __m256i, wp: *const i32) -> __m256i {
    // SAFETY: reads the 32 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpbusd {acc}, {x}, ymmword ptr [{wp}]",
            acc = inout(ymm_reg) acc,
            x = in(ymm_reg) x,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    acc
}

/// Repeats `$body` with `$i` bound to 0..16 (constants, so array indices fold and the
/// accumulators stay in registers); the body tests its own bound.
macro_rules! unroll16 {
    ($i:ident, $body:block) => {{
        {
            let $i: usize = 0;
            $body
        }
        {
            let $i: usize = 1;
            $body
        }
        {
            let $i: usize = 2;
            $body
        }
        {
            let $i: usize = 3;
            $body
        }
        {
            let $i: usize = 4;
            $body
        }
        {
            let $i: usize = 5;
            $body
        }
        {
            let $i: usize = 6;
            $body
        }
        {
            let $i: usize = 7;
            $body
        }
        {
            let $i: usize = 8;
            $body
        }
        {
            let $i: usize = 9;
            $body
        }
        {
            let $i: usize = 10;
            $body
        }
        {
            let $i: usize = 11;
            $body
        }
        {
            let $i: usize = 12;
            $body
        }
        {
            let $i: usize = 13;
            $body
        }
        {
            let $i: usize = 14;
            $body
        }
        {
            let $i: usize = 15;
            $body
        }
    }};
}

/// Column `j` of kernel rows `r0..r0 + rows` (`rows` ≤ 4) interleaved for `vpdpbusd`: four
/// vectors, vector `k` holding in dword `4L + i` the rows' bytes of channel `16L + 4k + i`
/// (rows past `rows` repeat a loaded one; their weights are 0). `col(ky, j)` is the pointer.
#[inline(always)]
unsafe fn q8_column<const SIGNED: bool>(
    col: impl Fn(usize, usize) -> *const u8,
    r0: usize,
    rows: usize,
    j: usize,
    m: __mmask64,
) -> [__m512i; 4] {
    // SAFETY: col gives pointers readable for the channels of m (caller).
    unsafe {
        let a = ld64::<SIGNED>(col(r0, j), m);
        if rows == 1 {
            // Vector k takes byte 4k + i of each lane into dword i (all 4 bytes; the weights
            // of bytes 1..3 are 0).
            let b = |v: i32| v * 0x0101_0101;
            return [0, 4, 8, 12].map(|s| {
                let ctl = _mm_setr_epi32(b(s), b(s + 1), b(s + 2), b(s + 3));
                _mm512_shuffle_epi8(a, _mm512_broadcast_i32x4(ctl))
            });
        }
        let b = ld64::<SIGNED>(col(r0 + 1, j), m);
        let c = if rows > 2 {
            ld64::<SIGNED>(col(r0 + 2, j), m)
        } else {
            a
        };
        let d = if rows > 3 {
            ld64::<SIGNED>(col(r0 + 3, j), m)
        } else {
            c
        };
        let ab_l = _mm512_unpacklo_epi8(a, b);
        let ab_h = _mm512_unpackhi_epi8(a, b);
        let cd_l = _mm512_unpacklo_epi8(c, d);
        let cd_h = _mm512_unpackhi_epi8(c, d);
        [
            _mm512_unpacklo_epi16(ab_l, cd_l),
            _mm512_unpackhi_epi16(ab_l, cd_l),
            _mm512_unpacklo_epi16(ab_h, cd_h),
            _mm512_unpackhi_epi16(ab_h, cd_h),
        ]
    }
}

/// One 64-channel tile of P pixels (stride S along W): per group of kernel rows, the block
/// reads columns `j = 0..(P − 1)·S + KW` once each; column `j` feeds every pixel `q` with
/// `0 ≤ j − q·S < KW`, with the weights of column `j − q·S`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8q_s1_block<
    const SIGNED: bool,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const BIG: bool,
>(
    ind: *const *const u8,
    wt: *const i32,
    c: usize,
    m: __mmask64,
    ch: usize,
    signed_out: bool,
    k: Q8Consts,
    out: *mut u8,
) {
    let taps = KH * KW;
    // SAFETY: row pointers are the block's P · taps pointers, each readable for ch >= c + n
    // bytes (masked loads read only the channels of m); weights inside the tile; stores are
    // the n channels of P pixels.
    unsafe {
        // Column j: pixel q = min(j / S, P − 1)'s tap j − q·S (< KW as S ≤ KW).
        let col = |ky: usize, j: usize| {
            let q = (j / S).min(P - 1);
            (*ind.add(q * taps + ky * KW + j - q * S)).add(c)
        };
        const {
            assert!(
                S <= KW && (P - 1) * S + KW <= 16,
                "unroll16 covers 16 columns"
            )
        };
        let bias = [0, 1, 2, 3].map(|a| _mm512_loadu_si512(wt.add(16 * a).cast()));
        let mut acc = [bias; P];
        let mut wg = wt.add(64);
        for g in 0..KH.div_ceil(4) {
            let rows = (KH - 4 * g).min(4);
            // Unrolled by hand (LLVM keeps a loop here and the accumulators in memory).
            unroll16!(j, {
                if j < (P - 1) * S + KW {
                    let x = q8_column::<SIGNED>(col, 4 * g, rows, j, m);
                    unroll16!(q, {
                        if q < P && j >= q * S && j - q * S < KW {
                            let wk = wg.add(64 * (j - q * S));
                            unroll16!(a, {
                                if a < 4 {
                                    acc[q][a] = dpbusd_mem(acc[q][a], x[a], wk.add(16 * a));
                                }
                            });
                        }
                    });
                }
            });
            wg = wg.add(64 * KW);
        }
        for (qi, a) in acc.iter().enumerate() {
            let f = a.map(|v| {
                let f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), k.scale);
                // Default MXCSR rounding: to nearest, ties to even. BIG (scale > 0.5): the
                // upper clamp keeps f below 2^31 (where the conversion gives i32::MIN).
                _mm512_cvtps_epi32(if BIG { _mm512_min_ps(f, k.hi) } else { f })
            });
            let lo = _mm512_adds_epi16(_mm512_packs_epi32(f[0], f[1]), k.zp);
            let hi = _mm512_adds_epi16(_mm512_packs_epi32(f[2], f[3]), k.zp);
            let b = if signed_out {
                let b = _mm512_max_epi8(_mm512_packs_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    _mm512_min_epi8(b, k.qmax)
                }
            } else {
                let b = _mm512_max_epu8(_mm512_packus_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    _mm512_min_epu8(b, k.qmax)
                }
            };
            let o = out.add(qi * ch);
            if m == !0 {
                _mm512_storeu_si512(o.cast(), b);
            } else {
                _mm512_mask_storeu_epi8(o.cast(), m, b);
            }
        }
    }
}

/// The low halves of [`Q8Consts`].
#[derive(Clone, Copy)]
struct Q8Consts256 {
    scale: __m256,
    hi: __m256,
    zp: __m256i,
    qmin: __m256i,
    qmax: __m256i,
}

/// [`ld64`] for 32 channels.
#[inline(always)]
unsafe fn ld32<const SIGNED: bool>(p: *const u8, m: __mmask32) -> __m256i {
    // SAFETY: the caller guarantees the selected bytes readable.
    unsafe {
        let v = if m == !0 {
            _mm256_loadu_si256(p.cast())
        } else {
            _mm256_maskz_loadu_epi8(m, p.cast())
        };
        if SIGNED {
            _mm256_xor_si256(v, _mm256_set1_epi8(-128))
        } else {
            v
        }
    }
}

/// [`q8_column`] for 32 channels (two 128-bit lanes, the same order).
#[inline(always)]
unsafe fn q8_column_256<const SIGNED: bool>(
    col: impl Fn(usize, usize) -> *const u8,
    r0: usize,
    rows: usize,
    j: usize,
    m: __mmask32,
) -> [__m256i; 4] {
    // SAFETY: col gives pointers readable for the channels of m (caller).
    unsafe {
        let a = ld32::<SIGNED>(col(r0, j), m);
        if rows == 1 {
            // Vector k takes byte 4k + i of each lane into dword i (all 4 bytes; the weights
            // of bytes 1..3 are 0).
            let b = |v: i32| v * 0x0101_0101;
            return [0, 4, 8, 12].map(|s| {
                let ctl = _mm_setr_epi32(b(s), b(s + 1), b(s + 2), b(s + 3));
                _mm256_shuffle_epi8(a, _mm256_broadcastsi128_si256(ctl))
            });
        }
        let b = ld32::<SIGNED>(col(r0 + 1, j), m);
        let c = if rows > 2 {
            ld32::<SIGNED>(col(r0 + 2, j), m)
        } else {
            a
        };
        let d = if rows > 3 {
            ld32::<SIGNED>(col(r0 + 3, j), m)
        } else {
            c
        };
        let ab_l = _mm256_unpacklo_epi8(a, b);
        let ab_h = _mm256_unpackhi_epi8(a, b);
        let cd_l = _mm256_unpacklo_epi8(c, d);
        let cd_h = _mm256_unpackhi_epi8(c, d);
        [
            _mm256_unpacklo_epi16(ab_l, cd_l),
            _mm256_unpackhi_epi16(ab_l, cd_l),
            _mm256_unpacklo_epi16(ab_h, cd_h),
            _mm256_unpackhi_epi16(ab_h, cd_h),
        ]
    }
}

/// [`i8q_s1_block`] for a last tile of at most 32 channels (ymm: half the work of a masked
/// 64-channel tile). The weights are the 64-channel tile's: the low 8 words of each vector
/// hold lanes 0 and 1, the channels of this tile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn i8q_s1_block_256<
    const SIGNED: bool,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const BIG: bool,
>(
    ind: *const *const u8,
    wt: *const i32,
    c: usize,
    m: __mmask32,
    ch: usize,
    signed_out: bool,
    k: Q8Consts,
    out: *mut u8,
) {
    let taps = KH * KW;
    // SAFETY: register casts; the caller runs with AVX-512 F.
    let k = unsafe {
        Q8Consts256 {
            scale: _mm512_castps512_ps256(k.scale),
            hi: _mm512_castps512_ps256(k.hi),
            zp: _mm512_castsi512_si256(k.zp),
            qmin: _mm512_castsi512_si256(k.qmin),
            qmax: _mm512_castsi512_si256(k.qmax),
        }
    };
    // SAFETY: row pointers are the block's P · taps pointers, each readable for ch >= c + n
    // bytes (masked loads read only the channels of m); weights inside the tile; stores are
    // the n channels of P pixels.
    unsafe {
        // Column j: pixel q = min(j / S, P − 1)'s tap j − q·S (< KW as S ≤ KW).
        let col = |ky: usize, j: usize| {
            let q = (j / S).min(P - 1);
            (*ind.add(q * taps + ky * KW + j - q * S)).add(c)
        };
        const {
            assert!(
                S <= KW && (P - 1) * S + KW <= 16,
                "unroll16 covers 16 columns"
            )
        };
        let bias = [0, 1, 2, 3].map(|a| _mm256_loadu_si256(wt.add(16 * a).cast()));
        let mut acc = [bias; P];
        let mut wg = wt.add(64);
        for g in 0..KH.div_ceil(4) {
            let rows = (KH - 4 * g).min(4);
            // Unrolled by hand (LLVM keeps a loop here and the accumulators in memory).
            unroll16!(j, {
                if j < (P - 1) * S + KW {
                    let x = q8_column_256::<SIGNED>(col, 4 * g, rows, j, m);
                    unroll16!(q, {
                        if q < P && j >= q * S && j - q * S < KW {
                            let wk = wg.add(64 * (j - q * S));
                            unroll16!(a, {
                                if a < 4 {
                                    acc[q][a] = dpbusd_mem256(acc[q][a], x[a], wk.add(16 * a));
                                }
                            });
                        }
                    });
                }
            });
            wg = wg.add(64 * KW);
        }
        for (qi, a) in acc.iter().enumerate() {
            let f = a.map(|v| {
                let f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), k.scale);
                // Default MXCSR rounding: to nearest, ties to even. BIG (scale > 0.5): the
                // upper clamp keeps f below 2^31 (where the conversion gives i32::MIN).
                _mm256_cvtps_epi32(if BIG { _mm256_min_ps(f, k.hi) } else { f })
            });
            let lo = _mm256_adds_epi16(_mm256_packs_epi32(f[0], f[1]), k.zp);
            let hi = _mm256_adds_epi16(_mm256_packs_epi32(f[2], f[3]), k.zp);
            let b = if signed_out {
                let b = _mm256_max_epi8(_mm256_packs_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    _mm256_min_epi8(b, k.qmax)
                }
            } else {
                let b = _mm256_max_epu8(_mm256_packus_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    _mm256_min_epu8(b, k.qmax)
                }
            };
            let o = out.add(qi * ch);
            if m == !0 {
                _mm256_storeu_si256(o.cast(), b);
            } else {
                _mm256_mask_storeu_epi8(o.cast(), m, b);
            }
        }
    }
}

// ---------------------------------------------------------------- int8, AVX2

/// `dwconv_c16__avx2`; see [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`] with the layout of [`pack_i8_avx2`], on a CPU with AVX2.
pub unsafe fn dw_i8_avx2<const SIGNED: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    // SAFETY: same contract.
    unsafe {
        match taps {
            9 => i8_256::<SIGNED, 9>(px, taps, ind, w, ch, out),
            25 => i8_256::<SIGNED, 25>(px, taps, ind, w, ch, out),
            _ => i8_256::<SIGNED, 0>(px, taps, ind, w, ch, out),
        }
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

// ---------------------------------------------------------------- fp32, AVX-512

/// Channel tiles of a pixel block: first the channels up to the first 64-byte boundary of the
/// row at `p0` (none when it is aligned), then full tiles of 16, then the rest; this gives the
/// length of the tile starting at channel `c`. With a row length that is a multiple of 64
/// bytes (144 channels: 576 bytes) every row of the block has the alignment of `p0`, so no full
/// tile's load splits a cache line; a split 64-byte load costs about twice an aligned one (DF:
/// 203 -> 138 µs with the buffers aligned, before this tiling).
#[inline(always)]
fn f32_tile_len(p0: *const f32, c: usize, ch: usize) -> usize {
    let head = (64 - p0 as usize % 64) % 64 / 4;
    if c == 0 && head > 0 {
        head.min(ch)
    } else {
        (ch - c).min(16)
    }
}

/// The `n` low lanes.
#[inline(always)]
fn lanes16(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// `dwconv_c16x8__avx512` (fp32, any stride); see [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`] with the layout of [`pack_f32_avx512`], on a CPU with
/// AVX-512 F.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_f32_avx512(
    px: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    // SAFETY: same contract.
    unsafe {
        match taps {
            9 => f32_512::<9>(px, taps, ind, w, ch, lo, hi, out),
            25 => f32_512::<25>(px, taps, ind, w, ch, lo, hi, out),
            _ => f32_512::<0>(px, taps, ind, w, ch, lo, hi, out),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512<const K: usize>(
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
    let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
    let mut p = 0;
    // SAFETY: forwarded contract; each call covers pixels p..p+P <= px.
    unsafe {
        while p + PB512 <= px {
            let (i, o) = (ind.add(p * taps), out.add(p * ch));
            f32_512_px::<PB512>(taps, i, w, ch, vlo, vhi, o);
            p += PB512;
        }
        while p + PB <= px {
            f32_512_px::<PB>(taps, ind.add(p * taps), w, ch, vlo, vhi, out.add(p * ch));
            p += PB;
        }
        while p < px {
            f32_512_px::<1>(taps, ind.add(p * taps), w, ch, vlo, vhi, out.add(p * ch));
            p += 1;
        }
    }
}

#[inline(always)]
unsafe fn f32_512_px<const P: usize>(
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    vlo: __m512,
    vhi: __m512,
    out: *mut f32,
) {
    let chp = ch.div_ceil(16) * 16;
    // SAFETY: loads cover channels c..c+n (masked) of rows with ch floats; weights stay in the
    // packed buffer ((1 + taps) · chp floats, c + n <= ch <= chp); stores cover
    // out[q·ch + c..+n] for the P pixels given.
    unsafe {
        let mut c = 0;
        while c < ch {
            let n = f32_tile_len(*ind, c, ch);
            if n == 16 {
                f32_512_tile::<P, false>(taps, ind, w, chp, c, !0, ch, vlo, vhi, out);
            } else {
                let m = lanes16(n);
                f32_512_tile::<P, true>(taps, ind, w, chp, c, m, ch, vlo, vhi, out);
            }
            c += n;
        }
    }
}

/// 16 floats at `p`; `MASKED`: only the lanes of `m` (the others read as 0).
#[inline(always)]
unsafe fn ld16<const MASKED: bool>(p: *const f32, m: __mmask16) -> __m512 {
    // SAFETY: the caller guarantees the selected lanes readable.
    unsafe {
        if MASKED {
            _mm512_maskz_loadu_ps(m, p)
        } else {
            _mm512_loadu_ps(p)
        }
    }
}

/// Clamps and stores 16 floats at `p` (`MASKED`: the lanes of `m`). NaN stays NaN: `maxps` and
/// `minps` return their second operand when either is NaN, so the value goes second.
#[inline(always)]
unsafe fn st16<const MASKED: bool>(p: *mut f32, m: __mmask16, v: __m512, lo: __m512, hi: __m512) {
    // SAFETY: the caller guarantees the selected lanes writable.
    unsafe {
        let r = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
        if MASKED {
            _mm512_mask_storeu_ps(p, m, r);
        } else {
            _mm512_storeu_ps(p, r);
        }
    }
}

/// One channel tile (channels `c..`, all 16 or the lanes of `m` when `MASKED`) of P pixels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512_tile<const P: usize, const MASKED: bool>(
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    chp: usize,
    c: usize,
    m: __mmask16,
    ch: usize,
    vlo: __m512,
    vhi: __m512,
    out: *mut f32,
) {
    // SAFETY: see f32_512_px; unmasked accesses only when all 16 channels exist.
    unsafe {
        let mut acc = [ld16::<MASKED>(w.add(c), m); P];
        for t in 0..taps {
            let wv = ld16::<MASKED>(w.add(chp * (1 + t) + c), m);
            for (q, a) in acc.iter_mut().enumerate() {
                let x = ld16::<MASKED>((*ind.add(q * taps + t)).add(c), m);
                *a = _mm512_fmadd_ps(x, wv, *a);
            }
        }
        for (q, a) in acc.iter().enumerate() {
            st16::<MASKED>(out.add(q * ch + c), m, *a, vlo, vhi);
        }
    }
}

/// Pixels per iteration of the stride-1 fp32 kernel.
const S1B: usize = 8;

/// `dwconv_c16x8s1__avx512` (fp32, stride 1 and dilation 1 along W); see
/// [`super::DwF32S1Fn`]. Pixels `p..p+P` of one kernel row read `P + kw − 1` input columns, each
/// loaded once and multiplied by up to `kw` weights (a 3x3 kernel: 10 loads for 24 FMAs at
/// P = 8, against 24 loads in [`dw_f32_avx512`]); each pixel still accumulates in tap order.
///
/// # Safety
/// The contract of [`super::DwF32S1Fn`] with the layout of [`pack_f32_avx512`], on a CPU with
/// AVX-512 F.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_f32_avx512_s1(
    px: usize,
    kw: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    // SAFETY: same contract.
    unsafe {
        match (taps, kw) {
            (9, 3) => f32_512_s1::<3, 9>(px, kw, taps, ind, w, ch, lo, hi, out),
            (25, 5) => f32_512_s1::<5, 25>(px, kw, taps, ind, w, ch, lo, hi, out),
            _ => f32_512_s1::<0, 0>(px, kw, taps, ind, w, ch, lo, hi, out),
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512_s1<const KW: usize, const K: usize>(
    px: usize,
    kw_rt: usize,
    taps_rt: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let (kw, taps) = if K == 0 { (kw_rt, taps_rt) } else { (KW, K) };
    let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
    let mut p = 0;
    // SAFETY: forwarded contract; each call covers pixels p..p+P <= px.
    unsafe {
        while p + S1B <= px {
            let (i, o) = (ind.add(p * taps), out.add(p * ch));
            f32_512_s1_px::<KW, S1B>(kw, taps, i, w, ch, vlo, vhi, o);
            p += S1B;
        }
        while p + PB <= px {
            let (i, o) = (ind.add(p * taps), out.add(p * ch));
            f32_512_s1_px::<KW, PB>(kw, taps, i, w, ch, vlo, vhi, o);
            p += PB;
        }
        while p < px {
            let (i, o) = (ind.add(p * taps), out.add(p * ch));
            f32_512_s1_px::<KW, 1>(kw, taps, i, w, ch, vlo, vhi, o);
            p += 1;
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512_s1_px<const KW: usize, const P: usize>(
    kw: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    vlo: __m512,
    vhi: __m512,
    out: *mut f32,
) {
    let chp = ch.div_ceil(16) * 16;
    // SAFETY: as f32_512_px.
    unsafe {
        let mut c = 0;
        while c < ch {
            let n = f32_tile_len(*ind, c, ch);
            if n == 16 {
                f32_512_s1_tile::<KW, P, false>(kw, taps, ind, w, chp, c, !0, ch, vlo, vhi, out);
            } else {
                let m = lanes16(n);
                f32_512_s1_tile::<KW, P, true>(kw, taps, ind, w, chp, c, m, ch, vlo, vhi, out);
            }
            c += n;
        }
    }
}

/// One channel tile of P pixels, stride 1: per kernel row, column `j` (`0 ≤ j < P + kw − 1`) is
/// pixel `j`'s tap `kx = 0` for `j < P`, then the last pixel's tap `j − (P − 1)` (the contract
/// of [`super::DwF32S1Fn`]: pixel `q + 1`'s tap `kx` is pixel `q`'s tap `kx + 1`). Column `j`
/// feeds pixel `j − kx` with weight `kx`, so each pixel still sees its taps in order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512_s1_tile<const KW: usize, const P: usize, const MASKED: bool>(
    kw: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    chp: usize,
    c: usize,
    m: __mmask16,
    ch: usize,
    vlo: __m512,
    vhi: __m512,
    out: *mut f32,
) {
    let kh = taps / kw;
    // SAFETY: as f32_512_tile; every column pointer is one of the block's P · taps pointers.
    unsafe {
        let mut acc = [ld16::<MASKED>(w.add(c), m); P];
        for ky in 0..kh {
            let row = ind.add(ky * kw);
            let col = |j: usize| {
                let k = if j < P {
                    j * taps
                } else {
                    (P - 1) * taps + j + 1 - P
                };
                *row.add(k)
            };
            let wr = w.add(chp * (1 + ky * kw) + c);
            if KW != 0 {
                let mut wv = [_mm512_setzero_ps(); KW];
                for (kx, v) in wv.iter_mut().enumerate() {
                    *v = ld16::<MASKED>(wr.add(chp * kx), m);
                }
                for j in 0..P + KW - 1 {
                    let x = ld16::<MASKED>(col(j).add(c), m);
                    for (kx, wk) in wv.iter().enumerate() {
                        if j >= kx && j - kx < P {
                            acc[j - kx] = _mm512_fmadd_ps(x, *wk, acc[j - kx]);
                        }
                    }
                }
            } else {
                for j in 0..P + kw - 1 {
                    let x = ld16::<MASKED>(col(j).add(c), m);
                    for kx in j.saturating_sub(P - 1)..kw.min(j + 1) {
                        let wk = ld16::<MASKED>(wr.add(chp * kx), m);
                        acc[j - kx] = _mm512_fmadd_ps(x, wk, acc[j - kx]);
                    }
                }
            }
        }
        for (q, a) in acc.iter().enumerate() {
            st16::<MASKED>(out.add(q * ch + c), m, *a, vlo, vhi);
        }
    }
}

// ---------------------------------------------------------------- fp32, AVX2

/// `dwconv_c8x4__avx2` (fp32); see [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`] with the layout of [`pack_f32_avx2`], on a CPU with AVX2
/// and FMA.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_f32_avx2(
    px: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    // SAFETY: same contract.
    unsafe {
        match taps {
            9 => f32_256::<9>(px, taps, ind, w, ch, lo, hi, out),
            25 => f32_256::<25>(px, taps, ind, w, ch, lo, hi, out),
            _ => f32_256::<0>(px, taps, ind, w, ch, lo, hi, out),
        }
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
    let mut p = 0;
    // SAFETY: forwarded contract; each call covers pixels p..p+PB or p..p+1 < px.
    unsafe {
        while p + PB <= px {
            f32_256_px::<K, PB>(taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch));
            p += PB;
        }
        while p < px {
            f32_256_px::<K, 1>(taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch));
            p += 1;
        }
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
                // Value second: NaN stays NaN (see st16).
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
                // Value second: NaN stays NaN (see st16).
                let r = _mm256_min_ps(vhi, _mm256_max_ps(vlo, *a));
                _mm256_maskstore_ps(out.add(q * ch + c), mask, r);
            }
        }
    }
}
