//! NEON kernels: `dwconv_c8__neon`, int8 in 8-channel tiles (bytes widened to i16,
//! `smlal`/`smlal2` with i16 weights `w'` into i32: exact); `dwconv_f32_c4x4__neon`, fp32 in
//! 4-channel tiles, 4 output pixels per iteration. Partial tiles go through small zeroed
//! buffers (nothing reads past a row).

#![allow(non_snake_case)]

use crate::ukernel::{check_pack, pack_f32_tiles, packed_len};
use crate::DwError;
use core::arch::aarch64::*;
use cpu_probe::alloc::try_with_capacity;

/// Pixels per fp32 iteration.
const PB: usize = 4;

/// Packed int8 layout: 8-channel tiles (zero-padded), each 8 folded biases (i32) then per tap
/// 8 i16 weights (4 words).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_with_capacity(pack_i8_len(taps, ch)?, "packed weights")?;
    pack_i8_into(taps, ch, w, bias, &mut out);
    Ok(out)
}

/// Words of a [`pack_i8`] buffer (checked): per 8-channel tile 8 biases and 4 words per tap.
pub(super) fn pack_i8_len(taps: usize, ch: usize) -> Result<usize, DwError> {
    packed_len(ch.div_ceil(8), 4, 2, 1, taps, 0)
}

/// Appends the [`pack_i8`] layout to `out` (slices checked by the caller).
pub(super) fn pack_i8_into(taps: usize, ch: usize, w: &[i32], bias: &[i32], out: &mut Vec<i32>) {
    let tiles = ch.div_ceil(8);
    for j in 0..tiles {
        for i in 0..8 {
            out.push(bias.get(8 * j + i).copied().unwrap_or(0));
        }
        for t in 0..taps {
            for i in 0..4 {
                let get = |k: usize| {
                    let c = 8 * j + 2 * i + k;
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
    i8 dwconv_c8__neon(px, taps, ind, w, ch, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => i8_body::<SIGNED, K>(px, taps, ind, w, ch, out)) }
    }
}

#[inline(always)]
unsafe fn i8_body<const SIGNED: bool, const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    let taps = if K == 0 { taps_rt } else { K };
    let tile_words = 8 + 4 * taps;
    let tiles = ch.div_ceil(8);
    // SAFETY: full tiles read channels c..c+8 <= ch of each row; partial tiles copy n bytes;
    // weights stay inside the packed buffer; stores cover out[p·ch + c..+n].
    unsafe {
        for p in 0..px {
            let rows = ind.add(p * taps);
            let o = out.add(p * ch);
            for j in 0..tiles {
                let c = 8 * j;
                let n = (ch - c).min(8);
                let wt = w.add(j * tile_words);
                let mut lo = vld1q_s32(wt);
                let mut hi = vld1q_s32(wt.add(4));
                for t in 0..taps {
                    let r = (*rows.add(t)).add(c);
                    let xb = if n == 8 {
                        vld1_u8(r)
                    } else {
                        let mut buf = [0u8; 8];
                        core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), n);
                        vld1_u8(buf.as_ptr())
                    };
                    let x = if SIGNED {
                        vmovl_s8(vreinterpret_s8_u8(xb))
                    } else {
                        vreinterpretq_s16_u16(vmovl_u8(xb))
                    };
                    let wv = vld1q_s16(wt.add(8 + 4 * t).cast());
                    lo = vmlal_s16(lo, vget_low_s16(x), vget_low_s16(wv));
                    hi = vmlal_high_s16(hi, x, wv);
                }
                if n == 8 {
                    vst1q_s32(o.add(c), lo);
                    vst1q_s32(o.add(c + 4), hi);
                } else {
                    let mut buf = [0i32; 8];
                    vst1q_s32(buf.as_mut_ptr(), lo);
                    vst1q_s32(buf.as_mut_ptr().add(4), hi);
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), o.add(c), n);
                }
            }
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
        unsafe { by_taps!(taps, K => f32_rows::<K>(px, taps, ind, w, ch, lo, hi, out)) }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_rows<const K: usize>(
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
            f32_px::<P>(taps, ind.add(p * taps), w, ch, lo, hi, out.add(p * ch))
        })
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_px<const P: usize>(
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let tile_len = 4 * (1 + taps);
    let tiles = ch.div_ceil(4);
    // SAFETY: full tiles read/write channels c..c+4 <= ch; partial tiles copy n floats through
    // buffers; weights stay inside the packed buffer.
    unsafe {
        let vlo = vdupq_n_f32(lo);
        let vhi = vdupq_n_f32(hi);
        for j in 0..tiles {
            let c = 4 * j;
            let n = (ch - c).min(4);
            let wt = w.add(j * tile_len);
            let b = vld1q_f32(wt);
            let mut acc = [b; P];
            for t in 0..taps {
                let wv = vld1q_f32(wt.add(4 + 4 * t));
                for (q, a) in acc.iter_mut().enumerate() {
                    let r = (*ind.add(q * taps + t)).add(c);
                    let x = if n == 4 {
                        vld1q_f32(r)
                    } else {
                        let mut buf = [0f32; 4];
                        core::ptr::copy_nonoverlapping(r, buf.as_mut_ptr(), n);
                        vld1q_f32(buf.as_ptr())
                    };
                    *a = vfmaq_f32(*a, x, wv);
                }
            }
            for (q, a) in acc.iter().enumerate() {
                let r = vminq_f32(vmaxq_f32(*a, vlo), vhi);
                if n == 4 {
                    vst1q_f32(out.add(q * ch + c), r);
                } else {
                    let mut buf = [0f32; 4];
                    vst1q_f32(buf.as_mut_ptr(), r);
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), out.add(q * ch + c), n);
                }
            }
        }
    }
}
