//! MatMul and Gemm (fp32, on the `gemm` crate), MatMulInteger and QLinearMatMul (int8, on
//! `qgemm`), with ONNX's batch broadcasting.

use crate::attrs;
use crate::fgemm::{sgemm, View};
use crate::limits;
use crate::{threads_for, DataType, Node, OpsError, Options, Plan, PlanInput, Tensor, TensorData};
use cpu_probe::parallel::Parallel;
use qgemm::{GemmConfig, GemmOutput, Input8, PackedB};
use quant_params::{PerChannelRequantizer, QType, RequantScheme, Requantizer};

/// Shapes of a batched matrix product after ONNX/numpy broadcasting.
struct Bcast {
    m: usize,
    k: usize,
    n: usize,
    batch: Vec<usize>,
    /// For each output batch index: (A batch index, B batch index).
    pairs: Vec<(usize, usize)>,
    out_shape: Vec<usize>,
}

/// Broadcasts `a` and `b`; the output (`elem` bytes per element) must fit `max_bytes`, checked
/// before anything is allocated.
fn broadcast(
    op: &str,
    a: &[usize],
    b: &[usize],
    elem: usize,
    max_bytes: usize,
) -> Result<Bcast, OpsError> {
    limits::elements(a, &format!("{op} A"))?;
    limits::elements(b, &format!("{op} B"))?;
    if a.is_empty() || b.is_empty() {
        return Err(OpsError::Shape(format!(
            "{op}: scalar operands are not matrices"
        )));
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(OpsError::Shape(format!(
            "{op}: A is {a:?} and B is {b:?}: inner dimensions {k} and {kb} differ"
        )));
    }
    let ab = &a2[..a2.len() - 2];
    let bb = &b2[..b2.len() - 2];
    let r = ab.len().max(bb.len());
    let mut batch = vec![0; r];
    for i in 0..r {
        let da = if i + ab.len() >= r {
            ab[i + ab.len() - r]
        } else {
            1
        };
        let db = if i + bb.len() >= r {
            bb[i + bb.len() - r]
        } else {
            1
        };
        batch[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(OpsError::Shape(format!(
                    "{op}: batch dimensions of {a:?} and {b:?} do not broadcast"
                )))
            }
        };
    }
    let mut out_shape = batch.clone();
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    // The output and the per-batch product m·n, counted checked before `pairs` is allocated.
    let count = limits::elements(&out_shape, &format!("{op} output"))?;
    limits::product(&[m, n], &format!("{op} output"))?;
    let bytes = count.checked_mul(elem);
    if bytes.is_none_or(|b| b > max_bytes) {
        return Err(OpsError::Shape(format!(
            "{op}: an output of shape {out_shape:?} exceeds the tensor limit of {max_bytes} bytes \
             (Options::max_tensor_bytes)"
        )));
    }
    // An empty output needs no batch pairs (its batch count alone can be huge, e.g. A
    // [2^40, 0, 5] against B [1, 5, 3]); otherwise the batch count is at most `count`, which the
    // tensor limit bounds, so the pairs below are bounded too.
    let total: usize = if count == 0 {
        0
    } else {
        batch.iter().product()
    };
    let index = |dims: &[usize], flat: usize| -> usize {
        // Flat index into `dims` (right-aligned against `batch`) for output batch `flat`.
        let mut rem = flat;
        let mut idx = 0;
        let mut mult = 1;
        for i in (0..r).rev() {
            let coord = rem % batch[i];
            rem /= batch[i];
            if i + dims.len() >= r {
                let d = dims[i + dims.len() - r];
                let c = if d == 1 { 0 } else { coord };
                idx += c * mult;
                mult *= d;
            }
        }
        idx
    };
    let pairs = (0..total).map(|t| (index(ab, t), index(bb, t))).collect();
    Ok(Bcast {
        m,
        k,
        n,
        batch,
        pairs,
        out_shape,
    })
}

use crate::constant as get;

/// fp32 MatMul.
struct MatMulF32 {
    threads: usize,
    max_bytes: usize,
}

