//! Where the server keeps photo bytes, behind [`PhotoStore`] so that
//! another backend (PostgreSQL, an object store shared by several server
//! processes) can keep them instead. The default, [`FolderPhotos`], is a
//! folder beside the SQLite file (`<db>.photos/`): the full photo as
//! `<hash>`, its thumbnail as `<hash>.thumb`.
//!
//! Thumbnails are made here, once, when a photo is uploaded
//! ([`make_thumbnail`]): decoding and scaling need an image decoder, which
//! costs the server binary a few hundred KB and the mobile library nothing.
//! They are JPEGs of at most [`THUMB_SIDE`] pixels on the longer side.

use fushi_core::photo::{check::Format, PhotoRef};
use fushi_core::store::PhotoSize;
use fushi_core::{Error, Result};
use std::path::{Path, PathBuf};

/// The longer side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 320;
/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 75;

/// Photo bytes by reference. Every method may block.
///
/// Contract: [`PhotoStore::put`] keeps the full photo and its thumbnail
/// together (once [`PhotoStore::has`] says yes, both are there); a second
/// put of the same reference is a no-op; [`PhotoStore::delete`] removes
/// both and every copy the backend made.
pub trait PhotoStore: Send + Sync + std::fmt::Debug + 'static {
    /// Whether the photo is kept.
    fn has(&self, r: &PhotoRef) -> Result<bool>;
    /// Keep a photo (already checked) and its thumbnail.
    fn put(&self, r: &PhotoRef, full: &[u8], thumb: &[u8]) -> Result<()>;
    /// A picture of a kept photo, if kept.
    fn get(&self, r: &PhotoRef, size: PhotoSize) -> Result<Option<Vec<u8>>>;
    /// Erase a photo (both pictures). Erasing what is not kept is no error.
    fn delete(&self, r: &PhotoRef) -> Result<()>;
    /// Every kept photo with when it was stored (Unix ms).
    fn list(&self) -> Result<Vec<(PhotoRef, i64)>>;
}

/// Erase the bytes of each of `refs` that no live listing of `storage`
/// uses any more (after a push that deleted an item or removed a photo).
pub fn erase_unused(
    storage: &dyn crate::storage::SyncStorage,
    refs: impl IntoIterator<Item = PhotoRef>,
) -> Result<usize> {
    let mut erased = 0;
    for r in refs {
        if storage.photo_users(&r)?.is_empty() && storage.photos().has(&r)? {
            storage.photos().delete(&r)?;
            erased += 1;
        }
    }
    Ok(erased)
}

/// Erase every photo of `photos` that no listing uses (`used`: hashes) and
/// that was stored more than `grace_ms` ago (housekeeping).
pub fn sweep(
    photos: &dyn PhotoStore,
    used: &std::collections::HashSet<String>,
    grace_ms: i64,
) -> Result<usize> {
    // Stored times are the system's: compared with the system clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let cutoff = now - grace_ms;
    let mut erased = 0;
    for (r, stored_at) in photos.list()? {
        if stored_at <= cutoff && !used.contains(&r.hex()) {
            photos.delete(&r)?;
            erased += 1;
        }
    }
    if erased > 0 {
        tracing::info!(erased, "photos no listing uses were erased");
    }
    Ok(erased)
}

/// Photos as files in a folder.
#[derive(Debug)]
pub struct FolderPhotos {
    dir: PathBuf,
}

/// The photo folder of the listings file `db`: `<db>.photos`.
pub fn photos_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".photos");
    PathBuf::from(name)
}

fn io(e: std::io::Error) -> Error {
    Error::Corrupt(format!("photo store: {}", e.kind()))
}

impl FolderPhotos {
    /// Photos in `dir` (created if missing).
    pub fn open(dir: PathBuf) -> Result<FolderPhotos> {
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(FolderPhotos { dir })
    }

    fn path(&self, r: &PhotoRef, size: PhotoSize) -> PathBuf {
        match size {
            PhotoSize::Full => self.dir.join(r.hex()),
            PhotoSize::Thumb => self.dir.join(format!("{}.thumb", r.hex())),
        }
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

impl PhotoStore for FolderPhotos {
    fn has(&self, r: &PhotoRef) -> Result<bool> {
        Ok(self.path(r, PhotoSize::Full).exists())
    }

    fn put(&self, r: &PhotoRef, full: &[u8], thumb: &[u8]) -> Result<()> {
        // The thumbnail first: the full photo's file is what says "kept".
        self.write(&self.path(r, PhotoSize::Thumb), thumb)?;
        self.write(&self.path(r, PhotoSize::Full), full)
    }

    fn get(&self, r: &PhotoRef, size: PhotoSize) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(r, size)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn delete(&self, r: &PhotoRef) -> Result<()> {
        remove(&self.path(r, PhotoSize::Full))?;
        remove(&self.path(r, PhotoSize::Thumb))
    }

    fn list(&self) -> Result<Vec<(PhotoRef, i64)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)?.flatten() {
            let name = entry.file_name();
            let Some(r) = name.to_str().and_then(|n| PhotoRef::from_hex(n).ok()) else {
                continue;
            };
            let at = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            out.push((r, at));
        }
        Ok(out)
    }
}

/// The thumbnail of a checked photo: decoded (within the photo limits),
/// scaled to at most [`THUMB_SIDE`] pixels on its longer side, encoded as
/// JPEG (no metadata: the encoder writes none).
pub fn make_thumbnail(bytes: &[u8], format: Format) -> Result<Vec<u8>> {
    let fmt = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Webp => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), fmt);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(fushi_core::photo::MAX_PHOTO_SIDE);
    limits.max_image_height = Some(fushi_core::photo::MAX_PHOTO_SIDE);
    limits.max_alloc = Some(fushi_core::photo::MAX_PHOTO_PIXELS * 4 + (16 << 20));
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|_| Error::invalid("photos", "the image data could not be decoded"))?;
    let thumb = img.thumbnail(THUMB_SIDE, THUMB_SIDE).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(&thumb)
        .map_err(|_| Error::invalid("photos", "the thumbnail could not be made"))?;
    Ok(out)
}
