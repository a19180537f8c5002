//! One internal vector trait over the two register widths of the AVX-512 int8 kernels, so that
//! a kernel body is written once and instantiated for zmm ([`W512`]: full tiles) and ymm
//! ([`W256`]: a last tile of at most half the channels, half the work of a masked zmm tile).
//!
//! Every method is `#[inline(always)]` and is only called from inside `#[target_feature]`
//! entry points with AVX-512 F/BW/DQ/VL (and VNNI for the `vpdp*` methods), which is what makes
//! the intrinsics valid: it is part of every method's safety contract. Masks are passed as
//! `u64` (one bit per lane, the low bits) and narrowed to the width's mask type.
//!
//! `pulp` (0.22) was checked and not used: its AVX-512 level `x86::V4` sits behind the
//! `x86-v4` feature (off in the workspace) and its generic SIMD API is float-oriented; the
//! integer byte/word operations these kernels are built on (byte-masked loads and stores,
//! `vpunpck*`/`vpack*`/`vpshufb`, `vpmaddwd`) it offers only as the same raw intrinsics, with
//! no 256-bit AVX-512VL level to be generic over, and the `vpdpwssd`/`vpdpbusd` memory-operand
//! forms stay inline asm (LLVM otherwise hoists and spills the weights). A 30-method trait
//! instantiated from the existing `#[target_feature]` entry points gives the same code with no
//! dependency.

use crate::ukernel::Fp32Requant;
use core::arch::x86_64::*;

/// zmm: 16 dwords.
#[derive(Clone, Copy)]
pub(super) struct W512;
/// ymm with AVX-512 VL masks: 8 dwords.
#[derive(Clone, Copy)]
pub(super) struct W256;

/// The operations of the AVX-512 int8 kernels at one register width.
///
/// # Safety
/// Every method requires a CPU (and a caller's target features) with AVX-512 F/BW/DQ/VL, the
/// `vpdp*` methods also VNNI; pointer arguments must be valid for the lanes the mask selects
/// (all lanes where no mask is taken).
pub(super) trait Wide: Copy {
    /// Integer vector.
    type I: Copy;
    /// f32 vector.
    type F: Copy;
    /// i32 lanes per vector.
    const DWORDS: usize;

