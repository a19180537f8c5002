//! Direct entry points for the common kernels (QNNPACK / XNNPACK style): create once (weights
//! packed), run many times into caller buffers without allocation, destroy.

use crate::error::{self, guard, Error, Result};
use crate::plan::layout;
use crate::EkStatus;
use ops::conv::{Activation, ConvF32, ConvQ8};
use ops::matmul::MatMulInt8;
use ops::{Attribute, DataType, Node, Plan, PlanInput, Tensor};
use std::ffi::c_char;

/// Fused activations (`EkConvDesc::activation`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EkActivation {
    /// None.
    None = 0,
    /// `max(x, 0)`.
    Relu = 1,
    /// `min(max(x, activation_min), activation_max)` (ReLU6: 0, 6), on real values.
    Clip = 2,
}

/// A 2-D convolution: batch, input size, channels, kernel, stride, dilation, padding, groups
/// and a fused activation. Weights are ONNX's OIHW (`out_channels × in_channels/groups ×
/// kernel_h × kernel_w`). A depthwise convolution is `groups == in_channels` (the library
/// then runs its depthwise kernels).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EkConvDesc {
    /// Images per run (N).
    pub batch: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride (>= 1).
    pub stride_h: usize,
    /// Horizontal stride (>= 1).
    pub stride_w: usize,
    /// Vertical dilation (>= 1).
    pub dilation_h: usize,
    /// Horizontal dilation (>= 1).
    pub dilation_w: usize,
    /// Rows of zero padding above.
    pub pad_top: usize,
    /// Columns of zero padding on the left.
    pub pad_left: usize,
    /// Rows of zero padding below.
    pub pad_bottom: usize,
    /// Columns of zero padding on the right.
    pub pad_right: usize,
    /// Groups (>= 1; `in_channels` and `out_channels` multiples of it).
    pub groups: usize,
    /// An `EkActivation` value.
    pub activation: i32,
    /// Lower bound of `EK_ACTIVATION_CLIP`.
    pub activation_min: f32,
    /// Upper bound of `EK_ACTIVATION_CLIP`.
    pub activation_max: f32,
}

/// Quantization of a u8 × s8 → u8 operator (ONNX QLinearConv / QLinearMatMul semantics,
/// requantization as ONNX Runtime's reference: fp32 multiplier, round half to even).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EkQuantU8S8 {
    /// Input (activation) scale, finite and > 0.
    pub input_scale: f32,
    /// Input zero point.
    pub input_zero_point: u8,
    /// Weight scales: 1 (per tensor) or one per output channel / GEMM column. Weights are
    /// symmetric (zero point 0).
    pub weight_scales: *const f32,
    /// Number of `weight_scales`.
    pub num_weight_scales: usize,
    /// Output scale, finite and > 0.
    pub output_scale: f32,
    /// Output zero point.
    pub output_zero_point: u8,
}

/// A quantized GEMM with packed weights (opaque).
pub struct EkQGemm {
    plan: MatMulInt8,
    k: usize,
    n: usize,
}

/// A quantized (u8 NHWC) convolution or depthwise convolution (opaque).
pub struct EkQConv {
    plan: ConvQ8,
    in_shape: [usize; 4],
    lens: RunLens,
}

/// An fp32 convolution (opaque).
pub struct EkConvF32 {
    plan: ConvF32,
    lens: RunLens,
}

/// The input length and output shape a convolution handle was created for.
struct RunLens {
    in_len: usize,
    out_shape: Vec<usize>,
}

impl RunLens {
    /// Checks the buffer lengths of a run.
    fn check(&self, x_len: usize, y_len: usize) -> Result<()> {
        let out_len = elements(&self.out_shape, "output")?;
        if x_len != self.in_len || y_len != out_len {
            return Err(Error::invalid(format!(
                "x_len = {x_len}, y_len = {y_len}; want {} and {out_len}",
                self.in_len
            )));
        }
        Ok(())
    }
}

fn i64_of(v: usize, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(format!("{what} = {v} does not fit int64")))
}

fn activation(d: &EkConvDesc) -> Result<Activation> {
    match d.activation {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        2 => Ok(Activation::Clip(d.activation_min, d.activation_max)),
        a => Err(Error::invalid(format!("unknown activation {a}"))),
    }
}

