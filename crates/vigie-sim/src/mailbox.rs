//! Exchange Online: the mailbox's messages, `MailItemsAccessed` (Bind and
//! Sync), OWA token issuance (`OWAAuth`) and inbox-rule cmdlets.
//!
//! Messages are never stored: message `n` of a mailbox has an id, folder and
//! size derived from (tenant salt, mailbox, n), so a tenant of any size
//! keeps only a counter per mailbox.

use std::collections::BTreeSet;

use crate::catalog::{App, FOLDERS};
use crate::records::{
    AppAccessContext, ContentType, Folder, FolderItem, InboxRule, MailItemsAccessed, NameValue,
    OwaAuth, Record, UalDetail, UalRecord,
};
use crate::rng::{mix, Rng};
use crate::signins::Token;
use crate::time::{self, Ticks};
use crate::users::{Org, User, ORGANIZATION_NAME};

/// `MailAccessType`: Bind reads one item, Sync downloads a folder.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Bind,
    Sync,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Bind => "Bind",
            Access::Sync => "Sync",
        }
    }
}

fn message_hash(org: &Org, user: &User, seq: u64) -> u64 {
    mix(org.salt ^ ((user.index as u64) << 40) ^ seq)
}

/// The folder (index into [`FOLDERS`]) message `seq` of `user` sits in.
pub fn message_folder(org: &Org, user: &User, seq: u64) -> usize {
    let mut roll = message_hash(org, user, seq) % 100;
    for (i, (_, weight)) in FOLDERS.iter().enumerate() {
        if roll < *weight {
            return i;
        }
        roll -= weight;
    }
    0
}

/// The `InternetMessageId` of message `seq` of `user`, shaped like the ids
/// Exchange Online stamps (`<SERVER…@SERVER.namprdNN.prod.outlook.com>`).
pub fn message_id(org: &Org, user: &User, seq: u64) -> String {
    let h = message_hash(org, user, seq);
    let region = if user.mailbox_server.starts_with('A') || user.mailbox_server.starts_with('D') {
        "eurprd04"
    } else {
        "namprd12"
    };
    format!(
        "<{}{:016X}@{}.{}.prod.outlook.com>",
        user.mailbox_server, h, user.mailbox_server, region
    )
}

fn message_size(org: &Org, user: &User, seq: u64) -> u32 {
    2_000 + (mix(message_hash(org, user, seq)) % 180_000) as u32
}

fn folder_id(org: &Org, user: &User, folder: usize) -> String {
    format!(
        "LgAAAAB{:016X}{:08X}AAAB",
        mix(org.salt ^ user.index as u64),
        folder as u32 * 0x1f3 + 0x2a
    )
}

/// Up to `count` distinct recent messages (the last `window` received).
pub fn recent_messages(rng: &mut Rng, user: &User, count: usize, window: u64) -> Vec<u64> {
    let received = user.state.received;
    let window = window.min(received).max(1);
    let picked: BTreeSet<u64> = (0..count)
        .map(|_| received.saturating_sub(1 + rng.below(window)))
        .collect();
    picked.into_iter().collect()
}

/// The latest `count` messages of one folder, scanning back at most `scan`.
pub fn folder_messages(org: &Org, user: &User, folder: usize, count: usize, scan: u64) -> Vec<u64> {
    let received = user.state.received;
    (received.saturating_sub(scan)..received)
        .rev()
        .filter(|&seq| message_folder(org, user, seq) == folder)
        .take(count)
        .collect()
}

/// Who reads the mailbox, with which app, from where and with what token.
pub struct MailAccessSpec<'a> {
    pub owner: &'a User,
    pub token: &'a Token,
    /// `AppId`: the application the token was issued to, or Graph when the
    /// access went through Graph.
    pub app_id: &'static str,
    pub client_app_id: &'static str,
    pub client_info_string: String,
    /// `TokenObjectId`: the token's `oid`.
    pub token_object_id: &'a str,
    pub time: Ticks,
}

