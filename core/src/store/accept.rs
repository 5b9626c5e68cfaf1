//! The receiving side of sync, for both ends.
//!
//! The server checks every pushed change against the pushing user with the
//! same policy the phone used, applies the allowed ones and sequences them in
//! one transaction, and answers refusals with the row's winning state. The
//! phone applies pulled pages together with its new cursor, and rolls back
//! what the server refused.

use super::apply::{validate, ApplyReport, Origin};
use super::changes::row_state;
use super::quarantine::{receive, release_due};
use super::{Store, TxFacts};
use crate::crdt::RowChange;
use crate::model::tables::Table;
use crate::policy::{self, Actor};
use crate::Result;
use rusqlite::types::Value as SqlValue;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// if the server has no such row.
    pub winning: Option<RowChange>,
}

impl Store {
    /// Check each change against `actor` and apply the allowed ones, all in
    /// one transaction. A malformed change fails the whole batch (nothing is
    /// applied); a refused change is skipped and reported with the winning
    /// state.
    pub fn apply_checked(
        &self,
        actor: &Actor,
        changes: &[RowChange],
    ) -> Result<(ApplyReport, Vec<Rejection>)> {
        self.receive_batch(changes, Some(actor), &[])
    }

    /// Apply received changes and set sync state (cursor, marks) in the same
    /// transaction, so a sync killed at any point loses nothing and applies
    /// nothing twice.
    pub fn apply_remote_with_state(
        &self,
        changes: &[RowChange],
        state: &[(&str, SqlValue)],
    ) -> Result<ApplyReport> {
        Ok(self.receive_batch(changes, None, state)?.0)
    }

    /// The one way received changes are applied: the whole batch validated
    /// first (one malformed change fails it, nothing applied), then in one
    /// transaction quarantined changes now due, each change — checked against
    /// `checked_for` when the server applies a push — and `state`.
    pub(crate) fn receive_batch(
        &self,
        changes: &[RowChange],
        checked_for: Option<&Actor>,
        state: &[(&str, SqlValue)],
    ) -> Result<(ApplyReport, Vec<Rejection>)> {
        let tables = changes
            .iter()
            .map(validate)
            .collect::<Result<Vec<Table>>>()?;
        self.write_tx(|ctx| {
            let mut report = release_due(ctx)?;
            let mut rejections = Vec::new();
            for (index, (change, table)) in changes.iter().zip(tables).enumerate() {
                let verdict = match checked_for {
                    Some(actor) => policy::check_change(actor, change, &TxFacts(ctx.tx))?,
                    None => Ok(()),
                };
                match verdict {
                    Ok(()) => receive(ctx, table, change, &mut report)?,
                    Err(denial) => {
                        let winning = row_state(ctx.tx, table, change.id)?;
                        tracing::info!(table = %change.table, code = denial.code(), "change rejected");
                        rejections.push(Rejection {
                            index,
                            table: change.table.clone(),
                            id: change.id,
                            code: denial.code().into(),
                            reason: denial.to_string(),
                            winning,
                        });
                    }
                }
            }
            set_state(ctx.tx, state)?;
            Ok((report, rejections))
        })
    }

    /// Roll our copies back to the server's word after it refused our
    /// changes, and keep a record of each refusal for the app to show: rows
    /// the server holds take its state (every cell with its stamp), rows it
    /// does not hold are removed here. The records, keyed by `batch_mark`
    /// (the outbox mark the refused batch was read from, so a batch sent
    /// again records nothing twice), and `state` are written in the same
    /// transaction.
    pub fn roll_back(
        &self,
        rejections: &[Rejection],
        batch_mark: i64,
        state: &[(&str, SqlValue)],
    ) -> Result<ApplyReport> {
        for r in rejections {
            if let Some(w) = &r.winning {
                validate(w)?;
            }
        }
        self.write_tx(|ctx| {
            let mut report = ApplyReport::default();
            for r in rejections {
                ctx.tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO sync_rejection (batch_mark, tbl, id, code, reason, at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(rusqlite::params![
                        batch_mark,
                        r.table,
                        r.id.as_bytes(),
                        r.code,
                        r.reason,
                        ctx.now_ms
                    ])?;
                let Some(table) = Table::from_name(&r.table) else {
                    continue;
                };
                // Our copy goes entirely, so nothing the server refused is
                // pushed again; its state then arrives like any pulled row.
                let rid: Option<i64> = ctx
                    .tx
                    .query_row(
                        &format!("SELECT rid FROM {} WHERE id = ?1", table.name()),
                        [r.id.as_bytes()],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(rid) = rid {
                    ctx.tx.execute(
                        "DELETE FROM crdt_tag WHERE tbl = ?1 AND rid = ?2",
                        rusqlite::params![table as i64, rid],
                    )?;
                    ctx.tx.execute(
                        &format!("DELETE FROM {} WHERE rid = ?1", table.name()),
                        [rid],
                    )?;
                }
                if let Some(w) = &r.winning {
                    super::apply::apply_row(ctx, table, w, Origin::Remote)?;
                }
                // Changed even when nothing replaced it: our copy is gone.
                ctx.changed.push((table, r.id));
                report.changed.push((table, r.id));
            }
            set_state(ctx.tx, state)?;
            Ok(report)
        })
    }

    /// Set small sync settings in one transaction.
    pub fn set_state(&self, state: &[(&str, SqlValue)]) -> Result<()> {
        self.write_tx(|ctx| set_state(ctx.tx, state))
    }
}

pub(crate) fn set_state(tx: &rusqlite::Connection, state: &[(&str, SqlValue)]) -> Result<()> {
    for (k, v) in state {
        tx.prepare_cached("INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)")?
            .execute(rusqlite::params![k, v])?;
    }
    Ok(())
}
