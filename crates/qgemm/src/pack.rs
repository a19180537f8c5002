//! Weight packing: OHWI weights into the tile-major layout of the igemm micro-kernels, with the
//! zero-point terms folded into a per-channel bias.
//!
//! ## Operand domain of the micro-kernels
//!
//! Every micro-kernel multiplies unsigned bytes `a'` (activations) by signed bytes `w'` (weights)
//! and sums in wrapping i32, the operand convention of `vpdpbusd`:
//!
//! | operands | `a'` | `za'` | `w'` | `zw'` |
//! |---|---|---|---|---|
//! | u8 act. | `a` | `za` | | |
//! | s8 act. | `a ^ 0x80` = `a + 128` | `za + 128` | | |
//! | s8 weights | | | `w` | `zw` |
//! | u8 weights | | | `w - 128` | `zw - 128` |
//!
//! so `(a − za)(w − zw) = (a' − za')(w' − zw')` and, summed over the `K = taps · cin_g` terms,
//!
//! `Σ(a−za)(w−zw) = S − zw'·Σa' + b'`,  with `S = Σ a'·w'` (the micro-kernel),
//! `b' = bias − za'·Σw' + K·za'·zw'` (folded here, once) and `Σa'` the row sum of the output
//! pixel (computed by the driver only when some `zw' ≠ 0`).
//!
//! All of it is exact in wrapping i32 arithmetic as long as the true result fits in i32, which
//! the plans check ([`crate::check_accumulator`]; `PackedB::new` and qconv-direct's `QConv2d::new`
//! refuse the rest).
//!
//! ## Layout
//!
//! For each group, for each block of `NR` output channels, for each tap: `ceil(cin_g / KR)`
//! groups of `NR × KR` bytes in which the `KR` consecutive input channels of each output channel
//! are contiguous (`cKR`), padded with zero weights. Byte `ci` of output channel `j` (in its
//! block) at tap `t` is at `((t · kcg + ci / KR) · NR + j) · KR + ci % KR`.
//!
//! * `KR = 4` (`c4`): the dot-product kernels (`vpdpbusd`, SDOT/SUDOT, and the `vpmaddwd` /
//!   `smlal` kernels that read the same groups).
//! * `KR = 8` (`c8`): the matrix-multiply kernel (USMMLA): 16 bytes hold two output channels ×
//!   8 input channels, the `8 × 2` right operand of one instruction.
//! * `KR = 16` (`c16`): the 8-bit `smull`/`smlal2` kernel (ARMv8.0 NEON): each output
//!   channel's 16 input channels are one vector.
//!
//! [`pack_kernel`] packs for a given micro-kernel; [`pack`] infers `KR` from `NR`
//! ([`crate::ukernel::kr_for_nr`]).

use crate::GemmError;
use aligned_vec::{AVec, ConstAlign};

/// Packed weights and folded per-channel terms for one micro-kernel tile width. Built only by
/// [`pack`] / [`pack_kernel`], which validate the layout and compute every size checked, so the
/// accessors' offsets are in range.
#[derive(Clone, Debug)]
pub struct PackedWeights {
    nr: usize,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    kr: usize,
    kc4: usize,
    blocks: usize,
    block_len: usize,
    data: AVec<i8, ConstAlign<64>>,
    bias: Vec<i32>,
    block_bias: Vec<i32>,
    zw: Vec<i32>,
    needs_row_sums: bool,
}

impl PackedWeights {
    /// `NR`: output channels per block.
    pub fn nr(&self) -> usize {
        self.nr
    }

    /// Kernel taps (`kh · kw`).
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// Input channels per group.
    pub fn cin_g(&self) -> usize {
        self.cin_g
    }

    /// Output channels per group.
    pub fn cout_g(&self) -> usize {
        self.cout_g
    }

    /// Groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Input channels per k-group (`KR`: 4 or 8).
    pub fn kr(&self) -> usize {
        self.kr
    }

    /// 4-byte groups per tap: `ceil(cin_g / KR) · KR / 4` (`ceil(cin_g / 4)` for `c4`).
    pub fn kc4(&self) -> usize {
        self.kc4
    }