impl Plan for MatMulF32 {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let a = crate::input(inputs, 0, "MatMul", "A")?;
        let b = crate::input(inputs, 1, "MatMul", "B")?;
        let (av, bv) = (a.as_f32("MatMul A")?, b.as_f32("MatMul B")?);
        let bc = broadcast("MatMul", a.shape(), b.shape(), 4, self.max_bytes)?;
        // Counted and bounded by `broadcast`.
        let mut c = limits::filled(bc.pairs.len() * bc.m * bc.n, 0f32, "MatMul output")?;
        for (t, &(ia, ib)) in bc.pairs.iter().enumerate() {
            sgemm(
                bc.m,
                bc.n,
                bc.k,
                av,
                View::row_major(ia * bc.m * bc.k, bc.k),
                bv,
                View::row_major(ib * bc.k * bc.n, bc.n),
                &mut c,
                View::row_major(t * bc.m * bc.n, bc.n),
                false,
                0.0,
                1.0,
                self.threads,
            )
            .map_err(OpsError::Kernel)?;
        }
        let _ = &bc.batch;
        Ok(vec![Tensor::f32(bc.out_shape, c)?])
    }
    fn describe(&self) -> String {
        "matmul fp32 (gemm crate)".into()
    }
}

/// fp32 Gemm: `alpha·A'·B' + beta·C`.
struct GemmF32 {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
    threads: usize,
    max_bytes: usize,
}

impl Plan for GemmF32 {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let a = crate::input(inputs, 0, "Gemm", "A")?;
        let b = crate::input(inputs, 1, "Gemm", "B")?;
        if a.shape().len() != 2 || b.shape().len() != 2 {
            return Err(OpsError::Shape(format!(
                "Gemm: A {:?} and B {:?} must be matrices",
                a.shape(),
                b.shape()
            )));
        }
        let (av, bv) = (a.as_f32("Gemm A")?, b.as_f32("Gemm B")?);
        let (ar, ac) = (a.shape()[0], a.shape()[1]);
        let (br, bcn) = (b.shape()[0], b.shape()[1]);
        let (m, k) = if self.trans_a { (ac, ar) } else { (ar, ac) };
        let (kb, n) = if self.trans_b { (bcn, br) } else { (br, bcn) };
        if k != kb {
            return Err(OpsError::Shape(format!(
                "Gemm: inner dimensions differ (A' is {m}x{k}, B' is {kb}x{n})"
            )));
        }
        let count = limits::product(&[m, n], "Gemm output")?;
        limits::check_tensor::<f32>(count, self.max_bytes, "Gemm output")?;
        let mut y = limits::filled(count, 0f32, "Gemm output")?;
        let mut read = false;
        if let Some(c) = inputs.get(2).copied().flatten() {
            let cv = c.as_f32("Gemm C")?;
            let cs = c.shape();
            // Unidirectional broadcast of C to (m, n).
            let (cr, ccn) = match cs.len() {
                0 => (1, 1),
                1 => (1, cs[0]),
                2 => (cs[0], cs[1]),
                _ => return Err(OpsError::Shape(format!("Gemm: C of rank {}", cs.len()))),
            };
            if !(cr == 1 || cr == m) || !(ccn == 1 || ccn == n) {
                return Err(OpsError::Shape(format!(
                    "Gemm: C {cs:?} does not broadcast to {m}x{n}"
                )));
            }
            if self.beta != 0.0 {
                for i in 0..m {
                    for j in 0..n {
                        let ci = (if cr == 1 { 0 } else { i }) * ccn + if ccn == 1 { 0 } else { j };
                        y[i * n + j] = self.beta * cv[ci];
                    }
                }
                read = true;
            }
        }
        let avw = if self.trans_a {
            View::row_major(0, ac).t()
        } else {
            View::row_major(0, ac)
        };
        let bvw = if self.trans_b {
            View::row_major(0, bcn).t()
        } else {
            View::row_major(0, bcn)
        };
        sgemm(
            m,
            n,
            k,
            av,
            avw,
            bv,
            bvw,
            &mut y,
            View::row_major(0, n),
            read,
            1.0,
            self.alpha,
            self.threads,
        )
        .map_err(OpsError::Kernel)?;
        Ok(vec![Tensor::f32(vec![m, n], y)?])
    }
    fn describe(&self) -> String {
        "gemm fp32 (gemm crate)".into()
    }
}

