//! ARM Linux/Android topology from `/proc/cpuinfo` and sysfs, the way cpuinfo builds it: which
//! processors exist, their MIDR (reconstructed where the kernel only describes some cores),
//! clusters by sibling lists or heuristics, cores ordered fastest cluster first, and caches.

use crate::arm::{self, midr, ArchFlags, ArmMode, CacheParams, SeriesModel};
use crate::sysroot::Sysroot;

/// Processor flags (which facts are known).
mod flag {
    pub const PRESENT: u32 = 1 << 0;
    pub const POSSIBLE: u32 = 1 << 1;
    pub const MAX_FREQUENCY: u32 = 1 << 2;
    pub const MIN_FREQUENCY: u32 = 1 << 3;
    pub const PACKAGE_ID: u32 = 1 << 6;
    pub const PACKAGE_CLUSTER: u32 = 1 << 10;
    pub const VALID: u32 = 1 << 12;
    pub const ARCHITECTURE: u32 = 1 << 16;
    pub const IMPLEMENTER: u32 = 1 << 17;
    pub const VARIANT: u32 = 1 << 18;
    pub const PART: u32 = 1 << 19;
    pub const REVISION: u32 = 1 << 20;
    /// Mentioned in `/proc/cpuinfo`.
    pub const PROCESSOR: u32 = 1 << 21;
    pub const FEATURES: u32 = 1 << 22;
    pub const ICACHE: u32 = 0x0F00_0000;
    pub const DCACHE: u32 = 0xF000_0000;
    pub const ICACHE_SIZE: u32 = 1 << 24;
    pub const ICACHE_SETS: u32 = 1 << 25;
    pub const ICACHE_WAYS: u32 = 1 << 26;
    pub const ICACHE_LINE: u32 = 1 << 27;
    pub const DCACHE_SIZE: u32 = 1 << 28;
    pub const DCACHE_SETS: u32 = 1 << 29;
    pub const DCACHE_WAYS: u32 = 1 << 30;
    pub const DCACHE_LINE: u32 = 1 << 31;
    /// Every MIDR field known.
    pub const MIDR: u32 = ARCHITECTURE | IMPLEMENTER | VARIANT | PART | REVISION | PROCESSOR;
}

fn all(f: u32, mask: u32) -> bool {
    f & mask == mask
}

/// What `/proc/cpuinfo` says about one processor.
#[derive(Clone, Debug, Default)]
struct Proc {
    flags: u32,
    midr: u32,
    arch_version: u32,
    arch_flags: ArchFlags,
    /// Features line as hwcap bits of the mode being probed.
    features: (u64, u64),
    icache: [u32; 4],
    dcache: [u32; 4],
    max_frequency: u32,
    min_frequency: u32,
    package_id: u32,
    leader: usize,
    cluster_count: u32,
    system_id: usize,
    vendor: &'static str,
    uarch: &'static str,
}

/// `/proc/cpuinfo` contents that are not per processor.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProcCpuinfoGlobals {
    /// `Hardware` line.
    pub hardware: String,
    /// `Revision` line.
    pub revision: String,
}

fn parse_hex_field(v: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if v.len() < min_len || v.len() > max_len || !v.starts_with("0x") {
        return None;
    }
    u32::from_str_radix(&v[2..], 16).ok()
}

/// Parses `/proc/cpuinfo` into `procs` (indexed by Linux processor number; lines before the first
/// `processor` line describe processor 0, as do kernels that print one block after all the
/// `processor` lines for the last one).
fn parse_proc_cpuinfo(text: &str, procs: &mut [Proc], mode: ArmMode) -> ProcCpuinfoGlobals {
    let mut g = ProcCpuinfoGlobals::default();
    let mut index = 0usize;
    let mut dummy = Proc::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim_end_matches([' ', '\t']);
        let value = value.trim_start_matches(' ').trim_end_matches(' ');
        if key.is_empty() || value.is_empty() {
            continue;
        }
        if key == "processor" {
            let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
            let n =
                digits
                    .parse::<usize>()
                    .unwrap_or(if digits.is_empty() { 0 } else { usize::MAX });
            if let Some(p) = procs.get_mut(n) {
                p.flags |= flag::PROCESSOR;
            }
            index = n;
            continue;
        }
        let p = match procs.get_mut(index) {
            Some(p) => p,
            None => &mut dummy,
        };
        match key {
            "Hardware" => g.hardware = value.chars().take(64).collect(),
            "Revision" => g.revision = value.chars().take(64).collect(),
            "Features" => {
                p.features = arm::hwcaps_from_feature_names(value, mode);
                p.flags |= flag::FEATURES | flag::PROCESSOR;
            }
            "CPU implementer" | "CPU implementor" => {
                if let Some(v) = parse_hex_field(value, 3, 4) {
                    p.midr = midr::set(p.midr, midr::IMPLEMENTER, 24, v);
                    p.flags |= flag::IMPLEMENTER | flag::PROCESSOR;
                }
            }
            "CPU variant" => {
                if let Some(v) = parse_hex_field(value, 3, 3) {
                    p.midr = midr::set(p.midr, midr::VARIANT, 20, v);
                    p.flags |= flag::VARIANT | flag::PROCESSOR;
                }
            }
            "CPU part" => {
                if let Some(v) = parse_hex_field(value, 3, 5) {
                    p.midr = midr::set(p.midr, midr::PART, 4, v);
                    p.flags |= flag::PART | flag::PROCESSOR;
                }
            }
            "CPU revision" if value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(v) = value.parse::<u32>() {
                    p.midr = midr::set(p.midr, midr::REVISION, 0, v);
                    p.flags |= flag::REVISION | flag::PROCESSOR;
                }
            }
            "CPU architecture" => parse_architecture(value, p, mode),
            "I size" | "I assoc" | "I line length" | "I sets" | "D size" | "D assoc"
            | "D line length" | "D sets"
                if mode == ArmMode::Arm =>
            {
                if let Ok(n) = value.parse::<u32>() {
                    let (slot, bit) = match key {
                        "I size" => ((true, 0), flag::ICACHE_SIZE),
                        "I assoc" => ((true, 1), flag::ICACHE_WAYS),
                        "I line length" => ((true, 2), flag::ICACHE_LINE),
                        "I sets" => ((true, 3), flag::ICACHE_SETS),
                        "D size" => ((false, 0), flag::DCACHE_SIZE),
                        "D assoc" => ((false, 1), flag::DCACHE_WAYS),
                        "D line length" => ((false, 2), flag::DCACHE_LINE),
                        _ => ((false, 3), flag::DCACHE_SETS),
                    };
                    if slot.0 {
                        p.icache[slot.1] = n;
                    } else {
                        p.dcache[slot.1] = n;
                    }
                    p.flags |= bit | flag::PROCESSOR;
                }
            }
            _ => {}
        }
    }
    g
}

