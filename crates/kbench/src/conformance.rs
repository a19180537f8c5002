//! `kbench conformance DIR...`: runs ONNX node-test folders through `ops::plan_node`.
//!
//! A node-test folder holds `model.onnx` (a graph with one node) and `test_data_set_N/` folders
//! with `input_I.pb` / `output_I.pb` (serialized `TensorProto`s, in the order of the graph's
//! inputs and outputs), as ONNX's `backend-test-tools generate-data` writes them. Every input is
//! given to the plan as a constant; omitted optional inputs (empty names) are `Absent`.
//!
//! Outputs are compared exactly for integer types and with ONNX's default tolerance for `float`
//! (`|got - expected| <= 1e-7 + 1e-3 * |expected|`). Where that fails, the tolerance is loosened
//! only to the fp32 accuracy gate that DESIGN.md documents for the algorithm the plan reports
//! (`Plan::describe`): Winograd `1e-4 * RMS`, FFT `1e-5 * RMS`, direct/GEMM `2e-5 * RMS`, with
//! RMS the root mean square of the expected output. The result line then says which gate.
//!
//! `OpsError::Unsupported` and element types or attributes that the runner cannot represent are
//! SKIP with the reason; any other error on a test is a FAIL. Malformed files never panic: they
//! are a FAIL naming the file and the decode error.

use crate::onnx::{self, attribute_type, data_type, GraphProto, NodeProto, TensorProto};
use ops::{Attribute, Node, OpsError, Options, PlanInput, Tensor, TensorData};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// ONNX's default relative tolerance for node tests.
pub const RTOL: f64 = 1e-3;
/// ONNX's default absolute tolerance for node tests.
pub const ATOL: f64 = 1e-7;

/// What happened to one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every data set matched.
    Pass,
    /// A mismatch, an error, or a malformed file.
    Fail,
    /// Not runnable here (unsupported operator, type or attribute), with the reason.
    Skip,
}

impl Status {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// The result of one node-test folder.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// Folder name (`test_conv_with_strides_padding`).
    pub name: String,
    /// Folder path.
    pub dir: PathBuf,
    /// The node's operator type (empty if the model could not be read).
    pub op_type: String,
    /// The node's domain.
    pub domain: String,
    /// The opset version the model imports for the node's domain.
    pub opset: Option<i64>,
    /// Outcome.
    pub status: Status,
    /// PASS: `Plan::describe()`; FAIL/SKIP: the reason.
    pub detail: String,
    /// PASS with a loosened fp32 tolerance: which DESIGN.md gate and the error seen.
    pub tolerance_note: Option<String>,
    /// Number of `test_data_set_*` folders run.
    pub data_sets: usize,
}

impl CaseResult {
    /// The one-line report: `PASS name (describe)`, `FAIL name: why`, `SKIP name: why`.
    pub fn line(&self) -> String {
        match self.status {
            Status::Pass => {
                let mut s = format!("PASS {} ({})", self.name, self.detail);
                if let Some(n) = &self.tolerance_note {
                    s.push_str(&format!(" [{n}]"));
                }
                s
            }
            st => format!("{} {}: {}", st.label(), self.name, self.detail),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "dir": self.dir.display().to_string(),
            "op_type": self.op_type,
            "domain": self.domain,
            "opset": self.opset,
            "status": self.status.label(),
            "detail": self.detail,
            "tolerance_note": self.tolerance_note,
            "data_sets": self.data_sets,
        })
    }
}

/// Why a case stopped before passing.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// FAIL with this message.
    Fail(String),
    /// SKIP with this reason.
    Skip(String),
}

/// Why a `TensorProto` could not become an `ops::Tensor`.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadError {
    /// A type or storage the runner does not handle (a SKIP).
    Unsupported(String),
    /// An inconsistent tensor (a FAIL).
    Malformed(String),
}

