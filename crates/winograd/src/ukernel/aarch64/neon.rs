//! aarch64 NEON kernels: `tgemm_6x16__neon` and the block transforms with FMA (NEON is
//! baseline).
#![allow(non_snake_case)]

use crate::transforms::LANES;
use crate::ukernel::{rows, Kernels, MR};
use core::arch::aarch64::*;

crate::ukernel::block_transforms!(#[target_feature(enable = "neon")]; L; Fused; crate::transforms::ScalarIo);

tgemm_fn! {
    /// `tgemm_6x16__neon::<R>`, `R ≤ 6` rows: one panel of 16 tiles as four q registers per row.
    /// See [`crate::ukernel::GemmFn`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with one panel (NEON is always present on aarch64).
    #[target_feature(enable = "neon")]
    tgemm_6x16__neon(kc, u, v, _vps, m, _mps, accumulate) {
        let mut acc = [[vdupq_n_f32(0.0); 4]; R];
        for c in 0..kc {
            // SAFETY: v readable for kc·16 floats, u for kc·6 (contract).
            unsafe {
                let p = v.add(c * LANES);
                let x = [
                    vld1q_f32(p),
                    vld1q_f32(p.add(4)),
                    vld1q_f32(p.add(8)),
                    vld1q_f32(p.add(12)),
                ];
                for (r, a) in acc.iter_mut().enumerate() {
                    let s = *u.add(c * MR + r);
                    for q in 0..4 {
                        a[q] = vfmaq_n_f32(a[q], x[q], s);
                    }
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: m writable for R·16 floats (contract).
            unsafe {
                let d = m.add(r * LANES);
                for (q, aq) in a.iter().enumerate() {
                    let mut y = *aq;
                    if accumulate {
                        y = vaddq_f32(y, vld1q_f32(d.add(4 * q)));
                    }
                    vst1q_f32(d.add(4 * q), y);
                }
            }
        }
    }
}

/// The kernels of the `tgemm_6x16__neon` entry.
pub(crate) const KERNELS: Kernels = Kernels::one_panel(
    [tf::F2X2, tf::F4X4, tf::F6X6],
    rows!(tgemm_6x16__neon),
    30.0,
);
