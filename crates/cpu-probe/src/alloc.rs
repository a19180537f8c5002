//! Fallible allocation shared by the kernel crates: a size that caller data makes impossible is
//! an error that names the buffer, never an abort.
//!
//! ```
//! use cpu_probe::alloc::{try_filled, try_with_capacity};
//! let v = try_filled(4, 7u8, "scratch").unwrap();
//! assert_eq!(v, [7; 4]);
//! let e = try_with_capacity::<u64>(usize::MAX / 4, "packed weights").unwrap_err();
//! assert!(e.to_string().starts_with("packed weights: cannot allocate"));
//! ```

use std::fmt;

/// An allocation the system refused (or whose size overflows), naming the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocError {
    /// What the buffer was for.
    pub what: String,
    /// Elements asked for.
    pub count: usize,
    /// Bytes per element.
    pub elem_bytes: usize,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot allocate {} elements of {} bytes",
            self.what, self.count, self.elem_bytes
        )?;
        match self.count.checked_mul(self.elem_bytes) {
            Some(b) => write!(f, " ({b} bytes)"),
            None => write!(f, " (more bytes than usize holds)"),
        }
    }
}

impl std::error::Error for AllocError {}

/// An empty vector with room for exactly `count` elements.
pub fn try_with_capacity<T>(count: usize, what: &str) -> Result<Vec<T>, AllocError> {
    let mut v = Vec::new();
    v.try_reserve_exact(count).map_err(|_| AllocError {
        what: what.to_string(),
        count,
        elem_bytes: std::mem::size_of::<T>(),
    })?;
    Ok(v)
}

/// A vector of `count` copies of `fill`.
pub fn try_filled<T: Clone>(count: usize, fill: T, what: &str) -> Result<Vec<T>, AllocError> {
    let mut v = try_with_capacity(count, what)?;
    v.resize(count, fill);
    Ok(v)
}
