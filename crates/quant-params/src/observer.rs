//! Calibration observers for post-training quantization: they watch f32 tensors (batches of
//! activations, or weights) and propose a range, from which [`crate::choose::params_from_range`]
//! makes parameters.
//!
//! | observer | range | matches |
//! |---|---|---|
//! | [`MinMaxObserver`] | running min / max | PyTorch `MinMaxObserver`, TFLite calibration |
//! | [`MovingAverageMinMaxObserver`] | exponential moving average of batch min / max | PyTorch `MovingAverageMinMaxObserver` (first batch taken as is) |
//! | [`HistogramObserver`] + [`HistogramMethod::Percentile`] | drops `(100 - p) / 2` % of the mass in each tail | ONNX Runtime calibration `percentile` (two-tailed here) |
//! | [`HistogramObserver`] + [`HistogramMethod::Mse`] | the clipping range minimising the quantization MSE of the histogram | in the spirit of PyTorch `HistogramObserver` / TensorRT-style search |
//!
//! Per channel: [`PerChannelObserver`] keeps one observer per channel of a [`ChannelLayout`].
//! NaN and infinite values are ignored by every observer.

use crate::choose::{params_from_range, ChannelLayout, Symmetry};
use crate::error::check_len;
use crate::{PerChannelParams, QType, QuantError, QuantParams};

/// A calibration observer.
pub trait Observer {
    /// Watches one more tensor (or batch).
    fn observe(&mut self, x: &[f32]);

    /// The proposed range for `qtype` / `symmetry`, or `None` if nothing finite was seen.
    fn range(&self, qtype: QType, symmetry: Symmetry) -> Option<(f32, f32)>;

    /// Bytes this observer owns on the heap (its histogram, say): a [`PerChannelObserver`] uses
    /// it to refuse channel counts whose observers would not fit in memory. Default 0.
    fn heap_bytes(&self) -> usize {
        0
    }

    /// Parameters from the proposed range (the degenerate range `[0, 0]` if nothing was seen).
    fn params(&self, qtype: QType, symmetry: Symmetry) -> Result<QuantParams, QuantError> {
        let (lo, hi) = self.range(qtype, symmetry).unwrap_or((0.0, 0.0));
        params_from_range(lo, hi, qtype, symmetry)
    }
}

fn batch_min_max(x: &[f32]) -> Option<(f32, f32)> {
    let mut mm: Option<(f32, f32)> = None;
    for &v in x {
        if v.is_finite() {
            mm = Some(match mm {
                None => (v, v),
                Some((a, b)) => (a.min(v), b.max(v)),
            });
        }
    }
    mm
}

/// Running min / max of everything seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinMaxObserver {
    range: Option<(f32, f32)>,
}

impl MinMaxObserver {
    /// An observer that has seen nothing.
    pub fn new() -> MinMaxObserver {
        MinMaxObserver::default()
    }
}

impl Observer for MinMaxObserver {
    fn observe(&mut self, x: &[f32]) {
        if let Some((a, b)) = batch_min_max(x) {
            self.range = Some(match self.range {
                None => (a, b),
                Some((p, q)) => (p.min(a), q.max(b)),
            });
        }
    }

    fn range(&self, _: QType, _: Symmetry) -> Option<(f32, f32)> {
        self.range
    }
}

/// Exponential moving average of each batch's min / max:
/// `min = min + c * (batch_min - min)` (the first batch is taken as is).
#[derive(Clone, Debug, PartialEq)]
pub struct MovingAverageMinMaxObserver {
    averaging_constant: f32,
    range: Option<(f32, f32)>,
}

impl MovingAverageMinMaxObserver {
    /// An observer with averaging constant `c` in `(0, 1]` (PyTorch's default is 0.01).
    pub fn new(c: f32) -> Result<MovingAverageMinMaxObserver, QuantError> {
        if !(c > 0.0 && c <= 1.0) {
            return Err(QuantError::Invalid(format!(
                "averaging constant is {c}, but it must be in (0, 1]"
            )));
        }
        Ok(MovingAverageMinMaxObserver {
            averaging_constant: c,
            range: None,
        })
    }
}

impl Observer for MovingAverageMinMaxObserver {
    fn observe(&mut self, x: &[f32]) {
        if let Some((a, b)) = batch_min_max(x) {
            self.range = Some(match self.range {
                None => (a, b),
                Some((p, q)) => {
                    // In f64: `a - p` of two finite f32 can overflow f32 (-3e38 to 3e38) and
                    // gave an infinite bound. The average lies between `p` and `a`, so it is a
                    // finite f32 again.
                    let c = f64::from(self.averaging_constant);
                    let ema = |old: f32, new: f32| {
                        (f64::from(old) + c * (f64::from(new) - f64::from(old))) as f32
                    };
                    let (lo, hi) = (ema(p, a), ema(q, b));
                    (lo.min(hi), lo.max(hi))
                }
            });
        }
    }

