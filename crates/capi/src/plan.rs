//! Operator plans from ONNX-style nodes: `ek_plan_create` / `ek_plan_run` / `ek_plan_destroy`,
//! and the outputs of a run (`ek_outputs_*`).

use crate::error::{self, guard, guard_value, Error, Result};
use crate::EkStatus;
use ops::{Attribute, DataType, Node, PlanInput, Tensor, TensorData};
use std::ffi::{c_char, c_void};

/// Element types (values of `EkTensor::dtype`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkDataType {
    /// `float`.
    F32 = 1,
    /// `uint8_t`.
    U8 = 2,
    /// `int8_t`.
    I8 = 3,
    /// `int32_t`.
    I32 = 6,
    /// `int64_t`.
    I64 = 7,
}

/// A dense row-major tensor passed to or returned by the library. `data` points to `len`
/// elements of `dtype` (an `EkDataType` value); `len` must equal the product of the `rank`
/// dimensions at `shape`. The memory stays the caller's (inputs) or the `EkOutputs` object's
/// (outputs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkTensor {
    /// An `EkDataType` value.
    pub dtype: i32,
    /// Number of dimensions (0 for a scalar).
    pub rank: usize,
    /// `rank` dimensions (may be NULL when `rank == 0`).
    pub shape: *const usize,
    /// `len` elements (may be NULL when `len == 0`).
    pub data: *const c_void,
    /// Number of elements.
    pub len: usize,
}

/// Kinds of `EkPlanInput`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkInputKind {
    /// An omitted optional input (ONNX's empty name); `tensor` is ignored.
    Absent = 0,
    /// A value known at plan time (weights, bias, scales, zero points): `tensor` is read fully
    /// and copied into the plan.
    Constant = 1,
    /// Only the type and shape are known (`tensor.dtype`, `rank`, `shape`; `data` and `len` are
    /// ignored); the value is passed to `ek_plan_run` at the same position.
    Runtime = 2,
}

/// One node input at plan time.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkPlanInput {
    /// An `EkInputKind` value.
    pub kind: i32,
    /// The tensor (see `EkInputKind`).
    pub tensor: EkTensor,
}

/// Kinds of `EkAttribute`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkAttributeKind {
    /// `INT`: `i`.
    Int = 1,
    /// `INTS`: `ints[0..len]`.
    Ints = 2,
    /// `FLOAT`: `f`.
    Float = 3,
    /// `FLOATS`: `floats[0..len]`.
    Floats = 4,
    /// `STRING`: `s` (NUL-terminated UTF-8).
    String = 5,
}

/// One ONNX attribute (e.g. `pads`, `strides`, `group`, `kernel_shape`, `transB`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkAttribute {
    /// Attribute name, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// An `EkAttributeKind` value: which of the fields below is read.
    pub kind: i32,
    /// `INT` value.
    pub i: i64,
    /// `FLOAT` value.
    pub f: f32,
    /// `INTS` values (`len` of them).
    pub ints: *const i64,
    /// `FLOATS` values (`len` of them).
    pub floats: *const f32,
    /// Number of `ints` or `floats`.
    pub len: usize,
    /// `STRING` value.
    pub s: *const c_char,
}

/// Activation layouts (`EkPlanOptions::layout`, `EkConvDesc` users).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkLayout {
    /// `N×C×H×W` (ONNX).
    Nchw = 0,
    /// `N×H×W×C` (TFLite, QNNPACK): the int8 and depthwise kernels run it without conversion.
    Nhwc = 1,
}

/// Plan-time options; pass NULL for the defaults (all fields 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EkPlanOptions {
    /// Threads per run; 0: `ek_get_default_threads()`.
    pub threads: usize,
    /// An `EkLayout` value for convolution activations.
    pub layout: i32,
    /// The largest tensor a plan may allocate, in bytes; 0: the library default (2 GiB).
    pub max_tensor_bytes: usize,
}

/// An operator plan (opaque).
pub struct EkPlan {
    plan: Box<dyn ops::Plan>,
}

/// The outputs of one `ek_plan_run` (opaque).
pub struct EkOutputs {
    tensors: Vec<Tensor>,
}

