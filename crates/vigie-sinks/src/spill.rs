//! A sorted timeline larger than memory.
//!
//! Detections arrive in any order from every thread; outputs want them in
//! time order ([`Alert::sort_key`]). An [`AlertStore`] keeps them in memory
//! up to a byte budget; past it, the buffer is sorted and written to a run
//! file on disk (JSON lines, in a temporary folder removed afterwards), and
//! reading merges the runs with what is still in memory. Memory therefore
//! stays near the budget whatever the number of detections, and the output
//! is the same bytes as a fully in-memory sort (ties keep arrival order:
//! earlier runs first, what is still in memory last).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use vigie_core::{Alert, Level, RuleMeta, Timestamp};

/// Default memory budget for held detections.
pub const DEFAULT_ALERT_BUDGET: usize = 96 << 20;

/// Counts kept as detections arrive (the summary needs them before the
/// timeline is read back).
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub total: u64,
    /// Per level, indexed like [`Level::ALL`].
    pub by_level: [u64; 5],
    /// Per rule: the rule and its count.
    by_rule: FxHashMap<usize, (Arc<RuleMeta>, u64)>,
}

impl Tally {
    fn add(&mut self, alert: &Alert) {
        self.total += 1;
        let level = Level::ALL
            .iter()
            .position(|l| *l == alert.rule.level)
            .unwrap_or(0);
        self.by_level[level] += 1;
        let key = Arc::as_ptr(&alert.rule) as usize;
        self.by_rule
            .entry(key)
            .or_insert_with(|| (alert.rule.clone(), 0))
            .1 += 1;
    }

    /// Rules with their counts, most frequent first (ties: more severe,
    /// then by title and id, so the order is fixed).
    pub fn rules(&self) -> Vec<(Arc<RuleMeta>, u64)> {
        // Rules that are equal in what is shown are merged (one rule object
        // per loaded rule, but detectors may build equal ones).
        let mut merged: FxHashMap<(String, String, Level), (Arc<RuleMeta>, u64)> =
            FxHashMap::default();
        for (rule, n) in self.by_rule.values() {
            merged
                .entry((rule.title.clone(), rule.id.clone(), rule.level))
                .or_insert_with(|| (rule.clone(), 0))
                .1 += n;
        }
        let mut list: Vec<_> = merged.into_values().collect();
        list.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.0.level.cmp(&a.0.level))
                .then(a.0.title.cmp(&b.0.title))
                .then(a.0.id.cmp(&b.0.id))
        });
        list
    }
}

/// Detections of a run, held in memory up to a budget and spilled to
/// sorted runs on disk beyond it. Safe to fill from many threads.
pub struct AlertStore {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    buffer: Vec<Alert>,
    bytes: usize,
    runs: Vec<File>,
    dir: Option<tempfile::TempDir>,
    rules: Rules,
    tally: Tally,
    /// The first spill failure: detections are never dropped silently.
    error: Option<String>,
}

/// Rules by identity, so that a run file names each rule by a number.
#[derive(Default)]
struct Rules {
    list: Vec<Arc<RuleMeta>>,
    by_ptr: FxHashMap<usize, u32>,
}

impl Rules {
    fn number(&mut self, rule: &Arc<RuleMeta>) -> u32 {
        let key = Arc::as_ptr(rule) as usize;
        if let Some(n) = self.by_ptr.get(&key) {
            return *n;
        }
        let n = self.list.len() as u32;
        self.list.push(rule.clone());
        self.by_ptr.insert(key, n);
        n
    }
}

/// One alert as a run file holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    rule: u32,
    timestamp: Option<Timestamp>,
    file: String,
    record: u64,
    host: Option<String>,
    user: Option<String>,
    channel: Option<String>,
    event_id: Option<String>,
    evidence: Vec<(String, String)>,
    event: Box<serde_json::value::RawValue>,
}

