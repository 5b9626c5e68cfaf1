//! Photos are stripped of every metadata segment without re-encoding, and
//! refused when they are not images, too large or decompression bombs.
//!
//! The camera-style JPEG is made here: encoded with the `image` crate, then
//! given what a phone camera writes: an EXIF block (make, model, serial,
//! date, GPS latitude/longitude/altitude, an embedded thumbnail), an XMP
//! packet with the position again, an IPTC block, a comment, and a trailer
//! after the end of the image.

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use fushi_core::photo::{self, check, Format, PhotoRef};
use fushi_core::Error;
use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::{Png, PngChunk};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF};

/// A 640×480 gradient: enough structure that a re-encode would show.
fn pixels(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x ^ y) & 0xFF) as u8,
        ])
    })
}

fn encode_jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

/// The GPS position the camera wrote: 31°13'48.12" N, 121°28'12.34" E.
const GPS_LAT: [Rational; 3] = [
    Rational { num: 31, denom: 1 },
    Rational { num: 13, denom: 1 },
    Rational {
        num: 4812,
        denom: 100,
    },
];
const GPS_LON: [Rational; 3] = [
    Rational { num: 121, denom: 1 },
    Rational { num: 28, denom: 1 },
    Rational {
        num: 1234,
        denom: 100,
    },
];

/// An EXIF block (TIFF bytes) as a phone camera writes it.
fn camera_exif(thumb: &[u8]) -> Vec<u8> {
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let fields = vec![
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: ascii("FushiPhone"),
        },
        Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: ascii("Camera X12"),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii("2026:12:01 09:30:00"),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: ascii("SN-0042-SECRET"),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii("N"),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(GPS_LAT.to_vec()),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii("E"),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(GPS_LON.to_vec()),
        },
        Field {
            tag: Tag::GPSAltitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![Rational {
                num: 1234,
                denom: 10,
            }]),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    w.set_jpeg(thumb, In::THUMBNAIL);
    let mut buf = std::io::Cursor::new(Vec::new());
    w.write(&mut buf, false).unwrap();
    buf.into_inner()
}

const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description exif:GPSLatitude=\"31,13.802N\" exif:GPSLongitude=\"121,28.206E\"/></rdf:RDF></x:xmpmeta>";
const COMMENT: &[u8] = b"taken at home, flat 1203";
const IPTC: &[u8] = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0c\x1c\x02\x5a\0\x08Shanghai";
const TRAILER: &[u8] = b"MotionPhoto_Data trailing video with its own location";

/// A camera-style JPEG: the encoded pixels plus every kind of metadata.
fn camera_jpeg() -> (Vec<u8>, Vec<u8>) {
    let img = pixels(640, 480);
    let plain = encode_jpeg(&img, 90);
    let thumb = encode_jpeg(&image::imageops::thumbnail(&img, 160, 120), 70);
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain.clone())).unwrap();
    jpeg.set_exif(Some(Bytes::from(camera_exif(&thumb))));
    let segs = jpeg.segments_mut();
    segs.insert(
        2,
        JpegSegment::new_with_contents(markers::APP1, Bytes::from_static(XMP)),
    );
    segs.insert(
        3,
        JpegSegment::new_with_contents(markers::APP13, Bytes::from_static(IPTC)),
    );
    segs.insert(
        4,
        JpegSegment::new_with_contents(markers::COM, Bytes::from_static(COMMENT)),
    );
    let mut bytes = jpeg.encoder().bytes().to_vec();
    bytes.extend_from_slice(TRAILER);
    (bytes, plain)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The GPS latitude as the TIFF block holds it (big-endian rationals).
fn gps_bytes() -> Vec<u8> {
    GPS_LAT
        .iter()
        .flat_map(|r| [r.num.to_be_bytes(), r.denom.to_be_bytes()].concat())
        .collect()
}

