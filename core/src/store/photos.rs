//! A phone's photos: the bytes of its own photos (checked and stripped by
//! [`crate::photo`] before anything is kept) and of the photos it downloaded,
//! kept as files in the folder `<db>.photos/` beside the store, with one row
//! of state each in `photo_file` (see `sql/meta_v4.sql`).
//!
//! Why files rather than a table: a photo is large (150 KB to 10 MB), is
//! read whole and never queried; and erasing one must leave no copy behind.
//! A removed file is gone from the folder at once, while bytes deleted from
//! a SQLite table stay in free pages and the WAL until a vacuum. The row and
//! the file are kept together: a file is written (and renamed into place)
//! before the transaction that records it, and removed after the one that
//! forgets it; a file left without a row by a crash is removed by the next
//! sweep ([`Store::erase_unreferenced_photos`]).
//!
//! States: the owner's photo is *own, to upload* until the sync client has
//! uploaded it, then *own, uploaded*; a neighbour's photo is *not
//! downloaded*, *on its way* (the server has no bytes for it yet) or
//! *cached* (thumbnail, full, or both). The cache is bounded by a budget
//! the app sets ([`Store::set_photo_cache_budget`]): beyond it the least
//! recently viewed files are evicted first; an own photo not yet uploaded
//! is never evicted (it exists nowhere else).
//!
//! A photo reference written by an app from before photos had bytes (a
//! free-form string in an item's `photos`) is still read and synced as it
//! is; it names no bytes, and [`Store::photo`] says so.
// The transfer side is used by the sync client (feature `client`) only.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use super::write::write_in;
use super::Store;
use crate::model::columns;
use crate::model::tables::Table;
use crate::photo::{self, PhotoRef, Prepared};
use crate::{Error, Result};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use uuid::Uuid;

/// Which picture of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoSize {
    /// The small picture a list shows (made by the server, at most 320
    /// pixels on its longer side).
    Thumb,
    /// The photo as its owner posted it (stripped of metadata).
    Full,
}

impl PhotoSize {
    fn code(self) -> i64 {
        match self {
            PhotoSize::Thumb => 0,
            PhotoSize::Full => 1,
        }
    }

    /// `thumb` or `full`, as in `GET /v1/photos/{hash}?size=`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSize::Thumb => "thumb",
            PhotoSize::Full => "full",
        }
    }
}

/// What [`Store::photo`] has to show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoView {
    /// The bytes, here on the phone. `size` is the picture they are: asked
    /// for a thumbnail, a phone that holds only the full photo (its owner's)
    /// gives that, for the app to scale.
    Ready {
        /// The image file (JPEG, PNG or WebP).
        bytes: Vec<u8>,
        /// Which picture it is.
        size: PhotoSize,
    },
    /// Not on this phone: download it (`SyncClient::fetch_photo`).
    NotDownloaded,
    /// Its owner has not uploaded it yet (the server said so at the last
    /// try): show that it is on its way.
    OnItsWay,
}

/// Photo transfers, for the app to show ([`Store::photo_transfers`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoTransfers {
    /// Own photos waiting to be uploaded (kept in the store: survives a
    /// restart).
    pub queued_uploads: u64,
    /// Their bytes.
    pub queued_upload_bytes: u64,
    /// Downloads asked for and not started yet.
    pub queued_downloads: u64,
    /// Transfers under way.
    pub in_flight: u64,
    /// Bytes of the transfers under way (known for uploads; downloads count
    /// when done).
    pub in_flight_bytes: u64,
    /// Photos uploaded since the store was opened.
    pub uploaded: u64,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Pictures (thumbnails and full photos) downloaded since the store was
    /// opened.
    pub downloaded: u64,
    /// Their bytes.
    pub downloaded_bytes: u64,
    /// Transfers that failed since the store was opened (they are tried
    /// again: uploads at the next sync, downloads when asked again).
    pub failed: u64,
}

/// The counters kept in memory ([`PhotoTransfers`] less what the store
/// holds).
#[derive(Debug, Default)]
pub(crate) struct TransferCounters(Mutex<PhotoTransfers>);

/// The default photo cache budget: 200 MB.
pub const DEFAULT_PHOTO_CACHE_BYTES: u64 = 200 * 1024 * 1024;
const STATE_BUDGET: &str = "photo.cache_budget";
/// A photo file without a row is removed by a sweep once it is this old
/// (a younger one may belong to a post under way).
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

const OWN_PENDING: i64 = 0;
const OWN_UPLOADED: i64 = 1;
const CACHED: i64 = 2;

