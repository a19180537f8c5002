//! AArch32 NEON kernels (`asm!`, see [`super`]): `dwconv_c8__aarch32_neon`, int8 in 8-channel
//! tiles: bytes widened to i16 (`vmovl.u8` / `vmovl.s8`), `vmlal.s16` with the i16 weights
//! `w'` into two i32 accumulators (exact, as the aarch64 `smlal` kernel; same packed layout),
//! stored as i32 for the driver's requantization; `dwconv_c8_fp32__aarch32_neon`, the same with
//! the per-tensor Fp32 requantization fused into the store (see `QConsts` in the source: a
//! `1.5·2²³` add rounds ties to even, as A32 NEON has no `vcvtn`).
//!
//! Per output pixel one `asm!` block runs every full 8-channel tile, taps two at a time: for 3x3
//! with the nine row pointers held in registers and post-incremented (5 instructions per tap of
//! 8 channels), for 5x5 unrolled and any other kernel size in a loop, each tap's row pointer
//! loaded and offset by the tile's channel (6.5 per tap). A partial last tile of
//! `n = ch % 8` channels (when `ch ≥ 8`) loads the row's last 8 bytes `[ch − 8, ch)`, which are
//! inside the row, and shifts them right by `8 − n` bytes (`vshl.u64` by a negative count), so
//! its lanes are channels `ch − n..ch` and the padded lanes zero (their packed weights are zero
//! too); it stores `n` accumulators 4/2/1 at a time. With `ch < 8` no 8-byte load fits inside a
//! row, and the few channels are computed in scalar code from the same packed weights. Nothing
//! reads or writes outside the caller's rows, weights and outputs.
//!
//! `dwconv_f32_c8__aarch32_neon`: fp32 in 8-channel tiles, `vmla.f32`, clamp (3x3 with the row
//! pointers in registers, as int8); the last
//! `ch % 8` channels (when `ch ≥ 8`) through an extra packed tile of the last 8 channels that
//! overlaps the previous one (see [`pack_f32`]); `ch < 8` in scalar code.

#![allow(non_snake_case)]

use crate::ukernel::{check_pack, packed_len, scalar, Fp32Requant};
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
        // SAFETY: same contract; the i32 store writes px·ch i32.
        unsafe {
            by_taps!(taps, K => i8_pixels::<SIGNED, K>(px, taps, ind, w, ch, Out::I32(out)))
        }
    }
}

kernel_fn! {
    /// [`dwconv_c8__aarch32_neon`] with the per-tensor Fp32 requantization fused into the store
    /// (see [`crate::ukernel::DwI8QFn`] and the module docs); `q.channel_scales` is not read (the
    /// driver fuses per-tensor stages only, as for the other fused kernels).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwI8QFn`] with the layout of [`pack_i8`], and the CPU
    /// has NEON.
    q8 dwconv_c8_fp32__aarch32_neon(px, taps, ind, w, ch, q, out) {
        // SAFETY: same contract; out is writable for px·ch bytes.
        unsafe {
            match QConsts::new(q) {
                Some(qc) => by_taps!(taps, K => {
                    i8_pixels::<SIGNED, K>(px, taps, ind, w, ch, Out::Q8(out, &qc))
                }),
                None => requant_after(px, taps, ind, w, ch, q, out, dwconv_c8__aarch32_neon::<SIGNED>),
            }
        }
    }
}

/// Where a kernel stores: i32 accumulators, or bytes requantized with [`QConsts`].
#[derive(Clone, Copy)]
enum Out<'a> {
    I32(*mut i32),
    Q8(*mut u8, &'a QConsts),
}

/// The per-tensor Fp32 requantization as the `asm!` blocks take it, each constant broadcast to 4
/// lanes (loaded into q10-q14): `v = clamp(f32(a) · scale, lo, hi)`, then `v + 1.5·2²³` rounds
/// `v` to an integer, ties to even (A32 NEON has no `vcvtn`; `vadd.f32` rounds to nearest
/// even), held in the low mantissa bits, so `bits(v + 1.5·2²³) − (0x4B40_0000 − zp)` is
/// `round(v) + zp`, and the narrowing to bytes takes its low byte. Exact while `|v| ≤ 2²²`.
///
/// `lo` and `hi` are the stage's bounds each clamped into `[tmin − zp, tmax − zp]` (the output
/// type's range), so `round(v) + zp` is always inside the output type and the truncating
/// narrow equals the saturating one; clamping the bounds (not the value) gives the same result
/// as clamping to `[lo, hi]` then saturating, since clamping to an integer range commutes with
/// `max`/`min` and rounding.
#[repr(C, align(16))]
struct QConsts {
    /// scale, lo, hi, 1.5·2²³ (f32 bits), 0x4B40_0000 − zp, each ×4.
    v: [[u32; 4]; 5],
    /// The same for the scalar path.
    scale: f32,
    lo: f32,
    hi: f32,
    zp: i32,
}