fn parse_architecture(value: &str, p: &mut Proc, mode: ArmMode) {
    if value == "AArch64" {
        p.midr = midr::set(p.midr, midr::ARCHITECTURE, 16, 0xF);
        p.arch_version = 8;
        p.flags |= flag::ARCHITECTURE | flag::PROCESSOR;
        return;
    }
    let n = value.bytes().take_while(u8::is_ascii_digit).count();
    if n > 0 {
        if let Ok(v) = value[..n].parse::<u32>() {
            if v != 0 {
                p.arch_version = v;
                p.flags |= flag::ARCHITECTURE | flag::PROCESSOR;
                if mode == ArmMode::Arm {
                    for c in value[n..].chars() {
                        match c {
                            'T' => p.arch_flags.t = true,
                            'E' => p.arch_flags.e = true,
                            'J' => p.arch_flags.j = true,
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    let mut arch = 0xF;
    if mode == ArmMode::Arm {
        match p.arch_version {
            6 => arch = 0x7,
            5 if p.arch_flags.t && p.arch_flags.e && p.arch_flags.j => arch = 0x6,
            5 if p.arch_flags.t && p.arch_flags.e => arch = 0x5,
            5 => arch = 0x4,
            _ => {}
        }
    }
    p.midr = midr::set(p.midr, midr::ARCHITECTURE, 16, arch);
}

/// Chipsets whose kernels often describe only some cores, with their cluster layout
/// (LITTLE/min cluster first) and core MIDRs.
struct ClusterConfig {
    cores: u32,
    series: &'static str,
    model: u32,
    only: Option<ArmMode>,
    cluster_cores: &'static [u32],
    cluster_midr: &'static [u32],
}

const CLUSTER_CONFIGS: &[ClusterConfig] = {
    const fn cfg(
        only: Option<ArmMode>,
        cores: u32,
        series: &'static str,
        model: u32,
        cluster_cores: &'static [u32],
        cluster_midr: &'static [u32],
    ) -> ClusterConfig {
        ClusterConfig {
            cores,
            series,
            model,
            only,
            cluster_cores,
            cluster_midr,
        }
    }
    const A32: Option<ArmMode> = Some(ArmMode::Arm);
    const A64: Option<ArmMode> = Some(ArmMode::Arm64);
    &[
        cfg(A32, 4, "MSM", 8916, &[4], &[0x410F_D030]),
        cfg(A32, 8, "MSM", 8939, &[4, 4], &[0x410F_D034, 0x410F_D034]),
        cfg(None, 6, "MSM", 8956, &[4, 2], &[0x410F_D034, 0x410F_D080]),
        cfg(None, 8, "MSM", 8976, &[4, 4], &[0x410F_D034, 0x410F_D080]),
        cfg(None, 6, "MSM", 8992, &[4, 2], &[0x410F_D033, 0x411F_D072]),
        cfg(None, 8, "MSM", 8994, &[4, 4], &[0x410F_D032, 0x411F_D071]),
        cfg(A32, 8, "Exynos", 5422, &[4, 4], &[0x410F_C073, 0x412F_C0F3]),
        cfg(A32, 8, "Exynos", 5430, &[4, 4], &[0x410F_C074, 0x413F_C0F3]),
        cfg(
            None,
            8,
            "Exynos",
            5433,
            &[4, 4],
            &[0x410F_D031, 0x411F_D070],
        ),
        cfg(
            None,
            8,
            "Exynos",
            7420,
            &[4, 4],
            &[0x410F_D032, 0x411F_D070],
        ),
        cfg(
            None,
            8,
            "Exynos",
            8890,
            &[4, 4],
            &[0x410F_D034, 0x531F_0011],
        ),
        cfg(A32, 8, "Kirin", 920, &[4, 4], &[0x410F_C075, 0x413F_C0F3]),
        cfg(A32, 8, "Kirin", 925, &[4, 4], &[0x410F_C075, 0x413F_C0F3]),
        cfg(A32, 8, "Kirin", 928, &[4, 4], &[0x410F_C075, 0x413F_C0F3]),
        cfg(None, 8, "Kirin", 950, &[4, 4], &[0x410F_D034, 0x410F_D080]),
        cfg(None, 8, "Kirin", 955, &[4, 4], &[0x410F_D034, 0x410F_D080]),
        cfg(A32, 4, "MT", 8135, &[2, 2], &[0x410F_C073, 0x413F_C0F2]),
        cfg(None, 4, "MT", 8173, &[2, 2], &[0x410F_D032, 0x410F_D080]),
        cfg(None, 6, "MT", 8176, &[4, 2], &[0x410F_D032, 0x410F_D080]),
        cfg(A64, 4, "MT", 8735, &[4], &[0x410F_D034]),
        cfg(A32, 4, "MT", 6592, &[4, 4], &[0x410F_C074, 0x410F_C074]),
        cfg(A32, 8, "MT", 6595, &[4, 4], &[0x410F_C075, 0x410F_C0E0]),
        cfg(
            None,
            10,
            "MT",
            6797,
            &[4, 4, 2],
            &[0x410F_D034, 0x410F_D034, 0x410F_D081],
        ),
        cfg(
            None,
            10,
            "MT",
            6799,
            &[4, 4, 2],
            &[0x410F_D041, 0x410F_D034, 0x410F_D092],
        ),
        cfg(None, 6, "RK", 3399, &[4, 2], &[0x410F_D034, 0x410F_D082]),
        cfg(A32, 4, "ATM", 7029, &[4], &[0x410F_C051]),
    ]
};

/// One processor of the result, in cpuinfo's order (fastest cluster first).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArmCore {
    /// Linux CPU number.
    pub linux_id: usize,
    /// Cluster index (into [`ArmTopology::clusters`]).
    pub cluster: usize,
    /// Core vendor (`arm`, `qualcomm`, `samsung`, ...).
    pub vendor: &'static str,
    /// Microarchitecture (`cortex-a53`, `kryo`, ...; `unknown`).
    pub uarch: &'static str,
    /// MIDR.
    pub midr: u32,
    /// Max frequency in kHz, 0 if unknown.
    pub max_frequency_khz: u32,
    /// Index into [`ArmTopology::l1i`].
    pub l1i: Option<usize>,
    /// Index into [`ArmTopology::l1d`].
    pub l1d: Option<usize>,
    /// Index into [`ArmTopology::l2`].
    pub l2: Option<usize>,
    /// Index into [`ArmTopology::l3`].
    pub l3: Option<usize>,
}

/// A cluster: consecutive cores of one design and frequency.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArmCluster {
    /// First core index.
    pub core_start: usize,
    /// Number of cores.
    pub core_count: usize,
    /// Core vendor.
    pub vendor: &'static str,
    /// Microarchitecture.
    pub uarch: &'static str,
    /// MIDR.
    pub midr: u32,
}

/// A cache instance and the processors sharing it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CacheInstance {
    /// Parameters.
    pub params: CacheParams,
    /// First processor sharing it.
    pub processor_start: usize,
    /// Number of processors sharing it.
    pub processor_count: usize,
}

/// The ARM topology of a system.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ArmTopology {
    /// Cores (one processor each: ARM cores have no SMT), fastest cluster first.
    pub cores: Vec<ArmCore>,
    /// Clusters, fastest first.
    pub clusters: Vec<ArmCluster>,
    /// L1 instruction caches.
    pub l1i: Vec<CacheInstance>,
    /// L1 data caches.
    pub l1d: Vec<CacheInstance>,
    /// L2 caches.
    pub l2: Vec<CacheInstance>,
    /// L3 caches.
    pub l3: Vec<CacheInstance>,
    /// ISA flags (`arm_neon`, `arm_neon_dot`, ...).
    pub isa: arm::IsaFlags,
    /// The `AT_HWCAP` / `AT_HWCAP2` the ISA was decoded from: the given values, else the
    /// intersection of the `Features` lines; `None` when there was neither.
    pub hwcap: Option<(u64, u64)>,
    /// `/proc/cpuinfo` `Hardware` and `Revision`.
    pub globals: ProcCpuinfoGlobals,
    /// What could not be read or had to be guessed.
    pub notes: Vec<String>,
}

/// Inputs of the ARM probe besides the sysroot.
#[derive(Clone, Copy, Debug)]
pub struct ArmProbeInput {
    /// 32- or 64-bit view.
    pub mode: ArmMode,
    /// Android (a few heuristics are Android-only, as in cpuinfo).
    pub android: bool,
    /// `AT_HWCAP` and `AT_HWCAP2`; `None` to use the `Features` lines of `/proc/cpuinfo`
    /// (intersected over processors).
    pub hwcap: Option<(u64, u64)>,
}

/// A function from (`Hardware`, `Revision`, valid processor count) to the chipset (the caller
/// binds the Android properties when there are some).
pub type ChipsetFn<'a> = &'a dyn Fn(&ProcCpuinfoGlobals, u32) -> Option<crate::chipset::Chipset>;

/// Probes an ARM Linux system from `root`. Never panics; an empty topology with notes if
/// `/proc/cpuinfo` and the CPU lists are all missing.
///
/// The phases follow cpuinfo's `cpuinfo_arm_linux_init`: which processors exist, what
/// `/proc/cpuinfo` says of them, the ISA, frequencies and packages, clusters, the
/// microarchitecture per cluster, cpuinfo's core order, then cores and caches.
pub fn probe(
    root: &Sysroot,
    input: ArmProbeInput,
    decode_chipset: ChipsetFn<'_>,
) -> (ArmTopology, Option<crate::chipset::Chipset>) {
    let mode = input.mode;
    let mut out = ArmTopology::default();
    let text = root.read_text("proc/cpuinfo");
    let (mut procs, valid_mask) = processors(root, text.as_deref(), &mut out.notes);
    let count = procs.len();
    let globals = match &text {
        Some(t) => parse_proc_cpuinfo(t, &mut procs, mode),
        None => {
            out.notes
                .push("proc/cpuinfo missing: core types unknown".into());
            ProcCpuinfoGlobals::default()
        }
    };
    let last = mark_valid(&mut procs, valid_mask);
    let valid_processors = last.valid_processors;
    let chipset = decode_chipset(&globals, valid_processors);
    let chip_name = chipset.as_ref().map(|c| c.to_string());
    let chip = chip_name.as_deref().and_then(series_model);

    out.hwcap = match input.hwcap {
        Some(h) => Some(h),
        None => hwcaps_from_features(&procs, &mut out.notes),
    };
    let (hwcap, hwcap2) = out.hwcap.unwrap_or((0, 0));
    out.isa = arm::decode_isa(
        hwcap,
        hwcap2,
        last.midr,
        last.arch,
        last.arch_flags,
        chip,
        mode,
    );
    read_frequencies_and_packages(root, &mut procs);
    clusters_from_sysfs(root, &mut procs);
    let clustered = procs
        .iter()
        .filter(|p| all(p.flags, flag::VALID | flag::PACKAGE_CLUSTER))
        .count() as u32;
    if clustered != valid_processors {
        out.notes.push(format!(
            "sysfs topology covers {clustered} of {valid_processors} processors: clusters inferred"
        ));
        if !clusters_by_heuristic(valid_processors, &mut procs, mode, input.android) {
            clusters_by_sequential_scan(&mut procs);
        }
    }
    count_cluster_members(&mut procs);
    let _cluster_count =
        detect_cluster_midr(chip, valid_processors, &mut procs, mode, &mut out.notes);
    uarch_per_cluster(&mut procs, mode);
    sort_as_cpuinfo(&mut procs, mode);
    let n = (valid_processors as usize).min(count);
    let caches = CacheContext {
        root,
        android: input.android,
        chip,
        mode,
    };
    let l3 = cores_and_l1(&caches, &procs[..n], &mut out);
    l2_and_l3(&caches, &procs[..n], l3, &mut out);
    out.globals = globals;
    (out, chipset)
}

/// The processors the system has: their number (from `kernel_max`, the `possible` and
/// `present` lists, else the `processor` lines of `/proc/cpuinfo`), flagged possible/present,
/// and the flags every valid processor must carry.
fn processors(root: &Sysroot, text: Option<&str>, notes: &mut Vec<String>) -> (Vec<Proc>, u32) {
    const DEFAULT_MAX: u32 = 1024;
    let max_count = match root.read_u32("sys/devices/system/cpu/kernel_max") {
        Some(k) if k < DEFAULT_MAX => k + 1,
        _ => DEFAULT_MAX,
    };
    let possible = root.read_cpulist("sys/devices/system/cpu/possible", max_count);
    let present = root.read_cpulist("sys/devices/system/cpu/present", max_count);
    let max_of = |l: &Option<Vec<u32>>| l.as_ref().and_then(|v| v.iter().max()).map(|m| m + 1);
    let mut count = max_count;
    let mut valid_mask = 0;
    if let Some(m) = max_of(&present) {
        count = count.min(m);
        valid_mask |= flag::PRESENT;
    }
    if let Some(m) = max_of(&possible) {
        count = count.min(m);
        valid_mask |= flag::POSSIBLE;
    }
    if valid_mask == 0 {
        notes.push(
            "sys/devices/system/cpu/{possible,present} missing or malformed: processors taken from /proc/cpuinfo"
                .into(),
        );
        // Not in cpuinfo (which gives up here): count the processors /proc/cpuinfo lists.
        let n = text
            .unwrap_or("")
            .lines()
            .filter(|l| l.split(':').next().map(str::trim_end) == Some("processor"))
            .count() as u32;
        count = n.clamp(1, max_count);
    }
    let mut procs = vec![Proc::default(); count as usize];
    for (list, f) in [(&possible, flag::POSSIBLE), (&present, flag::PRESENT)] {
        if let Some(l) = list {
            for &c in l {
                if let Some(p) = procs.get_mut(c as usize) {
                    p.flags |= f;
                }
            }
        }
    }
    (procs, valid_mask)
}

/// What [`mark_valid`] found: the number of valid processors and the last MIDR and
/// architecture among them (cpuinfo decodes the ISA from these).
struct LastValid {
    valid_processors: u32,
    midr: u32,
    arch: u32,
    arch_flags: ArchFlags,
}

/// Flags the processors that carry every flag of `valid_mask` as valid and numbers them.
fn mark_valid(procs: &mut [Proc], valid_mask: u32) -> LastValid {
    let mut last = LastValid {
        valid_processors: 0,
        midr: 0,
        arch: 0,
        arch_flags: ArchFlags::default(),
    };
    for (i, p) in procs.iter_mut().enumerate() {
        if all(p.flags, valid_mask) {
            p.flags |= flag::VALID;
        }
        p.system_id = i;
        if all(p.flags, flag::VALID) {
            // Possible and present: counted even when /proc/cpuinfo omits it (kernels that list
            // only online cores). cpuinfo's recorded devices expect this (galaxy-s7-global lists
            // 6 of 8 cores, padcod-10.1 1 of 4); its code since 2023 counts only the listed ones,
            // which would report a phone with cores asleep as a smaller phone.
            last.valid_processors += 1;
            if all(p.flags, flag::MIDR) {
                last.midr = p.midr;
            }
            if all(p.flags, flag::ARCHITECTURE) {
                last.arch = p.arch_version;
                last.arch_flags = p.arch_flags;
            }
        }
    }
    last
}

/// `AT_HWCAP`/`AT_HWCAP2` when none were given: the `Features` lines of the valid processors,
/// intersected (`None`, with a note, when no processor has one).
fn hwcaps_from_features(procs: &[Proc], notes: &mut Vec<String>) -> Option<(u64, u64)> {
    let mut acc: Option<(u64, u64)> = None;
    for p in procs
        .iter()
        .filter(|p| all(p.flags, flag::VALID | flag::FEATURES))
    {
        acc = Some(match acc {
            None => p.features,
            Some((a, b)) => (a & p.features.0, b & p.features.1),
        });
    }
    if acc.is_none() {
        notes.push(
            "no AT_HWCAP given and no Features line in /proc/cpuinfo: optional ISA extensions unknown"
                .into(),
        );
    }
    acc
}

/// Maximum and minimum frequencies and package ids of the valid processors, from sysfs.
fn read_frequencies_and_packages(root: &Sysroot, procs: &mut [Proc]) {
    for (i, p) in procs.iter_mut().enumerate() {
        if !all(p.flags, flag::VALID) {
            continue;
        }
        let base = format!("sys/devices/system/cpu/cpu{i}");
        if let Some(f) = root
            .read_u32(&format!("{base}/cpufreq/cpuinfo_max_freq"))
            .filter(|&f| f > 0)
        {
            p.max_frequency = f;
            p.flags |= flag::MAX_FREQUENCY;
        }
        if let Some(f) = root
            .read_u32(&format!("{base}/cpufreq/cpuinfo_min_freq"))
            .filter(|&f| f > 0)
        {
            p.min_frequency = f;
            p.flags |= flag::MIN_FREQUENCY;
        }
        if let Some(id) = root.read_u32(&format!("{base}/topology/physical_package_id")) {
            p.package_id = id;
            p.flags |= flag::PACKAGE_ID;
        }
    }
}

/// Cluster leaders from the sysfs sibling lists (`cluster_cpus_list`, else
/// `core_siblings_list`, whichever the first processor has): each processor's leader is the
/// lowest id of its list, and leaders are resolved to the root.
fn clusters_from_sysfs(root: &Sysroot, procs: &mut [Proc]) {
    let count = procs.len();
    for (i, p) in procs.iter_mut().enumerate() {
        p.leader = i;
    }
    #[derive(PartialEq)]
    enum Lists {
        Unknown,
        Cluster,
        CoreSiblings,
    }
    let mut lists = Lists::Unknown;
    let read_list = |i: usize, name: &str| {
        root.read_cpulist(
            &format!("sys/devices/system/cpu/cpu{i}/topology/{name}"),
            count as u32,
        )
    };
    for i in 0..count {
        if !all(procs[i].flags, flag::VALID | flag::PACKAGE_ID) {
            continue;
        }
        let siblings = match lists {
            Lists::Unknown => match read_list(i, "cluster_cpus_list") {
                Some(l) => {
                    lists = Lists::Cluster;
                    Some(l)
                }
                None => {
                    lists = Lists::CoreSiblings;
                    read_list(i, "core_siblings_list")
                }
            },
            Lists::Cluster => read_list(i, "cluster_cpus_list"),
            Lists::CoreSiblings => read_list(i, "core_siblings_list"),
        };
        if let Some(sib) = siblings {
            procs[i].flags |= flag::PACKAGE_CLUSTER;
            let mut leader = procs[i].leader;
            for s in sib {
                let s = s as usize;
                if s >= count || !all(procs[s].flags, flag::VALID) {
                    continue;
                }
                leader = leader.min(procs[s].leader);
                procs[s].leader = leader;
                procs[s].flags |= flag::PACKAGE_CLUSTER;
            }
            procs[i].leader = leader;
        }
    }
    for i in 0..count {
        if all(procs[i].flags, flag::VALID | flag::PACKAGE_CLUSTER) {
            let l = procs[i].leader;
            if l < i {
                procs[i].leader = procs[l].leader;
            }
        }
    }
}

/// Processors per cluster, on every member.
fn count_cluster_members(procs: &mut [Proc]) {
    let count = procs.len();
    for i in 0..count {
        if all(procs[i].flags, flag::VALID) {
            let l = procs[i].leader;
            procs[l].cluster_count += 1;
        }
    }
    for i in 0..count {
        if all(procs[i].flags, flag::VALID) {
            procs[i].cluster_count = procs[procs[i].leader].cluster_count;
        }
    }
}

/// Vendor and microarchitecture of each cluster leader from its MIDR, copied (with the MIDR and
/// maximum frequency) to the other members.
fn uarch_per_cluster(procs: &mut [Proc], mode: ArmMode) {
    for i in 0..procs.len() {
        if !all(procs[i].flags, flag::VALID) {
            continue;
        }
        let l = procs[i].leader;
        if l == i {
            let vfpv4 = procs[i].features.0 >> 16 & 1 == 1 && mode == ArmMode::Arm;
            let (v, u) = arm::decode_vendor_uarch(procs[i].midr, mode, vfpv4);
            procs[i].vendor = v;
            procs[i].uarch = u;
        } else {
            let (lf, lm, lv, lu, lfreq) = {
                let lp = &procs[l];
                (lp.flags, lp.midr, lp.vendor, lp.uarch, lp.max_frequency)
            };
            let p = &mut procs[i];
            p.flags |= lf & (flag::MIDR | flag::MAX_FREQUENCY);
            p.midr = lm;
            p.vendor = lv;
            p.uarch = lu;
            p.max_frequency = lfreq;
        }
    }
}

/// cpuinfo's order: usable first, then by core rank, frequency, cluster leader (descending),
/// Linux id.
fn sort_as_cpuinfo(procs: &mut [Proc], mode: ArmMode) {
    procs.sort_by(|a, b| {
        use std::cmp::Ordering;
        let ua = all(a.flags, flag::VALID);
        let ub = all(b.flags, flag::VALID);
        if ua != ub {
            return ub.cmp(&ua);
        }
        if a.midr != b.midr {
            let (sa, sb) = (arm::score_core(a.midr, mode), arm::score_core(b.midr, mode));
            if sa != sb {
                return sb.cmp(&sa);
            }
        }
        if a.max_frequency != b.max_frequency {
            return b.max_frequency.cmp(&a.max_frequency);
        }
        if a.leader != b.leader {
            return b.leader.cmp(&a.leader);
        }
        a.system_id.cmp(&b.system_id).then(Ordering::Equal)
    });
}

/// What the cache passes need besides the processors.
struct CacheContext<'a> {
    root: &'a Sysroot,
    android: bool,
    chip: Option<SeriesModel<'a>>,
    mode: ArmMode,
}

impl CacheContext<'_> {
    /// The caches cpuinfo's tables give processor `p` of cluster `cid`: L1i, L1d, L2, L3.
    fn decode(&self, p: &Proc, cid: i64) -> [CacheParams; 4] {
        arm::decode_cache(
            self.android,
            p.uarch,
            p.cluster_count,
            p.midr,
            self.chip,
            cid.max(0) as u32,
            p.arch_version,
            self.mode,
        )
    }

    /// The L2 of Linux processor `linux` from sysfs (`cache/index2`): its size in bytes (0 if
    /// absent or malformed) and whether it is private to that processor.
    fn sysfs_l2(&self, linux: usize) -> (u32, bool) {
        let root = self.root;
        let base = format!("sys/devices/system/cpu/cpu{linux}/cache/index2");
        if root.read_u32(&format!("{base}/level")) != Some(2) {
            return (0, false);
        }
        let Some(t) = root.read_text(&format!("{base}/size")) else {
            return (0, false);
        };
        let t = t.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(v) = t[..digits].parse::<u32>() else {
            return (0, false);
        };
        if v == 0 {
            return (0, false);
        }
        let mult = if t[digits..].starts_with(['M', 'm']) {
            1 << 20
        } else {
            1 << 10
        };
        let size = v.saturating_mul(mult);
        let per_core = root
            .read_text(&format!("{base}/shared_cpu_list"))
            .map(|s| {
                let s = s.trim();
                !s.is_empty() && !s.contains([',', '-'])
            })
            .unwrap_or(false);
        (size, per_core)
    }
}

