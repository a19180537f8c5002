//! # qgemm
//!
//! 8-bit GEMM for edge-kernels: `C[M×N] = requantize(A[M×K] · B[K×N] + bias)` with zero points,
//! on prepacked B and per-ISA micro-kernels.
//!
//! * Operands: u8 × u8 (QNNPACK), s8 × s8 symmetric per-channel (TFLite/XNNPACK), u8 × s8
//!   per-tensor or per-channel (ONNX Runtime/fbgemm). All three run on one u8 × s8 kernel domain
//!   with the zero-point terms folded at pack time ([`pack`]).
//! * Outputs: requantized u8/i8 (any `quant-params` scheme, clamp; one requantizer or one per
//!   column), raw i32, dequantized f32 (one scale or one per column).
//! * Strided A and C (row strides); [`PackedB`] is packed once and is `Send + Sync`.
//! * Micro-kernels ([`ukernel`]): `igemm_4x8c4__scalar`, `__neon`, `__neondot` (SDOT),
//!   `__neoni8mm` (SUDOT), `igemm_4x16c8__neoni8mm` (USMMLA, `c8` packing), `igemm_4x8c4__avx2`,
//!   `igemm_8x32c4__avx512vnni`. They are *indirect*: A rows are
//!   read through pointers, one per row and kernel tap, so `qconv-direct` runs convolutions on
//!   the same kernels through its indirection buffer; a GEMM is the one-tap case. The AVX2,
//!   AVX-512 VNNI and aarch64 (8x8c4, 2x8c16, 4x16c4 neondot, 4x16c8 i8mm) kernels also have an
//!   entry with the `Fp32` requantization (per tensor or per channel) fused into its store
//!   ([`ukernel::Kernels::run_fp32`], all NR blocks of a row block per call), the aarch64 ones
//!   the `Rndnu` scheme too (`sqshl`, `sqdmulh`, `srshl`; [`ukernel::Kernels::run_rndnu`]):
//!   u8/i8 outputs with those schemes skip the i32 scratch pass; i32 outputs are stored
//!   straight into C. For plain GEMM (A rows `lda` apart) it has strided entries
//!   ([`ukernel::Kernels::gemm_fp32`], [`ukernel::Kernels::gemm_i32`]) that run every full 8-row
//!   block of a task in one call, the first with a cheaper, still bit-exact requantization
//!   (saturating packs instead of float clamps): at K = 64 (Q2) a tile is only 256 `vpdpbusd`,
//!   and the per-call and per-store costs were a fifth of the time.
//! * Driver ([`PackedB::gemm`], [`PackedB::tiling`]): tiles of MR-row blocks × panels of packed
//!   B sized from the L1/L2 caches (`cpu_probe::cache_sizes`), run in parallel on a
//!   `cpu_probe::parallel::Parallel`; an M = 1 GEMV (classifier head) splits its columns.
//! * Exactness: a plan whose i32 accumulator could overflow (from the actual weights, zero points
//!   and bias) is refused.
//!
//! ## Hostile input
//!
//! Shapes and strides may come straight from a model file. `k` and `n` are at most
//! [`MAX_DIM`] (`u32::MAX`); every size derived from the caller's values (the spans
//! `(rows − 1) · stride + cols` of A, B and C, the packed weights, the task grid, the per-thread
//! scratch) is computed with checked arithmetic, and allocations sized by them are fallible or
//! capped: an overflow or an allocation that fails is an `Err` naming the argument and the
//! values, in release builds as in debug ones. The public helpers ([`activation_domain`],
//! [`weight_domain`], [`check_accumulator`], [`pack`]) check their arguments too. Safe code
//! cannot call a micro-kernel ([`ukernel::Kernels`]' functions are `unsafe fn`).
//!
//! NaN: the arithmetic is integer; only the f32 output multiplies by caller scales, and a NaN
//! scale gives NaN outputs (IEEE propagation, the project's rule).
//!
//! ```
//! use qgemm::{GemmConfig, GemmOutput, Input8, PackedB};
//! use quant_params::{QType, RequantScheme, Requantizer};
//!
//! // A: 2x3 u8 (zero point 128), B: 3x2 s8 (symmetric), C: requantized u8.
//! let b: [i8; 6] = [1, -1, 2, 0, 3, 1];
//! let packed = PackedB::new(GemmConfig {
//!     k: 3, n: 2, b: Input8::I8(&b), ldb: 2,
//!     a_type: QType::U8, a_zero_point: 128, b_zero_points: &[0], bias: None, kernel: None,
//! })?;
//! let a: [u8; 6] = [129, 130, 131, 128, 128, 138];
//! let r = Requantizer::new(RequantScheme::Fp32, 0.5, 100, QType::U8)?;
//! let mut c = [0u8; 4];
//! packed.gemm(2, Input8::U8(&a), 3, GemmOutput::U8 { c: &mut c, ldc: 2, requant: &r },
//!             &cpu_probe::parallel::Parallel::single())?;
//! // Row 0: (1, 2, 3)·B = (1+4+9, -1+0+3) = (14, 2) -> 100 + 7, 100 + 1.
//! assert_eq!(c[..2], [107, 101]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod driver;
pub mod pack;
pub mod reference;
pub mod ukernel;

