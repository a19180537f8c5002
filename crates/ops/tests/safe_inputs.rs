//! Issue 17's cases, and their neighbours: caller data that used to wrap `usize` in release
//! builds (out-of-bounds writes, panics, runaway allocation) or change results silently. Each
//! must be an `Err` naming the problem, or compute the exact answer, in debug and release builds
//! (CI runs this file with `--release` too, where overflow checks are off).

// Tests whose sizes exceed a 32-bit usize are compiled for 64-bit targets only (marked
// `target_pointer_width = "64"`); what only they use is unused on 32-bit ones.
#![cfg_attr(not(target_pointer_width = "64"), allow(unused_imports, dead_code))]

use ops::conv::{plan_conv_f32, plan_conv_q8, Activation};
use ops::{
    plan_node, Algorithm, Attribute, DataType, Node, OpsError, Options, PlanInput, Tensor,
    TensorData,
};

fn err_of<T>(r: Result<T, OpsError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A runtime input with `t`'s type and shape.
fn runtime(t: &Tensor) -> PlanInput<'_> {
    PlanInput::Runtime {
        dtype: t.dtype(),
        shape: t.shape(),
    }
}

/// Plans `node` with input 0 (`x`) given at run time and the other
/// inputs as constants, then runs it on `x`; returns the first error.
fn plan_and_run(
    node: &Node,
    x: &Tensor,
    consts: &[Option<&Tensor>],
    opts: &Options,
) -> Result<Vec<Tensor>, OpsError> {
    let mut pi = vec![runtime(x)];
    for c in consts {
        pi.push(match c {
            Some(t) => PlanInput::Constant(t),
            None => PlanInput::Absent,
        });
    }
    let plan = plan_node(node, &pi, opts)?;
    plan.run(&[Some(x)])
}

fn pads(p: [i64; 4]) -> Attribute {
    Attribute::Ints(p.to_vec())
}

#[test]
fn fp32_conv_with_huge_pads_is_an_error_not_a_wild_write() {
    // The SIGSEGV: group 2 on a 1x2x1x1 input, pads [i64::MAX, 0, 1, 0].
    let x = Tensor::f32(vec![1, 2, 1, 1], vec![1.0, 2.0]).unwrap();
    let w = Tensor::f32(vec![2, 1, 1, 1], vec![1.0, 1.0]).unwrap();
    for p in [
        [i64::MAX, 0, 1, 0],
        [1 << 62, 0, 1 << 62, 0],
        [1 << 32, 0, 0, 0],
    ] {
        let node = Node::new("Conv")
            .with("group", Attribute::Int(2))
            .with("pads", pads(p));
        let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
        assert!(e.contains("pads"), "{p:?}: {e}");
    }
    // The largest accepted pad is u32::MAX; with a 1x1 image that is a 2^32-row output, over
    // the tensor limit: an error before anything is allocated. (On a 32-bit target the padded
    // height 1 + u32::MAX already overflows usize: refused as an overflowing pad.)
    let node = Node::new("Conv")
        .with("group", Attribute::Int(2))
        .with("pads", pads([u32::MAX as i64, 0, 0, 0]));
    let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
    let want = if cfg!(target_pointer_width = "64") {
        "tensor limit"
    } else {
        "pads 4294967295 + 0 overflow"
    };
    assert!(e.contains(want), "{e}");
}

#[test]
fn every_fp32_algorithm_refuses_huge_pads() {
    let x = Tensor::f32(vec![1, 1, 4, 4], vec![1.0; 16]).unwrap();
    for (k, alg) in [
        (3, Algorithm::Winograd),
        (5, Algorithm::Fft),
        (3, Algorithm::Im2colGemm),
    ] {
        let w = Tensor::f32(vec![1, 1, k, k], vec![1.0; k * k]).unwrap();
        let node = Node::new("Conv").with("pads", pads([1 << 62, 0, 1 << 62, 0]));
        let opts = Options {
            algorithm: Some(alg),
            ..Options::default()
        };
        let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &opts));
        assert!(e.contains("pads"), "{alg:?}: {e}");
    }
}

