//! The exact int8 Winograd F(2x2,3x3) path against qconv-direct, bit for bit, on every variant.

use cpu_probe::parallel::Parallel;
use cpu_probe::Entry;
use proptest::prelude::*;
use qconv_direct::{reference, ConvGeometry, Output8 as DirectOut};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};
use winograd::int8::{
    Conv2dDesc, Input8, Int8Config, Int8Error, Kernels, Output8, OutputStage, Padding,
    WinogradInt8, WGEMM,
};

/// One problem: NHWC input (batch × h × w, pixel stride `stride`), OHWI weights.
#[derive(Clone, Debug)]
struct Case {
    batch: usize,
    h: usize,
    w: usize,
    stride: usize,
    cin: usize,
    cout: usize,
    pad: [usize; 4],
    in_type: QType,
    zx: i32,
    input: Vec<u8>, // raw bytes (i8 reinterpreted when in_type is I8)
    w_type: QType,
    zw: Vec<i32>,
    weights: Vec<u8>,
    bias: Option<Vec<i32>>,
}

/// `bytes` as values of type `t` (u8 or i8), widened to i32.
fn widen(t: QType, bytes: &[u8]) -> Vec<i32> {
    match t {
        QType::U8 => bytes.iter().map(|&b| i32::from(b)).collect(),
        QType::I8 => bytes.iter().map(|&b| i32::from(b as i8)).collect(),
    }
}

/// `Σ_{i<n} Σ_{j<n} f(i, j)`.
fn sum2(n: usize, f: impl Fn(usize, usize) -> i64) -> i64 {
    (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| f(i, j))
        .sum()
}

/// xorshift64 (13, 7, 17) from `seed` (not 0): the tests' deterministic generator.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

fn as_i8(x: &[u8]) -> Vec<i8> {
    x.iter().map(|&b| b as i8).collect()
}

impl Case {
    fn out_hw(&self) -> (usize, usize) {
        (
            self.h + self.pad[0] + self.pad[2] - 2,
            self.w + self.pad[1] + self.pad[3] - 2,
        )
    }

    /// qconv-direct's reference, per image, plus bias.
    fn reference(&self) -> Vec<i32> {
        let g = ConvGeometry {
            in_h: self.h,
            in_w: self.w,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            pad: self.pad,
        };
        let img = self.h * self.w * self.stride;
        let zw: Vec<i32> = if self.zw.len() == 1 {
            vec![self.zw[0]; self.cout]
        } else {
            self.zw.clone()
        };
        let mut out = Vec::new();
        for b in 0..self.batch {
            let inp = &self.input[b * img..];
            let inp = &inp[..img.min(inp.len())];
            // The operands as i32 values of their types (the reference widens them so too).
            let (x, w) = (widen(self.in_type, inp), widen(self.w_type, &self.weights));
            let (cin, cout, stride) = (self.cin, self.cout, self.stride);
            let acc = reference::conv_i32(&g, 1, cin, cout, &x, stride, self.zx, &w, &zw);
            out.extend(acc);
        }
        if let Some(bias) = &self.bias {
            for (i, x) in out.iter_mut().enumerate() {
                *x += bias[i % self.cout];
            }
        }
        out
    }

    fn plan(
        &self,
        stage: OutputStage,
        variant: &'static Entry<Kernels>,
    ) -> Result<WinogradInt8, Int8Error> {
        let wi8 = as_i8(&self.weights);
        WinogradInt8::new(Int8Config {
            desc: Conv2dDesc::square(3, 1, Padding::Explicit(self.pad), 1, self.cin, self.cout),
            input_type: self.in_type,
            input_zero_point: self.zx,
            weights: match self.w_type {
                QType::U8 => Input8::U8(&self.weights),
                QType::I8 => Input8::I8(&wi8),
            },
            weight_zero_points: &self.zw,
            bias: self.bias.as_deref(),
            output: stage,
            kernels: Some(variant),
        })
    }

    fn input8(&self) -> (Vec<i8>, QType) {
        (as_i8(&self.input), self.in_type)
    }

