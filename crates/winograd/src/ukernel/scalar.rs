//! Portable kernels: `tgemm_6x16__scalar` and the block transforms without FMA.
#![allow(non_snake_case)]

use super::{rows, Kernels, MR};
use crate::transforms::LANES;

super::block_transforms!(; L; Plain; crate::transforms::ScalarIo);

tgemm_fn! {
    /// `tgemm_6x16__scalar::<R>`, `R ≤ 6` rows: see [`super::GemmFn`].
    ///
    /// # Safety
    /// As [`super::GemmFn`] with one panel.
    tgemm_6x16__scalar(kc, u, v, _vps, m, _mps, accumulate) {
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
}

/// The kernels of the `tgemm_6x16__scalar` entry.
pub(crate) const KERNELS: Kernels = Kernels::one_panel(
    [tf::F2X2, tf::F4X4, tf::F6X6],
    rows!(tgemm_6x16__scalar),
    30.0,
);
