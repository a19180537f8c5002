//! AVX-512 (F, BW, DQ, VL) variant: 16 tiles per `__m512`, plus the 8-tile kernels compiled
//! with AVX-512 VL (32 vector registers) that run a last group of at most 8 tiles.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_<tile>__<isa>`

use super::super::generic::{self, RowSink, RowSource};
use super::super::{Fused, GemmArgs, Kernels, Lanes, OutLanes, Post, Simd};
use super::avx2::{gather_x8__avx2, scatter_x8__avx2, transpose8, Avx2};
use super::col_masks;
use core::arch::x86_64::*;

/// AVX-512 F, `__m512`.
pub(crate) struct Avx512;

x86_simd!(
    Avx512,
    __m512,
    16,
    "AVX-512 F",
    splat: _mm512_set1_ps,
    load: _mm512_loadu_ps,
    store: _mm512_storeu_ps,
    add: _mm512_add_ps,
    sub: _mm512_sub_ps,
    fma: _mm512_fmadd_ps,
    fnma: _mm512_fnmadd_ps,
    min: _mm512_min_ps,
    max: _mm512_max_ps
);

// The same 8-tile kernels compiled with AVX-512 VL enabled (32 vector registers): the half-width
// kernels of the AVX-512 variant; the tuple GEMM keeps 4 output channels (12 accumulators, enough
// to cover the FMA latency) instead of 2.
entry_points!(
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")]
    Avx2,
    1,
    4,
    Some(FUSED_AVX512_HALF),
    None,
    KERNELS_AVX512_HALF,
    gather_x8__avx2,
    scatter_x8__avx2,
    fft_fwd_8x8__avx512vl,
    fft_fwd_16x16__avx512vl,
    fft_inv_8x8__avx512vl,
    fft_inv_16x16__avx512vl,
    cgemm_4x8__avx512vl
);
// 8x8 and 16x16 transforms and the 4-output-channel tuple GEMM (16 tiles a vector).
entry_points!(
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    Avx512,
    1,
    4,
    Some(FUSED_AVX512),
    Some(&KERNELS_AVX512_HALF),
    KERNELS_AVX512,
    gather_x16__avx512,
    scatter_x16__avx512,
    fft_fwd_8x8__avx512,
    fft_fwd_16x16__avx512,
    fft_inv_8x8__avx512,
    fft_inv_16x16__avx512,
    cgemm_4x16__avx512
);