pub(crate) fn dtype(code: i32, what: &str) -> Result<DataType> {
    Ok(match code {
        1 => DataType::F32,
        2 => DataType::U8,
        3 => DataType::I8,
        6 => DataType::I32,
        7 => DataType::I64,
        c => return Err(Error::invalid(format!("{what}: unknown dtype {c}"))),
    })
}

fn dtype_code(d: DataType) -> i32 {
    match d {
        DataType::F32 => EkDataType::F32 as i32,
        DataType::U8 => EkDataType::U8 as i32,
        DataType::I8 => EkDataType::I8 as i32,
        DataType::I32 => EkDataType::I32 as i32,
        DataType::I64 => EkDataType::I64 as i32,
        _ => 0,
    }
}

/// The shape of a C tensor.
///
/// # Safety
/// `t.shape` must be valid for `t.rank` reads (if `rank > 0`).
unsafe fn shape_of(t: &EkTensor, what: &str) -> Result<Vec<usize>> {
    // SAFETY: forwarded contract.
    Ok(unsafe { error::slice(t.shape, t.rank, &format!("{what}.shape"))? }.to_vec())
}

/// Copies a C tensor into an `ops` tensor (checking the length against the shape).
///
/// # Safety
/// `t.shape` valid for `t.rank` reads, `t.data` for `t.len` reads of its type.
pub(crate) unsafe fn tensor_from_c(t: &EkTensor, what: &str) -> Result<Tensor> {
    let dt = dtype(t.dtype, what)?;
    // SAFETY: forwarded contract.
    let shape = unsafe { shape_of(t, what)? };
    let n = ops::limits::elements(&shape, what)?;
    if n != t.len {
        return Err(Error::invalid(format!(
            "{what}: len {} does not match shape {shape:?} ({n} elements)",
            t.len
        )));
    }
    let field = format!("{what}.data");
    // SAFETY: (every arm) `t.data` is valid for `t.len` reads of the element type named by
    // `t.dtype` (caller's contract); `slice` checks null, alignment and the byte size.
    let data = unsafe {
        match dt {
            DataType::F32 => {
                TensorData::F32(error::slice(t.data.cast::<f32>(), n, &field)?.to_vec())
            }
            DataType::U8 => TensorData::U8(error::slice(t.data.cast::<u8>(), n, &field)?.to_vec()),
            DataType::I8 => TensorData::I8(error::slice(t.data.cast::<i8>(), n, &field)?.to_vec()),
            DataType::I32 => {
                TensorData::I32(error::slice(t.data.cast::<i32>(), n, &field)?.to_vec())
            }
            DataType::I64 => {
                TensorData::I64(error::slice(t.data.cast::<i64>(), n, &field)?.to_vec())
            }
            _ => return Err(Error::invalid(format!("{what}: unsupported dtype"))),
        }
    };
    Ok(Tensor::new(shape, data)?)
}

/// # Safety
/// See `EkAttribute`: the pointers its `kind` selects must be valid.
unsafe fn attribute_from_c(a: &EkAttribute, i: usize) -> Result<(String, Attribute)> {
    let what = format!("attributes[{i}]");
    // SAFETY: forwarded contract (name is NUL-terminated).
    let name = unsafe { error::string(a.name, &format!("{what}.name"))? }.to_string();
    // SAFETY: (every arm) the array/string `kind` selects is valid for `len` reads or
    // NUL-terminated (caller's contract); `slice`/`string` check null and sizes.
    let value = unsafe {
        match a.kind {
            1 => Attribute::Int(a.i),
            2 => Attribute::Ints(error::slice(a.ints, a.len, &format!("{what}.ints"))?.to_vec()),
            3 => Attribute::Float(a.f),
            4 => Attribute::Floats(
                error::slice(a.floats, a.len, &format!("{what}.floats"))?.to_vec(),
            ),
            5 => Attribute::String(error::string(a.s, &format!("{what}.s"))?.to_string()),
            k => {
                return Err(Error::invalid(format!(
                    "{what} ({name}): unknown attribute kind {k}"
                )))
            }
        }
    };
    Ok((name, value))
}

pub(crate) fn layout(code: i32) -> Result<ops::Layout> {
    match code {
        0 => Ok(ops::Layout::Nchw),
        1 => Ok(ops::Layout::Nhwc),
        l => Err(Error::invalid(format!("unknown layout {l}"))),
    }
}

