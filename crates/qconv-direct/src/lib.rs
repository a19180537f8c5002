//! # qconv-direct
//!
//! 8-bit NHWC convolution computed directly from the input through an **indirection buffer**
//! (QNNPACK style, no im2col): for every output pixel and kernel tap, the offset of the input
//! pixel it reads; taps that fall outside the image read a small buffer filled with the input zero
//! point. Indirect-GEMM ("igemm") micro-kernels walk those pointers.
//!
//! * Operands: u8 activations × u8 weights (QNNPACK), s8 × s8 (TFLite/XNNPACK), u8 × s8
//!   (ONNX Runtime/fbgemm); per-tensor or per-output-channel weight zero points and scales.
//! * Geometry: groups (incl. grouped 1x1), stride, dilation, 4-sided explicit padding, SAME
//!   (upper/lower), batch, an input pixel stride (channel slices of a bigger tensor).
//! * Outputs: requantized u8/i8 with any `quant-params` scheme and clamp, or raw i32. On a
//!   kernel with the requantization fused (`Fp32`: AVX2, AVX-512 VNNI, aarch64; `Rndnu`: aarch64)
//!   that stage, per tensor or per channel, is stored by the kernel itself (no i32 scratch pass), and 1x1 stride-1 unpadded
//!   convolutions run as a strided GEMM (the pixel stride as the row stride, no indirection).
//! * Accumulation is exact: the plan refuses weights/zero points whose worst case could leave i32.
//!
//! ## Hostile input
//!
//! Shapes and attributes may come straight from a model file. Every geometry attribute (kernel
//! sides, strides, dilations, pads, groups, channels per group, input height and width) is at
//! most [`MAX_ATTRIBUTE`] (`u32::MAX`, as XNNPACK's `uint32_t` fields), and every size derived
//! from them (dilated extents, output dims, weight, input and output lengths, the indirection
//! buffer, scratch) is computed with checked arithmetic: an overflow, or a buffer that cannot be
//! allocated, is an `Err` naming the argument and the values, in release builds as in debug
//! ones. The arithmetic is integer only (no NaN to propagate).
//!
//! ```
//! use qconv_direct::{Conv2dDesc, Input8, Output8, OutputStage, Padding, QConv2d, QConv2dConfig};
//! use quant_params::{QType, RequantScheme, Requantizer};
//!
//! // 3x3 conv, 2 -> 1 channels, padding 1, u8 activations (zero point 128) x s8 weights.
//! let desc = Conv2dDesc::square(3, 1, Padding::uniform(1), 1, 2, 1);
//! let weights = vec![1i8; 9 * 2];
//! let requant = Requantizer::new(RequantScheme::Fp32, 0.25, 128, QType::U8)?;
//! let plan = QConv2d::new(QConv2dConfig {
//!     desc,
//!     input_type: QType::U8,
//!     input_zero_point: 128,
//!     weights: Input8::I8(&weights),
//!     weight_zero_points: &[0],
//!     bias: None,
//!     output: OutputStage::PerTensor(requant),
//!     kernel: None,
//! })?;
//! let input = vec![130u8; 4 * 4 * 2]; // 4x4 image, every value +2 from the zero point
//! let mut out = vec![0u8; 4 * 4];
//! plan.run(Input8::U8(&input), 1, 4, 4, 2, Output8::U8(&mut out), &cpu_probe::parallel::Parallel::single())?;
//! // Interior pixels see 9 taps x 2 channels x (+2) = 36, x 0.25 = 9, + 128.
//! assert_eq!(out[5], 137);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod driver;
pub mod reference;

use driver::Indirection;
pub use qgemm::{pack, ukernel, Kernel, Kernels, IGEMM};
pub use quant_params::int8::{Input8, Output8, OutputStage};
use quant_params::{QType, StagePlan};
use std::fmt;
use std::sync::Mutex;

/// Geometry of a 2-D convolution over an NHWC tensor (legacy helper for the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Padding: top, left, bottom, right.
    pub pad: [usize; 4],
}

