//! The system probe: processors, cores, clusters (fastest first), caches, chipset and ISA of a
//! machine, read from a [`Sysroot`] — `/` live, or a recording of another device — in the shape
//! cpuinfo reports them.
//!
//! ```
//! use cpu_probe::probe::{probe, ProbeArch, ProbeOptions};
//! use cpu_probe::sysroot::Sysroot;
//!
//! // An empty folder is a machine nobody can see into: the probe degrades and says why.
//! let dir = std::env::temp_dir().join("cpu-probe-doc-empty-sysroot");
//! std::fs::create_dir_all(&dir).unwrap();
//! let report = probe(&ProbeOptions::new(Sysroot::new(&dir), ProbeArch::Arm64));
//! assert!(!report.notes.is_empty());
//! let json = report.summary_json();
//! assert!(json["isa"]["arm_neon"].as_bool().unwrap());
//! ```

use crate::arm::ArmMode;
use crate::chipset::{self, AndroidProperties};
use crate::features::Features;
use crate::linux_arm::{self, ArmProbeInput};
use crate::sysroot::{parse_properties, Sysroot};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which architecture's view of the machine to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeArch {
    /// 32-bit ARM process.
    Arm,
    /// 64-bit ARM process.
    Arm64,
    /// x86-64 process.
    X86_64,
}

impl ProbeArch {
    /// Parses `arm`, `arm64` (or `aarch64`), `x86_64`.
    pub fn parse(s: &str) -> Result<ProbeArch, String> {
        match s {
            "arm" | "arm32" | "armv7" => Ok(ProbeArch::Arm),
            "arm64" | "aarch64" => Ok(ProbeArch::Arm64),
            "x86_64" | "x86-64" | "amd64" => Ok(ProbeArch::X86_64),
            o => Err(format!(
                "unknown architecture '{o}': expected arm, arm64 or x86_64"
            )),
        }
    }

    /// The architecture of this build.
    pub fn native() -> ProbeArch {
        if cfg!(target_arch = "aarch64") {
            ProbeArch::Arm64
        } else if cfg!(target_arch = "arm") {
            ProbeArch::Arm
        } else {
            ProbeArch::X86_64
        }
    }

    /// `arm`, `arm64` or `x86_64`.
    pub fn name(self) -> &'static str {
        match self {
            ProbeArch::Arm => "arm",
            ProbeArch::Arm64 => "arm64",
            ProbeArch::X86_64 => "x86_64",
        }
    }
}

/// The architecture a recording was made on: `cpuid.json` → x86_64; a `/proc/cpuinfo` in AArch64
/// format (`Features: fp asimd ...` or `CPU architecture: AArch64`) → arm64; otherwise arm.
pub fn infer_arch(root: &Sysroot) -> ProbeArch {
    if root.exists("cpuid.json") {
        return ProbeArch::X86_64;
    }
    match root.read_text("proc/cpuinfo") {
        Some(t) if t.contains("vendor_id") && t.contains("flags") => ProbeArch::X86_64,
        Some(t)
            if t.lines().any(|l| {
                let l = l.trim_start();
                (l.starts_with("Features") && l.contains(" asimd"))
                    || (l.starts_with("CPU architecture") && l.contains("AArch64"))
            }) =>
        {
            ProbeArch::Arm64
        }
        Some(_) => ProbeArch::Arm,
        None => ProbeArch::native(),
    }
}

/// What to probe.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// Where to read `proc/` and `sys/` from.
    pub sysroot: Sysroot,
    /// Which view to report.
    pub arch: ProbeArch,
    /// `AT_HWCAP`/`AT_HWCAP2` (ARM). `None`: the live values when probing `/` on this
    /// architecture, else the `Features` lines of `/proc/cpuinfo`.
    pub hwcap: Option<(u64, u64)>,
    /// Android properties (`ro.board.platform`, ...). `None`: read `android-properties.txt`
    /// (`key=value` lines, the recording format) from the sysroot, or live on Android.
    pub android_properties: Option<Vec<(String, String)>>,
}

impl ProbeOptions {
    /// Options for `sysroot` seen as `arch`, everything else read from the sysroot.
    pub fn new(sysroot: Sysroot, arch: ProbeArch) -> ProbeOptions {
        ProbeOptions {
            sysroot,
            arch,
            hwcap: None,
            android_properties: None,
        }
    }

