//! # winograd
//!
//! Winograd convolution for 3x3 stride-1 layers: fp32 F(6x6,3x3), F(4x4,3x3), F(2x2,3x3) over
//! NCHW tensors (NNPACK's layout), and an exact int8 F(2x2,3x3) ([`int8`]).
//!
//! ## The fp32 algorithm
//!
//! A tile `F(m×m, 3×3)` computes an `m×m` block of outputs from an `α×α` input tile, `α = m + 2`,
//! with `α²` multiplications instead of `9m²`:
//!
//! ```text
//! Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! Summed over input channels, the element-wise product becomes, for each of the `α²` points, a
//! matrix product ("tuple GEMM"): `M_p[k][t] = Σ_c U_p[k][c] · V_p[c][t]` with `U = G g Gᵀ` (the
//! kernel transform, computed once per plan in f64 and cached), `V = Bᵀ d B` (the input transform,
//! per tile) and the output transform `Aᵀ M A` (plus bias and clamp/ReLU) per tile.
//!
//! The matrices (tables in [`transforms`], checked against their Toom-Cook definition and the
//! 1-D identity `y[i] = Σ_j g[j]·d[i+j]` in the tests):
//!
//! F(2x2,3x3), points 0, 1, −1, ∞:
//! ```text
//! Bᵀ = [ 1  0 −1  0 ]    G = [ 1    0    0  ]    Aᵀ = [ 1  1  1  0 ]
//!      [ 0  1  1  0 ]        [ 1/2  1/2 1/2 ]         [ 0  1 −1  1 ]
//!      [ 0 −1  1  0 ]        [ 1/2 −1/2 1/2 ]
//!      [ 0 −1  0  1 ]        [ 0    0    1  ]
//! ```
//! F(4x4,3x3), points 0, 1, −1, 2, −2, ∞:
//! ```text
//! Bᵀ = [ 4  0 −5  0  1  0 ]    G = [  1/4     0     0  ]    Aᵀ = [ 1  1  1  1  1  0 ]
//!      [ 0 −4 −4  1  1  0 ]        [ −1/6  −1/6  −1/6  ]         [ 0  1 −1  2 −2  0 ]
//!      [ 0  4 −4 −1  1  0 ]        [ −1/6   1/6  −1/6  ]         [ 0  1  1  4  4  0 ]
//!      [ 0 −2 −1  2  1  0 ]        [  1/24  1/12  1/6  ]         [ 0  1 −1  8 −8  1 ]
//!      [ 0  2 −1 −2  1  0 ]        [  1/24 −1/12  1/6  ]
//!      [ 0  4  0 −5  0  1 ]        [  0     0     1    ]
//! ```
//! F(6x6,3x3), points 0, ±1, ±2, ±1/2, ∞ (the points NNPACK uses):
//! ```text
//! Bᵀ = [ 1   0   −21/4   0     21/4   0    −1  0 ]   G = [  1      0      0    ]
//!      [ 0   1    1    −17/4 −17/4    1     1  0 ]       [ −2/9  −2/9   −2/9   ]
//!      [ 0  −1    1     17/4 −17/4   −1     1  0 ]       [ −2/9   2/9   −2/9   ]
//!      [ 0  1/2  1/4   −5/2  −5/4     2     1  0 ]       [  1/90  1/45   2/45  ]
//!      [ 0 −1/2  1/4    5/2  −5/4    −2     1  0 ]       [  1/90 −1/45   2/45  ]
//!      [ 0   2    4    −5/2  −5      1/2    1  0 ]       [ 32/45 16/45   8/45  ]
//!      [ 0  −2    4     5/2  −5     −1/2    1  0 ]       [ 32/45 −16/45  8/45  ]
//!      [ 0  −1    0     21/4   0   −21/4    0  1 ]       [  0      0      1    ]
//!
//! Aᵀ = [ 1  1  1  1   1   1     1     0 ]
//!      [ 0  1 −1  2  −2   1/2  −1/2   0 ]
//!      [ 0  1  1  4   4   1/4   1/4   0 ]
//!      [ 0  1 −1  8  −8   1/8  −1/8   0 ]
//!      [ 0  1  1 16  16   1/16  1/16  0 ]
//!      [ 0  1 −1 32 −32   1/32 −1/32  1 ]
//! ```
//! The run-time transforms are factored forms of `Bᵀ` and `Aᵀ` (shared sub-expressions, e.g.
//! rows 1/2 of F(6) `Bᵀ` are `e ± o` with `e = x2 + x6 − 4.25·x4`, `o = x1 + x5 − 4.25·x3`).
//!
//! ## Layout and schedule
//!
//! Tiles are numbered over the whole batch (image, tile row, tile column) and handled 16 at a
//! time: every transform works on vectors of 16 tiles, so the transformed data need no transpose.
//! A run goes over chunks of tiles sized for the L2 cache; per chunk:
//!
//! 1. input transform, parallel over (group of up to 32 channels, 16-tile block):
//!    `V[p][tb][c][16]`;
//! 2. tuple GEMM, parallel over (point, block of 6 output channels): `M[p][tb][k][16] =
//!    Σ_c U[p][kb][c][6] · V[p][tb][c][16]`, blocked over `c` for L1, with a register-blocked
//!    micro-kernel (AVX-512: 6 output channels × 32 tiles in 12 zmm accumulators, and 6 × 8
//!    tiles on ymm for a last block of at most 8 tiles);
//! 3. output transform with bias and clamp, parallel over (group of up to 8 output channels,
//!    16-tile block), written straight into the NCHW output.
//!
//! The point stride of `V` and `M` is an odd number of cache lines, so that the α² points a
//! transform writes or reads do not all fall into one L1 set.
//!
//! The tile moves between NCHW images and the 16-lane layout: the AVX-512 entry reads each
//! tile row with a masked ymm load (the mask keeps the columns inside the image, rows outside
//! get an empty mask: no padded copies), pairs tiles `l` and `l + 8` in one zmm and transposes
//! 8x8 inside both 256-bit halves at once; the output goes back the same way with masked
//! stores. AVX2 uses 8x8 ymm transposes (tiles crossing the image border are first copied into
//! a zero-padded 8x8 buffer), the others element moves. The AVX-512 entry computes the
//! transforms on zmm registers and uses a 6x32 GEMM micro-kernel; AVX2 uses 6x16; NEON 6x16 in
//! 24 q registers.
//!
//! [`Tile::Auto`] picks the tile with the lowest estimated cost for the hinted input size:
//! `α² · ⌈tiles/16⌉·16 · (C·K + t·(C+K))` (multiply-adds plus the transforms, whose cost per
//! point, tile and channel measured about t = 30 multiply-adds with the AVX2 tile moves on Zen 5
//! and t = 10 with the AVX-512 transforms on Zen 4). On the benchmark shapes it
//! picks F6x6 for 32 channels at 128x128 and F4x4 for 256 channels at 14x14 (F6x6 would pad
//! 14x14 up to 18x18).
//!
//! The packed kernel `U[p][kb][c][6]` is 64-byte aligned and built once; the scratch (`V`, `M`) is
//! kept in the plan and reused, so steady-state runs do not allocate (a concurrent second caller
//! of the same plan gets its own scratch).
//!
//! ## Numerics
//!
//! Accuracy against the f64 direct reference ([`mod@reference`]), with RMS the RMS of the reference
//! output, is tested to max|err| ≤ 1e-4·RMS (F6x6), 5e-5·RMS (F4x4), 2e-5·RMS (F2x2). A
//! non-finite input value spreads over the whole tile neighbourhood (as in every Winograd
//! implementation), unlike in a direct convolution; kernels and biases must be finite.
//!
//! **NaN (the project-wide rule: IEEE propagation, as ONNX Runtime and PyTorch do).** A NaN in
//! the input gives NaN at every output whose 3x3 window contains it, in every table entry (Scalar,
//! AVX2, AVX-512, NEON) and every tile, with or without a fused activation: ReLU and
//! [`Activation::Clamp`] map NaN to NaN (`clamp(NaN) = NaN`), never to a bound. (Winograd also
//! spreads it, and an infinity, as NaN to the other outputs of the tiles that read it.) The
//! clamps are written so that they keep NaN: `if v < lo { lo } else if v > hi { hi } else { v }`
//! on the portable lanes, `min_ps(hi, max_ps(lo, v))` on AVX-512 (x86 `max_ps(a, b)` returns
//! `b` when either operand is NaN, so `max_ps(v, lo)` would turn NaN into `lo`). A NaN or
//! infinite kernel or bias value is refused when the plan is built
//! ([`WinogradError::NonFinite`]); a caller that wants IEEE results for such weights uses a
//! direct convolution.
//!
//! ## Limits and hostile arguments
//!
//! Every public function checks its arguments before anything is allocated or touched, with
//! checked size arithmetic (release builds have no overflow checks), and returns an `Err` that
//! names the argument and the values instead of wrapping, panicking or aborting:
//!
//! * channel counts, each padding, the size hint (plan time) and batch, height and width (run
//!   time) are at most [`MAX_DIM`] = `u32::MAX` (as XNNPACK's `uint32_t` fields);
//! * the packed kernel and the scratch are allocated fallibly: a size that cannot be allocated
//!   is [`WinogradError::Allocation`], not an abort;
//! * buffer lengths are compared with products computed with `checked_mul`.
//!
//! The kernel and the transform building blocks in [`ukernel`] and [`transforms`] that take raw
//! pointers are `unsafe fn`s with their contracts written down; the plan
//! ([`WinogradConv`], private fields, built only by [`WinogradConv::new`]) is what meets them.
//! The AVX-512 register type behind the AVX-512 transforms is private to the crate, so safe code
//! cannot execute AVX-512 instructions on a CPU without them:
//!
//! ```compile_fail
//! # #[cfg(target_arch = "x86_64")]
//! let _ = <winograd::ukernel::x86_64::avx512::Z as winograd::transforms::Vector>::splat(1.0);
//! # #[cfg(not(target_arch = "x86_64"))]
//! # compile_error!("x86_64 only");
//! ```
//!
//! ## Example
//!
//! ```
//! use winograd::{Activation, Tile, WinogradConfig, WinogradConv};
//! use cpu_probe::parallel::Parallel;
//!
//! // 2 input channels, 3 output channels, all-ones kernel, padding 1.
//! let kernel = vec![1.0f32; 3 * 2 * 9];
//! let mut cfg = WinogradConfig::new(2, 3, &kernel);
//! cfg.padding = [1, 1, 1, 1];
//! cfg.tile = Tile::F4x4;
//! cfg.activation = Activation::Relu;
//! let plan = WinogradConv::new(cfg)?;
//! let (oh, ow) = plan.output_size(5, 5)?;
//! assert_eq!((oh, ow), (5, 5));
//! let x = vec![1.0f32; 2 * 5 * 5];
//! let mut y = vec![0.0f32; 3 * oh * ow];
//! plan.run(&x, 1, 5, 5, &mut y, &Parallel::single())?;
//! assert!((y[2 * 5 + 2] - 18.0).abs() < 1e-4); // centre: 9 taps x 2 channels
//! assert!((y[0] - 8.0).abs() < 1e-4); // corner: 4 taps inside x 2 channels
//! # Ok::<(), winograd::WinogradError>(())
//! ```

