//! The igemm micro-kernels: which exist, which this CPU can run.
//!
//! Every micro-kernel computes, for an `MR × NR` tile, `S[m][j] = Σ_t Σ_k a'[t][m][k] · w'[t][k][j]`
//! in wrapping i32, starting from the block's folded bias, (see [`crate::pack`] for the operand domain), reading row `m` of tap `t`
//! through the pointer `a[t · MR + m]` (the indirection buffer) and the packed weights of one
//! `NR` block. It stores the `mr × nr` valid part to `out` with row stride `out_stride`.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

use cpu_probe::Features;

/// The signature of every igemm micro-kernel.
///
/// # Safety
/// `a` points at `taps · MR` pointers, each readable for `kc` bytes; `w` points at one packed
/// block (`taps · kc4 · NR · 4` bytes, `kc4 = ceil(kc / KR) · KR / 4`, zero-padded, `cKR`
/// layout); `bias` points at `NR`
/// i32 that initialise the accumulators; `out` is writable for
/// `mr` rows of `nr` i32 with row stride `out_stride`; `mr <= MR`, `nr <= NR`; the CPU supports
/// the kernel's ISA.
pub type IgemmFn = unsafe fn(
    mr: usize,
    nr: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
);

/// The `Fp32` requantization fused into a kernel's store (the definition of
/// `quant_params::Requantizer::requantize` for `RequantScheme::Fp32`): `acc as f32 · scale`,
/// clamped to `[lo, hi]` (`qmin − zp`, `qmax − zp`), rounded half to even, plus `zero_point`;
/// stored as i8 when `signed`, else u8. Per tensor (one `scale`) or per output channel
/// (`channel_scales`, one per column of the call).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fp32Requant<'a> {
    /// Multiplier per tensor; with `channel_scales`, the largest of them (kernels use it to
    /// decide whether a product can pass 2³¹).
    pub scale: f32,
    /// Lower clamp before the zero point.
    pub lo: f32,
    /// Upper clamp before the zero point.
    pub hi: f32,
    /// Output zero point.
    pub zero_point: i32,
    /// i8 output (else u8).
    pub signed: bool,
    /// One multiplier per output column, starting at the kernel call's first column (at least
    /// as many as the call's columns), instead of `scale`.
    pub channel_scales: Option<&'a [f32]>,
}

impl<'a> Fp32Requant<'a> {
    /// The fused form of `r`, if its scheme is `Fp32` (the only one the kernels fuse).
    pub fn from_requantizer(r: &quant_params::Requantizer) -> Option<Fp32Requant<'static>> {
        (r.scheme() == quant_params::RequantScheme::Fp32).then(|| Fp32Requant {
            scale: r.scale(),
            lo: (i64::from(r.qmin()) - i64::from(r.zero_point())) as f32,
            hi: (i64::from(r.qmax()) - i64::from(r.zero_point())) as f32,
            zero_point: r.zero_point(),
            signed: r.qtype() == quant_params::QType::I8,
            channel_scales: None,
        })
    }

    /// The fused form of a per-channel requantizer (channel `j` = column `j`), if its scheme is
    /// `Fp32` and it has channels.
    pub fn from_per_channel(r: &'a quant_params::PerChannelRequantizer) -> Option<Fp32Requant<'a>> {
        let first = Fp32Requant::from_requantizer(r.channel(0)?)?;
        let max = r.scales().iter().fold(0f32, |m, &s| m.max(s));
        Some(Fp32Requant {
            scale: max,
            channel_scales: Some(r.scales()),
            ..first
        })
    }

    /// The same requantization for a call whose first column is column `c0` of this one.
    pub fn from_column(&self, c0: usize) -> Fp32Requant<'a> {
        Fp32Requant {
            channel_scales: self.channel_scales.map(|s| s.get(c0..).unwrap_or(&[])),
            ..*self
        }
    }
}

