//! Requantization of int32 accumulators to 8-bit outputs: four named schemes, each exact to its
//! definition, and the output clamp (fused ReLU / ReLU6 ranges).
//!
//! Every scheme computes `clamp(zp + R(acc * scale), qmin, qmax)` where `R` is a rounding rule:
//!
//! | scheme | arithmetic | ties | matches |
//! |---|---|---|---|
//! | [`RequantScheme::Fp32`] | `(acc as f32) * scale` in f32 | to even | ONNX Runtime, XNNPACK (`fp32`), PyTorch |
//! | [`RequantScheme::Gemmlowp`] | Q31 multiplier + power-of-two exponent; SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (two roundings) | up, then away from zero | TFLite / gemmlowp |
//! | [`RequantScheme::Rndnu`] | exact product with the scale's 24-bit mantissa, one rounding shift | toward +inf | XNNPACK `rndnu`, ruy |
//! | [`RequantScheme::Precise`] | exact product with the scale's 24-bit mantissa, one rounding shift | away from zero | QNNPACK `precise` |
//!
//! The supported scale range is `[2^-32, 256)` for every scheme (QNNPACK stopped at 1).

use crate::error::check_len;
use crate::{QType, QuantError};

/// The name of a requantization rule. See the [module docs](self) for the exact definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequantScheme {
    /// f32 multiply, round half to even, saturate (ONNX Runtime / XNNPACK / PyTorch).
    Fp32,
    /// Q31 fixed point, SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (TFLite).
    Gemmlowp,
    /// Exact product, one rounding, ties toward +inf (XNNPACK `rndnu`).
    Rndnu,
    /// Exact product, one rounding, ties away from zero (QNNPACK `precise`).
    Precise,
}

impl RequantScheme {
    /// All schemes, for tests and benchmarks.
    pub const ALL: [RequantScheme; 4] = [
        RequantScheme::Fp32,
        RequantScheme::Gemmlowp,
        RequantScheme::Rndnu,
        RequantScheme::Precise,
    ];

    /// Lower-case name (`fp32`, `gemmlowp`, `rndnu`, `precise`).
    pub fn name(self) -> &'static str {
        match self {
            RequantScheme::Fp32 => "fp32",
            RequantScheme::Gemmlowp => "gemmlowp",
            RequantScheme::Rndnu => "rndnu",
            RequantScheme::Precise => "precise",
        }
    }
}

/// Smallest supported requantization scale, 2^-32.
pub const MIN_REQUANT_SCALE: f32 = 2.328_306_4e-10;
/// Supported requantization scales are strictly below this, 256.
pub const MAX_REQUANT_SCALE: f32 = 256.0;

/// Checks that `scale` is a usable requantization scale: finite and in `[2^-32, 256)`.
pub fn check_requant_scale(scale: f32) -> Result<(), QuantError> {
    crate::params::check_scale("requantization scale", scale)?;
    if !(MIN_REQUANT_SCALE..MAX_REQUANT_SCALE).contains(&scale) {
        return Err(QuantError::RequantScaleOutOfRange { scale });
    }
    Ok(())
}

/// The scale's exact value as `mantissa * 2^-shift`: `mantissa` has 24 significant bits
/// (hidden bit included), `shift` is in `[16, 55]` for scales in `[2^-32, 256)`.
pub fn mantissa_shift(scale: f32) -> (i64, u32) {
    let bits = scale.to_bits();
    let mantissa = i64::from((bits & 0x007F_FFFF) | 0x0080_0000);
    let shift = 127 + 23 - (bits >> 23);
    (mantissa, shift)
}

