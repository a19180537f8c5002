//! ARM facts keyed by the Main ID Register (MIDR): core vendor and microarchitecture, the
//! big/LITTLE ranking used to order cores, cache parameters by microarchitecture and chipset, and
//! the ISA rules that combine `AT_HWCAP` bits with what is known about a core.
//!
//! The values follow cpuinfo's decisions (pytorch/cpuinfo, `src/arm/`), so reports agree with it
//! core for core; they are written here from the published facts (ARM TRMs, vendor documents).

/// MIDR field masks.
pub mod midr {
    /// Implementer, bits 31..24.
    pub const IMPLEMENTER: u32 = 0xFF00_0000;
    /// Variant, bits 23..20.
    pub const VARIANT: u32 = 0x00F0_0000;
    /// Architecture, bits 19..16.
    pub const ARCHITECTURE: u32 = 0x000F_0000;
    /// Primary part number, bits 15..4.
    pub const PART: u32 = 0x0000_FFF0;
    /// Revision, bits 3..0.
    pub const REVISION: u32 = 0x0000_000F;

    /// Implementer code.
    pub fn implementer(m: u32) -> u32 {
        m >> 24
    }
    /// Variant.
    pub fn variant(m: u32) -> u32 {
        (m & VARIANT) >> 20
    }
    /// Part number.
    pub fn part(m: u32) -> u32 {
        (m & PART) >> 4
    }
    /// Implementer and part only (identifies the core design).
    pub fn core(m: u32) -> u32 {
        m & (IMPLEMENTER | PART)
    }
    /// Replace the bits under `mask` of `m` by those of `v << shift`.
    pub fn set(m: u32, mask: u32, shift: u32, v: u32) -> u32 {
        (m & !mask) | ((v << shift) & mask)
    }
}

/// Target of a decoding: the 32-bit (AArch32) or 64-bit (AArch64) view of the CPU. Several
/// decisions differ (cores that only exist in one mode, AArch32-only ISA flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArmMode {
    /// 32-bit process (`arm`).
    Arm,
    /// 64-bit process (`arm64`).
    Arm64,
}

