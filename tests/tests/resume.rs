//! A sync cut off at any point loses nothing and duplicates nothing: the
//! connection drops after the server applied a push, a pull stops between
//! pages, a pulled page never arrives.

use fushi_core::policy::Role;
use fushi_core::sync::{RetryPolicy, SyncConfig};
use fushi_core::{Error, Table};
use fushi_tests::proxy::CuttingProxy;
use fushi_tests::*;
use std::sync::atomic::Ordering;

fn count(rows: &[fushi_core::model::RowData], table: Table) -> usize {
    rows.iter().filter(|r| r.table == table).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_answer_is_lost_is_sent_again_without_duplicates() {
    let server = Server::start().await;
    let proxy = CuttingProxy::start(server.running.addr).await;
    let (actor, token) = server.user(Role::Resident, "fushi");
    let li = Phone::new(&proxy.url, actor, token, |c| SyncConfig {
        push_batch: 2,
        ..c
    });
    // A client that does not correct the clock sends no time check first, so
    // the first connection the proxy cuts is the first push.
    // No retry: the lost answer is what this test is about (a retry
    // would send the batch again at once; see tests/retry.rs).
    let client = li.client_with(|c| SyncConfig {
        server_url: proxy.url.clone(),
        push_batch: 2,
        retry: RetryPolicy::none(),
        ..c
    });
    let ids: Vec<_> = (0..5)
        .map(|i| li.store.post_item(item(&format!("旧物{i}"))).unwrap())
        .collect();

    // The first batch reaches the server, the answer never reaches the phone.
    proxy.drop_next.store(1, Ordering::SeqCst);
    assert!(matches!(client.sync().await, Err(Error::Offline(_))));
    assert_eq!(client.pending_changes().unwrap(), 5, "nothing acknowledged");
    assert_eq!(count(&server.held().snapshot().unwrap(), Table::Item), 2);
    assert_eq!(client.last_synced_at().unwrap(), None);

    // Edits made meanwhile go too; the resent batch is a no-op on the server.
    let late = li.store.post_item(item("新增的一件")).unwrap();
    let seq_before = server.storage.current_seq().unwrap();
    let r = client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (6, 0));
    assert_eq!(client.pending_changes().unwrap(), 0);
    let held = server.held().snapshot().unwrap();
    assert_eq!(count(&held, Table::Item), 6);
    assert_eq!(
        server.storage.current_seq().unwrap() - seq_before,
        4,
        "the two resent rows were not numbered again"
    );
    for id in ids.iter().chain([&late]) {
        assert!(server.held().item(*id).is_ok());
    }
    assert_eq!(li.snapshot(), server.snapshot_for("fushi"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_stopped_between_pages_or_cut_mid_page_resumes_where_it_was() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    for i in 0..23 {
        staff
            .store
            .post_station(station(&format!("清凉驿站{i}号（示例）")))
            .unwrap();
    }
    staff.client.sync().await.unwrap();

    let proxy = CuttingProxy::start(server.running.addr).await;
    let (actor, token) = server.user(Role::Resident, "cuiwei");
    let worker = Phone::new(&proxy.url, actor, token, |c| SyncConfig {
        pull_limit: 5,
        max_pull_pages: Some(2),
        ..c
    });
    // Killed after two pages: ten stations kept, the cursor with them.
    let r = worker.client.sync().await.unwrap();
    assert!(r.more);
    assert_eq!(r.pulled, 10);
    assert_eq!(count(&worker.snapshot(), Table::Station), 10);
    assert_eq!(
        worker.client.last_synced_at().unwrap(),
        None,
        "not caught up"
    );

    // The next page's answer is lost: nothing applied, nothing moved.
    // (A fresh client: the proxy cuts new connections, not pooled ones.)
    proxy.drop_next.store(1, Ordering::SeqCst);
    let cut = worker.client_with(|c| SyncConfig {
        server_url: proxy.url.clone(),
        retry: RetryPolicy::none(),
        ..c
    });
    assert!(matches!(cut.sync().await, Err(Error::Offline(_))));
    assert_eq!(count(&worker.snapshot(), Table::Station), 10);

    // Then it finishes, without pulling the first ten again.
    let resumed = worker.client_with(|c| SyncConfig {
        server_url: proxy.url.clone(),
        pull_limit: 5,
        ..c
    });
    let r = resumed.sync().await.unwrap();
    assert_eq!(r.pulled, 13);
    assert!(!r.more);
    assert!(resumed.last_synced_at().unwrap().is_some());
    assert_eq!(worker.snapshot(), server.snapshot_for("cuiwei"));
    server.stop().await;
}
