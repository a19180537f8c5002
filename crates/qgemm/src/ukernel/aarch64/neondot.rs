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

use super::out::{bytes16, cols, store16, store_i32};
use crate::ukernel::load_tail;
use core::arch::aarch64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

super::dot_kernel!(igemm_4x8c4__neondot, inner_sdot, "neon,dotprod", "sdot");

/// Rows per tile of `igemm_4x16c4__neondot`.
pub const MR_4X16: usize = 4;
/// Columns per tile of `igemm_4x16c4__neondot`.
pub const NR_4X16: usize = 16;

tile_entries! {
    block_4x16, NR_4X16, MR_4X16, fast = (whole_blocks, whole_blocks_rndnu, whole_blocks_i32),
    /// `igemm_4x16c4__neondot`: 4 rows × 16 columns, `c4` packing (`NR = 16`, `KR = 4`: a k-group
    /// is 64 bytes, four vectors of 4 columns × 4 channels), the class of XNNPACK's
    /// `4x16c4 neondot ld128` kernels: each row's activations are loaded 16 bytes (4 k-groups) at a
    /// time and used by lane (`sdot vd.4s, vw.16b, va.4b[g]`); per 16 channels the k-loop (one
    /// `asm!` block) runs 4 `ldr q` + 8 `ldp q` + 64 `sdot` (+ 4 `eor` for the `a'' = a' ^ 0x80`
    /// shift when the kernel's xor is not 0); the channels past the last multiple of 16 run after
    /// the loop, one k-group at a time. See [`crate::ukernel::IgemmFn`] for the contract.
    ///
    /// The `Fp32` entry runs full tiles (4 rows, whole 16-channel steps, 16-column blocks) in
    /// one `asm!` block per call (`whole_blocks`): every column block's accumulators start
    /// from the bias, run the k-loop, are requantized in registers and stored as 16 bytes per
    /// row, without leaving the block (about 110 instructions per block besides the k-loop).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
    /// with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    igemm_4x16c4__neondot,
    /// `igemm_4x16c4__neondot` with the `Fp32` requantization (per tensor or per channel) fused
    /// into its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
    /// with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    igemm_4x16c4_fp32__neondot,
    /// The strided-A form of `igemm_4x16c4_fp32__neondot` (plain GEMM, many row blocks per
    /// call): see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
    /// with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    gemm_4x16c4_fp32__neondot,
    /// The strided-A form of `igemm_4x16c4__neondot` with i32 output over many blocks: see
    /// [`crate::ukernel::GemmI32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmI32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`, on a CPU
    /// with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    gemm_4x16c4_i32__neondot,
    /// `igemm_4x16c4_fp32__neondot` with the `Rndnu` form of the stage instead (`q.rndnu` set:
    /// sqshl, sqdmulh, srshl on the accumulators; [`crate::ukernel::Kernels::run_rndnu`]).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`,
    /// `q.rndnu` set on a CPU with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    igemm_4x16c4_rndnu__neondot,
    /// The strided-A form of `igemm_4x16c4_rndnu__neondot`: see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`, `q.rndnu`
    /// set on a CPU with FEAT_DotProd.
    #[target_feature(enable = "neon,dotprod")]
    gemm_4x16c4_rndnu__neondot,
}

