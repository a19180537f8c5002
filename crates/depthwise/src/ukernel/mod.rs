//! Depthwise micro-kernels. A kernel computes `px` output pixels of all channels; the input is
//! given as an indirection list of `px · taps` row pointers (pixel-major, one pointer per tap;
//! padding taps point at a zero / zero-point row), so padding costs no branch.
//!
//! int8 kernels compute `out[p][c] = b'[c] + Σ_t x_t[c] · w'[t][c]` with `w' = w − zw` (i16) and
//! `b' = bias − zx · Σ_t w'[t][c]` folded in at pack time, so the zero point is never subtracted
//! in the inner loop. Every product and pair sum is exact (|x| ≤ 255, |w'| ≤ 255); sums wrap
//! modulo 2^32, and the plan checks that the true accumulator fits i32, so the result is exact.
//! fp32 kernels compute `clamp(bias[c] + Σ_t x_t[c] · w[t][c])` with fused multiply-adds in tap
//! order (the reference order). The clamp keeps NaN (`clamp(NaN) = NaN`): x86 computes
//! `minps(hi, maxps(lo, v))` (both return their second operand when either is NaN), NEON
//! `fmin(fmax(v, lo), hi)` (`FMAX`/`FMIN` return NaN when either is NaN; never
//! `FMAXNM`/`FMINNM`), scalar code compares (`v < lo`, `v > hi` are false for NaN).
//!
//! The kernels are reached through two dispatch tables, [`DWCONV_INT8`] and [`DWCONV_F32`], one
//! entry per ISA level named after its function (`dwconv_c32__avx512vnni` is
//! `x86_64::avx512vnni::dwconv_c32__avx512vnni`). Each entry has its own packed-weight layout
//! (channel tile per ISA) made by its `pack` function, and is specialised for 9 taps (3x3) and 25 taps (5x5) with a generic loop for any
//! other kernel size.

/// Evaluates `$call` with the constant `$K` = `$taps` when that is 9 (3x3) or 25 (5x5), else 0:
/// the kernels' tap-count specialisations (the tap loop fully unrolled), and their generic loop.
// Used by the SIMD kernels (x86_64, aarch64, 32-bit ARM).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm")),
    allow(unused_macros)
)]
macro_rules! by_taps {
    ($taps:expr, $K:ident => $call:expr) => {
        match $taps {
            9 => {
                const $K: usize = 9;
                $call
            }
            25 => {
                const $K: usize = 25;
                $call
            }
            _ => {
                const $K: usize = 0;
                $call
            }
        }
    };
}

/// Runs `$call` over pixel blocks: with `$P` each of the block sizes `$b` in turn (largest
/// first) while a whole block fits, then 1 for the rest; `$p` is the block's first pixel.
// Used by the x86_64 and aarch64 SIMD kernels.
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unused_macros)
)]
macro_rules! pixel_blocks {
    ($px:expr, $p:ident, [$($b:expr),*], $P:ident => $call:expr) => {{
        let mut $p = 0;
        $(
            while $p + $b <= $px {
                const $P: usize = $b;
                $call;
                $p += $b;
            }
        )*
        while $p < $px {
            const $P: usize = 1;
            $call;
            $p += 1;
        }
    }};
}

