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
//!   the same kernels through its indirection buffer; a GEMM is the one-tap case. The AVX-512
//!   VNNI kernel also has an entry with the `Fp32` requantization (per tensor or per channel)
//!   fused into its store ([`ukernel::Kernel::run_fp32`], all NR blocks of a row block per
//!   call): u8/i8 outputs with that scheme skip the i32 scratch pass; i32 outputs are stored
//!   straight into C. For plain GEMM (A rows `lda` apart) it has strided entries
//!   ([`ukernel::Kernel::gemm_fp32`], [`ukernel::Kernel::gemm_i32`]) that run every full 8-row
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
//! cannot call a micro-kernel ([`ukernel::Kernel`]'s functions are `unsafe fn`).
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
//!     a_type: QType::U8, a_zero_point: 128, b_zero_points: &[0], bias: None, variant: None,
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

pub mod pack;
pub mod reference;
pub mod ukernel;

use cpu_probe::parallel::Parallel;
use quant_params::{PerChannelRequantizer, QType, Requantizer};
use std::cell::RefCell;
use std::fmt;
use ukernel::Fp32Requant;
pub use ukernel::{Kernel, Variant};

/// Read-only 8-bit tensor data.
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

    /// Element `i` as i32.
    pub fn get(&self, i: usize) -> i32 {
        match self {
            Input8::U8(x) => i32::from(x[i]),
            Input8::I8(x) => i32::from(x[i]),
        }
    }

    /// The raw bytes (i8 reinterpreted).
    pub fn as_bytes(&self) -> &[u8] {
        match *self {
            Input8::U8(x) => x,
            // SAFETY: i8 and u8 have the same size, alignment and validity.
            Input8::I8(x) => unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), x.len()) },
        }
    }
}

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
    /// The requested variant cannot run here.
    Variant(String),
}

impl fmt::Display for GemmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GemmError::Shape(m) => write!(f, "shape: {m}"),
            GemmError::Quant(m) => write!(f, "quantization: {m}"),
            GemmError::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            GemmError::Variant(m) => write!(f, "variant: {m}"),
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
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        GemmError::Shape(format!(
            "{what}: {len} elements of {} bytes cannot be allocated",
            std::mem::size_of::<T>()
        ))
    })?;
    Ok(v)
}

/// `(rows − 1) · ld + cols` (`rows >= 1`): the elements a strided matrix spans, or an error
/// naming the operands.
fn strided_span(
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
    /// Force a variant (`None`: the best available).
    pub variant: Option<Variant>,
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
    kernel: Kernel,
    packed: pack::PackedWeights,
}

/// The smallest task (multiply-adds) the driver hands to another thread: 512K multiply-adds,
/// about 1 µs of AVX-512 VNNI work, several times the cost of a job on
/// [`cpu_probe::parallel::Parallel`] when its workers are awake (0.1-0.3 µs measured on the
/// development VM; `cargo run --release -p cpu-probe --example pool_latency`).
pub const MIN_TASK_MACS: usize = 1 << 19;
/// At most this many tasks per thread (load balance on shared cores vs per-task cost).
pub const TASKS_PER_THREAD: usize = 4;
/// The largest MR of any micro-kernel.
const MAX_MR: usize = 8;
/// At most this many i32 accumulators (4 MiB) in a task's per-thread scratch (outputs that
/// are requantized or dequantized from it): [`PackedB::gemm_with_tiling`] shortens larger
/// tasks (a task of one row and one NR block always fits).
pub const SCRATCH_CAP: usize = 1 << 20;

/// A split of a GEMM into tasks of `rows` rows × `blocks` NR-column blocks
/// ([`PackedB::tiling`]). Both must be >= 1; larger values than the GEMM has are clamped (and
/// so are tasks whose i32 scratch would pass [`SCRATCH_CAP`]), which never changes C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Rows of C per task.
    pub rows: usize,
    /// NR-column blocks of C per task.
    pub blocks: usize,
}

