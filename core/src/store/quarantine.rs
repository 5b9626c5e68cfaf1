//! Receiving remote changes, and holding back those whose clock runs too far
//! ahead: kept, applied once this replica's time catches up.
//!
//! Without this, a phone whose clock is a year ahead would win every conflict
//! for a year.
//!
//! On the server a held change keeps who pushed it, and is judged again when
//! it is released: against the policy with the facts of that moment, as the
//! pusher's credential stands then (a revoked credential's held changes are
//! dropped, and the drop recorded). Each user may have only so many changes
//! and bytes held, and a held change expires. Phones, which receive only
//! what the server accepted, keep theirs until time catches up.
//!
//! The server also holds station reports and check-ins apart and publishes
//! them in shuffled batches per time window (see [`publish_due`]).

use super::apply::{apply_row, validate, validate_received, ApplyReport, Origin};
use super::{Store, TxFacts, WriteCtx};
use crate::crdt::{Hlc, RowChange};
use crate::model::tables::{Table, TableKind};
use crate::policy::{self, Actor, Denial};
use crate::Result;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// A change held in quarantine.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QuarantinedChange {
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: Uuid,
    /// The change's clock, as wall time (Unix ms).
    pub clock_wall_ms: i64,
    /// When it arrived (Unix ms, this replica's time).
    pub received_at: i64,
    /// Why it is held.
    pub reason: String,
}

/// A held change that was dropped rather than applied, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuarantineDrop {
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: Uuid,
    /// Why ([`Denial::code`]: `revoked`, `expired`, or the policy's refusal).
    pub code: String,
    /// When (Unix ms).
    pub dropped_at: i64,
}

/// Who pushed a change (on the server): the user as their credential said
/// at push time, and an opaque key of that credential (the server uses the
/// token's hash), kept with a held change so it can be judged again when
/// it is released.
#[derive(Clone, Debug, PartialEq)]
pub struct Pusher {
    /// The pushing user.
    pub actor: Actor,
    /// The credential's key.
    pub key: Vec<u8>,
}

/// What the server knows now of a credential: asked when a held change is
/// released, inside the store's write transaction (so it must not write to
/// the store).
pub trait Credentials {
    /// The user the credential `key` stands for now, or `None` if it was
    /// revoked or is unknown.
    fn current(&self, key: &[u8]) -> Result<Option<Actor>>;
}

impl Store {
    /// Apply changes received from elsewhere, in one transaction. The whole
    /// batch is validated first: one malformed change rejects the batch and
    /// nothing is applied. Duplicates and any delivery order are fine.
    pub fn apply_remote(&self, changes: &[RowChange]) -> Result<ApplyReport> {
        Ok(self
            .receive_batch(changes, None, &[], super::SCHEMA_VERSION)?
            .0)
    }

    /// Apply quarantined changes whose time has come. Held changes of a
    /// push are judged again with the pusher's user as it was at push time;
    /// the server uses [`Store::housekeeping`] to ask for the credential's
    /// current state.
    pub fn release_quarantine(&self) -> Result<ApplyReport> {
        self.write_tx(|ctx| release_due(ctx, None))
    }

    /// The server's periodic work, in one transaction: release held changes
    /// whose time has come (each judged again with `credentials`), drop
    /// expired ones, and publish the station records of ended windows.
    pub fn housekeeping(&self, credentials: &dyn Credentials) -> Result<ApplyReport> {
        self.write_tx(|ctx| {
            let mut report = release_due(ctx, Some(credentials))?;
            report.absorb(publish_due(ctx)?);
            Ok(report)
        })
    }

