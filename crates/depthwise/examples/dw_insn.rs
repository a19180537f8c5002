//! One workload run `RUNS` times (default 1) with one table entry, for counting executed
//! instructions under an emulator: `dw_insn <entry name> [RUNS] [workload]`. An entry of
//! `DWCONV_INT8` (e.g. `dwconv_c16__neon`, `dwconv_c16__neondot`) runs the int8 workload D1
//! (default), D2, D3 or D1-14x14; an entry of `DWCONV_F32` (e.g. `dwconv_f32_c8x4__avx2`) the fp32
//! workload DF (default) or DF-14x14 (shapes in `benches/common`). With `RUNS = 0` only the plan
//! is built, so the difference of two counts is the cost of the runs. Prints a checksum of the
//! output.

#[path = "../benches/common/mod.rs"]
mod common;

use common::{f32_plan, q8_plan, sizes, weights_i8, workload};
use cpu_probe::parallel::Parallel;
use depthwise::{Input8, Output8, DWCONV_F32, DWCONV_INT8};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("", String::as_str);
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let par = Parallel::single();
    if let Ok(v) = DWCONV_F32.by_name(name) {
        let id = args.get(3).map_or("DF", String::as_str);
        let (d, h) = workload(id).expect("a workload id");
        let (plan, x) = f32_plan(d, h, h, v);
        let mut y = vec![0f32; sizes(&d, h, h).1];
        for _ in 0..runs {
            plan.run(black_box(&x), 1, h, h, &mut y, &par).expect("run");
        }
        let sum: f64 = y.iter().map(|&v| f64::from(v)).sum();
        println!("{} runs {runs}: checksum {sum}", plan.name());
        return;
    }
    let v = match DWCONV_INT8.by_name(name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let (d, h) = workload(args.get(3).map_or("D1", String::as_str)).expect("a workload id");
    let (n_in, n_out, n_w) = sizes(&d, h, h);
    let x = common::data(n_in, 1);
    let wt = weights_i8(n_w, false);
    let plan = q8_plan(d, &wt, None, v);
    let mut y = vec![0u8; n_out];
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
