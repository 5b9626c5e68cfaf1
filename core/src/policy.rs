//! Who may write what. One check, used by the phone before a local write and
//! by the server on every pushed change, so both sides agree.
//!
//! - Residents create, edit and delete only their own items, skills and needs,
//!   in their own community; the owner field must be themselves.
//! - Anyone signed in may request an item of their community, report a station
//!   and check in at one (stations are city-wide).
//! - Only grid staff create and edit stations, and hide (moderate) listings, in
//!   their own community. Admins may do anything anywhere.
//! - Item status (available → reserved → given, withdrawn) belongs to the owner.
//! - A skill session is confirmed by its beneficiary, never by the skill's
//!   owner, for a live skill of the community.
//!
//! The check judges the whole row change and the state the row would have
//! after it, never a first matching cell: every cell is checked (a column
//! set twice in one change is refused as malformed before this, by
//! [`crate::store::validate`]); owner, community and creation time are set
//! only by the change that creates the row, to the creator's own values;
//! only grid staff of the row's community set `hidden`, to any value; a
//! deleted listing takes nothing but its delete again; sets stay within
//! their limits after the change; records name only the writer's own
//! community (station records: the station's).

use crate::crdt::{CellOp, RowChange, Stamp, Value};
use crate::model::tables::{Rule, Table, TableKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// A resident (居民).
    Resident,
    /// Grid staff (网格员) of one community.
    GridStaff,
    /// Programme administrator.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::GridStaff => "grid_staff",
            Role::Admin => "admin",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "resident" => Some(Role::Resident),
            "grid_staff" => Some(Role::GridStaff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The signed-in user a write is made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Opaque account id.
    pub user: Uuid,
    /// Role.
    pub role: Role,
    /// Community code the account belongs to.
    pub community: String,
}

impl Actor {
    fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn is_staff_of(&self, community: &str) -> bool {
        self.is_admin() || (self.role == Role::GridStaff && self.community == community)
    }
}

/// What the checker knows of an existing row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowFacts {
    /// Owner (listings), requester or author (records).
    pub owner: Option<Uuid>,
    /// Community the row belongs to.
    pub community: String,
    /// Creation time (listings).
    pub created_at: Option<i64>,
    /// For requests and outcomes: the item they are about.
    pub parent: Option<Uuid>,
    /// Deleted (listings).
    pub deleted: bool,
}

impl RowFacts {
    /// The facts of a row of `table` kept whole in memory (the server's
    /// PostgreSQL storage), as the phones' tables tell them: owner,
    /// requester or author; community; creation time; the item a request
    /// or outcome is about; deleted.
    pub fn of_state(table: Table, row: &crate::crdt::row::RowState) -> RowFacts {
        let def = table.def();
        let uuid = |name: &str| row.text(name).and_then(|s| Uuid::parse_str(s).ok());
        RowFacts {
            owner: ["owner", "requester", "by_user"]
                .into_iter()
                .find(|c| def.column_index(c).is_some())
                .and_then(uuid),
            community: row.community().to_owned(),
            created_at: row.cells.get("created_at").and_then(|c| c.value.as_i64()),
            parent: uuid("item_id"),
            deleted: row.deleted(),
        }
    }
}

/// Looks up existing rows for the checker.
pub trait Facts {
    /// Why a lookup failed (the store's error).
    type Error;

    /// The facts of a row, or `None` if it does not exist.
    fn row(&self, table: Table, id: Uuid) -> Result<Option<RowFacts>, Self::Error>;

    /// The present tags `(element, stamp)` of a set column of a row (none
    /// for a row that does not exist).
    fn set_tags(
        &self,
        table: Table,
        id: Uuid,
        column: usize,
    ) -> Result<Vec<(String, Stamp)>, Self::Error>;
}

/// How many set cells (adds and removes) one row change may carry, as a
/// multiple of the set's limit.
pub const SET_CHURN_FACTOR: usize = 4;

/// How far a creation time may lie from the clock of the change that sets
/// it (a day either way): a phone stamps both from one clock, so more is a
/// back- or forward-dated listing (which would sort first by "newest").
pub const CREATED_AT_SLACK_MS: i64 = 24 * 60 * 60 * 1000;

