//! NEON kernels: `dwconv_c16__neon`, int8 in 16-channel tiles (bytes widened to i16,
//! `smlal`/`smlal2` with i16 weights `w'` into i32: exact), and `dwconv_c16_fp32__neon`, the same
//! with the per-tensor Fp32 requantization fused into the store; `dwconv_f32_c4x4__neon`, fp32 in
//! 4-channel tiles, 4 output pixels per iteration, and `dwconv_f32_c4x8s1__neon` for stride 1
//! along W (8 pixels, each input column loaded once). Partial tiles go through small zeroed
//! buffers (nothing reads past a row).
//!
//! The int8 kernels run tile by tile, and within a tile over the row's pixels: for 3x3 the tile's
//! 9 taps of weights (18 vectors) are loaded once and stay in registers, so a tap of 16 channels
//! costs a pointer load, a 16-byte row load, two widenings and four `smlal`; other sizes take two
//! pixels per iteration, which share each tap's weight load.

#![allow(non_snake_case)]

use super::{store16, QVec, Sink};
use crate::ukernel::f32_tiles::{self, F32Lanes, Tile as F32Tile};
use crate::ukernel::{check_pack, pack_f32_tiles, packed_len};
use crate::DwError;
use core::arch::aarch64::*;
use cpu_probe::alloc::try_with_capacity;

/// Pixels per fp32 iteration.
const PB: usize = 4;
/// Channels per int8 tile.
const CT: usize = 16;

/// Packed int8 layout: 16-channel tiles (zero-padded), each 16 folded biases (i32) then per tap
/// 16 i16 weights (8 words).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_with_capacity(pack_i8_len(taps, ch)?, "packed weights")?;
    pack_i8_into(taps, ch, w, bias, &mut out);
    Ok(out)
}

/// Words of a [`pack_i8`] buffer (checked): per 16-channel tile 16 biases and 8 words per tap.
pub(super) fn pack_i8_len(taps: usize, ch: usize) -> Result<usize, DwError> {
    packed_len(ch.div_ceil(CT), CT / 2, 2, 1, taps, 0)
}

/// Appends the [`pack_i8`] layout to `out` (slices checked by the caller).
pub(super) fn pack_i8_into(taps: usize, ch: usize, w: &[i32], bias: &[i32], out: &mut Vec<i32>) {
    for base in (0..ch).step_by(CT) {
        for i in 0..CT {
            out.push(bias.get(base + i).copied().unwrap_or(0));
        }
        for t in 0..taps {
            for i in 0..CT / 2 {
                let get = |k: usize| {
                    let c = base + 2 * i + k;
                    if c < ch {
                        w[t * ch + c] as i16 as u16 as u32
                    } else {
                        0
                    }
                };
                out.push((get(0) | (get(1) << 16)) as i32);
            }
        }
    }
}

/// fp32 packer (4-channel tiles).
pub fn pack_f32(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    pack_f32_tiles(4, taps, ch, w, bias)
}

kernel_fn! {
    /// See [`crate::ukernel::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`pack_i8`] (NEON is
    /// baseline).
    i8 dwconv_c16__neon(px, taps, ind, w, ch, out) {
        // SAFETY: same contract; the sink is the i32 output of px · ch elements.
        unsafe {
            let sink = Sink::I32(out);
            by_taps!(taps, K => i8_body::<SIGNED, K, false>(px, taps, ind, w, ch, sink))
        }
    }
}

kernel_fn! {
    /// [`dwconv_c16__neon`] with the per-tensor Fp32 requantization fused into the store (see
    /// [`crate::ukernel::DwI8QFn`]): `scvtf`, `fmul`, clamp, `fcvtns` (ties to even), zero
    /// point, saturating narrows.
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`pack_i8`] (NEON is
    /// baseline).
    q8 dwconv_c16_fp32__neon(px, taps, ind, w, ch, q, out) {
        // SAFETY: same contract; the sink is the byte output of px · ch elements.
        unsafe {
            let sink = Sink::Q(QVec::new(q), out);
            by_taps!(taps, K => i8_body::<SIGNED, K, true>(px, taps, ind, w, ch, sink))
        }
    }
}

