//! aarch64 micro-kernels, one file per ISA level: `neon` (baseline), `neondot` (FEAT_DotProd),
//! `i8mm` (FEAT_I8MM).

/// The 4 × 8 `c4` by-element dot-product kernel body shared by `igemm_4x8c4__neondot` (SDOT) and
/// `igemm_4x8c4__neoni8mm` (SUDOT): `$name` is the public entry, `$inner` its
/// `#[target_feature($feature)]` body, `$insn` the instruction. The tile is fixed
/// at `MR = 4`, `NR = 8`.
macro_rules! dot_kernel {
    ($name:ident, $inner:ident, $feature:literal, $insn:literal) => {
        kernel_fn! {
            /// See [`crate::ukernel::IgemmFn`].
            ///
            /// # Safety
            /// The contract of [`crate::ukernel::IgemmFn`] with `MR = 4`, `NR = 8`, on a CPU with
            #[doc = concat!("`", $feature, "`.")]
            pub igemm $name(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
                // SAFETY: same contract; the caller guarantees the CPU features.
                unsafe { $inner(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) }
            }
        }

        kernel_fn! {
            #[target_feature(enable = $feature)]
            igemm $inner(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
                // The tile of this body (the invoking module may define other tiles).
                const MR: usize = 4;
                const NR: usize = 8;
                let kc4 = kc.div_ceil(4);
                let xor = u32::from_ne_bytes([a_xor; 4]);
                // SAFETY: every access follows the IgemmFn contract: bias holds NR values, the
                // packed block taps · kc4 groups of 32 bytes, each row pointer kc bytes (load4 never
                // reads past kc), out mr rows of nr values.
                unsafe {
                    let b0 = core::arch::aarch64::vld1q_s32(bias);
                    let b1 = core::arch::aarch64::vld1q_s32(bias.add(4));
                    let (mut c00, mut c01, mut c10, mut c11) = (b0, b1, b0, b1);
                    let (mut c20, mut c21, mut c30, mut c31) = (b0, b1, b0, b1);
                    let mut wp = w;
                    for t in 0..taps {
                        let rows = [*a.add(t * MR), *a.add(t * MR + 1), *a.add(t * MR + 2), *a.add(t * MR + 3)];
                        for q in 0..kc4 {
                            let w0 = core::arch::aarch64::vld1q_s8(wp);
                            let w1 = core::arch::aarch64::vld1q_s8(wp.add(16));
                            wp = wp.add(NR * 4);
                            let groups = [
                                $crate::ukernel::load4(rows[0], q, kc) ^ xor,
                                $crate::ukernel::load4(rows[1], q, kc) ^ xor,
                                $crate::ukernel::load4(rows[2], q, kc) ^ xor,
                                $crate::ukernel::load4(rows[3], q, kc) ^ xor,
                            ];
                            let av = core::arch::aarch64::vld1q_u32(groups.as_ptr());
                            core::arch::asm!(
                                concat!($insn, " {c00:v}.4s, {w0:v}.16b, {a:v}.4b[0]"),
                                concat!($insn, " {c01:v}.4s, {w1:v}.16b, {a:v}.4b[0]"),
                                concat!($insn, " {c10:v}.4s, {w0:v}.16b, {a:v}.4b[1]"),
                                concat!($insn, " {c11:v}.4s, {w1:v}.16b, {a:v}.4b[1]"),
                                concat!($insn, " {c20:v}.4s, {w0:v}.16b, {a:v}.4b[2]"),
                                concat!($insn, " {c21:v}.4s, {w1:v}.16b, {a:v}.4b[2]"),
                                concat!($insn, " {c30:v}.4s, {w0:v}.16b, {a:v}.4b[3]"),
                                concat!($insn, " {c31:v}.4s, {w1:v}.16b, {a:v}.4b[3]"),
                                c00 = inout(vreg) c00,
                                c01 = inout(vreg) c01,
                                c10 = inout(vreg) c10,
                                c11 = inout(vreg) c11,
                                c20 = inout(vreg) c20,
                                c21 = inout(vreg) c21,
                                c30 = inout(vreg) c30,
                                c31 = inout(vreg) c31,
                                w0 = in(vreg) w0,
                                w1 = in(vreg) w1,
                                a = in(vreg) av,
                                options(pure, nomem, nostack)
                            );
                        }
                    }
                    let acc = [[c00, c01], [c10, c11], [c20, c21], [c30, c31]];
                    for (m, pair) in acc.iter().enumerate().take(mr) {
                        let mut row = [0i32; NR];
                        core::arch::aarch64::vst1q_s32(row.as_mut_ptr(), pair[0]);
                        core::arch::aarch64::vst1q_s32(row.as_mut_ptr().add(4), pair[1]);
                        core::ptr::copy_nonoverlapping(row.as_ptr(), out.add(m * out_stride), nr);
                    }
                }
            }
        }
    };
}