/// An igemm micro-kernel with [`Fp32Requant`] fused into its store, over several consecutive
/// `NR` blocks in one call: as [`IgemmFn`], but for `ncols` columns (`ceil(ncols / NR)` packed
/// blocks starting at `w`, `w_stride` bytes apart, with their `NR` biases consecutive from
/// `bias`), requantized by `q` and stored as bytes to `out` (row stride `out_stride` bytes),
/// which must be writable for `mr` rows of `ncols` bytes.
pub type IgemmFp32Fn = unsafe fn(
    mr: usize,
    ncols: usize,
    w_stride: usize,
    taps: usize,
    kc: usize,
    a: *const *const u8,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
);

/// A GEMM kernel for plain (strided) A with [`Fp32Requant`] fused: `mb` full blocks of `MR`
/// rows (row `r` at `a + r · lda`, each readable for `kc4 · 4` bytes; the bytes past `kc` may
/// hold anything, their packed weights are zero) against `ncols` columns of packed B (one tap;
/// `ceil(ncols / NR)` blocks from `w`, `w_stride` bytes apart, `NR` biases each from `bias`),
/// stored as bytes to `out` (row stride `out_stride`), all in one call.
///
/// # Safety
/// As stated; `out` is writable for `MR · mb` rows of `ncols` bytes, accessed by no other
/// thread; `q.lo`, `q.hi` are integers with `q.lo + zp`, `q.hi + zp` inside the output type;
/// the CPU supports the kernel's ISA.
pub type GemmFp32Fn = unsafe fn(
    mb: usize,
    ncols: usize,
    w_stride: usize,
    kc4: usize,
    a: *const u8,
    lda: usize,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    q: &Fp32Requant,
    out: *mut u8,
    out_stride: usize,
);

/// [`GemmFp32Fn`] storing the i32 accumulators instead (`out` writable for `MR · mb` rows of
/// `ncols` i32, row stride `out_stride` elements).
///
/// # Safety
/// As [`GemmFp32Fn`] for A, B and the ISA; `out` as stated, accessed by no other thread.
pub type GemmI32Fn = unsafe fn(
    mb: usize,
    ncols: usize,
    w_stride: usize,
    kc4: usize,
    a: *const u8,
    lda: usize,
    a_xor: u8,
    w: *const i8,
    bias: *const i32,
    out: *mut i32,
    out_stride: usize,
);

/// The micro-kernel families of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// `igemm_4x8c4__scalar`: portable.
    Scalar,
    /// `igemm_4x8c4__neon`: NEON, i16-widening `smlal` by lane.
    Neon,
    /// `igemm_4x8c4__neondot`: NEON `sdot` by element (FEAT_DotProd).
    NeonDot,
    /// `igemm_4x8c4__neoni8mm`: NEON `sudot` by element (FEAT_I8MM).
    NeonI8mm,
    /// `igemm_4x16c8__neoni8mm`: NEON `usmmla` 2×8·8×2 matrix multiplies (FEAT_I8MM), `c8`
    /// packing.
    NeonI8mmC8,
    /// `igemm_4x8c4__avx2`: AVX2, i16-widening `vpmaddwd` (exact).
    Avx2,
    /// `igemm_8x32c4__avx512vnni`: AVX-512 VNNI `vpdpbusd`.
    Avx512Vnni,
}

