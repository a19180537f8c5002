//! x86_64 kernels of the int8 path, one file per ISA level. The three GEMMs share one body
//! (`gemm_c2`) over the register type of their level (`Acc`) and their multiply-accumulate
//! step; the transforms are the portable ones compiled for each level (`transforms!`).

use core::arch::x86_64::*;

pub mod avx2;
pub mod avx512;
pub mod avx512vnni;

/// Reads the i16 pair at `p` as one i32 (unaligned) and broadcasts it.
///
/// # Safety
/// `p` is readable for 2 i16.
#[inline(always)]
pub(crate) unsafe fn pair(p: *const i16) -> i32 {
    // SAFETY: the caller guarantees 4 readable bytes at p.
    unsafe { p.cast::<i32>().read_unaligned() }
}

/// The i32 vector register of one ISA level, as the GEMM body uses it.
///
/// # Safety (all methods)
/// Called only from a function with the type's ISA enabled (`__m256i`: AVX2, `__m512i`:
/// AVX-512 F); pointers as documented per method.
pub(crate) trait Acc: Copy {
    /// i32 lanes per register.
    const LANES: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self;
    /// `2 · LANES` i16 read (unaligned) from `p`.
    unsafe fn load(p: *const i16) -> Self;
    /// `x` in every lane.
    unsafe fn splat(x: i32) -> Self;
    /// The lanes written (unaligned) to `LANES` i32 from `p`.
    unsafe fn store(p: *mut i32, v: Self);
}

/// `impl Acc for $reg` (`$lanes` i32 lanes) from its ISA level's zero, unaligned load, broadcast
/// and unaligned store intrinsics, for each register type listed.
macro_rules! impl_acc {
    ($($reg:ty, $lanes:literal: $zero:ident, $load:ident, $splat:ident, $store:ident;)*) => {$(
        impl Acc for $reg {
            const LANES: usize = $lanes;
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: the register's ISA is enabled in the caller (trait contract).
                unsafe { $zero() }
            }
            #[inline(always)]
            unsafe fn load(p: *const i16) -> Self {
                // SAFETY: 4 · LANES readable bytes at `p`, the ISA enabled (trait contract).
                unsafe { $load(p.cast()) }
            }
            #[inline(always)]
            unsafe fn splat(x: i32) -> Self {
                // SAFETY: the register's ISA is enabled in the caller (trait contract).
                unsafe { $splat(x) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut i32, v: Self) {
                // SAFETY: 4 · LANES writable bytes at `p`, the ISA enabled (trait contract).
                unsafe { $store(p.cast(), v) }
            }
        }
    )*};
}

// AVX2 (`__m256i`) and AVX-512 F (`__m512i`).
impl_acc! {
    __m256i, 8: _mm256_setzero_si256, _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256;
    __m512i, 16: _mm512_setzero_si512, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512;
}

/// The body of the x86 `wgemm_{MR}x{NR}c2` GEMMs, `NR = 2 · V::LANES`: `MR` rows of two
/// registers, K in pairs; `mac(acc, x, u)` adds to each i32 lane of `acc` the two i16 products
/// of that lane of `x` and `u` (`vpmaddwd` + `vpaddd`, or the fused `vpdpwssd`). Inlined into
/// each `#[target_feature]` entry point, so it is compiled with that entry's features.
///
/// # Safety
/// The contract of [`crate::int8::ukernel::GemmFn`] with these `MR` and `NR`; called only from
/// a function with `V`'s ISA enabled, with a `mac` that is sound to call there.
#[inline(always)]
pub(crate) unsafe fn gemm_c2<V: Acc, const MR: usize>(
    kp: usize,
    v: *const i16,
    ldv: usize,
    u: *const i16,
    m: *mut i32,
    ldm: usize,
    mac: impl Fn(V, V, V) -> V,
) {
    let n = 2 * V::LANES;
    // SAFETY: `V`'s ISA is enabled in the caller (contract).
    let mut acc = [[unsafe { V::zero() }; 2]; MR];
    for k2 in 0..kp / 2 {
        // SAFETY: pair row k2 of `u` holds 2·n i16 (two register loads); each of the MR rows of
        // `v` holds elements 2·k2 and 2·k2+1 (k2 < kp/2); the ISA is enabled (contract).
        unsafe {
            let u0 = V::load(u.add(k2 * 2 * n));
            let u1 = V::load(u.add(k2 * 2 * n + n));
            for (r, a) in acc.iter_mut().enumerate() {
                let x = V::splat(pair(v.add(r * ldv + 2 * k2)));
                a[0] = mac(a[0], x, u0);
                a[1] = mac(a[1], x, u1);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: row r < MR of `m` has n writable i32; the ISA is enabled (contract).
        unsafe {
            V::store(m.add(r * ldm), a[0]);
            V::store(m.add(r * ldm + V::LANES), a[1]);
        }
    }
}

/// The portable input and output transforms compiled for one ISA level: defines
/// `pub unsafe fn $input` ([`crate::int8::ukernel::InputFn`]) and `pub unsafe fn $output`
/// ([`crate::int8::ukernel::OutputFn`]) with `#[target_feature(enable = $feat)]` bodies.
macro_rules! transforms {
    ($feat:literal, $isa:literal, $input:ident, $output:ident) => {
        kernel_fn! {
            #[doc = concat!("See [`crate::int8::ukernel::InputFn`].\n\n# Safety\nThe CPU supports ", $isa, ".")]
            input $input(rows, cin, xor, za, out, ps) {
                #[target_feature(enable = $feat)]
                fn inner(rows: &[&[u8]; 16], cin: usize, xor: u8, za: i16, out: &mut [i16], ps: usize) {
                    crate::int8::transform::input_tile_raw(rows, cin, xor, za, out, ps);
                }
                // SAFETY: the ISA is available (caller).
                unsafe { inner(rows, cin, xor, za, out, ps) }
            }
        }

        kernel_fn! {
            #[doc = concat!("See [`crate::int8::ukernel::OutputFn`].\n\n# Safety\nThe CPU supports ", $isa, ".")]
            output $output(m, ps, bias, cout, y) {
                #[target_feature(enable = $feat)]
                fn inner(m: &[i32], ps: usize, bias: &[i32], cout: usize, y: &mut [i32]) {
                    crate::int8::transform::output_tile_raw(m, ps, bias, cout, y);
                }
                // SAFETY: the ISA is available (caller).
                unsafe { inner(m, ps, bias, cout, y) }
            }
        }
    };
}
pub(crate) use transforms;
