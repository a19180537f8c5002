//! # depthwise
//!
//! Depthwise convolution over NHWC tensors, 8-bit and fp32.
//!
//! This crate currently holds the fp32 scalar reference ([`reference`](mod@reference)); the packed unipass /
//! multipass kernels land with the depthwise issue.
//!
//! ```
//! // One channel, 3x3 image of ones, 3x3 kernel of ones, no padding: one output, 9.
//! let out = depthwise::reference::depthwise_f32(3, 3, 1, 1, &[1.0; 9], 3, 3, &[1.0; 9], 1, 0);
//! assert_eq!(out, vec![9.0]);
//! ```

pub mod reference;