/// `1.5 · 2²³` as f32 (its bit pattern is `0x4B40_0000`).
const MAGIC: f32 = 12_582_912.0;

impl QConsts {
    /// The constants of `q`, or `None` when a clamped bound is past `±2²²` (a zero point far
    /// outside the output type: the rounding trick would not be exact).
    fn new(q: &Fp32Requant<'_>) -> Option<QConsts> {
        let (tmin, tmax) = if q.signed {
            (-128i64, 127i64)
        } else {
            (0, 255)
        };
        let zp = i64::from(q.zero_point);
        let (a, b) = ((tmin - zp) as f32, (tmax - zp) as f32);
        // Exact integers while |tmin − zp|, |tmax − zp| ≤ 2²² (checked below).
        let lim = (1i64 << 22) - 256;
        if zp.abs() > lim {
            return None;
        }
        // `max` then `min`, as the kernels and the scalar `fp32_one` clamp (non-NaN bounds).
        let clamp = |v: f32| v.max(a).min(b);
        let (lo, hi) = (clamp(q.lo), clamp(q.hi));
        let sub = MAGIC.to_bits().wrapping_sub(q.zero_point as u32);
        Some(QConsts {
            v: [
                [q.scale.to_bits(); 4],
                [lo.to_bits(); 4],
                [hi.to_bits(); 4],
                [MAGIC.to_bits(); 4],
                [sub; 4],
            ],
            scale: q.scale,
            lo,
            hi,
            zp: q.zero_point,
        })
    }

    /// One accumulator, as the vector code computes it (the scalar `fp32_one` with these bounds).
    fn one(&self, a: i32) -> u8 {
        let v = ((a as f32) * self.scale).max(self.lo).min(self.hi);
        (v.round_ties_even() as i32 + self.zp) as u8
    }
}

