//! Schema and migrations, keyed on `PRAGMA user_version`.
//!
//! The replicated tables are generated from their definitions in
//! [`crate::model::tables`], so the SQL and the merge code cannot disagree;
//! the rest (merge metadata, indexes, search) lives in `.sql` files.
//!
//! What a file holds also depends on its [`StoreRole`]: a phone's keeps the
//! indexes of the offline queries (`search.sql`), the server's does not. The role is recorded in `crdt_state`; opening a file in
//! the other role drops those indexes or rebuilds them from the rows (they
//! are derived data, never sent), after the versioned migrations.

use super::StoreRole;
#[cfg(feature = "bench-baseline")]
use crate::model::tables::{Rule, TableDef, Ty};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction};

pub use crate::model::tables::{MIN_SCHEMA_VERSION, SCHEMA_VERSION};

/// Schema version 1 of the replicated tables, frozen as SQL (never edited:
/// a later version is a numbered migration after it).
const SCHEMA_V1_SQL: &str = include_str!("sql/schema_v1.sql");
/// The numbered, frozen steps after v1 of the replicated tables, each run
/// in the transaction that sets `user_version` to it. The last one is
/// [`SCHEMA_VERSION`] (a unit test checks the result against the table
/// definitions).
const SCHEMA_MIGRATIONS: &[(i64, &str)] = &[
    (2, include_str!("sql/schema_v2.sql")),
    (3, include_str!("sql/schema_v3.sql")),
];
const META_SQL: &str = include_str!("sql/meta.sql");
const INDEXES_SQL: &str = include_str!("sql/indexes.sql");
const SEARCH_SQL: &str = include_str!("sql/search.sql");
/// Numbered, frozen upgrades of the merge and sync metadata: tables one
/// replica keeps for itself (quarantine, held records, indexes of the tag
/// table), never sent. They are versioned apart from the replicated tables
/// (`user_version`, which phones and server must agree on, sent as
/// `Fushi-Schema`), so that a server upgrade does not force every phone to
/// upgrade when nothing on the wire changed.
const META_MIGRATIONS: &[(i64, &str)] = &[
    (2, include_str!("sql/meta_v2.sql")),
    (3, include_str!("sql/meta_v3.sql")),
    (4, include_str!("sql/meta_v4.sql")),
];
/// The metadata version a new database starts at (what `v1` creates).
const META_BASE: i64 = 1;
const STATE_META: &str = "meta_version";
/// The full-text index of items kept by triggers in the same file: what
/// the benchmark's plain-SQLite baseline builds (the store keeps the same
/// index in a file of its own, `search_index.rs`).
#[cfg(feature = "bench-baseline")]
pub const ITEM_SEARCH_SQL: &str = include_str!("sql/search_items.sql");
/// What a phone's file holds and the server's does not: the indexes of the
/// offline queries and the triggers that keep them.
const PHONE_SQL: [&str; 3] = [SEARCH_SQL, SEARCH_PENDING_SQL, SEARCH_TRIGGERS_SQL];
/// Where the full-text index stands: each kind's mark and the noted
/// listings.
const SEARCH_PENDING_SQL: &str = include_str!("sql/search_pending.sql");
/// The triggers that note changed and removed listings for the index.
const SEARCH_TRIGGERS_SQL: &str = include_str!("sql/search_triggers.sql");
/// Upgrades a phone's file whose full text was kept in it (by triggers)
/// to the index in a file of its own; [`PHONE_SQL`]'s new pieces follow.
const PHONE_V2_SQL: &str = include_str!("sql/search_v2.sql");
/// Upgrades a phone's file whose new listings were each noted by a
/// trigger to new listings found above `search_mark`.
const PHONE_V3_SQL: &str = include_str!("sql/search_v3.sql");
/// The shape of a phone's indexes this build makes ([`STATE_PHONE_INDEXES`]):
/// 1 kept the full text in the file, 2 noted every written listing for the
/// index file, 3 finds new listings above `search_mark`.
const PHONE_INDEXES: i64 = 3;
/// `crdt_state` key of the shape of a phone's indexes.
const STATE_PHONE_INDEXES: &str = "phone_indexes";
/// Removes all of [`PHONE_SQL`] but the station's `amenity_mask` column
/// (see [`drop_phone_indexes`]).
const PHONE_DROP_SQL: &str = include_str!("sql/search_drop.sql");
/// Fills the station's indexes from the rows of a file that had none: the
/// statement sets columns to themselves, which fires the triggers of
/// [`PHONE_SQL`] just as a write of the row would. (The listings are all
/// taken by the full-text index once its mark is reset.)
const PHONE_FILL_SQL: &str = "UPDATE station SET amenities = amenities, deleted = deleted;";
/// `crdt_state` key of the file's role; a file without it has the phone's
/// shape (every file from before the roles, the server's included).
const STATE_ROLE: &str = "store_role";

