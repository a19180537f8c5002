//! Workload → runnable case.
//!
//! The workload file's int8 semantics: u8 activations with zero point 128, symmetric per-tensor
//! i8 weights, requantized u8 output (ONNX Runtime's QLinearConv/QLinearMatMul: `Fp32` scheme);
//! NHWC for int8 convolution. Scales are the ones `scripts/compare-anchors.py` uses, so both
//! tools time the same arithmetic.
//!
//! Every workload runs as an `ops` plan, built once (weights packed / transformed outside the
//! timed region), with the algorithm `ops` chooses, as a runtime would get it; the report names
//! the choice. fp32 convolutions are NCHW (ONNX); int8 and depthwise ones use `ops`'s NHWC layout
//! (what an int8 runtime keeps its activations in) through the allocation-free steady-state calls
//! (`ConvQ8::run_nhwc_u8_into`, `MatMulInt8::run_u8_into`, `ConvF32::run_into`).

use crate::bench::Case;
use crate::workloads::Workload;
use qconv_direct::{reference::conv_i32, Conv2dDesc, ConvGeometry, Padding};
use quant_params::{QType, RequantScheme, Requantizer};

const A_SCALE: f32 = 0.02;
const A_ZP: i32 = 128;
const W_SCALE: f32 = 0.005;
const Y_SCALE: f32 = 0.1;
const Y_ZP: i32 = 128;

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

/// "bit-exact" when every output equals the reference accumulator requantized, else a message
/// counting the outputs that differ.
fn exact(acc: &[i32], out: &[u8], requant: &Requantizer) -> Result<String, String> {
    let bad = acc
        .iter()
        .zip(out)
        .filter(|(&a, &y)| requant.requantize(a) != i32::from(y))
        .count();
    if bad == 0 && acc.len() == out.len() {
        Ok("bit-exact".to_string())
    } else {
        Err(format!(
            "{bad} of {} outputs differ from the reference",
            acc.len()
        ))
    }
}

struct QConvCase {
    plan: ops::conv::ConvQ8,
    input: Vec<u8>,
    weights: Vec<i8>,
    out: Vec<u8>,
    cin: usize,
    geom: ConvGeometry,
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    requant: Requantizer,
}

impl Case for QConvCase {
    fn algorithm(&self) -> String {
        use ops::Plan;
        format!("ops: {}", self.plan.describe())
    }

    fn check(&mut self) -> Result<String, String> {
        self.run();
        let acc = conv_i32(
            &self.geom,
            self.groups,
            self.cin_g,
            self.cout_g,
            &self.input,
            self.cin,
            A_ZP,
            &self.weights,
            &vec![0; self.groups * self.cout_g],
        );
        exact(&acc, &self.out, &self.requant)
    }

    fn run(&mut self) {
        // Errors are impossible here: every shape was validated when the case was built.
        let _ = self.plan.run_nhwc_u8_into(&self.input, &mut self.out);
    }
}

/// The ONNX operator an int8 GEMM workload runs as (`kbench bench --int8-gemm-op`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GemmOp {
    /// QLinearMatMul: u8 output requantized with the `Fp32` scheme (the default).
    #[default]
    QLinearMatMul,
    /// MatMulInteger: the exact i32 sums (what ONNX Runtime's MatMulInteger returns).
    MatMulInteger,
}

/// A GEMM case's output: requantized bytes or i32 sums.
enum GemmC {
    U8(Vec<u8>),
    I32(Vec<i32>),
}

struct GemmCase {
    plan: ops::matmul::MatMulInt8,
    a: Vec<u8>,
    b: Vec<i8>,
    c: GemmC,
    m: usize,
    k: usize,
    n: usize,
    requant: Requantizer,
}

impl Case for GemmCase {
    fn algorithm(&self) -> String {
        use ops::Plan;
        format!("ops: {}", self.plan.describe())
    }

    fn check(&mut self) -> Result<String, String> {
        self.run();
        let acc = qgemm::reference::gemm_i32(
            self.m,
            self.n,
            self.k,
            &self.a,
            self.k,
            A_ZP,
            &self.b,
            self.n,
            &vec![0; self.n],
        );
        match &self.c {
            GemmC::U8(c) => exact(&acc, c, &self.requant),
            GemmC::I32(c) => {
                let bad = acc.iter().zip(c).filter(|(x, y)| x != y).count();
                if bad == 0 && acc.len() == c.len() {
                    Ok("bit-exact".to_string())
                } else {
                    Err(format!(
                        "{bad} of {} sums differ from the reference",
                        acc.len()
                    ))
                }
            }
        }
    }

