//! `igemm_4x8c4__scalar`: the portable micro-kernel (also the fallback).
#![allow(non_snake_case)]

use super::load4;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

kernel_fn! {
    /// See [`super::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::IgemmFn`] with `MR = 4`, `NR = 8`.
    pub igemm igemm_4x8c4__scalar(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let kc4 = kc.div_ceil(4);
        let mut acc = [[0i32; NR]; MR];
        for row in acc.iter_mut() {
            for (j, x) in row.iter_mut().enumerate() {
                // SAFETY: bias holds NR values.
                *x = unsafe { *bias.add(j) };
            }
        }
        let xor = u32::from_ne_bytes([a_xor; 4]);
        for t in 0..taps {
            for q in 0..kc4 {
                // SAFETY: the packed block holds taps · kc4 groups of NR · 4 bytes.
                let wq = unsafe { core::slice::from_raw_parts(w.add((t * kc4 + q) * NR * 4), NR * 4) };
                for (m, acc_m) in acc.iter_mut().enumerate() {
                    // SAFETY: a holds taps · MR pointers, each readable for kc bytes.
                    let av = unsafe { load4(*a.add(t * MR + m), q, kc) };
                    // Padding bytes past kc are zero before the xor; their weights are zero.
                    let ab = (av ^ xor).to_le_bytes();
                    for (j, x) in acc_m.iter_mut().enumerate() {
                        let mut s = 0i32;
                        for i in 0..4 {
                            s += i32::from(ab[i]) * i32::from(wq[j * 4 + i]);
                        }
                        *x = x.wrapping_add(s);
                    }
                }
            }
        }
        for (m, acc_m) in acc.iter().enumerate().take(mr) {
            for (j, &x) in acc_m.iter().enumerate().take(nr) {
                // SAFETY: out is writable for mr rows of nr values with stride out_stride.
                unsafe { *out.add(m * out_stride + j) = x };
            }
        }
    }
}
