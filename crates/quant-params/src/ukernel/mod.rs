//! The variant table: which bulk element-wise kernels exist and which this CPU can run.
//!
//! Every kernel has the same contract: equal-length input and output slices (checked by the safe
//! callers in [`crate::bulk`]), and the CPU must support the variant's ISA (guaranteed because a
//! kernel table is only handed out for a variant in [`Variant::available`]).
//! Kernels write the low byte of the clamped result, so one kernel serves `u8` and `i8` outputs.

use crate::requant::{RequantScheme, Requantizer};
use crate::QuantParams;

pub mod scalar;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// A family of bulk kernels, named after the ISA it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Portable scalar loops (the fallback; always available).
    Scalar,
    /// aarch64 Advanced SIMD (baseline on every aarch64 CPU).
    Neon,
    /// x86-64 AVX2 (with FMA, as the workspace's `__avx2` kernels require).
    Avx2,
    /// x86-64 AVX-512 F + BW + DQ + VL.
    Avx512,
}

impl Variant {
    /// Every variant, whether or not this CPU can run it.
    pub const ALL: [Variant; 4] = [
        Variant::Scalar,
        Variant::Neon,
        Variant::Avx2,
        Variant::Avx512,
    ];

    /// Lower-case name (`scalar`, `neon`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "scalar",
            Variant::Neon => "neon",
            Variant::Avx2 => "avx2",
            Variant::Avx512 => "avx512",
        }
    }

    /// Whether this CPU (after the `EDGE_KERNELS_ISA` cap) can run the variant.
    pub fn is_available(self) -> bool {
        let f = cpu_probe::Features::get();
        match self {
            Variant::Scalar => true,
            Variant::Neon => cfg!(target_arch = "aarch64") && f.neon,
            Variant::Avx2 => cfg!(target_arch = "x86_64") && f.has_avx2_fma(),
            Variant::Avx512 => cfg!(target_arch = "x86_64") && f.has_avx512(),
        }
    }

    /// The variants this CPU can run, scalar first, best last.
    pub fn available() -> Vec<Variant> {
        Variant::ALL
            .into_iter()
            .filter(|v| v.is_available())
            .collect()
    }

    /// The best variant this CPU can run (chosen once per process).
    pub fn best() -> Variant {
        static BEST: std::sync::OnceLock<Variant> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| *Variant::available().last().unwrap_or(&Variant::Scalar))
    }

    /// The kernel table of this variant, or `None` if the CPU cannot run it.
    pub(crate) fn table(self) -> Option<&'static KernelTable> {
        if !self.is_available() {
            return None;
        }
        match self {
            Variant::Scalar => Some(&scalar::TABLE),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some(&aarch64::neon::TABLE),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Some(&x86_64::avx2::TABLE),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => Some(&x86_64::avx512::TABLE),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Constants of one requantization, derived once from a [`Requantizer`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequantConsts {
    /// `Fp32`: the scale.
    pub scale: f32,
    /// `qmin - zero_point` (the clamp in the scaled domain).
    pub lo: i32,
    /// `qmax - zero_point`.
    pub hi: i32,
    /// Output zero point.
    pub zp: i32,
    /// `Rndnu`/`Precise`: 24-bit mantissa.
    pub mantissa: u32,
    /// `Rndnu`/`Precise`: right shift in `[16, 55]`.
    pub shift: u32,
    /// `Gemmlowp`: saturating left shift in `[0, 8]`.
    pub left: u32,
    /// `Gemmlowp`: rounding right shift in `[0, 31]`.
    pub right: u32,
    /// `Gemmlowp`: Q31 multiplier.
    pub mult: i32,
}

impl RequantConsts {
    pub(crate) fn new(r: &Requantizer) -> RequantConsts {
        RequantConsts {
            scale: r.scale,
            lo: r.qmin - r.zero_point,
            hi: r.qmax - r.zero_point,
            zp: r.zero_point,
            mantissa: r.mantissa as u32,
            shift: r.shift,
            left: r.q31_exponent.max(0) as u32,
            right: (-r.q31_exponent).max(0) as u32,
            mult: r.q31_multiplier,
        }
    }
}

/// Constants of ONNX QuantizeLinear / DequantizeLinear for one tensor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuantConsts {
    pub scale: f32,
    pub zp: i32,
    /// `qmin - zp`, `qmax - zp`.
    pub lo: i32,
    pub hi: i32,
}

impl QuantConsts {
    pub(crate) fn new(p: &QuantParams) -> QuantConsts {
        QuantConsts {
            scale: p.scale,
            zp: p.zero_point,
            lo: p.qtype.min() - p.zero_point,
            hi: p.qtype.max() - p.zero_point,
        }
    }
}

/// Requantize `acc` into the low bytes of `out` (`acc.len() == out.len()`).
pub(crate) type RequantFn = unsafe fn(&RequantConsts, &[i32], &mut [u8]);
/// `Fp32` with one scale per element (per-channel row): `scales.len() == acc.len() == out.len()`.
pub(crate) type RequantFp32PerChannelFn = unsafe fn(&RequantConsts, &[f32], &[i32], &mut [u8]);
/// Quantize `x` into the low bytes of `out` (`x.len() == out.len()`).
pub(crate) type QuantizeFn = unsafe fn(&QuantConsts, &[f32], &mut [u8]);
/// Dequantize bytes (as `u8` or `i8`) into `out` (equal lengths).
pub(crate) type DequantizeFn = unsafe fn(&QuantConsts, &[u8], &mut [f32]);
/// `out[i] = x[i] ^ 0x80` (equal lengths).
pub(crate) type XorFn = unsafe fn(&[u8], &mut [u8]);

/// The kernels of one variant.
pub(crate) struct KernelTable {
    pub variant: Variant,
    /// Indexed by [`scheme_index`].
    pub requant: [RequantFn; 4],
    pub requant_fp32_per_channel: RequantFp32PerChannelFn,
    pub quantize: QuantizeFn,
    pub dequantize_u8: DequantizeFn,
    pub dequantize_i8: DequantizeFn,
    pub xor80: XorFn,
}

/// Position of a scheme in [`KernelTable::requant`].
pub(crate) fn scheme_index(s: RequantScheme) -> usize {
    match s {
        RequantScheme::Fp32 => 0,
        RequantScheme::Gemmlowp => 1,
        RequantScheme::Rndnu => 2,
        RequantScheme::Precise => 3,
    }
}
