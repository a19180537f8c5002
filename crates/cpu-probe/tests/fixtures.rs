//! The probe on recorded real devices (`../shared/fixtures/cpuinfo`, from cpuinfo's mock tests):
//! every asserted fact of every device and architecture view must match.

use cpu_probe::probe::{probe, ProbeArch, ProbeOptions};
use cpu_probe::sysroot::Sysroot;
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/cpuinfo");
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} not found (the shared fixtures are not on this machine)",
            dir.display()
        );
        None
    }
}

fn hex(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Compares `expected` (only the keys it asserts) with `actual`; pushes `path: expected != actual`.
fn compare(
    path: &str,
    expected: &Value,
    actual: &Value,
    facts: &mut usize,
    fails: &mut Vec<String>,
) {
    match expected {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "index" {
                    continue;
                }
                let a = actual.get(k).unwrap_or(&Value::Null);
                compare(&format!("{path}.{k}"), v, a, facts, fails);
            }
        }
        Value::Array(items) if path.ends_with(".items") => {
            for (i, v) in items.iter().enumerate() {
                let idx = v.get("index").and_then(Value::as_u64).unwrap_or(i as u64) as usize;
                let a = actual
                    .as_array()
                    .and_then(|a| a.get(idx))
                    .unwrap_or(&Value::Null);
                compare(&format!("{path}[{idx}]"), v, a, facts, fails);
            }
        }
        e => {
            *facts += 1;
            if e != actual {
                fails.push(format!("{path}: expected {e}, got {actual}"));
            }
        }
    }
}

#[test]
fn recorded_devices() {
    let Some(dir) = fixtures() else { return };
    let mut devices: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    devices.sort();
    let (mut total_facts, mut total_fails) = (0usize, 0usize);
    let (mut stale_facts, mut stale_fails) = (0usize, 0usize);
    let mut report = Vec::new();
    for dev in &devices {
        let name = dev.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dev.join("expected.json")).unwrap())
                .unwrap();
        for arch in exp["arches"].as_array().unwrap() {
            let arch = arch.as_str().unwrap();
            let parch = match arch {
                "arm" => ProbeArch::Arm,
                "arm64" => ProbeArch::Arm64,
                // x86 recordings are judged by the x86 probe below (recorded CPUID).
                "x86_64" => ProbeArch::X86_64,
                _ => continue,
            };
            let layers = exp["fs_layers"][arch]
                .as_array()
                .map(|l| l.iter().map(|p| dev.join(p.as_str().unwrap())).collect())
                .unwrap_or_else(|| vec![dev.clone()]);
            let mut opts = ProbeOptions::new(Sysroot::with_layers(layers), parch);
            let hw = &exp["inputs"]["hwcap"][arch];
            if let Some(h) = hex(&hw["hwcap"]) {
                opts.hwcap = Some((h, hex(&hw["hwcap2"]).unwrap_or(0)));
            }
            let rep = probe(&opts);
            let (mut facts, mut fails) = (0usize, Vec::new());
            let expected = &exp["expected"][arch];
            if expected.is_null() {
                continue;
            }
            compare(arch, expected, &rep.cpuinfo, &mut facts, &mut fails);
            // A recording whose expectations cpuinfo itself never builds or checks (`scaleway`:
            // `built_by_cpuinfo: false`, written for a retired API, and asserting 2 processors
            // where every file of the recording lists 6) is scored but cannot fail the test.
            if exp["built_by_cpuinfo"] == Value::Bool(false) {
                stale_facts += facts;
                stale_fails += fails.len();
            } else {
                total_facts += facts;
                total_fails += fails.len();
            }
            report.push(format!(
                "{name:24} {arch:7} {:4}/{facts:4} facts{}",
                facts - fails.len(),
                if fails.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  FAIL: {}",
                        fails.iter().take(6).cloned().collect::<Vec<_>>().join("; ")
                    )
                }
            ));
        }
    }
    for r in &report {
        eprintln!("{r}");
    }
    eprintln!(
        "total: {} of {} asserted facts match over {} devices",
        total_facts - total_fails,
        total_facts,
        devices.len()
    );
    eprintln!(
        "unverified (not built by cpuinfo): {} of {} facts match",
        stale_facts - stale_fails,
        stale_facts
    );
    assert_eq!(
        total_fails, 0,
        "{total_fails} facts differ (see the per-device lines above)"
    );
}

