//! The transformed-domain GEMM micro-kernels of the int8 path and their dispatch table
//! [`WGEMM`] (entries named after their GEMM functions, `wgemm_{MR}x{NR}c2__{isa}`).
//!
//! For one Winograd point, `M[T × Cout] = V[T × Kp] · U[Kp × Cout]` with `V`, `U` in i16 and
//! `M` in i32. `U` is packed per block of `NR` output channels as `Kp/2` rows of `NR` i16 pairs
//! (`c2`: input channels `2k` and `2k+1` of one output channel are adjacent), which is the
//! operand order of `vpmaddwd` / `vpdpwssd` and of NEON `vld2q_s16`. `Kp` is the input channel
//! count rounded up to 4 (zero padded in both operands).
//!
//! Every product `u·v` is exact in i32 (|u| ≤ 2295, |v| ≤ 1020); sums wrap modulo 2^32, which is
//! what makes the end result exact (see the [`crate::int8`] docs).

/// Defines a kernel function with the signature of its table type, so a kernel file states only
/// the name, the parameter names (in the order of the type) and the body: `gemm` [`GemmFn`],
/// `input` [`InputFn`], `output` [`OutputFn`]. The attributes (docs with `# Safety`,
/// `#[target_feature]`) are passed through; the function is `pub unsafe`.
macro_rules! kernel_fn {
    ($(#[$m:meta])* gemm $name:ident($kp:ident, $v:ident, $ldv:ident, $u:ident, $mm:ident,
        $ldm:ident) $body:block) => {
        $(#[$m])*
        pub unsafe fn $name($kp: usize, $v: *const i16, $ldv: usize, $u: *const i16,
            $mm: *mut i32, $ldm: usize) $body
    };
    ($(#[$m:meta])* input $name:ident($rows:ident, $cin:ident, $xor:ident, $za:ident,
        $out:ident, $ps:ident) $body:block) => {
        $(#[$m])*
        pub unsafe fn $name($rows: &[&[u8]; 16], $cin: usize, $xor: u8, $za: i16,
            $out: &mut [i16], $ps: usize) $body
    };
    ($(#[$m:meta])* output $name:ident($mm:ident, $ps:ident, $bias:ident, $cout:ident,
        $y:ident) $body:block) => {
        $(#[$m])*
        pub unsafe fn $name($mm: &[i32], $ps: usize, $bias: &[i32], $cout: usize,
            $y: &mut [i32]) $body
    };
}

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use cpu_probe::{Entry, Isa, Table};

/// GEMM micro-kernel `(kp, v, ldv, u, m, ldm)`: writes the `MR × NR` tile
/// `m[r·ldm + n] = Σ_{k<kp} v[r·ldv + k] · u[(k/2)·2·NR + 2n + k%2]` (wrapping i32).
///
/// # Safety
/// `kp` is a multiple of 4; `v` is readable for `MR` rows of `kp` i16 with row stride `ldv`;
/// `u` is readable for `kp · NR` i16; `m` is writable for `MR` rows of `NR` i32 with row stride
/// `ldm`; the CPU supports the entry's ISA.
pub type GemmFn = unsafe fn(usize, *const i16, usize, *const i16, *mut i32, usize);

/// Input transform of one 4x4 tile (see [`crate::int8::transform::input_tile`]) compiled for
/// the entry's ISA: `(rows, cin, xor, za, out, point_stride)`.
///
/// # Safety
/// Each of the 16 rows has at least `cin` bytes, `out` has `15 · point_stride + cin` elements,
/// `point_stride >= cin`; the CPU supports the ISA.
pub type InputFn = unsafe fn(&[&[u8]; 16], usize, u8, i16, &mut [i16], usize);

/// Output transform of one tile (see [`crate::int8::transform::output_tile`]):
/// `(m, point_stride, bias, cout, y)`.
///
/// # Safety
/// As the safe function it wraps; the CPU supports the ISA.
pub type OutputFn = unsafe fn(&[i32], usize, &[i32], usize, &mut [i32]);

/// The kernels of one table entry and their tile shape.
///
/// The fields are private and the type is neither `Clone` nor constructible outside the crate,
/// so the only values are those of [`WGEMM`]: a plan cannot be handed a kernel for an ISA its
/// entry does not name.
#[derive(Debug)]
pub struct Kernels {
    /// Rows (tiles) per micro-tile.
    pub(crate) mr: usize,
    /// Output channels per micro-tile and per packed block.
    pub(crate) nr: usize,
    /// The GEMM micro-kernel.
    pub(crate) gemm: GemmFn,
    /// The input transform.
    pub(crate) input: InputFn,
    /// The output transform.
    pub(crate) output: OutputFn,
}

impl Kernels {
    /// Rows (tiles) per micro-tile, `MR` of the name `wgemm_{MR}x{NR}c2__{isa}`.
    pub fn mr(&self) -> usize {
        self.mr
    }

    /// Output channels per micro-tile, `NR` of the name.
    pub fn nr(&self) -> usize {
        self.nr
    }
}

/// The dispatch table of the int8 path: portable scalar first, best last.
pub static WGEMM: Table<Kernels> = Table::new(&[
    // Portable Rust (the fallback, and the one to audit).
    Entry {
        isa: Isa::Scalar,
        name: "wgemm_4x8c2__scalar",
        kernels: Kernels {
            mr: 4,
            nr: 8,
            gemm: scalar::wgemm_4x8c2__scalar,
            input: scalar::input_tile,
            output: scalar::output_tile,
        },
    },
    // `smlal` by lane (`vmlal_lane_s16`), NEON baseline.
    #[cfg(target_arch = "aarch64")]
    Entry {
        isa: Isa::Neon,
        name: "wgemm_8x8c2__neon",
        kernels: Kernels {
            mr: 8,
            nr: 8,
            gemm: aarch64::neon::wgemm_8x8c2__neon,
            input: scalar::input_tile,
            output: scalar::output_tile,
        },
    },
    // `vpmaddwd` + `vpaddd` over input-channel pairs.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx2,
        name: "wgemm_4x16c2__avx2",
        kernels: Kernels {
            mr: 4,
            nr: 16,
            gemm: x86_64::avx2::wgemm_4x16c2__avx2,
            input: x86_64::avx2::input_tile_avx2,
            output: x86_64::avx2::output_tile_avx2,
        },
    },
    // AVX-512 BW `vpmaddwd` + `vpaddd`.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512,
        name: "wgemm_8x32c2__avx512",
        kernels: Kernels {
            mr: 8,
            nr: 32,
            gemm: x86_64::avx512::wgemm_8x32c2__avx512,
            input: x86_64::avx512::input_tile_avx512,
            output: x86_64::avx512::output_tile_avx512,
        },
    },
    // Fused `vpdpwssd`.
    #[cfg(target_arch = "x86_64")]
    Entry {
        isa: Isa::Avx512Vnni,
        name: "wgemm_8x32c2__avx512vnni",
        kernels: Kernels {
            mr: 8,
            nr: 32,
            gemm: x86_64::avx512vnni::wgemm_8x32c2__avx512vnni,
            input: x86_64::avx512::input_tile_avx512,
            output: x86_64::avx512::output_tile_avx512,
        },
    },
]);
