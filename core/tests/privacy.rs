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

/// A resident's post at any position: every position that leaves the
/// phone (each cell of every outbox payload) and every one it keeps is on
/// the ~100 m grid, or a compound's centre when the post was within its
/// grounds; never the fix the app gave.
mod listing_positions {
    use super::common::*;
    use fushi_core::crdt::{CellOp, Value};
    use fushi_core::geo::{distance_m, Compound, GeoPoint, COARSE_STEP_DEG};
    use fushi_core::model::{NewItem, NewNeed, NewSkill};
    use fushi_core::policy::Role;
    use proptest::prelude::*;

    fn garden() -> Compound {
        Compound {
            name: "福石花园".into(),
            centre: GeoPoint {
                lat: 22.2712,
                lon: 113.5437,
            },
            radius_m: 150.0,
        }
    }

    /// Whether `v` is exactly a multiple of the grid step (as rounding it
    /// gives), or one of the compound's coordinates.
    fn coarse(v: f64, centre: f64) -> bool {
        v == (v / COARSE_STEP_DEG).round() * COARSE_STEP_DEG || v == centre
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn no_fine_position_leaves_the_phone(
            points in proptest::collection::vec((22.26f64..22.28, 113.53f64..113.56), 1..6),
            with_compounds in any::<bool>(),
            jitter in (-0.0008f64..0.0008, -0.0008f64..0.0008),
        ) {
            // One post always within the garden's grounds (≤ 121 m away).
            let mut points = points;
            let centre = garden().centre;
            points.push((centre.lat + jitter.0, centre.lon + jitter.1));
            let me = actor(Role::Resident);
            let p = phone(&me);
            if with_compounds {
                p.store.set_compounds(vec![garden()]);
            }
            let mut given = std::collections::HashMap::new();
            for (i, (lat, lon)) in points.iter().copied().enumerate() {
                let id = match i % 3 {
                    0 => p.store.post_item(NewItem {
                        title: "电饭煲".into(),
                        category: "appliance".into(),
                        mode: "give".into(),
                        pickup_area: "福石花园".into(),
                        lat: Some(lat),
                        lon: Some(lon),
                        ..NewItem::default()
                    }),
                    1 => p.store.post_skill(NewSkill {
                        title: "修自行车".into(),
                        category: "appliance_repair".into(),
                        lat: Some(lat),
                        lon: Some(lon),
                        ..NewSkill::default()
                    }),
                    _ => p.store.post_need(NewNeed {
                        title: "想要一个婴儿床".into(),
                        want: "item".into(),
                        lat: Some(lat),
                        lon: Some(lon),
                        ..NewNeed::default()
                    }),
                }.unwrap();
                given.insert(id, (lat, lon));
            }
            let g = garden();
            let mut seen = 0;
            for change in outbox(&p) {
                for cell in &change.cells {
                    if let (CellOp::Set(Value::Real(v)), "lat" | "lon") = (&cell.op, cell.column.as_str()) {
                        let centre = if cell.column == "lat" { g.centre.lat } else { g.centre.lon };
                        prop_assert!(coarse(*v, centre), "{} {} leaves the phone", cell.column, v);
                        prop_assert!(with_compounds || *v != centre);
                        seen += 1;
                    }
                }
            }
            prop_assert_eq!(seen, points.len() * 2);
            // Each post where it belongs: at the garden's centre when the fix
            // was within its grounds (and the phone knows the garden), else
            // on the grid point nearest to the fix (at most ~76 m from it).
            for change in outbox(&p) {
                let get = |c: &str| change.cells.iter().find_map(|x| match (&x.op, x.column == c) {
                    (CellOp::Set(Value::Real(v)), true) => Some(*v),
                    _ => None,
                });
                let (Some(lat), Some(lon)) = (get("lat"), get("lon")) else { continue };
                let (flat, flon) = given[&change.id];
                let in_garden = distance_m(flat, flon, g.centre.lat, g.centre.lon) <= g.radius_m;
                if with_compounds && in_garden {
                    prop_assert_eq!((lat, lon), (g.centre.lat, g.centre.lon));
                } else {
                    prop_assert!(coarse(lat, f64::NAN) && coarse(lon, f64::NAN));
                    prop_assert!(distance_m(lat, lon, flat, flon) <= 80.0);
                    prop_assert!((lat - flat).abs() <= COARSE_STEP_DEG / 2.0 + 1e-12);
                    prop_assert!((lon - flon).abs() <= COARSE_STEP_DEG / 2.0 + 1e-12);
                }
            }
        }
    }
}