/// Core vendor and microarchitecture of a MIDR, as cpuinfo names them (`arm`/`cortex-a53`,
/// `qualcomm`/`kryo`, `samsung`/`exynos-m1`, ...). `has_vfpv4` disambiguates Qualcomm part 0x00F
/// in AArch32 (Cortex-A5 in Snapdragon S4 Play vs. Scorpion). `unknown` where nothing matches.
pub fn decode_vendor_uarch(m: u32, mode: ArmMode, has_vfpv4: bool) -> (&'static str, &'static str) {
    let a32 = mode == ArmMode::Arm;
    let a64 = mode == ArmMode::Arm64;
    let part = midr::part(m);
    match midr::implementer(m) {
        0x41 => {
            let u = match part {
                0xC05 if a32 => "cortex-a5",
                0xC07 if a32 => "cortex-a7",
                0xC08 if a32 => "cortex-a8",
                0xC09 if a32 => "cortex-a9",
                0xC0C if a32 => "cortex-a12",
                0xC0E if a32 => "cortex-a17",
                // Rockchip RK3288 reports 0xC0D: a Cortex-A12 (renamed A17 later).
                0xC0D if a32 => "cortex-a12",
                0xC0F if a32 => "cortex-a15",
                0xD01 => "cortex-a32",
                0xD03 => "cortex-a53",
                0xD04 => "cortex-a35",
                // The first Cortex-A55 revision (r0) lacks the dot product: told apart by Variant.
                0xD05 if m & midr::VARIANT == 0 => "cortex-a55r0",
                0xD05 => "cortex-a55",
                0xD06 => "cortex-a65",
                0xD07 => "cortex-a57",
                0xD08 => "cortex-a72",
                0xD09 => "cortex-a73",
                0xD0A => "cortex-a75",
                0xD0B | 0xD0E => "cortex-a76",
                0xD0C => "neoverse-n1",
                0xD0D => "cortex-a77",
                0xD40 => "neoverse-v1",
                0xD41 | 0xD4B => "cortex-a78",
                0xD44 => "cortex-x1",
                0xD46 => "cortex-a510",
                0xD47 => "cortex-a710",
                0xD48 => "cortex-x2",
                0xD49 => "neoverse-n2",
                0xD4A if a64 => "neoverse-e1",
                0xD4D => "cortex-a715",
                0xD4E => "cortex-x3",
                0xD4F => "neoverse-v2",
                0xD80 => "cortex-a520",
                0xD81 => "cortex-a720",
                0xD82 => "cortex-x4",
                0xD85 => "cortex-x925",
                0xD87 => "cortex-a725",
                0xD8A => "lumex-c1-nano",
                0xD8B => "lumex-c1-pro",
                0xD8C => "lumex-c1-ultra",
                0xD8F => "cortex-a320",
                0xD90 => "lumex-c1-premium",
                _ => match part >> 8 {
                    7 if a32 => "arm7",
                    9 if a32 => "arm9",
                    11 if a32 => "arm11",
                    _ => "unknown",
                },
            };
            ("arm", u)
        }
        0x42 => match part {
            0x00F => ("broadcom", "brahma-b15"),
            0x100 => ("broadcom", "brahma-b53"),
            0x516 if a64 => ("cavium", "thunderx2"),
            _ => ("broadcom", "unknown"),
        },
        0x43 if a64 => match part {
            0x0A0..=0x0A3 => ("cavium", "thunderx"),
            0x0AF => ("cavium", "thunderx2"),
            _ => ("cavium", "unknown"),
        },
        0x48 => match part {
            0xD01 if a64 => ("huawei", "taishan-v110"),
            // Kirin 980 big/medium cores: Cortex-A76 under HiSilicon's implementer code.
            0xD40 => ("arm", "cortex-a76"),
            _ => ("huawei", "unknown"),
        },
        0x69 if a32 => match part >> 8 {
            2 | 4 | 6 => ("intel", "xscale"),
            _ => ("intel", "unknown"),
        },
        0x4E => match part {
            0x000 => ("nvidia", "denver"),
            0x003 => ("nvidia", "denver2"),
            0x004 => ("nvidia", "carmel"),
            _ => ("nvidia", "unknown"),
        },
        0x50 => match part {
            0x000 => ("apm", "xgene"),
            _ => ("apm", "unknown"),
        },
        0x51 => match part {
            0x00F if a32 => {
                if has_vfpv4 {
                    ("arm", "cortex-a5")
                } else {
                    ("qualcomm", "scorpion")
                }
            }
            0x02D if a32 => ("qualcomm", "scorpion"),
            0x04D | 0x06F if a32 => ("qualcomm", "krait"),
            0x201 | 0x205 | 0x211 => ("qualcomm", "kryo"),
            // Kryo 2xx/3xx/4xx are Qualcomm-tuned ARM cores.
            0x800 => ("arm", "cortex-a73"),
            0x801 => ("arm", "cortex-a53"),
            0x802 => ("arm", "cortex-a75"),
            0x803 => ("arm", "cortex-a55r0"),
            0x804 => ("arm", "cortex-a76"),
            0x805 => ("arm", "cortex-a55"),
            0x001 if a64 => ("qualcomm", "oryon"),
            0x002 if a64 => ("qualcomm", "oryon-v3"),
            0xC00 if a64 => ("qualcomm", "falkor"),
            0xC01 if a64 => ("qualcomm", "saphira"),
            _ => ("qualcomm", "unknown"),
        },
        0x53 => match m & (midr::VARIANT | midr::PART) {
            0x0010_0010 => ("samsung", "exynos-m1"),
            0x0040_0010 => ("samsung", "exynos-m2"),
            0x0010_0020 => ("samsung", "exynos-m3"),
            0x0010_0030 => ("samsung", "exynos-m4"),
            0x0010_0040 => ("samsung", "exynos-m5"),
            _ => ("samsung", "unknown"),
        },
        0x61 => {
            let u = match part {
                0x022 | 0x024 | 0x028 => "icestorm",
                0x023 | 0x025 | 0x029 => "firestorm",
                0x032 | 0x034 | 0x038 => "blizzard",
                0x033 | 0x035 | 0x039 => "avalanche",
                0x042 | 0x044 | 0x048 => "coll-sawtooth",
                0x043 | 0x045 | 0x049 => "coll-everest",
                0x052 => "donan-sawtooth",
                0x053 => "donan-everest",
                _ => "unknown",
            };
            ("apple", u)
        }
        0x56 if a32 => match part {
            0x581 | 0x584 => ("marvell", "pj4"),
            _ => ("marvell", "unknown"),
        },
        _ => ("unknown", "unknown"),
    }
}

/// Rank of a core design for ordering clusters: higher is faster ("big"). Cores cpuinfo knows to
/// be LITTLE rank 1–2, unknown ones 3, big ones 4–6.
pub fn score_core(m: u32, mode: ArmMode) -> u32 {
    let a32 = mode == ArmMode::Arm;
    let a64 = mode == ArmMode::Arm64;
    match midr::core(m) {
        0x5300_0030 | 0x5300_0040 | 0x4100_D440 | 0x4100_D480 | 0x4100_D4E0 => 6,
        0x4100_D080 | 0x4100_D090 | 0x4100_D0A0 | 0x4100_D0B0 | 0x4100_D0D0 | 0x4100_D0E0
        | 0x4100_D410 | 0x4100_D4B0 | 0x4100_D470 | 0x4100_D4D0 | 0x4800_D400 | 0x4E00_0030
        | 0x5100_2050 | 0x5100_8000 | 0x5100_8020 | 0x5100_8040 | 0x5300_0010 | 0x5300_0020 => 5,
        0x4100_C0F0 | 0x4100_C0E0 | 0x4100_C0D0 | 0x4100_C0C0 if a32 => 5,
        0x4100_D070 => 4,
        0x4100_D060 | 0x4100_D800 if a64 => 2,
        0x4100_D030 | 0x4100_D050 | 0x4100_D460 => 2,
        0x4100_C070 if a32 => 1,
        0x4100_D040 | 0x5100_8050 | 0x5100_8030 | 0x5100_8010 | 0x5100_2110 | 0x5100_2010 => 1,
        _ => 3,
    }
}

/// The LITTLE core usually paired with a big core, for kernels that only describe one cluster.
pub fn little_core_for_big(m: u32) -> u32 {
    const A7: u32 = 0x410F_C070;
    const A53: u32 = 0x410F_D030;
    const A55: u32 = 0x410F_D050;
    const A57: u32 = 0x410F_D070;
    match m & (midr::IMPLEMENTER | midr::ARCHITECTURE | midr::PART) {
        0x410F_D0A0 => A55,
        0x410F_D090 | 0x410F_D080 | 0x410F_D070 | 0x530F_0010 => A53,
        0x410F_C0E0 | 0x410F_C0F0 => A7,
        0x51AF_8000 => 0x51AF_8014,
        0x510F_2050 => 0x510F_2110,
        0x4E0F_0030 => A57,
        _ => m,
    }
}

