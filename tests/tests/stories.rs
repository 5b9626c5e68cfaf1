//! The three users' stories against the real server on loopback, with
//! phones that are offline part of the time.

use fushi_core::crdt::TimeSource;
use fushi_core::model::{ItemEdit, StationEdit};
use fushi_core::policy::Role;
use fushi_core::sync::{RetryPolicy, SyncConfig};
use fushi_core::{Error, Table};
use fushi_tests::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_posts_offline_and_her_neighbour_sees_it_after_both_sync() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let other = server.phone(Role::Resident, "cuiwei");

    // No signal: the sync fails as Offline and the store is untouched.
    let bike = li.store.post_item(item("九成新儿童自行车")).unwrap();
    let before = li.snapshot();
    let offline = li.client_with(|c| SyncConfig {
        server_url: "http://127.0.0.1:9".into(),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy::none(),
        ..c
    });
    assert!(matches!(offline.sync().await, Err(Error::Offline(_))));
    assert_eq!(li.snapshot(), before);
    assert_eq!(li.client.pending_changes().unwrap(), 1);
    assert_eq!(li.client.last_synced_at().unwrap(), None);

    // She edits again, still offline; then signal returns.
    li.store
        .edit_item(
            bike,
            ItemEdit {
                title: Some("儿童自行车，带辅助轮".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let r = li.client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (1, 0));
    assert_eq!(li.client.pending_changes().unwrap(), 0);
    assert!(li.client.last_synced_at().unwrap().is_some());

    wang.client.sync().await.unwrap();
    assert_eq!(wang.store.item(bike).unwrap().title, "儿童自行车，带辅助轮");
    assert_eq!(wang.store.item(bike).unwrap().owner, li.actor.user);
    // Another community's resident does not receive it.
    other.client.sync().await.unwrap();
    assert!(other.store.fetch_row(Table::Item, bike).unwrap().is_none());

    // The neighbour asks for it; she sees the request after her next sync.
    let req = wang
        .store
        .request_item(bike, Some("周六来拿".into()))
        .unwrap();
    wang.client.sync().await.unwrap();
    li.client.sync().await.unwrap();
    assert!(li
        .store
        .fetch_row(Table::ItemRequest, req)
        .unwrap()
        .is_some());

    for p in [&li, &wang] {
        assert_eq!(p.snapshot(), server.snapshot_for("fushi"));
    }
    assert_eq!(other.snapshot(), server.snapshot_for("cuiwei"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outdoor_worker_gets_the_whole_citys_stations_and_reports() {
    let server = Server::start().await;
    let fushi_staff = server.phone(Role::GridStaff, "fushi");
    let cuiwei_staff = server.phone(Role::GridStaff, "cuiwei");
    let resident = server.phone(Role::Resident, "fushi");
    let worker = server.phone(Role::Resident, "qianshan");

    let a = fushi_staff
        .store
        .post_station(station("福石清凉驿站（示例）"))
        .unwrap();
    let b = cuiwei_staff
        .store
        .post_station(station("翠微清凉驿站（示例）"))
        .unwrap();
    resident.store.post_item(item("旧书一箱")).unwrap();
    for p in [&fushi_staff, &cuiwei_staff, &resident] {
        p.client.sync().await.unwrap();
    }

    worker.client.sync().await.unwrap();
    assert!(worker.store.station(a).is_ok());
    assert!(worker.store.station(b).is_ok());
    let items = worker
        .snapshot()
        .into_iter()
        .filter(|r| r.table == Table::Item)
        .count();
    assert_eq!(items, 0, "other communities' items stay with them");

    // Offline, at the station: out of water.
    let report = worker.store.report_station(a, "no_water", None).unwrap();
    worker.client.sync().await.unwrap();
    fushi_staff.client.sync().await.unwrap();
    let reports = fushi_staff.store.station_reports(a).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].id, report);
    assert_eq!(reports[0].kind, "no_water");

    for (p, c) in [
        (&worker, "qianshan"),
        (&fushi_staff, "fushi"),
        (&cuiwei_staff, "cuiwei"),
    ] {
        p.client.sync().await.unwrap();
        assert_eq!(p.snapshot(), server.snapshot_for(c));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_grid_staff_edit_one_station_offline_and_both_edits_survive() {
    let server = Server::start().await;
    let zhao = server.phone(Role::GridStaff, "fushi");
    let sun = server.phone(Role::GridStaff, "fushi");
    let worker = server.phone(Role::Resident, "cuiwei");
    let id = zhao
        .store
        .post_station(station("福石清凉驿站（示例）"))
        .unwrap();
    zhao.client.sync().await.unwrap();
    sun.client.sync().await.unwrap();

    // Both offline: one changes the hours, the other adds a power bank and
    // removes seating.
    zhao.store
        .edit_station(
            id,
            StationEdit {
                opening_hours: Some("Mo-Su 07:00-22:00".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sun.store
        .edit_station(
            id,
            StationEdit {
                add_amenities: vec!["power_bank".into()],
                remove_amenities: vec!["seating".into()],
                ..Default::default()
            },
        )
        .unwrap();
    sun.client.sync().await.unwrap();
    zhao.client.sync().await.unwrap();
    sun.client.sync().await.unwrap();
    worker.client.sync().await.unwrap();

    for p in [&zhao, &sun, &worker] {
        let s = p.store.station(id).unwrap();
        assert_eq!(s.opening_hours.as_deref(), Some("Mo-Su 07:00-22:00"));
        assert_eq!(s.amenities, vec!["drinking_water", "power_bank"]);
    }
    assert_eq!(zhao.snapshot(), sun.snapshot());
    assert_eq!(zhao.snapshot(), server.snapshot_for("fushi"));
    assert_eq!(worker.snapshot(), server.snapshot_for("cuiwei"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_whose_clock_is_an_hour_behind_is_corrected_by_the_server() {
    const HOUR: i64 = 3_600_000;
    let server_time = fushi_core::crdt::ManualTime::new(0);
    let server = Server::start_with(server_time.clone()).await;
    let system_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    server_time.set(system_ms + HOUR);
    // Her token is issued by the server's clock (it expires by it too).
    let li = server.phone(Role::Resident, "fushi");

    li.client.sync().await.unwrap();
    let offset = li.clock.offset_ms();
    assert!((offset - HOUR).abs() < 5_000, "offset {offset}");
    // Her next write is stamped with the server's idea of now.
    let id = li.store.post_item(item("电风扇")).unwrap();
    let created = li.store.item(id).unwrap().created_at;
    assert!((created - server_time.now_ms()).abs() < 5_000);
    li.client.sync().await.unwrap();
    assert_eq!(li.snapshot(), server.snapshot_for("fushi"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_a_year_ahead_does_not_override_later_edits_after_it_syncs() {
    const YEAR: i64 = 365 * 24 * 3_600_000;
    let server_time = fushi_core::crdt::ManualTime::new(0);
    let server = Server::start_with(server_time.clone()).await;
    let system_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // The server is right; this phone's clock is a year ahead of it.
    server_time.set(system_ms - YEAR);
    let ahead = server.phone(Role::GridStaff, "fushi");
    let other = server.phone(Role::GridStaff, "fushi");

    // Offline, before it ever talked to the server, it adds a station.
    let id = ahead.store.post_station(station("福石路岗亭驿站")).unwrap();
    let r = ahead.client.sync().await.unwrap();
    assert!(r.restamped > 0, "its unsent writes were re-stamped");
    assert_eq!(r.pushed, 1);
    assert_eq!(r.rejected, 0);

    // The station is on the server now, not held back a year.
    other.client.sync().await.unwrap();
    assert_eq!(other.store.station(id).unwrap().name, "福石路岗亭驿站");

    // A later edit elsewhere wins over the early phone's values.
    server_time.set(system_ms - YEAR + 60_000);
    other
        .store
        .edit_station(
            id,
            StationEdit {
                note: Some("下午停水检修".into()),
                ..Default::default()
            },
        )
        .unwrap();
    other.client.sync().await.unwrap();
    ahead.client.sync().await.unwrap();
    assert_eq!(
        ahead.store.station(id).unwrap().note.as_deref(),
        Some("下午停水检修")
    );
    assert!(ahead.store.quarantine().unwrap().is_empty());
    assert_eq!(ahead.snapshot(), other.snapshot());
    assert_eq!(ahead.snapshot(), server.snapshot_for("fushi"));
    server.stop().await;
}

#[test]
fn sync_blocking_works_without_an_async_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start());
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let id = li.store.post_item(item("儿童绘本")).unwrap();
    let r = li.client.sync_blocking().unwrap();
    assert_eq!(r.pushed, 1);
    wang.client.sync_blocking().unwrap();
    assert_eq!(wang.store.item(id).unwrap().title, "儿童绘本");
    // Inside a runtime it refuses rather than panics.
    let inside = rt.block_on(async { li.client.sync_blocking() });
    assert!(matches!(inside, Err(Error::Invalid { .. })));
    rt.block_on(server.stop());
}
