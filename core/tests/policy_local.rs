//! Local writes that break the policy are refused with a clear error, and
//! nothing of them is written.

mod common;
use common::*;
use fushi_core::model::{ItemEdit, NewItem, NewStation};
use fushi_core::policy::{Denial, Role};
use fushi_core::{Error, Table};

fn item() -> NewItem {
    NewItem {
        title: "电饭煲".into(),
        category: "appliance".into(),
        mode: "swap".into(),
        pickup_area: "福石花园".into(),
        ..Default::default()
    }
}

fn station() -> NewStation {
    NewStation {
        name: "驿站".into(),
        lat: 22.25,
        lon: 113.52,
        kind: "cool_station".into(),
        ..Default::default()
    }
}

#[test]
fn a_resident_cannot_edit_or_delete_a_neighbours_item() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let id = pa.store.post_item(item()).unwrap();
    deliver(&pa, &[&pb]);
    let before = pb.store.snapshot().unwrap();
    let e = pb
        .store
        .edit_item(
            id,
            ItemEdit {
                title: Some("我的了".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::NotAllowed(Denial::NotOwner)), "{e}");
    assert!(matches!(
        pb.store.delete_listing(Table::Item, id),
        Err(Error::NotAllowed(Denial::NotOwner))
    ));
    assert!(matches!(
        pb.store.withdraw_item(id),
        Err(Error::NotAllowed(Denial::NotOwner))
    ));
    assert_eq!(pb.store.snapshot().unwrap(), before);
    assert_eq!(pb.store.pending_count(0).unwrap(), 0);
}

#[test]
fn only_grid_staff_create_stations_and_hide_listings() {
    let (resident, staff) = (actor(Role::Resident), actor(Role::GridStaff));
    let (pr, ps) = (phone(&resident), phone(&staff));
    assert!(matches!(
        pr.store.post_station(station()),
        Err(Error::NotAllowed(Denial::StaffOnly))
    ));
    let id = pr.store.post_item(item()).unwrap();
    assert!(matches!(
        pr.store.hide_listing(Table::Item, id, true),
        Err(Error::NotAllowed(Denial::StaffOnly))
    ));
    deliver(&pr, &[&ps]);
    ps.store.hide_listing(Table::Item, id, true).unwrap();
    assert!(ps.store.item(id).unwrap().hidden);
}

#[test]
fn grid_staff_of_another_community_cannot_moderate() {
    let resident = actor(Role::Resident);
    let mut outsider = actor(Role::GridStaff);
    outsider.community = "gongbei".into();
    let (pr, po) = (phone(&resident), phone(&outsider));
    let id = pr.store.post_item(item()).unwrap();
    deliver(&pr, &[&po]);
    assert!(matches!(
        po.store.hide_listing(Table::Item, id, true),
        Err(Error::NotAllowed(Denial::OtherCommunity))
    ));
}

#[test]
fn residents_cannot_request_their_own_item_but_neighbours_can() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let id = pa.store.post_item(item()).unwrap();
    assert!(matches!(
        pa.store.request_item(id, None),
        Err(Error::NotAllowed(Denial::OwnItem))
    ));
    deliver(&pa, &[&pb]);
    pb.store
        .request_item(id, Some("周六上午方便吗".into()))
        .unwrap();
}

#[test]
fn writing_without_signing_in_is_refused() {
    let p = phone(&actor(Role::Resident));
    p.store.set_actor(None);
    assert!(matches!(p.store.post_item(item()), Err(Error::NotSignedIn)));
}