mod driver;
pub mod int8;
pub mod reference;
pub mod transforms;
pub mod ukernel;

use aligned_vec::{AVec, ConstAlign};
use cpu_probe::{DispatchError, Entry};
use driver::Scratch;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use transforms::LANES;
use ukernel::{Kernels, MR, TGEMM};

type Buf = AVec<f32, ConstAlign<64>>;

/// The largest channel count, padding, batch, height or width a plan or run accepts:
/// `u32::MAX`, as XNNPACK's `uint32_t` fields. Larger values are a [`WinogradError::Shape`].
pub const MAX_DIM: usize = u32::MAX as usize;

/// Checks `value <= MAX_DIM`; the error names `argument`.
// On 32-bit targets MAX_DIM is usize::MAX and the check never fails (clippy's
// absurd_extreme_comparisons); on 64-bit it bounds the value.
#[cfg_attr(target_pointer_width = "32", allow(clippy::absurd_extreme_comparisons))]
fn check_dim(argument: &str, value: usize) -> Result<(), WinogradError> {
    if value > MAX_DIM {
        return Err(shape_err(format!(
            "{argument} = {value} exceeds the limit {MAX_DIM} (u32::MAX)"
        )));
    }
    Ok(())
}

/// A 64-byte aligned buffer of `len` zeros, allocated fallibly: a size that cannot be allocated
/// is an error naming `what`, not an abort.
fn try_zeroed(len: usize, what: &str) -> Result<Buf, WinogradError> {
    let mut b: Buf = AVec::new(64);
    b.try_reserve_exact(len)
        .map_err(|_| alloc_err(what, len, std::mem::size_of::<f32>()))?;
    b.resize(len, 0.0);
    Ok(b)
}

