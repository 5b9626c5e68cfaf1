//! Reading changes back out: a phone's outbox, and the server's pull pages.
//!
//! Both are "the current winning cells whose sequence number is above a
//! cursor". On a phone only local writes are numbered, so that is the outbox;
//! on the server every accepted change is, so that is the pull feed. A new
//! phone pages through current state once, not through history.

use super::Store;
use crate::crdt::rowclock::RowClocks;
use crate::crdt::{Cell, CellOp, Hlc, RowChange, Stamp, Value};
use crate::model::tables::{Rule, Table, TableKind, TABLES};
use crate::Result;
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

/// One page of changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangePage {
    /// Row changes, in sequence order.
    pub changes: Vec<RowChange>,
    /// The cursor to ask from next time.
    pub next: i64,
    /// Whether more changes wait after this page.
    pub more: bool,
}

/// Which rows a reader may see: its own community's listings and records,
/// and the stations of the whole city (riders cross communities).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Restrict community-scoped tables to this community; `None` for all.
    pub community: Option<String>,
    /// Send hidden listings without their content (title, description,
    /// pickup area, photos, …), except the listings this user owns: set for
    /// residents; grid staff and admins moderate and see them whole.
    pub hide_hidden_content: Option<Uuid>,
}

impl Scope {
    /// What `actor` may read: admins everything; others their community and
    /// the city's stations; residents hidden listings without content.
    pub fn for_reader(actor: &crate::policy::Actor) -> Scope {
        use crate::policy::Role;
        Scope {
            community: (actor.role != Role::Admin).then(|| actor.community.clone()),
            hide_hidden_content: (actor.role == Role::Resident).then_some(actor.user),
        }
    }

    /// Whether a row with these values comes without content, and from
    /// which cursor its cells are sent: a listing that was shown again (its
    /// `hidden` cell moved above the cursor) is sent whole, as a reader may
    /// have received it without content while hidden.
    fn content_of(
        &self,
        table: Table,
        vals: &[Value],
        clocks: &RowClocks,
        cursor: i64,
    ) -> (bool, i64) {
        let def = table.def();
        let Some(h) = def.column_index("hidden") else {
            return (false, cursor);
        };
        let Some(reader) = self.hide_hidden_content else {
            return (false, cursor);
        };
        let hidden = vals[h].as_i64() == Some(1);
        let own = def.column_index("owner").and_then(|o| vals[o].as_str())
            == Some(reader.to_string().as_str());
        if hidden {
            (!own, cursor)
        } else if clocks.cells[h].is_some_and(|m| m.seq > cursor) {
            (false, -1)
        } else {
            (false, cursor)
        }
    }
}

fn city_wide(t: Table) -> bool {
    matches!(
        t,
        Table::Station | Table::StationReport | Table::StationCheckin
    )
}

impl Store {
    /// Changes numbered above `cursor`, at most `limit` rows.
    pub fn changes_since(&self, cursor: i64, limit: usize, scope: &Scope) -> Result<ChangePage> {
        self.read(|c| changes_since(c, cursor, limit, scope))
    }

    /// The full current state of one row, every cell with its winning stamp.
    pub fn row_state(&self, table: Table, id: Uuid) -> Result<Option<RowChange>> {
        self.read(|c| row_state(c, table, id))
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

    /// The newest sequence number handed out.
    pub fn current_seq(&self) -> Result<i64> {
        Ok(self.writer()?.seq)
    }
}

fn changes_since(c: &Connection, cursor: i64, limit: usize, scope: &Scope) -> Result<ChangePage> {
    let limit = limit.max(1);
    let filter = |table: Table| match (&scope.community, city_wide(table)) {
        (Some(_), false) => " AND community = ?3",
        _ => "",
    };
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>, a: i64, b: i64, table: Table| {
        match (&scope.community, filter(table).is_empty()) {
            (Some(comm), false) => stmt.raw_bind_parameter(3, comm),
            _ => Ok(()),
        }
        .and_then(|_| stmt.raw_bind_parameter(1, a))
        .and_then(|_| stmt.raw_bind_parameter(2, b))
    };
    // First only the sequence numbers (from the `_seq` index), to find where
    // this page ends across all tables; then only the rows of the page are
    // read and decoded.
    let mut seqs = Vec::new();
    for def in TABLES {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT _seq FROM {} WHERE _seq > ?1{} ORDER BY _seq LIMIT ?2",
            def.name,
            filter(def.table)
        ))?;
        bind(&mut stmt, cursor, limit as i64 + 1, def.table)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            seqs.push(r.get::<_, i64>(0)?);
        }
    }
    seqs.sort_unstable();
    let more = seqs.len() > limit;
    let upto = if more { seqs[limit - 1] } else { i64::MAX };

    // (seq, table, rid, id, values, clocks)
    let mut rows: Vec<(i64, Table, i64, Uuid, Vec<Value>, RowClocks)> = Vec::new();
    for def in TABLES {
        let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
        let mut stmt = c.prepare_cached(&format!(
            "SELECT _seq, rid, id, _clk, {} FROM {} WHERE _seq > ?1 AND _seq <= ?2{} ORDER BY _seq",
            cols.join(", "),
            def.name,
            filter(def.table)
        ))?;
        bind(&mut stmt, cursor, upto, def.table)?;
        let mut got = stmt.raw_query();
        while let Some(r) = got.next()? {
            let seq: i64 = r.get(0)?;
            let id: Vec<u8> = r.get(2)?;
            let clk: Vec<u8> = r.get(3)?;
            let mut vals = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                vals.push(r.get(4 + i)?);
            }
            let id =
                Uuid::from_slice(&id).map_err(|_| crate::Error::Corrupt("bad row id".into()))?;
            let clocks = RowClocks::decode(&clk, def.columns.len(), seq)?;
            rows.push((seq, def.table, r.get(1)?, id, vals, clocks));
        }
    }
    rows.sort_by_key(|r| r.0);
    let next = rows.last().map_or(cursor, |r| r.0);
    let mut changes = Vec::with_capacity(rows.len());
    let mut sites = SiteNames::default();
    for (_, table, rid, id, vals, clocks) in rows {
        let (hide, from) = scope.content_of(table, &vals, &clocks, cursor);
        if let Some(ch) = row_change(c, &mut sites, table, rid, id, &vals, &clocks, from, hide)? {
            changes.push(ch);
        }
    }
    Ok(ChangePage {
        changes,
        next,
        more,
    })
}

