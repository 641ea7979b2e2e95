//! Which cloud log a flattened record is, from its top-level keys (compared
//! without regard to case: Panther lower-cases some exports' keys), and
//! which Sigma logsource that makes it.

use vigie_core::{Event, LogSource};

use super::index::Tops;

/// The log a record belongs to, whatever its export shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Microsoft 365 Unified Audit Log.
    Ual,
    /// Entra ID sign-ins (interactive, non-interactive, service principal,
    /// managed identity, ADFS).
    SignIn,
    /// Entra ID audit log (directory audits).
    Audit,
    /// Microsoft Graph activity log.
    GraphActivity,
    /// Azure Activity log (subscription control plane).
    Activity,
    /// Entra ID Protection risk detections (and PIM alerts, which Sigma
    /// files under `pim` with the same `riskEventType` field).
    Risk,
}

impl Family {
    pub(crate) const ALL: [Family; 6] = [
        Family::Ual,
        Family::SignIn,
        Family::Audit,
        Family::GraphActivity,
        Family::Activity,
        Family::Risk,
    ];
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) family: Family,
    /// The record is inside an `AuditData` JSON string.
    pub(crate) wrapped: bool,
    /// Log Analytics rows: dynamic columns are JSON strings.
    pub(crate) strings_hold_json: bool,
}

/// Log Analytics / Sentinel table names (`Type` column) and their family.
const TABLES: &[(&str, Family)] = &[
    ("OfficeActivity", Family::Ual),
    ("SigninLogs", Family::SignIn),
    ("AADNonInteractiveUserSignInLogs", Family::SignIn),
    ("AADServicePrincipalSignInLogs", Family::SignIn),
    ("AADManagedIdentitySignInLogs", Family::SignIn),
    ("AADProvisioningLogs", Family::Audit),
    ("ADFSSignInLogs", Family::SignIn),
    ("AuditLogs", Family::Audit),
    ("MicrosoftGraphActivityLogs", Family::GraphActivity),
    ("AzureActivity", Family::Activity),
    ("AADUserRiskEvents", Family::Risk),
    ("AADRiskyUsers", Family::Risk),
    ("AADServicePrincipalRiskEvents", Family::Risk),
    ("AADRiskyServicePrincipals", Family::Risk),
];

/// What one pass over the keys found.
#[derive(Default)]
struct Keys {
    audit_data: bool,
    graph_audit: bool,
    workload: bool,
    office_workload: bool,
    record_type: bool,
    operation: bool,
    creation_time: bool,
    properties: bool,
    /// Field indexes of the keys whose value classification reads.
    category: Option<usize>,
    table: Option<usize>,
    resource_id: Option<usize>,
    created: bool,
    user_principal: bool,
    app_display: bool,
    sign_in_status: bool,
    activity_display: bool,
    activity_time: bool,
    risk_event_type: bool,
    request_uri: bool,
    result_type: bool,
    operation_name: bool,
    logged_by: bool,
    initiated_by: bool,
    azure_activity: bool,
    event_timestamp: bool,
}

