//! `igemm_4x8c4__neon`: 4 rows × 8 columns; activations and weights widened to i16, then
//! `smlal` by lane into i32 (exact: |a'·w'| <= 255·128).
//!
//! The ARMv8.0 baseline; the dot-product kernels are in `neondot.rs` (SDOT, with the `a' − 128`
//! shift) and `i8mm.rs` (SUDOT, USMMLA).
#![allow(non_snake_case)]

use super::super::load4;
use super::out::{bytes8, cols, store8, store_i32};
use core::arch::aarch64::*;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

kernel_fn! {
    /// See [`super::super::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`super::super::IgemmFn`] with `MR = 4`, `NR = 8` (NEON is baseline).
    pub igemm igemm_4x8c4__neon(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
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
}

/// Rows per tile of `igemm_8x8c4__neon`.
pub const MR_8X8: usize = 8;
/// Columns per tile of `igemm_8x8c4__neon`.
pub const NR_8X8: usize = 8;

tile_entries! {
    tile_8x8, NR_8X8, MR_8X8, fast = (whole_blocks_8x8, whole_blocks_8x8_rndnu, whole_blocks_8x8_i32),
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
    igemm_8x8c4__neon,
    /// `igemm_8x8c4__neon` with the `Fp32` requantization (per tensor or per channel) fused into
    /// its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`.
    igemm_8x8c4_fp32__neon,
    /// The strided-A form of `igemm_8x8c4_fp32__neon` (plain GEMM, many row blocks per call):
    /// see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`.
    gemm_8x8c4_fp32__neon,
    /// The strided-A form of `igemm_8x8c4__neon` with i32 output over many blocks: see
    /// [`crate::ukernel::GemmI32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmI32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`.
    gemm_8x8c4_i32__neon,
    /// `igemm_8x8c4_fp32__neon` with the `Rndnu` form of the stage instead (`q.rndnu` set: sqshl,
    /// sqdmulh, srshl on the accumulators; [`crate::ukernel::Kernels::run_rndnu`]).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`, `q.rndnu`
    /// set.
    igemm_8x8c4_rndnu__neon,
    /// The strided-A form of `igemm_8x8c4_rndnu__neon`: see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`, `q.rndnu`
    /// set.
    gemm_8x8c4_rndnu__neon,
}

kernel_fn! {
    /// [`block_8x8`] with `XOR` chosen from `a_xor` (a kernel without the xor when it is 0).
    ///
    /// # Safety
    /// As [`block_8x8`].
    #[inline(always)]
    tile tile_8x8[const FUSED: bool, const RNDNU: bool](mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out,
        out_stride) {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            if a_xor == 0 {
                block_8x8::<false, FUSED, RNDNU>(mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out,
                    out_stride)
            } else {
                block_8x8::<true, FUSED, RNDNU>(mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out,
                    out_stride)
            }
        }
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

kernel_fn! {
    /// One 8 × 8 tile: accumulate, then store i32 (`FUSED = false`, `out` is an `*mut i32` cast,
    /// `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr` of `q`).
    /// `XOR`: whether `a_xor` is not 0.
    ///
    /// # Safety
    /// As [`igemm_8x8c4__neon`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements); with
    /// `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
    #[inline(always)]
    tile block_8x8[const XOR: bool, const FUSED: bool, const RNDNU: bool](mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out, out_stride) {
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
                cols::<2>(q, col, nr, RNDNU)
            } else {
                super::out::Cols::Fp32([vdupq_n_f32(0.0); 2])
            };
            // Rows by constant index (a runtime index would put the accumulators in memory).
            macro_rules! emit {
                ($($m:literal)*) => {$(
                    if $m < mr {
                        if FUSED {
                            let v = bytes8(s.requant8(0, c[$m][0], c[$m][1], st), st);
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
}

// Assembly lines of the k-loops below (`concat!` expands these eagerly into its literal).

/// Accumulators of row `m` (0..8): `lo` columns 0-3 in v(16 + 2m), `hi` columns 4-7 in
/// v(17 + 2m).
#[rustfmt::skip]
macro_rules! acc8 {
    (lo 0) => { 16 }; (hi 0) => { 17 }; (lo 1) => { 18 }; (hi 1) => { 19 };
    (lo 2) => { 20 }; (hi 2) => { 21 }; (lo 3) => { 22 }; (hi 3) => { 23 };
    (lo 4) => { 24 }; (hi 4) => { 25 }; (lo 5) => { 26 }; (hi 5) => { 27 };
    (lo 6) => { 28 }; (hi 6) => { 29 }; (lo 7) => { 30 }; (hi 7) => { 31 };
}

/// `smlal` + `smlal2`: row m's accumulators += the i16 weights of channel vector v`$w` (both
/// column halves) × lane `$l` of row m's activations (v`m`), for each row m listed.
macro_rules! mac {
    ($w:tt, $l:tt, [$($m:tt)*]) => {
        concat!($(
            "smlal v", acc8!(lo $m), ".4s, v", $w, ".4h, v", $m, ".h[", $l, "]\n",
            "smlal2 v", acc8!(hi $m), ".4s, v", $w, ".8h, v", $m, ".h[", $l, "]\n",
        )*)
    };
}

/// [`mac`] for each (weight vector, lane) pair listed, over the same rows.
macro_rules! macs {
    ([$($w:tt $l:tt),*], $rows:tt) => {
        concat!($(mac!($w, $l, $rows),)*)
    };
}

/// One line per register listed: `$pre`, the number, `$mid`, the number, `$post`.
macro_rules! each {
    ($pre:literal, $mid:literal, $post:literal; $($m:tt)*) => {
        concat!($($pre, $m, $mid, $m, $post, "\n",)*)
    };
}

/// `ld4` of one packed k-group (32 bytes at `{w}`, advanced) into four channel vectors.
macro_rules! ld4 {
    ($a:tt $b:tt $c:tt $d:tt) => {
        concat!(
            "ld4 {{v",
            $a,
            ".8b, v",
            $b,
            ".8b, v",
            $c,
            ".8b, v",
            $d,
            ".8b}}, [{w}], #32\n"
        )
    };
}

/// The start of every channel-loop body: the first k-group's weights (v8-v11), 8 activation
/// bytes of each row listed (`ldr d`, the `eor` with v12 when `xor`, `uxtl`), the weights'
/// `sxtl`.
macro_rules! k8_head {
    ($eor:tt [$($m:tt)*]) => {
        concat!(
            ld4!(8 9 10 11),
            each!("ldr d", ", [{r", "}], #8"; $($m)*),
            k8_head!(@eor $eor $($m)*),
            each!("uxtl v", ".8h, v", ".8b"; $($m)*),
            each!("sxtl v", ".8h, v", ".8b"; 8 9 10 11),
        )
    };
    (@eor xor $($m:tt)*) => { each!("eor v", ".8b, v", ".8b, v12.8b"; $($m)*) };
    (@eor plain $($m:tt)*) => { "" };
}

/// The channel-loop body with the kernel's xor (v12 holds it): both k-groups through v8-v11,
/// the same schedule for every row count.
macro_rules! k8_body_xor {
    ($rows:tt) => {
        concat!(
            k8_head!(xor $rows),
            macs!([8 0, 9 1, 10 2, 11 3], $rows),
            ld4!(8 9 10 11),
            each!("sxtl v", ".8h, v", ".8b"; 8 9 10 11),
            "subs {n}, {n}, #1\n",
            macs!([8 4, 9 5, 10 6, 11 7], $rows),
        )
    };
}

/// The 8-row channel-loop body: `xor` ([`k8_body_xor`]) or `plain`, where the second k-group's
/// `ld4` into v12-v15 and its `sxtl`s are interleaved with the first group's `smlal`s.
macro_rules! k8_body_8 {
    (xor) => {
        k8_body_xor!([0 1 2 3 4 5 6 7])
    };
    (plain) => {
        concat!(
            k8_head!(plain [0 1 2 3 4 5 6 7]),
            mac!(8, 0, [0]),
            ld4!(12 13 14 15),
            mac!(8, 0, [1 2 3 4]),
            each!("sxtl v", ".8h, v", ".8b"; 12),
            mac!(8, 0, [5]),
            each!("sxtl v", ".8h, v", ".8b"; 13),
            mac!(8, 0, [6]),
            each!("sxtl v", ".8h, v", ".8b"; 14),
            mac!(8, 0, [7]),
            each!("sxtl v", ".8h, v", ".8b"; 15),
            mac!(9, 1, [0]),
            "subs {n}, {n}, #1\n",
            mac!(9, 1, [1 2 3 4 5 6 7]),
            macs!([10 2, 11 3, 12 4, 13 5, 14 6, 15 7], [0 1 2 3 4 5 6 7]),
        )
    };
}

/// `asm!` of one [`k8`] variant ([`kloop_asm`]): `k8_asm!(R, xor | plain, a, taps, n8, wp, c,
/// xv, body)` with the channel-loop template `body`; row m's accumulators are v(16 + 2m),
/// v(17 + 2m) (`c[m]`), its activations v`m`; the weights v8-v11, then v12: the xor (`xor`) or,
/// with v13-v15, the second k-group's weights (`plain`).
macro_rules! k8_asm {
    (1, $($x:tt)*) => {
        k8_asm!(@v12 [r0], [0 ["v16" 0 "v17" 1]], ["v0"], 1, $($x)*)
    };
    (4, $($x:tt)*) => {
        k8_asm!(@v12 [r0 r1 r2 r3],
            [0 ["v16" 0 "v17" 1] 1 ["v18" 0 "v19" 1] 2 ["v20" 0 "v21" 1] 3 ["v22" 0 "v23" 1]],
            ["v0" "v1" "v2" "v3"], 4, $($x)*)
    };
    (8, $($x:tt)*) => {
        k8_asm!(@v12 [r0 r1 r2 r3 r4 r5 r6 r7],
            [0 ["v16" 0 "v17" 1] 1 ["v18" 0 "v19" 1] 2 ["v20" 0 "v21" 1] 3 ["v22" 0 "v23" 1]
             4 ["v24" 0 "v25" 1] 5 ["v26" 0 "v27" 1] 6 ["v28" 0 "v29" 1] 7 ["v30" 0 "v31" 1]],
            ["v0" "v1" "v2" "v3" "v4" "v5" "v6" "v7"], 8, $($x)*)
    };
    (@v12 $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, xor, $a:expr, $t:expr, $n8:expr, $wp:expr,
        $c:expr, $xv:expr, $body:expr) => {
        kloop_asm!($body, $rows, 64, n8 = $n8, a = $a, t = $t, w = $wp, $r, [], $c, $acc,
            [$($av)* "v8" "v9" "v10" "v11"], [in("v12") $xv,])
    };
    (@v12 $r:tt, $acc:tt, [$($av:tt)*], $rows:tt, plain, $a:expr, $t:expr, $n8:expr, $wp:expr,
        $c:expr, $xv:expr, $body:expr) => {
        kloop_asm!($body, $rows, 64, n8 = $n8, a = $a, t = $t, w = $wp, $r, [], $c, $acc,
            [$($av)* "v8" "v9" "v10" "v11" "v12" "v13" "v14" "v15"], [])
    };
}

/// The 8-channel k-loop of `igemm_8x8c4__neon` for the first `R` rows (1, 4 or 8) over `taps`
/// taps in one `asm!` block with fixed registers (as intrinsics, LLVM spilled accumulators and
/// activations to the stack): per tap, the row pointers from `a` (`ldp`; the tap's `MR`
/// pointers are 64 bytes apart), then `n8` iterations of 8 channels: v0..v(R-1) the rows' 8
/// activations (`ldr d`, `eor` with v12 when `XOR`, `uxtl` to u16), two `ld4` k-groups (one
/// vector per channel, 8 columns; `sxtl` to i16), `16 R` `smlal`/`smlal2` by lane into v16..
/// (row m: v(16 + 2m) columns 0-3, v(17 + 2m) columns 4-7). Rows `R..` are untouched. With
/// `XOR` both k-groups use v8-v11 (v12 holds the xor); without, the second k-group's `ld4` into
/// v12-v15 and its `sxtl`s are interleaved with the first group's `smlal`s (a schedule per row
/// count, tuned for in-order cores). The templates are generated by the macros above.
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
            k8_asm!(1, xor, a, taps, n8, wp, c, xv, k8_body_xor!([0]));
        } else if R == 1 && !XOR {
            k8_asm!(
                1,
                plain,
                a,
                taps,
                n8,
                wp,
                c,
                xv,
                concat!(
                    k8_head!(plain[0]),
                    mac!(8, 0, [0]),
                    ld4!(12 13 14 15),
                    macs!([9 1, 10 2, 11 3], [0]),
                    each!("sxtl v", ".8h, v", ".8b"; 12 13 14 15),
                    "subs {n}, {n}, #1\n",
                    macs!([12 4, 13 5, 14 6, 15 7], [0]),
                )
            );
        } else if R == 4 && XOR {
            k8_asm!(4, xor, a, taps, n8, wp, c, xv, k8_body_xor!([0 1 2 3]));
        } else if R == 4 && !XOR {
            k8_asm!(
                4,
                plain,
                a,
                taps,
                n8,
                wp,
                c,
                xv,
                concat!(
                    k8_head!(plain [0 1 2 3]),
                    mac!(8, 0, [0]),
                    ld4!(12 13 14 15),
                    mac!(8, 0, [1 2 3]),
                    mac!(9, 1, [0]),
                    each!("sxtl v", ".8h, v", ".8b"; 12),
                    mac!(9, 1, [1]),
                    each!("sxtl v", ".8h, v", ".8b"; 13),
                    mac!(9, 1, [2]),
                    each!("sxtl v", ".8h, v", ".8b"; 14),
                    mac!(9, 1, [3]),
                    each!("sxtl v", ".8h, v", ".8b"; 15),
                    mac!(10, 2, [0]),
                    "subs {n}, {n}, #1\n",
                    mac!(10, 2, [1 2 3]),
                    macs!([11 3, 12 4, 13 5, 14 6, 15 7], [0 1 2 3]),
                )
            );
        } else if XOR {
            k8_asm!(
                8,
                xor,
                a,
                taps,
                n8,
                wp,
                c,
                xv,
                k8_body_xor!([0 1 2 3 4 5 6 7])
            );
        } else {
            k8_asm!(8, plain, a, taps, n8, wp, c, xv, k8_body_8!(plain));
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

/// One 4-channel k-group of the 8 rows (the `kc mod 8 = 4` channels of [`whole_blocks_8x8`]'s
/// taps): 4 bytes per row (`ldr s`, `eor` with v12 for `xor`, `uxtl`), the group's `ld4` into
/// v8-v11 and their `sxtl`, 64 `smlal`/`smlal2` by lanes 0-3, as assembly lines.
macro_rules! k4_tail_8x8 {
    ($eor:tt) => {
        concat!(
            ld4!(8 9 10 11),
            each!("ldr s", ", [{r", "}], #4"; 0 1 2 3 4 5 6 7),
            k8_head!(@eor $eor 0 1 2 3 4 5 6 7),
            each!("uxtl v", ".8h, v", ".8b"; 0 1 2 3 4 5 6 7),
            each!("sxtl v", ".8h, v", ".8b"; 8 9 10 11),
            macs!([8 0, 9 1, 10 2, 11 3], [0 1 2 3 4 5 6 7]),
        )
    };
}

/// The tap loop of [`blocks_8x8_asm`]: `notail` ([`tap_loop`]: `{n8}` >= 1 steps of 8
/// channels per tap) or `tail` (per tap `{n8}` steps, maybe none, then one 4-channel group,
/// [`k4_tail_8x8`]), as assembly lines (labels 2, 3, 6).
macro_rules! blocks_8x8_loop {
    (notail, $eor:tt) => {
        tap_loop!(8, 64, "n8", k8_body_8!($eor))
    };
    (tail, $eor:tt) => {
        concat!(
            "3:\n",
            row_ptrs!(8),
            "add {a}, {a}, #64\nmov {n}, {n8}\ncbz {n}, 6f\n2:\n",
            k8_body_8!($eor),
            "b.ne 2b\n6:\n",
            k4_tail_8x8!($eor),
            "subs {t}, {t}, #1\nb.ne 3b\n"
        )
    };
}

/// The `asm!` of [`whole_blocks_8x8`] and [`whole_blocks_8x8_i32`]: `blocks_8x8_asm!(xor |
/// plain, tail | notail, epilogue lines, operands…, [named operands of the epilogue])`. Per
/// 8-column block: the 16 accumulators from the bias (v16 + 2m, v17 + 2m: row m), the k-loop of
/// [`k8`] over the taps ([`blocks_8x8_loop`]), then the epilogue, which stores the block's 8
/// rows from `{o0}` (row stride `{os}` bytes; `{r0}` is free to walk them) and advances `{o0}`
/// past the block; v0-v11 are free there (v12 holds the xor).
macro_rules! blocks_8x8_asm {
    ($eor:tt, $tl:tt, $epi:expr, $a:expr, $taps:expr, $n8:expr, $w:expr, $bias:expr, $o:expr,
        $os:expr, $nb:expr, $xv:expr, [$($named:tt)*]) => {
        core::arch::asm!(
            "5:\n",
            "ldp q16, q17, [{bias}]\nldp q18, q19, [{bias}]\n",
            "ldp q20, q21, [{bias}]\nldp q22, q23, [{bias}]\n",
            "ldp q24, q25, [{bias}]\nldp q26, q27, [{bias}]\n",
            "ldp q28, q29, [{bias}]\nldp q30, q31, [{bias}]\n",
            "add {bias}, {bias}, #32\n",
            "mov {a}, {a0}\n",
            "mov {t}, {taps}\n",
            blocks_8x8_loop!($tl, $eor),
            $epi,
            "subs {nb}, {nb}, #1\n",
            "b.ne 5b\n",
            a0 = in(reg) $a,
            a = out(reg) _,
            t = out(reg) _,
            taps = in(reg) $taps,
            n8 = in(reg) $n8,
            n = out(reg) _,
            r0 = out(reg) _,
            r1 = out(reg) _,
            r2 = out(reg) _,
            r3 = out(reg) _,
            r4 = out(reg) _,
            r5 = out(reg) _,
            r6 = out(reg) _,
            r7 = out(reg) _,
            w = inout(reg) $w => _,
            bias = inout(reg) $bias => _,
            o0 = inout(reg) $o => _,
            os = in(reg) $os,
            nb = inout(reg) $nb => _,
            $($named)*
            inout("v12") $xv => _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v13") _, out("v14") _, out("v15") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _,
            out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            options(nostack),
        )
    };
}

/// The `Fp32` epilogue of [`whole_blocks_8x8`] for the output type `$out`: the block's 8
/// column scales into v0/v1 (`ld1` from `{sc}`, advanced by `{sstep}`), the stage (zero point
/// v2, clamps v3/v4, from `{stg}`), then [`super::fp32_asm`] on row pairs (one 16-byte result
/// per two rows, stored 8 bytes per row through `{r0}`), as assembly lines.
macro_rules! fp32_epilogue_8x8 {
    ($out:tt) => {
        concat!(
            "ld1 {{v0.4s, v1.4s}}, [{sc}], {sstep}\n",
            "ldp q2, q3, [{stg}]\n",
            "ldr q4, [{stg}, #32]\n",
            "mov {r0}, {o0}\n",
            fp32_asm!([[16 17 18 19] => (rows "r0"), [20 21 22 23] => (rows "r0"),
                [24 25 26 27] => (rows "r0"), [28 29 30 31] => (rows "r0")], [0 1 0 1], 2, 3, 4,
                $out),
            "add {o0}, {o0}, #8\n",
        )
    };
}

/// The `Rndnu` epilogue of [`whole_blocks_8x8`] for the output type `$out`: the block's 8
/// multipliers, `sqshl` and `srshl` counts into v0/v1, v5/v6, v7/v8 (`ld1` from `{rm}`, `{rp}`,
/// `{rq}`, each advanced by `{sstep}`), the stage (v2-v4 from `{stg}`), then
/// [`super::rndnu_asm`] on row pairs as in [`fp32_epilogue_8x8`], as assembly lines.
macro_rules! rndnu_epilogue_8x8 {
    ($out:tt) => {
        concat!(
            "ld1 {{v0.4s, v1.4s}}, [{rm}], {sstep}\n",
            "ld1 {{v5.4s, v6.4s}}, [{rp}], {sstep}\n",
            "ld1 {{v7.4s, v8.4s}}, [{rq}], {sstep}\n",
            "ldp q2, q3, [{stg}]\n",
            "ldr q4, [{stg}, #32]\n",
            "mov {r0}, {o0}\n",
            rndnu_asm!([[16 17 18 19] => (rows "r0"), [20 21 22 23] => (rows "r0"),
                [24 25 26 27] => (rows "r0"), [28 29 30 31] => (rows "r0")], [0 1 0 1],
                [5 6 5 6], [7 8 7 8], 2, 3, 4, $out),
            "add {o0}, {o0}, #8\n",
        )
    };
}

kernel_fn! {
    /// The whole-block part of `igemm_8x8c4_fp32__neon` (and its strided form): for calls of
    /// [`super::whole_shape`] (`kc` a multiple of 4), the first `ncols / 8` column blocks in one
    /// `asm!` block ([`blocks_8x8_asm`]: the bias, the k-loop of [`k8`], a 4-channel group per tap
    /// when `kc mod 8 = 4`, the `Fp32` stage of [`super::out`] in registers (`q.rndnu` unset;
    /// [`whole_blocks_8x8_rndnu`] with [`rndnu_epilogue_8x8`] takes the `Rndnu` form), 8 bytes
    /// stored per row); returns how many columns it stored (0 for other calls). Against the
    /// per-block tile body it saves the call, the spilled stage constants and the per-row stores
    /// with runtime lengths (about 100 instructions per 8 × 8 block).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 8`, `NR = 8`, `KR = 4`.
    #[inline(always)]
    fast_fp32 whole_blocks_8x8(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n8, g, nb)) =
            super::whole_shape::<MR_8X8, NR_8X8, 8, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let scales = super::ColConsts::<f32, NR_8X8, 1>::scales(q);
        let ([sc], sstep) = scales.ptrs_step();
        // SAFETY: the asm reads, per block, the NR biases (advancing 32 bytes), taps · 8 row
        // pointers at `a` and kc bytes of each row (8 per step, 4 in the tail group: kc is a
        // multiple of 4), the block's taps · kc · 8 packed bytes (the next block follows:
        // w_stride is one block), 8 scales (channel scales: the call's columns, which the
        // contract says are there; per tensor: `scales`, not advanced) and the 48 bytes of
        // `stage`; it writes 8 bytes per row and block at out + m · out_stride (the call's
        // rows and columns: nb · 8 <= ncols). Every register it changes is an output or
        // clobbered; no stack; NEON is baseline.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let stg = stage.as_ptr();
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    blocks_8x8_asm!($eor, $tl, fp32_epilogue_8x8!($out), a, taps, n8, w, bias,
                        out, out_stride, nb, xv,
                        [sc = inout(reg) sc => _, sstep = in(reg) sstep, stg = in(reg) stg,])
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR_8X8
    }
}

kernel_fn! {
    /// The `Rndnu` form of [`whole_blocks_8x8`] (its calls with `q.rndnu` set): the same blocks
    /// with the `Rndnu` epilogue; returns how many columns it stored (0 for other calls).
    ///
    /// # Safety
    /// As [`whole_blocks_8x8`], with `q.rndnu` set.
    #[inline(always)]
    fast_fp32 whole_blocks_8x8_rndnu(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n8, g, nb)) =
            super::whole_shape::<MR_8X8, NR_8X8, 8, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let Some(rn) = &q.rndnu else {
            return 0;
        };
        let cols = super::ColConsts::<i32, NR_8X8, 3>::rndnu(rn);
        let (r, sstep) = cols.ptrs_step();
        // SAFETY: as in the `Fp32` form, with 8 constants of each kind per block read from the three
        // pointers (channel constants: the call's columns; per tensor: `cols`, not
        // advanced) instead of the scales.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let stg = stage.as_ptr();
            macro_rules! run {
                ($eor:tt, $out:tt, $tl:tt) => {
                    blocks_8x8_asm!($eor, $tl, rndnu_epilogue_8x8!($out), a, taps, n8, w,
                        bias, out, out_stride, nb, xv,
                        [rm = inout(reg) r[0] => _, rp = inout(reg) r[1] => _,
                         rq = inout(reg) r[2] => _, sstep = in(reg) sstep,
                         stg = in(reg) stg,])
                };
            }
            fp32_variant!(run, a_xor != 0, st.signed, g > 0);
        }
        nb * NR_8X8
    }
}

kernel_fn! {
    /// The one-`asm!` whole blocks of [`whole_blocks_8x8`] storing the i32 sums (one `st1` of
    /// two vectors per row and block) for the i32 entries; returns how many columns it stored.
    ///
    /// # Safety
    /// `a` holds `taps · 8` row pointers readable for `kc` bytes, the packed blocks and biases
    /// as in [`crate::ukernel::IgemmFp32Fn`], `out` writable for 8 rows of `ncols` i32 (stride
    /// `out_stride` elements).
    #[inline(always)]
    fast_i32 whole_blocks_8x8_i32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let Some((n8, g, nb)) =
            super::whole_shape::<MR_8X8, NR_8X8, 8, 4>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        // The row stride in bytes (the rows are inside one allocation, so this cannot wrap).
        let os = out_stride * 4;
        // SAFETY: as in `whole_blocks_8x8` for the reads; it writes 8 i32 per row and block at
        // out + m · out_stride (the call's rows and columns: nb · 8 <= ncols).
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            macro_rules! run {
                ($eor:tt, $tl:tt) => {
                    blocks_8x8_asm!($eor, $tl,
                        concat!(
                            "mov {r0}, {o0}\n",
                            "st1 {{v16.4s, v17.4s}}, [{r0}], {os}\n",
                            "st1 {{v18.4s, v19.4s}}, [{r0}], {os}\n",
                            "st1 {{v20.4s, v21.4s}}, [{r0}], {os}\n",
                            "st1 {{v22.4s, v23.4s}}, [{r0}], {os}\n",
                            "st1 {{v24.4s, v25.4s}}, [{r0}], {os}\n",
                            "st1 {{v26.4s, v27.4s}}, [{r0}], {os}\n",
                            "st1 {{v28.4s, v29.4s}}, [{r0}], {os}\n",
                            "st1 {{v30.4s, v31.4s}}, [{r0}], {os}\n",
                            "add {o0}, {o0}, #32\n",
                        ),
                        a, taps, n8, w, bias, out, os, nb, xv, [])
                };
            }
            i32_variant!(run, a_xor != 0, g > 0);
        }
        nb * NR_8X8
    }
}

