//! `igemm_4x8c4__aarch32_neon`: 4 rows × 8 columns on 32-bit ARM NEON, the class of QNNPACK's
//! `q8gemm_ukernel_4x8__aarch32_neon` and XNNPACK's `4x8-minmax-*-aarch32-neon-mlal-lane`
//! kernels, on the `c4` packing of [`crate::pack`] with `NR = 8`.
//!
//! The name: the project's `<op>_<MR>x<NR>c<KR>__<isa>` with the ISA spelled `aarch32_neon`, as
//! QNNPACK and XNNPACK name their 32-bit ARM kernels (`..._4x8__aarch32_neon`), so that it is
//! distinct from the aarch64 entry `igemm_4x8c4__neon` (a different instruction set and
//! register file) and can be cross-referenced with those kernels.
//!
//! Per 8 input channels, all in one `asm!` block with fixed registers (A32 has 16 q registers;
//! every one is used):
//! * q8-q15: the accumulators, row `m` in q(8 + 2m) (columns 0-3) and q(9 + 2m) (columns 4-7);
//! * q0-q3: the activations, 8 bytes of row `m` loaded into d(2m + 1) (`vld1.8`), xored with
//!   the kernel's xor when it is not 0, and widened in place to u16 (`vmovl.u8 qm, d(2m+1)`):
//!   channels 0-3 in d(2m), 4-7 in d(2m + 1), the `d0`-`d7` range `vmlal` by scalar needs;
//! * q6-q7: the bytes of one packed k-group, de-interleaved by `vld4.8 {d12-d15}` into one
//!   vector of 8 columns per channel;
//! * q4, q5: one channel's weights widened to i16 (`vmovl.s8`), alternately, one channel ahead
//!   of its multiplies, so that the second k-group's `vld4` is issued as soon as the first
//!   group's last channel is widened, 16 multiplies before its first use (the pipelining of
//!   QNNPACK's kernel, which loads one channel of its k-major packing at a time);
//! * 64 `vmlal.s16 q, d, d[lane]` (exact: |a'·w'| <= 255·128, summed in wrapping i32).
//!
//! A tile of one row (`mr = 1`: a GEMV, or the last row of M) runs the same loop for row 0
//! only (its pointer, activations and 16 `vmlal` per 8 channels).
//!
//! The last `kc mod 8` channels of each tap run after its loop: one full group of 4
//! (`vld1.32` of a lane) and/or the last 1-3 channels (byte lanes; the lanes not loaded hold
//! stale bytes whose packed weights are zero). The accumulators go to a stack tile at the end,
//! from which the `mr × nr` part is copied, or requantized first
//! (`igemm_4x8c4_fp32__aarch32_neon`).
//!
//! The fused `Fp32` store: A32 NEON has no round-to-nearest conversion (`vcvtn` is ARMv8), so
//! after `vcvt.f32.s32`, `vmul.f32` and the clamp to `[lo, hi]` (`vmax.f32`/`vmin.f32`), the
//! value is rounded by adding the magic number 12582912.0 = 1.5·2²³ (`vadd.f32` rounds to
//! nearest even; for |x| <= 2²² the sum lies in [2²³, 2²⁴), where the spacing is 1, so its low
//! mantissa bits are `round_ties_even(x)`), then `vsub.i32` of `0x4B40_0000 − zp` leaves
//! `round_ties_even(x) + zp`, which is inside the output type (the clamp bounds are
//! `qmin − zp`, `qmax − zp`): two `vmovn` give the bytes. Bit-exact with
//! `quant_params::Requantizer::requantize` (`(acc as f32) · scale`, clamped, rounded half to
//! even): `vcvt` and `vmul` round to nearest even as Rust's `as f32` and `*` do; NEON's
//! flush-to-zero never applies (`|acc| >= 1` times a scale `>= 2⁻³²` is a normal number).
#![allow(non_snake_case)]

use core::mem::MaybeUninit;

/// Rows per tile.
pub const MR: usize = 4;
/// Columns per tile.
pub const NR: usize = 8;

