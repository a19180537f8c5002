//! Status codes, the thread-local last-error message, the panic guard and the checked conversion
//! of C pointers into Rust slices and strings.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The result of every fallible `ek_` function. On anything but `EK_STATUS_OK`,
/// `ek_last_error_message()` describes the failure on the calling thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkStatus {
    /// Success.
    Ok = 0,
    /// A null pointer, a length that does not match, an out-of-range enum value, a size whose
    /// arithmetic overflows, or a string that is not UTF-8.
    InvalidArgument = 1,
    /// The operator, attribute value or type combination is not implemented.
    Unsupported = 2,
    /// Inconsistent shapes (or a tensor larger than the plan's size limit).
    Shape = 3,
    /// Wrong element type.
    Type = 4,
    /// A bad attribute value.
    Attribute = 5,
    /// A required input is missing.
    MissingInput = 6,
    /// An invalid quantization parameter (scale, zero point).
    Quantization = 7,
    /// A kernel refused the problem.
    Kernel = 8,
    /// A bug inside the library (a caught panic); the message says where. The handle involved
    /// should be destroyed.
    Internal = 9,
}

/// An error on its way to the C caller: a status and a message.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) status: EkStatus,
    pub(crate) message: String,
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error {
            status: EkStatus::InvalidArgument,
            message: message.into(),
        }
    }
}

impl From<ops::OpsError> for Error {
    fn from(e: ops::OpsError) -> Error {
        use ops::OpsError as O;
        let status = match &e {
            O::Unsupported(_) => EkStatus::Unsupported,
            O::Shape(_) => EkStatus::Shape,
            O::Type(_) => EkStatus::Type,
            O::Attribute(_) => EkStatus::Attribute,
            O::MissingInput(_) => EkStatus::MissingInput,
            O::Quantization(_) => EkStatus::Quantization,
            O::Kernel(_) => EkStatus::Kernel,
            _ => EkStatus::Unsupported,
        };
        Error {
            status,
            message: e.to_string(),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NUL bytes cannot be represented in a C string: replace them.
    let clean = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = clean);
}

/// Runs `f` with every panic caught: its error (or the panic) becomes the returned status and
/// the thread's last-error message. The message is left unchanged on success.
pub(crate) fn guard(name: &str, f: impl FnOnce() -> Result<()>) -> EkStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => EkStatus::Ok,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message));
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            set_last_error(&format!("{name}: internal error (panic caught): {what}"));
            EkStatus::Internal
        }
    }
}

/// Runs `f`, a query that cannot fail except by a bug, returning `fallback` if it panics (the
/// panic is recorded as the last error).
pub(crate) fn guard_value<T>(name: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    let mut out = None;
    let status = guard(name, || {
        out = Some(f());
        Ok(())
    });
    match (status, out) {
        (EkStatus::Ok, Some(v)) => v,
        _ => fallback,
    }
}

/// A slice of `len` elements at `ptr`. `len == 0` accepts any pointer (also null); otherwise
/// the pointer must be non-null, aligned for `T`, and `len * size_of::<T>()` must not overflow
/// `isize`.
///
/// # Safety
/// If `len > 0`, `ptr` must point to `len` initialised elements valid for reads for `'a`, not
/// written through another pointer meanwhile.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_ptr(ptr, len, what)?;
    // SAFETY: non-null, aligned, size fits isize (checked above); validity for `len` reads is
    // the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The mutable version of [`slice`].
///
/// # Safety
/// If `len > 0`, `ptr` must point to `len` elements valid for reads and writes for `'a`, not
/// accessed through another pointer meanwhile.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize, what: &str) -> Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_ptr(ptr.cast_const(), len, what)?;
    // SAFETY: non-null, aligned, size fits isize (checked above); exclusive validity for `len`
    // elements is the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

fn check_ptr<T>(ptr: *const T, len: usize, what: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL with length {len}")));
    }
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::invalid(format!(
            "{what} is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    match len.checked_mul(std::mem::size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Error::invalid(format!(
            "{what}: {len} elements overflow the address space"
        ))),
    }
}

/// A reference to the object behind a handle, or an error naming it if the handle is null.
///
/// # Safety
/// A non-null `ptr` must come from the matching `create` function and not be destroyed.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} handle is NULL")));
    }
    // SAFETY: non-null; a live handle made by Box::into_raw is the caller's contract.
    Ok(unsafe { &*ptr })
}

/// A UTF-8 string from a NUL-terminated C string.
///
/// # Safety
/// A non-null `ptr` must point to a NUL-terminated string valid for reads.
pub(crate) unsafe fn string<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null; NUL termination is the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
}

/// Stores `value` through an out-pointer (checked for null).
///
/// # Safety
/// A non-null `out` must be valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    if !(out as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::invalid(format!("{what} is not aligned")));
    }
    // SAFETY: non-null and aligned (checked); validity for a write is the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// Copies `text` into `buf` (capacity `len` bytes) as a NUL-terminated string, truncated to
/// `len - 1` bytes; returns the bytes `text` needs including the NUL (snprintf style).
///
/// # Safety
/// A non-null `buf` must be valid for `len` byte writes.
pub(crate) unsafe fn copy_text(text: &str, buf: *mut c_char, len: usize) -> usize {
    let bytes = text.as_bytes();
    if !buf.is_null() && len > 0 {
        let n = bytes.len().min(len - 1);
        // SAFETY: `buf` is valid for `len > n` byte writes (caller's contract); `bytes` has at
        // least `n` bytes; the regions cannot overlap (ours is a Rust-owned string).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
    }
    bytes.len() + 1
}

/// The body of every `*_destroy` entry: drops the object behind a handle made by
/// `Box::into_raw` in its create function; NULL is ignored; a panic in a destructor is caught.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` made by `Box::into_raw`, not in use, destroyed
/// once.
pub(crate) unsafe fn destroy<T>(entry: &str, ptr: *mut T) {
    guard_value(entry, (), || {
        if !ptr.is_null() {
            // SAFETY: made by Box::into_raw in the create function, destroyed once (caller's
            // contract).
            drop(unsafe { Box::from_raw(ptr) });
        }
    })
}

/// The body of every `*_describe` entry: `text` of the object behind `ptr` copied into `buf`
/// as [`copy_text`] does; 0 if `ptr` is NULL.
///
/// # Safety
/// `ptr` is NULL or a live handle; `buf` is NULL or valid for `len` byte writes.
pub(crate) unsafe fn describe<T>(
    entry: &str,
    ptr: *const T,
    what: &str,
    text: impl FnOnce(&T) -> String,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guard_value(entry, 0, || {
        // SAFETY: caller's contract for `ptr`.
        match unsafe { handle(ptr, what) } {
            // SAFETY: caller's contract for `buf`.
            Ok(h) => unsafe { copy_text(&text(h), buf, len) },
            Err(_) => 0,
        }
    })
}

/// The last error message on the calling thread (empty if none yet): valid until the next
/// failing `ek_` call on this thread. Never NULL.
#[no_mangle]
pub extern "C" fn ek_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A static description of a status code (never NULL).
#[no_mangle]
pub extern "C" fn ek_status_string(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"invalid argument",
        2 => c"unsupported",
        3 => c"shape",
        4 => c"type",
        5 => c"attribute",
        6 => c"missing input",
        7 => c"quantization",
        8 => c"kernel",
        9 => c"internal error",
        _ => c"unknown status",
    };
    s.as_ptr()
}
