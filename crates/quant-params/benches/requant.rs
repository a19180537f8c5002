//! Throughput of the bulk kernels per variant on 1 MiB input buffers: requantize (each scheme,
//! 1 MiB of i32 -> 256 KiB of u8), quantize (1 MiB of f32 -> u8), dequantize (1 MiB of u8 ->
//! 4 MiB of f32) and the u8 -> i8 shift (1 MiB -> 1 MiB). Criterion's GB/s counts input bytes.
//!
//! `cargo bench -p quant-params --bench requant -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quant_params::{BulkKernels, QType, QuantParams, RequantScheme, Requantizer, BULK};
use std::hint::black_box;

const BYTES: usize = 1 << 20;

fn requant(c: &mut Criterion) {
    let n = BYTES / 4;
    let acc: Vec<i32> = (0..n as i64)
        .map(|i| ((i * 2_654_435_761) % 200_000 - 100_000) as i32)
        .collect();
    let mut out = vec![0u8; n];
    for scheme in RequantScheme::ALL {
        let mut g = c.benchmark_group(format!("requantize_u8/{}", scheme.name()));
        g.throughput(Throughput::Bytes(BYTES as u64));
        let r = Requantizer::new(scheme, 0.0017, 128, QType::U8).expect("valid");
        g.bench_function("reference", |b| {
            b.iter(|| r.requantize_u8(black_box(&acc), black_box(&mut out)))
        });
        for e in BULK.available() {
            let p = r.plan(Some(e)).expect("available");
            g.bench_function(p.name(), |b| {
                b.iter(|| p.run_u8(black_box(&acc), black_box(&mut out)))
            });
        }
        g.finish();
    }
}

/// Benchmark group `group` (throughput: `BYTES` of input): one function per available entry,
/// named `name(kernels)`, timing `run(kernels)`.
fn per_entry<R>(
    c: &mut Criterion,
    group: &str,
    name: fn(&BulkKernels) -> &'static str,
    mut run: impl FnMut(&BulkKernels) -> R,
) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(BYTES as u64));
    for e in BULK.available() {
        let k = BulkKernels::new(e).expect("available");
        g.bench_function(name(&k), |b| b.iter(|| run(&k)));
    }
    g.finish();
}

fn quantize(c: &mut Criterion) {
    let n = BYTES / 4;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 4001) as f32 * 0.01 - 20.0)
        .collect();
    let p = QuantParams::new(0.17, 120, QType::U8).expect("valid");
    let mut out = vec![0u8; n];
    per_entry(c, "quantize_u8", BulkKernels::quantize_name, |k| {
        k.quantize_u8(&p, black_box(&x), black_box(&mut out))
    });
}

fn dequantize(c: &mut Criterion) {
    let q: Vec<u8> = (0..BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let p = QuantParams::new(0.17, 120, QType::U8).expect("valid");
    let mut out = vec![0f32; BYTES];
    per_entry(c, "dequantize_u8", BulkKernels::dequantize_u8_name, |k| {
        k.dequantize_u8(&p, black_box(&q), black_box(&mut out))
    });
}

fn shift(c: &mut Criterion) {
    let q: Vec<u8> = (0..BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let mut out = vec![0i8; BYTES];
    per_entry(c, "u8_to_i8", BulkKernels::xor80_name, |k| {
        k.u8_to_i8(black_box(&q), black_box(&mut out))
    });
}

criterion_group!(benches, requant, quantize, dequantize, shift);
criterion_main!(benches);
