#![no_main]
//! cpu-probe's readers of recorded machines with arbitrary file contents:
//!
//! * the parse functions directly (fast): CPU lists (`0-4294967295`, huge repeated ranges) with
//!   limits from the full u32 range, leading numbers, Android property files, recorded
//!   `cpuid.json`, chipset names (`Hardware`, `ro.*` properties), `Features` lines, brand strings;
//! * now and then the whole probe (`probe::probe`) on a temporary sysroot holding an arbitrary
//!   `/proc/cpuinfo`, sysfs CPU lists, topology and cache files, `android-properties.txt` and
//!   `cpuid.json`, as arm, arm64 and x86_64.
//!
//! Oracles: no panic; a parsed CPU list holds at most `limit` numbers, each below `limit`,
//! ascending and without repeats; the probe's report is internally consistent (at least one
//! processor, cores and clusters index what exists).

use arbitrary::{Arbitrary, Result, Unstructured};
use cpu_probe::arm::ArmMode;
use cpu_probe::probe::{self, ProbeArch, ProbeOptions};
use cpu_probe::sysroot::{self, Sysroot};
use libfuzzer_sys::fuzz_target;

#[path = "mix.rs"]
mod mix;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    let _ = if mode % 16 == 0 {
        whole_probe(&mut u)
    } else {
        parsers(&mut u)
    };
});

/// Text for a file: valid-looking lines built from pieces most of the time, raw bytes otherwise.
fn text(u: &mut Unstructured<'_>, pieces: &[&str]) -> Result<String> {
    if u8::arbitrary(u)? < 40 {
        let n = usize::from(u16::arbitrary(u)? % 512);
        let b = u.bytes(n.min(u.len()))?;
        return Ok(String::from_utf8_lossy(b).into_owned());
    }
    let mut s = String::new();
    for _ in 0..u8::arbitrary(u)? % 24 {
        match u8::arbitrary(u)? % 4 {
            0 => s.push_str(&mix::size(u, 16)?.to_string()),
            1 => s.push_str(&mix::int(u, 16)?.to_string()),
            2 => s.push_str(pieces[usize::from(u8::arbitrary(u)?) % pieces.len()]),
            _ => s.push(char::arbitrary(u)?),
        }
    }
    Ok(s)
}

/// A CPU list: ranges and numbers, with edges (`4294967295`, overflowing numbers, repeats).
fn cpulist(u: &mut Unstructured<'_>) -> Result<String> {
    if u8::arbitrary(u)? < 32 {
        return text(u, &["-", ",", " ", "\n", "0", "4294967295", "4294967296"]);
    }
    let mut s = String::new();
    let parts = 1 + usize::from(u8::arbitrary(u)? % 6);
    for i in 0..parts {
        if i > 0 {
            s.push(',');
        }
        let a = u32::try_from(mix::size(u, 8)?).unwrap_or(u32::MAX);
        if bool::arbitrary(u)? {
            let b = u32::try_from(mix::size(u, 16)?).unwrap_or(u32::MAX);
            s.push_str(&format!("{a}-{b}"));
        } else {
            s.push_str(&a.to_string());
        }
    }
    // Sometimes the same list many times over (a big file of overlapping full ranges).
    if u8::arbitrary(u)? >= 240 {
        let one = s.clone();
        for _ in 0..u16::arbitrary(u)? % 2000 {
            s.push(',');
            s.push_str(&one);
        }
    }
    if bool::arbitrary(u)? {
        s.push('\n');
    }
    Ok(s)
}

const CPUINFO: &[&str] = &[
    "processor\t: ",
    "\n",
    "Hardware\t: ",
    "Revision\t: ",
    "Features\t: ",
    "CPU implementer\t: 0x41\n",
    "CPU architecture: 8\n",
    "CPU architecture: 7\n",
    "CPU architecture: AArch64\n",
    "CPU variant\t: 0x",
    "CPU part\t: 0x",
    "CPU revision\t: ",
    "model name\t: ARMv7 Processor rev 4 (v7l)\n",
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp i8mm ",
    "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt ",
    "vendor_id\t: GenuineIntel\n",
    "flags\t\t: fpu sse sse2 avx avx2\n",
    "apicid\t\t: ",
    "I size\t\t: ",
    "D size\t\t: ",
    "I assoc\t\t: ",
    "D line length\t: ",
    "Qualcomm Technologies, Inc MSM8996pro",
    "MT6797",
    "Exynos 9810",
    "BCM2835",
    "sun50iw1p1",
    ": ",
    "0x",
];

