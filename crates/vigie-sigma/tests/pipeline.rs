//! Processing pipelines: each supported transformation changes matching as
//! pySigma documents it, shown by a rule that misses a hand-made event
//! without the pipeline and matches it with it.

mod common;

use common::sysmon_event as sysmon;
use vigie_core::{Event, EventKind, LogSource, ValueKind};
use vigie_sigma::{LoadReport, RuleSet, RuleSetBuilder};

const PROC: &str = "logsource:\n  product: windows\n  category: process_creation\n";
const GENERIC: &str = "logsource:\n  product: acme\n  service: edr\n";

/// Builds a set from pipelines (in the order given) and one rule.
fn build(pipelines: &[&str], rule: &str) -> (RuleSet, LoadReport) {
    let mut b = RuleSetBuilder::new();
    for (n, p) in pipelines.iter().enumerate() {
        b.add_pipeline_yaml(&format!("p{n}.yml"), p)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    b.add_yaml("rule.yml", &format!("title: t\nid: r1\n{rule}"));
    b.build()
}

fn generic(set: &RuleSet, fields: &[(&str, &str)]) -> Event {
    let mut ev = Event::new(set.names());
    ev.kind = EventKind::Generic;
    ev.logsource = LogSource {
        product: Some("acme"),
        category: None,
        service: Some("edr"),
    };
    for (k, v) in fields {
        ev.push(k, v, ValueKind::Str);
    }
    ev
}

fn hits(set: &RuleSet, ev: &Event) -> bool {
    let mut out = Vec::new();
    set.matches(ev, &mut out);
    !out.is_empty()
}

/// Whether the rule matches the generic event with and without pipelines.
fn with_without(pipelines: &[&str], rule: &str, fields: &[(&str, &str)]) -> (bool, bool) {
    let (with, report) = build(pipelines, rule);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (without, _) = build(&[], rule);
    (
        hits(&with, &generic(&with, fields)),
        hits(&without, &generic(&without, fields)),
    )
}

#[test]
fn field_name_mapping_one_to_one_and_one_to_many() {
    let p = "name: m\ntransformations:\n  - id: map\n    type: field_name_mapping\n    mapping:\n      CommandLine: cmd\n      Image: [exe, path]\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    CommandLine|contains: evil\n    Image|endswith: x.exe\n  condition: sel\n");
    assert_eq!(
        with_without(&[p], &rule, &[("cmd", "run evil"), ("exe", "c:\\x.exe")]),
        (true, false)
    );
    // The second alternative of the one-to-many mapping.
    assert_eq!(
        with_without(&[p], &rule, &[("cmd", "run evil"), ("path", "c:\\x.exe")]),
        (true, false)
    );
    // Still an AND with the other item.
    assert_eq!(
        with_without(&[p], &rule, &[("cmd", "run good"), ("path", "c:\\x.exe")]),
        (false, false)
    );
}

#[test]
fn prefix_suffix_and_prefix_mapping() {
    let prefix = "transformations:\n  - type: field_name_prefix\n    prefix: 'data.'\n";
    let suffix = "transformations:\n  - type: field_name_suffix\n    suffix: '.keyword'\n";
    let pmap = "transformations:\n  - type: field_name_prefix_mapping\n    mapping:\n      Target: 'obj.target_'\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    TargetName: abc\n  condition: sel\n");
    assert_eq!(
        with_without(&[prefix], &rule, &[("data.TargetName", "abc")]),
        (true, false)
    );
    assert_eq!(
        with_without(&[suffix], &rule, &[("TargetName.keyword", "abc")]),
        (true, false)
    );
    assert_eq!(
        with_without(&[pmap], &rule, &[("obj.target_Name", "abc")]),
        (true, false)
    );
}

