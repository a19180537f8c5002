//! Workload Q3 (3x3, 64 -> 64, 56x56, pad 1; u8 activations zp 128 × s8 weights, requantized
//! u8), 1 thread: the exact int8 Winograd F(2x2,3x3) per variant against `qconv-direct` per
//! variant on the same problem (both kernels/weights prepared outside the timed region).
//! Before the criterion runs, prints one phase profile per Winograd table entry.
//!
//! Measured 2026-12-01 on the Zen 5 host (AVX-512 VNNI), 1 thread, CPU time per run from
//! `perf stat -e task-clock` in the instruction-count mode (runs 100 − runs 0, min / median of
//! 5; wall-clock criterion medians were 2-3x inflated by a load average of ~13 on 2 cores):
//!
//! | Q3 | Winograd | direct (qconv-direct) | direct / Winograd |
//! |---|---|---|---|
//! | AVX-512 VNNI | 639 / 671 µs (`wgemm_8x32c2__avx512vnni`) | 560 / 584 µs (`igemm_8x32c4__avx512vnni`) | 0.87x: direct is faster |
//! | AVX-512 BW | 795 / 830 µs | — | |
//! | AVX2 | 815 / 962 µs | 2402 / 2470 µs (`igemm_4x8c4__avx2`) | 2.6-2.9x |
//! | scalar | 6.82 / 6.87 ms | 50.1 / 52.1 ms | 7.6x |
//!
//! VNNI phases (min of 21): input 74 µs, multiply 461 µs (≈ one `vpdpwssd` per cycle), output
//! and requantization 75 µs. aarch64 (QEMU, instructions per run): Winograd `wgemm_8x8c2__neon`
//! 21.5 M vs direct `igemm_4x8c4__neon` 112.0 M (5.2x fewer) and `igemm_4x8c4__neondot`
//! 30.8 M (1.43x fewer).
//!
//! Instruction-count mode (for targets without timing, e.g. aarch64 under QEMU):
//! `WINOGRAD_INT8_ICOUNT=<kernel name>:<runs>` builds the plan of that kernel (Winograd, e.g.
//! `wgemm_8x8c2__neon`, or qconv-direct, e.g. `igemm_4x8c4__neon`), runs Q3 `<runs>` times and
//! exits. Counting executed instructions with a QEMU plugin for runs = 0 and runs = 2 gives the
//! instructions of one run as half the difference.

use cpu_probe::parallel::Parallel;
use cpu_probe::Entry;
use criterion::{criterion_group, Criterion, Throughput};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;
use winograd::int8::{
    Conv2dDesc, Input8, Int8Config, Kernels, Output8, OutputStage, Padding, WinogradInt8, WGEMM,
};

const CIN: usize = 64;
const COUT: usize = 64;
const HW: usize = 56;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn requant() -> Requantizer {
    Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap()
}

fn winograd_plan(w: &[i8], v: &'static Entry<Kernels>) -> WinogradInt8 {
    winograd_plan_with(w, v, OutputStage::PerTensor(requant()))
}

fn winograd_plan_with(w: &[i8], v: &'static Entry<Kernels>, output: OutputStage) -> WinogradInt8 {
    WinogradInt8::new(Int8Config {
        desc: Conv2dDesc::square(3, 1, Padding::uniform(1), 1, CIN, COUT),
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(w),
        weight_zero_points: &[0],
        bias: None,
        output,
        kernels: Some(v),
    })
    .unwrap()
}

fn direct_plan(w: &[i8], v: &'static qconv_direct::Kernel) -> qconv_direct::QConv2d {
    qconv_direct::QConv2d::new(qconv_direct::QConv2dConfig {
        desc: qconv_direct::Conv2dDesc::square(
            3,
            1,
            qconv_direct::Padding::uniform(1),
            1,
            CIN,
            COUT,
        ),
        input_type: QType::U8,
        input_zero_point: 128,
        weights: qconv_direct::Input8::I8(w),
        weight_zero_points: &[0],
        bias: None,
        output: qconv_direct::OutputStage::PerTensor(requant()),
        kernel: Some(v),
    })
    .unwrap()
}

fn weights() -> Vec<i8> {
    // Symmetric weights in [-127, 127] (every qconv-direct entry applies, the ARMv8.0
    // `igemm_2x8c16__neon` included).
    data(COUT * 9 * CIN, 7)
        .iter()
        .map(|&b| (b as i8).max(-127))
        .collect()
}

