//! Round-trip cost of `Parallel::for_each` on 2 threads: an empty 2-task job, and a job of
//! `2 × W` µs of spinning work (the ideal is W µs). Min and median over interleaved rounds.
//! `cargo run --release -p cpu-probe --example pool_latency`
use cpu_probe::parallel::Parallel;
use std::hint::black_box;
use std::time::Instant;

fn spin_us(us: f64) {
    let s = Instant::now();
    while s.elapsed().as_secs_f64() * 1e6 < us {
        black_box(0);
    }
}

fn main() {
    let par = Parallel::new(2);
    let works = [0.0, 5.0, 20.0, 100.0];
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); works.len()];
    for _ in 0..200 {
        for (i, &w) in works.iter().enumerate() {
            let reps = 10;
            let s = Instant::now();
            for _ in 0..reps {
                par.for_each(2, |_| {
                    if w > 0.0 {
                        spin_us(w)
                    }
                });
            }
            t[i].push(s.elapsed().as_secs_f64() * 1e6 / reps as f64);
        }
    }
    for (i, w) in works.iter().enumerate() {
        let v = &mut t[i];
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "2 tasks of {w:>5.1} us on 2 threads: min {:.2} us, median {:.2} us (overhead at median {:.2} us)",
            v[0],
            v[v.len() / 2],
            v[v.len() / 2] - w
        );
    }
}
