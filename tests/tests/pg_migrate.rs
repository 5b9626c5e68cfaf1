//! The PostgreSQL schema is versioned: a fresh database is brought up to
//! date once however many processes start on it together, a second start
//! changes nothing, and a database a newer server migrated is refused
//! rather than misread.

use fushi_core::Error;
use fushi_server::postgres::{Pg, MIGRATIONS, SCHEMA_VERSION};

/// The versions recorded as applied.
fn applied(pg: &Pg) -> Vec<i32> {
    pg.run(|pool| async move {
        let c = Pg::client(&pool).await?;
        let rows = c
            .query("SELECT version FROM fushi_migrations ORDER BY version", &[])
            .await
            .map_err(fushi_server::postgres::db_error("test"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    })
    .unwrap()
}

#[test]
fn processes_starting_together_migrate_once_and_a_newer_database_is_refused() {
    let url = fushi_tests::pg::fresh_database();
    // Four processes start on the fresh database at once.
    let started: Vec<Pg> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| Pg::connect(&url))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let every: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(*every.last().unwrap(), SCHEMA_VERSION);
    assert_eq!(applied(&started[0]), every, "each migration once, in order");
    // A later start finds nothing to do.
    let again = Pg::connect(&url).unwrap();
    assert_eq!(applied(&again), every);

    // A newer server migrated it further: this one refuses to serve it.
    again
        .run(|pool| async move {
            let c = Pg::client(&pool).await?;
            c.execute(
                "INSERT INTO fushi_migrations (version, name) VALUES ($1, 'from a newer server')",
                &[&(SCHEMA_VERSION + 1)],
            )
            .await
            .map_err(fushi_server::postgres::db_error("test"))?;
            Ok(())
        })
        .unwrap();
    match Pg::connect(&url) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!(found, i64::from(SCHEMA_VERSION + 1));
            assert_eq!(supported, i64::from(SCHEMA_VERSION));
        }
        other => panic!("a newer database was opened: {other:?}"),
    }
}
