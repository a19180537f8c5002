//! NEON + FEAT_DotProd kernels: `dwconv_c16__neondot` (int8 `sdot` by vector, 4 taps of 16
//! channels per 4 instructions, when every `w'` fits s8, else the `smlal` kernel of
//! [`super::neon`]), `dwconv_c16_fp32__neondot` (the same with the per-tensor Fp32
//! requantization fused into the store) and `dwconv_c8s1_fp32__neondot` (3x3, stride 1 along
//! W: a column-reusing 8-channel kernel, requantization fused). The fp32 kernel of this level is
//! [`super::neon`]'s.

#![allow(non_snake_case)]

use super::neon::{dwconv_c16__neon, dwconv_c16_fp32__neon, pack_i8_into, pack_i8_len};
use super::{requant8, store16, QVec, Sink};
use crate::ukernel::{check_pack, packed_len, Fp32Requant};
use crate::DwError;
use core::arch::aarch64::*;
use cpu_probe::alloc::try_with_capacity;

/// Header words of a [`pack_i8`] buffer (the first is the layout tag).
const DOT_HEADER: usize = 4;
/// Channels per dot-product tile.
const DT: usize = 16;

/// Packs int8 weights for `dwconv_c16__neondot` ([`dwconv_c16__neondot`]). A header of 4 words, the first
/// the layout tag:
///
/// * `1` (every `w'` in `[-128, 127]`): 16-channel tiles (zero-padded), each 16 folded biases
///   for i8 inputs, 16 for u8 inputs (`b' + 128·Σ_t w'`: the kernel feeds `x − 128 = x ^ 0x80`
///   as s8), then per group of 4 taps (`taps.div_ceil(4)` groups, missing taps zero) 64 bytes:
///   channel `c` of the tile at bytes `4c..4c + 4`, one byte per tap of the group (the lane
///   order `sdot` multiplies within).
/// * `0` (some `w'` needs 9 bits): the [`super::neon::pack_i8`] layout follows, run by [`dwconv_c16__neon`]
///   and [`dwconv_c16_fp32__neon`].
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    if !w.iter().all(|v| (-128..=127).contains(v)) {
        let mut out = try_with_capacity(
            pack_i8_len(taps, ch)?
                .checked_add(DOT_HEADER)
                .ok_or_else(|| {
                    DwError::Geometry(format!("packed weights of {ch} channels overflow usize"))
                })?,
            "packed weights",
        )?;
        out.extend_from_slice(&[0; DOT_HEADER]);
        pack_i8_into(taps, ch, w, bias, &mut out);
        return Ok(out);
    }
    let groups = taps.div_ceil(4);
    let tiles = ch.div_ceil(DT);
    let mut out = try_with_capacity(
        packed_len(tiles, DT, 2, 1, groups, DOT_HEADER)?,
        "packed weights",
    )?;
    out.extend_from_slice(&[1, 0, 0, 0]);
    for j in 0..tiles {
        let chan = |i: usize| (DT * j + i < ch).then_some(DT * j + i);
        for i in 0..DT {
            out.push(chan(i).map_or(0, |c| bias[c]));
        }
        for i in 0..DT {
            out.push(chan(i).map_or(0, |c| super::xor_bias(bias, w, taps, ch, c, false)));
        }
        for g in 0..groups {
            for i in 0..DT {
                let mut b = [0u8; 4];
                for (k, byte) in b.iter_mut().enumerate() {
                    let t = 4 * g + k;
                    if let (Some(c), true) = (chan(i), t < taps) {
                        *byte = w[t * ch + c] as i8 as u8;
                    }
                }
                out.push(i32::from_ne_bytes(b));
            }
        }
    }
    Ok(out)
}

kernel_fn! {
    /// `dwconv_c16__neondot` int8 kernel (see [`crate::ukernel::DwI8Fn`]): per output pixel and 16-channel
    /// tile, each group of 4 taps is 4 row loads, 8 `zip1`/`zip2` that put the 4 taps' bytes of a
    /// channel side by side, and 4 `sdot` (by vector) into the 16 accumulators. u8 inputs are
    /// flipped to s8 with `eor 0x80` (the bias of the packed tile compensates). A buffer packed
    /// with tag 0 (9-bit weights) runs the `smlal` kernel [`dwconv_c16__neon`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`pack_i8`], on a CPU with
    /// FEAT_DotProd.
    i8 dwconv_c16__neondot(px, taps, ind, w, ch, out) {
        // SAFETY: same contract; the header is part of the packed buffer; the caller guarantees
        // FEAT_DotProd.
        unsafe {
            let body = w.add(DOT_HEADER);
            if *w == 0 {
                return dwconv_c16__neon::<SIGNED>(px, taps, ind, body, ch, out);
            }
            let sink = Sink::I32(out);
            by_taps!(taps, K => dot_body::<SIGNED, K, false>(px, taps, ind, body, ch, sink))
        }
    }
}

