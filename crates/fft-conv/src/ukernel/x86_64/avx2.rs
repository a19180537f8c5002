//! AVX2 + FMA variant: 8 tiles per `__m256`; the tuple GEMM `cgemm_4x8__avx2` (4 output
//! channels × 8 tiles, its k-loop in `asm!`).

#![allow(non_snake_case)] // kernels carry their table names: `<op>_<tile>__<isa>`

use super::super::generic::{self, RowSource};
use super::super::{Fused, GemmArgs, Kernels, Lanes, OutLanes, Post, Simd, MR};
use super::col_masks;
use core::arch::x86_64::*;

/// AVX2 + FMA, `__m256`.
pub(crate) struct Avx2;

x86_simd!(
    Avx2,
    __m256,
    8,
    "AVX and FMA",
    splat: _mm256_set1_ps,
    load: _mm256_loadu_ps,
    store: _mm256_storeu_ps,
    add: _mm256_add_ps,
    sub: _mm256_sub_ps,
    fma: _mm256_fmadd_ps,
    fnma: _mm256_fnmadd_ps,
    min: _mm256_min_ps,
    max: _mm256_max_ps
);

// 8x8 and 16x16 transforms and the 4-output-channel tuple GEMM (8 tiles a vector, `asm!`
// k-loop).
entry_points!(
    #[target_feature(enable = "avx2,fma")]
    Avx2,
    gemm = cgemm_mr4,
    Some(FUSED_AVX2),
    None,
    KERNELS_AVX2,
    gather_x8__avx2,
    scatter_x8__avx2,
    fft_fwd_8x8__avx2,
    fft_fwd_16x16__avx2,
    fft_inv_8x8__avx2,
    fft_inv_16x16__avx2,
    cgemm_4x8__avx2
);

/// The tuple GEMM of one bin (see [`GemmArgs`] and `generic::gemm`): per tile vector and block of
/// all `MR = 4` output channels, the Gauss form of the complex products (`k1 += c·(a + b)`,
/// `k2 += (c + d)·b`, `k3 += (d − c)·a`, then `re = k1 − k2`, `im = k1 + k3`), the same
/// operations in the same order as the generic code. Its k-loop is [`kloop_mr4`]: 12 independent
/// accumulators, so the 4-cycle FMA latency no longer caps the two FMA pipes (the generic block
/// of 2 channels has 6 chains: 75% of the FMA peak at best).
///
/// # Safety
/// The contract of `GemmFn`; the CPU has AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn cgemm_mr4(a: &GemmArgs) {
    const L: usize = 8;
    let ocp = a.oc_blocks * MR;
    // SAFETY: offsets stay within the `GemmArgs` sizes: group g < groups holds cin complex
    // vector pairs (2·L floats each), block ob < oc_blocks cin · MR · 3 weights, and the output
    // of group g holds ocp channels of 2·L floats.
    unsafe {
        for g in 0..a.groups {
            let x = a.x.add(g * a.cin * 2 * L);
            for ob in 0..a.oc_blocks {
                let k = kloop_mr4(x, a.w.add(ob * a.cin * MR * 3), a.cin);
                for r in 0..MR {
                    let p = a.y.add((g * ocp + ob * MR + r) * 2 * L);
                    _mm256_storeu_ps(p, _mm256_sub_ps(k[r], k[4 + r]));
                    _mm256_storeu_ps(p.add(L), _mm256_add_ps(k[r], k[8 + r]));
                }
            }
        }
    }
}

