//! AVX-512 (F, BW, DQ, VL) kernels, 16 lanes of i32/f32 per step. Tails use masked loads and
//! stores, which do not touch masked-off memory, so no byte outside the slices is read or written.
//!
//! * `Fp32`: `vcvtdq2ps`, `vmulps`, clamp, `vcvtps2dq` with explicit round-to-nearest-even.
//! * `Rndnu`/`Precise`: `acc * mantissa` as exact signed 64-bit products (`vpmuldq` on the even
//!   and odd lanes), one rounding constant (one smaller for negative products under `Precise`),
//!   `vpsraq`, clamp.
//! * `Gemmlowp`: saturating left shift, SRDHM as `(a*m + 2^30) >> 31` on `vpmuldq` products (the
//!   multiplier is positive, so SRDHM's saturation case cannot occur), and RoundingDivideByPOT
//!   fused with SRDHM into one exact 64-bit arithmetic shift (see `gemmlowp16`).

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use core::arch::x86_64::*;

use crate::ukernel::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32_x16__avx512,
        requant_gemmlowp_x16__avx512,
        requant_rndnu_x16__avx512,
        requant_precise_x16__avx512,
    ],
    requant_fp32_per_channel: requant_fp32_pc_x16__avx512,
    quantize: quantize_x16__avx512,
    dequantize_u8: dequantize_u8_x16__avx512,
    dequantize_i8: dequantize_i8_x16__avx512,
    xor80: xor80_x64__avx512,
};

/// Runs `$body` (which maps `$x: __m512i` of 16 accumulators to 16 clamped i32 results) over
/// `acc`, storing the low bytes into `out`.
macro_rules! requant_loop {
    ($acc:expr, $out:expr, |$x:ident| $body:expr) => {{
        let acc: &[i32] = $acc;
        let out: &mut [u8] = $out;
        debug_assert_eq!(acc.len(), out.len());
        let n = acc.len().min(out.len());
        let mut i = 0;
        // SAFETY: the caller guarantees AVX-512 F/BW/VL; every full-width load/store covers
        // indices i..i+16 < n of slices of length >= n; the tail uses masked loads/stores with
        // exactly the remaining lanes enabled.
        unsafe {
            while i + 16 <= n {
                let $x = _mm512_loadu_si512(acc.as_ptr().add(i).cast());
                let r: __m512i = $body;
                _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), _mm512_cvtepi32_epi8(r));
                i += 16;
            }
            if i < n {
                let k: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                let $x = _mm512_maskz_loadu_epi32(k, acc.as_ptr().add(i));
                let r: __m512i = $body;
                _mm_mask_storeu_epi8(out.as_mut_ptr().add(i).cast(), k, _mm512_cvtepi32_epi8(r));
            }
        }
    }};
}

/// Requantize with `Fp32`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_fp32_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vscale = _mm512_set1_ps(c.scale);
    let vlo = _mm512_set1_ps(c.lo as f32);
    let vhi = _mm512_set1_ps(c.hi as f32);
    let vzp = _mm512_set1_epi32(c.zp);
    requant_loop!(acc, out, |x| {
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), vscale);
        let f = _mm512_min_ps(_mm512_max_ps(f, vlo), vhi);
        let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(f);
        _mm512_add_epi32(r, vzp)
    });
}

/// Requantize with `Fp32` and one scale per element (a per-channel row).
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_fp32_pc_x16__avx512(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    let vlo = _mm512_set1_ps(c.lo as f32);
    let vhi = _mm512_set1_ps(c.hi as f32);
    let vzp = _mm512_set1_epi32(c.zp);
    let n = acc.len().min(out.len()).min(scales.len());
    let step = |x: __m512i, s: __m512| -> __m128i {
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), s);
        let f = _mm512_min_ps(_mm512_max_ps(f, vlo), vhi);
        let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(f);
        _mm512_cvtepi32_epi8(_mm512_add_epi32(r, vzp))
    };
    let mut i = 0;
    // SAFETY: AVX-512 is guaranteed by the caller; full loads/stores cover i..i+16 <= n of three
    // slices of length >= n; the tail uses masked loads/stores of exactly the remaining lanes.
    unsafe {
        while i + 16 <= n {
            let x = _mm512_loadu_si512(acc.as_ptr().add(i).cast());
            let s = _mm512_loadu_ps(scales.as_ptr().add(i));
            _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), step(x, s));
            i += 16;
        }
        if i < n {
            let k: __mmask16 = (1u32 << (n - i)) as u16 - 1;
            let x = _mm512_maskz_loadu_epi32(k, acc.as_ptr().add(i));
            let s = _mm512_maskz_loadu_ps(k, scales.as_ptr().add(i));
            _mm_mask_storeu_epi8(out.as_mut_ptr().add(i).cast(), k, step(x, s));
        }
    }
}

