//! Helpers shared by the C ABI tests: status checks, C tensor and attribute literals, and a
//! whole `ek_plan_create` → `ek_plan_run` → `ek_outputs_get` round trip.

// Each test binary uses a different subset.
#![allow(dead_code)]

use edge_kernels::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};

/// The calling thread's last error message.
pub fn last_error() -> String {
    // SAFETY: the getter returns a NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(ek_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts `EK_STATUS_OK`, printing the last error otherwise.
pub fn ok(s: EkStatus) {
    assert_eq!(s, EkStatus::Ok, "{}", last_error());
}

/// The text a `*_describe`-style function `f(buf, len)` writes, checking its snprintf contract.
pub fn text(f: impl Fn(*mut c_char, usize) -> usize) -> String {
    let need = f(null_mut(), 0);
    let mut buf = vec![0 as c_char; need];
    assert_eq!(f(buf.as_mut_ptr(), buf.len()), need);
    // SAFETY: the library NUL-terminated the buffer.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// A C tensor view of `len` elements at `data` with `shape`.
pub fn tensor(dtype: EkDataType, shape: &[usize], data: *const c_void, len: usize) -> EkTensor {
    EkTensor {
        dtype: dtype as i32,
        rank: shape.len(),
        shape: shape.as_ptr(),
        data,
        len,
    }
}

/// A rank-0 C tensor view of `*v`.
pub fn scalar<T>(dtype: EkDataType, v: &T) -> EkTensor {
    tensor(dtype, &[], (v as *const T).cast(), 1)
}

/// A plan-time constant input.
pub fn constant(tensor: EkTensor) -> EkPlanInput {
    EkPlanInput {
        kind: EkInputKind::Constant as i32,
        tensor,
    }
}

/// A run-time input of type `dtype` and `shape`.
pub fn runtime(dtype: EkDataType, shape: &[usize]) -> EkPlanInput {
    EkPlanInput {
        kind: EkInputKind::Runtime as i32,
        tensor: tensor(dtype, shape, null(), 0),
    }
}

/// An `INT` (`ints` empty) or `INTS` attribute.
pub fn attr(name: &'static CStr, kind: EkAttributeKind, ints: &[i64], i: i64) -> EkAttribute {
    EkAttribute {
        name: name.as_ptr(),
        kind: kind as i32,
        i,
        f: 0.0,
        ints: ints.as_ptr(),
        floats: null(),
        len: ints.len(),
        s: null(),
    }
}

/// Single-threaded NHWC plan options.
pub fn nhwc_options() -> EkPlanOptions {
    EkPlanOptions {
        threads: 1,
        layout: EkLayout::Nhwc as i32,
        max_tensor_bytes: 0,
    }
}

/// Plans `op` (NHWC, one thread), runs it on `run_in` and returns its single u8 output's shape
/// and data, checking `ek_plan_describe`, `ek_outputs_count` and an out-of-range
/// `ek_outputs_get` on the way.
///
/// # Safety
/// Every pointer in `attrs`, `inputs` and `run_in` is valid for its stated length.
pub unsafe fn run_plan_u8(
    op: &CStr,
    attrs: &[EkAttribute],
    inputs: &[EkPlanInput],
    run_in: &[*const EkTensor],
) -> (Vec<usize>, Vec<u8>) {
    let (mut plan, mut out) = (null_mut(), null_mut());
    let mut yt = tensor(EkDataType::U8, &[], null(), 0);
    // SAFETY: valid pointers and lengths (caller's contract); the output view is read before
    // its handle is destroyed; each handle is destroyed once.
    unsafe {
        ok(ek_plan_create(
            op.as_ptr(),
            attrs.as_ptr(),
            attrs.len(),
            inputs.as_ptr(),
            inputs.len(),
            &nhwc_options(),
            &mut plan,
        ));
        assert!(!text(|b, l| ek_plan_describe(plan, b, l)).is_empty());
        ok(ek_plan_run(plan, run_in.as_ptr(), run_in.len(), &mut out));
        assert_eq!(ek_outputs_count(out), 1);
        ok(ek_outputs_get(out, 0, &mut yt));
        assert_eq!(
            ek_outputs_get(out, 1, &mut yt),
            EkStatus::InvalidArgument,
            "index out of range"
        );
        assert_eq!(yt.dtype, EkDataType::U8 as i32);
        let shape = std::slice::from_raw_parts(yt.shape, yt.rank).to_vec();
        let y = std::slice::from_raw_parts(yt.data.cast::<u8>(), yt.len).to_vec();
        ek_outputs_destroy(out);
        ek_plan_destroy(plan);
        (shape, y)
    }
}

/// `ek_qconv_u8s8_run` on slices.
///
/// # Safety
/// `conv` is a live handle.
pub unsafe fn qconv_run(conv: *const EkQConv, x: &[u8], y: &mut [u8]) -> EkStatus {
    // SAFETY: caller's contract for `conv`; the slices give valid pointers and lengths.
    unsafe { ek_qconv_u8s8_run(conv, x.as_ptr(), x.len(), y.as_mut_ptr(), y.len()) }
}

/// `ek_qgemm_u8s8_run` on slices.
///
/// # Safety
/// `gemm` is a live handle.
pub unsafe fn qgemm_run(gemm: *const EkQGemm, m: usize, a: &[u8], y: &mut [u8]) -> EkStatus {
    // SAFETY: caller's contract for `gemm`; the slices give valid pointers and lengths.
    unsafe { ek_qgemm_u8s8_run(gemm, m, a.as_ptr(), a.len(), y.as_mut_ptr(), y.len()) }
}

/// A quantized GEMM of the `k × n` weights `b`, asserting success.
pub fn qgemm_create(k: usize, n: usize, b: &[i8], q: &EkQuantU8S8, threads: usize) -> *mut EkQGemm {
    let mut g = null_mut();
    // SAFETY: `b` and `q` are valid (its scales are the caller's: `EkQuantU8S8` holds a
    // pointer); `g` is a local.
    ok(unsafe { ek_qgemm_u8s8_create(k, n, b.as_ptr(), b.len(), q, threads, &mut g) });
    g
}
