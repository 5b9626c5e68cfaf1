//! The phone's store: one SQLite file in WAL mode, one writer and a few readers.
//!
//! Every local write and every batch of remote changes is one transaction that
//! holds the materialized row, its packed clock metadata and the outbox mark
//! (the row's sequence number). The same store, told to sequence every change
//! and opened as [`StoreRole::Server`] (no search or map index), is the sync
//! server's SQLite backend.
//!
//! One concept a file: `schema` (tables, migrations), `write` (local cell
//! writes), `listings` (posting and editing the four kinds), `lifecycle` (an
//! item's queue and hand-over), `skill_sessions`, `nearby` (stations near a
//! worker), `search`, `matching` (needs and offers), `figures`, `changes`
//! (the numbered feed, pages), `outbox` (this phone's unsent changes),
//! `photos` (photo files beside the store, their cache and transfers),
//! `apply` (merging remote changes), `accept` (receiving pushes and pages,
//! refusals), `quarantine` (changes held back), `clockfix`, `bulk`,
//! `state` (small settings), `sql_value` (how a cell is stored).

mod accept;
mod apply;
mod bulk;
mod changes;
mod clockfix;
mod figures;
mod lifecycle;
mod listings;
mod matching;
mod nearby;
mod outbox;
mod photos;
mod quarantine;
mod schema;
mod search;
mod search_index;
mod skill_sessions;
mod sql_value;
mod state;
mod write;

pub use crate::model::ListingKind;
pub use accept::{clock_denial_at, known_at, readable, Rejection};
pub(crate) use apply::{apply_row, Origin};
pub use apply::{
    validate, validate_at, validate_received, validate_received_at, ApplyReport, MAX_CELLS_PER_ROW,
};
pub use changes::{city_wide, wire_size, ChangePage, PageLimit, Position, Scope};
pub use figures::{Figures, Period};
pub use lifecycle::{Expiry, ItemLifecycle, ItemState, QueuedRequest, EXPIRING_SOON_DAYS};
pub use matching::{Match, MatchScore};
pub use nearby::{NearbyQuery, NearbyStation, StationReport};
pub use photos::{
    photos_dir, PhotoSize, PhotoTransfers, PhotoUse, PhotoView, DEFAULT_PHOTO_CACHE_BYTES,
};
pub(crate) use quarantine::hold_unreadable;
pub use quarantine::{Credentials, Pusher, QuarantineDrop, QuarantinedChange};
pub use schema::{MIN_SCHEMA_VERSION, SCHEMA_VERSION};
pub use search::{SearchHit, SearchPage, SearchQuery, SortBy, EXACT_MAX_MATCHES};
pub use search_index::{index_path as search_index_path, IndexHold, SearchIndexStatus};
pub(crate) use state::set_state_in;
pub use state::StateValue;

/// What the benchmarks' plain-SQLite baseline shares with the store (feature
/// `bench-baseline`, for `fushi-bench` only): the item table's shape without
/// merge metadata, the item search index and the SQL functions its triggers
/// call, so the baseline indexes exactly as the store does.
#[cfg(feature = "bench-baseline")]
pub mod baseline {
    pub use super::schema::{plain_table_sql, ITEM_SEARCH_SQL};
    pub use super::search::register_functions;
}

use crate::crdt::{Hlc, SiteId, Stamp, SystemClock, TimeSource};
use crate::model::tables::Table;
use crate::policy::{Actor, Facts, RowFacts};
use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use uuid::Uuid;

/// How far (milliseconds) a remote clock may run ahead of ours before its
/// change is quarantined: 5 minutes.
pub const DEFAULT_SKEW_BOUND_MS: i64 = 5 * 60 * 1000;

/// How far (milliseconds) a pushed clock may run ahead of the server's time
/// at all: one day. Further ahead, the server refuses the row
/// ([`crate::policy::Denial::ClockAhead`]) rather than hold it.
pub const DEFAULT_MAX_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;

/// Clocks before this (2020-01-01T00:00Z, Unix ms) are refused by the server
/// ([`crate::policy::Denial::ClockTooOld`]): no phone of this app wrote then.
pub const MIN_CLOCK_MS: i64 = 1_577_836_800_000;