    fn range(&self, _: QType, _: Symmetry) -> Option<(f32, f32)> {
        self.range
    }
}

/// How a [`HistogramObserver`] turns its histogram into a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HistogramMethod {
    /// The full observed range (same as min/max).
    Full,
    /// Keep the central `p` percent of the mass (`p` in `(0, 100]`), dropping `(100 - p) / 2`
    /// percent in each tail; e.g. 99.99.
    Percentile(f64),
    /// Search the clipping range that minimises the expected squared quantization error of the
    /// histogram ([`HistogramObserver::quantization_mse`]): a proportional shrink of both ends toward 0
    /// over `steps` candidates, then each end refined alone.
    Mse {
        /// Number of candidates per search pass (e.g. 128), at most [`MAX_MSE_STEPS`].
        steps: usize,
    },
}

/// The most candidates per pass of [`HistogramMethod::Mse`]: each candidate costs one pass over
/// the histogram, so an unbounded count (`usize::MAX`) would never return.
pub const MAX_MSE_STEPS: usize = 1 << 16;

/// A histogram of everything seen, over a range that grows as data arrives (old counts are
/// moved to the new bins containing their old bin centres).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramObserver {
    method: HistogramMethod,
    counts: Vec<f64>,
    lo: f32,
    hi: f32,
    seen: Option<(f32, f32)>,
}

impl HistogramObserver {
    /// A histogram with `bins` bins (PyTorch uses 2048; at most 2^20) and the given range method
    /// (a percentile in `(0, 100]`, MSE steps in `[1, MAX_MSE_STEPS]`).
    pub fn new(bins: usize, method: HistogramMethod) -> Result<HistogramObserver, QuantError> {
        if !(2..=1 << 20).contains(&bins) {
            return Err(QuantError::Invalid(format!(
                "histogram bins is {bins}, but it must be in [2, 2^20]"
            )));
        }
        match method {
            HistogramMethod::Percentile(p) if !(p > 0.0 && p <= 100.0) => {
                return Err(QuantError::Invalid(format!(
                    "percentile is {p}, but it must be in (0, 100]"
                )))
            }
            HistogramMethod::Mse { steps } if !(1..=MAX_MSE_STEPS).contains(&steps) => {
                return Err(QuantError::Invalid(format!(
                    "MSE search steps is {steps}, but it must be in [1, {MAX_MSE_STEPS}]"
                )))
            }
            _ => {}
        }
        Ok(HistogramObserver {
            method,
            counts: vec![0.0; bins],
            lo: 0.0,
            hi: 0.0,
            seen: None,
        })
    }

    /// Bin width in f64: `hi - lo` of two finite f32 can overflow f32 (a range from -3e38 to
    /// 3e38), which made every width infinite and every bin edge NaN.
    fn width(&self) -> f64 {
        (f64::from(self.hi) - f64::from(self.lo)) / self.counts.len() as f64
    }

    /// The position `lo + t · width` as f32 (inside `[lo, hi]` for `t` in `[0, bins]`).
    fn at(&self, t: f64) -> f32 {
        (f64::from(self.lo) + t * self.width()) as f32
    }

    fn bin_of(&self, v: f32) -> usize {
        let n = self.counts.len();
        let w = self.width();
        if w <= 0.0 {
            return 0;
        }
        // `as usize` saturates (and maps NaN to 0), then the last bin takes the top edge.
        ((f64::from(v) - f64::from(self.lo)) / w)
            .max(0.0)
            .min((n - 1) as f64) as usize
    }

