//! # depthwise
//!
//! Depthwise convolution over NHWC tensors, 8-bit (exact i32 accumulation, any `quant-params`
//! requantization) and fp32, with channel multiplier, stride, dilation, 4-sided padding and batch.
//!
//! Padding costs no branch in the inner loop: every output row gets an indirection list (one
//! input-row pointer per pixel and tap, rebuilt per row without allocating), and taps outside the
//! image point at a row of zero points (int8) or zeros (fp32).
//!
//! Weights are packed once per plan in the chosen variant's layout (channel tile per ISA: 32 for
//! AVX-512, 16 for AVX2, 8 for NEON), with the bias and the `−zx · Σ w'` term folded in, so the
//! int8 inner loop only widens bytes to i16 and multiply-accumulates two taps at a time
//! (`vpdpwssd` / `vpmaddwd`, `smlal` on NEON), exact in i32. On AVX-512 VNNI, 3x3 and 5x5
//! plans with stride 1 or 2 along W, 8-bit `w'` and a per-tensor Fp32 output stage take a `vpdpbusd`
//! kernel instead: four kernel rows' bytes interleaved per channel, each input column
//! interleaved once for the pixels that share it, four taps per instruction. On aarch64 with
//! FEAT_DotProd ([`Variant::NeonDot`]) plans whose `w'` all fit s8 run an `sdot` kernel: four
//! taps' bytes of each channel zipped side by side, four taps per instruction (u8 inputs flipped
//! to s8, `128·Σw'` in the packed bias), with the per-tensor Fp32 requantization fused; 3x3
//! stride-1 (along W) plans with that output take a column-reusing 8-channel `sdot` kernel
//! (three kernel rows' bytes per channel, one new input column per pixel); plans with a 9-bit
//! `w'` run the `smlal` kernel. Kernels are specialised for 3x3
//! and 5x5 (9 and 25 taps, unrolled) with a generic loop for any other kernel size; fp32 kernels
//! compute 4 (AVX-512: 8) output pixels per iteration and apply the clamp at the store; with
//! stride 1 along W the AVX-512 fp32 kernel loads each input column once for the up to `kw`
//! pixels that use it, and its channel tiles follow the input's cache-line alignment. See
//! [`Variant`].
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
//! fp32 follows IEEE NaN propagation in every variant, with or without a fused clamp: an
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
//!     weight_zero_points: &[0], bias: None, output: OutputStage::PerTensor(r), variant: None,
//! })?;
//! let x = [130u8; 3 * 3 * 2]; // +2 everywhere
//! let mut y = [0u8; 3 * 3 * 2];
//! plan.run(Input8::U8(&x), 1, 3, 3, Output8::U8(&mut y), &cpu_probe::parallel::Parallel::single())?;
//! assert_eq!(y[8], 18); // centre pixel: 9 taps x 2
//! assert_eq!(y[0], 8);  // corner: 4 taps inside the image
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod reference;
pub mod ukernel;

use aligned_vec::{AVec, ConstAlign};
use cpu_probe::parallel::Parallel;
use quant_params::{PerChannelRequantizer, QType, RequantPlan, RequantScheme, Requantizer};
use std::cell::RefCell;
use std::fmt;
pub use ukernel::Variant;

