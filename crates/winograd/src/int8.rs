//! Exact int8 Winograd F(2x2,3x3) over NHWC tensors.
//!
//! A 3x3, stride-1 convolution of 8-bit activations and weights whose i32 accumulators are
//! **bit-for-bit equal** to direct convolution, with 16 multiplies per 2x2 output tile and
//! channel pair instead of 36 (2.25x fewer).
//!
//! # The transforms
//!
//! F(2,3) computes two outputs of a 3-tap correlation from four inputs as
//! `y = Aᵀ[(G g) ⊙ (Bᵀ d)]`; in 2-D, `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A` for a 4x4 input tile `d`
//! and a 3x3 kernel `g`. With the points 0, ±1, ∞:
//!
//! ```text
//!       ⎡1  0 -1  0⎤           ⎡2  0  0⎤
//! Bᵀ =  ⎢0  1  1  0⎥    2G =   ⎢1  1  1⎥    Aᵀ = ⎡1  1  1  0⎤
//!       ⎢0 -1  1  0⎥           ⎢1 -1  1⎥         ⎣0  1 -1 -1⎦
//!       ⎣0  1  0 -1⎦           ⎣0  0  2⎦
//! ```
//!
//! (`crate::f2x3::{BT, G2, AT}`). G itself has entries ½, so this path uses `2G`, which is
//! integral; then `U = (2G) g (2G)ᵀ = 4·G g Gᵀ` and
//!
//! `4·Y = Aᵀ [U ⊙ V] A`, with `V = Bᵀ d B`,
//!
//! an identity between integer matrices. Summed over input channels (the "tuple GEMM": for
//! each of the 16 points, `M[tiles × Cout] = V[tiles × Cin] · U[Cin × Cout]`), it gives 4 times
//! the direct convolution; dividing by 4 is exact.
//!
//! # Why it is exact in 16/32-bit integers
//!
//! * `d = x − zx` (activation minus its zero point; padding reads the zero point, so d = 0)
//!   lies in [−255, 255]. Each row of Bᵀ has two entries ±1, so |V| ≤ 4·255 = 1020: **i16**.
//! * `g = w − zw` lies in [−255, 255]; the rows of 2G have absolute sums 2, 3, 3, 2, so
//!   |U| ≤ 3·3·255 = 2295: **i16**, computed once when the plan is built.
//! * Each product `U·V` (≤ 2 340 900 in magnitude) is exact in i32 (`vpmaddwd`, `vpdpwssd`,
//!   `smlal`). Everything after that is additions, subtractions and multiplications by
//!   constants, done in **wrapping** i32 arithmetic, i.e. in the ring ℤ/2³². So the computed
//!   i32 equals the true integer `4·Y` modulo 2³², whatever the intermediate values; if the true
//!   `4·Y` lies in i32's range, the computed value *is* `4·Y`. It is a multiple of 4, so an
//!   arithmetic shift by 2 gives `Y` exactly, and `Y + bias` is exact if it fits too.
//!
//! # The overflow bound (checked at plan time)
//!
//! For output channel `o`, with `A = max(qmax − zx, zx − qmin)` the largest |x − zx| of the
//! activation type and `S_o = Σ_{ky,kx,c} |w − zw_o|` over its actual weights,
//!
//! `|4·Y_o| ≤ 4·A·S_o ≤ 2³¹ − 1`  and  `A·S_o + |bias_o| ≤ 2³¹ − 1`
//!
//! are required, and [`WinogradInt8::new`] returns [`Int8Error::Overflow`] otherwise (the
//! caller falls back to direct convolution, whose own bound is the second inequality alone,
//! 4x looser). Both are attained (activations at ±A with the signs of the weights), so the
//! check is tight. With every |w − zw| = 255 and A = 255 (e.g. u8 with zero points 0) it
//! allows `4·255·255·9·C ≤ 2³¹ − 1`, i.e. **C ≤ 917** input channels; the tests run C = 917
//! at those extremes and see C = 918 refused.
//!
//! # Operands and outputs
//!
//! Every operand combination of `qgemm`/`qconv-direct`: u8 × u8 with zero points, s8 × s8
//! (symmetric or with zero points, per-channel weight zero points), u8 × s8, s8 × u8. Outputs:
//! requantized u8/i8 with any `quant-params` scheme (one requantizer or one per channel, with
//! its clamp), or the raw i32 accumulators (bias applied).
//!
//! # Computation and kernels
//!
//! A plan ([`WinogradInt8::new`]) checks the bound and transforms the kernel once into
//! `U[16 points][Cout blocks of NR][Cin/2][NR][2]` (i16, `c2` pairs, zero padded). A run
//! ([`WinogradInt8::run`]) splits the `batch × ⌈OH/2⌉ × ⌈OW/2⌉` tiles into blocks of 32 (the
//! unit of parallelism, [`cpu_probe::parallel::Parallel`]); per block, on one thread:
//!
//! 1. input transform: gather each 4x4 tile (zero-point rows for padding), `d = x − zx`,
//!    `V = Bᵀ d B` into `V[16][tiles][Cin]` (i16);
//! 2. 16 GEMMs `M_p[tiles × Cout] = V_p · U_p` (i16 × i16 → wrapping i32), micro-kernels
//!    (table [`WGEMM`]): `wgemm_4x8c2__scalar`, `wgemm_4x16c2__avx2` (`vpmaddwd` + `vpaddd`),
//!    `wgemm_8x32c2__avx512` (the same on zmm), `wgemm_8x32c2__avx512vnni` (`vpdpwssd`),
//!    `wgemm_8x8c2__neon` (`smlal`/`smlal2` by lane, `vld2q_s16` for the pairs);
//! 3. output transform `4Y = Aᵀ M A` in wrapping i32, `>> 2` (exact; asserted in debug
//!    builds), `+ bias`, then the output stage: raw i32 or `quant-params` requantization (per
//!    tensor through a [`quant_params::RequantPlan`], or per channel) and NHWC stores.
//!
//! [`WinogradInt8::run_profiled`] times the three phases ([`Int8Profile`]).
//!
//! # Limits and hostile arguments
//!
//! `cin`, `cout` and each padding (plan time), `batch`, the input height and width and the
//! input pixel stride (run time) are at most [`crate::MAX_DIM`] = `u32::MAX`. Every size,
//! offset and buffer length derived from them is computed with checked arithmetic before
//! anything is allocated or written (release builds have no overflow checks), and the output
//! buffer must have exactly `batch × OH × OW × cout` elements of the stage's type; anything else
//! is an [`Int8Error`] naming the argument and the values. The packed kernel and the per-thread
//! scratch are allocated fallibly ([`Int8Error::Allocation`]).
//!
//! Arithmetic per 2x2 output tile and (input, output) channel pair: 16 multiply-accumulates
//! against 36 for direct convolution (2.25x fewer), but on 16-bit operands, so SIMD lanes hold
//! half as many as 8-bit dot products (`vpdpbusd`, `sdot`) do. Where the direct kernel has
//! only 16-bit multiplies (NEON without dot product, x86 AVX2 `vpmaddubsw` chains), Winograd
//! wins; against 8-bit dot-product instructions (AVX-512 VNNI, NEON dotprod) it is close to
//! break-even. `benches/winograd_int8.rs` has the measurements.
//!
//! # Example
//!
//! ```
//! use winograd::int8::{Conv2dDesc, Input8, Int8Config, Output8, OutputStage, Padding, WinogradInt8};
//! use quant_params::{QType, RequantScheme, Requantizer};
//!
//! // 3x3 conv, 2 -> 1 channels, padding 1, u8 activations (zero point 128) x s8 weights.
//! let weights = vec![1i8; 9 * 2]; // OHWI
//! let plan = WinogradInt8::new(Int8Config {
//!     desc: Conv2dDesc::square(3, 1, Padding::uniform(1), 1, 2, 1),
//!     input_type: QType::U8,
//!     input_zero_point: 128,
//!     weights: Input8::I8(&weights),
//!     weight_zero_points: &[0],
//!     bias: Some(&[10]),
//!     output: OutputStage::RawI32,
//!     kernels: None,
//! })?;
//! let input = vec![130u8; 4 * 4 * 2]; // 4x4 image, every value +2 from the zero point
//! let mut acc = vec![0i32; 4 * 4];
//! plan.run(Input8::U8(&input), 1, 4, 4, 2, Output8::I32(&mut acc), &cpu_probe::parallel::Parallel::single())?;
//! // Interior pixels: 9 taps x 2 channels x (+2) + bias 10 = 46; corners see 4 taps: 26.
//! assert_eq!((acc[5], acc[0]), (46, 26));
//!
//! // The same with a requantized u8 output.
//! let requant = Requantizer::new(RequantScheme::Fp32, 0.25, 128, QType::U8)?;
//! let plan = WinogradInt8::new(Int8Config {
//!     desc: Conv2dDesc::square(3, 1, Padding::SameUpper, 1, 2, 1),
//!     input_type: QType::U8, input_zero_point: 128,
//!     weights: Input8::I8(&weights), weight_zero_points: &[0], bias: None,
//!     output: OutputStage::PerTensor(requant), kernels: None,
//! })?;
//! let mut out = vec![0u8; 4 * 4];
//! plan.run(Input8::U8(&input), 1, 4, 4, 2, Output8::U8(&mut out), &cpu_probe::parallel::Parallel::single())?;
//! assert_eq!(out[5], 128 + 9); // 36 x 0.25
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod driver;
pub mod transform;
pub mod ukernel;