/// [`cpu_probe::alloc`]'s error as [`WinogradError::Allocation`], with this crate's message.
impl From<cpu_probe::alloc::AllocError> for WinogradError {
    fn from(e: cpu_probe::alloc::AllocError) -> Self {
        alloc_err(&e.what, e.count, e.elem_bytes)
    }
}

fn alloc_err(what: &str, len: usize, elem: usize) -> WinogradError {
    WinogradError::Allocation(format!(
        "{what}: {len} elements of {elem} bytes ({} bytes) cannot be allocated",
        len.saturating_mul(elem)
    ))
}

/// Winograd tile size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tile {
    /// F(6x6,3x3): 8x8 input tiles, 64 points (0, ±1, ±2, ±1/2, ∞); 5.06x fewer multiplies.
    F6x6,
    /// F(4x4,3x3): 6x6 input tiles, 36 points (0, ±1, ±2, ∞); 4x fewer multiplies.
    F4x4,
    /// F(2x2,3x3): 4x4 input tiles, 16 points (0, ±1, ∞); 2.25x fewer multiplies.
    F2x2,
    /// Chosen at plan time by a cost model (tile waste at the borders, transform and multiply
    /// cost) for [`WinogradConfig::input_size_hint`], F6x6 without a hint.
    Auto,
}

