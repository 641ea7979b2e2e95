//! IP addresses as the UAL writes them: `185.73.124.135:19823`,
//! `[2001:db8::1]:443`. The bare address is added as a second value of the
//! same field (the raw text stays first), so `cidr` and equality rules match
//! either way.

use vigie_core::{Event, ValueKind};

/// Top-level fields that hold a client address.
const IP_FIELDS: [&str; 9] = [
    "ClientIP",
    "ClientIPAddress",
    "Client_IPAddress",
    "ActorIpAddress",
    "callerIpAddress",
    "ipAddress",
    "IPAddress",
    "clientIp",
    "properties.ipAddress",
];

pub(crate) fn normalise(ev: &mut Event) {
    let mut found: [Option<(usize, String)>; 4] = Default::default();
    let mut n = 0;
    for (index, (key, value)) in ev.iter().enumerate() {
        if n == found.len() {
            break;
        }
        if IP_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key)) {
            if let Some(bare) = bare_ip(value.text) {
                found[n] = Some((index, bare.to_owned()));
                n += 1;
            }
        }
    }
    for (index, bare) in found.into_iter().flatten() {
        let key = ev.iter().nth(index).map(|(k, _)| k.to_owned());
        if let Some(key) = key {
            ev.push(&key, &bare, ValueKind::Str);
        }
    }
}

/// The address without port or brackets, when the text has either.
pub(crate) fn bare_ip(text: &str) -> Option<&str> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some(&rest[..end]);
    }
    // One colon: IPv4 with a port. More: IPv6 without brackets, left alone.
    let (host, port) = text.split_once(':')?;
    if port.contains(':') || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    host.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.')
        .then_some(host)
}

#[cfg(test)]
mod tests {
    use super::bare_ip;

    #[test]
    fn ports_and_brackets_are_removed() {
        assert_eq!(bare_ip("185.73.124.135:19823"), Some("185.73.124.135"));
        assert_eq!(bare_ip("[2001:db8::1]:443"), Some("2001:db8::1"));
        assert_eq!(bare_ip("[::1]"), Some("::1"));
        assert_eq!(bare_ip("2001:db8::1"), None);
        assert_eq!(bare_ip("1.2.3.4"), None);
        assert_eq!(bare_ip("host:abc"), None);
    }
}
