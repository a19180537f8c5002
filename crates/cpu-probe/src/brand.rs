//! x86 brand-string normalisation, compatible with cpuinfo.
//!
//! CPUID leaves `0x80000002..=0x80000004` give a 48-byte brand string such as
//! `"       Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz\0"`. cpuinfo reduces it to the model name
//! (`"Core i7-8700K"`): parenthesised text, vendor names, marketing words (`CPU`, `Processor`,
//! `Dual-Core`, ...), zero placeholders and the frequency after `@` are removed, some Intel
//! letter/number splits are merged (`"X 990"` -> `"990X"`), everything after words such as
//! `with`, `APU`, `Radeon` or `SOC` is dropped, and engineering samples give an empty string.
//!
//! ```
//! use cpu_probe::brand::normalize_brand_string;
//!
//! let mut raw = [0u8; 48];
//! let s = b"Intel(R) Core(TM) i7 CPU X 990  @ 3.47GHz";
//! raw[..s.len()].copy_from_slice(s);
//! assert_eq!(normalize_brand_string(&raw), "Core i7 990X");
//! ```

/// Length of a CPUID brand string in bytes.
pub const BRAND_STRING_LEN: usize = 48;

/// What the tokenizer remembers between tokens (positions are indices into the buffer).
#[derive(Default)]
struct State {
    /// Start of the previous token when it was `model`.
    model: Option<usize>,
    /// Start of the previous token when it was a single upper-case letter.
    upper_letter: Option<usize>,
    /// Start of the previous token when it was `Dual`.
    dual: Option<usize>,
    /// Set when the previous token was a "N-core" word.
    core: bool,
    /// Start of the previous token when it was `Eng` or `Engineering`.
    engineering: Option<usize>,
    /// Position of the `@` frequency separator.
    frequency_separator: Option<usize>,
    /// Some token looks like a frequency (`...MHz`).
    frequency_token: bool,
    /// A token after the `@` contained two adjacent digits.
    parsed_model_number: bool,
    /// The string is an engineering sample.
    engineering_sample: bool,
}

impl State {
    fn reset_context(&mut self) {
        self.model = None;
        self.upper_letter = None;
        self.dual = None;
        self.core = false;
    }
}

fn blank(b: &mut [u8]) {
    b.fill(b' ');
}

/// Blanks `b[start..end]` if it equals `word` exactly; says whether it did.
fn erase_if(b: &mut [u8], start: usize, end: usize, word: &[u8]) -> bool {
    if &b[start..end] == word {
        blank(&mut b[start..end]);
        true
    } else {
        false
    }
}

fn has_model_number(t: &[u8]) -> bool {
    t.windows(2)
        .any(|w| w[0].is_ascii_digit() && w[1].is_ascii_digit())
}

fn is_frequency(t: &[u8]) -> bool {
    let n = t.len();
    n > 3 && &t[n - 2..] == b"Hz" && matches!(t[n - 3], b'K' | b'M' | b'G')
}