/// How many L3 instances the first pass found, and whether one L3 is shared by every core.
#[derive(Clone, Copy)]
struct L3Plan {
    count: usize,
    shared: bool,
}

/// Pass 1: cores, clusters and L1 caches of the `procs` (sorted, valid ones only), and how
/// many L3 instances pass 2 makes.
fn cores_and_l1(cx: &CacheContext<'_>, procs: &[Proc], out: &mut ArmTopology) -> L3Plan {
    let mut cluster_id: i64 = -1;
    let (mut l3_count, mut big_l3, mut shared_l3) = (0usize, 0u32, true);
    for (i, p) in procs.iter().enumerate() {
        if p.leader == p.system_id {
            cluster_id += 1;
            out.clusters.push(ArmCluster {
                core_start: i,
                core_count: p.cluster_count as usize,
                vendor: p.vendor,
                uarch: p.uarch,
                midr: p.midr,
            });
        }
        let caches = cx.decode(p, cluster_id);
        let mut l1i = caches[0];
        let mut l1d = caches[1];
        if cx.mode == ArmMode::Arm {
            if all(p.flags, flag::ICACHE) {
                l1i = CacheParams {
                    size: p.icache[0],
                    associativity: p.icache[1],
                    line_size: p.icache[2],
                    inclusive: false,
                };
            }
            if all(p.flags, flag::DCACHE) {
                l1d = CacheParams {
                    size: p.dcache[0],
                    associativity: p.dcache[1],
                    line_size: p.dcache[2],
                    inclusive: false,
                };
            }
        }
        for (list, params) in [(&mut out.l1i, l1i), (&mut out.l1d, l1d)] {
            list.push(CacheInstance {
                params,
                processor_start: i,
                processor_count: 1,
            });
        }
        out.cores.push(ArmCore {
            linux_id: p.system_id,
            cluster: cluster_id.max(0) as usize,
            vendor: p.vendor,
            uarch: p.uarch,
            midr: p.midr,
            max_frequency_khz: p.max_frequency,
            l1i: (l1i.size != 0).then_some(i),
            l1d: (l1d.size != 0).then_some(i),
            l2: None,
            l3: None,
        });
        let l3 = caches[3];
        if l3.size != 0 {
            if p.leader == p.system_id {
                if cluster_id == 0 {
                    big_l3 = l3.size;
                    l3_count = 1;
                } else if l3.size != big_l3 {
                    shared_l3 = false;
                    l3_count += 1;
                }
            }
        } else {
            shared_l3 = false;
        }
    }
    L3Plan {
        count: l3_count,
        shared: shared_l3,
    }
}

