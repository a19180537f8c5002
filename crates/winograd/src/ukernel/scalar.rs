//! Portable kernels: `tgemm_6x16__scalar` and the block transforms without FMA.

use super::{GemmFn, Kernels, MR};
use crate::transforms::LANES;
use crate::Tile;

super::block_transforms!(; L; Plain; crate::transforms::ScalarIo);

/// `tgemm_{R}x16__scalar`: see [`GemmFn`].
///
/// # Safety
/// As [`GemmFn`] with one panel.
pub unsafe fn tgemm_scalar<const R: usize>(
    kc: usize,
    u: *const f32,
    v: *const f32,
    _vps: usize,
    m: *mut f32,
    _mps: usize,
    accumulate: bool,
) {
    let mut acc = [[0.0f32; LANES]; R];
    for c in 0..kc {
        // SAFETY: v is readable for kc·16 floats, u for kc·6 (contract).
        let vv = unsafe { core::ptr::read_unaligned(v.add(c * LANES) as *const [f32; LANES]) };
        for (r, ar) in acc.iter_mut().enumerate() {
            // SAFETY: r < R ≤ 6.
            let s = unsafe { *u.add(c * MR + r) };
            for (a, x) in ar.iter_mut().zip(vv) {
                *a += s * x;
            }
        }
    }
    for (r, ar) in acc.iter().enumerate() {
        // SAFETY: m is writable for R·16 floats (contract).
        let dst = unsafe { core::slice::from_raw_parts_mut(m.add(r * LANES), LANES) };
        if accumulate {
            for (d, a) in dst.iter_mut().zip(ar) {
                *d += a;
            }
        } else {
            dst.copy_from_slice(ar);
        }
    }
}

/// The scalar kernels for `tile`.
pub fn kernels(tile: Tile) -> Kernels {
    let (input, output) = tf::select(tile);
    let gemm: [GemmFn; MR] = [
        tgemm_scalar::<1>,
        tgemm_scalar::<2>,
        tgemm_scalar::<3>,
        tgemm_scalar::<4>,
        tgemm_scalar::<5>,
        tgemm_scalar::<6>,
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
