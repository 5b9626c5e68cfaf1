//! Photos of listings: the bytes a phone hands over are checked
//! ([`check`]: the format from the bytes themselves, the dimensions from
//! the header, absurd sizes and decompression bombs refused), stripped of
//! every metadata segment without re-encoding ([`strip`]: EXIF with its GPS
//! position, XMP, IPTC, comments, PNG text chunks, WebP EXIF/XMP chunks),
//! and named by the SHA-256 of what is left ([`PhotoRef`]). The same code
//! runs on the phone (before anything is stored) and on the sync server
//! (before anything it is sent is kept).
//!
//! No image is decoded here: the mobile library carries no decoder. The
//! small picture a list shows (the thumbnail) is made by the server
//! (`docs/PROTOCOL.md`, "Photos").

pub mod check;
pub mod strip;

pub use check::{Format, MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, MAX_PHOTO_SIDE};

use crate::{Error, Result};
use sha2::{Digest, Sha256};

/// The prefix of a photo reference as kept in an item's `photos` set.
pub const REF_PREFIX: &str = "sha256:";

/// The name of a photo: the SHA-256 of its stripped bytes. Written in an
/// item's `photos` set as `sha256:<64 lowercase hex digits>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoRef([u8; 32]);

impl PhotoRef {
    /// The reference of `bytes` (already stripped).
    pub fn of(bytes: &[u8]) -> PhotoRef {
        PhotoRef(Sha256::digest(bytes).into())
    }

    /// Parse `sha256:<64 hex>` (lowercase, as written by [`PhotoRef::to_string`]).
    pub fn parse(s: &str) -> Result<PhotoRef> {
        let hex = s
            .strip_prefix(REF_PREFIX)
            .ok_or_else(|| Error::invalid("photos", "a photo reference starts with sha256:"))?;
        PhotoRef::from_hex(hex)
    }

    /// Parse the 64 lowercase hex digits alone (as in `/v1/photos/{hash}`).
    pub fn from_hex(hex: &str) -> Result<PhotoRef> {
        let bad = || {
            Error::invalid(
                "photos",
                "a photo reference is sha256: and 64 lowercase hex digits",
            )
        };
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => return Err(bad()),
            }
        }
        Ok(PhotoRef(out))
    }

    /// The 64 lowercase hex digits (file names, URLs).
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The raw digest.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for PhotoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{REF_PREFIX}{}", self.hex())
    }
}

/// A photo ready to keep and send: checked, stripped, named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// Its reference (SHA-256 of `bytes`).
    pub reference: PhotoRef,
    /// The stripped bytes.
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Check `bytes` (a JPEG, PNG or WebP as the app hands it over), strip
/// every metadata segment and name what is left. Errors are
/// [`Error::Invalid`] on the field `photos`, naming the reason.
pub fn prepare(bytes: &[u8]) -> Result<Prepared> {
    let info = check::check(bytes)?;
    let stripped = strip::strip(info.format, bytes)?;
    // The stripped file is checked again: what is kept and sent is what
    // was checked.
    let after = check::check(&stripped)?;
    if (after.width, after.height) != (info.width, info.height) {
        return Err(Error::invalid(
            "photos",
            "the dimensions changed when metadata was removed",
        ));
    }
    Ok(Prepared {
        reference: PhotoRef::of(&stripped),
        bytes: stripped,
        format: info.format,
        width: info.width,
        height: info.height,
    })
}

/// Check bytes received as the photo `expected` (the server, on upload; a
/// phone, on download of the full photo): its hash, its format and size,
/// and that it carries no metadata (stripping it changes nothing).
pub fn verify(expected: &PhotoRef, bytes: &[u8]) -> Result<check::Info> {
    if PhotoRef::of(bytes) != *expected {
        return Err(Error::invalid(
            "photos",
            "the bytes do not have the SHA-256 of their reference",
        ));
    }
    let info = check::check(bytes)?;
    let stripped = strip::strip(info.format, bytes)?;
    if stripped != bytes {
        return Err(Error::invalid(
            "photos",
            "the photo still carries metadata: it must be stripped before it is sent",
        ));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip_and_refuse_other_shapes() {
        let r = PhotoRef::of(b"x");
        let s = r.to_string();
        assert!(s.starts_with("sha256:") && s.len() == 71);
        assert_eq!(PhotoRef::parse(&s).ok(), Some(r));
        assert!(PhotoRef::parse("photo://1").is_err());
        assert!(PhotoRef::parse(&s.to_uppercase()).is_err());
        assert!(PhotoRef::parse(&s[..70]).is_err());
        assert!(PhotoRef::from_hex(&"g".repeat(64)).is_err());
    }
}