/// The 4 × 8 accumulator tile the k-loop stores (row-major); with a non-zero kernel xor, its
/// first word holds the xor byte ×4 on entry (read by the loop before the tile is stored).
#[repr(C, align(16))]
struct Tile([[i32; NR]; MR]);

kernel_fn! {
    /// See [`crate::ukernel::IgemmFn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFn`] with `MR = 4`, `NR = 8`, `KR = 4`, on a CPU
    /// with NEON.
    pub igemm igemm_4x8c4__aarch32_neon(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
        let mut tile = MaybeUninit::<Tile>::uninit();
        // SAFETY: the caller's contract; out is writable for mr rows of nr (<= NR) i32 with stride
        // out_stride.
        unsafe {
            let tile = accumulate(mr, taps, kc, a, a_xor, w, bias, &mut tile);
            store_rows(&tile.0, mr, nr, out, out_stride)
        };
    }
}

/// Stores the first `nr` elements of the first `mr` rows of `rows` to `out` (row stride
/// `out_stride` elements): whole rows by value when `nr = NR` (a fixed-size copy, no `memcpy`
/// call per row as a variable-length copy makes).
///
/// # Safety
/// `out` is writable for `mr.min(MR)` rows of `nr.min(NR)` elements with stride `out_stride`.
#[inline(always)]
unsafe fn store_rows<T: Copy>(
    rows: &[[T; NR]; MR],
    mr: usize,
    nr: usize,
    out: *mut T,
    out_stride: usize,
) {
    for (m, row) in rows.iter().enumerate().take(mr.min(MR)) {
        // SAFETY: row m of out holds nr elements from out + m·out_stride (caller contract);
        // [T; NR] has T's alignment, so an unaligned write of the whole row is the same bytes.
        unsafe {
            let dst = out.add(m * out_stride);
            if nr >= NR {
                core::ptr::write_unaligned(dst.cast::<[T; NR]>(), *row);
            } else {
                core::ptr::copy_nonoverlapping(row.as_ptr(), dst, nr);
            }
        }
    }
}

/// The constants of the fused `Fp32` store, in the order the `asm!` block loads them.
#[repr(C, align(16))]
struct Requant {
    /// The multipliers of the block's 8 columns (0 past the call's columns).
    scale: [f32; NR],
    /// Lower clamp, `qmin − zp` (bounded to ±2²² so the magic-number rounding holds even for a
    /// broken caller contract).
    lo: f32,
    /// Upper clamp, `qmax − zp` (bounded likewise).
    hi: f32,
    /// 12582912.0 = 1.5·2²³.
    magic: f32,
    /// The bits of `magic` minus the output zero point.
    magic_less_zp: i32,
}

