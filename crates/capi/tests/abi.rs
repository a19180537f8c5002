//! The C ABI from Rust: the plan API against the typed entry points, the CPU report, and the
//! error paths (null pointers, wrong lengths, unknown enum values, overflowing sizes, bad
//! quantization, unsupported operators) returning a status and a message, never a panic.

mod common;

use common::*;
use edge_kernels::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

fn quant(ws: &[f32]) -> EkQuantU8S8 {
    EkQuantU8S8 {
        input_scale: 0.05,
        input_zero_point: 120,
        weight_scales: ws.as_ptr(),
        num_weight_scales: ws.len(),
        output_scale: 0.2,
        output_zero_point: 100,
    }
}

fn desc3x3(c: usize, m: usize, groups: usize) -> EkConvDesc {
    EkConvDesc {
        batch: 1,
        height: 9,
        width: 7,
        in_channels: c,
        out_channels: m,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: 1,
        pad_left: 1,
        pad_bottom: 1,
        pad_right: 1,
        groups,
        ..EkConvDesc::default()
    }
}

fn bytes(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

#[test]
fn version_status_strings_threads() {
    // SAFETY: static NUL-terminated strings.
    unsafe {
        assert_eq!(
            CStr::from_ptr(ek_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(CStr::from_ptr(ek_status_string(0)).to_str().unwrap(), "ok");
        assert_eq!(
            CStr::from_ptr(ek_status_string(12345)).to_str().unwrap(),
            "unknown status"
        );
        assert!(!CStr::from_ptr(ek_dispatch_isa()).to_bytes().is_empty());
    }
    assert!(ek_get_default_threads() >= 1);
    ek_set_default_threads(3);
    assert_eq!(ek_get_default_threads(), 3);
    ek_set_default_threads(0);
    assert!(ek_get_default_threads() >= 1);
}

#[test]
fn cpu_report_queries() {
    let mut r = null_mut();
    // SAFETY: valid out-pointer; the report is destroyed once; strings read while it lives.
    unsafe {
        ok(ek_cpu_report_create(&mut r));
        let cores = ek_cpu_report_core_count(r);
        let clusters = ek_cpu_report_cluster_count(r);
        assert!(cores >= 1 && clusters >= 1);
        assert!(ek_cpu_report_processor_count(r) >= cores);
        assert!(ek_cpu_report_recommended_threads(r) >= 1);
        let mut total = 0;
        for i in 0..clusters {
            let mut c = std::mem::zeroed::<EkCluster>();
            ok(ek_cpu_report_cluster(r, i, &mut c));
            assert!(!CStr::from_ptr(c.uarch).to_bytes().is_empty());
            total += c.core_count;
        }
        assert_eq!(total, cores);
        let mut core = std::mem::zeroed::<EkCore>();
        ok(ek_cpu_report_core(r, 0, &mut core));
        assert!(core.cluster < clusters);
        assert_eq!(
            ek_cpu_report_cluster(r, clusters, &mut std::mem::zeroed()),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("out of range"), "{}", last_error());
        let n = ek_cpu_report_isa_count(r);
        for i in 0..n {
            let name = ek_cpu_report_isa_name(r, i);
            assert_eq!(ek_cpu_report_has_isa(r, name), 1);
        }
        assert!(ek_cpu_report_isa_name(r, n).is_null());
        assert_eq!(ek_cpu_report_has_isa(r, c"no_such_isa".as_ptr()), -1);
        assert_eq!(ek_cpu_report_has_isa(r, null()), -1);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            ek_cpu_report_has_isa(r, c"x86_avx2".as_ptr()),
            i32::from(std::arch::is_x86_feature_detected!("avx2"))
        );
        let t = text(|b, l| ek_cpu_report_text(r, b, l));
        assert!(t.contains("cores"), "{t}");
        assert!(!ek_cpu_report_chipset(r).is_null());
        ek_cpu_report_destroy(r);
        // NULL handles: zeros, not crashes.
        assert_eq!(ek_cpu_report_core_count(null()), 0);
        assert_eq!(ek_cpu_report_text(null(), null_mut(), 0), 0);
        ek_cpu_report_destroy(null_mut());
        assert_eq!(ek_cpu_report_create(null_mut()), EkStatus::InvalidArgument);
    }
}

/// The same quantized 3x3 convolution (per-channel weight scales, bias, ReLU) through
/// `ek_qconv_u8s8_*` and through an ONNX node plan: identical bytes; and a depthwise one through
/// `ek_qdepthwise_u8s8_create` against the grouped convolution.
#[test]
fn qconv_direct_equals_node_plan() {
    let (c, m) = (5, 6);
    let mut d = desc3x3(c, m, 1);
    d.activation = EkActivation::Relu as i32;
    let x = bytes(9 * 7 * c, 1);
    let w: Vec<i8> = bytes(m * c * 9, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let bias: Vec<i32> = (0..m as i32).map(|i| i * 37 - 90).collect();
    let ws: Vec<f32> = (0..m).map(|i| 0.002 + 0.001 * i as f32).collect();
    let q = quant(&ws);
    let mut conv = null_mut();
    let mut shape = [0usize; 4];
    let mut y = vec![0u8; 9 * 7 * m];
    // SAFETY: valid pointers and lengths; handles destroyed once.
    unsafe {
        ok(ek_qconv_u8s8_create(
            &d,
            w.as_ptr(),
            w.len(),
            bias.as_ptr(),
            m,
            &q,
            2,
            &mut conv,
        ));
        ok(ek_qconv_u8s8_output_shape(conv, shape.as_mut_ptr()));
        assert_eq!(shape, [1, 9, 7, m]);
        ok(qconv_run(conv, &x, &mut y));
        // The algorithm depends on the CPU (qconv-direct, or int8 Winograd on some aarch64 ones).
        assert!(!text(|b, l| ek_qconv_u8s8_describe(conv, b, l)).is_empty());
        // Wrong lengths: refused with a message.
        assert_eq!(
            ek_qconv_u8s8_run(conv, x.as_ptr(), x.len() - 1, y.as_mut_ptr(), y.len()),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("x_len"), "{}", last_error());
        assert_eq!(
            ek_qconv_u8s8_run(conv, null(), x.len(), y.as_mut_ptr(), y.len()),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("NULL"), "{}", last_error());
        ek_qconv_u8s8_destroy(conv);
    }
    // ReLU with output zero point 100: nothing below it.
    assert!(y.iter().all(|&v| v >= 100));

    // The same through the plan API (NHWC), fused ReLU unavailable there: compare without it.
    let mut d0 = d;
    d0.activation = EkActivation::None as i32;
    let mut y0 = vec![0u8; y.len()];
    let mut conv0 = null_mut();
    // SAFETY: as above.
    unsafe {
        ok(ek_qconv_u8s8_create(
            &d0,
            w.as_ptr(),
            w.len(),
            bias.as_ptr(),
            m,
            &q,
            1,
            &mut conv0,
        ));
        ok(qconv_run(conv0, &x, &mut y0));
        ek_qconv_u8s8_destroy(conv0);
    }
    let y_plan = qlinear_conv_node(&x, c, &w, &bias, &ws, m);
    assert_eq!(y0, y_plan);
    assert!(y.iter().zip(&y0).all(|(&r, &n)| r == n.max(100)));

    // Depthwise: ek_qdepthwise_u8s8_create == groups = channels through ek_qconv_u8s8_create.
    let dd = desc3x3(c, c, 0);
    let wd: Vec<i8> = bytes(c * 9, 3)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let wsd = [0.004f32];
    let qd = quant(&wsd);
    let (mut a, mut b) = (null_mut(), null_mut());
    let (mut ya, mut yb) = (vec![0u8; 9 * 7 * c], vec![0u8; 9 * 7 * c]);
    // SAFETY: as above.
    unsafe {
        ok(ek_qdepthwise_u8s8_create(
            &dd,
            wd.as_ptr(),
            wd.len(),
            null(),
            0,
            &qd,
            1,
            &mut a,
        ));
        let dg = EkConvDesc { groups: c, ..dd };
        ok(ek_qconv_u8s8_create(
            &dg,
            wd.as_ptr(),
            wd.len(),
            null(),
            0,
            &qd,
            1,
            &mut b,
        ));
        ok(qconv_run(a, &x, &mut ya));
        ok(qconv_run(b, &x, &mut yb));
        assert!(text(|buf, l| ek_qconv_u8s8_describe(a, buf, l)).contains("depthwise"));
        ek_qconv_u8s8_destroy(a);
        ek_qconv_u8s8_destroy(b);
    }
    assert_eq!(ya, yb);
}

/// A QLinearConv node (NHWC) through `ek_plan_create` / `ek_plan_run`.
fn qlinear_conv_node(x: &[u8], c: usize, w: &[i8], bias: &[i32], ws: &[f32], m: usize) -> Vec<u8> {
    let pads = [1i64; 4];
    let attrs = [attr(c"pads", EkAttributeKind::Ints, &pads, 0)];
    let x_shape = [1, 9, 7, c];
    let w_shape = [m, c, 3, 3];
    let v_shape = [m];
    let wz = vec![0i8; m];
    let (xs, xz, ys, yz) = (0.05f32, 120u8, 0.2f32, 100u8);
    let inputs = [
        runtime(EkDataType::U8, &x_shape),
        constant(scalar(EkDataType::F32, &xs)),
        constant(scalar(EkDataType::U8, &xz)),
        constant(tensor(EkDataType::I8, &w_shape, w.as_ptr().cast(), w.len())),
        constant(tensor(EkDataType::F32, &v_shape, ws.as_ptr().cast(), m)),
        constant(tensor(EkDataType::I8, &v_shape, wz.as_ptr().cast(), m)),
        constant(scalar(EkDataType::F32, &ys)),
        constant(scalar(EkDataType::U8, &yz)),
        constant(tensor(EkDataType::I32, &v_shape, bias.as_ptr().cast(), m)),
    ];
    let xt = tensor(EkDataType::U8, &x_shape, x.as_ptr().cast(), x.len());
    // Constants may be passed again at run time (ignored) or as NULL.
    let run_in: Vec<*const EkTensor> = vec![&xt, null(), null()];
    // SAFETY: every pointer is valid for the stated lengths.
    unsafe { run_plan_u8(c"QLinearConv", &attrs, &inputs, &run_in) }.1
}

#[test]
fn qgemm_per_column_scales_and_varying_m() {
    let (k, n) = (37, 19);
    let b: Vec<i8> = bytes(k * n, 4)
        .into_iter()
        .map(|v| (v as i8).max(-127))
        .collect();
    let ws: Vec<f32> = (0..n).map(|j| 0.001 * (1 + j) as f32).collect();
    let q = quant(&ws);
    let g = qgemm_create(k, n, &b, &q, 0);
    // SAFETY: valid pointers and lengths; the handle is destroyed once.
    unsafe {
        let mut first_rows = Vec::new();
        for m in [1usize, 3, 8, 13] {
            let a = bytes(m * k, 5);
            let mut y = vec![0u8; m * n];
            ok(qgemm_run(g, m, &a, &mut y));
            // The same generator: row 0 is the same for every m.
            if first_rows.is_empty() {
                first_rows = y[..n].to_vec();
            }
            assert_eq!(&y[..n], &first_rows[..]);
        }
        // m = 0: nothing to do, empty (NULL) buffers accepted.
        ok(ek_qgemm_u8s8_run(g, 0, null(), 0, null_mut(), 0));
        // m * k overflows: refused, not wrapped.
        let a = [0u8; 4];
        let mut y = [0u8; 4];
        assert_eq!(
            ek_qgemm_u8s8_run(g, usize::MAX / 2, a.as_ptr(), 4, y.as_mut_ptr(), 4),
            EkStatus::InvalidArgument
        );
        assert!(!text(|buf, l| ek_qgemm_u8s8_describe(g, buf, l)).is_empty());
        ek_qgemm_u8s8_destroy(g);
    }
}

#[test]
fn gemm_create_error_paths() {
    let b = [1i8; 6];
    let ws = [0.01f32];
    let mut g: *mut EkQGemm = 0x10 as *mut EkQGemm;
    // SAFETY: each call gets valid or deliberately NULL/short arguments the library must refuse.
    unsafe {
        // NULL weights with a length: refused, and the out-handle is cleared.
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, null(), 6, &quant(&ws), 1, &mut g),
            EkStatus::InvalidArgument
        );
        assert!(g.is_null());
        assert!(
            last_error().contains("ek_qgemm_u8s8_create"),
            "{}",
            last_error()
        );
        // Wrong length.
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, b.as_ptr(), 5, &quant(&ws), 1, &mut g),
            EkStatus::InvalidArgument
        );
        // k * n overflows.
        assert_eq!(
            ek_qgemm_u8s8_create(usize::MAX, 3, b.as_ptr(), 6, &quant(&ws), 1, &mut g),
            EkStatus::InvalidArgument
        );
        // NULL quant, NULL out-pointer.
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, b.as_ptr(), 6, null(), 1, &mut g),
            EkStatus::InvalidArgument
        );
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, b.as_ptr(), 6, &quant(&ws), 1, null_mut()),
            EkStatus::InvalidArgument
        );
        // A negative scale: a quantization error from ops.
        let bad = [-1.0f32];
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, b.as_ptr(), 6, &quant(&bad), 1, &mut g),
            EkStatus::Quantization,
            "{}",
            last_error()
        );
        // Zero weight scales.
        assert_eq!(
            ek_qgemm_u8s8_create(2, 3, b.as_ptr(), 6, &quant(&[]), 1, &mut g),
            EkStatus::InvalidArgument
        );
        // Runs on NULL handles.
        assert_eq!(
            ek_qgemm_u8s8_run(null(), 0, null(), 0, null_mut(), 0),
            EkStatus::InvalidArgument
        );
        assert_eq!(
            ek_qconv_u8s8_run(null(), null(), 0, null_mut(), 0),
            EkStatus::InvalidArgument
        );
        assert_eq!(
            ek_conv_f32_run(null(), null(), 0, null_mut(), 0),
            EkStatus::InvalidArgument
        );
        assert_eq!(
            ek_plan_run(null(), null(), 0, &mut null_mut()),
            EkStatus::InvalidArgument
        );
        // Destroying NULL is a no-op.
        ek_qgemm_u8s8_destroy(null_mut());
        ek_qconv_u8s8_destroy(null_mut());
        ek_conv_f32_destroy(null_mut());
        ek_plan_destroy(null_mut());
        ek_outputs_destroy(null_mut());
    }
}

