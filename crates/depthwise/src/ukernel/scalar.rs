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

kernel_fn! {
    /// See [`super::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`super::DwI8Fn`] with the layout of [`pack_i8`].
    i8 dwconv_c1__scalar(px, taps, ind, w, ch, out) {
        let mac = |o: i32, x: u8, w: i32| {
            let x = if SIGNED { i32::from(x as i8) } else { i32::from(x) };
            o.wrapping_add(x.wrapping_mul(w))
        };
        // SAFETY: same contract.
        unsafe { pixels(px, taps, ind, w, ch, out, mac, |_| {}) }
    }
}

kernel_fn! {
    /// See [`super::DwF32Fn`].
    ///
    /// # Safety
    /// The contract of [`super::DwF32Fn`] with the layout of [`pack_f32`].
    f32 dwconv_f32_c1__scalar(px, taps, ind, w, ch, lo, hi, out) {
        let mac = |o: f32, x: f32, w: f32| x.mul_add(w, o);
        let clamp = |o: &mut [f32]| o.iter_mut().for_each(|v| *v = clamp_nan(*v, lo, hi));
        // SAFETY: same contract.
        unsafe { pixels(px, taps, ind, w, ch, out, mac, clamp) }
    }
}

/// The loop of both scalar kernels: per pixel the outputs start at the bias, take
/// `o = mac(o, x, w)` per tap in tap order, and are finished by `fin`.
///
/// # Safety
/// `ind` holds `px · taps` pointers, each readable for `ch` elements; `w` holds `ch · (1 + taps)`
/// elements (biases, then the weights tap-major); `out` is writable for `px · ch` elements.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pixels<X: Copy, A: Copy>(
    px: usize,
    taps: usize,
    ind: *const *const X,
    w: *const A,
    ch: usize,
    out: *mut A,
    mac: impl Fn(A, X, A) -> A,
    fin: impl Fn(&mut [A]),
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
            // SAFETY: each row has ch readable elements.
            let x = unsafe { core::slice::from_raw_parts(r, ch) };
            for ((o, &xv), &wv) in o.iter_mut().zip(x).zip(&w[t * ch..(t + 1) * ch]) {
                *o = mac(*o, xv, wv);
            }
        }
        fin(o);
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
