//! Criterion benchmark of the Sigma matcher: the SigmaHQ rules from
//! `../shared/data/sigma/rules` against the Windows JSON-lines events from
//! `../shared/data/jsonl`. Without that data (a fresh clone) it measures
//! nothing and says so.
//!
//! `cargo bench -p vigie-sigma --bench matcher`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use serde_json::Value;
use vigie_core::{Event, EventKind, ValueKind};
use vigie_sigma::{RuleSet, RuleSetBuilder};

/// Enough events to cover many logsources and keep the slow variant short.
const MAX_EVENTS: usize = 5_000;

type Record = Vec<(String, String, ValueKind)>;

fn build(rules: &Path, indexed: bool) -> RuleSet {
    let mut b = RuleSetBuilder::new();
    if !indexed {
        b = b.without_index();
    }
    b.add_path(rules);
    b.build().0
}

/// The first `MAX_EVENTS` JSON objects, in a stable file order so that runs
/// compare. Unreadable files and lines that are not objects are skipped.
fn read_records(dir: &Path) -> Vec<Record> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for p in entries.flatten().map(|e| e.path()) {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            let Ok(Value::Object(map)) = serde_json::from_str(line) else {
                continue;
            };
            // Same typing as the hunt's JSON reader: strings as text,
            // everything else (numbers mostly) by its JSON spelling.
            let record = map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s, ValueKind::Str),
                    other => (k, other.to_string(), ValueKind::Num),
                })
                .collect();
            records.push(record);
            if records.len() == MAX_EVENTS {
                return records;
            }
        }
    }
    records
}

/// Events carry field ids of one rule set's names, so each set gets its own.
fn events_for(set: &RuleSet, records: &[Record]) -> Vec<Event> {
    records
        .iter()
        .map(|r| {
            let mut ev = Event::new(set.names());
            ev.kind = EventKind::Windows;
            for (k, v, kind) in r {
                ev.push(k, v, *kind);
            }
            ev
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let (rules, jsonl): (PathBuf, PathBuf) = (data.join("sigma/rules"), data.join("jsonl"));
    if !rules.is_dir() || !jsonl.is_dir() {
        eprintln!(
            "matcher bench skipped: no shared data at {}",
            data.display()
        );
        return;
    }
    let mut b = RuleSetBuilder::new();
    b.add_path(&rules);
    let (indexed, report) = b.build();
    let every = build(&rules, false);
    let records = read_records(&jsonl);
    if records.is_empty() || indexed.is_empty() {
        eprintln!(
            "matcher bench skipped: {} rules, {} events",
            indexed.len(),
            records.len()
        );
        return;
    }
    let (fast_events, slow_events) = (events_for(&indexed, &records), events_for(&every, &records));
    // A bench that matches nothing would measure only the routing.
    let mut out = Vec::new();
    let hits: usize = fast_events
        .iter()
        .map(|ev| {
            out.clear();
            indexed.matches(ev, &mut out);
            out.len()
        })
        .sum();
    eprintln!(
        "{} rule files, {} rules loaded; {} events, {hits} matches",
        report.files,
        report.loaded,
        records.len()
    );

    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(records.len() as u64));
    for (name, set, events) in [
        ("indexed", &indexed, &fast_events),
        ("without_index", &every, &slow_events),
    ] {
        // The unindexed pass is several times slower: fewer samples of equal
        // length (flat) keep the whole bench under a minute.
        if name == "indexed" {
            g.sample_size(30);
        } else {
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        g.measurement_time(Duration::from_secs(8));
        g.bench_function(name, |bench| {
            bench.iter(|| {
                for ev in events.iter() {
                    out.clear();
                    set.matches(ev, &mut out);
                }
                out.len()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("load");
    // Close to a second an iteration: ten flat samples of one or two.
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("sigmahq", |bench| bench.iter(|| build(&rules, true)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
