//! 32-bit ARM (armv7, AArch32) micro-kernels, one file per ISA level: `neon` (Advanced SIMD,
//! detected at run time from `HWCAP_NEON`: the `armv7-unknown-linux-gnueabihf` target's baseline
//! is VFPv3-D16 without NEON).
//!
//! The `core::arch::arm` NEON intrinsics and `#[target_feature(enable = "neon")]` are unstable
//! on the pinned toolchain (E0658), so the kernels are `asm!` blocks that switch the assembler to
//! NEON (`.fpu neon`) and keep every vector value in registers named in the template; the
//! compiler, which targets VFPv3-D16, never allocates a NEON register itself, and saves the
//! callee-saved `d8`-`d15` the blocks declare clobbered.

pub mod neon;
