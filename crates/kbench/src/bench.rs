//! `kbench bench`: build each workload once, check it once, then time it in interleaved rounds
//! and report the latency distribution, throughput and % of this machine's peak.
//! (`kbench bench --iterations N`, the untimed counting mode, is in `count.rs`.)

use crate::peak::Peaks;
use crate::stats::Summary;
use crate::workloads::Workload;
use serde::Serialize;
use std::time::{Duration, Instant};

/// A built, runnable workload (weights packed / transformed outside the timed region).
pub trait Case {
    /// The algorithm and micro-kernel the plan chose.
    fn algorithm(&self) -> String;
    /// Runs once and compares with the reference; `Ok` carries a short verdict
    /// (`bit-exact`, `max|err| = 3e-7 RMS`).
    fn check(&mut self) -> Result<String, String>;
    /// One timed execution.
    fn run(&mut self);
}

/// Options of one bench run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Threads per operator.
    pub threads: usize,
    /// Minimum measuring time per workload, seconds (spread over the rounds).
    pub min_time: f64,
    /// Number of interleaved rounds.
    pub rounds: usize,
    /// Show a progress bar.
    pub progress: bool,
}

/// The result of one workload.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Workload id.
    pub id: String,
    /// `conv2d` / `gemm` and dtype, e.g. `conv2d int8`.
    pub kind: String,
    /// Shape in words.
    pub shape: String,
    /// What the plan chose.
    pub algorithm: String,
    /// The check against the reference.
    pub check: String,
    /// Latency distribution, µs.
    pub latency_us: Summary,
    /// GFLOP/s (fp32) or GOP/s (int8) from the median; a MAC is 2 ops, Winograd/FFT are rated
    /// by the direct algorithm's MACs.
    pub gops: f64,
    /// GB/s moved from the median (input + weights + output once).
    pub gbps: f64,
    /// Percentage of the measured compute peak for this dtype and thread count.
    pub pct_peak: f64,
    /// The raw samples, µs (for plots; left out of the JSON, which keeps the summary).
    #[serde(skip)]
    pub samples_us: Vec<f64>,
}

/// A workload that was not measured: not supported yet (skipped) or wrong (failed its check).
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// Workload id.
    pub id: String,
    /// Why.
    pub error: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The command line that produced it.
    pub command: String,
    /// Machine summary (brand, features in use).
    pub machine: String,
    /// Threads per operator.
    pub threads: usize,
    /// The peaks used for the % column.
    pub peaks: Peaks,
    /// One row per measured workload.
    pub rows: Vec<Row>,
    /// Workloads whose result differed from the reference (never timed).
    pub failures: Vec<Failure>,
    /// Workloads no plan supports yet.
    pub skipped: Vec<Failure>,
}

/// The workload's shape in words (`64x64x64`, `3x3 64->64 56x56 s2 g3`).
pub(crate) fn shape(w: &Workload) -> String {
    if w.kind == "gemm" {
        format!("{}x{}x{}", w.m, w.k, w.n)
    } else {
        format!(
            "{}x{} {}->{} {}x{}{}{}",
            w.k,
            w.k,
            w.cin,
            w.cout,
            w.h,
            w.w,
            if w.stride > 1 {
                format!(" s{}", w.stride)
            } else {
                String::new()
            },
            if w.groups > 1 {
                format!(" g{}", w.groups)
            } else {
                String::new()
            }
        )
    }
}