impl Tile {
    /// Outputs per tile side, `m` (0 for `Auto`).
    pub fn m(self) -> usize {
        match self {
            Tile::F6x6 => 6,
            Tile::F4x4 => 4,
            Tile::F2x2 => 2,
            Tile::Auto => 0,
        }
    }

    /// Input tile side `α = m + 2` (0 for `Auto`).
    pub fn alpha(self) -> usize {
        match self {
            Tile::Auto => 0,
            t => t.m() + 2,
        }
    }

    /// The concrete tiles.
    pub const ALL: [Tile; 3] = [Tile::F6x6, Tile::F4x4, Tile::F2x2];

    /// Relative cost of a run of this tile on an `h×w` input (multiplies plus transform work),
    /// used by `Auto`.
    fn cost(self, c: usize, k: usize, oh: usize, ow: usize, kernels: &Kernels) -> f64 {
        let m = self.m();
        let a = self.alpha() as f64;
        // In f64: the hint is caller data, a usize product of the tile counts could overflow.
        let tiles = oh.div_ceil(m) as f64 * ow.div_ceil(m) as f64;
        let tiles = (tiles / LANES as f64).ceil() * LANES as f64;
        // Per point and 16-tile block: c·k multiply-adds in the tuple GEMM, and `tf` times that
        // unit per channel for the input and output transforms (tile moves included; measured
        // per table entry, see `Kernels::transform_cost`).
        let tf = kernels.transform_cost;
        a * a * tiles * (c as f64 * k as f64 + tf * (c + k) as f64)
    }
}

/// Fused activation applied after the bias.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[non_exhaustive]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`; NaN stays NaN.
    Relu,
    /// `min(max(x, min), max)`; NaN stays NaN (IEEE propagation, see the crate docs).
    Clamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
}

impl Activation {
    fn bounds(self) -> (f32, f32) {
        match self {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::Clamp { min, max } => (min, max),
        }
    }
}