/// Pass 2: L2 and L3 instances of the `procs` (as in [`cores_and_l1`]) and each core's links
/// to them.
fn l2_and_l3(cx: &CacheContext<'_>, procs: &[Proc], l3p: L3Plan, out: &mut ArmTopology) {
    let n = procs.len();
    let mut cluster_id: i64 = -1;
    let mut l3_index: i64 = -1;
    for (i, p) in procs.iter().enumerate() {
        if p.leader == p.system_id {
            cluster_id += 1;
        }
        let caches = cx.decode(p, cluster_id);
        let (mut l2, l3) = (caches[2], caches[3]);
        let (sz, per_core_sysfs) = cx.sysfs_l2(p.system_id);
        if sz > 0 {
            l2.size = sz;
        }
        let per_core = sz > 0 && per_core_sysfs;
        if l3.size != 0 || per_core {
            out.l2.push(CacheInstance {
                params: l2,
                processor_start: i,
                processor_count: 1,
            });
            out.cores[i].l2 = Some(out.l2.len() - 1);
            if p.leader == p.system_id {
                l3_index += 1;
                if (l3_index as usize) < l3p.count {
                    out.l3.push(CacheInstance {
                        params: l3,
                        processor_start: i,
                        processor_count: if l3p.shared {
                            n
                        } else {
                            p.cluster_count as usize
                        },
                    });
                }
            }
            if l3p.shared && !out.l3.is_empty() {
                out.cores[i].l3 = Some(0);
            } else if l3_index >= 0 && (l3_index as usize) < out.l3.len() {
                out.cores[i].l3 = Some(l3_index as usize);
            }
        } else if l2.size != 0 {
            if p.leader == p.system_id {
                out.l2.push(CacheInstance {
                    params: l2,
                    processor_start: i,
                    processor_count: p.cluster_count as usize,
                });
            }
            if !out.l2.is_empty() {
                out.cores[i].l2 = Some(out.l2.len() - 1);
            }
        }
    }
}

