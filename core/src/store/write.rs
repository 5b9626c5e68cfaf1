//! Local writes: stamp, check the policy, apply, all in one transaction.
//!
//! A local write goes through exactly the same apply code as a remote change,
//! after the same policy check the server will make.

use super::apply::{apply_row, validate, ApplyReport, Origin};
use super::{Store, TxFacts, WriteCtx};
use crate::crdt::{Cell, CellOp, Hlc, RowChange, Stamp, Value};
use crate::model::tables::Table;
use crate::policy::{self, Actor};
use crate::{Error, Result};
use rusqlite::OptionalExtension;
use uuid::Uuid;

/// One edit of a local write.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Set a column.
    Set(&'static str, Value),
    /// Add an element to a set column.
    Add(&'static str, String),
    /// Remove an element from a set column (every tag of it this replica has seen).
    Remove(&'static str, String),
}

impl Store {
    /// Write `edits` to row `id` of `table` as the signed-in user, in one
    /// transaction: row, clock metadata and outbox mark together.
    pub fn write(&self, table: Table, id: Uuid, edits: &[Edit]) -> Result<ApplyReport> {
        let actor = self.actor()?;
        self.write_tx(|ctx| write_in(ctx, &actor, table, id, edits))
    }

    /// Write an append-only record that must not be traced to a person or a
    /// device: its stamp carries the nil site instead of this phone's, and
    /// a clock rounded down to `granularity_ms` rather than this phone's
    /// hybrid clock. Records are inserted once by id, so the stamp is never
    /// needed to order writes.
    pub(crate) fn write_anonymous(
        &self,
        table: Table,
        id: Uuid,
        edits: &[Edit],
        granularity_ms: i64,
    ) -> Result<()> {
        let actor = self.actor()?;
        if table.is_listing() {
            return Err(Error::invalid(
                "table",
                "only records can be written anonymously",
            ));
        }
        self.write_tx(|ctx| {
            let g = granularity_ms.max(1);
            let coarse = ctx.now_ms - ctx.now_ms.rem_euclid(g);
            let stamp = Stamp {
                clock: Hlc::new(coarse, 0),
                site: crate::crdt::SiteId(Uuid::nil()),
            };
            write_stamped(ctx, &actor, table, id, edits, stamp).map(|_| ())
        })
    }
}

/// One local write inside an open transaction: stamp the edits, validate,
/// check the policy and apply. [`Store::write`] runs it in its own
/// transaction; a bulk post runs many in one.
pub(super) fn write_in(
    ctx: &mut WriteCtx<'_>,
    actor: &Actor,
    table: Table,
    id: Uuid,
    edits: &[Edit],
) -> Result<ApplyReport> {
    let stamp = ctx.stamp();
    write_stamped(ctx, actor, table, id, edits, stamp)
}

/// A local write with a given stamp.
fn write_stamped(
    ctx: &mut WriteCtx<'_>,
    actor: &Actor,
    table: Table,
    id: Uuid,
    edits: &[Edit],
    stamp: Stamp,
) -> Result<ApplyReport> {
    let def = table.def();
    let mut cells = Vec::with_capacity(edits.len());
    for edit in edits {
        match edit {
            Edit::Set(col, v) => cells.push(Cell {
                column: (*col).into(),
                op: CellOp::Set(v.clone()),
                stamp,
            }),
            Edit::Add(col, e) => {
                let present = present_tags(ctx.tx, table, id, col, e)?;
                if present.is_empty() {
                    cells.push(Cell {
                        column: (*col).into(),
                        op: CellOp::Add(e.clone()),
                        stamp,
                    });
                }
            }
            Edit::Remove(col, e) => {
                for (clock, site) in present_tags(ctx.tx, table, id, col, e)? {
                    let site = ctx.sites.uuid(site)?;
                    cells.push(Cell {
                        column: (*col).into(),
                        op: CellOp::Remove(e.clone()),
                        stamp: Stamp {
                            clock: Hlc(clock as u64),
                            site,
                        },
                    });
                }
            }
        }
    }
    if cells.is_empty() {
        return Ok(ApplyReport::default());
    }
    let change = RowChange {
        table: def.name.into(),
        id,
        cells,
    };
    // The one check of every value (the same as for remote changes); a
    // local caller gets the field named as it filled it in (`title`, not
    // `item.title`).
    validate(&change).map_err(|e| match e {
        Error::Invalid { field, reason } => Error::Invalid {
            field: field
                .strip_prefix(def.name)
                .and_then(|f| f.strip_prefix('.'))
                .map_or(field.clone(), str::to_owned),
            reason,
        },
        other => other,
    })?;
    policy::check_change(actor, &change, &TxFacts(ctx.tx))?.map_err(Error::NotAllowed)?;
    let mut report = ApplyReport::default();
    if apply_row(ctx, table, &change, Origin::Local)? {
        report.changed.push((table, id));
    }
    Ok(report)
}

/// The present tags `(clock, site index)` of one set element.
fn present_tags(
    tx: &rusqlite::Connection,
    table: Table,
    id: Uuid,
    col: &str,
    elem: &str,
) -> Result<Vec<(i64, u32)>> {
    let def = table.def();
    let col_idx = def
        .column_index(col)
        .ok_or_else(|| Error::invalid(col, "unknown column"))?;
    let rid: Option<i64> = tx
        .prepare_cached(&format!("SELECT rid FROM {} WHERE id = ?1", def.name))?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?;
    let Some(rid) = rid else {
        return Ok(Vec::new());
    };
    let mut stmt = tx.prepare_cached(
        "SELECT clock, site FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND col=?3 AND elem=?4 AND removed=0",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![table as i64, rid, col_idx as i64, elem],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