pub(crate) use dot_kernel;

/// Defines the entry points of a tile body `$tile::<FUSED, RNDNU>` (a `tile` function of
/// `kernel_fn!` over one block of `$nr` columns: i32 rows when `FUSED = false`, else bytes
/// requantized by `q` through the `out::Stage`), `MR = $mr`:
/// - `$name`, the [`crate::ukernel::IgemmFn`] (one block, i32);
/// - `$fp32`, the [`crate::ukernel::IgemmFp32Fn`], which runs the body once per `$nr`-column
///   block of its `ncols` (block `b` at `w + b · w_stride`, its biases and output columns from
///   `b · $nr`);
/// - `$gemm_fp32` and `$gemm_i32`, the strided-A [`crate::ukernel::GemmFp32Fn`] and
///   [`crate::ukernel::GemmI32Fn`]: per block of `MR` rows, the row pointers `a + r · lda`
///   (one tap, `kc = 4 · kc4` channels: the bytes past the GEMM's `k` meet zero weights), then
///   the `$fp32` loop, or the same loop storing i32;
/// - `$rndnu`, `$gemm_rndnu`: the two fused entries again for the `Rndnu` form of the stage
///   (`q.rndnu` set; [`crate::ukernel::Kernels::run_rndnu`]), so that neither scheme's entries
///   carry the other's code.
///
/// `fast = ($f, $fr, $fi)`: functions of the `igemm_fp32` parameters (`$f` for the `Fp32`
/// stage, `$fr` for its `Rndnu` form) and of the i32 ones over `ncols` (`$fi`) that store the
/// leading whole-block columns in one go where they can and return how many (a multiple of
/// `$nr`; 0 where the call is not of their shape); the loops above run the tile body on the
/// rest. `none` for any: no such path. The doc
/// comments (with `# Safety`) and attributes (`#[target_feature]`) precede each name.
macro_rules! tile_entries {
    (@fast none, $($x:tt)*) => { 0 };
    (@fast $f:ident, $($x:tt)*) => {
        // SAFETY: the entry's contract, passed on (the fast path takes whole blocks only).
        unsafe { $f($($x)*) }
    };
    // The tile body over columns $col.. of the call (FUSED: requantized bytes by $q / $st;
    // else i32, $q the unused placeholder).
    (@rest $tile:ident, $fused:literal, $rndnu:literal, $nr:expr, $col:expr, $mr:expr, $ncols:expr, $ws:expr,
        $taps:expr, $kc:expr, $a:expr, $x:expr, $w:expr, $bias:expr, $q:expr, $st:expr,
        $out:expr, $os:expr) => {{
        let mut col = $col;
        while col < $ncols {
            let nr = ($ncols - col).min($nr);
            let b = col / $nr;
            // SAFETY: block b of the call is at w + b·w_stride with its NR biases at
            // bias + b·NR; columns col..col + nr of out are the caller's; q's channel scales
            // (if any) cover the call's columns; the caller guarantees the CPU features.
            unsafe {
                let (w, bias, o) = ($w.add(b * $ws), $bias.add(col), $out.add(col));
                $tile::<$fused, $rndnu>($mr, nr, $taps, $kc, $a, $x, w, bias, $q, col, $st, o.cast(), $os)
            }
            col += $nr;
        }
    }};
    (@fp32 $tile:ident, $nr:expr, ($fast:ident, $rndnu:literal), $mr:expr, $ncols:expr, $ws:expr, $taps:expr,
        $kc:expr, $a:expr, $x:expr, $w:expr, $bias:expr, $q:expr, $st:expr, $out:expr,
        $os:expr) => {{
        let col = tile_entries!(@fast $fast, $mr, $ncols, $ws, $taps, $kc, $a, $x, $w, $bias,
            $q, $st, $out, $os);
        tile_entries!(@rest $tile, true, $rndnu, $nr, col, $mr, $ncols, $ws, $taps, $kc, $a, $x, $w,
            $bias, $q, $st, $out, $os)
    }};
    (@i32 $tile:ident, $nr:expr, $fast:ident, $mr:expr, $ncols:expr, $ws:expr, $taps:expr,
        $kc:expr, $a:expr, $x:expr, $w:expr, $bias:expr, $st:expr, $out:expr, $os:expr) => {{
        let col = tile_entries!(@fast $fast, $mr, $ncols, $ws, $taps, $kc, $a, $x, $w, $bias,
            $out, $os);
        tile_entries!(@rest $tile, false, false, $nr, col, $mr, $ncols, $ws, $taps, $kc, $a, $x, $w,
            $bias, &$crate::ukernel::Fp32Requant::UNUSED, $st, $out, $os)
    }};
    // The strided fused entry's row-block loop with the fast path $fast.
    (@strided $tile:ident, $nr:expr, $mr:expr, $fast:tt, $mb:expr, $ncols:expr, $ws:expr,
        $kc4:expr, $a:expr, $lda:expr, $x:expr, $w:expr, $bias:expr, $q:expr, $out:expr,
        $os:expr) => {{
        let st = super::out::Stage::new($q);
        let kc = 4 * $kc4;
        for r in 0..$mb {
            let rows = tile_entries!(@rows $mr, $a, $lda, r);
            // SAFETY: row block r's outputs are inside `out` (the caller's contract).
            let o = unsafe { $out.add(r * $mr * $os) };
            tile_entries!(@fp32 $tile, $nr, $fast, $mr, $ncols, $ws, 1, kc, rows.as_ptr(), $x,
                $w, $bias, $q, &st, o, $os)
        }
    }};
    // The MR row pointers of row block r of a strided A (row stride $lda).
    (@rows $mr:expr, $a:expr, $lda:expr, $r:expr) => {{
        let rows: [*const u8; $mr] = core::array::from_fn(|m| {
            // SAFETY: rows r·MR.. of the call are inside A (the caller's contract).
            unsafe { $a.add(($r * $mr + m) * $lda) }
        });
        rows
    }};
    ($tile:ident, $nr:expr, $mr:expr, fast = ($fast:ident, $fast_r:ident, $fast_i32:ident),
        $(#[$mi:meta])* $name:ident, $(#[$mf:meta])* $fp32:ident,
        $(#[$mg:meta])* $gemm_fp32:ident, $(#[$mh:meta])* $gemm_i32:ident,
        $(#[$mr_:meta])* $rndnu:ident, $(#[$mgr:meta])* $gemm_rndnu:ident $(,)?) => {
        kernel_fn! {
            $(#[$mi])*
            pub igemm $name(mr, nr, taps, kc, a, a_xor, w, bias, out, out_stride) {
                let q = &$crate::ukernel::Fp32Requant::UNUSED;
                let st = super::out::Stage::new(q);
                // SAFETY: the caller's contract; FUSED = false stores i32 rows.
                unsafe {
                    $tile::<false, false>(mr, nr, taps, kc, a, a_xor, w, bias, q, 0, &st, out.cast(), out_stride)
                }
            }
        }

        kernel_fn! {
            $(#[$mf])*
            pub igemm_fp32 $fp32(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out, out_stride) {
                let st = super::out::Stage::new(q);
                tile_entries!(@fp32 $tile, $nr, ($fast, false), mr, ncols, w_stride, taps, kc, a,
                    a_xor, w,
                    bias, q, &st, out, out_stride)
            }
        }

        kernel_fn! {
            $(#[$mr_])*
            pub igemm_fp32 $rndnu(mr, ncols, w_stride, taps, kc, a, a_xor, w, bias, q, out, out_stride) {
                let st = super::out::Stage::new(q);
                tile_entries!(@fp32 $tile, $nr, ($fast_r, true), mr, ncols, w_stride, taps, kc, a,
                    a_xor,
                    w, bias, q, &st, out, out_stride)
            }
        }

        kernel_fn! {
            $(#[$mg])*
            pub gemm_fp32 $gemm_fp32(mb, ncols, w_stride, kc4, a, lda, a_xor, w, bias, q, out, out_stride) {
                tile_entries!(@strided $tile, $nr, $mr, ($fast, false), mb, ncols, w_stride, kc4, a, lda,
                    a_xor, w, bias, q, out, out_stride)
            }
        }

        kernel_fn! {
            $(#[$mgr])*
            pub gemm_fp32 $gemm_rndnu(mb, ncols, w_stride, kc4, a, lda, a_xor, w, bias, q, out, out_stride) {
                tile_entries!(@strided $tile, $nr, $mr, ($fast_r, true), mb, ncols, w_stride, kc4, a, lda,
                    a_xor, w, bias, q, out, out_stride)
            }
        }

        kernel_fn! {
            $(#[$mh])*
            pub gemm_i32 $gemm_i32(mb, ncols, w_stride, kc4, a, lda, a_xor, w, bias, out, out_stride) {
                let st = super::out::Stage::new(&$crate::ukernel::Fp32Requant::UNUSED);
                let kc = 4 * kc4;
                for r in 0..mb {
                    let rows = tile_entries!(@rows $mr, a, lda, r);
                    // SAFETY: row block r's outputs are inside `out` (the caller's contract).
                    let o = unsafe { out.add(r * $mr * out_stride) };
                    tile_entries!(@i32 $tile, $nr, $fast_i32, $mr, ncols, w_stride, 1, kc,
                        rows.as_ptr(), a_xor, w, bias, &st, o, out_stride)
                }
            }
        }
    };
}

/// The calls the one-`asm!` whole-block paths of the `MR × NR` tiles take (the `fast`
/// functions of [`tile_entries`]): a full tile (`mr = MR`) of at least one tap of `kc > 0`
/// channels, a multiple of `TAIL` (the k-group the path steps by after its `STEP`-channel
/// steps: `kc mod STEP` must be whole groups, or `TAIL = STEP` for no tail), at least one whole
/// `NR`-column block, and packed blocks that follow each other (`w_stride` = one block of
/// `taps · kc · NR` bytes). `Some((kc / STEP, (kc mod STEP) / TAIL, ncols / NR))` then.
#[inline(always)]
fn whole_shape<const MR: usize, const NR: usize, const STEP: usize, const TAIL: usize>(
    mr: usize,
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
) -> Option<(usize, usize, usize)> {
    let (steps, tail, nb) = (kc / STEP, kc % STEP / TAIL, ncols / NR);
    let block = taps.checked_mul(kc).and_then(|x| x.checked_mul(NR));
    (mr == MR && kc.is_multiple_of(TAIL) && kc > 0 && taps > 0 && nb > 0 && block == Some(w_stride))
        .then_some((steps, tail, nb))
}

/// The per-column constants a whole-block `asm!` reads, `K` arrays of 4·`N` bytes per block,
/// each from its pointer operand advanced by `{sstep}` bytes: the call's channel constants, or
/// `N` copies of the per-tensor ones (not advanced). `Fp32`: the scales (`K = 1`, `{sc}`);
/// `Rndnu`: the Q31 multipliers, `sqshl` and `srshl` counts (`K = 3`, `{rm}`, `{rp}`, `{rq}`).
pub(crate) struct ColConsts<T, const N: usize, const K: usize> {
    tensor: [[T; N]; K],
    channel: Option<[*const T; K]>,
}

impl<T: Copy, const N: usize, const K: usize> ColConsts<T, N, K> {
    /// The per-tensor values `tensor`, or the channel arrays `channel` (at least the call's
    /// columns, as the kernel contracts say).
    #[inline(always)]
    fn of(tensor: [T; K], channel: Option<[&[T]; K]>) -> Self {
        ColConsts {
            tensor: tensor.map(|t| [t; N]),
            channel: channel.map(|c| c.map(|s| s.as_ptr())),
        }
    }

    /// `(pointers, {sstep})`; the pointers live as long as `self`.
    #[inline(always)]
    pub(crate) fn ptrs_step(&self) -> ([*const T; K], usize) {
        match self.channel {
            Some(p) => (p, 4 * N),
            None => (self.tensor.each_ref().map(|t| t.as_ptr()), 0),
        }
    }
}

impl<const N: usize> ColConsts<f32, N, 1> {
    /// The `Fp32` scales of `q`.
    #[inline(always)]
    pub(crate) fn scales(q: &crate::ukernel::Fp32Requant) -> Self {
        ColConsts::of([q.scale], q.channel_scales.map(|cs| [cs]))
    }
}

impl<const N: usize> ColConsts<i32, N, 3> {
    /// The `Rndnu` constants of `r`.
    #[inline(always)]
    pub(crate) fn rndnu(r: &quant_params::RndnuFused) -> Self {
        ColConsts::of(
            [r.multiplier, r.pre_shl, r.post_shl],
            r.channels.map(|(m, p, q)| [m, p, q]),
        )
    }
}

/// The four row pointers `out + m · stride` of a full 4-row tile.
///
/// # Safety
/// The 4 rows are inside one allocation (the kernel contracts' output).
#[inline(always)]
pub(crate) unsafe fn rows4<T>(out: *mut T, stride: usize) -> [*mut T; 4] {
    // SAFETY: the caller's.
    unsafe {
        [
            out,
            out.add(stride),
            out.add(2 * stride),
            out.add(3 * stride),
        ]
    }
}

/// Runs `$run!(MODE, OUT, LOOP)` for a whole-block call's runtime variant: MODE `xor` (the
/// kernel's activation xor is not 0) or `plain`, OUT `u8` or `i8` (the stage's output type),
/// LOOP `tail` (k-group tail steps) or `notail`.
macro_rules! fp32_variant {
    ($run:ident, $xor:expr, $signed:expr, $tail:expr) => {
        match ($xor, $signed, $tail) {
            (true, false, true) => $run!(xor, u8, tail),
            (true, false, false) => $run!(xor, u8, notail),
            (false, false, true) => $run!(plain, u8, tail),
            (false, false, false) => $run!(plain, u8, notail),
            (true, true, true) => $run!(xor, i8, tail),
            (true, true, false) => $run!(xor, i8, notail),
            (false, true, true) => $run!(plain, i8, tail),
            (false, true, false) => $run!(plain, i8, notail),
        }
    };
}

/// [`fp32_variant`] for the i32 stores: `$run!(MODE, LOOP)`.
macro_rules! i32_variant {
    ($run:ident, $xor:expr, $tail:expr) => {
        match ($xor, $tail) {
            (true, true) => $run!(xor, tail),
            (true, false) => $run!(xor, notail),
            (false, true) => $run!(plain, tail),
            (false, false) => $run!(plain, notail),
        }
    };
}

/// [`tap_loop`] with a tail: per tap, `{n16}` iterations of `$body` (none when 0), then `{g}`
/// iterations of `$tail` (one k-group each; none when 0); both end with the `subs {n}` that
/// sets the flags of their loop branch. Labels 2-3 and 6-8.
macro_rules! tap_loop_tail {
    ($rows:tt, $stride:literal, $body:expr, $tail:expr) => {
        concat!(
            "3:\n",
            row_ptrs!($rows),
            "add {a}, {a}, #",
            $stride,
            "\nmov {n}, {n16}\ncbz {n}, 6f\n2:\n",
            $body,
            "b.ne 2b\n6:\nmov {n}, {g}\ncbz {n}, 7f\n8:\n",
            $tail,
            "b.ne 8b\n7:\nsubs {t}, {t}, #1\nb.ne 3b\n"
        )
    };
}

/// The row-pointer loads of an `asm!` k-loop's tap for its first `R` rows (1, 2, 4 or 8): the
/// tap's pointers are 8 bytes apart from `{a}` into `{r0}`.., as assembly lines.
macro_rules! row_ptrs {
    (1) => {
        "ldr {r0}, [{a}]\n"
    };
    (2) => {
        "ldp {r0}, {r1}, [{a}]\n"
    };
    (4) => {
        concat!(row_ptrs!(2), "ldp {r2}, {r3}, [{a}, #16]\n")
    };
    (8) => {
        concat!(
            row_ptrs!(4),
            "ldp {r4}, {r5}, [{a}, #32]\n",
            "ldp {r6}, {r7}, [{a}, #48]\n"
        )
    };
}

/// The loop frame of the `asm!` k-loops, as assembly lines: per tap (label 3), the row pointers
/// of the first `$rows` rows ([`row_ptrs`]), `{a}` advanced by `$stride` bytes (the next tap's
/// pointers), then `{n}` = `{$count}` iterations (label 2) of `$body`, whose last `subs {n}`
/// sets the flags of `b.ne 2b`; `{t}` counts the taps.
macro_rules! tap_loop {
    ($rows:tt, $stride:literal, $count:expr, $body:expr) => {
        concat!(
            "3:\n",
            row_ptrs!($rows),
            "add {a}, {a}, #",
            $stride,
            "\nmov {n}, {",
            $count,
            "}\n2:\n",
            $body,
            "b.ne 2b\nsubs {t}, {t}, #1\nb.ne 3b\n"
        )
    };
}

/// The `asm!` block of a k-loop: [`tap_loop`] around `$body`, then its operands in this order:
/// `{a}` (the taps' row pointers, advanced), `{t}` (the taps), `$count` (iterations per tap),
/// `{n}`, the row pointers `$r`, `{w}` (`*$wp`, the packed weights, advanced past what the loop
/// reads), `$pre` (more named operands), the accumulators `$c[m][j]` in the registers listed for
/// each m, the vector registers the loop overwrites (`$clob`), then `$post` (more
/// explicit-register operands). The block only reads memory and uses no stack.
macro_rules! kloop_asm {
    (
        $body:expr, $rows:tt, $stride:literal, $count:ident = $n:expr, a = $a:expr, t = $t:expr,
        w = $wp:expr, [$($r:ident)*], [$($pre:tt)*], $c:expr, [$($m:tt [$($reg:tt $j:tt)*])*],
        [$($clob:tt)*], [$($post:tt)*]
    ) => {
        core::arch::asm!(
            tap_loop!($rows, $stride, stringify!($count), $body),
            a = inout(reg) $a => _,
            t = inout(reg) $t => _,
            $count = in(reg) $n,
            n = out(reg) _,
            $($r = out(reg) _,)*
            w = inout(reg) *$wp,
            $($pre)*
            $($(inout($reg) $c[$m][$j],)*)*
            $(out($clob) _,)*
            $($post)*
            options(nostack, readonly),
        )
    };
}

/// `ldp q` of two weight vectors (32 bytes at `{w}`, advanced), as an assembly line.
macro_rules! ldpq {
    ($x:tt $y:tt) => {
        concat!("ldp q", $x, ", q", $y, ", [{w}], #32\n")
    };
}

/// `ld1` of four consecutive weight vectors `v$a..v$d` from `{w}` (advanced by 64 bytes), as an
/// assembly line: one instruction for 64 bytes, which the in-order cores' load pipe also takes
/// in fewer cycles than two `ldp q` (llvm-mca Cortex-A510: 1 against 2 × 1).
#[allow(unused_macros)]
macro_rules! ld4q {
    ($a:tt $b:tt $c:tt $d:tt) => {
        concat!(
            "ld1 {{v",
            $a,
            ".16b, v",
            $b,
            ".16b, v",
            $c,
            ".16b, v",
            $d,
            ".16b}}, [{w}], #64\n"
        )
    };
}

/// The fused `Fp32` output stage of [`out`] in assembly, for the rows listed: each row's four
/// i32 vectors `[a b c d]` (columns 0-3, 4-7, 8-11, 12-15; rewritten) go through `scvtf`,
/// `fmul` by the column scales `[s0 s1 s2 s3]`, `fcvtns` (all rows step by step), then per row
/// `sqxtn`/`sqxtn2` to i16, `sqadd` of the zero point (v`zp`), the narrowing to bytes of the
/// output type `$out` (`u8`: `sqxtun`, `i8`: `sqxtn`; [`fp32_narrow`]), `max`/`min` with the
/// clamps (v`lo`, v`hi`) and the store ([`fp32_store`]): `=> "o"`, one `str q` of the 16 bytes
/// to the named pointer operand `{o}` (advanced by 16); `=> (rows "p")`, the "row" is two rows
/// of 8 columns (`[a b]` the first, `[c d]` the second), stored 8 bytes each at `{p}`, which
/// steps by `{os}` after each. Assembly lines.
macro_rules! fp32_asm {
    (
        [$([$a:literal $b:literal $c:literal $d:literal] => $o:tt),*],
        [$s0:literal $s1:literal $s2:literal $s3:literal], $zp:literal, $lo:literal, $hi:literal,
        $out:tt
    ) => {
        concat!(
            v_ops!("scvtf", [$([$a $b $c $d]),*]),
            vk_ops!("fmul", [$([$a $b $c $d]),*], [$s0 $s1 $s2 $s3]),
            v_ops!("fcvtns", [$([$a $b $c $d]),*]),
            narrow_asm!([$([$a $b $c $d] => $o),*], $zp, $lo, $hi, $out),
        )
    };
}

/// `op vN.4s, vN.4s` for every vector `N` of the rows listed, row by row, as assembly lines.
macro_rules! v_ops {
    ($op:literal, [$([$($v:literal)*]),*]) => {
        concat!($($($op, " v", $v, ".4s, v", $v, ".4s\n",)*)*)
    };
}

/// `op vN.4s, vN.4s, vK.4s` for every vector `N` of the rows listed, `K` the constant of its
/// column (`[k0 k1 ..]`, one per vector of a row), row by row, as assembly lines.
macro_rules! vk_ops {
    ($op:literal, [$($row:tt),*], $k:tt) => {
        concat!($(vk_ops!(@row $op, $row, $k),)*)
    };
    (@row $op:literal, [$($v:literal)*], [$($k:literal)*]) => {
        concat!($($op, " v", $v, ".4s, v", $v, ".4s, v", $k, ".4s\n",)*)
    };
}

/// [`fp32_asm`] with the `Rndnu` scheme instead of `Fp32`: each vector `sqshl` by its
/// columns' pre-shifts `[p0 p1 p2 p3]`, `sqdmulh` by their multipliers `[m0 m1 m2 m3]`,
/// `srshl` by their (negative) post-shifts `[q0 q1 q2 q3]` (all rows step by step;
/// [`quant_params::requant::rndnu_fixed_point`]), then the same narrowing, clamps and stores.
macro_rules! rndnu_asm {
    (
        [$([$a:literal $b:literal $c:literal $d:literal] => $o:tt),*],
        [$m0:literal $m1:literal $m2:literal $m3:literal],
        [$p0:literal $p1:literal $p2:literal $p3:literal],
        [$q0:literal $q1:literal $q2:literal $q3:literal], $zp:literal, $lo:literal, $hi:literal,
        $out:tt
    ) => {
        concat!(
            vk_ops!("sqshl", [$([$a $b $c $d]),*], [$p0 $p1 $p2 $p3]),
            vk_ops!("sqdmulh", [$([$a $b $c $d]),*], [$m0 $m1 $m2 $m3]),
            vk_ops!("srshl", [$([$a $b $c $d]),*], [$q0 $q1 $q2 $q3]),
            narrow_asm!([$([$a $b $c $d] => $o),*], $zp, $lo, $hi, $out),
        )
    };
}

/// The second half of [`fp32_asm`] and [`rndnu_asm`]: per row, the four requantized i32
/// vectors narrowed to i16 (`sqxtn`/`sqxtn2`), the zero point added (`sqadd`), narrowed to the
/// output type (`sqxtun`/`sqxtn` and their `2` forms), clamped and stored ([`fp32_store`]).
macro_rules! narrow_asm {
    (
        [$([$a:literal $b:literal $c:literal $d:literal] => $o:tt),*], $zp:literal, $lo:literal,
        $hi:literal, $out:tt
    ) => {
        concat!(
            $(
                "sqxtn v", $a, ".4h, v", $a, ".4s\n",
                "sqxtn2 v", $a, ".8h, v", $b, ".4s\n",
                "sqxtn v", $c, ".4h, v", $c, ".4s\n",
                "sqxtn2 v", $c, ".8h, v", $d, ".4s\n",
                "sqadd v", $a, ".8h, v", $a, ".8h, v", $zp, ".8h\n",
                "sqadd v", $c, ".8h, v", $c, ".8h, v", $zp, ".8h\n",
                fp32_narrow!(n1 $out), " v", $a, ".8b, v", $a, ".8h\n",
                fp32_narrow!(n2 $out), " v", $a, ".16b, v", $c, ".8h\n",
                fp32_narrow!(max $out), " v", $a, ".16b, v", $a, ".16b, v", $lo, ".16b\n",
                fp32_narrow!(min $out), " v", $a, ".16b, v", $a, ".16b, v", $hi, ".16b\n",
                fp32_store!($a, $o),
            )*
        )
    };
}

/// The store of one 16-byte result v`$a` of [`fp32_asm`], as assembly lines.
macro_rules! fp32_store {
    ($a:literal, $o:literal) => {
        concat!("str q", $a, ", [{", $o, "}], #16\n")
    };
    ($a:literal, (rows $p:literal)) => {
        concat!(
            "st1 {{v",
            $a,
            ".d}}[0], [{",
            $p,
            "}], {os}\n",
            "st1 {{v",
            $a,
            ".d}}[1], [{",
            $p,
            "}], {os}\n"
        )
    };
}

/// [`fp32_asm`] for rows of 8 columns: each row's two i32 vectors `[a b]` (columns 0-3, 4-7)
/// scaled by `[s0 s1]`, rounded, narrowed and clamped on 8 lanes, stored with one `str d` to
/// `{o}` (advanced by 8). Assembly lines.
macro_rules! fp32_asm8 {
    (
        [$([$a:literal $b:literal] => $o:literal),*], [$s0:literal $s1:literal], $zp:literal,
        $lo:literal, $hi:literal, $out:tt
    ) => {
        concat!(
            v_ops!("scvtf", [$([$a $b]),*]),
            vk_ops!("fmul", [$([$a $b]),*], [$s0 $s1]),
            v_ops!("fcvtns", [$([$a $b]),*]),
            narrow_asm8!([$([$a $b] => $o),*], $zp, $lo, $hi, $out),
        )
    };
}

/// [`fp32_asm8`] with the `Rndnu` scheme ([`rndnu_asm`]): pre-shifts `[p0 p1]`, multipliers
/// `[m0 m1]`, post-shifts `[q0 q1]`.
macro_rules! rndnu_asm8 {
    (
        [$([$a:literal $b:literal] => $o:literal),*], [$m0:literal $m1:literal],
        [$p0:literal $p1:literal], [$q0:literal $q1:literal], $zp:literal, $lo:literal,
        $hi:literal, $out:tt
    ) => {
        concat!(
            vk_ops!("sqshl", [$([$a $b]),*], [$p0 $p1]),
            vk_ops!("sqdmulh", [$([$a $b]),*], [$m0 $m1]),
            vk_ops!("srshl", [$([$a $b]),*], [$q0 $q1]),
            narrow_asm8!([$([$a $b] => $o),*], $zp, $lo, $hi, $out),
        )
    };
}

/// The second half of [`fp32_asm8`] and [`rndnu_asm8`] (see [`narrow_asm`]), one `str d` per
/// row to `{o}` (advanced by 8).
macro_rules! narrow_asm8 {
    (
        [$([$a:literal $b:literal] => $o:literal),*], $zp:literal, $lo:literal, $hi:literal,
        $out:tt
    ) => {
        concat!(
            $(
                "sqxtn v", $a, ".4h, v", $a, ".4s\n",
                "sqxtn2 v", $a, ".8h, v", $b, ".4s\n",
                "sqadd v", $a, ".8h, v", $a, ".8h, v", $zp, ".8h\n",
                fp32_narrow!(n1 $out), " v", $a, ".8b, v", $a, ".8h\n",
                fp32_narrow!(max $out), " v", $a, ".8b, v", $a, ".8b, v", $lo, ".8b\n",
                fp32_narrow!(min $out), " v", $a, ".8b, v", $a, ".8b, v", $hi, ".8b\n",
                "str d", $a, ", [{", $o, "}], #8\n",
            )*
        )
    };
}

/// The narrowing and clamp mnemonics of [`fp32_asm`] for an output type (`u8` or `i8`).
#[rustfmt::skip]
macro_rules! fp32_narrow {
    (n1 u8) => { "sqxtun" }; (n2 u8) => { "sqxtun2" }; (max u8) => { "umax" }; (min u8) => { "umin" };
    (n1 i8) => { "sqxtn" }; (n2 i8) => { "sqxtn2" }; (max i8) => { "smax" }; (min i8) => { "smin" };
}

pub mod i8mm;
pub mod neon;
pub mod neondot;
pub mod out;
