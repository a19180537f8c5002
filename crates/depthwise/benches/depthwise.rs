//! Workloads D1 (3x3 144ch 56x56), D2 (3x3 96ch 112x112 s2), D3 (5x5 240ch 14x14) in int8
//! (u8 activations zp 128, s8 weights, Fp32 requantization to u8) and DF (fp32 3x3 144ch 56x56)
//! per table entry (named by the function the plan runs), then the MobileNet v2 depthwise layers (3x3, pad 1) with the best entry, int8
//! and fp32. 1 thread. Throughput: bytes moved (input + output + weights) per second.
//!
//! `cargo bench -p depthwise` (filter e.g. `-- D1`).

use cpu_probe::parallel::Parallel;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use depthwise::{
    Depthwise32, DwDesc, Entry, F32Kernels, Input8, Int8Kernels, Output8, OutputStage, QDepthwise,
    QDepthwiseConfig, DWCONV_F32, DWCONV_INT8,
};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;
use std::time::Duration;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

/// (input, output, weights) element counts.
fn sizes(d: &DwDesc, h: usize, w: usize) -> (usize, usize, usize) {
    let (oh, ow) = d.output_size(h, w).unwrap();
    (h * w * d.channels, oh * ow * d.cout(), d.taps() * d.cout())
}

fn bench_i8(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    d: DwDesc,
    h: usize,
    w: usize,
    v: &'static Entry<Int8Kernels>,
) {
    let (n_in, n_out, n_w) = sizes(&d, h, w);
    let x = data(n_in, 1);
    let wt: Vec<i8> = data(n_w, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let bias: Vec<i32> = (0..d.cout() as i32).map(|c| c * 7 - 300).collect();
    let r = Requantizer::new(RequantScheme::Fp32, 0.002, 128, QType::U8).unwrap();
    let plan = QDepthwise::new(QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(&wt),
        weight_zero_points: &[0],
        bias: Some(&bias),
        output: OutputStage::PerTensor(r),
        entry: Some(v),
    })
    .unwrap();
    let mut y = vec![0u8; n_out];
    let par = Parallel::single();
    g.throughput(Throughput::Bytes((n_in + n_out + n_w) as u64));
    g.bench_function(format!("int8/{}", plan.name()), |b| {
        b.iter(|| {
            plan.run(
                Input8::U8(black_box(&x)),
                1,
                h,
                w,
                Output8::U8(&mut y),
                &par,
            )
            .unwrap()
        })
    });
}

fn bench_f32(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    d: DwDesc,
    h: usize,
    w: usize,
    v: &'static Entry<F32Kernels>,
) {
    let (n_in, n_out, n_w) = sizes(&d, h, w);
    let f = |n, s| -> Vec<f32> {
        data(n, s)
            .into_iter()
            .map(|b| f32::from(b) / 128.0 - 1.0)
            .collect()
    };
    let (x, wt, bias) = (f(n_in, 3), f(n_w, 4), f(d.cout(), 5));
    let plan = Depthwise32::new(d, &wt, Some(&bias), (0.0, 6.0), Some(v)).unwrap();
    let mut y = vec![0f32; n_out];
    let par = Parallel::single();
    g.throughput(Throughput::Bytes(4 * (n_in + n_out + n_w) as u64));
    g.bench_function(format!("fp32/{}", plan.name()), |b| {
        b.iter(|| plan.run(black_box(&x), 1, h, w, &mut y, &par).unwrap())
    });
}

fn bench(c: &mut Criterion) {
    let dw = |k: usize, s: usize, ch: usize| DwDesc::new([k, k], [s, s], [k / 2; 4], ch, 1);
    for (id, d, h) in [
        ("D1", dw(3, 1, 144), 56),
        ("D2", dw(3, 2, 96), 112),
        ("D3", dw(5, 1, 240), 14),
    ] {
        let mut g = c.benchmark_group(format!("depthwise/{id}"));
        for v in DWCONV_INT8.available() {
            bench_i8(&mut g, d, h, h, v);
        }
        g.finish();
    }
    let mut g = c.benchmark_group("depthwise/DF");
    for v in DWCONV_F32.available() {
        bench_f32(&mut g, dw(3, 1, 144), 56, 56, v);
    }
    g.finish();
    // MobileNet v2 depthwise layers: channels @ input size, stride.
    for (ch, h, s) in [
        (32, 112, 1),
        (96, 112, 2),
        (144, 56, 1),
        (144, 56, 2),
        (192, 28, 1),
        (192, 28, 2),
        (384, 14, 1),
        (576, 14, 1),
        (576, 14, 2),
        (960, 7, 1),
    ] {
        let mut g = c.benchmark_group(format!("depthwise/mobilenetv2/{ch}@{h}s{s}"));
        bench_i8(&mut g, dw(3, s, ch), h, h, DWCONV_INT8.best());
        bench_f32(&mut g, dw(3, s, ch), h, h, DWCONV_F32.best());
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
