//! The dispatch table [`BULK`]: which bulk element-wise kernels exist and which this CPU can run.
//!
//! Every kernel has the same contract: equal-length input and output slices (checked by the safe
//! callers in [`crate::bulk`]), and the CPU must support the entry's ISA (guaranteed because
//! [`crate::BulkKernels`] is only built from a supported entry).
//! Kernels write the low byte of the clamped result, so one kernel serves `u8` and `i8` outputs.

use crate::requant::{RequantScheme, Requantizer};
use crate::QuantParams;
use cpu_probe::{Entry, Isa, Table};

/// The bulk kernel families of this build, portable scalar first, best last. Each entry is named
/// after its `Fp32` requantization kernel (e.g. `requant_fp32_x32__avx2`); the other kernels of
/// the family carry the same ISA suffix (see [`Kernels`] and the `*_name` methods of
/// [`crate::BulkKernels`]). [`crate::BulkKernels::best`] uses [`Table::best`].
///
/// ```
/// use quant_params::BULK;
/// assert_eq!(BULK.all()[0].name, "requant_fp32__scalar");
/// assert!(BULK.available().iter().any(|e| e.name == BULK.best().name));
/// ```
pub static BULK: Table<Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: scalar::KERNELS.requant_names[0],
        kernels: scalar::KERNELS,
    },
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: aarch64::neon::KERNELS.requant_names[0],
        kernels: aarch64::neon::KERNELS,
    },
    #[cfg(target_arch = "arm")]
    Entry {
        isa: Isa::Neon,
        name: arm::neon::KERNELS.requant_names[0],
        kernels: arm::neon::KERNELS,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: x86_64::avx2::KERNELS.requant_names[0],
        kernels: x86_64::avx2::KERNELS,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: x86_64::avx512::KERNELS.requant_names[0],
        kernels: x86_64::avx512::KERNELS,
    },
]);

/// One entry of [`BULK`].
pub type BulkEntry = Entry<Kernels>;

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

/// The kernels of one [`BULK`] entry (function pointers and the names of the functions).
/// (Neither `Clone` nor `Copy`: outside this crate, kernels exist only inside the table,
/// whose entries pair them with the ISA they need.)
pub struct Kernels {
    /// Indexed by [`scheme_index`].
    pub(crate) requant: [RequantFn; 4],
    /// The names of the `requant` functions, same order.
    pub(crate) requant_names: [&'static str; 4],
    pub(crate) requant_fp32_per_channel: RequantFp32PerChannelFn,
    pub(crate) quantize: QuantizeFn,
    pub(crate) quantize_name: &'static str,
    pub(crate) dequantize_u8: DequantizeFn,
    pub(crate) dequantize_u8_name: &'static str,
    pub(crate) dequantize_i8: DequantizeFn,
    pub(crate) dequantize_i8_name: &'static str,
    pub(crate) xor80: XorFn,
    pub(crate) xor80_name: &'static str,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels")
            .field("requant", &self.requant_names)
            .field("quantize", &self.quantize_name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Kernels`] from function names, recording each name next to its pointer.
macro_rules! kernels {
    (
        requant: [$fp32:ident, $gemmlowp:ident, $rndnu:ident, $precise:ident $(,)?],
        requant_fp32_per_channel: $pc:ident,
        quantize: $q:ident,
        dequantize_u8: $du:ident,
        dequantize_i8: $di:ident,
        xor80: $x:ident $(,)?
    ) => {
        $crate::ukernel::Kernels {
            requant: [$fp32, $gemmlowp, $rndnu, $precise],
            requant_names: [
                stringify!($fp32),
                stringify!($gemmlowp),
                stringify!($rndnu),
                stringify!($precise),
            ],
            requant_fp32_per_channel: $pc,
            quantize: $q,
            quantize_name: stringify!($q),
            dequantize_u8: $du,
            dequantize_u8_name: stringify!($du),
            dequantize_i8: $di,
            dequantize_i8_name: stringify!($di),
            xor80: $x,
            xor80_name: stringify!($x),
        }
    };
}

pub mod scalar;

/// Runs `step` over the first `min(inp.len(), out.len())` elements in blocks of `B`: full blocks
/// in place, the last partial block through a copy padded with `pad` and a scratch output of which
/// only the valid part is copied back, so a kernel never touches memory outside the slices. The
/// NEON and AVX2 kernels share it (AVX-512 uses masked loads and stores instead).
#[cfg(any(target_arch = "aarch64", target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn blocks<I: Copy, O: Copy + Default, const B: usize>(
    inp: &[I],
    out: &mut [O],
    pad: I,
    mut step: impl FnMut(&[I; B], &mut [O; B]),
) {
    let n = inp.len().min(out.len());
    let (full_in, tail_in) = inp[..n].as_chunks::<B>();
    let (full_out, tail_out) = out[..n].as_chunks_mut::<B>();
    for (src, dst) in full_in.iter().zip(full_out) {
        step(src, dst);
    }
    if !tail_in.is_empty() {
        let mut src = [pad; B];
        src[..tail_in.len()].copy_from_slice(tail_in);
        let mut dst = [O::default(); B];
        step(&src, &mut dst);
        tail_out.copy_from_slice(&dst[..tail_out.len()]);
    }
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "arm")]
pub mod arm;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// Position of a scheme in [`Kernels::requant`].
pub(crate) fn scheme_index(s: RequantScheme) -> usize {
    match s {
        RequantScheme::Fp32 => 0,
        RequantScheme::Gemmlowp => 1,
        RequantScheme::Rndnu => 2,
        RequantScheme::Precise => 3,
    }
}
