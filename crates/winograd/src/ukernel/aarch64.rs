//! aarch64 kernels: `tgemm_6x16__neon` and the block transforms with FMA (NEON is baseline).

use super::{GemmFn, Kernels, MR};
use crate::transforms::LANES;
use crate::Tile;
use core::arch::aarch64::*;

mod neon {
    super::super::block_transforms!(#[target_feature(enable = "neon")]; L; Fused; crate::transforms::ScalarIo);
    pub(super) use tf::select;
}

/// `tgemm_{R}x16__neon`: one panel of 16 tiles as four q registers per row. See [`GemmFn`].
///
/// # Safety
/// As [`GemmFn`] with one panel (NEON is always present on aarch64).
#[target_feature(enable = "neon")]
pub unsafe fn tgemm_neon<const R: usize>(
    kc: usize,
    u: *const f32,
    v: *const f32,
    _vps: usize,
    m: *mut f32,
    _mps: usize,
    accumulate: bool,
) {
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

/// The NEON kernels for `tile`.
pub fn kernels(tile: Tile) -> Kernels {
    let (input, output) = neon::select(tile);
    let gemm: [GemmFn; MR] = [
        tgemm_neon::<1>,
        tgemm_neon::<2>,
        tgemm_neon::<3>,
        tgemm_neon::<4>,
        tgemm_neon::<5>,
        tgemm_neon::<6>,
    ];
    Kernels {
        input,
        output,
        gemm,
        panels: 1,
        gemm1: gemm,
        gemm_half: None,
    }
}
