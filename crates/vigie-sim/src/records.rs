//! The simulated events, each in the canonical form of its log.
//!
//! A sign-in is Graph's `signIn` resource, an Entra audit event Graph's
//! `directoryAudit`, a UAL record the Management Activity API's `AuditData`
//! and a Graph activity record the diagnostic-setting `properties`. The
//! other shapes ([`crate::shapes`]) are envelopes around these, so every
//! shape carries exactly the same fields for the same event. Field order
//! is the struct order, so output bytes do not depend on any hash map.

use serde::Serialize;

use crate::time::Ticks;

/// One event of the tenant, with when it happened.
pub enum Record {
    SignIn(Box<SignIn>),
    DirectoryAudit(Box<DirectoryAudit>),
    Ual(Box<UalRecord>),
    GraphActivity(Box<GraphActivity>),
}

impl Record {
    pub fn time(&self) -> Ticks {
        match self {
            Record::SignIn(r) => r.time,
            Record::DirectoryAudit(r) => r.time,
            Record::Ual(r) => r.time,
            Record::GraphActivity(r) => r.time,
        }
    }
}

// ---------------------------------------------------------------- sign-ins

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    #[serde(skip)]
    pub time: Ticks,
    pub id: String,
    pub created_date_time: String,
    pub user_display_name: String,
    pub user_principal_name: String,
    pub user_id: String,
    pub app_id: &'static str,
    pub app_display_name: &'static str,
    pub ip_address: String,
    pub client_app_used: &'static str,
    pub correlation_id: String,
    pub conditional_access_status: &'static str,
    pub is_interactive: bool,
    pub risk_detail: &'static str,
    pub risk_level_aggregated: &'static str,
    pub risk_level_during_sign_in: &'static str,
    pub risk_state: &'static str,
    pub resource_display_name: &'static str,
    pub resource_id: &'static str,
    pub status: SignInStatus,
    pub device_detail: DeviceDetail,
    pub location: SignInLocation,
    pub user_agent: &'static str,
    pub unique_token_identifier: String,
    pub session_id: String,
    pub sign_in_event_types: [&'static str; 1],
    pub authentication_requirement: &'static str,
    pub authentication_protocol: &'static str,
    pub incoming_token_type: &'static str,
    pub token_issuer_type: &'static str,
    pub user_type: &'static str,
    pub home_tenant_id: String,
    pub resource_tenant_id: String,
}

