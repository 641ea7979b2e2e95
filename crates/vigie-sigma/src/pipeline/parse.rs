//! Reading a pySigma processing pipeline (YAML) into [`Pipeline`].
//!
//! Anything the engine would not honour (an unknown transformation or
//! condition type, an expression-linked condition, a query-stage section)
//! fails the whole pipeline with its reason: a pipeline applied in part
//! would silently make rules miss.

use serde_yaml::{Mapping, Value};

/// Transformation types this engine applies.
pub const SUPPORTED: &[&str] = &[
    "field_name_mapping",
    "field_name_prefix_mapping",
    "field_name_prefix",
    "field_name_suffix",
    "drop_detection_item",
    "add_condition",
    "change_logsource",
    "value_placeholders",
    "wildcard_placeholders",
    "replace_string",
    "rule_failure",
    "detection_item_failure",
];

#[derive(Clone, Debug)]
pub struct Pipeline {
    pub name: String,
    pub priority: i64,
    pub vars: Vec<(String, Vec<String>)>,
    pub items: Vec<ProcessingItem>,
}

#[derive(Clone, Debug)]
pub struct ProcessingItem {
    /// The item's `id`, or `NAME#N` when it has none.
    pub id: String,
    pub kind: Kind,
    pub rule_conditions: Conditions<RuleCondition>,
    pub field_conditions: Conditions<FieldCondition>,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// Sigma name → one or more names (several: OR of the alternatives).
    FieldMapping(Vec<(String, Vec<String>)>),
    /// Sigma name prefix → replacement prefix.
    PrefixMapping(Vec<(String, String)>),
    AddPrefix(String),
    AddSuffix(String),
    Drop,
    AddCondition {
        conditions: Mapping,
        negated: bool,
        template: bool,
    },
    ChangeLogsource {
        product: Option<String>,
        category: Option<String>,
        service: Option<String>,
    },
    /// `wildcard` true: placeholders become `*` instead of the vars' values.
    Placeholders {
        include: Option<Vec<String>>,
        exclude: Vec<String>,
        wildcard: bool,
    },
    ReplaceString {
        regex: regex::Regex,
        replacement: String,
    },
    RuleFailure(String),
    ItemFailure(String),
}

#[derive(Clone, Debug)]
pub struct Conditions<C> {
    pub list: Vec<C>,
    /// `or` instead of the default `and`.
    pub any: bool,
    pub negate: bool,
}

#[derive(Clone, Debug)]
pub enum RuleCondition {
    Logsource {
        product: Option<String>,
        category: Option<String>,
        service: Option<String>,
    },
    Tag(String),
    ItemApplied(String),
}

#[derive(Clone, Debug)]
pub enum FieldCondition {
    Include(Vec<String>),
    Exclude(Vec<String>),
    ItemApplied(String),
}

/// Parses one pipeline file.
pub fn parse(text: &str) -> Result<Pipeline, String> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let root = doc.as_mapping().ok_or("a pipeline is a YAML map")?;
    for key in ["postprocessing", "finalizers"] {
        if root.get(key).is_some_and(|v| !v.is_null()) {
            return Err(format!(
                "'{key}' is a query-conversion stage; vigie matches rules, it does not convert them"
            ));
        }
    }
    let name = str_of(root.get("name")).unwrap_or_else(|| "pipeline".into());
    let priority = match root.get("priority") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or("'priority' is not an integer")?,
    };
    let mut vars = Vec::new();
    if let Some(map) = root.get("vars").and_then(Value::as_mapping) {
        for (k, v) in map {
            let key = str_of(Some(k)).ok_or("a 'vars' name is not a string")?;
            let values = match v {
                Value::Sequence(list) => list.iter().filter_map(|x| str_of(Some(x))).collect(),
                other => str_of(Some(other)).into_iter().collect(),
            };
            vars.push((key, values));
        }
    }
    let mut items = Vec::new();
    let list = match root.get("transformations") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Sequence(list)) => list.as_slice(),
        Some(_) => return Err("'transformations' is not a list".into()),
    };
    for (n, entry) in list.iter().enumerate() {
        let map = entry
            .as_mapping()
            .ok_or_else(|| format!("transformation {} is not a map", n + 1))?;
        let id = str_of(map.get("id")).unwrap_or_else(|| format!("{name}#{}", n + 1));
        let item =
            parse_item(map, id.clone()).map_err(|e| format!("transformation '{id}': {e}"))?;
        items.push(item);
    }
    Ok(Pipeline {
        name,
        priority,
        vars,
        items,
    })
}

