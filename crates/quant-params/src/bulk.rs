//! Bulk element-wise kernels with run-time dispatch: quantize, dequantize, requantize (every
//! scheme), u8 <-> i8 zero-point shift.
//!
//! [`BulkKernels`] holds one entry of the dispatch table [`BULK`], chosen once. The slice methods
//! on [`Requantizer`] ([`Requantizer::requantize_slice_u8`], ...) use the best entry of this CPU,
//! chosen once per process; the `_with` forms force an entry (tests, benchmarks).

use crate::error::check_len;
use crate::ukernel::{scheme_index, BulkEntry, QuantConsts, RequantConsts, BULK};
use crate::{QType, QuantError, QuantParams, Requantizer};

fn check_type(what: &str, have: QType, want: QType) -> Result<(), QuantError> {
    if have != want {
        return Err(QuantError::Invalid(format!(
            "{what} are {have:?} but a {want:?} buffer was given"
        )));
    }
    Ok(())
}

fn as_bytes_mut(x: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have the same size, alignment and validity (every bit pattern).
    unsafe { core::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<u8>(), x.len()) }
}

fn as_bytes(x: &[i8]) -> &[u8] {
    // SAFETY: i8 and u8 have the same size, alignment and validity (every bit pattern).
    unsafe { core::slice::from_raw_parts(x.as_ptr().cast::<u8>(), x.len()) }
}

/// One [`BULK`] entry's bulk kernels (a table of function pointers, chosen once).
///
/// ```
/// use quant_params::{BulkKernels, QuantParams, QType, BULK};
/// let k = BulkKernels::best();
/// let p = QuantParams::new(0.5, 10, QType::U8)?;
/// let mut q = [0u8; 4];
/// k.quantize_u8(&p, &[0.0, 1.25, -100.0, f32::NAN], &mut q)?;
/// assert_eq!(q, [10, 12, 0, 10]);
/// let mut back = [0f32; 4];
/// k.dequantize_u8(&p, &q, &mut back)?;
/// assert_eq!(back, [0.0, 1.0, -5.0, 0.0]);
/// // Any available entry can be forced (or looked up by name); all give identical results.
/// for e in BULK.available() {
///     let mut q2 = [0u8; 4];
///     BulkKernels::new(e)?.quantize_u8(&p, &[0.0, 1.25, -100.0, f32::NAN], &mut q2)?;
///     assert_eq!(q2, q);
/// }
/// assert_eq!(BulkKernels::by_name("requant_fp32__scalar")?.quantize_name(), "quantize__scalar");
/// # Ok::<(), quant_params::QuantError>(())
/// ```
#[derive(Clone, Copy)]
pub struct BulkKernels {
    entry: &'static BulkEntry,
}

impl std::fmt::Debug for BulkKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkKernels")
            .field("entry", &self.entry.name)
            .finish()
    }
}

impl BulkKernels {
    /// The kernels of `entry` (one of [`BULK`]), or an error if this CPU cannot run it.
    pub fn new(entry: &'static BulkEntry) -> Result<BulkKernels, QuantError> {
        // `verify`: one of BULK's own entries (not a caller-built copy whose `isa` could be
        // wrong) that this CPU runs.
        let entry = BULK.verify(entry).map_err(|e| {
            QuantError::Invalid(format!(
                "{e} (available: {:?})",
                BULK.available().iter().map(|e| e.name).collect::<Vec<_>>()
            ))
        })?;
        Ok(BulkKernels { entry })
    }

    /// The kernels of the [`BULK`] entry named `name` (e.g. `requant_fp32_x32__avx2`), or an
    /// error naming the known entries or the missing ISA.
    pub fn by_name(name: &str) -> Result<BulkKernels, QuantError> {
        let entry = BULK
            .by_name(name)
            .map_err(|e| QuantError::Invalid(e.to_string()))?;
        Ok(BulkKernels { entry })
    }

