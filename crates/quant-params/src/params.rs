//! Quantization parameter types: `real = scale * (q - zero_point)`.

use crate::error::check_len;
use crate::QuantError;

/// The 8-bit integer types of quantized tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QType {
    /// `u8`, range `[0, 255]`.
    U8,
    /// `i8`, range `[-128, 127]`.
    I8,
}

impl QType {
    /// Smallest representable value.
    pub const fn min(self) -> i32 {
        match self {
            QType::U8 => 0,
            QType::I8 => -128,
        }
    }

    /// Largest representable value.
    pub const fn max(self) -> i32 {
        match self {
            QType::U8 => 255,
            QType::I8 => 127,
        }
    }

    /// Checks that `zero_point` lies in this type's range.
    pub fn check_zero_point(self, what: &str, zero_point: i32) -> Result<(), QuantError> {
        if zero_point < self.min() || zero_point > self.max() {
            return Err(QuantError::ZeroPointOutOfRange {
                what: what.to_string(),
                zero_point,
                min: self.min(),
                max: self.max(),
            });
        }
        Ok(())
    }
}

/// Checks that a scale is finite and positive.
pub fn check_scale(what: &str, scale: f32) -> Result<(), QuantError> {
    if !scale.is_finite() || scale <= 0.0 {
        return Err(QuantError::BadScale {
            what: what.to_string(),
            scale,
        });
    }
    Ok(())
}

/// Per-tensor quantization parameters of one 8-bit tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
///
/// The fields are private so that every value went through [`QuantParams::new`] (or another
/// validating constructor): safe code cannot build parameters with a zero, negative or NaN scale or
/// a zero point outside the type, which kernels downstream rely on.
pub struct QuantParams {
    pub(crate) scale: f32,
    pub(crate) zero_point: i32,
    pub(crate) qtype: QType,
}

impl QuantParams {
    /// Validated parameters.
    ///
    /// ```
    /// use quant_params::{QuantParams, QType};
    /// let p = QuantParams::new(0.5, 128, QType::U8).unwrap();
    /// assert_eq!(p.dequantize(130), 1.0);
    /// assert!(QuantParams::new(0.0, 0, QType::U8).is_err());
    /// assert!(QuantParams::new(1.0, 200, QType::I8).is_err());
    /// ```
    pub fn new(scale: f32, zero_point: i32, qtype: QType) -> Result<QuantParams, QuantError> {
        check_scale("scale", scale)?;
        qtype.check_zero_point("zero point", zero_point)?;
        Ok(QuantParams {
            scale,
            zero_point,
            qtype,
        })
    }

    /// Real value of one quantization step; finite and > 0.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The integer that represents real 0; inside the range of [`QuantParams::qtype`].
    pub fn zero_point(&self) -> i32 {
        self.zero_point
    }

    /// The integer type.
    pub fn qtype(&self) -> QType {
        self.qtype
    }

    /// Symmetric parameters (zero point 0) for `i8`.
    pub fn symmetric_i8(scale: f32) -> Result<QuantParams, QuantError> {
        QuantParams::new(scale, 0, QType::I8)
    }

    /// `scale * (q - zero_point)` in f32 (ONNX DequantizeLinear).
    pub fn dequantize(&self, q: i32) -> f32 {
        (q - self.zero_point) as f32 * self.scale
    }

    /// ONNX QuantizeLinear: `saturate(round_half_even(x / scale) + zero_point)`.
    ///
    /// NaN maps to the zero point, as `f32 as i32` casts NaN to 0 after rounding.
    pub fn quantize(&self, x: f32) -> i32 {
        let v = (x / self.scale).round_ties_even();
        // `as` saturates out-of-range floats and maps NaN to 0; the add must saturate too
        // (+inf gives i64::MAX: a plain add overflowed, panicking in debug and wrapping to the
        // wrong end in release).
        let v = (v as i64).saturating_add(i64::from(self.zero_point));
        v.clamp(i64::from(self.qtype.min()), i64::from(self.qtype.max())) as i32
    }

    /// Asymmetric parameters covering `[min, max]` (extended to include 0), with the zero point
    /// nudged to an integer so that real 0 is exactly representable (TFLite/gemmlowp style).
    ///
    /// A degenerate range (`min == max == 0`) gives scale 1 and zero point at the type's
    /// representation of 0.
    pub fn from_min_max(min: f32, max: f32, qtype: QType) -> Result<QuantParams, QuantError> {
        if min.is_nan() || max.is_nan() || min > max || !min.is_finite() || !max.is_finite() {
            return Err(QuantError::BadRange { min, max });
        }
        let min = min.min(0.0);
        let max = max.max(0.0);
        let (qmin, qmax) = (qtype.min() as f32, qtype.max() as f32);
        if max == min {
            return QuantParams::new(1.0, qtype.min().max(0), qtype);
        }
        let scale = (max - min) / (qmax - qmin);
        // The zero point in real arithmetic, from whichever end loses less precision.
        let zp_from_min = qmin - min / scale;
        let zp_from_max = qmax - max / scale;
        let err_min = qmin.abs() + (min / scale).abs();
        let err_max = qmax.abs() + (max / scale).abs();
        let zp_real = if err_min < err_max {
            zp_from_min
        } else {
            zp_from_max
        };
        let zp = zp_real.round().clamp(qmin, qmax) as i32;
        QuantParams::new(scale, zp, qtype)
    }
}

