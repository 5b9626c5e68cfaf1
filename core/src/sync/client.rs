//! The phone's side of sync: push the outbox, then pull until caught up.
//!
//! Every step commits its effect together with its bookkeeping in one
//! transaction: a pushed batch advances the outbox mark in the same
//! transaction that rolls back whatever the server refused, and a pulled page
//! is applied in the same transaction that moves the cursor. A sync killed at
//! any point therefore loses nothing (the mark has not moved, the batch goes
//! again) and duplicates nothing (the merge is idempotent, and the server
//! accepts a change it already holds as a no-op).
//!
//! The outbox mark is snapshotted when the push starts: edits made while a
//! sync runs carry higher sequence numbers and go with the next sync.

use super::cursor::PullCursor;
use super::progress::{ProgressListener, SyncProgress};
use super::retry::{self, RetryPolicy};
use super::tls::{self, Trust};
use super::wire::{
    self, ErrorBody, PullResponse, PushRequest, PushResponse, HEADER_PROTOCOL, HEADER_SCHEMA,
    MAX_PULL_LIMIT, MAX_PUSH_BATCH_BYTES, MAX_PUSH_ROWS, PROTOCOL_VERSION,
};
pub use super::SyncRejection;
use super::{
    STATE_CATCHUP_CURSOR, STATE_CURSOR, STATE_LAST_SUCCESS, STATE_PULLED_SCHEMA, STATE_PUSHED,
    STATE_PUSH_FLOOR,
};
use crate::crdt::SystemClock;
use crate::store::ChangedRow;
use crate::store::{PageLimit, StateValue, Store, SCHEMA_VERSION};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A pulled page being applied on a blocking thread.
type InFlightApply = tokio::task::JoinHandle<Result<crate::store::ApplyReport>>;

/// How to reach the server.
///
/// Its `Debug` form leaves the token out.
#[derive(Clone)]
pub struct SyncConfig {
    /// Base URL, e.g. `https://sync.example.org` (no trailing `/v1`).
    /// `https://` unless [`SyncConfig::allow_cleartext`].
    pub server_url: String,
    /// The bearer token issued for this user (`fushi-server token issue`).
    pub token: String,
    /// Which certificates are trusted for the server's: the platform's
    /// store (default) or a pinned CA.
    pub trust: Trust,
    /// Allow `http://` URLs: cleartext, for loopback development and tests
    /// only. Default false: an `http://` URL is refused when the client is
    /// made, and redirects never leave HTTPS.
    pub allow_cleartext: bool,
    /// Time to open a connection (TCP and TLS handshake). Default 10 s.
    pub connect_timeout: Duration,
    /// Time for each request, from sending to the whole answer. Default 30 s.
    pub request_timeout: Duration,
    /// When a request that failed transiently is sent again.
    pub retry: RetryPolicy,
    /// Row changes per push, at most [`MAX_PUSH_ROWS`]. Default 500.
    pub push_batch: usize,
    /// Row changes per pull page, at most [`MAX_PULL_LIMIT`]. Default 500.
    pub pull_limit: usize,
    /// Stop after this many pull pages in one sync (`None`: until caught
    /// up). Tests use it to cut a sync off between pages.
    pub max_pull_pages: Option<usize>,
}

impl SyncConfig {
    /// Defaults for `server_url` and `token`.
    pub fn new(server_url: impl Into<String>, token: impl Into<String>) -> SyncConfig {
        SyncConfig {
            server_url: server_url.into(),
            token: token.into(),
            trust: Trust::Platform,
            allow_cleartext: false,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            push_batch: MAX_PUSH_ROWS,
            pull_limit: 500,
            max_pull_pages: None,
        }
    }
}

