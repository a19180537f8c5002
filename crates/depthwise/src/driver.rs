//! The plans: [`QDepthwise`] (int8) and [`Depthwise32`] (fp32). Planning validates the
//! caller's data, chooses a table entry and packs the weights; a run validates the buffers,
//! then hands each output row (a contiguous chunk of the NHWC output) to a task that builds the
//! row's indirection list and calls the entry's kernel.

use crate::ukernel::{
    DwF32Fn, DwF32S1Fn, DwI8Fn, DwI8QFn, DwI8QS1Fn, F32Kernels, Int8Kernels, DWCONV_F32,
    DWCONV_INT8,
};
use crate::{DwDesc, DwError, MAX_DIM};
use aligned_vec::{AVec, ConstAlign};
use cpu_probe::alloc::{try_filled, try_with_capacity};
use cpu_probe::parallel::Parallel;
use cpu_probe::{Entry, Table};
use quant_params::int8::{Fp32Requant, Input8, Output8, OutputStage};
use quant_params::{PerChannelRequantizer, QType, RequantPlan, RequantScheme};
use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

impl DwDesc {
    /// Checks a run's shape against this (valid) description and derives the sizes that the
    /// run's buffers and scratch must have, all with checked arithmetic.
    fn run_geometry(&self, batch: usize, in_h: usize, in_w: usize) -> Result<RunGeom, DwError> {
        let (taps, cout) = self.validate()?;
        if crate::above_max_dim(batch) {
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
        // The output rows (batch · oh <= out_len, as ow, cout >= 1) are the chunks of ow · cout
        // <= out_img elements a run hands to its tasks: no overflow.
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
            ind_len,
            exp_len,
        })
    }
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
    /// Force an entry of [`DWCONV_INT8`] (e.g. `DWCONV_INT8.by_name("dwconv_c16__avx2")?`);
    /// `None`: the best this CPU runs.
    pub entry: Option<&'static Entry<Int8Kernels>>,
}

/// The requantization a plan applies after an unfused kernel.
enum Stage {
    PerTensor(RequantPlan, QType),
    PerChannel(PerChannelRequantizer, QType),
    Raw,
}

impl Stage {
    /// The output buffer type this stage writes.
    fn buffer_type(&self) -> &'static str {
        match self {
            Stage::Raw => "i32",
            Stage::PerTensor(_, QType::U8) | Stage::PerChannel(_, QType::U8) => "u8",
            _ => "i8",
        }
    }
}

/// The entry `forced` (checked against this CPU) or the table's best.
fn choose<K>(
    table: &'static Table<K>,
    forced: Option<&'static Entry<K>>,
) -> Result<&'static Entry<K>, DwError> {
    match forced {
        None => Ok(table.best()),
        // `verify`: the table's own entry (a caller-built copy could pair a scalar ISA with
        // kernels this CPU cannot run) and supported here.
        Some(e) => table.verify(e).map_err(|err| {
            DwError::Variant(format!(
                "{err} (available: {:?})",
                table.available().iter().map(|e| e.name).collect::<Vec<_>>()
            ))
        }),
    }
}

