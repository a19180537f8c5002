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
//!   `__neoni8mm` (SUDOT), `__avx2`, `igemm_8x32c4__avx512vnni`. They are *indirect*: A rows are
//!   read through pointers, one per row and kernel tap, so `qconv-direct` runs convolutions on
//!   the same kernels through its indirection buffer; a GEMM is the one-tap case.
//! * Exactness: a plan whose i32 accumulator could overflow (from the actual weights, zero points
//!   and bias) is refused.
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

/// The operand domain of the micro-kernels for an activation type: the xor that maps a byte to
/// `a'` (u8) and the zero point in that domain (see [`pack`]).
pub fn activation_domain(a_type: QType, a_zero_point: i32) -> (u8, i32) {
    match a_type {
        QType::U8 => (0, a_zero_point),
        QType::I8 => (0x80, a_zero_point + 128),
    }
}

/// Weights and weight zero points mapped to the kernel domain `w'` (s8) / `zw'`.
pub fn weight_domain(w: Input8<'_>, zw: &[i32]) -> (Vec<i8>, Vec<i32>) {
    match w {
        Input8::I8(x) => (x.to_vec(), zw.to_vec()),
        Input8::U8(x) => (
            x.iter().map(|&v| (i32::from(v) - 128) as i8).collect(),
            zw.iter().map(|z| z - 128).collect(),
        ),
    }
}