/// The same table with no merge metadata: what plain SQLite would hold
/// (the benchmark's baseline).
#[cfg(feature = "bench-baseline")]
pub fn plain_table_sql(def: &TableDef) -> String {
    let mut sql = plain_table_columns(def);
    sql.push_str("\n);\n");
    sql
}

#[cfg(feature = "bench-baseline")]
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

/// Bring the database to [`SCHEMA_VERSION`] and the newest metadata, in the
/// shape of `role`. Refuses (without writing) a database from a newer version.
pub(crate) fn migrate(conn: &mut Connection, role: StoreRole) -> Result<()> {
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
            v1(&tx, role)?;
        }
        for (version, sql) in SCHEMA_MIGRATIONS {
            if *version > found {
                tx.execute_batch(sql)?;
            }
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            "database schema migrated"
        );
    }
    migrate_meta(conn)?;
    // After the metadata steps, which therefore must never depend on the
    // phone's indexes (a server's file has none).
    migrate_role(conn, role)?;
    if role == StoreRole::Phone {
        upgrade_phone_indexes(conn)?;
    }
    Ok(())
}

/// Bring a phone's indexes to [`PHONE_INDEXES`]: from the full text kept
/// in the file (1) to the index file, every listing to be indexed again;
/// from new listings noted by a trigger (2) to new listings found above
/// `search_mark`, the notes already made kept.
fn upgrade_phone_indexes(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn
        .query_row(
            "SELECT value FROM crdt_state WHERE key = ?1",
            [STATE_PHONE_INDEXES],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(1);
    if found >= PHONE_INDEXES {
        return Ok(());
    }
    let tx = conn.transaction()?;
    if found < 2 {
        tx.execute_batch(PHONE_V2_SQL)?;
    }
    let has_pending: bool = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'search_pending'",
        [],
        |r| r.get(0),
    )?;
    if has_pending {
        tx.execute_batch(PHONE_V3_SQL)?;
    } else {
        tx.execute_batch(SEARCH_PENDING_SQL)?;
    }
    tx.execute_batch(SEARCH_TRIGGERS_SQL)?;
    if found < 2 {
        reset_search_mark(&tx)?;
    }
    record_phone_indexes(&tx)?;
    tx.commit()?;
    tracing::info!(from = found, to = PHONE_INDEXES, "phone indexes upgraded");
    Ok(())
}

/// Every listing is to be indexed (again): the marks go back to 0 and the
/// notes are dropped (the index file is new, old or damaged, or the file
/// was the server's).
pub(crate) fn reset_search_mark(tx: &Connection) -> Result<()> {
    tx.execute_batch("UPDATE search_mark SET rid = 0; DELETE FROM search_pending;")?;
    Ok(())
}

fn record_phone_indexes(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)",
        rusqlite::params![STATE_PHONE_INDEXES, PHONE_INDEXES],
    )?;
    Ok(())
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

/// The role recorded in the file (the phone's shape if none is).
fn recorded_role(conn: &Connection) -> Result<(StoreRole, bool)> {
    let found: Option<String> = conn
        .query_row(
            "SELECT value FROM crdt_state WHERE key = ?1",
            [STATE_ROLE],
            |r| r.get(0),
        )
        .optional()?;
    match found.as_deref() {
        None => Ok((StoreRole::Phone, false)),
        Some(r) if r == StoreRole::Phone.as_str() => Ok((StoreRole::Phone, true)),
        Some(r) if r == StoreRole::Server.as_str() => Ok((StoreRole::Server, true)),
        Some(_) => Err(Error::Corrupt("unknown store role".into())),
    }
}