const PROPS: &[&str] = &[
    "ro.product.board=",
    "ro.board.platform=",
    "ro.mediatek.platform=",
    "ro.arch=",
    "ro.chipname=",
    "ro.hardware.chipname=",
    "ro.soc.model=",
    "\n",
    "msm8998",
    "mt6771",
    "exynos5",
    "universal9810",
    "sdm845",
    "kirin970",
    "hi3660",
    "tegra",
    "rk3399",
    "sc9863a",
    "\\",
    "\\n",
    "=",
];

fn parsers(u: &mut Unstructured<'_>) -> Result<()> {
    // CPU lists with a limit from the full u32 range.
    let list = cpulist(u)?;
    let limit = match u8::arbitrary(u)? {
        0..=199 => u32::from(u16::arbitrary(u)? % 2048),
        200..=229 => {
            [0, 1, 1024, 65_536, u32::MAX - 1, u32::MAX][usize::from(u8::arbitrary(u)? % 6)]
        }
        _ => u32::arbitrary(u)?,
    };
    if let Some(v) = sysroot::parse_cpulist(&list, limit) {
        assert!(
            v.len() <= limit as usize,
            "{} CPUs from {list:?} with limit {limit}",
            v.len()
        );
        assert!(
            v.iter().all(|&c| c < limit),
            "a CPU at or above {limit} from {list:?}"
        );
        assert!(
            v.windows(2).all(|w| w[0] < w[1]),
            "CPU list {list:?} not ascending and unique: {v:?}"
        );
    }
    let _ = sysroot::parse_leading_u32(&text(
        u,
        &["0", "4294967295", "4294967296", " ", "\n", "K", "M"],
    )?);
    let _ = sysroot::parse_properties(&text(u, PROPS)?);

    // Recorded CPUID: mostly JSON-shaped.
    let json = if bool::arbitrary(u)? {
        let mut s = String::from("[");
        for i in 0..u8::arbitrary(u)? % 8 {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "{{\"input_eax\":\"0x{:x}\",\"input_ecx\":\"0x{:x}\",\"eax\":\"0x{:x}\",\"ebx\":\"0x{:x}\",\"ecx\":\"0x{:x}\",\"edx\":\"0x{:x}\"}}",
                [0u32, 1, 4, 7, 0xb, 0x8000_0000, 0x8000_0001, 0x8000_001d][usize::from(u8::arbitrary(u)? % 8)],
                u8::arbitrary(u)? % 4,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?
            ));
        }
        s.push(']');
        s
    } else {
        text(
            u,
            &[
                "[",
                "]",
                "{",
                "}",
                "\"input_eax\":",
                "\"0x1\"",
                ",",
                "\"eax\":\"0xffffffff\"",
            ],
        )?
    };
    let _ = cpu_probe::x86_linux::RecordedCpuid::parse(&json);

    // Chipset decoders.
    let s = text(u, PROPS)?;
    let cores = u32::try_from(mix::size(u, 16)?).unwrap_or(u32::MAX);
    let freq = u32::arbitrary(u)?;
    let arch32 = bool::arbitrary(u)?;
    use cpu_probe::chipset as c;
    let tegra = bool::arbitrary(u)?;
    for source in [
        c::Source::ProcCpuinfoHardware { tegra },
        c::Source::RoProductBoard,
        c::Source::RoBoardPlatform,
        c::Source::RoMediatekPlatform,
        c::Source::RoArch,
        c::Source::RoChipname,
        c::Source::RoSocModel,
    ] {
        let _ = c::parse(source, &s, cores, freq, arch32);
    }
    let rev = text(u, &["a02082", "0x", "1000"])?;
    let _ = c::decode_linux(&s, &rev, cores, freq, arch32);
    let props = sysroot::parse_properties(&text(u, PROPS)?);
    let ap =
        c::AndroidProperties::from_pairs(&s, props.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let ch = c::decode_android(&ap, cores, freq, arch32);
    let _ = c::chipset_name(ch.as_ref());

    let mode = if arch32 { ArmMode::Arm } else { ArmMode::Arm64 };
    let _ = cpu_probe::arm::hwcaps_from_feature_names(&text(u, CPUINFO)?, mode);
    let raw = u.bytes(48.min(u.len()))?.to_vec();
    let norm = cpu_probe::brand::normalize_brand_string(&raw);
    let _ = cpu_probe::brand::format_package_name(cpu_probe::brand::x86_vendor_name(&raw), &norm);
    Ok(())
}