    /// The running machine.
    pub fn live() -> ProbeOptions {
        ProbeOptions::new(Sysroot::live(), ProbeArch::native())
    }
}

/// One logical processor (cpuinfo order).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Processor {
    /// Linux CPU number.
    pub linux_id: usize,
    /// Core index.
    pub core: usize,
    /// Cluster index.
    pub cluster: usize,
    /// Cache sizes seen by this processor (bytes; 0 = none): l1i, l1d, l2, l3, l4.
    pub cache_bytes: [u64; 5],
}

/// One core.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Core {
    /// Core vendor (`arm`, `qualcomm`, `intel`, ...).
    pub vendor: String,
    /// Microarchitecture (`cortex-a53`, `zen5`, ...; `unknown`).
    pub uarch: String,
    /// ARM MIDR (0 on x86).
    pub midr: u32,
    /// Max frequency in kHz (0 unknown).
    pub max_frequency_khz: u32,
}

/// One cluster: cores of one design and frequency.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cluster {
    /// Core indices.
    pub cores: Vec<usize>,
    /// Microarchitecture.
    pub uarch: String,
    /// Core vendor.
    pub vendor: String,
    /// MIDR (ARM).
    pub midr: u32,
}

/// Everything the probe found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SystemReport {
    /// The view reported.
    pub arch: ProbeArch,
    /// `android` or `linux`.
    pub os: &'static str,
    /// The chipset as cpuinfo names it (`Qualcomm Snapdragon 845`; `Unknown` where nothing
    /// decodes on ARM), `None` on x86 without a name.
    pub chipset: Option<String>,
    /// Processors, fastest cluster first.
    pub processors: Vec<Processor>,
    /// Cores, fastest cluster first.
    pub cores: Vec<Core>,
    /// Clusters, fastest first.
    pub clusters: Vec<Cluster>,
    /// Cache instances per level (`l1i`, `l1d`, `l2`, `l3`): size in bytes of each.
    pub caches: BTreeMap<&'static str, Vec<u64>>,
    /// ISA flags with cpuinfo's `cpuinfo_has_<name>` names.
    pub isa: BTreeMap<String, bool>,
    /// The dispatch features (what [`crate::Features`] would hold in a process on this system,
    /// before any ISA cap), from the `AT_HWCAP`/`AT_HWCAP2` used (given, live, or the `Features`
    /// lines of `/proc/cpuinfo`) of the reported view (32-bit `arm` or `arm64`). `None` on x86
    /// and where no hwcap was known.
    pub features: Option<Features>,
    /// What could not be known, and what was guessed.
    pub notes: Vec<String>,
    /// The full description in cpuinfo's object model (`processors`, `cores`, `clusters`,
    /// `packages`, `caches` with every instance's parameters, `isa`), shaped like the fixtures'
    /// `expected.<arch>`.
    pub cpuinfo: Value,
}

impl SystemReport {
    /// Threads an operator should use. ARM: the cores of the fastest cluster (threads spread over
    /// big and LITTLE cores wait for the slowest). x86: every core (x86 clusters are cache
    /// domains of equal cores, not speed classes). At least 1.
    pub fn recommended_threads(&self) -> usize {
        match self.arch {
            ProbeArch::X86_64 => self.cores.len().max(1),
            _ => self
                .clusters
                .first()
                .map(|c| c.cores.len())
                .unwrap_or(1)
                .max(1),
        }
    }

