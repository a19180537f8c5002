//! The int8 types every quantized kernel crate shares: tensor views ([`Input8`]), output buffers
//! ([`Output8`]), what happens to the i32 accumulators ([`OutputStage`]) and the fused `Fp32`
//! requantization parameters micro-kernels receive ([`Fp32Requant`]).
//!
//! They live here, in the lowest crate every int8 kernel crate uses, so that `qgemm`,
//! `qconv-direct`, `depthwise`, `winograd` and `ops` pass the same values around instead of
//! converting between copies.
//!
//! ```
//! use quant_params::int8::{Input8, Output8, OutputStage};
//! use quant_params::QType;
//!
//! let w = [1i8, -2, 3];
//! let view = Input8::I8(&w);
//! assert_eq!((view.qtype(), view.len(), view.get(1)), (QType::I8, 3, -2));
//! let mut out = [0u8; 4];
//! let o = Output8::U8(&mut out);
//! assert_eq!((o.len(), o.qtype()), (4, Some(QType::U8)));
//! assert!(matches!(OutputStage::RawI32, OutputStage::RawI32));
//! ```

use crate::bulk::{PerChannelRequantizer, RequantPlan};
use crate::error::QuantError;
use crate::params::QType;
use crate::requant::{RequantScheme, Requantizer};

/// Read-only 8-bit tensor data (activations or weights).
#[derive(Clone, Copy, Debug)]
pub enum Input8<'a> {
    /// Unsigned bytes.
    U8(&'a [u8]),
    /// Signed bytes.
    I8(&'a [i8]),
}

impl Input8<'_> {
    /// The element type.
    pub fn qtype(&self) -> QType {
        match self {
            Input8::U8(_) => QType::U8,
            Input8::I8(_) => QType::I8,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Input8::U8(x) => x.len(),
            Input8::I8(x) => x.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as i32. Panics if `i >= len()` (as slice indexing does).
    pub fn get(&self, i: usize) -> i32 {
        match self {
            Input8::U8(x) => i32::from(x[i]),
            Input8::I8(x) => i32::from(x[i]),
        }
    }

    /// The raw bytes (i8 reinterpreted as u8).
    pub fn as_bytes(&self) -> &[u8] {
        match *self {
            Input8::U8(x) => x,
            // SAFETY: i8 and u8 have the same size, alignment and validity.
            Input8::I8(x) => unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), x.len()) },
        }
    }
}

/// A kernel's output buffer: requantized bytes, or the raw i32 accumulators.
#[derive(Debug)]
pub enum Output8<'a> {
    /// Requantized u8.
    U8(&'a mut [u8]),
    /// Requantized i8.
    I8(&'a mut [i8]),
    /// Raw i32 accumulators (zero points and bias applied, no requantization).
    I32(&'a mut [i32]),
}

impl Output8<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Output8::U8(x) => x.len(),
            Output8::I8(x) => x.len(),
            Output8::I32(x) => x.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The 8-bit element type, `None` for raw i32.
    pub fn qtype(&self) -> Option<QType> {
        match self {
            Output8::U8(_) => Some(QType::U8),
            Output8::I8(_) => Some(QType::I8),
            Output8::I32(_) => None,
        }
    }

    /// A short name of the buffer's element type, for error messages (`u8`, `i8`, `i32`).
    pub fn type_name(&self) -> &'static str {
        type_name(self.qtype())
    }

    /// Checks this buffer against what a plan produces: exactly `len` elements (`shape` spells
    /// them out in the message, e.g. `format_args!("{n}x{oh}x{ow}x{c}")`: nothing is formatted
    /// unless the check fails) of the type its stage writes (`produces`,
    /// `None` for raw i32: see [`OutputStage::qtype`] / [`StagePlan::qtype`]). The message
    /// names the numbers (the caller wraps it in its crate's error).
    ///
    /// ```
    /// use quant_params::int8::Output8;
    /// use quant_params::QType;
    /// let mut o = [0u8; 12];
    /// let (n, h, w, c) = (1, 2, 2, 3);
    /// assert!(Output8::U8(&mut o).check(12, format_args!("{n}x{h}x{w}x{c}"), Some(QType::U8)).is_ok());
    /// let e = Output8::U8(&mut o).check(8, format_args!("1x2x2x2"), Some(QType::U8)).unwrap_err();
    /// assert_eq!(e, "output has 12 elements but 1x2x2x2 = 8 are produced");
    /// let e = Output8::U8(&mut o).check(12, format_args!("{n}x{h}x{w}x{c}"), None).unwrap_err();
    /// assert_eq!(e, "output buffer type does not match the plan's output stage (i32)");
    /// ```
    pub fn check(
        &self,
        len: usize,
        shape: std::fmt::Arguments<'_>,
        produces: Option<QType>,
    ) -> Result<(), String> {
        if self.len() != len {
            return Err(format!(
                "output has {} elements but {shape} = {len} are produced",
                self.len()
            ));
        }
        if self.qtype() != produces {
            return Err(format!(
                "output buffer type does not match the plan's output stage ({})",
                type_name(produces)
            ));
        }
        Ok(())
    }
}

