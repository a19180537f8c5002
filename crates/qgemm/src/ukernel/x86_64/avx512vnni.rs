//! `igemm_8x32c4__avx512vnni`: 8 rows × 32 columns, 4 input channels per `vpdpbusd`.
//!
//! Per k-group: two 64-byte weight loads (32 columns × 4 channels), one 4-byte broadcast of each
//! row's activations, 16 `vpdpbusd` into 16 zmm accumulators.
#![allow(non_snake_case)]

use super::super::{load_tail, Fp32Requant};
use core::arch::x86_64::*;

/// Rows per tile.
pub const MR: usize = 8;
/// Columns per tile.
pub const NR: usize = 32;

out_entries! {
    dispatch,
    /// See [`super::super::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFn`] with `MR = 8`, `NR = 32`, on a CPU with AVX-512 F
    /// and VNNI.
    igemm_8x32c4__avx512vnni,
    /// `igemm_8x32c4__avx512vnni` with the `Fp32` requantization (per tensor or per channel) fused into the store:
    /// see [`super::super::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFp32Fn`] with `MR = 8`, `NR = 32`, on a CPU with
    /// AVX-512 F/BW/VL and VNNI.
    igemm_8x32c4_fp32__avx512vnni,
}

kernel_fn! {
    /// Picks the kernel with exactly `mr` rows (GEMV and image tails do not repeat a row).
    ///
    /// # Safety
    /// As [`igemm_8x32c4__avx512vnni`] (OUT = 0, `out` holds i32) or [`igemm_8x32c4_fp32__avx512vnni`] (OUT = 1, 2).
    #[inline(always)]
    igemm_fp32 dispatch[const OUT: u8](mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out,
        out_stride) {
        macro_rules! rows {
            ($($m:literal)*) => {
                match (mr, a_xor == 0) {
                    $(
                        // SAFETY: same contract; the caller guarantees the CPU features.
                        ($m, true) => unsafe { inner::<false, $m, OUT>(ncols, w_stride, taps, kc, a, w, bias, out, out_stride, q) },
                        // SAFETY: as above.
                        ($m, false) => unsafe { inner::<true, $m, OUT>(ncols, w_stride, taps, kc, a, w, bias, out, out_stride, q) },
                    )*
                    _ => {}
                }
            };
        }
        rows!(1 2 3 4 5 6 7 8);
    }
}

/// One k-group of 4 channels for all rows: broadcast each row's 4 bytes, two `vpdpbusd`.
#[inline]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn step<const XOR: bool, const M: usize>(
    rows: &[*const u8; M],
    k: usize,
    w0: __m512i,
    w1: __m512i,
    lo: &mut [__m512i; M],
    hi: &mut [__m512i; M],
) {
    for m in 0..M {
        // SAFETY: the caller guarantees bytes k..k+4 of every row are readable.
        let mut av =
            unsafe { _mm512_set1_epi32(core::ptr::read_unaligned(rows[m].add(k).cast::<i32>())) };
        if XOR {
            av = _mm512_xor_si512(av, _mm512_set1_epi8(0x80u8 as i8));
        }
        lo[m] = _mm512_dpbusd_epi32(lo[m], av, w0);
        hi[m] = _mm512_dpbusd_epi32(hi[m], av, w1);
    }
}

/// The kernel body over `ncols` columns: `ceil(ncols / NR)` consecutive packed blocks
/// (`w_stride` bytes apart, biases `NR` apart), the last one `ncols mod NR` wide (or full).
/// OUT = 0: `out` is i32 (`out_stride` in elements); 1: u8, 2: i8 after the `q`
/// requantization (`out_stride` in bytes).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn inner<const XOR: bool, const M: usize, const OUT: u8>(
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    w: *const i8,
    bias: *const i32,
    out: *mut u8,
    out_stride: usize,
    q: &Fp32Requant,
) {
    let mut col = 0;
    while col < ncols {
        let nr = (ncols - col).min(NR);
        let blk = col / NR;
        // SAFETY: block `blk` exists (caller contract): its weights, its NR biases, and
        // columns col..col + nr of every output row.
        unsafe {
            let elem = if OUT == 0 { 4 } else { 1 };
            one_block::<XOR, M, OUT>(
                nr,
                taps,
                kc,
                a,
                w.add(blk * w_stride),
                bias.add(blk * NR),
                out.add(col * elem),
                out_stride,
                q,
                col,
            );
        }
        col += nr;
    }
}

