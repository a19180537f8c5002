//! The algorithm, written once over [`Simd`]: fixed-size complex FFTs of 4, 8 and 16 points
//! (radix-2 decimation in time, every twiddle a constant), the real 2-D tile transforms built on
//! them, and the complex tuple GEMM.
//!
//! All functions are `#[inline(always)]` so that they compile inside each variant's
//! `#[target_feature]` entry point.

use super::{GemmArgs, Post, Simd, MR};
use crate::pack::bin_offset;

/// Where the forward transform reads its spatial rows from.
pub(crate) trait RowSource<S: Simd> {
    /// Row `a < T` of the `L` spatial tiles: vector `b` holds column `b` of every lane's tile.
    ///
    /// # Safety
    /// The source's own contract (valid pointers), `a < T`, and the ISA of `S`.
    unsafe fn row<const T: usize>(&self, a: usize) -> [S::V; T];
}

/// Where the inverse transform puts its output rows.
pub(crate) trait RowSink<S: Simd> {
    /// Output row `r < T` (bias and clamp applied): vector `x` holds column `x` of every lane.
    ///
    /// # Safety
    /// The sink's own contract (valid pointers), `r < T`, and the ISA of `S`.
    unsafe fn put<const T: usize>(&self, r: usize, v: &[S::V; T]);
}

/// A `[T][T][L]` spatial block in memory, as row source or sink.
pub(crate) struct TileBuf(pub *mut f32);

impl<S: Simd> RowSource<S> for TileBuf {
    #[inline(always)]
    unsafe fn row<const T: usize>(&self, a: usize) -> [S::V; T] {
        // SAFETY: the buffer holds `T·T·L` floats (contract of `FwdFn`), `a < T`; the caller
        // runs with the ISA of `S`.
        unsafe {
            // (Plain loops, no closures: a closure would not inherit the caller's ISA.)
            let mut v = [S::splat(0.0); T];
            for (b, vb) in v.iter_mut().enumerate() {
                *vb = S::load(self.0.add((a * T + b) * S::LANES));
            }
            v
        }
    }
}

impl<S: Simd> RowSink<S> for TileBuf {
    #[inline(always)]
    unsafe fn put<const T: usize>(&self, r: usize, v: &[S::V; T]) {
        for (b, vb) in v.iter().enumerate() {
            // SAFETY: the buffer is writable for `T·T·L` floats (contract of `InvFn`), `r < T`.
            unsafe { S::store(self.0.add((r * T + b) * S::LANES), *vb) };
        }
    }
}

/// A complex vector: `LANES` complex numbers (one per tile) as separate real and imaginary parts.
#[derive(Clone, Copy)]
struct C<V> {
    re: V,
    im: V,
}

#[inline(always)]
unsafe fn zero<S: Simd>() -> C<S::V> {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        C {
            re: S::splat(0.0),
            im: S::splat(0.0),
        }
    }
}

#[inline(always)]
unsafe fn cadd<S: Simd>(a: C<S::V>, b: C<S::V>) -> C<S::V> {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        C {
            re: S::add(a.re, b.re),
            im: S::add(a.im, b.im),
        }
    }
}

#[inline(always)]
unsafe fn csub<S: Simd>(a: C<S::V>, b: C<S::V>) -> C<S::V> {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        C {
            re: S::sub(a.re, b.re),
            im: S::sub(a.im, b.im),
        }
    }
}

/// `cos(2πj/16)` for `j` in `0..8`.
const COS16: [f32; 8] = [
    1.0,
    0.923_879_5,
    core::f32::consts::FRAC_1_SQRT_2,
    0.382_683_43,
    0.0,
    -0.382_683_43,
    -core::f32::consts::FRAC_1_SQRT_2,
    -0.923_879_5,
];
/// `sin(2πj/16)` for `j` in `0..8`.
const SIN16: [f32; 8] = [
    0.0,
    0.382_683_43,
    core::f32::consts::FRAC_1_SQRT_2,
    0.923_879_5,
    1.0,
    0.923_879_5,
    core::f32::consts::FRAC_1_SQRT_2,
    0.382_683_43,
];

