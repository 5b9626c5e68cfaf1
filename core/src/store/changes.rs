//! Reading changes back out: a phone's outbox, and the server's pull pages.
//!
//! Both are "the current winning cells of the rows whose sequence number is
//! above a position". On a phone only local writes are numbered, so that is
//! the outbox; on the server every accepted change is, so that is the pull
//! feed. A new phone pages through current state once, not through history.
//!
//! # Why a page-through carries a floor as well as a position
//!
//! A row is listed in the page of its *latest* change, and moves to a later
//! page whenever it changes again. So the cells a page sends for a row cannot
//! be "those changed above this page's position": a row created at 5 and
//! edited at 900 is not in the page `(0, 500]` and, in the page `(500, 1000]`,
//! would lose its creation cells for good. Each page-through therefore keeps
//! two numbers ([`Position`]): `after`, where the next page starts, and
//! `floor`, the position at which the whole page-through began, below which
//! the receiver already holds every cell. A page sends, for each row numbered
//! in `(after, upto]`, every cell numbered above `floor`. When a page-through
//! catches up (`more` is false) the receiver's floor moves to the end.
//!
//! Why no cell can be missed: let a page-through run from floor `F` to end
//! `N` in pages read from snapshots `S_1..S_m`, each read in one read
//! transaction, and let sequence numbers commit in order (one writer), so
//! each snapshot holds every number up to the largest it shows. Take any
//! cell numbered `s` in `(F, N]` of a row `R` whose latest number is `T`.
//! `T ≤ N` (the last page listed every row above its start), and `T` falls
//! in some page `k`'s range `(p_{k-1}, p_k]`. The change numbered `T` was
//! committed before `S_k` (it is below a number `S_k` shows) and `R` did not
//! change again before the end, so `S_k` held `R` exactly as at the end: page
//! `k` listed `R` with every cell above `F`, including ours. Cells at or below
//! `F` the receiver held before the page-through began (by the same argument
//! for the previous one), and a cell keeps its number until it changes.
//!
//! A one-field edit in an ordinary sync (floor = position = the last sync's
//! end) sends just that cell.

use super::Store;
use crate::crdt::rowclock::RowClocks;
use crate::crdt::{Cell, CellOp, Hlc, RowChange, Stamp, Value};
use crate::model::columns;
use crate::model::tables::{Column, Rule, Table, SCHEMA_VERSION, TABLES};
use crate::Result;
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

/// Where a page of changes starts: see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The position at which this page-through began: every cell numbered
    /// above it is sent with its row.
    pub floor: i64,
    /// Rows numbered above this are listed (the previous page's `next`).
    pub after: i64,
}

impl Position {
    /// A page-through that starts at `n` (the end of the last complete one).
    pub fn at(n: i64) -> Position {
        Position { floor: n, after: n }
    }

    /// Where the page-through goes on after `page`: the same floor, or a new
    /// one at the end when the page caught up.
    pub fn after_page(self, page: &ChangePage) -> Position {
        if page.more {
            Position {
                floor: self.floor,
                after: page.next,
            }
        } else {
            Position::at(page.next)
        }
    }
}

/// One page of changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangePage {
    /// Row changes, in sequence order (on the outbox, each row is preceded
    /// by the unsent rows it refers to).
    pub changes: Vec<RowChange>,
    /// Where the next page starts (`Position::after`).
    pub next: i64,
    /// Whether more changes wait after this page.
    pub more: bool,
    /// How many rows (in the same scope) are numbered after this page, read
    /// from the same snapshot: what a progress bar counts down. 0 for an
    /// outbox batch.
    pub remaining: u64,
}

/// How large a page may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimit {
    /// Most rows (at least one is always sent).
    pub rows: usize,
    /// Most bytes, estimated as sent on the wire (uncompressed JSON); a page
    /// always carries at least one row, however large.
    pub bytes: usize,
}

impl PageLimit {
    /// At most `rows` rows and a mebibyte.
    pub fn rows(rows: usize) -> PageLimit {
        PageLimit {
            rows,
            bytes: 1 << 20,
        }
    }
}

/// Which rows a reader may see: its own community's listings and records,
/// and the stations of the whole city (riders cross communities); and which
/// columns: those of the reader's schema.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Restrict community-scoped tables to this community; `None` for all.
    pub community: Option<String>,
    /// Send hidden listings without their content (title, description,
    /// pickup area, photos, …), except the listings this user owns: set for
    /// residents; grid staff and admins moderate and see them whole.
    pub hide_hidden_content: Option<Uuid>,
    /// The reader's schema version: the cells of columns (and the rows of
    /// tables) a later schema added are left out, and a row left with no
    /// cell is not sent.
    pub schema: i64,
    /// For a phone that upgraded from this schema and catches up: only the
    /// cells of the columns added after it. `None` for every column.
    pub columns_after: Option<i64>,
}

impl Default for Scope {
    /// Everything, in every column of this build's schema.
    fn default() -> Scope {
        Scope {
            community: None,
            hide_hidden_content: None,
            schema: SCHEMA_VERSION,
            columns_after: None,
        }
    }
}