/// Whether the core is Krait (Qualcomm, AArch32 only).
pub fn is_krait(m: u32) -> bool {
    matches!(midr::core(m), 0x5100_04D0 | 0x5100_06F0)
}
/// Whether the core is Scorpion.
pub fn is_scorpion(m: u32) -> bool {
    matches!(midr::core(m), 0x5100_00F0 | 0x5100_02D0)
}
/// Whether the core is an ARM11.
pub fn is_arm11(m: u32) -> bool {
    m & (midr::IMPLEMENTER | 0x0000_F000) == 0x4100_B000
}

/// One cache's parameters. `size == 0` means no such cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheParams {
    /// Total bytes.
    pub size: u32,
    /// Ways.
    pub associativity: u32,
    /// Line bytes.
    pub line_size: u32,
    /// Inclusive of the level above.
    pub inclusive: bool,
}

impl CacheParams {
    const fn new(kib: u32, associativity: u32, line_size: u32) -> CacheParams {
        CacheParams {
            size: kib * 1024,
            associativity,
            line_size,
            inclusive: false,
        }
    }
    const fn inclusive(self) -> CacheParams {
        CacheParams {
            inclusive: true,
            ..self
        }
    }
}

/// L1i, L1d, L2, L3 of one core.
pub type CoreCaches = [CacheParams; 4];

/// The chipset facts the tables depend on: series (`Snapdragon`, `MSM`, `Exynos`, `Kirin`, `MT`,
/// ...) and model number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesModel<'a> {
    /// Chipset vendor, e.g. `Samsung`.
    pub vendor: &'a str,
    /// Series, e.g. `Exynos`.
    pub series: &'a str,
    /// Model number, e.g. 9810.
    pub model: u32,
}

