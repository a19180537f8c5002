//! AArch32 NEON bulk kernels (`asm!`, see [`super`]). Each kernel runs its full blocks in one
//! `asm!` loop and a partial last block through zero-padded stack buffers (see [`split`]), so no
//! byte outside the caller's slices is read or written. Only caller-saved NEON registers are
//! used (d0-d7, d16-d31), each declared as a `d` clobber.
//!
//! * `Fp32` (`requant_fp32_x16__aarch32_neon`, and the per-channel `requant_fp32_pc_x8__…` with
//!   one scale per element): `vcvt.f32.s32` (round to nearest, as Rust's `as f32`), `vmul.f32`,
//!   `vmax`/`vmin` against `lo = qmin − zp`, `hi = qmax − zp` (integers, `|lo|, |hi| ≤ 255`
//!   because the zero point lies in the output type), then the round to nearest even: A32 NEON
//!   has no `vcvtn`, so `v + 1.5·2²³` (`vadd.f32` rounds to nearest even) leaves `round(v)` in
//!   the low mantissa bits, `bits = 0x4B40_0000 + round(v)` exactly while `|v| ≤ 2²²`; the low
//!   16 bits of `0x4B40_0000` are zero, so two truncating narrows (`vmovn.i32`, `vmovn.i16`)
//!   give `round(v)` mod 256 and a `vadd.i8` of the zero point gives the low byte of
//!   `round(v) + zp`, which is in `[qmin, qmax]`: the same byte as the scalar `fp32_one`, for
//!   `u8` and `i8` outputs alike. NEON arithmetic flushes subnormals to zero; no value here is
//!   subnormal (the scale is at least `2⁻³²` and the inputs are integers).
//! * QuantizeLinear (`quantize_x8__aarch32_neon`): NEON has no divide, so `x / scale` is the IEEE
//!   VFP `vdiv.f32` on each lane (the same operation, in the same FPSCR mode, as the scalar
//!   code's division); then NaN → 0 (`vceq.f32 q, q` as a mask, `vand`), the clamp (infinities
//!   saturate to the bounds; a subnormal quotient, flushed to zero by NEON, rounds to 0 as it
//!   should) and the same rounding and narrowing as `Fp32`.
//! * DequantizeLinear (`dequantize_{u8,i8}_x16__aarch32_neon`): widen (`vmovl.u8`/`vmovl.s8`),
//!   `vsub.i16` of the zero point (`|q − zp| ≤ 383`), widen to i32, `vcvt.f32.s32` (exact),
//!   `vmul.f32`. A subnormal scale (which NEON would flush) goes to the scalar kernel; with a
//!   normal scale and `|q − zp| ≥ 1` the product is never subnormal.
//! * `xor80_x16__aarch32_neon`: `veor` with `0x80`.
//! * `Rndnu`, `Gemmlowp` and `Precise`: the aarch64 kernels' integer sequences (`vqshl`,
//!   `vqdmulh` / `vqrdmulh`, `vsra`, `vrshl`; `Precise` on `−|x|` with the sign restored after
//!   the narrow), then the saturating output stage (see `sat16!`).
//!
//! Measured (executed instructions per element, 1024 elements per call, QEMU `-cpu cortex-a7`
//! with `scripts/qemu/qemu-insncount.c`, `arch=a32`, the difference of 1200 and 200 calls of
//! `examples/bulk_count.rs`, release build), scalar entry → this one: Fp32 47.1 → 2.09,
//! Gemmlowp 43.2 → 1.87, Rndnu 32.2 → 1.85, Precise 32.2 → 2.99, Fp32 per-channel (rows of 64)
//! 48.9 → 3.53, QuantizeLinear 31.2 → 3.48 (eight of them `vdiv.f32`, long-latency: the count
//! understates its cycle cost), DequantizeLinear u8 8.18 → 1.51, u8→i8 5.10 → 0.43.

