//! HTTPS end to end: the real server terminating TLS with a certificate of a
//! CA made in the test (rcgen), phones pinning that CA. A certificate the
//! phone cannot trust (another CA, the platform's store, expired, another
//! name) is `Error::Tls` with a reason, never `Offline`; cleartext is
//! refused unless allowed; a stalled handshake does not hold a connection.

use fushi_core::policy::Role;
use fushi_core::sync::{RetryPolicy, SyncConfig, Trust};
use fushi_core::Error;
use fushi_tests::certs::{TestCa, Validity};
use fushi_tests::*;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// A server whose certificate is `cert`, signed by `ca` (or not).
async fn server_with(ca: TestCa, cert: certs::ServerCert) -> Server {
    Server::start_full(
        fushi_core::crdt::SystemClock::new(),
        |c| c,
        fushi_server::Limits::default(),
        Some((ca, cert.tls())),
    )
    .await
}

/// The TLS error of one sync of a fresh phone of `server` with `config`.
async fn tls_error(server: &Server, tweak: impl FnOnce(SyncConfig) -> SyncConfig) -> String {
    let (actor, token) = server.user(Role::Resident, "fushi");
    let config = tweak(server.config(&token));
    let phone = Phone::with_config(actor, token, config);
    phone.store.post_item(item("旧书一箱")).unwrap();
    match phone.client.sync().await {
        Err(Error::Tls(reason)) => {
            assert!(!reason.contains(&phone.token), "{reason}");
            assert_eq!(phone.client.pending_changes().unwrap(), 1);
            reason
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_pinning_the_deployments_ca_sync_over_https() {
    let server = Server::start_tls().await;
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let bike = li.store.post_item(item("九成新儿童自行车")).unwrap();
    let r = li.client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (1, 0));
    let r = wang.client.sync().await.unwrap();
    assert_eq!(r.pulled, 1);
    assert!(wang.store.item(bike).is_ok());
    assert_eq!(wang.snapshot(), server.snapshot_for("fushi"));
    // The blocking sync builds its own client: HTTPS too (on a thread of
    // its own, outside the runtime).
    let blocking = std::thread::spawn(move || wang.client.sync_blocking().map(|_| ()))
        .join()
        .unwrap();
    assert!(blocking.is_ok(), "{blocking:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_is_refused_as_a_tls_error() {
    let server = Server::start_tls().await;
    let other = TestCa::new("Someone else's CA");
    let reason = tls_error(&server, |c| SyncConfig {
        trust: Trust::PinnedCa(other.pem.clone()),
        ..c
    })
    .await;
    assert!(reason.contains("not issued by an authority"), "{reason}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_store_does_not_trust_a_private_ca() {
    let server = Server::start_tls().await;
    // Where the machine has no CA bundle at all the verifier cannot even be
    // made: that is a TLS error too, when the client is made.
    let (actor, token) = server.user(Role::Resident, "fushi");
    let config = SyncConfig {
        trust: Trust::Platform,
        ..server.config(&token)
    };
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(fushi_core::Store::open(dir.path().join("p.db")).unwrap());
    store.set_actor(Some(actor));
    let out = match fushi_core::sync::SyncClient::new(store, config) {
        Ok(client) => client.sync().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(matches!(out, Err(Error::Tls(_))), "{out:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused() {
    let ca = TestCa::new("Fushi test CA");
    let cert = ca.server(&["127.0.0.1", "localhost"], Validity::Expired);
    let server = server_with(ca, cert).await;
    let reason = tls_error(&server, |c| c).await;
    assert!(reason.contains("expired"), "{reason}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused() {
    let ca = TestCa::new("Fushi test CA");
    let cert = ca.server(&["sync.other-city.example"], Validity::Current);
    let server = server_with(ca, cert).await;
    let reason = tls_error(&server, |c| c).await;
    assert!(reason.contains("another name"), "{reason}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plain_http_server_is_a_tls_error_not_offline() {
    let server = Server::start().await;
    let https = server.url.replacen("http://", "https://", 1);
    let ca = TestCa::new("Fushi test CA");
    let li = server.phone(Role::Resident, "fushi");
    let client = li.client_with(|c| SyncConfig {
        server_url: https,
        trust: Trust::PinnedCa(ca.pem.clone()),
        allow_cleartext: false,
        ..c
    });
    let out = client.sync().await;
    assert!(matches!(out, Err(Error::Tls(_))), "{out:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_is_refused_unless_allowed() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let refused = li.try_client_with(|c| SyncConfig {
        server_url: server.url.clone(),
        allow_cleartext: false,
        ..c
    });
    match refused {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "server_url");
            assert!(reason.contains("http://"), "{reason}");
        }
        other => panic!("expected server_url refused, got {:?}", other.map(|_| ())),
    }
    // Allowed explicitly (loopback, tests): it syncs.
    let allowed = li.client_with(|c| SyncConfig {
        server_url: server.url.clone(),
        allow_cleartext: true,
        ..c
    });
    li.store.post_item(item("旧书一箱")).unwrap();
    assert_eq!(allowed.sync().await.unwrap().pushed, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_handshake_is_closed_and_frees_its_slot() {
    // One connection slot: a client that connects and never says hello must
    // not keep the next phone out for long.
    let server = Server::start_tls_with(fushi_server::Limits {
        max_connections: 1,
        tls_handshake_timeout: Duration::from_millis(300),
        ..fushi_server::Limits::default()
    })
    .await;
    let mut silent = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the server closes a silent connection: {closed:?}"
    );
    let li = server.phone(Role::Resident, "fushi");
    li.store.post_item(item("旧书一箱")).unwrap();
    assert_eq!(li.client.sync().await.unwrap().pushed, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_stops_with_a_keep_alive_connection_open() {
    let server = Server::start_tls().await;
    let li = server.phone(Role::Resident, "fushi");
    li.store.post_item(item("旧书一箱")).unwrap();
    li.client.sync().await.unwrap();
    // The phone's pooled connection is idle and open; the stop is bounded.
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_error_is_not_retried() {
    // A certificate does not mend in a second: one attempt, however many
    // the policy allows (the server sees no request at all).
    let server = Server::start_tls().await;
    let proxy = proxy::CuttingProxy::start(server.running.addr).await;
    let via_proxy = proxy.url.replacen("http://", "https://", 1);
    let other = TestCa::new("Someone else's CA");
    let reason = tls_error(&server, |c| SyncConfig {
        server_url: via_proxy,
        trust: Trust::PinnedCa(other.pem.clone()),
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        ..c
    })
    .await;
    assert!(!reason.is_empty());
    assert_eq!(proxy.connections(), 1, "one connection, no retry");
    server.stop().await;
}
