//! The C example's expected values (`examples/c/kbench_expected.h`): kbench's workloads Q1, Q5
//! and D3 (inputs, weights and quantization of `crates/kbench/src/cases.rs`) computed with the
//! scalar reference kernels, hashed with FNV-1a, must equal the header's constants; and the
//! same workloads through the C ABI (as the C program calls it) must give the same bytes.

mod common;

use common::*;
use edge_kernels::*;
use qconv_direct::ConvGeometry;
use quant_params::{QType, RequantScheme, Requantizer};
use std::ptr::{null, null_mut};

const A_SCALE: f32 = 0.02;
const A_ZP: i32 = 128;
const W_SCALE: f32 = 0.005;
const Y_SCALE: f32 = 0.1;
const Y_ZP: i32 = 128;

/// kbench's generator (cases.rs `data`).
fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

fn weights(n: usize) -> Vec<i8> {
    data(n, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn requant(acc: &[i32]) -> Vec<u8> {
    let r = Requantizer::new(
        RequantScheme::Fp32,
        A_SCALE * W_SCALE / Y_SCALE,
        Y_ZP,
        QType::U8,
    )
    .unwrap();
    acc.iter().map(|&a| r.requantize(a) as u8).collect()
}

/// Checks `bytes` against the `#define NAME 0x...ULL` constant of the C example's header
/// (`examples/c/kbench_expected.h`, read at run time: a published copy of this crate has no
/// `examples/`, and the comparison is then skipped with a message; the comparison with the
/// reference above runs anyway).
fn check_expected(name: &str, bytes: &[u8]) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/c/kbench_expected.h"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("SKIP {name}: {path} not found (not a repository checkout)");
        return;
    };
    let line = text
        .lines()
        .find(|l| l.starts_with("#define") && l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("{name} missing from kbench_expected.h"));
    let v = line.split_whitespace().nth(2).unwrap();
    let want = u64::from_str_radix(v.trim_start_matches("0x").trim_end_matches("ULL"), 16).unwrap();
    let got = fnv1a(bytes);
    assert_eq!(got, want, "{name}: {got:#018x}");
}

fn quant(w_scale: &f32) -> EkQuantU8S8 {
    EkQuantU8S8 {
        input_scale: A_SCALE,
        input_zero_point: A_ZP as u8,
        weight_scales: w_scale,
        num_weight_scales: 1,
        output_scale: Y_SCALE,
        output_zero_point: Y_ZP as u8,
    }
}

fn geometry(h: usize, w: usize, k: usize, pad: usize) -> ConvGeometry {
    ConvGeometry {
        in_h: h,
        in_w: w,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        pad: [pad; 4],
    }
}

#[test]
fn q1_gemm_1x1024x1000() {
    let (m, k, n) = (1, 1024, 1000);
    let a = data(m * k, 1);
    let b = weights(k * n);
    let acc = qgemm::reference::gemm_i32(m, n, k, &a, k, A_ZP, &b, n, &vec![0; n]);
    let want = requant(&acc);
    let ws = W_SCALE;
    let q = quant(&ws);
    let g = qgemm_create(k, n, &b, &q, 1);
    let mut y = vec![0u8; m * n];
    // SAFETY: a live handle, destroyed once.
    unsafe {
        ok(qgemm_run(g, m, &a, &mut y));
        ek_qgemm_u8s8_destroy(g);
    }
    assert_eq!(y, want, "C ABI vs reference");
    check_expected("EK_EXPECTED_Q1_FNV1A", &want);
}

#[test]
fn q5_grouped_1x1_conv() {
    let (h, w, c, groups) = (28, 28, 240, 3);
    let cin_g = c / groups;
    let x = data(h * w * c, 1);
    let wt = weights(c * cin_g);
    let acc = qconv_direct::reference::conv_i32(
        &geometry(h, w, 1, 0),
        groups,
        cin_g,
        c / groups,
        &x,
        c,
        A_ZP,
        &wt,
        &vec![0; c],
    );
    let want = requant(&acc);
    let d = EkConvDesc {
        batch: 1,
        height: h,
        width: w,
        in_channels: c,
        out_channels: c,
        kernel_h: 1,
        kernel_w: 1,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        groups,
        ..EkConvDesc::default()
    };
    let ws = W_SCALE;
    let q = quant(&ws);
    let mut conv = null_mut();
    let mut y = vec![0u8; want.len()];
    let mut shape = [0usize; 4];
    // SAFETY: every pointer is valid for the stated lengths; the handle is destroyed once.
    unsafe {
        ok(ek_qconv_u8s8_create(
            &d,
            wt.as_ptr(),
            wt.len(),
            null(),
            0,
            &q,
            1,
            &mut conv,
        ));
        ok(ek_qconv_u8s8_output_shape(conv, shape.as_mut_ptr()));
        ok(qconv_run(conv, &x, &mut y));
        ek_qconv_u8s8_destroy(conv);
    }
    assert_eq!(shape, [1, h, w, c]);
    assert_eq!(y, want, "C ABI vs reference");
    check_expected("EK_EXPECTED_Q5_FNV1A", &want);
}

#[test]
fn d3_depthwise_5x5_node() {
    let (h, w, c, k) = (14, 14, 240, 5);
    let x = data(h * w * c, 1);
    let w_hwc = weights(k * k * c);
    let mut w_oihw = vec![0i8; w_hwc.len()];
    for ch in 0..c {
        for t in 0..k * k {
            w_oihw[ch * k * k + t] = w_hwc[t * c + ch];
        }
    }
    // With one input channel per group, OHWI == OIHW.
    let acc = qconv_direct::reference::conv_i32(
        &geometry(h, w, k, 2),
        c,
        1,
        1,
        &x,
        c,
        A_ZP,
        &w_oihw,
        &vec![0; c],
    );
    let want = requant(&acc);

    let pads = [2i64; 4];
    let strides = [1i64; 2];
    let kshape = [k as i64; 2];
    let attrs = [
        attr(c"pads", EkAttributeKind::Ints, &pads, 0),
        attr(c"strides", EkAttributeKind::Ints, &strides, 0),
        attr(c"kernel_shape", EkAttributeKind::Ints, &kshape, 0),
        attr(c"group", EkAttributeKind::Int, &[], c as i64),
    ];
    let x_shape = [1, h, w, c];
    let w_shape = [c, 1, k, k];
    let (xs, ws, ys) = (A_SCALE, W_SCALE, Y_SCALE);
    let (xz, yz, wz) = (A_ZP as u8, Y_ZP as u8, 0i8);
    let w_t = tensor(
        EkDataType::I8,
        &w_shape,
        w_oihw.as_ptr().cast(),
        w_oihw.len(),
    );
    let inputs = [
        runtime(EkDataType::U8, &x_shape),
        constant(scalar(EkDataType::F32, &xs)),
        constant(scalar(EkDataType::U8, &xz)),
        constant(w_t),
        constant(scalar(EkDataType::F32, &ws)),
        constant(scalar(EkDataType::I8, &wz)),
        constant(scalar(EkDataType::F32, &ys)),
        constant(scalar(EkDataType::U8, &yz)),
    ];
    let xt = tensor(EkDataType::U8, &x_shape, x.as_ptr().cast(), x.len());
    // SAFETY: every pointer is valid for the stated lengths.
    let (shape, y) = unsafe { run_plan_u8(c"QLinearConv", &attrs, &inputs, &[&xt]) };
    assert_eq!(shape, [1, h, w, c]);
    assert_eq!(y, want, "C ABI vs reference");
    check_expected("EK_EXPECTED_D3_FNV1A", &want);
}
