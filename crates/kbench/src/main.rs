//! `kbench`: the edge-kernels command-line tool.
//!
//! * `kbench probe`: this machine's CPU report (ISA features, caches, threads), or `--json`.
//! * `kbench bench --workloads FILE`: the workload report: latency distribution per workload,
//!   throughput, % of this machine's measured peak, JSON, Markdown and SVG plots.
//! * `kbench bench --iterations N`: no timing; each workload runs once (warm-up, checked) and then
//!   exactly N times, with marker system calls for an instruction-counting emulator (aarch64
//!   and 32-bit ARM Linux; `scripts/arm-count.sh`).
//! * `kbench peak`: this machine's measured fp32 / int8 / memory peaks.
//! * `kbench conformance DIR... [--json FILE]`: ONNX node-test folders run through `ops`.

mod bench;
mod cases;
mod conformance;
mod count;
mod onnx;
mod peak;
mod plot;
mod stats;
mod workloads;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kbench",
    version,
    about = "edge-kernels: CPU probe, benchmarks, conformance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print what this machine's CPU offers (ISA features, caches, recommended threads).
    Probe {
        /// Read /proc and /sys from this directory instead of the live system.
        #[arg(long)]
        sysroot: Option<PathBuf>,
        /// Architecture of the recording (arm, arm64, x86_64).
        #[arg(long)]
        arch: Option<String>,
        /// AT_HWCAP value to assume (hex).
        #[arg(long)]
        hwcap: Option<String>,
        /// AT_HWCAP2 value to assume (hex).
        #[arg(long)]
        hwcap2: Option<String>,
        /// Print JSON instead of the human report.
        #[arg(long)]
        json: bool,
    },
    /// Run a workload list and report latency distributions, or (--iterations N) run each
    /// workload exactly N times after one warm-up, untimed, with markers for instruction counting.
    #[command(after_help = BENCH_AFTER_HELP)]
    Bench(BenchArgs),
    /// Measure this machine's single-core and all-core peaks (fp32 FMA, int8 dot, memory read).
    Peak {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 0.5)]
        seconds: f64,
        /// Threads for the all-core figures (default: recommended threads).
        #[arg(long)]
        threads: Option<usize>,
        /// Write the peaks as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run ONNX node-test folders through `ops` and compare with the expected outputs.
    Conformance {
        /// Node-test folders (each with model.onnx and test_data_set_*).
        dirs: Vec<PathBuf>,
        /// Write per-case results as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn parse_hex(flag: &str, v: &str) -> Result<u64, String> {
    u64::from_str_radix(
        v.trim().trim_start_matches("0x").trim_start_matches("0X"),
        16,
    )
    .map_err(|e| format!("{flag} {v}: not a hexadecimal number ({e})"))
}