impl AlertStore {
    /// A store that holds about `budget` bytes of detections in memory.
    pub fn new(budget: usize) -> AlertStore {
        AlertStore {
            budget: budget.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Takes every alert of `alerts` (leaving it empty).
    pub fn append(&self, alerts: &mut Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        for alert in alerts.iter() {
            inner.tally.add(alert);
            inner.bytes += approx_size(alert);
        }
        inner.buffer.append(alerts);
        if inner.bytes > self.budget {
            if let Err(e) = inner.spill() {
                // Keep everything in memory rather than lose detections.
                inner
                    .error
                    .get_or_insert(format!("cannot spill detections to disk: {e}"));
                inner.bytes = 0;
            }
        }
    }

    /// What arrived so far, counted.
    pub fn tally(&self) -> Tally {
        self.inner
            .lock()
            .map(|i| i.tally.clone())
            .unwrap_or_default()
    }

    /// Every detection in time order.
    pub fn into_sorted(self) -> Sorted {
        let mut inner = self.inner.into_inner().unwrap_or_default();
        inner.buffer.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let mut heap = BinaryHeap::new();
        let mut readers = Vec::new();
        let mut error = inner.error.take();
        for (n, run) in inner.runs.into_iter().enumerate() {
            let mut reader = RunReader {
                lines: BufReader::new(run),
                line: String::new(),
            };
            match reader.next_alert(&inner.rules.list) {
                Ok(Some(alert)) => heap.push(Head { alert, run: n }),
                Ok(None) => {}
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
            readers.push(reader);
        }
        let mut memory = std::mem::take(&mut inner.buffer).into_iter();
        if let Some(alert) = memory.next() {
            heap.push(Head { alert, run: MEMORY });
        }
        Sorted {
            heap,
            memory,
            readers,
            rules: inner.rules.list,
            error,
            _dir: inner.dir,
        }
    }
}

impl Inner {
    fn spill(&mut self) -> io::Result<()> {
        if self.dir.is_none() {
            self.dir = Some(
                tempfile::Builder::new()
                    .prefix("vigie-timeline-")
                    .tempdir()?,
            );
        }
        let dir = self
            .dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        self.buffer.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let path = dir.join(format!("run-{:05}.jsonl", self.runs.len()));
        let mut out = BufWriter::new(File::create(&path)?);
        for alert in self.buffer.drain(..) {
            let stored = Stored {
                rule: self.rules.number(&alert.rule),
                timestamp: alert.timestamp,
                file: alert.file.to_string(),
                record: alert.record,
                host: alert.host,
                user: alert.user,
                channel: alert.channel,
                event_id: alert.event_id,
                evidence: alert.evidence,
                event: alert.event,
            };
            serde_json::to_writer(&mut out, &stored)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        self.runs.push(File::open(&path)?);
        self.bytes = 0;
        Ok(())
    }
}

struct RunReader {
    lines: BufReader<File>,
    line: String,
}

impl RunReader {
    fn next_alert(&mut self, rules: &[Arc<RuleMeta>]) -> Result<Option<Alert>, String> {
        self.line.clear();
        let n = self
            .lines
            .read_line(&mut self.line)
            .map_err(|e| format!("cannot read back spilled detections: {e}"))?;
        if n == 0 {
            return Ok(None);
        }
        let stored: Stored = serde_json::from_str(&self.line)
            .map_err(|e| format!("spilled detections are damaged: {e}"))?;
        let rule = rules
            .get(stored.rule as usize)
            .cloned()
            .ok_or("spilled detections name an unknown rule")?;
        Ok(Some(Alert {
            rule,
            timestamp: stored.timestamp,
            file: Arc::from(stored.file),
            record: stored.record,
            host: stored.host,
            user: stored.user,
            channel: stored.channel,
            event_id: stored.event_id,
            evidence: stored.evidence,
            event: stored.event,
        }))
    }
}

/// The source number of what is still in memory (after every run).
const MEMORY: usize = usize::MAX;

/// The next alert of one source (a run's number, or [`MEMORY`]), ordered
/// so that the heap's top is the smallest sort key.
struct Head {
    alert: Alert,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other
            .alert
            .sort_key()
            .cmp(&self.alert.sort_key())
            .then(other.run.cmp(&self.run))
    }
}

/// Detections in time order, merged from memory and the runs on disk.
pub struct Sorted {
    heap: BinaryHeap<Head>,
    memory: std::vec::IntoIter<Alert>,
    readers: Vec<RunReader>,
    rules: Vec<Arc<RuleMeta>>,
    error: Option<String>,
    /// Removed (with the runs) when the timeline has been read.
    _dir: Option<tempfile::TempDir>,
}

impl Sorted {
    /// The first problem met spilling or reading back, if any. Check it
    /// after iterating: an error means detections may be missing.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

impl Iterator for Sorted {
    type Item = Alert;

    fn next(&mut self) -> Option<Alert> {
        let Head { alert, run } = self.heap.pop()?;
        let next = if run == MEMORY {
            self.memory.next()
        } else {
            match self.readers.get_mut(run).map(|r| r.next_alert(&self.rules)) {
                Some(Ok(next)) => next,
                Some(Err(e)) => {
                    self.error.get_or_insert(e);
                    None
                }
                None => None,
            }
        };
        if let Some(next) = next {
            self.heap.push(Head { alert: next, run });
        }
        Some(alert)
    }
}

/// About how many bytes an alert holds (strings, evidence and the event's
/// JSON text, with the allocator's overhead).
fn approx_size(alert: &Alert) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() + 24);
    let evidence: usize = alert
        .evidence
        .iter()
        .map(|(k, v)| k.len() + v.len() + 64)
        .sum();
    std::mem::size_of::<Alert>()
        + opt(&alert.host)
        + opt(&alert.user)
        + opt(&alert.channel)
        + opt(&alert.event_id)
        + evidence
        + alert.event.get().len()
        + 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert;

    fn timed(id: &str, ts: i64, record: u64) -> Alert {
        let mut a = alert(id, &format!("rule {id}"));
        a.timestamp = Some(ts);
        a.record = record;
        a.event = vigie_core::raw_json(&serde_json::json!({ "n": record, "pad": "x".repeat(200) }));
        a
    }

    fn keys(alerts: impl Iterator<Item = Alert>) -> Vec<(i64, u64, String)> {
        alerts
            .map(|a| (a.timestamp.unwrap_or(0), a.record, a.rule.id.clone()))
            .collect()
    }

    /// The same alerts, arriving in a scrambled order in small batches,
    /// read back in the same order whether they all fit in memory or were
    /// spilled to many runs.
    #[test]
    fn spilled_runs_merge_into_the_in_memory_order() {
        let mut all = Vec::new();
        for i in 0..500u64 {
            // A deterministic scramble of times, with ties.
            let ts = ((i * 7919) % 97) as i64;
            all.push(timed(if i % 3 == 0 { "a" } else { "b" }, ts, i));
        }
        let fill = |store: &AlertStore| {
            for chunk in all.chunks(7) {
                let mut batch = chunk.to_vec();
                store.append(&mut batch);
                assert!(batch.is_empty());
            }
        };
        let in_memory = AlertStore::new(usize::MAX);
        fill(&in_memory);
        let spilled = AlertStore::new(4096);
        fill(&spilled);
        assert_eq!(spilled.tally().total, 500);
        let runs = spilled.inner.lock().map(|i| i.runs.len()).unwrap_or(0);
        assert!(runs > 10, "a small budget spills many runs: {runs}");
        let expected = keys(in_memory.into_sorted());
        let sorted = spilled.into_sorted();
        assert!(sorted.error().is_none());
        let got = keys(sorted);
        assert_eq!(got.len(), 500);
        assert_eq!(got, expected);
        let mut check = got.clone();
        check.sort_by_key(|k| k.0);
        assert_eq!(
            got.iter().map(|k| k.0).collect::<Vec<_>>(),
            check.iter().map(|k| k.0).collect::<Vec<_>>()
        );
    }

    #[test]
    fn tally_counts_levels_and_rules() {
        let store = AlertStore::new(usize::MAX);
        let mut batch = vec![timed("a", 1, 1), timed("a", 2, 2), timed("b", 3, 3)];
        store.append(&mut batch);
        let tally = store.tally();
        assert_eq!(tally.total, 3);
        let rules = tally.rules();
        assert_eq!(rules[0].1, 2);
        assert_eq!(rules[0].0.id, "a");
    }
}
