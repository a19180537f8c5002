//! DynamicQuantizeLinear, symmetric / per-channel choosing, and the calibration observers.

use quant_params::choose::{
    choose_per_channel, choose_per_tensor, dynamic_quantize_linear, dynamic_quantize_params,
    quantize_per_channel, symmetric_from_abs_max, ChannelLayout, Symmetry,
};
use quant_params::observer::{
    HistogramMethod, HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver, Observer,
    PerChannelObserver,
};
use quant_params::{QType, QuantParams};

/// ONNX DynamicQuantizeLinear reference, written from the spec (f32 arithmetic throughout).
fn onnx_dql(x: &[f32]) -> (Vec<u8>, f32, u8) {
    let maxx = x.iter().fold(0f32, |a, &b| a.max(b));
    let minx = x.iter().fold(0f32, |a, &b| a.min(b));
    let scale = (if maxx == minx { 1.0 } else { maxx - minx }) / 255.0f32;
    let zp = (0.0f32 - minx / scale).clamp(0.0, 255.0).round_ties_even();
    let y = x
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8)
        .collect();
    (y, scale, zp as u8)
}

#[test]
fn dynamic_quantize_linear_node_tests() {
    // The three ONNX node tests (test_dynamicquantizelinear, _max_adjusted, _min_adjusted):
    // inputs from the operator's documentation, expected outputs from the spec's formulas.
    let cases: [(&[f32], f32, u8, &[u8]); 3] = [
        (
            &[0.0, 2.0, -3.0, -2.5, 1.34, 0.5],
            5.0 / 255.0,
            153,
            &[153, 255, 0, 26, 221, 179],
        ),
        (
            &[-1.0, -2.1, -1.3, -2.5, -3.34, -4.0],
            4.0 / 255.0,
            255,
            &[191, 121, 172, 96, 42, 0],
        ),
        (
            &[
                1.0, 2.1, 1.3, 2.5, 3.34, 4.0, 1.5, 2.6, 3.9, 4.0, 3.0, 2.345,
            ],
            4.0 / 255.0,
            0,
            &[64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149],
        ),
    ];
    for (x, scale, zp, y) in cases {
        let mut out = vec![0u8; x.len()];
        let p = dynamic_quantize_linear(x, &mut out).unwrap();
        assert_eq!(p.scale(), scale, "{x:?}");
        assert_eq!(p.zero_point(), i32::from(zp), "{x:?}");
        assert_eq!(out, y, "{x:?}");
        let (ry, rs, rz) = onnx_dql(x);
        assert_eq!((ry, rs, rz), (out.clone(), p.scale(), zp));
    }
    // All zeros: the spec's scale would be 0; onnx.reference uses 1/255 and zero point 0.
    let mut out = [7u8; 3];
    let p = dynamic_quantize_linear(&[0.0, -0.0, 0.0], &mut out).unwrap();
    assert_eq!(
        (p.scale(), p.zero_point(), out),
        (1.0 / 255.0, 0, [0, 0, 0])
    );
    assert_eq!(dynamic_quantize_params(&[]).unwrap().zero_point(), 0);
    // Non-finite input is refused, naming the element.
    let e = dynamic_quantize_params(&[1.0, f32::NAN]).unwrap_err();
    assert!(e.to_string().contains("element 1"), "{e}");
    // Random data against the spec reference.
    let mut s = 1u32;
    for n in [1usize, 7, 64, 333] {
        for k in 0..20 {
            let x: Vec<f32> = (0..n)
                .map(|_| {
                    s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.3 + k as f32 * 0.03) * 10.0
                })
                .collect();
            let mut out = vec![0u8; n];
            let p = dynamic_quantize_linear(&x, &mut out).unwrap();
            let (ry, rs, rz) = onnx_dql(&x);
            assert_eq!((out, p.scale(), p.zero_point()), (ry, rs, i32::from(rz)));
        }
    }
}