/// Checks that `|Σ_k (a − za)(w − zw)| + |bias|` cannot leave i32 for any activations, for each
/// output channel of `w_prime` (`channels × k`, kernel domain), naming the first that could.
pub fn check_accumulator(
    a_type: QType,
    a_zero_point: i32,
    w_prime: &[i8],
    zw_prime: &[i32],
    bias: &[i32],
    k: usize,
) -> Result<(), GemmError> {
    let amax = i64::from((a_type.max() - a_zero_point).max(a_zero_point - a_type.min()));
    for (c, (&zw, &b)) in zw_prime.iter().zip(bias).enumerate() {
        let sum_abs: i64 = w_prime[c * k..(c + 1) * k]
            .iter()
            .map(|&v| (i64::from(v) - i64::from(zw)).abs())
            .sum();
        let bound = amax * sum_abs + i64::from(b).abs();
        if bound > i64::from(i32::MAX) {
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
    /// Inner dimension.
    pub k: usize,
    /// Columns of B and C.
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

thread_local! {
    static SCRATCH: RefCell<(Vec<i32>, Vec<*const u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

struct SyncPtr(*mut u8);
// SAFETY: only used to hand disjoint row ranges of C to parallel tasks.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl PackedB {
    /// Validates, checks the accumulator bound and packs B.
    pub fn new(cfg: GemmConfig<'_>) -> Result<PackedB, GemmError> {
        let (k, n) = (cfg.k, cfg.n);
        if k == 0 || n == 0 {
            return Err(GemmError::Shape(format!(
                "k ({k}) and n ({n}) must be >= 1"
            )));
        }
        if cfg.ldb < n {
            return Err(GemmError::Shape(format!(
                "ldb {} is smaller than n {n}",
                cfg.ldb
            )));
        }
        let need = (k - 1) * cfg.ldb + n;
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
        // B (k × n) to the kernel's column-major "OHWI" order: n × k.
        // B (k × n) transposed to the kernels' per-output-channel order (n × k), as raw bytes.
        let raw = cfg.b.as_bytes();
        let bt: Vec<u8> = (0..n)
            .flat_map(|j| (0..k).map(move |p| raw[p * cfg.ldb + j]))
            .collect();
        let bt_i8: &[i8] =
            // SAFETY: i8 and u8 have the same size, alignment and validity.
            unsafe { std::slice::from_raw_parts(bt.as_ptr().cast(), bt.len()) };
        let bt_view = match btype {
            QType::U8 => Input8::U8(&bt),
            QType::I8 => Input8::I8(bt_i8),
        };
        let (w_prime, zw_prime) = weight_domain(bt_view, &zw);
        check_accumulator(cfg.a_type, cfg.a_zero_point, &w_prime, &zw_prime, &bias, k)?;
        let (a_xor, za_prime) = activation_domain(cfg.a_type, cfg.a_zero_point);
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let kernel = variant.kernel().ok_or_else(|| {
            GemmError::Variant(format!(
                "{variant:?} is not available on this CPU/build (available: {:?})",
                Variant::available()
            ))
        })?;
        let packed = pack::pack(
            kernel.nr,
            1,
            k,
            n,
            1,
            &w_prime,
            &zw_prime,
            za_prime,
            &bias,
            kernel.signed_a,
        );
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

    /// `C = A · B` (+ bias, zero points) for `m` rows of A with row stride `lda`.
    pub fn gemm(
        &self,
        m: usize,
        a: Input8<'_>,
        lda: usize,
        out: GemmOutput<'_>,
        par: &Parallel,
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
        let need_a = (m - 1) * lda + k;
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
        let need_c = (m - 1) * ldc + n;
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
        let bytes = a.as_bytes();
        let mr = self.kernel.mr;
        let per_thread = m.div_ceil(4 * par.threads().max(1));
        let tile = (per_thread.div_ceil(mr) * mr).clamp(mr, mr * 8);
        let c_ptr = &c_ptr;
        let n_cols = n;
        par.for_each(m.div_ceil(tile), |ti| {
            let r0 = ti * tile;
            let r1 = (r0 + tile).min(m);
            SCRATCH.with(|s| {
                let (acc, ptrs) = &mut *s.borrow_mut();
                acc.resize(tile * n, 0);
                ptrs.resize(mr, core::ptr::null());
                let acc = &mut acc[..(r1 - r0) * n];
                self.tile(bytes, lda, r0, r1, acc, ptrs);
                // A dense C (ldc == n) is written as one run; otherwise row by row.
                let run = if ldc == n { acc.len() } else { n };
                for (i, row) in acc.chunks_exact(run).enumerate() {
                    let n = run;
                    let off = if run == n_cols {
                        (r0 + i) * ldc
                    } else {
                        r0 * ldc
                    };
                    // SAFETY: rows r0..r1 belong to this task only; off + n <= need_c <= len
                    // (checked above; a dense run covers rows r0..r1 exactly) and the element
                    // type matches `kind`.
                    unsafe {
                        match kind {
                            0 | 1 => {
                                let o = std::slice::from_raw_parts_mut(c_ptr.0.add(off), n);
                                if let Some(p) = &plan {
                                    let _ = if kind == 0 {
                                        p.run_u8(row, o)
                                    } else {
                                        p.run_i8(row, &mut *(o as *mut [u8] as *mut [i8]))
                                    };
                                }
                            }
                            4 | 5 => {
                                let o = std::slice::from_raw_parts_mut(c_ptr.0.add(off), n);
                                if let Some(pc) = per_channel {
                                    // Runs are whole rows of n channels.
                                    let _ = if kind == 4 {
                                        pc.requantize_rows_u8(row, o)
                                    } else {
                                        pc.requantize_rows_i8(
                                            row,
                                            &mut *(o as *mut [u8] as *mut [i8]),
                                        )
                                    };
                                }
                            }
                            2 => std::slice::from_raw_parts_mut(c_ptr.0.cast::<i32>().add(off), n)
                                .copy_from_slice(row),
                            _ => {
                                let o = std::slice::from_raw_parts_mut(
                                    c_ptr.0.cast::<f32>().add(off),
                                    n,
                                );
                                for (j, (x, &v)) in o.iter_mut().zip(row).enumerate() {
                                    // A dense run spans several rows: the column is j mod n.
                                    let s = if b_scales.len() == 1 {
                                        b_scales[0]
                                    } else {
                                        b_scales[j % n_cols]
                                    };
                                    *x = v as f32 * (a_scale * s);
                                }
                            }
                        }
                    }
                }
            });
        });
        Ok(())
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
        if r.qtype != want {
            return Err(GemmError::Shape(format!(
                "requantizer produces {:?} but a {want:?} C was given",
                r.qtype
            )));
        }
        Ok(())
    }

    fn tile(
        &self,
        a: &[u8],
        lda: usize,
        r0: usize,
        r1: usize,
        acc: &mut [i32],
        ptrs: &mut [*const u8],
    ) {
        let k = &self.kernel;
        let pk = &self.packed;
        let n = self.n;
        let mut r = r0;
        while r < r1 {
            let rows = (r1 - r).min(k.mr);
            for (i, p) in ptrs.iter_mut().enumerate() {
                // Rows past the tile repeat its last row; each row has k readable bytes
                // (checked in `gemm`).
                *p = a[(r + i.min(rows - 1)) * lda..][..self.k].as_ptr();
            }
            let mut row_sums = [0i32; 8];
            if pk.needs_row_sums {
                for (i, s) in row_sums.iter_mut().enumerate().take(rows) {
                    *s = a[(r + i) * lda..][..self.k]
                        .iter()
                        .map(|&b| i32::from(b ^ self.a_xor))
                        .sum();
                }
            }
            for b in 0..pk.blocks {
                let nr = (n - b * k.nr).min(k.nr);
                let col0 = b * k.nr;
                let out = &mut acc[(r - r0) * n + col0..];
                // SAFETY: ptrs holds MR pointers to k readable bytes; the packed block and its
                // bias have the kernel's sizes; `out` holds `rows` rows of stride n with nr
                // valid columns from col0; the kernel's ISA is available (chosen from
                // Variant::available()).
                unsafe {
                    (k.run)(
                        rows,
                        nr,
                        1,
                        self.k,
                        ptrs.as_ptr(),
                        self.a_xor ^ if k.signed_a { 0x80 } else { 0 },
                        pk.block(0, b).as_ptr(),
                        pk.block_bias(0, b).as_ptr(),
                        out.as_mut_ptr(),
                        n,
                    );
                }
                if pk.needs_row_sums {
                    for (i, &rs) in row_sums.iter().enumerate().take(rows) {
                        let row = &mut acc[(r - r0 + i) * n + col0..][..nr];
                        for (x, &z) in row.iter_mut().zip(&pk.zw[col0..col0 + nr]) {
                            *x = x.wrapping_sub(z.wrapping_mul(rs));
                        }
                    }
                }
            }
            r += rows;
        }
    }
}