/// Which kind of replica a store is, and so what it keeps besides the rows,
/// their merge metadata and the sync bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StoreRole {
    /// A phone: also keeps the indexes of the offline queries, maintained by
    /// triggers on every write (full text of items, skills and needs; the
    /// stations' R*Tree and amenity mask; the recency and period indexes).
    #[default]
    Phone,
    /// The sync server: none of the phone's query indexes, so a push
    /// maintains only what the server reads. The phone-only queries
    /// ([`Store::search`], [`Store::nearest_stations`],
    /// [`Store::matches_for_need`]) answer [`Error::PhoneOnly`]. A file
    /// that held them (a phone's, or a server's from before the roles)
    /// loses them when opened as a server, and gets them back, rebuilt from
    /// its rows, when opened as a phone.
    Server,
}

impl StoreRole {
    /// The role's name as kept in the file (`crdt_state`).
    pub fn as_str(self) -> &'static str {
        match self {
            StoreRole::Phone => "phone",
            StoreRole::Server => "server",
        }
    }
}

/// Settings of a store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// A phone's store or the server's (see [`StoreRole`]).
    pub role: StoreRole,
    /// Quarantine remote changes whose clock is further ahead than this.
    pub skew_bound_ms: i64,
    /// Number every remotely applied change with a fresh sequence (the server),
    /// rather than only local writes (a phone's outbox).
    pub sequence_remote: bool,
    /// How many reader connections to keep.
    pub readers: usize,
    /// Days an item stays listed before it expires.
    pub item_ttl_days: i64,
    /// Hours a station report stays current.
    pub report_ttl_hours: i64,
    /// Commit with `synchronous=FULL`: a committed transaction survives a
    /// power loss (the server, which acknowledges pushes). Phones keep
    /// `NORMAL` (durable across an app crash, and the outbox is resent).
    pub synchronous_full: bool,
    /// Checked pushes (the server): refuse rows with a clock further ahead
    /// than this.
    pub max_ahead_ms: i64,
    /// Checked pushes: most changes one user may have held in quarantine.
    pub quarantine_max_rows: usize,
    /// Checked pushes: most bytes (of the held changes' JSON) one user may
    /// have held in quarantine.
    pub quarantine_max_bytes: usize,
    /// Held changes older than this (since they arrived) are dropped, and
    /// the drop recorded.
    pub quarantine_expiry_ms: i64,
    /// Station reports and check-ins received are held and published in
    /// shuffled batches per window of this length (0: applied at once, as
    /// on phones). See `docs/PROTOCOL.md`, "What an observer learns".
    pub record_window_ms: i64,
    /// A window's batch waits for at least this many records …
    pub record_min_batch: usize,
    /// A phone's full-text index is brought up to date by a thread of the
    /// store, started when listings change and ended when it is done
    /// (`search_index.rs`). Off: only [`Store::index_search_now`] does it
    /// (searches are right either way: they scan what waits).
    pub search_in_background: bool,
    /// … unless its oldest record has waited this long.
    pub record_max_hold_ms: i64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            role: StoreRole::Phone,
            skew_bound_ms: DEFAULT_SKEW_BOUND_MS,
            sequence_remote: false,
            readers: 4,
            item_ttl_days: 30,
            report_ttl_hours: 4,
            synchronous_full: false,
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
            quarantine_max_rows: 200,
            quarantine_max_bytes: 256 * 1024,
            quarantine_expiry_ms: 7 * 24 * 60 * 60 * 1000,
            record_window_ms: 0,
            record_min_batch: 5,
            search_in_background: true,
            record_max_hold_ms: 60 * 60 * 1000,
        }
    }
}

/// What the writer connection keeps in memory between transactions.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    /// Local sequence counter: the last number handed out.
    pub(crate) seq: i64,
    /// The clock: the last value issued or received.
    pub(crate) hlc: Hlc,
    /// The clock value persisted as a ceiling; `hlc` never passes it without
    /// persisting a new one, so a restart never reissues a clock.
    pub(crate) hlc_ceiling: Hlc,
    pub(crate) sites: SiteCache,
    /// `PRAGMA data_version` as of this connection's last transaction: it
    /// changes when another connection (another process, such as
    /// `import-stations`) commits, and then the counters above are read
    /// again from the database before anything is numbered.
    pub(crate) data_version: i64,
}

/// Site UUIDs and their small integers in this database.
#[derive(Default)]
pub(crate) struct SiteCache {
    by_idx: HashMap<u32, SiteId>,
    by_uuid: HashMap<SiteId, u32>,
}

