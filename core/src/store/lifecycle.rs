//! An item's life: requests queue first come first served, the owner accepts,
//! declines or marks a no-show, the requester may cancel, both sides confirm
//! the hand-over, and unclaimed items expire.
//!
//! Everything is derived from append-only records, so every replica that has
//! the same records shows the same state, whatever order they arrived in:
//!
//! - **Queue order** is the request record's stamp `(clock, site id)`, which
//!   is written once by the requester's phone and is the same on every
//!   replica; `created_at` alone could tie or disagree across phones.
//! - A request is **closed** once any `declined`, `no_show` or `cancelled`
//!   outcome exists for it, whatever else happened (closing wins, so the
//!   order outcomes arrive in does not matter). It is **accepted** when it has
//!   an `accepted` outcome and is not closed.
//! - The item is **given** once both the giver's and the receiver's hand-over
//!   confirmations for one request exist (or its stored status says so);
//!   **withdrawn** when the owner withdrew it; **reserved** while a request is
//!   accepted; otherwise **available**. The owner's actions also write the
//!   stored `status` and `reserved_for` (only the owner may), so listings show
//!   the same without deriving.
//!
//! The pickup place is the compound-level `pickup_area`; nothing finer exists.

use super::write::Edit;
use super::{Store, WriteCtx};
use crate::crdt::rowclock::RowClocks;
use crate::crdt::{Stamp, Value};
use crate::model::columns;
use crate::model::tables::Table;
use crate::policy::{Actor, Denial};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// An item is "expiring soon" this many days before it expires.
pub const EXPIRING_SOON_DAYS: i64 = 3;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Where an item is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ItemState {
    /// Offered; requests queue.
    Available,
    /// The owner accepted a request; waiting for the hand-over.
    Reserved,
    /// Both sides confirmed the hand-over.
    Given,
    /// The owner withdrew it.
    Withdrawn,
}

/// How close an item is to expiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Expiry {
    /// More than [`EXPIRING_SOON_DAYS`] days left.
    Active,
    /// Expires within [`EXPIRING_SOON_DAYS`] days: the app may remind the owner.
    ExpiringSoon,
    /// Expired: no longer offered.
    Expired,
}

/// A request in an item's queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueuedRequest {
    /// The request's id.
    pub request_id: Uuid,
    /// The requester's account id.
    pub requester: Uuid,
    /// The requester's note.
    pub note: Option<String>,
    /// Requested at (Unix ms, the requester's clock).
    pub created_at: i64,
}

/// An item's state as every replica with the same records derives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ItemLifecycle {
    /// The item.
    pub item_id: Uuid,
    /// The owner's account id.
    pub owner: Uuid,
    /// Derived state.
    pub state: ItemState,
    /// The stored `status` column (the owner's last word).
    pub stored_status: String,
    /// The accepted request (or, once given, the one it was given to).
    pub accepted: Option<QueuedRequest>,
    /// Waiting requests, first come first served.
    pub queue: Vec<QueuedRequest>,
    /// The owner confirmed the hand-over of the accepted request.
    pub giver_confirmed: bool,
    /// The requester confirmed receiving it.
    pub receiver_confirmed: bool,
    /// Compound-level pickup place, the only place ever shown.
    pub pickup_area: String,
    /// Expires at (Unix ms).
    pub expires_at: i64,
    /// Expiry state now.
    pub expiry: Expiry,
    /// The signed-in user's place in the queue (0 = next), if waiting.
    pub my_position: Option<u32>,
}

/// The stamp of a record (every cell has the same) or of a listing's
/// creation (its `created_at` cell).
fn row_stamp(c: &Connection, table: Table, clk: &[u8], seq: i64) -> Result<Stamp> {
    let def = table.def();
    let clocks = RowClocks::decode(clk, def.columns.len(), seq)?;
    let meta = def
        .column_index(columns::CREATED_AT)
        .and_then(|i| clocks.cells.get(i).copied().flatten())
        .or_else(|| clocks.cells.iter().flatten().next().copied())
        .ok_or_else(|| Error::Corrupt("row without clock".into()))?;
    Ok(Stamp {
        clock: meta.clock,
        site: super::site_uuid(c, meta.site)?,
    })
}