impl ConvGeometry {
    /// Output height, or `None` if the padded input is smaller than the dilated kernel, a
    /// stride/dilation is 0 or a size overflows `usize`.
    pub fn out_h(&self) -> Option<usize> {
        out_dim(
            self.in_h,
            self.k_h,
            self.stride_h,
            self.dilation_h,
            self.pad[0].checked_add(self.pad[2])?,
        )
    }

    /// Output width (see [`ConvGeometry::out_h`]).
    pub fn out_w(&self) -> Option<usize> {
        out_dim(
            self.in_w,
            self.k_w,
            self.stride_w,
            self.dilation_w,
            self.pad[1].checked_add(self.pad[3])?,
        )
    }
}

/// `(input + pad − extent) / stride + 1`, checked (`None` on overflow or an empty output).
fn out_dim(input: usize, k: usize, stride: usize, dilation: usize, pad: usize) -> Option<usize> {
    if k == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let extent = dilation.checked_mul(k - 1)?.checked_add(1)?;
    let padded = input.checked_add(pad)?;
    (padded >= extent).then(|| (padded - extent) / stride + 1)
}

/// The largest value of each geometry attribute ([`Conv2dDesc`]'s kernel sides, strides,
/// dilations, pads, groups and channels per group; the input height and width of
/// [`QConv2d::run`]): `u32::MAX`, as XNNPACK's `uint32_t` fields. Larger values are an error.
pub const MAX_ATTRIBUTE: usize = u32::MAX as usize;

fn geometry_err(m: String) -> ConvError {
    ConvError::Geometry(m)
}

/// `Err` unless `v <= MAX_ATTRIBUTE` (never an error on 32-bit targets, where
/// [`MAX_ATTRIBUTE`] is `usize::MAX`: hence the allow of clippy's `absurd_extreme_comparisons`
/// there).
#[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
fn check_attribute(name: &str, v: usize) -> Result<(), ConvError> {
    if v > MAX_ATTRIBUTE {
        return Err(geometry_err(format!(
            "{name} {v} exceeds the limit {MAX_ATTRIBUTE} (u32::MAX)"
        )));
    }
    Ok(())
}

/// `a · b`, or an error naming both factors.
pub(crate) fn mul(
    what: &str,
    (an, a): (&str, usize),
    (bn, b): (&str, usize),
) -> Result<usize, ConvError> {
    a.checked_mul(b)
        .ok_or_else(|| geometry_err(format!("{what}: {an} {a} times {bn} {b} overflows usize")))
}

/// `a + b`, or an error naming both terms.
pub(crate) fn add(
    what: &str,
    (an, a): (&str, usize),
    (bn, b): (&str, usize),
) -> Result<usize, ConvError> {
    a.checked_add(b)
        .ok_or_else(|| geometry_err(format!("{what}: {an} {a} plus {bn} {b} overflows usize")))
}

/// An empty vector with room for `len` elements, allocated fallibly (an error names `what`).
pub(crate) fn try_with_capacity<T>(what: &str, len: usize) -> Result<Vec<T>, ConvError> {
    cpu_probe::alloc::try_with_capacity(len, what).map_err(|e| ConvError::Buffer(e.to_string()))
}

/// A vector of `len` copies of `v`, allocated fallibly.
fn try_filled<T: Clone>(what: &str, len: usize, v: T) -> Result<Vec<T>, ConvError> {
    let mut x = try_with_capacity(what, len)?;
    x.resize(len, v);
    Ok(x)
}

/// A copy of `s`, allocated fallibly.
fn try_copied<T: Clone>(what: &str, s: &[T]) -> Result<Vec<T>, ConvError> {
    let mut x = try_with_capacity(what, s.len())?;
    x.extend_from_slice(s);
    Ok(x)
}

/// Grows `v` to at least `len` elements of `value` (never shrinks), fallibly.
pub(crate) fn try_grow<T: Clone>(v: &mut Vec<T>, len: usize, value: T) -> bool {
    if v.len() < len {
        if v.try_reserve_exact(len - v.len()).is_err() {
            return false;
        }
        v.resize(len, value);
    }
    true
}

