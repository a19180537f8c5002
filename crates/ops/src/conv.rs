//! Conv (fp32, NCHW), QLinearConv and ConvInteger (int8) with ONNX semantics, and the choice of
//! algorithm made once at plan time:
//!
//! | problem | algorithm |
//! |---|---|
//! | fp32 depthwise (group = C, any k) | `depthwise` (NHWC) |
//! | fp32 3x3, stride 1, dilation 1, group 1 | `winograd` |
//! | fp32 4x4..16x16, stride 1, dilation 1, group 1 | `fft-conv` |
//! | fp32 anything else | im2col + `gemm` crate |
//! | int8 depthwise | `depthwise` |
//! | int8 3x3, stride 1, group 1, >= 32 output channels, when qgemm's best entry is scalar, plain NEON or AVX2 and Winograd's int8 tuple GEMM is SIMD (or scalar like qgemm's), except a first layer (<= 7 input channels) on aarch64, which the direct kernel gathers | `winograd` (exact F(2x2,3x3)) |
//! | int8 anything else (1x1 included: its indirection is the identity) | `qconv-direct` on `qgemm` |
//!
//! `Options::algorithm` forces one; `Options::autotune` times the candidates at plan time.

use crate::attrs::{self, ConvGeom};
use crate::fgemm::{sgemm, View};
use crate::layout;
use crate::limits;
use crate::{
    threads_for, Algorithm, DataType, Node, OpsError, Options, Plan, PlanInput, Tensor, TensorData,
};
use cpu_probe::parallel::Parallel;
use quant_params::{
    Input8, Output8, OutputStage, PerChannelRequantizer, QType, RequantScheme, Requantizer,
};

/// An activation fused into a convolution's output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// None.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, lo), hi)` (ReLU6 is `Clip(0, 6)`).
    Clip(f32, f32),
}

impl Activation {
    /// `Err` for bounds that are NaN or cross (`lo > hi`).
    fn check(self) -> Result<(), OpsError> {
        let (lo, hi) = self.bounds();
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(OpsError::Attribute(format!(
                "activation bounds [{lo}, {hi}] must be numbers with lo <= hi"
            )));
        }
        Ok(())
    }

    fn bounds(self) -> (f32, f32) {
        match self {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::Clip(lo, hi) => (lo, hi),
        }
    }
}

use crate::constant as get;

/// The NCHW shape of an activation given in `layout`.
fn as_nchw(shape: &[usize], layout: crate::Layout) -> Vec<usize> {
    match (layout, shape.len()) {
        (crate::Layout::Nhwc, 4) => vec![shape[0], shape[3], shape[1], shape[2]],
        (crate::Layout::Nhwc, 3) => vec![shape[0], shape[2], shape[1]],
        _ => shape.to_vec(),
    }
}

/// The input shape a plan of geometry `g` runs on, in its layout and rank.
fn in_shape(g: &ConvGeom, nhwc: bool) -> Vec<usize> {
    match (nhwc, g.one_d) {
        (false, false) => vec![g.n, g.c, g.h, g.w],
        (false, true) => vec![g.n, g.c, g.w],
        (true, false) => vec![g.n, g.h, g.w, g.c],
        (true, true) => vec![g.n, g.w, g.c],
    }
}

/// `Err` unless `x` has exactly the shape the plan was made for (equal element counts are not
/// enough: a permuted shape would run with the planned geometry).
fn check_input_shape(op: &str, x: &Tensor, g: &ConvGeom, nhwc: bool) -> Result<(), OpsError> {
    let want = in_shape(g, nhwc);
    if x.shape() != want.as_slice() {
        return Err(OpsError::Shape(format!(
            "{op}: input has shape {:?}, the plan was made for {want:?}",
            x.shape()
        )));
    }
    Ok(())
}

fn out_shape(g: &ConvGeom, nhwc: bool) -> Vec<usize> {
    match (nhwc, g.one_d) {
        (false, _) => g.output_shape(),
        (true, false) => vec![g.n, g.oh, g.ow, g.m],
        (true, true) => vec![g.n, g.ow, g.m],
    }
}

fn shape_of<'a>(
    inputs: &[PlanInput<'a>],
    i: usize,
    op: &str,
) -> Result<(DataType, &'a [usize]), OpsError> {
    match inputs.get(i) {
        Some(PlanInput::Constant(t)) => Ok((t.dtype(), t.shape())),
        Some(PlanInput::Runtime { dtype, shape }) => Ok((*dtype, shape)),
        _ => Err(OpsError::MissingInput(format!("{op}: input {i}"))),
    }
}

enum F32Kernel {
    Winograd(winograd::WinogradConv),
    Fft(fft_conv::FftConv),
    Depthwise(depthwise::Depthwise32),
    Im2col {
        w: Vec<f32>,
        bias: Option<Vec<f32>>,
        act: Activation,
    },
}

/// A planned fp32 convolution.
pub struct ConvF32 {
    g: ConvGeom,
    nhwc: bool,
    kernel: F32Kernel,
    algorithm: Algorithm,
    par: Parallel,
    threads: usize,
}

impl ConvF32 {
    /// The algorithm chosen.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The output shape (`N×M×OH×OW`, or `N×M×OW` for a 1-D node; NHWC order with
    /// [`crate::Layout::Nhwc`]).
    pub fn output_shape(&self) -> Vec<usize> {
        out_shape(&self.g, self.nhwc)
    }

    /// Runs on an NCHW input of the planned shape, allocating the output.
    pub fn run_f32(&self, x: &[f32]) -> Result<Vec<f32>, OpsError> {
        let g = &self.g;
        // The count was checked against the tensor limit at plan time.
        let mut y = limits::filled(g.n * g.m * g.oh * g.ow, 0f32, "Conv output")?;
        self.run_into(x, &mut y)?;
        Ok(y)
    }

