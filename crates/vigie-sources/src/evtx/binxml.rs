//! EVTX records straight from their BinXML into events, without the JSON
//! text the `evtx` crate would render and the JSON reader would read back.
//!
//! A record is a template instance: a reference to a template definition
//! in its chunk (an element tree with numbered substitutions) plus the
//! values to substitute. Each definition is compiled once into a [`Plan`]:
//! the event's fields in order, each named as the JSON route names it
//! (`windows::plan`) and filled from a substitution or a literal. Plans are
//! kept per thread across chunks and files, by the definition's
//! location-free form. A record then costs its values' rendering and the
//! field pushes.
//!
//! Only the shapes whose JSON rendering is known for certain are planned
//! (`System` elements with attributes and one value, `EventData` of named
//! or positional `Data`, a `UserData` wrapper of leaf elements, either of
//! them as the nested instance most records carry), and only the value
//! types of [`values`] are rendered. Anything else — another element, a
//! dependency this plan does not model, an array, a nested value anywhere
//! else, a damaged record — *declines*: the chunk goes on through
//! the crate from that record, so such records (and every error message)
//! are exactly what the crate's path gives. The differential test
//! (`tests/evtx.rs`) holds both paths equal on every sample record.
//! `VIGIE_DEBUG_BINXML=1` prints why a template or record declined (as
//! `VIGIE_DEBUG_INDEX` does for the Sigma index), to see what to plan next.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use vigie_core::{Event, EventKind, PresetKey, ValueKind};

use super::values::{self, ty, Unsupported, Value};
use crate::time::parse_timestamp;

const RECORD_HEADER: usize = 24;
const RECORD_MAGIC: [u8; 4] = *b"\x2a\x2a\x00\x00";
/// Record timestamps from about year 9990 on are left to the crate, which
/// refuses some of them.
const MAX_RECORD_FILETIME: u64 = 2_650_000_000_000_000_000;

/// Where a value of a field comes from.
#[derive(Debug, Clone)]
enum Source {
    /// A substitution of the record.
    Slot(u16),
    /// Text in the template itself.
    Literal(Box<str>),
    /// The fields of the BinXML value of the substitution `Plan::nested`
    /// (the `EventData` or `UserData` of most records).
    Nested,
    /// JSON null.
    Null,
}

/// What a field whose substitution is empty becomes (JSON `null` in a
/// `System` element says nothing; a `Data` value is `""`; a `UserData`
/// leaf is a null field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnEmpty {
    Skip,
    EmptyText,
    Null,
}

/// Facts of the `System` element that `windows::finish` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    None,
    SystemTime,
    RecordId,
}

#[derive(Debug, Clone)]
struct Field {
    name: PresetKey,
    source: Source,
    on_empty: OnEmpty,
    /// The field's element is left out when this substitution is NULL.
    depends: Option<u16>,
    note: Note,
}

/// A compiled template: the fields of its events, in order.
#[derive(Debug, Default)]
pub(super) struct Plan {
    fields: Vec<Field>,
    /// The substitution holding the nested template instance, if any, and
    /// what its root is.
    nested: Option<u16>,
    nested_root: Root,
    /// The root element is left out when this substitution is NULL (the
    /// record is then the crate's to render).
    root_depends: Option<u16>,
}

/// The template could not be planned (or the record read): the crate's
/// path takes it.
#[derive(Debug)]
pub(super) struct Decline;

impl From<Unsupported> for Decline {
    fn from(_: Unsupported) -> Self {
        Decline
    }
}

/// Bytes of template forms kept across chunks and files, per thread:
/// past this (hostile input can make every template new) they are
/// forgotten and learnt again.
const MAX_KNOWN_BYTES: usize = 8 << 20;

/// A template's location-free form (and root) → its plan, if it has one;
/// and the bytes of those forms.
type Known = (FxHashMap<Box<[u8]>, Option<Rc<Plan>>>, usize);

thread_local! {
    /// Plans (or `None`: declined) by their template's location-free form
    /// plus what it is the root of. Keyed by the whole form rather than a
    /// hash of it, so that no file can pass its template off as another
    /// file's.
    static KNOWN: RefCell<Known> = RefCell::default();
}

/// Per-worker state: templates of the current chunk and scratch buffers.
#[derive(Default)]
pub(super) struct Reader {
    /// Template definitions of the chunk being read, by offset and by what
    /// they are the root of.
    plans: Vec<(u32, Root, Option<Rc<Plan>>)>,
    /// Scratch for a template's location-free form.
    key: Vec<u8>,
    /// Offsets of the chunk's string table entries seen (its chains may
    /// loop).
    strings: rustc_hash::FxHashSet<u32>,
    /// Substitution values (type, start, end) of the record's instance and
    /// of the instance nested in one of them.
    values: Vec<(u8, u32, u32)>,
    nested_values: Vec<(u8, u32, u32)>,
    system_time: String,
}

