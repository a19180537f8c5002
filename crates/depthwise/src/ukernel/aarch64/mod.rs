//! aarch64 kernels, one file per ISA level: [`neon`] (baseline), [`neondot`] (FEAT_DotProd);
//! and what both levels' int8 kernels store through: raw i32 accumulators, or bytes with the
//! per-tensor Fp32 requantization fused (`Sink`, `store16`).

/// The tiles of one int8 row body: `$tile::<SIGNED, K, true, Q>` for each full tile of `$ct`
/// channels (its packed weights `$words` i32 words after the previous tile's), then
/// `$tile::<SIGNED, K, false, Q>` for the last `ch mod $ct` channels, if any. The call's
/// arguments: `(px, taps, ind, tile weights, ch, first channel, sink)`. Expands to unsafe calls:
/// the caller's `unsafe` block states why the tiles are in range.
macro_rules! tiles {
    ($tile:ident::<$s:ident, $k:ident, $q:ident>, $ct:expr, $words:expr,
        ($px:expr, $taps:expr, $ind:expr, $w:expr, $ch:expr, $sink:expr)) => {{
        let (ct, words, ch) = ($ct, $words, $ch);
        let full = ch / ct;
        for j in 0..full {
            $tile::<$s, $k, true, $q>($px, $taps, $ind, $w.add(j * words), ch, ct * j, $sink);
        }
        if full * ct < ch {
            $tile::<$s, $k, false, $q>(
                $px,
                $taps,
                $ind,
                $w.add(full * words),
                ch,
                full * ct,
                $sink,
            );
        }
    }};
}

/// The packed bias of channel `c` for the kernels that multiply signed activations `a''`: for
/// u8 inputs (`signed = false`) they take `a ^ 0x80 = a − 128`, so `128 · Σ_t w'[t·ch + c]` is
/// added to the folded bias (wrapping: the plan's accumulator check bounds the true sums).
pub(super) fn xor_bias(
    bias: &[i32],
    w: &[i32],
    taps: usize,
    ch: usize,
    c: usize,
    signed: bool,
) -> i32 {
    if signed {
        return bias[c];
    }
    let s: i32 = (0..taps).map(|t| w[t * ch + c]).sum();
    bias[c].wrapping_add(s.wrapping_mul(128))
}

pub mod neon;
pub mod neondot;

use crate::ukernel::Fp32Requant;
use core::arch::aarch64::*;

/// [`Fp32Requant`] in vectors: the scale, and the zero point and output clamp as integers.
///
/// The kernels round first and clamp after: `clamp(round(f), lo, hi) = round(clamp(f, lo, hi))`
/// because rounding is monotone and `lo`, `hi` are integers (`qmin − zp`, `qmax − zp`, as
/// [`Fp32Requant::from_requantizer`] makes them), so the clamp can run on the output bytes
/// (`umax`/`umin`, 2 instructions per 16 outputs) instead of on floats (8), and the zero point
/// is a saturating i16 add after the first narrow. Every saturation on the way (`fcvtns` to
/// i32, `sqxtn` to i16, `sqadd`, the narrow to bytes) is monotone and exact inside the byte
/// range, so out-of-range values end at `qmin` or `qmax` as in the reference.
#[derive(Clone, Copy)]
pub(super) struct QVec {
    scale: float32x4_t,
    zp: int16x8_t,
    /// `qmin`, `qmax` as bytes (i8 bit patterns when `signed`).
    qmin: uint8x16_t,
    qmax: uint8x16_t,
    signed: bool,
}

impl QVec {
    /// The per-tensor parameters of `q` broadcast to vectors (`q.lo`, `q.hi` integers).
    #[inline(always)]
    pub(super) fn new(q: &Fp32Requant<'_>) -> QVec {
        let (tmin, tmax) = if q.signed { (-128, 127) } else { (0, 255) };
        let zp = q.zero_point.clamp(tmin, tmax);
        let byte = |v: f32| (v as i32).saturating_add(zp).clamp(tmin, tmax) as u8;
        // SAFETY: NEON is baseline on aarch64; register-only operations.
        unsafe {
            QVec {
                scale: vdupq_n_f32(q.scale),
                zp: vdupq_n_s16(zp as i16),
                qmin: vdupq_n_u8(byte(q.lo)),
                qmax: vdupq_n_u8(byte(q.hi)),
                signed: q.signed,
            }
        }
    }
}

