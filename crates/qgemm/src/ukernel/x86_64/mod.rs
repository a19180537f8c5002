//! x86_64 micro-kernels.

/// Defines the two entry points of a kernel whose body is one function `$dispatch::<OUT>` of the
/// `igemm_fp32` kind (see `kernel_fn!`; `OUT` = 0: `out` holds i32, `out_stride` in elements;
/// 1: u8, 2: i8 after the requantization): `$name`, the [`super::IgemmFn`] (OUT = 0 over one
/// block: `ncols = nr <= NR`, so `w_stride` is never used, nor the requantizer read), and
/// `$fp32`, the [`super::IgemmFp32Fn`] (OUT = 1 or 2 as `q.signed`). The doc comments (with
/// `# Safety`) precede each name.
macro_rules! out_entries {
    ($dispatch:ident, $(#[$mi:meta])* $name:ident, $(#[$mf:meta])* $fp32:ident $(,)?) => {
        kernel_fn! {
            $(#[$mi])*
            pub igemm $name(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
                let q = &$crate::ukernel::Fp32Requant::UNUSED;
                // SAFETY: the caller's contract is IgemmFn's, passed on with OUT = 0 (one block).
                unsafe { $dispatch::<0>(mr, nr, 0, taps, kc, a, a_xor, w, bias, q, out.cast(), out_stride) }
            }
        }

        kernel_fn! {
            $(#[$mf])*
            pub igemm_fp32 $fp32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out, out_stride) {
                // SAFETY: the caller's contract, passed on; OUT = 1 (u8) / 2 (i8) stores bytes.
                unsafe {
                    if q.signed {
                        $dispatch::<2>(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out, out_stride)
                    } else {
                        $dispatch::<1>(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out, out_stride)
                    }
                }
            }
        }
    };
}

pub mod avx2;
pub mod avx512vnni;