/// One NR block of [`inner`].
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn one_block<const XOR: bool, const M: usize, const OUT: u8>(
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    w: *const i8,
    bias: *const i32,
    out: *mut u8,
    out_stride: usize,
    q: &Fp32Requant,
    col: usize,
) {
    let kc4 = kc.div_ceil(4);
    let full = kc / 4;

    // SAFETY: bias holds NR = 32 values.
    let (b0, b1) = unsafe {
        (
            _mm512_loadu_si512(bias.cast()),
            _mm512_loadu_si512(bias.add(16).cast()),
        )
    };
    let mut lo = [b0; M];
    let mut hi = [b1; M];
    let mut wp = w;
    for t in 0..taps {
        let mut rows = [core::ptr::null::<u8>(); M];
        for (m, r) in rows.iter_mut().enumerate() {
            // SAFETY: a holds taps · MR pointers.
            *r = unsafe { *a.add(t * MR + m) };
        }
        for q in 0..full {
            // SAFETY: the packed block holds taps · kc4 groups of 128 bytes; wp walks them in
            // order; 4·q + 4 <= kc, so every row is readable at 4·q..4·q+4.
            unsafe {
                let w0 = _mm512_loadu_si512(wp.cast());
                let w1 = _mm512_loadu_si512(wp.add(64).cast());
                wp = wp.add(NR * 4);
                step::<XOR, M>(&rows, 4 * q, w0, w1, &mut lo, &mut hi);
            }
        }
        if full < kc4 {
            // The last partial group: load_tail reads only the kc bytes of each row (inline:
            // no call, so no vector register is spilled around it).
            let mut tail = [[0u8; 4]; M];
            for (m, t) in tail.iter_mut().enumerate() {
                // SAFETY: 4·full < kc < 4·full + 4; bytes 4·full..kc are inside the row.
                *t = (unsafe { load_tail(rows[m].add(4 * full), kc - 4 * full) } as u32)
                    .to_le_bytes();
            }
            let tail_rows: [*const u8; M] = core::array::from_fn(|m| tail[m].as_ptr());
            // SAFETY: as above for the weights; each tail row is 4 readable bytes.
            unsafe {
                let w0 = _mm512_loadu_si512(wp.cast());
                let w1 = _mm512_loadu_si512(wp.add(64).cast());
                wp = wp.add(NR * 4);
                step::<XOR, M>(&tail_rows, 0, w0, w1, &mut lo, &mut hi);
            }
        }
    }
    if OUT == 0 {
        // SAFETY: rows 0..M (= mr) of out hold nr i32 at out_stride elements (caller contract).
        unsafe { store_i32::<M>(&lo, &hi, out.cast(), out_stride, nr) };
        return;
    }
    // Fused Fp32 requantization, the definition of `Requantizer::requantize`: acc as f32 (round
    // to nearest), times the scale, clamped to [qmin − zp, qmax − zp], rounded half to even
    // (the default MXCSR mode), plus zp; then in [qmin, qmax], so the saturating narrowing is
    // exact.
    // SAFETY: q's channel scales (if any) cover this call's columns, col..col + nr among them.
    let (s_lo, s_hi) = unsafe { block_scales(q, col, nr) };
    let (lo_c, hi_c, zp) = (
        _mm512_set1_ps(q.lo),
        _mm512_set1_ps(q.hi),
        _mm512_set1_epi32(q.zero_point),
    );
    let requant = |v: __m512i, scale: __m512| -> __m128i {
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
        let f = _mm512_min_ps(_mm512_max_ps(f, lo_c), hi_c);
        let i = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
        if OUT == 2 {
            _mm512_cvtsepi32_epi8(i)
        } else {
            _mm512_cvtusepi32_epi8(i)
        }
    };
    let mask: __mmask32 = if nr >= 32 { u32::MAX } else { (1u32 << nr) - 1 };
    for m in 0..M {
        let bytes = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(requant(lo[m], s_lo)),
            requant(hi[m], s_hi),
        );
        // SAFETY: row m < M = mr of out is writable for nr bytes; the mask stores only j < nr.
        unsafe {
            let o = out.add(m * out_stride);
            if nr == NR {
                _mm256_storeu_si256(o.cast(), bytes);
            } else {
                _mm256_mask_storeu_epi8(o.cast(), mask, bytes);
            }
        }
    }
}