impl LoadError {
    fn into_stop(self, what: &str) -> Stop {
        match self {
            LoadError::Unsupported(m) => Stop::Skip(format!("{what}: {m}")),
            LoadError::Malformed(m) => Stop::Fail(format!("{what}: {m}")),
        }
    }
}

/// Converts a `TensorProto` (typed fields or `raw_data`) to an `ops::Tensor`.
pub fn tensor_from_proto(t: &TensorProto) -> Result<Tensor, LoadError> {
    if t.data_location == Some(onnx::DATA_LOCATION_EXTERNAL) || !t.external_data.is_empty() {
        return Err(LoadError::Unsupported(
            "tensor data in an external file is not supported".into(),
        ));
    }
    let mut shape = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if d < 0 {
            return Err(LoadError::Malformed(format!(
                "negative dimension in dims {:?}",
                t.dims
            )));
        }
        // A dimension above usize::MAX (possible on 32-bit targets) overflows any element count.
        let d = usize::try_from(d).map_err(|_| {
            LoadError::Malformed(format!("dims {:?} overflow the element count", t.dims))
        })?;
        shape.push(d);
    }
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            LoadError::Malformed(format!("dims {:?} overflow the element count", t.dims))
        })?;
    let dt = t.data_type.unwrap_or(0);
    let raw = t.raw_data.as_deref();
    let raw_len = |width: usize| -> Result<&[u8], LoadError> {
        let raw = raw.unwrap_or(&[]);
        match n.checked_mul(width) {
            Some(want) if want == raw.len() => Ok(raw),
            _ => Err(LoadError::Malformed(format!(
                "raw_data has {} bytes, shape {:?} of {} needs {} x {width}",
                raw.len(),
                shape,
                data_type::name(dt),
                n
            ))),
        }
    };
    let typed_len = |len: usize, field: &str| -> Result<(), LoadError> {
        if len == n {
            Ok(())
        } else {
            Err(LoadError::Malformed(format!(
                "{field} has {len} elements, shape {shape:?} needs {n}"
            )))
        }
    };
    let data = match dt {
        data_type::FLOAT => match raw {
            Some(_) => TensorData::F32(le_words(raw_len(4)?, f32::from_le_bytes)),
            None => {
                typed_len(t.float_data.len(), "float_data")?;
                TensorData::F32(t.float_data.clone())
            }
        },
        data_type::UINT8 => match raw {
            Some(_) => TensorData::U8(raw_len(1)?.to_vec()),
            None => {
                typed_len(t.int32_data.len(), "int32_data")?;
                TensorData::U8(narrow_int32(&t.int32_data, "uint8")?)
            }
        },
        data_type::INT8 => match raw {
            Some(_) => TensorData::I8(raw_len(1)?.iter().map(|&b| b as i8).collect()),
            None => {
                typed_len(t.int32_data.len(), "int32_data")?;
                TensorData::I8(narrow_int32(&t.int32_data, "int8")?)
            }
        },
        data_type::INT32 => match raw {
            Some(_) => TensorData::I32(le_words(raw_len(4)?, i32::from_le_bytes)),
            None => {
                typed_len(t.int32_data.len(), "int32_data")?;
                TensorData::I32(t.int32_data.clone())
            }
        },
        data_type::INT64 => match raw {
            Some(_) => TensorData::I64(le_words(raw_len(8)?, i64::from_le_bytes)),
            None => {
                typed_len(t.int64_data.len(), "int64_data")?;
                TensorData::I64(t.int64_data.clone())
            }
        },
        0 => {
            return Err(LoadError::Malformed(
                "data_type is missing (UNDEFINED)".into(),
            ))
        }
        other => {
            return Err(LoadError::Unsupported(format!(
                "type {} not supported",
                data_type::name(other)
            )))
        }
    };
    Tensor::new(shape, data).map_err(|e| LoadError::Malformed(e.to_string()))
}

/// Little-endian `N`-byte words of `raw` (whose length is a multiple of `N`) decoded by `word`.
fn le_words<const N: usize, T>(raw: &[u8], word: fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            word(b)
        })
        .collect()
}