/// Series and model of a chipset from its formatted name: `Qualcomm MSM8998` → (`MSM`, 8998),
/// `Qualcomm Snapdragon 845` → (`Snapdragon`, 845), `MediaTek MT6797T` → (`MT`, 6797).
pub fn series_model(name: &str) -> Option<SeriesModel<'_>> {
    let mut words = name.split_whitespace();
    let vendor = words.next()?;
    let rest: Vec<&str> = words.collect();
    let last = *rest.last()?;
    let alpha = last.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (series, num) = if alpha == 0 {
        (*rest.get(rest.len().checked_sub(2)?)?, last)
    } else {
        (&last[..alpha], &last[alpha..])
    };
    let digits = num.bytes().take_while(u8::is_ascii_digit).count();
    let model = num[..digits].parse().ok()?;
    Some(SeriesModel {
        vendor,
        series,
        model,
    })
}

/// What is known about a cluster being assembled: min/max frequency and MIDR fields, each only
/// once some member reported it.
#[derive(Default)]
struct ClusterFacts {
    flags: u32,
    midr: u32,
    max_frequency: u32,
    min_frequency: u32,
}

impl ClusterFacts {
    /// Adds `p` to the cluster: `false` (and possibly some facts recorded) if a fact `p` reports
    /// differs from the cluster's, else records the facts the cluster did not know yet.
    fn admit(&mut self, p: &Proc) -> bool {
        for (f, have, theirs) in [
            (
                flag::MIN_FREQUENCY,
                &mut self.min_frequency,
                p.min_frequency,
            ),
            (
                flag::MAX_FREQUENCY,
                &mut self.max_frequency,
                p.max_frequency,
            ),
        ] {
            if p.flags & f != 0 {
                if self.flags & f != 0 {
                    if *have != theirs {
                        return false;
                    }
                } else {
                    *have = theirs;
                    self.flags |= f;
                }
            }
        }
        for (f, mask) in [
            (flag::IMPLEMENTER, midr::IMPLEMENTER),
            (flag::VARIANT, midr::VARIANT),
            (flag::PART, midr::PART),
            (flag::REVISION, midr::REVISION),
        ] {
            if p.flags & f != 0 {
                if self.flags & f != 0 {
                    if self.midr & mask != p.midr & mask {
                        return false;
                    }
                } else {
                    self.midr = (self.midr & !mask) | (p.midr & mask);
                    self.flags |= f;
                }
            }
        }
        true
    }
}