// ---------------------------------------------------------------------------------------------
// igemm_2x8c16__neon: 8-bit products into i16 pairs (`smull` + `smlal2`), `sadalp` into i32.
// ---------------------------------------------------------------------------------------------

/// Rows per tile of `igemm_2x8c16__neon`.
pub const MR_2X8: usize = 2;
/// Columns per tile of `igemm_2x8c16__neon`.
pub const NR_2X8: usize = 8;
/// Input channels per packed k-group of `igemm_2x8c16__neon` (`c16`).
pub const KR_2X8: usize = 16;

tile_entries! {
    tile_2x8c16, NR_2X8, MR_2X8, fast = (whole_blocks_2x8, whole_blocks_2x8_rndnu, whole_blocks_2x8_i32),
    /// `igemm_2x8c16__neon`: 2 rows × 8 columns on ARMv8.0 NEON with 8-bit multiplies, the
    /// scheme of XNNPACK's `2x8c16` `neon-mlal` and of ONNX Runtime's MLAS on cores without a dot
    /// product. Per 16 input channels: one `ldr q` (+ `eor`) per row, 128 bytes of weights (the
    /// `c16` packing: each column's 16 channels contiguous, two columns per `ldp`), and per row
    /// and column `smull` + `smlal2` (16 products summed pairwise into 8 i16) and `sadalp` (pairs
    /// into the 4 i32 lanes of the column's accumulator): 3 instructions per 16 MACs, 59 per 256
    /// MACs with the loads and the loop branch (the `c4` `smlal`-by-lane kernel: 164 per 512).
    /// The lanes are reduced with `addp` once per tile.
    ///
    /// The i16 pair sums are exact only for signed activations `a'' = a' − 128` (the plan's xor
    /// has 0x80 folded in, `128·Σw'` is in the bias: `signed_a`) and weights `w' >= −127`:
    /// |a''·w'| <= 128·127, two of them <= 32512. The plan chooses this entry only when every
    /// packed weight satisfies that ([`crate::ukernel::Kernels::w_min`]), and only where the
    /// padding of the 16-channel groups costs little ([`crate::ukernel::Kernels::suits`]).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFn`] with `MR = 2`, `NR = 8`, `KR = 16`; every
    /// packed weight `>= −127`.
    igemm_2x8c16__neon,
    /// `igemm_2x8c16__neon` with the `Fp32` requantization (per tensor or per channel) fused
    /// into its store ([`super::out`]): see [`crate::ukernel::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`;
    /// every packed weight `>= −127`.
    igemm_2x8c16_fp32__neon,
    /// The strided-A form of `igemm_2x8c16_fp32__neon` (plain GEMM, many row blocks per call):
    /// see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`; every
    /// packed weight `>= −127`.
    gemm_2x8c16_fp32__neon,
    /// The strided-A form of `igemm_2x8c16__neon` with i32 output over many blocks: see
    /// [`crate::ukernel::GemmI32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmI32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`; every
    /// packed weight `>= −127`.
    gemm_2x8c16_i32__neon,
    /// `igemm_2x8c16_fp32__neon` with the `Rndnu` form of the stage instead (`q.rndnu` set: sqshl,
    /// sqdmulh, srshl on the accumulators; [`crate::ukernel::Kernels::run_rndnu`]).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`; every
    /// packed weight `>= −127`, `q.rndnu` set.
    igemm_2x8c16_rndnu__neon,
    /// The strided-A form of `igemm_2x8c16_rndnu__neon`: see [`crate::ukernel::GemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::GemmFp32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`; every
    /// packed weight `>= −127`, `q.rndnu` set.
    gemm_2x8c16_rndnu__neon,
}

