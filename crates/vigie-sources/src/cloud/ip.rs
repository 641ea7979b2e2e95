//! IP addresses as the UAL writes them: `185.73.124.135:19823`,
//! `[2001:db8::1]:443`. The bare address is added as a second value of the
//! same field (the raw text stays first), so `cidr` and equality rules match
//! either way.

use vigie_core::{Event, ValueKind};

use super::index::CloudIndex;

/// Client-address fields handled per record (records have one or two).
const MAX_FIELDS: usize = 4;

/// Adds the bare address of the client-address fields
/// (`index::IP_FIELDS`) written with a port or brackets, and notes the
/// added fields in `index.added`.
pub(crate) fn normalise(ev: &mut Event, index: &mut CloudIndex) {
    // Key and address are copied out (into a reused buffer) before any is
    // pushed: a push appends to the text they are read from.
    let text = &mut index.ip_text;
    text.clear();
    // (id, end of the key in `text`, end of the address) per field.
    let mut found = [None; MAX_FIELDS];
    let mut n = 0;
    for &(i, id) in &index.layout.plan.ips {
        if n == MAX_FIELDS {
            break;
        }
        let i = i as usize;
        if let Some(bare) = ev.value_of(i).and_then(|v| bare_ip(v.text)) {
            text.push_str(ev.key_at(i).unwrap_or(""));
            let key_end = text.len();
            text.push_str(bare);
            found[n] = Some((id, key_end, text.len()));
            n += 1;
        }
    }
    if n == 0 {
        // The usual case: addresses without port or brackets.
        return;
    }
    let mut start = 0;
    for (id, key_end, end) in found.into_iter().flatten() {
        if let (Some(key), Some(bare)) = (text.get(start..key_end), text.get(key_end..end)) {
            let added = ev.push(key, bare, ValueKind::Str);
            // The same key as the field it was read from, so the same id.
            index.added.push((added, id));
        }
        start = end;
    }
}

/// The address without port or brackets, when the text has either.
pub(crate) fn bare_ip(text: &str) -> Option<&str> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some(&rest[..end]);
    }
    // One colon: IPv4 with a port. More: IPv6 without brackets, left alone
    // (a port of digits only has no second colon). Bytes, not a `str`
    // search: this runs for every client address.
    let colon = text.bytes().position(|b| b == b':')?;
    let (host, port) = (text.get(..colon)?, text.get(colon + 1..)?);
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
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