/// Where an int8 kernel stores: i32 accumulators, or requantized bytes.
#[derive(Clone, Copy)]
pub(super) enum Sink {
    I32(*mut i32),
    Q(QVec, *mut u8),
}

/// Two accumulator vectors (channel order) scaled, rounded (`fcvtns`: ties to even, the scalar
/// reference's rounding), narrowed to i16 with saturation and offset by the zero point
/// (saturating).
#[inline(always)]
fn scaled_i16(a: int32x4_t, b: int32x4_t, q: &QVec) -> int16x8_t {
    // SAFETY: NEON is baseline on aarch64; register-only operations.
    unsafe {
        let r = |v: int32x4_t| vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(v), q.scale));
        vqaddq_s16(vqmovn_high_s32(vqmovn_s32(r(a)), r(b)), q.zp)
    }
}

/// 8 accumulators (channel order) requantized to 8 bytes.
#[inline(always)]
pub(super) fn requant8(a: [int32x4_t; 2], q: &QVec) -> uint8x8_t {
    let h = scaled_i16(a[0], a[1], q);
    // SAFETY: NEON is baseline on aarch64; register-only operations.
    unsafe {
        if q.signed {
            let b = vqmovn_s16(h);
            let b = vmin_s8(
                vmax_s8(b, vreinterpret_s8_u8(vget_low_u8(q.qmin))),
                vreinterpret_s8_u8(vget_low_u8(q.qmax)),
            );
            vreinterpret_u8_s8(b)
        } else {
            vmin_u8(
                vmax_u8(vqmovun_s16(h), vget_low_u8(q.qmin)),
                vget_low_u8(q.qmax),
            )
        }
    }
}

/// 16 accumulators (channel order) requantized to 16 bytes.
#[inline(always)]
pub(super) fn requant16(a: [int32x4_t; 4], q: &QVec) -> uint8x16_t {
    let h0 = scaled_i16(a[0], a[1], q);
    let h1 = scaled_i16(a[2], a[3], q);
    // SAFETY: NEON is baseline on aarch64; register-only operations.
    unsafe {
        if q.signed {
            let b = vqmovn_high_s16(vqmovn_s16(h0), h1);
            let b = vminq_s8(
                vmaxq_s8(b, vreinterpretq_s8_u8(q.qmin)),
                vreinterpretq_s8_u8(q.qmax),
            );
            vreinterpretq_u8_s8(b)
        } else {
            vminq_u8(
                vmaxq_u8(vqmovun_high_s16(vqmovun_s16(h0), h1), q.qmin),
                q.qmax,
            )
        }
    }
}

/// Stores 16 accumulators (channel order) of channels `c..c + n` to element `at` of the sink's
/// buffer (`at = p · ch + c`): bytes through [`requant16`] when `Q`, else raw i32. `FULL` means
/// `n == 16`; otherwise the `n` elements go through a buffer (nothing is written past them).
///
/// # Safety
/// The sink's buffer is writable for elements `at..at + n`; `Q` matches the sink's kind.
#[inline(always)]
pub(super) unsafe fn store16<const FULL: bool, const Q: bool>(
    sink: Sink,
    at: usize,
    n: usize,
    a: [int32x4_t; 4],
) {
    // SAFETY: by the contract, out[at..at + n] is writable; full stores write 16 elements,
    // partial ones n <= 16 from a 16-element buffer.
    unsafe {
        match sink {
            Sink::Q(qv, out) if Q => {
                let b = requant16(a, &qv);
                let o = out.add(at);
                if FULL {
                    vst1q_u8(o, b);
                } else {
                    let mut buf = [0u8; 16];
                    vst1q_u8(buf.as_mut_ptr(), b);
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n);
                }
            }
            Sink::I32(out) if !Q => {
                let o = out.add(at);
                if FULL {
                    for (i, v) in a.iter().enumerate() {
                        vst1q_s32(o.add(4 * i), *v);
                    }
                } else {
                    let mut buf = [0i32; 16];
                    for (i, v) in a.iter().enumerate() {
                        vst1q_s32(buf.as_mut_ptr().add(4 * i), *v);
                    }
                    core::ptr::copy_nonoverlapping(buf.as_ptr(), o, n);
                }
            }
            // Q selects the sink kind at every call site.
            _ => {}
        }
    }
}