    /// Runs on an input of the planned shape and layout into `y`. With NCHW, steady-state runs
    /// of the Winograd, FFT and im2col paths do not allocate the output; with NHWC the depthwise
    /// path runs without conversion and the others convert.
    pub fn run_into(&self, x: &[f32], y: &mut [f32]) -> Result<(), OpsError> {
        if self.nhwc {
            let g = &self.g;
            if let F32Kernel::Depthwise(p) = &self.kernel {
                return p
                    .run(x, g.n, g.h, g.w, y, &self.par)
                    .map_err(|e| OpsError::Kernel(e.to_string()));
            }
            if x.len() != g.n * g.c * g.h * g.w || y.len() != g.n * g.m * g.oh * g.ow {
                return Err(OpsError::Shape(format!(
                    "Conv: input/output buffers have {}/{} elements, the plan expects {}/{}",
                    x.len(),
                    y.len(),
                    g.n * g.c * g.h * g.w,
                    g.n * g.m * g.oh * g.ow
                )));
            }
            let xc = layout::nhwc_to_nchw(x, g.n, g.c, g.h, g.w)?;
            let mut yc = vec![0f32; y.len()];
            self.run_nchw(&xc, &mut yc)?;
            y.copy_from_slice(&layout::nchw_to_nhwc(&yc, g.n, g.m, g.oh, g.ow)?);
            return Ok(());
        }
        self.run_nchw(x, y)
    }

    fn run_nchw(&self, x: &[f32], y: &mut [f32]) -> Result<(), OpsError> {
        let g = &self.g;
        let need = g.n * g.c * g.h * g.w;
        if x.len() != need {
            return Err(OpsError::Shape(format!(
                "Conv: input has {} elements, the plan expects {need} ({}x{}x{}x{})",
                x.len(),
                g.n,
                g.c,
                g.h,
                g.w
            )));
        }
        let ylen = g.n * g.m * g.oh * g.ow;
        if y.len() != ylen {
            return Err(OpsError::Shape(format!(
                "Conv: output buffer has {} elements, the plan produces {ylen}",
                y.len()
            )));
        }
        match &self.kernel {
            F32Kernel::Winograd(p) => p
                .run(x, g.n, g.h, g.w, y, &self.par)
                .map_err(|e| OpsError::Kernel(e.to_string()))?,
            F32Kernel::Fft(p) => p
                .run(x, g.n, g.h, g.w, y, &self.par)
                .map_err(|e| OpsError::Kernel(e.to_string()))?,
            F32Kernel::Depthwise(p) => {
                let xn = layout::nchw_to_nhwc(x, g.n, g.c, g.h, g.w)?;
                let mut yn = vec![0f32; ylen];
                p.run(&xn, g.n, g.h, g.w, &mut yn, &self.par)
                    .map_err(|e| OpsError::Kernel(e.to_string()))?;
                y.copy_from_slice(&layout::nhwc_to_nchw(&yn, g.n, g.m, g.oh, g.ow)?);
            }
            F32Kernel::Im2col { w, bias, act } => {
                im2col_conv(g, x, w, bias.as_deref(), *act, y, self.threads)?
            }
        }
        Ok(())
    }
}

impl Plan for ConvF32 {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, "Conv", "X")?;
        check_input_shape("Conv", x, &self.g, self.nhwc)?;
        let y = self.run_f32(x.as_f32("Conv X")?)?;
        Ok(vec![Tensor::f32(self.output_shape(), y)?])
    }
    fn describe(&self) -> String {
        match &self.kernel {
            F32Kernel::Winograd(p) => format!("winograd {:?} {}", p.tile(), p.name()),
            F32Kernel::Fft(p) => format!("fft-conv {}", p.name()),
            F32Kernel::Depthwise(p) => format!("depthwise fp32 {}", p.name()),
            F32Kernel::Im2col { .. } => "im2col + gemm crate".into(),
        }
    }
}

