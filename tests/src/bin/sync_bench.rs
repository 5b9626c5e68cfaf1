//! Sync figures over loopback with the real server (run in release):
//!
//! 1. first sync of a 20,000-listing community onto an empty phone;
//! 2. 100 phones with 50 offline changes each, syncing at once;
//! 3. bytes on the wire per single-field change (push body, gzip).
//!
//! `cargo run --release -p fushi-tests --bin sync-bench` (`-- --wire`: only 3.)

use fushi_core::crdt::SystemClock;
use fushi_core::model::ItemEdit;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{PageLimit, Position, Scope};
use fushi_core::sync::wire::{encode_rows, PullResponse, PushRequest};
use fushi_core::{Store, StoreConfig};
use fushi_tests::{item, Phone, Server};
use std::io::Write;
use std::time::Instant;
use uuid::Uuid;

fn gzip(bytes: &[u8], level: u32) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap().len()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `--wire`: only the bytes per single-field change (section 3).
    if std::env::args().any(|a| a == "--wire") {
        wire_bytes();
        return;
    }
    // 1. A 20k-listing community, then an empty phone's first sync.
    let server = Server::start().await;
    let store = server
        .sqlite
        .as_ref()
        .expect("the sync bench runs on SQLite")
        .store();
    let t = Instant::now();
    let owners: Vec<Uuid> = (0..200).map(|_| Uuid::now_v7()).collect();
    for i in 0..20_000usize {
        store.set_actor(Some(Actor {
            user: owners[i % owners.len()],
            role: Role::Resident,
            community: "fushi".into(),
        }));
        let mut it = item(&format!("闲置物品 {i} 号"));
        it.description = Some(format!("第{i}件，成色不错，欢迎邻居来拿"));
        store.post_item(it).unwrap();
    }
    store.set_actor(None);
    println!(
        "seeded 20,000 items on the server in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Wire size of the whole first sync (pages of 1000, as the phone asks).
    let (mut raw_bytes, mut gz_bytes, mut cursor) = (0usize, 0usize, Position::default());
    loop {
        let page = store
            .changes_since(
                cursor,
                PageLimit::rows(1000),
                &Scope {
                    community: Some("fushi".into()),
                    ..Scope::default()
                },
            )
            .unwrap();
        let (sites, rows) = encode_rows(&page.changes);
        let body = serde_json::to_vec(&PullResponse {
            sites,
            rows,
            next: cursor.after_page(&page).after.to_string(),
            more: page.more,
            remaining: page.remaining,
            server_time_ms: 0,
        })
        .unwrap();
        raw_bytes += body.len();
        gz_bytes += gzip(&body, 6);
        cursor = cursor.after_page(&page);
        if !page.more {
            break;
        }
    }

    let (actor, token) = server.user(Role::Resident, "fushi");
    let phone = Phone::new(&server.url, actor, token, |c| {
        fushi_core::sync::SyncConfig {
            pull_limit: 1000,
            ..c
        }
    });
    let t = Instant::now();
    let r = phone.client.sync().await.unwrap();
    let first = t.elapsed();
    assert_eq!(r.pulled, 20_000);
    println!(
        "first sync of 20,000 listings onto an empty phone: {:.2} s ({} pages of 1000; {:.1} MB JSON, {:.1} MB gzip on the wire)",
        first.as_secs_f64(),
        r.pull_pages,
        raw_bytes as f64 / 1e6,
        gz_bytes as f64 / 1e6
    );
    let t = Instant::now();
    let r = phone.client.sync().await.unwrap();
    println!(
        "a second sync with nothing new: {:.1} ms ({} pulled)",
        t.elapsed().as_secs_f64() * 1e3,
        r.pulled
    );
    server.stop().await;

    // 2. 100 phones, 50 offline changes each, syncing at once.
    let server = Server::start().await;
    let phones: Vec<Phone> = (0..100)
        .map(|_| server.phone(Role::Resident, "fushi"))
        .collect();
    for (n, p) in phones.iter().enumerate() {
        for i in 0..50 {
            p.store
                .post_item(item(&format!("手机{n}的物品{i}")))
                .unwrap();
        }
    }
    let phones: Vec<std::sync::Arc<Phone>> = phones.into_iter().map(std::sync::Arc::new).collect();
    // Phase A: every phone pushes its 50 changes at once (no pull).
    let push_only: Vec<_> = phones
        .iter()
        .map(|p| {
            std::sync::Arc::new(p.client_with(|c| fushi_core::sync::SyncConfig {
                server_url: server.url.clone(),
                max_pull_pages: Some(0),
                ..c
            }))
        })
        .collect();
    let (wall, lat, _) = all_at_once(push_only).await;
    println!(
        "100 phones x 50 changes pushing at once: all accepted in {:.2} s ({:.0} changes/s; per phone p50 {:.2} s, p95 {:.2} s)",
        wall,
        5_000.0 / wall,
        lat[49],
        lat[94]
    );
    // Phase B: every phone pulls the other 4,950 rows at once.
    let clients: Vec<_> = phones
        .iter()
        .map(|p| {
            std::sync::Arc::new(p.client_with(|c| fushi_core::sync::SyncConfig {
                server_url: server.url.clone(),
                pull_limit: 1000,
                // 100 phones' SQLite work shares this machine's cores with
                // the server: waits are long here, not on real phones.
                request_timeout: std::time::Duration::from_secs(300),
                ..c
            }))
        })
        .collect();
    let (wall, lat, pulled) = all_at_once(clients).await;
    println!(
        "then 100 phones pulling at once: done in {:.2} s ({} rows applied on phones, {:.0} rows/s; per phone p50 {:.2} s, p95 {:.2} s)",
        wall,
        pulled,
        pulled as f64 / wall,
        lat[49],
        lat[94]
    );
    assert_eq!(
        store_items(
            server
                .sqlite
                .as_ref()
                .expect("the sync bench runs on SQLite")
                .store()
        ),
        5_000
    );
    let t = Instant::now();
    for p in &phones {
        p.client.sync().await.unwrap();
    }
    println!(
        "catch-up round, one phone after another: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let want = server.snapshot_for("fushi");
    assert!(phones.iter().all(|p| p.snapshot() == want));
    println!("all 100 phones hold the server's state");
    server.stop().await;

    wire_bytes();
}

/// Bytes on the wire per single-field change: a push of 500 one-field edits.
fn wire_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with(
        dir.path().join("p.db"),
        SystemClock::new(),
        StoreConfig::default(),
    )
    .unwrap();
    s.set_actor(Some(Actor {
        user: Uuid::now_v7(),
        role: Role::Resident,
        community: "fushi".into(),
    }));
    let ids: Vec<Uuid> = (0..500)
        .map(|i| s.post_item(item(&format!("物品{i}"))).unwrap())
        .collect();
    let mark = s.current_seq().unwrap();
    for (i, id) in ids.iter().enumerate() {
        s.edit_item(
            *id,
            ItemEdit {
                title: Some(format!("改过的物品{i}")),
                ..Default::default()
            },
        )
        .unwrap();
    }
    // What the phone's push sends: its outbox after the last push caught up.
    let page = s
        .outbox_batch(Position::at(mark), PageLimit::rows(500))
        .unwrap();
    assert_eq!(page.changes.len(), 500);
    assert!(page.changes.iter().all(|c| c.cells.len() == 1));
    let (sites, rows) = encode_rows(&page.changes);
    let body = serde_json::to_vec(&PushRequest { sites, rows }).unwrap();
    println!(
        "a push of 500 single-field edits: {} B JSON ({:.1} B/change), gzip fast {:.1} B/change, gzip best {:.1} B/change",
        body.len(),
        body.len() as f64 / 500.0,
        gzip(&body, 1) as f64 / 500.0,
        gzip(&body, 9) as f64 / 500.0
    );
}

async fn all_at_once(
    clients: Vec<std::sync::Arc<fushi_core::sync::SyncClient>>,
) -> (f64, Vec<f64>, usize) {
    let t = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                let t = Instant::now();
                let r = c.sync().await.unwrap();
                (t.elapsed().as_secs_f64(), r.pulled as usize)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut pulled = 0;
    for task in tasks {
        let (d, n) = task.await.unwrap();
        lat.push(d);
        pulled += n;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    (t.elapsed().as_secs_f64(), lat, pulled)
}

fn store_items(store: &Store) -> usize {
    store
        .snapshot()
        .unwrap()
        .iter()
        .filter(|r| r.table == fushi_core::Table::Item)
        .count()
}
