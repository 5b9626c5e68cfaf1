//! Bringing a phone's clock back after it ran ahead.
//!
//! A phone whose wall clock was wrong stamps its offline writes in the future.
//! Other replicas quarantine such changes rather than let them win every
//! conflict, but the phone itself would keep those stamps, and its own clock,
//! in the future. Once the clock is corrected (the sync client sets the offset
//! from the server's time), [`Store::restamp_ahead`] re-stamps the writes that
//! have not been sent yet with the corrected clock, as if they were made now,
//! and brings the clock back.

use super::Store;
use crate::crdt::rowclock::RowClocks;
use crate::crdt::Hlc;
use crate::model::columns;
use crate::model::tables::TABLES;
use crate::Result;

impl Store {
    /// Re-stamp unsent local cells (sequence above `pushed_mark`) whose clock
    /// is further ahead of the (corrected) time than the skew bound, and bring
    /// the clock back to the present. Returns the number of cells and set tags
    /// re-stamped.
    pub fn restamp_ahead(&self, pushed_mark: i64) -> Result<usize> {
        self.write_tx(|ctx| {
            let limit_ms = ctx.now_ms.saturating_add(ctx.config.skew_bound_ms);
            if ctx.hlc.wall_ms() <= limit_ms {
                return Ok(0);
            }
            *ctx.hlc = Hlc::new(ctx.now_ms, 0);
            // Let the commit persist a ceiling just above the corrected clock.
            *ctx.ceiling = Hlc::ZERO;
            let limit = Hlc::new(limit_ms, u16::MAX);
            let local = ctx.sites.idx(ctx.tx, ctx.local_site)?;
            let mut restamped = 0usize;
            for def in TABLES {
                let rows: Vec<(i64, Vec<u8>, i64)> = {
                    let mut stmt =
                        ctx.tx.prepare(&format!("SELECT rid, _clk, _seq FROM {} WHERE _seq > ?1", def.name))?;
                    let rows = stmt.query_map([pushed_mark], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for (rid, clk, seq) in rows {
                    let mut clocks = RowClocks::decode(&clk, def.columns.len(), seq)?;
                    let ahead = |c: &crate::crdt::rowclock::CellMeta| {
                        c.site == local && c.seq > pushed_mark && c.clock > limit
                    };
                    let tags_ahead: i64 = ctx.tx.query_row(
                        "SELECT count(*) FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND site=?3 AND seq > ?4 AND clock > ?5",
                        rusqlite::params![def.table as i64, rid, local, pushed_mark, limit.0 as i64],
                        |r| r.get(0),
                    )?;
                    if !clocks.cells.iter().flatten().any(ahead) && tags_ahead == 0 {
                        continue;
                    }
                    // A creation time read from the wrong clock is its
                    // creation's own value: it comes back with the stamp
                    // (the server refuses a creation time far from its clock).
                    let created_ahead = def
                        .column_index(columns::CREATED_AT)
                        .is_some_and(|i| clocks.cells[i].as_ref().is_some_and(ahead));
                    let stamp = ctx.stamp();
                    let s = ctx.next_seq();
                    if created_ahead {
                        ctx.tx.execute(
                            &format!(
                                "UPDATE {} SET created_at = ?1 WHERE rid = ?2 AND created_at > ?3",
                                def.name
                            ),
                            rusqlite::params![stamp.clock.wall_ms(), rid, limit_ms],
                        )?;
                    }
                    for cell in clocks.cells.iter_mut().flatten() {
                        if ahead(cell) {
                            cell.clock = stamp.clock;
                            cell.seq = s;
                            restamped += 1;
                        }
                    }
                    restamped += ctx.tx.execute(
                        "UPDATE crdt_tag SET clock = ?1, seq = ?2 WHERE tbl=?3 AND rid=?4 AND site=?5 AND seq > ?6 AND clock > ?7",
                        rusqlite::params![stamp.clock.0 as i64, s, def.table as i64, rid, local, pushed_mark, limit.0 as i64],
                    )?;
                    ctx.tx.execute(
                        &format!("UPDATE {} SET _clk = ?1, _seq = ?2 WHERE rid = ?3", def.name),
                        rusqlite::params![clocks.encode_at(s), s, rid],
                    )?;
                }
            }
            tracing::warn!(cells = restamped, "clock was ahead: unsent local changes re-stamped");
            Ok(restamped)
        })
    }
}