    /// The changes held in quarantine.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedChange>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT change, wall_ms, received_at FROM crdt_quarantine ORDER BY qid")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (json, wall, received_at) = row?;
                let change: RowChange = serde_json::from_str(&json)?;
                out.push(QuarantinedChange {
                    table: change.table,
                    id: change.id,
                    clock_wall_ms: wall,
                    received_at,
                    reason: "clock too far ahead of this device's time".into(),
                });
            }
            Ok(out)
        })
    }

    /// Held changes dropped rather than applied (revoked, expired, or
    /// refused when judged again), oldest first.
    pub fn quarantine_drops(&self) -> Result<Vec<QuarantineDrop>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT tbl, id, code, dropped_at FROM crdt_quarantine_drop ORDER BY rowid",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (table, id, code, dropped_at) = row?;
                out.push(QuarantineDrop {
                    table,
                    id: Uuid::from_slice(&id)
                        .map_err(|_| crate::Error::Corrupt("bad row id".into()))?,
                    code,
                    dropped_at,
                });
            }
            Ok(out)
        })
    }

    /// Station records held for their window's batch (the server).
    pub fn held_records(&self) -> Result<usize> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM crdt_held_record", [], |r| {
                    r.get::<_, i64>(0)
                })? as usize,
            )
        })
    }
}

