//! A query answers from one state of the file: while a sync deletes and
//! moves stations on the writer, an outdoor worker's "nearest open station"
//! never fails half-way (candidates read before a delete, rows after it).

mod common;
use common::*;
use fushi_core::model::{NewStation, StationEdit};
use fushi_core::policy::Role;
use fushi_core::store::NearbyQuery;
use fushi_core::Table;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn nearest_stations_never_fail_while_a_sync_deletes_and_moves_stations() {
    let staff = phone(&actor(Role::GridStaff));
    let store = Arc::new(staff.store);
    let mut ids = Vec::new();
    for k in 0..60 {
        ids.push(
            store
                .post_station(NewStation {
                    name: format!("驿站{k}"),
                    lat: 22.25 + f64::from(k) * 1e-4,
                    lon: 113.52,
                    kind: "cool_station".into(),
                    amenities: vec!["drinking_water".into()],
                    ..Default::default()
                })
                .unwrap(),
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut k = 0u32;
            for id in &ids {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if k % 2 == 0 {
                    store.delete_listing(Table::Station, *id).unwrap();
                } else {
                    store
                        .edit_station(
                            *id,
                            StationEdit {
                                lat: Some(22.26),
                                lon: Some(113.5202),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                }
                k += 1;
                // And new ones appear, as a sync page would bring them.
                store
                    .post_station(NewStation {
                        name: format!("新驿站{k}"),
                        lat: 22.2502,
                        lon: 113.5201,
                        kind: "cool_station".into(),
                        amenities: vec!["drinking_water".into()],
                        ..Default::default()
                    })
                    .unwrap();
            }
        })
    };
    let q = NearbyQuery {
        lat: 22.2503,
        lon: 113.5201,
        limit: 10,
        amenities: vec!["drinking_water".into()],
        ..Default::default()
    };
    let mut queries = 0;
    while !writer.is_finished() {
        let found = store
            .nearest_stations(&q)
            .expect("a query failed during a sync");
        assert!(!found.is_empty());
        queries += 1;
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(queries > 0);
}

/// The server's pull feed, paged in tiny pages while writes commit between
/// (and during) the reads of one page: every row written must be listed.
/// Were the tables of a page read in separate snapshots, a row committed
/// between two of them could fall below the next page's start unseen.
#[test]
fn a_page_through_during_writes_lists_every_row() {
    use fushi_core::store::{PageLimit, Position, Scope};
    use std::collections::HashSet;

    let staff = phone(&actor(Role::GridStaff));
    let store = Arc::new(staff.store);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let mut all = HashSet::new();
            for k in 0..3000 {
                let id = if k % 2 == 0 {
                    store.post_item(give(&format!("旧物{k}"))).unwrap()
                } else {
                    store
                        .post_station(NewStation {
                            name: format!("驿站{k}"),
                            lat: 22.25,
                            lon: 113.52,
                            kind: "cool_station".into(),
                            ..Default::default()
                        })
                        .unwrap()
                };
                all.insert(id);
            }
            done.store(true, Ordering::SeqCst);
            all
        })
    };
    let mut seen = HashSet::new();
    let mut pos = Position::default();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let page = store
            .changes_since(pos, PageLimit::rows(2), &Scope::default())
            .unwrap();
        seen.extend(page.changes.iter().map(|c| c.id));
        pos = pos.after_page(&page);
        if finished && !page.more {
            break;
        }
    }
    let all = writer.join().unwrap();
    let missed = all.difference(&seen).count();
    assert_eq!(missed, 0, "{missed} of {} rows never listed", all.len());
}
