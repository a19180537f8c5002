//! AArch32 NEON kernels (`asm!`, see [`super`]): `tgemm_6x8__aarch32_neon`, the tuple GEMM of
//! NNPACK's aarch32 class (its sgemm/s4gemm 6x8 tile shape): 6 rows × 8 lanes of accumulators in
//! 12 q registers (q4-q15), the 6 `U` values of a channel in d0-d2 and 8 `V` lanes in q2-q3,
//! `vmla.f32` by scalar (NEON without VFPv4 has no `vfma`, and `Isa::Neon` does not imply
//! VFPv4). A 16-tile panel is two calls of the 8-lane block (lanes 0..8, then 8..16).
//!
//! Block transforms: F(6x6,3x3) and F(4x4,3x3) (`in6`/`out6`, `in4`/`out4`, through `in_asm` /
//! `out_asm`) with `Bᵀ`/`Aᵀ` written in `asm!` on 4 lanes held in q registers (`bt6_4`,
//! `at6_4`, `bt4_4`, `at4_4`: rows into a scratch block, then columns, the bias added in the
//! column pass), the same operations in the same order as the generic code (bit-identical
//! results, tested); F(2x2,3x3) is the generic code of [`crate::transforms`] over `Q`, 16 lanes
//! whose arithmetic (`+`, `−`, `×` scalar, `a + x·s`) is one `asm!` block each, through memory
//! (the compiler cannot keep NEON values in registers across `asm!` blocks on this toolchain).
//! Gather, scatter and the clamp stay scalar code. The transform cost of the
//! [`crate::Tile::Auto`] model is the scalar entry's 30 (W1 under QEMU: about 8 M of the 17.7 M
//! instructions per run outside the GEMM, about 9 instructions per point, tile and channel,
//! i.e. ~25 GEMM multiply-adds at this kernel's ~0.33 instructions per MAC: an estimate from
//! instruction counts, not measured on hardware).

#![allow(non_snake_case)]

use crate::transforms::{
    gather, scatter, Arith, Geometry, InJob, OutJob, Plain, Vector, F4, F6, L, LANES,
};
use crate::ukernel::{rows, Kernels, Transforms, MR};
use core::arch::asm;
use core::mem::MaybeUninit;
use core::ops::{Add, Mul, Sub};

crate::ukernel::block_transforms!(; super::Q; Plain; crate::transforms::ScalarIo);

/// 16 f32 lanes (the transforms' unit, as [`L`]) whose arithmetic runs as NEON `asm!` blocks.
///
/// Values of this type are only created in this entry's block transforms, which the plan
/// selects only when the CPU has NEON (`Isa::Neon`). Private to the crate: its safe operators
/// execute NEON instructions, which safe code outside the crate must not reach on a CPU
/// without them.
#[derive(Clone, Copy)]
pub(crate) struct Q(L);

/// `r = a <op> b` lane-wise over 16 lanes: a in q8-q11, b in q12-q15 (caller-saved registers).
macro_rules! q_binop {
    ($op:literal, $a:expr, $b:expr) => {{
        let mut r = MaybeUninit::<L>::uninit();
        // SAFETY: NEON is present wherever a `Q` exists (see the type's docs); a and b are
        // readable, r writable for 16 floats (64 bytes each).
        unsafe {
            asm!(
                ".fpu neon",
                "vld1.32 {{d16-d19}}, [{a}]!",
                "vld1.32 {{d20-d23}}, [{a}]",
                "vld1.32 {{d24-d27}}, [{b}]!",
                "vld1.32 {{d28-d31}}, [{b}]",
                concat!($op, " q8, q8, q12"),
                concat!($op, " q9, q9, q13"),
                concat!($op, " q10, q10, q14"),
                concat!($op, " q11, q11, q15"),
                "vst1.32 {{d16-d19}}, [{r}]!",
                "vst1.32 {{d20-d23}}, [{r}]",
                a = inout(reg) $a.0 .0.as_ptr() => _,
                b = inout(reg) $b.0 .0.as_ptr() => _,
                r = inout(reg) r.as_mut_ptr() as *mut f32 => _,
                out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _,
                out("d24") _, out("d25") _, out("d26") _, out("d27") _,
                out("d28") _, out("d29") _, out("d30") _, out("d31") _,
                options(nostack),
            );
            Q(r.assume_init())
        }
    }};
}

impl Add for Q {
    type Output = Q;
    #[inline(always)]
    fn add(self, o: Q) -> Q {
        q_binop!("vadd.f32", self, o)
    }
}

impl Sub for Q {
    type Output = Q;
    #[inline(always)]
    fn sub(self, o: Q) -> Q {
        q_binop!("vsub.f32", self, o)
    }
}

impl Mul<f32> for Q {
    type Output = Q;
    #[inline(always)]
    fn mul(self, s: f32) -> Q {
        let mut r = MaybeUninit::<L>::uninit();
        // SAFETY: as in `q_binop!`; s is in d0[0].
        unsafe {
            asm!(
                ".fpu neon",
                "vld1.32 {{d16-d19}}, [{a}]!",
                "vld1.32 {{d20-d23}}, [{a}]",
                "vmul.f32 q8, q8, d0[0]",
                "vmul.f32 q9, q9, d0[0]",
                "vmul.f32 q10, q10, d0[0]",
                "vmul.f32 q11, q11, d0[0]",
                "vst1.32 {{d16-d19}}, [{r}]!",
                "vst1.32 {{d20-d23}}, [{r}]",
                a = inout(reg) self.0 .0.as_ptr() => _,
                r = inout(reg) r.as_mut_ptr() as *mut f32 => _,
                in("s0") s,
                out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _,
                options(nostack),
            );
            Q(r.assume_init())
        }
    }
}

