//! x86_64 AVX2: `wgemm_4x16c2__avx2` (`vpmaddwd` + `vpaddd`) and the portable transforms
//! compiled for AVX2.
#![allow(non_snake_case)]

use super::{gemm_c2, transforms};
use core::arch::x86_64::*;

kernel_fn! {
    /// See [`crate::int8::ukernel::GemmFn`].
    ///
    /// # Safety
    /// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 4`, `NR = 16`, on a CPU with
    /// AVX2.
    #[target_feature(enable = "avx2")]
    gemm wgemm_4x16c2__avx2(kp, v, ldv, u, m, ldm) {
        // SAFETY: the caller's contract is `gemm_c2`'s with MR = 4 and 256-bit registers (NR =
        // 16); AVX2 is enabled here, and the step is `vpmaddwd` + `vpaddd` (AVX2).
        unsafe {
            gemm_c2::<__m256i, 4>(kp, v, ldv, u, m, ldm, |acc, x, u| {
                _mm256_add_epi32(acc, _mm256_madd_epi16(x, u))
            })
        }
    }
}

transforms!("avx2", "AVX2", input_tile_avx2, output_tile_avx2);
