//! The fp32 Winograd transform matrices and the block transforms built on them.
//!
//! For a tile `F(m, 3)` with `α = m + 2` interpolation points the 1-D identity is
//!
//! ```text
//! y = Aᵀ [ (G g) ⊙ (Bᵀ d) ]        d: α inputs, g: 3 taps, y: m outputs,
//! y[i] = Σ_j g[j] · d[i + j]       (cross-correlation, as in NN convolution)
//! ```
//!
//! and the 2-D transform nests it: `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`.
//! The matrices come from the modified Toom-Cook construction over the points listed on each
//! [`Tile`](crate::Tile) (`∞` is the extra point that carries the leading coefficient):
//! for a finite point `a_k`, row `k` of `Aᵀ` is `a_kⁱ`, row `k` of `G` is `a_kʲ / Π_{l≠k}(a_k − a_l)`
//! and row `k` of `Bᵀ` holds the coefficients of `Π_{l≠k}(x − a_l)`; the `∞` rows select the last
//! tap / output and hold the coefficients of `Π_l (x − a_l)`. Rows 0 of `G` and `Bᵀ` are negated
//! together where that makes `Bᵀ[0][0] = +1` (the product is unchanged).
//!
//! The tables below are the definitions (f64); the run-time 1-D transforms ([`Tf`]) are
//! hand-factored forms of `Bᵀ` and `Aᵀ` that share sub-expressions, and the tests check them
//! against the tables. The kernel transform `G g Gᵀ` is computed once per plan in f64.

use std::ops::{Add, Mul, Sub};

/// Lanes per transformed vector: every transform and GEMM panel works on 16 tiles at once.
pub const LANES: usize = 16;

/// F(2x2,3x3), points 0, 1, −1, ∞: `Bᵀ` (4×4).
pub const BT2: [[f64; 4]; 4] = [
    [1.0, 0.0, -1.0, 0.0],
    [0.0, 1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0, 0.0],
    [0.0, -1.0, 0.0, 1.0],
];
/// F(2x2,3x3): `G` (4×3).
pub const G2: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];
/// F(2x2,3x3): `Aᵀ` (2×4).
pub const AT2: [[f64; 4]; 2] = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, 1.0]];

/// F(4x4,3x3), points 0, 1, −1, 2, −2, ∞: `Bᵀ` (6×6).
pub const BT4: [[f64; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];
/// F(4x4,3x3): `G` (6×3).
pub const G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];
/// F(4x4,3x3): `Aᵀ` (4×6).
pub const AT4: [[f64; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// F(6x6,3x3), points 0, 1, −1, 2, −2, 1/2, −1/2, ∞ (NNPACK's choice): `Bᵀ` (8×8).
pub const BT6: [[f64; 8]; 8] = [
    [1.0, 0.0, -5.25, 0.0, 5.25, 0.0, -1.0, 0.0],
    [0.0, 1.0, 1.0, -4.25, -4.25, 1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0, 4.25, -4.25, -1.0, 1.0, 0.0],
    [0.0, 0.5, 0.25, -2.5, -1.25, 2.0, 1.0, 0.0],
    [0.0, -0.5, 0.25, 2.5, -1.25, -2.0, 1.0, 0.0],
    [0.0, 2.0, 4.0, -2.5, -5.0, 0.5, 1.0, 0.0],
    [0.0, -2.0, 4.0, 2.5, -5.0, -0.5, 1.0, 0.0],
    [0.0, -1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0],
];
/// F(6x6,3x3): `G` (8×3).
pub const G6: [[f64; 3]; 8] = [
    [1.0, 0.0, 0.0],
    [-2.0 / 9.0, -2.0 / 9.0, -2.0 / 9.0],
    [-2.0 / 9.0, 2.0 / 9.0, -2.0 / 9.0],
    [1.0 / 90.0, 1.0 / 45.0, 2.0 / 45.0],
    [1.0 / 90.0, -1.0 / 45.0, 2.0 / 45.0],
    [32.0 / 45.0, 16.0 / 45.0, 8.0 / 45.0],
    [32.0 / 45.0, -16.0 / 45.0, 8.0 / 45.0],
    [0.0, 0.0, 1.0],
];
/// F(6x6,3x3): `Aᵀ` (6×8).
pub const AT6: [[f64; 8]; 6] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 0.0],
    [0.0, 1.0, 1.0, 16.0, 16.0, 0.0625, 0.0625, 0.0],
    [0.0, 1.0, -1.0, 32.0, -32.0, 0.03125, -0.03125, 1.0],
];