/// Defines a kernel entry point with the signature of its kind (the dispatch table's function
/// types): `i8` [`DwI8Fn`], `q8` [`DwI8QFn`], `q8s1` [`DwI8QS1Fn`] (all generic over
/// `SIGNED` inputs), `f32` [`DwF32Fn`], `f32s1` [`DwF32S1Fn`]. The parameters are named by the
/// caller, in the order of the function type; the attributes (docs with `# Safety`) and the
/// body are the caller's.
macro_rules! kernel_fn {
    ($(#[$m:meta])* i8 $name:ident($px:ident, $t:ident, $i:ident, $w:ident, $ch:ident, $o:ident)
        $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $name [const SIGNED: bool] ($px: usize, $t: usize,
            $i: *const *const u8, $w: *const i32, $ch: usize, $o: *mut i32) $body);
    };
    ($(#[$m:meta])* q8 $name:ident($px:ident, $t:ident, $i:ident, $w:ident, $ch:ident,
        $q:ident, $o:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $name [const SIGNED: bool] ($px: usize, $t: usize,
            $i: *const *const u8, $w: *const i32, $ch: usize,
            $q: &$crate::ukernel::Fp32Requant<'_>, $o: *mut u8) $body);
    };
    ($(#[$m:meta])* q8s1 $name:ident($px:ident, $kw:ident, $sw:ident, $t:ident, $i:ident,
        $w:ident, $ch:ident, $q:ident, $o:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $name [const SIGNED: bool] ($px: usize, $kw: usize, $sw: usize,
            $t: usize, $i: *const *const u8, $w: *const i32, $ch: usize,
            $q: &$crate::ukernel::Fp32Requant<'_>, $o: *mut u8) $body);
    };
    ($(#[$m:meta])* f32 $name:ident($px:ident, $t:ident, $i:ident, $w:ident, $ch:ident,
        $lo:ident, $hi:ident, $o:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $name [] ($px: usize, $t: usize, $i: *const *const f32,
            $w: *const f32, $ch: usize, $lo: f32, $hi: f32, $o: *mut f32) $body);
    };
    ($(#[$m:meta])* f32s1 $name:ident($px:ident, $kw:ident, $t:ident, $i:ident, $w:ident,
        $ch:ident, $lo:ident, $hi:ident, $o:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $name [] ($px: usize, $kw: usize, $t: usize,
            $i: *const *const f32, $w: *const f32, $ch: usize, $lo: f32, $hi: f32, $o: *mut f32)
            $body);
    };
    (@ [$($m:tt)*] $name:ident [$($g:tt)*] ($($p:ident: $ty:ty),*) $body:block) => {
        $($m)*
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $name<$($g)*>($($p: $ty),*) $body
    };
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "arm")]
pub mod arm;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod f32_tiles;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use crate::DwError;
use cpu_probe::alloc::try_with_capacity;
use cpu_probe::{Entry, Isa, Table};
pub use quant_params::int8::Fp32Requant;

/// int8 row kernel: `(px, taps, indirection, packed weights, channels, out)`. `SIGNED` inputs are
/// sign-extended bytes (i8), otherwise zero-extended (u8); selected by the plan.
///
/// # Safety
/// `ind` holds `px · taps` pointers, each readable for `channels` bytes; `w` is the packed buffer
/// of the same variant for `(taps, channels)`; `out` is writable for `px · channels` i32; the CPU
/// supports the kernel's ISA.
pub type DwI8Fn = unsafe fn(usize, usize, *const *const u8, *const i32, usize, *mut i32);

/// fp32 row kernel: `(px, taps, indirection, packed weights, channels, lo, hi, out)`.
///
/// # Safety
/// As [`DwI8Fn`], with f32 rows and output (`px · channels` f32).
pub type DwF32Fn =
    unsafe fn(usize, usize, *const *const f32, *const f32, usize, f32, f32, *mut f32);

/// fp32 row kernel for stride 1 and dilation 1 along W: `(px, kw, taps, indirection, packed
/// weights, channels, lo, hi, out)`; it may read a pixel's tap `kx` through the pointer of the
/// previous pixel's tap `kx + 1`, which is the same pointer under that geometry.
///
/// # Safety
/// As [`DwF32Fn`], and `ind[(p + 1)·taps + ky·kw + kx] == ind[p·taps + ky·kw + kx + 1]` for
/// every pixel `p + 1 < px`, row `ky` and `kx + 1 < kw`.
pub type DwF32S1Fn =
    unsafe fn(usize, usize, usize, *const *const f32, *const f32, usize, f32, f32, *mut f32);

/// int8 kernel with [`Fp32Requant`] fused: `(px, taps, indirection, packed weights, channels,
/// requantization, out)`, `out` writable for `px · channels` bytes; otherwise as [`DwI8Fn`].
pub type DwI8QFn =
    unsafe fn(usize, usize, *const *const u8, *const i32, usize, &Fp32Requant<'_>, *mut u8);

/// int8 kernel with [`Fp32Requant`] fused, for dilation 1 along W and 8-bit weights (`w'` in
/// `[-128, 127]`): `(px, kw, stride along W, taps, indirection, packed weights, channels,
/// requantization, out)`; it may read a pixel's tap `kx` through the previous pixel's tap
/// `kx + sw`.
///
/// # Safety
/// As [`DwI8QFn`], with `ind[(p + 1)·taps + ky·kw + kx] == ind[p·taps + ky·kw + kx + sw]` for
/// every pixel `p + 1 < px`, row `ky` and `kx + sw < kw`, and a kernel size and stride the
/// variant lists.
pub type DwI8QS1Fn = unsafe fn(
    usize,
    usize,
    usize,
    usize,
    *const *const u8,
    *const i32,
    usize,
    &Fp32Requant<'_>,
    *mut u8,
);

/// Packs int8 weights for a [`DwI8QS1Fn`]: `(kh, kw, channels, w' tap-major, folded bias,
/// signed inputs)` → packed words; an error if the slices do not have `kh·kw·channels` and
/// `channels` elements or the packed size overflows `usize` or cannot be allocated.
pub type PackI8S1Fn = fn(usize, usize, usize, &[i32], &[i32], bool) -> Result<Vec<i32>, DwError>;

/// Packs int8 weights: `(taps, channels, w' tap-major (w − zw), folded bias)` → packed words;
/// errors as [`PackI8S1Fn`].
pub type PackI8Fn = fn(usize, usize, &[i32], &[i32]) -> Result<Vec<i32>, DwError>;
/// Packs fp32 weights: `(taps, channels, w tap-major, bias)` → packed floats; errors as
/// [`PackI8S1Fn`].
pub type PackF32Fn = fn(usize, usize, &[f32], &[f32]) -> Result<Vec<f32>, DwError>;

/// Checks a packer's arguments: `w` has `taps · ch` elements (returned) and `bias` `ch`, so the packers' indices `t·ch + c` (`t < taps`, `c < ch`) stay inside `w`.
pub(crate) fn check_pack(
    taps: usize,
    ch: usize,
    w_len: usize,
    bias_len: usize,
) -> Result<usize, DwError> {
    let n = taps.checked_mul(ch).ok_or_else(|| {
        DwError::Geometry(format!("taps {taps} times channels {ch} overflows usize"))
    })?;
    if w_len != n || bias_len != ch {
        return Err(DwError::Buffer(format!(
            "packing {taps} taps x {ch} channels needs {n} weights and {ch} biases, got {w_len} \
             and {bias_len}"
        )));
    }
    Ok(n)
}

/// `(tiles · tile) · (head + per_tap · taps) + extra` elements: the size of a packed buffer of
/// `tiles` channel tiles, checked.
pub(crate) fn packed_len(
    tiles: usize,
    tile: usize,
    head: usize,
    per_tap: usize,
    taps: usize,
    extra: usize,
) -> Result<usize, DwError> {
    tiles
        .checked_mul(tile)
        .and_then(|c| {
            per_tap
                .checked_mul(taps)
                .and_then(|v| v.checked_add(head))
                .and_then(|v| v.checked_mul(c))
        })
        .and_then(|v| v.checked_add(extra))
        .ok_or_else(|| {
            DwError::Geometry(format!(
                "packed weights of {tiles} tiles of {tile} channels and {taps} taps overflow usize"
            ))
        })
}

/// The int8 kernels of one table entry, with their packer; variants of the kernel with the
/// per-tensor `Fp32` requantization fused (and a column-reusing one) when the ISA has them.
#[derive(Clone, Copy, Debug)]
pub struct Int8Kernels {
    /// Packs the weights for [`Int8Kernels::u8`], [`Int8Kernels::i8`] and the fused kernels.
    pub pack: PackI8Fn,
    /// The entry's function (the entry's name) for u8 inputs.
    pub u8: DwI8Fn,
    /// The same function for i8 inputs.
    pub i8: DwI8Fn,
    /// The kernel with the per-tensor Fp32 requantization fused, if any (same packed layout).
    pub fused: Option<FusedKernels>,
    /// The fused kernel with 8-bit weights and column reuse along W, if any.
    pub fused_s1: Option<FusedS1Kernels>,
}

/// A kernel with the per-tensor `Fp32` requantization fused into its store.
#[derive(Clone, Copy, Debug)]
pub struct FusedKernels {
    /// Its function's name.
    pub name: &'static str,
    /// For u8 inputs.
    pub u8: DwI8QFn,
    /// For i8 inputs.
    pub i8: DwI8QFn,
}

/// A fused kernel with 8-bit weights (`w'` in `[-128, 127]`) and column reuse along W, with its
/// own packer: the kernel sizes `[kh, kw]` and strides along W it takes (dilation 1 along W).
#[derive(Clone, Copy, Debug)]
pub struct FusedS1Kernels {
    /// Its function's name.
    pub name: &'static str,
    /// Its packer.
    pub pack: PackI8S1Fn,
    /// For u8 inputs.
    pub u8: DwI8QS1Fn,
    /// For i8 inputs.
    pub i8: DwI8QS1Fn,
    /// The kernel sizes it takes.
    pub sizes: &'static [[usize; 2]],
    /// The strides along W it takes.
    pub strides: &'static [usize],
    /// The smallest `w'` (weight minus its zero point) it is exact for: -128, or -127 for a
    /// kernel that sums two 8-bit products in i16 (`dwconv_c16_mla8_fp32__neon`).
    pub w_min: i32,
}

/// The fp32 kernels of one table entry, with their packer.
#[derive(Clone, Copy, Debug)]
pub struct F32Kernels {
    /// Packs the weights for both kernels.
    pub pack: PackF32Fn,
    /// The entry's function (the entry's name).
    pub run: DwF32Fn,
    /// The kernel for stride 1 and dilation 1 along W (same packed layout), if any: its name
    /// and function.
    pub s1: Option<(&'static str, DwF32S1Fn)>,
}

/// The int8 depthwise micro-kernels of this build, scalar first, best last; an entry's name is
/// its function's. Plans take [`Table::best`] or the entry a caller forces.
pub static DWCONV_INT8: Table<Int8Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: "dwconv_c1__scalar",
        kernels: Int8Kernels {
            pack: scalar::pack_i8,
            u8: scalar::dwconv_c1__scalar::<false>,
            i8: scalar::dwconv_c1__scalar::<true>,
            fused: None,
            fused_s1: None,
        },
    },
    // int8 `smlal` over i16 weights, 16-channel tiles, a tile's weights kept in registers over
    // the row; per-tensor Fp32 requantization fused.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "dwconv_c16__neon",
        kernels: Int8Kernels {
            pack: aarch64::neon::pack_i8,
            u8: aarch64::neon::dwconv_c16__neon::<false>,
            i8: aarch64::neon::dwconv_c16__neon::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c16_fp32__neon",
                u8: aarch64::neon::dwconv_c16_fp32__neon::<false>,
                i8: aarch64::neon::dwconv_c16_fp32__neon::<true>,
            }),
            // 8-bit pairs: weights in [-127, 127] only (plans fall back to the kernel above).
            fused_s1: Some(FusedS1Kernels {
                name: "dwconv_c16_mla8_fp32__neon",
                pack: aarch64::neon::pack_i8_mla8,
                u8: aarch64::neon::dwconv_c16_mla8_fp32__neon::<false>,
                i8: aarch64::neon::dwconv_c16_mla8_fp32__neon::<true>,
                sizes: &[[3, 3], [5, 5]],
                strides: &[1, 2],
                w_min: -127,
            }),
        },
    },
    // armv7: `vmlal.s16` over i16 weights, 8-channel tiles (`asm!`; aarch64's layout);
    // per-tensor Fp32 requantization fused.
    #[cfg(target_arch = "arm")]
    Entry {
        isa: Isa::Neon,
        name: "dwconv_c8__aarch32_neon",
        kernels: Int8Kernels {
            pack: arm::neon::pack_i8,
            u8: arm::neon::dwconv_c8__aarch32_neon::<false>,
            i8: arm::neon::dwconv_c8__aarch32_neon::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c8_fp32__aarch32_neon",
                u8: arm::neon::dwconv_c8_fp32__aarch32_neon::<false>,
                i8: arm::neon::dwconv_c8_fp32__aarch32_neon::<true>,
            }),
            fused_s1: None,
        },
    },
    // `sdot` by vector, 4 taps of 16 channels per 4 instructions, when every `w'` fits s8 (else
    // the `smlal` kernel); per-tensor Fp32 requantization fused; 3x3 stride 1 along W: a
    // column-reusing 8-channel kernel.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::NeonDot,
        name: "dwconv_c16__neondot",
        kernels: Int8Kernels {
            pack: aarch64::neondot::pack_i8,
            u8: aarch64::neondot::dwconv_c16__neondot::<false>,
            i8: aarch64::neondot::dwconv_c16__neondot::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c16_fp32__neondot",
                u8: aarch64::neondot::dwconv_c16_fp32__neondot::<false>,
                i8: aarch64::neondot::dwconv_c16_fp32__neondot::<true>,
            }),
            fused_s1: Some(FusedS1Kernels {
                name: "dwconv_c8s1_fp32__neondot",
                pack: aarch64::neondot::pack_i8_s1,
                u8: aarch64::neondot::dwconv_c8s1_fp32__neondot::<false>,
                i8: aarch64::neondot::dwconv_c8s1_fp32__neondot::<true>,
                sizes: &[[3, 3]],
                strides: &[1],
                w_min: -128,
            }),
        },
    },
    // `vpmaddwd` two taps at a time, 16-channel tiles; per-tensor Fp32 requantization fused.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "dwconv_c16__avx2",
        kernels: Int8Kernels {
            pack: x86_64::avx2::pack_i8,
            u8: x86_64::avx2::dwconv_c16__avx2::<false>,
            i8: x86_64::avx2::dwconv_c16__avx2::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c16_fp32__avx2",
                u8: x86_64::avx2::dwconv_c16_fp32__avx2::<false>,
                i8: x86_64::avx2::dwconv_c16_fp32__avx2::<true>,
            }),
            fused_s1: None,
        },
    },
    // `vpmaddwd` + `vpaddd`, 32-channel tiles; requantization fused.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: "dwconv_c32__avx512",
        kernels: Int8Kernels {
            pack: x86_64::avx512::pack_i8,
            u8: x86_64::avx512::dwconv_c32__avx512::<false>,
            i8: x86_64::avx512::dwconv_c32__avx512::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c32_fp32__avx512",
                u8: x86_64::avx512::dwconv_c32_fp32__avx512::<false>,
                i8: x86_64::avx512::dwconv_c32_fp32__avx512::<true>,
            }),
            fused_s1: None,
        },
    },
    // `vpdpwssd`; 3x3 and 5x5 with stride 1 or 2 along W and 8-bit `w'`: `vpdpbusd` over four
    // kernel rows, 64-channel tiles.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512Vnni,
        name: "dwconv_c32__avx512vnni",
        kernels: Int8Kernels {
            pack: x86_64::avx512::pack_i8,
            u8: x86_64::avx512vnni::dwconv_c32__avx512vnni::<false>,
            i8: x86_64::avx512vnni::dwconv_c32__avx512vnni::<true>,
            fused: Some(FusedKernels {
                name: "dwconv_c32_fp32__avx512vnni",
                u8: x86_64::avx512vnni::dwconv_c32_fp32__avx512vnni::<false>,
                i8: x86_64::avx512vnni::dwconv_c32_fp32__avx512vnni::<true>,
            }),
            fused_s1: Some(FusedS1Kernels {
                name: "dwconv_c64s1_fp32__avx512vnni",
                pack: x86_64::avx512vnni::pack_i8_s1,
                u8: x86_64::avx512vnni::dwconv_c64s1_fp32__avx512vnni::<false>,
                i8: x86_64::avx512vnni::dwconv_c64s1_fp32__avx512vnni::<true>,
                sizes: &[[3, 3], [5, 5]],
                strides: &[1, 2],
                w_min: -128,
            }),
        },
    },
]);

