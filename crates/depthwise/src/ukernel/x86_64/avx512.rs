//! AVX-512 (F/BW/DQ/VL) kernels: `dwconv_c32__avx512` (int8, `vpmaddwd` + `vpaddd`),
//! `dwconv_c32_fp32__avx512` (the same with the per-tensor Fp32 requantization fused), and the
//! fp32 kernels `dwconv_f32_c16x8__avx512` / `dwconv_f32_c16x8s1__avx512` (also used by the
//! AVX-512 VNNI level).
//!
//! int8: bytes of two taps are widened to i16 and interleaved (`vpunpck{l,h}wd`), then
//! multiplied by the pair-interleaved packed weights `w'` with `vpmaddwd` (+ `vpaddd`) or, from
//! [`super::avx512vnni`], `vpdpwssd`: two taps per instruction, exact in i32 (|x| ≤ 255,
//! |w'| ≤ 255, no i16 saturation). The accumulators hold channels in the interleaved order and
//! are put back in order at the store. The body is written once over `Wide` (zmm tiles of 32
//! channels, a last ymm tile of at most 16).
//!
//! fp32: 16 channels per vector, 8 output pixels per iteration sharing each weight load, fused
//! multiply-adds in tap order, clamp at the store; weights packed flat (a tile may start at any
//! channel) and channel tiles aligned to the input's cache lines; with stride 1 along W
//! ([`dwconv_f32_c16x8s1__avx512`]) each input column of a kernel row is loaded once for the
//! `kw` pixels that use it.
//!
//! Tails use masked loads/stores; nothing reads past a row. All kernels are specialised for 9
//! and 25 taps (the tap loop fully unrolled), with a generic loop for any other kernel size.

#![allow(non_snake_case)]

use super::wide::{Wide, W256, W512};
use crate::ukernel::{check_pack, pack_i8_pairs_range, packed_len, pairs_len, Fp32Requant};
use crate::DwError;
use core::arch::x86_64::*;
use cpu_probe::alloc::try_with_capacity;

/// Pixels per fp32 iteration of the narrower blocks.
const PB: usize = 4;
/// Pixels per AVX-512 fp32 iteration: 8 independent FMA chains.
const PB512: usize = 8;

/// int8 packer of [`dwconv_c32__avx512`]: 32-channel tiles; a remainder of at most 16 channels gets
/// a 16-channel tile (half the work of a masked 32-channel one).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
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
    let mut out = try_with_capacity(n, "packed weights")?;
    pack_i8_pairs_range(32, taps, ch, 0, split, w, bias, &mut out);
    pack_i8_pairs_range(tail, taps, ch, split, ch, w, bias, &mut out);
    Ok(out)
}

