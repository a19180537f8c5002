//! AVX2 + FMA kernels: `dwconv_c16__avx2` (int8; `dwconv_c16_fp32__avx2` with the per-tensor
//! `Fp32` requantization fused) and `dwconv_f32_c8x4__avx2` / `dwconv_f32_c8x8s1__avx2` (fp32).
//!
//! int8: bytes of two taps are widened to i16 and interleaved (`vpunpck{l,h}wd`), then
//! multiplied by the pair-interleaved packed weights `w'` with `vpmaddwd` + `vpaddd`: two taps per
//! instruction, exact in i32 (|x| ≤ 255, |w'| ≤ 255, no i16 saturation); a partial tile goes
//! through a small buffer. fp32: 8 channels per vector, 4 output pixels per iteration sharing
//! each weight load, fused multiply-adds in tap order, clamp at the store (`vmaskmovps` for a
//! partial tile); with stride 1 along W, 8 pixels per iteration and each input column loaded once
//! for the `kw` pixels that use it. Nothing reads past a row. Specialised for 9 and 25 taps.

#![allow(non_snake_case)]

use crate::ukernel::f32_tiles::{self, F32Lanes, Tile};
use crate::ukernel::{pack_f32_tiles, pack_i8_pairs, Fp32Requant};
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
        let (q, out) = (&Fp32Requant::UNUSED, out.cast());
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => i8_256::<SIGNED, K, false>(px, taps, ind, w, ch, q, out)) }
    }
}

kernel_fn! {
    /// `dwconv_c16_fp32__avx2`: [`dwconv_c16__avx2`] with the per-tensor `Fp32` requantization
    /// fused into its store (see [`crate::ukernel::DwI8QFn`]): per 16 channels `vcvtdq2ps`,
    /// `vmulps`, the float clamp, `vcvtps2dq`, then `vpackssdw` (which also puts the
    /// pair-interleaved accumulators back in channel order), the zero point added in i16 and
    /// `vpackuswb` / `vpacksswb`; the i32 sums never leave the registers.
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`pack_i8`], on a CPU with
    /// AVX2.
    q8 dwconv_c16_fp32__avx2(px, taps, ind, w, ch, q, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => i8_256::<SIGNED, K, true>(px, taps, ind, w, ch, q, out)) }
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

/// The `Fp32` stage's constants as vectors.
struct QConsts {
    scale: __m256,
    lo: __m256,
    hi: __m256,
    zp: __m256i,
}

impl QConsts {
    #[inline(always)]
    unsafe fn new(q: &Fp32Requant<'_>) -> Self {
        // SAFETY: register-only intrinsics; callers are AVX2 target-feature functions.
        unsafe {
            QConsts {
                scale: _mm256_set1_ps(q.scale),
                lo: _mm256_set1_ps(q.lo),
                hi: _mm256_set1_ps(q.hi),
                zp: _mm256_set1_epi16(q.zero_point as i16),
            }
        }
    }

    /// The 16 output bytes, in channel order, of the pair-interleaved accumulators `lo`, `hi`
    /// (per 128-bit lane `L`: `lo` channels `8L..8L + 3`, `hi` `8L + 4..8L + 7`), exactly as
    /// `Requantizer::requantize` (Fp32 scheme): `clamp(acc · scale, lo, hi)` rounded to
    /// nearest-even (MXCSR default) plus the zero point. Every value is in `[qmin, qmax]` before
    /// the narrowing packs (|value − zero point| ≤ 255 and the clamp), so they saturate nothing.
    #[inline(always)]
    unsafe fn bytes<const SIGNED_OUT: bool>(&self, lo: __m256i, hi: __m256i) -> __m128i {
        // SAFETY: register-only intrinsics (AVX2 callers).
        unsafe {
            let f = |v: __m256i| {
                let x = _mm256_mul_ps(_mm256_cvtepi32_ps(v), self.scale);
                // As the AVX-512 store; no NaN can occur (finite i32 times a finite scale).
                _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(x, self.lo), self.hi))
            };
            // Per lane L: channels 8L..8L + 8 as i16.
            let h = _mm256_adds_epi16(_mm256_packs_epi32(f(lo), f(hi)), self.zp);
            let (a, b) = (_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            if SIGNED_OUT {
                _mm_packs_epi16(a, b)
            } else {
                _mm_packus_epi16(a, b)
            }
        }
    }
}

