//! Run-time dispatch features: what the kernel crates may use on this CPU.
//!
//! Kernel crates never call `is_x86_feature_detected!` themselves; they ask [`Features::get`]
//! once at plan time and keep function pointers. [`Features::get`] honours the workspace-wide
//! ISA cap in the environment variable [`ISA_CAP_ENV`] (`EDGE_KERNELS_ISA`), so a user can
//! benchmark or debug a lower ISA level on a capable machine.

use std::fmt;
use std::sync::OnceLock;

/// Name of the environment variable that caps the ISA level used by every crate of the workspace.
///
/// Accepted values (case-insensitive): `scalar`, `neon`, `neondot`, `i8mm` (aarch64),
/// `avx2`, `avx512`, `avx512vnni` (x86_64), or `native` / empty for no cap.
/// A value naming the other architecture's level caps to `scalar`. An unknown value is reported
/// on stderr once and ignored.
pub const ISA_CAP_ENV: &str = "EDGE_KERNELS_ISA";

/// CPU features relevant to kernel dispatch, detected at run time.
///
/// All fields are plain booleans so that a test can construct any combination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Features {
    /// x86: SSE2.
    pub sse2: bool,
    /// x86: SSSE3.
    pub ssse3: bool,
    /// x86: SSE4.1.
    pub sse4_1: bool,
    /// x86: AVX.
    pub avx: bool,
    /// x86: FMA3.
    pub fma: bool,
    /// x86: AVX2.
    pub avx2: bool,
    /// x86: AVX-512 Foundation.
    pub avx512f: bool,
    /// x86: AVX-512 Byte and Word.
    pub avx512bw: bool,
    /// x86: AVX-512 Doubleword and Quadword.
    pub avx512dq: bool,
    /// x86: AVX-512 Vector Length extensions.
    pub avx512vl: bool,
    /// x86: AVX-512 Vector Neural Network Instructions (`vpdpbusd`, `vpdpwssd`).
    pub avx512vnni: bool,
    /// x86: AVX-512 BF16.
    pub avx512bf16: bool,
    /// x86: AVX-VNNI (VEX-encoded `vpdpbusd` on 256-bit registers).
    pub avxvnni: bool,
    /// aarch64 and 32-bit arm: Advanced SIMD (NEON). Always true on aarch64; on 32-bit ARM
    /// `HWCAP_NEON` of `AT_HWCAP` (optional in ARMv7-A; every armeabi-v7a phone since ~2012 has it).
    pub neon: bool,
    /// aarch64: half-precision arithmetic (FEAT_FP16); 32-bit arm: `HWCAP_ASIMDHP`.
    pub neon_fp16: bool,
    /// aarch64: dot product (`SDOT`/`UDOT`, FEAT_DotProd); 32-bit arm: `HWCAP_ASIMDDP` (ARMv8.2+
    /// cores in AArch32 state; Linux 6.2+ reports it).
    pub neon_dot: bool,
    /// aarch64: int8 matrix multiply (`SMMLA`/`UMMLA`/`USMMLA`, FEAT_I8MM); 32-bit arm:
    /// `HWCAP_I8MM`.
    pub neon_i8mm: bool,
    /// aarch64: BFloat16 (FEAT_BF16); 32-bit arm: `HWCAP_ASIMDBF16`.
    pub neon_bf16: bool,
    /// aarch64: SVE.
    pub sve: bool,
    /// aarch64: SVE2.
    pub sve2: bool,
    /// 32-bit arm: VFPv4 (`HWCAP_VFPv4`): fused multiply-add (`vfma.f32`, also on NEON registers
    /// when [`Features::neon`]). Cortex-A7/A15 and later; not Cortex-A8/A9. Always false on aarch64,
    /// where fused multiply-add is baseline.
    pub vfpv4: bool,
    /// 32-bit arm: integer divide in ARM state (`HWCAP_IDIVA`: `sdiv`/`udiv`).
    pub idiv: bool,
    /// aarch64: FEAT_AES; 32-bit arm: `HWCAP2_AES` (an ARMv8 core in AArch32 state).
    pub aes: bool,
    /// aarch64: FEAT_PMULL; 32-bit arm: `HWCAP2_PMULL`.
    pub pmull: bool,
    /// aarch64: FEAT_SHA1; 32-bit arm: `HWCAP2_SHA1`.
    pub sha1: bool,
    /// aarch64: FEAT_SHA256; 32-bit arm: `HWCAP2_SHA2`.
    pub sha2: bool,
    /// aarch64: FEAT_CRC32; 32-bit arm: `HWCAP2_CRC32` (any of the `HWCAP2` bits means an ARMv8 core).
    pub crc32: bool,
}

