//! Cloud logs: the samples of `shared/data/cloud`, every export shape of a
//! UAL record, bad input, duplicates and a large export.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use vigie_core::{Event, FieldNames};
use vigie_sources::cloud::{CloudOptions, Dedup};
use vigie_sources::{
    read_input, Diagnostic, EventHandler, FileStats, Input, ReadOptions, Severity,
};

/// Field names the tests look up (as rules would intern them).
const NAMES: &[&str] = &[
    "Operation",
    "ResultType",
    "ResultDescription",
    "AppDisplayName",
    "ResourceDisplayName",
    "conditionalAccessStatus",
    "userAgent",
    "properties.message",
    "RequestType",
    "ApplicationId",
    "ResultStatus",
    "ExtendedProperties.UserAgent",
    "OperationProperties.MailAccessType",
    "ClientIP",
    "UserId",
    "Workload",
    "eventSource",
    "eventName",
    "status",
    "Category",
    "OperationName",
    "Initiatedby",
    "Folders.Path",
    "ModifiedProperties.StrongAuthenticationRequirement.NewValue",
    "TargetResources.ModifiedProperties.NewValue",
];

/// One event as seen by a detector: its logsource and a few resolved
/// fields.
#[derive(Debug, Clone)]
struct Seen {
    record: u64,
    logsource: (Option<&'static str>, Option<&'static str>),
    timestamp: Option<i64>,
    fields: Vec<(String, Vec<String>)>,
}

impl Seen {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first().map(String::as_str))
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Collect {
    events: Mutex<Vec<Seen>>,
    diagnostics: Mutex<Vec<Diagnostic>>,
    count_only: bool,
    count: std::sync::atomic::AtomicU64,
}

impl EventHandler for Collect {
    fn on_event(&self, event: &Event) {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.count_only {
            return;
        }
        let names = event.names();
        let fields = NAMES
            .iter()
            .filter_map(|n| {
                let id = names.get(n)?;
                let values: Vec<String> = event.values(id).map(|v| v.text.to_owned()).collect();
                (!values.is_empty()).then(|| (n.to_string(), values))
            })
            .collect();
        self.events.lock().unwrap().push(Seen {
            record: event.record,
            logsource: (event.logsource.product, event.logsource.service),
            timestamp: event.timestamp,
            fields,
        });
    }

    fn on_diagnostic(&self, d: Diagnostic) {
        self.diagnostics.lock().unwrap().push(d);
    }
}

fn options() -> ReadOptions {
    let mut names = FieldNames::new();
    for n in NAMES {
        names.intern(n);
    }
    ReadOptions::new(Arc::new(names))
}

fn read_with(path: &Path, opts: &ReadOptions) -> (FileStats, Vec<Seen>, Vec<Diagnostic>) {
    let input = Input {
        path: path.to_path_buf(),
        display: Arc::from(path.to_string_lossy().as_ref()),
        size: 0,
    };
    let handler = Collect::default();
    let stats = read_input(&input, 0, opts, &handler);
    let mut events = handler.events.into_inner().unwrap();
    events.sort_by_key(|e| e.record);
    (stats, events, handler.diagnostics.into_inner().unwrap())
}

fn read(path: &Path) -> (FileStats, Vec<Seen>, Vec<Diagnostic>) {
    read_with(path, &options())
}

fn cloud_data() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloud");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared/data/cloud not found");
        None
    }
}

fn ts(text: &str) -> Option<i64> {
    vigie_core::parse_timestamp(text)
}

