//! # ops
//!
//! Operators with ONNX semantics over the edge-kernels kernel crates: validation, algorithm
//! choice, layout and threading. The arithmetic lives in the kernel crates.
//!
//! Two ways in:
//! * [`plan_node`]: an ONNX node (type + attributes) and the inputs known at plan time (weights,
//!   scales, zero points; the shapes of the others) give a [`Plan`], run on the remaining inputs.
//!   This is how `kbench conformance` runs ONNX's node tests.
//! * typed plans for runtimes that build their own graphs, with fused activations
//!   ([`conv::plan_conv_f32`], [`conv::plan_conv_q8`]).
//!
//! Algorithm choice is made once per plan from the shape and the CPU (see [`conv`]):
//! depthwise → `depthwise`; int8 → `qconv-direct` (1x1 included), except 3x3 stride 1 dense
//! where the direct kernel has no dot-product instruction (scalar, ARMv8.0 NEON, AVX2 without
//! VNNI) → the exact int8 `winograd` F(2x2,3x3); fp32 3x3 stride 1 → `winograd`; fp32 4x4..16x16 stride 1 → `fft-conv`; the rest → im2col + the `gemm` crate.
//! [`Options::algorithm`] forces one, [`Options::autotune`] times the candidates. Layout: ONNX's
//! NCHW at the interface; the quantized kernels and `depthwise` run NHWC and `ops` converts.
//!
//! A runtime running a quantized convolution (u8 activations, per-channel s8 weights):
//!
//! ```
//! use ops::{plan_node, Attribute, Node, Options, PlanInput, Tensor};
//! let x = Tensor::u8(vec![1, 8, 10, 10], vec![130; 800])?;
//! let w = Tensor::i8(vec![16, 8, 3, 3], vec![3; 16 * 8 * 9])?;
//! let (xs, xz) = (Tensor::scalar_f32(0.02), Tensor::u8(vec![], vec![128])?);
//! let ws = Tensor::f32(vec![16], vec![0.01; 16])?;
//! let wz = Tensor::i8(vec![16], vec![0; 16])?;
//! let (ys, yz) = (Tensor::scalar_f32(0.05), Tensor::u8(vec![], vec![0])?);
//! let bias = Tensor::i32(vec![16], vec![100; 16])?;
//! let node = Node::new("QLinearConv").with("pads", Attribute::Ints(vec![1, 1, 1, 1]));
//! let c = PlanInput::Constant;
//! let x_shape = PlanInput::Runtime { dtype: ops::DataType::U8, shape: x.shape() };
//! let plan = plan_node(&node, &[x_shape, c(&xs), c(&xz), c(&w), c(&ws), c(&wz), c(&ys), c(&yz), c(&bias)],
//!     &Options::default())?;
//! let y = plan.run(&[Some(&x)])?;
//! assert_eq!(y[0].shape(), &[1, 16, 10, 10]);
//! println!("{}", plan.describe()); // e.g. "qconv-direct igemm_8x32c4__avx512vnni"
//! # Ok::<(), ops::OpsError>(())
//! ```

pub mod attrs;
pub mod conv;
mod elementwise;
mod fgemm;
pub mod layout;
pub mod limits;
pub mod matmul;
pub mod node;
mod quant;
pub mod tensor;

pub use node::{Attribute, Node};
pub use tensor::{DataType, Tensor, TensorData};

use std::fmt;

/// Why a plan could not be made or run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OpsError {
    /// The operator, attribute value or type combination is not implemented (a conformance SKIP).
    Unsupported(String),
    /// Inconsistent shapes.
    Shape(String),
    /// Wrong element type.
    Type(String),
    /// A bad attribute value.
    Attribute(String),
    /// A required input is missing.
    MissingInput(String),
    /// An invalid quantization parameter (scale, zero point).
    Quantization(String),
    /// A kernel crate refused the problem.
    Kernel(String),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::Unsupported(m) => write!(f, "unsupported: {m}"),
            OpsError::Shape(m) => write!(f, "shape: {m}"),
            OpsError::Type(m) => write!(f, "type: {m}"),
            OpsError::Attribute(m) => write!(f, "attribute: {m}"),
            OpsError::MissingInput(m) => write!(f, "missing input: {m}"),
            OpsError::Quantization(m) => write!(f, "quantization: {m}"),
            OpsError::Kernel(m) => write!(f, "kernel: {m}"),
        }
    }
}

impl std::error::Error for OpsError {}

/// The convolution algorithms `ops` chooses between.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `qgemm` directly (int8 1x1 stride-1 convolutions, MatMul).
    QGemm,
    /// `qconv-direct`: indirection-buffer int8 convolution.
    QConvDirect,
    /// `depthwise`.
    Depthwise,
    /// `winograd`.
    Winograd,
    /// `fft-conv`.
    Fft,
    /// fp32 im2col + the `gemm` crate (the general fallback).
    Im2colGemm,
}

impl Algorithm {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::QGemm => "qgemm",
            Algorithm::QConvDirect => "qconv-direct",
            Algorithm::Depthwise => "depthwise",
            Algorithm::Winograd => "winograd",
            Algorithm::Fft => "fft-conv",
            Algorithm::Im2colGemm => "im2col+gemm",
        }
    }
}

