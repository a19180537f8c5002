//! The fused output stage of the aarch64 kernels (plain NEON, ARMv8.0): the `Fp32`
//! requantization of [`crate::ukernel::Fp32Requant`] done in registers, or its `Rndnu` form
//! (`sqshl`, `sqdmulh`, `srshl`: [`quant_params::requant::rndnu_fixed_point`], exact), and byte
//! stores of a row's first `n` columns straight from a register.
//!
//! Per 8 outputs: `scvtf`, `fmul`, `fcvtns` (round half to even, saturating to i32) on two
//! vectors, `sqxtn`/`sqxtn2` to i16, `sqadd` of the zero point, `sqxtun`/`sqxtn` to bytes, and a
//! byte `max`/`min` with `[qmin, qmax]`. That is the definition (`clamp(acc · scale, lo, hi)`,
//! rounded half to even, `+ zp`) exactly: `lo = qmin − zp`, `hi = qmax − zp` are integers, so
//! clamping before or after rounding to an integer gives the same value; and the saturations
//! on the way (i32, i16, the byte type) are monotone and only touch values that the final
//! clamp to `[qmin, qmax]` (inside the byte type) sends to `qmin` or `qmax` anyway (`zp` fits
//! i16, so `sat16(v) + zp` saturates only where `v + zp` is outside the byte range).

use crate::ukernel::Fp32Requant;
use core::arch::aarch64::*;

/// The constants of the fused stage, made once per kernel call.
#[derive(Clone, Copy)]
pub(crate) struct Stage {
    /// The output zero point (saturated to i16; in range for every valid requantizer).
    pub zp: int16x8_t,
    /// `qmin` as bytes (u8, or i8 bits).
    pub min: uint8x16_t,
    /// `qmax` as bytes.
    pub max: uint8x16_t,
    /// i8 output.
    pub signed: bool,
}

impl Stage {
    /// The stage of `q` (clamps saturated to the output type: values outside it are a broken
    /// caller contract, and still give in-range bytes).
    #[inline(always)]
    pub(crate) fn new(q: &Fp32Requant) -> Stage {
        let zp = q.zero_point.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
        let (tmin, tmax) = if q.signed { (-128, 127) } else { (0, 255) };
        let qmin = (q.lo as i64 + i64::from(q.zero_point)).clamp(tmin, tmax);
        let qmax = (q.hi as i64 + i64::from(q.zero_point)).clamp(tmin, tmax);
        // SAFETY: NEON is baseline on aarch64.
        unsafe {
            Stage {
                zp: vdupq_n_s16(zp as i16),
                min: vdupq_n_u8(qmin as i8 as u8),
                max: vdupq_n_u8(qmax as i8 as u8),
                signed: q.signed,
            }
        }
    }
}

impl Stage {
    /// The zero point and the two clamps as three 16-byte vectors, in that order (what the
    /// whole-block `asm!` loads from memory when no register is free for them).
    #[inline(always)]
    pub(crate) fn bytes(&self) -> [uint8x16_t; 3] {
        // SAFETY: NEON is baseline on aarch64.
        unsafe { [vreinterpretq_u8_s16(self.zp), self.min, self.max] }
    }
}

/// The per-column constants of a tile's fused stage, `V` vectors of 4 columns: the `Fp32`
/// scales, or the `Rndnu` multipliers, `sqshl` and `srshl` counts.
#[derive(Clone, Copy)]
pub(crate) enum Cols<const V: usize> {
    Fp32([float32x4_t; V]),
    Rndnu([int32x4_t; V], [int32x4_t; V], [int32x4_t; V]),
}

