//! MISP events in JSON: `{"Event": …}`, `{"response": [{"Event": …}]}`, an
//! array of either, or a bare event. Attributes marked `to_ids` (those the
//! producer meant for detection) load, from the event and from its
//! objects; the others are counted as skipped. `link` attributes become
//! the references of the event's indicators. An attribute of a type vigie
//! does not match is reported with its uuid.

use serde_json::Value;

use crate::indicator::{Atom, Indicator, IocType};
use crate::load::FeedCtx;
use crate::normalize::normalize;

pub fn looks_like_misp(doc: &Value) -> bool {
    match doc {
        Value::Object(map) => {
            map.contains_key("Event")
                || map.contains_key("response")
                || (map.contains_key("Attribute") && map.contains_key("info"))
        }
        Value::Array(items) => !items.is_empty() && items.iter().all(|i| i.get("Event").is_some()),
        _ => false,
    }
}

pub fn load(doc: &Value, ctx: &mut FeedCtx<'_>) {
    let mut events = Vec::new();
    collect_events(doc, &mut events, 0);
    for event in events {
        load_event(event, ctx);
    }
}

fn collect_events<'a>(doc: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 4 {
        return;
    }
    match doc {
        Value::Array(items) => items.iter().for_each(|i| collect_events(i, out, depth + 1)),
        Value::Object(map) => {
            if let Some(event) = map.get("Event") {
                out.push(event);
            } else if let Some(response) = map.get("response") {
                collect_events(response, out, depth + 1);
            } else if map.contains_key("Attribute") {
                out.push(doc);
            }
        }
        _ => {}
    }
}

fn tag_names(holder: &Value) -> Vec<Box<str>> {
    holder
        .get("Tag")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(Box::from)
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(holder: &'a Value, key: &str) -> Option<&'a str> {
    holder.get(key).and_then(Value::as_str)
}

/// MISP writes booleans as `true`, `1` or `"1"` depending on version.
fn flag(holder: &Value, key: &str) -> bool {
    match holder.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn load_event(event: &Value, ctx: &mut FeedCtx<'_>) {
    let event_id = text(event, "uuid").unwrap_or("event");
    let info = text(event, "info").unwrap_or("");
    let event_tags = tag_names(event);
    // threat_level_id: 1 high, 2 medium, 3 low, 4 undefined.
    let confidence = match event.get("threat_level_id").map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }) {
        Some(l) if l == "1" => Some(85),
        Some(l) if l == "2" => Some(50),
        Some(l) if l == "3" => Some(15),
        _ => None,
    };
    let mut attributes: Vec<(String, &Value)> = Vec::new();
    for (n, a) in event
        .get("Attribute")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        attributes.push((format!("{event_id}/Attribute[{n}]"), a));
    }
    for (o, object) in event
        .get("Object")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (n, a) in object
            .get("Attribute")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            attributes.push((format!("{event_id}/Object[{o}]/Attribute[{n}]"), a));
        }
    }
    let references: Vec<Box<str>> = attributes
        .iter()
        .filter(|(_, a)| text(a, "type") == Some("link"))
        .filter_map(|(_, a)| text(a, "value"))
        .map(Box::from)
        .collect();
    for (position, attribute) in attributes {
        if flag(attribute, "deleted") || text(attribute, "type") == Some("link") {
            continue;
        }
        if !flag(attribute, "to_ids") {
            ctx.report.skipped += 1;
            continue;
        }
        let id = text(attribute, "uuid").map_or(position, str::to_owned);
        match atoms(attribute) {
            Ok(any_of) => {
                let mut tags = event_tags.clone();
                tags.extend(tag_names(attribute));
                if let Some(category) = text(attribute, "category") {
                    tags.push(format!("misp.category:{category}").into());
                }
                let comment = text(attribute, "comment").filter(|c| !c.is_empty());
                let description = match comment {
                    Some(c) => format!("{info} ({c})"),
                    None => info.to_owned(),
                };
                ctx.push(Indicator {
                    id: id.into(),
                    any_of,
                    confidence,
                    description: description.into(),
                    tags,
                    references: references.clone(),
                    ..Default::default()
                });
            }
            Err(reason) => ctx.bad(id, reason),
        }
    }
}

