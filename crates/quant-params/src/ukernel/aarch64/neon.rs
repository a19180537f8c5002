//! NEON kernels, 16 outputs per step (four `int32x4_t` narrowed to one 16-byte vector). A partial
//! last step goes through a zero-padded stack buffer, so no byte outside the slices is touched.
//!
//! Every kernel ends in the same output stage, XNNPACK's: `sqxtn`/`sqxtn2` to i16, `sqadd` of the
//! zero point, `sqxtun`/`sqxtun2` (unsigned outputs) or `sqxtn`/`sqxtn2` (outputs with a negative
//! `qmin`, i.e. i8) to bytes, one `max`/`min` against `[qmin, qmax]`. The saturations replace
//! every wide clamp: a value past an i16 or byte limit is past the clamp bound on the same side,
//! so clamping the narrowed value gives `clamp(v, lo, hi) + zp` exactly.
//!
//! * `Fp32`: `scvtf`, `fmul`, `fcvtns` (round to nearest, ties to even, saturating). Rounding
//!   before the clamp equals clamping first because the bounds are integers.
//! * `Gemmlowp`: `sqshl` (saturating left shift, only when the exponent is positive), `sqrdmulh`
//!   (exactly SRDHM, saturation included), then RoundingDivideByPOT as gemmlowp's NEON code does
//!   it: `ssra #31` subtracts 1 from negative values and `srshl` shifts right rounding ties up,
//!   which together round ties away from zero (only when the exponent is negative).
//! * `Rndnu`: with `m31 = mantissa << 7` in `[2^30, 2^31)` and the shift `s` split into
//!   `post = max(s - 24, 1)` and `pre = post - (s - 24)` (0 unless the scale is at least 1/2):
//!   `sqshl #pre`, `sqdmulh m31` (exact floor of `x * m31 / 2^31`), `srshl -post` (adds
//!   `2^(post-1)`, shifts). `floor((floor(p / 2^31) + 2^(post-1)) / 2^post)` equals
//!   `floor((p + 2^(30+post)) / 2^(31+post))`, the exact product rounded once, ties up.
//!   A saturated `sqshl` only happens for results far past every clamp bound.
//! * `Precise`: the same on the magnitude, kept non-positive so that `i32::MIN` is exact:
//!   `n = -|x|` (`abs`, `neg`), `sqdmulh(n, -m31)` (non-negative), `srshl`, then, after the
//!   narrow to i16, the sign restored (`(r ^ s) - s`, `s` from the inputs' high halves): ties
//!   away from zero.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use core::arch::aarch64::*;

use crate::ukernel::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32_x16__neon,
        requant_gemmlowp_x16__neon,
        requant_rndnu_x16__neon,
        requant_precise_x16__neon,
    ],
    requant_fp32_per_channel: requant_fp32_pc_x8__neon,
    quantize: quantize_x16__neon,
    dequantize_u8: dequantize_u8_x16__neon,
    dequantize_i8: dequantize_i8_x16__neon,
    xor80: xor80_x16__neon,
};

/// The output stage's constants: the zero point in i16 lanes and the clamp `[qmin, qmax]` as
/// output bytes (bit patterns of `i8` when `signed`).
#[derive(Clone, Copy)]
struct OutConsts {
    zp: int16x8_t,
    min: uint8x16_t,
    max: uint8x16_t,
}

impl OutConsts {
    /// From the clamp in the scaled domain (`lo = qmin - zp`, `hi = qmax - zp`) and the zero
    /// point; also whether the bytes are signed (`qmin < 0`, an i8 output; a `qmin >= 0` range
    /// narrows the same either way).
    #[inline]
    #[target_feature(enable = "neon")]
    fn new(lo: i32, hi: i32, zp: i32) -> (OutConsts, bool) {
        let (qmin, qmax) = (lo + zp, hi + zp);
        (
            OutConsts {
                zp: vdupq_n_s16(zp as i16),
                min: vdupq_n_u8(qmin as u8),
                max: vdupq_n_u8(qmax as u8),
            },
            qmin < 0,
        )
    }
}

