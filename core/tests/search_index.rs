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

/// Taken by the tests whose stores index in the background: the thread
/// count below is the whole process's, so they run one at a time.
static BACKGROUND: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _one_at_a_time = BACKGROUND.lock().unwrap_or_else(|e| e.into_inner());
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

/// One step of [`the_index_answers_like_a_scan_whatever_the_order_of_writes`].
#[derive(Clone, Debug)]
enum Step {
    /// Post an item titled with this word.
    Post(usize),
    /// Retitle the n-th listing still held with this word.
    Retitle(usize, usize),
    /// The owner deletes the n-th listing still held (a tombstone).
    Delete(usize),
    /// The n-th listing still held leaves the phone's table (what the
    /// store does when the server refuses a row); the next post may be
    /// given its `rid`.
    Drop(usize),
    /// The index catches up.
    Index,
}

const WORDS: [&str; 5] = ["书架", "水壶", "自行车", "绘本", "台灯"];

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..WORDS.len()).prop_map(Step::Post),
        2 => (0..64usize, 0..WORDS.len()).prop_map(|(i, w)| Step::Retitle(i, w)),
        1 => (0..64usize).prop_map(Step::Delete),
        2 => (0..64usize).prop_map(Step::Drop),
        2 => Just(Step::Index),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// Whatever the order of posts, edits, deletes, rows leaving the table
    /// (their `rid` then given again) and index passes, every word finds
    /// exactly the listings whose title holds it now: nothing the index
    /// has yet to take is missed, nothing it took in an older state is
    /// found.
    #[test]
    fn the_index_answers_like_a_scan_whatever_the_order_of_writes(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let store = open(&path, false);
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        // The oracle: each listing held and its title now.
        let mut held: Vec<(Uuid, String)> = Vec::new();
        for (n, s) in steps.iter().enumerate() {
            match *s {
                Step::Post(w) => {
                    let title = format!("{} {n}", WORDS[w]);
                    let id = store.post_item(give(&title)).unwrap();
                    held.push((id, title));
                }
                Step::Retitle(i, w) if !held.is_empty() => {
                    let k = i % held.len();
                    let title = format!("{} {n}", WORDS[w]);
                    store
                        .edit_item(held[k].0, fushi_core::model::ItemEdit {
                            title: Some(title.clone()),
                            ..Default::default()
                        })
                        .unwrap();
                    held[k].1 = title;
                }
                Step::Delete(i) if !held.is_empty() => {
                    let (id, _) = held.remove(i % held.len());
                    store.delete_listing(fushi_core::Table::Item, id).unwrap();
                }
                Step::Drop(i) if !held.is_empty() => {
                    let (id, _) = held.remove(i % held.len());
                    raw.execute("DELETE FROM item WHERE id = ?1", [id.as_bytes().to_vec()])
                        .unwrap();
                }
                Step::Index => {
                    store.index_search_now().unwrap();
                }
                _ => {}
            }
            for w in WORDS {
                let want: BTreeSet<Uuid> = held
                    .iter()
                    .filter(|(_, t)| t.contains(w))
                    .map(|(id, _)| *id)
                    .collect();
                proptest::prop_assert_eq!(hits(&store, w), want, "{} after step {} {:?}", w, n, s);
            }
        }
        store.index_search_now().unwrap();
        proptest::prop_assert_eq!(store.search_index_status().unwrap().pending, 0);
    }
}

/// Searches made while the store's thread indexes find every listing: the
/// store's file and the index file are read as of one moment or the index
/// later. (Read the other way round, about one store in fifteen here had a
/// search find 12 of 25: the second pass's listings marked as indexed, and
/// missing from the index as read.)
#[test]
fn searches_while_the_background_indexer_runs_miss_nothing() {
    let _one_at_a_time = BACKGROUND.lock().unwrap_or_else(|e| e.into_inner());
    let mut wrong = Vec::new();
    for round in 0..120 {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("phone.db"), true);
        for i in 0..25 {
            store.post_item(give(&format!("水杯{i}"))).unwrap();
        }
        for _ in 0..10 {
            let found = hits(&store, "水杯").len();
            if found != 25 {
                wrong.push((round, found));
            }
        }
    }
    assert!(wrong.is_empty(), "(store, found of 25): {wrong:?}");
}

/// An index file whose hash size must be set down, while another
/// connection holds its write lock (another store on the same file
/// indexing): the store opens, keeps the index (nothing is made again),
/// answers right, and sets the size at a later open.
#[test]
fn a_busy_index_file_is_kept_and_tuned_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let want = filled(&path);
    let hash = |c: &rusqlite::Connection| -> i64 {
        c.query_row(
            "SELECT v FROM item_fts_config WHERE k = 'hashsize'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let index = rusqlite::Connection::open(search_index_path(&path)).unwrap();
    index
        .execute(
            "INSERT INTO item_fts (item_fts, rank) VALUES ('hashsize', 16777216)",
            [],
        )
        .unwrap();
    index.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let store = open(&path, false);
        assert_eq!(store.search_index_status().unwrap().rebuilt, None);
        for (q, w) in QUERIES.iter().zip(&want) {
            assert_eq!(&hits(&store, q), w, "{q}");
        }
    }
    index.execute_batch("COMMIT").unwrap();
    assert_eq!(hash(&index), 16_777_216, "left as it was while busy");
    let store = open(&path, false);
    assert_eq!(store.search_index_status().unwrap().rebuilt, None);
    assert_eq!(hash(&index), 2 * 1024 * 1024);
    for (q, w) in QUERIES.iter().zip(&want) {
        assert_eq!(&hits(&store, q), w, "{q}");
    }
}
