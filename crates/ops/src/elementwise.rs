//! Relu and Clip on float tensors (standalone; fused into convolutions by [`crate::conv`]).

use crate::attrs;
use crate::{Node, OpsError, Plan, PlanInput, Tensor, TensorData};

struct Clamp {
    op: &'static str,
    lo: f32,
    hi: f32,
}

impl Plan for Clamp {
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpsError> {
        let x = inputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| OpsError::MissingInput(format!("{}: X", self.op)))?;
        let y = match x.data() {
            // NaN stays NaN (max/min would drop it).
            TensorData::F32(v) => TensorData::F32(
                v.iter()
                    .map(|&a| {
                        if a.is_nan() {
                            a
                        } else {
                            a.max(self.lo).min(self.hi)
                        }
                    })
                    .collect(),
            ),
            _ => {
                return Err(OpsError::Unsupported(format!(
                    "{} of {} (float is supported)",
                    self.op,
                    x.dtype().name()
                )))
            }
        };
        Ok(vec![Tensor::new(x.shape().to_vec(), y)?])
    }
    fn describe(&self) -> String {
        format!("{} [{}, {}]", self.op, self.lo, self.hi)
    }
}

fn bound(inputs: &[PlanInput<'_>], i: usize, default: f32) -> Result<f32, OpsError> {
    match inputs.get(i) {
        None | Some(PlanInput::Absent) => Ok(default),
        Some(PlanInput::Constant(t)) => match t.as_f32("Clip bound")? {
            [v] => Ok(*v),
            v => Err(OpsError::Shape(format!(
                "Clip: bounds must be scalars, got {} values",
                v.len()
            ))),
        },
        Some(PlanInput::Runtime { .. }) => Err(OpsError::MissingInput(
            "Clip: min/max must be constants".into(),
        )),
    }
}

/// Plans Relu / Clip.
pub fn plan(node: &Node, inputs: &[PlanInput<'_>]) -> Result<Box<dyn Plan>, OpsError> {
    match node.op_type.as_str() {
        "Relu" => {
            attrs::only(node, &[])?;
            Ok(Box::new(Clamp {
                op: "Relu",
                lo: 0.0,
                hi: f32::INFINITY,
            }))
        }
        "Clip" => {
            attrs::only(node, &["min", "max"])?;
            // Opset < 11 has min/max attributes; later versions take inputs 1 and 2.
            let lo = match node.attributes.get("min") {
                Some(_) => attrs::float(node, "min", f32::MIN)?,
                None => bound(inputs, 1, f32::NEG_INFINITY)?,
            };
            let hi = match node.attributes.get("max") {
                Some(_) => attrs::float(node, "max", f32::MAX)?,
                None => bound(inputs, 2, f32::INFINITY)?,
            };
            Ok(Box::new(Clamp { op: "Clip", lo, hi }))
        }
        o => Err(OpsError::Unsupported(o.to_string())),
    }
}
