//! What each identity detector says about itself, like a Sigma rule: id,
//! title, level, ATT&CK tags, description, references. Documented in the
//! README ("Identity detectors").

use std::sync::Arc;

use vigie_core::{Level, RuleMeta};

const LINKABLE: &str = "https://learn.microsoft.com/en-us/entra/identity/authentication/how-to-authentication-track-linkable-identifiers";
const STORM: &str = "https://www.microsoft.com/en-us/security/blog/2023/07/14/analysis-of-storm-0558-techniques-for-unauthorized-email-access/";
const CISA: &str = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa23-193a";
const UAL_SCHEMA: &str = "https://learn.microsoft.com/en-us/office/office-365-management-api/office-365-management-activity-api-schema";

fn meta(
    id: &str,
    title: &str,
    level: Level,
    tags: &[&str],
    description: &str,
    references: &[&str],
) -> Arc<RuleMeta> {
    Arc::new(RuleMeta {
        id: id.to_owned(),
        title: title.to_owned(),
        level,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        description: description.to_owned(),
        references: references.iter().map(|r| (*r).to_owned()).collect(),
        author: "vigie".to_owned(),
        origin: "builtin:identity".to_owned(),
        internal: false,
    })
}

/// Every rule of this crate's detectors.
#[derive(Clone)]
pub struct IdentityRules {
    pub orphan_token: Arc<RuleMeta>,
    pub owa_no_sign_in: Arc<RuleMeta>,
    pub first_seen_mail_app: Arc<RuleMeta>,
    pub first_seen_mail_app_user: Arc<RuleMeta>,
    pub new_country: Arc<RuleMeta>,
    pub new_network: Arc<RuleMeta>,
    pub impossible_travel: Arc<RuleMeta>,
}

impl IdentityRules {
    pub fn new() -> Self {
        IdentityRules {
            orphan_token: meta(
                "9ffbac57-b796-4950-b9ed-bfb8aefc07a2",
                "Cloud Access With A Token No Sign-In Issued",
                Level::High,
                &["attack.credential_access", "attack.t1606.002", "attack.defense_evasion", "attack.t1550.001", "attack.collection", "attack.t1114.002"],
                "A mailbox, Graph or SharePoint access whose token id (AppAccessContext.UniqueTokenId, signInActivityId) matches no sign-in of any kind within the token's lifetime, and whose session id matches none either, while the sign-in logs cover that time. A forged token never passes through Entra ID. One alert per token, at its first use; evidence counts every use.",
                &[LINKABLE, STORM],
            ),
            owa_no_sign_in: meta(
                "cf6e94a6-c8d0-44e7-84fa-b3396ff0b200",
                "OWA Access Token Issued Without A Sign-In",
                Level::High,
                &["attack.credential_access", "attack.t1606.002", "attack.defense_evasion", "attack.t1550.001"],
                "An OWAAuth record (RecordType 275, GetAccessTokenForResource: \"Access Token for Resource issued successfully\") whose UniqueTokenIdentifier and SessionId match no sign-in within the token lifetime, while the sign-in logs cover that time: OWA minted a token against one Entra never issued (Storm-0558's second flaw).",
                &[UAL_SCHEMA, STORM],
            ),
            first_seen_mail_app: meta(
                "06c5d205-9e6e-4442-9435-93ac88cfd243",
                "Mail Read By An Application New To The Tenant",
                Level::Medium,
                &["attack.collection", "attack.t1114.002"],
                "MailItemsAccessed by an AppId/ClientAppId pair that read no mail in the tenant during the learning window (or in the baseline file): the signal CISA's FCEB victim used against Storm-0558. Newly adopted applications also fire it.",
                &[CISA, STORM],
            ),
            first_seen_mail_app_user: meta(
                "977abfb2-bf58-4c75-a615-74b639eafcf2",
                "Mail Read By An Application New To The Mailbox",
                Level::Low,
                &["attack.collection", "attack.t1114.002"],
                "MailItemsAccessed by an AppId/ClientAppId pair known in the tenant but that never read this user's mail during the learning window.",
                &[CISA],
            ),
            new_country: meta(
                "48e26aca-4bca-4e7b-aac3-f082aad57c9c",
                "Sign-In From A Country New For The User",
                Level::Medium,
                &["attack.initial_access", "attack.t1078.004"],
                "A successful sign-in from a country (the log's own location) the user did not sign in from during the learning window. Business trips fire it too.",
                &[LINKABLE],
            ),
            new_network: meta(
                "4275e3ad-f7a9-4b1a-96a5-685a663d7e37",
                "Sign-In From A Network New For The User",
                Level::Low,
                &["attack.initial_access", "attack.t1078.004"],
                "A successful sign-in from a network (IPv4 /16, IPv6 /32) the user did not sign in from during the learning window. Off unless --alert-new-networks: mobile carriers make it common.",
                &[LINKABLE],
            ),
            impossible_travel: meta(
                "10ef2516-4ed1-47ee-bb27-d6549daf50c7",
                "Impossible Travel Between Sign-Ins",
                Level::High,
                &["attack.initial_access", "attack.t1078.004", "attack.defense_evasion", "attack.t1550.004"],
                "Two successful sign-ins of one user more than 500 km apart (the logs' geo coordinates) at a speed above 1,000 km/h: a stolen session or token replayed elsewhere. The later sign-in is reported and not taken as the user's new position.",
                &[LINKABLE],
            ),
        }
    }
}

impl Default for IdentityRules {
    fn default() -> Self {
        Self::new()
    }
}