/// The output stage on 16 results: saturating narrows, zero point, clamp (module docs).
#[inline]
#[target_feature(enable = "neon")]
fn narrow16<const SIGNED: bool>(
    a: int32x4_t,
    b: int32x4_t,
    c: int32x4_t,
    d: int32x4_t,
    o: &OutConsts,
) -> uint8x16_t {
    bytes16::<SIGNED>(
        vqmovn_high_s32(vqmovn_s32(a), b),
        vqmovn_high_s32(vqmovn_s32(c), d),
        o,
    )
}

/// The output stage on 16 results already narrowed to i16: zero point, narrow to bytes, clamp.
#[inline]
#[target_feature(enable = "neon")]
fn bytes16<const SIGNED: bool>(ab: int16x8_t, cd: int16x8_t, o: &OutConsts) -> uint8x16_t {
    let ab = vqaddq_s16(ab, o.zp);
    let cd = vqaddq_s16(cd, o.zp);
    if SIGNED {
        let r = vqmovn_high_s16(vqmovn_s16(ab), cd);
        let r = vminq_s8(
            vmaxq_s8(r, vreinterpretq_s8_u8(o.min)),
            vreinterpretq_s8_u8(o.max),
        );
        vreinterpretq_u8_s8(r)
    } else {
        vminq_u8(
            vmaxq_u8(vqmovun_high_s16(vqmovun_s16(ab), cd), o.min),
            o.max,
        )
    }
}

/// The output stage on 8 results.
#[inline]
#[target_feature(enable = "neon")]
fn narrow8<const SIGNED: bool>(a: int32x4_t, b: int32x4_t, o: &OutConsts) -> uint8x8_t {
    let ab = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a), b), o.zp);
    if SIGNED {
        let r = vmin_s8(
            vmax_s8(vqmovn_s16(ab), vreinterpret_s8_u8(vget_low_u8(o.min))),
            vreinterpret_s8_u8(vget_low_u8(o.max)),
        );
        vreinterpret_u8_s8(r)
    } else {
        vmin_u8(
            vmax_u8(vqmovun_s16(ab), vget_low_u8(o.min)),
            vget_low_u8(o.max),
        )
    }
}

/// Runs `f` (pointer to 4 inputs -> 4 i32 results before the output stage) over `inp` through
/// [`blocks`](crate::ukernel::blocks), 16 per step, and stores the output stage's bytes.
///
/// # Safety
/// `f` may read the 4 elements at its pointer and nothing else.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn run16<const SIGNED: bool, T: Copy + Default>(
    inp: &[T],
    out: &mut [u8],
    o: &OutConsts,
    f: impl Fn(*const T) -> int32x4_t,
) {
    crate::ukernel::blocks::<T, u8, 16>(inp, out, T::default(), |src, dst| {
        let p = src.as_ptr();
        // SAFETY: each `f` call reads the 4 elements at its pointer, inside `src` (16 elements);
        // the store writes the 16 bytes of `dst`.
        unsafe {
            let r = narrow16::<SIGNED>(f(p), f(p.add(4)), f(p.add(8)), f(p.add(12)), o);
            vst1q_u8(dst.as_mut_ptr(), r);
        }
    })
}

/// [`run16`] with the signedness of the output chosen once from the clamp.
///
/// # Safety
/// As [`run16`].
#[inline]
#[target_feature(enable = "neon")]
unsafe fn run16_any<T: Copy + Default>(
    inp: &[T],
    out: &mut [u8],
    lo: i32,
    hi: i32,
    zp: i32,
    f: impl Fn(*const T) -> int32x4_t,
) {
    let (o, signed) = OutConsts::new(lo, hi, zp);
    // SAFETY: forwarded from the caller.
    unsafe {
        if signed {
            run16::<true, T>(inp, out, &o, f)
        } else {
            run16::<false, T>(inp, out, &o, f)
        }
    }
}