    fn run(&mut self) {
        // Errors are impossible here: every shape was validated when the case was built.
        let _ = match &mut self.c {
            GemmC::U8(c) => self.plan.run_u8_into(&self.a, self.m, c),
            GemmC::I32(c) => self.plan.run_i32_into(&self.a, self.m, c),
        };
    }
}

struct DwCase {
    plan: ops::conv::ConvQ8,
    desc: depthwise::DwDesc,
    input: Vec<u8>,
    weights: Vec<i8>,
    out: Vec<u8>,
    hw: (usize, usize),
    requant: Requantizer,
}

impl Case for DwCase {
    fn algorithm(&self) -> String {
        use ops::Plan;
        format!("ops: {}", self.plan.describe())
    }

    fn check(&mut self) -> Result<String, String> {
        self.run();
        let cout = self.desc.cout();
        let acc = depthwise::reference::depthwise_i32(
            &self.desc,
            self.hw.0,
            self.hw.1,
            &self.input,
            A_ZP,
            &self.weights,
            &vec![0; cout],
            &vec![0; cout],
        );
        exact(&acc, &self.out, &self.requant)
    }

    fn run(&mut self) {
        // Errors are impossible here: every shape was validated when the case was built.
        let _ = self.plan.run_nhwc_u8_into(&self.input, &mut self.out);
    }
}

struct DwF32Case {
    plan: ops::conv::ConvF32,
    desc: depthwise::DwDesc,
    input: Vec<f32>,
    weights: Vec<f32>,
    out: Vec<f32>,
    hw: (usize, usize),
}

impl Case for DwF32Case {
    fn algorithm(&self) -> String {
        use ops::Plan;
        format!("ops: {} (NHWC)", self.plan.describe())
    }

    fn check(&mut self) -> Result<String, String> {
        self.run();
        let cout = self.desc.cout();
        let want = depthwise::reference::depthwise_f64(
            &self.desc,
            self.hw.0,
            self.hw.1,
            &self.input,
            &self.weights,
            &vec![0.0; cout],
        );
        let rms = (want.iter().map(|x| x * x).sum::<f64>() / want.len().max(1) as f64).sqrt();
        let err = want
            .iter()
            .zip(&self.out)
            .map(|(&e, &g)| (e - f64::from(g)).abs())
            .fold(0.0, f64::max);
        if err <= 2e-5 * rms.max(f64::MIN_POSITIVE) {
            Ok(format!("max err {:.1e} x RMS", err / rms))
        } else {
            Err(format!("max err {:.1e} x RMS exceeds 2e-5", err / rms))
        }
    }

    fn run(&mut self) {
        // Errors are impossible here: every shape was validated when the case was built.
        let _ = self.plan.run_into(&self.input, &mut self.out);
    }
}

