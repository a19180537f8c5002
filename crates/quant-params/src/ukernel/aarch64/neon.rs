//! NEON kernels, 16 outputs per step (four `int32x4_t` narrowed to one `uint8x16_t`). A partial
//! last step goes through a zero-padded stack buffer, so no byte outside the slices is touched.
//!
//! * `Fp32`: `scvtf`, `fmul`, clamp, `fcvtns` (round to nearest, ties to even).
//! * `Gemmlowp`: `sqshl` (saturating left shift), `sqrdmulh` (exactly SRDHM, saturation
//!   included), then RoundingDivideByPOT as gemmlowp's NEON code does it: subtract 1 from
//!   negative values (`sqadd`, only when the exponent is non-zero) and `srshl` (rounding shift,
//!   ties up), which together round ties away from zero.
//! * `Rndnu`/`Precise`: exact 64-bit `|acc| * mantissa` (`umull`/`umull2`), one rounding constant
//!   (one smaller for negative inputs under `Rndnu`), `ushl` right shift, `uqxtn` narrowing,
//!   magnitude capped at 256, sign restored.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use core::arch::aarch64::*;

use crate::ukernel::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32_x16__neon,
        requant_gemmlowp_x16__neon,
        requant_rndnu_x16__neon,
        requant_precise_x16__neon,
    ],
    requant_fp32_per_channel: requant_fp32_pc_x8__neon,
    quantize: quantize_x16__neon,
    dequantize_u8: dequantize_u8_x16__neon,
    dequantize_i8: dequantize_i8_x16__neon,
    xor80: xor80_x16__neon,
};

/// Low bytes of 4 x 4 i32 lanes (each in `[-128, 255]`) in order.
#[inline]
#[target_feature(enable = "neon")]
fn pack4(a: int32x4_t, b: int32x4_t, c: int32x4_t, d: int32x4_t) -> uint8x16_t {
    let ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
    let cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(ab), vmovn_s16(cd)))
}

/// Runs `$body` (pointer `$p` to 4 inputs -> 4 i32 results) over `$inp` through
/// [`blocks`](crate::ukernel::blocks), 16 per step, packing the results to bytes.
macro_rules! loop16 {
    ($inp:expr, $out:expr, $zero:expr, |$p:ident| $body:expr) => {
        crate::ukernel::blocks::<_, u8, 16>($inp, $out, $zero, |src, dst| {
            let base = src.as_ptr();
            // SAFETY: NEON is baseline on aarch64; each `$body` reads the 4 elements at its
            // `$p`, inside `src` (16 elements); the store writes the 16 bytes of `dst`.
            unsafe {
                let r = pack4(
                    {
                        let $p = base;
                        $body
                    },
                    {
                        let $p = base.add(4);
                        $body
                    },
                    {
                        let $p = base.add(8);
                        $body
                    },
                    {
                        let $p = base.add(12);
                        $body
                    },
                );
                vst1q_u8(dst.as_mut_ptr(), r);
            }
        })
    };
}

/// Requantize with `Fp32`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_fp32_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vscale = vdupq_n_f32(c.scale);
    let vlo = vdupq_n_f32(c.lo as f32);
    let vhi = vdupq_n_f32(c.hi as f32);
    let vzp = vdupq_n_s32(c.zp);
    loop16!(acc, out, 0i32, |p| {
        let f = vmulq_f32(vcvtq_f32_s32(vld1q_s32(p)), vscale);
        let f = vminq_f32(vmaxq_f32(f, vlo), vhi);
        vaddq_s32(vcvtnq_s32_f32(f), vzp)
    });
}

