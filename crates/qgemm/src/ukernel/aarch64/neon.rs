//! `igemm_4x8c4__neon`: 4 rows × 8 columns; activations and weights widened to i16, then
//! `smlal` by lane into i32 (exact: |a'·w'| <= 255·128).
//!
//! The ARMv8.0 baseline; the dot-product kernels are in `neondot.rs` (SDOT, with the `a' − 128`
//! shift) and `i8mm.rs` (SUDOT, USMMLA).
#![allow(non_snake_case)]

use super::super::load4;
use super::out::{bytes8, requant8, scales, store8, store_i32, Stage};
use crate::ukernel::Fp32Requant;
use core::arch::aarch64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

/// See [`super::super::IgemmFn`].
///
/// # Safety
/// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 8` (NEON is baseline).
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x8c4__neon(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
) {
    let kc4 = kc.div_ceil(4);
    let xor = u32::from_ne_bytes([a_xor; 4]);
    // SAFETY: NEON is baseline on aarch64; all pointer accesses below follow the IgemmFn
    // contract (a: taps·MR row pointers readable for kc bytes; w: taps·kc4 groups of 32 bytes;
    // out: mr rows of nr i32).
    unsafe {
        let mut lo = [vld1q_s32(bias); MR];
        let mut hi = [vld1q_s32(bias.add(4)); MR];
        let mut wp = w;
        for t in 0..taps {
            for q in 0..kc4 {
                let wv = vld4_s8(wp);
                wp = wp.add(NR * 4);
                let w0 = vmovl_s8(wv.0);
                let w1 = vmovl_s8(wv.1);
                let w2 = vmovl_s8(wv.2);
                let w3 = vmovl_s8(wv.3);
                for m in 0..MR {
                    let bytes = load4(*a.add(t * MR + m), q, kc) ^ xor;
                    let a8 = vreinterpret_u8_u32(vdup_n_u32(bytes));
                    let ak = vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(a8)));
                    lo[m] = vmlal_lane_s16::<0>(lo[m], vget_low_s16(w0), ak);
                    hi[m] = vmlal_lane_s16::<0>(hi[m], vget_high_s16(w0), ak);
                    lo[m] = vmlal_lane_s16::<1>(lo[m], vget_low_s16(w1), ak);
                    hi[m] = vmlal_lane_s16::<1>(hi[m], vget_high_s16(w1), ak);
                    lo[m] = vmlal_lane_s16::<2>(lo[m], vget_low_s16(w2), ak);
                    hi[m] = vmlal_lane_s16::<2>(hi[m], vget_high_s16(w2), ak);
                    lo[m] = vmlal_lane_s16::<3>(lo[m], vget_low_s16(w3), ak);
                    hi[m] = vmlal_lane_s16::<3>(hi[m], vget_high_s16(w3), ak);
                }
            }
        }
        for m in 0..mr {
            let mut row = [0i32; NR];
            vst1q_s32(row.as_mut_ptr(), lo[m]);
            vst1q_s32(row.as_mut_ptr().add(4), hi[m]);
            core::ptr::copy_nonoverlapping(row.as_ptr(), out.add(m * out_stride), nr);
        }
    }
}

/// Rows per tile of `igemm_8x8c4__neon`.
pub const MR_8X8: usize = 8;
/// Columns per tile of `igemm_8x8c4__neon`.
pub const NR_8X8: usize = 8;

/// The requantization the i32 entry passes along (unused: it stores i32).
const NO_Q: Fp32Requant<'static> = Fp32Requant {
    scale: 1.0,
    lo: 0.0,
    hi: 0.0,
    zero_point: 0,
    signed: false,
    channel_scales: None,
};

/// `igemm_8x8c4__neon`: 8 rows × 8 columns on ARMv8.0 NEON, the class of QNNPACK's
/// `8x8-aarch64-neon` kernel, on the `c4` packing with `NR = 8` (the packing of
/// `igemm_4x8c4__neon`). Per 8 input channels: one `ldr d` + `uxtl` per row (8 channels of
/// activations as i16, plus an `eor` only when the kernel's xor is not 0), two `ld4 {.8b}` that
/// de-interleave the two packed k-groups into channel-major weight vectors (what QNNPACK's
/// k-major packing gives its `ld1`), 8 `sxtl`, and 128 `smlal`/`smlal2` by lane into 16
/// accumulator registers. The last `kc mod 8` channels run after the loop, 4 at a time.
///
/// # Safety
/// The contract of [`crate::ukernel::IgemmFn`] with `MR = 8`, `NR = 8`, `KR = 4`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_8x8c4__neon(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
) {
    let st = Stage::new(&NO_Q);
    let o = out.cast::<u8>();
    // SAFETY: the caller's contract; FUSED = false stores i32 rows.
    unsafe {
        if a_xor == 0 {
            block_8x8::<false, false>(
                mr, nr, taps, kc, a, a_xor, w, bias, &NO_Q, 0, &st, o, out_stride,
            )
        } else {
            block_8x8::<true, false>(
                mr, nr, taps, kc, a, a_xor, w, bias, &NO_Q, 0, &st, o, out_stride,
            )
        }
    }
}

