//! Instruction-count driver for the int8 workloads of the shared list (Q1..Q6) through one
//! forced igemm micro-kernel: builds the plan (outside the counted difference), runs the
//! workload `runs` times, exits. Under qemu-aarch64 with an instruction-count plugin, the
//! instructions of one run are `(count(runs) − count(0)) / runs`.
//!
//! `arm_icount <Q1|Q2|Q3|Q4|Q5|Q6> <kernel name, e.g. igemm_8x8c4__neon> <runs>`
//!
//! u8 activations (zero point 128) × symmetric i8 weights in [-127, 127] (zero point 0; every
//! kernel applies), per-tensor `Fp32`
//! requantization to u8, 1 thread.
use cpu_probe::parallel::Parallel;
use qconv_direct::{
    Conv2dDesc, Input8, Output8, OutputStage, Padding, QConv2d, QConv2dConfig, IGEMM,
};
use qgemm::{GemmConfig, GemmOutput, PackedB};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: arm_icount <Q1..Q6> <kernel> <runs>");
        std::process::exit(2);
    }
    let (wl, name) = (args[1].as_str(), args[2].as_str());
    let runs: usize = args[3].parse().expect("runs");
    let kernel = IGEMM.by_name(name).expect("kernel available on this CPU");
    let rq = Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap();
    let par = Parallel::single();
    let gemm = |m: usize, k: usize, n: usize| {
        let b: Vec<i8> = data(k * n, 7)
            .iter()
            .map(|&x| (x as i8).max(-127))
            .collect();
        let p = PackedB::new(GemmConfig {
            kernel: Some(kernel),
            ..GemmConfig::u8_by_s8(k, n, &b)
        })
        .unwrap();
        let a = data(m * k, 1);
        let mut c = vec![0u8; m * n];
        for _ in 0..runs {
            let out = GemmOutput::U8 {
                c: &mut c,
                ldc: n,
                requant: &rq,
            };
            p.gemm(m, qgemm::Input8::U8(black_box(&a)), k, out, &par)
                .unwrap();
        }
        black_box(&c);
    };
    // (kernel, stride, pad, groups, cin/group, cout/group, input side)
    let conv = |k: usize, s: usize, pad: usize, g: usize, ci: usize, co: usize, hw: usize| {
        let w: Vec<i8> = data(g * co * k * k * ci, 7)
            .iter()
            .map(|&x| (x as i8).max(-127))
            .collect();
        let plan = QConv2d::new(QConv2dConfig {
            desc: Conv2dDesc::square(k, s, Padding::uniform(pad), g, ci, co),
            input_type: QType::U8,
            input_zero_point: 128,
            weights: Input8::I8(&w),
            weight_zero_points: &[0],
            bias: None,
            output: OutputStage::PerTensor(rq),
            kernel: Some(kernel),
        })
        .unwrap();
        let x = data(hw * hw * g * ci, 1);
        let oh = (hw + 2 * pad - k) / s + 1;
        let mut out = vec![0u8; oh * oh * g * co];
        for _ in 0..runs {
            plan.run(
                Input8::U8(black_box(&x)),
                1,
                hw,
                hw,
                g * ci,
                Output8::U8(&mut out),
                &par,
            )
            .unwrap();
        }
        black_box(&out);
    };
    match wl {
        "Q1" => gemm(1, 1024, 1000),
        "Q2" => gemm(3136, 64, 64),
        "Q6" => gemm(196, 1024, 256),
        "Q3" => conv(3, 1, 1, 1, 64, 64, 56),
        "Q4" => conv(3, 2, 1, 1, 32, 64, 112),
        "Q5" => conv(1, 1, 0, 3, 80, 80, 28),
        _ => panic!("unknown workload {wl}"),
    }
}