/// Cache parameters of a core by microarchitecture, cluster size and chipset (ARM Linux exposes no
/// reliable sizes; these are the documented configurations, as cpuinfo tabulates them).
#[allow(clippy::too_many_arguments)]
pub fn decode_cache(
    android: bool,
    uarch: &str,
    cluster_cores: u32,
    m: u32,
    chip: Option<SeriesModel<'_>>,
    cluster_id: u32,
    arch_version: u32,
    mode: ArmMode,
) -> CoreCaches {
    let series = chip.map(|c| c.series).unwrap_or("");
    let model = chip.map(|c| c.model).unwrap_or(0);
    let vendor = chip.map(|c| c.vendor).unwrap_or("");
    let none = CacheParams::default();
    let a32 = mode == ArmMode::Arm;
    let c = |kib, a, l| CacheParams::new(kib, a, l);
    match uarch {
        "cortex-a5" if a32 => [c(32, 2, 32), c(32, 4, 32), c(256, 8, 32), none],
        "cortex-a7" if a32 => [
            c(32, 2, 32),
            c(32, 4, 64),
            c(128 * cluster_cores, 8, 64),
            none,
        ],
        "cortex-a8" if a32 => {
            let l2 = if vendor == "Samsung" { 512 } else { 256 };
            [c(32, 4, 64), c(32, 4, 64), c(l2, 8, 64), none]
        }
        "cortex-a9" if a32 => [c(32, 4, 32), c(32, 4, 32), c(1024, 16, 32), none],
        "cortex-a15" if a32 => [
            c(32, 2, 64),
            c(32, 2, 64),
            c(512 * cluster_cores, 16, 64),
            none,
        ],
        "cortex-a17" if a32 => [
            c(32, 4, 64),
            c(32, 4, 64),
            c(512 * cluster_cores, 16, 64),
            none,
        ],
        "xscale" if a32 => match midr::part(m) >> 8 {
            2 => [c(16, 32, 32), c(16, 4, 64), none, none],
            4 => [c(32, 32, 32), c(32, 32, 32), none, none],
            6 => [c(32, 4, 32), c(32, 4, 32), c(256, 8, 32), none],
            _ => [none; 4],
        },
        "arm11" if a32 => [c(16, 4, 32), c(16, 4, 32), none, none],
        "cortex-a35" => [c(16, 2, 64), c(16, 4, 64), c(256, 8, 64), none],
        "cortex-a53" => {
            if midr::core(m) == 0x5100_8010 {
                // Kryo 2xx Silver.
                let l2 = match (series, model) {
                    ("MSM", 8998) => 1024,
                    ("Snapdragon", 630) if cluster_id == 0 => 1024,
                    ("Snapdragon", 636 | 660) => 1024,
                    _ => 512,
                };
                [c(32, 2, 64), c(32, 4, 64), c(l2, 16, 64), none]
            } else {
                let (l1, l2) = match series {
                    "MSM" => match model {
                        8937 | 8940 | 8953 if cluster_id == 0 => (32, 1024),
                        8952 if cluster_id != 0 => (32, 256),
                        _ => (32, 512),
                    },
                    "APQ" => (32, 512),
                    "Snapdragon" if model == 450 && cluster_id == 0 => (32, 1024),
                    "Snapdragon" => (32, 512),
                    "Hi" => (32, 512),
                    "Kirin" if model == 970 => (32, 1024),
                    "Kirin" => (32, 512),
                    "MT" if model == 8173 => (32, 512),
                    "RK" if model == 3368 && cluster_id == 0 => (32, 512),
                    "RK" => (32, 256),
                    "BCM" if model == 2837 => (16, 512),
                    "Exynos" => (32, 256),
                    _ => (16, 256),
                };
                [c(l1, 2, 64), c(l1, 4, 64), c(l2, 16, 64), none]
            }
        }
        "cortex-a55r0" | "cortex-a55" => {
            if midr::core(m) == 0x5100_8030 {
                // Kryo 385 Silver.
                let l3 = if series == "Snapdragon" && model == 845 {
                    2048
                } else {
                    1024
                };
                [c(32, 4, 64), c(32, 4, 64), c(128, 4, 64), c(l3, 16, 64)]
            } else if series == "Exynos" {
                [c(32, 4, 64), c(32, 4, 64), c(512, 16, 64), none]
            } else {
                let l3 = if series == "Kirin" && model == 980 {
                    4096
                } else {
                    1024
                };
                [c(32, 4, 64), c(32, 4, 64), c(128, 4, 64), c(l3, 16, 64)]
            }
        }
        "cortex-a57" => [
            c(48, 3, 64),
            c(32, 2, 64),
            c(512 * cluster_cores, 16, 64).inclusive(),
            none,
        ],
        "cortex-a65" => [
            c(32, 4, 64),
            c(32, 4, 64),
            c(128, 4, 64).inclusive(),
            c(512, 16, 64),
        ],
        "cortex-a72" => {
            let l2 = if series == "Kirin" { 2048 } else { 1024 };
            [c(48, 3, 64), c(32, 2, 64), c(l2, 16, 64).inclusive(), none]
        }
        "cortex-a73" => {
            let (l1d, l2) = match series {
                "Kirin" => (64, 2048),
                "MT" => (64, 1024),
                _ => match m {
                    0x51AF_8001 => (64, 2048),
                    0x51AF_8002 => (64, 1024),
                    _ => (32, 512),
                },
            };
            [
                c(64, 4, 64),
                c(l1d, l1d / 4, 64),
                c(l2, 16, 64).inclusive(),
                none,
            ]
        }
        "cortex-a75" => {
            let l3 = if series == "Snapdragon" && model == 845 {
                2048
            } else {
                1024
            };
            [c(64, 4, 64), c(64, 16, 64), c(256, 8, 64), c(l3, 16, 64)]
        }
        "cortex-a76" => {
            let (l2, l3) = if series == "Kirin" && model == 980 {
                (512, 4096)
            } else {
                (256, 1024)
            };
            [
                c(64, 4, 64),
                c(64, 4, 64),
                c(l2, 8, 64).inclusive(),
                c(l3, 16, 64),
            ]
        }
        "cortex-a77" => [
            c(64, 4, 64),
            c(64, 4, 64),
            c(256, 8, 64).inclusive(),
            c(1024, 16, 64),
        ],
        "neoverse-n1" | "neoverse-v1" | "neoverse-n2" | "neoverse-v2" => {
            let ampere_altra = midr::core(m) == midr::core(0x413F_D0C1);
            let l2 = if uarch == "neoverse-v2" || ampere_altra {
                1024
            } else {
                256
            };
            [c(64, 4, 64), c(64, 4, 64), c(l2, 8, 64).inclusive(), none]
        }
        "scorpion" if a32 => [
            c(32, 4, 32),
            c(32, 4, 32),
            c(256 * cluster_cores, 4, 128),
            none,
        ],
        "krait" if a32 => [
            c(16, 4, 64),
            c(16, 4, 64),
            c(512 * cluster_cores, 8, 128),
            none,
        ],
        "kryo" => {
            let silver = matches!(
                m & (midr::IMPLEMENTER | midr::ARCHITECTURE | midr::PART),
                0x510F_2110 | 0x510F_2010
            );
            let l2 = if silver { 512 } else { 1024 };
            [c(32, 4, 64), c(24, 3, 64), c(l2, 8, 128), none]
        }
        "denver" | "denver2" => [c(128, 4, 64), c(64, 4, 64), c(2048, 16, 64), none],
        "exynos-m1" | "exynos-m2" => [c(64, 4, 128), c(32, 8, 64), c(2048, 16, 64), none],
        "exynos-m3" => [c(64, 4, 128), c(64, 8, 64), c(512, 16, 64), c(4096, 16, 64)],
        // Server parts, known only outside Android.
        "thunderx" if !a32 && !android => [c(78, 4, 64), c(32, 4, 64), c(16 * 1024, 8, 64), none],
        "taishan-v110" if !a32 && !android => [
            c(64, 4, 128),
            c(64, 4, 128),
            c(512, 8, 128).inclusive(),
            c(cluster_cores * 1024, 16, 128),
        ],
        _ => {
            if arch_version >= 8 {
                [
                    c(32, 4, 64),
                    c(32, 4, 64),
                    c(256 * cluster_cores, 8, 64),
                    none,
                ]
            } else if arch_version >= 7 {
                [
                    c(16, 4, 32),
                    c(16, 4, 32),
                    c(128 * cluster_cores, 8, 32),
                    none,
                ]
            } else {
                [c(16, 4, 32), c(16, 4, 32), none, none]
            }
        }
    }
}

