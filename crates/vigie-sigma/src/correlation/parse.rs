//! Reading a correlation document (`correlation:` section) into a
//! [`CorrelationDoc`], before its rule references are resolved.

use serde_yaml::Value;
use vigie_core::{Level, RuleMeta};

/// The correlation types of the specification (v2.1), and `value_median`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    ValueMedian,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "event_count" => Kind::EventCount,
            "value_count" => Kind::ValueCount,
            "temporal" => Kind::Temporal,
            "temporal_ordered" => Kind::TemporalOrdered,
            "value_sum" => Kind::ValueSum,
            "value_avg" => Kind::ValueAvg,
            "value_percentile" => Kind::ValuePercentile,
            "value_median" => Kind::ValueMedian,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
            Kind::ValuePercentile => "value_percentile",
            Kind::ValueMedian => "value_median",
        }
    }

    /// Types that aggregate the values of `condition.field`.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            Kind::ValueCount
                | Kind::ValueSum
                | Kind::ValueAvg
                | Kind::ValuePercentile
                | Kind::ValueMedian
        )
    }

    /// Types whose field values must be numbers.
    pub fn numeric(self) -> bool {
        matches!(self, Kind::ValueSum | Kind::ValueAvg | Kind::ValueMedian)
    }
}

/// A comparison of the condition map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

/// The condition: every test must hold (the spec's "AND in the mapping").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Condition {
    pub tests: Vec<(Op, f64)>,
}

impl Condition {
    pub fn holds(&self, measure: f64) -> bool {
        self.tests.iter().all(|&(op, n)| match op {
            Op::Gt => measure > n,
            Op::Gte => measure >= n,
            Op::Lt => measure < n,
            Op::Lte => measure <= n,
            Op::Eq => measure == n,
            Op::Neq => measure != n,
        })
    }

    /// Whether the condition only has lower bounds: once it holds, more
    /// events in the window keep it holding, so it can be tested as each
    /// event arrives. Other conditions (an upper bound, `eq`, `neq`) are
    /// only meaningful on a window's final count.
    pub fn only_lower_bounds(&self) -> bool {
        self.tests
            .iter()
            .all(|(op, _)| matches!(op, Op::Gt | Op::Gte))
    }

    /// The condition written back, for evidence (`gte 10`).
    pub fn describe(&self) -> String {
        let ops: Vec<String> = self
            .tests
            .iter()
            .map(|(op, n)| {
                let op = match op {
                    Op::Gt => "gt",
                    Op::Gte => "gte",
                    Op::Lt => "lt",
                    Op::Lte => "lte",
                    Op::Eq => "eq",
                    Op::Neq => "neq",
                };
                format!("{op} {n}")
            })
            .collect();
        ops.join(" and ")
    }
}

/// A correlation rule as written.
#[derive(Clone, Debug)]
pub struct CorrelationDoc {
    pub meta: RuleMeta,
    pub name: Option<String>,
    pub kind: Kind,
    /// Referenced rules (ids or names), in order.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Window length in microseconds.
    pub timespan: i64,
    /// `None` for temporal types without a condition: all rules must occur.
    pub condition: Option<Condition>,
    /// `condition.field` (several: their values form one tuple).
    pub fields: Vec<String>,
    pub aliases: Aliases,
    pub generate: bool,
    /// Where it came from, with its title, for problems.
    pub label: String,
}

/// Parses a timespan (`30s`, `5m`, `1h`, `7d`, `2w`) to microseconds.
/// Months and years are refused: their length varies.
pub fn parse_timespan(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("timespan '{text}' is not a number followed by s, m, h, d or w");
    let unit = text.chars().last().ok_or_else(bad)?;
    let number: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' | 'y' => {
            return Err(format!(
                "timespan '{text}': months and years have no fixed length; use days"
            ))
        }
        _ => return Err(bad()),
    };
    if number <= 0 {
        return Err(format!("timespan '{text}' must be positive"));
    }
    number
        .checked_mul(seconds)
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(|| format!("timespan '{text}' is too long"))
}

fn text(doc: &Value, key: &str) -> Option<String> {
    match doc.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn list(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(format!("'{what}' holds something other than text")),
            })
            .collect(),
        Some(_) => Err(format!("'{what}' is not a list")),
    }
}

fn number(value: &Value, key: &str) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
    .ok_or_else(|| format!("condition '{key}' is not a number"))
}