#![allow(non_snake_case)] // kernels carry their table names: `<op>_x<N>__<isa>`

use core::arch::asm;

use crate::ukernel::scalar;
use crate::ukernel::{Kernels, QuantConsts, RequantConsts};

/// The kernels of this ISA (an entry of [`crate::ukernel::BULK`]).
pub(crate) const KERNELS: Kernels = kernels! {
    requant: [
        requant_fp32_x16__aarch32_neon,
        requant_gemmlowp_x16__aarch32_neon,
        requant_rndnu_x16__aarch32_neon,
        requant_precise_x16__aarch32_neon,
    ],
    requant_fp32_per_channel: requant_fp32_pc_x8__aarch32_neon,
    quantize: quantize_x8__aarch32_neon,
    dequantize_u8: dequantize_u8_x16__aarch32_neon,
    dequantize_i8: dequantize_i8_x16__aarch32_neon,
    xor80: xor80_x16__aarch32_neon,
};

/// `1.5 · 2²³` as f32 bits (module docs).
const MAGIC_BITS: u32 = 0x4B40_0000;

/// Runs `f(src, dst, blocks)` on the first `min(inp.len(), out.len())` elements: all full blocks
/// of `B` in one call on the slices themselves, then a partial last block (if any) in a second
/// call with `blocks = 1` on a copy padded with `pad` and a scratch output, of which only the
/// valid part is copied back. `f` is only called with `blocks ≥ 1`, `src` readable for
/// `blocks · B` elements and `dst` writable for as many.
#[inline(always)]
fn split<I: Copy, O: Copy + Default, const B: usize>(
    inp: &[I],
    out: &mut [O],
    pad: I,
    f: impl Fn(*const I, *mut O, usize),
) {
    let n = inp.len().min(out.len());
    let full = n / B;
    if full > 0 {
        f(inp.as_ptr(), out.as_mut_ptr(), full);
    }
    let done = full * B;
    if done < n {
        let mut src = [pad; B];
        src[..n - done].copy_from_slice(&inp[done..n]);
        let mut dst = [O::default(); B];
        f(src.as_ptr(), dst.as_mut_ptr(), 1);
        out[done..n].copy_from_slice(&dst[..n - done]);
    }
}

/// Requantize with `Fp32`, 16 per step (module docs).
///
/// # Safety
/// The CPU has NEON (the table's `Isa::Neon`).
pub(crate) unsafe fn requant_fp32_x16__aarch32_neon(
    c: &RequantConsts,
    acc: &[i32],
    out: &mut [u8],
) {
    let scale = c.scale.to_bits();
    let lo = (c.lo as f32).to_bits();
    let hi = (c.hi as f32).to_bits();
    split::<i32, u8, 16>(acc, out, 0, |a, o, n| {
        // SAFETY: NEON (caller); `split` gives `a` readable and `o` writable for 16·n ≥ 16
        // elements, and the loop reads/writes exactly 16 per step, n steps. Only the declared
        // caller-saved registers are written; no stack use.
        unsafe {
            asm!(
                ".fpu neon",
                "vdup.32 q0, {scale}",
                "vdup.32 q1, {lo}",
                "vdup.32 q2, {hi}",
                "vdup.32 q3, {magic}",
                "vdup.8 q8, {zp}",
                "2:",
                "vld1.32 {{d18-d21}}, [{a}]!",
                "vld1.32 {{d22-d25}}, [{a}]!",
                "vcvt.f32.s32 q9, q9",
                "vcvt.f32.s32 q10, q10",
                "vcvt.f32.s32 q11, q11",
                "vcvt.f32.s32 q12, q12",
                "vmul.f32 q9, q9, q0",
                "vmul.f32 q10, q10, q0",
                "vmul.f32 q11, q11, q0",
                "vmul.f32 q12, q12, q0",
                "vmax.f32 q9, q9, q1",
                "vmax.f32 q10, q10, q1",
                "vmax.f32 q11, q11, q1",
                "vmax.f32 q12, q12, q1",
                "vmin.f32 q9, q9, q2",
                "vmin.f32 q10, q10, q2",
                "vmin.f32 q11, q11, q2",
                "vmin.f32 q12, q12, q2",
                "vadd.f32 q9, q9, q3",
                "vadd.f32 q10, q10, q3",
                "vadd.f32 q11, q11, q3",
                "vadd.f32 q12, q12, q3",
                "vmovn.i32 d26, q9",
                "vmovn.i32 d27, q10",
                "vmovn.i32 d28, q11",
                "vmovn.i32 d29, q12",
                "vmovn.i16 d30, q13",
                "vmovn.i16 d31, q14",
                "vadd.i8 q15, q15, q8",
                "vst1.8 {{d30-d31}}, [{o}]!",
                "subs {n}, {n}, #1",
                "bne 2b",
                scale = in(reg) scale,
                lo = in(reg) lo,
                hi = in(reg) hi,
                magic = in(reg) MAGIC_BITS,
                zp = in(reg) c.zp,
                a = inout(reg) a => _,
                o = inout(reg) o => _,
                n = inout(reg) n => _,
                out("d0") _, out("d1") _, out("d2") _, out("d3") _,
                out("d4") _, out("d5") _, out("d6") _, out("d7") _,
                out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _,
                out("d24") _, out("d25") _, out("d26") _, out("d27") _,
                out("d28") _, out("d29") _, out("d30") _, out("d31") _,
                options(nostack),
            )
        }
    })
}

