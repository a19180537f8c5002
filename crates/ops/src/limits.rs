//! The limits `ops` enforces on caller data, and the checked size arithmetic behind them.
//!
//! Shapes, attributes and thread counts come from model files the runtime did not write. Every
//! size `ops` derives from them (element counts, output dimensions, padded copies, im2col
//! columns, batch products) is computed with checked arithmetic here, and every buffer `ops`
//! allocates is bounded and allocated fallibly, so hostile input is an [`OpsError`], never a
//! wrapped size, an out-of-bounds write or an abort:
//!
//! * convolution attributes (`kernel_shape`, `strides`, `dilations`, `pads`) are at most
//!   [`MAX_ATTRIBUTE`] (`u32::MAX`, the width XNNPACK's operator descriptors use);
//! * a tensor `ops` allocates (an output, a padded or re-laid-out copy, im2col columns) holds at
//!   most [`Options::max_tensor_bytes`](crate::Options::max_tensor_bytes) bytes, by default
//!   [`DEFAULT_MAX_TENSOR_BYTES`] (2 GiB: far above any activation of an edge model, and below
//!   what the allocator of a phone grants before the OOM killer steps in);
//! * thread counts are capped at [`MAX_THREADS`].
//!
//! ```
//! use ops::{plan_node, Attribute, Node, Options, PlanInput, Tensor};
//! // pads of 2^62 on a 1x1 image: refused at plan time, nothing is allocated.
//! let w = Tensor::f32(vec![1, 1, 1, 1], vec![1.0])?;
//! let node = Node::new("Conv").with("pads", Attribute::Ints(vec![1 << 62, 0, 1 << 62, 0]));
//! let x = PlanInput::Runtime { dtype: ops::DataType::F32, shape: &[1, 1, 1, 1] };
//! let err = plan_node(&node, &[x, PlanInput::Constant(&w)], &Options::default()).err().unwrap();
//! assert!(err.to_string().contains("pads"), "{err}");
//! # Ok::<(), ops::OpsError>(())
//! ```

use crate::OpsError;

/// The largest value of a convolution attribute (kernel size, stride, dilation, padding).
pub const MAX_ATTRIBUTE: u64 = u32::MAX as u64;

/// The default bound on one tensor `ops` allocates, in bytes (2 GiB).
pub const DEFAULT_MAX_TENSOR_BYTES: usize = 1 << 31;

/// The largest thread count a plan uses; larger requests are capped (the pool spins one OS
/// thread per count above one).
pub const MAX_THREADS: usize = cpu_probe::parallel::MAX_THREADS;

/// The number of elements of `shape`, or an error naming `what` if a partial product overflows
/// `usize` (a shape with a zero dimension and huge others is refused too: code that walks it
/// multiplies the other dimensions).
pub fn elements(shape: &[usize], what: &str) -> Result<usize, OpsError> {
    let mut n: usize = 1;
    for &d in shape {
        n = n.checked_mul(d.max(1)).ok_or_else(|| {
            OpsError::Shape(format!(
                "{what}: shape {shape:?} has more elements than usize can count"
            ))
        })?;
    }
    Ok(if shape.contains(&0) { 0 } else { n })
}

/// `a · b · …` checked, or an error naming `what`.
pub fn product(factors: &[usize], what: &str) -> Result<usize, OpsError> {
    elements(factors, what)
}

/// `a + b` checked, or an error naming `what`.
pub fn sum(a: usize, b: usize, what: &str) -> Result<usize, OpsError> {
    a.checked_add(b)
        .ok_or_else(|| OpsError::Shape(format!("{what}: {a} + {b} overflows usize")))
}

/// Checks that `count` elements of `T` fit `max_bytes`; `what` names the tensor in the error.
pub fn check_tensor<T>(count: usize, max_bytes: usize, what: &str) -> Result<(), OpsError> {
    let bytes = count.checked_mul(std::mem::size_of::<T>());
    match bytes {
        Some(b) if b <= max_bytes => Ok(()),
        _ => Err(OpsError::Shape(format!(
            "{what}: {count} elements of {} bytes exceed the tensor limit of {max_bytes} bytes \
             (Options::max_tensor_bytes)",
            std::mem::size_of::<T>()
        ))),
    }
}

/// A vector of `count` copies of `fill`, allocated fallibly: an allocation the system refuses is
/// an error naming `what`, not an abort.
pub fn filled<T: Clone>(count: usize, fill: T, what: &str) -> Result<Vec<T>, OpsError> {
    cpu_probe::alloc::try_filled(count, fill, what).map_err(|e| OpsError::Shape(e.to_string()))
}

/// A value clamped to `[lo, hi]` that keeps NaN (IEEE propagation, as ONNX Runtime and PyTorch
/// do): `f32::max`/`min` would turn a NaN into a bound.
#[inline]
pub fn clamp_nan(v: f32, lo: f32, hi: f32) -> f32 {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_counts_are_checked() {
        assert_eq!(elements(&[], "x").unwrap(), 1);
        assert_eq!(elements(&[2, 3], "x").unwrap(), 6);
        assert_eq!(elements(&[0, 3], "x").unwrap(), 0);
        // Half of usize's range (2^63 on 64-bit targets, 2^31 on 32-bit ones) times 3 overflows.
        let half = 1usize << (usize::BITS - 1);
        assert!(elements(&[half, 3], "x").is_err());
        // A zero dimension does not excuse the others.
        let root = 1usize << (usize::BITS / 2 + 4);
        assert!(elements(&[0, root, root], "x").is_err());
        assert!(check_tensor::<f32>(1 << 30, 1 << 31, "y").is_err());
        assert!(check_tensor::<u8>(1 << 30, 1 << 31, "y").is_ok());
        assert!(check_tensor::<f32>(usize::MAX, usize::MAX, "y").is_err());
    }

    #[test]
    fn clamp_keeps_nan() {
        assert!(clamp_nan(f32::NAN, 0.0, 6.0).is_nan());
        assert_eq!(clamp_nan(-1.0, 0.0, 6.0), 0.0);
        assert_eq!(clamp_nan(7.0, 0.0, 6.0), 6.0);
    }
}
