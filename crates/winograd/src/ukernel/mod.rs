//! The variant table: which transform and tuple-GEMM micro-kernels exist and which this CPU runs.
//!
//! Every variant provides, for each tile size, an input block transform and an output block
//! transform over 16 tiles (the generic code of [`crate::transforms`] instantiated inside a
//! `#[target_feature]` function, so the 16-lane arithmetic compiles to that ISA's registers), and
//! a register-blocked GEMM micro-kernel over the transformed domain:
//!
//! ```text
//! M[r][0..16·NP] (+)= Σ_c U[c][r] · V[c][0..16·NP]    r < MR ≤ 6 output channels,
//!                                                      NP panels of 16 tiles
//! ```
//!
//! | variant | GEMM kernel              | accumulators        |
//! |---------|--------------------------|---------------------|
//! | Scalar  | `tgemm_6x16__scalar`     | 6×16 f32 array      |
//! | Neon    | `tgemm_6x16__neon`       | 24 q registers      |
//! | Avx2    | `tgemm_6x16__avx2`       | 12 ymm registers    |
//! | Avx512  | `tgemm_6x32__avx512`     | 12 zmm registers    |
//!
//! The Avx512 variant has its own block transforms (masked ymm tile moves, zmm transposes and
//! arithmetic) and a 6x8 ymm kernel for a last block of at most 8 tiles (see
//! `x86_64::kernels_avx512`).

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use crate::transforms::{Geometry, InJob, OutJob};
use crate::Tile;
use cpu_probe::Features;

/// Rows (output channels) of a GEMM micro-kernel, at most.
pub const MR: usize = 6;

/// Input block transform of one (channel, 16 tiles) job.
///
/// # Safety
/// See [`crate::transforms::input_block`]; the CPU supports the variant's ISA.
pub type InFn = unsafe fn(&Geometry, &InJob);

/// Output block transform of one (output channel, 16 tiles) job.
///
/// # Safety
/// See [`crate::transforms::output_block`]; the CPU supports the variant's ISA.
pub type OutFn = unsafe fn(&Geometry, &OutJob);

/// Tuple-GEMM micro-kernel `(kc, u, v, v_panel_stride, m, m_panel_stride, accumulate)`:
/// for `r < mr` (the kernel's row count) and each of its panels `q`,
/// `m[q·mps + r·16 + l] (+)= Σ_{c<kc} u[c·6 + r] · v[q·vps + c·16 + l]`, `l < 16`.
///
/// # Safety
/// `u` readable for `kc·6` floats, each panel of `v` for `kc·16`, each panel of `m` writable
/// for `mr·16`; the CPU supports the variant's ISA.
pub type GemmFn = unsafe fn(usize, *const f32, *const f32, usize, *mut f32, usize, bool);

/// The kernels of one (variant, tile) pair.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// Input block transform.
    pub input: InFn,
    /// Output block transform.
    pub output: OutFn,
    /// GEMM kernels for `mr = 1..=6` (index `mr − 1`), over `panels` panels of 16 tiles.
    pub gemm: [GemmFn; MR],
    /// Panels of 16 tiles per call of `gemm` (1 or 2).
    pub panels: usize,
    /// Single-panel GEMM kernels for a leftover panel when `panels == 2`.
    pub gemm1: [GemmFn; MR],
    /// Half-panel GEMM kernels (lanes 0..8 of one panel only: a last panel with at most 8
    /// tiles), where the ISA has them at full speed per lane.
    pub gemm_half: Option<[GemmFn; MR]>,
}

/// The micro-kernel families of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// Portable code (`tgemm_6x16__scalar`), the fallback everywhere.
    Scalar,
    /// aarch64 NEON (`tgemm_6x16__neon`).
    Neon,
    /// x86_64 AVX2 + FMA (`tgemm_6x16__avx2`).
    Avx2,
    /// x86_64 AVX-512 F/BW/DQ/VL (`tgemm_6x32__avx512`).
    Avx512,
}

impl Variant {
    /// Every variant the running CPU can execute (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        let f = Features::get();
        let mut v = vec![Variant::Scalar];
        if cfg!(target_arch = "aarch64") && f.neon {
            v.push(Variant::Neon);
        }
        if cfg!(target_arch = "x86_64") && f.has_avx2_fma() {
            v.push(Variant::Avx2);
        }
        if cfg!(target_arch = "x86_64") && f.has_avx512() && f.has_avx2_fma() {
            v.push(Variant::Avx512);
        }
        v
    }

    /// The best available variant.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }

    /// Name of the variant's GEMM micro-kernel.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "tgemm_6x16__scalar",
            Variant::Neon => "tgemm_6x16__neon",
            Variant::Avx2 => "tgemm_6x16__avx2",
            Variant::Avx512 => "tgemm_6x32__avx512",
        }
    }

    /// The kernels for `tile`, if this CPU/build can run the variant.
    pub fn kernels(self, tile: Tile) -> Option<Kernels> {
        if !Variant::available().contains(&self) {
            return None;
        }
        match self {
            Variant::Scalar => Some(scalar::kernels(tile)),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some(aarch64::kernels(tile)),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Some(x86_64::kernels_avx2(tile)),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => Some(x86_64::kernels_avx512(tile)),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Instantiates the six block transforms of one variant inside `#[target_feature]` functions
/// and a `transforms(tile) -> (InFn, OutFn)` selector.
macro_rules! block_transforms {
    ($(#[$attr:meta])* ; $vec:ty ; $arith:ty ; $io:ty) => {
        mod tf {
            use crate::transforms::{input_block, output_block, Geometry, InJob, OutJob, F2, F4, F6};
            #[allow(unused_imports)]
            use crate::transforms::{Fused, Plain, L};

            $(#[$attr])*
            pub(crate) unsafe fn in2(g: &Geometry, j: &InJob) {
                // SAFETY: forwarded contract of `InFn`.
                unsafe { input_block::<4, 2, F2, $vec, $arith, $io>(g, j) }
            }
            $(#[$attr])*
            pub(crate) unsafe fn in4(g: &Geometry, j: &InJob) {
                // SAFETY: forwarded contract of `InFn`.
                unsafe { input_block::<6, 4, F4, $vec, $arith, $io>(g, j) }
            }
            $(#[$attr])*
            pub(crate) unsafe fn in6(g: &Geometry, j: &InJob) {
                // SAFETY: forwarded contract of `InFn`.
                unsafe { input_block::<8, 6, F6, $vec, $arith, $io>(g, j) }
            }
            $(#[$attr])*
            pub(crate) unsafe fn out2(g: &Geometry, j: &OutJob) {
                // SAFETY: forwarded contract of `OutFn`.
                unsafe { output_block::<4, 2, F2, $vec, $arith, $io>(g, j) }
            }
            $(#[$attr])*
            pub(crate) unsafe fn out4(g: &Geometry, j: &OutJob) {
                // SAFETY: forwarded contract of `OutFn`.
                unsafe { output_block::<6, 4, F4, $vec, $arith, $io>(g, j) }
            }
            $(#[$attr])*
            pub(crate) unsafe fn out6(g: &Geometry, j: &OutJob) {
                // SAFETY: forwarded contract of `OutFn`.
                unsafe { output_block::<8, 6, F6, $vec, $arith, $io>(g, j) }
            }

            pub(crate) fn select(tile: crate::Tile) -> (crate::ukernel::InFn, crate::ukernel::OutFn) {
                match tile {
                    crate::Tile::F2x2 => (in2, out2),
                    crate::Tile::F4x4 => (in4, out4),
                    _ => (in6, out6),
                }
            }
        }
    };
}
pub(crate) use block_transforms;
