//! Paging through changes across tables (a phone's outbox, the server's pull
//! feed): every row once, in sequence order, whatever the page size.

mod common;
use common::*;
use fushi_core::model::{NewItem, NewStation};
use fushi_core::policy::Role;
use fushi_core::store::Scope;

#[test]
fn pages_of_any_size_give_every_changed_row_once_in_order() {
    let staff = phone(&actor(Role::GridStaff));
    let mut expected = Vec::new();
    for k in 0..7 {
        let st = staff
            .store
            .post_station(NewStation {
                name: format!("驿站{k}"),
                lat: 22.25,
                lon: 113.52,
                kind: "cool_station".into(),
                ..Default::default()
            })
            .unwrap();
        expected.push(st);
        let item = staff
            .store
            .post_item(NewItem {
                title: format!("旧物{k}"),
                category: "other".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..Default::default()
            })
            .unwrap();
        expected.push(item);
        if k % 2 == 0 {
            expected.push(staff.store.check_in(st).unwrap());
        }
    }
    let all = staff
        .store
        .changes_since(0, 10_000, &Scope::default())
        .unwrap();
    assert!(!all.more);
    assert_eq!(
        all.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        expected
    );

    for limit in [1, 2, 3, 5, 8, 100] {
        let (mut cursor, mut got, mut pages) = (0, Vec::new(), 0);
        loop {
            let page = staff
                .store
                .changes_since(cursor, limit, &Scope::default())
                .unwrap();
            assert!(page.changes.len() <= limit);
            got.extend(page.changes.iter().map(|c| c.id));
            pages += 1;
            if !page.more {
                break;
            }
            assert!(page.next > cursor);
            cursor = page.next;
        }
        assert_eq!(got, expected, "page size {limit}");
        assert_eq!(
            pages,
            expected.len().div_ceil(limit).max(1),
            "page size {limit}"
        );
    }
}
