//! # quant-params
//!
//! Quantization parameters, exact requantization and the element-wise quantized kernels of
//! edge-kernels, plus calibration and weight compression:
//!
//! * [`QuantParams`], [`PerChannelParams`], [`QType`]: `real = scale * (q - zero_point)`, validated.
//! * [`choose`]: parameters from data: ONNX `DynamicQuantizeLinear` exactly, asymmetric min/max
//!   (0 exactly representable), symmetric (TFLite int8 weights), per tensor and per channel.
//! * [`observer`]: calibration observers (min/max, moving-average min/max, histogram with
//!   percentile clipping, MSE-optimal clipping search), per tensor and per channel.
//! * [`Requantizer`]: int32 accumulator to u8/i8 with one of four named rounding schemes
//!   ([`RequantScheme`]) plus the output clamp; [`Requantizer::requantize`] is the scalar
//!   reference, [`Requantizer::requantize_slice_u8`] / [`Requantizer::plan`] the fast slice API
//!   for kernel epilogues; [`PerChannelRequantizer`] does rows of per-channel scales (SIMD for
//!   `Fp32`, the scheme XNNPACK/ONNX Runtime use with per-channel weights).
//! * [`BulkKernels`]: quantize f32 -> u8/i8 (ONNX QuantizeLinear), dequantize (ONNX
//!   DequantizeLinear), requantize, u8 <-> i8 zero-point shift, for every entry of
//!   the dispatch table [`BULK`] (`requant_fp32__scalar`, `requant_fp32_x16__neon`,
//!   `requant_fp32_x16__aarch32_neon` (32-bit ARM),
//!   `requant_fp32_x32__avx2`, `requant_fp32_x16__avx512`), chosen once from `cpu_probe::Isa`
//!   (honouring `EDGE_KERNELS_ISA`); every entry equals [`reference`](mod@reference) bit for bit.
//! * [`codebook`]: k-means weight sharing (2-8 bit indices, default 6) with a packed
//!   bit-stream format; [`embedding`]: Caffe2's fused 8-bit row-wise embedding tables.
//!
//! ## Which ecosystem each semantic matches
//!
//! | here | definition | bit-exact with |
//! |---|---|---|
//! | [`RequantScheme::Fp32`] | `(acc as f32) * scale`, clamp to `[qmin - zp, qmax - zp]`, round half to even, `+ zp` | XNNPACK `fp32` requantization (`xnn_qs8_requantize_fp32`), ONNX Runtime / MLAS (float multiply, `nearbyint`), PyTorch QNNPACK fp32 kernels |
//! | [`RequantScheme::Gemmlowp`] | Q31 multiplier from the f32 scale's mantissa, saturating left shift, `SaturatingRoundingDoublingHighMul`, `RoundingDivideByPOT` | TFLite `MultiplyByQuantizedMultiplier` (double-rounding build) and QNNPACK's q31 kernels, given the same multiplier/shift (TFLite derives them from a `double` scale product; feed us the same value rounded to f32 and they agree). Where `acc << shift` overflows i32 (scales >= 1) we saturate like gemmlowp's `SaturatingRoundingMultiplyByPOT`; TFLite's plain multiply would overflow there |
//! | [`RequantScheme::Rndnu`] | `(acc * m + 2^(s-1)) >> s`, 24-bit mantissa `m` | XNNPACK `rndnu` (`xnn_qs8_requantize_rndnu`, same parameters from the f32 scale); ruy's single-rounding `apply_multiplier` given the same multiplier |
//! | [`RequantScheme::Precise`] | `sign(acc) * ((|acc| * m + 2^(s-1)) >> s)` (ties away from zero) | QNNPACK `precise` reference (`scalar_requantize_precise`), extended from scales `< 1` to `< 256` |
//! | [`BulkKernels::quantize_u8`] | `saturate(round_half_even(x / scale) + zp)`, NaN -> zp | ONNX QuantizeLinear (u8/i8) |
//! | [`BulkKernels::dequantize_u8`] | `(q - zp) as f32 * scale` | ONNX DequantizeLinear |
//! | [`choose::dynamic_quantize_linear`] | ONNX formulas in f32; all-zero input gives scale 1/255 | ONNX DynamicQuantizeLinear (`onnx.reference`) |
//! | [`embedding::FusedRowwise8`] | per row `scale = (max - min) / 255`, `bias = min`, `q = lrint((x - min) * 255 / (range + 1e-8))` | Caffe2 / FBGEMM `FloatToFused8BitRowwiseQuantized` |
//!
//! All schemes accept requantization scales in `[2^-32, 256)` (QNNPACK stopped at 1).
//!
//! ## SIMD formulations (all exact; tested against the scalar reference and i128 oracles)
//!
//! * AVX-512: `Fp32` by `vcvtdq2ps`/`vmulps`/`vcvtps2dq` (nearest-even); `Rndnu`/`Precise` on
//!   signed 64-bit `vpmuldq` products of the even and odd lanes with one arithmetic shift;
//!   `Gemmlowp` with SRDHM and RoundingDivideByPOT fused into one exact 64-bit shift.
//! * AVX2: the same products with `|acc|` (`vpmuludq`) and logical shifts (AVX2 has no 64-bit
//!   arithmetic shift), `Gemmlowp` with gemmlowp's remainder/threshold RoundingDivideByPOT.
//! * NEON: `Gemmlowp` with `sqrdmulh` (exactly SRDHM) and gemmlowp's NEON fix-up + `srshl`;
//!   `Rndnu`/`Precise` with `umull`/`umull2` 64-bit products; `Fp32` with `fcvtns`.
//! * 32-bit ARM NEON (`asm!`): the aarch64 kernels' integer sequences in A32 (`vqshl`,
//!   `vqdmulh`/`vqrdmulh`, `vsra`, `vrshl`); `Fp32` rounds with a `1.5·2²³` add (A32 has no
//!   `vcvtn`); QuantizeLinear divides with VFP `vdiv.f32` (NEON has no divide).
//!
//! ## Example
//!
//! ```
//! use quant_params::{choose, BulkKernels, QuantParams, QType, Requantizer, RequantScheme, BULK};
//!
//! // Activations: choose parameters dynamically (ONNX DynamicQuantizeLinear) and quantize.
//! let x = [0.0f32, 2.0, -3.0, -2.5, 1.34, 0.5];
//! let mut xq = [0u8; 6];
//! let input = choose::dynamic_quantize_linear(&x, &mut xq)?;
//! assert_eq!((input.zero_point(), xq), (153, [153, 255, 0, 26, 221, 179]));
//!
//! // A GEMM epilogue: requantize int32 accumulators to u8 with a fused ReLU (clamp at zp).
//! let weight = QuantParams::symmetric_i8(0.005)?;
//! let output = QuantParams::new(0.05, 120, QType::U8)?;
//! let scale = input.scale() * weight.scale() / output.scale();
//! let r = Requantizer::new(RequantScheme::Fp32, scale, output.zero_point(), QType::U8)?
//!     .with_clamp(output.zero_point(), 255)?;
//! assert_eq!(r.requantize(1000), 122);
//! let acc = [1000, -1000, 0, 1 << 30];
//! let mut out = [0u8; 4];
//! r.requantize_slice_u8(&acc, &mut out)?; // best entry, chosen once per process
//! assert_eq!(out, [122, 120, 120, 255]);
//! // Every entry this CPU can run gives the same bytes.
//! for e in BULK.available() {
//!     let mut o = [0u8; 4];
//!     r.requantize_slice_u8_with(e, &acc, &mut o)?;
//!     assert_eq!(o, out);
//! }
//! // Dequantize the result.
//! let mut y = [0f32; 4];
//! BulkKernels::best().dequantize_u8(&output, &out, &mut y)?;
//! assert_eq!(y[0], 0.1f32);
//! # Ok::<(), quant_params::QuantError>(())
//! ```

pub mod bulk;
pub mod choose;
pub mod codebook;
pub mod embedding;
pub mod error;
pub mod int8;
pub mod observer;
pub mod params;
pub mod reference;
pub mod requant;
pub mod ukernel;

pub use bulk::{BulkKernels, PerChannelRequantizer, RequantPlan};
pub use error::QuantError;
pub use int8::{Fp32Requant, Input8, Output8, OutputStage, RndnuFused, StagePlan};
pub use params::{PerChannelParams, QType, QuantParams};
pub use requant::{RequantScheme, Requantizer};
pub use ukernel::{BulkEntry, BULK};