/// `int32_data` (where ONNX stores uint8 and int8 values) narrowed to `T`, named `type_name`.
fn narrow_int32<T: TryFrom<i32>>(v: &[i32], type_name: &str) -> Result<Vec<T>, LoadError> {
    v.iter()
        .map(|&x| T::try_from(x))
        .collect::<Result<Vec<T>, _>>()
        .map_err(|_| LoadError::Malformed(format!("int32_data holds a value outside {type_name}")))
}

/// Maps a `NodeProto` to an `ops::Node` (INT/INTS/FLOAT/FLOATS/STRING attributes).
pub fn node_from_proto(n: &NodeProto) -> Result<Node, Stop> {
    let op_type = n.op_type.clone().unwrap_or_default();
    if op_type.is_empty() {
        return Err(Stop::Fail("the node has no op_type".into()));
    }
    let mut node = Node::new(&op_type);
    node.domain = n.domain.clone().unwrap_or_default();
    for a in &n.attribute {
        let name = a.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(Stop::Fail("an attribute has no name".into()));
        }
        if a.ref_attr_name.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(Stop::Skip(format!(
                "attribute '{name}' refers to a function attribute"
            )));
        }
        let value = match a.r#type.unwrap_or(0) {
            attribute_type::FLOAT => Attribute::Float(a.f.unwrap_or(0.0)),
            attribute_type::INT => Attribute::Int(a.i.unwrap_or(0)),
            attribute_type::STRING => {
                let s = String::from_utf8(a.s.clone().unwrap_or_default()).map_err(|_| {
                    Stop::Fail(format!("attribute '{name}': the STRING is not UTF-8"))
                })?;
                Attribute::String(s)
            }
            attribute_type::FLOATS => Attribute::Floats(a.floats.clone()),
            attribute_type::INTS => Attribute::Ints(a.ints.clone()),
            0 => {
                return Err(Stop::Fail(format!(
                    "attribute '{name}' has no type (UNDEFINED)"
                )))
            }
            other => {
                return Err(Stop::Skip(format!(
                    "attribute '{name}' of type {} not supported",
                    attribute_type::name(other)
                )))
            }
        };
        node.attributes.insert(name, value);
    }
    Ok(node)
}

/// The DESIGN.md fp32 gate for the algorithm a plan reports: (max|err| / RMS, its name).
fn fp32_gate(describe: &str) -> Option<(f64, &'static str)> {
    let d = describe.to_ascii_lowercase();
    if d.contains("winograd") {
        Some((1e-4, "DESIGN.md Winograd gate 1e-4*RMS"))
    } else if d.contains("fft") {
        Some((1e-5, "DESIGN.md FFT gate 1e-5*RMS"))
    } else if ["gemm", "direct", "im2col", "depthwise"]
        .iter()
        .any(|k| d.contains(k))
    {
        Some((2e-5, "DESIGN.md direct/GEMM gate 2e-5*RMS"))
    } else {
        None
    }
}

/// Row-major multi-index of flat index `i` in `shape`.
fn multi_index(shape: &[usize], mut i: usize) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    idx
}

fn exact<T: PartialEq + std::fmt::Display>(
    what: &str,
    shape: &[usize],
    e: &[T],
    g: &[T],
) -> Result<(), String> {
    match e.iter().zip(g).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => {
            let bad = e.iter().zip(g).filter(|(a, b)| a != b).count();
            Err(format!(
                "{what} index {i} {:?}: expected {}, got {} ({bad} of {} elements differ)",
                multi_index(shape, i),
                e[i],
                g[i],
                e.len()
            ))
        }
    }
}

fn within(e: f32, g: f32, extra: f64) -> bool {
    if e.is_nan() || g.is_nan() {
        return e.is_nan() && g.is_nan();
    }
    if e == g {
        return true;
    }
    if !e.is_finite() || !g.is_finite() {
        return false;
    }
    let (e, g) = (f64::from(e), f64::from(g));
    (g - e).abs() <= ATOL + RTOL * e.abs() + extra
}

