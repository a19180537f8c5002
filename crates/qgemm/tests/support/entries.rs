//! Shared by the plan-level tests of qgemm and qconv-direct (included with `#[path]`).

use qgemm::{weight_domain, Input8, Kernel, IGEMM};

/// The available entries that are exact for weights `w` (all of them unless some packed weight
/// `w'` is −128: `igemm_2x8c16__neon` needs `w' >= −127`; `w'` as `qgemm::weight_domain` maps
/// it: `w` for i8, `w − 128` for u8).
pub fn exact_entries(w: Input8<'_>) -> Vec<&'static Kernel> {
    let (w_prime, _) = weight_domain(w, &[]).unwrap();
    let w_min = w_prime.iter().copied().min().unwrap_or(0);
    IGEMM
        .available()
        .into_iter()
        .filter(|v| v.kernels.exact_for(w_min))
        .collect()
}
