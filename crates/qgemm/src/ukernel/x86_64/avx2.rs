//! `igemm_4x8c4__avx2`: 4 rows × 8 columns. Activations and weights are widened to i16 and
//! multiplied with `vpmaddwd` (exact: |a'·w'| · 2 <= 65280, no `vpmaddubsw` saturation).
//!
//! Per k-group the 32 weight bytes (8 columns × 4 channels) become two ymm of i16 (columns
//! 0–3 and 4–7); each row's 4 activation bytes become 4 i16 broadcast to every 64-bit lane, so
//! `vpmaddwd` leaves two partial sums per column in adjacent i32 lanes; they are added pairwise
//! once at the end.
#![allow(non_snake_case)]

use super::super::load4;
use core::arch::x86_64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

/// See [`super::super::IgemmFn`].
///
/// # Safety
/// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 8`, on a CPU with AVX2.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x8c4__avx2(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: same contract; the caller guarantees the CPU features.
    unsafe { inner(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) }
}

#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn inner(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
) {
    let kc4 = kc.div_ceil(4);
    let xor = u32::from_ne_bytes([a_xor; 4]);
    let mut lo = [_mm256_setzero_si256(); MR];
    let mut hi = [_mm256_setzero_si256(); MR];
    let mut wp = w;
    for t in 0..taps {
        let mut rows = [core::ptr::null::<u8>(); MR];
        for (m, r) in rows.iter_mut().enumerate() {
            // SAFETY: a holds taps · MR pointers.
            *r = unsafe { *a.add(t * MR + m) };
        }
        for q in 0..kc4 {
            // SAFETY: the packed block holds taps · kc4 groups of 32 bytes; wp walks them.
            let wv = unsafe { _mm256_loadu_si256(wp.cast()) };
            // SAFETY: as above.
            wp = unsafe { wp.add(NR * 4) };
            let w_lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wv));
            let w_hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256::<1>(wv));
            for m in 0..MR {
                // SAFETY: 4·q < kc; load4 reads only the row's kc bytes.
                let bytes = unsafe { load4(rows[m], q, kc) } ^ xor;
                let a16 = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(bytes as i32));
                let av = _mm256_broadcastq_epi64(a16);
                lo[m] = _mm256_add_epi32(lo[m], _mm256_madd_epi16(w_lo, av));
                hi[m] = _mm256_add_epi32(hi[m], _mm256_madd_epi16(w_hi, av));
            }
        }
    }
    // SAFETY: bias holds NR values.
    let b = unsafe { _mm256_loadu_si256(bias.cast()) };
    for m in 0..mr {
        // [c0 c0 c1 c1 | c2 c2 c3 c3] and [c4 c4 c5 c5 | c6 c6 c7 c7] -> pairwise sums in the
        // order [c0 c1 c4 c5 | c2 c3 c6 c7], then 64-bit lanes reordered to c0..c7.
        let s = _mm256_hadd_epi32(lo[m], hi[m]);
        let s = _mm256_permute4x64_epi64::<0b11_01_10_00>(s);
        let s = _mm256_add_epi32(s, b);
        let mut row = [0i32; NR];
        // SAFETY: row is 8 i32.
        unsafe { _mm256_storeu_si256(row.as_mut_ptr().cast(), s) };
        // SAFETY: out row m < mr is writable for nr <= NR values.
        unsafe { core::ptr::copy_nonoverlapping(row.as_ptr(), out.add(m * out_stride), nr) };
    }
}