pub use driver::{Tiling, MIN_TASK_MACS, SCRATCH_CAP, TASKS_PER_THREAD};
pub use quant_params::int8::Input8;
use quant_params::{PerChannelRequantizer, QType, Requantizer};
use std::fmt;
pub use ukernel::{Kernel, Kernels, IGEMM};

/// Errors of this crate; each message names the argument and the values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GemmError {
    /// A shape or buffer that does not fit.
    Shape(String),
    /// Bad quantization parameters.
    Quant(String),
    /// The i32 accumulator could overflow.
    Overflow(String),
    /// The forced micro-kernel (an [`IGEMM`] entry) cannot run on this CPU.
    Kernel(String),
}

impl fmt::Display for GemmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GemmError::Shape(m) => write!(f, "shape: {m}"),
            GemmError::Quant(m) => write!(f, "quantization: {m}"),
            GemmError::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            GemmError::Kernel(m) => write!(f, "kernel: {m}"),
        }
    }
}

impl std::error::Error for GemmError {}

impl From<quant_params::QuantError> for GemmError {
    fn from(e: quant_params::QuantError) -> Self {
        GemmError::Quant(e.to_string())
    }
}

/// The largest `k` and `n` of a GEMM: `u32::MAX` (as XNNPACK's dimensions); larger is an error.
pub const MAX_DIM: usize = u32::MAX as usize;

/// A vector with room for `len` elements, allocated fallibly (an error names `what`).
fn try_with_capacity<T>(what: &str, len: usize) -> Result<Vec<T>, GemmError> {
    cpu_probe::alloc::try_with_capacity(len, what).map_err(|e| GemmError::Shape(e.to_string()))
}

/// `(rows − 1) · ld + cols` (`rows >= 1`): the elements a strided matrix spans, or an error
/// naming the operands.
pub(crate) fn strided_span(
    mat: &str,
    rows: (&str, usize),
    ld: (&str, usize),
    cols: (&str, usize),
) -> Result<usize, GemmError> {
    let r = rows.1 - 1;
    r.checked_mul(ld.1)
        .and_then(|x| x.checked_add(cols.1))
        .ok_or_else(|| {
            GemmError::Shape(format!(
                "{mat}: {} {} times {} − 1 = {r} plus {} {} overflows usize",
                ld.0, ld.1, rows.0, cols.0, cols.1
            ))
        })
}

/// The operand domain of the micro-kernels for an activation type: the xor that maps a byte to
/// `a'` (u8) and the zero point in that domain (see [`pack`]). Errors if the zero point is
/// outside `a_type`.
pub fn activation_domain(a_type: QType, a_zero_point: i32) -> Result<(u8, i32), GemmError> {
    a_type.check_zero_point("activation zero point", a_zero_point)?;
    Ok(match a_type {
        QType::U8 => (0, a_zero_point),
        QType::I8 => (0x80, a_zero_point + 128),
    })
}