/// The cloud shape of a record, or `None` for anything else. `notes` are
/// its noted keys (see `keys.rs`).
pub(crate) fn classify(ev: &Event, notes: &[(u32, Note)]) -> Option<Shape> {
    let mut k = Keys::default();
    for &(index, kind) in notes {
        note(&mut k, kind, index as usize);
    }
    let value = |index: Option<usize>| index.and_then(|i| ev.value_of(i)).map(|v| v.text);
    let shape = |family, strings_hold_json| Shape {
        family,
        wrapped: false,
        strings_hold_json,
    };
    if k.audit_data {
        return Some(Shape {
            family: Family::Ual,
            wrapped: true,
            strings_hold_json: false,
        });
    }
    if let Some(table) = value(k.table) {
        if let Some((_, family)) = TABLES.iter().find(|(t, _)| t.eq_ignore_ascii_case(table)) {
            return Some(shape(*family, true));
        }
    }
    if k.properties {
        if let Some(category) = value(k.category) {
            let resource_id = value(k.resource_id);
            return Some(shape(diagnostic_family(category, resource_id), false));
        }
    }
    if k.workload || k.graph_audit {
        return Some(shape(Family::Ual, false));
    }
    if k.office_workload {
        return Some(shape(Family::Ual, true));
    }
    if k.record_type && k.operation && k.creation_time {
        return Some(shape(Family::Ual, false));
    }
    if k.risk_event_type {
        return Some(shape(Family::Risk, true));
    }
    if k.created && (k.app_display || k.sign_in_status) && k.user_principal {
        return Some(shape(Family::SignIn, true));
    }
    if k.result_type && (k.user_principal || k.app_display) {
        return Some(shape(Family::SignIn, true));
    }
    if k.activity_display && k.activity_time {
        return Some(shape(Family::Audit, true));
    }
    if k.operation_name && (k.logged_by || k.initiated_by) {
        return Some(shape(Family::Audit, true));
    }
    if k.request_uri {
        return Some(shape(Family::GraphActivity, true));
    }
    if k.azure_activity || k.event_timestamp && k.operation_name {
        return Some(shape(Family::Activity, true));
    }
    None
}

/// What a key tells shape detection (derived once per spelling and
/// position: see `keys.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    None,
    Table,
    Workload,
    Category,
    AuditData,
    Operation,
    RecordType,
    ResultType,
    ResourceId,
    RequestUri,
    InitiatedBy,
    CreationTime,
    RiskEventType,
    OperationName,
    AzureActivity,
    AppDisplay,
    OfficeWorkload,
    EventTimestamp,
    Created,
    LoggedBy,
    ActivityTime,
    SignInStatus,
    UserPrincipal,
    GraphAudit,
    ActivityDisplay,
    /// A key under `properties.` (any case).
    PropertiesPrefix,
    /// A key under `auditData.` (this case).
    AuditDataPrefix,
}

/// The note of a key, from its text.
pub(crate) fn note_of(key: &str) -> Note {
    let is = |name: &str| key.eq_ignore_ascii_case(name);
    // Dispatch on length first.
    match key.len() {
        4 if is("Type") => Note::Table,
        8 if is("Workload") => Note::Workload,
        8 if is("category") => Note::Category,
        9 if is("AuditData") => Note::AuditData,
        9 if is("Operation") => Note::Operation,
        10 if is("RecordType") => Note::RecordType,
        10 if is("ResultType") => Note::ResultType,
        10 if is("resourceId") => Note::ResourceId,
        10 if is("RequestUri") => Note::RequestUri,
        11 if is("InitiatedBy") => Note::InitiatedBy,
        12 if is("CreationTime") => Note::CreationTime,
        13 if is("riskEventType") => Note::RiskEventType,
        13 if is("operationName") => Note::OperationName,
        13 if is("CategoryValue") => Note::AzureActivity,
        14 if is("appDisplayName") => Note::AppDisplay,
        14 if is("OfficeWorkload") => Note::OfficeWorkload,
        14 if is("eventTimestamp") => Note::EventTimestamp,
        15 if is("createdDateTime") => Note::Created,
        15 if is("LoggedByService") => Note::LoggedBy,
        16 if is("activityDateTime") => Note::ActivityTime,
        16 if is("status.errorCode") => Note::SignInStatus,
        17 if is("userPrincipalName") => Note::UserPrincipal,
        18 if is("auditLogRecordType") => Note::GraphAudit,
        18 if is("OperationNameValue") => Note::AzureActivity,
        19 if is("activityDisplayName") => Note::ActivityDisplay,
        _ if starts_with_ignore_case(key, "properties.") => Note::PropertiesPrefix,
        _ if key.starts_with("auditData.") => Note::AuditDataPrefix,
        _ => Note::None,
    }
}

