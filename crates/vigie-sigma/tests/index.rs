//! The candidate index: which rules it lets through to a full evaluation,
//! and that it never changes what matches.

mod common;

use common::sysmon_event as event;
use vigie_sigma::{RuleSet, RuleSetBuilder};

/// Rules over the Sysmon process-creation logsource, each given as
/// (title, detection YAML); evaluations are counted.
fn rules(specs: &[(&str, &str)], indexed: bool) -> RuleSet {
    let mut b = RuleSetBuilder::new().count_evaluations();
    if !indexed {
        b = b.without_index();
    }
    for (title, detection) in specs {
        let yaml = format!(
            "title: {title}\nlevel: high\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n{detection}"
        );
        b.add_yaml(&format!("{title}.yml"), &yaml);
    }
    let (set, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(set.len(), specs.len(), "{:?}", report.unrouted);
    set
}

/// The titles of the rules that match, and of those evaluated in full.
fn run(set: &RuleSet, fields: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let before: Vec<u64> = evaluations(set);
    let mut out = Vec::new();
    set.matches(&event(set, fields), &mut out);
    let matched = out
        .iter()
        .map(|m| set.rule(m.rule).meta.title.clone())
        .collect();
    let evaluated = evaluations(set)
        .iter()
        .zip(&before)
        .enumerate()
        .filter(|(_, (after, before))| after > before)
        .map(|(i, _)| set.rule(i as u32).meta.title.clone())
        .collect();
    (matched, evaluated)
}

/// Evaluations so far, per rule in set order.
fn evaluations(set: &RuleSet) -> Vec<u64> {
    let stats = set.eval_stats(usize::MAX).expect("evaluations are counted");
    (0..set.len() as u32)
        .map(|i| {
            let rule = set.rule(i);
            stats
                .top
                .iter()
                .find(|(_, title, _)| *title == rule.meta.title)
                .map_or(0, |(n, _, _)| *n)
        })
        .collect()
}

const CMD_DIR: &str = "    selection_img:\n        Image|endswith: '\\cmd.exe'\n    selection_cli:\n        CommandLine|contains: ' dir '\n    condition: all of selection_*\n";
const EITHER: &str = "    a:\n        Image|endswith: '\\rundll32.exe'\n        CommandLine|contains: 'javascript:'\n    b:\n        Image|endswith: '\\mshta.exe'\n        CommandLine|contains: 'vbscript:'\n    condition: a or b\n";
const NEGATED: &str =
    "    filter:\n        Image|contains: '\\'\n    selection:\n        Image|startswith: 'xc'\n    condition: selection and not filter\n";
const ONLY_NOT: &str = "    filter:\n        Image|contains: '\\'\n    condition: not filter\n";
/// Only negations, of selections with one test each or several.
const NOT_EXTENSION: &str = "    known:\n        Image|endswith:\n            - '.exe'\n            - '.com'\n    filter_temp:\n        - CommandLine|contains: 'temp'\n        - Image|startswith: 'msi'\n    filter_both:\n        Image|contains: 'x'\n        CommandLine|contains: 'y'\n    condition: not known and not 1 of filter_*\n";

fn specs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("cmd dir", CMD_DIR),
        ("either", EITHER),
        ("negated", NEGATED),
        ("only not", ONLY_NOT),
        ("not extension", NOT_EXTENSION),
    ]
}

#[test]
fn every_required_literal_must_occur_before_a_rule_is_evaluated() {
    let set = rules(&specs(), true);
    // cmd.exe without ` dir `: the image literal alone no longer makes the
    // rule a candidate.
    let (matched, evaluated) = run(
        &set,
        &[
            ("Image", "C:\\Windows\\System32\\cmd.exe"),
            ("CommandLine", "cmd.exe /c echo hi"),
        ],
    );
    assert!(matched.is_empty(), "{matched:?}");
    // The rules with no literal are ruled out by what they negate (a `\`
    // in the image, a `.exe` at its end) without a full evaluation.
    assert!(evaluated.is_empty(), "{evaluated:?}");
    // Both literals: evaluated and matched.
    let (matched, evaluated) = run(
        &set,
        &[
            ("Image", "C:\\Windows\\System32\\cmd.exe"),
            ("CommandLine", "cmd.exe /c dir c:\\"),
        ],
    );
    assert_eq!(matched, vec!["cmd dir"]);
    assert!(evaluated.contains(&"cmd dir".to_owned()));
    // `a or b`, each an AND across two fields: a literal of `a` with one
    // of `b` is no witness of either branch...
    let (matched, evaluated) = run(
        &set,
        &[
            ("Image", "C:\\Windows\\System32\\rundll32.exe"),
            ("CommandLine", "rundll32 vbscript:x"),
        ],
    );
    assert!(matched.is_empty(), "{matched:?}");
    assert!(!evaluated.contains(&"either".to_owned()), "{evaluated:?}");
    // ...both of one branch are.
    let (matched, _) = run(
        &set,
        &[
            ("Image", "C:\\Windows\\System32\\mshta.exe"),
            ("CommandLine", "mshta vbscript:Execute(x)"),
        ],
    );
    assert_eq!(matched, vec!["either"]);
    // A negated selection requires nothing; the positive one does.
    let (matched, evaluated) = run(&set, &[("Image", "xcopy")]);
    assert_eq!(matched, vec!["negated", "only not", "not extension"]);
    assert_eq!(evaluated, vec!["negated", "only not", "not extension"]);
    // Each one-test branch of a negated selection rules the rule out...
    for (image, line) in [("msiexec", ""), ("run", "c:\\temp\\a")] {
        let (matched, evaluated) = run(&set, &[("Image", image), ("CommandLine", line)]);
        assert!(
            !matched.contains(&"not extension".to_owned()),
            "{image} {line}"
        );
        assert!(
            !evaluated.contains(&"not extension".to_owned()),
            "{image} {line}"
        );
    }
    // ...a branch of two tests is left to the full evaluation.
    let (matched, evaluated) = run(&set, &[("Image", "xy"), ("CommandLine", "y")]);
    assert!(
        !matched.contains(&"not extension".to_owned()),
        "{matched:?}"
    );
    assert!(
        evaluated.contains(&"not extension".to_owned()),
        "{evaluated:?}"
    );
}

#[test]
fn index_and_full_evaluation_agree_on_every_combination() {
    let (fast, slow) = (rules(&specs(), true), rules(&specs(), false));
    let images = [
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Windows\\System32\\rundll32.exe",
        "C:\\Windows\\System32\\mshta.exe",
        "xcopy",
        "x\\cmd.exe",
        "msiexec",
        "setup.com",
        "xy",
        "",
    ];
    let lines = [
        "cmd /c dir c:\\",
        "rundll32 javascript:x",
        "mshta vbscript:x",
        " dir javascript:vbscript:",
        "c:\\temp\\y",
        "y",
        "",
    ];
    for image in images {
        for line in lines {
            let fields = [("Image", image), ("CommandLine", line)];
            let (a, _) = run(&fast, &fields);
            let (b, _) = run(&slow, &fields);
            assert_eq!(a, b, "{fields:?}");
        }
    }
}