/// Why a change was refused. The code is machine-readable and stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Denial {
    /// Only the owner may change this.
    NotOwner,
    /// The owner (or requester, author) field is not the signed-in user.
    ForgedOwner,
    /// The row belongs to another community.
    OtherCommunity,
    /// Only grid staff may do this.
    StaffOnly,
    /// Only an admin may do this (publish a holiday calendar).
    AdminOnly,
    /// The field cannot change after creation.
    Immutable(String),
    /// The item, station or request referred to does not exist.
    UnknownTarget(&'static str),
    /// Residents cannot request their own items.
    OwnItem,
    /// The change is malformed for this table.
    Malformed(String),
    /// The item is not open to requests, or the listing was deleted.
    Deleted,
    /// A set column would hold more elements than its limit.
    TooManyElements(String),
    /// A clock runs further ahead of the server's time than it accepts.
    ClockAhead,
    /// A clock from before 2020.
    ClockTooOld,
    /// The pusher's quarantine (changes held for their clock) is full.
    QuarantineFull,
    /// The credential the change was pushed with was revoked before it
    /// was applied (a held change, dropped).
    Revoked,
    /// A held change waited longer than the quarantine keeps one.
    Expired,
    /// A value fails validation (the field and why, never the value): this
    /// row is refused, the rest of the batch is not.
    Invalid {
        /// The field, as `table.column`.
        field: String,
        /// Why.
        reason: String,
    },
}

impl Denial {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotOwner => "not_owner",
            Denial::ForgedOwner => "forged_owner",
            Denial::OtherCommunity => "other_community",
            Denial::StaffOnly => "staff_only",
            Denial::AdminOnly => "admin_only",
            Denial::Immutable(_) => "immutable_field",
            Denial::UnknownTarget(_) => "unknown_target",
            Denial::OwnItem => "own_item",
            Denial::Malformed(_) => "malformed",
            Denial::Deleted => "deleted",
            Denial::TooManyElements(_) => "too_many_elements",
            Denial::ClockAhead => "clock_ahead",
            Denial::ClockTooOld => "clock_too_old",
            Denial::QuarantineFull => "quarantine_full",
            Denial::Revoked => "revoked",
            Denial::Expired => "expired",
            Denial::Invalid { .. } => "invalid",
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::NotOwner => f.write_str("only the owner may change this listing"),
            Denial::ForgedOwner => f.write_str("the owner field must be the signed-in user"),
            Denial::OtherCommunity => f.write_str("the listing belongs to another community"),
            Denial::StaffOnly => f.write_str("only grid staff of the community may do this"),
            Denial::AdminOnly => f.write_str("only an admin may do this"),
            Denial::Immutable(c) => write!(f, "{c} cannot change after creation"),
            Denial::UnknownTarget(what) => write!(f, "the {what} does not exist"),
            Denial::OwnItem => f.write_str("you cannot request your own item"),
            Denial::Malformed(why) => write!(f, "malformed change: {why}"),
            Denial::Deleted => f.write_str("the listing was deleted"),
            Denial::TooManyElements(c) => write!(f, "{c} would hold more elements than allowed"),
            Denial::ClockAhead => {
                f.write_str("the change's clock runs too far ahead of the server")
            }
            Denial::ClockTooOld => f.write_str("the change's clock is before 2020"),
            Denial::QuarantineFull => {
                f.write_str("too many changes with clocks ahead are held for this user")
            }
            Denial::Revoked => f.write_str("the token was revoked before the change was applied"),
            Denial::Expired => f.write_str("the held change expired"),
            Denial::Invalid { field, reason } => write!(f, "invalid {field}: {reason}"),
        }
    }
}

/// The value a change sets in `column` (validate allows one such cell).
fn value_of<'a>(change: &'a RowChange, column: &str) -> Option<&'a Value> {
    change
        .cells
        .iter()
        .find(|c| c.column == column)
        .and_then(|c| match &c.op {
            CellOp::Set(v) => Some(v),
            _ => None,
        })
}

fn uuid_of(change: &RowChange, column: &str) -> Option<Uuid> {
    value_of(change, column)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn text_of<'a>(change: &'a RowChange, column: &str) -> Option<&'a str> {
    value_of(change, column).and_then(Value::as_str)
}