fn note(k: &mut Keys, note: Note, index: usize) {
    match note {
        Note::None => {}
        Note::Table => k.table = Some(index),
        Note::Workload => k.workload = true,
        Note::Category => k.category = Some(index),
        Note::AuditData => k.audit_data = true,
        Note::Operation => k.operation = true,
        Note::RecordType => k.record_type = true,
        Note::ResultType => k.result_type = true,
        Note::ResourceId => k.resource_id = Some(index),
        Note::RequestUri => k.request_uri = true,
        Note::InitiatedBy => k.initiated_by = true,
        Note::CreationTime => k.creation_time = true,
        Note::RiskEventType => k.risk_event_type = true,
        Note::OperationName => k.operation_name = true,
        Note::AzureActivity => k.azure_activity = true,
        Note::AppDisplay => k.app_display = true,
        Note::OfficeWorkload => k.office_workload = true,
        Note::EventTimestamp => k.event_timestamp = true,
        Note::Created => k.created = true,
        Note::LoggedBy => k.logged_by = true,
        Note::ActivityTime => k.activity_time = true,
        Note::SignInStatus => k.sign_in_status = true,
        Note::UserPrincipal => k.user_principal = true,
        Note::GraphAudit => k.graph_audit = true,
        Note::ActivityDisplay => k.activity_display = true,
        Note::PropertiesPrefix => k.properties = true,
        Note::AuditDataPrefix => k.graph_audit = true,
    }
}

pub(crate) fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The family of an Azure Monitor diagnostic-setting record by its
/// `category`.
fn diagnostic_family(category: &str, resource_id: Option<&str>) -> Family {
    let lower = category.to_ascii_lowercase();
    if lower.ends_with("signinlogs") {
        Family::SignIn
    } else if lower == "microsoftgraphactivitylogs" {
        Family::GraphActivity
    } else if lower.contains("risk") {
        Family::Risk
    } else if lower == "auditlogs"
        || lower == "provisioninglogs"
        || resource_id.is_some_and(|r| r.to_ascii_lowercase().contains("microsoft.aadiam"))
    {
        Family::Audit
    } else {
        Family::Activity
    }
}

/// Sigma's logsource for a record of `family`.
pub(crate) fn logsource(ev: &Event, family: Family, tops: &Tops) -> LogSource {
    let (product, service) = match family {
        Family::Ual => ("m365", ual_service(ev, tops)),
        Family::SignIn => ("azure", "signinlogs"),
        Family::Audit => ("azure", "auditlogs"),
        Family::GraphActivity => ("azure", "graphactivitylogs"),
        Family::Activity => ("azure", "activitylogs"),
        Family::Risk => {
            let pim = tops
                .risk_event_type
                .get(ev)
                .or_else(|| tops.properties_risk_event_type.get(ev))
                .is_some_and(|t| t.ends_with("AlertIncident"));
            ("azure", if pim { "pim" } else { "riskdetection" })
        }
    };
    LogSource {
        product: Some(product),
        category: None,
        service: Some(service),
    }
}

/// SigmaHQ's m365 services: `threat_management` for Security & Compliance
/// alerts, `threat_detection` for Defender for Cloud Apps alerts,
/// `exchange` for the Exchange workload, `audit` for the rest of the UAL.
fn ual_service(ev: &Event, tops: &Tops) -> &'static str {
    let workload = tops
        .workload
        .get(ev)
        .or_else(|| tops.office_workload.get(ev))
        .or_else(|| tops.service.get(ev))
        .unwrap_or("");
    let is = |w: &str| workload.eq_ignore_ascii_case(w);
    if is("MicrosoftCloudAppSecurity") || is("CloudAppSecurity") {
        return "threat_detection";
    }
    if is("SecurityComplianceCenter") {
        let record_type = tops.record_type.get(ev).unwrap_or("");
        let operation = tops.operation.get(ev).unwrap_or("");
        if record_type == "40"
            || record_type.eq_ignore_ascii_case("SecurityComplianceAlerts")
            || operation.starts_with("Alert")
        {
            return "threat_management";
        }
    }
    if is("Exchange") {
        return "exchange";
    }
    "audit"
}