/// Plans an ONNX-style node. `op_type` is the ONNX operator name (`"QLinearConv"`, ...);
/// `attributes[0..num_attributes]` its attributes; `inputs[0..num_inputs]` its inputs in ONNX
/// order (constants are copied into the plan, which packs them; the caller may free them after
/// the call). `options` may be NULL. On success `*plan` receives a handle for `ek_plan_run`,
/// released with `ek_plan_destroy`; on failure it is set to NULL.
///
/// # Safety
/// `op_type` is NUL-terminated; `attributes` and `inputs` point to the stated numbers of
/// elements (may be NULL when the number is 0) whose pointers satisfy `EkAttribute` /
/// `EkTensor`; `options` is NULL or valid; `plan` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_plan_create(
    op_type: *const c_char,
    attributes: *const EkAttribute,
    num_attributes: usize,
    inputs: *const EkPlanInput,
    num_inputs: usize,
    options: *const EkPlanOptions,
    plan: *mut *mut EkPlan,
) -> EkStatus {
    guard("ek_plan_create", || {
        // SAFETY: `plan` valid for a write (caller's contract; null checked).
        unsafe { error::write_out(plan, std::ptr::null_mut(), "plan")? };
        // SAFETY: the caller's contract for each pointer; the helpers check null and sizes.
        let (op, attrs, ins, opts) = unsafe {
            (
                error::string(op_type, "op_type")?,
                error::slice(attributes, num_attributes, "attributes")?,
                error::slice(inputs, num_inputs, "inputs")?,
                if options.is_null() {
                    EkPlanOptions::default()
                } else {
                    *error::handle(options, "options")?
                },
            )
        };
        let mut node = Node::new(op);
        for (i, a) in attrs.iter().enumerate() {
            // SAFETY: caller's contract for the attribute's pointers.
            let (name, value) = unsafe { attribute_from_c(a, i)? };
            node = node.with(&name, value);
        }
        // Owned copies first (constants), then the borrowed PlanInput views over them.
        let mut constants: Vec<Option<Tensor>> = Vec::with_capacity(ins.len());
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(ins.len());
        for (i, inp) in ins.iter().enumerate() {
            let what = format!("inputs[{i}]");
            match inp.kind {
                0 => {
                    constants.push(None);
                    shapes.push(Vec::new());
                }
                1 => {
                    // SAFETY: caller's contract for the tensor's pointers.
                    let t = unsafe { tensor_from_c(&inp.tensor, &what)? };
                    constants.push(Some(t));
                    shapes.push(Vec::new());
                }
                2 => {
                    dtype(inp.tensor.dtype, &what)?;
                    constants.push(None);
                    // SAFETY: caller's contract for the shape pointer.
                    shapes.push(unsafe { shape_of(&inp.tensor, &what)? });
                }
                k => return Err(Error::invalid(format!("{what}: unknown input kind {k}"))),
            }
        }
        let mut plan_inputs = Vec::with_capacity(ins.len());
        for (i, inp) in ins.iter().enumerate() {
            plan_inputs.push(match (inp.kind, &constants[i]) {
                (1, Some(t)) => PlanInput::Constant(t),
                (2, _) => PlanInput::Runtime {
                    dtype: dtype(inp.tensor.dtype, "input")?,
                    shape: &shapes[i],
                },
                _ => PlanInput::Absent,
            });
        }
        let o = ops::Options {
            layout: layout(opts.layout)?,
            threads: Some(crate::resolve_threads(opts.threads)),
            max_tensor_bytes: (opts.max_tensor_bytes != 0).then_some(opts.max_tensor_bytes),
            ..ops::Options::default()
        };
        let p = ops::plan_node(&node, &plan_inputs, &o)?;
        let boxed = Box::into_raw(Box::new(EkPlan { plan: p }));
        // SAFETY: checked valid above.
        unsafe { plan.write(boxed) };
        Ok(())
    })
}