/// The fused kernel's fallback for a zero point [`QConsts`] refuses: the i32 kernel a pixel at a
/// time into a buffer, requantized in scalar code as the other fused kernels' fallbacks do.
///
/// # Safety
/// The contract of [`crate::ukernel::DwI8QFn`]; `f` is the i32 kernel of the same layout.
#[cold]
#[allow(clippy::too_many_arguments)]
unsafe fn requant_after(
    px: usize,
    taps: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    q: &Fp32Requant<'_>,
    out: *mut u8,
    f: crate::ukernel::DwI8Fn,
) {
    let mut acc = vec![0i32; ch];
    for p in 0..px {
        // SAFETY: pixel p's taps pointers, acc holds ch i32, out row p holds ch bytes.
        unsafe {
            f(1, taps, ind.add(p * taps), w, ch, acc.as_mut_ptr());
            for (c, &a) in acc.iter().enumerate() {
                let v = ((a as f32) * q.scale).clamp(q.lo, q.hi).round_ties_even() as i32
                    + q.zero_point;
                *out.add(p * ch + c) = if q.signed {
                    v.clamp(-128, 127) as i8 as u8
                } else {
                    v.clamp(0, 255) as u8
                };
            }
        }
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

/// Loads the [`QConsts`] vectors at `{rb}` into q10-q14 (`{rb}` is free afterwards).
#[rustfmt::skip]
macro_rules! qsetup {
    () => {
        concat!(
            "vld1.32 {{d20-d23}}, [{rb}]!\n",
            "vld1.32 {{d24-d27}}, [{rb}]!\n",
            "vld1.32 {{d28-d29}}, [{rb}]\n",
        )
    };
}

/// Requantizes q8 (channels 0-3) and q9 (4-7) with the [`QConsts`] in q10-q14 into the 8 bytes
/// of d16.
#[rustfmt::skip]
macro_rules! requant8 {
    () => {
        concat!(
            "vcvt.f32.s32 q8, q8\n",
            "vcvt.f32.s32 q9, q9\n",
            "vmul.f32 q8, q8, q10\n",
            "vmul.f32 q9, q9, q10\n",
            "vmax.f32 q8, q8, q11\n",
            "vmax.f32 q9, q9, q11\n",
            "vmin.f32 q8, q8, q12\n",
            "vmin.f32 q9, q9, q12\n",
            "vadd.f32 q8, q8, q13\n",
            "vadd.f32 q9, q9, q13\n",
            "vsub.i32 q8, q8, q14\n",
            "vsub.i32 q9, q9, q14\n",
            "vmovn.i32 d16, q8\n",
            "vmovn.i32 d17, q9\n",
            "vmovn.i16 d16, q8\n",
        )
    };
}

/// The full-tile loop of one pixel: `$nt ≥ 1` tiles, each bias (8 i32) then the taps
/// (`$code`), then the store (`$store`, to `{o}` post-incremented); `{c}` advances 8 bytes per
/// tile. `$setup` runs once before the loop; `$($extra)*` declares the operands and clobbers
/// that only some forms use (`{rb}`, `{taps}`, `{kt}`, q10-q14).
macro_rules! full_tiles {
    ($rows:expr, $w:expr, $o:expr, $nt:expr, [$($code:expr),+], [$($setup:expr),*],
     [$($store:expr),+], $($extra:tt)*) => {
        asm!(
            ".fpu neon",
            $($setup,)*
            "2:",
            "vld1.32 {{d16-d19}}, [{w}]!",
            "mov {ri}, {rows}",
            $($code,)+
            $($store,)+
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
            $($extra)*
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            options(nostack),
        )
    };
}

/// [`full_tiles!`] with the store of `$out` (an [`Out`]): i32, or requantized bytes.
macro_rules! full_tiles_to {
    ($out:expr, $rows:expr, $w:expr, $nt:expr, [$($code:expr),+], $($extra:tt)*) => {
        match $out {
            Out::I32(o) => full_tiles!($rows, $w, o, $nt, [$($code),+], [],
                ["vst1.32 {{d16-d19}}, [{o}]!"], rb = out(reg) _, $($extra)*),
            Out::Q8(o, qc) => full_tiles!($rows, $w, o, $nt, [$($code),+], [qsetup!()],
                [requant8!(), "vst1.8 {{d16}}, [{o}]!"],
                rb = inout(reg) qc.v.as_ptr() => _, $($extra)*
                out("d20") _, out("d21") _, out("d22") _, out("d23") _, out("d24") _,
                out("d25") _, out("d26") _, out("d27") _, out("d28") _, out("d29") _,),
        }
    };
}

/// Two taps of a 3x3 tile from the row pointers `{$a}` and `{$b}` (post-incremented by 8).
#[rustfmt::skip]
macro_rules! ptap2 {
    ($ext:literal, $a:literal, $b:literal) => {
        concat!(
            "vld1.8 {{d0}}, [{", $a, "}]!\n",
            "vld1.8 {{d2}}, [{", $b, "}]!\n",
            "vld1.16 {{d4-d7}}, [{w}]!\n",
            "vmovl.", $ext, " q0, d0\n",
            "vmovl.", $ext, " q1, d2\n",
            "vmlal.s16 q8, d0, d4\n",
            "vmlal.s16 q9, d1, d5\n",
            "vmlal.s16 q8, d2, d6\n",
            "vmlal.s16 q9, d3, d7\n",
        )
    };
}

/// The full tiles of one 3x3 pixel with its nine row pointers held in `{i0}`..`{i8}` and
/// post-incremented (no pointer load or offset add per tap: 5 instructions per tap instead of
/// 6.5): `{i0}`..`{i7}` loaded from `rows` at the start, `{i8}` last (it holds `rows` until
/// then). That takes 12 general registers, every one `asm!` may allocate on A32 (not r6, r11,
/// sp, pc); `$setup` runs before the pointers are loaded and may use `{i0}` (declared by the
/// caller in `$($extra)*`).
macro_rules! tiles3x3 {
    ($ext:literal, $rows:expr, $w:expr, $o:expr, $nt:expr, [$($setup:expr),*],
     [$($store:expr),+], $($extra:tt)*) => {
        asm!(
            ".fpu neon",
            $($setup,)*
            "ldr {i0}, [{i8}]",
            "ldr {i1}, [{i8}, #4]",
            "ldr {i2}, [{i8}, #8]",
            "ldr {i3}, [{i8}, #12]",
            "ldr {i4}, [{i8}, #16]",
            "ldr {i5}, [{i8}, #20]",
            "ldr {i6}, [{i8}, #24]",
            "ldr {i7}, [{i8}, #28]",
            "ldr {i8}, [{i8}, #32]",
            "2:",
            "vld1.32 {{d16-d19}}, [{w}]!",
            ptap2!($ext, "i0", "i1"),
            ptap2!($ext, "i2", "i3"),
            ptap2!($ext, "i4", "i5"),
            ptap2!($ext, "i6", "i7"),
            concat!("vld1.8 {{d0}}, [{i8}]!\n",
                    "vld1.16 {{d4, d5}}, [{w}]!\n",
                    "vmovl.", $ext, " q0, d0\n",
                    "vmlal.s16 q8, d0, d4\n",
                    "vmlal.s16 q9, d1, d5"),
            $($store,)+
            "subs {nt}, {nt}, #1",
            "bne 2b",
            i8 = inout(reg) $rows => _,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            nt = inout(reg) $nt => _,
            i1 = out(reg) _,
            i2 = out(reg) _,
            i3 = out(reg) _,
            i4 = out(reg) _,
            i5 = out(reg) _,
            i6 = out(reg) _,
            i7 = out(reg) _,
            $($extra)*
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            options(nostack),
        )
    };
}

/// [`tiles3x3!`] with the store of `$out` (an [`Out`]).
macro_rules! tiles3x3_to {
    ($ext:literal, $out:expr, $rows:expr, $w:expr, $nt:expr) => {
        match $out {
            Out::I32(o) => tiles3x3!($ext, $rows, $w, o, $nt, [],
                ["vst1.32 {{d16-d19}}, [{o}]!"], i0 = out(reg) _,),
            Out::Q8(o, qc) => tiles3x3!($ext, $rows, $w, o, $nt, [
                "vld1.32 {{d20-d23}}, [{i0}]!",
                "vld1.32 {{d24-d27}}, [{i0}]!",
                "vld1.32 {{d28-d29}}, [{i0}]"
            ], [requant8!(), "vst1.8 {{d16}}, [{o}]!"],
                i0 = inout(reg) qc.v.as_ptr() => _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _, out("d24") _,
                out("d25") _, out("d26") _, out("d27") _, out("d28") _, out("d29") _,),
        }
    };
}

/// The full tiles of one pixel for a tap count `K` (9, 25, or 0: any), widening with `$ext`.
macro_rules! full_tiles_k {
    ($ext:literal, $K:expr, $out:expr, $rows:expr, $w:expr, $nt:expr, $taps:expr) => {
        match $K {
            // Unrolled in the template (not with `.rept`: LLVM sizes an `asm!` block by its
            // lines, and a literal pool placed past an underestimated block is out of range).
            // 3x3: the nine row pointers in registers (see `tiles3x3!`).
            9 => tiles3x3_to!($ext, $out, $rows, $w, $nt),
            25 => full_tiles_to!($out, $rows, $w, $nt, [
                tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext),
                tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext), tap2!($ext),
                tap1!($ext)
            ],),
            // Any taps ≥ 1: pairs while two remain, then the odd one.
            _ => full_tiles_to!($out, $rows, $w, $nt, [
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
            ], taps = in(reg) $taps, kt = out(reg) _,),
        }
    };
}

