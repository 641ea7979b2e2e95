//! Windows events and timestamps: the rules that make a record read from
//! EVTX, from evtx_dump-style JSON and from a flat SIEM/OTRF export come out
//! with the same field names, plus the choice of each event's timestamp.
//!
//! XML-shaped JSON (`{"Event":{"System":..,"EventData":..}}`):
//! * `System` members keep their names; `X.#attributes.Y` becomes `X_Y`
//!   (`Provider_Name`, `Execution_ProcessID`, `Security_UserID`) and
//!   `X.#text` becomes `X` (`EventID` with `Qualifiers`), except
//!   `TimeCreated.#attributes.SystemTime`, which is `TimeCreated` and the
//!   event's timestamp;
//! * `EventData` members become top-level fields (`CommandLine`, `Image`);
//!   unnamed `Data` values (a string, an array, `{"#text": [...]}`) are the
//!   field `Data`, once per value; `{"#attributes":{"Name":"X"},"#text":v}`
//!   elements (other XML-to-JSON converters) are field `X`;
//! * `UserData` has one wrapper element whose members become top-level
//!   fields (`UserData.LogFileCleared.SubjectUserName` -> `SubjectUserName`).
//!
//! Flat shape (top-level `EventID` plus `Channel` or `SourceName`): fields
//! stay as they are; `Computer` is also reachable as `Hostname`, and
//! `Provider_Name` as `SourceName` (or Sentinel's `EventSourceName`).
//! Sentinel's `Event` table (`EventID` plus `EventLog`) is Windows too, with
//! `Channel` reachable as `EventLog` and `Provider_Name` as `Source`.

use vigie_core::{well_known, Event, EventKind, FieldId, FieldNames};

use crate::time::parse_timestamp;

use crate::flatten::{Mode, PathOp, Plan};

/// Top-level keys whose first value matters after a record is read, looked
/// up case-insensitively. Slots from `FIRST_TIME` on are timestamp keys, in
/// the order a generic event tries them.
const TOP_KEYS: [&str; 18] = [
    "EventID",
    "Channel",
    "SourceName",
    "Hostname",
    "EventSourceName",
    "EventLog",
    "Source",
    "@timestamp",
    "timestamp",
    "TimeCreated",
    "TimeGenerated",
    "CreationTime",
    "createdDateTime",
    "activityDateTime",
    "time",
    "eventTime",
    "date",
    "datetime",
];
const EVENT_ID: usize = 0;
const CHANNEL: usize = 1;
const SOURCE_NAME: usize = 2;
const HOSTNAME: usize = 3;
const EVENT_SOURCE_NAME: usize = 4;
const EVENT_LOG: usize = 5;
const SOURCE: usize = 6;
const FIRST_TIME: usize = 7;
const TIMES: usize = TOP_KEYS.len() - FIRST_TIME;
/// What flat Windows exports call the record's time, best first
/// (`EventTime` is nxlog's; it matches the `eventTime` slot).
const WINDOWS_TIMES: [usize; 3] = [9, 7, 15];

/// The slot of a top-level key, if it is one [`finish`] looks at. Called
/// for every top-level key of every record, hence the dispatch on length.
pub(crate) fn top_slot(key: &str) -> Option<usize> {
    let candidates: &[usize] = match key.len() {
        4 => &[14, 16],
        6 => &[SOURCE],
        7 => &[EVENT_ID, CHANNEL],
        8 => &[HOSTNAME, EVENT_LOG, 17],
        9 => &[8, 15],
        10 => &[SOURCE_NAME, 7],
        11 => &[9],
        12 => &[11],
        13 => &[10],
        15 => &[EVENT_SOURCE_NAME, 12],
        16 => &[13],
        _ => return None,
    };
    // Keys of one length mostly differ in their first byte: compare that
    // before the whole key.
    let first = key.as_bytes().first()?.to_ascii_lowercase();
    candidates.iter().copied().find(|&slot| {
        let name = TOP_KEYS[slot];
        name.as_bytes().first().map(u8::to_ascii_lowercase) == Some(first)
            && name.eq_ignore_ascii_case(key)
    })
}

/// [`top_slot`] by names-table id: a record's keys already carry their id
/// (the event looks every key up when it is pushed), so the slot costs one
/// index instead of comparing the key's text.
pub(crate) struct SlotsById {
    /// Per id, 1 + its slot (0: none).
    slots: Vec<u8>,
    /// Every top key has an id: a key without one is no top key.
    complete: bool,
}

impl SlotsById {
    /// The table for `names` (built per reader: a byte per name).
    pub(crate) fn new(names: &FieldNames) -> SlotsById {
        let mut slots = vec![0u8; names.len()];
        let mut complete = true;
        for (slot, key) in TOP_KEYS.iter().enumerate() {
            match names.get(key).and_then(|id| slots.get_mut(id.0 as usize)) {
                Some(entry) => *entry = slot as u8 + 1,
                None => complete = false,
            }
        }
        SlotsById { slots, complete }
    }

