//! The dispatch table of the fp32 path: which transform and tuple-GEMM micro-kernels exist and
//! which this CPU runs.
//!
//! Every entry provides, for each tile size, an input block transform and an output block
//! transform over 16 tiles (the generic code of [`crate::transforms`] instantiated inside a
//! `#[target_feature]` function, so the 16-lane arithmetic compiles to that ISA's registers), and
//! a register-blocked GEMM micro-kernel over the transformed domain:
//!
//! ```text
//! M[r][0..16·NP] (+)= Σ_c U[c][r] · V[c][0..16·NP]    r < MR ≤ 6 output channels,
//!                                                      NP panels of 16 tiles
//! ```
//!
//! | table entry (= GEMM function) | ISA     | accumulators        | file                   |
//! |-------------------------------|---------|---------------------|------------------------|
//! | `tgemm_6x16__scalar`          | Scalar  | 6×16 f32 array      | `scalar.rs`            |
//! | `tgemm_6x16__neon`            | Neon    | 24 q registers      | `aarch64/neon.rs`      |
//! | `tgemm_6x8__aarch32_neon`     | Neon    | 12 q registers ×2   | `arm/neon.rs` (armv7)  |
//! | `tgemm_6x16__avx2`            | Avx2    | 12 ymm registers    | `x86_64/avx2.rs`       |
//! | `tgemm_6x32__avx512`          | Avx512  | 12 zmm registers    | `x86_64/avx512.rs`     |
//!
//! Each is generic over its row count `R ≤ 6` (`tgemm_6x16__avx2::<R>`), so one name covers
//! the six row counts a tile of output channels can have. The Avx512 entry has its own block
//! transforms (masked ymm tile moves, zmm transposes and arithmetic), a single-panel kernel
//! (`tgemm_6x16__avx512`) for a leftover panel and a 6x8 ymm kernel (`tgemm_6x8__avx512`) for a
//! last block of at most 8 tiles. The armv7 entry (`tgemm_6x8__aarch32_neon`, `asm!`) computes
//! a 16-tile panel as two 8-lane halves and has its own F4x4 and F6x6 block transforms.
//!
//! [`TGEMM`] is the dispatch table ([`cpu_probe::Table`]): `TGEMM.best()` is what a plan uses by
//! default, `TGEMM.available()` what tests and benchmarks iterate, `TGEMM.by_name(..)` forces an
//! entry.

/// Defines a tuple-GEMM kernel `$name::<R>` (`R ≤ 6` rows) with the signature of [`GemmFn`], so
/// a kernel file states only the name, the parameter names (in the order of the type) and the
/// body; the attributes (docs with `# Safety`, `#[target_feature]`) are passed through.
macro_rules! tgemm_fn {
    ($(#[$m:meta])* $name:ident($kc:ident, $u:ident, $v:ident, $vps:ident, $mm:ident,
        $mps:ident, $acc:ident) $body:block) => {
        $(#[$m])*
        pub unsafe fn $name<const R: usize>($kc: usize, $u: *const f32, $v: *const f32,
            $vps: usize, $mm: *mut f32, $mps: usize, $acc: bool) $body
    };
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "arm")]
pub mod arm;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use crate::transforms::{Geometry, InJob, OutJob};
use crate::Tile;
use cpu_probe::{Entry, Isa, Table};

/// Rows (output channels) of a GEMM micro-kernel, at most.
pub const MR: usize = 6;

/// Input block transform of one (channel, 16 tiles) job.
///
/// # Safety
/// See [`crate::transforms::input_block`]; the CPU supports the entry's ISA.
pub type InFn = unsafe fn(&Geometry, &InJob);

/// Output block transform of one (output channel, 16 tiles) job.
///
/// # Safety
/// See [`crate::transforms::output_block`]; the CPU supports the entry's ISA.
pub type OutFn = unsafe fn(&Geometry, &OutJob);

/// Tuple-GEMM micro-kernel `(kc, u, v, v_panel_stride, m, m_panel_stride, accumulate)`:
/// for `r < mr` (the kernel's row count) and each of its panels `q`,
/// `m[q·mps + r·16 + l] (+)= Σ_{c<kc} u[c·6 + r] · v[q·vps + c·16 + l]`, `l < 16`.
///
/// # Safety
/// `u` readable for `kc·6` floats, each panel of `v` for `kc·16`, each panel of `m` writable
/// for `mr·16`; the CPU supports the entry's ISA.
pub type GemmFn = unsafe fn(usize, *const f32, *const f32, usize, *mut f32, usize, bool);

/// The input and output block transforms of one tile size.
#[derive(Debug)]
pub struct Transforms {
    pub(crate) input: InFn,
    pub(crate) output: OutFn,
}