/// Radix-2 butterfly `(e + w·o, e − w·o)` with `w = e^(−2πi·j/16)`, written so that the
/// twiddle products fuse into the additions (multiply-adds instead of multiply + add: the
/// transforms are bound by the adder ports otherwise). `j` is a constant after inlining.
#[inline(always)]
unsafe fn bfly16<S: Simd>(e: C<S::V>, o: C<S::V>, j: usize) -> (C<S::V>, C<S::V>) {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let (a, b) = (o.re, o.im);
        match j {
            0 => (cadd::<S>(e, o), csub::<S>(e, o)),
            // w·o = b − ia
            4 => (
                C {
                    re: S::add(e.re, b),
                    im: S::sub(e.im, a),
                },
                C {
                    re: S::sub(e.re, b),
                    im: S::add(e.im, a),
                },
            ),
            // w·o = ((a + b) + i(b − a))·r
            2 => {
                let r = S::splat(core::f32::consts::FRAC_1_SQRT_2);
                let (sum, dif) = (S::add(a, b), S::sub(b, a));
                (
                    C {
                        re: S::fma(sum, r, e.re),
                        im: S::fma(dif, r, e.im),
                    },
                    C {
                        re: S::fnma(sum, r, e.re),
                        im: S::fnma(dif, r, e.im),
                    },
                )
            }
            // w·o = ((b − a) − i(a + b))·r
            6 => {
                let r = S::splat(core::f32::consts::FRAC_1_SQRT_2);
                let (sum, dif) = (S::add(a, b), S::sub(b, a));
                (
                    C {
                        re: S::fma(dif, r, e.re),
                        im: S::fnma(sum, r, e.im),
                    },
                    C {
                        re: S::fnma(dif, r, e.re),
                        im: S::fma(sum, r, e.im),
                    },
                )
            }
            // w·o = (ac + bs) + i(bc − as)
            _ => {
                let c = S::splat(COS16[j]);
                let s = S::splat(SIN16[j]);
                (
                    C {
                        re: S::fma(a, c, S::fma(b, s, e.re)),
                        im: S::fma(b, c, S::fnma(a, s, e.im)),
                    },
                    C {
                        re: S::fnma(a, c, S::fnma(b, s, e.re)),
                        im: S::fnma(b, c, S::fma(a, s, e.im)),
                    },
                )
            }
        }
    }
}

#[inline(always)]
unsafe fn fft4<S: Simd>(x: [C<S::V>; 4]) -> [C<S::V>; 4] {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let a0 = cadd::<S>(x[0], x[2]);
        let a1 = csub::<S>(x[0], x[2]);
        let b0 = cadd::<S>(x[1], x[3]);
        let d = csub::<S>(x[1], x[3]);
        // X1 = a1 − i·d, X3 = a1 + i·d
        [
            cadd::<S>(a0, b0),
            C {
                re: S::add(a1.re, d.im),
                im: S::sub(a1.im, d.re),
            },
            csub::<S>(a0, b0),
            C {
                re: S::sub(a1.re, d.im),
                im: S::add(a1.im, d.re),
            },
        ]
    }
}

/// `e + w·o` alone (the upper output of [`bfly16`]), for a lower output nobody reads.
#[inline(always)]
unsafe fn bfly16_top<S: Simd>(e: C<S::V>, o: C<S::V>, j: usize) -> C<S::V> {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let (a, b) = (o.re, o.im);
        match j {
            0 => cadd::<S>(e, o),
            4 => C {
                re: S::add(e.re, b),
                im: S::sub(e.im, a),
            },
            2 => {
                let r = S::splat(core::f32::consts::FRAC_1_SQRT_2);
                C {
                    re: S::fma(S::add(a, b), r, e.re),
                    im: S::fma(S::sub(b, a), r, e.im),
                }
            }
            6 => {
                let r = S::splat(core::f32::consts::FRAC_1_SQRT_2);
                C {
                    re: S::fma(S::sub(b, a), r, e.re),
                    im: S::fnma(S::add(a, b), r, e.im),
                }
            }
            _ => {
                let c = S::splat(COS16[j]);
                let s = S::splat(SIN16[j]);
                C {
                    re: S::fma(a, c, S::fma(b, s, e.re)),
                    im: S::fma(b, c, S::fnma(a, s, e.im)),
                }
            }
        }
    }
}