/// The `n < 16` bytes at `p` in the low lanes of a vector, the rest 0.
///
/// # Safety
/// `p` is readable for `n` bytes.
#[inline(always)]
unsafe fn tail16(p: *const u8, n: usize) -> uint8x16_t {
    // SAFETY: each read stays below n bytes from p.
    unsafe {
        let (lo, hi) = if n >= 8 {
            (
                core::ptr::read_unaligned(p.cast::<u64>()),
                super::super::load_tail(p.add(8), n - 8),
            )
        } else {
            (super::super::load_tail(p, n), 0)
        };
        vcombine_u8(vcreate_u8(lo), vcreate_u8(hi))
    }
}

kernel_fn! {
    /// One 2 × 8 `c16` tile: accumulate, then store i32 (`FUSED = false`, `out` an `*mut i32`
    /// cast, `out_stride` in i32) or requantized bytes (`FUSED = true`, columns `col..col + nr`
    /// of `q`).
    ///
    /// # Safety
    /// As [`igemm_2x8c16__neon`] for `a`, `w`, `bias`, `out` (`mr` rows of `nr` elements); with
    /// `FUSED`, `q`'s channel scales (if any) hold `col + nr` entries.
    #[inline(always)]
    tile tile_2x8c16[const FUSED: bool, const RNDNU: bool](mr, nr, taps, kc, a, a_xor, w, bias, q, col, st, out,
        out_stride) {
        // SAFETY: bias holds NR i32; the packed block holds taps · ceil(kc / 16) groups of 128
        // bytes, read in order; each row pointer is read for bytes below kc only (16 at a time
        // while 16 remain, then `tail16`, which stops at kc); `out` as the caller states; NEON
        // is baseline.
        unsafe {
            let z = vdupq_n_s32(0);
            let mut c = [[z; NR_2X8]; MR_2X8];
            let xv = vdupq_n_u8(a_xor);
            let n16 = kc / KR_2X8;
            let rem = kc % KR_2X8;
            let mut wp = w;
            if taps > 0 && n16 > 0 && rem == 0 {
                // Every tap in whole 16-channel steps: one asm block for all taps.
                k16(mr, a, taps, n16, &mut wp, &mut c, a_xor);
            } else if rem > 0 {
                for t in 0..taps {
                    let rows = a.add(t * MR_2X8);
                    if n16 > 0 {
                        k16(mr, rows, 1, n16, &mut wp, &mut c, a_xor);
                    }
                    // The last kc mod 16 channels, zero-filled (their packed weights are 0).
                    let wv: [int8x16_t; NR_2X8] = core::array::from_fn(|j| vld1q_s8(wp.add(16 * j)));
                    wp = wp.add(NR_2X8 * KR_2X8);
                    for (m, cm) in c.iter_mut().enumerate().take(mr) {
                        let bytes = tail16((*rows.add(m)).add(KR_2X8 * n16), rem);
                        let am = vreinterpretq_s8_u8(veorq_u8(bytes, xv));
                        for (cj, wj) in cm.iter_mut().zip(wv.iter()) {
                            let p = vmull_s8(vget_low_s8(am), vget_low_s8(*wj));
                            *cj = vpadalq_s16(*cj, vmlal_high_s8(p, am, *wj));
                        }
                    }
                }
            }
            let b0 = vld1q_s32(bias);
            let b1 = vld1q_s32(bias.add(4));
            let s = if FUSED {
                cols::<2>(q, col, nr, RNDNU)
            } else {
                super::out::Cols::Fp32([vdupq_n_f32(0.0); 2])
            };
            // Rows by constant index (a runtime index would put the accumulators in memory).
            macro_rules! emit {
                ($($m:literal)*) => {$(
                    if $m < mr {
                        let r = &c[$m];
                        let lo = vpaddq_s32(vpaddq_s32(r[0], r[1]), vpaddq_s32(r[2], r[3]));
                        let hi = vpaddq_s32(vpaddq_s32(r[4], r[5]), vpaddq_s32(r[6], r[7]));
                        let (lo, hi) = (vaddq_s32(lo, b0), vaddq_s32(hi, b1));
                        if FUSED {
                            let v = bytes8(s.requant8(0, lo, hi, st), st);
                            store8(out.add($m * out_stride), v, nr);
                        } else {
                            store_i32::<2>(out.cast::<i32>().add($m * out_stride), &[lo, hi], nr);
                        }
                    }
                )*};
            }
            emit!(0 1);
        }
    }
}