fn build_depthwise(w: &Workload, threads: usize) -> Result<Box<dyn Case>, String> {
    let desc = depthwise::DwDesc::new([w.k, w.k], [w.stride, w.stride], [w.pad; 4], w.cin, 1);
    let (oh, ow) = desc.output_size(w.h, w.w).map_err(|e| e.to_string())?;
    let n_out = oh * ow * w.cout;
    if w.dtype == "fp32" {
        let to_f = |b: u8| (f32::from(b) - 127.5) / 64.0;
        let input: Vec<f32> = data(w.h * w.w * w.cin, 1).into_iter().map(to_f).collect();
        let weights: Vec<f32> = data(w.k * w.k * w.cout, 2).into_iter().map(to_f).collect();
        let plan = {
            use ops::{DataType, PlanInput, Tensor};
            let wt = Tensor::f32(
                vec![w.cout, 1, w.k, w.k],
                hwc_to_oihw(&weights, w.cout, w.k),
            )
            .map_err(|e| e.to_string())?;
            let node = conv_node("Conv", w);
            let shape = [1, w.h, w.w, w.cin];
            ops::conv::plan_conv_f32(
                &node,
                &[
                    PlanInput::Runtime {
                        dtype: DataType::F32,
                        shape: &shape,
                    },
                    PlanInput::Constant(&wt),
                ],
                &ops::Options {
                    threads: Some(threads),
                    layout: ops::Layout::Nhwc,
                    ..ops::Options::default()
                },
                ops::conv::Activation::None,
            )
            .map_err(|e| e.to_string())?
        };
        return Ok(Box::new(DwF32Case {
            plan,
            desc,
            input,
            weights,
            out: vec![0.0; n_out],
            hw: (w.h, w.w),
        }));
    }
    let weights: Vec<i8> = data(w.k * w.k * w.cout, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let requant = Requantizer::new(
        RequantScheme::Fp32,
        A_SCALE * W_SCALE / Y_SCALE,
        Y_ZP,
        QType::U8,
    )
    .map_err(|e| e.to_string())?;
    let plan = qlinear_conv(w, hwc_to_oihw(&weights, w.cout, w.k), threads, None)?;
    Ok(Box::new(DwCase {
        plan,
        desc,
        input: data(w.h * w.w * w.cin, 1),
        weights,
        out: vec![0; n_out],
        hw: (w.h, w.w),
        requant,
    }))
}

/// fp32 convolution through `ops` (NCHW, OIHW weights, bias), checked against an f64 direct
/// convolution.
struct OpsConvF32Case {
    plan: ops::conv::ConvF32,
    w: Workload,
    x: Vec<f32>,
    wt: Vec<f32>,
    bias: Vec<f32>,
    y: Vec<f32>,
}

impl Case for OpsConvF32Case {
    fn algorithm(&self) -> String {
        use ops::Plan;
        format!("ops: {}", self.plan.describe())
    }

    fn check(&mut self) -> Result<String, String> {
        self.run();
        let w = &self.w;
        let (oh, ow) = (
            (w.h + 2 * w.pad - w.k) / w.stride + 1,
            (w.w + 2 * w.pad - w.k) / w.stride + 1,
        );
        let (cg, mg) = (w.cin / w.groups, w.cout / w.groups);
        let mut sq = 0f64;
        let mut max_err = 0f64;
        for o in 0..w.cout {
            let g = o / mg;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = f64::from(self.bias[o]);
                    for ci in 0..cg {
                        let c = g * cg + ci;
                        for r in 0..w.k {
                            let iy = (oy * w.stride + r) as isize - w.pad as isize;
                            if iy < 0 || iy as usize >= w.h {
                                continue;
                            }
                            for t in 0..w.k {
                                let ix = (ox * w.stride + t) as isize - w.pad as isize;
                                if ix < 0 || ix as usize >= w.w {
                                    continue;
                                }
                                acc +=
                                    f64::from(self.x[(c * w.h + iy as usize) * w.w + ix as usize])
                                        * f64::from(self.wt[((o * cg + ci) * w.k + r) * w.k + t]);
                            }
                        }
                    }
                    let got = f64::from(self.y[(o * oh + oy) * ow + ox]);
                    sq += acc * acc;
                    max_err = max_err.max((got - acc).abs());
                }
            }
        }
        let rms = (sq / (w.cout * oh * ow) as f64).sqrt();
        let rel = max_err / rms.max(1e-30);
        // The loosest gate of DESIGN.md (Winograd F(6x6,3x3)).
        if rel <= 1e-4 {
            Ok(format!("max err {rel:.1e} x RMS"))
        } else {
            Err(format!("max err {rel:.1e} x RMS exceeds 1e-4"))
        }
    }

    fn run(&mut self) {
        // Shapes were validated when the plan was made.
        let _ = self.plan.run_into(&self.x, &mut self.y);
    }
}

fn build_ops_conv_f32(w: &Workload, threads: usize) -> Result<Box<dyn Case>, String> {
    use ops::{DataType, PlanInput, Tensor};
    let to_f = |b: u8| (f32::from(b) - 127.5) / 128.0;
    let x: Vec<f32> = data(w.cin * w.h * w.w, 1).into_iter().map(to_f).collect();
    let cg = w.cin / w.groups;
    let wt: Vec<f32> = data(w.cout * cg * w.k * w.k, 2)
        .into_iter()
        .map(to_f)
        .collect();
    let bias: Vec<f32> = data(w.cout, 3).into_iter().map(to_f).collect();
    let wtt = Tensor::f32(vec![w.cout, cg, w.k, w.k], wt.clone()).map_err(|e| e.to_string())?;
    let bt = Tensor::f32(vec![w.cout], bias.clone()).map_err(|e| e.to_string())?;
    let shape = [1, w.cin, w.h, w.w];
    let node = conv_node("Conv", w);
    let plan = ops::conv::plan_conv_f32(
        &node,
        &[
            PlanInput::Runtime {
                dtype: DataType::F32,
                shape: &shape,
            },
            PlanInput::Constant(&wtt),
            PlanInput::Constant(&bt),
        ],
        &ops::Options {
            threads: Some(threads),
            ..ops::Options::default()
        },
        ops::conv::Activation::None,
    )
    .map_err(|e| e.to_string())?;
    let ylen: usize = plan.output_shape().iter().product();
    Ok(Box::new(OpsConvF32Case {
        plan,
        w: w.clone(),
        x,
        wt,
        bias,
        y: vec![0.0; ylen],
    }))
}