impl std::fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConfig")
            .field("server_url", &self.server_url)
            .field("token", &"<redacted>")
            .field("trust", &self.trust)
            .field("allow_cleartext", &self.allow_cleartext)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("push_batch", &self.push_batch)
            .field("pull_limit", &self.pull_limit)
            .field("max_pull_pages", &self.max_pull_pages)
            .finish()
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Row changes sent.
    pub pushed: u32,
    /// Of those, refused by the server (and rolled back here).
    pub rejected: u32,
    /// Row changes received.
    pub pulled: u32,
    /// Pull pages received.
    pub pull_pages: u32,
    /// Whether the pull stopped before catching up (`max_pull_pages`).
    pub more: bool,
    /// Received changes held back here because their clock runs ahead.
    pub quarantined: u32,
    /// The clock correction in force after this sync (ms), if this client
    /// corrects a clock.
    pub clock_offset_ms: Option<i64>,
    /// Unsent local cells re-stamped because they were written while this
    /// phone's clock ran ahead (see [`Store::restamp_ahead`]).
    pub restamped: u32,
    /// Rows whose content changed here, in order: pulled changes applied,
    /// and our own rows rolled back to the server's word. What an app
    /// refreshes after a sync (and what [`Store::new_matches`] looks at).
    #[serde(skip)]
    pub changed: Vec<ChangedRow>,
    /// Own photos uploaded after their rows were accepted.
    #[serde(default)]
    pub photos_uploaded: u32,
    /// Photos whose upload failed (tried again at the next sync).
    #[serde(default)]
    pub photos_failed: u32,
    /// Photo files erased here because no listing uses them any more.
    #[serde(default)]
    pub photos_erased: u32,
}

/// Syncs one phone's store with the server.
#[derive(Debug)]
pub struct SyncClient {
    store: Arc<Store>,
    config: SyncConfig,
    http: reqwest::Client,
    clock: Option<Arc<SystemClock>>,
    running: tokio::sync::Mutex<()>,
    /// Held by a pulled page's apply while it runs on a blocking thread: a
    /// cancelled sync waits for it before it returns, so nothing changes
    /// in the store after [`SyncClient::sync`] has answered.
    applying: Arc<tokio::sync::Mutex<()>>,
    /// Hears the progress of every sync.
    progress: std::sync::RwLock<Option<ProgressListener>>,
    /// Bumped by [`SyncClient::cancel`]; a sync stops when it changes.
    cancels: AtomicU64,
    /// Wakes the running sync when it is cancelled.
    wake: tokio::sync::Notify,
    /// The schema this client speaks (`Fushi-Schema`): this build's.
    schema: i64,
    /// An answer said the token is two thirds into its life: the sync
    /// renews it at its end.
    renew_due: std::sync::atomic::AtomicBool,
}

/// One page-through of the server's feed: the ordinary pull, or the
/// catch-up of an upgraded app on the columns its new schema added.
struct Feed {
    /// State key of its cursor.
    cursor_key: &'static str,
    /// Only the columns added after this schema (catch-up).
    columns_after: Option<i64>,
}

/// Why a request did not give an answer.
enum Failure {
    /// Transient (no connection, reset, timeout, 5xx, 429): worth sending
    /// again, after the server's `Retry-After` if it gave one. `error` is
    /// what is reported once the attempts are spent.
    Transient {
        error: Error,
        retry_after: Option<Duration>,
        what: &'static str,
    },
    /// An error to report at once.
    Final(Error),
}

/// Only offset changes larger than this are applied, so network jitter does
/// not keep nudging the clock.
const OFFSET_MIN_CHANGE_MS: i64 = 1_000;

/// A clock offset larger than this is not taken from the server while the
/// phone's own clock looks sane: a server (or something posing as its
/// answer) years off would otherwise stamp every later write of this phone
/// years ahead, winning every conflict.
const OFFSET_MAX_MS: i64 = 366 * 24 * 3_600 * 1_000;