/// `smull` (`$op` = "smull", low 8 bytes) or `smlal2` (`$op` = "smlal2", high 8 bytes) of
/// activations v`$a` and weights v`$w` into temporary v`$t` (16 products summed pairwise into 8
/// i16), for each (t a w) listed.
macro_rules! mul16 {
    (@half "smull") => { ".8b" };
    (@half "smlal2") => { ".16b" };
    ($op:tt $(($t:tt $a:tt $w:tt))*) => {
        concat!($(
            $op, " v", $t, ".8h, v", $a, mul16!(@half $op), ", v", $w, mul16!(@half $op), "\n",
        )*)
    };
}

/// One column pair of the two-row k-loop, software-pipelined: the `smull`s of rows 0, 1
/// (v0, v1) × columns v`$w0`, v`$w1` into temporaries `$t` interleaved with the `sadalp`s of the
/// previous pair's temporaries `$p` into their accumulators `$c`, then `$load` and `$mid`
/// (assembly lines), then the four `smlal2`s.
macro_rules! c16_pair {
    ([$t0:tt $t1:tt $t2:tt $t3:tt], [$w0:tt $w1:tt], [$p0:tt $p1:tt $p2:tt $p3:tt],
        [$c0:tt $c1:tt $c2:tt $c3:tt], $load:expr, $mid:expr) => {
        concat!(
            mul16!("smull" ($t0 0 $w0)), "sadalp v", $c0, ".4s, v", $p0, ".8h\n",
            mul16!("smull" ($t1 1 $w0)), "sadalp v", $c1, ".4s, v", $p1, ".8h\n",
            mul16!("smull" ($t2 0 $w1)), "sadalp v", $c2, ".4s, v", $p2, ".8h\n",
            mul16!("smull" ($t3 1 $w1)), "sadalp v", $c3, ".4s, v", $p3, ".8h\n",
            $load, $mid,
            mul16!("smlal2" ($t0 0 $w0) ($t1 1 $w0) ($t2 0 $w1) ($t3 1 $w1)),
        )
    };
}

