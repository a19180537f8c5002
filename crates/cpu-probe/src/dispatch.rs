//! One dispatch shape for every kernel crate.
//!
//! Each kernel crate keeps one constant [`Table`] of [`Entry`]s per operator: the [`Isa`] an
//! entry needs, the name its micro-kernel carries (and that `describe()` and benchmark reports
//! print), and the entry's kernels (function pointers and tile shape, a type of the crate's
//! choosing). Which entries this CPU can run, which is best, and lookup by name are the generic
//! code below, the same for every crate. Tables list the portable scalar entry first and the best
//! entry last.
//!
//! ```
//! use cpu_probe::{Entry, Isa, Table};
//!
//! #[derive(Clone, Copy, Debug)]
//! struct Kernels {
//!     add: fn(i32, i32) -> i32,
//! }
//! fn add_scalar(a: i32, b: i32) -> i32 {
//!     a.wrapping_add(b)
//! }
//! static ADD: Table<Kernels> = Table::new(&[Entry {
//!     isa: Isa::Scalar,
//!     name: "add__scalar",
//!     kernels: Kernels { add: add_scalar },
//! }]);
//!
//! let best = ADD.best();
//! assert_eq!(best.name, "add__scalar");
//! assert_eq!((best.kernels.add)(2, 3), 5);
//! assert!(ADD.by_name("add__avx9").is_err());
//! ```

use crate::features::{Features, Isa, ISA_CAP_ENV};
use std::fmt;

/// One micro-kernel (or family of kernels sharing an ISA and a tile) of a dispatch table.
#[derive(Debug)]
pub struct Entry<K: 'static> {
    /// The ISA level the kernels need.
    pub isa: Isa,
    /// The name, XNNPACK style `<op>_<MR>x<NR>c<KR>__<isa>`: the name of the Rust function
    /// that implements it, and what plans' `describe()` and `kbench bench` print.
    pub name: &'static str,
    /// The kernels and their parameters.
    pub kernels: K,
}

impl<K> Entry<K> {
    /// Whether the running CPU (after [`ISA_CAP_ENV`]) can run this entry.
    pub fn supported(&self) -> bool {
        self.isa.supported()
    }
}

/// Why [`Table::by_name`] found no kernel to run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchError {
    /// No entry of the table carries this name.
    Unknown {
        /// The name asked for.
        name: String,
        /// The names the table knows.
        known: Vec<&'static str>,
    },
    /// The entry is not one of the table's own (see [`Table::verify`]).
    Foreign {
        /// The name the foreign entry carries.
        name: &'static str,
    },
    /// The entry exists but this CPU (or the ISA cap) cannot run it.
    Unsupported {
        /// The entry's name.
        name: &'static str,
        /// The ISA level it needs.
        isa: Isa,
    },
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DispatchError::Unknown { name, known } => {
                write!(
                    f,
                    "no kernel is named {name:?} (known: {})",
                    known.join(", ")
                )
            }
            DispatchError::Foreign { name } => write!(
                f,
                "the kernel entry {name:?} is not one of this table's entries (pass an entry \
                 from the table, e.g. by_name, not a copy)"
            ),
            DispatchError::Unsupported { name, isa } => write!(
                f,
                "kernel {name} needs {isa}, which this CPU does not have in this build \
                 (or {ISA_CAP_ENV} caps it)"
            ),
        }
    }
}

impl std::error::Error for DispatchError {}

/// A constant dispatch table: every micro-kernel of one operator in this build, portable scalar
/// first, best last.
#[derive(Debug)]
pub struct Table<K: 'static> {
    entries: &'static [Entry<K>],
}

impl<K> Table<K> {
    /// A table over `entries` (scalar first, best last; `#[cfg]` out the other architecture's
    /// entries).
    pub const fn new(entries: &'static [Entry<K>]) -> Table<K> {
        Table { entries }
    }

