//! Attribute access and the convolution geometry ONNX defines (`kernel_shape`, `strides`,
//! `dilations`, `pads`, `auto_pad`, `group`).

use crate::limits::{self, MAX_ATTRIBUTE};
use crate::{Attribute, Node, OpsError};

/// An `INT` attribute, or `default`.
pub fn int(node: &Node, name: &str, default: i64) -> Result<i64, OpsError> {
    match node.attributes.get(name) {
        None => Ok(default),
        Some(Attribute::Int(v)) => Ok(*v),
        Some(o) => Err(OpsError::Attribute(format!(
            "{}: attribute {name} must be an int, got {o:?}",
            node.op_type
        ))),
    }
}

/// A `FLOAT` attribute, or `default`.
pub fn float(node: &Node, name: &str, default: f32) -> Result<f32, OpsError> {
    match node.attributes.get(name) {
        None => Ok(default),
        Some(Attribute::Float(v)) => Ok(*v),
        Some(o) => Err(OpsError::Attribute(format!(
            "{}: attribute {name} must be a float, got {o:?}",
            node.op_type
        ))),
    }
}

/// An `INTS` attribute, if present.
pub fn ints(node: &Node, name: &str) -> Result<Option<Vec<i64>>, OpsError> {
    match node.attributes.get(name) {
        None => Ok(None),
        Some(Attribute::Ints(v)) => Ok(Some(v.clone())),
        Some(o) => Err(OpsError::Attribute(format!(
            "{}: attribute {name} must be a list of ints, got {o:?}",
            node.op_type
        ))),
    }
}

/// A `STRING` attribute, or `default`.
pub fn string(node: &Node, name: &str, default: &str) -> Result<String, OpsError> {
    match node.attributes.get(name) {
        None => Ok(default.to_string()),
        Some(Attribute::String(v)) => Ok(v.clone()),
        Some(o) => Err(OpsError::Attribute(format!(
            "{}: attribute {name} must be a string, got {o:?}",
            node.op_type
        ))),
    }
}

/// Rejects attributes this node does not know (a misspelt attribute must not be ignored).
pub fn only(node: &Node, known: &[&str]) -> Result<(), OpsError> {
    for k in node.attributes.keys() {
        if !known.contains(&k.as_str()) {
            return Err(OpsError::Unsupported(format!(
                "{}: attribute {k} is not supported",
                node.op_type
            )));
        }
    }
    Ok(())
}

/// 2-D convolution geometry after resolving ONNX's attributes against the shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Batch.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height, width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub m: usize,
    /// Kernel height, width.
    pub kernel: [usize; 2],
    /// Strides (h, w).
    pub stride: [usize; 2],
    /// Dilations (h, w).
    pub dilation: [usize; 2],
    /// Padding top, left, bottom, right.
    pub pad: [usize; 4],
    /// Groups.
    pub group: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Whether the node was 1-D (`N×C×W`), run as `H = 1`.
    pub one_d: bool,
}

fn positive(node: &Node, name: &str, v: &[i64], n: usize) -> Result<Vec<usize>, OpsError> {
    if v.len() != n {
        return Err(OpsError::Attribute(format!(
            "{}: {name} has {} values, the convolution has {n} spatial dimensions",
            node.op_type,
            v.len()
        )));
    }
    v.iter()
        .map(|&x| {
            if x >= 1 && x as u64 <= MAX_ATTRIBUTE {
                Ok(x as usize)
            } else {
                Err(OpsError::Attribute(format!(
                    "{}: {name} must be in [1, {MAX_ATTRIBUTE}], got {v:?}",
                    node.op_type
                )))
            }
        })
        .collect()
}