impl SiteCache {
    pub(crate) fn uuid(&self, idx: u32) -> Result<SiteId> {
        self.by_idx
            .get(&idx)
            .copied()
            .ok_or_else(|| Error::Corrupt("unknown site index".into()))
    }

    /// The small integer of `site`, registering it if new.
    pub(crate) fn idx(&mut self, conn: &Connection, site: SiteId) -> Result<u32> {
        if let Some(i) = self.by_uuid.get(&site) {
            return Ok(*i);
        }
        conn.prepare_cached("INSERT INTO crdt_site (uuid) VALUES (?1)")?
            .execute([site.0.as_bytes()])?;
        let idx = u32::try_from(conn.last_insert_rowid())
            .map_err(|_| Error::Corrupt("too many sites".into()))?;
        self.by_idx.insert(idx, site);
        self.by_uuid.insert(site, idx);
        Ok(idx)
    }

    fn load(conn: &Connection) -> Result<SiteCache> {
        let mut cache = SiteCache::default();
        let mut stmt = conn.prepare("SELECT idx, uuid FROM crdt_site")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        for row in rows {
            let (idx, bytes) = row?;
            let uuid =
                Uuid::from_slice(&bytes).map_err(|_| Error::Corrupt("bad site id".into()))?;
            cache.by_idx.insert(idx, SiteId(uuid));
            cache.by_uuid.insert(SiteId(uuid), idx);
        }
        Ok(cache)
    }
}

/// A row that changed: what the app refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChangedRow {
    /// What kind of row (its table).
    pub kind: Table,
    /// Its id.
    pub id: Uuid,
}

impl From<(Table, Uuid)> for ChangedRow {
    fn from((kind, id): (Table, Uuid)) -> Self {
        ChangedRow { kind, id }
    }
}

/// Hears the rows a committed write changed ([`Store::set_change_listener`]).
pub type ChangeListener = Arc<dyn Fn(&[ChangedRow]) + Send + Sync>;

/// Rows in first-seen order, each once.
fn dedup(rows: Vec<(Table, Uuid)>) -> Vec<(Table, Uuid)> {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    rows.into_iter().filter(|r| seen.insert(*r)).collect()
}

/// A replica of the community's listings in one SQLite file.
pub struct Store {
    /// The phone's full-text index (none on the server). First, so its
    /// thread has stopped before the connections close.
    search_index: Option<search_index::SearchIndex>,
    path: PathBuf,
    // Fields drop in order: the read-only connections close before the
    // writer, so the writer's close (the last one) checkpoints the WAL into
    // the file and removes it.
    /// Reader connections, each with the making of the search index file
    /// it has attached ([`search_index::SearchIndex::epoch`]).
    readers: Mutex<Vec<(Connection, u64)>>,
    /// Shared with the search index's thread, which records what it
    /// indexed (its marks, its notes) through it (a write by another
    /// connection would make the writer reload its clock ceiling).
    writer: Arc<Mutex<Writer>>,
    time: Arc<dyn TimeSource>,
    config: StoreConfig,
    site: SiteId,
    actor: RwLock<Option<Actor>>,
    hours: nearby::HoursState,
    listener: RwLock<Option<ChangeListener>>,
    /// The community's compounds, which residents' listing positions snap
    /// to ([`Store::set_compounds`]).
    compounds: RwLock<Vec<crate::geo::Compound>>,
    /// Photo transfers in flight and done since open (`photos`).
    transfers: photos::TransferCounters,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("site", &self.site)
            .finish()
    }
}

fn map_open_error(e: rusqlite::Error) -> Error {
    open_error(Error::from(e))
}

/// A failure while opening: a file that is no database, or a damaged one,
/// is [`Error::Corrupt`].
fn open_error(e: Error) -> Error {
    use rusqlite::ErrorCode;
    let Error::Storage(s) = e else {
        return e;
    };
    match s.sqlite().sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::Corrupt("not a SQLite database".into()),
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt("SQLite reports corruption".into()),
        _ => Error::Storage(s),
    }
}

const STATE_SITE: &str = "site";
const STATE_HLC: &str = "hlc_ceiling";
/// How far ahead of the issued clock the persisted ceiling is put (10 s).
const CEILING_STEP: u64 = 10_000 << 16;