// Processor indices are also Linux CPU numbers (cluster leader ids), so the loops index.
#[allow(clippy::needless_range_loop)]
fn clusters_by_heuristic(usable: u32, procs: &mut [Proc], mode: ArmMode, android: bool) -> bool {
    let sizes: &[u32] = match usable {
        10 => &[4, 4, 2],
        8 => &[4, 4],
        6 => &[4, 2],
        5 if android && mode == ArmMode::Arm => &[4, 1],
        _ => return false,
    };
    // Check that the layout is consistent with what is known.
    let mut cluster = 0usize;
    let mut expected = 0u32;
    let (mut start, mut exists) = (0usize, false);
    let mut facts = ClusterFacts::default();
    for i in 0..procs.len() {
        let p = &procs[i];
        if !all(p.flags, flag::VALID) {
            continue;
        }
        if expected == 0 {
            exists = p.flags & flag::PACKAGE_CLUSTER != 0;
            if exists {
                if p.leader != i {
                    return false;
                }
            } else {
                // As cpuinfo: the first processor of a guessed cluster sets no facts.
                facts = ClusterFacts::default();
            }
            start = i;
            let Some(&s) = sizes.get(cluster) else {
                return false;
            };
            expected = s;
            cluster += 1;
        } else if exists {
            if p.flags & flag::PACKAGE_CLUSTER == 0 || p.leader != start {
                return false;
            }
        } else if p.flags & flag::PACKAGE_CLUSTER != 0 || !facts.admit(p) {
            return false;
        }
        expected -= 1;
    }
    // Apply.
    let mut cluster = 0usize;
    let mut expected = 0u32;
    let mut start = 0usize;
    for i in 0..procs.len() {
        if !all(procs[i].flags, flag::VALID) {
            continue;
        }
        if expected == 0 {
            start = i;
            expected = sizes.get(cluster).copied().unwrap_or(u32::MAX);
            cluster += 1;
        } else {
            procs[i].leader = start;
            procs[i].flags |= flag::PACKAGE_CLUSTER;
        }
        expected -= 1;
    }
    true
}

