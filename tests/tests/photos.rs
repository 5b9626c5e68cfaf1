//! Photos against the real server on loopback: they follow their rows up
//! (stripped), reach the neighbours who may see them (thumbnail first),
//! and are erased everywhere when their listing is deleted.

use fushi_core::model::ItemEdit;
use fushi_core::photo::PhotoRef;
use fushi_core::policy::Role;
use fushi_core::store::{PhotoSize, PhotoView};
use fushi_core::Table;
use fushi_tests::*;
use std::path::Path;

/// A sample item without the sample's (byte-less) photo reference.
fn bare(title: &str) -> fushi_core::model::NewItem {
    fushi_core::model::NewItem {
        photos: Vec::new(),
        ..item(title)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_containing(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|b| contains(&b, needle)) {
            out.push(p.display().to_string());
        }
    }
    out
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The photos the server keeps, as files are named in its folder (`<hash>`
/// and `<hash>.thumb`), whatever keeps them (a folder, the database).
fn server_copies(server: &Server) -> Vec<String> {
    let photos = server.storage.photos();
    let mut out = Vec::new();
    for (r, _) in photos.list().unwrap() {
        if photos.get(&r, PhotoSize::Full).unwrap().is_some() {
            out.push(r.hex());
        }
        if photos.get(&r, PhotoSize::Thumb).unwrap().is_some() {
            out.push(format!("{}.thumb", r.hex()));
        }
    }
    out.sort();
    out
}

/// Whether any picture the server keeps holds `needle`.
fn server_holds(server: &Server, needle: &[u8]) -> bool {
    let photos = server.storage.photos();
    photos.list().unwrap().iter().any(|(r, _)| {
        [PhotoSize::Full, PhotoSize::Thumb].into_iter().any(|size| {
            photos
                .get(r, size)
                .unwrap()
                .is_some_and(|b| contains(&b, needle))
        })
    })
}

fn ready(v: PhotoView) -> (Vec<u8>, PhotoSize) {
    match v {
        PhotoView::Ready { bytes, size } => (bytes, size),
        other => panic!("not ready: {other:?}"),
    }
}

async fn photo_req(
    server: &Server,
    method: reqwest::Method,
    r: &PhotoRef,
    token: &str,
) -> reqwest::RequestBuilder {
    raw(
        &http(),
        method,
        &format!("{}/v1/photos/{}?size=full", server.url, r.hex()),
        token,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_photo_from_post_to_erase_leaves_no_copy_anywhere() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let other = server.phone(Role::Resident, "cuiwei");

    // Posted offline with a camera photo: shown at once, stripped.
    let camera = camera_jpeg(7, 800, 600, 90);
    assert!(contains(&camera, b"GPSLatitude"));
    let lamp = li
        .store
        .post_item_with_photos(bare("台灯"), vec![camera.clone()])
        .unwrap();
    let reference = li.store.item(lamp).unwrap().photos[0].clone();
    let r = PhotoRef::parse(&reference).unwrap();
    let (stripped, _) = ready(li.store.photo(&reference, PhotoSize::Full).unwrap());
    assert!(!contains(&stripped, b"GPSLatitude"));
    // A distinctive 32-byte slice of the photo, looked for everywhere later.
    let mid = stripped.len() / 2;
    let needle = stripped[mid..mid + 32].to_vec();
    assert_eq!(li.store.photo_transfers().unwrap().queued_uploads, 1);

    // The sync pushes the row, then uploads the photo.
    let report = li.client.sync().await.unwrap();
    assert_eq!((report.pushed, report.photos_uploaded), (1, 1));
    let t = li.store.photo_transfers().unwrap();
    assert_eq!((t.queued_uploads, t.uploaded, t.in_flight), (0, 1, 0));
    assert_eq!(t.uploaded_bytes, stripped.len() as u64);
    assert_eq!(
        server_copies(&server),
        [r.hex(), format!("{}.thumb", r.hex())]
    );
    assert!(server_holds(&server, &needle));
    // The server keeps what the phone sent: stripped.
    assert!(!server_holds(&server, b"GPSLatitude"));
    assert!(files_containing(server.dir(), b"GPSLatitude").is_empty());
    // An upload again is a no-op.
    let (status, body) = send_raw(
        photo_req(&server, reqwest::Method::PUT, &r, &li.token)
            .await
            .body(stripped.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &body["stored"]),
        (200, &serde_json::json!(false))
    );

    // The neighbour sees the listing; the photo is not on his phone yet.
    wang.client.sync().await.unwrap();
    assert_eq!(
        wang.store.item(lamp).unwrap().photos,
        std::slice::from_ref(&reference)
    );
    assert_eq!(
        wang.store.photo(&reference, PhotoSize::Thumb).unwrap(),
        PhotoView::NotDownloaded
    );
    // Thumbnail first: a small JPEG made by the server.
    let (thumb, size) = ready(
        wang.client
            .fetch_photo(&reference, PhotoSize::Thumb)
            .await
            .unwrap(),
    );
    assert_eq!(size, PhotoSize::Thumb);
    assert!(thumb.len() < stripped.len() / 3, "{} bytes", thumb.len());
    let img = image::load_from_memory(&thumb).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    // Then the full photo, byte for byte what the owner's phone keeps.
    let (full, _) = ready(
        wang.client
            .fetch_photo(&reference, PhotoSize::Full)
            .await
            .unwrap(),
    );
    assert!(full == stripped);
    let t = wang.store.photo_transfers().unwrap();
    assert_eq!((t.downloaded, t.queued_downloads, t.in_flight), (2, 0, 0));
    assert!(!files_containing(&wang.store.photos_dir(), &needle).is_empty());

    // Another community neither sees the listing nor gets the photo.
    other.client.sync().await.unwrap();
    let (status, body) =
        send_raw(photo_req(&server, reqwest::Method::GET, &r, &other.token).await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("photo_not_found"))
    );
    // Only the owner uploads.
    let (status, body) = send_raw(
        photo_req(&server, reqwest::Method::PUT, &r, &wang.token)
            .await
            .body(stripped.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (403, Some("not_photo_owner"))
    );

    // Deleted: gone from the owner's phone at once, from the server at
    // her next sync, from the neighbour's phone at his.
    li.store.delete_listing(Table::Item, lamp).unwrap();
    assert!(files_in(&li.store.photos_dir()).is_empty());
    li.client.sync().await.unwrap();
    assert!(server_copies(&server).is_empty());
    assert!(server.storage.photo_users(&r).unwrap().is_empty());
    let report = wang.client.sync().await.unwrap();
    assert_eq!(report.photos_erased, 1);
    assert!(files_in(&wang.store.photos_dir()).is_empty());
    assert_eq!(
        wang.store.photo(&reference, PhotoSize::Thumb).unwrap(),
        PhotoView::NotDownloaded
    );
    let (status, _) =
        send_raw(photo_req(&server, reqwest::Method::GET, &r, &wang.token).await).await;
    assert_eq!(status.as_u16(), 404);

    // No copy anywhere: no file of either phone or of the server (SQLite
    // files and their WALs included) holds a byte slice of the photo or
    // its thumbnail; the phones' bytes never went into a database. (On
    // PostgreSQL the server's bytes are rows: gone for every reader, as
    // checked above, though the space they took is reused only as
    // PostgreSQL reuses it.)
    let tmid = thumb.len() / 2;
    for n in [&needle[..], &thumb[tmid..tmid + 32]] {
        assert!(!server_holds(&server, n));
        for (who, dir) in [
            ("li", li.db_path().parent().unwrap().to_path_buf()),
            ("wang", wang.db_path().parent().unwrap().to_path_buf()),
            ("server", server.dir().to_path_buf()),
        ] {
            let found = files_containing(&dir, n);
            assert!(found.is_empty(), "{who} still holds the photo in {found:?}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_not_uploaded_yet_is_on_its_way_then_arrives() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    // Her row reaches the server before its photo (another device of hers
    // has the bytes and is offline).
    let bytes = fushi_core::photo::prepare(&camera_jpeg(3, 400, 300, 85))
        .unwrap()
        .bytes;
    let r = PhotoRef::of(&bytes);
    let mut new = bare("书架");
    new.photos = vec![r.to_string()];
    let shelf = li.store.post_item(new).unwrap();
    li.client.sync().await.unwrap();
    wang.client.sync().await.unwrap();
    assert_eq!(
        wang.client
            .fetch_photo(&r.to_string(), PhotoSize::Thumb)
            .await
            .unwrap(),
        PhotoView::OnItsWay
    );
    assert_eq!(
        wang.store.photo(&r.to_string(), PhotoSize::Thumb).unwrap(),
        PhotoView::OnItsWay
    );
    // Bytes that are not the photo, or carry metadata, are refused.
    let (status, body) = send_raw(
        photo_req(&server, reqwest::Method::PUT, &r, &li.token)
            .await
            .body(camera_jpeg(3, 400, 300, 85)),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("invalid_photo"))
    );
    // Her other device uploads it; it arrives.
    let (status, _) = send_raw(
        photo_req(&server, reqwest::Method::PUT, &r, &li.token)
            .await
            .body(bytes.clone()),
    )
    .await;
    assert_eq!(status.as_u16(), 200);
    let (thumb, _) = ready(
        wang.client
            .fetch_photo(&r.to_string(), PhotoSize::Thumb)
            .await
            .unwrap(),
    );
    assert!(image::load_from_memory(&thumb).is_ok());
    // Removing the photo from the item erases it on the server and, at his
    // next sync, on the neighbour's phone.
    li.store
        .edit_item(
            shelf,
            ItemEdit {
                remove_photos: vec![r.to_string()],
                ..Default::default()
            },
        )
        .unwrap();
    li.client.sync().await.unwrap();
    assert!(!fushi_server::photos::PhotoStore::has(server.storage.photos(), &r).unwrap());
    wang.client.sync().await.unwrap();
    assert!(files_in(&wang.store.photos_dir()).is_empty());
    // A photo no listing uses is refused.
    let (status, body) = send_raw(
        photo_req(&server, reqwest::Method::PUT, &r, &li.token)
            .await
            .body(bytes),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("photo_not_referenced"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnails_are_prefetched_within_the_cache_budget_least_recently_viewed_evicted_first() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let mut refs = Vec::new();
    for i in 0..4 {
        let id = li
            .store
            .post_item_with_photos(
                bare(&format!("物品{i}")),
                vec![camera_jpeg(100 + i, 640, 480, 85)],
            )
            .unwrap();
        refs.push(li.store.item(id).unwrap().photos[0].clone());
    }
    let report = li.client.sync().await.unwrap();
    assert_eq!(report.photos_uploaded, 4);
    wang.client.sync().await.unwrap();
    assert_eq!(wang.client.prefetch_thumbnails(10).await.unwrap(), 4);
    let all = wang.store.photo_storage_bytes().unwrap();
    assert_eq!(files_in(&wang.store.photos_dir()).len(), 4);
    // He looks at two of them; then the budget shrinks by a quarter.
    for r in &refs[..2] {
        ready(wang.store.photo(r, PhotoSize::Thumb).unwrap());
    }
    let budget = all * 3 / 4;
    wang.store.set_photo_cache_budget(budget).unwrap();
    assert!(wang.store.photo_storage_bytes().unwrap() <= budget);
    // The two he looked at stay; of the others, at least one went.
    for r in &refs[..2] {
        ready(wang.store.photo(r, PhotoSize::Thumb).unwrap());
    }
    let gone = refs[2..]
        .iter()
        .filter(|r| wang.store.photo(r, PhotoSize::Thumb).unwrap() == PhotoView::NotDownloaded)
        .count();
    assert!(gone >= 1);
    assert_eq!(files_in(&wang.store.photos_dir()).len(), 4 - gone);
    // The owner's photos not yet uploaded are never evicted.
    li.store.set_photo_cache_budget(0).unwrap();
    let extra = li
        .store
        .post_item_with_photos(bare("新的"), vec![camera_jpeg(9, 320, 240, 85)])
        .unwrap();
    let own = li.store.item(extra).unwrap().photos[0].clone();
    li.store.set_photo_cache_budget(0).unwrap();
    ready(li.store.photo(&own, PhotoSize::Full).unwrap());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_listings_photos_are_served_as_the_pull_sends_it() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let staff = server.phone(Role::GridStaff, "fushi");
    let sofa = li
        .store
        .post_item_with_photos(bare("沙发"), vec![camera_jpeg(11, 320, 240, 85)])
        .unwrap();
    let r = PhotoRef::parse(&li.store.item(sofa).unwrap().photos[0]).unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    staff.store.hide_listing(Table::Item, sofa, true).unwrap();
    staff.client.sync().await.unwrap();
    // Residents get a hidden listing without content: its photos neither.
    let (status, body) =
        send_raw(photo_req(&server, reqwest::Method::GET, &r, &wang.token).await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("photo_not_found"))
    );
    // Its owner and grid staff still do.
    for token in [&li.token, &staff.token] {
        let resp = photo_req(&server, reqwest::Method::GET, &r, token)
            .await
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
    }
    // Shown again: served again.
    staff.store.hide_listing(Table::Item, sofa, false).unwrap();
    staff.client.sync().await.unwrap();
    let (status, _) =
        send_raw(photo_req(&server, reqwest::Method::GET, &r, &wang.token).await).await;
    assert_eq!(status.as_u16(), 200);
    server.stop().await;
}
