//! AVX-512 VNNI kernels: `dwconv_c32__avx512vnni` (int8, `vpdpwssd` over i16 pairs; the body
//! of [`super::avx512`]), `dwconv_c32_fp32__avx512vnni` (with the per-tensor Fp32
//! requantization fused) and `dwconv_c64s1_fp32__avx512vnni` ([`dwconv_c64s1_fp32__avx512vnni`]):
//! u8 (or i8 + 128) × s8 bytes of four kernel rows interleaved per channel, `vpdpbusd`, each
//! input column interleaved once per block of pixels; 3x3 / 5x5, stride 1 or 2 along W,
//! requantization fused. The fp32 kernels of this level are [`super::avx512`]'s.

#![allow(non_snake_case)]

use super::wide::{Wide, W256, W512};
use crate::ukernel::{check_pack, packed_len, Fp32Requant};
use crate::DwError;
use core::arch::x86_64::*;
use cpu_probe::alloc::try_with_capacity;

// ---------------------------------------------------------------- int8, i16 pairs

pair_kernels! {
    i8_vnni, "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni", true;
    /// `dwconv_c32__avx512vnni`: [`super::avx512::dwconv_c32__avx512`] with `vpdpwssd`; see
    /// [`crate::ukernel::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`super::avx512::pack_i8`],
    /// on a CPU with AVX-512 F/BW/DQ/VL and VNNI.
    dwconv_c32__avx512vnni;
    /// `dwconv_c32_fp32__avx512vnni`: [`dwconv_c32__avx512vnni`] with the per-tensor Fp32
    /// requantization fused into the store; see [`crate::ukernel::DwI8QFn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`super::avx512::pack_i8`],
    /// on a CPU with AVX-512 F/BW/DQ/VL and VNNI.
    dwconv_c32_fp32__avx512vnni;
}

// ---------------------------------------------------------------- int8, u8 x s8, stride 1 or 2

/// Pixels per iteration of [`dwconv_c64s1_fp32__avx512vnni`].
const Q8P: usize = 4;

