//! Shared builders: arbitrary (small) shapes, attributes and buffers for `ops` nodes.

use arbitrary::{Arbitrary, Unstructured};
use ops::{Attribute, Node, Tensor};

/// Keeps sizes small so each input runs fast.
pub fn dim(u: &mut Unstructured<'_>, max: usize) -> arbitrary::Result<usize> {
    Ok(usize::from(u8::arbitrary(u)?) % (max + 1))
}

/// A tensor of one of the types `ops` knows (and sometimes a wrong one), with `shape`, whose data
/// length may deliberately mismatch.
pub fn tensor(u: &mut Unstructured<'_>, shape: Vec<usize>) -> arbitrary::Result<Option<Tensor>> {
    let n: usize = shape.iter().product();
    if n > 4096 {
        return Ok(None);
    }
    let t = match u8::arbitrary(u)? % 5 {
        0 => Tensor::f32(shape, (0..n).map(|_| f32::arbitrary(u)).collect::<Result<_, _>>()?),
        1 => Tensor::u8(shape, (0..n).map(|_| u8::arbitrary(u)).collect::<Result<_, _>>()?),
        2 => Tensor::i8(shape, (0..n).map(|_| i8::arbitrary(u)).collect::<Result<_, _>>()?),
        3 => Tensor::i32(shape, (0..n).map(|_| i32::arbitrary(u)).collect::<Result<_, _>>()?),
        _ => Tensor::i64(shape, (0..n).map(|_| i64::arbitrary(u)).collect::<Result<_, _>>()?),
    };
    Ok(t.ok())
}

/// Arbitrary attributes drawn from the names convolution-like nodes use (values unchecked).
pub fn attributes(u: &mut Unstructured<'_>, mut node: Node) -> arbitrary::Result<Node> {
    let names = ["kernel_shape", "strides", "dilations", "pads", "auto_pad", "group", "axis", "transA", "transB", "alpha", "beta", "min", "max"];
    for _ in 0..u8::arbitrary(u)? % 6 {
        let name = names[usize::from(u8::arbitrary(u)?) % names.len()];
        let v = match u8::arbitrary(u)? % 4 {
            0 => Attribute::Int(i64::from(i8::arbitrary(u)?)),
            1 => Attribute::Ints((0..u8::arbitrary(u)? % 6).map(|_| i8::arbitrary(u).map(i64::from)).collect::<Result<_, _>>()?),
            2 => Attribute::Float(f32::arbitrary(u)?),
            _ => Attribute::String(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "x"][usize::from(u8::arbitrary(u)?) % 5].into()),
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
    let opts = ops::Options { threads: Some(threads), ..ops::Options::default() };
    if let Ok(plan) = ops::plan_node(node, &pi, &opts) {
        let run: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
        let _ = plan.run(&run);
        let _ = plan.describe();
    }
}
