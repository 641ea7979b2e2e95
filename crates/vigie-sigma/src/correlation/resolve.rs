//! Resolving correlation documents against the loaded rules: rule
//! references by id or name, chains of correlations (with cycle checks),
//! field aliases, and which referenced rules stay silent (`generate`).

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use vigie_core::FieldNames;

use super::parse::{Condition, CorrelationDoc, Kind, Op};
use super::{Correlation, CorrelationSet, FieldSrc, Member};
use crate::engine::{LoadReport, RuleProblem};
use crate::rule::CompiledRule;

/// What resolution decided about the loaded Sigma rules.
pub struct Resolved {
    pub set: CorrelationSet,
    /// Rules referenced by a correlation (by index), and whether their own
    /// alerts must stay internal (no referring correlation says
    /// `generate: true`).
    pub base_rules: Vec<(u32, bool)>,
}

/// A reference of a correlation before its target is known to load.
#[derive(Clone, Copy)]
enum Target {
    Rule(u32),
    Doc(usize),
}

/// One document resolved on its own (targets found, fields looked up).
struct Local {
    targets: Vec<Target>,
    group_src: Vec<Vec<FieldSrc>>,
    value_src: Vec<Vec<FieldSrc>>,
}

/// Rules reachable by id or name.
struct Lookup<'a> {
    rule_ids: FxHashMap<&'a str, u32>,
    rule_names: FxHashMap<&'a str, u32>,
    doc_ids: FxHashMap<&'a str, usize>,
    doc_names: FxHashMap<&'a str, usize>,
}

impl<'a> Lookup<'a> {
    fn new(rules: &'a [CompiledRule], docs: &'a [CorrelationDoc]) -> Self {
        let mut l = Lookup {
            rule_ids: FxHashMap::default(),
            rule_names: FxHashMap::default(),
            doc_ids: FxHashMap::default(),
            doc_names: FxHashMap::default(),
        };
        // The first definition of a name wins, as for duplicate ids.
        for (i, r) in rules.iter().enumerate() {
            l.rule_ids.entry(r.meta.id.as_str()).or_insert(i as u32);
            if let Some(name) = &r.name {
                l.rule_names.entry(name.as_str()).or_insert(i as u32);
            }
        }
        for (i, d) in docs.iter().enumerate() {
            l.doc_ids.entry(d.meta.id.as_str()).or_insert(i);
            if let Some(name) = &d.name {
                l.doc_names.entry(name.as_str()).or_insert(i);
            }
        }
        l
    }

    fn find(&self, reference: &str) -> Option<Target> {
        let r = reference.trim();
        self.rule_ids
            .get(r)
            .map(|i| Target::Rule(*i))
            .or_else(|| self.doc_ids.get(r).map(|i| Target::Doc(*i)))
            .or_else(|| self.rule_names.get(r).map(|i| Target::Rule(*i)))
            .or_else(|| self.doc_names.get(r).map(|i| Target::Doc(*i)))
    }
}

/// The field a group-by (or value) name stands for in a member's events:
/// an alias entry for that member (by name or id), else the name itself.
fn member_field<'d>(
    doc: &'d CorrelationDoc,
    name: &'d str,
    keys: &[&str],
) -> Result<&'d str, String> {
    match doc.aliases.iter().find(|(alias, _)| alias == name) {
        None => Ok(name),
        Some((alias, per_rule)) => per_rule
            .iter()
            .find(|(rule, _)| keys.contains(&rule.as_str()))
            .map(|(_, field)| field.as_str())
            .ok_or_else(|| format!("alias '{alias}' gives no field for rule '{}'", keys[0])),
    }
}

