//! Receiving remote changes, and holding back those whose clock runs too far
//! ahead: kept, never dropped, applied once this replica's time catches up.
//!
//! Without this, a phone whose clock is a year ahead would win every conflict
//! for a year.

use super::apply::{apply_row, validate, ApplyReport, Origin};
use super::{Store, WriteCtx};
use crate::crdt::{Hlc, RowChange};
use crate::model::tables::{Table, TableKind};
use crate::Result;
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

/// A change held in quarantine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quarantined {
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

impl Store {
    /// Apply changes received from elsewhere, in one transaction. The whole
    /// batch is validated first: one malformed change rejects the batch and
    /// nothing is applied. Duplicates and any delivery order are fine.
    pub fn apply_remote(&self, changes: &[RowChange]) -> Result<ApplyReport> {
        Ok(self.receive_batch(changes, None, &[])?.0)
    }

    /// Apply quarantined changes whose time has come.
    pub fn release_quarantine(&self) -> Result<ApplyReport> {
        self.write_tx(release_due)
    }

    /// The changes held in quarantine.
    pub fn quarantine(&self) -> Result<Vec<Quarantined>> {
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
                out.push(Quarantined {
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
}

pub(crate) fn receive(
    ctx: &mut WriteCtx<'_>,
    table: Table,
    change: &RowChange,
    report: &mut ApplyReport,
) -> Result<()> {
    let limit = ctx.now_ms.saturating_add(ctx.config.skew_bound_ms);
    let ahead = |c: &crate::crdt::Cell| c.stamp.clock.wall_ms() > limit;
    let held: Vec<_> = if table.def().kind == TableKind::Record {
        if change.cells.iter().any(ahead) {
            change.cells.clone()
        } else {
            Vec::new()
        }
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
        let wall = held.max_clock().wall_ms();
        tracing::warn!(table = %change.table, ahead_ms = wall - ctx.now_ms, "change quarantined: clock too far ahead");
        ctx.tx.execute(
            "INSERT INTO crdt_quarantine (received_at, wall_ms, change) VALUES (?1, ?2, ?3)",
            params![ctx.now_ms, wall, serde_json::to_string(&held)?],
        )?;
        report.quarantined += 1;
        applied = RowChange {
            table: change.table.clone(),
            id: change.id,
            cells: change.cells.iter().filter(|c| !ahead(c)).cloned().collect(),
        };
        if applied.cells.is_empty() || table.def().kind == TableKind::Record {
            return Ok(());
        }
        &applied
    };
    // Receiving moves our clock forward, so our next write orders after it.
    let max = to_apply.max_clock();
    if max > *ctx.hlc {
        *ctx.hlc = Hlc(max.0);
    }
    if apply_row(ctx, table, to_apply, Origin::Remote)? {
        report.changed.push((table, change.id));
    }
    Ok(())
}

pub(crate) fn release_due(ctx: &mut WriteCtx<'_>) -> Result<ApplyReport> {
    let limit = ctx.now_ms.saturating_add(ctx.config.skew_bound_ms);
    let due: Vec<(i64, String)> = {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT qid, change FROM crdt_quarantine WHERE wall_ms <= ?1 ORDER BY qid",
        )?;
        let rows = stmt.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut report = ApplyReport::default();
    for (qid, json) in due {
        ctx.tx
            .execute("DELETE FROM crdt_quarantine WHERE qid = ?1", [qid])?;
        let change: RowChange = serde_json::from_str(&json)?;
        let table = validate(&change)?;
        receive(ctx, table, &change, &mut report)?;
    }
    if !report.changed.is_empty() {
        tracing::info!(rows = report.changed.len(), "quarantined changes released");
    }
    Ok(report)
}