/// `Rndnu` (`PRECISE = false`) or `Precise` on 16 lanes, on signed 64-bit products:
/// `Rndnu = (a*m + 2^(s-1)) >> s` and `Precise = (a*m + 2^(s-1) - [a < 0]) >> s` (arithmetic
/// shifts; for `a < 0`, `-((|a|*m + 2^(s-1)) >> s) = floor((a*m + 2^(s-1) - 1) / 2^s)`), the
/// sign of `a` being the sign of the product since `m > 0`. With `WIDE` (shift < 24, i.e.
/// scale >= 1) the result may exceed i32 and is clamped in 64 bits; otherwise it fits in i32
/// (`|a*m + 2^(s-1)| < 2^55`, shifted by >= 24) and is clamped after narrowing.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn mag16<const PRECISE: bool, const WIDE: bool>(x: __m512i, k: &MagConsts) -> __m512i {
    let p_even = _mm512_mul_epi32(x, k.vm);
    let p_odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), k.vm);
    let (p_even, p_odd) = if PRECISE {
        (
            _mm512_add_epi64(p_even, _mm512_srai_epi64::<63>(p_even)),
            _mm512_add_epi64(p_odd, _mm512_srai_epi64::<63>(p_odd)),
        )
    } else {
        (p_even, p_odd)
    };
    let q_even = _mm512_sra_epi64(_mm512_add_epi64(p_even, k.vround), k.shift);
    let q_odd = _mm512_sra_epi64(_mm512_add_epi64(p_odd, k.vround), k.shift);
    if WIDE {
        let q_even = _mm512_min_epi64(_mm512_max_epi64(q_even, k.vlo), k.vhi);
        let q_odd = _mm512_min_epi64(_mm512_max_epi64(q_odd, k.vlo), k.vhi);
        let v = _mm512_mask_blend_epi32(0xAAAA, q_even, _mm512_slli_epi64::<32>(q_odd));
        _mm512_add_epi32(v, k.vzp)
    } else {
        let v = _mm512_mask_blend_epi32(0xAAAA, q_even, _mm512_slli_epi64::<32>(q_odd));
        _mm512_add_epi32(
            _mm512_min_epi32(_mm512_max_epi32(v, k.vlo32), k.vhi32),
            k.vzp,
        )
    }
}

/// Constants of `Rndnu`/`Precise` (clamp bounds as 64-bit lanes).
#[derive(Clone, Copy)]
struct MagConsts {
    vm: __m512i,
    vround: __m512i,
    shift: __m128i,
    vlo: __m512i,
    vhi: __m512i,
    vlo32: __m512i,
    vhi32: __m512i,
    vzp: __m512i,
}

impl MagConsts {
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    fn new(c: &RequantConsts) -> MagConsts {
        MagConsts {
            vm: _mm512_set1_epi64(i64::from(c.mantissa)),
            vround: _mm512_set1_epi64(1i64 << (c.shift - 1)),
            shift: _mm_cvtsi32_si128(c.shift as i32),
            vlo: _mm512_set1_epi64(i64::from(c.lo)),
            vhi: _mm512_set1_epi64(i64::from(c.hi)),
            vlo32: _mm512_set1_epi32(c.lo),
            vhi32: _mm512_set1_epi32(c.hi),
            vzp: _mm512_set1_epi32(c.zp),
        }
    }
}

/// Requantize with `Rndnu`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_rndnu_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    if c.shift < 24 {
        requant_loop!(acc, out, |x| mag16::<false, true>(x, &k));
    } else {
        requant_loop!(acc, out, |x| mag16::<false, false>(x, &k));
    }
}