    /// The JSON summary (keys as in the fixtures' `expected.json` `summary`).
    pub fn summary_json(&self) -> Value {
        let cluster_cores: Vec<Vec<usize>> =
            self.clusters.iter().map(|c| c.cores.clone()).collect();
        json!({
            "arch": self.arch.name(),
            "os": self.os,
            "processors": self.processors.len(),
            "cores": self.cores.len(),
            "clusters": self.clusters.len(),
            "packages": 1,
            "chipset": self.chipset,
            "core_uarch": self.cores.iter().map(|c| c.uarch.clone()).collect::<Vec<_>>(),
            "core_vendor": self.cores.iter().map(|c| c.vendor.clone()).collect::<Vec<_>>(),
            "core_midr": self.cores.iter().map(|c| format!("0x{:08x}", c.midr)).collect::<Vec<_>>(),
            "cluster_cores": cluster_cores,
            "cluster_uarch": self.clusters.iter().map(|c| c.uarch.clone()).collect::<Vec<_>>(),
            "cluster_vendor": self.clusters.iter().map(|c| c.vendor.clone()).collect::<Vec<_>>(),
            "cluster_midr": self.clusters.iter().map(|c| format!("0x{:08x}", c.midr)).collect::<Vec<_>>(),
            "cache_bytes_per_processor": self.processors.iter().map(|p| json!({
                "l1i": p.cache_bytes[0], "l1d": p.cache_bytes[1], "l2": p.cache_bytes[2],
                "l3": p.cache_bytes[3], "l4": p.cache_bytes[4],
            })).collect::<Vec<_>>(),
            "cache_bytes": self.caches,
            "isa": self.isa,
            "dispatch_features": self.features.map(|f| f.enabled_names()),
            "linux_cpus": self.linux_cpus_json(),
            "recommended_threads": self.recommended_threads(),
            "notes": self.notes,
        })
    }

    fn linux_cpus_json(&self) -> Vec<Value> {
        let mut rows: Vec<(usize, Value)> = Vec::with_capacity(self.processors.len());
        for (i, p) in self.processors.iter().enumerate() {
            let c = &self.cores[p.core];
            let row = json!({
                "linux_id": p.linux_id, "processor": i, "core": p.core, "cluster": p.cluster,
                "uarch": c.uarch, "vendor": c.vendor, "midr": format!("0x{:08x}", c.midr),
            });
            rows.push((p.linux_id, row));
        }
        rows.sort_by_key(|r| r.0);
        rows.into_iter().map(|r| r.1).collect()
    }

    /// A human-readable report: processors/cores/clusters, ISA, caches (like cpuinfo's `cpu-info`,
    /// `isa-info` and `cache-info` together).
    pub fn report_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "SoC name: {}",
            self.chipset.as_deref().unwrap_or("(unknown)")
        );
        let _ = writeln!(s, "View: {} on {}", self.arch.name(), self.os);
        let _ = writeln!(
            s,
            "Processors: {}, cores: {}, clusters: {}; recommended threads: {}",
            self.processors.len(),
            self.cores.len(),
            self.clusters.len(),
            self.recommended_threads()
        );
        for (i, c) in self.clusters.iter().enumerate() {
            let freq = c
                .cores
                .first()
                .map(|&k| self.cores[k].max_frequency_khz)
                .unwrap_or(0);
            let midr = if self.arch == ProbeArch::X86_64 {
                String::new()
            } else {
                format!(", MIDR 0x{:08x}", c.midr)
            };
            let _ = writeln!(
                s,
                "  cluster {i}: {} x {} ({}{}{}) cores {:?}",
                c.cores.len(),
                c.uarch,
                c.vendor,
                midr,
                if freq > 0 {
                    format!(", {} MHz", freq / 1000)
                } else {
                    String::new()
                },
                c.cores
            );
        }
        let _ = writeln!(s, "Logical processors (Linux id -> core):");
        for (i, p) in self.processors.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {i}: cpu{} core {} cluster {} ({})",
                p.linux_id, p.core, p.cluster, self.cores[p.core].uarch
            );
        }
        let on: Vec<&str> = self
            .isa
            .iter()
            .filter(|(_, &v)| v)
            .map(|(k, _)| k.as_str())
            .collect();
        let _ = writeln!(s, "Instruction sets: {}", on.join(" "));
        if let Some(f) = &self.features {
            let _ = writeln!(s, "Dispatch features: {}", f.enabled_names().join(" "));
        }
        let _ = writeln!(s, "Caches:");
        for (level, sizes) in &self.caches {
            if sizes.is_empty() {
                continue;
            }
            let mut distinct: Vec<u64> = sizes.clone();
            distinct.dedup();
            let _ = writeln!(
                s,
                "  {level}: {} x [{}] KiB",
                sizes.len(),
                distinct
                    .iter()
                    .map(|b| (b / 1024).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "Note: {n}");
        }
        s
    }
}

