//! Rule semantics, one construct at a time, each against events that must
//! and must not match.

mod common;

use common::sysmon_event as event;
use vigie_core::{Event, EventKind, ValueKind};
use vigie_sigma::{RuleSet, RuleSetBuilder};

/// Compiles one rule over a Sysmon process-creation logsource, with the
/// detection given as YAML.
fn rule(detection: &str) -> RuleSet {
    let yaml = format!(
        "title: t\nid: test-rule\nlevel: high\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n{detection}"
    );
    let mut b = RuleSetBuilder::new();
    b.add_yaml("test.yml", &yaml);
    let (set, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(set.len(), 1, "{:?}", report.unrouted);
    set
}

fn compile_error(detection: &str) -> String {
    let yaml = format!(
        "title: t\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n{detection}"
    );
    let mut b = RuleSetBuilder::new();
    b.add_yaml("test.yml", &yaml);
    let (_, report) = b.build();
    assert_eq!(report.errors.len(), 1, "expected a compile error");
    report.errors[0].reason.clone()
}

fn hits(set: &RuleSet, fields: &[(&str, &str)]) -> bool {
    let ev = event(set, fields);
    let mut out = Vec::new();
    set.matches(&ev, &mut out);
    !out.is_empty()
}

#[test]
fn plain_values_are_case_insensitive_whole_value_equality() {
    let r = rule("  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel\n");
    assert!(hits(&r, &[("Image", "c:\\windows\\system32\\CMD.EXE")]));
    assert!(!hits(&r, &[("Image", "c:\\windows\\system32\\cmd.exe2")]));
    assert!(!hits(&r, &[]));
}

#[test]
fn wildcards_and_escapes() {
    let r = rule("  sel:\n    CommandLine: '*\\\\*.ps? -x\\*'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "run C:\\a\\b.ps1 -x*")]));
    assert!(!hits(&r, &[("CommandLine", "run C:\\a\\b.ps1 -xy")]));
    assert!(!hits(&r, &[("CommandLine", "run C:\\a\\b.ps12 -x*")]));
}

#[test]
fn value_lists_or_and_all() {
    let r = rule(
        "  sel:\n    CommandLine|contains:\n      - mimikatz\n      - sekurlsa\n  condition: sel\n",
    );
    assert!(hits(&r, &[("CommandLine", "x SEKURLSA::logonpasswords")]));
    assert!(!hits(&r, &[("CommandLine", "notepad")]));
    let r = rule("  sel:\n    CommandLine|contains|all:\n      - ' -w hidden'\n      - ' -enc '\n  condition: sel\n");
    assert!(hits(
        &r,
        &[("CommandLine", "powershell -w hidden -enc AAA")]
    ));
    assert!(!hits(&r, &[("CommandLine", "powershell -enc AAA")]));
}

#[test]
fn maps_are_and_lists_of_maps_are_or() {
    let r = rule("  sel:\n    - Image|endswith: '\\a.exe'\n      CommandLine|contains: x\n    - Image|endswith: '\\b.exe'\n  condition: sel\n");
    assert!(hits(&r, &[("Image", "C:\\a.exe"), ("CommandLine", "1x2")]));
    assert!(!hits(&r, &[("Image", "C:\\a.exe"), ("CommandLine", "12")]));
    assert!(hits(&r, &[("Image", "C:\\b.exe")]));
}

#[test]
fn startswith_endswith() {
    let r = rule("  sel:\n    Image|startswith: 'C:\\Users\\'\n    Image|endswith: '.scr'\n  condition: sel\n");
    assert!(hits(&r, &[("Image", "c:\\users\\bob\\x.SCR")]));
    assert!(!hits(&r, &[("Image", "d:\\users\\bob\\x.scr")]));
}

/// Lists of whole values, prefixes and suffixes long enough to be tested
/// together, with needles of every length around the word sizes of their
/// inline comparison (4, 8 and 16 bytes), match where one-by-one tests
/// do: each needle, each with one byte changed, cut short, or with bytes
/// around it.
#[test]
fn needle_lists_match_at_every_length_as_one_by_one_tests_do() {
    let needles: Vec<String> = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24]
        .iter()
        .map(|&len| {
            (0..len)
                .map(|i| (b'a' + (i * 7 + len) as u8 % 26) as char)
                .collect()
        })
        .collect();
    let list: String = needles.iter().map(|n| format!("      - '{n}'\n")).collect();
    let mut values = vec![String::new()];
    for n in &needles {
        values.push(n.to_uppercase());
        values.push(format!("x{n}"));
        values.push(format!("{n}y"));
        values.push(format!("\\{n}.exe"));
        for cut in 0..n.len() {
            values.push(n[..cut].to_string());
            values.push(n[cut..].to_string());
            let mut changed = n.clone().into_bytes();
            changed[cut] = b'_';
            values.push(String::from_utf8(changed).unwrap_or_default());
        }
    }
    let naive = |modifier: &str, value: &str| {
        let value = value.to_lowercase();
        needles.iter().any(|n| match modifier {
            "" => value == *n,
            "|startswith" => value.starts_with(n.as_str()),
            _ => value.ends_with(n.as_str()),
        })
    };
    for modifier in ["", "|startswith", "|endswith"] {
        let r = rule(&format!(
            "  sel:\n    Image{modifier}:\n{list}  condition: sel\n"
        ));
        for value in &values {
            let want = naive(modifier, value);
            assert_eq!(
                hits(&r, &[("Image", value)]),
                want,
                "Image{modifier} {value:?}"
            );
        }
    }
}

#[test]
fn null_and_exists() {
    let r = rule("  sel:\n    Image|endswith: '.exe'\n  empty:\n    OriginalFileName: null\n  condition: sel and empty\n");
    assert!(hits(&r, &[("Image", "a.exe")]));
    assert!(hits(&r, &[("Image", "a.exe"), ("OriginalFileName", "")]));
    assert!(hits(
        &r,
        &[("Image", "a.exe"), ("OriginalFileName", "<null>")]
    ));
    assert!(!hits(
        &r,
        &[("Image", "a.exe"), ("OriginalFileName", "x.exe")]
    ));
    let r = rule("  sel:\n    Hashes|exists: true\n  condition: sel\n");
    assert!(hits(&r, &[("Hashes", "")]));
    assert!(!hits(&r, &[]));
    let r = rule("  sel:\n    Hashes|exists: false\n  condition: sel\n");
    assert!(hits(&r, &[]));
}

#[test]
fn keywords_search_every_value() {
    let r = rule("  keywords:\n    - 'Invoke-Mimikatz'\n    - 'sekurlsa'\n  condition: keywords\n");
    assert!(hits(
        &r,
        &[("ScriptBlockText", "IEX (Invoke-MIMIKATZ -dump)")]
    ));
    assert!(!hits(&r, &[("ScriptBlockText", "Get-Process")]));
    let r =
        rule("  keywords:\n    '|all':\n      - 'alpha'\n      - 'beta'\n  condition: keywords\n");
    assert!(hits(&r, &[("A", "alpha"), ("B", "xbetax")]));
    assert!(!hits(&r, &[("A", "alpha")]));
}

#[test]
fn regex_with_flags() {
    let r = rule("  sel:\n    CommandLine|re: '^cmd\\.exe /c [a-z]+$'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "cmd.exe /c whoami")]));
    assert!(!hits(&r, &[("CommandLine", "CMD.exe /c whoami")]));
    let r = rule("  sel:\n    CommandLine|re|i: '^cmd\\.exe'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "CMD.exe /c whoami")]));
    let r = rule("  sel:\n    CommandLine|re|m: '^second$'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "first\nsecond")]));
    let r = rule("  sel:\n    CommandLine|re|s: 'a.b'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "a\nb")]));
}

#[test]
fn cidr_v4_and_v6() {
    let r = rule("  sel:\n    DestinationIp|cidr:\n      - '10.0.0.0/8'\n      - 'fd00::/8'\n  condition: sel\n");
    assert!(hits(&r, &[("DestinationIp", "10.20.30.40")]));
    assert!(hits(&r, &[("DestinationIp", "fd12::1")]));
    assert!(!hits(&r, &[("DestinationIp", "8.8.8.8")]));
    assert!(!hits(&r, &[("DestinationIp", "not an ip")]));
}

#[test]
fn base64_and_base64offset() {
    // "whoami" base64 is d2hvYW1p
    let r = rule("  sel:\n    CommandLine|base64|contains: 'whoami'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "powershell -e d2hvYW1p")]));
    let r = rule("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n");
    // "IEX http://x" and " http://" at offsets 1 and 2 within a longer text.
    for encoded in ["aHR0cDovL3g=", "IGh0dHA6Ly94", "ICBodHRwOi8veA=="] {
        assert!(hits(&r, &[("CommandLine", encoded)]), "{encoded}");
    }
    assert!(!hits(&r, &[("CommandLine", "aGVsbG8=")]));
}

#[test]
fn utf16_before_base64() {
    // "cmd" as UTF-16LE, base64: YwBtAGQA
    let r = rule("  sel:\n    CommandLine|wide|base64: 'cmd'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "YwBtAGQA")]));
    let r =
        rule("  sel:\n    CommandLine|utf16le|base64offset|contains: 'cmd'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "x YwBtAGQA y")]));
}

#[test]
fn windash() {
    let r = rule("  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel\n");
    for cmd in [
        "ps -exec bypass",
        "ps /exec bypass",
        "ps \u{2013}exec bypass",
        "ps \u{2015}exec bypass",
    ] {
        assert!(hits(&r, &[("CommandLine", cmd)]), "{cmd}");
    }
    assert!(!hits(&r, &[("CommandLine", "ps +exec bypass")]));
}

#[test]
fn cased() {
    let r = rule("  sel:\n    CommandLine|cased|contains: 'PowerShell'\n  condition: sel\n");
    assert!(hits(&r, &[("CommandLine", "x PowerShell y")]));
    assert!(!hits(&r, &[("CommandLine", "x powershell y")]));
}

#[test]
fn numeric_comparisons() {
    let r = rule("  sel:\n    LogonType|gte: 10\n    Size|lt: -1.5\n  condition: sel\n");
    assert!(hits(&r, &[("LogonType", "10"), ("Size", "-2")]));
    assert!(!hits(&r, &[("LogonType", "9"), ("Size", "-2")]));
    assert!(!hits(&r, &[("LogonType", "10"), ("Size", "-1.5")]));
    assert!(!hits(&r, &[("LogonType", "ten"), ("Size", "-2")]));
    let r = rule("  sel:\n    LogonType|gt: 3\n  condition: sel\n");
    assert!(hits(&r, &[("LogonType", "4")]));
    let r = rule("  sel:\n    LogonType|lte: 3\n  condition: sel\n");
    assert!(hits(&r, &[("LogonType", "3")]));
}

#[test]
fn fieldref_and_neq() {
    let r = rule("  sel:\n    SourceUser|fieldref: TargetUser\n  condition: sel\n");
    assert!(hits(&r, &[("SourceUser", "Bob"), ("TargetUser", "bob")]));
    assert!(!hits(&r, &[("SourceUser", "Bob"), ("TargetUser", "alice")]));
    let r = rule("  sel:\n    User|neq: SYSTEM\n  condition: sel\n");
    assert!(hits(&r, &[("User", "alice")]));
    assert!(!hits(&r, &[("User", "system")]));
}

#[test]
fn conditions_quantifiers_and_not() {
    let r = rule("  selection_a:\n    Image|endswith: '\\a.exe'\n  selection_b:\n    Image|endswith: '\\b.exe'\n  filter_x:\n    CommandLine|contains: safe\n  condition: 1 of selection_* and not filter_x\n");
    assert!(hits(&r, &[("Image", "C:\\b.exe"), ("CommandLine", "run")]));
    assert!(!hits(
        &r,
        &[("Image", "C:\\b.exe"), ("CommandLine", "safe run")]
    ));
    assert!(!hits(&r, &[("Image", "C:\\c.exe")]));
    let r = rule(
        "  s1:\n    Image|contains: a\n  s2:\n    Image|contains: b\n  condition: all of them\n",
    );
    assert!(hits(&r, &[("Image", "ab")]));
    assert!(!hits(&r, &[("Image", "a")]));
    let r = rule("  s1:\n    Image|contains: a\n  s2:\n    Image|contains: b\n  condition: (s1 or s2) and not (s1 and s2)\n");
    assert!(hits(&r, &[("Image", "a")]));
    assert!(!hits(&r, &[("Image", "ab")]));
}

#[test]
fn numbers_in_rules_match_text_and_numbers() {
    let r = rule("  sel:\n    EventID: 1\n    ProcessId: 4\n  condition: sel\n");
    assert!(hits(&r, &[("ProcessId", "4")]));
    assert!(!hits(&r, &[("ProcessId", "44")]));
}

#[test]
fn logsource_routing_keeps_rules_to_their_log() {
    let r = rule("  sel:\n    Image|endswith: '.exe'\n  condition: sel\n");
    let mut ev = Event::new(r.names());
    ev.kind = EventKind::Windows;
    ev.push("EventID", "4624", ValueKind::Num);
    ev.push("Channel", "Security", ValueKind::Str);
    ev.push("Image", "a.exe", ValueKind::Str);
    let mut out = Vec::new();
    r.matches(&ev, &mut out);
    assert!(
        out.is_empty(),
        "a process_creation rule met a 4624 logon event"
    );
}

/// Generic events are routed by their logsource; the routes of the last
/// logsource are remembered per thread, which must never leak a route to
/// an event of another logsource or to another rule set.
#[test]
fn generic_routes_follow_each_events_logsource() {
    let set = |rules: &[(&str, &str)]| {
        let mut b = RuleSetBuilder::new();
        for (id, service) in rules {
            b.add_yaml(
                &format!("{id}.yml"),
                &format!("title: {id}\nid: {id}\nlogsource:\n  product: m365\n  service: {service}\ndetection:\n  sel:\n    Operation: x\n  condition: sel\n"),
            );
        }
        b.build().0
    };
    let both = set(&[("ex", "exchange"), ("sp", "sharepoint")]);
    let exchange_only = set(&[("ex2", "exchange")]);
    let event = |set: &RuleSet, service: Option<&'static str>| {
        let mut ev = Event::new(set.names());
        ev.logsource.product = Some("m365");
        ev.logsource.service = service;
        ev.push("Operation", "x", ValueKind::Str);
        ev
    };
    let titles = |set: &RuleSet, service: Option<&'static str>| {
        let mut out = Vec::new();
        set.matches(&event(set, service), &mut out);
        out.iter()
            .map(|m| set.rule(m.rule).meta.title.clone())
            .collect::<Vec<_>>()
    };
    for _ in 0..2 {
        assert_eq!(titles(&both, Some("exchange")), ["ex"]);
        assert_eq!(titles(&both, Some("sharepoint")), ["sp"]);
        assert_eq!(
            titles(&exchange_only, Some("sharepoint")),
            Vec::<String>::new()
        );
        assert_eq!(titles(&exchange_only, Some("exchange")), ["ex2"]);
        assert_eq!(titles(&both, Some("exchange")), ["ex"]);
        assert_eq!(titles(&both, None), Vec::<String>::new());
        // The same name at another address is the same logsource.
        let leaked: &'static str = String::from("sharepoint").leak();
        assert_eq!(titles(&both, Some(leaked)), ["sp"]);
    }
}

#[test]
fn security_4688_fields_map_to_sysmon_names() {
    let r = rule("  sel:\n    Image|endswith: '\\ntdsutil.exe'\n  condition: sel\n");
    let mut ev = Event::new(r.names());
    ev.kind = EventKind::Windows;
    ev.push("EventID", "4688", ValueKind::Num);
    ev.push("Channel", "Security", ValueKind::Str);
    ev.push(
        "NewProcessName",
        "C:\\Windows\\System32\\ntdsutil.exe",
        ValueKind::Str,
    );
    let mut out = Vec::new();
    r.matches(&ev, &mut out);
    assert_eq!(out.len(), 1);
    let evidence = r.evidence(&out[0], &ev);
    assert_eq!(
        evidence,
        vec![(
            "NewProcessName".to_string(),
            "C:\\Windows\\System32\\ntdsutil.exe".to_string()
        )]
    );
}

#[test]
fn broken_rules_are_reported_with_reasons() {
    assert!(compile_error("  sel:\n    Image|bogus: x\n  condition: sel\n").contains("bogus"));
    assert!(compile_error("  sel:\n    Image: x\n  condition: nosuch\n").contains("nosuch"));
    assert!(
        compile_error("  sel:\n    Image|re: '(unclosed'\n  condition: sel\n").contains("regex")
    );
    assert!(compile_error("  sel:\n    Image: x\n").contains("condition"));
    assert!(
        compile_error("  sel:\n    Image: x\n  condition: sel | count() > 3\n")
            .contains("aggregation")
    );
}

#[test]
fn a_broken_file_does_not_stop_the_others() {
    let mut b = RuleSetBuilder::new();
    b.add_yaml("bad.yml", "title: [unclosed\n");
    b.add_yaml("bin.yml", "\u{0}\u{1}\u{2}");
    b.add_yaml(
        "good.yml",
        "title: ok\nid: ok\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1102\n  condition: sel\n",
    );
    let (set, report) = b.build();
    assert_eq!(set.len(), 1);
    assert_eq!(report.errors.len(), 2);
    assert!(report.errors.iter().any(|e| e.origin.contains("bad.yml")));
}

#[test]
fn duplicate_ids_are_skipped_and_reported() {
    let text = "title: ok\nid: same\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 1102\n  condition: sel\n";
    let mut b = RuleSetBuilder::new();
    b.add_yaml("a.yml", text);
    b.add_yaml("b.yml", text);
    let (set, report) = b.build();
    assert_eq!(set.len(), 1);
    assert_eq!(report.duplicates.len(), 1);
}

#[test]
fn time_part_modifiers() {
    let r = rule("  sel:\n    UtcTime|hour|gte: 22\n    UtcTime|month: 12\n  condition: sel\n");
    assert!(hits(&r, &[("UtcTime", "2024-12-30 23:10:00.123")]));
    assert!(!hits(&r, &[("UtcTime", "2024-12-30 21:10:00.123")]));
    assert!(!hits(&r, &[("UtcTime", "2024-11-30 23:10:00.123")]));
    assert!(!hits(&r, &[("UtcTime", "not a time")]));
    let r = rule("  sel:\n    UtcTime|week: 1\n    UtcTime|year: 2024\n    UtcTime|day: 30\n    UtcTime|minute: 10\n  condition: sel\n");
    assert!(hits(&r, &[("UtcTime", "2024-12-30T23:10:00Z")]));
}

#[test]
fn fieldref_with_placement() {
    let r = rule("  sel:\n    CommandLine|fieldref|contains: Image\n  condition: sel\n");
    assert!(hits(
        &r,
        &[("CommandLine", "run C:\\A.exe now"), ("Image", "c:\\a.exe")]
    ));
    assert!(!hits(
        &r,
        &[("CommandLine", "run b.exe"), ("Image", "c:\\a.exe")]
    ));
    let r = rule("  sel:\n    CommandLine|fieldref|endswith: Image\n  condition: sel\n");
    assert!(hits(
        &r,
        &[("CommandLine", "x c:\\a.exe"), ("Image", "c:\\a.exe")]
    ));
}

#[test]
fn expand_uses_placeholder_values() {
    let yaml = "title: t\nid: p\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    User|expand: '%Admins%'\n  condition: sel\n";
    // Without values the rule is refused, with the reason.
    let mut b = RuleSetBuilder::new();
    b.add_yaml("p.yml", yaml);
    let (_, report) = b.build();
    assert!(report.errors.is_empty());
    assert!(
        report.needs_placeholders[0].reason.contains("%Admins%"),
        "{:?}",
        report
    );
    let mut b = RuleSetBuilder::new();
    b.placeholders_yaml("Admins:\n  - 'CORP\\adm_*'\n  - root\n")
        .unwrap();
    b.add_yaml("p.yml", yaml);
    let (r, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(hits(&r, &[("User", "CORP\\adm_bob")]));
    assert!(hits(&r, &[("User", "root")]));
    assert!(!hits(&r, &[("User", "alice")]));
}

#[test]
fn filters_suppress_the_rules_they_name() {
    let base = "title: cmd\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nname: cmd_run\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n";
    let filter = "title: Filter admins\nlogsource:\n  product: windows\n  category: process_creation\nfilter:\n  rules:\n    - cmd_run\n  selection:\n    User|startswith: 'adm_'\n  condition: selection\n";
    let mut b = RuleSetBuilder::new();
    b.add_yaml("rule.yml", base);
    b.add_yaml("filter.yml", filter);
    let (r, report) = b.build();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.filters, 1);
    assert!(hits(&r, &[("Image", "C:\\cmd.exe"), ("User", "bob")]));
    assert!(!hits(&r, &[("Image", "C:\\cmd.exe"), ("User", "adm_bob")]));
    // A filter naming no loaded rule is reported.
    let mut b = RuleSetBuilder::new();
    b.add_yaml("filter.yml", filter);
    let (_, report) = b.build();
    assert!(report
        .unrouted
        .iter()
        .any(|p| p.reason.contains("names no loaded rule")));
}

/// Long `contains` lists are searched in one pass: the result must be the
/// same as testing each literal, with other alternatives, `neq`, keywords,
/// cased values and null values mixed in.
#[test]
fn long_contains_lists_mixed_with_other_alternatives() {
    let set = rule(
        "  selection:\n    CommandLine|contains:\n      - 'alpha'\n      - 'Beta'\n      - 'gamma'\n      - 'delta'\n      - 'epsilon'\n  other:\n    Image|endswith: '\\x.exe'\n  condition: selection or other",
    );
    assert!(hits(&set, &[("CommandLine", "run BETA now")]));
    assert!(hits(&set, &[("CommandLine", "xxepsilon")]));
    assert!(!hits(&set, &[("CommandLine", "alph bet gam")]));
    assert!(!hits(&set, &[("CommandLine", "<null>")]));
    assert!(hits(&set, &[("Image", "C:\\x.exe")]));

    // Mixed alternatives in one list: contains plus startswith/regex.
    let set = rule(
        "  selection:\n    CommandLine|contains:\n      - 'one'\n      - 'two'\n      - 'three'\n      - 'four'\n  exact:\n    CommandLine:\n      - 'whole'\n      - 'Also*'\n  condition: selection or exact",
    );
    assert!(hits(&set, &[("CommandLine", "WHOLE")]));
    assert!(hits(&set, &[("CommandLine", "also this")]));
    assert!(!hits(&set, &[("CommandLine", "the whole thing")]));
    assert!(hits(&set, &[("CommandLine", "x FOUR x")]));

    // neq over a long list: the field exists and no literal occurs.
    let set = rule(
        "  selection:\n    CommandLine|neq:\n      - 'a*'\n      - '*bb*'\n      - '*cc*'\n      - '*dd*'\n      - '*ee*'\n  condition: selection",
    );
    assert!(hits(&set, &[("CommandLine", "xyz")]));
    assert!(!hits(&set, &[("CommandLine", "xxddxx")]));
    assert!(!hits(&set, &[("CommandLine", "abc")]));
    assert!(!hits(&set, &[("Image", "xyz")]));

    // Keywords: any value of the event.
    let set = rule(
        "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n    - 'kerberos::'\n    - 'lsadump'\n  condition: keywords",
    );
    assert!(hits(
        &set,
        &[("Image", "C:\\a.exe"), ("CommandLine", "x LSADUMP::sam")]
    ));
    assert!(!hits(&set, &[("CommandLine", "lsa dump")]));

    // `all` keeps per-literal semantics: every literal must occur.
    let set = rule(
        "  selection:\n    CommandLine|contains|all:\n      - 'aa'\n      - 'bb'\n      - 'cc'\n      - 'dd'\n  condition: selection",
    );
    assert!(hits(&set, &[("CommandLine", "ddccbbaa")]));
    assert!(!hits(&set, &[("CommandLine", "aabbcc")]));
}

/// Non-ASCII literals are indexed as they are (lower-cased char by char
/// for `cased` matchers): the rule must still meet the events it matches
/// (typographic quotes, windash dashes, emoji, homoglyphs, bidi controls).
#[test]
fn non_ascii_literals_still_reach_their_rules() {
    let set = rule("  selection:\n    Description: 'GnuPG’s OpenPGP tool'\n  condition: selection");
    assert!(hits(&set, &[("Description", "GNUPG’S OPENPGP TOOL")]));
    assert!(!hits(&set, &[("Description", "GnuPG's OpenPGP tool")]));
    let set = rule(
        "  selection:\n    CommandLine|contains|windash: ' /i lsass.exe'\n  condition: selection",
    );
    assert!(hits(&set, &[("CommandLine", "findstr –i lsass.exe")]));
    assert!(hits(&set, &[("CommandLine", "findstr -i LSASS.EXE")]));
    assert!(!hits(&set, &[("CommandLine", "findstr lsass.exe")]));
    // Only non-ASCII in the literal: emoji, Cyrillic, right-to-left override.
    let set = rule(
        "  selection:\n    CommandLine|contains:\n      - '😀'\n      - \"\\u0410\"\n      - \"\\u202e\"\n  condition: selection",
    );
    assert!(hits(&set, &[("CommandLine", "echo 😀")]));
    assert!(hits(&set, &[("CommandLine", "p\u{0430}ypal.exe")]));
    assert!(hits(&set, &[("CommandLine", "P\u{0410}YPAL.EXE")]));
    assert!(hits(&set, &[("CommandLine", "invoice\u{202e}fdp.exe")]));
    assert!(!hits(&set, &[("CommandLine", "paypal.exe")]));
    // `cased`: the original text must hold the literal as written.
    let set = rule(
        "  selection:\n    CommandLine|contains|cased: \"\\u0410\\u0412\"\n  condition: selection",
    );
    assert!(hits(&set, &[("CommandLine", "x\u{0410}\u{0412}y")]));
    assert!(!hits(&set, &[("CommandLine", "x\u{0430}\u{0432}y")]));
    // Equality with a non-ASCII value, either case.
    let set = rule("  selection:\n    Product: 'ΣΥΣΤΗΜΑ'\n  condition: selection");
    assert!(hits(&set, &[("Product", "συστημα")]));
    assert!(hits(&set, &[("Product", "ΣΥΣΤΗΜΑ")]));
    assert!(!hits(&set, &[("Product", "ΣΥΣΤΗΜΑ 2")]));
}

/// Long lists of whole values, prefixes, suffixes and substrings (which
/// are compared from shared buffers and one automaton) match as the same
/// values one by one: any value of the list, case-insensitively unless
/// `cased`, and never a missing field.
#[test]
fn long_value_lists_match_as_their_values_one_by_one() {
    let lists = rule(concat!(
        "    ends:\n        Image|endswith: ['\\a.exe', '\\b.exe', '\\c.exe', '\\d.exe', '.scr']\n",
        "    starts:\n        Image|startswith: ['c:\\x\\', 'c:\\y\\', 'd:\\', 'e:\\', 'f:\\']\n",
        "    whole:\n        Image: ['one', 'two', 'three', 'four', 'Five']\n",
        "    mixed:\n        CommandLine: ['*alpha*', '*beta*', 'gamma*', 'eps*', '*delta', 'exact', 'e?x']\n",
        "    cased:\n        ParentImage|cased: ['Up', 'UP2', 'up3', 'uP4']\n",
        "    condition: 1 of them\n"
    ));
    for (fields, want) in [
        (&[("Image", "C:\\Windows\\A.EXE")][..], true),
        (&[("Image", "C:\\Windows\\x.scr")][..], true),
        (&[("Image", "C:\\Windows\\a.exe.bak")][..], false),
        (&[("Image", "D:\\tools\\z.bin")][..], true),
        (&[("Image", "C:\\X\\z.bin")][..], true),
        (&[("Image", "C:\\z\\x\\z.bin")][..], false),
        (&[("Image", "FIVE")][..], true),
        (&[("Image", "fives")][..], false),
        (&[("CommandLine", "run BETA now")][..], true),
        (&[("CommandLine", "Gamma ray")][..], true),
        (&[("CommandLine", "epsilon")][..], true),
        (&[("CommandLine", "say delta")][..], true),
        (&[("CommandLine", "delta say")][..], false),
        (&[("CommandLine", "EXACT")][..], true),
        (&[("CommandLine", "eyx")][..], true),
        (&[("CommandLine", "exactly")][..], false),
        (&[("ParentImage", "UP2")][..], true),
        (&[("ParentImage", "up2")][..], false),
        (&[("ParentImage", "up3")][..], true),
        (&[("User", "one")][..], false),
    ] {
        assert_eq!(hits(&lists, fields), want, "{fields:?}");
    }
}