kernel_fn! {
    /// One 4 × 16 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
    /// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
    ///
    /// # Safety
    /// As [`igemm_4x16c4__neondot`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements);
    /// with `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries. Inlined into the
    /// entries, whose `#[target_feature]` its `sdot`s assemble under (a call per 16-column block
    /// cost ~45 instructions: the callee-saved registers and the arguments).
    #[inline(always)]
    tile block_4x16[const FUSED: bool, const RNDNU: bool](mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out, out_stride) {
        // SAFETY: bias holds NR i32; the packed block holds taps · ceil(kc / 4) groups of 64 bytes,
        // read in order (16 channels = 256 bytes per loop iteration, then one group per tail
        // step); each row pointer is read for exactly its kc bytes (16 per iteration while 16
        // remain, then `row_tail` reads the rest); `out` as the caller states.
        unsafe {
            let bv: [int32x4_t; 4] = core::array::from_fn(|j| vld1q_s32(bias.add(4 * j)));
            let mut c = [bv; MR_4X16];
            let xv = vdupq_n_u8(a_xor);
            let n16 = kc / 16;
            let rem = kc % 16;
            let mut wp = w;
            let xor = a_xor != 0;
            if n16 > 0 && rem == 0 {
                // Every tap's channels in whole 16-channel steps: one asm block for all taps.
                kloop16(mr, xor, a, taps, n16, &mut wp, &mut c, xv);
            } else {
                for t in 0..taps {
                    let ap = a.add(t * MR_4X16);
                    if n16 > 0 {
                        kloop16(mr, xor, ap, 1, n16, &mut wp, &mut c, xv);
                    }
                    if rem > 0 {
                        let av: [int8x16_t; 4] =
                            core::array::from_fn(|m| row_tail((*ap.add(m)).add(16 * n16), rem, xv));
                        for g in 0..rem.div_ceil(4) {
                            let b: [int8x16_t; 4] = core::array::from_fn(|j| vld1q_s8(wp.add(16 * j)));
                            wp = wp.add(64);
                            dot_group(g, &av, &b, &mut c);
                        }
                    }
                }
            }
            let [c0, c1, c2, c3] = c;
            // Rows by constant index (a runtime index would put the accumulators in memory).
            if FUSED {
                let s = cols::<4>(q, col, nr, RNDNU);
                let emit = |m: usize, c: &[int32x4_t; 4]| {
                    let v = bytes16(
                        s.requant8(0, c[0], c[1], st),
                        s.requant8(2, c[2], c[3], st),
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

// Assembly lines of the k-loops below (`concat!` expands these eagerly into its literal).

/// Accumulator of row `m` (0..4), columns 4j..4j + 4: v(16 + 4m + j).
#[rustfmt::skip]
macro_rules! acc16 {
    (0 0) => { 16 }; (0 1) => { 17 }; (0 2) => { 18 }; (0 3) => { 19 };
    (1 0) => { 20 }; (1 1) => { 21 }; (1 2) => { 22 }; (1 3) => { 23 };
    (2 0) => { 24 }; (2 1) => { 25 }; (2 2) => { 26 }; (2 3) => { 27 };
    (3 0) => { 28 }; (3 1) => { 29 }; (3 2) => { 30 }; (3 3) => { 31 };
}

/// Weight vector j (columns 4j..4j + 4) of a k-group: the even groups in v4-v7 (`a`), the odd
/// ones in v8-v11 (`b`).
#[rustfmt::skip]
macro_rules! wq {
    (a 0) => { 4 }; (a 1) => { 5 }; (a 2) => { 6 }; (a 3) => { 7 };
    (b 0) => { 8 }; (b 1) => { 9 }; (b 2) => { 10 }; (b 3) => { 11 };
}

/// `sdot` by element: row `$m`'s accumulators j += weight vector j of `$set` · lane `$l` of row
/// `$m`'s activations (v`m`), for each j listed.
macro_rules! sd {
    ($l:tt, $set:tt, $m:tt, [$($j:tt)*]) => {
        concat!($(
            "sdot v", acc16!($m $j), ".4s, v", wq!($set $j), ".16b, v", $m, ".4b[", $l, "]\n",
        )*)
    };
}

/// The 16 `sdot` of lane `$l` (k-group `$l` of the 16 channels, weights in `$set`) for the rows
/// listed, with `$x` and `$y` (the next k-group's `ldp`s, or the loop's `subs`) scheduled after
/// the first two and the first four (one row: after the row's 4) `sdot`s.
macro_rules! lane {
    ($l:tt, $set:tt, [$m0:tt], $x:expr, $y:expr) => {
        concat!(sd!($l, $set, $m0, [0 1]), $x, sd!($l, $set, $m0, [2 3]), $y)
    };
    ($l:tt, $set:tt, [$m0:tt $m1:tt $($m:tt)*], $x:expr, $y:expr) => {
        concat!(
            sd!($l, $set, $m0, [0 1]),
            $x,
            sd!($l, $set, $m0, [2 3]),
            sd!($l, $set, $m1, [0 1]),
            $y,
            sd!($l, $set, $m1, [2 3]),
            $(sd!($l, $set, $m, [0 1 2 3]),)*
        )
    };
}

/// The channel-loop body of [`k16`] for the rows listed: 16 activation bytes per row, the first
/// k-group's weights, the `eor` with v12 (`xor`) or not (`plain`), then the 4 lanes, each
/// loading the next k-group's weights: v4-v7 with two `ldp q`, v8-v11 with one `ld1` of 4
/// vectors (llvm-mca: LLVM 19's Cortex-A76 36 cycles per iteration instead of 39, Cortex-A510
/// 65 instead of 73, Cortex-A55 unchanged; `ld1` for v4-v7 too cost the A55 3 cycles).
macro_rules! k16_body {
    ($eor:tt, [$($m:tt)*]) => {
        concat!(
            $("ldr q", $m, ", [{r", $m, "}], #16\n",)*
            ldpq!(4 5),
            ldpq!(6 7),
            k16_body!(@eor $eor $($m)*),
            lane!(0, a, [$($m)*], ld4q!(8 9 10 11), ""),
            lane!(1, b, [$($m)*], ldpq!(4 5), ldpq!(6 7)),
            lane!(2, a, [$($m)*], ld4q!(8 9 10 11), ""),
            lane!(3, b, [$($m)*], "subs {n}, {n}, #1\n", ""),
        )
    };
    (@eor xor $($m:tt)*) => { concat!($("eor v", $m, ".16b, v", $m, ".16b, v12.16b\n",)*) };
    (@eor plain $($m:tt)*) => { "" };
}

/// `asm!` of one [`k16`] variant ([`kloop_asm`]): `k16_asm!(R, xor | plain, a, taps, n16, wp,
/// c, xv)`; row m's accumulators are v(16 + 4m)..v(19 + 4m) (`c[m]`), its activations v`m`; the
/// weights v4-v11, and the xor in v12 (`xor` only).
macro_rules! k16_asm {
    (1, $($x:tt)*) => {
        k16_asm!(@v12 [r0], [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3]], ["v0"], 1, [0], $($x)*)
    };
    (4, $($x:tt)*) => {
        k16_asm!(@v12 [r0 r1 r2 r3],
            [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3] 1 ["v20" 0 "v21" 1 "v22" 2 "v23" 3]
             2 ["v24" 0 "v25" 1 "v26" 2 "v27" 3] 3 ["v28" 0 "v29" 1 "v30" 2 "v31" 3]],
            ["v0" "v1" "v2" "v3"], 4, [0 1 2 3], $($x)*)
    };
    (@v12 $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, $ms:tt, xor, $a:expr, $t:expr, $n:expr,
        $wp:expr, $c:expr, $xv:expr) => {
        kloop_asm!(k16_body!(xor, $ms), $rows, 32, n16 = $n, a = $a, t = $t, w = $wp, $r, [],
            $c, $acc, [$($av)* "v4" "v5" "v6" "v7" "v8" "v9" "v10" "v11"], [in("v12") $xv,])
    };
    (@v12 $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, $ms:tt, plain, $a:expr, $t:expr, $n:expr,
        $wp:expr, $c:expr, $xv:expr) => {
        kloop_asm!(k16_body!(plain, $ms), $rows, 32, n16 = $n, a = $a, t = $t, w = $wp, $r, [],
            $c, $acc, [$($av)* "v4" "v5" "v6" "v7" "v8" "v9" "v10" "v11"], [])
    };
}

/// The 16-channel k-loop of `igemm_4x16c4__neondot` for the first `R` rows (1 or 4) over
/// `taps` taps in one `asm!` block with fixed registers: per tap, the row pointers from `a`
/// (the tap's 4 pointers are 32 bytes apart), then `n16` iterations of 16 channels: v0..v(R-1)
/// 16 activation bytes per row (`ldr q`, `eor` with v12 when `XOR`), the 4 k-groups' weights
/// (4 columns × 4 channels per vector) in v4-v7 / v8-v11 (`ldp q`, the next group's loaded
/// while the current one is used), `16 R` `sdot` by element into v16.. (row m, columns
/// 4j..4j + 4: v(16 + 4m + j)). Rows `R..` are untouched. The templates are generated by the
/// macros above.
///
/// # Safety
/// FEAT_DotProd; `taps >= 1`, `n16 >= 1`; `a` holds `taps · 4` row pointers, the first `R` of
/// each tap readable for `16 · n16` bytes; `*wp` is readable for `taps · n16 · 256` bytes
/// (advanced past them on return).
#[inline(always)]
unsafe fn k16<const XOR: bool, const R: usize>(
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 4]; MR_4X16],
    xv: uint8x16_t,
) {
    // SAFETY: the reads are the ones the caller guarantees (R pointers per tap, 16 bytes per
    // row and 256 packed bytes per iteration); no memory is written; every register the block
    // changes is an output or declared clobbered; the caller guarantees FEAT_DotProd.
    unsafe {
        if R == 1 && XOR {
            k16_asm!(1, xor, a, taps, n16, wp, c, xv);
        } else if R == 1 && !XOR {
            k16_asm!(1, plain, a, taps, n16, wp, c, xv);
        } else if R == 4 && XOR {
            k16_asm!(4, xor, a, taps, n16, wp, c, xv);
        } else {
            k16_asm!(4, plain, a, taps, n16, wp, c, xv);
        }
    }
}

/// One 4-channel k-group of the rows' tails (the `kc mod 16` channels of the whole-block
/// paths): 4 bytes per row (`ldr s`, `eor` with v12 for `xor`), the group's 4 weight vectors
/// (`ldp q`), 16 `sdot` by lane 0, and the `subs` of the tail loop, as assembly lines.
macro_rules! k4_tail {
    ($eor:tt) => {
        concat!(
            "ldr s0, [{r0}], #4\nldr s1, [{r1}], #4\nldr s2, [{r2}], #4\nldr s3, [{r3}], #4\n",
            ldpq!(4 5),
            ldpq!(6 7),
            k4_tail!(@eor $eor),
            sd!(0, a, 0, [0 1 2 3]),
            sd!(0, a, 1, [0 1 2 3]),
            sd!(0, a, 2, [0 1 2 3]),
            sd!(0, a, 3, [0 1 2 3]),
            "subs {n}, {n}, #1\n",
        )
    };
    (@eor xor) => {
        "eor v0.8b, v0.8b, v12.8b\neor v1.8b, v1.8b, v12.8b\neor v2.8b, v2.8b, v12.8b\neor v3.8b, v3.8b, v12.8b\n"
    };
    (@eor plain) => { "" };
}

/// The i32 epilogue of [`whole_blocks_i32`]: each row's 16 sums stored with one `st1` of four
/// vectors to `{o<m>}` (advanced by 64 bytes), as assembly lines.
macro_rules! i32_epilogue {
    () => {
        concat!(
            "st1 {{v16.4s, v17.4s, v18.4s, v19.4s}}, [{o0}], #64\n",
            "st1 {{v20.4s, v21.4s, v22.4s, v23.4s}}, [{o1}], #64\n",
            "st1 {{v24.4s, v25.4s, v26.4s, v27.4s}}, [{o2}], #64\n",
            "st1 {{v28.4s, v29.4s, v30.4s, v31.4s}}, [{o3}], #64\n",
        )
    };
}

/// The tap loop of [`blocks_asm`]: `tail` ([`tap_loop_tail`]: 16-channel steps, maybe none,
/// then `{g}` k-group steps) or `notail` ([`tap_loop`]: at least one 16-channel step; `{g}`
/// is 0 and only named in a comment, 3 instructions per tap fewer).
macro_rules! blocks_loop {
    (tail, $eor:tt) => { tap_loop_tail!(4, 32, k16_body!($eor, [0 1 2 3]), k4_tail!($eor)) };
    (notail, $eor:tt) => { concat!("/* {g} */\n", tap_loop!(4, 32, "n16", k16_body!($eor, [0 1 2 3]))) };
}

/// The `asm!` of [`whole_blocks`] and [`whole_blocks_i32`]: `blocks_asm!(xor | plain, epilogue
/// lines, operands…, [named operands of the epilogue], [its register operands])`. Per 16-column
/// block: the accumulators from the bias, the k-loop of `k16_body` over the taps, then the
/// epilogue, which stores the block through `{o0}`..`{o3}`; v0-v11 are free there, v13-v15
/// unless the epilogue uses them.
macro_rules! blocks_asm {
    ($eor:tt, $epi:expr, $a:expr, $taps:expr, ($n16:expr, $g:expr, $tl:tt), $w:expr, $bias:expr,
        [$o0:expr, $o1:expr, $o2:expr, $o3:expr], $nb:expr, $xv:expr, [$($named:tt)*],
        [$($regs:tt)*]) => {
        core::arch::asm!(
            "5:\n",
            "ldp q16, q17, [{bias}]\n",
            "ldp q18, q19, [{bias}, #32]\n",
            "ldp q20, q21, [{bias}]\n",
            "ldp q22, q23, [{bias}, #32]\n",
            "ldp q24, q25, [{bias}]\n",
            "ldp q26, q27, [{bias}, #32]\n",
            "ldp q28, q29, [{bias}]\n",
            "ldp q30, q31, [{bias}, #32]\n",
            "add {bias}, {bias}, #64\n",
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
            $($named)*
            in("v12") $xv,
            $($regs)*
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _,
            out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            options(nostack),
        )
    };
}

/// [`blocks_asm`] with the `Fp32` epilogue: the block's 16 scales into v8-v11 from `{sc}`
/// (advanced by `{sstep}`), then [`super::fp32_asm`] with the zero point in v13 and the clamps in
/// v14/v15 (the registers the k-loop leaves alone), for the output type `$out`.
macro_rules! fp32_blocks_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:tt, $w:expr, $bias:expr, $o:tt, $nb:expr,
        $xv:expr, $sc:expr, $sstep:expr, $st:expr) => {
        blocks_asm!(
            $eor,
            concat!(
                "ldp q8, q9, [{sc}]\n",
                "ldp q10, q11, [{sc}, #32]\n",
                "add {sc}, {sc}, {sstep}\n",
                fp32_asm!([[16 17 18 19] => "o0", [20 21 22 23] => "o1",
                    [24 25 26 27] => "o2", [28 29 30 31] => "o3"], [8 9 10 11], 13, 14, 15, $out),
            ),
            $a, $taps, $n16, $w, $bias, $o, $nb, $xv,
            [sc = inout(reg) $sc => _, sstep = in(reg) $sstep,],
            [in("v13") $st.zp, in("v14") $st.min, in("v15") $st.max,]
        )
    };
}