#[inline(always)]
unsafe fn i8_body<const SIGNED: bool, const K: usize, const Q: bool>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    sink: Sink,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let tile_words = (CT / 2) * (2 + taps);
    // SAFETY: tile j < ch / 16 covers channels 16j..16j+16 <= ch, the tail tile the remaining
    // ch mod 16; the packed buffer holds ch.div_ceil(16) tiles of tile_words words.
    unsafe {
        tiles!(
            i8_tile::<SIGNED, K, Q>,
            CT,
            tile_words,
            (px, taps, ind, w, ch, sink)
        )
    }
}

/// `a[0..4] += (xl, xh) · (w0, w1)` lane by lane (16 i16 × i16 products into i32): `smlal` /
/// `smlal2` on whole registers. Written as `asm!` because LLVM, given the intrinsics with
/// loop-invariant weights, splits each weight register into two halves outside the loop (36
/// values: they spill) and rebuilds the high halves of `x` with `ext` instead of `smlal2`.
#[inline(always)]
fn mac16(a: &mut [int32x4_t; 4], xl: int16x8_t, xh: int16x8_t, w0: int16x8_t, w1: int16x8_t) {
    let [a0, a1, a2, a3] = a;
    // SAFETY: register-only NEON instructions (NEON is baseline on aarch64); no memory, stack
    // or flags.
    unsafe {
        core::arch::asm!(
            "smlal  {a0:v}.4s, {xl:v}.4h, {w0:v}.4h",
            "smlal2 {a1:v}.4s, {xl:v}.8h, {w0:v}.8h",
            "smlal  {a2:v}.4s, {xh:v}.4h, {w1:v}.4h",
            "smlal2 {a3:v}.4s, {xh:v}.8h, {w1:v}.8h",
            a0 = inout(vreg) *a0,
            a1 = inout(vreg) *a1,
            a2 = inout(vreg) *a2,
            a3 = inout(vreg) *a3,
            xl = in(vreg) xl,
            xh = in(vreg) xh,
            w0 = in(vreg) w0,
            w1 = in(vreg) w1,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
}

/// One 16-channel tile (channels `c..c + n`, `n = min(16, ch − c)`) of every pixel. `FULL`:
/// `n == 16` (else rows go through a zeroed buffer). 3x3: the 9 taps' weights (18 vectors) are
/// loaded once and stay in registers, a pixel per iteration. Other sizes: two pixels per
/// iteration share each tap's weight load.
#[inline(always)]
unsafe fn i8_tile<const SIGNED: bool, const K: usize, const FULL: bool, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    wt: *const i32,
    ch: usize,
    c: usize,
    sink: Sink,
) {
    let n = if FULL { CT } else { ch - c };
    let t = Tile { taps, wt, ch, c, n };
    // SAFETY: forwarded contract; the pixel blocks cover pixels 0..px, each with its `taps`
    // row pointers; the weight reads stay in the tile's 16 i16 per tap.
    unsafe {
        let wq = wt.add(CT).cast::<i16>();
        if K == 9 {
            let wv: [int16x8_t; 18] = core::array::from_fn(|i| vld1q_s16(wq.add(8 * i)));
            for p in 0..px {
                pixels::<SIGNED, FULL, Q, 1>(&t, ind, p, |k| (wv[2 * k], wv[2 * k + 1]), sink);
            }
        } else {
            let load = |k: usize| (vld1q_s16(wq.add(16 * k)), vld1q_s16(wq.add(16 * k + 8)));
            pixel_blocks!(px, p, [2], P => pixels::<SIGNED, FULL, Q, P>(&t, ind, p, load, sink));
        }
    }
}

/// What [`pixels`] needs of its tile: taps, the tile's packed words, channels, its first
/// channel and width.
struct Tile {
    taps: usize,
    wt: *const i32,
    ch: usize,
    c: usize,
    n: usize,
}

/// Pixels `p0..p0 + P` of one tile: bias, then per tap its weights `w(t)` (two i16 vectors)
/// times each pixel's row, then the store.
#[inline(always)]
unsafe fn pixels<const SIGNED: bool, const FULL: bool, const Q: bool, const P: usize>(
    t: &Tile,
    ind: *const *const u8,
    p0: usize,
    w: impl Fn(usize) -> (int16x8_t, int16x8_t),
    sink: Sink,
) {
    // SAFETY: row reads cover channels c..c+n of the rows of the indirection list (FULL:
    // n = 16); the bias is the tile's first 16 words; stores cover elements p·ch + c..+n of the
    // sink's px · ch, for the P pixels of this block.
    unsafe {
        let b = t.wt;
        let bias = [
            vld1q_s32(b),
            vld1q_s32(b.add(4)),
            vld1q_s32(b.add(8)),
            vld1q_s32(b.add(12)),
        ];
        let mut acc = [bias; P];
        let rows = ind.add(p0 * t.taps);
        for k in 0..t.taps {
            let (w0, w1) = w(k);
            for (q, a) in acc.iter_mut().enumerate() {
                let r = (*rows.add(q * t.taps + k)).add(t.c);
                let xb = if FULL {
                    vld1q_u8(r)
                } else {
                    let mut buf = [0u8; CT];
                    core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), t.n);
                    vld1q_u8(buf.as_ptr())
                };
                let (xl, xh) = if SIGNED {
                    let s = vreinterpretq_s8_u8(xb);
                    (vmovl_s8(vget_low_s8(s)), vmovl_high_s8(s))
                } else {
                    (
                        vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(xb))),
                        vreinterpretq_s16_u16(vmovl_high_u8(xb)),
                    )
                };
                mac16(a, xl, xh, w0, w1);
            }
        }
        for (q, a) in acc.into_iter().enumerate() {
            store16::<FULL, Q>(sink, (p0 + q) * t.ch + t.c, t.n, a);
        }
    }
}