/// Compares one output: `Ok(None)` within ONNX's tolerance, `Ok(Some(note))` within the
/// DESIGN.md gate of `describe`'s algorithm only, `Err(first mismatch)` otherwise.
pub fn compare(
    what: &str,
    expected: &Tensor,
    got: &Tensor,
    describe: &str,
) -> Result<Option<String>, String> {
    if expected.dtype() != got.dtype() {
        return Err(format!(
            "{what}: expected type {}, got {}",
            expected.dtype().name(),
            got.dtype().name()
        ));
    }
    if expected.shape() != got.shape() {
        return Err(format!(
            "{what}: expected shape {:?}, got {:?}",
            expected.shape(),
            got.shape()
        ));
    }
    let shape = expected.shape();
    match (expected.data(), got.data()) {
        (TensorData::U8(e), TensorData::U8(g)) => exact(what, shape, e, g).map(|_| None),
        (TensorData::I8(e), TensorData::I8(g)) => exact(what, shape, e, g).map(|_| None),
        (TensorData::I32(e), TensorData::I32(g)) => exact(what, shape, e, g).map(|_| None),
        (TensorData::I64(e), TensorData::I64(g)) => exact(what, shape, e, g).map(|_| None),
        (TensorData::F32(e), TensorData::F32(g)) => {
            let Some(first) = e.iter().zip(g).position(|(&a, &b)| !within(a, b, 0.0)) else {
                return Ok(None);
            };
            let bad = e
                .iter()
                .zip(g)
                .filter(|(&a, &b)| !within(a, b, 0.0))
                .count();
            let max_err = e
                .iter()
                .zip(g)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
                .fold(
                    0.0f64,
                    |m, x| if x.is_nan() { f64::INFINITY } else { m.max(x) },
                );
            let finite: Vec<f64> = e
                .iter()
                .filter(|x| x.is_finite())
                .map(|&x| f64::from(x))
                .collect();
            let rms = if finite.is_empty() {
                0.0
            } else {
                (finite.iter().map(|x| x * x).sum::<f64>() / finite.len() as f64).sqrt()
            };
            if let Some((gate, gate_name)) = fp32_gate(describe) {
                let extra = gate * rms;
                if e.iter().zip(g).all(|(&a, &b)| within(a, b, extra)) {
                    return Ok(Some(format!(
                        "{what}: beyond ONNX rtol 1e-3/atol 1e-7 at {bad} element(s), within {gate_name} (max|err| {max_err:.3e}, RMS {rms:.3e})"
                    )));
                }
            }
            Err(format!(
                "{what} index {first} {:?}: expected {:e}, got {:e} ({bad} of {} elements beyond rtol 1e-3/atol 1e-7; max|err| {max_err:.3e}, RMS {rms:.3e})",
                multi_index(shape, first),
                e[first],
                g[first],
                e.len()
            ))
        }
        _ => Err(format!("{what}: element types differ")),
    }
}

/// `prefix_N.pb` files of a folder as `(N, path)`, sorted by N; an error if not 0..count.
fn numbered_files(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
        else {
            continue;
        };
        if let Ok(i) = num.parse::<usize>() {
            found.push((i, entry.path()));
        }
    }
    found.sort();
    for (k, (i, _)) in found.iter().enumerate() {
        if *i != k {
            return Err(format!(
                "{}: {prefix}*{suffix} numbering has a gap (expected {prefix}{k}{suffix})",
                dir.display()
            ));
        }
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The largest `model.onnx` or `*.pb` file the runner reads (256 MiB): ONNX node tests are a few
/// KiB; a bigger file (or a device such as `/dev/zero` behind a symlink) is a FAIL naming it, not
/// an unbounded read.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Reads a whole file of at most [`MAX_FILE_BYTES`]; `what` names it in errors.
pub fn read_file_limited(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {what}: {e}"))?;
    let len = f
        .metadata()
        .map_err(|e| format!("cannot read {what}: {e}"))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{what} is {len} bytes, more than the runner's limit of {MAX_FILE_BYTES}"
        ));
    }
    // The size from the metadata bounds the read only for regular files: take() bounds it
    // for everything else.
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{what} holds more than the runner's limit of {MAX_FILE_BYTES} bytes"
        ));
    }
    Ok(bytes)
}

