//! The two keepers of replicated state agree: the phones' SQLite tables
//! (`store::apply`, `store::changes`) and the whole-row state the server's
//! PostgreSQL storage keeps (`crdt::row::RowState`). Random streams of
//! changes — concurrent edits, ties, deletes, hides, set adds and removes,
//! duplicates, records — are applied to both in the same order; both must
//! number the same changes, and render the same cells, whole and above any
//! floor.

use fushi_core::crdt::row::RowState;
use fushi_core::crdt::{Cell, CellOp, Hlc, ManualTime, RowChange, SiteId, Stamp, Value};
use fushi_core::model::tables::Table;
use fushi_core::store::{validate_received, PageLimit, Position, Scope};
use fushi_core::{Store, StoreConfig, StoreRole};
use proptest::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

const NOW: i64 = 1_780_000_000_000;

fn site(i: u8) -> SiteId {
    SiteId(Uuid::from_u128(0x5175_0000 + u128::from(i)))
}

fn stamp(clock: u8, s: u8) -> Stamp {
    Stamp {
        clock: Hlc::new(NOW - 100_000 + i64::from(clock) * 10, 0),
        site: site(s),
    }
}

fn item_id(i: u8) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(i))
}

/// One cell of an item, from a small pool so that writes collide.
fn item_cell() -> impl Strategy<Value = Cell> {
    let st = (0u8..6, 0u8..3).prop_map(|(c, s)| stamp(c, s));
    let set = |col: &'static str, v: Value| Cell {
        column: col.into(),
        op: CellOp::Set(v),
        stamp: stamp(0, 0),
    };
    prop_oneof![
        (0u8..4).prop_map(move |n| set("title", Value::Text(format!("旧物 {n}")))),
        (0u8..4).prop_map(move |n| set("description", Value::Text(format!("说明 {n}")))),
        (0i64..2).prop_map(move |n| set("hidden", Value::Int(n))),
        (0i64..2).prop_map(move |n| set("deleted", Value::Int(n))),
        (0u8..3).prop_map(move |n| set("swap_for", Value::Text(format!("换 {n}")))),
        Just(set("community", Value::Text("fushi".into()))),
        Just(set("owner", Value::Text(Uuid::from_u128(7).to_string()))),
        (0u8..3).prop_map(|e| Cell {
            column: "tags".into(),
            op: CellOp::Add(format!("标签{e}")),
            stamp: stamp(0, 0),
        }),
        (0u8..3).prop_map(|e| Cell {
            column: "tags".into(),
            op: CellOp::Remove(format!("标签{e}")),
            stamp: stamp(0, 0),
        }),
    ]
    .prop_flat_map(move |cell| {
        st.clone().prop_map(move |s| Cell {
            stamp: s,
            ..cell.clone()
        })
    })
}

fn change() -> impl Strategy<Value = RowChange> {
    (0u8..3, proptest::collection::vec(item_cell(), 1..5)).prop_map(|(i, cells)| RowChange {
        table: "item".into(),
        id: item_id(i),
        cells,
    })
}

fn server_store(dir: &tempfile::TempDir) -> Store {
    Store::open_with(
        dir.path().join("s.db"),
        ManualTime::new(NOW),
        StoreConfig {
            role: StoreRole::Server,
            sequence_remote: true,
            record_window_ms: 0,
            ..StoreConfig::default()
        },
    )
    .unwrap()
}

/// What the SQLite store sends above `floor`, row by row.
fn sqlite_page(store: &Store, floor: i64) -> BTreeMap<Uuid, RowChange> {
    let page = store
        .changes_since(
            Position {
                floor,
                after: floor,
            },
            PageLimit {
                rows: 1_000,
                bytes: usize::MAX,
            },
            &Scope::default(),
        )
        .unwrap();
    assert!(!page.more);
    page.changes.into_iter().map(|c| (c.id, c)).collect()
}

/// What the whole-row states send above `floor`.
fn state_page(rows: &BTreeMap<Uuid, RowState>, floor: i64) -> BTreeMap<Uuid, RowChange> {
    rows.iter()
        .filter(|(_, r)| r.seq() > floor)
        .filter_map(|(id, r)| Some((*id, r.render(Table::Item, *id, floor, false, |_| true)?)))
        .collect()
}

fn sorted(mut c: RowChange) -> RowChange {
    c.cells.sort_by_key(|c| format!("{c:?}"));
    c
}

fn same(a: BTreeMap<Uuid, RowChange>, b: BTreeMap<Uuid, RowChange>) -> Result<(), TestCaseError> {
    let a: BTreeMap<_, _> = a.into_iter().map(|(k, v)| (k, sorted(v))).collect();
    let b: BTreeMap<_, _> = b.into_iter().map(|(k, v)| (k, sorted(v))).collect();
    prop_assert_eq!(a, b);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_rows_and_whole_row_states_number_and_render_alike(
        changes in proptest::collection::vec(change(), 1..30),
        cut in 0usize..30,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = server_store(&dir);
        let mut rows: BTreeMap<Uuid, RowState> = BTreeMap::new();
        let mut seq = 0i64;
        let mut floors = vec![0i64];
        for (i, change) in changes.iter().enumerate() {
            store.apply_remote(std::slice::from_ref(change)).unwrap();
            // What validation refuses (a column twice in one change) is
            // never merged: the server refuses it, a phone keeps it aside.
            if validate_received(change).is_err() {
                prop_assert_eq!(store.current_seq().unwrap(), seq);
                continue;
            }
            let row = rows.entry(change.id).or_default();
            if row.merge(Table::Item, change, seq + 1).unwrap() {
                seq += 1;
            }
            prop_assert_eq!(store.current_seq().unwrap(), seq, "numbered after change {}", i);
            if i == cut {
                floors.push(seq);
            }
        }
        // Whole rows, as a refusal's winning state sends them.
        for (id, row) in &rows {
            let mine = row.render(Table::Item, *id, -1, false, |_| true).map(sorted);
            let theirs = store.row_state(Table::Item, *id).unwrap().map(sorted);
            prop_assert_eq!(mine, theirs);
        }
        // Pages above the start and above a cut, as pulls send them.
        for floor in floors {
            same(state_page(&rows, floor), sqlite_page(&store, floor))?;
        }
    }
}