/// The full tiles of one pixel.
///
/// # Safety
/// `rows` holds `taps` row pointers, each readable for `8 · nt` bytes; `w` holds `nt` packed
/// tiles of `taps` taps; `out` is writable for `8 · nt` elements; `nt ≥ 1`, `taps ≥ 1`
/// (`K` is 0 or `taps`); NEON.
#[inline(always)]
unsafe fn full_tiles<const SIGNED: bool, const K: usize>(
    rows: *const *const u8,
    w: *const i32,
    out: Out<'_>,
    nt: usize,
    taps: usize,
) {
    // SAFETY: per tile the block reads the bias and `taps` weight vectors of that tile (inside
    // the packed buffer), 8 bytes at channel offset c < 8·nt of each of the `taps` rows (inside
    // the row), the 80 bytes of QConsts (Q8), and writes 8 elements at out + c; it clobbers only
    // the declared registers and no stack.
    unsafe {
        if SIGNED {
            full_tiles_k!("s8", K, out, rows, w, nt, taps)
        } else {
            full_tiles_k!("u8", K, out, rows, w, nt, taps)
        }
    }
}

/// The partial last tile of one pixel (`ch ≥ 8`, `1 ≤ n = ch % 8 ≤ 7`), see the module docs:
/// `$setup` before, `$store` after the accumulation (with `{n}` and `{o}`).
macro_rules! tail_tile {
    ($ext:literal, $rows:expr, $w:expr, $o:expr, $taps:expr, $cend:expr, $n:expr,
     [$($setup:expr),*], [$($store:expr),+], $($extra:tt)*) => {
        asm!(
            ".fpu neon",
            $($setup,)*
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
            $($store,)+
            rows = inout(reg) $rows => _,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            kt = inout(reg) $taps => _,
            c = in(reg) $cend,
            n = in(reg) $n,
            sh = in(reg) (8 * $n) as isize - 64,
            ra = out(reg) _,
            $($extra)*
            out("d0") _, out("d1") _, out("d4") _, out("d5") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _, out("d30") _,
            options(nostack),
        )
    };
}

