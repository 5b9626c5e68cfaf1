//! A long first sync tells how far it has come, and can be cancelled at any
//! point: what it applied stays consistent and the next sync goes on from
//! there, receiving each row once.

use fushi_core::policy::{Actor, Role};
use fushi_core::sync::{ProgressListener, SyncClient, SyncProgress};
use fushi_core::{Error, Table};
use fushi_tests::{item, items_in, Server};
use std::sync::{Arc, Mutex, OnceLock};
use uuid::Uuid;

const TOTAL: usize = 300;

async fn community_of(total: usize) -> Server {
    let server = Server::start().await;
    let actor = Actor {
        user: Uuid::now_v7(),
        role: Role::Resident,
        community: "fushi".into(),
    };
    server.write_as(&actor, |store| {
        store.post_items((0..total).map(|i| item(&format!("闲置 {i}"))).collect())
    });
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_reports_its_progress_page_by_page_against_the_servers_estimate() {
    let server = community_of(TOTAL).await;
    let phone = server.phone(Role::Resident, "fushi");
    let client = phone.client_with(|mut c| {
        c.server_url = server.url.clone();
        c.pull_limit = 25;
        c
    });
    let heard: Arc<Mutex<Vec<SyncProgress>>> = Arc::default();
    let h = heard.clone();
    client.set_progress_listener(Some(ProgressListener(Arc::new(move |p| {
        h.lock().unwrap().push(p)
    }))));
    let report = client.sync().await.unwrap();
    assert_eq!(report.pulled as usize, TOTAL);
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard.len(), report.pull_pages as usize, "one report a page");
    for (i, p) in heard.iter().enumerate() {
        assert_eq!(p.pull_pages as usize, i + 1);
        // Nothing changed meanwhile: received + still waiting = the whole.
        assert_eq!(p.pulled as u64 + p.remaining, TOTAL as u64, "{p:?}");
    }
    assert_eq!(heard.last().unwrap().remaining, 0);
    assert!(heard.windows(2).all(|w| w[0].pulled < w[1].pulled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_leaves_the_store_consistent_and_the_next_one_goes_on_from_there() {
    let server = community_of(TOTAL).await;
    let phone = server.phone(Role::Resident, "fushi");
    let mine = phone.store.post_item(item("我的电风扇")).unwrap();
    let client = Arc::new(phone.client_with(|mut c| {
        c.server_url = server.url.clone();
        c.pull_limit = 10;
        c
    }));
    // Cancel from inside, after the third page: the app going to the
    // background in the middle of a first sync.
    let me: Arc<OnceLock<Arc<SyncClient>>> = Arc::default();
    let m = me.clone();
    client.set_progress_listener(Some(ProgressListener(Arc::new(move |p| {
        if p.pull_pages == 3 {
            if let Some(c) = m.get() {
                c.cancel();
            }
        }
    }))));
    me.set(client.clone()).ok();
    match client.sync().await {
        Err(Error::Cancelled) => {}
        other => panic!("{other:?}"),
    }
    // What was applied is whole: our own item went out first, and every page
    // applied came with its cursor.
    assert_eq!(phone.store.pending_changes().unwrap(), 0);
    assert!(server
        .held()
        .fetch_row(Table::Item, mine)
        .unwrap()
        .is_some());
    // Three pages heard, and the one already in flight when the app
    // cancelled (a page is applied while the next is fetched) applied
    // whole before the sync answered.
    let partial = items_in(&phone.store);
    assert!(
        (30..=41).contains(&partial),
        "{partial} items after three pages and at most one in flight"
    );

    // A new sync (not cancelled) goes on from the stored cursor.
    client.set_progress_listener(None);
    let report = client.sync().await.unwrap();
    assert_eq!(items_in(&phone.store), TOTAL + 1);
    // The server holds TOTAL + 1 rows (ours came back numbered after the
    // 300); the cancelled sync had received partial - 1 of them.
    assert_eq!(
        report.pulled as usize,
        TOTAL + 1 - (partial - 1),
        "each row received once, from where the cancelled sync stopped"
    );
}

fn titles_found(store: &fushi_core::Store, text: &str) -> usize {
    let q = fushi_core::store::SearchQuery {
        text: text.into(),
        limit: 100,
        ..Default::default()
    };
    store.search(&q).unwrap().hits.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_builds_the_search_index_after_its_pages_and_finds_everything_meanwhile() {
    let server = community_of(TOTAL).await;
    let phone = server.phone(Role::Resident, "fushi");
    // The phone's own post starts the indexer, which catches up.
    phone.store.post_item(item("我的电风扇")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let caught_up = |store: &fushi_core::Store| store.search_index_status().unwrap().pending == 0;
    while !caught_up(&phone.store) {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let client = phone.client_with(|mut c| {
        c.server_url = server.url.clone();
        c.pull_limit = 20;
        c
    });
    // After each page: (listings waiting for the index, found by a search,
    // pulled so far).
    let seen: Arc<Mutex<Vec<(u64, usize, u32)>>> = Arc::default();
    let (s, store) = (seen.clone(), phone.store.clone());
    client.set_progress_listener(Some(ProgressListener(Arc::new(move |p| {
        s.lock().unwrap().push((
            store.search_index_status().unwrap().pending,
            titles_found(&store, "闲置"),
            p.pulled,
        ))
    }))));
    let report = client.sync().await.unwrap();
    // The community's items and the phone's own, sent back.
    assert_eq!(report.pulled as usize, TOTAL + 1);
    let seen = seen.lock().unwrap().clone();
    // One report a page (and one for the push of the phone's own item).
    assert!(seen.len() >= report.pull_pages as usize);
    for &(waiting, found, pulled) in &seen {
        // Not indexed while the pages arrive (every listing pulled waits,
        // but the phone's own, indexed before), and found all the same.
        let pulled = u64::from(pulled);
        assert!(waiting == pulled || waiting + 1 == pulled, "{seen:?}");
        assert_eq!(found as u64, waiting.min(100), "{seen:?}");
    }
    // Then it is built.
    while !caught_up(&phone.store) {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(titles_found(&phone.store, "闲置"), 100);
    assert_eq!(titles_found(&phone.store, "闲置 299"), 1);
    assert_eq!(titles_found(&phone.store, "电风扇"), 1);
}