/// The folder of photo files of the store at `db`: `<db>.photos`.
pub fn photos_dir(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".photos");
    PathBuf::from(name)
}

fn file_name(r: &PhotoRef, size: PhotoSize) -> String {
    match size {
        PhotoSize::Full => r.hex(),
        PhotoSize::Thumb => format!("{}.thumb", r.hex()),
    }
}

fn io_error(e: std::io::Error) -> Error {
    // The message names the failure, not the path (which may name a user).
    Error::Corrupt(format!("photo file: {}", e.kind()))
}

/// Check that each new reference written locally has the shape of a photo
/// reference (`sha256:<64 hex>`). Remote rows are not checked this way:
/// references written by older apps still merge and sync.
pub(crate) fn check_new_refs(refs: &[String]) -> Result<()> {
    for r in refs {
        PhotoRef::parse(r).map_err(|_| {
            Error::invalid(
                columns::PHOTOS,
                "a photo reference is sha256: and 64 lowercase hex digits; hand the photo's bytes to post_item_with_photos or add_item_photos",
            )
        })?;
    }
    Ok(())
}

impl Store {
    /// The folder of this store's photo files (`<db>.photos`).
    pub fn photos_dir(&self) -> PathBuf {
        photos_dir(&self.path)
    }

    /// Write prepared photos as files (before the transaction that records
    /// them): temporary name, then renamed into place.
    fn write_photo_files(&self, photos: &[Prepared]) -> Result<()> {
        let dir = self.photos_dir();
        std::fs::create_dir_all(&dir).map_err(io_error)?;
        for p in photos {
            let path = dir.join(file_name(&p.reference, PhotoSize::Full));
            if path.exists() {
                continue;
            }
            let tmp = dir.join(format!("{}.tmp", p.reference.hex()));
            std::fs::write(&tmp, &p.bytes).map_err(io_error)?;
            std::fs::rename(&tmp, &path).map_err(io_error)?;
        }
        Ok(())
    }

    /// Check, strip and name photos handed over by the app (at most
    /// [`crate::model::tables::MAX_PHOTOS`] at once).
    fn prepare_photos(photos: &[Vec<u8>]) -> Result<Vec<Prepared>> {
        if photos.len() > crate::model::tables::MAX_PHOTOS {
            return Err(Error::invalid(
                columns::PHOTOS,
                format!(
                    "an item shows at most {} photos",
                    crate::model::tables::MAX_PHOTOS
                ),
            ));
        }
        photos.iter().map(|b| photo::prepare(b)).collect()
    }

    /// A resident posts an idle item with photos given as their bytes
    /// (JPEG, PNG or WebP, as the camera or gallery gives them; HEIC is
    /// converted by the platform first). Each photo is checked and stripped
    /// of its metadata (EXIF with its GPS position, XMP, IPTC, comments)
    /// before anything is kept; the item's `photos` hold their references
    /// (`sha256:<hex>`), after any already in `new.photos`. Works offline:
    /// the item and its photos show in the owner's listing at once
    /// ([`Store::photo`]), and the photos are uploaded by the sync after
    /// the item's row is accepted.
    pub fn post_item_with_photos(
        &self,
        mut new: crate::model::NewItem,
        photos: Vec<Vec<u8>>,
    ) -> Result<Uuid> {
        let prepared = Self::prepare_photos(&photos)?;
        for p in &prepared {
            let r = p.reference.to_string();
            if !new.photos.contains(&r) {
                new.photos.push(r);
            }
        }
        let id = Uuid::now_v7();
        let e = self.item_edits(new)?;
        let actor = self.actor()?;
        self.write_photo_files(&prepared)?;
        let now = self.now_ms();
        self.write_tx(|ctx| {
            write_in(ctx, &actor, e.table, id, &e.edits)?;
            record_own(ctx.tx, &prepared, now)
        })?;
        Ok(id)
    }

    /// The owner adds photos (as bytes, see [`Store::post_item_with_photos`])
    /// to an item. Returns their references, in the order given.
    pub fn add_item_photos(&self, id: Uuid, photos: Vec<Vec<u8>>) -> Result<Vec<String>> {
        let prepared = Self::prepare_photos(&photos)?;
        let refs: Vec<String> = prepared.iter().map(|p| p.reference.to_string()).collect();
        self.write_photo_files(&prepared)?;
        let now = self.now_ms();
        let edits: Vec<super::write::Edit> = refs
            .iter()
            .map(|r| super::write::Edit::Add(columns::PHOTOS, r.clone()))
            .collect();
        self.act(|act| {
            act.live(Table::Item, id)?;
            act.write(Table::Item, id, &edits)?;
            record_own(act.ctx.tx, &prepared, now)
        })?;
        Ok(refs)
    }

