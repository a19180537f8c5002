//! The three transforms of the exact F(2x2,3x3), written over channel chunks of fixed length so
//! the compiler vectorizes them (the x86 table entries compile the same code with AVX2 / AVX-512
//! enabled, see `ukernel`).

use crate::f2x3::G2;
use crate::int8::Int8Error;
use aligned_vec::{AVec, ConstAlign};

/// Channels per step of the input transform.
const CH: usize = 32;
/// Channels per step of the output transform.
const CHO: usize = 16;

/// `dst[..n] = src[..n]` where `n <= N`; a constant-length copy (vector moves, no `memcpy`
/// call) when `n == N`, the common case.
#[inline(always)]
fn copy_n<T: Copy, const N: usize>(dst: &mut [T], src: &[T], n: usize) {
    if n == N {
        dst[..N].copy_from_slice(&src[..N]);
    } else {
        dst[..n].copy_from_slice(&src[..n]);
    }
}

/// `15 · ps + n`, the elements a tile transform touches with point stride `ps` and `n`
/// channels, or an error naming `argument` when it overflows or `ps < n`.
fn points_len(argument: &str, ps: usize, n: usize) -> Result<usize, Int8Error> {
    if ps < n {
        return Err(Int8Error::Buffer(format!(
            "{argument} point stride {ps} is smaller than the {n} channels"
        )));
    }
    ps.checked_mul(15)
        .and_then(|x| x.checked_add(n))
        .ok_or_else(|| {
            Int8Error::Buffer(format!(
                "{argument}: 15 x point stride {ps} + {n} overflows usize"
            ))
        })
}

/// Checks that `argument` has at least `need` elements.
fn check_len(argument: &str, len: usize, need: usize) -> Result<(), Int8Error> {
    if len < need {
        return Err(Int8Error::Buffer(format!(
            "{argument} has {len} elements but {need} are required"
        )));
    }
    Ok(())
}

/// Input transform `V = Bᵀ d B` of one 4x4 tile, all `cin` channels.
///
/// `rows[4k + l]` is the input pixel at tile row `k`, column `l` (a row of the zero-point
/// byte for padding); `d = (byte ^ xor) − za` lies in [−255, 255] for the plan's `xor`/`za`
/// (other values wrap in i16). Point `p = 4i + j` of channel `c` goes to `out[p · ps + c]`.
/// Every entry of `V` is a sum of 4 values of `d` with signs (each row of Bᵀ has two ±1), so
/// |V| ≤ 1020 and i16 never wraps.
///
/// Each row needs `cin` bytes, `ps >= cin` and `out` `15 · ps + cin` elements (checked
/// arithmetic); otherwise an [`Int8Error::Buffer`] names the argument and nothing is written.
pub fn input_tile(
    rows: &[&[u8]; 16],
    cin: usize,
    xor: u8,
    za: i16,
    out: &mut [i16],
    ps: usize,
) -> Result<(), Int8Error> {
    for (i, r) in rows.iter().enumerate() {
        check_len(&format!("rows[{i}]"), r.len(), cin)?;
    }
    check_len("out", out.len(), points_len("out", ps, cin)?)?;
    input_tile_raw(rows, cin, xor, za, out, ps);
    Ok(())
}

/// [`input_tile`] without the argument checks, for the plan's kernels (whose arguments are
/// sized at plan time; slice indexing still bounds every access).
#[inline(always)]
pub(crate) fn input_tile_raw(
    rows: &[&[u8]; 16],
    cin: usize,
    xor: u8,
    za: i16,
    out: &mut [i16],
    ps: usize,
) {
    let mut c0 = 0;
    while c0 < cin {
        let n = (cin - c0).min(CH);
        // A full chunk reads fixed-length arrays straight from the rows; a tail is padded.
        if n == CH {
            let src: [&[u8; CH]; 16] =
                core::array::from_fn(|i| rows[i][c0..c0 + CH].try_into().expect("CH bytes"));
            input_chunk(&src, xor, za, &mut out[c0..], ps, n);
        } else {
            let mut pad = [[0u8; CH]; 16];
            for (p, row) in pad.iter_mut().zip(rows) {
                p[..n].copy_from_slice(&row[c0..c0 + n]);
            }
            let src: [&[u8; CH]; 16] = core::array::from_fn(|i| &pad[i]);
            input_chunk(&src, xor, za, &mut out[c0..], ps, n);
        }
        c0 += n;
    }
}