/// `u8`, `i8`, or `i32` for `None` (raw accumulators).
fn type_name(t: Option<QType>) -> &'static str {
    match t {
        Some(QType::U8) => "u8",
        Some(QType::I8) => "i8",
        None => "i32",
    }
}

/// What happens to the i32 accumulators of an int8 convolution or GEMM.
#[derive(Clone, Debug)]
pub enum OutputStage {
    /// One requantizer for every output channel (its clamp is the fused activation).
    PerTensor(Requantizer),
    /// One requantizer per output channel (per-channel weight scales).
    PerChannel(PerChannelRequantizer),
    /// Keep the raw i32 accumulators.
    RawI32,
}

impl OutputStage {
    /// The 8-bit type this stage produces, `None` for [`OutputStage::RawI32`] (and for a
    /// per-channel requantizer without channels).
    pub fn qtype(&self) -> Option<QType> {
        match self {
            OutputStage::PerTensor(r) => Some(r.qtype()),
            OutputStage::PerChannel(p) => p.channel(0).map(|r| r.qtype()),
            OutputStage::RawI32 => None,
        }
    }

    /// The fused-requantization parameters micro-kernels take, if this stage has them (an
    /// `Fp32`-scheme requantizer, per tensor or per channel).
    pub fn fp32(&self) -> Option<Fp32Requant<'_>> {
        match self {
            OutputStage::PerTensor(r) => Fp32Requant::from_requantizer(r),
            OutputStage::PerChannel(p) => Fp32Requant::from_per_channel(p),
            OutputStage::RawI32 => None,
        }
    }
}

impl OutputStage {
    /// Checks the stage against a kernel with `channels` output channels (a per-channel
    /// requantizer needs one per channel) and plans it for the bulk requantization kernels.
    pub fn plan(self, channels: usize) -> Result<StagePlan, QuantError> {
        Ok(match self {
            OutputStage::PerTensor(r) => StagePlan::PerTensor(r.plan(None)?, r.qtype()),
            OutputStage::PerChannel(p) => {
                if p.channels() != channels {
                    return Err(QuantError::Invalid(format!(
                        "per-channel requantizer has {} channels but the convolution has \
                         {channels}",
                        p.channels()
                    )));
                }
                let t = p.channel(0).map_or(QType::U8, |r| r.qtype());
                StagePlan::PerChannel(p, t)
            }
            OutputStage::RawI32 => StagePlan::Raw,
        })
    }
}

/// An [`OutputStage`] checked and planned ([`OutputStage::plan`]): what a plan keeps to turn
/// rows of i32 accumulators into its output.
#[derive(Clone, Debug)]
pub enum StagePlan {
    /// One planned requantizer for every channel, and the type it writes.
    PerTensor(RequantPlan, QType),
    /// One requantizer per channel, and the type they write.
    PerChannel(PerChannelRequantizer, QType),
    /// The raw i32 accumulators.
    Raw,
}

impl StagePlan {
    /// The 8-bit type this stage writes, `None` for raw i32.
    pub fn qtype(&self) -> Option<QType> {
        match self {
            StagePlan::PerTensor(_, t) | StagePlan::PerChannel(_, t) => Some(*t),
            StagePlan::Raw => None,
        }
    }

    /// Requantizes one row of accumulators (one output pixel's channels) into `out` (same
    /// length) as u8. Errors if the lengths differ or the stage does not write u8.
    pub fn row_u8(&self, acc: &[i32], out: &mut [u8]) -> Result<(), QuantError> {
        match self {
            StagePlan::PerTensor(p, _) => p.run_u8(acc, out),
            StagePlan::PerChannel(p, QType::U8) => p.requantize_rows_u8(acc, out),
            _ => Err(self.mismatch("u8")),
        }
    }