thread_local! {
    static SCRATCH: RefCell<(Vec<i32>, Vec<*const u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

struct SyncPtr(*mut u8);
// SAFETY: only used to hand disjoint row ranges of C to parallel tasks.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl PackedB {
    /// Validates (`1 <= k, n <=` [`MAX_DIM`], `ldb >= n`, B's span `(k − 1) · ldb + n` checked),
    /// checks the accumulator bound and packs B (allocated fallibly).
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
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let kernel = variant.kernel().ok_or_else(|| {
            GemmError::Variant(format!(
                "{variant:?} is not available on this CPU/build (available: {:?})",
                Variant::available()
            ))
        })?;
        let packed = pack::pack_kernel(&kernel, 1, k, n, 1, &w_prime, &zw_prime, za_prime, &bias)?;
        Ok(PackedB {
            k,
            n,
            a_type: cfg.a_type,
            a_xor,
            kernel,
            packed,
        })
    }

    /// The micro-kernel this plan runs.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The packed weights (for callers that drive the micro-kernels themselves).
    pub fn packed(&self) -> &pack::PackedWeights {
        &self.packed
    }

    /// `C = A · B` (+ bias, zero points) for `m` rows of A with row stride `lda`, split into
    /// tasks by [`PackedB::tiling`] and run on `par`.
    ///
    /// Needs `lda >= k`, `ldc >= n`, A of at least `(m − 1) · lda + k` elements and C of at
    /// least `(m − 1) · ldc + n` (both computed checked: a span past `usize` is an error).
    pub fn gemm(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
    ) -> Result<(), GemmError> {
        self.gemm_impl(m, a, lda, out, par, None)
    }

    /// [`PackedB::gemm`] with a forced task split (tests and tuning; any `rows`, `blocks` >= 1
    /// give the same C).
    pub fn gemm_with_tiling(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
        tiling: Tiling,
    ) -> Result<(), GemmError> {
        self.gemm_impl(m, a, lda, out, par, Some(tiling))
    }

    fn gemm_impl(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
        tiling: Option<Tiling>,
    ) -> Result<(), GemmError> {
        let (k, n) = (self.k, self.n);
        if a.qtype() != self.a_type {
            return Err(GemmError::Shape(format!(
                "A is {:?} but B was packed for {:?} activations",
                a.qtype(),
                self.a_type
            )));
        }
        if lda < k {
            return Err(GemmError::Shape(format!("lda {lda} is smaller than k {k}")));
        }
        if m == 0 {
            return Ok(());
        }
        let need_a = strided_span("A", ("m", m), ("lda", lda), ("k", k))?;
        if a.len() < need_a {
            return Err(GemmError::Shape(format!(
                "A has {} elements but {m}x{k} with row stride {lda} needs {need_a}",
                a.len()
            )));
        }
        let (ldc, len, kind) = match &out {
            GemmOutput::U8 { c, ldc, requant } => {
                self.check_requant(requant, QType::U8)?;
                (*ldc, c.len(), 0)
            }
            GemmOutput::I8 { c, ldc, requant } => {
                self.check_requant(requant, QType::I8)?;
                (*ldc, c.len(), 1)
            }
            GemmOutput::U8PerChannel { c, ldc, requant } => {
                self.check_per_channel(requant, QType::U8)?;
                (*ldc, c.len(), 4)
            }
            GemmOutput::I8PerChannel { c, ldc, requant } => {
                self.check_per_channel(requant, QType::I8)?;
                (*ldc, c.len(), 5)
            }
            GemmOutput::I32 { c, ldc } => (*ldc, c.len(), 2),
            GemmOutput::F32 {
                c, ldc, b_scales, ..
            } => {
                if b_scales.len() != 1 && b_scales.len() != n {
                    return Err(GemmError::Quant(format!(
                        "{} B scales given; need 1 or n = {n}",
                        b_scales.len()
                    )));
                }
                (*ldc, c.len(), 3)
            }
        };
        if ldc < n {
            return Err(GemmError::Shape(format!("ldc {ldc} is smaller than n {n}")));
        }
        let need_c = strided_span("C", ("m", m), ("ldc", ldc), ("n", n))?;
        if len < need_c {
            return Err(GemmError::Shape(format!(
                "C has {len} elements but {m}x{n} with row stride {ldc} needs {need_c}"
            )));
        }
        let plan = match &out {
            GemmOutput::U8 { requant, .. } | GemmOutput::I8 { requant, .. } => {
                Some(requant.plan(None)?)
            }
            _ => None,
        };
        // Per-tensor or per-channel Fp32 to u8/i8 on a kernel that has it fused: the kernel
        // stores bytes.
        let fused = match (&out, self.kernel.run_fp32) {
            _ if self.packed.needs_row_sums() => None,
            (GemmOutput::U8 { requant: r, .. } | GemmOutput::I8 { requant: r, .. }, Some(f)) => {
                Fp32Requant::from_requantizer(r).map(|q| (f, q))
            }
            (
                GemmOutput::U8PerChannel { requant: r, .. }
                | GemmOutput::I8PerChannel { requant: r, .. },
                Some(f),
            ) => Fp32Requant::from_per_channel(r).map(|q| (f, q)),
            _ => None,
        };
        let per_channel: Option<&PerChannelRequantizer> = match &out {
            GemmOutput::U8PerChannel { requant, .. } | GemmOutput::I8PerChannel { requant, .. } => {
                Some(requant)
            }
            _ => None,
        };
        let (c_ptr, a_scale, b_scales): (SyncPtr, f32, &[f32]) = match out {
            GemmOutput::U8 { c, .. } | GemmOutput::U8PerChannel { c, .. } => {
                (SyncPtr(c.as_mut_ptr()), 0.0, &[])
            }
            GemmOutput::I8 { c, .. } | GemmOutput::I8PerChannel { c, .. } => {
                (SyncPtr(c.as_mut_ptr().cast()), 0.0, &[])
            }
            GemmOutput::I32 { c, .. } => (SyncPtr(c.as_mut_ptr().cast()), 0.0, &[]),
            GemmOutput::F32 {
                c,
                a_scale,
                b_scales,
                ..
            } => (SyncPtr(c.as_mut_ptr().cast()), a_scale, b_scales),
        };
        // Whether the tasks go through the i32 scratch (else the kernels store into C).
        let scratch = fused.is_none() && kind != 2;
        let tiling = tiling.unwrap_or_else(|| self.split(m, par.threads(), scratch));
        if tiling.rows == 0 || tiling.blocks == 0 {
            return Err(GemmError::Shape(format!(
                "tiling rows ({}) and blocks ({}) must be >= 1",
                tiling.rows, tiling.blocks
            )));
        }
        let bytes = a.as_bytes();
        let nr = self.kernel.nr;
        let nb = self.packed.blocks();
        let (mut rows, mut blocks) = (tiling.rows.min(m), tiling.blocks.min(nb));
        if scratch {
            // A task's scratch (rows × blocks · NR) at most SCRATCH_CAP (rows, blocks >= 1).
            blocks = blocks.min((SCRATCH_CAP / nr).max(1));
            rows = rows.min((SCRATCH_CAP / (blocks * nr)).max(1));
        }
        // m · nb <= m · n <= (m − 1) · ldc + n <= C's length: no overflow.
        let m_tiles = m.div_ceil(rows);
        let n_tiles = nb.div_ceil(blocks);
        let store = Store {
            c: c_ptr,
            n,
            kind,
            plan: plan.as_ref(),
            per_channel,
            a_scale,
            b_scales,
        };
        let store = &store;
        // Column panels outermost: the consecutive tasks a thread takes share one panel of B.
        par.for_each(m_tiles * n_tiles, |task| {
            let (ni, mi) = (task / m_tiles, task % m_tiles);
            let r0 = mi * rows;
            let r1 = (r0 + rows).min(m);
            let b0 = ni * blocks;
            let b1 = (b0 + blocks).min(nb);
            let c0 = b0 * nr;
            let width = (b1 * nr).min(n) - c0;
            SCRATCH.with(|s| {
                let (acc, ptrs) = &mut *s.borrow_mut();
                if ptrs.len() < self.kernel.mr {
                    ptrs.resize(self.kernel.mr, core::ptr::null());
                }
                if let Some((f, q)) = &fused {
                    // SAFETY: rows r0..r1 < m and columns c0..c0 + width <= n of the byte C
                    // belong to this task only; element (r, c) is at r·ldc + c < C's length.
                    unsafe {
                        let base = store.c.0.add(r0 * ldc + c0);
                        self.tile_fp32(bytes, lda, r0, r1, b0, b1, *f, q, base, ldc, ptrs);
                    }
                    return;
                }
                if kind == 2 {
                    // i32 C: the kernels store straight into C, no scratch pass.
                    // SAFETY: rows r0..r1 < m and columns c0..c0 + width <= n of C belong to
                    // this task only; element (r, c) is at (r·ldc + c) < C's length (checked
                    // above), and C holds i32 for kind 2.
                    unsafe {
                        let base = store.c.0.cast::<i32>().add(r0 * ldc + c0);
                        self.tile(bytes, lda, r0, r1, b0, b1, base, ldc, ptrs);
                    }
                    return;
                }
                // At most SCRATCH_CAP elements, or one row of one block (capped above).
                let len = (r1 - r0) * width;
                if acc.len() < len {
                    acc.resize(len, 0);
                }
                let acc = &mut acc[..len];
                // SAFETY: acc holds (r1 − r0) rows of `width` = the task's columns.
                unsafe { self.tile(bytes, lda, r0, r1, b0, b1, acc.as_mut_ptr(), width, ptrs) };
                if c0 == 0 && width == n && ldc == n {
                    // Dense C: rows r0..r1 are one run.
                    // SAFETY: rows r0..r1 belong to this task only and r1 <= m, so the run
                    // r0·n .. r1·n lies inside C (checked in `gemm`).
                    unsafe { store.write(acc, r0 * ldc, 0) };
                } else {
                    for (i, row) in acc.chunks_exact(width).enumerate() {
                        // SAFETY: row r0 + i < m, columns c0..c0 + width <= n belong to this task
                        // only; (r0 + i)·ldc + c0 + width <= (m − 1)·ldc + n <= C's length.
                        unsafe { store.write(row, (r0 + i) * ldc + c0, c0) };
                    }
                }
            });
        });
        Ok(())
    }

    /// How [`PackedB::gemm`] splits `m` rows over `threads` threads: the tasks are tiles of
    /// `rows` rows × `blocks` NR-column blocks.
    ///
    /// * N: a panel of packed B (`blocks` blocks over all of K) fits half of the L2 cache
    ///   ([`cpu_probe::cache_sizes`]), so it stays in L2 while the row blocks of a task stream
    ///   past it; each MR-row block of A (`MR × K` bytes) is reused from L1 across the panel.
    /// * M: a task's i32 accumulators (rows × panel width) fit half of L1, so they are still
    ///   there when the task requantizes them. This is the split of the outputs that go through
    ///   that scratch (f32, per-channel, and u8/i8 without a fused kernel);
    ///   [`PackedB::tiling_direct`] is the one for the outputs the kernels store directly.
    /// * Threads: big enough tasks (>= [`MIN_TASK_MACS`] multiply-adds) and up to
    ///   [`TASKS_PER_THREAD`] per thread, split over rows when there are enough MR-row blocks,
    ///   otherwise over columns (GEMV: M = 1 runs column panels in parallel).
    pub fn tiling(&self, m: usize, threads: usize) -> Tiling {
        self.split(m, threads, true)
    }

    /// The split [`PackedB::gemm`] uses for outputs the kernels store directly (i32 C, and u8/i8
    /// C with an `Fp32` requantizer, per tensor or per channel, on a kernel with it fused): as
    /// [`PackedB::tiling`] without the L1 limit on rows, which only keeps a task's i32 scratch
    /// in L1 (one thread: one task; fewer, longer kernel calls).
    pub fn tiling_direct(&self, m: usize, threads: usize) -> Tiling {
        self.split(m, threads, false)
    }

    fn split(&self, m: usize, threads: usize, scratch: bool) -> Tiling {
        let caches = cpu_probe::cache_sizes();
        let (mr, nr) = (self.kernel.mr, self.kernel.nr);
        let (k, n, nb) = (self.k, self.n, self.packed.blocks());
        let m = m.max(1);
        let block_bytes = self.packed.block_len().max(1) as u64;
        let mut blocks = ((caches.l2 / 2) / block_bytes).clamp(1, nb as u64) as usize;
        let width = (blocks * nr).min(n);
        // The i32 accumulators of a task stay in L1 until they are requantized.
        let row_bytes = (width * 4) as u64;
        // Saturating: `m` and `threads` are the caller's (up to usize::MAX).
        let mut rows = if scratch {
            (((caches.l1d / 2) / row_bytes) as usize / mr * mr).clamp(mr, m.max(mr))
        } else {
            m.div_ceil(mr).saturating_mul(mr)
        };
        let macs = m.saturating_mul(n).saturating_mul(k);
        let want = (macs / MIN_TASK_MACS).clamp(1, threads.max(1).saturating_mul(TASKS_PER_THREAD));
        if threads > 1 && want > 1 {
            let m_blocks = m.div_ceil(mr);
            if m_blocks >= want {
                rows = rows.min(m_blocks.div_ceil(want).saturating_mul(mr));
            } else {
                rows = rows.min(mr);
                // Column panels in a multiple of `threads` tasks (equal shares), each a whole
                // number of 64-byte lines of a u8 C row where the width allows it (no line is
                // written by two tasks).
                let t = threads.max(1);
                let n_tasks = (want.div_ceil(m_blocks) / t).max(1).saturating_mul(t);
                let line = 64usize.div_ceil(nr);
                let share = nb.div_ceil(n_tasks);
                blocks = blocks.min(if share >= line {
                    share.div_ceil(line) * line
                } else {
                    share
                });
            }
        }
        Tiling {
            rows: rows.min(m),
            blocks,
        }
    }

    fn check_per_channel(&self, r: &PerChannelRequantizer, want: QType) -> Result<(), GemmError> {
        if r.channels() != self.n {
            return Err(GemmError::Quant(format!(
                "per-channel requantizer has {} channels but n = {}",
                r.channels(),
                self.n
            )));
        }
        match r.channel(0) {
            Some(c) => self.check_requant(c, want),
            None => Ok(()),
        }
    }

    fn check_requant(&self, r: &Requantizer, want: QType) -> Result<(), GemmError> {
        if r.qtype() != want {
            return Err(GemmError::Shape(format!(
                "requantizer produces {:?} but a {want:?} C was given",
                r.qtype()
            )));
        }
        Ok(())
    }

    /// The byte mask the kernel applies to A: the activation domain's xor, and one more 0x80
    /// for kernels that multiply signed activations.
    fn kernel_xor(&self) -> u8 {
        self.a_xor ^ if self.kernel.signed_a { 0x80 } else { 0 }
    }

    /// The MR row pointers of the row block at `r` with `rows` valid rows: rows past the block
    /// repeat its last row; each row has k readable bytes (checked in `gemm`).
    fn row_pointers(&self, a: &[u8], lda: usize, r: usize, rows: usize, ptrs: &mut [*const u8]) {
        for (i, p) in ptrs.iter_mut().take(self.kernel.mr).enumerate() {
            *p = a[(r + i.min(rows - 1)) * lda..][..self.k].as_ptr();
        }
    }

    /// How many full MR-row blocks from row `r0` (up to `r1`) a strided kernel entry may run:
    /// it reads whole k-groups (`4 · ceil(k / 4)` bytes) of every row, so the last row of the
    /// last block must have them inside A (rows before it do: `lda >= k` and the bytes past `k`
    /// are the next row's).
    fn strided_blocks(&self, a: &[u8], lda: usize, r0: usize, r1: usize) -> usize {
        let mr = self.kernel.mr;
        let group_bytes = 4 * self.k.div_ceil(4);
        let mut mb = (r1 - r0) / mr;
        while mb > 0 && (r0 + mb * mr - 1) * lda + group_bytes > a.len() {
            mb -= 1;
        }
        mb
    }

    /// Rows `r0..r1` × NR blocks `b0..b1` into `acc` (row stride `ldacc`, column 0 = column
    /// `b0 · NR` of C).
    ///
    /// # Safety
    /// For every row `r0 <= r < r1` and column `b0·NR <= c < min(b1·NR, n)`, `acc` is writable
    /// at `(r − r0)·ldacc + c − b0·NR` and no other thread accesses those elements.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        &self,
        a: &[u8],
        lda: usize,
        r0: usize,
        r1: usize,
        b0: usize,
        b1: usize,
        acc: *mut i32,
        ldacc: usize,
        ptrs: &mut [*const u8],
    ) {
        let k = &self.kernel;
        let pk = &self.packed;
        let n = self.n;
        let xor = self.kernel_xor();
        // The task's blocks (checked once, not per kernel call).
        let (w_panel, bias_panel) = pk.block_range(0, b0, b1);
        let mut r = r0;
        if let (Some(g), false) = (k.gemm_i32, pk.needs_row_sums()) {
            // Full row blocks in one call (see `strided_blocks`).
            let mb = self.strided_blocks(a, lda, r0, r1);
            if mb > 0 {
                let ncols = (b1 * k.nr).min(n) - b0 * k.nr;
                // SAFETY: rows r0..r0 + mb·MR are readable for whole k-groups
                // (strided_blocks); `acc` rows 0..mb·MR, columns 0..ncols are the caller's;
                // blocks b0..b1 are consecutive (block_len apart, NR biases apart), KR = 4; the
                // kernel's ISA is the plan's.
                unsafe {
                    g(
                        mb,
                        ncols,
                        pk.block_len(),
                        self.k.div_ceil(4),
                        a.as_ptr().add(r0 * lda),
                        lda,
                        xor,
                        w_panel.as_ptr(),
                        bias_panel.as_ptr(),
                        acc,
                        ldacc,
                    );
                }
                r += mb * k.mr;
            }
        }
        while r < r1 {
            let rows = (r1 - r).min(k.mr);
            self.row_pointers(a, lda, r, rows, ptrs);
            let mut row_sums = [0i32; MAX_MR];
            if pk.needs_row_sums() {
                for (i, s) in row_sums.iter_mut().enumerate().take(rows) {
                    *s = a[(r + i) * lda..][..self.k]
                        .iter()
                        .map(|&b| i32::from(b ^ self.a_xor))
                        .sum();
                }
            }
            let blocks = w_panel
                .chunks_exact(pk.block_len())
                .zip(bias_panel.chunks_exact(k.nr));
            for (b, (w, bias)) in (b0..b1).zip(blocks) {
                let col0 = b * k.nr;
                let nr = (n - col0).min(k.nr);
                let at = (r - r0) * ldacc + (col0 - b0 * k.nr);
                // SAFETY: rows r..r + rows and columns col0..col0 + nr are inside the range
                // the caller guarantees writable (and ours alone).
                let out = unsafe { acc.add(at) };
                // SAFETY: ptrs holds MR pointers to k readable bytes; the packed block and its
                // bias have the kernel's sizes; `out` is writable for `rows` rows of stride
                // ldacc with nr columns (above); the kernel's ISA is available (chosen from
                // Variant::available()).
                unsafe {
                    (k.run)(
                        rows,
                        nr,
                        1,
                        self.k,
                        ptrs.as_ptr(),
                        xor,
                        w.as_ptr(),
                        bias.as_ptr(),
                        out,
                        ldacc,
                    );
                }
                if pk.needs_row_sums() {
                    for (i, &rs) in row_sums.iter().enumerate().take(rows) {
                        // SAFETY: row i of the tile, nr columns: inside the caller's range, ours
                        // alone, and not aliased by any other live reference.
                        let row = unsafe { std::slice::from_raw_parts_mut(out.add(i * ldacc), nr) };
                        for (x, &z) in row.iter_mut().zip(&pk.zw()[col0..col0 + nr]) {
                            *x = x.wrapping_sub(z.wrapping_mul(rs));
                        }
                    }
                }
            }
            r += rows;
        }
    }
}

