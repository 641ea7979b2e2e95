//! Microsoft Graph activity logs: one record per request, joined to the
//! sign-in that issued its token by `signInActivityId` (= `uti`) and to the
//! session by `c_Sid` (= `sid`).

use crate::records::{GraphActivity, Record};
use crate::rng::Rng;
use crate::signins::Token;
use crate::time::{self, Ticks};
use crate::users::Org;

/// One Graph request.
pub struct GraphRequest<'a> {
    pub token: &'a Token,
    pub user_object_id: &'a str,
    pub method: &'static str,
    pub uri: String,
    pub scopes: &'static str,
    pub status: u16,
    /// The token's issuer as Graph records it.
    pub identity_provider: String,
    pub time: Ticks,
}

/// The requests Teams makes in the background.
pub const TEAMS_REQUESTS: [&str; 6] = [
    "https://graph.microsoft.com/v1.0/me",
    "https://graph.microsoft.com/v1.0/me/joinedTeams",
    "https://graph.microsoft.com/beta/me/chats?$top=50",
    "https://graph.microsoft.com/v1.0/me/events?$top=10",
    "https://graph.microsoft.com/v1.0/me/photo/$value",
    "https://graph.microsoft.com/beta/me/presence",
];

pub const TEAMS_SCOPES: &str =
    "Calendars.ReadWrite Chat.ReadWrite Files.ReadWrite.All Presence.ReadWrite User.Read";

pub const MAIL_SCOPES: &str = "Mail.Read Mail.ReadWrite User.Read openid profile";

/// The issuer of the tenant's own tokens, as Graph's `identityProvider`.
pub fn tenant_issuer(org: &Org) -> String {
    format!("https://sts.windows.net/{}/", org.id)
}

pub fn graph_activity(rng: &mut Rng, org: &Org, req: &GraphRequest<'_>) -> Record {
    let api_version = if req.uri.contains("/beta/") {
        "beta"
    } else {
        "v1.0"
    };
    Record::GraphActivity(Box::new(GraphActivity {
        time: req.time,
        time_generated: time::iso_ticks_z(req.time),
        location: "West Europe",
        request_id: rng.guid(),
        operation_id: rng.guid(),
        client_request_id: rng.guid(),
        api_version,
        request_method: req.method,
        response_status_code: req.status,
        tenant_id: org.id.clone(),
        duration_ms: 20 + rng.below(900) as u32,
        response_size_bytes: 300 + rng.below(250_000) as u32,
        sign_in_activity_id: req.token.uti.clone(),
        roles: "",
        token_issued_at: time::iso_seconds_z(req.token.issued),
        app_id: req.token.app.id,
        user_id: req.user_object_id.to_owned(),
        service_principal_id: String::new(),
        scopes: req.scopes,
        identity_provider: req.identity_provider.clone(),
        client_auth_method: "0",
        wids: "b79fbf4d-3ef9-4689-8143-76b194e85509",
        request_uri: req.uri.clone(),
        ip_address: req.token.ip.clone(),
        user_agent: req.token.user_agent,
        session_id: req.token.session_id.clone(),
        device_id: req.token.device_id.clone(),
    }))
}
