//! The FEAT_I8MM kernels, written with `asm!` (the i8mm intrinsics are not stable in Rust 1.95):
//!
//! * `igemm_4x8c4__neoni8mm`: 4 rows × 8 columns, 4 input channels per SUDOT by element (the
//!   body is `super::dot_kernel`, shared with SDOT's `igemm_4x8c4__neondot`). SUDOT multiplies
//!   signed weights by unsigned activations: the crate's `a'·w'` domain as is.
//! * `igemm_4x16c8__neoni8mm`: 4 rows × 16 columns, 8 input channels per `usmmla` (below).
//!
//! `usmmla vd.4s, vn.16b, vm.16b` multiplies a 2 × 8 matrix of unsigned bytes (`vn`: two rows of
//! activations, 8 channels each) by an 8 × 2 matrix of signed bytes (`vm`: two output channels,
//! stored as two rows of 8 weights, the `c8` packing of [`crate::pack`]) and adds the 2 × 2
//! product to `vd = [r0·c0, r0·c1, r1·c0, r1·c1]`. Unsigned × signed is exactly the crate's
//! `a'·w'` operand domain, so no shift or bias correction is needed (SMMLA, signed × signed,
//! would need the `a' − 128` shift of the SDOT kernel).
//!
//! Per k-group of 8: two activation vectors (rows 0/1 and 2/3), eight weight vectors (column
//! pairs), 16 `usmmla` into 16 accumulators; at the end `zip1`/`zip2` on 64-bit lanes turn the
//! 2 × 2 blocks back into rows.

#![allow(non_snake_case)]

use super::super::load8;
use super::out::{bytes16, requant8, scales, store16, store_i32, Stage};
use crate::ukernel::Fp32Requant;
use core::arch::aarch64::*;

/// Rows per tile of `igemm_4x16c8__neoni8mm` (and of `igemm_4x8c4__neoni8mm`).
pub const MR: usize = 4;
/// Columns per tile of `igemm_4x16c8__neoni8mm`.
pub const NR: usize = 16;
/// Columns per tile of `igemm_4x8c4__neoni8mm`.
pub const NR_C4: usize = 8;

super::dot_kernel!(igemm_4x8c4__neoni8mm, inner_sudot, "neon,i8mm", "sudot");

/// See [`super::super::IgemmFn`] (`c8` packing).
///
/// # Safety
/// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU with
/// NEON and FEAT_I8MM.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x16c8__neoni8mm(
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
    // SAFETY: same contract; the caller guarantees the CPU features; FUSED = false stores i32.
    unsafe {
        inner::<false>(
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
            out.cast(),
            out_stride,
        )
    }
}

/// `igemm_4x16c8__neoni8mm` with the `Fp32` requantization (per tensor or per channel) fused
/// into its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
///
/// # Safety
/// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU
/// with NEON and FEAT_I8MM.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x16c8_fp32__neoni8mm(
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
        let nr = (ncols - col).min(NR);
        let b = col / NR;
        // SAFETY: block b of the call is at w + b·w_stride with its NR biases at bias + b·NR;
        // columns col..col + nr of out are the caller's; q's channel scales (if any) cover
        // the call's columns; the caller guarantees the CPU features.
        unsafe {
            inner::<true>(
                mr,
                nr,
                taps,
                kc,
                a,
                a_xor,
                w.add(b * w_stride),
                bias.add(col),
                q,
                col,
                &st,
                out.add(col),
                out_stride,
            )
        }
        col += NR;
    }
}

/// Rows `r` and `r + 1` of k-group `q` in one vector, xored into the `a'` domain.
///
/// # Safety
/// Both rows are readable for `kc` bytes and `8 · q < kc`.
#[inline(always)]
unsafe fn pair(r0: *const u8, r1: *const u8, q: usize, kc: usize, xor: uint8x16_t) -> uint8x16_t {
    // SAFETY: load8 reads only bytes 8·q..min(8·q + 8, kc) of each row (caller contract).
    let (x0, x1) = unsafe { (load8(r0, q, kc), load8(r1, q, kc)) };
    // SAFETY: NEON is baseline on aarch64.
    unsafe {
        let v = vcombine_u64(vcreate_u64(x0), vcreate_u64(x1));
        veorq_u8(vreinterpretq_u8_u64(v), xor)
    }
}