/// The chipset-naming Android properties of the running system (Android builds only).
fn live_android_properties() -> Option<Vec<(String, String)>> {
    #[cfg(target_os = "android")]
    {
        const KEYS: [&str; 7] = [
            "ro.product.board",
            "ro.board.platform",
            "ro.mediatek.platform",
            "ro.arch",
            "ro.chipname",
            "ro.hardware.chipname",
            "ro.soc.model",
        ];
        let mut out = Vec::new();
        for k in KEYS {
            let Ok(name) = std::ffi::CString::new(k) else {
                continue;
            };
            // PROP_VALUE_MAX is 92 bytes including the terminating NUL.
            let mut buf = [0 as libc::c_char; 92];
            // SAFETY: `name` is NUL-terminated and `buf` has the PROP_VALUE_MAX bytes the call
            // may write (it always NUL-terminates within them).
            let n = unsafe { libc::__system_property_get(name.as_ptr(), buf.as_mut_ptr()) };
            if n > 0 {
                // SAFETY: the call wrote a NUL-terminated string into `buf`.
                let v = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
                out.push((k.to_string(), v.to_string_lossy().into_owned()));
            }
        }
        Some(out)
    }
    #[cfg(not(target_os = "android"))]
    None
}

fn live_hwcaps() -> Option<(u64, u64)> {
    #[cfg(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm")))]
    {
        // SAFETY: getauxval reads the process's auxiliary vector; it has no preconditions and
        // returns 0 for absent entries.
        let (a, b) = unsafe {
            (
                libc::getauxval(libc::AT_HWCAP),
                libc::getauxval(libc::AT_HWCAP2),
            )
        };
        #[allow(clippy::unnecessary_cast)]
        return Some((a as u64, b as u64));
    }
    #[allow(unreachable_code)]
    None
}

/// Probes a system. Never panics: what is missing or malformed degrades the report and is
/// listed in [`SystemReport::notes`].
pub fn probe(opts: &ProbeOptions) -> SystemReport {
    match opts.arch {
        ProbeArch::Arm | ProbeArch::Arm64 => probe_arm(opts),
        ProbeArch::X86_64 => probe_x86(opts),
    }
}

