//! The igemm micro-kernels: which exist ([`IGEMM`]), which this CPU can run.
//!
//! Every micro-kernel computes, for an `MR × NR` tile, `S[m][j] = Σ_t Σ_k a'[t][m][k] · w'[t][k][j]`
//! in wrapping i32, starting from the block's folded bias, (see [`crate::pack`] for the operand domain), reading row `m` of tap `t`
//! through the pointer `a[t · MR + m]` (the indirection buffer) and the packed weights of one
//! `NR` block. It stores the `mr × nr` valid part to `out` with row stride `out_stride`.

/// Defines a micro-kernel function with the signature of its kind, so a kernel file states only
/// the name, the parameter names (in the order of the function type) and the body: `igemm`
/// [`IgemmFn`], `igemm_fp32` [`IgemmFp32Fn`], `gemm_fp32` [`GemmFp32Fn`], `gemm_i32`
/// [`GemmI32Fn`], and `tile`, the aarch64 tile bodies behind an `igemm`/`igemm_fp32` pair
/// (`igemm`'s parameters, then `q`, the first column `col`, the `out::Stage`, and `out` as
/// bytes); `fast_fp32` / `fast_i32`, the aarch64 whole-block paths (`IgemmFp32Fn`'s parameters
/// with the stage after `q`, or the i32 ones over `ncols`; returning the columns they stored). The attributes (docs with `# Safety`, `#[target_feature]`), the visibility and
/// const generics (`[const OUT: u8]`) are passed through.
macro_rules! kernel_fn {
    ($(#[$m:meta])* $vis:vis igemm $name:ident $([$($g:tt)*])? ($mr:ident, $nr:ident, $taps:ident,
        $kc:ident, $a:ident, $x:ident, $w:ident, $bias:ident, $out:ident, $os:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $vis $name [$($($g)*)?] ($mr: usize, $nr: usize, $taps: usize,
            $kc: usize, $a: *const *const u8, $x: u8, $w: *const i8, $bias: *const i32,
            $out: *mut i32, $os: usize) $body);
    };
    ($(#[$m:meta])* $vis:vis igemm_fp32 $name:ident $([$($g:tt)*])? ($mr:ident, $n:ident,
        $ws:ident, $taps:ident, $kc:ident, $a:ident, $x:ident, $w:ident, $bias:ident, $q:ident,
        $out:ident, $os:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $vis $name [$($($g)*)?] ($mr: usize, $n: usize, $ws: usize,
            $taps: usize, $kc: usize, $a: *const *const u8, $x: u8, $w: *const i8,
            $bias: *const i32, $q: &$crate::ukernel::Fp32Requant, $out: *mut u8, $os: usize)
            $body);
    };
    ($(#[$m:meta])* $vis:vis gemm_fp32 $name:ident ($mb:ident, $n:ident, $ws:ident, $kc4:ident,
        $a:ident, $lda:ident, $x:ident, $w:ident, $bias:ident, $q:ident, $out:ident, $os:ident)
        $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $vis $name [] ($mb: usize, $n: usize, $ws: usize, $kc4: usize,
            $a: *const u8, $lda: usize, $x: u8, $w: *const i8, $bias: *const i32,
            $q: &$crate::ukernel::Fp32Requant, $out: *mut u8, $os: usize) $body);
    };
    ($(#[$m:meta])* $vis:vis gemm_i32 $name:ident ($mb:ident, $n:ident, $ws:ident, $kc4:ident,
        $a:ident, $lda:ident, $x:ident, $w:ident, $bias:ident, $out:ident, $os:ident)
        $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $vis $name [] ($mb: usize, $n: usize, $ws: usize, $kc4: usize,
            $a: *const u8, $lda: usize, $x: u8, $w: *const i8, $bias: *const i32,
            $out: *mut i32, $os: usize) $body);
    };
    ($(#[$m:meta])* $vis:vis tile $name:ident [$($g:tt)*] ($mr:ident, $nr:ident, $taps:ident,
        $kc:ident, $a:ident, $x:ident, $w:ident, $bias:ident, $q:ident, $col:ident, $st:ident,
        $out:ident, $os:ident) $body:block) => {
        kernel_fn!(@ [$(#[$m])*] $vis $name [$($g)*] ($mr: usize, $nr: usize, $taps: usize,
            $kc: usize, $a: *const *const u8, $x: u8, $w: *const i8, $bias: *const i32,
            $q: &$crate::ukernel::Fp32Requant, $col: usize,
            $st: &$crate::ukernel::aarch64::out::Stage, $out: *mut u8, $os: usize) $body);
    };
    ($(#[$m:meta])* $vis:vis fast_fp32 $name:ident ($mr:ident, $n:ident, $ws:ident, $taps:ident,
        $kc:ident, $a:ident, $x:ident, $w:ident, $bias:ident, $q:ident, $st:ident, $out:ident,
        $os:ident) $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis unsafe fn $name($mr: usize, $n: usize, $ws: usize, $taps: usize, $kc: usize,
            $a: *const *const u8, $x: u8, $w: *const i8, $bias: *const i32,
            $q: &$crate::ukernel::Fp32Requant, $st: &$crate::ukernel::aarch64::out::Stage,
            $out: *mut u8, $os: usize) -> usize $body
    };
    ($(#[$m:meta])* $vis:vis fast_i32 $name:ident ($mr:ident, $n:ident, $ws:ident, $taps:ident,
        $kc:ident, $a:ident, $x:ident, $w:ident, $bias:ident, $out:ident, $os:ident)
        $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis unsafe fn $name($mr: usize, $n: usize, $ws: usize, $taps: usize, $kc: usize,
            $a: *const *const u8, $x: u8, $w: *const i8, $bias: *const i32, $out: *mut i32,
            $os: usize) -> usize $body
    };
    (@ [$($m:tt)*] $vis:vis $name:ident [$($g:tt)*] ($($p:ident: $ty:ty),*) $body:block) => {
        $($m)*
        #[allow(clippy::too_many_arguments)]
        $vis unsafe fn $name<$($g)*>($($p: $ty),*) $body
    };
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "arm")]
pub mod arm;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use cpu_probe::{DispatchError, Entry, Isa, Table};

