//! Which cloud log a flattened record is, from its top-level keys (compared
//! without regard to case: Panther lower-cases some exports' keys), and
//! which Sigma logsource that makes it.

use vigie_core::{Event, LogSource};

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

/// The cloud shape of a record, or `None` for anything else.
pub(crate) fn classify(ev: &Event) -> Option<Shape> {
    let mut k = Keys::default();
    for (index, (key, _)) in ev.keys().enumerate() {
        note(&mut k, key, index);
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

fn note(k: &mut Keys, key: &str, index: usize) {
    let is = |name: &str| key.eq_ignore_ascii_case(name);
    // Dispatch on length first: this runs for every key of every generic
    // record.
    match key.len() {
        4 if is("Type") => k.table = Some(index),
        8 if is("Workload") => k.workload = true,
        8 if is("category") => k.category = Some(index),
        9 if is("AuditData") => k.audit_data = true,
        9 if is("Operation") => k.operation = true,
        10 if is("RecordType") => k.record_type = true,
        10 if is("ResultType") => k.result_type = true,
        10 if is("resourceId") => k.resource_id = Some(index),
        10 if is("RequestUri") => k.request_uri = true,
        11 if is("InitiatedBy") => k.initiated_by = true,
        12 if is("CreationTime") => k.creation_time = true,
        13 if is("riskEventType") => k.risk_event_type = true,
        13 if is("operationName") => k.operation_name = true,
        13 if is("CategoryValue") => k.azure_activity = true,
        14 if is("appDisplayName") => k.app_display = true,
        14 if is("OfficeWorkload") => k.office_workload = true,
        14 if is("eventTimestamp") => k.event_timestamp = true,
        15 if is("createdDateTime") => k.created = true,
        15 if is("LoggedByService") => k.logged_by = true,
        16 if is("activityDateTime") => k.activity_time = true,
        16 if is("status.errorCode") => k.sign_in_status = true,
        17 if is("userPrincipalName") => k.user_principal = true,
        18 if is("auditLogRecordType") => k.graph_audit = true,
        18 if is("OperationNameValue") => k.azure_activity = true,
        19 if is("activityDisplayName") => k.activity_display = true,
        _ => {
            if !k.properties && starts_with_ignore_case(key, "properties.") {
                k.properties = true;
            } else if !k.graph_audit && key.starts_with("auditData.") {
                k.graph_audit = true;
            }
        }
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

/// The first value of a top-level key, compared without regard to case:
/// through the names table when the key is registered there (see
/// `index::register_names`), else by scanning the record.
pub(crate) fn top<'e>(ev: &'e Event, key: &str) -> Option<&'e str> {
    match ev.names().get(key) {
        Some(id) => ev.first(id).map(|v| v.text),
        None => ev
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.text),
    }
}

/// Sigma's logsource for a record of `family`.
pub(crate) fn logsource(ev: &Event, family: Family) -> LogSource {
    let (product, service) = match family {
        Family::Ual => ("m365", ual_service(ev)),
        Family::SignIn => ("azure", "signinlogs"),
        Family::Audit => ("azure", "auditlogs"),
        Family::GraphActivity => ("azure", "graphactivitylogs"),
        Family::Activity => ("azure", "activitylogs"),
        Family::Risk => {
            let pim = top(ev, "riskEventType")
                .or_else(|| top(ev, "properties.riskEventType"))
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
fn ual_service(ev: &Event) -> &'static str {
    let workload = top(ev, "Workload")
        .or_else(|| top(ev, "OfficeWorkload"))
        .or_else(|| top(ev, "service"))
        .unwrap_or("");
    let is = |w: &str| workload.eq_ignore_ascii_case(w);
    if is("MicrosoftCloudAppSecurity") || is("CloudAppSecurity") {
        return "threat_detection";
    }
    if is("SecurityComplianceCenter") {
        let record_type = top(ev, "RecordType").unwrap_or("");
        let operation = top(ev, "Operation").unwrap_or("");
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
