//! Depthwise micro-kernels. A kernel computes `px` output pixels of all channels; the input is
//! given as an indirection list of `px · taps` row pointers (pixel-major, one pointer per tap;
//! padding taps point at a zero / zero-point row), so padding costs no branch.
//!
//! int8 kernels compute `out[p][c] = b'[c] + Σ_t x_t[c] · w'[t][c]` with `w' = w − zw` (i16) and
//! `b' = bias − zx · Σ_t w'[t][c]` folded in at pack time, so the zero point is never subtracted
//! in the inner loop. Every product and pair sum is exact (|x| ≤ 255, |w'| ≤ 255); sums wrap
//! modulo 2^32, and the plan checks that the true accumulator fits i32, so the result is exact.
//! fp32 kernels compute `clamp(bias[c] + Σ_t x_t[c] · w[t][c])` with fused multiply-adds in tap
//! order (the reference order). The clamp keeps NaN (`clamp(NaN) = NaN`): x86 computes
//! `minps(hi, maxps(lo, v))` (both return their second operand when either is NaN), NEON
//! `fmin(fmax(v, lo), hi)` (`FMAX`/`FMIN` return NaN when either is NaN; never
//! `FMAXNM`/`FMINNM`), scalar code compares (`v < lo`, `v > hi` are false for NaN).
//!
//! Each variant has its own packed-weight layout (channel tile per ISA) made by its `pack`
//! function, and is specialised for 9 taps (3x3) and 25 taps (5x5) with a generic loop for any
//! other kernel size.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use crate::DwError;
use cpu_probe::Features;

/// int8 row kernel: `(px, taps, indirection, packed weights, channels, out)`. `SIGNED` inputs are
/// sign-extended bytes (i8), otherwise zero-extended (u8); selected by the plan.
///
/// # Safety
/// `ind` holds `px · taps` pointers, each readable for `channels` bytes; `w` is the packed buffer
/// of the same variant for `(taps, channels)`; `out` is writable for `px · channels` i32; the CPU
/// supports the kernel's ISA.
pub type DwI8Fn = unsafe fn(usize, usize, *const *const u8, *const i32, usize, *mut i32);

/// fp32 row kernel: `(px, taps, indirection, packed weights, channels, lo, hi, out)`.
///
/// # Safety
/// As [`DwI8Fn`], with f32 rows and output (`px · channels` f32).
pub type DwF32Fn =
    unsafe fn(usize, usize, *const *const f32, *const f32, usize, f32, f32, *mut f32);

/// fp32 row kernel for stride 1 and dilation 1 along W: `(px, kw, taps, indirection, packed
/// weights, channels, lo, hi, out)`; it may read a pixel's tap `kx` through the pointer of the
/// previous pixel's tap `kx + 1`, which is the same pointer under that geometry.
///
/// # Safety
/// As [`DwF32Fn`], and `ind[(p + 1)·taps + ky·kw + kx] == ind[p·taps + ky·kw + kx + 1]` for
/// every pixel `p + 1 < px`, row `ky` and `kx + 1 < kw`.
pub type DwF32S1Fn =
    unsafe fn(usize, usize, usize, *const *const f32, *const f32, usize, f32, f32, *mut f32);

/// Per-tensor `Fp32` requantization fused into an int8 kernel's store (the definition of
/// `quant_params::Requantizer::requantize` for `RequantScheme::Fp32`): `acc as f32 · scale`,
/// clamped to `[lo, hi]` (`qmin − zp`, `qmax − zp`), rounded half to even, plus `zero_point`;
/// stored as i8 when `signed`, else u8.
#[derive(Clone, Copy, Debug)]
pub struct Fp32Requant {
    /// Multiplier.
    pub scale: f32,
    /// Lower clamp before the zero point.
    pub lo: f32,
    /// Upper clamp before the zero point.
    pub hi: f32,
    /// Output zero point.
    pub zero_point: i32,
    /// i8 output (else u8).
    pub signed: bool,
}

/// int8 kernel with [`Fp32Requant`] fused: `(px, taps, indirection, packed weights, channels,
/// requantization, out)`, `out` writable for `px · channels` bytes; otherwise as [`DwI8Fn`].
pub type DwI8QFn =
    unsafe fn(usize, usize, *const *const u8, *const i32, usize, &Fp32Requant, *mut u8);