    /// Every entry compiled into this build, whether or not this CPU can run it.
    pub fn all(&self) -> &'static [Entry<K>] {
        self.entries
    }

    /// The entries the running CPU can execute (after [`ISA_CAP_ENV`]), best last: what tests
    /// and benchmarks iterate over.
    pub fn available(&self) -> Vec<&'static Entry<K>> {
        self.available_for(&Features::get())
    }

    /// The entries a CPU with features `f` can execute, best last.
    pub fn available_for(&self, f: &Features) -> Vec<&'static Entry<K>> {
        self.entries
            .iter()
            .filter(|e| e.isa.supported_by(f))
            .collect()
    }

    /// The best entry the running CPU can execute: the last available one (the first entry when
    /// none is, which for a well-formed table is the scalar one).
    pub fn best(&self) -> &'static Entry<K> {
        let f = Features::get();
        self.entries
            .iter()
            .rev()
            .find(|e| e.isa.supported_by(&f))
            .unwrap_or(&self.entries[0])
    }

    /// The best entry of ISA level `isa` this CPU can run, if any.
    pub fn best_of(&self, isa: Isa) -> Option<&'static Entry<K>> {
        if !isa.supported() {
            return None;
        }
        self.entries.iter().rev().find(|e| e.isa == isa)
    }

    /// `entry` itself if it is one of this table's entries (the same object, not a copy) and
    /// this CPU can run it. Plans that accept an entry from their caller call this before they
    /// keep it: an `Entry` built elsewhere could pair a scalar `isa` with kernels of an ISA the
    /// CPU lacks, and the table's own entries are the only ones whose `isa` is known to be true.
    pub fn verify(&self, entry: &Entry<K>) -> Result<&'static Entry<K>, DispatchError> {
        match self.entries.iter().find(|e| std::ptr::eq(*e, entry)) {
            Some(e) if e.supported() => Ok(e),
            Some(e) => Err(DispatchError::Unsupported {
                name: e.name,
                isa: e.isa,
            }),
            None => Err(DispatchError::Foreign { name: entry.name }),
        }
    }

    /// The entry named `name`, if this CPU can run it; otherwise an error that says whether the
    /// name is unknown (listing the known ones) or needs an ISA this CPU lacks.
    pub fn by_name(&self, name: &str) -> Result<&'static Entry<K>, DispatchError> {
        match self.entries.iter().find(|e| e.name == name) {
            Some(e) if e.supported() => Ok(e),
            Some(e) => Err(DispatchError::Unsupported {
                name: e.name,
                isa: e.isa,
            }),
            None => Err(DispatchError::Unknown {
                name: name.to_string(),
                known: self.entries.iter().map(|e| e.name).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> u8 {
        1
    }
    fn two() -> u8 {
        2
    }

    static T: Table<fn() -> u8> = Table::new(&[
        Entry {
            isa: Isa::Scalar,
            name: "k__scalar",
            kernels: one,
        },
        #[cfg(target_arch = "x86_64")]
        Entry {
            isa: Isa::Avx2,
            name: "k__avx2",
            kernels: two,
        },
        #[cfg(target_arch = "aarch64")]
        Entry {
            isa: Isa::Neon,
            name: "k__neon",
            kernels: two,
        },
    ]);

    #[test]
    fn scalar_is_always_available_and_best_is_last_available() {
        assert_eq!(T.available()[0].name, "k__scalar");
        let f = Features::NONE;
        assert_eq!(T.available_for(&f).len(), 1);
        assert_eq!(T.best().name, T.available().last().unwrap().name);
        assert_eq!((T.by_name("k__scalar").unwrap().kernels)(), 1);
        let own = T.by_name("k__scalar").unwrap();
        assert!(std::ptr::eq(T.verify(own).unwrap(), own));
        let copy = Entry {
            isa: Isa::Scalar,
            name: "k__scalar",
            kernels: two as fn() -> u8,
        };
        assert!(matches!(
            T.verify(&copy),
            Err(DispatchError::Foreign { .. })
        ));
        let _ = two;
    }

    #[test]
    fn lookup_errors_name_the_problem() {
        let e = T.by_name("k__sve9").unwrap_err().to_string();
        assert!(e.contains("k__sve9") && e.contains("k__scalar"), "{e}");
        let u = DispatchError::Unsupported {
            name: "k__avx2",
            isa: Isa::Avx2,
        }
        .to_string();
        assert!(u.contains("needs avx2") && u.contains(ISA_CAP_ENV), "{u}");
    }

    #[test]
    fn isa_support_follows_features() {
        let mut f = Features::NONE;
        assert!(Isa::Scalar.supported_by(&f));
        assert!(!Isa::Avx2.supported_by(&f));
        f.avx2 = true;
        f.fma = true;
        assert_eq!(Isa::Avx2.supported_by(&f), cfg!(target_arch = "x86_64"));
        assert!(!Isa::Neon.supported_by(&f));
        assert_eq!(Isa::NeonI8mm.suffix(), "neoni8mm");
        assert_eq!(
            Isa::parse(Isa::Avx512Vnni.name()),
            Ok(Some(Isa::Avx512Vnni))
        );
    }
}
