//! Each identity detector on small synthetic events: what must fire, and
//! what must not.

use std::sync::Arc;

use vigie_core::{
    parse_timestamp, Alert, Collector, Event, FieldNames, Findings, LogSource, StatefulRunner,
    ValueKind,
};
use vigie_identity::{
    Baseline, BaselineDetector, BaselineOptions, IdentityRules, OrphanTokenDetector,
};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const APP_OUTLOOK: &str = "5d661950-3475-41cd-a2c3-d671a3162bc1";
const APP_ODD: &str = "7c1e3f9a-5b2d-4e68-9a0f-2d5c8b1e4f73";

fn event(service: (&'static str, &'static str), time: &str, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Arc::new(FieldNames::new()));
    for (k, v) in fields {
        e.push(k, v, ValueKind::Str);
    }
    e.logsource = LogSource {
        product: Some(service.0),
        category: None,
        service: Some(service.1),
    };
    e.timestamp = parse_timestamp(time);
    e
}

/// A sign-in in the diagnostic-setting shape.
fn sign_in(
    time: &str,
    user: &str,
    token: &str,
    session: &str,
    place: (&str, &str, f64, f64),
) -> Event {
    let (lat, lon) = (place.2.to_string(), place.3.to_string());
    event(
        ("azure", "signinlogs"),
        time,
        &[
            ("tenantId", TENANT),
            ("properties.userPrincipalName", user),
            ("properties.userId", "oid-1"),
            ("properties.status.errorCode", "0"),
            ("properties.ipAddress", "203.0.113.7"),
            ("properties.location.city", place.0),
            ("properties.location.countryOrRegion", place.1),
            ("properties.location.geoCoordinates.latitude", &lat),
            ("properties.location.geoCoordinates.longitude", &lon),
            ("properties.uniqueTokenIdentifier", token),
            ("properties.sessionId", session),
            ("properties.isInteractive", "false"),
        ],
    )
}

/// MailItemsAccessed (Bind) in the Management API shape.
fn mail(time: &str, mailbox: &str, app: &str, token: &str, session: &str) -> Event {
    event(
        ("m365", "exchange"),
        time,
        &[
            ("Operation", "MailItemsAccessed"),
            ("OrganizationId", TENANT),
            ("MailboxOwnerUPN", mailbox),
            ("AppId", app),
            ("ClientAppId", app),
            ("ClientIPAddress", "198.51.100.9"),
            ("OperationProperties.Name", "MailAccessType"),
            ("OperationProperties.Value", "Bind"),
            ("AppAccessContext.UniqueTokenId", token),
            ("AppAccessContext.AADSessionId", session),
            ("Folders.Path", "\\Inbox"),
            ("Folders.FolderItems.InternetMessageId", "<a@example>"),
        ],
    )
}

fn owa_auth(time: &str, token: &str) -> Event {
    event(
        ("m365", "exchange"),
        time,
        &[
            ("Operation", "GetAccessTokenForResource"),
            ("RecordType", "275"),
            ("OrganizationId", TENANT),
            ("UserId", "ana@contoso.example"),
            ("UniqueTokenIdentifier", token),
            ("SessionId", ""),
        ],
    )
}

fn run(runner: &dyn StatefulRunner, events: &[Event]) -> Findings {
    for e in events {
        runner.observe(e, &[]);
    }
    runner.finish()
}

fn titles(f: &Findings) -> Vec<String> {
    f.alerts.iter().map(|(_, a)| a.rule.title.clone()).collect()
}

fn orphan() -> Collector<OrphanTokenDetector> {
    Collector::new(OrphanTokenDetector::new(
        &IdentityRules::new(),
        Default::default(),
    ))
}

const PARIS: (&str, &str, f64, f64) = ("Paris", "FR", 48.86, 2.35);
const HONG_KONG: (&str, &str, f64, f64) = ("Hong Kong", "HK", 22.32, 114.17);
const NEW_YORK: (&str, &str, f64, f64) = ("New York", "US", 40.71, -74.0);