fn parse_condition(value: Option<&Value>) -> Result<(Option<Condition>, Vec<String>), String> {
    let Some(value) = value else {
        return Ok((None, Vec::new()));
    };
    let map = value
        .as_mapping()
        .ok_or("'condition' is not a map of comparisons")?;
    let mut cond = Condition::default();
    let mut fields = Vec::new();
    for (key, value) in map {
        let key = key.as_str().ok_or("a condition key is not text")?;
        let op = match key {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "field" => {
                fields = list(Some(value), "condition.field")?;
                continue;
            }
            other => return Err(format!("unknown condition '{other}'")),
        };
        cond.tests.push((op, number(value, key)?));
    }
    if cond.tests.is_empty() {
        return Err("'condition' has no comparison (gt, gte, lt, lte, eq, neq)".into());
    }
    Ok((Some(cond), fields))
}

/// alias → (rule name or id → field name), in the order written.
pub type Aliases = Vec<(String, Vec<(String, String)>)>;

fn parse_aliases(value: Option<&Value>) -> Result<Aliases, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let map = value.as_mapping().ok_or("'aliases' is not a map")?;
    let mut out = Vec::new();
    for (alias, per_rule) in map {
        let alias = alias.as_str().ok_or("an alias name is not text")?;
        let per_rule = per_rule
            .as_mapping()
            .ok_or_else(|| format!("alias '{alias}' is not a map of rule → field"))?;
        let mut fields = Vec::new();
        for (rule, field) in per_rule {
            match (rule.as_str(), field.as_str()) {
                (Some(r), Some(f)) => fields.push((r.to_owned(), f.to_owned())),
                _ => return Err(format!("alias '{alias}' maps something other than text")),
            }
        }
        out.push((alias.to_owned(), fields));
    }
    Ok(out)
}

/// Parses a document with a `correlation` section. `label` names it in
/// problems (origin and title).
pub fn parse_correlation(doc: &Value, origin: &str, label: &str) -> Result<CorrelationDoc, String> {
    let title = text(doc, "title").ok_or("correlation has no title")?;
    let section = doc.get("correlation").ok_or("no 'correlation' section")?;
    if !section.is_mapping() {
        return Err("'correlation' is not a map".into());
    }
    let kind_text = text(section, "type").ok_or("correlation has no type")?;
    let kind = Kind::parse(kind_text.trim())
        .ok_or_else(|| format!("unknown correlation type '{kind_text}'"))?;
    let rules = list(section.get("rules"), "rules")?;
    if rules.is_empty() {
        return Err("correlation names no rules".into());
    }
    let group_by = list(section.get("group-by"), "group-by")?;
    let timespan = text(section, "timespan")
        .or_else(|| text(section, "timeframe"))
        .ok_or("correlation has no timespan")?;
    let timespan = parse_timespan(&timespan)?;
    let (condition, fields) = parse_condition(section.get("condition"))?;
    if condition.is_none() && !matches!(kind, Kind::Temporal | Kind::TemporalOrdered) {
        return Err(format!("{} correlation has no condition", kind.as_str()));
    }
    if kind.needs_field() && fields.is_empty() {
        return Err(format!(
            "{} correlation has no 'field' in its condition",
            kind.as_str()
        ));
    }
    if kind.numeric() && fields.len() > 1 {
        return Err(format!("{} takes one field", kind.as_str()));
    }
    let generate = match doc.get("generate").or_else(|| section.get("generate")) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("'generate' is not true or false".into()),
    };
    let level = match text(doc, "level") {
        Some(l) => l.parse::<Level>()?,
        None => Level::Informational,
    };
    let id = text(doc, "id").unwrap_or_else(|| format!("{origin}#{title}"));
    let meta = RuleMeta {
        id,
        title,
        level,
        tags: list(doc.get("tags"), "tags")
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect(),
        description: text(doc, "description").unwrap_or_default(),
        references: list(doc.get("references"), "references").unwrap_or_default(),
        author: text(doc, "author").unwrap_or_default(),
        origin: origin.to_owned(),
        internal: false,
    };
    Ok(CorrelationDoc {
        meta,
        name: text(doc, "name"),
        kind,
        rules,
        group_by,
        timespan,
        condition,
        fields,
        aliases: parse_aliases(section.get("aliases"))?,
        generate,
        label: label.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Ok(90 * 60 * 1_000_000));
        assert_eq!(parse_timespan("1d"), Ok(86_400_000_000));
        assert_eq!(parse_timespan("2w"), Ok(14 * 86_400_000_000));
        assert!(parse_timespan("1M").unwrap_err().contains("months"));
        assert!(parse_timespan("h").is_err());
        assert!(parse_timespan("0s").is_err());
        assert!(parse_timespan("5x").is_err());
        assert!(parse_timespan("").is_err());
        assert!(parse_timespan("1é").is_err());
    }

    #[test]
    fn ranges_and_bounds() {
        let c = Condition {
            tests: vec![(Op::Gt, 100.0), (Op::Lte, 200.0)],
        };
        assert!(!c.holds(100.0) && c.holds(101.0) && c.holds(200.0) && !c.holds(201.0));
        assert!(!c.only_lower_bounds());
    }
}
