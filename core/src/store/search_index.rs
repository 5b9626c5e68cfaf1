//! The full-text index of items, skills and needs, in a file of its own
//! beside the store (`<db>.search`), built in the background.
//!
//! Why apart: indexing is nearly all the cost of receiving listings (FTS5
//! gathers every pair of characters of every listing). Kept by triggers in
//! the store's file, it made a first sync several times slower and held the
//! writer while it ran. Now nothing is done for the index when a listing
//! arrives: the listings above each kind's mark (`search_mark`, the last
//! `rid` indexed) are new, and only a changed or removed listing is noted
//! by a trigger (`search_pending`, sql/search_pending.sql). So a sync
//! applies its rows at the merge's own speed and the app can browse, find
//! stations and open items at once. A thread of the store then indexes
//! the new and noted listings in large transactions on the index file,
//! which never hold the store's writer; only moving the marks and clearing
//! the notes taken writes to the store (a few milliseconds). Searches read
//! the index and scan just the listings still waiting
//! ([`crate::store::Store::search`]), so they are right at every moment,
//! only slower while many wait.
//!
//! The thread starts when listings are written and ends when none wait:
//! nothing runs while the app is idle.
//!
//! The index is derived data. When its file is missing, damaged, of another
//! version or of another store file (a restored backup), it is made again
//! and every listing waits for it (the marks back at 0); the store says so
//! in the log and in [`SearchIndexStatus::rebuilt`].

use super::schema::reset_search_mark;
use super::search::register_functions;
use super::Writer;
use crate::search::tokens::{index_tokens, index_tokens_of};
use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The index file's tables (run on the index file itself).
const SEARCH_INDEX_SQL: &str = include_str!("sql/search_index.sql");
/// The shape of the index (its tokens and tables): a file of another
/// version is made again.
const INDEX_VERSION: i64 = 1;
/// `crdt_state` key of the generation of the store's index file: the index
/// file keeps the same number, so a file from another store (or an older
/// copy of this one) is recognised.
const STATE_GENERATION: &str = "search.generation";
/// How many bytes of terms FTS5 gathers in memory before writing them out
/// (`hashsize`, kept in the index file's configuration). Measured on 100k
/// listings, runs alternated: 2 MiB built at 8.2–13.1k listings/s, 16 MiB
/// at 7.4–13.7k (no difference the machine's noise lets us see), and the
/// peak memory of a first sync and its index dropped from 81 to 48 MiB
/// (BENCHMARKS.md, issue 16).
const HASH_BYTES: i64 = 2 * 1024 * 1024;
/// Most listings one index transaction takes (about a second of work at
/// the figures in BENCHMARKS.md; it holds only the index file).
const BATCH_ROWS: usize = 10_000;

/// Where the index of the store at `db` is kept.
pub fn index_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".search");
    PathBuf::from(name)
}

/// What the full-text index is doing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchIndexStatus {
    /// Listings not in the index yet (searches scan them meanwhile).
    pub pending: u64,
    /// Why the index was made again from the listings since the store was
    /// opened, if it was: `missing` (its file was gone), `damaged`,
    /// `outdated` (another version), `other_database` (it belonged to
    /// another store file).
    pub rebuilt: Option<String>,
}

/// A kind of listing in the full-text index, described once for the
/// indexer (which text it indexes) and for search (where a query looks,
/// and what a match is checked against).
pub(crate) struct IndexedKind {
    /// Its number in the index's marks and notes.
    pub(crate) no: i64,
    /// Its table in the store.
    pub(crate) table: &'static str,
    /// Its FTS5 table in the index file.
    pub(crate) fts: &'static str,
    /// The columns of its text after the title; the category's label comes
    /// after them.
    pub(crate) body: &'static [&'static str],
}

impl IndexedKind {
    /// Its text as SQL over the listing `t`, in order: the title, the body
    /// columns, the category's label.
    pub(crate) fn fields_sql(&self) -> String {
        let mut sql = String::from("t.title");
        for c in self.body {
            sql.push_str(", t.");
            sql.push_str(c);
        }
        sql.push_str(&format!(", fushi_label('{}', t.category)", self.table));
        sql
    }
}

