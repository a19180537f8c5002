//! 32-bit ARM (AArch32, armv7) kernels: [`neon`] (NEON, detected at run time from `AT_HWCAP`).
//! Written with `asm!`: the `core::arch::arm` NEON intrinsics and
//! `#[target_feature(enable = "neon")]` are unstable on the pinned toolchain (E0658), and the
//! armv7 target does not enable NEON by default, so each `asm!` block switches the assembler to
//! NEON with a `.fpu neon` directive and is only reached through the [`super::BULK`] entry with
//! `Isa::Neon`. Names carry an `aarch32` marker (`requant_fp32_x16__aarch32_neon`), as in the
//! qgemm and depthwise crates.

pub mod neon;
