//! `igemm_4x8c4__neondot`: 4 rows × 8 columns, 4 input channels per SDOT (FEAT_DotProd),
//! written with `asm!` (the dot-product intrinsics are not stable in Rust 1.95).
//!
//! The four rows' 4-byte activation groups share one vector; each by-element dot product
//! multiplies 16 weight bytes (4 columns × 4 channels) by one row's group (the body is
//! `super::dot_kernel`, shared with the SUDOT kernel `igemm_4x8c4__neoni8mm`).
//!
//! SDOT needs both operands signed: the kernel is handed `a'' = a' − 128` (one more xor with
//! 0x80) and the plan adds `128·Σw'` to the folded bias (see [`crate::pack`]).
//!
//! `igemm_4x16c4__neondot` (below) is the XNNPACK-class tile: 16 activation bytes per row load,
//! the k-loop in one `asm!` block, and an `Fp32` fused-store entry.
#![allow(non_snake_case)]

use super::out::{bytes16, requant8, scales, store16, store_i32, Stage};
use crate::ukernel::{load_tail, Fp32Requant};
use core::arch::aarch64::*;

/// The requantization the i32 entry passes along (unused: it stores i32).
const NO_Q: Fp32Requant<'static> = Fp32Requant {
    scale: 1.0,
    lo: 0.0,
    hi: 0.0,
    zero_point: 0,
    signed: false,
    channel_scales: None,
};

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

super::dot_kernel!(igemm_4x8c4__neondot, inner_sdot, "neon,dotprod", "sdot");

/// Rows per tile of `igemm_4x16c4__neondot`.
pub const MR_4X16: usize = 4;
/// Columns per tile of `igemm_4x16c4__neondot`.
pub const NR_4X16: usize = 16;

/// `igemm_4x16c4__neondot`: 4 rows × 16 columns, `c4` packing (`NR = 16`, `KR = 4`: a k-group
/// is 64 bytes, four vectors of 4 columns × 4 channels), the class of XNNPACK's
/// `4x16c4 neondot ld128` kernels: each row's activations are loaded 16 bytes (4 k-groups) at a
/// time and used by lane (`sdot vd.4s, vw.16b, va.4b[g]`); per 16 channels the k-loop (one
/// `asm!` block) runs 4 `ldr q` + 8 `ldp q` + 64 `sdot` (+ 4 `eor` for the `a'' = a' ^ 0x80`
/// shift when the kernel's xor is not 0); the channels past the last multiple of 16 run after
/// the loop, one k-group at a time. See [`crate::ukernel::IgemmFn`] for the contract.
///
/// # Safety
/// The contract of [`crate::ukernel::IgemmFn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
/// with FEAT_DotProd.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x16c4__neondot(
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
    // SAFETY: the caller's contract; FUSED = false stores i32 rows.
    unsafe {
        block_4x16::<false>(
            mr,
            nr,
            taps,
            kc,
            a,
            a_xor,
            w,
            bias,
            &NO_Q,
            0,
            &st,
            out.cast(),
            out_stride,
        )
    }
}

