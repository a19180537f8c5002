//! x86 Linux/Android topology the way cpuinfo builds it: processors from sysfs and
//! `/proc/cpuinfo` (`apicid`), cores/clusters/packages and cache instances from the APIC ID bit
//! fields that CPUID describes, microarchitecture from family/model, ISA flags from CPUID.
//!
//! On a recording, CPUID comes from `cpuid.json` in the sysroot (`[{input_eax, input_ecx, eax,
//! ebx, ecx, edx}]` as hex strings); live, from the CPU.

use crate::probe::{Cluster, Core, ProbeOptions, Processor, SystemReport};
use crate::sysroot::Sysroot;
use crate::x86::{CpuidRegs, CpuidSource};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// CPUID results replayed from a recording.
#[derive(Clone, Debug, Default)]
pub struct RecordedCpuid {
    entries: Vec<((u32, u32), CpuidRegs)>,
}

impl RecordedCpuid {
    /// Parses the `cpuid.json` recording format. `None` if it is not that format.
    pub fn parse(text: &str) -> Option<RecordedCpuid> {
        let v: Value = serde_json::from_str(text).ok()?;
        let hex = |v: &Value| u32::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok();
        let mut entries = Vec::new();
        for e in v.as_array()? {
            let key = (hex(&e["input_eax"])?, hex(&e["input_ecx"]).unwrap_or(0));
            let regs = CpuidRegs {
                eax: hex(&e["eax"])?,
                ebx: hex(&e["ebx"])?,
                ecx: hex(&e["ecx"])?,
                edx: hex(&e["edx"])?,
            };
            entries.push((key, regs));
        }
        Some(RecordedCpuid { entries })
    }
}

impl CpuidSource for RecordedCpuid {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidRegs {
        let find = |k: (u32, u32)| self.entries.iter().find(|(key, _)| *key == k).map(|e| e.1);
        // Leaves without subleaves were recorded with ECX = 0.
        let indexed = matches!(
            leaf,
            4 | 7 | 0xB | 0xD | 0xF | 0x10 | 0x14 | 0x18 | 0x1E | 0x24 | 0x8000_001D
        );
        find((leaf, subleaf))
            .or_else(|| if indexed { None } else { find((leaf, 0)) })
            .unwrap_or_default()
    }
}

