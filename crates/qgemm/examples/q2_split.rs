//! Times Q2 (3136×64×64, u8 × s8) with u8 (requantized per tensor or per channel) and i32
//! outputs, 1 and 2 threads: min and
//! median of interleaved rounds. `cargo run --release -p qgemm --example q2_split [m k n]`.
use cpu_probe::parallel::Parallel;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};
use std::time::Instant;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (m, k, n) = match args[..] {
        [m, k, n] => (m, k, n),
        _ => (3136, 64, 64),
    };
    let r = Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap();
    let a = data(m * k, 1);
    let b: Vec<i8> = data(k * n, 2).into_iter().map(|x| x as i8).collect();
    let p = PackedB::new(GemmConfig::u8_by_s8(k, n, &b)).unwrap();
    let mut c8 = vec![0u8; m * n];
    let mut c32 = vec![0i32; m * n];
    let pools = [Parallel::new(1), Parallel::new(2)];
    println!(
        "tiling (direct outputs) 1 thread {:?}, 2 threads {:?}",
        p.tiling_direct(m, 1),
        p.tiling_direct(m, 2)
    );
    let col_scales: Vec<f32> = (0..n).map(|j| 0.0005 + 0.0001 * (j % 7) as f32).collect();
    let pc = PerChannelRequantizer::new(RequantScheme::Fp32, &col_scales, 128, QType::U8).unwrap();
    let names = ["u8", "i32", "u8 per channel"];
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); 2 * names.len()];
    for _round in 0..40 {
        for (pi, par) in pools.iter().enumerate() {
            for kind in 0..names.len() {
                let reps = 20;
                let s = Instant::now();
                for _ in 0..reps {
                    let out = match kind {
                        0 => GemmOutput::U8 {
                            c: &mut c8,
                            ldc: n,
                            requant: &r,
                        },
                        1 => GemmOutput::I32 {
                            c: &mut c32,
                            ldc: n,
                        },
                        _ => GemmOutput::U8PerChannel {
                            c: &mut c8,
                            ldc: n,
                            requant: &pc,
                        },
                    };
                    p.gemm(m, Input8::U8(&a), k, out, par).unwrap();
                }
                t[pi * names.len() + kind].push(s.elapsed().as_secs_f64() * 1e6 / reps as f64);
            }
        }
    }
    for (i, v) in t.iter_mut().enumerate() {
        let name = format!("t{} {}", 1 + i / names.len(), names[i % names.len()]);
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        println!(
            "{m}x{k}x{n} {} {name}: min {:.1} us, median {:.1} us, {:.0} GOP/s (median)",
            p.kernel().name,
            v[0],
            v[v.len() / 2],
            2.0 * (m * k * n) as f64 / v[v.len() / 2] / 1e3
        );
    }
}
