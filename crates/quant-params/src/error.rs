//! The crate's error type.

use std::fmt;

/// Everything that can be wrong with quantization parameters or their use.
///
/// Each message names the argument and the offending values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum QuantError {
    /// A scale that is NaN, infinite, zero or negative.
    BadScale {
        /// Which scale (e.g. `"input scale"`, `"weight scale of channel 3"`).
        what: String,
        /// The value given.
        scale: f32,
    },
    /// A requantization scale outside `[2^-32, 256)`.
    RequantScaleOutOfRange {
        /// The value given.
        scale: f32,
    },
    /// A zero point outside the range of its integer type.
    ZeroPointOutOfRange {
        /// Which zero point.
        what: String,
        /// The value given.
        zero_point: i32,
        /// The type's minimum.
        min: i32,
        /// The type's maximum.
        max: i32,
    },
    /// An output clamp that is empty or outside the output type.
    BadClamp {
        /// Lower bound given.
        qmin: i32,
        /// Upper bound given.
        qmax: i32,
        /// The type's minimum.
        type_min: i32,
        /// The type's maximum.
        type_max: i32,
    },
    /// Slices whose lengths do not fit together.
    LengthMismatch {
        /// What was being matched.
        what: String,
        /// Length expected.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A min/max range that is not usable (NaN, or min > max).
    BadRange {
        /// Lower bound given.
        min: f32,
        /// Upper bound given.
        max: f32,
    },
    /// Any other invalid argument, with a message naming it.
    Invalid(String),
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::BadScale { what, scale } => {
                write!(f, "{what} is {scale}, but a scale must be finite and > 0")
            }
            QuantError::RequantScaleOutOfRange { scale } => write!(
                f,
                "requantization scale {scale:e} is outside the supported range [2^-32, 256)"
            ),
            QuantError::ZeroPointOutOfRange {
                what,
                zero_point,
                min,
                max,
            } => write!(
                f,
                "{what} is {zero_point}, outside the type's range [{min}, {max}]"
            ),
            QuantError::BadClamp {
                qmin,
                qmax,
                type_min,
                type_max,
            } => write!(
                f,
                "output clamp [{qmin}, {qmax}] must be non-empty and inside the output type's range [{type_min}, {type_max}]"
            ),
            QuantError::LengthMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected length {expected}, found {found}"),
            QuantError::BadRange { min, max } => {
                write!(f, "range [{min}, {max}] is not usable (NaN or min > max)")
            }
            QuantError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for QuantError {}

/// `Ok` if two lengths agree, else [`QuantError::LengthMismatch`] naming `what`.
pub(crate) fn check_len(what: &str, expected: usize, found: usize) -> Result<(), QuantError> {
    if expected != found {
        return Err(QuantError::LengthMismatch {
            what: what.to_string(),
            expected,
            found,
        });
    }
    Ok(())
}