/// The loads that start the 2-row channel-loop body: each row's 16 activations and the first
/// four weight columns, with the `eor` of the activations by v14 (`xor`) or without (`plain`,
/// the loads interleaved as in-order cores like them: llvm-mca `cortex-a53` 74 cycles per
/// iteration, 76 in the order of the `xor` form).
macro_rules! k16_loads_2x8 {
    (xor) => {
        concat!(
            "ldr q0, [{r0}], #16\n",
            "ldr q1, [{r1}], #16\n",
            "eor v0.16b, v0.16b, v14.16b\n",
            "ldp q2, q3, [{w}]\n",
            "eor v1.16b, v1.16b, v14.16b\n",
            "ldp q4, q5, [{w}, #32]\n",
        )
    };
    (plain) => {
        concat!(
            "ldr q0, [{r0}], #16\n",
            "ldp q2, q3, [{w}]\n",
            "ldr q1, [{r1}], #16\n",
            "ldp q4, q5, [{w}, #32]\n",
        )
    };
}

/// The 2-row channel-loop body of [`k16_rows`] (see there), as assembly lines: `xor` (the
/// activations' `eor` with v14) or `plain` (the kernel's xor is 0: signed activations).
macro_rules! k16_body_2x8 {
    ($eor:tt) => {
        concat!(
            k16_loads_2x8!($eor),
            mul16!("smull" (6 0 2) (7 1 2) (8 0 3) (9 1 3)),
            mul16!("smlal2" (6 0 2) (7 1 2) (8 0 3) (9 1 3)),
            c16_pair!([10 11 12 13], [4 5], [6 7 8 9], [16 24 17 25],
                "ldp q2, q3, [{w}, #64]\n", ""),
            c16_pair!([6 7 8 9], [2 3], [10 11 12 13], [18 26 19 27],
                "ldp q4, q5, [{w}, #96]\n", ""),
            c16_pair!([10 11 12 13], [4 5], [6 7 8 9], [20 28 21 29],
                "add {w}, {w}, #128\n", "subs {n}, {n}, #1\n"),
            "sadalp v22.4s, v10.8h\nsadalp v30.4s, v11.8h\n",
            "sadalp v23.4s, v12.8h\nsadalp v31.4s, v13.8h\n",
        )
    };
}