#[test]
fn token_issued_by_a_sign_in_is_not_orphan_and_unknown_one_is() {
    let events = [
        sign_in(
            "2023-06-05T08:00:00Z",
            "ana@contoso.example",
            "uti-good",
            "sid-1",
            PARIS,
        ),
        mail(
            "2023-06-05T08:10:00Z",
            "ana@contoso.example",
            APP_OUTLOOK,
            "uti-good",
            "sid-1",
        ),
        mail(
            "2023-06-05T09:00:00Z",
            "ana@contoso.example",
            APP_ODD,
            "uti-forged",
            "",
        ),
        mail(
            "2023-06-05T09:05:00Z",
            "ana@contoso.example",
            APP_ODD,
            "uti-forged",
            "",
        ),
        // An unknown token id on a known session: refreshed, not forged.
        mail(
            "2023-06-05T09:10:00Z",
            "ana@contoso.example",
            APP_OUTLOOK,
            "uti-other",
            "sid-1",
        ),
        sign_in(
            "2023-06-05T18:00:00Z",
            "ana@contoso.example",
            "uti-late",
            "sid-2",
            PARIS,
        ),
    ];
    let f = run(&orphan(), &events);
    assert_eq!(titles(&f), ["Cloud Access With A Token No Sign-In Issued"]);
    let alert: &Alert = &f.alerts[0].1;
    let ev = |k: &str| {
        alert
            .evidence
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(ev("TokenId"), Some("uti-forged"));
    assert_eq!(ev("Uses"), Some("2"));
    assert_eq!(alert.user.as_deref(), Some("ana@contoso.example"));
}

#[test]
fn without_non_interactive_sign_ins_orphans_are_medium() {
    let mut interactive = sign_in(
        "2023-06-05T08:00:00Z",
        "ana@contoso.example",
        "u1",
        "s1",
        PARIS,
    );
    let fields: Vec<(String, String)> = interactive
        .iter()
        .filter(|(k, _)| *k != "properties.isInteractive")
        .map(|(k, v)| (k.to_owned(), v.text.to_owned()))
        .chain([("properties.isInteractive".to_owned(), "true".to_owned())])
        .collect();
    let timestamp = interactive.timestamp;
    let logsource = interactive.logsource;
    interactive.clear();
    for (k, v) in &fields {
        interactive.push(k, v, ValueKind::Str);
    }
    interactive.timestamp = timestamp;
    interactive.logsource = logsource;
    let events = [
        interactive,
        mail(
            "2023-06-05T09:00:00Z",
            "ana@contoso.example",
            APP_ODD,
            "uti-x",
            "",
        ),
    ];
    let f = run(&orphan(), &events);
    assert_eq!(f.alerts.len(), 1);
    assert_eq!(f.alerts[0].1.rule.level, vigie_core::Level::Medium);
    assert!(f.notes.iter().any(|n| n.contains("non-interactive")));
}

#[test]
fn a_token_older_than_its_lifetime_does_not_match() {
    let events = [
        sign_in(
            "2023-06-05T08:00:00Z",
            "ana@contoso.example",
            "uti-1",
            "sid-1",
            PARIS,
        ),
        sign_in(
            "2023-06-08T08:00:00Z",
            "ana@contoso.example",
            "uti-2",
            "sid-2",
            PARIS,
        ),
        // Three days later, the same token id: no sign-in within 28 hours.
        mail(
            "2023-06-08T09:00:00Z",
            "ana@contoso.example",
            APP_OUTLOOK,
            "uti-1",
            "",
        ),
    ];
    assert_eq!(titles(&run(&orphan(), &events)).len(), 1);
}

#[test]
fn without_sign_in_coverage_nothing_is_alerted_and_a_note_says_so() {
    let f = run(
        &orphan(),
        &[mail(
            "2023-06-05T09:00:00Z",
            "ana@contoso.example",
            APP_ODD,
            "uti-x",
            "",
        )],
    );
    assert!(f.alerts.is_empty());
    assert!(
        f.notes.iter().any(|n| n.contains("no sign-in logs")),
        "{:?}",
        f.notes
    );
    // Sign-in logs that start after the token was issued do not cover it.
    let events = [
        mail(
            "2023-06-05T09:00:00Z",
            "ana@contoso.example",
            APP_ODD,
            "uti-x",
            "",
        ),
        sign_in(
            "2023-06-06T08:00:00Z",
            "ana@contoso.example",
            "uti-1",
            "sid-1",
            PARIS,
        ),
    ];
    let f = run(&orphan(), &events);
    assert!(f.alerts.is_empty());
    assert!(
        f.notes.iter().any(|n| n.contains("outside the time")),
        "{:?}",
        f.notes
    );
}

#[test]
fn owa_token_issuance_without_sign_in() {
    let events = [
        sign_in(
            "2023-06-05T08:00:00Z",
            "ana@contoso.example",
            "uti-good",
            "sid-1",
            PARIS,
        ),
        owa_auth("2023-06-05T08:05:00Z", "uti-good"),
        owa_auth("2023-06-05T10:00:00Z", "uti-minted"),
        sign_in(
            "2023-06-05T18:00:00Z",
            "ana@contoso.example",
            "uti-late",
            "sid-2",
            PARIS,
        ),
    ];
    let f = run(&orphan(), &events);
    assert_eq!(titles(&f), ["OWA Access Token Issued Without A Sign-In"]);
}

fn baseline(options: BaselineOptions) -> Collector<BaselineDetector> {
    Collector::new(BaselineDetector::new(&IdentityRules::new(), options))
}

fn learn_one_day() -> BaselineOptions {
    BaselineOptions {
        learn_days: Some(1.0),
        ..Default::default()
    }
}

#[test]
fn first_seen_mail_app_per_tenant_and_per_mailbox() {
    let events = [
        mail(
            "2023-06-05T08:00:00Z",
            "ana@contoso.example",
            APP_OUTLOOK,
            "t1",
            "s1",
        ),
        mail(
            "2023-06-07T08:00:00Z",
            "ana@contoso.example",
            APP_OUTLOOK,
            "t2",
            "s1",
        ),
        mail(
            "2023-06-07T09:00:00Z",
            "ana@contoso.example",
            APP_ODD,
            "t3",
            "",
        ),
        mail(
            "2023-06-07T09:30:00Z",
            "ana@contoso.example",
            APP_ODD,
            "t3",
            "",
        ),
        mail(
            "2023-06-07T10:00:00Z",
            "bob@contoso.example",
            APP_OUTLOOK,
            "t4",
            "s2",
        ),
    ];
    let f = run(&baseline(learn_one_day()), &events);
    assert_eq!(
        titles(&f),
        [
            "Mail Read By An Application New To The Tenant",
            "Mail Read By An Application New To The Mailbox"
        ]
    );
}

#[test]
fn a_saved_baseline_is_known_in_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.json");
    let first = [mail(
        "2023-06-05T08:00:00Z",
        "ana@contoso.example",
        APP_ODD,
        "t1",
        "",
    )];
    let save = BaselineOptions {
        save: Some(path.clone()),
        ..Default::default()
    };
    let f = run(&baseline(save), &first);
    assert!(f.notes.iter().any(|n| n.contains("baseline saved")));
    let loaded = Baseline::load(&path).unwrap();
    assert_eq!(loaded.tenant_mail_apps.len(), 1);
    let later = [mail(
        "2023-07-05T08:00:00Z",
        "ana@contoso.example",
        APP_ODD,
        "t9",
        "",
    )];
    let with = BaselineOptions {
        baseline: Some(loaded),
        ..Default::default()
    };
    assert!(run(&baseline(with), &later).alerts.is_empty());
    // Without it, the same record is judged from the start (--learn-days 0).
    let without = BaselineOptions {
        learn_days: Some(0.0),
        ..Default::default()
    };
    assert_eq!(run(&baseline(without), &later).alerts.len(), 1);
    std::fs::write(&path, "{\"version\": 99}").unwrap();
    assert!(Baseline::load(&path).is_err());
}

