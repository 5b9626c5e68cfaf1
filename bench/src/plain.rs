//! The baseline: plain rusqlite writing the same item rows with no merge
//! metadata. Same table shape as the store's `item` minus `_clk`/`_seq` (and
//! its `_seq` index, from the same definition), the same secondary indexes,
//! and — in the "fts" variant — the store's own item FTS5 table, triggers and
//! registered functions: a fair comparison. The "nofts" variant drops the
//! search index, for transparency.
//!
//! Same pragmas as the store: WAL, `synchronous=NORMAL`.

use crate::data::ItemData;
use fushi_core::model::tables::ITEM;
use fushi_core::store::baseline::{plain_table_sql, register_functions, ITEM_SEARCH_SQL};
use rusqlite::{params, Connection};
use std::path::Path;
use uuid::Uuid;

/// The item indexes of the store's `sql/indexes.sql` and `sql/search.sql`.
const ITEM_INDEXES_SQL: &str = "
CREATE INDEX item_community ON item(community, status);
CREATE INDEX item_created ON item(created_at);
";

/// The store's own SQL functions (the search triggers call them), so the
/// baseline indexes exactly as the store does.
fn register(conn: &Connection) -> rusqlite::Result<()> {
    register_functions(conn).map_err(|e| rusqlite::Error::UserFunctionError(e.to_string().into()))
}

/// A plain database of items.
pub struct Plain {
    /// The connection.
    pub conn: Connection,
}

const INSERT_SQL: &str = "INSERT INTO item (id, owner, community, created_at, title, description, \
category, condition, mode, status, pickup_area, lat, lon, expires_at, deleted) \
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)";

impl Plain {
    /// Create at `path`, with or without the search index.
    pub fn create(path: &Path, fts: bool) -> rusqlite::Result<Plain> {
        let conn = Connection::open(path)?;
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        register(&conn)?;
        conn.execute_batch(&plain_table_sql(&ITEM))?;
        conn.execute_batch(ITEM_INDEXES_SQL)?;
        if fts {
            conn.execute_batch(ITEM_SEARCH_SQL)?;
        }
        Ok(Plain { conn })
    }

    /// Open an existing plain database.
    pub fn create_or_open(path: &Path) -> rusqlite::Result<Plain> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        register(&conn)?;
        Ok(Plain { conn })
    }

    fn insert(&self, id: Uuid, d: &ItemData, owner: &str, now: i64) -> rusqlite::Result<()> {
        self.conn.prepare_cached(INSERT_SQL)?.execute(params![
            id.as_bytes(),
            owner,
            "fushi",
            now,
            d.title,
            d.description,
            d.category,
            d.condition,
            d.mode,
            "available",
            d.pickup_area,
            d.lat,
            d.lon,
            now + 30 * 86_400_000,
        ])?;
        Ok(())
    }

    /// Insert each item in its own transaction.
    pub fn posts(&self, items: &[ItemData], owner: &str, now: i64) -> rusqlite::Result<Vec<Uuid>> {
        let mut ids = Vec::with_capacity(items.len());
        for d in items {
            let id = Uuid::now_v7();
            self.conn.execute_batch("BEGIN")?;
            self.insert(id, d, owner, now)?;
            self.conn.execute_batch("COMMIT")?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// Insert all items in one transaction.
    pub fn bulk(&self, items: &[ItemData], owner: &str, now: i64) -> rusqlite::Result<Vec<Uuid>> {
        let mut ids = Vec::with_capacity(items.len());
        self.conn.execute_batch("BEGIN")?;
        for d in items {
            let id = Uuid::now_v7();
            self.insert(id, d, owner, now)?;
            ids.push(id);
        }
        self.conn.execute_batch("COMMIT")?;
        Ok(ids)
    }

    /// Set one column of each row, each in its own transaction
    /// (`one_tx = false`) or all in one.
    pub fn updates(&self, edits: &[(Uuid, &str)], one_tx: bool) -> rusqlite::Result<()> {
        if one_tx {
            self.conn.execute_batch("BEGIN")?;
        }
        for (id, v) in edits {
            if !one_tx {
                self.conn.execute_batch("BEGIN")?;
            }
            self.conn
                .prepare_cached("UPDATE item SET condition = ?1 WHERE id = ?2")?
                .execute(params![v, id.as_bytes()])?;
            if !one_tx {
                self.conn.execute_batch("COMMIT")?;
            }
        }
        if one_tx {
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }
}
