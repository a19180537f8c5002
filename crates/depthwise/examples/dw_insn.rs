//! D1 (144 channels, 56x56, 3x3, stride 1, padding 1, u8 activations × s8 weights, per-tensor
//! Fp32 to u8) run `RUNS` times (default 1) with one table entry, for counting executed instructions
//! under an emulator: `dw_insn <entry name> [RUNS] [D1|D2|D3]` (a name of `DWCONV_INT8`,
//! e.g. `dwconv_c8__neon`, `dwconv_c16__neondot`; D2: 96 channels 112x112 3x3 stride 2, D3: 240
//! channels 14x14 5x5 stride 1). With `RUNS = 0` only the plan is built, so the difference of two
//! counts is the cost of the runs. Prints a checksum of the output.

use cpu_probe::parallel::Parallel;
use depthwise::{DwDesc, Input8, Output8, OutputStage, QDepthwise, QDepthwiseConfig, DWCONV_INT8};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("", String::as_str);
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let v = match DWCONV_INT8.by_name(name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let dw = |k: usize, s: usize, ch: usize| DwDesc::new([k, k], [s, s], [k / 2; 4], ch, 1);
    let (h, d) = match args.get(3).map_or("D1", String::as_str) {
        "D2" => (112, dw(3, 2, 96)),
        "D3" => (14, dw(5, 1, 240)),
        _ => (56, dw(3, 1, 144)),
    };
    let (oh, ow) = d.output_size(h, h).expect("D1 has an output");
    let (n_in, n_out, n_w) = (h * h * d.channels, oh * ow * d.cout(), d.taps() * d.cout());
    let x = data(n_in, 1);
    let wt: Vec<i8> = data(n_w, 2).into_iter().map(|b| b as i8).collect();
    let r = Requantizer::new(RequantScheme::Fp32, 0.002, 128, QType::U8).expect("requantizer");
    let plan = QDepthwise::new(QDepthwiseConfig {
        desc: d,
        input_type: QType::U8,
        input_zero_point: 128,
        weights: Input8::I8(&wt),
        weight_zero_points: &[0],
        bias: None,
        output: OutputStage::PerTensor(r),
        entry: Some(v),
    })
    .expect("plan");
    let mut y = vec![0u8; n_out];
    let par = Parallel::single();
    for _ in 0..runs {
        plan.run(
            Input8::U8(black_box(&x)),
            1,
            h,
            h,
            Output8::U8(&mut y),
            &par,
        )
        .expect("run");
    }
    let sum: u64 = y.iter().map(|&b| u64::from(b)).sum();
    println!("{} runs {runs}: checksum {sum}", plan.name());
}
