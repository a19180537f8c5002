//! AVX-512 (F, BW, DQ, VL) kernels, 16 lanes of i32/f32 per step. Tails use masked loads and
//! stores, which do not touch masked-off memory, so no byte outside the slices is read or written.
//!
//! * `Fp32`: `vcvtdq2ps`, `vmulps`, clamp, `vcvtps2dq` with explicit round-to-nearest-even.
//! * `Rndnu`/`Precise`: `|acc| * mantissa` as exact 64-bit products (`vpmuludq` on the even and
//!   odd lanes), one rounding constant, `vpsrlq`, magnitude saturated at 256, sign restored.
//! * `Gemmlowp`: saturating left shift, SRDHM as `(a*m + 2^30) >> 31` on `vpmuldq` products (the
//!   multiplier is positive, so SRDHM's saturation case cannot occur), RoundingDivideByPOT with
//!   gemmlowp's remainder/threshold test.

use core::arch::x86_64::*;

use crate::ukernel::{KernelTable, QuantConsts, RequantConsts, Variant};

/// The AVX-512 kernel table.
pub(crate) static TABLE: KernelTable = KernelTable {
    variant: Variant::Avx512,
    requant: [
        requant_fp32_x16__avx512,
        requant_gemmlowp_x16__avx512,
        requant_rndnu_x16__avx512,
        requant_precise_x16__avx512,
    ],
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
#[allow(non_snake_case)]
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

/// `Rndnu` (`ROUND_UP`) or `Precise` on 16 lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn mag16<const ROUND_UP: bool>(
    x: __m512i,
    vm: __m512i,
    vround: __m512i,
    shift: __m128i,
    vlo: __m512i,
    vhi: __m512i,
    vzp: __m512i,
) -> __m512i {
    let ax = _mm512_abs_epi32(x);
    let neg = _mm512_srai_epi32::<31>(x);
    let p_even = _mm512_mul_epu32(ax, vm);
    let p_odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(ax), vm);
    let (r_even, r_odd) = if ROUND_UP {
        // 64-bit all-ones for negative inputs: the rounding constant is one smaller.
        (
            _mm512_add_epi64(vround, _mm512_srai_epi64::<63>(_mm512_slli_epi64::<32>(x))),
            _mm512_add_epi64(vround, _mm512_srai_epi64::<63>(x)),
        )
    } else {
        (vround, vround)
    };
    let cap = _mm512_set1_epi64(256);
    let q_even = _mm512_min_epu64(
        _mm512_srl_epi64(_mm512_add_epi64(p_even, r_even), shift),
        cap,
    );
    let q_odd = _mm512_min_epu64(_mm512_srl_epi64(_mm512_add_epi64(p_odd, r_odd), shift), cap);
    let m = _mm512_or_si512(q_even, _mm512_slli_epi64::<32>(q_odd));
    let v = _mm512_sub_epi32(_mm512_xor_si512(m, neg), neg);
    _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, vlo), vhi), vzp)
}

/// Requantize with `Rndnu`.
#[allow(non_snake_case)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_rndnu_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vm = _mm512_set1_epi64(i64::from(c.mantissa));
    let vround = _mm512_set1_epi64(1i64 << (c.shift - 1));
    let shift = _mm_cvtsi32_si128(c.shift as i32);
    let (vlo, vhi, vzp) = (
        _mm512_set1_epi32(c.lo),
        _mm512_set1_epi32(c.hi),
        _mm512_set1_epi32(c.zp),
    );
    requant_loop!(acc, out, |x| mag16::<true>(
        x, vm, vround, shift, vlo, vhi, vzp
    ));
}

/// Requantize with `Precise`.
#[allow(non_snake_case)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_precise_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vm = _mm512_set1_epi64(i64::from(c.mantissa));
    let vround = _mm512_set1_epi64(1i64 << (c.shift - 1));
    let shift = _mm_cvtsi32_si128(c.shift as i32);
    let (vlo, vhi, vzp) = (
        _mm512_set1_epi32(c.lo),
        _mm512_set1_epi32(c.hi),
        _mm512_set1_epi32(c.zp),
    );
    requant_loop!(acc, out, |x| mag16::<false>(
        x, vm, vround, shift, vlo, vhi, vzp
    ));
}

/// Requantize with `Gemmlowp`.
#[allow(non_snake_case)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(crate) unsafe fn requant_gemmlowp_x16__avx512(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let left = _mm512_set1_epi32(c.left as i32);
    let sat_hi = _mm512_set1_epi32(i32::MAX >> c.left);
    let sat_lo = _mm512_set1_epi32(i32::MIN >> c.left);
    let vmax = _mm512_set1_epi32(i32::MAX);
    let vmin = _mm512_set1_epi32(i32::MIN);
    let vmult = _mm512_set1_epi32(c.mult);
    let nudge = _mm512_set1_epi64(1 << 30);
    let mask = ((1i64 << c.right) - 1) as i32;
    let vmask = _mm512_set1_epi32(mask);
    let vhalf = _mm512_set1_epi32(mask >> 1);
    let right = _mm_cvtsi32_si128(c.right as i32);
    let one = _mm512_set1_epi32(1);
    let (vlo, vhi, vzp) = (
        _mm512_set1_epi32(c.lo),
        _mm512_set1_epi32(c.hi),
        _mm512_set1_epi32(c.zp),
    );
    requant_loop!(acc, out, |x| {
        // Saturating left shift.
        let sh = _mm512_sllv_epi32(x, left);
        let sh = _mm512_mask_mov_epi32(sh, _mm512_cmpgt_epi32_mask(x, sat_hi), vmax);
        let sh = _mm512_mask_mov_epi32(sh, _mm512_cmplt_epi32_mask(x, sat_lo), vmin);
        // SRDHM: bits 31..62 of (a*m + 2^30), even lanes low dword, odd lanes high dword.
        let p_even = _mm512_add_epi64(_mm512_mul_epi32(sh, vmult), nudge);
        let p_odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64::<32>(sh), vmult), nudge);
        let hm = _mm512_mask_blend_epi32(
            0xAAAA,
            _mm512_srli_epi64::<31>(p_even),
            _mm512_slli_epi64::<1>(p_odd),
        );
        // RoundingDivideByPOT.
        let rem = _mm512_and_si512(hm, vmask);
        let thr = _mm512_sub_epi32(vhalf, _mm512_srai_epi32::<31>(hm));
        let q = _mm512_sra_epi32(hm, right);
        let q = _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
        _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, vlo), vhi), vzp)
    });
}

/// ONNX QuantizeLinear: `x / scale` (IEEE division, as the scalar reference), NaN -> 0, clamp,
/// round half to even, add the zero point.
#[allow(non_snake_case)]
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
        #[allow(non_snake_case)]
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
#[allow(non_snake_case)]
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