/// The signature of every igemm micro-kernel.
///
/// # Safety
/// `a` points at `taps · MR` pointers, each readable for `kc` bytes; `w` points at one packed
/// block (`taps · kc4 · NR · 4` bytes, `kc4 = ceil(kc / KR) · KR / 4`, zero-padded, `cKR`
/// layout); `bias` points at `NR`
/// i32 that initialise the accumulators; `out` is writable for
/// `mr` rows of `nr` i32 with row stride `out_stride`; `mr <= MR`, `nr <= NR`; the CPU supports
/// the kernel's ISA.
pub type IgemmFn = unsafe fn(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
);

/// The `Fp32` requantization fused into a kernel's store (the definition of
/// `quant_params::Requantizer::requantize` for `RequantScheme::Fp32`): the shared
/// [`quant_params::int8::Fp32Requant`].
pub use quant_params::int8::Fp32Requant;

/// An igemm micro-kernel with [`Fp32Requant`] fused into its store, over several consecutive
/// `NR` blocks in one call: as [`IgemmFn`], but for `ncols` columns (`ceil(ncols / NR)` packed
/// blocks starting at `w`, `w_stride` bytes apart, with their `NR` biases consecutive from
/// `bias`), requantized by `q` and stored as bytes to `out` (row stride `out_stride` bytes),
/// which must be writable for `mr` rows of `ncols` bytes.
pub type IgemmFp32Fn = unsafe fn(
    mr: usize,
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
);

/// A GEMM kernel for plain (strided) A with [`Fp32Requant`] fused: `mb` full blocks of `MR`
/// rows (row `r` at `a + r · lda`, each readable for `kc4 · 4` bytes; the bytes past `kc` may
/// hold anything, their packed weights are zero) against `ncols` columns of packed B (one tap;
/// `ceil(ncols / NR)` blocks from `w`, `w_stride` bytes apart, `NR` biases each from `bias`),
/// stored as bytes to `out` (row stride `out_stride`), all in one call.
///
/// # Safety
/// As stated; `out` is writable for `MR · mb` rows of `ncols` bytes, accessed by no other
/// thread; `q.lo`, `q.hi` are integers with `q.lo + zp`, `q.hi + zp` inside the output type;
/// the CPU supports the kernel's ISA.
pub type GemmFp32Fn = unsafe fn(
    mb: usize,
    ncols: usize,
    w_stride: usize,
    kc4: usize,
    a: *const u8,
    lda: usize,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
);

