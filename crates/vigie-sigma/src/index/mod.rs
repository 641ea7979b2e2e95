//! The candidate index: which rules of a route can match an event at all.
//!
//! For each rule we derive *witness groups*: sets of (field, literal)
//! pairs such that whenever the rule matches, for every group at least one
//! of its literals occurs in the (lower-cased) value of its field, or, for
//! *exact* witnesses, is that whole value. A rule `Image|endswith:
//! '\cmd.exe'` and `CommandLine|contains: ' /c '` has two groups, and is
//! evaluated only for events where both literals occur, not for every
//! `cmd.exe` process. Exact witnesses of a field go into a hash map looked
//! up once per value; the other literals of all rules of a route go into
//! one substring set per field (an Aho-Corasick DFA when small, a
//! [`GramSet`] when large), run once over each value. Only the
//! rules of which every group was found are evaluated in full. Negations
//! require no literal (`not` of a selection matches events that lack its
//! literals), so rules whose conditions are only negations or regexes
//! without a literal are offered for every event, unless one of the tests
//! they negate holds (a *veto*: `not Image|endswith: '.exe'` rules the
//! rule out for every `.exe`).

mod cover;
mod exact;
mod lists;
mod memo;
mod substrings;

use std::ops::Range;

use rustc_hash::FxHashMap;
use vigie_core::FieldId;

use crate::compile::Detection;
use crate::condition::Expr;
use crate::matcher::{Ctx, Predicate, Test, ValueMatcher};
use crate::pattern::StrMatch;

use exact::ExactKey;
use lists::PackedLists;
use memo::ScanMemo;
use substrings::Substrings;

/// One literal a match requires: in the value of `field` (any field for
/// `None`, Sigma keywords), as the whole value when `exact`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Witness {
    field: Option<FieldId>,
    exact: bool,
    literal: Vec<u8>,
}

/// Witnesses of which a match requires at least one.
type Witnesses = Vec<Witness>;

use crate::regex_literals::MIN_LITERAL;

/// The lower-case literals one of which a value matcher requires, each
/// with whether it must be the whole value.
fn literals_of(m: &ValueMatcher) -> Option<Vec<(Vec<u8>, bool)>> {
    let (m, cased) = match m {
        ValueMatcher::Str { m, cased } => (m, *cased),
        ValueMatcher::Regex(r) => {
            let literals = r.literals.as_ref()?;
            return Some(literals.iter().map(|l| (l.clone(), false)).collect());
        }
        _ => return None,
    };
    let (bytes, exact): (Vec<u8>, bool) = match m {
        StrMatch::Glob(tokens) => (
            tokens
                .iter()
                .filter_map(|t| match t {
                    crate::pattern::Token::Lit(s) => Some(s.as_bytes()),
                    _ => None,
                })
                .max_by_key(|s| s.len())?
                .to_vec(),
            false,
        ),
        StrMatch::Equals(s) => (s.as_bytes().to_vec(), true),
        other => (other.required_literal()?.to_vec(), false),
    };
    // An exact value may be short: a whole-value lookup costs the same.
    let min = if exact { 1 } else { MIN_LITERAL };
    if !bytes.is_ascii() {
        // Case-insensitive matchers search the (already lower-cased)
        // literal in the lower-cased value: it is a witness as it is.
        // `cased` ones search the original text; the lower-cased value then
        // holds the literal lower-cased char by char, as `Event` lower-cases
        // values (char-wise lower-casing commutes with concatenation, so a
        // substring stays a substring). Emoji, Cyrillic homoglyphs and the
        // right-to-left override are then indexed like any literal.
        let text = std::str::from_utf8(&bytes).ok()?;
        let lowered: String = if cased {
            text.chars().flat_map(char::to_lowercase).collect()
        } else {
            text.to_owned()
        };
        return (lowered.len() >= min).then(|| vec![(lowered.into_bytes(), exact)]);
    }
    if bytes.len() < min {
        return None;
    }
    Some(vec![(bytes.to_ascii_lowercase(), exact)])
}

