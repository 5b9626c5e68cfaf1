//! The store says exactly which rows each committed write changed, from one
//! place (the change listener), for every user action and for received
//! pages: the oracle is the difference between the whole store before and
//! after, plus the rows a new record refers to (a request's item, an
//! outcome's request and item, a check-in's station).

mod common;
use common::*;
use fushi_core::model::{
    ItemEdit, NeedEdit, NewItem, NewNeed, NewSkill, NewStation, RowData, SkillEdit, StationEdit,
};
use fushi_core::policy::Role;
use fushi_core::store::{ChangedRow, Rejection};
use fushi_core::{Store, Table};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

type Heard = Arc<Mutex<Vec<Vec<(Table, Uuid)>>>>;

fn listen(store: &Store) -> Heard {
    let heard: Heard = Arc::default();
    let h = heard.clone();
    store.set_change_listener(Some(Arc::new(move |rows: &[ChangedRow]| {
        h.lock()
            .unwrap()
            .push(rows.iter().map(|r| (r.kind, r.id)).collect());
    })));
    heard
}

fn state(store: &Store) -> HashMap<(Table, Uuid), RowData> {
    store
        .snapshot()
        .unwrap()
        .into_iter()
        .map(|r| ((r.table, r.id), r))
        .collect()
}

/// Run `action` and check that the listener heard, in one call per
/// transaction, exactly the rows whose content changed or that are gone, and
/// the rows new records refer to.
fn check<T>(store: &Store, heard: &Heard, what: &str, action: impl FnOnce() -> T) -> T {
    let before = state(store);
    heard.lock().unwrap().clear();
    let out = action();
    let after = state(store);
    let mut expected = BTreeSet::new();
    for (key, row) in &after {
        if before.get(key) != Some(row) {
            expected.insert(*key);
            if !key.0.is_listing() && !before.contains_key(key) {
                for (col, target) in [
                    ("item_id", Table::Item),
                    ("request_id", Table::ItemRequest),
                    ("station_id", Table::Station),
                    ("skill_id", Table::Skill),
                ] {
                    if let Some(id) = row.uuid(col) {
                        expected.insert((target, id));
                    }
                }
            }
        }
    }
    // A row that is gone (a refused row rolled back) changed too.
    expected.extend(before.keys().filter(|k| !after.contains_key(k)));
    let calls = heard.lock().unwrap().clone();
    let got: BTreeSet<(Table, Uuid)> = calls.iter().flatten().copied().collect();
    assert_eq!(got, expected, "{what}: rows heard");
    for call in &calls {
        let unique: BTreeSet<_> = call.iter().collect();
        assert_eq!(unique.len(), call.len(), "{what}: a row twice in one call");
    }
    out
}

#[test]
fn every_action_reports_exactly_the_rows_it_changed() {
    let owner = phone(&actor(Role::Resident));
    let neighbour = phone(&actor(Role::Resident));
    let other = phone(&actor(Role::Resident));
    let staff = phone(&actor(Role::GridStaff));
    let heard = listen(&owner.store);
    let s = &owner.store;

    let item = check(s, &heard, "post", || {
        s.post_item(NewItem {
            title: "儿童自行车".into(),
            category: "kids".into(),
            mode: "give".into(),
            pickup_area: "福石花园".into(),
            ..Default::default()
        })
        .unwrap()
    });
    check(s, &heard, "edit", || {
        s.edit_item(
            item,
            ItemEdit {
                title: Some("儿童自行车 九成新".into()),
                ..Default::default()
            },
        )
        .unwrap()
    });
    for p in [&owner, &neighbour, &other, &staff] {
        p.time.advance(3_600_000);
    }
    check(s, &heard, "renew", || s.renew_item(item).unwrap());
    deliver(&owner, &[&neighbour, &other]);
    neighbour.store.request_item(item, None).unwrap();
    other.store.request_item(item, None).unwrap();
    // A received page: the two requests, and the item they queue for.
    check(s, &heard, "pulled requests", || {
        deliver(&neighbour, &[&owner]);
        deliver(&other, &[&owner]);
    });
    let first = check(s, &heard, "accept", || {
        s.accept_next_request(item).unwrap().unwrap()
    });
    check(s, &heard, "no-show", || s.mark_no_show(first).unwrap());
    let lc = s.item_lifecycle(item).unwrap();
    let second = lc.accepted.unwrap().request_id;
    check(s, &heard, "decline", || s.decline_request(second).unwrap());
    check(s, &heard, "withdraw", || s.withdraw_item(item).unwrap());

    // The requester's side: request and cancel.
    let n = &neighbour.store;
    let heard_n = listen(n);
    let item2 = s
        .post_item(NewItem {
            title: "旧书一箱".into(),
            category: "books".into(),
            mode: "give".into(),
            pickup_area: "福石花园".into(),
            ..Default::default()
        })
        .unwrap();
    deliver(&owner, &[&neighbour]);
    let req = check(n, &heard_n, "request", || {
        n.request_item(item2, None).unwrap()
    });
    check(n, &heard_n, "cancel", || n.cancel_request(req).unwrap());

    // Hand-over on both sides.
    let req = n.request_item(item2, None).unwrap();
    deliver(&neighbour, &[&owner]);
    s.accept_next_request(item2).unwrap();
    check(s, &heard, "giver confirms", || {
        s.confirm_handover(item2).unwrap()
    });
    deliver(&owner, &[&neighbour]);
    check(n, &heard_n, "receiver confirms", || {
        n.confirm_handover(item2).unwrap()
    });
    let _ = req;

    // Stations: staff post, a worker checks in and reports.
    let st = staff
        .store
        .post_station(NewStation {
            name: "福石驿站".into(),
            lat: 22.25,
            lon: 113.52,
            kind: "cool_station".into(),
            ..Default::default()
        })
        .unwrap();
    check(s, &heard, "pulled station", || deliver(&staff, &[&owner]));
    check(s, &heard, "check in", || s.check_in(st).unwrap());
    check(s, &heard, "report", || {
        s.report_station(st, "no_water", None).unwrap()
    });
    check(s, &heard, "delete", || {
        s.delete_listing(Table::Item, item).unwrap()
    });
    // A write that changes nothing is heard by nobody.
    check(s, &heard, "pulled again", || deliver(&staff, &[&owner]));
    assert!(heard.lock().unwrap().is_empty());
}