/// Rewrites the token `b[start..end]` in place. Returns `false` when the rest of the string
/// must be dropped.
// One arm per token length; erasing inside match guards would hide the side effects.
#[allow(clippy::collapsible_match)]
fn transform_token(b: &mut [u8], mut start: usize, mut end: usize, st: &mut State) -> bool {
    let prev_model = st.model;
    let prev_upper = st.upper_letter;
    let prev_dual = st.dual;
    let prev_core = st.core;
    let prev_engineering = st.engineering;
    st.reset_context();

    // Everything after the frequency separator goes once a model number was seen there.
    if let Some(sep) = st.frequency_separator {
        if start > sep && st.parsed_model_number {
            blank(&mut b[start..end]);
        }
    }

    // Trademark suffix "tm" glued to a name ("AMD-K6tm", "MediaGXtm").
    if end - start > 2 {
        let c = b[end - 3];
        if (c.is_ascii_digit() || c.is_ascii_uppercase()) && erase_if(b, end - 2, end, b"tm") {
            end -= 2;
        }
    }
    // "AMD-" glued to the name ("AMD-K5").
    if end - start > 4 && erase_if(b, start, start + 4, b"AMD-") {
        start += 4;
    }

    let len = end - start;
    let tok = |b: &[u8]| -> Vec<u8> { b[start..end].to_vec() };
    let t = tok(b);
    match len {
        1 => {
            if t[0].is_ascii_uppercase() {
                st.upper_letter = Some(start);
                return true;
            }
        }
        2 => {
            if erase_if(b, start, end, b"w/") {
                return false;
            }
            // Xeon versions: "V2" -> "v2".
            if t[0] == b'V' && t[1].is_ascii_digit() {
                b[start] = b'v';
                return true;
            }
        }
        3 => {
            if erase_if(b, start, end, b"CPU") {
                return true;
            }
            if erase_if(b, start, end, b"SOC") {
                return false;
            }
            for w in [&b"AMD"[..], b"VIA", b"IDT"] {
                if erase_if(b, start, end, w) {
                    return true;
                }
            }
            if erase_if(b, start, end, b"MMX") || erase_if(b, start, end, b"APU") {
                return false;
            }
            if t == b"Eng" {
                st.engineering = Some(start);
            }
        }
        4 => {
            if erase_if(b, start, end, b"with") {
                return false;
            }
            if t == b"Dual" {
                st.dual = Some(start);
            }
            // cpuinfo records Xeon-ness but does not use it.
            if let Some(d) = prev_dual {
                if t == b"Core" {
                    blank(&mut b[d..end]);
                    st.core = true;
                    return true;
                }
            }
        }
        5 => {
            if erase_if(b, start, end, b"Intel") || erase_if(b, start, end, b"Cyrix") {
                return true;
            }
            if t == b"Geode" {
                return false;
            }
            if t == b"model" {
                st.model = Some(start);
                return true;
            }
        }
        6 => {
            if erase_if(b, start, end, b"Radeon") || erase_if(b, start, end, b"RADEON") {
                return false;
            }
            if prev_core && erase_if(b, start, end, b"Mobile") {
                return true;
            }
            if erase_if(b, start, end, b"family") {
                return true;
            }
            if prev_engineering.is_some() && t == b"Sample" {
                st.engineering_sample = true;
                return false;
            }
        }
        7 => {
            for w in [&b"Genuine"[..], b"12-Core", b"16-Core"] {
                if erase_if(b, start, end, w) {
                    return true;
                }
            }
            if let Some(m) = prev_model {
                if t == b"unknown" {
                    blank(&mut b[m..end]);
                    return true;
                }
            }
            if prev_engineering.is_some() && (t == b"Sample," || t == b"Sample:") {
                st.engineering_sample = true;
                return false;
            }
        }
        8 => {
            if erase_if(b, start, end, b"QuadCore") || erase_if(b, start, end, b"Six-Core") {
                st.core = true;
                return true;
            }
        }
        9 => {
            if erase_if(b, start, end, b"Processor") || erase_if(b, start, end, b"processor") {
                return true;
            }
            if erase_if(b, start, end, b"Dual-Core") || erase_if(b, start, end, b"Quad-Core") {
                st.core = true;
                return true;
            }
            if erase_if(b, start, end, b"Transmeta") {
                return true;
            }
        }
        10 => {
            if erase_if(b, start, end, b"Eight-Core") {
                st.core = true;
                return true;
            }
        }
        11 => {
            if erase_if(b, start, end, b"Triple-Core") {
                st.core = true;
                return true;
            }
            if t == b"Engineering" {
                st.engineering = Some(start);
                return true;
            }
        }
        _ => {}
    }

    // All-zero placeholders ("0000") go.
    if b[start..end].iter().all(|&c| c == b'0') {
        blank(&mut b[start..end]);
        return true;
    }

    // "X 990" -> "990X": a lone capital letter followed by a 2-5 digit number.
    if let Some(u) = prev_upper {
        if (2..=5).contains(&len) && b[start..end].iter().all(u8::is_ascii_digit) && start > 0 {
            let letter = b[u];
            b[u] = b' ';
            b.copy_within(start..end, start - 1);
            start -= 1;
            b[end - 1] = letter;
        }
    }
    if st.frequency_separator.is_some() && has_model_number(&b[start..end]) {
        st.parsed_model_number = true;
    }
    if is_frequency(&b[start..end]) {
        st.frequency_token = true;
    }
    true
}

/// Normalises a raw CPUID brand string the way cpuinfo's `cpuinfo_x86_normalize_brand_string`
/// does. `raw` is the 48-byte string (shorter input is padded with NULs, longer input is cut);
/// NULs inside it count as spaces. Returns the empty string where cpuinfo produces no name
/// (all-NUL input, engineering samples, frequency only). Bytes above 0x7F map to the
/// Latin-1 characters of the same value.
pub fn normalize_brand_string(raw: &[u8]) -> String {
    let mut b = [0u8; BRAND_STRING_LEN];
    let n = raw.len().min(BRAND_STRING_LEN);
    b[..n].copy_from_slice(&raw[..n]);

    // End of the string: the last non-NUL byte (NULs may appear in the middle).
    let Some(last) = b.iter().rposition(|&c| c != 0) else {
        return String::new();
    };
    let mut name_end = last + 1;

    let mut st = State::default();

    // Parenthesised text, '@', tabs and NULs become spaces.
    let mut in_parens = false;
    for (i, c) in b[..name_end].iter_mut().enumerate() {
        match *c {
            b'(' => {
                in_parens = true;
                *c = b' ';
            }
            b')' => {
                in_parens = false;
                *c = b' ';
            }
            b'@' => {
                st.frequency_separator = Some(i);
                *c = b' ';
            }
            0 | b'\t' => *c = b' ',
            _ => {
                if in_parens {
                    *c = b' ';
                }
            }
        }
    }

    // Rewrite token by token.
    let mut token: Option<usize> = None;
    let mut i = 0;
    while i < name_end {
        if b[i] == b' ' {
            if let Some(s) = token.take() {
                if !transform_token(&mut b, s, i, &mut st) {
                    name_end = i;
                    break;
                }
            }
        } else if token.is_none() {
            token = Some(i);
        }
        i += 1;
    }
    if let Some(s) = token {
        if i >= name_end {
            transform_token(&mut b, s, name_end, &mut st);
        }
    }

    if st.engineering_sample {
        return String::new();
    }
    if let Some(sep) = st.frequency_separator {
        if b[..sep].iter().all(|&c| c == b' ') {
            return String::new();
        }
    }

    // Collapse spacing: one space between tokens, none next to a dash.
    let mut out: Vec<u8> = Vec::with_capacity(BRAND_STRING_LEN);
    let mut tokens = 1u32;
    let mut prev_ends_with_dash = true;
    for tok in b[..name_end]
        .split(|&c| c == b' ')
        .filter(|t| !t.is_empty())
    {
        if tok[0] != b'-' && !prev_ends_with_dash {
            tokens += 1;
            out.push(b' ');
        }
        out.extend_from_slice(tok);
        prev_ends_with_dash = tok[tok.len() - 1] == b'-';
    }
    if st.frequency_token && tokens <= 1 {
        return String::new();
    }
    out.truncate(BRAND_STRING_LEN - 1);
    out.iter().map(|&c| char::from(c)).collect()
}