/// What a template definition is the root of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Root {
    /// A record: `Event`.
    Event,
    /// A BinXML value among `Event`'s children: `EventData` or `UserData`.
    #[default]
    Container,
    /// A BinXML value in `UserData`: its one element.
    Wrapper,
}

/// One record of a chunk, as the crate's record walk finds it.
pub(super) struct RawRecord {
    pub(super) id: u64,
    pub(super) binxml: std::ops::Range<usize>,
    pub(super) end: usize,
}

/// The record starting at `offset` of a chunk, read as the crate's record
/// walk reads it.
pub(super) fn record_at(data: &[u8], offset: usize) -> Result<RawRecord, Decline> {
    let header = data
        .get(offset..offset.checked_add(RECORD_HEADER).ok_or(Decline)?)
        .ok_or(Decline)?;
    if header[..4] != RECORD_MAGIC {
        return Err(Decline);
    }
    let size = u32::from_le_bytes(fixed(&header[4..8])?) as usize;
    let id = u64::from_le_bytes(fixed(&header[8..16])?);
    let filetime = u64::from_le_bytes(fixed(&header[16..24])?);
    if size < RECORD_HEADER + 4 || filetime > MAX_RECORD_FILETIME {
        return Err(Decline);
    }
    let end = offset.checked_add(size).ok_or(Decline)?;
    if end > data.len() {
        return Err(Decline);
    }
    Ok(RawRecord {
        id,
        binxml: offset + RECORD_HEADER..end - 4,
        end,
    })
}

/// Prints `what` when `VIGIE_DEBUG_BINXML` is set (declines only: rare).
pub(super) fn debug(what: std::fmt::Arguments<'_>) {
    if std::env::var_os("VIGIE_DEBUG_BINXML").is_some() {
        eprintln!("{what}");
    }
}

impl Reader {
    /// Starts on a chunk: forgets the templates of the previous one (their
    /// offsets mean something else here), and checks its string table as
    /// the crate does before reading any record of it. A table the crate
    /// cannot read fails the whole chunk there, so it declines here.
    pub(super) fn new_chunk(&mut self, data: &[u8]) -> Result<(), Decline> {
        self.plans.clear();
        self.strings.clear();
        let offsets = data.get(128..128 + 64 * 4).ok_or(Decline)?;
        for offset in offsets.chunks_exact(4) {
            let mut at = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]);
            if at == 0 {
                continue;
            }
            loop {
                let mut cur = Cursor {
                    data,
                    chunk: data,
                    pos: at as usize,
                };
                let next = cur.u32()?;
                cur.skip(2)?;
                let len = usize::from(cur.u16()?);
                let units = cur.take(len * 2)?;
                cur.skip(2)?;
                valid_utf16_until_nul(units)?;
                self.strings.insert(at);
                if next == 0 || self.strings.contains(&next) {
                    break;
                }
                if next as usize > data.len() {
                    return Err(Decline);
                }
                at = next;
            }
        }
        Ok(())
    }

    /// Fills `ev` with the record whose BinXML is `data[binxml]`.
    pub(super) fn read_record(
        &mut self,
        data: &[u8],
        binxml: std::ops::Range<usize>,
        ev: &mut Event,
    ) -> Result<(), Decline> {
        let def = instance(data, binxml, &mut self.values)
            .inspect_err(|_| debug(format_args!("DECLINED INSTANCE")))?;
        let outer = self.plan(data, def, Root::Event)?;
        let nested_slot = self.plans[outer]
            .2
            .as_ref()
            .and_then(|p| Some((p.nested?, p.nested_root)));
        let nested = match nested_slot {
            None => None,
            Some((slot, root)) => {
                let &(ty, start, end) = self.values.get(usize::from(slot)).ok_or(Decline)?;
                match ty {
                    _ if start == end => None,
                    ty::NULL => None,
                    ty::BIN_XML => {
                        let range = start as usize..end as usize;
                        let def =
                            instance(data, range, &mut self.nested_values).inspect_err(|_| {
                                debug(format_args!(
                                    "DECLINED NESTED INSTANCE {:02x?}",
                                    data.get(
                                        start as usize..(start as usize + 24).min(end as usize)
                                    )
                                ))
                            })?;
                        Some(self.plan(data, def, root)?)
                    }
                    _ => return Err(Decline),
                }
            }
        };
        let plan = self.plans[outer].2.as_ref().ok_or(Decline)?;
        let nested = match nested {
            Some(index) => Some((
                &**self.plans[index].2.as_ref().ok_or(Decline)?,
                &self.nested_values[..],
            )),
            None => None,
        };
        let mut fill = Fill {
            data,
            system_time: &mut self.system_time,
            record: None,
            ev,
        };
        fill.event(plan, &self.values, nested).inspect_err(|_| {
            debug(format_args!(
                "DECLINED VALUES {:?}",
                self.values.iter().map(|v| v.0).collect::<Vec<_>>()
            ))
        })
    }

    /// The plan of the template defined at `def`, compiled on first use.
    fn plan(&mut self, data: &[u8], def: u32, root: Root) -> Result<usize, Decline> {
        if let Some(index) = self
            .plans
            .iter()
            .position(|(at, r, _)| *at == def && *r == root)
        {
            return Ok(index);
        }
        // Known from another chunk or file?
        let plan = match normalize(data, def, &mut self.key) {
            Err(Decline) => None,
            Ok(()) => {
                self.key.push(root as u8);
                KNOWN.with(|known| {
                    let (known, bytes) = &mut *known.borrow_mut();
                    if let Some(plan) = known.get(self.key.as_slice()) {
                        return plan.clone();
                    }
                    let plan = compile(data, def, root).ok().map(Rc::new);
                    if plan.is_none() {
                        debug(format_args!("DECLINED at {def}"));
                    }
                    if *bytes + self.key.len() > MAX_KNOWN_BYTES {
                        known.clear();
                        *bytes = 0;
                    }
                    *bytes += self.key.len();
                    known.insert(self.key.clone().into_boxed_slice(), plan.clone());
                    plan
                })
            }
        };
        self.plans.push((def, root, plan));
        Ok(self.plans.len() - 1)
    }
}