/// Padding of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Explicit padding: top, left, bottom, right.
    Explicit([usize; 4]),
    /// TensorFlow/ONNX `SAME_UPPER`: output = ceil(input / stride), odd extra padding at the end.
    SameUpper,
    /// ONNX `SAME_LOWER`: as `SameUpper`, odd extra padding at the start.
    SameLower,
}

impl Padding {
    /// The same padding `p` on all four sides.
    pub fn uniform(p: usize) -> Padding {
        Padding::Explicit([p; 4])
    }
}

/// Shape of a grouped 2-D convolution (input size is given per run).
///
/// The fields are public and unchecked; [`QConv2d::new`] (and [`Conv2dDesc::output_size`],
/// [`Conv2dDesc::pads_for`]) validate them: each attribute is at most [`MAX_ATTRIBUTE`]
/// (`u32::MAX`), kernel sides, strides, dilations, groups and channel counts are at least 1,
/// each explicit pad is smaller than the dilated kernel extent of its axis, and the weight size
/// `groups · cout_per_group · kh · kw · cin_per_group` fits `usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dDesc {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride (height, width).
    pub stride: [usize; 2],
    /// Dilation (height, width).
    pub dilation: [usize; 2],
    /// Padding.
    pub padding: Padding,
    /// Groups.
    pub groups: usize,
    /// Input channels per group.
    pub cin_per_group: usize,
    /// Output channels per group.
    pub cout_per_group: usize,
}

impl Conv2dDesc {
    /// A square kernel `k`, equal strides `s`, no dilation.
    pub fn square(
        k: usize,
        s: usize,
        padding: Padding,
        groups: usize,
        cin_per_group: usize,
        cout_per_group: usize,
    ) -> Conv2dDesc {
        Conv2dDesc {
            kernel: [k, k],
            stride: [s, s],
            dilation: [1, 1],
            padding,
            groups,
            cin_per_group,
            cout_per_group,
        }
    }

    /// Kernel taps (`kh · kw`), saturating at `usize::MAX` (a description that
    /// [`QConv2d::new`] accepts never saturates).
    pub fn taps(&self) -> usize {
        self.kernel[0].saturating_mul(self.kernel[1])
    }

    /// Total output channels (`groups · cout_per_group`), saturating as [`Conv2dDesc::taps`].
    pub fn cout(&self) -> usize {
        self.groups.saturating_mul(self.cout_per_group)
    }

    /// Total input channels (`groups · cin_per_group`), saturating as [`Conv2dDesc::taps`].
    pub fn cin(&self) -> usize {
        self.groups.saturating_mul(self.cin_per_group)
    }

    /// Explicit padding `[top, left, bottom, right]` for an input of `in_h × in_w`, or an error
    /// if the description or the input size is invalid (see [`Conv2dDesc::output_size`]).
    pub fn pads_for(&self, in_h: usize, in_w: usize) -> Result<[usize; 4], ConvError> {
        let dims = self.validate()?;
        Ok(self.spatial(&dims, in_h, in_w)?.pads)
    }

    /// Output height and width for an input of `in_h × in_w`, or an error naming the problem:
    /// an invalid description, an input side above [`MAX_ATTRIBUTE`], a size that overflows
    /// `usize`, or an empty output.
    pub fn output_size(&self, in_h: usize, in_w: usize) -> Result<(usize, usize), ConvError> {
        let dims = self.validate()?;
        let s = self.spatial(&dims, in_h, in_w)?;
        Ok((s.oh, s.ow))
    }