/// `Fp32` with one scale per element: `n` steps of 8 from `a`, `s` to `o`.
///
/// # Safety
/// NEON; `n ≥ 1`; `a`, `s` readable and `o` writable for `8·n` elements.
unsafe fn pc_steps(c: &RequantConsts, a: *const i32, s: *const f32, o: *mut u8, n: usize) {
    let lo = (c.lo as f32).to_bits();
    let hi = (c.hi as f32).to_bits();
    // SAFETY: the caller's contract; 8 elements read from `a` and `s` and 8 bytes written to `o`
    // per step. Only the declared caller-saved registers are written; no stack use.
    unsafe {
        asm!(
            ".fpu neon",
            "vdup.32 q2, {lo}",
            "vdup.32 q3, {hi}",
            "vdup.32 q8, {magic}",
            "vdup.8 d22, {zp}",
            "2:",
            "vld1.32 {{d18-d21}}, [{a}]!",
            "vld1.32 {{d0-d3}}, [{s}]!",
            "vcvt.f32.s32 q9, q9",
            "vcvt.f32.s32 q10, q10",
            "vmul.f32 q9, q9, q0",
            "vmul.f32 q10, q10, q1",
            "vmax.f32 q9, q9, q2",
            "vmax.f32 q10, q10, q2",
            "vmin.f32 q9, q9, q3",
            "vmin.f32 q10, q10, q3",
            "vadd.f32 q9, q9, q8",
            "vadd.f32 q10, q10, q8",
            "vmovn.i32 d26, q9",
            "vmovn.i32 d27, q10",
            "vmovn.i16 d30, q13",
            "vadd.i8 d30, d30, d22",
            "vst1.8 {{d30}}, [{o}]!",
            "subs {n}, {n}, #1",
            "bne 2b",
            lo = in(reg) lo,
            hi = in(reg) hi,
            magic = in(reg) MAGIC_BITS,
            zp = in(reg) c.zp,
            a = inout(reg) a => _,
            s = inout(reg) s => _,
            o = inout(reg) o => _,
            n = inout(reg) n => _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _,
            out("d26") _, out("d27") _, out("d30") _,
            options(nostack),
        )
    }
}