#[test]
fn field_name_conditions_include_exclude_and_applied() {
    // Prefix every field the mapping did not rename, as pySigma's own
    // example pipeline does.
    let p = "transformations:\n  - id: map\n    type: field_name_mapping\n    mapping:\n      EventID: event.code\n  - type: field_name_prefix\n    prefix: 'win.'\n    field_name_cond_not: true\n    field_name_conditions:\n      - type: processing_item_applied\n        processing_item_id: map\n  - type: field_name_suffix\n    suffix: '_x'\n    field_name_conditions:\n      - type: include_fields\n        fields: [win.Other]\n";
    let rule = format!(
        "{GENERIC}detection:\n  sel:\n    EventID: 4\n    Name: n\n    Other: o\n  condition: sel\n"
    );
    assert_eq!(
        with_without(
            &[p],
            &rule,
            &[("event.code", "4"), ("win.Name", "n"), ("win.Other_x", "o")]
        ),
        (true, false)
    );
    let exclude = "transformations:\n  - type: field_name_prefix\n    prefix: 'win.'\n    field_name_conditions:\n      - type: exclude_fields\n        fields: [Name]\n";
    assert_eq!(
        with_without(
            &[exclude],
            &rule,
            &[("win.EventID", "4"), ("Name", "n"), ("win.Other", "o")]
        ),
        (true, false)
    );
}

#[test]
fn rule_conditions_select_rules_by_logsource() {
    let p = "transformations:\n  - type: field_name_mapping\n    mapping:\n      CommandLine: cmd\n    rule_conditions:\n      - type: logsource\n        product: acme\n        service: other\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    CommandLine: x\n  condition: sel\n");
    // The rule is acme/edr: the mapping is for acme/other only.
    assert_eq!(with_without(&[p], &rule, &[("cmd", "x")]), (false, false));
    assert_eq!(
        with_without(&[p], &rule, &[("CommandLine", "x")]),
        (true, true)
    );
    // `or`: one of the conditions suffices.
    let or = "transformations:\n  - type: field_name_mapping\n    mapping:\n      CommandLine: cmd\n    rule_cond_op: or\n    rule_conditions:\n      - {type: logsource, service: other}\n      - {type: logsource, product: acme}\n";
    assert_eq!(with_without(&[or], &rule, &[("cmd", "x")]), (true, false));
    // Negated.
    let not = "transformations:\n  - type: field_name_mapping\n    mapping:\n      CommandLine: cmd\n    rule_cond_not: true\n    rule_conditions:\n      - {type: logsource, product: acme}\n";
    assert_eq!(with_without(&[not], &rule, &[("cmd", "x")]), (false, false));
}

#[test]
fn add_condition_is_anded_and_skipped_by_them() {
    let p = "transformations:\n  - id: only-prod\n    type: add_condition\n    conditions:\n      env: prod\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    Name: n\n  condition: all of them\n");
    assert_eq!(
        with_without(&[p], &rule, &[("Name", "n"), ("env", "prod")]),
        (true, true)
    );
    assert_eq!(
        with_without(&[p], &rule, &[("Name", "n"), ("env", "test")]),
        (false, true)
    );
    let negated = "transformations:\n  - type: add_condition\n    negated: true\n    conditions:\n      env: test\n";
    assert_eq!(
        with_without(&[negated], &rule, &[("Name", "n"), ("env", "test")]),
        (false, true)
    );
}

#[test]
fn change_logsource_reroutes_the_rule() {
    let p = "transformations:\n  - type: change_logsource\n    product: acme\n    service: edr\n    rule_conditions:\n      - {type: logsource, product: windows, category: process_creation}\n";
    let rule = format!("{PROC}detection:\n  sel:\n    CommandLine: x\n  condition: sel\n");
    let (set, report) = build(&[p], &rule);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(hits(&set, &generic(&set, &[("CommandLine", "x")])));
    assert!(!hits(&set, &sysmon(&set, &[("CommandLine", "x")])));
    let (plain, _) = build(&[], &rule);
    assert!(hits(&plain, &sysmon(&plain, &[("CommandLine", "x")])));
    assert!(!hits(&plain, &generic(&plain, &[("CommandLine", "x")])));
}