fn resolve_local(
    doc: &CorrelationDoc,
    docs: &[CorrelationDoc],
    rules: &[CompiledRule],
    lookup: &Lookup<'_>,
    unrouted: &FxHashSet<String>,
    names: &mut FieldNames,
) -> Result<Local, (bool, String)> {
    let mut local = Local {
        targets: Vec::new(),
        group_src: Vec::new(),
        value_src: Vec::new(),
    };
    let mut seen = FxHashSet::default();
    for reference in &doc.rules {
        if !seen.insert(reference.trim()) {
            continue;
        }
        let target = match lookup.find(reference) {
            Some(t) => t,
            None if unrouted.contains(reference.trim()) => {
                return Err((
                    true,
                    format!("rule '{reference}' has a logsource vigie does not map"),
                ))
            }
            None => return Err((false, format!("unknown rule '{reference}'"))),
        };
        // The keys aliases may use for this member: its name, id and the
        // reference as written.
        let (name, id) = match target {
            Target::Rule(i) => {
                let r = &rules[i as usize];
                (r.name.as_deref(), r.meta.id.as_str())
            }
            Target::Doc(i) => (docs[i].name.as_deref(), docs[i].meta.id.as_str()),
        };
        let mut keys = vec![reference.trim(), id];
        keys.extend(name);
        let mut src = |field: &str| -> Result<FieldSrc, String> {
            match target {
                Target::Rule(_) => Ok(FieldSrc::Event(names.intern(field))),
                Target::Doc(i) => docs[i]
                    .group_by
                    .iter()
                    .position(|g| g == field)
                    .map(FieldSrc::Group)
                    .ok_or_else(|| {
                        format!(
                            "field '{field}' is not a group-by field of correlation '{reference}'"
                        )
                    }),
            }
        };
        let mut groups = Vec::new();
        for g in &doc.group_by {
            let field = member_field(doc, g, &keys).map_err(|e| (false, e))?;
            groups.push(src(field).map_err(|e| (false, e))?);
        }
        let mut values = Vec::new();
        for f in &doc.fields {
            let field = member_field(doc, f, &keys).map_err(|e| (false, e))?;
            values.push(src(field).map_err(|e| (false, e))?);
        }
        local.targets.push(target);
        local.group_src.push(groups);
        local.value_src.push(values);
    }
    if local.targets.len() > u16::MAX as usize {
        return Err((false, "too many rules".into()));
    }
    Ok(local)
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    Active,
    Ok,
    Failed,
}

/// Marks each document loadable or not: its own resolution succeeded and
/// every correlation it refers to loads, with no cycle.
fn check_chains(locals: &[Result<Local, (bool, String)>], problems: &mut [Option<(bool, String)>]) {
    let mut state = vec![Visit::New; locals.len()];
    for start in 0..locals.len() {
        // Iterative depth-first walk: (doc, next target to look at).
        let mut stack = vec![(start, 0usize)];
        while let Some(&(doc, next)) = stack.last() {
            if state[doc] == Visit::Ok || state[doc] == Visit::Failed {
                stack.pop();
                continue;
            }
            let Ok(local) = &locals[doc] else {
                state[doc] = Visit::Failed;
                stack.pop();
                continue;
            };
            state[doc] = Visit::Active;
            let child = local.targets[next..]
                .iter()
                .enumerate()
                .find_map(|(k, t)| match t {
                    Target::Doc(d) => Some((next + k, *d)),
                    Target::Rule(_) => None,
                });
            match child {
                None => {
                    state[doc] = Visit::Ok;
                    stack.pop();
                }
                Some((k, d)) => match state[d] {
                    Visit::Ok => {
                        if let Some(top) = stack.last_mut() {
                            top.1 = k + 1;
                        }
                    }
                    Visit::New => {
                        if let Some(top) = stack.last_mut() {
                            top.1 = k;
                        }
                        stack.push((d, 0));
                    }
                    Visit::Active | Visit::Failed => {
                        let reason = if state[d] == Visit::Active {
                            "its chain of correlations forms a cycle"
                        } else {
                            "it refers to a correlation that did not load"
                        };
                        // Everything on the stack depends on this one.
                        for &(s, _) in &stack {
                            state[s] = Visit::Failed;
                            if problems[s].is_none() {
                                problems[s] = Some((false, reason.into()));
                            }
                        }
                        stack.clear();
                    }
                },
            }
        }
    }
}