/// The pair kernel: raw i32 sums (`out` as `*mut i32`) or, with `Q`, bytes requantized by `q`.
#[target_feature(enable = "avx2,fma")]
unsafe fn i8_256<const SIGNED: bool, const K: usize, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
    out: *mut u8,
) {
    // SAFETY: forwarded contract; the output signedness only picks the narrowing.
    unsafe {
        if Q && q.signed {
            i8_256_body::<SIGNED, K, Q, true>(px, taps, ind, w, ch, q, out)
        } else {
            i8_256_body::<SIGNED, K, Q, false>(px, taps, ind, w, ch, q, out)
        }
    }
}

#[inline(always)]
unsafe fn i8_256_body<const SIGNED: bool, const K: usize, const Q: bool, const SOUT: bool>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
    out: *mut u8,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let tile_words = 16 * (1 + taps.div_ceil(2));
    let full = ch / 16;
    // SAFETY: full tiles j < ch / 16 cover channels 16j..16j + 16 <= ch, the tail tile the
    // remaining ch mod 16 (read and written exactly, through copies); the packed buffer holds
    // ch.div_ceil(16) tiles of tile_words words; the indirection list px · taps pointers.
    unsafe {
        let qc = QConsts::new(q);
        for p in 0..px {
            let rows = ind.add(p * taps);
            for j in 0..full {
                let wt = w.add(j * tile_words);
                pair_tile::<SIGNED, K, Q, SOUT, true>(taps, rows, wt, 16 * j, 16, &qc, out, p * ch);
            }
            if full * 16 < ch {
                let (c, wt) = (16 * full, w.add(full * tile_words));
                pair_tile::<SIGNED, K, Q, SOUT, false>(taps, rows, wt, c, ch - c, &qc, out, p * ch);
            }
        }
    }
}

/// Channels `c..c + n` (`FULL`: `n == 16`) of one pixel, whose `taps` rows are at `rows`, with
/// the tile's packed weights `wt`; stores at element `o + c` of `out` (bytes with `Q`, i32
/// otherwise).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pair_tile<
    const SIGNED: bool,
    const K: usize,
    const Q: bool,
    const SOUT: bool,
    const FULL: bool,