kernel_fn! {
    /// [`dwconv_c16__neondot`] with the per-tensor Fp32 requantization fused into the store (see
    /// [`crate::ukernel::DwI8QFn`]): `scvtf`, `fmul`, clamp, `fcvtns` (ties to even), zero point, saturating
    /// narrows. A buffer packed with tag 0 runs [`dwconv_c16_fp32__neon`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`pack_i8`], on a CPU with
    /// FEAT_DotProd.
    q8 dwconv_c16_fp32__neondot(px, taps, ind, w, ch, q, out) {
        // SAFETY: same contract; the header is part of the packed buffer; the caller guarantees
        // FEAT_DotProd; the fallback writes px · ch bytes of out through pixel-sized buffers.
        unsafe {
            let body = w.add(DOT_HEADER);
            if *w == 0 {
                return dwconv_c16_fp32__neon::<SIGNED>(px, taps, ind, body, ch, q, out);
            }
            let sink = Sink::Q(QVec::new(q), out);
            by_taps!(taps, K => dot_body::<SIGNED, K, true>(px, taps, ind, body, ch, sink))
        }
    }
}

/// `acc += Σ_k a[4i + k] · b[4i + k]` per lane `i` (s8 × s8, by vector). The
/// `.arch_extension` lets the assembler take `sdot` where this helper is not inlined into its
/// `dotprod` callers (unoptimized builds emit it as a function of its own).
#[inline(always)]
unsafe fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: register-only instruction; callers are `dotprod` target-feature functions that
    // only run on CPUs with FEAT_DotProd.
    unsafe {
        core::arch::asm!(
            ".arch_extension dotprod",
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack)
        );
    }
    acc
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn dot_body<const SIGNED: bool, const K: usize, const Q: bool>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    sink: Sink,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let tile_words = 2 * DT + taps.div_ceil(4) * DT;
    // SAFETY: tile j < ch / 16 covers channels 16j..16j+16 <= ch, the tail tile the remaining
    // ch mod 16; the packed buffer holds ch.div_ceil(16) tiles of tile_words words.
    unsafe {
        tiles!(
            dot_tile::<SIGNED, K, Q>,
            DT,
            tile_words,
            (px, taps, ind, w, ch, sink)
        )
    }
}

/// One 16-channel tile (channels `c..c + n`, `n = min(16, ch − c)`) of every pixel: the tile's
/// weights are loaded once (kept in registers for 3x3), then per pixel and group of 4 taps 4 row
/// loads, 8 zips and 4 `sdot`. `FULL`: `n == 16` (else rows go through a zeroed buffer).
#[inline(always)]
unsafe fn dot_tile<const SIGNED: bool, const K: usize, const FULL: bool, const Q: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    wt: *const i32,
    ch: usize,
    c: usize,
    sink: Sink,
) {
    /// Most groups kept in the weight array (7 for 25 taps; more taps reload per pixel).
    const MAXG: usize = 7;
    let groups = taps.div_ceil(4);
    let n = if FULL { DT } else { ch - c };
    // SAFETY: row reads cover channels c..c+n of rows given by the indirection list (FULL:
    // n = 16); weight reads stay inside this tile of the packed buffer; stores cover
    // out[p·ch + c..+n] (i32 or bytes, the sink's buffer of px · ch elements).
    unsafe {
        let flip = vdupq_n_u8(if SIGNED { 0 } else { 0x80 });
        let bt = if SIGNED { wt } else { wt.add(DT) };
        let bias = [
            vld1q_s32(bt),
            vld1q_s32(bt.add(4)),
            vld1q_s32(bt.add(8)),
            vld1q_s32(bt.add(12)),
        ];
        let wq = wt.add(2 * DT).cast::<i8>();
        let mut wv = [vdupq_n_s8(0); 4 * MAXG];
        for (i, v) in wv.iter_mut().enumerate().take(4 * groups.min(MAXG)) {
            *v = vld1q_s8(wq.add(16 * i));
        }
        for p in 0..px {
            let rows = ind.add(p * taps);
            let [mut a0, mut a1, mut a2, mut a3] = bias;
            for g in 0..groups {
                let load = |k: usize| {
                    let t = 4 * g + k;
                    if t >= taps {
                        return vdupq_n_u8(0);
                    }
                    let r = (*rows.add(t)).add(c);
                    let v = if FULL {
                        vld1q_u8(r)
                    } else {
                        let mut buf = [0u8; DT];
                        core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), n);
                        vld1q_u8(buf.as_ptr())
                    };
                    veorq_u8(v, flip)
                };
                let (x0, x1, x2, x3) = (load(0), load(1), load(2), load(3));
                let p01l = vreinterpretq_u16_u8(vzip1q_u8(x0, x1));
                let p01h = vreinterpretq_u16_u8(vzip2q_u8(x0, x1));
                let p23l = vreinterpretq_u16_u8(vzip1q_u8(x2, x3));
                let p23h = vreinterpretq_u16_u8(vzip2q_u8(x2, x3));
                let q0 = vreinterpretq_s8_u16(vzip1q_u16(p01l, p23l));
                let q1 = vreinterpretq_s8_u16(vzip2q_u16(p01l, p23l));
                let q2 = vreinterpretq_s8_u16(vzip1q_u16(p01h, p23h));
                let q3 = vreinterpretq_s8_u16(vzip2q_u16(p01h, p23h));
                let wg = |k: usize| {
                    if g < MAXG {
                        wv[4 * g + k]
                    } else {
                        vld1q_s8(wq.add(64 * g + 16 * k))
                    }
                };
                a0 = sdot(a0, q0, wg(0));
                a1 = sdot(a1, q1, wg(1));
                a2 = sdot(a2, q2, wg(2));
                a3 = sdot(a3, q3, wg(3));
            }
            store16::<FULL, Q>(sink, p * ch + c, n, [a0, a1, a2, a3]);
        }
    }
}