/// `[k1; 4], [k2; 4], [k3; 4]` of [`cgemm_mr4`] over `cin` input channels: `x` holds `cin`
/// vector pairs `[a; 8][b; 8]`, `w` `cin` groups of `MR · 3` scalars `c, c + d, d − c`. As
/// `asm!`: the loop needs all 16 ymm registers (12 accumulators, `a`, `b`, `a + b` and one
/// broadcast), and LLVM spilled a broadcast through the stack every iteration.
///
/// # Safety
/// `x` is readable for `cin · 16` floats, `w` for `cin · 12`; the CPU has AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn kloop_mr4(x: *const f32, w: *const f32, cin: usize) -> [__m256; 12] {
    let (k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11): (
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
        __m256,
    );
    // SAFETY: reads cin · 64 bytes from x and cin · 48 from w (the contract); registers only
    // otherwise; flags clobbered (no preserves_flags).
    unsafe {
        core::arch::asm!(
            "vxorps {k0}, {k0}, {k0}",
            "vxorps {k1}, {k1}, {k1}",
            "vxorps {k2}, {k2}, {k2}",
            "vxorps {k3}, {k3}, {k3}",
            "vxorps {k4}, {k4}, {k4}",
            "vxorps {k5}, {k5}, {k5}",
            "vxorps {k6}, {k6}, {k6}",
            "vxorps {k7}, {k7}, {k7}",
            "vxorps {k8}, {k8}, {k8}",
            "vxorps {k9}, {k9}, {k9}",
            "vxorps {k10}, {k10}, {k10}",
            "vxorps {k11}, {k11}, {k11}",
            "test {n}, {n}",
            "jz 3f",
            "2:",
            "vmovups {xa}, ymmword ptr [{x}]",
            "vmovups {xb}, ymmword ptr [{x} + 32]",
            "vaddps {xs}, {xa}, {xb}",
            "vbroadcastss {t}, dword ptr [{w}]",
            "vfmadd231ps {k0}, {xs}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 4]",
            "vfmadd231ps {k4}, {xb}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 8]",
            "vfmadd231ps {k8}, {xa}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 12]",
            "vfmadd231ps {k1}, {xs}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 16]",
            "vfmadd231ps {k5}, {xb}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 20]",
            "vfmadd231ps {k9}, {xa}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 24]",
            "vfmadd231ps {k2}, {xs}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 28]",
            "vfmadd231ps {k6}, {xb}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 32]",
            "vfmadd231ps {k10}, {xa}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 36]",
            "vfmadd231ps {k3}, {xs}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 40]",
            "vfmadd231ps {k7}, {xb}, {t}",
            "vbroadcastss {t}, dword ptr [{w} + 44]",
            "vfmadd231ps {k11}, {xa}, {t}",
            "add {x}, 64",
            "add {w}, 48",
            "dec {n}",
            "jnz 2b",
            "3:",
            k0 = out(ymm_reg) k0,
            k1 = out(ymm_reg) k1,
            k2 = out(ymm_reg) k2,
            k3 = out(ymm_reg) k3,
            k4 = out(ymm_reg) k4,
            k5 = out(ymm_reg) k5,
            k6 = out(ymm_reg) k6,
            k7 = out(ymm_reg) k7,
            k8 = out(ymm_reg) k8,
            k9 = out(ymm_reg) k9,
            k10 = out(ymm_reg) k10,
            k11 = out(ymm_reg) k11,
            xa = out(ymm_reg) _,
            xb = out(ymm_reg) _,
            xs = out(ymm_reg) _,
            t = out(ymm_reg) _,
            x = inout(reg) x => _,
            w = inout(reg) w => _,
            n = inout(reg) cin => _,
            options(pure, readonly, nostack)
        );
    }
    [k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11]
}
/// Lane `i` of `x` as i32 (wrapping: only valid, hence < 2^31, indices are ever used).
#[inline(always)]
fn lane_i32<const L: usize>(x: impl Fn(usize) -> i64) -> [i32; L] {
    core::array::from_fn(|i| x(i) as i32)
}

/// Portable code (8 lanes).
pub(super) unsafe fn scatter_x8__avx2(
    tile: *const f32,
    t: usize,
    ow: usize,
    d: &OutLanes,
    out: *mut f32,
) {
    // SAFETY: forwarded contract of `ScatterFn`.
    unsafe { super::super::scatter_generic::<8>(tile, t, ow, d, out) }
}

/// One masked `vgatherdps` per patch element, 8 tiles at a time.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gather_x8__avx2(
    input: *const f32,
    w: usize,
    t: usize,
    d: &Lanes,
    tile: *mut f32,
) {
    let origin = lane_i32::<8>(|i| d.origin[i] as i64);
    let a0 = lane_i32::<8>(|i| d.rows[i].0 as i64);
    let a1 = lane_i32::<8>(|i| d.rows[i].1 as i64);
    let b0 = lane_i32::<8>(|i| d.cols[i].0 as i64);
    let b1 = lane_i32::<8>(|i| d.cols[i].1 as i64);
    // SAFETY: the arrays hold 8 i32; masked-off lanes are not accessed by the gather; masked-in
    // lanes are valid input indices (contract of `GatherFn`, including the i32 range); `tile`
    // holds `t·t·8` floats.
    unsafe {
        let origin = _mm256_loadu_si256(origin.as_ptr().cast());
        let a0 = _mm256_loadu_si256(a0.as_ptr().cast());
        let a1 = _mm256_loadu_si256(a1.as_ptr().cast());
        let b0 = _mm256_loadu_si256(b0.as_ptr().cast());
        let b1 = _mm256_loadu_si256(b1.as_ptr().cast());
        let one = _mm256_set1_epi32(1);
        let zero = _mm256_setzero_ps();
        for a in 0..t {
            let av = _mm256_set1_epi32(a as i32);
            // a >= a0 && a < a1  <=>  a + 1 > a0 && a1 > a
            let rm = _mm256_and_si256(
                _mm256_cmpgt_epi32(_mm256_add_epi32(av, one), a0),
                _mm256_cmpgt_epi32(a1, av),
            );
            let row = _mm256_add_epi32(origin, _mm256_set1_epi32((a * w) as i32));
            for b in 0..t {
                let bv = _mm256_set1_epi32(b as i32);
                let m = _mm256_and_si256(
                    rm,
                    _mm256_and_si256(
                        _mm256_cmpgt_epi32(_mm256_add_epi32(bv, one), b0),
                        _mm256_cmpgt_epi32(b1, bv),
                    ),
                );
                let v = _mm256_mask_i32gather_ps::<4>(
                    zero,
                    input,
                    _mm256_add_epi32(row, bv),
                    _mm256_castsi256_ps(m),
                );
                _mm256_storeu_ps(tile.add((a * t + b) * 8), v);
            }
        }
    }
}