/// One output row of an int8 run.
enum RowOut<'a> {
    U8(&'a mut [u8]),
    I8(&'a mut [i8]),
    I32(&'a mut [i32]),
}

/// A planned 8-bit depthwise convolution; weights packed once (with the bias and the
/// `−zx · Σ w'` term folded in). `Send + Sync`.
pub struct QDepthwise {
    desc: DwDesc,
    input_type: QType,
    packed: AVec<i32, ConstAlign<64>>,
    stage: Stage,
    entry: &'static Entry<Int8Kernels>,
    /// The name of the function that runs (the entry's, or its fused kernel's).
    name: &'static str,
    kernel: DwI8Fn,
    /// The kernel with the per-tensor Fp32 requantization fused, when the entry has one.
    fused: Option<(DwI8QFn, Fp32Requant<'static>)>,
    /// The stride-1 fused kernel (8-bit weights), when the entry and geometry allow it; it
    /// then owns `packed` and takes precedence over `kernel` and `fused`.
    fused_s1: Option<(DwI8QS1Fn, Fp32Requant<'static>)>,
    zero_row: Vec<u8>,
}

/// `Debug` of the plans: the layer and the name of the function that runs.
macro_rules! plan_debug {
    ($($plan:ident),*) => {$(
        impl fmt::Debug for $plan {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($plan))
                    .field("desc", &self.desc)
                    .field("kernel", &self.name)
                    .finish()
            }
        }
    )*};
}

plan_debug!(QDepthwise, Depthwise32);

/// The caller's int8 weights with the zero points taken off (`w'`, tap-major) and the folded
/// bias `bias − zx · Σ_t w'` per output channel.
struct Folded {
    w: Vec<i32>,
    bias: Vec<i32>,
}

impl QDepthwise {
    /// Validates, checks the accumulator bound, chooses the entry and packs the weights.
    pub fn new(cfg: QDepthwiseConfig<'_>) -> Result<QDepthwise, DwError> {
        let d = cfg.desc;
        let (taps, cout) = d.validate()?;
        let folded = Self::fold(&cfg, taps, cout)?;
        let entry = choose(&DWCONV_INT8, cfg.entry)?;
        let k = &entry.kernels;
        let fused = match (&cfg.output, k.fused) {
            (OutputStage::PerTensor(r), Some(f)) if r.scheme() == RequantScheme::Fp32 => {
                Fp32Requant::from_requantizer(r).map(|q| (f, q))
            }
            _ => None,
        };
        let s1 = match (&fused, k.fused_s1) {
            (Some((_, q)), Some(s1))
                if s1.strides.contains(&d.stride[1])
                    && d.dilation[1] == 1
                    && s1.sizes.contains(&d.kernel)
                    && folded.w.iter().all(|v| (s1.w_min..=127).contains(v)) =>
            {
                let signed = cfg.input_type == QType::I8;
                let packed = (s1.pack)(
                    d.kernel[0],
                    d.kernel[1],
                    cout,
                    &folded.w,
                    &folded.bias,
                    signed,
                )?;
                let f = if signed { s1.i8 } else { s1.u8 };
                Some((s1.name, f, *q, packed))
            }
            _ => None,
        };
        let stage = Self::stage(cfg.output, cout)?;
        // Padding reads the zero point, whose contribution zx·w' the folded bias cancels.
        let za = cfg.input_zero_point;
        let (kernel, zero_byte) = match cfg.input_type {
            QType::U8 => (k.u8, za as u8),
            QType::I8 => (k.i8, za as i8 as u8),
        };
        let signed = cfg.input_type == QType::I8;
        let fused = fused.map(|(f, q)| (f.name, if signed { f.i8 } else { f.u8 }, q));
        let (name, packed, fused_s1) = match s1 {
            Some((name, f, q, p)) => (name, p, Some((f, q))),
            None => (
                fused.map_or(entry.name, |f| f.0),
                (k.pack)(taps, cout, &folded.w, &folded.bias)?,
                None,
            ),
        };
        Ok(QDepthwise {
            desc: d,
            input_type: cfg.input_type,
            packed: try_avec(&packed, "packed weights")?,
            stage,
            entry,
            name,
            kernel,
            fused: fused.map(|(_, f, q)| (f, q)),
            fused_s1,
            zero_row: try_filled(cout, zero_byte, "zero row")?,
        })
    }

    /// Validates the weights, zero points and bias of `cfg` (`taps · cout` weights), takes the
    /// weight zero points off and folds the input zero point into the bias; an error if the i32
    /// accumulator could overflow.
    fn fold(cfg: &QDepthwiseConfig<'_>, taps: usize, cout: usize) -> Result<Folded, DwError> {
        let d = &cfg.desc;
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
        let mut w: Vec<i32> = try_with_capacity(cfg.weights.len(), "weights minus zero points")?;
        w.extend((0..cfg.weights.len()).map(|i| cfg.weights.get(i) - zw[i % cout]));
        let za = cfg.input_zero_point;
        let amax = i64::from((cfg.input_type.max() - za).max(za - cfg.input_type.min()));
        let mut folded = try_with_capacity(cout, "folded bias")?;
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
        Ok(Folded { w, bias: folded })
    }

    /// The requantization stage of `output` for `cout` channels.
    fn stage(output: OutputStage, cout: usize) -> Result<Stage, DwError> {
        Ok(match output {
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
        })
    }

    /// The table entry this plan runs.
    pub fn entry(&self) -> &'static Entry<Int8Kernels> {
        self.entry
    }

    /// The name of the micro-kernel function this plan runs: the entry's, or the entry's
    /// fused-requantization kernel's when the plan uses it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs on `batch` NHWC images of `in_h × in_w × channels` (dense), writing a dense NHWC
    /// output, parallel over output rows.
    ///
    /// `batch`, `in_h` and `in_w` must be at most [`crate::MAX_DIM`]; the input and output must
    /// have exactly the elements of that shape and of the output shape
    /// ([`DwDesc::output_size`]). On an error no output was written, except when a thread's
    /// scratch cannot be allocated (then the output is partly written).
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
        if output.len() != out_len {
            return Err(DwError::Buffer(format!(
                "output has {} elements but {batch}x{oh}x{ow}x{cout} = {out_len}",
                output.len()
            )));
        }
        let want = self.stage.buffer_type();
        if want != output.type_name() {
            return Err(DwError::Buffer(format!(
                "output buffer type does not match the output stage ({want})"
            )));
        }
        let run = RunCtx {
            g,
            in_h,
            in_w,
            bytes: input.as_bytes(),
            failed: OnceLock::new(),
        };
        // One chunk per output row: rows of `ow · cout` elements are contiguous in NHWC.
        let n = ow * cout;
        match output {
            Output8::U8(o) => par.for_each_chunk_mut(o, n, |r, o| self.row(&run, r, RowOut::U8(o))),
            Output8::I8(o) => par.for_each_chunk_mut(o, n, |r, o| self.row(&run, r, RowOut::I8(o))),
            Output8::I32(o) => {
                par.for_each_chunk_mut(o, n, |r, o| self.row(&run, r, RowOut::I32(o)))
            }
        }
        run.failed.into_inner().map_or(Ok(()), Err)
    }

    /// Computes output row `row` (`< batch · oh`) into `out` (its `ow · cout` elements, of the
    /// type the stage writes: checked by [`QDepthwise::run`]).
    fn row(&self, run: &RunCtx<'_, u8>, row: usize, mut out: RowOut<'_>) {
        let (d, g) = (&self.desc, &run.g);
        let (ow, cout, taps) = (g.ow, g.cout, g.taps);
        let (b, oy) = (row / g.oh, row % g.oh);
        // b < batch: inside the input (batch · img_len = in_len elements).
        let img = &run.bytes[b * g.img_len..(b + 1) * g.img_len];
        SCRATCH_I8.with(|s| {
            let (s, acc) = &mut *s.borrow_mut();
            let n = ow * cout;
            let ok = s.reserve(g).and_then(|()| {
                acc.try_reserve_exact(n.saturating_sub(acc.len()))
                    .map_err(|e| DwError::Buffer(format!("accumulators: {n} i32 ({e})")))
            });
            if let Err(e) = ok {
                let _ = run.failed.set(e);
                return;
            }
            row_indirection(d, g, run.in_h, run.in_w, img, oy, &self.zero_row, s);
            let (ind, w) = (s.ind.as_ptr(), self.packed.as_ptr());
            let bytes_out = match &mut out {
                RowOut::U8(o) => Some(o.as_mut_ptr()),
                RowOut::I8(o) => Some(o.as_mut_ptr().cast::<u8>()),
                RowOut::I32(_) => None,
            };
            if let (Some((f, q)), Some(o)) = (&self.fused_s1, bytes_out) {
                // SAFETY: as below, into this row's n output bytes; with dilation 1 along W,
                // row_indirection gives pixel ox + 1's tap kx the pointer of pixel ox's tap
                // kx + sw (the same input column, or the zero row for both); the kernel size
                // and stride are ones the entry listed; packed has this kernel's layout.
                unsafe { f(ow, d.kernel[1], d.stride[1], taps, ind, w, cout, q, o) };
                return;
            }
            if let (Some((f, q)), Some(o)) = (&self.fused, bytes_out) {
                // SAFETY: as below; the output is this row's n bytes (u8 or i8).
                unsafe { f(ow, taps, ind, w, cout, q, o) };
                return;
            }
            self.unfused_row(ind, acc, out);
        });
    }

    /// The raw-accumulator kernel of one row into `out` (raw i32) or into `acc`, then the
    /// requantization stage into `out`.
    fn unfused_row(&self, ind: *const *const u8, acc: &mut Vec<i32>, out: RowOut<'_>) {
        let (taps, cout) = (self.desc.taps(), self.desc.cout());
        let n = out_len(&out);
        let ow = n / cout;
        let w = self.packed.as_ptr();
        if let RowOut::I32(o) = out {
            // SAFETY: ind holds ow · taps pointers to cout readable bytes; packed is this
            // entry's layout for (taps, cout); o holds ow · cout i32; the ISA is there.
            unsafe { (self.kernel)(ow, taps, ind, w, cout, o.as_mut_ptr()) };
            return;
        }
        acc.resize(n, 0);
        // SAFETY: as above, into acc (n = ow · cout i32).
        unsafe { (self.kernel)(ow, taps, ind, w, cout, acc.as_mut_ptr()) };
        let _ = match (&self.stage, out) {
            (Stage::PerTensor(p, _), RowOut::U8(o)) => p.run_u8(acc, o),
            (Stage::PerTensor(p, _), RowOut::I8(o)) => p.run_i8(acc, o),
            (Stage::PerChannel(p, _), RowOut::U8(o)) => p.requantize_rows_u8(acc, o),
            (Stage::PerChannel(p, _), RowOut::I8(o)) => p.requantize_rows_i8(acc, o),
            // run() checked that the buffer type matches the stage.
            _ => Ok(()),
        };
    }
}