/// The `eor` of the one-row k-loop's activations (v0) by v14 (`xor`), or nothing (`plain`).
macro_rules! c16_eor1 {
    (xor) => {
        "eor v0.16b, v0.16b, v14.16b\n"
    };
    (plain) => {
        ""
    };
}

/// The 16-channel k-loop of `igemm_2x8c16__neon` for the first `R` rows (1 or 2) over `taps`
/// taps in one `asm!` block: per tap the row pointers (the tap's two pointers 16 bytes apart
/// from `a`), then `n16` steps of 16 channels: each row's 16 activations (`ldr q`, `eor` with
/// v14 when `XOR`), the 8 weight columns (128 bytes), and per row and column `smull` + `smlal2`
/// into an i16 temporary and `sadalp` into the column's accumulator v(16 + 8m + j)
/// (`c[m][j]`), scheduled for in-order cores: each temporary's `sadalp` waits behind the next
/// group's `smull`s (llvm-mca `cortex-a53`, 2 rows: 74 cycles per 256 MACs without the xor, as
/// XNNPACK's 2x8c16 `neon-mlal`; 79 with it). Rows `R..` are untouched.
///
/// # Safety
/// `taps >= 1`, `n16 >= 1`; `a` holds `taps · 2` row pointers, the first `R` of each tap
/// readable for `16 · n16` bytes; `*wp` is readable for `taps · n16 · 128` bytes (advanced past
/// them on return).
#[inline(always)]
unsafe fn k16_rows<const XOR: bool, const R: usize>(
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; NR_2X8]; MR_2X8],
    xv: uint8x16_t,
) {
    // All 8 columns in v2-v9; temporaries v10-v13, then v24-v27 (row 1's accumulator
    // registers, free here).
    macro_rules! one_row {
        ($eor:tt) => {
            kloop_asm!(
                concat!(
                    "ldr q0, [{r0}], #16\n",
                    "ld1 {{v2.16b, v3.16b, v4.16b, v5.16b}}, [{w}], #64\n",
                    "ld1 {{v6.16b, v7.16b, v8.16b, v9.16b}}, [{w}], #64\n",
                    c16_eor1!($eor),
                    mul16!("smull" (10 0 2) (11 0 3) (12 0 4) (13 0 5)),
                    mul16!("smlal2" (10 0 2) (11 0 3) (12 0 4) (13 0 5)),
                    mul16!("smull" (24 0 6)), "sadalp v16.4s, v10.8h\n",
                    mul16!("smull" (25 0 7)), "sadalp v17.4s, v11.8h\n",
                    mul16!("smull" (26 0 8)), "sadalp v18.4s, v12.8h\n",
                    mul16!("smull" (27 0 9)), "sadalp v19.4s, v13.8h\n",
                    "subs {n}, {n}, #1\n",
                    mul16!("smlal2" (24 0 6) (25 0 7) (26 0 8) (27 0 9)),
                    "sadalp v20.4s, v24.8h\nsadalp v21.4s, v25.8h\n",
                    "sadalp v22.4s, v26.8h\nsadalp v23.4s, v27.8h\n",
                ),
                1, 16, n16 = n16, a = a, t = taps, w = wp, [r0], [], c,
                [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3 "v20" 4 "v21" 5 "v22" 6 "v23" 7]],
                ["v0" "v2" "v3" "v4" "v5" "v6" "v7" "v8" "v9" "v10" "v11" "v12" "v13" "v24"
                 "v25" "v26" "v27"],
                [in("v14") xv,]
            )
        };
    }
    // Two columns at a time (v2-v3, v4-v5, loaded in turn); temporaries v6-v9 and v10-v13 in
    // turn.
    macro_rules! two_rows {
        ($eor:tt) => {
            kloop_asm!(
                k16_body_2x8!($eor),
                2, 16, n16 = n16, a = a, t = taps, w = wp, [r0 r1], [], c,
                [0 ["v16" 0 "v17" 1 "v18" 2 "v19" 3 "v20" 4 "v21" 5 "v22" 6 "v23" 7]
                 1 ["v24" 0 "v25" 1 "v26" 2 "v27" 3 "v28" 4 "v29" 5 "v30" 6 "v31" 7]],
                ["v0" "v1" "v2" "v3" "v4" "v5" "v6" "v7" "v8" "v9" "v10" "v11" "v12" "v13"],
                [in("v14") xv,]
            )
        };
    }
    // SAFETY: the reads are the ones the caller guarantees (R pointers per tap, 16 bytes per
    // row and 128 packed bytes per step); no memory is written; every register the block
    // changes is an output or declared clobbered.
    unsafe {
        match (R, XOR) {
            (1, true) => one_row!(xor),
            (1, false) => one_row!(plain),
            (_, true) => two_rows!(xor),
            (_, false) => two_rows!(plain),
        }
    }
}