fn read_tensor(path: &Path, base: &Path) -> Result<(TensorProto, String), Stop> {
    let rel = path
        .strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string();
    let bytes = read_file_limited(path, &rel).map_err(Stop::Fail)?;
    let t = onnx::decode_tensor(&bytes).map_err(|e| Stop::Fail(format!("{rel}: {e}")))?;
    Ok((t, rel))
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

fn ops_stop(stage: &str, e: OpsError) -> Stop {
    match e {
        OpsError::Unsupported(_) => Stop::Skip(e.to_string()),
        other => Stop::Fail(format!("{stage}: {other}")),
    }
}

/// Runs one data set; `Ok((describe, tolerance note))` when it matches.
fn run_data_set(
    node: &Node,
    proto: &NodeProto,
    graph: &GraphProto,
    initializers: &BTreeMap<String, Tensor>,
    set_dir: &Path,
    case_dir: &Path,
) -> Result<(String, Option<String>), Stop> {
    let set_name = set_dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let input_files = numbered_files(set_dir, "input_", ".pb").map_err(Stop::Fail)?;
    let output_files = numbered_files(set_dir, "output_", ".pb").map_err(Stop::Fail)?;
    let graph_inputs: Vec<&str> = graph
        .input
        .iter()
        .map(|v| v.name.as_deref().unwrap_or(""))
        .filter(|n| !initializers.contains_key(*n))
        .collect();
    if input_files.len() != graph_inputs.len() {
        return Err(Stop::Fail(format!(
            "{set_name}: {} input files for {} graph inputs {graph_inputs:?}",
            input_files.len(),
            graph_inputs.len()
        )));
    }
    let mut values: BTreeMap<String, Tensor> = initializers.clone();
    for (path, name) in input_files.iter().zip(&graph_inputs) {
        let (tp, rel) = read_tensor(path, case_dir)?;
        let t =
            tensor_from_proto(&tp).map_err(|e| e.into_stop(&format!("input '{name}' ({rel})")))?;
        values.insert((*name).to_string(), t);
    }
    let mut plan_inputs = Vec::with_capacity(proto.input.len());
    for name in &proto.input {
        if name.is_empty() {
            plan_inputs.push(PlanInput::Absent);
        } else {
            let t = values.get(name).ok_or_else(|| {
                Stop::Fail(format!(
                    "node input '{name}' is neither a graph input with a data file nor an initializer"
                ))
            })?;
            plan_inputs.push(PlanInput::Constant(t));
        }
    }
    let run_inputs: Vec<Option<&Tensor>> = plan_inputs
        .iter()
        .map(|p| match p {
            PlanInput::Constant(t) => Some(*t),
            _ => None,
        })
        .collect();

    let mut expected = Vec::with_capacity(output_files.len());
    if output_files.len() > graph.output.len() {
        return Err(Stop::Fail(format!(
            "{set_name}: {} output files for {} graph outputs",
            output_files.len(),
            graph.output.len()
        )));
    }
    for (path, vi) in output_files.iter().zip(&graph.output) {
        let name = vi.name.clone().unwrap_or_default();
        let (tp, rel) = read_tensor(path, case_dir)?;
        let t =
            tensor_from_proto(&tp).map_err(|e| e.into_stop(&format!("output '{name}' ({rel})")))?;
        let pos = proto
            .output
            .iter()
            .position(|o| *o == name)
            .ok_or_else(|| {
                Stop::Fail(format!(
                    "graph output '{name}' is not an output of the node {:?}",
                    proto.output
                ))
            })?;
        expected.push((name, pos, t));
    }

    let opts = Options::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let plan = ops::plan_node(node, &plan_inputs, &opts).map_err(|e| ops_stop("plan", e))?;
        let describe = plan.describe();
        let got = plan.run(&run_inputs).map_err(|e| ops_stop("run", e))?;
        Ok::<_, Stop>((describe, got))
    }));
    let (describe, got) = match outcome {
        Ok(r) => r?,
        Err(p) => {
            return Err(Stop::Fail(format!(
                "{set_name}: ops panicked: {}",
                panic_message(p)
            )))
        }
    };
    let mut notes = Vec::new();
    for (name, pos, e) in &expected {
        let what = format!("{set_name} output {pos} '{name}'");
        let g = got.get(*pos).ok_or_else(|| {
            Stop::Fail(format!("{what}: the plan returned {} output(s)", got.len()))
        })?;
        if let Some(n) = compare(&what, e, g, &describe).map_err(Stop::Fail)? {
            notes.push(n);
        }
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((describe, note))
}

