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
use super::out::{bytes16, cols, store16, store_i32};
use core::arch::aarch64::*;

/// Rows per tile of `igemm_4x16c8__neoni8mm` (and of `igemm_4x8c4__neoni8mm`).
pub const MR: usize = 4;
/// Columns per tile of `igemm_4x16c8__neoni8mm`.
pub const NR: usize = 16;
/// Columns per tile of `igemm_4x8c4__neoni8mm`.
pub const NR_C4: usize = 8;

super::dot_kernel!(igemm_4x8c4__neoni8mm, inner_sudot, "neon,i8mm", "sudot");

tile_entries! {
    inner, NR, MR, fast = (whole_blocks, whole_blocks_rndnu, whole_blocks_i32),
    /// See [`super::super::IgemmFn`] (`c8` packing).
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU with
    /// NEON and FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    igemm_4x16c8__neoni8mm,
    /// `igemm_4x16c8__neoni8mm` with the `Fp32` requantization (per tensor or per channel) fused
    /// into its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU
    /// with NEON and FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    igemm_4x16c8_fp32__neoni8mm,
    /// The strided-A form of `igemm_4x16c8_fp32__neoni8mm` (plain GEMM, many row blocks per
    /// call): see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU
    /// with NEON and FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    gemm_4x16c8_fp32__neoni8mm,
    /// The strided-A form of `igemm_4x16c8__neoni8mm` with i32 output over many blocks: see
    /// [`crate::ukernel::GemmI32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmI32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`, on a CPU
    /// with NEON and FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    gemm_4x16c8_i32__neoni8mm,
    /// `igemm_4x16c8_fp32__neoni8mm` with the `Rndnu` form of the stage instead (`q.rndnu` set:
    /// sqshl, sqdmulh, srshl on the accumulators; [`crate::ukernel::Kernels::run_rndnu`]).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`,
    /// `q.rndnu` set on a CPU with FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    igemm_4x16c8_rndnu__neoni8mm,
    /// The strided-A form of `igemm_4x16c8_rndnu__neoni8mm`: see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`, `q.rndnu`
    /// set on a CPU with FEAT_I8MM.
    #[target_feature(enable = "neon,i8mm")]
    gemm_4x16c8_rndnu__neoni8mm,
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

kernel_fn! {
    /// One 4 × 16 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
    /// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
    ///
    /// # Safety
    /// As [`igemm_4x16c8__neoni8mm`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements);
    /// with `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
    /// Inlined into the entries, whose `#[target_feature]` its `smmla`s assemble under.
    #[inline(always)]
    tile inner[const FUSED: bool, const RNDNU: bool](mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out, out_stride) {
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
                let s = cols::<4>(q, col, nr, RNDNU);
                for (m, r) in rows.iter().enumerate().take(mr) {
                    let v = bytes16(
                        s.requant8(0, r[0], r[1], st),
                        s.requant8(2, r[2], r[3], st),
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
}

// Assembly lines of the k-loop below (`concat!` expands these eagerly into its literal).

/// Accumulator of row pair `p` (rows 2p, 2p + 1), column pair `q`: v(16 + 8p + q).
#[rustfmt::skip]
macro_rules! accp {
    (0 0) => { 16 }; (0 1) => { 17 }; (0 2) => { 18 }; (0 3) => { 19 };
    (0 4) => { 20 }; (0 5) => { 21 }; (0 6) => { 22 }; (0 7) => { 23 };
    (1 0) => { 24 }; (1 1) => { 25 }; (1 2) => { 26 }; (1 3) => { 27 };
    (1 4) => { 28 }; (1 5) => { 29 }; (1 6) => { 30 }; (1 7) => { 31 };
}

/// Weights of column pair `q` (8 channels × 2 columns) of the current k-group: v(8 + q).
#[rustfmt::skip]
macro_rules! wp8 {
    (0) => { 8 }; (1) => { 9 }; (2) => { 10 }; (3) => { 11 };
    (4) => { 12 }; (5) => { 13 }; (6) => { 14 }; (7) => { 15 };
}

/// Activations of row pair `p` in k-group `k` (0, 1) of the 16 channels: v(4 + 2k + p); the
/// loaded rows they are zipped from (`rows`).
#[rustfmt::skip]
macro_rules! ap {
    (0 0) => { 4 }; (0 1) => { 5 }; (1 0) => { 6 }; (1 1) => { 7 };
    (rows 0) => { "v0.2d, v1.2d" }; (rows 1) => { "v2.2d, v3.2d" };
}

/// `usmmla` of k-group `$k` for each column pair listed (outer) and row pair of `$pairs`.
macro_rules! mm {
    ($k:tt, $pairs:tt, [$($q:tt)*]) => {
        concat!($(mm!(@q $k, $pairs, $q),)*)
    };
    (@q $k:tt, [$($p:tt)*], $q:tt) => {
        concat!($(
            "usmmla v", accp!($p $q), ".4s, v", ap!($k $p), ".16b, v", wp8!($q), ".16b\n",
        )*)
    };
}

/// The channel-loop body of [`k16`] for the rows and row pairs listed: 16 activation bytes per
/// row, the first k-group's weights, the row pairs of both k-groups (`zip1`/`zip2`; then the
/// `eor` with the broadcast `{x}` when `xor`), the 8 `R` `usmmla`s with the weight loads
/// between them (`ld1` of 4 vectors: an in-order core's load pipe takes one in half the cycles
/// of two `ldp q`, llvm-mca Cortex-A510 46 cycles per iteration instead of 59); the `subs` goes
/// before the `usmmla`s of the column pairs `$last`.
macro_rules! k16_body {
    ($eor:tt, [$($m:tt)*], [$($p:tt)*], [$($q:tt)*], $last:tt) => {
        concat!(
            $("ldr q", $m, ", [{r", $m, "}], #16\n",)*
            ld4q!(8 9 10 11),
            ld4q!(12 13 14 15),
            $("zip1 v", ap!(0 $p), ".2d, ", ap!(rows $p), "\n",)*
            $("zip2 v", ap!(1 $p), ".2d, ", ap!(rows $p), "\n",)*
            k16_body!(@eor $eor [$(ap!(0 $p),)* $(ap!(1 $p),)*]),
            mm!(0, [$($p)*], [0 1 2 3]),
            ld4q!(8 9 10 11),
            mm!(0, [$($p)*], [4 5 6 7]),
            ld4q!(12 13 14 15),
            mm!(1, [$($p)*], [0 1 2 3]),
            mm!(1, [$($p)*], [$($q)*]),
            "subs {n}, {n}, #1\n",
            mm!(1, [$($p)*], $last),
        )
    };
    (@eor xor [$($v:expr,)*]) => {
        concat!("dup v0.16b, {x:w}\n", $("eor v", $v, ".16b, v", $v, ".16b, v0.16b\n",)*)
    };
    (@eor plain $v:tt) => { "" };
}

/// `asm!` of one [`k16`] variant ([`kloop_asm`]): `k16_asm!(R, xor | plain, a, taps, n16, wp,
/// c, a_xor)`; `{x}` the xor (`xor` only); row pair p's accumulators are v(16 + 8p)..v(23 + 8p)
/// (`c[p]`); the loaded and zipped activations; the weights v8-v15.
macro_rules! k16_asm {
    (2, $mode:tt, $($x:tt)*) => {
        k16_asm!(@x $mode, [r0 r1],
            [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3 "v20" 4 "v21" 5 "v22" 6 "v23" 7]],
            ["v0" "v1" "v4" "v6"], 2, k16_body!($mode, [0 1], [0], [4 5], [6 7]), $($x)*)
    };
    (4, $mode:tt, $($x:tt)*) => {
        k16_asm!(@x $mode, [r0 r1 r2 r3],
            [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3 "v20" 4 "v21" 5 "v22" 6 "v23" 7]
             1 ["v24" 0 "v25" 1 "v26" 2 "v27" 3 "v28" 4 "v29" 5 "v30" 6 "v31" 7]],
            ["v0" "v1" "v2" "v3" "v4" "v5" "v6" "v7"], 4,
            k16_body!($mode, [0 1 2 3], [0 1], [4 5 6], [7]), $($x)*)
    };
    (@x xor, $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, $body:expr, $a:expr, $t:expr, $n:expr,
        $wp:expr, $c:expr, $a_xor:expr) => {
        kloop_asm!($body, $rows, 32, n16 = $n, a = $a, t = $t, w = $wp, $r,
            [x = in(reg) u32::from($a_xor),], $c, $acc,
            [$($av)* "v8" "v9" "v10" "v11" "v12" "v13" "v14" "v15"], [])
    };
    (@x plain, $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, $body:expr, $a:expr, $t:expr, $n:expr,
        $wp:expr, $c:expr, $a_xor:expr) => {
        kloop_asm!($body, $rows, 32, n16 = $n, a = $a, t = $t, w = $wp, $r, [], $c, $acc,
            [$($av)* "v8" "v9" "v10" "v11" "v12" "v13" "v14" "v15"], [])
    };
}

/// The 16-channel k-loop of `igemm_4x16c8__neoni8mm` for the first `R` rows (2 or 4) over
/// `taps` taps in one `asm!` block with fixed registers: per tap, the row pointers from `a`
/// (the tap's 4 pointers are 32 bytes apart), then `n16` iterations of 16 channels (two `c8`
/// k-groups): v0..v(R-1) 16 activation bytes per row (`ldr q`), `zip1`/`zip2` on 64-bit lanes
/// into the row pairs of each k-group (v4/v5 and v6/v7; `eor` with the kernel's xor when
/// `XOR`), v8-v15 the 8 column-pair weight vectors of a k-group (`ld1` of 4), `8 R` `usmmla` into
/// v16.. (row pair p, column pair q: v(16 + 8p + q)). Row pairs past `R` are untouched. The
/// templates are generated by the macros above.
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
            k16_asm!(2, xor, a, taps, n16, wp, c, a_xor);
        } else if R == 2 && !XOR {
            k16_asm!(2, plain, a, taps, n16, wp, c, a_xor);
        } else if R == 4 && XOR {
            k16_asm!(4, xor, a, taps, n16, wp, c, a_xor);
        } else {
            k16_asm!(4, plain, a, taps, n16, wp, c, a_xor);
        }
    }
}