/// An ISA level: what a micro-kernel needs (the `Isa` of every entry of a kernel crate's dispatch
/// table, see [`crate::dispatch`]) and what [`ISA_CAP_ENV`] caps a process to.
///
/// Levels of one architecture are ordered (`Neon < NeonDot < NeonI8mm`,
/// `Avx2 < Avx512 < Avx512Vnni`); [`Isa::supported`] says whether this CPU runs a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable scalar code only.
    Scalar,
    /// NEON, no dot product or i8mm: aarch64 Advanced SIMD, or 32-bit ARM NEON (`HWCAP_NEON`).
    Neon,
    /// aarch64 only: NEON with dot product.
    NeonDot,
    /// aarch64 only: NEON with dot product and i8mm.
    NeonI8mm,
    /// x86_64: up to AVX2 + FMA.
    Avx2,
    /// x86_64: up to AVX-512 F/BW/DQ/VL, no VNNI.
    Avx512,
    /// x86_64: up to AVX-512 VNNI (no cap on this architecture's current kernels).
    Avx512Vnni,
}

impl Isa {
    /// Parses a cap name as accepted in [`ISA_CAP_ENV`]; `Ok(None)` means "no cap".
    pub fn parse(s: &str) -> Result<Option<Isa>, String> {
        let v = s.trim().to_ascii_lowercase();
        Ok(Some(match v.as_str() {
            "" | "native" | "max" => return Ok(None),
            "scalar" | "none" => Isa::Scalar,
            "neon" => Isa::Neon,
            "neondot" | "dotprod" => Isa::NeonDot,
            "i8mm" | "neoni8mm" => Isa::NeonI8mm,
            "avx2" => Isa::Avx2,
            "avx512" => Isa::Avx512,
            "avx512vnni" | "vnni" => Isa::Avx512Vnni,
            _ => {
                return Err(format!(
                    "{ISA_CAP_ENV}={s:?} is not one of scalar, neon, neondot, i8mm, avx2, avx512, avx512vnni, native"
                ))
            }
        }))
    }

    /// Every level, scalar first.
    pub const ALL: [Isa; 7] = [
        Isa::Scalar,
        Isa::Neon,
        Isa::NeonDot,
        Isa::NeonI8mm,
        Isa::Avx2,
        Isa::Avx512,
        Isa::Avx512Vnni,
    ];

    /// Whether the running CPU (after the [`ISA_CAP_ENV`] cap) can execute code of this level:
    /// the one support predicate every kernel crate's dispatch uses.
    pub fn supported(self) -> bool {
        self.supported_by(&Features::get())
    }

    /// Whether a CPU with features `f`, running this build, can execute code of this level
    /// (false for the other architecture's levels).
    pub fn supported_by(self, f: &Features) -> bool {
        match self {
            Isa::Scalar => true,
            Isa::Neon => cfg!(any(target_arch = "aarch64", target_arch = "arm")) && f.neon,
            Isa::NeonDot => cfg!(target_arch = "aarch64") && f.neon && f.neon_dot,
            Isa::NeonI8mm => cfg!(target_arch = "aarch64") && f.neon && f.neon_i8mm,
            Isa::Avx2 => cfg!(target_arch = "x86_64") && f.has_avx2_fma(),
            // The AVX-512 kernels are also compiled with AVX2 + FMA (their transforms and
            // tails use 256-bit code), so each level includes the one below it.
            Isa::Avx512 => cfg!(target_arch = "x86_64") && f.has_avx2_fma() && f.has_avx512(),
            Isa::Avx512Vnni => {
                cfg!(target_arch = "x86_64") && f.has_avx2_fma() && f.has_avx512vnni()
            }
        }
    }