/// Items in the index.
pub(crate) const ITEM_TEXT: IndexedKind = IndexedKind {
    no: 0,
    table: "item",
    fts: "item_fts",
    body: &["description", "swap_for", "pickup_area", "tags"],
};
/// Skills in the index.
pub(crate) const SKILL_TEXT: IndexedKind = IndexedKind {
    no: 1,
    table: "skill",
    fts: "skill_fts",
    body: &["description", "availability"],
};
/// Needs in the index.
pub(crate) const NEED_TEXT: IndexedKind = IndexedKind {
    no: 2,
    table: "need",
    fts: "need_fts",
    body: &["description"],
};
/// The kinds in the index (`no` is their place here).
pub(crate) const KINDS: [&IndexedKind; 3] = [&ITEM_TEXT, &SKILL_TEXT, &NEED_TEXT];

/// The index of one store.
pub(crate) struct SearchIndex {
    shared: Arc<Shared>,
}

struct Shared {
    /// The store's writer: the marks and notes are moved through it.
    writer: Arc<Mutex<Writer>>,
    db: PathBuf,
    path: PathBuf,
    background: bool,
    stop: AtomicBool,
    /// Holds taken while a sync pulls its pages ([`SearchIndex::hold`]):
    /// indexing waits for them, and starts when the last one ends.
    holds: AtomicUsize,
    /// Listings were written while held, or a pass stopped for a hold.
    deferred: AtomicBool,
    /// One indexing pass at a time (the thread's, or a caller's).
    pass: Mutex<()>,
    thread: Mutex<Worker>,
    /// Bumped each time the file is made again: readers attached to an
    /// older file are dropped.
    epoch: AtomicU64,
    rebuilt: Mutex<Option<String>>,
}

#[derive(Default)]
struct Worker {
    handle: Option<JoinHandle<()>>,
    running: bool,
    again: bool,
}

/// Why the index file cannot be used as it is, if it cannot.
fn check(path: &Path, generation: Option<i64>) -> Option<&'static str> {
    if !path.exists() {
        return Some(if generation.is_none() {
            "new"
        } else {
            "missing"
        });
    }
    let read = || -> rusqlite::Result<(Connection, Option<i64>, Option<i64>)> {
        let c = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let get = |key: &str| -> rusqlite::Result<Option<i64>> {
            c.query_row("SELECT value FROM search_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        };
        let (version, generation) = (get("version")?, get("generation")?);
        Ok((c, version, generation))
    };
    match read() {
        Err(_) => Some("damaged"),
        Ok((c, Some(INDEX_VERSION), g)) if g.is_some() && g == generation => {
            // Kept: its configuration brought to this version's, on the
            // same connection.
            match keep_hash_size(&c) {
                Ok(()) => None,
                Err(e) if is_busy(&e) => {
                    // Another store on this file is writing its index: a
                    // tuning knob is left as it was, until a later open.
                    tracing::debug!("search index busy: its hash size is set at a later open");
                    None
                }
                Err(e) => {
                    // Readable enough for its version, not to configure.
                    tracing::warn!(error = %e, "search index configuration unreadable");
                    Some("damaged")
                }
            }
        }
        Ok((_, Some(INDEX_VERSION), _)) => Some("other_database"),
        Ok(_) => Some("outdated"),
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Corrupt(format!(
            "cannot remove the search index: {e}"
        ))),
    }
}

/// Make the index file again, empty, with every listing to be indexed (on
/// the store's writer connection `store`).
fn make_file(path: &Path, store: &Connection, reason: &str) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        remove_file(Path::new(&p))?;
    }
    let generation = (uuid::Uuid::new_v4().as_u64_pair().0 >> 1) as i64;
    {
        let c = Connection::open(path)?;
        c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        c.execute_batch(SEARCH_INDEX_SQL)?;
        c.execute(
            "INSERT INTO search_meta (key, value) VALUES ('version', ?1), ('generation', ?2)",
            [INDEX_VERSION, generation],
        )?;
        keep_hash_size(&c)?;
    }
    let tx = store.unchecked_transaction()?;
    tx.execute(
        "INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)",
        rusqlite::params![STATE_GENERATION, generation],
    )?;
    reset_search_mark(&tx)?;
    tx.commit()?;
    if reason == "new" {
        tracing::debug!("search index file made");
    } else {
        tracing::warn!(reason, "search index made again from the listings");
    }
    Ok(())
}

