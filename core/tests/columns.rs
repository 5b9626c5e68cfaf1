//! The model's records and the table definitions agree: every field a
//! listing record reads is a column of its table, and every column of the
//! table is read (column names are written once, in `model::columns`).

use fushi_core::model::{Item, Need, RowData, Skill, Station};
use fushi_core::Table;
use serde::Serialize;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The field names of a record, as serde names them (the Rust names).
fn fields<T: Serialize>(record: &T) -> BTreeSet<String> {
    match serde_json::to_value(record).unwrap() {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not a record: {other}"),
    }
}

fn columns(table: Table) -> BTreeSet<String> {
    table
        .def()
        .columns
        .iter()
        .map(|c| c.name.to_string())
        .collect()
}

/// An empty row of `table`: what a record reads from a row it knows nothing of.
fn empty(table: Table) -> RowData {
    RowData {
        id: Uuid::nil(),
        table,
        values: vec![fushi_core::crdt::Value::Null; table.def().columns.len()],
    }
}

#[test]
fn every_listing_record_reads_exactly_the_columns_of_its_table() {
    let cases: [(Table, BTreeSet<String>); 4] = [
        (Table::Item, fields(&Item::from(&empty(Table::Item)))),
        (
            Table::Station,
            fields(&Station::from(&empty(Table::Station))),
        ),
        (Table::Skill, fields(&Skill::from(&empty(Table::Skill)))),
        (Table::Need, fields(&Need::from(&empty(Table::Need)))),
    ];
    for (table, mut read) in cases {
        assert!(read.remove("id"), "{table:?}: the record carries its id");
        let cols = columns(table);
        let unknown: Vec<_> = read.difference(&cols).collect();
        let unread: Vec<_> = cols.difference(&read).collect();
        assert!(
            unknown.is_empty(),
            "{table:?} record fields that are no column: {unknown:?}"
        );
        assert!(
            unread.is_empty(),
            "{table:?} columns the record never reads: {unread:?}"
        );
    }
}

/// A row of `table` whose every column holds a value that names it, and the
/// JSON each record field must then show.
fn marked(table: Table) -> (RowData, Vec<(String, serde_json::Value)>) {
    use fushi_core::crdt::Value;
    use fushi_core::model::tables::{Check, Rule, Ty};
    let mut values = Vec::new();
    let mut expect = Vec::new();
    for (i, c) in table.def().columns.iter().enumerate() {
        let n = i as i64 + 2;
        let (v, json) = match (c.ty, c.rule, c.check) {
            (_, Rule::Set, _) => (
                Value::Text(format!("[\"{}\"]", c.name)),
                serde_json::json!([c.name]),
            ),
            (Ty::Text, _, Check::Uuid | Check::Ref(_)) => {
                let id = Uuid::from_u128(n as u128).to_string();
                (Value::Text(id.clone()), serde_json::json!(id))
            }
            (Ty::Text, _, _) => (Value::Text(c.name.into()), serde_json::json!(c.name)),
            (Ty::Int, _, _) => (Value::Int(n), serde_json::json!(n)),
            (Ty::Real, _, _) => (
                Value::Real(n as f64 + 0.5),
                serde_json::json!(n as f64 + 0.5),
            ),
            (Ty::Bool, _, _) => (Value::Int(1), serde_json::json!(true)),
        };
        values.push(v);
        expect.push((c.name.to_string(), json));
    }
    let row = RowData {
        id: Uuid::nil(),
        table,
        values,
    };
    (row, expect)
}

#[test]
fn every_record_field_shows_the_value_of_its_own_column() {
    fn check<T: Serialize>(table: Table, read: impl Fn(&RowData) -> T) {
        let (row, expect) = marked(table);
        let json = serde_json::to_value(read(&row)).unwrap();
        for (column, value) in expect {
            assert_eq!(json[&column], value, "{table:?}.{column}");
        }
    }
    check(Table::Item, |r| Item::from(r));
    check(Table::Station, |r| Station::from(r));
    check(Table::Skill, |r| Skill::from(r));
    check(Table::Need, |r| Need::from(r));
}

#[test]
fn column_names_are_unique_within_a_table_and_lower_snake_case() {
    for table in fushi_core::model::tables::TABLES.iter().map(|d| d.table) {
        let def = table.def();
        let names: BTreeSet<&str> = def.columns.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), def.columns.len(), "{table:?} repeats a column");
        for n in names {
            assert!(
                n.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{table:?}.{n}"
            );
        }
    }
}