/// int8 kernel with [`Fp32Requant`] fused, for dilation 1 along W and 8-bit weights (`w'` in
/// `[-128, 127]`): `(px, kw, stride along W, taps, indirection, packed weights, channels,
/// requantization, out)`; it may read a pixel's tap `kx` through the previous pixel's tap
/// `kx + sw`.
///
/// # Safety
/// As [`DwI8QFn`], with `ind[(p + 1)·taps + ky·kw + kx] == ind[p·taps + ky·kw + kx + sw]` for
/// every pixel `p + 1 < px`, row `ky` and `kx + sw < kw`, and a kernel size and stride the
/// variant lists.
pub type DwI8QS1Fn = unsafe fn(
    usize,
    usize,
    usize,
    usize,
    *const *const u8,
    *const i32,
    usize,
    &Fp32Requant,
    *mut u8,
);

/// Packs int8 weights for a [`DwI8QS1Fn`]: `(kh, kw, channels, w' tap-major, folded bias,
/// signed inputs)` → packed words; an error if the slices do not have `kh·kw·channels` and
/// `channels` elements or the packed size overflows `usize` or cannot be allocated.
pub type PackI8S1Fn = fn(usize, usize, usize, &[i32], &[i32], bool) -> Result<Vec<i32>, DwError>;

/// Packs int8 weights: `(taps, channels, w' tap-major (w − zw), folded bias)` → packed words;
/// errors as [`PackI8S1Fn`].
pub type PackI8Fn = fn(usize, usize, &[i32], &[i32]) -> Result<Vec<i32>, DwError>;
/// Packs fp32 weights: `(taps, channels, w tap-major, bias)` → packed floats; errors as
/// [`PackI8S1Fn`].
pub type PackF32Fn = fn(usize, usize, &[f32], &[f32]) -> Result<Vec<f32>, DwError>;

/// Checks a packer's arguments: `w` has `taps · ch` elements (returned) and `bias` `ch`, so the packers' indices `t·ch + c` (`t < taps`, `c < ch`) stay inside `w`.
pub(crate) fn check_pack(
    taps: usize,
    ch: usize,
    w_len: usize,
    bias_len: usize,
) -> Result<usize, DwError> {
    let n = taps.checked_mul(ch).ok_or_else(|| {
        DwError::Geometry(format!("taps {taps} times channels {ch} overflows usize"))
    })?;
    if w_len != n || bias_len != ch {
        return Err(DwError::Buffer(format!(
            "packing {taps} taps x {ch} channels needs {n} weights and {ch} biases, got {w_len} \
             and {bias_len}"
        )));
    }
    Ok(n)
}

/// `(tiles · tile) · (head + per_tap · taps) + extra` elements: the size of a packed buffer of
/// `tiles` channel tiles, checked.
pub(crate) fn packed_len(
    tiles: usize,
    tile: usize,
    head: usize,
    per_tap: usize,
    taps: usize,
    extra: usize,
) -> Result<usize, DwError> {
    tiles
        .checked_mul(tile)
        .and_then(|c| {
            per_tap
                .checked_mul(taps)
                .and_then(|v| v.checked_add(head))
                .and_then(|v| v.checked_mul(c))
        })
        .and_then(|v| v.checked_add(extra))
        .ok_or_else(|| {
            DwError::Geometry(format!(
                "packed weights of {tiles} tiles of {tile} channels and {taps} taps overflow usize"
            ))
        })
}

/// An empty vector with room for exactly `n` elements; a failed allocation is an error (an
/// impossible size does not abort).
pub(crate) fn try_vec<T>(n: usize, what: &str) -> Result<Vec<T>, DwError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| {
        DwError::Buffer(format!(
            "{what}: cannot allocate {n} elements of {} bytes ({e})",
            core::mem::size_of::<T>()
        ))
    })?;
    Ok(v)
}

/// The kernels and packers of one variant.
#[derive(Clone, Copy)]
pub struct Kernels {
    /// int8 packer.
    pub pack_i8: PackI8Fn,
    /// int8 kernel for u8 inputs.
    pub i8_u: DwI8Fn,
    /// int8 kernel for i8 inputs.
    pub i8_s: DwI8Fn,
    /// int8 kernels with the per-tensor Fp32 requantization fused (u8, i8 inputs), if any.
    pub i8_q: Option<(DwI8QFn, DwI8QFn)>,
    /// Fused int8 kernels with 8-bit weights and column reuse along W, if any: packer, u8 and
    /// i8 inputs, the kernel sizes `[kh, kw]` and the strides along W they take.
    #[allow(clippy::type_complexity)]
    pub i8_q_s1: Option<(
        PackI8S1Fn,
        DwI8QS1Fn,
        DwI8QS1Fn,
        &'static [[usize; 2]],
        &'static [usize],
    )>,
    /// fp32 packer.
    pub pack_f32: PackF32Fn,
    /// fp32 kernel.
    pub f32: DwF32Fn,
    /// fp32 kernel for stride 1 along W, if any (same packed layout).
    pub f32_s1: Option<DwF32S1Fn>,
}

