//! Applying pipelines to one rule document, before it is compiled.

use rustc_hash::FxHashMap;
use serde_yaml::{Mapping, Value};

use super::detection::{Detection, Item, Selection};
use super::parse::{str_of, Conditions, FieldCondition, Kind, Pipeline, RuleCondition};

/// What rule conditions look at, kept current as items change the rule.
struct RuleState {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    tags: Vec<String>,
    applied: Vec<String>,
}

/// Most values one placeholder substitution may produce.
const MAX_VALUES: usize = 4096;

/// Rewrites `doc` (a rule, or a filter when `filter`) through `pipelines`
/// in order; `vars` are the placeholder values of all of them. An error is
/// the rule's load error (a `rule_failure` message, or a rewrite that
/// cannot be written back).
pub fn apply(
    pipelines: &[Pipeline],
    vars: &FxHashMap<String, Vec<String>>,
    doc: &mut Value,
    filter: bool,
) -> Result<(), String> {
    let (section, keep): (&str, &[&str]) = if filter {
        ("filter", &["condition", "timeframe", "rules"])
    } else {
        ("detection", &["condition", "timeframe"])
    };
    let Some(map) = doc.get(section).and_then(Value::as_mapping) else {
        return Ok(()); // The compiler reports the missing section.
    };
    let mut det = Detection::parse(map, keep)?;
    let ls = doc.get("logsource");
    let lower = |k: &str| str_of(ls.and_then(|l| l.get(k))).map(|s| s.to_ascii_lowercase());
    let mut state = RuleState {
        product: lower("product"),
        category: lower("category"),
        service: lower("service"),
        tags: match doc.get("tags") {
            Some(Value::Sequence(t)) => t.iter().filter_map(|v| str_of(Some(v))).collect(),
            _ => Vec::new(),
        },
        applied: Vec::new(),
    };
    let mut new_logsource = None;
    for pipeline in pipelines {
        for item in &pipeline.items {
            if !rule_matches(&item.rule_conditions, &state) {
                continue;
            }
            state.applied.push(item.id.clone());
            let id = item.id.as_str();
            let fc = &item.field_conditions;
            match &item.kind {
                Kind::FieldMapping(_)
                | Kind::PrefixMapping(_)
                | Kind::AddPrefix(_)
                | Kind::AddSuffix(_) => det.rewrite(|it| rename(&item.kind, fc, it, id))?,
                Kind::Drop => det.rewrite(|it| {
                    Ok(if any_ok(fc, it) {
                        Vec::new()
                    } else {
                        vec![it.clone()]
                    })
                })?,
                Kind::AddCondition {
                    conditions,
                    negated,
                    template,
                } => add_condition(&mut det, id, conditions, *negated, *template, &state)?,
                Kind::ChangeLogsource {
                    product,
                    category,
                    service,
                } => {
                    // pySigma replaces the whole logsource: unnamed parts go.
                    let mut ls = Mapping::new();
                    for (k, v) in [
                        ("product", product),
                        ("category", category),
                        ("service", service),
                    ] {
                        if let Some(v) = v {
                            ls.insert(Value::String(k.into()), Value::String(v.clone()));
                        }
                    }
                    state.product = product.as_ref().map(|s| s.to_ascii_lowercase());
                    state.category = category.as_ref().map(|s| s.to_ascii_lowercase());
                    state.service = service.as_ref().map(|s| s.to_ascii_lowercase());
                    new_logsource = Some(ls);
                }
                Kind::Placeholders {
                    include,
                    exclude,
                    wildcard,
                } => det.rewrite(|it| {
                    if !it.has_modifier("expand") {
                        return Ok(vec![it.clone()]);
                    }
                    let lookup = |name: &str| -> Option<Vec<String>> {
                        let wanted = include.as_ref().is_none_or(|i| i.iter().any(|n| n == name))
                            && !exclude.iter().any(|n| n == name);
                        if !wanted {
                            None
                        } else if *wildcard {
                            Some(vec!["*".into()])
                        } else {
                            vars.get(name).cloned()
                        }
                    };
                    let mut out = it.clone();
                    out.value = map_strings(&it.value, &mut |s| substitute(s, &lookup))?;
                    Ok(vec![out])
                })?,
                Kind::ReplaceString { regex, replacement } => det.rewrite(|it| {
                    if !any_ok(fc, it) {
                        return Ok(vec![it.clone()]);
                    }
                    let mut out = it.clone();
                    out.value = map_strings(&it.value, &mut |s| {
                        Ok(vec![regex
                            .replace_all(s, replacement.as_str())
                            .into_owned()])
                    })?;
                    Ok(vec![out])
                })?,
                Kind::RuleFailure(message) => {
                    return Err(format!("pipeline {}: {message}", pipeline.name))
                }
                Kind::ItemFailure(message) => {
                    let hit = det
                        .selections
                        .iter()
                        .flat_map(|s| s.branches.iter().flatten())
                        .any(|it| any_ok(fc, it));
                    if hit {
                        return Err(format!("pipeline {}: {message}", pipeline.name));
                    }
                }
            }
        }
    }
    let detection = Value::Mapping(det.to_yaml()?);
    if let Some(root) = doc.as_mapping_mut() {
        root.insert(Value::String(section.into()), detection);
        if let Some(ls) = new_logsource {
            root.insert(Value::String("logsource".into()), Value::Mapping(ls));
        }
    }
    Ok(())
}

