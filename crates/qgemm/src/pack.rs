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
//!
//! [`pack_kernel`] packs for a given micro-kernel; [`pack`] infers `KR` from `NR`
//! ([`crate::ukernel::kr_for_nr`]).

use aligned_vec::{AVec, ConstAlign};

/// Packed weights and folded per-channel terms for one micro-kernel tile width.
#[derive(Clone, Debug)]
pub struct PackedWeights {
    /// `NR`: output channels per block.
    pub nr: usize,
    /// Kernel taps (`kh · kw`).
    pub taps: usize,
    /// Input channels per group.
    pub cin_g: usize,
    /// Output channels per group.
    pub cout_g: usize,
    /// Groups.
    pub groups: usize,
    /// Input channels per k-group (`KR`: 4 or 8).
    pub kr: usize,
    /// 4-byte groups per tap: `ceil(cin_g / KR) · KR / 4` (`ceil(cin_g / 4)` for `c4`).
    pub kc4: usize,
    /// Blocks of `NR` per group.
    pub blocks: usize,
    /// The bytes, `groups · blocks · taps · kc4 · NR · 4`, 64-byte aligned.
    pub data: AVec<i8, ConstAlign<64>>,
    /// Folded bias `b'` per output channel (`groups · cout_g`).
    pub bias: Vec<i32>,
    /// The same folded bias per `NR` block, zero-padded (`groups · blocks · NR`): the
    /// micro-kernels start their accumulators from it.
    pub block_bias: Vec<i32>,
    /// `zw'` per output channel (all zero when no row sums are needed).
    pub zw: Vec<i32>,
    /// Whether some `zw'` is not zero (the driver then computes row sums).
    pub needs_row_sums: bool,
}

impl PackedWeights {
    /// Bytes of one `NR` block.
    pub fn block_len(&self) -> usize {
        self.taps * self.kc4 * self.nr * 4
    }

    /// The folded bias of group `g`, block `b` (`NR` values).
    pub fn block_bias(&self, g: usize, b: usize) -> &[i32] {
        let start = (g * self.blocks + b) * self.nr;
        &self.block_bias[start..start + self.nr]
    }

    /// The packed block of group `g`, block `b`.
    pub fn block(&self, g: usize, b: usize) -> &[i8] {
        let len = self.block_len();
        let start = (g * self.blocks + b) * len;
        &self.data[start..start + len]
    }
}

/// Packs OHWI weights given as `w'` values (already shifted to i8, see the module docs) for the
/// micro-kernel of this build whose tile width is `nr` (`KR` from [`crate::ukernel::kr_for_nr`]).
/// `signed_a`: the micro-kernel multiplies `a' − 128` (SDOT), so `128·Σw'` joins the bias.
///
/// `w_prime[((co · taps) + t) · cin_g + ci]`, `co` over all `groups · cout_g` channels.
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
) -> PackedWeights {
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

/// [`pack`] for `kernel` (its `NR`, `KR` and operand convention).
#[allow(clippy::too_many_arguments)]
pub fn pack_kernel(
    kernel: &crate::Kernel,
    taps: usize,
    cin_g: usize,
    cout_g: usize,
    groups: usize,
    w_prime: &[i8],
    zw_prime: &[i32],
    za_prime: i32,
    bias: &[i32],
) -> PackedWeights {
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
) -> PackedWeights {
    let kcg = cin_g.div_ceil(kr);
    let kc4 = kcg * kr / 4;
    let blocks = cout_g.div_ceil(nr);
    let block_len = taps * kc4 * nr * 4;
    let total = groups * blocks * block_len;
    let mut data: AVec<i8, ConstAlign<64>> = AVec::from_iter(64, std::iter::repeat_n(0i8, total));
    let k_total = (taps * cin_g) as i64;
    let cout = groups * cout_g;
    let mut folded = vec![0i32; cout];
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
    for co in 0..cout {
        let sum_w: i64 = w_prime[co * taps * cin_g..(co + 1) * taps * cin_g]
            .iter()
            .map(|&v| i64::from(v))
            .sum();
        let mut b = i64::from(bias[co]) - i64::from(za_prime) * sum_w
            + k_total * i64::from(za_prime) * i64::from(zw_prime[co]);
        if signed_a {
            // The kernel sums (a' − 128)·w': add back 128·Σw'.
            b += 128 * sum_w;
        }
        // Exact modulo 2^32: the kernels add it in wrapping i32 arithmetic.
        folded[co] = b as i32;
    }
    let mut block_bias = vec![0i32; groups * blocks * nr];
    for g in 0..groups {
        for oc in 0..cout_g {
            block_bias[(g * blocks + oc / nr) * nr + oc % nr] = folded[g * cout_g + oc];
        }
    }
    PackedWeights {
        block_bias,
        nr,
        taps,
        cin_g,
        cout_g,
        groups,
        kr,
        kc4,
        blocks,
        data,
        bias: folded,
        zw: zw_prime.to_vec(),
        needs_row_sums: zw_prime.iter().any(|&z| z != 0),
    }
}