/// Receive one validated (and, for a push, checked) change: hold what runs
/// too far ahead, apply the rest. For a push the held part counts against
/// the pusher's quarantine, which, when full, refuses the whole change.
pub(crate) fn receive(
    ctx: &mut WriteCtx<'_>,
    table: Table,
    change: &RowChange,
    report: &mut ApplyReport,
    pusher: Option<&Pusher>,
) -> Result<std::result::Result<(), Denial>> {
    let limit = ctx.now_ms.saturating_add(ctx.config.skew_bound_ms);
    let ahead = |c: &crate::crdt::Cell| c.stamp.clock.wall_ms() > limit;
    let any_ahead = change.cells.iter().any(ahead);
    // A record, and a listing the change creates, are held whole: a row
    // must never exist with part of what its creation was checked with.
    let whole = any_ahead
        && (table.def().kind == TableKind::Record || !row_exists(ctx.tx, table, change.id)?);
    let held: Vec<_> = if whole {
        change.cells.clone()
    } else {
        change.cells.iter().filter(|c| ahead(c)).cloned().collect()
    };
    let applied: RowChange;
    let to_apply = if held.is_empty() {
        change
    } else {
        let held = RowChange {
            table: change.table.clone(),
            id: change.id,
            cells: held,
        };
        let json = serde_json::to_string(&held)?;
        if let Some(p) = pusher {
            let (rows, bytes): (i64, i64) = ctx.tx.prepare_cached(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM crdt_quarantine WHERE pusher_user = ?1",
            )?
            .query_row([p.actor.user.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if rows as usize >= ctx.config.quarantine_max_rows
                || bytes as usize + json.len() > ctx.config.quarantine_max_bytes
            {
                return Ok(Err(Denial::QuarantineFull));
            }
        }
        let wall = held.max_clock().wall_ms();
        tracing::warn!(table = %change.table, ahead_ms = wall - ctx.now_ms, "change quarantined: clock too far ahead");
        let (actor, key, user) = match pusher {
            Some(p) => (
                Some(serde_json::to_string(&p.actor)?),
                Some(p.key.clone()),
                Some(p.actor.user.as_bytes().to_vec()),
            ),
            None => (None, None, None),
        };
        ctx.tx.prepare_cached(
            "INSERT INTO crdt_quarantine (received_at, wall_ms, change, pusher, pusher_key, pusher_user, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![ctx.now_ms, wall, json, actor, key, user, json.len() as i64])?;
        report.quarantined += 1;
        if whole {
            return Ok(Ok(()));
        }
        applied = RowChange {
            table: change.table.clone(),
            id: change.id,
            cells: change.cells.iter().filter(|c| !ahead(c)).cloned().collect(),
        };
        &applied
    };
    // Receiving moves our clock forward, so our next write orders after it.
    let max = to_apply.max_clock();
    if max > *ctx.hlc {
        *ctx.hlc = Hlc(max.0);
    }
    if ctx.config.record_window_ms > 0
        && matches!(table, Table::StationReport | Table::StationCheckin)
    {
        hold_record(ctx, to_apply)?;
        return Ok(Ok(()));
    }
    if apply_row(ctx, table, to_apply, Origin::Remote)? {
        report.changed.push((table, change.id));
    }
    Ok(Ok(()))
}

fn row_exists(tx: &rusqlite::Connection, table: Table, id: Uuid) -> Result<bool> {
    Ok(tx
        .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", table.name()))?
        .query_row([id.as_bytes()], |_| Ok(()))
        .optional()?
        .is_some())
}

fn record_drop(ctx: &WriteCtx<'_>, change: &RowChange, code: &str) -> Result<()> {
    tracing::info!(table = %change.table, code, "held change dropped");
    ctx.tx
        .prepare_cached(
            "INSERT INTO crdt_quarantine_drop (dropped_at, tbl, id, code) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            ctx.now_ms,
            change.table,
            change.id.as_bytes(),
            code
        ])?;
    Ok(())
}

/// Release the held changes whose time has come; on the server judge each
/// again, with the pusher's user as `credentials` say now (or, without
/// them, as at push time), and drop expired ones.
pub(crate) fn release_due(
    ctx: &mut WriteCtx<'_>,
    credentials: Option<&dyn Credentials>,
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    // Only a push's held changes expire; a phone keeps what the server sent.
    let expired: Vec<(i64, String)> = {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT qid, change FROM crdt_quarantine WHERE pusher IS NOT NULL AND received_at < ?1",
        )?;
        let rows = stmt.query_map(
            [ctx.now_ms.saturating_sub(ctx.config.quarantine_expiry_ms)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (qid, json) in expired {
        ctx.tx
            .execute("DELETE FROM crdt_quarantine WHERE qid = ?1", [qid])?;
        let change: RowChange = serde_json::from_str(&json)?;
        record_drop(ctx, &change, Denial::Expired.code())?;
        report.dropped += 1;
    }
    let limit = ctx.now_ms.saturating_add(ctx.config.skew_bound_ms);
    type Due = (i64, String, Option<String>, Option<Vec<u8>>);
    let due: Vec<Due> = {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT qid, change, pusher, pusher_key FROM crdt_quarantine WHERE wall_ms <= ?1 ORDER BY qid",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (qid, json, pusher, key) in due {
        ctx.tx
            .execute("DELETE FROM crdt_quarantine WHERE qid = ?1", [qid])?;
        let change: RowChange = serde_json::from_str(&json)?;
        // Judged by this version's rules: a change it cannot read is
        // dropped on the server, kept aside on a phone; it never blocks.
        let valid = match pusher {
            Some(_) => validate(&change),
            None => validate_received(&change),
        };
        let table = match valid {
            Ok(table) => table,
            Err(crate::Error::Invalid { field, reason }) => {
                let denial = Denial::Invalid { field, reason };
                if pusher.is_some() {
                    record_drop(ctx, &change, denial.code())?;
                    report.dropped += 1;
                } else {
                    hold_unreadable(ctx, &change, &denial)?;
                    report.unreadable += 1;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let pusher = match pusher {
            None => None,
            Some(actor) => {
                let then: Actor = serde_json::from_str(&actor)?;
                let key = key.unwrap_or_default();
                let now = match credentials {
                    Some(c) => c.current(&key)?,
                    None => Some(then),
                };
                let Some(actor) = now else {
                    record_drop(ctx, &change, Denial::Revoked.code())?;
                    report.dropped += 1;
                    continue;
                };
                if let Err(denial) = policy::check_change(&actor, &change, &TxFacts(ctx.tx))? {
                    record_drop(ctx, &change, denial.code())?;
                    report.dropped += 1;
                    continue;
                }
                Some(Pusher { actor, key })
            }
        };
        if let Err(denial) = receive(ctx, table, &change, &mut report, pusher.as_ref())? {
            record_drop(ctx, &change, denial.code())?;
            report.dropped += 1;
        }
    }
    if !report.changed.is_empty() || report.dropped > 0 {
        tracing::info!(
            rows = report.changed.len(),
            dropped = report.dropped,
            "quarantined changes released"
        );
    }
    Ok(report)
}

/// Hold a station report or check-in for its window's batch. Only its id,
/// the window (not the moment) and the record are kept; a record sent again
/// is held once.
fn hold_record(ctx: &mut WriteCtx<'_>, change: &RowChange) -> Result<()> {
    let window = ctx.now_ms.div_euclid(ctx.config.record_window_ms.max(1));
    ctx.tx
        .prepare_cached(
            "INSERT OR IGNORE INTO crdt_held_record (id, slot, change) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![
            change.id.as_bytes(),
            window,
            serde_json::to_string(change)?
        ])?;
    Ok(())
}

/// Publish the station records held from windows that have ended: all of
/// them at once, in random order, numbered one after another, so that the
/// feed shows neither which push brought a record nor when within its
/// window it came. A batch waits for [`crate::StoreConfig::record_min_batch`]
/// records unless its oldest has waited
/// [`crate::StoreConfig::record_max_hold_ms`].
pub(crate) fn publish_due(ctx: &mut WriteCtx<'_>) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let w = ctx.config.record_window_ms;
    if w <= 0 {
        return Ok(report);
    }
    let current = ctx.now_ms.div_euclid(w);
    let (n, oldest): (i64, Option<i64>) = ctx
        .tx
        .prepare_cached("SELECT count(*), min(slot) FROM crdt_held_record WHERE slot < ?1")?
        .query_row([current], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let Some(oldest) = oldest else {
        return Ok(report);
    };
    let waited = ctx.now_ms - oldest.saturating_mul(w);
    if (n as usize) < ctx.config.record_min_batch && waited < ctx.config.record_max_hold_ms {
        return Ok(report);
    }
    let held: Vec<String> = {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT change FROM crdt_held_record WHERE slot < ?1 ORDER BY random()",
        )?;
        let rows = stmt.query_map([current], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    ctx.tx
        .prepare_cached("DELETE FROM crdt_held_record WHERE slot < ?1")?
        .execute([current])?;
    for json in held {
        let change: RowChange = serde_json::from_str(&json)?;
        let table = validate(&change)?;
        if apply_row(ctx, table, &change, Origin::Remote)? {
            report.changed.push((table, change.id));
        }
    }
    if !report.changed.is_empty() {
        tracing::info!(rows = report.changed.len(), "station records published");
    }
    Ok(report)
}

/// Keep a received row this version cannot read (see `sync_unreadable`),
/// rather than fail the page it came in.
pub(crate) fn hold_unreadable(ctx: &WriteCtx<'_>, change: &RowChange, why: &Denial) -> Result<()> {
    tracing::warn!(table = %change.table, code = why.code(), "received row this version cannot read: kept aside");
    ctx.tx
        .prepare_cached(
            "INSERT INTO sync_unreadable (received_at, held_by, change) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![
            ctx.now_ms,
            env!("CARGO_PKG_VERSION"),
            serde_json::to_string(change)?
        ])?;
    Ok(())
}

/// Apply the rows kept aside by an older version of the app that this one
/// can read; the others wait, marked as tried by this version.
pub(crate) fn retry_unreadable(ctx: &mut WriteCtx<'_>) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let version = env!("CARGO_PKG_VERSION");
    let waiting: Vec<(i64, String)> = {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT uid, change FROM sync_unreadable WHERE held_by <> ?1 ORDER BY uid",
        )?;
        let rows = stmt.query_map([version], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (uid, json) in waiting {
        let change: RowChange = serde_json::from_str(&json)?;
        match validate_received(&change) {
            Ok(table) => {
                ctx.tx
                    .execute("DELETE FROM sync_unreadable WHERE uid = ?1", [uid])?;
                // A received row is not judged again (the server judged it).
                let _ = receive(ctx, table, &change, &mut report, None)?;
            }
            Err(crate::Error::Invalid { .. }) => {
                ctx.tx.execute(
                    "UPDATE sync_unreadable SET held_by = ?1 WHERE uid = ?2",
                    params![version, uid],
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

impl Store {
    /// How many received rows wait because this version cannot read them
    /// (a value a newer version allows); applied after an upgrade.
    pub fn unreadable_count(&self) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row("SELECT count(*) FROM sync_unreadable", [], |r| r.get(0))?;
            Ok(n as u64)
        })
    }
}
