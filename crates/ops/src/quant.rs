//! QuantizeLinear, DequantizeLinear (per tensor and per axis) and DynamicQuantizeLinear, on
//! quant-params' bulk kernels.

use crate::attrs;
use crate::{Node, OpsError, Plan, PlanInput, Tensor, TensorData};
use quant_params::{BulkKernels, QType, QuantParams};

fn qerr(e: quant_params::QuantError) -> OpsError {
    OpsError::Quantization(e.to_string())
}

/// Per-tensor or per-axis parameters: `(axis_len_outer, axis_len, inner, params per axis index)`.
struct Axis {
    outer: usize,
    len: usize,
    inner: usize,
}

impl Axis {
    /// Every run of `inner` elements, in memory order, with its position on the axis:
    /// `(a, base..base + inner)`.
    fn runs(&self) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        (0..self.outer).flat_map(move |o| {
            (0..self.len).map(move |a| {
                let base = (o * self.len + a) * self.inner;
                (a, base..base + self.inner)
            })
        })
    }
}

fn resolve_axis(op: &str, shape: &[usize], axis: i64, scales: usize) -> Result<Axis, OpsError> {
    let total: usize = shape.iter().product();
    if scales == 1 {
        return Ok(Axis {
            outer: 1,
            len: 1,
            inner: total,
        });
    }
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(OpsError::Attribute(format!(
            "{op}: axis {axis} is out of range for rank {r}"
        )));
    }
    let a = a as usize;
    if shape[a] != scales {
        return Err(OpsError::Shape(format!(
            "{op}: {scales} scales for axis {a} of length {}",
            shape[a]
        )));
    }
    Ok(Axis {
        // An empty tensor has no run to visit, while the product of the dimensions before the
        // axis may be astronomically large (a fuzzer hang: shape [2^40, 1, 0]).
        outer: if total == 0 {
            0
        } else {
            shape[..a].iter().product()
        },
        len: shape[a],
        inner: shape[a + 1..].iter().product(),
    })
}

fn scalar_or_vec_f32(t: &Tensor, what: &str, blocked: bool) -> Result<Vec<f32>, OpsError> {
    if t.shape().len() > 1 && !blocked {
        return Err(OpsError::Shape(format!(
            "{what} has rank {}: per-tensor and per-axis scales have rank 0 or 1 (blocked quantization needs block_size)",
            t.shape().len()
        )));
    }
    Ok(t.as_f32(what)?.to_vec())
}

/// Blocked quantization (ONNX `block_size`): the scale tensor has the input's rank, with the
/// axis dimension divided into blocks of `block_size`. For every element, the index of its scale.
fn block_index(
    op: &str,
    x: &[usize],
    s: &[usize],
    axis: i64,
    block: usize,
) -> Result<Vec<usize>, OpsError> {
    let r = x.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r || s.len() != x.len() {
        return Err(OpsError::Shape(format!(
            "{op}: blocked scales of shape {s:?} for an input of shape {x:?} on axis {axis}"
        )));
    }
    let a = a as usize;
    for (i, (&xd, &sd)) in x.iter().zip(s).enumerate() {
        let want = if i == a { xd.div_ceil(block) } else { xd };
        if sd != want {
            return Err(OpsError::Shape(format!(
                "{op}: scale shape {s:?} does not match input {x:?} with block_size {block} on axis {a}"
            )));
        }
    }
    let n: usize = x.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut coord = vec![0usize; x.len()];
    for _ in 0..n {
        let mut idx = 0;
        for (i, &c) in coord.iter().enumerate() {
            let c = if i == a { c / block } else { c };
            idx = idx * s[i] + c;
        }
        out.push(idx);
        for i in (0..x.len()).rev() {
            coord[i] += 1;
            if coord[i] < x[i] {
                break;
            }
            coord[i] = 0;
        }
    }
    Ok(out)
}

/// The scale input (input 1) of `op`, named `name`: a constant, one scale or a vector of them
/// (see [`scalar_or_vec_f32`]), every one finite and positive.
fn constant_scales<'a>(
    inputs: &[PlanInput<'a>],
    op: &str,
    name: &str,
    blocked: bool,
) -> Result<(&'a Tensor, Vec<f32>), OpsError> {
    let scale = constant(inputs, 1)
        .ok_or_else(|| OpsError::MissingInput(format!("{op}: {name} must be a constant")))?;
    let what = format!("{op} {name}");
    let scales = scalar_or_vec_f32(scale, &what, blocked)?;
    crate::positive_scales(&scales, &what)?;
    Ok((scale, scales))
}