/// Elements of a row buffer.
fn out_len(o: &RowOut<'_>) -> usize {
    match o {
        RowOut::U8(o) => o.len(),
        RowOut::I8(o) => o.len(),
        RowOut::I32(o) => o.len(),
    }
}

/// What every row task of one run shares.
struct RunCtx<'a, T> {
    g: RunGeom,
    in_h: usize,
    in_w: usize,
    /// The whole input.
    bytes: &'a [T],
    /// The first scratch allocation failure.
    failed: OnceLock<DwError>,
}

/// A planned fp32 depthwise convolution with optional bias and output clamp (ReLU / ReLU6).
///
/// NaN follows IEEE arithmetic in every entry: an output whose inputs (input pixels under the
/// kernel, weights, bias; padding taps multiply zeros by the weights, so a NaN weight reaches
/// every output of its channel) include a NaN is NaN, clamp or not (`clamp(NaN) = NaN`, as in
/// ONNX Runtime and PyTorch).
pub struct Depthwise32 {
    desc: DwDesc,
    packed: AVec<f32, ConstAlign<64>>,
    clamp: (f32, f32),
    entry: &'static Entry<F32Kernels>,
    /// The name of the function that runs (the entry's or its stride-1 kernel's).
    name: &'static str,
    kernel: DwF32Fn,
    /// The stride-1 kernel, when the geometry allows it (stride and dilation 1 along W).
    kernel_s1: Option<DwF32S1Fn>,
    /// `cout + 16` zeros, 64-byte aligned: padding taps read `cout` of them starting at the
    /// input's offset within its cache line, so they share the input's alignment (which the
    /// AVX-512 kernels tile by).
    zero_row: AVec<f32, ConstAlign<64>>,
}