    fn grow(&mut self, lo: f32, hi: f32) {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            // One value: a small range around it, on the side that stays finite (`lo + δ`
            // overflows to +inf for values near f32::MAX).
            let d = f32::EPSILON.max(lo.abs() * 1e-6);
            if (lo + d).is_finite() {
                (lo, lo + d)
            } else {
                (lo - d, lo)
            }
        };
        if self.seen.is_none() {
            self.lo = lo;
            self.hi = hi;
            return;
        }
        if lo >= self.lo && hi <= self.hi {
            return;
        }
        let nbins = self.counts.len();
        let old = std::mem::replace(&mut self.counts, vec![0.0; nbins]);
        let old_at: Vec<f32> = (0..nbins).map(|b| self.at(b as f64 + 0.5)).collect();
        self.lo = self.lo.min(lo);
        self.hi = self.hi.max(hi);
        for (&c, &centre) in old.iter().zip(&old_at) {
            if c > 0.0 {
                let nb = self.bin_of(centre);
                self.counts[nb] += c;
            }
        }
    }

    /// The histogram: `(lower edge, bin width, counts)`.
    pub fn histogram(&self) -> (f32, f32, &[f64]) {
        (self.lo, self.width() as f32, &self.counts)
    }

    /// The range keeping the central `p` percent of the mass.
    pub fn percentile_range(&self, p: f64) -> Option<(f32, f32)> {
        let (smin, smax) = self.seen?;
        let total: f64 = self.counts.iter().sum();
        let drop = total * (1.0 - p / 100.0) / 2.0;
        let mut cum = 0.0;
        let mut lo = smin;
        for (b, &c) in self.counts.iter().enumerate() {
            cum += c;
            if cum > drop {
                lo = self.at(b as f64);
                break;
            }
        }
        let mut cum = 0.0;
        let mut hi = smax;
        for (b, &c) in self.counts.iter().enumerate().rev() {
            cum += c;
            if cum > drop {
                hi = self.at((b + 1) as f64);
                break;
            }
        }
        Some((lo.max(smin), hi.min(smax).max(lo.max(smin))))
    }

    /// Expected squared quantization error of the histogram's mass under `p`, each bin's mass
    /// spread evenly over 8 points inside the bin (so bins wider than a quantization step still
    /// see the rounding noise).
    pub fn quantization_mse(&self, p: &QuantParams) -> f64 {
        const SUB: usize = 8;
        let mut err = 0.0;
        let mut total = 0.0;
        for (b, &c) in self.counts.iter().enumerate() {
            if c > 0.0 {
                let mut e = 0.0;
                for k in 0..SUB {
                    let x = self.at(b as f64 + (k as f64 + 0.5) / SUB as f64);
                    let d = f64::from(x) - f64::from(p.dequantize(p.quantize(x)));
                    e += d * d;
                }
                err += c * e / SUB as f64;
                total += c;
            }
        }
        if total > 0.0 {
            err / total
        } else {
            0.0
        }
    }

    /// The MSE-optimal clipping range (see [`HistogramMethod::Mse`]).
    pub fn mse_range(&self, qtype: QType, symmetry: Symmetry, steps: usize) -> Option<(f32, f32)> {
        let (smin, smax) = self.seen?;
        let (smin, smax) = (smin.min(0.0), smax.max(0.0));
        let eval = |lo: f32, hi: f32| -> f64 {
            params_from_range(lo, hi, qtype, symmetry)
                .map(|p| self.quantization_mse(&p))
                .unwrap_or(f64::INFINITY)
        };
        let steps = steps.max(1);
        let frac = |k: usize| k as f32 / steps as f32;
        let mut best = (smin, smax, eval(smin, smax));
        for k in 1..steps {
            let (lo, hi) = (smin * frac(k), smax * frac(k));
            let e = eval(lo, hi);
            if e < best.2 {
                best = (lo, hi, e);
            }
        }
        if symmetry == Symmetry::Asymmetric {
            let (blo, bhi) = (best.0, best.1);
            for k in 1..=steps {
                let lo = smin * frac(k);
                let e = eval(lo, bhi);
                if e < best.2 {
                    best = (lo, bhi, e);
                }
            }
            let blo2 = best.0;
            for k in 1..=steps {
                let hi = smax * frac(k);
                let e = eval(blo2, hi);
                if e < best.2 {
                    best = (blo2, hi, e);
                }
            }
            let _ = blo;
        }
        Some((best.0, best.1))
    }
}