// Processor indices are also Linux CPU numbers (cluster leader ids), so the loops index.
#[allow(clippy::needless_range_loop)]
fn clusters_by_sequential_scan(procs: &mut [Proc]) {
    let (mut count, mut start) = (0u32, 0usize);
    let mut facts = ClusterFacts::default();
    for i in 0..procs.len() {
        if procs[i].flags & (flag::VALID | flag::PACKAGE_CLUSTER) != flag::VALID {
            continue;
        }
        if count > 0 && facts.admit(&procs[i]) {
            count += 1;
            procs[i].leader = start;
            procs[i].flags |= flag::PACKAGE_CLUSTER;
            continue;
        }
        // A new cluster, starting with everything this processor reports.
        start = i;
        procs[i].leader = i;
        procs[i].flags |= flag::PACKAGE_CLUSTER;
        count = 1;
        facts = ClusterFacts::default();
        facts.admit(&procs[i]);
    }
}

fn known_midr_mask(flags: u32) -> u32 {
    let mut m = 0;
    if flags & flag::IMPLEMENTER != 0 {
        m |= midr::IMPLEMENTER;
    }
    if flags & flag::VARIANT != 0 {
        m |= midr::VARIANT;
    }
    if flags & flag::PART != 0 {
        m |= midr::PART;
    }
    if flags & flag::REVISION != 0 {
        m |= midr::REVISION;
    }
    m
}