/// Per-output-channel quantization parameters (weights quantized per channel along one axis).
#[derive(Clone, Debug, PartialEq)]
///
/// Fields are private for the same reason as [`QuantParams`]'s: every scale and zero point was
/// validated by [`PerChannelParams::new`], and the two lists have the same length.
pub struct PerChannelParams {
    pub(crate) scales: Vec<f32>,
    pub(crate) zero_points: Vec<i32>,
    pub(crate) qtype: QType,
}

impl PerChannelParams {
    /// Validated per-channel parameters: equal lengths, every scale and zero point valid.
    pub fn new(
        scales: Vec<f32>,
        zero_points: Vec<i32>,
        qtype: QType,
    ) -> Result<PerChannelParams, QuantError> {
        check_len(
            "per-channel zero points vs scales",
            scales.len(),
            zero_points.len(),
        )?;
        for (c, (&s, &z)) in scales.iter().zip(&zero_points).enumerate() {
            check_scale(&format!("scale of channel {c}"), s)?;
            qtype.check_zero_point(&format!("zero point of channel {c}"), z)?;
        }
        Ok(PerChannelParams {
            scales,
            zero_points,
            qtype,
        })
    }

    /// The same parameters for every one of `channels` channels.
    pub fn broadcast(p: QuantParams, channels: usize) -> PerChannelParams {
        PerChannelParams {
            scales: vec![p.scale; channels],
            zero_points: vec![p.zero_point; channels],
            qtype: p.qtype,
        }
    }

    /// One scale per channel (each finite and > 0).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// One zero point per channel (each inside the range of [`PerChannelParams::qtype`]).
    pub fn zero_points(&self) -> &[i32] {
        &self.zero_points
    }

    /// The integer type.
    pub fn qtype(&self) -> QType {
        self.qtype
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.scales.len()
    }

    /// Parameters of channel `c`.
    pub fn channel(&self, c: usize) -> QuantParams {
        QuantParams {
            scale: self.scales[c],
            zero_point: self.zero_points[c],
            qtype: self.qtype,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_represents_zero_exactly() {
        for (lo, hi) in [
            (-1.0f32, 1.0f32),
            (0.1, 6.0),
            (-3.7, -0.2),
            (-0.001, 1000.0),
        ] {
            for t in [QType::U8, QType::I8] {
                let p = QuantParams::from_min_max(lo, hi, t).unwrap();
                assert_eq!(p.dequantize(p.zero_point), 0.0);
                assert_eq!(p.quantize(0.0), p.zero_point);
            }
        }
        assert!(QuantParams::from_min_max(1.0, 0.0, QType::U8).is_err());
        assert!(QuantParams::from_min_max(f32::NAN, 0.0, QType::U8).is_err());
    }

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let p = QuantParams::new(1.0, 0, QType::U8).unwrap();
        assert_eq!(p.quantize(2.5), 2);
        assert_eq!(p.quantize(3.5), 4);
        assert_eq!(p.quantize(-1.0), 0);
        assert_eq!(p.quantize(1e9), 255);
        let q = QuantParams::new(1.0, 0, QType::I8).unwrap();
        assert_eq!(q.quantize(-1e9), -128);
        assert_eq!(q.quantize(-2.5), -2);
        // Infinities saturate even with a non-zero zero point (this overflowed before).
        let z = QuantParams::new(1.0, 3, QType::U8).unwrap();
        assert_eq!(z.quantize(f32::INFINITY), 255);
        assert_eq!(z.quantize(f32::NEG_INFINITY), 0);
        let z = QuantParams::new(1.0, -3, QType::I8).unwrap();
        assert_eq!(z.quantize(f32::NEG_INFINITY), -128);
        assert_eq!(z.quantize(f32::NAN), -3);
    }

    #[test]
    fn per_channel_validation_names_the_channel() {
        let e = PerChannelParams::new(vec![1.0, -1.0], vec![0, 0], QType::I8).unwrap_err();
        assert!(e.to_string().contains("channel 1"), "{e}");
        assert!(PerChannelParams::new(vec![1.0], vec![0, 0], QType::I8).is_err());
    }
}