#[test]
fn new_country_once_and_impossible_travel() {
    let user = "ana@contoso.example";
    let events = [
        sign_in("2023-06-05T08:00:00Z", user, "u1", "s1", PARIS),
        sign_in("2023-06-07T08:00:00Z", user, "u2", "s1", PARIS),
        // 9,600 km in 30 minutes.
        sign_in("2023-06-07T08:30:00Z", user, "u3", "s1", HONG_KONG),
        // Back "home": judged against Paris, not the implausible position.
        sign_in("2023-06-07T09:00:00Z", user, "u4", "s1", PARIS),
        // A real trip: 5,800 km in 20 hours.
        sign_in("2023-06-08T05:00:00Z", user, "u5", "s1", NEW_YORK),
        sign_in("2023-06-08T09:00:00Z", user, "u6", "s1", NEW_YORK),
    ];
    let f = run(&baseline(learn_one_day()), &events);
    assert_eq!(
        titles(&f),
        [
            "Sign-In From A Country New For The User",
            "Impossible Travel Between Sign-Ins",
            "Sign-In From A Country New For The User",
        ]
    );
    let travel = &f.alerts[1].1;
    assert!(travel
        .evidence
        .iter()
        .any(|(k, v)| k == "TokenId" && v == "u3"));
    assert_eq!(travel.rule.level, vigie_core::Level::High);
}

