//! Choosing quantization parameters from data: ONNX `DynamicQuantizeLinear` exactly,
//! asymmetric min/max, symmetric, per tensor and per channel.

use crate::error::check_len;
use crate::{BulkKernels, PerChannelParams, QType, QuantError, QuantParams};

/// How a range becomes parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Symmetry {
    /// Asymmetric: [`QuantParams::from_min_max`] (range extended to include 0, zero point
    /// nudged to an integer so 0 is exact; TFLite / gemmlowp / PyTorch `per_tensor_affine`).
    #[default]
    Asymmetric,
    /// Symmetric: [`symmetric_from_abs_max`] (TFLite int8 weights: zero point 0, range
    /// `[-127, 127]` for `i8`; `u8` uses zero point 128).
    Symmetric,
}

/// Layout of a tensor quantized per channel: element `(o, c, i)` is at `(o * channels + c) *
/// inner + i`. Weights `[C_out, ...]` are `outer = 1, inner = rest`; NHWC activations are
/// `outer = N*H*W, inner = 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelLayout {
    /// Product of the dimensions before the channel axis.
    pub outer: usize,
    /// Number of channels.
    pub channels: usize,
    /// Product of the dimensions after the channel axis.
    pub inner: usize,
}

impl ChannelLayout {
    /// Number of elements, or an error on overflow.
    pub fn element_count(&self) -> Result<usize, QuantError> {
        self.outer
            .checked_mul(self.channels)
            .and_then(|v| v.checked_mul(self.inner))
            .ok_or_else(|| QuantError::Invalid(format!("channel layout {self:?} overflows usize")))
    }

    /// Calls `f(channel, run)` for every contiguous run of one channel's elements; an error if
    /// `x` does not have exactly [`ChannelLayout::element_count`] elements.
    pub fn for_each_run<'a>(
        &self,
        x: &'a [f32],
        mut f: impl FnMut(usize, &'a [f32]),
    ) -> Result<(), QuantError> {
        self.check("input length", x.len())?;
        if x.is_empty() {
            // No element to visit: runs are empty (and outer · channels may be astronomically
            // large for a layout with `inner == 0`).
            return Ok(());
        }
        for o in 0..self.outer {
            for c in 0..self.channels {
                let start = (o * self.channels + c) * self.inner;
                f(c, &x[start..start + self.inner]);
            }
        }
        Ok(())
    }

    fn check(&self, what: &str, n: usize) -> Result<(), QuantError> {
        let want = self.element_count()?;
        if want != n {
            return Err(QuantError::LengthMismatch {
                what: format!(
                    "{what} vs channel layout {}x{}x{}",
                    self.outer, self.channels, self.inner
                ),
                expected: want,
                found: n,
            });
        }
        Ok(())
    }
}

/// Min and max of the finite data, or an error naming the first NaN / infinity.
pub fn finite_min_max(x: &[f32]) -> Result<Option<(f32, f32)>, QuantError> {
    let mut mm: Option<(f32, f32)> = None;
    for (i, &v) in x.iter().enumerate() {
        if !v.is_finite() {
            return Err(QuantError::Invalid(format!(
                "input element {i} is {v}; ranges need finite data"
            )));
        }
        mm = Some(match mm {
            None => (v, v),
            Some((a, b)) => (a.min(v), b.max(v)),
        });
    }
    Ok(mm)
}

/// Symmetric parameters for `|x| <= abs_max`: scale `abs_max / 127`, zero point 0 (`i8`, the
/// TFLite int8 weight convention: quantized weights stay in `[-127, 127]`) or 128 (`u8`).
/// `abs_max == 0` gives scale 1.
pub fn symmetric_from_abs_max(abs_max: f32, qtype: QType) -> Result<QuantParams, QuantError> {
    if !abs_max.is_finite() || abs_max < 0.0 {
        return Err(QuantError::Invalid(format!(
            "abs_max is {abs_max}, but it must be finite and >= 0"
        )));
    }
    let scale = if abs_max == 0.0 { 1.0 } else { abs_max / 127.0 };
    let zp = match qtype {
        QType::I8 => 0,
        QType::U8 => 128,
    };
    QuantParams::new(scale, zp, qtype)
}

/// Parameters from a range with the given symmetry.
pub fn params_from_range(
    min: f32,
    max: f32,
    qtype: QType,
    symmetry: Symmetry,
) -> Result<QuantParams, QuantError> {
    match symmetry {
        Symmetry::Asymmetric => QuantParams::from_min_max(min, max, qtype),
        Symmetry::Symmetric => {
            if min.is_nan() || max.is_nan() || min > max {
                return Err(QuantError::BadRange { min, max });
            }
            symmetric_from_abs_max(min.abs().max(max.abs()), qtype)
        }
    }
}

/// Per-tensor parameters from the data's min/max (empty data gives the degenerate range).
pub fn choose_per_tensor(
    x: &[f32],
    qtype: QType,
    symmetry: Symmetry,
) -> Result<QuantParams, QuantError> {
    let (lo, hi) = finite_min_max(x)?.unwrap_or((0.0, 0.0));
    params_from_range(lo, hi, qtype, symmetry)
}

