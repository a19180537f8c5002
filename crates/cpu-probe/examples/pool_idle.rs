//! CPU time burnt by idle workers: seven `Parallel::new(2)` (one shared pool since workers are
//! shared per thread count) run one job each, then the process sleeps; the CPU time used during
//! the sleep should be ~0 once the workers' spin (SPIN) has ended. Then jobs round-robin over
//! them, as kbench's interleaved rounds do over operator plans.
//! `cargo run --release -p cpu-probe --example pool_idle`
use cpu_probe::parallel::Parallel;
use std::time::Duration;

fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let pools: Vec<Parallel> = (0..7).map(|_| Parallel::new(2)).collect();
    for p in &pools {
        p.for_each(4, |_| {});
    }
    std::thread::sleep(Duration::from_millis(50));
    let c0 = cpu_seconds();
    std::thread::sleep(Duration::from_millis(1000));
    let c1 = cpu_seconds();
    println!(
        "7 idle Parallels: {:.3} s of CPU in 1 s of wall time",
        c1 - c0
    );
    // Round-robin over the pools, 200 jobs of 2 x 20 us each per turn (kbench's rounds).
    for npools in [1usize, 2, 7] {
        let mut per_job = Vec::new();
        for _round in 0..5 {
            for p in pools.iter().take(npools) {
                for _ in 0..200 {
                    let t = std::time::Instant::now();
                    p.for_each(2, |_| {
                        let s = std::time::Instant::now();
                        while s.elapsed() < Duration::from_micros(20) {}
                    });
                    per_job.push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
        }
        per_job.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{npools} Parallels round-robin: job of 2 x 20 us: median {:.1} us, p90 {:.1} us",
            per_job[per_job.len() / 2],
            per_job[per_job.len() * 9 / 10]
        );
    }
}