/// Linux `AT_HWCAP` bits for AArch64 (`arch/arm64/include/uapi/asm/hwcap.h`), by name.
pub const HWCAP_ARM64: &[(&str, u32)] = &[
    ("fp", 0),
    ("asimd", 1),
    ("evtstrm", 2),
    ("aes", 3),
    ("pmull", 4),
    ("sha1", 5),
    ("sha2", 6),
    ("crc32", 7),
    ("atomics", 8),
    ("fphp", 9),
    ("asimdhp", 10),
    ("cpuid", 11),
    ("asimdrdm", 12),
    ("jscvt", 13),
    ("fcma", 14),
    ("lrcpc", 15),
    ("dcpop", 16),
    ("sha3", 17),
    ("sm3", 18),
    ("sm4", 19),
    ("asimddp", 20),
    ("sha512", 21),
    ("sve", 22),
    ("asimdfhm", 23),
    ("dit", 24),
    ("uscat", 25),
    ("ilrcpc", 26),
    ("flagm", 27),
    ("ssbs", 28),
    ("sb", 29),
    ("paca", 30),
    ("pacg", 31),
];

/// Linux `AT_HWCAP2` bits for AArch64, by name.
pub const HWCAP2_ARM64: &[(&str, u32)] = &[
    ("dcpodp", 0),
    ("sve2", 1),
    ("sveaes", 2),
    ("svepmull", 3),
    ("svebitperm", 4),
    ("svesha3", 5),
    ("svesm4", 6),
    ("flagm2", 7),
    ("frint", 8),
    ("svei8mm", 9),
    ("svef32mm", 10),
    ("svef64mm", 11),
    ("svebf16", 12),
    ("i8mm", 13),
    ("bf16", 14),
    ("dgh", 15),
    ("rng", 16),
    ("bti", 17),
    ("sme", 23),
];

/// Linux `AT_HWCAP` bits for 32-bit ARM (`arch/arm/include/uapi/asm/hwcap.h`), by name. Some
/// 64-bit kernels misspell `swp`/`tls` as `wp`/`tlsi` to 32-bit processes.
pub const HWCAP_ARM: &[(&str, u32)] = &[
    ("swp", 0),
    ("wp", 0),
    ("half", 1),
    ("thumb", 2),
    ("26bit", 3),
    ("fastmult", 4),
    ("fpa", 5),
    ("vfp", 6),
    ("edsp", 7),
    ("java", 8),
    ("iwmmxt", 9),
    ("crunch", 10),
    ("thumbee", 11),
    ("neon", 12),
    ("vfpv3", 13),
    ("vfpv3d16", 14),
    ("tls", 15),
    ("tlsi", 15),
    ("vfpv4", 16),
    ("idiva", 17),
    ("idivt", 18),
    ("vfpd32", 19),
    ("lpae", 20),
    ("evtstrm", 21),
    // ARMv8.2+ cores in AArch32 state (Linux 6.2+).
    ("fphp", 22),
    ("asimdhp", 23),
    ("asimddp", 24),
    ("asimdfhm", 25),
    ("asimdbf16", 26),
    ("i8mm", 27),
];

/// Linux `AT_HWCAP2` bits for 32-bit ARM, by name.
pub const HWCAP2_ARM: &[(&str, u32)] = &[
    ("aes", 0),
    ("pmull", 1),
    ("sha1", 2),
    ("sha2", 3),
    ("crc32", 4),
    ("sb", 5),
    ("ssbs", 6),
];

/// `(hwcap, hwcap2)` bits for the names of a `/proc/cpuinfo` `Features` line.
pub fn hwcaps_from_feature_names(features: &str, mode: ArmMode) -> (u64, u64) {
    let (t1, t2) = match mode {
        ArmMode::Arm => (HWCAP_ARM, HWCAP2_ARM),
        ArmMode::Arm64 => (HWCAP_ARM64, HWCAP2_ARM64),
    };
    let (mut h1, mut h2) = (0u64, 0u64);
    for name in features.split_whitespace() {
        if let Some(&(_, b)) = t1.iter().find(|(n, _)| *n == name) {
            h1 |= 1 << b;
        } else if let Some(&(_, b)) = t2.iter().find(|(n, _)| *n == name) {
            h2 |= 1 << b;
        }
    }
    (h1, h2)
}

/// Whether `h` has the bit that `table` (one of the `HWCAP*` tables above) names `name`; false
/// for a name the table does not have.
pub fn bit(h: u64, name: &str, table: &[(&str, u32)]) -> bool {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .is_some_and(|&(_, b)| h >> b & 1 == 1)
}