#[test]
fn new_networks_are_counted_and_alerted_only_on_request() {
    let user = "ana@contoso.example";
    let mut late = sign_in("2023-06-07T08:00:00Z", user, "u2", "s1", PARIS);
    late.clear();
    for (k, v) in [
        ("properties.userPrincipalName", user),
        ("properties.ipAddress", "100.64.3.4"),
        ("properties.status.errorCode", "0"),
    ] {
        late.push(k, v, ValueKind::Str);
    }
    late.logsource = LogSource {
        product: Some("azure"),
        category: None,
        service: Some("signinlogs"),
    };
    late.timestamp = parse_timestamp("2023-06-07T08:00:00Z");
    let events = [
        sign_in("2023-06-05T08:00:00Z", user, "u1", "s1", PARIS),
        late,
    ];
    let f = run(&baseline(learn_one_day()), &events);
    assert!(f.alerts.is_empty());
    assert!(f
        .notes
        .iter()
        .any(|n| n.contains("1 sign-ins from networks new")));
    let on = BaselineOptions {
        alert_new_networks: true,
        ..learn_one_day()
    };
    let f = run(&baseline(on), &events);
    assert_eq!(titles(&f), ["Sign-In From A Network New For The User"]);
}

/// A sign-in whose log gives only the client address.
fn sign_in_from(time: &str, user: &str, token: &str, ip: &str) -> Event {
    event(
        ("azure", "signinlogs"),
        time,
        &[
            ("tenantId", TENANT),
            ("properties.userPrincipalName", user),
            ("properties.status.errorCode", "0"),
            ("properties.ipAddress", ip),
            ("properties.uniqueTokenIdentifier", token),
            ("properties.isInteractive", "false"),
        ],
    )
}

/// Writes a City-layout MaxMind database: 192.0.2.0/24 in Paris,
/// 198.51.100.0/24 in Hong Kong.
fn geo_database(path: &std::path::Path) {
    let mut writer = mmdb_writer::Writer::new("GeoLite2-City");
    let place = |iso: &str, city: &str, lat: f64, lon: f64| {
        serde_json::json!({
            "country": { "iso_code": iso },
            "city": { "names": { "en": city } },
            "location": { "latitude": lat, "longitude": lon },
        })
    };
    let paris: ipnet::IpNet = "192.0.2.0/24".parse().unwrap();
    let hong_kong: ipnet::IpNet = "198.51.100.0/24".parse().unwrap();
    writer
        .insert(paris, &place("FR", "Paris", 48.86, 2.35))
        .unwrap();
    writer
        .insert(hong_kong, &place("HK", "Hong Kong", 22.32, 114.17))
        .unwrap();
    std::fs::write(path, writer.to_bytes().unwrap()).unwrap();
}

/// Without location fields in the log, `--geoip` locates sign-ins from
/// their IP: the same impossible trip is found with the database and not
/// without it; a file that is not a database is refused with its name.
#[test]
fn a_maxmind_database_locates_sign_ins_without_location() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("city.mmdb");
    geo_database(&db_path);
    let user = "ana@contoso.example";
    let events = [
        sign_in_from("2023-06-05T08:00:00Z", user, "u1", "192.0.2.10"),
        sign_in_from("2023-06-07T08:00:00Z", user, "u2", "192.0.2.11:50123"),
        sign_in_from("2023-06-07T08:30:00Z", user, "u3", "198.51.100.20"),
    ];
    let db = vigie_identity::GeoDb::open(&db_path).unwrap();
    let with = BaselineOptions {
        geoip: Some(std::sync::Arc::new(db)),
        ..learn_one_day()
    };
    let f = run(&baseline(with), &events);
    assert_eq!(
        titles(&f),
        [
            "Sign-In From A Country New For The User",
            "Impossible Travel Between Sign-Ins"
        ]
    );
    let without = run(&baseline(learn_one_day()), &events);
    assert!(titles(&without).is_empty(), "{:?}", titles(&without));

    let bogus = dir.path().join("not.mmdb");
    std::fs::write(&bogus, b"hello").unwrap();
    let err = vigie_identity::GeoDb::open(&bogus).unwrap_err();
    assert!(err.contains("not.mmdb"), "{err}");
}
