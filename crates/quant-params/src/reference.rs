//! Scalar reference of the bulk element-wise operations: plain loops over the per-element
//! definitions ([`QuantParams::quantize`], [`QuantParams::dequantize`],
//! [`Requantizer::requantize`]). Every kernel variant must equal these bit for bit.

use crate::{QuantParams, Requantizer};

/// ONNX QuantizeLinear of every element, as `i32` (the caller narrows to the type).
pub fn quantize(p: &QuantParams, x: &[f32]) -> Vec<i32> {
    x.iter().map(|&v| p.quantize(v)).collect()
}

/// ONNX DequantizeLinear of every element.
pub fn dequantize(p: &QuantParams, q: &[i32]) -> Vec<f32> {
    q.iter().map(|&v| p.dequantize(v)).collect()
}

/// Requantization of every accumulator.
pub fn requantize(r: &Requantizer, acc: &[i32]) -> Vec<i32> {
    acc.iter().map(|&a| r.requantize(a)).collect()
}

/// `u8` to `i8` with the zero point moved by -128 (`q - 128`, i.e. `q ^ 0x80`).
pub fn u8_to_i8(x: &[u8]) -> Vec<i8> {
    x.iter().map(|&v| (i32::from(v) - 128) as i8).collect()
}

/// `i8` to `u8` with the zero point moved by +128.
pub fn i8_to_u8(x: &[i8]) -> Vec<u8> {
    x.iter().map(|&v| (i32::from(v) + 128) as u8).collect()
}