/// The ONNX node of a convolution workload (`op` = `Conv` or `QLinearConv`): square kernel,
/// uniform padding and stride, groups.
fn conv_node(op: &str, w: &Workload) -> ops::Node {
    use ops::Attribute;
    let p = w.pad as i64;
    ops::Node::new(op)
        .with("pads", Attribute::Ints(vec![p, p, p, p]))
        .with("strides", Attribute::Ints(vec![w.stride as i64; 2]))
        .with("group", Attribute::Int(w.groups as i64))
}

/// The workload's int8 convolution as an `ops` QLinearConv plan over NHWC activations
/// (`weights_oihw`: `cout × cin/groups × k × k`).
fn qlinear_conv(
    w: &Workload,
    weights_oihw: Vec<i8>,
    threads: usize,
    algorithm: Option<ops::Algorithm>,
) -> Result<ops::conv::ConvQ8, String> {
    use ops::{DataType, PlanInput, Tensor};
    let e = |x: ops::OpsError| x.to_string();
    let cin_g = w.cin / w.groups;
    let wt = Tensor::i8(vec![w.cout, cin_g, w.k, w.k], weights_oihw).map_err(e)?;
    let xs = Tensor::scalar_f32(A_SCALE);
    let xz = Tensor::u8(vec![], vec![A_ZP as u8]).map_err(e)?;
    let ws = Tensor::scalar_f32(W_SCALE);
    let wz = Tensor::i8(vec![], vec![0]).map_err(e)?;
    let ys = Tensor::scalar_f32(Y_SCALE);
    let yz = Tensor::u8(vec![], vec![Y_ZP as u8]).map_err(e)?;
    let node = conv_node("QLinearConv", w);
    let shape = [1, w.h, w.w, w.cin];
    let c = PlanInput::Constant;
    ops::conv::plan_conv_q8(
        &node,
        &[
            PlanInput::Runtime {
                dtype: DataType::U8,
                shape: &shape,
            },
            c(&xs),
            c(&xz),
            c(&wt),
            c(&ws),
            c(&wz),
            c(&ys),
            c(&yz),
        ],
        &ops::Options {
            threads: Some(threads),
            layout: ops::Layout::Nhwc,
            algorithm,
            ..ops::Options::default()
        },
        ops::conv::Activation::None,
    )
    .map_err(e)
}

/// OHWI (`cout × k × k × cin_g`) → OIHW.
fn ohwi_to_oihw(w: &[i8], cout: usize, k: usize, cin_g: usize) -> Vec<i8> {
    let mut o = vec![0i8; w.len()];
    for m in 0..cout {
        for t in 0..k * k {
            for c in 0..cin_g {
                o[(m * cin_g + c) * k * k + t] = w[(m * k * k + t) * cin_g + c];
            }
        }
    }
    o
}

/// Depthwise HWC (`k × k × c`) → OIHW (`c × 1 × k × k`).
fn hwc_to_oihw<T: Copy + Default>(w: &[T], c: usize, k: usize) -> Vec<T> {
    let mut o = vec![T::default(); w.len()];
    for ch in 0..c {
        for t in 0..k * k {
            o[ch * k * k + t] = w[t * c + ch];
        }
    }
    o
}