/// One 4 × 16 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
/// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
///
/// # Safety
/// As [`igemm_4x16c8__neoni8mm`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements);
/// with `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
#[target_feature(enable = "neon,i8mm")]
#[allow(clippy::too_many_arguments)]
unsafe fn inner<const FUSED: bool>(
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
    let kc8 = kc.div_ceil(8);
    // SAFETY: every access follows the IgemmFn contract: bias holds NR values, the packed block
    // taps · kc8 groups of 128 bytes read in order, each row pointer kc bytes (`k16` reads
    // 16 · (kc / 16) of them, `pair` the k-groups from 2 · (kc / 16) on and never past kc), out
    // mr rows of nr values.
    unsafe {
        let xor = vdupq_n_u8(a_xor);
        // Column pair q starts as [b(2q), b(2q+1), b(2q), b(2q+1)] for both row pairs.
        let row: [int32x4_t; 8] = core::array::from_fn(|q| {
            let b = vld1_s32(bias.add(2 * q));
            vcombine_s32(b, b)
        });
        let mut c = [row, row];
        let mut wp = w;
        let n16 = kc / 16;
        // Whole 16-channel steps of every tap in one asm block when kc is a multiple of 16;
        // else per tap, then the last k-group(s) below.
        let (all_taps, q0) = if n16 > 0 && kc.is_multiple_of(16) {
            kloop16(mr, a, taps, n16, &mut wp, &mut c, a_xor);
            (true, kc8)
        } else {
            (false, 2 * n16)
        };
        let tap_loop = if all_taps { 0 } else { taps };
        for t in 0..tap_loop {
            if n16 > 0 {
                kloop16(mr, a.add(t * MR), 1, n16, &mut wp, &mut c, a_xor);
            }
            let r = [
                *a.add(t * MR),
                *a.add(t * MR + 1),
                *a.add(t * MR + 2),
                *a.add(t * MR + 3),
            ];
            for q in q0..kc8 {
                let a01 = pair(r[0], r[1], q, kc, xor);
                let a23 = pair(r[2], r[3], q, kc, xor);
                let w0 = vld1q_s8(wp);
                let w1 = vld1q_s8(wp.add(16));
                let w2 = vld1q_s8(wp.add(32));
                let w3 = vld1q_s8(wp.add(48));
                let w4 = vld1q_s8(wp.add(64));
                let w5 = vld1q_s8(wp.add(80));
                let w6 = vld1q_s8(wp.add(96));
                let w7 = vld1q_s8(wp.add(112));
                wp = wp.add(NR * 8);
                core::arch::asm!(
                    "usmmla {c00:v}.4s, {a01:v}.16b, {w0:v}.16b",
                    "usmmla {c01:v}.4s, {a01:v}.16b, {w1:v}.16b",
                    "usmmla {c02:v}.4s, {a01:v}.16b, {w2:v}.16b",
                    "usmmla {c03:v}.4s, {a01:v}.16b, {w3:v}.16b",
                    "usmmla {c04:v}.4s, {a01:v}.16b, {w4:v}.16b",
                    "usmmla {c05:v}.4s, {a01:v}.16b, {w5:v}.16b",
                    "usmmla {c06:v}.4s, {a01:v}.16b, {w6:v}.16b",
                    "usmmla {c07:v}.4s, {a01:v}.16b, {w7:v}.16b",
                    "usmmla {c10:v}.4s, {a23:v}.16b, {w0:v}.16b",
                    "usmmla {c11:v}.4s, {a23:v}.16b, {w1:v}.16b",
                    "usmmla {c12:v}.4s, {a23:v}.16b, {w2:v}.16b",
                    "usmmla {c13:v}.4s, {a23:v}.16b, {w3:v}.16b",
                    "usmmla {c14:v}.4s, {a23:v}.16b, {w4:v}.16b",
                    "usmmla {c15:v}.4s, {a23:v}.16b, {w5:v}.16b",
                    "usmmla {c16:v}.4s, {a23:v}.16b, {w6:v}.16b",
                    "usmmla {c17:v}.4s, {a23:v}.16b, {w7:v}.16b",
                    c00 = inout(vreg) c[0][0],
                    c01 = inout(vreg) c[0][1],
                    c02 = inout(vreg) c[0][2],
                    c03 = inout(vreg) c[0][3],
                    c04 = inout(vreg) c[0][4],
                    c05 = inout(vreg) c[0][5],
                    c06 = inout(vreg) c[0][6],
                    c07 = inout(vreg) c[0][7],
                    c10 = inout(vreg) c[1][0],
                    c11 = inout(vreg) c[1][1],
                    c12 = inout(vreg) c[1][2],
                    c13 = inout(vreg) c[1][3],
                    c14 = inout(vreg) c[1][4],
                    c15 = inout(vreg) c[1][5],
                    c16 = inout(vreg) c[1][6],
                    c17 = inout(vreg) c[1][7],
                    a01 = in(vreg) a01,
                    a23 = in(vreg) a23,
                    w0 = in(vreg) w0,
                    w1 = in(vreg) w1,
                    w2 = in(vreg) w2,
                    w3 = in(vreg) w3,
                    w4 = in(vreg) w4,
                    w5 = in(vreg) w5,
                    w6 = in(vreg) w6,
                    w7 = in(vreg) w7,
                    options(pure, nomem, nostack)
                );
            }
        }
        // Row m, columns 4q..4q + 4: the low (even m) or high (odd m) halves of the 2 × 2
        // blocks of column pairs 2q and 2q + 1 of row pair m / 2.
        let row = |p: usize, hi: bool| -> [int32x4_t; 4] {
            core::array::from_fn(|q| {
                let (x, y) = (
                    vreinterpretq_s64_s32(c[p][2 * q]),
                    vreinterpretq_s64_s32(c[p][2 * q + 1]),
                );
                vreinterpretq_s32_s64(if hi {
                    vzip2q_s64(x, y)
                } else {
                    vzip1q_s64(x, y)
                })
            })
        };
        let rows = [row(0, false), row(0, true), row(1, false), row(1, true)];
        if FUSED {
            let s = scales::<4>(q, col, nr);
            for (m, r) in rows.iter().enumerate().take(mr) {
                let v = bytes16(
                    requant8(r[0], r[1], s[0], s[1], st),
                    requant8(r[2], r[3], s[2], s[3], st),
                    st,
                );
                store16(out.add(m * out_stride), v, nr);
            }
        } else {
            let out = out.cast::<i32>();
            for (m, r) in rows.iter().enumerate().take(mr) {
                store_i32::<4>(out.add(m * out_stride), r, nr);
            }
        }
    }
}

