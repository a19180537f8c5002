//! `igemm_8x32c4__avx512vnni`: 8 rows × 32 columns, 4 input channels per `vpdpbusd`.
//!
//! Per k-group: two 64-byte weight loads (32 columns × 4 channels), one 4-byte broadcast of each
//! row's activations, 16 `vpdpbusd` into 16 zmm accumulators.

use super::super::load4;
use core::arch::x86_64::*;

/// Rows per tile.
pub const MR: usize = 8;
/// Columns per tile.
pub const NR: usize = 32;

/// See [`super::super::IgemmFn`].
///
/// # Safety
/// The contract of [`super::super::IgemmFn`] with `MR = 8`, `NR = 32`, on a CPU with AVX-512 F
/// and VNNI.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_8x32c4(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: same contract; the caller guarantees the CPU features.
    unsafe { inner(mr, nr, taps, kc, a, a_xor, w, out, out_stride) }
}

#[target_feature(enable = "avx512f,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn inner(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    out: *mut i32,
    out_stride: usize,
) {
    let kc4 = kc.div_ceil(4);
    let full = kc / 4;
    let xor = _mm512_set1_epi8(a_xor as i8);
    let mut lo = [_mm512_setzero_si512(); MR];
    let mut hi = [_mm512_setzero_si512(); MR];
    let mut wp = w;
    for t in 0..taps {
        let mut rows = [core::ptr::null::<u8>(); MR];
        for (m, r) in rows.iter_mut().enumerate() {
            // SAFETY: a holds taps · MR pointers.
            *r = unsafe { *a.add(t * MR + m) };
        }
        for q in 0..kc4 {
            // SAFETY: the packed block holds taps · kc4 groups of 128 bytes; wp walks them in order.
            let (w0, w1) = unsafe {
                (
                    _mm512_loadu_si512(wp.cast()),
                    _mm512_loadu_si512(wp.add(64).cast()),
                )
            };
            // SAFETY: as above.
            wp = unsafe { wp.add(NR * 4) };
            for m in 0..MR {
                let bytes = if q < full {
                    // SAFETY: 4·q + 4 <= kc: inside the row.
                    unsafe { core::ptr::read_unaligned(rows[m].add(4 * q).cast::<i32>()) }
                } else {
                    // SAFETY: the last partial group, 4·q < kc; load4 reads only kc bytes.
                    unsafe { load4(rows[m], q, kc) as i32 }
                };
                let av = _mm512_xor_si512(_mm512_set1_epi32(bytes), xor);
                lo[m] = _mm512_dpbusd_epi32(lo[m], av, w0);
                hi[m] = _mm512_dpbusd_epi32(hi[m], av, w1);
            }
        }
    }
    let mask_lo: __mmask16 = if nr >= 16 {
        0xFFFF
    } else {
        (1u32 << nr) as u16 - 1
    };
    let mask_hi: __mmask16 = if nr >= 32 {
        0xFFFF
    } else if nr > 16 {
        (1u32 << (nr - 16)) as u16 - 1
    } else {
        0
    };
    for m in 0..mr {
        // SAFETY: row m < mr of out is writable for nr i32; the masks store only j < nr.
        unsafe {
            let o = out.add(m * out_stride);
            _mm512_mask_storeu_epi32(o.cast(), mask_lo, lo[m]);
            if mask_hi != 0 {
                _mm512_mask_storeu_epi32(o.add(16).cast(), mask_hi, hi[m]);
            }
        }
    }
}
