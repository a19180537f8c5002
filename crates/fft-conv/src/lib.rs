//! # fft-conv
//!
//! fp32 FFT convolution (NCHW, stride 1, groups 1) on 8x8 and 16x16 tiles, for kernels from 1x1
//! up to 8x8 (8x8 tiles) and 16x16 (16x16 tiles), with any 4-sided zero padding, batch ≥ 1 and an
//! optional fused bias and clamp (ReLU, ReLU6, ...). "Convolution" is the cross-correlation of
//! NN frameworks: `y[n][o][i][j] = b[o] + Σ_c Σ_p Σ_q x[n][c][i+p−top][j+q−left] · w[o][c][p][q]`.
//!
//! ## Algorithm (overlap-save)
//!
//! The output is cut into tiles of `m_h × m_w = (T+1−k_h) × (T+1−k_w)` pixels (`T` = 8 or 16).
//! Each needs the `T × T` input patch that starts at the same position (zero outside the image);
//! the circular correlation of that patch with the zero-padded kernel equals the linear one in the
//! first `m_h × m_w` positions, the rest wraps around and is discarded. Per run:
//!
//! 1. **input transform**: real 2-D FFT of every (channel, tile) patch;
//! 2. **multiply**: for every frequency bin, a complex matrix product
//!    `Y[oc][tile] = Σ_ic Ŵ[oc][ic] · X[ic][tile]` (a "tuple GEMM": one small GEMM per bin);
//! 3. **output transform**: inverse FFT of every (output channel, tile), crop to `m_h × m_w`,
//!    add the bias, clamp, store.
//!
//! The kernel transform `Ŵ = conj(DFT(w)) / (2T²)` (`/ (4T²)` in frequency columns 0 and `T/2`)
//! is computed once in f64 by [`FftConv::new`] and cached in the plan (the conjugate turns the
//! product into a correlation; the scale folds in the unnormalised inverse and the factor 2, or 4
//! in those columns, that the input transform leaves in).
//!
//! ## Layout
//!
//! Transforms are vectorised **across tiles** (structure of arrays): a vector holds the same
//! pixel (or frequency bin) of `L` tiles, `L` = 16 (AVX-512), 8 (AVX2) or 4 (NEON, scalar), so a
//! block of `L` tiles is one "tile group". The FFTs are hand-written fixed-size radix-2
//! butterflies for 4, 8 and 16 points with constant twiddles fused into multiply-adds. A real
//! `T × T` tile is transformed as `T/2` complex row FFTs (rows `2j + i·(2j+1)`, separated by
//! Hermitian symmetry), then one complex FFT per column `kx = 1 .. T/2−1` plus one shared by the
//! two real columns `0` and `T/2`. Only the non-redundant half of the spectrum is stored (see
//! [`pack`]):
//!
//! | tile  | stored complex bins | floats per tile | pixels |
//! |-------|---------------------|-----------------|--------|
//! | 8x8   | 34 (columns 0, 4: `ky ≤ 4`; columns 1–3: all 8) | 68  | 64  |
//! | 16x16 | 130 (columns 0, 8: `ky ≤ 8`; columns 1–7: all 16) | 260 | 256 |
//!
//! A run walks the tiles in **blocks** of tile groups sized so that a block's transformed input
//! and product stay in L2 (~512 KiB); per block: input transform, multiply, output transform.
//! Each running task reuses one workspace slot for its blocks (so X and Y stay in its core's
//! L2), and bins sit one cache line further apart than their data needs, so that the per-bin
//! strided stores and loads of the transforms spread over the L1 sets.
//! Within a block the transformed input is `X[bin][group][ic][re|im][L]` and the product
//! `Y[bin][group][oc][re|im][L]`; the kernel is `Ŵ[bin][oc/4][ic][4][c, c+d, d−c]` (`Ŵ = c+id`).
//! The multiply stage is, per bin, a complex GEMM `[Cout × Cin] · [Cin × L tiles]` whose micro-
//! kernel keeps 4 (AVX-512, NEON) or 2 (AVX2, scalar) output channels × one tile vector in
//! registers and uses 3 multiply-adds per complex product (Gauss: `c(a+b)`, `(c+d)b`, `(d−c)a`).
//! Input patches are gathered into the tile-per-lane order with masked row loads and a 16×16
//! register transpose (AVX-512), `vmaskmovps` row loads and 8×8 transposes (AVX2; `vgatherdps`
//! only as the separate gather) or scalar copies; zero padding is the mask. AVX2 fuses the
//! gather into the forward row FFTs; its inverse writes through the separate scatter.
//! Under AVX-512 the gather is fused into the row FFTs (each transposed row pair goes straight
//! into its FFT) and the inverse row IFFTs store their cropped rows straight to the output
//! (transpose + masked store per tile), so no spatial tile block passes through memory.
//! Under AVX-512 a last group of at most 8 tiles runs on the 8-lane kernels (compiled with AVX-512
//! VL: 32 registers, so the tuple GEMM keeps 4 output channels in registers like the 16-lane one),
//! with the same fused transforms on 8×8 register transposes and 8-wide masked loads and stores.
//!
//! Blocks run on a [`Parallel`] pool. The tile size is chosen per input size from an arithmetic
//! cost estimate ([`Tile::Auto`]) or forced; [`choose_tile`] is NNPACK's rule for reference.
//!
//! ## Hostile inputs and NaN
//!
//! [`FftConv::new`] and the runs validate everything the caller passes before allocating or
//! making a pointer: channel counts, padding, batch, input height and width are at most
//! [`MAX_DIM`] (`u32::MAX`), kernels at most the tile; output size, tile counts, workspace,
//! transformed-kernel and buffer sizes are computed with checked arithmetic, and allocations
//! whose size comes from the caller are fallible, so an impossible shape is an [`FftError`]
//! naming the argument and its values, in release builds as in debug ones.
//!
//! NaN follows IEEE arithmetic, with or without the fused clamp (`clamp(NaN) = NaN`, as ONNX
//! Runtime and PyTorch): the FFT of a tile mixes all its pixels, so a NaN input pixel makes
//! every output of the tiles whose input patch contains it NaN (in every output channel), and
//! a NaN weight or bias makes its output channel NaN. Outputs that depend on a NaN are always
//! NaN; others in the same tile are NaN too, which is what IEEE arithmetic on the transform
//! gives.
//!
//! ## Example
//!
//! ```
//! use cpu_probe::parallel::Parallel;
//! use fft_conv::{FftConfig, FftConv, Tile};
//!
//! // 1 -> 1 channel, 3x3 box filter, padding 1, bias 0.5, ReLU.
//! let kernel = [1.0f32; 9];
//! let plan = FftConv::new(FftConfig {
//!     bias: Some(&[0.5]),
//!     clamp: Some((0.0, f32::INFINITY)),
//!     padding: [1, 1, 1, 1],
//!     ..FftConfig::new(1, 1, 3, 3, &kernel)
//! })?;
//! let (h, w) = (5, 7);
//! let input = vec![1.0f32; h * w];
//! let (oh, ow) = plan.output_size(h, w)?;
//! assert_eq!((oh, ow), (5, 7));
//! let mut out = vec![0.0f32; oh * ow];
//! plan.run(&input, 1, h, w, &mut out, &Parallel::single())?;
//! assert!((out[0] - 4.5).abs() < 1e-5); // corner: 4 taps inside + bias
//! assert!((out[ow + 1] - 9.5).abs() < 1e-5); // interior: 9 taps + bias
//! assert_eq!(plan.tile_for(h, w)?, 8);
//! # let _ = Tile::Auto;
//! # Ok::<(), fft_conv::FftError>(())
//! ```