impl Depthwise32 {
    /// Validates and packs: weights `kh × kw × (channels · multiplier)`, optional bias, output
    /// clamp `[lo, hi]` (use `(f32::NEG_INFINITY, f32::INFINITY)` for none, `(0, 6)` for ReLU6),
    /// and optionally an entry of [`DWCONV_F32`] to force (`None`: the best this CPU runs).
    pub fn new(
        desc: DwDesc,
        weights: &[f32],
        bias: Option<&[f32]>,
        clamp: (f32, f32),
        entry: Option<&'static Entry<F32Kernels>>,
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
        let entry = choose(&DWCONV_F32, entry)?;
        let k = &entry.kernels;
        let packed = (k.pack)(taps, cout, weights, &bias)?;
        let zeros = cout.checked_add(16).ok_or_else(|| {
            DwError::Geometry(format!("zero row of {cout} + 16 floats overflows usize"))
        })?;
        let s1 =
            k.s1.filter(|_| desc.stride[1] == 1 && desc.dilation[1] == 1);
        Ok(Depthwise32 {
            desc,
            packed: try_avec(&packed, "packed weights")?,
            clamp,
            entry,
            name: s1.map_or(entry.name, |s| s.0),
            kernel: k.run,
            kernel_s1: s1.map(|s| s.1),
            zero_row: try_avec(&try_filled(zeros, 0.0, "zero row")?, "zero row")?,
        })
    }