fn im2col_conv(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    threads: usize,
) -> Result<(), OpsError> {
    let (cg, mg) = (g.c / g.group, g.m / g.group);
    let (kh, kw) = (g.kernel[0], g.kernel[1]);
    let kk = cg * kh * kw;
    let ohw = g.oh * g.ow;
    // kk·ohw was checked against the tensor limit at plan time.
    let mut col = limits::filled(kk * ohw, 0f32, "Conv im2col columns")?;
    for b in 0..g.n {
        for grp in 0..g.group {
            for ci in 0..cg {
                let xc = &x[((b * g.c) + grp * cg + ci) * g.h * g.w..][..g.h * g.w];
                for r in 0..kh {
                    for s in 0..kw {
                        let row = &mut col[((ci * kh + r) * kw + s) * ohw..][..ohw];
                        for oy in 0..g.oh {
                            let iy =
                                (oy * g.stride[0] + r * g.dilation[0]) as isize - g.pad[0] as isize;
                            for ox in 0..g.ow {
                                let ix = (ox * g.stride[1] + s * g.dilation[1]) as isize
                                    - g.pad[1] as isize;
                                row[oy * g.ow + ox] = if iy >= 0
                                    && (iy as usize) < g.h
                                    && ix >= 0
                                    && (ix as usize) < g.w
                                {
                                    xc[iy as usize * g.w + ix as usize]
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                }
            }
            let yoff = (b * g.m + grp * mg) * ohw;
            sgemm(
                mg,
                ohw,
                kk,
                w,
                View::row_major(grp * mg * kk, kk),
                &col,
                View::row_major(0, ohw),
                y,
                View::row_major(yoff, ohw),
                false,
                0.0,
                1.0,
                threads,
            )
            .map_err(OpsError::Kernel)?;
        }
        let (lo, hi) = act.bounds();
        for o in 0..g.m {
            let bv = bias.map(|b| b[o]).unwrap_or(0.0);
            for v in &mut y[(b * g.m + o) * ohw..][..ohw] {
                *v = limits::clamp_nan(*v + bv, lo, hi);
            }
        }
    }
    Ok(())
}

fn fp32_candidates(g: &ConvGeom) -> Vec<Algorithm> {
    let mut c = Vec::new();
    let plain = g.group == 1 && g.stride == [1, 1] && g.dilation == [1, 1];
    if g.group > 1 && g.group == g.c && g.m.is_multiple_of(g.c) {
        c.push(Algorithm::Depthwise);
    }
    if plain && g.kernel == [3, 3] && !g.one_d {
        c.push(Algorithm::Winograd);
    }
    if plain && !g.one_d && g.kernel[0].max(g.kernel[1]) >= 4 && g.kernel[0].max(g.kernel[1]) <= 16
    {
        c.push(Algorithm::Fft);
    }
    c.push(Algorithm::Im2colGemm);
    c
}

fn build_f32(
    g: &ConvGeom,
    alg: Algorithm,
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    threads: usize,
    max_bytes: usize,
) -> Result<ConvF32, OpsError> {
    let kern = |e: String| OpsError::Kernel(e);
    let plain = g.group == 1 && g.stride == [1, 1] && g.dilation == [1, 1] && !g.one_d;
    let fits = match alg {
        Algorithm::Winograd => plain && g.kernel == [3, 3],
        Algorithm::Fft => plain && g.kernel[0].max(g.kernel[1]) <= 16,
        _ => true,
    };
    if !fits {
        return Err(OpsError::Unsupported(format!(
            "{} runs 2-D, stride 1, dilation 1, group 1 convolutions{}",
            alg.name(),
            if alg == Algorithm::Winograd {
                " with 3x3 kernels"
            } else {
                " with kernels up to 16x16"
            }
        )));
    }
    let kernel = match alg {
        Algorithm::Winograd => {
            let mut cfg = winograd::WinogradConfig::new(g.c, g.m, w);
            cfg.bias = bias;
            cfg.padding = g.pad;
            cfg.activation = match act {
                Activation::None => winograd::Activation::None,
                Activation::Relu => winograd::Activation::Relu,
                Activation::Clip(min, max) => winograd::Activation::Clamp { min, max },
            };
            cfg.input_size_hint = Some([g.h, g.w]);
            F32Kernel::Winograd(winograd::WinogradConv::new(cfg).map_err(|e| kern(e.to_string()))?)
        }
        Algorithm::Fft => {
            let mut cfg = fft_conv::FftConfig::new(g.c, g.m, g.kernel[0], g.kernel[1], w);
            cfg.bias = bias;
            cfg.padding = g.pad;
            cfg.clamp = match act {
                Activation::None => None,
                a => Some(a.bounds()),
            };
            F32Kernel::Fft(fft_conv::FftConv::new(cfg).map_err(|e| kern(e.to_string()))?)
        }
        Algorithm::Depthwise => {
            if !(g.group > 1 && g.group == g.c && g.m.is_multiple_of(g.c)) {
                return Err(OpsError::Unsupported(
                    "depthwise needs group == input channels".into(),
                ));
            }
            let mut desc = depthwise::DwDesc::new(g.kernel, g.stride, g.pad, g.c, g.m / g.c);
            desc.dilation = g.dilation;
            let wh = layout::dw_to_hwc(w, g.m, g.kernel[0], g.kernel[1])?;
            F32Kernel::Depthwise(
                depthwise::Depthwise32::new(desc, &wh, bias, act.bounds(), None)
                    .map_err(|e| kern(e.to_string()))?,
            )
        }
        Algorithm::Im2colGemm => {
            // The column matrix of one group: (C/group·kH·kW) × (OH·OW).
            let cols = limits::product(
                &[g.c / g.group, g.kernel[0], g.kernel[1], g.oh, g.ow],
                "Conv im2col columns",
            )?;
            limits::check_tensor::<f32>(cols, max_bytes, "Conv im2col columns")?;
            F32Kernel::Im2col {
                w: w.to_vec(),
                bias: bias.map(<[f32]>::to_vec),
                act,
            }
        }
        o => {
            return Err(OpsError::Unsupported(format!(
                "algorithm {} for an fp32 convolution",
                o.name()
            )))
        }
    };
    Ok(ConvF32 {
        g: *g,
        nhwc: false,
        kernel,
        algorithm: alg,
        par: Parallel::new(threads),
        threads,
    })
}

/// The attributes ONNX's Conv, ConvInteger and QLinearConv have.
const CONV_ATTRS: &[&str] = &[
    "auto_pad",
    "dilations",
    "group",
    "kernel_shape",
    "pads",
    "strides",
];

/// Plans an fp32 Conv node with a fused activation.
pub fn plan_conv_f32(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
    act: Activation,
) -> Result<ConvF32, OpsError> {
    attrs::only(node, CONV_ATTRS)?;
    let (xt, xs) = shape_of(inputs, 0, "Conv")?;
    if xt != DataType::F32 {
        return Err(OpsError::Unsupported(format!(
            "Conv of {} (float is supported)",
            xt.name()
        )));
    }
    let w = get(inputs, 1)
        .ok_or_else(|| OpsError::MissingInput("Conv: W must be a constant".into()))?;
    act.check()?;
    let g = attrs::conv_geom(node, &as_nchw(xs, opts.layout), w.shape())?;
    let max_bytes = opts.tensor_limit();
    g.check_tensors("Conv", 4, 4, [0; 4], max_bytes)?;
    let nhwc = opts.layout == crate::Layout::Nhwc;
    let build_f32 = |g: &ConvGeom, a, wv, bias, act, threads| {
        build_f32(g, a, wv, bias, act, threads, max_bytes).map(|mut p| {
            p.nhwc = nhwc;
            p
        })
    };
    let wv = w.as_f32("Conv W")?;
    let bias = match get(inputs, 2) {
        Some(b) => {
            let v = b.as_f32("Conv B")?;
            if v.len() != g.m {
                return Err(OpsError::Shape(format!(
                    "Conv: B has {} elements for {} output channels",
                    v.len(),
                    g.m
                )));
            }
            Some(v)
        }
        None => {
            if matches!(inputs.get(2), Some(PlanInput::Runtime { .. })) {
                return Err(OpsError::MissingInput("Conv: B must be a constant".into()));
            }
            None
        }
    };
    let threads = threads_for(opts);
    let cands = fp32_candidates(&g);
    if let Some(a) = opts.algorithm {
        return build_f32(&g, a, wv, bias, act, threads);
    }
    if opts.autotune && cands.len() > 1 {
        let x = limits::filled(g.n * g.c * g.h * g.w, 0.5f32, "Conv autotune input")?;
        let mut best: Option<(std::time::Duration, ConvF32)> = None;
        for a in cands {
            let Ok(p) = build_f32(&g, a, wv, bias, act, threads) else {
                continue;
            };
            let _ = p.run_f32(&x);
            let t0 = std::time::Instant::now();
            for _ in 0..3 {
                p.run_f32(&x)?;
            }
            let t = t0.elapsed();
            if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
                best = Some((t, p));
            }
        }
        return best
            .map(|b| b.1)
            .ok_or_else(|| OpsError::Kernel("no algorithm could plan this convolution".into()));
    }
    // Default order: the first candidate that plans (depthwise, winograd, fft, im2col).
    let mut last = None;
    for a in cands {
        match build_f32(&g, a, wv, bias, act, threads) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| OpsError::Kernel("no algorithm".into())))
}

enum QKernel {
    /// Boxed: a plan is ~0.5 KiB (the kernel table and the fused output stage), the other
    /// variants much less; the depthwise and Winograd plans (~0.6 and ~0.4 KiB) too.
    Direct(Box<qconv_direct::QConv2d>),
    Depthwise(Box<depthwise::QDepthwise>),
    Winograd(Box<winograd::int8::WinogradInt8>),
}

/// Output of an int8 convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QOut {
    U8,
    I8,
    I32,
}

/// A planned QLinearConv / ConvInteger.
pub struct ConvQ8 {
    op: &'static str,
    g: ConvGeom,
    /// Padding beyond what the kernels take (ONNX allows pads wider than the kernel): added to
    /// the input, filled with the input zero point, before the kernel runs.
    extra: [usize; 4],
    x_zp: i32,
    nhwc: bool,
    kernel: QKernel,
    x_type: QType,
    out: QOut,
    par: Parallel,
}

/// Adds `extra` padding (top, left, bottom, right) around an NHWC tensor, filled with `fill`.
/// Sizes were checked against the tensor limit at plan time ([`ConvGeom::check_tensors`]).
fn pad_nhwc<T: Copy>(
    x: &[T],
    g: &ConvGeom,
    extra: [usize; 4],
    fill: T,
) -> Result<Vec<T>, OpsError> {
    let (ph, pw) = (g.h + extra[0] + extra[2], g.w + extra[1] + extra[3]);
    let row = g.w * g.c;
    let mut p = limits::filled(g.n * ph * pw * g.c, fill, "padded input")?;
    for b in 0..g.n {
        for y in 0..g.h {
            let dst = ((b * ph + y + extra[0]) * pw + extra[1]) * g.c;
            p[dst..dst + row].copy_from_slice(&x[(b * g.h + y) * row..][..row]);
        }
    }
    Ok(p)
}

impl ConvQ8 {
    /// The output shape in the plan's layout.
    pub fn output_shape(&self) -> Vec<usize> {
        out_shape(&self.g, self.nhwc)
    }

    /// Runs the planned kernel on an NHWC input of `h × w` pixels (already padded by `extra`).
    fn exec(&self, x: Input8<'_>, h: usize, w: usize, y: Output8<'_>) -> Result<(), OpsError> {
        let g = &self.g;
        let kern = |e: &dyn std::fmt::Display| OpsError::Kernel(e.to_string());
        match &self.kernel {
            QKernel::Direct(p) => p.run(x, g.n, h, w, g.c, y, &self.par).map_err(|e| kern(&e)),
            QKernel::Depthwise(p) => p.run(x, g.n, h, w, y, &self.par).map_err(|e| kern(&e)),
            QKernel::Winograd(p) => p.run(x, g.n, h, w, g.c, y, &self.par).map_err(|e| kern(&e)),
        }
    }

    /// The steady-state path of an NHWC u8 → u8 plan ([`crate::Layout::Nhwc`], u8 activations,
    /// u8 output): runs into `y` with no allocation and no layout conversion. Other plans (NCHW,
    /// i8, i32 outputs, or pads wider than the kernel) use [`Plan::run`].
    pub fn run_nhwc_u8_into(&self, x: &[u8], y: &mut [u8]) -> Result<(), OpsError> {
        let g = &self.g;
        if !self.nhwc || self.x_type != QType::U8 || self.out != QOut::U8 || self.extra != [0; 4] {
            return Err(OpsError::Unsupported(format!(
                "{}: run_nhwc_u8_into needs an NHWC u8 -> u8 plan without extra padding",
                self.op
            )));
        }
        let (nx, ny) = (g.n * g.h * g.w * g.c, g.n * g.oh * g.ow * g.m);
        if x.len() != nx || y.len() != ny {
            return Err(OpsError::Shape(format!(
                "{}: buffers of {}/{} elements, the plan expects {nx}/{ny}",
                self.op,
                x.len(),
                y.len()
            )));
        }
        self.exec(Input8::U8(x), g.h, g.w, Output8::U8(y))
    }

    /// The input as NHWC, with the `extra` padding added.
    fn nhwc_input<'x, T: Copy + Default>(
        &self,
        x: &'x [T],
        fill: T,
    ) -> Result<std::borrow::Cow<'x, [T]>, OpsError> {
        use std::borrow::Cow;
        let g = &self.g;
        let xn: Cow<'x, [T]> = if self.nhwc {
            Cow::Borrowed(x)
        } else {
            Cow::Owned(layout::nchw_to_nhwc(x, g.n, g.c, g.h, g.w)?)
        };
        if self.extra == [0; 4] {
            Ok(xn)
        } else {
            Ok(Cow::Owned(pad_nhwc(&xn, g, self.extra, fill)?))
        }
    }

    /// An NHWC kernel output as the plan's output tensor.
    fn output_tensor<T: Copy + Default>(
        &self,
        yn: Vec<T>,
        make: fn(Vec<usize>, Vec<T>) -> Result<Tensor, OpsError>,
    ) -> Result<Tensor, OpsError> {
        let g = &self.g;
        let y = if self.nhwc {
            yn
        } else {
            layout::nhwc_to_nchw(&yn, g.n, g.m, g.oh, g.ow)?
        };
        make(out_shape(g, self.nhwc), y)
    }
}

