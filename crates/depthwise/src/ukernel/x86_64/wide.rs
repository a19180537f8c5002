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
    /// `vmaxps`.
    unsafe fn max_ps(a: Self::F, b: Self::F) -> Self::F;
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

/// `impl Wide` for one width: every method body written once over the width's intrinsics, which
/// `wide_impls!` hands in by key. Masks: `bytes` (one bit per byte of a vector), `half` (one bit
/// per byte of a half vector, for the widening loads), `dwords` (one bit per dword).
macro_rules! impl_wide {
    (
        $W:ident;
        wrap { $($name:ident($($a:ident: $t:ty),*) -> $r:ty = $f:path;)* }
        types: $I:ty, $F:ty, $d:literal;
        masks: $mb:ty, $mh:ty, $md:ty;
        loadu: $loadu:path;
        widen: $hload:path, $hmload:path, $cvts:path, $cvtu:path;
        bytes: $bload:path, $bmload:path, $xor:path, $set1b:path, $bstore:path, $bmstore:path;
        shuffle: $shuf:path, $bcast:path;
        vnni: $dpw:path, $dpb:path;
        deinterleave: $deint:path;
        requant: $set1ps:path, $set1d:path, $cvts8:path, $cvtus8:path, $qstore:expr;
        store: $dstore:path, $dmstore:path;
    ) => {
        impl Wide for $W {
            type I = $I;
            type F = $F;
            const DWORDS: usize = $d;

            $(
                #[inline(always)]
                unsafe fn $name($($a: $t),*) -> $r {
                    // SAFETY: a register-only intrinsic; the caller's target features include it
                    // (the trait's contract).
                    unsafe { $f($($a),*) }
                }
            )*

            #[inline(always)]
            unsafe fn loadu(p: *const i32) -> $I {
                // SAFETY: p readable for DWORDS i32 (contract).
                unsafe { $loadu(p.cast()) }
            }

            #[inline(always)]
            unsafe fn widen_i16<const SIGNED: bool>(p: *const u8, m: u64) -> $I {
                let m = m as $mh;
                // SAFETY: the (masked) load touches only the bytes selected by `m`, which the
                // caller guarantees readable.
                unsafe {
                    let v = if m == !0 { $hload(p.cast()) } else { $hmload(m, p.cast()) };
                    if SIGNED {
                        $cvts(v)
                    } else {
                        $cvtu(v)
                    }
                }
            }

            #[inline(always)]
            unsafe fn ld_bytes<const SIGNED: bool>(p: *const u8, m: u64) -> $I {
                let m = m as $mb;
                // SAFETY: the caller guarantees the selected bytes readable.
                unsafe {
                    let v = if m == !0 { $bload(p.cast()) } else { $bmload(m, p.cast()) };
                    if SIGNED {
                        $xor(v, $set1b(-128))
                    } else {
                        v
                    }
                }
            }

            #[inline(always)]
            unsafe fn shuffle_epi8_lanes(a: $I, ctl: __m128i) -> $I {
                // SAFETY: register-only intrinsics (contract).
                unsafe { $shuf(a, $bcast(ctl)) }
            }

            #[inline(always)]
            unsafe fn dpwssd2(lo: $I, hi: $I, xl: $I, xh: $I, wp: *const i32) -> ($I, $I) {
                // SAFETY: forwarded contract (wp readable for 2 · DWORDS i32, VNNI).
                unsafe { $dpw(lo, hi, xl, xh, wp) }
            }

            #[inline(always)]
            unsafe fn dpbusd_mem(acc: $I, x: $I, wp: *const i32) -> $I {
                // SAFETY: forwarded contract (wp readable for DWORDS i32, VNNI).
                unsafe { $dpb(acc, x, wp) }
            }

            #[inline(always)]
            unsafe fn deinterleave_pairs(lo: $I, hi: $I) -> ($I, $I) {
                // SAFETY: register-only intrinsics (contract).
                unsafe { $deint(lo, hi) }
            }

            #[inline(always)]
            unsafe fn store_acc<const Q: bool>(
                o: *mut u8,
                c: usize,
                v: $I,
                m: u64,
                q: &Fp32Requant,
            ) {
                let m = m as $md;
                // SAFETY: (masked) stores of channels c.. selected by m, inside the pixel's output.
                unsafe {
                    if Q {
                        let f = Self::mul_ps(Self::cvtepi32_ps(v), $set1ps(q.scale));
                        let f = Self::min_ps(Self::max_ps(f, $set1ps(q.lo)), $set1ps(q.hi));
                        // Default MXCSR rounding: to nearest, ties to even.
                        let i = Self::add_epi32(Self::cvtps_epi32(f), $set1d(q.zero_point));
                        // In [qmin, qmax] already: the saturating narrowing is exact.
                        let b = if q.signed { $cvts8(i) } else { $cvtus8(i) };
                        ($qstore)(o.add(c), b, m);
                    } else {
                        let p = o.cast::<i32>().add(c);
                        if m == !0 {
                            $dstore(p.cast(), v);
                        } else {
                            $dmstore(p.cast(), m, v);
                        }
                    }
                }
            }

            #[inline(always)]
            unsafe fn store_bytes(o: *mut u8, b: $I, m: u64) {
                let m = m as $mb;
                // SAFETY: the caller guarantees the selected bytes writable.
                unsafe {
                    if m == !0 {
                        $bstore(o.cast(), b);
                    } else {
                        $bmstore(o.cast(), m, b);
                    }
                }
            }
        }
    };
}