/// [`blocks_asm`] with the `Rndnu` epilogue ([`super::rndnu_asm`]) for the output type `$out`:
/// the block's 16 multipliers, `sqshl` and `srshl` counts into v0-v3, v4-v7, v8-v11 (`ld1` from
/// `{rm}`, `{rp}`, `{rq}`, each advanced by `{sstep}`), the stage in v13-v15 as for `Fp32`.
macro_rules! rndnu_blocks_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:tt, $w:expr, $bias:expr, $o:tt, $nb:expr,
        $xv:expr, $r:expr, $sstep:expr, $st:expr) => {
        blocks_asm!(
            $eor,
            concat!(
                "ld1 {{v0.4s, v1.4s, v2.4s, v3.4s}}, [{rm}], {sstep}\n",
                "ld1 {{v4.4s, v5.4s, v6.4s, v7.4s}}, [{rp}], {sstep}\n",
                "ld1 {{v8.4s, v9.4s, v10.4s, v11.4s}}, [{rq}], {sstep}\n",
                rndnu_asm!([[16 17 18 19] => "o0", [20 21 22 23] => "o1",
                    [24 25 26 27] => "o2", [28 29 30 31] => "o3"], [0 1 2 3], [4 5 6 7],
                    [8 9 10 11], 13, 14, 15, $out),
            ),
            $a, $taps, $n16, $w, $bias, $o, $nb, $xv,
            [rm = inout(reg) $r[0] => _, rp = inout(reg) $r[1] => _,
             rq = inout(reg) $r[2] => _, sstep = in(reg) $sstep,],
            [in("v13") $st.zp, in("v14") $st.min, in("v15") $st.max,]
        )
    };
}