/// Everything a [`WinogradConv`] plan needs. Build with [`WinogradConfig::new`] and set fields.
///
/// Channel counts, each padding and each hinted size are at most [`MAX_DIM`] (`u32::MAX`);
/// [`WinogradConv::new`] refuses larger values.
#[derive(Clone, Copy, Debug)]
pub struct WinogradConfig<'a> {
    /// Input channels `C`.
    pub in_channels: usize,
    /// Output channels `K`.
    pub out_channels: usize,
    /// Kernel, OIHW: `K · C · 3 · 3` floats.
    pub kernel: &'a [f32],
    /// Optional bias, `K` floats.
    pub bias: Option<&'a [f32]>,
    /// Zero padding: top, left, bottom, right.
    pub padding: [usize; 4],
    /// Tile size.
    pub tile: Tile,
    /// Fused activation.
    pub activation: Activation,
    /// Force a table entry, e.g. `ukernel::TGEMM.by_name("tgemm_6x16__avx2")?` (`None`:
    /// `TGEMM.best()`).
    pub kernels: Option<&'static Entry<Kernels>>,
    /// Expected input `[h, w]`, used by [`Tile::Auto`].
    pub input_size_hint: Option<[usize; 2]>,
    /// Tiles per chunk (a multiple of 16); `None`: sized from the cache sizes.
    pub chunk_tiles: Option<usize>,
}

impl<'a> WinogradConfig<'a> {
    /// A configuration with no bias, no padding, `Tile::Auto`, no activation, best table entry.
    pub fn new(in_channels: usize, out_channels: usize, kernel: &'a [f32]) -> Self {
        WinogradConfig {
            in_channels,
            out_channels,
            kernel,
            bias: None,
            padding: [0; 4],
            tile: Tile::Auto,
            activation: Activation::None,
            kernels: None,
            input_size_hint: None,
            chunk_tiles: None,
        }
    }
}

/// Errors of this crate.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WinogradError {
    /// `in_channels` or `out_channels` is zero.
    ZeroChannels {
        /// Input channels given.
        in_channels: usize,
        /// Output channels given.
        out_channels: usize,
    },
    /// A buffer argument has the wrong length.
    Length {
        /// Argument name.
        argument: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// A kernel or bias value is NaN or infinite.
    NonFinite {
        /// Argument name.
        argument: &'static str,
        /// Index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The clamp bounds are NaN or `min > max`.
    InvalidClamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// The requested table entry cannot run on this CPU/build (or the ISA cap excludes it).
    KernelUnavailable(DispatchError),
    /// Batch, height or width is zero, the padded input is smaller than the 3x3 kernel, a
    /// dimension exceeds [`MAX_DIM`], or a size overflows.
    Shape(String),
    /// A buffer whose size follows from the arguments (packed kernel, scratch) cannot be
    /// allocated.
    Allocation(String),
}

impl fmt::Display for WinogradError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WinogradError::ZeroChannels {
                in_channels,
                out_channels,
            } => write!(
                f,
                "channel counts must be positive: in_channels = {in_channels}, out_channels = {out_channels}"
            ),
            WinogradError::Length {
                argument,
                expected,
                actual,
            } => write!(f, "{argument} has {actual} elements but {expected} are required"),
            WinogradError::NonFinite {
                argument,
                index,
                value,
            } => write!(f, "{argument}[{index}] = {value} is not finite"),
            WinogradError::InvalidClamp { min, max } => {
                write!(f, "invalid clamp bounds: min = {min}, max = {max} (need min <= max, no NaN)")
            }
            WinogradError::KernelUnavailable(e) => e.fmt(f),
            WinogradError::Shape(s) | WinogradError::Allocation(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for WinogradError {}

/// Time spent in each phase (NNPACK's profile). The kernel transform is done at plan time; its
/// time is the plan's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    /// Input transforms.
    pub input_transform: Duration,
    /// Kernel transform (at plan time).
    pub kernel_transform: Duration,
    /// Tuple GEMM.
    pub multiply: Duration,
    /// Output transforms (with bias and activation).
    pub output_transform: Duration,
}

impl Profile {
    /// Sum of the run-time phases (input transform, multiply, output transform).
    pub fn run_total(&self) -> Duration {
        self.input_transform + self.multiply + self.output_transform
    }
}

/// A Winograd convolution plan: validated shape, transformed kernel, chosen micro-kernels.
pub struct WinogradConv {
    c: usize,
    k: usize,
    pad: [usize; 4],
    tile: Tile,
    entry: &'static Entry<Kernels>,
    /// Packed transformed kernel `U[p][kb][c][6]`.
    u: Buf,
    bias: Vec<f32>,
    lo: f32,
    hi: f32,
    kernel_transform_time: Duration,
    chunk_tiles: Option<usize>,
    l1: usize,
    l2: usize,
    scratch: Mutex<Scratch>,
}

impl fmt::Debug for WinogradConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinogradConv")
            .field("in_channels", &self.c)
            .field("out_channels", &self.k)
            .field("padding", &self.pad)
            .field("tile", &self.tile)
            .field("kernels", &self.entry.name)
            .finish()
    }
}