kernel_fn! {
    /// `igemm_4x8c4__aarch32_neon` with the `Fp32` requantization (per tensor or per channel)
    /// fused into its store: see [`crate::ukernel::IgemmFp32Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::IgemmFp32Fn`] with `MR = 4`, `NR = 8`, `KR = 4`, on a CPU
    /// with NEON.
    pub igemm_fp32 igemm_4x8c4_fp32__aarch32_neon(mr, ncols, w_stride, taps, kc, a, a_xor, w,
        bias, q, out, out_stride) {
        const BOUND: f32 = 4_194_304.0; // 2²²
        const MAGIC: f32 = 12_582_912.0;
        let mut rq = Requant {
            scale: [q.scale; NR],
            lo: q.lo.clamp(-BOUND, BOUND),
            hi: q.hi.clamp(-BOUND, BOUND),
            magic: MAGIC,
            magic_less_zp: (MAGIC.to_bits() as i32).wrapping_sub(q.zero_point),
        };
        // Not initialised: the asm blocks write all of both (written in place: returned by value,
        // the tile was copied by a `memcpy` call per block).
        let mut tile = MaybeUninit::<Tile>::uninit();
        let mut bytes = MaybeUninit::<[[u8; NR]; MR]>::uninit();
        let mut col = 0;
        while col < ncols {
            let nr = (ncols - col).min(NR);
            let b = col / NR;
            if let Some(cs) = q.channel_scales {
                for (j, s) in rq.scale.iter_mut().enumerate() {
                    // (The contract gives ncols scales; `get` keeps a short slice from panicking.)
                    *s = if j < nr {
                        cs.get(col + j).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                }
            }
            // SAFETY: block b of the call is at w + b·w_stride with its NR biases at bias + col
            // (the caller's contract); columns col..col + nr of the mr rows of out are the
            // caller's.
            unsafe {
                let w = w.add(b * w_stride);
                let tile = accumulate(mr, taps, kc, a, a_xor, w, bias.add(col), &mut tile);
                let bytes = requantize(tile, &rq, &mut bytes);
                store_rows(bytes, mr, nr, out.add(col), out_stride)
            };
            col += NR;
        }
    }
}

// Assembly lines of the k-loop (`concat!` expands these eagerly into its literal). Rows are
// listed by number m (0-3): row m's pointer is r`m`, its 8 activation bytes go to d(2m + 1),
// widened to q`m` (channels 0-3 in d(2m), 4-7 in d(2m + 1)), its accumulators are q(8 + 2m)
// (columns 0-3) and q(9 + 2m) (columns 4-7).

/// The registers of row `m`: `acc lo|hi` (q), `act lo|hi` (d).
#[rustfmt::skip]
macro_rules! reg {
    (acc lo 0) => { 8 }; (acc hi 0) => { 9 }; (acc lo 1) => { 10 }; (acc hi 1) => { 11 };
    (acc lo 2) => { 12 }; (acc hi 2) => { 13 }; (acc lo 3) => { 14 }; (acc hi 3) => { 15 };
    (act lo 0) => { 0 }; (act hi 0) => { 1 }; (act lo 1) => { 2 }; (act hi 1) => { 3 };
    (act lo 2) => { 4 }; (act hi 2) => { 5 }; (act lo 3) => { 6 }; (act hi 3) => { 7 };
}

/// The 2 `vmlal.s16` per row listed of one channel: its weights in d`$wl` (columns 0-3) and
/// d`$wh` (4-7), times lane `$l` of the row's activations (`$half`: channels 0-3 or 4-7).
macro_rules! mac {
    ($wl:literal $wh:literal, $half:tt $l:literal, [$($m:tt)*]) => {
        concat!($(
            "vmlal.s16 q", reg!(acc lo $m), ", d", $wl, ", d", reg!(act $half $m), "[", $l, "]\n",
            "vmlal.s16 q", reg!(acc hi $m), ", d", $wh, ", d", reg!(act $half $m), "[", $l, "]\n",
        )*)
    };
}

/// One packed k-group (32 bytes at `{w}`, advanced), de-interleaved by `vld4.8` into d12-d15
/// (one vector of 8 columns per channel, still bytes).
macro_rules! wload {
    () => {
        "vld4.8 {{d12-d15}}, [{w}]!\n"
    };
}

/// The multiplies of one k-group whose bytes are in d12-d15, with the 4 channels' activations in
/// lanes 0-3 of the rows' low halves: each channel widened to i16 (`vmovl.s8`) into q4 or q5
/// alternately, one channel ahead of its multiplies.
macro_rules! group {
    ($rows:tt) => {
        concat!(
            "vmovl.s8 q4, d12\n",
            "vmovl.s8 q5, d13\n",
            mac!(8 9, lo 0, $rows),
            "vmovl.s8 q4, d14\n",
            mac!(10 11, lo 1, $rows),
            "vmovl.s8 q5, d15\n",
            mac!(8 9, lo 2, $rows),
            mac!(10 11, lo 3, $rows),
        )
    };
}

/// The rows' activation bytes (in d(2m + 1)) xored with the kernel's xor (from the first word
/// of the tile) when `$x` is `xor`, then widened to u16 in q`m`. `d8` is free here: the widened
/// weights of the previous k-group have been used.
macro_rules! widen_a {
    (xor [$($m:tt)*]) => {
        concat!(
            "vld1.32 {{d8[]}}, [{tile}]\n",
            $("veor d", reg!(act hi $m), ", d", reg!(act hi $m), ", d8\n",)*
            widen_a!(plain [$($m)*]),
        )
    };
    (plain [$($m:tt)*]) => {
        concat!($("vmovl.u8 q", $m, ", d", reg!(act hi $m), "\n",)*)
    };
}

/// Per row listed: the load of lane `$l` (of `$size` bits, or all 8 bytes with `all`) of
/// d(2m + 1) from row pointer r`m` (advanced).
macro_rules! lanes {
    (all, [$($m:tt)*]) => {
        concat!($("vld1.8 {{d", reg!(act hi $m), "}}, [r", $m, "]!\n",)*)
    };
    ($size:literal, $l:literal, [$($m:tt)*]) => {
        concat!($("vld1.", $size, " {{d", reg!(act hi $m), "[", $l, "]}}, [r", $m, "]!\n",)*)
    };
}

/// The row pointers of one tap (the tap's 4 pointers at `{a}`, advanced past them): all 4
/// (`ldm`) or only row 0's.
macro_rules! ptrs {
    ([0 1 2 3]) => {
        "ldm {a}!, {{r0-r3}}\n"
    };
    ([0]) => {
        "ldr r0, [{a}], #16\n"
    };
}

/// The whole k-loop as one assembly template (`$x`: `xor` or `plain`) for the rows listed (all
/// 4, or row 0 only: a 1-row tile, e.g. a GEMV, multiplies one row): the bias into the 8
/// accumulators; per tap (label 3) its row pointers, `kc / 8` iterations of 8 channels (label
/// 2), then the `kc mod 8` channels (a group of 4, then 1-3); the accumulators stored to the
/// tile (the rows not listed keep the bias).
macro_rules! kloop {
    ($x:tt, $rows:tt) => {
        concat!(
            ".fpu neon\n",
            "vld1.32 {{d16-d19}}, [{n}]\n",
            "vmov q10, q8\n",
            "vmov q11, q9\n",
            "vmov q12, q8\n",
            "vmov q13, q9\n",
            "vmov q14, q8\n",
            "vmov q15, q9\n",
            "cmp {t}, #0\n",
            "beq 8f\n",
            // Per tap.
            "3:\n",
            ptrs!($rows),
            "lsrs {n}, {kc}, #3\n",
            "beq 4f\n",
            // 8 channels: the second k-group's load is issued once the first group's last
            // channel is widened (16 multiplies per row before its first use).
            "2:\n",
            wload!(),
            lanes!(all, $rows),
            widen_a!($x $rows),
            "vmovl.s8 q4, d12\n",
            "vmovl.s8 q5, d13\n",
            mac!(8 9, lo 0, $rows),
            "vmovl.s8 q4, d14\n",
            mac!(10 11, lo 1, $rows),
            "vmovl.s8 q5, d15\n",
            wload!(),
            mac!(8 9, lo 2, $rows),
            "vmovl.s8 q4, d12\n",
            mac!(10 11, lo 3, $rows),
            "vmovl.s8 q5, d13\n",
            mac!(8 9, hi 0, $rows),
            "vmovl.s8 q4, d14\n",
            mac!(10 11, hi 1, $rows),
            "vmovl.s8 q5, d15\n",
            "subs {n}, {n}, #1\n",
            mac!(8 9, hi 2, $rows),
            mac!(10 11, hi 3, $rows),
            "bne 2b\n",
            // A group of 4 channels.
            "4:\n",
            "tst {kc}, #4\n",
            "beq 5f\n",
            wload!(),
            lanes!("32", "0", $rows),
            widen_a!($x $rows),
            group!($rows),
            // The last 1-3 channels (the flags of `cmp` survive the loads; the lanes not
            // loaded hold stale bytes, whose packed weights are zero).
            "5:\n",
            "ands {n}, {kc}, #3\n",
            "beq 6f\n",
            wload!(),
            lanes!("8", "0", $rows),
            "cmp {n}, #2\n",
            "blo 7f\n",
            lanes!("8", "1", $rows),
            "beq 7f\n",
            lanes!("8", "2", $rows),
            "7:\n",
            widen_a!($x $rows),
            group!($rows),
            "6:\n",
            "subs {t}, {t}, #1\n",
            "bne 3b\n",
            "8:\n",
            "vst1.32 {{d16-d19}}, [{tile}]!\n",
            "vst1.32 {{d20-d23}}, [{tile}]!\n",
            "vst1.32 {{d24-d27}}, [{tile}]!\n",
            "vst1.32 {{d28-d31}}, [{tile}]\n",
        )
    };
}

/// The `asm!` block of [`kloop`] with its operands: every NEON register (d0-d31) is clobbered;
/// the compiler, which targets VFPv3-D16, saves the callee-saved d8-d15.
macro_rules! kloop_asm {
    ($x:tt, $rows:tt, $taps:expr, $kc:expr, $a:expr, $w:expr, $bias:expr, $tile:expr) => {
        core::arch::asm!(
            kloop!($x, $rows),
            a = inout(reg) $a => _,
            t = inout(reg) $taps => _,
            kc = in(reg) $kc,
            n = inout(reg) $bias => _,
            w = inout(reg) $w => _,
            tile = inout(reg) $tile => _,
            out("r0") _, out("r1") _, out("r2") _, out("r3") _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        )
    };
}

/// The accumulators of one 4 × 8 tile over `taps` taps of `kc` channels, from `bias`, written
/// to `tile` (and returned initialised): all 4 rows, or only row 0 when `mr` is 1 (rows 1-3 then
/// hold the bias).
///
/// # Safety
/// `a` holds `taps · 4` row pointers, each readable for `kc` bytes; `w` holds `taps ·
/// ceil(kc / 4)` packed groups of 32 bytes; `bias` holds 8 i32; the CPU has NEON.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate(
    mr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    tile: &mut MaybeUninit<Tile>,
) -> &Tile {
    let t = tile.as_mut_ptr().cast::<i32>();
    // SAFETY: word 0 of the tile: the xor, read by the `xor` loops only (the loop's final store
    // overwrites it).
    unsafe { t.write(i32::from_ne_bytes([a_xor; 4])) };
    // SAFETY: the block reads the row pointers (4 per tap, or the first of each tap), each row
    // it multiplies for its first kc bytes (8 per iteration, then 4, then 1-3 byte lanes: never
    // past kc), the packed groups in order (two per 8 channels, one per group of the tail) and
    // the 8 biases; it writes the 32 words of the tile (and, with a xor, first reads the tile's
    // word 0). It uses no stack; every general register it changes is an operand or clobbered,
    // every NEON register is clobbered; the caller guarantees NEON.
    unsafe {
        match (a_xor == 0, mr == 1) {
            (true, false) => kloop_asm!(plain, [0 1 2 3], taps, kc, a, w, bias, t),
            (false, false) => kloop_asm!(xor, [0 1 2 3], taps, kc, a, w, bias, t),
            (true, true) => kloop_asm!(plain, [0], taps, kc, a, w, bias, t),
            (false, true) => kloop_asm!(xor, [0], taps, kc, a, w, bias, t),
        }
        // Every word of the tile was stored by the block (its last 4 `vst1.32`).
        tile.assume_init_ref()
    }
}

