//! Sync with the community's server: push the outbox, pull what changed.
//!
//! - [`wire`]: the JSON shapes of the protocol (`docs/PROTOCOL.md`) and the
//!   compact form of row changes.
//! - [`client`]: the phone's side, [`SyncClient`].
//!
//! What a phone keeps for sync lives beside its data: the outbox mark, the
//! pull cursor and the time of the last good sync in `crdt_state`; the
//! changes the server refused in `sync_rejection`, so the app can show them.

pub mod client;
mod status;
pub mod wire;

pub use client::{RejectionRecord, SyncClient, SyncConfig, SyncReport};

use crate::store::Store;
use crate::Result;
use uuid::Uuid;

/// State key: the highest local sequence the server has acknowledged.
pub const STATE_PUSHED: &str = "sync.pushed";
/// State key: the server-minted pull cursor.
pub const STATE_CURSOR: &str = "sync.cursor";
/// State key: when the last sync finished (Unix ms, corrected clock).
pub const STATE_LAST_SUCCESS: &str = "sync.last_success_ms";

impl Store {
    /// An integer sync setting (0 if unset).
    pub(crate) fn state_int(&self, key: &str) -> Result<i64> {
        Ok(match self.state_get(key)? {
            Some(rusqlite::types::Value::Integer(i)) => i,
            _ => 0,
        })
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