/// The dispatch features of the 32-bit view of every recording with one (what
/// `kbench probe --sysroot <dir> --hwcap <v>` prints): NEON, VFPv4, integer divide and the ARMv8
/// AArch32 bits agree with cpuinfo's ISA flags for the same `AT_HWCAP`/`AT_HWCAP2` wherever the
/// expectations assert them. (cpuinfo also infers extensions from the MIDR, e.g. huawei-mate-20's
/// dot product, which its hwcap lacks; the dispatch features claim only what the kernel reports, so
/// the dot product is compared one way: never claimed where cpuinfo denies it.)
#[test]
fn recorded_32bit_dispatch_features() {
    let Some(dir) = fixtures() else { return };
    let mut devices: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    devices.sort();
    let (mut checked, mut with_neon) = (0usize, 0usize);
    let mut fails = Vec::new();
    for dev in &devices {
        let name = dev.file_name().unwrap().to_string_lossy().to_string();
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dev.join("expected.json")).unwrap())
                .unwrap();
        if !exp["arches"].as_array().unwrap().iter().any(|a| a == "arm") {
            continue;
        }
        let layers = exp["fs_layers"]["arm"]
            .as_array()
            .map(|l| l.iter().map(|p| dev.join(p.as_str().unwrap())).collect())
            .unwrap_or_else(|| vec![dev.clone()]);
        let mut opts = ProbeOptions::new(Sysroot::with_layers(layers), ProbeArch::Arm);
        let hw = &exp["inputs"]["hwcap"]["arm"];
        let Some(h) = hex(&hw["hwcap"]) else { continue };
        opts.hwcap = Some((h, hex(&hw["hwcap2"]).unwrap_or(0)));
        let rep = probe(&opts);
        let Some(f) = rep.features else {
            fails.push(format!(
                "{name}: no dispatch features although AT_HWCAP was given"
            ));
            continue;
        };
        let isa = &exp["expected"]["arm"]["isa"];
        let pairs = [
            ("arm_neon", f.neon),
            ("arm_neon_fma", f.neon && f.vfpv4),
            ("arm_idiv", f.idiv),
            ("arm_aes", f.aes),
            ("arm_pmull", f.pmull),
            ("arm_sha1", f.sha1),
            ("arm_sha2", f.sha2),
            ("arm_crc32", f.crc32),
        ];
        for (key, ours) in pairs {
            if let Some(want) = isa[key].as_bool() {
                checked += 1;
                if want != ours {
                    fails.push(format!(
                        "{name}: {key} expected {want}, dispatch has {ours}"
                    ));
                }
            }
        }
        if isa["arm_neon_dot"] == Value::Bool(false) && f.neon_dot {
            fails.push(format!(
                "{name}: dot product claimed where cpuinfo denies it"
            ));
        }
        with_neon += usize::from(f.neon);
        eprintln!(
            "{name:24} arm dispatch features: {}",
            f.enabled_names().join(" ")
        );
    }
    eprintln!("{checked} asserted facts compared; {with_neon} recordings report NEON");
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn live_probe_matches_this_machine() {
    let rep = probe(&ProbeOptions::live());
    eprintln!("{}", rep.report_text());
    assert!(!rep.processors.is_empty());
    assert!(rep.recommended_threads() >= 1);
    // On ARM the report's dispatch features come from the same auxiliary vector as the live ones.
    #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
    {
        let f = rep.features.expect("live AT_HWCAP");
        let live = cpu_probe::Features::detect_uncapped();
        assert_eq!(f.neon, live.neon);
        #[cfg(target_arch = "arm")]
        assert_eq!(f, live);
    }
    #[cfg(target_arch = "x86_64")]
    {
        // Each ISA flag the probe reports must agree with the standard library's detection.
        let isa = |k: &str| rep.isa.get(k).copied().unwrap_or(false);
        assert_eq!(isa("x86_avx2"), std::arch::is_x86_feature_detected!("avx2"));
        assert_eq!(isa("x86_fma3"), std::arch::is_x86_feature_detected!("fma"));
        assert_eq!(
            isa("x86_avx512f"),
            std::arch::is_x86_feature_detected!("avx512f")
        );
        assert_eq!(
            isa("x86_avx512vnni"),
            std::arch::is_x86_feature_detected!("avx512vnni")
        );
        // Cores and caches as the kernel's sysfs describes them (what lscpu prints).
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online").ok();
        if let Some(list) = online
            .as_deref()
            .and_then(|t| cpu_probe::sysroot::parse_cpulist(t, 4096))
        {
            assert_eq!(
                rep.processors.len(),
                list.len(),
                "processors vs /sys/devices/system/cpu/online"
            );
        }
        for (idx, level) in [(0usize, "l1d"), (2, "l2"), (3, "l3")] {
            let sysfs = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache")
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .find_map(|e| {
                    let lvl = std::fs::read_to_string(e.path().join("level")).ok()?;
                    let ty = std::fs::read_to_string(e.path().join("type")).ok()?;
                    let want = match level {
                        "l1d" => lvl.trim() == "1" && ty.trim() == "Data",
                        "l2" => lvl.trim() == "2",
                        _ => lvl.trim() == "3",
                    };
                    if !want {
                        return None;
                    }
                    let sz = std::fs::read_to_string(e.path().join("size")).ok()?;
                    let sz = sz.trim();
                    let n: u64 = sz.trim_end_matches(['K', 'M']).parse().ok()?;
                    Some(if sz.ends_with('M') { n << 20 } else { n << 10 })
                });
            let _ = idx;
            if let Some(bytes) = sysfs {
                let ours = rep
                    .caches
                    .get(level)
                    .and_then(|v| v.first())
                    .copied()
                    .unwrap_or(0);
                assert_eq!(ours, bytes, "{level}: CPUID vs sysfs");
            }
        }
    }
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    fn write(root: &std::path::Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Arbitrary bytes in every file the probe reads: no panic, for every view.
        #[test]
        fn arbitrary_files(
            cpuinfo in proptest::collection::vec(any::<u8>(), 0..600),
            cpuinfo_text in "(processor\t: [0-9]{1,2}\n|CPU part\t: 0x[0-9a-f]{1,4}\n|CPU implementer\t: 0x[0-9a-f]{1,2}\n|CPU variant\t: 0x[0-9a-f]\n|CPU revision\t: [0-9]{1,2}\n|CPU architecture: [0-9A-Za-z]{1,7}\n|Features\t: [a-z ]{0,40}\n|Hardware\t: [A-Za-z0-9 ]{0,20}\n|apicid\t: [0-9]{1,3}\n|\n){0,40}",
            possible in "[0-9,\\-]{0,8}",
            present in "[0-9,\\-]{0,8}",
            freq in proptest::collection::vec(any::<u8>(), 0..12),
            siblings in "[0-9,\\-]{0,8}",
            kernel_max in "[0-9]{0,4}",
            props in "(ro\\.[a-z.]{1,20}=[A-Za-z0-9]{0,10}\n){0,6}",
            cpuid in proptest::collection::vec(any::<u8>(), 0..200),
            use_text in any::<bool>(),
        ) {
            let dir = std::env::temp_dir().join(format!("cpu-probe-fuzz-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let c: &[u8] = if use_text { cpuinfo_text.as_bytes() } else { &cpuinfo };
            write(&dir, "proc/cpuinfo", c);
            write(&dir, "sys/devices/system/cpu/possible", possible.as_bytes());
            write(&dir, "sys/devices/system/cpu/present", present.as_bytes());
            write(&dir, "sys/devices/system/cpu/kernel_max", kernel_max.as_bytes());
            for cpu in 0..3 {
                write(&dir, &format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/cpuinfo_max_freq"), &freq);
                write(&dir, &format!("sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id"), b"0");
                write(&dir, &format!("sys/devices/system/cpu/cpu{cpu}/topology/core_siblings_list"), siblings.as_bytes());
                write(&dir, &format!("sys/devices/system/cpu/cpu{cpu}/cache/index2/level"), b"2");
                write(&dir, &format!("sys/devices/system/cpu/cpu{cpu}/cache/index2/size"), &freq);
            }
            write(&dir, "android-properties.txt", props.as_bytes());
            write(&dir, "cpuid.json", &cpuid);
            for arch in [ProbeArch::Arm, ProbeArch::Arm64, ProbeArch::X86_64] {
                let mut o = ProbeOptions::new(Sysroot::new(&dir), arch);
                o.hwcap = Some((u64::MAX, u64::MAX));
                let r = probe(&o);
                let _ = r.summary_json();
                let _ = r.report_text();
                let r = probe(&ProbeOptions::new(Sysroot::new(&dir), arch));
                let _ = r.summary_json();
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
