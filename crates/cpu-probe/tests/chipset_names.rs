//! Chipset-name decoding and brand-string normalisation against cpuinfo's recorded cases
//! (`<workspace>/../shared/fixtures/cpuinfo`, skipped with a message when absent).

use cpu_probe::brand::{format_package_name, normalize_brand_string, x86_vendor_name};
use cpu_probe::chipset::{self, chipset_name, AndroidProperties, Chipset, Source};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/cpuinfo");
    if dir.join("chipset-names.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: cpuinfo fixtures not found at {} (they are data outside the repository)",
            dir.display()
        );
        None
    }
}

fn name(c: Option<Chipset>) -> String {
    c.map(|c| c.to_string()).unwrap_or_default()
}

fn arg_str<'a>(args: &'a Value, k: &str) -> &'a str {
    args[k].as_str().unwrap_or_default()
}

fn arg_u32(args: &Value, k: &str, default: u32) -> u32 {
    args[k]
        .as_u64()
        .map_or(default, |v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// The brand-string test inputs are JSON strings of code points 0..=255 (with `\u0000`).
fn latin1_bytes(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// The single-source parser a cpuinfo test function names, and the argument holding its string.
fn source_of(function: &str) -> Option<(Source, &'static str)> {
    Some(match function {
        "parse_proc_cpuinfo_hardware" => (Source::ProcCpuinfoHardware { tegra: false }, "hardware"),
        "parse_proc_cpuinfo_hardware_tegra" => {
            (Source::ProcCpuinfoHardware { tegra: true }, "hardware")
        }
        "parse_ro_product_board" => (Source::RoProductBoard, "board"),
        "parse_ro_board_platform" => (Source::RoBoardPlatform, "platform"),
        "parse_ro_mediatek_platform" => (Source::RoMediatekPlatform, "platform"),
        "parse_ro_arch" => (Source::RoArch, "arch"),
        "parse_ro_chipname" => (Source::RoChipname, "chipname"),
        _ => return None,
    })
}

/// Runs one case for the given ARM flavour (`arch32`); brand strings ignore it.
fn run_case(function: &str, args: &Value, arch32: bool) -> Option<String> {
    let cores = arg_u32(args, "cores", 1);
    let freq = arg_u32(args, "max_cpu_freq_max", 0);
    if let Some((source, arg)) = source_of(function) {
        return Some(name(chipset::parse(
            source,
            arg_str(args, arg),
            cores,
            freq,
            arch32,
        )));
    }
    Some(match function {
        "parse_chipset" => {
            let props = AndroidProperties {
                proc_cpuinfo_hardware: arg_str(args, "hardware").to_string(),
                ro_product_board: arg_str(args, "product_board").to_string(),
                ro_board_platform: arg_str(args, "board_platform").to_string(),
                ro_mediatek_platform: arg_str(args, "mediatek_platform").to_string(),
                ro_arch: arg_str(args, "arch").to_string(),
                ro_chipname: arg_str(args, "chipname").to_string(),
                ..Default::default()
            };
            name(chipset::decode_android(&props, cores, freq, arch32))
        }
        "normalize_brand_string" => normalize_brand_string(&latin1_bytes(arg_str(args, "name"))),
        _ => return None,
    })
}

#[test]
fn cpuinfo_name_cases() {
    let Some(dir) = fixture_dir() else { return };
    let text = std::fs::read_to_string(dir.join("chipset-names.json")).expect("read json");
    let json: Value = serde_json::from_str(&text).expect("parse json");
    let cases = json["cases"].as_array().expect("cases array");
    // function -> (passed, total)
    let mut score: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let function = case["function"].as_str().unwrap_or_default();
        let args = &case["args"];
        let expected = case["expected"].as_str().unwrap_or_default();
        let arches: Vec<&str> = case["arches"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Every case runs once per architecture cpuinfo runs it on (x86 cases: once).
        let mut flavours: Vec<(&str, bool)> = Vec::new();
        for a in &arches {
            match *a {
                "arm" => flavours.push(("arm", true)),
                "arm64" => flavours.push(("arm64", false)),
                _ => {}
            }
        }
        if flavours.is_empty() {
            flavours.push(("x86", false));
        }
        let mut ok = true;
        for (arch, arch32) in flavours {
            match run_case(function, args, arch32) {
                Some(got) if got == expected => {}
                Some(got) => {
                    ok = false;
                    failures.push(format!(
                        "{function} [{arch}] {args}: expected {expected:?}, got {got:?}"
                    ));
                }
                None => {
                    ok = false;
                    failures.push(format!("unknown function {function}"));
                }
            }
        }
        let e = score.entry(function.to_string()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        }
    }
    let (mut pass, mut total) = (0, 0);
    for (f, (p, t)) in &score {
        println!("{f:<36} {p:>4}/{t:<4}");
        pass += p;
        total += t;
    }
    println!("{:<36} {pass:>4}/{total:<4}", "all");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(total, cases.len());
}

/// A recorded file of a device for an arch: the first of its `fs_layers` folders holding it.
fn device_file(dev: &Path, layers: &[String], rel: &str) -> Option<String> {
    layers
        .iter()
        .map(|l| dev.join(l).join(rel))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
}

/// Values of `/proc/cpuinfo` keys as cpuinfo reads them (key trimmed of trailing blanks, value
/// trimmed of spaces); the last occurrence wins.
fn proc_cpuinfo_value(text: &str, key: &str) -> Option<String> {
    let mut v = None;
    for line in text.lines() {
        if let Some((k, val)) = line.split_once(':') {
            if k.trim_end_matches([' ', '\t']) == key {
                let val = val.trim_matches(' ');
                if !val.is_empty() {
                    v = Some(val.to_string());
                }
            }
        }
    }
    v
}

/// Parses a Linux CPU list such as `0-3,6`.
fn cpu_list(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.trim().parse::<u32>().ok()),
        }
    }
    out
}

