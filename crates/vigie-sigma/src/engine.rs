//! The rule set: loading, routing and matching.

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::Deserialize;
use vigie_core::{Event, FieldNames, RuleMeta};

use crate::correlation::{
    parse_correlation, resolve, split_aggregation, CorrelationDoc, CorrelationSet,
};

use crate::compile::{Cx, Placeholders};
use crate::index::IndexScratch;
use crate::logsource::{LogsourceMap, RouteMemo, Router};
use crate::matcher::Ctx;
use crate::rule::{compile_filter, compile_rule, CompiledFilter, CompiledRule};

/// A rule that could not be used, and why.
#[derive(Clone, Debug)]
pub struct RuleProblem {
    /// File path (or `builtin:NAME`), with the rule title when known.
    pub origin: String,
    pub reason: String,
}

/// What loading rules found.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Rules compiled and routed.
    pub loaded: usize,
    /// Rules that did not compile.
    pub errors: Vec<RuleProblem>,
    /// Rules that compiled but whose logsource maps to no log vigie reads.
    pub unrouted: Vec<RuleProblem>,
    /// Rules skipped because a rule with the same id was loaded first.
    pub duplicates: Vec<RuleProblem>,
    /// Sigma filters loaded.
    pub filters: usize,
    /// Correlation rules loaded (legacy `| count()` aggregations included).
    pub correlations: usize,
    /// Rules that compile but use `expand` placeholders that were given no
    /// values (`--placeholders`): they cannot run in this environment.
    pub needs_placeholders: Vec<RuleProblem>,
}

/// Collects rules, then freezes them into a [`RuleSet`].
pub struct RuleSetBuilder {
    names: FieldNames,
    map: LogsourceMap,
    rules: Vec<CompiledRule>,
    ids: FxHashSet<String>,
    report: LoadReport,
    use_index: bool,
    placeholders: Placeholders,
    filters: Vec<CompiledFilter>,
    correlations: Vec<CorrelationDoc>,
    count_evaluations: bool,
    /// Processing pipelines, in the order they apply (priority, then order
    /// given), and the placeholder values of all of them.
    pipelines: Vec<crate::pipeline::Pipeline>,
    pipeline_vars: rustc_hash::FxHashMap<String, Vec<String>>,
}

impl Default for RuleSetBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleSetBuilder {
    pub fn new() -> Self {
        RuleSetBuilder {
            names: FieldNames::new(),
            map: LogsourceMap::default_map(),
            rules: Vec::new(),
            ids: FxHashSet::default(),
            report: LoadReport::default(),
            use_index: true,
            placeholders: Placeholders::default(),
            filters: Vec::new(),
            correlations: Vec::new(),
            count_evaluations: false,
            pipelines: Vec::new(),
            pipeline_vars: Default::default(),
        }
    }

    /// Adds a processing pipeline (pySigma YAML) that rewrites every rule
    /// and filter loaded afterwards. Pipelines apply by ascending
    /// `priority`, equal priorities in the order given. A pipeline using
    /// anything outside the supported subset is refused whole.
    pub fn add_pipeline_yaml(&mut self, origin: &str, text: &str) -> Result<(), String> {
        let pipeline =
            crate::pipeline::parse(text).map_err(|e| format!("pipeline {origin}: {e}"))?;
        for (name, values) in &pipeline.vars {
            self.pipeline_vars.insert(name.clone(), values.clone());
        }
        let at = self
            .pipelines
            .iter()
            .position(|p| p.priority > pipeline.priority)
            .unwrap_or(self.pipelines.len());
        self.pipelines.insert(at, pipeline);
        Ok(())
    }

    /// Counts how often each rule is evaluated in full (for `--stats` and
    /// benchmarks; see [`RuleSet::eval_stats`]).
    pub fn count_evaluations(mut self) -> Self {
        self.count_evaluations = true;
        self
    }