/// Gather at most [`HASH_BYTES`] of terms in memory: set in the index
/// file's configuration when it differs (a new file, or one made by an
/// earlier version, which gathered 16 MiB).
fn keep_hash_size(c: &Connection) -> Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(1))?;
    for k in KINDS {
        let found: Option<i64> = c
            .query_row(
                &format!("SELECT v FROM {}_config WHERE k = 'hashsize'", k.fts),
                [],
                |r| r.get(0),
            )
            .optional()?;
        if found != Some(HASH_BYTES) {
            c.execute(
                &format!(
                    "INSERT INTO {fts} ({fts}, rank) VALUES ('hashsize', ?1)",
                    fts = k.fts
                ),
                [HASH_BYTES],
            )?;
        }
    }
    Ok(())
}

/// A connection that indexes: the store's file, with the index attached.
fn indexer_connection(db: &Path, path: &Path) -> Result<Connection> {
    let c = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    register_functions(&c)?;
    attach(&c, path)?;
    c.pragma_update(Some("s"), "synchronous", "NORMAL")?;
    // 2 MiB for the index file's pages: 8 MiB built no faster and held
    // more memory while a phone indexes (BENCHMARKS.md, issue 16).
    c.pragma_update(Some("s"), "cache_size", -2048)?;
    Ok(c)
}

/// Attach the index file at `path` as schema `s` (read-only on a read-only
/// connection).
pub(crate) fn attach(conn: &Connection, path: &Path) -> Result<()> {
    let p = path
        .to_str()
        .ok_or_else(|| Error::Corrupt("the search index path is not UTF-8".into()))?;
    conn.execute("ATTACH DATABASE ?1 AS s", [p])?;
    Ok(())
}

/// What one pass indexes: listings as `(kind, rid)`, each kind's new mark
/// (the last `rid` it took above its mark), and the notes it takes
/// (`kind, rid, v`).
struct Batch {
    listings: Vec<(i64, i64)>,
    marks: Vec<(i64, i64)>,
    notes: Vec<(i64, i64, i64)>,
}

