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
//!   kernel with the `Fp32` requantization fused (AVX-512 VNNI) that stage, per tensor or per
//!   channel, is stored by the kernel itself (no i32 scratch pass), and 1x1 stride-1 unpadded
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
//! use qconv_direct::{Conv2dDesc, Input8, Output, OutputStage, Padding, QConv2d, QConv2dConfig};
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
//!     variant: None,
//! })?;
//! let input = vec![130u8; 4 * 4 * 2]; // 4x4 image, every value +2 from the zero point
//! let mut out = vec![0u8; 4 * 4];
//! plan.run(Input8::U8(&input), 1, 4, 4, 2, Output::U8(&mut out), &cpu_probe::parallel::Parallel::single())?;
//! // Interior pixels see 9 taps x 2 channels x (+2) = 36, x 0.25 = 9, + 128.
//! assert_eq!(out[5], 137);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod reference;

use cpu_probe::parallel::Parallel;
pub use qgemm::{pack, ukernel, Input8, Kernel, Variant};
use quant_params::{PerChannelRequantizer, QType, RequantPlan, Requantizer};
use std::cell::RefCell;
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

/// `Err` unless `v <= MAX_ATTRIBUTE`.
fn check_attribute(name: &str, v: usize) -> Result<(), ConvError> {
    if v > MAX_ATTRIBUTE {
        return Err(geometry_err(format!(
            "{name} {v} exceeds the limit {MAX_ATTRIBUTE} (u32::MAX)"
        )));
    }
    Ok(())
}

/// `a · b`, or an error naming both factors.
fn mul(what: &str, (an, a): (&str, usize), (bn, b): (&str, usize)) -> Result<usize, ConvError> {
    a.checked_mul(b)
        .ok_or_else(|| geometry_err(format!("{what}: {an} {a} times {bn} {b} overflows usize")))
}

/// `a + b`, or an error naming both terms.
fn add(what: &str, (an, a): (&str, usize), (bn, b): (&str, usize)) -> Result<usize, ConvError> {
    a.checked_add(b)
        .ok_or_else(|| geometry_err(format!("{what}: {an} {a} plus {bn} {b} overflows usize")))
}

/// An empty vector with room for `len` elements, allocated fallibly (an error names `what`).
fn try_with_capacity<T>(what: &str, len: usize) -> Result<Vec<T>, ConvError> {
    let mut x = Vec::new();
    x.try_reserve_exact(len).map_err(|_| {
        ConvError::Buffer(format!(
            "{what}: {len} elements of {} bytes cannot be allocated",
            std::mem::size_of::<T>()
        ))
    })?;
    Ok(x)
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
fn try_grow<T: Clone>(v: &mut Vec<T>, len: usize, value: T) -> bool {
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
struct Spatial {
    pads: [usize; 4],
    oh: usize,
    ow: usize,
}

/// Output buffer of a convolution (NHWC, dense: pixel stride = output channels).
#[derive(Debug)]
pub enum Output<'a> {
    /// Requantized u8.
    U8(&'a mut [u8]),
    /// Requantized i8.
    I8(&'a mut [i8]),
    /// Raw i32 accumulators (bias and zero points applied, no requantization).
    I32(&'a mut [i32]),
}

/// What happens to the i32 accumulators.
#[derive(Clone, Debug)]
pub enum OutputStage {
    /// One requantizer for every output channel.
    PerTensor(Requantizer),
    /// One requantizer per output channel (per-channel weight scales).
    PerChannel(PerChannelRequantizer),
    /// Keep raw i32.
    RawI32,
}

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
    /// Force a micro-kernel variant (`None`: the best available).
    pub variant: Option<Variant>,
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
    /// The requested variant cannot run here.
    Variant(String),
}

impl fmt::Display for ConvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvError::Geometry(m) => write!(f, "convolution geometry: {m}"),
            ConvError::Buffer(m) => write!(f, "buffer: {m}"),
            ConvError::Quant(m) => write!(f, "quantization: {m}"),
            ConvError::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            ConvError::Variant(m) => write!(f, "variant: {m}"),
        }
    }
}

