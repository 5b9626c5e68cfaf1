//! What a photo must be before it is kept: a JPEG, PNG or WebP (told from
//! its bytes, not from a name or a MIME type), within the byte, side and
//! pixel limits, and no decompression bomb. The dimensions are read from
//! the header (`imagesize`); the container is parsed (`img-parts`) so that
//! a file that only starts like an image is refused too.

use crate::{Error, Result};

/// Most bytes one photo may have (as handed over, before stripping): 10 MB.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Most pixels on either side: 8000.
pub const MAX_PHOTO_SIDE: u32 = 8000;
/// Most pixels in all: 40 million (a 40 Mpx camera).
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;
/// A photo whose decoded size (4 bytes a pixel) is over this …
const BOMB_MIN_DECODED: u64 = 64 * 1024 * 1024;
/// … and over this many times its file size is a decompression bomb: a
/// camera photo or a screenshot compresses to well under 1:1000.
const BOMB_RATIO: u64 = 1000;

/// The formats taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy, lossless or extended).
    Webp,
}

impl Format {
    /// The MIME type (`Content-Type`).
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The format.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::invalid("photos", reason)
}

/// The format of `bytes`, from their magic numbers.
pub fn format(bytes: &[u8]) -> Result<Format> {
    match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => Ok(Format::Jpeg),
        Ok(imagesize::ImageType::Png) => Ok(Format::Png),
        Ok(imagesize::ImageType::Webp) => Ok(Format::Webp),
        _ => Err(invalid("not a JPEG, PNG or WebP image")),
    }
}

/// Check `bytes` as a photo: see the module documentation.
pub fn check(bytes: &[u8]) -> Result<Info> {
    if bytes.is_empty() {
        return Err(invalid("the photo is empty"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(invalid(format!(
            "the photo is larger than {MAX_PHOTO_BYTES} bytes"
        )));
    }
    let format = format(bytes)?;
    let size = imagesize::blob_size(bytes)
        .map_err(|_| invalid("the image header could not be read (truncated or damaged)"))?;
    let (width, height) = (
        u32::try_from(size.width).unwrap_or(u32::MAX),
        u32::try_from(size.height).unwrap_or(u32::MAX),
    );
    if width == 0 || height == 0 {
        return Err(invalid("the image has no pixels"));
    }
    if width > MAX_PHOTO_SIDE || height > MAX_PHOTO_SIDE {
        return Err(invalid(format!(
            "the image is larger than {MAX_PHOTO_SIDE} pixels on a side"
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PHOTO_PIXELS {
        return Err(invalid(format!(
            "the image has more than {MAX_PHOTO_PIXELS} pixels"
        )));
    }
    let decoded = pixels * 4;
    if decoded > BOMB_MIN_DECODED && decoded / (bytes.len() as u64) > BOMB_RATIO {
        return Err(invalid(
            "decompression bomb: the image would unpack to over 1000 times its size",
        ));
    }
    // The container must parse as a whole, not only its first bytes.
    let b = img_parts::Bytes::copy_from_slice(bytes);
    let parsed = match format {
        Format::Jpeg => img_parts::jpeg::Jpeg::from_bytes(b).map(|_| ()),
        Format::Png => img_parts::png::Png::from_bytes(b).map(|_| ()),
        Format::Webp => img_parts::webp::WebP::from_bytes(b).map(|_| ()),
    };
    parsed.map_err(|_| invalid("the image file is truncated or damaged"))?;
    Ok(Info {
        format,
        width,
        height,
    })
}