kernel_fn! {
    /// The whole-block part of `igemm_4x16c4_fp32__neondot` (and its strided form): for calls of
    /// [`super::whole_shape`], the first `ncols / 16` column blocks in one `asm!` block
    /// ([`fp32_blocks_asm`]: the k-loop of [`k16`], then the `Fp32` stage of [`super::out`] in
    /// registers (`q.rndnu` unset; [`whole_blocks_rndnu`] with [`rndnu_blocks_asm`] takes the
    /// `Rndnu` form); one `str q` per row); returns how many columns it stored (0 for other calls).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 16`, `KR = 4`;
    /// inlined into a function with FEAT_DotProd.
    #[inline(always)]
    fast_fp32 whole_blocks(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n16, g, nb)) =
            super::whole_shape::<MR_4X16, NR_4X16, 16, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let scales = super::ColConsts::<f32, NR_4X16, 1>::scales(q);
        let ([sc], sstep) = scales.ptrs_step();
        // SAFETY: the asm reads, per block, the NR biases (then advances 64 bytes), taps · 4
        // row pointers at `a` and kc bytes of each row, the block's taps · kc · 16 packed bytes
        // (the next block follows: w_stride is one block), 16 scales (channel scales: the
        // call's columns, which the contract says are there; per tensor: `scales`, not
        // advanced); it writes 16 bytes per row and block at out + m · out_stride (the call's
        // rows and columns, nb · 16 <= ncols). Every register it changes is an output or
        // clobbered; no stack; the caller's function enables FEAT_DotProd.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    fp32_blocks_asm!($eor, $out, a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, xv, sc, sstep, st)
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR_4X16
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
        let Some((n16, g, nb)) =
            super::whole_shape::<MR_4X16, NR_4X16, 16, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let Some(rn) = &q.rndnu else {
            return 0;
        };
        let cols = super::ColConsts::<i32, NR_4X16, 3>::rndnu(rn);
        let (r, sstep) = cols.ptrs_step();
        // SAFETY: as in the `Fp32` form, with 16 constants of each kind per block read from the three
        // pointers (channel constants: the call's columns; per tensor: `cols`, not
        // advanced) instead of the scales.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    rndnu_blocks_asm!($eor, $out, a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, xv, r, sstep, st)
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR_4X16
    }
}