/// 8-point DFT; outputs `k >= n` (`n >= 4`, a constant after inlining) are left unspecified.
#[inline(always)]
unsafe fn fft8<S: Simd>(x: [C<S::V>; 8], n: usize) -> [C<S::V>; 8] {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let e = fft4::<S>([x[0], x[2], x[4], x[6]]);
        let o = fft4::<S>([x[1], x[3], x[5], x[7]]);
        let mut y = [e[0]; 8];
        for k in 0..4 {
            if k + 4 < n {
                (y[k], y[k + 4]) = bfly16::<S>(e[k], o[k], 2 * k);
            } else {
                y[k] = bfly16_top::<S>(e[k], o[k], 2 * k);
            }
        }
        y
    }
}

/// 16-point DFT; outputs `k >= n` (`n >= 8`, a constant after inlining) are left unspecified.
#[inline(always)]
unsafe fn fft16<S: Simd>(x: [C<S::V>; 16], n: usize) -> [C<S::V>; 16] {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let e = fft8::<S>(core::array::from_fn(|i| x[2 * i]), 8);
        let o = fft8::<S>(core::array::from_fn(|i| x[2 * i + 1]), 8);
        let mut y = [e[0]; 16];
        for k in 0..8 {
            if k + 8 < n {
                (y[k], y[k + 8]) = bfly16::<S>(e[k], o[k], k);
            } else {
                y[k] = bfly16_top::<S>(e[k], o[k], k);
            }
        }
        y
    }
}

/// In-place forward DFT of `T` ∈ {8, 16} points: `X[k] = Σ x[n] e^(−2πi·nk/T)`; only outputs
/// `k < N` are computed (`N >= T/2`; the last butterfly stage skips the others).
#[inline(always)]
unsafe fn fft<S: Simd, const T: usize, const N: usize>(x: &mut [C<S::V>; T]) {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        if T == 8 {
            let y = fft8::<S>(core::array::from_fn(|i| x[i]), N);
            x[..8].copy_from_slice(&y);
        } else {
            let y = fft16::<S>(core::array::from_fn(|i| x[i]), N);
            x[..16].copy_from_slice(&y);
        }
    }
}

/// In-place unnormalised inverse DFT: `x[n] = Σ X[k] e^(+2πi·nk/T)`, as
/// `swap(FFT(swap(X)))` where `swap` exchanges real and imaginary parts; outputs `< N` only.
#[inline(always)]
unsafe fn ifft<S: Simd, const T: usize, const N: usize>(x: &mut [C<S::V>; T]) {
    for v in x.iter_mut() {
        core::mem::swap(&mut v.re, &mut v.im);
    }
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe { fft::<S, T, N>(x) };
    for v in x.iter_mut() {
        core::mem::swap(&mut v.re, &mut v.im);
    }
}