/// Times before this (2020-01-01, the protocol's oldest acceptable clock)
/// or from this on (2100-01-01) are not sane wall-clock readings.
const SANE_TIME_MS: std::ops::Range<i64> = 1_577_836_800_000..4_102_444_800_000;

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)
        .and_then(|_| enc.finish())
        .map_err(|e| Error::Corrupt(format!("gzip failed: {e}")))
}

/// A transport failure: a TLS failure is [`Error::Tls`] and final (a
/// certificate does not mend by itself in a second); anything else (no
/// connection, reset, timeout) is transient, reported as [`Error::Offline`].
fn transport(e: &reqwest::Error) -> Failure {
    if let Some(reason) = tls::tls_failure(e) {
        tracing::warn!(reason = %reason, "secure connection to the sync server failed");
        return Failure::Final(Error::Tls(reason));
    }
    let what = if e.is_timeout() {
        "the sync server did not answer in time"
    } else if e.is_connect() {
        "could not connect to the sync server"
    } else {
        "the connection to the sync server failed"
    };
    Failure::Transient {
        error: Error::Offline(what.into()),
        retry_after: None,
        what,
    }
}

/// The clock offset to take from a server time read at `local_mid` on this
/// phone's uncorrected clock, if any. Not taken: a server time that is no
/// sane reading (before 2020, from 2100), or one more than a year from the
/// phone's clock while the phone's clock itself reads a sane time (a phone
/// whose battery ran flat and that woke in 1970 does take it).
fn offset_to_apply(server_ms: i64, local_mid: i64, current: i64) -> Option<i64> {
    let offset = server_ms.checked_sub(local_mid)?;
    if !SANE_TIME_MS.contains(&server_ms) {
        tracing::warn!("the sync server's time is not a sane time; the clock is not corrected");
        return None;
    }
    if offset.abs() > OFFSET_MAX_MS && SANE_TIME_MS.contains(&local_mid) {
        tracing::warn!(
            offset_days = offset / 86_400_000,
            "the sync server's time is more than a year from this phone's; the clock is not corrected"
        );
        return None;
    }
    ((offset - current).abs() > OFFSET_MIN_CHANGE_MS).then_some(offset)
}