fn int8<'t>(t: &'t Tensor, what: &str) -> Result<(QType, Input8<'t>), OpsError> {
    match t.data() {
        TensorData::U8(v) => Ok((QType::U8, Input8::U8(v))),
        TensorData::I8(v) => Ok((QType::I8, Input8::I8(v))),
        _ => Err(OpsError::Type(format!(
            "{what} must be uint8 or int8, got {}",
            t.dtype().name()
        ))),
    }
}

fn scalar_zp(t: Option<&Tensor>, what: &str, want: QType) -> Result<i32, OpsError> {
    let Some(t) = t else { return Ok(0) };
    let v = zp_values(t, what, want)?;
    if v.iter().any(|&z| z != v[0]) {
        return Err(OpsError::Unsupported(format!(
            "{what}: per-row zero points"
        )));
    }
    Ok(v[0])
}

fn zp_values(t: &Tensor, what: &str, want: QType) -> Result<Vec<i32>, OpsError> {
    let v: Vec<i32> = match (t.data(), want) {
        (TensorData::U8(v), QType::U8) => v.iter().map(|&x| i32::from(x)).collect(),
        (TensorData::I8(v), QType::I8) => v.iter().map(|&x| i32::from(x)).collect(),
        _ => {
            return Err(OpsError::Type(format!(
                "{what} has type {} but its tensor is {:?}",
                t.dtype().name(),
                want
            )))
        }
    };
    if v.is_empty() {
        return Err(OpsError::Shape(format!("{what} is empty")));
    }
    Ok(v)
}

/// A scale tensor's values, each finite and > 0 (ONNX requires positive scales; checking only
/// the combined multiplier would let two negative scales through).
fn f32_scalar_or_vec(t: &Tensor, what: &str) -> Result<Vec<f32>, OpsError> {
    let v = t.as_f32(what)?.to_vec();
    if v.is_empty() {
        return Err(OpsError::Shape(format!("{what} is empty")));
    }
    crate::positive_scales(&v, what)?;
    Ok(v)
}

/// Output of an integer matmul plan.
enum IntOut {
    I32,
    Requant { rq: Rq, qtype: QType },
}

/// The requantizer of a QLinearMatMul plan: one for the tensor or one per column of B.
enum Rq {
    Tensor(Requantizer),
    Column(PerChannelRequantizer),
}

/// An 8-bit output element: how a slice of it becomes a [`GemmOutput`].
trait Out8: Copy + Default {
    fn gemm_output<'c>(c: &'c mut [Self], ldc: usize, rq: &'c Rq) -> GemmOutput<'c>;
}

impl Out8 for u8 {
    fn gemm_output<'c>(c: &'c mut [u8], ldc: usize, rq: &'c Rq) -> GemmOutput<'c> {
        match rq {
            Rq::Tensor(requant) => GemmOutput::U8 { c, ldc, requant },
            Rq::Column(requant) => GemmOutput::U8PerChannel { c, ldc, requant },
        }
    }
}

impl Out8 for i8 {
    fn gemm_output<'c>(c: &'c mut [i8], ldc: usize, rq: &'c Rq) -> GemmOutput<'c> {
        match rq {
            Rq::Tensor(requant) => GemmOutput::I8 { c, ldc, requant },
            Rq::Column(requant) => GemmOutput::I8PerChannel { c, ldc, requant },
        }
    }
}

/// MatMulInteger / QLinearMatMul with B packed at plan time.
pub struct MatMulInt8 {
    op: &'static str,
    packed: Vec<PackedB>,
    b_shape: Vec<usize>,
    a_type: QType,
    out: IntOut,
    par: Parallel,
    max_bytes: usize,
}