    /// Pads and output size for an input of `in_h × in_w` (the description validated as
    /// `dims`). Proves for the indirection buffer: `(o − 1) · stride + (k − 1) · dilation <
    /// in + pad_before + pad_after`, all in `usize`.
    fn spatial(&self, dims: &Dims, in_h: usize, in_w: usize) -> Result<Spatial, ConvError> {
        check_attribute("input height", in_h)?;
        check_attribute("input width", in_w)?;
        let same = |axis: &str, input: usize, i: usize| -> Result<usize, ConvError> {
            // Output ceil(input / stride); total padding so that the last window ends at the
            // padded input's end. (ceil(input / s) − 1) · s <= input − 1, so only the extent
            // can overflow.
            let s = self.stride[i];
            let span = input.div_ceil(s).saturating_sub(1) * s;
            let need = add(
                &format!("SAME padding of the input {axis}"),
                ("window start", span),
                ("dilated kernel extent", dims.extent[i]),
            )?;
            Ok(need.saturating_sub(input))
        };
        let pads = match self.padding {
            Padding::Explicit(p) => p,
            Padding::SameUpper | Padding::SameLower => {
                let th = same("height", in_h, 0)?;
                let tw = same("width", in_w, 1)?;
                if self.padding == Padding::SameUpper {
                    [th / 2, tw / 2, th - th / 2, tw - tw / 2]
                } else {
                    [th - th / 2, tw - tw / 2, th / 2, tw / 2]
                }
            }
        };
        let mut out = [0usize; 2];
        for (i, (axis, input)) in [("height", in_h), ("width", in_w)].into_iter().enumerate() {
            let what = format!("padded input {axis}");
            let padded = add(
                &what,
                ("input", input),
                (
                    "padding",
                    add(&what, ("pad", pads[i]), ("pad", pads[i + 2]))?,
                ),
            )?;
            if padded < dims.extent[i] {
                return Err(geometry_err(format!(
                    "input {in_h}x{in_w} with padding {pads:?} is smaller than the dilated {}x{} kernel (dilation {:?}): the output would be empty",
                    self.kernel[0], self.kernel[1], self.dilation
                )));
            }
            out[i] = (padded - dims.extent[i]) / self.stride[i] + 1;
        }
        Ok(Spatial {
            pads,
            oh: out[0],
            ow: out[1],
        })
    }

    /// Checks the description (see the type's docs) and derives its sizes, all checked.
    fn validate(&self) -> Result<Dims, ConvError> {
        let bad = |m: String| Err(geometry_err(m));
        for (name, v) in [
            ("kernel height", self.kernel[0]),
            ("kernel width", self.kernel[1]),
            ("stride height", self.stride[0]),
            ("stride width", self.stride[1]),
            ("dilation height", self.dilation[0]),
            ("dilation width", self.dilation[1]),
            ("groups", self.groups),
            ("input channels per group", self.cin_per_group),
            ("output channels per group", self.cout_per_group),
        ] {
            check_attribute(name, v)?;
        }
        if let Padding::Explicit(p) = self.padding {
            for (side, v) in ["top", "left", "bottom", "right"].iter().zip(p) {
                check_attribute(&format!("{side} padding"), v)?;
            }
        }
        if self.kernel.contains(&0) {
            return bad(format!("kernel size {:?} has a zero side", self.kernel));
        }
        if self.stride.contains(&0) {
            return bad(format!("stride {:?} must be >= 1", self.stride));
        }
        if self.dilation.contains(&0) {
            return bad(format!("dilation {:?} must be >= 1", self.dilation));
        }
        if self.groups == 0 || self.cin_per_group == 0 || self.cout_per_group == 0 {
            return bad(format!(
                "groups ({}), input channels per group ({}) and output channels per group ({}) must be >= 1",
                self.groups, self.cin_per_group, self.cout_per_group
            ));
        }
        let mut extent = [0usize; 2];
        for (i, axis) in ["height", "width"].into_iter().enumerate() {
            let what = format!("dilated kernel {axis}");
            let span = mul(
                &what,
                ("dilation", self.dilation[i]),
                ("kernel side − 1", self.kernel[i] - 1),
            )?;
            extent[i] = add(&what, ("span", span), ("one", 1))?;
        }
        if let Padding::Explicit(p) = self.padding {
            for (i, side) in ["top", "left", "bottom", "right"].iter().enumerate() {
                if p[i] >= extent[i % 2] {
                    return bad(format!(
                        "{side} padding {} is not smaller than the dilated kernel extent {}: some outputs would see only padding",
                        p[i], extent[i % 2]
                    ));
                }
            }
        }
        let taps = mul(
            "kernel taps",
            ("kernel height", self.kernel[0]),
            ("kernel width", self.kernel[1]),
        )?;
        let cin = mul(
            "input channels",
            ("groups", self.groups),
            ("input channels per group", self.cin_per_group),
        )?;
        let cout = mul(
            "output channels",
            ("groups", self.groups),
            ("output channels per group", self.cout_per_group),
        )?;
        let k_total = mul(
            "weights per output channel",
            ("taps", taps),
            ("input channels per group", self.cin_per_group),
        )?;
        let weights = mul(
            "weight size",
            ("output channels", cout),
            ("taps x input channels per group", k_total),
        )?;
        Ok(Dims {
            taps,
            cin,
            cout,
            k_total,
            weights,
            extent,
        })
    }
}