#[test]
fn a_camera_jpeg_loses_every_metadata_segment_and_keeps_its_pixels() {
    let (camera, _) = camera_jpeg();
    // The file really carries what a camera writes.
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&camera))
        .expect("the test file has EXIF");
    assert!(exif.get_field(Tag::GPSLatitude, In::PRIMARY).is_some());
    for marker in [
        &b"Exif\0\0"[..],
        b"SN-0042-SECRET",
        b"FushiPhone",
        XMP,
        COMMENT,
        IPTC,
        TRAILER,
        &gps_bytes(),
    ] {
        assert!(contains(&camera, marker));
    }

    let prepared = photo::prepare(&camera).unwrap();
    let out = &prepared.bytes;
    assert_eq!(prepared.format, Format::Jpeg);
    assert_eq!((prepared.width, prepared.height), (640, 480));
    assert_eq!(prepared.reference, PhotoRef::of(out));

    // Byte by byte: nothing of the metadata is left anywhere in the file.
    for (what, needle) in [
        ("EXIF header", &b"Exif\0\0"[..]),
        ("TIFF header", b"MM\0*"),
        ("camera serial", b"SN-0042-SECRET"),
        ("camera make", b"FushiPhone"),
        ("GPS latitude", &gps_bytes()),
        ("XMP", b"http://ns.adobe.com/xap"),
        ("XMP position", b"GPSLatitude"),
        ("IPTC", b"Photoshop 3.0"),
        ("comment", COMMENT),
        ("trailer", b"MotionPhoto"),
    ] {
        assert!(!contains(out, needle), "{what} survived");
    }
    // Only the JFIF header is left of the application segments, no comment.
    let stripped = Jpeg::from_bytes(Bytes::from(out.clone())).unwrap();
    for s in stripped.segments() {
        let m = s.marker();
        assert!(
            !(markers::APP1..=markers::APP15).contains(&m) && m != markers::COM,
            "segment {m:#x} survived"
        );
    }
    assert!(exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(out))
        .is_err());
    assert_eq!(&out[out.len() - 2..], [0xFF, 0xD9], "ends at end-of-image");
    // The image data is the very same bytes: no re-encoding.
    let scan = |b: &[u8]| {
        // The last scan start: the EXIF thumbnail has scans of its own.
        let sos = b.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
        let eoi = b.windows(2).rposition(|w| w == [0xFF, 0xD9]).unwrap();
        b[sos..eoi + 2].to_vec()
    };
    assert!(
        scan(out) == scan(&camera[..camera.len() - TRAILER.len()]),
        "scan data changed"
    );
    // And it decodes to exactly the same pixels.
    let before = image::load_from_memory(&camera).unwrap().to_rgb8();
    let after = image::load_from_memory(out).unwrap().to_rgb8();
    assert_eq!(before.dimensions(), after.dimensions());
    assert!(before.as_raw() == after.as_raw(), "pixels changed");

    // Stripping again changes nothing; the server's check takes it.
    assert_eq!(&photo::prepare(out).unwrap().bytes, out);
    assert!(photo::verify(&prepared.reference, out).is_ok());
    // The unstripped file is refused by the server's check.
    assert!(photo::verify(&PhotoRef::of(&camera), &camera).is_err());
}

#[test]
fn png_text_and_exif_chunks_are_removed() {
    let img = pixels(64, 48);
    let mut plain = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut plain),
        image::ImageFormat::Png,
    )
    .unwrap();
    let mut png = Png::from_bytes(Bytes::from(plain)).unwrap();
    let at = png.chunks().len() - 1;
    let chunks = png.chunks_mut();
    chunks.insert(
        1,
        PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0flat 1203")),
    );
    chunks.insert(
        1,
        PngChunk::new(
            *b"iTXt",
            Bytes::from_static(b"XML:com.adobe.xmp\0\0\0\0\0GPSLatitude"),
        ),
    );
    chunks.insert(1, PngChunk::new(*b"eXIf", Bytes::from_static(b"MM\0*GPS")));
    chunks.insert(
        at,
        PngChunk::new(*b"zTXt", Bytes::from_static(b"Author\0\0x")),
    );
    let with = png.encoder().bytes().to_vec();
    let out = photo::prepare(&with).unwrap().bytes;
    for needle in [
        &b"tEXt"[..],
        b"iTXt",
        b"eXIf",
        b"zTXt",
        b"flat 1203",
        b"GPSLatitude",
    ] {
        assert!(!contains(&out, needle));
    }
    let before = image::load_from_memory(&with).unwrap().to_rgb8();
    let after = image::load_from_memory(&out).unwrap().to_rgb8();
    assert!(before.as_raw() == after.as_raw());
}