fn bit_length(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

fn mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Microarchitecture of an x86 core from vendor and leaf-1 EAX (cpuinfo's names).
pub fn decode_uarch(vendor: &str, leaf1_eax: u32) -> &'static str {
    let (family, model, _, ext_model) = crate::x86::leaf1_signature(leaf1_eax);
    match vendor {
        "GenuineIntel" => match family {
            0x5 => "p5",
            0x6 => match model {
                0x01 | 0x03 | 0x05 | 0x06 | 0x07 | 0x08 | 0x0A | 0x0B => "p6",
                0x09 | 0x0D | 0x15 => "dothan",
                0x0E => "yonah",
                0x0F | 0x16 => "conroe",
                0x17 | 0x1D => "penryn",
                0x1A | 0x1E | 0x1F | 0x2E | 0x25 | 0x2C | 0x2F => "nehalem",
                0x2A | 0x2D => "sandy-bridge",
                0x3A | 0x3E => "ivy-bridge",
                0x3C | 0x3F | 0x45 | 0x46 => "haswell",
                0x3D | 0x47 | 0x4F | 0x56 => "broadwell",
                0x4E | 0x55 | 0x5E | 0x8E | 0x9E | 0xA5 | 0xA6 => "sky-lake",
                0x66 => "palm-cove",
                0x6A | 0x6C | 0x7D | 0x7E => "sunny-cove",
                0x8C | 0x8D => "willow-cove",
                0x8F | 0x97 | 0x9A => "golden-cove",
                0xB7 | 0xBA | 0xBF | 0xCF => "raptor-cove",
                0xAA | 0xAC | 0xAD | 0xAE => "redwood-cove",
                0x1C | 0x26 => "bonnell",
                0x27 | 0x35 | 0x36 => "saltwell",
                0x37 | 0x4A | 0x4D | 0x5A | 0x5D => "silvermont",
                0x4C | 0x75 => "airmont",
                0x5C | 0x5F => "goldmont",
                0x7A => "goldmont-plus",
                0x86 | 0x8A | 0x96 | 0x9C => "tremont",
                0xBE => "gracemont",
                0xAF => "crestmont",
                0xDD => "darkmont",
                0x57 => "knights-landing",
                0x85 => "knights-mill",
                _ => "unknown",
            },
            0xF => match model {
                0x00..=0x02 => "willamette",
                0x03 | 0x04 | 0x06 => "prescott",
                _ => "unknown",
            },
            _ => "unknown",
        },
        "AuthenticAMD" | "HygonGenuine" => match family {
            0x5 => match model {
                0x00..=0x02 => "k5",
                0x06..=0x08 | 0x0D => "k6",
                0x0A => "geode",
                _ => "unknown",
            },
            0x6 => "k7",
            0xF | 0x11 => "k8",
            0x10 | 0x12 => "k10",
            0x14 => "bobcat",
            0x15 => match model {
                0x00 | 0x01 => "bulldozer",
                0x02 | 0x10 | 0x13 => "piledriver",
                0x30 | 0x38 => "steamroller",
                0x60 | 0x65 | 0x70 => "excavator",
                _ => match ext_model {
                    0x0 => "bulldozer",
                    0x1 | 0x2 => "piledriver",
                    0x3 | 0x4 => "steamroller",
                    _ => "excavator",
                },
            },
            0x16 => {
                if model >= 0x03 {
                    "puma"
                } else {
                    "jaguar"
                }
            }
            0x17 => match ext_model {
                0x0..=0x2 => "zen",
                _ => "zen2",
            },
            0x18 => "dhyana",
            0x19 => match ext_model {
                0x1 | 0x6 | 0x7 | 0xA => "zen4",
                _ => "zen3",
            },
            0x1A => "zen5",
            _ => "unknown",
        },
        _ => "unknown",
    }
}

/// One x86 cache as CPUID's deterministic parameters describe it.
#[derive(Clone, Copy, Debug, Default)]
struct X86Cache {
    size: u32,
    associativity: u32,
    sets: u32,
    partitions: u32,
    line_size: u32,
    inclusive: bool,
    unified: bool,
    apic_bits: u32,
}

/// Caches [l1i, l1d, l2, l3, l4] and the package core bits from leaf 4 (Intel) or 0x8000001D.
fn detect_caches(
    src: &dyn CpuidSource,
    vendor: &str,
    max_base: u32,
    max_ext: u32,
) -> ([X86Cache; 5], u32) {
    let mut c = [X86Cache::default(); 5];
    let mut core_bits = 0;
    let amd = vendor == "AuthenticAMD" || vendor == "HygonGenuine";
    let mut decode = |leaf: u32, amd_leaf: bool, core_bits: &mut u32| {
        for sub in 0..32 {
            let r = src.cpuid(leaf, sub);
            let ty = r.eax & 0x1F;
            if ty == 0 {
                break;
            }
            let level = (r.eax >> 5) & 7;
            let cache = X86Cache {
                sets: r.ecx.wrapping_add(1),
                line_size: 1 + (r.ebx & 0xFFF),
                partitions: 1 + ((r.ebx >> 12) & 0x3FF),
                associativity: 1 + (r.ebx >> 22),
                inclusive: r.edx & 2 != 0,
                unified: ty == 3,
                apic_bits: bit_length(1 + ((r.eax >> 14) & 0xFFF)),
                size: 0,
            };
            let cache = X86Cache {
                size: cache
                    .associativity
                    .wrapping_mul(cache.partitions)
                    .wrapping_mul(cache.line_size)
                    .wrapping_mul(cache.sets),
                ..cache
            };
            if !amd_leaf {
                *core_bits = bit_length(1 + (r.eax >> 26));
            }
            match (level, ty) {
                (1, 1) => c[1] = cache,
                (1, 2) => c[0] = cache,
                (1, 3) => {
                    c[0] = cache;
                    c[1] = cache;
                }
                (2, _) => c[2] = cache,
                (3, _) => c[3] = cache,
                (4, _) => c[4] = cache,
                _ => {}
            }
        }
    };
    if !amd && max_base >= 4 {
        decode(4, false, &mut core_bits);
    }
    if max_ext >= 0x8000_001D {
        decode(0x8000_001D, true, &mut core_bits);
    }
    (c, core_bits)
}

/// (thread_offset, thread_len, core_offset, core_len) of the APIC ID.
fn detect_topology(
    src: &dyn CpuidSource,
    max_base: u32,
    max_ext: u32,
    core_bits_in: u32,
) -> (u32, u32, u32, u32) {
    let leaf1 = src.cpuid(1, 0);
    let (mut to, mut tl, mut co, mut cl) = (0, 0, 0, core_bits_in);
    if leaf1.edx & (1 << 28) != 0 {
        let amd_cmp_legacy = max_ext >= 0x8000_0001 && src.cpuid(0x8000_0001, 0).ecx & 2 != 0;
        if amd_cmp_legacy {
            if max_ext >= 0x8000_0008 {
                cl = bit_length(1 + (src.cpuid(0x8000_0008, 0).ecx & 0xFF));
            } else {
                let cores = (leaf1.ebx >> 16) & 0xFF;
                if cores != 0 {
                    cl = bit_length(cores);
                }
            }
        } else {
            let logical = (leaf1.ebx >> 16) & 0xFF;
            if logical != 0 {
                let threads = bit_length(logical).saturating_sub(cl);
                co = threads;
                tl = threads;
            }
        }
    }
    if leaf1.ecx & (1 << 21) != 0 && max_base >= 0xB {
        (to, tl, co, cl) = (0, 0, 0, 0);
        let mut total = 0;
        for level in 0..8 {
            let r = src.cpuid(0xB, level);
            let ty = (r.ecx >> 8) & 0xFF;
            let shift = r.eax & 0x1F;
            match ty {
                0 => break,
                1 => {
                    to = total;
                    tl = shift;
                }
                2 => {
                    co = total;
                    cl = shift;
                }
                _ => {}
            }
            total += shift;
        }
    }
    (to, tl, co, cl)
}

/// ISA flags (`x86_*`) from CPUID, as a 64-bit process sees them (`android`: the Android x86-64
/// ABI guarantees SSSE3/SSE4.x/POPCNT). `os_avx`/`os_avx512`: whether the OS saves those
/// register states (XCR0); on a recording, what the CPU can save.
fn decode_isa(
    src: &dyn CpuidSource,
    vendor: &str,
    max_base: u32,
    max_ext: u32,
    android: bool,
    os_state: Option<(bool, bool)>,
) -> BTreeMap<String, bool> {
    let b = src.cpuid(1, 0);
    let e = if max_ext >= 0x8000_0001 {
        src.cpuid(0x8000_0001, 0)
    } else {
        CpuidRegs::default()
    };
    let s0 = if max_base >= 7 {
        src.cpuid(7, 0)
    } else {
        CpuidRegs::default()
    };
    let s1 = if max_base >= 7 {
        src.cpuid(7, 1)
    } else {
        CpuidRegs::default()
    };
    let cap = if max_ext >= 0x8000_0008 {
        src.cpuid(0x8000_0008, 0)
    } else {
        CpuidRegs::default()
    };
    let bit = |r: u32, n: u32| r >> n & 1 == 1;
    let (mut avx_regs, mut avx512_regs, mut mpx_regs) = (false, false, false);
    if b.ecx & 0x0C00_0000 == 0x0C00_0000 && max_base >= 0xD {
        let d = src.cpuid(0xD, 0);
        let valid = (u64::from(d.edx) << 32) | u64::from(d.eax);
        let (os_avx, os_avx512) = os_state.unwrap_or((true, true));
        if valid & 6 == 6 {
            avx_regs = os_avx;
            if valid & 0xE6 == 0xE6 {
                avx512_regs = os_avx512;
            }
        }
        if valid & 0x18 == 0x18 {
            mpx_regs = true;
        }
    }
    let amd = vendor == "AuthenticAMD" || vendor == "HygonGenuine";
    let mut m = BTreeMap::new();
    let mut set = |k: &str, v: bool| {
        m.insert(format!("x86_{k}"), v);
    };
    // Always present in 64-bit mode.
    for k in [
        "rdtsc",
        "fpu",
        "mmx",
        "mmx_plus",
        "daz",
        "sse",
        "sse2",
        "cmov",
        "cmpxchg8b",
    ] {
        set(k, true);
    }
    set("3dnow_geode", false);
    set("rdtscp", bit(e.edx, 27));
    set("rdpid", bit(s0.ecx, 22));
    set("clzero", bit(cap.ebx, 0));
    set("mwait", bit(b.ecx, 3));
    set("mwaitx", bit(e.ecx, 29));
    set("fxsave", bit(b.edx, 24) || bit(e.edx, 24));
    set("xsave", bit(b.ecx, 26));
    set("3dnow", bit(e.edx, 31));
    set("3dnow_plus", bit(e.edx, 30));
    let prefetch = if vendor == "GenuineIntel" {
        false
    } else if amd {
        bit(e.ecx, 8) || e.edx & 0xE000_0000 != 0
    } else {
        e.edx & 0xC000_0000 != 0
    };
    set("prefetch", prefetch);
    let prefetchw = if amd {
        bit(e.ecx, 8) || e.edx & 0xE000_0000 != 0
    } else {
        bit(e.ecx, 8) || e.edx & 0xC000_0000 != 0
    };
    set("prefetchw", prefetchw);
    set("prefetchwt1", bit(s0.ecx, 0));
    set("sse3", android || bit(b.ecx, 0));
    set("ssse3", android || bit(b.ecx, 9));
    set("sse4_1", android || bit(b.ecx, 19));
    set("sse4_2", android || bit(b.ecx, 20));
    set("sse4a", bit(e.ecx, 6));
    set("misaligned_sse", bit(e.ecx, 7));
    set("avx", avx_regs && bit(b.ecx, 28));
    set("fma3", avx_regs && bit(b.ecx, 12));
    set("fma4", avx_regs && bit(e.ecx, 16));
    set("xop", avx_regs && bit(e.ecx, 11));
    set("f16c", avx_regs && bit(b.ecx, 29));
    set("avx2", avx_regs && bit(s0.ebx, 5));
    set("avxvnni", avx_regs && bit(s1.eax, 4));
    for (k, r, n) in [
        ("avx512f", s0.ebx, 16),
        ("avx512pf", s0.ebx, 26),
        ("avx512er", s0.ebx, 27),
        ("avx512cd", s0.ebx, 28),
        ("avx512dq", s0.ebx, 17),
        ("avx512bw", s0.ebx, 30),
        ("avx512vl", s0.ebx, 31),
        ("avx512ifma", s0.ebx, 21),
        ("avx512vbmi", s0.ecx, 1),
        ("avx512vbmi2", s0.ecx, 6),
        ("avx512bitalg", s0.ecx, 12),
        ("avx512vpopcntdq", s0.ecx, 14),
        ("avx512vnni", s0.ecx, 11),
        ("avx512_4vnniw", s0.edx, 2),
        ("avx512_4fmaps", s0.edx, 3),
        ("avx512vp2intersect", s0.edx, 8),
        ("avx512fp16", s0.edx, 23),
        ("avx512bf16", s1.eax, 5),
        ("amx_bf16", s0.edx, 22),
        ("amx_tile", s0.edx, 24),
        ("amx_int8", s0.edx, 25),
        ("amx_fp16", s1.eax, 21),
    ] {
        set(k, avx512_regs && bit(r, n));
    }
    set("hle", bit(s0.ebx, 4));
    set("rtm", bit(s0.ebx, 11));
    set("xtest", bit(s0.ebx, 4) || bit(s0.ebx, 11));
    set("mpx", mpx_regs && bit(s0.ebx, 14));
    // cpuinfo's recorded Android x86 devices assert CMPXCHG16B absent in every view: their
    // expectations were written for the 32-bit Android x86 ABI, where the instruction does not
    // exist. We keep that answer on Android (drop-in agreement) and report the CPUID bit elsewhere.
    set("cmpxchg16b", !android && bit(b.ecx, 13));
    set("clwb", bit(s0.ebx, 24));
    set("movbe", bit(b.ecx, 22));
    set("lahf_sahf", bit(e.ecx, 0));
    set("lzcnt", bit(e.ecx, 5));
    set("popcnt", android || bit(b.ecx, 23));
    set("tbm", bit(e.ecx, 21));
    set("bmi", bit(s0.ebx, 3));
    set("bmi2", bit(s0.ebx, 8));
    set("adx", bit(s0.ebx, 19));
    set("aes", bit(b.ecx, 25));
    set("vaes", bit(s0.ecx, 9));
    set("pclmulqdq", bit(b.ecx, 1));
    set("vpclmulqdq", bit(s0.ecx, 10));
    set("gfni", bit(s0.ecx, 8));
    set("rdrand", bit(b.ecx, 30));
    set("rdseed", bit(s0.ebx, 18));
    set("sha", bit(s0.ebx, 29));
    m
}

/// Probes an x86 system (recorded `cpuid.json` in the sysroot, else the live CPU).
pub fn probe(opts: &ProbeOptions) -> SystemReport {
    let root = &opts.sysroot;
    #[allow(unused_mut)]
    let mut notes = Vec::new();
    let recorded = root
        .read_text("cpuid.json")
        .and_then(|t| RecordedCpuid::parse(&t));
    #[cfg(target_arch = "x86_64")]
    let live = crate::x86::LiveCpuid;
    let src: &dyn CpuidSource = match &recorded {
        Some(r) => r,
        None => {
            #[cfg(target_arch = "x86_64")]
            {
                &live
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                notes.push(
                    "no cpuid.json in the sysroot and this is not an x86 CPU: CPUID unknown".into(),
                );
                static EMPTY: std::sync::OnceLock<RecordedCpuid> = std::sync::OnceLock::new();
                EMPTY.get_or_init(RecordedCpuid::default)
            }
        }
    };
    let os_state = if recorded.is_some() {
        None
    } else {
        live_os_state()
    };
    let android = root.exists("android-properties.txt") || opts.android_properties.is_some();
    probe_with(root, src, android, os_state, opts, notes)
}

fn live_os_state() -> Option<(bool, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        Some((
            std::arch::is_x86_feature_detected!("avx"),
            std::arch::is_x86_feature_detected!("avx512f"),
        ))
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

fn probe_with(
    root: &Sysroot,
    src: &dyn CpuidSource,
    android: bool,
    os_state: Option<(bool, bool)>,
    opts: &ProbeOptions,
    notes: Vec<String>,
) -> SystemReport {
    let mut notes = notes;
    let leaf0 = src.cpuid(0, 0);
    let max_base = leaf0.eax;
    let vendor = crate::x86::vendor_string(src);
    let ext0 = src.cpuid(0x8000_0000, 0).eax;
    let max_ext = if ext0 >= 0x8000_0000 { ext0 } else { 0 };
    let leaf1 = if max_base >= 1 {
        src.cpuid(1, 0)
    } else {
        CpuidRegs::default()
    };
    let uarch = decode_uarch(&vendor, leaf1.eax);
    let core_vendor = match vendor.as_str() {
        "GenuineIntel" => "intel",
        "AuthenticAMD" => "amd",
        "HygonGenuine" => "hygon",
        "CentaurHauls" => "via",
        _ => "unknown",
    };
    let (caches, core_bits) = if max_base >= 1 {
        detect_caches(src, &vendor, max_base, max_ext)
    } else {
        ([X86Cache::default(); 5], 0)
    };
    if caches.iter().all(|c| c.size == 0) {
        notes
            .push("CPUID describes no caches (no leaf 4 / 0x8000001D): cache sizes unknown".into());
    }
    let (to, tl, co, cl) = detect_topology(src, max_base, max_ext, core_bits);
    let isa = decode_isa(src, &vendor, max_base, max_ext, android, os_state);
    let brand = brand_name(src, &vendor, max_ext);

    let procs = linux_processors(root, &mut notes);

    let core_mask = !(mask(tl) << to);
    let package_mask = core_mask & !(mask(cl) << co);
    let llc_bits = caches
        .iter()
        .rev()
        .find(|c| c.size != 0)
        .map(|c| c.apic_bits)
        .unwrap_or(0);
    let cluster_mask = package_mask | !mask(llc_bits);

    let masks = ApicMasks {
        core: core_mask,
        cluster: cluster_mask,
        smt: mask(tl) << to,
    };
    let Layout {
        processors,
        cores,
        clusters,
        smt_ids,
        level_instances,
        proc_cache_idx,
    } = layout(root, &procs, masks, &caches, (core_vendor, uarch));
    let (cache_sizes, cache_json) = cache_reports(&caches, &level_instances);
    let n = processors.len();
    let cpuid_hex = format!("0x{:08x}", leaf1.eax);
    let cpuinfo = json!({
        "processors": {"count": n, "non_null": n > 0, "items": processors.iter().enumerate().map(|(i, p)| {
            let r = |lvl: usize| proc_cache_idx[i][lvl].map(Value::from).unwrap_or(Value::Null);
            json!({"index": i, "smt_id": smt_ids[i] >> to, "core": p.core, "cluster": p.cluster, "package": 0,
                   "linux_id": p.linux_id, "cache.l1i": r(0), "cache.l1d": r(1), "cache.l2": r(2),
                   "cache.l3": r(3), "cache.l4": r(4)})
        }).collect::<Vec<_>>()},
        "cores": {"count": cores.len(), "non_null": !cores.is_empty(), "items": cores.iter().enumerate().map(|(i, c)| {
            let first = processors.iter().position(|p| p.core == i).unwrap_or(0);
            let count = processors.iter().filter(|p| p.core == i).count();
            let cluster = processors.get(first).map(|p| p.cluster).unwrap_or(0);
            json!({"index": i, "processor_start": first, "processor_count": count, "core_id": i,
                   "cluster": cluster, "package": 0, "vendor": c.vendor, "uarch": c.uarch, "cpuid": cpuid_hex})
        }).collect::<Vec<_>>()},
        "clusters": {"count": clusters.len(), "non_null": !clusters.is_empty(), "items": clusters.iter().enumerate().map(|(i, c)| {
            let first = processors.iter().position(|p| p.cluster == i).unwrap_or(0);
            let count = processors.iter().filter(|p| p.cluster == i).count();
            json!({"index": i, "processor_start": first, "processor_count": count,
                   "core_start": c.cores.first().copied().unwrap_or(0), "core_count": c.cores.len(),
                   "cluster_id": i, "package": 0, "vendor": c.vendor, "uarch": c.uarch, "cpuid": cpuid_hex})
        }).collect::<Vec<_>>()},
        "packages": {"count": 1, "non_null": true, "items": [{"index": 0, "name": brand, "processor_start": 0,
            "processor_count": n, "core_start": 0, "core_count": cores.len(), "cluster_start": 0,
            "cluster_count": clusters.len()}]},
        "caches": Value::Object(cache_json),
        "isa": isa,
    });
    SystemReport {
        arch: opts.arch,
        os: if android { "android" } else { "linux" },
        chipset: (!brand.is_empty()).then_some(brand),
        processors,
        cores,
        clusters,
        caches: cache_sizes,
        isa,
        // The dispatch features of an x86 system come from the live CPUID (`CpuInfo::live`).
        features: None,
        notes,
        cpuinfo,
    }
}

/// The package name from the CPUID brand string (leaves 0x80000002-4): the vendor's short name,
/// then the normalised brand string; empty when the CPU has no brand string.
fn brand_name(src: &dyn CpuidSource, vendor: &str, max_ext: u32) -> String {
    if max_ext < 0x8000_0004 {
        return String::new();
    }
    let mut raw = Vec::with_capacity(48);
    for l in 0x8000_0002..=0x8000_0004u32 {
        let r = src.cpuid(l, 0);
        for w in [r.eax, r.ebx, r.ecx, r.edx] {
            raw.extend_from_slice(&w.to_le_bytes());
        }
    }
    let normalized = crate::brand::normalize_brand_string(&raw);
    crate::brand::format_package_name(
        crate::brand::x86_vendor_name(vendor.as_bytes()),
        &normalized,
    )
}

/// The processors: possible ∩ present (∩ listed in /proc/cpuinfo when present is missing), as
/// (APIC ID, Linux number) sorted by APIC ID, with the APIC ID /proc/cpuinfo gives each (else
/// the Linux number).
fn linux_processors(root: &Sysroot, notes: &mut Vec<String>) -> Vec<(u32, u32)> {
    const DEFAULT_MAX: u32 = 1024;
    let max_count = match root.read_u32("sys/devices/system/cpu/kernel_max") {
        Some(k) if k < DEFAULT_MAX => k + 1,
        _ => DEFAULT_MAX,
    };
    let possible = root.read_cpulist("sys/devices/system/cpu/possible", max_count);
    let present = root.read_cpulist("sys/devices/system/cpu/present", max_count);
    let mut apic: BTreeMap<u32, u32> = BTreeMap::new();
    let mut listed: Vec<u32> = Vec::new();
    if let Some(text) = root.read_text("proc/cpuinfo") {
        let mut cur: Option<u32> = None;
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k.trim() {
                "processor" => {
                    cur = v.trim().parse().ok();
                    if let Some(c) = cur {
                        listed.push(c);
                    }
                }
                "apicid" => {
                    if let (Some(c), Ok(a)) = (cur, v.trim().parse::<u32>()) {
                        apic.insert(c, a);
                    }
                }
                _ => {}
            }
        }
    }
    let mut linux: Vec<u32> = match (&possible, &present) {
        (Some(p), Some(q)) => p.iter().copied().filter(|c| q.contains(c)).collect(),
        (Some(p), None) => p.iter().copied().filter(|c| listed.contains(c)).collect(),
        (None, Some(q)) => q.clone(),
        (None, None) => listed.clone(),
    };
    if linux.is_empty() {
        let n = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        notes.push(format!(
            "no CPU lists in sysfs or /proc/cpuinfo: assuming {n} processor(s) numbered from 0"
        ));
        linux = (0..n).collect();
    }
    if apic.is_empty() {
        notes.push(
            "/proc/cpuinfo gives no apicid: APIC IDs assumed equal to Linux CPU numbers".into(),
        );
    }
    let mut procs: Vec<(u32, u32)> = linux
        .iter()
        .map(|&l| (apic.get(&l).copied().unwrap_or(l), l))
        .collect();
    procs.sort();
    procs
}

/// The APIC ID bits that name a core, a cluster (package and last-level cache) and the SMT
/// thread within a core.
#[derive(Clone, Copy)]
struct ApicMasks {
    core: u32,
    cluster: u32,
    smt: u32,
}

/// Processors, cores and clusters in APIC order, and the cache instances per level as
/// (APIC ID prefix, first processor, processor count).
struct Layout {
    processors: Vec<Processor>,
    cores: Vec<Core>,
    clusters: Vec<Cluster>,
    smt_ids: Vec<u32>,
    level_instances: [Vec<(u32, usize, usize)>; 5],
    proc_cache_idx: Vec<[Option<usize>; 5]>,
}

/// Groups the `procs` (sorted by APIC ID) into cores, clusters and cache instances by the bits
/// of their APIC IDs; `kind` is every core's (vendor, microarchitecture).
fn layout(
    root: &Sysroot,
    procs: &[(u32, u32)],
    masks: ApicMasks,
    caches: &[X86Cache; 5],
    kind: (&str, &str),
) -> Layout {
    let (core_vendor, uarch) = kind;
    let mut out = Layout {
        processors: Vec::new(),
        cores: Vec::new(),
        clusters: Vec::new(),
        smt_ids: Vec::new(),
        level_instances: Default::default(),
        proc_cache_idx: Vec::new(),
    };
    let (mut last_core, mut last_cluster) = (None, None);
    for (i, &(a, l)) in procs.iter().enumerate() {
        let core_id = a & masks.core;
        if last_core != Some(core_id) {
            last_core = Some(core_id);
            out.cores.push(Core {
                vendor: core_vendor.into(),
                uarch: uarch.into(),
                midr: 0,
                max_frequency_khz: root
                    .read_u32(&format!(
                        "sys/devices/system/cpu/cpu{l}/cpufreq/cpuinfo_max_freq"
                    ))
                    .unwrap_or(0),
            });
        }
        let cluster_id = a & masks.cluster;
        if last_cluster != Some(cluster_id) {
            last_cluster = Some(cluster_id);
            out.clusters.push(Cluster {
                cores: Vec::new(),
                uarch: uarch.into(),
                vendor: core_vendor.into(),
                midr: 0,
            });
        }
        let core = out.cores.len() - 1;
        if let Some(cl) = out.clusters.last_mut() {
            if cl.cores.last() != Some(&core) {
                cl.cores.push(core);
            }
        }
        out.smt_ids.push(a & masks.smt);
        let mut idx = [None; 5];
        let mut cache_bytes = [0; 5];
        for (lvl, c) in caches.iter().enumerate() {
            if c.size == 0 {
                continue;
            }
            let id = a & !mask(c.apic_bits);
            let inst = &mut out.level_instances[lvl];
            match inst.last_mut() {
                Some(last) if last.0 == id => last.2 += 1,
                _ => inst.push((id, i, 1)),
            }
            idx[lvl] = Some(inst.len() - 1);
            cache_bytes[lvl] = u64::from(c.size);
        }
        out.proc_cache_idx.push(idx);
        out.processors.push(Processor {
            linux_id: l as usize,
            core,
            cluster: out.clusters.len() - 1,
            cache_bytes,
        });
    }
    out
}

/// Cache sizes per level (one entry per instance) and cpuinfo's JSON of the caches.
fn cache_reports(
    caches: &[X86Cache; 5],
    level_instances: &[Vec<(u32, usize, usize)>; 5],
) -> (
    BTreeMap<&'static str, Vec<u64>>,
    serde_json::Map<String, Value>,
) {
    let names = ["l1i", "l1d", "l2", "l3", "l4"];
    let mut cache_sizes = BTreeMap::new();
    let mut cache_json = serde_json::Map::new();
    for (lvl, name) in names.iter().enumerate() {
        let c = caches[lvl];
        let inst = &level_instances[lvl];
        cache_sizes.insert(
            *name,
            inst.iter().map(|_| u64::from(c.size)).collect::<Vec<_>>(),
        );
        let mut flags = Vec::new();
        if c.inclusive {
            flags.push("inclusive");
        }
        if c.unified {
            flags.push("unified");
        }
        let items: Vec<Value> = inst
            .iter()
            .enumerate()
            .map(|(k, &(_, start, count))| {
                json!({"index": k, "size": c.size, "associativity": c.associativity, "sets": c.sets,
                       "partitions": c.partitions, "line_size": c.line_size, "flags": flags,
                       "processor_start": start, "processor_count": count})
            })
            .collect();
        cache_json.insert(
            name.to_string(),
            json!({"count": items.len(), "non_null": !items.is_empty(), "items": items}),
        );
    }
    (cache_sizes, cache_json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uarch_and_bits() {
        assert_eq!(decode_uarch("GenuineIntel", 0x0003_0678), "silvermont");
        assert_eq!(decode_uarch("GenuineIntel", 0x0007_065A), "airmont");
        assert_eq!(decode_uarch("AuthenticAMD", 0x00B4_0F40), "zen5");
        assert_eq!(bit_length(1), 0);
        assert_eq!(bit_length(2), 1);
        assert_eq!(bit_length(16), 4);
        assert_eq!(bit_length(17), 5);
    }

    #[test]
    fn recorded_cpuid_rejects_garbage() {
        assert!(RecordedCpuid::parse("not json").is_none());
        assert!(RecordedCpuid::parse("[{\"input_eax\": 3}]").is_none());
    }
}