/// Transposes 8 rows of 8 floats in registers: `c[j][i] = r[i][j]` (24 shuffles).
#[inline(always)]
pub(super) unsafe fn transpose8(r: &[__m256; 8]) -> [__m256; 8] {
    // SAFETY: register-only intrinsics; the caller runs with AVX enabled.
    unsafe {
        let z = _mm256_setzero_ps();
        let mut t = [z; 8];
        for k in 0..4 {
            t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // u[4m + c]: each 128-bit half holds rows 4m..4m+3 of column (half·4 + c).
        let mut u = [z; 8];
        for m in 0..2 {
            u[4 * m] = _mm256_shuffle_ps::<0x44>(t[4 * m], t[4 * m + 2]);
            u[4 * m + 1] = _mm256_shuffle_ps::<0xEE>(t[4 * m], t[4 * m + 2]);
            u[4 * m + 2] = _mm256_shuffle_ps::<0x44>(t[4 * m + 1], t[4 * m + 3]);
            u[4 * m + 3] = _mm256_shuffle_ps::<0xEE>(t[4 * m + 1], t[4 * m + 3]);
        }
        let mut out = [z; 8];
        for c in 0..4 {
            out[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
            out[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
        }
        out
    }
}

/// Row source of the fused AVX2 forward transform: per row, `vmaskmovps` loads of each lane's
/// row segment (two of 8 columns for 16x16 tiles; masked-off elements are not accessed), then
/// 8×8 register transposes (instead of one `vgatherdps` per element).
struct MaskLoadRows8<'a> {
    input: *const f32,
    w: usize,
    d: &'a Lanes,
    /// Per lane, the load masks of columns 0..8 and 8..16 (sign bit set: load).
    lo: [__m256i; 8],
    hi: [__m256i; 8],
}

impl RowSource<Avx2> for MaskLoadRows8<'_> {
    #[inline(always)]
    unsafe fn row<const T: usize>(&self, a: usize) -> [__m256; T] {
        // SAFETY: `vmaskmovps` touches only the elements of its mask, which are in-range patch
        // elements of a row `rows.0 <= a < rows.1`, hence valid input indices (contract of
        // `FwdInFn`); addresses are formed with `wrapping_offset`. The caller runs with AVX2.
        unsafe {
            let z = _mm256_setzero_ps();
            let mut lo = [z; 8];
            let mut hi = [z; 8];
            for i in 0..8 {
                let (a0, a1) = self.d.rows[i];
                if a < a0 || a >= a1 {
                    continue;
                }
                let p = self
                    .input
                    .wrapping_offset(self.d.origin[i].wrapping_add((a * self.w) as isize));
                lo[i] = _mm256_maskload_ps(p, self.lo[i]);
                if T > 8 {
                    hi[i] = _mm256_maskload_ps(p.wrapping_add(8), self.hi[i]);
                }
            }
            let mut v = [z; T];
            v[..8].copy_from_slice(&transpose8(&lo));
            if T > 8 {
                v[8..].copy_from_slice(&transpose8(&hi)[..T - 8]);
            }
            v
        }
    }
}

macro_rules! fused_avx2 {
    ($fwd:ident, $t:literal) => {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $fwd(
            input: *const f32,
            w: usize,
            d: &Lanes,
            mid: *mut f32,
            x: *mut f32,
            bs: usize,
        ) {
            let colmask = col_masks(|i| d.cols[i]);
            // SAFETY: register-only intrinsics building the masks (AVX2 enabled here), then the
            // forwarded contract of `FwdInFn` (the row source reads only in-range patch
            // elements).
            unsafe {
                let bits_lo = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
                let bits_hi = _mm256_slli_epi32::<8>(bits_lo);
                let zero = _mm256_setzero_si256();
                let mut lo = [zero; 8];
                let mut hi = [zero; 8];
                for i in 0..8 {
                    // (No closure: it would not inherit this function's ISA.)
                    let m = _mm256_set1_epi32(i32::from(colmask[i]));
                    lo[i] = _mm256_cmpeq_epi32(_mm256_and_si256(m, bits_lo), bits_lo);
                    hi[i] = _mm256_cmpeq_epi32(_mm256_and_si256(m, bits_hi), bits_hi);
                }
                let src = MaskLoadRows8 {
                    input,
                    w,
                    d,
                    lo,
                    hi,
                };
                generic::forward::<Avx2, $t, _>(&src, mid, x, bs)
            }
        }
    };
}

fused_avx2!(fft_fwd_in_8x8__avx2, 8);
fused_avx2!(fft_fwd_in_16x16__avx2, 16);

/// The fused AVX2 forward transforms (the inverse keeps the separate scatter: `vmaskmovps`
/// stores are slow on some CPUs).
const FUSED_AVX2: Fused = Fused {
    fwd8: fft_fwd_in_8x8__avx2,
    fwd16: fft_fwd_in_16x16__avx2,
    inv8: None,
    inv16: None,
};