impl SignIn {
    pub fn succeeded(&self) -> bool {
        self.status.error_code == 0
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    pub error_code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_details: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetail {
    pub device_id: String,
    pub display_name: String,
    pub operating_system: &'static str,
    pub browser: &'static str,
    pub is_compliant: bool,
    pub is_managed: bool,
    pub trust_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInLocation {
    pub city: &'static str,
    pub state: &'static str,
    pub country_or_region: &'static str,
    pub geo_coordinates: GeoCoordinates,
}

#[derive(Serialize)]
pub struct GeoCoordinates {
    pub latitude: f64,
    pub longitude: f64,
}

// ----------------------------------------------------- Entra audit events

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    #[serde(skip)]
    pub time: Ticks,
    pub id: String,
    pub category: &'static str,
    pub correlation_id: String,
    pub result: &'static str,
    pub result_reason: &'static str,
    pub activity_display_name: &'static str,
    pub activity_date_time: String,
    pub logged_by_service: &'static str,
    pub operation_type: &'static str,
    pub initiated_by: InitiatedBy,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
}

#[derive(Serialize)]
pub struct InitiatedBy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<InitiatingUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<InitiatingApp>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiatingUser {
    pub id: String,
    pub display_name: String,
    pub user_principal_name: String,
    pub ip_address: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiatingApp {
    pub app_id: &'static str,
    pub display_name: &'static str,
    pub service_principal_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    pub modified_properties: Vec<ModifiedProperty>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: &'static str,
    pub old_value: String,
    pub new_value: String,
}

#[derive(Serialize)]
pub struct KeyValue {
    pub key: &'static str,
    pub value: String,
}

// ------------------------------------------------- Unified Audit Log (UAL)

/// Which Management Activity API content type a UAL record belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ContentType {
    Exchange,
    SharePoint,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UalRecord {
    #[serde(skip)]
    pub time: Ticks,
    #[serde(skip)]
    pub content_type: ContentType,
    pub creation_time: String,
    pub id: String,
    pub operation: &'static str,
    pub organization_id: String,
    pub record_type: u16,
    pub result_status: &'static str,
    pub user_key: String,
    pub user_type: u8,
    pub version: u8,
    pub workload: &'static str,
    #[serde(rename = "ClientIP")]
    pub client_ip: String,
    pub user_id: String,
    #[serde(flatten)]
    pub detail: UalDetail,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum UalDetail {
    MailItemsAccessed(MailItemsAccessed),
    OwaAuth(OwaAuth),
    SharePointFile(SharePointFile),
    InboxRule(InboxRule),
}

#[derive(Serialize, Clone)]
pub struct NameValue {
    #[serde(rename = "Name")]
    pub name: &'static str,
    #[serde(rename = "Value")]
    pub value: String,
}

/// `AppAccessContext` of Exchange and SharePoint records.
#[derive(Serialize)]
pub struct AppAccessContext {
    #[serde(rename = "AADSessionId", skip_serializing_if = "Option::is_none")]
    pub aad_session_id: Option<String>,
    #[serde(rename = "ClientAppId")]
    pub client_app_id: &'static str,
    #[serde(rename = "CorrelationId")]
    pub correlation_id: String,
    #[serde(rename = "IssuedAtTime")]
    pub issued_at_time: String,
    #[serde(rename = "UniqueTokenId")]
    pub unique_token_id: String,
}

/// RecordType 50, `MailItemsAccessed` (ExchangeItemAggregated).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MailItemsAccessed {
    pub app_id: &'static str,
    pub client_app_id: &'static str,
    #[serde(rename = "ClientIPAddress")]
    pub client_ip_address: String,
    pub client_info_string: String,
    pub external_access: bool,
    pub internal_logon_type: u8,
    pub logon_type: u8,
    pub logon_user_sid: String,
    pub mailbox_guid: String,
    pub mailbox_owner_sid: String,
    #[serde(rename = "MailboxOwnerUPN")]
    pub mailbox_owner_upn: String,
    pub operation_properties: Vec<NameValue>,
    pub organization_name: String,
    pub originating_server: String,
    pub session_id: String,
    pub token_object_id: String,
    pub token_tenant_id: String,
    pub app_access_context: AppAccessContext,
    pub operation_count: u32,
    pub folders: Vec<Folder>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Folder {
    pub id: String,
    pub path: &'static str,
    pub folder_items: Vec<FolderItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FolderItem {
    pub internet_message_id: String,
    pub size_in_bytes: u32,
}

/// RecordType 275, `OWAAuth`: an access token for a resource issued by
/// OWA's token service (`GetAccessTokenForResource`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwaAuth {
    pub app_id: &'static str,
    #[serde(rename = "ClientIPAddress")]
    pub client_ip_address: String,
    pub user_agent: &'static str,
    pub session_id: String,
    pub unique_token_identifier: String,
    #[serde(rename = "ResourceURL")]
    pub resource_url: &'static str,
    pub token_object_id: String,
    pub token_tenant_id: String,
}

/// RecordType 6, SharePoint / OneDrive file operations.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SharePointFile {
    pub object_id: String,
    pub site_url: String,
    pub source_relative_url: String,
    pub source_file_name: String,
    pub source_file_extension: &'static str,
    pub item_type: &'static str,
    pub event_source: &'static str,
    pub user_agent: &'static str,
    pub application_id: &'static str,
    pub authentication_type: &'static str,
    pub geo_location: &'static str,
    pub is_managed_device: bool,
    pub device_display_name: String,
    pub correlation_id: String,
    pub app_access_context: AppAccessContext,
}

/// RecordType 1, Exchange admin cmdlets on inbox rules.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InboxRule {
    pub object_id: String,
    pub parameters: Vec<NameValue>,
    pub external_access: bool,
    pub organization_name: String,
    pub originating_server: String,
    pub session_id: String,
    pub app_id: &'static str,
    pub client_app_id: &'static str,
}

// ------------------------------------------------- Graph activity logs

/// The `properties` of a `MicrosoftGraphActivityLogs` diagnostic record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphActivity {
    #[serde(skip)]
    pub time: Ticks,
    pub time_generated: String,
    pub location: &'static str,
    pub request_id: String,
    pub operation_id: String,
    pub client_request_id: String,
    pub api_version: &'static str,
    pub request_method: &'static str,
    pub response_status_code: u16,
    pub tenant_id: String,
    pub duration_ms: u32,
    pub response_size_bytes: u32,
    pub sign_in_activity_id: String,
    pub roles: &'static str,
    pub token_issued_at: String,
    pub app_id: &'static str,
    pub user_id: String,
    pub service_principal_id: String,
    pub scopes: &'static str,
    pub identity_provider: String,
    pub client_auth_method: &'static str,
    pub wids: &'static str,
    pub request_uri: String,
    pub ip_address: String,
    pub user_agent: &'static str,
    #[serde(rename = "c_Sid")]
    pub session_id: String,
    #[serde(rename = "C_DeviceId")]
    pub device_id: String,
}
