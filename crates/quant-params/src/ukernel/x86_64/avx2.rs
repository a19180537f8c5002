//! AVX2 kernels, 32 outputs per step (four vectors of 8 lanes packed to 32 bytes). A partial
//! last step goes through a zero-padded stack buffer, so no byte outside the slices is touched.
//!
//! * `Fp32`: `vcvtdq2ps`, `vmulps`, clamp, `vroundps` to nearest even, `vcvtps2dq`.
//! * `Rndnu`/`Precise`: exact 64-bit `|acc| * mantissa` (`vpmuludq`, even and odd lanes), one
//!   rounding constant, `vpsrlq`, magnitude saturated at 256 (`vpcmpgtq`), sign by `vpsignd`.
//! * `Gemmlowp`: saturating left shift, SRDHM as bits 31..62 of `a*m + 2^30` (`vpmuldq`),
//!   RoundingDivideByPOT with gemmlowp's remainder/threshold test.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use core::arch::x86_64::*;

use crate::ukernel::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32_x32__avx2,
        requant_gemmlowp_x32__avx2,
        requant_rndnu_x32__avx2,
        requant_precise_x32__avx2,
    ],
    requant_fp32_per_channel: requant_fp32_pc_x8__avx2,
    quantize: quantize_x32__avx2,
    dequantize_u8: dequantize_u8_x8__avx2,
    dequantize_i8: dequantize_i8_x8__avx2,
    xor80: xor80_x32__avx2,
};

/// Low bytes of 4 x 8 i32 lanes (each in `[-128, 255]`) in order.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn pack4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    let m = _mm256_set1_epi16(0xFF);
    let ab = _mm256_and_si256(_mm256_packs_epi32(a, b), m);
    let cd = _mm256_and_si256(_mm256_packs_epi32(c, d), m);
    let r = _mm256_packus_epi16(ab, cd);
    _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// Runs `$body` (pointer `$p` to 8 inputs -> 8 i32 results) over `$inp` through
/// [`blocks`](crate::ukernel::blocks), 32 per step, packing the results to bytes.
macro_rules! loop32 {
    ($inp:expr, $out:expr, $zero:expr, |$p:ident| $body:expr) => {
        crate::ukernel::blocks::<_, u8, 32>($inp, $out, $zero, |src, dst| {
            let base = src.as_ptr();
            // SAFETY: the enclosing kernel requires AVX2 (its caller guarantees it); each `$body` reads the 8 elements at its
            // `$p`, inside `src` (32 elements); the store writes the 32 bytes of `dst`.
            unsafe {
                let r = pack4(
                    {
                        let $p = base;
                        $body
                    },
                    {
                        let $p = base.add(8);
                        $body
                    },
                    {
                        let $p = base.add(16);
                        $body
                    },
                    {
                        let $p = base.add(24);
                        $body
                    },
                );
                _mm256_storeu_si256(dst.as_mut_ptr().cast(), r);
            }
        })
    };
}

/// Requantize with `Fp32`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn requant_fp32_x32__avx2(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vscale = _mm256_set1_ps(c.scale);
    let vlo = _mm256_set1_ps(c.lo as f32);
    let vhi = _mm256_set1_ps(c.hi as f32);
    let vzp = _mm256_set1_epi32(c.zp);
    loop32!(acc, out, 0i32, |p| {
        let x = _mm256_loadu_si256(p.cast());
        let f = _mm256_mul_ps(_mm256_cvtepi32_ps(x), vscale);
        let f = _mm256_min_ps(_mm256_max_ps(f, vlo), vhi);
        let f = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(f);
        _mm256_add_epi32(_mm256_cvtps_epi32(f), vzp)
    });
}

/// Requantize with `Fp32` and one scale per element (a per-channel row), 8 per step.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn requant_fp32_pc_x8__avx2(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    let vlo = _mm256_set1_ps(c.lo as f32);
    let vhi = _mm256_set1_ps(c.hi as f32);
    let vzp = _mm256_set1_epi32(c.zp);
    let n = acc.len().min(out.len()).min(scales.len());
    let step = |x: __m256i, s: __m256| -> __m128i {
        let f = _mm256_mul_ps(_mm256_cvtepi32_ps(x), s);
        let f = _mm256_min_ps(_mm256_max_ps(f, vlo), vhi);
        let f = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(f);
        let r = _mm256_add_epi32(_mm256_cvtps_epi32(f), vzp);
        // Low bytes of the 8 lanes (each in [-128, 255]) into the low 8 bytes.
        let w = _mm256_and_si256(_mm256_packs_epi32(r, r), _mm256_set1_epi16(0xFF));
        let b = _mm256_packus_epi16(w, w);
        _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
            b,
            _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4),
        ))
    };
    let mut i = 0;
    // SAFETY: AVX2 is guaranteed by the caller; full steps read acc/scales[i..i+8] and write
    // out[i..i+8] with i + 8 <= n; the tail goes through 8-element stack buffers.
    unsafe {
        while i + 8 <= n {
            let x = _mm256_loadu_si256(acc.as_ptr().add(i).cast());
            let s = _mm256_loadu_ps(scales.as_ptr().add(i));
            _mm_storel_epi64(out.as_mut_ptr().add(i).cast(), step(x, s));
            i += 8;
        }
        if i < n {
            let rem = n - i;
            let (mut ta, mut ts, mut to) = ([0i32; 8], [0f32; 8], [0u8; 16]);
            ta[..rem].copy_from_slice(&acc[i..n]);
            ts[..rem].copy_from_slice(&scales[i..n]);
            let x = _mm256_loadu_si256(ta.as_ptr().cast());
            let s = _mm256_loadu_ps(ts.as_ptr());
            _mm_storeu_si128(to.as_mut_ptr().cast(), step(x, s));
            out[i..n].copy_from_slice(&to[..rem]);
        }
    }
}