/// The core count given to the decoder: processors in both the `possible` and `present` lists
/// (where recorded) below the kernel's maximum; the processors listed in `/proc/cpuinfo` when
/// neither list is recorded.
///
/// This is how cpuinfo counted when its device expectations were written (and what the kernel
/// says exists). Since 2023 (pytorch/cpuinfo#197) cpuinfo only counts processors that are also
/// listed in `/proc/cpuinfo`, i.e. online at the time of reading; with that count padcod-10.1
/// (`sun8i`, 1 of 4 cores online) decodes as "Allwinner A" instead of its expected
/// "Allwinner A33".
fn kernel_processors(dev: &Path, layers: &[String], cpuinfo: &str) -> u32 {
    let sys = "sys/devices/system/cpu";
    let possible = device_file(dev, layers, &format!("{sys}/possible")).map(|s| cpu_list(&s));
    let present = device_file(dev, layers, &format!("{sys}/present")).map(|s| cpu_list(&s));
    let kernel_max = device_file(dev, layers, &format!("{sys}/kernel_max"))
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map_or(u32::MAX, |m| m.saturating_add(1));
    let listed = || {
        let mut l: Vec<u32> = cpuinfo
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim_end_matches([' ', '\t']) == "processor")
            .filter_map(|(_, v)| v.trim().parse::<u32>().ok())
            .collect();
        l.sort_unstable();
        l.dedup();
        l.len() as u32
    };
    let candidates: Vec<u32> = match (&possible, &present) {
        (None, None) => return listed(),
        (Some(a), None) | (None, Some(a)) => a.clone(),
        (Some(a), Some(b)) => a.iter().copied().filter(|p| b.contains(p)).collect(),
    };
    candidates.iter().filter(|&&p| p < kernel_max).count() as u32
}

/// The highest `cpuinfo_max_freq` (kHz) over the recorded CPUs, 0 when none is recorded.
fn max_cpu_freq_max(dev: &Path, layers: &[String]) -> u32 {
    (0..64)
        .filter_map(|i| {
            device_file(
                dev,
                layers,
                &format!("sys/devices/system/cpu/cpu{i}/cpufreq/cpuinfo_max_freq"),
            )
        })
        .filter_map(|s| s.trim().parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// `android-properties.txt`: `key=value` lines, `\n` and `\\` escaped in values.
fn android_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let mut out = String::with_capacity(v.len());
            let mut it = v.chars();
            while let Some(c) = it.next() {
                if c == '\\' {
                    match it.next() {
                        Some('n') => out.push('\n'),
                        Some('\\') => out.push('\\'),
                        Some(o) => {
                            out.push('\\');
                            out.push(o);
                        }
                        None => out.push('\\'),
                    }
                } else {
                    out.push(c);
                }
            }
            (k.to_string(), out)
        })
        .collect()
}