fn predicate_witnesses(p: &Predicate) -> Option<Witnesses> {
    let field = p.field;
    let Test::Values {
        values,
        all,
        negate: false,
        ..
    } = &p.test
    else {
        return None;
    };
    let literals_of_value = |alternatives: &Vec<ValueMatcher>| -> Option<Witnesses> {
        let mut out = Witnesses::new();
        for m in alternatives {
            for (literal, exact) in literals_of(m)? {
                out.push(Witness {
                    field,
                    // A keyword equal to a whole value is still within it.
                    exact: exact && field.is_some(),
                    literal,
                });
            }
        }
        Some(out)
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

/// Higher is more selective: the weakest witness decides, and longer
/// literals occur less often. A whole value counts a little more than a
/// substring of the same length, but not much: whole values are often
/// enumerations every event of a route shares (`ObjectType: File`), and
/// numbers (event ids, logon types) most of all, so they get no bonus.
fn score(w: &Witnesses) -> usize {
    w.iter()
        .map(|w| {
            let numeric = w.literal.iter().all(u8::is_ascii_digit);
            w.literal.len() + if w.exact && !numeric { 4 } else { 0 }
        })
        .min()
        .unwrap_or(0)
}

/// Witness sets a match requires *each* of (a conjunction of the
/// disjunctions `Witnesses`), most selective first. Empty: nothing is
/// known, the rule is evaluated on every event.
type Groups = Vec<Witnesses>;

/// Groups kept per rule: on the samples four rule out as many events as
/// eight, two clearly fewer (`BENCHMARKS.md`), and each group adds
/// literals to the automata, which loading pays for.
const MAX_GROUPS: usize = 4;

/// Orders groups most selective first (ties keep their order, which the
/// rule's structure fixes: the index is the same from run to run) and
/// keeps the best [`MAX_GROUPS`].
fn rank(groups: Groups) -> Groups {
    let mut scored: Vec<(usize, Witnesses)> = groups
        .into_iter()
        .filter_map(|mut g| {
            g.sort();
            g.dedup();
            // An empty disjunction would say the rule never matches; the
            // index only ever narrows what is evaluated, so it is dropped.
            (!g.is_empty()).then(|| (score(&g), g))
        })
        .collect();
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    let mut ranked = Groups::new();
    for (_, g) in scored {
        if ranked.len() == MAX_GROUPS {
            break;
        }
        if !ranked.contains(&g) {
            ranked.push(g);
        }
    }
    ranked
}

/// All of `parts` must match: every group of every part is required.
fn and_groups(parts: impl Iterator<Item = Groups>) -> Groups {
    rank(parts.flatten().collect())
}

/// One of `branches` must match. `(a ∧ b) ∨ (c ∧ d)` requires `a ∨ c`,
/// `a ∨ d`, `b ∨ c` and `b ∨ d`: one group per choice of a group in each
/// branch. Branches keep only their best two groups so that the choices
/// stay few (at most eight), and of more than three branches only the
/// best.
fn or_groups(branches: impl Iterator<Item = Groups>) -> Groups {
    let mut branches: Vec<Groups> = branches.collect();
    // A branch that may match anything lets anything through.
    if branches.is_empty() || branches.iter().any(Vec::is_empty) {
        return Groups::new();
    }
    if branches.len() == 1 {
        return branches.pop().unwrap_or_default();
    }
    if branches.len() > 3 || branches.iter().all(|b| b.len() == 1) {
        // One choice: every branch's best group. (Moved, not copied: some
        // selections list thousands of values.)
        let union: Witnesses = branches
            .into_iter()
            .filter_map(|b| b.into_iter().next())
            .flatten()
            .collect();
        return rank(vec![union]);
    }
    let mut choices: Groups = vec![Witnesses::new()];
    for branch in &branches {
        let mut next = Groups::new();
        for chosen in &choices {
            for group in branch.iter().take(2) {
                let mut union = chosen.clone();
                union.extend(group.iter().cloned());
                next.push(union);
            }
        }
        choices = next;
    }
    rank(choices)
}

/// The groups of a selection: any branch, each all of its predicates.
fn selection_groups(selection: &crate::compile::Selection) -> Groups {
    or_groups(selection.branches.iter().map(|branch| {
        and_groups(
            branch
                .iter()
                .filter_map(predicate_witnesses)
                .map(|w| vec![w]),
        )
    }))
}

fn expr_groups(e: &Expr, d: &Detection) -> Groups {
    match e {
        Expr::Sel(i) => d
            .selections
            .get(*i)
            .map_or_else(Groups::new, selection_groups),
        Expr::And(items) => and_groups(items.iter().map(|e| expr_groups(e, d))),
        Expr::Or(items) => or_groups(items.iter().map(|e| expr_groups(e, d))),
        // A negation requires no literal (see `Not` in the module docs).
        Expr::Not(_) | Expr::Const(_) => Groups::new(),
    }
}

/// The witness groups of a rule: empty when it has none.
fn rule_groups(d: &Detection) -> Groups {
    expr_groups(&d.condition, d)
}

/// Vetoes kept per rule: each costs a test on events the rule is offered
/// for, and the first few (the condition's own order) decide the most.
const MAX_VETOES: usize = 8;

/// Tests of which any one, when it holds, rules the detection out: the
/// condition requires `not X` (at its top level), and the test alone makes
/// X hold (a branch of one predicate of a selection X names). Rules with
/// no witness are offered for every event; these tests spare the full
/// evaluation of most (`not Image|endswith: .exe` on process creations).
/// Only string tests: cheap, and exactly what the rule itself evaluates.
fn rule_vetoes(d: &Detection) -> Vec<Predicate> {
    let mut out = Vec::new();
    for_each_conjunct(&d.condition, &mut |conjunct| {
        if let Expr::Not(negated) = conjunct {
            sufficient_predicates(negated, d, &mut out);
        }
    });
    out.truncate(MAX_VETOES);
    out
}

/// Calls `f` with each term of the top-level conjunction `e` (`e` itself
/// when it is no `and`).
fn for_each_conjunct<'e>(e: &'e Expr, f: &mut impl FnMut(&'e Expr)) {
    match e {
        Expr::And(items) => items.iter().for_each(|item| for_each_conjunct(item, f)),
        other => f(other),
    }
}

/// Predicates each of which alone makes `e` hold.
fn sufficient_predicates(e: &Expr, d: &Detection, out: &mut Vec<Predicate>) {
    match e {
        Expr::Sel(i) => {
            let Some(selection) = d.selections.get(*i) else {
                return;
            };
            for branch in &selection.branches {
                if let [p] = branch.as_slice() {
                    if is_string_test(p) {
                        out.push(p.clone());
                    }
                }
            }
        }
        Expr::Or(items) => items
            .iter()
            .for_each(|item| sufficient_predicates(item, d, out)),
        _ => {}
    }
}

fn is_string_test(p: &Predicate) -> bool {
    match &p.test {
        Test::Values { values, .. } => values
            .iter()
            .flatten()
            .all(|m| matches!(m, ValueMatcher::Str { .. })),
        _ => false,
    }
}

/// The index entries of one field.
struct FieldIndex {
    /// `None`: the entries apply to every value of the event (keywords).
    field: Option<FieldId>,
    /// Whole (lower-case) values → their literal.
    exact: FxHashMap<ExactKey, u32>,
    substrings: Option<Substrings>,
}

/// The index of one route's rules.
///
/// Every distinct (field, exact, literal) of the route's witness groups is
/// a *literal*, numbered. A scan marks the literals an event holds. Each
/// rule is *triggered* by the literals of one of its groups; a triggered
/// rule is offered when its other groups have a marked literal each.
/// Triggering costs a push per rule, checking a few lookups, so the
/// triggering group is the one whose literals trigger the fewest rules:
/// `\cmd.exe` is a witness of hundreds of rules, each paired with a rarer
/// command-line literal that triggers it instead.
pub struct CandidateIndex {
    fields: Vec<FieldIndex>,
    /// Per literal, the rules it triggers.
    triggers: PackedLists,
    /// Per rule, its groups to check: a range of `groups`.
    checks: Vec<Range<u32>>,
    /// Per group to check: a range of `group_literals`.
    groups: Vec<Range<u32>>,
    group_literals: Vec<u32>,
    /// Route-local indices of rules with no witness group...
    always: Vec<u32>,
    /// ...and, for each, the tests that rule it out ([`rule_vetoes`]).
    vetoes: Vec<Vec<Predicate>>,
}

/// A literal's identity: its field, whether it is a whole value, its bytes.
type LiteralKey = (Option<FieldId>, bool, Vec<u8>);

/// The literals of a route's witness groups, numbered.
struct Literals {
    /// Per literal id, what it is.
    keys: Vec<LiteralKey>,
    /// Per literal id, how many rules it is a witness of.
    popularity: Vec<u32>,
    /// Per rule, its groups as sorted literal ids.
    of_rules: Vec<Vec<Vec<u32>>>,
}

impl Literals {
    fn number(rule_groups: &[Groups]) -> Literals {
        let mut ids: FxHashMap<LiteralKey, u32> = FxHashMap::default();
        let mut literals = Literals {
            keys: Vec::new(),
            popularity: Vec::new(),
            of_rules: Vec::with_capacity(rule_groups.len()),
        };
        for groups in rule_groups {
            let mut of_rule: Vec<Vec<u32>> = Vec::with_capacity(groups.len());
            for group in groups {
                let mut group_ids: Vec<u32> = group
                    .iter()
                    .map(|w| {
                        let key = (w.field, w.exact, w.literal.clone());
                        *ids.entry(key.clone()).or_insert_with(|| {
                            literals.keys.push(key);
                            literals.popularity.push(0);
                            (literals.keys.len() - 1) as u32
                        })
                    })
                    .collect();
                group_ids.sort_unstable();
                group_ids.dedup();
                of_rule.push(group_ids);
            }
            let mut distinct: Vec<u32> = of_rule.iter().flatten().copied().collect();
            distinct.sort_unstable();
            distinct.dedup();
            for id in distinct {
                literals.popularity[id as usize] += 1;
            }
            literals.of_rules.push(of_rule);
        }
        literals
    }

    /// The per-field index entries, and per literal whether no automaton
    /// could be built to find it.
    fn fields(&self) -> (Vec<FieldIndex>, Vec<bool>) {
        let mut by_field: FxHashMap<Option<FieldId>, (Vec<u32>, Vec<u32>)> = FxHashMap::default();
        for (id, (field, exact, _)) in self.keys.iter().enumerate() {
            let (exacts, substrings) = by_field.entry(*field).or_default();
            if *exact { exacts } else { substrings }.push(id as u32);
        }
        let mut entries: Vec<_> = by_field.into_iter().collect();
        entries.sort_by_key(|(f, _)| *f);
        let bytes = |id: u32| self.keys[id as usize].2.clone();
        let mut unsearchable = vec![false; self.keys.len()];
        let mut fields: Vec<FieldIndex> = Vec::with_capacity(entries.len());
        for (field, (exacts, substrings)) in entries {
            let substrings = if substrings.is_empty() {
                None
            } else {
                let mut patterns: Vec<(Vec<u8>, Vec<u32>)> =
                    substrings.iter().map(|&id| (bytes(id), vec![id])).collect();
                patterns.sort();
                match Substrings::build(patterns) {
                    Ok(s) => Some(s),
                    // Too large to build: their rules are evaluated always.
                    Err(lost) => {
                        lost.iter().for_each(|&id| unsearchable[id as usize] = true);
                        None
                    }
                }
            };
            fields.push(FieldIndex {
                field,
                exact: exacts
                    .iter()
                    .map(|&id| (ExactKey::new(&bytes(id)), id))
                    .collect(),
                substrings,
            });
        }
        (fields, unsearchable)
    }
}

impl CandidateIndex {
    /// Builds the index for rules given by their detections, in route order.
    pub fn build(detections: &[&Detection]) -> CandidateIndex {
        let rule_groups: Vec<Groups> = detections.iter().map(|d| rule_groups(d)).collect();
        let literals = Literals::number(&rule_groups);
        let (fields, unsearchable) = literals.fields();
        let mut triggers = vec![Vec::new(); literals.keys.len()];
        let mut index = CandidateIndex {
            fields,
            triggers: PackedLists::default(),
            checks: Vec::with_capacity(detections.len()),
            groups: Vec::new(),
            group_literals: Vec::new(),
            always: Vec::new(),
            vetoes: Vec::new(),
        };
        for (local, groups) in literals.of_rules.iter().enumerate() {
            let searchable = groups
                .iter()
                .flatten()
                .all(|&id| !unsearchable[id as usize]);
            if groups.is_empty() || !searchable {
                index.always.push(local as u32);
                index.vetoes.push(
                    detections
                        .get(local)
                        .map_or_else(Vec::new, |d| rule_vetoes(d)),
                );
                let at = index.groups.len() as u32;
                index.checks.push(at..at);
            } else {
                index.add_rule(local as u32, groups, &literals.popularity, &mut triggers);
            }
        }
        index.triggers = PackedLists::new(&triggers);
        index
    }

    /// Adds a rule with its groups: triggered by the group whose literals
    /// are witnesses of the fewest rules (ties to the most selective, as
    /// `groups` is ranked), checked against the others. `triggers` gets
    /// per literal the rules it triggers.
    fn add_rule(
        &mut self,
        local: u32,
        groups: &[Vec<u32>],
        popularity: &[u32],
        triggers: &mut [Vec<u32>],
    ) {
        let cost =
            |g: &Vec<u32>| -> u64 { g.iter().map(|&id| u64::from(popularity[id as usize])).sum() };
        let trigger = (0..groups.len())
            .min_by_key(|&i| (cost(&groups[i]), i))
            .unwrap_or(0);
        let at = self.groups.len() as u32;
        for (i, group) in groups.iter().enumerate() {
            if i == trigger {
                for &id in group {
                    if let Some(rules) = triggers.get_mut(id as usize) {
                        rules.push(local);
                    }
                }
            } else {
                let from = self.group_literals.len() as u32;
                self.group_literals.extend_from_slice(group);
                self.groups.push(from..self.group_literals.len() as u32);
            }
        }
        self.checks.push(at..self.groups.len() as u32);
    }

    /// Route-local indices of the rules evaluated on every event.
    pub fn always(&self) -> &[u32] {
        &self.always
    }

    /// Calls `f(local)` once for each rule that may match, given the
    /// route's evaluation context: a rule is offered when a witness of
    /// each of its groups has been found. `scratch` is the calling
    /// thread's.
    pub fn candidates(&self, ctx: &Ctx<'_>, scratch: &mut IndexScratch, mut f: impl FnMut(u32)) {
        let IndexScratch {
            found,
            triggered,
            pending,
            memo,
        } = scratch;
        found.reset(self.triggers.len());
        triggered.reset(self.checks.len());
        pending.clear();
        let mut mark = |literal: u32| {
            if found.mark(literal) {
                for &rule in self.triggers.get(literal as usize) {
                    if triggered.mark(rule) {
                        pending.push(rule);
                    }
                }
            }
        };
        for fi in &self.fields {
            let mut visit = |lower: &str| {
                if !fi.exact.is_empty() {
                    if let Some(&literal) = fi.exact.get(lower.as_bytes()) {
                        mark(literal);
                    }
                }
                if let Some(s) = &fi.substrings {
                    memo.scan(s, lower.as_bytes(), &mut mark);
                }
            };
            match fi.field {
                Some(field) => ctx.values(field).for_each(|v| visit(v.lower)),
                // Keywords (never exact witnesses): one scan of all values,
                // end to end. A literal spanning two values only adds a
                // candidate.
                None => {
                    if let Some(s) = &fi.substrings {
                        s.scan(ctx.event.all_lower().as_bytes(), &mut mark);
                    }
                }
            }
        }
        for &rule in pending.iter() {
            if self.checks_pass(rule, found) {
                f(rule);
            }
        }
        for (rule, vetoes) in self.always.iter().zip(&self.vetoes) {
            if !vetoes.iter().any(|veto| veto.eval(ctx)) {
                f(*rule);
            }
        }
    }

    /// Whether every group `rule` checks has a literal the scans found.
    #[inline]
    fn checks_pass(&self, rule: u32, found: &Marks) -> bool {
        let Some(checks) = self.checks.get(rule as usize) else {
            return true;
        };
        let groups = self
            .groups
            .get(checks.start as usize..checks.end as usize)
            .unwrap_or_default();
        groups.iter().all(|g| {
            self.group_literals
                .get(g.start as usize..g.end as usize)
                .unwrap_or_default()
                .iter()
                .any(|&l| found.marked(l))
        })
    }
}

/// A matching thread's scratch space for [`CandidateIndex::candidates`].
#[derive(Default)]
pub struct IndexScratch {
    /// The literals found in the current event.
    found: Marks,
    /// The rules triggered for it...
    triggered: Marks,
    /// ...in the order they were.
    pending: Vec<u32>,
    memo: ScanMemo,
}

/// Per-thread scratch: which items (literals, rules) of a route were
/// already seen for the current event.
#[derive(Default)]
struct Marks {
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

    /// Marks `item`; true the first time in this generation.
    #[inline]
    fn mark(&mut self, item: u32) -> bool {
        match self.stamp.get_mut(item as usize) {
            Some(slot) if *slot != self.generation => {
                *slot = self.generation;
                true
            }
            _ => false,
        }
    }

    /// Whether `item` was marked in this generation.
    #[inline]
    fn marked(&self, item: u32) -> bool {
        self.stamp.get(item as usize) == Some(&self.generation)
    }
}
