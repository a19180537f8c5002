//! x86-64 kernels, one file per ISA level: [`avx2`], [`avx512`], [`avx512vnni`]. The AVX-512
//! int8 bodies are written once over the internal vector trait of `wide` (zmm and ymm).

/// The int8 pair kernels of one AVX-512 level: the raw one ([`crate::ukernel::DwI8Fn`]) and the
/// one with the Fp32 requantization fused ([`crate::ukernel::DwI8QFn`]), both
/// [`avx512::i8_512_body`] (`$vnni`: `vpdpwssd`) behind one `#[target_feature]` function `$tf`.
macro_rules! pair_kernels {
    ($tf:ident, $feat:literal, $vnni:literal; $(#[$rm:meta])* $raw:ident;
        $(#[$fm:meta])* $fused:ident;) => {
        kernel_fn! {
            $(#[$rm])*
            i8 $raw(px, taps, ind, w, ch, out) {
                let (q, out) = (&super::Fp32Requant::UNUSED, out.cast());
                // SAFETY: same contract.
                unsafe { by_taps!(taps, K => $tf::<SIGNED, K, false>(px, taps, ind, w, ch, q, out)) }
            }
        }

        kernel_fn! {
            $(#[$fm])*
            q8 $fused(px, taps, ind, w, ch, q, out) {
                // SAFETY: same contract.
                unsafe { by_taps!(taps, K => $tf::<SIGNED, K, true>(px, taps, ind, w, ch, q, out)) }
            }
        }

        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $tf<const SIGNED: bool, const K: usize, const Q: bool>(
            px: usize,
            taps: usize,
            ind: *const *const u8,
            w: *const i32,
            ch: usize,
            q: &Fp32Requant<'_>,
            out: *mut u8,
        ) {
            // SAFETY: forwarded contract.
            unsafe {
                super::avx512::i8_512_body::<SIGNED, $vnni, K, Q>(px, taps, ind, w, ch, q, out)
            }
        }
    };
}

pub mod avx2;
pub mod avx512;
pub mod avx512vnni;
mod wide;

use crate::ukernel::Fp32Requant;