    /// Blocks of `NR` per group.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// The bytes, `groups · blocks · taps · kc4 · NR · 4`, 64-byte aligned.
    pub fn data(&self) -> &[i8] {
        &self.data
    }

    /// Folded bias `b'` per output channel (`groups · cout_g`).
    pub fn bias(&self) -> &[i32] {
        &self.bias
    }

    /// The same folded bias per `NR` block, zero-padded (`groups · blocks · NR`): the
    /// micro-kernels start their accumulators from it.
    pub fn block_biases(&self) -> &[i32] {
        &self.block_bias
    }

    /// `zw'` per output channel (all zero when no row sums are needed).
    pub fn zw(&self) -> &[i32] {
        &self.zw
    }

    /// Whether some `zw'` is not zero (the driver then computes row sums).
    pub fn needs_row_sums(&self) -> bool {
        self.needs_row_sums
    }

    /// Bytes of one `NR` block (`taps · kc4 · NR · 4`).
    #[inline]
    pub fn block_len(&self) -> usize {
        self.block_len
    }

    /// The folded bias of group `g`, block `b` (`NR` values).
    ///
    /// # Panics
    /// If `g >= groups` or `b >= blocks`.
    pub fn block_bias(&self, g: usize, b: usize) -> &[i32] {
        assert!(b < self.blocks, "block {b} of {} out of range", self.blocks);
        self.block_range(g, b, b + 1).1
    }

    /// The packed block of group `g`, block `b`.
    ///
    /// # Panics
    /// If `g >= groups` or `b >= blocks`.
    pub fn block(&self, g: usize, b: usize) -> &[i8] {
        assert!(b < self.blocks, "block {b} of {} out of range", self.blocks);
        self.block_range(g, b, b + 1).0
    }

    /// Blocks `b0..b1` of group `g`: their packed bytes (consecutive, [`Self::block_len`] each)
    /// and their folded biases (`NR` each), what a kernel entry that runs several blocks per
    /// call reads (iterate one block at a time with `chunks_exact`).
    ///
    /// # Panics
    /// Unless `g < groups` and `b0 <= b1 <= blocks`.
    #[inline]
    pub fn block_range(&self, g: usize, b0: usize, b1: usize) -> (&[i8], &[i32]) {
        assert!(
            g < self.groups && b0 <= b1 && b1 <= self.blocks,
            "blocks {b0}..{b1} of group {g} out of range ({} groups of {} blocks)",
            self.groups,
            self.blocks
        );
        // g · blocks + b1 <= groups · blocks: each product is at most a size `pack` checked.
        let (i0, i1) = (g * self.blocks + b0, g * self.blocks + b1);
        (
            &self.data[i0 * self.block_len..i1 * self.block_len],
            &self.block_bias[i0 * self.nr..i1 * self.nr],
        )
    }
}

/// Packs OHWI weights given as `w'` values (already shifted to i8, see the module docs) for the
/// micro-kernel of this build whose tile width is `nr` (`KR` from [`crate::ukernel::kr_for_nr`]).
/// `signed_a`: the micro-kernel multiplies `a' − 128` (SDOT), so `128·Σw'` joins the bias.
///
/// `w_prime[((co · taps) + t) · cin_g + ci]`, `co` over all `groups · cout_g` channels;
/// `zw_prime` and `bias` have one entry per channel.
///
/// Errors: `nr`, `taps`, `cin_g`, `cout_g` or `groups` of 0, lengths that do not match, a size
/// that overflows `usize`, or packed data that cannot be allocated.
#[allow(clippy::too_many_arguments)]
pub fn pack(
    nr: usize,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    w_prime: &[i8],
    zw_prime: &[i32],
    za_prime: i32,
    bias: &[i32],
    signed_a: bool,
) -> Result<PackedWeights, GemmError> {
    pack_layout(
        nr,
        crate::ukernel::kr_for_nr(nr),
        taps,
        cin_g,
        cout_g,
        groups,
        w_prime,
        zw_prime,
        za_prime,
        bias,
        signed_a,
    )
}

