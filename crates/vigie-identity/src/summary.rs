//! The hunt summary's short blast-radius section, from the alerts alone
//! (the full report needs a second scan: `vigie report blast-radius`).

use std::collections::{BTreeMap, BTreeSet};

use vigie_core::Alert;

use crate::rules::IdentityRules;

#[derive(Default)]
struct PerUser<'a> {
    tokens: BTreeSet<&'a str>,
    ips: BTreeSet<&'a str>,
    uses: u64,
    messages: u64,
    first: Option<&'a str>,
    last: Option<&'a str>,
}

fn field<'a>(a: &'a Alert, key: &str) -> Option<&'a str> {
    a.evidence
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// One line per user touched by orphan tokens, OWA tokens without sign-in
/// or impossible travel: tokens, uses, message ids named, IPs, first and
/// last use.
pub fn summary_lines(alerts: &[Alert]) -> Vec<String> {
    let rules = IdentityRules::new();
    let ids = [
        &rules.orphan_token.id,
        &rules.owa_no_sign_in.id,
        &rules.impossible_travel.id,
    ];
    let mut users: BTreeMap<&str, PerUser<'_>> = BTreeMap::new();
    for a in alerts.iter().filter(|a| ids.contains(&&a.rule.id)) {
        let user = a.user.as_deref().unwrap_or("(unknown user)");
        let u = users.entry(user).or_default();
        u.tokens.extend(field(a, "TokenId"));
        for ip in field(a, "IPs").or(field(a, "IP")).unwrap_or("").split(", ") {
            if !ip.is_empty() {
                u.ips.insert(ip);
            }
        }
        let n = |k| field(a, k).and_then(|v| v.parse::<u64>().ok());
        u.uses += n("Uses").unwrap_or(1);
        u.messages += n("MessageIds").unwrap_or(0);
        let first = field(a, "FirstUse");
        let last = field(a, "LastUse").or(first);
        if first.is_some() && (u.first.is_none() || first < u.first) {
            u.first = first;
        }
        if last > u.last {
            u.last = last;
        }
    }
    users
        .into_iter()
        .map(|(user, u)| {
            format!(
                "{user}: {} suspicious tokens, {} uses naming {} message ids, from {} ({} → {})",
                u.tokens.len(),
                u.uses,
                u.messages,
                u.ips.into_iter().collect::<Vec<_>>().join(", "),
                u.first.unwrap_or("?"),
                u.last.unwrap_or("?")
            )
        })
        .collect()
}