pub mod pack;
pub mod reference;
pub mod ukernel;

use aligned_vec::{AVec, ConstAlign};
use cpu_probe::parallel::Parallel;
use pack::{bins, PackedKernel};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
pub use ukernel::Variant;
use ukernel::{GatherFn, GemmArgs, Kernels, Lanes, OutLanes, Post, MR};

/// FFT tile edge for an `h × w` output and a `k × k` kernel: 8 if the kernel fits an 8x8 tile and
/// needs at most 4× as many tiles as 16x16 would (NNPACK's rule), 16 if it fits 16x16, else `None`.
///
/// [`FftConv`] with [`Tile::Auto`] uses an arithmetic cost estimate instead (see
/// [`FftConv::tile_for`]); this rule is kept as the reference point.
pub fn choose_tile(out_h: usize, out_w: usize, k: usize) -> Option<usize> {
    // In u128: exact for any output size (each factor is below 2^64; for k <= 8 the 16x16
    // count is below 2^122, so 4 times it fits).
    let tiles = |t: usize| {
        let step = t + 1 - k;
        out_h.div_ceil(step) as u128 * out_w.div_ceil(step) as u128
    };
    match k {
        1..=8 if tiles(8) <= 4 * tiles(16) => Some(8),
        1..=16 => Some(16),
        _ => None,
    }
}

/// Tile size selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tile {
    /// Per input size, the tile with the lower estimated cost (16x16 if the kernel exceeds 8).
    #[default]
    Auto,
    /// 8x8 tiles (kernels up to 8x8), output tiles of `(9−k_h) × (9−k_w)`.
    T8,
    /// 16x16 tiles (kernels up to 16x16), output tiles of `(17−k_h) × (17−k_w)`.
    T16,
}

/// Largest accepted channel count, padding, batch, input height and width: `u32::MAX` (as
/// XNNPACK's `uint32_t` fields). Kernel sizes are bounded by the tile (16).
pub const MAX_DIM: usize = u32::MAX as usize;

/// Everything a plan needs; build it with [`FftConfig::new`] and struct update syntax.
///
/// `in_channels`, `out_channels` and every `padding` value must be at most [`MAX_DIM`].
#[derive(Clone, Copy, Debug)]
pub struct FftConfig<'a> {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Weights, OIHW: `out_channels × in_channels × kernel_h × kernel_w`.
    pub kernel: &'a [f32],
    /// Optional bias, one per output channel.
    pub bias: Option<&'a [f32]>,
    /// Zero padding: top, left, bottom, right.
    pub padding: [usize; 4],
    /// Tile size selection.
    pub tile: Tile,
    /// Optional output clamp `(min, max)`: `(0, ∞)` is ReLU, `(0, 6)` ReLU6.
    pub clamp: Option<(f32, f32)>,
    /// Force a variant (`None`: the best available one).
    pub variant: Option<Variant>,
}