/// Both `impl Wide`s from one table: a register-only method per row (`zmm | ymm` intrinsic),
/// then per key the zmm arguments of `impl_wide!` and the ymm ones.
macro_rules! wide_impls {
    (
        wrap { $($name:ident($($a:ident: $t:ty),*) -> $r:ty = $f512:path | $f256:path;)* }
        $($key:ident: [$($v512:tt)*] [$($v256:tt)*];)*
    ) => {
        impl_wide! {
            W512;
            wrap { $($name($($a: $t),*) -> $r = $f512;)* }
            $($key: $($v512)*;)*
        }
        impl_wide! {
            W256;
            wrap { $($name($($a: $t),*) -> $r = $f256;)* }
            $($key: $($v256)*;)*
        }
    };
}

wide_impls! {
    wrap {
    zero() -> Self::I = _mm512_setzero_si512 | _mm256_setzero_si256;
    unpacklo_epi16(a: Self::I, b: Self::I) -> Self::I =
        _mm512_unpacklo_epi16 | _mm256_unpacklo_epi16;
    unpackhi_epi16(a: Self::I, b: Self::I) -> Self::I =
        _mm512_unpackhi_epi16 | _mm256_unpackhi_epi16;
    unpacklo_epi8(a: Self::I, b: Self::I) -> Self::I = _mm512_unpacklo_epi8 | _mm256_unpacklo_epi8;
    unpackhi_epi8(a: Self::I, b: Self::I) -> Self::I = _mm512_unpackhi_epi8 | _mm256_unpackhi_epi8;
    madd_epi16(a: Self::I, b: Self::I) -> Self::I = _mm512_madd_epi16 | _mm256_madd_epi16;
    add_epi32(a: Self::I, b: Self::I) -> Self::I = _mm512_add_epi32 | _mm256_add_epi32;
    cvtepi32_ps(a: Self::I) -> Self::F = _mm512_cvtepi32_ps | _mm256_cvtepi32_ps;
    cvtps_epi32(a: Self::F) -> Self::I = _mm512_cvtps_epi32 | _mm256_cvtps_epi32;
    mul_ps(a: Self::F, b: Self::F) -> Self::F = _mm512_mul_ps | _mm256_mul_ps;
    min_ps(a: Self::F, b: Self::F) -> Self::F = _mm512_min_ps | _mm256_min_ps;
    max_ps(a: Self::F, b: Self::F) -> Self::F = _mm512_max_ps | _mm256_max_ps;
    packs_epi32(a: Self::I, b: Self::I) -> Self::I = _mm512_packs_epi32 | _mm256_packs_epi32;
    packs_epi16(a: Self::I, b: Self::I) -> Self::I = _mm512_packs_epi16 | _mm256_packs_epi16;
    packus_epi16(a: Self::I, b: Self::I) -> Self::I = _mm512_packus_epi16 | _mm256_packus_epi16;
    adds_epi16(a: Self::I, b: Self::I) -> Self::I = _mm512_adds_epi16 | _mm256_adds_epi16;
    max_epi8(a: Self::I, b: Self::I) -> Self::I = _mm512_max_epi8 | _mm256_max_epi8;
    min_epi8(a: Self::I, b: Self::I) -> Self::I = _mm512_min_epi8 | _mm256_min_epi8;
    max_epu8(a: Self::I, b: Self::I) -> Self::I = _mm512_max_epu8 | _mm256_max_epu8;
    min_epu8(a: Self::I, b: Self::I) -> Self::I = _mm512_min_epu8 | _mm256_min_epu8;
    }
    types: [__m512i, __m512, 16] [__m256i, __m256, 8];
    masks: [__mmask64, __mmask32, __mmask16] [__mmask32, __mmask16, __mmask8];
    loadu: [_mm512_loadu_si512] [_mm256_loadu_si256];
    widen: [_mm256_loadu_si256, _mm256_maskz_loadu_epi8, _mm512_cvtepi8_epi16, _mm512_cvtepu8_epi16]
        [_mm_loadu_si128, _mm_maskz_loadu_epi8, _mm256_cvtepi8_epi16, _mm256_cvtepu8_epi16];
    bytes: [_mm512_loadu_si512, _mm512_maskz_loadu_epi8, _mm512_xor_si512, _mm512_set1_epi8,
            _mm512_storeu_si512, _mm512_mask_storeu_epi8]
        [_mm256_loadu_si256, _mm256_maskz_loadu_epi8, _mm256_xor_si256, _mm256_set1_epi8,
            _mm256_storeu_si256, _mm256_mask_storeu_epi8];
    shuffle: [_mm512_shuffle_epi8, _mm512_broadcast_i32x4]
        [_mm256_shuffle_epi8, _mm256_broadcastsi128_si256];
    vnni: [dpwssd2_512, dpbusd_mem512] [dpwssd2_256, dpbusd_mem256];
    deinterleave: [deinterleave512] [deinterleave256];
    // The 16 requantized bytes of a zmm (all, or the lanes of the dword mask), the 8 of a ymm.
    requant: [_mm512_set1_ps, _mm512_set1_epi32, _mm512_cvtsepi32_epi8, _mm512_cvtusepi32_epi8,
            |o: *mut u8, b: __m128i, m: __mmask16| if m == !0 {
                _mm_storeu_si128(o.cast(), b)
            } else {
                _mm_mask_storeu_epi8(o.cast(), m, b)
            }]
        [_mm256_set1_ps, _mm256_set1_epi32, _mm256_cvtsepi32_epi8, _mm256_cvtusepi32_epi8,
            |o: *mut u8, b: __m128i, m: __mmask8| {
                _mm_mask_storeu_epi8(o.cast(), __mmask16::from(m), b)
            }];
    store: [_mm512_storeu_si512, _mm512_mask_storeu_epi32]
        [_mm256_storeu_si256, _mm256_mask_storeu_epi32];
}

