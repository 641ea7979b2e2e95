//! Case-insensitive interning of field names.

use rustc_hash::FxHashMap;

/// A field name interned in a [`FieldNames`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// Field ids that every table holds at fixed positions, so that sources and
/// sinks can reach the fields every Windows event has without a lookup.
pub mod well_known {
    use super::FieldId;
    pub const EVENT_ID: FieldId = FieldId(0);
    pub const CHANNEL: FieldId = FieldId(1);
    pub const PROVIDER_NAME: FieldId = FieldId(2);
    pub const COMPUTER: FieldId = FieldId(3);
    /// Names in the order of the ids above.
    pub const NAMES: [&str; 4] = ["EventID", "Channel", "Provider_Name", "Computer"];
}

/// Interned field names. Lookups ignore ASCII case: Windows field names are
/// spelt consistently, but cloud exports and SIEM shapes are not.
#[derive(Clone, Debug)]
pub struct FieldNames {
    by_name: FxHashMap<Box<str>, FieldId>,
    names: Vec<Box<str>>,
}

impl Default for FieldNames {
    fn default() -> Self {
        let mut table = FieldNames {
            by_name: FxHashMap::default(),
            names: Vec::new(),
        };
        for name in well_known::NAMES {
            table.intern(name);
        }
        table
    }
}

impl FieldNames {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the id of `name`, adding it when it is new. The first
    /// spelling seen is the one [`FieldNames::name`] gives back.
    pub fn intern(&mut self, name: &str) -> FieldId {
        let key = name.to_ascii_lowercase();
        if let Some(id) = self.by_name.get(key.as_str()) {
            return *id;
        }
        let id = FieldId(self.names.len() as u32);
        self.names.push(name.into());
        self.by_name.insert(key.into_boxed_str(), id);
        id
    }

    /// Looks a name up without adding it. `scratch` is a reusable buffer so
    /// that mixed-case names cost no allocation.
    pub fn get_with(&self, name: &str, scratch: &mut String) -> Option<FieldId> {
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.by_name.get(name).copied();
        }
        scratch.clear();
        scratch.push_str(name);
        scratch.make_ascii_lowercase();
        self.by_name.get(scratch.as_str()).copied()
    }

    /// Looks a name up without adding it.
    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.get_with(name, &mut String::new())
    }

    /// The name of an id (as first interned).
    pub fn name(&self, id: FieldId) -> &str {
        self.names.get(id.0 as usize).map(|s| &**s).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_ignores_case_and_keeps_first_spelling() {
        let mut names = FieldNames::new();
        let a = names.intern("CommandLine");
        let b = names.intern("commandline");
        assert_eq!(a, b);
        assert_eq!(names.name(a), "CommandLine");
        assert_eq!(names.get("COMMANDLINE"), Some(a));
        assert_eq!(names.get("Image"), None);
        assert_eq!(names.get("eventid"), Some(well_known::EVENT_ID));
    }
}
