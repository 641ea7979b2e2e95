//! vigie-identity: keyed detectors on cloud identity logs, and the
//! blast-radius report.
//!
//! The detectors implement [`vigie_core::StatefulDetector`]: during the scan
//! they keep small facts of sign-ins (Entra ID, any table) and of workload
//! records that present a token (MailItemsAccessed, OWAAuth, SharePoint,
//! Graph activity); after it they replay them in time order with state keyed
//! by tenant, user, session and token (threat brief §1.5, §3.7):
//!
//! * [`OrphanTokenDetector`]: accesses whose token id and session id match no
//!   sign-in within the token's lifetime (forged tokens), and OWAAuth token
//!   issuance with no sign-in behind it;
//! * [`BaselineDetector`]: mail read by an AppId/ClientAppId pair new to the
//!   tenant or mailbox, sign-ins from new countries (and networks), and
//!   impossible travel.
//!
//! Consumer-tenant tokens on enterprise mailboxes are a single-event
//! indicator: a Sigma rule of the built-in pack, not a detector here.
//!
//! [`blast`] turns the detectors' verdicts into what was read: per mailbox,
//! every message id, folder, IP, user agent and application of the
//! suspicious tokens' accesses.

mod access;
mod alerts;
mod baseline;
mod baseline_file;
pub mod blast;
mod fields;
mod geoip;
mod issued;
mod orphan;
pub mod report;
mod rules;
mod strings;
mod summary;

pub use access::{Access, AccessKind, SignIn, CONSUMER_TENANT};
pub use baseline::{rule_list, BaselineDetector, BaselineOptions};
pub use baseline_file::{distance_km, network, Baseline};
pub use geoip::GeoDb;
pub use orphan::{OrphanOptions, OrphanTokenDetector};
pub use rules::IdentityRules;
pub use summary::summary_lines;

/// Timestamps are microseconds since the epoch.
pub(crate) const SECOND: i64 = 1_000_000;