/// Resolves a Conv-like node's geometry from the input shape `N×C×(H×)W` and the weight shape
/// `M×C/group×(kH×)kW`: ranks, channels and groups, then kernel, strides and dilations, then
/// padding, then the output size; each phase bounds what it reads before the next uses it.
pub fn conv_geom(node: &Node, x: &[usize], w: &[usize]) -> Result<ConvGeom, OpsError> {
    let op = &node.op_type;
    let spatial = conv_rank(op, x, w)?;
    let group = conv_channels(node, x, w)?;
    let (n, c, m) = (x[0], x[1], w[0]);
    let (kshape, strides, dilations) = conv_window(node, w, spatial)?;
    let in_sp: Vec<usize> = x[2..].to_vec();
    let (begin, end) = conv_pads(node, &in_sp, &kshape, &strides, &dilations)?;
    let mut out = Vec::with_capacity(spatial);
    for i in 0..spatial {
        let eff_k = extent(op, &kshape, &dilations, i)?;
        let padded = in_sp[i]
            .checked_add(begin[i])
            .and_then(|v| v.checked_add(end[i]))
            .ok_or_else(|| {
                OpsError::Attribute(format!(
                    "{op}: pads {} + {} overflow in spatial dimension {i}",
                    begin[i], end[i]
                ))
            })?;
        if padded < eff_k {
            return Err(OpsError::Shape(format!(
                "{op}: the kernel (extent {eff_k} with dilation) does not fit the padded input ({padded}) in spatial dimension {i}"
            )));
        }
        out.push((padded - eff_k) / strides[i] + 1);
    }
    // The output, counted the same way as the input (batch, channels and every spatial size).
    let mut out_shape = vec![n, m];
    out_shape.extend_from_slice(&out);
    limits::elements(&out_shape, &format!("{op} output"))?;
    let (kernel, stride, dilation, pad, h, wd, oh, ow) = if spatial == 1 {
        (
            [1, kshape[0]],
            [1, strides[0]],
            [1, dilations[0]],
            [0, begin[0], 0, end[0]],
            1,
            in_sp[0],
            1,
            out[0],
        )
    } else {
        (
            [kshape[0], kshape[1]],
            [strides[0], strides[1]],
            [dilations[0], dilations[1]],
            [begin[0], begin[1], end[0], end[1]],
            in_sp[0],
            in_sp[1],
            out[0],
            out[1],
        )
    };
    Ok(ConvGeom {
        n,
        c,
        h,
        w: wd,
        m,
        kernel,
        stride,
        dilation,
        pad,
        group,
        oh,
        ow,
        one_d: spatial == 1,
    })
}

/// Conv phase 1: equal input and weight ranks, 1-D or 2-D; returns the spatial rank.
fn conv_rank(op: &str, x: &[usize], w: &[usize]) -> Result<usize, OpsError> {
    if x.len() != w.len() {
        return Err(OpsError::Shape(format!(
            "{op}: input has rank {} but the weights have rank {}",
            x.len(),
            w.len()
        )));
    }
    match x.len() {
        3 => Ok(1),
        4 => Ok(2),
        r => Err(OpsError::Unsupported(format!(
            "{op}: {}-D convolution (input rank {r}); 1-D and 2-D are supported",
            r.saturating_sub(2)
        ))),
    }
}

/// Conv phase 2: `group`, element counts of both shapes, and channels that divide into the
/// groups and match the weights; returns the group count.
fn conv_channels(node: &Node, x: &[usize], w: &[usize]) -> Result<usize, OpsError> {
    let op = &node.op_type;
    let group = int(node, "group", 1)?;
    if group < 1 {
        return Err(OpsError::Attribute(format!(
            "{op}: group must be >= 1, got {group}"
        )));
    }
    let group = usize::try_from(group)
        .map_err(|_| OpsError::Attribute(format!("{op}: group {group} does not fit usize")))?;
    // Every partial product of either shape must fit usize: the kernels and the layout
    // conversions walk them with plain index arithmetic.
    limits::elements(x, &format!("{op} input"))?;
    limits::elements(w, &format!("{op} weights"))?;
    let (c, m) = (x[1], w[0]);
    if c == 0 || m == 0 {
        return Err(OpsError::Shape(format!(
            "{op}: input channels ({c}) and output channels ({m}) must be >= 1"
        )));
    }
    if !c.is_multiple_of(group) || !m.is_multiple_of(group) {
        return Err(OpsError::Shape(format!(
            "{op}: input channels {c} and output channels {m} must be multiples of group {group}"
        )));
    }
    if w[1].checked_mul(group) != Some(c) {
        return Err(OpsError::Shape(format!(
            "{op}: weights have {} input channels per group, the input has {c} channels in {group} group(s)",
            w[1]
        )));
    }
    Ok(group)
}

/// Conv phase 3: the kernel shape (from the weights, checked against `kernel_shape`), strides
/// and dilations, each in `[1, MAX_ATTRIBUTE]`.
#[allow(clippy::type_complexity)]
fn conv_window(
    node: &Node,
    w: &[usize],
    spatial: usize,
) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>), OpsError> {
    let op = &node.op_type;
    let kshape: Vec<usize> = w[2..].to_vec();
    if let Some(ks) = ints(node, "kernel_shape")? {
        let ks = positive(node, "kernel_shape", &ks, spatial)?;
        if ks != kshape {
            return Err(OpsError::Shape(format!(
                "{op}: kernel_shape {ks:?} does not match the weights' {kshape:?}"
            )));
        }
    }
    if kshape.contains(&0) {
        return Err(OpsError::Shape(format!("{op}: empty kernel {kshape:?}")));
    }
    let ones = vec![1i64; spatial];
    let strides = positive(
        node,
        "strides",
        &ints(node, "strides")?.unwrap_or(ones.clone()),
        spatial,
    )?;
    let dilations = positive(
        node,
        "dilations",
        &ints(node, "dilations")?.unwrap_or(ones),
        spatial,
    )?;
    Ok((kshape, strides, dilations))
}