impl PackedB {
    /// [`PackedB::tile`] through a kernel with the Fp32 requantization (per tensor or per
    /// channel) fused, storing bytes (`out`, row stride `ldo` bytes). Only for plans without row
    /// sums.
    ///
    /// # Safety
    /// For every row `r0 <= r < r1` and column `b0·NR <= c < min(b1·NR, n)`, `out` is writable
    /// at `(r − r0)·ldo + c − b0·NR` and no other thread accesses those bytes.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_fp32(
        &self,
        a: &[u8],
        lda: usize,
        r0: usize,
        r1: usize,
        b0: usize,
        b1: usize,
        f: ukernel::IgemmFp32Fn,
        q: &Fp32Requant,
        out: *mut u8,
        ldo: usize,
        ptrs: &mut [*const u8],
    ) {
        let k = &self.kernel;
        let pk = &self.packed;
        let xor = self.kernel_xor();
        // The task's blocks (checked once, not per kernel call).
        let (w_panel, bias_panel) = pk.block_range(0, b0, b1);
        let mut r = r0;
        let col0 = b0 * k.nr;
        let ncols = (b1 * k.nr).min(self.n) - col0;
        // Channel scales from this panel's first column.
        let q = &q.from_column(col0);
        if let Some(g) = k.gemm_fp32 {
            // Full row blocks in one call; the kernel reads whole k-groups (kc4 · 4 bytes) of
            // every row, so a block may go only where its last row has them inside A.
            let kc4 = self.k.div_ceil(4);
            let mb = self.strided_blocks(a, lda, r0, r1);
            if mb > 0 {
                // SAFETY: rows r0..r0 + mb·MR are readable for 4·kc4 bytes (above) and, with
                // their output rows, inside the caller's range; the panel's blocks b0..b1 are
                // consecutive (block_len apart) with consecutive NR biases, packed with
                // ceil(k / 4) groups (KR = 4 for every kernel with a strided entry); the
                // kernel's ISA is available (the plan's variant).
                unsafe {
                    g(
                        mb,
                        ncols,
                        pk.block_len(),
                        kc4,
                        a.as_ptr().add(r0 * lda),
                        lda,
                        xor,
                        w_panel.as_ptr(),
                        bias_panel.as_ptr(),
                        q,
                        out,
                        ldo,
                    );
                }
                r += mb * k.mr;
            }
        }
        while r < r1 {
            let rows = (r1 - r).min(k.mr);
            self.row_pointers(a, lda, r, rows, ptrs);
            // SAFETY: rows r..r + rows, columns col0..col0 + ncols: the caller's range.
            let o = unsafe { out.add((r - r0) * ldo) };
            // SAFETY: as in `tile`; blocks b0..b1 are consecutive in the packed data
            // (block_len bytes apart) with consecutive NR biases; `o` is writable for `rows`
            // rows of ncols bytes at stride ldo (above).
            unsafe {
                f(
                    rows,
                    ncols,
                    pk.block_len(),
                    1,
                    self.k,
                    ptrs.as_ptr(),
                    xor,
                    w_panel.as_ptr(),
                    bias_panel.as_ptr(),
                    q,
                    o,
                    ldo,
                );
            }
            r += rows;
        }
    }
}

