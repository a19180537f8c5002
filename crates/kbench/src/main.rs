//! `kbench`: the edge-kernels command-line tool.
//!
//! * `kbench probe`: this machine's CPU report (ISA features, caches, threads), or `--json`.
//! * `kbench bench --workloads FILE`: the workload report (lands with the kbench bench issue).
//! * `kbench conformance DIR...`: ONNX node tests (lands with the ops issue).

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
    /// Run a workload list and report latency distributions.
    Bench {
        /// Workload file (schema of shared/bench/workloads.json).
        #[arg(long)]
        workloads: Option<PathBuf>,
        /// Threads per operator.
        #[arg(long)]
        threads: Option<usize>,
        /// Minimum measuring time per workload, seconds.
        #[arg(long)]
        min_time: Option<f64>,
        /// Write the per-workload results as JSON here.
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Probe {
            sysroot,
            arch,
            hwcap,
            hwcap2,
            json,
        } => {
            if sysroot.is_some() || arch.is_some() || hwcap.is_some() || hwcap2.is_some() {
                eprintln!(
                    "kbench probe: --sysroot/--arch/--hwcap/--hwcap2 are not yet implemented (cpu-probe issue); only the live probe works"
                );
                return ExitCode::from(2);
            }
            let info = cpu_probe::CpuInfo::live();
            if json {
                match serde_json::to_string_pretty(&info) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("kbench probe: cannot serialise the report: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", info.report_text());
            }
            ExitCode::SUCCESS
        }
        Command::Bench { .. } => {
            eprintln!("kbench bench: not yet implemented (kbench bench issue)");
            ExitCode::from(2)
        }
        Command::Conformance { .. } => {
            eprintln!("kbench conformance: not yet implemented (ops issue)");
            ExitCode::from(2)
        }
    }
}