/// A micro-kernel with its tile shape.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// Which family.
    pub variant: Variant,
    /// Its name (`igemm_8x32c4__avx512vnni`).
    pub name: &'static str,
    /// Rows per tile.
    pub mr: usize,
    /// Columns per tile.
    pub nr: usize,
    /// Input channels per packed k-group (4: `c4`, 8: `c8`; see [`crate::pack`]).
    pub kr: usize,
    /// The function.
    pub run: IgemmFn,
    /// The same kernel with the `Fp32` requantization (per tensor or per channel) fused into its store, where
    /// the variant has one (AVX-512 VNNI).
    pub run_fp32: Option<IgemmFp32Fn>,
    /// A strided-A GEMM kernel with the same fusion that runs many row blocks per call, where
    /// the variant has one (AVX-512 VNNI): the driver's path for plain GEMM.
    pub gemm_fp32: Option<GemmFp32Fn>,
    /// The strided-A entry with i32 output (the driver's path for i32 C).
    pub gemm_i32: Option<GemmI32Fn>,
    /// Whether the kernel multiplies signed activations `a'' = a' − 128` (SDOT): the plan then
    /// passes one more xor with 0x80 and folds `128·Σw'` into the bias.
    pub signed_a: bool,
}

impl Variant {
    /// Every variant the running CPU can execute (after the `EDGE_KERNELS_ISA` cap), best last.
    pub fn available() -> Vec<Variant> {
        Variant::available_for(&Features::get())
    }

    /// Every variant a CPU with `f` can execute, best last.
    pub fn available_for(f: &Features) -> Vec<Variant> {
        let mut v = vec![Variant::Scalar];
        if cfg!(target_arch = "aarch64") && f.neon {
            v.push(Variant::Neon);
        }
        if cfg!(target_arch = "aarch64") && f.neon && f.neon_dot {
            v.push(Variant::NeonDot);
        }
        if cfg!(target_arch = "aarch64") && f.neon && f.neon_i8mm {
            v.push(Variant::NeonI8mm);
            v.push(Variant::NeonI8mmC8);
        }
        if cfg!(target_arch = "x86_64") && f.avx2 {
            v.push(Variant::Avx2);
        }
        if cfg!(target_arch = "x86_64") && f.has_avx512vnni() {
            v.push(Variant::Avx512Vnni);
        }
        v
    }

    /// The best available variant.
    pub fn best() -> Variant {
        *Variant::available().last().unwrap_or(&Variant::Scalar)
    }

