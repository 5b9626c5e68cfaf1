//! Hostile and broken input from the network: each gets a clear 4xx with a
//! machine-readable `{code, message}`, and nothing is applied in part.

use fushi_core::policy::Role;
use fushi_core::sync::wire::{PushRequest, WireCell, WireRow};
use fushi_tests::*;
use reqwest::{Method, StatusCode};
use std::io::Write;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_clear_error_and_change_nothing() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    li.store.post_item(item("旧书一箱")).unwrap();
    li.client.sync().await.unwrap();
    let (_, token) = server.user(Role::Resident, "fushi");
    let http = fushi_tests::http();
    let push = format!("{}/v1/push", server.url);
    let pull = format!("{}/v1/pull", server.url);
    let before = server.held().snapshot().unwrap();
    let seq_before = server.storage.current_seq().unwrap();

    let expect = |(status, body): (StatusCode, serde_json::Value), want: StatusCode, code: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    };

    // Who: no token, an unknown one, a revoked one.
    expect(
        send_raw(
            http.post(&push)
                .header("Fushi-Protocol", "1")
                .header("Fushi-Schema", "1"),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "missing_token",
    );
    expect(
        send_raw(raw(&http, Method::GET, &pull, "fsh_0000")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
    let (_, revoked) = server.user(Role::Resident, "fushi");
    assert!(server
        .storage
        .revoke_token(&fushi_server::tokens::hash(&revoked))
        .unwrap());
    expect(
        send_raw(raw(&http, Method::GET, &pull, &revoked)).await,
        StatusCode::UNAUTHORIZED,
        "revoked_token",
    );

    // Which protocol: missing or old versions.
    expect(
        send_raw(http.get(&pull).bearer_auth(&token)).await,
        StatusCode::UPGRADE_REQUIRED,
        "upgrade_required",
    );
    expect(
        send_raw(
            http.get(&pull)
                .bearer_auth(&token)
                .header("Fushi-Protocol", "0")
                .header("Fushi-Schema", "1"),
        )
        .await,
        StatusCode::UPGRADE_REQUIRED,
        "upgrade_required",
    );
    expect(
        send_raw(
            http.get(&pull)
                .bearer_auth(&token)
                .header("Fushi-Protocol", "one")
                .header("Fushi-Schema", "1"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_header",
    );

    // What: malformed JSON, invalid UTF-8, wrong shapes.
    let post = |body: Vec<u8>| raw(&http, Method::POST, &push, &token).body(body);
    expect(
        send_raw(post(b"{\"sites\": [".to_vec())).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    expect(
        send_raw(post(b"{\"rows\": 5}".to_vec())).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    expect(
        send_raw(post(
            b"{\"sites\":[],\"rows\":[[\"item\",\"\xff\xfe\",[]]]}".to_vec(),
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_utf8",
    );
    expect(
        send_raw(post(b"\x1f\x8b not gzip".to_vec()).header("content-encoding", "gzip")).await,
        StatusCode::BAD_REQUEST,
        "bad_body",
    );

    // Unknown table, unknown column, a field too long: refused row by row
    // (`invalid`, naming the field); an unknown site index is a malformed
    // request (400 `invalid_change`).
    assert_eq!(server.held().snapshot().unwrap(), before);
    assert_eq!(server.storage.current_seq().unwrap(), seq_before);
    let good = forged(li.actor.clone(), |s| {
        s.post_item(item("好的物品")).unwrap();
    });
    for (bad, field) in [
        (
            cell_change("users", uuid::Uuid::now_v7(), "name", "x".into()),
            "table",
        ),
        (
            cell_change("item", good[0].id, "password", "x".into()),
            "item.password",
        ),
        (
            cell_change("item", good[0].id, "title", "长".repeat(61).into()),
            "item.title",
        ),
    ] {
        // One bad row never fails the push (it would block the phone's
        // outbox forever): it alone is refused, with code `invalid` and the
        // field, and the good change beside it is applied.
        let mut batch = good.clone();
        batch.push(bad);
        let (status, body) = push_raw(&server.url, &li.token, &batch).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"], good.len(), "{body}");
        let refused = body["rejections"].as_array().unwrap();
        assert_eq!(refused.len(), 1, "{body}");
        assert_eq!(refused[0]["index"], good.len());
        assert_eq!(refused[0]["code"], "invalid");
        let msg = refused[0]["reason"].as_str().unwrap();
        assert!(msg.contains(field), "{msg}");
        assert!(!msg.contains("长长"), "no values in messages: {msg}");
    }
    assert!(
        server
            .held()
            .fetch_row(fushi_core::Table::Item, good[0].id)
            .unwrap()
            .is_some(),
        "the good change beside the bad one is applied"
    );
    // From here on, every request is refused whole and changes nothing.
    let before = server.held().snapshot().unwrap();
    let seq_before = server.storage.current_seq().unwrap();
    let bad_site = PushRequest {
        sites: vec![],
        rows: vec![WireRow(
            "item".into(),
            good[0].id,
            vec![WireCell("title".into(), 0, "x".into(), 1 << 40, 3)],
        )],
    };
    expect(
        send_raw(post(serde_json::to_vec(&bad_site).unwrap())).await,
        StatusCode::BAD_REQUEST,
        "invalid_change",
    );

    // How much: too many rows, too large a body, and a gzip bomb.
    let many: Vec<_> = (0..501)
        .map(|_| cell_change("item", uuid::Uuid::now_v7(), "title", "x".into()))
        .collect();
    let (status, body) = push_raw(&server.url, &token, &many).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("batch_too_large"))
    );
    let big = vec![b' '; 5 * 1024 * 1024];
    expect(
        send_raw(post(big.clone())).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let bomb = gzip(&big);
    assert!(bomb.len() < 64 * 1024);
    expect(
        send_raw(post(bomb).header("content-encoding", "gzip")).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );

    // Pull parameters.
    expect(
        send_raw(raw(
            &http,
            Method::GET,
            &format!("{pull}?cursor=-1"),
            &token,
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "bad_cursor",
    );
    expect(
        send_raw(raw(
            &http,
            Method::GET,
            &format!("{pull}?cursor=abc"),
            &token,
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "bad_cursor",
    );
    expect(
        send_raw(raw(
            &http,
            Method::GET,
            &format!("{pull}?cursor=1f.9.3"),
            &token,
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "bad_cursor",
    );
    expect(
        send_raw(raw(
            &http,
            Method::GET,
            &format!("{pull}?limit=abc"),
            &token,
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    );
    expect(
        send_raw(raw(
            &http,
            Method::GET,
            &format!("{}/v2/everything", server.url),
            &token,
        ))
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    assert_eq!(server.held().snapshot().unwrap(), before);
    assert_eq!(server.storage.current_seq().unwrap(), seq_before);

    // The phone's own client maps these to errors the app can act on.
    let stranger = Phone::new(&server.url, li.actor.clone(), "fsh_nope".into(), |c| c);
    assert!(matches!(
        stranger.client.sync().await,
        Err(fushi_core::Error::SignedOut { code, .. }) if code == "invalid_token"
    ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_with_versions_and_time_and_pages_are_gzipped() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    for i in 0..30 {
        staff
            .store
            .post_station(station(&format!("清凉驿站{i}号（示例）")))
            .unwrap();
    }
    staff.client.sync().await.unwrap();
    let http = fushi_tests::http_builder().gzip(false).build().unwrap();
    let (status, body) = send_raw(http.get(format!("{}/v1/health", server.url))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["protocol"], 1);
    assert!(body["server_time_ms"].as_i64().unwrap() > 1_700_000_000_000);
    let resp = raw(
        &http,
        Method::GET,
        &format!("{}/v1/pull?limit=1000", server.url),
        &staff.token,
    )
    .header("accept-encoding", "gzip")
    .send()
    .await
    .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert!(resp.headers().contains_key("fushi-server-time"));
    server.stop().await;
}