/// One aggregated `MailItemsAccessed` record (RecordType 50) over `items`
/// (message numbers). Sync records list the synchronised folder's items
/// too, so a responder's question "what was taken" has one answer.
pub fn mail_items_accessed(
    rng: &mut Rng,
    org: &Org,
    spec: &MailAccessSpec<'_>,
    access: Access,
    items: &[u64],
) -> Record {
    let mut folders: Vec<Folder> = Vec::new();
    for (index, (path, _)) in FOLDERS.iter().enumerate() {
        let folder_items: Vec<FolderItem> = items
            .iter()
            .filter(|&&seq| message_folder(org, spec.owner, seq) == index)
            .map(|&seq| FolderItem {
                internet_message_id: message_id(org, spec.owner, seq),
                size_in_bytes: message_size(org, spec.owner, seq),
            })
            .collect();
        if !folder_items.is_empty() {
            folders.push(Folder {
                id: folder_id(org, spec.owner, index),
                path,
                folder_items,
            });
        }
    }
    let owner = spec.owner;
    let detail = MailItemsAccessed {
        app_id: spec.app_id,
        client_app_id: spec.client_app_id,
        client_ip_address: spec.token.ip.clone(),
        client_info_string: spec.client_info_string.clone(),
        external_access: false,
        internal_logon_type: 0,
        logon_type: 0,
        logon_user_sid: owner.sid.clone(),
        mailbox_guid: owner.mailbox_guid.clone(),
        mailbox_owner_sid: owner.sid.clone(),
        mailbox_owner_upn: owner.upn.clone(),
        operation_properties: vec![
            NameValue {
                name: "MailAccessType",
                value: access.name().to_owned(),
            },
            NameValue {
                name: "IsThrottled",
                value: "False".to_owned(),
            },
        ],
        organization_name: ORGANIZATION_NAME.to_owned(),
        originating_server: format!("{} (15.20.6455.030)\r\n", owner.mailbox_server),
        session_id: if spec.token.session_id.is_empty() {
            // Exchange still keys its own session; it joins no sign-in.
            rng.guid()
        } else {
            spec.token.session_id.clone()
        },
        token_object_id: spec.token_object_id.to_owned(),
        token_tenant_id: spec.token.tenant_id.clone(),
        app_access_context: AppAccessContext {
            aad_session_id: (!spec.token.session_id.is_empty())
                .then(|| spec.token.session_id.clone()),
            client_app_id: spec.client_app_id,
            correlation_id: spec.token.correlation_id.clone(),
            issued_at_time: time::ual(spec.token.issued),
            unique_token_id: spec.token.uti.clone(),
        },
        operation_count: items.len() as u32,
        folders,
    };
    Record::Ual(Box::new(UalRecord {
        time: spec.time,
        content_type: ContentType::Exchange,
        creation_time: time::ual(spec.time),
        id: rng.guid(),
        operation: "MailItemsAccessed",
        organization_id: org.id.clone(),
        record_type: 50,
        result_status: "Succeeded",
        user_key: owner.user_key.clone(),
        user_type: 0,
        version: 1,
        workload: "Exchange",
        client_ip: spec.token.ip.clone(),
        user_id: owner.upn.clone(),
        detail: UalDetail::MailItemsAccessed(detail),
    }))
}

/// An `OWAAuth` record (RecordType 275): OWA issued an access token for a
/// resource against the presented token. The operation name is an
/// assumption (the schema documents the record type and its fields, not a
/// sample); detectors should key on RecordType 275.
pub fn owa_auth(
    rng: &mut Rng,
    org: &Org,
    owner: &User,
    token: &Token,
    app: App,
    time_of: Ticks,
) -> Record {
    Record::Ual(Box::new(UalRecord {
        time: time_of,
        content_type: ContentType::Exchange,
        creation_time: time::ual(time_of),
        id: rng.guid(),
        operation: "GetAccessTokenForResource",
        organization_id: org.id.clone(),
        record_type: 275,
        result_status: "Succeeded",
        user_key: owner.user_key.clone(),
        user_type: 0,
        version: 1,
        workload: "Exchange",
        client_ip: token.ip.clone(),
        user_id: owner.upn.clone(),
        detail: UalDetail::OwaAuth(OwaAuth {
            app_id: app.id,
            client_ip_address: token.ip.clone(),
            user_agent: token.user_agent,
            session_id: token.session_id.clone(),
            unique_token_identifier: token.uti.clone(),
            resource_url: "https://outlook.office.com/",
            token_object_id: owner.object_id.clone(),
            token_tenant_id: token.tenant_id.clone(),
        }),
    }))
}

/// `New-InboxRule`: a user files newsletters away (benign mailbox rules).
pub fn new_inbox_rule(rng: &mut Rng, org: &Org, owner: &User, token: &Token, at: Ticks) -> Record {
    let rule = ["Newsletters", "Receipts", "Project updates", "Travel"][rng.below(4) as usize];
    let sender = [
        "news@updates.example",
        "noreply@billing.example",
        "pm@partner.example",
    ][rng.below(3) as usize];
    Record::Ual(Box::new(UalRecord {
        time: at,
        content_type: ContentType::Exchange,
        creation_time: time::ual(at),
        id: rng.guid(),
        operation: "New-InboxRule",
        organization_id: org.id.clone(),
        record_type: 1,
        result_status: "True",
        user_key: owner.user_key.clone(),
        user_type: 0,
        version: 1,
        workload: "Exchange",
        client_ip: token.ip.clone(),
        user_id: owner.upn.clone(),
        detail: UalDetail::InboxRule(InboxRule {
            object_id: format!("{}\\{rule}", owner.upn),
            parameters: vec![
                NameValue {
                    name: "Mailbox",
                    value: owner.upn.clone(),
                },
                NameValue {
                    name: "Name",
                    value: rule.to_owned(),
                },
                NameValue {
                    name: "From",
                    value: sender.to_owned(),
                },
                NameValue {
                    name: "MoveToFolder",
                    value: format!("Inbox\\{rule}"),
                },
                NameValue {
                    name: "StopProcessingRules",
                    value: "True".to_owned(),
                },
            ],
            external_access: false,
            organization_name: ORGANIZATION_NAME.to_owned(),
            originating_server: format!("{} (15.20.6455.030)\r\n", owner.mailbox_server),
            session_id: token.session_id.clone(),
            app_id: token.app.id,
            client_app_id: token.app.id,
        }),
    }))
}