/// [`pack`] for `kernel` (its `NR`, `KR` and operand convention; `KR` must be 4 or 8).
#[allow(clippy::too_many_arguments)]
pub fn pack_kernel(
    kernel: &crate::Kernels,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    w_prime: &[i8],
    zw_prime: &[i32],
    za_prime: i32,
    bias: &[i32],
) -> Result<PackedWeights, GemmError> {
    pack_layout(
        kernel.nr,
        kernel.kr,
        taps,
        cin_g,
        cout_g,
        groups,
        w_prime,
        zw_prime,
        za_prime,
        bias,
        kernel.signed_a,
    )
}

/// `a · b` or an error naming both factors.
fn mul(what: &str, (an, a): (&str, usize), (bn, b): (&str, usize)) -> Result<usize, GemmError> {
    a.checked_mul(b)
        .ok_or_else(|| GemmError::Shape(format!("{what}: {an} {a} times {bn} {b} overflows usize")))
}

/// The sizes of a packed layout, each computed checked.
struct Sizes {
    /// k-groups per tap (`ceil(cin_g / KR)`).
    kcg: usize,
    kc4: usize,
    blocks: usize,
    block_len: usize,
    /// Bytes of packed weights.
    total: usize,
    /// Block biases (`groups · blocks · NR`).
    bias_len: usize,
    cout: usize,
    /// Weights per output channel (`taps · cin_g`).
    k_total: usize,
}

/// Validates a layout and the lengths of its inputs and computes its [`Sizes`].
#[allow(clippy::too_many_arguments)]
fn sizes(
    nr: usize,
    kr: usize,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    w_prime: &[i8],
    zw_prime: &[i32],
    bias: &[i32],
) -> Result<Sizes, GemmError> {
    if nr == 0 {
        return Err(GemmError::Shape("NR 0: a block needs >= 1 column".into()));
    }
    if kr != 4 && kr != 8 && kr != 16 {
        return Err(GemmError::Shape(format!(
            "KR {kr}: the packed layouts have 4, 8 or 16 input channels per k-group"
        )));
    }
    if taps == 0 || cin_g == 0 || cout_g == 0 || groups == 0 {
        return Err(GemmError::Shape(format!(
            "taps ({taps}), input channels per group ({cin_g}), output channels per group \
             ({cout_g}) and groups ({groups}) must be >= 1"
        )));
    }
    // Every size, checked. kcg · KR <= cin_g + KR − 1 and blocks · NR <= cout_g + NR − 1.
    let kcg = cin_g.div_ceil(kr);
    let kc4 = mul("packed k-groups", ("ceil(cin_g / KR)", kcg), ("KR", kr))? / 4;
    let blocks = cout_g.div_ceil(nr);
    let block_len = mul(
        "packed block",
        (
            "taps · kc4",
            mul("packed block", ("taps", taps), ("kc4", kc4))?,
        ),
        (
            "NR · 4",
            mul("packed block", ("NR", nr), ("bytes per group", 4))?,
        ),
    )?;
    let all_blocks = mul("packed blocks", ("groups", groups), ("blocks", blocks))?;
    let total = mul(
        "packed weights",
        ("blocks", all_blocks),
        ("block bytes", block_len),
    )?;
    let bias_len = mul("packed biases", ("blocks", all_blocks), ("NR", nr))?;
    let cout = mul("output channels", ("groups", groups), ("cout_g", cout_g))?;
    let k_total = mul("weights per channel", ("taps", taps), ("cin_g", cin_g))?;
    let w_len = mul(
        "weights",
        ("output channels", cout),
        ("taps · cin_g", k_total),
    )?;
    if w_prime.len() != w_len {
        return Err(GemmError::Shape(format!(
            "{} weights given but {cout} channels x {taps} taps x {cin_g} need {w_len}",
            w_prime.len()
        )));
    }
    if zw_prime.len() != cout {
        return Err(GemmError::Quant(format!(
            "{} weight zero points given for {cout} output channels",
            zw_prime.len()
        )));
    }
    if bias.len() != cout {
        return Err(GemmError::Shape(format!(
            "{} biases given for {cout} output channels",
            bias.len()
        )));
    }
    Ok(Sizes {
        kcg,
        kc4,
        blocks,
        block_len,
        total,
        bias_len,
        cout,
        k_total,
    })
}

