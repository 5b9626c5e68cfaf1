//! A station open "sunrise-sunset" is judged by the sun at the station: in
//! Zhuhai on the winter solstice the sun sets near 17:50, not at the
//! opening-hours crate's default 19:00.

use chrono::NaiveDate;
use fushi_core::crdt::ManualTime;
use fushi_core::hours::local_to_unix_ms;
use fushi_core::model::NewStation;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::NearbyQuery;
use fushi_core::{Store, StoreConfig};
use uuid::Uuid;

fn at(h: u32, m: u32) -> i64 {
    local_to_unix_ms(
        NaiveDate::from_ymd_opt(2026, 12, 21)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap(),
    )
}

#[test]
fn a_sunset_station_closes_at_the_stations_sunset() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path().join("phone.db"),
        ManualTime::new(at(12, 0)),
        StoreConfig::default(),
    )
    .unwrap();
    store.set_actor(Some(Actor {
        user: Uuid::from_u128(7),
        role: Role::GridStaff,
        community: "fushi".into(),
    }));
    let id = store
        .post_station(NewStation {
            name: "福石路岗亭".into(),
            lat: 22.27,
            lon: 113.55,
            kind: "cool_station".into(),
            opening_hours: Some("sunrise-sunset".into()),
            ..NewStation::default()
        })
        .unwrap();
    let open_at = |t: i64| {
        let found = store
            .nearest_stations(&NearbyQuery {
                lat: 22.2701,
                lon: 113.5501,
                open_at: Some(t),
                ..NearbyQuery::default()
            })
            .unwrap();
        found.iter().any(|s| s.id == id)
    };
    assert!(open_at(at(17, 30)), "before sunset");
    assert!(
        !open_at(at(18, 15)),
        "after the sun set at the station (the default would say open)"
    );
    assert!(!open_at(at(6, 45)), "before sunrise (about 07:00)");
    assert!(open_at(at(7, 30)));
}