/// Forward real 2-D FFT of `LANES` tiles at once (see [`super::FwdFn`]).
///
/// Rows are transformed two at a time as one complex FFT (`row 2j + i·row 2j+1`) and separated
/// with the Hermitian symmetry; the separation leaves out the factor ½, so the result is **twice**
/// the DFT (the packed kernel carries the compensating factor). Then the `T/2 + 1` columns get a
/// complex FFT each; columns 0 and `T/2` are Hermitian along `ky` and store `ky ≤ T/2` only, and
/// since their separation also leaves out its ½, they hold **four times** the DFT.
#[inline(always)]
pub(crate) unsafe fn forward<S: Simd, const T: usize, R: RowSource<S>>(
    src: &R,
    mid: *mut f32,
    x: *mut f32,
    bin_stride: usize,
) {
    let l = S::LANES;
    let h = T / 2 + 1;
    // SAFETY: the caller guarantees the buffer sizes of `FwdFn`, a valid row source and the ISA;
    // every offset below is within `T·H·2·L` (mid) or a bin's `2·L` floats.
    unsafe {
        for j in 0..T / 2 {
            let re = src.row::<T>(2 * j);
            let im = src.row::<T>(2 * j + 1);
            let mut z = [zero::<S>(); T];
            for (b, zb) in z.iter_mut().enumerate() {
                zb.re = re[b];
                zb.im = im[b];
            }
            fft::<S, T, T>(&mut z);
            for k in 0..h {
                let p = z[k];
                let q = z[(T - k) % T];
                let r0 = mid.add((2 * j * h + k) * 2 * l);
                let r1 = mid.add(((2 * j + 1) * h + k) * 2 * l);
                S::store(r0, S::add(p.re, q.re));
                S::store(r0.add(l), S::sub(p.im, q.im));
                S::store(r1, S::add(p.im, q.im));
                S::store(r1.add(l), S::sub(q.re, p.re));
            }
        }
        // Columns 0 and T/2 are real: one complex FFT of `col 0 + i·col T/2`, separated by
        // Hermitian symmetry without its ½, so these bins carry a factor 4 (the packed kernel
        // has an extra ½ for them) and every other bin a factor 2.
        {
            let mut c = [zero::<S>(); T];
            for (y, cy) in c.iter_mut().enumerate() {
                cy.re = S::load(mid.add(y * h * 2 * l));
                cy.im = S::load(mid.add((y * h + T / 2) * 2 * l));
            }
            fft::<S, T, T>(&mut c);
            let (o0, o1) = (bin_offset(T, 0), bin_offset(T, T / 2));
            for ky in 0..h {
                let p = c[ky];
                let q = c[(T - ky) % T];
                let x0 = x.add((o0 + ky) * bin_stride);
                let x1 = x.add((o1 + ky) * bin_stride);
                S::store(x0, S::add(p.re, q.re));
                S::store(x0.add(l), S::sub(p.im, q.im));
                S::store(x1, S::add(p.im, q.im));
                S::store(x1.add(l), S::sub(q.re, p.re));
            }
        }
        for kx in 1..T / 2 {
            let mut c = [zero::<S>(); T];
            for (y, cy) in c.iter_mut().enumerate() {
                let p = mid.add((y * h + kx) * 2 * l);
                cy.re = S::load(p);
                cy.im = S::load(p.add(l));
            }
            fft::<S, T, T>(&mut c);
            let off = bin_offset(T, kx);
            for (ky, cy) in c.iter().enumerate() {
                let p = x.add((off + ky) * bin_stride);
                S::store(p, cy.re);
                S::store(p.add(l), cy.im);
            }
        }
    }
}

/// Inverse real 2-D FFT of `LANES` tiles, first `rows` rows only, plus bias and clamp (see
/// [`super::InvFn`]). Unnormalised: the packed kernel carries `1/(2·T²)`.
#[inline(always)]
pub(crate) unsafe fn inverse<S: Simd, const T: usize, K: RowSink<S>>(
    y: *const f32,
    bin_stride: usize,
    rows: usize,
    post: &Post,
    mid: *mut f32,
    sink: &K,
) {
    // SAFETY: forwarded contract.
    unsafe { inverse_first::<S, T, T, K>(y, bin_stride, rows, post, mid, sink) }
}

/// [`inverse`] pruned to what the caller reads: rows `< rows`, columns `< post.cols` (see
/// [`super::Post`]); for 16x16 tiles, outputs of 10 or 12 columns (kernels of 7 and 5 columns)
/// skip the rest in the last butterfly stage of every IFFT ([`inverse_first`]).
#[inline(always)]
pub(crate) unsafe fn inverse_pruned<S: Simd, const T: usize, K: RowSink<S>>(
    y: *const f32,
    bin_stride: usize,
    rows: usize,
    post: &Post,
    mid: *mut f32,
    sink: &K,
) {
    let n = ((rows + 1) & !1).max(post.cols);
    // SAFETY: forwarded contract; rows <= n <= NP in each branch.
    unsafe {
        if T == 16 && n <= 10 {
            inverse_first::<S, T, 10, K>(y, bin_stride, rows, post, mid, sink)
        } else if T == 16 && n <= 12 {
            inverse_first::<S, T, 12, K>(y, bin_stride, rows, post, mid, sink)
        } else {
            inverse::<S, T, K>(y, bin_stride, rows, post, mid, sink)
        }
    }
}

