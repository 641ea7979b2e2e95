//! Compiling a Sigma rule document into predicates and a condition tree.

use serde_yaml::Value;
use vigie_core::{FieldId, FieldNames};

use crate::condition::{self, Expr};
use crate::matcher::{Predicate, Test, ValueMatcher};
use crate::modifiers::Modifiers;

/// The reason given for a placeholder without values.
pub const MISSING_PLACEHOLDER: &str = "has no values (give them with --placeholders FILE)";

/// Placeholder name (without `%`) → its values, for the `expand` modifier.
pub type Placeholders = rustc_hash::FxHashMap<String, Vec<String>>;

/// What compiling needs besides the rule: the field-name table and the
/// placeholder values.
pub struct Cx<'a> {
    pub names: &'a mut FieldNames,
    pub placeholders: &'a Placeholders,
}

impl Cx<'_> {
    /// Every value `text` stands for once its `%name%` placeholders are
    /// replaced (all combinations). `\%` is a plain percent sign.
    fn expand(&self, text: &str) -> Result<Vec<String>, String> {
        let mut results = vec![String::new()];
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("\\%") {
                results.iter_mut().for_each(|r| r.push('%'));
                rest = after;
                continue;
            }
            if let Some(after) = rest.strip_prefix('%') {
                if let Some(end) = after.find('%') {
                    let name = &after[..end];
                    let values = self
                        .placeholders
                        .get(name)
                        .ok_or_else(|| format!("placeholder %{name}% {MISSING_PLACEHOLDER}"))?;
                    if results.len().saturating_mul(values.len()) > 4096 {
                        return Err(format!("placeholder %{name}% expands to too many values"));
                    }
                    results = results
                        .iter()
                        .flat_map(|r| values.iter().map(move |v| format!("{r}{v}")))
                        .collect();
                    rest = &after[end + 1..];
                    continue;
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                results.iter_mut().for_each(|r| r.push(c));
            }
            rest = chars.as_str();
        }
        Ok(results)
    }
}

/// A selection: OR over branches, each an AND of predicates.
#[derive(Clone, Debug)]
pub struct Selection {
    pub branches: Vec<Vec<Predicate>>,
}

/// The detection part of a rule, compiled.
#[derive(Clone, Debug)]
pub struct Detection {
    pub selections: Vec<Selection>,
    pub condition: Expr,
    /// Fields the rule reads, in order of first use (for evidence).
    pub fields: Vec<FieldId>,
}

impl Detection {
    /// Whether the detection matches the event of `ctx`.
    pub fn matches(&self, ctx: &crate::matcher::Ctx<'_>) -> bool {
        self.condition.eval(&mut |s| {
            self.selections[s]
                .branches
                .iter()
                .any(|branch| branch.iter().all(|p| p.eval(ctx)))
        })
    }
}

/// Compiles the `detection` map of a rule.
pub fn compile_detection(detection: &Value, cx: &mut Cx<'_>) -> Result<Detection, String> {
    let map = detection.as_mapping().ok_or("'detection' is not a map")?;
    let mut sel_names = Vec::new();
    let mut selections = Vec::new();
    let mut fields = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    for (key, value) in map {
        let key = key.as_str().ok_or("a detection key is not a string")?;
        match key {
            "condition" => match value {
                Value::String(s) => conditions.push(s.clone()),
                Value::Sequence(items) => {
                    for item in items {
                        conditions.push(
                            item.as_str()
                                .ok_or("a condition list item is not a string")?
                                .to_owned(),
                        );
                    }
                }
                _ => return Err("'condition' is not a string".into()),
            },
            "timeframe" => {}
            _ => {
                let sel = compile_selection(value, cx, &mut fields)
                    .map_err(|e| format!("selection '{key}': {e}"))?;
                sel_names.push(key.to_owned());
                selections.push(sel);
            }
        }
    }
    if conditions.is_empty() {
        return Err("detection has no condition".into());
    }
    let mut exprs = conditions
        .iter()
        .map(|c| condition::parse(c, &sel_names))
        .collect::<Result<Vec<_>, _>>()?;
    let condition = if exprs.len() == 1 {
        exprs.remove(0)
    } else {
        Expr::Or(exprs)
    };
    Ok(Detection {
        selections,
        condition,
        fields,
    })
}