/// Requantize with `Precise`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_precise_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    if c.shift < 24 {
        requant_loop!(acc, out, |x| mag16::<true, true>(x, &k));
    } else {
        requant_loop!(acc, out, |x| mag16::<true, false>(x, &k));
    }
}

/// Requantize with `Gemmlowp`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_gemmlowp_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    if c.left > 0 {
        gemmlowp16::<true, false>(c, acc, out)
    } else if c.right > 0 {
        gemmlowp16::<false, true>(c, acc, out)
    } else {
        gemmlowp16::<false, false>(c, acc, out)
    }
}

/// `Gemmlowp` on 16 lanes per step. `LEFT` (scales >= 1): saturating left shift first.
/// SRDHM is `(a*m + 2^30) >> 31` on 64-bit products (the multiplier is positive, so SRDHM's
/// saturation case cannot occur). `RIGHT` (exponent `e >= 1`): SRDHM and RoundingDivideByPOT
/// fused into one exact 64-bit shift:
/// `RDBPOT(floor(p / 2^31), e) = floor((p + 2^(30+e) - [p < 0] * 2^31) / 2^(31+e))` with
/// `p = a*m + 2^30` (floor of floor is one floor; ties away from zero is the rounding constant
/// `2^(e-1) - [x < 0]`). `[p < 0]` may be replaced by `[a < 0]`: they differ only when
/// `p` is in `[0, 2^30]`, where both give 0.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn gemmlowp16<const LEFT: bool, const RIGHT: bool>(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let left = _mm512_set1_epi32(c.left as i32);
    let sat_hi = _mm512_set1_epi32(i32::MAX >> c.left);
    let sat_lo = _mm512_set1_epi32(i32::MIN >> c.left);
    let vmax = _mm512_set1_epi32(i32::MAX);
    let vmin = _mm512_set1_epi32(i32::MIN);
    let vmult = _mm512_set1_epi32(c.mult);
    let nudge = _mm512_set1_epi64(1 << 30);
    // RIGHT: rounding constants for a >= 0 / a < 0, and the two shifts.
    let e = c.right.max(1);
    let k_pos = _mm512_set1_epi64((1i64 << 30) + (1i64 << (30 + e)));
    let k_neg = _mm512_set1_epi64((1i64 << 30) + (1i64 << (30 + e)) - (1i64 << 31));
    let shift_even = _mm_cvtsi32_si128(31 + e as i32);
    // The odd lane's result is wanted in the high dword: shift by 31 + e - 32.
    let shift_odd = _mm_cvtsi32_si128(e as i32 - 1);
    let (vlo, vhi, vzp) = (
        _mm512_set1_epi32(c.lo),
        _mm512_set1_epi32(c.hi),
        _mm512_set1_epi32(c.zp),
    );
    requant_loop!(acc, out, |x| {
        let sh = if LEFT {
            let sh = _mm512_sllv_epi32(x, left);
            let sh = _mm512_mask_mov_epi32(sh, _mm512_cmpgt_epi32_mask(x, sat_hi), vmax);
            _mm512_mask_mov_epi32(sh, _mm512_cmplt_epi32_mask(x, sat_lo), vmin)
        } else {
            x
        };
        let prod_even = _mm512_mul_epi32(sh, vmult);
        let prod_odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(sh), vmult);
        let q = if RIGHT {
            let k_even = _mm512_mask_blend_epi64(_mm512_movepi64_mask(prod_even), k_pos, k_neg);
            let k_odd = _mm512_mask_blend_epi64(_mm512_movepi64_mask(prod_odd), k_pos, k_neg);
            let q_even = _mm512_sra_epi64(_mm512_add_epi64(prod_even, k_even), shift_even);
            let q_odd = _mm512_sra_epi64(_mm512_add_epi64(prod_odd, k_odd), shift_odd);
            _mm512_mask_blend_epi32(0xAAAA, q_even, q_odd)
        } else {
            // Bits 31..62 of (a*m + 2^30): even lanes low dword, odd lanes high dword.
            _mm512_mask_blend_epi32(
                0xAAAA,
                _mm512_srli_epi64::<31>(_mm512_add_epi64(prod_even, nudge)),
                _mm512_slli_epi64::<1>(_mm512_add_epi64(prod_odd, nudge)),
            )
        };
        _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, vlo), vhi), vzp)
    });
}

