//! Substitution values of an EVTX record as text, the way the `evtx`
//! crate's JSON rendering writes them (and the JSON reader then reads
//! them back): integers in decimal as JSON numbers, GUIDs in lower-case
//! braces, FILETIMEs as ISO 8601 with seven fraction digits, SIDs in
//! `S-R-A-S1-…` form, hex integers as `0x…` in lower case, binary as
//! upper-case hex, strings up to their first NUL.
//!
//! Only the types listed in [`Value::read`] are taken; any other type, or a
//! value whose size does not fit its type, makes the record decline the
//! fast path (see `binxml`), so its rendering stays the crate's.

use vigie_core::ValueKind;

/// BinXML value types (MS-EVEN6 2.2.18 / libevtx) this reader renders.
pub(super) mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const INT8: u8 = 0x03;
    pub const UINT8: u8 = 0x04;
    pub const INT16: u8 = 0x05;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEX32: u8 = 0x14;
    pub const HEX64: u8 = 0x15;
    pub const BIN_XML: u8 = 0x21;
}

/// Whether the crate knows `ty` as a value type at all (it refuses a
/// template or an instance that names another).
pub(super) fn known(ty: u8) -> bool {
    matches!(ty, 0x00..=0x15 | 0x20 | 0x21 | 0x23 | 0x81..=0x95)
}

/// Whether a value of type `ty` and `size` bytes is one this reader takes
/// (rendered by [`Value::render`], or a nested instance).
pub(super) fn fits(ty: u8, size: usize) -> bool {
    match ty {
        ty::NULL | ty::BINARY | ty::SID | ty::BIN_XML => true,
        ty::STRING => size & 1 == 0,
        ty::INT8 | ty::UINT8 => size == 1,
        ty::INT16 | ty::UINT16 => size == 2,
        ty::INT32 | ty::UINT32 | ty::BOOL | ty::HEX32 => size == 4,
        ty::INT64 | ty::UINT64 | ty::FILETIME | ty::HEX64 => size == 8,
        ty::GUID => size == 16,
        _ => false,
    }
}

/// One substitution value: its type and its bytes in the chunk.
#[derive(Clone, Copy, Debug)]
pub(super) struct Value<'a> {
    pub(super) ty: u8,
    pub(super) bytes: &'a [u8],
}

/// The value could not be rendered here: the record takes the crate's path.
#[derive(Debug)]
pub(super) struct Unsupported;

impl<'a> Value<'a> {
    /// NULL, which leaves out the elements that depend on it (BinXML
    /// without bytes decodes as NULL).
    pub(super) fn is_null(&self) -> bool {
        self.ty == ty::NULL || (self.ty == ty::BIN_XML && self.bytes.is_empty())
    }

    /// Empty as the crate decides it: NULL, a string that is empty once cut
    /// at its first NUL, binary without bytes.
    pub(super) fn is_empty(&self) -> bool {
        match self.ty {
            ty::NULL => true,
            ty::STRING => self.bytes.len() < 2 || self.bytes.starts_with(&[0, 0]),
            ty::BINARY => self.bytes.is_empty(),
            _ => false,
        }
    }