impl Plan for ConvQ8 {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, self.op, "x")?;
        let g = &self.g;
        check_input_shape(self.op, x, g, self.nhwc)?;
        let ylen = g.n * g.m * g.oh * g.ow;
        let e = self.extra;
        let (ph, pw) = (g.h + e[0] + e[2], g.w + e[1] + e[3]);
        // The zero point fits the input type (checked at plan time), so the casts are exact.
        let (xn_u8, xn_i8);
        let xin = match (x.data(), self.x_type) {
            (TensorData::U8(v), QType::U8) => {
                xn_u8 = self.nhwc_input(v, self.x_zp as u8)?;
                Input8::U8(&xn_u8)
            }
            (TensorData::I8(v), QType::I8) => {
                xn_i8 = self.nhwc_input(v, self.x_zp as i8)?;
                Input8::I8(&xn_i8)
            }
            _ => {
                return Err(OpsError::Type(format!(
                    "{}: x is {}, the plan expects {:?}",
                    self.op,
                    x.dtype().name(),
                    self.x_type
                )))
            }
        };
        let y = match self.out {
            QOut::U8 => {
                let mut yn = limits::filled(ylen, 0u8, self.op)?;
                self.exec(xin, ph, pw, Output8::U8(&mut yn))?;
                self.output_tensor(yn, Tensor::u8)?
            }
            QOut::I8 => {
                let mut yn = limits::filled(ylen, 0i8, self.op)?;
                self.exec(xin, ph, pw, Output8::I8(&mut yn))?;
                self.output_tensor(yn, Tensor::i8)?
            }
            QOut::I32 => {
                let mut yn = limits::filled(ylen, 0i32, self.op)?;
                self.exec(xin, ph, pw, Output8::I32(&mut yn))?;
                self.output_tensor(yn, Tensor::i32)?
            }
        };
        Ok(vec![y])
    }
    fn describe(&self) -> String {
        match &self.kernel {
            QKernel::Direct(p) => format!("qconv-direct {}", p.kernel().name),
            QKernel::Depthwise(p) => format!("depthwise int8 {}", p.name()),
            QKernel::Winograd(p) => format!("winograd int8 F(2x2,3x3) {}", p.name()),
        }
    }
}

