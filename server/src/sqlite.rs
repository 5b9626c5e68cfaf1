//! The default storage: one embedded SQLite file for the listings (a
//! `fushi_core::Store` that sequences every applied change) and a second one
//! beside it for the tokens. Nothing to install; created on first run.

use crate::storage::{PushOutcome, SyncStorage, TokenStatus};
use fushi_core::crdt::{RowChange, SystemClock, TimeSource};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{
    ChangePage, Credentials, PageLimit, Position, Pusher, Scope, StateValue, SCHEMA_VERSION,
};
use fushi_core::{Error, Result, Store, StoreConfig, StoreRole};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const TOKENS_SQL: &str = "CREATE TABLE IF NOT EXISTS token (
  hash BLOB PRIMARY KEY,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  community TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS token_user ON token(user);";

/// Where the database's epoch is kept (`crdt_state`).
const STATE_EPOCH: &str = "server.epoch";

/// Listings in `<db>`, tokens in `<db>.tokens`.
#[derive(Debug)]
pub struct SqliteStorage {
    store: Store,
    epoch: u64,
    tokens: Mutex<Connection>,
    time: Arc<dyn TimeSource>,
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
        let tokens = Connection::open(tokens_path(db))?;
        tokens.busy_timeout(std::time::Duration::from_secs(5))?;
        tokens.execute_batch(TOKENS_SQL)?;
        Ok(SqliteStorage {
            store,
            epoch,
            tokens: Mutex::new(tokens),
            time,
        })
    }

    /// The listings store (for import and the demo's printout).
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn tokens(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.tokens
            .lock()
            .map_err(|_| Error::Corrupt("token connection lock poisoned".into()))
    }
}

/// Held changes are judged with the token they were pushed with, as it
/// stands when they are released.
struct TokenCredentials<'a>(&'a SqliteStorage);

impl Credentials for TokenCredentials<'_> {
    fn current(&self, key: &[u8]) -> Result<Option<Actor>> {
        let Ok(hash) = <[u8; 32]>::try_from(key) else {
            return Ok(None);
        };
        Ok(match self.0.token(&hash)? {
            TokenStatus::Valid(actor) => Some(actor),
            TokenStatus::Revoked | TokenStatus::Unknown => None,
        })
    }
}

impl SyncStorage for SqliteStorage {
    fn push(&self, pusher: &Pusher, changes: &[RowChange], schema: i64) -> Result<PushOutcome> {
        let (report, rejections) =
            self.store
                .apply_pushed(pusher, changes, &TokenCredentials(self), schema)?;
        Ok(PushOutcome {
            accepted: changes.len() - rejections.len(),
            quarantined: report.quarantined,
            rejections,
        })
    }

    fn housekeeping(&self) -> Result<()> {
        self.store.housekeeping(&TokenCredentials(self))?;
        Ok(())
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

    fn add_token(&self, hash: &[u8; 32], actor: &Actor) -> Result<()> {
        self.tokens()?.execute(
            "INSERT INTO token (hash, user, role, community, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                hash.as_slice(),
                actor.user.to_string(),
                actor.role.as_str(),
                actor.community,
                self.now_ms()
            ],
        )?;
        Ok(())
    }

    fn token(&self, hash: &[u8; 32]) -> Result<TokenStatus> {
        let row = self
            .tokens()?
            .query_row(
                "SELECT user, role, community, revoked_at FROM token WHERE hash = ?1",
                [hash.as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, role, community, revoked)) = row else {
            return Ok(TokenStatus::Unknown);
        };
        if revoked.is_some() {
            return Ok(TokenStatus::Revoked);
        }
        let user = Uuid::parse_str(&user).map_err(|_| Error::Corrupt("bad token user".into()))?;
        let role = Role::parse(&role).ok_or_else(|| Error::Corrupt("bad token role".into()))?;
        Ok(TokenStatus::Valid(Actor {
            user,
            role,
            community,
        }))
    }

    fn revoke_token(&self, hash: &[u8; 32]) -> Result<bool> {
        let n = self.tokens()?.execute(
            "UPDATE token SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
            rusqlite::params![hash.as_slice(), self.now_ms()],
        )?;
        Ok(n > 0)
    }

    fn revoke_user(&self, user: Uuid) -> Result<usize> {
        Ok(self.tokens()?.execute(
            "UPDATE token SET revoked_at = ?2 WHERE user = ?1 AND revoked_at IS NULL",
            rusqlite::params![user.to_string(), self.now_ms()],
        )?)
    }

    fn now_ms(&self) -> i64 {
        self.time.now_ms()
    }

    fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }
}