#[allow(clippy::too_many_arguments)]
fn pack_layout(
    nr: usize,
    kr: usize,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    w_prime: &[i8],
    zw_prime: &[i32],
    za_prime: i32,
    bias: &[i32],
    signed_a: bool,
) -> Result<PackedWeights, GemmError> {
    let Sizes {
        kcg,
        kc4,
        blocks,
        block_len,
        total,
        bias_len,
        cout,
        k_total,
    } = sizes(nr, kr, taps, cin_g, cout_g, groups, w_prime, zw_prime, bias)?;
    let alloc_err = |what: &str, len: usize, size: usize| {
        GemmError::Shape(format!(
            "{what}: {len} elements of {size} bytes cannot be allocated"
        ))
    };
    // aligned-vec 0.6 checks the isize::MAX limit of an allocation only on 32-bit targets (a
    // larger size reaches `Layout::from_size_align_unchecked`): refuse it here.
    if total > isize::MAX as usize - 63 {
        return Err(alloc_err("packed weights", total, 1));
    }
    let mut data: AVec<i8, ConstAlign<64>> = AVec::new(64);
    data.try_reserve_exact(total)
        .map_err(|_| alloc_err("packed weights", total, 1))?;
    data.resize(total, 0);
    let mut folded: Vec<i32> = Vec::new();
    folded
        .try_reserve_exact(cout)
        .map_err(|_| alloc_err("folded biases", cout, 4))?;
    let mut block_bias: Vec<i32> = Vec::new();
    block_bias
        .try_reserve_exact(bias_len)
        .map_err(|_| alloc_err("block biases", bias_len, 4))?;
    block_bias.resize(bias_len, 0);
    let mut zw: Vec<i32> = Vec::new();
    zw.try_reserve_exact(cout)
        .map_err(|_| alloc_err("weight zero points", cout, 4))?;
    zw.extend_from_slice(zw_prime);
    // All indices below are inside the sizes checked above.
    for g in 0..groups {
        for b in 0..blocks {
            let base = (g * blocks + b) * block_len;
            for j in 0..nr {
                let oc = b * nr + j;
                if oc >= cout_g {
                    continue;
                }
                let co = g * cout_g + oc;
                for t in 0..taps {
                    for ci in 0..cin_g {
                        let v = w_prime[(co * taps + t) * cin_g + ci];
                        let idx = base + ((t * kcg + ci / kr) * nr + j) * kr + ci % kr;
                        data[idx] = v;
                    }
                }
            }
        }
    }
    fold_biases(
        &mut folded,
        w_prime,
        k_total,
        za_prime,
        zw_prime,
        bias,
        signed_a,
    );
    for g in 0..groups {
        for oc in 0..cout_g {
            block_bias[(g * blocks + oc / nr) * nr + oc % nr] = folded[g * cout_g + oc];
        }
    }
    Ok(PackedWeights {
        block_bias,
        nr,
        taps,
        cin_g,
        cout_g,
        groups,
        kr,
        kc4,
        blocks,
        block_len,
        data,
        bias: folded,
        needs_row_sums: zw.iter().any(|&z| z != 0),
        zw,
    })
}

/// Appends the folded bias of every output channel to `folded` (see the module docs).
fn fold_biases(
    folded: &mut Vec<i32>,
    w_prime: &[i8],
    k_total: usize,
    za_prime: i32,
    zw_prime: &[i32],
    bias: &[i32],
    signed_a: bool,
) {
    // The folded bias is exact modulo 2^32 (the kernels add it in wrapping i32 arithmetic), so
    // wrapping i64 arithmetic (2^32 divides 2^64) gives the same low 32 bits for any
    // arguments, hostile ones included.
    let k_total = k_total as i64;
    for (co, w) in w_prime.chunks_exact(k_total as usize).enumerate() {
        let sum_w: i64 = w.iter().map(|&v| i64::from(v)).fold(0, i64::wrapping_add);
        let za = i64::from(za_prime);
        let mut b = i64::from(bias[co])
            .wrapping_sub(za.wrapping_mul(sum_w))
            .wrapping_add(
                k_total
                    .wrapping_mul(za)
                    .wrapping_mul(i64::from(zw_prime[co])),
            );
        if signed_a {
            // The kernel sums (a' − 128)·w': add back 128·Σw'.
            b = b.wrapping_add(sum_w.wrapping_mul(128));
        }
        folded.push(b as i32);
    }
}
