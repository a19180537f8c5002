//! # qconv-direct
//!
//! 8-bit NHWC convolution computed directly from the input through an indirection buffer
//! (QNNPACK style, no im2col), on the micro-kernels of `qgemm`.
//!
//! This crate currently holds the convolution geometry ([`ConvGeometry`]) and the scalar
//! reference ([`reference`](mod@reference)); the plan and indirect micro-kernels land with the qconv-direct issue.

pub mod reference;

/// Geometry of a 2-D convolution over an NHWC tensor.
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
