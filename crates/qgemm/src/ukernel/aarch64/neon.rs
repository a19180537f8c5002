//! `igemm_4x8c4__neon`: 4 rows × 8 columns; activations and weights widened to i16, then
//! `smlal` by lane into i32 (exact: |a'·w'| <= 255·128).
//!
//! The ARMv8.0 baseline; the dot-product kernels are in `neondot.rs` (SDOT, with the `a' − 128`
//! shift) and `i8mm.rs` (SUDOT, USMMLA).
#![allow(non_snake_case)]

use super::super::load4;
use core::arch::aarch64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

/// See [`super::super::IgemmFn`].
///
/// # Safety
/// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 8` (NEON is baseline).
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x8c4__neon(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
) {
    let kc4 = kc.div_ceil(4);
    let xor = u32::from_ne_bytes([a_xor; 4]);
    // SAFETY: NEON is baseline on aarch64; all pointer accesses below follow the IgemmFn
    // contract (a: taps·MR row pointers readable for kc bytes; w: taps·kc4 groups of 32 bytes;
    // out: mr rows of nr i32).
    unsafe {
        let mut lo = [vld1q_s32(bias); MR];
        let mut hi = [vld1q_s32(bias.add(4)); MR];
        let mut wp = w;
        for t in 0..taps {
            for q in 0..kc4 {
                let wv = vld4_s8(wp);
                wp = wp.add(NR * 4);
                let w0 = vmovl_s8(wv.0);
                let w1 = vmovl_s8(wv.1);
                let w2 = vmovl_s8(wv.2);
                let w3 = vmovl_s8(wv.3);
                for m in 0..MR {
                    let bytes = load4(*a.add(t * MR + m), q, kc) ^ xor;
                    let a8 = vreinterpret_u8_u32(vdup_n_u32(bytes));
                    let ak = vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(a8)));
                    lo[m] = vmlal_lane_s16::<0>(lo[m], vget_low_s16(w0), ak);
                    hi[m] = vmlal_lane_s16::<0>(hi[m], vget_high_s16(w0), ak);
                    lo[m] = vmlal_lane_s16::<1>(lo[m], vget_low_s16(w1), ak);
                    hi[m] = vmlal_lane_s16::<1>(hi[m], vget_high_s16(w1), ak);
                    lo[m] = vmlal_lane_s16::<2>(lo[m], vget_low_s16(w2), ak);
                    hi[m] = vmlal_lane_s16::<2>(hi[m], vget_high_s16(w2), ak);
                    lo[m] = vmlal_lane_s16::<3>(lo[m], vget_low_s16(w3), ak);
                    hi[m] = vmlal_lane_s16::<3>(hi[m], vget_high_s16(w3), ak);
                }
            }
        }
        for m in 0..mr {
            let mut row = [0i32; NR];
            vst1q_s32(row.as_mut_ptr(), lo[m]);
            vst1q_s32(row.as_mut_ptr().add(4), hi[m]);
            core::ptr::copy_nonoverlapping(row.as_ptr(), out.add(m * out_stride), nr);
        }
    }
}
