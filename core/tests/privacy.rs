//! What leaves the phone about a person: nothing that says where an outdoor
//! worker was.

mod common;
use common::*;
use fushi_core::crdt::{CellOp, Value};
use fushi_core::model::NewStation;
use fushi_core::policy::Role;
use uuid::Uuid;

#[test]
fn check_ins_and_reports_carry_no_user_no_device_and_only_a_coarse_time() {
    let staff = phone(&actor(Role::GridStaff));
    let station = staff
        .store
        .post_station(NewStation {
            name: "前山清凉驿站".into(),
            lat: 22.26,
            lon: 113.52,
            kind: "cool_station".into(),
            ..Default::default()
        })
        .unwrap();
    let worker_actor = actor(Role::Resident);
    let worker = phone(&worker_actor);
    deliver(&staff, &[&worker]);
    worker.time.advance(37 * 60_000 + 12_345);
    let now = worker.store.now_ms();
    let checkin = worker.store.check_in(station).unwrap();
    let report = worker
        .store
        .report_station(station, "no_water", None)
        .unwrap();

    let sent = outbox(&worker);
    assert_eq!(sent.len(), 2);
    let me = worker_actor.user.to_string();
    for change in &sent {
        assert_eq!(
            change.id.get_version_num(),
            4,
            "a random id, with no time in it"
        );
        for cell in &change.cells {
            assert_eq!(cell.stamp.site.0, Uuid::nil(), "no device in the stamp");
            assert_ne!(cell.stamp.site, worker.store.site());
            if let CellOp::Set(Value::Text(t)) = &cell.op {
                assert_ne!(t, &me, "no user id in {}", cell.column);
            }
        }
    }
    let checkin_row = sent.iter().find(|c| c.id == checkin).unwrap();
    let created = |c: &fushi_core::crdt::RowChange| {
        c.cells
            .iter()
            .find(|c| c.column == "created_at")
            .and_then(|c| match &c.op {
                CellOp::Set(Value::Int(t)) => Some(*t),
                _ => None,
            })
    };
    assert_eq!(
        created(checkin_row).unwrap() % 3_600_000,
        0,
        "check-ins to the hour"
    );
    assert!(created(checkin_row).unwrap() <= now);
    let report_row = sent.iter().find(|c| c.id == report).unwrap();
    assert_eq!(
        created(report_row).unwrap() % 60_000,
        0,
        "reports to the minute"
    );
    assert!(now - created(report_row).unwrap() < 60_000);

    // They still count and show on every phone.
    staff.time.advance(38 * 60_000);
    deliver(&worker, &[&staff]);
    assert_eq!(staff.store.checkin_count(station, None).unwrap(), 1);
    assert_eq!(staff.store.station_reports(station).unwrap().len(), 1);
    assert_eq!(worker.store.pending_count(0).unwrap(), 2);
}
