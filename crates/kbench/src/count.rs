//! `kbench bench --iterations N`: the counting mode, for an instruction-counting emulator.
//!
//! No clock is read and no peak is measured. Each workload is built (weights packed outside
//! every counted interval), run once as a warm-up (which is also the reference check unless
//! `--no-check`), then run exactly `N` times. A *marker* (a system call that does nothing, see
//! [`marker`]) is made around the warm-up, after each of `N` empty iterations and after each of
//! the `N` runs, so a counting plugin (`scripts/qemu/qemu-insncount.c`) can snapshot its counters
//! there. Per run = median(run intervals) − median(empty intervals), the rule of the shared ARM
//! anchors (`../shared/anchors/arm/`), whose tag layout this follows: workload number `j`
//! (1-based, in the order run) uses base `j × 100000` and the tags
//!
//! | tag | where |
//! |---|---|
//! | `base + 1`, `base + 2` | before and after the warm-up run |
//! | `base + 10`, `base + 11 + i` | the empty loop: `N` intervals with no work |
//! | `base + 1000`, `base + 1001 + i` | after run `i` of `N` |
//!
//! The markers are made only on aarch64 and 32-bit ARM Linux (where the second argument, a
//! 32-bit register, carries the tag's low 32 bits: exact below 42,949 workloads); elsewhere they
//! compile to nothing, so the mode
//! also serves as a native smoke test (`kbench bench --iterations 1 --only Q1`).

use crate::bench::{Case, Failure};
use crate::workloads::Workload;
use serde::Serialize;

/// System call number of a marker (unused by Linux; the kernel and QEMU answer `ENOSYS`).
pub const MARK_NR: u64 = 4242;
/// First argument of a marker (`"Insn"`), so that a stray 4242 is not taken for one.
pub const MARK_MAGIC: u64 = 0x496e_736e;
/// Tag stride between workloads.
pub const TAG_STRIDE: u64 = 100_000;

/// Most runs per workload: the empty-loop tags (`base + 11 + i`) must stay below `base + 1000`.
pub const MAX_ITERATIONS: usize = 989;

/// Checks `--iterations N` against the tag layout.
pub fn check_iterations(n: usize) -> Result<(), String> {
    if n > MAX_ITERATIONS {
        return Err(format!(
            "--iterations {n}: at most {MAX_ITERATIONS} (the marker tags of the empty loop, \
             base+11+i, must stay below base+1000)"
        ));
    }
    Ok(())
}

/// Makes a marker system call with `tag` (aarch64 and 32-bit ARM Linux; a no-op elsewhere).
#[inline(never)]
pub fn marker(tag: u64) {
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    // SAFETY: a raw Linux system call: x8 = number, x0/x1 = arguments, the result comes back in
    // x0 (declared clobbered); the kernel preserves every other register. Number 4242 is not a
    // Linux system call, so the kernel (or QEMU) returns -ENOSYS without touching memory or any
    // state; no stack is used. The block is not `nomem`, so the compiler keeps the surrounding
    // work on its side of the marker.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") MARK_NR,
            inlateout("x0") MARK_MAGIC => _,
            in("x1") tag,
            options(nostack),
        );
    }
    #[cfg(all(target_arch = "arm", target_os = "linux"))]
    // SAFETY: a raw Linux EABI system call: r7 = number, r0/r1 = arguments (the tag's low 32
    // bits), the result comes back in r0 (declared clobbered); the kernel preserves every other
    // register. As on aarch64, 4242 is not a system call: -ENOSYS, no memory or state touched,
    // no stack used, and not `nomem`, so the surrounding work stays on its side of the marker.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("r7") MARK_NR as u32,
            inlateout("r0") MARK_MAGIC as u32 => _,
            in("r1") tag as u32,
            options(nostack),
        );
    }
    #[cfg(not(all(any(target_arch = "aarch64", target_arch = "arm"), target_os = "linux")))]
    let _ = tag;
}

/// Whether this build makes real markers.
pub const MARKERS_ACTIVE: bool = cfg!(all(
    any(target_arch = "aarch64", target_arch = "arm"),
    target_os = "linux"
));