fn case_name(dir: &Path) -> String {
    dir.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// Runs one node-test folder. Never panics (a panic inside `ops` is a FAIL).
pub fn run_case(dir: &Path) -> CaseResult {
    let mut r = CaseResult {
        name: case_name(dir),
        dir: dir.to_path_buf(),
        op_type: String::new(),
        domain: String::new(),
        opset: None,
        status: Status::Fail,
        detail: String::new(),
        tolerance_note: None,
        data_sets: 0,
    };
    match run_case_inner(dir, &mut r) {
        Ok((describe, note)) => {
            r.status = Status::Pass;
            r.detail = describe;
            r.tolerance_note = note;
        }
        Err(Stop::Fail(m)) => {
            r.status = Status::Fail;
            r.detail = m;
        }
        Err(Stop::Skip(m)) => {
            r.status = Status::Skip;
            r.detail = m;
        }
    }
    r
}

fn run_case_inner(dir: &Path, r: &mut CaseResult) -> Result<(String, Option<String>), Stop> {
    let model_path = dir.join("model.onnx");
    let bytes = read_file_limited(&model_path, "model.onnx").map_err(Stop::Fail)?;
    let model = onnx::decode_model(&bytes).map_err(|e| Stop::Fail(format!("model.onnx: {e}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Stop::Fail("model.onnx has no graph".into()))?;
    if let [only] = graph.node.as_slice() {
        r.op_type = only.op_type.clone().unwrap_or_default();
        r.domain = only.domain.clone().unwrap_or_default();
    }
    let dom = |d: &str| if d == "ai.onnx" { "" } else { d }.to_string();
    r.opset = model
        .opset_import
        .iter()
        .find(|o| dom(o.domain.as_deref().unwrap_or("")) == dom(&r.domain))
        .and_then(|o| o.version);
    let proto = match graph.node.as_slice() {
        [only] => only,
        nodes => {
            return Err(Stop::Skip(format!(
                "the graph has {} nodes (the runner takes single-node tests)",
                nodes.len()
            )))
        }
    };
    let node = node_from_proto(proto)?;
    let mut initializers = BTreeMap::new();
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        let v = tensor_from_proto(t).map_err(|e| e.into_stop(&format!("initializer '{name}'")))?;
        initializers.insert(name, v);
    }
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Stop::Fail(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("test_data_set_"))
        })
        .collect();
    sets.sort_by_key(|p| {
        let n = case_name(p);
        (
            n.trim_start_matches("test_data_set_")
                .parse::<usize>()
                .unwrap_or(usize::MAX),
            n,
        )
    });
    if sets.is_empty() {
        return Err(Stop::Fail("no test_data_set_* folder".into()));
    }
    let mut describe = String::new();
    let mut notes = Vec::new();
    for set in &sets {
        let (d, n) = run_data_set(&node, proto, graph, &initializers, set, dir)?;
        r.data_sets += 1;
        describe = d;
        notes.extend(n);
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok((describe, note))
}

/// The node-test folders under `dirs`: each is one (it has `model.onnx`) or holds them one
/// level down. Sorted by path within each argument.
pub fn find_cases(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut cases = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(format!("{}: not a directory", d.display()));
        }
        if d.join("model.onnx").is_file() {
            cases.push(d.clone());
            continue;
        }
        let rd = std::fs::read_dir(d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        let mut sub: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && p.join("model.onnx").is_file())
            .collect();
        if sub.is_empty() {
            eprintln!(
                "kbench conformance: {}: no model.onnx in it or its subfolders",
                d.display()
            );
        }
        sub.sort();
        cases.extend(sub);
    }
    Ok(cases)
}