impl Store {
    /// Open (creating if needed) the store at `path` with the system clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, SystemClock::new(), StoreConfig::default())
    }

    /// Open with a given time source and settings.
    pub fn open_with(
        path: impl AsRef<Path>,
        time: Arc<dyn TimeSource>,
        config: StoreConfig,
    ) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(map_open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // The apply path prepares a few statements per table (select, insert,
        // updates by column set, tags): more than rusqlite's default 16, which
        // would re-prepare them in a cycle during a sync touching every table.
        conn.set_prepared_statement_cache_capacity(64);
        // Reading the schema first touches the header: a damaged or foreign
        // file fails here, before anything is written to it.
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(map_open_error)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(map_open_error)?;
        if found > schema::SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: schema::SCHEMA_VERSION,
            });
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(map_open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode = %mode, "WAL mode not available");
        }
        // FULL syncs the WAL at every commit, so an acknowledged push
        // survives power loss; NORMAL (phones) may lose the last commits
        // then, but never corrupts.
        let sync = if config.synchronous_full {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // 16 MiB of page cache for the writer (SQLite's default is 2 MiB):
        // one sync page of edits touches about a thousand table pages, and
        // with the default cache the dirty ones spill into the WAL in the
        // middle of the transaction and are written again at commit.
        conn.pragma_update(None, "cache_size", -16384)?;
        // Checkpoint the WAL every 4000 pages (16 MiB) rather than 1000: a
        // sync commits a page of changes at a time, each dirtying up to a
        // thousand table pages, and with the default nearly every page's
        // commit ran a checkpoint with its fsync.
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        search::register_functions(&conn)?;
        schema::migrate(&mut conn, config.role).map_err(open_error)?;

        let site_bytes: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM crdt_state WHERE key = ?1",
                [STATE_SITE],
                |r| r.get(0),
            )
            .optional()?;
        let site = match site_bytes {
            Some(b) => {
                SiteId(Uuid::from_slice(&b).map_err(|_| Error::Corrupt("bad site id".into()))?)
            }
            None => {
                let site = SiteId(Uuid::new_v4());
                conn.execute(
                    "INSERT INTO crdt_state (key, value) VALUES (?1, ?2)",
                    rusqlite::params![STATE_SITE, site.0.as_bytes().to_vec()],
                )?;
                site
            }
        };
        let mut sites = SiteCache::load(&conn)?;
        sites.idx(&conn, site)?;
        let hlc_ceiling = persisted_ceiling(&conn)?;
        let seq = apply::max_seq(&conn)?;
        let data_version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let writer = Writer {
            conn,
            seq,
            hlc: hlc_ceiling,
            hlc_ceiling,
            sites,
            data_version,
        };
        tracing::debug!(seq, "store opened");
        let writer = Arc::new(Mutex::new(writer));
        let search_index = match config.role {
            StoreRole::Phone => Some(search_index::SearchIndex::open(
                &path,
                writer.clone(),
                config.search_in_background,
            )?),
            StoreRole::Server => None,
        };
        let noted = match &search_index {
            Some(s) => s.any_pending()?,
            None => false,
        };
        let store = Store {
            search_index,
            path,
            writer,
            readers: Mutex::new(Vec::new()),
            time,
            config,
            site,
            actor: RwLock::new(None),
            hours: nearby::HoursState::default(),
            listener: RwLock::new(None),
            compounds: RwLock::new(Vec::new()),
            transfers: photos::TransferCounters::default(),
        };
        // Only a phone evaluates hours.
        if store.config.role == StoreRole::Phone {
            store.reload_calendars();
        }
        if noted {
            store.kick_search_index();
        }
        Ok(store)
    }

    /// This replica's site id.
    pub fn site(&self) -> SiteId {
        self.site
    }

    /// The store's settings.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The time source (corrected by the server's offset after a sync).
    pub fn time(&self) -> &Arc<dyn TimeSource> {
        &self.time
    }

    /// Current time in Unix milliseconds, from the store's time source.
    pub fn now_ms(&self) -> i64 {
        self.time.now_ms()
    }

    /// Refuse a query that reads the phone's indexes on a server's store
    /// (it has none): `what` names the query.
    pub(crate) fn phone_only(&self, what: &'static str) -> Result<()> {
        match self.config.role {
            StoreRole::Phone => Ok(()),
            StoreRole::Server => Err(Error::PhoneOnly(what)),
        }
    }

    /// Sign a user in: later writes are made, and checked, as this user.
    pub fn set_actor(&self, actor: Option<Actor>) {
        if let Ok(mut a) = self.actor.write() {
            *a = actor;
        }
    }

    /// The signed-in user.
    pub fn actor(&self) -> Result<Actor> {
        self.actor
            .read()
            .ok()
            .and_then(|a| a.clone())
            .ok_or(Error::NotSignedIn)
    }

    pub(crate) fn writer(&self) -> Result<MutexGuard<'_, Writer>> {
        self.writer
            .lock()
            .map_err(|_| Error::Corrupt("writer lock poisoned".into()))
    }

    /// Run `f` on a read-only connection, inside one read transaction: every
    /// statement `f` runs sees the same committed state (one snapshot), so a
    /// query made of several statements never mixes states from before and
    /// after a sync page that commits meanwhile. Readers never block the
    /// writer (WAL).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut pool = self
                .readers
                .lock()
                .map_err(|_| Error::Corrupt("reader pool poisoned".into()))?;
            pool.pop()
        };
        let epoch = self.search_index.as_ref().map_or(0, |s| s.epoch());
        let (conn, epoch) = match conn {
            // A reader attached to an index file made again since is dropped.
            Some((c, e)) if e == epoch => (c, e),
            _ => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(map_open_error)?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                search::register_functions(&c)?;
                if let Some(s) = &self.search_index {
                    search_index::attach(&c, s.path())?;
                }
                (c, epoch)
            }
        };
        let out = read_snapshot(&conn, self.search_index.is_some(), f);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < self.config.readers {
                pool.push((conn, epoch));
            }
        }
        out
    }

    /// Run `f` in one write transaction. The clock ceiling is persisted in the
    /// same transaction when the clock passed it.
    pub(crate) fn write_tx<T>(&self, f: impl FnOnce(&mut WriteCtx<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.writer()?;
        let w = &mut *guard;
        // IMMEDIATE: take the write lock up front, waiting (busy timeout) for
        // any brief lock a reader holds, rather than failing when a read
        // transaction is upgraded to a write half-way.
        let tx = w
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Under the write lock, before anything is numbered: if another
        // connection wrote the file since our last transaction, take the
        // sequence, sites and clock ceiling from what it persisted, so no
        // number or clock it handed out is handed out again.
        let dv: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if dv != w.data_version {
            w.seq = w.seq.max(apply::max_seq(&tx)?);
            w.sites = SiteCache::load(&tx)?;
            let ceiling = persisted_ceiling(&tx)?;
            w.hlc_ceiling = w.hlc_ceiling.max(ceiling);
            w.hlc = w.hlc.max(ceiling);
            w.data_version = dv;
        }
        let (seq0, hlc0, ceiling0) = (w.seq, w.hlc, w.hlc_ceiling);
        let mut ctx = WriteCtx {
            tx: &tx,
            seq: &mut w.seq,
            hlc: &mut w.hlc,
            ceiling: &mut w.hlc_ceiling,
            sites: &mut w.sites,
            now_ms: self.time.now_ms(),
            config: &self.config,
            local_site: self.site,
            changed: Vec::new(),
        };
        let result = f(&mut ctx);
        let changed = std::mem::take(&mut ctx.changed);
        let out = match result {
            Ok(v) => {
                let ceiling =
                    (w.hlc > w.hlc_ceiling).then(|| Hlc(w.hlc.0.saturating_add(CEILING_STEP)));
                let committed = ceiling
                    .map(|c| {
                        tx.execute(
                            "INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)",
                            rusqlite::params![STATE_HLC, c.0 as i64],
                        )
                    })
                    .transpose()
                    .and_then(|_| tx.commit());
                match committed {
                    Ok(()) => {
                        if let Some(c) = ceiling {
                            w.hlc_ceiling = c;
                        }
                        Ok(v)
                    }
                    Err(e) => Err(Error::from(e)),
                }
            }
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        if out.is_err() {
            // The transaction rolled back; forget what it handed out.
            w.seq = seq0;
            w.hlc = hlc0;
            w.hlc_ceiling = ceiling0;
            w.sites = SiteCache::load(&w.conn).unwrap_or_default();
            return out;
        }
        // Tell the listener once the writer is free again: it may read
        // the store (or write to it) from its callback.
        drop(guard);
        if !changed.is_empty() {
            // Only a phone evaluates hours (as at open).
            if self.config.role == StoreRole::Phone
                && changed.iter().any(|(t, _)| *t == Table::HolidayCalendar)
            {
                self.reload_calendars();
            }
            if changed
                .iter()
                .any(|(t, _)| matches!(t, Table::Item | Table::Skill | Table::Need))
            {
                self.kick_search_index();
            }
            self.tell_listener(&dedup(changed));
        }
        out
    }

    /// Start bringing the full-text index up to date (a phone's, in the
    /// background: see [`StoreConfig::search_in_background`]).
    fn kick_search_index(&self) {
        if let Some(s) = &self.search_index {
            s.kick();
        }
    }

    /// Hold the full-text index's background work while many listings
    /// arrive at once (the sync client holds it for each pull; an app
    /// restoring or importing in bulk may too): the listings are usable
    /// sooner, searches scan what waits meanwhile, and the index is built
    /// after, when the last hold is dropped. `None` on the server's store.
    pub fn hold_search_index(&self) -> Option<IndexHold> {
        self.search_index
            .as_ref()
            .map(search_index::SearchIndex::hold)
    }

    /// Bring the full-text index up to date now, on this thread (tests, and
    /// apps that turned [`StoreConfig::search_in_background`] off). Returns
    /// how many listings were indexed. On the server's store:
    /// [`Error::PhoneOnly`].
    pub fn index_search_now(&self) -> Result<u64> {
        self.phone_only("search")?;
        match &self.search_index {
            Some(s) => s.index_now(),
            None => Ok(0),
        }
    }

    /// How far the full-text index is (listings waiting) and whether it was
    /// made again since the store opened. On the server's store:
    /// [`Error::PhoneOnly`].
    pub fn search_index_status(&self) -> Result<SearchIndexStatus> {
        self.phone_only("search")?;
        let pending = self.read(|c| search_index::pending_count(c, i64::MAX))?;
        Ok(SearchIndexStatus {
            pending,
            rebuilt: self.search_index.as_ref().and_then(|s| s.rebuilt()),
        })
    }

    /// Run a read of the search index; if the index file turns out damaged,
    /// make it again (the listings all noted) and run the read once more.
    pub(crate) fn read_search<T>(&self, f: impl Fn(&Connection) -> Result<T>) -> Result<T> {
        match self.read(&f) {
            Err(e) if search_index::is_damage(&e) => {
                let Some(s) = &self.search_index else {
                    return Err(e);
                };
                s.rebuild("damaged")?;
                self.read(f)
            }
            other => other,
        }
    }

    /// Hear, after every committed write, which rows' content it changed:
    /// a local action, a pulled page, a refusal rolled back, a quarantined
    /// change released. The one place the app learns what to refresh.
    /// Called on the writing thread, after the writer is released; replaces
    /// any listener set before (`None` removes it).
    pub fn set_change_listener(&self, listener: Option<ChangeListener>) {
        if let Ok(mut l) = self.listener.write() {
            *l = listener;
        }
    }

    fn tell_listener(&self, changed: &[(Table, Uuid)]) {
        let listener = self.listener.read().ok().and_then(|l| l.clone());
        if let Some(l) = listener {
            let rows: Vec<ChangedRow> = changed.iter().copied().map(ChangedRow::from).collect();
            l(&rows);
        }
    }
}

/// The clock ceiling persisted in the database (zero if none yet).
fn persisted_ceiling(conn: &Connection) -> Result<Hlc> {
    let ceiling: i64 = conn
        .query_row(
            "SELECT value FROM crdt_state WHERE key = ?1",
            [STATE_HLC],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    Ok(Hlc(ceiling as u64))
}

/// Run `f` in one read transaction on `conn` (ended, never committed: it
/// wrote nothing).
fn read_snapshot<T>(
    conn: &Connection,
    index_attached: bool,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let tx = conn.unchecked_transaction()?;
    if index_attached {
        // The store's file first: each file's snapshot is taken when the
        // transaction first reads it, and the index file must be read as
        // of the same moment or later. The index's marks and notes (in the
        // store's file) then never claim more than the index holds. Read
        // the other way round (FTS5 can touch its file before the statement
        // reads the store's), a pass committed in between left its listings
        // in neither half: marked as indexed, missing from the older index
        // (`tests/search_index.rs`, searches during indexing).
        tx.query_row("PRAGMA main.schema_version", [], |_| Ok(()))?;
    }
    let out = f(&tx);
    // Ending a read transaction cannot lose anything; an error here only
    // means it already ended.
    let _ = tx.rollback();
    out
}

/// The state of one write transaction.
pub(crate) struct WriteCtx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
    pub(crate) seq: &'a mut i64,
    pub(crate) hlc: &'a mut Hlc,
    /// The persisted clock ceiling; lowering it makes the commit persist a
    /// new one just above `hlc`.
    pub(crate) ceiling: &'a mut Hlc,
    pub(crate) sites: &'a mut SiteCache,
    pub(crate) now_ms: i64,
    pub(crate) config: &'a StoreConfig,
    pub(crate) local_site: SiteId,
    /// Rows whose content this transaction changed, in order (repeats
    /// allowed): told to the change listener after the commit.
    pub(crate) changed: Vec<(Table, Uuid)>,
}

impl WriteCtx<'_> {
    /// A fresh stamp for a local write.
    pub(crate) fn stamp(&mut self) -> Stamp {
        *self.hlc = self.hlc.tick(self.now_ms);
        Stamp {
            clock: *self.hlc,
            site: self.local_site,
        }
    }

    /// The next local sequence number.
    pub(crate) fn next_seq(&mut self) -> i64 {
        *self.seq += 1;
        *self.seq
    }
}