/// The ONNX Conv node of a descriptor.
fn conv_node(op: &str, d: &EkConvDesc) -> Result<Node> {
    let i = |v: usize, w: &str| i64_of(v, w);
    Ok(Node::new(op)
        .with(
            "kernel_shape",
            Attribute::Ints(vec![i(d.kernel_h, "kernel_h")?, i(d.kernel_w, "kernel_w")?]),
        )
        .with(
            "strides",
            Attribute::Ints(vec![i(d.stride_h, "stride_h")?, i(d.stride_w, "stride_w")?]),
        )
        .with(
            "dilations",
            Attribute::Ints(vec![
                i(d.dilation_h, "dilation_h")?,
                i(d.dilation_w, "dilation_w")?,
            ]),
        )
        .with(
            "pads",
            Attribute::Ints(vec![
                i(d.pad_top, "pad_top")?,
                i(d.pad_left, "pad_left")?,
                i(d.pad_bottom, "pad_bottom")?,
                i(d.pad_right, "pad_right")?,
            ]),
        )
        .with("group", Attribute::Int(i(d.groups, "groups")?)))
}

/// Weights shape OIHW of a descriptor, checking `groups`.
fn weight_shape(d: &EkConvDesc) -> Result<Vec<usize>> {
    if d.groups == 0 || !d.in_channels.is_multiple_of(d.groups) {
        return Err(Error::invalid(format!(
            "groups = {} must be >= 1 and divide in_channels = {}",
            d.groups, d.in_channels
        )));
    }
    Ok(vec![
        d.out_channels,
        d.in_channels / d.groups,
        d.kernel_h,
        d.kernel_w,
    ])
}

/// Scale and zero-point tensors of the weights (`count` 1 → scalars, else `[count]`).
fn weight_quant(q: &EkQuantU8S8) -> Result<(Tensor, Tensor)> {
    // SAFETY: `weight_scales` is valid for `num_weight_scales` reads (caller's contract of the
    // entry points taking an `EkQuantU8S8`); `slice` checks null, alignment and size.
    let s = unsafe { error::slice(q.weight_scales, q.num_weight_scales, "weight_scales")? };
    match s.len() {
        0 => Err(Error::invalid("num_weight_scales is 0")),
        1 => Ok((Tensor::scalar_f32(s[0]), Tensor::i8(vec![], vec![0])?)),
        n => Ok((
            Tensor::f32(vec![n], s.to_vec())?,
            Tensor::i8(vec![n], vec![0; n])?,
        )),
    }
}

fn options(threads: usize, layout: ops::Layout) -> ops::Options {
    ops::Options {
        layout,
        threads: Some(crate::resolve_threads(threads)),
        ..ops::Options::default()
    }
}

fn elements(shape: &[usize], what: &str) -> Result<usize> {
    Ok(ops::limits::elements(shape, what)?)
}

/// Creates a quantized GEMM `Y[m×n] = requant(A[m×k] (u8) × B[k×n] (s8))` with `B` (row-major,
/// `k × n`, `b_len == k * n`) packed now; `m` is chosen per run. On failure `*gemm` is NULL.
///
/// # Safety
/// `b` is valid for `b_len` reads; `quant` points to a valid `EkQuantU8S8` (its
/// `weight_scales` valid for `num_weight_scales` reads); `gemm` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_qgemm_u8s8_create(
    k: usize,
    n: usize,
    b: *const i8,
    b_len: usize,
    quant: *const EkQuantU8S8,
    threads: usize,
    gemm: *mut *mut EkQGemm,
) -> EkStatus {
    guard("ek_qgemm_u8s8_create", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (bv, q) = unsafe {
            error::write_out(gemm, std::ptr::null_mut(), "gemm")?;
            (error::slice(b, b_len, "b")?, error::handle(quant, "quant")?)
        };
        let kn = k
            .checked_mul(n)
            .ok_or_else(|| Error::invalid(format!("k * n = {k} * {n} overflows")))?;
        if kn != b_len {
            return Err(Error::invalid(format!(
                "b_len = {b_len}, want k * n = {kn}"
            )));
        }
        let bt = Tensor::i8(vec![k, n], bv.to_vec())?;
        let (ws, wz) = weight_quant(q)?;
        let xs = Tensor::scalar_f32(q.input_scale);
        let xz = Tensor::u8(vec![], vec![q.input_zero_point])?;
        let ys = Tensor::scalar_f32(q.output_scale);
        let yz = Tensor::u8(vec![], vec![q.output_zero_point])?;
        // The plan's A shape: m is free at run time (`run_u8_into` takes it); 1 here.
        let a_shape = [1, k];
        let c = PlanInput::Constant;
        let plan = ops::matmul::plan_qlinear_matmul(
            &Node::new("QLinearMatMul"),
            &[
                PlanInput::Runtime {
                    dtype: DataType::U8,
                    shape: &a_shape,
                },
                c(&xs),
                c(&xz),
                c(&bt),
                c(&ws),
                c(&wz),
                c(&ys),
                c(&yz),
            ],
            &options(threads, ops::Layout::Nchw),
        )?;
        let boxed = Box::into_raw(Box::new(EkQGemm { plan, k, n }));
        // SAFETY: checked valid above.
        unsafe { gemm.write(boxed) };
        Ok(())
    })
}