#[test]
fn symmetric_and_per_channel() {
    let p = symmetric_from_abs_max(2.54, QType::I8).unwrap();
    assert_eq!((p.scale(), p.zero_point()), (0.02, 0));
    assert_eq!(p.quantize(-2.54), -127);
    assert_eq!(p.quantize(-100.0), -128);
    assert_eq!(
        symmetric_from_abs_max(1.0, QType::U8).unwrap().zero_point(),
        128
    );
    assert!(symmetric_from_abs_max(f32::NAN, QType::I8).is_err());
    let t = choose_per_tensor(&[-1.0, 3.0], QType::I8, Symmetry::Symmetric).unwrap();
    assert_eq!(t.scale(), 3.0 / 127.0);
    let a = choose_per_tensor(&[-1.0, 3.0], QType::U8, Symmetry::Asymmetric).unwrap();
    assert_eq!(a, QuantParams::from_min_max(-1.0, 3.0, QType::U8).unwrap());

    // Weights [C_out = 3, 4]: per-channel ranges; and NHWC [2 pixels, 3 channels].
    let w = [
        1.0f32, -1.0, 0.5, 0.0, /* c1 */ 10.0, 5.0, -2.0, 0.0, /* c2 */ 0.0, 0.0, 0.0,
        0.0,
    ];
    let l = ChannelLayout {
        outer: 1,
        channels: 3,
        inner: 4,
    };
    let pc = choose_per_channel(&w, l, QType::I8, Symmetry::Symmetric).unwrap();
    assert_eq!(pc.scales(), vec![1.0 / 127.0, 10.0 / 127.0, 1.0]);
    assert_eq!(pc.zero_points(), vec![0, 0, 0]);
    let mut q = [0u8; 12];
    quantize_per_channel(&w, l, &pc, &mut q).unwrap();
    let qi: Vec<i8> = q.iter().map(|&b| b as i8).collect();
    assert_eq!(qi, [127, -127, 64, 0, 127, 64, -25, 0, 0, 0, 0, 0]);
    let nhwc = [1.0f32, 2.0, 3.0, -1.0, -2.0, -3.0];
    let l2 = ChannelLayout {
        outer: 2,
        channels: 3,
        inner: 1,
    };
    let pc2 = choose_per_channel(&nhwc, l2, QType::U8, Symmetry::Asymmetric).unwrap();
    for c in 0..3 {
        let want = QuantParams::from_min_max(-(c as f32 + 1.0), c as f32 + 1.0, QType::U8).unwrap();
        assert_eq!(pc2.channel(c), want);
    }
    let e = choose_per_channel(&nhwc, l, QType::U8, Symmetry::Asymmetric).unwrap_err();
    assert!(e.to_string().contains("expected length 12, found 6"), "{e}");
}

#[test]
fn min_max_and_moving_average() {
    let mut m = MinMaxObserver::new();
    assert_eq!(m.range(QType::U8, Symmetry::Asymmetric), None);
    m.observe(&[1.0, 2.0, f32::NAN]);
    m.observe(&[-3.0, f32::INFINITY]);
    assert_eq!(m.range(QType::U8, Symmetry::Asymmetric), Some((-3.0, 2.0)));
    assert_eq!(
        m.params(QType::U8, Symmetry::Asymmetric).unwrap(),
        QuantParams::from_min_max(-3.0, 2.0, QType::U8).unwrap()
    );
    let mut a = MovingAverageMinMaxObserver::new(0.5).unwrap();
    a.observe(&[0.0, 4.0]);
    a.observe(&[-2.0, 2.0]);
    assert_eq!(a.range(QType::U8, Symmetry::Asymmetric), Some((-1.0, 3.0)));
    assert!(MovingAverageMinMaxObserver::new(0.0).is_err());
}

fn gaussian_with_outliers(n: usize, outliers: bool) -> Vec<f32> {
    let mut s = 12345u64;
    let mut u = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut v: Vec<f32> = (0..n)
        .map(|_| {
            let (a, b) = (u(), u());
            ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
        })
        .collect();
    if outliers {
        v[0] = 100.0;
        v[1] = -80.0;
    }
    v
}

