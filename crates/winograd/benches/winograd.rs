//! Criterion benchmarks of the fp32 Winograd plans on the W1/W2/W3 workloads of
//! `shared/bench/workloads.json` (batch 1, 3x3, stride 1, pad 1), one thread, kernels
//! pre-transformed at plan time (outside the timed loop), for every tile and available table entry.
//!
//! Before the criterion groups, a phase breakdown (median over repeated `run_profiled` calls) is
//! printed to stderr for each (workload, tile, table entry), with the effective GFLOP/s
//! (direct-convolution FLOPs `2·N·K·C·9·OH·OW` / median time).
//!
//! The criterion groups measure the thread's CPU time ([`ThreadCpu`]), not wall time: this
//! machine's 2 cores are shared by several agents, and wall-clock medians there mostly measure
//! the scheduler. Throughput is reported as effective GFLOP/s (direct-convolution FLOPs).
//!
//! Environment: `WINOGRAD_BENCH_FILTER=W1` restricts workloads; `WINOGRAD_BENCH_PROFILE=0` skips
//! the breakdown; `WINOGRAD_BENCH_ACT=relu` (or `clamp`: `[-1, 1]`) fuses an activation, so the
//! output transform's clamp is timed too (the default is none).

mod common;
use common::{data, WORKLOADS};
use cpu_probe::parallel::Parallel;
use cpu_probe::{Entry, Isa};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use winograd::ukernel::{Kernels, TGEMM};
use winograd::{Activation, Tile, WinogradConfig, WinogradConv};

fn selected() -> Vec<(&'static str, usize, usize, usize, usize)> {
    let filter = std::env::var("WINOGRAD_BENCH_FILTER").unwrap_or_default();
    WORKLOADS
        .iter()
        .copied()
        .filter(|w| filter.is_empty() || filter.split(',').any(|f| f == w.0))
        .collect()
}

/// `WINOGRAD_BENCH_ONLY=F6x6/tgemm_6x32__avx512` restricts the profile table to one tile/entry
/// pair.
fn wanted(tile: Tile, variant: &Entry<Kernels>) -> bool {
    match std::env::var("WINOGRAD_BENCH_ONLY") {
        Ok(s) if !s.is_empty() => s == format!("{tile:?}/{}", variant.name),
        _ => true,
    }
}

fn plan(
    c: usize,
    k: usize,
    tile: Tile,
    variant: &'static Entry<Kernels>,
    kernel: &[f32],
) -> WinogradConv {
    let mut cfg = WinogradConfig::new(c, k, kernel);
    cfg.padding = [1; 4];
    cfg.tile = tile;
    cfg.kernels = Some(variant);
    cfg.activation = match std::env::var("WINOGRAD_BENCH_ACT").as_deref() {
        Ok("relu") => Activation::Relu,
        Ok("clamp") => Activation::Clamp {
            min: -1.0,
            max: 1.0,
        },
        _ => Activation::None,
    };
    // `WINOGRAD_BENCH_CHUNK=N` overrides the tiles per chunk (tuning aid).
    cfg.chunk_tiles = std::env::var("WINOGRAD_BENCH_CHUNK")
        .ok()
        .and_then(|s| s.parse().ok());
    WinogradConv::new(cfg).expect("plan")
}

/// CPU time of the calling thread: unlike wall time it does not count time the thread spent
/// descheduled, which matters on this shared 2-core machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid local.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Criterion measurement of the benchmark thread's CPU time (ns). Runs use one thread
/// (`Parallel::single()`), so this is the work of the run, without the time the thread waits
/// descheduled on this shared machine (cache interference by other processes still counts).
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu()
    }
    fn end(&self, i: Duration) -> Duration {
        thread_cpu().saturating_sub(i)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Formats ns of CPU time as µs/ms, and element throughput (FLOPs) as GFLOP/s.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (f, unit) = if typical < 1e6 {
            (1e-3, "µs (cpu)")
        } else {
            (1e-6, "ms (cpu)")
        };
        for v in values {
            *v *= f;
        }
        unit
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::Bits(n) => n as f64,
            Throughput::BytesDecimal(n) => n as f64,
            Throughput::ElementsAndBytes { elements, .. } => elements as f64,
        };
        for v in values {
            *v = n / *v; // FLOP per ns = GFLOP/s
        }
        "GFLOP/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn profile_table() {
    if std::env::var("WINOGRAD_BENCH_PROFILE").as_deref() == Ok("0") {
        return;
    }
    let par = Parallel::single();
    eprintln!("| id | tile | kernel | median µs | min µs | median thread-CPU µs | GFLOP/s at min (direct FLOPs) | input tf µs | multiply µs | output tf µs | kernel tf (plan) µs |");
    eprintln!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (id, c, k, h, w) in selected() {
        let x = data(c * h * w, 1);
        let wt = data(k * c * 9, 2);
        let flops = 2.0 * (k * c * 9 * h * w) as f64;
        for tile in Tile::ALL {
            for variant in TGEMM.available() {
                if !wanted(tile, variant)
                    || (variant.isa == Isa::Scalar
                        && std::env::var("WINOGRAD_BENCH_SCALAR").is_err())
                {
                    continue;
                }
                let p = plan(c, k, tile, variant, &wt);
                let mut y = vec![0.0f32; k * h * w];
                let reps = if variant.isa == Isa::Scalar { 5 } else { 201 };
                let mut total = Vec::new();
                let mut cpu = Vec::new();
                let (mut pi, mut pm, mut po) = (Vec::new(), Vec::new(), Vec::new());
                for r in 0..reps + 3 {
                    let c0 = thread_cpu();
                    let t = std::time::Instant::now();
                    let prof = p.run_profiled(&x, 1, h, w, &mut y, &par).expect("run");
                    let e = t.elapsed();
                    let ec = thread_cpu().saturating_sub(c0);
                    if r >= 3 {
                        total.push(e);
                        cpu.push(ec);
                        pi.push(prof.input_transform);
                        pm.push(prof.multiply);
                        po.push(prof.output_transform);
                    }
                }
                let us = |d: Duration| d.as_secs_f64() * 1e6;
                let min = total.iter().copied().min().unwrap_or_default();
                let med = median(total);
                eprintln!(
                    "| {id} | {tile:?} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    variant.name,
                    us(med),
                    us(min),
                    us(median(cpu)),
                    flops / min.as_secs_f64() / 1e9,
                    us(median(pi)),
                    us(median(pm)),
                    us(median(po)),
                    us(p.kernel_transform_time()),
                );
            }
        }
    }
}

fn bench(cr: &mut Criterion<ThreadCpu>) {
    profile_table();
    let par = Parallel::single();
    for (id, c, k, h, w) in selected() {
        let x = data(c * h * w, 1);
        let wt = data(k * c * 9, 2);
        let mut g = cr.benchmark_group(format!("winograd/{id}"));
        g.throughput(Throughput::Elements(2 * (k * c * 9 * h * w) as u64));
        g.sample_size(20)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for tile in Tile::ALL {
            for variant in TGEMM.available() {
                if variant.isa == Isa::Scalar {
                    continue; // minutes per workload; its numbers are in the profile table
                }
                let p = plan(c, k, tile, variant, &wt);
                let mut y = vec![0.0f32; k * h * w];
                g.bench_function(BenchmarkId::new(format!("{tile:?}"), variant.name), |b| {
                    b.iter(|| p.run(&x, 1, h, w, &mut y, &par).expect("run"))
                });
            }
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench
}
criterion_main!(benches);
