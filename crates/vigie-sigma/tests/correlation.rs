//! Sigma correlation rules: each type, window edges, group-by, chains,
//! aliases, `generate`, the state cap, legacy aggregations, load errors,
//! and the specification's own examples.

use std::path::PathBuf;
use std::sync::Arc;

use vigie_core::{
    parse_timestamp, Alert, Collector, Detector, Event, EventKind, Findings, Level, StatefulRunner,
    ValueKind,
};
use vigie_sigma::{CorrelationDetector, LoadReport, RuleSet, RuleSetBuilder, SigmaDetector};

/// Security-log base rules: failed (4625) and successful (4624) logons.
const BASE: &str = "
title: Failed logon
id: failed-id
name: failed_login
level: low
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Successful logon
id: success-id
name: successful_login
level: low
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4624
  condition: sel
";

fn load(files: &[&str]) -> (Arc<RuleSet>, LoadReport) {
    let mut b = RuleSetBuilder::new();
    for (i, text) in files.iter().enumerate() {
        b.add_yaml(&format!("file{i}.yml"), text);
    }
    let (set, report) = b.build();
    (Arc::new(set), report)
}

fn load_ok(files: &[&str]) -> Arc<RuleSet> {
    let (set, report) = load(files);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.unrouted.is_empty(), "{:?}", report.unrouted);
    set
}

/// A correlation document over the base rules.
fn corr(kind: &str, rules: &str, group: &str, span: &str, cond: &str) -> String {
    format!(
        "title: Corr {kind}\nid: corr-{kind}\nlevel: high\ncorrelation:\n  type: {kind}\n  rules: [{rules}]\n  group-by: [{group}]\n  timespan: {span}\n{cond}"
    )
}

/// One test event: (input, record, time, EventID, extra fields).
struct Ev<'a> {
    source: u32,
    time: Option<&'a str>,
    id: &'a str,
    fields: Vec<(&'a str, &'a str)>,
}

fn ev<'a>(time: &'a str, id: &'a str, fields: &[(&'a str, &'a str)]) -> Ev<'a> {
    Ev {
        source: 0,
        time: Some(time),
        id,
        fields: fields.to_vec(),
    }
}

fn at(minute: u32, second: u32) -> String {
    format!("2026-01-01T00:{minute:02}:{second:02}Z")
}

/// Scans the events (in the given order) with the Sigma detector and the
/// correlations; returns the visible stateless alerts and the findings.
fn run_with(
    set: &Arc<RuleSet>,
    events: &[Ev<'_>],
    min_level: Level,
    cap: usize,
) -> (Vec<Alert>, Findings) {
    let sigma = SigmaDetector {
        rules: set.clone(),
        min_level,
    };
    let correlations = set.correlations().expect("correlations loaded");
    let collector = Collector::new(CorrelationDetector::with_state_cap(correlations, cap));
    let mut visible = Vec::new();
    for (record, e) in events.iter().enumerate() {
        let mut event = Event::new(set.names());
        event.kind = EventKind::Windows;
        event.source = e.source;
        event.record = record as u64;
        event.timestamp = e.time.and_then(parse_timestamp);
        event.push("EventID", e.id, ValueKind::Num);
        event.push("Channel", "Security", ValueKind::Str);
        for (k, v) in &e.fields {
            event.push(k, v, ValueKind::Str);
        }
        let mut alerts = Vec::new();
        sigma.detect(&event, &mut |a| alerts.push(a));
        collector.observe(&event, &alerts);
        visible.extend(alerts.into_iter().filter(|a| !a.rule.internal));
    }
    let findings = collector.finish();
    (visible, findings)
}

fn run(set: &Arc<RuleSet>, events: &[Ev<'_>]) -> Findings {
    run_with(set, events, Level::Informational, 1_000_000).1
}

fn evidence<'a>(alert: &'a Alert, key: &str) -> &'a str {
    alert
        .evidence
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no evidence '{key}' in {:?}", alert.evidence))
}