/// `a + x·s` as `vmla.f32` (a multiply, then an add: not fused).
impl Arith<Q> for Plain {
    #[inline(always)]
    fn madd(a: Q, x: Q, s: f32) -> Q {
        let mut r = MaybeUninit::<L>::uninit();
        // SAFETY: as in `q_binop!`; s is in d0[0].
        unsafe {
            asm!(
                ".fpu neon",
                "vld1.32 {{d16-d19}}, [{a}]!",
                "vld1.32 {{d20-d23}}, [{a}]",
                "vld1.32 {{d24-d27}}, [{x}]!",
                "vld1.32 {{d28-d31}}, [{x}]",
                "vmla.f32 q8, q12, d0[0]",
                "vmla.f32 q9, q13, d0[0]",
                "vmla.f32 q10, q14, d0[0]",
                "vmla.f32 q11, q15, d0[0]",
                "vst1.32 {{d16-d19}}, [{r}]!",
                "vst1.32 {{d20-d23}}, [{r}]",
                a = inout(reg) a.0 .0.as_ptr() => _,
                x = inout(reg) x.0 .0.as_ptr() => _,
                r = inout(reg) r.as_mut_ptr() as *mut f32 => _,
                in("s0") s,
                out("d16") _, out("d17") _, out("d18") _, out("d19") _,
                out("d20") _, out("d21") _, out("d22") _, out("d23") _,
                out("d24") _, out("d25") _, out("d26") _, out("d27") _,
                out("d28") _, out("d29") _, out("d30") _, out("d31") _,
                options(nostack),
            );
            Q(r.assume_init())
        }
    }
}

