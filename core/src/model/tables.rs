//! The replicated tables: one definition of every column, its merge rule and
//! its checks, used for local writes, remote changes and the server alike.

use super::catalogue::{self, Category};
use super::columns;
use super::Value;

/// The schema version of the replicated tables this build knows: what its
/// database is migrated to and what its phones send as `Fushi-Schema`.
/// Version 2 added items' `tags`; version 3 the `holiday_calendar` table.
pub const SCHEMA_VERSION: i64 = 3;

/// The oldest schema this build can serve: a server answers phones of any
/// schema from here to [`SCHEMA_VERSION`], each with just the columns it
/// knows. An operator may raise the bar (`fushi-server serve --min-schema`).
pub const MIN_SCHEMA_VERSION: i64 = 1;

/// A replicated table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "uniffi", uniffi(name = "RowKind"))]
pub enum Table {
    /// Idle items to give or swap.
    Item = 0,
    /// Shared spaces, cool stations first.
    Station = 1,
    /// Skill offers.
    Skill = 2,
    /// A resident's ask for an item or a skill.
    Need = 3,
    /// A request for an item (append-only; its clock orders the queue).
    ItemRequest = 4,
    /// The outcome of a request: accepted, declined, no-show, cancelled (append-only).
    RequestOutcome = 5,
    /// A station report such as "no water" (append-only, expires).
    StationReport = 6,
    /// An anonymous "I rested here" (append-only).
    StationCheckin = 7,
    /// One side's confirmation of a hand-over (append-only).
    Handover = 8,
    /// A resident confirms a skill was delivered to them (append-only).
    SkillSession = 9,
    /// A year's public holidays and make-up working days, published by an
    /// admin for the whole city (append-only; the newest per year counts).
    HolidayCalendar = 10,
}

/// Whether rows are mutable listings or append-only records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// Mutable cells merged per column.
    Listing,
    /// Written once, never changed: merge is "insert if absent".
    Record,
}

/// A column's value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// UTF-8 text.
    Text,
    /// 64-bit integer.
    Int,
    /// Real number.
    Real,
    /// 0 or 1.
    Bool,
}

/// How a column merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Last-writer-wins register.
    Lww,
    /// Set when the row is created, never changed afterwards (policy enforces).
    Immutable,
    /// Add-wins set of text elements.
    Set,
    /// The delete tombstone.
    Tombstone,
}

/// What a value must satisfy.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// Nothing beyond the type.
    None,
    /// At most this many characters (not bytes: Chinese text).
    MaxChars(usize),
    /// One of the catalogue's codes.
    OneOf(&'static [Category]),
    /// One of these words.
    Words(&'static [&'static str]),
    /// A UUID in text form.
    Uuid,
    /// The id (a UUID in text form) of a row of this table: the row it
    /// refers to, which the sync sends first.
    Ref(Table),
    /// A community code: 1–64 of `a-z 0-9 _ -`.
    Community,
    /// WGS-84 latitude.
    Latitude,
    /// WGS-84 longitude.
    Longitude,
    /// A time in Unix milliseconds (2000–2200).
    Time,
    /// A calendar year ([`crate::hours::MIN_CALENDAR_YEAR`] to
    /// [`crate::hours::MAX_CALENDAR_YEAR`]).
    Year,
}

/// One column.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Column name, as in SQL and on the wire.
    pub name: &'static str,
    /// Value type.
    pub ty: Ty,
    /// Merge rule.
    pub rule: Rule,
    /// Content that a delete erases.
    pub content: bool,
    /// Must be present when the row is created.
    pub required: bool,
    /// Value check.
    pub check: Check,
    /// The schema version that added the column: a phone of an older schema
    /// neither sends nor receives it (see `docs/PROTOCOL.md`, "Schema
    /// versions").
    pub since: i64,
}

impl Column {
    /// The same column, added by schema version `version`.
    const fn since(self, version: i64) -> Column {
        Column {
            since: version,
            ..self
        }
    }