    /// The picture `reference` (an element of an item's `photos`) of
    /// `size`, if this phone has it; otherwise whether it is on its way.
    /// Showing it counts as a view for the cache's eviction order. A
    /// reference that names no bytes (written by an app from before
    /// photos had bytes) is [`Error::Invalid`].
    pub fn photo(&self, reference: &str, size: PhotoSize) -> Result<PhotoView> {
        let r = PhotoRef::parse(reference)?;
        let hash = r.hex();
        let sizes: &[PhotoSize] = match size {
            PhotoSize::Full => &[PhotoSize::Full],
            PhotoSize::Thumb => &[PhotoSize::Thumb, PhotoSize::Full],
        };
        for s in sizes {
            let have: Option<i64> = self.read(|c| {
                Ok(
                    c.prepare_cached("SELECT state FROM photo_file WHERE hash = ?1 AND size = ?2")?
                        .query_row(rusqlite::params![hash, s.code()], |row| row.get(0))
                        .optional()?,
                )
            })?;
            if have.is_none() {
                continue;
            }
            match std::fs::read(self.photos_dir().join(file_name(&r, *s))) {
                Ok(bytes) => {
                    let now = self.now_ms();
                    self.write_tx(|ctx| {
                        ctx.tx
                            .prepare_cached(
                                "UPDATE photo_file SET last_viewed = ?3 WHERE hash = ?1 AND size = ?2",
                            )?
                            .execute(rusqlite::params![hash, s.code(), now])?;
                        Ok(())
                    })?;
                    return Ok(PhotoView::Ready { bytes, size: *s });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // Its file is gone (evicted or erased meanwhile).
                    self.write_tx(|ctx| {
                        ctx.tx.execute(
                            "DELETE FROM photo_file WHERE hash = ?1 AND size = ?2",
                            rusqlite::params![hash, s.code()],
                        )?;
                        Ok(())
                    })?;
                }
                Err(e) => return Err(io_error(e)),
            }
        }
        let awaited: bool = self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM photo_awaited WHERE hash = ?1",
                [&hash],
                |row| row.get::<_, i64>(0),
            )? > 0)
        })?;
        Ok(if awaited {
            PhotoView::OnItsWay
        } else {
            PhotoView::NotDownloaded
        })
    }

    /// Set the photo cache budget (bytes of downloaded and uploaded photo
    /// files; an own photo not yet uploaded is not counted and never
    /// evicted), and evict down to it now. Kept in the store.
    pub fn set_photo_cache_budget(&self, bytes: u64) -> Result<()> {
        let v = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.set_state(&[(STATE_BUDGET, super::StateValue::Int(v))])?;
        self.evict_photos()?;
        Ok(())
    }

    /// The photo cache budget in bytes ([`DEFAULT_PHOTO_CACHE_BYTES`] until
    /// the app sets one).
    pub fn photo_cache_budget(&self) -> Result<u64> {
        Ok(self
            .state_get(STATE_BUDGET)?
            .and_then(|v| v.as_int())
            .map_or(DEFAULT_PHOTO_CACHE_BYTES, |v| v.max(0) as u64))
    }

    /// Bytes of photo files this phone keeps (own and cached).
    pub fn photo_storage_bytes(&self) -> Result<u64> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT coalesce(sum(bytes), 0) FROM photo_file", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Photo transfers: queued (own photos to upload, downloads asked),
    /// in flight, done and failed since the store was opened.
    pub fn photo_transfers(&self) -> Result<PhotoTransfers> {
        let (n, bytes) = self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM photo_file WHERE state = ?1",
                [OWN_PENDING],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?)
        })?;
        let mut t = self.transfers.lock_counts().clone();
        t.queued_uploads = n as u64;
        t.queued_upload_bytes = bytes as u64;
        Ok(t)
    }

    /// Own photos waiting to be uploaded, oldest first, with their sizes.
    pub(crate) fn pending_photo_uploads(&self) -> Result<Vec<(PhotoRef, u64)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT hash, bytes FROM photo_file WHERE state = ?1 AND size = 1 ORDER BY last_viewed",
            )?;
            let rows = stmt.query_map([OWN_PENDING], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (hash, bytes) = row?;
                if let Ok(r) = PhotoRef::from_hex(&hash) {
                    out.push((r, bytes as u64));
                }
            }
            Ok(out)
        })
    }

    /// The bytes of a full photo kept here (own or downloaded).
    pub(crate) fn photo_file_bytes(&self, r: &PhotoRef) -> Result<Vec<u8>> {
        std::fs::read(self.photos_dir().join(file_name(r, PhotoSize::Full))).map_err(io_error)
    }

    /// An own photo was uploaded (or the server already had it).
    pub(crate) fn mark_photo_uploaded(&self, r: &PhotoRef) -> Result<()> {
        self.write_tx(|ctx| {
            ctx.tx.execute(
                "UPDATE photo_file SET state = ?2 WHERE hash = ?1 AND state = ?3",
                rusqlite::params![r.hex(), OWN_UPLOADED, OWN_PENDING],
            )?;
            Ok(())
        })
    }

    /// The server says `r` is referenced but not uploaded yet.
    pub(crate) fn mark_photo_awaited(&self, r: &PhotoRef) -> Result<()> {
        let now = self.now_ms();
        self.write_tx(|ctx| {
            ctx.tx.execute(
                "INSERT OR REPLACE INTO photo_awaited (hash, checked_at) VALUES (?1, ?2)",
                rusqlite::params![r.hex(), now],
            )?;
            Ok(())
        })
    }

    /// Keep a downloaded picture in the cache (evicting others beyond the
    /// budget). A full photo must have the hash of its reference and carry
    /// no metadata; a thumbnail must be an image within the limits. A
    /// photo no live listing uses any more (deleted meanwhile) is not kept.
    pub(crate) fn keep_downloaded_photo(
        &self,
        r: &PhotoRef,
        size: PhotoSize,
        bytes: &[u8],
    ) -> Result<bool> {
        match size {
            PhotoSize::Full => {
                photo::verify(r, bytes)?;
            }
            PhotoSize::Thumb => {
                photo::check::check(bytes)?;
            }
        }
        if !self.read(|c| is_referenced(c, r))? {
            return Ok(false);
        }
        let dir = self.photos_dir();
        std::fs::create_dir_all(&dir).map_err(io_error)?;
        let path = dir.join(file_name(r, size));
        let tmp = dir.join(format!("{}.tmp", file_name(r, size)));
        std::fs::write(&tmp, bytes).map_err(io_error)?;
        std::fs::rename(&tmp, &path).map_err(io_error)?;
        let now = self.now_ms();
        self.write_tx(|ctx| {
            ctx.tx.execute(
                "INSERT INTO photo_file (hash, size, state, bytes, last_viewed) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (hash, size) DO UPDATE SET bytes = excluded.bytes, last_viewed = excluded.last_viewed",
                rusqlite::params![r.hex(), size.code(), CACHED, bytes.len() as i64, now],
            )?;
            ctx.tx
                .execute("DELETE FROM photo_awaited WHERE hash = ?1", [r.hex()])?;
            Ok(())
        })?;
        self.evict_photos()?;
        Ok(true)
    }

    /// Pictures whose thumbnail is not here (nor the full photo), for the
    /// live items: what a list shows next. Newest items first.
    pub(crate) fn photos_missing_thumbs(&self) -> Result<Vec<PhotoRef>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT j.value FROM item, json_each(item.photos) j
                 WHERE item.deleted = 0 AND item.photos IS NOT NULL
                 ORDER BY item.created_at DESC",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut have = c.prepare_cached("SELECT count(*) FROM photo_file WHERE hash = ?1")?;
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for row in rows {
                let Ok(r) = PhotoRef::parse(&row?) else {
                    continue;
                };
                if !seen.insert(r) {
                    continue;
                }
                let n: i64 = have.query_row([r.hex()], |x| x.get(0))?;
                if n == 0 {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }

    /// Evict cached photo files, least recently viewed first, until the
    /// evictable ones fit the budget. Returns how many were evicted.
    pub fn evict_photos(&self) -> Result<usize> {
        let budget = self.photo_cache_budget()?;
        let victims: Vec<(String, i64)> = self.read(|c| {
            let total: i64 = c.query_row(
                "SELECT coalesce(sum(bytes), 0) FROM photo_file WHERE state != ?1",
                [OWN_PENDING],
                |r| r.get(0),
            )?;
            let mut over = total - i64::try_from(budget).unwrap_or(i64::MAX);
            let mut out = Vec::new();
            if over <= 0 {
                return Ok(out);
            }
            let mut stmt = c.prepare_cached(
                "SELECT hash, size, bytes FROM photo_file WHERE state != ?1 ORDER BY last_viewed, size DESC",
            )?;
            let mut rows = stmt.query([OWN_PENDING])?;
            while let Some(row) = rows.next()? {
                if over <= 0 {
                    break;
                }
                let (hash, size, bytes): (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
                over -= bytes;
                out.push((hash, size));
            }
            Ok(out)
        })?;
        if victims.is_empty() {
            return Ok(0);
        }
        self.write_tx(|ctx| {
            let mut del = ctx
                .tx
                .prepare_cached("DELETE FROM photo_file WHERE hash = ?1 AND size = ?2")?;
            for (hash, size) in &victims {
                del.execute(rusqlite::params![hash, size])?;
            }
            Ok(())
        })?;
        let dir = self.photos_dir();
        for (hash, size) in &victims {
            let name = if *size == 0 {
                format!("{hash}.thumb")
            } else {
                hash.clone()
            };
            remove_file(&dir.join(name))?;
        }
        tracing::debug!(evicted = victims.len(), "photo cache evicted");
        Ok(victims.len())
    }

    /// Erase the photos no live listing uses any more (an item deleted, or
    /// a photo removed from it, here or by a pulled change): their rows,
    /// then their files. Also removes files left without a row by a crash.
    /// Called by the sync after every sync, and by the local delete and
    /// photo removal. Returns how many photos were erased.
    pub fn erase_unreferenced_photos(&self) -> Result<usize> {
        let dead: Vec<String> = self.read(|c| {
            let used = referenced_hashes(c)?;
            let mut stmt =
                c.prepare("SELECT hash FROM photo_file UNION SELECT hash FROM photo_awaited")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                let h = row?;
                if !used.contains(&h) {
                    out.push(h);
                }
            }
            Ok(out)
        })?;
        if !dead.is_empty() {
            self.write_tx(|ctx| {
                for h in &dead {
                    ctx.tx
                        .prepare_cached("DELETE FROM photo_file WHERE hash = ?1")?
                        .execute([h])?;
                    ctx.tx
                        .prepare_cached("DELETE FROM photo_awaited WHERE hash = ?1")?
                        .execute([h])?;
                }
                Ok(())
            })?;
        }
        let dir = self.photos_dir();
        for h in &dead {
            remove_file(&dir.join(h))?;
            remove_file(&dir.join(format!("{h}.thumb")))?;
        }
        self.sweep_orphan_files()?;
        if !dead.is_empty() {
            tracing::info!(erased = dead.len(), "photos no listing uses were erased");
        }
        Ok(dead.len())
    }

    /// Remove photo files that have no row (left by a crash between a file
    /// and its transaction), once they are old enough not to belong to a
    /// post under way.
    fn sweep_orphan_files(&self) -> Result<()> {
        let dir = self.photos_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(e)),
        };
        let known: HashSet<String> = self.read(|c| {
            let mut stmt = c.prepare("SELECT hash, size FROM photo_file")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = HashSet::new();
            for row in rows {
                let (h, s) = row?;
                out.insert(if s == 0 { format!("{h}.thumb") } else { h });
            }
            Ok(out)
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if known.contains(&name) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= ORPHAN_AGE);
            if old {
                remove_file(&entry.path())?;
            }
        }
        Ok(())
    }

    /// The in-memory transfer counters (the sync client updates them).
    pub(crate) fn transfer_counters(&self) -> &TransferCounters {
        &self.transfers
    }
}

