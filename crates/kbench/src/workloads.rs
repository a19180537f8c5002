//! Workload lists (schema of the shared `bench/workloads.json`).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One benchmark workload, batch 1.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Workload {
    /// Unique id (`W1`, `Q3`, ...).
    pub id: String,
    /// `conv2d` or `gemm`.
    pub kind: String,
    /// `fp32` or `int8` (u8 activations with zero point 128, symmetric i8 weights per tensor,
    /// requantized u8 output; NHWC for int8 convolution).
    pub dtype: String,
    /// conv2d: input channels.
    #[serde(default)]
    pub cin: usize,
    /// conv2d: output channels.
    #[serde(default)]
    pub cout: usize,
    /// conv2d: input height.
    #[serde(default)]
    pub h: usize,
    /// conv2d: input width.
    #[serde(default)]
    pub w: usize,
    /// conv2d: square kernel size; gemm: the inner dimension.
    #[serde(default)]
    pub k: usize,
    /// conv2d: stride.
    #[serde(default = "one")]
    pub stride: usize,
    /// conv2d: padding on every side.
    #[serde(default)]
    pub pad: usize,
    /// conv2d: groups (`groups == cin == cout` is depthwise).
    #[serde(default = "one")]
    pub groups: usize,
    /// gemm: rows of A and C.
    #[serde(default)]
    pub m: usize,
    /// gemm: columns of B and C.
    #[serde(default)]
    pub n: usize,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
struct File {
    workloads: Vec<Workload>,
}

impl Workload {
    /// Output height and width of a conv2d workload.
    pub fn out_hw(&self) -> (usize, usize) {
        let span = |x: usize| (x + 2 * self.pad).saturating_sub(self.k) / self.stride.max(1) + 1;
        (span(self.h), span(self.w))
    }

    /// Multiply-accumulates of the direct algorithm (Winograd/FFT are rated by this too).
    pub fn macs(&self) -> u64 {
        match self.kind.as_str() {
            "gemm" => (self.m * self.k * self.n) as u64,
            _ => {
                let (oh, ow) = self.out_hw();
                let cin_g = self.cin / self.groups.max(1);
                (oh * ow * self.cout * cin_g * self.k * self.k) as u64
            }
        }
    }

    /// Bytes an ideal kernel must move (input + weights + output, each once).
    pub fn bytes(&self) -> u64 {
        let e = if self.dtype == "fp32" { 4 } else { 1 };
        let n = match self.kind.as_str() {
            "gemm" => self.m * self.k + self.k * self.n + self.m * self.n,
            _ => {
                let (oh, ow) = self.out_hw();
                self.cin * self.h * self.w
                    + self.cout * (self.cin / self.groups.max(1)) * self.k * self.k
                    + self.cout * oh * ow
            }
        };
        (n * e) as u64
    }

    /// Checks the fields that the kind needs.
    pub fn validate(&self) -> Result<(), String> {
        let bad = |what: &str| Err(format!("workload {}: {what}", self.id));
        match (self.kind.as_str(), self.dtype.as_str()) {
            ("conv2d" | "gemm", "fp32" | "int8") => {}
            (k, d) => return bad(&format!("unsupported kind/dtype {k}/{d}")),
        }
        if self.kind == "gemm" {
            if self.m == 0 || self.k == 0 || self.n == 0 {
                return bad("gemm needs m, k, n >= 1");
            }
        } else {
            if self.cin == 0 || self.cout == 0 || self.h == 0 || self.w == 0 || self.k == 0 {
                return bad("conv2d needs cin, cout, h, w, k >= 1");
            }
            if self.stride == 0 || self.groups == 0 {
                return bad("stride and groups must be >= 1");
            }
            if !self.cin.is_multiple_of(self.groups) || !self.cout.is_multiple_of(self.groups) {
                return bad("groups must divide cin and cout");
            }
            if self.h + 2 * self.pad < self.k || self.w + 2 * self.pad < self.k {
                return bad("kernel larger than the padded image");
            }
        }
        Ok(())
    }
}

/// Reads and validates a workload file.
pub fn load(path: &Path) -> Result<Vec<Workload>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read workload file {}: {e}", path.display()))?;
    let f: File = serde_json::from_str(&text)
        .map_err(|e| format!("workload file {} is not valid: {e}", path.display()))?;
    let mut seen = std::collections::HashSet::new();
    for w in &f.workloads {
        w.validate()?;
        if !seen.insert(w.id.clone()) {
            return Err(format!("workload id {} appears twice", w.id));
        }
    }
    Ok(f.workloads)
}

/// The public workload list the README and `bench-results/` use, shipped in the repository as
/// `bench/workloads.json`: looked up relative to the current directory first, then beside this
/// crate's workspace (`CARGO_MANIFEST_DIR/../../bench/`), so `cargo run -p kbench -- bench` works
/// from the repository root and a built binary works from a checkout.
pub fn default_path() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from(DEFAULT_WORKLOADS),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_WORKLOADS),
    ];
    candidates.into_iter().find(|p| p.is_file())
}

/// The default workload file, relative to the repository root.
pub const DEFAULT_WORKLOADS: &str = "bench/workloads.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_shapes() {
        let w: Workload = serde_json::from_str(
            r#"{"id":"X","kind":"conv2d","dtype":"int8","cin":32,"cout":64,"h":112,"w":112,"k":3,"stride":2,"pad":1}"#,
        )
        .unwrap();
        assert_eq!(w.out_hw(), (56, 56));
        assert_eq!(w.macs(), 56 * 56 * 64 * 32 * 9);
        assert!(w.validate().is_ok());
        let g: Workload =
            serde_json::from_str(r#"{"id":"G","kind":"gemm","dtype":"int8","m":2,"k":3,"n":4}"#)
                .unwrap();
        assert_eq!(g.macs(), 24);
        let bad: Workload = serde_json::from_str(
            r#"{"id":"B","kind":"conv2d","dtype":"fp32","cin":3,"cout":4,"h":8,"w":8,"k":3,"groups":2}"#,
        )
        .unwrap();
        assert!(bad.validate().unwrap_err().contains("groups"));
    }

    #[test]
    fn repository_workloads_parse() {
        let p = default_path().expect("bench/workloads.json ships with the repository");
        let ws = load(&p).unwrap();
        eprintln!("{} workloads in {}", ws.len(), p.display());
        assert!(!ws.is_empty());
    }

    /// The repository's copy is the shared public list, unchanged (checked where the shared
    /// folder sits beside the workspace).
    #[test]
    fn repository_workloads_match_shared_when_present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let shared = root.join("../shared/bench/workloads.json");
        if !shared.is_file() {
            eprintln!("skipping: ../shared/bench/workloads.json is absent");
            return;
        }
        let ours = std::fs::read(root.join(DEFAULT_WORKLOADS)).unwrap();
        let theirs = std::fs::read(&shared).unwrap();
        assert!(
            ours == theirs,
            "bench/workloads.json differs from ../shared/bench/workloads.json"
        );
    }
}