    /// As [`StagePlan::row_u8`], for i8.
    pub fn row_i8(&self, acc: &[i32], out: &mut [i8]) -> Result<(), QuantError> {
        match self {
            StagePlan::PerTensor(p, _) => p.run_i8(acc, out),
            StagePlan::PerChannel(p, QType::I8) => p.requantize_rows_i8(acc, out),
            _ => Err(self.mismatch("i8")),
        }
    }

    fn mismatch(&self, asked: &str) -> QuantError {
        QuantError::Invalid(format!(
            "{asked} output asked of a stage that writes {}",
            type_name(self.qtype())
        ))
    }
}

/// The requantization micro-kernels fuse into their store: `Fp32`,
/// `out = clamp(acc · scale, lo, hi) + zero_point`, rounded half to even; or, with `rndnu`, the
/// `Rndnu` scheme in its fixed-point form (`Requantizer::requantize` of
/// [`RequantScheme::Rndnu`]: `clamp(round_half_up(acc · scale), lo, hi) + zero_point`), which
/// only the entries made for it take (`qgemm`'s `Kernels::run_rndnu`; the others are never
/// given such a stage).
#[derive(Clone, Copy, Debug)]
pub struct Fp32Requant<'a> {
    /// Multiplier per tensor; with `channel_scales`, the largest of them (kernels use it to
    /// decide whether a product can pass 2³¹).
    pub scale: f32,
    /// Lower clamp before the zero point (`qmin − zero_point`).
    pub lo: f32,
    /// Upper clamp before the zero point (`qmax − zero_point`).
    pub hi: f32,
    /// Output zero point.
    pub zero_point: i32,
    /// i8 output (else u8).
    pub signed: bool,
    /// One multiplier per output column, starting at the kernel call's first column (at least
    /// as many as the call's columns), instead of `scale`.
    pub channel_scales: Option<&'a [f32]>,
    /// The `Rndnu` scheme instead of `Fp32` (then `scale` and `channel_scales` are the same
    /// scales, for information; the kernels use these constants).
    pub rndnu: Option<RndnuFused<'a>>,
}

/// The `Rndnu` constants of a fused stage ([`crate::requant::rndnu_fixed_point`]): per
/// accumulator `srshl(sqdmulh(sqshl(acc, pre_shl), multiplier), post_shl)`.
#[derive(Clone, Copy, Debug)]
pub struct RndnuFused<'a> {
    /// The Q31 multiplier (per tensor).
    pub multiplier: i32,
    /// The saturating left shift before the multiply (`pre >= 0`).
    pub pre_shl: i32,
    /// The rounding shift after it, as `srshl` takes it (`−post < 0`: a right shift).
    pub post_shl: i32,
    /// Per output column, from the kernel call's first column (at least as many as the call's
    /// columns), instead of the three above: multipliers, `pre_shl`, `post_shl`.
    pub channels: Option<(&'a [i32], &'a [i32], &'a [i32])>,
}

impl Fp32Requant<'static> {
    /// A placeholder for the kernel entries that store raw i32 and never read their stage (an
    /// identity scale, an empty clamp range, zero point 0).
    pub const UNUSED: Fp32Requant<'static> = Fp32Requant {
        scale: 1.0,
        lo: 0.0,
        hi: 0.0,
        zero_point: 0,
        signed: false,
        channel_scales: None,
        rndnu: None,
    };
}