/// `Rndnu` in the fixed-point form of NEON's `sqshl`/`sqdmulh`/`srshl` (XNNPACK's `rndnu`
/// kernels compute it this way): for the scale `mantissa · 2^-shift` ([`mantissa_shift`]),
/// `(multiplier, pre, post)` with `multiplier = mantissa << 7` (a Q31 value in
/// `[2^30, 2^31)`), `post = max(shift − 24, 1)` and `pre = post − (shift − 24)` (0 for scales
/// below 1/2). Then `(acc · mantissa + 2^(shift−1)) >> shift` is
/// `rounding_shr(sat_high_mul(sat_shl(acc, pre), multiplier), post)`, where `sat_shl` is a
/// saturating left shift (`sqshl`), `sat_high_mul(x, m)` is `floor(2·x·m / 2^32)` (`sqdmulh`)
/// and `rounding_shr(x, p)` adds `2^(p−1)` and shifts right (`srshl` by `−p`): the flooring of
/// the middle step does not change the one rounding at the end (`floor(floor(y) / 2^p) =
/// floor(y / 2^p)`), and the saturation of the first step only happens where the exact result
/// is beyond `±2^29`, far outside every clamp.
pub fn rndnu_fixed_point(mantissa: i64, shift: u32) -> (i32, i32, i32) {
    let s = shift as i32;
    let post = (s - 24).max(1);
    let pre = post - (s - 24);
    ((mantissa << 7) as i32, pre, post)
}

/// gemmlowp's representation of a scale: `scale = multiplier * 2^-31 * 2^exponent`, with
/// `multiplier` in `[2^30, 2^31)` (TFLite's `QuantizeMultiplier`). For scales in
/// `[2^-32, 256)`, `exponent` is in `[-31, 8]`.
pub fn gemmlowp_multiplier(scale: f32) -> (i32, i32) {
    let bits = scale.to_bits();
    // An f32 mantissa in Q31 is exact: no rounding happens (unlike the f64 -> Q31 path for
    // arbitrary doubles, which rounds and can carry into 2^31).
    let multiplier = (((bits & 0x007F_FFFF) | 0x0080_0000) << 7) as i32;
    let exponent = (bits >> 23) as i32 - 126;
    (multiplier, exponent)
}

/// gemmlowp `SaturatingRoundingDoublingHighMul`: `round(a * b / 2^31)`, ties toward +inf,
/// saturating the single overflow case `a == b == i32::MIN`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncating toward zero, as in C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: `x / 2^exponent`, rounded to nearest, ties away from zero.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    debug_assert!(exponent <= 31);
    let mask: i64 = (1i64 << exponent) - 1;
    let x64 = i64::from(x);
    let remainder = x64 & mask;
    let threshold = (mask >> 1) + i64::from(x < 0);
    ((x64 >> exponent) + i64::from(remainder > threshold)) as i32
}

/// A validated requantization: scheme, scale, output zero point and clamp, with the scheme's
/// derived constants.
///
/// ```
/// use quant_params::{Requantizer, RequantScheme, QType};
/// // scale 0.5, zero point 128, full u8 range.
/// let r = Requantizer::new(RequantScheme::Fp32, 0.5, 128, QType::U8).unwrap();
/// assert_eq!(r.requantize(5), 130); // 2.5 rounds to even: 2
/// let p = Requantizer::new(RequantScheme::Precise, 0.5, 128, QType::U8).unwrap();
/// assert_eq!(p.requantize(5), 131); // 2.5 rounds away from zero: 3
/// // A fused ReLU6 for an output with scale 6/255 and zero point 0 is the clamp [0, 255].
/// let relu = r.with_clamp(128, 255).unwrap();
/// assert_eq!(relu.requantize(-1000), 128);
/// ```
///
/// The fields are private: every `Requantizer` comes from [`Requantizer::new`] (and
/// [`Requantizer::with_clamp`]), so `qmin <= qmax` inside the output type, a scale in the accepted
/// range and derived constants that match it hold for every value safe code can hold. SIMD kernels
/// rely on them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Requantizer {
    pub(crate) scheme: RequantScheme,
    pub(crate) scale: f32,
    pub(crate) zero_point: i32,
    pub(crate) qmin: i32,
    pub(crate) qmax: i32,
    pub(crate) qtype: QType,
    pub(crate) mantissa: i64,
    pub(crate) shift: u32,
    pub(crate) q31_multiplier: i32,
    pub(crate) q31_exponent: i32,
}

