//! Workloads D1 (3x3 144ch 56x56), D2 (3x3 96ch 112x112 s2), D3 (5x5 240ch 14x14) in int8
//! (u8 activations zp 128, s8 weights, Fp32 requantization to u8) and DF (fp32 3x3 144ch 56x56)
//! per table entry (named by the function the plan runs), then the MobileNet v2 depthwise layers (3x3, pad 1) with the best entry, int8
//! and fp32. 1 thread. Throughput: bytes moved (input + output + weights) per second.
//!
//! `cargo bench -p depthwise` (filter e.g. `-- D1`).

mod common;

use common::{data, dw, f32_plan, q8_plan, sizes, weights_i8, workload};
use cpu_probe::parallel::Parallel;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use depthwise::{DwDesc, Entry, F32Kernels, Input8, Int8Kernels, Output8, DWCONV_F32, DWCONV_INT8};
use std::hint::black_box;
use std::time::Duration;

fn bench_i8(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    d: DwDesc,
    h: usize,
    w: usize,
    v: &'static Entry<Int8Kernels>,
) {
    let (n_in, n_out, n_w) = sizes(&d, h, w);
    let x = data(n_in, 1);
    let wt = weights_i8(n_w, true);
    let bias: Vec<i32> = (0..d.cout() as i32).map(|c| c * 7 - 300).collect();
    let plan = q8_plan(d, &wt, Some(&bias), v);
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
    let (plan, x) = f32_plan(d, h, w, v);
    let mut y = vec![0f32; n_out];
    let par = Parallel::single();
    g.throughput(Throughput::Bytes(4 * (n_in + n_out + n_w) as u64));
    g.bench_function(format!("fp32/{}", plan.name()), |b| {
        b.iter(|| plan.run(black_box(&x), 1, h, w, &mut y, &par).unwrap())
    });
}

fn bench(c: &mut Criterion) {
    for id in ["D1", "D2", "D3", "DF"] {
        let (d, h) = workload(id).expect("a workload id");
        let mut g = c.benchmark_group(format!("depthwise/{id}"));
        if id == "DF" {
            for v in DWCONV_F32.available() {
                bench_f32(&mut g, d, h, h, v);
            }
        } else {
            for v in DWCONV_INT8.available() {
                bench_i8(&mut g, d, h, h, v);
            }
        }
        g.finish();
    }
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