    /// The best kernels of this CPU ([`Table::best`](cpu_probe::Table::best) of [`BULK`]),
    /// chosen once per process.
    pub fn best() -> BulkKernels {
        static BEST: std::sync::OnceLock<BulkKernels> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| BulkKernels { entry: BULK.best() })
    }

    /// The [`BULK`] entry these kernels are.
    pub fn entry(&self) -> &'static BulkEntry {
        self.entry
    }

    /// The entry's name: the name of its `Fp32` requantization function.
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// The name of the function [`BulkKernels::quantize_u8`] and `quantize_i8` run.
    pub fn quantize_name(&self) -> &'static str {
        self.entry.kernels.quantize_name
    }

    /// The name of the function [`BulkKernels::dequantize_u8`] runs.
    pub fn dequantize_u8_name(&self) -> &'static str {
        self.entry.kernels.dequantize_u8_name
    }

    /// The name of the function [`BulkKernels::dequantize_i8`] runs.
    pub fn dequantize_i8_name(&self) -> &'static str {
        self.entry.kernels.dequantize_i8_name
    }

    /// The name of the function [`BulkKernels::u8_to_i8`] and `i8_to_u8` run.
    pub fn xor80_name(&self) -> &'static str {
        self.entry.kernels.xor80_name
    }

    /// The kernels of the entry.
    fn table(&self) -> &'static crate::ukernel::Kernels {
        &self.entry.kernels
    }

    /// ONNX QuantizeLinear into `u8`: `saturate(round_half_even(x / scale) + zero_point)`, NaN
    /// to the zero point. `p` must be a `U8` parameter set.
    pub fn quantize_u8(
        &self,
        p: &QuantParams,
        x: &[f32],
        out: &mut [u8],
    ) -> Result<(), QuantError> {
        check_type("quantization parameters", p.qtype, QType::U8)?;
        check_len("quantize output vs input", x.len(), out.len())?;
        let c = QuantConsts::new(p);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().quantize)(&c, x, out) };
        Ok(())
    }

    /// ONNX QuantizeLinear into `i8` (see [`BulkKernels::quantize_u8`]).
    pub fn quantize_i8(
        &self,
        p: &QuantParams,
        x: &[f32],
        out: &mut [i8],
    ) -> Result<(), QuantError> {
        check_type("quantization parameters", p.qtype, QType::I8)?;
        check_len("quantize output vs input", x.len(), out.len())?;
        let c = QuantConsts::new(p);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().quantize)(&c, x, as_bytes_mut(out)) };
        Ok(())
    }

    /// ONNX DequantizeLinear from `u8`: `(q - zero_point) as f32 * scale`.
    pub fn dequantize_u8(
        &self,
        p: &QuantParams,
        q: &[u8],
        out: &mut [f32],
    ) -> Result<(), QuantError> {
        check_type("quantization parameters", p.qtype, QType::U8)?;
        check_len("dequantize output vs input", q.len(), out.len())?;
        let c = QuantConsts::new(p);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().dequantize_u8)(&c, q, out) };
        Ok(())
    }

    /// ONNX DequantizeLinear from `i8`.
    pub fn dequantize_i8(
        &self,
        p: &QuantParams,
        q: &[i8],
        out: &mut [f32],
    ) -> Result<(), QuantError> {
        check_type("quantization parameters", p.qtype, QType::I8)?;
        check_len("dequantize output vs input", q.len(), out.len())?;
        let c = QuantConsts::new(p);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().dequantize_i8)(&c, as_bytes(q), out) };
        Ok(())
    }

    /// Requantizes accumulators into `u8` with `r`'s scheme (the output type must be `U8`).
    pub fn requantize_u8(
        &self,
        r: &Requantizer,
        acc: &[i32],
        out: &mut [u8],
    ) -> Result<(), QuantError> {
        check_type("requantizer outputs", r.qtype, QType::U8)?;
        check_len("requantize output vs accumulators", acc.len(), out.len())?;
        let c = RequantConsts::new(r);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().requant[scheme_index(r.scheme)])(&c, acc, out) };
        Ok(())
    }

    /// Requantizes accumulators into `i8` (the output type must be `I8`).
    pub fn requantize_i8(
        &self,
        r: &Requantizer,
        acc: &[i32],
        out: &mut [i8],
    ) -> Result<(), QuantError> {
        check_type("requantizer outputs", r.qtype, QType::I8)?;
        check_len("requantize output vs accumulators", acc.len(), out.len())?;
        let c = RequantConsts::new(r);
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().requant[scheme_index(r.scheme)])(&c, acc, as_bytes_mut(out)) };
        Ok(())
    }

    /// `u8` with zero point `z` to `i8` with zero point `z - 128` (XOR 0x80; real values kept).
    pub fn u8_to_i8(&self, x: &[u8], out: &mut [i8]) -> Result<(), QuantError> {
        check_len("u8_to_i8 output vs input", x.len(), out.len())?;
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().xor80)(x, as_bytes_mut(out)) };
        Ok(())
    }

    /// `i8` with zero point `z` to `u8` with zero point `z + 128` (XOR 0x80; real values kept).
    pub fn i8_to_u8(&self, x: &[i8], out: &mut [u8]) -> Result<(), QuantError> {
        check_len("i8_to_u8 output vs input", x.len(), out.len())?;
        // SAFETY: the table belongs to an available entry; the lengths are equal.
        unsafe { (self.table().xor80)(as_bytes(x), out) };
        Ok(())
    }
}