kernel_fn! {
    /// The one-`asm!` whole blocks of [`whole_blocks`] storing the i32 accumulators (one `st1`
    /// of four vectors per row and block) for the i32 entries; returns how many columns it
    /// stored.
    ///
    /// # Safety
    /// `a` holds `taps · 4` row pointers readable for `kc` bytes, the packed blocks and biases
    /// as in [`crate::ukernel::IgemmFp32Fn`], `out` writable for 4 rows of `ncols` i32 (stride
    /// `out_stride` elements); inlined into a function with FEAT_DotProd.
    #[inline(always)]
    fast_i32 whole_blocks_i32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let Some((n16, g, nb)) =
            super::whole_shape::<MR_4X16, NR_4X16, 16, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        // SAFETY: as in `whole_blocks` for the reads; it writes 16 i32 per row and block at
        // out + m · out_stride (the call's rows and columns: nb · 16 <= ncols).
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let [o0, o1, o2, o3] = super::rows4(out, out_stride);
            macro_rules! run {
                ($eor:tt, $tl:tt) => {
                    blocks_asm!($eor, i32_epilogue!(), a, taps, (n16, g, $tl), w, bias,
                        [o0, o1, o2, o3], nb, xv, [], [])
                };
            }
            i32_variant!(run, a_xor != 0, g > 0);
        }
        nb * NR_4X16
    }
}

