//! Metadata removed without re-encoding: what is left is the image data
//! and what decoders need to show it right (JFIF header, Adobe colour
//! transform, ICC colour profile; PNG's colour chunks), byte for byte as it
//! came. Everything else goes: EXIF (with GPS position, camera serial,
//! embedded thumbnail), XMP, IPTC/Photoshop, MPF (extra images), comments,
//! anything after the end of the image; PNG `tEXt`/`zTXt`/`iTXt`/`eXIf`/
//! `tIME` and any chunk not known to be image data; WebP `EXIF` and `XMP `
//! chunks (and their VP8X flags).
//!
//! Segments and chunks are read and written with `img-parts`. For JPEG it
//! keeps everything from the first scan on as one block; the scans are
//! walked here (a marker at a time) to drop segments written between
//! progressive scans and whatever follows the end-of-image marker (some
//! phones append a video with its own position there).

use super::check::Format;
use crate::{Error, Result};
use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::Png;
use img_parts::riff::RiffContent;
use img_parts::webp::WebP;
use img_parts::Bytes;

fn damaged() -> Error {
    Error::invalid("photos", "the image file is truncated or damaged")
}

/// `bytes` (of `format`) without metadata.
pub fn strip(format: Format, bytes: &[u8]) -> Result<Vec<u8>> {
    match format {
        Format::Jpeg => strip_jpeg(bytes),
        Format::Png => strip_png(bytes),
        Format::Webp => strip_webp(bytes),
    }
}

/// Whether a JPEG segment before the first scan is kept.
fn keep_jpeg_segment(s: &JpegSegment) -> bool {
    let m = s.marker();
    let c = s.contents();
    match m {
        // JFIF's header (not its JFXX thumbnail extension).
        markers::APP0 => c.starts_with(b"JFIF\0"),
        // The ICC colour profile (not MPF, which points at extra images).
        markers::APP2 => c.starts_with(b"ICC_PROFILE\0"),
        // Adobe's colour transform flag: CMYK and YCCK decode wrong without it.
        markers::APP14 => c.starts_with(b"Adobe"),
        markers::APP1..=markers::APP15 | markers::COM => false,
        _ => true,
    }
}

fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>> {
    let jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| damaged())?;
    let segments = jpeg.segments();
    // img-parts ends at the first scan (SOS), whose "entropy" is the rest
    // of the file: it sits at the end of `bytes`.
    let Some(sos) = segments.last().filter(|s| s.marker() == markers::SOS) else {
        return Err(Error::invalid("photos", "the JPEG has no image data"));
    };
    let rest_len = sos.len_with_entropy() - sos.len();
    let sos_start = bytes
        .len()
        .checked_sub(sos.len_with_entropy())
        .ok_or_else(damaged)?;
    let rest_start = bytes.len() - rest_len;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, markers::SOI]);
    for s in &segments[..segments.len() - 1] {
        if keep_jpeg_segment(s) {
            out.extend_from_slice(&s.clone().encoder().bytes());
        }
    }
    out.extend_from_slice(&bytes[sos_start..rest_start]);
    walk_scans(&bytes[rest_start..], &mut out)?;
    Ok(out)
}

/// Copy the scans (entropy-coded data and the table and scan segments
/// between progressive scans) up to and including the end-of-image marker;
/// drop application segments and comments between scans and everything
/// after the end.
fn walk_scans(data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut i = 0;
    let mut copied = 0;
    while i + 1 < data.len() {
        if data[i] != 0xFF {
            i += 1;
            continue;
        }
        let m = data[i + 1];
        match m {
            // Stuffed 0xFF, restart markers, fill bytes: scan data.
            0x00 | markers::RST0..=markers::RST7 | 0xFF | 0x01 => {
                i += if m == 0xFF { 1 } else { 2 };
            }
            markers::EOI => {
                out.extend_from_slice(&data[copied..i + 2]);
                return Ok(());
            }
            _ => {
                let len = data
                    .get(i + 2..i + 4)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                    .ok_or_else(damaged)?;
                let end = i + 2 + len;
                if len < 2 || end > data.len() {
                    return Err(damaged());
                }
                if matches!(m, markers::APP0..=markers::APP15 | markers::COM) {
                    out.extend_from_slice(&data[copied..i]);
                    copied = end;
                }
                i = end;
            }
        }
    }
    Err(Error::invalid(
        "photos",
        "the JPEG is truncated (no end-of-image marker)",
    ))
}

/// PNG chunks kept: the critical ones, colour and transparency, physical
/// size, and the frames of an animated PNG.
const PNG_KEEP: [&[u8; 4]; 15] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"bKGD", b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

fn strip_png(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| damaged())?;
    png.chunks_mut()
        .retain(|c| PNG_KEEP.iter().any(|k| **k == c.kind()));
    if png.chunks().last().map(|c| c.kind()) != Some(*b"IEND") {
        return Err(Error::invalid("photos", "the PNG is truncated (no IEND)"));
    }
    Ok(png.encoder().bytes().to_vec())
}

/// WebP chunks kept: image data, alpha, animation, colour profile.
const WEBP_KEEP: [&[u8; 4]; 7] = [
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// VP8X flag bits that announce EXIF and XMP chunks.
const VP8X_EXIF_XMP: u8 = 0b0000_1100;

fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|_| damaged())?;
    webp.chunks_mut()
        .retain(|c| WEBP_KEEP.iter().any(|k| **k == c.id()));
    for c in webp.chunks_mut() {
        if c.id() == *b"VP8X" {
            if let RiffContent::Data(d) = c.content_mut() {
                if let Some(first) = d.first().copied() {
                    if first & VP8X_EXIF_XMP != 0 {
                        let mut v = d.to_vec();
                        v[0] = first & !VP8X_EXIF_XMP;
                        *d = Bytes::from(v);
                    }
                }
            }
        }
    }
    Ok(webp.encoder().bytes().to_vec())
}