/// Requantize with `Fp32` and one scale per element (a per-channel row), 8 per step.
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn requant_fp32_pc_x8__aarch32_neon(
    c: &RequantConsts,
    scales: &[f32],
    acc: &[i32],
    out: &mut [u8],
) {
    let n = acc.len().min(out.len()).min(scales.len());
    let full = n / 8;
    if full > 0 {
        // SAFETY: NEON (caller); the three slices hold at least 8·full elements.
        unsafe { pc_steps(c, acc.as_ptr(), scales.as_ptr(), out.as_mut_ptr(), full) };
    }
    let done = full * 8;
    if done < n {
        let rem = n - done;
        let (mut ta, mut ts, mut to) = ([0i32; 8], [1f32; 8], [0u8; 8]);
        ta[..rem].copy_from_slice(&acc[done..n]);
        ts[..rem].copy_from_slice(&scales[done..n]);
        // SAFETY: NEON; the buffers hold 8 elements each.
        unsafe { pc_steps(c, ta.as_ptr(), ts.as_ptr(), to.as_mut_ptr(), 1) };
        out[done..n].copy_from_slice(&to[..rem]);
    }
}

/// ONNX QuantizeLinear, 8 per step: IEEE `x / scale` (VFP), NaN → 0, clamp, round to nearest
/// even, zero point (module docs).
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn quantize_x8__aarch32_neon(c: &QuantConsts, x: &[f32], out: &mut [u8]) {
    let lo = (c.lo as f32).to_bits();
    let hi = (c.hi as f32).to_bits();
    split::<f32, u8, 8>(x, out, 0.0, |x, o, n| {
        // SAFETY: NEON (caller); `split` gives `x` readable and `o` writable for 8·n ≥ 8
        // elements, 8 per step, n steps. s0-s8 are d0-d4; only declared caller-saved registers
        // are written; no stack use.
        unsafe {
            asm!(
                ".fpu neon",
                "vmov s8, {scale}",
                "vdup.32 q8, {lo}",
                "vdup.32 q9, {hi}",
                "vdup.32 q10, {magic}",
                "vdup.8 d22, {zp}",
                "2:",
                "vld1.32 {{d0-d3}}, [{x}]!",
                "vdiv.f32 s0, s0, s8",
                "vdiv.f32 s1, s1, s8",
                "vdiv.f32 s2, s2, s8",
                "vdiv.f32 s3, s3, s8",
                "vdiv.f32 s4, s4, s8",
                "vdiv.f32 s5, s5, s8",
                "vdiv.f32 s6, s6, s8",
                "vdiv.f32 s7, s7, s8",
                "vceq.f32 q12, q0, q0",
                "vceq.f32 q13, q1, q1",
                "vand q0, q0, q12",
                "vand q1, q1, q13",
                "vmax.f32 q0, q0, q8",
                "vmax.f32 q1, q1, q8",
                "vmin.f32 q0, q0, q9",
                "vmin.f32 q1, q1, q9",
                "vadd.f32 q0, q0, q10",
                "vadd.f32 q1, q1, q10",
                "vmovn.i32 d28, q0",
                "vmovn.i32 d29, q1",
                "vmovn.i16 d30, q14",
                "vadd.i8 d30, d30, d22",
                "vst1.8 {{d30}}, [{o}]!",
                "subs {n}, {n}, #1",
                "bne 2b",
                scale = in(reg) c.scale.to_bits(),
                lo = in(reg) lo,
                hi = in(reg) hi,
                magic = in(reg) MAGIC_BITS,
                zp = in(reg) c.zp,
                x = inout(reg) x => _,
                o = inout(reg) o => _,
                n = inout(reg) n => _,
                out("d0") _, out("d1") _, out("d2") _, out("d3") _, out("d4") _,
                out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                out("d20") _, out("d21") _, out("d22") _,
                out("d24") _, out("d25") _, out("d26") _, out("d27") _,
                out("d28") _, out("d29") _, out("d30") _,
                options(nostack),
            )
        }
    })
}

