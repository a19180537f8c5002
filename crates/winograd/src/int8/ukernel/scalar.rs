//! `wgemm_4x8c2__scalar` and the portable transforms.
#![allow(non_snake_case)]

use crate::int8::transform;

kernel_fn! {
    /// See [`super::GemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::GemmFn`] with `MR = 4`, `NR = 8`.
    gemm wgemm_4x8c2__scalar(kp, v, ldv, u, m, ldm) {
        const MR: usize = 4;
        const NR: usize = 8;
        let mut acc = [[0i32; NR]; MR];
        for k2 in 0..kp / 2 {
            // SAFETY: k2 < kp/2, so the pair row k2 of `u` (2·NR i16) and elements 2·k2, 2·k2+1 of
            // each of the MR rows of `v` are inside the buffers the contract describes.
            let (up, vp) = unsafe {
                let up = core::slice::from_raw_parts(u.add(k2 * 2 * NR), 2 * NR);
                let mut vp = [[0i32; 2]; MR];
                for (r, x) in vp.iter_mut().enumerate() {
                    let row = v.add(r * ldv + 2 * k2);
                    *x = [i32::from(*row), i32::from(*row.add(1))];
                }
                (up, vp)
            };
            for (a, x) in acc.iter_mut().zip(&vp) {
                for (n, c) in a.iter_mut().enumerate() {
                    let p = x[0] * i32::from(up[2 * n]) + x[1] * i32::from(up[2 * n + 1]);
                    *c = c.wrapping_add(p);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: row r < MR of `m` has NR writable i32 (contract).
            unsafe { core::ptr::copy_nonoverlapping(a.as_ptr(), m.add(r * ldm), NR) };
        }
    }
}

kernel_fn! {
    /// See [`super::InputFn`].
    ///
    /// # Safety
    /// No ISA requirement; arguments as in [`super::InputFn`] (the unchecked form of
    /// [`transform::input_tile`]: slice indexing still bounds every access, wrong sizes panic).
    input input_tile(rows, cin, xor, za, out, ps) {
        transform::input_tile_raw(rows, cin, xor, za, out, ps);
    }
}

kernel_fn! {
    /// See [`super::OutputFn`].
    ///
    /// # Safety
    /// No ISA requirement; arguments as in [`super::OutputFn`] (the unchecked form of
    /// [`transform::output_tile`]: slice indexing still bounds every access, wrong sizes panic).
    output output_tile(m, ps, bias, cout, y) {
        transform::output_tile_raw(m, ps, bias, cout, y);
    }
}