fn zps(t: Option<&Tensor>, what: &str) -> Result<Option<(QType, Vec<i32>)>, OpsError> {
    Ok(match t {
        None => None,
        Some(t) => Some(match t.data() {
            TensorData::U8(v) => (QType::U8, v.iter().map(|&x| i32::from(x)).collect()),
            TensorData::I8(v) => (QType::I8, v.iter().map(|&x| i32::from(x)).collect()),
            _ => {
                return Err(OpsError::Type(format!(
                    "{what} must be uint8 or int8, got {}",
                    t.dtype().name()
                )))
            }
        }),
    })
}

/// What the validation phase of [`plan_conv_q8`] resolved from the node and its constants.
struct Q8Spec<'a> {
    op: &'static str,
    g: ConvGeom,
    x_type: QType,
    x_zp: i32,
    /// OIHW weights, as the node holds them.
    w: Input8<'a>,
    /// One weight zero point per output channel.
    w_zps: Vec<i32>,
    out: QOut,
    stage: OutputStage,
    bias: Option<Vec<i32>>,
}

/// Plans QLinearConv / ConvInteger: validate → choose the algorithm → build its kernel.
pub fn plan_conv_q8(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
    act: Activation,
) -> Result<ConvQ8, OpsError> {
    let spec = validate_q8(node, inputs, opts, act)?;
    let (op, g) = (spec.op, &spec.g);
    // The kernels take padding up to the dilated kernel extent minus one; the rest is added to
    // the input at run time.
    let ext = [
        (g.kernel[0] - 1) * g.dilation[0],
        (g.kernel[1] - 1) * g.dilation[1],
    ];
    let kpad = [
        g.pad[0].min(ext[0]),
        g.pad[1].min(ext[1]),
        g.pad[2].min(ext[0]),
        g.pad[3].min(ext[1]),
    ];
    let extra = [
        g.pad[0] - kpad[0],
        g.pad[1] - kpad[1],
        g.pad[2] - kpad[2],
        g.pad[3] - kpad[3],
    ];
    let out_bytes = if spec.out == QOut::I32 { 4 } else { 1 };
    g.check_tensors(op, 1, out_bytes, extra, opts.tensor_limit())?;
    let alg = choose_q8(g, opts);
    let kernel = match build_q8(&spec, alg, kpad) {
        // The int8 Winograd refuses weights past its overflow bound (4x tighter than the
        // direct kernel's): a choice of ours falls back to the direct kernel, which reports
        // its own error if it has one; a caller's choice stands.
        Err(_) if alg == Algorithm::Winograd && opts.algorithm.is_none() => {
            build_q8(&spec, Algorithm::QConvDirect, kpad)?
        }
        r => r?,
    };
    Ok(ConvQ8 {
        op,
        g: spec.g,
        extra,
        x_zp: spec.x_zp,
        nhwc: opts.layout == crate::Layout::Nhwc,
        kernel,
        x_type: spec.x_type,
        out: spec.out,
        par: Parallel::new(threads_for(opts)),
    })
}

/// Plan phase 1: attributes, geometry, operand types, zero points, output stage and bias.
fn validate_q8<'a>(
    node: &Node,
    inputs: &[PlanInput<'a>],
    opts: &Options,
    act: Activation,
) -> Result<Q8Spec<'a>, OpsError> {
    attrs::only(node, CONV_ATTRS)?;
    let qlinear = node.op_type == "QLinearConv";
    let op: &'static str = if qlinear {
        "QLinearConv"
    } else {
        "ConvInteger"
    };
    let (xt, xs0) = shape_of(inputs, 0, op)?;
    let xs_nchw = as_nchw(xs0, opts.layout);
    let x_type = match xt {
        DataType::U8 => QType::U8,
        DataType::I8 => QType::I8,
        o => {
            return Err(OpsError::Type(format!(
                "{op}: x must be uint8 or int8, got {}",
                o.name()
            )))
        }
    };
    let need = |i: usize, what: &str| {
        get(inputs, i)
            .ok_or_else(|| OpsError::MissingInput(format!("{op}: {what} must be a constant")))
    };
    let opt = |i: usize| get(inputs, i);
    // Input positions differ: QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B);
    // ConvInteger(x, w, x_zp, w_zp).
    let (w, x_zp_t, w_zp_t) = if qlinear {
        (
            need(3, "w")?,
            Some(need(2, "x_zero_point")?),
            Some(need(5, "w_zero_point")?),
        )
    } else {
        (need(1, "w")?, opt(2), opt(3))
    };
    act.check()?;
    let g = attrs::conv_geom(node, &xs_nchw, w.shape())?;
    let x_zp = match zps(x_zp_t, &format!("{op} x_zero_point"))? {
        None => 0,
        Some((t, v)) => {
            if t != x_type {
                return Err(OpsError::Type(format!(
                    "{op}: x_zero_point type differs from x"
                )));
            }
            if v.is_empty() || v.iter().any(|&z| z != v[0]) {
                return Err(OpsError::Unsupported(format!(
                    "{op}: x_zero_point must be one value"
                )));
            }
            v[0]
        }
    };
    let (w8, w_zps) = q8_weights(op, w, w_zp_t, g.m)?;
    let (out, stage) = if qlinear {
        q8_output_stage(op, &need, g.m, act)?
    } else {
        (QOut::I32, OutputStage::RawI32)
    };
    let bias = if qlinear { q8_bias(inputs, g.m)? } else { None };
    Ok(Q8Spec {
        op,
        g,
        x_type,
        x_zp,
        w: w8,
        w_zps,
        out,
        stage,
        bias,
    })
}