impl TransferCounters {
    fn lock_counts(&self) -> std::sync::MutexGuard<'_, PhotoTransfers> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `n` downloads were asked for.
    pub(crate) fn queue_downloads(&self, n: u64) {
        self.lock_counts().queued_downloads += n;
    }

    /// A transfer of `bytes` (0 if not known yet) started; a download
    /// leaves the queue.
    pub(crate) fn start(&self, download: bool, bytes: u64) {
        let mut t = self.lock_counts();
        if download {
            t.queued_downloads = t.queued_downloads.saturating_sub(1);
        }
        t.in_flight += 1;
        t.in_flight_bytes += bytes;
    }

    /// A transfer ended: `done` bytes moved (`None`: it failed).
    pub(crate) fn finish(&self, download: bool, started_bytes: u64, done: Option<u64>) {
        let mut t = self.lock_counts();
        t.in_flight = t.in_flight.saturating_sub(1);
        t.in_flight_bytes = t.in_flight_bytes.saturating_sub(started_bytes);
        match (done, download) {
            (None, _) => t.failed += 1,
            (Some(b), true) => {
                t.downloaded += 1;
                t.downloaded_bytes += b;
            }
            (Some(b), false) => {
                t.uploaded += 1;
                t.uploaded_bytes += b;
            }
        }
    }

