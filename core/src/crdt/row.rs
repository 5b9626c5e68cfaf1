//! One row's replicated state as a value in memory, for a backend that keeps
//! each row whole (the server's PostgreSQL storage): its winning cells with
//! their stamps and sequence numbers, and every tag its sets have seen.
//!
//! The phones' SQLite tables keep the same state in columns (see
//! `store::apply`); both follow the rules of [`super::merge`], and a test
//! (`tests/row_state.rs`) applies the same random changes to both and checks
//! they render the same cells.

use super::merge::{lww_wins, tag_merge, tombstone_wins, TagState};
use super::{Cell, CellOp, RowChange, Stamp, Value};
use crate::model::tables::{Column, Rule, Table, TableKind, Ty};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A register's winning write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCell {
    /// The value.
    pub value: Value,
    /// Its stamp.
    pub stamp: Stamp,
    /// The sequence number of the change that made it win.
    pub seq: i64,
}

/// One tag of a set column: an add, and whether it was removed since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredTag {
    /// The element.
    pub elem: String,
    /// The add's stamp (the tag's name).
    pub stamp: Stamp,
    /// Removed by someone who had seen the add.
    pub removed: bool,
    /// The sequence number of the change that last changed it.
    pub seq: i64,
}

/// A row's state: registers by column name, tags by set column name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RowState {
    /// The winning write of each register column that has one.
    pub cells: BTreeMap<String, StoredCell>,
    /// The tags of each set column, in the order first seen.
    pub tags: BTreeMap<String, Vec<StoredTag>>,
}

/// The value a column holds before any write: 0 for flags and the
/// tombstone, null otherwise (as the phones' tables default it).
pub fn default_value(ty: Ty, rule: Rule) -> Value {
    if ty == Ty::Bool || rule == Rule::Tombstone {
        Value::Int(0)
    } else {
        Value::Null
    }
}