impl SyncClient {
    /// A client for `store` (whose signed-in user the token belongs to).
    pub fn new(store: Arc<Store>, config: SyncConfig) -> Result<SyncClient> {
        let http = build_http(&config)?;
        Ok(SyncClient {
            store,
            config,
            http,
            clock: None,
            running: tokio::sync::Mutex::new(()),
            progress: std::sync::RwLock::new(None),
            cancels: AtomicU64::new(0),
            applying: Arc::default(),
            wake: tokio::sync::Notify::new(),
            schema: SCHEMA_VERSION,
            renew_due: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Speak schema `schema` instead of this build's, as an app of that
    /// older version would: send it as `Fushi-Schema`, and read what the
    /// server sends with just its columns (a row carrying another is kept
    /// aside as unreadable). For compatibility tests of a server with
    /// phones of several versions; an app never needs it.
    #[cfg(feature = "wire-compat")]
    pub fn speaking_schema(mut self, schema: i64) -> Result<SyncClient> {
        if !(crate::store::MIN_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&schema) {
            return Err(Error::invalid("schema", "is not a schema this build knows"));
        }
        self.schema = schema;
        Ok(self)
    }

    /// Correct `clock` (the store's time source) by the server's time on
    /// every answer, so this phone stamps its writes with the server's idea
    /// of now: a phone whose clock runs hours ahead would otherwise win
    /// every conflict (or be held in the server's quarantine).
    pub fn with_clock(mut self, clock: Arc<SystemClock>) -> SyncClient {
        self.clock = Some(clock);
        self
    }

    /// Hear the progress of every sync from now on (`None`: stop).
    pub fn set_progress_listener(&self, listener: Option<ProgressListener>) {
        *self
            .progress
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = listener;
    }

    /// Cancel the sync under way, if any: it stops at its next step (the
    /// request in flight is dropped) and answers [`Error::Cancelled`]. Each
    /// batch and page is applied in one transaction together with its marks,
    /// so whatever it applied stays consistent and the next sync goes on
    /// from there. A sync started after this call is not affected.
    pub fn cancel(&self) {
        self.cancels.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn tell_progress(&self, report: &SyncReport, remaining: u64) {
        let listener = self
            .progress
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(l) = listener {
            (l.0)(SyncProgress {
                pushed: report.pushed,
                pulled: report.pulled,
                pull_pages: report.pull_pages,
                remaining,
            });
        }
    }

    /// The store this client syncs.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// How many rows wait to be sent ([`Store::pending_changes`]).
    pub fn pending_changes(&self) -> Result<u64> {
        self.store.pending_changes()
    }

    /// When the last sync finished (Unix ms), if one ever did
    /// ([`Store::last_synced_at`]).
    pub fn last_synced_at(&self) -> Result<Option<i64>> {
        self.store.last_synced_at()
    }

    /// The changes the server refused, newest first.
    pub fn rejections(&self) -> Result<Vec<SyncRejection>> {
        self.store.sync_rejections()
    }

    /// Push the outbox, then pull until caught up. With no network this is
    /// [`Error::Offline`] and the store is untouched.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.sync_with(&self.http).await
    }

    /// [`SyncClient::sync`] for callers without an async runtime: runs on a
    /// current-thread runtime of its own. Must not be called from inside an
    /// async runtime.
    pub fn sync_blocking(&self) -> Result<SyncReport> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "runtime",
                "sync_blocking was called inside an async runtime; use sync()",
            ));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Offline(format!("could not start the network runtime: {e}")))?;
        // A pooled connection belongs to the runtime that opened it, so this
        // runtime gets a client of its own.
        let http = build_http(&self.config)?;
        rt.block_on(self.sync_with(&http))
    }

    async fn sync_with(&self, http: &reqwest::Client) -> Result<SyncReport> {
        let _one_at_a_time = self.running.lock().await;
        let generation = self.cancels.load(Ordering::SeqCst);
        let cancelled = async {
            loop {
                let woken = self.wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if self.cancels.load(Ordering::SeqCst) != generation {
                    return;
                }
                woken.await;
            }
        };
        tokio::select! {
            done = self.sync_steps(http) => done,
            () = cancelled => {
                // A page being applied finishes (with its cursor) first.
                drop(self.applying.lock().await);
                tracing::info!("sync cancelled");
                Err(Error::Cancelled)
            }
        }
    }

    async fn sync_steps(&self, http: &reqwest::Client) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        if self.clock.is_some() {
            // Learn the server's time before sending anything stamped by our
            // clock: writes made while the clock ran ahead are re-stamped
            // first, so they neither sit in quarantine nor win every conflict.
            let _: serde_json::Value = self.send(http.get(self.url("/v1/health"))).await?;
            // Everything above the floor may still be unsent.
            let floor = self.store.push_position()?.floor;
            report.restamped = count(self.blocking(move |s| s.restamp_ahead(floor)).await?);
        }
        self.push(http, &mut report).await?;
        // The rows are accepted: their photos follow.
        self.upload_photos(http, &mut report).await;
        if let Some(after) = self.catch_up_from()? {
            let feed = Feed {
                cursor_key: STATE_CATCHUP_CURSOR,
                columns_after: Some(after),
            };
            self.pull(http, &mut report, &feed).await?;
        }
        if !report.more {
            let feed = Feed {
                cursor_key: STATE_CURSOR,
                columns_after: None,
            };
            self.pull(http, &mut report, &feed).await?;
        }
        if !report.more {
            self.blocking(|s| s.set_state(&[(STATE_LAST_SUCCESS, StateValue::Int(s.now_ms()))]))
                .await?;
        }
        // Photos no listing uses any more (deleted items, removed photos,
        // here or pulled) are erased from this phone.
        report.photos_erased = count(self.blocking(|s| s.erase_unreferenced_photos()).await?);
        if self.renew_due.swap(false, Ordering::SeqCst) {
            // A failed renewal is tried again by the next sync; the token
            // has a third of its life left.
            if let Err(e) = self.renew_token_with(http).await {
                tracing::warn!(error = %e, "token renewal failed; the next sync tries again");
            }
        }
        report.clock_offset_ms = self.clock.as_ref().map(|c| c.offset_ms());
        tracing::info!(
            pushed = report.pushed,
            rejected = report.rejected,
            pulled = report.pulled,
            "sync finished"
        );
        Ok(report)
    }

    async fn push(&self, http: &reqwest::Client, report: &mut SyncReport) -> Result<()> {
        // Writes made from here on go with the next sync (unless this push
        // has to page past them anyway to finish its page-through).
        let end = self.store.current_seq()?;
        let mut pos = self.store.push_position()?;
        if pos.floor == pos.after && pos.after >= end {
            return Ok(());
        }
        let limit = PageLimit {
            rows: self.config.push_batch.clamp(1, MAX_PUSH_ROWS),
            bytes: MAX_PUSH_BATCH_BYTES,
        };
        loop {
            let page = self.blocking(move |s| s.outbox_batch(pos, limit)).await?;
            let next = pos.after_page(&page);
            let state = move || {
                [
                    (STATE_PUSHED, StateValue::Int(next.after)),
                    (STATE_PUSH_FLOOR, StateValue::Int(next.floor)),
                ]
            };
            if page.changes.is_empty() {
                self.blocking(move |s| s.set_state(&state())).await?;
            } else {
                let (sites, rows) = wire::encode_rows(&page.changes);
                let body = serde_json::to_vec(&PushRequest { sites, rows })?;
                let req = http
                    .post(self.url("/v1/push"))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::CONTENT_ENCODING, "gzip")
                    .body(gzip(&body)?);
                let resp: PushResponse = self.send(req).await?;
                let rejections = resp.decode_rejections()?;
                let refused = rejections.len();
                if rejections.is_empty() {
                    self.blocking(move |s| s.set_state(&state())).await?;
                } else {
                    let mark = pos.after;
                    let rolled = self
                        .blocking(move |s| s.roll_back(&rejections, mark, &state()))
                        .await?;
                    report
                        .changed
                        .extend(rolled.changed.into_iter().map(ChangedRow::from));
                    tracing::info!(rejected = refused, "server refused changes; rolled back");
                }
                report.pushed += count(page.changes.len());
                report.rejected += count(refused);
                self.tell_progress(report, 0);
            }
            pos = next;
            if !page.more || pos.after >= end {
                break;
            }
        }
        Ok(())
    }

    /// The schema this phone's pulled data is complete for, if it must
    /// catch up on the columns added since (the app was upgraded after it
    /// had pulled). A phone that has pulled nothing needs no catch-up: its
    /// first pull brings every column it knows.
    fn catch_up_from(&self) -> Result<Option<i64>> {
        let pulled = self.store.pulled_schema()?;
        if pulled >= self.schema {
            return Ok(None);
        }
        if self.store.pull_cursor()?.is_start() {
            self.store
                .set_state(&[(STATE_PULLED_SCHEMA, StateValue::Int(self.schema))])?;
            return Ok(None);
        }
        tracing::info!(
            from = pulled,
            to = self.schema,
            "catching up on the columns added since the last schema"
        );
        Ok(Some(pulled))
    }

    async fn pull(
        &self,
        http: &reqwest::Client,
        report: &mut SyncReport,
        feed: &Feed,
    ) -> Result<()> {
        let limit = self.config.pull_limit.clamp(1, MAX_PULL_LIMIT);
        let mut cursor = self.store.cursor_at(feed.cursor_key)?;
        // The full-text index is built after the pages, not alongside them
        // (searches scan what it has yet to take): held to the end of the
        // pull, the last apply included.
        let _index_hold = self.store.hold_search_index();
        let schema = self.schema;
        // Pages are applied in order, each with its cursor in the same
        // transaction, while the next page is on its way: the request for
        // page n + 1 overlaps the apply of page n (measured in BENCHMARKS.md,
        // issue 16). At most one apply is in flight.
        let mut in_flight: Option<(InFlightApply, usize, u64)> = None;
        let mut fetched = 0usize;
        let result: Result<()> = async {
            loop {
                if self.config.max_pull_pages.is_some_and(|m| fetched >= m) {
                    report.more = true;
                    break;
                }
                let mut query = vec![("cursor", cursor.to_string()), ("limit", limit.to_string())];
                if let Some(after) = feed.columns_after {
                    query.push(("columns_after", after.to_string()));
                }
                let req = http.get(self.url("/v1/pull")).query(&query);
                let page: PullResponse = self.send(req).await?;
                fetched += 1;
                let next = PullCursor::parse(&page.next).map_err(|_| {
                    Error::Corrupt("the server sent a cursor it cannot have minted".into())
                })?;
                let changes = wire::decode_rows(&page.sites, &page.rows)?;
                let n = changes.len();
                let remaining = page.remaining;
                let mut state = vec![(feed.cursor_key, StateValue::Text(page.next))];
                if feed.columns_after.is_some() && !page.more {
                    // Caught up: every column of this schema is now pulled in
                    // full, and the next catch-up (after another upgrade)
                    // starts from the beginning.
                    state = vec![
                        (feed.cursor_key, StateValue::Text("0".into())),
                        (STATE_PULLED_SCHEMA, StateValue::Int(schema)),
                    ];
                }
                if let Some(prev) = in_flight.take() {
                    self.finish_apply(prev, report).await?;
                }
                let store = self.store.clone();
                let applying = self.applying.clone().lock_owned().await;
                let apply = tokio::task::spawn_blocking(move || {
                    let out = store.apply_remote_at(schema, &changes, &state);
                    drop(applying);
                    out
                });
                let more = page.more && next != cursor;
                in_flight = Some((apply, n, if page.more { remaining } else { 0 }));
                if !more {
                    break;
                }
                cursor = next;
            }
            Ok(())
        }
        .await;
        // The page in flight is applied (and reported) even when a later
        // request failed: its rows and cursor are committed together.
        let last = match in_flight.take() {
            Some(prev) => self.finish_apply(prev, report).await,
            None => Ok(()),
        };
        result.and(last)
    }

    /// Wait for a page's apply and count it in `report`.
    async fn finish_apply(
        &self,
        (apply, n, remaining): (InFlightApply, usize, u64),
        report: &mut SyncReport,
    ) -> Result<()> {
        let applied = apply
            .await
            .map_err(|e| Error::Corrupt(format!("sync task failed: {e}")))??;
        report.pulled += count(n);
        report.pull_pages += 1;
        report.quarantined += count(applied.quarantined);
        self.tell_progress(report, remaining);
        report
            .changed
            .extend(applied.changed.iter().copied().map(ChangedRow::from));
        Ok(())
    }

    /// Run store work off the async threads: applying a page of a thousand
    /// rows is SQLite work that must not stall other tasks.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Corrupt(format!("sync task failed: {e}")))?
    }

    pub(crate) fn config(&self) -> &SyncConfig {
        &self.config
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// [`SyncClient::send`], with this device's token.
    pub(crate) async fn send_signed<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T> {
        self.send_as(req, true).await
    }

    /// [`SyncClient::send`] without a token (redeeming an invite).
    pub(crate) async fn send_unsigned<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T> {
        self.send_as(req, false).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.server_url.trim_end_matches('/'), path)
    }

    /// Send with the protocol headers; decode a JSON answer or the error.
    /// A transient failure (no connection, reset, timeout, 5xx, 429) is
    /// sent again as [`SyncConfig::retry`] says, after the server's
    /// `Retry-After` (capped) or a jittered backoff; every request of the
    /// protocol may be sent twice (a push the server holds is a no-op).
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T> {
        self.send_as(req, true).await
    }

    async fn send_as<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        signed: bool,
    ) -> Result<T> {
        let bytes = self.send_raw(req, signed).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// [`SyncClient::send_as`] without decoding: the body of a successful
    /// answer as it came (a photo).
    pub(super) async fn send_raw(
        &self,
        req: reqwest::RequestBuilder,
        signed: bool,
    ) -> Result<Vec<u8>> {
        let policy = &self.config.retry;
        let mut attempt: u32 = 1;
        loop {
            match self.send_once(req.try_clone(), signed).await {
                Ok(v) => return Ok(v),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient {
                    error,
                    retry_after,
                    what,
                }) => {
                    if attempt >= policy.max_attempts {
                        if attempt > 1 {
                            tracing::warn!(attempts = attempt, reason = what, "giving up");
                        }
                        return Err(error);
                    }
                    let wait = policy.delay(attempt, retry_after, retry::jitter_bits());
                    tracing::info!(
                        attempt,
                        reason = what,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "sync request failed; sending it again"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn send_once(
        &self,
        req: Option<reqwest::RequestBuilder>,
        signed: bool,
    ) -> std::result::Result<Vec<u8>, Failure> {
        let req = req.ok_or_else(|| {
            Failure::Final(Error::invalid(
                "request",
                "a request body that cannot be sent",
            ))
        })?;
        let sent_at = system_ms();
        let req = if signed {
            req.bearer_auth(self.token().map_err(Failure::Final)?)
        } else {
            req
        };
        let resp = req
            .header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string())
            .header(HEADER_SCHEMA, self.schema.to_string())
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
        let server_time = resp
            .headers()
            .get(wire::HEADER_SERVER_TIME)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok());
        let renew_after = resp
            .headers()
            .get(wire::HEADER_TOKEN_RENEW_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok());
        if let (Some(after), Some(now)) = (renew_after, server_time) {
            if now >= after {
                self.renew_due.store(true, Ordering::SeqCst);
            }
        }
        let bytes = resp.bytes().await.map_err(|e| transport(&e))?;
        if let Some(server_ms) = server_time {
            self.correct_clock(server_ms, sent_at, system_ms());
        }
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient {
                error: Error::Server {
                    code: "rate_limited".into(),
                    reason: "the sync server asks to slow down; try again later".into(),
                },
                retry_after,
                what: "rate limited",
            });
        }
        let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (code, message) = body.map_or_else(
            || (format!("http_{}", status.as_u16()), status.to_string()),
            |b| (b.code, b.message),
        );
        if status == reqwest::StatusCode::UPGRADE_REQUIRED {
            return Err(Failure::Final(Error::UpgradeRequired(message)));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Failure::Final(Error::SignedOut {
                code,
                reason: message,
            }));
        }
        let error = Error::Server {
            code,
            reason: message,
        };
        if status.is_server_error() {
            return Err(Failure::Transient {
                error,
                retry_after,
                what: "server error",
            });
        }
        Err(Failure::Final(error))
    }

    /// The server's time is taken to be read half-way through the round
    /// trip; see [`offset_to_apply`] for when it is not taken at all.
    fn correct_clock(&self, server_ms: i64, sent_at: i64, received_at: i64) {
        let Some(clock) = &self.clock else { return };
        let local_mid = sent_at + (received_at - sent_at) / 2;
        if let Some(offset) = offset_to_apply(server_ms, local_mid, clock.offset_ms()) {
            tracing::info!(offset_ms = offset, "clock corrected by the server's time");
            clock.set_offset_ms(offset);
        }
    }
}

