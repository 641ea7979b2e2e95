//! The simulated tenant: determinism, join keys, ground truth, shapes and
//! field names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vigie_sim::{simulate, Attack, Config, Shape};

const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

fn run(
    users: usize,
    days: u32,
    seed: u64,
    attack: bool,
    shapes: &[Shape],
) -> (tempfile::TempDir, vigie_sim::Summary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        users,
        days,
        seed,
        attack: attack.then_some(Attack::Storm0558),
        shapes: shapes.to_vec(),
        ..Config::default()
    };
    let summary = simulate(&config, dir.path()).expect("simulation runs");
    (dir, summary)
}

/// Every file under `dir`, relative path → bytes, in a fixed order.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").to_owned();
                out.insert(rel, fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

fn files_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn json_lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .expect("read jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The items of every envelope (`value` or `records`) of the matching files.
fn enveloped(dir: &Path, prefix: &str, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in files_in(dir, prefix) {
        let doc: Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("JSON document");
        let items = doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("{} has a {key} array", path.display()));
        out.extend(items.iter().cloned());
    }
    out
}

fn ual_records(out: &Path) -> Vec<Value> {
    let dir = out.join("ual-json");
    let mut records = json_lines(&dir.join("Audit.Exchange.jsonl"));
    records.extend(json_lines(&dir.join("Audit.SharePoint.jsonl")));
    records
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_str().unwrap_or("")
}

fn ground_truth(out: &Path) -> Value {
    serde_json::from_str(
        &fs::read_to_string(out.join("ground-truth.json")).expect("ground truth written"),
    )
    .expect("ground truth is JSON")
}

fn string_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// UAL time `2023-06-12T14:03:27` or Graph time `…Z` as comparable seconds.
fn seconds(stamp: &str) -> i64 {
    let s = stamp.trim_end_matches('Z');
    let (date, clock) = s.split_once('T').expect("date and time");
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().expect("number"))
        .collect();
    let c: Vec<i64> = clock
        .split(['.', ':'])
        .take(3)
        .map(|x| x.parse().expect("number"))
        .collect();
    // Days from a fixed month table are enough for ordering within a year.
    let days_before_month = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let day = d[0] * 366 + days_before_month[(d[1] - 1) as usize] + d[2];
    day * 86_400 + c[0] * 3600 + c[1] * 60 + c[2]
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = run(8, 4, 42, true, &Shape::ALL);
    let (b, _) = run(8, 4, 42, true, &Shape::ALL);
    let (c, _) = run(8, 4, 43, true, &Shape::ALL);
    let ta = tree(a.path());
    let tb = tree(b.path());
    assert!(!ta.is_empty());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(
            bytes == &tb[path],
            "{} differs between two runs of one seed",
            path.display()
        );
    }
    let tc = tree(c.path());
    let differing = ta
        .iter()
        .filter(|(p, bytes)| tc.get(*p) != Some(*bytes))
        .count();
    assert_eq!(differing, ta.len(), "another seed changes every file");
}