/// A creation time within [`CREATED_AT_SLACK_MS`] of its own cell's clock.
fn created_at_is_own(change: &RowChange) -> bool {
    let Some(cell) = change.cells.iter().find(|c| c.column == "created_at") else {
        return true;
    };
    match &cell.op {
        CellOp::Set(Value::Int(t)) => {
            let wall = cell.stamp.clock.wall_ms();
            (wall.saturating_sub(CREATED_AT_SLACK_MS)..=wall.saturating_add(CREATED_AT_SLACK_MS))
                .contains(t)
        }
        _ => false,
    }
}

/// Check one row change for `actor`. The change's table must be known (the
/// caller validated it).
pub fn check_change<F: Facts + ?Sized>(
    actor: &Actor,
    change: &RowChange,
    facts: &F,
) -> Result<Result<(), Denial>, F::Error> {
    let Some(table) = Table::from_name(&change.table) else {
        return Ok(Err(Denial::Malformed("unknown table".into())));
    };
    let existing = facts.row(table, change.id)?;
    match table.def().kind {
        TableKind::Listing => {
            if let Err(d) = check_listing(actor, table, change, existing.as_ref()) {
                return Ok(Err(d));
            }
            check_set_limits(table, change, facts)
        }
        TableKind::Record => match existing {
            // Records never change: a second delivery is a harmless duplicate
            // (the merge keeps the first; nothing of this one is applied).
            Some(_) => Ok(Ok(())),
            None => check_record(actor, table, change, facts),
        },
    }
}

fn check_listing(
    actor: &Actor,
    table: Table,
    change: &RowChange,
    existing: Option<&RowFacts>,
) -> Result<(), Denial> {
    let def = table.def();
    let staff_table = table == Table::Station;
    let (owner, community) = match existing {
        None => {
            // The row is created by this change: it must carry what a new
            // listing needs, and its fixed fields must be the creator's. A
            // listing posted and deleted before it was ever sent arrives
            // as its tombstone: its content was erased on the phone.
            let born_deleted = def
                .tombstone()
                .is_some_and(|t| value_of(change, def.columns[t].name) == Some(&Value::Int(1)));
            for col in def
                .columns
                .iter()
                .filter(|c| c.required && !(born_deleted && c.content))
            {
                if value_of(change, col.name).is_none_or(|v| matches!(v, Value::Null)) {
                    return Err(Denial::Malformed(format!(
                        "a new listing needs its {}",
                        col.name
                    )));
                }
            }
            let owner = uuid_of(change, "owner")
                .ok_or(Denial::Malformed("a new listing needs its owner".into()))?;
            let community = text_of(change, "community").ok_or(Denial::Malformed(
                "a new listing needs its community".into(),
            ))?;
            if owner != actor.user {
                return Err(Denial::ForgedOwner);
            }
            if community != actor.community && !actor.is_admin() {
                return Err(Denial::OtherCommunity);
            }
            if staff_table && !actor.is_staff_of(community) {
                return Err(Denial::StaffOnly);
            }
            if !created_at_is_own(change) {
                return Err(Denial::Immutable("created_at".into()));
            }
            (owner, community.to_owned())
        }
        Some(f) => {
            if f.community != actor.community && !actor.is_admin() {
                return Err(Denial::OtherCommunity);
            }
            // A deleted listing takes its delete again (a retried push) and
            // nothing else.
            if f.deleted && value_of(change, "deleted") != Some(&Value::Int(1)) {
                return Err(Denial::Deleted);
            }
            // Fixed fields may come again (a retried creation) but only with
            // the value they have: the row after the change keeps them.
            for (name, now) in [
                ("owner", f.owner.map(|o| Value::Text(o.to_string()))),
                ("community", Some(Value::Text(f.community.clone()))),
                ("created_at", f.created_at.map(Value::Int)),
            ] {
                if let Some(v) = value_of(change, name) {
                    if now.as_ref() != Some(v) {
                        return Err(Denial::Immutable(name.into()));
                    }
                }
            }
            (f.owner.unwrap_or(Uuid::nil()), f.community.clone())
        }
    };
    let is_owner = owner == actor.user;
    for cell in &change.cells {
        let Some(col) = def.column_index(&cell.column).map(|i| def.columns[i]) else {
            return Err(Denial::Malformed(format!("unknown column {}", cell.column)));
        };
        let allowed = match (col.name, col.rule) {
            // Moderation, in either direction and on creation too.
            ("hidden", _) => actor.is_staff_of(&community),
            (_, Rule::Immutable) => true, // checked above, as the whole row
            _ if staff_table => actor.is_staff_of(&community),
            _ => is_owner || actor.is_admin(),
        };
        if !allowed {
            return Err(if col.name == "hidden" || staff_table {
                Denial::StaffOnly
            } else {
                Denial::NotOwner
            });
        }
    }
    Ok(())
}