use aligned_vec::{AVec, ConstAlign};

use cpu_probe::Entry;
pub use qconv_direct::{Conv2dDesc, Padding};
pub use quant_params::int8::{Input8, Output8, OutputStage};
use quant_params::{QType, StagePlan};

use std::fmt;

use std::time::{Duration, Instant};
pub use ukernel::{Kernels, WGEMM};

/// Everything a plan needs.
#[derive(Clone, Debug)]
pub struct Int8Config<'a> {
    /// The convolution, described as for `qconv-direct` (one geometry type for the int8
    /// convolutions): a 3x3 kernel, stride 1, dilation 1 and one group, so
    /// `cin_per_group`/`cout_per_group` are the channel counts; padded taps read the input zero
    /// point (`SameUpper`/`SameLower` pad one pixel on every side).
    pub desc: Conv2dDesc,
    /// Activation type.
    pub input_type: QType,
    /// Activation zero point.
    pub input_zero_point: i32,
    /// Weights, OHWI: `cout × 3 × 3 × cin`.
    pub weights: Input8<'a>,
    /// Weight zero points: one (per tensor) or one per output channel.
    pub weight_zero_points: &'a [i32],
    /// Optional i32 bias per output channel.
    pub bias: Option<&'a [i32]>,
    /// Output stage.
    pub output: OutputStage,
    /// Force a table entry, e.g. `WGEMM.by_name("wgemm_4x16c2__avx2")?` (`None`:
    /// `WGEMM.best()`).
    pub kernels: Option<&'static Entry<Kernels>>,
}