/// Per-channel parameters from each channel's min/max.
pub fn choose_per_channel(
    x: &[f32],
    layout: ChannelLayout,
    qtype: QType,
    symmetry: Symmetry,
) -> Result<PerChannelParams, QuantError> {
    layout.check("input length", x.len())?;
    // One result per channel: the channel count comes from the caller and an empty tensor
    // bounds nothing, so the same cap as the per-channel observers applies and the allocation
    // is fallible.
    let per_channel = std::mem::size_of::<Option<(f32, f32)>>() + 8;
    if layout
        .channels
        .checked_mul(per_channel)
        .is_none_or(|b| b > crate::observer::MAX_PER_CHANNEL_BYTES)
    {
        return Err(QuantError::Invalid(format!(
            "{} channels ({per_channel} bytes each) exceed the per-channel limit of {} bytes \
             (observer::MAX_PER_CHANNEL_BYTES)",
            layout.channels,
            crate::observer::MAX_PER_CHANNEL_BYTES
        )));
    }
    let mut ranges: Vec<Option<(f32, f32)>> =
        cpu_probe::alloc::try_filled(layout.channels, None, "per-channel ranges")
            .map_err(|e| QuantError::Invalid(e.to_string()))?;
    let mut bad = None;
    layout.for_each_run(x, |c, run| {
        if bad.is_some() {
            return;
        }
        match finite_min_max(run) {
            Err(e) => bad = Some(e),
            Ok(None) => {}
            Ok(Some((a, b))) => {
                ranges[c] = Some(match ranges[c] {
                    None => (a, b),
                    Some((p, q)) => (p.min(a), q.max(b)),
                })
            }
        }
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    let mut scales = Vec::with_capacity(layout.channels);
    let mut zps = Vec::with_capacity(layout.channels);
    for r in ranges {
        let (a, b) = r.unwrap_or((0.0, 0.0));
        let p = params_from_range(a, b, qtype, symmetry)?;
        scales.push(p.scale);
        zps.push(p.zero_point);
    }
    PerChannelParams::new(scales, zps, qtype)
}

/// Quantizes a tensor per channel (ONNX QuantizeLinear with an `axis`), into `u8` or `i8`
/// bytes according to `params.qtype()` (`i8` results are stored as their two's-complement bytes).
pub fn quantize_per_channel(
    x: &[f32],
    layout: ChannelLayout,
    params: &PerChannelParams,
    out: &mut [u8],
) -> Result<(), QuantError> {
    layout.check("input length", x.len())?;
    layout.check("output length", out.len())?;
    check_len(
        "per-channel parameters vs layout channels",
        layout.channels,
        params.channels(),
    )?;
    if x.is_empty() {
        // Nothing to write (outer · channels may be huge with `inner == 0`).
        return Ok(());
    }
    let k = BulkKernels::best();
    for o in 0..layout.outer {
        for c in 0..layout.channels {
            let start = (o * layout.channels + c) * layout.inner;
            let (src, dst) = (
                &x[start..start + layout.inner],
                &mut out[start..start + layout.inner],
            );
            let p = params.channel(c);
            match p.qtype {
                QType::U8 => k.quantize_u8(&p, src, dst)?,
                QType::I8 => {
                    // SAFETY: u8 and i8 have the same layout and every bit pattern is valid.
                    let dst = unsafe {
                        core::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<i8>(), dst.len())
                    };
                    k.quantize_i8(&p, src, dst)?
                }
            }
        }
    }
    Ok(())
}

/// ONNX `DynamicQuantizeLinear` (opset 11) parameters, exactly as the ONNX reference
/// implementation computes them in f32:
///
/// * `x_max = max(0, max(x))`, `x_min = min(0, min(x))`;
/// * `y_scale = (x_max - x_min) / 255`, or `1 / 255` when `x_max == x_min` (all-zero or empty
///   input: the spec's formula would divide by zero; `onnx.reference` uses 1.0 / 255);
/// * `y_zero_point = round_half_even(clamp(0 - x_min / y_scale, 0, 255))`.
///
/// NaN or infinite inputs are refused (the spec leaves them undefined: the scale would be NaN).
pub fn dynamic_quantize_params(x: &[f32]) -> Result<QuantParams, QuantError> {
    let (lo, hi) = finite_min_max(x)?.unwrap_or((0.0, 0.0));
    let x_max = hi.max(0.0);
    let x_min = lo.min(0.0);
    let range = if x_max == x_min { 1.0 } else { x_max - x_min };
    let scale = range / 255.0;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(QuantError::BadScale {
            what: format!("DynamicQuantizeLinear scale of range [{lo}, {hi}]"),
            scale,
        });
    }
    let zp = (0.0 - x_min / scale).clamp(0.0, 255.0).round_ties_even() as i32;
    QuantParams::new(scale, zp, QType::U8)
}

/// ONNX `DynamicQuantizeLinear`: chooses the parameters ([`dynamic_quantize_params`]) and
/// quantizes `x` into `out` with QuantizeLinear semantics (round half to even, saturate).
///
/// ```
/// // The example of the ONNX operator documentation / node test.
/// let x = [0.0f32, 2.0, -3.0, -2.5, 1.34, 0.5];
/// let mut y = [0u8; 6];
/// let p = quant_params::choose::dynamic_quantize_linear(&x, &mut y)?;
/// assert_eq!(p.scale(), 5.0f32 / 255.0);
/// assert_eq!(p.zero_point(), 153);
/// assert_eq!(y, [153, 255, 0, 26, 221, 179]);
/// # Ok::<(), quant_params::QuantError>(())
/// ```
pub fn dynamic_quantize_linear(x: &[f32], out: &mut [u8]) -> Result<QuantParams, QuantError> {
    let p = dynamic_quantize_params(x)?;
    BulkKernels::best().quantize_u8(&p, x, out)?;
    Ok(p)
}