/// [`GemmFp32Fn`] storing the i32 accumulators instead (`out` writable for `MR · mb` rows of
/// `ncols` i32, row stride `out_stride` elements).
///
/// # Safety
/// As [`GemmFp32Fn`] for A, B and the ISA; `out` as stated, accessed by no other thread.
pub type GemmI32Fn = unsafe fn(
    mb: usize,
    ncols: usize,
    w_stride: usize,
    kc4: usize,
    a: *const u8,
    lda: usize,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
);

/// The kernels of one [`IGEMM`] entry, with their tile shape.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// Rows per tile.
    pub mr: usize,
    /// Columns per tile.
    pub nr: usize,
    /// Input channels per packed k-group (4: `c4`, 8: `c8`; see [`crate::pack`]).
    pub kr: usize,
    /// The indirect micro-kernel (the function the entry is named after).
    pub run: IgemmFn,
    /// The same kernel with the `Fp32` requantization (per tensor or per channel) fused into
    /// its store, where the entry has one (`igemm_6x8c4__avx2`, AVX-512 VNNI, the aarch64
    /// 8x8c4 / 2x8c16 / 4x16c4 / 4x16c8; for `Rndnu` see [`Kernels::run_rndnu`]).
    pub run_fp32: Option<IgemmFp32Fn>,
    /// A strided-A GEMM kernel with the same fusion that runs many row blocks per call, where
    /// the entry has one: the driver's path for plain GEMM.
    pub gemm_fp32: Option<GemmFp32Fn>,
    /// The strided-A kernel with i32 output (the driver's path for i32 C).
    pub gemm_i32: Option<GemmI32Fn>,
    /// Whether the kernel multiplies signed activations `a'' = a' − 128` (SDOT): the plan then
    /// passes one more xor with 0x80 and folds `128·Σw'` into the bias.
    pub signed_a: bool,
    /// The smallest packed weight `w'` the kernel is exact for: −128 (every weight) except for
    /// kernels that sum two 8-bit products in i16 (`igemm_2x8c16__neon`: −127, so that
    /// `|a''·w'| · 2 <= 32512`). Plans choose such an entry only for weights inside its range
    /// ([`choose`]).
    pub w_min: i8,
    /// The indirect entry with the `Rndnu` form of [`Fp32Requant`] (`rndnu` set) fused instead,
    /// where the entry has one (the aarch64 8x8c4 / 2x8c16 / 4x16c4 / 4x16c8).
    /// [`Kernels::run_fp32`] and [`Kernels::gemm_fp32`] are only ever given the `Fp32` form
    /// ([`Kernels::fused`], [`Kernels::fused_entries`]).
    pub run_rndnu: Option<IgemmFp32Fn>,
    /// The strided-A entry of [`Kernels::run_rndnu`].
    pub gemm_rndnu: Option<GemmFp32Fn>,
}

/// One entry of [`IGEMM`]: the ISA level, the name (= the name of the function in
/// [`Kernels::run`]) and the kernels.
pub type Kernel = Entry<Kernels>;

/// The kernels of a plain (c4, indirect-only) entry.
const fn plain(mr: usize, nr: usize, run: IgemmFn, signed_a: bool) -> Kernels {
    Kernels {
        mr,
        nr,
        kr: 4,
        run,
        run_fp32: None,
        gemm_fp32: None,
        gemm_i32: None,
        signed_a,
        w_min: i8::MIN,
        run_rndnu: None,
        gemm_rndnu: None,
    }
}