/// As [`inverse`], computing only rows and columns `< NP` (`T/2 <= NP <= T`, `rows <= NP`) in
/// the last butterfly stage of every IFFT: columns `NP..T` reach the sink unspecified.
#[inline(always)]
pub(crate) unsafe fn inverse_first<S: Simd, const T: usize, const NP: usize, K: RowSink<S>>(
    y: *const f32,
    bin_stride: usize,
    rows: usize,
    post: &Post,
    mid: *mut f32,
    sink: &K,
) {
    let l = S::LANES;
    let h = T / 2 + 1;
    // Rows are produced in pairs; an odd count computes one extra (valid, unused) row.
    let rows = ((rows + 1) & !1).min(T);
    // SAFETY: as in `forward`, the caller guarantees the sizes of `InvFn` and the ISA.
    unsafe {
        // Columns 0 and T/2 (Hermitian along ky, real after the inverse): one complex IFFT of
        // `A + i·B` over the Hermitian extensions of both.
        {
            let (o0, o1) = (bin_offset(T, 0), bin_offset(T, T / 2));
            let mut z = [zero::<S>(); T];
            for (k, zk) in z.iter_mut().enumerate().take(h) {
                let pa = y.add((o0 + k) * bin_stride);
                let pb = y.add((o1 + k) * bin_stride);
                let (ar, ai) = (S::load(pa), S::load(pa.add(l)));
                let (br, bi) = (S::load(pb), S::load(pb.add(l)));
                zk.re = S::sub(ar, bi);
                zk.im = S::add(ai, br);
            }
            for (k, zk) in z.iter_mut().enumerate().skip(h) {
                let pa = y.add((o0 + T - k) * bin_stride);
                let pb = y.add((o1 + T - k) * bin_stride);
                let (ar, ai) = (S::load(pa), S::load(pa.add(l)));
                let (br, bi) = (S::load(pb), S::load(pb.add(l)));
                zk.re = S::add(ar, bi);
                zk.im = S::sub(br, ai);
            }
            ifft::<S, T, NP>(&mut z);
            // (Static loop with a test: a dynamic trip count would keep `z` in memory.) These
            // two columns are real: their imaginary parts are not stored (the row pass knows
            // they are zero).
            for (r, zr) in z.iter().enumerate() {
                if r >= rows {
                    break;
                }
                S::store(mid.add(r * h * 2 * l), zr.re);
                S::store(mid.add((r * h + T / 2) * 2 * l), zr.im);
            }
        }
        for kx in 1..T / 2 {
            let off = bin_offset(T, kx);
            let mut c = [zero::<S>(); T];
            for (ky, cy) in c.iter_mut().enumerate() {
                let p = y.add((off + ky) * bin_stride);
                cy.re = S::load(p);
                cy.im = S::load(p.add(l));
            }
            ifft::<S, T, NP>(&mut c);
            for (r, cr) in c.iter().enumerate() {
                if r >= rows {
                    break;
                }
                let p = mid.add((r * h + kx) * 2 * l);
                S::store(p, cr.re);
                S::store(p.add(l), cr.im);
            }
        }
        let bias = S::splat(post.bias);
        let (clamp, lo, hi) = match post.clamp {
            Some((lo, hi)) => (true, S::splat(lo), S::splat(hi)),
            None => (false, bias, bias),
        };
        for r in (0..rows).step_by(2) {
            let mut z = [zero::<S>(); T];
            // k ≤ T/2: A + iB; k > T/2: conj(A[T−k]) + i·conj(B[T−k]). Two static loops, so
            // that they unroll and `z` stays in registers.
            for (k, zk) in z.iter_mut().enumerate().take(T / 2 + 1) {
                let p1 = mid.add((r * h + k) * 2 * l);
                let p2 = mid.add(((r + 1) * h + k) * 2 * l);
                if k == 0 || k == T / 2 {
                    // Real columns: A and B are real.
                    zk.re = S::load(p1);
                    zk.im = S::load(p2);
                } else {
                    let (ar, ai) = (S::load(p1), S::load(p1.add(l)));
                    let (br, bi) = (S::load(p2), S::load(p2.add(l)));
                    zk.re = S::sub(ar, bi);
                    zk.im = S::add(ai, br);
                }
            }
            for (k, zk) in z.iter_mut().enumerate().skip(T / 2 + 1) {
                let p1 = mid.add((r * h + T - k) * 2 * l);
                let p2 = mid.add(((r + 1) * h + T - k) * 2 * l);
                let (ar, ai) = (S::load(p1), S::load(p1.add(l)));
                let (br, bi) = (S::load(p2), S::load(p2.add(l)));
                zk.re = S::add(ar, bi);
                zk.im = S::sub(br, ai);
            }
            ifft::<S, T, NP>(&mut z);
            let mut v0 = [bias; T];
            let mut v1 = [bias; T];
            for (xcol, zx) in z.iter().enumerate() {
                v0[xcol] = finish::<S>(zx.re, bias, clamp, lo, hi);
                v1[xcol] = finish::<S>(zx.im, bias, clamp, lo, hi);
            }
            sink.put::<T>(r, &v0);
            sink.put::<T>(r + 1, &v1);
        }
    }
}