/// [`tail_tile!`] with the store of `$out`: `n` i32 (4/2/1 at a time), or `n` requantized bytes.
macro_rules! tail_tile_to {
    ($ext:literal, $out:expr, $rows:expr, $w:expr, $taps:expr, $cend:expr, $n:expr) => {
        match $out {
            Out::I32(o) => tail_tile!($ext, $rows, $w, o, $taps, $cend, $n, [], [
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
                "5:"
            ],),
            Out::Q8(o, qc) => tail_tile!($ext, $rows, $w, o, $taps, $cend, $n, [
                "vld1.32 {{d20-d23}}, [{qp}]!",
                "vld1.32 {{d24-d27}}, [{qp}]!",
                "vld1.32 {{d28-d29}}, [{qp}]"
            ], [
                requant8!(),
                // Unaligned single-lane stores (no alignment qualifier).
                "tst {n}, #4",
                "beq 3f",
                "vst1.32 {{d16[0]}}, [{o}]!",
                "vext.8 d16, d16, d16, #4",
                "3:",
                "tst {n}, #2",
                "beq 4f",
                "vst1.16 {{d16[0]}}, [{o}]!",
                "vext.8 d16, d16, d16, #2",
                "4:",
                "tst {n}, #1",
                "beq 5f",
                "vst1.8 {{d16[0]}}, [{o}]",
                "5:"
            ], qp = inout(reg) qc.v.as_ptr() => _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _, out("d24") _,
                out("d25") _, out("d26") _, out("d27") _, out("d28") _, out("d29") _,),
        }
    };
}

/// Offsets an [`Out`] by `k` elements.
///
/// # Safety
/// As `pointer::add` on the output.
#[inline(always)]
unsafe fn out_at<'a>(o: Out<'a>, k: usize) -> Out<'a> {
    // SAFETY: the caller's.
    unsafe {
        match o {
            Out::I32(p) => Out::I32(p.add(k)),
            Out::Q8(p, q) => Out::Q8(p.add(k), q),
        }
    }
}