kernel_fn! {
    /// See [`crate::ukernel::DwF32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32Fn`] with the layout of [`pack_f32`] (NEON is
    /// baseline).
    f32 dwconv_f32_c4x4__neon(px, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => f32_rows::<false, 0, K>(px, 0, taps, ind, w, ch, lo, hi, out)) }
    }
}

kernel_fn! {
    /// `dwconv_f32_c4x8s1__neon` (fp32, stride 1 and dilation 1 along W); see
    /// [`crate::ukernel::DwF32S1Fn`]. Pixels `p..p + P` (P = 8, then 4, then 1) of one kernel
    /// row read `P + kw − 1` input columns of 4 channels, each loaded once (a pointer load and
    /// one `ldr q`) and multiplied by up to `kw` weights held in registers: for 3x3 at P = 8,
    /// 10 column loads per row for 24 FMAs, against 24 in [`dwconv_f32_c4x4__neon`]. Each pixel
    /// still accumulates in tap order.
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32S1Fn`] with the layout of [`pack_f32`] (NEON is
    /// baseline).
    f32s1 dwconv_f32_c4x8s1__neon(px, kw, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe {
            match (taps, kw) {
                (9, 3) => f32_rows::<true, 3, 9>(px, kw, taps, ind, w, ch, lo, hi, out),
                (25, 5) => f32_rows::<true, 5, 25>(px, kw, taps, ind, w, ch, lo, hi, out),
                _ => f32_rows::<true, 0, 0>(px, kw, taps, ind, w, ch, lo, hi, out),
            }
        }
    }
}

/// The fp32 driver: pixel blocks of [`PB`] (with `S1`, 8 first), then 1; `KW`, `K`: the kernel
/// width and tap count when specialised (else 0).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_rows<const S1: bool, const KW: usize, const K: usize>(
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
                f32_px::<true, KW, K, P>(kw, taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
            })
        } else {
            pixel_blocks!(px, p, [PB], P => {
                f32_px::<false, KW, K, P>(kw, taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
            })
        }
    }
}

/// The NEON fp32 lanes of [`f32_tiles`]: `float32x4_t`, a partial tile's lanes as a count
/// (read and written through zeroed copies).
struct NeonF32;

impl F32Lanes for NeonF32 {
    type V = float32x4_t;
    type M = usize;

    #[inline(always)]
    unsafe fn zero() -> float32x4_t {
        // SAFETY: register-only (NEON is baseline).
        unsafe { vdupq_n_f32(0.0) }
    }

    #[inline(always)]
    unsafe fn load<const FULL: bool>(p: *const f32, n: usize) -> float32x4_t {
        // SAFETY: the caller guarantees p readable for 4 floats (FULL) or n.
        unsafe {
            if FULL {
                vld1q_f32(p)
            } else {
                let mut buf = [0f32; 4];
                core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
                vld1q_f32(buf.as_ptr())
            }
        }
    }

    #[inline(always)]
    unsafe fn fma(acc: float32x4_t, x: float32x4_t, w: float32x4_t) -> float32x4_t {
        // SAFETY: register-only.
        unsafe { vfmaq_f32(acc, x, w) }
    }

    /// `FMAX`/`FMIN` return NaN when either operand is NaN.
    #[inline(always)]
    unsafe fn store<const FULL: bool>(
        p: *mut f32,
        n: usize,
        v: float32x4_t,
        lo: float32x4_t,
        hi: float32x4_t,
    ) {
        // SAFETY: the caller guarantees p writable for 4 floats (FULL) or n.
        unsafe {
            let r = vminq_f32(vmaxq_f32(v, lo), hi);
            if FULL {
                vst1q_f32(p, r);
            } else {
                let mut buf = [0f32; 4];
                vst1q_f32(buf.as_mut_ptr(), r);
                core::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
            }
        }
    }
}

/// One block of `P` pixels, all channel tiles: the 4-channel tiles, then a partial one.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_px<const S1: bool, const KW: usize, const K: usize, const P: usize>(
    kw: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let tile_len = 4 * (1 + taps);
    let full = ch / 4;
    // SAFETY: full tiles read/write channels c..c+4 <= ch; the partial tile copies n floats
    // through buffers; weights stay inside the packed buffer.
    unsafe {
        let (lo, hi) = (vdupq_n_f32(lo), vdupq_n_f32(hi));
        macro_rules! tile {
            ($full:literal, $c:expr, $n:expr) => {{
                let t = F32Tile::<NeonF32> {
                    kw,
                    taps,
                    c: $c,
                    m: $n,
                    ch,
                    lo,
                    hi,
                };
                let wt = w.add(t.c / 4 * tile_len);
                if S1 {
                    f32_tiles::s1_tile::<NeonF32, 4, KW, K, P, $full>(&t, ind, wt, out)
                } else {
                    f32_tiles::tile::<NeonF32, 4, K, P, $full>(&t, ind, wt, out)
                }
            }};
        }
        for j in 0..full {
            tile!(true, 4 * j, 4);
        }
        if 4 * full < ch {
            tile!(false, 4 * full, ch - 4 * full);
        }
    }
}

/// Packs int8 weights for [`dwconv_c16_mla8_fp32__neon`]: per 16-channel tile (zero-padded) 16
/// biases (i32; for u8 inputs, `signed = false`, plus `128 · Σ w'`, because the kernel
/// multiplies `a ^ 0x80 = a − 128`), then per tap 16 weights as bytes (4 words). Every `w'`
/// must be in `[-127, 127]`: two products then fit an i16 (`2 · 128 · 127 <= 32767`); an error
/// otherwise, or if the slices do not have `kh · kw · ch` and `ch` elements or the size
/// overflows.
pub fn pack_i8_mla8(
    kh: usize,
    kw: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
    signed: bool,
) -> Result<Vec<i32>, DwError> {
    let taps = kh
        .checked_mul(kw)
        .ok_or_else(|| DwError::Geometry(format!("kernel {kh}x{kw} overflows usize")))?;
    check_pack(taps, ch, w.len(), bias.len())?;
    if let Some(v) = w.iter().find(|v| !(-127..=127).contains(*v)) {
        return Err(DwError::Quant(format!(
            "the 8-bit pair kernel dwconv_c16_mla8_fp32__neon needs weights minus their zero \
             point in [-127, 127], got {v}"
        )));
    }
    let tiles = ch.div_ceil(CT);
    let mut out = try_with_capacity(
        packed_len(tiles, CT, 1, 1, taps / 4 + 1, 0)?,
        "packed weights",
    )?;
    for j in 0..tiles {
        let chan = |i: usize| (CT * j + i < ch).then_some(CT * j + i);
        for i in 0..CT {
            out.push(chan(i).map_or(0, |c| super::xor_bias(bias, w, taps, ch, c, signed)));
        }
        for t in 0..taps {
            for q in 0..CT / 4 {
                let b: [u8; 4] = core::array::from_fn(|k| {
                    chan(4 * q + k).map_or(0, |c| w[t * ch + c] as i8 as u8)
                });
                out.push(i32::from_ne_bytes(b));
            }
        }
    }
    Ok(out)
}

kernel_fn! {
    /// int8 depthwise on ARMv8.0 NEON with 8-bit multiplies, the class of XNNPACK's
    /// `qs8-dwconv` `neon-mla8`: per 16 channels and pair of taps, `smull`/`smull2` of the first
    /// tap's bytes, `smlal`/`smlal2` of the second's into the same i16 (exact: packed weights
    /// are in `[-127, 127]`, so `|a''·w'| <= 128 · 127` and two of them fit), then four
    /// `saddw`/`saddw2` into the i32 accumulators: 8 instructions per 32 MACs, besides the loads
    /// (`dwconv_c16_fp32__neon`, i16 weights: 12). u8 inputs are taken as `a ^ 0x80`
    /// (`128 · Σw'` is in the packed bias). The per-tensor Fp32 requantization is fused into the
    /// store. Any kernel size and stride (the column-reuse property of
    /// [`crate::ukernel::DwI8QS1Fn`] is not needed).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QS1Fn`] with the layout of [`pack_i8_mla8`] (NEON
    /// is baseline).
    q8s1 dwconv_c16_mla8_fp32__neon(px, kw, sw, taps, ind, w, ch, q, out) {
        // SAFETY: same contract (3x3 with stride 1 or 2 along W reuses columns as the contract
        // allows); the sink is the byte output of px · ch elements.
        unsafe {
            let sink = Sink::Q(QVec::new(q), out);
            match (taps, kw, sw) {
                (9, 3, 1) => mla8_body::<SIGNED, 9, 1>(px, taps, ind, w, ch, sink),
                (9, 3, 2) => mla8_body::<SIGNED, 9, 2>(px, taps, ind, w, ch, sink),
                _ => by_taps!(taps, K => mla8_body::<SIGNED, K, 0>(px, taps, ind, w, ch, sink)),
            }
        }
    }
}

/// The tiles of [`dwconv_c16_mla8_fp32__neon`]: `K` taps (0: `taps_rt`), `S` the stride along
/// W of a 3x3 kernel whose columns the tiles reuse (1 or 2; 0: no reuse).
#[inline(always)]
unsafe fn mla8_body<const SIGNED: bool, const K: usize, const S: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    sink: Sink,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let tile_words = CT + (CT / 4) * taps;
    let full = ch / CT;
    // SAFETY: tile j < ch / 16 covers channels 16j..16j+16 <= ch, the tail tile the remaining
    // ch mod 16; the packed buffer holds ch.div_ceil(16) tiles of tile_words words.
    unsafe {
        for j in 0..full {
            let wt = w.add(j * tile_words);
            mla8_tile::<SIGNED, K, S, true>(px, taps, ind, wt, ch, CT * j, sink);
        }
        if full * CT < ch {
            let wt = w.add(full * tile_words);
            mla8_tile::<SIGNED, K, S, false>(px, taps, ind, wt, ch, CT * full, sink);
        }
    }
}

