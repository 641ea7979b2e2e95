//! Entra ID sign-ins, and the tokens they issue.
//!
//! A successful sign-in issues a token whose `uti` is the sign-in's
//! `uniqueTokenIdentifier` and whose `sid` is its `sessionId`; every
//! workload record that token allows carries both (threat brief §3.7). A
//! failed sign-in issues nothing.

use crate::catalog::{App, City, Resource, SignInError};
use crate::records::{DeviceDetail, GeoCoordinates, Record, SignIn, SignInLocation, SignInStatus};
use crate::rng::Rng;
use crate::time::{self, Ticks, MINUTE};
use crate::users::{Device, Org, User};

/// An access token as the workloads see it.
#[derive(Clone, Debug)]
pub struct Token {
    pub uti: String,
    /// The Entra session (`sid`); empty for tokens no session issued.
    pub session_id: String,
    pub issued: Ticks,
    pub expires: Ticks,
    pub app: App,
    pub resource: Resource,
    pub ip: String,
    pub user_agent: &'static str,
    pub device_id: String,
    /// The token's `tid`.
    pub tenant_id: String,
    pub correlation_id: String,
}

impl Token {
    /// A time within the token's lifetime, `offset` after issue, clamped
    /// one second before expiry so a record never outlives its token.
    pub fn at(&self, offset: Ticks) -> Ticks {
        (self.issued + offset).min(self.expires - time::SECOND)
    }
}

/// How a sign-in comes about.
pub struct SignInSpec<'a> {
    pub user: &'a User,
    pub device: &'a Device,
    pub app: App,
    pub resource: Resource,
    pub interactive: bool,
    pub ip: &'a str,
    pub city: &'static City,
    pub user_agent: &'static str,
    pub error: Option<SignInError>,
    pub time: Ticks,
}

fn is_browser_app(app: App) -> bool {
    use crate::catalog::{AZURE_PORTAL, GRAPH_EXPLORER, OFFICE_HOME, OUTLOOK_WEB};
    [OUTLOOK_WEB, GRAPH_EXPLORER, OFFICE_HOME, AZURE_PORTAL].contains(&app)
}

fn browser_of(agent: &str) -> &'static str {
    if agent.contains("Edg/") {
        "Edge 114.0.1823"
    } else if agent.contains("Safari/605") {
        "Safari 16.5"
    } else if agent.contains("Teams/") {
        "Teams 1.6.00"
    } else if agent.starts_with("python") {
        "Python Requests 2.28"
    } else {
        "Rich Client 4.52.0.0"
    }
}

/// Writes the sign-in record and, when it succeeded, the token it issued.
pub fn sign_in(rng: &mut Rng, org: &Org, spec: &SignInSpec<'_>) -> (Record, Option<Token>) {
    let uti = rng.token_id();
    let correlation_id = rng.guid();
    let succeeded = spec.error.is_none();
    let (failure_reason, additional_details) = match spec.error {
        Some(e) => (Some(e.reason), None),
        None if spec.interactive => (None, Some("MFA completed in Azure AD")),
        None => (
            None,
            Some("MFA requirement satisfied by claim in the token"),
        ),
    };
    let conditional_access_status = match spec.error {
        Some(e) if e.code == crate::catalog::BLOCKED_BY_CA.code => "failure",
        _ if spec.device.managed => "success",
        _ => "notApplied",
    };
    let record = SignIn {
        time: spec.time,
        id: rng.guid(),
        created_date_time: time::iso_seconds_z(spec.time),
        user_display_name: spec.user.display_name.clone(),
        user_principal_name: spec.user.upn.clone(),
        user_id: spec.user.object_id.clone(),
        app_id: spec.app.id,
        app_display_name: spec.app.name,
        ip_address: spec.ip.to_owned(),
        client_app_used: if is_browser_app(spec.app) {
            "Browser"
        } else {
            "Mobile Apps and Desktop clients"
        },
        correlation_id: correlation_id.clone(),
        conditional_access_status,
        is_interactive: spec.interactive,
        risk_detail: "none",
        risk_level_aggregated: "none",
        risk_level_during_sign_in: "none",
        risk_state: "none",
        resource_display_name: spec.resource.name,
        resource_id: spec.resource.id,
        status: SignInStatus {
            error_code: spec.error.map_or(0, |e| e.code),
            failure_reason,
            additional_details,
        },
        device_detail: DeviceDetail {
            device_id: if spec.device.managed {
                spec.device.id.clone()
            } else {
                String::new()
            },
            display_name: if spec.device.managed {
                spec.device.display_name.clone()
            } else {
                String::new()
            },
            operating_system: spec.device.kind.operating_system(),
            browser: browser_of(spec.user_agent),
            is_compliant: spec.device.managed,
            is_managed: spec.device.managed,
            trust_type: if spec.device.managed {
                "Azure AD joined"
            } else {
                ""
            },
        },
        location: SignInLocation {
            city: spec.city.name,
            state: spec.city.state,
            country_or_region: spec.city.country,
            geo_coordinates: GeoCoordinates {
                latitude: spec.city.latitude,
                longitude: spec.city.longitude,
            },
        },
        user_agent: spec.user_agent,
        unique_token_identifier: uti.clone(),
        session_id: spec.device.session_id.clone(),
        sign_in_event_types: [if spec.interactive {
            "interactiveUser"
        } else {
            "nonInteractiveUser"
        }],
        authentication_requirement: if spec.interactive {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        },
        authentication_protocol: "none",
        incoming_token_type: if spec.interactive {
            "none"
        } else if spec.device.managed {
            "primaryRefreshToken"
        } else {
            "refreshToken"
        },
        token_issuer_type: "AzureAD",
        user_type: "Member",
        home_tenant_id: org.id.clone(),
        resource_tenant_id: org.id.clone(),
    };
    let token = succeeded.then(|| Token {
        uti,
        session_id: spec.device.session_id.clone(),
        issued: spec.time,
        // Entra access tokens live 60–90 minutes.
        expires: spec.time + rng.range(60, 91) * MINUTE,
        app: spec.app,
        resource: spec.resource,
        ip: spec.ip.to_owned(),
        user_agent: spec.user_agent,
        device_id: spec.device.id.clone(),
        tenant_id: org.id.clone(),
        correlation_id,
    });
    (Record::SignIn(Box::new(record)), token)
}