/// `zip1`/`zip2` of row pair `$p`'s accumulators into its two rows, columns 0-15 each: the
/// even row in v0-v3, the odd one in v4-v7, as assembly lines.
macro_rules! unzip_pair {
    ($p:tt) => {
        concat!(
            "zip1 v0.2d, v", accp!($p 0), ".2d, v", accp!($p 1), ".2d\n",
            "zip2 v4.2d, v", accp!($p 0), ".2d, v", accp!($p 1), ".2d\n",
            "zip1 v1.2d, v", accp!($p 2), ".2d, v", accp!($p 3), ".2d\n",
            "zip2 v5.2d, v", accp!($p 2), ".2d, v", accp!($p 3), ".2d\n",
            "zip1 v2.2d, v", accp!($p 4), ".2d, v", accp!($p 5), ".2d\n",
            "zip2 v6.2d, v", accp!($p 4), ".2d, v", accp!($p 5), ".2d\n",
            "zip1 v3.2d, v", accp!($p 6), ".2d, v", accp!($p 7), ".2d\n",
            "zip2 v7.2d, v", accp!($p 6), ".2d, v", accp!($p 7), ".2d\n",
        )
    };
}

/// The tap loop of [`blocks_asm`]: `tail` ([`tap_loop_tail`]: 16-channel steps, maybe none,
/// then `{g}` k-group steps) or `notail` ([`tap_loop`]: at least one 16-channel step; `{g}`
/// is 0 and only named in a comment, 3 instructions per tap fewer).
macro_rules! blocks_loop {
    (tail, $eor:tt) => { tap_loop_tail!(4, 32, k16_body!($eor, [0 1 2 3], [0 1], [4 5 6], [7]), k8_tail!($eor)) };
    (notail, $eor:tt) => { concat!("/* {g} */\n", tap_loop!(4, 32, "n16", k16_body!($eor, [0 1 2 3], [0 1], [4 5 6], [7]))) };
}