fn qlinear_consts(m: usize, cg: usize, k: usize) -> Vec<Tensor> {
    vec![
        Tensor::scalar_f32(0.5),                                         // 1 x_scale
        Tensor::u8(vec![], vec![128]).unwrap(),                          // 2 x_zero_point
        Tensor::i8(vec![m, cg, k, k], vec![1; m * cg * k * k]).unwrap(), // 3 w
        Tensor::scalar_f32(0.25),                                        // 4 w_scale
        Tensor::i8(vec![], vec![0]).unwrap(),                            // 5 w_zero_point
        Tensor::scalar_f32(1.0),                                         // 6 y_scale
        Tensor::u8(vec![], vec![10]).unwrap(),                           // 7 y_zero_point
    ]
}

/// A run-time u8 input of `shape` followed by the constants `c` (a QLinear node's inputs).
fn u8_inputs<'a>(shape: &'a [usize], c: &'a [Tensor]) -> Vec<PlanInput<'a>> {
    let mut pi = vec![PlanInput::Runtime {
        dtype: DataType::U8,
        shape,
    }];
    pi.extend(c.iter().map(PlanInput::Constant));
    pi
}

#[test]
fn qlinearconv_with_huge_pads_is_an_error_not_a_panic() {
    // Dense (group 1) and depthwise (group = C = 2).
    for (group, cg) in [(1usize, 2usize), (2, 1)] {
        let x = Tensor::u8(vec![1, 2, 3, 3], vec![130; 18]).unwrap();
        let c = qlinear_consts(2, cg, 1);
        let consts: Vec<Option<&Tensor>> = c.iter().map(Some).collect();
        let node = Node::new("QLinearConv")
            .with("group", Attribute::Int(group as i64))
            .with("pads", pads([i64::MAX, 0, 1, 0]));
        let e = err_of(plan_and_run(&node, &x, &consts, &Options::default()));
        assert!(e.contains("pads"), "group {group}: {e}");
    }
}

#[test]
fn convinteger_with_huge_dilation_fails_fast() {
    // The runaway case: dilations 2^61 and pads 2^62 on an 8x4x4 input.
    let x = Tensor::u8(vec![1, 8, 4, 4], vec![3; 128]).unwrap();
    let w = Tensor::u8(vec![8, 8, 3, 3], vec![1; 8 * 8 * 9]).unwrap();
    let node = Node::new("ConvInteger")
        .with("dilations", Attribute::Ints(vec![1 << 61, 1 << 61]))
        .with("pads", pads([1 << 62; 4]));
    let t0 = std::time::Instant::now();
    let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
    assert!(e.contains("dilations"), "{e}");
    // The largest accepted dilation with a 3-tap kernel has an extent over u32::MAX.
    let node = Node::new("ConvInteger").with(
        "dilations",
        Attribute::Ints(vec![u32::MAX as i64, u32::MAX as i64]),
    );
    let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
    assert!(e.contains("extent"), "{e}");
    // And with SAME padding the extent check comes first too.
    let node = Node::new("ConvInteger")
        .with("dilations", Attribute::Ints(vec![1 << 31, 1]))
        .with("auto_pad", Attribute::String("SAME_UPPER".into()));
    let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
    assert!(e.contains("extent"), "{e}");
    assert!(t0.elapsed().as_secs() < 5, "took {:?}", t0.elapsed());
}

