//! # ops
//!
//! Operators with ONNX semantics over the edge-kernels kernel crates: validation, algorithm
//! choice, layout and threading. The arithmetic lives in the kernel crates.
//!
//! This crate currently holds the algorithm names ([`Algorithm`]); the operator plans land with
//! the ops issue.

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
        }
    }
}