impl<'a> FftConfig<'a> {
    /// A configuration with no bias, no padding, no clamp, [`Tile::Auto`] and the best variant.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_h: usize,
        kernel_w: usize,
        kernel: &'a [f32],
    ) -> FftConfig<'a> {
        FftConfig {
            in_channels,
            out_channels,
            kernel_h,
            kernel_w,
            kernel,
            bias: None,
            padding: [0; 4],
            tile: Tile::Auto,
            clamp: None,
            variant: None,
        }
    }
}

/// Errors of this crate; every message names the argument and the values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FftError {
    /// A size that must be positive is zero.
    ZeroSize {
        /// The argument.
        what: &'static str,
    },
    /// The kernel does not fit the (forced or largest) tile.
    KernelTooLarge {
        /// Kernel height.
        kernel_h: usize,
        /// Kernel width.
        kernel_w: usize,
        /// Tile edge.
        tile: usize,
    },
    /// A slice has the wrong length.
    LengthMismatch {
        /// The argument.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A buffer is shorter than the shape needs.
    BufferTooSmall {
        /// The argument.
        what: &'static str,
        /// The length needed.
        needed: usize,
        /// The length given.
        actual: usize,
    },
    /// The padded input is smaller than the kernel.
    EmptyOutput {
        /// Input height and width.
        input: (usize, usize),
        /// Kernel height and width.
        kernel: (usize, usize),
        /// Padding top, left, bottom, right.
        padding: [usize; 4],
    },
    /// The clamp bounds are NaN or `min > max`.
    InvalidClamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// The forced variant cannot run on this CPU or build.
    VariantUnavailable(Variant),
    /// A size exceeds its limit ([`MAX_DIM`]) or a size computation overflows `usize`, or a
    /// buffer of that size cannot be allocated.
    TooLarge {
        /// The argument or derived size.
        what: &'static str,
        /// The values involved.
        detail: String,
    },
}

impl fmt::Display for FftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FftError::ZeroSize { what } => write!(f, "{what} must be positive, got 0"),
            FftError::KernelTooLarge {
                kernel_h,
                kernel_w,
                tile,
            } => write!(
                f,
                "kernel {kernel_h}x{kernel_w} does not fit a {tile}x{tile} FFT tile \
                 (at most {tile}x{tile})"
            ),
            FftError::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "{what} has {actual} elements but must have {expected}"),
            FftError::BufferTooSmall {
                what,
                needed,
                actual,
            } => write!(
                f,
                "{what} has {actual} elements but the shape needs {needed}"
            ),
            FftError::EmptyOutput {
                input,
                kernel,
                padding,
            } => write!(
                f,
                "input {}x{} with padding {:?} is smaller than the {}x{} kernel",
                input.0, input.1, padding, kernel.0, kernel.1
            ),
            FftError::InvalidClamp { min, max } => {
                write!(
                    f,
                    "clamp ({min}, {max}) is invalid: bounds must not be NaN and min <= max"
                )
            }
            FftError::VariantUnavailable(v) => {
                write!(f, "variant {v:?} is not available on this CPU/build")
            }
            FftError::TooLarge { what, detail } => write!(f, "{what} is too large: {detail}"),
        }
    }
}

impl std::error::Error for FftError {}

/// Time spent per phase of one run (like NNPACK's `nnp_profile`). The run works tile block by
/// tile block; each phase is the sum over blocks (so with several threads, the sum of the time
/// the threads spent in it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    /// Gather and forward FFT of the input tiles.
    pub input_transform: Duration,
    /// Kernel transform: zero in a run, since [`FftConv::new`] transforms and caches the kernels
    /// (its cost is [`FftConv::kernel_transform_time`]).
    pub kernel_transform: Duration,
    /// The tuple GEMM over all bins.
    pub multiply: Duration,
    /// Inverse FFT, bias, clamp and store.
    pub output_transform: Duration,
}

impl Profile {
    /// Sum of the phases.
    pub fn total(&self) -> Duration {
        self.input_transform + self.kernel_transform + self.multiply + self.output_transform
    }
}

/// A planned FFT convolution with its transformed kernels.
pub struct FftConv {
    cin: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 4],
    tile: Tile,
    clamp: Option<(f32, f32)>,
    bias: Vec<f32>,
    variant: Variant,
    kernels: Kernels,
    /// Half-width kernels for a remainder of at most `lanes/2` tiles (AVX-512: the AVX2 ones).
    half: Option<Kernels>,
    packed8: Option<PackedKernel>,
    packed16: Option<PackedKernel>,
    kernel_time: Duration,
    workspace: Mutex<AVec<f32, ConstAlign<64>>>,
}

impl fmt::Debug for FftConv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FftConv")
            .field("in_channels", &self.cin)
            .field("out_channels", &self.cout)
            .field("kernel", &(self.kh, self.kw))
            .field("padding", &self.pad)
            .field("tile", &self.tile)
            .field("variant", &self.variant)
            .finish()
    }
}

