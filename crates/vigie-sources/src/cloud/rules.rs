//! For `vigie rules check`: SigmaHQ cloud rules (product `azure` or `m365`)
//! that use a field no known shape of their log has, so they can never
//! fire on real exports.

use std::path::Path;

use super::FieldMap;

/// A rule whose fields were not all found.
#[derive(Debug, Clone)]
pub struct UnknownFields {
    /// The rule file and title.
    pub origin: String,
    pub reason: String,
}

/// Checks every `.yml`/`.yaml` rule under `paths` (files or folders).
pub fn check_cloud_rule_fields(paths: &[&Path], map: &FieldMap) -> Vec<UnknownFields> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for doc in serde_yaml::Deserializer::from_str(&text) {
            // After a syntax error the YAML stream cannot resynchronise and
            // would yield the same error forever: stop at the first one.
            let Ok(rule) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else {
                break;
            };
            if let Some(problem) = check_rule(&rule, map) {
                let title = rule.get("title").and_then(|t| t.as_str()).unwrap_or("?");
                out.push(UnknownFields {
                    origin: format!("{} ({title})", file.display()),
                    reason: problem,
                });
            }
        }
    }
    out
}

fn collect(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), out);
            }
        }
    } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
        out.push(path.to_path_buf());
    }
}

fn check_rule(rule: &serde_yaml::Value, map: &FieldMap) -> Option<String> {
    let logsource = rule.get("logsource")?;
    let product = logsource.get("product")?.as_str()?;
    if !matches!(product, "azure" | "m365") {
        return None;
    }
    let service = logsource.get("service").and_then(|s| s.as_str());
    let detection = rule.get("detection")?.as_mapping()?;
    let mut unknown: Vec<String> = Vec::new();
    for (name, selection) in detection {
        if matches!(name.as_str(), Some("condition" | "timeframe")) {
            continue;
        }
        let mut fields = Vec::new();
        field_names(selection, &mut fields);
        for field in fields {
            if !map.knows(product, service, &field) && !unknown.contains(&field) {
                unknown.push(field);
            }
        }
    }
    if unknown.is_empty() {
        return None;
    }
    let service = service.unwrap_or("-");
    Some(format!(
        "field(s) {} exist in no known {product}/{service} shape (see crates/vigie-sources/data/cloud-fields.yaml)",
        unknown.join(", ")
    ))
}

fn field_names(value: &serde_yaml::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml::Value::Mapping(map) => {
            for key in map.keys().filter_map(|k| k.as_str()) {
                let field = key.split('|').next().unwrap_or(key);
                if !field.is_empty() {
                    out.push(field.to_owned());
                }
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for item in items {
                field_names(item, out);
            }
        }
        _ => {}
    }
}