>(
    taps_rt: usize,
    rows: *const *const u8,
    wt: *const i32,
    c: usize,
    n: usize,
    qc: &QConsts,
    out: *mut u8,
    o: usize,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let n = if FULL { 16 } else { n };
    // SAFETY: the caller's: rows[t] readable for channels c..c + n, wt the tile's words, the
    // output element range o + c..o + c + n writable.
    unsafe {
        let mut lo = _mm256_loadu_si256(wt.cast());
        let mut hi = _mm256_loadu_si256(wt.add(8).cast());
        for pr in 0..taps.div_ceil(2) {
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
        if Q {
            let b = qc.bytes::<SOUT>(lo, hi);
            let o = out.add(o + c);
            if FULL {
                _mm_storeu_si128(o.cast(), b);
            } else {
                let mut buf = [0u8; 16];
                _mm_storeu_si128(buf.as_mut_ptr().cast(), b);
                core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n);
            }
        } else {
            let o = out.cast::<i32>().add(o + c);
            let r0 = _mm256_permute2x128_si256(lo, hi, 0x20);
            let r1 = _mm256_permute2x128_si256(lo, hi, 0x31);
            if FULL {
                _mm256_storeu_si256(o.cast(), r0);
                _mm256_storeu_si256(o.add(8).cast(), r1);
            } else {
                let mut buf = [0i32; 16];
                _mm256_storeu_si256(buf.as_mut_ptr().cast(), r0);
                _mm256_storeu_si256(buf.as_mut_ptr().add(8).cast(), r1);
                core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n);
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
        unsafe { by_taps!(taps, K => f32_256::<false, 0, K>(px, 0, taps, ind, w, ch, lo, hi, out)) }
    }
}

kernel_fn! {
    /// `dwconv_f32_c8x8s1__avx2` (fp32, stride 1 and dilation 1 along W); see
    /// [`crate::ukernel::DwF32S1Fn`]. Pixels `p..p + P` (P = 8, then 4, then 1) of one kernel
    /// row read `P + kw − 1` input columns, each loaded once (one row pointer, one load) and
    /// multiplied by up to `kw` weights held in registers: a 3x3 kernel at P = 8 makes 10 pointer
    /// and 10 data loads per row for 24 FMAs, against 24 of each in
    /// [`dwconv_f32_c8x4__avx2`], which leaves the FMA pipes, not the loads, the bound. Each pixel
    /// still accumulates in tap order (bit-identical to the reference).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32S1Fn`] with the layout of [`pack_f32`], on a CPU
    /// with AVX2 and FMA.
    f32s1 dwconv_f32_c8x8s1__avx2(px, kw, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe {
            match (taps, kw) {
                (9, 3) => f32_256::<true, 3, 9>(px, kw, taps, ind, w, ch, lo, hi, out),
                (25, 5) => f32_256::<true, 5, 25>(px, kw, taps, ind, w, ch, lo, hi, out),
                _ => f32_256::<true, 0, 0>(px, kw, taps, ind, w, ch, lo, hi, out),
            }
        }
    }
}

/// The fp32 driver: pixel blocks of [`PB`] (with `S1`, 8 first), then 1; `KW`, `K`: the kernel
/// width and tap count when specialised (else 0).
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_256<const S1: bool, const KW: usize, const K: usize>(
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
    // SAFETY: forwarded contract; each call covers pixels p..p+P <= px.
    unsafe {
        if S1 {
            pixel_blocks!(px, p, [2 * PB, PB], P => {
                f32_256_px::<true, KW, K, P>(kw, taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
            })
        } else {
            pixel_blocks!(px, p, [PB], P => {
                f32_256_px::<false, KW, K, P>(kw, taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
            })
        }
    }
}

/// The AVX2 + FMA fp32 lanes of [`f32_tiles`]: `__m256`, a partial tile's lanes as a
/// `vmaskmovps` mask (sign bit set: the lane is read / written).
struct Avx2F32;

impl F32Lanes for Avx2F32 {
    type V = __m256;
    type M = __m256i;

    #[inline(always)]
    unsafe fn zero() -> __m256 {
        // SAFETY: register-only; the callers run with AVX2 + FMA (the trait's contract).
        unsafe { _mm256_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn load<const FULL: bool>(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: the caller guarantees the selected lanes readable (`vmaskmovps` touches no
        // other).
        unsafe {
            if FULL {
                _mm256_loadu_ps(p)
            } else {
                _mm256_maskload_ps(p, m)
            }
        }
    }

    #[inline(always)]
    unsafe fn fma(acc: __m256, x: __m256, w: __m256) -> __m256 {
        // SAFETY: register-only (AVX2 + FMA callers).
        unsafe { _mm256_fmadd_ps(x, w, acc) }
    }

    /// NaN stays NaN: `maxps` and `minps` return their second operand when either is NaN, so
    /// the value goes second.
    #[inline(always)]
    unsafe fn store<const FULL: bool>(p: *mut f32, m: __m256i, v: __m256, lo: __m256, hi: __m256) {
        // SAFETY: the caller guarantees the selected lanes writable.
        unsafe {
            let r = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
            if FULL {
                _mm256_storeu_ps(p, r);
            } else {
                _mm256_maskstore_ps(p, m, r);
            }
        }
    }
}

/// One block of `P` pixels, all channel tiles (8-channel tiles, then a masked one).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_256_px<const S1: bool, const KW: usize, const K: usize, const P: usize>(
    kw: usize,
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
        let (lo, hi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
        macro_rules! tile {
            ($full:literal, $c:expr, $m:expr) => {{
                let t = Tile::<Avx2F32> {
                    kw,
                    taps,
                    c: $c,
                    m: $m,
                    ch,
                    lo,
                    hi,
                };
                let wt = w.add(t.c / 8 * tile_len);
                if S1 {
                    f32_tiles::s1_tile::<Avx2F32, 8, KW, K, P, $full>(&t, ind, wt, out)
                } else {
                    f32_tiles::tile::<Avx2F32, 8, K, P, $full>(&t, ind, wt, out)
                }
            }};
        }
        let all = _mm256_set1_epi32(-1);
        for j in 0..full {
            tile!(true, 8 * j, all);
        }
        let n = ch - 8 * full;
        if n > 0 {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            tile!(
                false,
                8 * full,
                _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes)
            );
        }
    }
}