fn record_role(tx: &Transaction<'_>, role: StoreRole) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)",
        rusqlite::params![STATE_ROLE, role.as_str()],
    )?;
    Ok(())
}

/// Give the file the shape of `role`, in one transaction with the role it
/// records: a file opened as the server loses the phone's indexes; one
/// opened as a phone after serving gets them back, filled from its rows.
fn migrate_role(conn: &mut Connection, role: StoreRole) -> Result<()> {
    let (found, recorded) = recorded_role(conn)?;
    if found == role {
        return Ok(());
    }
    let tx = conn.transaction()?;
    match role {
        StoreRole::Server => drop_phone_indexes(&tx)?,
        StoreRole::Phone => {
            for sql in PHONE_SQL {
                tx.execute_batch(sql)?;
            }
            tx.execute_batch(PHONE_FILL_SQL)?;
            reset_search_mark(&tx)?;
            record_phone_indexes(&tx)?;
        }
    }
    record_role(&tx, role)?;
    tx.commit()?;
    tracing::info!(
        from = found.as_str(),
        to = role.as_str(),
        recorded,
        "store role changed: phone indexes {}",
        if role == StoreRole::Server {
            "dropped"
        } else {
            "rebuilt"
        }
    );
    Ok(())
}

/// Drop everything [`PHONE_SQL`] created: triggers, virtual tables,
/// indexes, and the station's `amenity_mask` column.
fn drop_phone_indexes(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(PHONE_DROP_SQL)?;
    let has_mask: bool = tx.query_row(
        "SELECT count(*) FROM pragma_table_info('station') WHERE name = 'amenity_mask'",
        [],
        |r| r.get(0),
    )?;
    if has_mask {
        tx.execute_batch("ALTER TABLE station DROP COLUMN amenity_mask")?;
    }
    Ok(())
}

fn v1(tx: &Transaction<'_>, role: StoreRole) -> Result<()> {
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
    tx.execute_batch(SCHEMA_V1_SQL)?;
    tx.execute_batch(META_SQL)?;
    tx.execute_batch(INDEXES_SQL)?;
    if role == StoreRole::Phone {
        for sql in PHONE_SQL {
            tx.execute_batch(sql)?;
        }
        record_phone_indexes(tx)?;
    }
    record_role(tx, role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tables::TABLES;

    #[test]
    fn the_migrations_end_at_this_builds_schema() {
        assert_eq!(SCHEMA_MIGRATIONS.last().map_or(1, |m| m.0), SCHEMA_VERSION);
        for (i, (v, _)) in SCHEMA_MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 2, "numbered from 2 without gaps");
        }
    }

    /// The columns a table has in the file.
    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// The frozen schema, with every migration after it, holds exactly the
    /// columns the table definitions declare: adding a column to a
    /// definition without a migration (or editing v1 in place) fails here.
    #[test]
    fn the_migrated_schema_has_exactly_the_defined_columns() {
        for role in [StoreRole::Phone, StoreRole::Server] {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate(&mut conn, role).unwrap();
            for def in TABLES {
                let mut want = vec!["rid".to_string(), "id".to_string()];
                want.extend(def.columns.iter().map(|c| c.name.to_string()));
                want.extend(["_clk".to_string(), "_seq".to_string()]);
                let mut got = columns(&conn, def.name);
                // The phone's own index column (the stations' amenity mask).
                got.retain(|c| c != "amenity_mask");
                // A later version's columns come after `_clk` and `_seq` in
                // the file (`ALTER TABLE … ADD COLUMN`); the order in the
                // file means nothing, as every read names its columns.
                want.sort();
                got.sort();
                assert_eq!(got, want, "{} ({role:?})", def.name);
            }
        }
    }
}
