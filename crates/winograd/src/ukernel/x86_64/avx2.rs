//! x86_64 AVX2 + FMA kernels: `tgemm_6x16__avx2`, and the block transforms on 16-lane arrays
//! with 8x8 ymm transposes for the tile moves ([`Avx2Io`]).
#![allow(non_snake_case)]

use crate::transforms::{Geometry, InJob, OutJob, TileIo, TilePos, L, LANES};
use crate::ukernel::{rows, Kernels, MR};
use core::arch::x86_64::*;

crate::ukernel::block_transforms!(#[target_feature(enable = "avx2,fma")]; L; Fused; super::Avx2Io);

/// The kernels of the `tgemm_6x16__avx2` entry.
pub(crate) const KERNELS: Kernels = Kernels::one_panel(
    [tf::F2X2, tf::F4X4, tf::F6X6],
    rows!(tgemm_6x16__avx2),
    30.0,
);

tgemm_fn! {
    /// `tgemm_6x16__avx2::<R>`, `R ≤ 6` rows: one panel of 16 tiles as two ymm per row. See
    /// [`crate::ukernel::GemmFn`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with one panel; the CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    tgemm_6x16__avx2(kc, u, v, _vps, m, _mps, accumulate) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for c in 0..kc {
            // SAFETY: v readable for kc·16 floats, u for kc·6 (contract).
            unsafe {
                let v0 = _mm256_loadu_ps(v.add(c * LANES));
                let v1 = _mm256_loadu_ps(v.add(c * LANES + 8));
                for (r, a) in acc.iter_mut().enumerate() {
                    let s = _mm256_broadcast_ss(&*u.add(c * MR + r));
                    a[0] = _mm256_fmadd_ps(s, v0, a[0]);
                    a[1] = _mm256_fmadd_ps(s, v1, a[1]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: m writable for R·16 floats (contract).
            unsafe {
                let d = m.add(r * LANES);
                let (mut x0, mut x1) = (a[0], a[1]);
                if accumulate {
                    x0 = _mm256_add_ps(x0, _mm256_loadu_ps(d));
                    x1 = _mm256_add_ps(x1, _mm256_loadu_ps(d.add(8)));
                }
                _mm256_storeu_ps(d, x0);
                _mm256_storeu_ps(d.add(8), x1);
            }
        }
    }
}

/// Tile moves with 8x8 AVX2 transposes: row `i` of 8 tiles (8 floats each, read straight from
/// the image when the tile is inside it, else from a zero-padded copy) becomes the 8 vectors
/// `d[i][j]` of those tiles; the output side transposes back and stores `m` floats per row.
pub struct Avx2Io;

impl TileIo for Avx2Io {
    #[inline(always)]
    unsafe fn gather<const A: usize, const M: usize>(g: &Geometry, job: &InJob) -> [[L; A]; A] {
        // SAFETY: forwarded contract; only instantiated in the AVX2 + FMA functions of the
        // `tgemm_6x16__avx2` entry.
        unsafe { gather_avx2::<A, M>(g, job) }
    }
    #[inline(always)]
    unsafe fn scatter<const A: usize, const M: usize>(g: &Geometry, job: &OutJob, y: &[[L; M]; M]) {
        // SAFETY: as above.
        unsafe { scatter_avx2::<A, M>(g, job, y) }
    }
}

/// `c[j][l] = r[l][j]` for 8 vectors of 8.
#[inline(always)]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: AVX register operations only; callers run with AVX2 enabled.
    unsafe {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}

/// Zeros read by lanes past the last tile (8 floats, stride 0).
static ZERO_ROW: [f32; 8] = [0.0; 8];

/// # Safety
/// As [`crate::transforms::input_block`]; the CPU has AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn gather_avx2<const A: usize, const M: usize>(g: &Geometry, job: &InJob) -> [[L; A]; A] {
    let plane_len = g.h * g.w;
    // Per lane: where row i of the tile starts (`base + i·stride`, 8 readable floats): in the
    // image when the tile is inside it, else in a zero-padded 8x8 copy in `pool`.
    let mut base = [ZERO_ROW.as_ptr(); LANES];
    let mut stride = [0usize; LANES];
    let mut pool = core::mem::MaybeUninit::<[[f32; 64]; LANES]>::uninit();
    let pool_ptr = pool.as_mut_ptr() as *mut f32;
    let mut pos = TilePos::of(g, job.tile0);
    for l in 0..LANES.min(g.tiles.saturating_sub(job.tile0)) {
        let y0 = pos.ty * M;
        let x0 = pos.tx * M;
        let plane_off = (pos.n * g.c + job.ch) * plane_len;
        let inside = y0 >= g.pad_top
            && x0 >= g.pad_left
            && y0 + A - g.pad_top <= g.h
            && x0 + A - g.pad_left <= g.w;
        // Offset of the window's top-left when it is inside the plane.
        let off = plane_off + (y0 - g.pad_top.min(y0)) * g.w + (x0 - g.pad_left.min(x0));
        if inside && off + (A - 1) * g.w + 8 <= job.input_len {
            // SAFETY: the window is inside the plane, and an 8-float read of its last row
            // stays inside the input buffer (checked).
            base[l] = unsafe { job.input.add(off) };
            stride[l] = g.w;
        } else {
            // SAFETY: lane l's 64 floats of the pool are written in full (zeros, then the
            // columns jlo..jhi that are inside the image) before any read; the plane start is
            // inside the input, yy < h, and x0 + j − pad_left ∈ [0, w) for j ∈ jlo..jhi.
            unsafe {
                let dst = pool_ptr.add(l * 64);
                let plane = job.input.add(plane_off);
                // Columns j of the window inside the image: jlo..jhi.
                let jlo = g.pad_left.saturating_sub(x0).min(A);
                let jhi = (g.w + g.pad_left).saturating_sub(x0).min(A);
                for i in 0..8 {
                    let row = dst.add(i * 8);
                    _mm256_storeu_ps(row, _mm256_setzero_ps());
                    let yy = (y0 + i).wrapping_sub(g.pad_top);
                    if i < A && yy < g.h && jlo < jhi {
                        core::ptr::copy_nonoverlapping(
                            plane.add(yy * g.w + x0 + jlo - g.pad_left),
                            row.add(jlo),
                            jhi - jlo,
                        );
                    }
                }
                base[l] = dst;
            }
            stride[l] = 8;
        }
        pos.advance(g);
    }
    // SAFETY: base[l] + i·stride[l] has 8 readable floats for every lane and i < α (image rows
    // checked above, pool entries written in full, the zero row has stride 0).
    let row = |l: usize, i: usize| unsafe { _mm256_loadu_ps(base[l].add(i * stride[l])) };
    core::array::from_fn(|i| {
        let c0 = transpose8(core::array::from_fn(|l| row(l, i)));
        let c1 = transpose8(core::array::from_fn(|l| row(8 + l, i)));
        core::array::from_fn(|j| {
            let mut v = L::ZERO;
            // SAFETY: two 8-float stores into a 16-float local.
            unsafe {
                _mm256_storeu_ps(v.0.as_mut_ptr(), c0[j]);
                _mm256_storeu_ps(v.0.as_mut_ptr().add(8), c1[j]);
            }
            v
        })
    })
}

/// # Safety
/// As [`crate::transforms::output_block`]; the CPU has AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn scatter_avx2<const A: usize, const M: usize>(
    g: &Geometry,
    job: &OutJob,
    y: &[[L; M]; M],
) {
    let plane_len = g.oh * g.ow;
    let mut pos = TilePos::of(g, job.tile0);
    for half in 0..2 {
        // Per lane: output row pointer of the tile's first row, rows and columns inside.
        let mut dst = [(core::ptr::null_mut::<f32>(), 0usize, 0usize); 8];
        let mut lanes = 0;
        for (l, dl) in dst.iter_mut().enumerate() {
            let t = job.tile0 + half * 8 + l;
            if t >= g.tiles {
                break;
            }
            let oy = pos.ty * M;
            let ox = pos.tx * M;
            // SAFETY: n < batch, ch < k, (oy, ox) inside the output plane.
            let p = unsafe {
                job.output
                    .add((pos.n * g.k + job.ch) * plane_len + oy * g.ow + ox)
            };
            *dl = (p, M.min(g.oh - oy), M.min(g.ow - ox));
            lanes = l + 1;
            pos.advance(g);
        }
        if lanes == 0 {
            break;
        }
        for (i, yi) in y.iter().enumerate() {
            let cols: [__m256; 8] = core::array::from_fn(|j| {
                if j < M {
                    // SAFETY: reads 8 floats of a 16-float vector.
                    unsafe { _mm256_loadu_ps(yi[j].0.as_ptr().add(half * 8)) }
                } else {
                    _mm256_setzero_ps()
                }
            });
            let rows = transpose8(cols);
            for (l, &(p, nr, nc)) in dst.iter().enumerate().take(lanes) {
                if i >= nr {
                    continue;
                }
                // SAFETY: row i < nr of this tile is inside the output, and only its first
                // nc ≤ M floats are written; this job owns these outputs.
                unsafe {
                    let q = p.add(i * g.ow);
                    let lo = _mm256_castps256_ps128(rows[l]);
                    if nc == M {
                        match M {
                            2 => _mm_store_sd(q as *mut f64, _mm_castps_pd(lo)),
                            4 => _mm_storeu_ps(q, lo),
                            _ => {
                                _mm_storeu_ps(q, lo);
                                let hi = _mm256_extractf128_ps::<1>(rows[l]);
                                _mm_store_sd(q.add(4) as *mut f64, _mm_castps_pd(hi));
                            }
                        }
                    } else {
                        let mut tmp = [0.0f32; 8];
                        _mm256_storeu_ps(tmp.as_mut_ptr(), rows[l]);
                        core::ptr::copy_nonoverlapping(tmp.as_ptr(), q, nc);
                    }
                }
            }
        }
    }
}
