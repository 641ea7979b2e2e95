//! Sliding windows per (correlation, group key), walked in event-time order.
//!
//! Semantics (documented in the README):
//!
//! - A window spans `timespan` and includes both ends: an event exactly
//!   `timespan` after the first still counts (like a `maxspan` in EQL).
//! - Windows slide with the events, they are not buckets aligned to the
//!   epoch. Conditions with only lower bounds (`gt`, `gte`), and the
//!   averaging types (value_avg, value_median, value_percentile), are
//!   tested as each event arrives, over the window that ends with it: the
//!   alert comes at the earliest event that makes the condition true.
//!   Other conditions (`lt`, `lte`, `eq`, `neq`, ranges) need a window's
//!   final measure, so they are tested when a window closes: a window
//!   starts at a group's first event, closes once an event of the same
//!   group falls past its end (or at the end of the input), and the next
//!   window starts at the next event. Sliding such windows over every
//!   start would make "fewer than N" true of every group's last event.
//! - A window that fires is consumed: its events are dropped from the
//!   group, so one burst gives one alert and the next alert needs new
//!   events (as the pySigma backends' per-window results do).
//! - Expired entries are evicted when their group next sees an event; when
//!   the state cap is reached, every group is swept of expired entries, and
//!   entries beyond the cap are dropped and counted.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use vigie_core::{Findings, Timestamp};

use super::fire::fire;
use super::measure::measure;
use super::{CorrelationSet, FieldSrc, Kind};

/// One event (or inner correlation firing) in a window.
#[derive(Clone, Debug)]
pub struct Entry {
    pub time: Timestamp,
    /// Position of the member (rule) in the correlation's `rules`.
    pub member: u16,
    /// The `field` value (value_count, value_percentile).
    pub value: Option<Box<str>>,
    /// The `field` value as a number (value_sum, value_avg, value_median).
    pub number: f64,
    pub source: u32,
    pub record: u64,
    pub host: Option<String>,
    pub user: Option<String>,
}

pub type Key = Box<[Box<str>]>;

/// The replay state of every correlation.
pub struct Windows<'a> {
    pub set: &'a CorrelationSet,
    groups: FxHashMap<(u32, Key), VecDeque<Entry>>,
    held: usize,
    cap: usize,
    pub dropped: u64,
    /// Per correlation, entries without a usable `field` value.
    pub no_value: Vec<u64>,
    last_sweep: Option<Timestamp>,
    /// Firings of inner correlations waiting to feed their consumers.
    pending: VecDeque<(u32, Key, Entry)>,
}

impl<'a> Windows<'a> {
    pub fn new(set: &'a CorrelationSet, cap: usize) -> Self {
        Windows {
            set,
            groups: FxHashMap::default(),
            held: 0,
            cap: cap.max(1),
            dropped: 0,
            no_value: vec![0; set.list.len()],
            last_sweep: None,
            pending: VecDeque::new(),
        }
    }

    /// Adds an entry to its group's window and tests the condition; then
    /// feeds the firings of chained correlations, in order.
    pub fn add(&mut self, corr: u32, key: Key, entry: Entry, out: &mut Findings) {
        self.pending.push_back((corr, key, entry));
        while let Some((corr, key, entry)) = self.pending.pop_front() {
            self.add_one(corr, key, entry, out);
        }
    }

    fn add_one(&mut self, c: u32, key: Key, entry: Entry, out: &mut Findings) {
        let now = entry.time;
        let corr = &self.set.list[c as usize];
        let usable = match corr.kind {
            k if k.numeric() => entry.number.is_finite(),
            Kind::ValueCount | Kind::ValuePercentile => entry.value.is_some(),
            _ => true,
        };
        if !usable {
            self.no_value[c as usize] += 1;
            return;
        }
        if self.held >= self.cap {
            self.sweep(now, out);
            if self.held >= self.cap {
                self.dropped += 1;
                return;
            }
        }
        let corr = &self.set.list[c as usize];
        let span = corr.timespan;
        let group_key = (c, key);
        let mut group = self.groups.remove(&group_key).unwrap_or_default();
        if corr.on_arrival {
            self.held -= evict(&mut group, now.saturating_sub(span));
        } else {
            self.close(c, &group_key.1, &mut group, now, out);
        }
        // Chained firings may arrive slightly out of order: keep time order.
        let at = group
            .iter()
            .rposition(|e| e.time <= now)
            .map_or(0, |i| i + 1);
        group.insert(at, entry);
        self.held += 1;
        if corr.on_arrival {
            let m = measure(corr, group.iter());
            if corr.condition.holds(m) {
                let window: Vec<Entry> = group.drain(..).collect();
                self.held -= window.len();
                self.fire(c, &group_key.1, &window, m, out);
            }
        }
        if !group.is_empty() {
            self.groups.insert(group_key, group);
        }
    }

