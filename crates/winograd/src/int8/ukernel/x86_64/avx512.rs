//! x86_64 AVX-512: `wgemm_8x32c2__avx512` (AVX-512 BW `vpmaddwd` + `vpaddd`) and the portable
//! transforms compiled for AVX-512 F/BW.
#![allow(non_snake_case)]

use super::pair;
use crate::int8::transform;
use core::arch::x86_64::*;

/// See [`crate::int8::ukernel::GemmFn`].
///
/// # Safety
/// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with
/// AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn wgemm_8x32c2__avx512(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
) {
    const MR: usize = 8;
    let mut acc = [[_mm512_setzero_si512(); 2]; MR];
    for k2 in 0..kp / 2 {
        // SAFETY: pair row k2 of `u` holds 64 i16 (two 512-bit loads); each of the MR rows of
        // `v` holds elements 2·k2 and 2·k2+1.
        unsafe {
            let u0 = _mm512_loadu_si512(u.add(k2 * 64).cast());
            let u1 = _mm512_loadu_si512(u.add(k2 * 64 + 32).cast());
            for (r, a) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32(pair(v.add(r * ldv + 2 * k2)));
                a[0] = _mm512_add_epi32(a[0], _mm512_madd_epi16(x, u0));
                a[1] = _mm512_add_epi32(a[1], _mm512_madd_epi16(x, u1));
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: row r < MR of `m` has 32 writable i32.
        unsafe {
            _mm512_storeu_si512(m.add(r * ldm).cast(), a[0]);
            _mm512_storeu_si512(m.add(r * ldm + 16).cast(), a[1]);
        }
    }
}

/// See [`crate::int8::ukernel::InputFn`].
///
/// # Safety
/// The CPU supports AVX-512 F/BW.
pub unsafe fn input_tile_avx512(
    rows: &[&[u8]; 16],
    cin: usize,
    xor: u8,
    za: i16,
    out: &mut [i16],
    ps: usize,
) {
    #[target_feature(enable = "avx512f,avx512bw")]
    fn inner(rows: &[&[u8]; 16], cin: usize, xor: u8, za: i16, out: &mut [i16], ps: usize) {
        transform::input_tile_raw(rows, cin, xor, za, out, ps);
    }
    // SAFETY: AVX-512 F/BW are available (caller).
    unsafe { inner(rows, cin, xor, za, out, ps) }
}

/// See [`crate::int8::ukernel::OutputFn`].
///
/// # Safety
/// The CPU supports AVX-512 F/BW.
pub unsafe fn output_tile_avx512(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
    #[target_feature(enable = "avx512f,avx512bw")]
    fn inner(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
        transform::output_tile_raw(m, ps, bias, cout, y);
    }
    // SAFETY: AVX-512 F/BW are available (caller).
    unsafe { inner(m, ps, bias, cout, y) }
}