/// The UUID of a site by its small integer, read through any connection
/// (readers do not share the writer's cache, so they never wait for it).
pub(crate) fn site_uuid(conn: &Connection, idx: u32) -> Result<SiteId> {
    let bytes: Vec<u8> = conn
        .prepare_cached("SELECT uuid FROM crdt_site WHERE idx = ?1")?
        .query_row([idx], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::Corrupt("unknown site index".into()))?;
    Uuid::from_slice(&bytes)
        .map(SiteId)
        .map_err(|_| Error::Corrupt("bad site id".into()))
}

/// Facts for the policy check, read inside the write transaction.
pub(crate) struct TxFacts<'a>(pub(crate) &'a Connection);

impl Facts for TxFacts<'_> {
    type Error = Error;

    fn row(&self, table: Table, id: Uuid) -> Result<Option<RowFacts>> {
        row_facts(self.0, table, id)
    }

    fn set_tags(&self, table: Table, id: Uuid, column: usize) -> Result<Vec<(String, Stamp)>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT t.elem, t.clock, t.site FROM {} r JOIN crdt_tag t INDEXED BY crdt_tag_present \
             ON t.tbl = ?2 AND t.rid = r.rid AND t.col = ?3 AND t.removed = 0 WHERE r.id = ?1",
            table.name()
        ))?;
        let rows = stmt.query_map(
            rusqlite::params![id.as_bytes(), table as i64, column as i64],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, u32>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (elem, clock, site) = row?;
            out.push((
                elem,
                Stamp {
                    clock: Hlc(clock as u64),
                    site: site_uuid(self.0, site)?,
                },
            ));
        }
        Ok(out)
    }
}