    /// The table entry this plan runs.
    pub fn entry(&self) -> &'static Entry<F32Kernels> {
        self.entry
    }

    /// The name of the micro-kernel function this plan runs: the entry's, or the entry's
    /// stride-1 kernel's when the plan uses it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs on `batch` dense NHWC images, parallel over output rows.
    ///
    /// `batch`, `in_h` and `in_w` must be at most [`crate::MAX_DIM`]; the input and output must
    /// have exactly the elements of that shape and of the output shape
    /// ([`DwDesc::output_size`]). On an error no output was written, except when a thread's
    /// scratch cannot be allocated (then the output is partly written).
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
        let run = RunCtx {
            g,
            in_h,
            in_w,
            bytes: input,
            failed: OnceLock::new(),
        };
        // One chunk per output row: rows of `ow · cout` floats are contiguous in NHWC.
        par.for_each_chunk_mut(output, ow * cout, |row, o| self.row(&run, row, o));
        run.failed.into_inner().map_or(Ok(()), Err)
    }

    /// Computes output row `row` (`< batch · oh`) into `out` (its `ow · cout` floats).
    fn row(&self, run: &RunCtx<'_, f32>, row: usize, out: &mut [f32]) {
        let (d, g) = (&self.desc, &run.g);
        let (b, oy) = (row / g.oh, row % g.oh);
        // b < batch: inside the input (batch · img_len = in_len elements).
        let img = &run.bytes[b * g.img_len..(b + 1) * g.img_len];
        let skew = img.as_ptr() as usize % 64 / 4;
        let zero = &self.zero_row[skew..skew + g.cout];
        SCRATCH_F32.with(|s| {
            let s = &mut *s.borrow_mut();
            if let Err(e) = s.reserve(g) {
                let _ = run.failed.set(e);
                return;
            }
            row_indirection(d, g, run.in_h, run.in_w, img, oy, zero, s);
            let (ind, w, o) = (s.ind.as_ptr(), self.packed.as_ptr(), out.as_mut_ptr());
            let (lo, hi) = self.clamp;
            let (ow, taps, cout) = (g.ow, g.taps, g.cout);
            // SAFETY: ind holds ow · taps pointers to cout readable floats; packed is this
            // entry's layout; o is this row's ow · cout floats; the kernel's ISA is available.
            // With stride and dilation 1 along W, row_indirection gives pixel ox + 1's tap kx
            // the pointer of pixel ox's tap kx + 1 (the same input column, or the zero row for
            // both), as the stride-1 kernel requires.
            unsafe {
                match self.kernel_s1 {
                    Some(k) => k(ow, d.kernel[1], taps, ind, w, cout, lo, hi, o),
                    None => (self.kernel)(ow, taps, ind, w, cout, lo, hi, o),
                }
            };
        });
    }
}

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
    // form one range [lo, hi); everything else reads the zero row. Every slot is written once
    // below (the list is resized, not filled first).
    let zp = zero.as_ptr();
    s.ind.truncate(g.ind_len);
    s.ind.resize(g.ind_len, zp);
    let (sw, taps, pl) = (d.stride[1], g.taps, d.pad[1]);
    let base = src.as_ptr();
    let ind = s.ind.as_mut_ptr();
    for ky in 0..kh {
        let iy = iy_of(ky);
        let row = if mult > 1 { ky } else { iy.unwrap_or(0) } * in_w * stride;
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
            // An empty range (or a kernel row outside the image): every pixel reads the zero row.
            let (lo, hi) = if lo < hi && iy.is_some() {
                (lo, hi)
            } else {
                (ow, ow)
            };
            let t = ky * kw + kx;
            // Pixel ox (lo <= ox < hi) reads column ix = ox·sw + off − pl, 0 <= ix < in_w: the
            // pointers stay inside `src`, sw · stride elements apart (formed with wrapping_add,
            // never dereferenced here).
            let step = sw * stride;
            let mut ptr = if lo < hi {
                base.wrapping_add(row + (lo * sw + off - pl) * stride)
            } else {
                zp
            };
            // SAFETY: the slots written are ox·taps + t for ox < ow and t < taps, inside the
            // list's ow · taps = g.ind_len elements (resized above); `ind` is not otherwise
            // borrowed while it is written.
            unsafe {
                let mut p = ind.add(t);
                for _ in 0..lo {
                    *p = zp;
                    p = p.wrapping_add(taps);
                }
                for _ in lo..hi {
                    *p = ptr;
                    ptr = ptr.wrapping_add(step);
                    p = p.wrapping_add(taps);
                }
                for _ in hi..ow {
                    *p = zp;
                    p = p.wrapping_add(taps);
                }
            }
        }
    }
}