/// `G` of a tile as rows of 3 (α rows).
pub fn g_matrix(alpha: usize) -> &'static [[f64; 3]] {
    match alpha {
        4 => &G2,
        6 => &G4,
        _ => &G6,
    }
}

/// Kernel transform of one 3x3 kernel (row-major), in f64: `U = G g Gᵀ`, α×α row-major.
///
/// `alpha` is 4, 6 or 8, `g` holds at least 9 floats and `out` at least `alpha²`; anything
/// else is a [`crate::WinogradError::Shape`] naming the argument (nothing is written).
pub fn kernel_transform_f64(
    alpha: usize,
    g: &[f32],
    out: &mut [f64],
) -> Result<(), crate::WinogradError> {
    let bad = |m: String| Err(crate::WinogradError::Shape(m));
    if !matches!(alpha, 4 | 6 | 8) {
        return bad(format!(
            "alpha = {alpha}: a 3x3 Winograd tile has 4, 6 or 8 points"
        ));
    }
    if g.len() < 9 {
        return bad(format!(
            "kernel g has {} floats but a 3x3 kernel needs 9",
            g.len()
        ));
    }
    if out.len() < alpha * alpha {
        return bad(format!(
            "out has {} floats but alpha = {alpha} needs {}",
            out.len(),
            alpha * alpha
        ));
    }
    let gm = g_matrix(alpha);
    // t = G g (α×3)
    let mut t = [[0.0f64; 3]; 8];
    for i in 0..alpha {
        for j in 0..3 {
            t[i][j] = (0..3).map(|k| gm[i][k] * g[k * 3 + j] as f64).sum();
        }
    }
    for i in 0..alpha {
        for j in 0..alpha {
            out[i * alpha + j] = (0..3).map(|k| t[i][k] * gm[j][k]).sum();
        }
    }
    Ok(())
}

/// 16 f32 lanes (16 tiles), the unit of every transform; plain arrays that the compiler turns
/// into SIMD registers inside the `#[target_feature]` instantiations of each variant.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct L(pub [f32; LANES]);

impl L {
    /// All lanes zero.
    pub const ZERO: L = L([0.0; LANES]);

    /// Every lane `v`.
    #[inline(always)]
    pub fn splat(v: f32) -> L {
        L([v; LANES])
    }

    /// Lane-wise `min(max(self, lo), hi)` that keeps NaN (IEEE propagation: `clamp(NaN) =
    /// NaN`). Not `x.max(lo).min(hi)`: `f32::max`/`min` return the non-NaN operand. Both
    /// comparisons are false for NaN, so a NaN lane keeps `x`. Two separate selects (not an
    /// `else if` chain, which LLVM left as per-lane branches): on x86 they vectorize to
    /// `maxps(lo, x)` and `minps(hi, x)`, which return their second operand `x` for NaN.
    #[inline(always)]
    pub fn clamp(self, lo: f32, hi: f32) -> L {
        let mut r = self;
        for x in r.0.iter_mut() {
            let v = if *x < lo { lo } else { *x };
            *x = if v > hi { hi } else { v };
        }
        r
    }
}

impl Add for L {
    type Output = L;
    #[inline(always)]
    fn add(self, o: L) -> L {
        let mut r = self;
        for (a, b) in r.0.iter_mut().zip(o.0) {
            *a += b;
        }
        r
    }
}

impl Sub for L {
    type Output = L;
    #[inline(always)]
    fn sub(self, o: L) -> L {
        let mut r = self;
        for (a, b) in r.0.iter_mut().zip(o.0) {
            *a -= b;
        }
        r
    }
}

