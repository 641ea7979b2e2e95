//! The field table: which event fields hold which indicator type. It is
//! data (`data/fields.yaml`, embedded), so that a new log shape needs a new
//! line, not new code.

use std::collections::BTreeMap;

use crate::indicator::IocType;

const BUILTIN_FIELDS: &str = include_str!("../data/fields.yaml");

/// Field names per indicator type, as the table spells them.
#[derive(Clone, Debug, Default)]
pub struct FieldTable {
    pub by_type: Vec<(IocType, Vec<String>)>,
}

impl FieldTable {
    /// The embedded table.
    pub fn builtin() -> FieldTable {
        // The embedded file is checked by a unit test; an error here would
        // be a build defect, so fall back to an empty table, not a panic.
        FieldTable::parse(BUILTIN_FIELDS).unwrap_or_default()
    }

    /// Reads a table: a map from type name to a list of field names.
    pub fn parse(text: &str) -> Result<FieldTable, String> {
        let raw: BTreeMap<String, Vec<String>> =
            serde_yaml::from_str(text).map_err(|e| format!("invalid field table: {e}"))?;
        let mut by_type = Vec::new();
        for (name, fields) in raw {
            let ty = IocType::parse(&name)
                .ok_or_else(|| format!("field table: unknown indicator type '{name}'"))?;
            by_type.push((ty, fields));
        }
        Ok(FieldTable { by_type })
    }

    /// The field names of one type.
    pub fn fields_of(&self, ty: IocType) -> impl Iterator<Item = &str> {
        self.by_type
            .iter()
            .filter(move |(t, _)| *t == ty)
            .flat_map(|(_, fields)| fields.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_covers_windows_and_cloud_fields() {
        let table = FieldTable::parse(BUILTIN_FIELDS).unwrap();
        let has = |ty, name: &str| table.fields_of(ty).any(|f| f.eq_ignore_ascii_case(name));
        for name in [
            "DestinationIp",
            "SourceIp",
            "IpAddress",
            "ClientIP",
            "ClientIPAddress",
            "IPAddress",
            "callerIpAddress",
            "properties.ipAddress",
        ] {
            assert!(has(IocType::Ip, name), "{name}");
        }
        assert!(has(IocType::Domain, "QueryName"));
        assert!(has(IocType::Domain, "DestinationHostname"));
        assert!(has(IocType::Hash, "Hashes"));
        assert!(has(IocType::FileName, "Image"));
        assert!(has(IocType::UserAgent, "UserAgent"));
        assert!(has(IocType::AppId, "ClientAppId"));
        assert!(has(IocType::KeyId, "kid"));
        assert!(has(IocType::TenantId, "TokenTenantId"));
    }

    #[test]
    fn unknown_types_are_refused() {
        assert!(FieldTable::parse("mutex: [Name]").is_err());
        assert!(FieldTable::parse("ip: 3").is_err());
    }
}