impl Kernels {
    /// These kernels with the fused-`Fp32` form [`Kernels::run_fp32`].
    #[cfg_attr(
        not(any(target_arch = "aarch64", target_arch = "x86_64")),
        allow(dead_code)
    )]
    const fn with_fp32(self, run_fp32: IgemmFp32Fn) -> Kernels {
        Kernels {
            run_fp32: Some(run_fp32),
            ..self
        }
    }

    /// These kernels with the strided-A forms [`Kernels::gemm_fp32`] and [`Kernels::gemm_i32`].
    #[cfg_attr(
        not(any(target_arch = "aarch64", target_arch = "x86_64")),
        allow(dead_code)
    )]
    const fn with_strided(self, gemm_fp32: GemmFp32Fn, gemm_i32: GemmI32Fn) -> Kernels {
        Kernels {
            gemm_fp32: Some(gemm_fp32),
            gemm_i32: Some(gemm_i32),
            ..self
        }
    }

    /// These kernels with the `Rndnu` fused entries [`Kernels::run_rndnu`],
    /// [`Kernels::gemm_rndnu`].
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    const fn with_rndnu(self, run: IgemmFp32Fn, gemm: GemmFp32Fn) -> Kernels {
        Kernels {
            run_rndnu: Some(run),
            gemm_rndnu: Some(gemm),
            ..self
        }
    }

    /// The stage these kernels' fused entries take for `r`, if they have entries for its scheme
    /// (`Fp32`: [`Kernels::run_fp32`]; `Rndnu`: [`Kernels::run_rndnu`]).
    pub fn fused(&self, r: &quant_params::Requantizer) -> Option<Fp32Requant<'static>> {
        match r.scheme() {
            quant_params::RequantScheme::Fp32 if self.run_fp32.is_some() => {
                Fp32Requant::from_requantizer(r)
            }
            quant_params::RequantScheme::Rndnu if self.run_rndnu.is_some() => {
                Fp32Requant::from_rndnu(r)
            }
            _ => None,
        }
    }

    /// [`Kernels::fused`] for a per-channel requantizer (channel `j` = column `j`).
    pub fn fused_per_channel<'a>(
        &self,
        r: &'a quant_params::PerChannelRequantizer,
    ) -> Option<Fp32Requant<'a>> {
        match r.channel(0)?.scheme() {
            quant_params::RequantScheme::Fp32 if self.run_fp32.is_some() => {
                Fp32Requant::from_per_channel(r)
            }
            quant_params::RequantScheme::Rndnu if self.run_rndnu.is_some() => {
                Fp32Requant::from_rndnu_per_channel(r)
            }
            _ => None,
        }
    }

    /// The fused entries (indirect, strided) for the stage `q`: [`Kernels::run_fp32`] and
    /// [`Kernels::gemm_fp32`], or the `Rndnu` ones where `q.rndnu` is set.
    pub fn fused_entries(&self, q: &Fp32Requant) -> (Option<IgemmFp32Fn>, Option<GemmFp32Fn>) {
        if q.rndnu.is_some() {
            (self.run_rndnu, self.gemm_rndnu)
        } else {
            (self.run_fp32, self.gemm_fp32)
        }
    }

    /// These kernels on the packing with `kr` channels per k-group.
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    const fn with_kr(self, kr: usize) -> Kernels {
        Kernels { kr, ..self }
    }

    /// These kernels, exact only for packed weights `>= w_min` ([`Kernels::w_min`]).
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    const fn with_w_min(self, w_min: i8) -> Kernels {
        Kernels { w_min, ..self }
    }

    /// Whether these kernels compute exactly with packed weights whose smallest value is
    /// `w_min` (see [`Kernels::w_min`]).
    pub fn exact_for(&self, w_min: i8) -> bool {
        w_min >= self.w_min
    }

    /// Whether a plan should choose these kernels for `taps` taps of `kc` input channels and
    /// packed weights whose smallest value is `w_min`: exact for them, and, for packings of more
    /// than 8 channels per k-group (`igemm_2x8c16__neon`), at least 4 groups per output over
    /// the taps (`K >= 64`), either whole groups (`kc` a multiple of 16: its one-asm
    /// whole-block path runs) or at most 1/4 of each tap's padded channels being padding (the 3
    /// input channels of a first layer would run 16-channel groups at 3/16 use). Below 4 groups
    /// the fixed costs of its 2-row tiles (about 80 instructions per 2 × 8 block besides the
    /// k-loop, against about 130 per 8 × 8 block for `igemm_8x8c4__neon`'s whole-block path)
    /// outweigh its cheaper loop (59 against 82 instructions per 256 MACs). QEMU `cortex-a53`
    /// counts, `igemm_8x8c4__neon` (both with their whole-block paths) over this entry
    /// (2026-12-08): 1x1 K = 16 0.80x (MV2-pw2), K = 32 0.86-0.97x (MV2-pw1, MV1-pw1,
    /// MV2-pw7); K = 64 1.10-1.13x (MV1-pw2, MV2-pw9, Q2), K >= 96 1.11-1.32x, 3x3 with 32
    /// channels (Q4) 1.21x.
    pub fn suits(&self, taps: usize, kc: usize, w_min: i8) -> bool {
        let groups = kc.div_ceil(self.kr);
        self.exact_for(w_min)
            && (self.kr <= 8
                || (taps.saturating_mul(groups) >= 4
                    && (kc.is_multiple_of(self.kr) || groups * self.kr * 3 <= kc * 4)))
    }
}

