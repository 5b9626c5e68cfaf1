//! Applying row changes, local or remote, to the materialized tables.
//!
//! One function applies every change, whatever its origin, so a local write
//! and the same write received from another phone end in the same state.

use super::{SiteCache, WriteCtx, SCHEMA_VERSION};
use crate::crdt::merge::{lww_wins, tag_merge, tombstone_wins, TagState};
use crate::crdt::row::default_value;
use crate::crdt::rowclock::{CellMeta, RowClocks};
use crate::crdt::{CellOp, Hlc, RowChange, Stamp, Value};
use crate::model::tables::{
    check_content, check_received, check_value, check_value_received, Check, Column, Rule, Table,
    TableDef, TableKind, TABLES,
};
use crate::{Error, Result};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::OnceLock;
use uuid::Uuid;

/// The fixed SQL of one table, built once rather than per row.
struct TableSql {
    /// `SELECT rid, _clk, _seq, deleted … WHERE id = ?1` (listings).
    select_listing: String,
    /// `SELECT rid … WHERE id = ?1`.
    select_rid: String,
    /// `INSERT` of every column, `_clk` and `_seq`.
    insert: String,
}

fn table_sql(table: Table) -> &'static TableSql {
    static SQL: OnceLock<Vec<TableSql>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        TABLES
            .iter()
            .map(|def| {
                let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
                let n = cols.len();
                TableSql {
                    select_listing: format!(
                        "SELECT rid, _clk, _seq, deleted FROM {} WHERE id = ?1",
                        def.name
                    ),
                    select_rid: format!("SELECT rid FROM {} WHERE id = ?1", def.name),
                    insert: format!(
                        "INSERT INTO {} (id, {}, _clk, _seq) VALUES (?1, {}, ?{}, ?{})",
                        def.name,
                        cols.join(", "),
                        (2..n + 2)
                            .map(|i| format!("?{i}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        n + 2,
                        n + 3
                    ),
                }
            })
            .collect()
    });
    &all[table as usize]
}

/// Most distinct `UPDATE` statements kept per thread; beyond this (only
/// reachable with unusual column mixes) the SQL is built each time.
const UPDATE_SQL_CACHE_MAX: usize = 512;

/// What names an `UPDATE` statement: table, columns set, and whether `_seq`
/// is set.
type UpdateKey = (u8, u64, bool);

thread_local! {
    /// `UPDATE` SQL by [`UpdateKey`].
    static UPDATE_SQL: RefCell<HashMap<UpdateKey, Rc<str>>> = RefCell::new(HashMap::new());
}

/// Most cells one row change may carry.
pub const MAX_CELLS_PER_ROW: usize = 256;

/// Where a change comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Written on this replica: numbered for the outbox.
    Local,
    /// Received: numbered only when the store sequences remote changes (server).
    Remote,
}

/// What a batch of changes did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApplyReport {
    /// Rows whose materialized content changed, in order of application.
    pub changed: Vec<(Table, Uuid)>,
    /// Changes held back because their clock is too far ahead.
    pub quarantined: usize,
    /// Held changes dropped rather than applied (see
    /// [`crate::Store::quarantine_drops`]).
    pub dropped: usize,
    /// Received rows this version cannot read, kept aside until an upgraded
    /// app can ([`crate::Store::unreadable_count`]).
    pub unreadable: usize,
}

impl ApplyReport {
    /// Add what `other` did to this report.
    pub fn absorb(&mut self, other: ApplyReport) {
        self.changed.extend(other.changed);
        self.quarantined += other.quarantined;
        self.dropped += other.dropped;
        self.unreadable += other.unreadable;
    }
}