/// Constants of `Rndnu`/`Precise`.
#[derive(Clone, Copy)]
struct MagConsts {
    vm: __m256i,
    vround: __m256i,
    shift: __m128i,
    cap: __m256i,
    vlo: __m256i,
    vhi: __m256i,
    vzp: __m256i,
}

impl MagConsts {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn new(c: &RequantConsts) -> MagConsts {
        MagConsts {
            vm: _mm256_set1_epi64x(i64::from(c.mantissa)),
            vround: _mm256_set1_epi64x(1i64 << (c.shift - 1)),
            shift: _mm_cvtsi32_si128(c.shift as i32),
            cap: _mm256_set1_epi64x(256),
            vlo: _mm256_set1_epi32(c.lo),
            vhi: _mm256_set1_epi32(c.hi),
            vzp: _mm256_set1_epi32(c.zp),
        }
    }
}

/// `Rndnu` (`ROUND_UP`) or `Precise` on 8 lanes. With `WIDE` (shift < 24, scale >= 1) the
/// magnitude may exceed 2^31 and is capped at 256 in 64 bits; otherwise it is below 2^31
/// (`|a| * m + 2^(s-1) < 2^55`, shifted by >= 24) and needs no cap.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mag8<const ROUND_UP: bool, const WIDE: bool>(x: __m256i, k: &MagConsts) -> __m256i {
    let ax = _mm256_abs_epi32(x);
    let p_even = _mm256_mul_epu32(ax, k.vm);
    let p_odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(ax), k.vm);
    let (r_even, r_odd) = if ROUND_UP {
        let neg = _mm256_srai_epi32::<31>(x);
        (
            _mm256_add_epi64(k.vround, _mm256_shuffle_epi32::<0xA0>(neg)),
            _mm256_add_epi64(k.vround, _mm256_shuffle_epi32::<0xF5>(neg)),
        )
    } else {
        (k.vround, k.vround)
    };
    let q_even = _mm256_srl_epi64(_mm256_add_epi64(p_even, r_even), k.shift);
    let q_odd = _mm256_srl_epi64(_mm256_add_epi64(p_odd, r_odd), k.shift);
    let (q_even, q_odd) = if WIDE {
        (
            _mm256_blendv_epi8(q_even, k.cap, _mm256_cmpgt_epi64(q_even, k.cap)),
            _mm256_blendv_epi8(q_odd, k.cap, _mm256_cmpgt_epi64(q_odd, k.cap)),
        )
    } else {
        (q_even, q_odd)
    };
    let m = _mm256_or_si256(q_even, _mm256_slli_epi64::<32>(q_odd));
    let v = _mm256_sign_epi32(m, x);
    _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, k.vlo), k.vhi), k.vzp)
}

/// Requantize with `Rndnu`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn requant_rndnu_x32__avx2(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    if c.shift < 24 {
        loop32!(acc, out, 0i32, |p| mag8::<true, true>(
            _mm256_loadu_si256(p.cast()),
            &k
        ));
    } else {
        loop32!(acc, out, 0i32, |p| mag8::<true, false>(
            _mm256_loadu_si256(p.cast()),
            &k
        ));
    }
}

/// Requantize with `Precise`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn requant_precise_x32__avx2(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    if c.shift < 24 {
        loop32!(acc, out, 0i32, |p| mag8::<false, true>(
            _mm256_loadu_si256(p.cast()),
            &k
        ));
    } else {
        loop32!(acc, out, 0i32, |p| mag8::<false, false>(
            _mm256_loadu_si256(p.cast()),
            &k
        ));
    }
}

/// Requantize with `Gemmlowp`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn requant_gemmlowp_x32__avx2(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    if c.left > 0 {
        gemmlowp32::<true>(c, acc, out)
    } else {
        gemmlowp32::<false>(c, acc, out)
    }
}