impl RowState {
    /// Whether the row holds nothing (it does not exist).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.tags.is_empty()
    }

    /// The sequence number of the row's latest change (0 for none).
    pub fn seq(&self) -> i64 {
        let cells = self.cells.values().map(|c| c.seq);
        let tags = self.tags.values().flatten().map(|t| t.seq);
        cells.chain(tags).max().unwrap_or(0)
    }

    /// A register's value (its default when never written).
    pub fn value(&self, col: &Column) -> Value {
        self.cells
            .get(col.name)
            .map_or_else(|| default_value(col.ty, col.rule), |c| c.value.clone())
    }

    /// A text register's value.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.cells.get(name).map(|c| &c.value) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Whether the listing is deleted.
    pub fn deleted(&self) -> bool {
        self.cells
            .get(crate::model::columns::DELETED)
            .is_some_and(|c| c.value.as_i64() == Some(1))
    }

    /// The row's community ('' for none).
    pub fn community(&self) -> &str {
        self.text("community").unwrap_or_default()
    }

    /// The present elements of a set column, sorted, each once.
    pub fn set(&self, column: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .tags
            .get(column)
            .into_iter()
            .flatten()
            .filter(|t| !t.removed)
            .map(|t| t.elem.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The present tags `(element, stamp)` of a set column.
    pub fn present_tags(&self, column: &str) -> Vec<(String, Stamp)> {
        self.tags
            .get(column)
            .into_iter()
            .flatten()
            .filter(|t| !t.removed)
            .map(|t| (t.elem.clone(), t.stamp))
            .collect()
    }

    /// Merge `change` (validated for `table`) into the row, numbering what
    /// it changes `seq`. Returns whether anything changed (if not, `seq` was
    /// not used). The rules are [`super::merge`]'s, applied as the phones
    /// apply them: the tombstone first (a delete erases the content and
    /// every tag), then registers by stamp, tags by their join; a record is
    /// written once, whole.
    pub fn merge(&mut self, table: Table, change: &RowChange, seq: i64) -> Result<bool> {
        let def = table.def();
        if def.kind == TableKind::Record {
            if !self.is_empty() {
                return Ok(false);
            }
            let Some(first) = change.cells.first() else {
                return Ok(false);
            };
            for col in def.columns {
                let value = change
                    .cells
                    .iter()
                    .find_map(|c| match (&c.op, c.column == col.name) {
                        (CellOp::Set(v), true) => Some(v.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| default_value(col.ty, col.rule));
                self.cells.insert(
                    col.name.to_owned(),
                    StoredCell {
                        value,
                        stamp: first.stamp,
                        seq,
                    },
                );
            }
            return Ok(true);
        }

        let mut changed = false;
        let tomb = def.tombstone().map(|i| def.columns[i].name);
        let mut deleted = self.deleted();
        for cell in change
            .cells
            .iter()
            .filter(|c| Some(c.column.as_str()) == tomb)
        {
            let CellOp::Set(v) = &cell.op else { continue };
            let del = v.as_i64() == Some(1);
            let cur = self.cells.get(&cell.column).map(|c| (deleted, c.stamp));
            if tombstone_wins((del, cell.stamp), cur) {
                if del && !deleted {
                    // The first delete erases the content and every tag.
                    for col in def.columns.iter().filter(|c| c.content) {
                        if let Some(c) = self.cells.get_mut(col.name) {
                            c.value = Value::Null;
                        }
                    }
                    self.tags.clear();
                }
                deleted |= del;
                self.cells.insert(
                    cell.column.clone(),
                    StoredCell {
                        value: Value::Int(i64::from(del)),
                        stamp: cell.stamp,
                        seq,
                    },
                );
                changed = true;
            }
        }
        for cell in &change.cells {
            let Some(idx) = def.column_index(&cell.column) else {
                continue;
            };
            let col = &def.columns[idx];
            if Some(col.name) == tomb || (deleted && col.content) {
                continue;
            }
            match (&cell.op, col.rule) {
                (CellOp::Set(v), Rule::Lww | Rule::Immutable) => {
                    let cur = self.cells.get(col.name).map(|c| c.stamp);
                    if lww_wins(cell.stamp, cur) {
                        self.cells.insert(
                            col.name.to_owned(),
                            StoredCell {
                                value: v.clone(),
                                stamp: cell.stamp,
                                seq,
                            },
                        );
                        changed = true;
                    }
                }
                (CellOp::Add(e) | CellOp::Remove(e), Rule::Set) => {
                    let incoming = if matches!(cell.op, CellOp::Add(_)) {
                        TagState::Present
                    } else {
                        TagState::Removed
                    };
                    let tags = self.tags.entry(col.name.to_owned()).or_default();
                    let found = tags
                        .iter_mut()
                        .find(|t| t.elem == *e && t.stamp == cell.stamp);
                    let cur = found.as_ref().map(|t| TagState::of_removed(t.removed));
                    let merged = tag_merge(cur, incoming);
                    if cur == Some(merged) {
                        continue;
                    }
                    let removed = merged == TagState::Removed;
                    match found {
                        Some(t) => {
                            t.removed = removed;
                            t.seq = seq;
                        }
                        None => tags.push(StoredTag {
                            elem: e.clone(),
                            stamp: cell.stamp,
                            removed,
                            seq,
                        }),
                    }
                    changed = true;
                }
                _ => {
                    return Err(Error::invalid(
                        format!("{}.{}", def.name, col.name),
                        "wrong operation for column",
                    ))
                }
            }
        }
        Ok(changed)
    }

    /// The row as a change: the cells numbered above `floor` (every cell
    /// for `floor` < 0, then without a set's removed tags), in the columns
    /// `keep` keeps, without the content columns when `hide_content` or
    /// deleted. `None` when that leaves no cell. The same cells the phones'
    /// tables give (`store::changes`).
    pub fn render(
        &self,
        table: Table,
        id: Uuid,
        floor: i64,
        hide_content: bool,
        keep: impl Fn(&Column) -> bool,
    ) -> Option<RowChange> {
        let def = table.def();
        let deleted = self.deleted();
        let mut cells = Vec::new();
        for col in def.columns {
            if !keep(col) || ((deleted || hide_content) && col.content) {
                continue;
            }
            if col.rule == Rule::Set {
                let mut tags: Vec<&StoredTag> = self
                    .tags
                    .get(col.name)
                    .into_iter()
                    .flatten()
                    .filter(|t| t.seq > floor && !(floor < 0 && t.removed))
                    .collect();
                tags.sort_by(|a, b| (&a.elem, a.stamp.clock).cmp(&(&b.elem, b.stamp.clock)));
                for t in tags {
                    cells.push(Cell {
                        column: col.name.to_owned(),
                        op: if t.removed {
                            CellOp::Remove(t.elem.clone())
                        } else {
                            CellOp::Add(t.elem.clone())
                        },
                        stamp: t.stamp,
                    });
                }
            } else if let Some(c) = self.cells.get(col.name).filter(|c| c.seq > floor) {
                cells.push(Cell {
                    column: col.name.to_owned(),
                    op: CellOp::Set(c.value.clone()),
                    stamp: c.stamp,
                });
            }
        }
        (!cells.is_empty()).then(|| RowChange {
            table: def.name.to_owned(),
            id,
            cells,
        })
    }

    /// The sequence number of a column's latest change, if it has one.
    pub fn column_seq(&self, column: &str) -> Option<i64> {
        let cell = self.cells.get(column).map(|c| c.seq);
        let tags = self.tags.get(column).into_iter().flatten().map(|t| t.seq);
        cell.into_iter().chain(tags).max()
    }
}