    /// Values for `%name%` placeholders of the `expand` modifier, from a
    /// YAML map of name → list of values (pySigma's placeholder files).
    pub fn placeholders_yaml(&mut self, text: &str) -> Result<(), String> {
        let map: std::collections::BTreeMap<String, serde_yaml::Value> =
            serde_yaml::from_str(text).map_err(|e| format!("placeholder file: {e}"))?;
        for (name, value) in map {
            let values = match value {
                serde_yaml::Value::Sequence(items) => items
                    .iter()
                    .filter_map(|v| match v {
                        serde_yaml::Value::String(s) => Some(s.clone()),
                        serde_yaml::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
                serde_yaml::Value::String(s) => vec![s],
                _ => return Err(format!("placeholder '{name}' is not a list of values")),
            };
            self.placeholders
                .insert(name.trim_matches('%').to_owned(), values);
        }
        Ok(())
    }

    /// Evaluates every routed rule on every event instead of only the
    /// candidates the index picks: slower, for tests and benchmarks that
    /// check the index changes nothing.
    pub fn without_index(mut self) -> Self {
        self.use_index = false;
        self
    }

    /// Adds a user mapping file's entries over the built-in mapping.
    pub fn extend_mapping(&mut self, map: LogsourceMap) {
        self.map.extend(map);
    }

    /// Loads a rule file, or every `.yml`/`.yaml` under a folder. Files are
    /// read and parsed on all cores (YAML parsing is most of the cost of
    /// loading SigmaHQ), then compiled in path order.
    pub fn add_path(&mut self, path: &Path) {
        use rayon::prelude::*;
        let mut files = Vec::new();
        if path.is_dir() {
            collect_yaml(path, &mut files, &mut self.report, 0);
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let parsed: Vec<(String, Result<Documents, String>)> = files
            .par_iter()
            .map(|file| (file.display().to_string(), read_documents(file)))
            .collect();
        for (origin, documents) in parsed {
            match documents {
                Ok(documents) => self.add_documents(&origin, documents),
                Err(reason) => self.problem(&origin, reason),
            }
        }
    }

    /// Loads the rules of one YAML text (one or more documents).
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        self.add_documents(origin, parse_documents(text));
    }

    fn add_documents(&mut self, origin: &str, documents: Documents) {
        self.report.files += 1;
        for (n, value) in documents.values.into_iter().enumerate() {
            let where_ = if n == 0 {
                origin.to_owned()
            } else {
                format!("{origin} (document {})", n + 1)
            };
            let value = match value {
                Ok(v) => v,
                Err(e) => {
                    self.problem(&where_, format!("invalid YAML: {e}"));
                    continue;
                }
            };
            if value.is_null() {
                continue;
            }
            let title = value.get("title").and_then(|t| t.as_str()).unwrap_or("");
            let label = if title.is_empty() {
                where_.clone()
            } else {
                format!("{where_}: {title}")
            };
            if value.get("correlation").is_some() {
                match parse_correlation(&value, origin, &label) {
                    Ok(doc) => self.add_correlation(doc, label),
                    Err(reason) => self.problem(&label, reason),
                }
                continue;
            }
            // A legacy aggregation runs as a base rule and a correlation.
            let value = match split_aggregation(&value, origin, &label) {
                None => value,
                Some(Err(reason)) => {
                    self.problem(&label, reason);
                    continue;
                }
                Some(Ok((base, corr))) => {
                    self.add_correlation(corr, label.clone());
                    base
                }
            };
            let is_filter = value.get("filter").is_some() && value.get("detection").is_none();
            let mut value = value;
            if !self.pipelines.is_empty() {
                let vars = &self.pipeline_vars;
                if let Err(reason) =
                    crate::pipeline::apply(&self.pipelines, vars, &mut value, is_filter)
                {
                    self.problem(&label, reason);
                    continue;
                }
            }
            let mut cx = Cx {
                names: &mut self.names,
                placeholders: &self.placeholders,
            };
            if is_filter {
                match compile_filter(&value, origin, &mut cx) {
                    Ok(filter) => self.filters.push(filter),
                    Err(reason) => self.problem(&label, reason),
                }
                continue;
            }
            match compile_rule(&value, origin, &mut cx) {
                Ok(rule) => {
                    if !self.ids.insert(rule.meta.id.clone()) {
                        self.report.duplicates.push(RuleProblem {
                            origin: label,
                            reason: format!("a rule with id {} is already loaded", rule.meta.id),
                        });
                        continue;
                    }
                    self.rules.push(rule);
                }
                Err(reason) if reason.contains(crate::compile::MISSING_PLACEHOLDER) => {
                    self.report.needs_placeholders.push(RuleProblem {
                        origin: label,
                        reason,
                    })
                }
                Err(reason) => self.problem(&label, reason),
            }
        }
    }

    fn add_correlation(&mut self, doc: CorrelationDoc, label: String) {
        if !self.ids.insert(doc.meta.id.clone()) {
            self.report.duplicates.push(RuleProblem {
                origin: label,
                reason: format!("a rule with id {} is already loaded", doc.meta.id),
            });
            return;
        }
        self.correlations.push(doc);
    }

    /// Loads the rule pack embedded in the binary.
    pub fn add_builtin(&mut self) {
        for (name, text) in crate::BUILTIN_RULES {
            self.add_yaml(&format!("builtin:{name}"), text);
        }
    }

    /// Attaches each filter to the rules it names by id or name; a filter
    /// that names no loaded rule is reported.
    fn attach_filters(&mut self) {
        for filter in std::mem::take(&mut self.filters) {
            let mut attached = 0;
            for rule in &mut self.rules {
                let named = filter
                    .rules
                    .iter()
                    .any(|r| *r == rule.meta.id || rule.name.as_deref() == Some(r.as_str()));
                if named {
                    rule.filters.push(filter.detection.clone());
                    attached += 1;
                }
            }
            self.report.filters += 1;
            if attached == 0 {
                self.report.unrouted.push(RuleProblem {
                    origin: format!("{}: {}", filter.origin, filter.title),
                    reason: "filter names no loaded rule".into(),
                });
            }
        }
    }

    fn problem(&mut self, origin: &str, reason: String) {
        self.report.errors.push(RuleProblem {
            origin: origin.to_owned(),
            reason,
        });
    }

    /// Routes every rule and freezes the set.
    pub fn build(mut self) -> (RuleSet, LoadReport) {
        self.attach_filters();
        let mut router = Router::default();
        let mut kept = Vec::with_capacity(self.rules.len());
        // Ids and names of unrouted rules, so that a correlation over one
        // is reported as unroutable rather than as naming an unknown rule.
        let mut unrouted_refs = FxHashSet::default();
        for rule in std::mem::take(&mut self.rules) {
            let index = kept.len() as u32;
            match router.add(index, &rule.logsource, &self.map, &mut self.names) {
                Ok(()) => kept.push(rule),
                Err(reason) => {
                    unrouted_refs.insert(rule.meta.id.clone());
                    unrouted_refs.extend(rule.name.clone());
                    self.report.unrouted.push(RuleProblem {
                        origin: format!("{}: {}", rule.meta.origin, rule.meta.title),
                        reason,
                    })
                }
            }
        }
        let resolved = resolve(
            std::mem::take(&mut self.correlations),
            &kept,
            &unrouted_refs,
            &mut self.names,
            &mut self.report,
        );
        // Base rules always reach the correlations: those that generate no
        // alerts of their own are internal, and the others get an internal
        // twin for matches under `--min-level`.
        let mut quiet_meta = vec![None; kept.len()];
        for (rule, internal) in resolved.base_rules {
            let r: &mut CompiledRule = &mut kept[rule as usize];
            let mut meta = (*r.meta).clone();
            meta.internal = true;
            let meta = Arc::new(meta);
            if internal {
                r.meta = meta.clone();
            }
            quiet_meta[rule as usize] = Some(meta);
        }
        let correlations = (!resolved.set.is_empty()).then(|| Arc::new(resolved.set));
        if self.use_index {
            router.build_indexes(&kept);
        }
        self.report.loaded = kept.len();
        (
            RuleSet {
                names: Arc::new(self.names),
                evaluations: self.count_evaluations.then(|| {
                    (0..kept.len())
                        .map(|_| std::sync::atomic::AtomicU64::new(0))
                        .collect()
                }),
                rules: kept,
                router,
                correlations,
                quiet_meta,
            },
            self.report,
        )
    }
}

/// The documents of one YAML text, parsed; a syntax error ends the list
/// (the parser cannot resynchronise after one).
struct Documents {
    values: Vec<Result<serde_yaml::Value, serde_yaml::Error>>,
}

fn parse_documents(text: &str) -> Documents {
    let mut values = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc);
        let failed = value.is_err();
        values.push(value);
        if failed {
            break;
        }
    }
    Documents { values }
}