fn parse_uuid(s: Option<String>) -> Result<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
        .ok_or_else(|| Error::Corrupt("bad id in a record".into()))
}

fn expiry(expires_at: i64, now: i64) -> Expiry {
    if expires_at <= now {
        Expiry::Expired
    } else if expires_at - now <= EXPIRING_SOON_DAYS * DAY_MS {
        Expiry::ExpiringSoon
    } else {
        Expiry::Active
    }
}

/// Derive an item's lifecycle from its row and records.
fn lifecycle(c: &Connection, item_id: Uuid, now: i64, me: Option<Uuid>) -> Result<ItemLifecycle> {
    let row = super::listings::fetch_row(c, Table::Item, item_id)?
        .filter(|r| !r.flag(columns::DELETED))
        .ok_or(Error::NotFound("item"))?;
    let item = crate::model::Item::from(&row);
    let key = item_id.to_string();

    let mut requests = Vec::new();
    {
        let mut stmt = c.prepare_cached(
            "SELECT id, requester, note, created_at, _clk, _seq FROM item_request WHERE item_id = ?1",
        )?;
        let mut rows = stmt.query([&key])?;
        while let Some(r) = rows.next()? {
            let id: Vec<u8> = r.get(0)?;
            let clk: Vec<u8> = r.get(4)?;
            let stamp = row_stamp(c, Table::ItemRequest, &clk, r.get(5)?)?;
            requests.push((
                stamp,
                QueuedRequest {
                    request_id: Uuid::from_slice(&id)
                        .map_err(|_| Error::Corrupt("bad row id".into()))?,
                    requester: parse_uuid(r.get(1)?)?,
                    note: r.get(2)?,
                    created_at: r.get::<_, Option<i64>>(3)?.unwrap_or_default(),
                },
            ));
        }
    }
    // Queue order: the request's stamp, the same on every replica.
    requests.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.request_id.cmp(&b.1.request_id)));
    let requests: Vec<QueuedRequest> = requests.into_iter().map(|(_, q)| q).collect();

    // Per request: (accepted, closed).
    let mut outcomes: HashMap<Uuid, (bool, bool)> = HashMap::new();
    {
        let mut stmt =
            c.prepare_cached("SELECT request_id, outcome FROM request_outcome WHERE item_id = ?1")?;
        let mut rows = stmt.query([&key])?;
        while let Some(r) = rows.next()? {
            let req = parse_uuid(r.get(0)?)?;
            let outcome: Option<String> = r.get(1)?;
            let e = outcomes.entry(req).or_default();
            match outcome.as_deref() {
                Some("accepted") => e.0 = true,
                Some(_) => e.1 = true,
                None => {}
            }
        }
    }
    // Per request: (giver, receiver) confirmations.
    let mut handovers: HashMap<Uuid, (bool, bool)> = HashMap::new();
    {
        let mut stmt =
            c.prepare_cached("SELECT request_id, side FROM handover WHERE item_id = ?1")?;
        let mut rows = stmt.query([&key])?;
        while let Some(r) = rows.next()? {
            let req = parse_uuid(r.get(0)?)?;
            let side: Option<String> = r.get(1)?;
            let e = handovers.entry(req).or_default();
            match side.as_deref() {
                Some("giver") => e.0 = true,
                Some("receiver") => e.1 = true,
                _ => {}
            }
        }
    }
    let closed = |r: &QueuedRequest| outcomes.get(&r.request_id).is_some_and(|o| o.1);
    let is_accepted = |r: &QueuedRequest| outcomes.get(&r.request_id).is_some_and(|o| o.0 && !o.1);
    let both = |r: &QueuedRequest| handovers.get(&r.request_id) == Some(&(true, true));

    let given_to = requests.iter().find(|r| both(r)).cloned();
    let accepted = requests.iter().find(|r| is_accepted(r)).cloned();
    let state = if given_to.is_some() || item.status == "given" {
        ItemState::Given
    } else if item.status == "withdrawn" {
        ItemState::Withdrawn
    } else if accepted.is_some() {
        ItemState::Reserved
    } else {
        ItemState::Available
    };
    let accepted = given_to.or(accepted);
    let (giver_confirmed, receiver_confirmed) = accepted
        .as_ref()
        .and_then(|a| handovers.get(&a.request_id).copied())
        .unwrap_or_default();
    let queue: Vec<QueuedRequest> = requests
        .into_iter()
        .filter(|r| !closed(r) && !is_accepted(r))
        .filter(|r| accepted.as_ref().map(|a| a.request_id) != Some(r.request_id))
        .collect();
    let my_position = me
        .and_then(|me| queue.iter().position(|r| r.requester == me))
        .map(|p| u32::try_from(p).unwrap_or(u32::MAX));
    Ok(ItemLifecycle {
        item_id,
        owner: item.owner,
        state,
        stored_status: item.status,
        accepted,
        queue,
        giver_confirmed,
        receiver_confirmed,
        pickup_area: item.pickup_area,
        expires_at: item.expires_at,
        expiry: expiry(item.expires_at, now),
        my_position,
    })
}