/// `a[0..4] += x0 · w0 + x1 · w1` on 16 lanes: `smull`/`smull2` and `smlal`/`smlal2` into two
/// i16 vectors (exact for weights in `[-127, 127]`), then `saddw`/`saddw2` into the four i32
/// accumulators. Written as `asm!` because LLVM, given the intrinsics with loop-invariant
/// weights, splits each weight register into halves (18 values: they spill) and rebuilds the
/// high halves of `x` with `ext` instead of `smull2`.
#[inline(always)]
fn mla8_pair(a: &mut [int32x4_t; 4], x0: int8x16_t, x1: int8x16_t, w0: int8x16_t, w1: int8x16_t) {
    let [a0, a1, a2, a3] = a;
    // SAFETY: register-only NEON instructions (NEON is baseline on aarch64); no memory, stack
    // or flags.
    unsafe {
        core::arch::asm!(
            "smull  {lo:v}.8h, {x0:v}.8b, {w0:v}.8b",
            "smull2 {hi:v}.8h, {x0:v}.16b, {w0:v}.16b",
            "smlal  {lo:v}.8h, {x1:v}.8b, {w1:v}.8b",
            "smlal2 {hi:v}.8h, {x1:v}.16b, {w1:v}.16b",
            "saddw  {a0:v}.4s, {a0:v}.4s, {lo:v}.4h",
            "saddw2 {a1:v}.4s, {a1:v}.4s, {lo:v}.8h",
            "saddw  {a2:v}.4s, {a2:v}.4s, {hi:v}.4h",
            "saddw2 {a3:v}.4s, {a3:v}.4s, {hi:v}.8h",
            a0 = inout(vreg) *a0,
            a1 = inout(vreg) *a1,
            a2 = inout(vreg) *a2,
            a3 = inout(vreg) *a3,
            lo = out(vreg) _,
            hi = out(vreg) _,
            x0 = in(vreg) x0,
            x1 = in(vreg) x1,
            w0 = in(vreg) w0,
            w1 = in(vreg) w1,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
}

/// [`mla8_pair`] into fresh accumulators: `bias + x0 · w0 + x1 · w1` (the `saddw`s read the
/// bias vectors, so the caller's stay unchanged without copies).
#[inline(always)]
fn mla8_pair_from(
    b: &[int32x4_t; 4],
    x0: int8x16_t,
    x1: int8x16_t,
    w0: int8x16_t,
    w1: int8x16_t,
) -> [int32x4_t; 4] {
    let (a0, a1, a2, a3);
    // SAFETY: as in `mla8_pair`.
    unsafe {
        core::arch::asm!(
            "smull  {lo:v}.8h, {x0:v}.8b, {w0:v}.8b",
            "smull2 {hi:v}.8h, {x0:v}.16b, {w0:v}.16b",
            "smlal  {lo:v}.8h, {x1:v}.8b, {w1:v}.8b",
            "smlal2 {hi:v}.8h, {x1:v}.16b, {w1:v}.16b",
            "saddw  {a0:v}.4s, {b0:v}.4s, {lo:v}.4h",
            "saddw2 {a1:v}.4s, {b1:v}.4s, {lo:v}.8h",
            "saddw  {a2:v}.4s, {b2:v}.4s, {hi:v}.4h",
            "saddw2 {a3:v}.4s, {b3:v}.4s, {hi:v}.8h",
            a0 = out(vreg) a0,
            a1 = out(vreg) a1,
            a2 = out(vreg) a2,
            a3 = out(vreg) a3,
            lo = out(vreg) _,
            hi = out(vreg) _,
            b0 = in(vreg) b[0],
            b1 = in(vreg) b[1],
            b2 = in(vreg) b[2],
            b3 = in(vreg) b[3],
            x0 = in(vreg) x0,
            x1 = in(vreg) x1,
            w0 = in(vreg) w0,
            w1 = in(vreg) w1,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    [a0, a1, a2, a3]
}

/// `a[0..4] += x0 · w0` on 16 lanes (`smull`/`smull2`, `saddw`/`saddw2`): an odd last tap.
#[inline(always)]
fn mla8_one(a: &mut [int32x4_t; 4], x0: int8x16_t, w0: int8x16_t) {
    let [a0, a1, a2, a3] = a;
    // SAFETY: as in `mla8_pair`.
    unsafe {
        core::arch::asm!(
            "smull  {lo:v}.8h, {x0:v}.8b, {w0:v}.8b",
            "smull2 {hi:v}.8h, {x0:v}.16b, {w0:v}.16b",
            "saddw  {a0:v}.4s, {a0:v}.4s, {lo:v}.4h",
            "saddw2 {a1:v}.4s, {a1:v}.4s, {lo:v}.8h",
            "saddw  {a2:v}.4s, {a2:v}.4s, {hi:v}.4h",
            "saddw2 {a3:v}.4s, {a3:v}.4s, {hi:v}.8h",
            a0 = inout(vreg) *a0,
            a1 = inout(vreg) *a1,
            a2 = inout(vreg) *a2,
            a3 = inout(vreg) *a3,
            lo = out(vreg) _,
            hi = out(vreg) _,
            x0 = in(vreg) x0,
            w0 = in(vreg) w0,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
}

/// One 16-channel tile of every pixel (channels `c..c + n`, `FULL`: `n == 16`, else rows go
/// through a zeroed buffer): per pixel the bias, the taps in pairs (`smull` + `smlal` into i16,
/// then `saddw` into i32), an odd last tap alone, then the fused store. 3x3 keeps its 9 weight
/// vectors in registers; with `S` (1 or 2, the stride along W), its rows are a window over the
/// input columns: a pixel loads only the columns the previous one did not (3 or 6 of 9).
#[inline(always)]
unsafe fn mla8_tile<const SIGNED: bool, const K: usize, const S: usize, const FULL: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    wt: *const i32,
    ch: usize,
    c: usize,
    sink: Sink,
) {
    let n = if FULL { CT } else { ch - c };
    // SAFETY: row reads cover channels c..c + n of each pixel's `taps` rows (FULL: n = 16, else
    // through a buffer); the weights are the tile's `taps` vectors after its 16 biases; stores
    // cover elements p·ch + c..+n of the sink's px · ch.
    unsafe {
        let b = wt;
        let bias = [
            vld1q_s32(b),
            vld1q_s32(b.add(4)),
            vld1q_s32(b.add(8)),
            vld1q_s32(b.add(12)),
        ];
        let wq = wt.add(CT).cast::<i8>();
        let wv9: [int8x16_t; 9] = if K == 9 {
            core::array::from_fn(|k| vld1q_s8(wq.add(16 * k)))
        } else {
            [vdupq_n_s8(0); 9]
        };
        let weight = |k: usize| {
            if K == 9 {
                wv9[k]
            } else {
                vld1q_s8(wq.add(16 * k))
            }
        };
        let x80 = vdupq_n_u8(0x80);
        let row = |r: *const u8| -> int8x16_t {
            let r = r.add(c);
            let xb = if FULL {
                vld1q_u8(r)
            } else {
                let mut buf = [0u8; CT];
                core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), n);
                vld1q_u8(buf.as_ptr())
            };
            if SIGNED {
                vreinterpretq_s8_u8(xb)
            } else {
                vreinterpretq_s8_u8(veorq_u8(xb, x80))
            }
        };
        // 3x3 with column reuse: slot[ky][i] holds an input column of kernel row ky; at phase
        // `ph` column kx of the pixel is in slot (kx + ph) mod 3 (stride 1: each pixel loads its
        // column 2 into the slot of the previous pixel's column 0, the phase advancing by one;
        // stride 2: columns 1 and 2, the previous column 2 becoming column 0 at phase 0...).
        // The loop runs three pixels per iteration so that every slot index is a constant.
        let mut slot = [[vdupq_n_s8(0); 3]; 3];
        // A macro, not a closure: inlined with constant phases (a closure stays a call).
        macro_rules! pixel {
            ($p:expr, $ph:expr, $first:expr) => {{
                let (p, ph, first): (usize, usize, bool) = ($p, $ph, $first);
                let rows = ind.add(p * 9);
                for (ky, sr) in slot.iter_mut().enumerate() {
                    let r = |kx: usize| row(*rows.add(3 * ky + kx));
                    if first {
                        for kx in 0..3 {
                            sr[(kx + ph) % 3] = r(kx);
                        }
                    } else if S == 1 {
                        sr[(2 + ph) % 3] = r(2);
                    } else {
                        sr[(1 + ph) % 3] = r(1);
                        sr[(2 + ph) % 3] = r(2);
                    }
                }
                let x = |t: usize| slot[t / 3][(t % 3 + ph) % 3];
                let mut a = mla8_pair_from(&bias, x(0), x(1), weight(0), weight(1));
                mla8_pair(&mut a, x(2), x(3), weight(2), weight(3));
                mla8_pair(&mut a, x(4), x(5), weight(4), weight(5));
                mla8_pair(&mut a, x(6), x(7), weight(6), weight(7));
                mla8_one(&mut a, x(8), weight(8));
                store16::<FULL, true>(sink, p * ch + c, n, a);
            }};
        }
        if K == 9 && (S == 1 || S == 2) && px > 0 {
            // Stride 1: phase p mod 3. Stride 2: the new column 0 is the old column 2, in
            // slot (2 + ph) mod 3 = (0 + ph') mod 3 with ph' = ph + 2.
            let adv = if S == 1 { 1 } else { 2 };
            pixel!(0, 0, true);
            let mut p = 1;
            while p + 3 <= px {
                pixel!(p, adv % 3, false);
                pixel!(p + 1, (2 * adv) % 3, false);
                pixel!(p + 2, 0, false);
                p += 3;
            }
            // The last pixels: phases adv, 2·adv (mod 3), as the loop would give them.
            if p < px {
                pixel!(p, adv % 3, false);
                p += 1;
            }
            if p < px {
                pixel!(p, (2 * adv) % 3, false);
            }
            return;
        }
        for p in 0..px {
            let rows = ind.add(p * taps);
            let mut a = bias;
            let mut k = 0;
            while k + 1 < taps {
                let (x0, x1) = (row(*rows.add(k)), row(*rows.add(k + 1)));
                mla8_pair(&mut a, x0, x1, weight(k), weight(k + 1));
                k += 2;
            }
            if k < taps {
                mla8_one(&mut a, row(*rows.add(k)), weight(k));
            }
            store16::<FULL, true>(sink, p * ch + c, n, a);
        }
    }
}