    /// The slot of a top-level key whose names-table id is `id`; `key` is
    /// read only when the table lacks some top key.
    #[inline]
    pub(crate) fn get(&self, id: Option<FieldId>, key: &str) -> Option<usize> {
        match id {
            Some(id) => match self.slots.get(id.0 as usize) {
                Some(&slot) => usize::from(slot).checked_sub(1),
                None => top_slot(key),
            },
            None if self.complete => None,
            None => top_slot(key),
        }
    }
}

/// Adds the top-level keys [`top_slot`] knows to `names`, so that
/// [`SlotsById`] finds them all.
pub(crate) fn register_names(names: &mut FieldNames) {
    for key in TOP_KEYS {
        names.intern(key);
    }
}

/// What a source noted while filling an event, for [`finish`].
#[derive(Default, Debug)]
pub(crate) struct RecState {
    /// Per slot, 1 + the index of the field's first value (0: absent).
    index: [u32; TOP_KEYS.len()],
    /// Text of the timestamp slots that are set.
    times: [String; TIMES],
    /// Saw `Event.System`: an XML-shaped Windows record.
    pub(crate) windows: bool,
    system_time: Option<String>,
    system_record: Option<u64>,
}

impl RecState {
    pub(crate) fn reset(&mut self) {
        self.index = [0; TOP_KEYS.len()];
        self.windows = false;
        self.system_record = None;
        if let Some(t) = &mut self.system_time {
            t.clear();
        }
    }

    /// Notes the first value of a top-level key.
    pub(crate) fn note(&mut self, slot: usize, field_index: usize, text: &str) {
        let Some(entry) = self.index.get_mut(slot) else {
            return;
        };
        if *entry != 0 {
            return;
        }
        *entry = u32::try_from(field_index).map_or(0, |i| i.saturating_add(1));
        if let Some(time) = slot
            .checked_sub(FIRST_TIME)
            .and_then(|i| self.times.get_mut(i))
        {
            time.clear();
            time.push_str(text);
        }
    }

    /// Notes `System.TimeCreated` of an XML-shaped record.
    pub(crate) fn note_system_time(&mut self, text: &str) {
        let time = self.system_time.get_or_insert_with(String::new);
        if time.is_empty() {
            time.push_str(text);
        }
    }

    /// Notes `System.EventRecordID` of an XML-shaped record.
    pub(crate) fn note_record_id(&mut self, text: &str) {
        if self.system_record.is_none() {
            self.system_record = text.trim().parse().ok();
        }
    }

    fn field(&self, slot: usize) -> Option<usize> {
        match self.index.get(slot) {
            Some(&i) if i > 0 => Some(i as usize - 1),
            _ => None,
        }
    }

    fn time(&self, slot: usize) -> Option<i64> {
        self.field(slot)?;
        parse_timestamp(self.times.get(slot.checked_sub(FIRST_TIME)?)?)
    }
}

/// Sets an event's kind, timestamp and Windows aliases once all its fields
/// are in. An XML-shaped Windows record also gets its `System.EventRecordID`
/// as `record` (0 if none): the EVTX reader numbers records by it, since the
/// record header's own number differs in logs saved from a filtered view.
pub(crate) fn finish(ev: &mut Event, st: &RecState) {
    if st.windows {
        ev.kind = EventKind::Windows;
        ev.record = st.system_record.unwrap_or(0);
        ev.timestamp = st.system_time.as_deref().and_then(parse_timestamp);
        return;
    }
    let generic = FIRST_TIME..TOP_KEYS.len();
    let has = |slot| st.field(slot).is_some();
    // Sentinel's `Event` table says EventLog and Source instead.
    let sentinel_event = has(EVENT_ID) && has(EVENT_LOG) && !has(CHANNEL);
    let flat_windows = has(EVENT_ID) && (has(CHANNEL) || has(SOURCE_NAME)) || sentinel_event;
    if flat_windows {
        ev.kind = EventKind::Windows;
        if let Some(host) = st.field(HOSTNAME) {
            ev.alias_id(well_known::COMPUTER, host);
        }
        let provider = match st.field(SOURCE_NAME).or(st.field(EVENT_SOURCE_NAME)) {
            Some(provider) => Some(provider),
            None if sentinel_event => st.field(SOURCE),
            None => None,
        };
        if let Some(provider) = provider {
            ev.alias_id(well_known::PROVIDER_NAME, provider);
        }
        if let (true, Some(log)) = (sentinel_event, st.field(EVENT_LOG)) {
            ev.alias_id(well_known::CHANNEL, log);
        }
        // Then the generic names: Sentinel's SecurityEvent has only
        // TimeGenerated.
        ev.timestamp = WINDOWS_TIMES
            .into_iter()
            .chain(generic)
            .find_map(|slot| st.time(slot));
    } else {
        ev.timestamp = generic.into_iter().find_map(|slot| st.time(slot));
    }
}

