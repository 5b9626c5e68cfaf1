//! Small settings kept beside the data, in `crdt_state`: the site id, the
//! clock ceiling, and what sync keeps (the outbox mark, the pull cursor; see
//! `sync::state`). Written in the same transaction as the data they describe.

use super::Store;
use crate::Result;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension};

/// The value of a small setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateValue {
    /// A number.
    Int(i64),
    /// A text.
    Text(String),
}

impl StateValue {
    /// The number, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            StateValue::Int(i) => Some(*i),
            StateValue::Text(_) => None,
        }
    }

    /// The text, if this is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            StateValue::Text(t) => Some(t),
            StateValue::Int(_) => None,
        }
    }
}

impl ToSql for StateValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StateValue::Int(i) => ToSqlOutput::from(*i),
            StateValue::Text(t) => ToSqlOutput::from(t.as_str()),
        })
    }
}

impl FromSql for StateValue {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        match v {
            ValueRef::Integer(i) => Ok(StateValue::Int(i)),
            ValueRef::Text(t) => Ok(StateValue::Text(String::from_utf8_lossy(t).into_owned())),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl Store {
    /// Read a small setting (`None` if unset, or of a type no setting has).
    pub fn state_get(&self, key: &str) -> Result<Option<StateValue>> {
        self.read(|c| {
            let v: Option<rusqlite::types::Value> = c
                .query_row("SELECT value FROM crdt_state WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(match v {
                Some(rusqlite::types::Value::Integer(i)) => Some(StateValue::Int(i)),
                Some(rusqlite::types::Value::Text(t)) => Some(StateValue::Text(t)),
                _ => None,
            })
        })
    }

    /// Set small settings, in one transaction.
    pub fn set_state(&self, state: &[(&str, StateValue)]) -> Result<()> {
        self.write_tx(|ctx| set_state_in(ctx.tx, state))
    }
}

/// Set small settings inside the caller's transaction.
pub(crate) fn set_state_in(tx: &Connection, state: &[(&str, StateValue)]) -> Result<()> {
    for (k, v) in state {
        tx.prepare_cached("INSERT OR REPLACE INTO crdt_state (key, value) VALUES (?1, ?2)")?
            .execute(rusqlite::params![k, v])?;
    }
    Ok(())
}