/// The policy facts of one row.
pub(crate) fn row_facts(conn: &Connection, table: Table, id: Uuid) -> Result<Option<RowFacts>> {
    let row = conn
        .prepare_cached(facts_sql(table))?
        .query_row([id.as_bytes()], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    Ok(
        row.map(|(owner, community, created_at, parent, deleted)| RowFacts {
            owner: owner.and_then(|s| Uuid::parse_str(&s).ok()),
            community: community.unwrap_or_default(),
            created_at,
            parent: parent.and_then(|s| Uuid::parse_str(&s).ok()),
            deleted: deleted != 0,
        }),
    )
}

/// The facts query of a table, built once: every local write and every
/// pushed row runs it.
fn facts_sql(table: Table) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        crate::model::tables::TABLES
            .iter()
            .map(|def| {
                let has = |c: &str| def.column_index(c).is_some();
                let or_null = |c: &'static str| if has(c) { c } else { "NULL" };
                let owner = ["owner", "requester", "by_user"]
                    .into_iter()
                    .find(|c| has(c))
                    .unwrap_or("NULL");
                let deleted = if def.tombstone().is_some() {
                    "deleted"
                } else {
                    "0"
                };
                format!(
                    "SELECT {owner}, community, {}, {}, {deleted} FROM {} WHERE id = ?1",
                    or_null("created_at"),
                    or_null("item_id"),
                    def.name
                )
            })
            .collect()
    });
    &all[table as usize]
}