/// Every set column the change touches stays within its limit once the
/// change is merged: present tags, less those the change removes, plus
/// those it adds.
fn check_set_limits<F: Facts + ?Sized>(
    table: Table,
    change: &RowChange,
    facts: &F,
) -> Result<Result<(), Denial>, F::Error> {
    let def = table.def();
    let mut done = 0u64;
    for cell in &change.cells {
        let Some(idx) = def.column_index(&cell.column) else {
            continue;
        };
        let Some(limit) = def.set_limit(&cell.column) else {
            continue;
        };
        if done & (1 << idx) != 0 {
            continue;
        }
        done |= 1 << idx;
        let mut tags: std::collections::BTreeMap<String, std::collections::BTreeSet<Stamp>> =
            std::collections::BTreeMap::new();
        for (elem, stamp) in facts.set_tags(table, change.id, idx)? {
            tags.entry(elem).or_default().insert(stamp);
        }
        let mine = change.cells.iter().filter(|c| c.column == cell.column);
        // One change adds or removes at most four times the limit: more is
        // churn (every removed tag is kept, and sent to every reader).
        if mine.clone().count() > SET_CHURN_FACTOR * limit {
            return Ok(Err(Denial::TooManyElements(cell.column.clone())));
        }
        let mut removed: std::collections::HashSet<(&str, Stamp)> =
            std::collections::HashSet::new();
        for c in mine.clone() {
            if let CellOp::Remove(e) = &c.op {
                if let Some(t) = tags.get_mut(e) {
                    t.remove(&c.stamp);
                }
                removed.insert((e.as_str(), c.stamp));
            }
        }
        for c in mine {
            if let CellOp::Add(e) = &c.op {
                // An add whose tag the same change removes stays removed.
                if !removed.contains(&(e.as_str(), c.stamp)) {
                    tags.entry(e.clone()).or_default().insert(c.stamp);
                }
            }
        }
        if tags.values().filter(|t| !t.is_empty()).count() > limit {
            return Ok(Err(Denial::TooManyElements(cell.column.clone())));
        }
    }
    Ok(Ok(()))
}

/// A published calendar must read as one, every date in its `year`.
fn calendar_of_year(change: &RowChange) -> Result<(), Denial> {
    let year = change
        .cells
        .iter()
        .find_map(|c| match (&c.op, c.column.as_str()) {
            (crate::crdt::CellOp::Set(crate::crdt::Value::Int(y)), "year") => Some(*y),
            _ => None,
        });
    let text = text_of(change, "holidays").unwrap_or("");
    let cal = crate::hours::HolidayCalendar::from_text(text)
        .map_err(|e| Denial::Malformed(format!("holidays: {e}")))?;
    match year {
        Some(y) if !cal.years().is_empty() && cal.years().iter().all(|c| i64::from(*c) == y) => {
            Ok(())
        }
        _ => Err(Denial::Malformed(
            "holidays must list dates of its year only".into(),
        )),
    }
}

