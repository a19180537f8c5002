//! x86_64 AVX-512 VNNI: `wgemm_8x32c2__avx512vnni` (fused `vpdpwssd`); its transforms are the
//! AVX-512 entry's.
#![allow(non_snake_case)]

use super::pair;
use core::arch::x86_64::*;

/// `vpdpwssd acc, x, u`: non-saturating (wrapping) i32 accumulation of the two i16 products
/// per lane. Written as `asm!` because LLVM splits `_mm512_dpwssd_epi32` back into
/// `vpmaddwd` + `vpaddd` (seen in the generated code), which loses the point of the variant.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn dpwssd(acc: __m512i, x: __m512i, u: __m512i) -> __m512i {
    let mut acc = acc;
    // SAFETY: register-only instruction (no memory, no stack, flags untouched); this function
    // only runs where AVX-512 VNNI is enabled (target feature), so the CPU supports it.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {acc}, {x}, {u}",
            acc = inout(zmm_reg) acc,
            x = in(zmm_reg) x,
            u = in(zmm_reg) u,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// See [`crate::int8::ukernel::GemmFn`].
///
/// # Safety
/// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with
/// AVX-512 F/BW/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub unsafe fn wgemm_8x32c2__avx512vnni(
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
                a[0] = dpwssd(a[0], x, u0);
                a[1] = dpwssd(a[1], x, u1);
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