#[test]
fn value_and_wildcard_placeholders() {
    let p = "vars:\n  admins: [alice, 'bob%']\ntransformations:\n  - type: value_placeholders\n    include: [admins]\n";
    let rule =
        format!("{GENERIC}detection:\n  sel:\n    User|expand: '%admins%'\n  condition: sel\n");
    let (set, report) = build(&[p], &rule);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.needs_placeholders.is_empty());
    assert!(hits(&set, &generic(&set, &[("User", "alice")])));
    assert!(hits(&set, &generic(&set, &[("User", "bob%")])));
    assert!(!hits(&set, &generic(&set, &[("User", "carol")])));
    // Without the pipeline the rule needs --placeholders.
    let (_, report) = build(&[], &rule);
    assert_eq!(report.needs_placeholders.len(), 1);
    let w = "transformations:\n  - type: wildcard_placeholders\n";
    let (set, report) = build(&[w], &rule);
    assert!(report.errors.is_empty() && report.needs_placeholders.is_empty());
    assert!(hits(&set, &generic(&set, &[("User", "carol")])));
}

#[test]
fn replace_string_and_drop_detection_item() {
    let p = "transformations:\n  - type: replace_string\n    regex: '^\\*\\\\(.*)$'\n    replacement: '\\1'\n    field_name_conditions:\n      - {type: include_fields, fields: [Image]}\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    Image: '*\\cmd.exe'\n  condition: sel\n");
    assert_eq!(
        with_without(&[p], &rule, &[("Image", "cmd.exe")]),
        (true, false)
    );
    let drop = "transformations:\n  - type: drop_detection_item\n    field_name_conditions:\n      - {type: include_fields, fields: [Hashes]}\n";
    let rule =
        format!("{GENERIC}detection:\n  sel:\n    Image: a\n    Hashes: h\n  condition: sel\n");
    assert_eq!(
        with_without(&[drop], &rule, &[("Image", "a")]),
        (true, false)
    );
}

#[test]
fn failures_are_reported_per_rule() {
    let p = "transformations:\n  - type: rule_failure\n    message: no such log here\n    rule_conditions:\n      - {type: logsource, product: acme}\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    a: b\n  condition: sel\n");
    let (set, report) = build(&[p], &rule);
    assert_eq!(set.len(), 0);
    assert!(report.errors[0].reason.contains("no such log here"));
    let item = "transformations:\n  - type: detection_item_failure\n    message: Hashes not logged\n    field_name_conditions:\n      - {type: include_fields, fields: [Hashes]}\n";
    let (_, report) = build(&[item], &rule);
    assert!(report.errors.is_empty());
    let rule = format!("{GENERIC}detection:\n  sel:\n    Hashes: b\n  condition: sel\n");
    let (_, report) = build(&[item], &rule);
    assert!(report.errors[0].reason.contains("Hashes not logged"));
}

#[test]
fn priority_orders_pipelines() {
    // Given first but of higher priority: applies after the rename.
    let late = "priority: 50\ntransformations:\n  - type: field_name_prefix\n    prefix: 'x.'\n";
    let early =
        "priority: 10\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      A: b\n";
    let rule = format!("{GENERIC}detection:\n  sel:\n    A: v\n  condition: sel\n");
    assert_eq!(
        with_without(&[late, early], &rule, &[("x.b", "v")]),
        (true, false)
    );
    assert_eq!(
        with_without(&[late, early], &rule, &[("b", "v")]),
        (false, false)
    );
}

#[test]
fn unsupported_parts_refuse_the_pipeline() {
    let mut b = RuleSetBuilder::new();
    for (text, says) in [
        ("transformations:\n  - type: map_string\n    mapping: {a: b}\n", "map_string"),
        (
            "transformations:\n  - type: field_name_prefix\n    prefix: x\n    detection_item_conditions:\n      - {type: match_string, pattern: a}\n",
            "detection_item_conditions",
        ),
        (
            "transformations:\n  - type: field_name_prefix\n    prefix: x\n    rule_conditions:\n      - {type: rule_attribute, attribute: level, value: high}\n",
            "rule_attribute",
        ),
        ("postprocessing:\n  - type: embed\n", "postprocessing"),
        ("transformations: 3\n", "not a list"),
    ] {
        let err = b.add_pipeline_yaml("bad.yml", text).unwrap_err();
        assert!(err.contains(says) && err.contains("bad.yml"), "{err}");
    }
}

