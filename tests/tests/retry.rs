//! The sync client in a flaky field: transient failures (5xx, 429, a
//! connection cut after the server did the work) are sent again with
//! backoff, `Retry-After` honoured and capped, other 4xx never; every retry
//! is safe (a push the server already applied is a no-op). A server time
//! years off is not taken for the phone's clock.
//!
//! Counts of requests, not durations, are asserted (the waits are a few
//! milliseconds), except that a `Retry-After` of one second is waited.

use fushi_core::crdt::TimeSource;
use fushi_core::policy::Role;
use fushi_core::sync::{RetryPolicy, SyncConfig};
use fushi_core::Error;
use fushi_tests::faults::{Fault, FaultyFront};
use fushi_tests::proxy::CuttingProxy;
use fushi_tests::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Retries that wait next to nothing.
fn quick(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
    }
}

/// A server, a fault-injecting front for it, and a resident's phone that
/// syncs through the front with `retry`.
async fn through_front(retry: RetryPolicy) -> (Server, FaultyFront, Phone) {
    let server = Server::start().await;
    let front = FaultyFront::start(&server.url).await;
    let (actor, token) = server.user(Role::Resident, "fushi");
    let phone = Phone::new(&front.url, actor, token, |c| SyncConfig { retry, ..c });
    (server, front, phone)
}