kernel_fn! {
    /// `igemm_8x32c4__avx512vnni`'s strided-A form (the `gemm_` prefix: A rows `lda` apart, no indirection) with the `Fp32` requantization (per tensor or per channel) fused, for plain
    /// (strided) A: `mb` full blocks of 8 rows (row `r` at `a + r · lda`), each against `ncols`
    /// columns of packed B (`ceil(ncols / NR)` blocks `w_stride` bytes apart, biases `NR` apart),
    /// in one call; row `r` of the output is at `out + r · out_stride`. One call per task instead
    /// of one per row block, and a cheaper requantization than [`igemm_8x32c4_fp32__avx512vnni`]'s: at K = 64
    /// (Q2) each tile is only 256 `vpdpbusd`, so the per-call set-up and the store sequence showed
    /// as ~20% of the time.
    ///
    /// The requantization is [`Fp32Requant`]'s, computed in the integer domain after rounding: for
    /// integer bounds `round(clamp(x, lo, hi)) + zp == clamp(round(x) + zp, qmin, qmax)`. So: the
    /// f32 product (capped below 2³¹ when `scale >= 1`; with `scale < 1` and `|acc| <= 2³¹` it
    /// already is: `2³¹ · (1 − 2⁻²⁴)` is exact), rounded to even (`vcvtps2dq`; a product at or below
    /// −2³¹ gives i32::MIN), narrowed to i16 with saturation, `+ zp` with i16 saturation, narrowed
    /// to bytes with saturation, and clamped to `[qmin, qmax]` on bytes unless that is the whole
    /// type. Every saturation happens on the side the exact value lies and `[qmin, qmax]` lies
    /// inside every intermediate range, so the bytes equal `Requantizer::requantize`'s (tested
    /// against it, including products past ±2³¹).
    ///
    /// (A software-pipelined form, requantizing a tile from a stack copy of its accumulators during
    /// the next tile's first k-groups, was 1.5% faster on a quiet core but 20% slower in the
    /// phases when this shared VM's core was slowed by a neighbour (61.3/74.7 µs vs 62.3/65.4 µs on
    /// Q2); this direct form is the robust one.)
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/VL and VNNI; `kc4 · 4` bytes are readable from every row
    /// `a + r · lda`, `r < 8 · mb` (bytes past `kc` may hold anything: their packed weights are
    /// zero); `w` holds `ceil(ncols / NR)` packed blocks of `kc4` groups (one tap), `w_stride`
    /// bytes apart, and `bias` their `NR` biases each; `out` is writable for `8 · mb` rows of
    /// `ncols` bytes at stride `out_stride`, and no other thread accesses them; `q.lo` and `q.hi`
    /// are integers with `q.lo + zp`, `q.hi + zp` inside the output type.
    pub gemm_fp32 gemm_8x32c4_fp32__avx512vnni(mb, ncols, w_stride, kc4, a, lda, a_xor, w, bias,
        q, out, out_stride) {
        let (tmin, tmax) = if q.signed { (-128, 127) } else { (0, 255) };
        let clamp = q.lo as i32 + q.zero_point > tmin || q.hi as i32 + q.zero_point < tmax;
        let cap = q.scale >= 1.0;
        macro_rules! go {
            ($($x:literal $s:literal $c:literal $p:literal)*) => {
                match (a_xor != 0, q.signed, clamp, cap) {
                    $(
                        // SAFETY: the caller's contract, passed on.
                        ($x, $s, $c, $p) => unsafe {
                            strided::<$x, false, $s, $c, $p>(
                                mb, ncols, w_stride, kc4, a, lda, w, bias, q, out, out_stride,
                            )
                        },
                    )*
                }
            };
        }
        go!(
            false false false false  false false false true  false false true false  false false true true
            false true false false   false true false true   false true true false   false true true true
            true false false false   true false false true   true false true false   true false true true
            true true false false    true true false true    true true true false    true true true true
        );
    }
}

kernel_fn! {
    /// The strided-A form of `igemm_8x32c4__avx512vnni` for plain A with i32 output: as
    /// [`gemm_8x32c4_fp32__avx512vnni`] (`mb` full 8-row blocks in one call, same read contract), storing
    /// the accumulators to `out` (row stride `out_stride` elements).
    ///
    /// # Safety
    /// As [`gemm_8x32c4_fp32__avx512vnni`], with `out` writable for `8 · mb` rows of `ncols` i32.
    pub gemm_i32 gemm_8x32c4__avx512vnni(mb, ncols, w_stride, kc4, a, lda, a_xor, w, bias, out,
        out_stride) {
        let (q, o) = (&Fp32Requant::UNUSED, out.cast());
        // SAFETY: the caller's contract, passed on (the requantizer is unused with I32).
        unsafe {
            if a_xor == 0 {
                strided::<false, true, false, false, false>(mb, ncols, w_stride, kc4, a, lda, w,
                    bias, q, o, out_stride)
            } else {
                strided::<true, true, false, false, false>(mb, ncols, w_stride, kc4, a, lda, w,
                    bias, q, o, out_stride)
            }
        }
    }
}

