//! Photos follow their rows: after a push whose rows were accepted, the
//! owner's photos not yet uploaded are uploaded (`PUT /v1/photos/{hash}`;
//! a photo is named by its hash, so an upload repeated after a cut is a
//! no-op, and one cut in the middle is sent whole again at the next sync);
//! a neighbour's photos are downloaded when the app asks for them
//! ([`SyncClient::fetch_photo`]) or ahead of time, thumbnails first, within
//! the cache budget ([`SyncClient::prefetch_thumbnails`]). Progress is
//! counted in the store ([`Store::photo_transfers`]).

use super::client::{build_http, SyncClient, SyncReport};
use super::wire::{PhotoStored, PHOTO_ON_ITS_WAY};
use crate::photo::PhotoRef;
use crate::store::{PhotoSize, PhotoView, Store};
use crate::{Error, Result};
use futures_util::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};

/// Thumbnail downloads in flight at once while prefetching.
const PREFETCH_IN_FLIGHT: usize = 4;

impl SyncClient {
    /// Upload the own photos not uploaded yet. A failure is counted and
    /// left for the next sync (the rows are in; the photos follow).
    pub(super) async fn upload_photos(&self, http: &reqwest::Client, report: &mut SyncReport) {
        let pending = match self.store().pending_photo_uploads() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the photos to upload");
                return;
            }
        };
        for (r, size) in pending {
            match self.upload_one(http, &r, size).await {
                Ok(()) => report.photos_uploaded += 1,
                Err(e) => {
                    report.photos_failed += 1;
                    tracing::info!(error = %e, "photo upload failed; the next sync tries again");
                    if matches!(
                        e,
                        Error::Offline(_)
                            | Error::SignedOut { .. }
                            | Error::Tls(_)
                            | Error::UpgradeRequired(_)
                    ) {
                        break;
                    }
                }
            }
        }
    }

    async fn upload_one(&self, http: &reqwest::Client, r: &PhotoRef, size: u64) -> Result<()> {
        let counters = self.store().transfer_counters();
        counters.start(false, size);
        let result = async {
            let r2 = *r;
            let bytes = self.blocking(move |s| s.photo_file_bytes(&r2)).await?;
            let req = http
                .put(self.url(&format!("/v1/photos/{}", r.hex())))
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes);
            let answer = self.send_raw(req, true).await?;
            let _: PhotoStored = serde_json::from_slice(&answer)?;
            let r2 = *r;
            self.blocking(move |s| s.mark_photo_uploaded(&r2)).await
        }
        .await;
        counters.finish(false, size, result.as_ref().ok().map(|_| size));
        result
    }

    /// The picture `reference` of `size`: from this phone if it has it,
    /// else downloaded from the server into the cache (within the budget).
    /// [`PhotoView::OnItsWay`] when its owner has not uploaded it yet.
    /// Offline, [`Error::Offline`] (the app shows what [`Store::photo`]
    /// says).
    pub async fn fetch_photo(&self, reference: &str, size: PhotoSize) -> Result<PhotoView> {
        self.fetch_photo_with(self.http(), reference, size).await
    }

    /// [`SyncClient::fetch_photo`] for callers without an async runtime.
    pub fn fetch_photo_blocking(&self, reference: &str, size: PhotoSize) -> Result<PhotoView> {
        let (rt, http) = self.blocking_runtime()?;
        rt.block_on(self.fetch_photo_with(&http, reference, size))
    }

    /// Download the thumbnails of the listed items' photos this phone does
    /// not have, newest items first, at most `max`, stopping when the cache
    /// budget is full. Returns how many were downloaded.
    pub async fn prefetch_thumbnails(&self, max: u32) -> Result<u32> {
        self.prefetch_with(self.http(), max).await
    }

    /// [`SyncClient::prefetch_thumbnails`] for callers without an async
    /// runtime.
    pub fn prefetch_thumbnails_blocking(&self, max: u32) -> Result<u32> {
        let (rt, http) = self.blocking_runtime()?;
        rt.block_on(self.prefetch_with(&http, max))
    }

    fn blocking_runtime(&self) -> Result<(tokio::runtime::Runtime, reqwest::Client)> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "runtime",
                "a blocking call was made inside an async runtime; use the async one",
            ));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Offline(format!("could not start the network runtime: {e}")))?;
        Ok((rt, build_http(self.config())?))
    }

    async fn prefetch_with(&self, http: &reqwest::Client, max: u32) -> Result<u32> {
        let missing = self.blocking(|s| s.photos_missing_thumbs()).await?;
        let take: Vec<PhotoRef> = missing.into_iter().take(max as usize).collect();
        let counters = self.store().transfer_counters();
        counters.queue_downloads(take.len() as u64);
        let budget = self.store().photo_cache_budget()?;
        let stopped = AtomicBool::new(false);
        let stopped = &stopped;
        // A few at once; each checks the budget (and whether the network
        // went away) before it starts, so every one started is finished.
        let mut downloads = stream::iter(take)
            .map(|r: PhotoRef| async move {
                let full = matches!(self.store().photo_storage_bytes(), Ok(b) if b >= budget);
                if full || stopped.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                self.download(http, &r, PhotoSize::Thumb).await.map(Some)
            })
            .buffer_unordered(PREFETCH_IN_FLIGHT);
        let mut done = 0u32;
        let mut fatal: Option<Error> = None;
        while let Some(result) = downloads.next().await {
            match result {
                Ok(Some(PhotoView::Ready { .. })) => done += 1,
                Ok(Some(_)) => {}
                // Not started: leaves the queue.
                Ok(None) => counters.unqueue_downloads(1),
                Err(e @ (Error::Offline(_) | Error::SignedOut { .. } | Error::Tls(_))) => {
                    stopped.store(true, Ordering::SeqCst);
                    fatal.get_or_insert(e);
                }
                Err(e) => tracing::info!(error = %e, "a thumbnail could not be downloaded"),
            }
        }
        match fatal {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    async fn fetch_photo_with(
        &self,
        http: &reqwest::Client,
        reference: &str,
        size: PhotoSize,
    ) -> Result<PhotoView> {
        let r = PhotoRef::parse(reference)?;
        let here = self.store().photo(reference, size)?;
        if let PhotoView::Ready { size: got, .. } = &here {
            // A thumbnail is served by the full photo too.
            if *got == size || *got == PhotoSize::Full {
                return Ok(here);
            }
        }
        self.store().transfer_counters().queue_downloads(1);
        self.download(http, &r, size).await
    }

    /// Download one picture (already counted as queued) into the cache.
    async fn download(
        &self,
        http: &reqwest::Client,
        r: &PhotoRef,
        size: PhotoSize,
    ) -> Result<PhotoView> {
        let counters = self.store().transfer_counters();
        counters.start(true, 0);
        let req = http
            .get(self.url(&format!("/v1/photos/{}", r.hex())))
            .query(&[("size", size.as_str())]);
        match self.send_raw(req, true).await {
            Ok(bytes) => {
                let n = bytes.len() as u64;
                let r2 = *r;
                let kept = self
                    .blocking(move |s: &Store| s.keep_downloaded_photo(&r2, size, &bytes))
                    .await;
                counters.finish(true, 0, kept.as_ref().ok().map(|_| n));
                if !kept? {
                    return Ok(PhotoView::NotDownloaded);
                }
                let reference = r.to_string();
                self.blocking(move |s| s.photo(&reference, size)).await
            }
            Err(Error::Server { code, .. }) if code == PHOTO_ON_ITS_WAY => {
                counters.not_there();
                let r2 = *r;
                self.blocking(move |s| s.mark_photo_awaited(&r2)).await?;
                Ok(PhotoView::OnItsWay)
            }
            Err(e) => {
                counters.finish(true, 0, None);
                Err(e)
            }
        }
    }
}
