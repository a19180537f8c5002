//! # depthwise
//!
//! Depthwise convolution over NHWC tensors, 8-bit (exact i32 accumulation, any `quant-params`
//! requantization) and fp32, with channel multiplier, stride, dilation, 4-sided padding and batch.
//!
//! Padding costs no branch in the inner loop: every output row gets an indirection list (one
//! input-row pointer per pixel and tap, rebuilt per row without allocating), and taps outside the
//! image point at a row of zero points (int8) or zeros (fp32).
//!
//! Weights are packed once per plan in the chosen table entry's layout (channel tile per ISA: 32 for
//! AVX-512, 16 for AVX2, 8 for NEON), with the bias and the `−zx · Σ w'` term folded in, so the
//! int8 inner loop only widens bytes to i16 and multiply-accumulates two taps at a time
//! (`vpdpwssd` / `vpmaddwd`, `smlal` on NEON), exact in i32. On AVX-512 VNNI, 3x3 and 5x5
//! plans with stride 1 or 2 along W, 8-bit `w'` and a per-tensor Fp32 output stage take a `vpdpbusd`
//! kernel instead: four kernel rows' bytes interleaved per channel, each input column
//! interleaved once for the pixels that share it, four taps per instruction. On aarch64 with
//! FEAT_DotProd (`dwconv_c16__neondot`) plans whose `w'` all fit s8 run an `sdot` kernel: four
//! taps' bytes of each channel zipped side by side, four taps per instruction (u8 inputs flipped
//! to s8, `128·Σw'` in the packed bias), with the per-tensor Fp32 requantization fused; 3x3
//! stride-1 (along W) plans with that output take a column-reusing 8-channel `sdot` kernel
//! (three kernel rows' bytes per channel, one new input column per pixel); plans with a 9-bit
//! `w'` run the `smlal` kernel. On AVX2 (`dwconv_c16__avx2`) a per-tensor Fp32 output stage is
//! fused into the store (`dwconv_c16_fp32__avx2`). Kernels are specialised for 3x3
//! and 5x5 (9 and 25 taps, unrolled) with a generic loop for any other kernel size; fp32 kernels
//! compute 4 (AVX-512: 8) output pixels per iteration and apply the clamp at the store; with
//! stride 1 along W the AVX-512, AVX2 and NEON fp32 kernels (`dwconv_f32_c16x8s1__avx512`,
//! `dwconv_f32_c8x8s1__avx2`, `dwconv_f32_c4x8s1__neon`, 8 pixels per iteration) load each
//! input column once for the up to `kw` pixels that use it, and the AVX-512 kernel's channel
//! tiles follow the input's cache-line alignment. See
//! [`DWCONV_INT8`] and [`DWCONV_F32`]: one entry per ISA level, named after its function
//! (`dwconv_c32__avx512vnni` is `ukernel::x86_64::avx512vnni::dwconv_c32__avx512vnni`); a plan
//! takes the best entry this CPU runs or one the caller forces, and [`QDepthwise::name`] /
//! [`Depthwise32::name`] print the function it runs.
//!
//! ## Hostile inputs and NaN
//!
//! Every public entry point validates what the caller passes before anything is allocated or
//! any pointer is made: every geometry attribute is at most [`MAX_DIM`] (`u32::MAX`), all
//! derived sizes (taps, output channels, output size, buffer lengths, indirection and scratch
//! sizes, packed weights) are computed with checked arithmetic, buffers must have exactly the
//! lengths of the shape, and allocations whose size comes from the caller are fallible: an
//! impossible shape is a [`DwError`] naming the argument and its values, in release builds as
//! in debug ones.
//!
//! fp32 follows IEEE NaN propagation in every entry, with or without a fused clamp: an
//! output with a NaN among its inputs (input pixels under the kernel, weights, bias) is NaN,
//! and `clamp(NaN) = NaN` (ONNX Runtime and PyTorch semantics). Integer kernels are exact.
//!
//! ```
//! use depthwise::{DwDesc, Input8, Output8, OutputStage, QDepthwise, QDepthwiseConfig};
//! use quant_params::{QType, RequantScheme, Requantizer};
//!
//! // 3x3, 2 channels, padding 1, u8 activations (zero point 128), s8 weights of 1.
//! let desc = DwDesc::new([3, 3], [1, 1], [1; 4], 2, 1);
//! let w = [1i8; 9 * 2];
//! let r = Requantizer::new(RequantScheme::Fp32, 1.0, 0, QType::U8)?;
//! let plan = QDepthwise::new(QDepthwiseConfig {
//!     desc, input_type: QType::U8, input_zero_point: 128, weights: Input8::I8(&w),
//!     weight_zero_points: &[0], bias: None, output: OutputStage::PerTensor(r), entry: None,
//! })?;
//! let x = [130u8; 3 * 3 * 2]; // +2 everywhere
//! let mut y = [0u8; 3 * 3 * 2];
//! plan.run(Input8::U8(&x), 1, 3, 3, Output8::U8(&mut y), &cpu_probe::parallel::Parallel::single())?;
//! assert_eq!(y[8], 18); // centre pixel: 9 taps x 2
//! assert_eq!(y[0], 8);  // corner: 4 taps inside the image
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod driver;
pub mod reference;
pub mod ukernel;