fn check_finite(argument: &'static str, xs: &[f32]) -> Result<(), WinogradError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(WinogradError::NonFinite {
            argument,
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

fn shape_err(msg: String) -> WinogradError {
    WinogradError::Shape(msg)
}

fn mul(a: usize, b: usize, what: &str) -> Result<usize, WinogradError> {
    a.checked_mul(b)
        .ok_or_else(|| shape_err(format!("{what} overflows usize ({a} x {b})")))
}

/// Plan phase 1: checks the sizes, the kernel and bias values and the clamp bounds of `cfg`;
/// returns the bias (zeros without one) and the clamp bounds.
fn validate_config(cfg: &WinogradConfig<'_>) -> Result<(Vec<f32>, f32, f32), WinogradError> {
    let (c, k) = (cfg.in_channels, cfg.out_channels);
    if c == 0 || k == 0 {
        return Err(WinogradError::ZeroChannels {
            in_channels: c,
            out_channels: k,
        });
    }
    check_dim("in_channels", c)?;
    check_dim("out_channels", k)?;
    for (p, side) in cfg.padding.iter().zip(["top", "left", "bottom", "right"]) {
        check_dim(&format!("padding {side}"), *p)?;
    }
    if let Some([h, w]) = cfg.input_size_hint {
        check_dim("input_size_hint height", h)?;
        check_dim("input_size_hint width", w)?;
    }
    let klen = mul(mul(k, c, "out_channels x in_channels")?, 9, "kernel length")?;
    if cfg.kernel.len() != klen {
        return Err(WinogradError::Length {
            argument: "kernel (OIHW 3x3)",
            expected: klen,
            actual: cfg.kernel.len(),
        });
    }
    check_finite("kernel", cfg.kernel)?;
    let bias = match cfg.bias {
        Some(b) => {
            if b.len() != k {
                return Err(WinogradError::Length {
                    argument: "bias",
                    expected: k,
                    actual: b.len(),
                });
            }
            check_finite("bias", b)?;
            let mut v = cpu_probe::alloc::try_with_capacity(k, "bias")?;
            v.extend_from_slice(b);
            v
        }
        None => cpu_probe::alloc::try_filled(k, 0.0, "bias")?,
    };
    let (lo, hi) = cfg.activation.bounds();
    if lo.is_nan() || hi.is_nan() || lo > hi {
        return Err(WinogradError::InvalidClamp { min: lo, max: hi });
    }
    Ok((bias, lo, hi))
}

/// Plan phase 2: the table entry (forced or [`TGEMM`]'s best), refused if this CPU cannot run
/// it.
fn choose_entry(
    forced: Option<&'static Entry<Kernels>>,
) -> Result<&'static Entry<Kernels>, WinogradError> {
    // `verify`: one of TGEMM's own entries (a caller-built copy could pair a scalar ISA with
    // kernels this CPU cannot run) that this CPU runs.
    TGEMM
        .verify(forced.unwrap_or_else(|| TGEMM.best()))
        .map_err(WinogradError::KernelUnavailable)
}

