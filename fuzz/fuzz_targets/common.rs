//! Shared builders: arbitrary (small) shapes, attributes and buffers for `ops` nodes.

use arbitrary::{Arbitrary, Unstructured};
use ops::{Attribute, Node, Tensor};

/// A dimension: `0..=max` most of the time (so inputs reach the kernels), sometimes a value from
/// the full `usize` range or an edge where products wrap ([`crate::mix::size`]).
pub fn dim(u: &mut Unstructured<'_>, max: usize) -> arbitrary::Result<usize> {
    crate::mix::size(u, max)
}

/// A tensor of one of the types `ops` knows (and sometimes a wrong one), with `shape`, whose data
/// length may deliberately mismatch. A shape whose element count is huge (or overflows) gets tiny
/// data (at most a few elements, or exactly the wrapped count when that is small), to reach the
/// shape checks.
pub fn tensor(u: &mut Unstructured<'_>, shape: Vec<usize>) -> arbitrary::Result<Option<Tensor>> {
    let n = match crate::mix::prod(&shape) {
        Some(n) if n <= 4096 => n,
        _ => {
            let wrapped = crate::mix::wprod(&shape);
            if wrapped <= 4096 && bool::arbitrary(u)? {
                wrapped
            } else {
                usize::from(u8::arbitrary(u)? % 4)
            }
        }
    };
    let t = match u8::arbitrary(u)? % 5 {
        0 => Tensor::f32(
            shape,
            (0..n)
                .map(|_| f32::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        1 => Tensor::u8(
            shape,
            (0..n).map(|_| u8::arbitrary(u)).collect::<Result<_, _>>()?,
        ),
        2 => Tensor::i8(
            shape,
            (0..n).map(|_| i8::arbitrary(u)).collect::<Result<_, _>>()?,
        ),
        3 => Tensor::i32(
            shape,
            (0..n)
                .map(|_| i32::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
        _ => Tensor::i64(
            shape,
            (0..n)
                .map(|_| i64::arbitrary(u))
                .collect::<Result<_, _>>()?,
        ),
    };
    if let Ok(t) = &t {
        assert_eq!(
            crate::mix::prod(t.shape()),
            Some(t.len()),
            "Tensor accepted shape {:?} with {} elements",
            t.shape(),
            t.len()
        );
    }
    Ok(t.ok())
}

/// Arbitrary attributes drawn from the names convolution-like nodes use (values unchecked): ints
/// from the full i64 range, mostly `-2..=8`, sometimes an edge (`i64::MIN/MAX`, `2^62`,
/// `u32::MAX + 1`, ...) ([`crate::mix::int`]).
pub fn attributes(u: &mut Unstructured<'_>, mut node: Node) -> arbitrary::Result<Node> {
    let names = [
        "kernel_shape",
        "strides",
        "dilations",
        "pads",
        "auto_pad",
        "group",
        "axis",
        "transA",
        "transB",
        "alpha",
        "beta",
        "min",
        "max",
    ];
    for _ in 0..u8::arbitrary(u)? % 6 {
        let name = names[usize::from(u8::arbitrary(u)?) % names.len()];
        let v = match u8::arbitrary(u)? % 4 {
            0 => Attribute::Int(crate::mix::int(u, 8)?),
            1 => Attribute::Ints(
                (0..u8::arbitrary(u)? % 6)
                    .map(|_| crate::mix::int(u, 8))
                    .collect::<Result<_, _>>()?,
            ),
            2 => Attribute::Float(f32::arbitrary(u)?),
            _ => Attribute::String(
                ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "x"]
                    [usize::from(u8::arbitrary(u)?) % 5]
                    .into(),
            ),
        };
        node = node.with(name, v);
    }
    Ok(node)
}

/// Plans and runs `node` on `inputs` (as constants), expecting `Ok` or `Err`, never a panic.
pub fn plan_and_run(node: &Node, inputs: &[Option<Tensor>], threads: usize) {
    let pi: Vec<ops::PlanInput<'_>> = inputs
        .iter()
        .map(|t| match t {
            Some(t) => ops::PlanInput::Constant(t),
            None => ops::PlanInput::Absent,
        })
        .collect();
    let opts = ops::Options {
        threads: Some(threads),
        ..ops::Options::default()
    };
    if let Ok(plan) = ops::plan_node(node, &pi, &opts) {
        let run: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
        let _ = plan.run(&run);
        let _ = plan.describe();
    }
}
