//! The server's word against a hostile phone, through HTTP against the real
//! server: each class of attack that once worked with only a resident's
//! token and hand-written requests, and what the server answers now.

use fushi_core::crdt::{Cell, CellOp, Hlc, ManualTime, SystemClock, TimeSource, Value};
use fushi_core::model::NewSkill;
use fushi_core::policy::Role;
use fushi_core::store::Scope;
use fushi_core::{StoreConfig, Table};
use fushi_server::Limits;
use fushi_tests::*;
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const MIN: i64 = 60 * 1000;

fn now() -> i64 {
    SystemClock::new().now_ms()
}

fn codes(body: &serde_json::Value) -> Vec<String> {
    body["rejections"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn skill() -> NewSkill {
    NewSkill {
        title: "修自行车".into(),
        description: None,
        category: fushi_core::model::catalogue::SKILL_CATEGORIES[0]
            .code
            .into(),
        availability: None,
        lat: None,
        lon: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_cannot_take_over_move_or_back_date_a_listing() {
    let server = Server::start().await;
    let (li, staff, bike, st) = fushi_tests::bike_and_station(&server).await;
    let (mallory, token) = server.user(Role::Resident, "fushi");
    let before = server.held().snapshot().unwrap();
    let t = Hlc::new(now(), 0);

    // The owner column twice, the later naming the attacker: malformed, and
    // the row is refused (`invalid`, naming the column), nothing of it applied.
    let twice = change_at(
        "item",
        bike,
        t,
        &[
            ("owner", li.actor.user.to_string().into()),
            ("owner", mallory.user.to_string().into()),
        ],
    );
    let (status, body) = push_raw(&server.url, &token, &[twice]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(codes(&body), ["invalid"], "{body}");
    assert!(body["rejections"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("given twice"));

    // Fixed fields stay fixed, even for the owner and grid staff.
    for (tok, table, id, col, v) in [
        (
            &li.token,
            "item",
            bike,
            "owner",
            Value::from(mallory.user.to_string()),
        ),
        (&li.token, "item", bike, "community", "cuiwei".into()),
        (
            &li.token,
            "item",
            bike,
            "created_at",
            Value::Int(1_600_000_000_000),
        ),
        (&staff.token, "station", st, "community", "cuiwei".into()),
    ] {
        let (_, body) = push_raw(&server.url, tok, &[change_at(table, id, t, &[(col, v)])]).await;
        assert_eq!(codes(&body), ["immutable_field"], "{col}: {body}");
    }

    // A new listing back-dated (to sort first as "newest", or as old) is
    // refused: its creation time is its own clock's.
    let mut new = forged(mallory.clone(), |s| {
        s.post_item(item("穿越来的物品")).unwrap();
    });
    for c in &mut new[0].cells {
        if c.column == "created_at" {
            c.op = CellOp::Set(Value::Int(now() + 300 * 24 * 60 * MIN));
        }
    }
    let (_, body) = push_raw(&server.url, &token, &new).await;
    assert_eq!(codes(&body), ["immutable_field"], "{body}");

    assert_eq!(server.held().snapshot().unwrap(), before);
    assert_eq!(server.held().item(bike).unwrap().owner, li.actor.user);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_grid_staff_hide_and_held_changes_are_judged_again_when_released() {
    let time = ManualTime::new(now());
    let server = Server::start_with(time.clone()).await;
    let li = server.phone(Role::Resident, "fushi");
    let staff = server.phone(Role::GridStaff, "fushi");
    let bike = li.store.post_item(item("九成新儿童自行车")).unwrap();
    let lamp = li.store.post_item(item("旧台灯")).unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    staff.store.hide_listing(Table::Item, bike, true).unwrap();
    staff.client.sync().await.unwrap();
    let t = Hlc::new(time.now_ms(), 0);

    // `hidden` is staff's, in either direction, on creation too.
    let (_, body) = push_raw(
        &server.url,
        &li.token,
        &[change_at("item", bike, t, &[("hidden", 0.into())])],
    )
    .await;
    assert_eq!(codes(&body), ["staff_only"], "{body}");
    let mut new = forged(li.actor.clone(), |s| {
        s.post_item(item("新物品")).unwrap();
    });
    let stamp = new[0].cells[0].stamp;
    new[0].cells.push(Cell {
        column: "hidden".into(),
        op: CellOp::Set(Value::Int(0)),
        stamp,
    });
    let (_, body) = push_raw(&server.url, &li.token, &new).await;
    assert_eq!(codes(&body), ["staff_only"], "{body}");

    // A title stamped ten minutes ahead is held; the token is revoked before
    // it is due; released, it is dropped and the drop recorded.
    let ahead = Hlc::new(time.now_ms() + 10 * MIN, 0);
    let held = change_at("item", lamp, ahead, &[("title", "被撤销者的标题".into())]);
    let (_, body) = push_raw(&server.url, &li.token, &[held]).await;
    assert_eq!(
        (body["accepted"].as_u64(), body["quarantined"].as_u64()),
        (Some(1), Some(1))
    );
    // Another held change, by a user who then deletes the listing: judged
    // with the facts of release time, it is refused as deleted.
    let (neighbour, ntoken) = server.user(Role::Resident, "fushi");
    let own = forged(neighbour.clone(), |s| {
        s.post_item(item("邻居的物品")).unwrap();
    });
    push_raw(&server.url, &ntoken, &own).await;
    let edit = change_at(
        "item",
        own[0].id,
        ahead,
        &[("title", "删除后的标题".into())],
    );
    push_raw(&server.url, &ntoken, &[edit]).await;
    let del = change_at(
        "item",
        own[0].id,
        Hlc::new(time.now_ms(), 5),
        &[("deleted", 1.into())],
    );
    let (_, body) = push_raw(&server.url, &ntoken, &[del]).await;
    assert_eq!(body["accepted"], 1, "{body}");

    assert!(server
        .storage
        .revoke_token(&fushi_server::tokens::hash(&li.token))
        .unwrap());
    time.advance(20 * MIN);
    server.storage.housekeeping().unwrap();
    assert_eq!(server.held().item(lamp).unwrap().title, "旧台灯");
    assert!(server.storage.quarantine().unwrap().is_empty());
    let mut dropped: Vec<(Uuid, String)> = server
        .storage
        .quarantine_drops()
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.code))
        .collect();
    dropped.sort();
    let mut want = vec![
        (lamp, "revoked".to_owned()),
        (own[0].id, "deleted".to_owned()),
    ];
    want.sort();
    assert_eq!(dropped, want);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skill_sessions_requests_and_hand_overs_stay_in_the_users_community() {
    let server = Server::start().await;
    let cuiwei = server.phone(Role::Resident, "cuiwei");
    let sk = cuiwei.store.post_skill(skill()).unwrap();
    let gift = cuiwei.store.post_item(item("翠微的旧书")).unwrap();
    cuiwei.client.sync().await.unwrap();
    let (mallory, token) = server.user(Role::Resident, "fushi");
    let t = Hlc::new(now(), 0);
    let me = mallory.user.to_string();
    for community in ["cuiwei", "fushi"] {
        let session = change_at(
            "skill_session",
            Uuid::now_v7(),
            t,
            &[
                ("skill_id", sk.to_string().into()),
                ("provider", cuiwei.actor.user.to_string().into()),
                ("by_user", me.as_str().into()),
                ("community", community.into()),
                ("created_at", now().into()),
            ],
        );
        let request = change_at(
            "item_request",
            Uuid::now_v7(),
            t,
            &[
                ("item_id", gift.to_string().into()),
                ("requester", me.as_str().into()),
                ("community", community.into()),
                ("created_at", now().into()),
            ],
        );
        let (_, body) = push_raw(&server.url, &token, &[session, request]).await;
        assert_eq!(
            codes(&body),
            ["other_community", "other_community"],
            "{body}"
        );
    }
    let sessions = server
        .held()
        .snapshot()
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.table, Table::SkillSession | Table::ItemRequest))
        .count();
    assert_eq!(sessions, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_sets_the_quarantine_and_the_rate_are_bounded() {
    let time = ManualTime::new(now());
    let server = Server::start_custom(
        time.clone(),
        |c| StoreConfig {
            quarantine_max_rows: 3,
            ..c
        },
        Limits {
            rate_per_second: 1,
            rate_burst: 30,
            ..Limits::default()
        },
    )
    .await;
    let li = server.phone(Role::Resident, "fushi");
    let lamp = li.store.post_item(item("旧台灯")).unwrap();
    li.client.sync().await.unwrap();
    let at = |ms: i64| Hlc::new(ms, 0);
    let title = |clock: Hlc| change_at("item", lamp, clock, &[("title", "时间旅行者".into())]);

    // Clocks: a year 10889, two days ahead, 2019, 1970.
    let n = time.now_ms();
    let batch = [
        title(Hlc(u64::MAX)),
        title(at(n + 2 * 24 * 60 * MIN)),
        title(at(1_560_000_000_000)),
        title(at(1)),
    ];
    let (_, body) = push_raw(&server.url, &li.token, &batch).await;
    assert_eq!(
        codes(&body),
        [
            "clock_ahead",
            "clock_ahead",
            "clock_too_old",
            "clock_too_old"
        ],
        "{body}"
    );
    assert!(server.storage.quarantine().unwrap().is_empty());

    // The quarantine: three held changes per user, then a refusal.
    let held: Vec<_> = (1..=4).map(|k| title(at(n + k * 10 * MIN))).collect();
    let (_, body) = push_raw(&server.url, &li.token, &held).await;
    assert_eq!(body["quarantined"], 3, "{body}");
    assert_eq!(codes(&body), ["quarantine_full"]);

    // Sets: nine photos an item.
    let photos = |from: usize, to: usize| {
        let stamp = fushi_core::crdt::Stamp {
            clock: at(time.now_ms()),
            site: fushi_core::crdt::SiteId(Uuid::new_v4()),
        };
        fushi_core::crdt::RowChange {
            table: "item".into(),
            id: lamp,
            cells: (from..to)
                .map(|i| Cell {
                    column: "photos".into(),
                    op: CellOp::Add(format!("photo://{i}")),
                    stamp,
                })
                .collect(),
        }
    };
    let (_, body) = push_raw(&server.url, &li.token, &[photos(2, 11)]).await;
    assert_eq!(codes(&body), ["too_many_elements"], "{body}");
    let (_, body) = push_raw(&server.url, &li.token, &[photos(2, 10)]).await;
    assert_eq!(body["accepted"], 1, "{body}");
    assert_eq!(server.held().item(lamp).unwrap().photos.len(), 9);

    // The rate: a burst of 30, then 429 with Retry-After.
    let http = fushi_tests::http();
    let pull = format!("{}/v1/pull", server.url);
    let mut limited = None;
    for _ in 0..40 {
        let resp = raw(&http, Method::GET, &pull, &li.token)
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("the burst runs out");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Another token is not held back by this one's rate.
    let other = server.phone(Role::Resident, "fushi");
    assert!(other.client.sync().await.is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_learns_only_what_they_may_read() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let staff = server.phone(Role::GridStaff, "fushi");
    let cuiwei = server.phone(Role::Resident, "cuiwei");
    let (_, token) = server.user(Role::Resident, "fushi");
    let theirs = cuiwei.store.post_item(item("翠微：电话 138…")).unwrap();
    let bike = li.store.post_item(item("九成新儿童自行车")).unwrap();
    cuiwei.client.sync().await.unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    let t = Hlc::new(now(), 0);

    // A refusal about another community's row carries nothing of it.
    let (_, body) = push_raw(
        &server.url,
        &token,
        &[change_at("item", theirs, t, &[("title", "x".into())])],
    )
    .await;
    assert_eq!(codes(&body), ["other_community"]);
    assert!(body["rejections"][0]["winning"].is_null(), "{body}");

    // A hidden listing: residents receive it without its content; its
    // owner and grid staff whole; a refusal about it carries no content.
    staff.store.hide_listing(Table::Item, bike, true).unwrap();
    staff.client.sync().await.unwrap();
    let neighbour = server.phone(Role::Resident, "fushi");
    neighbour.client.sync().await.unwrap();
    let seen = neighbour
        .store
        .fetch_row(Table::Item, bike)
        .unwrap()
        .unwrap();
    assert!(seen.flag("hidden"));
    assert_eq!(seen.text("title"), None);
    assert_eq!(seen.text("pickup_area"), None);
    assert!(seen.set("photos").is_empty());
    li.client.sync().await.unwrap();
    assert_eq!(li.store.item(bike).unwrap().title, "九成新儿童自行车");
    let (_, body) = push_raw(
        &server.url,
        &token,
        &[change_at("item", bike, t, &[("title", "x".into())])],
    )
    .await;
    assert_eq!(codes(&body), ["not_owner"]);
    let winning = body["rejections"][0]["winning"].to_string();
    assert!(
        !winning.contains("自行车") && winning.contains("hidden"),
        "{winning}"
    );

    // Shown again, the listing reaches the neighbour whole.
    staff.store.hide_listing(Table::Item, bike, false).unwrap();
    staff.client.sync().await.unwrap();
    neighbour.client.sync().await.unwrap();
    assert_eq!(
        neighbour.store.item(bike).unwrap().title,
        "九成新儿童自行车"
    );
    assert_eq!(
        neighbour.store.item(bike).unwrap().photos,
        [fushi_tests::sample_photo_ref()]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_and_reports_are_published_in_shuffled_batches_per_window() {
    const WINDOW: i64 = 10 * MIN;
    let start = now();
    let time = ManualTime::new(start - start.rem_euclid(WINDOW) + MIN);
    let server = Server::start_custom(
        time.clone(),
        |c| StoreConfig {
            record_window_ms: WINDOW,
            record_min_batch: 3,
            ..c
        },
        Limits::default(),
    )
    .await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let st = staff
        .store
        .post_station(station("福石清凉驿站（示例）"))
        .unwrap();
    staff.client.sync().await.unwrap();
    let li = server.phone(Role::Resident, "fushi");
    let lamp = li.store.post_item(item("旧台灯")).unwrap();
    li.client.sync().await.unwrap();

    // Within one window: a worker checks in, Li edits her item, two more
    // workers report and check in.
    let mut records = Vec::new();
    for k in 0..3 {
        let w = server.phone(Role::Resident, "qianshan");
        w.client.sync().await.unwrap();
        records.push(if k == 1 {
            w.store.report_station(st, "no_water", None).unwrap()
        } else {
            w.store.check_in(st).unwrap()
        });
        w.client.sync().await.unwrap();
        if k == 0 {
            li.store
                .edit_item(
                    lamp,
                    fushi_core::model::ItemEdit {
                        title: Some("旧台灯（已修好）".into()),
                        ..Default::default()
                    },
                )
                .unwrap();
            li.client.sync().await.unwrap();
        }
        time.advance(MIN);
    }
    let store = &*server.storage;
    assert_eq!(store.held_records().unwrap(), 3);
    let feed = |store: &dyn fushi_server::SyncStorage| -> Vec<(i64, Uuid)> {
        let mut out = Vec::new();
        let mut cursor = fushi_core::store::Position::default();
        loop {
            let page = store
                .pull(
                    &Scope::default(),
                    cursor,
                    fushi_core::store::PageLimit::rows(1),
                )
                .unwrap();
            if page.changes.is_empty() {
                return out;
            }
            out.push((page.next, page.changes[0].id));
            cursor = cursor.after_page(&page);
        }
    };
    assert!(
        feed(store).iter().all(|(_, id)| !records.contains(id)),
        "nothing shows before the window ends"
    );

    time.advance(WINDOW);
    server.storage.housekeeping().unwrap();
    assert_eq!(store.held_records().unwrap(), 0);
    let feed = feed(store);
    let pos: Vec<usize> = records
        .iter()
        .map(|r| feed.iter().position(|(_, id)| id == r).unwrap())
        .collect();
    let edit = feed.iter().position(|(_, id)| *id == lamp).unwrap();
    // One block, after everything else of the window: not next to the
    // pushes that brought them.
    let (lo, hi) = (*pos.iter().min().unwrap(), *pos.iter().max().unwrap());
    assert_eq!(hi - lo, 2);
    assert!(lo > edit);
    // And the worker sees them like anyone.
    let rider = server.phone(Role::Resident, "qianshan");
    rider.client.sync().await.unwrap();
    assert_eq!(rider.store.station_reports(st).unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_rows_are_checked_like_local_ones() {
    let server = Server::start().await;
    let (mallory, token) = server.user(Role::Resident, "fushi");
    let me = mallory.user.to_string();
    let t = Hlc::new(now(), 0);

    // A new item with only owner and community.
    let bare = change_at(
        "item",
        Uuid::now_v7(),
        t,
        &[("owner", me.as_str().into()), ("community", "fushi".into())],
    );
    let (_, body) = push_raw(&server.url, &token, &[bare]).await;
    assert_eq!(codes(&body), ["malformed"], "{body}");

    // Non-canonical UUIDs, invisible and right-to-left titles: refused
    // row by row, code `invalid`.
    let own = |f: &dyn Fn(&mut fushi_core::crdt::RowChange)| {
        let mut c = forged(mallory.clone(), |s| {
            s.post_item(item("旧书")).unwrap();
        });
        f(&mut c[0]);
        c
    };
    let set = |c: &mut fushi_core::crdt::RowChange, col: &str, v: Value| {
        for cell in &mut c.cells {
            if cell.column == col {
                cell.op = CellOp::Set(v.clone());
            }
        }
    };
    for bad in [
        own(&|c| set(c, "owner", format!("{{{me}}}").into())),
        own(&|c| set(c, "owner", format!("urn:uuid:{me}").into())),
        own(&|c| set(c, "owner", me.to_uppercase().into())),
        own(&|c| set(c, "title", "\u{200B}\u{200C}\u{FEFF}".into())),
        own(&|c| set(c, "title", "免费送\u{202E}gpj.exe".into())),
    ] {
        let (status, body) = push_raw(&server.url, &token, &bad).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(codes(&body), ["invalid"], "{body}");
        assert_eq!(body["accepted"], 0, "{body}");
    }
    // The same text is refused on the phone.
    let li = server.phone(Role::Resident, "fushi");
    assert!(li.store.post_item(item("\u{200B}\u{2060}")).is_err());

    // Edits to a deleted row are refused; the delete itself may come again.
    let lamp = li.store.post_item(item("旧台灯")).unwrap();
    li.client.sync().await.unwrap();
    li.store.delete_listing(Table::Item, lamp).unwrap();
    li.client.sync().await.unwrap();
    let (_, body) = push_raw(
        &server.url,
        &li.token,
        &[change_at(
            "item",
            lamp,
            Hlc::new(now(), 9),
            &[("status", "given".into())],
        )],
    )
    .await;
    assert_eq!(codes(&body), ["deleted"], "{body}");
    let (_, body) = push_raw(
        &server.url,
        &li.token,
        &[change_at(
            "item",
            lamp,
            Hlc::new(now(), 9),
            &[("deleted", 1.into())],
        )],
    )
    .await;
    assert_eq!(body["accepted"], 1, "{body}");
    server.stop().await;
}

async fn closed_within(
    addr: std::net::SocketAddr,
    send: &[u8],
    bound: Duration,
) -> (Duration, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(send).await.unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, conn.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection was left open");
    (
        started.elapsed(),
        String::from_utf8_lossy(&got).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_a_stop_drains_within_its_bound() {
    let limits = Limits {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        drain: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = Server::start_custom(SystemClock::new(), |c| c, limits.clone()).await;
    let addr = server.running.addr;
    let (_, token) = server.user(Role::Resident, "fushi");
    let bound = Duration::from_secs(3);
    // Idle, half a head, half a body.
    closed_within(addr, b"", bound).await;
    closed_within(addr, b"POST /v1/push HTTP/1.1\r\nHost: x\r\n", bound).await;
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Fushi-Protocol: 1\r\nFushi-Schema: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"sites\":",
        fushi_core::store::SCHEMA_VERSION
    );
    let (_, answer) = closed_within(addr, head.as_bytes(), bound).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    server.stop().await;

    // A stop with a request that never finishes ends within the drain bound.
    let server = Server::start_custom(
        SystemClock::new(),
        |c| c,
        Limits {
            body_timeout: Duration::from_secs(600),
            drain: Duration::from_secs(1),
            ..Limits::default()
        },
    )
    .await;
    let (_, token) = server.user(Role::Resident, "fushi");
    let mut conn = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Fushi-Protocol: 1\r\nFushi-Schema: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"sites\":",
        fushi_core::store::SCHEMA_VERSION
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("the stop is bounded");
    assert!(started.elapsed() < Duration::from_secs(3));
}