/// Packer of [`dwconv_c64s1_fp32__avx512vnni`] (3x3 and 5x5, `w'` in `[-128, 127]`): 64-channel tiles
/// (zero-padded); per tile the folded bias (64 i32; with `signed` inputs less `128 · Σ_t w'`,
/// since the kernel reads `x + 128`), then per group of 4 kernel rows `g` and column `kx` 64
/// words whose bytes are `w'[4g + r][kx][c]`, `r = 0..4` (0 past the last row). Word `i` of
/// accumulator `k` (`i = 4L + j`, 128-bit lane `L`) holds channel `16L + 4k + j`: the order in
/// which `vpunpck{l,h}bw` + `vpunpck{l,h}wd` interleave four rows.
pub fn pack_i8_s1(
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
    let mut out = try_with_capacity(n, "packed weights")?;
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

kernel_fn! {
    /// `dwconv_c64s1_fp32__avx512vnni` (u8 or i8 activations × s8 weights, `vpdpbusd`): 3x3 and 5x5,
    /// stride 1 or 2 and dilation 1 along W, per-tensor Fp32 requantization fused; see
    /// [`crate::ukernel::DwI8QS1Fn`].
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
    /// The contract of [`crate::ukernel::DwI8QS1Fn`] with the layout of [`pack_i8_s1`], on a CPU with
    /// AVX-512 F/BW/VL and VNNI.
    q8s1 dwconv_c64s1_fp32__avx512vnni(px, kw, sw, taps, ind, w, ch, q, out) {
        // SAFETY: same contract; the plan hands this kernel out only for 3x3 and 5x5 with stride
        // 1 or 2 along W.
        unsafe {
            match (taps, kw, sw) {
                (9, 3, 1) => i8q_s1::<SIGNED, 3, 3, 1>(px, ind, w, ch, q, out),
                (25, 5, 1) => i8q_s1::<SIGNED, 5, 5, 1>(px, ind, w, ch, q, out),
                (9, 3, 2) => i8q_s1::<SIGNED, 3, 3, 2>(px, ind, w, ch, q, out),
                (25, 5, 2) => i8q_s1::<SIGNED, 5, 5, 2>(px, ind, w, ch, q, out),
                _ => unreachable!("dwconv_c64s1_fp32__avx512vnni: only 3x3 and 5x5, stride 1 or 2"),
            }
        }
    }
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

/// Per-tensor requantization constants in registers of width `V`.
#[derive(Clone, Copy)]
struct Q8Consts<V: Wide> {
    scale: V::F,
    hi: V::F,
    zp: V::I,
    qmin: V::I,
    qmax: V::I,
}

impl Q8Consts<W512> {
    /// The same constants in the low 256 bits (register casts).
    #[inline(always)]
    unsafe fn low256(self) -> Q8Consts<W256> {
        // SAFETY: register casts; the caller runs with AVX-512 F.
        unsafe {
            Q8Consts {
                scale: _mm512_castps512_ps256(self.scale),
                hi: _mm512_castps512_ps256(self.hi),
                zp: _mm512_castsi512_si256(self.zp),
                qmin: _mm512_castsi512_si256(self.qmin),
                qmax: _mm512_castsi512_si256(self.qmax),
            }
        }
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn i8q_s1<const SIGNED: bool, const KH: usize, const KW: usize, const S: usize>(
    px: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
    out: *mut u8,
) {
    let qmin = (q.lo as i32 + q.zero_point) as i8;
    let qmax = (q.hi as i32 + q.zero_point) as i8;
    let k = Q8Consts::<W512> {
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
    q: &Fp32Requant<'_>,
    k: Q8Consts<W512>,
    out: *mut u8,
) {
    let taps = KH * KW;
    let tile_words = 64 * (1 + KH.div_ceil(4) * KW);
    // SAFETY: every call covers channels c..c+n <= ch of pixels p..p+P <= px; weights stay in
    // tile j's tile_words.
    unsafe {
        let k256 = k.low256();
        let mut c = 0;
        while c < ch {
            let n = (ch - c).min(64);
            let m: u64 = if n == 64 { !0 } else { (1u64 << n) - 1 };
            let wt = w.add(c / 64 * tile_words);
            // Blocks of Q8P pixels, then one block of the remaining 1..Q8P − 1.
            macro_rules! sweep {
                ($v:ty, $k:expr) => {{
                    let mut p = 0;
                    while p + Q8P <= px {
                        let (i, o) = (ind.add(p * taps), out.add(p * ch + c));
                        s1_block::<$v, SIGNED, KH, KW, S, Q8P, BIG>(
                            i, wt, c, m, ch, q.signed, $k, o,
                        );
                        p += Q8P;
                    }
                    let (i, o) = (ind.add(p * taps), out.add(p * ch + c));
                    match px - p {
                        4 => s1_block::<$v, SIGNED, KH, KW, S, 4, BIG>(
                            i, wt, c, m, ch, q.signed, $k, o,
                        ),
                        3 => s1_block::<$v, SIGNED, KH, KW, S, 3, BIG>(
                            i, wt, c, m, ch, q.signed, $k, o,
                        ),
                        2 => s1_block::<$v, SIGNED, KH, KW, S, 2, BIG>(
                            i, wt, c, m, ch, q.signed, $k, o,
                        ),
                        1 => s1_block::<$v, SIGNED, KH, KW, S, 1, BIG>(
                            i, wt, c, m, ch, q.signed, $k, o,
                        ),
                        _ => {}
                    }
                }};
            }
            // A last tile of at most 32 channels in ymm (half the work of a masked 64-channel
            // tile).
            if n <= 32 {
                sweep!(W256, k256);
                break;
            }
            sweep!(W512, k);
            c += n;
        }
    }
}

/// Column `j` of kernel rows `r0..r0 + rows` (`rows` ≤ 4) interleaved for `vpdpbusd`: four
/// vectors, vector `k` holding in dword `4L + i` the rows' bytes of channel `16L + 4k + i`
/// (rows past `rows` repeat a loaded one; their weights are 0). `col(ky, j)` is the pointer;
/// `m` selects the channels (one bit per byte of a `V`).
#[inline(always)]
unsafe fn q8_column<V: Wide, const SIGNED: bool>(
    col: impl Fn(usize, usize) -> *const u8,
    r0: usize,
    rows: usize,
    j: usize,
    m: u64,
) -> [V::I; 4] {
    // SAFETY: col gives pointers readable for the channels of m (caller).
    unsafe {
        let a = V::ld_bytes::<SIGNED>(col(r0, j), m);
        if rows == 1 {
            // Vector k takes byte 4k + i of each lane into dword i (all 4 bytes; the weights
            // of bytes 1..3 are 0).
            let b = |v: i32| v * 0x0101_0101;
            return [0, 4, 8, 12].map(|s| {
                let ctl = _mm_setr_epi32(b(s), b(s + 1), b(s + 2), b(s + 3));
                V::shuffle_epi8_lanes(a, ctl)
            });
        }
        let b = V::ld_bytes::<SIGNED>(col(r0 + 1, j), m);
        let c = if rows > 2 {
            V::ld_bytes::<SIGNED>(col(r0 + 2, j), m)
        } else {
            a
        };
        let d = if rows > 3 {
            V::ld_bytes::<SIGNED>(col(r0 + 3, j), m)
        } else {
            c
        };
        let ab_l = V::unpacklo_epi8(a, b);
        let ab_h = V::unpackhi_epi8(a, b);
        let cd_l = V::unpacklo_epi8(c, d);
        let cd_h = V::unpackhi_epi8(c, d);
        [
            V::unpacklo_epi16(ab_l, cd_l),
            V::unpackhi_epi16(ab_l, cd_l),
            V::unpacklo_epi16(ab_h, cd_h),
            V::unpackhi_epi16(ab_h, cd_h),
        ]
    }
}

/// One tile of P pixels (stride S along W): 64 channels in zmm, or (`W256`) a last tile of at
/// most 32 channels, whose weights are the 64-channel tile's (the low 8 words of each vector
/// hold lanes 0 and 1, the channels of this tile). Per group of kernel rows, the block reads
/// columns `j = 0..(P − 1)·S + KW` once each; column `j` feeds every pixel `q` with
/// `0 ≤ j − q·S < KW`, with the weights of column `j − q·S`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn s1_block<
    V: Wide,
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
    m: u64,
    ch: usize,
    signed_out: bool,
    k: Q8Consts<V>,
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
        let bias = [0, 1, 2, 3].map(|a| V::loadu(wt.add(16 * a)));
        let mut acc = [bias; P];
        let mut wg = wt.add(64);
        for g in 0..KH.div_ceil(4) {
            let rows = (KH - 4 * g).min(4);
            // Unrolled by hand (LLVM keeps a loop here and the accumulators in memory).
            unroll16!(j, {
                if j < (P - 1) * S + KW {
                    let x = q8_column::<V, SIGNED>(col, 4 * g, rows, j, m);
                    unroll16!(q, {
                        if q < P && j >= q * S && j - q * S < KW {
                            let wk = wg.add(64 * (j - q * S));
                            unroll16!(a, {
                                if a < 4 {
                                    acc[q][a] = V::dpbusd_mem(acc[q][a], x[a], wk.add(16 * a));
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
                let f = V::mul_ps(V::cvtepi32_ps(v), k.scale);
                // Default MXCSR rounding: to nearest, ties to even. BIG (scale > 0.5): the
                // upper clamp keeps f below 2^31 (where the conversion gives i32::MIN).
                V::cvtps_epi32(if BIG { V::min_ps(f, k.hi) } else { f })
            });
            let lo = V::adds_epi16(V::packs_epi32(f[0], f[1]), k.zp);
            let hi = V::adds_epi16(V::packs_epi32(f[2], f[3]), k.zp);
            let b = if signed_out {
                let b = V::max_epi8(V::packs_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    V::min_epi8(b, k.qmax)
                }
            } else {
                let b = V::max_epu8(V::packus_epi16(lo, hi), k.qmin);
                if BIG {
                    b
                } else {
                    V::min_epu8(b, k.qmax)
                }
            };
            V::store_bytes(out.add(qi * ch), b, m);
        }
    }
}