/// `Gemmlowp`, with the saturating left shift compiled in only when `LEFT` (scales >= 1).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn gemmlowp32<const LEFT: bool>(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let left = _mm256_set1_epi32(c.left as i32);
    let sat_hi = _mm256_set1_epi32(i32::MAX >> c.left);
    let sat_lo = _mm256_set1_epi32(i32::MIN >> c.left);
    let vmax = _mm256_set1_epi32(i32::MAX);
    let vmin = _mm256_set1_epi32(i32::MIN);
    let vmult = _mm256_set1_epi32(c.mult);
    let nudge = _mm256_set1_epi64x(1 << 30);
    let mask = ((1i64 << c.right) - 1) as i32;
    let vmask = _mm256_set1_epi32(mask);
    let vhalf = _mm256_set1_epi32(mask >> 1);
    let right = _mm_cvtsi32_si128(c.right as i32);
    let (vlo, vhi, vzp) = (
        _mm256_set1_epi32(c.lo),
        _mm256_set1_epi32(c.hi),
        _mm256_set1_epi32(c.zp),
    );
    loop32!(acc, out, 0i32, |p| {
        let x = _mm256_loadu_si256(p.cast());
        let sh = if LEFT {
            let sh = _mm256_sllv_epi32(x, left);
            let sh = _mm256_blendv_epi8(sh, vmax, _mm256_cmpgt_epi32(x, sat_hi));
            _mm256_blendv_epi8(sh, vmin, _mm256_cmpgt_epi32(sat_lo, x))
        } else {
            x
        };
        let p_even = _mm256_add_epi64(_mm256_mul_epi32(sh, vmult), nudge);
        let p_odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64::<32>(sh), vmult), nudge);
        let hm = _mm256_blend_epi32::<0xAA>(
            _mm256_srli_epi64::<31>(p_even),
            _mm256_slli_epi64::<1>(p_odd),
        );
        let rem = _mm256_and_si256(hm, vmask);
        let thr = _mm256_sub_epi32(vhalf, _mm256_srai_epi32::<31>(hm));
        let q = _mm256_sra_epi32(hm, right);
        let q = _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));
        _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(q, vlo), vhi), vzp)
    });
}

/// ONNX QuantizeLinear: IEEE `x / scale`, NaN -> 0, clamp, round half to even, add zp.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn quantize_x32__avx2(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    let vscale = _mm256_set1_ps(c.scale);
    let vlo = _mm256_set1_ps(c.lo as f32);
    let vhi = _mm256_set1_ps(c.hi as f32);
    let vzp = _mm256_set1_epi32(c.zp);
    loop32!(x, out, 0f32, |p| {
        let v = _mm256_div_ps(_mm256_loadu_ps(p), vscale);
        let v = _mm256_and_ps(v, _mm256_cmp_ps::<_CMP_ORD_Q>(v, v));
        let v = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
        let v = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
        _mm256_add_epi32(_mm256_cvtps_epi32(v), vzp)
    });
}

macro_rules! dequant_kernel {
    ($name:ident, $widen:ident) => {
        /// DequantizeLinear: `(q - zp) as f32 * scale`, 8 per step.
        #[target_feature(enable = "avx2,fma")]
        pub(crate) unsafe fn $name(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
            let vscale = _mm256_set1_ps(c.scale);
            let vzp = _mm256_set1_epi32(c.zp);
            crate::ukernel::blocks::<u8, f32, 8>(q, out, 0, |src, dst| {
                // SAFETY: the enclosing kernel requires AVX2 (its caller guarantees it); the load
                // reads the 8 bytes of `src`, the store writes the 8 floats of `dst`.
                unsafe {
                    let b = $widen(_mm_loadl_epi64(src.as_ptr().cast()));
                    let v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(b, vzp)), vscale);
                    _mm256_storeu_ps(dst.as_mut_ptr(), v);
                }
            });
        }
    };
}

dequant_kernel!(dequantize_u8_x8__avx2, _mm256_cvtepu8_epi32);
dequant_kernel!(dequantize_i8_x8__avx2, _mm256_cvtepi8_epi32);

/// `out = x ^ 0x80`, 32 bytes per step.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn xor80_x32__avx2(x: &[u8], out: &mut [u8]) {
    let k80 = _mm256_set1_epi8(0x80u8 as i8);
    let n = x.len().min(out.len());
    let mut i = 0;
    // SAFETY: AVX2 is guaranteed by the caller; full steps touch [i, i+32) with i + 32 <= n;
    // the tail is done bytewise.
    unsafe {
        while i + 32 <= n {
            let v = _mm256_loadu_si256(x.as_ptr().add(i).cast());
            _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), _mm256_xor_si256(v, k80));
            i += 32;
        }
    }
    for j in i..n {
        out[j] = x[j] ^ 0x80;
    }
}