impl Vector for Q {
    #[inline(always)]
    fn from_l(l: &L) -> Q {
        Q(*l)
    }
    #[inline(always)]
    fn to_l(self) -> L {
        self.0
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Q {
        // SAFETY: readable for 16 floats (contract).
        Q(unsafe { <L as Vector>::load(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: writable for 16 floats (contract).
        unsafe { self.0.store(p) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Q {
        Q(L::splat(v))
    }
    #[inline(always)]
    fn clamp(self, lo: f32, hi: f32) -> Q {
        // Scalar code: keeps NaN (see `L::clamp`); only run once per output.
        Q(self.0.clamp(lo, hi))
    }
}

/// One channel step of [`tgemm_6x8__aarch32_neon`]: 6 `U` values (d0-d2) and 8 `V` lanes
/// (q2-q3) loaded, `vmla.f32` by scalar into the accumulators of the first `{r}` rows.
#[rustfmt::skip]
macro_rules! gemm_step {
    () => {
        concat!(
            "vld1.32 {{d0-d2}}, [{u}]!\n",
            "vld1.32 {{d4-d7}}, [{v}], {s}\n",
            "vmla.f32 q4, q2, d0[0]\n",
            "vmla.f32 q5, q3, d0[0]\n",
            ".if {r} > 1\n",
            "vmla.f32 q6, q2, d0[1]\n",
            "vmla.f32 q7, q3, d0[1]\n",
            ".endif\n",
            ".if {r} > 2\n",
            "vmla.f32 q8, q2, d1[0]\n",
            "vmla.f32 q9, q3, d1[0]\n",
            ".endif\n",
            ".if {r} > 3\n",
            "vmla.f32 q10, q2, d1[1]\n",
            "vmla.f32 q11, q3, d1[1]\n",
            ".endif\n",
            ".if {r} > 4\n",
            "vmla.f32 q12, q2, d2[0]\n",
            "vmla.f32 q13, q3, d2[0]\n",
            ".endif\n",
            ".if {r} > 5\n",
            "vmla.f32 q14, q2, d2[1]\n",
            "vmla.f32 q15, q3, d2[1]\n",
            ".endif\n",
        )
    };
}

tgemm_fn! {
    /// `tgemm_6x8__aarch32_neon::<R>`, `R ≤ 6` rows: one panel of 16 tiles as two 6x8 blocks
    /// (see the module docs). See [`crate::ukernel::GemmFn`].
    ///
    /// # Safety
    /// As [`crate::ukernel::GemmFn`] with one panel, and the CPU has NEON (`Isa::Neon`: the
    /// dispatch table checks it).
    tgemm_6x8__aarch32_neon(kc, u, v, _vps, m, _mps, accumulate) {
        const { assert!(R >= 1 && R <= MR) };
        for h in 0..2 {
            // SAFETY: u is readable for kc·6 floats (the loop reads 6 per channel: all rows,
            // also those ≥ R, which exist by the contract), v for kc·16 (8 per channel from
            // lane 8·h), m writable (and readable when accumulating: it holds the previous sums)
            // for R·16 floats (R rows of 8 from lane 8·h, stride 16 floats); the CPU has NEON
            // (the entry's ISA). d8-d15 are declared clobbered, so the compiler saves them.
            unsafe {
                asm!(
                    ".fpu neon",
                    "cmp {acc}, #0",
                    "beq 1f",
                    // Accumulate: start from the R rows in m.
                    "mov {t}, {m}",
                    "vld1.32 {{d8-d11}}, [{t}], {s}",
                    ".if {r} > 1",
                    "vld1.32 {{d12-d15}}, [{t}], {s}",
                    ".endif",
                    ".if {r} > 2",
                    "vld1.32 {{d16-d19}}, [{t}], {s}",
                    ".endif",
                    ".if {r} > 3",
                    "vld1.32 {{d20-d23}}, [{t}], {s}",
                    ".endif",
                    ".if {r} > 4",
                    "vld1.32 {{d24-d27}}, [{t}], {s}",
                    ".endif",
                    ".if {r} > 5",
                    "vld1.32 {{d28-d31}}, [{t}], {s}",
                    ".endif",
                    "b 2f",
                    "1:",
                    "vmov.i32 q4, #0",
                    "vmov.i32 q5, #0",
                    ".if {r} > 1",
                    "vmov.i32 q6, #0",
                    "vmov.i32 q7, #0",
                    ".endif",
                    ".if {r} > 2",
                    "vmov.i32 q8, #0",
                    "vmov.i32 q9, #0",
                    ".endif",
                    ".if {r} > 3",
                    "vmov.i32 q10, #0",
                    "vmov.i32 q11, #0",
                    ".endif",
                    ".if {r} > 4",
                    "vmov.i32 q12, #0",
                    "vmov.i32 q13, #0",
                    ".endif",
                    ".if {r} > 5",
                    "vmov.i32 q14, #0",
                    "vmov.i32 q15, #0",
                    ".endif",
                    "2:",
                    // kc/2 double steps, after one single step when kc is odd (C = kc & 1).
                    "lsrs {kc}, {kc}, #1",
                    "bcc 5f",
                    gemm_step!(),
                    "5:",
                    "cmp {kc}, #0",
                    "beq 4f",
                    "3:",
                    gemm_step!(),
                    gemm_step!(),
                    "subs {kc}, {kc}, #1",
                    "bne 3b",
                    "4:",
                    "vst1.32 {{d8-d11}}, [{m}], {s}",
                    ".if {r} > 1",
                    "vst1.32 {{d12-d15}}, [{m}], {s}",
                    ".endif",
                    ".if {r} > 2",
                    "vst1.32 {{d16-d19}}, [{m}], {s}",
                    ".endif",
                    ".if {r} > 3",
                    "vst1.32 {{d20-d23}}, [{m}], {s}",
                    ".endif",
                    ".if {r} > 4",
                    "vst1.32 {{d24-d27}}, [{m}], {s}",
                    ".endif",
                    ".if {r} > 5",
                    "vst1.32 {{d28-d31}}, [{m}], {s}",
                    ".endif",
                    r = const R,
                    acc = in(reg) u32::from(accumulate),
                    s = in(reg) 4 * LANES,
                    t = out(reg) _,
                    kc = inout(reg) kc => _,
                    u = inout(reg) u => _,
                    v = inout(reg) v.add(8 * h) => _,
                    m = inout(reg) m.add(8 * h) => _,
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
            }
        }
    }
}

/// Two f32 in one d register (an `asm!` input), `lo` in lane 0.
const fn pair(lo: f32, hi: f32) -> f64 {
    f64::from_bits(((hi.to_bits() as u64) << 32) | lo.to_bits() as u64)
}

/// `d0`-`d4` for [`bt6_4`]: the F(6x6,3x3) `Bᵀ` coefficients, two f32 per d register (lane 0
/// in the low half): `[5.25, −4.25]`, `[0.25, −1.25]`, `[0.5, −2.5]`, `[2, 4]`, `[−5, 0]`.
const BT6: [f64; 5] = [
    pair(5.25, -4.25),
    pair(0.25, -1.25),
    pair(0.5, -2.5),
    pair(2.0, 4.0),
    pair(-5.0, 0.0),
];

/// `Bᵀ x` of F(6x6,3x3) on 4 lanes: reads `x[k]` (4 floats) at `src + k·ss` bytes, writes
/// `y[k]` at `dst + k·ds` bytes, `k < 8`; the same operations in the same order as the
/// generic `F6::bt` with [`Plain`] (so the same results, NEON flushing denormals aside).
///
/// # Safety
/// Those 8 source quadruples readable, the 8 destination quadruples writable; NEON present.
#[inline(always)]
unsafe fn bt6_4(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    // SAFETY: the pointers as the contract; NEON present (contract). d8-d15 are declared
    // clobbered, so the compiler saves them.
    unsafe {
        asm!(
            ".fpu neon",
            "vld1.32 {{d16-d17}}, [{s}], {ss}",
            "vld1.32 {{d18-d19}}, [{s}], {ss}",
            "vld1.32 {{d20-d21}}, [{s}], {ss}",
            "vld1.32 {{d22-d23}}, [{s}], {ss}",
            "vld1.32 {{d24-d25}}, [{s}], {ss}",
            "vld1.32 {{d26-d27}}, [{s}], {ss}",
            "vld1.32 {{d28-d29}}, [{s}], {ss}",
            "vld1.32 {{d30-d31}}, [{s}]",
            // x0..x7 = q8..q15. y0 = (x0 − x6) + (x4 − x2)·5.25 -> q3
            "vsub.f32 q3, q8, q14",
            "vsub.f32 q4, q12, q10",
            "vmla.f32 q3, q4, d0[0]",
            // y7 = (x7 − x1) + (x3 − x5)·5.25 -> q4
            "vsub.f32 q4, q15, q9",
            "vsub.f32 q5, q11, q13",
            "vmla.f32 q4, q5, d0[0]",
            // e1 = (x2 + x6) + x4·(−4.25) -> q5; o1 = (x1 + x5) + x3·(−4.25) -> q8
            "vadd.f32 q5, q10, q14",
            "vmla.f32 q5, q12, d0[1]",
            "vadd.f32 q8, q9, q13",
            "vmla.f32 q8, q11, d0[1]",
            // y1 = e1 + o1 -> q15, y2 = e1 − o1 -> q5
            "vadd.f32 q15, q5, q8",
            "vsub.f32 q5, q5, q8",
            // e2 = (x6 + x2·0.25) + x4·(−1.25) -> q6; o2 = (x1·0.5 + x3·(−2.5)) + x5·2 -> q7
            "vmov q6, q14",
            "vmla.f32 q6, q10, d1[0]",
            "vmla.f32 q6, q12, d1[1]",
            "vmul.f32 q7, q9, d2[0]",
            "vmla.f32 q7, q11, d2[1]",
            "vmla.f32 q7, q13, d3[0]",
            // y3 = e2 + o2 -> q8, y4 = e2 − o2 -> q6
            "vadd.f32 q8, q6, q7",
            "vsub.f32 q6, q6, q7",
            // e3 = (x6 + x2·4) + x4·(−5) -> q14; o3 = (x1·2 + x3·(−2.5)) + x5·0.5 -> q7
            "vmla.f32 q14, q10, d3[1]",
            "vmla.f32 q14, q12, d4[0]",
            "vmul.f32 q7, q9, d3[0]",
            "vmla.f32 q7, q11, d2[1]",
            "vmla.f32 q7, q13, d2[0]",
            // y5 = e3 + o3 -> q10, y6 = e3 − o3 -> q12
            "vadd.f32 q10, q14, q7",
            "vsub.f32 q12, q14, q7",
            "vst1.32 {{d6-d7}}, [{d}], {ds}",
            "vst1.32 {{d30-d31}}, [{d}], {ds}",
            "vst1.32 {{d10-d11}}, [{d}], {ds}",
            "vst1.32 {{d16-d17}}, [{d}], {ds}",
            "vst1.32 {{d12-d13}}, [{d}], {ds}",
            "vst1.32 {{d20-d21}}, [{d}], {ds}",
            "vst1.32 {{d24-d25}}, [{d}], {ds}",
            "vst1.32 {{d8-d9}}, [{d}]",
            s = inout(reg) src => _,
            ss = in(reg) ss,
            d = inout(reg) dst => _,
            ds = in(reg) ds,
            in("d0") BT6[0], in("d1") BT6[1], in("d2") BT6[2], in("d3") BT6[3], in("d4") BT6[4],
            out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        );
    }
}

/// `d0`-`d4` for [`at6_4`]: the F(6x6,3x3) `Aᵀ` coefficients `[2, 0.5]`, `[4, 0.25]`,
/// `[8, 0.125]`, `[16, 0.0625]`, `[32, 0.03125]` (as [`BT6`]).
const AT6: [f64; 5] = [
    pair(2.0, 0.5),
    pair(4.0, 0.25),
    pair(8.0, 0.125),
    pair(16.0, 0.0625),
    pair(32.0, 0.03125),
];

/// `Aᵀ x` of F(6x6,3x3) on 4 lanes, plus `bias` in every output when `B`: reads `x[k]` (4
/// floats) at `src + k·ss` bytes, `k < 8`, writes `y[k]` at `dst + k·ds` bytes, `k < 6`; the
/// same operations in the same order as the generic `F6::at` with [`Plain`] (then `+ bias`).
///
/// # Safety
/// Those 8 source quadruples readable, the 6 destination quadruples writable; NEON present.
#[inline(always)]
unsafe fn at6_4<const B: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize, bias: f32) {
    // SAFETY: the pointers as the contract; NEON present (contract). d8-d15 are declared
    // clobbered, so the compiler saves them.
    unsafe {
        asm!(
            ".fpu neon",
            "vld1.32 {{d16-d17}}, [{s}], {ss}",
            "vld1.32 {{d18-d19}}, [{s}], {ss}",
            "vld1.32 {{d20-d21}}, [{s}], {ss}",
            "vld1.32 {{d22-d23}}, [{s}], {ss}",
            "vld1.32 {{d24-d25}}, [{s}], {ss}",
            "vld1.32 {{d26-d27}}, [{s}], {ss}",
            "vld1.32 {{d28-d29}}, [{s}], {ss}",
            "vld1.32 {{d30-d31}}, [{s}]",
            // x0..x7 = q8..q15. a1 -> q3, s1 -> q4, a2 -> q9, s2 -> q10, a3 -> q11, s3 -> q12
            "vadd.f32 q3, q9, q10",
            "vsub.f32 q4, q9, q10",
            "vadd.f32 q9, q11, q12",
            "vsub.f32 q10, q11, q12",
            "vadd.f32 q11, q13, q14",
            "vsub.f32 q12, q13, q14",
            // y0 = x0 + a1 + a2 + a3 -> q8
            "vadd.f32 q8, q8, q3",
            "vadd.f32 q8, q8, q9",
            "vadd.f32 q8, q8, q11",
            // y1 = (s1 + s2·2) + s3·0.5 -> q13
            "vmov q13, q4",
            "vmla.f32 q13, q10, d0[0]",
            "vmla.f32 q13, q12, d0[1]",
            // y2 = (a1 + a2·4) + a3·0.25 -> q14
            "vmov q14, q3",
            "vmla.f32 q14, q9, d1[0]",
            "vmla.f32 q14, q11, d1[1]",
            // y3 = (s1 + s2·8) + s3·0.125 -> q5
            "vmov q5, q4",
            "vmla.f32 q5, q10, d2[0]",
            "vmla.f32 q5, q12, d2[1]",
            // y4 = (a1 + a2·16) + a3·0.0625 -> q3
            "vmla.f32 q3, q9, d3[0]",
            "vmla.f32 q3, q11, d3[1]",
            // y5 = ((s1 + s2·32) + s3·0.03125) + x7 -> q4
            "vmla.f32 q4, q10, d4[0]",
            "vmla.f32 q4, q12, d4[1]",
            "vadd.f32 q4, q4, q15",
            ".if {b}",
            "vdup.32 q6, d5[0]",
            "vadd.f32 q8, q8, q6",
            "vadd.f32 q13, q13, q6",
            "vadd.f32 q14, q14, q6",
            "vadd.f32 q5, q5, q6",
            "vadd.f32 q3, q3, q6",
            "vadd.f32 q4, q4, q6",
            ".endif",
            "vst1.32 {{d16-d17}}, [{d}], {ds}",
            "vst1.32 {{d26-d27}}, [{d}], {ds}",
            "vst1.32 {{d28-d29}}, [{d}], {ds}",
            "vst1.32 {{d10-d11}}, [{d}], {ds}",
            "vst1.32 {{d6-d7}}, [{d}], {ds}",
            "vst1.32 {{d8-d9}}, [{d}]",
            b = const B as u32,
            s = inout(reg) src => _,
            ss = in(reg) ss,
            d = inout(reg) dst => _,
            ds = in(reg) ds,
            in("d0") AT6[0], in("d1") AT6[1], in("d2") AT6[2], in("d3") AT6[3], in("d4") AT6[4],
            in("s10") bias,
            out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            out("d28") _, out("d29") _, out("d30") _, out("d31") _,
            options(nostack),
        );
    }
}

/// `Bᵀ` and `Aᵀ` of one tile size in `asm!` on 4 lanes (see [`bt6_4`], [`at6_4`]).
trait AsmTf<const A: usize, const M: usize> {
    /// `Bᵀ x`: `x[k]` at `src + k·ss` bytes, `y[k]` to `dst + k·ds` bytes, `k < α`.
    ///
    /// # Safety
    /// Those quadruples readable / writable; NEON present.
    unsafe fn bt(src: *const f32, ss: usize, dst: *mut f32, ds: usize);
    /// `Aᵀ x` (`+ bias` when `B`): `x[k]`, `k < α`, at `src + k·ss` bytes, `y[k]`, `k < m`, to
    /// `dst + k·ds` bytes.
    ///
    /// # Safety
    /// Those quadruples readable / writable; NEON present.
    unsafe fn at<const B: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize, bias: f32);
}

impl AsmTf<8, 6> for F6 {
    #[inline(always)]
    unsafe fn bt(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
        // SAFETY: forwarded contract.
        unsafe { bt6_4(src, ss, dst, ds) }
    }
    #[inline(always)]
    unsafe fn at<const B: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize, bias: f32) {
        // SAFETY: forwarded contract.
        unsafe { at6_4::<B>(src, ss, dst, ds, bias) }
    }
}

impl AsmTf<6, 4> for F4 {
    #[inline(always)]
    unsafe fn bt(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
        // SAFETY: forwarded contract.
        unsafe { bt4_4(src, ss, dst, ds) }
    }
    #[inline(always)]
    unsafe fn at<const B: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize, bias: f32) {
        // SAFETY: forwarded contract.
        unsafe { at4_4::<B>(src, ss, dst, ds, bias) }
    }
}

/// The input block transform of the entry for a tile with `A = α` points (see
/// [`crate::ukernel::InFn`]): per channel, the scalar gather, then `Bᵀ` along rows into a
/// scratch block and along columns into the output points, 4 lanes at a time.
///
/// # Safety
/// As [`crate::ukernel::InFn`]; the CPU has NEON (the entry's ISA).
#[inline(always)]
unsafe fn in_asm<const A: usize, const M: usize, T: AsmTf<A, M>>(g: &Geometry, j: &InJob) {
    let row = A * LANES; // floats per row of α points of 16 lanes
    for i in 0..j.nch {
        let one = InJob {
            ch: j.ch + i,
            nch: 1,
            // SAFETY: channel i's points are inside the output region (contract).
            out: unsafe { j.out.add(i * LANES) },
            ..*j
        };
        let mut d = [[L::ZERO; A]; A];
        let mut t = [[L::ZERO; A]; A];
        // SAFETY: forwarded contract, for one channel; d is α×α points of 16 lanes.
        unsafe { gather::<A, M>(g, &one, &mut d) };
        let (dp, tp) = (d.as_ptr() as *const f32, t.as_mut_ptr() as *mut f32);
        for r in 0..A {
            for q in 0..4 {
                // SAFETY: row r of d and of t, lanes 4q..4q+4 of its α points (stride 16
                // floats); NEON present (contract).
                unsafe { T::bt(dp.add(r * row + 4 * q), 64, tp.add(r * row + 4 * q), 64) };
            }
        }
        for c in 0..A {
            for q in 0..4 {
                // SAFETY: column c of t (stride one row), lanes 4q..4q+4; the output points
                // (k·α + c)·stride_p, k < α, are writable for 16 floats (contract).
                unsafe {
                    T::bt(
                        (tp as *const f32).add(c * LANES + 4 * q),
                        4 * row,
                        one.out.add(c * one.stride_p + 4 * q),
                        4 * A * one.stride_p,
                    )
                };
            }
        }
    }
}

/// The output block transform of the entry for a tile with `A = α` points and `M = m`
/// outputs (see [`crate::ukernel::OutFn`]): per channel, `Aᵀ` along rows of the products into
/// a scratch block, along columns with the bias into the m×m outputs of the 16 tiles (4 lanes
/// at a time), the clamp (scalar code, only with an activation: keeps NaN) and the scalar
/// scatter.
///
/// # Safety
/// As [`crate::ukernel::OutFn`]; the CPU has NEON (the entry's ISA).
#[inline(always)]
unsafe fn out_asm<const A: usize, const M: usize, T: AsmTf<A, M>>(g: &Geometry, j: &OutJob) {
    for i in 0..j.nch {
        let one = OutJob {
            ch: j.ch + i,
            nch: 1,
            // SAFETY: channel i's points and bias are inside the regions of the contract.
            m: unsafe { j.m.add(i * LANES) },
            // SAFETY: as above.
            bias: unsafe { j.bias.add(i) },
            ..*j
        };
        // SAFETY: one readable bias (contract).
        let bias = unsafe { *one.bias };
        let mut t = [[L::ZERO; M]; A];
        let mut y = [[L::ZERO; M]; M];
        let tp = t.as_mut_ptr() as *mut f32;
        let yp = y.as_mut_ptr() as *mut f32;
        for r in 0..A {
            for q in 0..4 {
                // SAFETY: points r·α + k, k < α, of the products are readable for 16 floats
                // (contract); row r of t holds m points of 16 lanes; NEON present (contract).
                unsafe {
                    T::at::<false>(
                        one.m.add(r * A * one.stride_p + 4 * q),
                        4 * one.stride_p,
                        tp.add(r * M * LANES + 4 * q),
                        4 * LANES,
                        0.0,
                    )
                };
            }
        }
        for c in 0..M {
            for q in 0..4 {
                // SAFETY: column c of t (stride one row of m points), lanes 4q..4q+4; y[k][c],
                // k < m, inside y (stride one row of m points); NEON present (contract).
                unsafe {
                    T::at::<true>(
                        (tp as *const f32).add(c * LANES + 4 * q),
                        4 * M * LANES,
                        yp.add(c * LANES + 4 * q),
                        4 * M * LANES,
                        bias,
                    )
                };
            }
        }
        // No clamp without an activation, so that NaN stays NaN.
        if one.lo > f32::NEG_INFINITY || one.hi < f32::INFINITY {
            for v in y.iter_mut().flatten() {
                *v = v.clamp(one.lo, one.hi);
            }
        }
        // SAFETY: forwarded contract, for one channel.
        unsafe { scatter::<A, M>(g, &one, &y) };
    }
}

/// F(6x6,3x3) input transform of the entry ([`in_asm`] with [`bt6_4`]).
///
/// # Safety
/// As [`crate::ukernel::InFn`]; the CPU has NEON (the entry's ISA).
unsafe fn in6(g: &Geometry, j: &InJob) {
    // SAFETY: forwarded contract.
    unsafe { in_asm::<8, 6, F6>(g, j) }
}

/// F(6x6,3x3) output transform of the entry ([`out_asm`] with [`at6_4`]).
///
/// # Safety
/// As [`crate::ukernel::OutFn`]; the CPU has NEON (the entry's ISA).
unsafe fn out6(g: &Geometry, j: &OutJob) {
    // SAFETY: forwarded contract.
    unsafe { out_asm::<8, 6, F6>(g, j) }
}

/// F(4x4,3x3) input transform of the entry ([`in_asm`] with [`bt4_4`]).
///
/// # Safety
/// As [`crate::ukernel::InFn`]; the CPU has NEON (the entry's ISA).
unsafe fn in4(g: &Geometry, j: &InJob) {
    // SAFETY: forwarded contract.
    unsafe { in_asm::<6, 4, F4>(g, j) }
}

/// F(4x4,3x3) output transform of the entry ([`out_asm`] with [`at4_4`]).
///
/// # Safety
/// As [`crate::ukernel::OutFn`]; the CPU has NEON (the entry's ISA).
unsafe fn out4(g: &Geometry, j: &OutJob) {
    // SAFETY: forwarded contract.
    unsafe { out_asm::<6, 4, F4>(g, j) }
}

/// `d0`-`d1` for [`bt4_4`]: the F(4x4,3x3) `Bᵀ` coefficients `[−4, 4]`, `[−5, 2]` (as [`BT6`]).
const BT4: [f64; 2] = [pair(-4.0, 4.0), pair(-5.0, 2.0)];

/// `d0`-`d1` for [`at4_4`]: the F(4x4,3x3) `Aᵀ` coefficients `[2, 4]`, `[8, 0]`.
const AT4: [f64; 2] = [pair(2.0, 4.0), pair(8.0, 0.0)];

/// `Bᵀ x` of F(4x4,3x3) on 4 lanes, as [`bt6_4`] with 6 points: the same operations in the
/// same order as the generic `F4::bt` with [`Plain`].
///
/// # Safety
/// The 6 source quadruples readable, the 6 destination quadruples writable; NEON present.
#[inline(always)]
unsafe fn bt4_4(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    // SAFETY: the pointers as the contract; NEON present (contract). d8-d15 are declared
    // clobbered, so the compiler saves them.
    unsafe {
        asm!(
            ".fpu neon",
            "vld1.32 {{d16-d17}}, [{s}], {ss}",
            "vld1.32 {{d18-d19}}, [{s}], {ss}",
            "vld1.32 {{d20-d21}}, [{s}], {ss}",
            "vld1.32 {{d22-d23}}, [{s}], {ss}",
            "vld1.32 {{d24-d25}}, [{s}], {ss}",
            "vld1.32 {{d26-d27}}, [{s}]",
            // x0..x5 = q8..q13. p = x4 + x2·(−4) -> q1, q = x3 + x1·(−4) -> q2
            "vmov q1, q12",
            "vmla.f32 q1, q10, d0[0]",
            "vmov q2, q11",
            "vmla.f32 q2, q9, d0[0]",
            // r = x4 − x2 -> q3, s = (x3 − x1)·2 -> q4
            "vsub.f32 q3, q12, q10",
            "vsub.f32 q4, q11, q9",
            "vmul.f32 q4, q4, d1[1]",
            // y0 = (x4 + x0·4) + x2·(−5) -> q5, y5 = (x5 + x1·4) + x3·(−5) -> q6
            "vmov q5, q12",
            "vmla.f32 q5, q8, d0[1]",
            "vmla.f32 q5, q10, d1[0]",
            "vmov q6, q13",
            "vmla.f32 q6, q9, d0[1]",
            "vmla.f32 q6, q11, d1[0]",
            // y1 = p + q -> q7, y2 = p − q -> q1, y3 = r + s -> q2, y4 = r − s -> q3
            "vadd.f32 q7, q1, q2",
            "vsub.f32 q1, q1, q2",
            "vadd.f32 q2, q3, q4",
            "vsub.f32 q3, q3, q4",
            "vst1.32 {{d10-d11}}, [{d}], {ds}",
            "vst1.32 {{d14-d15}}, [{d}], {ds}",
            "vst1.32 {{d2-d3}}, [{d}], {ds}",
            "vst1.32 {{d4-d5}}, [{d}], {ds}",
            "vst1.32 {{d6-d7}}, [{d}], {ds}",
            "vst1.32 {{d12-d13}}, [{d}]",
            s = inout(reg) src => _,
            ss = in(reg) ss,
            d = inout(reg) dst => _,
            ds = in(reg) ds,
            in("d0") BT4[0], in("d1") BT4[1],
            out("d2") _, out("d3") _, out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            options(nostack),
        );
    }
}

/// `Aᵀ x` of F(4x4,3x3) on 4 lanes (`+ bias` when `B`), as [`at6_4`] with 6 points and 4
/// outputs: the same operations in the same order as the generic `F4::at` with [`Plain`].
///
/// # Safety
/// The 6 source quadruples readable, the 4 destination quadruples writable; NEON present.
#[inline(always)]
unsafe fn at4_4<const B: bool>(src: *const f32, ss: usize, dst: *mut f32, ds: usize, bias: f32) {
    // SAFETY: the pointers as the contract; NEON present (contract). d8-d15 are declared
    // clobbered, so the compiler saves them.
    unsafe {
        asm!(
            ".fpu neon",
            "vld1.32 {{d16-d17}}, [{s}], {ss}",
            "vld1.32 {{d18-d19}}, [{s}], {ss}",
            "vld1.32 {{d20-d21}}, [{s}], {ss}",
            "vld1.32 {{d22-d23}}, [{s}], {ss}",
            "vld1.32 {{d24-d25}}, [{s}], {ss}",
            "vld1.32 {{d26-d27}}, [{s}]",
            // x0..x5 = q8..q13. a -> q2, b -> q3, c -> q4, d -> q5
            "vadd.f32 q2, q9, q10",
            "vsub.f32 q3, q9, q10",
            "vadd.f32 q4, q11, q12",
            "vsub.f32 q5, q11, q12",
            // y0 = x0 + a + c -> q8, y1 = b + d·2 -> q6
            "vadd.f32 q8, q8, q2",
            "vadd.f32 q8, q8, q4",
            "vmov q6, q3",
            "vmla.f32 q6, q5, d0[0]",
            // y2 = a + c·4 -> q2, y3 = (b + d·8) + x5 -> q3
            "vmla.f32 q2, q4, d0[1]",
            "vmla.f32 q3, q5, d1[0]",
            "vadd.f32 q3, q3, q13",
            ".if {b}",
            "vdup.32 q7, d2[0]",
            "vadd.f32 q8, q8, q7",
            "vadd.f32 q6, q6, q7",
            "vadd.f32 q2, q2, q7",
            "vadd.f32 q3, q3, q7",
            ".endif",
            "vst1.32 {{d16-d17}}, [{d}], {ds}",
            "vst1.32 {{d12-d13}}, [{d}], {ds}",
            "vst1.32 {{d4-d5}}, [{d}], {ds}",
            "vst1.32 {{d6-d7}}, [{d}]",
            b = const B as u32,
            s = inout(reg) src => _,
            ss = in(reg) ss,
            d = inout(reg) dst => _,
            ds = in(reg) ds,
            in("d0") AT4[0], in("d1") AT4[1],
            in("s4") bias,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _,
            out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _,
            options(nostack),
        );
    }
}

/// The F(6x6,3x3) transforms of the entry: [`in6`] and [`out6`].
const F6X6: Transforms = Transforms {
    input: in6,
    output: out6,
};

/// The F(4x4,3x3) transforms of the entry: [`in4`] and [`out4`].
const F4X4: Transforms = Transforms {
    input: in4,
    output: out4,
};

/// The generic F(6x6,3x3) and F(4x4,3x3) transforms over [`Q`], replaced by [`in6`],
/// [`out6`], [`in4`], [`out4`]; the tests compare them.
#[cfg_attr(not(test), allow(dead_code))]
const GENERIC: [Transforms; 2] = [tf::F6X6, tf::F4X4];

/// The kernels of the `tgemm_6x8__aarch32_neon` entry: the F2x2 block transforms over [`Q`],
/// the `asm!` F4x4 and F6x6 ones, this file's GEMM, and the scalar entry's transform cost (see
/// the module docs).
pub(crate) const KERNELS: Kernels =
    Kernels::one_panel([tf::F2X2, F4X4, F6X6], rows!(tgemm_6x8__aarch32_neon), 30.0);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ukernel::scalar::tgemm_6x16__scalar;
    use crate::ukernel::GemmFn;

    /// Every row count, channel counts 0..=9 and 37, storing and accumulating, against the
    /// scalar kernel (sums in another order: a relative gate), and nothing written past the `R`
    /// rows of the panel.
    #[test]
    fn matches_scalar_for_every_row_count() {
        if !cpu_probe::Isa::Neon.supported() {
            return;
        }
        let neon: [GemmFn; MR] = rows!(tgemm_6x8__aarch32_neon);
        let reference: [GemmFn; MR] = rows!(tgemm_6x16__scalar);
        let mut seed = 0x9E37_79B9u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        for r in 1..=MR {
            for kc in (0..=9).chain([37]) {
                for accumulate in [false, true] {
                    let u: Vec<f32> = (0..kc * MR).map(|_| next()).collect();
                    let v: Vec<f32> = (0..kc * LANES).map(|_| next()).collect();
                    let m0: Vec<f32> = (0..(MR + 1) * LANES).map(|_| next()).collect();
                    let (mut want, mut got) = (m0.clone(), m0.clone());
                    // SAFETY: u holds kc·6 floats, v kc·16, m 7·16 ≥ r·16; NEON is supported.
                    unsafe {
                        reference[r - 1](
                            kc,
                            u.as_ptr(),
                            v.as_ptr(),
                            0,
                            want.as_mut_ptr(),
                            0,
                            accumulate,
                        );
                        neon[r - 1](
                            kc,
                            u.as_ptr(),
                            v.as_ptr(),
                            0,
                            got.as_mut_ptr(),
                            0,
                            accumulate,
                        );
                    }
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        if i >= r * LANES {
                            assert_eq!(g.to_bits(), m0[i].to_bits(), "r={r} kc={kc} i={i}");
                        } else {
                            let tol = 1e-5 * (kc as f32 + 2.0);
                            assert!(
                                (g - w).abs() <= tol,
                                "r={r} kc={kc} acc={accumulate} i={i}: {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The asm F(6x6,3x3) and F(4x4,3x3) transforms equal the generic ones over [`Q`] bit for
    /// bit (the same operations in the same order), on a padded 13x11 image (6 or 12 tiles: a
    /// partial block), with and without a clamp.
    #[test]
    fn asm_transforms_equal_the_generic_ones() {
        if !cpu_probe::Isa::Neon.supported() {
            return;
        }
        let (c, k, h, w) = (3usize, 2usize, 13usize, 11usize);
        let tiles = [(F6X6, 8usize, 6usize), (F4X4, 6, 4)];
        for ((asm_tf, a, mo), generic) in tiles.into_iter().zip(GENERIC) {
            let (ty, tx) = (h.div_ceil(mo), w.div_ceil(mo));
            let g = Geometry {
                c,
                k,
                h,
                w,
                oh: h,
                ow: w,
                pad_top: 1,
                pad_left: 1,
                tiles_y: ty,
                tiles_x: tx,
                tiles: ty * tx,
            };
            let x: Vec<f32> = (0..c * h * w)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 32.0)
                .collect();
            let n = a * a * c * LANES;
            let mut outs = [vec![0.0f32; n], vec![0.0f32; n]];
            for (o, f) in outs.iter_mut().zip([asm_tf.input, generic.input]) {
                let job = InJob {
                    input: x.as_ptr(),
                    ch: 0,
                    nch: c,
                    tile0: 0,
                    out: o.as_mut_ptr(),
                    stride_p: c * LANES,
                    input_len: x.len(),
                };
                // SAFETY: the buffers hold the whole input and α² points of c channels; NEON.
                unsafe { f(&g, &job) };
            }
            assert!(outs[0]
                .iter()
                .zip(&outs[1])
                .all(|(p, q)| p.to_bits() == q.to_bits()));
            let m: Vec<f32> = (0..a * a * k * LANES)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 16.0)
                .collect();
            let bias = [0.375f32, -0.25];
            for (lo, hi) in [(f32::NEG_INFINITY, f32::INFINITY), (-0.5, 0.75)] {
                let mut ys = [vec![f32::NAN; k * h * w], vec![f32::NAN; k * h * w]];
                for (y, f) in ys.iter_mut().zip([asm_tf.output, generic.output]) {
                    let job = OutJob {
                        m: m.as_ptr(),
                        stride_p: k * LANES,
                        output: y.as_mut_ptr(),
                        ch: 0,
                        nch: k,
                        tile0: 0,
                        bias: bias.as_ptr(),
                        lo,
                        hi,
                    };
                    // SAFETY: α² points of k channels, k biases, the whole output; NEON.
                    unsafe { f(&g, &job) };
                }
                assert!(ys[0].iter().all(|v| !v.is_nan()), "α = {a}");
                assert!(
                    ys[0]
                        .iter()
                        .zip(&ys[1])
                        .all(|(p, q)| p.to_bits() == q.to_bits()),
                    "α = {a}"
                );
            }
        }
    }
}