    /// Whether a replica of schema `version` knows this column.
    pub fn known_at(&self, version: i64) -> bool {
        self.since <= version
    }
}

/// One table.
#[derive(Debug)]
pub struct TableDef {
    /// Which table.
    pub table: Table,
    /// SQL and wire name.
    pub name: &'static str,
    /// Listing or record.
    pub kind: TableKind,
    /// Columns, in the order of the packed clock vector (append only: a
    /// column a later schema adds comes after every older one).
    pub columns: &'static [Column],
    /// The schema version that added the table.
    pub since: i64,
}

const fn col(
    name: &'static str,
    ty: Ty,
    rule: Rule,
    content: bool,
    required: bool,
    check: Check,
) -> Column {
    Column {
        name,
        ty,
        rule,
        content,
        required,
        check,
        since: 1,
    }
}

use Check as K;
use Rule::*;
use Ty::*;

const OWNER: Column = col(columns::OWNER, Text, Immutable, false, true, K::Uuid);
const COMMUNITY: Column = col(
    columns::COMMUNITY,
    Text,
    Immutable,
    false,
    true,
    K::Community,
);
const CREATED: Column = col(columns::CREATED_AT, Int, Immutable, false, true, K::Time);
const HIDDEN: Column = col(columns::HIDDEN, Bool, Lww, false, false, K::None);
const DELETED: Column = col(columns::DELETED, Bool, Tombstone, false, false, K::None);
const TITLE: Column = col(columns::TITLE, Text, Lww, true, true, K::MaxChars(60));
const DESCRIPTION: Column = col(
    columns::DESCRIPTION,
    Text,
    Lww,
    true,
    false,
    K::MaxChars(2000),
);
const LAT: Column = col(columns::LAT, Real, Lww, true, false, K::Latitude);
const LON: Column = col(columns::LON, Real, Lww, true, false, K::Longitude);

/// Item conditions.
pub const CONDITIONS: &[&str] = &["new", "like_new", "good", "fair", "for_parts"];
/// Item modes.
pub const MODES: &[&str] = &["give", "swap"];
/// Item statuses.
pub const ITEM_STATUSES: &[&str] = &["available", "reserved", "given", "withdrawn"];
/// Skill statuses.
pub const SKILL_STATUSES: &[&str] = &["active", "paused"];
/// Need statuses.
pub const NEED_STATUSES: &[&str] = &["open", "fulfilled", "closed"];
/// What a need asks for.
pub const NEED_WANTS: &[&str] = &["item", "skill"];
/// Request outcomes.
pub const OUTCOMES: &[&str] = &["accepted", "declined", "no_show", "cancelled"];
/// Hand-over sides.
pub const HANDOVER_SIDES: &[&str] = &["giver", "receiver"];

/// Most photos one item may show (what a phone's gallery picker offers).
pub const MAX_PHOTOS: usize = 9;
/// Most tags one item may carry.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters ("可议价", "需自提", "儿童").
pub const MAX_TAG_CHARS: usize = 20;
/// Most amenities one station may list (the catalogue has fewer codes; the
/// bound keeps a future, longer catalogue bounded too).
pub const MAX_AMENITIES: usize = 32;

/// Item table.
pub static ITEM: TableDef = TableDef {
    table: Table::Item,
    name: "item",
    kind: TableKind::Listing,
    columns: &[
        OWNER,
        COMMUNITY,
        CREATED,
        TITLE,
        DESCRIPTION,
        col(
            columns::CATEGORY,
            Text,
            Lww,
            false,
            true,
            K::OneOf(catalogue::ITEM_CATEGORIES),
        ),
        col(
            columns::CONDITION,
            Text,
            Lww,
            false,
            false,
            K::Words(CONDITIONS),
        ),
        col(columns::MODE, Text, Lww, false, true, K::Words(MODES)),
        col(
            columns::STATUS,
            Text,
            Lww,
            false,
            true,
            K::Words(ITEM_STATUSES),
        ),
        col(columns::PICKUP_AREA, Text, Lww, true, true, K::MaxChars(60)),
        LAT,
        LON,
        col(columns::EXPIRES_AT, Int, Lww, false, true, K::Time),
        col(columns::PHOTOS, Text, Set, true, false, K::MaxChars(200)),
        col(columns::SWAP_FOR, Text, Lww, true, false, K::MaxChars(200)),
        col(columns::RESERVED_FOR, Text, Lww, false, false, K::Uuid),
        HIDDEN,
        DELETED,
        // Schema v2.
        col(
            columns::TAGS,
            Text,
            Set,
            true,
            false,
            K::MaxChars(MAX_TAG_CHARS),
        )
        .since(2),
    ],
    since: 1,
};

