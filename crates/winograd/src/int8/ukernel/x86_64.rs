//! `wgemm_4x16c2__avx2`, `wgemm_8x32c2__avx512`, `wgemm_8x32c2__avx512vnni`, and the portable
//! transforms compiled for AVX2 / AVX-512.

use crate::int8::transform;
use core::arch::x86_64::*;

/// Reads the i16 pair at `p` as one i32 (unaligned) and broadcasts it.
///
/// # Safety
/// `p` is readable for 2 i16.
#[inline(always)]
unsafe fn pair(p: *const i16) -> i32 {
    // SAFETY: the caller guarantees 4 readable bytes at p.
    unsafe { p.cast::<i32>().read_unaligned() }
}

/// See [`super::GemmFn`].
///
/// # Safety
/// The contract of [`super::GemmFn`] with `MR = 4`, `NR = 16`, on a CPU with AVX2.
pub unsafe fn wgemm_4x16c2_avx2(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
) {
    // SAFETY: same contract; AVX2 is available.
    unsafe { gemm_avx2(kp, v, ldv, u, m, ldm) }
}

#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2(kp: usize, v: *const i16, ldv: usize, u: *const i16, m: *mut i32, ldm: usize) {
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

/// See [`super::GemmFn`].
///
/// # Safety
/// The contract of [`super::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with AVX-512 F/BW.
pub unsafe fn wgemm_8x32c2_avx512(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
) {
    // SAFETY: same contract; AVX-512 F/BW are available.
    unsafe { gemm_avx512(kp, v, ldv, u, m, ldm) }
}

/// See [`super::GemmFn`].
///
/// # Safety
/// The contract of [`super::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with AVX-512 F/BW/VNNI.
pub unsafe fn wgemm_8x32c2_avx512vnni(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
) {
    // SAFETY: same contract; AVX-512 F/BW/VNNI are available.
    unsafe { gemm_avx512vnni(kp, v, ldv, u, m, ldm) }
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn gemm_avx512(
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

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn gemm_avx512vnni(
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
        // SAFETY: as in `gemm_avx512`.
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

/// See [`super::InputFn`].
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

/// See [`super::InputFn`].
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

/// See [`super::OutputFn`].
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

/// See [`super::OutputFn`].
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