fn check_record<F: Facts + ?Sized>(
    actor: &Actor,
    table: Table,
    change: &RowChange,
    facts: &F,
) -> Result<Result<(), Denial>, F::Error> {
    let community = text_of(change, "community").unwrap_or_default();
    let self_field = match table {
        Table::ItemRequest => Some("requester"),
        Table::RequestOutcome | Table::Handover | Table::SkillSession | Table::HolidayCalendar => {
            Some("by_user")
        }
        _ => None,
    };
    if let Some(field) = self_field {
        if uuid_of(change, field) != Some(actor.user) {
            return Ok(Err(Denial::ForgedOwner));
        }
    }
    if !created_at_is_own(change) {
        return Ok(Err(Denial::Immutable("created_at".into())));
    }
    // Records of the community's life (requests, outcomes, hand-overs,
    // skill sessions) are written only in the writer's own community;
    // station records in the station's (checked below).
    let station_record = matches!(table, Table::StationReport | Table::StationCheckin);
    if !station_record && community != actor.community && !actor.is_admin() {
        return Ok(Err(Denial::OtherCommunity));
    }
    let item_of = |id: Option<Uuid>| -> Result<Result<RowFacts, Denial>, F::Error> {
        let Some(id) = id else {
            return Ok(Err(Denial::Malformed("missing item_id".into())));
        };
        Ok(match facts.row(Table::Item, id)? {
            Some(f) if f.deleted => Err(Denial::Deleted),
            Some(f) => Ok(f),
            None => Err(Denial::UnknownTarget("item")),
        })
    };
    let request_of = |id: Option<Uuid>| -> Result<Result<RowFacts, Denial>, F::Error> {
        let Some(id) = id else {
            return Ok(Err(Denial::Malformed("missing request_id".into())));
        };
        Ok(facts
            .row(Table::ItemRequest, id)?
            .ok_or(Denial::UnknownTarget("request")))
    };
    let verdict = match table {
        Table::ItemRequest => match item_of(uuid_of(change, "item_id"))? {
            Err(d) => Err(d),
            Ok(item) if item.community != actor.community && !actor.is_admin() => {
                Err(Denial::OtherCommunity)
            }
            Ok(item) if item.community != community => Err(Denial::OtherCommunity),
            Ok(item) if item.owner == Some(actor.user) => Err(Denial::OwnItem),
            Ok(_) => Ok(()),
        },
        Table::RequestOutcome | Table::Handover => {
            let item_id = uuid_of(change, "item_id");
            match (
                item_of(item_id)?,
                request_of(uuid_of(change, "request_id"))?,
            ) {
                (Err(d), _) | (_, Err(d)) => Err(d),
                (Ok(_), Ok(req)) if req.parent != item_id => {
                    Err(Denial::Malformed("the request is for another item".into()))
                }
                (Ok(item), Ok(_)) if item.community != community => Err(Denial::OtherCommunity),
                (Ok(item), Ok(req)) => {
                    let is_owner = item.owner == Some(actor.user);
                    let is_requester = req.owner == Some(actor.user);
                    let ok = if table == Table::RequestOutcome {
                        match text_of(change, "outcome") {
                            Some("cancelled") => is_requester,
                            _ => is_owner,
                        }
                    } else {
                        match text_of(change, "side") {
                            Some("giver") => is_owner,
                            _ => is_requester,
                        }
                    };
                    if ok || actor.is_admin() {
                        Ok(())
                    } else {
                        Err(Denial::NotOwner)
                    }
                }
            }
        }
        Table::StationReport | Table::StationCheckin => {
            match uuid_of(change, "station_id")
                .map(|id| facts.row(Table::Station, id))
                .transpose()?
            {
                None => Err(Denial::Malformed("missing station_id".into())),
                Some(None) => Err(Denial::UnknownTarget("station")),
                Some(Some(st)) if st.deleted => Err(Denial::UnknownTarget("station")),
                Some(Some(st)) if st.community != community => {
                    Err(Denial::Malformed("community must be the station's".into()))
                }
                Some(Some(_)) => Ok(()),
            }
        }
        Table::SkillSession => match uuid_of(change, "skill_id")
            .map(|id| facts.row(Table::Skill, id))
            .transpose()?
        {
            None => Err(Denial::Malformed("missing skill_id".into())),
            Some(None) => Err(Denial::UnknownTarget("skill")),
            Some(Some(sk)) if sk.deleted => Err(Denial::Deleted),
            Some(Some(sk)) if sk.community != community => Err(Denial::OtherCommunity),
            Some(Some(sk)) if sk.owner != uuid_of(change, "provider") => Err(Denial::Malformed(
                "provider must be the skill's owner".into(),
            )),
            Some(Some(sk)) if sk.owner == Some(actor.user) => Err(Denial::Malformed(
                "a session of your own skill cannot be confirmed".into(),
            )),
            Some(Some(_)) => Ok(()),
        },
        Table::HolidayCalendar => {
            if actor.is_admin() {
                calendar_of_year(change)
            } else {
                Err(Denial::AdminOnly)
            }
        }
        _ => Err(Denial::Malformed("not a record table".into())),
    };
    Ok(verdict)
}
