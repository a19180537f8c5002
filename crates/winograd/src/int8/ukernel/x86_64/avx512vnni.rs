//! x86_64 AVX-512 VNNI: `wgemm_8x32c2__avx512vnni` (fused `vpdpwssd`); its transforms are the
//! AVX-512 entry's.
#![allow(non_snake_case)]

use super::gemm_c2;
use core::arch::x86_64::*;

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

kernel_fn! {
    /// See [`crate::int8::ukernel::GemmFn`].
    ///
    /// # Safety
    /// The contract of [`crate::int8::ukernel::GemmFn`] with `MR = 8`, `NR = 32`, on a CPU with
    /// AVX-512 F/BW/VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    gemm wgemm_8x32c2__avx512vnni(kp, v, ldv, u, m, ldm) {
        // SAFETY: the caller's contract is `gemm_c2`'s with MR = 8 and 512-bit registers (NR =
        // 32), as `wgemm_8x32c2__avx512`; AVX-512 F/BW/VNNI are enabled here, so `dpwssd` may run.
        unsafe { gemm_c2::<__m512i, 8>(kp, v, ldv, u, m, ldm, |acc, x, u| dpwssd(acc, x, u)) }
    }
}
