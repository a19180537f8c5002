//! The transformed-domain GEMM micro-kernels of the int8 path and the variant table.
//!
//! For one Winograd point, `M[T × Cout] = V[T × Kp] · U[Kp × Cout]` with `V`, `U` in i16 and
//! `M` in i32. `U` is packed per block of `NR` output channels as `Kp/2` rows of `NR` i16 pairs
//! (`c2`: input channels `2k` and `2k+1` of one output channel are adjacent), which is the
//! operand order of `vpmaddwd` / `vpdpwssd` and of NEON `vld2q_s16`. `Kp` is the input channel
//! count rounded up to 4 (zero padded in both operands).
//!
//! Every product `u·v` is exact in i32 (|u| ≤ 2295, |v| ≤ 1020); sums wrap modulo 2^32, which is
//! what makes the end result exact (see the [`crate::int8`] docs).

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use cpu_probe::Features;

/// GEMM micro-kernel `(kp, v, ldv, u, m, ldm)`: writes the `MR × NR` tile
/// `m[r·ldm + n] = Σ_{k<kp} v[r·ldv + k] · u[(k/2)·2·NR + 2n + k%2]` (wrapping i32).
///
/// # Safety
/// `kp` is a multiple of 4; `v` is readable for `MR` rows of `kp` i16 with row stride `ldv`;
/// `u` is readable for `kp · NR` i16; `m` is writable for `MR` rows of `NR` i32 with row stride
/// `ldm`; the CPU supports the kernel's ISA.
pub type GemmFn = unsafe fn(usize, *const i16, usize, *const i16, *mut i32, usize);

/// Input transform of one 4x4 tile (see [`crate::int8::transform::input_tile`]) compiled for
/// the variant's ISA: `(rows, cin, xor, za, out, point_stride)`.
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

/// The micro-kernel families of the int8 path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// `wgemm_4x8c2__scalar`: portable Rust (the fallback, and the one to audit).
    Scalar,
    /// `wgemm_4x16c2__avx2`: `vpmaddwd` + `vpaddd` over input-channel pairs.
    Avx2,
    /// `wgemm_8x32c2__avx512`: AVX-512 BW `vpmaddwd` + `vpaddd`.
    Avx512,
    /// `wgemm_8x32c2__avx512vnni`: fused `vpdpwssd`.
    Avx512Vnni,
    /// `wgemm_8x8c2__neon`: `smlal` by lane (`vmlal_lane_s16`), NEON baseline.
    Neon,
}

/// One variant's kernels and tile shape.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// Which variant.
    pub variant: Variant,
    /// Micro-kernel name (`wgemm_{MR}x{NR}c2__{isa}`).
    pub name: &'static str,
    /// Rows (tiles) per micro-tile.
    pub mr: usize,
    /// Output channels per micro-tile and per packed block.
    pub nr: usize,
    /// The GEMM micro-kernel.
    pub gemm: GemmFn,
    /// The input transform.
    pub input: InputFn,
    /// The output transform.
    pub output: OutputFn,
}

impl Variant {
    /// Every variant this CPU can run (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        let f = Features::get();
        let mut v = vec![Variant::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if f.has_avx2_fma() && is_x86_feature_detected!("avx2") {
                v.push(Variant::Avx2);
            }
            let avx512 = f.has_avx512()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw");
            if avx512 {
                v.push(Variant::Avx512);
            }
            if avx512 && f.has_avx512vnni() && is_x86_feature_detected!("avx512vnni") {
                v.push(Variant::Avx512Vnni);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if f.neon {
            v.push(Variant::Neon);
        }
        let _ = f;
        v
    }

    /// The best available variant.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }

    /// The variant's kernels, if this CPU/build can run them.
    pub fn kernel(self) -> Option<Kernel> {
        if !Variant::available().contains(&self) {
            return None;
        }
        match self {
            Variant::Scalar => Some(Kernel {
                variant: self,
                name: "wgemm_4x8c2__scalar",
                mr: 4,
                nr: 8,
                gemm: scalar::wgemm_4x8c2,
                input: scalar::input_tile,
                output: scalar::output_tile,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Some(Kernel {
                variant: self,
                name: "wgemm_4x16c2__avx2",
                mr: 4,
                nr: 16,
                gemm: x86_64::wgemm_4x16c2_avx2,
                input: x86_64::input_tile_avx2,
                output: x86_64::output_tile_avx2,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => Some(Kernel {
                variant: self,
                name: "wgemm_8x32c2__avx512",
                mr: 8,
                nr: 32,
                gemm: x86_64::wgemm_8x32c2_avx512,
                input: x86_64::input_tile_avx512,
                output: x86_64::output_tile_avx512,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => Some(Kernel {
                variant: self,
                name: "wgemm_8x32c2__avx512vnni",
                mr: 8,
                nr: 32,
                gemm: x86_64::wgemm_8x32c2_avx512vnni,
                input: x86_64::input_tile_avx512,
                output: x86_64::output_tile_avx512,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some(Kernel {
                variant: self,
                name: "wgemm_8x8c2__neon",
                mr: 8,
                nr: 8,
                gemm: aarch64::wgemm_8x8c2_neon,
                input: scalar::input_tile,
                output: scalar::output_tile,
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}
