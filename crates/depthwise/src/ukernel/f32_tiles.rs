//! The fp32 channel-tile bodies of the AVX2 and NEON depthwise kernels, written once over the
//! vector operations they need ([`F32Lanes`]: `__m256` and `float32x4_t`). A tile is `L`
//! channels (one vector) of `P` output pixels; its packed weights are `L` biases then, per tap,
//! `L` weights ([`super::pack_f32_tiles`]). Each pixel accumulates its taps in tap order with
//! fused multiply-adds (the reference order) and is clamped at the store.
//!
//! (The AVX-512 kernels keep bodies of their own: their weights are packed flat and their tiles
//! follow the input's cache lines.)

/// The fp32 vector operations of one ISA, and how it names the lanes of a partial tile.
///
/// # Safety
/// Every method requires the ISA of the implementation (the caller's target features); the
/// pointer arguments must be valid for the lanes `m` selects (all `LANES` when `FULL`).
pub(crate) trait F32Lanes {
    /// The vector.
    type V: Copy;
    /// The lanes of a partial tile (`FULL = false`).
    type M: Copy;
    /// All zero.
    unsafe fn zero() -> Self::V;
    /// `LANES` floats at `p` (`FULL`) or the lanes of `m` (the others 0).
    unsafe fn load<const FULL: bool>(p: *const f32, m: Self::M) -> Self::V;
    /// `acc + x · w`, fused.
    unsafe fn fma(acc: Self::V, x: Self::V, w: Self::V) -> Self::V;
    /// Clamps `v` to `[lo, hi]` (NaN stays NaN) and stores it at `p` (`FULL`: all lanes, else
    /// the lanes of `m`).
    unsafe fn store<const FULL: bool>(
        p: *mut f32,
        m: Self::M,
        v: Self::V,
        lo: Self::V,
        hi: Self::V,
    );
}

/// The shape of one tile call: taps (`K` when specialised, else `taps`), the kernel width for
/// the stride-1 body (`KW` when specialised, else `kw`), the tile's first channel `c`, its
/// lanes `m`, the channel count `ch` (the row stride of `out`) and the clamp.
pub(crate) struct Tile<S: F32Lanes> {
    pub kw: usize,
    pub taps: usize,
    pub c: usize,
    pub m: S::M,
    pub ch: usize,
    pub lo: S::V,
    pub hi: S::V,
}

/// One tile of `P` pixels whose `taps` row pointers each follow at `ind` (pixel-major), the
/// tile's packed weights at `wt`: per tap, one weight load shared by the `P` pixels.
///
/// # Safety
/// The ISA of `S`; `ind` holds `P · taps` row pointers, each readable for channels
/// `c..c + LANES` (`FULL`) or the lanes of `m`; `wt` holds the tile's `LANES · (1 + taps)`
/// weights; `out` is writable for pixel `q < P` at `q · ch + c` (the same lanes).
#[inline(always)]
pub(crate) unsafe fn tile<
    S: F32Lanes,
    const LANES: usize,
    const K: usize,
    const P: usize,
    const FULL: bool,
>(
    t: &Tile<S>,
    ind: *const *const f32,
    wt: *const f32,
    out: *mut f32,
) {
    let taps = if K == 0 { t.taps } else { K };
    // SAFETY: the contract above; weights stay inside the tile's packed words.
    unsafe {
        let mut acc = [S::load::<true>(wt, t.m); P];
        for k in 0..taps {
            let wv = S::load::<true>(wt.add(LANES * (1 + k)), t.m);
            for (q, a) in acc.iter_mut().enumerate() {
                let x = S::load::<FULL>((*ind.add(q * taps + k)).add(t.c), t.m);
                *a = S::fma(*a, x, wv);
            }
        }
        for (q, a) in acc.iter().enumerate() {
            S::store::<FULL>(out.add(q * t.ch + t.c), t.m, *a, t.lo, t.hi);
        }
    }
}

/// [`tile`] for stride 1 and dilation 1 along W: per kernel row, column `j`
/// (`0 ≤ j < P + kw − 1`) is pixel `j`'s tap `kx = 0` for `j < P`, then the last pixel's tap
/// `j − (P − 1)` (the contract of [`crate::ukernel::DwF32S1Fn`]: pixel `q + 1`'s tap `kx` is
/// pixel `q`'s tap `kx + 1`). Each column is loaded once and feeds pixel `j − kx` with the
/// row's weight `kx` (held in registers when `KW` is specialised), so each pixel still sees its
/// taps in order.
///
/// # Safety
/// As [`tile`], and the indirection list satisfies the stride-1 contract.
#[inline(always)]
pub(crate) unsafe fn s1_tile<
    S: F32Lanes,
    const LANES: usize,
    const KW: usize,
    const K: usize,
    const P: usize,
    const FULL: bool,
>(
    t: &Tile<S>,
    ind: *const *const f32,
    wt: *const f32,
    out: *mut f32,
) {
    let (kw, taps) = if K == 0 { (t.kw, t.taps) } else { (KW, K) };
    let kh = taps / kw;
    // SAFETY: as `tile`; every column pointer is one of the block's P · taps pointers.
    unsafe {
        let mut acc = [S::load::<true>(wt, t.m); P];
        for ky in 0..kh {
            let row = ind.add(ky * kw);
            let col = |j: usize| {
                let k = if j < P {
                    j * taps
                } else {
                    (P - 1) * taps + j + 1 - P
                };
                *row.add(k)
            };
            let wr = wt.add(LANES * (1 + ky * kw));
            if KW != 0 {
                let mut wv = [S::zero(); KW];
                for (kx, v) in wv.iter_mut().enumerate() {
                    *v = S::load::<true>(wr.add(LANES * kx), t.m);
                }
                for j in 0..P + KW - 1 {
                    let x = S::load::<FULL>(col(j).add(t.c), t.m);
                    for (kx, wk) in wv.iter().enumerate() {
                        if j >= kx && j - kx < P {
                            acc[j - kx] = S::fma(acc[j - kx], x, *wk);
                        }
                    }
                }
            } else {
                for j in 0..P + kw - 1 {
                    let x = S::load::<FULL>(col(j).add(t.c), t.m);
                    for kx in j.saturating_sub(P - 1)..kw.min(j + 1) {
                        let wk = S::load::<true>(wr.add(LANES * kx), t.m);
                        acc[j - kx] = S::fma(acc[j - kx], x, wk);
                    }
                }
            }
        }
        for (q, a) in acc.iter().enumerate() {
            S::store::<FULL>(out.add(q * t.ch + t.c), t.m, *a, t.lo, t.hi);
        }
    }
}