impl<const V: usize> Cols<V> {
    /// Eight i32 accumulators (`a`: columns `4i..4i + 4`, `b`: the next 4) requantized by
    /// vectors `i`, `i + 1` of the constants, as i16 with the zero point added (saturating).
    #[inline(always)]
    pub(crate) fn requant8(&self, i: usize, a: int32x4_t, b: int32x4_t, st: &Stage) -> int16x8_t {
        // SAFETY: NEON is baseline on aarch64.
        unsafe {
            let (ia, ib) = match self {
                Cols::Fp32(s) => (
                    vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(a), s[i])),
                    vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(b), s[i + 1])),
                ),
                Cols::Rndnu(m, pre, post) => (
                    vrshlq_s32(vqdmulhq_s32(vqshlq_s32(a, pre[i]), m[i]), post[i]),
                    vrshlq_s32(
                        vqdmulhq_s32(vqshlq_s32(b, pre[i + 1]), m[i + 1]),
                        post[i + 1],
                    ),
                ),
            };
            vqaddq_s16(vqmovn_high_s32(vqmovn_s32(ia), ib), st.zp)
        }
    }
}

/// 16 outputs from two [`requant8`] halves: saturated to the byte type and clamped.
#[inline(always)]
pub(crate) fn bytes16(lo: int16x8_t, hi: int16x8_t, st: &Stage) -> uint8x16_t {
    // SAFETY: NEON is baseline on aarch64.
    unsafe {
        if st.signed {
            let v = vqmovn_high_s16(vqmovn_s16(lo), hi);
            let v = vminq_s8(
                vmaxq_s8(v, vreinterpretq_s8_u8(st.min)),
                vreinterpretq_s8_u8(st.max),
            );
            vreinterpretq_u8_s8(v)
        } else {
            let v = vqmovun_high_s16(vqmovun_s16(lo), hi);
            vminq_u8(vmaxq_u8(v, st.min), st.max)
        }
    }
}

/// 8 outputs from one [`requant8`] result: saturated to the byte type and clamped.
#[inline(always)]
pub(crate) fn bytes8(v: int16x8_t, st: &Stage) -> uint8x8_t {
    // SAFETY: NEON is baseline on aarch64.
    unsafe {
        if st.signed {
            let v = vqmovn_s16(v);
            let v = vmin_s8(
                vmax_s8(v, vreinterpret_s8_u8(vget_low_u8(st.min))),
                vreinterpret_s8_u8(vget_low_u8(st.max)),
            );
            vreinterpret_u8_s8(v)
        } else {
            vmin_u8(
                vmax_u8(vqmovun_s16(v), vget_low_u8(st.min)),
                vget_low_u8(st.max),
            )
        }
    }
}

/// Stores the first `n` (<= 8) bytes of `v` to `p`.
///
/// # Safety
/// `p` is writable for `n` bytes.
#[inline(always)]
pub(crate) unsafe fn store8(p: *mut u8, v: uint8x8_t, n: usize) {
    // SAFETY: each store writes bytes below n (the caller's range); NEON is baseline.
    unsafe {
        if n >= 8 {
            vst1_u8(p, v);
            return;
        }
        let mut v = v;
        let mut p = p;
        if n & 4 != 0 {
            vst1_lane_u32::<0>(p.cast(), vreinterpret_u32_u8(v));
            p = p.add(4);
            v = vext_u8::<4>(v, v);
        }
        if n & 2 != 0 {
            vst1_lane_u16::<0>(p.cast(), vreinterpret_u16_u8(v));
            p = p.add(2);
            v = vext_u8::<2>(v, v);
        }
        if n & 1 != 0 {
            vst1_lane_u8::<0>(p, v);
        }
    }
}

/// Stores the first `n` (<= 16) bytes of `v` to `p`.
///
/// # Safety
/// `p` is writable for `n` bytes.
#[inline(always)]
pub(crate) unsafe fn store16(p: *mut u8, v: uint8x16_t, n: usize) {
    // SAFETY: each store writes bytes below n (the caller's range); NEON is baseline.
    unsafe {
        if n >= 16 {
            vst1q_u8(p, v);
        } else if n >= 8 {
            vst1_u8(p, vget_low_u8(v));
            store8(p.add(8), vget_high_u8(v), n - 8);
        } else {
            store8(p, vget_low_u8(v), n);
        }
    }
}