/// The HTTP client for `config`: HTTPS with rustls (`ring`) and the
/// configured trust; `http://` only if [`SyncConfig::allow_cleartext`]; no
/// redirects (the protocol has none, and one must not lead off HTTPS).
pub(super) fn build_http(config: &SyncConfig) -> Result<reqwest::Client> {
    check_url(config)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls::client_config(&config.trust)?)
        .https_only(!config.allow_cleartext)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .gzip(true)
        .build()
        .map_err(|e| Error::Offline(format!("could not set up the HTTP client: {e}")))
}

/// `server_url` is an `https://` URL with a host, or `http://` where
/// cleartext is allowed.
fn check_url(config: &SyncConfig) -> Result<()> {
    let url = reqwest::Url::parse(&config.server_url)
        .map_err(|_| Error::invalid("server_url", "is not a valid URL"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("server_url", "names no host"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if config.allow_cleartext => {
            tracing::warn!("syncing over cleartext HTTP (allowed by the configuration)");
            Ok(())
        }
        "http" => Err(Error::invalid(
            "server_url",
            "is http:// (cleartext); use https://, or allow cleartext explicitly (loopback development, tests)",
        )),
        _ => Err(Error::invalid("server_url", "must start with https://")),
    }
}

/// A count for the report (saturating: a sync never moves 4 billion rows).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    #[test]
    fn debug_leaves_the_token_out() {
        let token = "fsh_0123456789abcdef0123456789abcdef";
        let config = SyncConfig::new("https://sync.example.org", token);
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains(token), "{shown}");
        assert!(shown.contains("sync.example.org") && shown.contains("<redacted>"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            Arc::new(Store::open(dir.path().join("p.db")).unwrap_or_else(|e| panic!("{e}")));
        let client = SyncClient::new(store, config).unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{client:?}");
        assert!(!shown.contains(token), "{shown}");
    }

    #[test]
    fn cleartext_only_when_allowed() {
        let mut config = SyncConfig::new("http://127.0.0.1:8080", "t");
        assert!(matches!(
            check_url(&config),
            Err(Error::Invalid { ref field, .. }) if field == "server_url"
        ));
        config.allow_cleartext = true;
        assert!(check_url(&config).is_ok());
        for url in ["", "127.0.0.1:8080", "ftp://x", "HTTPS//x", "https://"] {
            config.server_url = url.into();
            assert!(check_url(&config).is_err(), "{url}");
        }
        config.server_url = "HTTPS://Sync.Example.org".into();
        config.allow_cleartext = false;
        assert!(check_url(&config).is_ok());
    }

    #[test]
    fn the_server_time_is_applied_when_sane() {
        // Hours ahead: corrected.
        assert_eq!(offset_to_apply(NOW + 3_600_000, NOW, 0), Some(3_600_000));
        // Within the jitter of what is in force: left alone.
        assert_eq!(offset_to_apply(NOW + 3_600_500, NOW, 3_600_000), None);
        // A phone that woke in 1970 takes a sane server time.
        assert_eq!(offset_to_apply(NOW, 5_000, 0), Some(NOW - 5_000));
    }

    #[test]
    fn an_absurd_server_time_is_not_applied() {
        // Years ahead or behind a sane phone clock.
        assert_eq!(offset_to_apply(NOW + 3 * 365 * DAY, NOW, 0), None);
        assert_eq!(offset_to_apply(NOW - 2 * 365 * DAY, NOW, 0), None);
        // No sane reading at all, whatever the phone's clock says.
        assert_eq!(offset_to_apply(0, NOW, 0), None);
        assert_eq!(offset_to_apply(1_000, 5_000, 0), None);
        assert_eq!(offset_to_apply(i64::MAX, NOW, 0), None);
        assert_eq!(offset_to_apply(i64::MIN, NOW, 0), None);
        assert_eq!(offset_to_apply(NOW, i64::MIN, 0), None);
    }
}