/// The fp32 depthwise micro-kernels of this build, scalar first, best last; an entry's name is
/// its function's. (NEON with FEAT_DotProd and AVX-512 VNNI run the NEON and AVX-512 ones.)
pub static DWCONV_F32: Table<F32Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: "dwconv_f32_c1__scalar",
        kernels: F32Kernels {
            pack: scalar::pack_f32,
            run: scalar::dwconv_f32_c1__scalar,
            s1: None,
        },
    },
    // 4 channels x 4 pixels; with stride 1 along W, 8 pixels, each input column loaded once.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "dwconv_f32_c4x4__neon",
        kernels: F32Kernels {
            pack: aarch64::neon::pack_f32,
            run: aarch64::neon::dwconv_f32_c4x4__neon,
            s1: Some((
                "dwconv_f32_c4x8s1__neon",
                aarch64::neon::dwconv_f32_c4x8s1__neon,
            )),
        },
    },
    // armv7: 8 channels, `vmla.f32` (`asm!`).
    #[cfg(target_arch = "arm")]
    Entry {
        isa: Isa::Neon,
        name: "dwconv_f32_c8__aarch32_neon",
        kernels: F32Kernels {
            pack: arm::neon::pack_f32,
            run: arm::neon::dwconv_f32_c8__aarch32_neon,
            s1: None,
        },
    },
    // 8 channels x 4 pixels; with stride 1 along W, 8 pixels, each input column loaded once.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "dwconv_f32_c8x4__avx2",
        kernels: F32Kernels {
            pack: x86_64::avx2::pack_f32,
            run: x86_64::avx2::dwconv_f32_c8x4__avx2,
            s1: Some((
                "dwconv_f32_c8x8s1__avx2",
                x86_64::avx2::dwconv_f32_c8x8s1__avx2,
            )),
        },
    },
    // 16 channels x 8 pixels; with stride 1 along W each input column loaded once.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: "dwconv_f32_c16x8__avx512",
        kernels: F32Kernels {
            pack: x86_64::avx512::pack_f32,
            run: x86_64::avx512::dwconv_f32_c16x8__avx512,
            s1: Some((
                "dwconv_f32_c16x8s1__avx512",
                x86_64::avx512::dwconv_f32_c16x8s1__avx512,
            )),
        },
    },
]);

