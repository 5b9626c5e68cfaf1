//! Photos of items: thin glue over `fushi_core::store::photos` (kept on the
//! phone, stripped of metadata before anything is kept) and
//! `fushi_core::sync` (uploaded after their rows, downloaded on demand,
//! thumbnails first, within the cache budget).

use crate::error::FushiError;
use crate::store::FushiStore;
use crate::types::parse_id;
use fushi_core::model::NewItem;
use fushi_core::store::{PhotoSize, PhotoTransfers, PhotoView};

type Result<T, E = FushiError> = std::result::Result<T, E>;

/// The bytes of the photo files at `paths` (refused before reading when
/// larger than a photo may be).
fn read_files(paths: &[String]) -> Result<Vec<Vec<u8>>> {
    paths
        .iter()
        .map(|p| {
            let len = std::fs::metadata(p)
                .map_err(|_| FushiError::invalid("photos", "a photo file could not be read"))?
                .len();
            if len > fushi_core::photo::MAX_PHOTO_BYTES as u64 {
                return Err(FushiError::invalid(
                    "photos",
                    &format!(
                        "the photo is larger than {} bytes",
                        fushi_core::photo::MAX_PHOTO_BYTES
                    ),
                ));
            }
            std::fs::read(p)
                .map_err(|_| FushiError::invalid("photos", "a photo file could not be read"))
        })
        .collect()
}

#[uniffi::export(async_runtime = "tokio")]
impl FushiStore {
    /// Posts an item with photos given as their bytes (JPEG, PNG or WebP,
    /// at most 9, 10 MB each). Each is checked and stripped of its metadata
    /// (EXIF with GPS, XMP, IPTC, comments) before anything is kept; the
    /// item shows them at once, and the next sync uploads them after the
    /// item. Returns the item's id. Errors: `InvalidInput` (`photos`, with
    /// the reason: not an image, too large, decompression bomb, …).
    pub fn post_item_with_photos(&self, item: NewItem, photos: Vec<Vec<u8>>) -> Result<String> {
        Ok(self.store.post_item_with_photos(item, photos)?.to_string())
    }

    /// [`FushiStore::post_item_with_photos`] with photos given as paths of
    /// files the app can read (the camera's or the gallery's output).
    pub fn post_item_with_photo_files(&self, item: NewItem, paths: Vec<String>) -> Result<String> {
        let photos = read_files(&paths)?;
        self.post_item_with_photos(item, photos)
    }

    /// The owner adds photos (bytes) to an item. Returns their references
    /// (`sha256:…`, as in `Item.photos`).
    pub fn add_item_photos(&self, item_id: String, photos: Vec<Vec<u8>>) -> Result<Vec<String>> {
        let id = parse_id("item_id", &item_id)?;
        Ok(self.store.add_item_photos(id, photos)?)
    }

    /// A picture of a photo (`reference`: an element of `Item.photos`) if
    /// this phone has it, else `NotDownloaded` or `OnItsWay`. Never goes to
    /// the network; counts as a view for the cache's eviction order.
    pub fn photo(&self, reference: String, size: PhotoSize) -> Result<PhotoView> {
        Ok(self.store.photo(&reference, size)?)
    }

    /// A picture of a photo, downloaded into the cache when this phone does
    /// not have it. `OnItsWay` when its owner has not uploaded it yet.
    /// Errors: `Offline` (show what `photo` says).
    pub async fn fetch_photo(&self, reference: String, size: PhotoSize) -> Result<PhotoView> {
        Ok(self.client()?.fetch_photo(&reference, size).await?)
    }

    /// Downloads the thumbnails of the listed items' photos this phone
    /// lacks, newest first, at most `max`, within the cache budget.
    /// Returns how many were downloaded.
    pub async fn prefetch_thumbnails(&self, max: u32) -> Result<u32> {
        Ok(self.client()?.prefetch_thumbnails(max).await?)
    }

    /// Sets the photo cache budget in bytes (downloaded and uploaded photos;
    /// the user's photos not yet uploaded are never evicted), evicting the
    /// least recently viewed down to it now.
    pub fn set_photo_cache_budget(&self, bytes: u64) -> Result<()> {
        Ok(self.store.set_photo_cache_budget(bytes)?)
    }

    /// The photo cache budget in bytes.
    pub fn photo_cache_budget(&self) -> Result<u64> {
        Ok(self.store.photo_cache_budget()?)
    }

    /// Photo transfers: queued, in flight, done and failed (poll it while
    /// a sync or a download runs to draw progress).
    pub fn photo_transfers(&self) -> Result<PhotoTransfers> {
        Ok(self.store.photo_transfers()?)
    }
}
