//! Workload → runnable case, through `ops` plans.

use crate::bench::Case;
use crate::workloads::Workload;

/// Builds the case for a workload with `threads` threads.
pub fn build(w: &Workload, _threads: usize) -> Result<Box<dyn Case>, String> {
    Err(format!(
        "workload {} ({} {}): ops plans are not wired into kbench bench yet",
        w.id, w.kind, w.dtype
    ))
}