/// Requantize with `Fp32`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_fp32_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let vscale = vdupq_n_f32(c.scale);
    // SAFETY: `run16_any` calls the closure with pointers to 4 readable i32s.
    let f =
        |p: *const i32| unsafe { vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(p)), vscale)) };
    // SAFETY: `f` reads the 4 elements at its pointer only.
    unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
}

/// `Fp32` per-channel body: 8 results, narrowed and stored to `dst`.
///
/// # Safety
/// `a` and `s` point to 8 readable elements, `dst` to 8 writable bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn pc8<const SIGNED: bool>(a: *const i32, s: *const f32, dst: *mut u8, o: &OutConsts) {
    // SAFETY: the caller's contract.
    unsafe {
        let lo = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(a)), vld1q_f32(s)));
        let hi = vcvtnq_s32_f32(vmulq_f32(
            vcvtq_f32_s32(vld1q_s32(a.add(4))),
            vld1q_f32(s.add(4)),
        ));
        vst1_u8(dst, narrow8::<SIGNED>(lo, hi, o));
    }
}

/// `Fp32` per-channel loop for one signedness.
#[inline]
#[target_feature(enable = "neon")]
fn pc_loop<const SIGNED: bool>(scales: &[f32], acc: &[i32], out: &mut [u8], o: &OutConsts) {
    let n = acc.len().min(out.len()).min(scales.len());
    let mut i = 0;
    // SAFETY: full steps read acc/scales[i..i+8] and write out[i..i+8] with i + 8 <= n; the tail
    // goes through 8-element stack buffers.
    unsafe {
        while i + 8 <= n {
            pc8::<SIGNED>(
                acc.as_ptr().add(i),
                scales.as_ptr().add(i),
                out.as_mut_ptr().add(i),
                o,
            );
            i += 8;
        }
        if i < n {
            let rem = n - i;
            let (mut ta, mut ts, mut to) = ([0i32; 8], [0f32; 8], [0u8; 8]);
            ta[..rem].copy_from_slice(&acc[i..n]);
            ts[..rem].copy_from_slice(&scales[i..n]);
            pc8::<SIGNED>(ta.as_ptr(), ts.as_ptr(), to.as_mut_ptr(), o);
            out[i..n].copy_from_slice(&to[..rem]);
        }
    }
}

/// Requantize with `Fp32` and one scale per element (a per-channel row), 8 per step.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_fp32_pc_x8__neon(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    let (o, signed) = OutConsts::new(c.lo, c.hi, c.zp);
    if signed {
        pc_loop::<true>(scales, acc, out, &o)
    } else {
        pc_loop::<false>(scales, acc, out, &o)
    }
}

/// `Rndnu`/`Precise` constants: `m31 = mantissa << 7`, the saturating pre-shift and the rounding
/// post-shift (module docs).
#[inline]
fn rndnu_split(c: &RequantConsts) -> (i32, i32, i32) {
    crate::requant::rndnu_fixed_point(i64::from(c.mantissa), c.shift)
}

/// Requantize with `Rndnu`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_rndnu_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let (m31, pre, post) = rndnu_split(c);
    let (vm, vpre, vpost) = (vdupq_n_s32(m31), vdupq_n_s32(pre), vdupq_n_s32(-post));
    if pre == 0 {
        // SAFETY: `run16_any` calls the closure with pointers to 4 readable i32s.
        let f = |p: *const i32| unsafe { vrshlq_s32(vqdmulhq_s32(vld1q_s32(p), vm), vpost) };
        // SAFETY: `f` reads the 4 elements at its pointer only.
        unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
    } else {
        // SAFETY: as above.
        let f = |p: *const i32| unsafe {
            vrshlq_s32(vqdmulhq_s32(vqshlq_s32(vld1q_s32(p), vpre), vm), vpost)
        };
        // SAFETY: as above.
        unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
    }
}

/// `Precise` constants: the negated multiplier, the pre-shift and the negated post-shift.
#[derive(Clone, Copy)]
struct PreciseConsts {
    vnm: int32x4_t,
    vpre: int32x4_t,
    vpost: int32x4_t,
}

