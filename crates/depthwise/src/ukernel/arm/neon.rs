//! AArch32 NEON kernels (`asm!`, see [`super`]): `dwconv_c8__aarch32_neon`, int8 in 8-channel
//! tiles: bytes widened to i16 (`vmovl.u8` / `vmovl.s8`), `vmlal.s16` with the i16 weights
//! `w'` into two i32 accumulators (exact, as the aarch64 `smlal` kernel; same packed layout).
//! The requantization is the driver's (the kernel writes i32 accumulators, as aarch64's
//! `dwconv_c8__neon`).
//!
//! Per output pixel one `asm!` block runs every full 8-channel tile (taps two at a time: for 3x3
//! and 5x5 unrolled with `.rept`, any other kernel size in a loop). A partial last tile of
//! `n = ch % 8` channels (when `ch ≥ 8`) loads the row's last 8 bytes `[ch − 8, ch)`, which are
//! inside the row, and shifts them right by `8 − n` bytes (`vshl.u64` by a negative count), so
//! its lanes are channels `ch − n..ch` and the padded lanes zero (their packed weights are zero
//! too); it stores `n` accumulators 4/2/1 at a time. With `ch < 8` no 8-byte load fits inside a
//! row, and the few channels are computed in scalar code from the same packed weights. Nothing
//! reads or writes outside the caller's rows, weights and outputs.

#![allow(non_snake_case)]

use crate::ukernel::{check_pack, packed_len};
use crate::DwError;
use core::arch::asm;
use cpu_probe::alloc::try_with_capacity;

/// Packed int8 layout (aarch64 `neon::pack_i8`'s): 8-channel tiles (zero-padded), each 8 folded
/// biases (i32) then per tap 8 i16 weights `w'` (4 words, channel order).
pub fn pack_i8(taps: usize, ch: usize, w: &[i32], bias: &[i32]) -> Result<Vec<i32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let tiles = ch.div_ceil(8);
    let mut out = try_with_capacity(packed_len(tiles, 4, 2, 1, taps, 0)?, "packed weights")?;
    for j in 0..tiles {
        for i in 0..8 {
            out.push(bias.get(8 * j + i).copied().unwrap_or(0));
        }
        for t in 0..taps {
            for i in 0..4 {
                let get = |k: usize| {
                    let c = 8 * j + 2 * i + k;
                    if c < ch {
                        w[t * ch + c] as i16 as u16 as u32
                    } else {
                        0
                    }
                };
                out.push((get(0) | (get(1) << 16)) as i32);
            }
        }
    }
    Ok(out)
}