/// The cells of one row changed above `cursor` (all of them for `cursor` < 0),
/// without the content columns when `hide_content`. The whole state
/// (`cursor` < 0: a refusal's winning row) leaves out a set's removed tags:
/// the phone replaces its copy with it, and a hostile churn of adds and
/// removes would otherwise make every refusal about the row huge.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_change(
    c: &Connection,
    sites: &mut SiteNames,
    table: Table,
    rid: i64,
    id: Uuid,
    vals: &[Value],
    clocks: &RowClocks,
    cursor: i64,
    hide_content: bool,
) -> Result<Option<RowChange>> {
    let mut stamp = |clock: Hlc, site: u32| -> Result<Stamp> {
        Ok(Stamp {
            clock,
            site: sites.uuid(c, site)?,
        })
    };
    let def = table.def();
    let deleted = def.tombstone().is_some_and(|t| vals[t].as_i64() == Some(1));
    let mut cells = Vec::new();
    for (i, col) in def.columns.iter().enumerate() {
        let Some(m) = clocks.cells[i] else { continue };
        if m.seq <= cursor && def.kind == TableKind::Listing {
            continue;
        }
        if (deleted || hide_content) && col.content {
            continue;
        }
        if col.rule == Rule::Set {
            let mut stmt = c.prepare_cached(if cursor < 0 {
                "SELECT elem, clock, site, removed FROM crdt_tag INDEXED BY crdt_tag_present WHERE tbl=?1 AND rid=?2 AND col=?3 AND seq > ?4 AND removed = 0 ORDER BY elem, clock"
            } else {
                "SELECT elem, clock, site, removed FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND col=?3 AND seq > ?4 ORDER BY elem, clock"
            })?;
            let tags = stmt.query_map(
                rusqlite::params![table as i64, rid, i as i64, cursor],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )?;
            for tag in tags {
                let (elem, clock, site, removed) = tag?;
                let op = if removed != 0 {
                    CellOp::Remove(elem)
                } else {
                    CellOp::Add(elem)
                };
                cells.push(Cell {
                    column: col.name.to_owned(),
                    op,
                    stamp: stamp(Hlc(clock as u64), site)?,
                });
            }
        } else {
            cells.push(Cell {
                column: col.name.to_owned(),
                op: CellOp::Set(vals[i].clone()),
                stamp: stamp(m.clock, m.site)?,
            });
        }
    }
    Ok((!cells.is_empty()).then(|| RowChange {
        table: def.name.to_owned(),
        id,
        cells,
    }))
}

/// The full current state of one row as a change (every cell with its
/// winning stamp), or `None` if the row does not exist.
pub(crate) fn row_state(c: &Connection, table: Table, id: Uuid) -> Result<Option<RowChange>> {
    let def = table.def();
    let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
    let sql = format!(
        "SELECT rid, _clk, _seq, {} FROM {} WHERE id = ?1",
        cols.join(", "),
        def.name
    );
    let row = c
        .prepare_cached(&sql)?
        .query_row([id.as_bytes()], |r| {
            let mut vals = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                vals.push(r.get::<_, Value>(3 + i)?);
            }
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                vals,
            ))
        })
        .optional()?;
    let Some((rid, clk, seq, vals)) = row else {
        return Ok(None);
    };
    let clocks = RowClocks::decode(&clk, def.columns.len(), seq)?;
    row_change(
        c,
        &mut SiteNames::default(),
        table,
        rid,
        id,
        &vals,
        &clocks,
        -1,
        false,
    )
}

/// Site UUIDs looked up once per page through the reading connection.
#[derive(Default)]
pub(crate) struct SiteNames(std::collections::HashMap<u32, crate::crdt::SiteId>);

impl SiteNames {
    fn uuid(&mut self, c: &Connection, idx: u32) -> Result<crate::crdt::SiteId> {
        if let Some(s) = self.0.get(&idx) {
            return Ok(*s);
        }
        let s = super::site_uuid(c, idx)?;
        self.0.insert(idx, s);
        Ok(s)
    }
}