/// The 16-channel k-loop of `igemm_4x16c8__neoni8mm` for the first `R` rows (2 or 4) over
/// `taps` taps in one `asm!` block with fixed registers: per tap, the row pointers from `a`
/// (the tap's 4 pointers are 32 bytes apart), then `n16` iterations of 16 channels (two `c8`
/// k-groups): v0..v(R-1) 16 activation bytes per row (`ldr q`), `zip1`/`zip2` on 64-bit lanes
/// into the row pairs of each k-group (v4/v5 and v6/v7; `eor` with the kernel's xor when
/// `XOR`), v8-v15 the 8 column-pair weight vectors of a k-group (`ldp q`), `8 R` `usmmla` into
/// v16.. (row pair p, column pair q: v(16 + 8p + q)). Row pairs past `R` are untouched.
///
/// # Safety
/// FEAT_I8MM; `taps >= 1`, `n16 >= 1`; `a` holds `taps · 4` row pointers, the first `R` of each
/// tap readable for `16 · n16` bytes; `*wp` is readable for `taps · n16 · 256` bytes (advanced
/// past them on return).
#[inline(always)]
unsafe fn k16<const XOR: bool, const R: usize>(
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 8]; 2],
    a_xor: u8,
) {
    // SAFETY: the reads are the ones the caller guarantees (R pointers per tap, 16 bytes per
    // row and 256 packed bytes per iteration); no memory is written; every register the block
    // changes is an output or declared clobbered; the caller guarantees FEAT_I8MM.
    unsafe {
        if R == 2 && XOR {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "add {a}, {a}, #32",
                "mov {n}, {n16}",
                "2:",
                "ldr q0, [{r0}], #16",
                "ldr q1, [{r1}], #16",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "zip1 v4.2d, v0.2d, v1.2d",
                "zip2 v6.2d, v0.2d, v1.2d",
                "dup v0.16b, {x:w}",
                "eor v4.16b, v4.16b, v0.16b",
                "eor v6.16b, v6.16b, v0.16b",
                "usmmla v16.4s, v4.16b, v8.16b",
                "ldp q12, q13, [{w}], #32",
                "usmmla v17.4s, v4.16b, v9.16b",
                "ldp q14, q15, [{w}], #32",
                "usmmla v18.4s, v4.16b, v10.16b",
                "usmmla v19.4s, v4.16b, v11.16b",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "usmmla v20.4s, v4.16b, v12.16b",
                "usmmla v21.4s, v4.16b, v13.16b",
                "usmmla v22.4s, v4.16b, v14.16b",
                "usmmla v23.4s, v4.16b, v15.16b",
                "usmmla v16.4s, v6.16b, v8.16b",
                "usmmla v17.4s, v6.16b, v9.16b",
                "usmmla v18.4s, v6.16b, v10.16b",
                "usmmla v19.4s, v6.16b, v11.16b",
                "ldp q12, q13, [{w}], #32",
                "ldp q14, q15, [{w}], #32",
                "usmmla v20.4s, v6.16b, v12.16b",
                "usmmla v21.4s, v6.16b, v13.16b",
                "subs {n}, {n}, #1",
                "usmmla v22.4s, v6.16b, v14.16b",
                "usmmla v23.4s, v6.16b, v15.16b",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n16 = in(reg) n16,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                w = inout(reg) *wp,
                x = in(reg) u32::from(a_xor),
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[0][2],
                inout("v19") c[0][3],
                inout("v20") c[0][4],
                inout("v21") c[0][5],
                inout("v22") c[0][6],
                inout("v23") c[0][7],
                out("v0") _,
                out("v1") _,
                out("v4") _,
                out("v6") _,
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
        } else if R == 2 && !XOR {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "add {a}, {a}, #32",
                "mov {n}, {n16}",
                "2:",
                "ldr q0, [{r0}], #16",
                "ldr q1, [{r1}], #16",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "zip1 v4.2d, v0.2d, v1.2d",
                "zip2 v6.2d, v0.2d, v1.2d",
                "usmmla v16.4s, v4.16b, v8.16b",
                "ldp q12, q13, [{w}], #32",
                "usmmla v17.4s, v4.16b, v9.16b",
                "ldp q14, q15, [{w}], #32",
                "usmmla v18.4s, v4.16b, v10.16b",
                "usmmla v19.4s, v4.16b, v11.16b",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "usmmla v20.4s, v4.16b, v12.16b",
                "usmmla v21.4s, v4.16b, v13.16b",
                "usmmla v22.4s, v4.16b, v14.16b",
                "usmmla v23.4s, v4.16b, v15.16b",
                "usmmla v16.4s, v6.16b, v8.16b",
                "usmmla v17.4s, v6.16b, v9.16b",
                "usmmla v18.4s, v6.16b, v10.16b",
                "usmmla v19.4s, v6.16b, v11.16b",
                "ldp q12, q13, [{w}], #32",
                "ldp q14, q15, [{w}], #32",
                "usmmla v20.4s, v6.16b, v12.16b",
                "usmmla v21.4s, v6.16b, v13.16b",
                "subs {n}, {n}, #1",
                "usmmla v22.4s, v6.16b, v14.16b",
                "usmmla v23.4s, v6.16b, v15.16b",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n16 = in(reg) n16,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[0][2],
                inout("v19") c[0][3],
                inout("v20") c[0][4],
                inout("v21") c[0][5],
                inout("v22") c[0][6],
                inout("v23") c[0][7],
                out("v0") _,
                out("v1") _,
                out("v4") _,
                out("v6") _,
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
                "add {a}, {a}, #32",
                "mov {n}, {n16}",
                "2:",
                "ldr q0, [{r0}], #16",
                "ldr q1, [{r1}], #16",
                "ldr q2, [{r2}], #16",
                "ldr q3, [{r3}], #16",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "zip1 v4.2d, v0.2d, v1.2d",
                "zip1 v5.2d, v2.2d, v3.2d",
                "zip2 v6.2d, v0.2d, v1.2d",
                "zip2 v7.2d, v2.2d, v3.2d",
                "dup v0.16b, {x:w}",
                "eor v4.16b, v4.16b, v0.16b",
                "eor v5.16b, v5.16b, v0.16b",
                "eor v6.16b, v6.16b, v0.16b",
                "eor v7.16b, v7.16b, v0.16b",
                "usmmla v16.4s, v4.16b, v8.16b",
                "usmmla v24.4s, v5.16b, v8.16b",
                "ldp q12, q13, [{w}], #32",
                "usmmla v17.4s, v4.16b, v9.16b",
                "usmmla v25.4s, v5.16b, v9.16b",
                "ldp q14, q15, [{w}], #32",
                "usmmla v18.4s, v4.16b, v10.16b",
                "usmmla v26.4s, v5.16b, v10.16b",
                "usmmla v19.4s, v4.16b, v11.16b",
                "usmmla v27.4s, v5.16b, v11.16b",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "usmmla v20.4s, v4.16b, v12.16b",
                "usmmla v28.4s, v5.16b, v12.16b",
                "usmmla v21.4s, v4.16b, v13.16b",
                "usmmla v29.4s, v5.16b, v13.16b",
                "usmmla v22.4s, v4.16b, v14.16b",
                "usmmla v30.4s, v5.16b, v14.16b",
                "usmmla v23.4s, v4.16b, v15.16b",
                "usmmla v31.4s, v5.16b, v15.16b",
                "usmmla v16.4s, v6.16b, v8.16b",
                "usmmla v24.4s, v7.16b, v8.16b",
                "usmmla v17.4s, v6.16b, v9.16b",
                "usmmla v25.4s, v7.16b, v9.16b",
                "usmmla v18.4s, v6.16b, v10.16b",
                "usmmla v26.4s, v7.16b, v10.16b",
                "usmmla v19.4s, v6.16b, v11.16b",
                "usmmla v27.4s, v7.16b, v11.16b",
                "ldp q12, q13, [{w}], #32",
                "ldp q14, q15, [{w}], #32",
                "usmmla v20.4s, v6.16b, v12.16b",
                "usmmla v28.4s, v7.16b, v12.16b",
                "usmmla v21.4s, v6.16b, v13.16b",
                "usmmla v29.4s, v7.16b, v13.16b",
                "usmmla v22.4s, v6.16b, v14.16b",
                "usmmla v30.4s, v7.16b, v14.16b",
                "subs {n}, {n}, #1",
                "usmmla v23.4s, v6.16b, v15.16b",
                "usmmla v31.4s, v7.16b, v15.16b",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n16 = in(reg) n16,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                w = inout(reg) *wp,
                x = in(reg) u32::from(a_xor),
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[0][2],
                inout("v19") c[0][3],
                inout("v20") c[0][4],
                inout("v21") c[0][5],
                inout("v22") c[0][6],
                inout("v23") c[0][7],
                inout("v24") c[1][0],
                inout("v25") c[1][1],
                inout("v26") c[1][2],
                inout("v27") c[1][3],
                inout("v28") c[1][4],
                inout("v29") c[1][5],
                inout("v30") c[1][6],
                inout("v31") c[1][7],
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
        } else {
            core::arch::asm!(
                "3:",
                "ldp {r0}, {r1}, [{a}]",
                "ldp {r2}, {r3}, [{a}, #16]",
                "add {a}, {a}, #32",
                "mov {n}, {n16}",
                "2:",
                "ldr q0, [{r0}], #16",
                "ldr q1, [{r1}], #16",
                "ldr q2, [{r2}], #16",
                "ldr q3, [{r3}], #16",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "zip1 v4.2d, v0.2d, v1.2d",
                "zip1 v5.2d, v2.2d, v3.2d",
                "zip2 v6.2d, v0.2d, v1.2d",
                "zip2 v7.2d, v2.2d, v3.2d",
                "usmmla v16.4s, v4.16b, v8.16b",
                "usmmla v24.4s, v5.16b, v8.16b",
                "ldp q12, q13, [{w}], #32",
                "usmmla v17.4s, v4.16b, v9.16b",
                "usmmla v25.4s, v5.16b, v9.16b",
                "ldp q14, q15, [{w}], #32",
                "usmmla v18.4s, v4.16b, v10.16b",
                "usmmla v26.4s, v5.16b, v10.16b",
                "usmmla v19.4s, v4.16b, v11.16b",
                "usmmla v27.4s, v5.16b, v11.16b",
                "ldp q8, q9, [{w}], #32",
                "ldp q10, q11, [{w}], #32",
                "usmmla v20.4s, v4.16b, v12.16b",
                "usmmla v28.4s, v5.16b, v12.16b",
                "usmmla v21.4s, v4.16b, v13.16b",
                "usmmla v29.4s, v5.16b, v13.16b",
                "usmmla v22.4s, v4.16b, v14.16b",
                "usmmla v30.4s, v5.16b, v14.16b",
                "usmmla v23.4s, v4.16b, v15.16b",
                "usmmla v31.4s, v5.16b, v15.16b",
                "usmmla v16.4s, v6.16b, v8.16b",
                "usmmla v24.4s, v7.16b, v8.16b",
                "usmmla v17.4s, v6.16b, v9.16b",
                "usmmla v25.4s, v7.16b, v9.16b",
                "usmmla v18.4s, v6.16b, v10.16b",
                "usmmla v26.4s, v7.16b, v10.16b",
                "usmmla v19.4s, v6.16b, v11.16b",
                "usmmla v27.4s, v7.16b, v11.16b",
                "ldp q12, q13, [{w}], #32",
                "ldp q14, q15, [{w}], #32",
                "usmmla v20.4s, v6.16b, v12.16b",
                "usmmla v28.4s, v7.16b, v12.16b",
                "usmmla v21.4s, v6.16b, v13.16b",
                "usmmla v29.4s, v7.16b, v13.16b",
                "usmmla v22.4s, v6.16b, v14.16b",
                "usmmla v30.4s, v7.16b, v14.16b",
                "subs {n}, {n}, #1",
                "usmmla v23.4s, v6.16b, v15.16b",
                "usmmla v31.4s, v7.16b, v15.16b",
                "b.ne 2b",
                "subs {t}, {t}, #1",
                "b.ne 3b",
                a = inout(reg) a => _,
                t = inout(reg) taps => _,
                n16 = in(reg) n16,
                n = out(reg) _,
                r0 = out(reg) _,
                r1 = out(reg) _,
                r2 = out(reg) _,
                r3 = out(reg) _,
                w = inout(reg) *wp,
                inout("v16") c[0][0],
                inout("v17") c[0][1],
                inout("v18") c[0][2],
                inout("v19") c[0][3],
                inout("v20") c[0][4],
                inout("v21") c[0][5],
                inout("v22") c[0][6],
                inout("v23") c[0][7],
                inout("v24") c[1][0],
                inout("v25") c[1][1],
                inout("v26") c[1][2],
                inout("v27") c[1][3],
                inout("v28") c[1][4],
                inout("v29") c[1][5],
                inout("v30") c[1][6],
                inout("v31") c[1][7],
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

/// [`k16`] for the rows a tile of `mr` rows needs: 2 (`mr` <= 2) or all 4.
///
/// # Safety
/// As [`k16`] with `R` rows, `mr >= 1`.
#[inline(always)]
unsafe fn kloop16(
    mr: usize,
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 8]; 2],
    a_xor: u8,
) {
    // SAFETY: the caller's contract; each variant reads its first R <= 4 rows of each tap.
    unsafe {
        match (mr <= 2, a_xor != 0) {
            (true, true) => k16::<true, 2>(a, taps, n16, wp, c, a_xor),
            (true, false) => k16::<false, 2>(a, taps, n16, wp, c, a_xor),
            (false, true) => k16::<true, 4>(a, taps, n16, wp, c, a_xor),
            (false, false) => k16::<false, 4>(a, taps, n16, wp, c, a_xor),
        }
    }
}