/// `V` vectors of columns `col..col + nr` (`nr <= 4V`) of a per-column array `p`: loaded
/// whole when all `4V` are there, else from a copy of the `nr` there, 0 past them (those
/// columns are not stored). `T` is `f32` or `i32`, `load` its `vld1q`.
///
/// # Safety
/// `p` holds at least `col + nr` entries; `load` reads 4 elements at its pointer.
#[inline(always)]
unsafe fn columns<T: Copy + Default, R: Copy, const V: usize>(
    p: *const T,
    col: usize,
    nr: usize,
    load: impl Fn(*const T) -> R,
) -> [R; V] {
    // SAFETY: whole loads only when 4V entries from col are the caller's, else reads below
    // col + nr into a buffer of 16 (V <= 4).
    unsafe {
        let p = p.add(col);
        if nr >= 4 * V {
            core::array::from_fn(|i| load(p.add(4 * i)))
        } else {
            let mut buf = [T::default(); 16];
            for (i, b) in buf.iter_mut().enumerate().take(nr.min(4 * V)) {
                *b = *p.add(i);
            }
            core::array::from_fn(|i| load(buf.as_ptr().add(4 * i)))
        }
    }
}

/// The stage constants of columns `col..col + nr` of a kernel call, `V` vectors of 4
/// (`nr <= 4V`): `q`'s channel constants there (0 past `nr`), or its one set ([`Cols`]); the
/// `Rndnu` ones only where `rndnu` (a constant of the caller: the `Fp32` entries never build
/// them, which keeps their loops free of those registers).
///
/// # Safety
/// With channel constants, they hold at least `col + nr` entries.
#[inline(always)]
pub(crate) unsafe fn cols<const V: usize>(
    q: &Fp32Requant,
    col: usize,
    nr: usize,
    rndnu: bool,
) -> Cols<V> {
    // SAFETY: `columns` reads below `col + nr` (caller contract); NEON is baseline.
    unsafe {
        let i32s = |p: &[i32]| columns(p.as_ptr(), col, nr, |x| vld1q_s32(x));
        match (q.rndnu.filter(|_| rndnu), q.channel_scales) {
            (Some(r), _) => match r.channels {
                Some((m, pre, post)) => Cols::Rndnu(i32s(m), i32s(pre), i32s(post)),
                None => Cols::Rndnu(
                    [vdupq_n_s32(r.multiplier); V],
                    [vdupq_n_s32(r.pre_shl); V],
                    [vdupq_n_s32(r.post_shl); V],
                ),
            },
            (None, Some(cs)) => Cols::Fp32(columns(cs.as_ptr(), col, nr, |x| vld1q_f32(x))),
            (None, None) => Cols::Fp32([vdupq_n_f32(q.scale); V]),
        }
    }
}

/// Stores the first `n` (<= 4 · V) i32 of `v` to `p`.
///
/// # Safety
/// `p` is writable for `n` i32; `V <= 4`.
#[inline(always)]
pub(crate) unsafe fn store_i32<const V: usize>(p: *mut i32, v: &[int32x4_t; V], n: usize) {
    // SAFETY: whole vectors only where all their columns are below n, the rest through a
    // buffer copied for its first n − 4·full elements; NEON is baseline.
    unsafe {
        if n >= 4 * V {
            for (i, x) in v.iter().enumerate() {
                vst1q_s32(p.add(4 * i), *x);
            }
        } else {
            let mut buf = [0i32; 16];
            for (i, x) in v.iter().enumerate() {
                vst1q_s32(buf.as_mut_ptr().add(4 * i), *x);
            }
            for (i, b) in buf.iter().enumerate().take(n) {
                *p.add(i) = *b;
            }
        }
    }
}
