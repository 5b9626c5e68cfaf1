//! The receiving side of sync, for both ends.
//!
//! The server checks every pushed change against the pushing user with the
//! same policy the phone used, applies the allowed ones and sequences them in
//! one transaction, and answers refusals with the row's winning state. The
//! phone applies pulled pages together with its new cursor (rolling back what
//! the server refused is sync's bookkeeping: `sync::state`).

use super::apply::{validate_at, validate_received_at, ApplyReport};
use super::changes::row_state;
use super::quarantine::{
    hold_unreadable, publish_due, receive, release_due, retry_unreadable, Credentials, Pusher,
};
use super::state::{set_state_in, StateValue};
use super::{Store, TxFacts, WriteCtx, MIN_CLOCK_MS, SCHEMA_VERSION};
use crate::crdt::{CellOp, RowChange, Value};
use crate::model::tables::Table;
use crate::policy::{self, Actor, Denial, Role};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A pushed row whose clock the server does not take: further ahead of its
/// time than [`crate::StoreConfig::max_ahead_ms`], or before 2020.
fn clock_denial(ctx: &WriteCtx<'_>, change: &RowChange) -> Option<Denial> {
    clock_denial_at(change, ctx.now_ms, ctx.config.max_ahead_ms)
}

/// Why the server does not take `change`'s clocks at `now_ms`: a cell
/// more than `max_ahead_ms` ahead, or before 2020. Every backend's push
/// asks this first.
pub fn clock_denial_at(change: &RowChange, now_ms: i64, max_ahead_ms: i64) -> Option<Denial> {
    let max = now_ms.saturating_add(max_ahead_ms);
    for cell in &change.cells {
        let wall = cell.stamp.clock.wall_ms();
        if wall > max {
            return Some(Denial::ClockAhead);
        }
        if wall < MIN_CLOCK_MS {
            return Some(Denial::ClockTooOld);
        }
    }
    None
}

/// The row's state as `actor` may read it: rows of other communities (but
/// the city's stations and their records) not at all, and a hidden listing
/// without its content unless `actor` owns it or moderates it.
pub fn readable(actor: &Actor, table: Table, mut row: RowChange) -> Option<RowChange> {
    let text = |col: &str| {
        row.cells
            .iter()
            .find_map(|c| match (&c.op, c.column == col) {
                (CellOp::Set(Value::Text(t)), true) => Some(t.clone()),
                _ => None,
            })
    };
    let community = text("community").unwrap_or_default();
    let city_wide = super::changes::city_wide(table);
    let staff = actor.role == Role::Admin
        || (actor.role == Role::GridStaff && actor.community == community);
    if !city_wide && community != actor.community && actor.role != Role::Admin {
        return None;
    }
    let hidden = row
        .cells
        .iter()
        .any(|c| c.column == "hidden" && c.op == CellOp::Set(Value::Int(1)));
    let owner = text("owner") == Some(actor.user.to_string());
    if hidden && !staff && !owner {
        let def = table.def();
        row.cells.retain(|c| {
            def.column_index(&c.column)
                .is_none_or(|i| !def.columns[i].content)
        });
    }
    Some(row)
}

/// The row with just the cells a replica of schema `schema` knows (`None`
/// if that leaves none).
pub fn known_at(schema: i64, table: Table, mut row: RowChange) -> Option<RowChange> {
    let def = table.def();
    row.cells.retain(|c| {
        def.column_index(&c.column)
            .is_some_and(|i| def.columns[i].known_at(schema))
    });
    (!row.cells.is_empty()).then_some(row)
}

/// A change the server refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// Position of the change in the pushed batch.
    pub index: usize,
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: Uuid,
    /// Machine-readable reason ([`policy::Denial::code`]).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
    /// The row as the server holds it (every cell with its stamp), or `None`
    /// if the server has no such row or the pusher may not read it (another
    /// community's row). A hidden listing comes without its content unless
    /// the pusher owns or moderates it.
    pub winning: Option<RowChange>,
}

impl Store {
    /// Check each change against `actor` and apply the allowed ones, all in
    /// one transaction. A malformed change fails the whole batch (nothing is
    /// applied); a refused change is skipped and reported with the winning
    /// state (when the row is inside `actor`'s read scope). Held changes are
    /// judged again on release with `actor` as it is now.
    pub fn apply_checked(
        &self,
        actor: &Actor,
        changes: &[RowChange],
    ) -> Result<(ApplyReport, Vec<Rejection>)> {
        let pusher = Pusher {
            actor: actor.clone(),
            key: Vec::new(),
        };
        self.receive_batch(changes, Some((&pusher, None)), &[], SCHEMA_VERSION)
    }