/// Which columns of a row are sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    /// Columns added by this schema or an older one...
    upto: i64,
    /// ...and after this one.
    after: i64,
}

impl Known {
    /// Every column.
    pub(crate) const ALL: Known = Known {
        upto: SCHEMA_VERSION,
        after: 0,
    };

    fn keeps(self, col: &Column) -> bool {
        col.since <= self.upto && col.since > self.after
    }
}

impl Scope {
    /// The columns this scope sends.
    fn known(&self) -> Known {
        Known {
            upto: self.schema,
            after: self.columns_after.unwrap_or(0),
        }
    }

    /// What `actor` may read: admins everything; others their community and
    /// the city's stations; residents hidden listings without content.
    pub fn for_reader(actor: &crate::policy::Actor) -> Scope {
        use crate::policy::Role;
        Scope {
            community: (actor.role != Role::Admin).then(|| actor.community.clone()),
            hide_hidden_content: (actor.role == Role::Resident).then_some(actor.user),
            ..Scope::default()
        }
    }

    /// Whether a row with these values comes without content, and above
    /// which floor its cells are sent (see [`Scope::content_floor`]).
    fn content_of(
        &self,
        table: Table,
        vals: &[Value],
        clocks: &RowClocks,
        floor: i64,
    ) -> (bool, i64) {
        let def = table.def();
        let Some(h) = def.column_index(columns::HIDDEN) else {
            return (false, floor);
        };
        let owner = def
            .column_index(columns::OWNER)
            .and_then(|o| vals[o].as_str());
        self.content_floor(
            vals[h].as_i64() == Some(1),
            owner,
            clocks.cells[h].map(|m| m.seq),
            floor,
        )
    }

    /// Whether a listing comes without its content, and above which floor
    /// its cells are sent: `hidden` and `owner` are its values, `hidden_seq`
    /// the number of its `hidden` cell. A hidden listing comes without
    /// content to a resident who does not own it; one that was shown again
    /// (its `hidden` cell moved above the floor) is sent whole, as the
    /// reader may have received it without content while hidden.
    pub fn content_floor(
        &self,
        hidden: bool,
        owner: Option<&str>,
        hidden_seq: Option<i64>,
        floor: i64,
    ) -> (bool, i64) {
        let Some(reader) = self.hide_hidden_content else {
            return (false, floor);
        };
        let own = owner == Some(reader.to_string().as_str());
        if hidden {
            (!own, floor)
        } else if hidden_seq.is_some_and(|s| s > floor) {
            // Every numbered cell, removed set tags included: the reader
            // may hold tags from before the hide that were removed since.
            (false, 0)
        } else {
            (false, floor)
        }
    }

    /// Whether this scope sends the cells of `col`.
    pub fn keeps(&self, col: &Column) -> bool {
        self.known().keeps(col)
    }
}

/// Whether rows of `t` are read across communities (the city's stations,
/// their reports and check-ins, the holiday calendar).
pub fn city_wide(t: Table) -> bool {
    matches!(
        t,
        Table::Station | Table::StationReport | Table::StationCheckin | Table::HolidayCalendar
    )
}

impl Store {
    /// One page of changes after `pos`, within `limit` and `scope`, read from
    /// one snapshot.
    pub fn changes_since(
        &self,
        pos: Position,
        limit: PageLimit,
        scope: &Scope,
    ) -> Result<ChangePage> {
        self.read(|c| changes_since(c, pos, limit, scope))
    }

    /// The full current state of one row, every cell with its winning stamp.
    pub fn row_state(&self, table: Table, id: Uuid) -> Result<Option<RowChange>> {
        self.read(|c| row_state(c, table, id))
    }

    /// The newest sequence number handed out.
    pub fn current_seq(&self) -> Result<i64> {
        Ok(self.writer()?.seq)
    }
}

/// A rough size of a change as JSON on the wire, for page byte bounds.
pub fn wire_size(change: &RowChange) -> usize {
    let cells: usize = change
        .cells
        .iter()
        .map(|cell| {
            let value = match &cell.op {
                CellOp::Set(Value::Text(s)) | CellOp::Add(s) | CellOp::Remove(s) => s.len() + 2,
                CellOp::Set(_) => 24,
            };
            cell.column.len() + value + 36
        })
        .sum();
    change.table.len() + 48 + cells
}

/// Most empty pages one [`Store::changes_since`] reads past before it
/// answers with an empty one.
const MAX_EMPTY_PAGES: usize = 50;

fn changes_since(
    c: &Connection,
    pos: Position,
    limit: PageLimit,
    scope: &Scope,
) -> Result<ChangePage> {
    // A page none of whose rows has anything for this reader (rows that
    // changed only in columns of a newer schema, or a catch-up past rows
    // without the new columns) is followed by the next, in the same
    // snapshot, so that such a reader is not made to ask for empty pages.
    let mut page = page_rows(c, pos, limit, scope)?;
    let mut empty = 0;
    while page.rows.is_empty() && page.more && empty < MAX_EMPTY_PAGES {
        let next = Position {
            floor: pos.floor,
            after: page.last,
        };
        page = page_rows(c, next, limit, scope)?;
        empty += 1;
    }
    let remaining = if page.more {
        count_after(c, page.last, scope)?
    } else {
        0
    };
    Ok(ChangePage {
        changes: page.rows.into_iter().map(|r| r.1).collect(),
        next: page.last,
        more: page.more,
        remaining,
    })
}