/// The `asm!` of [`whole_blocks`] and [`whole_blocks_i32`]: `blocks_asm!(xor | plain, epilogue
/// lines, operands…, [named operands of the epilogue])`. Per 16-column block: the accumulators
/// from the bias (`ld1r` of each column pair's two biases, copied to the second row pair), the
/// k-loop of `k16_body` over the taps, then the epilogue, which stores the block through
/// `{o0}`..`{o3}` (every vector register is free there).
macro_rules! blocks_asm {
    ($eor:tt, $epi:expr, $a:expr, $taps:expr, ($n16:expr, $g:expr, $tl:tt), $w:expr, $bias:expr,
        [$o0:expr, $o1:expr, $o2:expr, $o3:expr], $nb:expr, $x:expr, [$($named:tt)*]) => {
        core::arch::asm!(
            // The xor variant's `dup` reads {x}; this comment uses it in the plain one.
            "/* {x:w} */\n",
            "5:\n",
            "ld1r {{v16.2d}}, [{bias}], #8\n",
            "ld1r {{v17.2d}}, [{bias}], #8\n",
            "ld1r {{v18.2d}}, [{bias}], #8\n",
            "ld1r {{v19.2d}}, [{bias}], #8\n",
            "ld1r {{v20.2d}}, [{bias}], #8\n",
            "ld1r {{v21.2d}}, [{bias}], #8\n",
            "ld1r {{v22.2d}}, [{bias}], #8\n",
            "ld1r {{v23.2d}}, [{bias}], #8\n",
            "mov v24.16b, v16.16b\n",
            "mov v25.16b, v17.16b\n",
            "mov v26.16b, v18.16b\n",
            "mov v27.16b, v19.16b\n",
            "mov v28.16b, v20.16b\n",
            "mov v29.16b, v21.16b\n",
            "mov v30.16b, v22.16b\n",
            "mov v31.16b, v23.16b\n",
            "mov {a}, {a0}\n",
            "mov {t}, {taps}\n",
            blocks_loop!($tl, $eor),
            $epi,
            "subs {nb}, {nb}, #1\n",
            "b.ne 5b\n",
            a0 = in(reg) $a,
            a = out(reg) _,
            t = out(reg) _,
            taps = in(reg) $taps,
            n16 = in(reg) $n16,
            g = in(reg) $g,
            n = out(reg) _,
            r0 = out(reg) _,
            r1 = out(reg) _,
            r2 = out(reg) _,
            r3 = out(reg) _,
            w = inout(reg) $w => _,
            bias = inout(reg) $bias => _,
            o0 = inout(reg) $o0 => _,
            o1 = inout(reg) $o1 => _,
            o2 = inout(reg) $o2 => _,
            o3 = inout(reg) $o3 => _,
            nb = inout(reg) $nb => _,
            x = in(reg) u32::from($x),
            $($named)*
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _,
            out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            options(nostack),
        )
    };
}