    fn run_i32(&self, variant: &'static Entry<Kernels>, par: &Parallel) -> Vec<i32> {
        let plan = self.plan(OutputStage::RawI32, variant).expect("plan");
        let (oh, ow) = self.out_hw();
        let mut out = vec![0i32; self.batch * oh * ow * self.cout];
        let (i8s, t) = self.input8();
        let input = match t {
            QType::U8 => Input8::U8(&self.input),
            QType::I8 => Input8::I8(&i8s),
        };
        plan.run(
            input,
            self.batch,
            self.h,
            self.w,
            self.stride,
            Output8::I32(&mut out),
            par,
        )
        .expect("run");
        out
    }

    /// Requantized outputs of Winograd (every variant) and of qconv-direct's plan.
    fn check_requant(&self, stage: OutputStage, out_type: QType) {
        let (oh, ow) = self.out_hw();
        let n = self.batch * oh * ow * self.cout;
        let wi8 = as_i8(&self.weights);
        let i8s = as_i8(&self.input);
        let direct = qconv_direct::QConv2d::new(qconv_direct::QConv2dConfig {
            desc: qconv_direct::Conv2dDesc::square(
                3,
                1,
                qconv_direct::Padding::Explicit(self.pad),
                1,
                self.cin,
                self.cout,
            ),
            input_type: self.in_type,
            input_zero_point: self.zx,
            weights: match self.w_type {
                QType::U8 => qconv_direct::Input8::U8(&self.weights),
                QType::I8 => qconv_direct::Input8::I8(&wi8),
            },
            weight_zero_points: &self.zw,
            bias: self.bias.as_deref(),
            output: match &stage {
                OutputStage::PerTensor(r) => qconv_direct::OutputStage::PerTensor(*r),
                OutputStage::PerChannel(p) => qconv_direct::OutputStage::PerChannel(p.clone()),
                OutputStage::RawI32 => qconv_direct::OutputStage::RawI32,
            },
            kernel: None,
        })
        .expect("direct plan");
        let dinput = match self.in_type {
            QType::U8 => qconv_direct::Input8::U8(&self.input),
            QType::I8 => qconv_direct::Input8::I8(&i8s),
        };
        let winput = match self.in_type {
            QType::U8 => Input8::U8(&self.input),
            QType::I8 => Input8::I8(&i8s),
        };
        let par = Parallel::single();
        let (b, h, w, s) = (self.batch, self.h, self.w, self.stride);
        let mut want = vec![0u8; n];
        let mut want8 = vec![0i8; n];
        match out_type {
            QType::U8 => direct.run(dinput, b, h, w, s, DirectOut::U8(&mut want), &par),
            QType::I8 => direct.run(dinput, b, h, w, s, DirectOut::I8(&mut want8), &par),
        }
        .expect("direct run");
        for v in WGEMM.available() {
            let plan = self.plan(stage.clone(), v).expect("plan");
            match out_type {
                QType::U8 => {
                    let mut got = vec![0u8; n];
                    plan.run(winput, b, h, w, s, Output8::U8(&mut got), &par)
                        .expect("run");
                    assert_eq!(got, want, "{} u8 output", v.name);
                }
                QType::I8 => {
                    let mut got = vec![0i8; n];
                    plan.run(winput, b, h, w, s, Output8::I8(&mut got), &par)
                        .expect("run");
                    assert_eq!(got, want8, "{} i8 output", v.name);
                }
            }
        }
    }

