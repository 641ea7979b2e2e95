//! Putting indicator values (at load time) and event values (on the hot
//! path) into the same form, so that matching is an exact lookup.
//!
//! The event-side functions borrow from the value and never allocate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::indicator::{Atom, IocType};

/// Reads an IP the way logs write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`,
/// `[2001:db8::1]:443`, `::ffff:1.2.3.4` (read as IPv4), `fe80::1%eth0`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let bare = if let Some(rest) = text.strip_prefix('[') {
        &rest[..rest.find(']')?]
    } else if text.bytes().filter(|b| *b == b':').count() == 1 {
        // IPv4 with a port; an IPv6 address has at least two colons.
        &text[..text.find(':')?]
    } else {
        text
    };
    let bare = bare.split('%').next().unwrap_or(bare);
    let ip: IpAddr = bare.parse().ok()?;
    Some(canonical(ip))
}

/// IPv4-mapped IPv6 addresses are the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Reads `ADDR` or `ADDR/LEN` as an address block with its host bits
/// cleared.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let text = text.trim();
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("'{addr}' is not an IP address"))?;
    let ip = canonical(ip);
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match len {
        None => full,
        Some(l) => {
            let l: u8 = l
                .trim()
                .parse()
                .map_err(|_| format!("'{l}' is not a prefix length"))?;
            // A mapped IPv4 block (::ffff:a.b.c.d/120) keeps its IPv4 part.
            let l = if ip.is_ipv4() && addr.contains(':') {
                l.checked_sub(96)
                    .ok_or("mapped IPv4 prefix shorter than 96")?
            } else {
                l
            };
            if l > full {
                return Err(format!("prefix length {l} is longer than {full}"));
            }
            l
        }
    };
    Ok((mask(ip, prefix), prefix))
}

/// `ip` with all but the first `prefix` bits cleared.
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(v4), prefix))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(v6), prefix))),
    }
}

#[inline]
pub fn mask_v4(bits: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(prefix.min(32))))
    }
}

#[inline]
pub fn mask_v6(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix.min(128))))
    }
}

/// Undoes the usual defanging of shared indicators: `hxxp://`, `[.]`,
/// `(.)`, `[at]`, `[:]`.
pub fn refang(text: &str) -> String {
    let mut s = text.trim().to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("[dot]", "."),
        ("[@]", "@"),
        ("[at]", "@"),
        ("[:]", ":"),
        ("[://]", "://"),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    for (from, to) in [("hxxps://", "https://"), ("hxxp://", "http://")] {
        if s.len() >= from.len() && s[..from.len()].eq_ignore_ascii_case(from) {
            s = format!("{to}{}", &s[from.len()..]);
        }
    }
    s
}

/// Turns an indicator value of a known type into the atom it matches as.
pub fn normalize(ty: IocType, raw: &str) -> Result<Atom, String> {
    let value = refang(raw);
    if value.is_empty() {
        return Err("empty value".into());
    }
    if value.len() > 4096 {
        return Err("value longer than 4096 bytes".into());
    }
    let text = |v: String| {
        Ok(Atom::Text {
            ty,
            value: v.into_boxed_str(),
        })
    };
    match ty {
        IocType::Ip => {
            let (addr, prefix) = parse_cidr(&value)?;
            Ok(Atom::Ip { addr, prefix })
        }
        IocType::Domain => text(domain(&value)?),
        IocType::Url => {
            let lower = value.to_lowercase();
            let url = url(&lower);
            if !url.contains("://") {
                return Err(format!("'{value}' is not a URL (no scheme://)"));
            }
            text(url.to_owned())
        }
        IocType::Email => {
            let lower = value.to_lowercase();
            match lower.split_once('@') {
                Some((user, dom)) if !user.is_empty() && dom.contains('.') => text(lower),
                _ => Err(format!("'{value}' is not an e-mail address")),
            }
        }
        IocType::Hash | IocType::Thumbprint => {
            let lower = value.to_ascii_lowercase().replace([':', ' '], "");
            if !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("'{value}' is not hexadecimal"));
            }
            match lower.len() {
                32 | 40 | 64 => text(lower),
                n => Err(format!(
                    "a hash of {n} hex digits is none of MD5 (32), SHA-1 (40), SHA-256 (64)"
                )),
            }
        }
        // Key ids are base64url: case matters.
        IocType::KeyId => text(value),
        IocType::AppId | IocType::TenantId => {
            let lower = value.to_ascii_lowercase();
            if is_guid(&lower) {
                text(lower)
            } else {
                Err(format!("'{value}' is not a GUID"))
            }
        }
        IocType::FileName => text(basename(&value.to_lowercase()).to_owned()),
        IocType::User | IocType::UserAgent => text(value.to_lowercase()),
    }
}

/// A domain indicator: lower case, no trailing dot, no `*.` prefix, at
/// least two labels (a bare `com` would match half the internet).
fn domain(value: &str) -> Result<String, String> {
    let lower = value.to_lowercase();
    let d = lower.trim_end_matches('.');
    let d = d.strip_prefix("*.").unwrap_or(d);
    if d.is_empty()
        || !d
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(format!("'{value}' is not a domain name"));
    }
    if !d.contains('.') || d.split('.').any(str::is_empty) {
        return Err(format!(
            "'{value}' is not a domain name of two or more labels"
        ));
    }
    Ok(d.to_owned())
}

