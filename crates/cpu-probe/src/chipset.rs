//! SoC / chipset name decoding for ARM Linux and Android, compatible with cpuinfo.
//!
//! The chipset of an ARM device is rarely reported in one clean place. Android devices expose a
//! handful of hints: the `Hardware` line of `/proc/cpuinfo` and the system properties
//! `ro.product.board`, `ro.board.platform`, `ro.mediatek.platform`, `ro.arch`, `ro.chipname`,
//! `ro.hardware.chipname` and `ro.soc.model`. Each hint is matched against vendor signatures
//! (Qualcomm `MSM8996`, MediaTek `MT6797T`, Samsung `universal8895`, Allwinner `sun8i`, ...),
//! known firmware quirks are corrected (an 8-core "MSM8916" is an MSM8939, "MT6735TURBO" is an
//! MT6735T, ...), and the results of all hints are reconciled with per-vendor priorities. The
//! names produced are the ones cpuinfo prints, e.g. `Qualcomm Snapdragon 845`,
//! `Qualcomm MSM8996PRO-AB`, `MediaTek MT6797T`, `Samsung Exynos 8895`.
//!
//! cpuinfo knows some signatures only in its 32-bit ARM build (old chips that never shipped with a
//! 64-bit kernel): every entry point takes `arch32`, which selects those rules (a superset of the
//! names).
//!
//! ```
//! use cpu_probe::chipset::{chipset_name, parse, Source};
//!
//! let hw = Source::ProcCpuinfoHardware { tegra: false };
//! let c = parse(hw, "Qualcomm Technologies, Inc SDM845", 8, 0, false);
//! assert_eq!(chipset_name(c.as_ref()), "Qualcomm Snapdragon 845");
//! let c = parse(Source::RoBoardPlatform, "mt6797t", 10, 0, true).unwrap();
//! assert_eq!(c.to_string(), "MediaTek MT6797T");
//! assert_eq!(chipset_name(None), "Unknown");
//! ```

use std::fmt;

/// Longest suffix kept for a chipset (cpuinfo's limit; longer suffixes are cut).
pub const SUFFIX_MAX: usize = 8;
/// Longest `/proc/cpuinfo` `Hardware` value considered (longer values are truncated).
pub const HARDWARE_VALUE_MAX: usize = 64;
/// Longest Android system property value considered (longer values are truncated).
pub const PROPERTY_VALUE_MAX: usize = 92;
/// Longest `/proc/cpuinfo` `Revision` value considered (longer values are truncated).
pub const REVISION_VALUE_MAX: usize = 9;
/// Longest formatted chipset name, in bytes (cpuinfo's package-name buffer minus its NUL).
pub const NAME_MAX: usize = 63;

/// The company that designed the SoC (not the CPU cores).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ChipsetVendor {
    /// Not decoded.
    Unknown,
    /// Qualcomm (MSM, APQ, Snapdragon SDM, SM).
    Qualcomm,
    /// MediaTek (MT).
    Mediatek,
    /// Samsung (Exynos).
    Samsung,
    /// HiSilicon (K3V, Hi, Kirin).
    Hisilicon,
    /// Actions Semiconductor (ATM).
    Actions,
    /// Allwinner (A).
    Allwinner,
    /// Amlogic (AML, S).
    Amlogic,
    /// Broadcom (BCM).
    Broadcom,
    /// LG (Nuclun).
    Lg,
    /// Leadcore (LC).
    Leadcore,
    /// Marvell (PXA).
    Marvell,
    /// MStar (6A).
    Mstar,
    /// NovaThor (U).
    Novathor,
    /// Nvidia (Tegra).
    Nvidia,
    /// Pinecone (Surge S).
    Pinecone,
    /// Renesas (MP).
    Renesas,
    /// Rockchip (RK).
    Rockchip,
    /// Spreadtrum (SC).
    Spreadtrum,
    /// Telechips (TCC).
    Telechips,
    /// Texas Instruments (OMAP).
    TexasInstruments,
    /// Unisoc (T, UMS).
    Unisoc,
    /// WonderMedia (WM).
    Wondermedia,
    /// Google (Tensor).
    Google,
    /// Intel (Atom SoCs of x86 Android tablets; never produced by the ARM decoders).
    Intel,
}

impl ChipsetVendor {
    /// The vendor as cpuinfo prints it (`Unknown` for [`ChipsetVendor::Unknown`]).
    pub fn name(self) -> &'static str {
        use ChipsetVendor::*;
        match self {
            Unknown => "Unknown",
            Qualcomm => "Qualcomm",
            Mediatek => "MediaTek",
            Samsung => "Samsung",
            Hisilicon => "HiSilicon",
            Actions => "Actions",
            Allwinner => "Allwinner",
            Amlogic => "Amlogic",
            Broadcom => "Broadcom",
            Lg => "LG",
            Leadcore => "Leadcore",
            Marvell => "Marvell",
            Mstar => "MStar",
            Novathor => "NovaThor",
            Nvidia => "Nvidia",
            Pinecone => "Pinecone",
            Renesas => "Renesas",
            Rockchip => "Rockchip",
            Spreadtrum => "Spreadtrum",
            Telechips => "Telechips",
            TexasInstruments => "Texas Instruments",
            Unisoc => "Unisoc",
            Wondermedia => "WonderMedia",
            Google => "Google",
            Intel => "Intel",
        }
    }
}

/// A chipset product line; it determines the vendor and the printed prefix of the model number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ChipsetSeries {
    /// Not decoded.
    Unknown,
    /// Qualcomm QSD.
    QualcommQsd,
    /// Qualcomm MSM.
    QualcommMsm,
    /// Qualcomm APQ.
    QualcommApq,
    /// Qualcomm Snapdragon (from `SDMxxx`).
    QualcommSnapdragon,
    /// Qualcomm SM, printed `SMxxxx`. The decoders print `SMxxxx` chips as Snapdragon, as
    /// cpuinfo's name tests expect; this series is for callers that want the part number.
    QualcommSm,
    /// MediaTek MT.
    MediatekMt,
    /// Samsung Exynos.
    SamsungExynos,
    /// HiSilicon K3V.
    HisiliconK3v,
    /// HiSilicon Hi.
    HisiliconHi,
    /// HiSilicon Kirin.
    HisiliconKirin,
    /// Actions ATM.
    ActionsAtm,
    /// Allwinner A.
    AllwinnerA,
    /// Amlogic AML.
    AmlogicAml,
    /// Amlogic S.
    AmlogicS,
    /// Broadcom BCM.
    BroadcomBcm,
    /// LG Nuclun.
    LgNuclun,
    /// Leadcore LC.
    LeadcoreLc,
    /// Marvell PXA.
    MarvellPxa,
    /// MStar 6A.
    Mstar6a,
    /// NovaThor U.
    NovathorU,
    /// Nvidia Tegra T.
    NvidiaTegraT,
    /// Nvidia Tegra AP.
    NvidiaTegraAp,
    /// Nvidia Tegra SL.
    NvidiaTegraSl,
    /// Pinecone Surge S.
    PineconeSurgeS,
    /// Renesas MP.
    RenesasMp,
    /// Rockchip RK.
    RockchipRk,
    /// Spreadtrum SC.
    SpreadtrumSc,
    /// Telechips TCC.
    TelechipsTcc,
    /// Texas Instruments OMAP.
    TexasInstrumentsOmap,
    /// Unisoc T.
    UnisocT,
    /// Unisoc UMS.
    UnisocUms,
    /// WonderMedia WM.
    WondermediaWm,
    /// Google Tensor.
    GoogleTensor,
    /// Intel Atom.
    IntelAtom,
}

