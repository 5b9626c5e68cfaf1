//! Schema and migrations, keyed on `PRAGMA user_version`.
//!
//! The replicated tables are generated from their definitions in
//! [`crate::model::tables`], so the SQL and the merge code cannot disagree;
//! the rest (merge metadata, indexes, search) lives in `.sql` files.

use crate::model::tables::{Rule, TableDef, Ty, TABLES};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction};

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 1;

const META_SQL: &str = include_str!("sql/meta.sql");
const INDEXES_SQL: &str = include_str!("sql/indexes.sql");
const SEARCH_SQL: &str = include_str!("sql/search.sql");
/// Numbered, frozen upgrades of the merge and sync metadata: tables one
/// replica keeps for itself (quarantine, held records, indexes of the tag
/// table), never sent. They are versioned apart from the replicated tables
/// (`user_version`, which phones and server must agree on, sent as
/// `Fushi-Schema`), so that a server upgrade does not force every phone to
/// upgrade when nothing on the wire changed.
const META_MIGRATIONS: &[(i64, &str)] = &[(2, include_str!("sql/meta_v2.sql"))];
/// The metadata version a new database starts at (what `v1` creates).
const META_BASE: i64 = 1;
const STATE_META: &str = "meta_version";
/// The full-text index of items and its triggers (part of the schema; public
/// so a baseline can build the very same index).
pub const ITEM_SEARCH_SQL: &str = include_str!("sql/search_items.sql");

/// The `CREATE TABLE` statement of a replicated table: its plain shape plus
/// the merge metadata (`_clk`, `_seq` and the `_seq` index).
pub(crate) fn create_table_sql(def: &TableDef) -> String {
    let mut sql = plain_table_columns(def);
    sql.push_str(",\n  _clk BLOB NOT NULL,\n  _seq INTEGER NOT NULL\n);\n");
    sql.push_str(&format!("CREATE INDEX {0}_seq ON {0}(_seq);\n", def.name));
    sql
}

/// The same table with no merge metadata: what plain SQLite would hold
/// (the benchmark's baseline).
#[cfg(feature = "bench-baseline")]
pub fn plain_table_sql(def: &TableDef) -> String {
    let mut sql = plain_table_columns(def);
    sql.push_str("\n);\n");
    sql
}

fn plain_table_columns(def: &TableDef) -> String {
    let mut sql = format!(
        "CREATE TABLE {} (\n  rid INTEGER PRIMARY KEY,\n  id BLOB NOT NULL UNIQUE",
        def.name
    );
    for c in def.columns {
        let ty = match (c.rule, c.ty) {
            (Rule::Set, _) | (_, Ty::Text) => "TEXT",
            (_, Ty::Int | Ty::Bool) => "INTEGER",
            (_, Ty::Real) => "REAL",
        };
        sql.push_str(&format!(",\n  {} {}", c.name, ty));
        if matches!(c.rule, Rule::Tombstone) || c.ty == Ty::Bool {
            sql.push_str(" NOT NULL DEFAULT 0");
        }
    }
    sql
}

/// Bring the database to [`SCHEMA_VERSION`]. Refuses (without writing) a
/// database from a newer version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        let tx = conn.transaction()?;
        if found < 1 {
            v1(&tx)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            "database schema migrated"
        );
    }
    migrate_meta(conn)
}

/// Bring the metadata to the newest of [`META_MIGRATIONS`], each step in
/// the same transaction as the version it sets.
fn migrate_meta(conn: &mut Connection) -> Result<()> {
    let newest = META_MIGRATIONS.last().map_or(META_BASE, |m| m.0);
    let found: i64 = conn
        .query_row(
            "SELECT value FROM crdt_state WHERE key = ?1",
            [STATE_META],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(META_BASE);
    if found > newest {
        return Err(Error::SchemaTooNew {
            found,
            supported: newest,
        });
    }
    if found == newest {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (version, sql) in META_MIGRATIONS {
        if *version > found {
            tx.execute_batch(sql)?;
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)",
        rusqlite::params![STATE_META, newest],
    )?;
    tx.commit()?;
    tracing::info!(from = found, to = newest, "metadata migrated");
    Ok(())
}

fn v1(tx: &Transaction<'_>) -> Result<()> {
    let user_tables: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    if user_tables > 0 {
        return Err(Error::Corrupt(
            "the file holds tables of another application".into(),
        ));
    }
    for def in TABLES {
        tx.execute_batch(&create_table_sql(def))?;
    }
    tx.execute_batch(META_SQL)?;
    tx.execute_batch(INDEXES_SQL)?;
    tx.execute_batch(SEARCH_SQL)?;
    tx.execute_batch(ITEM_SEARCH_SQL)?;
    Ok(())
}
