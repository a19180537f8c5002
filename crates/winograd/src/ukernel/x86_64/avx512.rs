//! x86_64 AVX-512 kernels: `tgemm_6x32__avx512` (two panels of 16 tiles), its single-panel
//! tail `tgemm_6x16__avx512` and half-panel tail `tgemm_6x8__avx512`, and block transforms on
//! zmm registers (the crate-private `Z`) with masked ymm tile moves and zmm transposes
//! (`transpose8x2`).
#![allow(non_snake_case)]

use crate::transforms::{Arith, Fused, Geometry, InJob, OutJob, Tf, TilePos, Vector, L, LANES};
use crate::ukernel::{rows, Kernels, Transforms, MR};
use core::arch::x86_64::*;
use core::ops::{Add, Mul, Sub};

/// The kernels of the `tgemm_6x32__avx512` entry.
pub(crate) const KERNELS: Kernels = Kernels {
    f2x2: Transforms {
        input: tf::in2,
        output: tf::out2,
    },
    f4x4: Transforms {
        input: tf::in4,
        output: tf::out4,
    },
    f6x6: Transforms {
        input: tf::in6,
        output: tf::out6,
    },
    gemm: rows!(tgemm_6x32__avx512),
    panels: 2,
    gemm1: rows!(tgemm_6x16__avx512),
    gemm_half: Some(rows!(tgemm_6x8__avx512)),
    transform_cost: 10.0,
};

/// The block transforms of the entry, one function per tile and direction.
mod tf {
    use super::{in_avx512, out_avx512};
    use crate::transforms::{Geometry, InJob, OutJob, F2, F4, F6};

    pub(super) unsafe fn in2(g: &Geometry, j: &InJob) {
        // SAFETY: forwarded contract of `InFn` (the `tgemm_6x32__avx512` entry is only selected when the CPU
        // has AVX-512 F/BW/DQ/VL, AVX2 and FMA).
        unsafe { in_avx512::<4, 2, F2>(g, j) }
    }
    pub(super) unsafe fn in4(g: &Geometry, j: &InJob) {
        // SAFETY: as in `in2`.
        unsafe { in_avx512::<6, 4, F4>(g, j) }
    }
    pub(super) unsafe fn in6(g: &Geometry, j: &InJob) {
        // SAFETY: as in `in2`.
        unsafe { in_avx512::<8, 6, F6>(g, j) }
    }
    pub(super) unsafe fn out2(g: &Geometry, j: &OutJob) {
        // SAFETY: forwarded contract of `OutFn`; CPU features as in `in2`.
        unsafe { out_avx512::<4, 2, F2>(g, j) }
    }
    pub(super) unsafe fn out4(g: &Geometry, j: &OutJob) {
        // SAFETY: as in `out2`.
        unsafe { out_avx512::<6, 4, F4>(g, j) }
    }
    pub(super) unsafe fn out6(g: &Geometry, j: &OutJob) {
        // SAFETY: as in `out2`.
        unsafe { out_avx512::<8, 6, F6>(g, j) }
    }
}