    /// The level's name as written in [`ISA_CAP_ENV`] and as the `__<isa>` suffix of kernel
    /// names (`scalar`, `neon`, `neondot`, `neoni8mm`... see [`Isa::suffix`]).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Neon => "neon",
            Isa::NeonDot => "neondot",
            Isa::NeonI8mm => "i8mm",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Avx512Vnni => "avx512vnni",
        }
    }

    /// The suffix of kernel names of this level (`igemm_4x8c4__neoni8mm`): as [`Isa::name`],
    /// except `neoni8mm` for [`Isa::NeonI8mm`] (XNNPACK's spelling).
    pub fn suffix(self) -> &'static str {
        match self {
            Isa::NeonI8mm => "neoni8mm",
            other => other.name(),
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Features {
    /// No features at all: what the scalar paths need.
    pub const NONE: Features = Features {
        sse2: false,
        ssse3: false,
        sse4_1: false,
        avx: false,
        fma: false,
        avx2: false,
        avx512f: false,
        avx512bw: false,
        avx512dq: false,
        avx512vl: false,
        avx512vnni: false,
        avx512bf16: false,
        avxvnni: false,
        neon: false,
        neon_fp16: false,
        neon_dot: false,
        neon_i8mm: false,
        neon_bf16: false,
        sve: false,
        sve2: false,
        vfpv4: false,
        idiv: false,
        aes: false,
        pmull: false,
        sha1: false,
        sha2: false,
        crc32: false,
    };

    /// The dispatch features of a 32-bit ARM Linux process whose auxiliary vector holds these
    /// `AT_HWCAP` / `AT_HWCAP2` values (the bit layout of `arch/arm/include/uapi/asm/hwcap.h`,
    /// which a 64-bit kernel also gives 32-bit processes). Used for the live probe on `arm` and for
    /// recordings (`kbench probe --sysroot <dir> --hwcap <v>`).
    ///
    /// Only what the kernel reports: unlike cpuinfo's ISA flags ([`crate::arm::decode_isa`]),
    /// nothing is inferred from the core's MIDR, so an ARMv8.2 core whose kernel predates
    /// `HWCAP_ASIMDDP` reports no dot product here (the conservative answer for dispatch).
    pub fn from_linux_arm_hwcap(hwcap: u64, hwcap2: u64) -> Features {
        use crate::arm::{bit, HWCAP2_ARM, HWCAP_ARM};
        let h = |n| bit(hwcap, n, HWCAP_ARM);
        let h2 = |n| bit(hwcap2, n, HWCAP2_ARM);
        let neon = h("neon");
        Features {
            neon,
            // The SIMD extensions exist only with NEON; a kernel never reports one without it.
            neon_fp16: neon && h("asimdhp"),
            neon_dot: neon && h("asimddp"),
            neon_i8mm: neon && h("i8mm"),
            neon_bf16: neon && h("asimdbf16"),
            vfpv4: h("vfpv4"),
            idiv: h("idiva"),
            aes: h2("aes"),
            pmull: h2("pmull"),
            sha1: h2("sha1"),
            sha2: h2("sha2"),
            crc32: h2("crc32"),
            ..Features::NONE
        }
    }

    /// The dispatch features of an AArch64 Linux process with these `AT_HWCAP` / `AT_HWCAP2`
    /// values (`arch/arm64/include/uapi/asm/hwcap.h`): what the live probe on aarch64 finds
    /// through the standard library, computed for a recording.
    pub fn from_linux_arm64_hwcap(hwcap: u64, hwcap2: u64) -> Features {
        use crate::arm::{bit, HWCAP2_ARM64, HWCAP_ARM64};
        let h = |n| bit(hwcap, n, HWCAP_ARM64);
        let h2 = |n| bit(hwcap2, n, HWCAP2_ARM64);
        let neon = h("asimd");
        Features {
            neon,
            neon_fp16: neon && h("fphp") && h("asimdhp"),
            neon_dot: neon && h("asimddp"),
            neon_i8mm: neon && h2("i8mm"),
            neon_bf16: neon && h2("bf16"),
            sve: h("sve"),
            sve2: h("sve") && h2("sve2"),
            aes: h("aes"),
            pmull: h("pmull"),
            sha1: h("sha1"),
            sha2: h("sha2"),
            crc32: h("crc32"),
            ..Features::NONE
        }
    }

    /// The features of the running CPU, capped by [`ISA_CAP_ENV`]. Detected once per process.
    pub fn get() -> Features {
        static CACHED: OnceLock<Features> = OnceLock::new();
        *CACHED.get_or_init(|| {
            let live = Features::detect_uncapped();
            match std::env::var(ISA_CAP_ENV) {
                Ok(v) => match Isa::parse(&v) {
                    Ok(Some(cap)) => live.capped(cap),
                    Ok(None) => live,
                    Err(msg) => {
                        eprintln!("edge-kernels: ignoring {msg}");
                        live
                    }
                },
                Err(_) => live,
            }
        })
    }

    /// The ISA cap in effect for this process, if any (parsed from [`ISA_CAP_ENV`]).
    pub fn cap_from_env() -> Option<Isa> {
        std::env::var(ISA_CAP_ENV)
            .ok()
            .and_then(|v| Isa::parse(&v).ok().flatten())
    }

    /// The features of the running CPU, ignoring [`ISA_CAP_ENV`].
    #[allow(unused_mut)]
    pub fn detect_uncapped() -> Features {
        // 32-bit ARM: `is_arm_feature_detected!` is unstable on the pinned toolchain; read the
        // auxiliary vector directly (what it does too).
        #[cfg(all(target_arch = "arm", any(target_os = "linux", target_os = "android")))]
        // SAFETY: getauxval reads the process's auxiliary vector; it has no preconditions and
        // returns 0 for an absent entry (then no feature is claimed).
        let mut f = unsafe {
            Features::from_linux_arm_hwcap(
                u64::from(libc::getauxval(libc::AT_HWCAP)),
                u64::from(libc::getauxval(libc::AT_HWCAP2)),
            )
        };
        #[cfg(not(all(target_arch = "arm", any(target_os = "linux", target_os = "android"))))]
        let mut f = Features::NONE;
        #[cfg(target_arch = "x86_64")]
        {
            f.sse2 = std::arch::is_x86_feature_detected!("sse2");
            f.ssse3 = std::arch::is_x86_feature_detected!("ssse3");
            f.sse4_1 = std::arch::is_x86_feature_detected!("sse4.1");
            f.avx = std::arch::is_x86_feature_detected!("avx");
            f.fma = std::arch::is_x86_feature_detected!("fma");
            f.avx2 = std::arch::is_x86_feature_detected!("avx2");
            f.avx512f = std::arch::is_x86_feature_detected!("avx512f");
            f.avx512bw = std::arch::is_x86_feature_detected!("avx512bw");
            f.avx512dq = std::arch::is_x86_feature_detected!("avx512dq");
            f.avx512vl = std::arch::is_x86_feature_detected!("avx512vl");
            f.avx512vnni = std::arch::is_x86_feature_detected!("avx512vnni");
            f.avx512bf16 = std::arch::is_x86_feature_detected!("avx512bf16");
            f.avxvnni = std::arch::is_x86_feature_detected!("avxvnni");
        }
        #[cfg(target_arch = "aarch64")]
        {
            f.neon = std::arch::is_aarch64_feature_detected!("neon");
            f.neon_fp16 = std::arch::is_aarch64_feature_detected!("fp16");
            f.neon_dot = std::arch::is_aarch64_feature_detected!("dotprod");
            f.neon_i8mm = std::arch::is_aarch64_feature_detected!("i8mm");
            f.neon_bf16 = std::arch::is_aarch64_feature_detected!("bf16");
            f.sve = std::arch::is_aarch64_feature_detected!("sve");
            f.sve2 = std::arch::is_aarch64_feature_detected!("sve2");
            f.aes = std::arch::is_aarch64_feature_detected!("aes");
            f.pmull = std::arch::is_aarch64_feature_detected!("pmull");
            // The standard library's "sha2" is FEAT_SHA1 + FEAT_SHA256.
            f.sha1 = std::arch::is_aarch64_feature_detected!("sha2");
            f.sha2 = f.sha1;
            f.crc32 = std::arch::is_aarch64_feature_detected!("crc");
        }
        f
    }

    /// These features with everything above `cap` switched off.
    pub fn capped(mut self, cap: Isa) -> Features {
        let arm_level = match cap {
            Isa::Scalar | Isa::Avx2 | Isa::Avx512 | Isa::Avx512Vnni => 0,
            Isa::Neon => 1,
            Isa::NeonDot => 2,
            Isa::NeonI8mm => 3,
        };
        let x86_level = match cap {
            Isa::Scalar | Isa::Neon | Isa::NeonDot | Isa::NeonI8mm => 0,
            Isa::Avx2 => 1,
            Isa::Avx512 => 2,
            Isa::Avx512Vnni => 3,
        };
        if arm_level < 1 {
            self.neon = false;
            self.neon_fp16 = false;
            self.neon_bf16 = false;
            self.sve = false;
            self.sve2 = false;
            self.vfpv4 = false;
            self.idiv = false;
            self.aes = false;
            self.pmull = false;
            self.sha1 = false;
            self.sha2 = false;
            self.crc32 = false;
        }
        if arm_level < 2 {
            self.neon_dot = false;
        }
        if arm_level < 3 {
            self.neon_i8mm = false;
        }
        if x86_level < 1 {
            self.sse2 = false;
            self.ssse3 = false;
            self.sse4_1 = false;
            self.avx = false;
            self.fma = false;
            self.avx2 = false;
        }
        if x86_level < 2 {
            self.avx512f = false;
            self.avx512bw = false;
            self.avx512dq = false;
            self.avx512vl = false;
            self.avx512bf16 = false;
        }
        if x86_level < 3 {
            self.avx512vnni = false;
            self.avxvnni = false;
        }
        self
    }

    /// AVX2 + FMA: what the `__avx2` kernels of the workspace require.
    pub fn has_avx2_fma(&self) -> bool {
        self.avx2 && self.fma
    }

    /// AVX-512 F + BW + DQ + VL: what the `__avx512` kernels of the workspace require.
    pub fn has_avx512(&self) -> bool {
        self.avx512f && self.avx512bw && self.avx512dq && self.avx512vl
    }

    /// AVX-512 (as [`Features::has_avx512`]) plus VNNI: what the `__avx512vnni` kernels require.
    pub fn has_avx512vnni(&self) -> bool {
        self.has_avx512() && self.avx512vnni
    }

    /// Names of the features that are on, in declaration order (for reports and test logs).
    pub fn enabled_names(&self) -> Vec<&'static str> {
        let all = [
            ("sse2", self.sse2),
            ("ssse3", self.ssse3),
            ("sse4.1", self.sse4_1),
            ("avx", self.avx),
            ("fma", self.fma),
            ("avx2", self.avx2),
            ("avx512f", self.avx512f),
            ("avx512bw", self.avx512bw),
            ("avx512dq", self.avx512dq),
            ("avx512vl", self.avx512vl),
            ("avx512vnni", self.avx512vnni),
            ("avx512bf16", self.avx512bf16),
            ("avxvnni", self.avxvnni),
            ("neon", self.neon),
            ("fp16", self.neon_fp16),
            ("dotprod", self.neon_dot),
            ("i8mm", self.neon_i8mm),
            ("bf16", self.neon_bf16),
            ("sve", self.sve),
            ("sve2", self.sve2),
            ("vfpv4", self.vfpv4),
            ("idiv", self.idiv),
            ("aes", self.aes),
            ("pmull", self.pmull),
            ("sha1", self.sha1),
            ("sha2", self.sha2),
            ("crc32", self.crc32),
        ];
        all.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_parse() {
        assert_eq!(Isa::parse("AVX2"), Ok(Some(Isa::Avx2)));
        assert_eq!(Isa::parse(""), Ok(None));
        assert_eq!(Isa::parse("native"), Ok(None));
        assert!(Isa::parse("sse9").is_err());
    }

    #[test]
    fn capping_clears_higher_levels() {
        let mut all = Features::NONE;
        all.avx2 = true;
        all.fma = true;
        all.avx512f = true;
        all.avx512bw = true;
        all.avx512dq = true;
        all.avx512vl = true;
        all.avx512vnni = true;
        all.neon = true;
        all.neon_dot = true;
        all.neon_i8mm = true;
        let c = all.capped(Isa::Avx512);
        assert!(c.has_avx512() && !c.has_avx512vnni() && c.has_avx2_fma());
        let c = all.capped(Isa::Avx2);
        assert!(c.has_avx2_fma() && !c.avx512f);
        let c = all.capped(Isa::NeonDot);
        assert!(c.neon && c.neon_dot && !c.neon_i8mm && !c.avx2);
        assert_eq!(all.capped(Isa::Scalar), Features::NONE);
    }

    /// Prints and asserts what the running CPU offers. Under `scripts/test-aarch64.sh` this
    /// proves which paths a QEMU_CPU setting exercised: `cortex-a53` has NEON but no dot
    /// product; `max` has both, and i8mm.
    #[test]
    fn live_features_match_the_platform() {
        let f = Features::detect_uncapped();
        eprintln!("detected features: {:?}", f.enabled_names());
        #[cfg(target_arch = "aarch64")]
        {
            assert!(f.neon, "NEON is baseline on aarch64");
            if let Ok(cpu) = std::env::var("QEMU_CPU") {
                eprintln!(
                    "QEMU_CPU={cpu}: dotprod={} i8mm={}",
                    f.neon_dot, f.neon_i8mm
                );
                match cpu.as_str() {
                    "cortex-a53" => assert!(!f.neon_dot && !f.neon_i8mm),
                    "max" => assert!(f.neon_dot && f.neon_i8mm),
                    _ => {}
                }
            }
        }
        // 32-bit ARM under scripts/test-armv7.sh: both QEMU CPUs are ARMv7-A with NEON, VFPv4
        // and integer divide, and no ARMv8 AArch32 extensions.
        #[cfg(target_arch = "arm")]
        if let Ok(cpu) = std::env::var("QEMU_CPU") {
            eprintln!(
                "QEMU_CPU={cpu}: neon={} vfpv4={} idiv={} crc32={}",
                f.neon, f.vfpv4, f.idiv, f.crc32
            );
            if matches!(cpu.as_str(), "cortex-a7" | "cortex-a15") {
                assert!(f.neon && f.vfpv4 && f.idiv);
                assert!(!f.crc32 && !f.aes && !f.neon_dot);
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert!(f.sse2, "SSE2 is baseline on x86_64");
    }

    /// `AT_HWCAP` values of recorded 32-bit devices (cpuinfo's mock tests, see
    /// tests/fixtures.rs for the recordings themselves).
    #[test]
    fn arm_hwcap_decoding() {
        // Nexus S: Cortex-A8 (NEON, VFPv3, no VFPv4, no integer divide).
        let f = Features::from_linux_arm_hwcap(0x0000_38d7, 0);
        assert!(f.neon && !f.vfpv4 && !f.idiv && !f.crc32);
        // Galaxy J1 (2016): Cortex-A7.
        let f = Features::from_linux_arm_hwcap(0x000f_b0d7, 0);
        assert!(f.neon && f.vfpv4 && f.idiv && !f.aes);
        assert_eq!(f.enabled_names(), ["neon", "vfpv4", "idiv"]);
        // A 32-bit process on a Cortex-A53 phone (64-bit kernel): the ARMv8 bits in AT_HWCAP2.
        let f = Features::from_linux_arm_hwcap(0x0037_b0d6, 0x1f);
        assert!(f.neon && f.vfpv4 && f.idiv && f.aes && f.pmull && f.sha1 && f.sha2 && f.crc32);
        assert!(!f.neon_dot && !f.neon_fp16);
        // An ARMv8.2 core on Linux 6.2+: ASIMDHP, ASIMDDP, I8MM.
        let f =
            Features::from_linux_arm_hwcap(0x0037_b0d6 | (1 << 23) | (1 << 24) | (1 << 27), 0x1f);
        assert!(f.neon_fp16 && f.neon_dot && f.neon_i8mm && !f.neon_bf16);
        // No NEON: no SIMD extension is claimed, whatever else is set.
        let f = Features::from_linux_arm_hwcap(0x0fff_ffff & !(1 << 12), 0);
        assert!(!f.neon && !f.neon_dot && !f.neon_fp16 && !f.neon_i8mm && f.vfpv4);
        assert_eq!(Features::from_linux_arm_hwcap(0, 0), Features::NONE);
        // Capping to scalar clears every ARM feature.
        let f = Features::from_linux_arm_hwcap(0x0037_b0d6, 0x1f);
        assert_eq!(f.capped(Isa::Scalar), Features::NONE);
        // 32-bit ARM runs the plain NEON level (armv7 kernels); the dot-product and i8mm levels
        // are aarch64-only (no AArch32 kernels use them).
        assert_eq!(
            Isa::Neon.supported_by(&f),
            cfg!(any(target_arch = "aarch64", target_arch = "arm"))
        );
        assert!(!Isa::NeonDot.supported_by(&f));
    }

    #[test]
    fn arm64_hwcap_decoding() {
        // Galaxy S8 (US) AArch64 view: fp asimd aes pmull sha1 sha2 crc32 (0xff includes evtstrm,
        // atomics).
        let f = Features::from_linux_arm64_hwcap(0xff, 0);
        assert!(f.neon && f.aes && f.pmull && f.sha1 && f.sha2 && f.crc32);
        assert!(!f.neon_dot && !f.neon_fp16 && !f.vfpv4 && !f.idiv);
        let f = Features::from_linux_arm64_hwcap(0xff | (1 << 9) | (1 << 10) | (1 << 20), 1 << 13);
        assert!(f.neon_fp16 && f.neon_dot && f.neon_i8mm && !f.neon_bf16);
    }
}