/// Counts per status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// PASS count.
    pub passed: usize,
    /// FAIL count.
    pub failed: usize,
    /// SKIP count.
    pub skipped: usize,
}

impl Tally {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
        }
    }
    /// `N passed, M failed, K skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

fn write_json(path: &Path, results: &[CaseResult], total: &Tally) -> Result<(), String> {
    let mut by_op: BTreeMap<String, Tally> = BTreeMap::new();
    for r in results {
        by_op.entry(r.op_type.clone()).or_default().add(r.status);
    }
    let v = serde_json::json!({
        "passed": total.passed,
        "failed": total.failed,
        "skipped": total.skipped,
        "tolerance": {"rtol": RTOL, "atol": ATOL},
        "by_operator": by_op.iter().map(|(k, t)| (k.clone(), serde_json::json!({
            "passed": t.passed, "failed": t.failed, "skipped": t.skipped
        }))).collect::<serde_json::Map<_, _>>(),
        "cases": results.iter().map(CaseResult::to_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&v).map_err(|e| format!("cannot serialise: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The `kbench conformance` command: exit 0 if nothing failed, 1 if something did, 2 on a usage
/// error (missing folder, no cases found, unwritable JSON).
pub fn run(dirs: &[PathBuf], json: Option<&Path>) -> ExitCode {
    if dirs.is_empty() {
        eprintln!("kbench conformance: give at least one node-test folder");
        return ExitCode::from(2);
    }
    let cases = match find_cases(dirs) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kbench conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if cases.is_empty() {
        eprintln!("kbench conformance: no node-test folders (with model.onnx) found");
        return ExitCode::from(2);
    }
    let mut total = Tally::default();
    let mut by_op: BTreeMap<String, Tally> = BTreeMap::new();
    let mut results = Vec::with_capacity(cases.len());
    let stdout = std::io::stdout();
    for dir in &cases {
        let r = run_case(dir);
        total.add(r.status);
        let op = if r.op_type.is_empty() {
            "(unread)".to_string()
        } else {
            r.op_type.clone()
        };
        by_op.entry(op).or_default().add(r.status);
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", r.line());
        let _ = out.flush();
        results.push(r);
    }
    println!("by operator:");
    for (op, t) in &by_op {
        println!("  {op}: {}", t.line());
    }
    let mut code = if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if let Some(p) = json {
        if let Err(e) = write_json(p, &results, &total) {
            eprintln!("kbench conformance: {e}");
            code = ExitCode::from(2);
        }
    }
    println!("{}", total.line());
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::f32(shape, v).unwrap()
    }

    #[test]
    fn float_tolerance_is_onnx_default() {
        let e = f(vec![3], vec![1.0, 1000.0, 0.0]);
        let ok = f(vec![3], vec![1.0009, 1000.9, 0.5e-7]);
        assert_eq!(compare("y", &e, &ok, "ref").unwrap(), None);
        let bad = f(vec![3], vec![1.0, 1001.5, 0.0]);
        let err = compare("y", &e, &bad, "ref").unwrap_err();
        assert!(err.contains("index 1 [1]"), "{err}");
        let bad0 = f(vec![3], vec![1.0, 1000.0, 2e-7]);
        assert!(compare("y", &e, &bad0, "ref").is_err());
    }

    #[test]
    fn nan_and_inf_match_only_themselves() {
        let e = f(vec![2], vec![f32::NAN, f32::INFINITY]);
        assert!(compare("y", &e, &e.clone(), "x").unwrap().is_none());
        let g = f(vec![2], vec![0.0, f32::INFINITY]);
        assert!(compare("y", &e, &g, "x").is_err());
    }

    #[test]
    fn gate_loosens_only_for_named_algorithms() {
        // RMS of expected = 1; an error of 5e-5 at an expected 0 fails ONNX's tolerance, passes the
        // Winograd gate (1e-4 * RMS), fails the direct/GEMM gate (2e-5 * RMS).
        let e = f(vec![2], vec![0.0, std::f32::consts::SQRT_2]);
        let g = f(vec![2], vec![5e-5, std::f32::consts::SQRT_2]);
        assert!(compare("y", &e, &g, "no algorithm").is_err());
        let note = compare("y", &e, &g, "winograd F(6x6,3x3) avx512")
            .unwrap()
            .unwrap();
        assert!(note.contains("Winograd gate"), "{note}");
        assert!(compare("y", &e, &g, "im2col+gemm").is_err());
    }

    #[test]
    fn integers_exact_with_multi_index() {
        let e = Tensor::u8(vec![2, 2], vec![1, 2, 3, 4]).unwrap();
        let g = Tensor::u8(vec![2, 2], vec![1, 2, 3, 5]).unwrap();
        let err = compare("y", &e, &g, "").unwrap_err();
        assert!(err.contains("index 3 [1, 1]: expected 4, got 5"), "{err}");
        let g8 = Tensor::i8(vec![2, 2], vec![1, 2, 3, 4]).unwrap();
        assert!(compare("y", &e, &g8, "").unwrap_err().contains("type"));
        let gs = Tensor::u8(vec![4], vec![1, 2, 3, 4]).unwrap();
        assert!(compare("y", &e, &gs, "").unwrap_err().contains("shape"));
    }

    #[test]
    fn tensor_proto_conversion() {
        let t = TensorProto {
            dims: vec![2],
            data_type: Some(data_type::UINT8),
            int32_data: vec![7, 255],
            ..Default::default()
        };
        assert_eq!(
            tensor_from_proto(&t).unwrap(),
            Tensor::u8(vec![2], vec![7, 255]).unwrap()
        );
        let raw = TensorProto {
            dims: vec![],
            data_type: Some(data_type::FLOAT),
            raw_data: Some(1.5f32.to_le_bytes().to_vec()),
            ..Default::default()
        };
        assert_eq!(tensor_from_proto(&raw).unwrap(), Tensor::scalar_f32(1.5));
        let short = TensorProto {
            raw_data: Some(vec![0; 3]),
            ..raw.clone()
        };
        assert!(matches!(
            tensor_from_proto(&short),
            Err(LoadError::Malformed(_))
        ));
        let half = TensorProto {
            data_type: Some(10),
            ..raw.clone()
        };
        assert_eq!(
            tensor_from_proto(&half),
            Err(LoadError::Unsupported("type float16 not supported".into()))
        );
        let out_of_range = TensorProto {
            dims: vec![1],
            data_type: Some(data_type::INT8),
            int32_data: vec![200],
            ..Default::default()
        };
        assert!(tensor_from_proto(&out_of_range).is_err());
        let huge = TensorProto {
            dims: vec![i64::MAX, i64::MAX],
            data_type: Some(data_type::INT64),
            ..Default::default()
        };
        assert!(matches!(
            tensor_from_proto(&huge),
            Err(LoadError::Malformed(_))
        ));
    }

    #[test]
    fn multi_index_row_major() {
        assert_eq!(multi_index(&[2, 3, 4], 23), vec![1, 2, 3]);
        assert_eq!(multi_index(&[], 0), Vec::<usize>::new());
    }
}