/// Requantize with `Fp32` and one scale per element (a per-channel row), 8 per step.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_fp32_pc_x8__neon(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    let vlo = vdupq_n_f32(c.lo as f32);
    let vhi = vdupq_n_f32(c.hi as f32);
    let vzp = vdupq_n_s32(c.zp);
    let n = acc.len().min(out.len()).min(scales.len());
    let one = |x: int32x4_t, s: float32x4_t| -> int32x4_t {
        let f = vminq_f32(vmaxq_f32(vmulq_f32(vcvtq_f32_s32(x), s), vlo), vhi);
        vaddq_s32(vcvtnq_s32_f32(f), vzp)
    };
    let mut i = 0;
    // SAFETY: NEON is baseline; full steps read acc/scales[i..i+8] and write out[i..i+8] with
    // i + 8 <= n; the tail goes through 8-element stack buffers.
    unsafe {
        let step = |a: *const i32, s: *const f32| -> uint8x8_t {
            let lo = one(vld1q_s32(a), vld1q_f32(s));
            let hi = one(vld1q_s32(a.add(4)), vld1q_f32(s.add(4)));
            vreinterpret_u8_s8(vmovn_s16(vcombine_s16(vmovn_s32(lo), vmovn_s32(hi))))
        };
        while i + 8 <= n {
            let r = step(acc.as_ptr().add(i), scales.as_ptr().add(i));
            vst1_u8(out.as_mut_ptr().add(i), r);
            i += 8;
        }
        if i < n {
            let rem = n - i;
            let (mut ta, mut ts, mut to) = ([0i32; 8], [0f32; 8], [0u8; 8]);
            ta[..rem].copy_from_slice(&acc[i..n]);
            ts[..rem].copy_from_slice(&scales[i..n]);
            vst1_u8(to.as_mut_ptr(), step(ta.as_ptr(), ts.as_ptr()));
            out[i..n].copy_from_slice(&to[..rem]);
        }
    }
}

/// Constants of `Rndnu`/`Precise`.
#[derive(Clone, Copy)]
struct MagConsts {
    vm: uint32x2_t,
    vmq: uint32x4_t,
    vround: uint64x2_t,
    nshift: int64x2_t,
    cap: uint32x4_t,
    vlo: int32x4_t,
    vhi: int32x4_t,
    vzp: int32x4_t,
}

impl MagConsts {
    #[inline]
    #[target_feature(enable = "neon")]
    fn new(c: &RequantConsts) -> MagConsts {
        MagConsts {
            vm: vdup_n_u32(c.mantissa),
            vmq: vdupq_n_u32(c.mantissa),
            vround: vdupq_n_u64(1u64 << (c.shift - 1)),
            nshift: vdupq_n_s64(-i64::from(c.shift)),
            cap: vdupq_n_u32(256),
            vlo: vdupq_n_s32(c.lo),
            vhi: vdupq_n_s32(c.hi),
            vzp: vdupq_n_s32(c.zp),
        }
    }
}

/// `Rndnu` (`ROUND_UP`) or `Precise` on 4 lanes.
#[inline]
#[target_feature(enable = "neon")]
fn mag4<const ROUND_UP: bool>(x: int32x4_t, k: &MagConsts) -> int32x4_t {
    let neg = vshrq_n_s32::<31>(x);
    let ax = vreinterpretq_u32_s32(vabsq_s32(x));
    let p_lo = vmull_u32(vget_low_u32(ax), k.vm);
    let p_hi = vmull_high_u32(ax, k.vmq);
    let (r_lo, r_hi) = if ROUND_UP {
        (
            vaddq_u64(
                k.vround,
                vreinterpretq_u64_s64(vmovl_s32(vget_low_s32(neg))),
            ),
            vaddq_u64(k.vround, vreinterpretq_u64_s64(vmovl_high_s32(neg))),
        )
    } else {
        (k.vround, k.vround)
    };
    let q_lo = vshlq_u64(vaddq_u64(p_lo, r_lo), k.nshift);
    let q_hi = vshlq_u64(vaddq_u64(p_hi, r_hi), k.nshift);
    let m = vminq_u32(vcombine_u32(vqmovn_u64(q_lo), vqmovn_u64(q_hi)), k.cap);
    let v = vsubq_s32(veorq_s32(vreinterpretq_s32_u32(m), neg), neg);
    vaddq_s32(vminq_s32(vmaxq_s32(v, k.vlo), k.vhi), k.vzp)
}

/// Requantize with `Rndnu`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_rndnu_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    loop16!(acc, out, 0i32, |p| mag4::<true>(vld1q_s32(p), &k));
}

/// Requantize with `Precise`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_precise_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let k = MagConsts::new(c);
    loop16!(acc, out, 0i32, |p| mag4::<false>(vld1q_s32(p), &k));
}

