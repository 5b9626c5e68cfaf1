//! Photos: the first sync of a community whose items have photos, onto an
//! empty phone over loopback, thumbnails first. The community has `items`
//! items of 3 photos each (JPEGs of 150–300 KB, as a phone camera's after
//! the app's usual downscale to ~1280 px); the phone pulls the rows, then
//! downloads every thumbnail (`prefetch_thumbnails`). Figures: time until
//! every thumbnail is on the phone, bytes received, the phone's storage;
//! and the owner's side: one sync uploading 9 photos (the server checks and
//! makes each thumbnail).
//!
//! Setup, not timed: the photos are put straight into the server's photo
//! store, and encoding 6,000 distinct JPEGs would take minutes, so 24
//! pictures are encoded and each photo is one of them with its JFIF
//! density field set to a number of its own: every photo has its own
//! SHA-256, and is stored, served and cached as its own file.
//!
//! The bench's server lifts the per-token rate limit: at the default (10
//! requests a second, bursts of 100) 6,000 thumbnails would take ten
//! minutes, one request each (see BENCHMARKS.md, "Photos").

use crate::report::Report;
use crate::BoxResult;
use fushi_core::crdt::SystemClock;
use fushi_core::model::NewItem;
use fushi_core::photo::PhotoRef;
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::{SyncClient, SyncConfig};
use fushi_core::{Store, StoreConfig};
use fushi_server::photos::make_thumbnail;
use fushi_server::storage::SyncStorage;
use fushi_server::{Limits, RunningServer, SqliteStorage};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// Distinct pictures encoded.
const PICTURES: usize = 24;
const PHOTOS_PER_ITEM: usize = 3;

/// A 1280×960 picture with grain, seeded: a phone photo's size and entropy.
fn picture(seed: u64) -> BoxResult<Vec<u8>> {
    let (w, h) = (1280u32, 960u32);
    let mut x = seed.wrapping_mul(6364136223846793005) | 1;
    let img = image::RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x & 0x0F) as u8;
        image::Rgb([
            ((px * 220 / w) as u8)
                .wrapping_add(n)
                .wrapping_add(seed as u8 * 9),
            ((py * 220 / h) as u8).wrapping_add(n / 2),
            (((px ^ py) & 0x7F) as u8).wrapping_add(n),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 78).encode_image(&img)?;
    Ok(out)
}

/// `base` with its JFIF density set to `k` (a photo of its own hash).
fn variant(base: &[u8], k: u32) -> BoxResult<Vec<u8>> {
    if base.get(6..11) != Some(b"JFIF\0") {
        return Err("the encoder wrote no JFIF header".into());
    }
    let mut v = base.to_vec();
    v[14..16].copy_from_slice(&((k >> 16) as u16 + 1).to_be_bytes());
    v[16..18].copy_from_slice(&(k as u16).to_be_bytes());
    Ok(v)
}

fn user(storage: &SqliteStorage) -> BoxResult<(Actor, String)> {
    let actor = Actor {
        user: Uuid::now_v7(),
        role: Role::Resident,
        community: "fushi".into(),
    };
    let token = fushi_server::tokens::generate().map_err(|e| format!("token: {e}"))?;
    storage.add_token(&fushi_server::tokens::hash(&token), &actor)?;
    Ok((actor, token))
}