fn failed<'a>(time: &'a str, user: &'a str) -> Ev<'a> {
    ev(time, "4625", &[("TargetUserName", user)])
}

const GTE3: &str = "  condition:\n    gte: 3\n";

#[test]
fn event_count_fires_per_group_with_evidence() {
    let c = corr("event_count", "failed_login", "TargetUserName", "10m", GTE3);
    let set = load_ok(&[BASE, &c]);
    let (t0, t1, t2) = (at(0, 0), at(1, 0), at(2, 0));
    let found = run(
        &set,
        &[
            failed(&t0, "alice"),
            failed(&t0, "bob"),
            failed(&t1, "alice"),
            failed(&t1, "bob"),
            failed(&t2, "alice"),
        ],
    );
    assert_eq!(found.alerts.len(), 1, "{:?}", found.alerts);
    let (source, a) = &found.alerts[0];
    assert_eq!(*source, Some(0));
    assert_eq!(a.rule.id, "corr-event_count");
    assert_eq!(a.rule.level, Level::High);
    assert_eq!(
        a.record, 4,
        "the alert points at the event that completed it"
    );
    assert_eq!(a.timestamp, parse_timestamp(&t2));
    assert_eq!(evidence(a, "TargetUserName"), "alice");
    assert_eq!(evidence(a, "count"), "3");
    assert_eq!(evidence(a, "window_start"), "2026-01-01T00:00:00.000000Z");
    assert_eq!(evidence(a, "window_end"), "2026-01-01T00:02:00.000000Z");
    assert_eq!(evidence(a, "rules"), "failed-id");
}

#[test]
fn window_includes_an_event_exactly_timespan_after_the_first() {
    let c = corr("event_count", "failed_login", "TargetUserName", "10m", GTE3);
    let set = load_ok(&[BASE, &c]);
    let (t0, t5, t10, t10s) = (at(0, 0), at(5, 0), at(10, 0), at(10, 1));
    let on_edge = run(
        &set,
        &[failed(&t0, "a"), failed(&t5, "a"), failed(&t10, "a")],
    );
    assert_eq!(on_edge.alerts.len(), 1);
    let past_edge = run(
        &set,
        &[failed(&t0, "a"), failed(&t5, "a"), failed(&t10s, "a")],
    );
    assert!(past_edge.alerts.is_empty());
}

#[test]
fn windows_slide_instead_of_epoch_buckets() {
    // 00:09, 00:11, 00:12 straddle the 00:10 bucket boundary.
    let c = corr("event_count", "failed_login", "TargetUserName", "10m", GTE3);
    let set = load_ok(&[BASE, &c]);
    let t = [at(9, 0), at(11, 0), at(12, 0)];
    let found = run(
        &set,
        &[failed(&t[0], "a"), failed(&t[1], "a"), failed(&t[2], "a")],
    );
    assert_eq!(found.alerts.len(), 1);
}

#[test]
fn a_firing_window_is_consumed() {
    let c = corr("event_count", "failed_login", "TargetUserName", "1h", GTE3);
    let set = load_ok(&[BASE, &c]);
    let times: Vec<String> = (0..7).map(|m| at(m, 0)).collect();
    let events: Vec<Ev> = times.iter().map(|t| failed(t, "a")).collect();
    // 7 events: fires at the 3rd and the 6th; the 7th starts a new window.
    let found = run(&set, &events);
    let records: Vec<u64> = found.alerts.iter().map(|(_, a)| a.record).collect();
    assert_eq!(records, vec![2, 5]);
}

#[test]
fn events_missing_a_group_by_field_are_not_counted() {
    let c = corr("event_count", "failed_login", "TargetUserName", "10m", GTE3);
    let set = load_ok(&[BASE, &c]);
    let t = at(0, 0);
    let found = run(
        &set,
        &[
            failed(&t, "a"),
            failed(&t, "a"),
            ev(&t, "4625", &[]),
            ev(&t, "4625", &[("Other", "x")]),
        ],
    );
    assert!(found.alerts.is_empty());
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.contains("2 base-rule matches lacked a group-by field")),
        "{:?}",
        found.notes
    );
}