/// fp32 packer of [`dwconv_f32_c16x8__avx512`] and [`dwconv_f32_c16x8s1__avx512`]: flat, so that a channel tile
/// may start at any channel (the kernels align their tiles to the input's cache lines): `chp`
/// biases, then per tap `chp` weights, `chp` = `ch` rounded up to 16, zero-padded.
pub fn pack_f32(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let chp = ch.div_ceil(16) * 16;
    let mut out = try_with_capacity(
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

pair_kernels! {
    i8_512, "avx512f,avx512bw,avx512dq,avx512vl", false;
    /// `dwconv_c32__avx512`: int8 with `vpmaddwd` + `vpaddd`; see [`crate::ukernel::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`pack_i8`], on a CPU with
    /// AVX-512 F/BW/DQ/VL.
    dwconv_c32__avx512;
    /// `dwconv_c32_fp32__avx512`: [`dwconv_c32__avx512`] with the per-tensor Fp32 requantization
    /// fused into the store; see [`crate::ukernel::DwI8QFn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`pack_i8`], on a CPU with
    /// AVX-512 F/BW/DQ/VL.
    dwconv_c32_fp32__avx512;
}

/// The int8 pair kernel of `dwconv_c32__avx512` (`VNNI` false) and `dwconv_c32__avx512vnni`
/// (`VNNI`: `vpdpwssd`), raw i32 or (`Q`) with the Fp32 requantization fused; inlined into the
/// `#[target_feature]` entry points of both ISAs.
///
/// # Safety
/// The contract of [`crate::ukernel::DwI8QFn`] (`Q`) or [`crate::ukernel::DwI8Fn`] (`out` then
/// holds i32) with the layout of [`pack_i8`], `K` 0 or `taps`; the caller's target features
/// include AVX-512 F/BW/DQ/VL (and VNNI when `VNNI`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn i8_512_body<
    const SIGNED: bool,
    const VNNI: bool,
    const K: usize,
    const Q: bool,
>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
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
                let wt = w.add(j * tile_words);
                pair_tile::<W512, SIGNED, VNNI, Q>(taps, pairs, rows, wt, 32 * j, !0, q, o);
            }
            let (c, n) = (32 * full, ch - 32 * full);
            let wt = w.add(full * tile_words);
            if n > 16 {
                let m = (1u64 << n) - 1;
                pair_tile::<W512, SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, m, q, o);
            } else if n == 16 {
                pair_tile::<W256, SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, !0, q, o);
            } else if n > 0 {
                let m = (1u64 << n) - 1;
                pair_tile::<W256, SIGNED, VNNI, Q>(taps, pairs, rows, wt, c, m, q, o);
            }
        }
    }
}

/// One tile of `2 · V::DWORDS` channels (32 in zmm; the last tile of at most 16 channels in
/// ymm, the 16-channel layout of [`pack_i8`]) of one pixel: channels `c..` selected by `m` (all
/// ones: the whole tile).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pair_tile<V: Wide, const SIGNED: bool, const VNNI: bool, const Q: bool>(
    taps: usize,
    pairs: usize,
    rows: *const *const u8,
    wt: *const i32,
    c: usize,
    m: u64,
    q: &Fp32Requant<'_>,
    o: *mut u8,
) {
    let tile = 2 * V::DWORDS;
    // SAFETY: see i8_512_body; weights stay inside this tile (tile · (1 + pairs) i32).
    unsafe {
        // Two accumulator sets (even / odd tap pairs): twice the independent chains.
        let mut lo = V::loadu(wt);
        let mut hi = V::loadu(wt.add(V::DWORDS));
        let mut lo1 = V::zero();
        let mut hi1 = V::zero();
        for pr in 0..pairs {
            let t0 = 2 * pr;
            let a = V::widen_i16::<SIGNED>((*rows.add(t0)).add(c), m);
            let b = if t0 + 1 < taps {
                V::widen_i16::<SIGNED>((*rows.add(t0 + 1)).add(c), m)
            } else {
                V::zero()
            };
            let xl = V::unpacklo_epi16(a, b);
            let xh = V::unpackhi_epi16(a, b);
            let wp = wt.add(tile + tile * pr);
            if VNNI {
                if pr % 2 == 0 {
                    (lo, hi) = V::dpwssd2(lo, hi, xl, xh, wp);
                } else {
                    (lo1, hi1) = V::dpwssd2(lo1, hi1, xl, xh, wp);
                }
            } else {
                let wl = V::loadu(wp);
                let wh = V::loadu(wp.add(V::DWORDS));
                if pr % 2 == 0 {
                    lo = V::add_epi32(lo, V::madd_epi16(xl, wl));
                    hi = V::add_epi32(hi, V::madd_epi16(xh, wh));
                } else {
                    lo1 = V::add_epi32(lo1, V::madd_epi16(xl, wl));
                    hi1 = V::add_epi32(hi1, V::madd_epi16(xh, wh));
                }
            }
        }
        let lo = V::add_epi32(lo, lo1);
        let hi = V::add_epi32(hi, hi1);
        let (r0, r1) = V::deinterleave_pairs(lo, hi);
        let d = V::DWORDS;
        V::store_acc::<Q>(o, c, r0, m & ((1u64 << d) - 1), q);
        V::store_acc::<Q>(o, c + d, r1, m >> d, q);
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

kernel_fn! {
    /// `dwconv_f32_c16x8__avx512` (fp32, any stride); see [`crate::ukernel::DwF32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32Fn`] with the layout of [`pack_f32`], on a CPU with
    /// AVX-512 F.
    f32 dwconv_f32_c16x8__avx512(px, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => f32_512::<false, 0, K>(px, 0, taps, ind, w, ch, lo, hi, out)) }
    }
}

