//! `wgemm_8x8c2__neon`: widening multiply-accumulate by lane (`smlal v.4s, v.4h, v.h[i]`); the
//! transforms are the portable ones (NEON is baseline, the compiler vectorizes them).
#![allow(non_snake_case)]

use core::arch::aarch64::*;

kernel_fn! {
    /// See [`crate::int8::ukernel::GemmFn`].
    ///
    /// # Safety
    /// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 8`, `NR = 8` (NEON is baseline
    /// on aarch64).
    gemm wgemm_8x8c2__neon(kp, v, ldv, u, m, ldm) {
        const MR: usize = 8;
        // SAFETY: kp is a multiple of 4 (contract): for q < kp/4 the pair rows 2q and 2q+1 of `u`
        // (16 i16 each) and elements 4q..4q+4 of each of the MR rows of `v` are inside the buffers;
        // row r < MR of `m` has 8 writable i32.
        unsafe {
            let mut acc = [[vdupq_n_s32(0); 2]; MR];
            for q in 0..kp / 4 {
                // .0: input channel 4q (8 output channels), .1: 4q+1; then 4q+2, 4q+3.
                let a = vld2q_s16(u.add(q * 32));
                let b = vld2q_s16(u.add(q * 32 + 16));
                let (a0l, a0h) = (vget_low_s16(a.0), vget_high_s16(a.0));
                let (a1l, a1h) = (vget_low_s16(a.1), vget_high_s16(a.1));
                let (b0l, b0h) = (vget_low_s16(b.0), vget_high_s16(b.0));
                let (b1l, b1h) = (vget_low_s16(b.1), vget_high_s16(b.1));
                for (r, c) in acc.iter_mut().enumerate() {
                    let x = vld1_s16(v.add(r * ldv + 4 * q));
                    c[0] = vmlal_lane_s16::<0>(c[0], a0l, x);
                    c[1] = vmlal_lane_s16::<0>(c[1], a0h, x);
                    c[0] = vmlal_lane_s16::<1>(c[0], a1l, x);
                    c[1] = vmlal_lane_s16::<1>(c[1], a1h, x);
                    c[0] = vmlal_lane_s16::<2>(c[0], b0l, x);
                    c[1] = vmlal_lane_s16::<2>(c[1], b0h, x);
                    c[0] = vmlal_lane_s16::<3>(c[0], b1l, x);
                    c[1] = vmlal_lane_s16::<3>(c[1], b1h, x);
                }
            }
            for (r, c) in acc.iter().enumerate() {
                vst1q_s32(m.add(r * ldm), c[0]);
                vst1q_s32(m.add(r * ldm + 4), c[1]);
            }
        }
    }
}
