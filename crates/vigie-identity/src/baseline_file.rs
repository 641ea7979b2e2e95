//! What "normal" looked like: mail applications per tenant and per mailbox,
//! countries and networks per user. Learnt from the first days of the data,
//! or loaded from a file saved by an earlier run (`--baseline-save`,
//! `--baseline`), so that a hunt over only the incident's days still knows
//! what was usual before it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The baseline file (JSON). Sorted collections make it diffable.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub version: u32,
    /// `[tenant, AppId, ClientAppId]` triples that read mail.
    #[serde(default)]
    pub tenant_mail_apps: BTreeSet<(String, String, String)>,
    /// `[mailbox, AppId, ClientAppId]` triples.
    #[serde(default)]
    pub mailbox_mail_apps: BTreeSet<(String, String, String)>,
    /// User → countries signed in from.
    #[serde(default)]
    pub countries: BTreeMap<String, BTreeSet<String>>,
    /// User → networks (IPv4 /16, IPv6 /32) signed in from.
    #[serde(default)]
    pub networks: BTreeMap<String, BTreeSet<String>>,
}

/// Largest baseline file read (a hostile file must not exhaust memory).
const MAX_FILE_BYTES: u64 = 512 << 20;

impl Baseline {
    pub const VERSION: u32 = 1;

    pub fn load(path: &Path) -> Result<Baseline, String> {
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{shown}: cannot read: {e}"))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(format!(
                "{shown}: baseline file larger than {MAX_FILE_BYTES} bytes"
            ));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let b: Baseline = serde_json::from_str(&text)
            .map_err(|e| format!("{shown}: not a vigie baseline: {e}"))?;
        if b.version != Self::VERSION {
            return Err(format!(
                "{shown}: baseline version {} (expected {})",
                b.version,
                Self::VERSION
            ));
        }
        Ok(b)
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))
    }
}

/// The network an address belongs to, at the granularity of a provider's
/// allocation (IPv4 /16, IPv6 /32); `None` for text that is no address.
pub fn network(ip: &str) -> Option<String> {
    let ip = ip.trim().trim_start_matches('[');
    let bare = match ip.parse::<IpAddr>() {
        Ok(a) => a,
        // `1.2.3.4:5678` and `[::1]:443`.
        Err(_) => ip.rsplit_once(':')?.0.trim_end_matches(']').parse().ok()?,
    };
    Some(match bare {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.0.0/16", o[0], o[1])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}::/32", s[0], s[1])
        }
    })
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().clamp(0.0, 1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_distances() {
        assert_eq!(network("198.51.100.7").as_deref(), Some("198.51.0.0/16"));
        assert_eq!(
            network("198.51.100.7:443").as_deref(),
            Some("198.51.0.0/16")
        );
        assert_eq!(
            network("[2001:db8::1]:443").as_deref(),
            Some("2001:db8::/32")
        );
        assert_eq!(network("not an ip"), None);
        let paris = (48.86, 2.35);
        let hong_kong = (22.32, 114.17);
        let d = distance_km(paris, hong_kong);
        assert!((9_500.0..9_700.0).contains(&d), "{d}");
    }
}