/// The body of [`gemm_8x32c4_fp32__avx512vnni`] and [`gemm_8x32c4__avx512vnni`]. XOR: flip the
/// activations' sign bit; I32: store the accumulators (`out` holds i32, `out_stride` in
/// elements); else requantize: SIGNED: i8 output; CLAMP: clamp the bytes to `[qmin, qmax]`; CAP:
/// cap the product below 2³¹.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn strided<
    const XOR: bool,
    const I32: bool,
    const SIGNED: bool,
    const CLAMP: bool,
    const CAP: bool,
>(
    mb: usize,
    ncols: usize,
    w_stride: usize,
    kc4: usize,
    a: *const u8,
    lda: usize,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
) {
    // The largest f32 below 2^31.
    let cap = _mm512_set1_ps(2_147_483_520.0);
    let zp = _mm512_set1_epi16(q.zero_point as i16);
    let (qmin, qmax) = (
        (q.lo as i32 + q.zero_point) as i8,
        (q.hi as i32 + q.zero_point) as i8,
    );
    let (bmin, bmax) = (_mm512_set1_epi8(qmin), _mm512_set1_epi8(qmax));
    let flip = _mm512_set1_epi8(0x80u8 as i8);
    // After the two in-lane packs, dword j of lane L holds 4 bytes of row r (j = 0: columns
    // 4L.., j = 1: 16 + 4L..) or row r + 1 (j = 2, 3); this puts row r's 32 bytes first.
    let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    let rescale = |v: __m512i, scale: __m512| -> __m512i {
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
        _mm512_cvtps_epi32(if CAP { _mm512_min_ps(f, cap) } else { f })
    };
    let nblocks = ncols.div_ceil(NR);
    for blk in 0..mb {
        // SAFETY: rows 8·blk .. 8·blk + 8 of A and of the output are inside the caller's range.
        let (rows, orow): ([*const u8; 8], *mut u8) = unsafe {
            (
                core::array::from_fn(|m| a.add((8 * blk + m) * lda)),
                out.add(8 * blk * out_stride),
            )
        };
        for nb in 0..nblocks {
            let nr = (ncols - nb * NR).min(NR);
            // SAFETY: block nb exists with NR biases (caller contract).
            let (b0, b1) = unsafe {
                let b = bias.add(nb * NR);
                (
                    _mm512_loadu_si512(b.cast()),
                    _mm512_loadu_si512(b.add(16).cast()),
                )
            };
            let mut lo = [b0; 8];
            let mut hi = [b1; 8];
            // SAFETY: block nb's kc4 groups of 128 bytes.
            let mut wp = unsafe { w.add(nb * w_stride) };
            for g in 0..kc4 {
                // SAFETY: group g of the block; bytes 4g..4g+4 of every row are readable.
                unsafe {
                    let w0 = _mm512_loadu_si512(wp.cast());
                    let w1 = _mm512_loadu_si512(wp.add(64).cast());
                    wp = wp.add(NR * 4);
                    for m in 0..8 {
                        let mut av = _mm512_set1_epi32(core::ptr::read_unaligned(
                            rows[m].add(4 * g).cast::<i32>(),
                        ));
                        if XOR {
                            av = _mm512_xor_si512(av, flip);
                        }
                        lo[m] = _mm512_dpbusd_epi32(lo[m], av, w0);
                        hi[m] = _mm512_dpbusd_epi32(hi[m], av, w1);
                    }
                }
            }
            if I32 {
                // SAFETY: `out` holds i32 here; rows 8·blk .. 8·blk + 8 of it hold ncols i32 at
                // out_stride elements (caller contract), columns nb·NR .. nb·NR + nr among them.
                unsafe {
                    let o = out.cast::<i32>().add(8 * blk * out_stride + nb * NR);
                    store_i32::<8>(&lo, &hi, o, out_stride, nr);
                }
                continue;
            }
            // SAFETY: q's channel scales (if any) cover the call's columns (caller contract).
            let (s_lo, s_hi) = unsafe { block_scales(q, nb * NR, nr) };
            // Two rows per store pair: 4 accumulators -> one zmm of 64 bytes.
            for r in (0..8).step_by(2) {
                // i16 lane L of row r: columns 4L.., then 16 + 4L.. (in-lane pack).
                let s0 = _mm512_adds_epi16(
                    _mm512_packs_epi32(rescale(lo[r], s_lo), rescale(hi[r], s_hi)),
                    zp,
                );
                let s1 = _mm512_adds_epi16(
                    _mm512_packs_epi32(rescale(lo[r + 1], s_lo), rescale(hi[r + 1], s_hi)),
                    zp,
                );
                let bytes = if SIGNED {
                    let b = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(s0, s1));
                    if CLAMP {
                        _mm512_min_epi8(_mm512_max_epi8(b, bmin), bmax)
                    } else {
                        b
                    }
                } else {
                    let b = _mm512_permutexvar_epi32(order, _mm512_packus_epi16(s0, s1));
                    if CLAMP {
                        _mm512_min_epu8(_mm512_max_epu8(b, bmin), bmax)
                    } else {
                        b
                    }
                };
                let (h0, h1) = (
                    _mm512_castsi512_si256(bytes),
                    _mm512_extracti64x4_epi64::<1>(bytes),
                );
                // SAFETY: rows r, r + 1 of this block are writable for ncols bytes (caller
                // contract); columns nb·NR .. nb·NR + nr, and the mask stores only those.
                unsafe {
                    let o0 = orow.add(r * out_stride + nb * NR);
                    let o1 = o0.add(out_stride);
                    if nr == NR {
                        _mm256_storeu_si256(o0.cast(), h0);
                        _mm256_storeu_si256(o1.cast(), h1);
                    } else {
                        let mask: __mmask32 = (1u32 << nr) - 1;
                        _mm256_mask_storeu_epi8(o0.cast(), mask, h0);
                        _mm256_mask_storeu_epi8(o1.cast(), mask, h1);
                    }
                }
            }
        }
    }
}

