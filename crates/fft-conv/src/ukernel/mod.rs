//! The dispatch table [`FFT`] and the SIMD-generic transforms and tuple GEMM.
//!
//! Every entry runs the same algorithm, written once over the small `Simd` trait (`generic.rs`)
//! and instantiated per ISA inside `#[target_feature]` entry points, one ISA per file
//! (`scalar.rs`, `x86_64/avx2.rs`, `x86_64/avx512.rs`, `aarch64/neon.rs`), so the helpers inline
//! into code compiled for that ISA.
//!
//! Layout (`L` = `Simd::LANES`, `T` = tile edge, `H = T/2 + 1`):
//! - a spatial tile block is `[row][col][L]` floats: one lane per tile (structure of arrays);
//! - a transformed tile block is one complex vector pair `[re; L][im; L]` per frequency bin, bins
//!   at `bin · bin_stride` (see [`crate::pack::bin_index`] for the bin order);
//! - packed kernels per bin are `[oc / MR][ic][MR][c, c + d, d − c]` scalars (`Ŵ = c + id`).

/// The entry points of one variant over the vector type `$S`: the transforms and the tuple GEMM
/// (`generic::gemm::<$S, $nr, $mh>`, or `gemm = path` for a variant's own) of `generic.rs`, each with the attributes `$attr` (the
/// ISA's `#[target_feature]`, none for the portable variant), and its [`Kernels`] constant
/// `$konst`, named after the tuple GEMM `$gemm`, with `$fused`, `$half`, `$gather`, `$scatter`.
/// Names resolve where it is invoked (`generic`, `Post`, `GemmArgs`, `Kernels`, `Simd`).
macro_rules! entry_points {
    // The forward and inverse transforms of `$t × $t` tiles.
    (@transforms [$(#[$attr:meta])*] $S:ty, $t:literal, $fwd:ident, $inv:ident) => {
        $(#[$attr])*
        unsafe fn $fwd(tile: *const f32, mid: *mut f32, x: *mut f32, bs: usize) {
            // SAFETY: forwarded contract of `FwdFn`; the ISA, if any, is enabled here.
            unsafe { generic::forward::<$S, $t, _>(&generic::TileBuf(tile.cast_mut()), mid, x, bs) }
        }
        $(#[$attr])*
        unsafe fn $inv(y: *const f32, bs: usize, rows: usize, post: &Post, mid: *mut f32, out: *mut f32) {
            // SAFETY: forwarded contract of `InvFn`; the ISA, if any, is enabled here.
            unsafe { generic::inverse_pruned::<$S, $t, _>(y, bs, rows, post, mid, &generic::TileBuf(out)) }
        }
    };
    ($(#[$attr:meta])* $S:ty, $nr:literal, $mh:literal, $fused:expr, $half:expr, $konst:ident, $gather:ident, $scatter:ident, $fwd8:ident, $fwd16:ident, $inv8:ident,
     $inv16:ident, $gemm:ident) => {
        entry_points!($(#[$attr])* $S, gemm = generic::gemm::<$S, $nr, $mh>, $fused, $half, $konst,
            $gather, $scatter, $fwd8, $fwd16, $inv8, $inv16, $gemm);
    };
    // The same with the tuple GEMM `$imp` of the variant's own instead of the generic one.
    ($(#[$attr:meta])* $S:ty, gemm = $imp:path, $fused:expr, $half:expr, $konst:ident, $gather:ident, $scatter:ident, $fwd8:ident, $fwd16:ident, $inv8:ident,
     $inv16:ident, $gemm:ident) => {
        entry_points!(@transforms [$(#[$attr])*] $S, 8, $fwd8, $inv8);
        entry_points!(@transforms [$(#[$attr])*] $S, 16, $fwd16, $inv16);
        $(#[$attr])*
        unsafe fn $gemm(a: &GemmArgs) {
            // SAFETY: forwarded contract of `GemmFn`; the ISA, if any, is enabled here.
            unsafe { $imp(a) }
        }
        pub(crate) const $konst: Kernels = Kernels {
            name: stringify!($gemm),
            half: $half,
            fused: $fused,
            lanes: <$S as Simd>::LANES,
            gather: $gather,
            scatter: $scatter,
            fwd8: $fwd8,
            fwd16: $fwd16,
            inv8: $inv8,
            inv16: $inv16,
            gemm: $gemm,
        };
    };
}

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

use cpu_probe::{Entry, Isa, Table};

/// Output channels per register block of the tuple GEMM (every variant).
pub const MR: usize = 4;

/// The kernel families of this build, portable first, best last. Each entry is named after its
/// tuple GEMM micro-kernel, XNNPACK style `cgemm_<output channels>x<tiles>__<isa>`; its
/// transforms carry the same suffix (`fft_fwd_8x8__avx2`, `fft_inv_16x16__avx512`, ...).
///
/// ```
/// use fft_conv::ukernel::FFT;
/// assert_eq!(FFT.all()[0].name, "cgemm_2x4__scalar");
/// let best = FFT.best();
/// assert!(FFT.by_name(best.name).is_ok());
/// assert!(best.kernels.lanes() >= 4);
/// ```
pub static FFT: Table<Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: scalar::KERNELS.name,
        kernels: scalar::KERNELS,
    },
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: aarch64::neon::KERNELS.name,
        kernels: aarch64::neon::KERNELS,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: x86_64::avx2::KERNELS_AVX2.name,
        kernels: x86_64::avx2::KERNELS_AVX2,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: x86_64::avx512::KERNELS_AVX512.name,
        kernels: x86_64::avx512::KERNELS_AVX512,
    },
]);

/// One entry of [`FFT`].
pub type FftEntry = Entry<Kernels>;

/// Forward transform of one block of `L` spatial tiles: `(tile, mid, x, bin_stride)`.
///
/// # Safety
/// `tile` holds `T·T·L` floats, `mid` is writable for `T·H·2·L` floats, `x + b·bin_stride` is
/// writable for `2·L` floats for every bin `b` of [`crate::pack::bins`], and the CPU supports the
/// variant's ISA.
pub(crate) type FwdFn = unsafe fn(*const f32, *mut f32, *mut f32, usize);

/// Inverse transform of one block: `(y, bin_stride, rows, post, mid, out)`; `out` receives `rows`
/// rows (rounded up to even, at most `T`) of `T` columns `[row][col][L]` with bias and clamp, of
/// which columns `< post.cols` (at least) are specified.
///
/// # Safety
/// `y + b·bin_stride` is readable for `2·L` floats for every bin, `mid` is writable for
/// `T·H·2·L` floats, `out` for `T·T·L` floats, `rows <= T`, and the CPU supports the ISA.
pub(crate) type InvFn = unsafe fn(*const f32, usize, usize, &Post, *mut f32, *mut f32);

/// Tuple GEMM of one frequency bin.
///
/// # Safety
/// The pointers of [`GemmArgs`] cover the sizes it documents; the CPU supports the ISA.
pub(crate) type GemmFn = unsafe fn(&GemmArgs);

/// What the output transform adds after the inverse FFT, and how many columns of each row the
/// caller reads (`cols <= T`; the output tile's width): the non-fused inverse transforms may
/// leave the columns from `max(cols, rows)` on unspecified (the last butterfly stage skips them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Post {
    pub bias: f32,
    pub clamp: Option<(f32, f32)>,
    pub cols: usize,
}

/// One bin of the tuple GEMM: `y[g][oc] = Σ_ic w[oc][ic] · x[g][ic]` (complex, `L` tiles a
/// vector).
pub(crate) struct GemmArgs {
    /// Input channels.
    pub cin: usize,
    /// Output channel blocks of [`MR`].
    pub oc_blocks: usize,
    /// Tile blocks of `L` tiles.
    pub groups: usize,
    /// `[oc_blocks][cin][MR][3]` floats (see [`crate::pack`]).
    pub w: *const f32,
    /// `[groups][cin][2][L]` floats.
    pub x: *const f32,
    /// `[groups][oc_blocks·MR][2][L]` floats, written.
    pub y: *mut f32,
}

/// Where the `T × T` input patch of each lane lies: element `(a, b)` of lane `i` is
/// `input[origin[i] + a·w + b]` when `rows[i].0 <= a < rows[i].1` and `cols[i].0 <= b < cols[i].1`,
/// zero otherwise (padding, or a lane past the last tile with an empty row range).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Lanes {
    pub origin: [isize; 16],
    pub rows: [(usize, usize); 16],
    pub cols: [(usize, usize); 16],
}

/// Fills a `[T][T][L]` spatial block from the input: `(input, w, t, lanes, tile)`.
///
/// # Safety
/// Every in-range element of [`Lanes`] is a valid index of `input`, and `input` has at most
/// `i32::MAX` elements (the AVX gathers use 32-bit indices); `tile` is writable for `T·T·L`
/// floats; the CPU supports the ISA.
pub(crate) type GatherFn = unsafe fn(*const f32, usize, usize, &Lanes, *mut f32);

/// Portable gather (any lane count `L`, no index-width limit).
///
/// # Safety
/// As [`GatherFn`], without the `i32::MAX` limit.
#[inline(always)]
pub(crate) unsafe fn gather_generic<const L: usize>(
    input: *const f32,
    w: usize,
    t: usize,
    d: &Lanes,
    tile: *mut f32,
) {
    for lane in 0..L {
        let (a0, a1) = d.rows[lane];
        let (b0, b1) = d.cols[lane];
        for a in 0..t {
            // SAFETY: `(a·t + b)·L + lane < t·t·L`; in-range elements are valid input indices.
            unsafe {
                let dst = tile.add(a * t * L + lane);
                if a < a0 || a >= a1 || b0 >= b1 {
                    for b in 0..t {
                        *dst.add(b * L) = 0.0;
                    }
                    continue;
                }
                let row = input.offset(d.origin[lane] + (a * w) as isize);
                for b in 0..b0 {
                    *dst.add(b * L) = 0.0;
                }
                for b in b0..b1 {
                    *dst.add(b * L) = *row.add(b);
                }
                for b in b1..t {
                    *dst.add(b * L) = 0.0;
                }
            }
        }
    }
}

/// Where each lane's cropped output tile goes: rows `p < rows[i]`, columns `q < cols[i]` of
/// lane `i` are written to `out[base[i] + p·ow + q]` (`rows[i] = 0` for lanes past the end).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OutLanes {
    pub base: [usize; 16],
    pub rows: [usize; 16],
    pub cols: [usize; 16],
}

/// Writes the cropped output tiles of a `[T][T][L]` block: `(tile, t, ow, lanes, out)`.
///
/// # Safety
/// `tile` holds `T·T·L` floats; every written position is inside `out`, and no other thread
/// writes those positions concurrently; `rows[i], cols[i] <= T`; the CPU supports the ISA.
pub(crate) type ScatterFn = unsafe fn(*const f32, usize, usize, &OutLanes, *mut f32);

/// Portable scatter.
///
/// # Safety
/// As [`ScatterFn`].
#[inline(always)]
pub(crate) unsafe fn scatter_generic<const L: usize>(
    tile: *const f32,
    t: usize,
    ow: usize,
    d: &OutLanes,
    out: *mut f32,
) {
    for lane in 0..L {
        for p in 0..d.rows[lane] {
            // SAFETY: contract of `ScatterFn`; `(p·t + q)·L + lane < t·t·L`.
            unsafe {
                let o = out.add(d.base[lane] + p * ow);
                let s = tile.add(p * t * L + lane);
                for q in 0..d.cols[lane] {
                    *o.add(q) = *s.add(q * L);
                }
            }
        }
    }
}

/// Forward transform reading the input directly (gather fused into the row FFTs):
/// `(input, w, lanes, mid, x, bin_stride)`.
///
/// # Safety
/// Every in-range element of [`Lanes`] is a valid index of `input` (no index-width limit);
/// `mid`, `x` and the ISA as for [`FwdFn`].
pub(crate) type FwdInFn = unsafe fn(*const f32, usize, &Lanes, *mut f32, *mut f32, usize);

/// Inverse transform writing the cropped output tiles directly (scatter fused into the row
/// IFFTs): `(y, bin_stride, rows, post, mid, ow, lanes, out)`.
///
/// # Safety
/// `y`, `mid`, `rows` and the ISA as for [`InvFn`]; `out`, `ow` and the lanes as for
/// [`ScatterFn`], with `rows >= OutLanes::rows[i]` for every lane.
pub(crate) type InvOutFn =
    unsafe fn(*const f32, usize, usize, &Post, *mut f32, usize, &OutLanes, *mut f32);

/// The fused transforms of a variant that has them (8x8 and 16x16 tiles); a variant may fuse
/// only the forward side.
#[derive(Clone, Copy)]
pub(crate) struct Fused {
    pub fwd8: FwdInFn,
    pub fwd16: FwdInFn,
    pub inv8: Option<InvOutFn>,
    pub inv16: Option<InvOutFn>,
}

/// The entry points of one [`FFT`] entry.
/// (Neither `Clone` nor `Copy`: outside this crate, kernels exist only inside the table,
/// whose entries pair them with the ISA they need.)
pub struct Kernels {
    /// The name of the tuple GEMM function (the entry's name).
    pub(crate) name: &'static str,
    /// Half-width kernels for a last group of at most `lanes / 2` tiles (AVX-512: the 8-lane
    /// kernels compiled with AVX-512 VL), which need the same ISA as these.
    pub(crate) half: Option<&'static Kernels>,
    /// Fused gather + forward and inverse + scatter, if the variant has them.
    pub(crate) fused: Option<Fused>,
    pub(crate) lanes: usize,
    pub(crate) gather: GatherFn,
    pub(crate) scatter: ScatterFn,
    pub(crate) fwd8: FwdFn,
    pub(crate) fwd16: FwdFn,
    pub(crate) inv8: InvFn,
    pub(crate) inv16: InvFn,
    pub(crate) gemm: GemmFn,
}

impl Kernels {
    /// Tiles processed side by side in SIMD lanes.
    pub fn lanes(&self) -> usize {
        self.lanes
    }
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels")
            .field("name", &self.name)
            .field("lanes", &self.lanes)
            .field("half", &self.half.map(|h| h.name))
            .finish_non_exhaustive()
    }
}

/// The vector operations the generic code needs. Every method is `unsafe` because the x86 and
/// NEON implementations call intrinsics that need the ISA enabled in the caller.
pub(crate) trait Simd {
    /// f32 lanes in a vector.
    const LANES: usize;
    /// The vector type.
    type V: Copy;
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn splat(x: f32) -> Self::V;
    /// # Safety
    /// `p` is readable for `LANES` floats; the CPU supports the ISA.
    unsafe fn load(p: *const f32) -> Self::V;
    /// # Safety
    /// `p` is writable for `LANES` floats; the CPU supports the ISA.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c`.
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c − a·b`.
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn fnma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise minimum; a NaN in `b` gives NaN (x86 `minps` returns `b` when either is NaN,
    /// NEON `FMIN` returns NaN), so `min(bound, v)` propagates a NaN `v`.
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum; a NaN in `b` gives NaN (as [`Simd::min`]).
    /// # Safety
    /// The CPU supports the ISA.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
}

pub(crate) mod generic;