/// `tile` requantized by `rq` ([`Requant`]) to 32 bytes (row-major), written to `bytes` (and
/// returned initialised).
///
/// # Safety
/// The CPU has NEON.
#[inline(always)]
unsafe fn requantize<'b>(
    tile: &Tile,
    rq: &Requant,
    bytes: &'b mut MaybeUninit<[[u8; NR]; MR]>,
) -> &'b [[u8; NR]; MR] {
    // SAFETY: reads the 32 words of the tile and the 12 words of the constants, writes the 32
    // bytes (all of them: then initialised); no stack; every NEON register is clobbered; the
    // caller guarantees NEON.
    unsafe {
        core::arch::asm!(
            ".fpu neon",
            "vld1.32 {{d16-d19}}, [{acc}]!",
            "vld1.32 {{d20-d23}}, [{acc}]!",
            "vld1.32 {{d24-d27}}, [{acc}]!",
            "vld1.32 {{d28-d31}}, [{acc}]",
            "vld1.32 {{d0-d3}}, [{p}]!",
            "vld1.32 {{d4[], d5[]}}, [{p}]!",
            "vld1.32 {{d6[], d7[]}}, [{p}]!",
            "vld1.32 {{d8[], d9[]}}, [{p}]!",
            "vld1.32 {{d10[], d11[]}}, [{p}]",
            "vcvt.f32.s32 q8, q8",
            "vcvt.f32.s32 q9, q9",
            "vcvt.f32.s32 q10, q10",
            "vcvt.f32.s32 q11, q11",
            "vcvt.f32.s32 q12, q12",
            "vcvt.f32.s32 q13, q13",
            "vcvt.f32.s32 q14, q14",
            "vcvt.f32.s32 q15, q15",
            "vmul.f32 q8, q8, q0",
            "vmul.f32 q9, q9, q1",
            "vmul.f32 q10, q10, q0",
            "vmul.f32 q11, q11, q1",
            "vmul.f32 q12, q12, q0",
            "vmul.f32 q13, q13, q1",
            "vmul.f32 q14, q14, q0",
            "vmul.f32 q15, q15, q1",
            "vmax.f32 q8, q8, q2",
            "vmax.f32 q9, q9, q2",
            "vmax.f32 q10, q10, q2",
            "vmax.f32 q11, q11, q2",
            "vmax.f32 q12, q12, q2",
            "vmax.f32 q13, q13, q2",
            "vmax.f32 q14, q14, q2",
            "vmax.f32 q15, q15, q2",
            "vmin.f32 q8, q8, q3",
            "vmin.f32 q9, q9, q3",
            "vmin.f32 q10, q10, q3",
            "vmin.f32 q11, q11, q3",
            "vmin.f32 q12, q12, q3",
            "vmin.f32 q13, q13, q3",
            "vmin.f32 q14, q14, q3",
            "vmin.f32 q15, q15, q3",
            "vadd.f32 q8, q8, q4",
            "vadd.f32 q9, q9, q4",
            "vadd.f32 q10, q10, q4",
            "vadd.f32 q11, q11, q4",
            "vadd.f32 q12, q12, q4",
            "vadd.f32 q13, q13, q4",
            "vadd.f32 q14, q14, q4",
            "vadd.f32 q15, q15, q4",
            "vsub.i32 q8, q8, q5",
            "vsub.i32 q9, q9, q5",
            "vsub.i32 q10, q10, q5",
            "vsub.i32 q11, q11, q5",
            "vsub.i32 q12, q12, q5",
            "vsub.i32 q13, q13, q5",
            "vsub.i32 q14, q14, q5",
            "vsub.i32 q15, q15, q5",
            "vmovn.i32 d12, q8",
            "vmovn.i32 d13, q9",
            "vmovn.i32 d14, q10",
            "vmovn.i32 d15, q11",
            "vmovn.i16 d0, q6",
            "vmovn.i16 d1, q7",
            "vmovn.i32 d12, q12",
            "vmovn.i32 d13, q13",
            "vmovn.i32 d14, q14",
            "vmovn.i32 d15, q15",
            "vmovn.i16 d2, q6",
            "vmovn.i16 d3, q7",
            "vst1.8 {{d0-d3}}, [{out}]",
            acc = inout(reg) tile.0.as_ptr().cast::<i32>() => _,
            p = inout(reg) core::ptr::from_ref(rq) => _,
            out = in(reg) bytes.as_mut_ptr().cast::<u8>(),
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        );
        // All 32 bytes were stored by the block (its `vst1.8 {d0-d3}`).
        bytes.assume_init_ref()
    }
}
