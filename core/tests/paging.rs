//! Paging through changes across tables (a phone's outbox, the server's pull
//! feed): every row once, in sequence order, whatever the page size.

mod common;
use common::*;
use fushi_core::model::ItemEdit;
use fushi_core::model::NewStation;
use fushi_core::policy::Role;
use fushi_core::store::{PageLimit, Position, Scope};

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
        let item = staff.store.post_item(give(&format!("旧物{k}"))).unwrap();
        expected.push(item);
        if k % 2 == 0 {
            expected.push(staff.store.check_in(st).unwrap());
        }
    }
    let all = staff
        .store
        .changes_since(
            Position::default(),
            PageLimit::rows(10_000),
            &Scope::default(),
        )
        .unwrap();
    assert!(!all.more);
    assert_eq!(
        all.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        expected
    );

    for limit in [1, 2, 3, 5, 8, 100] {
        let (mut cursor, mut got, mut pages) = (Position::default(), Vec::new(), 0);
        loop {
            let page = staff
                .store
                .changes_since(cursor, PageLimit::rows(limit), &Scope::default())
                .unwrap();
            assert!(page.changes.len() <= limit);
            got.extend(page.changes.iter().map(|c| c.id));
            pages += 1;
            if !page.more {
                break;
            }
            assert!(page.next > cursor.after);
            cursor = cursor.after_page(&page);
        }
        assert_eq!(got, expected, "page size {limit}");
        assert_eq!(
            pages,
            expected.len().div_ceil(limit).max(1),
            "page size {limit}"
        );
    }
}

/// A row edited after it was created moves to a later page; the page that
/// lists it must still carry its creation cells (the page-through's floor),
/// or a new phone receives an item with no title, owner or community.
#[test]
fn a_row_edited_after_creation_brings_every_cell_to_a_later_page() {
    let resident = phone(&actor(Role::Resident));
    let mut items = Vec::new();
    for k in 0..12 {
        items.push(resident.store.post_item(give(&format!("旧物{k}"))).unwrap());
    }
    // Edit every other item: those rows now sit at the end of the feed.
    for id in items.iter().step_by(2) {
        resident
            .store
            .edit_item(
                *id,
                ItemEdit {
                    description: Some("改了描述".into()),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let whole = resident
        .store
        .changes_since(
            Position::default(),
            PageLimit::rows(10_000),
            &Scope::default(),
        )
        .unwrap();
    for limit in [1, 2, 3, 5] {
        let mut cursor = Position::default();
        let mut got = std::collections::HashMap::new();
        loop {
            let page = resident
                .store
                .changes_since(cursor, PageLimit::rows(limit), &Scope::default())
                .unwrap();
            for ch in page.changes.iter() {
                got.insert(ch.id, ch.clone());
            }
            cursor = cursor.after_page(&page);
            if !page.more {
                break;
            }
        }
        for ch in &whole.changes {
            let mut a = got[&ch.id].cells.clone();
            let mut b = ch.cells.clone();
            a.sort_by(|x, y| x.column.cmp(&y.column));
            b.sort_by(|x, y| x.column.cmp(&y.column));
            assert_eq!(
                a, b,
                "page size {limit}: a row arrived without all its cells"
            );
        }
        assert_eq!(cursor, Position::at(whole.next), "page size {limit}");
    }
}

/// Pages are bounded in bytes as well as rows: long descriptions end a page
/// early (never splitting a row), and the page-through still lists every row.
#[test]
fn pages_are_bounded_in_bytes_too() {
    let resident = phone(&actor(Role::Resident));
    let long = "闲置物品，成色很好，欢迎邻居自取。".repeat(110); // ~1,900 characters
    let mut ids = Vec::new();
    for k in 0..60 {
        let mut it = give(&format!("旧物{k}"));
        it.description = Some(long.clone());
        ids.push(resident.store.post_item(it).unwrap());
    }
    let bound = 50_000;
    let (mut cursor, mut got, mut largest) = (Position::default(), Vec::new(), 0usize);
    loop {
        let page = resident
            .store
            .changes_since(
                cursor,
                PageLimit {
                    rows: 1000,
                    bytes: bound,
                },
                &Scope::default(),
            )
            .unwrap();
        let (sites, rows) = fushi_core::sync::wire::encode_rows(&page.changes);
        let json =
            serde_json::to_vec(&fushi_core::sync::wire::PushRequest { sites, rows }).unwrap();
        largest = largest.max(json.len());
        got.extend(page.changes.iter().map(|c| c.id));
        cursor = cursor.after_page(&page);
        if !page.more {
            break;
        }
    }
    assert_eq!(got, ids);
    // At most the bound plus the one row that crosses it.
    assert!(largest < bound + 7_000, "a page of {largest} bytes");
    assert!(largest > bound / 2, "pages were filled ({largest} bytes)");
}
