//! The phone's outbox: its own changes not yet acknowledged by the server,
//! read in batches in the order they were numbered, each record after the
//! unsent rows it refers to. What is sent and acknowledged is kept by `sync`
//! (the outbox mark and floor); the numbering is the store's (`_seq`).

use super::changes::{page_rows, read_row, ChangePage, PageLimit, PageRows, Position, Scope};
use super::Store;
use crate::crdt::RowChange;
use crate::model::tables::{Table, TABLES};
use crate::Result;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;
use uuid::Uuid;

impl Store {
    /// The next batch of this phone's outbox after `pos`: like
    /// [`Store::changes_since`], and every record is preceded by the rows
    /// it refers to that have not been sent yet in this page-through (a
    /// check-in at a station posted offline and edited since goes after that
    /// station, which the server must know first).
    pub fn outbox_batch(&self, pos: Position, limit: PageLimit) -> Result<ChangePage> {
        self.read(|c| {
            let PageRows {
                rows,
                last,
                mut more,
            } = page_rows(c, pos, limit, &Scope::default())?;
            let mut out = Vec::with_capacity(rows.len());
            let mut sent = HashSet::new();
            let mut next = pos.after;
            for (i, (seq, change)) in rows.iter().enumerate() {
                let mut with_deps = Vec::new();
                with_unsent_targets(c, pos, change.clone(), &mut sent, &mut with_deps)?;
                // Rows a record pulls in count against the batch; the batch
                // ends before a change (at a new sequence number) that would
                // not fit with them.
                let starts_seq = i == 0 || rows[i - 1].0 != *seq;
                if !out.is_empty() && starts_seq && out.len() + with_deps.len() > limit.rows {
                    more = true;
                    break;
                }
                out.extend(with_deps);
                next = *seq;
            }
            if !more {
                next = last;
            }
            Ok(ChangePage {
                changes: out,
                next,
                more,
                remaining: 0,
            })
        })
    }

    /// Number of local changes (rows) waiting to be sent above `mark`.
    pub fn pending_count(&self, mark: i64) -> Result<u64> {
        self.read(|c| {
            let mut n = 0u64;
            for def in TABLES {
                let k: i64 = c.query_row(
                    &format!("SELECT count(*) FROM {} WHERE _seq > ?1", def.name),
                    [mark],
                    |r| r.get(0),
                )?;
                n += k as u64;
            }
            Ok(n)
        })
    }
}

/// Emit `change` after the rows it refers to that are numbered above
/// `pos.after` (not yet sent in this page-through), each once.
fn with_unsent_targets(
    c: &Connection,
    pos: Position,
    change: RowChange,
    sent: &mut HashSet<(Table, Uuid)>,
    out: &mut Vec<RowChange>,
) -> Result<()> {
    let Some(table) = Table::from_name(&change.table) else {
        return Ok(());
    };
    if !sent.insert((table, change.id)) {
        return Ok(());
    }
    for (target, id) in change.references() {
        if sent.contains(&(target, id)) {
            continue;
        }
        let unsent: Option<i64> = c
            .prepare_cached(&format!(
                "SELECT _seq FROM {} WHERE id = ?1 AND _seq > ?2",
                target.name()
            ))?
            .query_row(rusqlite::params![id.as_bytes(), pos.after], |r| r.get(0))
            .optional()?;
        if unsent.is_none() {
            continue;
        }
        if let Some(dep) = read_row(c, target, id, pos.floor)? {
            with_unsent_targets(c, pos, dep, sent, out)?;
        }
    }
    out.push(change);
    Ok(())
}