fn whole_probe(u: &mut Unstructured<'_>) -> Result<()> {
    use std::sync::OnceLock;
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        std::env::temp_dir().join(format!("edge-kernels-fuzz-sysroot-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(dir);
    let cpu = dir.join("sys/devices/system/cpu");
    std::fs::create_dir_all(&cpu).expect("temp sysroot");
    let put = |rel: &str, s: &str| {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(p, s).expect("write temp sysroot file");
    };
    if u8::arbitrary(u)? < 230 {
        put("proc/cpuinfo", &text(u, CPUINFO)?);
    }
    for f in ["possible", "present"] {
        if u8::arbitrary(u)? < 200 {
            put(&format!("sys/devices/system/cpu/{f}"), &cpulist(u)?);
        }
    }
    if bool::arbitrary(u)? {
        put(
            "sys/devices/system/cpu/kernel_max",
            &text(u, &["0", "7", "1023", "4294967295", "\n"])?,
        );
    }
    // Per-CPU files for a few CPU numbers.
    for _ in 0..u8::arbitrary(u)? % 8 {
        let i = mix::size(u, 9)?.min(5000);
        let base = format!("sys/devices/system/cpu/cpu{i}");
        match u8::arbitrary(u)? % 8 {
            0 => put(&format!("{base}/topology/cluster_cpus_list"), &cpulist(u)?),
            1 => put(&format!("{base}/topology/core_siblings_list"), &cpulist(u)?),
            2 => put(
                &format!("{base}/topology/physical_package_id"),
                &mix::size(u, 3)?.to_string(),
            ),
            3 => put(
                &format!("{base}/cpufreq/cpuinfo_max_freq"),
                &mix::size(u, 3_000_000)?.to_string(),
            ),
            4 => put(
                &format!("{base}/cpufreq/cpuinfo_min_freq"),
                &mix::size(u, 3_000_000)?.to_string(),
            ),
            5 => {
                put(&format!("{base}/cache/index2/level"), "2\n");
                put(
                    &format!("{base}/cache/index2/size"),
                    &text(u, &["512K", "1M", "4294967295K", "0", "M"])?,
                );
            }
            6 => put(
                &format!("{base}/cache/index2/shared_cpu_list"),
                &cpulist(u)?,
            ),
            _ => put(&format!("{base}/topology/physical_package_id"), "0\n"),
        }
    }
    if u8::arbitrary(u)? < 64 {
        put("android-properties.txt", &text(u, PROPS)?);
    }
    let arch =
        [ProbeArch::Arm, ProbeArch::Arm64, ProbeArch::X86_64][usize::from(u8::arbitrary(u)? % 3)];
    if arch == ProbeArch::X86_64 && u8::arbitrary(u)? < 200 {
        // A minimal valid recording, so the x86 path does not read the live CPU.
        put(
            "cpuid.json",
            &format!(
                "[{{\"input_eax\":\"0x0\",\"input_ecx\":\"0x0\",\"eax\":\"0x{:x}\",\"ebx\":\"0x756e6547\",\"ecx\":\"0x6c65746e\",\"edx\":\"0x49656e69\"}},{{\"input_eax\":\"0x1\",\"input_ecx\":\"0x0\",\"eax\":\"0x{:x}\",\"ebx\":\"0x{:x}\",\"ecx\":\"0x{:x}\",\"edx\":\"0x{:x}\"}},{{\"input_eax\":\"0x4\",\"input_ecx\":\"0x0\",\"eax\":\"0x{:x}\",\"ebx\":\"0x{:x}\",\"ecx\":\"0x{:x}\",\"edx\":\"0x0\"}},{{\"input_eax\":\"0xb\",\"input_ecx\":\"0x0\",\"eax\":\"0x{:x}\",\"ebx\":\"0x{:x}\",\"ecx\":\"0x{:x}\",\"edx\":\"0x0\"}}]",
                u8::arbitrary(u)? % 0x20,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
                u32::arbitrary(u)?,
            ),
        );
    }
    let mut opts = ProbeOptions::new(Sysroot::new(dir), arch);
    if bool::arbitrary(u)? {
        opts.hwcap = Some((u64::arbitrary(u)?, u64::arbitrary(u)?));
    }
    let r = probe::probe(&opts);
    let _ = r.report_text();
    let _ = r.summary_json();
    let _ = probe::infer_arch(&opts.sysroot);
    assert!(r.recommended_threads() >= 1, "recommended threads 0");
    for p in &r.processors {
        assert!(
            p.core < r.cores.len(),
            "processor {p:?} of {} cores",
            r.cores.len()
        );
        assert!(
            p.cluster < r.clusters.len(),
            "processor {p:?} of {} clusters",
            r.clusters.len()
        );
    }
    Ok(())
}