/// A requantizer bound to one variant's kernel, with its constants derived once: the cheapest
/// call for kernel epilogues that requantize many rows with the same parameters.
#[derive(Clone, Copy)]
pub struct RequantPlan {
    consts: RequantConsts,
    qtype: QType,
    entry: &'static BulkEntry,
    name: &'static str,
    f: crate::ukernel::RequantFn,
}

impl std::fmt::Debug for RequantPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequantPlan")
            .field("consts", &self.consts)
            .field("qtype", &self.qtype)
            .field("kernel", &self.name)
            .finish()
    }
}

impl RequantPlan {
    /// The [`BULK`] entry this plan runs.
    pub fn entry(&self) -> &'static BulkEntry {
        self.entry
    }

    /// The name of the requantization function this plan runs (e.g. `requant_rndnu_x32__avx2`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Requantizes into `u8` (the requantizer's output type must be `U8`).
    pub fn run_u8(&self, acc: &[i32], out: &mut [u8]) -> Result<(), QuantError> {
        check_type("requantizer outputs", self.qtype, QType::U8)?;
        check_len("requantize output vs accumulators", acc.len(), out.len())?;
        // SAFETY: the function comes from an available entry's table; the lengths are equal.
        unsafe { (self.f)(&self.consts, acc, out) };
        Ok(())
    }

    /// Requantizes into `i8` (the requantizer's output type must be `I8`).
    pub fn run_i8(&self, acc: &[i32], out: &mut [i8]) -> Result<(), QuantError> {
        check_type("requantizer outputs", self.qtype, QType::I8)?;
        check_len("requantize output vs accumulators", acc.len(), out.len())?;
        // SAFETY: the function comes from an available entry's table; the lengths are equal.
        unsafe { (self.f)(&self.consts, acc, as_bytes_mut(out)) };
        Ok(())
    }
}

impl Requantizer {
    /// Requantizes a slice into `u8` with the best kernel of this CPU (chosen once per process);
    /// bit-identical to [`Requantizer::requantize`] on every element.
    ///
    /// ```
    /// use quant_params::{QType, RequantScheme, Requantizer};
    /// let r = Requantizer::new(RequantScheme::Gemmlowp, 0.25, 100, QType::U8)?;
    /// let acc = [0, 10, -10, 1 << 20, i32::MIN];
    /// let mut out = [0u8; 5];
    /// r.requantize_slice_u8(&acc, &mut out)?;
    /// assert_eq!(out, [100, 103, 97, 255, 0]);
    /// # Ok::<(), quant_params::QuantError>(())
    /// ```
    pub fn requantize_slice_u8(&self, acc: &[i32], out: &mut [u8]) -> Result<(), QuantError> {
        BulkKernels::best().requantize_u8(self, acc, out)
    }

    /// Requantizes a slice into `i8` with the best kernel of this CPU.
    pub fn requantize_slice_i8(&self, acc: &[i32], out: &mut [i8]) -> Result<(), QuantError> {
        BulkKernels::best().requantize_i8(self, acc, out)
    }

    /// [`Requantizer::requantize_slice_u8`] with a forced [`BULK`] entry (error if unavailable).
    pub fn requantize_slice_u8_with(
        &self,
        entry: &'static BulkEntry,
        acc: &[i32],
        out: &mut [u8],
    ) -> Result<(), QuantError> {
        BulkKernels::new(entry)?.requantize_u8(self, acc, out)
    }

    /// [`Requantizer::requantize_slice_i8`] with a forced [`BULK`] entry (error if unavailable).
    pub fn requantize_slice_i8_with(
        &self,
        entry: &'static BulkEntry,
        acc: &[i32],
        out: &mut [i8],
    ) -> Result<(), QuantError> {
        BulkKernels::new(entry)?.requantize_i8(self, acc, out)
    }