/// Runs the workloads. `build` turns a workload into a [`Case`] (or an error, which is reported,
/// not fatal).
pub fn run(
    workloads: &[Workload],
    opts: &Options,
    peaks: Peaks,
    command: String,
    mut build: impl FnMut(&Workload, usize) -> Result<Box<dyn Case>, String>,
) -> Report {
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut cases: Vec<(usize, Box<dyn Case>, String)> = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        let mut c = match build(w, opts.threads) {
            Ok(c) => c,
            Err(e) => {
                skipped.push(Failure {
                    id: w.id.clone(),
                    error: e,
                });
                continue;
            }
        };
        match c.check() {
            Ok(verdict) => cases.push((i, c, verdict)),
            Err(e) => failures.push(Failure {
                id: w.id.clone(),
                error: e,
            }),
        }
    }

    let rounds = opts.rounds.max(1);
    let per_round = Duration::from_secs_f64(opts.min_time.max(0.0) / rounds as f64);
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new((cases.len() * (rounds + 1)) as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    // Warm-up: a few runs of each, untimed.
    for (i, c, _) in cases.iter_mut() {
        bar.set_message(format!("warm-up {}", workloads[*i].id));
        let t = Instant::now();
        let mut k = 0;
        while k < 3 || (t.elapsed() < Duration::from_millis(100) && k < 1000) {
            c.run();
            k += 1;
        }
        bar.inc(1);
    }
    // Interleaved rounds: every workload gets a slice of each round, so slow drifts of a shared
    // machine spread over all of them instead of biasing one.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for r in 0..rounds {
        for (slot, (i, c, _)) in cases.iter_mut().enumerate() {
            bar.set_message(format!("round {}/{} {}", r + 1, rounds, workloads[*i].id));
            let start = Instant::now();
            loop {
                let t = Instant::now();
                c.run();
                samples[slot].push(t.elapsed().as_secs_f64() * 1e6);
                if start.elapsed() >= per_round && samples[slot].len() >= 3 * (r + 1) {
                    break;
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let rows = cases
        .into_iter()
        .zip(samples)
        .filter_map(|((i, c, verdict), s)| {
            let w = &workloads[i];
            let latency = Summary::of(&s)?;
            let secs = latency.median * 1e-6;
            let gops = 2.0 * w.macs() as f64 / secs / 1e9;
            let peak = if w.dtype == "fp32" {
                &peaks.fp32
            } else {
                &peaks.int8
            };
            let peak_val = if opts.threads > 1 {
                peak.all_core * opts.threads as f64 / peak.threads.max(1) as f64
            } else {
                peak.single_core
            };
            Some(Row {
                id: w.id.clone(),
                kind: format!("{} {}", w.kind, w.dtype),
                shape: shape(w),
                algorithm: c.algorithm(),
                check: verdict,
                gops,
                gbps: w.bytes() as f64 / secs / 1e9,
                pct_peak: 100.0 * gops / peak_val,
                latency_us: latency,
                samples_us: s,
            })
        })
        .collect();
    Report {
        command,
        machine: machine_line(),
        threads: opts.threads,
        peaks,
        rows,
        failures,
        skipped,
    }
}

/// One line describing this machine.
pub fn machine_line() -> String {
    let info = cpu_probe::CpuInfo::live();
    format!(
        "{} {} ({} logical processors; ISA in use: {})",
        info.arch,
        if info.brand.is_empty() {
            "unknown CPU".to_string()
        } else {
            info.brand.clone()
        },
        info.logical_processors,
        info.features.enabled_names().join(" ")
    )
}

/// The report as a Markdown table (also what the terminal shows).
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    s += &format!("Command: `{}`\n\n", r.command);
    s += &format!(
        "Machine: {}; {} thread(s) per operator.\n\n",
        r.machine, r.threads
    );
    s += &crate::peak::table(&r.peaks);
    s += "\n| id | kind | shape | algorithm | check | n | min µs | p10 | median | mean | p90 | max | stddev | G(FL)OP/s | GB/s | % peak |\n";
    s += "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for row in &r.rows {
        let l = &row.latency_us;
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |\n",
            row.id, row.kind, row.shape, row.algorithm, row.check, l.n, l.min, l.p10, l.median,
            l.mean, l.p90, l.max, l.stddev, row.gops, row.gbps, row.pct_peak
        );
    }
    if !r.failures.is_empty() {
        s += "\nFailed the reference check (not timed):\n\n";
        for f in &r.failures {
            s += &format!("- {}: {}\n", f.id, f.error);
        }
    }
    if !r.skipped.is_empty() {
        s += "\nNot measured (no plan for them yet):\n\n";
        for f in &r.skipped {
            s += &format!("- {}: {}\n", f.id, f.error);
        }
    }
    s
}