/// Resolves every document; problems go to `report`.
pub fn resolve(
    docs: Vec<CorrelationDoc>,
    rules: &[CompiledRule],
    unrouted: &FxHashSet<String>,
    names: &mut FieldNames,
    report: &mut LoadReport,
) -> Resolved {
    let lookup = Lookup::new(rules, &docs);
    let locals: Vec<_> = docs
        .iter()
        .map(|d| resolve_local(d, &docs, rules, &lookup, unrouted, names))
        .collect();
    let mut problems: Vec<Option<(bool, String)>> =
        locals.iter().map(|l| l.as_ref().err().cloned()).collect();
    check_chains(&locals, &mut problems);
    // Final indices of the documents that load.
    let mut index = vec![u32::MAX; docs.len()];
    let mut next = 0u32;
    for (i, p) in problems.iter().enumerate() {
        if p.is_none() {
            index[i] = next;
            next += 1;
        }
    }
    let mut set = CorrelationSet::default();
    // Per referenced rule / correlation: does some referrer generate?
    let mut rule_refs: FxHashMap<u32, bool> = FxHashMap::default();
    let mut doc_refs: FxHashMap<u32, bool> = FxHashMap::default();
    for ((doc, local), problem) in docs.iter().zip(locals).zip(problems) {
        if let Some((unroutable, reason)) = problem {
            let p = RuleProblem {
                origin: doc.label.clone(),
                reason,
            };
            if unroutable {
                report.unrouted.push(p);
            } else {
                report.errors.push(p);
            }
            continue;
        }
        let Ok(local) = local else { continue };
        let me = set.list.len() as u32;
        let mut members = Vec::new();
        let mut member_ids = Vec::new();
        for (pos, target) in local.targets.iter().enumerate() {
            match *target {
                Target::Rule(r) => {
                    let id = rules[r as usize].meta.id.clone();
                    set.by_rule
                        .entry(id.clone())
                        .or_default()
                        .push((me, pos as u16));
                    *rule_refs.entry(r).or_default() |= doc.generate;
                    members.push(Member::Rule(r));
                    member_ids.push(id);
                }
                Target::Doc(d) => {
                    let inner = index[d];
                    *doc_refs.entry(inner).or_default() |= doc.generate;
                    members.push(Member::Correlation(inner));
                    member_ids.push(docs[d].meta.id.clone());
                }
            }
        }
        let condition = doc.condition.clone().unwrap_or_else(|| Condition {
            // Temporal types without a condition: every rule must occur.
            tests: vec![(Op::Gte, members.len() as f64)],
        });
        let on_arrival = matches!(
            doc.kind,
            Kind::ValueAvg | Kind::ValueMedian | Kind::ValuePercentile
        ) || condition.only_lower_bounds();
        set.list.push(Correlation {
            meta: Arc::new(doc.meta.clone()),
            kind: doc.kind,
            timespan: doc.timespan,
            condition,
            on_arrival,
            group_by: doc.group_by.clone(),
            fields: doc.fields.clone(),
            members,
            member_ids,
            group_src: local.group_src,
            value_src: local.value_src,
            consumers: Vec::new(),
        });
    }
    // Chains: the inner correlation feeds its consumers.
    for c in 0..set.list.len() {
        for pos in 0..set.list[c].members.len() {
            if let Member::Correlation(inner) = set.list[c].members[pos] {
                set.list[inner as usize]
                    .consumers
                    .push((c as u32, pos as u16));
            }
        }
    }
    for (inner, generate) in doc_refs {
        if !generate {
            let c = &mut set.list[inner as usize];
            let mut meta = (*c.meta).clone();
            meta.internal = true;
            c.meta = Arc::new(meta);
        }
    }
    let mut base_rules: Vec<(u32, bool)> = rule_refs.into_iter().map(|(r, g)| (r, !g)).collect();
    base_rules.sort_unstable();
    report.correlations = set.list.len();
    Resolved { set, base_rules }
}