/// Transposes 16 rows of 16 floats in registers: `c[j][i] = r[i][j]` (64 shuffles).
#[inline(always)]
unsafe fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
    // SAFETY: register-only intrinsics; the caller runs with AVX-512 F enabled.
    unsafe {
        // (Plain loops: closures would not inherit the target features of the caller.)
        let z = _mm512_setzero_ps();
        let mut t = [z; 16];
        for k in 0..8 {
            t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // u[4m + c]: 128-bit lane L holds rows 4m..4m+3 of column 4L + c.
        let mut u = [z; 16];
        for m in 0..4 {
            let a = _mm512_castps_pd(t[4 * m]);
            let b = _mm512_castps_pd(t[4 * m + 2]);
            let c = _mm512_castps_pd(t[4 * m + 1]);
            let d = _mm512_castps_pd(t[4 * m + 3]);
            u[4 * m] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            u[4 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
            u[4 * m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
            u[4 * m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
        }
        let mut out = [u[0]; 16];
        for c in 0..4 {
            let v0 = _mm512_shuffle_f32x4::<0x44>(u[c], u[4 + c]);
            let v1 = _mm512_shuffle_f32x4::<0xEE>(u[c], u[4 + c]);
            let w0 = _mm512_shuffle_f32x4::<0x44>(u[8 + c], u[12 + c]);
            let w1 = _mm512_shuffle_f32x4::<0xEE>(u[8 + c], u[12 + c]);
            out[c] = _mm512_shuffle_f32x4::<0x88>(v0, w0);
            out[4 + c] = _mm512_shuffle_f32x4::<0xDD>(v0, w0);
            out[8 + c] = _mm512_shuffle_f32x4::<0x88>(v1, w1);
            out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(v1, w1);
        }
        out
    }
}

/// Per patch row, one masked load of each lane's row segment (masked-off
/// elements are not accessed), then a 16×16 register transpose into tile-per-lane order.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn gather_x16__avx512(input: *const f32, w: usize, t: usize, d: &Lanes, tile: *mut f32) {
    let colmask: [__mmask16; 16] = core::array::from_fn(|i| {
        let (b0, b1) = d.cols[i];
        let upto = |n: usize| if n >= 16 { 0xFFFFu32 } else { (1u32 << n) - 1 };
        (upto(b1) & !upto(b0)) as __mmask16
    });
    // SAFETY: a masked load touches only the elements of its mask, which are in-range patch
    // elements, hence valid input indices (contract of `GatherFn`); the base address of a lane
    // may lie before the row (left padding), so it is formed with `wrapping_offset` and only the
    // masked-in elements behind it are read. `tile` holds `t·t·16` floats.
    unsafe {
        for a in 0..t {
            let mut r = [_mm512_setzero_ps(); 16];
            for (i, ri) in r.iter_mut().enumerate() {
                let (a0, a1) = d.rows[i];
                if a >= a0 && a < a1 {
                    let p = input.wrapping_offset(d.origin[i] + (a * w) as isize);
                    *ri = _mm512_maskz_loadu_ps(colmask[i], p);
                }
            }
            let c = transpose16(&r);
            for (b, cb) in c.iter().enumerate().take(t) {
                _mm512_storeu_ps(tile.add((a * t + b) * 16), *cb);
            }
        }
    }
}

/// Per output row, a 16×16 register transpose of the block and one masked
/// store per lane of its `cols` leading elements.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn scatter_x16__avx512(tile: *const f32, t: usize, ow: usize, d: &OutLanes, out: *mut f32) {
    let rows = d.rows.iter().take(16).copied().max().unwrap_or(0).min(t);
    let colmask: [__mmask16; 16] =
        core::array::from_fn(|i| ((1u32 << d.cols[i].min(16)) - 1) as __mmask16);
    // SAFETY: `tile` holds `t·t·16` floats (`p < rows <= t`, `q < t`); a masked store writes
    // only its `cols[i]` leading elements, which are output pixels of lane `i` (contract of
    // `ScatterFn`), and only in rows `p < rows[i]`.
    unsafe {
        for p in 0..rows {
            let mut r = [_mm512_setzero_ps(); 16];
            for (q, rq) in r.iter_mut().enumerate().take(t) {
                *rq = _mm512_loadu_ps(tile.add((p * t + q) * 16));
            }
            let c = transpose16(&r);
            for (i, ci) in c.iter().enumerate() {
                if p < d.rows[i] {
                    _mm512_mask_storeu_ps(out.add(d.base[i] + p * ow), colmask[i], *ci);
                }
            }
        }
    }
}

/// Row source of the fused AVX-512 forward transform: per row, one masked load of each lane's
/// row segment (masked-off elements are not accessed), then a 16×16 register transpose.
struct MaskedRows<'a> {
    input: *const f32,
    w: usize,
    d: &'a Lanes,
    colmask: [__mmask16; 16],
}

impl RowSource<Avx512> for MaskedRows<'_> {
    #[inline(always)]
    unsafe fn row<const T: usize>(&self, a: usize) -> [__m512; T] {
        // SAFETY: a masked load touches only the elements of its mask, which are in-range patch
        // elements of rows `rows.0 <= a < rows.1`, hence valid input indices (contract of
        // `FwdInFn`); the address of a lane may lie outside the input (padding), so it is formed
        // with `wrapping_offset` and only the masked-in elements behind it are read. The caller
        // runs with AVX-512 F.
        unsafe {
            let mut r = [_mm512_setzero_ps(); 16];
            for (i, ri) in r.iter_mut().enumerate() {
                let (a0, a1) = self.d.rows[i];
                let m = if a >= a0 && a < a1 {
                    self.colmask[i]
                } else {
                    0
                };
                let p = self
                    .input
                    .wrapping_offset(self.d.origin[i].wrapping_add((a * self.w) as isize));
                *ri = _mm512_maskz_loadu_ps(m, p);
            }
            let c = transpose16(&r);
            let mut v = [c[0]; T];
            v.copy_from_slice(&c[..T]);
            v
        }
    }
}

