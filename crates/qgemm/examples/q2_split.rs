//! Times Q2 (3136×64×64, u8 × s8) with u8 (requantized) and i32 outputs, 1 and 2 threads: min and
//! median of interleaved rounds. `cargo run --release -p qgemm --example q2_split [m k n]`.
use cpu_probe::parallel::Parallel;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB};
use quant_params::{QType, RequantScheme, Requantizer};
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
    let p = PackedB::new(GemmConfig {
        k,
        n,
        b: Input8::I8(&b),
        ldb: n,
        a_type: QType::U8,
        a_zero_point: 128,
        b_zero_points: &[0],
        bias: None,
        variant: None,
    })
    .unwrap();
    let mut c8 = vec![0u8; m * n];
    let mut c32 = vec![0i32; m * n];
    let pools = [Parallel::new(1), Parallel::new(2)];
    println!(
        "tiling (direct outputs) 1 thread {:?}, 2 threads {:?}",
        p.tiling_direct(m, 1),
        p.tiling_direct(m, 2)
    );
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); 4];
    for _round in 0..40 {
        for (pi, par) in pools.iter().enumerate() {
            for kind in 0..2 {
                let reps = 20;
                let s = Instant::now();
                for _ in 0..reps {
                    let out = if kind == 0 {
                        GemmOutput::U8 {
                            c: &mut c8,
                            ldc: n,
                            requant: &r,
                        }
                    } else {
                        GemmOutput::I32 {
                            c: &mut c32,
                            ldc: n,
                        }
                    };
                    p.gemm(m, Input8::U8(&a), k, out, par).unwrap();
                }
                t[pi * 2 + kind].push(s.elapsed().as_secs_f64() * 1e6 / reps as f64);
            }
        }
    }
    for (i, name) in ["t1 u8", "t1 i32", "t2 u8", "t2 i32"].iter().enumerate() {
        let v = &mut t[i];
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
