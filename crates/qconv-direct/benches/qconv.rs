//! Workloads Q3, Q4, Q5 (u8 activations zp 128 × s8 weights, requantized u8), 1 thread, per
//! variant, against an im2col + GEMM baseline built from the same micro-kernel (the im2col copy
//! is inside the timed region, as in a framework that lowers to GEMM).

use cpu_probe::parallel::Parallel;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qconv_direct::{
    Conv2dDesc, Input8, Kernel, Output8, OutputStage, Padding, QConv2d, QConv2dConfig, IGEMM,
};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;

struct W {
    id: &'static str,
    cin: usize,
    cout: usize,
    hw: usize,
    k: usize,
    stride: usize,
    pad: usize,
    groups: usize,
}

const WORKLOADS: [W; 3] = [
    W {
        id: "Q3",
        cin: 64,
        cout: 64,
        hw: 56,
        k: 3,
        stride: 1,
        pad: 1,
        groups: 1,
    },
    W {
        id: "Q4",
        cin: 32,
        cout: 64,
        hw: 112,
        k: 3,
        stride: 2,
        pad: 1,
        groups: 1,
    },
    W {
        id: "Q5",
        cin: 240,
        cout: 240,
        hw: 28,
        k: 1,
        stride: 1,
        pad: 0,
        groups: 3,
    },
];

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn plan(desc: Conv2dDesc, w: &[i8], v: &'static Kernel) -> QConv2d {
    QConv2d::new(QConv2dConfig {
        desc,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(w),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::PerTensor(
            Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap(),
        ),
        kernel: Some(v),
    })
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let par = Parallel::single();
    for w in &WORKLOADS {
        let cin_g = w.cin / w.groups;
        let cout_g = w.cout / w.groups;
        let desc = Conv2dDesc::square(
            w.k,
            w.stride,
            Padding::uniform(w.pad),
            w.groups,
            cin_g,
            cout_g,
        );
        let (oh, ow) = desc.output_size(w.hw, w.hw).unwrap();
        let input = data(w.hw * w.hw * w.cin, 1);
        let weights: Vec<i8> = data(w.cout * w.k * w.k * cin_g, 2)
            .into_iter()
            .map(|b| (b as i8) / 2)
            .collect();
        let mut out = vec![0u8; oh * ow * w.cout];
        let macs = (oh * ow * w.cout * cin_g * w.k * w.k) as u64;
        let mut g = c.benchmark_group(format!("qconv/{}", w.id));
        g.throughput(Throughput::Elements(2 * macs));
        for v in IGEMM.available() {
            if v.isa == cpu_probe::Isa::Scalar && w.id != "Q5" {
                continue; // minutes per sample on big layers; Q5 shows the scalar ratio
            }
            let p = plan(desc, &weights, v);
            g.bench_function(format!("indirect/{}", p.kernel().name), |b| {
                b.iter(|| {
                    p.run(
                        Input8::U8(black_box(&input)),
                        1,
                        w.hw,
                        w.hw,
                        w.cin,
                        Output8::U8(&mut out),
                        &par,
                    )
                    .unwrap()
                })
            });
        }
        // im2col + GEMM baseline (groups = 1 only): copy every patch into a [pixels × K] matrix
        // (padding = zero point), then a 1x1 "conv" over it with the best micro-kernel.
        if w.groups == 1 && w.k > 1 {
            let kk = w.k * w.k * w.cin;
            let gemm = plan(
                Conv2dDesc::square(1, 1, Padding::uniform(0), 1, kk, w.cout),
                &weights,
                IGEMM.best(),
            );
            let mut cols = vec![0u8; oh * ow * kk];
            g.bench_function(format!("im2col+gemm/{}", gemm.kernel().name), |b| {
                b.iter(|| {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let row = &mut cols[(oy * ow + ox) * kk..][..kk];
                            for ky in 0..w.k {
                                for kx in 0..w.k {
                                    let dst = &mut row[(ky * w.k + kx) * w.cin..][..w.cin];
                                    let iy = (oy * w.stride + ky) as isize - w.pad as isize;
                                    let ix = (ox * w.stride + kx) as isize - w.pad as isize;
                                    if iy < 0
                                        || ix < 0
                                        || iy >= w.hw as isize
                                        || ix >= w.hw as isize
                                    {
                                        dst.fill(128);
                                    } else {
                                        let s = (iy as usize * w.hw + ix as usize) * w.cin;
                                        dst.copy_from_slice(&input[s..s + w.cin]);
                                    }
                                }
                            }
                        }
                    }
                    gemm.run(
                        Input8::U8(black_box(&cols)),
                        1,
                        oh * ow,
                        1,
                        kk,
                        Output8::U8(&mut out),
                        &par,
                    )
                    .unwrap()
                })
            });
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