/// cpuinfo's vendor name for a CPUID leaf-0 vendor id (`EBX, EDX, ECX` bytes, e.g.
/// `GenuineIntel` -> `Intel`), `None` for ids it does not know.
pub fn x86_vendor_name(vendor_id: &[u8]) -> Option<&'static str> {
    Some(match vendor_id {
        b"GenuineIntel" => "Intel",
        b"AuthenticAMD" | b"AMDisbetter!" | b"AMD ISBETTER" => "AMD",
        b"CentaurHauls" | b"VIA VIA VIA " => "VIA",
        b"HygonGenuine" => "Hygon",
        b"GenuineTMx86" | b"TransmetaCPU" => "Transmeta",
        b"CyrixInstead" => "Cyrix",
        b"RiseRiseRise" => "Rise",
        b"Geode by NSC" => "NSC",
        b"SiS SiS SiS " => "SiS",
        b"NexGenDriven" => "NexGen",
        b"UMC UMC UMC " => "UMC",
        b"Genuine  RDC" => "RDC",
        b"Vortex86 SoC" => "DM&P",
        _ => return None,
    })
}

/// The package name cpuinfo gives an x86 processor: the vendor name and the normalised brand
/// string (`"Intel" + "Atom Z3745"` -> `"Intel Atom Z3745"`), the brand alone for an unknown
/// vendor, and the empty string when the brand normalised to nothing. At most 63 bytes.
pub fn format_package_name(vendor: Option<&str>, normalized_brand: &str) -> String {
    if normalized_brand.is_empty() {
        return String::new();
    }
    let mut s = match vendor {
        Some(v) => format!("{v} {normalized_brand}"),
        None => normalized_brand.to_string(),
    };
    let mut cut = s.len().min(63);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize_brand_string(s.as_bytes())
    }

    #[test]
    fn intel_and_amd() {
        assert_eq!(
            norm("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz"),
            "Core i7-8700K"
        );
        assert_eq!(norm("Intel(R) Core(TM) CPU Q 820  @ 1.73GHz"), "Core 820Q");
        assert_eq!(
            norm("Intel(R) Xeon(R) CPU E3-1230 V2 @ 3.30GHz"),
            "Xeon E3-1230 v2"
        );
        assert_eq!(
            norm("AMD Athlon(tm) 64 X2 Dual Core Processor 3800+"),
            "Athlon 64 X2 3800+"
        );
        assert_eq!(
            norm("AMD A10-7850K APU with Radeon(TM) R7 Graphics"),
            "A10-7850K"
        );
        assert_eq!(norm("AMD-K6tm w/ multimedia extensions"), "K6");
        assert_eq!(norm("AMD FX(tm)-8150 Eight-Core Processor"), "FX-8150");
        assert_eq!(norm("AMD Processor model unknown"), "");
        assert_eq!(norm("AMD Eng Sample, ZD302046W4K43_36/30/20_2/8_A"), "");
        assert_eq!(norm("Genuine Intel(R) CPU @ 2.13GHz"), "");
        assert_eq!(normalize_brand_string(&[0; 48]), "");
        assert_eq!(normalize_brand_string(&[]), "");
    }

    #[test]
    fn package_names() {
        assert_eq!(x86_vendor_name(b"GenuineIntel"), Some("Intel"));
        assert_eq!(x86_vendor_name(b"Vortex86 SoC"), Some("DM&P"));
        assert_eq!(x86_vendor_name(b"KVMKVMKVM\0\0\0"), None);
        assert_eq!(
            format_package_name(Some("Intel"), "Atom Z3580"),
            "Intel Atom Z3580"
        );
        assert_eq!(format_package_name(None, "Atom Z3580"), "Atom Z3580");
        assert_eq!(format_package_name(Some("AMD"), ""), "");
    }
}