/// Bias, then the optional clamp, which keeps NaN: the value is the second operand of
/// [`Simd::max`] and [`Simd::min`], which return it when it is NaN.
#[inline(always)]
unsafe fn finish<S: Simd>(v: S::V, bias: S::V, clamp: bool, lo: S::V, hi: S::V) -> S::V {
    // SAFETY: the caller runs with the ISA of `S` enabled.
    unsafe {
        let v = S::add(v, bias);
        if clamp {
            S::min(hi, S::max(lo, v))
        } else {
            v
        }
    }
}

/// The tuple GEMM of one bin (see [`GemmArgs`]): register blocks of `MR` output channels × `NR`
/// tile vectors, then the remaining tile vectors one at a time.
#[inline(always)]
pub(crate) unsafe fn gemm<S: Simd, const NR: usize, const MH: usize>(a: &GemmArgs) {
    let mut g = 0;
    // SAFETY: the caller guarantees the sizes of `GemmArgs` and the ISA.
    unsafe {
        while g + NR <= a.groups {
            gemm_block::<S, NR, MH>(a, g);
            g += NR;
        }
        while g < a.groups {
            gemm_block::<S, 1, MH>(a, g);
            g += 1;
        }
    }
}

/// One register block: `MH` (a divisor of `MR`) output channels × `N` tile vectors. The complex product
/// `(c + id)(a + ib)` takes three multiply-adds (Gauss): `k1 += c·(a + b)`, `k2 += (c + d)·b`,
/// `k3 += (d − c)·a`, and at the end `re = k1 − k2`, `im = k1 + k3` (the kernel stores
/// `c, c + d, d − c`; `a + b` is shared by the `MR` channels).
#[inline(always)]
unsafe fn gemm_block<S: Simd, const N: usize, const MH: usize>(a: &GemmArgs, g0: usize) {
    let l = S::LANES;
    let ocp = a.oc_blocks * MR;
    // SAFETY: offsets stay within the `GemmArgs` sizes: `g0 + N <= groups`, `ob < oc_blocks`,
    // `ic < cin`, `r < MR`.
    unsafe {
        for (ob, r0) in (0..a.oc_blocks).flat_map(|ob| (0..MR).step_by(MH).map(move |r| (ob, r))) {
            let w = a.w.add(ob * a.cin * MR * 3 + r0 * 3);
            let z = S::splat(0.0);
            let mut k1 = [[z; N]; MH];
            let mut k2 = [[z; N]; MH];
            let mut k3 = [[z; N]; MH];
            let mut xp = [a.x; N];
            for (n, p) in xp.iter_mut().enumerate() {
                *p = a.x.add((g0 + n) * a.cin * 2 * l);
            }
            let mut wp = w;
            for _ in 0..a.cin {
                let mut xa = [z; N];
                let mut xb = [z; N];
                let mut xs = [z; N];
                for n in 0..N {
                    xa[n] = S::load(xp[n]);
                    xb[n] = S::load(xp[n].add(l));
                    xs[n] = S::add(xa[n], xb[n]);
                }
                for r in 0..MH {
                    let c = S::splat(*wp.add(3 * r));
                    let cpd = S::splat(*wp.add(3 * r + 1));
                    let dmc = S::splat(*wp.add(3 * r + 2));
                    for n in 0..N {
                        k1[r][n] = S::fma(c, xs[n], k1[r][n]);
                        k2[r][n] = S::fma(cpd, xb[n], k2[r][n]);
                        k3[r][n] = S::fma(dmc, xa[n], k3[r][n]);
                    }
                }
                for p in xp.iter_mut() {
                    *p = p.add(2 * l);
                }
                wp = wp.add(3 * MR);
            }
            for r in 0..MH {
                for n in 0..N {
                    let p = a.y.add(((g0 + n) * ocp + ob * MR + r0 + r) * 2 * l);
                    S::store(p, S::sub(k1[r][n], k2[r][n]));
                    S::store(p.add(l), S::add(k1[r][n], k3[r][n]));
                }
            }
        }
    }
}