/// The largest sequence number in the database.
pub(crate) fn max_seq(conn: &Connection) -> Result<i64> {
    let mut max = 0i64;
    for def in TABLES {
        let m: Option<i64> =
            conn.query_row(&format!("SELECT max(_seq) FROM {}", def.name), [], |r| {
                r.get(0)
            })?;
        max = max.max(m.unwrap_or(0));
    }
    let m: Option<i64> = conn.query_row("SELECT max(seq) FROM crdt_tag", [], |r| r.get(0))?;
    Ok(max.max(m.unwrap_or(0)))
}

/// Check a change's shape before anything is applied: a known table and
/// columns, values of the right type that pass the column checks, the right
/// operation for each column's merge rule, and whole records.
pub fn validate(change: &RowChange) -> Result<Table> {
    validate_with(change, false, SCHEMA_VERSION)
}

/// [`validate`] for a change from a replica of schema `schema`: a table or
/// column a later schema added is unknown to it, so a change that carries
/// one is invalid (what that replica's own code would answer).
pub fn validate_at(change: &RowChange, schema: i64) -> Result<Table> {
    validate_with(change, false, schema)
}

/// [`validate`] for a change received from the server (a pulled page, a
/// refused row's winning state, a held change released): a catalogue code
/// this version does not know passes if it is shaped like a code
/// ([`crate::model::tables::check_received`]).
pub fn validate_received(change: &RowChange) -> Result<Table> {
    validate_with(change, true, SCHEMA_VERSION)
}

/// [`validate_received`] by a replica of schema `schema` (see
/// [`validate_at`]).
pub fn validate_received_at(change: &RowChange, schema: i64) -> Result<Table> {
    validate_with(change, true, schema)
}

/// A column value check: the reason on failure.
type ValueCheck = fn(&Column, &Value) -> std::result::Result<(), &'static str>;
/// A content check: the reason on failure.
type ContentCheck = fn(Check, &Value) -> std::result::Result<(), &'static str>;

fn validate_with(change: &RowChange, received: bool, schema: i64) -> Result<Table> {
    let (value_ok, content_ok): (ValueCheck, ContentCheck) = if received {
        (check_value_received, check_received)
    } else {
        (check_value, check_content)
    };
    let table = Table::from_name(&change.table)
        .filter(|t| t.def().known_at(schema))
        .ok_or_else(|| Error::invalid("table", "unknown table"))?;
    let def = table.def();
    if change.cells.is_empty() {
        return Err(Error::invalid(def.name, "a change needs at least one cell"));
    }
    if change.cells.len() > MAX_CELLS_PER_ROW {
        return Err(Error::invalid(def.name, "too many cells in one row change"));
    }
    // A column set twice in one change is malformed: which of the two
    // would count? (The merge would apply both, the later winning, while a
    // check may have looked at the first.) Set columns take many adds and
    // removes, one per element and tag. Reported after every cell's own
    // checks, as before.
    let mut seen = 0u64;
    let mut seen_twice: Option<String> = None;
    for cell in &change.cells {
        let field = || format!("{}.{}", def.name, cell.column);
        let idx = def
            .column_index(&cell.column)
            .filter(|i| def.columns[*i].known_at(schema))
            .ok_or_else(|| Error::invalid(field(), "unknown column"))?;
        let col = &def.columns[idx];
        if col.rule != Rule::Set {
            if seen & (1 << idx) != 0 && seen_twice.is_none() {
                seen_twice = Some(field());
            }
            seen |= 1 << idx;
        }
        if cell.stamp.clock == Hlc::ZERO {
            return Err(Error::invalid(field(), "clock must not be zero"));
        }
        match (&cell.op, col.rule) {
            (CellOp::Set(v), Rule::Lww | Rule::Immutable | Rule::Tombstone) => {
                value_ok(col, v).map_err(|r| Error::invalid(field(), r))?;
            }
            (CellOp::Add(e) | CellOp::Remove(e), Rule::Set) => {
                content_ok(col.check, &Value::Text(e.clone()))
                    .map_err(|r| Error::invalid(field(), r))?;
            }
            (_, Rule::Set) => return Err(Error::invalid(field(), "a set takes add or remove")),
            _ => return Err(Error::invalid(field(), "this column takes set")),
        }
    }
    if let Some(field) = seen_twice {
        return Err(Error::invalid(field, "given twice"));
    }
    if def.kind == TableKind::Record {
        let stamp = change.cells[0].stamp;
        if change.cells.iter().any(|c| c.stamp != stamp) {
            return Err(Error::invalid(def.name, "a record is written at one time"));
        }
        for (i, col) in def.columns.iter().enumerate() {
            let n = change.cells.iter().filter(|c| c.column == col.name).count();
            if n > 1 {
                return Err(Error::invalid(
                    format!("{}.{}", def.name, col.name),
                    "given twice",
                ));
            }
            if n == 0 && col.required && col.known_at(schema) {
                return Err(Error::invalid(
                    format!("{}.{}", def.name, def.columns[i].name),
                    "is required",
                ));
            }
        }
    }
    Ok(table)
}