#[test]
fn strides_and_kernel_shape_are_bounded() {
    let x = Tensor::f32(vec![1, 1, 4, 4], vec![1.0; 16]).unwrap();
    let w = Tensor::f32(vec![1, 1, 1, 1], vec![1.0]).unwrap();
    for (name, v) in [
        ("strides", vec![1i64 << 33, 1]),
        ("strides", vec![i64::MAX, i64::MAX]),
        ("dilations", vec![i64::MIN, 1]),
        ("kernel_shape", vec![1 << 40, 1]),
        ("group", vec![]),
    ] {
        let node = if name == "group" {
            Node::new("Conv").with("group", Attribute::Int(i64::MAX))
        } else {
            Node::new("Conv").with(name, Attribute::Ints(v.clone()))
        };
        let e = err_of(plan_and_run(&node, &x, &[Some(&w)], &Options::default()));
        assert!(!e.is_empty(), "{name} {v:?}");
    }
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn tensor_element_counts_do_not_wrap() {
    let big = (1usize << 63) + 1;
    // (2^63 + 1)^2 wraps to 1 in usize.
    assert!(Tensor::f32(vec![big, big], vec![0.0]).is_err());
    assert!(Tensor::u8(vec![1 << 32, 1 << 32], vec![]).is_err());
    // A zero dimension does not make the rest harmless: code walks the other dimensions.
    assert!(Tensor::f32(vec![0, 1 << 40, 1 << 40], vec![]).is_err());
    assert!(Tensor::f32(vec![0, 1 << 20, 1 << 20], vec![]).is_ok());
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn runtime_shapes_are_checked_like_tensor_shapes() {
    // A plan-time shape that no tensor could have.
    let w = Tensor::f32(vec![1, 1, 1, 1], vec![1.0]).unwrap();
    let shape = [1usize << 40, 1 << 40, 1, 1];
    let pi = [
        PlanInput::Runtime {
            dtype: DataType::F32,
            shape: &shape,
        },
        PlanInput::Constant(&w),
    ];
    let e = err_of(plan_node(&Node::new("Conv"), &pi, &Options::default()));
    assert!(e.contains("input"), "{e}");
}

#[test]
fn run_checks_the_whole_input_shape() {
    // Same element count, permuted shape: planned for 1x2x3x4, run on 1x2x4x3.
    let w = Tensor::f32(vec![1, 2, 1, 1], vec![1.0, 1.0]).unwrap();
    let pi = [
        PlanInput::Runtime {
            dtype: DataType::F32,
            shape: &[1, 2, 3, 4],
        },
        PlanInput::Constant(&w),
    ];
    let plan = plan_node(&Node::new("Conv"), &pi, &Options::default()).unwrap();
    let x = Tensor::f32(vec![1, 2, 4, 3], vec![0.0; 24]).unwrap();
    let e = err_of(plan.run(&[Some(&x)]));
    assert!(
        e.contains("[1, 2, 4, 3]") && e.contains("[1, 2, 3, 4]"),
        "{e}"
    );
    let x = Tensor::f32(vec![1, 2, 3, 4], vec![0.0; 24]).unwrap();
    assert!(plan.run(&[Some(&x)]).is_ok());

    // The int8 plans too.
    let c = qlinear_consts(2, 2, 1);
    let xs = [1usize, 2, 3, 4];
    let pi = u8_inputs(&xs, &c);
    let plan = plan_node(&Node::new("QLinearConv"), &pi, &Options::default()).unwrap();
    let x = Tensor::u8(vec![1, 2, 4, 3], vec![0; 24]).unwrap();
    let e = err_of(plan.run(&[Some(&x)]));
    assert!(e.contains("[1, 2, 4, 3]"), "{e}");
}

/// Every fp32 convolution algorithm, with and without a fused activation, turns a NaN input
/// into NaN at every output whose window covers it (IEEE propagation).
#[test]
fn nan_propagates_through_every_fp32_algorithm() {
    let (h, w) = (8usize, 8usize);
    for (c, m, k, group, alg) in [
        (4usize, 4usize, 3usize, 4usize, Algorithm::Depthwise),
        (4, 8, 5, 4, Algorithm::Depthwise),
        (2, 3, 3, 1, Algorithm::Winograd),
        (2, 3, 5, 1, Algorithm::Fft),
        (2, 3, 3, 1, Algorithm::Im2colGemm),
        (4, 4, 3, 4, Algorithm::Im2colGemm),
    ] {
        for act in [
            Activation::None,
            Activation::Relu,
            Activation::Clip(-0.5, 0.5),
        ] {
            let mut x = vec![0.25f32; c * h * w];
            // NaN at pixel (3, 4) of channel 0.
            x[3 * w + 4] = f32::NAN;
            let xt = Tensor::f32(vec![1, c, h, w], x).unwrap();
            let cg = c / group;
            let wt = Tensor::f32(vec![m, cg, k, k], vec![0.125; m * cg * k * k]).unwrap();
            let p = (k / 2) as i64;
            let node = Node::new("Conv")
                .with("group", Attribute::Int(group as i64))
                .with("pads", pads([p; 4]));
            let opts = Options {
                algorithm: Some(alg),
                threads: Some(1),
                ..Options::default()
            };
            let pi = [runtime(&xt), PlanInput::Constant(&wt)];
            let plan = plan_conv_f32(&node, &pi, &opts, act)
                .unwrap_or_else(|e| panic!("{alg:?} k{k}: {e}"));
            let y = plan
                .run_f32(match xt.data() {
                    TensorData::F32(v) => v,
                    _ => unreachable!(),
                })
                .unwrap();
            // Output channels that read input channel 0: all of them for group 1, the first
            // m/c for depthwise.
            let readers = if group == 1 { m } else { m / c };
            for o in 0..readers {
                for (dy, dx) in [(0usize, 0usize), (k / 2, k / 2)] {
                    let (oy, ox) = (3 + k / 2 - dy, 4 + k / 2 - dx);
                    let v = y[(o * h + oy) * w + ox];
                    assert!(
                        v.is_nan(),
                        "{alg:?} k{k} {act:?}: output ({o}, {oy}, {ox}) = {v}, not NaN"
                    );
                }
            }
        }
    }
}

#[test]
fn clip_bounds_outside_the_input_type_are_errors() {
    let x = Tensor::u8(vec![4], vec![0, 100, 200, 255]).unwrap();
    // An int32 bound of 300 for a uint8 input: was silently "no clamp".
    let hi = Tensor::i32(vec![], vec![300]).unwrap();
    let node = Node::new("Clip");
    let e = err_of(plan_and_run(
        &node,
        &x,
        &[None, Some(&hi)],
        &Options::default(),
    ));
    assert!(e.contains("300"), "{e}");
    let lo = Tensor::i32(vec![], vec![-1]).unwrap();
    let e = err_of(plan_and_run(&node, &x, &[Some(&lo)], &Options::default()));
    assert!(e.contains("-1"), "{e}");
    // In range: clamps.
    let hi = Tensor::u8(vec![], vec![150]).unwrap();
    let y = plan_and_run(&node, &x, &[None, Some(&hi)], &Options::default()).unwrap();
    assert_eq!(y[0].data(), &TensorData::U8(vec![0, 100, 150, 150]));
}

#[test]
fn standalone_relu_and_clip_keep_nan() {
    let x = Tensor::f32(vec![3], vec![f32::NAN, -1.0, 7.0]).unwrap();
    let y = plan_and_run(&Node::new("Relu"), &x, &[], &Options::default()).unwrap();
    let TensorData::F32(v) = y[0].data() else {
        panic!()
    };
    assert!(v[0].is_nan());
    assert_eq!(&v[1..], &[0.0, 7.0]);
}

#[test]
fn blocked_dequantize_is_exact_and_checks_scales() {
    // int32 input minus an int32 zero point: i32::MIN - 1 overflowed i32.
    let x = Tensor::i32(vec![2, 2], vec![i32::MIN, i32::MAX, 0, 5]).unwrap();
    let s = Tensor::f32(vec![2, 1], vec![1.0, 2.0]).unwrap();
    let z = Tensor::i32(vec![2, 1], vec![1, -1]).unwrap();
    let node = Node::new("DequantizeLinear")
        .with("axis", Attribute::Int(1))
        .with("block_size", Attribute::Int(2));
    let y = plan_and_run(&node, &x, &[Some(&s), Some(&z)], &Options::default()).unwrap();
    let want = [
        (i64::from(i32::MIN) - 1) as f32,
        (i64::from(i32::MAX) - 1) as f32,
        2.0,
        12.0,
    ];
    assert_eq!(y[0].data(), &TensorData::F32(want.to_vec()));
    // Scales are checked on every path: blocked, int32 and plain.
    for bad in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let s = Tensor::f32(vec![2, 1], vec![1.0, bad]).unwrap();
        let e = err_of(plan_and_run(
            &node,
            &x,
            &[Some(&s), Some(&z)],
            &Options::default(),
        ));
        assert!(e.contains("scale"), "{bad}: {e}");
        let s = Tensor::scalar_f32(bad);
        let e = err_of(plan_and_run(
            &Node::new("DequantizeLinear"),
            &x,
            &[Some(&s)],
            &Options::default(),
        ));
        assert!(e.contains("scale"), "{bad}: {e}");
    }
}

#[test]
fn negative_scale_pairs_are_errors() {
    // x_scale = -0.5 and w_scale = -0.25 multiply to a positive 0.125: each must be positive.
    let x = Tensor::u8(vec![1, 2, 3, 3], vec![130; 18]).unwrap();
    let mut c = qlinear_consts(2, 2, 1);
    c[0] = Tensor::scalar_f32(-0.5);
    c[3] = Tensor::scalar_f32(-0.25);
    let consts: Vec<Option<&Tensor>> = c.iter().map(Some).collect();
    let e = err_of(plan_and_run(
        &Node::new("QLinearConv"),
        &x,
        &consts,
        &Options::default(),
    ));
    assert!(e.contains("scale"), "{e}");
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn huge_thread_counts_are_capped() {
    let x = Tensor::f32(vec![1, 2, 5, 5], vec![0.5; 50]).unwrap();
    let w = Tensor::f32(vec![2, 2, 3, 3], vec![0.25; 36]).unwrap();
    let node = Node::new("Conv");
    let one = plan_and_run(
        &node,
        &x,
        &[Some(&w)],
        &Options {
            threads: Some(1),
            ..Options::default()
        },
    )
    .unwrap();
    for t in [usize::MAX, 1 << 40, 100_000] {
        let opts = Options {
            threads: Some(t),
            ..Options::default()
        };
        assert!(ops::threads_for(&opts) <= ops::limits::MAX_THREADS);
        let y = plan_and_run(&node, &x, &[Some(&w)], &opts).unwrap();
        assert_eq!(y, one);
    }
    assert_eq!(
        cpu_probe::parallel::Parallel::new(usize::MAX).threads(),
        cpu_probe::parallel::Parallel::new(cpu_probe::parallel::MAX_THREADS).threads()
    );
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn matmul_outputs_are_counted_before_allocation() {
    // k = 0: both operands are empty, but m·n = 2^80.
    let a = Tensor::f32(vec![1 << 40, 0], vec![]).unwrap();
    let b = Tensor::f32(vec![0, 1 << 40], vec![]).unwrap();
    for op in ["MatMul", "Gemm"] {
        let pi = [runtime(&a), runtime(&b)];
        let plan = plan_node(&Node::new(op), &pi, &Options::default()).unwrap();
        let e = err_of(plan.run(&[Some(&a), Some(&b)]));
        assert!(e.contains("output"), "{op}: {e}");
    }
    // Batch broadcasting whose product overflows: [2^32, 1, 0] x [2^32, 0, 1].
    let a = Tensor::f32(vec![1 << 32, 1, 0], vec![]).unwrap();
    let b = Tensor::f32(vec![1 << 32, 0, 1], vec![]).unwrap();
    let pi = [runtime(&a), runtime(&b)];
    let plan = plan_node(&Node::new("MatMul"), &pi, &Options::default()).unwrap();
    let e = err_of(plan.run(&[Some(&a), Some(&b)]));
    assert!(e.contains("tensor limit"), "{e}");
}

/// Found by the `matmul` fuzz target: an empty output whose broadcast batch count is huge
/// (A [2^43, 0, 5] against B [1, 5, 3]) allocated one index pair per batch (2^47 bytes) and
/// aborted. An empty output has no batches to pair; the result is an empty tensor.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn empty_matmul_with_a_huge_broadcast_batch_is_empty() {
    let a = Tensor::f32(vec![1 << 43, 0, 5], vec![]).unwrap();
    let b = Tensor::f32(vec![1, 5, 3], vec![0.0; 15]).unwrap();
    let pi = [runtime(&a), runtime(&b)];
    let plan = plan_node(&Node::new("MatMul"), &pi, &Options::default()).unwrap();
    let out = plan.run(&[Some(&a), Some(&b)]).unwrap();
    assert_eq!(out[0].shape(), vec![1 << 43, 0, 3]);
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn typed_run_u8_into_checks_m() {
    let b = Tensor::u8(vec![2, 3], vec![1; 6]).unwrap();
    // acc = 1·1 + 1·1 = 2, multiplier 1.0·0.5/1.0: every output is 1.
    let consts = [
        Tensor::scalar_f32(1.0),
        Tensor::u8(vec![], vec![0]).unwrap(),
        b,
        Tensor::scalar_f32(0.5),
        Tensor::u8(vec![], vec![0]).unwrap(),
        Tensor::scalar_f32(1.0),
        Tensor::u8(vec![], vec![0]).unwrap(),
    ];
    let pi = u8_inputs(&[4, 2], &consts);
    let plan =
        ops::matmul::plan_qlinear_matmul(&Node::new("QLinearMatMul"), &pi, &Options::default())
            .unwrap();
    // m·k and m·n wrap to 0 for m = 2^63 (k = 2): empty buffers must not pass.
    let mut y = [];
    let e = err_of(plan.run_u8_into(&[], 1 << 63, &mut y));
    assert!(e.contains("want"), "{e}");
    let mut y = [0u8; 12];
    plan.run_u8_into(&[1; 8], 4, &mut y).unwrap();
    assert_eq!(y, [1; 12]);
}

#[test]
fn tensor_limit_is_an_option() {
    let x = Tensor::f32(vec![1, 1, 64, 64], vec![0.5; 4096]).unwrap();
    let w = Tensor::f32(vec![8, 1, 3, 3], vec![0.25; 72]).unwrap();
    let opts = Options {
        max_tensor_bytes: Some(4096),
        ..Options::default()
    };
    let e = err_of(plan_and_run(&Node::new("Conv"), &x, &[Some(&w)], &opts));
    assert!(e.contains("tensor limit of 4096 bytes"), "{e}");
    assert!(plan_and_run(&Node::new("Conv"), &x, &[Some(&w)], &Options::default()).is_ok());
}

#[test]
fn fused_activation_bounds_are_checked() {
    let c = qlinear_consts(2, 2, 1);
    let xs = [1usize, 2, 3, 3];
    let pi = u8_inputs(&xs, &c);
    let node = Node::new("QLinearConv");
    let opts = Options::default();
    for bad in [
        Activation::Clip(f32::NAN, 1.0),
        Activation::Clip(0.0, f32::NAN),
        Activation::Clip(2.0, 1.0),
    ] {
        assert!(plan_conv_q8(&node, &pi, &opts, bad).is_err(), "{bad:?}");
    }
    // Bounds far outside the output type clamp to the type (an i32 add wrapped here before):
    // Clip(-1e30, 1e30) is no clamp, Clip(1e30, f32::MAX) is the type's maximum.
    let x = Tensor::u8(vec![1, 2, 3, 3], (0..18).map(|v| v * 14).collect()).unwrap();
    let plain = plan_conv_q8(&node, &pi, &opts, Activation::None)
        .unwrap()
        .run_nchw(&x);
    let wide = plan_conv_q8(&node, &pi, &opts, Activation::Clip(-1e30, 1e30))
        .unwrap()
        .run_nchw(&x);
    assert_eq!(plain, wide);
    let top = plan_conv_q8(&node, &pi, &opts, Activation::Clip(1e30, f32::MAX))
        .unwrap()
        .run_nchw(&x);
    assert!(top.iter().all(|&v| v == 255), "{top:?}");
}

trait RunNchw {
    fn run_nchw(&self, x: &Tensor) -> Vec<u8>;
}

impl RunNchw for ops::conv::ConvQ8 {
    fn run_nchw(&self, x: &Tensor) -> Vec<u8> {
        use ops::Plan;
        match self.run(&[Some(x)]).unwrap().remove(0).into_data() {
            TensorData::U8(v) => v,
            o => panic!("{o:?}"),
        }
    }
}

#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn layout_helpers_check_their_dimensions() {
    let x = vec![0u8; 24];
    assert!(ops::layout::nchw_to_nhwc(&x, 1, 2, 3, 4).is_ok());
    assert!(ops::layout::nchw_to_nhwc(&x, 1, 2, 3, 5).is_err());
    assert!(ops::layout::nhwc_to_nchw(&x, 1 << 62, 4, 1, 1).is_err());
    assert!(ops::layout::oihw_to_ohwi(&x, 2, 3, 2, 3).is_err());
    assert!(ops::layout::dw_to_hwc(&x, usize::MAX, 2, 2).is_err());
}

/// Found by the `matmul` fuzz target (2026-12-07): MatMulInteger with a constant, empty B of
/// shape [2^48, 0, 3] packed one matrix per batch of B at plan time and aborted on a 2^51-byte
/// allocation. The batch count is bounded by the tensor limit now.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn empty_constant_b_with_a_huge_batch_is_refused() {
    let a = Tensor::u8(vec![1, 0], vec![]).unwrap();
    let b = Tensor::i8(vec![1 << 48, 0, 3], vec![]).unwrap();
    let e = err_of(plan_and_run(
        &Node::new("MatMulInteger"),
        &a,
        &[Some(&b)],
        &Options::default(),
    ));
    assert!(
        e.contains("packed B batches") && e.contains("tensor limit"),
        "{e}"
    );
}

/// Found by the `quantize` fuzz target (2026-12-07): QuantizeLinear of an empty tensor of shape
/// [2^40, 1, 0] looped 2^40 times over nothing (a fuzzer timeout). It returns the empty result.
#[cfg(target_pointer_width = "64")] // values beyond a 32-bit usize
#[test]
fn quantize_of_an_empty_tensor_with_a_huge_outer_count_returns_at_once() {
    let x = Tensor::f32(vec![1 << 40, 1, 0], vec![]).unwrap();
    let scale = Tensor::f32(vec![], vec![0.5]).unwrap();
    let zp = Tensor::u8(vec![], vec![3]).unwrap();
    let y = plan_and_run(
        &Node::new("QuantizeLinear"),
        &x,
        &[Some(&scale), Some(&zp)],
        &Options::default(),
    )
    .unwrap();
    assert_eq!(y[0].shape(), vec![1 << 40, 1, 0]);
    let scales = Tensor::f32(vec![1], vec![0.5]).unwrap();
    let zps = Tensor::u8(vec![1], vec![3]).unwrap();
    let y = plan_and_run(
        &Node::new("QuantizeLinear").with("axis", Attribute::Int(1)),
        &x,
        &[Some(&scales), Some(&zps)],
        &Options::default(),
    )
    .unwrap();
    assert_eq!(y[0].shape(), vec![1 << 40, 1, 0]);
}
