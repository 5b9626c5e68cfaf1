//! What a phone keeps for sync, beside its data and written in the same
//! transactions: the outbox mark and floor, the pull cursor, the time of the
//! last good sync (in `crdt_state`), and the changes the server refused (in
//! `sync_rejection`), recorded as their rows are rolled back to the server's
//! word.

use crate::model::tables::Table;
use crate::store::{validate_received, ApplyReport, Origin, Rejection, StateValue, Store};
use crate::Result;
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// State key: the outbox position the server has acknowledged up to (rows
/// numbered at or below it have been sent in the push under way).
pub const STATE_PUSHED: &str = "sync.pushed";
/// State key: the outbox floor: the position at which the push under way
/// began; every cell numbered above it goes with its row (see
/// `store::changes`). Equal to [`STATE_PUSHED`] once a push caught up.
pub const STATE_PUSH_FLOOR: &str = "sync.push_floor";
/// State key: the server-minted pull cursor ([`super::cursor::PullCursor`], text).
pub const STATE_CURSOR: &str = "sync.cursor";
/// State key: when the last sync finished (Unix ms, corrected clock).
pub const STATE_LAST_SUCCESS: &str = "sync.last_success_ms";
/// State key: the schema whose columns this phone has pulled in full.
/// Absent in a file from before schema 2: it was pulled at schema 1. Below
/// the schema the phone speaks (the app was upgraded), the phone catches up
/// on just the columns added since, before its ordinary pull.
pub const STATE_PULLED_SCHEMA: &str = "sync.pulled_schema";
/// State key: the cursor of the catch-up under way (text; `0` when none).
pub const STATE_CATCHUP_CURSOR: &str = "sync.catchup_cursor";

/// A change the server refused, as kept for the app to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncRejection {
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: Uuid,
    /// Machine-readable reason (`not_owner`, `staff_only`, …).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
    /// When the refusal arrived (Unix ms).
    pub at_ms: i64,
}

impl Store {
    /// An integer sync setting (0 if unset).
    pub(crate) fn state_int(&self, key: &str) -> Result<i64> {
        Ok(self
            .state_get(key)?
            .and_then(|v| v.as_int())
            .unwrap_or_default())
    }

    /// The outbox position of the push under way (or of the last one).
    #[cfg(feature = "client")]
    pub(crate) fn push_position(&self) -> Result<crate::store::Position> {
        let after = self.state_int(STATE_PUSHED)?;
        // A store from before the floor was kept: its last push caught up.
        let floor = match self.state_get(STATE_PUSH_FLOOR)? {
            Some(StateValue::Int(f)) => f,
            _ => after,
        };
        Ok(crate::store::Position { floor, after })
    }

    /// The pull cursor stored by the last page applied.
    #[cfg(feature = "client")]
    pub(crate) fn pull_cursor(&self) -> Result<super::cursor::PullCursor> {
        // A number from before cursors carried an epoch: no server can vouch
        // for it, so the feed starts over (safe, the merge is idempotent).
        self.cursor_at(STATE_CURSOR)
    }

    /// The schema whose columns this phone has pulled in full (see
    /// [`STATE_PULLED_SCHEMA`]).
    #[cfg(feature = "client")]
    pub(crate) fn pulled_schema(&self) -> Result<i64> {
        Ok(self
            .state_get(STATE_PULLED_SCHEMA)?
            .and_then(|v| v.as_int())
            .unwrap_or(1))
    }

    /// The cursor stored under `key` (the start if none, or one from
    /// before cursors carried an epoch).
    #[cfg(feature = "client")]
    pub(crate) fn cursor_at(&self, key: &str) -> Result<super::cursor::PullCursor> {
        match self.state_get(key)? {
            Some(StateValue::Text(t)) => super::cursor::PullCursor::parse(&t),
            _ => Ok(super::cursor::PullCursor::default()),
        }
    }

    /// The changes the server refused, newest first: what the app shows as
    /// "this edit was not accepted" with the reason.
    pub fn sync_rejections(&self) -> Result<Vec<SyncRejection>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT tbl, id, code, reason, at_ms FROM sync_rejection ORDER BY at_ms DESC, batch_mark DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (table, id, code, reason, at_ms) = row?;
                out.push(SyncRejection {
                    table,
                    id: Uuid::from_slice(&id)
                        .map_err(|_| crate::Error::Corrupt("bad row id".into()))?,
                    code,
                    reason,
                    at_ms,
                });
            }
            Ok(out)
        })
    }

    /// Forget the recorded refusals (the user has seen them).
    pub fn clear_sync_rejections(&self) -> Result<()> {
        self.write_tx(|ctx| {
            ctx.tx.execute("DELETE FROM sync_rejection", [])?;
            Ok(())
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
        state: &[(&str, StateValue)],
    ) -> Result<ApplyReport> {
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
                // The server's word, if this version can read it; kept
                // aside (not failing the rollback) if it cannot.
                if let Some(w) = &r.winning {
                    match validate_received(w) {
                        Ok(t) if t == table => {
                            crate::store::apply_row(ctx, table, w, Origin::Remote)?;
                        }
                        // A winning state of another row is the server's
                        // mistake: our copy is gone, the row comes back
                        // with a later pull.
                        Ok(_) => tracing::warn!(table = %r.table, "refusal's winning state names another table: ignored"),
                        Err(crate::Error::Invalid { field, reason }) => {
                            let denial = crate::policy::Denial::Invalid { field, reason };
                            crate::store::hold_unreadable(ctx, w, &denial)?;
                            report.unreadable += 1;
                        }
                        Err(e) => return Err(e),
                    }
                }
                // Changed even when nothing replaced it: our copy is gone.
                ctx.changed.push((table, r.id));
                report.changed.push((table, r.id));
            }
            crate::store::set_state_in(ctx.tx, state)?;
            Ok(report)
        })
    }
}