impl Mul<f32> for L {
    type Output = L;
    #[inline(always)]
    fn mul(self, s: f32) -> L {
        let mut r = self;
        for a in r.0.iter_mut() {
            *a *= s;
        }
        r
    }
}

/// A vector of 16 lanes the transforms compute on: [`L`] (plain arrays, compiled to whatever
/// SIMD the enclosing function enables) or an ISA register type.
pub trait Vector: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<f32, Output = Self> {
    /// From 16 lanes.
    fn from_l(l: &L) -> Self;
    /// To 16 lanes.
    fn to_l(self) -> L;
    /// Reads 16 floats.
    ///
    /// # Safety
    /// `p` is readable for 16 floats.
    unsafe fn load(p: *const f32) -> Self;
    /// Writes 16 floats.
    ///
    /// # Safety
    /// `p` is writable for 16 floats.
    unsafe fn store(self, p: *mut f32);
    /// Every lane `v`.
    fn splat(v: f32) -> Self;
    /// Lane-wise `min(max(self, lo), hi)`; a NaN lane stays NaN (see the crate docs).
    fn clamp(self, lo: f32, hi: f32) -> Self;
}

impl Vector for L {
    #[inline(always)]
    fn from_l(l: &L) -> L {
        *l
    }
    #[inline(always)]
    fn to_l(self) -> L {
        self
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> L {
        // SAFETY: readable for 16 floats (contract); unaligned read.
        unsafe { core::ptr::read_unaligned(p as *const L) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: writable for 16 floats (contract); unaligned write.
        unsafe { core::ptr::write_unaligned(p as *mut L, self) }
    }
    #[inline(always)]
    fn splat(v: f32) -> L {
        L::splat(v)
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> L {
        L::clamp(self, lo, hi)
    }
}

/// How `a + x·s` is evaluated on vectors `V`: fused (one rounding, for ISAs with FMA) or not.
pub trait Arith<V> {
    /// `a + x·s`.
    fn madd(a: V, x: V, s: f32) -> V;
}

/// `a + x·s` with a separate multiply and add (portable scalar code: no libm `fmaf` call).
pub struct Plain;
impl Arith<L> for Plain {
    #[inline(always)]
    fn madd(a: L, x: L, s: f32) -> L {
        a + x * s
    }
}

/// `a + x·s` as a fused multiply-add (only instantiate inside FMA-enabled functions).
pub struct Fused;
impl Arith<L> for Fused {
    #[inline(always)]
    fn madd(a: L, x: L, s: f32) -> L {
        let mut r = a;
        for (r, x) in r.0.iter_mut().zip(x.0) {
            *r = x.mul_add(s, *r);
        }
        r
    }
}

/// The factored 1-D transforms of a tile with `A = α` points and `M = m` outputs.
pub trait Tf<const A: usize, const M: usize> {
    /// `Bᵀ x`.
    fn bt<V: Vector, R: Arith<V>>(x: &[V; A]) -> [V; A];
    /// `Aᵀ x`.
    fn at<V: Vector, R: Arith<V>>(x: &[V; A]) -> [V; M];
}

/// F(2x2,3x3) transforms.
pub struct F2;
/// F(4x4,3x3) transforms.
pub struct F4;
/// F(6x6,3x3) transforms.
pub struct F6;

impl Tf<4, 2> for F2 {
    #[inline(always)]
    fn bt<V: Vector, R: Arith<V>>(x: &[V; 4]) -> [V; 4] {
        [x[0] - x[2], x[1] + x[2], x[2] - x[1], x[3] - x[1]]
    }
    #[inline(always)]
    fn at<V: Vector, R: Arith<V>>(x: &[V; 4]) -> [V; 2] {
        [x[0] + x[1] + x[2], x[1] - x[2] + x[3]]
    }
}

impl Tf<6, 4> for F4 {
    #[inline(always)]
    fn bt<V: Vector, R: Arith<V>>(x: &[V; 6]) -> [V; 6] {
        let p = R::madd(x[4], x[2], -4.0); // x4 − 4x2
        let q = R::madd(x[3], x[1], -4.0); // x3 − 4x1
        let r = x[4] - x[2];
        let s = (x[3] - x[1]) * 2.0;
        [
            R::madd(R::madd(x[4], x[0], 4.0), x[2], -5.0),
            p + q,
            p - q,
            r + s,
            r - s,
            R::madd(R::madd(x[5], x[1], 4.0), x[3], -5.0),
        ]
    }
    #[inline(always)]
    fn at<V: Vector, R: Arith<V>>(x: &[V; 6]) -> [V; 4] {
        let a = x[1] + x[2];
        let b = x[1] - x[2];
        let c = x[3] + x[4];
        let d = x[3] - x[4];
        [
            x[0] + a + c,
            R::madd(b, d, 2.0),
            R::madd(a, c, 4.0),
            R::madd(b, d, 8.0) + x[5],
        ]
    }
}

impl Tf<8, 6> for F6 {
    #[inline(always)]
    fn bt<V: Vector, R: Arith<V>>(x: &[V; 8]) -> [V; 8] {
        let y0 = R::madd(x[0] - x[6], x[4] - x[2], 5.25);
        let y7 = R::madd(x[7] - x[1], x[3] - x[5], 5.25);
        let e1 = R::madd(x[2] + x[6], x[4], -4.25);
        let o1 = R::madd(x[1] + x[5], x[3], -4.25);
        let e2 = R::madd(R::madd(x[6], x[2], 0.25), x[4], -1.25);
        let o2 = R::madd(R::madd(x[1] * 0.5, x[3], -2.5), x[5], 2.0);
        let e3 = R::madd(R::madd(x[6], x[2], 4.0), x[4], -5.0);
        let o3 = R::madd(R::madd(x[1] * 2.0, x[3], -2.5), x[5], 0.5);
        [y0, e1 + o1, e1 - o1, e2 + o2, e2 - o2, e3 + o3, e3 - o3, y7]
    }
    #[inline(always)]
    fn at<V: Vector, R: Arith<V>>(x: &[V; 8]) -> [V; 6] {
        let a1 = x[1] + x[2];
        let s1 = x[1] - x[2];
        let a2 = x[3] + x[4];
        let s2 = x[3] - x[4];
        let a3 = x[5] + x[6];
        let s3 = x[5] - x[6];
        [
            x[0] + a1 + a2 + a3,
            R::madd(R::madd(s1, s2, 2.0), s3, 0.5),
            R::madd(R::madd(a1, a2, 4.0), a3, 0.25),
            R::madd(R::madd(s1, s2, 8.0), s3, 0.125),
            R::madd(R::madd(a1, a2, 16.0), a3, 0.0625),
            R::madd(R::madd(s1, s2, 32.0), s3, 0.03125) + x[7],
        ]
    }
}

/// Geometry of one run, shared by the input and output block transforms.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub k: usize,
    /// Input height and width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Padding top.
    pub pad_top: usize,
    /// Padding left.
    pub pad_left: usize,
    /// Tiles per column of the output (vertical count).
    pub tiles_y: usize,
    /// Tiles per output row.
    pub tiles_x: usize,
    /// Tiles over the whole batch.
    pub tiles: usize,
}

/// (image, tile row, tile column) of a tile, stepped to the next tile without divisions.
#[derive(Clone, Copy, Debug)]
pub struct TilePos {
    /// Image.
    pub n: usize,
    /// Tile row.
    pub ty: usize,
    /// Tile column.
    pub tx: usize,
}

impl TilePos {
    /// Position of global tile `t`.
    #[inline(always)]
    pub fn of(g: &Geometry, t: usize) -> TilePos {
        let per_image = g.tiles_y * g.tiles_x;
        let r = t % per_image;
        TilePos {
            n: t / per_image,
            ty: r / g.tiles_x,
            tx: r % g.tiles_x,
        }
    }

    /// Moves to the next tile (row-major within an image, then the next image).
    #[inline(always)]
    pub fn advance(&mut self, g: &Geometry) {
        self.tx += 1;
        if self.tx == g.tiles_x {
            self.tx = 0;
            self.ty += 1;
            if self.ty == g.tiles_y {
                self.ty = 0;
                self.n += 1;
            }
        }
    }
}

/// Input of the input block transform: the NCHW input and one (channel, 16-tile block) job.
#[derive(Clone, Copy, Debug)]
pub struct InJob {
    /// Start of the NCHW input (`batch · c · h · w` floats).
    pub input: *const f32,
    /// First input channel.
    pub ch: usize,
    /// Channels `ch..ch + nch` are transformed (at least 1).
    pub nch: usize,
    /// Global index of the first of the 16 tiles.
    pub tile0: usize,
    /// Where point `p` of the 16 transformed tiles of channel `ch + i` goes:
    /// `out + p · stride_p + 16·i` (16 floats).
    pub out: *mut f32,
    /// Distance between points in `out`, in floats.
    pub stride_p: usize,
    /// Length of the whole input buffer in floats (bounds wide loads).
    pub input_len: usize,
}

/// Input of the output block transform: one (output channel, 16-tile block) job.
#[derive(Clone, Copy, Debug)]
pub struct OutJob {
    /// Point `p` of the 16 tiles' products of channel `ch + i` is at `m + p · stride_p + 16·i`
    /// (16 floats).
    pub m: *const f32,
    /// Distance between points in `m`, in floats.
    pub stride_p: usize,
    /// Start of the NCHW output (`batch · k · oh · ow` floats).
    pub output: *mut f32,
    /// First output channel.
    pub ch: usize,
    /// Channels `ch..ch + nch` are transformed (at least 1).
    pub nch: usize,
    /// Global index of the first of the 16 tiles.
    pub tile0: usize,
    /// Biases of channels `ch..ch + nch` (`nch` readable floats).
    pub bias: *const f32,
    /// Lower clamp.
    pub lo: f32,
    /// Upper clamp.
    pub hi: f32,
}

/// How the 16 tiles of a block are moved between the images and the lane-major arrays.
pub trait TileIo {
    /// Returns `d` with `d[i][j].0[lane]` = input `(i, j)` of tile `tile0 + lane` (zero outside).
    ///
    /// # Safety
    /// As [`input_block`].
    unsafe fn gather<const A: usize, const M: usize>(g: &Geometry, job: &InJob) -> [[L; A]; A];
    /// Stores `y[i][j].0[lane]` as output `(i, j)` of tile `tile0 + lane` where inside.
    ///
    /// # Safety
    /// As [`output_block`].
    unsafe fn scatter<const A: usize, const M: usize>(g: &Geometry, job: &OutJob, y: &[[L; M]; M]);
}

/// Element-by-element moves ([`gather`], [`scatter`]).
pub struct ScalarIo;

impl TileIo for ScalarIo {
    #[inline(always)]
    unsafe fn gather<const A: usize, const M: usize>(g: &Geometry, job: &InJob) -> [[L; A]; A] {
        let mut d = [[L::ZERO; A]; A];
        // SAFETY: forwarded contract.
        unsafe { gather::<A, M>(g, job, &mut d) };
        d
    }
    #[inline(always)]
    unsafe fn scatter<const A: usize, const M: usize>(g: &Geometry, job: &OutJob, y: &[[L; M]; M]) {
        // SAFETY: forwarded contract.
        unsafe { scatter::<A, M>(g, job, y) }
    }
}

/// Input block transform: gathers 16 α×α input tiles of one channel (zeros outside the image),
/// computes `Bᵀ d B` for each and stores point `p` of the 16 tiles at `out + p · stride_p`.
///
/// # Safety
/// `job.input` holds the whole NCHW input of `g`; `job.out + p · stride_p + 16·i` is writable
/// for 16 floats for every `p < α²` and `i < nch`; `ch + nch ≤ g.c`, `nch ≥ 1`.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub unsafe fn input_block<
    const A: usize,
    const M: usize,
    T: Tf<A, M>,
    V: Vector,
    R: Arith<V>,
    Io: TileIo,
>(
    g: &Geometry,
    job: &InJob,
) {
    for i in 0..job.nch {
        let one = InJob {
            ch: job.ch + i,
            nch: 1,
            // SAFETY: channel i's points are inside the output region (contract).
            out: unsafe { job.out.add(i * LANES) },
            ..*job
        };
        // SAFETY: forwarded contract, for one channel.
        unsafe { input_one::<A, M, T, V, R, Io>(g, &one) };
    }
}

/// [`input_block`] of channel `job.ch` only.
///
/// # Safety
/// As [`input_block`].
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn input_one<
    const A: usize,
    const M: usize,
    T: Tf<A, M>,
    V: Vector,
    R: Arith<V>,
    Io: TileIo,
>(
    g: &Geometry,
    job: &InJob,
) {
    // SAFETY: forwarded contract.
    let d = unsafe { Io::gather::<A, M>(g, job) };
    // Rows: t[i] = Bᵀ d[i] (along x), then columns. Built by value (no zero-filled arrays).
    let t: [[V; A]; A] = core::array::from_fn(|i| T::bt::<V, R>(&d[i].each_ref().map(V::from_l)));
    for j in 0..A {
        let col: [V; A] = core::array::from_fn(|i| t[i][j]);
        let v = T::bt::<V, R>(&col);
        for (i, vi) in v.iter().enumerate() {
            // SAFETY: point i·α + j < α² is writable for 16 floats per the contract.
            unsafe { vi.store(job.out.add((i * A + j) * job.stride_p)) };
        }
    }
}

/// Output block transform: reads the α² products of 16 tiles of one output channel, computes
/// `Aᵀ M A`, adds the bias, clamps and stores the m×m outputs of each tile that are inside the
/// output image.
///
/// # Safety
/// `job.m + p · stride_p + 16·i` is readable for 16 floats for every `p < α²` and `i < nch`;
/// `job.bias` for `nch` floats; `job.output` holds the whole NCHW output of `g`;
/// `ch + nch ≤ g.k`, `nch ≥ 1`; no other thread writes the same tiles of these channels.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub unsafe fn output_block<
    const A: usize,
    const M: usize,
    T: Tf<A, M>,
    V: Vector,
    R: Arith<V>,
    Io: TileIo,
>(
    g: &Geometry,
    job: &OutJob,
) {
    for i in 0..job.nch {
        let one = OutJob {
            ch: job.ch + i,
            nch: 1,
            // SAFETY: channel i's points and bias are inside the regions of the contract.
            m: unsafe { job.m.add(i * LANES) },
            // SAFETY: as above.
            bias: unsafe { job.bias.add(i) },
            ..*job
        };
        // SAFETY: forwarded contract, for one channel.
        unsafe { output_one::<A, M, T, V, R, Io>(g, &one) };
    }
}

/// [`output_block`] of channel `job.ch` only.
///
/// # Safety
/// As [`output_block`].
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn output_one<
    const A: usize,
    const M: usize,
    T: Tf<A, M>,
    V: Vector,
    R: Arith<V>,
    Io: TileIo,
>(
    g: &Geometry,
    job: &OutJob,
) {
    let t: [[V; M]; A] = core::array::from_fn(|i| {
        let row: [V; A] = core::array::from_fn(|j| {
            // SAFETY: 16 floats at this point are readable per the contract.
            unsafe { V::load(job.m.add((i * A + j) * job.stride_p)) }
        });
        T::at::<V, R>(&row)
    });
    // yt[j] = column j of the result.
    let yt: [[V; M]; M] = core::array::from_fn(|j| {
        let col: [V; A] = core::array::from_fn(|i| t[i][j]);
        T::at::<V, R>(&col)
    });
    // SAFETY: one readable bias (contract).
    let bias = V::splat(unsafe { *job.bias });
    // No clamp without an activation, so that NaN stays NaN.
    let clamp = job.lo > f32::NEG_INFINITY || job.hi < f32::INFINITY;
    let y: [[L; M]; M] = core::array::from_fn(|i| {
        core::array::from_fn(|j| {
            let v = yt[j][i] + bias;
            if clamp { v.clamp(job.lo, job.hi) } else { v }.to_l()
        })
    });
    // SAFETY: forwarded contract.
    unsafe { Io::scatter::<A, M>(g, job, &y) };
}

/// Copies the 16 input tiles of `job` into lane-major `d` (zeros outside the image and for
/// lanes past the last tile).
///
/// Not inlined into the SIMD instantiations on purpose: compiled for the baseline ISA these are
/// plain scalar moves, where AVX-512 code generation would turn them into `vgatherdps` /
/// `vscatterdps`, which are far slower than scalar moves on current cores.
///
/// # Safety
/// As [`input_block`].
#[inline(never)]
pub unsafe fn gather<const A: usize, const M: usize>(
    g: &Geometry,
    job: &InJob,
    d: &mut [[L; A]; A],
) {
    let plane_len = g.h * g.w;
    for lane in 0..LANES {
        let t = job.tile0 + lane;
        if t >= g.tiles {
            break;
        }
        let per_image = g.tiles_y * g.tiles_x;
        let n = t / per_image;
        let r = t % per_image;
        let ty = r / g.tiles_x;
        let tx = r % g.tiles_x;
        // Top-left input coordinate of the tile, in padded coordinates.
        let y0 = ty * M;
        let x0 = tx * M;
        // SAFETY: the plane start is inside the input (n < batch, ch < c per the contract).
        let plane = unsafe { job.input.add((n * g.c + job.ch) * plane_len) };
        let inside = y0 >= g.pad_top
            && x0 >= g.pad_left
            && y0 + A - g.pad_top <= g.h
            && x0 + A - g.pad_left <= g.w;
        if inside {
            for (i, di) in d.iter_mut().enumerate() {
                // SAFETY: the whole α×α window is inside the plane (checked above).
                let row = unsafe { plane.add((y0 + i - g.pad_top) * g.w + (x0 - g.pad_left)) };
                for (j, dij) in di.iter_mut().enumerate() {
                    // SAFETY: j < α and the window row is inside the plane.
                    dij.0[lane] = unsafe { *row.add(j) };
                }
            }
        } else {
            for (i, di) in d.iter_mut().enumerate() {
                let yy = (y0 + i).wrapping_sub(g.pad_top);
                for (j, dij) in di.iter_mut().enumerate() {
                    let xx = (x0 + j).wrapping_sub(g.pad_left);
                    dij.0[lane] = if yy < g.h && xx < g.w {
                        // SAFETY: (yy, xx) is inside the plane.
                        unsafe { *plane.add(yy * g.w + xx) }
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// Stores the m×m outputs `y` of the 16 tiles of `job` that are inside the output image (see
/// [`gather`] for why this is not inlined).
///
/// # Safety
/// As [`output_block`].
#[inline(never)]
pub unsafe fn scatter<const A: usize, const M: usize>(g: &Geometry, job: &OutJob, y: &[[L; M]; M]) {
    let plane_len = g.oh * g.ow;
    let per_image = g.tiles_y * g.tiles_x;
    for lane in 0..LANES {
        let t = job.tile0 + lane;
        if t >= g.tiles {
            break;
        }
        let n = t / per_image;
        let r = t % per_image;
        let oy = (r / g.tiles_x) * M;
        let ox = (r % g.tiles_x) * M;
        let rows = M.min(g.oh - oy);
        let cols = M.min(g.ow - ox);
        // SAFETY: n < batch and ch < k, so the plane is inside the output.
        let plane = unsafe { job.output.add((n * g.k + job.ch) * plane_len) };
        for (i, yi) in y.iter().enumerate().take(rows) {
            // SAFETY: oy + i < oh.
            let row = unsafe { plane.add((oy + i) * g.ow + ox) };
            for (j, yij) in yi.iter().enumerate().take(cols) {
                // SAFETY: ox + j < ow; this thread owns this tile of this channel.
                unsafe { *row.add(j) = yij.0[lane] };
            }
        }
    }
}