/// Reads a template instance (a fragment header, the instance token, the
/// definition's offset — skipping the definition when it is stored right
/// there — and the substitution values, whose (type, start, end) go into
/// `values`), and returns the definition's offset.
fn instance(
    data: &[u8],
    binxml: std::ops::Range<usize>,
    values: &mut Vec<(u8, u32, u32)>,
) -> Result<u32, Decline> {
    let end = binxml.end;
    let mut cur = Cursor {
        data: data.get(..end).ok_or(Decline)?,
        chunk: data,
        pos: binxml.start,
    };
    cur.fragment_header()?;
    if cur.u8()? != 0x0c {
        return Err(Decline);
    }
    cur.skip(1)?;
    let _template_id = cur.u32()?;
    let def = cur.u32()?;
    if def as usize == cur.pos {
        cur.skip(4 + 16)?;
        let size = cur.u32()? as usize;
        cur.skip(size)?;
    }
    let count = cur.u32()? as usize;
    let descriptors = cur.take(count.checked_mul(4).ok_or(Decline)?)?;
    values.clear();
    let mut at = cur.pos;
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let next = at + size;
        // The crate decodes every value, used or not: a type it would
        // refuse, or a size that does not fit the type, is its to report.
        if next > end || !values::fits(d[2], size) {
            return Err(Decline);
        }
        values.push((d[2], at as u32, next as u32));
        at = next;
    }
    // Then the end of the fragment; anything else is not a plain instance.
    cur.pos = at;
    if cur.pos < end && cur.u8()? != 0x00 {
        return Err(Decline);
    }
    Ok(def)
}

type Values<'v> = &'v [(u8, u32, u32)];

/// Filling one event from plans and values.
struct Fill<'a, 'e> {
    data: &'a [u8],
    system_time: &'e mut String,
    /// `System.EventRecordID`, once seen (`Some(None)`: not a number).
    record: Option<Option<u64>>,
    ev: &'e mut Event,
}

