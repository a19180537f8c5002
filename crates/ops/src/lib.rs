//! # ops
//!
//! Operators with ONNX semantics over the edge-kernels kernel crates: validation, algorithm
//! choice, layout and threading. The arithmetic lives in the kernel crates.
//!
//! Two ways in:
//! * [`plan_node`]: an ONNX node (type + attributes) and the inputs known at plan time (weights,
//!   scales, zero points; the shapes of the others) give a [`Plan`], run on the remaining inputs.
//!   This is how `kbench conformance` runs ONNX's node tests.
//! * typed plans for runtimes that build their own graphs (see [`conv`]).

pub mod node;
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

/// Plan-time options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Threads per run (`None`: the cores of the fastest cluster, from cpu-probe).
    pub threads: Option<usize>,
    /// Force one algorithm (an `Err` if it cannot run this problem).
    pub algorithm: Option<Algorithm>,
    /// Time the candidate algorithms at plan time and keep the fastest (FFTW's "measure").
    pub autotune: bool,
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

/// Plans an ONNX node. Inputs that are constants (initializers) are packed into the plan; the
/// others must be passed to [`Plan::run`] in the same positions.
pub fn plan_node(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<Box<dyn Plan>, OpsError> {
    let _ = (inputs, opts);
    Err(OpsError::Unsupported(format!(
        "operator {}{}",
        if node.domain.is_empty() {
            String::new()
        } else {
            format!("{}.", node.domain)
        },
        node.op_type
    )))
}
