//! PostgreSQL storage: what [`crate::SqliteStorage`] keeps, in one
//! PostgreSQL database that several server processes share (`serve
//! --database-url postgres://…`).
//!
//! This module holds the connection handle ([`Pg`]): a pool of
//! tokio-postgres connections driven by a small runtime of its own, so the
//! storage's blocking methods can be called from any thread (the server's
//! blocking pool, a test's runtime, a command-line tool). The schema is
//! versioned by the migrations in `server/migrations/`, applied on first
//! start under an advisory lock so that processes starting together apply
//! each one once.

pub mod accounts;
pub(crate) mod listings;
mod migrate;
pub mod photos;
mod storage;

pub use storage::PgStorage;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use fushi_core::{Error, Result};
use std::future::Future;
use std::str::FromStr;

pub use migrate::{MIGRATIONS, SCHEMA_VERSION};

/// Most connections one process holds.
pub const POOL_SIZE: usize = 16;

/// A PostgreSQL failure as the core's error: the SQLSTATE code, or what
/// failed, never the server's message (it may quote values).
pub fn db_error(what: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| match e.code() {
        Some(code) => Error::Database(format!("{what}: SQLSTATE {}", code.code())),
        None if e.is_closed() => Error::Database(format!("{what}: connection closed")),
        None => Error::Database(format!("{what}: no answer from the database")),
    }
}

/// A pool failure (no connection could be had).
fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error("connect")(e),
        _ => Error::Database("connect: no connection to the database".into()),
    }
}

/// The connection pool and the runtime that drives it.
#[derive(Debug)]
pub struct Pg {
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
}

impl Pg {
    /// Connect to `url` (`postgres://user@host/db`, or key=value form; a
    /// Unix socket as `host=/run/postgresql`) and bring the schema up to
    /// date.
    pub fn connect(url: &str) -> Result<Pg> {
        let config = tokio_postgres::Config::from_str(url).map_err(|_| Error::Invalid {
            field: "database-url".into(),
            reason: "not a PostgreSQL connection string".into(),
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fushi-pg")
            .enable_all()
            .build()
            .map_err(|_| Error::Database("no runtime for the database".into()))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|_| Error::Database("no connection pool".into()))?;
        let pg = Pg { rt: Some(rt), pool };
        pg.run(|pool| async move { migrate::up(&pool).await })?;
        Ok(pg)
    }

    /// Run `f` with the pool on the database runtime and wait for it.
    pub fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| Error::Database("the database runtime has stopped".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = f(self.pool.clone());
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| Error::Database("the database task ended".into()))?
    }

    /// A connection from the pool (inside [`Pg::run`]).
    pub async fn client(pool: &Pool) -> Result<deadpool_postgres::Object> {
        pool.get().await.map_err(pool_error)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Not a blocking shutdown: the storage may be dropped on a runtime.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