/// Runs the GEMM on `a` (row-major `m × k` u8, `a_len == m * k`) into `y` (`m × n` u8,
/// `y_len == m * n`). No allocation.
///
/// # Safety
/// `gemm` is a live handle; `a` valid for `a_len` reads; `y` valid for `y_len` writes and not
/// overlapping `a`.
#[no_mangle]
pub unsafe extern "C" fn ek_qgemm_u8s8_run(
    gemm: *const EkQGemm,
    m: usize,
    a: *const u8,
    a_len: usize,
    y: *mut u8,
    y_len: usize,
) -> EkStatus {
    guard("ek_qgemm_u8s8_run", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (g, av, yv) = unsafe {
            (
                error::handle(gemm, "gemm")?,
                error::slice(a, a_len, "a")?,
                error::slice_mut(y, y_len, "y")?,
            )
        };
        let want_a = m.checked_mul(g.k);
        let want_y = m.checked_mul(g.n);
        if want_a != Some(a_len) || want_y != Some(y_len) {
            return Err(Error::invalid(format!(
                "a_len = {a_len}, y_len = {y_len}; want m * k = {m} * {} and m * n = {m} * {}",
                g.k, g.n
            )));
        }
        Ok(g.plan.run_u8_into(av, m, yv)?)
    })
}

/// Writes the kernel the GEMM runs into `buf` (see `ek_plan_describe`).
///
/// # Safety
/// `gemm` is NULL or live; `buf` is NULL or valid for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn ek_qgemm_u8s8_describe(
    gemm: *const EkQGemm,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: caller's contract for `gemm` and `buf`.
    unsafe {
        error::describe(
            "ek_qgemm_u8s8_describe",
            gemm,
            "gemm",
            |h| h.plan.describe(),
            buf,
            len,
        )
    }
}

/// Releases a GEMM (NULL is ignored).
///
/// # Safety
/// `gemm` is NULL or a live handle not in use; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_qgemm_u8s8_destroy(gemm: *mut EkQGemm) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_qgemm_u8s8_destroy", gemm) }
}