/// Plan phase 2: the tile (`cfg.tile`, or for `Auto` the cheapest by [`Tile::cost`] for the
/// size hint, F6x6 without one).
fn choose_tile(cfg: &WinogradConfig<'_>, kernels: &Kernels) -> Tile {
    let (c, k) = (cfg.in_channels, cfg.out_channels);
    match cfg.tile {
        Tile::Auto => match cfg.input_size_hint {
            Some([h, w]) => {
                // Saturating: every term is at most u32::MAX (checked), but usize may be 32
                // bits wide.
                let p = cfg.padding;
                let oh = h.saturating_add(p[0]).saturating_add(p[2]);
                let ow = w.saturating_add(p[1]).saturating_add(p[3]);
                let oh = oh.saturating_sub(2).max(1);
                let ow = ow.saturating_sub(2).max(1);
                let mut best = Tile::F6x6;
                for t in Tile::ALL {
                    if t.cost(c, k, oh, ow, kernels) < best.cost(c, k, oh, ow, kernels) {
                        best = t;
                    }
                }
                best
            }
            None => Tile::F6x6,
        },
        t => t,
    }
}

/// Plan phase 3: transforms the OIHW `kernel` (in f64, rounded once to f32) and packs it as
/// `U[p][kb][c][6]`.
fn pack_kernel(kernel: &[f32], c: usize, k: usize, tile: Tile) -> Result<Buf, WinogradError> {
    let alpha = tile.alpha();
    let a2 = alpha * alpha;
    let nkb = k.div_ceil(MR);
    let ulen = mul(
        mul(
            mul(a2, nkb, "kernel transform size")?,
            c,
            "kernel transform size",
        )?,
        MR,
        "kernel transform size",
    )?;
    let mut u = try_zeroed(ulen, "packed kernel transform")?;
    // Transform a block of (6 output channels x CB input channels) at a time, then write
    // each point's contiguous run of CB·6 floats: sequential stores instead of one scattered
    // store per point and kernel (the packed kernel can be tens of MB).
    const CB: usize = 64;
    let mut tmp = vec![0.0f64; MR * CB * 64];
    for kb in 0..nkb {
        let mr = MR.min(k - kb * MR);
        for cb in (0..c).step_by(CB) {
            let cn = CB.min(c - cb);
            for r in 0..mr {
                for cj in 0..cn {
                    let (ko, ci) = (kb * MR + r, cb + cj);
                    let g = &kernel[(ko * c + ci) * 9..][..9];
                    transforms::kernel_transform_f64(
                        alpha,
                        g,
                        &mut tmp[(cj * MR + r) * 64..][..64],
                    )?;
                }
            }
            for p in 0..a2 {
                let dst = &mut u[((p * nkb + kb) * c + cb) * MR..][..cn * MR];
                for cj in 0..cn {
                    for r in 0..mr {
                        dst[cj * MR + r] = tmp[(cj * MR + r) * 64 + p] as f32;
                    }
                }
            }
        }
    }
    Ok(u)
}