fn stamp_of(sites: &SiteCache, meta: Option<CellMeta>) -> Result<Option<Stamp>> {
    meta.map(|m| {
        Ok(Stamp {
            clock: m.clock,
            site: sites.uuid(m.site)?,
        })
    })
    .transpose()
}

/// Apply one validated row change. Returns whether the materialized row changed.
pub(crate) fn apply_row(
    ctx: &mut WriteCtx<'_>,
    table: Table,
    change: &RowChange,
    origin: Origin,
) -> Result<bool> {
    let def = table.def();
    let changed = match def.kind {
        TableKind::Listing => apply_listing(ctx, def, change, origin),
        TableKind::Record => apply_record(ctx, def, change, origin),
    }?;
    if changed {
        ctx.changed.push((table, change.id));
        // A new record changes what its rows show: a request joins the
        // item's queue, a report changes the station's state.
        if def.kind == TableKind::Record {
            ctx.changed.extend(change.references());
        }
    }
    Ok(changed)
}

/// Hands out this change's sequence number on first use: local writes are
/// always numbered (the outbox), remote ones only on a store that sequences
/// them (the server's pull feed).
struct SeqAlloc {
    seq: Option<i64>,
    numbered: bool,
}

impl SeqAlloc {
    fn new(ctx: &WriteCtx<'_>, origin: Origin) -> SeqAlloc {
        SeqAlloc {
            seq: None,
            numbered: origin == Origin::Local || ctx.config.sequence_remote,
        }
    }

    fn get(&mut self, ctx: &mut WriteCtx<'_>) -> i64 {
        if !self.numbered {
            return 0;
        }
        *self.seq.get_or_insert_with(|| ctx.next_seq())
    }
}

fn meta(ctx: &mut WriteCtx<'_>, stamp: Stamp, seq: i64) -> Result<CellMeta> {
    Ok(CellMeta {
        clock: stamp.clock,
        site: ctx.sites.idx(ctx.tx, stamp.site)?,
        seq,
    })
}

fn apply_record(
    ctx: &mut WriteCtx<'_>,
    def: &TableDef,
    change: &RowChange,
    origin: Origin,
) -> Result<bool> {
    let exists: Option<i64> = ctx
        .tx
        .prepare_cached(&table_sql(def.table).select_rid)?
        .query_row([change.id.as_bytes()], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Ok(false);
    }
    let mut alloc = SeqAlloc::new(ctx, origin);
    let seq = alloc.get(ctx);
    let m = meta(ctx, change.cells[0].stamp, seq)?;
    let mut vals: Vec<Value> = def
        .columns
        .iter()
        .map(|c| default_value(c.ty, c.rule))
        .collect();
    for cell in &change.cells {
        if let (Some(i), CellOp::Set(v)) = (def.column_index(&cell.column), &cell.op) {
            vals[i] = v.clone();
        }
    }
    let clocks = RowClocks {
        cells: vec![Some(m); def.columns.len()],
    };
    insert_row(ctx.tx, def, change.id, &vals, &clocks)?;
    Ok(true)
}