/// Weights and weight zero points mapped to the kernel domain `w'` (s8) / `zw'` (allocated
/// fallibly). Errors if a zero point is outside the weights' type.
pub fn weight_domain(w: Input8<'_>, zw: &[i32]) -> Result<(Vec<i8>, Vec<i32>), GemmError> {
    for (c, &z) in zw.iter().enumerate() {
        w.qtype()
            .check_zero_point(&format!("weight zero point {c}"), z)?;
    }
    let mut wp = try_with_capacity("weights in the kernel domain", w.len())?;
    let mut zp = try_with_capacity("weight zero points", zw.len())?;
    match w {
        Input8::I8(x) => {
            wp.extend_from_slice(x);
            zp.extend_from_slice(zw);
        }
        Input8::U8(x) => {
            // In range: v − 128 in [-128, 127], z − 128 in [-128, 127] (checked above).
            wp.extend(x.iter().map(|&v| (i32::from(v) - 128) as i8));
            zp.extend(zw.iter().map(|z| z - 128));
        }
    }
    Ok((wp, zp))
}

/// Checks that `|Σ_k (a − za)(w − zw)| + |bias|` cannot leave i32 for any activations, for each
/// output channel of `w_prime` (`channels × k`, kernel domain; `channels = zw_prime.len()`,
/// one bias each), naming the first that could. Arguments that do not fit each other (or a zero
/// point outside `a_type`) are an error too.
pub fn check_accumulator(
    a_type: QType,
    a_zero_point: i32,
    w_prime: &[i8],
    zw_prime: &[i32],
    bias: &[i32],
    k: usize,
) -> Result<(), GemmError> {
    a_type.check_zero_point("activation zero point", a_zero_point)?;
    let channels = zw_prime.len();
    let need = channels.checked_mul(k).ok_or_else(|| {
        GemmError::Shape(format!(
            "accumulator check: {channels} channels x k {k} overflows usize"
        ))
    })?;
    if w_prime.len() != need {
        return Err(GemmError::Shape(format!(
            "accumulator check: {} weights but {channels} channels x k {k} = {need} are needed",
            w_prime.len()
        )));
    }
    if bias.len() != channels {
        return Err(GemmError::Shape(format!(
            "accumulator check: {} biases for {channels} channels",
            bias.len()
        )));
    }
    // |a − za| <= 255 for a valid zero point; each |w − zw| < 2^32; sums saturate (a
    // saturated sum is far above the bound, hence refused, as it should be).
    let (za, lo, hi) = (
        i64::from(a_zero_point),
        i64::from(a_type.min()),
        i64::from(a_type.max()),
    );
    let amax = (hi - za).max(za - lo);
    let limit = i64::from(i32::MAX);
    for (c, (&zw, &b)) in zw_prime.iter().zip(bias).enumerate() {
        let w = &w_prime[c * k..(c + 1) * k];
        let sum_abs = w
            .iter()
            .map(|&v| (i64::from(v) - i64::from(zw)).abs())
            .fold(0i64, i64::saturating_add);
        let bound = amax
            .saturating_mul(sum_abs)
            .saturating_add(i64::from(b).abs());
        if bound > limit {
            return Err(GemmError::Overflow(format!(
                "output channel {c}: |Σ(a−za)(w−zw)| + |bias| can reach {bound} > 2^31−1 (K = {k})"
            )));
        }
    }
    Ok(())
}

/// What a GEMM plan needs.
#[derive(Clone, Copy, Debug)]
pub struct GemmConfig<'a> {
    /// Inner dimension (1 ..= [`MAX_DIM`]).
    pub k: usize,
    /// Columns of B and C (1 ..= [`MAX_DIM`]).
    pub n: usize,
    /// B, `k × n` row-major with row stride `ldb`.
    pub b: Input8<'a>,
    /// Row stride of B (>= n).
    pub ldb: usize,
    /// Activation (A) type.
    pub a_type: QType,
    /// Activation zero point.
    pub a_zero_point: i32,
    /// B zero points: one (per tensor) or `n` (per output column / channel).
    pub b_zero_points: &'a [i32],
    /// Optional i32 bias per column.
    pub bias: Option<&'a [i32]>,
    /// Force a micro-kernel: an entry of [`IGEMM`] (e.g. `IGEMM.by_name("igemm_4x8c4__avx2")`;
    /// `None`: the best available).
    pub kernel: Option<&'static Kernel>,
}