impl MatMulInt8 {
    /// Runs the GEMM of every broadcast pair into one fresh 8-bit output requantized by `rq`.
    fn requant_pairs<'a, T: Out8>(
        &self,
        bc: &Bcast,
        slice_a: &dyn Fn(usize) -> Input8<'a>,
        rq: &Rq,
    ) -> Result<Vec<T>, OpsError> {
        let mn = bc.m * bc.n;
        let mut c = limits::filled(bc.pairs.len() * mn, T::default(), self.op)?;
        for (t, &(ia, ib)) in bc.pairs.iter().enumerate() {
            let out = T::gemm_output(&mut c[t * mn..(t + 1) * mn], bc.n, rq);
            self.packed[ib]
                .gemm(bc.m, slice_a(ia), bc.k, out, &self.par)
                .map_err(|e| OpsError::Kernel(e.to_string()))?;
        }
        Ok(c)
    }

    /// `(k, n)` of a steady-state call `what` with a u8 A of `a_len` elements (`m × k`) and an
    /// output of `y_len` (`m × n`): an error unless B is 2-D, A is planned as u8 and the lengths
    /// match (checked products).
    fn steady_2d(
        &self,
        what: &str,
        a_len: usize,
        m: usize,
        y_len: usize,
    ) -> Result<(usize, usize), OpsError> {
        let (k, n) = match self.b_shape.as_slice() {
            [k, n] => (*k, *n),
            s => {
                return Err(OpsError::Unsupported(format!(
                    "{}: {what} with B of shape {s:?}",
                    self.op
                )))
            }
        };
        if self.a_type != QType::U8
            || Some(a_len) != m.checked_mul(k)
            || Some(y_len) != m.checked_mul(n)
        {
            return Err(OpsError::Shape(format!(
                "{}: A has {a_len} elements (want {m}x{k} u8), y has {y_len} (want {m}x{n})",
                self.op
            )));
        }
        Ok((k, n))
    }

    /// The steady-state path of a 2-D QLinearMatMul with u8 A and u8 output: `a` is `m×k`
    /// row-major, `y` is `m×n`; no allocation. Other plans use [`Plan::run`].
    pub fn run_u8_into(&self, a: &[u8], m: usize, y: &mut [u8]) -> Result<(), OpsError> {
        let (k, n) = self.steady_2d("run_u8_into", a.len(), m, y.len())?;
        let IntOut::Requant {
            rq,
            qtype: QType::U8,
        } = &self.out
        else {
            return Err(OpsError::Unsupported(format!(
                "{}: run_u8_into needs a u8 output",
                self.op
            )));
        };
        let out = u8::gemm_output(y, n, rq);
        self.packed[0]
            .gemm(m, Input8::U8(a), k, out, &self.par)
            .map_err(|e| OpsError::Kernel(e.to_string()))
    }
}

impl MatMulInt8 {
    /// The steady-state path of a 2-D MatMulInteger with u8 A: `a` is `m×k` row-major, `y`
    /// (i32) is `m×n`; no allocation. Other plans use [`Plan::run`].
    ///
    /// ```
    /// use ops::{matmul::plan_matmul_integer, DataType, Node, Options, PlanInput, Tensor};
    /// let b = Tensor::i8(vec![2, 3], vec![1, 2, 3, 4, 5, 6]).unwrap();
    /// let az = Tensor::u8(vec![], vec![10]).unwrap();
    /// let inputs = [
    ///     PlanInput::Runtime { dtype: DataType::U8, shape: &[1, 2] },
    ///     PlanInput::Constant(&b),
    ///     PlanInput::Constant(&az),
    /// ];
    /// let plan = plan_matmul_integer(&Node::new("MatMulInteger"), &inputs, &Options::default())
    ///     .unwrap();
    /// let mut y = [0i32; 3];
    /// plan.run_i32_into(&[11, 12], 1, &mut y).unwrap();
    /// assert_eq!(y, [1 + 2 * 4, 2 + 2 * 5, 3 + 2 * 6]);
    /// ```
    pub fn run_i32_into(&self, a: &[u8], m: usize, y: &mut [i32]) -> Result<(), OpsError> {
        let (k, n) = self.steady_2d("run_i32_into", a.len(), m, y.len())?;
        if !matches!(self.out, IntOut::I32) {
            return Err(OpsError::Unsupported(format!(
                "{}: run_i32_into needs an i32 output (MatMulInteger)",
                self.op
            )));
        }
        self.packed[0]
            .gemm(
                m,
                Input8::U8(a),
                k,
                GemmOutput::I32 { c: y, ldc: n },
                &self.par,
            )
            .map_err(|e| OpsError::Kernel(e.to_string()))
    }
}