#[test]
fn every_sample_record_gets_its_logsource() {
    let Some(dir) = cloud_data() else { return };
    // file, expected events + duplicates, product, allowed services
    let files: &[(&str, u64, &str, &[&str])] = &[
        (
            "elastic-integrations/entra_signinlogs_diagnostic.jsonl",
            5,
            "azure",
            &["signinlogs"],
        ),
        (
            "elastic-integrations/m365_ual_azuread_userloggedin.jsonl",
            4,
            "m365",
            &["audit"],
        ),
        (
            "elastic-integrations/m365_ual_exchange_item.jsonl",
            4,
            "m365",
            &["exchange"],
        ),
        (
            "otrf-goldensaml/OfficeActivityEvents.json",
            1,
            "m365",
            &["exchange"],
        ),
        (
            "otrf-goldensaml/AADAuditEvents.json",
            4,
            "azure",
            &["auditlogs"],
        ),
        (
            "panther-analysis/azure_audit.jsonl",
            47,
            "azure",
            &["signinlogs", "auditlogs"],
        ),
        (
            "panther-analysis/m365_audit.jsonl",
            19,
            "m365",
            &["audit", "exchange"],
        ),
    ];
    for (file, lines, product, services) in files {
        let (stats, events, diags) = read(&dir.join(file));
        assert!(
            diags.iter().all(|d| d.severity != Severity::Error),
            "{file}: {diags:?}"
        );
        assert_eq!(stats.events + stats.duplicates, *lines, "{file}");
        for e in &events {
            assert_eq!(e.logsource.0, Some(*product), "{file} record {}", e.record);
            let service = e.logsource.1.unwrap_or("");
            assert!(
                services.contains(&service),
                "{file} record {}: {service}",
                e.record
            );
            assert!(e.timestamp.is_some(), "{file} record {}: no time", e.record);
        }
    }
}

#[test]
fn sample_records_carry_the_fields_rules_use() {
    let Some(dir) = cloud_data() else { return };
    // Sentinel OfficeActivity row: JSON-in-string columns, Name/Value bag.
    let (_, events, _) = read(&dir.join("otrf-goldensaml/OfficeActivityEvents.json"));
    let mail = &events[0];
    assert_eq!(mail.logsource, (Some("m365"), Some("exchange")));
    assert_eq!(mail.get("Operation"), Some("MailItemsAccessed"));
    assert_eq!(mail.get("OperationProperties.MailAccessType"), Some("Bind"));
    assert_eq!(mail.get("Folders.Path"), Some("\\Inbox"));
    assert_eq!(mail.get("ClientIP"), Some("1.2.3.4"));
    assert_eq!(mail.get("eventSource"), Some("Exchange"));
    assert_eq!(mail.timestamp, ts("2021-08-02T13:32:07Z"));

    // Entra diagnostic sign-in: Log Analytics names from `properties.*`.
    let (_, events, _) = read(&dir.join("elastic-integrations/entra_signinlogs_diagnostic.jsonl"));
    let signin = &events[0];
    assert_eq!(signin.get("ResultType"), Some("50140"));
    assert_eq!(signin.get("AppDisplayName"), Some("Office 365"));
    assert_eq!(signin.get("conditionalAccessStatus"), Some("notApplied"));
    assert!(signin
        .get("ResultDescription")
        .is_some_and(|d| d.contains("Keep me signed in")));
    // `2019-10-18T04:45:48.0729893-05:00` in properties.createdDateTime.
    assert_eq!(signin.timestamp, ts("2019-10-18T09:45:48.0729893Z"));

    // UAL AzureActiveDirectory logon: ExtendedProperties folded.
    let (_, events, _) =
        read(&dir.join("elastic-integrations/m365_ual_azuread_userloggedin.jsonl"));
    let logon = &events[0];
    assert_eq!(logon.get("Operation"), Some("UserLoggedIn"));
    assert_eq!(logon.get("RequestType"), Some("OAuth2:Authorize"));
    assert!(logon
        .get("ExtendedProperties.UserAgent")
        .is_some_and(|u| u.contains("Firefox/72.0")));
    assert_eq!(
        logon.get("ApplicationId"),
        Some("4345a7b9-9a63-4910-a426-35363201d503")
    );
    assert_eq!(logon.all("status"), vec!["success"]);
    assert_eq!(logon.timestamp, ts("2020-02-10T15:13:13Z"));

    // Sentinel AuditLogs rows, some with `Type` overwritten.
    // The hunting queries that exported them repeat one record (same Id,
    // `Type` overwritten): it is a duplicate.
    let (stats, events, _) = read(&dir.join("otrf-goldensaml/AADAuditEvents.json"));
    assert_eq!((events.len(), stats.duplicates), (3, 1));
    let first = &events[0];
    assert_eq!(first.logsource, (Some("azure"), Some("auditlogs")));
    assert!(first
        .get("properties.message")
        .is_some_and(|m| m.starts_with("Update application")));
    // `Initiatedby` is the `InitiatedBy` column itself (names ignore case).
    assert!(first
        .get("Initiatedby")
        .is_some_and(|i| i.contains("pgustavo@simulandlabs.com")));
    assert!(first
        .all("TargetResources.ModifiedProperties.NewValue")
        .iter()
        .any(|v| v.contains("KeyIdentifier=")));

    // Panther, lower-cased keys (shape C) resolve like the others.
    let (_, events, _) = read(&dir.join("panther-analysis/azure_audit.jsonl"));
    assert!(events
        .iter()
        .any(|e| e.logsource.1 == Some("signinlogs") && e.get("ResultType").is_some()));
    assert!(events
        .iter()
        .any(|e| e.get("properties.message") == Some("Delete conditional access policy")));
}