#[test]
fn invalid_input_names_the_field_and_writes_nothing() {
    let p = phone(&actor(Role::Resident));
    let cases: Vec<(NewItem, &str)> = vec![
        (
            NewItem {
                title: "".into(),
                ..item()
            },
            "title",
        ),
        (
            NewItem {
                title: "长".repeat(61),
                ..item()
            },
            "title",
        ),
        (
            NewItem {
                category: "weapons".into(),
                ..item()
            },
            "category",
        ),
        (
            NewItem {
                mode: "sell".into(),
                ..item()
            },
            "mode",
        ),
        (
            NewItem {
                pickup_area: " ".into(),
                ..item()
            },
            "pickup_area",
        ),
        (
            NewItem {
                lat: Some(95.0),
                lon: Some(113.5),
                ..item()
            },
            "lat",
        ),
        (
            NewItem {
                lat: Some(22.2),
                lon: None,
                ..item()
            },
            "lon",
        ),
        (
            NewItem {
                lat: Some(f64::NAN),
                lon: Some(113.5),
                ..item()
            },
            "lat",
        ),
        (
            NewItem {
                condition: Some("broken-ish".into()),
                ..item()
            },
            "condition",
        ),
        (
            NewItem {
                photos: vec!["x".repeat(201)],
                ..item()
            },
            "photos",
        ),
        (
            NewItem {
                description: Some("a\u{0}b".into()),
                ..item()
            },
            "description",
        ),
    ];
    for (new, field) in cases {
        match p.store.post_item(new) {
            Err(Error::Invalid { field: f, reason }) => {
                assert_eq!(f, field, "reason: {reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("{field}: expected Invalid, got {other:?}"),
        }
    }
    assert!(p.store.snapshot().unwrap().is_empty());
    let staff = phone(&actor(Role::GridStaff));
    let bad_hours = NewStation {
        opening_hours: Some("whenever we like".into()),
        ..station()
    };
    assert!(
        matches!(staff.store.post_station(bad_hours), Err(Error::Invalid { field, .. }) if field == "opening_hours")
    );
    let bad_amenity = NewStation {
        amenities: vec!["jacuzzi".into()],
        ..station()
    };
    assert!(
        matches!(staff.store.post_station(bad_amenity), Err(Error::Invalid { field, .. }) if field == "amenities")
    );
}

#[test]
fn a_malformed_received_row_is_kept_aside_and_never_blocks_its_page() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let good = pa.store.post_item(item()).unwrap();
    pa.store.post_item(item()).unwrap();
    let mut batch = outbox(&pa);
    let bad_id = batch[1].id;
    let mut bad = batch[1].clone();
    bad.cells[0].column = "password".into();
    batch[1] = bad;
    let report = pb.store.apply_remote(&batch).unwrap();
    assert_eq!(report.unreadable, 1);
    assert_eq!(pb.store.unreadable_count().unwrap(), 1);
    assert_eq!(
        pb.store.item(good).unwrap().title,
        item().title,
        "the good row is applied"
    );
    assert!(
        pb.store.fetch_row(Table::Item, bad_id).unwrap().is_none(),
        "nothing of the bad row is applied in part"
    );
    let mut unknown = outbox(&pa);
    unknown[0].table = "users".into();
    let report = pb.store.apply_remote(&unknown).unwrap();
    assert_eq!(report.unreadable, 1);
    assert_eq!(pb.store.unreadable_count().unwrap(), 2);
}

#[test]
fn rows_an_older_version_kept_aside_are_applied_once_this_version_can_read_them() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let id = pa.store.post_item(item()).unwrap();
    let row = outbox(&pa).remove(0);
    // What an older app, whose validation refused this row, left behind.
    rusqlite::Connection::open(pb.path())
        .unwrap()
        .execute(
            "INSERT INTO sync_unreadable (received_at, held_by, change) VALUES (0, '0.0.0', ?1)",
            [serde_json::to_string(&row).unwrap()],
        )
        .unwrap();
    assert_eq!(pb.store.unreadable_count().unwrap(), 1);
    // The next page received (even an empty one) applies it.
    let report = pb.store.apply_remote(&[]).unwrap();
    assert_eq!(report.changed, vec![(Table::Item, id)]);
    assert_eq!(pb.store.unreadable_count().unwrap(), 0);
    assert_eq!(pb.store.item(id).unwrap().title, item().title);
}

#[test]
fn an_expired_item_cannot_be_requested() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let id = pa.store.post_item(item()).unwrap();
    deliver(&pa, &[&pb]);
    pb.time.advance(31 * 24 * 60 * 60 * 1000);
    match pb.store.request_item(id, None) {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "item");
            assert_eq!(reason, "the item has expired");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refusals_winning_state_this_version_cannot_read_is_kept_aside_not_failing_the_rollback() {
    let (alice, bob) = (actor(Role::Resident), actor(Role::Resident));
    let (pa, pb) = (phone(&alice), phone(&bob));
    let id = pb.store.post_item(item()).unwrap();
    pa.store.post_item(item()).unwrap();
    // The server's word about the row, with a title longer than this
    // version allows (as a newer version might).
    let mut winning = outbox(&pa).remove(0);
    winning.id = id;
    for cell in &mut winning.cells {
        if cell.column == "title" {
            cell.op = fushi_core::crdt::CellOp::Set("长".repeat(61).into());
        }
    }
    let refusal = fushi_core::store::Rejection {
        index: 0,
        table: "item".into(),
        id,
        code: "not_owner".into(),
        reason: "only the owner may change this".into(),
        winning: Some(winning),
    };
    let report = pb.store.roll_back(&[refusal], 1, &[]).unwrap();
    assert_eq!(report.unreadable, 1);
    assert_eq!(pb.store.unreadable_count().unwrap(), 1);
    assert!(
        pb.store.fetch_row(Table::Item, id).unwrap().is_none(),
        "our copy is gone"
    );
    assert_eq!(
        pb.store.sync_rejections().unwrap().len(),
        1,
        "the refusal is recorded"
    );
}