/// `round(|x| * scale)`, ties up (so away from zero once the sign is back): the `Rndnu` steps on
/// `-|x|` with the multiplier negated. `abs` wraps `i32::MIN` to itself and so does `neg`, so
/// `-|x|` is exact for every input.
#[inline]
#[target_feature(enable = "neon")]
fn precise_mag<const PRE: bool>(x: int32x4_t, k: &PreciseConsts) -> int32x4_t {
    let mut n = vnegq_s32(vabsq_s32(x));
    if PRE {
        n = vqshlq_s32(n, k.vpre);
    }
    vrshlq_s32(vqdmulhq_s32(n, k.vnm), k.vpost)
}

/// 8 `Precise` results in i16 lanes: the magnitudes narrowed (saturating), then the signs of
/// `x0`, `x1` restored from their high halves (`uzp2`, `sshr #15`: 0 or -1 per lane) as
/// `(m ^ s) - s`, on 8 lanes at a time instead of 4.
#[inline]
#[target_feature(enable = "neon")]
fn precise8<const PRE: bool>(x0: int32x4_t, x1: int32x4_t, k: &PreciseConsts) -> int16x8_t {
    let m = vqmovn_high_s32(
        vqmovn_s32(precise_mag::<PRE>(x0, k)),
        precise_mag::<PRE>(x1, k),
    );
    let s = vshrq_n_s16::<15>(vuzp2q_s16(
        vreinterpretq_s16_s32(x0),
        vreinterpretq_s16_s32(x1),
    ));
    vsubq_s16(veorq_s16(m, s), s)
}

/// The `Precise` loop for one output signedness and pre-shift.
#[inline]
#[target_feature(enable = "neon")]
fn precise_run<const SIGNED: bool, const PRE: bool>(
    acc: &[i32],
    out: &mut [u8],
    o: &OutConsts,
    k: &PreciseConsts,
) {
    crate::ukernel::blocks::<i32, u8, 16>(acc, out, 0, |src, dst| {
        let p = src.as_ptr();
        // SAFETY: the four loads read the 16 i32s of `src`; the store writes the 16 bytes of
        // `dst`.
        unsafe {
            let ab = precise8::<PRE>(vld1q_s32(p), vld1q_s32(p.add(4)), k);
            let cd = precise8::<PRE>(vld1q_s32(p.add(8)), vld1q_s32(p.add(12)), k);
            vst1q_u8(dst.as_mut_ptr(), bytes16::<SIGNED>(ab, cd, o));
        }
    })
}

/// Requantize with `Precise`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_precise_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let (m31, pre, post) = rndnu_split(c);
    let k = PreciseConsts {
        vnm: vdupq_n_s32(-m31),
        vpre: vdupq_n_s32(pre),
        vpost: vdupq_n_s32(-post),
    };
    let (o, signed) = OutConsts::new(c.lo, c.hi, c.zp);
    match (signed, pre > 0) {
        (false, false) => precise_run::<false, false>(acc, out, &o, &k),
        (false, true) => precise_run::<false, true>(acc, out, &o, &k),
        (true, false) => precise_run::<true, false>(acc, out, &o, &k),
        (true, true) => precise_run::<true, true>(acc, out, &o, &k),
    }
}