/// The `asm!` of [`whole_blocks_2x8`] and [`whole_blocks_2x8_i32`]: `blocks_2x8_asm!(xor | plain,
/// epilogue lines, operands…, [named operands of the epilogue])`. Per 8-column block: the
/// accumulators zeroed, the k-loop of [`k16_body_2x8`] over the taps, each column's four lanes
/// summed (`addp`), the biases added (row 0 in v16/v20, row 1 in v24/v28), then the epilogue, which
/// stores the block through `{o0}`, `{o1}` (v0-v13 are free there).
macro_rules! blocks_2x8_asm {
    ($eor:tt, $epi:expr, $a:expr, $taps:expr, $n16:expr, $w:expr, $bias:expr, $o0:expr, $o1:expr,
        $nb:expr, $xv:expr, [$($named:tt)*]) => {
        core::arch::asm!(
            "5:\n",
            "movi v16.2d, #0\nmovi v17.2d, #0\nmovi v18.2d, #0\nmovi v19.2d, #0\n",
            "movi v20.2d, #0\nmovi v21.2d, #0\nmovi v22.2d, #0\nmovi v23.2d, #0\n",
            "movi v24.2d, #0\nmovi v25.2d, #0\nmovi v26.2d, #0\nmovi v27.2d, #0\n",
            "movi v28.2d, #0\nmovi v29.2d, #0\nmovi v30.2d, #0\nmovi v31.2d, #0\n",
            "mov {a}, {a0}\n",
            "mov {t}, {taps}\n",
            tap_loop!(2, 16, "n16", k16_body_2x8!($eor)),
            "addp v16.4s, v16.4s, v17.4s\naddp v18.4s, v18.4s, v19.4s\n",
            "addp v20.4s, v20.4s, v21.4s\naddp v22.4s, v22.4s, v23.4s\n",
            "addp v24.4s, v24.4s, v25.4s\naddp v26.4s, v26.4s, v27.4s\n",
            "addp v28.4s, v28.4s, v29.4s\naddp v30.4s, v30.4s, v31.4s\n",
            "addp v16.4s, v16.4s, v18.4s\naddp v20.4s, v20.4s, v22.4s\n",
            "addp v24.4s, v24.4s, v26.4s\naddp v28.4s, v28.4s, v30.4s\n",
            "ldp q0, q1, [{bias}], #32\n",
            "add v16.4s, v16.4s, v0.4s\nadd v20.4s, v20.4s, v1.4s\n",
            "add v24.4s, v24.4s, v0.4s\nadd v28.4s, v28.4s, v1.4s\n",
            $epi,
            "subs {nb}, {nb}, #1\n",
            "b.ne 5b\n",
            a0 = in(reg) $a,
            a = out(reg) _,
            t = out(reg) _,
            taps = in(reg) $taps,
            n16 = in(reg) $n16,
            n = out(reg) _,
            r0 = out(reg) _,
            r1 = out(reg) _,
            w = inout(reg) $w => _,
            bias = inout(reg) $bias => _,
            o0 = inout(reg) $o0 => _,
            o1 = inout(reg) $o1 => _,
            nb = inout(reg) $nb => _,
            $($named)*
            in("v14") $xv,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v26") _, out("v27") _,
            out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            options(nostack),
        )
    };
}

/// [`blocks_2x8_asm`] with the `Fp32` epilogue for the output type `$out`: the scales (v2/v3
/// from `{sc}`, advanced by `{sstep}`), the stage (zero point v4, clamps v5/v6, from `{stg}`),
/// then [`super::fp32_asm8`].
macro_rules! fp32_2x8_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:expr, $w:expr, $bias:expr, $o0:expr, $o1:expr,
        $nb:expr, $xv:expr, $sc:expr, $sstep:expr, $stg:expr) => {
        blocks_2x8_asm!(
            $eor,
            concat!(
                "ldp q2, q3, [{sc}]\n",
                "add {sc}, {sc}, {sstep}\n",
                "ldp q4, q5, [{stg}]\n",
                "ldr q6, [{stg}, #32]\n",
                fp32_asm8!([[16 20] => "o0", [24 28] => "o1"], [2 3], 4, 5, 6, $out),
            ),
            $a, $taps, $n16, $w, $bias, $o0, $o1, $nb, $xv,
            [sc = inout(reg) $sc => _, sstep = in(reg) $sstep, stg = in(reg) $stg,]
        )
    };
}

/// [`blocks_2x8_asm`] with the `Rndnu` epilogue for the output type `$out`: the block's 8
/// multipliers, `sqshl` and `srshl` counts into v2/v3, v7/v8, v9/v10 (`ld1` from `{rm}`, `{rp}`,
/// `{rq}`, each advanced by `{sstep}`), the stage as for `Fp32`, then
/// [`super::rndnu_asm8`].
macro_rules! rndnu_2x8_asm {
    ($eor:tt, $out:tt, $a:expr, $taps:expr, $n16:expr, $w:expr, $bias:expr, $o0:expr, $o1:expr,
        $nb:expr, $xv:expr, $r:expr, $sstep:expr, $stg:expr) => {
        blocks_2x8_asm!(
            $eor,
            concat!(
                "ld1 {{v2.4s, v3.4s}}, [{rm}], {sstep}\n",
                "ld1 {{v7.4s, v8.4s}}, [{rp}], {sstep}\n",
                "ld1 {{v9.4s, v10.4s}}, [{rq}], {sstep}\n",
                "ldp q4, q5, [{stg}]\n",
                "ldr q6, [{stg}, #32]\n",
                rndnu_asm8!([[16 20] => "o0", [24 28] => "o1"], [2 3], [7 8], [9 10], 4, 5, 6,
                    $out),
            ),
            $a, $taps, $n16, $w, $bias, $o0, $o1, $nb, $xv,
            [rm = inout(reg) $r[0] => _, rp = inout(reg) $r[1] => _,
             rq = inout(reg) $r[2] => _, sstep = in(reg) $sstep, stg = in(reg) $stg,]
        )
    };
}