/// DequantizeLinear body: `$widen` is `vmovl.u8` or `vmovl.s8`.
macro_rules! dequant_kernel {
    ($name:ident, $widen0:literal, $widen1:literal, $scalar:path) => {
        /// DequantizeLinear: `(q − zp) as f32 · scale`, 16 per step (module docs).
        ///
        /// # Safety
        /// The CPU has NEON.
        pub(crate) unsafe fn $name(c: &QuantConsts, q: &[u8], out: &mut [f32]) {
            if c.scale < f32::MIN_POSITIVE {
                // A subnormal scale: NEON would flush it to zero.
                // SAFETY: same contract.
                return unsafe { $scalar(c, q, out) };
            }
            split::<u8, f32, 16>(q, out, 0, |q, o, n| {
                // SAFETY: NEON (caller); `split` gives `q` readable and `o` writable for
                // 16·n ≥ 16 elements, 16 per step, n steps. Only declared caller-saved
                // registers are written; no stack use.
                unsafe {
                    asm!(
                        ".fpu neon",
                        "vdup.16 q0, {zp}",
                        "vdup.32 q1, {scale}",
                        "2:",
                        "vld1.8 {{d16-d17}}, [{q}]!",
                        $widen0,
                        $widen1,
                        "vsub.i16 q9, q9, q0",
                        "vsub.i16 q10, q10, q0",
                        "vmovl.s16 q11, d18",
                        "vmovl.s16 q12, d19",
                        "vmovl.s16 q13, d20",
                        "vmovl.s16 q14, d21",
                        "vcvt.f32.s32 q11, q11",
                        "vcvt.f32.s32 q12, q12",
                        "vcvt.f32.s32 q13, q13",
                        "vcvt.f32.s32 q14, q14",
                        "vmul.f32 q11, q11, q1",
                        "vmul.f32 q12, q12, q1",
                        "vmul.f32 q13, q13, q1",
                        "vmul.f32 q14, q14, q1",
                        "vst1.32 {{d22-d25}}, [{o}]!",
                        "vst1.32 {{d26-d29}}, [{o}]!",
                        "subs {n}, {n}, #1",
                        "bne 2b",
                        zp = in(reg) c.zp,
                        scale = in(reg) c.scale.to_bits(),
                        q = inout(reg) q => _,
                        o = inout(reg) o => _,
                        n = inout(reg) n => _,
                        out("d0") _, out("d1") _, out("d2") _, out("d3") _,
                        out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                        out("d20") _, out("d21") _, out("d22") _, out("d23") _,
                        out("d24") _, out("d25") _, out("d26") _, out("d27") _,
                        out("d28") _, out("d29") _,
                        options(nostack),
                    )
                }
            })
        }
    };
}

dequant_kernel!(
    dequantize_u8_x16__aarch32_neon,
    "vmovl.u8 q9, d16",
    "vmovl.u8 q10, d17",
    scalar::dequantize_u8__scalar
);
dequant_kernel!(
    dequantize_i8_x16__aarch32_neon,
    "vmovl.s8 q9, d16",
    "vmovl.s8 q10, d17",
    scalar::dequantize_i8__scalar
);

/// `out = x ^ 0x80`, 16 bytes per step.
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn xor80_x16__aarch32_neon(x: &[u8], out: &mut [u8]) {
    split::<u8, u8, 16>(x, out, 0, |x, o, n| {
        // SAFETY: NEON (caller); `split` gives `x` readable and `o` writable for 16·n ≥ 16
        // bytes, 16 per step, n steps. Only declared caller-saved registers are written.
        unsafe {
            asm!(
                ".fpu neon",
                "vmov.i8 q0, #0x80",
                "2:",
                "vld1.8 {{d16-d17}}, [{x}]!",
                "veor q8, q8, q0",
                "vst1.8 {{d16-d17}}, [{o}]!",
                "subs {n}, {n}, #1",
                "bne 2b",
                x = inout(reg) x => _,
                o = inout(reg) o => _,
                n = inout(reg) n => _,
                out("d0") _, out("d1") _, out("d16") _, out("d17") _,
                options(nostack),
            )
        }
    })
}