impl ChipsetSeries {
    /// The vendor of this series.
    pub fn vendor(self) -> ChipsetVendor {
        use ChipsetSeries as S;
        use ChipsetVendor as V;
        match self {
            S::Unknown => V::Unknown,
            S::QualcommQsd | S::QualcommMsm | S::QualcommApq | S::QualcommSnapdragon => V::Qualcomm,
            S::QualcommSm => V::Qualcomm,
            S::MediatekMt => V::Mediatek,
            S::SamsungExynos => V::Samsung,
            S::HisiliconK3v | S::HisiliconHi | S::HisiliconKirin => V::Hisilicon,
            S::ActionsAtm => V::Actions,
            S::AllwinnerA => V::Allwinner,
            S::AmlogicAml | S::AmlogicS => V::Amlogic,
            S::BroadcomBcm => V::Broadcom,
            S::LgNuclun => V::Lg,
            S::LeadcoreLc => V::Leadcore,
            S::MarvellPxa => V::Marvell,
            S::Mstar6a => V::Mstar,
            S::NovathorU => V::Novathor,
            S::NvidiaTegraT | S::NvidiaTegraAp | S::NvidiaTegraSl => V::Nvidia,
            S::PineconeSurgeS => V::Pinecone,
            S::RenesasMp => V::Renesas,
            S::RockchipRk => V::Rockchip,
            S::SpreadtrumSc => V::Spreadtrum,
            S::TelechipsTcc => V::Telechips,
            S::TexasInstrumentsOmap => V::TexasInstruments,
            S::UnisocT | S::UnisocUms => V::Unisoc,
            S::WondermediaWm => V::Wondermedia,
            S::GoogleTensor => V::Google,
            S::IntelAtom => V::Intel,
        }
    }

    /// The text printed between the vendor and the model number (may end with a space).
    pub fn prefix(self) -> &'static str {
        use ChipsetSeries as S;
        match self {
            S::Unknown => "",
            S::QualcommQsd => "QSD",
            S::QualcommMsm => "MSM",
            S::QualcommApq => "APQ",
            S::QualcommSnapdragon => "Snapdragon ",
            S::QualcommSm => "SM",
            S::MediatekMt => "MT",
            S::SamsungExynos => "Exynos ",
            S::HisiliconK3v => "K3V",
            S::HisiliconHi => "Hi",
            S::HisiliconKirin => "Kirin ",
            S::ActionsAtm => "ATM",
            S::AllwinnerA => "A",
            S::AmlogicAml => "AML",
            S::AmlogicS => "S",
            S::BroadcomBcm => "BCM",
            S::LgNuclun => "Nuclun ",
            S::LeadcoreLc => "LC",
            S::MarvellPxa => "PXA",
            S::Mstar6a => "6A",
            S::NovathorU => "U",
            S::NvidiaTegraT => "Tegra T",
            S::NvidiaTegraAp => "Tegra AP",
            S::NvidiaTegraSl => "Tegra SL",
            S::PineconeSurgeS => "Surge S",
            S::RenesasMp => "MP",
            S::RockchipRk => "RK",
            S::SpreadtrumSc => "SC",
            S::TelechipsTcc => "TCC",
            S::TexasInstrumentsOmap => "OMAP",
            S::UnisocT => "T",
            S::UnisocUms => "UMS",
            S::WondermediaWm => "WM",
            S::GoogleTensor => "Tensor",
            S::IntelAtom => "Atom ",
        }
    }
}

/// A decoded chipset. `Display` prints cpuinfo's name for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chipset {
    /// SoC vendor.
    pub vendor: ChipsetVendor,
    /// Product line.
    pub series: ChipsetSeries,
    /// Model number, 0 when only the series is known (e.g. an unlisted Allwinner sunXi).
    pub model: u32,
    /// Model suffix, upper case (`T`, `PRO-AB`, `-MX`), possibly empty.
    pub suffix: String,
}

impl fmt::Display for Chipset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vendor = self.vendor.name();
        let series = self.series.prefix();
        let suffix: String = self.suffix.chars().take(SUFFIX_MAX).collect();
        let mut s = if self.model == 0 {
            match (suffix.is_empty(), self.series == ChipsetSeries::Unknown) {
                (false, true) => format!("{vendor} {suffix}"),
                (false, false) => format!("{vendor} {series} {suffix}"),
                (true, true) => vendor.to_string(),
                (true, false) => format!("{vendor} {series}"),
            }
        } else {
            format!("{vendor} {series}{}{suffix}", self.model)
        };
        if s.len() > NAME_MAX {
            let mut cut = NAME_MAX;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        f.write_str(&s)
    }
}

/// The package name cpuinfo reports: the chipset's name, or `Unknown` when nothing decoded.
pub fn chipset_name(c: Option<&Chipset>) -> String {
    match c {
        Some(c) if c.series != ChipsetSeries::Unknown => c.to_string(),
        _ => "Unknown".to_string(),
    }
}

/// The Android system properties (and `/proc/cpuinfo` `Hardware`) that name the chipset.
/// Missing properties are empty strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AndroidProperties {
    /// `/proc/cpuinfo` `Hardware` value.
    pub proc_cpuinfo_hardware: String,
    /// `ro.product.board`.
    pub ro_product_board: String,
    /// `ro.board.platform`.
    pub ro_board_platform: String,
    /// `ro.mediatek.platform`.
    pub ro_mediatek_platform: String,
    /// `ro.arch`.
    pub ro_arch: String,
    /// `ro.chipname`.
    pub ro_chipname: String,
    /// `ro.hardware.chipname`.
    pub ro_hardware_chipname: String,
    /// `ro.soc.model`.
    pub ro_soc_model: String,
}

impl AndroidProperties {
    /// Fills the properties from `key=value` pairs (e.g. `getprop` output); other keys are ignored.
    pub fn from_pairs<'a>(
        hardware: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut p = AndroidProperties {
            proc_cpuinfo_hardware: hardware.to_string(),
            ..Default::default()
        };
        for (k, v) in pairs {
            let slot = match k {
                "ro.product.board" => &mut p.ro_product_board,
                "ro.board.platform" => &mut p.ro_board_platform,
                "ro.mediatek.platform" => &mut p.ro_mediatek_platform,
                "ro.arch" => &mut p.ro_arch,
                "ro.chipname" => &mut p.ro_chipname,
                "ro.hardware.chipname" => &mut p.ro_hardware_chipname,
                "ro.soc.model" => &mut p.ro_soc_model,
                _ => continue,
            };
            *slot = v.to_string();
        }
        p
    }
}

// ---------------------------------------------------------------------------------------------
// Internal representation: a fixed 8-byte, NUL-padded suffix, so that the suffix rules (prefix
// propagation between sources, cut at 8 letters) behave exactly like cpuinfo's.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Raw {
    series: ChipsetSeries,
    model: u32,
    suffix: [u8; SUFFIX_MAX],
}

impl Raw {
    const UNKNOWN: Raw = Raw {
        series: ChipsetSeries::Unknown,
        model: 0,
        suffix: [0; SUFFIX_MAX],
    };

    fn new(series: ChipsetSeries, model: u32) -> Raw {
        Raw {
            series,
            model,
            suffix: [0; SUFFIX_MAX],
        }
    }

    fn with_suffix(series: ChipsetSeries, model: u32, suffix: &[u8]) -> Raw {
        let mut r = Raw::new(series, model);
        for (d, &s) in r.suffix.iter_mut().zip(suffix) {
            *d = s;
        }
        r
    }

    fn known(&self) -> bool {
        self.series != ChipsetSeries::Unknown
    }

    fn vendor(&self) -> ChipsetVendor {
        self.series.vendor()
    }

    fn suffix_len(&self) -> usize {
        self.suffix
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(SUFFIX_MAX)
    }

    /// Same series, model and suffix (up to its end).
    fn same(&self, o: &Raw) -> bool {
        self.series == o.series
            && self.model == o.model
            && self.suffix[..self.suffix_len()] == o.suffix[..o.suffix_len()]
    }

    fn to_public(self) -> Option<Chipset> {
        if !self.known() {
            return None;
        }
        let n = self.suffix_len();
        Some(Chipset {
            vendor: self.vendor(),
            series: self.series,
            model: self.model,
            suffix: self.suffix[..n].iter().map(|&b| b as char).collect(),
        })
    }
}

/// The bytes of a C string held in a buffer of `max` bytes: up to the first NUL, at most `max`.
fn c_str(s: &str, max: usize) -> &[u8] {
    let b = s.as_bytes();
    let b = &b[..b.len().min(max)];
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic()
}

fn upper(c: u8) -> u8 {
    c & 0xDF
}

/// `c` equals the lower-case letter `lower` ignoring case (cpuinfo folds with `| 0x20`).
fn ieq(c: u8, lower: u8) -> bool {
    (c | 0x20) == lower
}

