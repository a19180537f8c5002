//! ops against plain-loop references: every algorithm a convolution can be forced to, int8
//! paths bit-exact, fp32 within the DESIGN.md gates; and bad input gives `Err`, not a panic.

use ops::{
    plan_node, Algorithm, Attribute, Node, OpsError, Options, PlanInput, Tensor, TensorData,
};
use proptest::prelude::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        (self.next() % 20001) as f32 / 10000.0 - 1.0
    }
    fn u8(&mut self) -> u8 {
        self.next() as u8
    }
}

#[derive(Clone, Copy, Debug)]
struct Geo {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    m: usize,
    k: [usize; 2],
    s: [usize; 2],
    d: [usize; 2],
    p: [usize; 4],
    g: usize,
}

impl Geo {
    /// `[n, c, h, w, m]`, kernel, strides, dilations, pads (top, left, bottom, right), groups.
    const fn of(
        [n, c, h, w, m]: [usize; 5],
        k: [usize; 2],
        s: [usize; 2],
        d: [usize; 2],
        p: [usize; 4],
        g: usize,
    ) -> Geo {
        Geo {
            n,
            c,
            h,
            w,
            m,
            k,
            s,
            d,
            p,
            g,
        }
    }
    fn out(&self) -> (usize, usize) {
        let oh = (self.h + self.p[0] + self.p[2] - (self.k[0] - 1) * self.d[0] - 1) / self.s[0] + 1;
        let ow = (self.w + self.p[1] + self.p[3] - (self.k[1] - 1) * self.d[1] - 1) / self.s[1] + 1;
        (oh, ow)
    }
    fn node(&self, op: &str) -> Node {
        Node::new(op)
            .with(
                "kernel_shape",
                Attribute::Ints(self.k.iter().map(|&v| v as i64).collect()),
            )
            .with(
                "strides",
                Attribute::Ints(self.s.iter().map(|&v| v as i64).collect()),
            )
            .with(
                "dilations",
                Attribute::Ints(self.d.iter().map(|&v| v as i64).collect()),
            )
            .with(
                "pads",
                Attribute::Ints(vec![
                    self.p[0] as i64,
                    self.p[1] as i64,
                    self.p[2] as i64,
                    self.p[3] as i64,
                ]),
            )
            .with("group", Attribute::Int(self.g as i64))
    }
    /// Reference convolution on integers/floats via a closure giving x and w values as f64.
    fn reference(&self, x: &dyn Fn(usize) -> f64, w: &dyn Fn(usize) -> f64) -> Vec<f64> {
        let (oh, ow) = self.out();
        let (cg, mg) = (self.c / self.g, self.m / self.g);
        let mut y = vec![0f64; self.n * self.m * oh * ow];
        for b in 0..self.n {
            for o in 0..self.m {
                let grp = o / mg;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0f64;
                        for ci in 0..cg {
                            let c = grp * cg + ci;
                            for r in 0..self.k[0] {
                                for s in 0..self.k[1] {
                                    let iy = (oy * self.s[0] + r * self.d[0]) as isize
                                        - self.p[0] as isize;
                                    let ix = (ox * self.s[1] + s * self.d[1]) as isize
                                        - self.p[1] as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy as usize >= self.h
                                        || ix as usize >= self.w
                                    {
                                        continue;
                                    }
                                    let xi = ((b * self.c + c) * self.h + iy as usize) * self.w
                                        + ix as usize;
                                    let wi = ((o * cg + ci) * self.k[0] + r) * self.k[1] + s;
                                    acc += x(xi) * w(wi);
                                }
                            }
                        }
                        y[((b * self.m + o) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        y
    }
}

fn check_f32(geo: Geo, alg: Option<Algorithm>, seed: u64) -> Result<(), String> {
    let mut r = Rng(seed | 1);
    let x: Vec<f32> = (0..geo.n * geo.c * geo.h * geo.w).map(|_| r.f()).collect();
    let w: Vec<f32> = (0..geo.m * (geo.c / geo.g) * geo.k[0] * geo.k[1])
        .map(|_| r.f())
        .collect();
    let b: Vec<f32> = (0..geo.m).map(|_| r.f()).collect();
    let xt = Tensor::f32(vec![geo.n, geo.c, geo.h, geo.w], x.clone()).unwrap();
    let wt = Tensor::f32(vec![geo.m, geo.c / geo.g, geo.k[0], geo.k[1]], w.clone()).unwrap();
    let bt = Tensor::f32(vec![geo.m], b.clone()).unwrap();
    let opts = Options {
        threads: Some(2),
        algorithm: alg,
        ..Options::default()
    };
    let plan = match plan_node(
        &geo.node("Conv"),
        &[
            PlanInput::Runtime {
                dtype: ops::DataType::F32,
                shape: xt.shape(),
            },
            PlanInput::Constant(&wt),
            PlanInput::Constant(&bt),
        ],
        &opts,
    ) {
        Ok(p) => p,
        Err(OpsError::Kernel(_)) | Err(OpsError::Unsupported(_)) if alg.is_some() => return Ok(()),
        Err(e) => return Err(format!("{geo:?} {alg:?}: {e}")),
    };
    let y = plan
        .run(&[Some(&xt), None, None])
        .map_err(|e| format!("{geo:?} {}: {e}", plan.describe()))?;
    let TensorData::F32(yv) = y[0].data() else {
        return Err("not f32".into());
    };
    let mut refy = geo.reference(&|i| f64::from(x[i]), &|i| f64::from(w[i]));
    let (oh, ow) = geo.out();
    for (i, v) in refy.iter_mut().enumerate() {
        *v += f64::from(b[(i / (oh * ow)) % geo.m]);
    }
    let rms = (refy.iter().map(|v| v * v).sum::<f64>() / refy.len() as f64)
        .sqrt()
        .max(1e-12);
    let max_err = yv
        .iter()
        .zip(&refy)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    // DESIGN.md gates: Winograd F(6x6) 1e-4, FFT 1e-5, direct/GEMM 2e-5 (x RMS).
    let gate = match plan.describe() {
        d if d.starts_with("winograd") => 1e-4,
        d if d.starts_with("fft") => 1e-5,
        _ => 2e-5,
    };
    if max_err > gate * rms {
        return Err(format!(
            "{geo:?} {}: max err {max_err:e} > {gate:e} x RMS {rms:e}",
            plan.describe()
        ));
    }
    Ok(())
}

#[test]
fn conv_f32_every_algorithm_fixed_cases() {
    let cases = [
        Geo::of([1, 3, 9, 7, 5], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1),
        Geo::of([2, 4, 12, 11, 3], [5, 5], [1, 1], [1, 1], [2, 1, 0, 2], 1),
        Geo::of([1, 6, 10, 10, 6], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 6),
        Geo::of([1, 4, 9, 9, 8], [3, 3], [1, 1], [2, 2], [0, 0, 0, 0], 2),
        Geo::of([1, 2, 20, 17, 2], [7, 7], [1, 1], [1, 1], [3, 3, 3, 3], 1),
    ];
    for geo in cases {
        for alg in [
            None,
            Some(Algorithm::Winograd),
            Some(Algorithm::Fft),
            Some(Algorithm::Depthwise),
            Some(Algorithm::Im2colGemm),
        ] {
            check_f32(geo, alg, 7).unwrap();
        }
    }
}

fn requant(acc: i64, scale: f32, zp: i32, lo: i32, hi: i32) -> i32 {
    let v = (acc as f32 * scale).round_ties_even() as i64 + i64::from(zp);
    v.clamp(i64::from(lo), i64::from(hi)) as i32
}

fn check_qlinear(geo: Geo, signed: bool, per_channel: bool, seed: u64) -> Result<(), String> {
    for alg in [
        None,
        Some(Algorithm::Winograd),
        Some(Algorithm::QConvDirect),
        Some(Algorithm::Depthwise),
    ] {
        check_qlinear_alg(geo, signed, per_channel, seed, alg)?;
    }
    Ok(())
}

fn check_qlinear_alg(
    geo: Geo,
    signed: bool,
    per_channel: bool,
    seed: u64,
    alg: Option<Algorithm>,
) -> Result<(), String> {
    let mut r = Rng(seed | 1);
    let nx = geo.n * geo.c * geo.h * geo.w;
    let nw = geo.m * (geo.c / geo.g) * geo.k[0] * geo.k[1];
    let xs = 0.02f32;
    let ys = 0.7f32;
    let w_scales: Vec<f32> = if per_channel {
        (0..geo.m).map(|i| 0.01 + 0.003 * i as f32).collect()
    } else {
        vec![0.013]
    };
    let bias: Vec<i32> = (0..geo.m)
        .map(|_| (r.next() % 2001) as i32 - 1000)
        .collect();
    #[allow(clippy::type_complexity)]
    let (xt, xzt, wt, wzt, yzt, xq, wq, xz, wz, yz, lo, hi): (
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Tensor,
        Vec<i32>,
        Vec<i32>,
        i32,
        i32,
        i32,
        i32,
        i32,
    );
    if signed {
        let x: Vec<i8> = (0..nx).map(|_| r.u8() as i8).collect();
        let w: Vec<i8> = (0..nw).map(|_| r.u8() as i8).collect();
        xq = x.iter().map(|&v| i32::from(v)).collect();
        wq = w.iter().map(|&v| i32::from(v)).collect();
        (xz, wz, yz, lo, hi) = (-3, 0, 5, -128, 127);
        xt = Tensor::i8(vec![geo.n, geo.c, geo.h, geo.w], x).unwrap();
        wt = Tensor::i8(vec![geo.m, geo.c / geo.g, geo.k[0], geo.k[1]], w).unwrap();
        xzt = Tensor::i8(vec![], vec![xz as i8]).unwrap();
        wzt = Tensor::i8(vec![], vec![0]).unwrap();
        yzt = Tensor::i8(vec![], vec![yz as i8]).unwrap();
    } else {
        let x: Vec<u8> = (0..nx).map(|_| r.u8()).collect();
        let w: Vec<u8> = (0..nw).map(|_| r.u8()).collect();
        xq = x.iter().map(|&v| i32::from(v)).collect();
        wq = w.iter().map(|&v| i32::from(v)).collect();
        (xz, wz, yz, lo, hi) = (131, 127, 100, 0, 255);
        xt = Tensor::u8(vec![geo.n, geo.c, geo.h, geo.w], x).unwrap();
        wt = Tensor::u8(vec![geo.m, geo.c / geo.g, geo.k[0], geo.k[1]], w).unwrap();
        xzt = Tensor::u8(vec![], vec![xz as u8]).unwrap();
        wzt = Tensor::u8(vec![], vec![wz as u8]).unwrap();
        yzt = Tensor::u8(vec![], vec![yz as u8]).unwrap();
    }
    let xst = Tensor::scalar_f32(xs);
    let wst = Tensor::f32(
        if per_channel { vec![geo.m] } else { vec![] },
        w_scales.clone(),
    )
    .unwrap();
    let yst = Tensor::scalar_f32(ys);
    let bt = Tensor::i32(vec![geo.m], bias.clone()).unwrap();
    let c = PlanInput::Constant;
    let plan = plan_node(
        &geo.node("QLinearConv"),
        &[
            c(&xt),
            c(&xst),
            c(&xzt),
            c(&wt),
            c(&wst),
            c(&wzt),
            c(&yst),
            c(&yzt),
            c(&bt),
        ],
        &Options {
            threads: Some(2),
            algorithm: alg,
            ..Options::default()
        },
    );
    let plan = match plan {
        Ok(p) => p,
        // A forced algorithm may not run this geometry (or refuse it at plan time).
        Err(OpsError::Unsupported(_)) | Err(OpsError::Kernel(_)) if alg.is_some() => return Ok(()),
        Err(e) => return Err(format!("{geo:?}: {e}")),
    };
    let y = plan.run(&[Some(&xt)]).map_err(|e| e.to_string())?;
    let acc = geo.reference(&|i| f64::from(xq[i] - xz), &|i| f64::from(wq[i] - wz));
    let (oh, ow) = geo.out();
    let got: Vec<i32> = match y[0].data() {
        TensorData::U8(v) => v.iter().map(|&a| i32::from(a)).collect(),
        TensorData::I8(v) => v.iter().map(|&a| i32::from(a)).collect(),
        _ => return Err("bad output type".into()),
    };
    for (i, a) in acc.iter().enumerate() {
        let o = (i / (oh * ow)) % geo.m;
        let scale = xs * w_scales[if per_channel { o } else { 0 }] / ys;
        let want = requant(*a as i64 + i64::from(bias[o]), scale, yz, lo, hi);
        if got[i] != want {
            return Err(format!(
                "{geo:?} {}: output {i}: got {} want {want}",
                plan.describe(),
                got[i]
            ));
        }
    }
    Ok(())
}

#[test]
fn qlinearconv_fixed_cases() {
    let cases = [
        Geo::of([1, 3, 9, 7, 5], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1),
        Geo::of([2, 8, 6, 5, 16], [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1),
        Geo::of([1, 6, 10, 10, 12], [3, 3], [2, 2], [1, 1], [1, 1, 1, 1], 6),
        Geo::of([1, 4, 9, 9, 8], [3, 3], [1, 2], [2, 1], [0, 1, 2, 0], 2),
    ];
    for geo in cases {
        for signed in [false, true] {
            for pc in [false, true] {
                check_qlinear(geo, signed, pc, 11).unwrap();
            }
        }
    }
}

fn geo_strategy() -> impl Strategy<Value = Geo> {
    (
        1usize..3,
        1usize..5,
        1usize..4,
        3usize..12,
        3usize..12,
        1usize..4,
        1usize..4,
        1usize..3,
        1usize..3,
        0usize..3,
        any::<bool>(),
    )
        .prop_flat_map(|(n, cg, mg, h, w, kh, kw, s, d, pad, dw)| {
            let g = if dw { 1 + cg % 3 } else { 1 };
            let (c, m) = if dw { (g, g * mg) } else { (cg, mg) };
            Just(Geo {
                n,
                c,
                h,
                w,
                m,
                k: [kh, kw],
                s: [s, s],
                d: [d, 1],
                p: [pad, 0, pad.min(1), pad],
                g,
            })
        })
        .prop_filter("kernel fits", |g| {
            g.h + g.p[0] + g.p[2] > (g.k[0] - 1) * g.d[0]
                && g.w + g.p[1] + g.p[3] > (g.k[1] - 1) * g.d[1]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn conv_f32_random(geo in geo_strategy(), seed in any::<u64>()) {
        for alg in [None, Some(Algorithm::Winograd), Some(Algorithm::Fft), Some(Algorithm::Depthwise), Some(Algorithm::Im2colGemm)] {
            prop_assert!(check_f32(geo, alg, seed).is_ok(), "{:?}", check_f32(geo, alg, seed));
        }
    }

    #[test]
    fn qlinearconv_random(geo in geo_strategy(), signed in any::<bool>(), pc in any::<bool>(), seed in any::<u64>()) {
        let r = check_qlinear(geo, signed, pc, seed);
        prop_assert!(r.is_ok(), "{:?}", r);
    }
}

#[test]
fn matmul_family() {
    let mut r = Rng(5);
    // fp32 batched MatMul with broadcasting: [2,1,3,4] x [3,4,5] -> [2,3,3,5].
    let a: Vec<f32> = (0..2 * 3 * 4).map(|_| r.f()).collect();
    let b: Vec<f32> = (0..3 * 4 * 5).map(|_| r.f()).collect();
    let at = Tensor::f32(vec![2, 1, 3, 4], a.clone()).unwrap();
    let bt = Tensor::f32(vec![3, 4, 5], b.clone()).unwrap();
    let p = plan_node(
        &Node::new("MatMul"),
        &[PlanInput::Constant(&at), PlanInput::Constant(&bt)],
        &Options::default(),
    )
    .unwrap();
    let y = p.run(&[Some(&at), Some(&bt)]).unwrap();
    assert_eq!(y[0].shape(), &[2, 3, 3, 5]);
    let TensorData::F32(yv) = y[0].data() else {
        panic!()
    };
    for i0 in 0..2 {
        for i1 in 0..3 {
            for m in 0..3 {
                for n in 0..5 {
                    let want: f32 = (0..4)
                        .map(|k| a[(i0 * 3 + m) * 4 + k] * b[(i1 * 4 + k) * 5 + n])
                        .sum();
                    let got = yv[((i0 * 3 + i1) * 3 + m) * 5 + n];
                    assert!((got - want).abs() < 1e-5, "{got} {want}");
                }
            }
        }
    }
    // QLinearMatMul u8 x u8, per-tensor, against the ORT formula.
    let a: Vec<u8> = (0..4 * 7).map(|_| r.u8()).collect();
    let b: Vec<u8> = (0..7 * 3).map(|_| r.u8()).collect();
    let at = Tensor::u8(vec![4, 7], a.clone()).unwrap();
    let bt = Tensor::u8(vec![7, 3], b.clone()).unwrap();
    let (asc, azp, bsc, bzp, ysc, yzp) = (0.02f32, 113u8, 0.01f32, 120u8, 0.3f32, 90u8);
    let sc = |v| Tensor::scalar_f32(v);
    let z = |v| Tensor::u8(vec![], vec![v]).unwrap();
    let ins = [sc(asc), z(azp), sc(bsc), z(bzp), sc(ysc), z(yzp)];
    let c = PlanInput::Constant;
    let p = plan_node(
        &Node::new("QLinearMatMul"),
        &[
            c(&at),
            c(&ins[0]),
            c(&ins[1]),
            c(&bt),
            c(&ins[2]),
            c(&ins[3]),
            c(&ins[4]),
            c(&ins[5]),
        ],
        &Options::default(),
    )
    .unwrap();
    let y = p.run(&[Some(&at)]).unwrap();
    let TensorData::U8(yv) = y[0].data() else {
        panic!()
    };
    for m in 0..4 {
        for n in 0..3 {
            let acc: i64 = (0..7)
                .map(|k| (i64::from(a[m * 7 + k]) - 113) * (i64::from(b[k * 3 + n]) - 120))
                .sum();
            assert_eq!(
                i32::from(yv[m * 3 + n]),
                requant(acc, asc * bsc / ysc, 90, 0, 255)
            );
        }
    }
    // MatMulInteger i32 output.
    let p = plan_node(
        &Node::new("MatMulInteger"),
        &[c(&at), c(&bt), c(&ins[1]), c(&ins[3])],
        &Options::default(),
    )
    .unwrap();
    let y = p.run(&[Some(&at)]).unwrap();
    let TensorData::I32(yv) = y[0].data() else {
        panic!()
    };
    assert_eq!(
        yv[0],
        (0..7)
            .map(|k| (i32::from(a[k]) - 113) * (i32::from(b[k * 3]) - 120))
            .sum::<i32>()
    );
}

#[test]
fn quantize_dequantize() {
    let x = Tensor::f32(vec![2, 3], vec![-1.0, 0.0, 0.25, 1.0, 2.5, 300.0]).unwrap();
    let s = Tensor::scalar_f32(0.5);
    let z = Tensor::u8(vec![], vec![10]).unwrap();
    let c = PlanInput::Constant;
    let q = plan_node(
        &Node::new("QuantizeLinear"),
        &[c(&x), c(&s), c(&z)],
        &Options::default(),
    )
    .unwrap();
    let y = q.run(&[Some(&x)]).unwrap();
    // round(x / 0.5) half to even: -2, 0, 0 (0.5 -> 0), 2, 5, 600 -> saturate.
    assert_eq!(y[0].data(), &TensorData::U8(vec![8, 10, 10, 12, 15, 255]));
    let d = plan_node(
        &Node::new("DequantizeLinear"),
        &[c(&y[0]), c(&s), c(&z)],
        &Options::default(),
    )
    .unwrap();
    let back = d.run(&[Some(&y[0])]).unwrap();
    assert_eq!(
        back[0].data(),
        &TensorData::F32(vec![-1.0, 0.0, 0.0, 1.0, 2.5, 122.5])
    );
    // Per-axis.
    let s2 = Tensor::f32(vec![3], vec![1.0, 0.5, 0.25]).unwrap();
    let z2 = Tensor::i8(vec![3], vec![0, 1, -1]).unwrap();
    let q = plan_node(
        &Node::new("QuantizeLinear").with("axis", Attribute::Int(1)),
        &[c(&x), c(&s2), c(&z2)],
        &Options::default(),
    )
    .unwrap();
    let y = q.run(&[Some(&x)]).unwrap();
    assert_eq!(y[0].data(), &TensorData::I8(vec![-1, 1, 0, 1, 6, 127]));
    let dq = plan_node(
        &Node::new("DynamicQuantizeLinear"),
        &[c(&x)],
        &Options::default(),
    )
    .unwrap();
    let y = dq.run(&[Some(&x)]).unwrap();
    assert_eq!(y.len(), 3);
}

#[test]
fn bad_input_is_an_error() {
    let x = Tensor::f32(vec![1, 3, 5, 5], vec![0.0; 75]).unwrap();
    let w = Tensor::f32(vec![4, 2, 3, 3], vec![0.0; 72]).unwrap();
    let c = PlanInput::Constant;
    // Channel mismatch.
    let e = plan_node(&Node::new("Conv"), &[c(&x), c(&w)], &Options::default())
        .err()
        .unwrap();
    assert!(matches!(e, OpsError::Shape(_)), "{e}");
    // Bad attribute values.
    let w3 = Tensor::f32(vec![4, 3, 3, 3], vec![0.0; 108]).unwrap();
    for (k, v) in [
        ("strides", Attribute::Ints(vec![0, 1])),
        ("pads", Attribute::Ints(vec![1, 1])),
        ("auto_pad", Attribute::String("WRONG".into())),
        ("group", Attribute::Int(0)),
        ("kernel_shape", Attribute::Ints(vec![5, 5])),
        ("strides", Attribute::Float(1.0)),
    ] {
        let r = plan_node(
            &Node::new("Conv").with(k, v.clone()),
            &[c(&x), c(&w3)],
            &Options::default(),
        );
        assert!(r.is_err(), "{k}={v:?} accepted");
    }
    // Overflowing geometry and empty images (found by fuzzing: SAME padding of an empty input
    // underflowed, huge dilations and pads overflowed).
    for (k, v) in [
        ("dilations", Attribute::Ints(vec![i64::MAX, 1])),
        ("pads", Attribute::Ints(vec![i64::MAX, 0, i64::MAX, 0])),
    ] {
        let r = plan_node(
            &Node::new("Conv").with(k, v.clone()),
            &[c(&x), c(&w3)],
            &Options::default(),
        );
        assert!(r.is_err(), "{k}={v:?} accepted");
    }
    let empty = Tensor::f32(vec![1, 3, 0, 5], vec![]).unwrap();
    for pad in ["SAME_UPPER", "SAME_LOWER"] {
        for (k, v) in [
            ("strides", Attribute::Ints(vec![1, 1])),
            ("dilations", Attribute::Ints(vec![i64::MAX / 2, 1])),
        ] {
            let node = Node::new("Conv")
                .with("auto_pad", Attribute::String(pad.into()))
                .with(k, v);
            for input in [&empty, &x] {
                let _ = plan_node(&node, &[c(input), c(&w3)], &Options::default());
            }
        }
    }
    // Missing weights, wrong types, unknown operators and attributes.
    assert!(matches!(
        plan_node(&Node::new("Conv"), &[c(&x)], &Options::default()),
        Err(OpsError::MissingInput(_))
    ));
    let xi = Tensor::i32(vec![1, 3, 5, 5], vec![0; 75]).unwrap();
    assert!(plan_node(&Node::new("Conv"), &[c(&xi), c(&w3)], &Options::default()).is_err());
    assert!(matches!(
        plan_node(&Node::new("Softmax"), &[c(&x)], &Options::default()),
        Err(OpsError::Unsupported(_))
    ));
    assert!(plan_node(
        &Node::new("Conv").with("colour", Attribute::Int(1)),
        &[c(&x), c(&w3)],
        &Options::default()
    )
    .is_err());
    // A run with a differently shaped input.
    let p = plan_node(&Node::new("Conv"), &[c(&x), c(&w3)], &Options::default()).unwrap();
    let small = Tensor::f32(vec![1, 3, 4, 4], vec![0.0; 48]).unwrap();
    assert!(p.run(&[Some(&small)]).is_err());
    assert!(Tensor::f32(vec![2, 2], vec![0.0; 3]).is_err());
    // Zero scale: refused at plan time (every scale is checked there).
    let s0 = Tensor::scalar_f32(0.0);
    assert!(matches!(
        plan_node(
            &Node::new("QuantizeLinear"),
            &[c(&x), c(&s0)],
            &Options::default(),
        ),
        Err(OpsError::Quantization(_))
    ));
    // MatMul inner dimension mismatch.
    let a = Tensor::f32(vec![2, 3], vec![0.0; 6]).unwrap();
    let p = plan_node(&Node::new("MatMul"), &[c(&a), c(&a)], &Options::default()).unwrap();
    assert!(matches!(
        p.run(&[Some(&a), Some(&a)]),
        Err(OpsError::Shape(_))
    ));
}

#[test]
fn nhwc_layout_equals_transposed_nchw() {
    let mut r = Rng(99);
    let (n, c, h, w, m) = (2, 4, 7, 6, 8);
    for (group, alg) in [
        (1, None),
        (4, None),
        (1, Some(Algorithm::Im2colGemm)),
        (1, Some(Algorithm::Winograd)),
    ] {
        let x: Vec<f32> = (0..n * c * h * w).map(|_| r.f()).collect();
        let wv: Vec<f32> = (0..m * (c / group) * 9).map(|_| r.f()).collect();
        let xt = Tensor::f32(vec![n, c, h, w], x.clone()).unwrap();
        let xh = Tensor::f32(
            vec![n, h, w, c],
            ops::layout::nchw_to_nhwc(&x, n, c, h, w).unwrap(),
        )
        .unwrap();
        let wt = Tensor::f32(vec![m, c / group, 3, 3], wv).unwrap();
        let node = Node::new("Conv")
            .with("pads", Attribute::Ints(vec![1, 0, 1, 2]))
            .with("group", Attribute::Int(group as i64));
        let c0 = PlanInput::Constant;
        let pa = plan_node(
            &node,
            &[c0(&xt), c0(&wt)],
            &Options {
                algorithm: alg,
                ..Options::default()
            },
        )
        .unwrap();
        let pb = plan_node(
            &node,
            &[c0(&xh), c0(&wt)],
            &Options {
                algorithm: alg,
                layout: ops::Layout::Nhwc,
                ..Options::default()
            },
        )
        .unwrap();
        let ya = pa.run(&[Some(&xt)]).unwrap();
        let yb = pb.run(&[Some(&xh)]).unwrap();
        let s = ya[0].shape().to_vec();
        assert_eq!(yb[0].shape(), &[s[0], s[2], s[3], s[1]]);
        let (TensorData::F32(a), TensorData::F32(b)) = (ya[0].data(), yb[0].data()) else {
            panic!()
        };
        let at = ops::layout::nchw_to_nhwc(a, s[0], s[1], s[2], s[3]).unwrap();
        for (u, v) in at.iter().zip(b) {
            assert!((u - v).abs() <= 1e-5 * (1.0 + u.abs()), "{u} {v}");
        }
        // QLinearConv, same geometry.
        let xq: Vec<u8> = (0..n * c * h * w).map(|_| r.u8()).collect();
        let wq: Vec<i8> = (0..m * (c / group) * 9).map(|_| r.u8() as i8).collect();
        let xqt = Tensor::u8(vec![n, c, h, w], xq.clone()).unwrap();
        let xqh = Tensor::u8(
            vec![n, h, w, c],
            ops::layout::nchw_to_nhwc(&xq, n, c, h, w).unwrap(),
        )
        .unwrap();
        let wqt = Tensor::i8(vec![m, c / group, 3, 3], wq).unwrap();
        let (s1, z1, s2, z2, s3, z3) = (
            Tensor::scalar_f32(0.02),
            Tensor::u8(vec![], vec![128]).unwrap(),
            Tensor::scalar_f32(0.01),
            Tensor::i8(vec![], vec![0]).unwrap(),
            Tensor::scalar_f32(0.3),
            Tensor::u8(vec![], vec![7]).unwrap(),
        );
        let qnode = Node::new("QLinearConv")
            .with("pads", Attribute::Ints(vec![1, 0, 1, 2]))
            .with("group", Attribute::Int(group as i64));
        let ins = |x| {
            [
                c0(x),
                c0(&s1),
                c0(&z1),
                c0(&wqt),
                c0(&s2),
                c0(&z2),
                c0(&s3),
                c0(&z3),
            ]
        };
        let qa = plan_node(&qnode, &ins(&xqt), &Options::default()).unwrap();
        let qb = plan_node(
            &qnode,
            &ins(&xqh),
            &Options {
                layout: ops::Layout::Nhwc,
                ..Options::default()
            },
        )
        .unwrap();
        let ya = qa.run(&[Some(&xqt)]).unwrap();
        let yb = qb.run(&[Some(&xqh)]).unwrap();
        let (TensorData::U8(a), TensorData::U8(b)) = (ya[0].data(), yb[0].data()) else {
            panic!()
        };
        let s = ya[0].shape().to_vec();
        assert_eq!(
            &ops::layout::nchw_to_nhwc(a, s[0], s[1], s[2], s[3]).unwrap(),
            b
        );
    }
}

#[test]
fn int8_winograd_is_chosen_when_forced_and_exact() {
    let geo = Geo::of([1, 5, 8, 9, 7], [3, 3], [1, 1], [1, 1], [1, 0, 2, 1], 1);
    let x = Tensor::u8(
        vec![1, 5, 8, 9],
        (0..360).map(|i| (i * 37 % 256) as u8).collect(),
    )
    .unwrap();
    let w = Tensor::i8(
        vec![7, 5, 3, 3],
        (0..315).map(|i| (i * 53 % 256) as u8 as i8).collect(),
    )
    .unwrap();
    let (z, s) = (
        Tensor::u8(vec![], vec![128]).unwrap(),
        Tensor::scalar_f32(0.01),
    );
    let wz = Tensor::i8(vec![], vec![0]).unwrap();
    let c = PlanInput::Constant;
    let node = geo.node("QLinearConv");
    let ins = [c(&x), c(&s), c(&z), c(&w), c(&s), c(&wz), c(&s), c(&z)];
    let wg = plan_node(
        &node,
        &ins,
        &Options {
            algorithm: Some(Algorithm::Winograd),
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        wg.describe().starts_with("winograd int8"),
        "{}",
        wg.describe()
    );
    let direct = plan_node(
        &node,
        &ins,
        &Options {
            algorithm: Some(Algorithm::QConvDirect),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(
        wg.run(&[Some(&x)]).unwrap(),
        direct.run(&[Some(&x)]).unwrap()
    );
    check_qlinear_alg(geo, false, true, 3, Some(Algorithm::Winograd)).unwrap();
}

/// A 3x3 stride-1 conv past the int8 Winograd's overflow bound (C = 918 input channels, u8 × u8
/// at 255 with zero points 0; the direct kernel's bound is 4x looser): where `ops` would choose
/// Winograd it falls back to the direct kernel; forcing Winograd is an error.
#[test]
fn int8_winograd_overflow_falls_back_to_direct() {
    let cin = 918;
    let geo = Geo::of([1, cin, 1, 2, 1], [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 1);
    let x = Tensor::u8(vec![1, cin, 1, 2], vec![255; cin * 2]).unwrap();
    let w = Tensor::u8(vec![1, cin, 3, 3], vec![255; cin * 9]).unwrap();
    // Scales 1, 1 and 1e6: each output (2 taps x 918 channels x 255 x 255) requantizes to 119.
    let (z, one, big) = (
        Tensor::u8(vec![], vec![0]).unwrap(),
        Tensor::scalar_f32(1.0),
        Tensor::scalar_f32(1e6),
    );
    let c = PlanInput::Constant;
    let node = geo.node("QLinearConv");
    let ins = [c(&x), c(&one), c(&z), c(&w), c(&one), c(&z), c(&big), c(&z)];
    let forced = |a| {
        plan_node(
            &node,
            &ins,
            &Options {
                algorithm: Some(a),
                ..Options::default()
            },
        )
    };
    assert!(forced(Algorithm::Winograd).is_err());
    let auto = plan_node(&node, &ins, &Options::default()).unwrap();
    assert!(
        auto.describe().starts_with("qconv-direct"),
        "{}",
        auto.describe()
    );
    let direct = forced(Algorithm::QConvDirect).unwrap();
    let y = auto.run(&[Some(&x)]).unwrap();
    assert_eq!(y, direct.run(&[Some(&x)]).unwrap());
    assert_eq!(
        y,
        vec![Tensor::u8(vec![1, 1, 1, 2], vec![119, 119]).unwrap()]
    );
}