/// The weights as an 8-bit view and one zero point per output channel.
fn q8_weights<'a>(
    op: &str,
    w: &'a Tensor,
    w_zp_t: Option<&Tensor>,
    m: usize,
) -> Result<(Input8<'a>, Vec<i32>), OpsError> {
    let (w_type, w8) = match w.data() {
        TensorData::U8(v) => (QType::U8, Input8::U8(v)),
        TensorData::I8(v) => (QType::I8, Input8::I8(v)),
        _ => {
            return Err(OpsError::Type(format!(
                "{op}: w must be uint8 or int8, got {}",
                w.dtype().name()
            )))
        }
    };
    let w_zps: Vec<i32> = match zps(w_zp_t, &format!("{op} w_zero_point"))? {
        None => vec![0],
        Some((t, v)) => {
            if t != w_type {
                return Err(OpsError::Type(format!(
                    "{op}: w_zero_point type differs from w"
                )));
            }
            if v.len() != 1 && v.len() != m {
                return Err(OpsError::Shape(format!(
                    "{op}: {} weight zero points for {m} output channels",
                    v.len(),
                )));
            }
            v
        }
    };
    let full = if w_zps.len() == 1 {
        limits::filled(m, w_zps[0], &format!("{op} weight zero points"))?
    } else {
        w_zps
    };
    Ok((w8, full))
}

/// QLinearConv's output type and requantization (ONNX Runtime's: f32 multiplier
/// `x_scale·w_scale/y_scale`, round half to even, saturate; a fused activation clamps in the
/// quantized domain).
fn q8_output_stage<'a>(
    op: &str,
    need: &impl Fn(usize, &str) -> Result<&'a Tensor, OpsError>,
    m: usize,
    act: Activation,
) -> Result<(QOut, OutputStage), OpsError> {
    let f = |i: usize, what: &str| -> Result<Vec<f32>, OpsError> {
        Ok(need(i, what)?.as_f32(&format!("{op} {what}"))?.to_vec())
    };
    let x_scale = f(1, "x_scale")?;
    let w_scale = f(4, "w_scale")?;
    let y_scale = f(6, "y_scale")?;
    for (v, what) in [
        (&x_scale, "x_scale"),
        (&w_scale, "w_scale"),
        (&y_scale, "y_scale"),
    ] {
        crate::positive_scales(v, &format!("{op} {what}"))?;
    }
    let (y_type, y_zp) = match zps(Some(need(7, "y_zero_point")?), "QLinearConv y_zero_point")? {
        Some((t, v)) if v.len() == 1 => (t, v[0]),
        _ => {
            return Err(OpsError::Unsupported(
                "QLinearConv: y_zero_point must be one value".into(),
            ))
        }
    };
    if x_scale.len() != 1 || y_scale.len() != 1 || (w_scale.len() != 1 && w_scale.len() != m) {
        return Err(OpsError::Shape(format!(
            "QLinearConv: x_scale ({}) and y_scale ({}) must be scalars and w_scale ({}) 1 or {m} values",
            x_scale.len(),
            y_scale.len(),
            w_scale.len(),
        )));
    }
    let scales: Vec<f32> = w_scale
        .iter()
        .map(|&ws| x_scale[0] * ws / y_scale[0])
        .collect();
    let q = |e: quant_params::QuantError| OpsError::Quantization(format!("{op}: {e}"));
    let (lo, hi) = {
        let (l, h) = act.bounds();
        let inv = 1.0 / y_scale[0];
        // In i64 with saturating float casts: a bound far outside the output type clamps to the
        // type's end (an i32 add here wrapped in release builds, turning a huge bound into "no
        // clamp" or the opposite end).
        let q = |b: f32| {
            ((b * inv).round_ties_even() as i64)
                .saturating_add(i64::from(y_zp))
                .clamp(i64::from(y_type.min()), i64::from(y_type.max())) as i32
        };
        let ql = if l.is_finite() { q(l) } else { y_type.min() };
        let qh = if h.is_finite() { q(h) } else { y_type.max() };
        (ql.min(qh), qh)
    };
    let out = if y_type == QType::U8 {
        QOut::U8
    } else {
        QOut::I8
    };
    let stage = if scales.len() == 1 {
        OutputStage::PerTensor(
            Requantizer::new(RequantScheme::Fp32, scales[0], y_zp, y_type)
                .map_err(q)?
                .with_clamp(lo, hi)
                .map_err(q)?,
        )
    } else {
        OutputStage::PerChannel(
            PerChannelRequantizer::new(RequantScheme::Fp32, &scales, y_zp, y_type)
                .map_err(q)?
                .with_clamp(lo, hi)
                .map_err(q)?,
        )
    };
    Ok((out, stage))
}