impl<'a> GemmConfig<'a> {
    /// The common case of ONNX Runtime's and XNNPACK's int8 models: u8 activations with zero
    /// point 128 times symmetric s8 weights `b` (`k × n`, row stride `n`, zero point 0), no
    /// bias, the best kernel. Change fields with struct update syntax:
    ///
    /// ```
    /// use cpu_probe::Isa;
    /// use qgemm::{GemmConfig, PackedB, IGEMM};
    /// let b = vec![1i8; 16 * 8];
    /// let p = PackedB::new(GemmConfig {
    ///     kernel: Some(IGEMM.best_of(Isa::Scalar).unwrap()),
    ///     ..GemmConfig::u8_by_s8(16, 8, &b)
    /// })?;
    /// # Ok::<(), qgemm::GemmError>(())
    /// ```
    pub fn u8_by_s8(k: usize, n: usize, b: &'a [i8]) -> GemmConfig<'a> {
        GemmConfig {
            k,
            n,
            b: Input8::I8(b),
            ldb: n,
            a_type: QType::U8,
            a_zero_point: 128,
            b_zero_points: &[0],
            bias: None,
            kernel: None,
        }
    }
}

/// Where and how C is written.
#[derive(Debug)]
pub enum GemmOutput<'a> {
    /// Requantized u8, row stride `ldc`.
    U8 {
        /// C.
        c: &'a mut [u8],
        /// Row stride.
        ldc: usize,
        /// The requantizer (output type u8).
        requant: &'a Requantizer,
    },
    /// Requantized i8, row stride `ldc`.
    I8 {
        /// C.
        c: &'a mut [i8],
        /// Row stride.
        ldc: usize,
        /// The requantizer (output type i8).
        requant: &'a Requantizer,
    },
    /// Requantized u8 with one requantizer per column (per-channel weight scales).
    U8PerChannel {
        /// C.
        c: &'a mut [u8],
        /// Row stride.
        ldc: usize,
        /// `n` requantizers (output type u8).
        requant: &'a PerChannelRequantizer,
    },
    /// Requantized i8 with one requantizer per column (per-channel weight scales).
    I8PerChannel {
        /// C.
        c: &'a mut [i8],
        /// Row stride.
        ldc: usize,
        /// `n` requantizers (output type i8).
        requant: &'a PerChannelRequantizer,
    },
    /// Raw i32 accumulators (zero points and bias applied), row stride `ldc`.
    I32 {
        /// C.
        c: &'a mut [i32],
        /// Row stride.
        ldc: usize,
    },
    /// Dequantized f32: `acc · a_scale · b_scales[j]` (one scale, or one per column).
    F32 {
        /// C.
        c: &'a mut [f32],
        /// Row stride.
        ldc: usize,
        /// Activation scale.
        a_scale: f32,
        /// B scales: one or `n`.
        b_scales: &'a [f32],
    },
}

/// B packed once for one micro-kernel, with the zero-point terms folded in. `Send + Sync`:
/// share it across threads and calls.
#[derive(Debug)]
pub struct PackedB {
    k: usize,
    n: usize,
    a_type: QType,
    a_xor: u8,
    /// The table entry chosen at plan time.
    entry: &'static Kernel,
    /// Its kernels (a copy, for the driver).
    kernel: Kernels,
    packed: pack::PackedWeights,
}