/// `igemm_8x8c4__neon` with the `Fp32` requantization (per tensor or per channel) fused into
/// its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
///
/// # Safety
/// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_8x8c4_fp32__neon(
    mr: usize,
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
) {
    let st = Stage::new(q);
    let mut col = 0;
    while col < ncols {
        let nr = (ncols - col).min(NR_8X8);
        let b = col / NR_8X8;
        // SAFETY: block b of the call is at w + b·w_stride with its NR biases at
        // bias + b·NR; columns col..col + nr of out are the caller's; q's channel scales (if
        // any) cover the call's columns.
        unsafe {
            let (w, bias, o) = (w.add(b * w_stride), bias.add(col), out.add(col));
            if a_xor == 0 {
                block_8x8::<false, true>(
                    mr, nr, taps, kc, a, a_xor, w, bias, q, col, &st, o, out_stride,
                )
            } else {
                block_8x8::<true, true>(
                    mr, nr, taps, kc, a, a_xor, w, bias, q, col, &st, o, out_stride,
                )
            }
        }
        col += NR_8X8;
    }
}

/// `c[m] += w(channel J) · a[m][J]` for the 8 rows, both column halves.
macro_rules! step {
    ($c:ident, $av:ident, $wv:expr, $j:literal) => {{
        let wj = vmovl_s8($wv);
        let lo = vget_low_s16(wj);
        for m in 0..MR_8X8 {
            $c[m][0] = vmlal_laneq_s16::<$j>($c[m][0], lo, $av[m]);
            $c[m][1] = vmlal_high_laneq_s16::<$j>($c[m][1], wj, $av[m]);
        }
    }};
}

/// One 8 × 8 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
/// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
/// `XOR`: whether `a_xor` is not 0.
///
/// # Safety
/// As [`igemm_8x8c4__neon`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements); with
/// `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block_8x8<const XOR: bool, const FUSED: bool>(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    col: usize,
    st: &Stage,
    out: *mut u8,
    out_stride: usize,
) {
    // SAFETY: bias holds NR i32; the packed block holds taps · ceil(kc / 4) groups of 32
    // bytes, read in order (two per 8 channels, then one per tail group); each row pointer is
    // read for bytes below kc only (8 at a time while 8 remain, then `load4`, which stops at
    // kc); `out` as the caller states; NEON is baseline.
    unsafe {
        let b0 = vld1q_s32(bias);
        let b1 = vld1q_s32(bias.add(4));
        let mut c = [[b0, b1]; MR_8X8];
        let xv = vdup_n_u8(a_xor);
        let xor32 = u32::from_ne_bytes([a_xor; 4]);
        let n8 = kc / 8;
        let mut wp = w;
        for t in 0..taps {
            let mut r: [*const u8; MR_8X8] = core::array::from_fn(|m| *a.add(t * MR_8X8 + m));
            for _ in 0..n8 {
                let av: [int16x8_t; MR_8X8] = core::array::from_fn(|m| {
                    let x = vld1_u8(r[m]);
                    let x = if XOR { veor_u8(x, xv) } else { x };
                    vreinterpretq_s16_u16(vmovl_u8(x))
                });
                for p in r.iter_mut() {
                    *p = p.add(8);
                }
                let g0 = vld4_s8(wp);
                let g1 = vld4_s8(wp.add(32));
                wp = wp.add(64);
                step!(c, av, g0.0, 0);
                step!(c, av, g0.1, 1);
                step!(c, av, g0.2, 2);
                step!(c, av, g0.3, 3);
                step!(c, av, g1.0, 4);
                step!(c, av, g1.1, 5);
                step!(c, av, g1.2, 6);
                step!(c, av, g1.3, 7);
            }
            // The last kc mod 8 channels: one or two groups of 4 (zero-filled past kc).
            let mut q4 = 2 * n8;
            while 4 * q4 < kc {
                let av: [int16x8_t; MR_8X8] = core::array::from_fn(|m| {
                    let bytes = load4(*a.add(t * MR_8X8 + m), q4, kc) ^ xor32;
                    vreinterpretq_s16_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(bytes))))
                });
                let g = vld4_s8(wp);
                wp = wp.add(32);
                step!(c, av, g.0, 0);
                step!(c, av, g.1, 1);
                step!(c, av, g.2, 2);
                step!(c, av, g.3, 3);
                q4 += 1;
            }
        }
        let s = if FUSED {
            scales::<2>(q, col, nr)
        } else {
            [vdupq_n_f32(0.0); 2]
        };
        // Rows by constant index (a runtime index would put the accumulators in memory).
        macro_rules! emit {
            ($($m:literal)*) => {$(
                if $m < mr {
                    if FUSED {
                        let v = bytes8(requant8(c[$m][0], c[$m][1], s[0], s[1], st), st);
                        store8(out.add($m * out_stride), v, nr);
                    } else {
                        store_i32::<2>(out.cast::<i32>().add($m * out_stride), &c[$m], nr);
                    }
                }
            )*};
        }
        emit!(0 1 2 3 4 5 6 7);
    }
}
