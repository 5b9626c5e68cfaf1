//! The three users' stories on phones that edit offline and exchange changes
//! later (through a relay standing in for the sync server).

mod common;
use common::*;
use fushi_core::model::{ItemEdit, NewItem, NewStation, StationEdit};
use fushi_core::policy::Role;
use fushi_core::Table;

fn station() -> NewStation {
    NewStation {
        name: "福石社区清凉驿站（岗亭一号）".into(),
        address: Some("前山街道福石路".into()),
        lat: 22.2586,
        lon: 113.5262,
        kind: "cool_station".into(),
        amenities: vec!["drinking_water".into(), "seating".into()],
        opening_hours: Some("Mo-Su 08:00-20:00".into()),
        host_org: Some("福石社区居委会".into()),
        contact: None,
        note: None,
    }
}

fn item() -> NewItem {
    NewItem {
        title: "九成新儿童自行车".into(),
        description: Some("孩子长大了，骑不了了，免费送给需要的邻居".into()),
        category: "kids".into(),
        condition: Some("like_new".into()),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        lat: Some(22.259),
        lon: Some(113.527),
        photos: vec![fushi_core::photo::PhotoRef::of(b"bike-1").to_string()],
        ..Default::default()
    }
}

#[test]
fn two_grid_staff_edit_one_station_offline_and_both_edits_survive() {
    let staff_a = actor(Role::GridStaff);
    let staff_b = actor(Role::GridStaff);
    let worker = actor(Role::Resident);
    let (a, b, w) = (phone(&staff_a), phone(&staff_b), phone(&worker));
    let id = a.store.post_station(station()).unwrap();
    sync_all(&[&a, &b, &w]);

    // Both offline: one changes the hours, the other adds a power bank.
    a.time.advance(60_000);
    b.time.advance(61_000);
    a.store
        .edit_station(
            id,
            StationEdit {
                opening_hours: Some("Mo-Su 07:00-22:00".into()),
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .edit_station(
            id,
            StationEdit {
                add_amenities: vec!["power_bank".into()],
                ..Default::default()
            },
        )
        .unwrap();
    sync_all(&[&a, &b, &w]);

    for p in [&a, &b, &w] {
        let s = p.store.station(id).unwrap();
        assert_eq!(s.opening_hours.as_deref(), Some("Mo-Su 07:00-22:00"));
        assert_eq!(s.amenities, vec!["drinking_water", "power_bank", "seating"]);
    }
    assert_converged(&[&a, &b, &w]);
}

#[test]
fn concurrent_add_and_remove_of_an_amenity_keeps_the_add() {
    let (sa, sb) = (actor(Role::GridStaff), actor(Role::GridStaff));
    let (a, b) = (phone(&sa), phone(&sb));
    let id = a.store.post_station(station()).unwrap();
    sync_all(&[&a, &b]);
    // A removes water (it saw one add); B, not having seen the removal, adds it again.
    a.store
        .edit_station(
            id,
            StationEdit {
                remove_amenities: vec!["drinking_water".into()],
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .edit_station(
            id,
            StationEdit {
                remove_amenities: vec!["drinking_water".into()],
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .edit_station(
            id,
            StationEdit {
                add_amenities: vec!["drinking_water".into()],
                ..Default::default()
            },
        )
        .unwrap();
    sync_all(&[&a, &b]);
    for p in [&a, &b] {
        assert!(p
            .store
            .station(id)
            .unwrap()
            .amenities
            .contains(&"drinking_water".to_string()));
    }
    assert_converged(&[&a, &b]);
}

#[test]
fn a_resident_deletes_an_item_while_her_other_phone_edits_it() {
    let resident = actor(Role::Resident);
    let neighbour = actor(Role::Resident);
    let (phone1, phone2, other) = (phone(&resident), phone(&resident), phone(&neighbour));
    let id = phone1.store.post_item(item()).unwrap();
    sync_all(&[&phone1, &phone2, &other]);

    phone1.time.advance(1_000);
    phone1.store.delete_listing(Table::Item, id).unwrap();
    // The other phone edits later, offline.
    phone2.time.advance(5_000);
    phone2
        .store
        .edit_item(
            id,
            ItemEdit {
                title: Some("儿童自行车，带辅助轮".into()),
                add_photos: vec![fushi_core::photo::PhotoRef::of(b"bike-2").to_string()],
                ..Default::default()
            },
        )
        .unwrap();
    sync_all(&[&phone1, &phone2, &other]);

    for p in [&phone1, &phone2, &other] {
        assert!(matches!(
            p.store.item(id),
            Err(fushi_core::Error::NotFound(_))
        ));
        let row = p.store.fetch_row(Table::Item, id).unwrap().unwrap();
        assert!(row.flag("deleted"));
        for col in [
            "title",
            "description",
            "pickup_area",
            "photos",
            "lat",
            "lon",
            "swap_for",
        ] {
            assert_eq!(
                *row.get(col),
                fushi_core::crdt::Value::Null,
                "{col} not erased"
            );
        }
    }
    assert_converged(&[&phone1, &phone2, &other]);
}

#[test]
fn a_phone_whose_clock_is_a_year_ahead_does_not_override_a_later_edit() {
    const YEAR: i64 = 365 * 24 * 60 * 60 * 1000;
    let staff = actor(Role::GridStaff);
    let (good, skewed) = (phone(&staff), phone_at(&staff, T0 + YEAR));
    let id = good.store.post_station(station()).unwrap();
    sync_all(&[&good, &skewed]);

    skewed
        .store
        .edit_station(
            id,
            StationEdit {
                note: Some("旧通知".into()),
                ..Default::default()
            },
        )
        .unwrap();
    good.time.advance(60_000);
    good.store
        .edit_station(
            id,
            StationEdit {
                note: Some("新通知：今天维修".into()),
                ..Default::default()
            },
        )
        .unwrap();

    deliver(&skewed, &[&good]);
    assert_eq!(
        good.store.station(id).unwrap().note.as_deref(),
        Some("新通知：今天维修")
    );
    let q = good.store.quarantine().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].id, id);
    assert!(q[0].clock_wall_ms > good.store.now_ms() + 300_000);

    // Kept, never dropped: applied once time catches up (a year later).
    good.time.advance(YEAR);
    let report = good.store.release_quarantine().unwrap();
    assert_eq!(report.changed.len(), 1);
    assert!(good.store.quarantine().unwrap().is_empty());
}

#[test]
fn a_phone_a_year_ahead_restamps_its_unsent_edits_once_its_clock_is_corrected() {
    const YEAR: i64 = 365 * 24 * 60 * 60 * 1000;
    let staff = actor(Role::GridStaff);
    let (good, skewed) = (phone(&staff), phone_at(&staff, T0 + YEAR));
    let id = good.store.post_station(station()).unwrap();
    sync_all(&[&good, &skewed]);

    skewed
        .store
        .edit_station(
            id,
            StationEdit {
                note: Some("离线写的通知".into()),
                add_amenities: vec!["wifi".into()],
                ..Default::default()
            },
        )
        .unwrap();
    // The sync client learns the server's time and corrects the clock.
    skewed.time.set(T0 + 120_000);
    let n = skewed.store.restamp_ahead(0).unwrap();
    assert_eq!(n, 3, "the note, the amenities column and its wifi tag");
    deliver(&skewed, &[&good]);
    assert!(good.store.quarantine().unwrap().is_empty());
    assert_eq!(
        good.store.station(id).unwrap().note.as_deref(),
        Some("离线写的通知")
    );

    // Later edits on either phone win again, as they should.
    good.time.set(T0 + 180_000);
    good.store
        .edit_station(
            id,
            StationEdit {
                note: Some("维修完毕".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync_all(&[&good, &skewed]);
    for p in [&good, &skewed] {
        let s = p.store.station(id).unwrap();
        assert_eq!(s.note.as_deref(), Some("维修完毕"));
        assert!(s.amenities.contains(&"wifi".to_string()));
    }
    skewed.time.set(T0 + 240_000);
    skewed
        .store
        .edit_station(
            id,
            StationEdit {
                note: Some("又更新了".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync_all(&[&good, &skewed]);
    assert_eq!(
        good.store.station(id).unwrap().note.as_deref(),
        Some("又更新了")
    );
    assert_converged(&[&good, &skewed]);
}