/// One `asm!` loop of 16 results per step with the saturating output stage (XNNPACK's, as the
/// aarch64 kernels): `vqmovn.s32` to i16, `vqadd.s16` of the zero point, `vqmovun.s16` (`u8`
/// outputs) or `vqmovn.s16` (`i8`) to bytes, `vmax`/`vmin` against `[qmin, qmax]`. The
/// saturations replace every wide clamp: a value past an i16 or byte limit is past the clamp
/// bound on the same side. `$body` computes q9-q12 (the 16 loaded accumulators) into the i32
/// results from the constants q2 (multiplier), q3 (negated right shift) and q4 (left shift);
/// `$to16` (by default four `vqmovn.s32`) narrows them into q13-q14. q5-q6 are free for the
/// body (d8-d13 are declared, so the compiler saves them).
macro_rules! sat16 {
    ($k:expr, $a:expr, $o:expr, $n:expr, [$($narrow:literal),+], [$($body:literal),+]) => {
        sat16!($k, $a, $o, $n, [$($narrow),+], [$($body),+], [
            "vqmovn.s32 d26, q9",
            "vqmovn.s32 d27, q10",
            "vqmovn.s32 d28, q11",
            "vqmovn.s32 d29, q12"
        ])
    };
    ($k:expr, $a:expr, $o:expr, $n:expr, [$($narrow:literal),+], [$($body:literal),+],
     [$($to16:literal),+]) => {
        asm!(
            ".fpu neon",
            "vdup.8 q0, {min}",
            "vdup.8 q1, {max}",
            "vdup.32 q2, {mult}",
            "vdup.32 q3, {right}",
            "vdup.32 q4, {left}",
            "vdup.16 q8, {zp}",
            "2:",
            "vld1.32 {{d18-d21}}, [{a}]!",
            "vld1.32 {{d22-d25}}, [{a}]!",
            $($body,)+
            $($to16,)+
            "vqadd.s16 q13, q13, q8",
            "vqadd.s16 q14, q14, q8",
            $($narrow,)+
            "vst1.8 {{d30-d31}}, [{o}]!",
            "subs {n}, {n}, #1",
            "bne 2b",
            min = in(reg) $k.min,
            max = in(reg) $k.max,
            mult = in(reg) $k.mult,
            right = in(reg) $k.right,
            left = in(reg) $k.left,
            zp = in(reg) $k.zp,
            a = inout(reg) $a => _,
            o = inout(reg) $o => _,
            n = inout(reg) $n => _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        )
    };
}

/// [`sat16!`] with the output narrowing of `$k.signed`.
macro_rules! sat16_any {
    ($k:expr, $a:expr, $o:expr, $n:expr, [$($body:literal),+] $(, [$($to16:literal),+])?) => {
        if $k.signed {
            sat16!($k, $a, $o, $n,
                ["vqmovn.s16 d30, q13", "vqmovn.s16 d31, q14",
                 "vmax.s8 q15, q15, q0", "vmin.s8 q15, q15, q1"],
                [$($body),+] $(, [$($to16),+])?)
        } else {
            sat16!($k, $a, $o, $n,
                ["vqmovun.s16 d30, q13", "vqmovun.s16 d31, q14",
                 "vmax.u8 q15, q15, q0", "vmin.u8 q15, q15, q1"],
                [$($body),+] $(, [$($to16),+])?)
        }
    };
}

/// The constants of a [`sat16!`] loop.
struct SatConsts {
    /// `qmin`, `qmax` (low byte), zero point.
    min: i32,
    max: i32,
    zp: i32,
    /// Whether the output bytes are signed (`qmin < 0`).
    signed: bool,
    /// Multiplier, negated right shift, left shift of the scheme.
    mult: i32,
    right: i32,
    left: i32,
}