/// The new names of `name` under a field-renaming transformation, or
/// None when it leaves the name alone.
fn new_names(kind: &Kind, name: &str) -> Option<Vec<String>> {
    match kind {
        Kind::FieldMapping(map) => map
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.clone()),
        Kind::PrefixMapping(map) => map
            .iter()
            .find(|(from, _)| name.starts_with(from.as_str()))
            .map(|(from, to)| vec![format!("{to}{}", &name[from.len()..])]),
        Kind::AddPrefix(p) => Some(vec![format!("{p}{name}")]),
        Kind::AddSuffix(s) => Some(vec![format!("{name}{s}")]),
        _ => None,
    }
}

/// Renames an item's field (several new names: one item each, ORed) and,
/// under `fieldref`, the fields its values name, as pySigma does.
fn rename(
    kind: &Kind,
    fc: &Conditions<FieldCondition>,
    it: &Item,
    id: &str,
) -> Result<Vec<Item>, String> {
    let mut base = it.clone();
    if it.has_modifier("fieldref") {
        base.value = map_strings(&it.value, &mut |v| {
            let probe = Item {
                field: v.to_owned(),
                ..it.clone()
            };
            Ok(field_ok(fc, &probe)
                .then(|| new_names(kind, v))
                .flatten()
                .unwrap_or_else(|| vec![v.to_owned()]))
        })?;
    }
    Ok(
        match field_ok(fc, it)
            .then(|| new_names(kind, &it.field))
            .flatten()
        {
            Some(names) => names.into_iter().map(|n| renamed(&base, n, id)).collect(),
            None => vec![base],
        },
    )
}

fn renamed(it: &Item, field: String, id: &str) -> Item {
    let mut out = it.clone();
    out.field = field;
    out.applied.push(id.to_owned());
    out
}

fn rule_matches(c: &Conditions<RuleCondition>, s: &RuleState) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| match want {
        None => true,
        Some(w) => have.as_deref() == Some(w.to_ascii_lowercase().as_str()),
    };
    let test = |cond: &RuleCondition| match cond {
        RuleCondition::Logsource {
            product,
            category,
            service,
        } => eq(product, &s.product) && eq(category, &s.category) && eq(service, &s.service),
        RuleCondition::Tag(t) => s.tags.iter().any(|x| x.eq_ignore_ascii_case(t)),
        RuleCondition::ItemApplied(id) => s.applied.contains(id),
    };
    combine(c, test)
}

fn combine<C>(c: &Conditions<C>, test: impl Fn(&C) -> bool) -> bool {
    if c.list.is_empty() {
        return true;
    }
    let r = if c.any {
        c.list.iter().any(test)
    } else {
        c.list.iter().all(test)
    };
    r != c.negate
}

/// Whether a field-name transformation applies to `it`: it names a field
/// and passes the item's field-name conditions.
fn field_ok(c: &Conditions<FieldCondition>, it: &Item) -> bool {
    !it.field.is_empty() && field_conditions(c, it)
}

