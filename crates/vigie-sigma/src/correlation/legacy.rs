//! Legacy aggregation conditions (`selection | count(field) by x > N` with
//! `timeframe`), run as the correlation they stand for: the rule without
//! its aggregation becomes a silent base rule, and an event_count (or
//! value_count, with a field) correlation carries the rule's metadata.
//! Other aggregate forms (min, max, avg, sum, `near`, `per`) stay refused.

use serde_yaml::{Mapping, Value};

use super::parse::{parse_correlation, CorrelationDoc};

/// When the rule's condition has an aggregation: the base rule document
/// and the correlation, or why the aggregation cannot run.
pub fn split_aggregation(
    doc: &Value,
    origin: &str,
    label: &str,
) -> Option<Result<(Value, CorrelationDoc), String>> {
    let detection = doc.get("detection")?.as_mapping()?;
    let condition = detection.get("condition")?.as_str()?;
    let (base, aggregation) = condition.split_once('|')?;
    Some(
        translate(doc, detection, base, aggregation, origin, label).map_err(|why| {
            format!(
            "aggregation in condition '{}' is not supported ({why}; use a Sigma correlation rule)",
            condition.trim()
        )
        }),
    )
}

/// A parsed `count(F) by G OP N`: (F, G, the condition key of OP, N).
type Aggregation = (Option<String>, Option<String>, &'static str, f64);

fn parse(aggregation: &str) -> Result<Aggregation, String> {
    let rest = aggregation.trim();
    let rest = rest
        .strip_prefix("count(")
        .ok_or("only count() aggregations run")?;
    let (field, rest) = rest.split_once(')').ok_or("unclosed count(")?;
    let field = Some(field.trim().to_owned()).filter(|f| !f.is_empty());
    let mut rest = rest.trim();
    let mut group = None;
    if let Some(after) = rest.strip_prefix("by ") {
        let after = after.trim_start();
        let end = after
            .find(|c: char| c.is_whitespace() || "<>=!".contains(c))
            .unwrap_or(after.len());
        group = Some(after[..end].to_owned());
        rest = after[end..].trim();
    }
    let ops = [
        (">=", "gte"),
        ("<=", "lte"),
        ("==", "eq"),
        ("!=", "neq"),
        (">", "gt"),
        ("<", "lt"),
        ("=", "eq"),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(sym, key)| rest.strip_prefix(sym).map(|r| (*key, r)))
        .ok_or("no comparison after count()")?;
    let n: f64 = rest
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number", rest.trim()))?;
    Ok((field, group, op, n))
}

fn translate(
    doc: &Value,
    detection: &Mapping,
    base: &str,
    aggregation: &str,
    origin: &str,
    label: &str,
) -> Result<(Value, CorrelationDoc), String> {
    let (field, group, op, n) = parse(aggregation)?;
    let timeframe = detection
        .get("timeframe")
        .and_then(Value::as_str)
        .ok_or("no timeframe")?;
    let title = doc.get("title").and_then(Value::as_str).unwrap_or("");
    let id = match doc.get("id") {
        Some(Value::String(s)) => s.clone(),
        _ => format!("{origin}#{title}"),
    };
    let base_id = format!("{id}/aggregation-base");
    let mut base_doc = doc.clone();
    if let Some(map) = base_doc.as_mapping_mut() {
        map.insert("id".into(), base_id.clone().into());
        map.remove("name");
        if let Some(Value::Mapping(det)) = map.get_mut("detection") {
            det.insert("condition".into(), base.trim().into());
        }
    }
    let mut condition = Mapping::new();
    condition.insert(op.into(), n.into());
    if let Some(f) = &field {
        condition.insert("field".into(), f.clone().into());
    }
    let mut section = Mapping::new();
    let kind = if field.is_some() {
        "value_count"
    } else {
        "event_count"
    };
    section.insert("type".into(), kind.into());
    section.insert("rules".into(), Value::Sequence(vec![base_id.into()]));
    let group: Vec<Value> = group.into_iter().map(Value::from).collect();
    section.insert("group-by".into(), Value::Sequence(group));
    section.insert("timespan".into(), timeframe.into());
    section.insert("condition".into(), Value::Mapping(condition));
    let mut corr = Mapping::new();
    for key in [
        "title",
        "level",
        "tags",
        "description",
        "references",
        "author",
    ] {
        if let Some(v) = doc.get(key) {
            corr.insert(key.into(), v.clone());
        }
    }
    corr.insert("id".into(), id.into());
    corr.insert("correlation".into(), Value::Mapping(section));
    let parsed = parse_correlation(&Value::Mapping(corr), origin, label)?;
    Ok((base_doc, parsed))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn aggregation_forms() {
        assert_eq!(
            parse(" count() by host > 50"),
            Ok((None, Some("host".into()), "gt", 50.0))
        );
        assert_eq!(
            parse("count(dst_port) by src_ip>=10"),
            Ok((Some("dst_port".into()), Some("src_ip".into()), "gte", 10.0))
        );
        assert_eq!(parse("count() > 5"), Ok((None, None, "gt", 5.0)));
        assert!(parse("max(x) > 5").is_err());
        assert!(parse("count() by x per y > 5").is_err());
        assert!(parse("count() by x > many").is_err());
    }
}
