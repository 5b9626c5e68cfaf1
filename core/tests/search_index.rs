//! The full-text index is derived data in a file of its own: deleted,
//! damaged or stale, the store makes it again, says so, and answers right
//! meanwhile; its thread runs only while listings wait.

mod common;

use common::{actor, give, T0};
use fushi_core::crdt::ManualTime;
use fushi_core::policy::Role;
use fushi_core::store::{search_index_path, ListingKind, SearchQuery};
use fushi_core::{Store, StoreConfig};
use std::collections::BTreeSet;
use std::path::Path;
use uuid::Uuid;

fn open(path: &Path, background: bool) -> Store {
    let store = Store::open_with(
        path,
        ManualTime::new(T0),
        StoreConfig {
            search_in_background: background,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    store.set_actor(Some(actor(Role::Resident)));
    store
}

fn hits(store: &Store, text: &str) -> BTreeSet<Uuid> {
    store
        .search(&SearchQuery {
            text: text.into(),
            kinds: vec![ListingKind::Item],
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

const QUERIES: [&str; 5] = ["婴儿车", "车", "手機", "xm4", "九成新 嬰兒"];

/// A store with 60 items, indexed, and what each query finds.
fn filled(path: &Path) -> Vec<BTreeSet<Uuid>> {
    let store = open(path, false);
    let titles = [
        "婴儿车 九成新",
        "WH-1000XM4 耳机",
        "手机 自提",
        "电动车",
        "书桌",
    ];
    let items = (0..60)
        .map(|i| give(&format!("{} {i}", titles[i % titles.len()])))
        .collect();
    store.post_items(items).unwrap();
    assert_eq!(store.index_search_now().unwrap(), 60);
    let found: Vec<_> = QUERIES.iter().map(|q| hits(&store, q)).collect();
    assert!(found.iter().all(|f| !f.is_empty()));
    found
}

fn remove_index(path: &Path) {
    let index = search_index_path(path);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = index.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// Searches right before and after catching up, and the reason given.
fn answers_right(path: &Path, want: &[BTreeSet<Uuid>], reason: &str) {
    let store = open(path, false);
    for (q, w) in QUERIES.iter().zip(want) {
        assert_eq!(&hits(&store, q), w, "{q}, before indexing again");
    }
    let status = store.search_index_status().unwrap();
    assert_eq!(status.rebuilt.as_deref(), Some(reason));
    assert_eq!(store.index_search_now().unwrap(), 60);
    assert_eq!(store.search_index_status().unwrap().pending, 0);
    for (q, w) in QUERIES.iter().zip(want) {
        assert_eq!(&hits(&store, q), w, "{q}, after indexing again");
    }
}

#[test]
fn a_deleted_index_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let want = filled(&path);
    assert!(search_index_path(&path).exists());
    remove_index(&path);
    answers_right(&path, &want, "missing");
}

#[test]
fn a_damaged_index_is_made_again_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let want = filled(&path);
    std::fs::write(
        search_index_path(&path),
        b"not an index at all, not even SQLite",
    )
    .unwrap();
    answers_right(&path, &want, "damaged");
}

#[test]
fn an_index_damaged_inside_is_made_again_when_searched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let want = filled(&path);
    // Keep the first pages (the schema and the version), spoil the rest:
    // the file opens, and the damage shows when the index is read.
    let index = search_index_path(&path);
    let mut bytes = std::fs::read(&index).unwrap();
    assert!(bytes.len() > 5 * 4096, "index of {} bytes", bytes.len());
    for b in &mut bytes[3 * 4096..] {
        *b = 0x5a;
    }
    std::fs::write(&index, bytes).unwrap();
    let store = open(&path, false);
    let mut seen_damage = false;
    for (q, w) in QUERIES.iter().zip(&want) {
        assert_eq!(&hits(&store, q), w, "{q}");
        seen_damage |= store.search_index_status().unwrap().rebuilt.as_deref() == Some("damaged");
    }
    assert!(seen_damage, "the damage was noticed and said");
    store.index_search_now().unwrap();
    for (q, w) in QUERIES.iter().zip(&want) {
        assert_eq!(&hits(&store, q), w, "{q}, indexed again");
    }
}

#[test]
fn another_stores_index_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let want = filled(&path);
    let other = dir.path().join("other.db");
    drop(open(&other, false));
    remove_index(&path);
    std::fs::copy(search_index_path(&other), search_index_path(&path)).unwrap();
    answers_right(&path, &want, "other_database");
}

/// The store's threads that are alive now, by name.
fn index_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .filter(|name| name.trim() == "fushi-search-in")
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_background_indexer_catches_up_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let store = open(&path, true);
    let items = (0..500).map(|i| give(&format!("婴儿车 {i}"))).collect();
    store.post_items(items).unwrap();
    // Right at once, whatever the thread has done.
    assert_eq!(hits(&store, "婴儿车").len(), 100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.search_index_status().unwrap().pending > 0 || index_threads() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the index did not catch up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(hits(&store, "婴儿车").len(), 100);
    // Idle: no indexing thread is left.
    assert_eq!(index_threads(), 0);
    // A new post starts it again, and it ends again.
    store.post_item(give("书桌")).unwrap();
    while store.search_index_status().unwrap().pending > 0 || index_threads() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the index did not catch up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(hits(&store, "书桌").len(), 1);
}