/// Cores with FP16 arithmetic and RDM that some kernels forget to report.
const FP16_RDM_CORES_A64: &[u32] = &[
    0x4100_D050,
    0x4100_D060,
    0x4100_D0A0,
    0x4100_D0B0,
    0x4100_D0C0,
    0x4100_D0D0,
    0x4100_D0E0,
    0x4100_D400,
    0x4100_D490,
    0x4100_D4F0,
    0x4800_D400,
    0x5100_8020,
    0x5100_8030,
    0x5100_8040,
    0x5100_8050,
    0x5300_0030,
    0x5300_0040,
];
/// In the AArch32 view. Cortex-A715 (0xD4D) and Cortex-X3 (0xD4E) are left out: they execute no
/// AArch32 code at all, so their MIDR says nothing about what a 32-bit process may use (cpuinfo's
/// code lists them, but its recorded Pixel 8 expectations, which we follow, do not grant FP16
/// arithmetic or the dot product to a 32-bit process whose last-described core is an X3).
const FP16_RDM_CORES_A32: &[u32] = &[
    0x4100_D050,
    0x4100_D0A0,
    0x4100_D0B0,
    0x4100_D0C0,
    0x4100_D0D0,
    0x4100_D0E0,
    0x4100_D400,
    0x4100_D410,
    0x4100_D440,
    0x4100_D460,
    0x4100_D470,
    0x4100_D480,
    0x4100_D490,
    0x4100_D4B0,
    0x4100_D4F0,
    0x4800_D400,
    0x5100_8020,
    0x5100_8030,
    0x5100_8040,
    0x5100_8050,
    0x5300_0030,
    0x5300_0040,
];
/// Cores with the dot product whatever the kernel says.
const DOT_CORES_A64: &[u32] = &[
    0x4100_D060,
    0x4100_D0B0,
    0x4100_D0C0,
    0x4100_D0D0,
    0x4100_D0E0,
    0x4100_D400,
    0x4100_D490,
    0x4100_D4A0,
    0x4100_D4F0,
    0x4800_D400,
    0x5100_8040,
    0x5100_8050,
    0x5300_0030,
    0x5300_0040,
];
/// In the AArch32 view (without the AArch64-only A715 and X3, as above).
const DOT_CORES_A32: &[u32] = &[
    0x4100_D0B0,
    0x4100_D0C0,
    0x4100_D0D0,
    0x4100_D0E0,
    0x4100_D400,
    0x4100_D410,
    0x4100_D440,
    0x4100_D460,
    0x4100_D470,
    0x4100_D480,
    0x4100_D490,
    0x4100_D4B0,
    0x4100_D4F0,
    0x4800_D400,
    0x5100_8040,
    0x5100_8050,
    0x5300_0030,
    0x5300_0040,
];

/// ISA flags in cpuinfo's `cpuinfo_has_arm_*` naming (without the `cpuinfo_has_` prefix).
pub type IsaFlags = std::collections::BTreeMap<&'static str, bool>;

