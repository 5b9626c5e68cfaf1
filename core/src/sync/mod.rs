//! Sync with the community's server: push the outbox, pull what changed.
//!
//! - [`wire`]: the JSON shapes of the protocol (`docs/PROTOCOL.md`) and the
//!   compact form of row changes.
//! - `client`: the phone's side, `SyncClient` (feature `client`, on by
//!   default; the server builds without it, and so without an HTTP client).
//!
//! What a phone keeps for sync lives beside its data: the outbox mark, the
//! pull cursor and the time of the last good sync in `crdt_state`; the
//! changes the server refused in `sync_rejection`, so the app can show them.

#[cfg(feature = "client")]
pub mod client;
pub mod cursor;
mod status;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{SyncClient, SyncConfig, SyncReport};

use crate::store::Store;
use crate::Result;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// State key: the outbox position the server has acknowledged up to (rows
/// numbered at or below it have been sent in the push under way).
pub const STATE_PUSHED: &str = "sync.pushed";
/// State key: the outbox floor: the position at which the push under way
/// began; every cell numbered above it goes with its row (see
/// `store::changes`). Equal to [`STATE_PUSHED`] once a push caught up.
pub const STATE_PUSH_FLOOR: &str = "sync.push_floor";
/// State key: the server-minted pull cursor ([`cursor::PullCursor`], text).
pub const STATE_CURSOR: &str = "sync.cursor";
/// State key: when the last sync finished (Unix ms, corrected clock).
pub const STATE_LAST_SUCCESS: &str = "sync.last_success_ms";

/// A change the server refused, as kept for the app to show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectionRecord {
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
        Ok(match self.state_get(key)? {
            Some(rusqlite::types::Value::Integer(i)) => i,
            _ => 0,
        })
    }

    /// The outbox position of the push under way (or of the last one).
    #[cfg(feature = "client")]
    pub(crate) fn push_position(&self) -> Result<crate::store::Position> {
        let after = self.state_int(STATE_PUSHED)?;
        // A store from before the floor was kept: its last push caught up.
        let floor = match self.state_get(STATE_PUSH_FLOOR)? {
            Some(rusqlite::types::Value::Integer(f)) => f,
            _ => after,
        };
        Ok(crate::store::Position { floor, after })
    }

    /// The pull cursor stored by the last page applied.
    #[cfg(feature = "client")]
    pub(crate) fn pull_cursor(&self) -> Result<cursor::PullCursor> {
        match self.state_get(STATE_CURSOR)? {
            Some(rusqlite::types::Value::Text(t)) => cursor::PullCursor::parse(&t),
            // A number from before cursors carried an epoch: no server can
            // vouch for it, so the feed starts over (safe, the merge is
            // idempotent).
            _ => Ok(cursor::PullCursor::default()),
        }
    }

    /// The changes the server refused, newest first: what the app shows as
    /// "this edit was not accepted" with the reason.
    pub fn sync_rejections(&self) -> Result<Vec<RejectionRecord>> {
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
                out.push(RejectionRecord {
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
}