/// QLinearConv's optional i32 bias, one value per output channel.
fn q8_bias(inputs: &[PlanInput<'_>], m: usize) -> Result<Option<Vec<i32>>, OpsError> {
    let Some(b) = get(inputs, 8) else {
        return Ok(None);
    };
    let v = b.as_i32("QLinearConv B")?.to_vec();
    if v.len() != m {
        return Err(OpsError::Shape(format!(
            "QLinearConv: B has {} values for {m} output channels",
            v.len(),
        )));
    }
    Ok(Some(v))
}

/// Whether the int8 depthwise kernels take this geometry.
fn q8_depthwise_ok(g: &ConvGeom) -> bool {
    g.group > 1 && g.group == g.c && g.m.is_multiple_of(g.c)
}

/// Whether the exact int8 Winograd F(2x2, 3x3) takes this geometry.
fn q8_winograd_ok(g: &ConvGeom) -> bool {
    g.group == 1 && g.kernel == [3, 3] && g.stride == [1, 1] && g.dilation == [1, 1] && !g.one_d
}

/// Fewest output channels for which `choose_q8` sends a 3x3 stride-1 int8 convolution to the
/// exact int8 Winograd F(2x2,3x3) on ARM without a dot product and on x86 without VNNI (there
/// assumed, not counted). Executed instructions under QEMU `cortex-a53` (`scripts/arm-count.sh
/// --files bench/conv3x3-int8.json --cpus cortex-a53 --q8-conv-algorithm qconv-direct|winograd`,
/// bench-results/aarch64-qemu/conv3x3-*), Winograd / direct `igemm_8x8c4__neon`: 8->8 112² 3.27x, 16->16 56² 1.33x (its per-tile transforms
/// dominate), 32->32 28² 0.74x, 3->32 112² 0.51x, 64->64 28²/56² 0.60x, 128->128 14² 0.60x,
/// 256->256 7² 0.65x, 512->512 7² 0.64x, 64->64 9² 0.88x.
const Q8_WINOGRAD_MIN_OUT_CHANNELS: usize = 32;

/// Plan phase 2: the algorithm (the caller's, else depthwise where it applies, else Winograd
/// where it pays, else the direct kernel).
fn choose_q8(g: &ConvGeom, opts: &Options) -> Algorithm {
    match opts.algorithm {
        Some(a) => a,
        None if q8_depthwise_ok(g) => Algorithm::Depthwise,
        // The exact int8 Winograd does 2.25x fewer multiplies but more data movement. It pays
        // where the direct kernel multiplies with widening multiply-accumulates: ARMv8.0 NEON
        // without dot product (`vmlal`), and x86 without VNNI (`vpmaddwd` on widened operands,
        // as the Winograd kernel does: the same multiplies per cycle, 2.25x fewer of them; Q3 on
        // an AVX2-only Zen 3 in bench-results/x86_64-zen3/avx2-int8.md), from 32 output
        // channels up (`Q8_WINOGRAD_MIN_OUT_CHANNELS`, counted on ARM; assumed, not measured, on
        // AVX2). Where the direct kernel has SDOT (neoverse-n1: it executes 0.33-0.66x
        // Winograd's instructions on every counted shape), I8MM or AVX-512 VNNI, the direct
        // kernel is the faster one. The question goes to qgemm's table: which entry would the
        // direct kernel run? And to Winograd's: it pays only with a SIMD tuple GEMM, or where
        // the direct kernel is scalar too (an ISA cap of `scalar`): on 32-bit ARM, Winograd's
        // int8 table has only its scalar entry while qgemm has `igemm_4x8c4__aarch32_neon`, so
        // the direct kernel runs there.
        None if q8_winograd_ok(g)
            && g.m >= Q8_WINOGRAD_MIN_OUT_CHANNELS
            && !q8_direct_gathers(g)
            && q8_winograd_pays(qgemm::IGEMM.best().isa, winograd::int8::WGEMM.best().isa) =>
        {
            Algorithm::Winograd
        }
        None => Algorithm::QConvDirect,
    }
}

/// Whether the direct kernel runs this geometry over gathered rows (`qconv_direct`'s first-layer
/// path, aarch64: one group, at most 7 input channels per tap; also weight zero points 0, not
/// known here): then it beats Winograd (3->32 3x3 112², `cortex-a53`: 5.96 M instructions
/// direct, 15.89 M Winograd; with a nonzero weight zero point the direct kernel does not gather
/// and executes 31.5 M).
fn q8_direct_gathers(g: &ConvGeom) -> bool {
    cfg!(target_arch = "aarch64") && g.group == 1 && g.c <= 7
}

/// Whether the exact int8 Winograd beats the direct kernel (for a geometry it takes, from
/// `Q8_WINOGRAD_MIN_OUT_CHANNELS` up), given the ISA levels of the best entries of qgemm's table
/// (the direct kernel) and of Winograd's int8 table: the direct kernel multiplies with widening
/// multiply-accumulates (scalar, ARMv8.0 NEON `vmlal`, AVX2 `vpmaddwd`), and Winograd's tuple
/// GEMM is SIMD unless the direct kernel is scalar as well.
fn q8_winograd_pays(direct: cpu_probe::Isa, winograd: cpu_probe::Isa) -> bool {
    use cpu_probe::Isa;
    matches!(direct, Isa::Scalar | Isa::Neon | Isa::Avx2)
        && (winograd != Isa::Scalar || direct == Isa::Scalar)
}

/// Weights relaid out by `f` (OIHW → what the kernel takes), as an 8-bit view over `keep`.
fn relaid<'k>(
    w: Input8<'_>,
    keep: &'k mut (Vec<u8>, Vec<i8>),
    f_u8: impl FnOnce(&[u8]) -> Result<Vec<u8>, OpsError>,
    f_i8: impl FnOnce(&[i8]) -> Result<Vec<i8>, OpsError>,
) -> Result<Input8<'k>, OpsError> {
    Ok(match w {
        Input8::U8(v) => {
            keep.0 = f_u8(v)?;
            Input8::U8(&keep.0)
        }
        Input8::I8(v) => {
            keep.1 = f_i8(v)?;
            Input8::I8(&keep.1)
        }
    })
}