fn midr_by_chipset(
    chip: Option<SeriesModel<'_>>,
    leaders: &[usize],
    usable: u32,
    procs: &mut [Proc],
    verify: bool,
    mode: ArmMode,
) -> bool {
    let Some(chip) = chip else {
        return false;
    };
    if leaders.len() > 3 {
        return false;
    }
    let Some(cfg) = CLUSTER_CONFIGS.iter().find(|c| {
        c.series == chip.series && c.model == chip.model && c.only.is_none_or(|m| m == mode)
    }) else {
        return false;
    };
    if cfg.cores != usable || cfg.cluster_cores.len() != leaders.len() {
        return false;
    }
    for (c, &l) in leaders.iter().enumerate() {
        if cfg.cluster_cores[c] != procs[l].cluster_count {
            return false;
        }
    }
    if verify {
        for (c, &l) in leaders.iter().enumerate() {
            let mask = known_midr_mask(procs[l].flags);
            if (procs[l].midr ^ cfg.cluster_midr[c]) & mask != 0 {
                return false;
            }
        }
    }
    for (c, &l) in leaders.iter().enumerate() {
        procs[l].midr = cfg.cluster_midr[c];
        procs[l].flags |= flag::MIDR;
    }
    true
}

fn midr_by_big_little(
    leaders: &[usize],
    clusters_with_midr: u32,
    last_with_midr: usize,
    procs: &mut [Proc],
    verify: bool,
) -> bool {
    if leaders.len() != 2 || clusters_with_midr != 1 {
        return false;
    }
    let big_leader = procs[last_with_midr].leader;
    let midr_flags = procs[big_leader].flags & flag::MIDR;
    let big = procs[big_leader].midr;
    let little = arm::little_core_for_big(big);
    let mut little_leader = leaders[0];
    let other = leaders[1];
    if procs[little_leader].flags & procs[other].flags & flag::MAX_FREQUENCY != 0
        && procs[little_leader].max_frequency > procs[other].max_frequency
    {
        little_leader = other;
    }
    if verify {
        for &l in leaders {
            let mask = known_midr_mask(procs[l].flags);
            let want = if l == little_leader { little } else { big };
            if (procs[l].midr ^ want) & mask != 0 {
                return false;
            }
        }
    }
    for &l in leaders {
        if all(procs[l].flags, flag::MIDR) {
            continue;
        }
        procs[l].midr = if l == little_leader { little } else { big };
        procs[l].flags |= midr_flags;
    }
    true
}

// Processor indices are also Linux CPU numbers (cluster leader ids), so the loops index.
#[allow(clippy::needless_range_loop)]
fn midr_by_sequential_scan(default: u32, procs: &mut [Proc]) {
    let mut m = default;
    for i in 0..procs.len() {
        if all(procs[i].flags, flag::VALID) && procs[i].leader == i {
            if all(procs[i].flags, flag::MIDR) {
                m = procs[i].midr;
            } else {
                procs[i].midr = m;
                procs[i].flags |= flag::MIDR;
            }
        }
    }
}

/// Gives every cluster leader a MIDR (the kernel may describe only some cores) and returns the
/// number of clusters.
// Processor indices are also Linux CPU numbers (cluster leader ids), so the loops index.
#[allow(clippy::needless_range_loop)]
fn detect_cluster_midr(
    chip: Option<SeriesModel<'_>>,
    usable: u32,
    procs: &mut [Proc],
    mode: ArmMode,
    notes: &mut Vec<String>,
) -> usize {
    let count = procs.len();
    let mut leaders = Vec::new();
    let (mut last_in_cpuinfo, mut last_with_midr) = (count, count);
    let mut with_midr = 0u32;
    for i in 0..count {
        if !all(procs[i].flags, flag::VALID) {
            continue;
        }
        if procs[i].flags & flag::PROCESSOR != 0 {
            last_in_cpuinfo = i;
        }
        if all(procs[i].flags, flag::IMPLEMENTER | flag::PART) {
            last_with_midr = i;
            with_midr += 1;
        }
        let l = procs[i].leader;
        if l == i {
            leaders.push(i);
        } else {
            if (procs[i].flags & !procs[l].flags) & flag::MAX_FREQUENCY != 0 {
                procs[l].max_frequency = procs[i].max_frequency;
                procs[l].flags |= flag::MAX_FREQUENCY;
            }
            if !all(procs[l].flags, flag::MIDR) && all(procs[i].flags, flag::MIDR) {
                procs[l].midr = procs[i].midr;
                procs[l].flags |= flag::MIDR;
            }
        }
    }
    let clusters = leaders.len();
    if with_midr == 1 && last_in_cpuinfo == last_with_midr && clusters > 1 {
        notes.push("/proc/cpuinfo describes one core only: other clusters' MIDR inferred".into());
        if midr_by_chipset(chip, &leaders, usable, procs, false, mode) {
            return clusters;
        }
        if midr_by_big_little(&leaders, 1, last_with_midr, procs, false) {
            return clusters;
        }
        let d = procs[procs[last_with_midr].leader].midr;
        midr_by_sequential_scan(d, procs);
    } else if with_midr < usable {
        let clusters_with_midr = (0..count)
            .filter(|&i| all(procs[i].flags, flag::VALID | flag::MIDR) && procs[i].leader == i)
            .count();
        if clusters_with_midr < clusters {
            notes.push(format!(
                "/proc/cpuinfo describes {clusters_with_midr} of {clusters} clusters: MIDR of the others inferred"
            ));
            if midr_by_chipset(chip, &leaders, usable, procs, true, mode) {
                return clusters;
            }
            if last_with_midr != count {
                if midr_by_big_little(&leaders, with_midr, last_with_midr, procs, true) {
                    return clusters;
                }
                let d = procs[procs[last_with_midr].leader].midr;
                midr_by_sequential_scan(d, procs);
            }
        }
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_model_from_names() {
        let s = series_model("Qualcomm MSM8998").unwrap();
        assert_eq!((s.series, s.model), ("MSM", 8998));
        let s = series_model("Qualcomm Snapdragon 845").unwrap();
        assert_eq!((s.series, s.model), ("Snapdragon", 845));
        let s = series_model("MediaTek MT6797T").unwrap();
        assert_eq!((s.vendor, s.series, s.model), ("MediaTek", "MT", 6797));
        let s = series_model("Qualcomm MSM8996PRO-AB").unwrap();
        assert_eq!((s.series, s.model), ("MSM", 8996));
        assert!(series_model("Unknown").is_none());
        assert!(series_model("").is_none());
    }
}