impl Observer for HistogramObserver {
    fn observe(&mut self, x: &[f32]) {
        let Some((a, b)) = batch_min_max(x) else {
            return;
        };
        self.grow(a, b);
        self.seen = Some(match self.seen {
            None => (a, b),
            Some((p, q)) => (p.min(a), q.max(b)),
        });
        for &v in x {
            if v.is_finite() {
                let bin = self.bin_of(v);
                self.counts[bin] += 1.0;
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.counts.len() * std::mem::size_of::<f64>()
    }

    fn range(&self, qtype: QType, symmetry: Symmetry) -> Option<(f32, f32)> {
        match self.method {
            HistogramMethod::Full => self.seen,
            HistogramMethod::Percentile(p) => self.percentile_range(p),
            HistogramMethod::Mse { steps } => self.mse_range(qtype, symmetry, steps),
        }
    }
}

/// The most memory a [`PerChannelObserver`] allocates for its observers (4 GiB on 64-bit targets,
/// 1 GiB on 32-bit ones, whose whole address space is 4 GiB): `channels` copies of the prototype,
/// each `size_of::<O>() + O::heap_bytes()`. More is an error, not an allocation that aborts the
/// process.
pub const MAX_PER_CHANNEL_BYTES: usize = if usize::BITS > 32 {
    (1u64 << 32) as usize
} else {
    1 << 30
};

/// One observer per channel of a [`ChannelLayout`].
///
/// The per-channel observers are allocated on the first [`PerChannelObserver::observe`] that
/// sees data (fallibly, within [`MAX_PER_CHANNEL_BYTES`]), so a channel count read from a model
/// file can be as large as it likes without aborting at construction.
#[derive(Clone, Debug, PartialEq)]
pub struct PerChannelObserver<O> {
    proto: O,
    channels: usize,
    /// Empty until the first observation, then one per channel.
    observers: Vec<O>,
}

impl<O: Observer + Clone> PerChannelObserver<O> {
    /// `channels` copies of `proto` (allocated when the first data arrives).
    pub fn new(proto: O, channels: usize) -> PerChannelObserver<O> {
        PerChannelObserver {
            proto,
            channels,
            observers: Vec::new(),
        }
    }

    /// The observer of channel `c` (`None` if `c >= channels`).
    pub fn channel(&self, c: usize) -> Option<&O> {
        if c >= self.channels {
            return None;
        }
        Some(self.observers.get(c).unwrap_or(&self.proto))
    }

    /// Checks that `channels` items of `bytes_each` fit [`MAX_PER_CHANNEL_BYTES`].
    fn check_size(&self, what: &str, bytes_each: usize) -> Result<(), QuantError> {
        match self.channels.checked_mul(bytes_each.max(1)) {
            Some(b) if b <= MAX_PER_CHANNEL_BYTES => Ok(()),
            _ => Err(QuantError::Invalid(format!(
                "{} channels of {what} ({bytes_each} bytes each) exceed the per-channel observer limit of {MAX_PER_CHANNEL_BYTES} bytes",
                self.channels
            ))),
        }
    }

    /// The per-channel observers, allocated on first use.
    fn allocate(&mut self) -> Result<(), QuantError> {
        if self.observers.len() == self.channels {
            return Ok(());
        }
        let each = std::mem::size_of::<O>().saturating_add(self.proto.heap_bytes());
        self.check_size("observers", each)?;
        let mut v = Vec::new();
        v.try_reserve_exact(self.channels).map_err(|_| {
            QuantError::Invalid(format!(
                "cannot allocate {} per-channel observers",
                self.channels
            ))
        })?;
        v.resize(self.channels, self.proto.clone());
        self.observers = v;
        Ok(())
    }

    /// Watches one tensor laid out as `layout` (its channel count must match).
    pub fn observe(&mut self, x: &[f32], layout: ChannelLayout) -> Result<(), QuantError> {
        check_len(
            "layout channels vs observer channels",
            self.channels,
            layout.channels,
        )?;
        let n = layout.element_count()?;
        check_len("input length vs channel layout", n, x.len())?;
        if x.is_empty() {
            return Ok(());
        }
        // Non-empty data: outer and inner are >= 1, so channels <= x.len().
        self.allocate()?;
        if layout.outer == 1 || layout.inner > 1 {
            let obs = &mut self.observers;
            layout.for_each_run(x, |c, run| obs[c].observe(run))?;
        } else {
            // Channel-last with inner == 1: gather each channel once, not element by element.
            let mut tmp = vec![0.0f32; layout.outer];
            for (c, o) in self.observers.iter_mut().enumerate() {
                for (k, t) in tmp.iter_mut().enumerate() {
                    *t = x[k * layout.channels + c];
                }
                o.observe(&tmp);
            }
        }
        Ok(())
    }

    /// Per-channel parameters from each channel's proposed range.
    pub fn params(&self, qtype: QType, symmetry: Symmetry) -> Result<PerChannelParams, QuantError> {
        self.check_size("parameters", 8)?;
        let mut scales = Vec::with_capacity(self.channels);
        let mut zps = Vec::with_capacity(self.channels);
        for c in 0..self.channels {
            let o = self.channel(c).unwrap_or(&self.proto);
            let p = o.params(qtype, symmetry)?;
            scales.push(p.scale);
            zps.push(p.zero_point);
        }
        PerChannelParams::new(scales, zps, qtype)
    }
}