impl std::error::Error for ConvError {}

impl From<quant_params::QuantError> for ConvError {
    fn from(e: quant_params::QuantError) -> Self {
        ConvError::Quant(e.to_string())
    }
}

enum Stage {
    PerTensor(RequantPlan, QType),
    PerChannel(PerChannelRequantizer, QType),
    Raw,
}

/// Indirection buffer for one input shape: per output pixel and tap, the element offset of the
/// input pixel, or [`PAD`] for taps outside the image.
struct Indirection {
    key: (usize, usize, usize, usize),
    offsets: Vec<usize>,
}

/// Marks a tap that reads the zero-point buffer (no real offset: those are below
/// `isize::MAX`, inside the input slice).
const PAD: usize = usize::MAX;

/// The i32 scratch of a task (tile pixels × output channels) is kept at most this many elements
/// (4 MiB) by shortening the tile, unless one MR-pixel block alone needs more.
const SCRATCH_CAP: usize = 1 << 20;

/// A qgemm error (from the shared packing and exactness helpers) as this crate's.
fn from_gemm(e: qgemm::GemmError) -> ConvError {
    match e {
        qgemm::GemmError::Overflow(m) => ConvError::Overflow(m),
        qgemm::GemmError::Shape(m) => ConvError::Geometry(m),
        qgemm::GemmError::Variant(m) => ConvError::Variant(m),
        qgemm::GemmError::Quant(m) => ConvError::Quant(m),
        other => ConvError::Quant(other.to_string()),
    }
}

/// A planned 8-bit convolution: weights packed once, reusable across calls and threads.
pub struct QConv2d {
    desc: Conv2dDesc,
    input_type: QType,
    kernel: Kernel,
    packed: pack::PackedWeights,
    stage: Stage,
    /// A per-tensor `Fp32` stage the kernel fuses into its store (no i32 scratch pass); a
    /// per-channel one is made in `run`, borrowing the stage's scales.
    fused: Option<ukernel::Fp32Requant<'static>>,
    /// The description's sizes, validated.
    dims: Dims,
    a_xor: u8,
    zero_row: Vec<u8>,
    indirection: Mutex<Option<std::sync::Arc<Indirection>>>,
}

impl fmt::Debug for QConv2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QConv2d")
            .field("desc", &self.desc)
            .field("kernel", &self.kernel.name)
            .finish()
    }
}