fn zero_points(t: Option<&Tensor>, what: &str, n: usize) -> Result<(QType, Vec<i32>), OpsError> {
    match t {
        None => Ok((QType::U8, vec![0; n])),
        Some(t) => {
            if t.len() != n {
                return Err(OpsError::Shape(format!(
                    "{what} has shape {:?}, the scale has {n} element(s)",
                    t.shape()
                )));
            }
            match t.data() {
                TensorData::U8(v) => Ok((QType::U8, v.iter().map(|&x| i32::from(x)).collect())),
                TensorData::I8(v) => Ok((QType::I8, v.iter().map(|&x| i32::from(x)).collect())),
                _ => Err(OpsError::Unsupported(format!(
                    "{what} of type {} (uint8 and int8 are supported)",
                    t.dtype().name()
                ))),
            }
        }
    }
}

use crate::constant;

/// QuantizeLinear.
struct Quantize {
    scales: Vec<f32>,
    scale_shape: Vec<usize>,
    zps: Vec<i32>,
    qtype: QType,
    axis: i64,
    block: usize,
    kernels: BulkKernels,
}

impl Plan for Quantize {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, "QuantizeLinear", "x")?;
        let xs = x.as_f32("QuantizeLinear x")?;
        if self.block > 0 {
            let idx = block_index(
                "QuantizeLinear",
                x.shape(),
                &self.scale_shape,
                self.axis,
                self.block,
            )?;
            let params: Vec<QuantParams> = self
                .scales
                .iter()
                .zip(&self.zps)
                .map(|(&s, &z)| QuantParams::new(s, z, self.qtype).map_err(qerr))
                .collect::<Result<_, _>>()?;
            let q: Vec<i32> = xs
                .iter()
                .zip(&idx)
                .map(|(&v, &i)| params[i].quantize(v))
                .collect();
            let shape = x.shape().to_vec();
            let y = match self.qtype {
                QType::U8 => Tensor::u8(shape, q.iter().map(|&v| v as u8).collect())?,
                QType::I8 => Tensor::i8(shape, q.iter().map(|&v| v as i8).collect())?,
            };
            return Ok(vec![y]);
        }
        let ax = resolve_axis("QuantizeLinear", x.shape(), self.axis, self.scales.len())?;
        let params: Vec<QuantParams> = self
            .scales
            .iter()
            .zip(&self.zps)
            .map(|(&s, &z)| QuantParams::new(s, z, self.qtype).map_err(qerr))
            .collect::<Result<_, _>>()?;
        let shape = x.shape().to_vec();
        macro_rules! each {
            ($ty:ty, $f:ident, $ctor:ident) => {{
                let mut out = vec![<$ty>::default(); xs.len()];
                for (a, run) in ax.runs() {
                    let p = &params[if params.len() == 1 { 0 } else { a }];
                    self.kernels
                        .$f(p, &xs[run.clone()], &mut out[run])
                        .map_err(qerr)?;
                }
                Tensor::$ctor(shape, out)?
            }};
        }
        let y = match self.qtype {
            QType::U8 => each!(u8, quantize_u8, u8),
            QType::I8 => each!(i8, quantize_i8, i8),
        };
        Ok(vec![y])
    }
    fn describe(&self) -> String {
        format!("quantize {}", self.kernels.quantize_name())
    }
}

/// DequantizeLinear.
struct Dequantize {
    scales: Vec<f32>,
    scale_shape: Vec<usize>,
    zps: Vec<i32>,
    axis: i64,
    block: usize,
    kernels: BulkKernels,
}

impl Dequantize {
    /// Dequantizes every run of `ax.inner` elements (one per outer index and axis position) with
    /// that position's scale and zero point, through `kernel` (the bulk kernel of `qtype`).
    fn dequantize_runs<T>(
        &self,
        ax: &Axis,
        v: &[T],
        qtype: QType,
        out: &mut [f32],
        kernel: impl Fn(&QuantParams, &[T], &mut [f32]) -> Result<(), quant_params::QuantError>,
    ) -> Result<(), OpsError> {
        let pick = |a: usize| if self.scales.len() == 1 { 0 } else { a };
        for (a, run) in ax.runs() {
            let p =
                QuantParams::new(self.scales[pick(a)], self.zps[pick(a)], qtype).map_err(qerr)?;
            kernel(&p, &v[run.clone()], &mut out[run]).map_err(qerr)?;
        }
        Ok(())
    }
}

