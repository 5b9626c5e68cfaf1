//! No poison pills: one row that fails validation never blocks a sync. A
//! pushed row the server finds invalid is refused for that row only (code
//! `invalid`, naming the field), the phone rolls it back and its outbox moves
//! on; a pulled value this version does not know (a category, amenity or
//! station kind added in a newer version) is kept and shown with a fallback
//! label, never blocking the page.

use fushi_core::crdt::{Cell, CellOp, Hlc, RowChange, SiteId, Stamp};
use fushi_core::model::catalogue;
use fushi_core::policy::Role;
use fushi_core::Table;
use fushi_tests::{item, station, Server};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_row_in_the_outbox_is_refused_alone_and_the_outbox_moves_on() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let before = li.store.post_item(item("旧台灯")).unwrap();
    let bad = li.store.post_item(item("儿童自行车")).unwrap();
    let after = li.store.post_item(item("电饭煲")).unwrap();
    // What a bug or an older validation could leave in a phone's file: a
    // title longer than the server takes, written past the store's checks.
    let file = rusqlite::Connection::open(li.db_path()).unwrap();
    // The search index's triggers call the store's SQL functions; this raw
    // write does not need the index right.
    for f in ["fushi_tokens", "fushi_label"] {
        file.create_scalar_function(
            f,
            -1,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |_| Ok(String::new()),
        )
        .unwrap();
    }
    file.execute(
        "UPDATE item SET title = ?1 WHERE id = ?2",
        rusqlite::params!["长".repeat(61), bad.as_bytes()],
    )
    .unwrap();
    drop(file);
    assert_eq!(li.store.pending_changes().unwrap(), 3);

    let report = li.client.sync().await.unwrap();
    assert_eq!(report.rejected, 1, "{report:?}");
    assert_eq!(
        li.store.pending_changes().unwrap(),
        0,
        "the outbox moved on"
    );
    let refused = li.store.sync_rejections().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].id, bad);
    assert_eq!(refused[0].code, "invalid");
    assert!(
        refused[0].reason.contains("item.title"),
        "{}",
        refused[0].reason
    );
    assert!(!refused[0].reason.contains("长长"), "no values in reasons");
    // The server never held the bad row: the phone's copy is gone; the good
    // rows on either side of it arrived.
    assert!(li.store.fetch_row(Table::Item, bad).unwrap().is_none());
    let on_server = server.held();
    assert!(on_server.fetch_row(Table::Item, before).unwrap().is_some());
    assert!(on_server.fetch_row(Table::Item, after).unwrap().is_some());
    assert!(on_server.fetch_row(Table::Item, bad).unwrap().is_none());

    // The phone keeps syncing: a later post goes through.
    let later = li.store.post_item(item("书架")).unwrap();
    let report = li.client.sync().await.unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    assert!(server
        .held()
        .fetch_row(Table::Item, later)
        .unwrap()
        .is_some());
}

/// A row as a newer app version would write it: set `column` to `value`
/// on a copy of `row`'s state.
fn with_value(row: &RowChange, column: &str, value: CellOp) -> RowChange {
    let mut row = row.clone();
    for cell in &mut row.cells {
        if cell.column == column {
            cell.op = value.clone();
        }
    }
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_from_a_newer_version_is_kept_shown_with_a_fallback_label_and_never_blocks_a_page()
{
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let li = server.phone(Role::Resident, "fushi");
    let st = staff.store.post_station(station("福石驿站")).unwrap();
    let bike = li.store.post_item(item("儿童自行车")).unwrap();
    staff.client.sync().await.unwrap();
    li.client.sync().await.unwrap();

    // The server (upgraded) receives rows with codes this phone's version
    // has never heard of: a new item category, a new station kind and a new
    // amenity. They reach the server's store as a newer phone's push would.
    let store = server.held();
    let new_item = with_value(
        &store.row_state(Table::Item, bike).unwrap().unwrap(),
        "category",
        CellOp::Set("e_bike_parts".into()),
    );
    let stamp = Stamp {
        clock: Hlc::new(store.now_ms(), 0),
        site: SiteId(Uuid::now_v7()),
    };
    let mut new_station = with_value(
        &store.row_state(Table::Station, st).unwrap().unwrap(),
        "kind",
        CellOp::Set("heat_shelter".into()),
    );
    new_station.cells.push(Cell {
        column: "amenities".into(),
        op: CellOp::Add("misting_fan".into()),
        stamp,
    });
    // Re-stamp the edited cells so they win.
    let newer = |mut row: RowChange, cols: &[&str]| {
        for cell in &mut row.cells {
            if cols.contains(&cell.column.as_str()) {
                cell.stamp = stamp;
            }
        }
        row
    };
    let new_item = newer(new_item, &["category"]);
    let new_station = newer(new_station, &["kind", "amenities"]);
    server
        .storage
        .apply_trusted(&[new_item, new_station])
        .unwrap();
    // And a good row in the same pages.
    let lamp = staff.store.post_item(item("旧台灯")).unwrap();
    staff.client.sync().await.unwrap();

    // The old phone pulls: nothing blocks, the unknown codes are kept.
    let report = li.client.sync().await.unwrap();
    assert!(!report.more, "{report:?}");
    assert!(
        li.store.item(lamp).is_ok(),
        "the good row of the page arrived"
    );
    let got = li.store.item(bike).unwrap();
    assert_eq!(got.category, "e_bike_parts");
    let s = li.store.station(st).unwrap();
    assert_eq!(s.kind, "heat_shelter");
    assert!(
        s.amenities.contains(&"misting_fan".to_string()),
        "{:?}",
        s.amenities
    );
    assert_eq!(li.store.unreadable_count().unwrap(), 0);
    // … and shown with the fallback label.
    assert_eq!(
        catalogue::label(catalogue::ITEM_CATEGORIES, &got.category),
        (catalogue::FALLBACK_ZH, catalogue::FALLBACK_EN)
    );
    assert_eq!(
        catalogue::label(catalogue::ITEM_CATEGORIES, "kids"),
        ("儿童用品", "Children's things")
    );
    // The phone's own writes keep to its catalogue.
    let mut mine = item("旧书");
    mine.category = "e_bike_parts".into();
    assert!(li.store.post_item(mine).is_err());
}