#[test]
fn out_of_order_input_across_two_files_is_replayed_in_time_order() {
    let c = corr(
        "temporal_ordered",
        "failed_login, successful_login",
        "TargetUserName",
        "5m",
        "",
    );
    let set = load_ok(&[BASE, &c]);
    let (t0, t1) = (at(0, 0), at(1, 0));
    // File 1 (the success) is scanned before file 0 (the failure).
    let mut success = ev(&t1, "4624", &[("TargetUserName", "a")]);
    success.source = 1;
    let found = run(&set, &[success, failed(&t0, "a")]);
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(found.alerts[0].0, Some(1));
}

#[test]
fn value_count_counts_distinct_values() {
    let cond = "  condition:\n    field: IpAddress\n    gte: 3\n";
    let c = corr("value_count", "failed_login", "TargetUserName", "10m", cond);
    let set = load_ok(&[BASE, &c]);
    let t = at(0, 0);
    let ip = |v| ev(&t, "4625", &[("TargetUserName", "a"), ("IpAddress", v)]);
    let two = run(&set, &[ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.1")]);
    assert!(two.alerts.is_empty());
    let three = run(
        &set,
        &[
            ip("10.0.0.1"),
            ip("10.0.0.2"),
            ip("10.0.0.1"),
            ip("10.0.0.3"),
        ],
    );
    assert_eq!(three.alerts.len(), 1);
    let a = &three.alerts[0].1;
    assert_eq!(evidence(a, "distinct_values"), "3");
    assert_eq!(evidence(a, "values"), "10.0.0.1, 10.0.0.2, 10.0.0.3");
}

#[test]
fn temporal_needs_every_rule_in_any_order() {
    let c = corr(
        "temporal",
        "failed_login, successful_login",
        "TargetUserName",
        "5m",
        "",
    );
    let set = load_ok(&[BASE, &c]);
    let (t0, t3, t9) = (at(0, 0), at(3, 0), at(9, 0));
    let ok = ev(&t0, "4624", &[("TargetUserName", "a")]);
    let found = run(&set, &[ok, failed(&t3, "a")]);
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(
        evidence(&found.alerts[0].1, "rules"),
        "failed-id, success-id"
    );
    let late = ev(&t9, "4624", &[("TargetUserName", "a")]);
    assert!(run(&set, &[failed(&t0, "a"), late]).alerts.is_empty());
    let other_user = ev(&t3, "4624", &[("TargetUserName", "b")]);
    assert!(run(&set, &[failed(&t0, "a"), other_user]).alerts.is_empty());
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let c = corr(
        "temporal_ordered",
        "failed_login, successful_login",
        "TargetUserName",
        "5m",
        "",
    );
    let set = load_ok(&[BASE, &c]);
    let (t0, t1) = (at(0, 0), at(1, 0));
    let ok = |t| ev(t, "4624", &[("TargetUserName", "a")]);
    assert_eq!(run(&set, &[failed(&t0, "a"), ok(&t1)]).alerts.len(), 1);
    assert!(run(&set, &[ok(&t0), failed(&t1, "a")]).alerts.is_empty());
}

fn bytes_events<'a>(t: &'a str, values: &[&'a str]) -> Vec<Ev<'a>> {
    values
        .iter()
        .map(|v| ev(t, "4625", &[("TargetUserName", "a"), ("Bytes", v)]))
        .collect()
}

#[test]
fn value_sum_avg_and_median() {
    let t = at(0, 0);
    let sum = corr(
        "value_sum",
        "failed_login",
        "TargetUserName",
        "1h",
        "  condition:\n    field: Bytes\n    gt: 1000\n",
    );
    let set = load_ok(&[BASE, &sum]);
    assert!(run(&set, &bytes_events(&t, &["400", "600"]))
        .alerts
        .is_empty());
    let found = run(&set, &bytes_events(&t, &["400", "600", "1"]));
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(evidence(&found.alerts[0].1, "sum"), "1001");

    let avg = corr(
        "value_avg",
        "failed_login",
        "TargetUserName",
        "1h",
        "  condition:\n    field: Bytes\n    gt: 500\n",
    );
    let set = load_ok(&[BASE, &avg]);
    assert!(run(&set, &bytes_events(&t, &["100", "900"]))
        .alerts
        .is_empty());
    let found = run(&set, &bytes_events(&t, &["100", "900", "600"]));
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(evidence(&found.alerts[0].1, "average"), "533.333");
    // A value that is not a number is skipped and noted.
    let found = run(&set, &bytes_events(&t, &["lots", "700"]));
    assert_eq!(found.alerts.len(), 1);
    assert!(found
        .notes
        .iter()
        .any(|n| n.contains("no usable value of 'Bytes'")));

    let median = corr(
        "value_median",
        "failed_login",
        "TargetUserName",
        "1h",
        "  condition:\n    field: Bytes\n    gte: 50\n",
    );
    let set = load_ok(&[BASE, &median]);
    // Medians: 10, 10, 50 (10, 50, 90 sorted).
    let found = run(&set, &bytes_events(&t, &["10", "10", "90", "90"]));
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(found.alerts[0].1.record, 3);
}

#[test]
fn value_percentile_flags_a_rare_value() {
    let cond = "  condition:\n    field: Image\n    lte: 10\n";
    let c = corr(
        "value_percentile",
        "failed_login",
        "TargetUserName",
        "1d",
        cond,
    );
    let set = load_ok(&[BASE, &c]);
    let t = at(0, 0);
    let mut events: Vec<Ev> = (0..10)
        .map(|_| {
            ev(
                &t,
                "4625",
                &[("TargetUserName", "h"), ("Image", "svchost.exe")],
            )
        })
        .collect();
    events.push(ev(
        &t,
        "4625",
        &[("TargetUserName", "h"), ("Image", "evil.exe")],
    ));
    let found = run(&set, &events);
    assert_eq!(found.alerts.len(), 1);
    let a = &found.alerts[0].1;
    assert_eq!(a.record, 10);
    assert_eq!(evidence(a, "percent_of_window"), "9.091");
}

#[test]
fn upper_bound_conditions_are_tested_when_the_window_closes() {
    let cond = "  condition:\n    lt: 3\n";
    let c = corr("event_count", "failed_login", "TargetUserName", "10m", cond);
    let set = load_ok(&[BASE, &c]);
    let times: Vec<String> = (0..5).map(|m| at(m, 0)).collect();
    let mut events: Vec<Ev> = times.iter().map(|t| failed(t, "busy")).collect();
    events.push(failed(&times[0], "rare"));
    events.push(failed(&times[1], "rare"));
    let found = run(&set, &events);
    assert_eq!(found.alerts.len(), 1, "{:?}", found.alerts);
    let a = &found.alerts[0].1;
    assert_eq!(evidence(a, "TargetUserName"), "rare");
    assert_eq!(evidence(a, "count"), "2");
    // A range: more than 1 and at most 2.
    let range = "  condition:\n    gt: 1\n    lte: 2\n";
    let c = corr(
        "event_count",
        "failed_login",
        "TargetUserName",
        "10m",
        range,
    );
    let set = load_ok(&[BASE, &c]);
    let found = run(&set, &events);
    let users: Vec<&str> = found
        .alerts
        .iter()
        .map(|(_, a)| evidence(a, "TargetUserName"))
        .collect();
    assert_eq!(users, vec!["rare"]);
}

/// The specification's chained example, from its own text when present.
const SPEC_CHAIN: &str = "
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
";

fn check_chain(text: &str) {
    let set = load_ok(&[text]);
    let ten: Vec<String> = (0..10).map(|s| at(1, s)).collect();
    let mut events: Vec<Ev> = ten
        .iter()
        .map(|t| ev(t, "4625", &[("User", "victim")]))
        .collect();
    let t = at(5, 0);
    events.push(ev(&t, "4624", &[("User", "victim")]));
    let (visible, found) = run_with(&set, &events, Level::Informational, 1000);
    // generate defaults to false: the base rules and the inner correlation
    // raise nothing of their own.
    assert!(visible.is_empty(), "{visible:?}");
    let out: Vec<&Alert> = found
        .alerts
        .iter()
        .map(|(_, a)| a)
        .filter(|a| !a.rule.internal)
        .collect();
    assert_eq!(out.len(), 1, "{:?}", found.alerts);
    assert_eq!(out[0].rule.id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(evidence(out[0], "User"), "victim");
    assert_eq!(out[0].record, 10);
    assert!(found
        .alerts
        .iter()
        .any(|(_, a)| a.rule.internal && a.rule.id == "a8418a5a-5fc4-46b5-b23b-6c73beb19d41"));
    // Nine failures are not enough.
    let short: Vec<Ev> = events.into_iter().skip(1).collect();
    let (_, found) = run_with(&set, &short, Level::Informational, 1000);
    assert!(
        found.alerts.iter().all(|(_, a)| a.rule.internal),
        "{:?}",
        found.alerts
    );
}

#[test]
fn chained_correlations_spec_example() {
    check_chain(SPEC_CHAIN);
}

fn spec_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/sigma-spec");
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found at {}", dir.display());
        None
    }
}

#[test]
fn conformance_chain_example_from_the_specification_text() {
    let Some(dir) = spec_dir() else { return };
    let text =
        std::fs::read_to_string(dir.join("specification/sigma-correlation-rules-specification.md"))
            .unwrap();
    let start = text
        .find("```yml\ntitle: Correlation - Multiple Failed")
        .expect("the example")
        + 7;
    let end = start + text[start..].find("```").expect("end of example");
    check_chain(&text[start..end]);
}

#[test]
fn conformance_schema_examples_load() {
    let Some(dir) = spec_dir() else { return };
    // Stubs for the rules the examples refer to (by id and by name).
    let stubs: String = [
        "5638f7c0-ac70-491d-8465-2a65075e0d86",
        "recon_cmd_a",
        "recon_cmd_b",
        "recon_cmd_c",
        "rule_a_id",
        "process_creation",
        "website_access",
    ]
    .iter()
    .map(|r| format!("title: {r}\nid: {r}\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n---\n"))
    .collect();
    let mut b = RuleSetBuilder::new();
    b.add_yaml("stubs.yml", &stubs);
    let folder = dir.join("schema-examples/correlation");
    let mut n = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        b.add_yaml(
            &path.display().to_string(),
            &std::fs::read_to_string(&path).unwrap(),
        );
        n += 1;
    }
    let (_, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Two examples share an id: the second is a duplicate.
    assert_eq!(report.correlations + report.duplicates.len(), n);
    assert!(report.correlations >= 7);
}

#[test]
fn aliases_spec_example() {
    let rules = "
title: Internal error
id: internal-error
name: internal_error
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 500
  condition: sel
---
title: New connection
id: new-connection
name: new_network_connection
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 3
  condition: sel
";
    let c = "
title: Error then connection back
id: alias-corr
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
";
    let set = load_ok(&[rules, c]);
    let t0 = at(0, 0);
    let t5 = at(0, 5);
    let err = ev(
        &t0,
        "500",
        &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
    );
    let conn = ev(
        &t5,
        "3",
        &[("source.ip", "10.0.0.5"), ("destination.ip", "203.0.113.9")],
    );
    let found = run(&set, &[err, conn]);
    assert_eq!(found.alerts.len(), 1);
    let a = &found.alerts[0].1;
    assert_eq!(evidence(a, "internal_ip"), "10.0.0.5");
    assert_eq!(evidence(a, "remote_ip"), "203.0.113.9");
    // The same fields without the swap do not correlate.
    let err = ev(
        &t0,
        "500",
        &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
    );
    let conn = ev(
        &t5,
        "3",
        &[("destination.ip", "10.0.0.5"), ("source.ip", "203.0.113.9")],
    );
    assert!(run(&set, &[err, conn]).alerts.is_empty());
}

#[test]
fn generate_true_keeps_base_rule_alerts() {
    let t = at(0, 0);
    let events = [failed(&t, "a")];
    let quiet = corr("event_count", "failed_login", "TargetUserName", "10m", GTE3);
    let set = load_ok(&[BASE, &quiet]);
    let (visible, _) = run_with(&set, &events, Level::Informational, 100);
    assert!(visible.is_empty());
    let loud = format!("{quiet}generate: true\n");
    let set = load_ok(&[BASE, &loud]);
    let (visible, _) = run_with(&set, &events, Level::Informational, 100);
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].rule.id, "failed-id");
}