#[test]
fn conv_create_error_paths() {
    let ws = [0.01f32];
    // SAFETY: each call gets valid or deliberately NULL/short arguments the library must refuse.
    unsafe {
        // Conv descriptors: groups 0, unknown activation, unknown layout, bias length.
        let w = vec![1i8; 6 * 5 * 9];
        // Creates with these weights; a refused create leaves the out-handle NULL.
        let create = |d: &EkConvDesc, bias: *const i32, bias_len: usize| {
            let mut conv = null_mut();
            let q = quant(&ws);
            let s = ek_qconv_u8s8_create(d, w.as_ptr(), w.len(), bias, bias_len, &q, 1, &mut conv);
            assert!(conv.is_null());
            s
        };
        assert_eq!(
            create(&desc3x3(5, 6, 0), null(), 0),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("groups"), "{}", last_error());
        let d = EkConvDesc {
            activation: 9,
            ..desc3x3(5, 6, 1)
        };
        assert_eq!(create(&d, null(), 0), EkStatus::InvalidArgument);
        let d = desc3x3(5, 6, 1);
        assert_eq!(create(&d, null(), 3), EkStatus::InvalidArgument);
        let bias = [0i32; 3];
        assert_eq!(
            create(&d, bias.as_ptr(), 3),
            EkStatus::Shape,
            "{}",
            last_error()
        );
        // Stride 0: an attribute error from ops.
        let d0 = EkConvDesc {
            stride_h: 0,
            ..desc3x3(5, 6, 1)
        };
        assert_ne!(create(&d0, null(), 0), EkStatus::Ok);
        let wf = vec![0.5f32; 6 * 5 * 9];
        let mut fc = null_mut();
        assert_eq!(
            ek_conv_f32_create(&d, 7, wf.as_ptr(), wf.len(), null(), 0, 1, &mut fc),
            EkStatus::InvalidArgument
        );
        // Dimensions whose product overflows.
        let huge = EkConvDesc {
            height: usize::MAX / 2,
            width: 4,
            ..desc3x3(5, 6, 1)
        };
        assert_ne!(
            ek_conv_f32_create(&huge, 0, wf.as_ptr(), wf.len(), null(), 0, 1, &mut fc),
            EkStatus::Ok
        );
        assert!(fc.is_null());
    }
}