impl Requantizer {
    /// A requantizer to the full range of `qtype`.
    pub fn new(
        scheme: RequantScheme,
        scale: f32,
        zero_point: i32,
        qtype: QType,
    ) -> Result<Requantizer, QuantError> {
        check_requant_scale(scale)?;
        qtype.check_zero_point("output zero point", zero_point)?;
        let (mantissa, shift) = mantissa_shift(scale);
        let (q31_multiplier, q31_exponent) = gemmlowp_multiplier(scale);
        Ok(Requantizer {
            scheme,
            scale,
            zero_point,
            qmin: qtype.min(),
            qmax: qtype.max(),
            qtype,
            mantissa,
            shift,
            q31_multiplier,
            q31_exponent,
        })
    }

    /// The rounding rule.
    pub fn scheme(&self) -> RequantScheme {
        self.scheme
    }
    /// The real multiplier (e.g. `input_scale * weight_scale / output_scale`).
    pub fn scale(&self) -> f32 {
        self.scale
    }
    /// The output zero point.
    pub fn zero_point(&self) -> i32 {
        self.zero_point
    }
    /// Lowest output value (after adding the zero point); `qtype.min() <= qmin <= qmax`.
    pub fn qmin(&self) -> i32 {
        self.qmin
    }
    /// Highest output value (after adding the zero point); `qmin <= qmax <= qtype.max()`.
    pub fn qmax(&self) -> i32 {
        self.qmax
    }
    /// The output type.
    pub fn qtype(&self) -> QType {
        self.qtype
    }
    /// `Rndnu`/`Precise`: the scale's 24-bit mantissa (see [`mantissa_shift`]).
    pub fn mantissa(&self) -> i64 {
        self.mantissa
    }
    /// `Rndnu`/`Precise`: the right shift in `[16, 55]` (see [`mantissa_shift`]).
    pub fn shift(&self) -> u32 {
        self.shift
    }
    /// `Gemmlowp`: Q31 multiplier in `[2^30, 2^31)` (see [`gemmlowp_multiplier`]).
    pub fn q31_multiplier(&self) -> i32 {
        self.q31_multiplier
    }
    /// `Gemmlowp`: power-of-two exponent in `[-31, 8]`; positive means a left shift first.
    pub fn q31_exponent(&self) -> i32 {
        self.q31_exponent
    }

    /// The same requantizer with the output clamped to `[qmin, qmax]` (a fused activation).
    pub fn with_clamp(mut self, qmin: i32, qmax: i32) -> Result<Requantizer, QuantError> {
        if qmin > qmax || qmin < self.qtype.min() || qmax > self.qtype.max() {
            return Err(QuantError::BadClamp {
                qmin,
                qmax,
                type_min: self.qtype.min(),
                type_max: self.qtype.max(),
            });
        }
        self.qmin = qmin;
        self.qmax = qmax;
        Ok(self)
    }

    /// Requantizes one accumulator. This is the scalar reference of every SIMD path.
    #[inline]
    pub fn requantize(&self, acc: i32) -> i32 {
        let lo = i64::from(self.qmin) - i64::from(self.zero_point);
        let hi = i64::from(self.qmax) - i64::from(self.zero_point);
        let v: i64 = match self.scheme {
            RequantScheme::Fp32 => {
                let x = (acc as f32) * self.scale;
                // Clamp in the scaled domain (as XNNPACK does), then round half to even.
                let x = x.clamp(lo as f32, hi as f32);
                x.round_ties_even() as i64
            }
            RequantScheme::Gemmlowp => {
                let left = self.q31_exponent.max(0) as u32;
                let right = (-self.q31_exponent).max(0) as u32;
                // Saturating left shift (gemmlowp SaturatingRoundingMultiplyByPOT semantics).
                let shifted =
                    (i64::from(acc) << left).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                let hm = saturating_rounding_doubling_high_mul(shifted, self.q31_multiplier);
                i64::from(rounding_divide_by_pot(hm, right))
            }
            RequantScheme::Rndnu => {
                let p = i64::from(acc) * self.mantissa;
                (p + (1i64 << (self.shift - 1))) >> self.shift
            }
            RequantScheme::Precise => {
                let abs = i64::from(acc).abs() * self.mantissa;
                let r = (abs + (1i64 << (self.shift - 1))) >> self.shift;
                if acc < 0 {
                    -r
                } else {
                    r
                }
            }
        };
        (v.clamp(lo, hi) + i64::from(self.zero_point)) as i32
    }