/// One chunk of [`input_tile`]: `CH` channels of the 16 rows; the first `n` are stored at
/// `out[p · ps ..]`.
#[inline(always)]
fn input_chunk(src: &[&[u8; CH]; 16], xor: u8, za: i16, out: &mut [i16], ps: usize, n: usize) {
    let mut v = [[0i16; CH]; 16];
    for c in 0..CH {
        let d: [i16; 16] = core::array::from_fn(|i| i16::from(src[i][c] ^ xor) - za);
        // t = Bᵀ d (Bᵀ rows: [1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]), per column l.
        let mut t = [0i16; 16];
        for l in 0..4 {
            t[l] = d[l].wrapping_sub(d[8 + l]);
            t[4 + l] = d[4 + l].wrapping_add(d[8 + l]);
            t[8 + l] = d[8 + l].wrapping_sub(d[4 + l]);
            t[12 + l] = d[4 + l].wrapping_sub(d[12 + l]);
        }
        // V = t B: the same combination along each row i.
        for i in 0..4 {
            let r = 4 * i;
            v[r][c] = t[r].wrapping_sub(t[r + 2]);
            v[r + 1][c] = t[r + 1].wrapping_add(t[r + 2]);
            v[r + 2][c] = t[r + 2].wrapping_sub(t[r + 1]);
            v[r + 3][c] = t[r + 1].wrapping_sub(t[r + 3]);
        }
    }
    for (p, vp) in v.iter().enumerate() {
        copy_n::<i16, CH>(&mut out[p * ps..], vp, n);
    }
}

/// Output transform `Y = (Aᵀ M A) / 4 + bias` of one tile, all `cout` channels.
///
/// `m[p · ps + o]` is point `p` of output channel `o`; output pixel `(r, s)` of the 2x2 tile
/// goes to `y[(2r + s) · cout + o]`. Sums wrap (exactness argument in [`crate::int8`]); the
/// division by 4 is an arithmetic shift of a multiple of 4 (asserted in debug builds).
///
/// `ps >= cout`, `m` needs `15 · ps + cout` elements, `bias` `cout` and `y` `4 · cout`
/// (checked arithmetic); otherwise an [`Int8Error::Buffer`] names the argument and nothing is
/// written. `m` must hold products of the plan's transforms (else the debug assertion on the
/// division by 4 may fire).
pub fn output_tile(
    m: &[i32],
    ps: usize,
    bias: &[i32],
    cout: usize,
    y: &mut [i32],
) -> Result<(), Int8Error> {
    check_len("m", m.len(), points_len("m", ps, cout)?)?;
    check_len("bias", bias.len(), cout)?;
    let y_len = cout
        .checked_mul(4)
        .ok_or_else(|| Int8Error::Buffer(format!("y: 4 x cout {cout} overflows usize")))?;
    check_len("y", y.len(), y_len)?;
    output_tile_raw(m, ps, bias, cout, y);
    Ok(())
}

/// [`output_tile`] without the argument checks, for the plan's kernels (see
/// [`input_tile_raw`]).
#[inline(always)]
pub(crate) fn output_tile_raw(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
    let mut o0 = 0;
    while o0 < cout {
        let n = (cout - o0).min(CHO);
        // A full chunk reads fixed-length arrays straight from M; a tail is padded.
        if n == CHO {
            let src: [&[i32; CHO]; 17] = core::array::from_fn(|p| {
                let from = if p < 16 {
                    &m[p * ps + o0..]
                } else {
                    &bias[o0..]
                };
                from[..CHO].try_into().expect("CHO values")
            });
            output_chunk(&src, &mut y[o0..], cout, n);
        } else {
            let mut pad = [[0i32; CHO]; 17];
            for (p, x) in pad.iter_mut().take(16).enumerate() {
                x[..n].copy_from_slice(&m[p * ps + o0..p * ps + o0 + n]);
            }
            pad[16][..n].copy_from_slice(&bias[o0..o0 + n]);
            let src: [&[i32; CHO]; 17] = core::array::from_fn(|p| &pad[p]);
            output_chunk(&src, &mut y[o0..], cout, n);
        }
        o0 += n;
    }
}