    /// A download found nothing to fetch yet (on its way): neither done
    /// nor failed.
    pub(crate) fn not_there(&self) {
        let mut t = self.lock_counts();
        t.in_flight = t.in_flight.saturating_sub(1);
    }

    /// Queued downloads given up (the caller stopped).
    pub(crate) fn unqueue_downloads(&self, n: u64) {
        let mut t = self.lock_counts();
        t.queued_downloads = t.queued_downloads.saturating_sub(n);
    }
}

/// Record own photos (files already written) in the write's transaction.
fn record_own(tx: &Connection, photos: &[Prepared], now: i64) -> Result<()> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO photo_file (hash, size, state, bytes, last_viewed) VALUES (?1, 1, ?2, ?3, ?4)
         ON CONFLICT (hash, size) DO NOTHING",
    )?;
    for p in photos {
        ins.execute(rusqlite::params![
            p.reference.hex(),
            OWN_PENDING,
            p.bytes.len() as i64,
            now
        ])?;
    }
    Ok(())
}

/// The hashes of every photo a live item uses.
fn referenced_hashes(c: &Connection) -> Result<HashSet<String>> {
    let mut stmt = c.prepare(
        "SELECT j.value FROM item, json_each(item.photos) j WHERE item.photos IS NOT NULL AND item.deleted = 0",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = HashSet::new();
    for row in rows {
        if let Ok(r) = PhotoRef::parse(&row?) {
            out.insert(r.hex());
        }
    }
    Ok(out)
}

/// Whether a live item uses `r` (through the index of present set
/// elements).
fn is_referenced(c: &Connection, r: &PhotoRef) -> Result<bool> {
    Ok(!photo_users_in(c, r)?.is_empty())
}

/// Who may see a photo: the owner and community of every live item that
/// uses it.
pub(crate) fn photo_users_in(c: &Connection, r: &PhotoRef) -> Result<Vec<PhotoUse>> {
    let col = Table::Item
        .def()
        .column_index(columns::PHOTOS)
        .ok_or_else(|| Error::Corrupt("item has no photos column".into()))?;
    let mut stmt = c.prepare_cached(
        "SELECT i.owner, i.community, i.hidden FROM crdt_tag t INDEXED BY crdt_tag_elem
         JOIN item i ON i.rid = t.rid
         WHERE t.tbl = ?1 AND t.col = ?2 AND t.elem = ?3 AND t.removed = 0 AND i.deleted = 0",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![Table::Item as i64, col as i64, r.to_string()],
        |row| {
            Ok((
                row.get::<_, Option<String>>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (owner, community, hidden) = row?;
        out.push(PhotoUse {
            owner: owner.and_then(|o| Uuid::parse_str(&o).ok()),
            community: community.unwrap_or_default(),
            hidden: hidden == Some(1),
        });
    }
    Ok(out)
}

/// A live listing that uses a photo: who owns it and where it is seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoUse {
    /// The listing's owner.
    pub owner: Option<Uuid>,
    /// Its community (the users who may see it).
    pub community: String,
    /// Hidden by grid staff: residents other than its owner get it
    /// without content, photos included.
    pub hidden: bool,
}

impl PhotoUse {
    /// Whether `actor` may see this listing's photos, as a pull would send
    /// them ([`super::Scope::for_reader`]): admins every listing; others
    /// their community's; a hidden one only its owner and staff.
    pub fn visible_to(&self, actor: &crate::policy::Actor) -> bool {
        use crate::policy::Role;
        if self.owner == Some(actor.user) || actor.role == Role::Admin {
            return true;
        }
        self.community == actor.community && (!self.hidden || actor.role != Role::Resident)
    }
}

impl Store {
    /// The live listings that use the photo `r` (the sync server asks
    /// before it takes or serves a photo's bytes).
    pub fn photo_users(&self, r: &PhotoRef) -> Result<Vec<PhotoUse>> {
        self.read(|c| photo_users_in(c, r))
    }

    /// The photos the live listings use, as hashes (the server's sweep).
    pub fn referenced_photos(&self) -> Result<HashSet<String>> {
        self.read(referenced_hashes)
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}