fn run_probe(
    sysroot: Option<PathBuf>,
    arch: Option<String>,
    hwcap: Option<String>,
    hwcap2: Option<String>,
    json: bool,
) -> ExitCode {
    use cpu_probe::probe::{infer_arch, probe, ProbeArch, ProbeOptions};
    use cpu_probe::sysroot::Sysroot;
    let fail = |msg: String| {
        eprintln!("kbench probe: {msg}");
        ExitCode::from(2)
    };
    if let Some(dir) = &sysroot {
        if !dir.is_dir() {
            return fail(format!("--sysroot {}: not a directory", dir.display()));
        }
    }
    let parch = match &arch {
        Some(a) => match ProbeArch::parse(a) {
            Ok(p) => p,
            Err(e) => return fail(format!("--arch: {e}")),
        },
        None => match &sysroot {
            Some(d) => infer_arch(&Sysroot::new(d)),
            None => ProbeArch::native(),
        },
    };
    let root = match &sysroot {
        // A recording may hold what a 32-bit process sees as an overlay (alt-arch/<arch>).
        Some(d) => {
            let overlay = d.join("alt-arch").join(parch.name());
            if overlay.is_dir() {
                Sysroot::with_layers(vec![overlay, d.clone()])
            } else {
                Sysroot::new(d)
            }
        }
        None => Sysroot::live(),
    };
    let mut opts = ProbeOptions::new(root, parch);
    match (&hwcap, &hwcap2) {
        (None, None) => {}
        (h1, h2) => {
            let a = match h1.as_deref().map(|v| parse_hex("--hwcap", v)).transpose() {
                Ok(v) => v.unwrap_or(0),
                Err(e) => return fail(e),
            };
            let b = match h2.as_deref().map(|v| parse_hex("--hwcap2", v)).transpose() {
                Ok(v) => v.unwrap_or(0),
                Err(e) => return fail(e),
            };
            opts.hwcap = Some((a, b));
        }
    }
    let report = probe(&opts);
    let live = sysroot.is_none();
    if json {
        let mut v = report.summary_json();
        if live {
            let info = cpu_probe::CpuInfo::live();
            v["dispatch_features"] = serde_json::json!(info.features.enabled_names());
            v["brand"] = serde_json::json!(info.brand);
        }
        match serde_json::to_string_pretty(&v) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("kbench probe: cannot serialise the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report.report_text());
        if live {
            println!();
            print!("{}", cpu_probe::CpuInfo::live().report_text());
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Probe {
            sysroot,
            arch,
            hwcap,
            hwcap2,
            json,
        } => run_probe(sysroot, arch, hwcap, hwcap2, json),
        Command::Bench(args) => run_bench(args),
        Command::Peak {
            seconds,
            threads,
            json,
        } => {
            let threads = threads
                .unwrap_or_else(cpu_probe::recommended_threads)
                .max(1);
            let p = peak::measure_all(seconds, threads);
            print!("{}", peak::table(&p));
            if let Some(path) = json {
                if let Err(e) = write_json(&path, &p) {
                    eprintln!("kbench peak: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Command::Conformance { dirs, json } => conformance::run(&dirs, json.as_deref()),
    }
}

const BENCH_AFTER_HELP: &str = "\
Counting mode (--iterations N): no clock, no peak measurement. Each workload is built, run once as
a warm-up (checked against the reference unless --no-check), then run exactly N times. On aarch64
and 32-bit ARM Linux a marker system call (number 4242, first argument 0x496e736e, second a tag) is made around
the warm-up, after each of N empty iterations and after each run, so a QEMU counting plugin
(scripts/qemu/qemu-insncount.c) reads instructions per run as median(run intervals) minus
median(empty intervals); elsewhere the markers do nothing. Workload j (1-based, in the order run)
has tags j*100000 + {1, 2: around the warm-up; 10, 11+i: empty loop; 1000, 1001+i: after run i}.
The report (stdout, --json, --markdown) names each workload, the kernel the plan chose
(describe()), its MACs, the check and its tag base. See scripts/arm-count.sh.";

#[derive(clap::Args)]
struct BenchArgs {
    /// Workload file (schema of bench/workloads.json; default: bench/workloads.json of the repository).
    #[arg(long)]
    workloads: Option<PathBuf>,
    /// Threads per operator (default 1).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Minimum measuring time per workload, seconds, spread over the rounds.
    #[arg(long, default_value_t = 2.0)]
    min_time: f64,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Only these workload ids (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the Markdown table here.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write SVG plots (latency histograms, % of peak) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Seconds per peak measurement (the % column's denominator).
    #[arg(long, default_value_t = 0.3)]
    peak_seconds: f64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Counting mode: run each workload exactly N times after one warm-up, untimed, with marker
    /// system calls for an instruction-counting emulator (see below).
    #[arg(long, conflicts_with_all = ["min_time", "rounds", "plot", "peak_seconds"])]
    iterations: Option<usize>,
    /// Counting mode: skip the reference check of the warm-up run.
    #[arg(long, requires = "iterations")]
    no_check: bool,
    /// Force the algorithm of int8 (non-depthwise) convolutions instead of `ops`'s choice:
    /// `qconv-direct` or `winograd` (a workload it does not take is skipped).
    #[arg(long, value_parser = parse_q8_conv_algorithm)]
    q8_conv_algorithm: Option<ops::Algorithm>,
    /// The ONNX operator int8 GEMM workloads run as: `qlinear-matmul` (u8 output, the default)
    /// or `matmul-integer` (i32 sums, like ONNX Runtime's MatMulInteger).
    #[arg(long, value_parser = parse_gemm_op, default_value = "qlinear-matmul")]
    int8_gemm_op: cases::GemmOp,
}

fn parse_gemm_op(s: &str) -> Result<cases::GemmOp, String> {
    match s {
        "qlinear-matmul" | "QLinearMatMul" => Ok(cases::GemmOp::QLinearMatMul),
        "matmul-integer" | "MatMulInteger" => Ok(cases::GemmOp::MatMulInteger),
        _ => Err(format!(
            "unknown int8 GEMM operator {s:?} (qlinear-matmul, matmul-integer)"
        )),
    }
}

fn parse_q8_conv_algorithm(s: &str) -> Result<ops::Algorithm, String> {
    match s {
        "qconv-direct" | "direct" => Ok(ops::Algorithm::QConvDirect),
        "winograd" => Ok(ops::Algorithm::Winograd),
        _ => Err(format!(
            "unknown int8 convolution algorithm {s:?} (qconv-direct, winograd)"
        )),
    }
}

/// Writes the report as JSON (`--json`) and the Markdown table (`--markdown`) where asked;
/// failure (with a message on stderr) if either cannot be written.
fn write_reports(a: &BenchArgs, report: &impl serde::Serialize, md: &str) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    if let Some(p) = &a.json {
        if let Err(e) = write_json(p, report) {
            eprintln!("kbench bench: {e}");
            status = ExitCode::FAILURE;
        }
    }
    if let Some(p) = &a.markdown {
        if let Err(e) = std::fs::write(p, md) {
            eprintln!("kbench bench: cannot write {}: {e}", p.display());
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot serialise: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run_bench(a: BenchArgs) -> ExitCode {
    let Some(path) = a.workloads.clone().or_else(workloads::default_path) else {
        eprintln!(
            "kbench bench: no --workloads given and {} is absent (here and beside the kbench crate)",
            workloads::DEFAULT_WORKLOADS
        );
        return ExitCode::from(2);
    };
    let mut list = match workloads::load(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kbench bench: {e}");
            return ExitCode::from(2);
        }
    };
    if !a.only.is_empty() {
        let unknown: Vec<&String> = a
            .only
            .iter()
            .filter(|id| !list.iter().any(|w| &&w.id == id))
            .collect();
        if !unknown.is_empty() {
            eprintln!("kbench bench: --only names unknown workload ids {unknown:?}");
            return ExitCode::from(2);
        }
        list.retain(|w| a.only.contains(&w.id));
    }
    if a.threads == 0 {
        eprintln!("kbench bench: --threads must be >= 1");
        return ExitCode::from(2);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    if let Some(n) = a.iterations {
        if let Err(e) = count::check_iterations(n) {
            eprintln!("kbench bench: {e}");
            return ExitCode::from(2);
        }
        return run_count(&a, &list, n, command);
    }
    eprintln!("measuring peaks ...");
    let peaks = peak::measure_all(
        a.peak_seconds,
        a.threads.max(cpu_probe::recommended_threads()),
    );
    let opts = bench::Options {
        threads: a.threads,
        min_time: a.min_time,
        rounds: a.rounds,
        progress: !a.quiet,
    };
    let q8 = a.q8_conv_algorithm;
    let report = bench::run(&list, &opts, peaks, command, |w, t| {
        cases::build_with(w, t, q8, a.int8_gemm_op)
    });
    let md = bench::markdown(&report);
    print!("{md}");
    let mut status = write_reports(&a, &report, &md);
    if let Some(dir) = &a.plot {
        match plot::write_all(&report, dir) {
            Ok(files) => eprintln!("wrote {} plots to {}", files.len(), dir.display()),
            Err(e) => {
                eprintln!("kbench bench: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    flag_failures(report.failures.len(), "not measured", &mut status);
    status
}

/// `kbench bench --iterations N`: untimed runs with markers (see `count.rs`).
fn run_count(
    a: &BenchArgs,
    list: &[workloads::Workload],
    iterations: usize,
    command: String,
) -> ExitCode {
    let quiet = a.quiet;
    let report = count::run(
        list,
        a.threads,
        iterations,
        !a.no_check,
        command,
        |w, t| cases::build_with(w, t, a.q8_conv_algorithm, a.int8_gemm_op),
        |id| {
            if !quiet {
                eprintln!("running {id}");
            }
        },
    );
    let md = count::markdown(&report);
    print!("{md}");
    let mut status = write_reports(a, &report, &md);
    flag_failures(
        report.failures.len(),
        "failed the reference check",
        &mut status,
    );
    status
}

/// Says that `n` workloads `what` and fails the run, if `n > 0`.
fn flag_failures(n: usize, what: &str, status: &mut ExitCode) {
    if n > 0 {
        eprintln!("kbench bench: {n} workload(s) {what}");
        *status = ExitCode::FAILURE;
    }
}