/// One counted workload.
#[derive(Clone, Debug, Serialize)]
pub struct CountRow {
    /// Workload id.
    pub id: String,
    /// `conv2d` / `gemm`.
    pub kind: String,
    /// `int8` / `fp32`.
    pub dtype: String,
    /// Shape in words.
    pub shape: String,
    /// What the plan chose (`Plan::describe()`: algorithm and micro-kernel).
    pub algorithm: String,
    /// Multiply-accumulates of the direct algorithm.
    pub macs: u64,
    /// The reference check of the warm-up run (`bit-exact`, `max err ...`), or `not checked`.
    pub check: String,
    /// Whether the check passed (true when not checked).
    pub ok: bool,
    /// Marker tag base of this workload (`j × 100000`).
    pub tag_base: u64,
    /// Counted runs (and empty intervals).
    pub iterations: usize,
}

/// The counting run's report.
#[derive(Clone, Debug, Serialize)]
pub struct CountReport {
    /// The command line.
    pub command: String,
    /// Machine summary (brand, features in use).
    pub machine: String,
    /// CPU features the kernel tables dispatch on (`cpu_probe`'s live detection).
    pub dispatch_features: Vec<&'static str>,
    /// Whether markers were made (aarch64 and 32-bit ARM Linux builds only).
    pub markers: bool,
    /// `MARK_NR`, `MARK_MAGIC`, `TAG_STRIDE` and the tag layout.
    pub protocol: String,
    /// Threads per operator.
    pub threads: usize,
    /// Runs per workload after the warm-up.
    pub iterations: usize,
    /// One row per counted workload.
    pub rows: Vec<CountRow>,
    /// Workloads whose warm-up output differed from the reference (counted anyway, flagged).
    pub failures: Vec<Failure>,
    /// Workloads no plan supports yet (not run).
    pub skipped: Vec<Failure>,
}

/// Runs every workload once (warm-up, checked unless `check` is false) and then exactly
/// `iterations` times, with markers (see the module documentation).
pub fn run(
    workloads: &[Workload],
    threads: usize,
    iterations: usize,
    check: bool,
    command: String,
    mut build: impl FnMut(&Workload, usize) -> Result<Box<dyn Case>, String>,
    mut progress: impl FnMut(&str),
) -> CountReport {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut j: u64 = 0;
    for w in workloads {
        progress(&w.id);
        let mut c: Box<dyn Case> = match build(w, threads) {
            Ok(c) => c,
            Err(e) => {
                skipped.push(Failure {
                    id: w.id.clone(),
                    error: e,
                });
                continue;
            }
        };
        j += 1;
        let base = j * TAG_STRIDE;
        marker(base + 1);
        let verdict = if check {
            c.check()
        } else {
            c.run();
            Ok("not checked".to_string())
        };
        marker(base + 2);
        // The empty loop: the cost of a marker and of this loop, subtracted from each run.
        marker(base + 10);
        for i in 0..iterations as u64 {
            marker(base + 11 + i);
        }
        marker(base + 1000);
        for i in 0..iterations as u64 {
            c.run();
            marker(base + 1001 + i);
        }
        let ok = verdict.is_ok();
        if let Err(e) = &verdict {
            failures.push(Failure {
                id: w.id.clone(),
                error: e.clone(),
            });
        }
        rows.push(CountRow {
            id: w.id.clone(),
            kind: w.kind.clone(),
            dtype: w.dtype.clone(),
            shape: crate::bench::shape(w),
            algorithm: c.algorithm(),
            macs: w.macs(),
            check: verdict.unwrap_or_else(|e| format!("FAILED: {e}")),
            ok,
            tag_base: base,
            iterations,
        });
    }
    CountReport {
        command,
        machine: crate::bench::machine_line(),
        dispatch_features: cpu_probe::CpuInfo::live().features.enabled_names(),
        markers: MARKERS_ACTIVE,
        protocol: format!(
            "marker = syscall({MARK_NR}, {MARK_MAGIC:#x}, tag); workload j (1-based) has base \
             j*{TAG_STRIDE}: base+1/base+2 around the warm-up, base+10 and base+11+i around the \
             empty intervals, base+1000 and base+1001+i after run i; per run = median(run \
             intervals) - median(empty intervals)"
        ),
        threads,
        iterations,
        rows,
        failures,
        skipped,
    }
}

