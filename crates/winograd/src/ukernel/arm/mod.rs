//! 32-bit ARM (AArch32, armv7) kernels, one file per ISA level: [`neon`] (NEON, detected at run
//! time from `AT_HWCAP`). Written with `asm!`: the `core::arch::arm` NEON intrinsics and
//! `#[target_feature(enable = "neon")]` are unstable on the pinned toolchain (E0658), and the
//! armv7 target does not enable NEON by default, so each `asm!` block switches the assembler to
//! NEON with a `.fpu` directive and is only reached through the dispatch table's `Isa::Neon`
//! entry. Names carry an `aarch32` marker: `tgemm_6x8__aarch32_neon` is a different function from
//! aarch64's `tgemm_6x16__neon`.

pub mod neon;