impl SatConsts {
    fn new(c: &RequantConsts, mult: i32, left: i32, right: i32) -> SatConsts {
        let (qmin, qmax) = (c.lo + c.zp, c.hi + c.zp);
        SatConsts {
            min: qmin,
            max: qmax,
            zp: c.zp,
            signed: qmin < 0,
            mult,
            right: -right,
            left,
        }
    }
}

/// Requantize with `Rndnu`, 16 per step: with `m31 = mantissa << 7` and the shift `s` split into
/// `post = max(s − 24, 1)`, `pre = post − (s − 24)`: `vqshl.s32 #pre` (saturating; only results
/// far past every clamp bound saturate), `vqdmulh.s32 m31` (the exact floor of `x·m31 / 2³¹`),
/// `vrshl.s32 −post` (adds `2^(post−1)`, shifts): the exact product rounded once, ties up (the
/// aarch64 kernel's derivation).
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn requant_rndnu_x16__aarch32_neon(
    c: &RequantConsts,
    acc: &[i32],
    out: &mut [u8],
) {
    let (m31, pre, post) = crate::requant::rndnu_fixed_point(i64::from(c.mantissa), c.shift);
    let k = SatConsts::new(c, m31, pre, post);
    split::<i32, u8, 16>(acc, out, 0, |a, o, n| {
        // SAFETY: NEON (caller); `split` gives `a` readable and `o` writable for 16·n ≥ 16
        // elements, 16 per step, n steps. Only declared registers are written (d8-d9 are
        // saved by the compiler); no stack use.
        unsafe {
            sat16_any!(
                k,
                a,
                o,
                n,
                [
                    "vqshl.s32 q9, q9, q4",
                    "vqshl.s32 q10, q10, q4",
                    "vqshl.s32 q11, q11, q4",
                    "vqshl.s32 q12, q12, q4",
                    "vqdmulh.s32 q9, q9, q2",
                    "vqdmulh.s32 q10, q10, q2",
                    "vqdmulh.s32 q11, q11, q2",
                    "vqdmulh.s32 q12, q12, q2",
                    "vrshl.s32 q9, q9, q3",
                    "vrshl.s32 q10, q10, q3",
                    "vrshl.s32 q11, q11, q3",
                    "vrshl.s32 q12, q12, q3"
                ]
            )
        }
    })
}

/// Requantize with `Gemmlowp`, 16 per step: `vqshl.s32` by the left exponent (saturating, as
/// gemmlowp), `vqrdmulh.s32` (exactly SRDHM, saturation included), then, for a negative
/// exponent, RoundingDivideByPOT as gemmlowp's NEON code: `vsra.s32 #31` subtracts 1 from
/// negative values and `vrshl.s32` shifts right rounding ties up, together ties away from zero
/// (`hm ≥ −mult > i32::MIN`, so the subtraction cannot wrap).
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn requant_gemmlowp_x16__aarch32_neon(
    c: &RequantConsts,
    acc: &[i32],
    out: &mut [u8],
) {
    let k = SatConsts::new(c, c.mult, c.left as i32, c.right as i32);
    split::<i32, u8, 16>(acc, out, 0, |a, o, n| {
        // SAFETY: NEON (caller); `split` gives `a` readable and `o` writable for 16·n ≥ 16
        // elements, 16 per step, n steps. Only declared registers are written (d8-d9 are
        // saved by the compiler); no stack use.
        unsafe {
            if k.right != 0 {
                sat16_any!(
                    k,
                    a,
                    o,
                    n,
                    [
                        "vqrdmulh.s32 q9, q9, q2",
                        "vqrdmulh.s32 q10, q10, q2",
                        "vqrdmulh.s32 q11, q11, q2",
                        "vqrdmulh.s32 q12, q12, q2",
                        "vsra.s32 q9, q9, #31",
                        "vsra.s32 q10, q10, #31",
                        "vsra.s32 q11, q11, #31",
                        "vsra.s32 q12, q12, #31",
                        "vrshl.s32 q9, q9, q3",
                        "vrshl.s32 q10, q10, q3",
                        "vrshl.s32 q11, q11, q3",
                        "vrshl.s32 q12, q12, q3"
                    ]
                )
            } else {
                sat16_any!(
                    k,
                    a,
                    o,
                    n,
                    [
                        "vqshl.s32 q9, q9, q4",
                        "vqshl.s32 q10, q10, q4",
                        "vqshl.s32 q11, q11, q4",
                        "vqshl.s32 q12, q12, q4",
                        "vqrdmulh.s32 q9, q9, q2",
                        "vqrdmulh.s32 q10, q10, q2",
                        "vqrdmulh.s32 q11, q11, q2",
                        "vqrdmulh.s32 q12, q12, q2"
                    ]
                )
            }
        }
    })
}

