//! `ground-truth.json`: what the injected intrusion did, exactly, so tests
//! and benchmarks can score detections and blast-radius reports.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::tenant::BenignLog;

#[derive(Serialize, Default)]
pub struct GroundTruth {
    pub scenario: String,
    pub tenant: TenantFacts,
    pub actor: ActorFacts,
    /// The stages in the order they began.
    pub stages: Vec<Stage>,
    pub tokens: Vec<TokenFacts>,
    pub mailboxes: Vec<MailboxFacts>,
    /// Ids of every record the attack wrote, by log.
    pub records: RecordIds,
    /// Benign events that resemble attack signals (expected false positives).
    pub benign: BenignLog,
}

#[derive(Serialize, Default)]
pub struct TenantFacts {
    pub tenant_id: String,
    pub domain: String,
    pub users: usize,
    pub days: u32,
    pub start: String,
    pub seed: u64,
}

#[derive(Serialize, Default)]
pub struct ActorFacts {
    pub ips: Vec<String>,
    pub user_agents: Vec<&'static str>,
    /// `AppId`/`ClientAppId` values the attack's mailbox and Graph records carry.
    pub app_ids: Vec<&'static str>,
    /// The `tid` of the forged tokens: the Microsoft-account tenant.
    pub token_tenant_id: &'static str,
    pub working_hours_utc: &'static str,
}

#[derive(Serialize)]
pub struct Stage {
    pub name: &'static str,
    pub description: &'static str,
    pub first: String,
    pub last: String,
    pub records: usize,
    pub mailboxes: BTreeSet<String>,
}

#[derive(Serialize)]
pub struct TokenFacts {
    /// `uti` as the logs carry it (`UniqueTokenId`, `UniqueTokenIdentifier`, `signInActivityId`).
    pub id: String,
    /// `forged` (signed with the consumer key, never issued by Entra),
    /// `owa-minted` (issued by OWA's GetAccessTokenForResource against a
    /// forged token) or `replayed-session` (issued by Entra to the actor
    /// presenting a stolen session: it has a sign-in).
    pub kind: &'static str,
    pub has_sign_in: bool,
    pub mailbox: String,
    pub app_id: &'static str,
    /// The audience: Exchange Online or Microsoft Graph.
    pub resource_id: &'static str,
    pub issued: String,
    pub ip: String,
}

#[derive(Serialize, Default)]
pub struct MailboxFacts {
    pub upn: String,
    pub object_id: String,
    pub first_access: String,
    pub last_access: String,
    pub folders: BTreeSet<&'static str>,
    /// Every `InternetMessageId` read (Bind) by the actor.
    pub read: BTreeSet<String>,
    /// Every `InternetMessageId` in folders the actor synchronised (Sync).
    pub synced: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub mail_items_accessed_records: usize,
    pub graph_requests: usize,
}

#[derive(Serialize, Default)]
pub struct RecordIds {
    /// UAL `Id`s (MailItemsAccessed and OWAAuth).
    pub ual: Vec<String>,
    /// Graph activity `requestId`s.
    pub graph_activity: Vec<String>,
    /// Sign-in `id`s (the replayed session).
    pub sign_ins: Vec<String>,
}
