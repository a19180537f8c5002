//! Workloads Q1 (1×1024×1000), Q2 (3136×64×64), Q6 (196×1024×256): u8 activations (zp 128) ×
//! s8 weights, requantized u8, per variant, 1 and 2 threads.

use cpu_probe::parallel::Parallel;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB, IGEMM};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn bench(c: &mut Criterion) {
    let r = Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap();
    for (id, m, k, n) in [
        ("Q1", 1, 1024, 1000),
        ("Q2", 3136, 64, 64),
        ("Q6", 196, 1024, 256),
    ] {
        let a = data(m * k, 1);
        let b: Vec<i8> = data(k * n, 2)
            .into_iter()
            .map(|x| (x as i8).max(-127))
            .collect();
        let mut out = vec![0u8; m * n];
        let mut g = c.benchmark_group(format!("qgemm/{id}"));
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        for v in IGEMM.available() {
            if v.isa == cpu_probe::Isa::Scalar && id != "Q1" {
                continue; // seconds per sample; Q1 shows the scalar ratio
            }
            let p = PackedB::new(GemmConfig {
                kernel: Some(v),
                ..GemmConfig::u8_by_s8(k, n, &b)
            })
            .unwrap();
            for threads in [1, 2] {
                if threads == 2 && !std::ptr::eq(v, IGEMM.best()) {
                    continue;
                }
                let par = Parallel::new(threads);
                g.bench_function(format!("{}/t{threads}", p.kernel().name), |bch| {
                    bch.iter(|| {
                        p.gemm(
                            m,
                            Input8::U8(black_box(&a)),
                            k,
                            GemmOutput::U8 {
                                c: &mut out,
                                ldc: n,
                                requant: &r,
                            },
                            &par,
                        )
                        .unwrap()
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
