//! The CPU report (cpuinfo-like queries) and the dispatch features.

use crate::error::{self, guard, guard_value, Error};
use crate::EkStatus;
use cpu_probe::probe::{probe, ProbeOptions, SystemReport};
use std::ffi::{c_char, CString};

/// The probed description of this machine (opaque): processors, cores, clusters (fastest
/// first), microarchitectures, ISA flags with cpuinfo's names.
pub struct EkCpuReport {
    report: SystemReport,
    chipset: CString,
    core_uarch: Vec<CString>,
    core_vendor: Vec<CString>,
    cluster_uarch: Vec<CString>,
    cluster_vendor: Vec<CString>,
    isa_on: Vec<CString>,
    text: String,
}

/// One cluster: cores of one design and frequency.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkCluster {
    /// Number of cores.
    pub core_count: usize,
    /// Index of its first core (cores are numbered cluster by cluster, fastest first).
    pub first_core: usize,
    /// Microarchitecture (`cortex-a76`, `zen3`, `unknown`), valid while the report lives.
    pub uarch: *const c_char,
    /// Core vendor (`arm`, `qualcomm`, `amd`, `intel`, ...), valid while the report lives.
    pub vendor: *const c_char,
    /// ARM MIDR (0 on x86).
    pub midr: u32,
}

/// One core.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkCore {
    /// Cluster index.
    pub cluster: usize,
    /// Microarchitecture, valid while the report lives.
    pub uarch: *const c_char,
    /// Core vendor, valid while the report lives.
    pub vendor: *const c_char,
    /// ARM MIDR (0 on x86).
    pub midr: u32,
    /// Maximum frequency in kHz (0: unknown).
    pub max_frequency_khz: u32,
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Probes this machine (Linux /proc and /sys, CPUID or hwcaps) and returns a report in
/// `*report` (release with `ek_cpu_report_destroy`); NULL on failure.
///
/// # Safety
/// `report` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_create(report: *mut *mut EkCpuReport) -> EkStatus {
    guard("ek_cpu_report_create", || {
        // SAFETY: caller's contract (null and alignment checked).
        unsafe { error::write_out(report, std::ptr::null_mut(), "report")? };
        let r = probe(&ProbeOptions::live());
        let h = EkCpuReport {
            chipset: cstring(r.chipset.as_deref().unwrap_or("")),
            core_uarch: r.cores.iter().map(|c| cstring(&c.uarch)).collect(),
            core_vendor: r.cores.iter().map(|c| cstring(&c.vendor)).collect(),
            cluster_uarch: r.clusters.iter().map(|c| cstring(&c.uarch)).collect(),
            cluster_vendor: r.clusters.iter().map(|c| cstring(&c.vendor)).collect(),
            isa_on: r
                .isa
                .iter()
                .filter(|(_, &on)| on)
                .map(|(k, _)| cstring(k))
                .collect(),
            text: r.report_text(),
            report: r,
        };
        // SAFETY: checked valid above.
        unsafe { report.write(Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Logical processors (0 if `report` is NULL).
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_processor_count(report: *const EkCpuReport) -> usize {
    // SAFETY: forwarded contract.
    unsafe { query(report, |r| r.report.processors.len()) }
}

/// Cores (0 if `report` is NULL).
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_core_count(report: *const EkCpuReport) -> usize {
    // SAFETY: forwarded contract.
    unsafe { query(report, |r| r.report.cores.len()) }
}

/// Clusters (0 if `report` is NULL).
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_cluster_count(report: *const EkCpuReport) -> usize {
    // SAFETY: forwarded contract.
    unsafe { query(report, |r| r.report.clusters.len()) }
}

/// Threads an operator should use on this machine (ARM: the fastest cluster's cores; x86:
/// every core); 0 if `report` is NULL.
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_recommended_threads(report: *const EkCpuReport) -> usize {
    // SAFETY: forwarded contract.
    unsafe { query(report, |r| r.report.recommended_threads()) }
}

/// # Safety
/// `report` is NULL or live.
unsafe fn query(report: *const EkCpuReport, f: impl FnOnce(&EkCpuReport) -> usize) -> usize {
    guard_value("ek_cpu_report query", 0, || {
        // SAFETY: caller's contract.
        unsafe { error::handle(report, "report") }.map_or(0, f)
    })
}

/// Cluster `index` (fastest first) into `*cluster`.
///
/// # Safety
/// `report` is a live report; `cluster` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_cluster(
    report: *const EkCpuReport,
    index: usize,
    cluster: *mut EkCluster,
) -> EkStatus {
    guard("ek_cpu_report_cluster", || {
        // SAFETY: caller's contract.
        let r = unsafe { error::handle(report, "report")? };
        let c = r.report.clusters.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "cluster {index} out of range ({} clusters)",
                r.report.clusters.len()
            ))
        })?;
        let v = EkCluster {
            core_count: c.cores.len(),
            first_core: c.cores.iter().copied().min().unwrap_or(0),
            uarch: r.cluster_uarch[index].as_ptr(),
            vendor: r.cluster_vendor[index].as_ptr(),
            midr: c.midr,
        };
        // SAFETY: caller's contract (null and alignment checked).
        unsafe { error::write_out(cluster, v, "cluster") }
    })
}