impl<'a> Fill<'a, '_> {
    fn event(
        &mut self,
        plan: &Plan,
        values: Values<'_>,
        nested: Option<(&Plan, Values<'_>)>,
    ) -> Result<(), Decline> {
        if let Some(slot) = plan.root_depends {
            if self.value(values, slot)?.is_null() {
                return Err(Decline);
            }
        }
        self.ev.clear();
        self.system_time.clear();
        self.fields(plan, values, nested)?;
        // As `windows::finish` does for an XML-shaped record.
        let ev = &mut *self.ev;
        ev.kind = EventKind::Windows;
        ev.record = self.record.flatten().unwrap_or(0);
        ev.timestamp = if self.system_time.is_empty() {
            None
        } else {
            parse_timestamp(self.system_time)
        };
        Ok(())
    }

    fn value(&self, values: Values<'_>, slot: u16) -> Result<Value<'a>, Decline> {
        let &(ty, start, end) = values.get(usize::from(slot)).ok_or(Decline)?;
        Ok(Value {
            ty,
            bytes: self.data.get(start as usize..end as usize).ok_or(Decline)?,
        })
    }

    fn fields(
        &mut self,
        plan: &Plan,
        values: Values<'_>,
        nested: Option<(&Plan, Values<'_>)>,
    ) -> Result<(), Decline> {
        for field in &plan.fields {
            if let Some(slot) = field.depends {
                if self.value(values, slot)?.is_null() {
                    continue;
                }
            }
            let key = &field.name;
            let index = match &field.source {
                Source::Nested => {
                    if let Some((plan, values)) = nested {
                        self.fields(plan, values, None)?;
                    }
                    continue;
                }
                Source::Literal(literal) => self.ev.push_preset(key, literal, ValueKind::Str),
                Source::Null => self.ev.push_preset(key, "", ValueKind::Null),
                Source::Slot(slot) => {
                    let value = self.value(values, *slot)?;
                    if value.is_empty() {
                        let kind = match field.on_empty {
                            OnEmpty::Skip => continue,
                            OnEmpty::EmptyText => ValueKind::Str,
                            OnEmpty::Null => ValueKind::Null,
                        };
                        self.ev.push_preset(key, "", kind)
                    } else {
                        // Rendered straight into the event's text.
                        self.ev.push_rendered(key, |out| value.render(out))?
                    }
                }
            };
            if field.note != Note::None {
                self.note(field.note, index);
            }
        }
        Ok(())
    }

    /// Remembers what `windows::finish` reads of the value of field `index`.
    fn note(&mut self, note: Note, index: usize) {
        let text = self.ev.value_of(index).map_or("", |v| v.text);
        match note {
            Note::None => {}
            Note::SystemTime => {
                if self.system_time.is_empty() {
                    self.system_time.push_str(text);
                }
            }
            Note::RecordId => {
                if self.record.is_none() {
                    self.record = Some(text.trim().parse().ok());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Template definitions
// ---------------------------------------------------------------------------

/// A template's element tree.
#[derive(Debug)]
struct Element {
    name: String,
    dependency: Option<u16>,
    attrs: Vec<(String, Vec<Node>)>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
    Slot(u16),
}

/// Templates nest elements this deep at most here (Windows' own are 4–5).
const MAX_DEPTH: usize = 16;

fn compile(data: &[u8], def: u32, root: Root) -> Result<Plan, Decline> {
    let (mut cur, _guid, token) = Cursor::template(data, def)?;
    let element = element(&mut cur, token, 0)?;
    cur.end_of_template()?;
    let plan = match root {
        Root::Event => plan_event(&element),
        Root::Container => plan_container(&element),
        Root::Wrapper => {
            let mut plan = Plan::default();
            plan_wrapper(&element, &mut plan).map(|()| plan)
        }
    };
    if plan.is_err() {
        debug(format_args!("DECLINED TEMPLATE {root:?} {element:?}"));
    }
    plan
}

/// The root of a nested instance: `EventData` or `UserData`.
fn plan_container(root: &Element) -> Result<Plan, Decline> {
    if root.dependency.is_some() {
        return Err(Decline);
    }
    let mut plan = Plan::default();
    match root.name.as_str() {
        "EventData" => plan_event_data(root, &mut plan)?,
        "UserData" => plan_user_data(root, &mut plan)?,
        _ => return Err(Decline),
    }
    Ok(plan)
}

/// Reads an element whose start token (`0x01`/`0x41`) was just read.
fn element(cur: &mut Cursor<'_>, token: u8, depth: usize) -> Result<Element, Decline> {
    if token & !0x40 != 0x01 || depth > MAX_DEPTH {
        return Err(Decline);
    }
    let dependency = match cur.u16()? {
        0xffff => None,
        id => Some(id),
    };
    let _size = cur.u32()?;
    let name = cur.name()?;
    let mut attrs = Vec::new();
    if token & 0x40 != 0 {
        let _attr_size = cur.u32()?;
    }
    let mut next = cur.u8()?;
    while next & !0x40 == 0x06 {
        let attr = cur.name()?;
        let mut value = Vec::new();
        next = cur.u8()?;
        loop {
            match next & !0x40 {
                0x05 => value.push(Node::Text(cur.text()?)),
                0x0d | 0x0e => value.push(Node::Slot(cur.slot()?)),
                _ => break,
            }
            next = cur.u8()?;
        }
        attrs.push((attr, value));
    }
    let mut children = Vec::new();
    match next {
        0x03 => {}
        0x02 => loop {
            let token = cur.u8()?;
            match token & !0x40 {
                0x04 if token == 0x04 => break,
                0x01 => children.push(Node::Element(element(cur, token, depth + 1)?)),
                0x05 => children.push(Node::Text(cur.text()?)),
                0x0d | 0x0e if token & 0x40 == 0 => children.push(Node::Slot(cur.slot()?)),
                _ => return Err(Decline),
            }
        },
        _ => return Err(Decline),
    }
    Ok(Element {
        name,
        dependency,
        attrs,
        children,
    })
}

/// Writes the template defined at `def` to `out` in a form that does not
/// depend on where it is: its tokens with each name reference replaced by
/// the name itself. Equal forms are equal templates, whatever the chunk:
/// the key of plans kept across chunks and files.
fn normalize(data: &[u8], def: u32, out: &mut Vec<u8>) -> Result<(), Decline> {
    out.clear();
    let (mut cur, guid, token) = Cursor::template(data, def)?;
    out.extend_from_slice(guid);
    normalize_element(&mut cur, token, 0, out)?;
    cur.end_of_template()
}

/// [`element`]'s walk, writing instead of building.
fn normalize_element(
    cur: &mut Cursor<'_>,
    token: u8,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), Decline> {
    if token & !0x40 != 0x01 || depth > MAX_DEPTH {
        return Err(Decline);
    }
    out.push(token);
    out.extend_from_slice(&cur.u16()?.to_le_bytes());
    let _size = cur.u32()?;
    cur.name_into(out)?;
    if token & 0x40 != 0 {
        let _attr_size = cur.u32()?;
    }
    let mut next = cur.u8()?;
    while next & !0x40 == 0x06 {
        out.push(0x06);
        cur.name_into(out)?;
        next = cur.u8()?;
        loop {
            match next & !0x40 {
                0x05 => cur.text_into(out)?,
                0x0d | 0x0e => cur.slot_into(out)?,
                _ => break,
            }
            next = cur.u8()?;
        }
    }
    out.push(next);
    match next {
        0x03 => Ok(()),
        0x02 => loop {
            let token = cur.u8()?;
            match token & !0x40 {
                0x04 if token == 0x04 => {
                    out.push(0x04);
                    return Ok(());
                }
                0x01 => normalize_element(cur, token, depth + 1, out)?,
                0x05 => cur.text_into(out)?,
                0x0d | 0x0e if token & 0x40 == 0 => cur.slot_into(out)?,
                _ => return Err(Decline),
            }
        },
        _ => Err(Decline),
    }
}

fn plan_event(root: &Element) -> Result<Plan, Decline> {
    if root.name != "Event" {
        return Err(Decline);
    }
    if root
        .attrs
        .iter()
        .any(|(name, _)| !name.starts_with("xmlns"))
    {
        return Err(Decline);
    }
    let mut plan = Plan {
        root_depends: root.dependency,
        ..Plan::default()
    };
    let mut seen_system = false;
    for (index, child) in root.children.iter().enumerate() {
        let child = match child {
            Node::Element(child) => child,
            // `EventData`/`UserData` as a nested instance, last.
            Node::Slot(slot) if index == 1 && index + 1 == root.children.len() => {
                plan.nested = Some(*slot);
                plan.fields.push(Field {
                    name: PresetKey::new(""),
                    source: Source::Nested,
                    on_empty: OnEmpty::Skip,
                    depends: None,
                    note: Note::None,
                });
                continue;
            }
            Node::Text(_) | Node::Slot(_) => return Err(Decline),
        };
        let nested_user_data = child.name == "UserData"
            && matches!(child.children.as_slice(), [Node::Slot(slot)] if child.dependency == Some(*slot));
        if child.dependency.is_some() && !nested_user_data {
            return Err(Decline);
        }
        match child.name.as_str() {
            "System" if index == 0 => {
                plan_system(child, &mut plan)?;
                seen_system = true;
            }
            "EventData" if index == 1 => plan_event_data(child, &mut plan)?,
            "UserData" if index == 1 => match child.children.as_slice() {
                // `<UserData>%n</UserData>`: the wrapper is a nested instance
                // (left out with it when NULL).
                [Node::Slot(slot)]
                    if child.attrs.is_empty()
                        && child.dependency.is_none_or(|d| d == *slot)
                        && index + 1 == root.children.len() =>
                {
                    plan.nested = Some(*slot);
                    plan.nested_root = Root::Wrapper;
                    plan.fields.push(Field {
                        name: PresetKey::new(""),
                        source: Source::Nested,
                        on_empty: OnEmpty::Skip,
                        depends: None,
                        note: Note::None,
                    });
                }
                _ => plan_user_data(child, &mut plan)?,
            },
            _ => return Err(Decline),
        }
    }
    if !seen_system {
        return Err(Decline);
    }
    Ok(plan)
}

/// The single value of an attribute or element: nothing, one literal or
/// one substitution. More parts (text around a substitution) decline.
fn single(nodes: &[Node]) -> Result<Option<Source>, Decline> {
    match nodes {
        [] => Ok(None),
        [Node::Slot(slot)] => Ok(Some(Source::Slot(*slot))),
        [Node::Text(text)] if text.is_empty() => Ok(None),
        [Node::Text(text)] => Ok(Some(Source::Literal(text.as_str().into()))),
        _ => Err(Decline),
    }
}

fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), Decline> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if seen.contains(&name) {
            return Err(Decline);
        }
        seen.push(name);
    }
    Ok(())
}

/// `System` members: `X.#attributes.Y` is `X_Y` (`TimeCreated`'s
/// `SystemTime` is `TimeCreated`), the element's value is `X`; empty
/// values are JSON null there, which says nothing.
fn plan_system(system: &Element, plan: &mut Plan) -> Result<(), Decline> {
    if !system.attrs.is_empty() {
        return Err(Decline);
    }
    let mut names = Vec::new();
    for child in &system.children {
        let Node::Element(e) = child else {
            return Err(Decline);
        };
        names.push(e.name.as_str());
        if e.children.iter().any(|c| matches!(c, Node::Element(_))) || e.name.starts_with('#') {
            return Err(Decline);
        }
        for (attr, value) in &e.attrs {
            if attr.starts_with("xmlns") {
                continue;
            }
            let Some(source) = single(value)? else {
                continue;
            };
            let time = e.name == "TimeCreated" && attr == "SystemTime";
            let name = if time {
                "TimeCreated".to_owned()
            } else {
                format!("{}_{attr}", e.name)
            };
            plan.fields.push(Field {
                name: PresetKey::new(name),
                source,
                on_empty: OnEmpty::Skip,
                depends: e.dependency,
                note: if time { Note::SystemTime } else { Note::None },
            });
        }
        if let Some(source) = single(&e.children)? {
            plan.fields.push(Field {
                name: PresetKey::new(e.name.as_str()),
                source,
                on_empty: OnEmpty::Skip,
                depends: e.dependency,
                note: if e.name == "EventRecordID" {
                    Note::RecordId
                } else {
                    Note::None
                },
            });
        }
    }
    distinct(names.into_iter())
}

/// A name the JSON route would read as structure rather than as a field.
fn reserved(name: &str) -> bool {
    name.is_empty() || name.starts_with('#') || name == "Data"
}

/// `EventData`: literal attributes are `EventData_X`; `Data` elements all
/// named (`Name="X"` gives field `X`) or all positional (each value a
/// field `Data`), their empty values `""`; other elements are leaves of
/// their own name, null when empty. Without children it is a null field.
fn plan_event_data(data: &Element, plan: &mut Plan) -> Result<(), Decline> {
    for (attr, value) in &data.attrs {
        if attr.starts_with("xmlns") {
            continue;
        }
        match single(value)? {
            None => {}
            Some(Source::Literal(text)) => plan.fields.push(Field {
                name: PresetKey::new(format!("EventData_{attr}")),
                source: Source::Literal(text),
                on_empty: OnEmpty::Skip,
                depends: None,
                note: Note::None,
            }),
            Some(_) => return Err(Decline),
        }
    }
    if data.children.is_empty() {
        if data.attrs.is_empty() {
            plan.fields.push(Field {
                name: PresetKey::new("EventData"),
                source: Source::Null,
                on_empty: OnEmpty::Null,
                depends: None,
                note: Note::None,
            });
        }
        return Ok(());
    }
    let elements: Vec<&Element> = data
        .children
        .iter()
        .map(|child| match child {
            Node::Element(e) => Ok(e),
            _ => Err(Decline),
        })
        .collect::<Result<_, _>>()?;
    let is_data = |e: &Element| e.name == "Data";
    let named = elements.iter().any(|e| is_data(e) && !e.attrs.is_empty());
    let positional = elements.iter().filter(|e| is_data(e)).count();
    // Positional values are one JSON array where the first stands.
    let first_data = elements.iter().position(|e| is_data(e));
    if let Some(first) = first_data {
        let run = elements[first..].iter().take_while(|e| is_data(e)).count();
        if !named && run != positional {
            return Err(Decline);
        }
    }
    let mut keys: Vec<&str> = Vec::new();
    for e in elements {
        if e.children.iter().any(|c| matches!(c, Node::Element(_))) {
            return Err(Decline);
        }
        let source = single(&e.children)?.ok_or(Decline)?;
        if e.name != "Data" {
            if !e.attrs.is_empty() || reserved(&e.name) {
                return Err(Decline);
            }
            keys.push(&e.name);
            plan.fields.push(Field {
                name: PresetKey::new(e.name.as_str()),
                source,
                on_empty: OnEmpty::Null,
                depends: e.dependency,
                note: Note::None,
            });
            continue;
        }
        let name = match e.attrs.as_slice() {
            [] if !named => "Data",
            [(attr, value)] if named && attr == "Name" => match value.as_slice() {
                [Node::Text(name)] if !reserved(name) => name.as_str(),
                _ => return Err(Decline),
            },
            _ => return Err(Decline),
        };
        // Leaving out one of several `Data` could change the others' form.
        if e.dependency.is_some() && (named || positional > 1) {
            return Err(Decline);
        }
        if named {
            keys.push(name);
        }
        plan.fields.push(Field {
            name: PresetKey::new(name),
            source,
            on_empty: OnEmpty::EmptyText,
            depends: e.dependency,
            note: Note::None,
        });
    }
    distinct(keys.into_iter())
}

/// `UserData` of one wrapper element whose children are leaves: each is a
/// field of its own name; empty values are null fields.
fn plan_user_data(user: &Element, plan: &mut Plan) -> Result<(), Decline> {
    let [Node::Element(wrapper)] = user.children.as_slice() else {
        return Err(Decline);
    };
    if !user.attrs.is_empty() {
        return Err(Decline);
    }
    plan_wrapper(wrapper, plan)
}

/// The one element in `UserData`: its attributes say nothing, its leaf
/// children are fields of their own names.
fn plan_wrapper(wrapper: &Element, plan: &mut Plan) -> Result<(), Decline> {
    if wrapper.dependency.is_some() || wrapper.children.is_empty() {
        return Err(Decline);
    }
    if wrapper
        .attrs
        .iter()
        .any(|(_, value)| value.iter().any(|n| matches!(n, Node::Slot(_))))
    {
        return Err(Decline);
    }
    let attr_text = wrapper
        .attrs
        .iter()
        .any(|(_, value)| matches!(single(value), Ok(Some(_))));
    // With every child left out and no attribute, the wrapper would be a
    // null field of its own.
    let all_depend = wrapper
        .children
        .iter()
        .all(|c| matches!(c, Node::Element(e) if e.dependency.is_some()));
    if all_depend && !attr_text {
        return Err(Decline);
    }
    let mut names = Vec::new();
    for child in &wrapper.children {
        let Node::Element(e) = child else {
            return Err(Decline);
        };
        if !e.attrs.is_empty() || e.name.starts_with('#') {
            return Err(Decline);
        }
        names.push(e.name.as_str());
        let source = single(&e.children)?.ok_or(Decline)?;
        plan.fields.push(Field {
            name: PresetKey::new(e.name.as_str()),
            source,
            on_empty: OnEmpty::Null,
            depends: e.dependency,
            note: Note::None,
        });
    }
    distinct(names.into_iter())
}

// ---------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], Decline> {
    bytes.try_into().map_err(|_| Decline)
}

struct Cursor<'a> {
    /// The chunk, cut at the end of what is being read.
    data: &'a [u8],
    /// The whole chunk, where names are looked up.
    chunk: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The template defined at `def` in `data`: a cursor on its root
    /// element's start token (cut at the template's end), its GUID, and
    /// that token. The definition's header is the next template's offset,
    /// the GUID and the size of what follows, a fragment header first.
    fn template(data: &'a [u8], def: u32) -> Result<(Cursor<'a>, &'a [u8], u8), Decline> {
        let mut cur = Cursor {
            data,
            chunk: data,
            pos: def as usize,
        };
        cur.skip(4)?;
        let guid = cur.take(16)?;
        let size = cur.u32()? as usize;
        let end = cur.pos.checked_add(size).ok_or(Decline)?;
        cur.data = data.get(..end).ok_or(Decline)?;
        cur.fragment_header()?;
        let token = cur.u8()?;
        Ok((cur, guid, token))
    }

    /// A fragment header: its token and three bytes of version and flags.
    fn fragment_header(&mut self) -> Result<(), Decline> {
        if self.u8()? != 0x0f {
            return Err(Decline);
        }
        self.skip(3)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Decline> {
        let end = self.pos.checked_add(n).ok_or(Decline)?;
        let bytes = self.data.get(self.pos..end).ok_or(Decline)?;
        self.pos = end;
        Ok(bytes)
    }

    fn skip(&mut self, n: usize) -> Result<(), Decline> {
        self.take(n).map(drop)
    }

    fn u8(&mut self) -> Result<u8, Decline> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Decline> {
        Ok(u16::from_le_bytes(fixed(self.take(2)?)?))
    }

    fn u32(&mut self) -> Result<u32, Decline> {
        Ok(u32::from_le_bytes(fixed(self.take(4)?)?))
    }

    /// A name reference: an offset into the chunk, where the name is stored
    /// (next offset, hash, length, UTF-16 units, NUL); stored right here
    /// when the offset is this position, and then skipped.
    /// A name as the crate reads it (up to its first NUL). Names go into
    /// the crate's JSON unescaped, so one that would need escaping is
    /// declined: the crate's route then says what it makes of it.
    fn name(&mut self) -> Result<String, Decline> {
        let name = utf16_until_nul(self.name_units()?)?;
        if name.chars().any(|c| c < ' ' || c == '"' || c == '\\') {
            return Err(Decline);
        }
        Ok(name)
    }

    /// The UTF-16 units of a name reference (see [`Cursor::name`]).
    fn name_units(&mut self) -> Result<&'a [u8], Decline> {
        let offset = self.u32()? as usize;
        // The name may lie beyond what is being read: look in the chunk.
        let mut at = Cursor {
            data: self.chunk,
            chunk: self.chunk,
            pos: offset,
        };
        at.skip(6)?;
        let len = usize::from(at.u16()?);
        let units = at.take(len * 2)?;
        if offset == self.pos {
            self.skip(6 + 2 + len * 2 + 2)?;
        }
        Ok(units)
    }

    /// A name reference, written as its length and units.
    fn name_into(&mut self, out: &mut Vec<u8>) -> Result<(), Decline> {
        let units = self.name_units()?;
        out.extend_from_slice(&(units.len() as u32).to_le_bytes());
        out.extend_from_slice(units);
        Ok(())
    }

    /// A literal value token, written as its marker, length and units.
    fn text_into(&mut self, out: &mut Vec<u8>) -> Result<(), Decline> {
        if self.u8()? != 0x01 {
            return Err(Decline);
        }
        let len = usize::from(self.u16()?);
        out.push(0x05);
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(self.take(len * 2)?);
        Ok(())
    }

    /// A substitution token, written as its marker, index and type.
    fn slot_into(&mut self, out: &mut Vec<u8>) -> Result<(), Decline> {
        out.push(0x0d);
        out.extend_from_slice(self.data.get(self.pos..self.pos + 3).ok_or(Decline)?);
        self.slot().map(drop)
    }

    /// After a template's root element: the end of its fragment, or of its
    /// bytes. The crate reads on to there and refuses any other token.
    fn end_of_template(&mut self) -> Result<(), Decline> {
        if self.pos < self.data.len() && self.u8()? != 0x00 {
            return Err(Decline);
        }
        Ok(())
    }

    /// A literal value token's text (a length-prefixed UTF-16 string).
    fn text(&mut self) -> Result<String, Decline> {
        if self.u8()? != 0x01 {
            return Err(Decline);
        }
        let len = usize::from(self.u16()?);
        utf16(self.take(len * 2)?)
    }

    /// A substitution token's index (its type is the value's to say).
    fn slot(&mut self) -> Result<u16, Decline> {
        let index = self.u16()?;
        if !values::known(self.u8()?) {
            return Err(Decline);
        }
        Ok(index)
    }
}

fn utf16(bytes: &[u8]) -> Result<String, Decline> {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.map_err(|_| Decline))
        .collect()
}

/// Whether the UTF-16 up to the first NUL unit is valid.
fn valid_utf16_until_nul(bytes: &[u8]) -> Result<(), Decline> {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    match char::decode_utf16(units).all(|c| c.is_ok()) {
        true => Ok(()),
        false => Err(Decline),
    }
}

/// UTF-16 up to the first NUL unit.
fn utf16_until_nul(bytes: &[u8]) -> Result<String, Decline> {
    let len = bytes
        .chunks_exact(2)
        .position(|unit| unit == [0, 0])
        .map_or(bytes.len(), |units| units * 2);
    utf16(&bytes[..len])
}