/// The multipliers of columns `col..col + nr` (`nr <= NR`) of a kernel call: `q`'s channel
/// scales there (0 in the lanes past `nr`, whose columns are not stored), or its one scale.
///
/// # Safety
/// With channel scales, they hold at least `col + nr` entries; the CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn block_scales(q: &Fp32Requant, col: usize, nr: usize) -> (__m512, __m512) {
    match q.channel_scales {
        Some(cs) => {
            let (lo, hi) = half_masks(nr);
            let p = cs.as_ptr().wrapping_add(col);
            // SAFETY: the masks cover only columns col..col + nr, inside `cs` (caller
            // contract); masked-off lanes are not read (AVX-512 masked loads suppress faults).
            unsafe {
                (
                    _mm512_maskz_loadu_ps(lo, p),
                    _mm512_maskz_loadu_ps(hi, p.wrapping_add(16)),
                )
            }
        }
        None => (_mm512_set1_ps(q.scale), _mm512_set1_ps(q.scale)),
    }
}

/// The lane masks of an NR block's two 16-column halves when its first `nr` (<= NR) columns
/// are valid.
#[inline(always)]
fn half_masks(nr: usize) -> (__mmask16, __mmask16) {
    let lanes = |n: usize| ((1u32 << n) - 1) as __mmask16;
    (lanes(nr.min(16)), lanes(nr.min(NR).saturating_sub(16)))
}

/// Stores the i32 accumulators of `M` rows of one NR block (`lo`: columns 0..16, `hi`: 16..32),
/// the first `nr` columns of each, to `out` (row stride `out_stride` elements).
///
/// # Safety
/// Rows `0..M` of `out` are writable for `nr` i32 each; the CPU has AVX-512 F.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_i32<const M: usize>(
    lo: &[__m512i; M],
    hi: &[__m512i; M],
    out: *mut i32,
    out_stride: usize,
    nr: usize,
) {
    let (mask_lo, mask_hi) = half_masks(nr);
    for m in 0..M {
        // SAFETY: row m is writable for nr i32 (caller contract); the masks store only j < nr.
        unsafe {
            let o = out.add(m * out_stride);
            if nr == NR {
                _mm512_storeu_si512(o.cast(), lo[m]);
                _mm512_storeu_si512(o.add(16).cast(), hi[m]);
            } else {
                _mm512_mask_storeu_epi32(o.cast(), mask_lo, lo[m]);
                if mask_hi != 0 {
                    _mm512_mask_storeu_epi32(o.add(16).cast(), mask_hi, hi[m]);
                }
            }
        }
    }
}
