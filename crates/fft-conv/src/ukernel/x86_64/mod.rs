//! x86-64 variants: AVX2 + FMA (8 tiles per vector, `avx2.rs`) and AVX-512 (16 tiles per
//! vector, `avx512.rs`, with 8-tile kernels compiled with AVX-512 VL for a short last group).

#![allow(non_snake_case)] // kernels carry their table names: `<op>_<tile>__<isa>`

use core::arch::x86_64::__mmask16;

/// `impl Simd for $S` over the x86 vector `$V` of `$lanes` f32, one intrinsic per operation
/// (`$isa` names the features the caller must have enabled, for the SAFETY comments).
macro_rules! x86_simd {
    ($S:ident, $V:ty, $lanes:literal, $isa:literal, splat: $splat:ident, load: $load:ident,
     store: $store:ident, add: $add:ident, sub: $sub:ident, fma: $fma:ident, fnma: $fnma:ident,
     min: $min:ident, max: $max:ident) => {
        #[doc = concat!("Each operation is one intrinsic; callers run with ", $isa, " enabled.")]
        impl Simd for $S {
            const LANES: usize = $lanes;
            type V = $V;
            #[inline(always)]
            unsafe fn splat(x: f32) -> $V {
                // SAFETY: the caller runs with the ISA enabled (`$isa`; every method's contract).
                unsafe { $splat(x) }
            }
            #[inline(always)]
            unsafe fn load(p: *const f32) -> $V {
                // SAFETY: the caller guarantees LANES readable floats and the ISA.
                unsafe { $load(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut f32, v: $V) {
                // SAFETY: the caller guarantees LANES writable floats and the ISA.
                unsafe { $store(p, v) }
            }
            #[inline(always)]
            unsafe fn add(a: $V, b: $V) -> $V {
                // SAFETY: the caller runs with the ISA enabled (as for every method below).
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            unsafe fn sub(a: $V, b: $V) -> $V {
                // SAFETY: as in `add`.
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            unsafe fn fma(a: $V, b: $V, c: $V) -> $V {
                // SAFETY: as in `add` (FMA, or AVX-512 F).
                unsafe { $fma(a, b, c) }
            }
            #[inline(always)]
            unsafe fn fnma(a: $V, b: $V, c: $V) -> $V {
                // SAFETY: as in `fma`.
                unsafe { $fnma(a, b, c) }
            }
            #[inline(always)]
            unsafe fn min(a: $V, b: $V) -> $V {
                // SAFETY: as in `add`.
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            unsafe fn max(a: $V, b: $V) -> $V {
                // SAFETY: as in `add`.
                unsafe { $max(a, b) }
            }
        }
    };
}

pub(crate) mod avx2;
pub(crate) mod avx512;

/// Lanes whose columns `cols.0 .. cols.1` (at most 16) are set.
#[inline(always)]
fn col_masks(cols: impl Fn(usize) -> (usize, usize)) -> [__mmask16; 16] {
    let upto = |n: usize| if n >= 16 { 0xFFFFu32 } else { (1u32 << n) - 1 };
    core::array::from_fn(|i| {
        let (b0, b1) = cols(i);
        (upto(b1) & !upto(b0)) as __mmask16
    })
}
