//! x86_64 kernels of the int8 path, one file per ISA level.

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