    /// Appends the value's text to `out` and returns how the JSON
    /// rendering would type it (on an error, `out` may hold part of it).
    pub(super) fn render(&self, out: &mut String) -> Result<ValueKind, Unsupported> {
        let b = self.bytes;
        let kind = match self.ty {
            ty::NULL => ValueKind::Str,
            ty::STRING => {
                utf16_until_nul(b, out)?;
                ValueKind::Str
            }
            ty::INT8 => num(out, i8::from_le_bytes(fixed(b)?)),
            ty::UINT8 => num(out, u8::from_le_bytes(fixed(b)?)),
            ty::INT16 => num(out, i16::from_le_bytes(fixed(b)?)),
            ty::UINT16 => num(out, u16::from_le_bytes(fixed(b)?)),
            ty::INT32 => num(out, i32::from_le_bytes(fixed(b)?)),
            ty::UINT32 => num(out, u32::from_le_bytes(fixed(b)?)),
            ty::INT64 => num(out, i64::from_le_bytes(fixed(b)?)),
            ty::UINT64 => num(out, u64::from_le_bytes(fixed(b)?)),
            ty::BOOL => {
                // Only the two values whose rendering is certain.
                match u32::from_le_bytes(fixed(b)?) {
                    0 => out.push_str("false"),
                    1 => out.push_str("true"),
                    _ => return Err(Unsupported),
                }
                ValueKind::Bool
            }
            ty::BINARY => {
                out.reserve(b.len() * 2);
                for &byte in b {
                    out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
                    out.push(char::from(HEX_UPPER[usize::from(byte & 15)]));
                }
                ValueKind::Str
            }
            ty::GUID => {
                guid(out, &fixed::<16>(b)?);
                ValueKind::Str
            }
            ty::FILETIME => {
                filetime(out, u64::from_le_bytes(fixed(b)?));
                ValueKind::Str
            }
            ty::SID => {
                sid(out, b)?;
                ValueKind::Str
            }
            ty::HEX32 => {
                hex_lower(out, u64::from(u32::from_le_bytes(fixed(b)?)));
                ValueKind::Str
            }
            ty::HEX64 => {
                hex_lower(out, u64::from_le_bytes(fixed(b)?));
                ValueKind::Str
            }
            _ => return Err(Unsupported),
        };
        Ok(kind)
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], Unsupported> {
    bytes.try_into().map_err(|_| Unsupported)
}

fn num(out: &mut String, value: impl itoa::Integer) -> ValueKind {
    out.push_str(itoa::Buffer::new().format(value));
    ValueKind::Num
}

/// UTF-16LE up to the first NUL unit. Unpaired surrogates are declined:
/// how they come out of the crate's JSON and back is not ours to guess.
///
/// Values are mostly ASCII: four units at a time are checked (all below
/// 0x80, none NUL) and packed into bytes; the rest — from the first word
/// that is not such — is decoded unit by unit.
fn utf16_until_nul(bytes: &[u8], out: &mut String) -> Result<(), Unsupported> {
    const HIGH: u64 = 0xff80_ff80_ff80_ff80;
    const ONES: u64 = 0x0001_0001_0001_0001;
    const SIGNS: u64 = 0x8000_8000_8000_8000;
    // Small enough to be zeroed in registers: most values fit.
    let mut ascii = [0u8; 64];
    let mut staged = 0;
    let mut done = 0;
    for word in bytes.chunks_exact(8) {
        let w = word.try_into().map_or(HIGH, u64::from_le_bytes);
        // A unit of 0x80 or more, or a NUL (with every unit below 0x80,
        // `unit - 1` has its top bit set only for a NUL).
        if w & HIGH != 0 || w.wrapping_sub(ONES) & !w & SIGNS != 0 {
            break;
        }
        let x = w & 0x00ff_00ff_00ff_00ff;
        let x = (x | x >> 8) & 0x0000_ffff_0000_ffff;
        let x = (x | x >> 16) as u32;
        ascii[staged..staged + 4].copy_from_slice(&x.to_le_bytes());
        staged += 4;
        done += 8;
        if staged == ascii.len() {
            push_ascii(out, &ascii);
            staged = 0;
        }
    }
    push_ascii(out, &ascii[..staged]);
    let units = bytes[done..]
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| Unsupported)?);
    }
    Ok(())
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// `0x` and the value in lower-case hex without leading zeros.
fn hex_lower(out: &mut String, value: u64) {
    let mut buf = [0u8; 18];
    let mut at = buf.len();
    let mut rest = value;
    loop {
        at -= 1;
        buf[at] = HEX_LOWER[(rest & 15) as usize];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    at -= 2;
    buf[at] = b'0';
    buf[at + 1] = b'x';
    push_ascii(out, &buf[at..]);
}

/// Appends bytes that are ASCII by construction (hex digits, packed
/// UTF-16 units below 0x80). A full UTF-8 validation of each short value
/// cost 3% of an EVTX hunt's instructions and 7% of its mispredicted
/// branches; checking for ASCII is a word-at-a-time OR.
fn push_ascii(out: &mut String, ascii: &[u8]) {
    if let Some(text) = crate::flatten::ascii(ascii) {
        out.push_str(text);
    }
}

/// `{d1-d2-d3-d4[0..2]-d4[2..8]}` in lower case, the first three parts
/// little-endian.
fn guid(out: &mut String, b: &[u8; 16]) {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    // Where each byte's two digits go, past the dashes (a table rather
    // than a test per byte, which mispredicted).
    const AT: [usize; 16] = [1, 3, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 29, 31, 33, 35];
    let mut buf = [b'-'; 38];
    buf[0] = b'{';
    buf[37] = b'}';
    for (&index, &at) in ORDER.iter().zip(&AT) {
        buf[at] = HEX_LOWER[usize::from(b[index] >> 4)];
        buf[at + 1] = HEX_LOWER[usize::from(b[index] & 15)];
    }
    push_ascii(out, &buf);
}

/// Revision, sub-authority count, 48-bit big-endian authority, then the
/// little-endian sub-authorities (as many as both the count and the bytes
/// allow).
fn sid(out: &mut String, b: &[u8]) -> Result<(), Unsupported> {
    let (Some(&revision), Some(&count), Some(authority)) = (b.first(), b.get(1), b.get(2..8))
    else {
        out.push_str("S-?");
        return Ok(());
    };
    let mut auth = [0u8; 8];
    auth[2..].copy_from_slice(authority);
    let mut digits = itoa::Buffer::new();
    out.push_str("S-");
    out.push_str(digits.format(revision));
    out.push('-');
    out.push_str(digits.format(u64::from_be_bytes(auth)));
    let subs = b.get(8..).unwrap_or_default();
    for sub in subs.chunks_exact(4).take(usize::from(count)) {
        out.push('-');
        out.push_str(digits.format(u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])));
    }
    Ok(())
}

const TICKS_PER_SECOND: u64 = 10_000_000;
const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SECOND;