#[test]
fn webp_exif_and_xmp_chunks_are_removed() {
    let img = image::DynamicImage::ImageRgb8(pixels(64, 48)).to_rgba8();
    let mut plain = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut plain)
        .encode(img.as_raw(), 64, 48, image::ExtendedColorType::Rgba8)
        .unwrap();
    let mut webp = WebP::from_bytes(Bytes::from(plain)).unwrap();
    webp.set_exif(Some(Bytes::from(camera_exif(&[]))));
    webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
        *b"XMP ",
        img_parts::riff::RiffContent::Data(Bytes::from_static(XMP)),
    ));
    let with = webp.encoder().bytes().to_vec();
    assert!(contains(&with, b"SN-0042-SECRET"));
    let out = photo::prepare(&with).unwrap().bytes;
    for needle in [
        &b"EXIF"[..],
        b"XMP ",
        b"SN-0042-SECRET",
        b"GPSLatitude",
        &gps_bytes(),
    ] {
        assert!(!contains(&out, needle));
    }
    let before = image::load_from_memory(&with).unwrap().to_rgba8();
    let after = image::load_from_memory(&out).unwrap().to_rgba8();
    assert!(before.as_raw() == after.as_raw());
}

fn reason(e: Error) -> String {
    match e {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "photos");
            reason
        }
        other => panic!("not an invalid-photo error: {other}"),
    }
}

/// A real PNG whose header claims `w`×`h`.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut plain = Vec::new();
    pixels(4, 4)
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::Png,
        )
        .unwrap();
    let mut png = Png::from_bytes(Bytes::from(plain)).unwrap();
    let ihdr = png.chunks()[0].contents().to_vec();
    let mut c = ihdr.clone();
    c[0..4].copy_from_slice(&w.to_be_bytes());
    c[4..8].copy_from_slice(&h.to_be_bytes());
    png.chunks_mut()[0] = PngChunk::new(*b"IHDR", Bytes::from(c));
    png.encoder().bytes().to_vec()
}

#[test]
fn what_is_not_a_sane_image_is_refused_with_its_reason() {
    assert!(reason(photo::prepare(b"").unwrap_err()).contains("empty"));
    assert!(reason(photo::prepare(b"GIF89a\x01\0\x01\0").unwrap_err())
        .contains("not a JPEG, PNG or WebP"));
    assert!(
        reason(photo::prepare(b"%PDF-1.7 hello").unwrap_err()).contains("not a JPEG, PNG or WebP")
    );
    let big = vec![0u8; check::MAX_PHOTO_BYTES + 1];
    assert!(reason(photo::prepare(&big).unwrap_err()).contains("larger than"));
    assert!(reason(photo::prepare(&png_claiming(9000, 10)).unwrap_err())
        .contains("8000 pixels on a side"));
    assert!(
        reason(photo::prepare(&png_claiming(7000, 7000)).unwrap_err()).contains("40000000 pixels")
    );
    // 6000×6000 (144 MB decoded) in a few hundred bytes: a bomb.
    assert!(
        reason(photo::prepare(&png_claiming(6000, 6000)).unwrap_err())
            .contains("decompression bomb")
    );
    // A JPEG cut short.
    let (camera, _) = camera_jpeg();
    let cut = &camera[..camera.len() / 2];
    assert!(photo::prepare(cut).is_err());
}

#[test]
fn segments_after_the_scan_data_are_removed_too() {
    // A comment and an APP1 block written after the scan data, before the
    // end-of-image marker (legal, and where progressive files put tables
    // between scans): the walk of the scans drops them.
    let plain = encode_jpeg(&pixels(96, 64), 85);
    let eoi = plain.len() - 2;
    let mut with = plain[..eoi].to_vec();
    for (marker, body) in [
        (0xFEu8, &b"flat 1203"[..]),
        (0xE1, b"Exif\0\0MM\0*GPSLatitude"),
    ] {
        let len = (body.len() + 2) as u16;
        with.extend_from_slice(&[0xFF, marker]);
        with.extend_from_slice(&len.to_be_bytes());
        with.extend_from_slice(body);
    }
    with.extend_from_slice(&[0xFF, 0xD9]);
    assert!(contains(&with, b"flat 1203"));
    let out = photo::prepare(&with).unwrap().bytes;
    assert!(!contains(&out, b"flat 1203") && !contains(&out, b"GPSLatitude"));
    assert!(out == plain, "only the added segments went");
}
