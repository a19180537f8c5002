//! # quant-params
//!
//! Quantization parameters and exact requantization for the 8-bit kernels of edge-kernels.
//!
//! * [`QuantParams`], [`PerChannelParams`], [`QType`]: `real = scale * (q - zero_point)`, validated.
//! * [`Requantizer`]: int32 accumulator to u8/i8 with one of four named rounding schemes
//!   ([`RequantScheme`]), each bit-exact to the ecosystem it comes from, plus the output clamp.
//!
//! ```
//! use quant_params::{QuantParams, QType, Requantizer, RequantScheme};
//!
//! let input = QuantParams::new(0.02, 128, QType::U8)?;
//! let weight = QuantParams::symmetric_i8(0.005)?;
//! let output = QuantParams::new(0.05, 120, QType::U8)?;
//! let scale = input.scale * weight.scale / output.scale;
//! let r = Requantizer::new(RequantScheme::Fp32, scale, output.zero_point, QType::U8)?;
//! assert_eq!(r.requantize(1000), 122);
//! # Ok::<(), quant_params::QuantError>(())
//! ```

pub mod bulk;
pub mod choose;
pub mod codebook;
pub mod embedding;
pub mod error;
pub mod observer;
pub mod params;
pub mod reference;
pub mod requant;
pub mod ukernel;

pub use bulk::{BulkKernels, RequantPlan};
pub use error::QuantError;
pub use params::{PerChannelParams, QType, QuantParams};
pub use requant::{RequantScheme, Requantizer};
pub use ukernel::Variant;
