//! `igemm_4x8c4__avx2`: 4 rows × 8 columns. Activations and weights are widened to i16 and
//! multiplied with `vpmaddwd` (exact: |a'·w'| · 2 <= 65280, no `vpmaddubsw` saturation).
//!
//! Per k-group the 32 weight bytes (8 columns × 4 channels) become two ymm of i16 (columns
//! 0–3 and 4–7); each row's 4 activation bytes become 4 i16 broadcast to every 64-bit lane, so
//! `vpmaddwd` leaves two partial sums per column in adjacent i32 lanes; they are added pairwise
//! once at the end.
#![allow(non_snake_case)]

use super::super::{load4, Fp32Requant};
use core::arch::x86_64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

kernel_fn! {
    /// See [`super::super::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 8`, on a CPU with AVX2.
    pub igemm igemm_4x8c4__avx2(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
        // SAFETY: same contract; the caller guarantees the CPU features.
        unsafe { inner(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) }
    }
}

kernel_fn! {
    #[target_feature(enable = "avx2")]
    igemm inner(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
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
}

// ---------------------------------------------------------------------------------------------
// igemm_6x8c4__avx2: 6 rows × 8 columns, the activations widened to i16 once per call.
// ---------------------------------------------------------------------------------------------

/// Rows per tile of [`igemm_6x8c4__avx2`].
pub const MR_6X8: usize = 6;
/// Columns per tile of [`igemm_6x8c4__avx2`].
pub const NR_6X8: usize = 8;

/// k-groups (of 4 input channels) of each row that [`igemm_6x8c4__avx2`] widens to i16 at a
/// time, in a stack buffer of `6 · CHUNK · 8` bytes (24 KiB). A call whose `taps · ceil(kc / 4)`
/// groups fit (K up to 2048) widens its rows once and reuses them for every `NR` block; a longer
/// K is widened chunk by chunk for each block (same result, more widening work).
const CHUNK: usize = 512;

/// The widened rows: group `g` of row `m` is the 4 i16 `a'` of input channels `4g..4g + 4` of
/// the call's (tap-major) K, as one u64, so a kernel step broadcasts it with one
/// `vpbroadcastq` from memory.
#[repr(C, align(32))]
struct Widened<const M: usize>([[u64; CHUNK]; M]);

out_entries! {
    dispatch,
    /// 6 rows × 8 columns, exact: activations (xor-ed to `a'`, zero-extended) and weights
    /// (sign-extended) multiplied as i16 by `vpmaddwd`, whose pair sums (|a'·w'| · 2 <= 65280)
    /// cannot saturate, accumulated in wrapping i32. The tile's rows are widened to i16 once per
    /// call into a stack buffer, so each step of the k-loop is one memory broadcast per row, two
    /// weight widenings per k-group and 12 `vpmaddwd` + 12 `vpaddd` (the 4×8 kernel widens every
    /// row's 4 bytes in registers at each step: 3 more vector instructions per row and group).
    /// A call with `mr < 6` runs a kernel with exactly `mr` rows (GEMV: one row, no repeated work).
    ///
    /// The `c4` packed layout of every other `KR = 4` kernel; see [`super::super::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFn`] with `MR = 6`, `NR = 8`, on a CPU with AVX2.
    igemm_6x8c4__avx2,
    /// [`igemm_6x8c4__avx2`] with the `Fp32` requantization (per tensor or per channel) fused into
    /// its store, over all `ceil(ncols / 8)` blocks of a call (see [`super::super::IgemmFp32Fn`]):
    /// the accumulators become f32 (round to nearest), are multiplied by the scale, clamped to
    /// `[qmin − zp, qmax − zp]`, rounded half to even (`vcvtps2dq`, the default MXCSR mode) and
    /// offset by `zp`, the definition of `Requantizer::requantize` for `RequantScheme::Fp32`; the
    /// values are then inside the output type, so the saturating packs to bytes are exact.
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFp32Fn`] with `MR = 6`, `NR = 8`, on a CPU with AVX2.
    igemm_6x8c4_fp32__avx2,
}

kernel_fn! {
    /// Picks the kernel with exactly `mr` rows. `OUT`: 0 stores i32 (`out` holds i32, `out_stride`
    /// in elements), 1 requantizes to u8, 2 to i8 (`out_stride` in bytes).
    ///
    /// # Safety
    /// As [`igemm_6x8c4__avx2`] (OUT = 0) or [`igemm_6x8c4_fp32__avx2`] (OUT = 1, 2).
    #[inline(always)]
    igemm_fp32 dispatch[const OUT: u8](mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out,
        out_stride) {
        macro_rules! rows {
            ($($m:literal)*) => {
                match mr {
                    $(
                        // SAFETY: same contract with mr = M rows; the caller guarantees AVX2.
                        $m => unsafe {
                            rows_6x8::<$m, OUT>(ncols, w_stride, taps, kc, a, a_xor, w, bias, out, out_stride, q)
                        },
                    )*
                    _ => {}
                }
            };
        }
        rows!(1 2 3 4 5 6);
    }
}

/// Widens the bytes of k-groups `q0..q1` of one row of `kc` bytes (xor `xor`) to i16 at
/// `dst` (4 per group; the channels past `kc` of the last group hold `xor`: their weights are
/// 0): 4 groups per step from 16 bytes, then one group per step (small `kc`, e.g. the 3 input
/// channels of a first layer: one 4-byte read, `vpmovzxbw`, one 8-byte store).
///
/// # Safety
/// `row` is readable for `kc` bytes, `q0 < q1 <= ceil(kc / 4)`; `dst` is writable for
/// `q1 − q0` u64; the CPU has AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen_groups(row: *const u8, kc: usize, q0: usize, q1: usize, xor: u8, dst: *mut u64) {
    let xv = _mm_set1_epi8(xor as i8);
    let x32 = u32::from_ne_bytes([xor; 4]);
    let mut q = q0;
    // d = dst + (q − q0) throughout.
    let mut d = dst;
    while q + 4 <= q1 && 4 * q + 16 <= kc {
        // SAFETY: bytes 4q..4q + 16 <= kc are in the row; groups q..q + 4 <= q1 of dst.
        unsafe {
            let v = _mm_xor_si128(_mm_loadu_si128(row.add(4 * q).cast()), xv);
            _mm256_storeu_si256(d.cast(), _mm256_cvtepu8_epi16(v));
            d = d.add(4);
        }
        q += 4;
    }
    while q < q1 {
        // SAFETY: q < ceil(kc / 4); group q < q1 of dst.
        unsafe {
            widen_group(row, q, kc, x32, d);
            d = d.add(1);
        }
        q += 1;
    }
}

/// Widens k-group `q` of a row of `kc` bytes (xor `x32`, 4 bytes of the mask) to the 4 i16
/// at `dst`, reading only bytes below `kc` (the missing ones of a partial group read as 0).
///
/// # Safety
/// `row` is readable for `kc` bytes, `4q < kc`; `dst` is writable; the CPU has AVX2.
#[inline(always)]
unsafe fn widen_group(row: *const u8, q: usize, kc: usize, x32: u32, dst: *mut u64) {
    let k = 4 * q;
    // SAFETY: each read covers bytes k..min(k + 4, kc), inside the row (k < kc).
    let bytes = unsafe {
        let p = row.add(k);
        match kc - k {
            1 => u32::from(*p),
            2 => u32::from(core::ptr::read_unaligned(p.cast::<u16>())),
            3 => u32::from(core::ptr::read_unaligned(p.cast::<u16>())) | u32::from(*p.add(2)) << 16,
            _ => core::ptr::read_unaligned(p.cast::<u32>()),
        }
    };
    // SAFETY: dst is writable for 8 bytes; the CPU has AVX2 (caller contract; this inlines
    // into AVX2 functions only).
    unsafe {
        let v = _mm_cvtepu8_epi16(_mm_cvtsi32_si128((bytes ^ x32) as i32));
        _mm_storel_epi64(dst.cast(), v);
    }
}

/// Widens groups `g0..g1` of the call's tap-major K (group `g` = tap `g / kc4`, k-group
/// `g % kc4`) of rows `0..M` into `buf` (group `g` at index `g − g0`).
///
/// # Safety
/// `a` holds `taps · MR_6X8` row pointers, each readable for `kc` bytes, `g1 <= taps · kc4`,
/// `g1 − g0 <= CHUNK`; the CPU has AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn widen_rows<const M: usize>(
    buf: *mut Widened<M>,
    a: *const *const u8,
    kc: usize,
    kc4: usize,
    xor: u8,
    g0: usize,
    g1: usize,
) {
    if kc4 == 1 {
        // One group per tap (kc <= 4: a first layer's 3 channels): one 4-byte step per tap and
        // row, no loop per row.
        let x32 = u32::from_ne_bytes([xor; 4]);
        for g in g0..g1 {
            for m in 0..M {
                // SAFETY: tap g < taps, so a[g · MR + m] is one of the caller's pointers, to kc
                // bytes (0 < kc); g − g0 < CHUNK is inside the row of buf.
                unsafe {
                    let row = *a.add(g * MR_6X8 + m);
                    widen_group(row, 0, kc, x32, (*buf).0[m].as_mut_ptr().add(g - g0));
                }
            }
        }
        return;
    }
    let mut g = g0;
    while g < g1 {
        let (t, q0) = (g / kc4, g % kc4);
        let q1 = kc4.min(q0 + (g1 - g));
        for m in 0..M {
            // SAFETY: tap t < taps, so a[t · MR + m] is one of the caller's pointers; the row
            // of buf has CHUNK groups and g − g0 + (q1 − q0) <= g1 − g0 <= CHUNK.
            unsafe {
                let row = *a.add(t * MR_6X8 + m);
                let dst = (*buf).0[m].as_mut_ptr().add(g - g0);
                widen_groups(row, kc, q0, q1, xor, dst);
            }
        }
        g += q1 - q0;
    }
}

/// The 6x8 kernel with exactly `M` rows over `ceil(ncols / 8)` blocks; see [`dispatch`].
/// With `M <= 2` (GEMV-like calls, where streaming the packed weights is the whole work) the
/// k-loop runs two blocks at a time: each row's broadcast serves 16 columns and 4 or 8
/// independent accumulators keep more weight loads and `vpmaddwd` in flight.
///
/// # Safety
/// As [`dispatch`] with `mr = M`.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_6x8<const M: usize, const OUT: u8>(
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut u8,
    out_stride: usize,
    q: &Fp32Requant,
) {
    const NR: usize = NR_6X8;
    let kc4 = kc.div_ceil(4);
    // taps · kc4 · NR · 4 is a packed block's size (computed checked at pack time): no overflow.
    let groups = taps * kc4;
    let one_chunk = groups <= CHUNK;
    let mut buf = core::mem::MaybeUninit::<Widened<M>>::uninit();
    let bp = buf.as_mut_ptr();
    if one_chunk {
        // SAFETY: the caller's row pointers; groups <= CHUNK.
        unsafe { widen_rows::<M>(bp, a, kc, kc4, a_xor, 0, groups) };
    }
    let nblocks = ncols.div_ceil(NR);
    let mut b = 0;
    while b < nblocks {
        // Two blocks per step for one or two rows (see above), else one.
        let pair = M <= 2 && b + 1 < nblocks;
        // SAFETY: blocks b (and b + 1 when pair) < ceil(ncols / NR) of the call start
        // b · w_stride bytes from w.
        let wb = unsafe { w.add(b * w_stride) };
        let mut lo = [_mm256_setzero_si256(); M];
        let mut hi = [_mm256_setzero_si256(); M];
        let mut lo2 = [_mm256_setzero_si256(); M];
        let mut hi2 = [_mm256_setzero_si256(); M];
        let mut g0 = 0;
        while g0 < groups {
            let g1 = groups.min(g0 + CHUNK);
            if !one_chunk {
                // SAFETY: as above, g1 − g0 <= CHUNK.
                unsafe { widen_rows::<M>(bp, a, kc, kc4, a_xor, g0, g1) };
            }
            // SAFETY: group g of the block is at g · NR · 4 bytes (g < groups).
            let mut wp = unsafe { wb.add(g0 * NR * 4) };
            if pair {
                for g in 0..g1 - g0 {
                    // SAFETY: as in the single-block loop below, for blocks b and b + 1 (the
                    // second w_stride bytes after the first, both inside the call's blocks).
                    unsafe {
                        let w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.cast()));
                        let w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(16).cast()));
                        let w2 = wp.add(w_stride);
                        let w2_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(w2.cast()));
                        let w2_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(w2.add(16).cast()));
                        wp = wp.add(NR * 4);
                        for m in 0..M {
                            let p = (*bp).0[m].as_ptr().add(g);
                            let av = _mm256_broadcastq_epi64(_mm_loadl_epi64(p.cast()));
                            lo[m] = _mm256_add_epi32(lo[m], _mm256_madd_epi16(w_lo, av));
                            hi[m] = _mm256_add_epi32(hi[m], _mm256_madd_epi16(w_hi, av));
                            lo2[m] = _mm256_add_epi32(lo2[m], _mm256_madd_epi16(w2_lo, av));
                            hi2[m] = _mm256_add_epi32(hi2[m], _mm256_madd_epi16(w2_hi, av));
                        }
                    }
                }
            } else {
                for g in 0..g1 - g0 {
                    // SAFETY: 32 bytes of packed weights per group (the block holds `groups`
                    // of them); groups 0..g1 − g0 of every row of buf were written above.
                    unsafe {
                        let w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.cast()));
                        let w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(16).cast()));
                        wp = wp.add(NR * 4);
                        for m in 0..M {
                            let p = (*bp).0[m].as_ptr().add(g);
                            let av = _mm256_broadcastq_epi64(_mm_loadl_epi64(p.cast()));
                            lo[m] = _mm256_add_epi32(lo[m], _mm256_madd_epi16(w_lo, av));
                            hi[m] = _mm256_add_epi32(hi[m], _mm256_madd_epi16(w_hi, av));
                        }
                    }
                }
            }
            g0 = g1;
        }
        // SAFETY: block b < nblocks of the call (and b + 1 when pair): the caller's contract.
        unsafe {
            store_block::<M, OUT>(&lo, &hi, b, ncols, bias, q, out, out_stride);
            if pair {
                store_block::<M, OUT>(&lo2, &hi2, b + 1, ncols, bias, q, out, out_stride);
            }
        }
        b += if pair { 2 } else { 1 };
    }
}

/// Adds the bias of block `b` to its accumulators (`lo`, `hi` per row: the `vpmaddwd` pair
/// sums of columns 0–3 and 4–7) and stores the block's `min(ncols − b · NR, NR)` columns of
/// rows `0..M`: i32 (`OUT = 0`) or requantized bytes (see [`dispatch`]).
///
/// # Safety
/// As [`dispatch`] with `mr = M`, `b < ceil(ncols / NR)`.
#[inline]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn store_block<const M: usize, const OUT: u8>(
    lo: &[__m256i; M],
    hi: &[__m256i; M],
    b: usize,
    ncols: usize,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
) {
    const NR: usize = NR_6X8;
    let nr = (ncols - b * NR).min(NR);
    // SAFETY: the block's bias holds NR values.
    let bv = unsafe { _mm256_loadu_si256(bias.add(b * NR).cast()) };
    // hadd of [c0 c0 c1 c1 | c2 c2 c3 c3] and [c4 c4 c5 c5 | c6 c6 c7 c7]: the column sums
    // in the order [c0 c1 c4 c5 | c2 c3 c6 c7] ("hadd order"; swapping its middle 64-bit
    // lanes restores c0..c7 and is its own inverse).
    if OUT == 0 {
        let o = out.cast::<i32>();
        for m in 0..M {
            let s = _mm256_hadd_epi32(lo[m], hi[m]);
            let s = _mm256_add_epi32(_mm256_permute4x64_epi64::<0b11_01_10_00>(s), bv);
            // SAFETY: row m < mr of out holds nr i32 from column b · NR (one block: b = 0).
            unsafe {
                let dst = o.add(m * out_stride + b * NR);
                if nr == NR {
                    _mm256_storeu_si256(dst.cast(), s);
                } else {
                    let mut row = [0i32; NR];
                    _mm256_storeu_si256(row.as_mut_ptr().cast(), s);
                    core::ptr::copy_nonoverlapping(row.as_ptr(), dst, nr);
                }
            }
        }
        return;
    }
    // Requantize in hadd order: the bias and the scales are permuted to it instead.
    let bv = _mm256_permute4x64_epi64::<0b11_01_10_00>(bv);
    let (lo_c, hi_c, zp) = (
        _mm256_set1_ps(q.lo),
        _mm256_set1_ps(q.hi),
        _mm256_set1_epi32(q.zero_point),
    );
    let row_lanes = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let col_order = _mm256_setr_epi8(
        0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13,
        10, 11, 14, 15,
    );
    let scale = match q.channel_scales {
        Some(cs) => {
            // The caller's scales cover the call's columns (contract); a short slice panics
            // here rather than reading past it.
            let mut s = [0f32; NR];
            s[..nr].copy_from_slice(&cs[b * NR..b * NR + nr]);
            // SAFETY: s is NR f32.
            let v = unsafe { _mm256_loadu_si256(s.as_ptr().cast()) };
            _mm256_castsi256_ps(_mm256_permute4x64_epi64::<0b11_01_10_00>(v))
        }
        None => _mm256_set1_ps(q.scale),
    };
    let mut i = [_mm256_setzero_si256(); 8];
    for m in 0..M {
        let s = _mm256_add_epi32(_mm256_hadd_epi32(lo[m], hi[m]), bv);
        let f = _mm256_mul_ps(_mm256_cvtepi32_ps(s), scale);
        let f = _mm256_min_ps(_mm256_max_ps(f, lo_c), hi_c);
        i[m] = _mm256_add_epi32(_mm256_cvtps_epi32(f), zp);
    }
    // Four rows per step, in [qmin, qmax] (the saturating packs change nothing): i32 -> i16
    // (rows 0, 1 and 2, 3) -> bytes, whose 32-bit lanes then hold, per 128-bit half, rows
    // 0..3 of columns (0 1 4 5) and (2 3 6 7); vpermd pairs each row's two lanes, vpshufb
    // puts the bytes in column order: row r in 64-bit lane r.
    for r in (0..M).step_by(4) {
        let p01 = _mm256_packs_epi32(i[r], i[r + 1]);
        let p23 = _mm256_packs_epi32(i[r + 2], i[r + 3]);
        let bytes = if OUT == 2 {
            _mm256_packs_epi16(p01, p23)
        } else {
            _mm256_packus_epi16(p01, p23)
        };
        let bytes = _mm256_permutevar8x32_epi32(bytes, row_lanes);
        let bytes = _mm256_shuffle_epi8(bytes, col_order);
        let mut rows8 = [0u64; 4];
        // SAFETY: rows8 is 32 bytes.
        unsafe { _mm256_storeu_si256(rows8.as_mut_ptr().cast(), bytes) };
        for (j, v) in rows8.iter().enumerate().take(M - r) {
            // SAFETY: row r + j < M = mr of out is writable for ncols bytes, columns
            // b · NR..b · NR + nr among them.
            unsafe {
                let dst = out.add((r + j) * out_stride + b * NR);
                if nr == NR {
                    core::ptr::write_unaligned(dst.cast::<u64>(), *v);
                } else {
                    core::ptr::copy_nonoverlapping(v.to_le_bytes().as_ptr(), dst, nr);
                }
            }
        }
    }
}
