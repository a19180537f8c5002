//! Portable kernels (`dwconv_c1__scalar`): natural layout, folded bias first, then the taps.

#![allow(non_snake_case)]

use crate::ukernel::{check_pack, packed_len};
use crate::DwError;
use cpu_probe::alloc::try_with_capacity;

/// Packed int8 layout: `channels` folded biases, then `taps × channels` weights `w'` (tap-major).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_with_capacity(packed_len(1, ch, 1, 1, taps, 0)?, "packed weights")?;
    out.extend_from_slice(&bias[..ch]);
    out.extend_from_slice(w);
    Ok(out)
}

/// Packed fp32 layout: `channels` biases, then `taps × channels` weights (tap-major).
pub fn pack_f32(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_with_capacity(packed_len(1, ch, 1, 1, taps, 0)?, "packed weights")?;
    out.extend_from_slice(&bias[..ch]);
    out.extend_from_slice(w);
    Ok(out)
}

/// See [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`] with the layout of [`pack_i8`].
pub unsafe fn dwconv_c1__scalar<const SIGNED: bool>(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    // SAFETY: the caller's contract gives these lengths.
    let (ind, w, out) = unsafe {
        (
            core::slice::from_raw_parts(ind, px * taps),
            core::slice::from_raw_parts(w, ch * (1 + taps)),
            core::slice::from_raw_parts_mut(out, px * ch),
        )
    };
    let (bias, w) = w.split_at(ch);
    for (rows, o) in ind.chunks_exact(taps).zip(out.chunks_exact_mut(ch)) {
        o.copy_from_slice(bias);
        for (t, &r) in rows.iter().enumerate() {
            // SAFETY: each row has ch readable bytes.
            let x = unsafe { core::slice::from_raw_parts(r, ch) };
            for ((o, &xv), &wv) in o.iter_mut().zip(x).zip(&w[t * ch..(t + 1) * ch]) {
                let xv = if SIGNED {
                    i32::from(xv as i8)
                } else {
                    i32::from(xv)
                };
                *o = o.wrapping_add(xv.wrapping_mul(wv));
            }
        }
    }
}

/// See [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`] with the layout of [`pack_f32`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn dwconv_f32_c1__scalar(
    px: usize,
    taps: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    // SAFETY: the caller's contract gives these lengths.
    let (ind, w, out) = unsafe {
        (
            core::slice::from_raw_parts(ind, px * taps),
            core::slice::from_raw_parts(w, ch * (1 + taps)),
            core::slice::from_raw_parts_mut(out, px * ch),
        )
    };
    let (bias, w) = w.split_at(ch);
    for (rows, o) in ind.chunks_exact(taps).zip(out.chunks_exact_mut(ch)) {
        o.copy_from_slice(bias);
        for (t, &r) in rows.iter().enumerate() {
            // SAFETY: each row has ch readable floats.
            let x = unsafe { core::slice::from_raw_parts(r, ch) };
            for ((o, &xv), &wv) in o.iter_mut().zip(x).zip(&w[t * ch..(t + 1) * ch]) {
                *o = xv.mul_add(wv, *o);
            }
        }
        for v in o.iter_mut() {
            *v = clamp_nan(*v, lo, hi);
        }
    }
}

/// `v` clamped to `[lo, hi]`, NaN staying NaN (both comparisons are false for NaN); `f32::max`
/// and `f32::min` would return the bound instead. Written as x86 `maxss(lo, v)` then
/// `minss(hi, ·)` (`a > b ? a : b`), which is what it compiles to.
#[inline(always)]
pub(crate) fn clamp_nan(v: f32, lo: f32, hi: f32) -> f32 {
    let m = if lo > v { lo } else { v };
    if hi < m {
        hi
    } else {
        m
    }
}