pub use cpu_probe::{DispatchError, Entry};
pub use driver::{Depthwise32, QDepthwise, QDepthwiseConfig};
pub use quant_params::int8::{Input8, Output8, OutputStage};
use std::fmt;
pub use ukernel::{F32Kernels, Int8Kernels, DWCONV_F32, DWCONV_INT8};

/// Largest accepted value of every geometry attribute (kernel, stride, dilation, padding,
/// channels, multiplier, and per run batch, height and width): `u32::MAX`, as XNNPACK's
/// `uint32_t` fields.
pub const MAX_DIM: usize = u32::MAX as usize;

/// `v > MAX_DIM`; never true on 32-bit targets, where [`MAX_DIM`] is `usize::MAX` (hence the
/// allow: clippy's `absurd_extreme_comparisons` fires there).
#[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
pub(crate) fn above_max_dim(v: usize) -> bool {
    v > MAX_DIM
}

/// Shape of a depthwise convolution (the input size is given per run).
///
/// Any value may be stored; plans and [`DwDesc::output_size`] validate it: every attribute is
/// at least 1 (padding at least 0) and at most [`MAX_DIM`], and the derived sizes (taps,
/// output channels, dilated kernel extent, padded input, output size, buffer lengths) are
/// computed with checked arithmetic, an overflow being a [`DwError::Geometry`] that names the
/// argument and the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DwDesc {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride (height, width).
    pub stride: [usize; 2],
    /// Dilation (height, width).
    pub dilation: [usize; 2],
    /// Padding: top, left, bottom, right.
    pub pad: [usize; 4],
    /// Input channels.
    pub channels: usize,
    /// Output channels per input channel.
    pub multiplier: usize,
}