/// The atoms of one attribute; composite types (`domain|ip`) match on
/// either part that vigie can see in logs.
fn atoms(attribute: &Value) -> Result<Vec<Vec<Atom>>, String> {
    let kind = text(attribute, "type").ok_or("attribute without a type")?;
    let value = text(attribute, "value").ok_or("attribute without a value")?;
    let parts: Vec<(Option<IocType>, &str)> = match kind.split_once('|') {
        Some((a, b)) => {
            let (va, vb) = value
                .split_once('|')
                .ok_or_else(|| format!("composite type '{kind}' but value has no '|'"))?;
            vec![(part_type(a, true), va), (part_type(b, true), vb)]
        }
        None => vec![(part_type(kind, false), value)],
    };
    let mut any_of = Vec::new();
    for (ty, v) in &parts {
        if let Some(ty) = ty {
            any_of.push(vec![normalize(*ty, v).map_err(|e| format!("{kind}: {e}"))?]);
        }
    }
    if any_of.is_empty() {
        return Err(format!("attribute type '{kind}' is not supported"));
    }
    Ok(any_of)
}

/// The vigie type of one part of a MISP attribute type; `None` for parts
/// that are not matched (`port`, the `filename` of `filename|md5`…).
fn part_type(kind: &str, composite: bool) -> Option<IocType> {
    Some(match kind {
        // Alone, a file name is the indicator; beside a hash it is noise.
        "filename" if !composite => IocType::FileName,
        "ip-src" | "ip-dst" | "ip" => IocType::Ip,
        "domain" | "hostname" => IocType::Domain,
        "url" => IocType::Url,
        "email" | "email-src" | "email-dst" | "target-email" | "email-reply-to" => IocType::Email,
        "md5" | "sha1" | "sha256" => IocType::Hash,
        "x509-fingerprint-sha1" | "x509-fingerprint-sha256" | "x509-fingerprint-md5" => {
            IocType::Thumbprint
        }
        "user-agent" => IocType::UserAgent,
        "target-user" | "github-username" => IocType::User,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::indicator::IocType;
    use crate::load::FeedSet;

    const EVENT: &str = r#"{"Event":{"uuid":"ev-1","info":"Phishing wave","threat_level_id":"1",
      "Tag":[{"name":"tlp:green"}],
      "Attribute":[
        {"uuid":"a-1","type":"ip-dst","value":"203.0.113.10","to_ids":true,"category":"Network activity"},
        {"uuid":"a-2","type":"domain","value":"evil.example","to_ids":false},
        {"uuid":"a-3","type":"mutex","value":"Global\\x","to_ids":true},
        {"uuid":"a-4","type":"link","value":"https://report.example/phish","to_ids":false},
        {"uuid":"a-5","type":"ip-dst|port","value":"198.51.100.4|443","to_ids":"1"},
        {"uuid":"a-6","type":"sha256","value":"xyz","to_ids":true},
        {"uuid":"a-7","type":"domain|ip","value":"c2.example|192.0.2.8","to_ids":1,"comment":"C2"}
      ],
      "Object":[{"name":"file","Attribute":[
        {"uuid":"o-1","type":"md5","value":"44d88612fea8a8f36de82e1278abb02f","to_ids":true},
        {"uuid":"o-2","type":"filename","value":"a.exe","to_ids":true}
      ]}]}}"#;

    #[test]
    fn to_ids_attributes_and_object_attributes_load() {
        let mut set = FeedSet::new();
        set.add_text("misp", "misp.json", EVENT);
        let ids: Vec<&str> = set.indicators.iter().map(|i| &*i.id).collect();
        assert_eq!(ids, vec!["a-1", "a-5", "a-7", "o-1", "o-2"]);
        assert_eq!(set.report.skipped, 1, "a-2 is not for detection");
        let first = &set.indicators[0];
        assert_eq!(first.confidence, Some(85));
        assert!(first.tags.iter().any(|t| &**t == "tlp:green"));
        assert_eq!(&*first.references[0], "https://report.example/phish");
        assert_eq!(
            set.indicators[2].any_of.len(),
            2,
            "domain|ip matches either"
        );
        assert_eq!(set.indicators[3].any_of[0][0].ty(), IocType::Hash);
        assert!(set.indicators[2].description.contains("C2"));
        let bad: Vec<(&str, &str)> = set
            .report
            .bad
            .iter()
            .map(|p| (p.at.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[0].0, "a-3");
        assert!(bad[0].1.contains("type 'mutex' is not supported"));
        assert_eq!(bad[1].0, "a-6");
        assert!(bad[1].1.contains("sha256"));
    }

    #[test]
    fn response_wrappers_and_arrays_of_events() {
        let wrapped = format!("{{\"response\":[{EVENT}]}}");
        let mut set = FeedSet::new();
        set.add_text("misp", "misp.json", &wrapped);
        assert_eq!(set.indicators.len(), 5);
        let array = format!("[{EVENT},{EVENT}]");
        let mut set = FeedSet::new();
        set.add_text("misp", "misp.json", &array);
        assert_eq!(set.indicators.len(), 10);
    }
}
