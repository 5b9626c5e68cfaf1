//! Opening files: a new one, a reopened one, one from a newer app, a damaged
//! one and one that is not a database at all.

mod common;
use common::*;
use fushi_core::crdt::ManualTime;
use fushi_core::policy::Role;
use fushi_core::{Error, Store, StoreConfig};

fn open(path: &std::path::Path) -> Result<Store, Error> {
    Store::open_with(path, ManualTime::new(T0), StoreConfig::default())
}

#[test]
fn a_reopened_store_keeps_its_site_listings_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let me = actor(Role::Resident);
    let (site, id, seq) = {
        let s = open(&path).unwrap();
        s.set_actor(Some(me.clone()));
        let id = s
            .post_item(fushi_core::model::NewItem {
                title: "书架".into(),
                category: "furniture".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..Default::default()
            })
            .unwrap();
        (s.site(), id, s.current_seq().unwrap())
    };
    let s = open(&path).unwrap();
    assert_eq!(s.site(), site);
    assert_eq!(s.current_seq().unwrap(), seq);
    assert_eq!(s.item(id).unwrap().title, "书架");
    // The clock never goes back across a restart, even if the wall clock did.
    s.set_actor(Some(me));
    let before = s
        .row_state(fushi_core::Table::Item, id)
        .unwrap()
        .unwrap()
        .cells[0]
        .stamp
        .clock;
    s.edit_item(
        id,
        fushi_core::model::ItemEdit {
            title: Some("旧书架".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let after = s.row_state(fushi_core::Table::Item, id).unwrap().unwrap();
    let title = after.cells.iter().find(|c| c.column == "title").unwrap();
    assert!(title.stamp.clock > before);
}

#[test]
fn a_file_from_a_newer_app_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match open(&path) {
        Err(Error::SchemaTooNew {
            found: 99,
            supported: fushi_core::store::SCHEMA_VERSION,
        }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before, "file was modified");
    assert!(!dir.path().join("newer.db-wal").exists());
}

#[test]
fn a_file_that_is_not_sqlite_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.db");
    std::fs::write(
        &path,
        b"\x89PNG\r\n\x1a\n this is not a database, just some bytes that are long enough .....",
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    match open(&path) {
        Err(Error::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_damaged_database_gives_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let s = open(&path).unwrap();
        s.set_actor(Some(actor(Role::GridStaff)));
        for k in 0..200 {
            s.post_station(fushi_core::model::NewStation {
                name: format!("驿站{k}"),
                lat: 22.25,
                lon: 113.52,
                kind: "cool_station".into(),
                ..Default::default()
            })
            .unwrap();
        }
    }
    // Scribble over the middle of the file (schema and table pages).
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[100..len.min(40_000)] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("damaged.db-wal"));
    match open(&path) {
        Err(Error::Corrupt(_)) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_database_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE contacts (name TEXT, phone TEXT);")
            .unwrap();
    }
    assert!(matches!(open(&path), Err(Error::Corrupt(_))));
}

#[test]
fn readers_see_committed_state_while_the_writer_works() {
    let staff = actor(Role::GridStaff);
    let p = phone(&staff);
    let store = std::sync::Arc::new(p.store);
    let writer = {
        let s = store.clone();
        std::thread::spawn(move || {
            for k in 0..100 {
                s.post_station(fushi_core::model::NewStation {
                    name: format!("驿站{k}"),
                    lat: 22.25,
                    lon: 113.52,
                    kind: "cool_station".into(),
                    ..Default::default()
                })
                .unwrap();
            }
        })
    };
    let mut last = 0;
    while !writer.is_finished() {
        let n = store.snapshot().unwrap().len();
        assert!(n >= last, "a reader went back in time");
        last = n;
    }
    writer.join().unwrap();
    assert_eq!(store.snapshot().unwrap().len(), 100);
}
