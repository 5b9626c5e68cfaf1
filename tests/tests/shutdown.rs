//! Graceful shutdown: a push that is under way when the server is told to
//! stop is finished and answered; only then does the server stop.

use fushi_core::policy::Role;
use fushi_tests::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_under_way_is_finished_before_the_server_stops() {
    let server = Server::start().await;
    let storage = server.storage.clone();
    let seq_before = storage.current_seq().unwrap();
    let addr = server.running.addr;
    let (actor, token) = server.user(Role::Resident, "fushi");
    let changes = forged(actor, |s| {
        s.post_item(item("收工前送出的台灯")).unwrap();
    });
    let (sites, rows) = fushi_core::sync::wire::encode_rows(&changes);
    let body = serde_json::to_vec(&fushi_core::sync::wire::PushRequest { sites, rows }).unwrap();

    // Headers and half the body go now; the rest after the stop is asked.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Fushi-Protocol: 1\r\nFushi-Schema: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        fushi_core::store::SCHEMA_VERSION,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    conn.write_all(first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stopping.is_finished(),
        "the server stopped with a request under way"
    );

    conn.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"accepted\":1"), "{answer}");

    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the server stops once the push is answered")
        .unwrap();
    // Applied and numbered (the stopped server's files are gone with its
    // temp dir; its open writer still answers).
    assert_eq!(storage.current_seq().unwrap(), seq_before + 1);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a stopped server takes no new connections"
    );
}