impl Plan for Dequantize {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, "DequantizeLinear", "x")?;
        if self.block > 0 {
            let idx = block_index(
                "DequantizeLinear",
                x.shape(),
                &self.scale_shape,
                self.axis,
                self.block,
            )?;
            let q: Vec<i32> = match x.data() {
                TensorData::U8(v) => v.iter().map(|&a| i32::from(a)).collect(),
                TensorData::I8(v) => v.iter().map(|&a| i32::from(a)).collect(),
                TensorData::I32(v) => v.clone(),
                _ => {
                    return Err(OpsError::Unsupported(format!(
                        "DequantizeLinear of {}",
                        x.dtype().name()
                    )))
                }
            };
            // The difference in i64: an int32 input minus an int32 zero point overflows i32.
            let y: Vec<f32> = q
                .iter()
                .zip(&idx)
                .map(|(&v, &i)| (i64::from(v) - i64::from(self.zps[i])) as f32 * self.scales[i])
                .collect();
            return Ok(vec![Tensor::f32(x.shape().to_vec(), y)?]);
        }
        let ax = resolve_axis("DequantizeLinear", x.shape(), self.axis, self.scales.len())?;
        let mut out = vec![0f32; x.len()];
        let pick = |a: usize| if self.scales.len() == 1 { 0 } else { a };
        match x.data() {
            TensorData::I32(v) => {
                if self.zps.iter().any(|&z| z != 0) {
                    return Err(OpsError::Quantization(
                        "DequantizeLinear: an int32 input needs a zero point of 0".into(),
                    ));
                }
                for (a, run) in ax.runs() {
                    let s = self.scales[pick(a)];
                    for i in run {
                        out[i] = v[i] as f32 * s;
                    }
                }
            }
            TensorData::U8(v) => self.dequantize_runs(&ax, v, QType::U8, &mut out, |p, x, y| {
                self.kernels.dequantize_u8(p, x, y)
            })?,
            TensorData::I8(v) => self.dequantize_runs(&ax, v, QType::I8, &mut out, |p, x, y| {
                self.kernels.dequantize_i8(p, x, y)
            })?,
            _ => {
                return Err(OpsError::Unsupported(format!(
                    "DequantizeLinear of {} (uint8, int8 and int32 are supported)",
                    x.dtype().name()
                )))
            }
        }
        Ok(vec![Tensor::f32(x.shape().to_vec(), out)?])
    }
    fn describe(&self) -> String {
        format!(
            "dequantize {} or {}",
            self.kernels.dequantize_u8_name(),
            self.kernels.dequantize_i8_name()
        )
    }
}

/// DynamicQuantizeLinear: u8 with scale and zero point from the data's range (including 0).
struct DynamicQuantize {
    kernels: BulkKernels,
}

impl Plan for DynamicQuantize {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, "DynamicQuantizeLinear", "x")?;
        let xs = x.as_f32("DynamicQuantizeLinear x")?;
        let (mut lo, mut hi) = (0f32, 0f32);
        for &v in xs {
            if v.is_nan() {
                return Err(OpsError::Quantization(
                    "DynamicQuantizeLinear: the input holds NaN".into(),
                ));
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let scale = (hi - lo) / 255.0;
        let mut y = vec![0u8; xs.len()];
        let zp = if scale > 0.0 && scale.is_finite() {
            let zp = (0.0 - lo / scale).clamp(0.0, 255.0).round_ties_even() as i32;
            let p = QuantParams::new(scale, zp, QType::U8).map_err(qerr)?;
            self.kernels.quantize_u8(&p, xs, &mut y).map_err(qerr)?;
            zp
        } else if scale == 0.0 {
            0
        } else {
            return Err(OpsError::Quantization(format!(
                "DynamicQuantizeLinear: the input range [{lo}, {hi}] gives scale {scale}"
            )));
        };
        Ok(vec![
            Tensor::u8(x.shape().to_vec(), y)?,
            Tensor::scalar_f32(scale),
            Tensor::u8(Vec::new(), vec![zp as u8])?,
        ])
    }
    fn describe(&self) -> String {
        format!("dynamic quantize {}", self.kernels.quantize_name())
    }
}