/// One chunk of [`output_tile`]: `src[p]` holds `CHO` channels of point `p`, `src[16]` their
/// bias; the first `n` results of output pixel `q` go to `y[q · cout ..]`.
#[inline(always)]
fn output_chunk(src: &[&[i32; CHO]; 17], y: &mut [i32], cout: usize, n: usize) {
    let mut out = [[0i32; CHO]; 4];
    for o in 0..CHO {
        let mm: [i32; 16] = core::array::from_fn(|p| src[p][o]);
        // s = Aᵀ M (Aᵀ rows: [1,1,1,0], [0,1,-1,-1]), per column j.
        let mut s = [0i32; 8];
        for j in 0..4 {
            s[j] = mm[j].wrapping_add(mm[4 + j]).wrapping_add(mm[8 + j]);
            s[4 + j] = mm[4 + j].wrapping_sub(mm[8 + j]).wrapping_sub(mm[12 + j]);
        }
        // 4·Y = s A, then the exact division and the bias.
        for r in 0..2 {
            let q = 4 * r;
            let y0 = s[q].wrapping_add(s[q + 1]).wrapping_add(s[q + 2]);
            let y1 = s[q + 1].wrapping_sub(s[q + 2]).wrapping_sub(s[q + 3]);
            debug_assert!(
                y0 & 3 == 0 && y1 & 3 == 0,
                "Winograd output not divisible by 4: {y0}, {y1}"
            );
            out[2 * r][o] = (y0 >> 2).wrapping_add(src[16][o]);
            out[2 * r + 1][o] = (y1 >> 2).wrapping_add(src[16][o]);
        }
    }
    for (q, v) in out.iter().enumerate() {
        copy_n::<i32, CHO>(&mut y[q * cout..], v, n);
    }
}

/// Kernel transform `U = (2G) g (2G)ᵀ` of every (input, output) channel pair, packed for a
/// micro-kernel with `nr` output channels per block (layout in `ukernel`).
///
/// `g(o, ky, kx, c)` returns `w − zw` (|g| ≤ 255); 2G's rows have absolute sums 2, 3, 3, 2, so
/// |U| ≤ 9 · 255 = 2295. The result has `16 · blocks · kp · nr` i16 (`blocks = ⌈cout/nr⌉`),
/// zero where `c ≥ cin` or `o ≥ cout`.
///
/// Errors (each naming the argument): `nr == 0`, `kp` not a multiple of 4 or smaller than
/// `cin`, a size that overflows usize ([`Int8Error::Geometry`]), a value of `g` outside
/// [−255, 255] ([`Int8Error::Quant`]), a buffer that cannot be allocated
/// ([`Int8Error::Allocation`]).
pub fn pack_kernel(
    g: impl Fn(usize, usize, usize, usize) -> i32,
    cin: usize,
    cout: usize,
    kp: usize,
    nr: usize,
) -> Result<AVec<i16, ConstAlign<64>>, Int8Error> {
    let geo = |m: String| Err(Int8Error::Geometry(m));
    if nr == 0 {
        return geo("nr = 0: a block needs at least one output channel".to_string());
    }
    if kp < cin || !kp.is_multiple_of(4) {
        return geo(format!(
            "kp = {kp} must be a multiple of 4 and at least cin = {cin}"
        ));
    }
    let blocks = cout.div_ceil(nr);
    let len = [blocks, kp, nr].iter().try_fold(16usize, |a, &b| {
        a.checked_mul(b).ok_or_else(|| {
            Int8Error::Geometry(format!(
                "packed kernel length 16 x {blocks} blocks x kp {kp} x nr {nr} overflows usize"
            ))
        })
    })?;
    let mut u = AVec::<i16, ConstAlign<64>>::new(64);
    u.try_reserve_exact(len).map_err(|_| {
        Int8Error::Allocation(format!(
            "packed kernel of {len} i16 ({} bytes) cannot be allocated",
            len.saturating_mul(2)
        ))
    })?;
    u.resize(len, 0);
    for o in 0..cout {
        let (nb, n) = (o / nr, o % nr);
        for c in 0..cin {
            let mut w = [[0i32; 3]; 3];
            for (ky, row) in w.iter_mut().enumerate() {
                for (kx, x) in row.iter_mut().enumerate() {
                    *x = g(o, ky, kx, c);
                    if !(-255..=255).contains(x) {
                        return Err(Int8Error::Quant(format!(
                            "g({o}, {ky}, {kx}, {c}) = {x}: weight minus zero point must lie in [-255, 255]"
                        )));
                    }
                }
            }
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
    Ok(u)
}