    fn check_i32(&self) {
        let want = self.reference();
        let pars = [Parallel::single(), Parallel::new(2)];
        for v in WGEMM.available() {
            for par in &pars {
                let got = self.run_i32(v, par);
                if got != want {
                    let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
                    panic!(
                        "{} ({} threads): first mismatch at {i}: got {} want {} in {self:?}",
                        v.name,
                        par.threads(),
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }
}

fn qtype(signed: bool) -> QType {
    if signed {
        QType::I8
    } else {
        QType::U8
    }
}

prop_compose! {
    fn any_case()(
        batch in 1usize..=2, h in 1usize..=11, w in 1usize..=11,
        pad in prop::array::uniform4(0usize..=2),
        cin in 1usize..=40, cout in 1usize..=40, extra_stride in 0usize..=3,
        in_signed in any::<bool>(), w_signed in any::<bool>(), per_channel in any::<bool>(),
        with_bias in any::<bool>(), seed in any::<u64>(),
    ) -> Option<Case> {
        if h + pad[0] + pad[2] < 3 || w + pad[1] + pad[3] < 3 {
            return None;
        }
        let mut rnd = xorshift(seed | 1);
        let stride = cin + extra_stride;
        let in_type = qtype(in_signed);
        let w_type = qtype(w_signed);
        let zp = |t: QType, r: u64| t.min() + (r % 256) as i32;
        let zx = zp(in_type, rnd());
        let zw: Vec<i32> = if per_channel {
            (0..cout).map(|_| zp(w_type, rnd())).collect()
        } else if w_signed && rnd().is_multiple_of(2) {
            vec![0] // symmetric
        } else {
            vec![zp(w_type, rnd())]
        };
        let input = (0..batch * h * w * stride).map(|_| rnd() as u8).collect();
        let weights = (0..cout * 9 * cin).map(|_| rnd() as u8).collect();
        let bias = with_bias.then(|| (0..cout).map(|_| (rnd() % 200_001) as i32 - 100_000).collect());
        Some(Case { batch, h, w, stride, cin, cout, pad, in_type, zx, input, w_type, zw, weights, bias })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn i32_accumulators_equal_direct(c in any_case()) {
        if let Some(c) = c {
            c.check_i32();
        }
    }

    #[test]
    fn requantized_outputs_equal_direct(c in any_case(), scheme in 0usize..4, per_channel in any::<bool>(), out_signed in any::<bool>()) {
        if let Some(c) = c {
            let scheme = [RequantScheme::Fp32, RequantScheme::Gemmlowp, RequantScheme::Rndnu, RequantScheme::Precise][scheme];
            let t = qtype(out_signed);
            let zo = if out_signed { -3 } else { 120 };
            let stage = if per_channel {
                let scales: Vec<f32> = (0..c.cout).map(|o| 0.0007 * (1.0 + o as f32 * 0.37)).collect();
                OutputStage::PerChannel(PerChannelRequantizer::new(scheme, &scales, zo, t).unwrap())
            } else {
                OutputStage::PerTensor(Requantizer::new(scheme, 0.0013, zo, t).unwrap().with_clamp(t.min() + 5, t.max() - 7).unwrap())
            };
            c.check_requant(stage, t);
        }
    }
}

/// A case with every input byte `x`, every weight byte `wb`.
#[allow(clippy::too_many_arguments)]
fn uniform(
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    pad: usize,
    in_type: QType,
    zx: i32,
    x: u8,
    w_type: QType,
    zw: i32,
    wb: u8,
) -> Case {
    Case {
        batch: 1,
        h,
        w,
        stride: cin,
        cin,
        cout,
        pad: [pad; 4],
        in_type,
        zx,
        input: vec![x; h * w * cin],
        w_type,
        zw: vec![zw],
        weights: vec![wb; cout * 9 * cin],
        bias: None,
    }
}

#[test]
fn extremes() {
    // Inputs all 0 / all 255 (u8) or -128 / 127 (s8), zero points at both ends of the range,
    // weights at both ends, with padding so borders (zero-point taps) are covered.
    for (in_type, xs, zxs) in [
        (QType::U8, [0u8, 255], [0, 255]),
        (QType::I8, [0x80u8, 0x7f], [-128, 127]),
    ] {
        for (w_type, ws, zws) in [
            (QType::U8, [0u8, 255], [0, 255]),
            (QType::I8, [0x80u8, 0x7f], [-128, 127]),
        ] {
            for &x in &xs {
                for &zx in &zxs {
                    for &wb in &ws {
                        for &zw in &zws {
                            for pad in 0..=2 {
                                uniform(7, 6, 40, 9, pad, in_type, zx, x, w_type, zw, wb)
                                    .check_i32();
                            }
                        }
                    }
                }
            }
        }
    }
    // Alternating extremes (maximises |V| with mixed signs).
    let mut c = uniform(9, 9, 33, 17, 1, QType::U8, 0, 0, QType::I8, 0, 0x7f);
    for (i, x) in c.input.iter_mut().enumerate() {
        *x = if (i / 33 + i % 33) % 2 == 0 { 255 } else { 0 };
    }
    for (i, w) in c.weights.iter_mut().enumerate() {
        *w = if (i / 33) % 2 == 0 { 0x7f } else { 0x80 };
    }
    c.check_i32();
}

/// Largest C accepted at the extremes: 4·255·255·9·C <= 2^31 − 1  <=>  C <= 917.
#[test]
fn overflow_bound_is_enforced_and_tight() {
    assert_eq!((i32::MAX as i64) / (4 * 255 * 255 * 9), 917);
    for (w_type, wb, zw) in [
        (QType::U8, 255u8, 0),
        (QType::I8, 0x80u8, 127),
        (QType::U8, 0u8, 255),
    ] {
        // Every |x − zx| = 255 and |w − zw| = 255: interior outputs are exactly ±255·255·9·C.
        let ok = uniform(4, 5, 917, 2, 1, QType::U8, 0, 255, w_type, zw, wb);
        ok.check_i32();
        let r = ok.reference();
        // Output 4x5x2; pixel (1, 1) sees all nine taps.
        assert_eq!(r[(5 + 1) * 2].unsigned_abs() as i64, 255 * 255 * 9 * 917);
        let too_many = uniform(4, 5, 918, 2, 1, QType::U8, 0, 255, w_type, zw, wb);
        match too_many.plan(OutputStage::RawI32, &WGEMM.all()[0]) {
            Err(Int8Error::Overflow(m)) => assert!(m.contains("C = 918"), "{m}"),
            other => panic!("C = 918 must be refused, got {other:?}"),
        }
    }
    // With a zero point in the middle the activation magnitude is 128 (u8, zx = 127: 255 − 127
    // = 128), so more channels fit: 4·128·255·9·C <= 2^31 − 1 <=> C <= 1827.
    let ok = uniform(3, 3, 1827, 1, 0, QType::U8, 127, 255, QType::U8, 0, 255);
    ok.check_i32();
    assert!(
        uniform(3, 3, 1828, 1, 0, QType::U8, 127, 255, QType::U8, 0, 255)
            .plan(OutputStage::RawI32, &WGEMM.all()[0])
            .is_err()
    );
    // The bias is part of the bound.
    let mut b = uniform(3, 3, 8, 1, 0, QType::U8, 0, 255, QType::U8, 0, 255);
    b.bias = Some(vec![i32::MAX]);
    assert!(matches!(
        b.plan(OutputStage::RawI32, &WGEMM.all()[0]),
        Err(Int8Error::Overflow(_))
    ));
}

#[test]
fn errors_name_the_arguments() {
    let c = uniform(5, 5, 3, 2, 1, QType::U8, 3, 7, QType::I8, 0, 1);
    let mut bad = c.clone();
    bad.weights.pop();
    let e = bad.plan(OutputStage::RawI32, &WGEMM.all()[0]).unwrap_err();
    assert!(e.to_string().contains("weights have 53 elements"), "{e}");
    let mut bad = c.clone();
    bad.zw = vec![0, 0, 0];
    assert!(bad.plan(OutputStage::RawI32, &WGEMM.all()[0]).is_err());
    let mut bad = c.clone();
    bad.zx = 300;
    assert!(bad.plan(OutputStage::RawI32, &WGEMM.all()[0]).is_err());
    let plan = c.plan(OutputStage::RawI32, &WGEMM.all()[0]).unwrap();
    let par = Parallel::single();
    let mut out = vec![0i32; 5 * 5 * 2];
    // One 5x5 image of 3 channels unless stated.
    let run = |x: Input8<'_>, hw: usize, y: Output8<'_>| plan.run(x, 1, hw, hw, 3, y, &par);
    let e = run(Input8::U8(&c.input[1..]), 5, Output8::I32(&mut out)).unwrap_err();
    assert!(e.to_string().contains("input has 74 elements"), "{e}");
    let mut small = vec![0i32; 3];
    assert!(run(Input8::U8(&c.input), 5, Output8::I32(&mut small)).is_err());
    let mut u8out = vec![0u8; 50];
    assert!(run(Input8::U8(&c.input), 5, Output8::U8(&mut u8out)).is_err());
    assert!(run(Input8::I8(&[0; 75]), 5, Output8::I32(&mut out)).is_err());
    assert!(run(Input8::U8(&c.input), 1, Output8::I32(&mut out)).is_err());
    for v in WGEMM.all() {
        if !v.supported() {
            assert!(matches!(
                c.plan(OutputStage::RawI32, v),
                Err(Int8Error::Variant(_))
            ));
        }
    }
    assert!(WGEMM.by_name("wgemm_4x8c2__scalar").is_ok());
}

#[test]
fn reports_variants() {
    let names: Vec<_> = WGEMM.available().iter().map(|v| v.name).collect();
    eprintln!("int8 winograd table entries available: {names:?}");
    assert!(names.contains(&"wgemm_4x8c2__scalar"));
    #[cfg(target_arch = "aarch64")]
    assert!(names.contains(&"wgemm_8x8c2__neon"), "{names:?}");
}

#[test]
fn profiled_run_matches_run() {
    let mut c = uniform(13, 10, 19, 21, 1, QType::I8, -7, 0, QType::I8, 0, 0);
    for (i, x) in c.input.iter_mut().enumerate() {
        *x = (i * 37 % 251) as u8;
    }
    for (i, w) in c.weights.iter_mut().enumerate() {
        *w = (i * 91 % 253) as u8;
    }
    let want = c.reference();
    for v in WGEMM.available() {
        let plan = c.plan(OutputStage::RawI32, v).unwrap();
        let mut got = vec![0i32; want.len()];
        let i8s = as_i8(&c.input);
        let p = plan
            .run_profiled(
                Input8::I8(&i8s),
                1,
                c.h,
                c.w,
                c.stride,
                Output8::I32(&mut got),
            )
            .unwrap();
        assert_eq!(got, want, "{}", v.name);
        assert!(p.multiply > std::time::Duration::ZERO);
        assert_eq!(p.kernel_transform, plan.kernel_transform_time());
    }
}

/// The 2-D identity behind the exact path, straight from the matrices in `winograd::f2x3`:
/// `Aᵀ[((2G) g (2G)ᵀ) ⊙ (Bᵀ d B)]A = 4 · (d ⋆ g)` for integer tiles, at the value extremes too.
#[test]
fn matrices_give_four_times_the_correlation() {
    use winograd::f2x3::{AT, BT, G2};
    let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
    for case in 0..2000 {
        let pick = |r: u64| match case % 3 {
            0 => (r % 511) as i64 - 255,
            1 => [255, -255][(r % 2) as usize],
            _ => [255, -255, 0][(r % 3) as usize],
        };
        let d: [[i64; 4]; 4] = core::array::from_fn(|_| core::array::from_fn(|_| pick(rnd())));
        let g: [[i64; 3]; 3] = core::array::from_fn(|_| core::array::from_fn(|_| pick(rnd())));
        let bt = |i: usize, k: usize| i64::from(BT[i][k]);
        let g2 = |i: usize, k: usize| i64::from(G2[i][k]);
        let at = |i: usize, k: usize| i64::from(AT[i][k]);
        let mut m = [[0i64; 4]; 4];
        for (i, mi) in m.iter_mut().enumerate() {
            for (j, mij) in mi.iter_mut().enumerate() {
                let v = sum2(4, |k, l| bt(i, k) * d[k][l] * bt(j, l));
                let u = sum2(3, |a, b| g2(i, a) * g[a][b] * g2(j, b));
                assert!(v.abs() <= 1020 && u.abs() <= 2295, "|V| = {v}, |U| = {u}");
                *mij = u * v;
            }
        }
        for r in 0..2 {
            for c in 0..2 {
                let y4 = sum2(4, |i, j| at(r, i) * m[i][j] * at(c, j));
                let direct = sum2(3, |a, b| d[r + a][c + b] * g[a][b]);
                assert_eq!(y4, 4 * direct, "tile {d:?} kernel {g:?}");
            }
        }
    }
}