/// Core `index` (cluster by cluster, fastest first) into `*core`.
///
/// # Safety
/// `report` is a live report; `core` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_core(
    report: *const EkCpuReport,
    index: usize,
    core: *mut EkCore,
) -> EkStatus {
    guard("ek_cpu_report_core", || {
        // SAFETY: caller's contract.
        let r = unsafe { error::handle(report, "report")? };
        let c = r.report.cores.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "core {index} out of range ({} cores)",
                r.report.cores.len()
            ))
        })?;
        let cluster = r
            .report
            .clusters
            .iter()
            .position(|cl| cl.cores.contains(&index))
            .unwrap_or(0);
        let v = EkCore {
            cluster,
            uarch: r.core_uarch[index].as_ptr(),
            vendor: r.core_vendor[index].as_ptr(),
            midr: c.midr,
            max_frequency_khz: c.max_frequency_khz,
        };
        // SAFETY: caller's contract (null and alignment checked).
        unsafe { error::write_out(core, v, "core") }
    })
}

/// The chipset name (`Qualcomm Snapdragon 845`; empty if unknown), valid while the report
/// lives; NULL if `report` is NULL.
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_chipset(report: *const EkCpuReport) -> *const c_char {
    guard_value("ek_cpu_report_chipset", std::ptr::null(), || {
        // SAFETY: caller's contract.
        unsafe { error::handle(report, "report") }.map_or(std::ptr::null(), |r| r.chipset.as_ptr())
    })
}

/// Whether the ISA flag `name` (cpuinfo's `cpuinfo_has_<name>` names: `x86_avx2`,
/// `x86_avx512vnni`, `arm_neon`, `arm_neon_dot`, `arm_i8mm`, ...) is present: 1 yes, 0 no,
/// -1 unknown name or NULL argument.
///
/// # Safety
/// `report` is NULL or a live report; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_has_isa(
    report: *const EkCpuReport,
    name: *const c_char,
) -> i32 {
    guard_value("ek_cpu_report_has_isa", -1, || {
        // SAFETY: caller's contract.
        let (Ok(r), Ok(n)) = (unsafe { error::handle(report, "report") }, unsafe {
            // SAFETY: caller's contract.
            error::string(name, "name")
        }) else {
            return -1;
        };
        match r.report.isa.get(n) {
            Some(true) => 1,
            Some(false) => 0,
            None => -1,
        }
    })
}

/// Number of ISA flags present (for `ek_cpu_report_isa_name`); 0 if `report` is NULL.
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_isa_count(report: *const EkCpuReport) -> usize {
    // SAFETY: forwarded contract.
    unsafe { query(report, |r| r.isa_on.len()) }
}

/// The name of present ISA flag `index` (sorted), valid while the report lives; NULL if out of
/// range.
///
/// # Safety
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_isa_name(
    report: *const EkCpuReport,
    index: usize,
) -> *const c_char {
    guard_value("ek_cpu_report_isa_name", std::ptr::null(), || {
        // SAFETY: caller's contract.
        match unsafe { error::handle(report, "report") } {
            Ok(r) => r.isa_on.get(index).map_or(std::ptr::null(), |s| s.as_ptr()),
            Err(_) => std::ptr::null(),
        }
    })
}

/// The human-readable report (what `kbench probe` prints) into `buf` (capacity `len` bytes,
/// NUL-terminated, truncated); returns the bytes needed including the NUL, 0 if `report` is
/// NULL.
///
/// # Safety
/// `report` is NULL or a live report; `buf` NULL or valid for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_text(
    report: *const EkCpuReport,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guard_value("ek_cpu_report_text", 0, || {
        // SAFETY: caller's contract.
        match unsafe { error::handle(report, "report") } {
            // SAFETY: caller's contract for `buf`.
            Ok(r) => unsafe { error::copy_text(&r.text, buf, len) },
            Err(_) => 0,
        }
    })
}

/// Releases a report (NULL is ignored).
///
/// # Safety
/// `report` is NULL or a live report; it and the strings taken from it are invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_cpu_report_destroy(report: *mut EkCpuReport) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_cpu_report_destroy", report) }
}

/// The instruction set the kernels dispatch to on this machine (e.g. `avx2`, `avx512vnni`,
/// `neondot`, `scalar`; after the `EDGE_KERNELS_ISA` cap), a static string.
#[no_mangle]
pub extern "C" fn ek_dispatch_isa() -> *const c_char {
    guard_value("ek_dispatch_isa", c"scalar".as_ptr(), || {
        static NAME: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
        NAME.get_or_init(|| {
            use cpu_probe::Isa;
            let best = Isa::ALL
                .into_iter()
                .filter(|i| i.supported())
                .max()
                .unwrap_or(Isa::Scalar);
            cstring(best.name())
        })
        .as_ptr()
    })
}