fn profile() {
    let x = data(HW * HW * CIN, 1);
    let w = weights();
    let mut out = vec![0u8; HW * HW * COUT];
    for v in WGEMM.available() {
        let plan = winograd_plan(&w, v);
        // Warm up, then keep the fastest of 20 profiled runs per phase.
        let mut best = None::<winograd::int8::Int8Profile>;
        for _ in 0..21 {
            let p = plan
                .run_profiled(Input8::U8(&x), 1, HW, HW, CIN, Output8::U8(&mut out))
                .unwrap();
            best = Some(match best {
                None => p,
                Some(b) => winograd::int8::Int8Profile {
                    kernel_transform: p.kernel_transform,
                    input_transform: b.input_transform.min(p.input_transform),
                    multiply: b.multiply.min(p.multiply),
                    output_transform: b.output_transform.min(p.output_transform),
                },
            });
        }
        let b = best.unwrap();
        // The output phase again with raw i32 outputs: the difference is the requantization.
        let raw = winograd_plan_with(&w, v, OutputStage::RawI32);
        let mut acc = vec![0i32; HW * HW * COUT];
        let raw_out = (0..21)
            .map(|_| {
                raw.run_profiled(Input8::U8(&x), 1, HW, HW, CIN, Output8::I32(&mut acc))
                    .unwrap()
                    .output_transform
            })
            .min()
            .unwrap();
        println!(
            "Q3 int8 winograd {:<26} phases (min of 21): input {:>6.1} µs, multiply {:>6.1} µs, output+requant {:>6.1} µs (raw i32 output: {:>6.1} µs); kernel transform (once) {:>6.1} µs",
            plan.name(),
            b.input_transform.as_secs_f64() * 1e6,
            b.multiply.as_secs_f64() * 1e6,
            b.output_transform.as_secs_f64() * 1e6,
            raw_out.as_secs_f64() * 1e6,
            b.kernel_transform.as_secs_f64() * 1e6,
        );
    }
}

fn bench(c: &mut Criterion) {
    let par = Parallel::single();
    let x = data(HW * HW * CIN, 1);
    let w = weights();
    let mut g = c.benchmark_group("Q3_int8");
    g.sample_size(30);
    // Direct-convolution operations (2 per multiply-accumulate) for GOP/s.
    g.throughput(Throughput::Elements((2 * HW * HW * COUT * 9 * CIN) as u64));
    let mut out = vec![0u8; HW * HW * COUT];
    let mut check = None;
    for v in WGEMM.available() {
        let plan = winograd_plan(&w, v);
        plan.run(Input8::U8(&x), 1, HW, HW, CIN, Output8::U8(&mut out), &par)
            .unwrap();
        assert!(check.get_or_insert_with(|| out.clone()) == &out);
        g.bench_function(format!("winograd/{}", plan.name()), |b| {
            b.iter(|| {
                plan.run(
                    Input8::U8(black_box(&x)),
                    1,
                    HW,
                    HW,
                    CIN,
                    Output8::U8(&mut out),
                    &par,
                )
                .unwrap()
            })
        });
    }
    for v in qconv_direct::IGEMM.available() {
        let plan = direct_plan(&w, v);
        plan.run(
            qconv_direct::Input8::U8(&x),
            1,
            HW,
            HW,
            CIN,
            qconv_direct::Output8::U8(&mut out),
            &par,
        )
        .unwrap();
        assert!(check.as_ref() == Some(&out), "direct and Winograd differ");
        g.bench_function(format!("direct/{}", plan.kernel().name), |b| {
            b.iter(|| {
                plan.run(
                    qconv_direct::Input8::U8(black_box(&x)),
                    1,
                    HW,
                    HW,
                    CIN,
                    qconv_direct::Output8::U8(&mut out),
                    &par,
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);

/// The instruction-count mode (see the file docs); returns false when the variable is unset.
fn icount_mode() -> bool {
    let Ok(spec) = std::env::var("WINOGRAD_INT8_ICOUNT") else {
        return false;
    };
    let (name, runs) = spec
        .split_once(':')
        .expect("WINOGRAD_INT8_ICOUNT=<kernel>:<runs>");
    let runs: usize = runs.parse().expect("runs");
    let par = Parallel::single();
    let x = data(HW * HW * CIN, 1);
    let w = weights();
    let mut out = vec![0u8; HW * HW * COUT];
    if let Some(v) = WGEMM.available().into_iter().find(|v| v.name == name) {
        let plan = winograd_plan(&w, v);
        for _ in 0..runs {
            plan.run(
                Input8::U8(black_box(&x)),
                1,
                HW,
                HW,
                CIN,
                Output8::U8(&mut out),
                &par,
            )
            .unwrap();
        }
    } else if let Ok(v) = qconv_direct::IGEMM.by_name(name) {
        let plan = direct_plan(&w, v);
        for _ in 0..runs {
            plan.run(
                qconv_direct::Input8::U8(black_box(&x)),
                1,
                HW,
                HW,
                CIN,
                qconv_direct::Output8::U8(&mut out),
                &par,
            )
            .unwrap();
        }
    } else {
        panic!("no available kernel named {name}");
    }
    println!(
        "{name}: {runs} runs, checksum {}",
        out.iter().map(|&b| u64::from(b)).sum::<u64>()
    );
    true
}

fn main() {
    if icount_mode() {
        return;
    }
    profile();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
