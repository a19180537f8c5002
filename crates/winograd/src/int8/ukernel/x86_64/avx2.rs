//! x86_64 AVX2: `wgemm_4x16c2__avx2` (`vpmaddwd` + `vpaddd`) and the portable transforms
//! compiled for AVX2.
#![allow(non_snake_case)]

use super::pair;
use crate::int8::transform;
use core::arch::x86_64::*;

/// See [`crate::int8::ukernel::GemmFn`].
///
/// # Safety
/// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 4`, `NR = 16`, on a CPU with
/// AVX2.
#[target_feature(enable = "avx2")]
pub unsafe fn wgemm_4x16c2__avx2(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
) {
    const MR: usize = 4;
    let mut acc = [[_mm256_setzero_si256(); 2]; MR];
    for k2 in 0..kp / 2 {
        // SAFETY: pair row k2 of `u` holds 32 i16 (two 256-bit loads); each of the MR rows of
        // `v` holds elements 2·k2 and 2·k2+1 (k2 < kp/2).
        unsafe {
            let u0 = _mm256_loadu_si256(u.add(k2 * 32).cast());
            let u1 = _mm256_loadu_si256(u.add(k2 * 32 + 16).cast());
            for (r, a) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_epi32(pair(v.add(r * ldv + 2 * k2)));
                a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(x, u0));
                a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(x, u1));
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: row r < MR of `m` has 16 writable i32.
        unsafe {
            _mm256_storeu_si256(m.add(r * ldm).cast(), a[0]);
            _mm256_storeu_si256(m.add(r * ldm + 8).cast(), a[1]);
        }
    }
}

/// See [`crate::int8::ukernel::InputFn`].
///
/// # Safety
/// The CPU supports AVX2.
pub unsafe fn input_tile_avx2(
    rows: &[&[u8]; 16],
    cin: usize,
    xor: u8,
    za: i16,
    out: &mut [i16],
    ps: usize,
) {
    #[target_feature(enable = "avx2")]
    fn inner(rows: &[&[u8]; 16], cin: usize, xor: u8, za: i16, out: &mut [i16], ps: usize) {
        transform::input_tile_raw(rows, cin, xor, za, out, ps);
    }
    // SAFETY: AVX2 is available (caller).
    unsafe { inner(rows, cin, xor, za, out, ps) }
}

/// See [`crate::int8::ukernel::OutputFn`].
///
/// # Safety
/// The CPU supports AVX2.
pub unsafe fn output_tile_avx2(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
    #[target_feature(enable = "avx2")]
    fn inner(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
        transform::output_tile_raw(m, ps, bias, cout, y);
    }
    // SAFETY: AVX2 is available (caller).
    unsafe { inner(m, ps, bias, cout, y) }
}
