//! `dwconv_c8__neon`: 8 channels per step (int8 widened to i32, exact), 4 per step for fp32;
//! remaining channels in scalar code.

use core::arch::aarch64::*;

/// See [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`] (NEON is baseline).
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_i8(
    taps: usize,
    rows: *const *const u8,
    xor: u8,
    za: i32,
    w: *const i32,
    bias: *const i32,
    ch: usize,
    out: *mut i32,
) {
    let full = ch / 8 * 8;
    // SAFETY: vector accesses cover channels c..c+8 <= full <= ch of every buffer.
    unsafe {
        let vxor = vdup_n_u8(xor);
        let vza = vdupq_n_s32(za);
        let mut c = 0;
        while c < full {
            let mut lo = vld1q_s32(bias.add(c));
            let mut hi = vld1q_s32(bias.add(c + 4));
            for t in 0..taps {
                let xb = veor_u8(vld1_u8((*rows.add(t)).add(c)), vxor);
                let x16 = vreinterpretq_s16_u16(vmovl_u8(xb));
                let xl = vsubq_s32(vmovl_s16(vget_low_s16(x16)), vza);
                let xh = vsubq_s32(vmovl_s16(vget_high_s16(x16)), vza);
                lo = vmlaq_s32(lo, xl, vld1q_s32(w.add(t * ch + c)));
                hi = vmlaq_s32(hi, xh, vld1q_s32(w.add(t * ch + c + 4)));
            }
            vst1q_s32(out.add(c), lo);
            vst1q_s32(out.add(c + 4), hi);
            c += 8;
        }
        for c in full..ch {
            let mut acc = *bias.add(c);
            for t in 0..taps {
                acc += (i32::from(*(*rows.add(t)).add(c) ^ xor) - za) * *w.add(t * ch + c);
            }
            *out.add(c) = acc;
        }
    }
}

/// See [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`] (NEON is baseline).
pub unsafe fn dw_f32(
    taps: usize,
    rows: *const *const f32,
    w: *const f32,
    bias: *const f32,
    ch: usize,
    out: *mut f32,
) {
    let full = ch / 4 * 4;
    // SAFETY: vector accesses cover channels c..c+4 <= full <= ch of every buffer.
    unsafe {
        let mut c = 0;
        while c < full {
            let mut acc = vld1q_f32(bias.add(c));
            for t in 0..taps {
                acc = vfmaq_f32(
                    acc,
                    vld1q_f32((*rows.add(t)).add(c)),
                    vld1q_f32(w.add(t * ch + c)),
                );
            }
            vst1q_f32(out.add(c), acc);
            c += 4;
        }
        for c in full..ch {
            let mut acc = *bias.add(c);
            for t in 0..taps {
                acc = (*(*rows.add(t)).add(c)).mul_add(*w.add(t * ch + c), acc);
            }
            *out.add(c) = acc;
        }
    }
}
