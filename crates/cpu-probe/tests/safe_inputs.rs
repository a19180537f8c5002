//! Regression tests for the sysroot readers (issue 17, "Safe inputs"): a recording of another
//! machine is caller data, so CPU lists are bounded by their limit however large or repetitive
//! the file. Each test is one bug the `cpu_probe_sysroot` fuzz target found (or would have
//! found); they pass in debug and release.

use cpu_probe::probe::{probe, ProbeArch, ProbeOptions};
use cpu_probe::sysroot::{parse_cpulist, Sysroot, MAX_CPUS};

/// A limit of 0 still let a single `0` through (`0..=limit.saturating_sub(1)` is `0..=0`).
#[test]
fn cpulist_limit_zero_drops_everything() {
    assert_eq!(parse_cpulist("0", 0), Some(vec![]));
    assert_eq!(parse_cpulist("0-3,0", 0), Some(vec![]));
    assert_eq!(parse_cpulist("0,2", 1), Some(vec![0]));
}

/// Every part of a list pushed its whole (clipped) range: a 4 MiB file of `0-1023,` repeated
/// made the probe build a vector of half a billion CPU numbers (2 GB) for a limit of 1024. The
/// list is now the set of numbers below the limit: ascending, without repeats.
#[test]
fn repeated_ranges_are_bounded_by_the_limit() {
    let text = "0-1023,".repeat(100_000) + "7";
    let v = parse_cpulist(&text, 1024).unwrap();
    assert_eq!(v, (0..1024).collect::<Vec<u32>>());
    assert_eq!(
        parse_cpulist("6,0-3,2,3-5\n", 64),
        Some(vec![0, 1, 2, 3, 4, 5, 6])
    );
}

/// With a limit of `u32::MAX`, `0-4294967294` asked for 4 294 967 295 numbers (16 GiB). The
/// limit is capped at `MAX_CPUS`.
#[test]
fn full_u32_range_is_capped() {
    let v = parse_cpulist("0-4294967294", u32::MAX).unwrap();
    assert_eq!(v.len(), MAX_CPUS as usize);
    assert_eq!(v.last(), Some(&(MAX_CPUS - 1)));
    let v = parse_cpulist("0-4294967295", 64).unwrap();
    assert_eq!(v, (0..64).collect::<Vec<u32>>());
    assert_eq!(parse_cpulist("0-4294967296", 64), None);
}

/// The whole probe on a recording whose CPU lists are huge and repetitive: bounded by the
/// kernel's CPU limit (1024), and quick. Before, the arm64 probe built three vectors of 51
/// million CPU numbers, and the x86 probe intersected `possible` with `present` by
/// `Vec::contains`: 51 million squared steps, a hang.
#[test]
fn probe_of_hostile_cpu_lists_is_bounded() {
    let dir = std::env::temp_dir().join(format!("cpu-probe-safe-inputs-{}", std::process::id()));
    let cpu = dir.join("sys/devices/system/cpu");
    std::fs::create_dir_all(cpu.join("cpu0/topology")).unwrap();
    let list = "0-4294967295,".repeat(50_000) + "0";
    std::fs::write(cpu.join("possible"), &list).unwrap();
    std::fs::write(cpu.join("present"), &list).unwrap();
    std::fs::write(cpu.join("cpu0/topology/core_siblings_list"), &list).unwrap();
    std::fs::write(cpu.join("cpu0/topology/physical_package_id"), "0\n").unwrap();
    std::fs::create_dir_all(dir.join("proc")).unwrap();
    std::fs::write(
        dir.join("proc/cpuinfo"),
        "processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: 0xd03\n",
    )
    .unwrap();
    let arm = probe(&ProbeOptions::new(Sysroot::new(&dir), ProbeArch::Arm64));
    let x86 = probe(&ProbeOptions::new(Sysroot::new(&dir), ProbeArch::X86_64));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(arm.processors.len(), 1024);
    assert_eq!(x86.processors.len(), 1024);
    assert!(arm.recommended_threads() >= 1 && x86.recommended_threads() >= 1);
}