/// Case-insensitive (for letters) prefix comparison.
fn ieq_prefix(s: &[u8], lower: &[u8]) -> bool {
    s.len() >= lower.len() && s.iter().zip(lower).all(|(&c, &l)| ieq(c, l))
}

/// Parses exactly `s.len()` ASCII digits.
fn digits(s: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
    }
    Some(v)
}

// ---------------------------------------------------------------------------------------------
// Signature matchers. Each takes the whole candidate string (from a given start) and returns
// the chipset when the signature matches.
// ---------------------------------------------------------------------------------------------

/// `(MSM|APQ) ?\d{4}[A-Za-z-]*` (case-insensitive series, suffix cut at 8 and upper-cased).
fn match_msm_apq(s: &[u8]) -> Option<Raw> {
    if s.len() < 7 {
        return None;
    }
    let series = if ieq_prefix(s, b"msm") {
        ChipsetSeries::QualcommMsm
    } else if ieq_prefix(s, b"apq") {
        ChipsetSeries::QualcommApq
    } else {
        return None;
    };
    let mut pos = 3;
    if s[pos] == b' ' {
        pos += 1;
        if pos + 4 > s.len() {
            return None;
        }
    }
    let model = digits(&s[pos..pos + 4])?;
    pos += 4;
    let mut r = Raw::new(series, model);
    for (i, &c) in s[pos..].iter().take(SUFFIX_MAX).enumerate() {
        if is_alpha(c) {
            r.suffix[i] = upper(c);
        } else if c == b'-' {
            r.suffix[i] = c;
        } else {
            break;
        }
    }
    Some(r)
}

/// `SDM\d{3}` exactly: Qualcomm Snapdragon.
fn match_sdm(s: &[u8]) -> Option<Raw> {
    if s.len() != 6 || &s[..3] != b"SDM" {
        return None;
    }
    Some(Raw::new(
        ChipsetSeries::QualcommSnapdragon,
        digits(&s[3..6])?,
    ))
}

/// `SM\d{4}` exactly: printed as `Qualcomm Snapdragon NNNN`, which is what cpuinfo's name tests
/// assert (`SM8150` -> `Qualcomm Snapdragon 8150`) and what cpuinfo printed from 2020 until
/// April 2026; its newest code prints `Qualcomm SMNNNN` ([`ChipsetSeries::QualcommSm`]) while
/// that test still expects the Snapdragon form.
fn match_sm(s: &[u8]) -> Option<Raw> {
    if s.len() != 6 || &s[..2] != b"SM" {
        return None;
    }
    Some(Raw::new(
        ChipsetSeries::QualcommSnapdragon,
        digits(&s[2..6])?,
    ))
}

/// `Samsung Exynos ?\d{4}` (18 or 19 characters; first letters of both words exact case).
fn match_samsung_exynos(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if len != 18 && len != 19 {
        return None;
    }
    let head_ok = s[0] == b'S'
        && ieq_prefix(&s[1..], b"amsung")
        && s[7] == b' '
        && s[8] == b'E'
        && ieq_prefix(&s[9..], b"xynos");
    if !head_ok {
        return None;
    }
    let mut pos = 14;
    if s[pos] == b' ' {
        pos += 1;
        if len != 19 {
            return None;
        }
    }
    Some(Raw::new(
        ChipsetSeries::SamsungExynos,
        digits(&s[pos..pos + 4])?,
    ))
}

/// `exynos\d{4}` exactly (lower case).
fn match_exynos(s: &[u8]) -> Option<Raw> {
    if s.len() != 10 || &s[..6] != b"exynos" {
        return None;
    }
    Some(Raw::new(ChipsetSeries::SamsungExynos, digits(&s[6..10])?))
}

/// `universal\d{4}` exactly (case-insensitive).
fn match_universal(s: &[u8]) -> Option<Raw> {
    if s.len() != 13 || !ieq_prefix(s, b"universal") {
        return None;
    }
    Some(Raw::new(ChipsetSeries::SamsungExynos, digits(&s[9..13])?))
}

/// `s5e\d{4}` exactly.
fn match_s5e(s: &[u8]) -> Option<Raw> {
    if s.len() != 7 || &s[..3] != b"s5e" {
        return None;
    }
    Some(Raw::new(ChipsetSeries::SamsungExynos, digits(&s[3..7])?))
}

/// `SMDK4210` / `SMDK4x12` (case-insensitive `SMDK`); 4x12 is 4212 or 4412 by core count.
fn match_smdk(s: &[u8], cores: u32) -> Option<Raw> {
    if s.len() != 8 || !ieq_prefix(s, b"smdk") {
        return None;
    }
    let model = match &s[4..8] {
        b"4210" => 4210,
        b"4x12" => match cores {
            2 => 4212,
            4 => 4412,
            _ => 0,
        },
        _ => 0,
    };
    (model != 0).then(|| Raw::new(ChipsetSeries::SamsungExynos, model))
}

/// `MTK?\d{4}` plus a suffix of letters and `/`. With `whole`, the suffix must run to the end
/// of the string and fit in 8 characters; otherwise as much valid suffix as fits is taken.
fn match_mt(s: &[u8], whole: bool) -> Option<Raw> {
    if s.len() < 6 || !ieq_prefix(s, b"mt") {
        return None;
    }
    let mut pos = 2;
    if ieq(s[pos], b'k') {
        pos += 1;
        if pos + 4 > s.len() {
            return None;
        }
    }
    let model = digits(&s[pos..pos + 4])?;
    pos += 4;
    let mut r = Raw::new(ChipsetSeries::MediatekMt, model);
    let rest = &s[pos..];
    if whole {
        if rest.len() > SUFFIX_MAX {
            return None;
        }
        for (i, &c) in rest.iter().enumerate() {
            if is_alpha(c) {
                r.suffix[i] = upper(c);
            } else if c == b'/' {
                r.suffix[i] = c;
            } else {
                return None;
            }
        }
    } else {
        for (i, &c) in rest.iter().take(SUFFIX_MAX).enumerate() {
            if is_alpha(c) {
                r.suffix[i] = upper(c);
            } else if c == b'/' {
                r.suffix[i] = c;
            } else {
                break;
            }
        }
    }
    Some(r)
}

/// `[Kk]irin\s?\d{3}` (8 or 9 characters; the model is the last three characters).
fn match_kirin(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if len != 8 && len != 9 {
        return None;
    }
    if !ieq(s[0], b'k') || &s[1..5] != b"irin" {
        return None;
    }
    if matches!(s[5], b' ' | b'\t' | b'\r' | b'\n') && len != 9 {
        return None;
    }
    Some(Raw::new(
        ChipsetSeries::HisiliconKirin,
        digits(&s[len - 3..])?,
    ))
}

/// `rk\d{4}[a-z]?` exactly (case-insensitive).
fn match_rk(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if (len != 6 && len != 7) || !ieq_prefix(s, b"rk") {
        return None;
    }
    let model = digits(&s[2..6])?;
    let mut r = Raw::new(ChipsetSeries::RockchipRk, model);
    if len == 7 {
        if !is_alpha(s[6]) {
            return None;
        }
        r.suffix[0] = upper(s[6]);
    }
    Some(r)
}

/// `sc\d{4}[a-z]*` (suffix cut at 8) or `scx15` (SC7715), case-insensitive.
///
/// Since 2020 cpuinfo also accepts an `sp` prefix here, which turns Spreadtrum reference-board
/// names such as `sp7731cea` (ro.product.board of an SC7731C phone) into a chip "SC7731CEA";
/// its own disambiguation test expects `Spreadtrum SC7731C` for that device, so only `sc` is
/// accepted here.
fn match_sc(s: &[u8]) -> Option<Raw> {
    if s.len() < 5 || !ieq_prefix(s, b"sc") {
        return None;
    }
    if ieq(s[2], b'x') {
        if s.len() != 5 || &s[3..5] != b"15" {
            return None;
        }
        return Some(Raw::new(ChipsetSeries::SpreadtrumSc, 7715));
    }
    if s.len() < 6 {
        return None;
    }
    let model = digits(&s[2..6])?;
    let mut r = Raw::new(ChipsetSeries::SpreadtrumSc, model);
    for (i, &c) in s[6..].iter().take(SUFFIX_MAX).enumerate() {
        if !is_alpha(c) {
            return None;
        }
        r.suffix[i] = upper(c);
    }
    Some(r)
}