#[test]
fn base_rules_under_min_level_still_feed_correlations() {
    let c = format!(
        "{}generate: true\n",
        corr("event_count", "failed_login", "TargetUserName", "10m", GTE3)
    );
    let set = load_ok(&[BASE, &c]);
    let t = at(0, 0);
    let events = [failed(&t, "a"), failed(&t, "a"), failed(&t, "a")];
    let (visible, found) = run_with(&set, &events, Level::High, 100);
    assert!(
        visible.is_empty(),
        "low base rules stay under --min-level high"
    );
    assert_eq!(found.alerts.len(), 1);
    assert!(!found.alerts[0].1.rule.internal);
}

#[test]
fn the_state_cap_drops_and_reports() {
    let c = corr("event_count", "failed_login", "TargetUserName", "1h", GTE3);
    let set = load_ok(&[BASE, &c]);
    let t = at(0, 0);
    let events = [
        failed(&t, "a"),
        failed(&t, "b"),
        failed(&t, "c"),
        failed(&t, "a"),
        failed(&t, "a"),
    ];
    let (_, found) = run_with(&set, &events, Level::Informational, 2);
    assert!(found.alerts.is_empty());
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.contains("3 window entries beyond the state cap of 2")),
        "{:?}",
        found.notes
    );
    // Expired entries are swept to make room.
    let later = at(59, 59);
    let (t2, t3) = ("2026-01-01T02:00:00Z", "2026-01-01T02:00:01Z");
    let events = [
        failed(&t, "a"),
        failed(&later, "b"),
        failed(t2, "c"),
        failed(t3, "c"),
        failed(t3, "c"),
    ];
    let (_, found) = run_with(&set, &events, Level::Informational, 3);
    assert_eq!(found.alerts.len(), 1, "{:?}", found.notes);
}