/// Requantize with `Gemmlowp`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_gemmlowp_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let left = vdupq_n_s32(c.left as i32);
    let vmult = vdupq_n_s32(c.mult);
    let fix_mask = vdupq_n_s32(if c.right > 0 { -1 } else { 0 });
    let nright = vdupq_n_s32(-(c.right as i32));
    let (vlo, vhi, vzp) = (vdupq_n_s32(c.lo), vdupq_n_s32(c.hi), vdupq_n_s32(c.zp));
    loop16!(acc, out, 0i32, |p| {
        let sh = vqshlq_s32(vld1q_s32(p), left);
        let hm = vqrdmulhq_s32(sh, vmult);
        let fixup = vandq_s32(vshrq_n_s32::<31>(hm), fix_mask);
        let q = vrshlq_s32(vqaddq_s32(hm, fixup), nright);
        vaddq_s32(vminq_s32(vmaxq_s32(q, vlo), vhi), vzp)
    });
}

/// ONNX QuantizeLinear: IEEE `x / scale`, `fcvtns` (ties to even, NaN -> 0, saturating),
/// clamp, add zp.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn quantize_x16__neon(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    let vscale = vdupq_n_f32(c.scale);
    let (vlo, vhi, vzp) = (vdupq_n_s32(c.lo), vdupq_n_s32(c.hi), vdupq_n_s32(c.zp));
    loop16!(x, out, 0f32, |p| {
        let r = vcvtnq_s32_f32(vdivq_f32(vld1q_f32(p), vscale));
        vaddq_s32(vminq_s32(vmaxq_s32(r, vlo), vhi), vzp)
    });
}

/// Dequantize 8 widened values.
#[inline]
#[target_feature(enable = "neon")]
fn deq8(w: int16x8_t, vzp: int32x4_t, vscale: float32x4_t) -> (float32x4_t, float32x4_t) {
    let lo = vsubq_s32(vmovl_s16(vget_low_s16(w)), vzp);
    let hi = vsubq_s32(vmovl_high_s16(w), vzp);
    (
        vmulq_f32(vcvtq_f32_s32(lo), vscale),
        vmulq_f32(vcvtq_f32_s32(hi), vscale),
    )
}

macro_rules! dequant_kernel {
    ($name:ident, $widen:expr) => {
        /// DequantizeLinear: `(q - zp) as f32 * scale`, 8 per step.
        #[target_feature(enable = "neon")]
        pub(crate) unsafe fn $name(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
            let vscale = vdupq_n_f32(c.scale);
            let vzp = vdupq_n_s32(c.zp);
            crate::ukernel::blocks::<u8, f32, 8>(q, out, 0, |src, dst| {
                // SAFETY: NEON is baseline on aarch64; the load reads the 8 bytes of `src`, the
                // stores write the 8 floats of `dst`.
                unsafe {
                    let (a, b) = deq8($widen(vld1_u8(src.as_ptr())), vzp, vscale);
                    vst1q_f32(dst.as_mut_ptr(), a);
                    vst1q_f32(dst.as_mut_ptr().add(4), b);
                }
            });
        }
    };
}

dequant_kernel!(dequantize_u8_x16__neon, |b: uint8x8_t| {
    vreinterpretq_s16_u16(vmovl_u8(b))
});
dequant_kernel!(dequantize_i8_x16__neon, |b: uint8x8_t| vmovl_s8(
    vreinterpret_s8_u8(b)
));

/// `out = x ^ 0x80`, 16 bytes per step.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn xor80_x16__neon(x: &[u8], out: &mut [u8]) {
    let k80 = vdupq_n_u8(0x80);
    let n = x.len().min(out.len());
    let mut i = 0;
    // SAFETY: NEON is baseline; full steps touch [i, i+16) with i + 16 <= n; the tail is bytewise.
    unsafe {
        while i + 16 <= n {
            let v = vld1q_u8(x.as_ptr().add(i));
            vst1q_u8(out.as_mut_ptr().add(i), veorq_u8(v, k80));
            i += 16;
        }
    }
    for j in i..n {
        out[j] = x[j] ^ 0x80;
    }
}
