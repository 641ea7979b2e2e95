//! The candidate index: which rules of a route can match an event at all.
//!
//! For each rule we derive a *witness set*: (field, literal) pairs such that
//! whenever the rule matches, at least one of the literals occurs in the
//! (lower-cased) value of its field. The literals of all rules of a route go
//! into one Aho-Corasick automaton per field; one pass over each field value
//! tells which rules are still possible, and only those are evaluated in
//! full. Rules without a usable witness (regex-only, keywords, negations)
//! are always evaluated.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;
use vigie_core::FieldId;

use crate::compile::Detection;
use crate::condition::Expr;
use crate::matcher::{Ctx, Predicate, Test, ValueMatcher};
use crate::pattern::StrMatch;

/// (field, lower-case literal) pairs, one of which a match requires. A
/// field of `None` stands for "any field" (Sigma keywords).
type Witnesses = Vec<(Option<FieldId>, Vec<u8>)>;

/// Literals shorter than this say too little to be worth indexing.
const MIN_LITERAL: usize = 2;

fn literal_of(m: &ValueMatcher) -> Option<Vec<u8>> {
    let ValueMatcher::Str { m, .. } = m else {
        return None;
    };
    let bytes: Vec<u8> = match m {
        StrMatch::Glob(tokens) => tokens
            .iter()
            .filter_map(|t| match t {
                crate::pattern::Token::Lit(s) => Some(s.as_bytes()),
                _ => None,
            })
            .max_by_key(|s| s.len())?
            .to_vec(),
        other => other.required_literal()?.to_vec(),
    };
    // Case folding of non-ASCII text can change lengths: stay exact.
    if bytes.len() < MIN_LITERAL || !bytes.is_ascii() {
        return None;
    }
    Some(bytes.to_ascii_lowercase())
}

fn predicate_witnesses(p: &Predicate) -> Option<Witnesses> {
    let field = p.field;
    let Test::Values {
        values,
        all,
        negate: false,
    } = &p.test
    else {
        return None;
    };
    let literals_of_value = |alternatives: &Vec<ValueMatcher>| -> Option<Witnesses> {
        alternatives
            .iter()
            .map(|m| literal_of(m).map(|lit| (field, lit)))
            .collect()
    };
    if *all {
        // Every value must match: any one value's literals are necessary.
        values
            .iter()
            .filter_map(literals_of_value)
            .max_by_key(score)
    } else {
        let mut out = Witnesses::new();
        for v in values {
            out.extend(literals_of_value(v)?);
        }
        Some(out)
    }
}

/// Higher is more selective: the shortest literal decides.
fn score(w: &Witnesses) -> usize {
    w.iter().map(|(_, l)| l.len()).min().unwrap_or(0)
}

fn best(options: impl Iterator<Item = Option<Witnesses>>) -> Option<Witnesses> {
    options.flatten().max_by_key(score)
}

fn expr_witnesses(e: &Expr, d: &Detection) -> Option<Witnesses> {
    match e {
        Expr::Sel(i) => {
            let mut out = Witnesses::new();
            for branch in &d.selections.get(*i)?.branches {
                out.extend(best(branch.iter().map(predicate_witnesses))?);
            }
            Some(out)
        }
        Expr::And(items) => best(items.iter().map(|e| expr_witnesses(e, d))),
        Expr::Or(items) => {
            let mut out = Witnesses::new();
            for item in items {
                out.extend(expr_witnesses(item, d)?);
            }
            Some(out)
        }
        Expr::Not(_) | Expr::Const(_) => None,
    }
}

/// The witness set of a rule, if it has one.
pub fn rule_witnesses(d: &Detection) -> Option<Witnesses> {
    let mut w = expr_witnesses(&d.condition, d)?;
    w.sort();
    w.dedup();
    (!w.is_empty()).then_some(w)
}

struct FieldAutomaton {
    /// `None`: the automaton runs over every value of the event.
    field: Option<FieldId>,
    automaton: AhoCorasick,
    /// Per pattern, the (route-local) rules it is a witness for.
    rules: Vec<Vec<u32>>,
}

/// The index of one route's rules.
pub struct CandidateIndex {
    fields: Vec<FieldAutomaton>,
    /// Route-local indices of rules with no witness set.
    always: Vec<u32>,
    size: usize,
}

impl CandidateIndex {
    /// Builds the index for rules given by their detections, in route order.
    pub fn build(detections: &[&Detection]) -> CandidateIndex {
        let mut always = Vec::new();
        let mut by_field: FxHashMap<Option<FieldId>, FxHashMap<Vec<u8>, Vec<u32>>> =
            FxHashMap::default();
        for (local, d) in detections.iter().enumerate() {
            match rule_witnesses(d) {
                Some(witnesses) => {
                    for (field, lit) in witnesses {
                        let rules = by_field.entry(field).or_default().entry(lit).or_default();
                        if rules.last() != Some(&(local as u32)) {
                            rules.push(local as u32);
                        }
                    }
                }
                None => always.push(local as u32),
            }
        }
        let mut fields: Vec<FieldAutomaton> = Vec::new();
        let mut entries: Vec<_> = by_field.into_iter().collect();
        entries.sort_by_key(|(f, _)| *f);
        for (field, literals) in entries {
            let mut literals: Vec<_> = literals.into_iter().collect();
            literals.sort();
            let patterns: Vec<&[u8]> = literals.iter().map(|(l, _)| l.as_slice()).collect();
            // The default automaton kind: a full DFA searched no faster here
            // and took seconds and 80 MB more to build for SigmaHQ's rules.
            match AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
            {
                Ok(automaton) => fields.push(FieldAutomaton {
                    field,
                    automaton,
                    rules: literals.into_iter().map(|(_, r)| r).collect(),
                }),
                Err(_) => {
                    // Too large to build: fall back to evaluating those rules.
                    for (_, rules) in literals {
                        always.extend(rules);
                    }
                }
            }
        }
        always.sort_unstable();
        always.dedup();
        CandidateIndex {
            fields,
            always,
            size: detections.len(),
        }
    }

    /// Route-local indices of the rules evaluated on every event.
    pub fn always(&self) -> &[u32] {
        &self.always
    }

    /// Calls `f(local)` once for each rule that may match, given the
    /// route's evaluation context. `marks` is scratch space.
    pub fn candidates(&self, ctx: &Ctx<'_>, marks: &mut Marks, mut f: impl FnMut(u32)) {
        marks.reset(self.size);
        for fa in &self.fields {
            let mut scan = |lower: &str| {
                for m in fa.automaton.find_overlapping_iter(lower.as_bytes()) {
                    for &rule in &fa.rules[m.pattern().as_usize()] {
                        if marks.mark(rule) {
                            f(rule);
                        }
                    }
                }
            };
            match fa.field {
                Some(field) => ctx.values(field).for_each(|v| scan(v.lower)),
                None => ctx.event.iter().for_each(|(_, v)| scan(v.lower)),
            }
        }
        for &rule in &self.always {
            if marks.mark(rule) {
                f(rule);
            }
        }
    }
}

/// Per-thread scratch: which rules of a route were already offered.
#[derive(Default)]
pub struct Marks {
    stamp: Vec<u32>,
    generation: u32,
}

impl Marks {
    fn reset(&mut self, size: usize) {
        if self.stamp.len() < size {
            self.stamp.resize(size, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    /// Marks `rule`; true the first time in this generation.
    #[inline]
    fn mark(&mut self, rule: u32) -> bool {
        let slot = &mut self.stamp[rule as usize];
        if *slot == self.generation {
            false
        } else {
            *slot = self.generation;
            true
        }
    }
}
