//! x86 CPUID: vendor, brand string, family/model, deterministic cache parameters.

/// One CPUID result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidRegs {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Executes CPUID with `leaf` / `subleaf` on the running CPU.
#[cfg(target_arch = "x86_64")]
pub fn cpuid(leaf: u32, subleaf: u32) -> CpuidRegs {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID is available on every x86_64 CPU; it only reads identification registers.
    let r = unsafe { core::arch::x86_64::__cpuid_count(leaf, subleaf) };
    CpuidRegs {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// A source of CPUID results: the live CPU, or a recording in tests.
pub trait CpuidSource {
    /// CPUID(leaf, subleaf); all zeros for a leaf the source does not know.
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidRegs;
}

/// The running CPU.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveCpuid;

#[cfg(target_arch = "x86_64")]
impl CpuidSource for LiveCpuid {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidRegs {
        let max = cpuid(leaf & 0x8000_0000, 0).eax;
        if leaf > max {
            return CpuidRegs::default();
        }
        cpuid(leaf, subleaf)
    }
}

fn regs_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The 12-byte vendor string (`GenuineIntel`, `AuthenticAMD`, ...).
pub fn vendor_string(src: &dyn CpuidSource) -> String {
    let r = src.cpuid(0, 0);
    String::from_utf8_lossy(&regs_bytes(&[r.ebx, r.edx, r.ecx])).into_owned()
}

/// The raw 48-byte brand string from leaves 0x80000002..4 (may contain NULs and padding).
pub fn raw_brand_string(src: &dyn CpuidSource) -> Option<[u8; 48]> {
    if src.cpuid(0x8000_0000, 0).eax < 0x8000_0004 {
        return None;
    }
    let mut out = [0u8; 48];
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = src.cpuid(leaf, 0);
        out[i * 16..i * 16 + 16].copy_from_slice(&regs_bytes(&[r.eax, r.ebx, r.ecx, r.edx]));
    }
    Some(out)
}

/// Display family, model and stepping from leaf 1 (extended fields folded in as Intel and AMD
/// document).
pub fn family_model_stepping(src: &dyn CpuidSource) -> (u32, u32, u32) {
    let (family, model, stepping, _) = leaf1_signature(src.cpuid(1, 0).eax);
    (family, model, stepping)
}

/// Display family, display model, stepping and extended model field of CPUID leaf 1 `eax`.
pub fn leaf1_signature(eax: u32) -> (u32, u32, u32, u32) {
    let base_family = (eax >> 8) & 0xF;
    let base_model = (eax >> 4) & 0xF;
    let ext_family = (eax >> 20) & 0xFF;
    let ext_model = (eax >> 16) & 0xF;
    let family = if base_family == 0xF {
        base_family + ext_family
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xF {
        (ext_model << 4) | base_model
    } else {
        base_model
    };
    (family, model, eax & 0xF, ext_model)
}

/// One cache described by CPUID's deterministic cache parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CpuidCache {
    /// 1, 2, 3, 4.
    pub level: u32,
    /// `data`, `instruction` or `unified`.
    pub kind: &'static str,
    /// Total size in bytes.
    pub size: u64,
    /// Ways of associativity.
    pub associativity: u32,
    /// Line size in bytes.
    pub line_size: u32,
    /// Partitions.
    pub partitions: u32,
    /// Sets.
    pub sets: u32,
    /// Maximum number of logical processors sharing this cache.
    pub shared_by: u32,
    /// Whether the cache is inclusive of lower levels.
    pub inclusive: bool,
}

/// Caches from leaf 4 (Intel) or leaf 0x8000001D (AMD, when topology extensions are present).
pub fn deterministic_caches(src: &dyn CpuidSource) -> Vec<CpuidCache> {
    let vendor = vendor_string(src);
    let leaf = if vendor == "AuthenticAMD" || vendor == "HygonGenuine" {
        let ext_max = src.cpuid(0x8000_0000, 0).eax;
        let topo_ext = src.cpuid(0x8000_0001, 0).ecx & (1 << 22) != 0;
        if ext_max >= 0x8000_001D && topo_ext {
            0x8000_001D
        } else {
            return Vec::new();
        }
    } else if src.cpuid(0, 0).eax >= 4 {
        4
    } else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in 0..16 {
        let r = src.cpuid(leaf, sub);
        let kind = match r.eax & 0x1F {
            0 => break,
            1 => "data",
            2 => "instruction",
            3 => "unified",
            _ => continue,
        };
        let level = (r.eax >> 5) & 0x7;
        let line_size = (r.ebx & 0xFFF) + 1;
        let partitions = ((r.ebx >> 12) & 0x3FF) + 1;
        let associativity = ((r.ebx >> 22) & 0x3FF) + 1;
        let sets = r.ecx.wrapping_add(1);
        let size = u64::from(line_size)
            * u64::from(partitions)
            * u64::from(associativity)
            * u64::from(sets);
        out.push(CpuidCache {
            level,
            kind,
            size,
            associativity,
            line_size,
            partitions,
            sets,
            shared_by: ((r.eax >> 14) & 0xFFF) + 1,
            inclusive: r.edx & 0x2 != 0,
        });
    }
    out
}