impl Store {
    /// The stamp `(clock, site)` of a record, or of a listing's creation: the
    /// same on every replica, so it orders concurrent offline writes alike.
    pub fn record_stamp(&self, table: Table, id: Uuid) -> Result<Stamp> {
        self.read(|c| {
            let (clk, seq): (Vec<u8>, i64) = c
                .prepare_cached(&format!(
                    "SELECT _clk, _seq FROM {} WHERE id = ?1",
                    table.name()
                ))?
                .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or(Error::NotFound(table.name()))?;
            row_stamp(c, table, &clk, seq)
        })
    }

    /// An item's derived state, queue and expiry.
    pub fn item_lifecycle(&self, item_id: Uuid) -> Result<ItemLifecycle> {
        let me = self.actor().ok().map(|a| a.user);
        let now = self.now_ms();
        self.read(|c| lifecycle(c, item_id, now, me))
    }

    /// The owner accepts the first request in line: the item is reserved for
    /// it. Returns the accepted request, or `None` if nobody is waiting.
    pub fn accept_next_request(&self, item_id: Uuid) -> Result<Option<Uuid>> {
        self.act(|act| act.accept_next(item_id))
    }

    /// The owner declines a request. If it was the accepted one, the item is
    /// offered again (accept the next with [`Store::accept_next_request`]).
    pub fn decline_request(&self, request_id: Uuid) -> Result<()> {
        self.act(|act| {
            let (item_id, _) = act.request(request_id)?;
            let lc = act.owned_lifecycle(item_id)?;
            act.close_request(&lc, request_id, "declined")
        })
    }

    /// The owner marks the accepted requester as a no-show and accepts the
    /// next in line. Returns the newly accepted request, if any.
    pub fn mark_no_show(&self, request_id: Uuid) -> Result<Option<Uuid>> {
        self.act(|act| {
            let (item_id, _) = act.request(request_id)?;
            let lc = act.owned_lifecycle(item_id)?;
            if lc.state != ItemState::Reserved
                || lc.accepted.as_ref().map(|a| a.request_id) != Some(request_id)
            {
                return Err(Error::invalid("request", "is not the accepted request"));
            }
            act.close_request(&lc, request_id, "no_show")?;
            act.accept_next(item_id)
        })
    }

    /// The requester cancels their request. If it was accepted, every phone
    /// then shows the item available again.
    pub fn cancel_request(&self, request_id: Uuid) -> Result<()> {
        self.act(|act| {
            let (item_id, requester) = act.request(request_id)?;
            if requester != act.actor.user {
                return Err(Error::NotAllowed(Denial::NotOwner));
            }
            let lc = act.lifecycle(item_id)?;
            if lc.state == ItemState::Given
                && lc.accepted.as_ref().map(|a| a.request_id) == Some(request_id)
            {
                return Err(Error::invalid(
                    "request",
                    "the item was already handed over",
                ));
            }
            act.outcome(&lc, request_id, "cancelled")?;
            Ok(())
        })
    }