fn parse_item(map: &Mapping, id: String) -> Result<ProcessingItem, String> {
    let kind_name = str_of(map.get("type")).ok_or("no 'type'")?;
    if map.get("detection_item_conditions").is_some() {
        return Err("detection_item_conditions are not supported".into());
    }
    for key in ["rule_cond_expr", "field_name_cond_expr"] {
        if map.get(key).is_some() {
            return Err(format!("'{key}' is not supported (use a condition list)"));
        }
    }
    let kind = match kind_name.as_str() {
        "field_name_mapping" => Kind::FieldMapping(
            mapping(map)?
                .iter()
                .map(|(k, v)| Ok((key_text(k)?, strings(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        "field_name_prefix_mapping" => Kind::PrefixMapping(
            mapping(map)?
                .iter()
                .map(|(k, v)| Ok((key_text(k)?, str_of(Some(v)).ok_or("target not a string")?)))
                .collect::<Result<_, String>>()?,
        ),
        "field_name_prefix" => Kind::AddPrefix(param(map, "prefix")?),
        "field_name_suffix" => Kind::AddSuffix(param(map, "suffix")?),
        "drop_detection_item" => Kind::Drop,
        "add_condition" => Kind::AddCondition {
            conditions: map
                .get("conditions")
                .and_then(Value::as_mapping)
                .filter(|m| !m.is_empty())
                .ok_or("'conditions' is not a non-empty map")?
                .clone(),
            negated: flag(map, "negated"),
            template: flag(map, "template"),
        },
        "change_logsource" => Kind::ChangeLogsource {
            product: str_of(map.get("product")),
            category: str_of(map.get("category")),
            service: str_of(map.get("service")),
        },
        "value_placeholders" | "wildcard_placeholders" => Kind::Placeholders {
            include: match map.get("include") {
                None | Some(Value::Null) => None,
                Some(v) => Some(strings(v)?),
            },
            exclude: match map.get("exclude") {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => strings(v)?,
            },
            wildcard: kind_name == "wildcard_placeholders",
        },
        "replace_string" => {
            let pattern = param(map, "regex")?;
            Kind::ReplaceString {
                regex: regex::Regex::new(&pattern).map_err(|e| format!("regex: {e}"))?,
                replacement: python_replacement(&param(map, "replacement")?),
            }
        }
        "rule_failure" => Kind::RuleFailure(param(map, "message")?),
        "detection_item_failure" => Kind::ItemFailure(param(map, "message")?),
        other => {
            return Err(format!(
                "transformation type '{other}' is not supported (supported: {})",
                SUPPORTED.join(", ")
            ))
        }
    };
    Ok(ProcessingItem {
        id,
        kind,
        rule_conditions: conditions(map, "rule", rule_condition)?,
        field_conditions: conditions(map, "field_name", field_condition)?,
    })
}

fn conditions<C>(
    map: &Mapping,
    prefix: &str,
    each: fn(&Mapping) -> Result<C, String>,
) -> Result<Conditions<C>, String> {
    let key = format!("{prefix}_conditions");
    let list = match map.get(key.as_str()) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(list)) => list
            .iter()
            .map(|c| each(c.as_mapping().ok_or("a condition is not a map")?))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "'{key}' must be a list (named conditions are not supported)"
            ))
        }
    };
    let any = match str_of(map.get(format!("{prefix}_cond_op").as_str())).as_deref() {
        None | Some("and") => false,
        Some("or") => true,
        Some(op) => return Err(format!("'{prefix}_cond_op: {op}' is neither and nor or")),
    };
    Ok(Conditions {
        list,
        any,
        negate: flag(map, &format!("{prefix}_cond_not")),
    })
}

fn rule_condition(map: &Mapping) -> Result<RuleCondition, String> {
    match str_of(map.get("type")).as_deref() {
        Some("logsource") => Ok(RuleCondition::Logsource {
            product: str_of(map.get("product")),
            category: str_of(map.get("category")),
            service: str_of(map.get("service")),
        }),
        Some("tag") => Ok(RuleCondition::Tag(param(map, "tag")?)),
        Some("processing_item_applied") => Ok(RuleCondition::ItemApplied(param(
            map,
            "processing_item_id",
        )?)),
        other => Err(format!(
            "rule condition type {other:?} is not supported (supported: logsource, tag, processing_item_applied)"
        )),
    }
}

fn field_condition(map: &Mapping) -> Result<FieldCondition, String> {
    match str_of(map.get("type")).as_deref() {
        Some("include_fields") => Ok(FieldCondition::Include(strings(
            map.get("fields").ok_or("no 'fields'")?,
        )?)),
        Some("exclude_fields") => Ok(FieldCondition::Exclude(strings(
            map.get("fields").ok_or("no 'fields'")?,
        )?)),
        Some("processing_item_applied") => Ok(FieldCondition::ItemApplied(param(
            map,
            "processing_item_id",
        )?)),
        other => Err(format!(
            "field name condition type {other:?} is not supported (supported: include_fields, exclude_fields, processing_item_applied)"
        )),
    }
}

/// Python's `\1` group references in `re.sub` replacements, as the regex
/// crate writes them (`${1}`); a literal `$` is escaped.
fn python_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '\\' if chars.peek() == Some(&'\\') => {
                chars.next();
                out.push('\\');
            }
            c => out.push(c),
        }
    }
    out
}

fn mapping(map: &Mapping) -> Result<&Mapping, String> {
    map.get("mapping")
        .and_then(Value::as_mapping)
        .ok_or_else(|| "'mapping' is not a map".to_owned())
}

fn param(map: &Mapping, key: &str) -> Result<String, String> {
    str_of(map.get(key)).ok_or_else(|| format!("'{key}' is missing or not a string"))
}

fn flag(map: &Mapping, key: &str) -> bool {
    matches!(map.get(key), Some(Value::Bool(true)))
}

fn key_text(v: &Value) -> Result<String, String> {
    str_of(Some(v)).ok_or_else(|| "a mapping key is not a string".to_owned())
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Sequence(list) => list
            .iter()
            .map(|x| str_of(Some(x)).ok_or_else(|| "a list entry is not a string".to_owned()))
            .collect(),
        other => Ok(vec![
            str_of(Some(other)).ok_or("expected a string or a list of strings")?
        ]),
    }
}

pub fn str_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
