//! Reading a machine's description from files: `/` on the live machine, or a folder holding a
//! recording of another machine's `/proc` and `/sys` (a *sysroot*).
//!
//! Every reader here is total: a missing, unreadable or malformed file is `None`, never a panic.

use std::path::{Path, PathBuf};

/// Files are never read beyond this many bytes (`/proc/cpuinfo` of a 256-core server is ~300 KiB).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// A root directory to read `proc/...` and `sys/...` from, with optional overlay layers searched
/// first (a recording of what a 32-bit process sees on a 64-bit kernel differs only in
/// `/proc/cpuinfo`, so it is stored as an overlay).
#[derive(Clone, Debug)]
pub struct Sysroot {
    layers: Vec<PathBuf>,
}

impl Sysroot {
    /// The live machine.
    pub fn live() -> Sysroot {
        Sysroot {
            layers: vec![PathBuf::from("/")],
        }
    }

    /// A recording rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Sysroot {
        Sysroot {
            layers: vec![root.into()],
        }
    }

    /// A recording whose files are searched in `layers` in order (the first layer holding a file
    /// wins).
    pub fn with_layers(layers: Vec<PathBuf>) -> Sysroot {
        Sysroot { layers }
    }

    /// The layers, first searched first.
    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    fn locate(&self, rel: &str) -> Option<PathBuf> {
        let rel = rel.trim_start_matches('/');
        self.layers
            .iter()
            .map(|l| l.join(rel))
            .find(|p| p.is_file())
    }

    /// Whether the file exists in some layer.
    pub fn exists(&self, rel: &str) -> bool {
        self.locate(rel).is_some()
    }

    /// The bytes of a file (at most 4 MiB), or `None`.
    pub fn read_bytes(&self, rel: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let path = self.locate(rel)?;
        let f = std::fs::File::open(path).ok()?;
        let mut buf = Vec::new();
        f.take(MAX_FILE_BYTES).read_to_end(&mut buf).ok()?;
        Some(buf)
    }

    /// The text of a file, with invalid UTF-8 replaced, or `None`.
    pub fn read_text(&self, rel: &str) -> Option<String> {
        self.read_bytes(rel)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// A file holding one unsigned decimal number (leading digits; trailing text ignored). `None`
    /// if missing or if it does not start with a digit.
    pub fn read_u32(&self, rel: &str) -> Option<u32> {
        parse_leading_u32(&self.read_text(rel)?)
    }

    /// A Linux CPU list file (`0-3,6`), as the CPU numbers it names below `limit`, ascending and
    /// without repeats (see [`parse_cpulist`]).
    pub fn read_cpulist(&self, rel: &str, limit: u32) -> Option<Vec<u32>> {
        parse_cpulist(&self.read_text(rel)?, limit)
    }

    /// Names of the entries of a directory in the first layer holding it.
    pub fn list_dir(&self, rel: &str) -> Vec<String> {
        let rel = rel.trim_start_matches('/');
        for l in &self.layers {
            let p: &Path = &l.join(rel);
            if let Ok(rd) = std::fs::read_dir(p) {
                return rd
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect();
            }
        }
        Vec::new()
    }
}

/// Leading decimal digits of `s` (after leading whitespace) as a `u32`; `None` if there are none
/// or the value overflows.
pub fn parse_leading_u32(s: &str) -> Option<u32> {
    let t = s.trim_start();
    let digits: &str = &t[..t.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The most CPU numbers [`parse_cpulist`] returns (and so the largest `limit` it honours): Linux
/// supports at most 8192 (`CONFIG_NR_CPUS`), this leaves room for any future kernel while keeping a
/// hostile recording (`0-4294967295`) from asking for gigabytes.
pub const MAX_CPUS: u32 = 1 << 16;

/// Parses a Linux CPU list (`0-3,6,8-9\n`): the CPU numbers it names below `limit` (itself
/// capped at [`MAX_CPUS`]), ascending and without repeats, so never more than `limit` of them
/// however long the ranges (`0-4294967295`) or how often they repeat. Numbers at or above the
/// limit are dropped. `None` if the text is not a CPU list at all (empty, a part that is not a
/// `u32` or a `u32` range, or a range whose end is below its start).
pub fn parse_cpulist(s: &str, limit: u32) -> Option<Vec<u32>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let limit = limit.min(MAX_CPUS);
    // Ranges clipped to the limit, then sorted and merged: the work and the output are bounded
    // by the text's length and the limit, never by the numbers in it.
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if b < a {
            return None;
        }
        if a < limit {
            ranges.push((a, b.min(limit - 1)));
        }
    }
    ranges.sort_unstable();
    let mut out: Vec<u32> = Vec::new();
    for (a, b) in ranges {
        // Resume after the last number already listed (ranges are sorted by start).
        let start = match out.last() {
            Some(&last) if last >= b => continue,
            Some(&last) => a.max(last + 1),
            None => a,
        };
        out.extend(start..=b);
    }
    Some(out)
}

/// Parses Android `key=value` property lines (the recording format of `getprop`: one per line,
/// split at the first `=`; `\n` and `\\` escapes in values).
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let mut val = String::with_capacity(v.len());
            let mut it = v.chars();
            while let Some(c) = it.next() {
                if c == '\\' {
                    match it.next() {
                        Some('n') => val.push('\n'),
                        Some('\\') => val.push('\\'),
                        Some(o) => {
                            val.push('\\');
                            val.push(o);
                        }
                        None => val.push('\\'),
                    }
                } else {
                    val.push(c);
                }
            }
            Some((k.trim().to_string(), val))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulists() {
        assert_eq!(parse_cpulist("0-3,6\n", 64), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_cpulist("5", 64), Some(vec![5]));
        assert_eq!(parse_cpulist("0-7", 4), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_cpulist("", 4), None);
        assert_eq!(parse_cpulist("3-1", 4), None);
        assert_eq!(parse_cpulist("x", 4), None);
        assert_eq!(parse_cpulist("6,0-3,2", 64), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_cpulist("5", 0), Some(vec![]));
    }

    #[test]
    fn numbers_and_properties() {
        assert_eq!(parse_leading_u32(" 1800000\n"), Some(1_800_000));
        assert_eq!(parse_leading_u32("abc"), None);
        let p = parse_properties("ro.a=b=c\nro.e=\nbad\nro.n=x\\ny\\\\");
        assert_eq!(p[0], ("ro.a".into(), "b=c".into()));
        assert_eq!(p[1], ("ro.e".into(), String::new()));
        assert_eq!(p[2], ("ro.n".into(), "x\ny\\".into()));
    }
}