/// Creates a quantized convolution over NHWC u8 activations: weights OIHW s8
/// (`weights_len` elements), optional int32 bias (`bias` NULL or `bias_len ==
/// out_channels`), quantization `quant`, fused activation from `desc`. Depthwise shapes
/// (`groups == in_channels`) run the depthwise kernels. On failure `*conv` is NULL.
///
/// # Safety
/// `desc` and `quant` point to valid structs (`quant.weight_scales` valid for its count);
/// `weights` valid for `weights_len` reads; `bias` NULL or valid for `bias_len` reads; `conv`
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_qconv_u8s8_create(
    desc: *const EkConvDesc,
    weights: *const i8,
    weights_len: usize,
    bias: *const i32,
    bias_len: usize,
    quant: *const EkQuantU8S8,
    threads: usize,
    conv: *mut *mut EkQConv,
) -> EkStatus {
    guard("ek_qconv_u8s8_create", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (d, q) = unsafe {
            error::write_out(conv, std::ptr::null_mut(), "conv")?;
            (error::handle(desc, "desc")?, error::handle(quant, "quant")?)
        };
        // SAFETY: caller's contract for the struct and its pointers.
        let h = unsafe { qconv_create(d, weights, weights_len, bias, bias_len, q, threads)? };
        // SAFETY: checked valid above.
        unsafe { conv.write(Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// Creates a quantized depthwise convolution: `desc.groups` is ignored (set to
/// `in_channels`); `out_channels` is `in_channels × multiplier`; weights OIHW
/// (`out_channels × 1 × kernel_h × kernel_w`). Otherwise as `ek_qconv_u8s8_create`, and run
/// with `ek_qconv_u8s8_run`.
///
/// # Safety
/// As `ek_qconv_u8s8_create`.
#[no_mangle]
pub unsafe extern "C" fn ek_qdepthwise_u8s8_create(
    desc: *const EkConvDesc,
    weights: *const i8,
    weights_len: usize,
    bias: *const i32,
    bias_len: usize,
    quant: *const EkQuantU8S8,
    threads: usize,
    conv: *mut *mut EkQConv,
) -> EkStatus {
    guard("ek_qdepthwise_u8s8_create", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (d, q) = unsafe {
            error::write_out(conv, std::ptr::null_mut(), "conv")?;
            (error::handle(desc, "desc")?, error::handle(quant, "quant")?)
        };
        let d = EkConvDesc {
            groups: d.in_channels,
            ..*d
        };
        // SAFETY: caller's contract for the struct and its pointers.
        let h = unsafe { qconv_create(&d, weights, weights_len, bias, bias_len, q, threads)? };
        // SAFETY: checked valid above.
        unsafe { conv.write(Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// The weights of the convolution `d` (OIHW, `weights_len` elements, checked against the shape)
/// and its optional bias (`bias` NULL with `bias_len == 0`, else `bias_len` elements) as
/// tensors, made by `w_tensor` and `b_tensor`.
///
/// # Safety
/// `weights` valid for `weights_len` reads, `bias` NULL or valid for `bias_len` reads.
unsafe fn weights_and_bias<W: Copy, B: Copy>(
    d: &EkConvDesc,
    weights: *const W,
    weights_len: usize,
    bias: *const B,
    bias_len: usize,
    w_tensor: fn(Vec<usize>, Vec<W>) -> std::result::Result<Tensor, ops::OpsError>,
    b_tensor: fn(Vec<usize>, Vec<B>) -> std::result::Result<Tensor, ops::OpsError>,
) -> Result<(Tensor, Option<Tensor>)> {
    let wshape = weight_shape(d)?;
    let wn = elements(&wshape, "weights")?;
    if wn != weights_len {
        return Err(Error::invalid(format!(
            "weights_len = {weights_len}, want {wshape:?} = {wn}"
        )));
    }
    // SAFETY: caller's contract; `slice` checks null, alignment and size.
    let wv = unsafe { error::slice(weights, weights_len, "weights")? };
    let wt = w_tensor(wshape, wv.to_vec())?;
    let bt = if bias.is_null() {
        if bias_len != 0 {
            return Err(Error::invalid(format!(
                "bias is NULL with bias_len = {bias_len}"
            )));
        }
        None
    } else {
        // SAFETY: caller's contract; checked as above.
        let bv = unsafe { error::slice(bias, bias_len, "bias")? };
        Some(b_tensor(vec![bias_len], bv.to_vec())?)
    };
    Ok((wt, bt))
}

/// # Safety
/// `weights` valid for `weights_len` reads, `bias` NULL or valid for `bias_len` reads,
/// `q.weight_scales` valid for its count.
unsafe fn qconv_create(
    d: &EkConvDesc,
    weights: *const i8,
    weights_len: usize,
    bias: *const i32,
    bias_len: usize,
    q: &EkQuantU8S8,
    threads: usize,
) -> Result<EkQConv> {
    // SAFETY: caller's contract for `weights` and `bias`.
    let (wt, bt) = unsafe {
        weights_and_bias(
            d,
            weights,
            weights_len,
            bias,
            bias_len,
            Tensor::i8,
            Tensor::i32,
        )?
    };
    let (ws, wz) = weight_quant(q)?;
    let xs = Tensor::scalar_f32(q.input_scale);
    let xz = Tensor::u8(vec![], vec![q.input_zero_point])?;
    let ys = Tensor::scalar_f32(q.output_scale);
    let yz = Tensor::u8(vec![], vec![q.output_zero_point])?;
    let x_shape = [d.batch, d.height, d.width, d.in_channels];
    let in_len = elements(&x_shape, "input")?;
    let c = PlanInput::Constant;
    let mut inputs = vec![
        PlanInput::Runtime {
            dtype: DataType::U8,
            shape: &x_shape,
        },
        c(&xs),
        c(&xz),
        c(&wt),
        c(&ws),
        c(&wz),
        c(&ys),
        c(&yz),
    ];
    if let Some(b) = &bt {
        inputs.push(c(b));
    }
    let plan = ops::conv::plan_conv_q8(
        &conv_node("QLinearConv", d)?,
        &inputs,
        &options(threads, ops::Layout::Nhwc),
        activation(d)?,
    )?;
    let out_shape = plan.output_shape();
    Ok(EkQConv {
        plan,
        in_shape: x_shape,
        lens: RunLens { in_len, out_shape },
    })
}

/// The output shape (NHWC: batch, out height, out width, out channels) into `shape[0..4]`.
///
/// # Safety
/// `conv` is a live handle; `shape` valid for 4 writes.
#[no_mangle]
pub unsafe extern "C" fn ek_qconv_u8s8_output_shape(
    conv: *const EkQConv,
    shape: *mut usize,
) -> EkStatus {
    guard("ek_qconv_u8s8_output_shape", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        unsafe {
            let c = error::handle(conv, "conv")?;
            write_shape(&c.lens.out_shape, shape)
        }
    })
}

/// # Safety
/// `shape` valid for 4 writes.
unsafe fn write_shape(s: &[usize], shape: *mut usize) -> Result<()> {
    // SAFETY: caller's contract; checked for null and alignment.
    let out = unsafe { error::slice_mut(shape, 4, "shape")? };
    if s.len() != 4 {
        return Err(Error::invalid(format!("output rank {} (want 4)", s.len())));
    }
    out.copy_from_slice(s);
    Ok(())
}

/// Runs the convolution: `x` NHWC u8 of the created shape (`x_len` = batch × height × width ×
/// in_channels) into `y` NHWC u8 (`y_len` = the output shape's product). No allocation unless
/// the padding exceeds the kernel extent.
///
/// # Safety
/// `conv` is a live handle; `x` valid for `x_len` reads; `y` valid for `y_len` writes, not
/// overlapping `x`.
#[no_mangle]
pub unsafe extern "C" fn ek_qconv_u8s8_run(
    conv: *const EkQConv,
    x: *const u8,
    x_len: usize,
    y: *mut u8,
    y_len: usize,
) -> EkStatus {
    guard("ek_qconv_u8s8_run", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (c, xv, yv) = unsafe {
            (
                error::handle(conv, "conv")?,
                error::slice(x, x_len, "x")?,
                error::slice_mut(y, y_len, "y")?,
            )
        };
        c.lens.check(x_len, y_len)?;
        match c.plan.run_nhwc_u8_into(xv, yv) {
            Ok(()) => Ok(()),
            // Pads wider than the kernel: the general path (pads a copy of the input).
            Err(ops::OpsError::Unsupported(_)) => {
                let xt = Tensor::u8(c.in_shape.to_vec(), xv.to_vec())?;
                let out = c.plan.run(&[Some(&xt)])?;
                match out.first().map(Tensor::data) {
                    Some(ops::TensorData::U8(v)) if v.len() == yv.len() => {
                        yv.copy_from_slice(v);
                        Ok(())
                    }
                    _ => Err(Error {
                        status: EkStatus::Internal,
                        message: "the general path returned an unexpected output".into(),
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Writes the algorithm and kernel the convolution runs into `buf` (see `ek_plan_describe`).
///
/// # Safety
/// `conv` is NULL or live; `buf` is NULL or valid for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn ek_qconv_u8s8_describe(
    conv: *const EkQConv,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: caller's contract for `conv` and `buf`.
    unsafe {
        error::describe(
            "ek_qconv_u8s8_describe",
            conv,
            "conv",
            |h| h.plan.describe(),
            buf,
            len,
        )
    }
}

/// Releases a quantized convolution (NULL is ignored).
///
/// # Safety
/// `conv` is NULL or a live handle not in use; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_qconv_u8s8_destroy(conv: *mut EkQConv) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_qconv_u8s8_destroy", conv) }
}

/// Creates an fp32 convolution: `layout` an `EkLayout` value for the activations (weights
/// are OIHW, `weights_len` elements), optional bias (`bias` NULL or `bias_len ==
/// out_channels`), fused activation from `desc`. The algorithm (depthwise, Winograd, FFT,
/// im2col + GEMM) is chosen from the shape and the CPU. On failure `*conv` is NULL.
///
/// # Safety
/// `desc` valid; `weights` valid for `weights_len` reads; `bias` NULL or valid for `bias_len`
/// reads; `conv` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ek_conv_f32_create(
    desc: *const EkConvDesc,
    layout_code: i32,
    weights: *const f32,
    weights_len: usize,
    bias: *const f32,
    bias_len: usize,
    threads: usize,
    conv: *mut *mut EkConvF32,
) -> EkStatus {
    guard("ek_conv_f32_create", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let d = unsafe {
            error::write_out(conv, std::ptr::null_mut(), "conv")?;
            error::handle(desc, "desc")?
        };
        let lay = layout(layout_code)?;
        // SAFETY: caller's contract for `weights` and `bias`.
        let (wt, bt) = unsafe {
            weights_and_bias(
                d,
                weights,
                weights_len,
                bias,
                bias_len,
                Tensor::f32,
                Tensor::f32,
            )?
        };
        let x_shape = match lay {
            ops::Layout::Nhwc => [d.batch, d.height, d.width, d.in_channels],
            _ => [d.batch, d.in_channels, d.height, d.width],
        };
        let in_len = elements(&x_shape, "input")?;
        let mut inputs = vec![
            PlanInput::Runtime {
                dtype: DataType::F32,
                shape: &x_shape,
            },
            PlanInput::Constant(&wt),
        ];
        if let Some(b) = &bt {
            inputs.push(PlanInput::Constant(b));
        }
        let plan = ops::conv::plan_conv_f32(
            &conv_node("Conv", d)?,
            &inputs,
            &options(threads, lay),
            activation(d)?,
        )?;
        let out_shape = plan.output_shape();
        let h = EkConvF32 {
            plan,
            lens: RunLens { in_len, out_shape },
        };
        // SAFETY: checked valid above.
        unsafe { conv.write(Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// The output shape in the plan's layout (NCHW or NHWC) into `shape[0..4]`.
///
/// # Safety
/// `conv` is a live handle; `shape` valid for 4 writes.
#[no_mangle]
pub unsafe extern "C" fn ek_conv_f32_output_shape(
    conv: *const EkConvF32,
    shape: *mut usize,
) -> EkStatus {
    guard("ek_conv_f32_output_shape", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        unsafe {
            let c = error::handle(conv, "conv")?;
            write_shape(&c.lens.out_shape, shape)
        }
    })
}

/// Runs the convolution on `x` (the created shape and layout, `x_len` elements) into `y`
/// (`y_len` = the output shape's product).
///
/// # Safety
/// `conv` is a live handle; `x` valid for `x_len` reads; `y` valid for `y_len` writes, not
/// overlapping `x`.
#[no_mangle]
pub unsafe extern "C" fn ek_conv_f32_run(
    conv: *const EkConvF32,
    x: *const f32,
    x_len: usize,
    y: *mut f32,
    y_len: usize,
) -> EkStatus {
    guard("ek_conv_f32_run", || {
        // SAFETY: caller's contract; the helpers check null, alignment and sizes.
        let (c, xv, yv) = unsafe {
            (
                error::handle(conv, "conv")?,
                error::slice(x, x_len, "x")?,
                error::slice_mut(y, y_len, "y")?,
            )
        };
        c.lens.check(x_len, y_len)?;
        Ok(c.plan.run_into(xv, yv)?)
    })
}

/// Writes the algorithm and kernel the convolution runs into `buf` (see `ek_plan_describe`).
///
/// # Safety
/// `conv` is NULL or live; `buf` is NULL or valid for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn ek_conv_f32_describe(
    conv: *const EkConvF32,
    buf: *mut c_char,
    len: usize,
) -> usize {
    // SAFETY: caller's contract for `conv` and `buf`.
    unsafe {
        error::describe(
            "ek_conv_f32_describe",
            conv,
            "conv",
            |h| h.plan.describe(),
            buf,
            len,
        )
    }
}

/// Releases an fp32 convolution (NULL is ignored).
///
/// # Safety
/// `conv` is NULL or a live handle not in use; invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn ek_conv_f32_destroy(conv: *mut EkConvF32) {
    // SAFETY: caller's contract (a live handle from the create function, or NULL).
    unsafe { error::destroy("ek_conv_f32_destroy", conv) }
}