#[cfg(target_arch = "x86_64")]
/// Packs int8 weights for the x86 pair-interleaved layout used with `vpmaddwd` / `vpdpwssd`:
/// channel tiles of `tile` (16 or 32, zero-padded); per tile the folded bias (`tile` i32, in the
/// accumulators' order), then per pair of taps `(2p, 2p+1)` the i32 words `w'[2p][c] | w'[2p+1][c] << 16`
/// (an odd last tap is paired with zero), in the order that `vpunpck{l,h}wd` produces within
/// each 128-bit lane: the `lo` half holds channels `8L..8L+3` of lane `L`, the `hi` half `8L+4..8L+7`.
pub(crate) fn pack_i8_pairs(
    tile: usize,
    taps: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_with_capacity(pairs_len(tile, taps, ch)?, "packed weights")?;
    pack_i8_pairs_range(tile, taps, ch, 0, ch, w, bias, &mut out);
    Ok(out)
}

#[cfg(target_arch = "x86_64")]
/// Words [`pack_i8_pairs_range`] appends for `ch` channels (checked).
pub(crate) fn pairs_len(tile: usize, taps: usize, ch: usize) -> Result<usize, DwError> {
    packed_len(ch.div_ceil(tile), tile, 1, 1, taps.div_ceil(2), 0)
}