/// The listings to index in one pass, up to about `max`: the noted ones,
/// then each kind's new ones above its mark, in `rid` order.
fn batch_of(c: &Connection, max: usize) -> Result<Batch> {
    let notes: Vec<(i64, i64, i64)> = c
        .prepare_cached("SELECT kind, rid, v FROM main.search_pending ORDER BY kind, rid LIMIT ?1")?
        .query_map([max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut listings: Vec<(i64, i64)> = notes.iter().map(|&(k, rid, _)| (k, rid)).collect();
    let mut marks = Vec::new();
    for k in KINDS {
        let (kind, table) = (k.no, k.table);
        let room = max.saturating_sub(listings.len());
        if room == 0 {
            break;
        }
        let rids: Vec<i64> = c
            .prepare_cached(&format!(
                "SELECT rid FROM main.{table} \
                 WHERE rid > (SELECT rid FROM main.search_mark WHERE kind = ?1) \
                 ORDER BY rid LIMIT ?2"
            ))?
            .query_map([kind, room as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(&last) = rids.last() {
            marks.push((kind, last));
        }
        listings.extend(rids.into_iter().map(|rid| (kind, rid)));
    }
    // A listing both new and noted (changed since it arrived) once.
    listings.sort_unstable();
    listings.dedup();
    Ok(Batch {
        listings,
        marks,
        notes,
    })
}

/// Index up to `max` listings written since the index's mark (and those
/// noted) in one transaction on the index file, then record the
/// new marks (and clear the notes taken, unless noted again meanwhile)
/// through the store's writer. Returns how many were taken.
fn index_batch(c: &Connection, writer: &Mutex<Writer>, max: usize) -> Result<usize> {
    let tx = c.unchecked_transaction()?;
    // Read in the transaction: the listings and their text come from one
    // snapshot of the store, so the mark names exactly what was indexed.
    let batch = batch_of(&tx, max)?;
    if batch.listings.is_empty() {
        return Ok(0);
    }
    // Each kind's statements, made once a pass (not once a listing).
    let sql: Vec<(i64, String, String, String)> = KINDS
        .iter()
        .map(|k| {
            (
                k.no,
                format!(
                    "SELECT {} FROM main.{} t WHERE t.rid = ?1 AND t.deleted = 0",
                    k.fields_sql(),
                    k.table
                ),
                format!("DELETE FROM s.{} WHERE rowid = ?1", k.fts),
                format!(
                    "INSERT INTO s.{} (rowid, title, body) VALUES (?1, ?2, ?3)",
                    k.fts
                ),
            )
        })
        .collect();
    for &(kind, rid) in &batch.listings {
        let Some((_, read, remove, insert)) = sql.iter().find(|s| s.0 == kind) else {
            continue;
        };
        // The text read and tokenised here, and one row inserted with
        // VALUES: an INSERT … SELECT into FTS5 opens a statement savepoint,
        // and FTS5 writes its pending terms out as a new segment at every
        // savepoint (one segment per listing, then merged: most of the
        // cost, measured).
        let text: Option<(String, String)> = tx
            .prepare_cached(read)?
            .query_row([rid], |r| {
                let mut fields: Vec<Option<String>> = Vec::with_capacity(r.as_ref().column_count());
                for i in 0..r.as_ref().column_count() {
                    fields.push(r.get(i)?);
                }
                let title = fields.first().cloned().flatten().unwrap_or_default();
                let rest: Vec<&str> = fields
                    .iter()
                    .skip(1)
                    .flatten()
                    .map(String::as_str)
                    .collect();
                Ok((index_tokens(&title), index_tokens_of(&rest)))
            })
            .optional()?;
        let had: bool = tx
            .prepare_cached("SELECT count(*) FROM s.indexed WHERE kind = ?1 AND rid = ?2")?
            .query_row([kind, rid], |r| r.get(0))?;
        if had {
            tx.prepare_cached(remove)?.execute([rid])?;
        }
        if let Some((title, rest)) = &text {
            tx.prepare_cached(insert)?
                .execute(rusqlite::params![rid, title, rest])?;
        }
        match (had, text.is_some()) {
            (false, true) => {
                tx.prepare_cached("INSERT INTO s.indexed (kind, rid) VALUES (?1, ?2)")?
                    .execute([kind, rid])?;
            }
            (true, false) => {
                tx.prepare_cached("DELETE FROM s.indexed WHERE kind = ?1 AND rid = ?2")?
                    .execute([kind, rid])?;
            }
            _ => {}
        }
    }
    tx.commit()?;
    // The index holds them: the marks move up to what was taken (a removal
    // since may have brought one down: the listing then given its `rid` is
    // noted as removed, and taken by the next pass), and the notes taken go
    // unless noted again meanwhile.
    let w = lock_writer(writer)?;
    let tx = w.conn.unchecked_transaction()?;
    {
        let mut mark = tx.prepare_cached("UPDATE search_mark SET rid = ?2 WHERE kind = ?1")?;
        for &(kind, rid) in &batch.marks {
            mark.execute([kind, rid])?;
        }
        let mut del = tx
            .prepare_cached("DELETE FROM search_pending WHERE kind = ?1 AND rid = ?2 AND v = ?3")?;
        for &(kind, rid, v) in &batch.notes {
            del.execute([kind, rid, v])?;
        }
    }
    tx.commit()?;
    Ok(batch.listings.len())
}

fn lock_writer(writer: &Mutex<Writer>) -> Result<std::sync::MutexGuard<'_, Writer>> {
    writer
        .lock()
        .map_err(|_| Error::Corrupt("writer lock poisoned".into()))
}

impl Shared {
    /// Index until nothing waits (or the store closes, or, when
    /// `yield_to_holds`, a sync holds the index). Returns how many listings
    /// were indexed.
    fn drain(&self, yield_to_holds: bool) -> Result<u64> {
        let c = indexer_connection(&self.db, &self.path)?;
        let mut done = 0u64;
        while !self.stop.load(Ordering::Acquire) {
            if yield_to_holds && self.held() {
                // A sync is pulling pages: let it have the CPU and the
                // file, and go on when it ends.
                break;
            }
            let _pass = self
                .pass
                .lock()
                .map_err(|_| Error::Corrupt("search index lock poisoned".into()))?;
            let n = index_batch(&c, &self.writer, BATCH_ROWS)?;
            if n == 0 {
                break;
            }
            done += n as u64;
        }
        if done > 0 {
            // Fold the index's WAL into its file: the store's readers, which
            // close last, cannot (they are read-only).
            c.query_row("PRAGMA s.wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(done)
    }

    /// Whether a hold is taken; if so, the work is deferred to its end.
    /// (Deferred first, held checked after, against [`IndexHold`]'s drop,
    /// which releases first and looks at `deferred` after: one of the two
    /// sees the other, so deferred work is never left behind.)
    fn held(&self) -> bool {
        if self.holds.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.deferred.store(true, Ordering::SeqCst);
        self.holds.load(Ordering::SeqCst) > 0
    }

    /// Start the indexing thread unless it runs (then it looks again
    /// before it ends), or defer it while held.
    fn kick(self: &Arc<Self>) {
        if !self.background || self.stop.load(Ordering::Acquire) || self.held() {
            return;
        }
        let Ok(mut w) = self.thread.lock() else {
            return;
        };
        if w.running {
            w.again = true;
            return;
        }
        if let Some(old) = w.handle.take() {
            // It has ended (it cleared `running` as its last step).
            let _ = old.join();
        }
        let shared = self.clone();
        match std::thread::Builder::new()
            .name("fushi-search-index".into())
            .spawn(move || shared.run())
        {
            Ok(h) => {
                w.handle = Some(h);
                w.running = true;
            }
            Err(e) => tracing::warn!(error = %e, "cannot start the search indexing thread"),
        }
    }

    fn run(self: &Arc<Self>) {
        loop {
            match self.drain(true) {
                Ok(n) if n > 0 => tracing::debug!(listings = n, "search index caught up"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "search indexing stopped"),
            }
            let Ok(mut w) = self.thread.lock() else {
                return;
            };
            if w.again && !self.stop.load(Ordering::Acquire) {
                w.again = false;
                continue;
            }
            w.running = false;
            return;
        }
    }
}

impl SearchIndex {
    /// Open the index of the store at `db` (its writer `writer`), making it
    /// again if it cannot be used.
    pub(crate) fn open(
        db: &Path,
        writer: Arc<Mutex<Writer>>,
        background: bool,
    ) -> Result<SearchIndex> {
        let path = index_path(db);
        let w = lock_writer(&writer)?;
        let store = &w.conn;
        let generation: Option<i64> = store
            .query_row(
                "SELECT value FROM crdt_state WHERE key = ?1",
                [STATE_GENERATION],
                |r| r.get(0),
            )
            .optional()?;
        let mut rebuilt = None;
        if let Some(reason) = check(&path, generation) {
            make_file(&path, store, reason)?;
            if reason != "new" {
                rebuilt = Some(reason.to_owned());
            }
        }
        drop(w);
        Ok(SearchIndex {
            shared: Arc::new(Shared {
                writer,
                db: db.to_path_buf(),
                path,
                background,
                stop: AtomicBool::new(false),
                holds: AtomicUsize::new(0),
                deferred: AtomicBool::new(false),
                pass: Mutex::new(()),
                thread: Mutex::new(Worker::default()),
                epoch: AtomicU64::new(0),
                rebuilt: Mutex::new(rebuilt),
            }),
        })
    }

    /// Whether any listing waits for the index.
    pub(crate) fn any_pending(&self) -> Result<bool> {
        let w = lock_writer(&self.shared.writer)?;
        Ok(pending_count(&w.conn, 1)? > 0)
    }

    /// The index file.
    pub(crate) fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Which making of the file readers must be attached to.
    pub(crate) fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::Acquire)
    }

    /// Why the index was last made again, if it was.
    pub(crate) fn rebuilt(&self) -> Option<String> {
        self.shared.rebuilt.lock().ok().and_then(|r| r.clone())
    }

    /// Listings were written: start the indexing thread unless it runs (then
    /// it looks again before it ends). Nothing when indexing in the
    /// background is off.
    pub(crate) fn kick(&self) {
        self.shared.kick();
    }

    /// Hold the indexing while many pages of listings arrive (a first
    /// sync): building the index in bulk after them takes the same time as
    /// alongside, and the listings are usable sooner (issue 16: on a
    /// 2-core machine the indexer took CPU from the apply). Searches scan
    /// what is not indexed meanwhile, so they stay right. Indexing starts
    /// (or goes on) when the last hold ends.
    pub(crate) fn hold(&self) -> IndexHold {
        self.shared.holds.fetch_add(1, Ordering::AcqRel);
        IndexHold {
            shared: self.shared.clone(),
        }
    }

    /// Index every waiting listing now, on this thread. Returns how many.
    pub(crate) fn index_now(&self) -> Result<u64> {
        self.shared.drain(false)
    }

    /// Stop the thread (and wait for it).
    fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let handle = self
            .shared
            .thread
            .lock()
            .ok()
            .and_then(|mut w| w.handle.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// The index was found damaged: make it again and start indexing.
    pub(crate) fn rebuild(&self, reason: &'static str) -> Result<()> {
        self.stop();
        {
            let _pass = self
                .shared
                .pass
                .lock()
                .map_err(|_| Error::Corrupt("search index lock poisoned".into()))?;
            self.shared.epoch.fetch_add(1, Ordering::AcqRel);
            let w = lock_writer(&self.shared.writer)?;
            make_file(&self.shared.path, &w.conn, reason)?;
            if let Ok(mut r) = self.shared.rebuilt.lock() {
                *r = Some(reason.to_owned());
            }
        }
        if let Ok(mut w) = self.shared.thread.lock() {
            w.running = false;
            w.again = false;
        }
        self.shared.stop.store(false, Ordering::Release);
        self.kick();
        Ok(())
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        self.stop();
    }
}

/// While this lives, the store's thread does not index
/// ([`crate::Store::hold_search_index`]); dropping the last hold starts it
/// if listings wait.
pub struct IndexHold {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IndexHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexHold").finish_non_exhaustive()
    }
}

impl Drop for IndexHold {
    fn drop(&mut self) {
        if self.shared.holds.fetch_sub(1, Ordering::SeqCst) == 1
            && self.shared.deferred.swap(false, Ordering::SeqCst)
        {
            self.shared.kick();
        }
    }
}

/// SQL condition: the listing of `kind` whose rid is `rid` (an SQL
/// expression) is in the index as it stands (at or below its kind's mark,
/// and not noted).
pub(crate) fn indexed_sql(kind: i64, rid: &str) -> String {
    format!(
        "({rid} <= (SELECT rid FROM main.search_mark WHERE kind = {kind}) \
         AND NOT EXISTS (SELECT 1 FROM main.search_pending p WHERE p.kind = {kind} AND p.rid = {rid}))"
    )
}

/// SQL: the rids of the listings of `kind` (in `table`) that wait for the
/// index: noted ones, and new ones above the kind's mark.
pub(crate) fn waiting_sql(kind: i64, table: &str) -> String {
    format!(
        "SELECT rid FROM main.search_pending WHERE kind = {kind} \
         UNION ALL SELECT rid FROM main.{table} \
         WHERE rid > (SELECT rid FROM main.search_mark WHERE kind = {kind})"
    )
}

/// How many listings wait for the index (new above its mark, or noted),
/// counting up to `limit` of each kind.
pub(crate) fn pending_count(c: &Connection, limit: i64) -> Result<u64> {
    let mut n = 0i64;
    for k in KINDS {
        let (kind, table) = (k.no, k.table);
        // New ones, then the notes not among them (a changed listing
        // at or below the mark, or one removed): each listing once.
        n += c
            .prepare_cached(&format!(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM main.{table} \
                   WHERE rid > (SELECT rid FROM main.search_mark WHERE kind = ?1) LIMIT ?2)) \
                 + (SELECT count(*) FROM (SELECT 1 FROM main.search_pending p WHERE p.kind = ?1 \
                   AND (p.rid <= (SELECT rid FROM main.search_mark WHERE kind = ?1) \
                     OR NOT EXISTS (SELECT 1 FROM main.{table} t WHERE t.rid = p.rid)) LIMIT ?2))"
            ))?
            .query_row([kind, limit], |r| r.get::<_, i64>(0))?;
    }
    Ok(n.max(0) as u64)
}

/// Whether an error says another connection holds the file's lock.
fn is_busy(e: &Error) -> bool {
    use rusqlite::ErrorCode;
    match e {
        Error::Storage(s) => matches!(
            s.sqlite().sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        ),
        _ => false,
    }
}

/// Whether an error says the index file is damaged.
pub(crate) fn is_damage(e: &Error) -> bool {
    use rusqlite::ErrorCode;
    match e {
        Error::Storage(s) => matches!(
            s.sqlite().sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        ),
        _ => false,
    }
}