/// Sizes derived from a validated [`Conv2dDesc`] (each computed checked).
#[derive(Clone, Copy, Debug)]
struct Dims {
    taps: usize,
    cin: usize,
    cout: usize,
    /// `taps · cin_per_group`.
    k_total: usize,
    /// `cout · k_total`.
    weights: usize,
    /// Dilated kernel extent per axis: `dilation · (k − 1) + 1`.
    extent: [usize; 2],
}

/// Pads and output size for one input size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spatial {
    pads: [usize; 4],
    oh: usize,
    ow: usize,
}

/// The gathered-rows form (see [`QConv2d::kernel`]) is taken for convolutions of one group with
/// at most this many input channels per tap...
const GATHER_MAX_CIN: usize = 7;
/// ...and at most this many channels over all taps (`kh · kw · cin`).
const GATHER_MAX_K: usize = 128;

/// Everything a plan needs.
#[derive(Clone, Debug)]
pub struct QConv2dConfig<'a> {
    /// Geometry.
    pub desc: Conv2dDesc,
    /// Activation type.
    pub input_type: QType,
    /// Activation zero point.
    pub input_zero_point: i32,
    /// Weights, OHWI: `cout × kh × kw × cin_per_group`.
    pub weights: Input8<'a>,
    /// Weight zero points: one (per tensor) or one per output channel.
    pub weight_zero_points: &'a [i32],
    /// Optional i32 bias per output channel.
    pub bias: Option<&'a [i32]>,
    /// Output stage.
    pub output: OutputStage,
    /// Force a micro-kernel: an entry of [`IGEMM`] (e.g. `IGEMM.by_name("igemm_4x8c4__avx2")`;
    /// `None`: the best available).
    pub kernel: Option<&'static Kernel>,
}

/// Errors of this crate; each message names the argument and the values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConvError {
    /// Impossible geometry.
    Geometry(String),
    /// A buffer of the wrong length.
    Buffer(String),
    /// Bad quantization parameters.
    Quant(String),
    /// The i32 accumulator could overflow for these weights and zero points.
    Overflow(String),
    /// The forced micro-kernel (an [`IGEMM`] entry) cannot run on this CPU.
    Kernel(String),
}

impl fmt::Display for ConvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvError::Geometry(m) => write!(f, "convolution geometry: {m}"),
            ConvError::Buffer(m) => write!(f, "buffer: {m}"),
            ConvError::Quant(m) => write!(f, "quantization: {m}"),
            ConvError::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            ConvError::Kernel(m) => write!(f, "kernel: {m}"),
        }
    }
}

impl std::error::Error for ConvError {}

impl From<quant_params::QuantError> for ConvError {
    fn from(e: quant_params::QuantError) -> Self {
        ConvError::Quant(e.to_string())
    }
}

/// A qgemm error (from the shared packing and exactness helpers) as this crate's.
fn from_gemm(e: qgemm::GemmError) -> ConvError {
    match e {
        qgemm::GemmError::Overflow(m) => ConvError::Overflow(m),
        qgemm::GemmError::Shape(m) => ConvError::Geometry(m),
        qgemm::GemmError::Kernel(m) => ConvError::Kernel(m),
        qgemm::GemmError::Quant(m) => ConvError::Quant(m),
        other => ConvError::Quant(other.to_string()),
    }
}

