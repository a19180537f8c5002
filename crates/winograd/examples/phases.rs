//! Per-phase minimum times of the fp32 plans on the W1-W3 workloads, one thread (a tuning aid
//! for noisy shared machines: minima over many runs are stabler than medians).
//!
//! `cargo run --release -p winograd --example phases -- [W1,W2,W3] [F6x6|F4x4|F2x2|Auto] [reps]`

#[path = "../benches/common/mod.rs"]
mod common;
use common::{data, WORKLOADS};
use cpu_probe::parallel::Parallel;
use std::time::{Duration, Instant};
use winograd::{Tile, WinogradConfig, WinogradConv};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ids = args.get(1).cloned().unwrap_or_else(|| "W1,W2,W3".into());
    let tile = match args.get(2).map(String::as_str) {
        Some("F6x6") => Tile::F6x6,
        Some("F4x4") => Tile::F4x4,
        Some("F2x2") => Tile::F2x2,
        _ => Tile::Auto,
    };
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let par = Parallel::single();
    for (id, c, k, h, w) in WORKLOADS {
        if !ids.split(',').any(|s| s == id) {
            continue;
        }
        let x = data(c * h * w, 1);
        let wt = data(k * c * 9, 2);
        let mut cfg = WinogradConfig::new(c, k, &wt);
        cfg.padding = [1; 4];
        cfg.tile = tile;
        cfg.input_size_hint = Some([h, w]);
        cfg.chunk_tiles = std::env::var("WINOGRAD_BENCH_CHUNK")
            .ok()
            .and_then(|s| s.parse().ok());
        let p = WinogradConv::new(cfg).expect("plan");
        let mut y = vec![0.0f32; k * h * w];
        let mut best = [Duration::MAX; 4];
        for _ in 0..reps {
            let t = Instant::now();
            let prof = p.run_profiled(&x, 1, h, w, &mut y, &par).expect("run");
            let e = t.elapsed();
            for (b, v) in best.iter_mut().zip([
                e,
                prof.input_transform,
                prof.multiply,
                prof.output_transform,
            ]) {
                *b = (*b).min(v);
            }
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "{id} {:?} {}: min total {:.1} us | input {:.1} | multiply {:.1} | output {:.1}",
            p.tile(),
            p.name(),
            us(best[0]),
            us(best[1]),
            us(best[2]),
            us(best[3])
        );
    }
}
