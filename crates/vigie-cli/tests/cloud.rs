//! `vigie hunt` over cloud exports: one record in every shape gives the
//! same detections; a folder mixing shapes, duplicates, a broken export and
//! an unknown file is read with each problem reported.

mod common;

use std::path::Path;

use common::{detections, vigie};

const UAL: &str = r#"{"CreationTime":"2023-06-12T14:03:27","Id":"6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11","Operation":"Disable Strong Authentication.","RecordType":8,"ResultStatus":"Success","Workload":"AzureActiveDirectory","ClientIP":"185.73.124.135:19823","ObjectId":"bob@contoso.example","UserId":"admin@contoso.example","ModifiedProperties":[{"Name":"StrongAuthenticationRequirement","NewValue":"[]","OldValue":"[{\"State\":1}]"}],"ExtendedProperties":[{"Name":"UserAgent","Value":"python-requests/2.31"}]}"#;

const UAL_RULE: &str = r#"title: MFA disabled from a script
id: 0c4d3a8e-1111-4a5b-9c7d-000000000001
status: test
logsource:
    product: m365
    service: audit
detection:
    selection:
        Operation|contains: 'Disable Strong Authentication.'
        ModifiedProperties.StrongAuthenticationRequirement.NewValue: '[]'
        ExtendedProperties.UserAgent|startswith: 'python-requests'
        ClientIP|cidr: '185.73.124.0/24'
    condition: selection
level: high
"#;

const SIGNIN_RULE: &str = r#"title: Failed sign-in to Exchange
id: 0c4d3a8e-1111-4a5b-9c7d-000000000002
status: test
logsource:
    product: azure
    service: signinlogs
detection:
    selection:
        ResultType: 50126
        ResourceDisplayName: 'Office 365 Exchange Online'
        conditionalAccessStatus: notApplied
        userAgent|contains: 'BAV2ROPC'
    condition: selection
level: medium
"#;