/// Channels per tile of the column-reusing 3x3 kernel.
const CT: usize = 8;

/// Packs 3x3 int8 weights (every `w'` in `[-128, 127]`) for [`dwconv_c8s1_fp32__neondot`]: 8-channel tiles
/// (zero-padded), each 8 folded biases (plus `128·Σ_t w'` for u8 inputs, which the kernel flips
/// to s8), then per kernel column `kx` 32 bytes: channel `c` at bytes `4c..4c + 4` holds
/// `w'[ky][kx][c]` for `ky = 0, 1, 2` and a zero.
pub fn pack_i8_s1(
    kh: usize,
    kw: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
    signed: bool,
) -> Result<Vec<i32>, DwError> {
    if (kh, kw) != (3, 3) {
        return Err(DwError::Geometry(format!(
            "the column-reusing sdot kernel takes 3x3 kernels, not {kh}x{kw}"
        )));
    }
    let taps = kh * kw;
    check_pack(taps, ch, w.len(), bias.len())?;
    let tiles = ch.div_ceil(CT);
    let mut out = try_with_capacity(packed_len(tiles, CT, 1, 1, kw, 0)?, "packed weights")?;
    for j in 0..tiles {
        let chan = |i: usize| (CT * j + i < ch).then_some(CT * j + i);
        for i in 0..CT {
            out.push(chan(i).map_or(0, |c| super::xor_bias(bias, w, taps, ch, c, signed)));
        }
        for kx in 0..kw {
            for i in 0..CT {
                let mut b = [0u8; 4];
                if let Some(c) = chan(i) {
                    for (ky, byte) in b.iter_mut().enumerate().take(kh) {
                        *byte = w[(ky * kw + kx) * ch + c] as i8 as u8;
                    }
                }
                out.push(i32::from_ne_bytes(b));
            }
        }
    }
    Ok(out)
}