impl<'a> Fp32Requant<'a> {
    /// The fused form of `r`, if its scheme is `Fp32`.
    pub fn from_requantizer(r: &Requantizer) -> Option<Fp32Requant<'static>> {
        (r.scheme() == RequantScheme::Fp32).then(|| Fp32Requant::clamps_of(r))
    }

    /// The scale, clamps, zero point and type of `r`, with no channel scales and no `Rndnu`
    /// constants.
    fn clamps_of(r: &Requantizer) -> Fp32Requant<'static> {
        Fp32Requant {
            scale: r.scale(),
            lo: (i64::from(r.qmin()) - i64::from(r.zero_point())) as f32,
            hi: (i64::from(r.qmax()) - i64::from(r.zero_point())) as f32,
            zero_point: r.zero_point(),
            signed: r.qtype() == QType::I8,
            channel_scales: None,
            rndnu: None,
        }
    }

    /// The fused form of `r`, if its scheme is `Rndnu` (for the kernels that fuse it).
    pub fn from_rndnu(r: &Requantizer) -> Option<Fp32Requant<'static>> {
        if r.scheme() != RequantScheme::Rndnu {
            return None;
        }
        let (multiplier, pre, post) = crate::requant::rndnu_fixed_point(r.mantissa(), r.shift());
        Some(Fp32Requant {
            rndnu: Some(RndnuFused {
                multiplier,
                pre_shl: pre,
                post_shl: -post,
                channels: None,
            }),
            ..Fp32Requant::clamps_of(r)
        })
    }

    /// The fused form of a per-channel requantizer whose scheme is `Rndnu` (channel `j` =
    /// column `j`; every channel shares the clamp and zero point of channel 0).
    pub fn from_rndnu_per_channel(r: &'a PerChannelRequantizer) -> Option<Fp32Requant<'a>> {
        let first = Fp32Requant::from_rndnu(r.channel(0)?)?;
        let channels = r.rndnu_fixed_point()?;
        let max = r.scales().iter().fold(0f32, |m, &s| m.max(s));
        Some(Fp32Requant {
            scale: max,
            channel_scales: Some(r.scales()),
            rndnu: first.rndnu.map(|f| RndnuFused {
                channels: Some(channels),
                ..f
            }),
            ..first
        })
    }

    /// The fused form of a per-channel requantizer (channel `j` = column `j`), if its scheme is
    /// `Fp32` and it has channels. Every channel shares the clamp and zero point of channel 0
    /// (as [`PerChannelRequantizer`] guarantees).
    pub fn from_per_channel(r: &'a PerChannelRequantizer) -> Option<Fp32Requant<'a>> {
        let first = Fp32Requant::from_requantizer(r.channel(0)?)?;
        let max = r.scales().iter().fold(0f32, |m, &s| m.max(s));
        Some(Fp32Requant {
            scale: max,
            channel_scales: Some(r.scales()),
            ..first
        })
    }

    /// The same requantization for a call whose first column is column `c0` of this one.
    pub fn from_column(&self, c0: usize) -> Fp32Requant<'a> {
        let tail = |s: &'a [i32]| s.get(c0..).unwrap_or(&[]);
        Fp32Requant {
            channel_scales: self.channel_scales.map(|s| s.get(c0..).unwrap_or(&[])),
            rndnu: self.rndnu.map(|f| RndnuFused {
                channels: f.channels.map(|(m, p, q)| (tail(m), tail(p), tail(q))),
                ..f
            }),
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp32_requant_of_a_stage() {
        let r = Requantizer::new(RequantScheme::Fp32, 0.25, 3, QType::U8).unwrap();
        let stage = OutputStage::PerTensor(r);
        let f = stage.fp32().unwrap();
        assert_eq!((f.scale, f.lo, f.hi, f.zero_point), (0.25, -3.0, 252.0, 3));
        assert!(!f.signed && f.channel_scales.is_none());
        assert!(OutputStage::RawI32.fp32().is_none());
        assert_eq!(OutputStage::RawI32.qtype(), None);
    }

    #[test]
    fn stage_plan_checks_channels_and_outputs() {
        let r = Requantizer::new(RequantScheme::Fp32, 0.5, -1, QType::I8).unwrap();
        let plan = OutputStage::PerTensor(r).plan(3).unwrap();
        assert_eq!(plan.qtype(), Some(QType::I8));
        let mut o = [0i8; 3];
        plan.row_i8(&[2, 4, -300], &mut o).unwrap();
        assert_eq!(o, [0, 1, -128]);
        assert!(plan.row_u8(&[2, 4, 6], &mut [0u8; 3]).is_err());
        assert!(plan.row_i8(&[2, 4], &mut o).is_err());
        assert!(Output8::I8(&mut o)
            .check(3, format_args!("1x1x1x3"), plan.qtype())
            .is_ok());
        let e = Output8::I32(&mut [0; 3]).check(3, format_args!("1x1x1x3"), plan.qtype());
        assert!(e.unwrap_err().contains("output stage (i8)"));
        let pc =
            PerChannelRequantizer::new(RequantScheme::Fp32, &[0.5, 0.25], 3, QType::U8).unwrap();
        let e = OutputStage::PerChannel(pc.clone()).plan(3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "per-channel requantizer has 2 channels but the convolution has 3"
        );
        let plan = OutputStage::PerChannel(pc).plan(2).unwrap();
        let mut o = [0u8; 4];
        plan.row_u8(&[4, 4, 8, 8], &mut o).unwrap();
        assert_eq!(o, [5, 4, 7, 5]);
        assert_eq!(OutputStage::RawI32.plan(7).unwrap().qtype(), None);
    }
}
