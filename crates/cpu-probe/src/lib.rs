//! # cpu-probe
//!
//! Knows the CPU the way [cpuinfo](https://github.com/pytorch/cpuinfo) does, for the kernel
//! crates of edge-kernels:
//!
//! * [`probe`]: the system probe. Processors, cores and clusters (fastest first, one MIDR and
//!   microarchitecture per core: Cortex-A5…X4/A510/A715, Kryo, Krait, Exynos M1–M5, Denver,
//!   Carmel, Apple, ThunderX, Neoverse, x86 families), caches, the chipset name as cpuinfo formats
//!   it ([`chipset`], [`brand`]), ISA flags with cpuinfo's names (`arm_neon_dot`,
//!   `x86_avx512vnni`, ...), read from a [`sysroot::Sysroot`]: `/` live, or a recording of another
//!   device (`/proc/cpuinfo`, sysfs, Android properties, `cpuid.json`), with `AT_HWCAP` given or
//!   read live. Never panics: what cannot be known degrades the report and is said in its notes.
//!   Checked against cpuinfo's recorded real devices (the shared fixtures): every asserted fact of
//!   the 34 devices cpuinfo builds.
//! * [`Features`]: the ISA features kernel dispatch may use, detected once per process and capped
//!   by the `EDGE_KERNELS_ISA` environment variable ([`ISA_CAP_ENV`]).
//! * [`CpuInfo`]: the live x86 CPUID report (vendor, brand, deterministic caches).
//! * [`recommended_threads`] (the cores of the fastest cluster) and [`parallel::Parallel`]: the
//!   thread count and the one thread pool every operator of the workspace runs on.
//!
//! ```
//! let f = cpu_probe::Features::get();
//! let report = cpu_probe::probe::probe(&cpu_probe::probe::ProbeOptions::live());
//! assert!(!report.cores.is_empty());
//! println!("{}", report.report_text());
//! assert!(cpu_probe::recommended_threads() >= 1);
//! # let _ = f;
//! ```

pub mod alloc;
pub mod arm;
pub mod brand;
pub mod chipset;
pub mod dispatch;
pub mod features;
pub mod linux_arm;
pub mod parallel;
pub mod probe;
pub mod sysroot;
pub mod x86;
pub mod x86_linux;

pub use dispatch::{DispatchError, Entry, Table};
pub use features::{Features, Isa, ISA_CAP_ENV};

use std::fmt::Write as _;

/// Cache sizes (bytes) that kernels use for blocking. Zero means "no such cache / unknown".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheSizes {
    /// L1 data cache per core.
    pub l1d: u64,
    /// L2 cache (per core or per cluster, as the hardware shares it).
    pub l2: u64,
    /// L3 cache, 0 if none.
    pub l3: u64,
}

impl CacheSizes {
    /// Sizes used when nothing can be detected (NNPACK's static guesses for ARM/Android).
    pub const FALLBACK: CacheSizes = CacheSizes {
        l1d: 16 * 1024,
        l2: 128 * 1024,
        l3: 2 * 1024 * 1024,
    };
}

/// What this process knows about the machine it runs on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CpuInfo {
    /// Target architecture of this build (`x86_64`, `aarch64`, ...).
    pub arch: &'static str,
    /// CPU vendor string (`GenuineIntel`, `AuthenticAMD`), or empty where unknown.
    pub vendor: String,
    /// Processor brand string, trimmed, or empty where unknown.
    pub brand: String,
    /// x86 display family/model/stepping, where known.
    pub family_model_stepping: Option<(u32, u32, u32)>,
    /// Logical processors available to this process.
    pub logical_processors: usize,
    /// Dispatch features (after the ISA cap).
    pub features: Features,
    /// Dispatch features before the ISA cap.
    pub features_uncapped: Features,
    /// Caches as reported by the hardware (x86 CPUID), empty where unknown.
    pub caches: Vec<x86::CpuidCache>,
    /// Things that could not be determined, said plainly.
    pub notes: Vec<String>,
}