#[test]
fn filters_go_through_pipelines_too() {
    let p = "transformations:\n  - type: field_name_mapping\n    mapping:\n      User: user.name\n";
    let mut b = RuleSetBuilder::new();
    b.add_pipeline_yaml("p.yml", p).unwrap();
    b.add_yaml(
        "r.yml",
        &format!("title: t\nid: r1\n{GENERIC}detection:\n  sel:\n    Name: n\n  condition: sel\n"),
    );
    b.add_yaml(
        "f.yml",
        &format!(
            "title: f\n{GENERIC}filter:\n  rules: [r1]\n  sel:\n    User: svc\n  condition: sel\n"
        ),
    );
    let (set, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(hits(
        &set,
        &generic(&set, &[("Name", "n"), ("user.name", "bob")])
    ));
    assert!(!hits(
        &set,
        &generic(&set, &[("Name", "n"), ("user.name", "svc")])
    ));
}

/// Winlogbeat JSON flattened as vigie reads it.
fn winlogbeat(set: &RuleSet, eid: &str, fields: &[(&str, &str)]) -> Event {
    let mut ev = Event::new(set.names());
    ev.kind = EventKind::Generic;
    ev.push(
        "winlog.channel",
        "Microsoft-Windows-Sysmon/Operational",
        ValueKind::Str,
    );
    ev.push("winlog.event_id", eid, ValueKind::Num);
    for (k, v) in fields {
        ev.push(k, v, ValueKind::Str);
    }
    ev
}

#[test]
fn builtin_winlogbeat_and_ecs_pipelines() {
    let rule = format!(
        "{PROC}detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n    IntegrityLevel: System\n  condition: sel\n"
    );
    for (name, image) in [
        ("winlogbeat", "winlog.event_data.Image"),
        ("windows-ecs", "process.executable"),
    ] {
        let text = vigie_sigma::pipeline::builtin(name).unwrap();
        let (set, report) = build(&[text], &rule);
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert_eq!(set.len(), 1, "{name}: {:?}", report.unrouted);
        let fields = [
            (image, "C:\\Windows\\System32\\whoami.exe"),
            ("winlog.event_data.IntegrityLevel", "System"),
        ];
        assert!(hits(&set, &winlogbeat(&set, "1", &fields)), "{name}");
        // Another EventID of the channel is not process creation.
        assert!(!hits(&set, &winlogbeat(&set, "3", &fields)), "{name}");
    }
    // Windows rules of a logsource the pipeline does not cover are refused.
    let odd = "logsource:\n  product: windows\n  category: no_such_category\ndetection:\n  sel:\n    a: b\n  condition: sel\n";
    let (_, report) = build(
        &[vigie_sigma::pipeline::builtin("winlogbeat").unwrap()],
        odd,
    );
    assert!(
        report.errors[0].reason.contains("no Windows channel"),
        "{:?}",
        report.errors
    );
    // Service rules: EventID is renamed, the channel tested.
    let sec = "logsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1102\n  condition: sel\n";
    let (set, _) = build(
        &[vigie_sigma::pipeline::builtin("winlogbeat").unwrap()],
        sec,
    );
    let mut ev = Event::new(set.names());
    ev.kind = EventKind::Generic;
    ev.push("winlog.channel", "Security", ValueKind::Str);
    ev.push("winlog.event_id", "1102", ValueKind::Num);
    assert!(hits(&set, &ev));
}

#[test]
fn field_references_in_values_are_renamed_too() {
    let p = "transformations:\n  - type: field_name_prefix\n    prefix: 'e.'\n";
    let rule =
        format!("{GENERIC}detection:\n  sel:\n    Sender|fieldref: Recipient\n  condition: sel\n");
    assert_eq!(
        with_without(&[p], &rule, &[("e.Sender", "a@x"), ("e.Recipient", "a@x")]),
        (true, false)
    );
    assert_eq!(
        with_without(&[p], &rule, &[("e.Sender", "a@x"), ("e.Recipient", "b@x")]),
        (false, false)
    );
}
