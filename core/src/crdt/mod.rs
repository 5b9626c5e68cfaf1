//! The conflict-free merge: clocks, change types and merge rules.
//!
//! Every write is a set of cell changes `(table, row id, column, value, clock,
//! site)`. Changes to one row travel together as a [`RowChange`], so the table
//! and row id are sent once per row, and an append-only record always arrives
//! whole.

pub mod hlc;
pub mod merge;
pub mod row;
pub mod rowclock;

pub use hlc::{Hlc, ManualTime, SystemClock, TimeSource};

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A replica's globally unique id. Inside a database sites are small integers;
/// on the wire and in tie-breaks the UUID is used, so every replica breaks a
/// tie the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SiteId(pub Uuid);

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The stamp of a write: ordered by clock, then site id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// When, by the writer's hybrid logical clock.
    pub clock: Hlc,
    /// Which replica wrote it.
    pub site: SiteId,
}

pub use crate::model::Value;

/// What a cell change does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellOp {
    /// Set a last-writer-wins register (or the tombstone, or a record field).
    Set(Value),
    /// Add an element to an add-wins set; the tag is the cell's stamp.
    Add(String),
    /// Remove the tag named by the cell's stamp from the element's tags.
    Remove(String),
}

/// One cell change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Column name.
    pub column: String,
    /// What to do.
    pub op: CellOp,
    /// The write's stamp (for `Remove`, the stamp of the add being removed).
    pub stamp: Stamp,
}

/// The changes to one row, sent together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowChange {
    /// Table name (`item`, `station`, …).
    pub table: String,
    /// The row's UUIDv7.
    pub id: Uuid,
    /// The cell changes, in any order.
    pub cells: Vec<Cell>,
}

impl RowChange {
    /// The rows this change refers to (its `Check::Ref` columns): the
    /// station of a check-in, the item and request of an outcome.
    pub fn references(&self) -> Vec<(crate::model::tables::Table, Uuid)> {
        use crate::model::tables::{Check, Table};
        let Some(def) = Table::from_name(&self.table).map(Table::def) else {
            return Vec::new();
        };
        self.cells
            .iter()
            .filter_map(|cell| {
                let col = def.columns.get(def.column_index(&cell.column)?)?;
                let Check::Ref(target) = col.check else {
                    return None;
                };
                match &cell.op {
                    CellOp::Set(Value::Text(s)) => Some((target, Uuid::parse_str(s).ok()?)),
                    _ => None,
                }
            })
            .collect()
    }

    /// The largest clock among the cells.
    pub fn max_clock(&self) -> Hlc {
        self.cells
            .iter()
            .map(|c| c.stamp.clock)
            .max()
            .unwrap_or(Hlc::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_from_json_as_the_untagged_form_did() {
        let v: Vec<Value> =
            serde_json::from_str(r#"[null, 3, -4, 2.5, "福石", 18446744073709551615, 1e3]"#)
                .unwrap();
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Int(3),
                Value::Int(-4),
                Value::Real(2.5),
                Value::Text("福石".into()),
                Value::Real(u64::MAX as f64),
                Value::Real(1000.0),
            ]
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"[null,3,-4,2.5,"福石",1.8446744073709552e+19,1000.0]"#
        );
        assert!(serde_json::from_str::<Value>("true").is_err());
        assert!(serde_json::from_str::<Value>("[1]").is_err());
        assert!(serde_json::from_str::<Value>("{}").is_err());
    }
}