/// `sdot` by element with named operands: `{c<m><j>}` += `{b<j>}` · lane `$l` of `{a<m>}`, for
/// each (m, j) pair listed.
macro_rules! sd_named {
    ($l:tt; $($m:tt $j:tt),*) => {
        concat!($(
            "sdot {c", $m, $j, ":v}.4s, {b", $j, ":v}.16b, {a", $m, ":v}.4b[", $l, "]\n",
        )*)
    };
}

/// The `asm!` of [`dot_group`] for lane `$l`: rows 0-3 × weight vectors 0-3.
macro_rules! dot_group_asm {
    ($l:tt, $av:expr, $b:expr, $c:expr) => {
        core::arch::asm!(
            sd_named!($l; 0 0, 0 1, 0 2, 0 3, 1 0, 1 1, 1 2, 1 3,
                2 0, 2 1, 2 2, 2 3, 3 0, 3 1, 3 2, 3 3),
            a0 = in(vreg) $av[0],
            a1 = in(vreg) $av[1],
            a2 = in(vreg) $av[2],
            a3 = in(vreg) $av[3],
            b0 = in(vreg) $b[0],
            b1 = in(vreg) $b[1],
            b2 = in(vreg) $b[2],
            b3 = in(vreg) $b[3],
            c00 = inout(vreg) $c[0][0],
            c01 = inout(vreg) $c[0][1],
            c02 = inout(vreg) $c[0][2],
            c03 = inout(vreg) $c[0][3],
            c10 = inout(vreg) $c[1][0],
            c11 = inout(vreg) $c[1][1],
            c12 = inout(vreg) $c[1][2],
            c13 = inout(vreg) $c[1][3],
            c20 = inout(vreg) $c[2][0],
            c21 = inout(vreg) $c[2][1],
            c22 = inout(vreg) $c[2][2],
            c23 = inout(vreg) $c[2][3],
            c30 = inout(vreg) $c[3][0],
            c31 = inout(vreg) $c[3][1],
            c32 = inout(vreg) $c[3][2],
            c33 = inout(vreg) $c[3][3],
            options(pure, nomem, nostack),
        )
    };
}