/// Geometry of one run.
#[derive(Clone, Copy, Debug)]
struct Geom {
    t: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    mh: usize,
    mw: usize,
    tiles_x: usize,
    tiles_per_image: usize,
    total_tiles: usize,
}

/// A raw pointer that tasks of one phase share; each task touches a disjoint part.
#[derive(Clone, Copy)]
struct SharedPtr(*mut f32);
// SAFETY: the pointer is only dereferenced by tasks that write disjoint ranges (documented at each
// use) while the buffer it points into outlives the parallel phase.
unsafe impl Send for SharedPtr {}
// SAFETY: as above.
unsafe impl Sync for SharedPtr {}
impl SharedPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Floats between the bins of X and Y beyond their data: one cache line, so that the strided
/// per-bin stores and loads of the transforms do not all fall into the same few L1 sets (bin
/// sizes are multiples of 1–2 KiB).
const BIN_PAD: usize = 16;

/// Target size of one tile block's transformed input plus product (L2-sized).
const BLOCK_BYTES: usize = 512 * 1024;

/// Per-task scratch: one spatial block and one half-transformed block (largest tile and lanes).
#[repr(C, align(64))]
struct Scratch {
    tile: [f32; 16 * 16 * 16],
    mid: [f32; 16 * 9 * 2 * 16],
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            tile: [0.0; 16 * 16 * 16],
            mid: [0.0; 16 * 9 * 2 * 16],
        }
    }
}

/// Estimated cost of a forward or inverse tile transform per tile and channel (flops and moves).
fn transform_cost(t: usize) -> usize {
    if t == 8 {
        900
    } else {
        4000
    }
}