/// The kernels of one table entry: the block transforms of each tile size and the tuple-GEMM
/// micro-kernels (the same for every tile).
///
/// The fields are private and the type is neither `Clone` nor constructible outside the crate,
/// so the only values are those of [`TGEMM`]: a plan cannot be handed a kernel for an ISA its
/// entry does not name.
#[derive(Debug)]
pub struct Kernels {
    /// F(2x2,3x3), F(4x4,3x3), F(6x6,3x3) transforms.
    pub(crate) f2x2: Transforms,
    pub(crate) f4x4: Transforms,
    pub(crate) f6x6: Transforms,
    /// GEMM kernels for `mr = 1..=6` (index `mr − 1`), over `panels` panels of 16 tiles.
    pub(crate) gemm: [GemmFn; MR],
    /// Panels of 16 tiles per call of `gemm` (1 or 2).
    pub(crate) panels: usize,
    /// Single-panel GEMM kernels for a leftover panel when `panels == 2`.
    pub(crate) gemm1: [GemmFn; MR],
    /// Half-panel GEMM kernels (lanes 0..8 of one panel only: a last panel with at most 8
    /// tiles), where the ISA has them at full speed per lane.
    pub(crate) gemm_half: Option<[GemmFn; MR]>,
    /// Cost of the input and output transforms per point, tile and channel, in tuple-GEMM
    /// multiply-adds (the [`Tile::Auto`] cost model): measured about 30 with the AVX2 tile moves
    /// (Zen 5: ~0.6 ns per point, tile and channel vs ~0.02 ns per MAC), about 10 for the
    /// AVX-512 transforms (Zen 4, 1 thread: 0.16-0.18 ns vs 0.017-0.018 ns).
    pub(crate) transform_cost: f64,
}

impl Kernels {
    /// The block transforms for `tile` (`Auto` counts as F6x6).
    pub(crate) fn transforms(&self, tile: Tile) -> &Transforms {
        match tile {
            Tile::F2x2 => &self.f2x2,
            Tile::F4x4 => &self.f4x4,
            _ => &self.f6x6,
        }
    }

    /// Panels of 16 tiles per call of the main GEMM kernel (1, or 2 for AVX-512).
    pub fn panels(&self) -> usize {
        self.panels
    }

    /// The kernels of a one-panel entry: the block transforms `[F2X2, F4X4, F6X6]` (of
    /// [`block_transforms!`]), the GEMM kernels for every call (no half-panel kernels) and the
    /// transform cost.
    pub(crate) const fn one_panel(
        [f2x2, f4x4, f6x6]: [Transforms; 3],
        gemm: [GemmFn; MR],
        transform_cost: f64,
    ) -> Kernels {
        Kernels {
            f2x2,
            f4x4,
            f6x6,
            gemm,
            panels: 1,
            gemm1: gemm,
            gemm_half: None,
            transform_cost,
        }
    }
}

/// The dispatch table of the fp32 path: portable scalar first, best last.
pub static TGEMM: Table<Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: "tgemm_6x16__scalar",
        kernels: scalar::KERNELS,
    },
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "tgemm_6x16__neon",
        kernels: aarch64::neon::KERNELS,
    },
    #[cfg(target_arch = "arm")]
    Entry {
        isa: Isa::Neon,
        name: "tgemm_6x8__aarch32_neon",
        kernels: arm::neon::KERNELS,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "tgemm_6x16__avx2",
        kernels: x86_64::avx2::KERNELS,
    },
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: "tgemm_6x32__avx512",
        kernels: x86_64::avx512::KERNELS,
    },
]);

/// The six instantiations `f::<1>` .. `f::<6>` of a GEMM kernel generic over its row count.
macro_rules! rows {
    ($f:ident) => {
        [$f::<1>, $f::<2>, $f::<3>, $f::<4>, $f::<5>, $f::<6>]
    };
}
pub(crate) use rows;

/// Instantiates the six block transforms of one entry inside `#[target_feature]` functions
/// (`in2`/`out2`, `in4`/`out4`, `in6`/`out6` in a module `tf`) and their `Transforms` constants
/// `F2X2`, `F4X4`, `F6X6`.
macro_rules! block_transforms {
    ($(#[$attr:meta])* ; $vec:ty ; $arith:ty ; $io:ty) => {
        mod tf {
            use crate::transforms::{input_block, output_block, Geometry, InJob, OutJob, F2, F4, F6};
            #[allow(unused_imports)]
            use crate::transforms::{Fused, Plain, L};

            // Per tile: the constant, the two functions, then `α`, `m` and the transform matrices.
            crate::ukernel::block_transforms!(@tiles [$(#[$attr])*] ($vec, $arith, $io)
                F2X2 in2 out2 4 2 F2, F4X4 in4 out4 6 4 F4, F6X6 in6 out6 8 6 F6);
        }
    };
    (@tiles $attrs:tt $types:tt $($name:ident $in:ident $out:ident $a:literal $m:literal $f:ident),*) => {$(
        crate::ukernel::block_transforms!(@tile $attrs $types $name $in $out $a $m $f);
    )*};
    (@tile [$($attr:tt)*] ($vec:ty, $arith:ty, $io:ty) $name:ident $in:ident $out:ident
        $a:literal $m:literal $f:ident) => {
        $($attr)*
        pub(crate) unsafe fn $in(g: &Geometry, j: &InJob) {
            // SAFETY: forwarded contract of `InFn`.
            unsafe { input_block::<$a, $m, $f, $vec, $arith, $io>(g, j) }
        }
        $($attr)*
        pub(crate) unsafe fn $out(g: &Geometry, j: &OutJob) {
            // SAFETY: forwarded contract of `OutFn`.
            unsafe { output_block::<$a, $m, $f, $vec, $arith, $io>(g, j) }
        }
        pub(crate) const $name: crate::ukernel::Transforms =
            crate::ukernel::Transforms { input: $in, output: $out };
    };
}
pub(crate) use block_transforms;