/// Row sink of the fused AVX-512 inverse transform: a 16×16 register transpose of the row,
/// then one masked store per lane of its `cols` leading elements (rows `r < rows[i]` only).
struct MaskedStores<'a> {
    out: *mut f32,
    ow: usize,
    d: &'a OutLanes,
    colmask: [__mmask16; 16],
}

impl RowSink<Avx512> for MaskedStores<'_> {
    #[inline(always)]
    unsafe fn put<const T: usize>(&self, r: usize, v: &[__m512; T]) {
        // SAFETY: register-only shuffles, then masked stores that write only the `cols[i]`
        // leading elements of row `r < rows[i]` of lane `i`: output pixels of that lane
        // (contract of `InvOutFn`); a lane with no store has an empty mask and its address is
        // formed with `wrapping_add`. The caller runs with AVX-512 F.
        unsafe {
            let mut rr = [_mm512_setzero_ps(); 16];
            rr[..T].copy_from_slice(v);
            let c = transpose16(&rr);
            for (i, ci) in c.iter().enumerate() {
                let m = if r < self.d.rows[i] {
                    self.colmask[i]
                } else {
                    0
                };
                let p = self
                    .out
                    .wrapping_add(self.d.base[i].wrapping_add(r * self.ow));
                _mm512_mask_storeu_ps(p, m, *ci);
            }
        }
    }
}

/// The fused forward (`$fwd`) and inverse (`$inv`) transforms of tile `$t` over the row
/// source `$src` / row sink `$sink` with the vectors `$s`, compiled for `$feat`. `prune`: the
/// inverse computes only the rows and columns the lanes keep to the end, among a few fixed
/// counts so that the pruning is static (used where it measured faster: the 16-lane group).
macro_rules! fused_transforms {
    ($fwd:ident, $inv:ident, $t:literal, $feat:literal, $s:ty, $src:ident, $sink:ident, prune = $prune:literal) => {
        #[target_feature(enable = $feat)]
        unsafe fn $fwd(
            input: *const f32,
            w: usize,
            d: &Lanes,
            mid: *mut f32,
            x: *mut f32,
            bs: usize,
        ) {
            let src = $src {
                input,
                w,
                d,
                colmask: col_masks(|i| d.cols[i]),
            };
            // SAFETY: forwarded contract of `FwdInFn` (the row source reads only in-range patch
            // elements); the ISA is enabled here.
            unsafe { generic::forward::<$s, $t, _>(&src, mid, x, bs) }
        }
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $feat)]
        unsafe fn $inv(
            y: *const f32,
            bs: usize,
            rows: usize,
            post: &Post,
            mid: *mut f32,
            ow: usize,
            d: &OutLanes,
            out: *mut f32,
        ) {
            let sink = $sink {
                out,
                ow,
                d,
                colmask: col_masks(|i| (0, d.cols[i])),
            };
            let n = ((rows + 1) & !1).max(d.cols.iter().copied().max().unwrap_or(0));
            // SAFETY: forwarded contract of `InvOutFn` (the sink writes only each lane's output
            // pixels, columns `< cols[i] <= n`); `rows <= n <= NP`; the ISA is enabled here.
            unsafe {
                if $prune && $t == 16 && n <= 10 {
                    generic::inverse_first::<$s, $t, 10, _>(y, bs, rows, post, mid, &sink)
                } else if $prune && $t == 16 && n <= 12 {
                    generic::inverse_first::<$s, $t, 12, _>(y, bs, rows, post, mid, &sink)
                } else {
                    generic::inverse::<$s, $t, _>(y, bs, rows, post, mid, &sink)
                }
            }
        }
    };
}

fused_transforms!(
    fft_fwd_in_8x8__avx512,
    fft_inv_out_8x8__avx512,
    8,
    "avx512f,avx512bw,avx512dq,avx512vl",
    Avx512,
    MaskedRows,
    MaskedStores,
    prune = true
);
fused_transforms!(
    fft_fwd_in_16x16__avx512,
    fft_inv_out_16x16__avx512,
    16,
    "avx512f,avx512bw,avx512dq,avx512vl",
    Avx512,
    MaskedRows,
    MaskedStores,
    prune = true
);