/// Layout of convolution activations at the `ops` interface (weights are always ONNX's OIHW).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// `N×C×H×W` (ONNX).
    #[default]
    Nchw,
    /// `N×H×W×C` (TFLite, QNNPACK): the int8 and depthwise kernels run it without conversion.
    Nhwc,
}

/// Plan-time options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Activation layout of convolution inputs and outputs.
    pub layout: Layout,
    /// Threads per run (`None`: the cores of the fastest cluster, from cpu-probe).
    pub threads: Option<usize>,
    /// Force one algorithm (an `Err` if it cannot run this problem).
    pub algorithm: Option<Algorithm>,
    /// Time the candidate algorithms at plan time and keep the fastest (FFTW's "measure").
    pub autotune: bool,
    /// The largest tensor (output, padded or re-laid-out copy, im2col columns) a plan may
    /// allocate, in bytes; `None`: [`limits::DEFAULT_MAX_TENSOR_BYTES`] (2 GiB). A plan whose
    /// tensors would be larger is an [`OpsError::Shape`] at plan time (or at run time, for
    /// shapes only known then). See [`limits`].
    pub max_tensor_bytes: Option<usize>,
}

impl Options {
    /// [`Options::max_tensor_bytes`] or its default.
    pub fn tensor_limit(&self) -> usize {
        self.max_tensor_bytes
            .unwrap_or(limits::DEFAULT_MAX_TENSOR_BYTES)
    }
}

/// A planned operator: validated, algorithm chosen, weights packed.
pub trait Plan: Send + Sync {
    /// Runs on the inputs, in the node's input order: `None` for omitted inputs; inputs that were
    /// constants at plan time may be `None` or repeated (they are ignored). Returns the outputs
    /// in the node's output order.
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError>;
    /// Which algorithm and micro-kernel this plan runs (e.g. `winograd F(6x6,3x3) avx512`).
    fn describe(&self) -> String;
}

/// What is known about one node input at plan time.
#[derive(Clone, Copy, Debug)]
pub enum PlanInput<'a> {
    /// Omitted optional input (ONNX's empty name).
    Absent,
    /// A value known at plan time (weights, bias, scales, zero points).
    Constant(&'a Tensor),
    /// Only type and shape are known; the value comes at run time.
    Runtime {
        /// Element type.
        dtype: DataType,
        /// Shape.
        shape: &'a [usize],
    },
}

/// The tensor of node input `i` if it was given as a plan-time constant.
pub(crate) fn constant<'a>(inputs: &[PlanInput<'a>], i: usize) -> Option<&'a Tensor> {
    match inputs.get(i) {
        Some(PlanInput::Constant(t)) => Some(t),
        _ => None,
    }
}

/// The run-time input `i` of a plan, or [`OpsError::MissingInput`] naming it (`op`: `name`).
pub(crate) fn input<'t>(
    inputs: &[Option<&'t Tensor>],
    i: usize,
    op: &str,
    name: &str,
) -> Result<&'t Tensor, OpsError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| OpsError::MissingInput(format!("{op}: {name}")))
}

/// `Err` naming `what` unless every scale is finite and > 0.
pub(crate) fn positive_scales(v: &[f32], what: &str) -> Result<(), OpsError> {
    for &s in v {
        quant_params::params::check_scale(what, s)
            .map_err(|e| OpsError::Quantization(e.to_string()))?;
    }
    Ok(())
}

/// Threads for a plan: the option, or the cores of the fastest cluster (cpu-probe); at least 1
/// and at most [`limits::MAX_THREADS`].
pub fn threads_for(opts: &Options) -> usize {
    opts.threads
        .unwrap_or_else(cpu_probe::recommended_threads)
        .clamp(1, limits::MAX_THREADS)
}

/// Plans an ONNX node. Inputs that are constants (initializers) are packed into the plan; the
/// others must be passed to [`Plan::run`] in the same positions.
///
/// Supported: `Conv`, `QLinearConv`, `ConvInteger`, `MatMul`, `Gemm`, `QLinearMatMul`,
/// `MatMulInteger`, `QuantizeLinear`, `DequantizeLinear`, `DynamicQuantizeLinear`, `Relu`,
/// `Clip`. Anything else is [`OpsError::Unsupported`].
pub fn plan_node(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<Box<dyn Plan>, OpsError> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(OpsError::Unsupported(format!(
            "operator {}.{} (only the default ONNX domain)",
            node.domain, node.op_type
        )));
    }
    match node.op_type.as_str() {
        "Conv" => Ok(Box::new(conv::plan_conv_f32(
            node,
            inputs,
            opts,
            conv::Activation::None,
        )?)),
        "QLinearConv" | "ConvInteger" => Ok(Box::new(conv::plan_conv_q8(
            node,
            inputs,
            opts,
            conv::Activation::None,
        )?)),
        "MatMul" | "Gemm" | "MatMulInteger" | "QLinearMatMul" => matmul::plan(node, inputs, opts),
        "QuantizeLinear" | "DequantizeLinear" | "DynamicQuantizeLinear" => {
            quant::plan(node, inputs)
        }
        "Relu" | "Clip" => elementwise::plan(node, inputs),
        o => Err(OpsError::Unsupported(format!("operator {o}"))),
    }
}