fn insert_row(
    tx: &Connection,
    def: &TableDef,
    id: Uuid,
    vals: &[Value],
    clocks: &RowClocks,
) -> Result<i64> {
    let mut stmt = tx.prepare_cached(&table_sql(def.table).insert)?;
    let clk = clocks.encode();
    let row_seq = clocks.row_seq();
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(vals.len() + 3);
    let id_bytes = id.as_bytes();
    params.push(id_bytes);
    for v in vals {
        params.push(v);
    }
    params.push(&clk);
    params.push(&row_seq);
    stmt.execute(params.as_slice())?;
    Ok(tx.last_insert_rowid())
}

fn apply_listing(
    ctx: &mut WriteCtx<'_>,
    def: &'static TableDef,
    change: &RowChange,
    origin: Origin,
) -> Result<bool> {
    let n = def.columns.len();
    let existing: Option<(i64, Vec<u8>, i64, i64)> = ctx
        .tx
        .prepare_cached(&table_sql(def.table).select_listing)?
        .query_row([change.id.as_bytes()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let (rid, mut clocks, mut deleted, old_seq) = match existing {
        Some((rid, blob, seq, del)) => (
            Some(rid),
            RowClocks::decode(&blob, n, seq)?,
            del != 0,
            Some(seq),
        ),
        None => (None, RowClocks::empty(n), false, None),
    };
    // Each cell's column, looked up once (validate has checked them all).
    let cols: Vec<Option<usize>> = change
        .cells
        .iter()
        .map(|c| def.column_index(&c.column))
        .collect();
    let mut alloc = SeqAlloc::new(ctx, origin);
    let mut vals: Vec<Option<Value>> = vec![None; n];
    let tomb = def.tombstone();
    let mut erase = false;

    // The tombstone first: content written in the same change as a delete is
    // erased with the rest.
    for (cell, idx) in change.cells.iter().zip(&cols) {
        let Some(idx) = *idx else {
            continue;
        };
        if Some(idx) != tomb {
            continue;
        }
        let CellOp::Set(v) = &cell.op else { continue };
        let del = v.as_i64() == Some(1);
        let cur = stamp_of(ctx.sites, clocks.cells[idx])?.map(|s| (deleted, s));
        if tombstone_wins((del, cell.stamp), cur) {
            // A first delete erases the content; a later-stamped second
            // delete only restamps, so every replica keeps the same stamp.
            erase |= del && !deleted;
            deleted |= del;
            let s = alloc.get(ctx);
            clocks.cells[idx] = Some(meta(ctx, cell.stamp, s)?);
            vals[idx] = Some(Value::Int(i64::from(del)));
        }
    }
    if erase {
        for (i, c) in def.columns.iter().enumerate() {
            if c.content {
                vals[i] = Some(Value::Null);
            }
        }
        if let Some(rid) = rid {
            ctx.tx
                .prepare_cached("DELETE FROM crdt_tag WHERE tbl = ?1 AND rid = ?2")?
                .execute(rusqlite::params![def.table as i64, rid])?;
        }
    }

    let mut tag_ops: Vec<(usize, &str, Stamp, TagState)> = Vec::new();
    for (cell, idx) in change.cells.iter().zip(&cols) {
        let Some(idx) = *idx else {
            continue;
        };
        let col = &def.columns[idx];
        if Some(idx) == tomb || (deleted && col.content) {
            continue;
        }
        match (&cell.op, col.rule) {
            (CellOp::Set(v), Rule::Lww | Rule::Immutable) => {
                let cur = stamp_of(ctx.sites, clocks.cells[idx])?;
                if lww_wins(cell.stamp, cur) {
                    let s = alloc.get(ctx);
                    clocks.cells[idx] = Some(meta(ctx, cell.stamp, s)?);
                    vals[idx] = Some(v.clone());
                }
            }
            (CellOp::Add(e), Rule::Set) => tag_ops.push((idx, e, cell.stamp, TagState::Present)),
            (CellOp::Remove(e), Rule::Set) => tag_ops.push((idx, e, cell.stamp, TagState::Removed)),
            _ => {
                return Err(Error::invalid(
                    format!("{}.{}", def.name, col.name),
                    "wrong operation for column",
                ))
            }
        }
    }

    let mut new_row = false;
    let rid = match rid {
        Some(r) => r,
        None => {
            if vals.iter().all(Option::is_none) && tag_ops.is_empty() {
                return Ok(false);
            }
            // The values move into the row; afterwards only set columns
            // (below) are left to update.
            let full: Vec<Value> = def
                .columns
                .iter()
                .zip(vals.iter_mut())
                .map(|(c, v)| v.take().unwrap_or_else(|| default_value(c.ty, c.rule)))
                .collect();
            new_row = true;
            insert_row(ctx.tx, def, change.id, &full, &clocks)?
        }
    };

    // Each set column touched keeps its present elements in memory, read
    // once from the row; every tag op then costs one indexed lookup (and,
    // for a remove, one more in the index of present tags), so a change
    // costs time linear in its cells whatever the set and its tombstones
    // hold. (Re-reading the whole set after every row made a batch of adds
    // quadratic.)
    let mut sets: Vec<(usize, BTreeSet<String>)> = Vec::new();
    for (idx, elem, stamp, incoming) in tag_ops {
        let site = ctx.sites.idx(ctx.tx, stamp.site)?;
        let cur: Option<i64> = ctx
            .tx
            .prepare_cached(
                "SELECT removed FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND col=?3 AND elem=?4 AND clock=?5 AND site=?6",
            )?
            .query_row(rusqlite::params![def.table as i64, rid, idx as i64, elem, stamp.clock.0 as i64, site], |r| {
                r.get(0)
            })
            .optional()?;
        let cur = cur.map(|r| TagState::of_removed(r != 0));
        let merged = tag_merge(cur, incoming);
        if cur == Some(merged) {
            continue;
        }
        let s = alloc.get(ctx);
        ctx.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO crdt_tag (tbl, rid, col, elem, clock, site, removed, seq) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(rusqlite::params![
                def.table as i64,
                rid,
                idx as i64,
                elem,
                stamp.clock.0 as i64,
                site,
                i64::from(merged == TagState::Removed),
                s
            ])?;
        let pos = match sets.iter().position(|(i, _)| *i == idx) {
            Some(p) => p,
            None => {
                sets.push((idx, current_set(ctx.tx, def, rid, idx)?));
                sets.len() - 1
            }
        };
        let elems = &mut sets[pos].1;
        if merged == TagState::Present {
            elems.insert(elem.to_owned());
        } else if cur == Some(TagState::Present)
            && !has_present_tag(ctx.tx, def.table, rid, idx, elem)?
        {
            elems.remove(elem);
        }
        let prev = clocks.cells[idx];
        let clock = prev.map_or(stamp.clock, |p| p.clock.max(stamp.clock));
        let site = if prev.is_some_and(|p| p.clock > stamp.clock) {
            prev.map_or(site, |p| p.site)
        } else {
            site
        };
        clocks.cells[idx] = Some(CellMeta {
            clock,
            site,
            seq: s.max(prev.map_or(0, |p| p.seq)),
        });
    }
    for (idx, elems) in sets {
        vals[idx] = Some(if elems.is_empty() {
            Value::Null
        } else {
            Value::Text(serde_json::to_string(&elems)?)
        });
    }
    let changed = vals.iter().any(Option::is_some);
    if changed {
        update_row(ctx.tx, def, rid, &vals, &clocks, old_seq)?;
    }
    Ok(new_row || changed)
}

/// The present elements of a set column as the row holds them (the column
/// is kept equal to [`set_elements`] by every apply).
fn current_set(tx: &Connection, def: &TableDef, rid: i64, col: usize) -> Result<BTreeSet<String>> {
    let v: Option<String> = tx
        .prepare_cached(&format!(
            "SELECT {} FROM {} WHERE rid = ?1",
            def.columns[col].name, def.name
        ))?
        .query_row([rid], |r| r.get(0))
        .optional()?
        .flatten();
    match v {
        None => Ok(BTreeSet::new()),
        Some(json) => match serde_json::from_str::<BTreeSet<String>>(&json) {
            Ok(set) => Ok(set),
            Err(_) => Ok(set_elements(tx, def.table, rid, col)?.into_iter().collect()),
        },
    }
}

/// Whether an element of a set column still has a present tag (through the
/// partial index of present tags, so removed tags cost nothing).
fn has_present_tag(
    tx: &Connection,
    table: Table,
    rid: i64,
    col: usize,
    elem: &str,
) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT 1 FROM crdt_tag INDEXED BY crdt_tag_present WHERE tbl=?1 AND rid=?2 AND col=?3 AND elem=?4 AND removed=0 LIMIT 1",
        )?
        .query_row(rusqlite::params![table as i64, rid, col as i64, elem], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The present elements of a set column, sorted.
pub(crate) fn set_elements(
    tx: &Connection,
    table: Table,
    rid: i64,
    col: usize,
) -> Result<Vec<String>> {
    let mut stmt = tx.prepare_cached(
        "SELECT DISTINCT elem FROM crdt_tag WHERE tbl=?1 AND rid=?2 AND col=?3 AND removed=0 ORDER BY elem",
    )?;
    let rows = stmt.query_map(rusqlite::params![table as i64, rid, col as i64], |r| {
        r.get::<_, String>(0)
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn update_row(
    tx: &Connection,
    def: &TableDef,
    rid: i64,
    vals: &[Option<Value>],
    clocks: &RowClocks,
    old_seq: Option<i64>,
) -> Result<()> {
    // A row's number never goes down: on a phone a received value is not
    // numbered (its cell's number is 0), and if it replaces the row's newest
    // local cell the row must still stay above the outbox position until its
    // other unsent cells have gone (see `store::changes`).
    let row_seq = clocks.row_seq().max(old_seq.unwrap_or(0));
    let clk = clocks.encode_at(row_seq);
    // `_seq` is indexed: leave it (and its index entry) alone when it did
    // not move, as for every remote change on a phone.
    let set_seq = old_seq != Some(row_seq);
    let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(vals.len() + 4);
    let mut mask = 0u64;
    for (i, v) in vals.iter().enumerate() {
        if let Some(v) = v {
            params.push(v);
            mask |= 1 << i;
        }
    }
    params.push(&clk);
    if set_seq {
        params.push(&row_seq);
    }
    params.push(&rid);
    let build = || {
        let mut sql = format!("UPDATE {} SET ", def.name);
        let mut k = 0;
        for (c, v) in def.columns.iter().zip(vals) {
            if v.is_some() {
                k += 1;
                sql.push_str(&format!("{} = ?{k}, ", c.name));
            }
        }
        k += 1;
        sql.push_str(&format!("_clk = ?{k}"));
        if set_seq {
            k += 1;
            sql.push_str(&format!(", _seq = ?{k}"));
        }
        sql.push_str(&format!(" WHERE rid = ?{}", k + 1));
        sql
    };
    let key = (def.table as u8, mask, set_seq);
    let sql: Rc<str> = UPDATE_SQL.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(s) = cache.get(&key) {
            return s.clone();
        }
        let s: Rc<str> = build().into();
        if cache.len() < UPDATE_SQL_CACHE_MAX {
            cache.insert(key, s.clone());
        }
        s
    });
    tx.prepare_cached(&sql)?.execute(params_from_iter(params))?;
    Ok(())
}