/// A URL in matching form: lower case, no fragment, no trailing `/`.
/// Works on lower-cased event values without allocating.
pub fn url(lower: &str) -> &str {
    let u = lower.trim();
    let u = u.split('#').next().unwrap_or(u);
    u.strip_suffix('/').unwrap_or(u)
}

/// The host of a URL (`https://user@host:443/p` → `host`), or of a bare
/// `host/path`.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host.split(':').next().unwrap_or(host)
}

/// A host name from an event: no trailing dot.
pub fn host(lower: &str) -> &str {
    lower.trim().trim_end_matches('.')
}

/// The last component of a Windows or Unix path.
pub fn basename(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path).trim()
}

/// `DOMAIN\user` also reads as its user part.
pub fn account_short(lower: &str) -> Option<&str> {
    if let Some((_, user)) = lower.rsplit_once('\\') {
        return Some(user);
    }
    None
}

pub fn is_guid(s: &str) -> bool {
    let s = s.trim_start_matches('{').trim_end_matches('}');
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Guesses the type of a bare value (plain lists, CSV without a type).
pub fn guess_type(raw: &str) -> Result<IocType, String> {
    let v = refang(raw);
    if parse_cidr(&v).is_ok() {
        return Ok(IocType::Ip);
    }
    if v.contains("://") {
        return Ok(IocType::Url);
    }
    if v.contains('@') && !v.contains(' ') {
        return Ok(IocType::Email);
    }
    if matches!(v.len(), 32 | 40 | 64) && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(IocType::Hash);
    }
    if is_guid(&v) {
        return Err(format!(
            "cannot tell whether GUID '{v}' is an app id or a tenant id: give a type"
        ));
    }
    if domain(&v).is_ok()
        && v.rsplit('.')
            .next()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Ok(IocType::Domain);
    }
    Err(format!("cannot tell the type of '{v}': give a type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_with_ports_brackets_and_mapping() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        for form in [
            "203.0.113.7",
            " 203.0.113.7:51234",
            "::ffff:203.0.113.7",
            "[::ffff:203.0.113.7]:80",
        ] {
            assert_eq!(parse_ip(form), Some(v4), "{form}");
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        for form in [
            "2001:db8::1",
            "[2001:db8::1]:443",
            "[2001:DB8::1]",
            "2001:db8::1%12",
        ] {
            assert_eq!(parse_ip(form), Some(v6), "{form}");
        }
        for bad in ["", "-", "localhost", "1.2.3", "1.2.3.4.5", "[::1"] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidrs_clear_host_bits_and_reject_nonsense() {
        assert_eq!(
            parse_cidr("198.51.100.77/24").unwrap(),
            ("198.51.100.0".parse().unwrap(), 24)
        );
        assert_eq!(parse_cidr("2001:db8::5/32").unwrap().1, 32);
        assert_eq!(
            parse_cidr("::ffff:10.0.0.0/104").unwrap(),
            ("10.0.0.0".parse().unwrap(), 8)
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/8").is_err());
        assert!(parse_cidr("10.0.0.0/x").is_err());
    }

    #[test]
    fn values_normalise_per_type() {
        let t = |ty, v| match normalize(ty, v) {
            Ok(Atom::Text { value, .. }) => value.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(t(IocType::Domain, "Evil[.]Example."), "evil.example");
        assert_eq!(
            t(IocType::Url, "hxxp://Evil.Example/Path/"),
            "http://evil.example/path"
        );
        assert_eq!(
            t(IocType::Hash, "D4B4CCCDA9228624656BFF33D8110955779632AA"),
            "d4b4cccda9228624656bff33d8110955779632aa"
        );
        assert_eq!(
            t(IocType::KeyId, "1LTMzakihiRla_8z2BEJVXeWMqo"),
            "1LTMzakihiRla_8z2BEJVXeWMqo"
        );
        assert_eq!(t(IocType::FileName, "C:\\Temp\\FRPC.exe"), "frpc.exe");
        assert!(normalize(IocType::Domain, "com").is_err());
        assert!(normalize(IocType::Hash, "abc").is_err());
        assert!(normalize(IocType::AppId, "not-a-guid").is_err());
        assert!(normalize(IocType::Url, "evil.example/x").is_err());
    }

    #[test]
    fn event_side_helpers_borrow() {
        assert_eq!(
            url_host("https://user@evil.example:8443/a?b"),
            "evil.example"
        );
        assert_eq!(url_host("http://[2001:db8::1]:80/"), "2001:db8::1");
        assert_eq!(basename("c:\\windows\\temp\\a.exe"), "a.exe");
        assert_eq!(account_short("corp\\alice"), Some("alice"));
    }

    #[test]
    fn guesses_types_of_bare_values() {
        assert_eq!(guess_type("10.0.0.0/8"), Ok(IocType::Ip));
        assert_eq!(guess_type("evil[.]example"), Ok(IocType::Domain));
        assert_eq!(guess_type("https://x.example/a"), Ok(IocType::Url));
        assert_eq!(guess_type("a@b.example"), Ok(IocType::Email));
        assert_eq!(guess_type(&"a".repeat(64)), Ok(IocType::Hash));
        assert!(guess_type("9188040d-6c67-4c5b-b112-36a304b66dad").is_err());
        assert!(guess_type("hello world").is_err());
        assert!(guess_type("1.2.3.4.5").is_err());
    }
}
