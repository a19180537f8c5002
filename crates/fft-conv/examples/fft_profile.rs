//! Phase breakdown of the FFT workloads: `cargo run --release -p fft-conv --example fft_profile
//! [-- RUNS [WORKLOAD [VARIANT [TILE]]]]`. Prints the minimum over RUNS (default 200) of every phase and of the total, one
//! thread, per variant (the minimum is the figure least disturbed by other processes), and the
//! minimum wall time of a whole `run_profiled` call (phases plus setup and scheduling).

use cpu_probe::parallel::Parallel;
use fft_conv::{FftConfig, FftConv, FFT};
use std::time::Duration;

fn main() {
    let runs: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let only = std::env::args().nth(2);
    let only_variant = std::env::args().nth(3);
    let tile = match std::env::args().nth(4).as_deref() {
        Some("8") => fft_conv::Tile::T8,
        Some("16") => fft_conv::Tile::T16,
        _ => fft_conv::Tile::Auto,
    };
    let par = Parallel::single();
    for (id, cin, cout, hw, k, pad) in [
        ("F1", 32, 32, 64, 5, 2),
        ("F2", 16, 16, 128, 7, 3),
        ("W2", 32, 32, 128, 3, 1),
    ] {
        if only.as_deref().is_some_and(|o| o != id) {
            continue;
        }
        let kernel: Vec<f32> = (0..cout * cin * k * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 1e3 - 0.5)
            .collect();
        let x: Vec<f32> = (0..cin * hw * hw)
            .map(|i| ((i * 104_729) % 1000) as f32 / 1e3 - 0.5)
            .collect();
        let o = hw + 2 * pad + 1 - k;
        let flops = (2 * cin * cout * k * k * o * o) as f64;
        for v in FFT.available() {
            if only_variant.as_deref().is_some_and(|o| o != v.name) {
                continue;
            }
            let plan = FftConv::new(FftConfig {
                padding: [pad; 4],
                ukernel: Some(v),
                tile,
                ..FftConfig::new(cin, cout, k, k, &kernel)
            })
            .expect("plan");
            let mut y = vec![0.0f32; cout * o * o];
            let mut best = [Duration::MAX; 4];
            let mut wall = Duration::MAX;
            for _ in 0..runs {
                let start = std::time::Instant::now();
                let p = plan.run_profiled(&x, 1, hw, hw, &mut y, &par).expect("run");
                wall = wall.min(start.elapsed());
                for (b, d) in best.iter_mut().zip([
                    p.input_transform,
                    p.multiply,
                    p.output_transform,
                    p.total(),
                ]) {
                    *b = (*b).min(d);
                }
            }
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "{id} {:7} tile {:2}: min input {:7.1} µs, multiply {:7.1} µs, output {:7.1} µs, total {:7.1} µs = {:6.1} GFLOP/s, run {:7.1} µs",
                v.name,
                plan.tile_for(hw, hw).expect("tile"),
                us(best[0]),
                us(best[1]),
                us(best[2]),
                us(best[3]),
                flops / us(best[3]) / 1e3,
                us(wall)
            );
        }
    }
}