/// Station table.
pub static STATION: TableDef = TableDef {
    table: Table::Station,
    name: "station",
    kind: TableKind::Listing,
    columns: &[
        OWNER,
        COMMUNITY,
        CREATED,
        col(columns::NAME, Text, Lww, true, true, K::MaxChars(60)),
        col(columns::ADDRESS, Text, Lww, true, false, K::MaxChars(120)),
        col(columns::LAT, Real, Lww, true, true, K::Latitude),
        col(columns::LON, Real, Lww, true, true, K::Longitude),
        col(
            columns::KIND,
            Text,
            Lww,
            false,
            true,
            K::OneOf(catalogue::STATION_KINDS),
        ),
        col(
            columns::AMENITIES,
            Text,
            Set,
            true,
            false,
            K::OneOf(catalogue::AMENITIES),
        ),
        col(
            columns::OPENING_HOURS,
            Text,
            Lww,
            true,
            false,
            K::MaxChars(255),
        ),
        col(columns::HOST_ORG, Text, Lww, true, false, K::MaxChars(80)),
        col(columns::CONTACT, Text, Lww, true, false, K::MaxChars(40)),
        col(columns::NOTE, Text, Lww, true, false, K::MaxChars(500)),
        HIDDEN,
        DELETED,
    ],
    since: 1,
};

/// Skill table.
pub static SKILL: TableDef = TableDef {
    table: Table::Skill,
    name: "skill",
    kind: TableKind::Listing,
    columns: &[
        OWNER,
        COMMUNITY,
        CREATED,
        TITLE,
        DESCRIPTION,
        col(
            columns::CATEGORY,
            Text,
            Lww,
            false,
            true,
            K::OneOf(catalogue::SKILL_CATEGORIES),
        ),
        col(
            columns::AVAILABILITY,
            Text,
            Lww,
            true,
            false,
            K::MaxChars(120),
        ),
        col(
            columns::STATUS,
            Text,
            Lww,
            false,
            true,
            K::Words(SKILL_STATUSES),
        ),
        LAT,
        LON,
        HIDDEN,
        DELETED,
    ],
    since: 1,
};

/// Need table.
pub static NEED: TableDef = TableDef {
    table: Table::Need,
    name: "need",
    kind: TableKind::Listing,
    columns: &[
        OWNER,
        COMMUNITY,
        CREATED,
        TITLE,
        DESCRIPTION,
        col(columns::WANT, Text, Lww, false, true, K::Words(NEED_WANTS)),
        col(columns::CATEGORY, Text, Lww, false, false, K::MaxChars(40)),
        col(
            columns::STATUS,
            Text,
            Lww,
            false,
            true,
            K::Words(NEED_STATUSES),
        ),
        LAT,
        LON,
        HIDDEN,
        DELETED,
    ],
    since: 1,
};

const fn rec(name: &'static str, ty: Ty, required: bool, check: Check) -> Column {
    col(name, ty, Immutable, false, required, check)
}

/// Item requests.
pub static ITEM_REQUEST: TableDef = TableDef {
    table: Table::ItemRequest,
    name: "item_request",
    kind: TableKind::Record,
    columns: &[
        rec(columns::ITEM_ID, Text, true, K::Ref(Table::Item)),
        rec(columns::REQUESTER, Text, true, K::Uuid),
        COMMUNITY,
        CREATED,
        rec(columns::NOTE, Text, false, K::MaxChars(200)),
    ],
    since: 1,
};