/// The input and output channels and the explicit padding of `d`, which must describe what
/// this path computes (a 3x3 kernel, stride 1, dilation 1, one group).
fn geometry(d: &Conv2dDesc) -> Result<(usize, usize, [usize; 4]), Int8Error> {
    if d.kernel != [3, 3] || d.stride != [1, 1] || d.dilation != [1, 1] || d.groups != 1 {
        return Err(Int8Error::Geometry(format!(
            "the int8 Winograd path computes 3x3 kernels with stride 1, dilation 1 and one \
             group; got kernel {:?}, stride {:?}, dilation {:?} and {} groups",
            d.kernel, d.stride, d.dilation, d.groups
        )));
    }
    let padding = match d.padding {
        Padding::Explicit(p) => p,
        // Stride 1: ceil(in / 1) outputs need 3 − 1 = 2 padded taps per side pair, split
        // evenly (SAME_UPPER and SAME_LOWER differ only for odd totals).
        Padding::SameUpper | Padding::SameLower => [1; 4],
    };
    Ok((d.cin_per_group, d.cout_per_group, padding))
}

/// Errors of the int8 path; each message names the argument and the values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Int8Error {
    /// Impossible geometry.
    Geometry(String),
    /// A buffer of the wrong length or type.
    Buffer(String),
    /// Bad quantization parameters.
    Quant(String),
    /// The i32 result could overflow for these weights and zero points: use direct convolution.
    Overflow(String),
    /// The requested table entry cannot run here.
    Variant(String),
    /// A buffer whose size follows from the arguments (packed kernel, scratch) cannot be
    /// allocated.
    Allocation(String),
}