fn csv_cell(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// (file name, content) of the UAL record in each export shape.
fn ual_shapes() -> Vec<(&'static str, String)> {
    let record: serde_json::Value = serde_json::from_str(UAL).unwrap();
    let mut sentinel = record.as_object().cloned().unwrap_or_default();
    sentinel.remove("Workload");
    sentinel.remove("CreationTime");
    sentinel.insert("OfficeWorkload".into(), "AzureActiveDirectory".into());
    sentinel.insert("TimeGenerated".into(), "2023-06-12T14:03:27Z".into());
    sentinel.insert("Type".into(), "OfficeActivity".into());
    for bag in ["ModifiedProperties", "ExtendedProperties"] {
        let text = sentinel[bag].to_string();
        sentinel.insert(bag.into(), text.into());
    }
    vec![
        ("management-api.json", format!("[{UAL}]")),
        ("management-api.jsonl", format!("{UAL}\n{UAL}\n")),
        (
            "search-unifiedauditlog.csv",
            format!(
                "\"RecordType\",\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\",\"ResultIndex\",\"ResultCount\",\"Identity\",\"IsValid\",\"ObjectState\"\n\"AzureActiveDirectory\",\"6/12/2023 4:03:27 PM\",\"admin@contoso.example\",\"Disable Strong Authentication.\",{},\"1\",\"1\",\"6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11\",\"True\",\"Unchanged\"\n",
                csv_cell(UAL)
            ),
        ),
        (
            "purview.csv",
            format!(
                "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\n6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11,2023-06-12T14:03:27.0000000Z ,8,Disable Strong Authentication.,admin@contoso.example,{},,\n",
                csv_cell(UAL)
            ),
        ),
        ("sentinel.json", serde_json::Value::Object(sentinel).to_string()),
        (
            "graph.json",
            serde_json::json!({"value": [{"id": "6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11", "createdDateTime": "2023-06-12T14:03:27Z", "auditLogRecordType": "azureActiveDirectory", "operation": "Disable Strong Authentication.", "service": "AzureActiveDirectory", "clientIp": "185.73.124.135:19823", "auditData": record}]}).to_string(),
        ),
    ]
}

/// A failed legacy-auth sign-in in the Graph, diagnostic and Log Analytics
/// shapes.
fn signin_shapes() -> Vec<(&'static str, String)> {
    let graph = serde_json::json!({"id": "088b4409-0000-425d-b777-2c8c6c380b00", "createdDateTime": "2023-06-12T13:58:02Z", "userPrincipalName": "alice@contoso.example", "appDisplayName": "Microsoft Office", "resourceDisplayName": "Office 365 Exchange Online", "ipAddress": "198.51.100.23", "conditionalAccessStatus": "notApplied", "userAgent": "BAV2ROPC", "status": {"errorCode": 50126, "failureReason": "Invalid username or password."}});
    let diagnostic = serde_json::json!({"time": "2023-06-12T13:58:02.3097429Z", "resourceId": "/tenants/1111/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "resultType": "50126", "callerIpAddress": "198.51.100.23", "properties": graph});
    let analytics = serde_json::json!({"TimeGenerated": "2023-06-12T13:58:02Z", "Type": "SigninLogs", "Id": "088b4409-0000-425d-b777-2c8c6c380b00", "UserPrincipalName": "alice@contoso.example", "AppDisplayName": "Microsoft Office", "ResourceDisplayName": "Office 365 Exchange Online", "ResultType": "50126", "ConditionalAccessStatus": "notApplied", "UserAgent": "BAV2ROPC", "Status": "{\"errorCode\":50126}"});
    vec![
        (
            "graph-signin.json",
            serde_json::json!({"value": [graph]}).to_string(),
        ),
        (
            "diagnostic.json",
            serde_json::json!({"records": [diagnostic]}).to_string(),
        ),
        ("log-analytics.jsonl", format!("{analytics}\n{analytics}\n")),
    ]
}

fn hunt(dir: &Path, path: &Path, rule: &Path) -> common::Run {
    let _ = dir;
    vigie(&[
        "hunt",
        "--quiet",
        "--format",
        "jsonl",
        "--rules",
        &rule.to_string_lossy(),
        &path.to_string_lossy(),
    ])
}

#[test]
fn every_shape_gives_the_same_detections() {
    let dir = tempfile::tempdir().unwrap();
    let ual_rule = dir.path().join("ual.yml");
    let signin_rule = dir.path().join("signin.yml");
    std::fs::write(&ual_rule, UAL_RULE).unwrap();
    std::fs::write(&signin_rule, SIGNIN_RULE).unwrap();
    let sets = [
        (ual_shapes(), &ual_rule, "000000000001"),
        (signin_shapes(), &signin_rule, "000000000002"),
    ];
    for (shapes, rule, id) in sets {
        for (name, content) in shapes {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let run = hunt(dir.path(), &path, rule);
            assert_eq!(run.code, 0, "{name}: {}", run.stderr);
            let found = detections(&run.stdout);
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            assert!(found[0].2.ends_with(id), "{name}");
            let alert: serde_json::Value =
                serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
            let time = alert["timestamp"]
                .as_str()
                .or(alert["time"].as_str())
                .unwrap_or("");
            assert!(time.starts_with("2023-06-12T1"), "{name}: {time}");
            if name.ends_with(".jsonl") {
                assert!(
                    run.stderr.contains("duplicates: 1 "),
                    "{name}: {}",
                    run.stderr
                );
            }
        }
    }
}

#[test]
fn a_mixed_folder_is_read_with_each_problem_reported() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for (name, content) in ual_shapes().into_iter().chain(signin_shapes()) {
        std::fs::write(logs.join(name), content).unwrap();
    }
    let truncated = &UAL[..150];
    std::fs::write(
        logs.join("broken.csv"),
        format!("RecordId,CreationDate,RecordType,Operation,UserId,AuditData\n1,2023-06-12T14:03:27Z,8,x,u,{}\n", csv_cell(truncated)),
    )
    .unwrap();
    std::fs::write(logs.join("notes.txt"), "collected by the responder\n").unwrap();
    std::fs::write(logs.join("other.jsonl"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
    let rule = dir.path().join("ual.yml");
    std::fs::write(&rule, UAL_RULE).unwrap();
    let run = hunt(dir.path(), &logs, &rule);
    // The broken CSV row is an error (exit 2), the rest still read.
    assert_eq!(run.code, 2, "{}", run.stderr);
    let found = detections(&run.stdout);
    assert_eq!(found.len(), 1, "one record, seen in 7 files: {found:?}");
    // UAL: 7 copies, 6 dropped. Sign-ins: the Graph record and the two Log
    // Analytics rows are one; the diagnostic record's `category` keeps it
    // apart (Entra test data reuses ids across sign-in categories).
    assert!(run.stderr.contains("duplicates: 8 "), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("broken.csv record 1: AuditData is not valid JSON"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("notes.txt: skipped"), "{}", run.stderr);
}

#[test]
fn sigmahq_cloud_rules_compile_and_fields_are_checked() {
    let Some(rules) = common::shared("sigma/rules/cloud") else {
        return;
    };
    let azure = rules.join("azure");
    let m365 = rules.join("m365");
    let run = vigie(&[
        "rules",
        "check",
        &azure.to_string_lossy(),
        &m365.to_string_lossy(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("142 of 142 rules compiled"),
        "{}",
        run.stdout
    );
    let no_field: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("no-field"))
        .collect();
    assert!(
        no_field.iter().any(|l| l.contains("ActivityDetails")),
        "{no_field:?}"
    );
    assert!(no_field.len() <= 5, "{no_field:?}");
}

/// Exchange records are Unified Audit Log records too: a rule written for
/// `service: audit` meets them, one written for `service: exchange` also,
/// and one for another service does not.
#[test]
fn exchange_records_also_meet_audit_rules() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("exchange.jsonl");
    let record = r#"{"CreationTime":"2023-06-12T14:03:27","Id":"7a2b3c4d-0000-4d3e-9a1b-08db6b2f0c12","Operation":"New-InboxRule","RecordType":1,"ResultStatus":"True","Workload":"Exchange","UserId":"bob@contoso.example","ClientIP":"185.73.124.135"}"#;
    std::fs::write(&log, format!("{record}\n")).unwrap();
    let rule = |service: &str, n: u32| {
        format!(
            "title: Inbox rule created ({service})\nid: 0c4d3a8e-2222-4a5b-9c7d-00000000000{n}\nlogsource:\n    product: m365\n    service: {service}\ndetection:\n    selection:\n        Operation: New-InboxRule\n    condition: selection\nlevel: medium\n"
        )
    };
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (n, service) in ["audit", "exchange", "threat_management"]
        .iter()
        .enumerate()
    {
        std::fs::write(
            rules.join(format!("{service}.yml")),
            rule(service, n as u32 + 1),
        )
        .unwrap();
    }
    let run = hunt(dir.path(), &log, &rules);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut ids: Vec<String> = detections(&run.stdout).into_iter().map(|d| d.2).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "0c4d3a8e-2222-4a5b-9c7d-000000000001",
            "0c4d3a8e-2222-4a5b-9c7d-000000000002"
        ],
        "{}",
        run.stdout
    );
}

/// `vigie simulate tenant --shapes` writes the shapes asked for, and only
/// those.
#[test]
fn simulate_writes_the_shapes_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenant");
    let run = vigie(&[
        "simulate",
        "tenant",
        "--users",
        "3",
        "--days",
        "1",
        "--shapes",
        "ual-json,entra-graph",
        &out.to_string_lossy(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["entra-graph", "ual-json"]);
    let bad = vigie(&[
        "simulate",
        "tenant",
        "--shapes",
        "nonsense",
        &out.to_string_lossy(),
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