/// `YYYY-MM-DDThh:mm:ss.fffffffZ` of a FILETIME (100 ns ticks since
/// 1601-01-01), years past 9999 by their last four digits, a value past
/// `i64::MAX` as zeros — as Windows and the crate render them.
fn filetime(out: &mut String, ticks: u64) {
    if ticks > i64::MAX as u64 {
        out.push_str("0000-00-00T00:00:00.0000000Z");
        return;
    }
    out.reserve(28);
    let (days, rest) = (ticks / TICKS_PER_DAY, ticks % TICKS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = rest / TICKS_PER_SECOND;
    let mut buf = *b"0000-00-00T00:00:00.0000000Z";
    digits(&mut buf[0..4], year % 10_000);
    digits(&mut buf[5..7], month);
    digits(&mut buf[8..10], day);
    digits(&mut buf[11..13], secs / 3600);
    digits(&mut buf[14..16], secs / 60 % 60);
    digits(&mut buf[17..19], secs % 60);
    digits(&mut buf[20..27], rest % TICKS_PER_SECOND);
    push_ascii(out, &buf);
}

/// `value`'s last `out.len()` decimal digits, zero-padded.
fn digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The Gregorian date `days` after 1601-01-01 (days from the 0000-03-01
/// epoch in 400-year eras; the well-known civil-from-days computation).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    const DAYS_0000_03_01_TO_1601_01_01: u64 = 584_694;
    let z = days + DAYS_0000_03_01_TO_1601_01_01;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ty: u8, bytes: &[u8]) -> (String, ValueKind) {
        let mut out = String::new();
        let kind = Value { ty, bytes }.render(&mut out).unwrap();
        (out, kind)
    }

    #[test]
    fn renders_like_windows() {
        assert_eq!(text(ty::UINT16, &4688u16.to_le_bytes()).0, "4688");
        assert_eq!(text(ty::INT32, &(-5i32).to_le_bytes()).1, ValueKind::Num);
        assert_eq!(
            text(ty::HEX64, &0x8020000000000000u64.to_le_bytes()).0,
            "0x8020000000000000"
        );
        assert_eq!(text(ty::HEX32, &0u32.to_le_bytes()).0, "0x0");
        assert_eq!(text(ty::BINARY, &[0xab, 0x01]).0, "AB01");
        let guid = [
            0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28,
            0xc3, 0x0d,
        ];
        assert_eq!(
            text(ty::GUID, &guid).0,
            "{54849625-5478-4994-a5ba-3e3b0328c30d}"
        );
        // S-1-5-18
        let sid = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
        assert_eq!(text(ty::SID, &sid).0, "S-1-5-18");
        assert_eq!(text(ty::SID, &[1]).0, "S-?");
        // 2019-08-14T14:06:44.4956748Z
        assert_eq!(
            text(ty::FILETIME, &132102652044956748u64.to_le_bytes()).0,
            "2019-08-14T14:06:44.4956748Z"
        );
        assert_eq!(
            text(ty::FILETIME, &0u64.to_le_bytes()).0,
            "1601-01-01T00:00:00.0000000Z"
        );
        let s: Vec<u8> = "Ab\u{e9}\0junk"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(text(ty::STRING, &s).0, "Ab\u{e9}");
        assert_eq!(
            text(ty::BOOL, &1u32.to_le_bytes()),
            ("true".into(), ValueKind::Bool)
        );
    }

    /// The word-at-a-time decoder against `String::from_utf16` cut at the
    /// first NUL, on strings of every length mixing ASCII, NULs, other
    /// characters, surrogate pairs and lone surrogates at every position.
    #[test]
    fn utf16_as_the_standard_decoder() {
        let pieces: [&[u16]; 7] = [
            &[0x41],
            &[0x7f],
            &[0],
            &[0xe9],
            &[0x4e2d],
            &[0xd83d, 0xde00],
            &[0xdc00],
        ];
        let mut random = vigie_core::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..20_000 {
            let mut units: Vec<u16> = Vec::new();
            let len = round % 70;
            while units.len() < len {
                let seed = random.next_u64();
                // Mostly ASCII, as real values are.
                let piece = if seed % 8 < 5 {
                    0
                } else {
                    (seed >> 8) as usize % pieces.len()
                };
                units.extend_from_slice(pieces[piece]);
            }
            let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            if round % 3 == 0 {
                bytes.push(0x41); // an odd byte at the end is not a unit
            }
            let cut: Vec<u16> = units.iter().copied().take_while(|&u| u != 0).collect();
            let want = String::from_utf16(&cut).ok();
            let mut got = String::from("stale");
            got.clear();
            let got = super::utf16_until_nul(&bytes, &mut got).ok().map(|()| got);
            assert_eq!(got, want, "{units:x?}");
        }
    }

    #[test]
    fn declines_what_it_cannot_render_for_certain() {
        let mut out = String::new();
        for (ty, bytes) in [
            (ty::UINT16, &[1u8][..]),
            (ty::BOOL, &2u32.to_le_bytes()[..]),
            (0x0b, &[0u8; 4][..]),
            (ty::STRING, &[0x00, 0xd8, 0x41, 0x00][..]),
        ] {
            assert!(Value { ty, bytes }.render(&mut out).is_err(), "{ty}");
        }
    }
}
