//! vigie-sigma: the Sigma rule engine.
//!
//! Rules are read from YAML ([`RuleSetBuilder`]), compiled once into
//! predicates over interned field ids and a condition tree, and routed by
//! logsource ([`logsource`]) so that an event only meets the rules of its
//! log. [`RuleSet::matches`] evaluates one event; it is `Sync` and runs on
//! any number of threads at once.

mod compile;
mod condition;
pub mod correlation;
mod engine;
mod gram_set;
mod index;
pub mod logsource;
mod matcher;
mod modifiers;
mod pattern;
pub mod pipeline;
mod regex_literals;
mod rule;

pub use correlation::{CorrelationDetector, CorrelationSet};
pub use engine::{
    EvalStats, LoadReport, Match, RuleProblem, RuleSet, RuleSetBuilder, SigmaDetector,
};
pub use logsource::LogsourceMap;
pub use rule::CompiledRule;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