impl fmt::Display for Int8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int8Error::Geometry(m) => write!(f, "winograd int8 geometry: {m}"),
            Int8Error::Buffer(m) => write!(f, "buffer: {m}"),
            Int8Error::Quant(m) => write!(f, "quantization: {m}"),
            Int8Error::Overflow(m) => write!(f, "accumulator overflow risk: {m}"),
            Int8Error::Variant(m) => write!(f, "variant: {m}"),
            Int8Error::Allocation(m) => write!(f, "allocation: {m}"),
        }
    }
}

impl std::error::Error for Int8Error {}

impl From<quant_params::QuantError> for Int8Error {
    fn from(e: quant_params::QuantError) -> Self {
        Int8Error::Quant(e.to_string())
    }
}

/// The largest |x − zx| of activations of type `t` with zero point `zx` (computed in i64, so
/// any `zx` gives the exact value).
pub fn activation_magnitude(t: QType, zx: i32) -> i64 {
    let (zx, lo, hi) = (i64::from(zx), i64::from(t.min()), i64::from(t.max()));
    (hi - zx).max(zx - lo)
}

/// The plan-time exactness check for one output channel (see the module docs): `4·A·S ≤ 2³¹−1`
/// and `A·S + |bias| ≤ 2³¹−1` with `A` = [`activation_magnitude`] and `S = Σ|w − zw|`.
/// Negative `a_max` or `sum_abs_w` and products that overflow i64 are refused too.
pub fn check_channel(a_max: i64, sum_abs_w: i64, bias: i32) -> Result<(), String> {
    let lim = i64::from(i32::MAX);
    if a_max < 0 || sum_abs_w < 0 {
        return Err(format!(
            "max|x−zx| = {a_max} and Σ|w−zw| = {sum_abs_w} must be non-negative"
        ));
    }
    let four_y = a_max.checked_mul(sum_abs_w).and_then(|x| x.checked_mul(4));
    let Some(four_y) = four_y.filter(|&v| v <= lim) else {
        return Err(format!(
            "4·max|x−zx|·Σ|w−zw| = 4·{a_max}·{sum_abs_w} = {} > 2^31−1: the Winograd value 4·y could leave i32 (direct convolution can still do it)",
            four_y.map_or("more than 2^63".to_string(), |v| v.to_string())
        ));
    };
    // 4·A·S ≤ 2^31 − 1, so A·S and the sum below fit i64.
    let y = four_y / 4 + i64::from(bias).abs();
    if y > lim {
        return Err(format!(
            "max|x−zx|·Σ|w−zw| + |bias| = {a_max}·{sum_abs_w} + {} = {y} > 2^31−1",
            i64::from(bias).abs()
        ));
    }
    Ok(())
}

/// Time per phase of one [`WinogradInt8::run_profiled`] call (NNPACK-style profile).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Int8Profile {
    /// Kernel transform (done once, when the plan was built; reported for reference).
    pub kernel_transform: Duration,
    /// Input transform: gather 4x4 tiles, subtract the zero point, `Bᵀ d B` to i16.
    pub input_transform: Duration,
    /// The 16 i16 × i16 → i32 GEMMs.
    pub multiply: Duration,
    /// Output transform, exact /4, bias, requantization and stores.
    pub output_transform: Duration,
}

/// A planned exact int8 F(2x2,3x3) convolution: kernel transformed once, reusable across calls
/// and threads.
pub struct WinogradInt8 {
    cin: usize,
    cout: usize,
    pad: [usize; 4],
    input_type: QType,
    xor: u8,
    za: i16,
    entry: &'static Entry<Kernels>,
    kp: usize,
    blocks: usize,
    tiles_per_block: usize,
    /// Scratch geometry (see `block`), computed with checked arithmetic at plan time: point
    /// stride of V, tile stride of M, and the lengths of V, M and y.
    vps: usize,
    mts: usize,
    v_len: usize,
    m_len: usize,
    y_len: usize,
    u: AVec<i16, ConstAlign<64>>,
    bias: Vec<i32>,
    stage: StagePlan,
    zero_row: Vec<u8>,
    kernel_transform_time: Duration,
}