/// Every pixel: the full tiles, then the partial tile or the scalar channels.
///
/// # Safety
/// The contract of [`crate::ukernel::DwI8Fn`] (with `out` writable for `px · ch` elements of
/// its kind) and `K` 0 or `taps_rt`; NEON.
#[inline(always)]
unsafe fn i8_pixels<const SIGNED: bool, const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const u8,
    w: *const i32,
    ch: usize,
    out: Out<'_>,
) {
    let taps = if K == 0 { taps_rt } else { K };
    debug_assert!(taps >= 1);
    let (nt, n) = (ch / 8, ch % 8);
    // The partial tile's packed words (bias + taps) start after the nt full tiles.
    let wt = nt * (8 + 4 * taps);
    // SAFETY: the caller's contract: px·taps row pointers, each row readable for ch bytes; the
    // packed buffer of pack_i8 for (taps, ch); out writable for px·ch elements. Per pixel the
    // full tiles cover channels 0..8·nt, the tail tile ch − n..ch (loading [ch − 8, ch) when
    // ch ≥ 8), the scalar path channels 0..ch < 8.
    unsafe {
        for p in 0..px {
            let rows = ind.add(p * taps);
            let o = out_at(out, p * ch);
            if nt > 0 {
                full_tiles::<SIGNED, K>(rows, w, o, nt, taps);
            }
            if n == 0 {
            } else if nt > 0 {
                let (wt, o, cend) = (w.add(wt), out_at(o, ch - n), ch - 8);
                if SIGNED {
                    tail_tile_to!("s8", o, rows, wt, taps, cend, n);
                } else {
                    tail_tile_to!("u8", o, rows, wt, taps, cend, n);
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
/// taps; `o` writable for `ch` elements.
#[inline(never)]
unsafe fn few_channels<const SIGNED: bool>(
    rows: *const *const u8,
    w: *const i32,
    o: Out<'_>,
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
            match o {
                Out::I32(p) => *p.add(c) = acc,
                Out::Q8(p, q) => *p.add(c) = q.one(acc),
            }
        }
    }
}

/// Packed fp32 layout: `⌊ch/8⌋` 8-channel tiles (8 biases, then per tap 8 weights), then, when
/// `8 ∤ ch`, one more tile: for `ch ≥ 8` the last 8 channels `ch − 8..ch` (overlapping the
/// previous tile: the kernel computes them twice and stores all 8, so every load and store is
/// a whole in-bounds tile), for `ch < 8` the `ch` channels zero-padded (the scalar path's).
pub fn pack_f32(taps: usize, ch: usize, w: &[f32], bias: &[f32]) -> Result<Vec<f32>, DwError> {
    check_pack(taps, ch, w.len(), bias.len())?;
    let mut firsts: Vec<usize> = (0..ch / 8).map(|j| 8 * j).collect();
    if !ch.is_multiple_of(8) {
        firsts.push(ch.saturating_sub(8));
    }
    let mut out = try_with_capacity(
        packed_len(firsts.len(), 8, 1, 1, taps, 0)?,
        "packed weights",
    )?;
    for &c0 in &firsts {
        let at = |c: usize, v: f32| if c < ch { v } else { 0.0 };
        out.extend((c0..c0 + 8).map(|c| at(c, bias.get(c).copied().unwrap_or(0.0))));
        for t in 0..taps {
            out.extend((c0..c0 + 8).map(|c| at(c, w.get(t * ch + c).copied().unwrap_or(0.0))));
        }
    }
    Ok(out)
}

kernel_fn! {
    /// See [`crate::ukernel::DwF32Fn`]: `vmla.f32` (NEON's multiply then add, each rounded, and
    /// subnormals flushed to zero: within the fp32 tolerance of the reference; `vfma.f32` needs
    /// VFPv4, which `Isa::Neon` does not imply), then `vmax.f32`/`vmin.f32` (NaN stays NaN: a
    /// NaN operand gives the default NaN).
    ///
    /// # Safety
    /// The contract of [`crate::ukernel::DwF32Fn`] with the layout of [`pack_f32`], and the CPU
    /// has NEON.
    f32 dwconv_f32_c8__aarch32_neon(px, taps, ind, w, ch, lo, hi, out) {
        // SAFETY: same contract.
        unsafe { by_taps!(taps, K => f32_pixels::<K>(px, taps, ind, w, ch, lo, hi, out)) }
    }
}

/// One fp32 tap: 8 floats of the row at byte offset `{c}`, 8 weights, `vmla.f32` into q8/q9.
#[rustfmt::skip]
macro_rules! ftap1 {
    () => {
        concat!(
            "ldr {ra}, [{ri}], #4\n",
            "vld1.32 {{d4-d7}}, [{w}]!\n",
            "add {ra}, {ra}, {c}\n",
            "vld1.32 {{d0-d3}}, [{ra}]\n",
            "vmla.f32 q8, q0, q2\n",
            "vmla.f32 q9, q1, q3\n",
        )
    };
}

/// Two fp32 taps (as [`ftap1`], in tap order, loads first).
#[rustfmt::skip]
macro_rules! ftap2 {
    () => {
        concat!(
            "ldr {ra}, [{ri}], #4\n",
            "ldr {rb}, [{ri}], #4\n",
            "vld1.32 {{d4-d7}}, [{w}]!\n",
            "vld1.32 {{d24-d27}}, [{w}]!\n",
            "add {ra}, {ra}, {c}\n",
            "add {rb}, {rb}, {c}\n",
            "vld1.32 {{d0-d3}}, [{ra}]\n",
            "vld1.32 {{d20-d23}}, [{rb}]\n",
            "vmla.f32 q8, q0, q2\n",
            "vmla.f32 q9, q1, q3\n",
            "vmla.f32 q8, q10, q12\n",
            "vmla.f32 q9, q11, q13\n",
        )
    };
}

/// `$nt ≥ 1` fp32 tiles of one pixel from channel byte offset `$c0`: bias, taps (`$code`),
/// clamp to `[lo, hi]` (broadcast from s0/s1 into q14/q15), store 8 floats.
macro_rules! f32_tiles {
    ($rows:expr, $w:expr, $o:expr, $nt:expr, $c0:expr, $lo:expr, $hi:expr,
     [$($code:expr),+], $($extra:tt)*) => {
        asm!(
            ".fpu neon",
            "vdup.32 q14, d0[0]",
            "vdup.32 q15, d0[1]",
            "2:",
            "vld1.32 {{d16-d19}}, [{w}]!",
            "mov {ri}, {rows}",
            $($code,)+
            "vmax.f32 q8, q8, q14",
            "vmax.f32 q9, q9, q14",
            "vmin.f32 q8, q8, q15",
            "vmin.f32 q9, q9, q15",
            "vst1.32 {{d16-d19}}, [{o}]!",
            "add {c}, {c}, #32",
            "subs {nt}, {nt}, #1",
            "bne 2b",
            rows = in(reg) $rows,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            nt = inout(reg) $nt => _,
            c = inout(reg) $c0 => _,
            ri = out(reg) _,
            ra = out(reg) _,
            rb = out(reg) _,
            inout("s0") $lo => _,
            inout("s1") $hi => _,
            $($extra)*
            out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        )
    };
}

/// Two fp32 taps of a 3x3 tile from the row pointers `{$a}` and `{$b}` (post-incremented).
#[rustfmt::skip]
macro_rules! fptap2 {
    ($a:literal, $b:literal) => {
        concat!(
            "vld1.32 {{d0-d3}}, [{", $a, "}]!\n",
            "vld1.32 {{d20-d23}}, [{", $b, "}]!\n",
            "vld1.32 {{d4-d7}}, [{w}]!\n",
            "vld1.32 {{d24-d27}}, [{w}]!\n",
            "vmla.f32 q8, q0, q2\n",
            "vmla.f32 q9, q1, q3\n",
            "vmla.f32 q8, q10, q12\n",
            "vmla.f32 q9, q11, q13\n",
        )
    };
}

/// [`f32_tiles!`] for 3x3 from channel 0, the nine row pointers in registers (as
/// [`tiles3x3!`]): 4 instructions per tap instead of 6.
macro_rules! f32_tiles3x3 {
    ($rows:expr, $w:expr, $o:expr, $nt:expr, $lo:expr, $hi:expr) => {
        asm!(
            ".fpu neon",
            "vdup.32 q14, d0[0]",
            "vdup.32 q15, d0[1]",
            "ldr {i0}, [{i8}]",
            "ldr {i1}, [{i8}, #4]",
            "ldr {i2}, [{i8}, #8]",
            "ldr {i3}, [{i8}, #12]",
            "ldr {i4}, [{i8}, #16]",
            "ldr {i5}, [{i8}, #20]",
            "ldr {i6}, [{i8}, #24]",
            "ldr {i7}, [{i8}, #28]",
            "ldr {i8}, [{i8}, #32]",
            "2:",
            "vld1.32 {{d16-d19}}, [{w}]!",
            fptap2!("i0", "i1"),
            fptap2!("i2", "i3"),
            fptap2!("i4", "i5"),
            fptap2!("i6", "i7"),
            "vld1.32 {{d0-d3}}, [{i8}]!",
            "vld1.32 {{d4-d7}}, [{w}]!",
            "vmla.f32 q8, q0, q2",
            "vmla.f32 q9, q1, q3",
            "vmax.f32 q8, q8, q14",
            "vmax.f32 q9, q9, q14",
            "vmin.f32 q8, q8, q15",
            "vmin.f32 q9, q9, q15",
            "vst1.32 {{d16-d19}}, [{o}]!",
            "subs {nt}, {nt}, #1",
            "bne 2b",
            i8 = inout(reg) $rows => _,
            w = inout(reg) $w => _,
            o = inout(reg) $o => _,
            nt = inout(reg) $nt => _,
            i0 = out(reg) _,
            i1 = out(reg) _,
            i2 = out(reg) _,
            i3 = out(reg) _,
            i4 = out(reg) _,
            i5 = out(reg) _,
            i6 = out(reg) _,
            i7 = out(reg) _,
            inout("s0") $lo => _,
            inout("s1") $hi => _,
            out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        )
    };
}

/// `nt ≥ 1` fp32 tiles of one pixel from channel `c0` (see [`f32_tiles!`]).
///
/// # Safety
/// `rows` holds `taps ≥ 1` row pointers each readable for channels `c0..c0 + 8·nt`; `w` holds
/// `nt` packed tiles; `o` is writable for `8·nt` floats; `K` is 0 or `taps`; NEON.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_tiles<const K: usize>(
    rows: *const *const f32,
    w: *const f32,
    o: *mut f32,
    nt: usize,
    c0: usize,
    taps: usize,
    lo: f32,
    hi: f32,
) {
    let c0 = 4 * c0;
    // SAFETY: per tile the block reads the tile's bias and taps weights (inside the packed
    // buffer), 8 floats at channel c0 + 8j of each row (inside it), writes 8 floats at o + 8j;
    // it clobbers only the declared registers and no stack.
    unsafe {
        match K {
            9 if c0 == 0 => f32_tiles3x3!(rows, w, o, nt, lo, hi),
            9 => f32_tiles!(
                rows,
                w,
                o,
                nt,
                c0,
                lo,
                hi,
                [ftap2!(), ftap2!(), ftap2!(), ftap2!(), ftap1!()],
            ),
            25 => f32_tiles!(
                rows,
                w,
                o,
                nt,
                c0,
                lo,
                hi,
                [
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap2!(),
                    ftap1!()
                ],
            ),
            _ => f32_tiles!(rows, w, o, nt, c0, lo, hi, [
                "subs {kt}, {taps}, #2",
                "blt 4f",
                "3:",
                ftap2!(),
                "subs {kt}, {kt}, #2",
                "bge 3b",
                "4:",
                "tst {kt}, #1",
                "beq 5f",
                ftap1!(),
                "5:"
            ], taps = in(reg) taps, kt = out(reg) _,),
        }
    }
}

/// Every pixel of the fp32 kernel: the full tiles, then the overlapping last tile (`ch ≥ 8`)
/// or the scalar channels (`ch < 8`).
///
/// # Safety
/// The contract of [`crate::ukernel::DwF32Fn`] with the layout of [`pack_f32`]; `K` is 0 or
/// `taps_rt`; NEON.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn f32_pixels<const K: usize>(
    px: usize,
    taps_rt: usize,
    ind: *const *const f32,
    w: *const f32,
    ch: usize,
    lo: f32,
    hi: f32,
    out: *mut f32,
) {
    let taps = if K == 0 { taps_rt } else { K };
    debug_assert!(taps >= 1);
    let (nt, n) = (ch / 8, ch % 8);
    let tile = 8 * (1 + taps);
    // SAFETY: the caller's contract (px·taps rows of ch floats, the pack_f32 buffer, px·ch
    // outputs); the full tiles cover channels 0..8·nt, the last tile ch − 8..ch (ch ≥ 8) from
    // packed tile nt, the scalar path channels 0..ch < 8 from tile 0.
    unsafe {
        for p in 0..px {
            let rows = ind.add(p * taps);
            let o = out.add(p * ch);
            if nt > 0 {
                f32_tiles::<K>(rows, w, o, nt, 0, taps, lo, hi);
                if n > 0 {
                    f32_tiles::<K>(
                        rows,
                        w.add(nt * tile),
                        o.add(ch - 8),
                        1,
                        ch - 8,
                        taps,
                        lo,
                        hi,
                    );
                }
            } else {
                for c in 0..ch {
                    let mut v = *w.add(c);
                    for t in 0..taps {
                        v = (*(*rows.add(t)).add(c)).mul_add(*w.add(8 * (1 + t) + c), v);
                    }
                    *o.add(c) = scalar::clamp_nan(v, lo, hi);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stages the driver never builds (a `Requantizer` keeps its clamp inside the output type
    /// and its zero point in range): bounds past the type (the saturating narrow), and a zero
    /// point past ±2²² (the scalar fallback), against the scalar kernel's accumulators
    /// requantized as the other fused kernels' fallbacks do.
    #[test]
    fn fused_stages_outside_the_requantizer() {
        if !cpu_probe::Isa::Neon.supported() {
            return;
        }
        let (taps, px) = (9, 3);
        let mut s = 12345u32;
        let mut r = |m: u32| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (s >> 8) % m
        };
        for ch in [3, 8, 13, 24] {
            let x: Vec<u8> = (0..px * taps * ch).map(|_| r(256) as u8).collect();
            let w: Vec<i32> = (0..taps * ch).map(|_| r(511) as i32 - 255).collect();
            let bias: Vec<i32> = (0..ch).map(|_| r(20001) as i32 - 10000).collect();
            let ind: Vec<*const u8> = (0..px * taps).map(|i| x[i * ch..].as_ptr()).collect();
            let mut want = vec![0i32; px * ch];
            let sp = scalar::pack_i8(taps, ch, &w, &bias).unwrap();
            let np = pack_i8(taps, ch, &w, &bias).unwrap();
            // SAFETY: px·taps rows of ch bytes, the scalar layout, px·ch outputs.
            unsafe {
                scalar::dwconv_c1__scalar::<false>(
                    px,
                    taps,
                    ind.as_ptr(),
                    sp.as_ptr(),
                    ch,
                    want.as_mut_ptr(),
                )
            };
            for (signed, zp, lo, hi) in [
                (false, 0, -1000.0, 1000.0),
                (true, 3, -500.0, 400.0),
                (false, 1 << 23, -9e6, 9e6),
                (true, -(1 << 23), 8e6, 9e6),
            ] {
                let q = Fp32Requant {
                    scale: 0.0137,
                    lo,
                    hi,
                    zero_point: zp,
                    signed,
                    channel_scales: None,
                    rndnu: None,
                };
                let e: Vec<u8> = want
                    .iter()
                    .map(|&a| {
                        let v = ((a as f32) * q.scale).clamp(lo, hi).round_ties_even() as i32 + zp;
                        if signed {
                            v.clamp(-128, 127) as i8 as u8
                        } else {
                            v.clamp(0, 255) as u8
                        }
                    })
                    .collect();
                let mut got = vec![0u8; px * ch];
                // SAFETY: as above with this kernel's layout; NEON checked.
                unsafe {
                    dwconv_c8_fp32__aarch32_neon::<false>(
                        px,
                        taps,
                        ind.as_ptr(),
                        np.as_ptr(),
                        ch,
                        &q,
                        got.as_mut_ptr(),
                    )
                };
                assert_eq!(got, e, "ch {ch} signed {signed} zp {zp}");
            }
        }
    }
}
