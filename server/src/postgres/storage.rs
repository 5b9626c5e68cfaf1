//! [`PgStorage`]: the server's storage in PostgreSQL — listings
//! ([`super::listings`]), tokens and invites ([`super::accounts`]) and photo
//! bytes ([`super::photos`]) in one database that any number of server
//! processes share.

use super::accounts::PgAccounts;
use super::listings::{self, PushJob};
use super::photos::PgPhotos;
use super::Pg;
use crate::photos::PhotoStore;
use crate::sqlite::{SqliteStorage, PHOTO_GRACE_MS, TOKEN_TTL_MS};
use crate::storage::{AccountBook, PushOutcome, SyncStorage, TokenCredentials};
use fushi_core::crdt::{RowChange, SystemClock, TimeSource};
use fushi_core::photo::PhotoRef;
use fushi_core::store::{ChangePage, PageLimit, PhotoUse, Position, Pusher, Scope, SCHEMA_VERSION};
use fushi_core::{Result, StoreConfig, Table};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// The server's storage in one PostgreSQL database.
#[derive(Debug)]
pub struct PgStorage {
    pg: Arc<Pg>,
    accounts: PgAccounts,
    photos: PgPhotos,
    time: Arc<dyn TimeSource>,
    config: StoreConfig,
    epoch: u64,
    photo_grace_ms: i64,
}

impl PgStorage {
    /// Connect to `url` (migrating the schema on first start), with the
    /// system clock and the server's settings.
    pub fn open(url: &str) -> Result<PgStorage> {
        PgStorage::open_with_config(url, SystemClock::new(), |c| c)
    }

    /// Connect with a given time source and [`SqliteStorage::server_config`]
    /// as changed by `tweak` (the same settings as on SQLite: held changes,
    /// station record windows).
    pub fn open_with_config(
        url: &str,
        time: Arc<dyn TimeSource>,
        tweak: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> Result<PgStorage> {
        let pg = Arc::new(Pg::connect(url)?);
        let epoch = pg.run(listings::epoch)?;
        let accounts = PgAccounts::new(pg.clone(), TOKEN_TTL_MS)?;
        let photos = PgPhotos::new(pg.clone());
        Ok(PgStorage {
            pg,
            accounts,
            photos,
            time,
            config: tweak(SqliteStorage::server_config()),
            epoch,
            photo_grace_ms: PHOTO_GRACE_MS,
        })
    }

    /// Tokens issued from now on live `ttl_ms` (default [`TOKEN_TTL_MS`]).
    pub fn with_token_ttl(mut self, ttl_ms: i64) -> PgStorage {
        self.accounts.set_ttl_ms(ttl_ms);
        self
    }

    /// Photos no listing uses are erased by housekeeping after `ms`.
    pub fn with_photo_grace_ms(mut self, ms: i64) -> PgStorage {
        self.photo_grace_ms = ms;
        self
    }

    /// The connection handle.
    pub fn pg(&self) -> &Arc<Pg> {
        &self.pg
    }

    fn job(&self, pusher: Option<&Pusher>, changes: &[RowChange], schema: i64) -> Result<PushJob> {
        let now_ms = self.now_ms();
        let judged = listings::judge_due(&self.pg, &self.config, now_ms, &TokenCredentials(self))?;
        Ok(PushJob {
            pusher: pusher.cloned(),
            changes: changes.to_vec(),
            schema,
            now_ms,
            config: self.config.clone(),
            judged,
        })
    }

    /// The photos the items among `changes` use now.
    fn photos_of(&self, changes: &[RowChange]) -> Result<HashSet<PhotoRef>> {
        let ids: Vec<Uuid> = changes
            .iter()
            .filter(|c| c.table == Table::Item.name())
            .map(|c| c.id)
            .collect();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let found = self
            .pg
            .run(move |pool| async move { listings::photos_of(pool, ids).await })?;
        Ok(found
            .iter()
            .filter_map(|p| PhotoRef::parse(p).ok())
            .collect())
    }
}

impl SyncStorage for PgStorage {
    fn push(&self, pusher: &Pusher, changes: &[RowChange], schema: i64) -> Result<PushOutcome> {
        let before = self.photos_of(changes)?;
        let job = self.job(Some(pusher), changes, schema)?;
        let outcome = self.pg.run(move |pool| listings::push(pool, job))?;
        if !before.is_empty() {
            // Photos this push stopped using: erased now. A failure leaves
            // them to housekeeping.
            match crate::photos::erase_unused(self, before) {
                Ok(0) => {}
                Ok(n) => tracing::info!(erased = n, "photos no listing uses were erased"),
                Err(e) => tracing::warn!(error = %e, "erasing unused photos failed"),
            }
        }
        Ok(outcome)
    }

    fn housekeeping(&self) -> Result<()> {
        let job = self.job(None, &[], SCHEMA_VERSION)?;
        self.pg.run(move |pool| listings::push(pool, job))?;
        let used = self.pg.run(listings::referenced_photos)?;
        crate::photos::sweep(&self.photos, &used, self.photo_grace_ms)?;
        self.accounts.forget_old(self.now_ms())
    }

    fn pull(&self, scope: &Scope, pos: Position, limit: PageLimit) -> Result<ChangePage> {
        let scope = scope.clone();
        self.pg
            .run(move |pool| listings::pull(pool, scope, pos, limit))
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn current_seq(&self) -> Result<i64> {
        self.pg.run(listings::current_seq)
    }

    fn accounts(&self) -> &dyn AccountBook {
        &self.accounts
    }

    fn now_ms(&self) -> i64 {
        self.time.now_ms()
    }

    fn photos(&self) -> &dyn PhotoStore {
        &self.photos
    }

    fn photo_users(&self, r: &PhotoRef) -> Result<Vec<PhotoUse>> {
        let r = r.to_string();
        self.pg.run(move |pool| listings::photo_users(pool, r))
    }

    fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }

    fn quarantine(&self) -> Result<Vec<fushi_core::store::QuarantinedChange>> {
        self.pg.run(listings::quarantine)
    }

    fn quarantine_drops(&self) -> Result<Vec<fushi_core::store::QuarantineDrop>> {
        self.pg.run(listings::quarantine_drops)
    }

    fn held_records(&self) -> Result<usize> {
        self.pg.run(listings::held_records)
    }

    fn apply_trusted(&self, changes: &[RowChange]) -> Result<()> {
        let job = self.job(None, changes, SCHEMA_VERSION)?;
        self.pg
            .run(move |pool| listings::push(pool, job))
            .map(|_| ())
    }
}