/// Requantize with `Precise`, 16 per step: the `Rndnu` steps on `n = −|x|` (`vabs`, `vneg`:
/// exact for every input, `i32::MIN` included) with the multiplier negated (`vqdmulh` of two
/// non-positive values, never both `i32::MIN`, is the non-negative floor), so the magnitude is
/// rounded ties up, i.e. away from zero once the sign is back; after the saturating narrow to
/// i16 the sign is restored as `(m ^ s) − s`, `s` the inputs' high halves (`vshrn.i32 #16`)
/// shifted right by 15 (0 or −1 per lane).
///
/// # Safety
/// The CPU has NEON.
pub(crate) unsafe fn requant_precise_x16__aarch32_neon(
    c: &RequantConsts,
    acc: &[i32],
    out: &mut [u8],
) {
    let s = c.shift as i32; // [16, 55]
    let post = (s - 24).max(1);
    let pre = post - (s - 24);
    let k = SatConsts::new(c, -((c.mantissa << 7) as i32), pre, post);
    split::<i32, u8, 16>(acc, out, 0, |a, o, n| {
        // SAFETY: NEON (caller); `split` gives `a` readable and `o` writable for 16·n ≥ 16
        // elements, 16 per step, n steps. Only declared registers are written (d8-d13 are
        // saved by the compiler); no stack use.
        unsafe {
            sat16_any!(
                k,
                a,
                o,
                n,
                [
                    "vshrn.i32 d10, q9, #16",
                    "vshrn.i32 d11, q10, #16",
                    "vshrn.i32 d12, q11, #16",
                    "vshrn.i32 d13, q12, #16",
                    "vshr.s16 q5, q5, #15",
                    "vshr.s16 q6, q6, #15",
                    "vabs.s32 q9, q9",
                    "vabs.s32 q10, q10",
                    "vabs.s32 q11, q11",
                    "vabs.s32 q12, q12",
                    "vneg.s32 q9, q9",
                    "vneg.s32 q10, q10",
                    "vneg.s32 q11, q11",
                    "vneg.s32 q12, q12",
                    "vqshl.s32 q9, q9, q4",
                    "vqshl.s32 q10, q10, q4",
                    "vqshl.s32 q11, q11, q4",
                    "vqshl.s32 q12, q12, q4",
                    "vqdmulh.s32 q9, q9, q2",
                    "vqdmulh.s32 q10, q10, q2",
                    "vqdmulh.s32 q11, q11, q2",
                    "vqdmulh.s32 q12, q12, q2",
                    "vrshl.s32 q9, q9, q3",
                    "vrshl.s32 q10, q10, q3",
                    "vrshl.s32 q11, q11, q3",
                    "vrshl.s32 q12, q12, q3"
                ],
                [
                    "vqmovn.s32 d26, q9",
                    "vqmovn.s32 d27, q10",
                    "vqmovn.s32 d28, q11",
                    "vqmovn.s32 d29, q12",
                    "veor q13, q13, q5",
                    "veor q14, q14, q6",
                    "vsub.i16 q13, q13, q5",
                    "vsub.i16 q14, q14, q6"
                ]
            )
        }
    })
}