/// [`blocks_asm`] with the `Fp32` epilogue for the output type `$out`: the scales (v8-v11, from
/// `{sc}`, advanced by `{sstep}`), the stage (zero point v12, clamps v13/v14, from `{stg}`: the
/// k-loop leaves no vector register free), then per row pair [`unzip_pair`] +
/// [`super::fp32_asm`].
macro_rules! fp32_blocks_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:tt, $w:expr, $bias:expr, $o:tt, $nb:expr,
        $x:expr, $sc:expr, $sstep:expr, $stg:expr) => {
        blocks_asm!(
            $eor,
            concat!(
                "ldp q8, q9, [{sc}]\n",
                "ldp q10, q11, [{sc}, #32]\n",
                "add {sc}, {sc}, {sstep}\n",
                "ldp q12, q13, [{stg}]\n",
                "ldr q14, [{stg}, #32]\n",
                unzip_pair!(0),
                fp32_asm!([[0 1 2 3] => "o0", [4 5 6 7] => "o1"], [8 9 10 11], 12, 13, 14, $out),
                unzip_pair!(1),
                fp32_asm!([[0 1 2 3] => "o2", [4 5 6 7] => "o3"], [8 9 10 11], 12, 13, 14, $out),
            ),
            $a, $taps, $n16, $w, $bias, $o, $nb, $x,
            [sc = inout(reg) $sc => _, sstep = in(reg) $sstep, stg = in(reg) $stg,]
        )
    };
}

