//! The stories of issue 9, each as it was found: a long offline outbox, a
//! check-in at a station just added, a new install of an existing account,
//! coordinates with every digit.

use fushi_core::model::{ItemEdit, StationEdit};
use fushi_core::policy::Role;
use fushi_core::Table;
use fushi_tests::{item, station, Phone, Server};

/// A resident offline for a long time posts 700 items and edits most of them
/// afterwards: more than one push batch waits, and rows edited after creation
/// sit in later batches. Every post must reach the server whole, and none may
/// vanish from her own phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_offline_outbox_reaches_the_server_whole() {
    let server = Server::start().await;
    let resident = server.phone(Role::Resident, "fushi");
    let mut ids = Vec::new();
    for k in 0..700 {
        let mut it = item(&format!("旧物{k}"));
        it.lat = Some(22.250_000_000_000_1 + f64::from(k) * 1.234_567_890_123e-7);
        it.lon = Some(113.520_000_000_000_3 + f64::from(k) * 9.876_543_210_987e-8);
        ids.push(resident.store.post_item(it).unwrap());
    }
    for (k, id) in ids.iter().enumerate() {
        if k % 3 != 0 {
            resident
                .store
                .edit_item(
                    *id,
                    ItemEdit {
                        description: Some(format!("第{k}件，改过描述")),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }
    let before = resident.snapshot();
    let report = resident.client.sync().await.unwrap();
    assert_eq!(report.rejected, 0, "{:?}", resident.store.sync_rejections());
    assert_eq!(resident.store.pending_changes().unwrap(), 0);
    assert_eq!(
        resident.snapshot(),
        before,
        "nothing vanished from her phone"
    );
    assert_eq!(
        server.snapshot_for("fushi"),
        before,
        "the server has it all"
    );

    // A new install of her account receives exactly what her phone holds,
    // coordinates to the last bit.
    let new_phone = Phone::new(
        &server.url,
        resident.actor.clone(),
        resident.token.clone(),
        |c| fushi_core::sync::SyncConfig {
            pull_limit: 97,
            ..c
        },
    );
    new_phone.client.sync().await.unwrap();
    let got = new_phone.snapshot();
    assert_eq!(got, before);
    for (a, b) in got.iter().zip(&before) {
        for col in ["lat", "lon"] {
            assert_eq!(
                a.real(col).map(f64::to_bits),
                b.real(col).map(f64::to_bits),
                "{col} bit for bit"
            );
        }
    }
    server.stop().await;
}

/// Grid staff add a station offline, a worker on the same phone checks in,
/// staff then fix the station's hours, and the phone syncs: the check-in
/// must not arrive before its station.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_at_a_station_just_added_and_edited_is_kept() {
    let server = Server::start().await;
    let (actor, token) = server.user(Role::GridStaff, "fushi");
    let staff = Phone::new(&server.url, actor, token, |c| {
        fushi_core::sync::SyncConfig { push_batch: 1, ..c }
    });
    let st = staff.store.post_station(station("福石驿站")).unwrap();
    let checkin = staff.store.check_in(st).unwrap();
    let report = staff.store.report_station(st, "no_water", None).unwrap();
    staff
        .store
        .edit_station(
            st,
            StationEdit {
                opening_hours: Some("Mo-Su 06:00-22:00".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let sync = staff.client.sync().await.unwrap();
    assert_eq!(sync.rejected, 0, "{:?}", staff.store.sync_rejections());
    let held = server.held();
    assert!(held
        .row_state(Table::StationCheckin, checkin)
        .unwrap()
        .is_some());
    assert!(held
        .row_state(Table::StationReport, report)
        .unwrap()
        .is_some());
    assert!(staff
        .store
        .row_state(Table::StationCheckin, checkin)
        .unwrap()
        .is_some());
    assert_eq!(
        held.station(st).unwrap().opening_hours.as_deref(),
        Some("Mo-Su 06:00-22:00")
    );
    server.stop().await;
}

/// A phone whose sync runs into the server's per-token rate limit waits the
/// `Retry-After` it is given and carries on: the sync finishes, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_slowed_by_the_rate_limit_waits_and_finishes() {
    let server = Server::start_custom(
        fushi_core::crdt::SystemClock::new(),
        |c| c,
        fushi_server::Limits {
            rate_per_second: 4,
            rate_burst: 4,
            ..fushi_server::Limits::default()
        },
    )
    .await;
    let (actor, token) = server.user(Role::Resident, "fushi");
    let phone = Phone::new(&server.url, actor, token, |c| {
        fushi_core::sync::SyncConfig {
            push_batch: 1,
            pull_limit: 1,
            ..c
        }
    });
    for k in 0..10 {
        phone.store.post_item(item(&format!("旧物{k}"))).unwrap();
    }
    // 10 pushes and 10 pulls at 4 a second: the limit is met on the way.
    let report = phone.client.sync().await.unwrap();
    assert_eq!(report.pushed, 10);
    assert_eq!(phone.store.pending_changes().unwrap(), 0);
    assert_eq!(server.snapshot_for("fushi").len(), 10);
    server.stop().await;
}