#[test]
fn device_chipset_names() {
    let Some(dir) = fixture_dir() else { return };
    let mut devices: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    devices.sort();
    let (mut pass, mut total) = (0, 0);
    let mut failures = Vec::new();
    for dev in &devices {
        let text = std::fs::read_to_string(dev.join("expected.json")).expect("expected.json");
        let exp: Value = serde_json::from_str(&text).expect("parse expected.json");
        let os = exp["os"].as_str().unwrap_or_default();
        let arches: Vec<&str> = exp["arches"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !matches!(os, "android" | "linux") || arches.iter().any(|a| a.starts_with("x86")) {
            continue;
        }
        let dev_name = dev.file_name().map(|n| n.to_string_lossy().to_string());
        let dev_name = dev_name.unwrap_or_default();
        for arch in arches {
            // The primary arch's name is the summary's; other arches' come from `expected`.
            let expected = exp["expected"][arch]["packages"]["items"][0]["name"]
                .as_str()
                .or_else(|| {
                    (exp["primary_arch"].as_str() == Some(arch))
                        .then(|| exp["summary"]["chipset"].as_str())
                        .flatten()
                });
            let Some(expected) = expected else {
                println!("{dev_name} [{arch}]: no chipset name asserted, skipped");
                continue;
            };
            let layers: Vec<String> = exp["fs_layers"][arch]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_else(|| vec![".".to_string()]);
            let cpuinfo = device_file(dev, &layers, "proc/cpuinfo").unwrap_or_default();
            let hardware = proc_cpuinfo_value(&cpuinfo, "Hardware").unwrap_or_default();
            let revision = proc_cpuinfo_value(&cpuinfo, "Revision").unwrap_or_default();
            let cores = kernel_processors(dev, &layers, &cpuinfo);
            let freq = max_cpu_freq_max(dev, &layers);
            let arch32 = arch == "arm";
            // cpuinfo itself passes 0 for the frequency; the recorded maximum must give the
            // same name on these devices.
            let mut got = Vec::new();
            for f in [0, freq] {
                let c = if os == "android" {
                    let props = std::fs::read_to_string(dev.join("android-properties.txt"))
                        .map(|t| android_properties(&t))
                        .unwrap_or_default();
                    let p = AndroidProperties::from_pairs(
                        &hardware,
                        props.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    );
                    chipset::decode_android(&p, cores, f, arch32)
                } else {
                    chipset::decode_linux(&hardware, &revision, cores, f, arch32)
                };
                got.push(chipset_name(c.as_ref()));
            }
            total += 1;
            println!(
                "{dev_name:<22} [{arch:<5}] cores {cores:>2} fmax {freq:>7}: {:<28} expected {expected}",
                got[0]
            );
            if got.iter().all(|g| g == expected) {
                pass += 1;
            } else {
                failures.push(format!(
                    "{dev_name} [{arch}] hardware {hardware:?}: got {got:?}, expected {expected:?}"
                ));
            }
        }
    }
    println!("device chipset names: {pass}/{total}");
    assert!(total > 0 || devices.is_empty());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Registers of one recorded CPUID leaf (`[eax, ebx, ecx, edx]`).
fn cpuid_leaf(cpuid: &Value, leaf: u32) -> Option<[u32; 4]> {
    let hex = |v: &Value| u32::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok();
    let e = cpuid
        .as_array()?
        .iter()
        .find(|e| hex(&e["input_eax"]) == Some(leaf) && hex(&e["input_ecx"]).unwrap_or(0) == 0)?;
    Some([
        hex(&e["eax"])?,
        hex(&e["ebx"])?,
        hex(&e["ecx"])?,
        hex(&e["edx"])?,
    ])
}

/// x86 devices: the package name from the recorded CPUID vendor id and brand string.
#[test]
fn x86_device_package_names() {
    let Some(dir) = fixture_dir() else { return };
    let mut devices: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("cpuid.json").is_file() && p.join("expected.json").is_file())
        .collect();
    devices.sort();
    let (mut pass, mut total) = (0, 0);
    let mut failures = Vec::new();
    for dev in &devices {
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(dev.join("expected.json")).unwrap())
                .expect("parse expected.json");
        let cpuid: Value =
            serde_json::from_str(&std::fs::read_to_string(dev.join("cpuid.json")).unwrap())
                .expect("parse cpuid.json");
        let arch = exp["primary_arch"].as_str().unwrap_or("x86_64");
        let dev_name = dev.file_name().map(|n| n.to_string_lossy().to_string());
        let dev_name = dev_name.unwrap_or_default();
        let Some(expected) = exp["expected"][arch]["packages"]["items"][0]["name"].as_str() else {
            println!("{dev_name}: no package name asserted, skipped");
            continue;
        };
        let Some(l0) = cpuid_leaf(&cpuid, 0) else {
            failures.push(format!("{dev_name}: no CPUID leaf 0"));
            continue;
        };
        let mut vendor_id = Vec::with_capacity(12);
        for r in [l0[1], l0[3], l0[2]] {
            vendor_id.extend_from_slice(&r.to_le_bytes());
        }
        let max_ext = cpuid_leaf(&cpuid, 0x8000_0000).map_or(0, |r| r[0]);
        let mut raw = Vec::with_capacity(48);
        if max_ext >= 0x8000_0004 {
            for leaf in 0x8000_0002..=0x8000_0004u32 {
                for r in cpuid_leaf(&cpuid, leaf).unwrap_or_default() {
                    raw.extend_from_slice(&r.to_le_bytes());
                }
            }
        }
        let got = format_package_name(x86_vendor_name(&vendor_id), &normalize_brand_string(&raw));
        total += 1;
        println!("{dev_name:<22} {got:<28} expected {expected}");
        if got == expected {
            pass += 1;
        } else {
            failures.push(format!("{dev_name}: got {got:?}, expected {expected:?}"));
        }
    }
    println!("x86 package names: {pass}/{total}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every single-source parser.
const ALL_SOURCES: [Source; 8] = [
    Source::ProcCpuinfoHardware { tegra: false },
    Source::ProcCpuinfoHardware { tegra: true },
    Source::RoProductBoard,
    Source::RoBoardPlatform,
    Source::RoMediatekPlatform,
    Source::RoArch,
    Source::RoChipname,
    Source::RoSocModel,
];

proptest! {
    #[test]
    fn decoders_never_panic(s in ".{0,120}", cores in 0u32..16, freq in 0u32..3_000_000, arch32: bool) {
        for source in ALL_SOURCES {
            let _ = chipset::parse(source, &s, cores, freq, arch32);
        }
        let p = AndroidProperties {
            proc_cpuinfo_hardware: s.clone(),
            ro_product_board: s.clone(),
            ro_board_platform: s.clone(),
            ro_mediatek_platform: s.clone(),
            ro_arch: s.clone(),
            ro_chipname: s.clone(),
            ro_hardware_chipname: s.clone(),
            ro_soc_model: s.clone(),
        };
        if let Some(c) = chipset::decode_android(&p, cores, freq, arch32) {
            prop_assert!(!c.to_string().is_empty());
        }
        let _ = chipset::decode_linux(&s, &s, cores, freq, arch32);
    }

    #[test]
    fn signature_like_strings_never_panic(
        prefix in prop::sample::select(vec![
            "MSM", "APQ", "SDM", "SM", "MT", "MTK", "Kirin", "kirin ", "rk", "sc", "sp", "scx",
            "sun", "PXA", "BCM", "OMAP", "tcc", "WMT", "lc", "SMDK", "universal", "exynos",
            "Samsung Exynos", "Unisoc T", "Unisoc UMS", "s5e", "Tensor", "GS201", "hawaii",
            "FRD-", "tegra",
        ]),
        tail in "[0-9A-Za-z /x-]{0,10}",
        cores in 0u32..16,
        arch32: bool,
    ) {
        let s = format!("{prefix}{tail}");
        for source in ALL_SOURCES {
            let _ = chipset::parse(source, &s, cores, 0, arch32);
        }
        let _ = chipset::decode_linux(&s, &tail, cores, 0, arch32);
    }

    #[test]
    fn brand_strings_never_panic(raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let out = normalize_brand_string(&raw);
        prop_assert!(out.chars().count() < 48);
    }

    #[test]
    fn brand_token_soup_never_panics(
        words in prop::collection::vec(prop::sample::select(vec![
            "Intel", "AMD", "AMD-K6tm", "CPU", "@", "3.20GHz", "X", "990", "Dual", "Core",
            "model", "unknown", "Eng", "Sample,", "Engineering", "Sample", "Mobile", "(R)",
            "(TM", ")", "0000", "w/", "V2", "Six-Core", "-", "Geode", "\t", "\0", "Q", "12345",
        ]), 0..16),
    ) {
        let s = words.join(" ");
        let out = normalize_brand_string(s.as_bytes());
        prop_assert!(out.len() < 48);
    }
}