/// [`blocks_asm`] with the `Rndnu` epilogue ([`super::rndnu_asm`]) for the output type `$out`:
/// the stage (v12-v14 from `{stg}`), row pair 0 unzipped (which frees its accumulators
/// v16-v23), the block's 16 multipliers, `sqshl` and `srshl` counts into v8-v11, v16-v19,
/// v20-v23 (`ld1` from `{rm}`, `{rp}`, `{rq}`, each advanced by `{sstep}`), then both row pairs
/// through [`super::rndnu_asm`].
macro_rules! rndnu_blocks_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:tt, $w:expr, $bias:expr, $o:tt, $nb:expr,
        $x:expr, $r:expr, $sstep:expr, $stg:expr) => {
        blocks_asm!(
            $eor,
            concat!(
                "ldp q12, q13, [{stg}]\n",
                "ldr q14, [{stg}, #32]\n",
                unzip_pair!(0),
                "ld1 {{v8.4s, v9.4s, v10.4s, v11.4s}}, [{rm}], {sstep}\n",
                "ld1 {{v16.4s, v17.4s, v18.4s, v19.4s}}, [{rp}], {sstep}\n",
                "ld1 {{v20.4s, v21.4s, v22.4s, v23.4s}}, [{rq}], {sstep}\n",
                rndnu_asm!([[0 1 2 3] => "o0", [4 5 6 7] => "o1"], [8 9 10 11],
                    [16 17 18 19], [20 21 22 23], 12, 13, 14, $out),
                unzip_pair!(1),
                rndnu_asm!([[0 1 2 3] => "o2", [4 5 6 7] => "o3"], [8 9 10 11],
                    [16 17 18 19], [20 21 22 23], 12, 13, 14, $out),
            ),
            $a, $taps, $n16, $w, $bias, $o, $nb, $x,
            [rm = inout(reg) $r[0] => _, rp = inout(reg) $r[1] => _,
             rq = inout(reg) $r[2] => _, sstep = in(reg) $sstep, stg = in(reg) $stg,]
        )
    };
}

/// The 8-channel k-group of the rows' tails (`kc mod 16 = 8` in the whole-block paths): 8
/// bytes per row (`ldr d`), the two row pairs (`zip1`; `eor` with the broadcast `{x}` for
/// `xor`), the group's 8 column-pair weight vectors (two `ld1` of 4), 16 `usmmla`, and the `subs` of
/// the tail loop, as assembly lines.
macro_rules! k8_tail {
    ($eor:tt) => {
        concat!(
            "ldr d0, [{r0}], #8\nldr d1, [{r1}], #8\nldr d2, [{r2}], #8\nldr d3, [{r3}], #8\n",
            "zip1 v4.2d, v0.2d, v1.2d\nzip1 v5.2d, v2.2d, v3.2d\n",
            k8_tail!(@eor $eor),
            ld4q!(8 9 10 11),
            ld4q!(12 13 14 15),
            mm!(0, [0 1], [0 1 2 3 4 5 6 7]),
            "subs {n}, {n}, #1\n",
        )
    };
    (@eor xor) => { "dup v0.16b, {x:w}\neor v4.16b, v4.16b, v0.16b\neor v5.16b, v5.16b, v0.16b\n" };
    (@eor plain) => { "" };
}

/// The i32 epilogue of [`whole_blocks_i32`]: per row pair [`unzip_pair`], then each row's 16
/// sums stored with one `st1` of four vectors to `{o<m>}` (advanced by 64 bytes).
macro_rules! i32_epilogue {
    () => {
        concat!(
            unzip_pair!(0),
            "st1 {{v0.4s, v1.4s, v2.4s, v3.4s}}, [{o0}], #64\n",
            "st1 {{v4.4s, v5.4s, v6.4s, v7.4s}}, [{o1}], #64\n",
            unzip_pair!(1),
            "st1 {{v0.4s, v1.4s, v2.4s, v3.4s}}, [{o2}], #64\n",
            "st1 {{v4.4s, v5.4s, v6.4s, v7.4s}}, [{o3}], #64\n",
        )
    };
}