/// Same for transformations of whole items: keywords too, when the item
/// has no field-name conditions.
fn any_ok(c: &Conditions<FieldCondition>, it: &Item) -> bool {
    if it.field.is_empty() {
        c.list.is_empty()
    } else {
        field_conditions(c, it)
    }
}

fn field_conditions(c: &Conditions<FieldCondition>, it: &Item) -> bool {
    combine(c, |cond| match cond {
        FieldCondition::Include(f) => f.contains(&it.field),
        FieldCondition::Exclude(f) => !f.contains(&it.field),
        FieldCondition::ItemApplied(id) => it.applied.contains(id),
    })
}

fn add_condition(
    det: &mut Detection,
    id: &str,
    conditions: &Mapping,
    negated: bool,
    template: bool,
    state: &RuleState,
) -> Result<(), String> {
    // Underscore-prefixed, so that `1 of them` / `all of them` skip it as
    // pySigma does.
    let base: String = format!("_pipeline_{id}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut name = base.clone();
    let mut n = 1;
    while det.selections.iter().any(|s| s.name == name) {
        n += 1;
        name = format!("{base}_{n}");
    }
    let mut map = conditions.clone();
    if template {
        let fill = |s: &str| -> Result<Vec<String>, String> {
            let get = |v: &Option<String>| v.clone().unwrap_or_default();
            Ok(vec![s
                .replace("$category", &get(&state.category))
                .replace("$product", &get(&state.product))
                .replace("$service", &get(&state.service))])
        };
        for (_, v) in map.iter_mut() {
            *v = map_strings(v, &mut |s| fill(s))?;
        }
    }
    let branch = Detection::parse(
        &std::iter::once((Value::String(name.clone()), Value::Mapping(map))).collect(),
        &[],
    )?
    .selections
    .into_iter()
    .flat_map(|s| s.branches)
    .next()
    .unwrap_or_default()
    .into_iter()
    .map(|mut it| {
        it.applied.push(id.to_owned());
        it
    })
    .collect();
    det.selections.push(Selection {
        name: name.clone(),
        branches: vec![branch],
        was_map: true,
    });
    let wrap = |c: &str| format!("{}{name} and ({c})", if negated { "not " } else { "" });
    for (k, v) in det.other.iter_mut() {
        if k.as_str() != Some("condition") {
            continue;
        }
        match v {
            Value::String(s) => *s = wrap(s),
            Value::Sequence(list) => {
                for c in list.iter_mut() {
                    if let Value::String(s) = c {
                        *s = wrap(s);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Applies `f` to the string values of a scalar or list, flattening the
/// results into a list when one becomes several.
fn map_strings(
    value: &Value,
    f: &mut dyn FnMut(&str) -> Result<Vec<String>, String>,
) -> Result<Value, String> {
    match value {
        Value::String(s) => {
            let mut out = f(s)?;
            Ok(if out.len() == 1 {
                Value::String(out.remove(0))
            } else {
                Value::Sequence(out.into_iter().map(Value::String).collect())
            })
        }
        Value::Sequence(list) => {
            let mut out = Vec::new();
            for v in list {
                match v {
                    Value::String(s) => out.extend(f(s)?.into_iter().map(Value::String)),
                    other => out.push(other.clone()),
                }
            }
            Ok(Value::Sequence(out))
        }
        other => Ok(other.clone()),
    }
}

/// Replaces the `%name%` placeholders `lookup` knows by each of their
/// values (all combinations); others stay for `--placeholders`. A `%` in a
/// value is escaped so that the `expand` modifier reads it literally.
fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\%") {
            results.iter_mut().for_each(|r| r.push_str("\\%"));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('%') {
            if let Some(end) = after.find('%') {
                let name = &after[..end];
                if let Some(values) = lookup(name) {
                    if results.len().saturating_mul(values.len()) > MAX_VALUES {
                        return Err(format!("placeholder %{name}% expands to too many values"));
                    }
                    results = results
                        .iter()
                        .flat_map(|r| {
                            values.iter().map(move |v| {
                                let v = if v == "*" {
                                    v.clone()
                                } else {
                                    v.replace('%', "\\%")
                                };
                                format!("{r}{v}")
                            })
                        })
                        .collect();
                } else {
                    results
                        .iter_mut()
                        .for_each(|r| r.push_str(&rest[..end + 2]));
                }
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