/// The fp32 driver of [`dwconv_f32_c16x8__avx512`] and (`S1`, kernel width `KW` or 0: any)
/// [`dwconv_f32_c16x8s1__avx512`]: pixel blocks of 8, 4, then 1.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512<const S1: bool, const KW: usize, const K: usize>(
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
    // SAFETY: forwarded contract; each call covers pixels p..p+P <= px.
    unsafe {
        pixel_blocks!(px, p, [PB512, PB], P => {
            let (i, o) = (ind.add(p * taps), out.add(p * ch));
            f32_512_px::<S1, KW, P>(kw, taps, i, w, ch, vlo, vhi, o)
        })
    }
}

/// One block of `P` pixels, all channel tiles ([`f32_tile_len`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_512_px<const S1: bool, const KW: usize, const P: usize>(
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
    // SAFETY: loads cover channels c..c+n (masked) of rows with ch floats; weights stay in the
    // packed buffer ((1 + taps) · chp floats, c + n <= ch <= chp); stores cover
    // out[q·ch + c..+n] for the P pixels given.
    unsafe {
        let mut c = 0;
        while c < ch {
            let n = f32_tile_len(*ind, c, ch);
            // The tile's kernel, all 16 lanes or (masked) the first n.
            macro_rules! tile {
                ($masked:literal, $m:expr) => {
                    if S1 {
                        let m = $m;
                        f32_512_s1_tile::<KW, P, $masked>(
                            kw, taps, ind, w, chp, c, m, ch, vlo, vhi, out,
                        )
                    } else {
                        f32_512_tile::<P, $masked>(taps, ind, w, chp, c, $m, ch, vlo, vhi, out)
                    }
                };
            }
            if n == 16 {
                tile!(false, !0);
            } else {
                tile!(true, lanes16(n));
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

kernel_fn! {
    /// `dwconv_f32_c16x8s1__avx512` (fp32, stride 1 and dilation 1 along W); see
    /// [`crate::ukernel::DwF32S1Fn`]. Pixels `p..p+P` of one kernel row read `P + kw − 1` input columns, each
    /// loaded once and multiplied by up to `kw` weights (a 3x3 kernel: 10 loads for 24 FMAs at
    /// P = 8, against 24 loads in [`dwconv_f32_c16x8__avx512`]); each pixel still accumulates in tap order.
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32S1Fn`] with the layout of [`pack_f32`], on a CPU with
    /// AVX-512 F.
    f32s1 dwconv_f32_c16x8s1__avx512(px, kw, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe {
            match (taps, kw) {
                (9, 3) => f32_512::<true, 3, 9>(px, kw, taps, ind, w, ch, lo, hi, out),
                (25, 5) => f32_512::<true, 5, 25>(px, kw, taps, ind, w, ch, lo, hi, out),
                _ => f32_512::<true, 0, 0>(px, kw, taps, ind, w, ch, lo, hi, out),
            }
        }
    }
}

/// One channel tile of P pixels, stride 1: per kernel row, column `j` (`0 ≤ j < P + kw − 1`) is
/// pixel `j`'s tap `kx = 0` for `j < P`, then the last pixel's tap `j − (P − 1)` (the contract
/// of [`crate::ukernel::DwF32S1Fn`]: pixel `q + 1`'s tap `kx` is pixel `q`'s tap `kx + 1`). Column `j`
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