    /// A plan bound to `entry` (or the best one with `None`), constants derived once.
    pub fn plan(&self, entry: Option<&'static BulkEntry>) -> Result<RequantPlan, QuantError> {
        let k = match entry {
            Some(e) => BulkKernels::new(e)?,
            None => BulkKernels::best(),
        };
        let i = scheme_index(self.scheme);
        Ok(RequantPlan {
            consts: RequantConsts::new(self),
            qtype: self.qtype,
            entry: k.entry,
            name: k.table().requant_names[i],
            f: k.table().requant[i],
        })
    }
}

/// Per-output-channel requantization (per-channel weight scales, as XNNPACK `qc8w` and ONNX
/// per-axis QLinearConv): one real scale per channel, one output zero point and clamp.
/// Accumulators are rows of `channels` values (NHWC outputs, GEMM `C` with `N = channels`).
///
/// `Fp32` (the scheme XNNPACK and ONNX Runtime use for per-channel weights) runs the SIMD
/// kernel of the entry with one scale per lane; the other schemes run the scalar per-element
/// formulation in every entry. All are bit-identical to [`Requantizer::requantize`] with each
/// channel's scale.
///
/// ```
/// use quant_params::{PerChannelRequantizer, QType, RequantScheme};
/// let r = PerChannelRequantizer::new(RequantScheme::Fp32, &[0.5, 0.25], 10, QType::U8)?;
/// let acc = [4, 4, -4, -4]; // two rows of two channels
/// let mut out = [0u8; 4];
/// r.requantize_rows_u8(&acc, &mut out)?;
/// assert_eq!(out, [12, 11, 8, 9]);
/// # Ok::<(), quant_params::QuantError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PerChannelRequantizer {
    requantizers: Vec<Requantizer>,
    scales: Vec<f32>,
    consts: Vec<RequantConsts>,
    /// `Rndnu`: the channels' [`crate::requant::rndnu_fixed_point`] constants.
    rndnu: Option<RndnuTable>,
}

/// The `Rndnu` fixed-point constants of every channel, one array each (what fused kernels load
/// a vector of columns from): the Q31 multipliers, the `sqshl` counts (`pre >= 0`) and the
/// `srshl` counts (`−post < 0`).
#[derive(Clone, Debug)]
struct RndnuTable {
    multiplier: Vec<i32>,
    pre_shl: Vec<i32>,
    post_shl: Vec<i32>,
}

impl RndnuTable {
    fn of(requantizers: &[Requantizer]) -> Option<RndnuTable> {
        if requantizers.first()?.scheme() != crate::RequantScheme::Rndnu {
            return None;
        }
        let fixed: Vec<(i32, i32, i32)> = requantizers
            .iter()
            .map(|r| crate::requant::rndnu_fixed_point(r.mantissa(), r.shift()))
            .collect();
        Some(RndnuTable {
            multiplier: fixed.iter().map(|f| f.0).collect(),
            pre_shl: fixed.iter().map(|f| f.1).collect(),
            post_shl: fixed.iter().map(|f| -f.2).collect(),
        })
    }
}

impl PerChannelRequantizer {
    /// One requantizer per entry of `scales` (each in `[2^-32, 256)`), sharing the scheme, the
    /// output zero point and the full range of `qtype`.
    pub fn new(
        scheme: crate::RequantScheme,
        scales: &[f32],
        zero_point: i32,
        qtype: QType,
    ) -> Result<PerChannelRequantizer, QuantError> {
        let mut requantizers = Vec::with_capacity(scales.len());
        for (c, &s) in scales.iter().enumerate() {
            let r = Requantizer::new(scheme, s, zero_point, qtype).map_err(|e| {
                QuantError::Invalid(format!("requantization scale of channel {c}: {e}"))
            })?;
            requantizers.push(r);
        }
        Ok(PerChannelRequantizer {
            consts: requantizers.iter().map(RequantConsts::new).collect(),
            scales: scales.to_vec(),
            rndnu: RndnuTable::of(&requantizers),
            requantizers,
        })
    }