impl CpuInfo {
    /// Probes the running machine. Never panics: what cannot be read is listed in `notes`.
    pub fn live() -> CpuInfo {
        let mut notes = Vec::new();
        let logical_processors = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or_else(|e| {
                notes.push(format!(
                    "available_parallelism failed ({e}); assuming 1 processor"
                ));
                1
            });
        #[allow(unused_mut)]
        let mut info = CpuInfo {
            arch: std::env::consts::ARCH,
            vendor: String::new(),
            brand: String::new(),
            family_model_stepping: None,
            logical_processors,
            features: Features::get(),
            features_uncapped: Features::detect_uncapped(),
            caches: Vec::new(),
            notes,
        };
        #[cfg(target_arch = "x86_64")]
        {
            let src = x86::LiveCpuid;
            info.vendor = x86::vendor_string(&src);
            info.brand = x86::raw_brand_string(&src)
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                        .to_string()
                })
                .unwrap_or_default();
            info.family_model_stepping = Some(x86::family_model_stepping(&src));
            info.caches = x86::deterministic_caches(&src);
            if info.caches.is_empty() {
                info.notes
                    .push("CPUID exposes no deterministic cache parameters".to_string());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        info.notes.push(
            "cache sizes: not exposed reliably on this architecture; using fallback sizes"
                .to_string(),
        );
        if let Some(cap) = Features::cap_from_env() {
            info.notes.push(format!(
                "{ISA_CAP_ENV}={cap}: features above {cap} are disabled"
            ));
        }
        info
    }

    /// Cache sizes for blocking decisions (per core L1d and L2, shared L3).
    pub fn cache_sizes(&self) -> CacheSizes {
        let find = |level: u32| {
            self.caches
                .iter()
                .find(|c| c.level == level && c.kind != "instruction")
                .map(|c| c.size)
        };
        match (find(1), find(2)) {
            (Some(l1d), Some(l2)) => CacheSizes {
                l1d,
                l2,
                l3: find(3).unwrap_or(0),
            },
            _ => CacheSizes::FALLBACK,
        }
    }

    /// A human-readable report (processors, ISA features, caches).
    pub fn report_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Architecture: {}", self.arch);
        if !self.vendor.is_empty() {
            let _ = writeln!(s, "Vendor: {}", self.vendor);
        }
        if !self.brand.is_empty() {
            let _ = writeln!(s, "Brand: {}", self.brand);
        }
        if let Some((f, m, st)) = self.family_model_stepping {
            let _ = writeln!(s, "Family/model/stepping: 0x{f:x}/0x{m:x}/{st}");
        }
        let _ = writeln!(s, "Logical processors: {}", self.logical_processors);
        let _ = writeln!(s, "Recommended threads: {}", recommended_threads());
        let _ = writeln!(s, "Instruction sets:");
        let _ = writeln!(
            s,
            "  detected: {}",
            self.features_uncapped.enabled_names().join(" ")
        );
        if self.features != self.features_uncapped {
            let _ = writeln!(s, "  in use:   {}", self.features.enabled_names().join(" "));
        }
        let _ = writeln!(s, "Caches:");
        if self.caches.is_empty() {
            let c = self.cache_sizes();
            let _ = writeln!(
                s,
                "  unknown; blocking uses L1d {} KiB, L2 {} KiB, L3 {} KiB",
                c.l1d / 1024,
                c.l2 / 1024,
                c.l3 / 1024
            );
        }
        for c in &self.caches {
            let _ = writeln!(
                s,
                "  L{} {:<11} {:>6} KiB  {}-way, {} B lines, shared by {} logical processor(s){}",
                c.level,
                c.kind,
                c.size / 1024,
                c.associativity,
                c.line_size,
                c.shared_by,
                if c.inclusive { ", inclusive" } else { "" }
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "Note: {n}");
        }
        s
    }
}

/// The default thread count for operators: the number of cores in the fastest cluster.
///
/// On a machine without big.LITTLE clusters that is every processor available to the process.
pub fn recommended_threads() -> usize {
    static CACHED: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CACHED.get_or_init(|| {
        let available = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        // The probe's answer, never more than this process may use (cgroups, affinity).
        probe::probe(&probe::ProbeOptions::live())
            .recommended_threads()
            .clamp(1, available)
    })
}

/// Cache sizes of the running machine for blocking decisions (detected once).
pub fn cache_sizes() -> CacheSizes {
    static CACHED: std::sync::OnceLock<CacheSizes> = std::sync::OnceLock::new();
    *CACHED.get_or_init(|| CpuInfo::live().cache_sizes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_report_never_panics() {
        let info = CpuInfo::live();
        let text = info.report_text();
        eprintln!("{text}");
        assert!(text.contains("Architecture"));
        assert!(recommended_threads() >= 1);
        let c = cache_sizes();
        assert!(c.l1d > 0 && c.l2 > 0);
    }
}