/// Builds the case for a workload with `threads` threads; with `q8_conv`, the algorithm of int8
/// (non-depthwise) convolutions is forced instead of `ops`'s choice (`kbench bench
/// --q8-conv-algorithm`; a geometry the algorithm does not take fails to plan and is reported
/// as skipped); `gemm_op` is the operator int8 GEMM workloads run as (`kbench bench
/// --int8-gemm-op`).
pub fn build_with(
    w: &Workload,
    threads: usize,
    q8_conv: Option<ops::Algorithm>,
    gemm_op: GemmOp,
) -> Result<Box<dyn Case>, String> {
    let depthwise = w.kind == "conv2d" && w.groups > 1 && w.groups == w.cin && w.groups == w.cout;
    if depthwise {
        return build_depthwise(w, threads);
    }
    if w.dtype == "fp32" && w.kind == "conv2d" {
        return build_ops_conv_f32(w, threads);
    }
    if w.dtype != "int8" {
        return Err(format!(
            "{} {}: no fp32 GEMM workload runner (ops::MatMul exists; not wired to kbench)",
            w.kind, w.dtype
        ));
    }
    let requant = Requantizer::new(
        RequantScheme::Fp32,
        A_SCALE * W_SCALE / Y_SCALE,
        Y_ZP,
        QType::U8,
    )
    .map_err(|e| e.to_string())?;
    if w.kind == "gemm" {
        let (m, k, n) = (w.m, w.k, w.n);
        let b: Vec<i8> = data(k * n, 2)
            .into_iter()
            .map(|x| (x as i8).max(-127))
            .collect();
        let plan = {
            use ops::{DataType, Node, PlanInput, Tensor};
            let e = |x: ops::OpsError| x.to_string();
            let bt = Tensor::i8(vec![k, n], b.clone()).map_err(e)?;
            let (xs, ws, ys) = (
                Tensor::scalar_f32(A_SCALE),
                Tensor::scalar_f32(W_SCALE),
                Tensor::scalar_f32(Y_SCALE),
            );
            let xz = Tensor::u8(vec![], vec![A_ZP as u8]).map_err(e)?;
            let wz = Tensor::i8(vec![], vec![0]).map_err(e)?;
            let yz = Tensor::u8(vec![], vec![Y_ZP as u8]).map_err(e)?;
            let shape = [m, k];
            let c = PlanInput::Constant;
            let a_in = PlanInput::Runtime {
                dtype: DataType::U8,
                shape: &shape,
            };
            let opts = ops::Options {
                threads: Some(threads),
                ..ops::Options::default()
            };
            match gemm_op {
                GemmOp::QLinearMatMul => ops::matmul::plan_qlinear_matmul(
                    &Node::new("QLinearMatMul"),
                    &[a_in, c(&xs), c(&xz), c(&bt), c(&ws), c(&wz), c(&ys), c(&yz)],
                    &opts,
                ),
                GemmOp::MatMulInteger => ops::matmul::plan_matmul_integer(
                    &Node::new("MatMulInteger"),
                    &[a_in, c(&bt), c(&xz), c(&wz)],
                    &opts,
                ),
            }
            .map_err(e)?
        };
        let c = match gemm_op {
            GemmOp::QLinearMatMul => GemmC::U8(vec![0; m * n]),
            GemmOp::MatMulInteger => GemmC::I32(vec![0; m * n]),
        };
        return Ok(Box::new(GemmCase {
            plan,
            a: data(m * k, 1),
            b,
            c,
            m,
            k,
            n,
            requant,
        }));
    }
    let (h, wd, cin, cout, k, stride, pad, groups) =
        (w.h, w.w, w.cin, w.cout, w.k, w.stride, w.pad, w.groups);
    let cin_g = cin / groups;
    let cout_g = cout / groups;
    let desc = Conv2dDesc::square(k, stride, Padding::uniform(pad), groups, cin_g, cout_g);
    let (oh, ow) = desc.output_size(h, wd).map_err(|e| e.to_string())?;
    let input = data(h * wd * cin, 1);
    let weights: Vec<i8> = data(cout * k * k * cin_g, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let plan = qlinear_conv(w, ohwi_to_oihw(&weights, cout, k, cin_g), threads, q8_conv)?;
    Ok(Box::new(QConvCase {
        plan,
        out: vec![0; oh * ow * cout],
        input,
        weights,
        cin,
        geom: ConvGeometry {
            in_h: h,
            in_w: wd,
            k_h: k,
            k_w: k,
            stride_h: stride,
            stride_w: stride,
            dilation_h: 1,
            dilation_w: 1,
            pad: [pad; 4],
        },
        groups,
        cin_g,
        cout_g,
        requant,
    }))
}