#[test]
fn staff_skill_and_need_actions_and_refusals_rolled_back_report_exactly_their_rows() {
    let staff = phone(&actor(Role::GridStaff));
    let resident = phone(&actor(Role::Resident));
    let neighbour = phone(&actor(Role::Resident));
    let heard = listen(&staff.store);
    let s = &staff.store;

    let st = check(s, &heard, "post station", || {
        s.post_station(NewStation {
            name: "福石驿站".into(),
            lat: 22.25,
            lon: 113.52,
            kind: "cool_station".into(),
            amenities: vec!["drinking_water".into()],
            ..Default::default()
        })
        .unwrap()
    });
    check(s, &heard, "edit station", || {
        s.edit_station(
            st,
            StationEdit {
                add_amenities: vec!["seating".into()],
                remove_amenities: vec!["drinking_water".into()],
                opening_hours: Some("Mo-Su 07:00-21:00".into()),
                ..Default::default()
            },
        )
        .unwrap()
    });

    // A resident's skill and need reach staff, who hide the need.
    let heard_r = listen(&resident.store);
    let r = &resident.store;
    let skill = check(r, &heard_r, "post skill", || {
        r.post_skill(NewSkill {
            title: "修电风扇".into(),
            category: "appliance_repair".into(),
            ..Default::default()
        })
        .unwrap()
    });
    check(r, &heard_r, "edit skill", || {
        r.edit_skill(
            skill,
            SkillEdit {
                availability: Some("周末下午".into()),
                ..Default::default()
            },
        )
        .unwrap()
    });
    let need = check(r, &heard_r, "post need", || {
        r.post_need(NewNeed {
            title: "想借一个梯子".into(),
            want: "item".into(),
            ..Default::default()
        })
        .unwrap()
    });
    check(r, &heard_r, "edit need", || {
        r.edit_need(
            need,
            NeedEdit {
                status: Some("fulfilled".into()),
                ..Default::default()
            },
        )
        .unwrap()
    });
    check(s, &heard, "pulled skill and need", || {
        deliver(&resident, &[&staff])
    });
    check(s, &heard, "hide", || {
        s.hide_listing(Table::Need, need, true).unwrap()
    });

    // A neighbour confirms the skill was delivered to them.
    deliver(&resident, &[&neighbour]);
    let heard_n = listen(&neighbour.store);
    let n = &neighbour.store;
    check(n, &heard_n, "confirm skill session", || {
        n.confirm_skill_session(skill, Some("风扇修好了".into()))
            .unwrap()
    });

    // The server refuses two of the resident's rows: one it holds (it sends
    // its state back), one it never saw (our copy goes). Rolling back is one
    // write that reports both rows.
    let server_state = s.row_state(Table::Skill, skill).unwrap().unwrap();
    r.edit_skill(
        skill,
        SkillEdit {
            title: Some("修电风扇和空调".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let unseen = r
        .post_need(NewNeed {
            title: "求一张书桌".into(),
            want: "item".into(),
            ..Default::default()
        })
        .unwrap();
    let refusals = [
        Rejection {
            index: 0,
            table: "skill".into(),
            id: skill,
            code: "not_owner".into(),
            reason: "only the owner may change this".into(),
            winning: Some(server_state),
        },
        Rejection {
            index: 1,
            table: "need".into(),
            id: unseen,
            code: "not_owner".into(),
            reason: "only the owner may change this".into(),
            winning: None,
        },
    ];
    check(r, &heard_r, "refusals rolled back", || {
        r.roll_back(&refusals, 1, &[]).unwrap()
    });
    assert_eq!(
        r.skill(skill).unwrap().title,
        "修电风扇",
        "the server's word"
    );
    assert!(
        r.need(unseen).is_err(),
        "a row the server never saw is gone"
    );
}