/// Largest accepted value of every geometry attribute (kernel, stride, dilation, padding,
/// channels, multiplier, and per run batch, height and width): `u32::MAX`, as XNNPACK's
/// `uint32_t` fields.
pub const MAX_DIM: usize = u32::MAX as usize;

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
            if v.iter().any(|&x| x > MAX_DIM) {
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
        if in_h > MAX_DIM || in_w > MAX_DIM {
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

    /// Checks a run's shape against this (valid) description and derives the sizes that the
    /// run's buffers and scratch must have, all with checked arithmetic.
    fn run_geometry(&self, batch: usize, in_h: usize, in_w: usize) -> Result<RunGeom, DwError> {
        let (taps, cout) = self.validate()?;
        if batch > MAX_DIM {
            return Err(DwError::Geometry(format!(
                "batch {batch} must be <= {MAX_DIM}"
            )));
        }
        let (oh, ow) = self.output_size(in_h, in_w)?;
        let c = self.channels;
        let over = |what: String| DwError::Geometry(format!("{what} overflows usize"));
        let img_len = in_h
            .checked_mul(in_w)
            .and_then(|v| v.checked_mul(c))
            .ok_or_else(|| over(format!("input image {in_h}x{in_w}x{c}")))?;
        let in_len = batch
            .checked_mul(img_len)
            .ok_or_else(|| over(format!("input {batch}x{in_h}x{in_w}x{c}")))?;
        let out_img = oh
            .checked_mul(ow)
            .and_then(|v| v.checked_mul(cout))
            .ok_or_else(|| over(format!("output image {oh}x{ow}x{cout}")))?;
        let out_len = batch
            .checked_mul(out_img)
            .ok_or_else(|| over(format!("output {batch}x{oh}x{ow}x{cout}")))?;
        // batch · oh <= out_len (ow, cout >= 1) and ow · cout <= out_img: no overflow.
        let rows = batch * oh;
        let ind_len = ow.checked_mul(taps).ok_or_else(|| {
            over(format!(
                "indirection list of output width {ow} times {taps} taps"
            ))
        })?;
        let exp_len = if self.multiplier > 1 {
            let kh = self.kernel[0];
            kh.checked_mul(in_w)
                .and_then(|v| v.checked_mul(cout))
                .ok_or_else(|| {
                    over(format!(
                        "expanded input rows {kh}x{in_w}x{cout} (kernel height x width x output channels)"
                    ))
                })?
        } else {
            0
        };
        Ok(RunGeom {
            oh,
            ow,
            cout,
            taps,
            img_len,
            in_len,
            out_len,
            rows,
            ind_len,
            exp_len,
        })
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

/// Sizes of one run, derived with checked arithmetic by [`DwDesc::run_geometry`]; every
/// index a run computes is below one of them.
#[derive(Clone, Copy, Debug)]
struct RunGeom {
    oh: usize,
    ow: usize,
    cout: usize,
    taps: usize,
    /// `in_h · in_w · channels`.
    img_len: usize,
    /// `batch · img_len`.
    in_len: usize,
    /// `batch · oh · ow · cout`.
    out_len: usize,
    /// `batch · oh`: output rows.
    rows: usize,
    /// `ow · taps`: row pointers of one output row.
    ind_len: usize,
    /// `kh · in_w · cout` with a channel multiplier, else 0: expanded input rows.
    exp_len: usize,
}

/// A 64-byte aligned copy of `v`; a failed allocation is an error.
fn try_avec<T: Copy>(v: &[T], what: &str) -> Result<AVec<T, ConstAlign<64>>, DwError> {
    let mut a = AVec::new(64);
    a.try_reserve_exact(v.len()).map_err(|e| {
        DwError::Buffer(format!(
            "{what}: cannot allocate {} elements ({e:?})",
            v.len()
        ))
    })?;
    a.extend_from_slice(v);
    Ok(a)
}

/// `n` copies of `v`; a failed allocation is an error.
fn try_filled<T: Copy>(n: usize, v: T, what: &str) -> Result<Vec<T>, DwError> {
    let mut out = ukernel::try_vec(n, what)?;
    out.resize(n, v);
    Ok(out)
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
    /// The requested variant cannot run here.
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

/// Read-only 8-bit data.
#[derive(Clone, Copy, Debug)]
pub enum Input8<'a> {
    /// Unsigned bytes.
    U8(&'a [u8]),
    /// Signed bytes.
    I8(&'a [i8]),
}

impl Input8<'_> {
    fn qtype(&self) -> QType {
        match self {
            Input8::U8(_) => QType::U8,
            Input8::I8(_) => QType::I8,
        }
    }

    fn len(&self) -> usize {
        match self {
            Input8::U8(x) => x.len(),
            Input8::I8(x) => x.len(),
        }
    }

    fn get(&self, i: usize) -> i32 {
        match self {
            Input8::U8(x) => i32::from(x[i]),
            Input8::I8(x) => i32::from(x[i]),
        }
    }
}

/// Output of an 8-bit depthwise convolution (dense NHWC).
#[derive(Debug)]
pub enum Output8<'a> {
    /// Requantized u8.
    U8(&'a mut [u8]),
    /// Requantized i8.
    I8(&'a mut [i8]),
    /// Raw i32 accumulators (bias and zero points applied).
    I32(&'a mut [i32]),
}

/// What happens to the i32 accumulators.
#[derive(Clone, Debug)]
pub enum OutputStage {
    /// One requantizer for every channel (its clamp is the fused activation).
    PerTensor(Requantizer),
    /// One requantizer per output channel.
    PerChannel(PerChannelRequantizer),
    /// Raw i32.
    RawI32,
}

/// Everything an 8-bit plan needs.
#[derive(Clone, Debug)]
pub struct QDepthwiseConfig<'a> {
    /// Geometry.
    pub desc: DwDesc,
    /// Activation type.
    pub input_type: QType,
    /// Activation zero point.
    pub input_zero_point: i32,
    /// Weights `kh × kw × (channels · multiplier)` (HWC, as TFLite / XNNPACK).
    pub weights: Input8<'a>,
    /// Weight zero points: one or one per output channel.
    pub weight_zero_points: &'a [i32],
    /// Optional i32 bias per output channel.
    pub bias: Option<&'a [i32]>,
    /// Output stage.
    pub output: OutputStage,
    /// Force a variant (`None`: the best available).
    pub variant: Option<Variant>,
}

enum Stage {
    PerTensor(RequantPlan, QType),
    PerChannel(PerChannelRequantizer, QType),
    Raw,
}

struct SyncPtr(*mut u8);
// SAFETY: hands disjoint output rows to parallel tasks only.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

/// Per-thread scratch, reused across rows and runs (steady-state `run` does not allocate).
struct Scratch<T> {
    /// Indirection list of one output row: `ow · taps` row pointers.
    ind: Vec<*const T>,
    /// Input rows expanded to output channels (channel multiplier > 1 only).
    expanded: Vec<T>,
}

impl<T> Scratch<T> {
    const fn new() -> Self {
        Scratch {
            ind: Vec::new(),
            expanded: Vec::new(),
        }
    }

    /// Makes room for `g.ind_len` row pointers and `g.exp_len` expanded elements (so that
    /// [`row_indirection`] does not allocate); a failed allocation is an error, not an abort.
    fn reserve(&mut self, g: &RunGeom) -> Result<(), DwError> {
        let err = |what: &str, n: usize, e: std::collections::TryReserveError| {
            DwError::Buffer(format!("{what}: cannot allocate {n} elements ({e})"))
        };
        if self.ind.capacity() < g.ind_len {
            self.ind
                .try_reserve_exact(g.ind_len - self.ind.len())
                .map_err(|e| err("indirection list", g.ind_len, e))?;
        }
        if self.expanded.capacity() < g.exp_len {
            self.expanded
                .try_reserve_exact(g.exp_len - self.expanded.len())
                .map_err(|e| err("expanded input rows", g.exp_len, e))?;
        }
        Ok(())
    }
}

thread_local! {
    static SCRATCH_I8: RefCell<(Scratch<u8>, Vec<i32>)> = const { RefCell::new((Scratch::new(), Vec::new())) };
    static SCRATCH_F32: RefCell<Scratch<f32>> = const { RefCell::new(Scratch::new()) };
}

/// Fills `s.ind` with the `ow · taps` row pointers of output row `oy` of one image `img`
/// (`in_h × in_w × channels`): tap `(ky, kx)` of pixel `ox` points at input pixel
/// `(oy·sh + ky·dh − pt, ox·sw + kx·dw − pl)`, or at `zero` (a row of `cout` zero points /
/// zeros) when that pixel is padding. With a channel multiplier the needed input rows are first
/// expanded to `cout` channels (output channel `co` reads input channel `co / multiplier`).
///
/// `g` is [`DwDesc::run_geometry`] of this description and input size, `img` has `g.img_len`
/// elements and `oy < g.oh`: then `oy·sh + ky·dh` (`ky < kh`) is below the padded height and
/// `ox·sw + kx·dw` (`ox < ow`, `kx < kw`) below the padded width, which `output_size` computed
/// without overflow, so the index arithmetic below cannot overflow.
#[allow(clippy::too_many_arguments)]
fn row_indirection<T: Copy>(
    d: &DwDesc,
    g: &RunGeom,
    in_h: usize,
    in_w: usize,
    img: &[T],
    oy: usize,
    zero: &[T],
    s: &mut Scratch<T>,
) {
    let (kh, kw) = (d.kernel[0], d.kernel[1]);
    let (c, mult) = (d.channels, d.multiplier);
    let (cout, ow) = (g.cout, g.ow);
    let iy_of = |ky: usize| {
        let pos = oy * d.stride[0] + ky * d.dilation[0];
        pos.checked_sub(d.pad[0]).filter(|&iy| iy < in_h)
    };
    let (src, stride): (&[T], usize) = if mult > 1 {
        s.expanded.resize(g.exp_len, zero[0]);
        for ky in 0..kh {
            if let Some(iy) = iy_of(ky) {
                let from = &img[iy * in_w * c..(iy + 1) * in_w * c];
                let to = &mut s.expanded[ky * in_w * cout..(ky + 1) * in_w * cout];
                for (px_out, px_in) in to.chunks_exact_mut(cout).zip(from.chunks_exact(c)) {
                    for (co, v) in px_out.iter_mut().enumerate() {
                        *v = px_in[co / mult];
                    }
                }
            }
        }
        (&s.expanded, cout)
    } else {
        (img, c)
    };
    // Per tap: the pixels ox whose input column ix = ox·sw + kx·dw − pl lies inside the image
    // form one range [lo, hi); everything else reads the zero row.
    let zp = zero.as_ptr();
    s.ind.clear();
    s.ind.resize(g.ind_len, zp);
    let (sw, taps, pl) = (d.stride[1], g.taps, d.pad[1]);
    let base = src.as_ptr();
    for ky in 0..kh {
        let Some(iy) = iy_of(ky) else { continue };
        let row = if mult > 1 { ky } else { iy } * in_w * stride;
        for kx in 0..kw {
            // Pixel ox reads column ox·sw + off − pl: inside the image for
            // pl <= ox·sw + off < pl + in_w, the pixels lo..hi.
            let off = kx * d.dilation[1];
            let lo = if off >= pl {
                0
            } else {
                (pl - off).div_ceil(sw)
            };
            let end = pl + in_w;
            let hi = if off >= end {
                0
            } else {
                (end - off).div_ceil(sw).min(ow)
            };
            let t = ky * kw + kx;
            for ox in lo..hi.max(lo) {
                let ix = ox * sw + off - pl;
                // In bounds: 0 <= ix < in_w, so the pointer stays inside `src`.
                s.ind[ox * taps + t] = base.wrapping_add(row + ix * stride);
            }
        }
    }
}

/// A planned 8-bit depthwise convolution; weights packed once (with the bias and the
/// `−zx · Σ w'` term folded in). `Send + Sync`.
pub struct QDepthwise {
    desc: DwDesc,
    input_type: QType,
    packed: AVec<i32, ConstAlign<64>>,
    stage: Stage,
    variant: Variant,
    kernel: ukernel::DwI8Fn,
    /// The kernel with the per-tensor Fp32 requantization fused, when the variant has one.
    fused: Option<(ukernel::DwI8QFn, ukernel::Fp32Requant)>,
    /// The stride-1 fused kernel (8-bit weights), when the variant and geometry allow it; it
    /// then owns `packed` and takes precedence over `kernel` and `fused`.
    fused_s1: Option<(ukernel::DwI8QS1Fn, ukernel::Fp32Requant)>,
    zero_row: Vec<u8>,
}

impl fmt::Debug for QDepthwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QDepthwise")
            .field("desc", &self.desc)
            .field("variant", &self.variant)
            .finish()
    }
}

impl QDepthwise {
    /// Validates, checks the accumulator bound and packs the weights.
    pub fn new(cfg: QDepthwiseConfig<'_>) -> Result<QDepthwise, DwError> {
        let d = cfg.desc;
        let (taps, cout) = d.validate()?;
        // taps · cout fits usize: validate() checked taps and cout, and the product is checked.
        if taps.checked_mul(cout) != Some(cfg.weights.len()) {
            return Err(DwError::Buffer(format!(
                "weights have {} elements but {}x{}x{cout} are needed",
                cfg.weights.len(),
                d.kernel[0],
                d.kernel[1]
            )));
        }
        cfg.input_type
            .check_zero_point("input zero point", cfg.input_zero_point)?;
        let wtype = cfg.weights.qtype();
        // Every buffer below has at most weights.len() (= taps · cout) elements.
        let zw: Vec<i32> = match cfg.weight_zero_points.len() {
            1 => try_filled(cout, cfg.weight_zero_points[0], "weight zero points")?,
            n if n == cout => cfg.weight_zero_points.to_vec(),
            n => {
                return Err(DwError::Quant(format!(
                    "{n} weight zero points given; need 1 or {cout}"
                )))
            }
        };
        for (c, &z) in zw.iter().enumerate() {
            wtype.check_zero_point(&format!("weight zero point of channel {c}"), z)?;
        }
        let bias = match cfg.bias {
            None => try_filled(cout, 0, "bias")?,
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(DwError::Buffer(format!(
                    "bias has {} elements but {cout} are needed",
                    b.len()
                )))
            }
        };
        let mut w: Vec<i32> = ukernel::try_vec(cfg.weights.len(), "weights minus zero points")?;
        w.extend((0..cfg.weights.len()).map(|i| cfg.weights.get(i) - zw[i % cout]));
        let za = cfg.input_zero_point;
        let amax = i64::from((cfg.input_type.max() - za).max(za - cfg.input_type.min()));
        let mut folded = ukernel::try_vec(cout, "folded bias")?;
        for c in 0..cout {
            // Saturating: with billions of taps the sum could leave i64 (and then fails the
            // bound below, as it should).
            let s: i64 = (0..taps).fold(0i64, |s, t| {
                s.saturating_add(i64::from(w[t * cout + c]).abs())
            });
            let bound = amax
                .saturating_mul(s)
                .saturating_add(i64::from(bias[c]).abs());
            if bound > i64::from(i32::MAX) {
                return Err(DwError::Overflow(format!(
                    "channel {c}: the accumulator can reach {bound} > 2^31-1"
                )));
            }
            // bias − zx·Σw': the kernels then accumulate Σ x·w' (wrapping; exact mod 2^32, and
            // the true sum fits i32 by the bound above).
            let sw: i64 = (0..taps).map(|t| i64::from(w[t * cout + c])).sum();
            folded.push((i64::from(bias[c]) - i64::from(za) * sw) as i32);
        }
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let k = variant.kernels().ok_or_else(|| {
            DwError::Variant(format!(
                "{variant:?} is not available (available: {:?})",
                Variant::available()
            ))
        })?;
        let fused = match (&cfg.output, k.i8_q) {
            (OutputStage::PerTensor(r), Some((fu, fs))) if r.scheme() == RequantScheme::Fp32 => {
                let q = ukernel::Fp32Requant {
                    scale: r.scale(),
                    lo: (i64::from(r.qmin()) - i64::from(r.zero_point())) as f32,
                    hi: (i64::from(r.qmax()) - i64::from(r.zero_point())) as f32,
                    zero_point: r.zero_point(),
                    signed: r.qtype() == QType::I8,
                };
                Some((if cfg.input_type == QType::U8 { fu } else { fs }, q))
            }
            _ => None,
        };
        let s1 = match (&fused, k.i8_q_s1) {
            (Some((_, q)), Some((pack, fu, fs, sizes, strides)))
                if strides.contains(&d.stride[1])
                    && d.dilation[1] == 1
                    && sizes.contains(&d.kernel)
                    && w.iter().all(|v| (-128..=127).contains(v)) =>
            {
                let f = if cfg.input_type == QType::U8 { fu } else { fs };
                let packed = pack(
                    d.kernel[0],
                    d.kernel[1],
                    cout,
                    &w,
                    &folded,
                    cfg.input_type == QType::I8,
                );
                Some((f, *q, packed))
            }
            _ => None,
        };
        let s1 = match s1 {
            Some((f, q, packed)) => Some((f, q, packed?)),
            None => None,
        };
        let stage = match cfg.output {
            OutputStage::PerTensor(r) => Stage::PerTensor(r.plan(None)?, r.qtype()),
            OutputStage::PerChannel(p) => {
                if p.channels() != cout {
                    return Err(DwError::Quant(format!(
                        "per-channel requantizer has {} channels, need {cout}",
                        p.channels()
                    )));
                }
                let t = p.channel(0).map_or(QType::U8, |r| r.qtype());
                Stage::PerChannel(p, t)
            }
            OutputStage::RawI32 => Stage::Raw,
        };
        // Padding reads the zero point, whose contribution zx·w' the folded bias cancels.
        let (kernel, zero_byte) = match cfg.input_type {
            QType::U8 => (k.i8_u, za as u8),
            QType::I8 => (k.i8_s, za as i8 as u8),
        };
        let (packed, fused_s1) = match s1 {
            Some((f, q, p)) => (p, Some((f, q))),
            None => ((k.pack_i8)(taps, cout, &w, &folded)?, None),
        };
        Ok(QDepthwise {
            desc: d,
            input_type: cfg.input_type,
            packed: try_avec(&packed, "packed weights")?,
            stage,
            variant,
            kernel,
            fused,
            fused_s1,
            zero_row: try_filled(cout, zero_byte, "zero row")?,
        })
    }

    /// The variant this plan runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Runs on `batch` NHWC images of `in_h × in_w × channels` (dense), writing a dense NHWC
    /// output, parallel over output rows.
    ///
    /// `batch`, `in_h` and `in_w` must be at most [`MAX_DIM`]; the input and output must have
    /// exactly the elements of that shape and of the output shape ([`DwDesc::output_size`]).
    /// On an error no output was written, except when a thread's scratch cannot be allocated
    /// (then the output is partly written).
    pub fn run(
        &self,
        input: Input8<'_>,
        batch: usize,
        in_h: usize,
        in_w: usize,
        output: Output8<'_>,
        par: &Parallel,
    ) -> Result<(), DwError> {
        let d = &self.desc;
        if input.qtype() != self.input_type {
            return Err(DwError::Buffer(format!(
                "input is {:?} but the plan expects {:?}",
                input.qtype(),
                self.input_type
            )));
        }
        let g = d.run_geometry(batch, in_h, in_w)?;
        let (oh, ow, cout, out_len) = (g.oh, g.ow, g.cout, g.out_len);
        if input.len() != g.in_len {
            return Err(DwError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w}x{} = {}",
                input.len(),
                d.channels,
                g.in_len
            )));
        }
        let (ptr, kind, len) = match output {
            Output8::U8(o) => (SyncPtr(o.as_mut_ptr()), 0u8, o.len()),
            Output8::I8(o) => (SyncPtr(o.as_mut_ptr().cast()), 1, o.len()),
            Output8::I32(o) => (SyncPtr(o.as_mut_ptr().cast()), 2, o.len()),
        };
        if len != out_len {
            return Err(DwError::Buffer(format!(
                "output has {len} elements but {batch}x{oh}x{ow}x{cout} = {out_len}"
            )));
        }
        let want = match &self.stage {
            Stage::Raw => 2,
            Stage::PerTensor(_, QType::U8) | Stage::PerChannel(_, QType::U8) => 0,
            _ => 1,
        };
        if want != kind {
            return Err(DwError::Buffer(format!(
                "output buffer type does not match the output stage ({})",
                ["u8", "i8", "i32"][want as usize]
            )));
        }
        let bytes: &[u8] = match input {
            Input8::U8(x) => x,
            // SAFETY: i8 and u8 have the same size and alignment; the kernel sign-extends.
            Input8::I8(x) => unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), x.len()) },
        };
        let img_len = g.img_len;
        let ptr = &ptr;
        let taps = g.taps;
        let failed = std::sync::OnceLock::new();
        par.for_each(g.rows, |row| {
            let (b, oy) = (row / oh, row % oh);
            // b < batch: inside the input (batch · img_len = in_len elements).
            let img = &bytes[b * img_len..(b + 1) * img_len];
            SCRATCH_I8.with(|s| {
                let (s, acc) = &mut *s.borrow_mut();
                let n = ow * cout;
                let ok = s.reserve(&g).and_then(|()| {
                    acc.try_reserve_exact(n.saturating_sub(acc.len()))
                        .map_err(|e| DwError::Buffer(format!("accumulators: {n} i32 ({e})")))
                });
                if let Err(e) = ok {
                    let _ = failed.set(e);
                    return;
                }
                row_indirection(d, &g, in_h, in_w, img, oy, &self.zero_row, s);
                // row < batch · oh: start + n <= out_len.
                let start = row * n;
                if let Some((f, q)) = &self.fused_s1 {
                    // SAFETY: as below; with dilation 1 along W, row_indirection gives pixel
                    // ox + 1's tap kx the pointer of pixel ox's tap kx + sw (the same input
                    // column, or the zero row for both); the kernel size and stride are ones
                    // the variant listed; packed has this kernel's layout.
                    unsafe {
                        f(
                            ow,
                            d.kernel[1],
                            d.stride[1],
                            taps,
                            s.ind.as_ptr(),
                            self.packed.as_ptr(),
                            cout,
                            q,
                            ptr.0.add(start),
                        );
                    }
                    return;
                }
                if let Some((f, q)) = &self.fused {
                    // SAFETY: as below; the output is bytes (u8 or i8, checked above) and this
                    // row's n bytes start at `start` <= out_len - n.
                    unsafe {
                        f(
                            ow,
                            taps,
                            s.ind.as_ptr(),
                            self.packed.as_ptr(),
                            cout,
                            q,
                            ptr.0.add(start),
                        );
                    }
                    return;
                }
                let dst: *mut i32 = match self.stage {
                    // SAFETY: output rows are disjoint per task and start + n <= out_len = len
                    // i32 elements (the buffer type was checked above).
                    Stage::Raw => unsafe { ptr.0.cast::<i32>().add(start) },
                    _ => {
                        acc.resize(n, 0);
                        acc.as_mut_ptr()
                    }
                };
                // SAFETY: ind holds ow · taps pointers to cout readable bytes; packed is this
                // variant's layout for (taps, cout); dst holds ow · cout i32; the ISA is there.
                unsafe {
                    (self.kernel)(ow, taps, s.ind.as_ptr(), self.packed.as_ptr(), cout, dst);
                }
                // SAFETY: as above; the element type matches `kind` (checked above).
                unsafe {
                    match &self.stage {
                        Stage::Raw => {}
                        Stage::PerTensor(p, t) => {
                            let o = std::slice::from_raw_parts_mut(ptr.0.add(start), n);
                            let _ = if *t == QType::U8 {
                                p.run_u8(acc, o)
                            } else {
                                p.run_i8(acc, &mut *(o as *mut [u8] as *mut [i8]))
                            };
                        }
                        Stage::PerChannel(p, t) => {
                            let o = std::slice::from_raw_parts_mut(ptr.0.add(start), n);
                            let _ = if *t == QType::U8 {
                                p.requantize_rows_u8(acc, o)
                            } else {
                                p.requantize_rows_i8(acc, &mut *(o as *mut [u8] as *mut [i8]))
                            };
                        }
                    }
                }
            });
        });
        failed.into_inner().map_or(Ok(()), Err)
    }
}