/// The ISA of an ARM Linux system from its `AT_HWCAP`/`AT_HWCAP2`, the MIDR of the last core the
/// kernel described, the architecture version of `/proc/cpuinfo` (32-bit only) and the chipset
/// (deny lists: Exynos 9810 advertises FP16 arithmetic only its little cores have; some Unisoc
/// parts advertise a dot product that faults).
pub fn decode_isa(
    hwcap: u64,
    hwcap2: u64,
    m: u32,
    arch_version: u32,
    arch_flags: ArchFlags,
    chip: Option<SeriesModel<'_>>,
    mode: ArmMode,
) -> IsaFlags {
    let series = chip.map(|c| c.series).unwrap_or("");
    let model = chip.map(|c| c.model).unwrap_or(0);
    let exynos_9810 = series == "Exynos" && model == 9810;
    let core = midr::core(m);
    let mut isa = IsaFlags::new();
    let names = [
        "arm_thumb",
        "arm_thumb2",
        "arm_v5e",
        "arm_v6",
        "arm_v6k",
        "arm_v7",
        "arm_v7mp",
        "arm_v8",
        "arm_idiv",
        "arm_vfpv2",
        "arm_vfpv3",
        "arm_vfpv3_d32",
        "arm_vfpv3_fp16",
        "arm_vfpv3_fp16_d32",
        "arm_vfpv4",
        "arm_vfpv4_d32",
        "arm_fp16_arith",
        "arm_bf16",
        "arm_wmmx",
        "arm_wmmx2",
        "arm_neon",
        "arm_neon_fp16",
        "arm_neon_fma",
        "arm_neon_v8",
        "arm_atomics",
        "arm_neon_rdm",
        "arm_neon_fp16_arith",
        "arm_fhm",
        "arm_neon_dot",
        "arm_neon_bf16",
        "arm_jscvt",
        "arm_fcma",
        "arm_i8mm",
        "arm_aes",
        "arm_sha1",
        "arm_sha2",
        "arm_pmull",
        "arm_crc32",
        "arm_sve",
        "arm_sve_bf16",
        "arm_sve2",
        "arm_sme",
        "arm_fp8",
        "arm_f8dot",
        "arm_f8mm",
        "arm_neon_f8dot4",
        "arm_neon_f8mm",
    ];
    for n in names {
        isa.insert(n, false);
    }
    let mut set = |k: &'static str, v: bool| {
        isa.insert(k, v);
    };
    match mode {
        ArmMode::Arm64 => {
            let h = |n| bit(hwcap, n, HWCAP_ARM64);
            let h2 = |n| bit(hwcap2, n, HWCAP2_ARM64);
            for k in [
                "arm_v8",
                "arm_idiv",
                "arm_vfpv3",
                "arm_vfpv3_d32",
                "arm_vfpv3_fp16",
                "arm_vfpv3_fp16_d32",
                "arm_vfpv4",
                "arm_vfpv4_d32",
                "arm_neon",
                "arm_neon_fp16",
                "arm_neon_fma",
                "arm_neon_v8",
            ] {
                set(k, true);
            }
            set("arm_aes", h("aes"));
            set("arm_pmull", h("pmull"));
            set("arm_sha1", h("sha1"));
            set("arm_sha2", h("sha2"));
            set("arm_crc32", h("crc32"));
            set("arm_atomics", h("atomics"));
            let (mut fp16, mut rdm) = (false, false);
            if !exynos_9810 {
                if FP16_RDM_CORES_A64.contains(&core) {
                    fp16 = true;
                    rdm = true;
                } else {
                    fp16 = h("fphp") && h("asimdhp");
                    rdm = h("asimdrdm");
                }
            }
            set("arm_fp16_arith", fp16);
            set("arm_neon_fp16_arith", fp16);
            set("arm_neon_rdm", rdm);
            set("arm_i8mm", h2("i8mm"));
            let dot = if DOT_CORES_A64.contains(&core) {
                true
            } else if core == 0x4100_D050 {
                midr::variant(m) >= 1
            } else if core == 0x4100_D0A0 {
                midr::variant(m) >= 2
            } else {
                h("asimddp")
            };
            set("arm_neon_dot", dot);
            set("arm_jscvt", h("jscvt"));
            set("arm_fcma", h("fcma"));
            let sve = h("sve");
            let bf16 = h2("bf16") || h2("svebf16");
            set("arm_sve", sve);
            set("arm_sve2", h2("sve2"));
            set("arm_sme", h2("sme"));
            set("arm_bf16", bf16);
            set("arm_neon_bf16", bf16);
            set("arm_sve_bf16", sve && bf16);
            set("arm_fhm", h("asimdfhm"));
            // FP8 (ARMv9.5): AT_HWCAP2 bits 51 (FP8) and 53 (F8DP4); cpuinfo reads F8MM8 as
            // AT_HWCAP bit 35.
            let fp8 = hwcap2 >> 51 & 1 == 1;
            let f8dot = hwcap2 >> 53 & 1 == 1;
            let f8mm = hwcap >> 35 & 1 == 1;
            set("arm_fp8", fp8);
            set("arm_f8dot", f8dot);
            set("arm_f8mm", f8mm);
            set("arm_neon_f8dot4", f8dot);
            set("arm_neon_f8mm", f8mm);
        }
        ArmMode::Arm => {
            let h = |n| bit(hwcap, n, HWCAP_ARM);
            let h2 = |n| bit(hwcap2, n, HWCAP2_ARM);
            let mut version = arch_version;
            let v8_crypto = ["aes", "pmull", "sha1", "sha2", "crc32"]
                .iter()
                .any(|n| h2(n));
            if version < 8 && v8_crypto {
                version = 8;
            }
            let (mut v5e, mut v6, mut v6k, mut v7, mut v7mp, mut v8) =
                (false, false, false, false, false, false);
            let (mut thumb, mut thumb2, mut idiv) = (false, false, false);
            let (mut vfpv2, mut vfpv3, mut d32, mut fp16, fma, neon);
            (vfpv2, vfpv3, d32, fp16) = (false, false, false, false);
            let (mut fp16arith, mut rdm, mut dot, mut wmmx) = (false, false, false, false);
            if version >= 8 {
                v5e = true;
                v6 = true;
                v6k = true;
                v7 = true;
                v7mp = true;
                v8 = true;
                thumb = true;
                thumb2 = true;
                idiv = true;
                vfpv3 = true;
                d32 = true;
                fp16 = true;
                fma = true;
                neon = true;
                if !exynos_9810 && FP16_RDM_CORES_A32.contains(&core) {
                    fp16arith = true;
                    rdm = true;
                }
                let broken_dot = (series == "SC" && model == 9863)
                    || (series == "T" && model == 310)
                    || (series == "UMS" && model == 312);
                if !broken_dot {
                    dot = if DOT_CORES_A32.contains(&core) {
                        true
                    } else if core == 0x4100_D050 {
                        midr::variant(m) >= 1
                    } else if core == 0x4100_D0A0 {
                        midr::variant(m) >= 2
                    } else {
                        false
                    };
                }
            } else {
                if version == 7 && is_arm11(m) {
                    version = 6;
                }
                let v7_features = [
                    "vfpv3", "vfpv3d16", "vfpd32", "vfpv4", "neon", "idivt", "idiva",
                ];
                if version < 7 && v7_features.iter().any(|n| h(n)) {
                    version = 7;
                }
                if version >= 6 || h("edsp") || arch_flags.e {
                    v5e = true;
                }
                if version >= 6 {
                    v6 = true;
                }
                let idiv_both = h("idiva") && h("idivt");
                if version >= 7 {
                    v6k = true;
                    v7 = true;
                    v7mp = matches!(
                        core,
                        0x4100_C050 | 0x4100_C090 | 0x5100_02D0 | 0x5100_04D0 | 0x5100_06F0
                    ) || idiv_both;
                }
                // iWMMXt needs the coprocessor ID register, which only the CPU can read; a
                // recording cannot tell WMMX from WMMX2, so neither is claimed.
                wmmx = false;
                if h("thumb") || arch_flags.t {
                    thumb = true;
                    if version >= 7 || midr::core(m) == 0x4100_B560 {
                        thumb2 = true;
                    }
                }
                if idiv_both || is_krait(m) {
                    idiv = true;
                }
                let any_vfp = ["vfp", "vfpv3", "vfpv3d16", "vfpd32", "vfpv4", "neon"]
                    .iter()
                    .any(|n| h(n));
                if any_vfp {
                    let v3 = ["vfpv3", "vfpv3d16", "vfpd32", "vfpv4", "neon"]
                        .iter()
                        .any(|n| h(n));
                    // cpuinfo's ARMv7 builds assume VFPv3 wherever any VFP is present; only a
                    // pre-ARMv7 build reads FPSID to find VFPv2.
                    vfpv3 = true;
                    if (version >= 7 || v3) && (h("vfpd32") || h("neon")) {
                        d32 = true;
                    }
                    vfpv2 = false;
                }
                neon = h("neon");
                if h("vfpv4") || midr::core(m) == 0x4100_C090 || is_scorpion(m) {
                    fp16 = true;
                }
                fma = h("vfpv4");
            }
            let _ = v8;
            set("arm_thumb", thumb);
            set("arm_thumb2", thumb2);
            set("arm_v5e", v5e);
            set("arm_v6", v6);
            set("arm_v6k", v6k);
            set("arm_v7", v7);
            set("arm_v7mp", v7mp);
            set("arm_v8", v8);
            set("arm_idiv", idiv);
            set("arm_vfpv2", vfpv2);
            set("arm_vfpv3", vfpv3);
            set("arm_vfpv3_d32", vfpv3 && d32);
            set("arm_vfpv3_fp16", vfpv3 && fp16);
            set("arm_vfpv3_fp16_d32", vfpv3 && fp16 && d32);
            set("arm_vfpv4", vfpv3 && fma);
            set("arm_vfpv4_d32", vfpv3 && fma && d32);
            set("arm_fp16_arith", fp16arith);
            set("arm_wmmx", wmmx);
            set("arm_wmmx2", false);
            set("arm_neon", neon);
            set("arm_neon_fp16", neon && fp16);
            set("arm_neon_fma", neon && fma);
            set("arm_neon_v8", neon && v8);
            set("arm_neon_rdm", rdm);
            set("arm_neon_fp16_arith", neon && fp16arith);
            set("arm_neon_dot", dot);
            set("arm_aes", h2("aes"));
            set("arm_pmull", h2("pmull"));
            set("arm_sha1", h2("sha1"));
            set("arm_sha2", h2("sha2"));
            set("arm_crc32", h2("crc32"));
        }
    }
    isa
}