#[test]
fn events_without_time_are_noted() {
    let c = corr("event_count", "failed_login", "TargetUserName", "1h", GTE3);
    let set = load_ok(&[BASE, &c]);
    let mut e = failed("", "a");
    e.time = None;
    let found = run(&set, &[e]);
    assert!(found
        .notes
        .iter()
        .any(|n| n.contains("1 base-rule matches had no timestamp")));
}

#[test]
fn references_across_files_by_id_and_name() {
    let by_id = corr(
        "temporal",
        "failed-id, successful_login",
        "TargetUserName",
        "5m",
        "",
    );
    let set = load_ok(&[&by_id, BASE]);
    let t = at(0, 0);
    let found = run(
        &set,
        &[failed(&t, "a"), ev(&t, "4624", &[("TargetUserName", "a")])],
    );
    assert_eq!(found.alerts.len(), 1);
}

#[test]
fn legacy_count_aggregation_runs_as_event_count() {
    let rule = "
title: Legacy brute force
id: legacy-id
level: medium
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  timeframe: 10m
  condition: sel | count() by TargetUserName > 2
";
    let set = load_ok(&[rule]);
    let t = at(0, 0);
    let (visible, found) = run_with(
        &set,
        &[failed(&t, "a"), failed(&t, "a"), failed(&t, "a")],
        Level::Informational,
        100,
    );
    assert!(visible.is_empty());
    assert_eq!(found.alerts.len(), 1);
    assert_eq!(found.alerts[0].1.rule.id, "legacy-id");
    let (_, report) = load(&[
        "
title: Legacy per
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  timeframe: 10m
  condition: sel | count() by a per b > 2
",
        "
title: Legacy without timeframe
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel | count() > 2
",
    ]);
    assert_eq!(report.errors.len(), 2);
    assert!(report
        .errors
        .iter()
        .all(|e| e.reason.contains("aggregation")));
    assert!(report.errors[1].reason.contains("no timeframe"));
}