    /// One side confirms the hand-over of the accepted request: the owner as
    /// giver, the accepted requester as receiver. When both have confirmed,
    /// the item is given (the owner's phone also stores `status = given`).
    pub fn confirm_handover(&self, item_id: Uuid) -> Result<ItemLifecycle> {
        self.act(|act| {
            let lc = act.lifecycle(item_id)?;
            let Some(req) = lc.accepted.clone() else {
                return Err(Error::invalid("item", "no request is accepted"));
            };
            let me = act.actor.user;
            let (side, done) = if me == lc.owner {
                ("giver", lc.giver_confirmed)
            } else if me == req.requester {
                ("receiver", lc.receiver_confirmed)
            } else {
                return Err(Error::NotAllowed(Denial::NotOwner));
            };
            if !done {
                act.record(
                    Table::Handover,
                    vec![
                        (columns::ITEM_ID, item_id.to_string().into()),
                        (columns::REQUEST_ID, req.request_id.to_string().into()),
                        (columns::BY_USER, me.to_string().into()),
                        (columns::SIDE, side.into()),
                        (
                            columns::COMMUNITY,
                            lc_community(&act.row(Table::Item, item_id)?).into(),
                        ),
                    ],
                )?;
            }
            let lc = act.lifecycle(item_id)?;
            if me == lc.owner && lc.state == ItemState::Given && lc.stored_status != "given" {
                act.set_item_status(item_id, "given", Some(req.request_id))?;
                return act.lifecycle(item_id);
            }
            Ok(lc)
        })
    }

    /// The owner renews an item for another [`crate::StoreConfig::item_ttl_days`].
    pub fn renew_item(&self, item_id: Uuid) -> Result<()> {
        self.act(|act| {
            let lc = act.owned_lifecycle(item_id)?;
            if matches!(lc.state, ItemState::Given | ItemState::Withdrawn) {
                return Err(Error::invalid("item", "the item is no longer offered"));
            }
            let expires = act.ctx.now_ms + act.ctx.config.item_ttl_days * DAY_MS;
            act.write(
                Table::Item,
                item_id,
                &[Edit::Set(columns::EXPIRES_AT, Value::Int(expires))],
            )
        })
    }
}

/// The community of a row, as written.
fn lc_community(row: &crate::model::RowData) -> String {
    row.text_or_empty(columns::COMMUNITY)
}

/// One user action inside its one write transaction: the checks read the
/// state the writes will change, so a concurrent call from another thread
/// or a sync page landing in between cannot make an item reserved for two
/// people or given twice.
pub(crate) struct Act<'c, 'a> {
    pub(crate) ctx: &'c mut WriteCtx<'a>,
    pub(crate) actor: Actor,
}

impl Store {
    /// Run a user action as the signed-in user in one write transaction.
    pub(crate) fn act<T>(&self, f: impl FnOnce(&mut Act<'_, '_>) -> Result<T>) -> Result<T> {
        let actor = self.actor()?;
        self.write_tx(|ctx| f(&mut Act { ctx, actor }))
    }
}

impl Act<'_, '_> {
    /// A row by id, deleted or not, as this transaction sees it.
    pub(crate) fn row(&self, table: Table, id: Uuid) -> Result<crate::model::RowData> {
        super::listings::fetch_row(self.ctx.tx, table, id)?.ok_or(Error::NotFound(table.name()))
    }

    /// A live (not deleted) row, or not found.
    pub(crate) fn live(&self, table: Table, id: Uuid) -> Result<crate::model::RowData> {
        match super::listings::fetch_row(self.ctx.tx, table, id)? {
            Some(r) if !r.flag(columns::DELETED) => Ok(r),
            _ => Err(Error::NotFound(table.name())),
        }
    }

    /// A local write of this action.
    pub(crate) fn write(&mut self, table: Table, id: Uuid, edits: &[Edit]) -> Result<()> {
        super::write::write_in(self.ctx, &self.actor, table, id, edits)?;
        Ok(())
    }