/// `Unisoc T\d{3,4}` or `UNISOC T\d{3,4}` exactly.
fn match_unisoc_t(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if len != 11 && len != 12 {
        return None;
    }
    if &s[..4] != b"Unis" && &s[..4] != b"UNIS" {
        return None;
    }
    if &s[4..8] != b"oc T" && &s[4..8] != b"OC T" {
        return None;
    }
    Some(Raw::new(ChipsetSeries::UnisocT, digits(&s[8..])?))
}

/// `Unisoc UMS\d{3,4}` exactly.
fn match_unisoc_ums(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if (len != 13 && len != 14) || &s[..10] != b"Unisoc UMS" {
        return None;
    }
    Some(Raw::new(ChipsetSeries::UnisocUms, digits(&s[10..])?))
}

/// `lc\d{4}[a-z]?` exactly. cpuinfo validates the optional letter but does not keep it.
fn match_lc(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if (len != 6 && len != 7) || &s[..2] != b"lc" {
        return None;
    }
    let model = digits(&s[2..6])?;
    if len == 7 && !is_alpha(s[6]) {
        return None;
    }
    Some(Raw::new(ChipsetSeries::LeadcoreLc, model))
}

/// `PXA\d{3,4}` exactly, plus the common typo `PXA1L88` for PXA1088.
fn match_pxa(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if (len != 6 && len != 7) || &s[..3] != b"PXA" {
        return None;
    }
    if len == 7 && &s[3..7] == b"1L88" {
        return Some(Raw::new(ChipsetSeries::MarvellPxa, 1088));
    }
    Some(Raw::new(ChipsetSeries::MarvellPxa, digits(&s[3..])?))
}

/// `BCM\d{4}` exactly.
fn match_bcm(s: &[u8]) -> Option<Raw> {
    if s.len() != 7 || &s[..3] != b"BCM" {
        return None;
    }
    Some(Raw::new(ChipsetSeries::BroadcomBcm, digits(&s[3..7])?))
}

/// `OMAP\d{4}` exactly.
fn match_omap(s: &[u8]) -> Option<Raw> {
    if s.len() != 8 || &s[..4] != b"OMAP" {
        return None;
    }
    Some(Raw::new(
        ChipsetSeries::TexasInstrumentsOmap,
        digits(&s[4..8])?,
    ))
}

/// Broadcom platform code names, resolved by core count and frequency.
fn match_broadcom(s: &[u8], cores: u32, freq: u32) -> Option<Raw> {
    let (model, suffix): (u32, u8) = match s {
        b"rhea" if cores == 1 => (21654, if freq >= 999_999 { b'G' } else { 0 }),
        b"java" if cores == 4 => (23550, 0),
        b"hawaii" if cores == 1 => (21663, 0),
        b"hawaii" if cores == 2 => (21664, if freq >= 1_200_000 { b'T' } else { 0 }),
        b"capri" if cores == 2 => (28155, 0),
        _ => return None,
    };
    Some(Raw::with_suffix(
        ChipsetSeries::BroadcomBcm,
        model,
        &[suffix],
    ))
}

/// Allwinner `sunXi` platform ids with the core count -> A-series model.
/// (sunxi id, cores, model, suffix, 32-bit ARM only)
const SUNXI: &[(u32, u32, u32, u8, bool)] = &[
    (4, 1, 10, 0, true),
    (5, 1, 13, 0, true),
    (6, 4, 31, 0, true),
    (7, 2, 20, 0, true),
    (8, 2, 23, 0, true),
    (8, 4, 33, 0, true),
    (8, 8, 83, b'T', true),
    (9, 8, 80, 0, true),
    (50, 4, 64, 0, false),
];

/// `sun\d{1,2}i...`: Allwinner; the model comes from the id and core count (0 when unlisted).
fn match_sunxi(s: &[u8], cores: u32, arch32: bool) -> Option<Raw> {
    if s.len() < 5 || &s[..3] != b"sun" || !s[3].is_ascii_digit() {
        return None;
    }
    let mut id = u32::from(s[3] - b'0');
    let mut pos = 4;
    if s[pos].is_ascii_digit() {
        id = id * 10 + u32::from(s[pos] - b'0');
        pos += 1;
        if pos == s.len() {
            return None;
        }
    }
    if s[pos] != b'i' {
        return None;
    }
    let hit = SUNXI
        .iter()
        .find(|e| (arch32 || !e.4) && e.0 == id && e.1 == cores);
    let (model, suffix) = hit.map_or((0, 0), |e| (e.2, e.3));
    Some(Raw::with_suffix(
        ChipsetSeries::AllwinnerA,
        model,
        &[suffix],
    ))
}

/// `WMT`: WonderMedia, resolved by core count and frequency (model 0 when unlisted).
fn match_wmt(s: &[u8], cores: u32, freq: u32) -> Option<Raw> {
    if s != b"WMT" {
        return None;
    }
    let model = match (cores, freq) {
        (1, 1_008_000) => 8950,
        (1, 1_200_000) => 8850,
        (2, 1_500_000) => 8880,
        _ => 0,
    };
    Some(Raw::new(ChipsetSeries::WondermediaWm, model))
}

/// Huawei model codes (first three letters of `ro.product.board`) -> Kirin model.
const HUAWEI: &[(&[u8; 3], u32)] = &[
    (b"ALP", 970),
    (b"BAC", 659),
    (b"BLA", 970),
    (b"BKL", 970),
    (b"CLT", 970),
    (b"COL", 970),
    (b"COR", 970),
    (b"DUK", 960),
    (b"EML", 970),
    (b"EVA", 955),
    (b"FRD", 950),
    (b"INE", 710),
    (b"KNT", 950),
    (b"LON", 960),
    (b"LYA", 980),
    (b"MCN", 980),
    (b"MHA", 960),
    (b"NEO", 970),
    (b"NXT", 950),
    (b"PAN", 980),
    (b"PAR", 970),
    (b"RVL", 970),
    (b"STF", 960),
    (b"SUE", 980),
    (b"VIE", 955),
    (b"VKY", 960),
    (b"VTR", 960),
];

/// `XXX`, `XXX-L\d\d` or `XXX-[A-Z]L\d\d` where XXX is a tabulated Huawei model code.
fn match_huawei(s: &[u8]) -> Option<Raw> {
    let len = s.len();
    if !matches!(len, 3 | 7 | 8) {
        return None;
    }
    let model = HUAWEI.iter().find(|(code, _)| &s[..3] == *code)?.1;
    if len > 3 {
        if s[3] != b'-' || !s[4].is_ascii_uppercase() {
            return None;
        }
        if s[len - 3] != b'L' || !s[len - 2].is_ascii_digit() || !s[len - 1].is_ascii_digit() {
            return None;
        }
    }
    Some(Raw::new(ChipsetSeries::HisiliconKirin, model))
}

/// `tcc\d{3}x` exactly: Telechips TCCxxxX.
fn match_tcc(s: &[u8]) -> Option<Raw> {
    if s.len() != 7 || &s[..3] != b"tcc" || s[6] != b'x' {
        return None;
    }
    Some(Raw::with_suffix(
        ChipsetSeries::TelechipsTcc,
        digits(&s[3..6])?,
        b"X",
    ))
}

/// `ro.board.platform` values that mark an Nvidia Tegra device: `tegra` or `tegra3`.
fn is_tegra(s: &[u8]) -> bool {
    s == b"tegra" || s == b"tegra3"
}