/// Conv phase 4: the padding at the begin and end of each spatial dimension, from `pads`
/// (each in `[0, MAX_ATTRIBUTE]`) or `auto_pad`.
fn conv_pads(
    node: &Node,
    in_sp: &[usize],
    kshape: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), OpsError> {
    let op = &node.op_type;
    let spatial = in_sp.len();
    let auto_pad = string(node, "auto_pad", "NOTSET")?;
    let mut begin = vec![0usize; spatial];
    let mut end = vec![0usize; spatial];
    match auto_pad.as_str() {
        "NOTSET" => {
            if let Some(p) = ints(node, "pads")? {
                if p.len() != 2 * spatial || p.iter().any(|&v| v < 0 || v as u64 > MAX_ATTRIBUTE) {
                    return Err(OpsError::Attribute(format!(
                        "{op}: pads must be {} values in [0, {MAX_ATTRIBUTE}], got {p:?}",
                        2 * spatial
                    )));
                }
                for i in 0..spatial {
                    begin[i] = p[i] as usize;
                    end[i] = p[i + spatial] as usize;
                }
            }
        }
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for i in 0..spatial {
                let out = in_sp[i].div_ceil(strides[i]);
                let eff_k = extent(op, kshape, dilations, i)?;
                // An empty input gets no padding (the kernel check then refuses it).
                let total = match out {
                    0 => 0,
                    _ => (out - 1)
                        .checked_mul(strides[i])
                        .and_then(|v| v.checked_add(eff_k))
                        .ok_or_else(|| {
                            OpsError::Attribute(format!(
                                "{op}: stride {} and kernel extent {eff_k} overflow in spatial dimension {i}",
                                strides[i]
                            ))
                        })?
                        .saturating_sub(in_sp[i]),
                };
                let small = total / 2;
                let big = total - small;
                if auto_pad == "SAME_UPPER" {
                    begin[i] = small;
                    end[i] = big;
                } else {
                    begin[i] = big;
                    end[i] = small;
                }
            }
        }
        o => {
            return Err(OpsError::Attribute(format!(
                "{op}: auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {o}"
            )))
        }
    }
    Ok((begin, end))
}

impl ConvGeom {
    /// Checks that the tensors a plan of this geometry allocates fit `max_bytes` with input
    /// elements of `in_elem` bytes and output elements of `out_elem` bytes: the output (`n·m·oh·ow`) and the input with the padding `extra` added
    /// (`n·c·(h + extra)·(w + extra)`, the copy the int8 kernels take for pads wider than the
    /// kernel). Sizes that overflow are errors too.
    pub fn check_tensors(
        &self,
        op: &str,
        in_elem: usize,
        out_elem: usize,
        extra: [usize; 4],
        max_bytes: usize,
    ) -> Result<(), OpsError> {
        let ph = limits::sum(self.h, extra[0], op).and_then(|v| limits::sum(v, extra[2], op))?;
        let pw = limits::sum(self.w, extra[1], op).and_then(|v| limits::sum(v, extra[3], op))?;
        let sizes = [
            ("output", out_elem, [self.n, self.m, self.oh, self.ow]),
            ("input", in_elem, [self.n, self.c, self.h, self.w]),
            ("padded input", in_elem, [self.n, self.c, ph, pw]),
        ];
        for (what, elem, dims) in sizes {
            let what = format!("{op} {what}");
            let count = limits::elements(&dims, &what)?;
            let bytes = count.checked_mul(elem.max(1));
            if bytes.is_none_or(|b| b > max_bytes) {
                return Err(OpsError::Shape(format!(
                    "{what} {dims:?} of {elem}-byte elements exceeds the tensor limit of \
                     {max_bytes} bytes (Options::max_tensor_bytes)"
                )));
            }
        }
        Ok(())
    }

    /// The output shape in the node's rank.
    pub fn output_shape(&self) -> Vec<usize> {
        if self.one_d {
            vec![self.n, self.m, self.ow]
        } else {
            vec![self.n, self.m, self.oh, self.ow]
        }
    }
}

/// The dilated kernel extent `(k − 1)·d + 1` of spatial dimension `i`, or an error naming the
/// overflow (k >= 1 and d >= 1 are checked by the caller). The extent is bounded by
/// [`MAX_ATTRIBUTE`] like the attributes it comes from, so SAME padding derived from it is too.
fn extent(op: &str, kshape: &[usize], dilations: &[usize], i: usize) -> Result<usize, OpsError> {
    (kshape[i] - 1)
        .checked_mul(dilations[i])
        .and_then(|v| v.checked_add(1))
        .filter(|&e| e as u64 <= MAX_ATTRIBUTE)
        .ok_or_else(|| {
            OpsError::Attribute(format!(
                "{op}: kernel {} with dilation {} has an extent over {MAX_ATTRIBUTE} in spatial dimension {i}",
                kshape[i], dilations[i]
            ))
        })
}