#[cfg(target_arch = "aarch64")]
use aarch64::{i8mm, neon, neondot};
#[cfg(target_arch = "x86_64")]
use x86_64::{avx2, avx512vnni};

/// Every igemm micro-kernel of this build, portable scalar first, best last. Plans choose
/// [`Table::best`] unless the caller forces an entry (`IGEMM.by_name("igemm_4x8c4__avx2")`).
pub static IGEMM: Table<Kernels> = Table::new(&[
    Entry {
        isa: Isa::Scalar,
        name: "igemm_4x8c4__scalar",
        kernels: plain(scalar::MR, scalar::NR, scalar::igemm_4x8c4__scalar, false),
    },
    // NEON, i16-widening `smlal` by lane.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "igemm_4x8c4__neon",
        kernels: plain(neon::MR, neon::NR, neon::igemm_4x8c4__neon, false),
    },
    // NEON 8×8, QNNPACK class: `smlal` by lane, 16 accumulator registers, fused Fp32 store.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "igemm_8x8c4__neon",
        kernels: plain(neon::MR_8X8, neon::NR_8X8, neon::igemm_8x8c4__neon, false)
            .with_fp32(neon::igemm_8x8c4_fp32__neon)
            .with_rndnu(neon::igemm_8x8c4_rndnu__neon, neon::gemm_8x8c4_rndnu__neon)
            .with_strided(neon::gemm_8x8c4_fp32__neon, neon::gemm_8x8c4_i32__neon),
    },
    // NEON 2×8, 8-bit `smull`/`smlal2` into i16 pairs + `sadalp` (MLAS/gemmlowp class): `c16`
    // packing, signed activations, weights >= -127 only (plans fall back to the entry above).
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "igemm_2x8c16__neon",
        kernels: plain(neon::MR_2X8, neon::NR_2X8, neon::igemm_2x8c16__neon, true)
            .with_kr(neon::KR_2X8)
            .with_w_min(-127)
            .with_fp32(neon::igemm_2x8c16_fp32__neon)
            .with_rndnu(
                neon::igemm_2x8c16_rndnu__neon,
                neon::gemm_2x8c16_rndnu__neon,
            )
            .with_strided(neon::gemm_2x8c16_fp32__neon, neon::gemm_2x8c16_i32__neon),
    },
    // NEON `sdot` by element (FEAT_DotProd): signed activations.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::NeonDot,
        name: "igemm_4x8c4__neondot",
        kernels: plain(
            neondot::MR,
            neondot::NR,
            neondot::igemm_4x8c4__neondot,
            true,
        ),
    },
    // NEON `sdot` 4×16c4, XNNPACK ld128 class (FEAT_DotProd), fused Fp32 store.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::NeonDot,
        name: "igemm_4x16c4__neondot",
        kernels: plain(
            neondot::MR_4X16,
            neondot::NR_4X16,
            neondot::igemm_4x16c4__neondot,
            true,
        )
        .with_fp32(neondot::igemm_4x16c4_fp32__neondot)
        .with_rndnu(
            neondot::igemm_4x16c4_rndnu__neondot,
            neondot::gemm_4x16c4_rndnu__neondot,
        )
        .with_strided(
            neondot::gemm_4x16c4_fp32__neondot,
            neondot::gemm_4x16c4_i32__neondot,
        ),
    },
    // NEON `sudot` by element (FEAT_I8MM).
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::NeonI8mm,
        name: "igemm_4x8c4__neoni8mm",
        kernels: plain(i8mm::MR, i8mm::NR_C4, i8mm::igemm_4x8c4__neoni8mm, false),
    },
    // NEON `usmmla` 2×8·8×2 matrix multiplies (FEAT_I8MM), `c8` packing, fused Fp32 store.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::NeonI8mm,
        name: "igemm_4x16c8__neoni8mm",
        kernels: plain(i8mm::MR, i8mm::NR, i8mm::igemm_4x16c8__neoni8mm, false)
            .with_kr(8)
            .with_fp32(i8mm::igemm_4x16c8_fp32__neoni8mm)
            .with_rndnu(
                i8mm::igemm_4x16c8_rndnu__neoni8mm,
                i8mm::gemm_4x16c8_rndnu__neoni8mm,
            )
            .with_strided(
                i8mm::gemm_4x16c8_fp32__neoni8mm,
                i8mm::gemm_4x16c8_i32__neoni8mm,
            ),
    },
    // 32-bit ARM NEON 4×8, QNNPACK aarch32 class: `vmlal.s16` by lane, 8 accumulator
    // registers, fused Fp32 store (magic-number rounding).
    #[cfg(target_arch = "arm")]
    Entry {
        isa: Isa::Neon,
        name: "igemm_4x8c4__aarch32_neon",
        kernels: Kernels {
            run_fp32: Some(arm::neon::igemm_4x8c4_fp32__aarch32_neon),
            ..plain(
                arm::neon::MR,
                arm::neon::NR,
                arm::neon::igemm_4x8c4__aarch32_neon,
                false,
            )
        },
    },
    // AVX2, i16-widening `vpmaddwd` (exact).
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "igemm_4x8c4__avx2",
        kernels: plain(avx2::MR, avx2::NR, avx2::igemm_4x8c4__avx2, false),
    },
    // AVX2 `vpmaddwd` (exact), 6 rows widened to i16 once per call, `Fp32` fused store.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "igemm_6x8c4__avx2",
        kernels: plain(avx2::MR_6X8, avx2::NR_6X8, avx2::igemm_6x8c4__avx2, false)
            .with_fp32(avx2::igemm_6x8c4_fp32__avx2),
    },
    // AVX-512 VNNI `vpdpbusd`, with fused-requantization and strided-A entries.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512Vnni,
        name: "igemm_8x32c4__avx512vnni",
        kernels: plain(
            avx512vnni::MR,
            avx512vnni::NR,
            avx512vnni::igemm_8x32c4__avx512vnni,
            false,
        )
        .with_fp32(avx512vnni::igemm_8x32c4_fp32__avx512vnni)
        .with_strided(
            avx512vnni::gemm_8x32c4_fp32__avx512vnni,
            avx512vnni::gemm_8x32c4__avx512vnni,
        ),
    },
]);

