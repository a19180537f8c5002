//! The three transforms of the exact F(2x2,3x3), written over channel chunks of fixed length so
//! the compiler vectorizes them (the x86 variants compile the same code with AVX2 / AVX-512
//! enabled, see `ukernel`).

use crate::f2x3::G2;
use aligned_vec::{AVec, ConstAlign};

/// Channels per step of the input transform.
const CH: usize = 32;
/// Channels per step of the output transform.
const CHO: usize = 16;

#[inline(always)]
fn sub16(a: &[i16; CH], b: &[i16; CH]) -> [i16; CH] {
    core::array::from_fn(|i| a[i].wrapping_sub(b[i]))
}

#[inline(always)]
fn add16(a: &[i16; CH], b: &[i16; CH]) -> [i16; CH] {
    core::array::from_fn(|i| a[i].wrapping_add(b[i]))
}

/// Input transform `V = Bᵀ d B` of one 4x4 tile, all `cin` channels.
///
/// `rows[4k + l]` is the input pixel at tile row `k`, column `l` (a row of the zero-point
/// byte for padding); `d = (byte ^ xor) − za` lies in [−255, 255]. Point `p = 4i + j` of
/// channel `c` goes to `out[p · ps + c]`. Every entry of `V` is a sum of 4 values of `d` with
/// signs (each row of Bᵀ has two ±1), so |V| ≤ 1020 and i16 never wraps.
#[inline(always)]
pub fn input_tile(rows: &[&[u8]; 16], cin: usize, xor: u8, za: i16, out: &mut [i16], ps: usize) {
    let mut c0 = 0;
    while c0 < cin {
        let n = (cin - c0).min(CH);
        let mut d = [[0i16; CH]; 16];
        for (di, row) in d.iter_mut().zip(rows) {
            for (x, &b) in di[..n].iter_mut().zip(&row[c0..c0 + n]) {
                *x = i16::from(b ^ xor) - za;
            }
        }
        // t = Bᵀ d (Bᵀ rows: [1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]).
        let mut t = [[0i16; CH]; 16];
        for l in 0..4 {
            t[l] = sub16(&d[l], &d[8 + l]);
            t[4 + l] = add16(&d[4 + l], &d[8 + l]);
            t[8 + l] = sub16(&d[8 + l], &d[4 + l]);
            t[12 + l] = sub16(&d[4 + l], &d[12 + l]);
        }
        // V = t B, the same combination along the columns.
        for i in 0..4 {
            let r = 4 * i;
            let v = [
                sub16(&t[r], &t[r + 2]),
                add16(&t[r + 1], &t[r + 2]),
                sub16(&t[r + 2], &t[r + 1]),
                sub16(&t[r + 1], &t[r + 3]),
            ];
            for (j, vj) in v.iter().enumerate() {
                let p = r + j;
                out[p * ps + c0..p * ps + c0 + n].copy_from_slice(&vj[..n]);
            }
        }
        c0 += n;
    }
}

#[inline(always)]
fn add32(a: &[i32; CHO], b: &[i32; CHO]) -> [i32; CHO] {
    core::array::from_fn(|i| a[i].wrapping_add(b[i]))
}

#[inline(always)]
fn sub32(a: &[i32; CHO], b: &[i32; CHO]) -> [i32; CHO] {
    core::array::from_fn(|i| a[i].wrapping_sub(b[i]))
}

/// Output transform `Y = (Aᵀ M A) / 4 + bias` of one tile, all `cout` channels.
///
/// `m[p · ps + o]` is point `p` of output channel `o`; output pixel `(r, s)` of the 2x2 tile
/// goes to `y[(2r + s) · cout + o]`. Sums wrap (exactness argument in [`crate::int8`]); the
/// division by 4 is an arithmetic shift of a multiple of 4 (asserted in debug builds).
#[inline(always)]
pub fn output_tile(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
    let mut o0 = 0;
    while o0 < cout {
        let n = (cout - o0).min(CHO);
        let mut mm = [[0i32; CHO]; 16];
        for (p, x) in mm.iter_mut().enumerate() {
            x[..n].copy_from_slice(&m[p * ps + o0..p * ps + o0 + n]);
        }
        let mut b = [0i32; CHO];
        b[..n].copy_from_slice(&bias[o0..o0 + n]);
        // s = Aᵀ M (Aᵀ rows: [1,1,1,0], [0,1,-1,-1]).
        let mut s = [[0i32; CHO]; 8];
        for j in 0..4 {
            s[j] = add32(&add32(&mm[j], &mm[4 + j]), &mm[8 + j]);
            s[4 + j] = sub32(&sub32(&mm[4 + j], &mm[8 + j]), &mm[12 + j]);
        }
        for r in 0..2 {
            let q = 4 * r;
            let y4 = [
                add32(&add32(&s[q], &s[q + 1]), &s[q + 2]),
                sub32(&sub32(&s[q + 1], &s[q + 2]), &s[q + 3]),
            ];
            for (sx, v) in y4.iter().enumerate() {
                debug_assert!(
                    v[..n].iter().all(|x| x & 3 == 0),
                    "Winograd output not divisible by 4: {v:?}"
                );
                let out: [i32; CHO] = core::array::from_fn(|i| (v[i] >> 2).wrapping_add(b[i]));
                let at = (2 * r + sx) * cout + o0;
                y[at..at + n].copy_from_slice(&out[..n]);
            }
        }
        o0 += n;
    }
}

/// Kernel transform `U = (2G) g (2G)ᵀ` of every (input, output) channel pair, packed for a
/// micro-kernel with `nr` output channels per block (layout in `ukernel`).
///
/// `g(o, ky, kx, c)` returns `w − zw` (|g| ≤ 255); 2G's rows have absolute sums 2, 3, 3, 2, so
/// |U| ≤ 9 · 255 = 2295. The result has `16 · blocks · kp · nr` i16, zero where `c ≥ cin` or
/// `o ≥ cout`.
pub fn pack_kernel(
    g: impl Fn(usize, usize, usize, usize) -> i32,
    cin: usize,
    cout: usize,
    kp: usize,
    nr: usize,
) -> AVec<i16, ConstAlign<64>> {
    let blocks = cout.div_ceil(nr);
    let mut u = AVec::<i16, ConstAlign<64>>::from_iter(
        64,
        core::iter::repeat_n(0i16, 16 * blocks * kp * nr),
    );
    for o in 0..cout {
        let (nb, n) = (o / nr, o % nr);
        for c in 0..cin {
            let w: [[i32; 3]; 3] =
                core::array::from_fn(|ky| core::array::from_fn(|kx| g(o, ky, kx, c)));
            // gt = (2G) g: 4x3.
            let gt: [[i32; 3]; 4] = core::array::from_fn(|i| {
                core::array::from_fn(|b| (0..3).map(|a| G2[i][a] * w[a][b]).sum())
            });
            for (i, gi) in gt.iter().enumerate() {
                for (j, g2j) in G2.iter().enumerate() {
                    let v: i32 = (0..3).map(|b| gi[b] * g2j[b]).sum();
                    debug_assert!(v.abs() <= 2295);
                    let p = 4 * i + j;
                    let at = ((p * blocks + nb) * (kp / 2) + c / 2) * 2 * nr + 2 * n + c % 2;
                    u[at] = v as i16;
                }
            }
        }
    }
    u
}
