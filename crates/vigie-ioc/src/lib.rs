//! vigie-ioc: indicator-of-compromise feeds, and matching them at line rate.
//!
//! This crate owns:
//! * the loaders of the feed formats defenders receive: STIX 2.1 bundles
//!   ([`stix`]: indicator patterns), MISP event JSON ([`misp`]: attributes
//!   marked `to_ids`) and CSV or plain lists ([`list`]: a type column or
//!   automatic typing). A bad indicator is reported with its file, its id or
//!   line and the reason ([`Problem`]); the rest of the feed loads.
//! * the typed index ([`IocIndex`]): IPs and CIDRs in per-prefix-length
//!   tables (IPv4 and IPv6), domains matched by label suffix, and exact
//!   tables for URLs, e-mail addresses, hashes, accounts, user agents, token
//!   key ids and thumbprints, application and tenant ids, file names.
//! * the field table (`data/fields.yaml`, embedded) that says which event
//!   fields hold which indicator type, and the [`IocDetector`] that runs the
//!   index over events as a `vigie_core::Detector`.
//! * the built-in pack from public advisories (`packs/`, embedded), loaded
//!   with the feed name `builtin`.

mod detector;
mod fields;
mod index;
mod indicator;
pub mod list;
mod load;
pub mod misp;
mod normalize;
pub mod stix;

pub use detector::{IocDetector, IocOptions};
pub use fields::FieldTable;
pub use index::IocIndex;
pub use indicator::{Atom, Indicator, IocType};
pub use load::{FeedSet, LoadReport, Problem, BUILTIN, BUILTIN_PACKS};
pub use normalize::{parse_cidr, parse_ip};