/// A planned 8-bit convolution: weights packed once, reusable across calls and threads.
pub struct QConv2d {
    desc: Conv2dDesc,
    input_type: QType,
    /// The table entry chosen at plan time.
    entry: &'static Kernel,
    /// Its kernels (a copy, for the driver).
    kernel: Kernels,
    packed: pack::PackedWeights,
    stage: StagePlan,
    /// A per-tensor `Fp32` stage the kernel fuses into its store (no i32 scratch pass); a
    /// per-channel one is made in `run`, borrowing the stage's scales.
    fused: Option<ukernel::Fp32Requant<'static>>,
    /// The description's sizes, validated.
    dims: Dims,
    a_xor: u8,
    zero_row: Vec<u8>,
    indirection: Mutex<Option<std::sync::Arc<Indirection>>>,
    /// `Some(kp)`: the kernel runs one tap of `kp` channels over rows gathered per tile
    /// (`taps · cin` input bytes, then padding), packed as such; `None`: the taps directly.
    gather: Option<usize>,
}

impl fmt::Debug for QConv2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QConv2d")
            .field("desc", &self.desc)
            .field("kernel", &self.entry.name)
            .finish()
    }
}

impl QConv2d {
    /// Validates (geometry first, before anything is allocated; see [`Conv2dDesc`] and the
    /// crate docs), checks the accumulator bound and packs the weights.
    pub fn new(cfg: QConv2dConfig<'_>) -> Result<QConv2d, ConvError> {
        let d = cfg.desc;
        let dims = d.validate()?;
        let (cout, taps) = (dims.cout, dims.taps);
        if cfg.weights.len() != dims.weights {
            return Err(ConvError::Buffer(format!(
                "weights have {} elements but OHWI {}x{}x{}x{} needs {}",
                cfg.weights.len(),
                cout,
                d.kernel[0],
                d.kernel[1],
                d.cin_per_group,
                dims.weights
            )));
        }
        cfg.input_type
            .check_zero_point("input zero point", cfg.input_zero_point)?;
        let wtype = cfg.weights.qtype();
        let zw: Vec<i32> = match cfg.weight_zero_points.len() {
            1 => try_filled("weight zero points", cout, cfg.weight_zero_points[0])?,
            n if n == cout => try_copied("weight zero points", cfg.weight_zero_points)?,
            n => {
                return Err(ConvError::Quant(format!(
                    "{n} weight zero points given; need 1 or one per output channel ({cout})"
                )))
            }
        };
        for (c, &z) in zw.iter().enumerate() {
            wtype.check_zero_point(&format!("weight zero point of channel {c}"), z)?;
        }
        let bias: Vec<i32> = match cfg.bias {
            None => try_filled("bias", cout, 0)?,
            Some(b) if b.len() == cout => try_copied("bias", b)?,
            Some(b) => {
                return Err(ConvError::Buffer(format!(
                    "bias has {} elements but there are {cout} output channels",
                    b.len()
                )))
            }
        };
        // Operand domain (see qgemm::pack) and the exactness bound.
        let (a_xor, za_prime) =
            qgemm::activation_domain(cfg.input_type, cfg.input_zero_point).map_err(from_gemm)?;
        let (w_prime, zw_prime) = qgemm::weight_domain(cfg.weights, &zw).map_err(from_gemm)?;
        qgemm::check_accumulator(
            cfg.input_type,
            cfg.input_zero_point,
            &w_prime,
            &zw_prime,
            &bias,
            dims.k_total,
        )
        .map_err(from_gemm)?;
        // Few channels per tap (a first layer: 3 input channels): gather each tile's rows of
        // taps · cin bytes and run them as one GEMM tap (see `QConv2d::gathered_rows`). On
        // aarch64 only, where it was measured (QEMU counts: 0.68-0.95x of XNNPACK on MV1-conv0,
        // 2.7-4.9x before); on x86_64 the AVX2 kernels read the taps directly faster (Zen 3:
        // 463 µs direct vs 490 µs gathered on MV1-conv0) and the AVX-512 ones are unmeasured.
        let gather = cfg!(target_arch = "aarch64")
            && d.groups == 1
            && taps > 1
            && d.cin_per_group <= GATHER_MAX_CIN
            && dims.k_total <= GATHER_MAX_K
            && zw_prime.iter().all(|&z| z == 0);
        let (ktaps, kc) = if gather {
            (1, dims.k_total)
        } else {
            (taps, d.cin_per_group)
        };
        let entry = ukernel::choose(cfg.kernel, ktaps, kc, &w_prime)
            .map_err(|e| ConvError::Kernel(e.to_string()))?;
        let kernel = entry.kernels;
        // Gathered rows are padded to whole k-groups of the kernel (4, 8 or 16 channels), the
        // weights with zeros.
        let gather = gather.then(|| {
            let step = kernel.kr.max(4);
            dims.k_total.div_ceil(step) * step
        });
        // The per-thread pointer scratch of one tile: taps · MR.
        mul(
            "indirection pointers per tile",
            ("taps", taps),
            ("MR", kernel.mr),
        )?;
        let packed = match gather {
            Some(kp) => {
                // w'[co][t][c] is w'[co][t · cin + c]: each output channel's K weights, then
                // kp − K zeros.
                let k = dims.k_total;
                let mut wp: Vec<i8> = try_filled(
                    "gathered weights",
                    mul("gathered weights", ("cout", cout), ("kp", kp))?,
                    0,
                )?;
                for (dst, src) in wp.chunks_exact_mut(kp).zip(w_prime.chunks_exact(k)) {
                    dst[..k].copy_from_slice(src);
                }
                pack::pack_kernel(&kernel, 1, kp, cout, 1, &wp, &zw_prime, za_prime, &bias)
            }
            None => pack::pack_kernel(
                &kernel,
                taps,
                d.cin_per_group,
                d.cout_per_group,
                d.groups,
                &w_prime,
                &zw_prime,
                za_prime,
                &bias,
            ),
        }
        .map_err(from_gemm)?;
        let fused = match &cfg.output {
            OutputStage::PerTensor(r) if !packed.needs_row_sums() => kernel.fused(r),
            _ => None,
        };
        let stage = cfg.output.plan(cout)?;
        let zero_byte = match cfg.input_type {
            QType::U8 => cfg.input_zero_point as u8,
            QType::I8 => cfg.input_zero_point as i8 as u8,
        };
        Ok(QConv2d {
            desc: d,
            input_type: cfg.input_type,
            entry,
            kernel,
            packed,
            stage,
            fused,
            dims,
            a_xor,
            zero_row: try_filled("zero-point row", d.cin_per_group, zero_byte)?,
            indirection: Mutex::new(None),
            gather,
        })
    }

    /// The micro-kernel this plan runs: its [`IGEMM`] entry (`kernel().name` is the function's
    /// name).
    pub fn kernel(&self) -> &'static Kernel {
        self.entry
    }

    /// The geometry.
    pub fn desc(&self) -> &Conv2dDesc {
        &self.desc
    }

    /// `Some(kp)` when the plan runs its kernel over gathered rows (aarch64): one group, at
    /// most 7 input channels per tap and at most 128 over all taps, weight zero points 0 (a
    /// first layer on RGB, `3×3×3`). Each tile's MR rows of `taps · cin` input bytes (padding taps: the zero
    /// point) are copied into a per-thread buffer of `kp` bytes per row (`taps · cin` rounded
    /// up to the kernel's k-group) and the kernel runs them as one tap of `kp` channels, the
    /// weights packed likewise: per-tap overhead and the padding of each tap's channels to a
    /// k-group are gone. `None`: the kernel reads the taps through the indirection buffer.
    pub fn gathered_rows(&self) -> Option<usize> {
        self.gather
    }
}