/// The counting report as Markdown (what ran; the counts come from the plugin).
pub fn markdown(r: &CountReport) -> String {
    let mut s = String::new();
    s += &format!("Command: `{}`\n\n", r.command);
    s += &format!(
        "Machine: {}; dispatch features: {}; {} thread(s) per operator; {} run(s) per workload \
         after one warm-up; markers {}.\n\n",
        r.machine,
        r.dispatch_features.join(" "),
        r.threads,
        r.iterations,
        if r.markers {
            "on (syscall 4242)"
        } else {
            "off (not aarch64 or 32-bit ARM Linux)"
        }
    );
    s += "| id | kind | shape | algorithm | MACs | check | tag base |\n";
    s += "|---|---|---|---|---:|---|---:|\n";
    for row in &r.rows {
        s += &format!(
            "| {} | {} {} | {} | {} | {} | {} | {} |\n",
            row.id,
            row.kind,
            row.dtype,
            row.shape,
            row.algorithm,
            row.macs,
            row.check,
            row.tag_base
        );
    }
    if !r.failures.is_empty() {
        s += "\nFailed the reference check (counted, flagged):\n\n";
        for f in &r.failures {
            s += &format!("- {}: {}\n", f.id, f.error);
        }
    }
    if !r.skipped.is_empty() {
        s += "\nNot run (no plan for them yet):\n\n";
        for f in &r.skipped {
            s += &format!("- {}: {}\n", f.id, f.error);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        runs: usize,
        checks: usize,
    }

    impl Case for Counter {
        fn algorithm(&self) -> String {
            "test".into()
        }
        fn check(&mut self) -> Result<String, String> {
            self.checks += 1;
            self.run();
            Ok("bit-exact".into())
        }
        fn run(&mut self) {
            self.runs += 1;
        }
    }

    fn wl(id: &str) -> Workload {
        serde_json::from_str(&format!(
            r#"{{"id":"{id}","kind":"gemm","dtype":"int8","m":2,"k":3,"n":4}}"#
        ))
        .unwrap()
    }

    #[test]
    fn exactly_n_runs_after_one_warm_up() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let log: Rc<RefCell<Vec<usize>>> = Rc::default();
        struct Shared(Rc<RefCell<Vec<usize>>>, Counter);
        impl Case for Shared {
            fn algorithm(&self) -> String {
                self.1.algorithm()
            }
            fn check(&mut self) -> Result<String, String> {
                // The check runs the workload once, as `Case::check` does.
                self.run();
                Ok("bit-exact".into())
            }
            fn run(&mut self) {
                self.1.run();
                self.0.borrow_mut().push(self.1.runs);
            }
        }
        for (check, n) in [(true, 0), (true, 3), (false, 5)] {
            log.borrow_mut().clear();
            let l2 = log.clone();
            let r = run(
                &[wl("A"), wl("B")],
                1,
                n,
                check,
                String::new(),
                move |_, _| Ok(Box::new(Shared(l2.clone(), Counter { runs: 0, checks: 0 }))),
                |_| {},
            );
            assert_eq!(r.rows.len(), 2);
            assert_eq!(r.rows[1].tag_base, 2 * TAG_STRIDE);
            assert_eq!(r.rows[0].macs, 24);
            // Two workloads, each: the warm-up (through check or not) + n runs.
            assert_eq!(log.borrow().len(), 2 * (n + 1));
            assert_eq!(
                r.rows[0].check,
                if check { "bit-exact" } else { "not checked" }
            );
        }
    }

    #[test]
    fn iterations_are_bounded_by_the_tag_layout() {
        assert!(check_iterations(0).is_ok());
        assert!(check_iterations(MAX_ITERATIONS).is_ok());
        let e = check_iterations(MAX_ITERATIONS + 1).unwrap_err();
        assert!(e.contains("--iterations 990"), "{e}");
        // The last empty-loop tag stays below the first run tag.
        assert!(11 + MAX_ITERATIONS as u64 - 1 < 1000);
    }

    #[test]
    fn skipped_workloads_take_no_tag() {
        let r = run(
            &[wl("A"), wl("B")],
            1,
            1,
            true,
            String::new(),
            |w, _| {
                if w.id == "A" {
                    Err("no plan".into())
                } else {
                    Ok(Box::new(Counter { runs: 0, checks: 0 }))
                }
            },
            |_| {},
        );
        assert_eq!(r.skipped.len(), 1);
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0].tag_base, TAG_STRIDE);
        assert!(markdown(&r).contains("| B | gemm int8 | 2x3x4 | test | 24 | bit-exact | 100000 |"));
    }
}