/// Request outcomes.
pub static REQUEST_OUTCOME: TableDef = TableDef {
    table: Table::RequestOutcome,
    name: "request_outcome",
    kind: TableKind::Record,
    columns: &[
        rec(columns::REQUEST_ID, Text, true, K::Ref(Table::ItemRequest)),
        rec(columns::ITEM_ID, Text, true, K::Ref(Table::Item)),
        rec(columns::BY_USER, Text, true, K::Uuid),
        rec(columns::OUTCOME, Text, true, K::Words(OUTCOMES)),
        COMMUNITY,
        CREATED,
    ],
    since: 1,
};

/// Station reports: anonymous (no user, no device), time to the minute.
pub static STATION_REPORT: TableDef = TableDef {
    table: Table::StationReport,
    name: "station_report",
    kind: TableKind::Record,
    columns: &[
        rec(columns::STATION_ID, Text, true, K::Ref(Table::Station)),
        rec(columns::KIND, Text, true, K::OneOf(catalogue::REPORT_KINDS)),
        rec(columns::NOTE, Text, false, K::MaxChars(200)),
        COMMUNITY,
        CREATED,
        rec(columns::EXPIRES_AT, Int, true, K::Time),
    ],
    since: 1,
};

/// Station check-ins: anonymous, only counted.
pub static STATION_CHECKIN: TableDef = TableDef {
    table: Table::StationCheckin,
    name: "station_checkin",
    kind: TableKind::Record,
    columns: &[
        rec(columns::STATION_ID, Text, true, K::Ref(Table::Station)),
        COMMUNITY,
        CREATED,
    ],
    since: 1,
};

/// Hand-over confirmations.
pub static HANDOVER: TableDef = TableDef {
    table: Table::Handover,
    name: "handover",
    kind: TableKind::Record,
    columns: &[
        rec(columns::ITEM_ID, Text, true, K::Ref(Table::Item)),
        rec(columns::REQUEST_ID, Text, true, K::Ref(Table::ItemRequest)),
        rec(columns::BY_USER, Text, true, K::Uuid),
        rec(columns::SIDE, Text, true, K::Words(HANDOVER_SIDES)),
        COMMUNITY,
        CREATED,
    ],
    since: 1,
};

/// Skill sessions: the beneficiary (`by_user`) confirms that the skill's
/// owner (`provider`) helped them. What grid staff count as "skill sessions".
pub static SKILL_SESSION: TableDef = TableDef {
    table: Table::SkillSession,
    name: "skill_session",
    kind: TableKind::Record,
    columns: &[
        rec(columns::SKILL_ID, Text, true, K::Ref(Table::Skill)),
        rec(columns::PROVIDER, Text, true, K::Uuid),
        rec(columns::BY_USER, Text, true, K::Uuid),
        COMMUNITY,
        CREATED,
        rec(columns::NOTE, Text, false, K::MaxChars(200)),
    ],
    since: 1,
};

/// A year's holiday calendar (schema v3): the State Council's notice as an
/// admin publishes it, in the text format of
/// [`crate::hours::HolidayCalendar::from_text`], every date in `year`.
pub static HOLIDAY_CALENDAR: TableDef = TableDef {
    table: Table::HolidayCalendar,
    name: "holiday_calendar",
    kind: TableKind::Record,
    columns: &[
        rec(columns::BY_USER, Text, true, K::Uuid).since(3),
        rec(columns::YEAR, Int, true, K::Year).since(3),
        rec(
            columns::HOLIDAYS,
            Text,
            true,
            K::MaxChars(MAX_CALENDAR_CHARS),
        )
        .since(3),
        COMMUNITY.since(3),
        CREATED.since(3),
    ],
    since: 3,
};

/// Longest holiday calendar text, in characters (a year is ~40 lines).
pub const MAX_CALENDAR_CHARS: usize = 8000;