impl FftConv {
    /// Validates the configuration, picks the variant and transforms the kernels.
    pub fn new(cfg: FftConfig<'_>) -> Result<FftConv, FftError> {
        for (what, v) in [
            ("in_channels", cfg.in_channels),
            ("out_channels", cfg.out_channels),
            ("kernel_h", cfg.kernel_h),
            ("kernel_w", cfg.kernel_w),
        ] {
            if v == 0 {
                return Err(FftError::ZeroSize { what });
            }
        }
        for (what, v) in [
            ("in_channels", cfg.in_channels),
            ("out_channels", cfg.out_channels),
            ("padding", cfg.padding.iter().copied().max().unwrap_or(0)),
        ] {
            check_dim(what, v)?;
        }
        let (kh, kw) = (cfg.kernel_h, cfg.kernel_w);
        let kmax = kh.max(kw);
        let max_tile = if cfg.tile == Tile::T8 { 8 } else { 16 };
        if kmax > max_tile {
            return Err(FftError::KernelTooLarge {
                kernel_h: kh,
                kernel_w: kw,
                tile: max_tile,
            });
        }
        // kh, kw <= 16 (checked above).
        let klen = cfg
            .out_channels
            .checked_mul(cfg.in_channels)
            .and_then(|v| v.checked_mul(kh * kw))
            .ok_or_else(|| FftError::TooLarge {
                what: "kernel size",
                detail: format!(
                    "{} x {} x {kh} x {kw} overflows usize",
                    cfg.out_channels, cfg.in_channels
                ),
            })?;
        if cfg.kernel.len() != klen {
            return Err(FftError::LengthMismatch {
                what: "kernel",
                expected: klen,
                actual: cfg.kernel.len(),
            });
        }
        if let Some(b) = cfg.bias {
            if b.len() != cfg.out_channels {
                return Err(FftError::LengthMismatch {
                    what: "bias",
                    expected: cfg.out_channels,
                    actual: b.len(),
                });
            }
        }
        if let Some((lo, hi)) = cfg.clamp {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(FftError::InvalidClamp { min: lo, max: hi });
            }
        }
        let variant = cfg.variant.unwrap_or_else(Variant::best);
        let kernels = variant
            .kernels()
            .ok_or(FftError::VariantUnavailable(variant))?;
        let start = Instant::now();
        let use8 = kmax <= 8 && cfg.tile != Tile::T16;
        let use16 = cfg.tile != Tile::T8;
        let (cin, cout) = (cfg.in_channels, cfg.out_channels);
        let packed8 = use8
            .then(|| pack::pack_kernel(8, cin, cout, kh, kw, cfg.kernel))
            .transpose()?;
        let packed16 = use16
            .then(|| pack::pack_kernel(16, cin, cout, kh, kw, cfg.kernel))
            .transpose()?;
        let kernel_time = start.elapsed();
        // cout <= kernel.len() (checked above).
        let mut bias = try_floats(cout, "bias")?;
        match cfg.bias {
            Some(b) => bias.extend_from_slice(b),
            None => bias.resize(cout, 0.0),
        }
        Ok(FftConv {
            cin,
            cout,
            kh,
            kw,
            pad: cfg.padding,
            tile: cfg.tile,
            clamp: cfg.clamp,
            bias,
            variant,
            kernels,
            half: variant.half_kernels(),
            packed8,
            packed16,
            kernel_time,
            workspace: Mutex::new(AVec::new(64)),
        })
    }

    /// The variant this plan runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Time [`FftConv::new`] spent transforming the kernels (f64, every tile size it may use).
    pub fn kernel_transform_time(&self) -> Duration {
        self.kernel_time
    }

    /// Output height and width for an `h × w` input (`h`, `w` at most [`MAX_DIM`]).
    pub fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize), FftError> {
        if h == 0 {
            return Err(FftError::ZeroSize {
                what: "input height",
            });
        }
        if w == 0 {
            return Err(FftError::ZeroSize {
                what: "input width",
            });
        }
        check_dim("input height", h)?;
        check_dim("input width", w)?;
        // h, w and the padding are at most u32::MAX, so h + pads fits a 64-bit usize; the
        // reference checks the sums anyway (None on overflow, reported as empty only when
        // the padded input really is smaller than the kernel).
        if h.checked_add(self.pad[0])
            .and_then(|v| v.checked_add(self.pad[2]))
            .is_none()
            || w.checked_add(self.pad[1])
                .and_then(|v| v.checked_add(self.pad[3]))
                .is_none()
        {
            return Err(FftError::TooLarge {
                what: "padded input",
                detail: format!("{h}x{w} with padding {:?} overflows usize", self.pad),
            });
        }
        reference::output_size(h, w, self.kh, self.kw, self.pad).ok_or(FftError::EmptyOutput {
            input: (h, w),
            kernel: (self.kh, self.kw),
            padding: self.pad,
        })
    }

    /// The tile edge (8 or 16) a run on an `h × w` input uses.
    pub fn tile_for(&self, h: usize, w: usize) -> Result<usize, FftError> {
        let (oh, ow) = self.output_size(h, w)?;
        Ok(self.pick_tile(oh, ow))
    }

    fn pick_tile(&self, oh: usize, ow: usize) -> usize {
        match (&self.packed8, &self.packed16) {
            (Some(_), None) => 8,
            (None, _) => 16,
            (Some(_), Some(_)) => {
                let l = self.kernels.lanes;
                // cout <= u32::MAX: no overflow.
                let ocp = self.cout.div_ceil(MR) * MR;
                // In f64: an estimate, which must not overflow for any plan and input size.
                let cost = |t: usize| {
                    let mh = t + 1 - self.kh;
                    let mw = t + 1 - self.kw;
                    let tiles = oh.div_ceil(mh) as f64 * ow.div_ceil(mw) as f64;
                    let lanes = (tiles / l as f64).ceil() * l as f64;
                    let gemm = bins(t) as f64 * self.cin as f64 * ocp as f64 * 8.0;
                    let tf = (self.cin as f64 + self.cout as f64) * transform_cost(t) as f64;
                    lanes * (gemm + tf)
                };
                if cost(8) <= cost(16) {
                    8
                } else {
                    16
                }
            }
        }
    }

    /// Convolves `input` (`batch × in_channels × h × w`) into `output`
    /// (`batch × out_channels × oh × ow`, see [`FftConv::output_size`]). `batch`, `h` and `w`
    /// are at most [`MAX_DIM`]; the slices may be longer than the shape needs, not shorter.
    /// On an error nothing was written, except when a task's fallback workspace cannot be
    /// allocated (then the output is partly written).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        parallel: &Parallel,
    ) -> Result<(), FftError> {
        self.run_profiled(input, batch, h, w, output, parallel)
            .map(|_| ())
    }

    /// As [`FftConv::run`], returning the time spent per phase.
    #[allow(clippy::too_many_arguments)]
    pub fn run_profiled(
        &self,
        input: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        output: &mut [f32],
        parallel: &Parallel,
    ) -> Result<Profile, FftError> {
        if batch == 0 {
            return Err(FftError::ZeroSize { what: "batch" });
        }
        check_dim("batch", batch)?;
        let (oh, ow) = self.output_size(h, w)?;
        let too_large = |what, detail: String| FftError::TooLarge { what, detail };
        let in_len = batch
            .checked_mul(self.cin)
            .and_then(|v| v.checked_mul(h))
            .and_then(|v| v.checked_mul(w))
            .ok_or_else(|| {
                too_large(
                    "input size",
                    format!("{batch} x {} x {h} x {w} overflows usize", self.cin),
                )
            })?;
        if input.len() < in_len {
            return Err(FftError::BufferTooSmall {
                what: "input",
                needed: in_len,
                actual: input.len(),
            });
        }
        let out_len = batch
            .checked_mul(self.cout)
            .and_then(|v| v.checked_mul(oh))
            .and_then(|v| v.checked_mul(ow))
            .ok_or_else(|| {
                too_large(
                    "output size",
                    format!("{batch} x {} x {oh} x {ow} overflows usize", self.cout),
                )
            })?;
        if output.len() < out_len {
            return Err(FftError::BufferTooSmall {
                what: "output",
                needed: out_len,
                actual: output.len(),
            });
        }
        let t = self.pick_tile(oh, ow);
        let packed = if t == 8 {
            self.packed8.as_ref()
        } else {
            self.packed16.as_ref()
        };
        let Some(packed) = packed else {
            // Unreachable by construction (pick_tile only returns a tile that was packed).
            return Err(FftError::KernelTooLarge {
                kernel_h: self.kh,
                kernel_w: self.kw,
                tile: t,
            });
        };
        let l = self.kernels.lanes;
        let mh = t + 1 - self.kh;
        let mw = t + 1 - self.kw;
        let tiles_x = ow.div_ceil(mw);
        // tiles_y · tiles_x <= oh · ow (mh, mw >= 1), and batch · oh · ow <= out_len: no
        // overflow; checked anyway, since this bounds every tile index below.
        let tiles_per_image = oh
            .div_ceil(mh)
            .checked_mul(tiles_x)
            .ok_or_else(|| too_large("tile count", format!("{oh}x{ow} output overflows")))?;
        let total_tiles = batch.checked_mul(tiles_per_image).ok_or_else(|| {
            too_large(
                "tile count",
                format!("{batch} x {tiles_per_image} tiles overflows usize"),
            )
        })?;
        // Full groups of `l` tiles; a remainder of at most `l/2` tiles runs as one group of the
        // half-width kernels (AVX-512 -> AVX2) instead of a mostly empty full group.
        let half = self.half.filter(|_| {
            let rem = total_tiles % l;
            rem > 0 && rem <= l / 2
        });
        let groups = if half.is_some() {
            total_tiles / l
        } else {
            total_tiles.div_ceil(l)
        };
        let g = Geom {
            t,
            h,
            w,
            oh,
            ow,
            mh,
            mw,
            tiles_x,
            tiles_per_image,
            total_tiles,
        };
        let nb = bins(t);
        // cin, cout <= u32::MAX (checked in `new`).
        let ocp = packed.oc_blocks * MR;
        let cin = self.cin;
        let cout = self.cout;
        let ws_err = || {
            too_large(
                "workspace",
                format!("{cin} input and {ocp} output channels of {nb} bins overflow usize"),
            )
        };
        // Floats of X and Y per tile group: (cin + ocp) · 2 · l per bin.
        let group_floats = cin
            .checked_add(ocp)
            .and_then(|v| v.checked_mul(2 * l))
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        // Tile blocks: enough tile groups per block that X and Y of a block stay within about
        // 512 KiB (L2), and at least two blocks per thread when there are enough groups.
        let gb = (BLOCK_BYTES / 4 / group_floats)
            .max(1)
            .min(groups.div_ceil(2 * parallel.threads()).max(1));
        let main_blocks = groups.div_ceil(gb);
        let nblocks = main_blocks + usize::from(half.is_some());
        // Floats per bin of a block's X (gb groups of cin channels) and Y (ocp channels).
        let per_bin = |ch: usize| {
            gb.checked_mul(ch)
                .and_then(|v| v.checked_mul(2 * l))
                .and_then(|v| v.checked_add(BIN_PAD))
        };
        let x_blk = per_bin(cin)
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        let y_blk = per_bin(ocp)
            .and_then(|v| v.checked_mul(nb))
            .ok_or_else(ws_err)?;
        // One workspace slot per concurrently running task (the pool runs at most `threads`
        // tasks at once), reused block after block so that X and Y stay in that core's L2
        // instead of every block writing fresh memory.
        let nslots = parallel.threads().min(nblocks).max(1);
        let slot_len = x_blk.checked_add(y_blk).ok_or_else(ws_err)?;
        let ws_len = slot_len.checked_mul(nslots).ok_or_else(ws_err)?;
        let busy: Vec<AtomicBool> = (0..nslots).map(|_| AtomicBool::new(false)).collect();

        // The cached workspace, or a fresh one if another run of this plan holds it.
        let mut local;
        let mut guard = self.workspace.try_lock().ok();
        let ws: &mut AVec<f32, ConstAlign<64>> = match guard.as_deref_mut() {
            Some(ws) => ws,
            None => {
                local = AVec::new(64);
                &mut local
            }
        };
        if ws.len() < ws_len {
            ws.try_reserve_exact(ws_len - ws.len()).map_err(|e| {
                too_large(
                    "workspace",
                    format!("{ws_len} floats cannot be allocated ({e:?})"),
                )
            })?;
            ws.resize(ws_len, 0.0);
        }
        let wsp = SharedPtr(ws.as_mut_ptr());
        let outp = SharedPtr(output.as_mut_ptr());
        let small_input = input.len() <= i32::MAX as usize;
        let w_bin = packed.bin_len(cin);
        let wp = SharedPtr(packed.data.as_ptr().cast_mut());
        let times = Mutex::new(Profile::default());
        let failed = std::sync::OnceLock::new();

        parallel.for_each(nblocks, |blk| {
            // Block `blk`: `gn` groups of `l` tiles from tile `t0` with `k`, or the half group.
            let (k, l, t0, gn) = match half {
                Some(hk) if blk == main_blocks => (hk, l / 2, groups * l, 1),
                _ => {
                    let g0 = blk * gb;
                    (self.kernels, l, g0 * l, gb.min(groups - g0))
                }
            };
            let gather = if small_input {
                k.gather
            } else {
                portable_gather(l)
            };
            let (fwd, inv) = if t == 8 {
                (k.fwd8, k.inv8)
            } else {
                (k.fwd16, k.inv16)
            };
            let (fwd_in, inv_out) = match k.fused {
                Some(f) if t == 8 => (Some(f.fwd8), f.inv8),
                Some(f) => (Some(f.fwd16), f.inv16),
                None => (None, None),
            };
            // This block's X `[bin][gl][ic][2][L]` and Y `[bin][gl][oc][2][L]` (gl < gn), in a
            // free slot (held until the end of the block), or, should every slot be taken,
            // in memory of its own. gn <= gb (and l here <= the l of x_blk): nb · x_bin <= x_blk,
            // computed without overflow above; likewise y_bin.
            let x_bin = gn * cin * 2 * l + BIN_PAD;
            let y_bin = gn * ocp * 2 * l + BIN_PAD;
            let slot = busy.iter().position(|b| {
                b.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            });
            let mut own: AVec<f32, ConstAlign<64>> = AVec::new(64);
            let base = match slot {
                // SAFETY: the task holding slot `i` (flag set by the CAS above, cleared at the
                // end of this block) is the only one using `[i·slot_len, (i+1)·slot_len)` of the
                // workspace (`ws_len = nslots·slot_len` floats).
                Some(i) => unsafe { wsp.get().add(i * slot_len) },
                None => {
                    if let Err(e) = own.try_reserve_exact(slot_len) {
                        let _ = failed.set(too_large(
                            "workspace",
                            format!("{slot_len} floats cannot be allocated ({e:?})"),
                        ));
                        return;
                    }
                    own.resize(slot_len, 0.0);
                    own.as_mut_ptr()
                }
            };
            // SAFETY: `base` has `slot_len = x_blk + y_blk` floats; `nb·x_bin <= x_blk` and
            // `nb·y_bin <= y_blk`.
            let (xb, yb) = (base, unsafe { base.add(x_blk) });
            let mut s = Scratch::new();
            let mut prof = Profile::default();

            // 1. Input transform.
            let start = Instant::now();
            for gl in 0..gn {
                // Lane geometry once per tile group (integer divisions), then per channel only
                // the plane offset changes.
                let lanes0 = lanes_of(&g, cin, t0 + gl * l, l, self.pad);
                for ic in 0..cin {
                    // Channel `ic`: the lane offsets of channel 0, from the plane of `ic`.
                    let base = input.as_ptr().wrapping_add(ic * g.h * g.w);
                    // SAFETY: in-range lane elements, taken from `base` (the plane of `ic` in
                    // image 0; lane origins add the image plane), are inside `input` (rows and
                    // columns clipped to the image, `n < batch`, `ic < cin`);
                    // `input.len() <= i32::MAX` for the gathers with 32-bit indices (else the
                    // portable one runs); `s.tile` holds `T·T·L` floats. `fwd` writes
                    // X[·][gl][ic] (2·L floats per bin at stride `x_bin`) inside this block's X,
                    // `s.mid` holds `T·H·2·L` floats; the variant's ISA was checked in `new`.
                    // The fused variant reads the same elements straight from `input` (no
                    // index-width limit).
                    unsafe {
                        let xp = xb.add((gl * cin + ic) * 2 * l);
                        if let Some(fwd_in) = fwd_in {
                            fwd_in(base, g.w, &lanes0, s.mid.as_mut_ptr(), xp, x_bin);
                        } else {
                            gather(base, g.w, t, &lanes0, s.tile.as_mut_ptr());
                            fwd(s.tile.as_ptr(), s.mid.as_mut_ptr(), xp, x_bin);
                        }
                    }
                }
            }
            prof.input_transform = start.elapsed();

            // 2. Tuple GEMM, bin by bin.
            let start = Instant::now();
            for b in 0..nb {
                let args = GemmArgs {
                    cin,
                    oc_blocks: packed.oc_blocks,
                    groups: gn,
                    w: wp.get().cast_const().wrapping_add(b * w_bin),
                    x: xb.cast_const().wrapping_add(b * x_bin),
                    y: yb.wrapping_add(b * y_bin),
                };
                // SAFETY: bin `b` reads its `w_bin` packed floats and `x_bin` floats of this
                // block's X and writes its `y_bin` floats of this block's Y; sizes match
                // `GemmArgs`.
                unsafe { (k.gemm)(&args) };
            }
            prof.multiply = start.elapsed();

            // 3. Output transform.
            let start = Instant::now();
            for gl in 0..gn {
                let lanes0 = out_lanes_of(&g, cout, t0 + gl * l, l);
                for oc in 0..cout {
                    let post = Post {
                        bias: self.bias[oc],
                        clamp: self.clamp,
                    };
                    // SAFETY: reads Y[·][gl][oc] inside this block's Y; writes `mh` rows of
                    // `T·L` floats into `s.tile` and `T·H·2·L` floats into `s.mid`; ISA checked
                    // in `new`. `scatter` writes, from `out_oc` (channel `oc` of image 0; lane
                    // bases add the image plane), only the output pixels of the tiles of group
                    // `gl` of this block in channel `oc`, which no other task writes, all inside
                    // `output` (`out_len` floats).
                    // The fused variant writes the same pixels directly (`mh >= rows[i]`).
                    unsafe {
                        let yp = yb.cast_const().add((gl * ocp + oc) * 2 * l);
                        let out_oc = outp.get().wrapping_add(oc * g.oh * g.ow);
                        if let Some(inv_out) = inv_out {
                            inv_out(
                                yp,
                                y_bin,
                                mh,
                                &post,
                                s.mid.as_mut_ptr(),
                                g.ow,
                                &lanes0,
                                out_oc,
                            );
                        } else {
                            inv(
                                yp,
                                y_bin,
                                mh,
                                &post,
                                s.mid.as_mut_ptr(),
                                s.tile.as_mut_ptr(),
                            );
                            (k.scatter)(s.tile.as_ptr(), t, g.ow, &lanes0, out_oc);
                        }
                    }
                }
            }
            prof.output_transform = start.elapsed();
            if let Some(i) = slot {
                busy[i].store(false, Ordering::Release);
            }
            if let Ok(mut p) = times.lock() {
                p.input_transform += prof.input_transform;
                p.multiply += prof.multiply;
                p.output_transform += prof.output_transform;
            }
        });
        if let Some(e) = failed.into_inner() {
            return Err(e);
        }
        let profile = times.into_inner().unwrap_or_default();
        Ok(profile)
    }
}