/// Plans a MatMulInteger node as the typed [`MatMulInt8`] (for [`MatMulInt8::run_i32_into`]).
pub fn plan_matmul_integer(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<MatMulInt8, OpsError> {
    if node.op_type != "MatMulInteger" {
        return Err(OpsError::Unsupported(format!(
            "plan_matmul_integer on {}",
            node.op_type
        )));
    }
    plan_int8(node, inputs, opts)
}

/// Plans a QLinearMatMul node as the typed [`MatMulInt8`] (for [`MatMulInt8::run_u8_into`]).
pub fn plan_qlinear_matmul(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<MatMulInt8, OpsError> {
    if node.op_type != "QLinearMatMul" {
        return Err(OpsError::Unsupported(format!(
            "plan_qlinear_matmul on {}",
            node.op_type
        )));
    }
    plan_int8(node, inputs, opts)
}

impl Plan for MatMulInt8 {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let a = crate::input(inputs, 0, self.op, "A")?;
        let (at, av) = int8(a, &format!("{} A", self.op))?;
        if at != self.a_type {
            return Err(OpsError::Type(format!(
                "{}: A is {at:?}, planned for {:?}",
                self.op, self.a_type
            )));
        }
        let elem = match self.out {
            IntOut::I32 => 4,
            IntOut::Requant { .. } => 1,
        };
        let bc = broadcast(self.op, a.shape(), &self.b_shape, elem, self.max_bytes)?;
        let mn = bc.m * bc.n;
        let kern = |e: qgemm::GemmError| OpsError::Kernel(e.to_string());
        let slice_a = |ia: usize| -> Input8<'_> {
            let r = ia * bc.m * bc.k..(ia + 1) * bc.m * bc.k;
            match av {
                Input8::U8(v) => Input8::U8(&v[r]),
                Input8::I8(v) => Input8::I8(&v[r]),
            }
        };
        let y = match &self.out {
            IntOut::I32 => {
                let mut c = limits::filled(bc.pairs.len() * mn, 0i32, self.op)?;
                for (t, &(ia, ib)) in bc.pairs.iter().enumerate() {
                    self.packed[ib]
                        .gemm(
                            bc.m,
                            slice_a(ia),
                            bc.k,
                            GemmOutput::I32 {
                                c: &mut c[t * mn..(t + 1) * mn],
                                ldc: bc.n,
                            },
                            &self.par,
                        )
                        .map_err(kern)?;
                }
                Tensor::i32(bc.out_shape, c)?
            }
            IntOut::Requant { rq, qtype } => match qtype {
                QType::U8 => {
                    let c = self.requant_pairs(&bc, &slice_a, rq)?;
                    Tensor::u8(bc.out_shape, c)?
                }
                QType::I8 => {
                    let c = self.requant_pairs(&bc, &slice_a, rq)?;
                    Tensor::i8(bc.out_shape, c)?
                }
            },
        };
        Ok(vec![y])
    }
    fn describe(&self) -> String {
        format!(
            "{} on qgemm {}",
            self.op,
            self.packed.first().map(|p| p.kernel().name).unwrap_or("-")
        )
    }
}