/// A planned fp32 depthwise convolution with optional bias and output clamp (ReLU / ReLU6).
///
/// NaN follows IEEE arithmetic in every variant: an output whose inputs (input pixels under
/// the kernel, weights, bias; padding taps multiply zeros by the weights, so a NaN weight
/// reaches every output of its channel) include a NaN is NaN, clamp or not (`clamp(NaN) =
/// NaN`, as in ONNX Runtime and PyTorch).
pub struct Depthwise32 {
    desc: DwDesc,
    packed: AVec<f32, ConstAlign<64>>,
    clamp: (f32, f32),
    variant: Variant,
    kernel: ukernel::DwF32Fn,
    /// The stride-1 kernel, when the geometry allows it (stride and dilation 1 along W).
    kernel_s1: Option<ukernel::DwF32S1Fn>,
    /// `cout + 16` zeros, 64-byte aligned: padding taps read `cout` of them starting at the
    /// input's offset within its cache line, so they share the input's alignment (which the
    /// AVX-512 kernels tile by).
    zero_row: AVec<f32, ConstAlign<64>>,
}

impl fmt::Debug for Depthwise32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Depthwise32")
            .field("desc", &self.desc)
            .field("variant", &self.variant)
            .finish()
    }
}

impl Depthwise32 {
    /// Validates and packs: weights `kh × kw × (channels · multiplier)`, optional bias, output
    /// clamp `[lo, hi]` (use `(f32::NEG_INFINITY, f32::INFINITY)` for none, `(0, 6)` for ReLU6).
    pub fn new(
        desc: DwDesc,
        weights: &[f32],
        bias: Option<&[f32]>,
        clamp: (f32, f32),
        variant: Option<Variant>,
    ) -> Result<Depthwise32, DwError> {
        let (taps, cout) = desc.validate()?;
        if taps.checked_mul(cout) != Some(weights.len()) {
            return Err(DwError::Buffer(format!(
                "weights have {} elements but {}x{}x{cout} are needed",
                weights.len(),
                desc.kernel[0],
                desc.kernel[1]
            )));
        }
        if clamp.0.is_nan() || clamp.1.is_nan() || clamp.0 > clamp.1 {
            return Err(DwError::Quant(format!(
                "output clamp [{}, {}] must be ordered and not NaN",
                clamp.0, clamp.1
            )));
        }
        // cout <= weights.len(): these buffers are no larger than the caller's weights.
        let bias = match bias {
            None => try_filled(cout, 0.0, "bias")?,
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(DwError::Buffer(format!(
                    "bias has {} elements but {cout} are needed",
                    b.len()
                )))
            }
        };
        let variant = variant.unwrap_or_else(Variant::best);
        let k = variant
            .kernels()
            .ok_or_else(|| DwError::Variant(format!("{variant:?} is not available")))?;
        let packed = (k.pack_f32)(taps, cout, weights, &bias)?;
        let zeros = cout.checked_add(16).ok_or_else(|| {
            DwError::Geometry(format!("zero row of {cout} + 16 floats overflows usize"))
        })?;
        Ok(Depthwise32 {
            desc,
            packed: try_avec(&packed, "packed weights")?,
            clamp,
            variant,
            kernel: k.f32,
            kernel_s1: k
                .f32_s1
                .filter(|_| desc.stride[1] == 1 && desc.dilation[1] == 1),
            zero_row: try_avec(&try_filled(zeros, 0.0, "zero row")?, "zero row")?,
        })
    }

    /// The variant this plan runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Runs on `batch` dense NHWC images, parallel over output rows.
    ///
    /// `batch`, `in_h` and `in_w` must be at most [`MAX_DIM`]; the input and output must have
    /// exactly the elements of that shape and of the output shape ([`DwDesc::output_size`]).
    /// On an error no output was written, except when a thread's scratch cannot be allocated
    /// (then the output is partly written).
    pub fn run(
        &self,
        input: &[f32],
        batch: usize,
        in_h: usize,
        in_w: usize,
        output: &mut [f32],
        par: &Parallel,
    ) -> Result<(), DwError> {
        let d = &self.desc;
        let g = d.run_geometry(batch, in_h, in_w)?;
        let (oh, ow, cout) = (g.oh, g.ow, g.cout);
        if input.len() != g.in_len {
            return Err(DwError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w}x{} = {} are needed",
                input.len(),
                d.channels,
                g.in_len
            )));
        }
        if output.len() != g.out_len {
            return Err(DwError::Buffer(format!(
                "output has {} elements but {batch}x{oh}x{ow}x{cout} = {} are produced",
                output.len(),
                g.out_len
            )));
        }
        let taps = g.taps;
        let img_len = g.img_len;
        let out_ptr = SyncPtr(output.as_mut_ptr().cast());
        let out_ptr = &out_ptr;
        let failed = std::sync::OnceLock::new();
        par.for_each(g.rows, |row| {
            let (b, oy) = (row / oh, row % oh);
            // b < batch: inside the input (batch · img_len = in_len elements).
            let img = &input[b * img_len..(b + 1) * img_len];
            let skew = img.as_ptr() as usize % 64 / 4;
            let zero = &self.zero_row[skew..skew + cout];
            SCRATCH_F32.with(|s| {
                let s = &mut *s.borrow_mut();
                if let Err(e) = s.reserve(&g) {
                    let _ = failed.set(e);
                    return;
                }
                row_indirection(d, &g, in_h, in_w, img, oy, zero, s);
                let (ind, w, o) = (
                    s.ind.as_ptr(),
                    self.packed.as_ptr(),
                    // SAFETY: row < batch · oh, so row · ow · cout + ow · cout <= out_len =
                    // output.len() (checked above).
                    unsafe { out_ptr.0.cast::<f32>().add(row * ow * cout) },
                );
                let (lo, hi) = self.clamp;
                // SAFETY: ind holds ow · taps pointers to cout readable floats; packed is this
                // variant's layout; output rows are disjoint per task; the kernel's ISA is
                // available. With stride and dilation 1 along W, row_indirection gives pixel
                // ox + 1's tap kx the pointer of pixel ox's tap kx + 1 (the same input column,
                // or the zero row for both), as the stride-1 kernel requires.
                unsafe {
                    match self.kernel_s1 {
                        Some(k) => k(ow, d.kernel[1], taps, ind, w, cout, lo, hi, o),
                        None => (self.kernel)(ow, taps, ind, w, cout, lo, hi, o),
                    }
                };
            });
        });
        failed.into_inner().map_or(Ok(()), Err)
    }
}
