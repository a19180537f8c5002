//! x86_64 AVX-512: `wgemm_8x32c2__avx512` (AVX-512 BW `vpmaddwd` + `vpaddd`) and the portable
//! transforms compiled for AVX-512 F/BW.
#![allow(non_snake_case)]

use super::{gemm_c2, transforms};
use core::arch::x86_64::*;

kernel_fn! {
    /// See [`crate::int8::ukernel::GemmFn`].
    ///
    /// # Safety
    /// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with
    /// AVX-512 F/BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    gemm wgemm_8x32c2__avx512(kp, v, ldv, u, m, ldm) {
        // SAFETY: the caller's contract is `gemm_c2`'s with MR = 8 and 512-bit registers (NR =
        // 32); AVX-512 F/BW are enabled here, and the step is `vpmaddwd` + `vpaddd` (BW, F).
        unsafe {
            gemm_c2::<__m512i, 8>(kp, v, ldv, u, m, ldm, |acc, x, u| {
                _mm512_add_epi32(acc, _mm512_madd_epi16(x, u))
            })
        }
    }
}

transforms!(
    "avx512f,avx512bw",
    "AVX-512 F/BW",
    input_tile_avx512,
    output_tile_avx512
);
