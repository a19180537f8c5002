//! `dwconv_c16__avx512`: 16 channels per vector, masked tails (no access past the rows).

use core::arch::x86_64::*;

/// See [`super::DwI8Fn`].
///
/// # Safety
/// The contract of [`super::DwI8Fn`], on a CPU with AVX-512 F/BW/VL.
#[allow(clippy::too_many_arguments)]
pub unsafe fn dw_i8(
    taps: usize,
    rows: *const *const u8,
    xor: u8,
    za: i32,
    w: *const i32,
    bias: *const i32,
    ch: usize,
    out: *mut i32,
) {
    // SAFETY: same contract.
    unsafe { i8_inner(taps, rows, xor, za, w, bias, ch, out) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn i8_inner(
    taps: usize,
    rows: *const *const u8,
    xor: u8,
    za: i32,
    w: *const i32,
    bias: *const i32,
    ch: usize,
    out: *mut i32,
) {
    let vxor = _mm_set1_epi8(xor as i8);
    let vza = _mm512_set1_epi32(za);
    let mut c = 0;
    while c < ch {
        let n = (ch - c).min(16);
        let m: __mmask16 = ((1u32 << n) - 1) as u16;
        // SAFETY: masked loads/stores touch only channels c..c+n, inside every buffer.
        unsafe {
            let mut acc = _mm512_maskz_loadu_epi32(m, bias.add(c).cast());
            for t in 0..taps {
                let r = *rows.add(t);
                let xb = _mm_xor_si128(_mm_maskz_loadu_epi8(m, r.add(c).cast()), vxor);
                let x = _mm512_sub_epi32(_mm512_cvtepu8_epi32(xb), vza);
                let wv = _mm512_maskz_loadu_epi32(m, w.add(t * ch + c).cast());
                acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(x, wv));
            }
            _mm512_mask_storeu_epi32(out.add(c).cast(), m, acc);
        }
        c += 16;
    }
}

/// See [`super::DwF32Fn`].
///
/// # Safety
/// The contract of [`super::DwF32Fn`], on a CPU with AVX-512 F.
pub unsafe fn dw_f32(
    taps: usize,
    rows: *const *const f32,
    w: *const f32,
    bias: *const f32,
    ch: usize,
    out: *mut f32,
) {
    // SAFETY: same contract.
    unsafe { f32_inner(taps, rows, w, bias, ch, out) }
}

#[target_feature(enable = "avx512f")]
unsafe fn f32_inner(
    taps: usize,
    rows: *const *const f32,
    w: *const f32,
    bias: *const f32,
    ch: usize,
    out: *mut f32,
) {
    let mut c = 0;
    while c < ch {
        let n = (ch - c).min(16);
        let m: __mmask16 = ((1u32 << n) - 1) as u16;
        // SAFETY: masked loads/stores touch only channels c..c+n, inside every buffer.
        unsafe {
            let mut acc = _mm512_maskz_loadu_ps(m, bias.add(c));
            for t in 0..taps {
                let x = _mm512_maskz_loadu_ps(m, (*rows.add(t)).add(c));
                let wv = _mm512_maskz_loadu_ps(m, w.add(t * ch + c));
                acc = _mm512_fmadd_ps(x, wv, acc);
            }
            _mm512_mask_storeu_ps(out.add(c), m, acc);
        }
        c += 16;
    }
}