    /// Closes the windows of a group (tested on their final measure) that
    /// end before `now`.
    fn close(
        &mut self,
        c: u32,
        key: &Key,
        group: &mut VecDeque<Entry>,
        now: Timestamp,
        out: &mut Findings,
    ) {
        let corr = &self.set.list[c as usize];
        while let Some(front) = group.front() {
            let end = front.time.saturating_add(corr.timespan);
            if now <= end {
                break;
            }
            let n = group.iter().take_while(|e| e.time <= end).count();
            let m = measure(corr, group.iter().take(n));
            let window: Vec<Entry> = group.drain(..n).collect();
            self.held -= window.len();
            if corr.condition.holds(m) {
                self.fire(c, key, &window, m, out);
            }
        }
    }

    /// Drops expired entries of every group (closing windows as needed);
    /// at most once per instant, so a full state does not rescan per event.
    fn sweep(&mut self, now: Timestamp, out: &mut Findings) {
        if self.last_sweep.is_some_and(|t| t >= now) {
            return;
        }
        self.last_sweep = Some(now);
        let mut keys: Vec<(u32, Key)> = self.groups.keys().cloned().collect();
        // Sorted, so that closing windows fires in the same order each run.
        keys.sort_unstable();
        for key in keys {
            self.settle(key, now, out);
        }
    }

    /// Evicts or closes what `now` makes final in one group.
    fn settle(&mut self, key: (u32, Key), now: Timestamp, out: &mut Findings) {
        let Some(mut group) = self.groups.remove(&key) else {
            return;
        };
        let corr = &self.set.list[key.0 as usize];
        if corr.on_arrival {
            self.held -= evict(&mut group, now.saturating_sub(corr.timespan));
        } else {
            self.close(key.0, &key.1, &mut group, now, out);
        }
        if !group.is_empty() {
            self.groups.insert(key, group);
        }
    }

    /// End of input: every open window closes. Closing may feed chained
    /// correlations, whose windows then close in turn (a chain is at most
    /// as long as the set).
    pub fn finish(&mut self, out: &mut Findings) {
        for _ in 0..=self.set.list.len() {
            let mut keys: Vec<(u32, Key)> = self
                .groups
                .keys()
                .filter(|(c, _)| !self.set.list[*c as usize].on_arrival)
                .cloned()
                .collect();
            if keys.is_empty() && self.pending.is_empty() {
                break;
            }
            keys.sort_unstable();
            for key in keys {
                self.settle(key, Timestamp::MAX, out);
            }
            while let Some((corr, key, entry)) = self.pending.pop_front() {
                self.add_one(corr, key, entry, out);
            }
        }
    }

    fn fire(&mut self, c: u32, key: &Key, window: &[Entry], m: f64, out: &mut Findings) {
        let corr = &self.set.list[c as usize];
        let Some(last) = window.last() else {
            return;
        };
        if let Some(alert) = fire(corr, key, window, m) {
            out.alert(Some(last.source), alert);
        }
        // The firing is an event of the correlations it feeds.
        for &(outer, member) in &corr.consumers {
            let o = &self.set.list[outer as usize];
            let pick = |srcs: &[FieldSrc]| -> Option<Vec<Box<str>>> {
                srcs.iter()
                    .map(|s| match s {
                        FieldSrc::Group(i) => key.get(*i).cloned(),
                        FieldSrc::Event(_) => None,
                    })
                    .collect()
            };
            let Some(outer_key) = pick(&o.group_src[member as usize]) else {
                continue;
            };
            let value = pick(&o.value_src[member as usize]).map(|v| v.join("\u{1f}").into());
            let number = value
                .as_deref()
                .and_then(|v: &str| v.trim().parse().ok())
                .unwrap_or(f64::NAN);
            let entry = Entry {
                time: last.time,
                member,
                value: if o.fields.is_empty() { None } else { value },
                number,
                source: last.source,
                record: last.record,
                host: last.host.clone(),
                user: last.user.clone(),
            };
            self.pending
                .push_back((outer, outer_key.into_boxed_slice(), entry));
        }
    }
}

/// Drops entries older than `oldest`; returns how many.
fn evict(group: &mut VecDeque<Entry>, oldest: Timestamp) -> usize {
    let n = group.iter().take_while(|e| e.time < oldest).count();
    group.drain(..n);
    n
}