fn read_documents(path: &Path) -> Result<Documents, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "file is not UTF-8 text".to_string())?;
    Ok(parse_documents(&text))
}

fn collect_yaml(
    dir: &Path,
    out: &mut Vec<std::path::PathBuf>,
    report: &mut LoadReport,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            report.errors.push(RuleProblem {
                origin: dir.display().to_string(),
                reason: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_yaml(&path, out, report, depth + 1);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml") | Some("yaml")
        ) {
            out.push(path);
        }
    }
}

/// A matching thread's scratch: the candidate index's (which rules of a
/// route were offered, the scans of recent long values), and the routes of
/// the last logsource.
#[derive(Default)]
struct Scratch {
    index: IndexScratch,
    routes: RouteMemo,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// One rule that matched an event, with the route it matched under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Match {
    pub rule: u32,
    group: u32,
}

/// Compiled rules, routed by logsource.
pub struct RuleSet {
    names: Arc<FieldNames>,
    rules: Vec<CompiledRule>,
    router: Router,
    /// Per rule, how often it was evaluated in full (only when enabled:
    /// counting costs an atomic add per evaluation).
    evaluations: Option<Box<[std::sync::atomic::AtomicU64]>>,
    /// The correlation rules over these rules, if any.
    correlations: Option<Arc<CorrelationSet>>,
    /// Per rule that feeds a correlation, its metadata marked internal:
    /// matches under `--min-level` still reach the correlations.
    quiet_meta: Vec<Option<Arc<RuleMeta>>>,
}

