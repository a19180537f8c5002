//! One GEMM of Q2's shape (3136 × 64 × 64, u8 activations × i8 weights, u8 output) through the
//! driver with each requantization scheme, per tensor: the kernels that fuse the scheme store
//! bytes straight from registers (`Fp32` everywhere a fused entry exists, `Rndnu` on aarch64),
//! the others go through the i32 scratch and a bulk requantization pass. Prints the plan's
//! kernel, whether the scheme is fused, and the min / median time of `iterations` runs.
//!
//! `cargo run --release -p qgemm --example requant_schemes [iterations] [scheme]`
//! (`scheme`: fp32, rndnu, gemmlowp or precise; default all). Under QEMU with an instruction
//! counting plugin, two runs with different `iterations` give the instructions per GEMM.
use cpu_probe::parallel::Parallel;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB};
use quant_params::{QType, RequantScheme, Requantizer};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let only = args.next();
    let (m, k, n) = (3136usize, 64usize, 64usize);
    let a: Vec<u8> = (0..m * k).map(|i| (i * 13 % 256) as u8).collect();
    let b: Vec<i8> = (0..k * n).map(|i| (i * 7 % 251) as i8).collect();
    let p = PackedB::new(GemmConfig::u8_by_s8(k, n, &b)).expect("plan");
    let mut c = vec![0u8; m * n];
    let par = Parallel::single();
    for scheme in RequantScheme::ALL {
        if only.as_deref().is_some_and(|o| o != scheme.name()) {
            continue;
        }
        let r = Requantizer::new(scheme, 0.0007, 3, QType::U8).expect("requantizer");
        let fused = p.kernel().kernels.fused(&r).is_some();
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            let out = GemmOutput::U8 {
                c: &mut c,
                ldc: n,
                requant: &r,
            };
            p.gemm(m, Input8::U8(&a), k, out, &par).expect("gemm");
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        let (min, med) = (times[0], times[times.len() / 2]);
        println!(
            "{:<9} {} fused {:<5} min {min:9.1} µs  median {med:9.1} µs  (checksum {})",
            scheme.name(),
            p.kernel().name,
            fused,
            c.iter().map(|&x| u64::from(x)).sum::<u64>()
        );
    }
}