/// `v` as a size argument: at most [`MAX_DIM`].
fn check_dim(what: &'static str, v: usize) -> Result<(), FftError> {
    if v > MAX_DIM {
        return Err(FftError::TooLarge {
            what,
            detail: format!("{v} exceeds the limit {MAX_DIM}"),
        });
    }
    Ok(())
}

/// An empty vector with room for `n` floats; a failed allocation is an error, not an abort.
fn try_floats(n: usize, what: &'static str) -> Result<Vec<f32>, FftError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| FftError::TooLarge {
        what,
        detail: format!("{n} floats cannot be allocated ({e})"),
    })?;
    Ok(v)
}

/// The portable gather for `l` lanes (inputs too large for 32-bit gather indices).
fn portable_gather(l: usize) -> GatherFn {
    match l {
        4 => ukernel::gather_generic::<4>,
        8 => ukernel::gather_generic::<8>,
        _ => ukernel::gather_generic::<16>,
    }
}

/// Decomposes global tile index `ti` into (image, tile row, tile column).
#[inline]
fn tile_pos(g: &Geom, ti: usize) -> (usize, usize, usize) {
    let n = ti / g.tiles_per_image;
    let r = ti % g.tiles_per_image;
    (n, r / g.tiles_x, r % g.tiles_x)
}

