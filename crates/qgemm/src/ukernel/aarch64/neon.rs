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
    let st = Stage::new(&Fp32Requant::UNUSED);
    let o = out.cast::<u8>();
    // SAFETY: the caller's contract; FUSED = false stores i32 rows.
    unsafe {
        if a_xor == 0 {
            block_8x8::<false, false>(
                mr,
                nr,
                taps,
                kc,
                a,
                a_xor,
                w,
                bias,
                &Fp32Requant::UNUSED,
                0,
                &st,
                o,
                out_stride,
            )
        } else {
            block_8x8::<true, false>(
                mr,
                nr,
                taps,
                kc,
                a,
                a_xor,
                w,
                bias,
                &Fp32Requant::UNUSED,
                0,
                &st,
                o,
                out_stride,
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
        if n8 > 0 && kc.is_multiple_of(8) {
            // Every tap's channels in whole 8-channel steps: one asm block for all taps.
            kloop::<XOR>(mr, a, taps, n8, &mut wp, &mut c, xv);
        } else {
            for t in 0..taps {
                if n8 > 0 {
                    kloop::<XOR>(mr, a.add(t * MR_8X8), 1, n8, &mut wp, &mut c, xv);
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

/// The 8-channel k-loop of `igemm_8x8c4__neon` for the first `R` rows (1, 4 or 8) over `taps`
/// taps in one `asm!` block with fixed registers (as intrinsics, LLVM spilled accumulators and
/// activations to the stack): per tap, the row pointers from `a` (`ldp`; the tap's `MR`
/// pointers are 64 bytes apart), then `n8` iterations of 8 channels: v0..v(R-1) the rows' 8
/// activations (`ldr d`, `eor` with v12 when `XOR`, `uxtl` to u16), v8-v15 two `ld4` k-groups
/// (one vector per channel, 8 columns; `sxtl` to i16), `16 R` `smlal`/`smlal2` by lane into
/// v16.. (row m: v(16 + 2m) columns 0-3, v(17 + 2m) columns 4-7). Rows `R..` are untouched.
///
/// # Safety
/// `taps >= 1`, `n8 >= 1`; `a` holds `taps · 8` row pointers, the first `R` of each tap
/// readable for `8 · n8` bytes; `*wp` is readable for `taps · n8 · 64` bytes (advanced past
/// them on return).
#[inline(always)]
unsafe fn k8<const XOR: bool, const R: usize>(
    a: *const *const u8,
    taps: usize,
    n8: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 2]; MR_8X8],
    xv: uint8x8_t,
) {
    // SAFETY: the reads are the ones the caller guarantees (R pointers per tap, 8 bytes per
    // row and 64 packed bytes per iteration); no memory is written; every register the block
    // changes is an output or declared clobbered.
    unsafe {
        if R == 1 && XOR {
            core::arch::asm!(
                "3:",
                "ldr {r0}, [{a}]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "eor v0.8b, v0.8b, v12.8b",
                "uxtl v0.8h, v0.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "subs {n}, {n}, #1",
                "smlal v16.4s, v8.4h, v0.h[4]",
                "smlal2 v17.4s, v8.8h, v0.h[4]",
                "smlal v16.4s, v9.4h, v0.h[5]",
                "smlal2 v17.4s, v9.8h, v0.h[5]",
                "smlal v16.4s, v10.4h, v0.h[6]",
                "smlal2 v17.4s, v10.8h, v0.h[6]",
                "smlal v16.4s, v11.4h, v0.h[7]",
                "smlal2 v17.4s, v11.8h, v0.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                out("v0") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                in("v12") xv,
                options(nostack, readonly),
            );
        } else if R == 1 && !XOR {
            core::arch::asm!(
                "3:",
                "ldr {r0}, [{a}]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "uxtl v0.8h, v0.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "ld4 {{v12.8b, v13.8b, v14.8b, v15.8b}}, [{w}], #32",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "sxtl v12.8h, v12.8b",
                "sxtl v13.8h, v13.8b",
                "sxtl v14.8h, v14.8b",
                "sxtl v15.8h, v15.8b",
                "subs {n}, {n}, #1",
                "smlal v16.4s, v12.4h, v0.h[4]",
                "smlal2 v17.4s, v12.8h, v0.h[4]",
                "smlal v16.4s, v13.4h, v0.h[5]",
                "smlal2 v17.4s, v13.8h, v0.h[5]",
                "smlal v16.4s, v14.4h, v0.h[6]",
                "smlal2 v17.4s, v14.8h, v0.h[6]",
                "smlal v16.4s, v15.4h, v0.h[7]",
                "smlal2 v17.4s, v15.8h, v0.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                out("v0") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                out("v12") _,
                out("v13") _,
                out("v14") _,
                out("v15") _,
                options(nostack, readonly),
            );
        } else if R == 4 && XOR {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "ldp {r2}, {r3}, [{a}, #16]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "ldr d1, [{r1}], #8",
                "ldr d2, [{r2}], #8",
                "ldr d3, [{r3}], #8",
                "eor v0.8b, v0.8b, v12.8b",
                "eor v1.8b, v1.8b, v12.8b",
                "eor v2.8b, v2.8b, v12.8b",
                "eor v3.8b, v3.8b, v12.8b",
                "uxtl v0.8h, v0.8b",
                "uxtl v1.8h, v1.8b",
                "uxtl v2.8h, v2.8b",
                "uxtl v3.8h, v3.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "smlal v18.4s, v8.4h, v1.h[0]",
                "smlal2 v19.4s, v8.8h, v1.h[0]",
                "smlal v20.4s, v8.4h, v2.h[0]",
                "smlal2 v21.4s, v8.8h, v2.h[0]",
                "smlal v22.4s, v8.4h, v3.h[0]",
                "smlal2 v23.4s, v8.8h, v3.h[0]",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "smlal v18.4s, v9.4h, v1.h[1]",
                "smlal2 v19.4s, v9.8h, v1.h[1]",
                "smlal v20.4s, v9.4h, v2.h[1]",
                "smlal2 v21.4s, v9.8h, v2.h[1]",
                "smlal v22.4s, v9.4h, v3.h[1]",
                "smlal2 v23.4s, v9.8h, v3.h[1]",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "smlal v18.4s, v10.4h, v1.h[2]",
                "smlal2 v19.4s, v10.8h, v1.h[2]",
                "smlal v20.4s, v10.4h, v2.h[2]",
                "smlal2 v21.4s, v10.8h, v2.h[2]",
                "smlal v22.4s, v10.4h, v3.h[2]",
                "smlal2 v23.4s, v10.8h, v3.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "smlal v18.4s, v11.4h, v1.h[3]",
                "smlal2 v19.4s, v11.8h, v1.h[3]",
                "smlal v20.4s, v11.4h, v2.h[3]",
                "smlal2 v21.4s, v11.8h, v2.h[3]",
                "smlal v22.4s, v11.4h, v3.h[3]",
                "smlal2 v23.4s, v11.8h, v3.h[3]",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "subs {n}, {n}, #1",
                "smlal v16.4s, v8.4h, v0.h[4]",
                "smlal2 v17.4s, v8.8h, v0.h[4]",
                "smlal v18.4s, v8.4h, v1.h[4]",
                "smlal2 v19.4s, v8.8h, v1.h[4]",
                "smlal v20.4s, v8.4h, v2.h[4]",
                "smlal2 v21.4s, v8.8h, v2.h[4]",
                "smlal v22.4s, v8.4h, v3.h[4]",
                "smlal2 v23.4s, v8.8h, v3.h[4]",
                "smlal v16.4s, v9.4h, v0.h[5]",
                "smlal2 v17.4s, v9.8h, v0.h[5]",
                "smlal v18.4s, v9.4h, v1.h[5]",
                "smlal2 v19.4s, v9.8h, v1.h[5]",
                "smlal v20.4s, v9.4h, v2.h[5]",
                "smlal2 v21.4s, v9.8h, v2.h[5]",
                "smlal v22.4s, v9.4h, v3.h[5]",
                "smlal2 v23.4s, v9.8h, v3.h[5]",
                "smlal v16.4s, v10.4h, v0.h[6]",
                "smlal2 v17.4s, v10.8h, v0.h[6]",
                "smlal v18.4s, v10.4h, v1.h[6]",
                "smlal2 v19.4s, v10.8h, v1.h[6]",
                "smlal v20.4s, v10.4h, v2.h[6]",
                "smlal2 v21.4s, v10.8h, v2.h[6]",
                "smlal v22.4s, v10.4h, v3.h[6]",
                "smlal2 v23.4s, v10.8h, v3.h[6]",
                "smlal v16.4s, v11.4h, v0.h[7]",
                "smlal2 v17.4s, v11.8h, v0.h[7]",
                "smlal v18.4s, v11.4h, v1.h[7]",
                "smlal2 v19.4s, v11.8h, v1.h[7]",
                "smlal v20.4s, v11.4h, v2.h[7]",
                "smlal2 v21.4s, v11.8h, v2.h[7]",
                "smlal v22.4s, v11.4h, v3.h[7]",
                "smlal2 v23.4s, v11.8h, v3.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[1][0],
                inout("v19") c[1][1],
                inout("v20") c[2][0],
                inout("v21") c[2][1],
                inout("v22") c[3][0],
                inout("v23") c[3][1],
                out("v0") _,
                out("v1") _,
                out("v2") _,
                out("v3") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                in("v12") xv,
                options(nostack, readonly),
            );
        } else if R == 4 && !XOR {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "ldp {r2}, {r3}, [{a}, #16]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "ldr d1, [{r1}], #8",
                "ldr d2, [{r2}], #8",
                "ldr d3, [{r3}], #8",
                "uxtl v0.8h, v0.8b",
                "uxtl v1.8h, v1.8b",
                "uxtl v2.8h, v2.8b",
                "uxtl v3.8h, v3.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "ld4 {{v12.8b, v13.8b, v14.8b, v15.8b}}, [{w}], #32",
                "smlal v18.4s, v8.4h, v1.h[0]",
                "smlal2 v19.4s, v8.8h, v1.h[0]",
                "smlal v20.4s, v8.4h, v2.h[0]",
                "smlal2 v21.4s, v8.8h, v2.h[0]",
                "smlal v22.4s, v8.4h, v3.h[0]",
                "smlal2 v23.4s, v8.8h, v3.h[0]",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "sxtl v12.8h, v12.8b",
                "smlal v18.4s, v9.4h, v1.h[1]",
                "smlal2 v19.4s, v9.8h, v1.h[1]",
                "sxtl v13.8h, v13.8b",
                "smlal v20.4s, v9.4h, v2.h[1]",
                "smlal2 v21.4s, v9.8h, v2.h[1]",
                "sxtl v14.8h, v14.8b",
                "smlal v22.4s, v9.4h, v3.h[1]",
                "smlal2 v23.4s, v9.8h, v3.h[1]",
                "sxtl v15.8h, v15.8b",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "subs {n}, {n}, #1",
                "smlal v18.4s, v10.4h, v1.h[2]",
                "smlal2 v19.4s, v10.8h, v1.h[2]",
                "smlal v20.4s, v10.4h, v2.h[2]",
                "smlal2 v21.4s, v10.8h, v2.h[2]",
                "smlal v22.4s, v10.4h, v3.h[2]",
                "smlal2 v23.4s, v10.8h, v3.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "smlal v18.4s, v11.4h, v1.h[3]",
                "smlal2 v19.4s, v11.8h, v1.h[3]",
                "smlal v20.4s, v11.4h, v2.h[3]",
                "smlal2 v21.4s, v11.8h, v2.h[3]",
                "smlal v22.4s, v11.4h, v3.h[3]",
                "smlal2 v23.4s, v11.8h, v3.h[3]",
                "smlal v16.4s, v12.4h, v0.h[4]",
                "smlal2 v17.4s, v12.8h, v0.h[4]",
                "smlal v18.4s, v12.4h, v1.h[4]",
                "smlal2 v19.4s, v12.8h, v1.h[4]",
                "smlal v20.4s, v12.4h, v2.h[4]",
                "smlal2 v21.4s, v12.8h, v2.h[4]",
                "smlal v22.4s, v12.4h, v3.h[4]",
                "smlal2 v23.4s, v12.8h, v3.h[4]",
                "smlal v16.4s, v13.4h, v0.h[5]",
                "smlal2 v17.4s, v13.8h, v0.h[5]",
                "smlal v18.4s, v13.4h, v1.h[5]",
                "smlal2 v19.4s, v13.8h, v1.h[5]",
                "smlal v20.4s, v13.4h, v2.h[5]",
                "smlal2 v21.4s, v13.8h, v2.h[5]",
                "smlal v22.4s, v13.4h, v3.h[5]",
                "smlal2 v23.4s, v13.8h, v3.h[5]",
                "smlal v16.4s, v14.4h, v0.h[6]",
                "smlal2 v17.4s, v14.8h, v0.h[6]",
                "smlal v18.4s, v14.4h, v1.h[6]",
                "smlal2 v19.4s, v14.8h, v1.h[6]",
                "smlal v20.4s, v14.4h, v2.h[6]",
                "smlal2 v21.4s, v14.8h, v2.h[6]",
                "smlal v22.4s, v14.4h, v3.h[6]",
                "smlal2 v23.4s, v14.8h, v3.h[6]",
                "smlal v16.4s, v15.4h, v0.h[7]",
                "smlal2 v17.4s, v15.8h, v0.h[7]",
                "smlal v18.4s, v15.4h, v1.h[7]",
                "smlal2 v19.4s, v15.8h, v1.h[7]",
                "smlal v20.4s, v15.4h, v2.h[7]",
                "smlal2 v21.4s, v15.8h, v2.h[7]",
                "smlal v22.4s, v15.4h, v3.h[7]",
                "smlal2 v23.4s, v15.8h, v3.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[1][0],
                inout("v19") c[1][1],
                inout("v20") c[2][0],
                inout("v21") c[2][1],
                inout("v22") c[3][0],
                inout("v23") c[3][1],
                out("v0") _,
                out("v1") _,
                out("v2") _,
                out("v3") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                out("v12") _,
                out("v13") _,
                out("v14") _,
                out("v15") _,
                options(nostack, readonly),
            );
        } else if R == 8 && XOR {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "ldp {r2}, {r3}, [{a}, #16]",
                "ldp {r4}, {r5}, [{a}, #32]",
                "ldp {r6}, {r7}, [{a}, #48]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "ldr d1, [{r1}], #8",
                "ldr d2, [{r2}], #8",
                "ldr d3, [{r3}], #8",
                "ldr d4, [{r4}], #8",
                "ldr d5, [{r5}], #8",
                "ldr d6, [{r6}], #8",
                "ldr d7, [{r7}], #8",
                "eor v0.8b, v0.8b, v12.8b",
                "eor v1.8b, v1.8b, v12.8b",
                "eor v2.8b, v2.8b, v12.8b",
                "eor v3.8b, v3.8b, v12.8b",
                "eor v4.8b, v4.8b, v12.8b",
                "eor v5.8b, v5.8b, v12.8b",
                "eor v6.8b, v6.8b, v12.8b",
                "eor v7.8b, v7.8b, v12.8b",
                "uxtl v0.8h, v0.8b",
                "uxtl v1.8h, v1.8b",
                "uxtl v2.8h, v2.8b",
                "uxtl v3.8h, v3.8b",
                "uxtl v4.8h, v4.8b",
                "uxtl v5.8h, v5.8b",
                "uxtl v6.8h, v6.8b",
                "uxtl v7.8h, v7.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "smlal v18.4s, v8.4h, v1.h[0]",
                "smlal2 v19.4s, v8.8h, v1.h[0]",
                "smlal v20.4s, v8.4h, v2.h[0]",
                "smlal2 v21.4s, v8.8h, v2.h[0]",
                "smlal v22.4s, v8.4h, v3.h[0]",
                "smlal2 v23.4s, v8.8h, v3.h[0]",
                "smlal v24.4s, v8.4h, v4.h[0]",
                "smlal2 v25.4s, v8.8h, v4.h[0]",
                "smlal v26.4s, v8.4h, v5.h[0]",
                "smlal2 v27.4s, v8.8h, v5.h[0]",
                "smlal v28.4s, v8.4h, v6.h[0]",
                "smlal2 v29.4s, v8.8h, v6.h[0]",
                "smlal v30.4s, v8.4h, v7.h[0]",
                "smlal2 v31.4s, v8.8h, v7.h[0]",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "smlal v18.4s, v9.4h, v1.h[1]",
                "smlal2 v19.4s, v9.8h, v1.h[1]",
                "smlal v20.4s, v9.4h, v2.h[1]",
                "smlal2 v21.4s, v9.8h, v2.h[1]",
                "smlal v22.4s, v9.4h, v3.h[1]",
                "smlal2 v23.4s, v9.8h, v3.h[1]",
                "smlal v24.4s, v9.4h, v4.h[1]",
                "smlal2 v25.4s, v9.8h, v4.h[1]",
                "smlal v26.4s, v9.4h, v5.h[1]",
                "smlal2 v27.4s, v9.8h, v5.h[1]",
                "smlal v28.4s, v9.4h, v6.h[1]",
                "smlal2 v29.4s, v9.8h, v6.h[1]",
                "smlal v30.4s, v9.4h, v7.h[1]",
                "smlal2 v31.4s, v9.8h, v7.h[1]",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "smlal v18.4s, v10.4h, v1.h[2]",
                "smlal2 v19.4s, v10.8h, v1.h[2]",
                "smlal v20.4s, v10.4h, v2.h[2]",
                "smlal2 v21.4s, v10.8h, v2.h[2]",
                "smlal v22.4s, v10.4h, v3.h[2]",
                "smlal2 v23.4s, v10.8h, v3.h[2]",
                "smlal v24.4s, v10.4h, v4.h[2]",
                "smlal2 v25.4s, v10.8h, v4.h[2]",
                "smlal v26.4s, v10.4h, v5.h[2]",
                "smlal2 v27.4s, v10.8h, v5.h[2]",
                "smlal v28.4s, v10.4h, v6.h[2]",
                "smlal2 v29.4s, v10.8h, v6.h[2]",
                "smlal v30.4s, v10.4h, v7.h[2]",
                "smlal2 v31.4s, v10.8h, v7.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "smlal v18.4s, v11.4h, v1.h[3]",
                "smlal2 v19.4s, v11.8h, v1.h[3]",
                "smlal v20.4s, v11.4h, v2.h[3]",
                "smlal2 v21.4s, v11.8h, v2.h[3]",
                "smlal v22.4s, v11.4h, v3.h[3]",
                "smlal2 v23.4s, v11.8h, v3.h[3]",
                "smlal v24.4s, v11.4h, v4.h[3]",
                "smlal2 v25.4s, v11.8h, v4.h[3]",
                "smlal v26.4s, v11.4h, v5.h[3]",
                "smlal2 v27.4s, v11.8h, v5.h[3]",
                "smlal v28.4s, v11.4h, v6.h[3]",
                "smlal2 v29.4s, v11.8h, v6.h[3]",
                "smlal v30.4s, v11.4h, v7.h[3]",
                "smlal2 v31.4s, v11.8h, v7.h[3]",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "subs {n}, {n}, #1",
                "smlal v16.4s, v8.4h, v0.h[4]",
                "smlal2 v17.4s, v8.8h, v0.h[4]",
                "smlal v18.4s, v8.4h, v1.h[4]",
                "smlal2 v19.4s, v8.8h, v1.h[4]",
                "smlal v20.4s, v8.4h, v2.h[4]",
                "smlal2 v21.4s, v8.8h, v2.h[4]",
                "smlal v22.4s, v8.4h, v3.h[4]",
                "smlal2 v23.4s, v8.8h, v3.h[4]",
                "smlal v24.4s, v8.4h, v4.h[4]",
                "smlal2 v25.4s, v8.8h, v4.h[4]",
                "smlal v26.4s, v8.4h, v5.h[4]",
                "smlal2 v27.4s, v8.8h, v5.h[4]",
                "smlal v28.4s, v8.4h, v6.h[4]",
                "smlal2 v29.4s, v8.8h, v6.h[4]",
                "smlal v30.4s, v8.4h, v7.h[4]",
                "smlal2 v31.4s, v8.8h, v7.h[4]",
                "smlal v16.4s, v9.4h, v0.h[5]",
                "smlal2 v17.4s, v9.8h, v0.h[5]",
                "smlal v18.4s, v9.4h, v1.h[5]",
                "smlal2 v19.4s, v9.8h, v1.h[5]",
                "smlal v20.4s, v9.4h, v2.h[5]",
                "smlal2 v21.4s, v9.8h, v2.h[5]",
                "smlal v22.4s, v9.4h, v3.h[5]",
                "smlal2 v23.4s, v9.8h, v3.h[5]",
                "smlal v24.4s, v9.4h, v4.h[5]",
                "smlal2 v25.4s, v9.8h, v4.h[5]",
                "smlal v26.4s, v9.4h, v5.h[5]",
                "smlal2 v27.4s, v9.8h, v5.h[5]",
                "smlal v28.4s, v9.4h, v6.h[5]",
                "smlal2 v29.4s, v9.8h, v6.h[5]",
                "smlal v30.4s, v9.4h, v7.h[5]",
                "smlal2 v31.4s, v9.8h, v7.h[5]",
                "smlal v16.4s, v10.4h, v0.h[6]",
                "smlal2 v17.4s, v10.8h, v0.h[6]",
                "smlal v18.4s, v10.4h, v1.h[6]",
                "smlal2 v19.4s, v10.8h, v1.h[6]",
                "smlal v20.4s, v10.4h, v2.h[6]",
                "smlal2 v21.4s, v10.8h, v2.h[6]",
                "smlal v22.4s, v10.4h, v3.h[6]",
                "smlal2 v23.4s, v10.8h, v3.h[6]",
                "smlal v24.4s, v10.4h, v4.h[6]",
                "smlal2 v25.4s, v10.8h, v4.h[6]",
                "smlal v26.4s, v10.4h, v5.h[6]",
                "smlal2 v27.4s, v10.8h, v5.h[6]",
                "smlal v28.4s, v10.4h, v6.h[6]",
                "smlal2 v29.4s, v10.8h, v6.h[6]",
                "smlal v30.4s, v10.4h, v7.h[6]",
                "smlal2 v31.4s, v10.8h, v7.h[6]",
                "smlal v16.4s, v11.4h, v0.h[7]",
                "smlal2 v17.4s, v11.8h, v0.h[7]",
                "smlal v18.4s, v11.4h, v1.h[7]",
                "smlal2 v19.4s, v11.8h, v1.h[7]",
                "smlal v20.4s, v11.4h, v2.h[7]",
                "smlal2 v21.4s, v11.8h, v2.h[7]",
                "smlal v22.4s, v11.4h, v3.h[7]",
                "smlal2 v23.4s, v11.8h, v3.h[7]",
                "smlal v24.4s, v11.4h, v4.h[7]",
                "smlal2 v25.4s, v11.8h, v4.h[7]",
                "smlal v26.4s, v11.4h, v5.h[7]",
                "smlal2 v27.4s, v11.8h, v5.h[7]",
                "smlal v28.4s, v11.4h, v6.h[7]",
                "smlal2 v29.4s, v11.8h, v6.h[7]",
                "smlal v30.4s, v11.4h, v7.h[7]",
                "smlal2 v31.4s, v11.8h, v7.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                r4 = out(reg) _,
                r5 = out(reg) _,
                r6 = out(reg) _,
                r7 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[1][0],
                inout("v19") c[1][1],
                inout("v20") c[2][0],
                inout("v21") c[2][1],
                inout("v22") c[3][0],
                inout("v23") c[3][1],
                inout("v24") c[4][0],
                inout("v25") c[4][1],
                inout("v26") c[5][0],
                inout("v27") c[5][1],
                inout("v28") c[6][0],
                inout("v29") c[6][1],
                inout("v30") c[7][0],
                inout("v31") c[7][1],
                out("v0") _,
                out("v1") _,
                out("v2") _,
                out("v3") _,
                out("v4") _,
                out("v5") _,
                out("v6") _,
                out("v7") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                in("v12") xv,
                options(nostack, readonly),
            );
        } else {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "ldp {r2}, {r3}, [{a}, #16]",
                "ldp {r4}, {r5}, [{a}, #32]",
                "ldp {r6}, {r7}, [{a}, #48]",
                "add {a}, {a}, #64",
                "mov {n}, {n8}",
                "2:",
                "ld4 {{v8.8b, v9.8b, v10.8b, v11.8b}}, [{w}], #32",
                "ldr d0, [{r0}], #8",
                "ldr d1, [{r1}], #8",
                "ldr d2, [{r2}], #8",
                "ldr d3, [{r3}], #8",
                "ldr d4, [{r4}], #8",
                "ldr d5, [{r5}], #8",
                "ldr d6, [{r6}], #8",
                "ldr d7, [{r7}], #8",
                "uxtl v0.8h, v0.8b",
                "uxtl v1.8h, v1.8b",
                "uxtl v2.8h, v2.8b",
                "uxtl v3.8h, v3.8b",
                "uxtl v4.8h, v4.8b",
                "uxtl v5.8h, v5.8b",
                "uxtl v6.8h, v6.8b",
                "uxtl v7.8h, v7.8b",
                "sxtl v8.8h, v8.8b",
                "sxtl v9.8h, v9.8b",
                "sxtl v10.8h, v10.8b",
                "sxtl v11.8h, v11.8b",
                "smlal v16.4s, v8.4h, v0.h[0]",
                "smlal2 v17.4s, v8.8h, v0.h[0]",
                "ld4 {{v12.8b, v13.8b, v14.8b, v15.8b}}, [{w}], #32",
                "smlal v18.4s, v8.4h, v1.h[0]",
                "smlal2 v19.4s, v8.8h, v1.h[0]",
                "smlal v20.4s, v8.4h, v2.h[0]",
                "smlal2 v21.4s, v8.8h, v2.h[0]",
                "smlal v22.4s, v8.4h, v3.h[0]",
                "smlal2 v23.4s, v8.8h, v3.h[0]",
                "smlal v24.4s, v8.4h, v4.h[0]",
                "smlal2 v25.4s, v8.8h, v4.h[0]",
                "sxtl v12.8h, v12.8b",
                "smlal v26.4s, v8.4h, v5.h[0]",
                "smlal2 v27.4s, v8.8h, v5.h[0]",
                "sxtl v13.8h, v13.8b",
                "smlal v28.4s, v8.4h, v6.h[0]",
                "smlal2 v29.4s, v8.8h, v6.h[0]",
                "sxtl v14.8h, v14.8b",
                "smlal v30.4s, v8.4h, v7.h[0]",
                "smlal2 v31.4s, v8.8h, v7.h[0]",
                "sxtl v15.8h, v15.8b",
                "smlal v16.4s, v9.4h, v0.h[1]",
                "smlal2 v17.4s, v9.8h, v0.h[1]",
                "subs {n}, {n}, #1",
                "smlal v18.4s, v9.4h, v1.h[1]",
                "smlal2 v19.4s, v9.8h, v1.h[1]",
                "smlal v20.4s, v9.4h, v2.h[1]",
                "smlal2 v21.4s, v9.8h, v2.h[1]",
                "smlal v22.4s, v9.4h, v3.h[1]",
                "smlal2 v23.4s, v9.8h, v3.h[1]",
                "smlal v24.4s, v9.4h, v4.h[1]",
                "smlal2 v25.4s, v9.8h, v4.h[1]",
                "smlal v26.4s, v9.4h, v5.h[1]",
                "smlal2 v27.4s, v9.8h, v5.h[1]",
                "smlal v28.4s, v9.4h, v6.h[1]",
                "smlal2 v29.4s, v9.8h, v6.h[1]",
                "smlal v30.4s, v9.4h, v7.h[1]",
                "smlal2 v31.4s, v9.8h, v7.h[1]",
                "smlal v16.4s, v10.4h, v0.h[2]",
                "smlal2 v17.4s, v10.8h, v0.h[2]",
                "smlal v18.4s, v10.4h, v1.h[2]",
                "smlal2 v19.4s, v10.8h, v1.h[2]",
                "smlal v20.4s, v10.4h, v2.h[2]",
                "smlal2 v21.4s, v10.8h, v2.h[2]",
                "smlal v22.4s, v10.4h, v3.h[2]",
                "smlal2 v23.4s, v10.8h, v3.h[2]",
                "smlal v24.4s, v10.4h, v4.h[2]",
                "smlal2 v25.4s, v10.8h, v4.h[2]",
                "smlal v26.4s, v10.4h, v5.h[2]",
                "smlal2 v27.4s, v10.8h, v5.h[2]",
                "smlal v28.4s, v10.4h, v6.h[2]",
                "smlal2 v29.4s, v10.8h, v6.h[2]",
                "smlal v30.4s, v10.4h, v7.h[2]",
                "smlal2 v31.4s, v10.8h, v7.h[2]",
                "smlal v16.4s, v11.4h, v0.h[3]",
                "smlal2 v17.4s, v11.8h, v0.h[3]",
                "smlal v18.4s, v11.4h, v1.h[3]",
                "smlal2 v19.4s, v11.8h, v1.h[3]",
                "smlal v20.4s, v11.4h, v2.h[3]",
                "smlal2 v21.4s, v11.8h, v2.h[3]",
                "smlal v22.4s, v11.4h, v3.h[3]",
                "smlal2 v23.4s, v11.8h, v3.h[3]",
                "smlal v24.4s, v11.4h, v4.h[3]",
                "smlal2 v25.4s, v11.8h, v4.h[3]",
                "smlal v26.4s, v11.4h, v5.h[3]",
                "smlal2 v27.4s, v11.8h, v5.h[3]",
                "smlal v28.4s, v11.4h, v6.h[3]",
                "smlal2 v29.4s, v11.8h, v6.h[3]",
                "smlal v30.4s, v11.4h, v7.h[3]",
                "smlal2 v31.4s, v11.8h, v7.h[3]",
                "smlal v16.4s, v12.4h, v0.h[4]",
                "smlal2 v17.4s, v12.8h, v0.h[4]",
                "smlal v18.4s, v12.4h, v1.h[4]",
                "smlal2 v19.4s, v12.8h, v1.h[4]",
                "smlal v20.4s, v12.4h, v2.h[4]",
                "smlal2 v21.4s, v12.8h, v2.h[4]",
                "smlal v22.4s, v12.4h, v3.h[4]",
                "smlal2 v23.4s, v12.8h, v3.h[4]",
                "smlal v24.4s, v12.4h, v4.h[4]",
                "smlal2 v25.4s, v12.8h, v4.h[4]",
                "smlal v26.4s, v12.4h, v5.h[4]",
                "smlal2 v27.4s, v12.8h, v5.h[4]",
                "smlal v28.4s, v12.4h, v6.h[4]",
                "smlal2 v29.4s, v12.8h, v6.h[4]",
                "smlal v30.4s, v12.4h, v7.h[4]",
                "smlal2 v31.4s, v12.8h, v7.h[4]",
                "smlal v16.4s, v13.4h, v0.h[5]",
                "smlal2 v17.4s, v13.8h, v0.h[5]",
                "smlal v18.4s, v13.4h, v1.h[5]",
                "smlal2 v19.4s, v13.8h, v1.h[5]",
                "smlal v20.4s, v13.4h, v2.h[5]",
                "smlal2 v21.4s, v13.8h, v2.h[5]",
                "smlal v22.4s, v13.4h, v3.h[5]",
                "smlal2 v23.4s, v13.8h, v3.h[5]",
                "smlal v24.4s, v13.4h, v4.h[5]",
                "smlal2 v25.4s, v13.8h, v4.h[5]",
                "smlal v26.4s, v13.4h, v5.h[5]",
                "smlal2 v27.4s, v13.8h, v5.h[5]",
                "smlal v28.4s, v13.4h, v6.h[5]",
                "smlal2 v29.4s, v13.8h, v6.h[5]",
                "smlal v30.4s, v13.4h, v7.h[5]",
                "smlal2 v31.4s, v13.8h, v7.h[5]",
                "smlal v16.4s, v14.4h, v0.h[6]",
                "smlal2 v17.4s, v14.8h, v0.h[6]",
                "smlal v18.4s, v14.4h, v1.h[6]",
                "smlal2 v19.4s, v14.8h, v1.h[6]",
                "smlal v20.4s, v14.4h, v2.h[6]",
                "smlal2 v21.4s, v14.8h, v2.h[6]",
                "smlal v22.4s, v14.4h, v3.h[6]",
                "smlal2 v23.4s, v14.8h, v3.h[6]",
                "smlal v24.4s, v14.4h, v4.h[6]",
                "smlal2 v25.4s, v14.8h, v4.h[6]",
                "smlal v26.4s, v14.4h, v5.h[6]",
                "smlal2 v27.4s, v14.8h, v5.h[6]",
                "smlal v28.4s, v14.4h, v6.h[6]",
                "smlal2 v29.4s, v14.8h, v6.h[6]",
                "smlal v30.4s, v14.4h, v7.h[6]",
                "smlal2 v31.4s, v14.8h, v7.h[6]",
                "smlal v16.4s, v15.4h, v0.h[7]",
                "smlal2 v17.4s, v15.8h, v0.h[7]",
                "smlal v18.4s, v15.4h, v1.h[7]",
                "smlal2 v19.4s, v15.8h, v1.h[7]",
                "smlal v20.4s, v15.4h, v2.h[7]",
                "smlal2 v21.4s, v15.8h, v2.h[7]",
                "smlal v22.4s, v15.4h, v3.h[7]",
                "smlal2 v23.4s, v15.8h, v3.h[7]",
                "smlal v24.4s, v15.4h, v4.h[7]",
                "smlal2 v25.4s, v15.8h, v4.h[7]",
                "smlal v26.4s, v15.4h, v5.h[7]",
                "smlal2 v27.4s, v15.8h, v5.h[7]",
                "smlal v28.4s, v15.4h, v6.h[7]",
                "smlal2 v29.4s, v15.8h, v6.h[7]",
                "smlal v30.4s, v15.4h, v7.h[7]",
                "smlal2 v31.4s, v15.8h, v7.h[7]",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n8 = in(reg) n8,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                r4 = out(reg) _,
                r5 = out(reg) _,
                r6 = out(reg) _,
                r7 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[1][0],
                inout("v19") c[1][1],
                inout("v20") c[2][0],
                inout("v21") c[2][1],
                inout("v22") c[3][0],
                inout("v23") c[3][1],
                inout("v24") c[4][0],
                inout("v25") c[4][1],
                inout("v26") c[5][0],
                inout("v27") c[5][1],
                inout("v28") c[6][0],
                inout("v29") c[6][1],
                inout("v30") c[7][0],
                inout("v31") c[7][1],
                out("v0") _,
                out("v1") _,
                out("v2") _,
                out("v3") _,
                out("v4") _,
                out("v5") _,
                out("v6") _,
                out("v7") _,
                out("v8") _,
                out("v9") _,
                out("v10") _,
                out("v11") _,
                out("v12") _,
                out("v13") _,
                out("v14") _,
                out("v15") _,
                options(nostack, readonly),
            );
        }
    }
}

/// [`k8`] for the rows a tile of `mr` rows needs: 1, 4 (`mr` 2-4) or all 8 (a GEMV row block
/// does not pay for 8 rows).
///
/// # Safety
/// As [`k8`] with `R` rows, `mr >= 1`.
#[inline(always)]
unsafe fn kloop<const XOR: bool>(
    mr: usize,
    a: *const *const u8,
    taps: usize,
    n8: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 2]; MR_8X8],
    xv: uint8x8_t,
) {
    // SAFETY: the caller's contract; each variant reads its first R <= 8 rows of each tap.
    unsafe {
        match mr {
            1 => k8::<XOR, 1>(a, taps, n8, wp, c, xv),
            2..=4 => k8::<XOR, 4>(a, taps, n8, wp, c, xv),
            _ => k8::<XOR, 8>(a, taps, n8, wp, c, xv),
        }
    }
}