/// How much work the candidate index saved.
#[derive(Clone, Debug, Default)]
pub struct EvalStats {
    /// Full rule evaluations, in all.
    pub evaluations: u64,
    /// The most evaluated rules: (evaluations, title, origin).
    pub top: Vec<(u64, String, String)>,
}

impl RuleSet {
    /// The field names events must be built with.
    pub fn names(&self) -> Arc<FieldNames> {
        self.names.clone()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rule(&self, index: u32) -> &CompiledRule {
        &self.rules[index as usize]
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The correlation rules, when the set has any.
    pub fn correlations(&self) -> Option<Arc<CorrelationSet>> {
        self.correlations.clone()
    }

    /// Appends the rules that match `event` to `out` (each at most once).
    pub fn matches(&self, event: &Event, out: &mut Vec<Match>) {
        let start = out.len();
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            let index_scratch = &mut scratch.index;
            self.router
                .for_each_route(event, &mut scratch.routes, |route| {
                    let ctx = Ctx {
                        event,
                        remap: route.remap,
                    };
                    let mut try_rule = |rule: u32| {
                        if self.rule_matches(rule, &ctx) {
                            out.push(Match {
                                rule,
                                group: route.group,
                            });
                        }
                    };
                    match route.index {
                        Some(index) => index.candidates(&ctx, index_scratch, |local| {
                            try_rule(route.rules[local as usize])
                        }),
                        None => route.rules.iter().for_each(|r| try_rule(*r)),
                    }
                });
        });
        if out.len() - start > 1 {
            out[start..].sort_unstable_by_key(|m| m.rule);
            let mut seen = FxHashSet::default();
            let mut i = start;
            while i < out.len() {
                if seen.insert(out[i].rule) {
                    i += 1;
                } else {
                    out.remove(i);
                }
            }
        }
    }

    /// Evaluation counts, when the builder enabled them.
    pub fn eval_stats(&self, top: usize) -> Option<EvalStats> {
        let counts = self.evaluations.as_ref()?;
        let mut all: Vec<(u64, String, String)> = counts
            .iter()
            .zip(&self.rules)
            .map(|(n, r)| {
                (
                    n.load(std::sync::atomic::Ordering::Relaxed),
                    r.meta.title.clone(),
                    r.meta.origin.clone(),
                )
            })
            .collect();
        let evaluations = all.iter().map(|(n, _, _)| n).sum();
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        all.truncate(top);
        Some(EvalStats {
            evaluations,
            top: all,
        })
    }

    fn rule_matches(&self, index: u32, ctx: &Ctx<'_>) -> bool {
        if let Some(counts) = &self.evaluations {
            counts[index as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let rule = &self.rules[index as usize];
        rule.detection.matches(ctx) && !rule.filters.iter().any(|f| f.matches(ctx))
    }

    /// The fields the rule read, as (name in the log, value) pairs.
    pub fn evidence(&self, m: &Match, event: &Event) -> Vec<(String, String)> {
        let remap = self.router.remap(m.group);
        let ctx = Ctx { event, remap };
        let mut out = Vec::new();
        for &field in &self.rules[m.rule as usize].detection.fields {
            let id = ctx.resolve(field);
            for v in event.values(id) {
                out.push((self.names.name(id).to_owned(), v.text.to_owned()));
            }
        }
        out
    }
}

/// Sigma rules as a pipeline detector; `min_level` drops quieter rules.
pub struct SigmaDetector {
    pub rules: Arc<RuleSet>,
    pub min_level: vigie_core::Level,
}

thread_local! {
    static MATCHES: std::cell::RefCell<Vec<Match>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl vigie_core::Detector for SigmaDetector {
    fn name(&self) -> &str {
        "sigma"
    }

    fn detect(&self, event: &Event, emit: &mut dyn FnMut(vigie_core::Alert)) {
        MATCHES.with(|cell| {
            let mut matches = cell.borrow_mut();
            matches.clear();
            self.rules.matches(event, &mut matches);
            let mut first: Option<vigie_core::Alert> = None;
            for (at, m) in matches.iter().enumerate() {
                let meta = &self.rules.rule(m.rule).meta;
                let meta = if meta.level >= self.min_level {
                    meta
                } else {
                    // Quieter than asked, but a correlation may need it.
                    match &self.rules.quiet_meta[m.rule as usize] {
                        Some(quiet) => quiet,
                        None => continue,
                    }
                };
                let evidence = self.rules.evidence(m, event);
                let alert = match &first {
                    Some(first) => first.for_same_event(meta.clone(), evidence),
                    None => {
                        let alert = vigie_core::Alert::for_event(meta.clone(), event, evidence);
                        if at + 1 < matches.len() {
                            first = Some(alert.clone());
                        }
                        alert
                    }
                };
                emit(alert);
            }
        });
    }
}