/// `igemm_4x16c4__neondot` with the `Fp32` requantization (per tensor or per channel) fused
/// into its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
///
/// # Safety
/// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
/// with FEAT_DotProd.
#[allow(clippy::too_many_arguments)]
pub unsafe fn igemm_4x16c4_fp32__neondot(
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
        let nr = (ncols - col).min(NR_4X16);
        let b = col / NR_4X16;
        // SAFETY: block b of the call is at w + b·w_stride with its NR biases at
        // bias + b·NR; columns col..col + nr of out are the caller's; q's channel scales (if
        // any) cover the call's columns.
        unsafe {
            block_4x16::<true>(
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
        col += NR_4X16;
    }
}

/// One 4 × 16 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
/// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
///
/// # Safety
/// As [`igemm_4x16c4__neondot`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements);
/// with `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
#[target_feature(enable = "neon,dotprod")]
#[allow(clippy::too_many_arguments)]
unsafe fn block_4x16<const FUSED: bool>(
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
    // SAFETY: bias holds NR i32; the packed block holds taps · ceil(kc / 4) groups of 64 bytes,
    // read in order (16 channels = 256 bytes per loop iteration, then one group per tail
    // step); each row pointer is read for exactly its kc bytes (16 per iteration while 16
    // remain, then `row_tail` reads the rest); `out` as the caller states.
    unsafe {
        let bv: [int32x4_t; 4] = core::array::from_fn(|j| vld1q_s32(bias.add(4 * j)));
        let (mut c0, mut c1, mut c2, mut c3) = (bv, bv, bv, bv);
        let xv = vdupq_n_u8(a_xor);
        let n16_all = kc / 16;
        let rem = kc % 16;
        let mut wp = w;
        for t in 0..taps {
            let mut r0 = *a.add(t * MR_4X16);
            let mut r1 = *a.add(t * MR_4X16 + 1);
            let mut r2 = *a.add(t * MR_4X16 + 2);
            let mut r3 = *a.add(t * MR_4X16 + 3);
            if n16_all > 0 {
                let n16 = n16_all;
                if a_xor != 0 {
                    core::arch::asm!(
                        "2:",
                        "ldr {a0:q}, [{r0}], #16",
                        "ldr {a1:q}, [{r1}], #16",
                        "ldr {a2:q}, [{r2}], #16",
                        "ldr {a3:q}, [{r3}], #16",
                        "ldp {b0:q}, {b1:q}, [{w}], #32",
                        "ldp {b2:q}, {b3:q}, [{w}], #32",
                        "eor {a0:v}.16b, {a0:v}.16b, {x:v}.16b",
                        "eor {a1:v}.16b, {a1:v}.16b, {x:v}.16b",
                        "eor {a2:v}.16b, {a2:v}.16b, {x:v}.16b",
                        "eor {a3:v}.16b, {a3:v}.16b, {x:v}.16b",
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[0]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[0]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[0]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[0]",
                        "ldp {b4:q}, {b5:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[0]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[0]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[0]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[0]",
                        "ldp {b6:q}, {b7:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[0]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[0]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[0]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[0]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[0]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[0]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[0]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[0]",
                        "sdot {c00:v}.4s, {b4:v}.16b, {a0:v}.4b[1]",
                        "sdot {c01:v}.4s, {b5:v}.16b, {a0:v}.4b[1]",
                        "sdot {c02:v}.4s, {b6:v}.16b, {a0:v}.4b[1]",
                        "sdot {c03:v}.4s, {b7:v}.16b, {a0:v}.4b[1]",
                        "ldp {b0:q}, {b1:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b4:v}.16b, {a1:v}.4b[1]",
                        "sdot {c11:v}.4s, {b5:v}.16b, {a1:v}.4b[1]",
                        "sdot {c12:v}.4s, {b6:v}.16b, {a1:v}.4b[1]",
                        "sdot {c13:v}.4s, {b7:v}.16b, {a1:v}.4b[1]",
                        "ldp {b2:q}, {b3:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b4:v}.16b, {a2:v}.4b[1]",
                        "sdot {c21:v}.4s, {b5:v}.16b, {a2:v}.4b[1]",
                        "sdot {c22:v}.4s, {b6:v}.16b, {a2:v}.4b[1]",
                        "sdot {c23:v}.4s, {b7:v}.16b, {a2:v}.4b[1]",
                        "sdot {c30:v}.4s, {b4:v}.16b, {a3:v}.4b[1]",
                        "sdot {c31:v}.4s, {b5:v}.16b, {a3:v}.4b[1]",
                        "sdot {c32:v}.4s, {b6:v}.16b, {a3:v}.4b[1]",
                        "sdot {c33:v}.4s, {b7:v}.16b, {a3:v}.4b[1]",
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[2]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[2]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[2]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[2]",
                        "ldp {b4:q}, {b5:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[2]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[2]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[2]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[2]",
                        "ldp {b6:q}, {b7:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[2]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[2]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[2]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[2]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[2]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[2]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[2]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[2]",
                        "sdot {c00:v}.4s, {b4:v}.16b, {a0:v}.4b[3]",
                        "sdot {c01:v}.4s, {b5:v}.16b, {a0:v}.4b[3]",
                        "sdot {c02:v}.4s, {b6:v}.16b, {a0:v}.4b[3]",
                        "sdot {c03:v}.4s, {b7:v}.16b, {a0:v}.4b[3]",
                        "sdot {c10:v}.4s, {b4:v}.16b, {a1:v}.4b[3]",
                        "sdot {c11:v}.4s, {b5:v}.16b, {a1:v}.4b[3]",
                        "sdot {c12:v}.4s, {b6:v}.16b, {a1:v}.4b[3]",
                        "sdot {c13:v}.4s, {b7:v}.16b, {a1:v}.4b[3]",
                        "sdot {c20:v}.4s, {b4:v}.16b, {a2:v}.4b[3]",
                        "sdot {c21:v}.4s, {b5:v}.16b, {a2:v}.4b[3]",
                        "sdot {c22:v}.4s, {b6:v}.16b, {a2:v}.4b[3]",
                        "sdot {c23:v}.4s, {b7:v}.16b, {a2:v}.4b[3]",
                        "sdot {c30:v}.4s, {b4:v}.16b, {a3:v}.4b[3]",
                        "sdot {c31:v}.4s, {b5:v}.16b, {a3:v}.4b[3]",
                        "sdot {c32:v}.4s, {b6:v}.16b, {a3:v}.4b[3]",
                        "sdot {c33:v}.4s, {b7:v}.16b, {a3:v}.4b[3]",
                        "subs {n}, {n}, #1",
                        "b.ne 2b",
                        r0 = inout(reg) r0,
                        r1 = inout(reg) r1,
                        r2 = inout(reg) r2,
                        r3 = inout(reg) r3,
                        w = inout(reg) wp,
                        n = inout(reg) n16 => _,
                        a0 = out(vreg) _,
                        a1 = out(vreg) _,
                        a2 = out(vreg) _,
                        a3 = out(vreg) _,
                        b0 = out(vreg) _,
                        b1 = out(vreg) _,
                        b2 = out(vreg) _,
                        b3 = out(vreg) _,
                        b4 = out(vreg) _,
                        b5 = out(vreg) _,
                        b6 = out(vreg) _,
                        b7 = out(vreg) _,
                        x = in(vreg) xv,
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(nostack, readonly)
                    );
                } else {
                    core::arch::asm!(
                        "2:",
                        "ldr {a0:q}, [{r0}], #16",
                        "ldr {a1:q}, [{r1}], #16",
                        "ldr {a2:q}, [{r2}], #16",
                        "ldr {a3:q}, [{r3}], #16",
                        "ldp {b0:q}, {b1:q}, [{w}], #32",
                        "ldp {b2:q}, {b3:q}, [{w}], #32",
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[0]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[0]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[0]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[0]",
                        "ldp {b4:q}, {b5:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[0]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[0]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[0]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[0]",
                        "ldp {b6:q}, {b7:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[0]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[0]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[0]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[0]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[0]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[0]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[0]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[0]",
                        "sdot {c00:v}.4s, {b4:v}.16b, {a0:v}.4b[1]",
                        "sdot {c01:v}.4s, {b5:v}.16b, {a0:v}.4b[1]",
                        "sdot {c02:v}.4s, {b6:v}.16b, {a0:v}.4b[1]",
                        "sdot {c03:v}.4s, {b7:v}.16b, {a0:v}.4b[1]",
                        "ldp {b0:q}, {b1:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b4:v}.16b, {a1:v}.4b[1]",
                        "sdot {c11:v}.4s, {b5:v}.16b, {a1:v}.4b[1]",
                        "sdot {c12:v}.4s, {b6:v}.16b, {a1:v}.4b[1]",
                        "sdot {c13:v}.4s, {b7:v}.16b, {a1:v}.4b[1]",
                        "ldp {b2:q}, {b3:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b4:v}.16b, {a2:v}.4b[1]",
                        "sdot {c21:v}.4s, {b5:v}.16b, {a2:v}.4b[1]",
                        "sdot {c22:v}.4s, {b6:v}.16b, {a2:v}.4b[1]",
                        "sdot {c23:v}.4s, {b7:v}.16b, {a2:v}.4b[1]",
                        "sdot {c30:v}.4s, {b4:v}.16b, {a3:v}.4b[1]",
                        "sdot {c31:v}.4s, {b5:v}.16b, {a3:v}.4b[1]",
                        "sdot {c32:v}.4s, {b6:v}.16b, {a3:v}.4b[1]",
                        "sdot {c33:v}.4s, {b7:v}.16b, {a3:v}.4b[1]",
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[2]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[2]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[2]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[2]",
                        "ldp {b4:q}, {b5:q}, [{w}], #32",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[2]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[2]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[2]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[2]",
                        "ldp {b6:q}, {b7:q}, [{w}], #32",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[2]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[2]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[2]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[2]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[2]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[2]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[2]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[2]",
                        "sdot {c00:v}.4s, {b4:v}.16b, {a0:v}.4b[3]",
                        "sdot {c01:v}.4s, {b5:v}.16b, {a0:v}.4b[3]",
                        "sdot {c02:v}.4s, {b6:v}.16b, {a0:v}.4b[3]",
                        "sdot {c03:v}.4s, {b7:v}.16b, {a0:v}.4b[3]",
                        "sdot {c10:v}.4s, {b4:v}.16b, {a1:v}.4b[3]",
                        "sdot {c11:v}.4s, {b5:v}.16b, {a1:v}.4b[3]",
                        "sdot {c12:v}.4s, {b6:v}.16b, {a1:v}.4b[3]",
                        "sdot {c13:v}.4s, {b7:v}.16b, {a1:v}.4b[3]",
                        "sdot {c20:v}.4s, {b4:v}.16b, {a2:v}.4b[3]",
                        "sdot {c21:v}.4s, {b5:v}.16b, {a2:v}.4b[3]",
                        "sdot {c22:v}.4s, {b6:v}.16b, {a2:v}.4b[3]",
                        "sdot {c23:v}.4s, {b7:v}.16b, {a2:v}.4b[3]",
                        "sdot {c30:v}.4s, {b4:v}.16b, {a3:v}.4b[3]",
                        "sdot {c31:v}.4s, {b5:v}.16b, {a3:v}.4b[3]",
                        "sdot {c32:v}.4s, {b6:v}.16b, {a3:v}.4b[3]",
                        "sdot {c33:v}.4s, {b7:v}.16b, {a3:v}.4b[3]",
                        "subs {n}, {n}, #1",
                        "b.ne 2b",
                        r0 = inout(reg) r0,
                        r1 = inout(reg) r1,
                        r2 = inout(reg) r2,
                        r3 = inout(reg) r3,
                        w = inout(reg) wp,
                        n = inout(reg) n16 => _,
                        a0 = out(vreg) _,
                        a1 = out(vreg) _,
                        a2 = out(vreg) _,
                        a3 = out(vreg) _,
                        b0 = out(vreg) _,
                        b1 = out(vreg) _,
                        b2 = out(vreg) _,
                        b3 = out(vreg) _,
                        b4 = out(vreg) _,
                        b5 = out(vreg) _,
                        b6 = out(vreg) _,
                        b7 = out(vreg) _,
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(nostack, readonly)
                    );
                }
            }
            if rem > 0 {
                let av = [
                    row_tail(r0, rem, xv),
                    row_tail(r1, rem, xv),
                    row_tail(r2, rem, xv),
                    row_tail(r3, rem, xv),
                ];
                for g in 0..rem.div_ceil(4) {
                    let b: [int8x16_t; 4] = core::array::from_fn(|j| vld1q_s8(wp.add(16 * j)));
                    wp = wp.add(64);
                    match g {
                        0 => core::arch::asm!(
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[0]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[0]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[0]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[0]",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[0]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[0]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[0]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[0]",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[0]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[0]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[0]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[0]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[0]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[0]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[0]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[0]",
                        a0 = in(vreg) av[0],
                        a1 = in(vreg) av[1],
                        a2 = in(vreg) av[2],
                        a3 = in(vreg) av[3],
                        b0 = in(vreg) b[0],
                        b1 = in(vreg) b[1],
                        b2 = in(vreg) b[2],
                        b3 = in(vreg) b[3],
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(pure, nomem, nostack)
                        ),
                        1 => core::arch::asm!(
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[1]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[1]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[1]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[1]",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[1]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[1]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[1]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[1]",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[1]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[1]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[1]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[1]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[1]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[1]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[1]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[1]",
                        a0 = in(vreg) av[0],
                        a1 = in(vreg) av[1],
                        a2 = in(vreg) av[2],
                        a3 = in(vreg) av[3],
                        b0 = in(vreg) b[0],
                        b1 = in(vreg) b[1],
                        b2 = in(vreg) b[2],
                        b3 = in(vreg) b[3],
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(pure, nomem, nostack)
                        ),
                        2 => core::arch::asm!(
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[2]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[2]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[2]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[2]",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[2]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[2]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[2]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[2]",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[2]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[2]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[2]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[2]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[2]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[2]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[2]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[2]",
                        a0 = in(vreg) av[0],
                        a1 = in(vreg) av[1],
                        a2 = in(vreg) av[2],
                        a3 = in(vreg) av[3],
                        b0 = in(vreg) b[0],
                        b1 = in(vreg) b[1],
                        b2 = in(vreg) b[2],
                        b3 = in(vreg) b[3],
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(pure, nomem, nostack)
                        ),
                        _ => core::arch::asm!(
                        "sdot {c00:v}.4s, {b0:v}.16b, {a0:v}.4b[3]",
                        "sdot {c01:v}.4s, {b1:v}.16b, {a0:v}.4b[3]",
                        "sdot {c02:v}.4s, {b2:v}.16b, {a0:v}.4b[3]",
                        "sdot {c03:v}.4s, {b3:v}.16b, {a0:v}.4b[3]",
                        "sdot {c10:v}.4s, {b0:v}.16b, {a1:v}.4b[3]",
                        "sdot {c11:v}.4s, {b1:v}.16b, {a1:v}.4b[3]",
                        "sdot {c12:v}.4s, {b2:v}.16b, {a1:v}.4b[3]",
                        "sdot {c13:v}.4s, {b3:v}.16b, {a1:v}.4b[3]",
                        "sdot {c20:v}.4s, {b0:v}.16b, {a2:v}.4b[3]",
                        "sdot {c21:v}.4s, {b1:v}.16b, {a2:v}.4b[3]",
                        "sdot {c22:v}.4s, {b2:v}.16b, {a2:v}.4b[3]",
                        "sdot {c23:v}.4s, {b3:v}.16b, {a2:v}.4b[3]",
                        "sdot {c30:v}.4s, {b0:v}.16b, {a3:v}.4b[3]",
                        "sdot {c31:v}.4s, {b1:v}.16b, {a3:v}.4b[3]",
                        "sdot {c32:v}.4s, {b2:v}.16b, {a3:v}.4b[3]",
                        "sdot {c33:v}.4s, {b3:v}.16b, {a3:v}.4b[3]",
                        a0 = in(vreg) av[0],
                        a1 = in(vreg) av[1],
                        a2 = in(vreg) av[2],
                        a3 = in(vreg) av[3],
                        b0 = in(vreg) b[0],
                        b1 = in(vreg) b[1],
                        b2 = in(vreg) b[2],
                        b3 = in(vreg) b[3],
                        c00 = inout(vreg) c0[0],
                        c01 = inout(vreg) c0[1],
                        c02 = inout(vreg) c0[2],
                        c03 = inout(vreg) c0[3],
                        c10 = inout(vreg) c1[0],
                        c11 = inout(vreg) c1[1],
                        c12 = inout(vreg) c1[2],
                        c13 = inout(vreg) c1[3],
                        c20 = inout(vreg) c2[0],
                        c21 = inout(vreg) c2[1],
                        c22 = inout(vreg) c2[2],
                        c23 = inout(vreg) c2[3],
                        c30 = inout(vreg) c3[0],
                        c31 = inout(vreg) c3[1],
                        c32 = inout(vreg) c3[2],
                        c33 = inout(vreg) c3[3],
                        options(pure, nomem, nostack)
                        ),
                    }
                }
            }
        }
        // Rows by constant index (a runtime index would put the accumulators in memory).
        if FUSED {
            let s = scales::<4>(q, col, nr);
            let emit = |m: usize, c: &[int32x4_t; 4]| {
                let v = bytes16(
                    requant8(c[0], c[1], s[0], s[1], st),
                    requant8(c[2], c[3], s[2], s[3], st),
                    st,
                );
                store16(out.add(m * out_stride), v, nr);
            };
            emit(0, &c0);
            if mr > 1 {
                emit(1, &c1);
            }
            if mr > 2 {
                emit(2, &c2);
            }
            if mr > 3 {
                emit(3, &c3);
            }
        } else {
            let out = out.cast::<i32>();
            let emit =
                |m: usize, c: &[int32x4_t; 4]| store_i32::<4>(out.add(m * out_stride), c, nr);
            emit(0, &c0);
            if mr > 1 {
                emit(1, &c1);
            }
            if mr > 2 {
                emit(2, &c2);
            }
            if mr > 3 {
                emit(3, &c3);
            }
        }
    }
}

/// The last `rem` (1..16) bytes of a row's channels (at `p`), zero-filled to 16 and xored with
/// `xv`, as signed bytes.
///
/// # Safety
/// `p` is readable for `rem` bytes, `rem < 16`.
#[inline(always)]
unsafe fn row_tail(p: *const u8, rem: usize, xv: uint8x16_t) -> int8x16_t {
    // SAFETY: reads bytes below rem only; NEON is baseline.
    unsafe {
        let (lo, hi) = if rem >= 8 {
            (
                core::ptr::read_unaligned(p.cast::<u64>()),
                load_tail(p.add(8), rem - 8),
            )
        } else {
            (load_tail(p, rem), 0)
        };
        let v = vcombine_u64(vcreate_u64(lo), vcreate_u64(hi));
        vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u64(v), xv))
    }
}
