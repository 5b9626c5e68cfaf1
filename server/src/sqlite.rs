//! The default storage: one embedded SQLite file for the listings (a
//! `fushi_core::Store` that sequences every applied change) and a second one
//! beside it for the tokens. Nothing to install; created on first run.

use crate::accounts::Accounts;
use crate::photos::{photos_path, FolderPhotos, PhotoStore};
use crate::storage::{AccountBook, PushOutcome, SyncStorage, TokenCredentials};
use fushi_core::crdt::{RowChange, SystemClock, TimeSource};
use fushi_core::photo::PhotoRef;
use fushi_core::store::PhotoUse;
use fushi_core::store::{
    ChangePage, PageLimit, Position, Pusher, Scope, StateValue, SCHEMA_VERSION,
};
use fushi_core::{Error, Result, Store, StoreConfig, StoreRole, Table};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long a token lives unless its device renews it: 90 days.
pub const TOKEN_TTL_MS: i64 = 90 * 86_400_000;

/// Where the database's epoch is kept (`crdt_state`).
const STATE_EPOCH: &str = "server.epoch";

/// How long a photo no listing uses is kept before housekeeping erases it
/// (one that stopped being used by a push is erased at once): an hour.
pub const PHOTO_GRACE_MS: i64 = 60 * 60 * 1000;

/// Listings in `<db>`, tokens in `<db>.tokens`, photo bytes in
/// `<db>.photos/`.
#[derive(Debug)]
pub struct SqliteStorage {
    store: Store,
    epoch: u64,
    accounts: Accounts,
    time: Arc<dyn TimeSource>,
    photos: FolderPhotos,
    photo_grace_ms: i64,
}

/// Where the tokens of the listings file `db` are kept.
pub fn tokens_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".tokens");
    PathBuf::from(name)
}

impl SqliteStorage {
    /// Open (creating on first run) the storage at `db`, with the system clock.
    pub fn open(db: &Path) -> Result<SqliteStorage> {
        SqliteStorage::open_with(db, SystemClock::new())
    }

    /// Open with a given time source (station records published as they
    /// come: see [`SqliteStorage::open_with_config`]).
    pub fn open_with(db: &Path, time: Arc<dyn TimeSource>) -> Result<SqliteStorage> {
        SqliteStorage::open_with_config(db, time, |c| c)
    }

    /// The server's store settings: the server's role (none of the phone's
    /// search and map indexes, which a push would otherwise maintain for
    /// nobody), every change numbered, commits durable through power loss.
    /// [`SqliteStorage::open_with_config`] passes them through its `tweak`
    /// (such as the window of station records, `record_window_ms`).
    pub fn server_config() -> StoreConfig {
        StoreConfig {
            role: StoreRole::Server,
            sequence_remote: true,
            synchronous_full: true,
            ..StoreConfig::default()
        }
    }

    /// Open with a given time source and [`SqliteStorage::server_config`]
    /// as changed by `tweak`.
    pub fn open_with_config(
        db: &Path,
        time: Arc<dyn TimeSource>,
        tweak: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> Result<SqliteStorage> {
        let config = tweak(SqliteStorage::server_config());
        let store = Store::open_with(db, time.clone(), config)?;
        let epoch = match store.state_get(STATE_EPOCH)? {
            Some(StateValue::Int(e)) => e as u64,
            _ => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes)
                    .map_err(|_| Error::Corrupt("no randomness for the database epoch".into()))?;
                // Never 0: that is the start cursor's epoch.
                let e = u64::from_le_bytes(bytes) | 1;
                store.set_state(&[(STATE_EPOCH, StateValue::Int(e as i64))])?;
                e
            }
        };
        let accounts = Accounts::open(&tokens_path(db), TOKEN_TTL_MS, time.now_ms())?;
        let photos = FolderPhotos::open(photos_path(db))?;
        Ok(SqliteStorage {
            store,
            epoch,
            accounts,
            time,
            photos,
            photo_grace_ms: PHOTO_GRACE_MS,
        })
    }

    /// The listings store (for import and the demo's printout).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Photos no listing uses are erased by housekeeping after `ms`
    /// (default [`PHOTO_GRACE_MS`]).
    pub fn with_photo_grace_ms(mut self, ms: i64) -> SqliteStorage {
        self.photo_grace_ms = ms;
        self
    }

    /// The photos the items among `changes` use now.
    fn photos_of(&self, changes: &[RowChange]) -> Result<HashSet<PhotoRef>> {
        let mut out = HashSet::new();
        for c in changes.iter().filter(|c| c.table == Table::Item.name()) {
            if let Some(row) = self.store.fetch_row(Table::Item, c.id)? {
                out.extend(
                    row.set("photos")
                        .iter()
                        .filter_map(|r| PhotoRef::parse(r).ok()),
                );
            }
        }
        Ok(out)
    }

    /// Tokens issued from now on live `ttl_ms` (default [`TOKEN_TTL_MS`]).
    pub fn with_token_ttl(mut self, ttl_ms: i64) -> SqliteStorage {
        self.accounts.set_ttl_ms(ttl_ms);
        self
    }
}

impl SyncStorage for SqliteStorage {
    fn push(&self, pusher: &Pusher, changes: &[RowChange], schema: i64) -> Result<PushOutcome> {
        let before = self.photos_of(changes)?;
        let (report, rejections) =
            self.store
                .apply_pushed(pusher, changes, &TokenCredentials(self), schema)?;
        if !before.is_empty() {
            // Photos this push stopped using (a delete, a photo removed):
            // erased now. A failure leaves them to housekeeping.
            match crate::photos::erase_unused(self, before) {
                Ok(0) => {}
                Ok(n) => tracing::info!(erased = n, "photos no listing uses were erased"),
                Err(e) => tracing::warn!(error = %e, "erasing unused photos failed"),
            }
        }
        Ok(PushOutcome {
            accepted: changes.len() - rejections.len(),
            quarantined: report.quarantined,
            rejections,
        })
    }

    fn housekeeping(&self) -> Result<()> {
        self.store.housekeeping(&TokenCredentials(self))?;
        crate::photos::sweep(
            &self.photos,
            &self.store.referenced_photos()?,
            self.photo_grace_ms,
        )?;
        self.accounts.forget_old(self.now_ms())
    }

    fn pull(&self, scope: &Scope, pos: Position, limit: PageLimit) -> Result<ChangePage> {
        self.store.changes_since(pos, limit, scope)
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn current_seq(&self) -> Result<i64> {
        self.store.current_seq()
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
        self.store.photo_users(r)
    }

    fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }

    fn quarantine(&self) -> Result<Vec<fushi_core::store::QuarantinedChange>> {
        self.store.quarantine()
    }

    fn quarantine_drops(&self) -> Result<Vec<fushi_core::store::QuarantineDrop>> {
        self.store.quarantine_drops()
    }

    fn held_records(&self) -> Result<usize> {
        self.store.held_records()
    }

    fn apply_trusted(&self, changes: &[RowChange]) -> Result<()> {
        for change in changes {
            fushi_core::store::validate_received(change)?;
        }
        self.store.apply_remote(changes).map(|_| ())
    }
}