/// A UAL record: MFA disabled for a user (what SigmaHQ's
/// `microsoft365_disabling_mfa` looks for).
const UAL: &str = r#"{"CreationTime":"2023-06-12T14:03:27","Id":"6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11","Operation":"Disable Strong Authentication.","OrganizationId":"11111111-2222-3333-4444-555555555555","RecordType":8,"ResultStatus":"Success","UserKey":"10032000A1B2C3D4","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"185.73.124.135:19823","ObjectId":"bob@contoso.example","UserId":"admin@contoso.example","ModifiedProperties":[{"Name":"StrongAuthenticationRequirement","NewValue":"[]","OldValue":"[{\"State\":1}]"}],"ExtendedProperties":[{"Name":"UserAgent","Value":"python-requests/2.31"}]}"#;

fn csv_cell(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The same record in every UAL export shape.
fn shapes(dir: &Path) -> Vec<std::path::PathBuf> {
    let record: serde_json::Value = serde_json::from_str(UAL).unwrap();
    let mut files = Vec::new();
    let mut write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    };
    write("management-api.json", format!("[{UAL}]"));
    write("sof-elk.jsonl", format!("{UAL}\n"));
    write(
        "search-unifiedauditlog.csv",
        format!(
            "\"RunspaceId\",\"RecordType\",\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\",\"ResultIndex\",\"ResultCount\",\"Identity\",\"IsValid\",\"ObjectState\"\n\"x\",\"AzureActiveDirectory\",\"6/12/2023 4:03:27 PM\",\"admin@contoso.example\",\"Disable Strong Authentication.\",{},\"1\",\"1\",\"6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11\",\"True\",\"Unchanged\"\n",
            csv_cell(UAL)
        ),
    );
    write(
        "purview.csv",
        format!(
            "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\n6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11,2023-06-12T14:03:27.0000000Z ,8,Disable Strong Authentication.,admin@contoso.example,{},,\n",
            csv_cell(UAL)
        ),
    );
    write(
        "purview-2020.csv",
        format!(
            "CreationDate,UserIds,Operations,AuditData\n6/12/2023 2:03:27 PM,admin@contoso.example,Disable Strong Authentication.,{}\n",
            csv_cell(UAL)
        ),
    );
    write(
        "search-unifiedauditlog.json",
        serde_json::json!([{"RecordType": "AzureActiveDirectory", "CreationDate": "/Date(1686578607000)/", "UserIds": "admin@contoso.example", "Operations": "Disable Strong Authentication.", "AuditData": UAL, "Identity": "6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11"}]).to_string(),
    );
    write(
        "graph-audit-query.json",
        serde_json::json!({"@odata.context": "x", "value": [{"id": "6f1c2a9e-0b7d-4d3e-9a1b-08db6b2f0c11", "createdDateTime": "2023-06-12T14:03:27Z", "auditLogRecordType": "azureActiveDirectory", "operation": "Disable Strong Authentication.", "userPrincipalName": "admin@contoso.example", "service": "AzureActiveDirectory", "clientIp": "185.73.124.135:19823", "auditData": record}]}).to_string(),
    );
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
    sentinel.insert("OfficeId".into(), sentinel["Id"].clone());
    sentinel.remove("Id");
    write(
        "sentinel-officeactivity.json",
        format!("{}\n", serde_json::Value::Object(sentinel)),
    );
    files
}