    /// All zeros.
    unsafe fn zero() -> Self::I;
    /// `DWORDS` i32 at `p`.
    unsafe fn loadu(p: *const i32) -> Self::I;
    /// `2 · DWORDS` bytes at `p` (masked to `m`; all when `m` selects them all) widened to i16.
    unsafe fn widen_i16<const SIGNED: bool>(p: *const u8, m: u64) -> Self::I;
    /// `4 · DWORDS` bytes at `p` of the channels selected by `m` (the others 0), as `x + 128`
    /// when `SIGNED`.
    unsafe fn ld_bytes<const SIGNED: bool>(p: *const u8, m: u64) -> Self::I;
    /// `vpunpcklwd`.
    unsafe fn unpacklo_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpunpckhwd`.
    unsafe fn unpackhi_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpunpcklbw`.
    unsafe fn unpacklo_epi8(a: Self::I, b: Self::I) -> Self::I;
    /// `vpunpckhbw`.
    unsafe fn unpackhi_epi8(a: Self::I, b: Self::I) -> Self::I;
    /// `vpshufb` with the same 128-bit control in every lane.
    unsafe fn shuffle_epi8_lanes(a: Self::I, ctl: __m128i) -> Self::I;
    /// `vpmaddwd`.
    unsafe fn madd_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpaddd`.
    unsafe fn add_epi32(a: Self::I, b: Self::I) -> Self::I;
    /// `lo += xl · wp[0..DWORDS]`, `hi += xh · wp[DWORDS..2·DWORDS]` (i16 pairs, `vpdpwssd`
    /// with memory operands); `wp` readable for `2 · DWORDS` i32.
    unsafe fn dpwssd2(
        lo: Self::I,
        hi: Self::I,
        xl: Self::I,
        xh: Self::I,
        wp: *const i32,
    ) -> (Self::I, Self::I);
    /// `acc + Σ4 u8(x) · s8([wp])` per dword (`vpdpbusd` with a memory operand); `wp` readable
    /// for `DWORDS` i32.
    unsafe fn dpbusd_mem(acc: Self::I, x: Self::I, wp: *const i32) -> Self::I;
    /// The pair-interleaved accumulators `lo`, `hi` (per 128-bit lane `L`: `lo` holds channels
    /// `8L..8L+3`, `hi` `8L+4..8L+7`) in channel order: channels `0..DWORDS`, `DWORDS..`.
    unsafe fn deinterleave_pairs(lo: Self::I, hi: Self::I) -> (Self::I, Self::I);
    /// Stores `DWORDS` accumulators at channel `c` of pixel base `o` (masked to `m`): raw i32,
    /// or (`Q`) requantized to bytes exactly as `Requantizer::requantize` (Fp32 scheme).
    unsafe fn store_acc<const Q: bool>(o: *mut u8, c: usize, v: Self::I, m: u64, q: &Fp32Requant);
    /// Stores the `4 · DWORDS` bytes of `b` at `o` (masked to `m`).
    unsafe fn store_bytes(o: *mut u8, b: Self::I, m: u64);
    /// `vcvtdq2ps`.
    unsafe fn cvtepi32_ps(a: Self::I) -> Self::F;
    /// `vcvtps2dq` (MXCSR rounding).
    unsafe fn cvtps_epi32(a: Self::F) -> Self::I;
    /// `vmulps`.
    unsafe fn mul_ps(a: Self::F, b: Self::F) -> Self::F;
    /// `vminps`.
    unsafe fn min_ps(a: Self::F, b: Self::F) -> Self::F;
    /// `vpackssdw`.
    unsafe fn packs_epi32(a: Self::I, b: Self::I) -> Self::I;
    /// `vpacksswb`.
    unsafe fn packs_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpackuswb`.
    unsafe fn packus_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpaddsw`.
    unsafe fn adds_epi16(a: Self::I, b: Self::I) -> Self::I;
    /// `vpmaxsb`.
    unsafe fn max_epi8(a: Self::I, b: Self::I) -> Self::I;
    /// `vpminsb`.
    unsafe fn min_epi8(a: Self::I, b: Self::I) -> Self::I;
    /// `vpmaxub`.
    unsafe fn max_epu8(a: Self::I, b: Self::I) -> Self::I;
    /// `vpminub`.
    unsafe fn min_epu8(a: Self::I, b: Self::I) -> Self::I;
}

/// Trait methods that are one register-only intrinsic.
macro_rules! wrap {
    ($($name:ident($($a:ident: $t:ty),*) -> $r:ty = $f:path;)*) => {$(
        #[inline(always)]
        unsafe fn $name($($a: $t),*) -> $r {
            // SAFETY: a register-only intrinsic; the caller's target features include it (the
            // trait's contract).
            unsafe { $f($($a),*) }
        }
    )*};
}

impl Wide for W512 {
    type I = __m512i;
    type F = __m512;
    const DWORDS: usize = 16;

    wrap! {
        zero() -> __m512i = _mm512_setzero_si512;
        unpacklo_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_unpacklo_epi16;
        unpackhi_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_unpackhi_epi16;
        unpacklo_epi8(a: __m512i, b: __m512i) -> __m512i = _mm512_unpacklo_epi8;
        unpackhi_epi8(a: __m512i, b: __m512i) -> __m512i = _mm512_unpackhi_epi8;
        madd_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_madd_epi16;
        add_epi32(a: __m512i, b: __m512i) -> __m512i = _mm512_add_epi32;
        cvtepi32_ps(a: __m512i) -> __m512 = _mm512_cvtepi32_ps;
        cvtps_epi32(a: __m512) -> __m512i = _mm512_cvtps_epi32;
        mul_ps(a: __m512, b: __m512) -> __m512 = _mm512_mul_ps;
        min_ps(a: __m512, b: __m512) -> __m512 = _mm512_min_ps;
        packs_epi32(a: __m512i, b: __m512i) -> __m512i = _mm512_packs_epi32;
        packs_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_packs_epi16;
        packus_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_packus_epi16;
        adds_epi16(a: __m512i, b: __m512i) -> __m512i = _mm512_adds_epi16;
        max_epi8(a: __m512i, b: __m512i) -> __m512i = _mm512_max_epi8;
        min_epi8(a: __m512i, b: __m512i) -> __m512i = _mm512_min_epi8;
        max_epu8(a: __m512i, b: __m512i) -> __m512i = _mm512_max_epu8;
        min_epu8(a: __m512i, b: __m512i) -> __m512i = _mm512_min_epu8;
    }

    #[inline(always)]
    unsafe fn loadu(p: *const i32) -> __m512i {
        // SAFETY: p readable for 16 i32 (contract).
        unsafe { _mm512_loadu_si512(p.cast()) }
    }

    #[inline(always)]
    unsafe fn widen_i16<const SIGNED: bool>(p: *const u8, m: u64) -> __m512i {
        let m = m as __mmask32;
        // SAFETY: the (masked) load touches only the bytes selected by `m`, which the caller
        // guarantees readable.
        unsafe {
            let v = if m == !0 {
                _mm256_loadu_si256(p.cast())
            } else {
                _mm256_maskz_loadu_epi8(m, p.cast())
            };
            if SIGNED {
                _mm512_cvtepi8_epi16(v)
            } else {
                _mm512_cvtepu8_epi16(v)
            }
        }
    }

    #[inline(always)]
    unsafe fn ld_bytes<const SIGNED: bool>(p: *const u8, m: u64) -> __m512i {
        let m = m as __mmask64;
        // SAFETY: the caller guarantees the selected bytes readable.
        unsafe {
            let v = if m == !0 {
                _mm512_loadu_si512(p.cast())
            } else {
                _mm512_maskz_loadu_epi8(m, p.cast())
            };
            if SIGNED {
                _mm512_xor_si512(v, _mm512_set1_epi8(-128))
            } else {
                v
            }
        }
    }

    #[inline(always)]
    unsafe fn shuffle_epi8_lanes(a: __m512i, ctl: __m128i) -> __m512i {
        // SAFETY: register-only intrinsics (contract).
        unsafe { _mm512_shuffle_epi8(a, _mm512_broadcast_i32x4(ctl)) }
    }

    #[inline(always)]
    unsafe fn dpwssd2(
        lo: __m512i,
        hi: __m512i,
        xl: __m512i,
        xh: __m512i,
        wp: *const i32,
    ) -> (__m512i, __m512i) {
        // SAFETY: forwarded contract (wp readable for 32 i32, VNNI).
        unsafe { dpwssd2_512(lo, hi, xl, xh, wp) }
    }

    #[inline(always)]
    unsafe fn dpbusd_mem(acc: __m512i, x: __m512i, wp: *const i32) -> __m512i {
        // SAFETY: forwarded contract (wp readable for 16 i32, VNNI).
        unsafe { dpbusd_mem512(acc, x, wp) }
    }

    #[inline(always)]
    unsafe fn deinterleave_pairs(lo: __m512i, hi: __m512i) -> (__m512i, __m512i) {
        // SAFETY: register-only intrinsics (contract).
        unsafe {
            let idx0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
            let idx1 =
                _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
            (
                _mm512_permutex2var_epi32(lo, idx0, hi),
                _mm512_permutex2var_epi32(lo, idx1, hi),
            )
        }
    }

    #[inline(always)]
    unsafe fn store_acc<const Q: bool>(o: *mut u8, c: usize, v: __m512i, m: u64, q: &Fp32Requant) {
        let m = m as __mmask16;
        // SAFETY: (masked) stores of channels c.. selected by m, inside the pixel's output.
        unsafe {
            if Q {
                let f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(q.scale));
                let f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(q.lo)), _mm512_set1_ps(q.hi));
                // Default MXCSR rounding: to nearest, ties to even.
                let i = _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(q.zero_point));
                // In [qmin, qmax] already: the saturating narrowing is exact.
                let b = if q.signed {
                    _mm512_cvtsepi32_epi8(i)
                } else {
                    _mm512_cvtusepi32_epi8(i)
                };
                if m == !0 {
                    _mm_storeu_si128(o.add(c).cast(), b);
                } else {
                    _mm_mask_storeu_epi8(o.add(c).cast(), m, b);
                }
            } else {
                let p = o.cast::<i32>().add(c);
                if m == !0 {
                    _mm512_storeu_si512(p.cast(), v);
                } else {
                    _mm512_mask_storeu_epi32(p.cast(), m, v);
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn store_bytes(o: *mut u8, b: __m512i, m: u64) {
        let m = m as __mmask64;
        // SAFETY: the caller guarantees the selected bytes writable.
        unsafe {
            if m == !0 {
                _mm512_storeu_si512(o.cast(), b);
            } else {
                _mm512_mask_storeu_epi8(o.cast(), m, b);
            }
        }
    }
}

impl Wide for W256 {
    type I = __m256i;
    type F = __m256;
    const DWORDS: usize = 8;

    wrap! {
        zero() -> __m256i = _mm256_setzero_si256;
        unpacklo_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_unpacklo_epi16;
        unpackhi_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_unpackhi_epi16;
        unpacklo_epi8(a: __m256i, b: __m256i) -> __m256i = _mm256_unpacklo_epi8;
        unpackhi_epi8(a: __m256i, b: __m256i) -> __m256i = _mm256_unpackhi_epi8;
        madd_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_madd_epi16;
        add_epi32(a: __m256i, b: __m256i) -> __m256i = _mm256_add_epi32;
        cvtepi32_ps(a: __m256i) -> __m256 = _mm256_cvtepi32_ps;
        cvtps_epi32(a: __m256) -> __m256i = _mm256_cvtps_epi32;
        mul_ps(a: __m256, b: __m256) -> __m256 = _mm256_mul_ps;
        min_ps(a: __m256, b: __m256) -> __m256 = _mm256_min_ps;
        packs_epi32(a: __m256i, b: __m256i) -> __m256i = _mm256_packs_epi32;
        packs_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_packs_epi16;
        packus_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_packus_epi16;
        adds_epi16(a: __m256i, b: __m256i) -> __m256i = _mm256_adds_epi16;
        max_epi8(a: __m256i, b: __m256i) -> __m256i = _mm256_max_epi8;
        min_epi8(a: __m256i, b: __m256i) -> __m256i = _mm256_min_epi8;
        max_epu8(a: __m256i, b: __m256i) -> __m256i = _mm256_max_epu8;
        min_epu8(a: __m256i, b: __m256i) -> __m256i = _mm256_min_epu8;
    }

    #[inline(always)]
    unsafe fn loadu(p: *const i32) -> __m256i {
        // SAFETY: p readable for 8 i32 (contract).
        unsafe { _mm256_loadu_si256(p.cast()) }
    }

    #[inline(always)]
    unsafe fn widen_i16<const SIGNED: bool>(p: *const u8, m: u64) -> __m256i {
        let m = m as __mmask16;
        // SAFETY: the (masked) load touches only the channels of m, readable in every row.
        unsafe {
            let v = if m == !0 {
                _mm_loadu_si128(p.cast())
            } else {
                _mm_maskz_loadu_epi8(m, p.cast())
            };
            if SIGNED {
                _mm256_cvtepi8_epi16(v)
            } else {
                _mm256_cvtepu8_epi16(v)
            }
        }
    }

    #[inline(always)]
    unsafe fn ld_bytes<const SIGNED: bool>(p: *const u8, m: u64) -> __m256i {
        let m = m as __mmask32;
        // SAFETY: the caller guarantees the selected bytes readable.
        unsafe {
            let v = if m == !0 {
                _mm256_loadu_si256(p.cast())
            } else {
                _mm256_maskz_loadu_epi8(m, p.cast())
            };
            if SIGNED {
                _mm256_xor_si256(v, _mm256_set1_epi8(-128))
            } else {
                v
            }
        }
    }

    #[inline(always)]
    unsafe fn shuffle_epi8_lanes(a: __m256i, ctl: __m128i) -> __m256i {
        // SAFETY: register-only intrinsics (contract).
        unsafe { _mm256_shuffle_epi8(a, _mm256_broadcastsi128_si256(ctl)) }
    }

    #[inline(always)]
    unsafe fn dpwssd2(
        lo: __m256i,
        hi: __m256i,
        xl: __m256i,
        xh: __m256i,
        wp: *const i32,
    ) -> (__m256i, __m256i) {
        // SAFETY: forwarded contract (wp readable for 16 i32, VNNI).
        unsafe { dpwssd2_256(lo, hi, xl, xh, wp) }
    }

    #[inline(always)]
    unsafe fn dpbusd_mem(acc: __m256i, x: __m256i, wp: *const i32) -> __m256i {
        // SAFETY: forwarded contract (wp readable for 8 i32, VNNI).
        unsafe { dpbusd_mem256(acc, x, wp) }
    }

    #[inline(always)]
    unsafe fn deinterleave_pairs(lo: __m256i, hi: __m256i) -> (__m256i, __m256i) {
        // SAFETY: register-only intrinsics (contract).
        unsafe {
            (
                _mm256_permute2x128_si256(lo, hi, 0x20),
                _mm256_permute2x128_si256(lo, hi, 0x31),
            )
        }
    }

    #[inline(always)]
    unsafe fn store_acc<const Q: bool>(o: *mut u8, c: usize, v: __m256i, m: u64, q: &Fp32Requant) {
        let m = m as __mmask8;
        // SAFETY: (masked) stores of channels c.. selected by m, inside the pixel's output.
        unsafe {
            if Q {
                let f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(q.scale));
                let f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(q.lo)), _mm256_set1_ps(q.hi));
                let i = _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(q.zero_point));
                let b = if q.signed {
                    _mm256_cvtsepi32_epi8(i)
                } else {
                    _mm256_cvtusepi32_epi8(i)
                };
                _mm_mask_storeu_epi8(o.add(c).cast(), __mmask16::from(m), b);
            } else {
                let p = o.cast::<i32>().add(c);
                if m == !0 {
                    _mm256_storeu_si256(p.cast(), v);
                } else {
                    _mm256_mask_storeu_epi32(p.cast(), m, v);
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn store_bytes(o: *mut u8, b: __m256i, m: u64) {
        let m = m as __mmask32;
        // SAFETY: the caller guarantees the selected bytes writable.
        unsafe {
            if m == !0 {
                _mm256_storeu_si256(o.cast(), b);
            } else {
                _mm256_mask_storeu_epi8(o.cast(), m, b);
            }
        }
    }
}
/// `lo += xl · wp[0..16]`, `hi += xh · wp[16..32]` (i16 pairs, `vpdpwssd`).
///
/// Written as asm: LLVM otherwise splits the unrolled intrinsic back into `vpmaddwd` + `vpaddd`.
///
/// # Safety
/// `wp` is readable for 32 i32; the CPU has AVX-512 F and VNNI.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn dpwssd2_512(
    mut lo: __m512i,
    mut hi: __m512i,
    xl: __m512i,
    xh: __m512i,
    wp: *const i32,
) -> (__m512i, __m512i) {
    // SAFETY: reads the 128 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {lo}, {xl}, zmmword ptr [{wp}]",
            "vpdpwssd {hi}, {xh}, zmmword ptr [{wp} + 64]",
            lo = inout(zmm_reg) lo,
            hi = inout(zmm_reg) hi,
            xl = in(zmm_reg) xl,
            xh = in(zmm_reg) xh,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    (lo, hi)
}

/// `lo += xl · wp[0..8]`, `hi += xh · wp[8..16]` (i16 pairs, `vpdpwssd` on ymm).
///
/// # Safety
/// `wp` is readable for 16 i32; the CPU has AVX-512 F/VL and VNNI.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
#[inline]
unsafe fn dpwssd2_256(
    mut lo: __m256i,
    mut hi: __m256i,
    xl: __m256i,
    xh: __m256i,
    wp: *const i32,
) -> (__m256i, __m256i) {
    // SAFETY: reads the 64 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpwssd {lo}, {xl}, ymmword ptr [{wp}]",
            "vpdpwssd {hi}, {xh}, ymmword ptr [{wp} + 32]",
            lo = inout(ymm_reg) lo,
            hi = inout(ymm_reg) hi,
            xl = in(ymm_reg) xl,
            xh = in(ymm_reg) xh,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    (lo, hi)
}
/// `acc + Σ4 u8(x) · s8([wp])` per dword (`vpdpbusd` with a memory operand).
///
/// Written as asm so that the weights stay a memory operand: as an intrinsic, LLVM hoists a
/// block's loop-invariant weight loads and spills them (and the accumulators) to the stack,
/// whose position then decides 4K-aliasing stalls (D3 23 or 29 µs by the size of the
/// environment, which moves the stack).
///
/// # Safety
/// `wp` is readable for 16 i32; the CPU has AVX-512 F and VNNI.
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn dpbusd_mem512(mut acc: __m512i, x: __m512i, wp: *const i32) -> __m512i {
    // SAFETY: reads the 64 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpbusd {acc}, {x}, zmmword ptr [{wp}]",
            acc = inout(zmm_reg) acc,
            x = in(zmm_reg) x,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    acc
}

/// [`dpbusd_mem512`] on ymm (8 dwords).
///
/// # Safety
/// `wp` is readable for 8 i32; the CPU has AVX-512 F/VL and VNNI.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
#[inline]
unsafe fn dpbusd_mem256(mut acc: __m256i, x: __m256i, wp: *const i32) -> __m256i {
    // SAFETY: reads the 32 weight bytes at wp (readable by the contract); no stores, no flags.
    unsafe {
        core::arch::asm!(
            "vpdpbusd {acc}, {x}, ymmword ptr [{wp}]",
            acc = inout(ymm_reg) acc,
            x = in(ymm_reg) x,
            wp = in(reg) wp,
            options(pure, readonly, nostack, preserves_flags)
        );
    }
    acc
}