/// Plan phase 3: the chosen algorithm's kernel plan, weights relaid out for it.
fn build_q8(spec: &Q8Spec<'_>, alg: Algorithm, kpad: [usize; 4]) -> Result<QKernel, OpsError> {
    let (op, g) = (spec.op, &spec.g);
    let kern = |e: String| OpsError::Kernel(format!("{op}: {e}"));
    let mut keep = (Vec::new(), Vec::new());
    Ok(match alg {
        Algorithm::Depthwise if q8_depthwise_ok(g) => {
            let mut desc = depthwise::DwDesc::new(g.kernel, g.stride, kpad, g.c, g.m / g.c);
            desc.dilation = g.dilation;
            let (kh, kw) = (g.kernel[0], g.kernel[1]);
            let weights = relaid(
                spec.w,
                &mut keep,
                |v| layout::dw_to_hwc(v, g.m, kh, kw),
                |v| layout::dw_to_hwc(v, g.m, kh, kw),
            )?;
            QKernel::Depthwise(Box::new(
                depthwise::QDepthwise::new(depthwise::QDepthwiseConfig {
                    desc,
                    input_type: spec.x_type,
                    input_zero_point: spec.x_zp,
                    weights,
                    weight_zero_points: &spec.w_zps,
                    bias: spec.bias.as_deref(),
                    output: spec.stage.clone(),
                    entry: None,
                })
                .map_err(|e| kern(e.to_string()))?,
            ))
        }
        Algorithm::QConvDirect | Algorithm::QGemm => {
            let cg = g.c / g.group;
            let (kh, kw) = (g.kernel[0], g.kernel[1]);
            let weights = relaid(
                spec.w,
                &mut keep,
                |v| layout::oihw_to_ohwi(v, g.m, cg, kh, kw),
                |v| layout::oihw_to_ohwi(v, g.m, cg, kh, kw),
            )?;
            QKernel::Direct(Box::new(
                qconv_direct::QConv2d::new(qconv_direct::QConv2dConfig {
                    desc: qconv_direct::Conv2dDesc {
                        kernel: g.kernel,
                        stride: g.stride,
                        dilation: g.dilation,
                        padding: qconv_direct::Padding::Explicit(kpad),
                        groups: g.group,
                        cin_per_group: cg,
                        cout_per_group: g.m / g.group,
                    },
                    input_type: spec.x_type,
                    input_zero_point: spec.x_zp,
                    weights,
                    weight_zero_points: &spec.w_zps,
                    bias: spec.bias.as_deref(),
                    output: spec.stage.clone(),
                    kernel: None,
                })
                .map_err(|e| kern(e.to_string()))?,
            ))
        }
        Algorithm::Winograd if q8_winograd_ok(g) => {
            let weights = relaid(
                spec.w,
                &mut keep,
                |v| layout::oihw_to_ohwi(v, g.m, g.c, 3, 3),
                |v| layout::oihw_to_ohwi(v, g.m, g.c, 3, 3),
            )?;
            QKernel::Winograd(Box::new(
                winograd::int8::WinogradInt8::new(winograd::int8::Int8Config {
                    desc: winograd::int8::Conv2dDesc::square(
                        3,
                        1,
                        winograd::int8::Padding::Explicit(kpad),
                        1,
                        g.c,
                        g.m,
                    ),
                    input_type: spec.x_type,
                    input_zero_point: spec.x_zp,
                    weights,
                    weight_zero_points: &spec.w_zps,
                    bias: spec.bias.as_deref(),
                    output: spec.stage.clone(),
                    kernels: None,
                })
                .map_err(|e| kern(e.to_string()))?,
            ))
        }
        a => {
            return Err(OpsError::Unsupported(format!(
                "{op}: algorithm {} for this geometry",
                a.name()
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{choose_q8, q8_winograd_pays, Algorithm, ConvGeom, Options};
    use cpu_probe::Isa;

    /// The int8 Winograd rule per pair of table levels: unchanged where Winograd's int8 tuple
    /// GEMM has a SIMD entry (aarch64 NEON, x86 AVX2 and up) and under a `scalar` cap; the
    /// direct kernel where only qgemm has a SIMD entry (32-bit ARM NEON).
    #[test]
    fn winograd_pays_per_table_levels() {
        assert!(q8_winograd_pays(Isa::Scalar, Isa::Scalar));
        assert!(q8_winograd_pays(Isa::Neon, Isa::Neon));
        assert!(q8_winograd_pays(Isa::Avx2, Isa::Avx2));
        assert!(q8_winograd_pays(Isa::Avx2, Isa::Avx512));
        assert!(!q8_winograd_pays(Isa::Neon, Isa::Scalar));
        assert!(!q8_winograd_pays(Isa::NeonDot, Isa::Neon));
        assert!(!q8_winograd_pays(Isa::NeonI8mm, Isa::Neon));
        assert!(!q8_winograd_pays(Isa::Avx512Vnni, Isa::Avx512Vnni));
    }

    /// A first layer (3 input channels) stays on the direct kernel where it gathers rows
    /// (aarch64); elsewhere the usual rule.
    #[test]
    fn first_layers_gather_on_aarch64() {
        let g = ConvGeom {
            n: 1,
            c: 3,
            h: 16,
            w: 16,
            m: 32,
            kernel: [3, 3],
            stride: [1, 1],
            dilation: [1, 1],
            pad: [1; 4],
            group: 1,
            oh: 16,
            ow: 16,
            one_d: false,
        };
        let alg = choose_q8(&g, &Options::default());
        if cfg!(target_arch = "aarch64") {
            assert_eq!(alg, Algorithm::QConvDirect);
        }
        let wide = ConvGeom { c: 8, ..g };
        let pays = q8_winograd_pays(qgemm::IGEMM.best().isa, winograd::int8::WGEMM.best().isa);
        let want = if pays {
            Algorithm::Winograd
        } else {
            Algorithm::QConvDirect
        };
        assert_eq!(choose_q8(&wide, &Options::default()), want);
    }

    /// On this CPU: a 32-channel 3x3 int8 convolution goes to Winograd exactly when the rule
    /// says so for the two tables' best entries (on 32-bit ARM with NEON: never).
    #[test]
    fn winograd_choice_on_this_cpu() {
        let pays = q8_winograd_pays(qgemm::IGEMM.best().isa, winograd::int8::WGEMM.best().isa);
        if cfg!(target_arch = "arm") && Isa::Neon.supported() {
            assert!(!pays);
        }
        if cfg!(target_arch = "aarch64") && qgemm::IGEMM.best().isa == Isa::Neon {
            assert!(pays);
        }
    }
}
