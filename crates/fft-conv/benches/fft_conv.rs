//! Criterion benchmarks: the FFT workloads F1 (5x5, 32→32, 64²) and F2 (7x7, 16→16, 128²) of
//! `shared/bench/workloads.json`, plus W2 (3x3, 32→32, 128²) for comparison with Winograd;
//! F1 also with a fused ReLU6 clamp (`F1/fft-relu6/<variant>`).
//! One thread, batch 1, kernels transformed once at plan time (outside the timed loop), every
//! available variant. Throughput is in direct-convolution FLOPs (2 per MAC), so criterion's
//! `Gelem/s` reads as effective GFLOP/s.
//!
//! Before the criterion groups, a phase breakdown (minimum per phase and median total of
//! `run_profiled` over 200 runs) is printed to stderr for every workload and variant. The
//! kernel transform happens at plan time and is not part of any timed run.

#[path = "../tests/common/mod.rs"]
mod common;
use common::values;
use cpu_probe::parallel::Parallel;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fft_conv::{FftConfig, FftConv, FftEntry, FFT};
use std::hint::black_box;
use std::time::Duration;

struct Workload {
    id: &'static str,
    cin: usize,
    cout: usize,
    hw: usize,
    k: usize,
    pad: usize,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        id: "F1",
        cin: 32,
        cout: 32,
        hw: 64,
        k: 5,
        pad: 2,
    },
    Workload {
        id: "F2",
        cin: 16,
        cout: 16,
        hw: 128,
        k: 7,
        pad: 3,
    },
    Workload {
        id: "W2",
        cin: 32,
        cout: 32,
        hw: 128,
        k: 3,
        pad: 1,
    },
];

fn plan(w: &Workload, v: &'static FftEntry) -> FftConv {
    plan_clamped(w, v, None)
}

fn plan_clamped(w: &Workload, v: &'static FftEntry, clamp: Option<(f32, f32)>) -> FftConv {
    let k = values(w.cout * w.cin * w.k * w.k, 1);
    FftConv::new(FftConfig {
        padding: [w.pad; 4],
        ukernel: Some(v),
        clamp,
        ..FftConfig::new(w.cin, w.cout, w.k, w.k, &k)
    })
    .expect("valid workload")
}

fn flops(w: &Workload) -> u64 {
    let o = w.hw + 2 * w.pad + 1 - w.k;
    (2 * w.cin * w.cout * w.k * w.k * o * o) as u64
}

fn phases() {
    let par = Parallel::single();
    for w in &WORKLOADS {
        let x = values(w.cin * w.hw * w.hw, 2);
        for v in FFT.available() {
            let p = plan(w, v);
            let (oh, ow) = p.output_size(w.hw, w.hw).expect("size");
            let mut y = vec![0.0; w.cout * oh * ow];
            let tile = p.tile_for(w.hw, w.hw).expect("tile");
            p.run(&x, 1, w.hw, w.hw, &mut y, &par).expect("run");
            // Minimum per phase (least disturbed by other processes) and median total.
            let mut best = [Duration::MAX; 3];
            let mut totals = Vec::new();
            for _ in 0..200 {
                let q = p
                    .run_profiled(&x, 1, w.hw, w.hw, &mut y, &par)
                    .expect("run");
                for (b, d) in
                    best.iter_mut()
                        .zip([q.input_transform, q.multiply, q.output_transform])
                {
                    *b = (*b).min(d);
                }
                totals.push(q.total());
            }
            totals.sort();
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            let median = us(totals[totals.len() / 2]);
            let sum_min = us(best[0]) + us(best[1]) + us(best[2]);
            eprintln!(
                "{} {:7} tile {:2}: min input {:6.1} µs, multiply {:6.1} µs, output {:6.1} µs \
                 (sum {:6.1} µs = {:5.1} GFLOP/s); median total {:6.1} µs = {:5.1} GFLOP/s",
                w.id,
                v.name,
                tile,
                us(best[0]),
                us(best[1]),
                us(best[2]),
                sum_min,
                flops(w) as f64 / sum_min / 1e3,
                median,
                flops(w) as f64 / median / 1e3,
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    phases();
    let par = Parallel::single();
    for w in &WORKLOADS {
        let mut g = c.benchmark_group(w.id);
        g.throughput(Throughput::Elements(flops(w)));
        g.sample_size(30);
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        let x = values(w.cin * w.hw * w.hw, 2);
        for v in FFT.available() {
            let p = plan(w, v);
            let (oh, ow) = p.output_size(w.hw, w.hw).expect("size");
            let mut y = vec![0.0; w.cout * oh * ow];
            g.bench_function(BenchmarkId::new("fft", v.name), |b| {
                b.iter(|| {
                    p.run(black_box(&x), 1, w.hw, w.hw, &mut y, &par)
                        .expect("run")
                })
            });
            if w.id == "F1" {
                // The fused clamp (ReLU6) in the output transform.
                let p = plan_clamped(w, v, Some((0.0, 6.0)));
                g.bench_function(BenchmarkId::new("fft-relu6", v.name), |b| {
                    b.iter(|| {
                        p.run(black_box(&x), 1, w.hw, w.hw, &mut y, &par)
                            .expect("run")
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