impl PackedB {
    /// Validates (`1 <= k, n <=` [`MAX_DIM`], `ldb >= n`, B's span `(k − 1) · ldb + n` checked),
    /// checks the accumulator bound and packs B (allocated fallibly).
    // On 32-bit targets MAX_DIM = u32::MAX = usize::MAX: the `v > MAX_DIM` check is then
    // always false (clippy's absurd_extreme_comparisons), and still right on 64-bit.
    #[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
    pub fn new(cfg: GemmConfig<'_>) -> Result<PackedB, GemmError> {
        let (k, n) = (cfg.k, cfg.n);
        if k == 0 || n == 0 {
            return Err(GemmError::Shape(format!(
                "k ({k}) and n ({n}) must be >= 1"
            )));
        }
        for (name, v) in [("k", k), ("n", n)] {
            if v > MAX_DIM {
                return Err(GemmError::Shape(format!(
                    "{name} {v} exceeds the limit {MAX_DIM} (u32::MAX)"
                )));
            }
        }
        if cfg.ldb < n {
            return Err(GemmError::Shape(format!(
                "ldb {} is smaller than n {n}",
                cfg.ldb
            )));
        }
        let need = strided_span("B", ("k", k), ("ldb", cfg.ldb), ("n", n))?;
        if cfg.b.len() < need {
            return Err(GemmError::Shape(format!(
                "B has {} elements but {k}x{n} with row stride {} needs {need}",
                cfg.b.len(),
                cfg.ldb
            )));
        }
        cfg.a_type
            .check_zero_point("activation zero point", cfg.a_zero_point)?;
        let btype = cfg.b.qtype();
        // n <= k · n <= need <= B's length: these buffers are no larger than B (times 4).
        let zw: Vec<i32> = match cfg.b_zero_points.len() {
            1 => vec![cfg.b_zero_points[0]; n],
            x if x == n => cfg.b_zero_points.to_vec(),
            x => {
                return Err(GemmError::Quant(format!(
                    "{x} B zero points given; need 1 or n = {n}"
                )))
            }
        };
        for (c, &z) in zw.iter().enumerate() {
            btype.check_zero_point(&format!("B zero point of column {c}"), z)?;
        }
        let bias = match cfg.bias {
            None => vec![0; n],
            Some(b) if b.len() == n => b.to_vec(),
            Some(b) => {
                return Err(GemmError::Shape(format!(
                    "bias has {} elements but n = {n}",
                    b.len()
                )))
            }
        };
        // B (k × n) transposed to the kernels' per-output-channel order (n × k), as raw bytes
        // (k · n <= (k − 1) · ldb + n <= B's length: every index is inside B).
        let raw = cfg.b.as_bytes();
        let mut bt: Vec<u8> = try_with_capacity("transposed B", k * n)?;
        bt.extend((0..n).flat_map(|j| (0..k).map(move |p| raw[p * cfg.ldb + j])));
        let bt_i8: &[i8] =
            // SAFETY: i8 and u8 have the same size, alignment and validity.
            unsafe { std::slice::from_raw_parts(bt.as_ptr().cast(), bt.len()) };
        let bt_view = match btype {
            QType::U8 => Input8::U8(&bt),
            QType::I8 => Input8::I8(bt_i8),
        };
        let (w_prime, zw_prime) = weight_domain(bt_view, &zw)?;
        check_accumulator(cfg.a_type, cfg.a_zero_point, &w_prime, &zw_prime, &bias, k)?;
        let (a_xor, za_prime) = activation_domain(cfg.a_type, cfg.a_zero_point)?;
        let entry = ukernel::choose(cfg.kernel, 1, k, &w_prime)
            .map_err(|e| GemmError::Kernel(e.to_string()))?;
        let kernel = entry.kernels;
        let packed = pack::pack_kernel(&kernel, 1, k, n, 1, &w_prime, &zw_prime, za_prime, &bias)?;
        Ok(PackedB {
            k,
            n,
            a_type: cfg.a_type,
            a_xor,
            entry,
            kernel,
            packed,
        })
    }

    /// The micro-kernel this plan runs: its [`IGEMM`] entry (`kernel().name` is the function's
    /// name, `kernel().kernels` its tile and functions).
    pub fn kernel(&self) -> &'static Kernel {
        self.entry
    }

    /// The packed weights (for callers that drive the micro-kernels themselves).
    pub fn packed(&self) -> &pack::PackedWeights {
        &self.packed
    }
}