tgemm_fn! {
    /// `tgemm_6x32__avx512::<R>`, `R ≤ 6` rows: two panels of 16 tiles (one zmm each) per row.
    /// See [`crate::ukernel::GemmFn`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with two panels; the CPU has AVX-512 F.
    #[target_feature(enable = "avx512f")]
    tgemm_6x32__avx512(kc, u, v, vps, m, mps, accumulate) {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for c in 0..kc {
            // SAFETY: both panels of v readable for kc·16 floats, u for kc·6 (contract).
            unsafe {
                let v0 = _mm512_loadu_ps(v.add(c * LANES));
                let v1 = _mm512_loadu_ps(v.add(vps + c * LANES));
                for (r, a) in acc.iter_mut().enumerate() {
                    let s = _mm512_set1_ps(*u.add(c * MR + r));
                    a[0] = _mm512_fmadd_ps(s, v0, a[0]);
                    a[1] = _mm512_fmadd_ps(s, v1, a[1]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: both panels of m writable for R·16 floats (contract).
            unsafe {
                let d0 = m.add(r * LANES);
                let d1 = m.add(mps + r * LANES);
                let (mut x0, mut x1) = (a[0], a[1]);
                if accumulate {
                    x0 = _mm512_add_ps(x0, _mm512_loadu_ps(d0));
                    x1 = _mm512_add_ps(x1, _mm512_loadu_ps(d1));
                }
                _mm512_storeu_ps(d0, x0);
                _mm512_storeu_ps(d1, x1);
            }
        }
    }
}

tgemm_fn! {
    /// `tgemm_6x16__avx512::<R>`: the single-panel tail of [`tgemm_6x32__avx512`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with one panel; the CPU has AVX-512 F.
    #[target_feature(enable = "avx512f")]
    tgemm_6x16__avx512(kc, u, v, _vps, m, _mps, accumulate) {
        let mut acc = [_mm512_setzero_ps(); R];
        for c in 0..kc {
            // SAFETY: v readable for kc·16 floats, u for kc·6 (contract).
            unsafe {
                let v0 = _mm512_loadu_ps(v.add(c * LANES));
                for (r, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(*u.add(c * MR + r)), v0, *a);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: m writable for R·16 floats (contract).
            unsafe {
                let d = m.add(r * LANES);
                let x = if accumulate {
                    _mm512_add_ps(*a, _mm512_loadu_ps(d))
                } else {
                    *a
                };
                _mm512_storeu_ps(d, x);
            }
        }
    }
}

tgemm_fn! {
    /// `tgemm_6x8__avx512::<R>`: lanes 0..8 of one panel (a last panel with at most 8 tiles) on ymm,
    /// which run at the zmm rate per lane; two sets of accumulators over even/odd `c` hide the FMA
    /// latency. Lanes 8..16 of `m` are not written. See [`crate::ukernel::GemmFn`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with one panel; the CPU has AVX-512 F/VL (and AVX2, FMA).
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    tgemm_6x8__avx512(kc, u, v, _vps, m, _mps, accumulate) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        let mut c = 0;
        while c + 2 <= kc {
            // SAFETY: v readable for kc·16 floats, u for kc·6 (contract); c + 1 < kc.
            unsafe {
                let v0 = _mm256_loadu_ps(v.add(c * LANES));
                let v1 = _mm256_loadu_ps(v.add((c + 1) * LANES));
                for (r, a) in acc.iter_mut().enumerate() {
                    a[0] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*u.add(c * MR + r)), v0, a[0]);
                    a[1] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*u.add((c + 1) * MR + r)), v1, a[1]);
                }
            }
            c += 2;
        }
        if c < kc {
            // SAFETY: as above, c < kc.
            unsafe {
                let v0 = _mm256_loadu_ps(v.add(c * LANES));
                for (r, a) in acc.iter_mut().enumerate() {
                    a[0] = _mm256_fmadd_ps(_mm256_broadcast_ss(&*u.add(c * MR + r)), v0, a[0]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: m writable for R·16 floats (contract); 8 of them are written.
            unsafe {
                let d = m.add(r * LANES);
                let mut x = _mm256_add_ps(a[0], a[1]);
                if accumulate {
                    x = _mm256_add_ps(x, _mm256_loadu_ps(d));
                }
                _mm256_storeu_ps(d, x);
            }
        }
    }
}

/// One zmm register of 16 f32 lanes for the AVX-512 block transforms.
///
/// Written with explicit intrinsics: the generic 16-lane arrays ([`L`]), compiled with AVX-512
/// enabled, get their small fixed-count loops vectorized across points with
/// `vgatherdps`/`vscatterdps` (measured 3-4x slower). Values of this type are only created in
/// the AVX-512 entry's transform functions (`#[target_feature(enable = "avx512f")]`), which
/// the plan selects only when the CPU has AVX-512 F; every method is inlined into them.
///
/// Private to the crate: its safe constructors (`Vector::splat`, `Vector::from_l`) execute
/// AVX-512 instructions, which safe code outside the crate must not reach on a CPU without them.
#[derive(Clone, Copy)]
pub(crate) struct Z(__m512);

impl Add for Z {
    type Output = Z;
    #[inline(always)]
    fn add(self, o: Z) -> Z {
        // SAFETY: AVX-512 F is present wherever a `Z` exists (see the type's docs).
        Z(unsafe { _mm512_add_ps(self.0, o.0) })
    }
}

impl Sub for Z {
    type Output = Z;
    #[inline(always)]
    fn sub(self, o: Z) -> Z {
        // SAFETY: as in `add`.
        Z(unsafe { _mm512_sub_ps(self.0, o.0) })
    }
}

impl Mul<f32> for Z {
    type Output = Z;
    #[inline(always)]
    fn mul(self, s: f32) -> Z {
        // SAFETY: as in `add`.
        Z(unsafe { _mm512_mul_ps(self.0, _mm512_set1_ps(s)) })
    }
}

impl Arith<Z> for Fused {
    #[inline(always)]
    fn madd(a: Z, x: Z, s: f32) -> Z {
        // SAFETY: as in `add`.
        Z(unsafe { _mm512_fmadd_ps(x.0, _mm512_set1_ps(s), a.0) })
    }
}

impl Vector for Z {
    #[inline(always)]
    fn from_l(l: &L) -> Z {
        // SAFETY: as in `add`; `l` holds 16 floats.
        Z(unsafe { _mm512_loadu_ps(l.0.as_ptr()) })
    }
    #[inline(always)]
    fn to_l(self) -> L {
        let mut l = L::ZERO;
        // SAFETY: as in `add`; `l` holds 16 floats.
        unsafe { _mm512_storeu_ps(l.0.as_mut_ptr(), self.0) };
        l
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Z {
        // SAFETY: as in `add`; readable for 16 floats (contract).
        Z(unsafe { _mm512_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: as in `add`; writable for 16 floats (contract).
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Z {
        // SAFETY: as in `add`.
        Z(unsafe { _mm512_set1_ps(v) })
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Z {
        // `vmaxps`/`vminps` return their second operand when either is NaN: with the value
        // second, a NaN lane stays NaN (IEEE propagation, see the crate docs); with the bound
        // second (`max_ps(v, lo)`) NaN would become `lo`.
        // SAFETY: as in `add`.
        Z(unsafe {
            _mm512_min_ps(
                _mm512_set1_ps(hi),
                _mm512_max_ps(_mm512_set1_ps(lo), self.0),
            )
        })
    }
}

/// 8x8 transpose inside each 256-bit half of eight zmm registers: with `r[l]` = `[a_l | b_l]`
/// (two rows of 8), returns `c[j]` = `[a_0[j] .. a_7[j] | b_0[j] .. b_7[j]]`. It is its own
/// inverse.
#[inline(always)]
fn transpose8x2(r: [__m512; 8]) -> [__m512; 8] {
    // SAFETY: register operations only; callers run with AVX-512 F enabled.
    unsafe {
        let t0 = _mm512_unpacklo_ps(r[0], r[1]);
        let t1 = _mm512_unpackhi_ps(r[0], r[1]);
        let t2 = _mm512_unpacklo_ps(r[2], r[3]);
        let t3 = _mm512_unpackhi_ps(r[2], r[3]);
        let t4 = _mm512_unpacklo_ps(r[4], r[5]);
        let t5 = _mm512_unpackhi_ps(r[4], r[5]);
        let t6 = _mm512_unpacklo_ps(r[6], r[7]);
        let t7 = _mm512_unpackhi_ps(r[6], r[7]);
        let u0 = _mm512_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm512_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm512_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm512_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm512_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm512_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm512_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm512_shuffle_ps::<0xEE>(t5, t7);
        // 128-bit lanes [x.0, y.0, x.2, y.2] and [x.1, y.1, x.3, y.3].
        let lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        let hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
        [
            _mm512_permutex2var_ps(u0, lo, u4),
            _mm512_permutex2var_ps(u1, lo, u5),
            _mm512_permutex2var_ps(u2, lo, u6),
            _mm512_permutex2var_ps(u3, lo, u7),
            _mm512_permutex2var_ps(u0, hi, u4),
            _mm512_permutex2var_ps(u1, hi, u5),
            _mm512_permutex2var_ps(u2, hi, u6),
            _mm512_permutex2var_ps(u3, hi, u7),
        ]
    }
}

/// Input block transform of the AVX-512 entry: the rows of the 16 tiles are read with masked
/// ymm loads straight from the image (the mask selects the window columns inside the image; rows
/// outside get an empty mask, so no padded copies), transposed on zmm in pairs of 8 and
/// transformed on zmm. The per-tile set-up is shared by the `nch` channels of the job. See
/// [`crate::transforms::input_block`].
///
/// # Safety
/// As [`crate::transforms::input_block`]; the CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn in_avx512<const A: usize, const M: usize, T: Tf<A, M>>(g: &Geometry, job: &InJob) {
    let plane_len = g.h * g.w;
    // Per lane: the (possibly virtual, outside the image) address of window element (0, 0) in
    // channel `job.ch`, and per window row the mask of its columns inside the image (0 for rows
    // outside the image and for lanes past the last tile).
    let mut base = [job.input; LANES];
    let mut masks = [[0u8; LANES]; 8];
    let mut pos = TilePos::of(g, job.tile0);
    for l in 0..LANES.min(g.tiles.saturating_sub(job.tile0)) {
        let y0 = pos.ty * M;
        let x0 = pos.tx * M;
        let ilo = g.pad_top.saturating_sub(y0).min(A);
        let ihi = (g.h + g.pad_top).saturating_sub(y0).min(A);
        let jlo = g.pad_left.saturating_sub(x0).min(A);
        let jhi = (g.w + g.pad_left).saturating_sub(x0).min(A);
        if ilo < ihi && jlo < jhi {
            let off = ((pos.n * g.c + job.ch) * plane_len) as isize
                + (y0 as isize - g.pad_top as isize) * g.w as isize
                + (x0 as isize - g.pad_left as isize);
            base[l] = job.input.wrapping_offset(off);
            let mask = ((1u32 << jhi) - (1u32 << jlo)) as u8;
            for m in masks.iter_mut().take(ihi).skip(ilo) {
                m[l] = mask;
            }
        }
        pos.advance(g);
    }
    let w = g.w;
    // Row-pass results, reused by every channel (initialised once per job: building such
    // kilobyte-sized blocks per channel by value made LLVM emit memcpy/memset calls).
    let mut t = [[Z(_mm512_setzero_ps()); A]; A];
    for cc in 0..job.nch {
        let coff = cc * plane_len;
        // SAFETY: the enabled lanes of mask (i, l) are window elements (i, j) inside the image
        // plane of channel ch + cc < c, at base[l] + coff + i·w + j; masked-off lanes are not
        // accessed (AVX-512 fault suppression), so the address may lie outside the buffer.
        let row = |l: usize, i: usize| unsafe {
            let q = base[l].wrapping_add(coff + i * w);
            if l.is_multiple_of(2) || l == LANES - 1 {
                // The same row of the next channel (a hint: never faults). Every other lane
                // covers the 64-byte lines of a row of tiles 24 bytes apart (F6x6).
                _mm_prefetch::<_MM_HINT_T0>(q.wrapping_add(plane_len) as *const i8);
            }
            _mm256_maskz_loadu_ps(masks[i][l], q)
        };
        // Row pass: t[i] = Bᵀ applied along x to row i of the 16 tiles.
        for (i, ti) in t.iter_mut().enumerate() {
            let r: [__m512; 8] = core::array::from_fn(|l| {
                _mm512_insertf32x8::<1>(_mm512_castps256_ps512(row(l, i)), row(l + 8, i))
            });
            let c = transpose8x2(r);
            let d: [Z; A] = core::array::from_fn(|j| Z(c[j]));
            *ti = T::bt::<Z, Fused>(&d);
        }
        for j in 0..A {
            let col: [Z; A] = core::array::from_fn(|i| t[i][j]);
            let v = T::bt::<Z, Fused>(&col);
            for (i, vi) in v.iter().enumerate() {
                // SAFETY: point i·α + j < α² of channel cc < nch is writable for 16 floats
                // (contract).
                unsafe { vi.store(job.out.add((i * A + j) * job.stride_p + cc * LANES)) };
            }
        }
    }
}

/// Output block transform of the AVX-512 entry: `Aᵀ M A` on zmm, bias and clamp, then per
/// output row a zmm 8x8 transpose pair and masked ymm stores of the columns inside the image
/// (rows outside get an empty mask). The per-tile set-up is shared by the `nch` channels of the
/// job. See [`crate::transforms::output_block`].
///
/// # Safety
/// As [`crate::transforms::output_block`]; the CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
#[allow(clippy::needless_range_loop)]
unsafe fn out_avx512<const A: usize, const M: usize, T: Tf<A, M>>(g: &Geometry, job: &OutJob) {
    let plane_len = g.oh * g.ow;
    // Per lane: the address of the tile's output (0, 0) in channel `job.ch` and per output row
    // the mask of its columns inside the image (0 for rows outside, lanes past the last tile).
    let mut base = [job.output; LANES];
    let mut masks = [[0u8; LANES]; 8];
    let mut pos = TilePos::of(g, job.tile0);
    for l in 0..LANES.min(g.tiles.saturating_sub(job.tile0)) {
        let oy = pos.ty * M;
        let ox = pos.tx * M;
        base[l] = job
            .output
            .wrapping_add((pos.n * g.k + job.ch) * plane_len + oy * g.ow + ox);
        let mask = ((1u32 << M.min(g.ow - ox)) - 1) as u8;
        for m in masks.iter_mut().take(M.min(g.oh - oy)) {
            m[l] = mask;
        }
        pos.advance(g);
    }
    // No clamp without an activation, so that NaN stays NaN.
    let clamp = job.lo > f32::NEG_INFINITY || job.hi < f32::INFINITY;
    // Blocks reused by every channel (see `in_avx512`); yt[j][i] = output (i, j) of the tiles.
    let mut t = [[Z(_mm512_setzero_ps()); M]; A];
    let mut yt = [[Z(_mm512_setzero_ps()); M]; M];
    for cc in 0..job.nch {
        // SAFETY: point i·α + j of channel cc < nch is readable for 16 floats (contract).
        let mp = unsafe { job.m.add(cc * LANES) };
        for (i, ti) in t.iter_mut().enumerate() {
            let r: [Z; A] = core::array::from_fn(|j| {
                let q = mp.wrapping_add((i * A + j) * job.stride_p);
                // The same point of the next channel (a hint: never faults).
                _mm_prefetch::<_MM_HINT_T0>(q.wrapping_add(LANES) as *const i8);
                // SAFETY: as above.
                unsafe { Z::load(q) }
            });
            *ti = T::at::<Z, Fused>(&r);
        }
        // SAFETY: nch biases are readable (contract).
        let bias = Z::splat(unsafe { *job.bias.add(cc) });
        for (j, ytj) in yt.iter_mut().enumerate() {
            let col: [Z; A] = core::array::from_fn(|i| t[i][j]);
            let y = T::at::<Z, Fused>(&col);
            for (o, v) in ytj.iter_mut().zip(y) {
                let v = v + bias;
                *o = if clamp { v.clamp(job.lo, job.hi) } else { v };
            }
        }
        let coff = cc * plane_len;
        for i in 0..M {
            let r: [__m512; 8] = core::array::from_fn(|j| {
                if j < M {
                    yt[j][i].0
                } else {
                    _mm512_setzero_ps()
                }
            });
            let c = transpose8x2(r);
            for l in 0..8 {
                // SAFETY: the enabled lanes of mask (i, l) are outputs (i, j) of the tile inside
                // the output plane of channel ch + cc < k, owned by this job; masked-off lanes
                // are not accessed (AVX-512 fault suppression).
                unsafe {
                    let q0 = base[l].wrapping_add(coff + i * g.ow);
                    let q1 = base[l + 8].wrapping_add(coff + i * g.ow);
                    _mm256_mask_storeu_ps(q0, masks[i][l], _mm512_castps512_ps256(c[l]));
                    _mm256_mask_storeu_ps(q1, masks[i][l + 8], _mm512_extractf32x8_ps::<1>(c[l]));
                }
            }
        }
    }
}