/// The entry a plan runs for `taps` taps of `kc` input channels and the packed weights `w_prime`
/// (`w'`, see [`crate::pack`]; their smallest value decides [`Kernels::exact_for`]): `forced` if
/// given (an error if this CPU
/// cannot run it, if it is not one of [`IGEMM`]'s own entries, since a caller-built copy could
/// pair a scalar ISA with kernels this CPU cannot run, or if it is not exact for these weights),
/// else the best available entry that [suits](Kernels::suits) them (the scalar entry suits
/// every problem).
pub fn choose(
    forced: Option<&'static Kernel>,
    taps: usize,
    kc: usize,
    w_prime: &[i8],
) -> Result<&'static Kernel, ChooseError> {
    let w_min = w_prime.iter().copied().min().unwrap_or(0);
    match forced {
        None => Ok(IGEMM
            .available()
            .into_iter()
            .rev()
            .find(|e| e.kernels.suits(taps, kc, w_min))
            .unwrap_or(&IGEMM.all()[0])),
        Some(e) => {
            let e = IGEMM.verify(e).map_err(ChooseError::Dispatch)?;
            if e.kernels.exact_for(w_min) {
                Ok(e)
            } else {
                Err(ChooseError::Weights {
                    kernel: e.name,
                    w_min: e.kernels.w_min,
                    found: w_min,
                })
            }
        }
    }
}