/// Describes where the `T × T` input patches of tiles `first..first + lanes` (channel 0) lie;
/// lanes past the last tile get an empty row range, hence zeros.
fn lanes_of(g: &Geom, cin: usize, first: usize, lanes: usize, pad: [usize; 4]) -> Lanes {
    let t = g.t as isize;
    let mut d = Lanes::default();
    for lane in 0..lanes {
        let ti = first + lane;
        if ti >= g.total_tiles {
            break;
        }
        let (n, ty, tx) = tile_pos(g, ti);
        // ty·mh < oh + mh and tx·mw < ow + mw, with oh, ow, h, w and the padding at most a few
        // times u32::MAX (checked by `output_size`): these fit isize.
        let y0 = (ty * g.mh) as isize - pad[0] as isize;
        let x0 = (tx * g.mw) as isize - pad[1] as isize;
        let rows = (
            (-y0).clamp(0, t) as usize,
            (g.h as isize - y0).clamp(0, t) as usize,
        );
        let cols = (
            (-x0).clamp(0, t) as usize,
            (g.w as isize - x0).clamp(0, t) as usize,
        );
        if rows.0 >= rows.1 || cols.0 >= cols.1 {
            // All padding: an empty lane (origin 0), whose far-away y0·w need not fit isize.
            continue;
        }
        // The patch meets the image: −t < y0 < h and −t < x0 < w, so |y0·w + x0| is below
        // (h + t)·w + t, and plane + y0·w + x0 >= 0 is an index of the input (n < batch).
        let plane = (n * cin * g.h * g.w) as isize;
        d.origin[lane] = plane + y0 * g.w as isize + x0;
        d.rows[lane] = rows;
        d.cols[lane] = cols;
    }
    d
}

/// Describes where the cropped output tiles `first..first + lanes` go (channel 0).
fn out_lanes_of(g: &Geom, cout: usize, first: usize, lanes: usize) -> OutLanes {
    let mut d = OutLanes::default();
    for lane in 0..lanes {
        let ti = first + lane;
        if ti >= g.total_tiles {
            break;
        }
        let (n, ty, tx) = tile_pos(g, ti);
        let (oy0, ox0) = (ty * g.mh, tx * g.mw);
        d.rows[lane] = g.mh.min(g.oh - oy0);
        d.cols[lane] = g.mw.min(g.ow - ox0);
        d.base[lane] = n * cout * g.oh * g.ow + oy0 * g.ow + ox0;
    }
    d
}

#[cfg(test)]
mod tests;
