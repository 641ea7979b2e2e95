//! Processing pipelines: pySigma's YAML format for adapting rules to a log
//! shape (field names, logsource, placeholder values) without editing the
//! rules.
//!
//! A pipeline rewrites each rule's YAML before it is compiled, so the
//! compiler and the matcher know nothing of pipelines. The supported subset
//! is [`parse::SUPPORTED`]; anything else fails the pipeline's load with a
//! reason rather than being skipped, since a half-applied pipeline makes
//! rules miss without a word.

mod apply;
mod detection;
mod parse;

pub use apply::apply;
pub use parse::{parse, Pipeline, SUPPORTED};

/// Pipelines shipped in the binary, by name (`--pipeline builtin:NAME`).
pub const BUILTIN_PIPELINES: &[(&str, &str)] = &[
    ("winlogbeat", include_str!("../../pipelines/winlogbeat.yml")),
    (
        "windows-ecs",
        include_str!("../../pipelines/windows-ecs.yml"),
    ),
];

/// The text of a built-in pipeline.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN_PIPELINES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}
