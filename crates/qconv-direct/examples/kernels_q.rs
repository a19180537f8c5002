//! Every available SIMD `IGEMM` entry on workloads Q1..Q6 (u8 activations zp 128 × symmetric
//! s8 weights in [-127, 127], as symmetric quantization gives them, so every entry applies,
//! `igemm_2x8c16__neon` included; requantized u8 per tensor, 1 thread), interleaved: each round runs every
//! (workload, kernel) pair once in turn, so a noisy machine slows them alike. Prints min and
//! median µs per pair and the median ratio to the first entry.
//! `cargo run --release -p qconv-direct --example kernels_q [rounds] [ids,...]`
use cpu_probe::parallel::Parallel;
use qconv_direct::{
    Conv2dDesc, Input8, Kernel, Output8, OutputStage, Padding, QConv2d, QConv2dConfig, IGEMM,
};
use qgemm::{GemmConfig, GemmOutput, PackedB};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;
use std::time::Instant;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn requant() -> Requantizer {
    Requantizer::new(RequantScheme::Fp32, 0.0005, 128, QType::U8).unwrap()
}

/// One runnable (workload, kernel) case.
type Run = Box<dyn FnMut()>;

fn gemm_case(m: usize, k: usize, n: usize, v: &'static Kernel) -> Run {
    let a = data(m * k, 1);
    let b: Vec<i8> = data(k * n, 2)
        .into_iter()
        .map(|x| (x as i8).max(-127))
        .collect();
    let p = PackedB::new(GemmConfig {
        k,
        n,
        b: qgemm::Input8::I8(&b),
        ldb: n,
        a_type: QType::U8,
        a_zero_point: 128,
        b_zero_points: &[0],
        bias: None,
        kernel: Some(v),
    })
    .unwrap();
    let r = requant();
    let par = Parallel::single();
    let mut out = vec![0u8; m * n];
    Box::new(move || {
        p.gemm(
            m,
            qgemm::Input8::U8(black_box(&a)),
            k,
            GemmOutput::U8 {
                c: &mut out,
                ldc: n,
                requant: &r,
            },
            &par,
        )
        .unwrap();
    })
}

#[allow(clippy::too_many_arguments)]
fn conv_case(
    cin: usize,
    cout: usize,
    hw: usize,
    k: usize,
    stride: usize,
    pad: usize,
    groups: usize,
    v: &'static Kernel,
) -> Run {
    let (cin_g, cout_g) = (cin / groups, cout / groups);
    let desc = Conv2dDesc::square(k, stride, Padding::uniform(pad), groups, cin_g, cout_g);
    let (oh, ow) = desc.output_size(hw, hw).unwrap();
    let input = data(hw * hw * cin, 1);
    let weights: Vec<i8> = data(cout * k * k * cin_g, 2)
        .into_iter()
        .map(|b| (b as i8).max(-127))
        .collect();
    let p = QConv2d::new(QConv2dConfig {
        desc,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(&weights),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::PerTensor(requant()),
        kernel: Some(v),
    })
    .unwrap();
    let par = Parallel::single();
    let mut out = vec![0u8; oh * ow * cout];
    Box::new(move || {
        p.run(
            Input8::U8(black_box(&input)),
            1,
            hw,
            hw,
            cin,
            Output8::U8(&mut out),
            &par,
        )
        .unwrap();
    })
}

fn case(id: &str, v: &'static Kernel) -> Option<Run> {
    Some(match id {
        "Q1" => gemm_case(1, 1024, 1000, v),
        "Q2" => gemm_case(3136, 64, 64, v),
        "Q6" => gemm_case(196, 1024, 256, v),
        "Q3" => conv_case(64, 64, 56, 3, 1, 1, 1, v),
        "Q4" => conv_case(32, 64, 112, 3, 2, 1, 1, v),
        "Q5" => conv_case(240, 240, 28, 1, 1, 0, 3, v),
        // MobileNet v1 first layer: 3 input channels, stride 2.
        "C0" => conv_case(3, 32, 224, 3, 2, 1, 1, v),
        _ => return None,
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let ids: Vec<String> = args
        .next()
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| {
            ["Q1", "Q2", "Q6", "Q3", "Q4", "Q5", "C0"]
                .map(str::to_string)
                .to_vec()
        });
    let kernels: Vec<&'static Kernel> = IGEMM
        .available()
        .into_iter()
        .filter(|e| e.isa != cpu_probe::Isa::Scalar)
        .collect();
    let mut runs: Vec<(String, &'static str, Run)> = Vec::new();
    for id in &ids {
        for &v in &kernels {
            let Some(r) = case(id, v) else {
                eprintln!("unknown workload {id}");
                return;
            };
            runs.push((id.clone(), v.name, r));
        }
    }
    // Warm-up, then interleaved rounds; each sample is the mean of enough calls for ~5 ms.
    let mut reps = Vec::new();
    for (_, _, r) in runs.iter_mut() {
        let t = Instant::now();
        r();
        let once = t.elapsed().as_secs_f64();
        reps.push(((0.005 / once.max(1e-7)) as usize).clamp(1, 10_000));
    }
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for _ in 0..rounds {
        for (i, (_, _, r)) in runs.iter_mut().enumerate() {
            let s = Instant::now();
            for _ in 0..reps[i] {
                r();
            }
            t[i].push(s.elapsed().as_secs_f64() * 1e6 / reps[i] as f64);
        }
    }
    println!("| id | kernel | min µs | median µs | median / first |");
    println!("|---|---|---:|---:|---:|");
    let mut first = 0.0;
    for (i, (id, name, _)) in runs.iter().enumerate() {
        let v = &mut t[i];
        v.sort_by(|a, b| a.total_cmp(b));
        let med = v[v.len() / 2];
        if i % kernels.len() == 0 {
            first = med;
        }
        println!(
            "| {id} | {name} | {:.1} | {:.1} | {:.2} |",
            v[0],
            med,
            med / first
        );
    }
}