/// Every replicated table, indexed by `Table as usize`.
pub static TABLES: [&TableDef; 11] = [
    &ITEM,
    &STATION,
    &SKILL,
    &NEED,
    &ITEM_REQUEST,
    &REQUEST_OUTCOME,
    &STATION_REPORT,
    &STATION_CHECKIN,
    &HANDOVER,
    &SKILL_SESSION,
    &HOLIDAY_CALENDAR,
];

impl Table {
    /// The table's definition.
    pub fn def(self) -> &'static TableDef {
        TABLES[self as usize]
    }

    /// Look a table up by its wire name.
    pub fn from_name(name: &str) -> Option<Table> {
        TABLES.iter().find(|t| t.name == name).map(|t| t.table)
    }

    /// The wire and SQL name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Whether this is one of the four listing kinds.
    pub fn is_listing(self) -> bool {
        self.def().kind == TableKind::Listing
    }
}

impl TableDef {
    /// A column's index by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        // Called for every cell of every change, several times: length and
        // first byte are compared inline before the bytes are (most names
        // differ there), which keeps a call to `memcmp` per column off the
        // path (measured: a tenth of a received page's apply).
        let (len, first) = (name.len(), name.as_bytes().first());
        self.columns.iter().position(|c| {
            c.name.len() == len && c.name.as_bytes().first() == first && c.name == name
        })
    }

    /// The most elements a set column may hold ([`MAX_PHOTOS`],
    /// [`MAX_AMENITIES`]); `None` for a column that is not a set.
    pub fn set_limit(&self, column: &str) -> Option<usize> {
        let col = self.columns.iter().find(|c| c.name == column)?;
        (col.rule == Rule::Set).then_some(match (self.table, column) {
            (Table::Item, columns::PHOTOS) => MAX_PHOTOS,
            (Table::Item, columns::TAGS) => MAX_TAGS,
            _ => MAX_AMENITIES,
        })
    }

    /// The columns a replica of schema `version` knows: a prefix of
    /// [`TableDef::columns`], as columns are only ever appended.
    pub fn columns_at(&self, version: i64) -> &'static [Column] {
        let n = self
            .columns
            .iter()
            .take_while(|c| c.known_at(version))
            .count();
        &self.columns[..n]
    }

    /// Whether a replica of schema `version` knows this table.
    pub fn known_at(&self, version: i64) -> bool {
        self.since <= version
    }

    /// The column index of the tombstone, for listings.
    pub fn tombstone(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.rule == Rule::Tombstone)
    }
}

/// Check one value against its column. Returns the reason on failure; the
/// reason never quotes the value (it may be personal data).
pub fn check_value(col: &Column, v: &Value) -> Result<(), &'static str> {
    check_value_with(col, v, check_content)
}

/// [`check_value`] for a value received from the server ([`check_received`]).
pub fn check_value_received(col: &Column, v: &Value) -> Result<(), &'static str> {
    check_value_with(col, v, check_received)
}

/// [`check_content`] for a value received from the server: a catalogue code
/// this version does not know (a category, amenity, station kind or report
/// kind added in a newer version) passes if it is shaped like a code (1–40
/// of `a-z 0-9 _`). It is kept, and shown with a fallback label
/// ([`catalogue::label`]); it never blocks the page it came in.
pub fn check_received(check: Check, v: &Value) -> Result<(), &'static str> {
    match (check, v) {
        (K::OneOf(_), Value::Text(s)) => {
            if catalogue::is_code(s) {
                Ok(())
            } else {
                Err("is not a category code")
            }
        }
        _ => check_content(check, v),
    }
}

fn check_value_with(
    col: &Column,
    v: &Value,
    content: fn(Check, &Value) -> Result<(), &'static str>,
) -> Result<(), &'static str> {
    if matches!(v, Value::Null) {
        return if col.required {
            Err("is required")
        } else {
            Ok(())
        };
    }
    match (col.ty, v) {
        (Ty::Text, Value::Text(_))
        | (Ty::Int, Value::Int(_))
        | (Ty::Real, Value::Real(_) | Value::Int(_)) => {}
        (Ty::Bool, Value::Int(0 | 1)) => {}
        (Ty::Bool, _) => return Err("must be true or false"),
        (Ty::Text, _) => return Err("must be text"),
        (Ty::Int, _) => return Err("must be an integer"),
        (Ty::Real, _) => return Err("must be a number"),
    }
    content(col.check, v)
}