#[test]
fn histogram_percentile_and_mse_clip_outliers() {
    let x = gaussian_with_outliers(50_000, true);
    let mut full = HistogramObserver::new(2048, HistogramMethod::Full).unwrap();
    let mut pct = HistogramObserver::new(2048, HistogramMethod::Percentile(99.9)).unwrap();
    let mut mse = HistogramObserver::new(2048, HistogramMethod::Mse { steps: 128 }).unwrap();
    // Observe in batches so the histogram range grows (re-binning).
    for chunk in x.chunks(7_000) {
        full.observe(chunk);
        pct.observe(chunk);
        mse.observe(chunk);
    }
    let total: f64 = full.histogram().2.iter().sum();
    assert_eq!(total, x.len() as f64);
    assert_eq!(
        full.range(QType::U8, Symmetry::Asymmetric),
        Some((-80.0, 100.0))
    );
    let (plo, phi) = pct.range(QType::U8, Symmetry::Asymmetric).unwrap();
    assert!(
        plo > -5.0 && plo < -2.5 && phi > 2.5 && phi < 5.0,
        "{plo} {phi}"
    );
    for sym in [Symmetry::Asymmetric, Symmetry::Symmetric] {
        let (mlo, mhi) = mse.range(QType::I8, sym).unwrap();
        assert!(mhi <= 100.0 && mlo >= -80.0, "{sym:?} {mlo} {mhi}");
        // The chosen range is no worse than the full range on the histogram's MSE.
        let chosen = mse.params(QType::I8, sym).unwrap();
        let naive = full.params(QType::I8, sym).unwrap();
        assert!(mse.quantization_mse(&chosen) <= mse.quantization_mse(&naive));
    }
    // Without outliers but with 20 far values, 8-bit MSE clipping cuts into the tail; it
    // beats the full range strictly.
    let mut y = gaussian_with_outliers(50_000, false);
    for (k, v) in y.iter_mut().take(20).enumerate() {
        *v = 12.0 + k as f32 * 0.1;
    }
    let mut full = HistogramObserver::new(2048, HistogramMethod::Full).unwrap();
    let mut mse = HistogramObserver::new(2048, HistogramMethod::Mse { steps: 128 }).unwrap();
    full.observe(&y);
    mse.observe(&y);
    let (_, mhi) = mse.range(QType::U8, Symmetry::Asymmetric).unwrap();
    let chosen = mse.params(QType::U8, Symmetry::Asymmetric).unwrap();
    let naive = full.params(QType::U8, Symmetry::Asymmetric).unwrap();
    let (ec, en) = (mse.quantization_mse(&chosen), mse.quantization_mse(&naive));
    println!("MSE clipping: hi {mhi}, mse {ec:e} vs full range {en:e}");
    assert!(ec < en && mhi < 13.9, "{ec} {en} {mhi}");
    assert!(HistogramObserver::new(1, HistogramMethod::Full).is_err());
    assert!(HistogramObserver::new(16, HistogramMethod::Percentile(0.0)).is_err());
}

#[test]
fn per_channel_observers() {
    // Weights [2, 3]: channel 0 in [-1, 1], channel 1 in [0, 6].
    let w = [-1.0f32, 0.0, 1.0, 0.0, 3.0, 6.0];
    let l = ChannelLayout {
        outer: 1,
        channels: 2,
        inner: 3,
    };
    let mut o = PerChannelObserver::new(MinMaxObserver::new(), 2);
    o.observe(&w, l).unwrap();
    let p = o.params(QType::U8, Symmetry::Asymmetric).unwrap();
    assert_eq!(
        p.channel(0),
        QuantParams::from_min_max(-1.0, 1.0, QType::U8).unwrap()
    );
    assert_eq!(
        p.channel(1),
        QuantParams::from_min_max(0.0, 6.0, QType::U8).unwrap()
    );
    // Channel-last activations [3 pixels, 2 channels].
    let a = [1.0f32, -4.0, 2.0, -5.0, 3.0, -6.0];
    let l2 = ChannelLayout {
        outer: 3,
        channels: 2,
        inner: 1,
    };
    let mut h = PerChannelObserver::new(
        HistogramObserver::new(64, HistogramMethod::Full).unwrap(),
        2,
    );
    h.observe(&a, l2).unwrap();
    assert_eq!(
        h.channel(0).unwrap().range(QType::U8, Symmetry::Asymmetric),
        Some((1.0, 3.0))
    );
    assert_eq!(
        h.channel(1).unwrap().range(QType::U8, Symmetry::Asymmetric),
        Some((-6.0, -4.0))
    );
    let l8 = ChannelLayout {
        outer: 1,
        channels: 2,
        inner: 4,
    };
    let e = h.observe(&a, l8).unwrap_err();
    assert!(e.to_string().contains("input length"), "{e}");
    let l3 = ChannelLayout {
        outer: 1,
        channels: 3,
        inner: 2,
    };
    assert!(h.observe(&a, l3).is_err());
}