/// An exact-name table entry: (name, series, model, suffix letter, 32-bit ARM only).
type Special = (&'static str, ChipsetSeries, u32, u8, bool);

use ChipsetSeries as Cs;

/// `/proc/cpuinfo` `Hardware` values that name a chipset only by a board or code name.
const SPECIAL_HARDWARE: &[Special] = &[
    ("k3v2oem1", Cs::HisiliconK3v, 2, 0, true),
    ("hi6620oem", Cs::HisiliconKirin, 910, b'T', true),
    ("hi6250", Cs::HisiliconKirin, 650, 0, false),
    ("hi6210sft", Cs::HisiliconKirin, 620, 0, false),
    ("hi3751", Cs::HisiliconHi, 3751, 0, false),
    ("hi3630", Cs::HisiliconKirin, 920, 0, true),
    ("hi3635", Cs::HisiliconKirin, 930, 0, false),
    ("gs702a", Cs::ActionsAtm, 7029, 0, true),
    ("gs702c", Cs::ActionsAtm, 7029, b'B', true),
    ("gs703d", Cs::ActionsAtm, 7039, b'S', true),
    ("gs705a", Cs::ActionsAtm, 7059, b'A', true),
    ("Amlogic Meson8", Cs::AmlogicS, 812, 0, true),
    ("Amlogic Meson8B", Cs::AmlogicS, 805, 0, true),
    ("mapphone_CDMA", Cs::TexasInstrumentsOmap, 4430, 0, true),
    ("Superior", Cs::TexasInstrumentsOmap, 4470, 0, true),
    ("Tuna", Cs::TexasInstrumentsOmap, 4460, 0, true),
    ("Manta", Cs::SamsungExynos, 5250, 0, true),
    ("Odin", Cs::LgNuclun, 7111, 0, true),
    ("Madison", Cs::Mstar6a, 338, 0, true),
];

/// `/proc/cpuinfo` `Hardware` values of Tegra devices (used when `ro.board.platform` is
/// `tegra`/`tegra3`, which does not say which Tegra).
const TEGRA_HARDWARE: &[Special] = &[
    ("cardhu", Cs::NvidiaTegraT, 30, 0, true),
    ("kai", Cs::NvidiaTegraT, 30, b'L', true),
    ("p3", Cs::NvidiaTegraT, 20, 0, true),
    ("n1", Cs::NvidiaTegraAp, 20, b'H', true),
    ("SHW-M380S", Cs::NvidiaTegraT, 20, 0, true),
    ("m470", Cs::NvidiaTegraT, 30, b'L', true),
    ("endeavoru", Cs::NvidiaTegraAp, 33, 0, true),
    ("evitareul", Cs::NvidiaTegraT, 33, 0, true),
    ("enrc2b", Cs::NvidiaTegraT, 33, 0, true),
    ("mozart", Cs::NvidiaTegraT, 114, 0, true),
    ("tegratab", Cs::NvidiaTegraT, 114, 0, true),
    ("tn8", Cs::NvidiaTegraT, 124, 0, true),
    ("roth", Cs::NvidiaTegraT, 114, 0, true),
    ("pisces", Cs::NvidiaTegraT, 114, 0, true),
    ("mocha", Cs::NvidiaTegraT, 124, 0, true),
    ("stingray", Cs::NvidiaTegraAp, 20, b'H', true),
    ("Ceres", Cs::NvidiaTegraSl, 460, b'N', true),
    ("MT799", Cs::NvidiaTegraT, 30, 0, true),
    ("t8400n", Cs::NvidiaTegraT, 114, 0, true),
    ("chagall", Cs::NvidiaTegraT, 30, 0, true),
    ("ventana", Cs::NvidiaTegraT, 20, 0, true),
    ("bobsleigh", Cs::NvidiaTegraT, 33, 0, true),
    ("tegra_fjdev101", Cs::NvidiaTegraAp, 33, 0, true),
    ("tegra_fjdev103", Cs::NvidiaTegraT, 33, 0, true),
    ("nbx03", Cs::NvidiaTegraT, 20, 0, true),
    ("txs03", Cs::NvidiaTegraT, 30, b'L', true),
    ("x3", Cs::NvidiaTegraAp, 33, 0, true),
    ("vu10", Cs::NvidiaTegraAp, 33, 0, true),
    ("BIRCH", Cs::NvidiaTegraT, 30, b'L', true),
    ("macallan", Cs::NvidiaTegraT, 114, 0, true),
    ("maya", Cs::NvidiaTegraT, 114, 0, true),
    ("antares", Cs::NvidiaTegraT, 20, 0, true),
    ("tostab12AL", Cs::NvidiaTegraT, 30, b'L', true),
    ("tostab12BL", Cs::NvidiaTegraT, 30, b'L', true),
    ("sphinx", Cs::NvidiaTegraT, 30, 0, true),
    ("tostab11BS", Cs::NvidiaTegraT, 30, 0, true),
    ("tostab12BA", Cs::NvidiaTegraT, 114, 0, true),
    ("vangogh", Cs::NvidiaTegraT, 20, 0, true),
    ("a110", Cs::NvidiaTegraT, 30, b'L', true),
    ("picasso_e", Cs::NvidiaTegraAp, 20, b'H', true),
    ("picasso_e2", Cs::NvidiaTegraT, 30, b'L', true),
    ("picasso", Cs::NvidiaTegraAp, 20, b'H', true),
    ("picasso_m", Cs::NvidiaTegraT, 30, 0, true),
    ("picasso_mf", Cs::NvidiaTegraT, 30, 0, true),
    ("avalon", Cs::NvidiaTegraT, 30, b'L', true),
    ("NS_14T004", Cs::NvidiaTegraT, 30, b'L', true),
    ("WIKIPAD", Cs::NvidiaTegraT, 30, 0, true),
    ("kb", Cs::NvidiaTegraT, 114, 0, true),
    ("foster_e", Cs::NvidiaTegraT, 210, 0, false),
    ("foster_e_hdd", Cs::NvidiaTegraT, 210, 0, false),
    ("darcy", Cs::NvidiaTegraT, 210, 0, false),
];

/// `ro.product.board` values that name a chipset only by a board or code name. The suffix `P`
/// stands for `PRO` (MSM8996PRO of the first Pixels).
const SPECIAL_BOARD: &[Special] = &[
    ("hi6250", Cs::HisiliconKirin, 650, 0, false),
    ("hi6210sft", Cs::HisiliconKirin, 620, 0, false),
    ("hi3630", Cs::HisiliconKirin, 920, 0, true),
    ("hi3635", Cs::HisiliconKirin, 930, 0, false),
    ("hi3650", Cs::HisiliconKirin, 950, 0, false),
    ("hi3660", Cs::HisiliconKirin, 960, 0, false),
    ("mp523x", Cs::RenesasMp, 5232, 0, true),
    ("BEETHOVEN", Cs::HisiliconKirin, 950, 0, false),
    ("hws7701u", Cs::RockchipRk, 3168, 0, true),
    ("g2mv", Cs::NvidiaTegraSl, 460, b'N', true),
    ("K00F", Cs::RockchipRk, 3188, 0, true),
    ("T7H", Cs::RockchipRk, 3066, 0, true),
    ("tuna", Cs::TexasInstrumentsOmap, 4460, 0, true),
    ("grouper", Cs::NvidiaTegraT, 30, b'L', true),
    ("flounder", Cs::NvidiaTegraT, 132, 0, false),
    ("dragon", Cs::NvidiaTegraT, 210, 0, false),
    ("sailfish", Cs::QualcommMsm, 8996, b'P', false),
    ("marlin", Cs::QualcommMsm, 8996, b'P', false),
];

/// `ro.board.platform` values that name a chipset only by a code name.
const SPECIAL_PLATFORM: &[Special] = &[
    ("hi6620oem", Cs::HisiliconKirin, 910, b'T', true),
    ("hi6250", Cs::HisiliconKirin, 650, 0, false),
    ("hi6210sft", Cs::HisiliconKirin, 620, 0, false),
    ("hi3630", Cs::HisiliconKirin, 920, 0, true),
    ("hi3635", Cs::HisiliconKirin, 930, 0, false),
    ("hi3650", Cs::HisiliconKirin, 950, 0, false),
    ("hi3660", Cs::HisiliconKirin, 960, 0, false),
    ("k3v2oem1", Cs::HisiliconK3v, 2, 0, true),
    ("k3v200", Cs::HisiliconK3v, 2, 0, true),
    ("montblanc", Cs::NovathorU, 8500, 0, true),
    ("song", Cs::PineconeSurgeS, 1, 0, false),
    ("rk322x", Cs::RockchipRk, 3229, 0, true),
    ("tegra132", Cs::NvidiaTegraT, 132, 0, false),
    ("tegra210_dragon", Cs::NvidiaTegraT, 210, 0, false),
    ("tegra4", Cs::NvidiaTegraT, 114, 0, true),
    ("s5pc110", Cs::SamsungExynos, 3110, 0, true),
];

/// Amlogic `ro.board.platform` code names: (name, series, model, suffix, 32-bit ARM only).
const AMLOGIC_PLATFORM: &[(&str, ChipsetSeries, u32, &[u8], bool)] = &[
    ("meson3", Cs::AmlogicAml, 8726, b"-M", true),
    ("meson6", Cs::AmlogicAml, 8726, b"-MX", true),
    ("meson8", Cs::AmlogicS, 805, b"", true),
    ("gxbaby", Cs::AmlogicS, 905, b"", false),
    ("gxl", Cs::AmlogicS, 905, b"X", false),
    ("gxm", Cs::AmlogicS, 912, b"", false),
];

fn lookup_special(table: &[Special], s: &[u8], arch32: bool) -> Option<Raw> {
    let e = table
        .iter()
        .find(|e| (arch32 || !e.4) && e.0.as_bytes() == s)?;
    let mut r = Raw::with_suffix(e.1, e.2, &[e.3]);
    if e.3 == b'P' {
        // Board tables store MSM8996PRO's suffix as its first letter only.
        r.suffix[1] = b'R';
        r.suffix[2] = b'O';
    }
    Some(r)
}

// ---------------------------------------------------------------------------------------------
// Per-source decoders (without fixups).
// ---------------------------------------------------------------------------------------------

fn decode_hardware(hw: &[u8], cores: u32, freq: u32, tegra: bool, arch32: bool) -> Raw {
    if tegra {
        return lookup_special(TEGRA_HARDWARE, hw, arch32).unwrap_or(Raw::UNKNOWN);
    }
    // Word-start signatures: at the beginning and after ' ', '\t' or ','.
    let mut word_start = true;
    for (i, &c) in hw.iter().enumerate() {
        match c {
            b' ' | b'\t' | b',' => word_start = true,
            _ => {
                if word_start && is_alpha(c) {
                    let w = &hw[i..];
                    let hit = match_msm_apq(w)
                        .or_else(|| match_sdm(w))
                        .or_else(|| match_sm(w))
                        .or_else(|| match_mt(w, true))
                        .or_else(|| match_kirin(w))
                        .or_else(|| match_rk(w));
                    if let Some(r) = hit {
                        return r;
                    }
                }
                word_start = false;
            }
        }
    }
    let whole = match_samsung_exynos(hw)
        .or_else(|| match_universal(hw))
        .or_else(|| arch32.then(|| match_smdk(hw, cores)).flatten())
        .or_else(|| match_sc(hw))
        .or_else(|| match_unisoc_t(hw))
        .or_else(|| match_unisoc_ums(hw))
        .or_else(|| arch32.then(|| match_pxa(hw)).flatten())
        .or_else(|| match_sunxi(hw, cores, arch32))
        .or_else(|| match_bcm(hw))
        .or_else(|| arch32.then(|| match_omap(hw)).flatten())
        .or_else(|| arch32.then(|| match_wmt(hw, cores, freq)).flatten())
        .or_else(|| match_tcc(hw))
        .or_else(|| lookup_special(SPECIAL_HARDWARE, hw, arch32));
    whole.unwrap_or(Raw::UNKNOWN)
}

fn decode_product_board(b: &[u8], cores: u32, freq: u32, arch32: bool) -> Raw {
    match_msm_apq(b)
        .or_else(|| match_universal(b))
        .or_else(|| match_s5e(b))
        .or_else(|| arch32.then(|| match_smdk(b, cores)).flatten())
        .or_else(|| match_mt(b, true))
        .or_else(|| match_sc(b))
        .or_else(|| arch32.then(|| match_pxa(b)).flatten())
        .or_else(|| arch32.then(|| match_lc(b)).flatten())
        .or_else(|| arch32.then(|| match_broadcom(b, cores, freq)).flatten())
        .or_else(|| match_huawei(b))
        .or_else(|| lookup_special(SPECIAL_BOARD, b, arch32))
        .unwrap_or(Raw::UNKNOWN)
}

fn decode_board_platform(p: &[u8], cores: u32, freq: u32, arch32: bool) -> Raw {
    let omap4 = || {
        (arch32 && p == b"omap4" && cores == 2 && freq == 1_008_000)
            .then(|| Raw::new(ChipsetSeries::TexasInstrumentsOmap, 4430))
    };
    let amlogic = || {
        AMLOGIC_PLATFORM
            .iter()
            .find(|e| (arch32 || !e.4) && e.0.as_bytes() == p)
            .map(|e| Raw::with_suffix(e.1, e.2, e.3))
    };
    match_msm_apq(p)
        .or_else(|| match_exynos(p))
        .or_else(|| match_mt(p, true))
        .or_else(|| match_kirin(p))
        .or_else(|| match_sc(p))
        .or_else(|| match_rk(p))
        .or_else(|| arch32.then(|| match_lc(p)).flatten())
        .or_else(|| match_huawei(p))
        .or_else(|| arch32.then(|| match_broadcom(p, cores, freq)).flatten())
        .or_else(omap4)
        .or_else(amlogic)
        .or_else(|| lookup_special(SPECIAL_PLATFORM, p, arch32))
        .unwrap_or(Raw::UNKNOWN)
}

fn decode_mediatek_platform(p: &[u8]) -> Raw {
    match_mt(p, false).unwrap_or(Raw::UNKNOWN)
}

fn decode_arch(a: &[u8]) -> Raw {
    match_exynos(a).unwrap_or(Raw::UNKNOWN)
}

fn decode_chipname(c: &[u8], arch32: bool) -> Raw {
    let renesas = || (arch32 && c == b"mp523x").then(|| Raw::new(ChipsetSeries::RenesasMp, 5232));
    match_msm_apq(c)
        .or_else(|| match_sm(c))
        .or_else(|| match_exynos(c))
        .or_else(|| match_universal(c))
        .or_else(|| match_mt(c, true))
        .or_else(|| match_sc(c))
        .or_else(|| arch32.then(|| match_pxa(c)).flatten())
        .or_else(renesas)
        .unwrap_or(Raw::UNKNOWN)
}

fn decode_soc_model(m: &[u8]) -> Raw {
    if let Some(r) = match_sm(m).or_else(|| match_msm_apq(m)) {
        return r;
    }
    if let Some(rest) = m.strip_prefix(b"Tensor") {
        let start = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
        let rest = &rest[start..];
        let n = rest.len().min(SUFFIX_MAX);
        return Raw::with_suffix(ChipsetSeries::GoogleTensor, 0, &rest[..n]);
    }
    if m.starts_with(b"GS201") {
        return Raw::with_suffix(ChipsetSeries::GoogleTensor, 0, b"G2");
    }
    Raw::UNKNOWN
}

// ---------------------------------------------------------------------------------------------
// Fixups of common misreports.
// ---------------------------------------------------------------------------------------------

fn fixup(c: &mut Raw, cores: u32, freq: u32, arch32: bool) {
    // A model that only makes sense with some core counts: (expected cores, replacement).
    let by_cores = |c: &mut Raw, keep: u32, other: u32, new_model: u32| {
        if cores == other {
            c.model = new_model;
        } else if cores != keep {
            c.model = 0;
        }
    };
    let word = u32::from_le_bytes([c.suffix[0], c.suffix[1], c.suffix[2], c.suffix[3]]);
    let is_word = |s: &[u8; 4]| word == u32::from_le_bytes(*s);
    match c.series {
        ChipsetSeries::QualcommMsm => {
            if c.suffix[0] == 0 {
                match c.model {
                    8216 => c.model = 8916,
                    8916 => by_cores(c, 4, 8, 8939),
                    8937 => by_cores(c, 8, 4, 8917),
                    8960 => {
                        if cores == 4 {
                            c.series = ChipsetSeries::QualcommApq;
                            c.model = 8064;
                        } else if cores != 2 {
                            c.model = 0;
                        }
                    }
                    8996 => by_cores(c, 4, 8, 8994),
                    8610 if arch32 => by_cores(c, 2, 4, 8612),
                    _ => {}
                }
            } else if is_word(b"MSM\0") {
                // "MSM8916MSM8916": the repeated name was parsed as a suffix.
                c.suffix[..3].fill(0);
            } else if c.model == 8976 && is_word(b"SG\0\0") {
                c.suffix[..3].copy_from_slice(b"PRO");
            } else if c.model == 8996 && is_word(b"PRO\0") {
                c.suffix[3] = b'-';
                c.suffix[4] = b'A';
                c.suffix[5] = if freq >= 2_188_800 { b'C' } else { b'B' };
            }
        }
        ChipsetSeries::QualcommApq if is_word(b"APQ\0") => c.suffix[..3].fill(0),
        ChipsetSeries::SamsungExynos => match c.model {
            4410 if arch32 => c.model = 4412,
            5420 if arch32 => by_cores(c, 4, 6, 5260),
            7580 => by_cores(c, 8, 4, 7578),
            _ => {}
        },
        ChipsetSeries::MediatekMt => {
            if c.model == 6752 {
                by_cores(c, 8, 4, 6732);
            }
            // "TURBO" (and the typo "TRUBO") -> "T".
            if c.suffix[0] == b'T'
                && (&c.suffix[1..5] == b"URBO" || &c.suffix[1..5] == b"RUBO")
                && c.suffix[5] == 0
            {
                c.suffix[1..5].fill(0);
            }
        }
        ChipsetSeries::RockchipRk if c.model == 3288 => by_cores(c, 4, 6, 3399),
        _ => {}
    }
}

fn finish(mut r: Raw, cores: u32, freq: u32, arch32: bool) -> Option<Chipset> {
    if !r.known() {
        return None;
    }
    fixup(&mut r, cores, freq, arch32);
    r.to_public()
}

// ---------------------------------------------------------------------------------------------
// Public single-source entry point.
// ---------------------------------------------------------------------------------------------

/// One system string a chipset name can be decoded from (cpuinfo parses each the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The `Hardware` line of `/proc/cpuinfo`; `tegra` selects the Tegra board-name table (used
    /// when `ro.board.platform` is `tegra`/`tegra3`).
    ProcCpuinfoHardware {
        /// Decode with the Tegra board-name table.
        tegra: bool,
    },
    /// `ro.product.board`.
    RoProductBoard,
    /// `ro.board.platform`.
    RoBoardPlatform,
    /// `ro.mediatek.platform`.
    RoMediatekPlatform,
    /// `ro.arch` (only `exynosXXXX` is recognised there).
    RoArch,
    /// `ro.chipname` or `ro.hardware.chipname`.
    RoChipname,
    /// `ro.soc.model` (Qualcomm `SMxxxx`/`MSMxxxx`, Google `Tensor ...`/`GS201`).
    RoSocModel,
}