impl WinogradConv {
    /// Validates `cfg`, picks the table entry and the tile, transforms and packs the kernel (in
    /// f64, rounded once to f32).
    pub fn new(cfg: WinogradConfig<'_>) -> Result<WinogradConv, WinogradError> {
        let (bias, lo, hi) = validate_config(&cfg)?;
        let entry = choose_entry(cfg.kernels)?;
        if let Some(n) = cfg.chunk_tiles {
            if n == 0 || n % (2 * LANES) != 0 {
                return Err(shape_err(format!(
                    "chunk_tiles = {n} must be a positive multiple of {}",
                    2 * LANES
                )));
            }
        }
        let tile = choose_tile(&cfg, &entry.kernels);
        let (c, k) = (cfg.in_channels, cfg.out_channels);
        let start = Instant::now();
        let u = pack_kernel(cfg.kernel, c, k, tile)?;
        let kernel_transform_time = start.elapsed();
        let caches = cpu_probe::cache_sizes();
        let l1 = usize::try_from(caches.l1d)
            .unwrap_or(32 * 1024)
            .clamp(16 * 1024, 256 * 1024);
        let l2 = usize::try_from(caches.l2)
            .unwrap_or(512 * 1024)
            .clamp(128 * 1024, 8 * 1024 * 1024);
        Ok(WinogradConv {
            c,
            k,
            pad: cfg.padding,
            tile,
            entry,
            u,
            bias,
            lo,
            hi,
            kernel_transform_time,
            chunk_tiles: cfg.chunk_tiles,
            l1,
            l2,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// The tile in use (resolved if `Auto` was requested).
    pub fn tile(&self) -> Tile {
        self.tile
    }

    /// The table entry in use (its `name` is the GEMM micro-kernel's function name).
    pub fn kernels(&self) -> &'static Entry<Kernels> {
        self.entry
    }

    /// The name of the table entry in use (= its GEMM micro-kernel function), e.g.
    /// `tgemm_6x32__avx512`.
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.c
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.k
    }

    /// Time the kernel transform took at plan time.
    pub fn kernel_transform_time(&self) -> Duration {
        self.kernel_transform_time
    }

    /// Output `(height, width)` for an `h×w` input (`h`, `w` at most [`MAX_DIM`]).
    pub fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize), WinogradError> {
        check_dim("height", h)?;
        check_dim("width", w)?;
        let [pt, pl, pb, pr] = self.pad;
        // `x` (named `sym`) plus the padding `a + b` on its two sides, checked.
        let padded = |what: &str, sym: &str, x: usize, a: usize, b: usize| {
            let err = || {
                let pad = self.pad;
                shape_err(format!(
                    "padded {what} overflows: {sym} = {x}, padding {pad:?}"
                ))
            };
            x.checked_add(a)
                .and_then(|x| x.checked_add(b))
                .ok_or_else(err)
        };
        let ph = padded("height", "h", h, pt, pb)?;
        let pw = padded("width", "w", w, pl, pr)?;
        if h == 0 || w == 0 || ph < 3 || pw < 3 {
            return Err(shape_err(format!(
                "input {h}x{w} with padding [top, left, bottom, right] = {:?} is {ph}x{pw} after padding; \
                 a 3x3 kernel needs a non-empty input and at least 3x3 after padding",
                self.pad
            )));
        }
        Ok((ph - 2, pw - 2))
    }
}

/// F(2,3): `y = Aᵀ [(G g) ⊙ (Bᵀ d)]` for a 4-point input `d`, 3-tap kernel `g`, 2 outputs.
pub mod f2x3 {
    /// Input transform Bᵀ (4×4), entries 0/±1.
    pub const BT: [[i32; 4]; 4] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
    /// Kernel transform G scaled by 2 (4×3), so it is integral: 2·G.
    pub const G2: [[i32; 3]; 4] = [[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]];
    /// Output transform Aᵀ (2×4), entries 0/±1.
    pub const AT: [[i32; 4]; 2] = [[1, 1, 1, 0], [0, 1, -1, -1]];

    /// 1-D F(2,3) in exact integer arithmetic: returns 2·(correlation of `d` with `g`).
    ///
    /// Computed in wrapping i32 arithmetic, i.e. modulo 2³² (the ring argument of
    /// [`crate::int8`]): the result is exact whenever the true value fits in i32, and the same
    /// in debug and release builds for any arguments (no overflow panic).
    pub fn correlate_1d_times2(d: [i32; 4], g: [i32; 3]) -> [i32; 2] {
        let dot = |a: &[i32], b: &[i32]| {
            a.iter()
                .zip(b)
                .fold(0i32, |s, (x, y)| s.wrapping_add(x.wrapping_mul(*y)))
        };
        let mut m = [0i32; 4];
        for i in 0..4 {
            let u = dot(&G2[i], &g);
            let v = dot(&BT[i], &d);
            m[i] = u.wrapping_mul(v);
        }
        [0, 1].map(|r| dot(&AT[r], &m))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn matches_direct_correlation() {
            let d = [3, -7, 11, 5];
            let g = [2, -1, 4];
            let direct = [0, 1].map(|o| (0..3).map(|j| d[o + j] * g[j]).sum::<i32>());
            assert_eq!(super::correlate_1d_times2(d, g), direct.map(|x| 2 * x));
        }
    }
}
