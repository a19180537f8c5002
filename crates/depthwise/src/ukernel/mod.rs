//! Depthwise micro-kernels: one output pixel, all channels, `taps` input rows given by pointer
//! (padding taps point at a zero / zero-point row), accumulators started from the bias.
//!
//! int8 kernels compute `acc[c] = bias[c] + Σ_t ((x_t[c] ^ xor) − za') · w'[t][c]` in exact i32,
//! with `w' = w − zw` stored as i32 (no i16 saturation anywhere). fp32 kernels compute
//! `bias[c] + Σ_t x_t[c] · w[t][c]` with fused multiply-adds.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use cpu_probe::Features;

/// int8 kernel: `(taps, rows, xor, za', w', bias, channels, out)`.
///
/// # Safety
/// `rows` holds `taps` pointers each readable for `channels` bytes; `w` holds `taps · channels`
/// i32 (tap-major); `bias` and `out` hold `channels` i32; the CPU supports the kernel's ISA.
pub type DwI8Fn =
    unsafe fn(usize, *const *const u8, u8, i32, *const i32, *const i32, usize, *mut i32);

/// fp32 kernel: `(taps, rows, w, bias, channels, out)`, pointers as for [`DwI8Fn`] with f32.
///
/// # Safety
/// As [`DwI8Fn`], with f32 rows, weights, bias and output.
pub type DwF32Fn = unsafe fn(usize, *const *const f32, *const f32, *const f32, usize, *mut f32);

/// The micro-kernel families of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// `dwconv_c1__scalar`.
    Scalar,
    /// `dwconv_c8__neon`.
    Neon,
    /// `dwconv_c16__avx512` (F + BW + VL masked tails).
    Avx512,
}

impl Variant {
    /// Every variant the running CPU can execute (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        let f = Features::get();
        let mut v = vec![Variant::Scalar];
        if cfg!(target_arch = "aarch64") && f.neon {
            v.push(Variant::Neon);
        }
        if cfg!(target_arch = "x86_64") && f.has_avx512() {
            v.push(Variant::Avx512);
        }
        v
    }

    /// The best available variant.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }

    /// Name of the variant's int8 kernel.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "dwconv_c1__scalar",
            Variant::Neon => "dwconv_c8__neon",
            Variant::Avx512 => "dwconv_c16__avx512",
        }
    }

    /// The (int8, fp32) kernels, if this CPU/build can run them.
    pub fn kernels(self) -> Option<(DwI8Fn, DwF32Fn)> {
        if !Variant::available().contains(&self) {
            return None;
        }
        match self {
            Variant::Scalar => Some((scalar::dw_i8, scalar::dw_f32)),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some((aarch64::dw_i8, aarch64::dw_f32)),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => Some((x86_64::dw_i8, x86_64::dw_f32)),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}
