//! The contract of stateful detectors (DESIGN.md step 3: "Stateful ones …
//! hold state per key"): Sigma correlation rules, baselines such as "first
//! AppId ever seen reading this mailbox", impossible travel, tokens that no
//! sign-in issued.
//!
//! A stateful detector works in two phases, so that the scan stays parallel
//! and the verdicts stay deterministic:
//!
//! 1. **observe** — during the scan, on any thread and in any order, the
//!    detector sees each event together with the alerts the stateless
//!    detectors raised on it, and keeps a small owned *fact* for the events
//!    it cares about (a sign-in's session id, a base-rule match with its
//!    group-by values). Facts are small: the scan itself holds no window.
//! 2. **replay** — after the scan, the facts of every input are handed back
//!    in event-time order (ties broken by input, record and the order they
//!    were kept), and the detector walks them with its keyed state, emitting
//!    alerts. Keys (tenant, user, session, group-by values) partition the
//!    state, which is what lets the same code run partitioned on a cluster.
//!
//! Memory is bounded by a cap on kept facts; facts beyond it are counted,
//! not kept, and the summary says so.

use std::sync::Mutex;

use crate::alert::Alert;
use crate::event::Event;
use crate::time::Timestamp;

/// One kept fact with the position of the event it came from.
#[derive(Debug, Clone)]
pub struct Stamped<F> {
    /// Event time (microseconds since the epoch); `None` sorts first.
    pub time: Option<Timestamp>,
    /// Input index of the event (as in [`Event::source`]).
    pub source: u32,
    /// Record number of the event within its input.
    pub record: u64,
    pub fact: F,
}

/// What a replay produced besides alerts: notes for the summary (caps hit,
/// coverage gaps such as "no sign-in logs before 2023-06-01").
#[derive(Debug, Default)]
pub struct Findings {
    /// Alerts with the input index of the event they point at (`None` when
    /// they span inputs, like a correlation over several files); the
    /// pipeline fills each alert's `file` from it.
    pub alerts: Vec<(Option<u32>, Alert)>,
    pub notes: Vec<String>,
}

impl Findings {
    /// Adds an alert about the event at `source`.
    pub fn alert(&mut self, source: Option<u32>, alert: Alert) {
        self.alerts.push((source, alert));
    }

    /// Adds a note for the summary.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// A detector that keeps keyed state across events.
pub trait StatefulDetector: Send + Sync {
    /// What it keeps of one event.
    type Fact: Send;

    /// A short name for summaries (`correlation`, `orphan-token`).
    fn name(&self) -> &str;

    /// Scan phase: called for every event, on any thread, in any order.
    /// `alerts` are the stateless detectors' alerts on this event,
    /// including those of rules marked [`crate::RuleMeta::internal`] (base
    /// rules of correlations that do not generate alerts of their own).
    fn observe(&self, event: &Event, alerts: &[Alert], keep: &mut dyn FnMut(Self::Fact));

    /// Replay phase: every kept fact, in event-time order. Alerts may leave
    /// `file` empty: the pipeline fills it from the source given with them.
    fn replay(&self, facts: Vec<Stamped<Self::Fact>>, out: &mut Findings);
}

/// A stateful detector with the facts it kept, behind one object-safe
/// interface so that the pipeline can hold detectors of different fact
/// types side by side.
pub trait StatefulRunner: Send + Sync {
    fn name(&self) -> &str;
    /// Scan phase; see [`StatefulDetector::observe`].
    fn observe(&self, event: &Event, alerts: &[Alert]);
    /// Replay phase: sorts the kept facts and replays them. Call once.
    fn finish(&self) -> Findings;
}

/// Default cap on facts kept per detector (a fact is typically under 200
/// bytes, so about 1 GB at worst; most detectors keep far fewer).
pub const DEFAULT_FACT_CAP: usize = 5_000_000;

/// Runs one [`StatefulDetector`], collecting its facts under a cap.
pub struct Collector<D: StatefulDetector> {
    detector: D,
    cap: usize,
    facts: Mutex<Kept<D::Fact>>,
}

struct Kept<F> {
    facts: Vec<(Stamped<F>, u64)>,
    dropped: u64,
    next: u64,
}

impl<D: StatefulDetector> Collector<D> {
    pub fn new(detector: D) -> Self {
        Self::with_cap(detector, DEFAULT_FACT_CAP)
    }

    pub fn with_cap(detector: D, cap: usize) -> Self {
        Collector {
            detector,
            cap,
            facts: Mutex::new(Kept {
                facts: Vec::new(),
                dropped: 0,
                next: 0,
            }),
        }
    }

    pub fn detector(&self) -> &D {
        &self.detector
    }
}

impl<D: StatefulDetector> StatefulRunner for Collector<D> {
    fn name(&self) -> &str {
        self.detector.name()
    }

    fn observe(&self, event: &Event, alerts: &[Alert]) {
        let mut found: Vec<D::Fact> = Vec::new();
        self.detector
            .observe(event, alerts, &mut |fact| found.push(fact));
        if found.is_empty() {
            return;
        }
        let Ok(mut kept) = self.facts.lock() else {
            return;
        };
        for fact in found {
            if kept.facts.len() >= self.cap {
                kept.dropped += 1;
                continue;
            }
            // Facts of one event keep their order through the sort.
            let seq = kept.next;
            kept.next += 1;
            let stamped = Stamped {
                time: event.timestamp,
                source: event.source,
                record: event.record,
                fact,
            };
            kept.facts.push((stamped, seq));
        }
    }

    fn finish(&self) -> Findings {
        let (mut facts, dropped) = match self.facts.lock() {
            Ok(mut kept) => (std::mem::take(&mut kept.facts), kept.dropped),
            Err(_) => (Vec::new(), 0),
        };
        // The arrival order (seq) differs between runs; within one event it
        // does not, so (time, source, record, seq-within-event) is stable.
        facts.sort_by_key(|(s, seq)| (s.time, s.source, s.record, *seq));
        let facts = facts.into_iter().map(|(s, _)| s).collect();
        let mut out = Findings::default();
        self.detector.replay(facts, &mut out);
        if dropped > 0 {
            out.notes.push(format!(
                "{}: {dropped} facts beyond the cap of {} were not kept; its results may be incomplete",
                self.detector.name(),
                self.cap
            ));
        }
        out
    }
}
