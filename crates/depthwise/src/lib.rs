//! # depthwise
//!
//! Depthwise convolution over NHWC tensors, 8-bit (exact i32 accumulation, any `quant-params`
//! requantization) and fp32, with channel multiplier, stride, dilation, 4-sided padding and batch.
//!
//! Padding costs no branch in the inner loop: every output pixel gets one input-row pointer per
//! tap, and taps outside the image point at a row of zero points (int8) or zeros (fp32).
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

use cpu_probe::parallel::Parallel;
use quant_params::{PerChannelRequantizer, QType, RequantPlan, Requantizer};
use std::cell::RefCell;
use std::fmt;
pub use ukernel::Variant;

/// Shape of a depthwise convolution (the input size is given per run).
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

    /// Kernel taps.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        self.channels * self.multiplier
    }

    fn validate(&self) -> Result<(), DwError> {
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
        Ok(())
    }

    /// Output height and width for an `in_h × in_w` input, or an error when it would be empty.
    pub fn output_size(&self, in_h: usize, in_w: usize) -> Result<(usize, usize), DwError> {
        reference::output_size(self, in_h, in_w).ok_or_else(|| {
            DwError::Geometry(format!(
                "input {in_h}x{in_w} with padding {:?} is smaller than the dilated {:?} kernel (dilation {:?})",
                self.pad, self.kernel, self.dilation
            ))
        })
    }
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

    fn as_ptr(&self) -> *const u8 {
        match self {
            Input8::U8(x) => x.as_ptr(),
            Input8::I8(x) => x.as_ptr().cast(),
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

thread_local! {
    static SCRATCH: RefCell<(Vec<i32>, Vec<u8>, Vec<usize>)> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Row pointers (as element offsets into the input, `None` = padding) of output pixel (oy, ox).
fn tap_offsets(
    d: &DwDesc,
    in_h: usize,
    in_w: usize,
    b: usize,
    oy: usize,
    ox: usize,
    out: &mut Vec<Option<usize>>,
) {
    out.clear();
    for ky in 0..d.kernel[0] {
        for kx in 0..d.kernel[1] {
            let iy = (oy * d.stride[0] + ky * d.dilation[0]) as isize - d.pad[0] as isize;
            let ix = (ox * d.stride[1] + kx * d.dilation[1]) as isize - d.pad[1] as isize;
            let inside = iy >= 0 && ix >= 0 && (iy as usize) < in_h && (ix as usize) < in_w;
            out.push(inside.then(|| ((b * in_h + iy as usize) * in_w + ix as usize) * d.channels));
        }
    }
}

/// A planned 8-bit depthwise convolution; weights packed once. `Send + Sync`.
pub struct QDepthwise {
    desc: DwDesc,
    input_type: QType,
    xor: u8,
    za: i32,
    w: Vec<i32>,
    bias: Vec<i32>,
    stage: Stage,
    variant: Variant,
    kernel: ukernel::DwI8Fn,
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
        d.validate()?;
        let (taps, cout) = (d.taps(), d.cout());
        if cfg.weights.len() != taps * cout {
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
        let zw: Vec<i32> = match cfg.weight_zero_points.len() {
            1 => vec![cfg.weight_zero_points[0]; cout],
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
            None => vec![0; cout],
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(DwError::Buffer(format!(
                    "bias has {} elements but {cout} are needed",
                    b.len()
                )))
            }
        };
        let w: Vec<i32> = (0..taps * cout)
            .map(|i| cfg.weights.get(i) - zw[i % cout])
            .collect();
        let amax = i64::from(
            (cfg.input_type.max() - cfg.input_zero_point)
                .max(cfg.input_zero_point - cfg.input_type.min()),
        );
        for c in 0..cout {
            let s: i64 = (0..taps).map(|t| i64::from(w[t * cout + c]).abs()).sum();
            let bound = amax * s + i64::from(bias[c]).abs();
            if bound > i64::from(i32::MAX) {
                return Err(DwError::Overflow(format!(
                    "channel {c}: the accumulator can reach {bound} > 2^31-1"
                )));
            }
        }
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let (kernel, _) = variant.kernels().ok_or_else(|| {
            DwError::Variant(format!(
                "{variant:?} is not available (available: {:?})",
                Variant::available()
            ))
        })?;
        let stage = match cfg.output {
            OutputStage::PerTensor(r) => Stage::PerTensor(r.plan(None)?, r.qtype),
            OutputStage::PerChannel(p) => {
                if p.channels() != cout {
                    return Err(DwError::Quant(format!(
                        "per-channel requantizer has {} channels, need {cout}",
                        p.channels()
                    )));
                }
                let t = p.channel(0).map_or(QType::U8, |r| r.qtype);
                Stage::PerChannel(p, t)
            }
            OutputStage::RawI32 => Stage::Raw,
        };
        let (xor, za) = match cfg.input_type {
            QType::U8 => (0u8, cfg.input_zero_point),
            QType::I8 => (0x80u8, cfg.input_zero_point + 128),
        };
        // Padding reads the zero point, which contributes (za − za)·w = 0.
        let zero_byte = (za as u8) ^ xor;
        Ok(QDepthwise {
            desc: d,
            input_type: cfg.input_type,
            xor,
            za,
            w,
            bias,
            stage,
            variant,
            kernel,
            zero_row: vec![zero_byte; cout],
        })
    }

    /// The variant this plan runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Runs on `batch` NHWC images of `in_h × in_w × channels` (dense), writing a dense NHWC
    /// output, parallel over output rows.
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
        let (oh, ow) = d.output_size(in_h, in_w)?;
        let need = batch * in_h * in_w * d.channels;
        if input.len() != need {
            return Err(DwError::Buffer(format!(
                "input has {} elements but {batch}x{in_h}x{in_w}x{} = {need}",
                input.len(),
                d.channels
            )));
        }
        let cout = d.cout();
        let out_len = batch * oh * ow * cout;
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
        let base = input.as_ptr();
        let base_addr = base as usize;
        let ptr = &ptr;
        let taps = d.taps();
        let mult = d.multiplier;
        par.for_each(batch * oh, |row| {
            let (b, oy) = (row / oh, row % oh);
            SCRATCH.with(|s| {
                let (acc, expanded, _) = &mut *s.borrow_mut();
                acc.resize(ow * cout, 0);
                if mult > 1 {
                    expanded.resize(taps * cout, 0);
                }
                let mut offs = Vec::with_capacity(taps);
                let mut rows: Vec<*const u8> = vec![core::ptr::null(); taps];
                let base = base_addr as *const u8;
                for ox in 0..ow {
                    tap_offsets(d, in_h, in_w, b, oy, ox, &mut offs);
                    for (t, o) in offs.iter().enumerate() {
                        rows[t] = match o {
                            // SAFETY: o + channels <= need = input.len() (checked above).
                            Some(o) => unsafe { base.add(*o) },
                            None => self.zero_row.as_ptr(),
                        };
                        if mult > 1 {
                            // Expand the row to output channels: out channel co reads co / mult.
                            let dst = &mut expanded[t * cout..(t + 1) * cout];
                            for (co, x) in dst.iter_mut().enumerate() {
                                // SAFETY: co / mult < channels, inside the row (or the zero row,
                                // which has cout >= channels bytes).
                                *x = unsafe { *rows[t].add(co / mult) };
                            }
                        }
                    }
                    if mult > 1 {
                        for (t, r) in rows.iter_mut().enumerate() {
                            *r = expanded[t * cout..].as_ptr();
                        }
                    }
                    // SAFETY: rows holds taps pointers to cout readable bytes; w is taps·cout,
                    // bias and the acc slice cout; the kernel's ISA is available.
                    unsafe {
                        (self.kernel)(
                            taps,
                            rows.as_ptr(),
                            self.xor,
                            self.za,
                            self.w.as_ptr(),
                            self.bias.as_ptr(),
                            cout,
                            acc[ox * cout..].as_mut_ptr(),
                        );
                    }
                }
                let start = row * ow * cout;
                let n = ow * cout;
                // SAFETY: output rows are disjoint per task; start + n <= out_len = len and the
                // element type matches `kind` (checked above).
                unsafe {
                    match &self.stage {
                        Stage::Raw => {
                            std::slice::from_raw_parts_mut(ptr.0.cast::<i32>().add(start), n)
                                .copy_from_slice(acc)
                        }
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
        Ok(())
    }
}

/// A planned fp32 depthwise convolution with optional bias and output clamp (ReLU / ReLU6).
pub struct Depthwise32 {
    desc: DwDesc,
    w: Vec<f32>,
    bias: Vec<f32>,
    clamp: (f32, f32),
    variant: Variant,
    kernel: ukernel::DwF32Fn,
    zero_row: Vec<f32>,
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
        desc.validate()?;
        let cout = desc.cout();
        if weights.len() != desc.taps() * cout {
            return Err(DwError::Buffer(format!(
                "weights have {} elements but {} are needed",
                weights.len(),
                desc.taps() * cout
            )));
        }
        if clamp.0.is_nan() || clamp.1.is_nan() || clamp.0 > clamp.1 {
            return Err(DwError::Quant(format!(
                "output clamp [{}, {}] must be ordered and not NaN",
                clamp.0, clamp.1
            )));
        }
        let bias = match bias {
            None => vec![0.0; cout],
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(DwError::Buffer(format!(
                    "bias has {} elements but {cout} are needed",
                    b.len()
                )))
            }
        };
        let variant = variant.unwrap_or_else(Variant::best);
        let (_, kernel) = variant
            .kernels()
            .ok_or_else(|| DwError::Variant(format!("{variant:?} is not available")))?;
        Ok(Depthwise32 {
            desc,
            w: weights.to_vec(),
            bias,
            clamp,
            variant,
            kernel,
            zero_row: vec![0.0; cout],
        })
    }

    /// Runs on `batch` dense NHWC images, parallel over output rows.
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
        let (oh, ow) = d.output_size(in_h, in_w)?;
        let need = batch * in_h * in_w * d.channels;
        if input.len() != need {
            return Err(DwError::Buffer(format!(
                "input has {} elements but {need} are needed",
                input.len()
            )));
        }
        let cout = d.cout();
        if output.len() != batch * oh * ow * cout {
            return Err(DwError::Buffer(format!(
                "output has {} elements but {} are produced",
                output.len(),
                batch * oh * ow * cout
            )));
        }
        let taps = d.taps();
        let mult = d.multiplier;
        let out_ptr = SyncPtr(output.as_mut_ptr().cast());
        let out_ptr = &out_ptr;
        par.for_each(batch * oh, |row| {
            let (b, oy) = (row / oh, row % oh);
            let mut offs = Vec::with_capacity(taps);
            let mut rows: Vec<*const f32> = vec![core::ptr::null(); taps];
            let mut expanded = if mult > 1 {
                vec![0f32; taps * cout]
            } else {
                Vec::new()
            };
            // SAFETY: rows are disjoint per task: row · ow · cout .. + ow · cout is inside output.
            let out = unsafe {
                std::slice::from_raw_parts_mut(
                    out_ptr.0.cast::<f32>().add(row * ow * cout),
                    ow * cout,
                )
            };
            for ox in 0..ow {
                tap_offsets(d, in_h, in_w, b, oy, ox, &mut offs);
                for (t, o) in offs.iter().enumerate() {
                    let src: &[f32] = match o {
                        Some(o) => &input[*o..*o + d.channels],
                        None => &self.zero_row,
                    };
                    rows[t] = if mult > 1 {
                        let dst = &mut expanded[t * cout..(t + 1) * cout];
                        for (co, x) in dst.iter_mut().enumerate() {
                            *x = src[co / mult];
                        }
                        dst.as_ptr()
                    } else {
                        src.as_ptr()
                    };
                }
                let o = &mut out[ox * cout..(ox + 1) * cout];
                // SAFETY: rows holds taps pointers to cout readable floats; w is taps·cout, bias
                // and o cout; the kernel's ISA is available.
                unsafe {
                    (self.kernel)(
                        taps,
                        rows.as_ptr(),
                        self.w.as_ptr(),
                        self.bias.as_ptr(),
                        cout,
                        o.as_mut_ptr(),
                    )
                };
                for x in o.iter_mut() {
                    *x = x.clamp(self.clamp.0, self.clamp.1);
                }
            }
        });
        Ok(())
    }
}