/// Decodes the chipset named by `s`, read from `source`, with cpuinfo's fixups: `cores` is the
/// number of cores, `max_cpu_freq_max` the highest `cpuinfo_max_freq` in kHz (0 if unknown),
/// `arch32` selects the rules of cpuinfo's 32-bit ARM build (a superset of the names) rather than
/// its AArch64 build. `None` when no signature matches.
pub fn parse(
    source: Source,
    s: &str,
    cores: u32,
    max_cpu_freq_max: u32,
    arch32: bool,
) -> Option<Chipset> {
    let freq = max_cpu_freq_max;
    let prop = || c_str(s, PROPERTY_VALUE_MAX);
    let r = match source {
        Source::ProcCpuinfoHardware { tegra } => {
            decode_hardware(c_str(s, HARDWARE_VALUE_MAX), cores, freq, tegra, arch32)
        }
        Source::RoProductBoard => decode_product_board(prop(), cores, freq, arch32),
        Source::RoBoardPlatform => decode_board_platform(prop(), cores, freq, arch32),
        Source::RoMediatekPlatform => decode_mediatek_platform(prop()),
        Source::RoArch => decode_arch(prop()),
        Source::RoChipname => decode_chipname(prop(), arch32),
        // cpuinfo decodes ro.soc.model with one rule set on both architectures.
        Source::RoSocModel => return finish(decode_soc_model(prop()), cores, freq, true),
    };
    finish(r, cores, freq, arch32)
}