/// One k-group (`g`, 0..4, the lane of the activation vectors) of the channels past the last
/// multiple of 16: 16 `sdot` by element, all 4 rows.
#[inline(always)]
fn dot_group(g: usize, av: &[int8x16_t; 4], b: &[int8x16_t; 4], c: &mut [[int32x4_t; 4]; MR_4X16]) {
    // SAFETY: register-only instructions; the caller's function enables FEAT_DotProd (this
    // is inlined into `block_4x16`).
    unsafe {
        match g {
            0 => dot_group_asm!(0, av, b, c),
            1 => dot_group_asm!(1, av, b, c),
            2 => dot_group_asm!(2, av, b, c),
            _ => dot_group_asm!(3, av, b, c),
        }
    }
}

/// [`k16`] for the rows a tile of `mr` rows needs: 1 or all 4.
///
/// # Safety
/// As [`k16`] with `R` rows, `mr >= 1`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn kloop16(
    mr: usize,
    xor: bool,
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; 4]; MR_4X16],
    xv: uint8x16_t,
) {
    // SAFETY: the caller's contract; each variant reads its first R <= 4 rows of each tap.
    unsafe {
        match (mr, xor) {
            (1, true) => k16::<true, 1>(a, taps, n16, wp, c, xv),
            (1, false) => k16::<false, 1>(a, taps, n16, wp, c, xv),
            (_, true) => k16::<true, 4>(a, taps, n16, wp, c, xv),
            (_, false) => k16::<false, 4>(a, taps, n16, wp, c, xv),
        }
    }
}