fn compile_selection(
    value: &Value,
    cx: &mut Cx<'_>,
    fields: &mut Vec<FieldId>,
) -> Result<Selection, String> {
    match value {
        Value::Mapping(_) => Ok(Selection {
            branches: vec![compile_map(value, cx, fields)?],
        }),
        Value::Sequence(items) => {
            let mut branches = Vec::new();
            let mut keywords = Vec::new();
            for item in items {
                match item {
                    Value::Mapping(_) => branches.push(compile_map(item, cx, fields)?),
                    Value::Sequence(_) => return Err("nested lists are not valid here".into()),
                    scalar => keywords.push(scalar.clone()),
                }
            }
            if !keywords.is_empty() {
                let pred = compile_item(None, &[], &Value::Sequence(keywords), cx)?;
                branches.push(vec![pred]);
            }
            if branches.is_empty() {
                return Err("empty selection".into());
            }
            Ok(Selection { branches })
        }
        Value::Null => Err("empty selection".into()),
        scalar => Ok(Selection {
            branches: vec![vec![compile_item(None, &[], scalar, cx)?]],
        }),
    }
}

fn compile_map(
    value: &Value,
    cx: &mut Cx<'_>,
    fields: &mut Vec<FieldId>,
) -> Result<Vec<Predicate>, String> {
    let map = value.as_mapping().ok_or("not a map")?;
    if map.is_empty() {
        return Err("empty map".into());
    }
    let mut preds = Vec::new();
    for (key, value) in map {
        let key = match key {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err("a field name is not a string".into()),
        };
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or("").trim();
        let mods: Vec<&str> = parts.collect();
        let field_id = if field.is_empty() {
            None
        } else {
            let id = cx.names.intern(field);
            if !fields.contains(&id) {
                fields.push(id);
            }
            Some(id)
        };
        preds.push(compile_item(field_id, &mods, value, cx).map_err(|e| format!("{key}: {e}"))?);
    }
    Ok(preds)
}

/// Turns a YAML scalar into the text Sigma compares against.
fn scalar_text(value: &Value) -> Result<Option<String>, String> {
    Ok(match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        _ => return Err("expected a value, found a nested structure".into()),
    })
}

fn compile_item(
    field: Option<FieldId>,
    mods: &[&str],
    value: &Value,
    cx: &mut Cx<'_>,
) -> Result<Predicate, String> {
    let m = Modifiers::parse(mods)?;
    if m.exists {
        let want = match value {
            Value::Bool(b) => *b,
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err("'exists' takes true or false".into()),
        };
        if field.is_none() {
            return Err("'exists' needs a field".into());
        }
        return Ok(Predicate {
            field,
            test: Test::Exists(want),
        });
    }
    let items: Vec<&Value> = match value {
        Value::Sequence(items) => items.iter().collect(),
        single => vec![single],
    };
    if items.is_empty() {
        return Err("empty value list".into());
    }
    if items.len() == 1 && items[0].is_null() {
        if field.is_none() {
            return Err("a keyword cannot be null".into());
        }
        return Ok(Predicate {
            field,
            test: if m.neq {
                Test::Exists(true)
            } else {
                Test::Null
            },
        });
    }
    let mut values: Vec<Vec<ValueMatcher>> = Vec::new();
    for item in items {
        let text = scalar_text(item)?.ok_or("null cannot be part of a value list")?;
        // Keywords without wildcards search within values.
        let text = if field.is_none() && !mods.contains(&"re") {
            keyword_text(&text)
        } else {
            text
        };
        if m.expand {
            let mut alternatives = Vec::new();
            for expanded in cx.expand(&text)? {
                alternatives.extend(m.compile_value(&expanded, cx.names)?);
            }
            values.push(alternatives);
        } else {
            values.push(m.compile_value(&text, cx.names)?);
        }
    }
    Ok(Predicate {
        field,
        test: Test::Values {
            any: if m.all {
                None
            } else {
                crate::matcher::AnyOf::build(&values)
            },
            values,
            all: m.all,
            negate: m.neq,
        },
    })
}

/// Keywords match anywhere in a value: `*keyword*`, unless the keyword
/// already places itself with wildcards.
fn keyword_text(text: &str) -> String {
    if text.starts_with('*') || text.ends_with('*') {
        text.to_owned()
    } else {
        format!("*{text}*")
    }
}