/// Letters after the number in `/proc/cpuinfo`'s `CPU architecture` (`5TEJ`): Thumb, DSP
/// extensions, Jazelle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchFlags {
    /// `T`.
    pub t: bool,
    /// `E`.
    pub e: bool,
    /// `J`.
    pub j: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midr_decoding() {
        let (a64, a32) = (ArmMode::Arm64, ArmMode::Arm);
        // (MIDR, mode, has VFPv4, vendor, microarchitecture).
        let cases = [
            (0x410F_D034, a64, false, "arm", "cortex-a53"),
            (0x410F_D050, a64, false, "arm", "cortex-a55r0"),
            (0x411F_D050, a64, false, "arm", "cortex-a55"),
            (0x518F_803C, a64, false, "arm", "cortex-a55r0"),
            (0x531F_0011, a64, false, "samsung", "exynos-m1"),
            (0x481F_D400, a64, false, "arm", "cortex-a76"),
            (0x4E0F_0030, a64, false, "nvidia", "denver2"),
            (0x512F_06F0, a32, false, "qualcomm", "krait"),
            (0x410F_C075, a64, false, "arm", "unknown"),
            (0x410F_C075, a32, false, "arm", "cortex-a7"),
            (0x510F_00F0, a32, true, "arm", "cortex-a5"),
            (0x510F_00F0, a32, false, "qualcomm", "scorpion"),
            (0xFF00_0000, a64, false, "unknown", "unknown"),
        ];
        for (midr, mode, flag, vendor, uarch) in cases {
            assert_eq!(
                decode_vendor_uarch(midr, mode, flag),
                (vendor, uarch),
                "MIDR {midr:#010x} {mode:?} VFPv4 {flag}"
            );
        }
    }

    #[test]
    fn big_little_ranking() {
        let a = ArmMode::Arm64;
        assert!(score_core(0x410F_D090, a) > score_core(0x410F_D030, a));
        assert!(score_core(0x410F_D4E0, a) > score_core(0x410F_D4D0, a));
        assert_eq!(little_core_for_big(0x410F_D092), 0x410F_D030);
    }

    #[test]
    fn a55r0_has_no_dot_product() {
        let isa = |m| {
            decode_isa(0xff, 0, m, 8, ArchFlags::default(), None, ArmMode::Arm64)["arm_neon_dot"]
        };
        assert!(!isa(0x410F_D050));
        assert!(isa(0x411F_D050));
    }

    #[test]
    fn exynos_9810_fp16_is_denied() {
        let chip = SeriesModel {
            vendor: "Samsung",
            series: "Exynos",
            model: 9810,
        };
        let hw = 1 << 9 | 1 << 10 | 1 << 12;
        let isa = decode_isa(
            hw,
            0,
            0x531F_0020,
            8,
            ArchFlags::default(),
            Some(chip),
            ArmMode::Arm64,
        );
        assert!(!isa["arm_fp16_arith"]);
        let isa = decode_isa(
            hw,
            0,
            0x531F_0020,
            8,
            ArchFlags::default(),
            None,
            ArmMode::Arm64,
        );
        assert!(isa["arm_fp16_arith"]);
    }
}
