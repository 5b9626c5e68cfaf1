//! The conflict-free merge: clocks, change types and merge rules.
//!
//! Every write is a set of cell changes `(table, row id, column, value, clock,
//! site)`. Changes to one row travel together as a [`RowChange`], so the table
//! and row id are sent once per row, and an append-only record always arrives
//! whole.

pub mod hlc;
pub mod merge;
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

/// A cell value. In JSON: `null`, a number or a string (integers that fit
/// in 64 bits are `Int`, other numbers `Real`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// No value.
    Null,
    /// An integer (also booleans, as 0 and 1, and times in Unix milliseconds).
    Int(i64),
    /// A real number (coordinates).
    Real(f64),
    /// Text.
    Text(String),
}

// Written by hand rather than derived as `untagged`: the derived form
// buffers every value and tries each variant in turn, formatting an error
// message (with the text) for each miss, which made decoding a sync page
// several times slower. Accepts exactly what the untagged form accepted.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v).map_or(Value::Real(v as f64), Value::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Real(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Value {
    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if this is an integer or a real.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Int(i64::from(b))
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Value {
        Value::Real(r)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl rusqlite::types::FromSql for Value {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        use rusqlite::types::{FromSqlError, ValueRef};
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(
                std::str::from_utf8(t)
                    .map_err(|e| FromSqlError::Other(Box::new(e)))?
                    .to_owned(),
            ),
            ValueRef::Blob(_) => return Err(FromSqlError::InvalidType),
        })
    }
}

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