fn probe_arm(opts: &ProbeOptions) -> SystemReport {
    let mode = if opts.arch == ProbeArch::Arm {
        ArmMode::Arm
    } else {
        ArmMode::Arm64
    };
    let root = &opts.sysroot;
    let is_live_root = root.layers().len() == 1 && root.layers()[0] == std::path::Path::new("/");
    let props: Option<Vec<(String, String)>> = opts
        .android_properties
        .clone()
        .or_else(|| {
            root.read_text("android-properties.txt")
                .map(|t| parse_properties(&t))
        })
        .or_else(|| {
            if is_live_root {
                live_android_properties()
            } else {
                None
            }
        });
    let android = props.is_some();
    let hwcap = opts.hwcap.or_else(|| {
        if is_live_root && ProbeArch::native() == opts.arch {
            live_hwcaps()
        } else {
            None
        }
    });
    let arch32 = mode == ArmMode::Arm;
    let decode = |g: &linux_arm::ProcCpuinfoGlobals, cores: u32| match &props {
        Some(p) => {
            let ap = AndroidProperties::from_pairs(
                &g.hardware,
                p.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            chipset::decode_android(&ap, cores, 0, arch32)
        }
        None => chipset::decode_linux(&g.hardware, &g.revision, cores, 0, arch32),
    };
    let (topo, chip) = linux_arm::probe(
        root,
        ArmProbeInput {
            mode,
            android,
            hwcap,
        },
        &decode,
    );
    let mut notes = topo.notes.clone();
    if hwcap.is_none() {
        notes.push("AT_HWCAP not given: ISA extensions from /proc/cpuinfo Features".into());
    }
    let size = |v: &Vec<linux_arm::CacheInstance>, i: Option<usize>| {
        i.and_then(|i| v.get(i))
            .map(|c| c.params.size as u64)
            .unwrap_or(0)
    };
    let processors = topo
        .cores
        .iter()
        .enumerate()
        .map(|(i, c)| Processor {
            linux_id: c.linux_id,
            core: i,
            cluster: c.cluster,
            cache_bytes: [
                size(&topo.l1i, c.l1i),
                size(&topo.l1d, c.l1d),
                size(&topo.l2, c.l2),
                size(&topo.l3, c.l3),
                0,
            ],
        })
        .collect();
    let cores = topo
        .cores
        .iter()
        .map(|c| Core {
            vendor: c.vendor.to_string(),
            uarch: c.uarch.to_string(),
            midr: c.midr,
            max_frequency_khz: c.max_frequency_khz,
        })
        .collect();
    let clusters = topo
        .clusters
        .iter()
        .map(|c| Cluster {
            cores: (c.core_start..c.core_start + c.core_count).collect(),
            uarch: c.uarch.to_string(),
            vendor: c.vendor.to_string(),
            midr: c.midr,
        })
        .collect();
    let sizes = |v: &Vec<linux_arm::CacheInstance>| -> Vec<u64> {
        v.iter().map(|c| c.params.size as u64).collect()
    };
    let mut caches = BTreeMap::new();
    caches.insert("l1i", sizes(&topo.l1i));
    caches.insert("l1d", sizes(&topo.l1d));
    caches.insert("l2", sizes(&topo.l2));
    caches.insert("l3", sizes(&topo.l3));
    caches.insert("l4", Vec::new());
    let chipset_name = chipset::chipset_name(chip.as_ref());
    let cpuinfo = arm_cpuinfo_json(&topo, &chipset_name);
    SystemReport {
        cpuinfo,
        arch: opts.arch,
        os: if android { "android" } else { "linux" },
        chipset: Some(chipset_name),
        processors,
        cores,
        clusters,
        caches,
        isa: topo.isa.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        features: topo.hwcap.map(|(a, b)| match mode {
            ArmMode::Arm => Features::from_linux_arm_hwcap(a, b),
            ArmMode::Arm64 => Features::from_linux_arm64_hwcap(a, b),
        }),
        notes,
    }
}

fn arm_cpuinfo_json(t: &linux_arm::ArmTopology, name: &str) -> Value {
    let n = t.cores.len();
    let idx = |i: Option<usize>| i.map(Value::from).unwrap_or(Value::Null);
    let processors: Vec<Value> = t
        .cores
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"index": i, "smt_id": 0, "core": i, "cluster": c.cluster, "package": 0,
                   "linux_id": c.linux_id, "cache.l1i": idx(c.l1i), "cache.l1d": idx(c.l1d),
                   "cache.l2": idx(c.l2), "cache.l3": idx(c.l3), "cache.l4": Value::Null})
        })
        .collect();
    let cores: Vec<Value> = t
        .cores
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"index": i, "processor_start": i, "processor_count": 1, "core_id": i,
                   "cluster": c.cluster, "package": 0, "vendor": c.vendor, "uarch": c.uarch,
                   "midr": format!("0x{:08x}", c.midr)})
        })
        .collect();
    let clusters: Vec<Value> = t
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"index": i, "processor_start": c.core_start, "processor_count": c.core_count,
                   "core_start": c.core_start, "core_count": c.core_count, "cluster_id": i,
                   "package": 0, "vendor": c.vendor, "uarch": c.uarch,
                   "midr": format!("0x{:08x}", c.midr)})
        })
        .collect();
    let level = |v: &Vec<linux_arm::CacheInstance>| {
        let items: Vec<Value> = v
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut flags = Vec::new();
                if c.params.inclusive {
                    flags.push("inclusive");
                }
                let sets = c.params.size / (c.params.associativity * c.params.line_size).max(1);
                json!({"index": i, "size": c.params.size, "associativity": c.params.associativity, "sets": sets,
                       "partitions": 1, "line_size": c.params.line_size, "flags": flags,
                       "processor_start": c.processor_start, "processor_count": c.processor_count})
            })
            .collect();
        json!({"count": items.len(), "non_null": !items.is_empty(), "items": items})
    };
    json!({
        "processors": {"count": n, "non_null": n > 0, "items": processors},
        "cores": {"count": n, "non_null": n > 0, "items": cores},
        "clusters": {"count": t.clusters.len(), "non_null": !t.clusters.is_empty(), "items": clusters},
        "packages": {"count": 1, "non_null": true, "items": [{"index": 0, "name": name, "processor_start": 0,
            "processor_count": n, "core_start": 0, "core_count": n, "cluster_start": 0,
            "cluster_count": t.clusters.len()}]},
        "caches": {"l1i": level(&t.l1i), "l1d": level(&t.l1d), "l2": level(&t.l2),
                   "l3": level(&t.l3), "l4": {"count": 0, "non_null": false, "items": []}},
        "isa": t.isa,
    })
}

fn probe_x86(opts: &ProbeOptions) -> SystemReport {
    crate::x86_linux::probe(opts)
}