#[cfg(target_arch = "x86_64")]
/// [`pack_i8_pairs`] for channels `c0..c1` only, appended to `out`. The caller has checked the
/// slices ([`check_pack`]) and reserved the size ([`pairs_len`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_i8_pairs_range(
    tile: usize,
    taps: usize,
    ch: usize,
    c0: usize,
    c1: usize,
    w: &[i32],
    bias: &[i32],
    out: &mut Vec<i32>,
) {
    let pairs = taps.div_ceil(2);
    let half = tile / 2;
    // Channel of accumulator slot i (0..tile): lo half then hi half.
    let slot = |i: usize| {
        let (h, j) = (i / half, i % half);
        8 * (j / 4) + 4 * h + j % 4
    };
    for base in (c0..c1).step_by(tile) {
        for i in 0..tile {
            let c = base + slot(i);
            out.push(if c < c1 { bias[c] } else { 0 });
        }
        for p in 0..pairs {
            for i in 0..tile {
                let c = base + slot(i);
                let get = |t: usize| {
                    if c < c1 && t < taps {
                        w[t * ch + c] as i16 as u16 as u32
                    } else {
                        0
                    }
                };
                out.push((get(2 * p) | (get(2 * p + 1) << 16)) as i32);
            }
        }
    }
}

/// Packs fp32 weights in channel tiles of `tile` (zero-padded): per tile `tile` biases, then
/// `taps × tile` weights.
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
pub(crate) fn pack_f32_tiles(
    tile: usize,
    taps: usize,
    ch: usize,
    w: &[f32],
    bias: &[f32],
) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let tiles = ch.div_ceil(tile);
    let mut out = try_with_capacity(packed_len(tiles, tile, 1, 1, taps, 0)?, "packed weights")?;
    for t0 in 0..tiles {
        let base = t0 * tile;
        for i in 0..tile {
            out.push(bias.get(base + i).copied().unwrap_or(0.0));
        }
        for t in 0..taps {
            for i in 0..tile {
                let c = base + i;
                out.push(if c < ch { w[t * ch + c] } else { 0.0 });
            }
        }
    }
    Ok(out)
}