/// Requantize with `Gemmlowp`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn requant_gemmlowp_x16__neon(c: &RequantConsts, acc: &[i32], out: &mut [u8]) {
    let left = vdupq_n_s32(c.left as i32);
    let vmult = vdupq_n_s32(c.mult);
    let nright = vdupq_n_s32(-(c.right as i32));
    if c.right > 0 {
        // The exponent is negative, so there is no left shift. `hm >= -mult > i32::MIN`, so
        // `ssra` (hm + (hm >> 31)) cannot wrap.
        // SAFETY: `run16_any` calls the closure with pointers to 4 readable i32s.
        let f = |p: *const i32| unsafe {
            let hm = vqrdmulhq_s32(vld1q_s32(p), vmult);
            vrshlq_s32(vsraq_n_s32::<31>(hm, hm), nright)
        };
        // SAFETY: `f` reads the 4 elements at its pointer only.
        unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
    } else if c.left > 0 {
        // SAFETY: as above.
        let f = |p: *const i32| unsafe { vqrdmulhq_s32(vqshlq_s32(vld1q_s32(p), left), vmult) };
        // SAFETY: as above.
        unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
    } else {
        // SAFETY: as above.
        let f = |p: *const i32| unsafe { vqrdmulhq_s32(vld1q_s32(p), vmult) };
        // SAFETY: as above.
        unsafe { run16_any(acc, out, c.lo, c.hi, c.zp, f) }
    }
}

/// ONNX QuantizeLinear: IEEE `x / scale`, `fcvtns` (ties to even, NaN -> 0, saturating), then
/// the output stage (saturating narrows, zero point, clamp).
#[target_feature(enable = "neon")]
pub(crate) unsafe fn quantize_x16__neon(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    let vscale = vdupq_n_f32(c.scale);
    // SAFETY: `run16_any` calls the closure with pointers to 4 readable f32s.
    let f = |p: *const f32| unsafe { vcvtnq_s32_f32(vdivq_f32(vld1q_f32(p), vscale)) };
    // SAFETY: `f` reads the 4 elements at its pointer only.
    unsafe { run16_any(x, out, c.lo, c.hi, c.zp, f) }
}

/// Dequantize 8 widened values.
#[inline]
#[target_feature(enable = "neon")]
fn deq8(w: int16x8_t, vzp: int32x4_t, vscale: float32x4_t) -> (float32x4_t, float32x4_t) {
    let lo = vsubq_s32(vmovl_s16(vget_low_s16(w)), vzp);
    let hi = vsubq_s32(vmovl_high_s16(w), vzp);
    (
        vmulq_f32(vcvtq_f32_s32(lo), vscale),
        vmulq_f32(vcvtq_f32_s32(hi), vscale),
    )
}

macro_rules! dequant_kernel {
    ($name:ident, $widen:expr) => {
        /// DequantizeLinear: `(q - zp) as f32 * scale`, 8 per step.
        #[target_feature(enable = "neon")]
        pub(crate) unsafe fn $name(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
            let vscale = vdupq_n_f32(c.scale);
            let vzp = vdupq_n_s32(c.zp);
            crate::ukernel::blocks::<u8, f32, 8>(q, out, 0, |src, dst| {
                // SAFETY: NEON is baseline on aarch64; the load reads the 8 bytes of `src`, the
                // stores write the 8 floats of `dst`.
                unsafe {
                    let (a, b) = deq8($widen(vld1_u8(src.as_ptr())), vzp, vscale);
                    vst1q_f32(dst.as_mut_ptr(), a);
                    vst1q_f32(dst.as_mut_ptr().add(4), b);
                }
            });
        }
    };
}

dequant_kernel!(dequantize_u8_x16__neon, |b: uint8x8_t| {
    vreinterpretq_s16_u16(vmovl_u8(b))
});
dequant_kernel!(dequantize_i8_x16__neon, |b: uint8x8_t| vmovl_s8(
    vreinterpret_s8_u8(b)
));

/// `out = x ^ 0x80`, 16 bytes per step.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn xor80_x16__neon(x: &[u8], out: &mut [u8]) {
    let k80 = vdupq_n_u8(0x80);
    let n = x.len().min(out.len());
    let mut i = 0;
    // SAFETY: NEON is baseline; full steps touch [i, i+16) with i + 16 <= n; the tail is bytewise.
    unsafe {
        while i + 16 <= n {
            let v = vld1q_u8(x.as_ptr().add(i));
            vst1q_u8(out.as_mut_ptr().add(i), veorq_u8(v, k80));
            i += 16;
        }
    }
    for j in i..n {
        out[j] = x[j] ^ 0x80;
    }
}