kernel_fn! {
    /// See [`crate::ukernel::DwI8Fn`].
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8Fn`] with the layout of [`pack_i8`], and the CPU
    /// has NEON (`Isa::Neon`: the dispatch table checks it).
    i8 dwconv_c8__aarch32_neon(px, taps, ind, w, ch, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => i8_pixels::<SIGNED, K>(px, taps, ind, w, ch, out)) }
    }
}

/// One tap of a full tile: row pointer from `{ri}` (post-incremented), plus the channel offset
/// `{c}`; 8 bytes widened with `vmovl.$ext`; 8 i16 weights from `{w}` (post-incremented);
/// `vmlal.s16` into q8 (channels 0-3) and q9 (4-7).
#[rustfmt::skip]
macro_rules! tap1 {
    ($ext:literal) => {
        concat!(
            "ldr {ra}, [{ri}], #4\n",
            "vld1.16 {{d4, d5}}, [{w}]!\n",
            "add {ra}, {ra}, {c}\n",
            "vld1.8 {{d0}}, [{ra}]\n",
            "vmovl.", $ext, " q0, d0\n",
            "vmlal.s16 q8, d0, d4\n",
            "vmlal.s16 q9, d1, d5\n",
        )
    };
}

/// Two taps of a full tile (as [`tap1`], interleaved: both pointers and both weight vectors
/// loaded before the first use).
#[rustfmt::skip]
macro_rules! tap2 {
    ($ext:literal) => {
        concat!(
            "ldr {ra}, [{ri}], #4\n",
            "ldr {rb}, [{ri}], #4\n",
            "vld1.16 {{d4-d7}}, [{w}]!\n",
            "add {ra}, {ra}, {c}\n",
            "add {rb}, {rb}, {c}\n",
            "vld1.8 {{d0}}, [{ra}]\n",
            "vld1.8 {{d2}}, [{rb}]\n",
            "vmovl.", $ext, " q0, d0\n",
            "vmovl.", $ext, " q1, d2\n",
            "vmlal.s16 q8, d0, d4\n",
            "vmlal.s16 q9, d1, d5\n",
            "vmlal.s16 q8, d2, d6\n",
            "vmlal.s16 q9, d3, d7\n",
        )
    };
}

/// The full-tile loop of one pixel: `$nt ≥ 1` tiles, each bias (8 i32) then the taps
/// (`$taps_code`), stored to `$o` (post-incremented); `{c}` advances 8 bytes per tile.
/// `$taps_code` may use `{kt}`/`{taps}` only in the generic form (`$($extra)*` declares them).
macro_rules! full_tiles {
    ($rows:expr, $w:expr, $o:expr, $nt:expr, [$($code:expr),+], $($extra:tt)*) => {
        asm!(
            ".fpu neon",
            "2:",
            "vld1.32 {{d16-d19}}, [{w}]!",
            "mov {ri}, {rows}",
            $($code,)+
            "vst1.32 {{d16-d19}}, [{o}]!",
            "add {c}, {c}, #8",
            "subs {nt}, {nt}, #1",
            "bne 2b",
            rows = in(reg) $rows,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            nt = inout(reg) $nt => _,
            c = inout(reg) 0usize => _,
            ri = out(reg) _,
            ra = out(reg) _,
            rb = out(reg) _,
            $($extra)*
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            options(nostack),
        )
    };
}

/// [`full_tiles!`] with the generic tap loop (any `{taps} ≥ 1`): pairs while two remain, then
/// the odd one.
macro_rules! full_tiles_any {
    ($ext:literal, $rows:expr, $w:expr, $o:expr, $nt:expr, $taps:expr) => {
        full_tiles!($rows, $w, $o, $nt, [
            "subs {kt}, {taps}, #2",
            "blt 4f",
            "3:",
            tap2!($ext),
            "subs {kt}, {kt}, #2",
            "bge 3b",
            "4:",
            // {kt} is -1 when one tap is left, -2 when none.
            "tst {kt}, #1",
            "beq 5f",
            tap1!($ext),
            "5:"
        ], taps = in(reg) $taps, kt = out(reg) _,)
    };
}

/// The full tiles of one pixel for a tap count `K` (9, 25, or 0: any).
///
/// # Safety
/// `rows` holds `taps` row pointers, each readable for `8 · nt` bytes; `w` holds `nt` packed
/// tiles of `taps` taps; `o` is writable for `8 · nt` i32; `nt ≥ 1`, `taps ≥ 1`; NEON.
#[inline(always)]
unsafe fn full_tiles<const SIGNED: bool, const K: usize>(
    rows: *const *const u8,
    w: *const i32,
    o: *mut i32,
    nt: usize,
    taps: usize,
) {
    // SAFETY: per tile the block reads the bias and `taps` weight vectors of that tile (inside
    // the packed buffer), 8 bytes at channel offset c < 8·nt of each of the `taps` rows (inside
    // the row), and writes 8 i32 at o + c; it clobbers only the declared registers and no stack.
    unsafe {
        match (SIGNED, K) {
            (false, 9) => full_tiles!(
                rows,
                w,
                o,
                nt,
                [".rept 4", tap2!("u8"), ".endr", tap1!("u8")],
            ),
            (true, 9) => full_tiles!(
                rows,
                w,
                o,
                nt,
                [".rept 4", tap2!("s8"), ".endr", tap1!("s8")],
            ),
            (false, 25) => full_tiles!(
                rows,
                w,
                o,
                nt,
                [".rept 12", tap2!("u8"), ".endr", tap1!("u8")],
            ),
            (true, 25) => full_tiles!(
                rows,
                w,
                o,
                nt,
                [".rept 12", tap2!("s8"), ".endr", tap1!("s8")],
            ),
            (false, _) => full_tiles_any!("u8", rows, w, o, nt, taps),
            (true, _) => full_tiles_any!("s8", rows, w, o, nt, taps),
        }
    }
}

/// The partial last tile of one pixel (`ch ≥ 8`, `1 ≤ n = ch % 8 ≤ 7`), see the module docs.
macro_rules! tail_tile {
    ($ext:literal, $rows:expr, $w:expr, $o:expr, $taps:expr, $cend:expr, $n:expr) => {
        asm!(
            ".fpu neon",
            // Shift count −8·(8 − n) in the low byte of each 64-bit lane (vshl by register
            // shifts right by a negative count).
            "vdup.32 d30, {sh}",
            "vld1.32 {{d16-d19}}, [{w}]!",
            "2:",
            "ldr {ra}, [{rows}], #4",
            "vld1.16 {{d4, d5}}, [{w}]!",
            "add {ra}, {ra}, {c}",
            "vld1.8 {{d0}}, [{ra}]",
            "vshl.u64 d0, d0, d30",
            concat!("vmovl.", $ext, " q0, d0"),
            "vmlal.s16 q8, d0, d4",
            "vmlal.s16 q9, d1, d5",
            "subs {kt}, {kt}, #1",
            "bne 2b",
            // Store n = 4a + 2b + c accumulators.
            "tst {n}, #4",
            "beq 3f",
            "vst1.32 {{d16, d17}}, [{o}]!",
            "vmov q8, q9",
            "3:",
            "tst {n}, #2",
            "beq 4f",
            "vst1.32 {{d16}}, [{o}]!",
            "vmov d16, d17",
            "4:",
            "tst {n}, #1",
            "beq 5f",
            "vst1.32 {{d16[0]}}, [{o}]",
            "5:",
            rows = inout(reg) $rows => _,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            kt = inout(reg) $taps => _,
            c = in(reg) $cend,
            n = in(reg) $n,
            sh = in(reg) (8 * $n) as isize - 64,
            ra = out(reg) _,
            out("d0") _, out("d1") _, out("d4") _, out("d5") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _, out("d30") _,
            options(nostack),
        )
    };
}

#[inline(always)]
unsafe fn i8_pixels<const SIGNED: bool, const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: *mut i32,
) {
    let taps = if K == 0 { taps_rt } else { K };
    debug_assert!(taps >= 1);
    let (nt, n) = (ch / 8, ch % 8);
    // The partial tile's packed words (bias + taps) start after the nt full tiles.
    let wt = nt * (8 + 4 * taps);
    // SAFETY: the caller's contract: px·taps row pointers, each row readable for ch bytes; the
    // packed buffer of pack_i8 for (taps, ch); out writable for px·ch i32. Per pixel the full
    // tiles cover channels 0..8·nt, the tail tile ch − n..ch (loading [ch − 8, ch) when
    // ch ≥ 8), the scalar path channels 0..ch < 8.
    unsafe {
        for p in 0..px {
            let rows = ind.add(p * taps);
            let o = out.add(p * ch);
            if nt > 0 {
                full_tiles::<SIGNED, K>(rows, w, o, nt, taps);
            }
            if n == 0 {
            } else if nt > 0 {
                let (wt, o, cend) = (w.add(wt), o.add(ch - n), ch - 8);
                if SIGNED {
                    tail_tile!("s8", rows, wt, o, taps, cend, n);
                } else {
                    tail_tile!("u8", rows, wt, o, taps, cend, n);
                }
            } else {
                few_channels::<SIGNED>(rows, w, o, ch, taps);
            }
        }
    }
}

/// Channels `0..ch < 8` of one pixel in scalar code, from the single packed tile at `w`.
///
/// # Safety
/// `rows` holds `taps` pointers each readable for `ch` bytes; `w` one packed tile of `taps`
/// taps; `o` writable for `ch` i32.
#[inline(never)]
unsafe fn few_channels<const SIGNED: bool>(
    rows: *const *const u8,
    w: *const i32,
    o: *mut i32,
    ch: usize,
    taps: usize,
) {
    // SAFETY: the caller's contract; the tile is 8 i32 then taps·8 i16.
    unsafe {
        let wq = w.add(8).cast::<i16>();
        for c in 0..ch {
            let mut acc = *w.add(c);
            for t in 0..taps {
                let b = *(*rows.add(t)).add(c);
                let x = if SIGNED {
                    i32::from(b as i8)
                } else {
                    i32::from(b)
                };
                acc = acc.wrapping_add(x.wrapping_mul(i32::from(*wq.add(8 * t + c))));
            }
            *o.add(c) = acc;
        }
    }
}