/// Packs every batch matrix of B (`[..., K, N]`).
fn pack_b(
    op: &str,
    b: &Tensor,
    a_type: QType,
    a_zp: i32,
    b_zps: &[i32],
    max_bytes: usize,
) -> Result<(Vec<PackedB>, Vec<usize>), OpsError> {
    let s = b.shape();
    if s.is_empty() {
        return Err(OpsError::Shape(format!("{op}: B is a scalar")));
    }
    let (k, n) = if s.len() == 1 {
        (s[0], 1)
    } else {
        (s[s.len() - 2], s[s.len() - 1])
    };
    let batches: usize = if s.len() > 2 {
        s[..s.len() - 2].iter().product()
    } else {
        1
    };
    let (_, bv) = int8(b, &format!("{op} B"))?;
    // One packed matrix per batch of B: an empty B (k·n = 0) bounds nothing by its data, so its
    // batch count is bounded by the tensor limit like any tensor ops allocates (found by the
    // `matmul` fuzz target: B [2^48, 0, 3] aborted on a 2^51-byte allocation).
    limits::check_tensor::<PackedB>(batches, max_bytes, &format!("{op} packed B batches"))?;
    let mut packed = cpu_probe::alloc::try_with_capacity(batches, &format!("{op} packed B"))
        .map_err(|e| OpsError::Shape(e.to_string()))?;
    for t in 0..batches {
        let r = t * k * n..(t + 1) * k * n;
        let bt = match bv {
            Input8::U8(v) => Input8::U8(&v[r]),
            Input8::I8(v) => Input8::I8(&v[r]),
        };
        packed.push(
            PackedB::new(GemmConfig {
                k,
                n,
                b: bt,
                ldb: n,
                a_type,
                a_zero_point: a_zp,
                b_zero_points: b_zps,
                bias: None,
                kernel: None,
            })
            .map_err(|e| OpsError::Kernel(format!("{op}: {e}")))?,
        );
    }
    Ok((packed, s.to_vec()))
}

