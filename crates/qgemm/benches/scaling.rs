//! Thread scaling of the driver on Q1 (1×1024×1000), Q2 (3136×64×64), Q6 (196×1024×256) with the
//! best variant, u8 × s8 → requantized u8: the driver's own split (`PackedB::tiling`) and the
//! split of the previous driver (row tiles of `clamp(ceil(M / 4T), MR, 8·MR)` rows over all of N,
//! no column split), 1 and 2 threads, rounds interleaved so every configuration sees the same
//! machine load. Prints the minimum and the median per call; on a shared machine the minimum is
//! the better estimate of what the code can do (a preempted worker only ever adds time).
//!
//! It also prints the fixed cost of one parallel call on the pool (two no-op tasks) and the CPU
//! time of the whole process per call: with 2 threads, `2 · CPU(t1) / CPU(t2)` bounds the
//! speed-up an otherwise idle machine could give (more CPU per call = overhead: waiting workers,
//! cache traffic), which matters on a machine whose other sessions leave this one a fixed share
//! of the CPUs (Linux autogroup scheduling: a second thread then adds no CPU time at all).
//!
//! `cargo bench -p qgemm --bench scaling` (env `ROUNDS`, default 15).

use cpu_probe::parallel::Parallel;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB, Tiling};
use quant_params::{QType, RequantScheme, Requantizer};
use std::hint::black_box;
use std::time::Instant;

fn data(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let r = Requantizer::new(RequantScheme::Fp32, 0.001, 128, QType::U8).unwrap();
    let pools = [Parallel::single(), Parallel::new(2)];
    // The fixed cost of one parallel call: two no-op tasks on the 2-thread pool.
    let mut rt: Vec<f64> = (0..20_000)
        .map(|_| {
            let start = Instant::now();
            pools[1].for_each(2, |i| {
                black_box(i);
            });
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    rt.sort_by(|x, y| x.total_cmp(y));
    println!(
        "pool round trip (for_each(2, no-op), 2 threads): min {:.2} µs, median {:.2} µs",
        rt[0],
        rt[rt.len() / 2]
    );
    for (id, m, k, n, iters) in [
        ("Q1", 1, 1024, 1000, 200),
        ("Q2", 3136, 64, 64, 40),
        ("Q6", 196, 1024, 256, 20),
    ] {
        let a = data(m * k, 1);
        let b: Vec<i8> = data(k * n, 2)
            .into_iter()
            .map(|x| (x as i8).max(-127))
            .collect();
        let mut out = vec![0u8; m * n];
        let p = PackedB::new(GemmConfig::u8_by_s8(k, n, &b)).unwrap();
        let mr = p.kernel().kernels.mr;
        let old = |t: usize| Tiling {
            rows: (m.div_ceil(4 * t).div_ceil(mr) * mr).clamp(mr, 8 * mr),
            blocks: usize::MAX,
        };
        // (label, threads, tiling)
        let configs: Vec<(String, usize, Tiling)> = [1, 2]
            .iter()
            .flat_map(|&t| {
                [
                    (format!("driver t{t}"), t, p.tiling(m, t)),
                    (format!("old-split t{t}"), t, old(t)),
                ]
            })
            .collect();
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
        let mut cpu = vec![0f64; configs.len()];
        for _ in 0..rounds {
            for (c, (_, t, tiling)) in configs.iter().enumerate() {
                let par = &pools[t - 1];
                let cpu0 = process_cpu_us();
                for _ in 0..iters {
                    let start = Instant::now();
                    p.gemm_with_tiling(
                        m,
                        Input8::U8(black_box(&a)),
                        k,
                        GemmOutput::U8 {
                            c: &mut out,
                            ldc: n,
                            requant: &r,
                        },
                        par,
                        *tiling,
                    )
                    .unwrap();
                    times[c].push(start.elapsed().as_secs_f64() * 1e6);
                }
                cpu[c] += process_cpu_us() - cpu0;
            }
        }
        let ops = 2.0 * (m * k * n) as f64;
        let mut mins = Vec::new();
        for (((label, _, tiling), ts), cpu) in configs.iter().zip(&mut times).zip(&cpu) {
            ts.sort_by(|x, y| x.total_cmp(y));
            let (min, med) = (ts[0], ts[ts.len() / 2]);
            mins.push((min, med));
            println!(
                "{id} {} {label:<13} {tiling:?}: min {min:8.2} µs ({:6.1} GOP/s)  median {med:8.2} µs  process CPU {:8.2} µs/call",
                p.kernel().name,
                ops / min / 1e3,
                cpu / ts.len() as f64,
            );
        }
        println!(
            "{id} 2-thread speed-up (min, median): driver {:.2}x {:.2}x, old split {:.2}x {:.2}x",
            mins[0].0 / mins[2].0,
            mins[0].1 / mins[2].1,
            mins[1].0 / mins[3].0,
            mins[1].1 / mins[3].1,
        );
    }
}

/// User + system CPU time of the whole process (every thread), in µs.
fn process_cpu_us() -> f64 {
    let mut u = core::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
    if rc != 0 {
        return 0.0;
    }
    // SAFETY: initialised by the successful call (and zeroed before it).
    let u = unsafe { u.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    tv(u.ru_utime) + tv(u.ru_stime)
}