/// [`Wide::deinterleave_pairs`] on zmm: dwords `0..4` of each 128-bit lane of `lo` and `hi`
/// interleaved by lane.
#[inline(always)]
unsafe fn deinterleave512(lo: __m512i, hi: __m512i) -> (__m512i, __m512i) {
    // SAFETY: register-only intrinsics (the trait's contract).
    unsafe {
        let idx0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
        let idx1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
        (
            _mm512_permutex2var_epi32(lo, idx0, hi),
            _mm512_permutex2var_epi32(lo, idx1, hi),
        )
    }
}

/// [`Wide::deinterleave_pairs`] on ymm: the low 128-bit lanes of `lo` and `hi`, then the high.
#[inline(always)]
unsafe fn deinterleave256(lo: __m256i, hi: __m256i) -> (__m256i, __m256i) {
    // SAFETY: register-only intrinsics (the trait's contract).
    unsafe {
        (
            _mm256_permute2x128_si256(lo, hi, 0x20),
            _mm256_permute2x128_si256(lo, hi, 0x31),
        )
    }
}

/// The `vpdp*` forms with a memory operand, one function per width (`$w`: the operand size,
/// `$reg` its register class, `$half`: the byte offset of the second `vpdpwssd`'s weights).
///
/// Written as asm: as intrinsics, LLVM splits the unrolled `vpdpwssd` back into `vpmaddwd` +
/// `vpaddd`, and hoists a block's loop-invariant `vpdpbusd` weight loads and spills them (and
/// the accumulators) to the stack, whose position then decides 4K-aliasing stalls (D3 23 or
/// 29 µs by the size of the environment, which moves the stack).
macro_rules! vpdp_asm {
    ($($dpw:ident, $dpb:ident: $V:ty, $reg:ident, $w:literal, $half:literal, $feat:literal;)*) => {$(
        #[doc = concat!("`lo += xl · wp[..]`, `hi += xh · wp[..]` (`vpdpwssd` on ", $w, ").")]
        ///
        /// # Safety
        /// `wp` is readable for two vectors of i32; the CPU has the target features.
        #[target_feature(enable = $feat)]
        #[inline]
        unsafe fn $dpw(mut lo: $V, mut hi: $V, xl: $V, xh: $V, wp: *const i32) -> ($V, $V) {
            // SAFETY: reads the weight bytes at wp (readable by the contract); no stores, no
            // flags.
            unsafe {
                core::arch::asm!(
                    concat!("vpdpwssd {lo}, {xl}, ", $w, " ptr [{wp}]"),
                    concat!("vpdpwssd {hi}, {xh}, ", $w, " ptr [{wp} + ", $half, "]"),
                    lo = inout($reg) lo,
                    hi = inout($reg) hi,
                    xl = in($reg) xl,
                    xh = in($reg) xh,
                    wp = in(reg) wp,
                    options(pure, readonly, nostack, preserves_flags)
                );
            }
            (lo, hi)
        }

        #[doc = concat!("`acc + Σ4 u8(x) · s8([wp])` per dword (`vpdpbusd` on ", $w, ").")]
        ///
        /// # Safety
        /// `wp` is readable for one vector of i32; the CPU has the target features.
        #[target_feature(enable = $feat)]
        #[inline]
        unsafe fn $dpb(mut acc: $V, x: $V, wp: *const i32) -> $V {
            // SAFETY: reads the weight bytes at wp (readable by the contract); no stores, no
            // flags.
            unsafe {
                core::arch::asm!(
                    concat!("vpdpbusd {acc}, {x}, ", $w, " ptr [{wp}]"),
                    acc = inout($reg) acc,
                    x = in($reg) x,
                    wp = in(reg) wp,
                    options(pure, readonly, nostack, preserves_flags)
                );
            }
            acc
        }
    )*};
}

vpdp_asm! {
    dpwssd2_512, dpbusd_mem512: __m512i, zmm_reg, "zmmword", 64, "avx512f,avx512vnni";
    dpwssd2_256, dpbusd_mem256: __m256i, ymm_reg, "ymmword", 32, "avx512f,avx512vl,avx512vnni";
}
