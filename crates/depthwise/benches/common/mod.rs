//! The workloads and plan builders shared by the benches (`depthwise`, `dw_min`) and the
//! `dw_insn` example (`#[path]`-included there), so a workload means the same everywhere.
//!
//! D1: 3x3 144 channels 56x56 stride 1; D2: 3x3 96 channels 112x112 stride 2; D3: 5x5 240
//! channels 14x14 stride 1 (int8: u8 activations, zero point 128, s8 weights, per-tensor Fp32
//! requantization to u8); DF: D1 in fp32 (clamp `[0, 6]`); `*-14x14`: cache-resident D1 / DF.

#![allow(dead_code)]

use depthwise::{
    Depthwise32, DwDesc, Entry, F32Kernels, Input8, Int8Kernels, OutputStage, QDepthwise,
    QDepthwiseConfig,
};
use quant_params::{QType, RequantScheme, Requantizer};

/// Deterministic pseudo-random bytes.
pub fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// Deterministic pseudo-random floats in `[-1, 1)`.
pub fn data_f32(n: usize, seed: u32) -> Vec<f32> {
    data(n, seed)
        .into_iter()
        .map(|b| f32::from(b) / 128.0 - 1.0)
        .collect()
}

/// A square `k x k` depthwise layer with stride `s`, "same" padding and multiplier 1.
pub fn dw(k: usize, s: usize, ch: usize) -> DwDesc {
    DwDesc::new([k, k], [s, s], [k / 2; 4], ch, 1)
}

/// The workloads by id: (id, layer, input height = width).
pub const WORKLOADS: [(&str, [usize; 3], usize); 6] = [
    ("D1", [3, 1, 144], 56),
    ("D2", [3, 2, 96], 112),
    ("D3", [5, 1, 240], 14),
    ("DF", [3, 1, 144], 56),
    ("D1-14x14", [3, 1, 144], 14),
    ("DF-14x14", [3, 1, 144], 14),
];

/// The layer and input size of workload `id`.
pub fn workload(id: &str) -> Option<(DwDesc, usize)> {
    WORKLOADS
        .iter()
        .find(|w| w.0 == id)
        .map(|&(_, [k, s, ch], h)| (dw(k, s, ch), h))
}

/// (input, output, weights) element counts of `d` on an `h x w` image.
pub fn sizes(d: &DwDesc, h: usize, w: usize) -> (usize, usize, usize) {
    let (oh, ow) = d.output_size(h, w).expect("the workload has an output");
    (h * w * d.channels, oh * ow * d.cout(), d.taps() * d.cout())
}

/// The int8 weights of a workload (`clip`: kept in `[-127, 127]`).
pub fn weights_i8(n: usize, clip: bool) -> Vec<i8> {
    data(n, 2)
        .into_iter()
        .map(|b| if clip { (b as i8).max(-127) } else { b as i8 })
        .collect()
}

/// The int8 plan of a workload: u8 activations (zero point 128), weights `wt` (zero point 0),
/// per-tensor Fp32 requantization (scale 0.002, zero point 128) to u8, with entry `v`.
pub fn q8_plan(
    d: DwDesc,
    wt: &[i8],
    bias: Option<&[i32]>,
    v: &'static Entry<Int8Kernels>,
) -> QDepthwise {
    let r = Requantizer::new(RequantScheme::Fp32, 0.002, 128, QType::U8).expect("requantizer");
    QDepthwise::new(QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(wt),
        weight_zero_points: &[0],
        bias,
        output: OutputStage::PerTensor(r),
        entry: Some(v),
    })
    .expect("int8 plan")
}

/// The fp32 plan of a workload (weights and bias from [`data_f32`], clamp `[0, 6]`) with entry
/// `v`, and its input.
pub fn f32_plan(
    d: DwDesc,
    h: usize,
    w: usize,
    v: &'static Entry<F32Kernels>,
) -> (Depthwise32, Vec<f32>) {
    let (n_in, _, n_w) = sizes(&d, h, w);
    let (x, wt, b) = (data_f32(n_in, 3), data_f32(n_w, 4), data_f32(d.cout(), 5));
    let plan = Depthwise32::new(d, &wt, Some(&b), (0.0, 6.0), Some(v)).expect("fp32 plan");
    (plan, x)
}