/// ONNX QuantizeLinear: `x / scale` (IEEE division, as the scalar reference), NaN -> 0, clamp,
/// round half to even, add the zero point.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn quantize_x16__avx512(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    let vscale = _mm512_set1_ps(c.scale);
    let vlo = _mm512_set1_ps(c.lo as f32);
    let vhi = _mm512_set1_ps(c.hi as f32);
    let vzp = _mm512_set1_epi32(c.zp);
    let n = x.len().min(out.len());
    let mut i = 0;
    let step = |v: __m512| -> __m512i {
        let v = _mm512_div_ps(v, vscale);
        let v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_ORD_Q>(v, v), v);
        let v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
        let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
        _mm512_add_epi32(r, vzp)
    };
    // SAFETY: AVX-512 is guaranteed by the caller; full loads/stores cover i..i+16 <= n; the tail
    // uses masked loads/stores of exactly the remaining lanes.
    unsafe {
        while i + 16 <= n {
            let r = step(_mm512_loadu_ps(x.as_ptr().add(i)));
            _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), _mm512_cvtepi32_epi8(r));
            i += 16;
        }
        if i < n {
            let k: __mmask16 = (1u32 << (n - i)) as u16 - 1;
            let r = step(_mm512_maskz_loadu_ps(k, x.as_ptr().add(i)));
            _mm_mask_storeu_epi8(out.as_mut_ptr().add(i).cast(), k, _mm512_cvtepi32_epi8(r));
        }
    }
}

macro_rules! dequant_kernel {
    ($name:ident, $widen:ident) => {
        /// DequantizeLinear: `(q - zp) as f32 * scale`.
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        pub(crate) unsafe fn $name(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
            let vscale = _mm512_set1_ps(c.scale);
            let vzp = _mm512_set1_epi32(c.zp);
            let n = q.len().min(out.len());
            let mut i = 0;
            // SAFETY: AVX-512 is guaranteed by the caller; full loads/stores cover
            // i..i+16 <= n; the tail uses masked loads/stores of exactly the remaining lanes.
            unsafe {
                while i + 16 <= n {
                    let b = _mm_loadu_si128(q.as_ptr().add(i).cast());
                    let v = _mm512_sub_epi32($widen(b), vzp);
                    _mm512_storeu_ps(
                        out.as_mut_ptr().add(i),
                        _mm512_mul_ps(_mm512_cvtepi32_ps(v), vscale),
                    );
                    i += 16;
                }
                if i < n {
                    let k: __mmask16 = (1u32 << (n - i)) as u16 - 1;
                    let b = _mm_maskz_loadu_epi8(k, q.as_ptr().add(i).cast());
                    let v = _mm512_sub_epi32($widen(b), vzp);
                    _mm512_mask_storeu_ps(
                        out.as_mut_ptr().add(i),
                        k,
                        _mm512_mul_ps(_mm512_cvtepi32_ps(v), vscale),
                    );
                }
            }
        }
    };
}

dequant_kernel!(dequantize_u8_x16__avx512, _mm512_cvtepu8_epi32);
dequant_kernel!(dequantize_i8_x16__avx512, _mm512_cvtepi8_epi32);

/// `out = x ^ 0x80`, 64 bytes per step.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn xor80_x64__avx512(x: &[u8], out: &mut [u8]) {
    let k80 = _mm512_set1_epi8(0x80u8 as i8);
    let n = x.len().min(out.len());
    let mut i = 0;
    // SAFETY: AVX-512 BW is guaranteed by the caller; full loads/stores cover i..i+64 <= n; the
    // tail uses masked loads/stores of exactly the remaining bytes.
    unsafe {
        while i + 64 <= n {
            let v = _mm512_loadu_si512(x.as_ptr().add(i).cast());
            _mm512_storeu_si512(out.as_mut_ptr().add(i).cast(), _mm512_xor_si512(v, k80));
            i += 64;
        }
        if i < n {
            let k: __mmask64 = (1u64 << (n - i)) - 1;
            let v = _mm512_maskz_loadu_epi8(k, x.as_ptr().add(i).cast());
            _mm512_mask_storeu_epi8(out.as_mut_ptr().add(i).cast(), k, _mm512_xor_si512(v, k80));
        }
    }
}
