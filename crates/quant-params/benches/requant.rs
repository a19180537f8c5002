//! Requantization throughput per scheme (scalar reference path), 1 MiB of i32 accumulators.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;

fn requant(c: &mut Criterion) {
    let n = 1 << 18; // 1 MiB of i32
    let acc: Vec<i32> = (0..n as i64)
        .map(|i| ((i * 2_654_435_761) % 200_000 - 100_000) as i32)
        .collect();
    let mut out = vec![0u8; n];
    let mut g = c.benchmark_group("requantize_u8/scalar");
    g.throughput(Throughput::Bytes((n * 4) as u64));
    for scheme in RequantScheme::ALL {
        let r = Requantizer::new(scheme, 0.0017, 128, QType::U8).expect("valid");
        g.bench_function(scheme.name(), |b| {
            b.iter(|| r.requantize_u8(black_box(&acc), black_box(&mut out)))
        });
    }
    g.finish();
}

criterion_group!(benches, requant);
criterion_main!(benches);