#[test]
fn tokens_join_their_sign_ins_and_attack_tokens_join_none() {
    let (out, summary) = run(
        24,
        6,
        7,
        true,
        &[Shape::UalJson, Shape::EntraDiagnostic, Shape::GraphActivity],
    );
    let out = out.path();
    assert!(summary.attack_events > 0);
    let truth = ground_truth(out);
    let attack_ual = string_set(&truth["records"]["ual"]);
    let attack_graph = string_set(&truth["records"]["graph_activity"]);

    // uti → (issued, session id) of every successful sign-in.
    let mut issued = BTreeMap::new();
    for record in enveloped(&out.join("entra-diagnostic"), "signins-", "records") {
        let p = &record["properties"];
        if p["status"]["errorCode"] == 0 {
            issued.insert(
                str_of(p, &["uniqueTokenIdentifier"]).to_owned(),
                (
                    seconds(str_of(p, &["createdDateTime"])),
                    str_of(p, &["sessionId"]).to_owned(),
                ),
            );
        }
    }
    assert!(!issued.is_empty());

    let mut legit_mail = 0;
    let mut attack_mail = 0;
    let mut attack_owa = 0;
    for record in ual_records(out) {
        let id = str_of(&record, &["Id"]);
        let (uti, session) = match str_of(&record, &["Operation"]) {
            "MailItemsAccessed" => (
                str_of(&record, &["AppAccessContext", "UniqueTokenId"]),
                str_of(&record, &["SessionId"]),
            ),
            _ if record["RecordType"] == 275 => (
                str_of(&record, &["UniqueTokenIdentifier"]),
                str_of(&record, &["SessionId"]),
            ),
            _ => continue,
        };
        assert!(!uti.is_empty(), "record {id} has a token id");
        if attack_ual.contains(id) {
            assert!(
                !issued.contains_key(uti),
                "attack token {uti} has no sign-in"
            );
            if record["RecordType"] == 275 {
                attack_owa += 1;
            } else {
                attack_mail += 1;
                assert_eq!(str_of(&record, &["TokenTenantId"]), CONSUMER_TENANT);
            }
            continue;
        }
        let (sign_in_at, sign_in_session) = issued
            .get(uti)
            .unwrap_or_else(|| panic!("record {id}: token {uti} has a sign-in"));
        let at = seconds(str_of(&record, &["CreationTime"]));
        assert!(
            at + 1 >= *sign_in_at && at <= sign_in_at + 90 * 60,
            "record {id} within its token's lifetime"
        );
        assert_eq!(
            session, sign_in_session,
            "record {id}: SessionId is the sign-in's"
        );
        if record["Operation"] == "MailItemsAccessed" {
            assert_eq!(
                str_of(&record, &["AppAccessContext", "AADSessionId"]),
                sign_in_session
            );
            assert_ne!(str_of(&record, &["TokenTenantId"]), CONSUMER_TENANT);
            legit_mail += 1;
        }
    }
    assert!(legit_mail > 1000 && attack_mail > 0 && attack_owa > 0);

    // Graph: the same join on signInActivityId; the attack's forged tokens join nothing.
    let forged: BTreeSet<String> = truth["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter(|t| t["has_sign_in"] == false)
        .map(|t| str_of(t, &["id"]).to_owned())
        .collect();
    for record in enveloped(&out.join("graph-activity"), "activity-", "records") {
        let p = &record["properties"];
        let uti = str_of(p, &["signInActivityId"]);
        if forged.contains(uti) {
            assert!(attack_graph.contains(str_of(p, &["requestId"])));
            assert!(!issued.contains_key(uti));
        } else {
            let (sign_in_at, session) = issued
                .get(uti)
                .unwrap_or_else(|| panic!("graph token {uti} has a sign-in"));
            let at = seconds(str_of(p, &["timeGenerated"]));
            assert!(at + 1 >= *sign_in_at && at <= sign_in_at + 90 * 60);
            assert_eq!(str_of(p, &["c_Sid"]), session);
        }
    }
}

#[test]
fn ground_truth_matches_the_attack_records() {
    let (out, _) = run(
        30,
        8,
        3,
        true,
        &[Shape::UalJson, Shape::EntraDiagnostic, Shape::GraphActivity],
    );
    let out = out.path();
    let truth = ground_truth(out);
    let attack_ual = string_set(&truth["records"]["ual"]);
    let actor_ips = string_set(&truth["actor"]["ips"]);
    let mut listed = BTreeSet::new();
    let mut upns = BTreeSet::new();
    for mailbox in truth["mailboxes"].as_array().expect("mailboxes") {
        upns.insert(str_of(mailbox, &["upn"]).to_owned());
        listed.extend(string_set(&mailbox["read"]));
        listed.extend(string_set(&mailbox["synced"]));
    }
    assert!(upns.len() >= 2, "several mailboxes");
    let mut in_records = BTreeSet::new();
    let mut found_ids = BTreeSet::new();
    for record in ual_records(out) {
        let id = str_of(&record, &["Id"]).to_owned();
        if !attack_ual.contains(&id) {
            continue;
        }
        found_ids.insert(id);
        assert!(actor_ips.contains(str_of(&record, &["ClientIP"])));
        assert!(upns.contains(str_of(&record, &["UserId"])));
        for folder in record["Folders"].as_array().into_iter().flatten() {
            for item in folder["FolderItems"].as_array().into_iter().flatten() {
                in_records.insert(str_of(item, &["InternetMessageId"]).to_owned());
            }
        }
    }
    assert_eq!(
        found_ids, attack_ual,
        "every attack record id is in the files"
    );
    assert!(!listed.is_empty());
    assert_eq!(
        listed, in_records,
        "ground-truth message ids = message ids of the attack records"
    );
    let stages: BTreeSet<String> = truth["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| str_of(s, &["name"]).to_owned())
        .collect();
    for stage in [
        "owa-token-issuance",
        "mailbox-read",
        "mailbox-sync",
        "graph-mail-access",
    ] {
        assert!(stages.contains(stage), "stage {stage} present");
    }
}

#[test]
fn every_shape_carries_the_same_events() {
    let (out, summary) = run(12, 5, 11, true, &Shape::ALL);
    let out = out.path();
    // UAL: management API lines vs Purview CSV rows.
    let api: Vec<String> = ual_records(out)
        .iter()
        .map(|r| str_of(r, &["Id"]).to_owned())
        .collect();
    let mut reader =
        csv::Reader::from_path(out.join("ual-purview-csv").join("audit-export.csv")).expect("csv");
    let headers = reader.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["CreationDate", "UserIds", "Operations", "AuditData"]
    );
    let mut from_csv = Vec::new();
    for row in reader.records() {
        let row = row.expect("row");
        let audit: Value = serde_json::from_str(&row[3]).expect("AuditData is JSON");
        assert_eq!(str_of(&audit, &["Operation"]), &row[2]);
        assert_eq!(str_of(&audit, &["UserId"]), &row[1]);
        from_csv.push(str_of(&audit, &["Id"]).to_owned());
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(api.len() as u64, summary.ual);
    assert_eq!(sorted(api), sorted(from_csv));

    // Sign-ins and audit events: Graph pages vs diagnostic records.
    let graph_signins: Vec<String> = enveloped(&out.join("entra-graph"), "signIns-", "value")
        .iter()
        .map(|r| str_of(r, &["id"]).to_owned())
        .collect();
    let diag_signins: Vec<String> = enveloped(&out.join("entra-diagnostic"), "signins-", "records")
        .iter()
        .map(|r| str_of(r, &["properties", "id"]).to_owned())
        .collect();
    assert_eq!(graph_signins.len() as u64, summary.sign_ins);
    assert_eq!(sorted(graph_signins), sorted(diag_signins));
    let graph_audits: Vec<String> =
        enveloped(&out.join("entra-graph"), "directoryAudits-", "value")
            .iter()
            .map(|r| str_of(r, &["id"]).to_owned())
            .collect();
    let diag_audits: Vec<String> = enveloped(&out.join("entra-diagnostic"), "audit-", "records")
        .iter()
        .map(|r| str_of(r, &["properties", "id"]).to_owned())
        .collect();
    assert_eq!(graph_audits.len() as u64, summary.directory_audits);
    assert_eq!(sorted(graph_audits), sorted(diag_audits));
}

fn assert_fields(record: &Value, fields: &[&str], what: &str) {
    for field in fields {
        let mut cur = record;
        for key in field.split('.') {
            cur = &cur[key];
        }
        assert!(!cur.is_null(), "{what} has `{field}`: {record}");
    }
}

#[test]
fn records_carry_the_threat_brief_field_names() {
    let (out, _) = run(10, 5, 5, true, &Shape::ALL);
    let out = out.path();
    let common = [
        "CreationTime",
        "Id",
        "Operation",
        "OrganizationId",
        "RecordType",
        "ResultStatus",
        "UserKey",
        "UserType",
        "Workload",
        "ClientIP",
        "UserId",
    ];
    let mut seen = BTreeSet::new();
    for record in ual_records(out) {
        assert_fields(&record, &common, "UAL record");
        let op = str_of(&record, &["Operation"]).to_owned();
        match op.as_str() {
            "MailItemsAccessed" => {
                assert_eq!(record["RecordType"], 50);
                assert_fields(
                    &record,
                    &[
                        "AppId",
                        "ClientAppId",
                        "ClientIPAddress",
                        "ClientInfoString",
                        "LogonType",
                        "MailboxOwnerUPN",
                        "MailboxGuid",
                        "SessionId",
                        "TokenObjectId",
                        "TokenTenantId",
                        "OperationProperties",
                        "OperationCount",
                        "Folders",
                        "AppAccessContext.UniqueTokenId",
                        "AppAccessContext.IssuedAtTime",
                    ],
                    "MailItemsAccessed",
                );
                let kind = &record["OperationProperties"][0];
                assert_eq!(kind["Name"], "MailAccessType");
                assert!(kind["Value"] == "Bind" || kind["Value"] == "Sync");
                assert_fields(
                    &record["Folders"][0],
                    &["Id", "Path", "FolderItems"],
                    "folder",
                );
                assert_fields(
                    &record["Folders"][0]["FolderItems"][0],
                    &["InternetMessageId", "SizeInBytes"],
                    "folder item",
                );
            }
            "GetAccessTokenForResource" => {
                assert_eq!(record["RecordType"], 275);
                assert_fields(
                    &record,
                    &["UniqueTokenIdentifier", "ResourceURL"],
                    "OWAAuth",
                );
            }
            "New-InboxRule" => assert_fields(&record, &["Parameters"], "inbox rule"),
            _ => assert_fields(
                &record,
                &[
                    "ObjectId",
                    "SiteUrl",
                    "SourceFileName",
                    "AppAccessContext.UniqueTokenId",
                ],
                "SharePoint",
            ),
        }
        seen.insert(op);
    }
    assert!(seen.contains("MailItemsAccessed") && seen.contains("GetAccessTokenForResource"));
    for record in enveloped(&out.join("entra-diagnostic"), "signins-", "records") {
        assert_fields(
            &record,
            &[
                "time",
                "resourceId",
                "operationName",
                "category",
                "tenantId",
                "resultType",
                "callerIpAddress",
                "correlationId",
                "properties",
            ],
            "diagnostic sign-in",
        );
        assert_fields(
            &record["properties"],
            &[
                "id",
                "createdDateTime",
                "userPrincipalName",
                "userId",
                "appId",
                "appDisplayName",
                "ipAddress",
                "clientAppUsed",
                "correlationId",
                "isInteractive",
                "resourceId",
                "status.errorCode",
                "deviceDetail.operatingSystem",
                "location.countryOrRegion",
                "location.geoCoordinates.latitude",
                "userAgent",
                "uniqueTokenIdentifier",
                "sessionId",
                "resourceTenantId",
            ],
            "sign-in",
        );
    }
    for record in enveloped(&out.join("entra-diagnostic"), "audit-", "records") {
        assert_eq!(record["category"], "AuditLogs");
        assert_fields(
            &record["properties"],
            &[
                "id",
                "activityDisplayName",
                "activityDateTime",
                "category",
                "loggedByService",
                "operationType",
                "initiatedBy",
                "targetResources",
                "correlationId",
            ],
            "audit",
        );
    }
    for record in enveloped(&out.join("graph-activity"), "activity-", "records") {
        assert_eq!(record["category"], "MicrosoftGraphActivityLogs");
        assert_eq!(record["operationName"], "Microsoft Graph Activity");
        assert_fields(
            &record["properties"],
            &[
                "requestId",
                "requestMethod",
                "requestUri",
                "responseStatusCode",
                "ipAddress",
                "userAgent",
                "appId",
                "userId",
                "tenantId",
                "signInActivityId",
                "tokenIssuedAt",
                "clientAuthMethod",
                "c_Sid",
            ],
            "Graph activity",
        );
    }
}

#[test]
fn without_attack_no_ground_truth_and_no_consumer_tokens() {
    let (out, summary) = run(10, 4, 9, false, &[Shape::UalJson]);
    assert_eq!(summary.attack_events, 0);
    assert!(summary.ground_truth.is_none());
    assert!(!out.path().join("ground-truth.json").exists());
    let text =
        fs::read_to_string(out.path().join("ual-json").join("Audit.Exchange.jsonl")).expect("read");
    assert!(!text.contains(CONSUMER_TENANT));
}

#[test]
fn bad_configuration_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        start: "2023-13-01".to_owned(),
        ..Config::default()
    };
    assert!(simulate(&config, dir.path()).is_err());
    config.start = vigie_sim::DEFAULT_START.to_owned();
    config.users = 0;
    assert!(simulate(&config, dir.path()).is_err());
    assert!(Shape::parse_list("ual-json,nope").is_err());
    assert_eq!(Shape::parse_list("all").map(|s| s.len()), Ok(5));
}