/// The micro-kernel families of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// `dwconv_c1__scalar`.
    Scalar,
    /// `dwconv_c8__neon` (int8 `smlal` over i16, fp32 4 channels × 4 pixels).
    Neon,
    /// `dwconv_c16__neondot` (FEAT_DotProd: int8 `sdot` by vector, 4 taps of 16 channels per
    /// 4 instructions, when every `w'` fits s8, else the `smlal` kernel; per-tensor Fp32
    /// requantization fused into the store; 3x3 stride 1 along W: column-reusing 8-channel
    /// kernel; fp32 as [`Variant::Neon`]).
    NeonDot,
    /// `dwconv_c16__avx2` (int8 `vpmaddwd` two taps at a time, fp32 8 channels × 4 pixels).
    Avx2,
    /// `dwconv_c32__avx512` (int8 `vpmaddwd` + `vpaddd`, fp32 16 channels × 8 pixels).
    Avx512,
    /// `dwconv_c32__avx512vnni` (int8 `vpdpwssd`; fp32 as [`Variant::Avx512`]).
    Avx512Vnni,
}

impl Variant {
    /// Every variant the running CPU can execute (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        let f = Features::get();
        let mut v = vec![Variant::Scalar];
        if cfg!(target_arch = "aarch64") && f.neon {
            v.push(Variant::Neon);
        }
        if cfg!(target_arch = "aarch64") && f.neon && f.neon_dot {
            v.push(Variant::NeonDot);
        }
        if cfg!(target_arch = "x86_64") {
            if f.has_avx2_fma() {
                v.push(Variant::Avx2);
            }
            if f.has_avx512() {
                v.push(Variant::Avx512);
            }
            if f.has_avx512vnni() {
                v.push(Variant::Avx512Vnni);
            }
        }
        v
    }

    /// The best available variant.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }

    /// Name of the variant's int8 kernel.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "dwconv_c1__scalar",
            Variant::Neon => "dwconv_c8__neon",
            Variant::NeonDot => "dwconv_c16__neondot",
            Variant::Avx2 => "dwconv_c16__avx2",
            Variant::Avx512 => "dwconv_c32__avx512",
            Variant::Avx512Vnni => "dwconv_c32__avx512vnni",
        }
    }

    /// The kernels, if this CPU/build can run them.
    pub fn kernels(self) -> Option<Kernels> {
        if !Variant::available().contains(&self) {
            return None;
        }
        match self {
            Variant::Scalar => Some(Kernels {
                pack_i8: scalar::pack_i8,
                i8_u: scalar::dw_i8::<false>,
                i8_s: scalar::dw_i8::<true>,
                i8_q: None,
                i8_q_s1: None,
                pack_f32: scalar::pack_f32,
                f32: scalar::dw_f32,
                f32_s1: None,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some(Kernels {
                pack_i8: aarch64::pack_i8,
                i8_u: aarch64::dw_i8::<false>,
                i8_s: aarch64::dw_i8::<true>,
                i8_q: None,
                i8_q_s1: None,
                pack_f32: aarch64::pack_f32,
                f32: aarch64::dw_f32,
                f32_s1: None,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::NeonDot => Some(Kernels {
                pack_i8: aarch64::pack_i8_dot,
                i8_u: aarch64::dw_i8_dot::<false>,
                i8_s: aarch64::dw_i8_dot::<true>,
                i8_q: Some((aarch64::dw_i8q_dot::<false>, aarch64::dw_i8q_dot::<true>)),
                i8_q_s1: Some((
                    aarch64::pack_i8_dot_s1,
                    aarch64::dw_i8q_dot_s1::<false>,
                    aarch64::dw_i8q_dot_s1::<true>,
                    &[[3, 3]],
                    &[1],
                )),
                pack_f32: aarch64::pack_f32,
                f32: aarch64::dw_f32,
                f32_s1: None,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Some(Kernels {
                pack_i8: x86_64::pack_i8_avx2,
                i8_u: x86_64::dw_i8_avx2::<false>,
                i8_s: x86_64::dw_i8_avx2::<true>,
                i8_q: None,
                i8_q_s1: None,
                pack_f32: x86_64::pack_f32_avx2,
                f32: x86_64::dw_f32_avx2,
                f32_s1: None,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512 => Some(Kernels {
                pack_i8: x86_64::pack_i8_avx512,
                i8_u: x86_64::dw_i8_avx512::<false, false>,
                i8_s: x86_64::dw_i8_avx512::<true, false>,
                i8_q: Some((
                    x86_64::dw_i8_avx512_q::<false, false>,
                    x86_64::dw_i8_avx512_q::<true, false>,
                )),
                i8_q_s1: None,
                pack_f32: x86_64::pack_f32_avx512,
                f32: x86_64::dw_f32_avx512,
                f32_s1: Some(x86_64::dw_f32_avx512_s1),
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => Some(Kernels {
                pack_i8: x86_64::pack_i8_avx512,
                i8_u: x86_64::dw_i8_avx512::<false, true>,
                i8_s: x86_64::dw_i8_avx512::<true, true>,
                i8_q: Some((
                    x86_64::dw_i8_avx512_q::<false, true>,
                    x86_64::dw_i8_avx512_q::<true, true>,
                )),
                i8_q_s1: Some((
                    x86_64::pack_i8_quads,
                    x86_64::dw_i8q_s1_vnni::<false>,
                    x86_64::dw_i8q_s1_vnni::<true>,
                    &[[3, 3], [5, 5]],
                    &[1, 2],
                )),
                pack_f32: x86_64::pack_f32_avx512,
                f32: x86_64::dw_f32_avx512,
                f32_s1: Some(x86_64::dw_f32_avx512_s1),
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

#[cfg(target_arch = "x86_64")]
/// Packs int8 weights for the x86 pair-interleaved layout used with `vpmaddwd` / `vpdpwssd`:
/// channel tiles of `tile` (16 or 32, zero-padded); per tile the folded bias (`tile` i32, in the
/// accumulators' order), then per pair of taps `(2p, 2p+1)` the i32 words `w'[2p][c] | w'[2p+1][c] << 16`
/// (an odd last tap is paired with zero), in the order that `vpunpck{l,h}wd` produces within
/// each 128-bit lane: the `lo` half holds channels `8L..8L+3` of lane `L`, the `hi` half `8L+4..8L+7`.
pub(crate) fn pack_i8_pairs(
    tile: usize,
    taps: usize,
    ch: usize,
    w: &[i32],
    bias: &[i32],
) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut out = try_vec(pairs_len(tile, taps, ch)?, "packed weights")?;
    pack_i8_pairs_range(tile, taps, ch, 0, ch, w, bias, &mut out);
    Ok(out)
}

#[cfg(target_arch = "x86_64")]
/// Words [`pack_i8_pairs_range`] appends for `ch` channels (checked).
pub(crate) fn pairs_len(tile: usize, taps: usize, ch: usize) -> Result<usize, DwError> {
    packed_len(ch.div_ceil(tile), tile, 1, 1, taps.div_ceil(2), 0)
}

#[cfg(target_arch = "x86_64")]
/// [`pack_i8_pairs`] for channels `c0..c1` only, appended to `out`. The caller has checked the
/// slices ([`check_pack`]) and reserved the size ([`pairs_len`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_i8_pairs_range(
    tile: usize,
    taps: usize,
    ch: usize,
    c0: usize,
    c1: usize,
    w: &[i32],
    bias: &[i32],
    out: &mut Vec<i32>,
) {
    let pairs = taps.div_ceil(2);
    let half = tile / 2;
    // Channel of accumulator slot i (0..tile): lo half then hi half.
    let slot = |i: usize| {
        let (h, j) = (i / half, i % half);
        8 * (j / 4) + 4 * h + j % 4
    };
    for base in (c0..c1).step_by(tile) {
        for i in 0..tile {
            let c = base + slot(i);
            out.push(if c < c1 { bias[c] } else { 0 });
        }
        for p in 0..pairs {
            for i in 0..tile {
                let c = base + slot(i);
                let get = |t: usize| {
                    if c < c1 && t < taps {
                        w[t * ch + c] as i16 as u16 as u32
                    } else {
                        0
                    }
                };
                out.push((get(2 * p) | (get(2 * p + 1) << 16)) as i32);
            }
        }
    }
}

/// Packs fp32 weights in channel tiles of `tile` (zero-padded): per tile `tile` biases, then
/// `taps × tile` weights.
pub(crate) fn pack_f32_tiles(
    tile: usize,
    taps: usize,
    ch: usize,
    w: &[f32],
    bias: &[f32],
) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let tiles = ch.div_ceil(tile);
    let mut out = try_vec(packed_len(tiles, tile, 1, 1, taps, 0)?, "packed weights")?;
    for t0 in 0..tiles {
        let base = t0 * tile;
        for i in 0..tile {
            out.push(bias.get(base + i).copied().unwrap_or(0.0));
        }
        for t in 0..taps {
            for i in 0..tile {
                let c = base + i;
                out.push(if c < ch { w[t * ch + c] } else { 0.0 });
            }
        }
    }
    Ok(out)
}
