//! Interned strings of the detectors' facts.
//!
//! A detector keeps one fact per sign-in and per access until the scan
//! ends; the strings in them repeat (a few tenants and applications, one
//! UPN per user, a token id per sign-in and its accesses). Facts hold
//! 4-byte [`Sym`]s of one [`Strings`] table per detector instead of a
//! `Box<str>` each, which is what keeps a detector's memory a small
//! multiple of the number of records instead of their text. Equal strings
//! get equal symbols, so the replay joins and counts on symbols without
//! reading text; text is only resolved for alerts and the baseline file.

use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// A string of a [`Strings`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

/// How a string is stored.
#[derive(Clone, Copy)]
pub enum Case {
    Keep,
    /// ASCII lower case (ids compared without regard to case).
    Lower,
    /// ASCII upper case (country codes).
    Upper,
}

/// One detector's table of strings.
#[derive(Default)]
pub struct Strings {
    table: HashTable<Sym>,
    strings: Vec<Box<str>>,
    /// Case-folded copy of the string being interned.
    scratch: String,
}

fn hash(s: &str) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write(s.as_bytes());
    h.finish()
}

impl Strings {
    /// The symbol of `text` stored in `case`, adding it when new. `None`
    /// only past 2³² − 1 strings (memory runs out long before; the value
    /// would then read as missing).
    pub fn intern(&mut self, text: &str, case: Case) -> Option<Sym> {
        let text = match case {
            Case::Keep => text,
            Case::Lower | Case::Upper => {
                self.scratch.clear();
                self.scratch.push_str(text);
                if matches!(case, Case::Lower) {
                    self.scratch.make_ascii_lowercase();
                } else {
                    self.scratch.make_ascii_uppercase();
                }
                self.scratch.as_str()
            }
        };
        let h = hash(text);
        let strings = &self.strings;
        if let Some(sym) = self.table.find(h, |s| {
            strings
                .get(s.0.get() as usize - 1)
                .is_some_and(|t| **t == *text)
        }) {
            return Some(*sym);
        }
        let sym = Sym(NonZeroU32::new(u32::try_from(strings.len() + 1).ok()?)?);
        self.strings.push(text.into());
        let strings = &self.strings;
        self.table.insert_unique(h, sym, |s| {
            hash(strings.get(s.0.get() as usize - 1).map_or("", |t| t))
        });
        Some(sym)
    }

    /// `intern` for an optional value.
    pub fn opt(&mut self, text: Option<&str>, case: Case) -> Option<Sym> {
        text.and_then(|t| self.intern(t, case))
    }

    /// The text of a symbol.
    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym.0.get() as usize - 1).map_or("", |s| s)
    }

    /// The text of an optional symbol.
    pub fn text(&self, sym: Option<Sym>) -> Option<&str> {
        sym.map(|s| self.get(s))
    }
}

/// A table shared by the scan threads of one detector.
#[derive(Default)]
pub struct SharedStrings(Mutex<Strings>);

impl SharedStrings {
    /// The table; a panic elsewhere must not lose the detector's facts, so
    /// a poisoned lock is taken over (the table is always consistent
    /// between calls).
    pub fn lock(&self) -> MutexGuard<'_, Strings> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_equal_symbols() {
        let mut s = Strings::default();
        let a = s.intern("Alice@X", Case::Lower);
        let b = s.intern("alice@x", Case::Keep);
        let c = s.intern("ALICE@X", Case::Keep);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(s.text(a), Some("alice@x"));
        assert_eq!(s.text(c), Some("ALICE@X"));
        let empty = s.intern("", Case::Keep);
        assert_eq!(s.text(empty), Some(""));
        let de = s.intern("de", Case::Upper);
        assert_eq!(s.text(de), Some("DE"));
    }
}