fn block_size(node: &Node) -> Result<usize, OpsError> {
    let b = attrs::int(node, "block_size", 0)?;
    if b < 0 {
        return Err(OpsError::Attribute(format!(
            "{}: block_size must be >= 0, got {b}",
            node.op_type
        )));
    }
    Ok(b as usize)
}

/// Plans QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear.
pub fn plan(node: &Node, inputs: &[PlanInput<'_>]) -> Result<Box<dyn Plan>, OpsError> {
    let op = node.op_type.as_str();
    let kernels = BulkKernels::best();
    match op {
        "QuantizeLinear" => {
            attrs::only(
                node,
                &[
                    "axis",
                    "saturate",
                    "block_size",
                    "output_dtype",
                    "precision",
                ],
            )?;
            let block = block_size(node)?;
            if attrs::int(node, "precision", 0)? != 0 {
                return Err(OpsError::Unsupported(
                    "QuantizeLinear: precision attribute".into(),
                ));
            }
            let (scale, scales) = constant_scales(inputs, "QuantizeLinear", "y_scale", block > 0)?;
            let (mut qtype, zps) = zero_points(
                constant(inputs, 2),
                "QuantizeLinear y_zero_point",
                scales.len(),
            )?;
            match attrs::int(node, "output_dtype", 0)? {
                0 => {}
                2 if constant(inputs, 2).is_none() || qtype == QType::U8 => qtype = QType::U8,
                3 if constant(inputs, 2).is_none() || qtype == QType::I8 => qtype = QType::I8,
                2 | 3 => {
                    return Err(OpsError::Type(
                        "QuantizeLinear: output_dtype disagrees with y_zero_point's type".into(),
                    ))
                }
                d => {
                    return Err(OpsError::Unsupported(format!(
                        "QuantizeLinear: output_dtype {d} (uint8 = 2 and int8 = 3 are supported)"
                    )))
                }
            }
            if matches!(inputs.first(), Some(PlanInput::Runtime { dtype, .. }) if *dtype != crate::DataType::F32)
                || matches!(inputs.first(), Some(PlanInput::Constant(t)) if t.dtype() != crate::DataType::F32)
            {
                return Err(OpsError::Unsupported(
                    "QuantizeLinear: input must be float".into(),
                ));
            }
            Ok(Box::new(Quantize {
                scales,
                scale_shape: scale.shape().to_vec(),
                block,
                zps,
                qtype,
                axis: attrs::int(node, "axis", 1)?,
                kernels,
            }))
        }
        "DequantizeLinear" => {
            attrs::only(node, &["axis", "block_size", "output_dtype"])?;
            let block = block_size(node)?;
            if attrs::int(node, "output_dtype", 0)? > 1 {
                return Err(OpsError::Unsupported(
                    "DequantizeLinear: output_dtype other than float".into(),
                ));
            }
            // Every scale is checked here, for every path (the blocked and the int32 paths
            // used to take any value, NaN and negative included).
            let (scale, scales) =
                constant_scales(inputs, "DequantizeLinear", "x_scale", block > 0)?;
            let zps = match constant(inputs, 2) {
                Some(t) if t.dtype() == crate::DataType::I32 => {
                    let v = t.as_i32("DequantizeLinear x_zero_point")?.to_vec();
                    if v.len() != scales.len() {
                        return Err(OpsError::Shape(
                            "DequantizeLinear: zero points vs scales".into(),
                        ));
                    }
                    v
                }
                z => zero_points(z, "DequantizeLinear x_zero_point", scales.len())?.1,
            };
            Ok(Box::new(Dequantize {
                scales,
                scale_shape: scale.shape().to_vec(),
                block,
                zps,
                axis: attrs::int(node, "axis", 1)?,
                kernels,
            }))
        }
        "DynamicQuantizeLinear" => {
            attrs::only(node, &[])?;
            Ok(Box::new(DynamicQuantize { kernels }))
        }
        _ => Err(OpsError::Unsupported(op.to_string())),
    }
}