#[test]
fn plan_error_paths() {
    let opts = EkPlanOptions::default();
    let mut plan = null_mut();
    let shape = [2usize, 3];
    let x = tensor(EkDataType::F32, &shape, null(), 0);
    let rt = runtime(EkDataType::F32, &shape);
    // SAFETY: valid or deliberately invalid arguments the library must refuse.
    unsafe {
        // Unknown operator.
        assert_eq!(
            ek_plan_create(c"Softmax".as_ptr(), null(), 0, &rt, 1, &opts, &mut plan),
            EkStatus::Unsupported
        );
        assert!(last_error().contains("Softmax"), "{}", last_error());
        // NULL op type; invalid UTF-8.
        assert_eq!(
            ek_plan_create(null(), null(), 0, &rt, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        let bad = [0xffu8, 0];
        assert_eq!(
            ek_plan_create(bad.as_ptr().cast(), null(), 0, &rt, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        // Unknown dtype, unknown input kind, unknown layout, NULL attribute name.
        let bad_dt = EkPlanInput {
            kind: EkInputKind::Runtime as i32,
            tensor: EkTensor { dtype: 99, ..x },
        };
        assert_eq!(
            ek_plan_create(c"Relu".as_ptr(), null(), 0, &bad_dt, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        let bad_kind = EkPlanInput { kind: 5, tensor: x };
        assert_eq!(
            ek_plan_create(c"Relu".as_ptr(), null(), 0, &bad_kind, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        let bad_layout = EkPlanOptions { layout: 3, ..opts };
        assert_eq!(
            ek_plan_create(c"Relu".as_ptr(), null(), 0, &rt, 1, &bad_layout, &mut plan),
            EkStatus::InvalidArgument
        );
        let attr = EkAttribute {
            name: null(),
            kind: EkAttributeKind::Int as i32,
            i: 0,
            f: 0.0,
            ints: null(),
            floats: null(),
            len: 0,
            s: null(),
        };
        assert_eq!(
            ek_plan_create(c"Relu".as_ptr(), &attr, 1, &rt, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        // A constant whose len does not match its shape.
        let cst = EkPlanInput {
            kind: EkInputKind::Constant as i32,
            tensor: EkTensor {
                data: [0f32; 6].as_ptr().cast(),
                len: 5,
                ..x
            },
        };
        assert_eq!(
            ek_plan_create(c"Relu".as_ptr(), null(), 0, &cst, 1, &opts, &mut plan),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("len 5"), "{}", last_error());
        assert!(plan.is_null());

        // A good Relu plan (NULL options) run with a wrong-shape and a wrong-type input.
        ok(ek_plan_create(
            c"Relu".as_ptr(),
            null(),
            0,
            &rt,
            1,
            null(),
            &mut plan,
        ));
        let data = [-1.0f32, 2.0, -3.0, 4.0, -5.0, 6.0];
        let good = EkTensor {
            data: data.as_ptr().cast(),
            len: 6,
            ..x
        };
        let mut out = null_mut();
        ok(ek_plan_run(plan, &(&good as *const EkTensor), 1, &mut out));
        let mut y = x;
        ok(ek_outputs_get(out, 0, &mut y));
        assert_eq!(
            std::slice::from_raw_parts(y.data.cast::<f32>(), y.len),
            &[0.0, 2.0, 0.0, 4.0, 0.0, 6.0]
        );
        ek_outputs_destroy(out);
        // Missing input.
        assert_eq!(
            ek_plan_run(plan, &null(), 1, &mut out),
            EkStatus::MissingInput,
            "{}",
            last_error()
        );
        assert!(out.is_null());
        // NULL outputs pointer.
        assert_eq!(
            ek_plan_run(plan, &(&good as *const EkTensor), 1, null_mut()),
            EkStatus::InvalidArgument
        );
        // Misaligned data pointer.
        let raw = [0u8; 32];
        let mis = EkTensor {
            data: raw.as_ptr().add(1).cast(),
            len: 6,
            ..x
        };
        assert_eq!(
            ek_plan_run(plan, &(&mis as *const EkTensor), 1, &mut out),
            EkStatus::InvalidArgument
        );
        assert!(last_error().contains("aligned"), "{}", last_error());
        ek_plan_destroy(plan);
    }
}

#[test]
fn conv_f32_matches_node_plan() {
    let (c, m) = (3, 4);
    let d = desc3x3(c, m, 1);
    let x: Vec<f32> = (0..9 * 7 * c)
        .map(|i| ((i * 7) % 11) as f32 * 0.25 - 1.0)
        .collect();
    let w: Vec<f32> = (0..m * c * 9)
        .map(|i| ((i * 5) % 7) as f32 * 0.1 - 0.3)
        .collect();
    let bias = [0.5f32, -0.25, 0.0, 1.0];
    let mut conv = null_mut();
    let mut shape = [0usize; 4];
    let mut y = vec![0f32; 9 * 7 * m];
    // SAFETY: valid pointers and lengths; handle destroyed once.
    unsafe {
        ok(ek_conv_f32_create(
            &d,
            EkLayout::Nchw as i32,
            w.as_ptr(),
            w.len(),
            bias.as_ptr(),
            m,
            1,
            &mut conv,
        ));
        ok(ek_conv_f32_output_shape(conv, shape.as_mut_ptr()));
        assert_eq!(shape, [1, m, 9, 7]);
        ok(ek_conv_f32_run(
            conv,
            x.as_ptr(),
            x.len(),
            y.as_mut_ptr(),
            y.len(),
        ));
        assert!(!text(|b, l| ek_conv_f32_describe(conv, b, l)).is_empty());
        ek_conv_f32_destroy(conv);
    }
    // Direct f64 NCHW convolution.
    for o in 0..m {
        for oy in 0..9 {
            for ox in 0..7 {
                let mut s = f64::from(bias[o]);
                for ci in 0..c {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = (oy + ky, ox + kx);
                            if iy < 1 || ix < 1 || iy > 9 || ix > 7 {
                                continue;
                            }
                            let xv = x[(ci * 9 + iy - 1) * 7 + ix - 1];
                            let wv = w[((o * c + ci) * 3 + ky) * 3 + kx];
                            s += f64::from(xv) * f64::from(wv);
                        }
                    }
                }
                let got = y[(o * 9 + oy) * 7 + ox];
                assert!((f64::from(got) - s).abs() < 1e-4, "{got} vs {s}");
            }
        }
    }
}

/// Padding wider than the kernel extent (ONNX allows it): `ek_qconv_u8s8_run` takes the general
/// path; the padded border equals a convolution of the zero-point-filled input.
#[test]
fn qconv_padding_wider_than_kernel() {
    let (c, m) = (3, 4);
    let d = EkConvDesc {
        pad_top: 3,
        pad_left: 4,
        pad_bottom: 3,
        pad_right: 4,
        ..desc3x3(c, m, 1)
    };
    let x = bytes(9 * 7 * c, 7);
    let w: Vec<i8> = bytes(m * c * 9, 8)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let ws = [0.003f32];
    let q = quant(&ws);
    let mut conv = null_mut();
    let mut shape = [0usize; 4];
    // SAFETY: valid pointers and lengths; handle destroyed once.
    let y = unsafe {
        ok(ek_qconv_u8s8_create(
            &d,
            w.as_ptr(),
            w.len(),
            null(),
            0,
            &q,
            1,
            &mut conv,
        ));
        ok(ek_qconv_u8s8_output_shape(conv, shape.as_mut_ptr()));
        let mut y = vec![0u8; shape.iter().product()];
        ok(qconv_run(conv, &x, &mut y));
        ek_qconv_u8s8_destroy(conv);
        y
    };
    assert_eq!(shape, [1, 9 + 6 - 2, 7 + 8 - 2, m]);
    // The same input padded by hand with the zero point (120), convolved without padding.
    let (ph, pw) = (9 + 6, 7 + 8);
    let mut xp = vec![120u8; ph * pw * c];
    for r in 0..9 {
        for col in 0..7 {
            for ch in 0..c {
                xp[((r + 3) * pw + col + 4) * c + ch] = x[(r * 7 + col) * c + ch];
            }
        }
    }
    let d2 = EkConvDesc {
        height: ph,
        width: pw,
        pad_top: 0,
        pad_left: 0,
        pad_bottom: 0,
        pad_right: 0,
        ..desc3x3(c, m, 1)
    };
    let mut conv2 = null_mut();
    let mut y2 = vec![0u8; y.len()];
    // SAFETY: as above.
    unsafe {
        ok(ek_qconv_u8s8_create(
            &d2,
            w.as_ptr(),
            w.len(),
            null(),
            0,
            &q,
            1,
            &mut conv2,
        ));
        ok(qconv_run(conv2, &xp, &mut y2));
        ek_qconv_u8s8_destroy(conv2);
    }
    assert_eq!(y, y2);
}