    /// Requantizes a slice of accumulators into `u8` (the output type must be `U8`).
    pub fn requantize_u8(&self, acc: &[i32], out: &mut [u8]) -> Result<(), QuantError> {
        self.check_bulk(acc.len(), out.len(), QType::U8)?;
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = self.requantize(a) as u8;
        }
        Ok(())
    }

    /// Requantizes a slice of accumulators into `i8` (the output type must be `I8`).
    pub fn requantize_i8(&self, acc: &[i32], out: &mut [i8]) -> Result<(), QuantError> {
        self.check_bulk(acc.len(), out.len(), QType::I8)?;
        for (o, &a) in out.iter_mut().zip(acc) {
            *o = self.requantize(a) as i8;
        }
        Ok(())
    }

    fn check_bulk(&self, n_in: usize, n_out: usize, want: QType) -> Result<(), QuantError> {
        if self.qtype != want {
            return Err(QuantError::Invalid(format!(
                "requantizer produces {:?} but a {:?} output buffer was given",
                self.qtype, want
            )));
        }
        check_len("requantize output vs accumulators", n_in, n_out)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rq(s: RequantScheme, scale: f32, zp: i32) -> Requantizer {
        Requantizer::new(s, scale, zp, QType::U8).unwrap()
    }

    #[test]
    fn scale_range_is_enforced() {
        assert!(check_requant_scale(MIN_REQUANT_SCALE).is_ok());
        assert_eq!(MIN_REQUANT_SCALE, 2f32.powi(-32));
        assert!(check_requant_scale(255.99998).is_ok());
        assert!(check_requant_scale(256.0).is_err());
        assert!(check_requant_scale(f32::from_bits(MIN_REQUANT_SCALE.to_bits() - 1)).is_err());
        assert!(check_requant_scale(f32::NAN).is_err());
        assert!(check_requant_scale(-1.0).is_err());
        let (_, s) = mantissa_shift(MIN_REQUANT_SCALE);
        assert_eq!(s, 55);
        let (_, s) = mantissa_shift(255.99998);
        assert_eq!(s, 16);
        assert_eq!(gemmlowp_multiplier(MIN_REQUANT_SCALE), (1 << 30, -31));
    }

    /// QNNPACK's exactness test: with scale 2^-s, (i - zp) * 2^s maps back to i exactly.
    #[test]
    fn exact_division_by_powers_of_two() {
        for scheme in RequantScheme::ALL {
            for s in 1..=31u32 {
                let scale = 2f32.powi(-(s as i32));
                for zp in [0, 1, 127, 128, 254, 255] {
                    let r = rq(scheme, scale, zp);
                    for i in 0..=255i32 {
                        let acc = i64::from(i - zp) << s;
                        if acc < i64::from(i32::MIN) || acc > i64::from(i32::MAX) {
                            continue;
                        }
                        assert_eq!(
                            r.requantize(acc as i32),
                            i,
                            "{scheme:?} s={s} zp={zp} i={i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ties() {
        // acc * 0.5 = +-2.5, +-1.5
        let cases = [
            (RequantScheme::Fp32, [2, 2, -2, -2]),
            // scale 0.5 is multiplier 2^30 with exponent 0: the tie is decided by
            // SaturatingRoundingDoublingHighMul alone, which rounds ties up.
            (RequantScheme::Gemmlowp, [3, 2, -2, -1]),
            (RequantScheme::Rndnu, [3, 2, -2, -1]),
            (RequantScheme::Precise, [3, 2, -3, -2]),
        ];
        for (scheme, want) in cases {
            let r = Requantizer::new(scheme, 0.5, 0, QType::I8).unwrap();
            let got = [5, 3, -5, -3].map(|a| r.requantize(a));
            assert_eq!(got, want, "{scheme:?}");
        }
        // scale 0.25 is exponent -1: the tie reaches RoundingDivideByPOT, which rounds away
        // from zero (10/4 = 2.5 -> 3, -10/4 -> -3, -6/4 = -1.5 -> -2).
        let r = Requantizer::new(RequantScheme::Gemmlowp, 0.25, 0, QType::I8).unwrap();
        assert_eq!([10, -10, -6].map(|a| r.requantize(a)), [3, -3, -2]);
    }

    #[test]
    fn extremes() {
        // QNNPACK: INT32_MIN with scale 2^-32 gives -0.5 -> away from zero -> -1 -> max(0, zp-1).
        for zp in [0, 1, 128, 255] {
            let r = rq(RequantScheme::Precise, MIN_REQUANT_SCALE, zp);
            assert_eq!(r.requantize(i32::MIN), (zp - 1).max(0));
        }
        for scheme in RequantScheme::ALL {
            let r = rq(scheme, f32::from_bits(0x3F7F_FFFF), 255);
            assert_eq!(r.requantize(i32::MAX), 255);
            let r = rq(scheme, 255.99998, 0);
            assert_eq!(r.requantize(i32::MAX), 255);
            assert_eq!(r.requantize(i32::MIN), 0);
            assert_eq!(r.requantize(0), 0);
        }
    }

    #[test]
    fn srdhm_and_rdbpot_match_gemmlowp_examples() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // ties: -0.5 -> 0, 0.5 -> 1 (round(2ab/2^32) ties up)
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-(1 << 30), 1), 0);
        assert_eq!(rounding_divide_by_pot(-3, 1), -2);
        assert_eq!(rounding_divide_by_pot(-1, 1), -1);
        assert_eq!(rounding_divide_by_pot(1, 1), 1);
        assert_eq!(rounding_divide_by_pot(3, 1), 2);
    }

    #[test]
    fn clamp_is_validated_and_applied() {
        let r = rq(RequantScheme::Fp32, 1.0, 10);
        assert!(r.with_clamp(5, 4).is_err());
        assert!(r.with_clamp(-1, 4).is_err());
        let c = r.with_clamp(10, 20).unwrap();
        assert_eq!(c.requantize(-5), 10);
        assert_eq!(c.requantize(100), 20);
        assert_eq!(c.requantize(3), 13);
    }

    /// `rndnu_fixed_point`'s sequence (the NEON instructions emulated on integers) equals
    /// `Requantizer::requantize` for `Rndnu`, clamps included, over scales from `2^-32` to
    /// just below 256 (both signs of `pre`) and accumulators from the whole i32 range.
    #[test]
    fn rndnu_fixed_point_is_exact() {
        fn sqshl(x: i32, n: i32) -> i32 {
            (i64::from(x) << n).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        }
        fn sqdmulh(x: i32, m: i32) -> i32 {
            ((2 * i64::from(x) * i64::from(m)) >> 32)
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        }
        fn srshl_right(x: i32, p: i32) -> i32 {
            ((i64::from(x) + (1i64 << (p - 1))) >> p) as i32
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let scales = [
            2f32.powi(-32),
            1e-6,
            0.0007,
            0.3,
            0.4999,
            0.5,
            0.75,
            1.0,
            3.0,
            255.9,
        ];
        for &scale in &scales {
            for (zp, qt) in [(7, QType::U8), (-5, QType::I8), (0, QType::I8)] {
                let r = Requantizer::new(RequantScheme::Rndnu, scale, zp, qt).unwrap();
                let (m, pre, post) = rndnu_fixed_point(r.mantissa(), r.shift());
                assert!((1 << 30..=i32::MAX).contains(&m) && pre >= 0 && post >= 1);
                let lo = r.qmin() - zp;
                let hi = r.qmax() - zp;
                let mut accs = vec![0, 1, -1, i32::MAX, i32::MIN, 1 << 20, -(1 << 20)];
                accs.extend((0..2000).map(|i| {
                    let x = next() as i32;
                    if i % 2 == 0 {
                        x >> (i % 31)
                    } else {
                        x
                    }
                }));
                for acc in accs {
                    let v = srshl_right(sqdmulh(sqshl(acc, pre), m), post);
                    let got = v.clamp(lo, hi) + zp;
                    assert_eq!(got, r.requantize(acc), "scale {scale} acc {acc}");
                }
            }
        }
    }
}
