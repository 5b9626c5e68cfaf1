//! The versioned schema: each migration runs once, in order, in one
//! transaction with its bookkeeping row, under an advisory lock that
//! serializes processes starting together. A database migrated by a newer
//! server is refused rather than misread.

use super::{db_error, Pg};
use deadpool_postgres::Pool;
use fushi_core::{Error, Result};

/// The migrations, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "listings",
        include_str!("../../migrations/0001_listings.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../migrations/0002_accounts.sql"),
    ),
    (
        3,
        "photos",
        include_str!("../../migrations/0003_photos.sql"),
    ),
];

/// The schema version this build brings a database to.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock key taken while migrating (`fushi` in ASCII).
const MIGRATE_LOCK: i64 = 0x6675_7368_6901;

/// Bring the database at `pool` up to [`SCHEMA_VERSION`].
pub(super) async fn up(pool: &Pool) -> Result<()> {
    let mut client = Pg::client(pool).await?;
    let tx = client.transaction().await.map_err(db_error("migrate"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(db_error("migrate"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS fushi_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db_error("migrate"))?;
    let newest: Option<i32> = tx
        .query_one("SELECT max(version) FROM fushi_migrations", &[])
        .await
        .map_err(db_error("migrate"))?
        .get(0);
    let newest = newest.unwrap_or(0);
    if newest > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: i64::from(newest),
            supported: i64::from(SCHEMA_VERSION),
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > newest) {
        tx.batch_execute(sql).await.map_err(db_error("migrate"))?;
        tx.execute(
            "INSERT INTO fushi_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(db_error("migrate"))?;
        tracing::info!(version, name, "database migrated");
    }
    tx.commit().await.map_err(db_error("migrate"))
}