    /// The same requantizer with every channel's output clamped to `[qmin, qmax]`.
    pub fn with_clamp(self, qmin: i32, qmax: i32) -> Result<PerChannelRequantizer, QuantError> {
        let requantizers = self
            .requantizers
            .into_iter()
            .map(|r| r.with_clamp(qmin, qmax))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PerChannelRequantizer {
            consts: requantizers.iter().map(RequantConsts::new).collect(),
            scales: self.scales,
            rndnu: self.rndnu,
            requantizers,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.requantizers.len()
    }

    /// The requantizer of channel `c`.
    pub fn channel(&self, c: usize) -> Option<&Requantizer> {
        self.requantizers.get(c)
    }

    /// The channels' scales, in channel order (what kernels that fuse the `Fp32` scheme into
    /// their stores multiply by).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// `Rndnu` only: the channels' [`crate::requant::rndnu_fixed_point`] constants as three
    /// arrays in channel order (what kernels that fuse the `Rndnu` scheme load): the Q31
    /// multipliers, the `sqshl` counts (`pre`) and the `srshl` counts (`−post`).
    pub fn rndnu_fixed_point(&self) -> Option<(&[i32], &[i32], &[i32])> {
        self.rndnu
            .as_ref()
            .map(|t| (&t.multiplier[..], &t.pre_shl[..], &t.post_shl[..]))
    }

    fn check(&self, n_in: usize, n_out: usize, want: QType) -> Result<(), QuantError> {
        let t = self.requantizers.first().map_or(want, |r| r.qtype);
        check_type("requantizer outputs", t, want)?;
        check_len("requantize output vs accumulators", n_in, n_out)?;
        let ch = self.channels();
        if !n_in.is_multiple_of(ch) {
            return Err(QuantError::Invalid(format!(
                "{n_in} accumulators are not whole rows of {ch} channels"
            )));
        }
        Ok(())
    }

    fn run(&self, k: BulkKernels, acc: &[i32], out: &mut [u8]) {
        let ch = self.channels();
        if ch == 0 {
            return;
        }
        let scheme = self.requantizers[0].scheme;
        for (a, o) in acc.chunks_exact(ch).zip(out.chunks_exact_mut(ch)) {
            if scheme == crate::RequantScheme::Fp32 {
                // SAFETY: the table belongs to an available entry; `a`, `o` and the scales
                // all have `ch` elements.
                unsafe {
                    (k.table().requant_fp32_per_channel)(&self.consts[0], &self.scales, a, o)
                };
            } else {
                for ((o, &a), c) in o.iter_mut().zip(a).zip(&self.consts) {
                    let v = match scheme {
                        crate::RequantScheme::Gemmlowp => {
                            crate::ukernel::scalar::gemmlowp_one(c, a)
                        }
                        crate::RequantScheme::Rndnu => {
                            crate::ukernel::scalar::mag_one::<true>(c, a)
                        }
                        _ => crate::ukernel::scalar::mag_one::<false>(c, a),
                    };
                    *o = v as u8;
                }
            }
        }
    }

    /// Requantizes rows of `channels` accumulators into `u8` with the best entry.
    pub fn requantize_rows_u8(&self, acc: &[i32], out: &mut [u8]) -> Result<(), QuantError> {
        self.requantize_rows_u8_with(BulkKernels::best().entry(), acc, out)
    }

    /// Requantizes rows of `channels` accumulators into `i8` with the best entry.
    pub fn requantize_rows_i8(&self, acc: &[i32], out: &mut [i8]) -> Result<(), QuantError> {
        self.requantize_rows_i8_with(BulkKernels::best().entry(), acc, out)
    }

    /// [`PerChannelRequantizer::requantize_rows_u8`] with a forced [`BULK`] entry.
    pub fn requantize_rows_u8_with(
        &self,
        entry: &'static BulkEntry,
        acc: &[i32],
        out: &mut [u8],
    ) -> Result<(), QuantError> {
        let k = BulkKernels::new(entry)?;
        self.check(acc.len(), out.len(), QType::U8)?;
        self.run(k, acc, out);
        Ok(())
    }

    /// [`PerChannelRequantizer::requantize_rows_i8`] with a forced [`BULK`] entry.
    pub fn requantize_rows_i8_with(
        &self,
        entry: &'static BulkEntry,
        acc: &[i32],
        out: &mut [i8],
    ) -> Result<(), QuantError> {
        let k = BulkKernels::new(entry)?;
        self.check(acc.len(), out.len(), QType::I8)?;
        self.run(k, acc, as_bytes_mut(out));
        Ok(())
    }
}
