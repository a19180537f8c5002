//! Portable scalar kernels. They use the same integer formulations as the SIMD kernels
//! (magnitude times mantissa for `Rndnu`/`Precise`, `(a*b + 2^30) >> 31` for SRDHM), so the
//! formulations themselves are checked against [`crate::Requantizer::requantize`] on every CPU.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use super::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32__scalar,
        requant_gemmlowp__scalar,
        requant_rndnu__scalar,
        requant_precise__scalar,
    ],
    requant_fp32_per_channel: requant_fp32_pc__scalar,
    quantize: quantize__scalar,
    dequantize_u8: dequantize_u8__scalar,
    dequantize_i8: dequantize_i8__scalar,
    xor80: xor80__scalar,
};

/// `Fp32` on one accumulator: f32 product, clamp in the scaled domain, round half to even.
#[inline(always)]
pub(crate) fn fp32_one(c: &RequantConsts, a: i32) -> i32 {
    let v = (a as f32) * c.scale;
    let v = v.max(c.lo as f32).min(c.hi as f32);
    v.round_ties_even() as i32 + c.zp
}

/// `Rndnu` (`ROUND_UP = true`) or `Precise` on one accumulator, as
/// `sign(a) * min((|a| * m + 2^(s-1) - [rndnu && a < 0]) >> s, 256)`.
///
/// For `a < 0`, `floor((a*m + 2^(s-1)) / 2^s) = -((|a|*m + 2^(s-1) - 1) >> s)`, so ties toward
/// +inf is ties away from zero with a rounding constant one smaller for negative inputs.
/// The magnitude saturates at 256, which is past every clamp bound (`|qmin - zp| <= 255`).
#[inline(always)]
pub(crate) fn mag_one<const ROUND_UP: bool>(c: &RequantConsts, a: i32) -> i32 {
    let neg = a < 0;
    let p = u64::from(a.unsigned_abs()) * u64::from(c.mantissa) + (1u64 << (c.shift - 1))
        - u64::from(ROUND_UP && neg);
    let m = (p >> c.shift).min(256) as i32;
    let v = if neg { -m } else { m };
    v.clamp(c.lo, c.hi) + c.zp
}

/// `Gemmlowp` on one accumulator.
#[inline(always)]
pub(crate) fn gemmlowp_one(c: &RequantConsts, a: i32) -> i32 {
    let sh = (i64::from(a) << c.left).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    // The multiplier is positive, so SRDHM never saturates: round(sh*m / 2^31), ties up.
    let hm = ((sh * i64::from(c.mult) + (1 << 30)) >> 31) as i32;
    let mask = ((1i64 << c.right) - 1) as i32;
    let rem = hm & mask;
    let thr = (mask >> 1) + i32::from(hm < 0);
    let q = (hm >> c.right) + i32::from(rem > thr);
    q.clamp(c.lo, c.hi) + c.zp
}

/// `out[i] = f(src[i])` over the common length (the loop of every element-wise kernel here).
#[inline(always)]
fn map_into<A: Copy, B>(out: &mut [B], src: &[A], f: impl Fn(A) -> B) {
    for (o, &a) in out.iter_mut().zip(src) {
        *o = f(a);
    }
}

/// Requantize with `Fp32`.
pub(crate) unsafe fn requant_fp32__scalar(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    map_into(out, acc, |a| fp32_one(c, a) as u8);
}

/// Requantize with `Gemmlowp`.
pub(crate) unsafe fn requant_gemmlowp__scalar(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    map_into(out, acc, |a| gemmlowp_one(c, a) as u8);
}

/// Requantize with `Rndnu`.
pub(crate) unsafe fn requant_rndnu__scalar(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    map_into(out, acc, |a| mag_one::<true>(c, a) as u8);
}

/// Requantize with `Precise`.
pub(crate) unsafe fn requant_precise__scalar(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    map_into(out, acc, |a| mag_one::<false>(c, a) as u8);
}

/// ONNX QuantizeLinear on one value: `clamp(round_half_even(x / scale)) + zp`, NaN -> zp.
#[inline(always)]
pub(crate) fn quantize_one(c: &QuantConsts, x: f32) -> i32 {
    // `as` saturates and maps NaN to 0.
    let v = (x / c.scale).round_ties_even() as i32;
    v.clamp(c.lo, c.hi) + c.zp
}

/// Quantize f32 to the low bytes of `out`.
pub(crate) unsafe fn quantize__scalar(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    map_into(out, x, |v| quantize_one(c, v) as u8);
}

/// Dequantize `u8`.
pub(crate) unsafe fn dequantize_u8__scalar(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
    map_into(out, q, |v| (i32::from(v) - c.zp) as f32 * c.scale);
}

/// Dequantize `i8` (given as bytes).
pub(crate) unsafe fn dequantize_i8__scalar(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
    map_into(out, q, |v| (i32::from(v as i8) - c.zp) as f32 * c.scale);
}

/// Flip the top bit (u8 <-> i8 with zero point shifted by 128).
pub(crate) unsafe fn xor80__scalar(x: &[u8], out: &mut [u8]) {
    map_into(out, x, |v| v ^ 0x80);
}

/// `Fp32` with per-element scales.
pub(crate) unsafe fn requant_fp32_pc__scalar(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    for ((o, &a), &s) in out.iter_mut().zip(acc).zip(scales) {
        let v = (a as f32) * s;
        let v = v.max(c.lo as f32).min(c.hi as f32);
        *o = (v.round_ties_even() as i32 + c.zp) as u8;
    }
}