    /// The kernel of this variant, if this build and CPU can run it.
    pub fn kernel(self) -> Option<Kernel> {
        if !Variant::available().contains(&self) {
            return None;
        }
        match self {
            Variant::Scalar => Some(Kernel {
                variant: self,
                name: "igemm_4x8c4__scalar",
                mr: scalar::MR,
                nr: scalar::NR,
                kr: 4,
                run: scalar::igemm_4x8c4,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: false,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::Neon => Some(Kernel {
                variant: self,
                name: "igemm_4x8c4__neon",
                mr: aarch64::neon::MR,
                nr: aarch64::neon::NR,
                kr: 4,
                run: aarch64::neon::igemm_4x8c4,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: false,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::NeonDot => Some(Kernel {
                variant: self,
                name: "igemm_4x8c4__neondot",
                mr: aarch64::dot::MR,
                nr: aarch64::dot::NR,
                kr: 4,
                run: aarch64::dot::igemm_4x8c4_sdot,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: true,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::NeonI8mm => Some(Kernel {
                variant: self,
                name: "igemm_4x8c4__neoni8mm",
                mr: aarch64::dot::MR,
                nr: aarch64::dot::NR,
                kr: 4,
                run: aarch64::dot::igemm_4x8c4_sudot,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: false,
            }),
            #[cfg(target_arch = "aarch64")]
            Variant::NeonI8mmC8 => Some(Kernel {
                variant: self,
                name: "igemm_4x16c8__neoni8mm",
                mr: aarch64::mmla::MR,
                nr: aarch64::mmla::NR,
                kr: 8,
                run: aarch64::mmla::igemm_4x16c8,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: false,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Some(Kernel {
                variant: self,
                name: "igemm_4x8c4__avx2",
                mr: x86_64::avx2::MR,
                nr: x86_64::avx2::NR,
                kr: 4,
                run: x86_64::avx2::igemm_4x8c4,
                run_fp32: None,
                gemm_fp32: None,
                gemm_i32: None,
                signed_a: false,
            }),
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => Some(Kernel {
                variant: self,
                name: "igemm_8x32c4__avx512vnni",
                mr: x86_64::avx512vnni::MR,
                nr: x86_64::avx512vnni::NR,
                kr: 4,
                run: x86_64::avx512vnni::igemm_8x32c4,
                run_fp32: Some(x86_64::avx512vnni::igemm_8x32c4_fp32),
                gemm_fp32: Some(x86_64::avx512vnni::gemm_8x32c4_fp32_strided),
                gemm_i32: Some(x86_64::avx512vnni::gemm_8x32c4_i32_strided),
                signed_a: false,
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// `KR` of the packed layout of the micro-kernel of this build whose tile width is `nr`: 8 for
/// `igemm_4x16c8__neoni8mm` (the only kernel with `NR = 16`), 4 for every other kernel.
/// [`crate::pack::pack`] uses it; new code should pack with [`crate::pack::pack_kernel`].
pub fn kr_for_nr(nr: usize) -> usize {
    if cfg!(target_arch = "aarch64") && nr == 16 {
        8
    } else {
        4
    }
}

/// Reads the 8 bytes of k-group `q` of a row of `kc` bytes, zero-filling past `kc` (no read
/// beyond the row), as a little-endian u64. The partial last group goes through an out-of-line
/// cold call, so a kernel that calls this in its k-loop keeps a tight loop (inlined, the tail
/// code made the AVX2 kernel's loop 40% slower).
///
/// # Safety
/// `row` is readable for `kc` bytes and `8 · q < kc`.
#[allow(dead_code)]
#[inline(always)]
pub(crate) unsafe fn load8(row: *const u8, q: usize, kc: usize) -> u64 {
    let k = 8 * q;
    if k + 8 <= kc {
        // SAFETY: bytes k..k+8 are inside the row (caller contract).
        unsafe { core::ptr::read_unaligned(row.add(k).cast::<u64>()) }
    } else {
        // SAFETY: k < kc (caller contract), kc − k < 8.
        unsafe { load_tail_cold(row.add(k), kc - k) }
    }
}

/// Reads the 4 bytes of k-group `q` of a row of `kc` bytes, zero-filling past `kc` (no read
/// beyond the row), as a little-endian u32; the partial last group as in [`load8`].
///
/// # Safety
/// `row` is readable for `kc` bytes and `4 · q < kc`.
#[inline(always)]
pub(crate) unsafe fn load4(row: *const u8, q: usize, kc: usize) -> u32 {
    let k = 4 * q;
    if k + 4 <= kc {
        // SAFETY: bytes k..k+4 are inside the row (caller contract).
        unsafe { core::ptr::read_unaligned(row.add(k).cast::<u32>()) }
    } else {
        // SAFETY: k < kc (caller contract), kc − k < 4.
        unsafe { load_tail_cold(row.add(k), kc - k) as u32 }
    }
}

/// [`load_tail`] out of line, for the calls inside k-loops.
///
/// # Safety
/// As [`load_tail`].
#[cold]
#[inline(never)]
unsafe fn load_tail_cold(p: *const u8, n: usize) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { load_tail(p, n) }
}

/// The `n < 8` bytes at `p`, zero-extended little-endian. Shifts, not a byte array: LLVM turns
/// a byte-copy loop into a `memcpy` call, and a call inside a kernel makes it spill every vector
/// register around it (the AVX-512 kernel's tail group, outside its k-loop, inlines this).
///
/// # Safety
/// `p` is readable for `n` bytes.
#[inline(always)]
pub(crate) unsafe fn load_tail(p: *const u8, n: usize) -> u64 {
    let mut v = 0u64;
    for i in 0..n {
        // SAFETY: i < n, inside the caller's range.
        v |= u64::from(unsafe { *p.add(i) }) << (8 * i);
    }
    v
}