impl fmt::Debug for WinogradInt8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinogradInt8")
            .field("cin", &self.cin)
            .field("cout", &self.cout)
            .field("pad", &self.pad)
            .field("kernels", &self.entry.name)
            .finish()
    }
}

/// `value <= MAX_DIM`, else a geometry error naming `argument`.
// On 32-bit targets MAX_DIM is usize::MAX and the check never fails (clippy's
// absurd_extreme_comparisons); on 64-bit it bounds the value.
#[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
fn check_dim(argument: &str, value: usize) -> Result<(), Int8Error> {
    if value > crate::MAX_DIM {
        return Err(Int8Error::Geometry(format!(
            "{argument} = {value} exceeds the limit {} (u32::MAX)",
            crate::MAX_DIM
        )));
    }
    Ok(())
}

/// `a · b`, or an error naming `what` and the operands.
fn mul(a: usize, b: usize, what: &str) -> Result<usize, Int8Error> {
    a.checked_mul(b)
        .ok_or_else(|| Int8Error::Geometry(format!("{what} overflows usize ({a} x {b})")))
}

/// `a + b`, or an error naming `what` and the operands.
fn add(a: usize, b: usize, what: &str) -> Result<usize, Int8Error> {
    a.checked_add(b)
        .ok_or_else(|| Int8Error::Geometry(format!("{what} overflows usize ({a} + {b})")))
}