// ---------------------------------------------------------------------------------------------
// Android: all sources together.
// ---------------------------------------------------------------------------------------------

/// Source indices, in cpuinfo's order.
const HARDWARE: usize = 0;
const PRODUCT_BOARD: usize = 1;
const BOARD_PLATFORM: usize = 2;
const MEDIATEK_PLATFORM: usize = 3;
const CHIPNAME: usize = 5;
const HARDWARE_CHIPNAME: usize = 6;
const SOURCES: usize = 8;

/// Decodes the chipset of an Android device from all its hints, the way cpuinfo does: every
/// source is decoded; sources naming different vendors make the result unknown (except
/// Spreadtrum + Unisoc, which is Unisoc); every decoded chipset gets its fixups; a suffix of
/// one source extends a shorter compatible suffix of another of the same series; and when the
/// sources still disagree, a per-vendor priority picks one (Qualcomm: ro.hardware.chipname,
/// ro.chipname, Hardware, ro.product.board, ro.board.platform; MediaTek: ro.chipname, Hardware,
/// ro.product.board, ro.board.platform, ro.mediatek.platform; ...). Vendors without a
/// priority rule (e.g. Samsung) give `None` on disagreement.
///
/// `max_cpu_freq_max` is the highest `cpuinfo_max_freq` in kHz; cpuinfo itself passes 0 here.
/// `arch32` selects the rules of cpuinfo's 32-bit ARM build.
pub fn decode_android(
    props: &AndroidProperties,
    cores: u32,
    max_cpu_freq_max: u32,
    arch32: bool,
) -> Option<Chipset> {
    let freq = max_cpu_freq_max;
    let platform = c_str(&props.ro_board_platform, PROPERTY_VALUE_MAX);
    fn prop(s: &str) -> &[u8] {
        c_str(s, PROPERTY_VALUE_MAX)
    }
    let mut cs: [Raw; SOURCES] = [
        decode_hardware(
            c_str(&props.proc_cpuinfo_hardware, HARDWARE_VALUE_MAX),
            cores,
            freq,
            is_tegra(platform),
            arch32,
        ),
        decode_product_board(prop(&props.ro_product_board), cores, freq, arch32),
        decode_board_platform(platform, cores, freq, arch32),
        decode_mediatek_platform(prop(&props.ro_mediatek_platform)),
        decode_arch(prop(&props.ro_arch)),
        decode_chipname(prop(&props.ro_chipname), arch32),
        decode_chipname(prop(&props.ro_hardware_chipname), arch32),
        decode_soc_model(prop(&props.ro_soc_model)),
    ];

    // 1. One vendor across all sources.
    let mut vendor = ChipsetVendor::Unknown;
    for c in &cs {
        let v = c.vendor();
        if v == ChipsetVendor::Unknown || v == vendor {
            continue;
        }
        if vendor == ChipsetVendor::Unknown {
            vendor = v;
        } else if matches!(
            (vendor, v),
            (ChipsetVendor::Unisoc, ChipsetVendor::Spreadtrum)
                | (ChipsetVendor::Spreadtrum, ChipsetVendor::Unisoc)
        ) {
            vendor = ChipsetVendor::Unisoc;
        } else {
            return None;
        }
    }
    if vendor == ChipsetVendor::Unknown {
        return None;
    }

    // 2. Fixups on every source.
    for c in cs.iter_mut() {
        fixup(c, cores, freq, arch32);
    }

    // 3. Suffix propagation between sources of the same series.
    // (cpuinfo measures the suffix of source `i` once, before comparing it with the earlier
    // sources, even if one of them extends it.)
    for i in 0..SOURCES {
        let li = cs[i].suffix_len();
        for j in 0..i {
            if cs[i].series != cs[j].series {
                continue;
            }
            let lj = cs[j].suffix_len();
            if li == lj {
                continue;
            }
            let common = li.min(lj);
            if cs[i].suffix[..common] == cs[j].suffix[..common] {
                if li > lj {
                    let s = cs[i].suffix;
                    cs[j].suffix[..li].copy_from_slice(&s[..li]);
                } else {
                    let s = cs[j].suffix;
                    cs[i].suffix[..lj].copy_from_slice(&s[..lj]);
                }
            }
        }
    }

    // 4. Agreement, or the vendor's priority order.
    let mut chosen = Raw::UNKNOWN;
    for c in &cs {
        if !c.known() {
            continue;
        }
        if !chosen.known() {
            chosen = *c;
        } else if !c.same(&chosen) {
            let pick = |order: &[usize]| -> Raw {
                let (last, rest) = order.split_last().unwrap_or((&HARDWARE, &[]));
                rest.iter()
                    .map(|&k| cs[k])
                    .find(Raw::known)
                    .unwrap_or(cs[*last])
            };
            let r = match vendor {
                ChipsetVendor::Qualcomm => pick(&[
                    HARDWARE_CHIPNAME,
                    CHIPNAME,
                    HARDWARE,
                    PRODUCT_BOARD,
                    BOARD_PLATFORM,
                ]),
                ChipsetVendor::Mediatek => pick(&[
                    CHIPNAME,
                    HARDWARE,
                    PRODUCT_BOARD,
                    BOARD_PLATFORM,
                    MEDIATEK_PLATFORM,
                ]),
                ChipsetVendor::Hisilicon => pick(&[HARDWARE, PRODUCT_BOARD, BOARD_PLATFORM]),
                ChipsetVendor::Amlogic => pick(&[HARDWARE, BOARD_PLATFORM]),
                ChipsetVendor::Marvell => pick(&[CHIPNAME, PRODUCT_BOARD, HARDWARE]),
                ChipsetVendor::Rockchip => pick(&[PRODUCT_BOARD, HARDWARE, BOARD_PLATFORM]),
                ChipsetVendor::Spreadtrum => {
                    pick(&[CHIPNAME, PRODUCT_BOARD, HARDWARE, BOARD_PLATFORM])
                }
                _ => Raw::UNKNOWN,
            };
            return r.to_public();
        }
    }
    chosen.to_public()
}