#[test]
fn load_errors_name_the_rule_and_reason() {
    let unknown = corr("event_count", "no_such_rule", "x", "1h", GTE3);
    let bad_span = corr("event_count", "failed_login", "x", "1y", GTE3);
    let no_field = corr("value_count", "failed_login", "x", "1h", GTE3);
    let no_cond = corr("event_count", "failed_login", "x", "1h", "");
    let cycle = "
title: Cycle A
id: cyc-a
name: cyc_a
correlation: {type: event_count, rules: [cyc_b], group-by: [x], timespan: 1h, condition: {gte: 2}}
---
title: Cycle B
id: cyc-b
name: cyc_b
correlation: {type: event_count, rules: [cyc_a], group-by: [x], timespan: 1h, condition: {gte: 2}}
---
title: Over the cycle
id: over
correlation: {type: event_count, rules: [cyc_a], group-by: [x], timespan: 1h, condition: {gte: 2}}
";
    let bad_group = "
title: Chain with a missing field
id: chain-missing
correlation: {type: event_count, rules: [inner], group-by: [Host], timespan: 1h, condition: {gte: 2}}
---
title: Inner
id: inner-id
name: inner
correlation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 1h, condition: {gte: 2}}
";
    let unroutable = "
title: Elsewhere
id: elsewhere
logsource: {product: windows, service: nosuchservice}
detection: {sel: {a: 1}, condition: sel}
---
title: Over elsewhere
id: over-elsewhere
correlation: {type: event_count, rules: [elsewhere], group-by: [x], timespan: 1h, condition: {gte: 2}}
";
    let files = [
        BASE,
        unknown.as_str(),
        bad_span.as_str(),
        no_field.as_str(),
        no_cond.as_str(),
        cycle,
        bad_group,
        unroutable,
    ];
    let (set, report) = load(&files);
    let reason = |origin: &str| -> String {
        report
            .errors
            .iter()
            .find(|p| p.origin.starts_with(origin))
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| panic!("no error for {origin}: {:?}", report.errors))
    };
    assert!(reason("file1.yml").contains("unknown rule 'no_such_rule'"));
    assert!(reason("file2.yml").contains("timespan '1y'"));
    assert!(reason("file3.yml").contains("no 'field'"));
    assert!(reason("file4.yml").contains("no condition"));
    assert!(reason("file5.yml: Cycle A").contains("cycle"));
    assert!(reason("file5.yml (document 2): Cycle B").contains("cycle"));
    assert!(reason("file5.yml (document 3): Over the cycle").contains("did not load"));
    assert!(reason("file6.yml: Chain").contains("'Host' is not a group-by field"));
    assert!(report
        .unrouted
        .iter()
        .any(|p| p.origin.contains("Over elsewhere") && p.reason.contains("does not map")));
    // The inner correlation of file6 loads on its own.
    assert_eq!(report.correlations, 1);
    assert_eq!(set.correlations().map(|c| c.len()), Some(1));
}
