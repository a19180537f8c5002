//! Relu and Clip (standalone; fused into convolutions by [`crate::conv`]), on every numeric type
//! `ops` represents, bounds of the input's type as ONNX requires.

use crate::attrs;
use crate::{Node, OpsError, Plan, PlanInput, Tensor, TensorData};

/// Bounds of one element type; `None` = unbounded on that side.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    F32(f32),
    Int(i64),
}

struct Clamp {
    op: &'static str,
    lo: Option<Bound>,
    hi: Option<Bound>,
}

/// Clamps integer elements of type `T`. A bound outside `T`'s range is an error: ONNX gives
/// `min`/`max` the input's type, so such a bound came from a tensor of another type (before,
/// `T::try_from` failing silently meant "no clamp").
fn clamp_int<T: Copy + Into<i64> + TryFrom<i64>>(
    op: &str,
    v: &[T],
    lo: Option<i64>,
    hi: Option<i64>,
    type_name: &str,
) -> Result<Vec<T>, OpsError> {
    for b in [lo, hi].into_iter().flatten() {
        if T::try_from(b).is_err() {
            return Err(OpsError::Type(format!(
                "{op}: bound {b} is outside the range of the {type_name} input (min and max must have the input's type)"
            )));
        }
    }
    Ok(v.iter()
        .map(|&a| {
            let mut x: i64 = a.into();
            if let Some(l) = lo {
                x = x.max(l);
            }
            if let Some(h) = hi {
                x = x.min(h);
            }
            // Both bounds and `a` are in T's range (checked above), so this cannot fail.
            T::try_from(x).unwrap_or(a)
        })
        .collect())
}

impl Plan for Clamp {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = crate::input(inputs, 0, self.op, "X")?;
        let int = |b: Option<Bound>| -> Result<Option<i64>, OpsError> {
            match b {
                None => Ok(None),
                Some(Bound::Int(v)) => Ok(Some(v)),
                Some(Bound::F32(_)) => Err(OpsError::Type(format!(
                    "{}: a float bound for a {} input",
                    self.op,
                    x.dtype().name()
                ))),
            }
        };
        let y = match x.data() {
            TensorData::F32(v) => {
                let f = |b: Option<Bound>, d: f32| -> Result<f32, OpsError> {
                    match b {
                        None => Ok(d),
                        Some(Bound::F32(v)) => Ok(v),
                        Some(Bound::Int(_)) => Err(OpsError::Type(format!(
                            "{}: an integer bound for a float input",
                            self.op
                        ))),
                    }
                };
                let (lo, hi) = (f(self.lo, f32::NEG_INFINITY)?, f(self.hi, f32::INFINITY)?);
                // NaN stays NaN (max/min would drop it).
                TensorData::F32(
                    v.iter()
                        .map(|&a| if a.is_nan() { a } else { a.max(lo).min(hi) })
                        .collect(),
                )
            }
            TensorData::U8(v) => TensorData::U8(clamp_int(
                self.op,
                v,
                int(self.lo)?,
                int(self.hi)?,
                "uint8",
            )?),
            TensorData::I8(v) => {
                TensorData::I8(clamp_int(self.op, v, int(self.lo)?, int(self.hi)?, "int8")?)
            }
            TensorData::I32(v) => TensorData::I32(clamp_int(
                self.op,
                v,
                int(self.lo)?,
                int(self.hi)?,
                "int32",
            )?),
            TensorData::I64(v) => TensorData::I64(clamp_int(
                self.op,
                v,
                int(self.lo)?,
                int(self.hi)?,
                "int64",
            )?),
        };
        Ok(vec![Tensor::new(x.shape().to_vec(), y)?])
    }
    fn describe(&self) -> String {
        format!("{} [{:?}, {:?}]", self.op, self.lo, self.hi)
    }
}

fn bound(inputs: &[PlanInput<'_>], i: usize) -> Result<Option<Bound>, OpsError> {
    match inputs.get(i) {
        None | Some(PlanInput::Absent) => Ok(None),
        Some(PlanInput::Constant(t)) => {
            if t.len() != 1 {
                return Err(OpsError::Shape(format!(
                    "Clip: bounds must be scalars, got shape {:?}",
                    t.shape()
                )));
            }
            Ok(Some(match t.data() {
                TensorData::F32(v) => Bound::F32(v[0]),
                TensorData::U8(v) => Bound::Int(i64::from(v[0])),
                TensorData::I8(v) => Bound::Int(i64::from(v[0])),
                TensorData::I32(v) => Bound::Int(i64::from(v[0])),
                TensorData::I64(v) => Bound::Int(v[0]),
            }))
        }
        Some(PlanInput::Runtime { .. }) => Err(OpsError::MissingInput(
            "Clip: min/max must be constants".into(),
        )),
    }
}

/// Plans Relu / Clip.
pub fn plan(node: &Node, inputs: &[PlanInput<'_>]) -> Result<Box<dyn Plan>, OpsError> {
    let x_is_float = match inputs.first() {
        Some(PlanInput::Constant(t)) => t.dtype() == crate::DataType::F32,
        Some(PlanInput::Runtime { dtype, .. }) => *dtype == crate::DataType::F32,
        _ => true,
    };
    match node.op_type.as_str() {
        "Relu" => {
            attrs::only(node, &[])?;
            let zero = if x_is_float {
                Bound::F32(0.0)
            } else {
                Bound::Int(0)
            };
            Ok(Box::new(Clamp {
                op: "Relu",
                lo: Some(zero),
                hi: None,
            }))
        }
        "Clip" => {
            attrs::only(node, &["min", "max"])?;
            // Opset < 11 has float min/max attributes; later versions take inputs 1 and 2.
            let lo = match node.attributes.get("min") {
                Some(_) => Some(Bound::F32(attrs::float(node, "min", f32::MIN)?)),
                None => bound(inputs, 1)?,
            };
            let hi = match node.attributes.get("max") {
                Some(_) => Some(Bound::F32(attrs::float(node, "max", f32::MAX)?)),
                None => bound(inputs, 2)?,
            };
            Ok(Box::new(Clamp { op: "Clip", lo, hi }))
        }
        o => Err(OpsError::Unsupported(o.to_string())),
    }
}