fn items_on_server(server: &Server) -> usize {
    fushi_tests::items_in(&server.held())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_answered_503_twice_goes_through_on_the_third_try() {
    let (server, front, li) = through_front(quick(5)).await;
    li.store.post_item(item("九成新儿童自行车")).unwrap();
    front.script("/v1/push", [Fault::Status(503), Fault::Status(503)]);
    let r = li.client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (1, 0));
    assert_eq!(front.hits("/v1/push"), 3);
    assert_eq!(li.client.pending_changes().unwrap(), 0);
    assert_eq!(items_on_server(&server), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_request_is_retried_after_5xx() {
    let (server, front, li) = through_front(quick(3)).await;
    li.store.post_item(item("旧书一箱")).unwrap();
    front.script("/v1/health", [Fault::Status(502)]);
    front.script("/v1/push", [Fault::Status(500)]);
    front.script(
        "/v1/pull",
        [Fault::Unavailable("0".into()), Fault::Status(504)],
    );
    let r = li.client.sync().await.unwrap();
    assert_eq!((r.pushed, r.pulled), (1, 1));
    assert_eq!(front.hits("/v1/health"), 2);
    assert_eq!(front.hits("/v1/push"), 2);
    assert_eq!(front.hits("/v1/pull"), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_not_retried() {
    let (server, front, li) = through_front(quick(5)).await;
    li.store.post_item(item("旧书一箱")).unwrap();
    front.script("/v1/push", [Fault::Status(400)]);
    let out = li.client.sync().await;
    assert!(
        matches!(&out, Err(Error::Server { code, .. }) if code == "injected_400"),
        "{out:?}"
    );
    assert_eq!(front.hits("/v1/push"), 1, "sent once");
    assert_eq!(li.client.pending_changes().unwrap(), 1, "nothing lost");
    // Other 4xx are final too.
    for status in [401, 404, 408, 413] {
        front.script("/v1/push", [Fault::Status(status)]);
        let before = front.hits("/v1/push");
        assert!(li.client.sync().await.is_err());
        assert_eq!(front.hits("/v1/push") - before, 1, "{status} sent once");
    }
    // The next sync sends it.
    assert_eq!(li.client.sync().await.unwrap().pushed, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_after_the_policys_attempts() {
    let (server, front, li) = through_front(quick(3)).await;
    li.store.post_item(item("旧书一箱")).unwrap();
    front.script("/v1/push", std::iter::repeat_n(Fault::Status(503), 10));
    let out = li.client.sync().await;
    assert!(
        matches!(&out, Err(Error::Server { code, .. }) if code == "injected_503"),
        "{out:?}"
    );
    assert_eq!(front.hits("/v1/push"), 3);
    assert_eq!(li.client.pending_changes().unwrap(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limiting_is_waited_out_as_retry_after_says() {
    // Backoff alone would wait at most 20 ms: the one second waited is the
    // server's Retry-After.
    let (server, front, li) = through_front(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(5),
    })
    .await;
    front.script("/v1/pull", [Fault::RateLimited("1".into())]);
    let started = Instant::now();
    li.client.sync().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(front.hits("/v1/pull"), 2);

    // Given up after the attempts: `rate_limited`, as the server said.
    front.script(
        "/v1/pull",
        std::iter::repeat_n(Fault::RateLimited("0".into()), 3),
    );
    let out = li.client.sync().await;
    assert!(
        matches!(&out, Err(Error::Server { code, .. }) if code == "rate_limited"),
        "{out:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_of_an_hour_is_capped() {
    let (server, front, li) = through_front(quick(3)).await;
    front.script(
        "/v1/pull",
        [
            Fault::RateLimited("3600".into()),
            // An HTTP date an hour ahead, as RFC 9110 allows.
            Fault::Unavailable("Fri, 31 Dec 2099 23:59:59 GMT".into()),
        ],
    );
    // Capped at 20 ms each; uncapped it would not finish within the bound.
    tokio::time::timeout(Duration::from_secs(60), li.client.sync())
        .await
        .expect("the wait is capped")
        .unwrap();
    assert_eq!(front.hits("/v1/pull"), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_connection_is_cut_is_sent_again_at_once_without_duplicates() {
    let server = Server::start().await;
    let proxy = CuttingProxy::start(server.running.addr).await;
    let (actor, token) = server.user(Role::Resident, "fushi");
    let li = Phone::new(&proxy.url, actor, token, |c| c);
    // No clock correction: the first connection is the push's.
    let client = li.client_with(|c| SyncConfig {
        server_url: proxy.url.clone(),
        push_batch: 2,
        retry: quick(3),
        ..c
    });
    for i in 0..3 {
        li.store.post_item(item(&format!("旧物{i}"))).unwrap();
    }
    let seq_before = server.storage.current_seq().unwrap();
    // The server applies the first batch; the phone hears nothing: the
    // connection is closed under it. It sends the batch again at once.
    proxy.drop_next.store(1, Ordering::SeqCst);
    let r = client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (3, 0));
    assert_eq!(client.pending_changes().unwrap(), 0);
    assert_eq!(items_on_server(&server), 3);
    assert_eq!(
        server.storage.current_seq().unwrap() - seq_before,
        3,
        "the batch sent twice was numbered once"
    );
    assert!(proxy.connections() >= 2, "a new connection for the retry");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_at_all_is_offline_after_the_retries() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let proxy = CuttingProxy::start(
        // A port nothing listens on: every connection the proxy forwards fails.
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap(),
    )
    .await;
    let client = li.client_with(|c| SyncConfig {
        server_url: proxy.url.clone(),
        retry: quick(3),
        ..c
    });
    li.store.post_item(item("旧书一箱")).unwrap();
    assert!(matches!(client.sync().await, Err(Error::Offline(_))));
    assert_eq!(proxy.connections(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_time_years_off_is_not_taken_for_the_clock() {
    let (server, front, li) = through_front(quick(3)).await;
    let now = fushi_core::crdt::SystemClock::new().now_ms();
    let years = 5 * 365 * 86_400_000_i64;
    for path in ["/v1/health", "/v1/push", "/v1/pull"] {
        front.script(path, [Fault::ServerTime(now + years)]);
    }
    li.store.post_item(item("旧书一箱")).unwrap();
    let r = li.client.sync().await.unwrap();
    assert_eq!(r.clock_offset_ms, Some(0));
    assert_eq!(li.clock.offset_ms(), 0);
    // Nor a time before 2020.
    front.script("/v1/health", [Fault::ServerTime(1_000)]);
    li.client.sync().await.unwrap();
    assert_eq!(li.clock.offset_ms(), 0);

    // Two hours ahead is a phone clock that is wrong: that is corrected.
    let hours = 2 * 3_600_000;
    for path in ["/v1/health", "/v1/pull"] {
        front.script(path, [Fault::ServerTime(now + hours)]);
    }
    let r = li.client.sync().await.unwrap();
    let offset = r.clock_offset_ms.unwrap();
    assert!((offset - hours).abs() < 60_000, "{offset}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_in_no_debug_output() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let config = server.config(&li.token);
    for shown in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{:?}", li.client),
    ] {
        assert!(!shown.contains(&li.token), "{shown}");
    }
    server.stop().await;
}