/// Why [`choose`] refused a forced entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChooseError {
    /// This CPU cannot run it, or it is not an entry of [`IGEMM`].
    Dispatch(DispatchError),
    /// It is not exact for these weights.
    Weights {
        /// The entry's name.
        kernel: &'static str,
        /// The smallest packed weight it is exact for.
        w_min: i8,
        /// The smallest packed weight of the plan.
        found: i8,
    },
}

impl core::fmt::Display for ChooseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChooseError::Dispatch(e) => e.fmt(f),
            ChooseError::Weights {
                kernel,
                w_min,
                found,
            } => write!(
                f,
                "{kernel} is exact only for packed weights >= {w_min} (w' = w for i8 weights, \
                 w - 128 for u8), and these weights have {found}; choose another kernel or \
                 none (plans then pick one that is exact)"
            ),
        }
    }
}

impl std::error::Error for ChooseError {}

/// `KR` of the packed layout of the micro-kernel of this build whose tile width is `nr`: 8 for
/// `igemm_4x16c8__neoni8mm` (NR = 16 on aarch64), 4 for every other kernel. Wrong for
/// `igemm_4x16c4__neondot` (NR = 16, KR = 4) and `igemm_2x8c16__neon` (NR = 8, KR = 16), which
/// must be packed with [`crate::pack::pack_kernel`].
/// [`crate::pack::pack`] uses it; new code should pack with [`crate::pack::pack_kernel`].
pub fn kr_for_nr(nr: usize) -> usize {
    if cfg!(target_arch = "aarch64") && nr == 16 {
        8
    } else {
        4
    }
}

/// Reads the 8 bytes of k-group `q` of a row of `kc` bytes, zero-filling past `kc` (no read
/// beyond the row), as a little-endian u64. The partial last group goes through an out-of-line
/// cold call, so a kernel that calls this in its k-loop keeps a tight loop (inlined, the tail
/// code made the AVX2 kernel's loop 40% slower).
///
/// # Safety
/// `row` is readable for `kc` bytes and `8 · q < kc`.
#[allow(dead_code)]
#[inline(always)]
pub(crate) unsafe fn load8(row: *const u8, q: usize, kc: usize) -> u64 {
    let k = 8 * q;
    if k + 8 <= kc {
        // SAFETY: bytes k..k+8 are inside the row (caller contract).
        unsafe { core::ptr::read_unaligned(row.add(k).cast::<u64>()) }
    } else {
        // SAFETY: k < kc (caller contract), kc − k < 8.
        unsafe { load_tail_cold(row.add(k), kc - k) }
    }
}

/// Reads the 4 bytes of k-group `q` of a row of `kc` bytes, zero-filling past `kc` (no read
/// beyond the row), as a little-endian u32; the partial last group as in [`load8`].
///
/// # Safety
/// `row` is readable for `kc` bytes and `4 · q < kc`.
#[inline(always)]
pub(crate) unsafe fn load4(row: *const u8, q: usize, kc: usize) -> u32 {
    let k = 4 * q;
    if k + 4 <= kc {
        // SAFETY: bytes k..k+4 are inside the row (caller contract).
        unsafe { core::ptr::read_unaligned(row.add(k).cast::<u32>()) }
    } else {
        // SAFETY: k < kc (caller contract), kc − k < 4.
        unsafe { load_tail_cold(row.add(k), kc - k) as u32 }
    }
}

/// [`load_tail`] out of line, for the calls inside k-loops.
///
/// # Safety
/// As [`load_tail`].
#[cold]
#[inline(never)]
unsafe fn load_tail_cold(p: *const u8, n: usize) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { load_tail(p, n) }
}

/// The `n < 8` bytes at `p`, zero-extended little-endian. Shifts, not a byte array: LLVM turns
/// a byte-copy loop into a `memcpy` call, and a call inside a kernel makes it spill every vector
/// register around it (the AVX-512 kernel's tail group, outside its k-loop, inlines this).
///
/// # Safety
/// `p` is readable for `n` bytes.
#[inline(always)]
pub(crate) unsafe fn load_tail(p: *const u8, n: usize) -> u64 {
    let mut v = 0u64;
    for i in 0..n {
        // SAFETY: i < n, inside the caller's range.
        v |= u64::from(unsafe { *p.add(i) }) << (8 * i);
    }
    v
}
