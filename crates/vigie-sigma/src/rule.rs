//! Reading a Sigma rule document: metadata, logsource and detection.

use std::sync::Arc;

use serde_yaml::Value;
use vigie_core::{Level, RuleMeta};

use crate::compile::{compile_detection, Cx, Detection};
use crate::logsource::RuleLogsource;

/// A rule ready to run.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub meta: Arc<RuleMeta>,
    /// The optional Sigma `name`, by which filters and correlations refer
    /// to the rule.
    pub name: Option<String>,
    pub logsource: RuleLogsource,
    pub detection: Detection,
    /// Sigma filters attached to this rule: a match of any suppresses it.
    pub filters: Vec<Detection>,
}

/// A Sigma filter: a detection that suppresses the matches of the rules it
/// names (by id or name).
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    pub title: String,
    pub origin: String,
    pub rules: Vec<String>,
    pub detection: Detection,
}

/// Compiles a filter document (one with a `filter` section).
pub fn compile_filter(
    doc: &Value,
    origin: &str,
    cx: &mut Cx<'_>,
) -> Result<CompiledFilter, String> {
    let title = text(doc, "title").ok_or("filter has no title")?;
    let section = doc
        .get("filter")
        .and_then(Value::as_mapping)
        .ok_or("'filter' is not a map")?;
    let rules = match section.get("rules") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => return Err("filter names no rules".into()),
    };
    let mut detection = section.clone();
    detection.remove("rules");
    let detection = compile_detection(&Value::Mapping(detection), cx)?;
    Ok(CompiledFilter {
        title,
        origin: origin.to_owned(),
        rules,
        detection,
    })
}

fn text(doc: &Value, key: &str) -> Option<String> {
    match doc.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_list(doc: &Value, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn lower(doc: &Value, key: &str) -> Option<String> {
    text(doc, key).map(|s| s.trim().to_ascii_lowercase())
}

/// Compiles one YAML document of a rule file.
pub fn compile_rule(doc: &Value, origin: &str, cx: &mut Cx<'_>) -> Result<CompiledRule, String> {
    if !doc.is_mapping() {
        return Err("not a YAML map".into());
    }
    if doc.get("correlation").is_some() {
        return Err("correlation rules are not supported yet".into());
    }
    if let Some(action) = text(doc, "action") {
        return Err(format!(
            "rule collections ('action: {action}') are not supported"
        ));
    }
    let title = text(doc, "title").ok_or("rule has no title")?;
    let detection = doc.get("detection").ok_or("rule has no detection")?;
    let level = match text(doc, "level") {
        Some(l) => l.parse::<Level>()?,
        None => Level::Informational,
    };
    let logsource = match doc.get("logsource") {
        Some(ls @ Value::Mapping(_)) => RuleLogsource {
            product: lower(ls, "product"),
            category: lower(ls, "category"),
            service: lower(ls, "service"),
        },
        Some(_) => return Err("'logsource' is not a map".into()),
        None => return Err("rule has no logsource".into()),
    };
    let detection = compile_detection(detection, cx)?;
    let id = text(doc, "id").unwrap_or_else(|| format!("{origin}#{title}"));
    let meta = RuleMeta {
        id,
        title,
        level,
        tags: text_list(doc, "tags")
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect(),
        description: text(doc, "description").unwrap_or_default(),
        references: text_list(doc, "references"),
        author: text(doc, "author").unwrap_or_default(),
        origin: origin.to_owned(),
        internal: false,
    };
    Ok(CompiledRule {
        meta: Arc::new(meta),
        name: text(doc, "name"),
        logsource,
        detection,
        filters: Vec::new(),
    })
}