/// Per-thread scratch: tile accumulators, indirection pointers of one tile, row sums.
#[derive(Default)]
struct Scratch {
    acc: Vec<i32>,
    ptrs: Vec<*const u8>,
    row_sums: Vec<i32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

struct SyncPtr<T>(*mut T);
// SAFETY: used only to hand disjoint output ranges to parallel tasks (see `run`).
unsafe impl<T> Send for SyncPtr<T> {}
// SAFETY: as above; each task writes a range no other task touches.
unsafe impl<T> Sync for SyncPtr<T> {}

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
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let kernel = variant.kernel().ok_or_else(|| {
            ConvError::Variant(format!(
                "{variant:?} is not available on this CPU/build (available: {:?})",
                Variant::available()
            ))
        })?;
        // The per-thread pointer scratch of one tile: taps · MR.
        mul(
            "indirection pointers per tile",
            ("taps", taps),
            ("MR", kernel.mr),
        )?;
        let packed = pack::pack_kernel(
            &kernel,
            taps,
            d.cin_per_group,
            d.cout_per_group,
            d.groups,
            &w_prime,
            &zw_prime,
            za_prime,
            &bias,
        )
        .map_err(from_gemm)?;
        let fused = match &cfg.output {
            OutputStage::PerTensor(r) if kernel.run_fp32.is_some() && !packed.needs_row_sums() => {
                ukernel::Fp32Requant::from_requantizer(r)
            }
            _ => None,
        };
        let stage = match cfg.output {
            OutputStage::PerTensor(r) => Stage::PerTensor(r.plan(None)?, r.qtype()),
            OutputStage::PerChannel(p) => {
                if p.channels() != cout {
                    return Err(ConvError::Quant(format!(
                        "per-channel requantizer has {} channels but the convolution has {cout}",
                        p.channels()
                    )));
                }
                let t = p.channel(0).map(|r| r.qtype()).unwrap_or(QType::U8);
                Stage::PerChannel(p, t)
            }
            OutputStage::RawI32 => Stage::Raw,
        };
        let zero_byte = match cfg.input_type {
            QType::U8 => cfg.input_zero_point as u8,
            QType::I8 => cfg.input_zero_point as i8 as u8,
        };
        Ok(QConv2d {
            desc: d,
            input_type: cfg.input_type,
            kernel,
            packed,
            stage,
            fused,
            dims,
            a_xor,
            zero_row: try_filled("zero-point row", d.cin_per_group, zero_byte)?,
            indirection: Mutex::new(None),
        })
    }

    /// The micro-kernel this plan runs.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The geometry.
    pub fn desc(&self) -> &Conv2dDesc {
        &self.desc
    }

    /// The indirection buffer for `batch` images of `in_h × in_w` (`sp`: their pads and output
    /// size) with pixel stride `px`: `pixels · taps` offsets (`pixels = batch · oh · ow`, checked
    /// by `run`), allocated fallibly. Every offset is at most `(batch · in_h · in_w − 1) · px`.
    fn indirection(
        &self,
        batch: usize,
        in_h: usize,
        in_w: usize,
        px: usize,
        sp: &Spatial,
        pixels: usize,
    ) -> Result<std::sync::Arc<Indirection>, ConvError> {
        let key = (batch, in_h, in_w, px);
        let mut guard = self.indirection.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ind) = guard.as_ref() {
            if ind.key == key {
                return Ok(ind.clone());
            }
        }
        let d = &self.desc;
        let len = mul(
            "indirection buffer",
            ("output pixels", pixels),
            ("taps", self.dims.taps),
        )?;
        let mut offsets: Vec<usize> = try_with_capacity("indirection buffer", len)?;
        let p = sp.pads;
        for b in 0..batch {
            for oy in 0..sp.oh {
                for ox in 0..sp.ow {
                    for ky in 0..d.kernel[0] {
                        // oy · stride + ky · dilation < in_h + pads (Conv2dDesc::spatial): no
                        // overflow; below the top pad or past the image is padding.
                        let iy = (oy * d.stride[0] + ky * d.dilation[0])
                            .checked_sub(p[0])
                            .filter(|&y| y < in_h);
                        for kx in 0..d.kernel[1] {
                            let ix = (ox * d.stride[1] + kx * d.dilation[1])
                                .checked_sub(p[1])
                                .filter(|&x| x < in_w);
                            offsets.push(match (iy, ix) {
                                // < batch · in_h · in_w pixels, each at most need_in − cin.
                                (Some(y), Some(x)) => ((b * in_h + y) * in_w + x) * px,
                                _ => PAD,
                            });
                        }
                    }
                }
            }
        }
        let ind = std::sync::Arc::new(Indirection { key, offsets });
        *guard = Some(ind.clone());
        Ok(ind)
    }

    /// Runs the convolution on `batch` NHWC images of `in_h × in_w` whose pixels are
    /// `in_pixel_stride` elements apart (>= groups · cin_per_group), writing a dense NHWC output
    /// of exactly `batch · oh · ow · cout` elements ([`Conv2dDesc::output_size`]).
    ///
    /// `in_h` and `in_w` are at most [`MAX_ATTRIBUTE`]; the input and output lengths, the
    /// indirection buffer and the per-thread scratch are computed checked and allocated
    /// fallibly: an overflow or a failed allocation is an error (the output is then
    /// unspecified).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        input: Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        in_pixel_stride: usize,
        output: Output<'_>,
        par: &Parallel,
    ) -> Result<(), ConvError> {
        let d = &self.desc;
        let dims = &self.dims;
        if input.qtype() != self.input_type {
            return Err(ConvError::Buffer(format!(
                "input is {:?} but the plan was built for {:?} activations",
                input.qtype(),
                self.input_type
            )));
        }
        let sp = d.spatial(dims, in_h, in_w)?;
        let (oh, ow) = (sp.oh, sp.ow);
        let cin = dims.cin;
        if in_pixel_stride < cin {
            return Err(ConvError::Buffer(format!(
                "input pixel stride {in_pixel_stride} is smaller than the {cin} input channels"
            )));
        }
        let pixels_in = mul(
            "input pixels",
            ("batch", batch),
            (
                "input height x width",
                mul(
                    "input pixels",
                    ("input height", in_h),
                    ("input width", in_w),
                )?,
            ),
        )?;
        let need_in = match pixels_in.checked_sub(1) {
            None => 0,
            Some(last) => add(
                "input length",
                (
                    "last pixel's offset",
                    mul(
                        "input length",
                        ("input pixels − 1", last),
                        ("input pixel stride", in_pixel_stride),
                    )?,
                ),
                ("input channels", cin),
            )?,
        };
        if input.len() < need_in {
            return Err(ConvError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w} pixels with stride {in_pixel_stride} need {need_in}",
                input.len()
            )));
        }
        let cout = dims.cout;
        let pixels = mul(
            "output pixels",
            ("batch", batch),
            (
                "output height x width",
                mul("output pixels", ("output height", oh), ("output width", ow))?,
            ),
        )?;
        let out_len = mul(
            "output length",
            ("output pixels", pixels),
            ("output channels", cout),
        )?;
        let (out_ptr, out_kind, got_len): (SyncPtr<u8>, u8, usize) = match output {
            Output::U8(o) => (SyncPtr(o.as_mut_ptr()), 0, o.len()),
            Output::I8(o) => (SyncPtr(o.as_mut_ptr().cast()), 1, o.len()),
            Output::I32(o) => (SyncPtr(o.as_mut_ptr().cast()), 2, o.len()),
        };
        if got_len != out_len {
            return Err(ConvError::Buffer(format!(
                "output has {got_len} elements but {batch}x{oh}x{ow}x{cout} = {out_len} are produced"
            )));
        }
        let stage_kind = match &self.stage {
            Stage::Raw => 2,
            Stage::PerTensor(_, QType::U8) | Stage::PerChannel(_, QType::U8) => 0,
            _ => 1,
        };
        if stage_kind != out_kind {
            return Err(ConvError::Buffer(format!(
                "output buffer type does not match the plan's output stage ({})",
                ["u8", "i8", "i32"][stage_kind as usize]
            )));
        }
        if pixels == 0 {
            return Ok(());
        }
        let ind = self.indirection(batch, in_h, in_w, in_pixel_stride, &sp, pixels)?;
        let bytes = input.as_bytes();
        let mr = self.kernel.mr;
        // Checked in `new`.
        let n_ptrs = dims.taps * mr;
        // Tasks of up to 8 micro-tiles: big enough to amortise the task, small enough to give
        // every thread several tasks (at least 4 per thread where the image allows); the i32
        // scratch of a task (tile · cout) at most SCRATCH_CAP unless one MR block needs more.
        let per_thread = pixels.div_ceil(par.threads().max(1).saturating_mul(4));
        let tile = (per_thread.div_ceil(mr) * mr)
            .clamp(mr, mr * 8)
            .min((SCRATCH_CAP / cout / mr * mr).max(mr));
        let acc_len = mul(
            "per-thread scratch",
            ("tile pixels", tile),
            ("output channels", cout),
        )?;
        let tiles = pixels.div_ceil(tile);
        let out_ptr = &out_ptr;
        // The first scratch allocation that fails (tasks after it skip their work).
        let failed: Mutex<Option<ConvError>> = Mutex::new(None);
        let fail = |what: &str, len: usize| {
            let mut f = failed.lock().unwrap_or_else(|e| e.into_inner());
            f.get_or_insert_with(|| {
                ConvError::Buffer(format!(
                    "per-thread scratch: {len} {what} cannot be allocated"
                ))
            });
        };
        // The fused stage: per tensor (made at plan time), or per channel (borrowing the
        // plan's scales).
        let fused = match &self.stage {
            _ if self.packed.needs_row_sums() => None,
            Stage::PerChannel(pc, _) => ukernel::Fp32Requant::from_per_channel(pc),
            _ => self.fused,
        };
        if let (Some(q), Some(f)) = (&fused, self.kernel.run_fp32) {
            // 1x1, stride 1, no padding: output pixel p reads input pixel p, a strided GEMM.
            let strided = (dims.taps == 1 && d.stride == [1, 1] && sp.pads == [0; 4])
                .then_some(self.kernel.gemm_fp32)
                .flatten();
            par.for_each(tiles, |ti| {
                let p0 = ti * tile;
                let p1 = (p0 + tile).min(pixels);
                SCRATCH.with(|s| {
                    let s = &mut *s.borrow_mut();
                    if !try_grow(&mut s.ptrs, n_ptrs, core::ptr::null()) {
                        return fail("input pointers", n_ptrs);
                    }
                    // SAFETY: tiles are disjoint pixel ranges; pixels p0..p1 × cout bytes lie
                    // inside the output (length pixels · cout, checked above), a u8 or i8
                    // buffer as the fused stage produces (stage_kind checked above).
                    unsafe {
                        self.tile_fused(
                            &ind.offsets,
                            bytes,
                            in_pixel_stride,
                            p0,
                            p1,
                            f,
                            strided,
                            q,
                            out_ptr.0.add(p0 * cout),
                            &mut s.ptrs,
                        )
                    };
                });
            });
            return failed
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .map_or(Ok(()), Err);
        }
        par.for_each(tiles, |ti| {
            let p0 = ti * tile;
            let p1 = (p0 + tile).min(pixels);
            SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                if !try_grow(&mut s.acc, acc_len, 0) {
                    return fail("accumulators", acc_len);
                }
                if !try_grow(&mut s.ptrs, n_ptrs, core::ptr::null()) {
                    return fail("input pointers", n_ptrs);
                }
                if !try_grow(&mut s.row_sums, mr, 0) {
                    return fail("row sums", mr);
                }
                self.tile(
                    &ind.offsets,
                    bytes,
                    p0,
                    p1,
                    &mut s.acc[..(p1 - p0) * cout],
                    &mut s.ptrs,
                    &mut s.row_sums,
                );
                let acc = &s.acc[..(p1 - p0) * cout];
                let range = p0 * cout..p1 * cout;
                // SAFETY: tiles are disjoint pixel ranges; `range` lies inside the output buffer
                // whose length was checked to be pixels · cout, and its element type matches
                // stage_kind (checked above).
                unsafe {
                    match &self.stage {
                        Stage::Raw => {
                            let o = std::slice::from_raw_parts_mut(
                                out_ptr.0.cast::<i32>().add(range.start),
                                range.len(),
                            );
                            o.copy_from_slice(acc);
                        }
                        Stage::PerTensor(plan, t) => {
                            let o = std::slice::from_raw_parts_mut(
                                out_ptr.0.add(range.start),
                                range.len(),
                            );
                            let _ = if *t == QType::U8 {
                                plan.run_u8(acc, o)
                            } else {
                                plan.run_i8(acc, &mut *(o as *mut [u8] as *mut [i8]))
                            };
                        }
                        Stage::PerChannel(pc, t) => {
                            let o = std::slice::from_raw_parts_mut(
                                out_ptr.0.add(range.start),
                                range.len(),
                            );
                            let _ = if *t == QType::U8 {
                                pc.requantize_rows_u8(acc, o)
                            } else {
                                pc.requantize_rows_i8(acc, &mut *(o as *mut [u8] as *mut [i8]))
                            };
                        }
                    }
                }
            });
        });
        failed
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Ok(()), Err)
    }

    /// Output pixels `p0..p1`, all channels, requantized by the kernels (`f`, and `strided`
    /// for 1x1 stride-1 unpadded convolutions) straight into `out` (pixel p0 first, `cout`
    /// bytes per pixel).
    ///
    /// # Safety
    /// `out` is writable for `(p1 − p0) · cout` bytes that no other thread accesses; `input`
    /// holds every pixel the offsets name (checked in `run`); the plan has no row sums.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_fused(
        &self,
        offsets: &[usize],
        input: &[u8],
        px: usize,
        p0: usize,
        p1: usize,
        f: ukernel::IgemmFp32Fn,
        strided: Option<ukernel::GemmFp32Fn>,
        q: &ukernel::Fp32Requant,
        out: *mut u8,
        ptrs: &mut [*const u8],
    ) {
        let d = &self.desc;
        let k = &self.kernel;
        let taps = self.dims.taps;
        let (cin_g, cout_g, cout) = (d.cin_per_group, d.cout_per_group, self.dims.cout);
        let pk = &self.packed;
        let xor = self.a_xor ^ if k.signed_a { 0x80 } else { 0 };
        let mut p = p0;
        if let Some(gf) = strided {
            // The kernel reads whole k-groups (4·kc4 bytes) of every row: full row blocks up to
            // the last one whose last pixel has them inside the input, for every group (the
            // last group's bound is the tightest). No overflow: pixel p < pixels = input pixels
            // (1x1, stride 1, unpadded), so p · px + last <= need_in + 3 (checked in `run`).
            let kc4 = cin_g.div_ceil(4);
            let last = (d.groups - 1) * cin_g + 4 * kc4;
            let mut mb = (p1 - p0) / k.mr;
            while mb > 0 && (p0 + mb * k.mr - 1) * px + last > input.len() {
                mb -= 1;
            }
            if mb > 0 {
                for g in 0..d.groups {
                    let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                    // SAFETY: pixels p0..p0 + mb·MR of the input are readable for
                    // g·cin_g + 4·kc4 bytes (above; 1x1 stride 1 unpadded: output pixel p is
                    // input pixel p, at p · px); their outputs are the caller's; the group's
                    // blocks are consecutive (block_len apart, NR biases apart), one tap,
                    // KR = 4 (every kernel with a strided entry); the kernel's ISA is the
                    // plan's.
                    unsafe {
                        gf(
                            mb,
                            cout_g,
                            pk.block_len(),
                            kc4,
                            input.as_ptr().add(p0 * px + g * cin_g),
                            px,
                            xor,
                            w_group.as_ptr(),
                            bias_group.as_ptr(),
                            &q.from_column(g * cout_g),
                            out.add(g * cout_g),
                            cout,
                        );
                    }
                }
                p += mb * k.mr;
            }
        }
        while p < p1 {
            let rows = (p1 - p).min(k.mr);
            for g in 0..d.groups {
                let goff = g * cin_g;
                let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                for m in 0..k.mr {
                    // Rows past the tile repeat its last pixel.
                    let pix = p + m.min(rows - 1);
                    for (t, &off) in offsets[pix * taps..(pix + 1) * taps].iter().enumerate() {
                        ptrs[t * k.mr + m] = if off == PAD {
                            self.zero_row.as_ptr()
                        } else {
                            // SAFETY: as in `tile`: off + goff + cin_g <= input.len().
                            unsafe { input.as_ptr().add(off + goff) }
                        };
                    }
                }
                // SAFETY: ptrs holds taps · MR pointers to cin_g readable bytes; the group's
                // blocks are consecutive with consecutive biases; the output rows p..p + rows,
                // columns g·cout_g.. are the caller's (row stride cout); the kernel's ISA is
                // the plan's.
                unsafe {
                    f(
                        rows,
                        cout_g,
                        pk.block_len(),
                        taps,
                        cin_g,
                        ptrs.as_ptr(),
                        xor,
                        w_group.as_ptr(),
                        bias_group.as_ptr(),
                        &q.from_column(g * cout_g),
                        out.add((p - p0) * cout + g * cout_g),
                        cout,
                    );
                }
            }
            p += rows;
        }
    }

    /// Accumulators (bias and zero points applied) of output pixels `p0..p1`, all channels.
    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        offsets: &[usize],
        input: &[u8],
        p0: usize,
        p1: usize,
        acc: &mut [i32],
        ptrs: &mut [*const u8],
        row_sums: &mut [i32],
    ) {
        let d = &self.desc;
        let k = &self.kernel;
        let taps = self.dims.taps;
        let cin_g = d.cin_per_group;
        let cout_g = d.cout_per_group;
        let cout = self.dims.cout;
        let pk = &self.packed;
        let mut p = p0;
        while p < p1 {
            let rows = (p1 - p).min(k.mr);
            for g in 0..d.groups {
                let goff = g * cin_g;
                let (w_group, bias_group) = pk.block_range(g, 0, pk.blocks());
                for m in 0..k.mr {
                    // Rows past the tile repeat its last pixel.
                    let pix = p + m.min(rows - 1);
                    for (t, &off) in offsets[pix * taps..(pix + 1) * taps].iter().enumerate() {
                        ptrs[t * k.mr + m] = if off == PAD {
                            self.zero_row.as_ptr()
                        } else {
                            debug_assert!(off + goff + cin_g <= input.len());
                            // SAFETY: `off` is a pixel offset of an in-image tap, at most
                            // (pixels_in − 1) · in_pixel_stride, and goff + cin_g <= cin, so
                            // off + goff + cin_g <= need_in <= input.len() (checked in `run`):
                            // the pointer and the cin_g bytes after it are inside `input`.
                            unsafe { input.as_ptr().add(off + goff) }
                        };
                    }
                }
                if pk.needs_row_sums() {
                    for (m, rs) in row_sums.iter_mut().enumerate().take(rows) {
                        let mut s = 0i32;
                        for t in 0..taps {
                            let ptr = ptrs[t * k.mr + m];
                            // SAFETY: each pointer addresses cin_g readable bytes (above).
                            let row = unsafe { std::slice::from_raw_parts(ptr, cin_g) };
                            s += row.iter().map(|&b| i32::from(b ^ self.a_xor)).sum::<i32>();
                        }
                        *rs = s;
                    }
                }
                let blocks = w_group
                    .chunks_exact(pk.block_len())
                    .zip(bias_group.chunks_exact(k.nr));
                for (b, (w, bias)) in blocks.enumerate() {
                    let nr = (cout_g - b * k.nr).min(k.nr);
                    let col0 = g * cout_g + b * k.nr;
                    let out = &mut acc[(p - p0) * cout + col0..];
                    debug_assert!(out.len() >= (rows - 1) * cout + nr);
                    // SAFETY: ptrs holds taps · MR pointers to cin_g readable bytes; the packed
                    // block has taps · kc4 · NR · 4 bytes and its bias NR values; `out` holds rows rows of stride cout
                    // with nr valid columns from col0; the kernel's ISA is available (the plan
                    // was built from Variant::available()).
                    unsafe {
                        (k.run)(
                            rows,
                            nr,
                            taps,
                            cin_g,
                            ptrs.as_ptr(),
                            self.a_xor ^ if k.signed_a { 0x80 } else { 0 },
                            w.as_ptr(),
                            bias.as_ptr(),
                            out.as_mut_ptr(),
                            cout,
                        );
                    }
                    if pk.needs_row_sums() {
                        for (m, &rs) in row_sums.iter().enumerate().take(rows) {
                            let row = &mut acc[(p - p0 + m) * cout + col0..][..nr];
                            for (x, &z) in row.iter_mut().zip(&pk.zw()[col0..col0 + nr]) {
                                *x = x.wrapping_sub(z.wrapping_mul(rs));
                            }
                        }
                    }
                }
            }
            p += rows;
        }
    }
}
