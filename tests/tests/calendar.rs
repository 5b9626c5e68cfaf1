//! The holiday calendar arrives by sync: an admin publishes 2027 (the
//! notice comes out in late 2026) and every phone knows it at its next sync,
//! with no app update. Before that, a phone says it does not know 2027's
//! holidays instead of guessing. Only admins publish; a calendar must be of
//! its year; phones of an older schema are sent none of it.

use chrono::NaiveDate;
use fushi_core::hours::local_to_unix_ms;
use fushi_core::model::NewStation;
use fushi_core::policy::Role;
use fushi_core::store::NearbyQuery;
use fushi_core::Error;
use fushi_tests::{http, push_raw, send_raw, Server};

/// Part of the 2027 schedule (National Day, and a make-up working day).
const CHINA_2027: &str = "# 2027 (test data)
2027-10-01 holiday
2027-10-02 holiday
2027-10-03 holiday
2027-10-04 holiday
2027-10-05 holiday
2027-10-06 holiday
2027-10-07 holiday
2027-10-09 workday Mo
";

fn at(y: i32, m: u32, d: u32, h: u32) -> i64 {
    local_to_unix_ms(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_years_holidays_reach_every_phone_by_sync() {
    let server = Server::start().await;
    let admin = server.phone(Role::Admin, "fushi");
    let staff = server.phone(Role::GridStaff, "fushi");
    let rider = server.phone(Role::Resident, "lianhua");
    let station = staff
        .store
        .post_station(NewStation {
            name: "福石路岗亭".into(),
            lat: 22.27,
            lon: 113.55,
            kind: "cool_station".into(),
            opening_hours: Some("Mo-Fr 08:00-18:00; PH off".into()),
            ..NewStation::default()
        })
        .unwrap();
    staff.client.sync().await.unwrap();
    rider.client.sync().await.unwrap();
    let ask = |p: &fushi_tests::Phone, t: i64| {
        p.store
            .opening_status("Mo-Fr 08:00-18:00; PH off", t)
            .unwrap()
    };
    // 2027-10-01 is a Friday and National Day; 2027-10-09 a Saturday worked.
    let national_day = at(2027, 10, 1, 10);
    let makeup = at(2027, 10, 9, 10);
    let before = ask(&rider, national_day);
    assert!(
        !before.holidays_known,
        "2027 is not known yet: a guess, said so"
    );
    assert!(before.open, "without the calendar, a Friday");
    assert!(!rider.store.holiday_years().contains(&2027));

    // Only an admin publishes, and only a calendar of its year.
    assert!(matches!(
        staff.store.publish_holiday_calendar(2027, CHINA_2027),
        Err(Error::NotAllowed(_))
    ));
    assert!(admin
        .store
        .publish_holiday_calendar(2028, CHINA_2027)
        .is_err());
    assert!(admin
        .store
        .publish_holiday_calendar(2027, "2027-13-01 holiday")
        .is_err());
    admin
        .store
        .publish_holiday_calendar(2027, CHINA_2027)
        .unwrap();
    admin.client.sync().await.unwrap();

    // A rider of another community learns it at the next sync.
    rider.client.sync().await.unwrap();
    assert!(rider.store.holiday_years().contains(&2027));
    let after = ask(&rider, national_day);
    assert!(after.holidays_known);
    assert!(!after.open, "PH off on National Day");
    assert!(
        ask(&rider, makeup).open,
        "the make-up Saturday works as a Monday"
    );
    assert!(
        ask(&rider, at(2026, 10, 1, 10)).holidays_known,
        "2026 is built in"
    );
    let near = rider
        .store
        .nearest_stations(&NearbyQuery {
            lat: 22.2701,
            lon: 113.5501,
            open_at: Some(national_day),
            ..NearbyQuery::default()
        })
        .unwrap();
    assert!(
        near.iter().all(|s| s.id != station),
        "closed on National Day"
    );

    // A resident's hand-made publication is refused by the server.
    let forged = fushi_tests::forged(rider.actor.clone(), |s| {
        s.set_actor(Some(fushi_core::policy::Actor {
            role: Role::Admin,
            ..rider.actor.clone()
        }));
        s.publish_holiday_calendar(2027, "2027-10-08 holiday")
            .unwrap();
    });
    let (_, body) = push_raw(&server.url, &rider.token, &forged).await;
    assert_eq!(body["rejections"][0]["code"], "admin_only", "{body}");

    // A phone of schema 2 is sent no calendar row.
    let (status, page) = send_raw(
        http()
            .get(format!("{}/v1/pull", server.url))
            .bearer_auth(&rider.token)
            .header("Fushi-Protocol", "1")
            .header("Fushi-Schema", "2"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r[0] != "holiday_calendar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_publishes_a_year_on_the_server_and_phones_learn_it() {
    let server = Server::start().await;
    let rider = server.phone(Role::Resident, "fushi");
    rider.client.sync().await.unwrap();
    assert_eq!(rider.store.holiday_years(), vec![2026]);
    // What `fushi-server publish-holidays --year 2027 FILE` does.
    let storage = &*server.storage;
    assert!(fushi_server::import::publish_holidays(storage, 2027, "2026-10-01 holiday").is_err());
    fushi_server::import::publish_holidays(storage, 2027, CHINA_2027).unwrap();
    rider.client.sync().await.unwrap();
    assert_eq!(rider.store.holiday_years(), vec![2026, 2027]);
    assert!(
        !rider
            .store
            .opening_status("Mo-Fr 08:00-18:00; PH off", at(2027, 10, 1, 10))
            .unwrap()
            .open
    );
}