/// Check a value (already of the right type) against a [`Check`].
pub fn check_content(check: Check, v: &Value) -> Result<(), &'static str> {
    match (check, v) {
        (K::None, _) => Ok(()),
        (K::MaxChars(n), Value::Text(s)) => {
            // One pass over the text (every received listing's fields go
            // through here), the reasons in the same order as before:
            // blank, bidirectional controls, length, other controls.
            let (mut visible, mut bidi, mut control, mut chars) = (false, false, false, 0usize);
            for c in s.chars() {
                chars += 1;
                visible = visible || !is_invisible(c);
                bidi |= is_bidi_control(c);
                control |= c.is_control() && c != '\n' && c != '\t';
            }
            if !visible {
                Err("must not be blank")
            } else if bidi {
                Err("contains bidirectional control characters")
            } else if chars > n {
                Err("is too long")
            } else if control {
                Err("contains control characters")
            } else {
                Ok(())
            }
        }
        (K::OneOf(list), Value::Text(s)) => catalogue::find(list, s)
            .map(|_| ())
            .ok_or("is not a known category"),
        (K::Words(list), Value::Text(s)) => {
            if list.contains(&s.as_str()) {
                Ok(())
            } else {
                Err("is not an allowed value")
            }
        }
        (K::Uuid | K::Ref(_), Value::Text(s)) => {
            if is_canonical_uuid(s) {
                Ok(())
            } else {
                Err("must be a UUID in canonical form (hyphenated, lowercase)")
            }
        }
        (K::Community, Value::Text(s)) => {
            let ok = !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if ok {
                Ok(())
            } else {
                Err("must be a community code (a-z, 0-9, _ or -, at most 64)")
            }
        }
        (K::Latitude, v) => match v.as_f64() {
            Some(x) if x.is_finite() && (-90.0..=90.0).contains(&x) => Ok(()),
            _ => Err("must be a WGS-84 latitude between -90 and 90"),
        },
        (K::Longitude, v) => match v.as_f64() {
            Some(x) if x.is_finite() && (-180.0..=180.0).contains(&x) => Ok(()),
            _ => Err("must be a WGS-84 longitude between -180 and 180"),
        },
        (K::Time, Value::Int(t)) => {
            if (946_684_800_000..=7_258_118_400_000).contains(t) {
                Ok(())
            } else {
                Err("must be a time between 2000 and 2200")
            }
        }
        (K::Year, Value::Int(y)) => {
            if (i64::from(crate::hours::MIN_CALENDAR_YEAR)
                ..=i64::from(crate::hours::MAX_CALENDAR_YEAR))
                .contains(y)
            {
                Ok(())
            } else {
                Err("must be a year the calendar takes")
            }
        }
        _ => Err("has the wrong type"),
    }
}

/// Whether `s` is a UUID in its one canonical text form: 36 characters,
/// hyphenated, lowercase. Other spellings (`{…}`, `urn:uuid:…`, upper case,
/// no hyphens) parse to the same UUID but would compare unequal as text, so
/// an owner stored in one of them would later look "changed".
pub fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069): they make text display in another order than it is
/// stored, the classic way to disguise a file name or a link.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, format characters (zero-width
/// space and joiners, soft hyphen, byte-order mark, …) and the blank
/// fillers of Hangul and Braille.
fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.is_whitespace()
        || c.is_control()
        || matches!(c.general_category(), GeneralCategory::Format)
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{034F}'
        )
}

/// Whether text is empty once invisible characters are removed.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(is_invisible)
}

