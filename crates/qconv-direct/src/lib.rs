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
    /// Output height, or `None` if the padded input is smaller than the dilated kernel or a
    /// stride/dilation is 0.
    pub fn out_h(&self) -> Option<usize> {
        out_dim(
            self.in_h,
            self.k_h,
            self.stride_h,
            self.dilation_h,
            self.pad[0] + self.pad[2],
        )
    }

    /// Output width (see [`ConvGeometry::out_h`]).
    pub fn out_w(&self) -> Option<usize> {
        out_dim(
            self.in_w,
            self.k_w,
            self.stride_w,
            self.dilation_w,
            self.pad[1] + self.pad[3],
        )
    }
}

fn out_dim(input: usize, k: usize, stride: usize, dilation: usize, pad: usize) -> Option<usize> {
    if k == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let extent = dilation * (k - 1) + 1;
    let padded = input + pad;
    (padded >= extent).then(|| (padded - extent) / stride + 1)
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

    /// Kernel taps (`kh · kw`).
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Total output channels.
    pub fn cout(&self) -> usize {
        self.groups * self.cout_per_group
    }

    /// Total input channels.
    pub fn cin(&self) -> usize {
        self.groups * self.cin_per_group
    }

    /// Explicit padding `[top, left, bottom, right]` for an input of `in_h × in_w`.
    pub fn pads_for(&self, in_h: usize, in_w: usize) -> [usize; 4] {
        let same = |input: usize, k: usize, s: usize, d: usize| {
            let out = input.div_ceil(s);
            let need = (out.saturating_sub(1)) * s + (k - 1) * d + 1;
            need.saturating_sub(input)
        };
        match self.padding {
            Padding::Explicit(p) => p,
            Padding::SameUpper | Padding::SameLower => {
                let th = same(in_h, self.kernel[0], self.stride[0], self.dilation[0]);
                let tw = same(in_w, self.kernel[1], self.stride[1], self.dilation[1]);
                if self.padding == Padding::SameUpper {
                    [th / 2, tw / 2, th - th / 2, tw - tw / 2]
                } else {
                    [th - th / 2, tw - tw / 2, th / 2, tw / 2]
                }
            }
        }
    }

    /// Output height and width for an input of `in_h × in_w`, or an error naming the problem.
    pub fn output_size(&self, in_h: usize, in_w: usize) -> Result<(usize, usize), ConvError> {
        let p = self.pads_for(in_h, in_w);
        let oh = out_dim(
            in_h,
            self.kernel[0],
            self.stride[0],
            self.dilation[0],
            p[0] + p[2],
        );
        let ow = out_dim(
            in_w,
            self.kernel[1],
            self.stride[1],
            self.dilation[1],
            p[1] + p[3],
        );
        match (oh, ow) {
            (Some(h), Some(w)) if h >= 1 && w >= 1 => Ok((h, w)),
            _ => Err(ConvError::Geometry(format!(
                "input {in_h}x{in_w} with padding {p:?} is smaller than the dilated {}x{} kernel (dilation {:?}): the output would be empty",
                self.kernel[0], self.kernel[1], self.dilation
            ))),
        }
    }

    fn validate(&self) -> Result<(), ConvError> {
        let bad = |m: String| Err(ConvError::Geometry(m));
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
        if let Padding::Explicit(p) = self.padding {
            let ext = [
                self.dilation[0] * (self.kernel[0] - 1) + 1,
                self.dilation[1] * (self.kernel[1] - 1) + 1,
            ];
            for (i, side) in ["top", "left", "bottom", "right"].iter().enumerate() {
                if p[i] >= ext[i % 2] {
                    return bad(format!(
                        "{side} padding {} is not smaller than the dilated kernel extent {}: some outputs would see only padding",
                        p[i], ext[i % 2]
                    ));
                }
            }
        }
        Ok(())
    }
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

/// Marks a tap that reads the zero-point buffer.
const PAD: usize = usize::MAX;

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
    /// Validates, checks the accumulator bound and packs the weights.
    pub fn new(cfg: QConv2dConfig<'_>) -> Result<QConv2d, ConvError> {
        let d = cfg.desc;
        d.validate()?;
        let cout = d.cout();
        let taps = d.taps();
        let k_total = taps * d.cin_per_group;
        let wlen = cout * k_total;
        if cfg.weights.len() != wlen {
            return Err(ConvError::Buffer(format!(
                "weights have {} elements but OHWI {}x{}x{}x{} needs {wlen}",
                cfg.weights.len(),
                cout,
                d.kernel[0],
                d.kernel[1],
                d.cin_per_group
            )));
        }
        cfg.input_type
            .check_zero_point("input zero point", cfg.input_zero_point)?;
        let wtype = cfg.weights.qtype();
        let zw: Vec<i32> = match cfg.weight_zero_points.len() {
            1 => vec![cfg.weight_zero_points[0]; cout],
            n if n == cout => cfg.weight_zero_points.to_vec(),
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
            None => vec![0; cout],
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(ConvError::Buffer(format!(
                    "bias has {} elements but there are {cout} output channels",
                    b.len()
                )))
            }
        };
        // Operand domain (see qgemm::pack) and the exactness bound.
        let (a_xor, za_prime) = qgemm::activation_domain(cfg.input_type, cfg.input_zero_point);
        let (w_prime, zw_prime) = qgemm::weight_domain(cfg.weights, &zw);
        qgemm::check_accumulator(
            cfg.input_type,
            cfg.input_zero_point,
            &w_prime,
            &zw_prime,
            &bias,
            k_total,
        )
        .map_err(|e| match e {
            qgemm::GemmError::Overflow(m) => ConvError::Overflow(m),
            other => ConvError::Quant(other.to_string()),
        })?;
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let kernel = variant.kernel().ok_or_else(|| {
            ConvError::Variant(format!(
                "{variant:?} is not available on this CPU/build (available: {:?})",
                Variant::available()
            ))
        })?;
        let packed = pack::pack(
            kernel.nr,
            taps,
            d.cin_per_group,
            d.cout_per_group,
            d.groups,
            &w_prime,
            &zw_prime,
            za_prime,
            &bias,
            kernel.signed_a,
        );
        let fused = match &cfg.output {
            OutputStage::PerTensor(r) if kernel.run_fp32.is_some() && !packed.needs_row_sums => {
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
            a_xor,
            zero_row: vec![zero_byte; d.cin_per_group],
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

    fn indirection(
        &self,
        batch: usize,
        in_h: usize,
        in_w: usize,
        px: usize,
    ) -> std::sync::Arc<Indirection> {
        let key = (batch, in_h, in_w, px);
        let mut guard = self.indirection.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ind) = guard.as_ref() {
            if ind.key == key {
                return ind.clone();
            }
        }
        let d = &self.desc;
        let (oh, ow) = d.output_size(in_h, in_w).unwrap_or((0, 0));
        let p = d.pads_for(in_h, in_w);
        let taps = d.taps();
        let mut offsets = Vec::with_capacity(batch * oh * ow * taps);
        for b in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..d.kernel[0] {
                        for kx in 0..d.kernel[1] {
                            let iy =
                                (oy * d.stride[0] + ky * d.dilation[0]) as isize - p[0] as isize;
                            let ix =
                                (ox * d.stride[1] + kx * d.dilation[1]) as isize - p[1] as isize;
                            if iy < 0 || ix < 0 || iy >= in_h as isize || ix >= in_w as isize {
                                offsets.push(PAD);
                            } else {
                                offsets.push(((b * in_h + iy as usize) * in_w + ix as usize) * px);
                            }
                        }
                    }
                }
            }
        }
        let ind = std::sync::Arc::new(Indirection { key, offsets });
        *guard = Some(ind.clone());
        ind
    }

    /// Runs the convolution on `batch` NHWC images of `in_h × in_w` whose pixels are
    /// `in_pixel_stride` elements apart (>= groups · cin_per_group), writing a dense NHWC output.
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
        if input.qtype() != self.input_type {
            return Err(ConvError::Buffer(format!(
                "input is {:?} but the plan was built for {:?} activations",
                input.qtype(),
                self.input_type
            )));
        }
        let (oh, ow) = d.output_size(in_h, in_w)?;
        if in_pixel_stride < d.cin() {
            return Err(ConvError::Buffer(format!(
                "input pixel stride {in_pixel_stride} is smaller than the {} input channels",
                d.cin()
            )));
        }
        let pixels_in = batch * in_h * in_w;
        let need_in = if pixels_in == 0 {
            0
        } else {
            (pixels_in - 1) * in_pixel_stride + d.cin()
        };
        if input.len() < need_in {
            return Err(ConvError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w} pixels with stride {in_pixel_stride} need {need_in}",
                input.len()
            )));
        }
        let cout = d.cout();
        let pixels = batch * oh * ow;
        let out_len = pixels * cout;
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
        let ind = self.indirection(batch, in_h, in_w, in_pixel_stride);
        let bytes = input.as_bytes();
        let mr = self.kernel.mr;
        // Tasks of up to 8 micro-tiles: big enough to amortise the task, small enough to give
        // every thread several tasks (at least 4 per thread where the image allows).
        let per_thread = pixels.div_ceil(4 * par.threads().max(1));
        let tile = (per_thread.div_ceil(mr) * mr).clamp(mr, mr * 8);
        let tiles = pixels.div_ceil(tile);
        let out_ptr = &out_ptr;
        // The fused stage: per tensor (made at plan time), or per channel (borrowing the
        // plan's scales).
        let fused = match &self.stage {
            _ if self.packed.needs_row_sums => None,
            Stage::PerChannel(pc, _) => ukernel::Fp32Requant::from_per_channel(pc),
            _ => self.fused,
        };
        if let (Some(q), Some(f)) = (&fused, self.kernel.run_fp32) {
            // 1x1, stride 1, no padding: output pixel p reads input pixel p, a strided GEMM.
            let strided = (d.taps() == 1 && d.stride == [1, 1] && d.pads_for(in_h, in_w) == [0; 4])
                .then_some(self.kernel.gemm_fp32)
                .flatten();
            par.for_each(tiles, |ti| {
                let p0 = ti * tile;
                let p1 = (p0 + tile).min(pixels);
                SCRATCH.with(|s| {
                    let s = &mut *s.borrow_mut();
                    s.ptrs.resize(self.desc.taps() * mr, core::ptr::null());
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
            return Ok(());
        }
        par.for_each(tiles, |ti| {
            let p0 = ti * tile;
            let p1 = (p0 + tile).min(pixels);
            SCRATCH.with(|s| {
                let s = &mut *s.borrow_mut();
                s.acc.resize(tile * cout, 0);
                s.ptrs.resize(self.desc.taps() * mr, core::ptr::null());
                s.row_sums.resize(mr, 0);
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
        Ok(())
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
        let taps = d.taps();
        let (cin_g, cout_g, cout) = (d.cin_per_group, d.cout_per_group, d.cout());
        let pk = &self.packed;
        let xor = self.a_xor ^ if k.signed_a { 0x80 } else { 0 };
        let mut p = p0;
        if let Some(gf) = strided {
            // The kernel reads whole k-groups (4·kc4 bytes) of every row: full row blocks up to
            // the last one whose last pixel has them inside the input, for every group (the
            // last group's bound is the tightest).
            let kc4 = cin_g.div_ceil(4);
            let last = (d.groups - 1) * cin_g + 4 * kc4;
            let mut mb = (p1 - p0) / k.mr;
            while mb > 0 && (p0 + mb * k.mr - 1) * px + last > input.len() {
                mb -= 1;
            }
            if mb > 0 {
                for g in 0..d.groups {
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
                            pk.block(g, 0).as_ptr(),
                            pk.block_bias(g, 0).as_ptr(),
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
                        pk.block(g, 0).as_ptr(),
                        pk.block_bias(g, 0).as_ptr(),
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
        let taps = d.taps();
        let cin_g = d.cin_per_group;
        let cout_g = d.cout_per_group;
        let cout = d.cout();
        let pk = &self.packed;
        let mut p = p0;
        while p < p1 {
            let rows = (p1 - p).min(k.mr);
            for g in 0..d.groups {
                let goff = g * cin_g;
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
                if pk.needs_row_sums {
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
                for b in 0..pk.blocks {
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
                            pk.block(g, b).as_ptr(),
                            pk.block_bias(g, b).as_ptr(),
                            out.as_mut_ptr(),
                            cout,
                        );
                    }
                    if pk.needs_row_sums {
                        for (m, &rs) in row_sums.iter().enumerate().take(rows) {
                            let row = &mut acc[(p - p0 + m) * cout + col0..][..nr];
                            for (x, &z) in row.iter_mut().zip(&pk.zw[col0..col0 + nr]) {
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
