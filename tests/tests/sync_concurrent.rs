//! Real threads, as a real app runs them: phones posting and pushing while
//! another phone pulls, page after small page, through the real server; the
//! puller must end with every row. (Over HTTP the window between two table
//! reads is rarely hit: `core/tests/snapshots.rs` is the test that fails,
//! 14–54 rows of 3,000, when a page is not read from one snapshot.)

use fushi_core::model::ItemEdit;
use fushi_core::policy::Role;
use fushi_core::sync::SyncConfig;
use fushi_tests::{item, Phone, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_pulling_while_neighbours_push_misses_nothing() {
    let server = Server::start().await;
    let mut writers = Vec::new();
    for _ in 0..3 {
        let (actor, token) = server.user(Role::Resident, "fushi");
        writers.push(Phone::new(&server.url, actor, token, |c| SyncConfig {
            push_batch: 4,
            ..c
        }));
    }
    let staff = server.phone(Role::GridStaff, "fushi");
    let (actor, token) = server.user(Role::Resident, "fushi");
    // Short syncs of two small pages each, as often as it can.
    let reader = Arc::new(Phone::new(&server.url, actor, token, |c| SyncConfig {
        pull_limit: 3,
        max_pull_pages: Some(2),
        ..c
    }));

    let done = Arc::new(AtomicBool::new(false));
    let pulling = {
        let (reader, done) = (reader.clone(), done.clone());
        tokio::spawn(async move {
            let mut syncs = 0;
            while !done.load(Ordering::SeqCst) {
                reader.client.sync().await.unwrap();
                syncs += 1;
            }
            syncs
        })
    };
    let mut tasks = Vec::new();
    for (w, phone) in writers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for round in 0..12 {
                for k in 0..6 {
                    let id = phone
                        .store
                        .post_item(item(&format!("邻居{w}的旧物{round}-{k}")))
                        .unwrap();
                    if k % 2 == 0 {
                        phone
                            .store
                            .edit_item(
                                id,
                                ItemEdit {
                                    title: Some(format!("改过 {w}-{round}-{k}")),
                                    ..Default::default()
                                },
                            )
                            .unwrap();
                    }
                }
                phone.client.sync().await.unwrap();
            }
            phone
        }));
    }
    // Stations too: they live in another table, read in the same page.
    for k in 0..20 {
        staff
            .store
            .post_station(fushi_tests::station(&format!("驿站{k}")))
            .unwrap();
        staff.client.sync().await.unwrap();
    }
    let mut writers = Vec::new();
    for t in tasks {
        writers.push(t.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let syncs = pulling.await.unwrap();
    assert!(
        syncs > 3,
        "the reader pulled while the others pushed ({syncs} syncs)"
    );

    // One more ordinary sync, with nothing pending anywhere.
    for w in &writers {
        assert_eq!(w.store.pending_changes().unwrap(), 0);
    }
    while reader.client.sync().await.unwrap().more {}
    let expected = server.snapshot_for("fushi");
    assert_eq!(expected.len(), 3 * 12 * 6 + 20);
    assert_eq!(reader.snapshot(), expected);
    server.stop().await;
}