kernel_fn! {
    /// `dwconv_c8s1__neondot`: 3x3, stride 1 along W, per-tensor Fp32 requantization fused (see
    /// [`crate::ukernel::DwI8QS1Fn`]). Per 8-channel tile and output pixel only the newest input column is
    /// loaded and interleaved (3 row loads, 4 zips: the 3 kernel rows' bytes of a channel side by
    /// side); the two columns before it are the previous pixel's; 6 `sdot` (3 columns × 2).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QS1Fn`] with kernel 3x3, stride 1 along W and the layout of
    /// [`pack_i8_s1`], on a CPU with FEAT_DotProd.
    q8s1 dwconv_c8s1_fp32__neondot(px, kw, sw, taps, ind, w, ch, q, out) {
        debug_assert_eq!((kw, sw, taps), (3, 1, 9));
        // SAFETY: same contract; the caller guarantees FEAT_DotProd.
        unsafe { s1_body::<SIGNED>(px, ind, w, ch, q, out) }
    }
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn s1_body<const SIGNED: bool>(
    px: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
    out: *mut u8,
) {
    let tile_words = CT + 3 * CT;
    let full = ch / CT;
    // SAFETY: tile j < full covers channels 8j..8j+8 <= ch, the tail tile the rest; the packed
    // buffer holds ch.div_ceil(8) tiles.
    unsafe {
        let qv = QVec::new(q);
        for j in 0..full {
            s1_tile::<SIGNED, true>(px, ind, w.add(j * tile_words), ch, CT * j, &qv, out);
        }
        if full * CT < ch {
            let wt = w.add(full * tile_words);
            s1_tile::<SIGNED, false>(px, ind, wt, ch, full * CT, &qv, out);
        }
    }
}

/// One 8-channel tile (channels `c..c + n`) of every pixel; `FULL`: `n == 8`.
#[inline(always)]
unsafe fn s1_tile<const SIGNED: bool, const FULL: bool>(
    px: usize,
    ind: *const *const u8,
    wt: *const i32,
    ch: usize,
    c: usize,
    q: &QVec,
    out: *mut u8,
) {
    let n = if FULL { CT } else { ch - c };
    // SAFETY: row reads cover channels c..c+n of rows named by the indirection list (column kx
    // of pixel p through tap (ky, kx) of pixel p, or tap (ky, kx + 1) of pixel p − 1: the same
    // pointer by the DwI8QS1Fn contract); weights stay inside the tile; stores cover
    // out[p·ch + c..+n].
    unsafe {
        let flip = vdup_n_u8(if SIGNED { 0 } else { 0x80 });
        let bias = [vld1q_s32(wt), vld1q_s32(wt.add(4))];
        let wq = wt.add(CT).cast::<i8>();
        let wv: [int8x16_t; 6] = core::array::from_fn(|i| vld1q_s8(wq.add(16 * i)));
        // Column kx of pixel p: the three kernel rows' bytes of channels c..c+8 interleaved
        // (channels 0-3, 4-7 of the tile), s8.
        let column = |p: usize, kx: usize| {
            let row = |ky: usize| {
                let r = (*ind.add(p * 9 + ky * 3 + kx)).add(c);
                let v = if FULL {
                    vld1_u8(r)
                } else {
                    let mut buf = [0u8; CT];
                    core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), n);
                    vld1_u8(buf.as_ptr())
                };
                vcombine_u8(veor_u8(v, flip), vdup_n_u8(0))
            };
            let p01 = vreinterpretq_u16_u8(vzip1q_u8(row(0), row(1)));
            let p2z = vreinterpretq_u16_u8(vzip1q_u8(row(2), vdupq_n_u8(0)));
            [
                vreinterpretq_s8_u16(vzip1q_u16(p01, p2z)),
                vreinterpretq_s8_u16(vzip2q_u16(p01, p2z)),
            ]
        };
        if px == 0 {
            return;
        }
        // Output pixel p from its three columns.
        let pixel = |p: usize, z0: [int8x16_t; 2], z1: [int8x16_t; 2], z2: [int8x16_t; 2]| {
            let mut a0 = sdot(bias[0], z0[0], wv[0]);
            let mut a1 = sdot(bias[1], z0[1], wv[1]);
            a0 = sdot(a0, z1[0], wv[2]);
            a1 = sdot(a1, z1[1], wv[3]);
            a0 = sdot(a0, z2[0], wv[4]);
            a1 = sdot(a1, z2[1], wv[5]);
            let b = requant8([a0, a1], q);
            let o = out.add(p * ch + c);
            if FULL {
                vst1_u8(o, b);
            } else {
                let mut buf = [0u8; CT];
                vst1_u8(buf.as_mut_ptr(), b);
                core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n);
            }
        };
        let mut z0 = column(0, 0);
        let mut z1 = column(0, 1);
        let mut p = 0;
        // Three pixels per iteration, so the column window rotates without register moves.
        while p + 3 <= px {
            let z2 = column(p, 2);
            pixel(p, z0, z1, z2);
            let z3 = column(p + 1, 2);
            pixel(p + 1, z1, z2, z3);
            let z4 = column(p + 2, 2);
            pixel(p + 2, z2, z3, z4);
            (z0, z1) = (z3, z4);
            p += 3;
        }
        while p < px {
            let z2 = column(p, 2);
            pixel(p, z0, z1, z2);
            (z0, z1) = (z1, z2);
            p += 1;
        }
    }
}