/// How a child of a Windows XML-shaped element is named (see the module
/// documentation). `time_attrs`: the element is `System.TimeCreated`'s
/// `#attributes`.
pub(crate) fn plan(mode: Mode, key: &str, time_attrs: bool) -> Plan {
    use Mode::*;
    use PathOp::*;
    match mode {
        WinEvent => match key {
            "System" => Plan::Go(Key, System),
            "EventData" => Plan::Go(Key, EventData),
            "UserData" => Plan::Go(Key, UserData),
            "#attributes" => Plan::Skip,
            _ => Plan::Go(Key, WinNested),
        },
        // evtx's `separate_json_attributes` output: `Provider_attributes`.
        System => match key.strip_suffix("_attributes") {
            Some(base) if !base.is_empty() => Plan::Go(KeyWithoutSuffix(11), Attributes),
            _ => Plan::Go(Key, SysField),
        },
        SysField | WinNested => match key {
            "#attributes" => Plan::Go(Keep, Attributes),
            "#text" => Plan::Go(Keep, mode),
            _ => Plan::Go(Dotted, mode),
        },
        Attributes => {
            if key.starts_with("xmlns") {
                Plan::Skip
            } else if time_attrs && key == "SystemTime" {
                Plan::Go(Fixed("TimeCreated"), SysField)
            } else {
                Plan::Go(Underscore, SysField)
            }
        }
        // Other children are named absolutely, so the base is restored by
        // name rather than by length.
        EventData => match key {
            "#attributes" => Plan::Go(Fixed("EventData"), Attributes),
            "Data" => Plan::Go(Key, Data),
            _ => Plan::Go(Key, WinNested),
        },
        Data => match key {
            "#attributes" => Plan::Go(Keep, DataAttributes),
            "#text" => Plan::Go(DataName, WinNested),
            _ => Plan::Go(DataPrefixed, WinNested),
        },
        DataAttributes => match key {
            "Name" => Plan::Go(Keep, DataNameValue),
            _ => Plan::Skip,
        },
        UserData | UserDataInner => match key {
            "#attributes" => Plan::Skip,
            _ if mode == UserData => Plan::Go(Key, UserDataInner),
            _ => Plan::Go(Key, WinNested),
        },
        Root | Top | Envelope | Generic | DataNameValue => Plan::Go(Dotted, Generic),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vigie_core::{Event, FieldNames};

    use crate::flatten::Flattener;

    fn one(json: &str) -> Event {
        let names = Arc::new(FieldNames::new());
        let mut fl = Flattener::new(&names, 1 << 20);
        let mut got = None;
        let mut emit = |ev: &mut Event| got = Some(ev.clone());
        let mut de = serde_json::Deserializer::from_str(json);
        if fl.parse(&mut de, &mut emit).unwrap().root_pending {
            fl.emit_root(&mut emit);
        }
        got.unwrap()
    }

    fn fields(ev: &Event) -> Vec<(String, String)> {
        ev.iter()
            .map(|(k, v)| (k.to_owned(), v.text.to_owned()))
            .collect()
    }

    #[test]
    fn every_top_key_has_its_slot() {
        for (slot, key) in super::TOP_KEYS.iter().enumerate() {
            assert_eq!(super::top_slot(key), Some(slot), "{key}");
            assert_eq!(super::top_slot(&key.to_ascii_uppercase()), Some(slot));
        }
        let windows_times = super::WINDOWS_TIMES.map(|slot| super::TOP_KEYS[slot]);
        assert_eq!(windows_times, ["TimeCreated", "@timestamp", "eventTime"]);
        assert_eq!(super::top_slot("Image"), None);
        assert_eq!(super::top_slot("EventIDs"), None);
    }

    #[test]
    fn slots_by_id_agree_with_top_slot() {
        use vigie_core::FieldNames;
        let mut keys: Vec<String> = super::TOP_KEYS.iter().map(|k| k.to_string()).collect();
        keys.extend(super::TOP_KEYS.iter().map(|k| k.to_ascii_uppercase()));
        keys.extend(super::TOP_KEYS.iter().map(|k| format!("{k}s")));
        keys.extend(["Image", "CommandLine", "", "x", "Timestamp", "Data"].map(String::from));
        let mut registered = FieldNames::new();
        registered.intern("Image");
        super::register_names(&mut registered);
        // A table without some top keys (not prepared) falls back to text.
        let mut partial = FieldNames::new();
        partial.intern("EventID");
        partial.intern("CommandLine");
        for names in [registered, partial, FieldNames::new()] {
            let table = super::SlotsById::new(&names);
            for key in &keys {
                let got = table.get(names.get(key), key);
                assert_eq!(got, super::top_slot(key), "{key}");
            }
        }
    }

    #[test]
    fn xml_shaped_system_and_event_data() {
        let ev = one(
            r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},
            "System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"{54849625}"}},
              "EventID":{"#attributes":{"Qualifiers":16384},"#text":4688},"Version":2,
              "TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T13:05:42.1234567Z"}},
              "EventRecordID":77,"Correlation":null,
              "Execution":{"#attributes":{"ProcessID":4,"ThreadID":8}},
              "Channel":"Security","Computer":"PC01","Security":{"#attributes":{"UserID":"S-1-5-18"}}},
            "EventData":{"NewProcessName":"C:\\Windows\\cmd.exe","CommandLine":"cmd /c","Data":{"#text":["a","b"]}}}}"##,
        );
        assert_eq!(ev.kind, vigie_core::EventKind::Windows);
        assert_eq!(
            ev.timestamp,
            vigie_core::parse_timestamp("2019-03-19T13:05:42.123456Z")
        );
        let want: Vec<(&str, &str)> = vec![
            ("Provider_Name", "Microsoft-Windows-Security-Auditing"),
            ("Provider_Guid", "{54849625}"),
            ("EventID_Qualifiers", "16384"),
            ("EventID", "4688"),
            ("Version", "2"),
            ("TimeCreated", "2019-03-19T13:05:42.1234567Z"),
            ("EventRecordID", "77"),
            ("Execution_ProcessID", "4"),
            ("Execution_ThreadID", "8"),
            ("Channel", "Security"),
            ("Computer", "PC01"),
            ("Security_UserID", "S-1-5-18"),
            ("NewProcessName", "C:\\Windows\\cmd.exe"),
            ("CommandLine", "cmd /c"),
            ("Data", "a"),
            ("Data", "b"),
        ];
        let got = fields(&ev);
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn user_data_and_named_data_elements() {
        let ev = one(
            r##"{"Event":{"System":{"EventID":1102,"Channel":"Security"},
            "UserData":{"LogFileCleared":{"#attributes":{"xmlns":"x"},"SubjectUserName":"admin01","SubjectLogonId":"0xaf855"}}}}"##,
        );
        assert_eq!(ev.get("SubjectUserName"), Some("admin01"));
        assert_eq!(ev.get("SubjectLogonId"), Some("0xaf855"));
        let ev = one(
            r##"{"Event":{"System":{"EventID":1},"EventData":{"#attributes":{"Name":"EV"},"Data":[
              {"#attributes":{"Name":"Image"},"#text":"C:\\a.exe"},{"#attributes":{"Name":"RuleName"}},"plain"]}}}"##,
        );
        let got = fields(&ev);
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("EventID", "1"),
                ("EventData_Name", "EV"),
                ("Image", "C:\\a.exe"),
                ("RuleName", ""),
                ("Data", "plain"),
            ]
        );
    }

    #[test]
    fn flat_windows_shape_gets_aliases_and_time() {
        let ev = one(
            r#"{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Hostname":"WS5","Channel":"Microsoft-Windows-Sysmon/Operational","@timestamp":"2020-10-22T02:57:58.116Z","TimeCreated":"2020-10-22T02:57:56.178Z"}"#,
        );
        assert_eq!(ev.kind, vigie_core::EventKind::Windows);
        assert_eq!(ev.get("Computer"), Some("WS5"));
        assert_eq!(ev.get("Provider_Name"), Some("Microsoft-Windows-Sysmon"));
        // TimeCreated wins over @timestamp for Windows records.
        assert_eq!(
            ev.timestamp,
            vigie_core::parse_timestamp("2020-10-22T02:57:56.178Z")
        );
    }

    #[test]
    fn generic_timestamp_order_and_case() {
        let ev = one(
            r#"{"date":"2021-01-01T00:00:00Z","CREATIONTIME":"bogus","eventtime":"2022-02-02T00:00:00Z"}"#,
        );
        assert_eq!(ev.kind, vigie_core::EventKind::Generic);
        // CreationTime comes first in the list but does not parse.
        assert_eq!(
            ev.timestamp,
            vigie_core::parse_timestamp("2022-02-02T00:00:00Z")
        );
        // Nested keys are not looked at.
        let ev = one(r#"{"properties":{"createdDateTime":"2021-01-01T00:00:00Z"}}"#);
        assert_eq!(ev.timestamp, None);
    }

    #[test]
    fn event_key_that_is_not_first_is_generic() {
        let ev = one(r#"{"a":1,"Event":{"System":{"EventID":1}}}"#);
        assert_eq!(ev.kind, vigie_core::EventKind::Generic);
        assert_eq!(ev.get("Event.System.EventID"), Some("1"));
    }
}
