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

use crate::crdt::{CellOp, RowChange, Value};
use crate::model::tables::{Rule, Table, TableKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// Looks up existing rows for the checker.
pub trait Facts {
    /// The facts of a row, or `None` if it does not exist.
    fn row(&self, table: Table, id: Uuid) -> crate::Result<Option<RowFacts>>;
}

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
    /// The field cannot change after creation.
    Immutable(String),
    /// The item, station or request referred to does not exist.
    UnknownTarget(&'static str),
    /// Residents cannot request their own items.
    OwnItem,
    /// The change is malformed for this table.
    Malformed(String),
    /// The item is not open to requests.
    Deleted,
}

impl Denial {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotOwner => "not_owner",
            Denial::ForgedOwner => "forged_owner",
            Denial::OtherCommunity => "other_community",
            Denial::StaffOnly => "staff_only",
            Denial::Immutable(_) => "immutable_field",
            Denial::UnknownTarget(_) => "unknown_target",
            Denial::OwnItem => "own_item",
            Denial::Malformed(_) => "malformed",
            Denial::Deleted => "deleted",
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
            Denial::Immutable(c) => write!(f, "{c} cannot change after creation"),
            Denial::UnknownTarget(what) => write!(f, "the {what} does not exist"),
            Denial::OwnItem => f.write_str("you cannot request your own item"),
            Denial::Malformed(why) => write!(f, "malformed change: {why}"),
            Denial::Deleted => f.write_str("the listing was deleted"),
        }
    }
}

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

/// Check one row change for `actor`. The change's table must be known (the
/// caller validated it).
pub fn check_change(
    actor: &Actor,
    change: &RowChange,
    facts: &dyn Facts,
) -> crate::Result<Result<(), Denial>> {
    let Some(table) = Table::from_name(&change.table) else {
        return Ok(Err(Denial::Malformed("unknown table".into())));
    };
    let existing = facts.row(table, change.id)?;
    Ok(match table.def().kind {
        TableKind::Listing => check_listing(actor, table, change, existing.as_ref()),
        TableKind::Record => match existing {
            // Records never change: a second delivery is a harmless duplicate.
            Some(_) => Ok(()),
            None => check_record(actor, table, change, facts)?,
        },
    })
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
            (owner, community.to_owned())
        }
        Some(f) => {
            if f.community != actor.community && !actor.is_admin() {
                return Err(Denial::OtherCommunity);
            }
            for (name, now) in [
                ("owner", f.owner.map(|o| Value::Text(o.to_string()))),
                ("community", Some(Value::Text(f.community.clone()))),
                ("created_at", f.created_at.map(Value::Int)),
            ] {
                if let (Some(v), Some(now)) = (value_of(change, name), now) {
                    if *v != now {
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
            ("hidden", _) => {
                actor.is_staff_of(&community)
                    || matches!(cell.op, CellOp::Set(Value::Int(0))) && existing.is_none()
            }
            (_, Rule::Immutable) => true, // checked above
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

fn check_record(
    actor: &Actor,
    table: Table,
    change: &RowChange,
    facts: &dyn Facts,
) -> crate::Result<Result<(), Denial>> {
    let community = text_of(change, "community").unwrap_or_default();
    let self_field = match table {
        Table::ItemRequest => Some("requester"),
        Table::RequestOutcome | Table::Handover | Table::SkillSession => Some("by_user"),
        _ => None,
    };
    if let Some(field) = self_field {
        if uuid_of(change, field) != Some(actor.user) {
            return Ok(Err(Denial::ForgedOwner));
        }
    }
    let item_of = |id: Option<Uuid>| -> crate::Result<Result<RowFacts, Denial>> {
        let Some(id) = id else {
            return Ok(Err(Denial::Malformed("missing item_id".into())));
        };
        Ok(match facts.row(Table::Item, id)? {
            Some(f) if f.deleted => Err(Denial::Deleted),
            Some(f) => Ok(f),
            None => Err(Denial::UnknownTarget("item")),
        })
    };
    let request_of = |id: Option<Uuid>| -> crate::Result<Result<RowFacts, Denial>> {
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
        _ => Err(Denial::Malformed("not a record table".into())),
    };
    Ok(verdict)
}