impl WinogradInt8 {
    /// Validates, checks the exactness bound (module docs) and transforms the kernel.
    ///
    /// `cin`, `cout` and each padding are at most [`crate::MAX_DIM`] (`u32::MAX`).
    pub fn new(cfg: Int8Config<'_>) -> Result<WinogradInt8, Int8Error> {
        let (cin, cout, padding) = geometry(&cfg.desc)?;
        if cin == 0 || cout == 0 {
            return Err(Int8Error::Geometry(format!(
                "input channels ({cin}) and output channels ({cout}) must be >= 1"
            )));
        }
        check_dim("cin", cin)?;
        check_dim("cout", cout)?;
        for (p, side) in padding.iter().zip(["top", "left", "bottom", "right"]) {
            check_dim(&format!("padding {side}"), *p)?;
        }
        let wlen = mul(
            mul(cout, 9, "weights length cout x 9")?,
            cin,
            "weights length cout x 9 x cin",
        )?;
        if cfg.weights.len() != wlen {
            return Err(Int8Error::Buffer(format!(
                "weights have {} elements but OHWI {cout}x3x3x{cin} needs {wlen}",
                cfg.weights.len()
            )));
        }
        cfg.input_type
            .check_zero_point("input zero point", cfg.input_zero_point)?;
        let wtype = cfg.weights.qtype();
        let zw: Vec<i32> = match cfg.weight_zero_points.len() {
            1 => vec![cfg.weight_zero_points[0]; cout],
            n if n == cout => cfg.weight_zero_points.to_vec(),
            n => {
                return Err(Int8Error::Quant(format!(
                    "{n} weight zero points given; need 1 or one per output channel ({cout})"
                )))
            }
        };
        for (c, &z) in zw.iter().enumerate() {
            wtype.check_zero_point(&format!("weight zero point of channel {c}"), z)?;
        }
        let bias: Vec<i32> = match cfg.bias {
            None => vec![0; cout],
            Some(b) if b.len() == cout => b.to_vec(),
            Some(b) => {
                return Err(Int8Error::Buffer(format!(
                    "bias has {} elements but there are {cout} output channels",
                    b.len()
                )))
            }
        };
        let a_max = activation_magnitude(cfg.input_type, cfg.input_zero_point);
        let g = |o: usize, ky: usize, kx: usize, c: usize| {
            cfg.weights.get(((o * 3 + ky) * 3 + kx) * cin + c) - zw[o]
        };
        for o in 0..cout {
            let s: i64 = (0..9 * cin)
                .map(|i| i64::from((cfg.weights.get(o * 9 * cin + i) - zw[o]).abs()))
                .sum();
            check_channel(a_max, s, bias[o])
                .map_err(|m| Int8Error::Overflow(format!("output channel {o} (C = {cin}): {m}")))?;
        }
        let entry = WGEMM
            .verify(cfg.kernels.unwrap_or_else(|| WGEMM.best()))
            .map_err(|e| {
                let names: Vec<_> = WGEMM.available().iter().map(|e| e.name).collect();
                Int8Error::Variant(format!("{e} (available: {names:?})"))
            })?;
        let kernel = &entry.kernels;
        // cin <= u32::MAX: no overflow on 64-bit targets; checked for 32-bit ones.
        let kp = cin
            .checked_next_multiple_of(4)
            .ok_or_else(|| Int8Error::Geometry(format!("cin = {cin} rounded up to 4 overflows")))?;
        let blocks = cout.div_ceil(kernel.nr);
        let started = Instant::now();
        let u = transform::pack_kernel(g, cin, cout, kp, kernel.nr)?;
        let kernel_transform_time = started.elapsed();
        // Tiles per block: 32 (a multiple of MR), fewer when the block's V would pass 128 KiB.
        let cap = (128 * 1024 / mul(32, kp, "V row bytes")?).max(kernel.mr);
        let tiles_per_block = (32.min(cap) / kernel.mr).max(1) * kernel.mr;
        // Scratch geometry of `block` (tiles_per_block <= 32).
        let coutp = mul(blocks, kernel.nr, "padded output channels")?;
        let vps = add(
            mul(tiles_per_block, kp, "V point stride")?,
            32,
            "V point stride",
        )?;
        let mts = add(mul(16, coutp, "M tile stride")?, 16, "M tile stride")?;
        let v_len = mul(16, vps, "V scratch length")?;
        let m_len = mul(tiles_per_block, mts, "M scratch length")?;
        let y_len = mul(4, cout, "y scratch length")?;
        let stage = cfg.output.plan(cout)?;
        // Activations in the u8 domain: a = (byte ^ xor) − za.
        let (xor, za) = match cfg.input_type {
            QType::U8 => (0u8, cfg.input_zero_point),
            QType::I8 => (0x80u8, cfg.input_zero_point + 128),
        };
        let zero_byte = cfg.input_zero_point as u8; // i8 zero points: the same byte
        Ok(WinogradInt8 {
            cin,
            cout,
            pad: padding,
            input_type: cfg.input_type,
            xor,
            za: za as i16,
            entry,
            kp,
            blocks,
            tiles_per_block,
            vps,
            mts,
            v_len,
            m_len,
            y_len,
            u,
            bias,
            stage,
            zero_row: vec![zero_byte; cin],
            kernel_transform_time,
        })
    }

    /// The table entry this plan runs (its `name` is the GEMM micro-kernel's function name).
    pub fn kernels(&self) -> &'static Entry<Kernels> {
        self.entry
    }

    /// The name of the table entry in use (= its GEMM function), e.g. `wgemm_8x32c2__avx512vnni`.
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// Output height and width for an `in_h × in_w` input (each at most [`crate::MAX_DIM`]).
    pub fn output_size(&self, in_h: usize, in_w: usize) -> Result<(usize, usize), Int8Error> {
        check_dim("input height", in_h)?;
        check_dim("input width", in_w)?;
        let padded = |x: usize, a: usize, b: usize, what: &str| {
            x.checked_add(a)
                .and_then(|v| v.checked_add(b))
                .ok_or_else(|| {
                    Int8Error::Geometry(format!(
                        "padded {what} {x} + {a} + {b} overflows usize (padding {:?})",
                        self.pad
                    ))
                })
        };
        let h = padded(in_h, self.pad[0], self.pad[2], "height")?;
        let w = padded(in_w, self.pad[1], self.pad[3], "width")?;
        if h < 3 || w < 3 {
            return Err(Int8Error::Geometry(format!(
                "input {in_h}x{in_w} with padding {:?} is smaller than the 3x3 kernel",
                self.pad
            )));
        }
        Ok((h - 2, w - 2))
    }

    /// Time spent transforming the kernel when the plan was built.
    pub fn kernel_transform_time(&self) -> Duration {
        self.kernel_transform_time
    }
}