impl DwDesc {
    /// A description without dilation.
    pub fn new(
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 4],
        channels: usize,
        multiplier: usize,
    ) -> DwDesc {
        DwDesc {
            kernel,
            stride,
            dilation: [1, 1],
            pad,
            channels,
            multiplier,
        }
    }

    /// Kernel taps (`usize::MAX` if the product overflows; plans reject such a kernel).
    pub fn taps(&self) -> usize {
        self.kernel[0].saturating_mul(self.kernel[1])
    }

    /// Output channels (`usize::MAX` if the product overflows; plans reject such a shape).
    pub fn cout(&self) -> usize {
        self.channels.saturating_mul(self.multiplier)
    }

    /// Checks every attribute (see the type's docs) and returns `(taps, output channels)`.
    fn validate(&self) -> Result<(usize, usize), DwError> {
        let bad = |m: String| Err(DwError::Geometry(m));
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return bad(format!(
                "kernel {:?}, stride {:?} and dilation {:?} must all be >= 1",
                self.kernel, self.stride, self.dilation
            ));
        }
        if self.channels == 0 || self.multiplier == 0 {
            return bad(format!(
                "channels ({}) and multiplier ({}) must be >= 1",
                self.channels, self.multiplier
            ));
        }
        for (what, v) in [
            ("kernel", &self.kernel[..]),
            ("stride", &self.stride[..]),
            ("dilation", &self.dilation[..]),
            ("pad", &self.pad[..]),
            ("channels", &[self.channels][..]),
            ("multiplier", &[self.multiplier][..]),
        ] {
            if v.iter().any(|&x| above_max_dim(x)) {
                return bad(format!("{what} {v:?}: every value must be <= {MAX_DIM}"));
            }
        }
        let [kh, kw] = self.kernel;
        let taps = kh
            .checked_mul(kw)
            .ok_or_else(|| DwError::Geometry(format!("kernel {kh}x{kw}: taps overflow usize")))?;
        let (c, m) = (self.channels, self.multiplier);
        let cout = c.checked_mul(m).ok_or_else(|| {
            DwError::Geometry(format!("channels {c} times multiplier {m} overflows usize"))
        })?;
        for a in 0..2 {
            extent(self.kernel[a], self.dilation[a])?;
        }
        Ok((taps, cout))
    }

    /// Output height and width for an `in_h × in_w` input, or an error when it would be empty,
    /// when the description is invalid (see the type's docs) or when `in_h` or `in_w` exceeds
    /// [`MAX_DIM`].
    pub fn output_size(&self, in_h: usize, in_w: usize) -> Result<(usize, usize), DwError> {
        self.validate()?;
        if above_max_dim(in_h) || above_max_dim(in_w) {
            return Err(DwError::Geometry(format!(
                "input {in_h}x{in_w}: height and width must be <= {MAX_DIM}"
            )));
        }
        let dim = |a: usize, input: usize, p0: usize, p1: usize| {
            let (k, s, dil) = (self.kernel[a], self.stride[a], self.dilation[a]);
            let ext = extent(k, dil)?;
            let padded = input.checked_add(p0).and_then(|v| v.checked_add(p1));
            let padded = padded.ok_or_else(|| {
                DwError::Geometry(format!(
                    "input {input} plus padding {p0} + {p1} overflows usize"
                ))
            })?;
            if padded < ext {
                return Err(DwError::Geometry(format!(
                    "input {in_h}x{in_w} with padding {:?} is smaller than the dilated {:?} kernel (dilation {:?})",
                    self.pad, self.kernel, self.dilation
                )));
            }
            Ok((padded - ext) / s + 1)
        };
        let oh = dim(0, in_h, self.pad[0], self.pad[2])?;
        let ow = dim(1, in_w, self.pad[1], self.pad[3])?;
        Ok((oh, ow))
    }
}

/// The dilated kernel extent `dilation · (k − 1) + 1` (`k >= 1`), checked.
fn extent(k: usize, dil: usize) -> Result<usize, DwError> {
    dil.checked_mul(k - 1)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| {
            DwError::Geometry(format!(
                "kernel {k} with dilation {dil}: the dilated extent overflows usize"
            ))
        })
}

/// Errors of this crate; each message names the argument and the values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DwError {
    /// Impossible geometry.
    Geometry(String),
    /// A buffer of the wrong length or type.
    Buffer(String),
    /// Bad quantization parameters.
    Quant(String),
    /// The i32 accumulator could overflow.
    Overflow(String),
    /// The requested kernel (table entry) cannot run here.
    Variant(String),
}

impl fmt::Display for DwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DwError::Geometry(m) => write!(f, "depthwise geometry: {m}"),
            DwError::Buffer(m) => write!(f, "buffer: {m}"),
            DwError::Quant(m) => write!(f, "quantization: {m}"),
            DwError::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            DwError::Variant(m) => write!(f, "variant: {m}"),
        }
    }
}

impl std::error::Error for DwError {}

impl From<quant_params::QuantError> for DwError {
    fn from(e: quant_params::QuantError) -> Self {
        DwError::Quant(e.to_string())
    }
}

impl From<cpu_probe::alloc::AllocError> for DwError {
    fn from(e: cpu_probe::alloc::AllocError) -> Self {
        DwError::Buffer(e.to_string())
    }
}
