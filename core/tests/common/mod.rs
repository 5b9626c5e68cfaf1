//! Phones for tests: real SQLite files in a temp dir, each with its own clock.
#![allow(dead_code)]

use fushi_core::crdt::{ManualTime, RowChange};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{PageLimit, Position, Scope};
use fushi_core::{Store, StoreConfig};
use std::sync::Arc;
use uuid::Uuid;

/// 2026-07-15 10:00 Beijing time.
pub const T0: i64 = 1_784_080_800_000;

pub struct Phone {
    pub store: Store,
    pub time: Arc<ManualTime>,
    pub actor: Actor,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// The phone's SQLite file, for tests that write what the app never would.
    #[allow(dead_code)]
    pub fn path(&self) -> std::path::PathBuf {
        self._dir.path().join("phone.db")
    }
}

pub fn actor(role: Role) -> Actor {
    Actor {
        user: Uuid::new_v4(),
        role,
        community: "fushi".into(),
    }
}

pub fn phone(actor: &Actor) -> Phone {
    phone_at(actor, T0)
}

pub fn phone_at(actor: &Actor, now: i64) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let time = ManualTime::new(now);
    let store = Store::open_with(
        dir.path().join("phone.db"),
        time.clone(),
        StoreConfig::default(),
    )
    .unwrap();
    store.set_actor(Some(actor.clone()));
    Phone {
        store,
        time,
        actor: actor.clone(),
        _dir: dir,
    }
}

/// An idle item to give, with only what a resident must fill in.
pub fn give(title: &str) -> fushi_core::model::NewItem {
    fushi_core::model::NewItem {
        title: title.into(),
        category: "other".into(),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        ..Default::default()
    }
}

/// Every local change of `p` (its whole outbox).
pub fn outbox(p: &Phone) -> Vec<RowChange> {
    p.store
        .changes_since(
            Position::default(),
            PageLimit::rows(1_000_000),
            &Scope::default(),
        )
        .unwrap()
        .changes
}

/// Send `from`'s local changes to each of `to`.
pub fn deliver(from: &Phone, to: &[&Phone]) {
    let changes = outbox(from);
    for p in to {
        p.store.apply_remote(&changes).unwrap();
    }
}

/// Everyone sends everything to everyone.
pub fn sync_all(phones: &[&Phone]) {
    for a in phones {
        let others: Vec<&Phone> = phones
            .iter()
            .copied()
            .filter(|b| !std::ptr::eq(*a, *b))
            .collect();
        deliver(a, &others);
    }
}

pub fn assert_converged(phones: &[&Phone]) {
    let first = phones[0].store.snapshot().unwrap();
    for p in &phones[1..] {
        assert_eq!(p.store.snapshot().unwrap(), first);
    }
}
