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
//! Blocks run on a [`Parallel`](cpu_probe::parallel::Parallel) pool: one task per workspace
//! slot (`Parallel::for_each_chunk_mut`), each taking the next block until none is left. The
//! tile size is chosen per input size from an arithmetic cost estimate ([`Tile::Auto`]) or
//! forced; [`choose_tile`] is NNPACK's rule for reference.
//!
//! ## Dispatch
//!
//! [`FFT`] is the table of kernel families of this build (scalar first, best last), each entry
//! named after its tuple GEMM function, XNNPACK style `cgemm_<output channels>x<tiles>__<isa>`:
//! `cgemm_2x4__scalar`, `cgemm_4x4__neon`, `cgemm_4x8__avx2`, `cgemm_4x16__avx512`. The
//! transforms of an entry carry its suffix: `fft_fwd_8x8__avx2`, `fft_inv_16x16__neon`, the
//! fused `fft_fwd_in_8x8__avx512` (gather + forward) and `fft_inv_out_8x8__avx512` (inverse +
//! scatter), `gather_x16__avx512`, `scatter_x8__avx2`; the 8-lane half-width kernels of the
//! AVX-512 entry end in `__avx512vl`. [`FftConv::new`] takes the best entry or the one forced
//! by [`FftConfig::ukernel`]; [`FftConv::name`] prints it. Code: `ukernel/scalar.rs`,
//! `ukernel/x86_64/{avx2,avx512}.rs`, `ukernel/aarch64/neon.rs`, all over the one vector trait
//! of `ukernel/mod.rs` (`Simd`) and the algorithm of `ukernel/generic.rs`, except the AVX2
//! tuple GEMM, whose k-loop over the input channels is an `asm!` block: 4 output channels,
//! 12 accumulators in 16 ymm registers, which LLVM spilled.
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

mod driver;
pub mod pack;
pub mod reference;
pub mod ukernel;

use cpu_probe::DispatchError;
pub use driver::FftConv;
use std::fmt;
use std::time::Duration;
pub use ukernel::{FftEntry, FFT};

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
    /// Force an entry of [`FFT`] (`None`: the best one this CPU runs), e.g.
    /// `Some(FFT.by_name("cgemm_4x8__avx2")?)`.
    pub ukernel: Option<&'static FftEntry>,
}

impl<'a> FftConfig<'a> {
    /// A configuration with no bias, no padding, no clamp, [`Tile::Auto`] and the best kernels.
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
            ukernel: None,
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
    /// The forced [`FFT`] entry cannot run on this CPU or build (or is not one of [`FFT`]).
    Dispatch(DispatchError),
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
            FftError::Dispatch(e) => write!(f, "{e}"),
            FftError::TooLarge { what, detail } => write!(f, "{what} is too large: {detail}"),
        }
    }
}

impl std::error::Error for FftError {}

impl From<DispatchError> for FftError {
    fn from(e: DispatchError) -> FftError {
        FftError::Dispatch(e)
    }
}

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

#[cfg(test)]
mod tests;