kernel_fn! {
    /// The whole-block part of `igemm_4x16c8_fp32__neoni8mm` (and its strided form): for calls of
    /// [`super::whole_shape`], the first `ncols / 16` column blocks in one `asm!` block
    /// ([`fp32_blocks_asm`]: the k-loop of [`k16`], the rows unzipped from the 2 × 2 blocks, the
    /// `Fp32` stage of [`super::out`] in registers (`q.rndnu` unset; [`whole_blocks_rndnu`] with
    /// [`rndnu_blocks_asm`] takes the `Rndnu` form); one `str q` per row); returns how many columns
    /// it stored (0 for other calls).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 8`;
    /// inlined into a function with FEAT_I8MM.
    #[inline(always)]
    fast_fp32 whole_blocks(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n16, g, nb)) = super::whole_shape::<MR, NR, 16, 8>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let scales = super::ColConsts::<f32, NR, 1>::scales(q);
        let ([sc], sstep) = scales.ptrs_step();
        // SAFETY: the asm reads, per block, the NR biases (advancing 64 bytes), taps · 4 row
        // pointers at `a` and kc bytes of each row, the block's taps · kc · 16 packed bytes
        // (the next block follows: w_stride is one block), 16 scales (channel scales: the
        // call's columns, which the contract says are there; per tensor: `scales`, not
        // advanced) and the 48 bytes of `stage`; it writes 16 bytes per row and block at
        // out + m · out_stride (the call's rows and columns: nb · 16 <= ncols). Every register
        // it changes is an output or clobbered; no stack; the caller's function enables
        // FEAT_I8MM.
        unsafe {
            let stg = stage.as_ptr();
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    fp32_blocks_asm!($eor, $out, a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, a_xor, sc, sstep, stg)
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR
    }
}

kernel_fn! {
    /// The `Rndnu` form of [`whole_blocks`] (its calls with `q.rndnu` set): the same blocks with
    /// the `Rndnu` epilogue; returns how many columns it stored (0 for other calls).
    ///
    /// # Safety
    /// As [`whole_blocks`], with `q.rndnu` set; inlined into a function with the kernel's
    /// features.
    #[inline(always)]
    fast_fp32 whole_blocks_rndnu(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n16, g, nb)) = super::whole_shape::<MR, NR, 16, 8>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let Some(rn) = &q.rndnu else {
            return 0;
        };
        let cols = super::ColConsts::<i32, NR, 3>::rndnu(rn);
        let (r, sstep) = cols.ptrs_step();
        // SAFETY: as in the `Fp32` form, with 16 constants of each kind per block read from the three
        // pointers (channel constants: the call's columns; per tensor: `cols`, not
        // advanced) instead of the scales.
        unsafe {
            let stg = stage.as_ptr();
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    rndnu_blocks_asm!($eor, $out, a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, a_xor, r, sstep, stg)
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR
    }
}

kernel_fn! {
    /// The one-`asm!` whole blocks of [`whole_blocks`] storing the i32 accumulators (rows
    /// unzipped, one `st1` of four vectors per row and block) for the i32 entries; returns how
    /// many columns it stored.
    ///
    /// # Safety
    /// `a` holds `taps · 4` row pointers readable for `kc` bytes, the packed blocks and biases
    /// as in [`crate::ukernel::IgemmFp32Fn`], `out` writable for 4 rows of `ncols` i32 (stride
    /// `out_stride` elements); inlined into a function with FEAT_I8MM.
    #[inline(always)]
    fast_i32 whole_blocks_i32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let Some((n16, g, nb)) = super::whole_shape::<MR, NR, 16, 8>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        // SAFETY: as in `whole_blocks` for the reads; it writes 16 i32 per row and block at
        // out + m · out_stride (the call's rows and columns: nb · 16 <= ncols).
        unsafe {
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $tl:tt) => {
                    blocks_asm!($eor, i32_epilogue!(), a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, a_xor, [])
                };
            }
            i32_variant!(run, a_xor != 0, g > 0);
        }
        nb * NR
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