fn a_type_of(op: &str, inputs: &[PlanInput<'_>]) -> Result<QType, OpsError> {
    let dt = match inputs.first() {
        Some(PlanInput::Constant(t)) => t.dtype(),
        Some(PlanInput::Runtime { dtype, .. }) => *dtype,
        _ => return Err(OpsError::MissingInput(format!("{op}: A"))),
    };
    match dt {
        DataType::U8 => Ok(QType::U8),
        DataType::I8 => Ok(QType::I8),
        o => Err(OpsError::Type(format!(
            "{op}: A must be uint8 or int8, got {}",
            o.name()
        ))),
    }
}

/// Plans MatMul, Gemm, MatMulInteger, QLinearMatMul.
pub fn plan(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<Box<dyn Plan>, OpsError> {
    let threads = threads_for(opts);
    match node.op_type.as_str() {
        "MatMul" => {
            attrs::only(node, &[])?;
            for i in 0..2 {
                let dt = match inputs.get(i) {
                    Some(PlanInput::Constant(t)) => t.dtype(),
                    Some(PlanInput::Runtime { dtype, .. }) => *dtype,
                    _ => return Err(OpsError::MissingInput("MatMul needs A and B".into())),
                };
                if dt != DataType::F32 {
                    return Err(OpsError::Unsupported(format!(
                        "MatMul of {} (float is supported)",
                        dt.name()
                    )));
                }
            }
            Ok(Box::new(MatMulF32 {
                threads,
                max_bytes: opts.tensor_limit(),
            }))
        }
        "Gemm" => {
            attrs::only(node, &["alpha", "beta", "transA", "transB"])?;
            Ok(Box::new(GemmF32 {
                alpha: attrs::float(node, "alpha", 1.0)?,
                beta: attrs::float(node, "beta", 1.0)?,
                trans_a: attrs::int(node, "transA", 0)? != 0,
                trans_b: attrs::int(node, "transB", 0)? != 0,
                threads,
                max_bytes: opts.tensor_limit(),
            }))
        }
        "MatMulInteger" | "QLinearMatMul" => Ok(Box::new(plan_int8(node, inputs, opts)?)),
        o => Err(OpsError::Unsupported(o.to_string())),
    }
}

fn plan_int8(
    node: &Node,
    inputs: &[PlanInput<'_>],
    opts: &Options,
) -> Result<MatMulInt8, OpsError> {
    let par = Parallel::new(threads_for(opts));
    match node.op_type.as_str() {
        "MatMulInteger" => {
            attrs::only(node, &[])?;
            let a_type = a_type_of("MatMulInteger", inputs)?;
            let b = get(inputs, 1).ok_or_else(|| {
                OpsError::MissingInput("MatMulInteger: B must be a constant".into())
            })?;
            let (b_type, _) = int8(b, "MatMulInteger B")?;
            let a_zp = scalar_zp(get(inputs, 2), "MatMulInteger a_zero_point", a_type)?;
            let b_zps = match get(inputs, 3) {
                Some(t) => zp_values(t, "MatMulInteger b_zero_point", b_type)?,
                None => vec![0],
            };
            let (packed, b_shape) = pack_b(
                "MatMulInteger",
                b,
                a_type,
                a_zp,
                &b_zps,
                opts.tensor_limit(),
            )?;
            Ok(MatMulInt8 {
                op: "MatMulInteger",
                packed,
                b_shape,
                a_type,
                out: IntOut::I32,
                par,
                max_bytes: opts.tensor_limit(),
            })
        }
        "QLinearMatMul" => {
            attrs::only(node, &[])?;
            let a_type = a_type_of("QLinearMatMul", inputs)?;
            let need = |i: usize, what: &str| {
                get(inputs, i).ok_or_else(|| {
                    OpsError::MissingInput(format!("QLinearMatMul: {what} must be a constant"))
                })
            };
            let a_scale = f32_scalar_or_vec(need(1, "a_scale")?, "QLinearMatMul a_scale")?;
            if a_scale.len() != 1 {
                return Err(OpsError::Unsupported(
                    "QLinearMatMul: per-row a_scale".into(),
                ));
            }
            let a_zp = scalar_zp(
                Some(need(2, "a_zero_point")?),
                "QLinearMatMul a_zero_point",
                a_type,
            )?;
            let b = need(3, "b")?;
            let (b_type, _) = int8(b, "QLinearMatMul b")?;
            let b_scale = f32_scalar_or_vec(need(4, "b_scale")?, "QLinearMatMul b_scale")?;
            let b_zps = zp_values(
                need(5, "b_zero_point")?,
                "QLinearMatMul b_zero_point",
                b_type,
            )?;
            let y_scale = f32_scalar_or_vec(need(6, "y_scale")?, "QLinearMatMul y_scale")?;
            let y_zp_t = need(7, "y_zero_point")?;
            let y_type = match y_zp_t.dtype() {
                DataType::U8 => QType::U8,
                DataType::I8 => QType::I8,
                o => {
                    return Err(OpsError::Type(format!(
                        "QLinearMatMul: y_zero_point of {}",
                        o.name()
                    )))
                }
            };
            let y_zp = scalar_zp(Some(y_zp_t), "QLinearMatMul y_zero_point", y_type)?;
            if y_scale.len() != 1 {
                return Err(OpsError::Unsupported(
                    "QLinearMatMul: per-column y_scale".into(),
                ));
            }
            // ONNX Runtime's requantization: f32 multiplier a_scale·b_scale/y_scale, round half
            // to even, saturate.
            let scales: Vec<f32> = b_scale
                .iter()
                .map(|&bs| a_scale[0] * bs / y_scale[0])
                .collect();
            let q =
                |e: quant_params::QuantError| OpsError::Quantization(format!("QLinearMatMul: {e}"));
            let out = if scales.len() == 1 {
                IntOut::Requant {
                    rq: Rq::Tensor(
                        Requantizer::new(RequantScheme::Fp32, scales[0], y_zp, y_type)
                            .map_err(q)?,
                    ),
                    qtype: y_type,
                }
            } else {
                IntOut::Requant {
                    rq: Rq::Column(
                        PerChannelRequantizer::new(RequantScheme::Fp32, &scales, y_zp, y_type)
                            .map_err(q)?,
                    ),
                    qtype: y_type,
                }
            };
            let (packed, b_shape) = pack_b(
                "QLinearMatMul",
                b,
                a_type,
                a_zp,
                &b_zps,
                opts.tensor_limit(),
            )?;
            Ok(MatMulInt8 {
                op: "QLinearMatMul",
                packed,
                b_shape,
                a_type,
                out,
                par,
                max_bytes: opts.tensor_limit(),
            })
        }
        o => Err(OpsError::Unsupported(o.to_string())),
    }
}