    /// A new record written by this action.
    pub(crate) fn record(
        &mut self,
        table: Table,
        fields: Vec<(&'static str, Value)>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let mut edits: Vec<Edit> = fields.into_iter().map(|(c, v)| Edit::Set(c, v)).collect();
        edits.push(Edit::Set(columns::CREATED_AT, Value::Int(self.ctx.now_ms)));
        self.write(table, id, &edits)?;
        Ok(id)
    }

    fn lifecycle(&self, item_id: Uuid) -> Result<ItemLifecycle> {
        lifecycle(self.ctx.tx, item_id, self.ctx.now_ms, Some(self.actor.user))
    }

    /// The lifecycle, checking that the acting user owns the item.
    fn owned_lifecycle(&self, item_id: Uuid) -> Result<ItemLifecycle> {
        let lc = self.lifecycle(item_id)?;
        if lc.owner != self.actor.user {
            return Err(Error::NotAllowed(Denial::NotOwner));
        }
        Ok(lc)
    }

    /// A request's item and requester.
    fn request(&self, request_id: Uuid) -> Result<(Uuid, Uuid)> {
        let req = super::listings::fetch_row(self.ctx.tx, Table::ItemRequest, request_id)?
            .ok_or(Error::NotFound("request"))?;
        let item_id = req.uuid(columns::ITEM_ID).ok_or(Error::NotFound("item"))?;
        Ok((item_id, req.uuid(columns::REQUESTER).unwrap_or_default()))
    }

    fn outcome(&mut self, lc: &ItemLifecycle, request_id: Uuid, outcome: &str) -> Result<Uuid> {
        let community = lc_community(&self.row(Table::Item, lc.item_id)?);
        let by = self.actor.user.to_string();
        self.record(
            Table::RequestOutcome,
            vec![
                (columns::REQUEST_ID, request_id.to_string().into()),
                (columns::ITEM_ID, lc.item_id.to_string().into()),
                (columns::BY_USER, by.into()),
                (columns::OUTCOME, outcome.into()),
                (columns::COMMUNITY, community.into()),
            ],
        )
    }

    fn set_item_status(
        &mut self,
        item_id: Uuid,
        status: &str,
        reserved_for: Option<Uuid>,
    ) -> Result<()> {
        self.write(
            Table::Item,
            item_id,
            &[
                Edit::Set(columns::STATUS, Value::from(status)),
                Edit::Set(
                    columns::RESERVED_FOR,
                    Value::from(reserved_for.map(|r| r.to_string())),
                ),
            ],
        )
    }

    fn accept_next(&mut self, item_id: Uuid) -> Result<Option<Uuid>> {
        let lc = self.owned_lifecycle(item_id)?;
        match lc.state {
            ItemState::Available => {}
            ItemState::Reserved => {
                return Err(Error::invalid("item", "a request is already accepted"))
            }
            ItemState::Given | ItemState::Withdrawn => {
                return Err(Error::invalid("item", "the item is no longer offered"))
            }
        }
        if lc.expiry == Expiry::Expired {
            return Err(Error::invalid("item", "the item has expired"));
        }
        let Some(next) = lc.queue.first() else {
            return Ok(None);
        };
        let next = next.request_id;
        self.outcome(&lc, next, "accepted")?;
        self.set_item_status(item_id, "reserved", Some(next))?;
        Ok(Some(next))
    }

    fn close_request(&mut self, lc: &ItemLifecycle, request_id: Uuid, outcome: &str) -> Result<()> {
        let was_accepted = lc.accepted.as_ref().map(|a| a.request_id) == Some(request_id);
        if lc.state == ItemState::Given && was_accepted {
            return Err(Error::invalid(
                "request",
                "the item was already handed over",
            ));
        }
        self.outcome(lc, request_id, outcome)?;
        if was_accepted && lc.state == ItemState::Reserved {
            self.set_item_status(lc.item_id, "available", None)?;
        }
        Ok(())
    }
}