#[test]
fn every_ual_shape_gives_the_same_event() {
    let dir = tempfile::tempdir().unwrap();
    for path in shapes(dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (stats, events, diags) = read(&path);
        assert!(
            diags.iter().all(|d| d.severity != Severity::Error),
            "{name}: {diags:?}"
        );
        assert_eq!(stats.events, 1, "{name}");
        let e = &events[0];
        assert_eq!(e.logsource, (Some("m365"), Some("audit")), "{name}");
        assert_eq!(
            e.get("Operation"),
            Some("Disable Strong Authentication."),
            "{name}"
        );
        assert_eq!(e.timestamp, ts("2023-06-12T14:03:27Z"), "{name}");
        assert_eq!(e.get("UserId"), Some("admin@contoso.example"), "{name}");
        assert!(
            e.all("ClientIP").contains(&"185.73.124.135"),
            "{name}: {:?}",
            e.all("ClientIP")
        );
        assert_eq!(
            e.get("ModifiedProperties.StrongAuthenticationRequirement.NewValue"),
            Some("[]"),
            "{name}"
        );
        assert_eq!(
            e.get("ExtendedProperties.UserAgent"),
            Some("python-requests/2.31"),
            "{name}"
        );
    }
}

#[test]
fn duplicates_across_inputs_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let files = shapes(dir.path());
    let mut opts = options();
    opts.cloud = CloudOptions {
        dedup: Arc::new(Dedup::default()),
        ..CloudOptions::default()
    };
    let mut kept = 0;
    let mut dropped = 0;
    for path in &files {
        let (stats, _, _) = read_with(path, &opts);
        kept += stats.events;
        dropped += stats.duplicates;
    }
    // One record in 8 files of 8 shapes: the first is kept.
    assert_eq!((kept, dropped), (1, 7));
}

#[test]
fn bad_audit_data_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.csv");
    let truncated = &UAL[..200];
    let other = UAL.replace("6f1c2a9e", "7f1c2a9e");
    std::fs::write(
        &path,
        format!(
            "RecordId,CreationDate,RecordType,Operation,UserId,AuditData\n1,2023-06-12T14:03:27Z,8,x,u,{}\n2,2023-06-12T14:03:27Z,8,x,u,{}\n3,2023-06-12T14:03:27Z,8,x,u,not json\n",
            csv_cell(truncated),
            csv_cell(&other)
        ),
    )
    .unwrap();
    let (stats, events, diags) = read(&path);
    assert_eq!(stats.events, 1);
    assert_eq!(stats.errors, 2);
    assert_eq!(events[0].record, 2);
    assert!(diags
        .iter()
        .any(|d| d.record == Some(1) && d.reason.contains("AuditData is not valid JSON")));
    assert!(diags
        .iter()
        .any(|d| d.record == Some(3) && d.reason.contains("not a JSON object")));
}

#[test]
fn unknown_shapes_stay_generic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.jsonl");
    std::fs::write(
        &path,
        "{\"Operation\":\"x\",\"foo\":1}\n{\"EventID\":1,\"Channel\":\"Security\"}\n",
    )
    .unwrap();
    let (stats, events, _) = read(&path);
    assert_eq!(stats.events, 2);
    assert!(events.iter().all(|e| e.logsource.0.is_none()));
}

/// Peak resident memory of this process, from /proc (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_large_export_streams_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let target = 256u64 << 20;
    let mut written = 0u64;
    let mut n = 0u64;
    while written < target {
        let line = UAL.replace("6f1c2a9e-0b7d", &format!("{n:08x}-0b7d"));
        writeln!(out, "{line}").unwrap();
        written += line.len() as u64 + 1;
        n += 1;
    }
    out.flush().unwrap();
    drop(out);
    let before = peak_rss_kib();
    let input = Input {
        path: path.clone(),
        display: Arc::from("large.jsonl"),
        size: written,
    };
    let handler = Collect {
        count_only: true,
        ..Collect::default()
    };
    let stats = read_input(&input, 0, &options(), &handler);
    assert_eq!(stats.events, n);
    assert_eq!(stats.errors, 0);
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        let grown_mib = after.saturating_sub(before) / 1024;
        // The file is 256 MiB; reading it must not hold it (the duplicate
        // filter keeps 16 bytes per record, a few MiB here).
        assert!(grown_mib < 128, "peak memory grew by {grown_mib} MiB");
    }
}