// ---------------------------------------------------------------------------------------------
// Non-Android Linux.
// ---------------------------------------------------------------------------------------------

/// Raspberry Pi kernels report bogus BCM models; the board revision code says which SoC it is.
fn fixup_raspberry_pi(c: &mut Raw, revision: &[u8], arch32: bool) {
    let n = revision.len();
    if n == 4 && arch32 {
        // Old-style revision codes: every such board has a BCM2835 (often reported as BCM2708).
        if c.model == 2708 {
            c.model = 2835;
        }
        return;
    }
    if (5..=8).contains(&n) {
        let model = match revision[n - 4] {
            b'0' => 2835,
            b'1' => 2836,
            b'2' => 2837,
            b'3' => 2711,
            _ => 0,
        };
        if model != 0 {
            c.model = model;
            c.suffix[0] = 0;
        }
    }
}

/// Decodes the chipset of a (non-Android) ARM Linux system from `/proc/cpuinfo`'s `Hardware`
/// and `Revision` values: Broadcom chips get the Raspberry Pi revision fixup, others the
/// general fixups.
pub fn decode_linux(
    hardware: &str,
    revision: &str,
    cores: u32,
    max_cpu_freq_max: u32,
    arch32: bool,
) -> Option<Chipset> {
    let hw = c_str(hardware, HARDWARE_VALUE_MAX);
    let mut r = decode_hardware(hw, cores, max_cpu_freq_max, false, arch32);
    match r.vendor() {
        ChipsetVendor::Unknown => return None,
        ChipsetVendor::Broadcom => {
            fixup_raspberry_pi(&mut r, c_str(revision, REVISION_VALUE_MAX), arch32)
        }
        _ => fixup(&mut r, cores, max_cpu_freq_max, arch32),
    }
    r.to_public()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HW: Source = Source::ProcCpuinfoHardware { tegra: false };

    fn hw(s: &str, cores: u32) -> String {
        chipset_name(parse(HW, s, cores, 0, true).as_ref())
    }

    #[test]
    fn qualcomm_forms() {
        assert_eq!(
            hw("Qualcomm MSM 8226 (Flattened Device Tree)", 4),
            "Qualcomm MSM8226"
        );
        assert_eq!(hw("QCT MSM7625a FFA", 1), "Qualcomm MSM7625A");
        assert_eq!(
            hw("Qualcomm Technologies, Inc SDM660", 8),
            "Qualcomm Snapdragon 660"
        );
        assert_eq!(
            hw("Qualcomm Technologies, Inc SM8150", 8),
            "Qualcomm Snapdragon 8150"
        );
        assert_eq!(hw("Qualcomm MSM8916MSM8916", 4), "Qualcomm MSM8916");
        assert_eq!(hw("Qualcomm MSM8916", 8), "Qualcomm MSM8939");
        assert_eq!(hw("Qualcomm APQ8016APQ8016", 4), "Qualcomm APQ8016");
        let pro = |f| {
            parse(Source::RoProductBoard, "marlin", 4, f, true)
                .unwrap()
                .to_string()
        };
        assert_eq!(pro(2_150_400), "Qualcomm MSM8996PRO-AB");
        assert_eq!(pro(2_342_400), "Qualcomm MSM8996PRO-AC");
    }

    #[test]
    fn arch_dependent_rules() {
        let a32 = parse(HW, "Qualcomm MSM8610", 4, 0, true);
        let a64 = parse(HW, "Qualcomm MSM8610", 4, 0, false);
        assert_eq!(chipset_name(a32.as_ref()), "Qualcomm MSM8612");
        assert_eq!(chipset_name(a64.as_ref()), "Qualcomm MSM8610");
        assert!(parse(HW, "SMDK4x12", 4, 0, false).is_none());
        assert_eq!(hw("SMDK4x12", 4), "Samsung Exynos 4412");
        assert_eq!(hw("sun8i", 8), "Allwinner A83T");
        assert_eq!(hw("sun8i", 3), "Allwinner A");
    }

    #[test]
    fn mediatek_and_others() {
        assert_eq!(hw("MT6735TURBO", 4), "MediaTek MT6735T");
        assert_eq!(hw("MT6752", 4), "MediaTek MT6732");
        let mp = parse(Source::RoMediatekPlatform, "MT6797T_x", 10, 0, true).unwrap();
        assert_eq!(mp.to_string(), "MediaTek MT6797T");
        assert_eq!(hw("scx15", 4), "Spreadtrum SC7715");
        assert_eq!(hw("Kirin970", 8), "HiSilicon Kirin 970");
        assert_eq!(hw("universal8895", 8), "Samsung Exynos 8895");
        assert_eq!(hw("Samsung EXYNOS5433", 8), "Samsung Exynos 5433");
        assert_eq!(hw("PXA1L88", 4), "Marvell PXA1088");
        assert_eq!(hw("Unisoc T610", 8), "Unisoc T610");
        assert_eq!(hw("", 4), "Unknown");
        let huawei = parse(Source::RoProductBoard, "FRD-L09", 8, 0, true).unwrap();
        assert_eq!(huawei.to_string(), "HiSilicon Kirin 950");
        let gxl = parse(Source::RoBoardPlatform, "gxl", 4, 0, false).unwrap();
        assert_eq!(gxl.to_string(), "Amlogic S905X");
    }

    #[test]
    fn android_disambiguation() {
        let p = AndroidProperties {
            proc_cpuinfo_hardware: "MT6735P".into(),
            ro_product_board: "unknown".into(),
            ro_board_platform: "mt6735m".into(),
            ro_mediatek_platform: "MT6735".into(),
            ..Default::default()
        };
        let c = decode_android(&p, 4, 0, false);
        assert_eq!(chipset_name(c.as_ref()), "MediaTek MT6735P");
        let conflict = AndroidProperties {
            proc_cpuinfo_hardware: "Qualcomm MSM8974".into(),
            ro_board_platform: "mt6735".into(),
            ..Default::default()
        };
        assert!(decode_android(&conflict, 4, 0, false).is_none());
        let tensor = AndroidProperties {
            ro_soc_model: "Tensor G2".into(),
            ..Default::default()
        };
        let c = decode_android(&tensor, 8, 0, false);
        assert_eq!(chipset_name(c.as_ref()), "Google Tensor G2");
    }

    #[test]
    fn raspberry_pi() {
        let c = decode_linux("BCM2835", "a02082", 4, 0, false).unwrap();
        assert_eq!(c.to_string(), "Broadcom BCM2837");
        let c = decode_linux("BCM2708", "000e", 1, 0, true).unwrap();
        assert_eq!(c.to_string(), "Broadcom BCM2835");
    }
}