#[cfg(test)]
mod tests {
    /// Columns are only appended: each table's columns are in the order of
    /// the schema versions that added them, none newer than this build's,
    /// and no table is newer than its columns.
    #[test]
    fn columns_are_appended_in_schema_order() {
        for def in TABLES {
            assert!(
                def.since >= 1 && def.since <= SCHEMA_VERSION,
                "{}",
                def.name
            );
            let mut last = def.since;
            for c in def.columns {
                assert!(
                    c.since >= last,
                    "{}.{} comes before an older column",
                    def.name,
                    c.name
                );
                assert!(c.since <= SCHEMA_VERSION, "{}.{}", def.name, c.name);
                // A phone of the older schema could not create the row.
                assert!(
                    !(c.required && c.since > def.since),
                    "{}.{}: a column added later cannot be required",
                    def.name,
                    c.name
                );
                last = c.since;
            }
            assert_eq!(def.columns_at(SCHEMA_VERSION).len(), def.columns.len());
        }
        assert_eq!(ITEM.columns_at(1).len(), ITEM.columns.len() - 1);
        assert_eq!(
            ITEM.columns_at(1).last().map(|c| c.name),
            Some(columns::DELETED)
        );
    }

    use super::*;

    #[test]
    fn table_names_round_trip_and_indexes_match() {
        for (i, t) in TABLES.iter().enumerate() {
            assert_eq!(t.table as usize, i);
            assert_eq!(Table::from_name(t.name), Some(t.table));
        }
        assert_eq!(Table::from_name("users"), None);
    }

    #[test]
    fn listings_have_a_tombstone_and_records_none() {
        for t in TABLES {
            assert_eq!(
                t.tombstone().is_some(),
                t.kind == TableKind::Listing,
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        let title = ITEM.columns[ITEM.column_index(columns::TITLE).unwrap()];
        assert!(check_value(&title, &Value::from("儿".repeat(60))).is_ok());
        assert_eq!(
            check_value(&title, &Value::from("儿".repeat(61))),
            Err("is too long")
        );
        assert_eq!(
            check_value(&title, &Value::from("   ")),
            Err("must not be blank")
        );
        assert_eq!(check_value(&title, &Value::Null), Err("is required"));
        assert_eq!(check_value(&title, &Value::Int(3)), Err("must be text"));
        for blank in [
            "\u{200B}\u{200C}\u{200D}",
            "\u{FEFF}",
            "\u{3000}\u{3164}",
            "\u{00AD}",
        ] {
            assert_eq!(
                check_value(&title, &Value::from(blank)),
                Err("must not be blank")
            );
        }
        assert_eq!(
            check_value(&title, &Value::from("免费\u{202E}gpj.exe")),
            Err("contains bidirectional control characters")
        );
        assert!(check_value(&title, &Value::from("零\u{200D}件")).is_ok());
    }

    #[test]
    fn uuids_only_in_canonical_form() {
        let owner = ITEM.columns[0];
        let u = "0198a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
        assert!(check_value(&owner, &Value::from(u)).is_ok());
        for other in [
            "{0198a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b}",
            "urn:uuid:0198a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
            "0198A2B4-1C2D-7E3F-8A4B-5C6D7E8F9A0B",
            "0198a2b41c2d7e3f8a4b5c6d7e8f9a0b",
        ] {
            assert!(check_value(&owner, &Value::from(other)).is_err(), "{other}");
        }
    }

    #[test]
    fn coordinates_and_enums() {
        let lat = STATION.columns[STATION.column_index(columns::LAT).unwrap()];
        assert!(check_value(&lat, &Value::Real(22.27)).is_ok());
        assert!(check_value(&lat, &Value::Real(91.0)).is_err());
        assert!(check_value(&lat, &Value::Real(f64::NAN)).is_err());
        let am = STATION.columns[STATION.column_index(columns::AMENITIES).unwrap()];
        assert!(check_value(&am, &Value::from("drinking_water")).is_ok());
        assert!(check_value(&am, &Value::from("jacuzzi")).is_err());
        let comm = ITEM.columns[1];
        assert!(check_value(&comm, &Value::from("fushi")).is_ok());
        assert!(check_value(&comm, &Value::from("Fushi; DROP")).is_err());
    }
}