/// How many rows in `scope` are numbered after `after` (from the `_seq`
/// indexes).
fn count_after(c: &Connection, after: i64, scope: &Scope) -> Result<u64> {
    let mut n = 0u64;
    for def in TABLES.iter().filter(|d| d.known_at(scope.schema)) {
        let k: i64 = match (&scope.community, city_wide(def.table)) {
            (Some(community), false) => c
                .prepare_cached(&format!(
                    "SELECT count(*) FROM {} WHERE _seq > ?1 AND community = ?2",
                    def.name
                ))?
                .query_row(rusqlite::params![after, community], |r| r.get(0))?,
            _ => c
                .prepare_cached(&format!(
                    "SELECT count(*) FROM {} WHERE _seq > ?1",
                    def.name
                ))?
                .query_row([after], |r| r.get(0))?,
        };
        n += k.max(0) as u64;
    }
    Ok(n)
}

/// The changes of one page with their sequence numbers.
pub(super) struct PageRows {
    pub(super) rows: Vec<(i64, RowChange)>,
    /// The last sequence number the page covers.
    pub(super) last: i64,
    /// Whether more wait after it.
    pub(super) more: bool,
}

/// Read one page's rows (see [`PageRows`]).
pub(super) fn page_rows(
    c: &Connection,
    pos: Position,
    limit: PageLimit,
    scope: &Scope,
) -> Result<PageRows> {
    let rows_max = limit.rows.max(1);
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
    let known = scope.known();
    let tables = || TABLES.iter().filter(|d| d.known_at(scope.schema));
    let mut seqs = Vec::new();
    for def in tables() {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT _seq FROM {} WHERE _seq > ?1{} ORDER BY _seq LIMIT ?2",
            def.name,
            filter(def.table)
        ))?;
        bind(&mut stmt, pos.after, rows_max as i64 + 1, def.table)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            seqs.push(r.get::<_, i64>(0)?);
        }
    }
    seqs.sort_unstable();
    let mut more = seqs.len() > rows_max;
    let upto = if more { seqs[rows_max - 1] } else { i64::MAX };

    // (seq, table, rid, id, values, clocks)
    let mut rows: Vec<(i64, Table, i64, Uuid, Vec<Value>, RowClocks)> = Vec::new();
    for def in tables() {
        let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
        let mut stmt = c.prepare_cached(&format!(
            "SELECT _seq, rid, id, _clk, {} FROM {} WHERE _seq > ?1 AND _seq <= ?2{} ORDER BY _seq",
            cols.join(", "),
            def.name,
            filter(def.table)
        ))?;
        bind(&mut stmt, pos.after, upto, def.table)?;
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
    let mut last = pos.after;
    let mut changes = Vec::with_capacity(rows.len());
    let mut sites = SiteNames::default();
    let mut bytes = 0usize;
    for (seq, table, rid, id, vals, clocks) in rows {
        // The byte bound ends a page only between two sequence numbers, so
        // the next page's start splits no change.
        if bytes >= limit.bytes && seq != last {
            more = true;
            break;
        }
        last = seq;
        let (hide, from) = scope.content_of(table, &vals, &clocks, pos.floor);
        let ch = row_change(
            c, &mut sites, table, rid, id, &vals, &clocks, from, hide, known,
        )?;
        if let Some(ch) = ch {
            bytes += wire_size(&ch);
            changes.push((seq, ch));
        }
    }
    Ok(PageRows {
        rows: changes,
        last,
        more,
    })
}

/// The cells of one row numbered above `floor` (all of them for `floor` < 0),
/// in the `known` columns, without the content columns when `hide_content`. The whole state
/// (`floor` < 0: a refusal's winning row) leaves out a set's removed tags:
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
    floor: i64,
    hide_content: bool,
    known: Known,
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
        if m.seq <= floor || !known.keeps(col) {
            continue;
        }
        if (deleted || hide_content) && col.content {
            continue;
        }
        if col.rule == Rule::Set {
            let mut stmt = c.prepare_cached(if floor < 0 {
                "SELECT elem, clock, site, removed FROM crdt_tag INDEXED BY crdt_tag_present WHERE tbl=?1 AND rid=?2 AND col=?3 AND seq > ?4 AND removed = 0 ORDER BY elem, clock"
            } else {
                "SELECT elem, clock, site, removed FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND col=?3 AND seq > ?4 ORDER BY elem, clock"
            })?;
            let tags =
                stmt.query_map(rusqlite::params![table as i64, rid, i as i64, floor], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?;
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
    read_row(c, table, id, -1)
}

/// One row's cells numbered above `floor`, or `None` if the row does not exist.
pub(super) fn read_row(
    c: &Connection,
    table: Table,
    id: Uuid,
    floor: i64,
) -> Result<Option<RowChange>> {
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
        floor,
        false,
        Known::ALL,
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
