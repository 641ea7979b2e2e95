//! The end-of-run summary written to standard error.

use std::io::Write;
use std::time::Duration;

use vigie_core::{Alert, Level};
use vigie_sigma::LoadReport;
use vigie_sinks::strip_control;
use vigie_sources::{Diagnostic, FileStats, Severity};

pub struct Summary<'a> {
    pub files: usize,
    pub events: u64,
    pub bytes: u64,
    pub rules_loaded: usize,
    pub rule_report: &'a LoadReport,
    pub rules_time: Duration,
    pub scan_time: Duration,
    /// Every detection, counted.
    pub tally: &'a vigie_sinks::Tally,
    /// The keyed detectors' alerts (the blast-radius lines come from them).
    pub keyed_alerts: &'a [Alert],
    pub diagnostics: &'a [Diagnostic],
    /// What keyed detectors want the reader to know (caps hit, coverage).
    pub notes: &'a [String],
    pub stats: &'a [FileStats],
    /// Rule evaluation counts (`--stats`).
    pub eval_stats: Option<vigie_sigma::EvalStats>,
}

impl Summary<'_> {
    pub fn print(&self, out: &mut dyn Write) {
        let _ = self.write(out);
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let secs = self.scan_time.as_secs_f64().max(1e-9);
        writeln!(out, "── vigie hunt summary ──")?;
        writeln!(
            out,
            "rules:      {} loaded in {:.2}s ({} failed to compile, {} unroutable, {} waiting for placeholder values, {} duplicate)",
            self.rules_loaded,
            self.rules_time.as_secs_f64(),
            self.rule_report.errors.len(),
            self.rule_report.unrouted.len(),
            self.rule_report.needs_placeholders.len(),
            self.rule_report.duplicates.len()
        )?;
        let read = self.stats.iter().filter(|s| s.format.is_some()).count();
        writeln!(
            out,
            "files:      {} found, {} read ({:.1} MB)",
            self.files,
            read,
            self.bytes as f64 / 1e6
        )?;
        writeln!(
            out,
            "events:     {} in {:.2}s ({:.0} events/s)",
            self.events,
            secs,
            self.events as f64 / secs
        )?;
        let duplicates: u64 = self.stats.iter().map(|s| s.duplicates).sum();
        if duplicates > 0 {
            writeln!(
                out,
                "duplicates: {duplicates} cloud records dropped (same record id as an earlier one)"
            )?;
        }
        let evtx: u64 = self
            .stats
            .iter()
            .filter(|s| s.format == Some(vigie_sources::Format::Evtx))
            .map(|s| s.events)
            .sum();
        if self.eval_stats.is_some() && evtx > 0 {
            let binxml: u64 = self.stats.iter().map(|s| s.binxml_records).sum();
            writeln!(
                out,
                "evtx:       {binxml} of {evtx} records read from their BinXML, the rest through the evtx crate's JSON"
            )?;
        }
        if let Some(es) = &self.eval_stats {
            let per_event = es.evaluations as f64 / (self.events.max(1) as f64);
            writeln!(
                out,
                "evaluated:  {:.2} rules per event in full ({:.3}% of the {} loaded)",
                per_event,
                per_event * 100.0 / self.rules_loaded.max(1) as f64,
                self.rules_loaded
            )?;
            for (n, title, origin) in &es.top {
                writeln!(
                    out,
                    "  {n:>9}  {} ({})",
                    strip_control(title),
                    strip_control(origin)
                )?;
            }
        }
        let levels: Vec<String> = Level::ALL
            .iter()
            .enumerate()
            .rev()
            .map(|(i, l)| format!("{} {}", l, self.tally.by_level[i]))
            .collect();
        writeln!(
            out,
            "detections: {} ({})",
            self.tally.total,
            levels.join(", ")
        )?;
        let top = self.tally.rules();
        if !top.is_empty() {
            writeln!(out, "top rules:")?;
            for (rule, n) in top.iter().take(10) {
                let (title, id, level) = (&rule.title, &rule.id, rule.level);
                writeln!(
                    out,
                    "  {n:>7}  {:<13} {} ({})",
                    level.as_str(),
                    strip_control(title),
                    strip_control(id)
                )?;
            }
        }
        if !self.notes.is_empty() {
            writeln!(out, "notes:")?;
            for note in self.notes {
                writeln!(out, "  {}", strip_control(note))?;
            }
        }
        let blast = vigie_identity::summary_lines(self.keyed_alerts);
        if !blast.is_empty() {
            writeln!(out, "blast radius (details: vigie report blast-radius):")?;
            for line in blast {
                writeln!(out, "  {}", strip_control(&line))?;
            }
        }
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| matches!(d.severity, Severity::Error))
            .count();
        if !self.diagnostics.is_empty() {
            writeln!(
                out,
                "problems:   {} errors, {} warnings",
                errors,
                self.diagnostics.len() - errors
            )?;
            for d in self.diagnostics {
                let kind = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let record = d.record.map(|r| format!(" record {r}")).unwrap_or_default();
                writeln!(
                    out,
                    "  {kind}: {}{record}: {}",
                    strip_control(&d.path),
                    strip_control(&d.reason)
                )?;
            }
        }
        Ok(())
    }
}