    /// The server's push: like [`Store::apply_checked`], with the pusher's
    /// credential kept with every held change, and the held changes released
    /// first judged with `credentials` as they stand now. `schema` is the
    /// pushing phone's (`Fushi-Schema`): a change carrying a column it cannot
    /// know is refused as invalid, and a refusal's winning state carries
    /// only the columns it knows.
    pub fn apply_pushed(
        &self,
        pusher: &Pusher,
        changes: &[RowChange],
        credentials: &dyn Credentials,
        schema: i64,
    ) -> Result<(ApplyReport, Vec<Rejection>)> {
        self.receive_batch(changes, Some((pusher, Some(credentials))), &[], schema)
    }

    /// Apply received changes and set sync state (cursor, marks) in the same
    /// transaction, so a sync killed at any point loses nothing and applies
    /// nothing twice.
    pub fn apply_remote_with_state(
        &self,
        changes: &[RowChange],
        state: &[(&str, StateValue)],
    ) -> Result<ApplyReport> {
        Ok(self.receive_batch(changes, None, state, SCHEMA_VERSION)?.0)
    }

    /// [`Store::apply_remote_with_state`] read as a phone of schema
    /// `schema` reads: a column it cannot know makes the row unreadable
    /// (kept aside). What a sync client speaking an older schema does
    /// (compatibility tests).
    pub fn apply_remote_at(
        &self,
        schema: i64,
        changes: &[RowChange],
        state: &[(&str, StateValue)],
    ) -> Result<ApplyReport> {
        Ok(self.receive_batch(changes, None, state, schema)?.0)
    }

    /// The one way received changes are applied: the whole batch validated
    /// first (one malformed change fails it, nothing applied), then in one
    /// transaction quarantined changes now due, each change — for a push,
    /// its clocks bounded and checked against the pusher — and `state`.
    pub(crate) fn receive_batch(
        &self,
        changes: &[RowChange],
        pushed: Option<(&Pusher, Option<&dyn Credentials>)>,
        state: &[(&str, StateValue)],
        schema: i64,
    ) -> Result<(ApplyReport, Vec<Rejection>)> {
        // One invalid row never fails the batch: a pushed one is refused
        // (code `invalid`, naming the field), a pulled one is kept aside
        // until an upgraded app can read it.
        let checked: Vec<std::result::Result<Table, Denial>> = changes
            .iter()
            .map(|change| {
                let valid = match pushed {
                    Some(_) => validate_at(change, schema),
                    None => validate_received_at(change, schema),
                };
                match valid {
                    Ok(table) => Ok(Ok(table)),
                    Err(Error::Invalid { field, reason }) => {
                        Ok(Err(Denial::Invalid { field, reason }))
                    }
                    Err(e) => Err(e),
                }
            })
            .collect::<Result<_>>()?;
        self.write_tx(|ctx| {
            let mut report = release_due(ctx, pushed.and_then(|p| p.1))?;
            if pushed.is_some() {
                report.absorb(publish_due(ctx)?);
            } else {
                report.absorb(retry_unreadable(ctx)?);
            }
            let mut rejections = Vec::new();
            for (index, (change, checked)) in changes.iter().zip(&checked).enumerate() {
                let table = match (checked, pushed) {
                    (Ok(table), _) => *table,
                    (Err(denial), None) => {
                        hold_unreadable(ctx, change, denial)?;
                        report.unreadable += 1;
                        continue;
                    }
                    (Err(denial), Some((pusher, _))) => {
                        rejections.push(refusal(
                            ctx,
                            &pusher.actor,
                            schema,
                            index,
                            change,
                            denial,
                        )?);
                        continue;
                    }
                };
                let verdict = match pushed {
                    Some((pusher, _)) => match clock_denial(ctx, change) {
                        Some(d) => Err(d),
                        None => policy::check_change(&pusher.actor, change, &TxFacts(ctx.tx))?,
                    },
                    None => Ok(()),
                };
                let verdict = match verdict {
                    Ok(()) => receive(ctx, table, change, &mut report, pushed.map(|p| p.0))?,
                    Err(d) => Err(d),
                };
                if let (Err(denial), Some((pusher, _))) = (verdict, pushed) {
                    rejections.push(refusal(ctx, &pusher.actor, schema, index, change, &denial)?);
                }
            }
            set_state_in(ctx.tx, state)?;
            Ok((report, rejections))
        })
    }
}

/// The answer to a refused pushed row: the code and reason, and the row's
/// state on the server, which the pusher learns only for rows it may read
/// anyway.
fn refusal(
    ctx: &WriteCtx<'_>,
    pusher: &Actor,
    schema: i64,
    index: usize,
    change: &RowChange,
    denial: &Denial,
) -> Result<Rejection> {
    tracing::info!(table = %change.table, code = denial.code(), "change rejected");
    let winning = match Table::from_name(&change.table) {
        Some(table) => row_state(ctx.tx, table, change.id)?
            .and_then(|w| readable(pusher, table, w))
            .and_then(|w| known_at(schema, table, w)),
        None => None,
    };
    Ok(Rejection {
        index,
        table: change.table.clone(),
        id: change.id,
        code: denial.code().into(),
        reason: denial.to_string(),
        winning,
    })
}
