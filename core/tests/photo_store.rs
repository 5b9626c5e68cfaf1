//! A phone keeps its own photos beside the store: posted as bytes, checked
//! and stripped first, shown at once, erased when no listing uses them.

mod common;
use common::*;
use fushi_core::model::ItemEdit;
use fushi_core::photo::PhotoRef;
use fushi_core::policy::Role;
use fushi_core::store::{PhotoSize, PhotoView};
use fushi_core::{Error, Table};
use img_parts::jpeg::Jpeg;
use img_parts::{Bytes, ImageEXIF};

/// A JPEG of `w`×`h` with a pattern seeded by `seed`, carrying an EXIF
/// block with a GPS marker and a comment.
fn jpeg_with_exif(seed: u8, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), y as u8, seed])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 85)
        .encode_image(&img)
        .unwrap();
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain)).unwrap();
    jpeg.set_exif(Some(Bytes::from_static(
        b"MM\0*\0\0\0\x08GPSLatitude 31.2300N",
    )));
    jpeg.encoder().bytes().to_vec()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn files(p: &Phone) -> Vec<String> {
    match std::fs::read_dir(p.store.photos_dir()) {
        Ok(d) => d
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_photo_posted_offline_shows_at_once_stripped_and_waits_for_upload() {
    let me = actor(Role::Resident);
    let p = phone(&me);
    let camera = jpeg_with_exif(1, 320, 240);
    assert!(contains(&camera, b"GPSLatitude"));
    let id = p
        .store
        .post_item_with_photos(give("台灯"), vec![camera.clone()])
        .unwrap();
    let item = p.store.item(id).unwrap();
    assert_eq!(item.photos.len(), 1);
    let r = PhotoRef::parse(&item.photos[0]).unwrap();

    // Shown at once, from the phone, without its metadata.
    let PhotoView::Ready { bytes, size } = p.store.photo(&item.photos[0], PhotoSize::Full).unwrap()
    else {
        panic!("the owner's photo is not shown");
    };
    assert_eq!(size, PhotoSize::Full);
    assert!(!contains(&bytes, b"GPSLatitude") && !contains(&bytes, b"Exif"));
    assert_eq!(PhotoRef::of(&bytes), r);
    // Asked for a thumbnail, the owner's phone gives the full photo.
    assert!(matches!(
        p.store.photo(&item.photos[0], PhotoSize::Thumb).unwrap(),
        PhotoView::Ready {
            size: PhotoSize::Full,
            ..
        }
    ));
    // One file named by its hash; queued for upload.
    assert_eq!(files(&p), [r.hex()]);
    let t = p.store.photo_transfers().unwrap();
    assert_eq!(
        (t.queued_uploads, t.queued_upload_bytes),
        (1, bytes.len() as u64)
    );
    // The bytes are not in the database file.
    let db = std::fs::read(p.path()).unwrap();
    assert!(!contains(
        &db,
        &bytes[bytes.len() / 2..bytes.len() / 2 + 32]
    ));

    // A second photo added later, and the same bytes again (no duplicate).
    let more = p
        .store
        .add_item_photos(id, vec![jpeg_with_exif(2, 200, 200), camera])
        .unwrap();
    assert_eq!(more.len(), 2);
    assert_eq!(more[1], item.photos[0]);
    assert_eq!(p.store.item(id).unwrap().photos.len(), 2);
    assert_eq!(files(&p).len(), 2);
    assert_eq!(p.store.photo_transfers().unwrap().queued_uploads, 2);
}

#[test]
fn removing_a_photo_or_deleting_the_item_erases_the_files() {
    let me = actor(Role::Resident);
    let p = phone(&me);
    let a = p
        .store
        .post_item_with_photos(
            give("椅子"),
            vec![jpeg_with_exif(3, 64, 64), jpeg_with_exif(4, 64, 64)],
        )
        .unwrap();
    let b = p
        .store
        .post_item_with_photos(give("凳子"), vec![jpeg_with_exif(3, 64, 64)])
        .unwrap();
    let refs = p.store.item(a).unwrap().photos;
    assert_eq!(files(&p).len(), 2);
    let (shared, only_a) = if p.store.item(b).unwrap().photos[0] == refs[0] {
        (refs[0].clone(), refs[1].clone())
    } else {
        (refs[1].clone(), refs[0].clone())
    };

    p.store
        .edit_item(
            a,
            ItemEdit {
                remove_photos: vec![only_a.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(files(&p), [PhotoRef::parse(&shared).unwrap().hex()]);
    assert_eq!(
        p.store.photo(&only_a, PhotoSize::Full).unwrap(),
        PhotoView::NotDownloaded
    );
    // Still used by item b: kept when a is deleted, erased with b.
    p.store.delete_listing(Table::Item, a).unwrap();
    assert_eq!(files(&p).len(), 1);
    p.store.delete_listing(Table::Item, b).unwrap();
    assert!(files(&p).is_empty());
    assert_eq!(p.store.photo_transfers().unwrap().queued_uploads, 0);
    assert_eq!(p.store.photo_storage_bytes().unwrap(), 0);
}

fn invalid_photos(e: Error) -> String {
    match e {
        Error::Invalid { field, reason } if field == "photos" => reason,
        other => panic!("not an invalid-photos error: {other}"),
    }
}

#[test]
fn bad_photos_and_bad_references_are_refused_and_nothing_is_kept() {
    let me = actor(Role::Resident);
    let p = phone(&me);
    let r = invalid_photos(
        p.store
            .post_item_with_photos(give("x"), vec![b"not an image at all".to_vec()])
            .unwrap_err(),
    );
    assert!(r.contains("not a JPEG, PNG or WebP"), "{r}");
    let ten = (0..10).map(|i| jpeg_with_exif(i, 8, 8)).collect();
    let r = invalid_photos(p.store.post_item_with_photos(give("x"), ten).unwrap_err());
    assert!(r.contains("at most 9"), "{r}");
    // A free-form reference is not written any more by this app …
    let mut item = give("x");
    item.photos = vec!["photo://1".into()];
    let r = invalid_photos(p.store.post_item(item).unwrap_err());
    assert!(r.contains("sha256:"), "{r}");
    // … and one such is refused when asked for its bytes.
    assert!(p.store.photo("photo://1", PhotoSize::Thumb).is_err());
    assert!(files(&p).is_empty());
    assert!(p.store.snapshot().unwrap().is_empty());
}

#[test]
fn the_cache_budget_is_kept_in_the_store() {
    let me = actor(Role::Resident);
    let p = phone(&me);
    assert_eq!(
        p.store.photo_cache_budget().unwrap(),
        fushi_core::store::DEFAULT_PHOTO_CACHE_BYTES
    );
    p.store
        .post_item_with_photos(give("灯"), vec![jpeg_with_exif(9, 128, 128)])
        .unwrap();
    // A budget of 0 evicts what it may, but never a photo not yet uploaded.
    p.store.set_photo_cache_budget(0).unwrap();
    assert_eq!(p.store.photo_cache_budget().unwrap(), 0);
    assert_eq!(files(&p).len(), 1);
}