fn phone(url: &str, storage: &SqliteStorage, dir: &Path) -> BoxResult<(Arc<Store>, SyncClient)> {
    let (actor, token) = user(storage)?;
    let clock = SystemClock::new();
    let store = Arc::new(Store::open_with(
        dir.join("phone.db"),
        clock.clone(),
        StoreConfig::default(),
    )?);
    store.set_actor(Some(actor));
    let mut config = SyncConfig::new(url, token);
    config.allow_cleartext = true;
    let client = SyncClient::new(store.clone(), config)?.with_clock(clock);
    Ok((store, client))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The section (`--only photos`).
pub fn photos_section(rep: &mut Report, dir: &Path, items: usize) -> BoxResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        eprintln!("photos: {items} items × {PHOTOS_PER_ITEM} photos, first sync thumbnails first");
        let pictures: Vec<Vec<u8>> = (0..PICTURES as u64).map(picture).collect::<BoxResult<_>>()?;
        let thumbs: Vec<Vec<u8>> = pictures
            .iter()
            .map(|p| make_thumbnail(p, fushi_core::photo::Format::Jpeg))
            .collect::<Result<_, _>>()?;
        let server_dir = dir.join("photos-server");
        std::fs::create_dir_all(&server_dir)?;
        let storage = Arc::new(SqliteStorage::open(&server_dir.join("server.db"))?);
        let store = storage.store();
        let mut photo_bytes = 0u64;
        let mut news = Vec::with_capacity(items);
        for i in 0..items {
            let mut photos = Vec::with_capacity(PHOTOS_PER_ITEM);
            for j in 0..PHOTOS_PER_ITEM {
                let k = i * PHOTOS_PER_ITEM + j;
                let bytes = variant(&pictures[k % PICTURES], k as u32)?;
                let r = PhotoRef::of(&bytes);
                storage.photos().put(&r, &bytes, &thumbs[k % PICTURES])?;
                photo_bytes += bytes.len() as u64;
                photos.push(r.to_string());
            }
            news.push(NewItem {
                title: format!("闲置物品 {i}"),
                category: "kids".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                photos,
                ..NewItem::default()
            });
        }
        // Twenty residents' items.
        for chunk in news.chunks(items.div_ceil(20).max(1)) {
            store.set_actor(Some(Actor {
                user: Uuid::now_v7(),
                role: Role::Resident,
                community: "fushi".into(),
            }));
            store.post_items(chunk.to_vec())?;
        }
        store.set_actor(None);
        let n_photos = items * PHOTOS_PER_ITEM;
        rep.put("photos_count", n_photos as f64);
        rep.put("photos_avg_bytes", photo_bytes as f64 / n_photos as f64);
        rep.put(
            "photos_thumb_avg_bytes",
            thumbs.iter().map(Vec::len).sum::<usize>() as f64 / thumbs.len() as f64,
        );
        let limits = Limits {
            rate_per_second: 1_000_000,
            rate_burst: 1_000_000,
            ..Limits::default()
        };
        let running =
            RunningServer::start_with(storage.clone(), ([127, 0, 0, 1], 0).into(), limits).await?;
        let url = running.url();

        // A newcomer's first sync: rows, then every thumbnail.
        let phone_dir = tempfile::tempdir_in(dir)?;
        let (store, client) = phone(&url, &storage, phone_dir.path())?;
        store.set_photo_cache_budget(1 << 30)?;
        let t = Instant::now();
        let r = client.sync().await?;
        let rows_s = t.elapsed().as_secs_f64();
        if r.pulled as usize != items {
            return Err(format!("pulled {} of {items}", r.pulled).into());
        }
        let got = client.prefetch_thumbnails(u32::MAX).await?;
        let all_s = t.elapsed().as_secs_f64();
        if got as usize != n_photos {
            return Err(format!("{got} of {n_photos} thumbnails").into());
        }
        let tr = store.photo_transfers()?;
        drop(client);
        rep.put("photos_first_sync_rows_s", rows_s);
        rep.put("photos_first_sync_all_thumbs_s", all_s);
        rep.put("photos_thumbs_per_s", n_photos as f64 / (all_s - rows_s));
        rep.put("photos_thumb_bytes_received", tr.downloaded_bytes as f64);
        rep.put("photos_phone_photo_bytes", store.photo_storage_bytes()? as f64);
        rep.put(
            "photos_phone_total_bytes",
            (dir_bytes(phone_dir.path()) + dir_bytes(&store.photos_dir())) as f64,
        );

        // The owner's side: 3 items of 3 camera photos, posted and synced.
        let owner_dir = tempfile::tempdir_in(dir)?;
        let (owner, client) = phone(&url, &storage, owner_dir.path())?;
        for i in 0..3 {
            let photos = (0..3)
                .map(|j| variant(&pictures[(i * 3 + j) % PICTURES], 1_000_000 + (i * 3 + j) as u32))
                .collect::<BoxResult<Vec<_>>>()?;
            owner.post_item_with_photos(
                NewItem {
                    title: format!("新物品 {i}"),
                    category: "kids".into(),
                    mode: "give".into(),
                    pickup_area: "福石花园".into(),
                    ..NewItem::default()
                },
                photos,
            )?;
        }
        let t = Instant::now();
        let r = client.sync().await?;
        let up_s = t.elapsed().as_secs_f64();
        if r.photos_uploaded != 9 {
            return Err(format!("uploaded {} of 9", r.photos_uploaded).into());
        }
        rep.put("photos_upload_9_s", up_s);
        rep.put("photos_upload_ms_each", up_s * 1000.0 / 9.0);
        running.stop().await?;
        eprintln!(
            "photos: rows {rows_s:.2} s, all {n_photos} thumbnails {all_s:.2} s, {} bytes received, phone {} bytes; 9 uploads {up_s:.2} s",
            tr.downloaded_bytes,
            store.photo_storage_bytes()?
        );
        Ok(())
    })
}