/// The fused AVX-512 transforms.
const FUSED_AVX512: Fused = Fused {
    fwd8: fft_fwd_in_8x8__avx512,
    fwd16: fft_fwd_in_16x16__avx512,
    inv8: Some(fft_inv_out_8x8__avx512),
    inv16: Some(fft_inv_out_16x16__avx512),
};

/// Row source of the fused 8-lane AVX-512 VL forward transform: per row, masked loads of each
/// lane's row segment (two of 8 columns for 16x16 tiles), then 8×8 register transposes.
struct MaskedRows8<'a> {
    input: *const f32,
    w: usize,
    d: &'a Lanes,
    colmask: [__mmask16; 16],
}

impl RowSource<Avx2> for MaskedRows8<'_> {
    #[inline(always)]
    unsafe fn row<const T: usize>(&self, a: usize) -> [__m256; T] {
        // SAFETY: as for `MaskedRows`: a masked load touches only the in-range patch elements
        // of its mask (valid input indices, contract of `FwdInFn`); addresses are formed with
        // `wrapping_offset`. The caller runs with AVX-512 F and VL.
        unsafe {
            let z = _mm256_setzero_ps();
            let mut lo = [z; 8];
            let mut hi = [z; 8];
            for i in 0..8 {
                let (a0, a1) = self.d.rows[i];
                let m = if a >= a0 && a < a1 {
                    self.colmask[i]
                } else {
                    0
                };
                let p = self
                    .input
                    .wrapping_offset(self.d.origin[i].wrapping_add((a * self.w) as isize));
                lo[i] = _mm256_maskz_loadu_ps(m as __mmask8, p);
                if T > 8 {
                    hi[i] = _mm256_maskz_loadu_ps((m >> 8) as __mmask8, p.wrapping_add(8));
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

/// Row sink of the fused 8-lane AVX-512 VL inverse transform: 8×8 register transposes, then
/// masked stores of each lane's `cols` leading elements (rows `r < rows[i]` only).
struct MaskedStores8<'a> {
    out: *mut f32,
    ow: usize,
    d: &'a OutLanes,
    colmask: [__mmask16; 16],
}

impl RowSink<Avx2> for MaskedStores8<'_> {
    #[inline(always)]
    unsafe fn put<const T: usize>(&self, r: usize, v: &[__m256; T]) {
        // SAFETY: as for `MaskedStores`: the masked stores write only the `cols[i]` leading
        // elements of row `r < rows[i]` of lane `i` (contract of `InvOutFn`); addresses are
        // formed with `wrapping_add`. The caller runs with AVX-512 F and VL.
        unsafe {
            let z = _mm256_setzero_ps();
            let mut lo = [z; 8];
            lo.copy_from_slice(&v[..8]);
            let lo = transpose8(&lo);
            let mut hi = [z; 8];
            if T > 8 {
                let mut h = [z; 8];
                h[..T - 8].copy_from_slice(&v[8..]);
                hi = transpose8(&h);
            }
            for i in 0..8 {
                let m = if r < self.d.rows[i] {
                    self.colmask[i]
                } else {
                    0
                };
                if m == 0 {
                    continue;
                }
                let p = self
                    .out
                    .wrapping_add(self.d.base[i].wrapping_add(r * self.ow));
                _mm256_mask_storeu_ps(p, m as __mmask8, lo[i]);
                if T > 8 && m >> 8 != 0 {
                    _mm256_mask_storeu_ps(p.wrapping_add(8), (m >> 8) as __mmask8, hi[i]);
                }
            }
        }
    }
}

fused_transforms!(
    fft_fwd_in_8x8__avx512vl,
    fft_inv_out_8x8__avx512vl,
    8,
    "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl",
    Avx2,
    MaskedRows8,
    MaskedStores8,
    prune = false
);
fused_transforms!(
    fft_fwd_in_16x16__avx512vl,
    fft_inv_out_16x16__avx512vl,
    16,
    "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl",
    Avx2,
    MaskedRows8,
    MaskedStores8,
    prune = false
);

/// The fused 8-lane transforms of the AVX-512 variant (its half-width group).
const FUSED_AVX512_HALF: Fused = Fused {
    fwd8: fft_fwd_in_8x8__avx512vl,
    fwd16: fft_fwd_in_16x16__avx512vl,
    inv8: Some(fft_inv_out_8x8__avx512vl),
    inv16: Some(fft_inv_out_16x16__avx512vl),
};