kernel_fn! {
    /// The whole-block part of `igemm_2x8c16_fp32__neon` (and its strided form): for calls of
    /// [`super::whole_shape`], the first `ncols / 8` column blocks in one `asm!` block
    /// ([`fp32_2x8_asm`]: the k-loop of [`k16_rows`], the lane sums, the bias and the `Fp32` stage
    /// of [`super::out`] in registers (`q.rndnu` unset; [`whole_blocks_2x8_rndnu`] with
    /// [`rndnu_2x8_asm`] takes the `Rndnu` form); one `str d` per row); returns how many columns it
    /// stored (0 for other calls).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 2`, `NR = 8`, `KR = 16`,
    /// every packed weight `>= −127`.
    #[inline(always)]
    fast_fp32 whole_blocks_2x8(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n16, _, nb)) =
            super::whole_shape::<MR_2X8, NR_2X8, 16, 16>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let scales = super::ColConsts::<f32, NR_2X8, 1>::scales(q);
        let ([sc], sstep) = scales.ptrs_step();
        // SAFETY: the asm reads, per block, the NR biases (advancing 32 bytes), taps · 2 row
        // pointers at `a` and kc bytes of each row, the block's taps · kc · 8 packed bytes (the
        // next block follows: w_stride is one block), 8 scales (channel scales: the call's
        // columns, which the contract says are there; per tensor: `scales`, not advanced) and
        // the 48 bytes of `stage`; it writes 8 bytes per row and block at out + m · out_stride
        // (the call's rows and columns: nb · 8 <= ncols). Every register it changes is an output
        // or clobbered; no stack; NEON is baseline.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let stg = stage.as_ptr();
            let o1 = out.add(out_stride);
            match (a_xor != 0, st.signed) {
                (true, true) => fp32_2x8_asm!(xor, i8, a, taps, n16, w, bias, out, o1, nb, xv, sc, sstep, stg),
                (true, false) => fp32_2x8_asm!(xor, u8, a, taps, n16, w, bias, out, o1, nb, xv, sc, sstep, stg),
                (false, true) => fp32_2x8_asm!(plain, i8, a, taps, n16, w, bias, out, o1, nb, xv, sc, sstep, stg),
                (false, false) => fp32_2x8_asm!(plain, u8, a, taps, n16, w, bias, out, o1, nb, xv, sc, sstep, stg),
            }
        }
        nb * NR_2X8
    }
}

kernel_fn! {
    /// The `Rndnu` form of [`whole_blocks_2x8`] (its calls with `q.rndnu` set): the same blocks
    /// with the `Rndnu` epilogue; returns how many columns it stored (0 for other calls).
    ///
    /// # Safety
    /// As [`whole_blocks_2x8`], with `q.rndnu` set.
    #[inline(always)]
    fast_fp32 whole_blocks_2x8_rndnu(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, st, out, out_stride) {
        let Some((n16, _, nb)) =
            super::whole_shape::<MR_2X8, NR_2X8, 16, 16>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        let stage = st.bytes();
        let Some(rn) = &q.rndnu else {
            return 0;
        };
        let cols = super::ColConsts::<i32, NR_2X8, 3>::rndnu(rn);
        let (r, sstep) = cols.ptrs_step();
        // SAFETY: as in the `Fp32` form, with 8 constants of each kind per block read from the three
        // pointers (channel constants: the call's columns; per tensor: `cols`, not
        // advanced) instead of the scales.
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let stg = stage.as_ptr();
            let o1 = out.add(out_stride);
            macro_rules! run {
                ($eor:tt, $out:tt) => {
                    rndnu_2x8_asm!($eor, $out, a, taps, n16, w, bias, out, o1, nb, xv, r,
                        sstep, stg)
                };
            }
            match (a_xor != 0, st.signed) {
                (true, true) => run!(xor, i8),
                (true, false) => run!(xor, u8),
                (false, true) => run!(plain, i8),
                (false, false) => run!(plain, u8),
            }
        }
        nb * NR_2X8
    }
}

kernel_fn! {
    /// The one-`asm!` whole blocks of [`whole_blocks_2x8`] storing the i32 sums (one `stp` per
    /// row and block) for the i32 entries; returns how many columns it stored.
    ///
    /// # Safety
    /// `a` holds `taps · 2` row pointers readable for `kc` bytes, the packed blocks and biases
    /// as in [`crate::ukernel::IgemmFp32Fn`], every packed weight `>= −127`, `out` writable for
    /// 2 rows of `ncols` i32 (stride `out_stride` elements).
    #[inline(always)]
    fast_i32 whole_blocks_2x8_i32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let Some((n16, _, nb)) =
            super::whole_shape::<MR_2X8, NR_2X8, 16, 16>(mr, ncols, w_stride, taps, kc)
        else {
            return 0;
        };
        // SAFETY: as in `whole_blocks_2x8` for the reads; it writes 8 i32 per row and block at
        // out + m · out_stride (the call's rows and columns: nb · 8 <= ncols).
        unsafe {
            let xv = vdupq_n_u8(a_xor);
            let o1 = out.add(out_stride);
            macro_rules! run {
                ($eor:tt) => {
                    blocks_2x8_asm!(
                        $eor,
                        "stp q16, q20, [{o0}], #32\nstp q24, q28, [{o1}], #32\n",
                        a, taps, n16, w, bias, out, o1, nb, xv, []
                    )
                };
            }
            if a_xor != 0 {
                run!(xor);
            } else {
                run!(plain);
            }
        }
        nb * NR_2X8
    }
}

/// [`k16_rows`] for the rows a tile of `mr` rows needs (a GEMV row does not pay for two), with
/// the kernel's activation xor `a_xor` (the variant without the `eor` when it is 0).
///
/// # Safety
/// As [`k16_rows`] with `R` = 1 when `mr == 1`, else 2.
#[inline(always)]
unsafe fn k16(
    mr: usize,
    a: *const *const u8,
    taps: usize,
    n16: usize,
    wp: &mut *const i8,
    c: &mut [[int32x4_t; NR_2X8]; MR_2X8],
    a_xor: u8,
) {
    // SAFETY: the caller's contract; each variant reads its first R <= 2 rows of each tap;
    // NEON is baseline.
    unsafe {
        let xv = vdupq_n_u8(a_xor);
        match (mr == 1, a_xor != 0) {
            (true, true) => k16_rows::<true, 1>(a, taps, n16, wp, c, xv),
            (true, false) => k16_rows::<false, 1>(a, taps, n16, wp, c, xv),
            (false, true) => k16_rows::<true, 2>(a, taps, n16, wp, c, xv),
            (false, false) => k16_rows::<false, 2>(a, taps, n16, wp, c, xv),
        }
    }
}