/// Where a task writes its accumulators and how.
struct Store<'a> {
    c: SyncPtr,
    n: usize,
    /// 0 u8, 1 i8, 2 i32, 3 f32, 4 u8 per channel, 5 i8 per channel.
    kind: u8,
    plan: Option<&'a quant_params::RequantPlan>,
    per_channel: Option<&'a PerChannelRequantizer>,
    a_scale: f32,
    b_scales: &'a [f32],
}

impl Store<'_> {
    /// Writes `run` to C at element offset `off`; its first element is in column `col0`. A run
    /// is either part of one row (`col0 + len <= n`) or whole dense rows (`col0 == 0`, `ldc == n`).
    ///
    /// # Safety
    /// Elements `off .. off + run.len()` of C are inside C and written by this task only.
    unsafe fn write(&self, run: &[i32], off: usize, col0: usize) {
        let len = run.len();
        let n = self.n;
        let whole_rows = col0 == 0 && len.is_multiple_of(n);
        // SAFETY: (all arms) the caller's contract; the element type matches `kind`.
        unsafe {
            match self.kind {
                0 | 1 => {
                    let o = std::slice::from_raw_parts_mut(self.c.0.add(off), len);
                    if let Some(p) = self.plan {
                        let _ = if self.kind == 0 {
                            p.run_u8(run, o)
                        } else {
                            p.run_i8(run, &mut *(o as *mut [u8] as *mut [i8]))
                        };
                    }
                }
                4 | 5 => {
                    let o = std::slice::from_raw_parts_mut(self.c.0.add(off), len);
                    let Some(pc) = self.per_channel else { return };
                    if whole_rows {
                        let _ = if self.kind == 4 {
                            pc.requantize_rows_u8(run, o)
                        } else {
                            pc.requantize_rows_i8(run, &mut *(o as *mut [u8] as *mut [i8]))
                        };
                    } else {
                        // A column range (GEMV panels): channel by channel.
                        for (j, (x, &v)) in o.iter_mut().zip(run).enumerate() {
                            if let Some(r) = pc.channel(col0 + j) {
                                *x = r.requantize(v) as u8;
                            }
                        }
                    }
                }
                2 => std::slice::from_raw_parts_mut(self.c.0.cast::<i32>().add(off), len)
                    .copy_from_slice(run),
                _ => {
                    let o = std::slice::from_raw_parts_mut(self.c.0.cast::<f32>().add(off), len);
                    for (j, (x, &v)) in o.iter_mut().zip(run).enumerate() {
                        // A dense run spans several rows: the column is (col0 + j) mod n.
                        let s = if self.b_scales.len() == 1 {
                            self.b_scales[0]
                        } else {
                            self.b_scales[(col0 + j) % n]
                        };
                        *x = v as f32 * (self.a_scale * s);
                    }
                }
            }
        }
    }
}
