//! IP addresses as the UAL writes them: `185.73.124.135:19823`,
//! `[2001:db8::1]:443`. The bare address is added as a second value of the
//! same field (the raw text stays first), so `cidr` and equality rules match
//! either way.

use vigie_core::{Event, ValueKind};

use super::index::CloudIndex;

/// Adds the bare address of the client-address fields
/// (`index::IP_FIELDS`) written with a port or brackets.
pub(crate) fn normalise(ev: &mut Event, index: &CloudIndex) {
    let mut found: [Option<(usize, String)>; 4] = Default::default();
    let mut n = 0;
    for (i, (_, id)) in ev.keys().enumerate() {
        if n == found.len() {
            break;
        }
        if !id.is_some_and(|id| index.is_ip_field(id)) {
            continue;
        }
        if let Some(bare) = ev.value_of(i).and_then(|v| bare_ip(v.text)) {
            found[n] = Some((i, bare.to_owned()));
            n += 1;
        }
    }
    for (i, bare) in found.into_iter().flatten() {
        if let Some(key) = ev.key_at(i).map(str::to_owned) {
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