/// Runs a plan. `inputs[0..num_inputs]` are pointers to the node's inputs in ONNX order: NULL
/// for omitted inputs and for plan-time constants (which may also be repeated; they are
/// ignored). On success `*outputs` receives the outputs (read them with `ek_outputs_count` /
/// `ek_outputs_get`, release with `ek_outputs_destroy`); on failure it is set to NULL.
///
/// # Safety
/// `plan` is a live plan handle; `inputs` points to `num_inputs` pointers (may be NULL when
/// `num_inputs == 0`), each NULL or a valid `EkTensor`; `outputs` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_plan_run(
    plan: *const EkPlan,
    inputs: *const *const EkTensor,
    num_inputs: usize,
    outputs: *mut *mut EkOutputs,
) -> EkStatus {
    guard("ek_plan_run", || {
        // SAFETY: caller's contract; null and sizes checked by the helpers.
        let (p, ins) = unsafe {
            error::write_out(outputs, std::ptr::null_mut(), "outputs")?;
            (
                error::handle(plan, "plan")?,
                error::slice(inputs, num_inputs, "inputs")?,
            )
        };
        let mut owned: Vec<Option<Tensor>> = Vec::with_capacity(ins.len());
        for (i, &t) in ins.iter().enumerate() {
            owned.push(if t.is_null() {
                None
            } else {
                // SAFETY: non-null pointers point to valid `EkTensor`s (caller's contract).
                Some(unsafe { tensor_from_c(&*t, &format!("inputs[{i}]"))? })
            });
        }
        let refs: Vec<Option<&Tensor>> = owned.iter().map(Option::as_ref).collect();
        let tensors = p.plan.run(&refs)?;
        let boxed = Box::into_raw(Box::new(EkOutputs { tensors }));
        // SAFETY: checked valid above.
        unsafe { outputs.write(boxed) };
        Ok(())
    })
}

/// Writes which algorithm and micro-kernel the plan runs (e.g. `qconv-direct
/// igemm_4x8c4__avx2`) into `buf` (capacity `len` bytes, NUL-terminated, truncated) and returns
/// the bytes needed including the NUL; 0 if `plan` is NULL.
///
/// # Safety
/// `plan` is NULL or a live plan; `buf` is NULL or valid for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn ek_plan_describe(
    plan: *const EkPlan,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: caller's contract for `plan` and `buf`.
    unsafe {
        error::describe(
            "ek_plan_describe",
            plan,
            "plan",
            |h| h.plan.describe(),
            buf,
            len,
        )
    }
}

/// Releases a plan (NULL is ignored).
///
/// # Safety
/// `plan` is NULL or a live plan not in use by another thread; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_plan_destroy(plan: *mut EkPlan) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_plan_destroy", plan) }
}

/// Number of output tensors (0 if `outputs` is NULL).
///
/// # Safety
/// `outputs` is NULL or a live outputs handle.
#[no_mangle]
pub unsafe extern "C" fn ek_outputs_count(outputs: *const EkOutputs) -> usize {
    // SAFETY: caller's contract.
    guard_value("ek_outputs_count", 0, || unsafe {
        error::handle(outputs, "outputs").map_or(0, |o| o.tensors.len())
    })
}

/// Describes output `index` in `*tensor`; its `shape` and `data` pointers stay valid until
/// `ek_outputs_destroy`.
///
/// # Safety
/// `outputs` is a live outputs handle; `tensor` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_outputs_get(
    outputs: *const EkOutputs,
    index: usize,
    tensor: *mut EkTensor,
) -> EkStatus {
    guard("ek_outputs_get", || {
        // SAFETY: caller's contract.
        let o = unsafe { error::handle(outputs, "outputs")? };
        let t = o.tensors.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "output index {index} out of range ({} outputs)",
                o.tensors.len()
            ))
        })?;
        let data: *const c_void = match t.data() {
            TensorData::F32(v) => v.as_ptr().cast(),
            TensorData::U8(v) => v.as_ptr().cast(),
            TensorData::I8(v) => v.as_ptr().cast(),
            TensorData::I32(v) => v.as_ptr().cast(),
            TensorData::I64(v) => v.as_ptr().cast(),
        };
        let view = EkTensor {
            dtype: dtype_code(t.dtype()),
            rank: t.shape().len(),
            shape: t.shape().as_ptr(),
            data,
            len: t.len(),
        };
        // SAFETY: caller's contract (null and alignment checked).
        unsafe { error::write_out(tensor, view, "tensor") }
    })
}

/// Releases the outputs of a run (NULL is ignored).
///
/// # Safety
/// `outputs` is NULL or a live outputs handle; it and the views taken from it are invalid
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_outputs_destroy(outputs: *mut EkOutputs) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_outputs_destroy", outputs) }
}
