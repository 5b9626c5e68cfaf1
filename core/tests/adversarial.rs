//! The server's word against hostile phones, as a property: a server store
//! holding random state receives random batches from random actors — any
//! table, any column (twice, too), every op, clocks far ahead and behind,
//! replays of other users' changes — with quarantine releases and token
//! revocations in between. After every step the invariants are checked on
//! the resulting state, not on the input:
//!
//! - owner, community and creation time never change after creation, and
//!   records never change at all (so no row moves between communities);
//! - a new row names its creator (owner, requester, author) and, but for
//!   admins and station records, the creator's community; stations are
//!   created by grid staff of their community;
//! - a resident's listing changes only by that resident, by an admin, or in
//!   `hidden` by grid staff of its community; stations only by their
//!   community's grid staff (or an admin);
//! - no held change of a revoked user is ever applied;
//! - sets stay within their limits.
//!
//! Cases: 32 in CI (each a seeded community of about 36 rows, then up to 32
//! random steps; a few seconds). `PROPTEST_CASES=5000` was run once (390 s
//! on the shared 2-core machine, debug build): passed.

mod common;
use common::T0;
use fushi_core::crdt::{Cell, CellOp, Hlc, ManualTime, RowChange, SiteId, Stamp, Value};
use fushi_core::model::tables::{Check, Rule, Table, TableKind, Ty, TABLES};
use fushi_core::model::RowData;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{Credentials, Pusher, SCHEMA_VERSION};
use fushi_core::{Store, StoreConfig, StoreRole};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const HOUR: i64 = 60 * 60 * 1000;
const DAY: i64 = 24 * HOUR;

fn actors() -> Vec<Actor> {
    let a = |n: u128, role, community: &str| Actor {
        user: Uuid::from_u128(0x0198_0000_0000_7000_8000_0000_0000_0000 + n),
        role,
        community: community.into(),
    };
    vec![
        a(0, Role::Resident, "fushi"),
        a(1, Role::Resident, "fushi"),
        a(2, Role::Resident, "cuiwei"),
        a(3, Role::GridStaff, "fushi"),
        a(4, Role::GridStaff, "cuiwei"),
        a(5, Role::Admin, "fushi"),
    ]
}

/// Tokens by index; revoked ones stand for nobody.
struct Tokens {
    actors: Vec<Actor>,
    revoked: Mutex<HashSet<usize>>,
}

impl Credentials for Tokens {
    fn current(&self, key: &[u8]) -> fushi_core::Result<Option<Actor>> {
        let i = key.first().copied().unwrap_or(u8::MAX) as usize;
        let revoked = self.revoked.lock().unwrap().contains(&i);
        Ok(self.actors.get(i).filter(|_| !revoked).cloned())
    }
}

/// A cell as drawn: column, value pick, clock kind, site.
#[derive(Clone, Debug)]
struct CellPick {
    column: usize,
    value: usize,
    clock: u8,
    site: u8,
    remove: bool,
}

#[derive(Clone, Debug)]
struct ChangePick {
    table: usize,
    target: usize,
    cells: Vec<CellPick>,
}

#[derive(Clone, Debug)]
enum Step {
    /// A hand-made batch.
    Push(usize, Vec<ChangePick>),
    /// A well-formed creation by its own writer (the state grows).
    Honest(usize, usize, usize),
    /// Someone pushes a change another user pushed earlier.
    Replay(usize, usize),
    /// Time passes (up to two days) and held changes are released.
    Advance(i64),
    /// A user's token is revoked.
    Revoke(usize),
    /// The owner of a listing edits it (any clock, no fixed fields):
    /// accepted, held, released or dropped as the rules say.
    Own(ChangePick),
}

fn cell_pick() -> impl Strategy<Value = CellPick> {
    (0usize..32, 0usize..64, 0u8..16, 0u8..3, any::<bool>()).prop_map(
        |(column, value, clock, site, remove)| CellPick {
            column,
            value,
            clock,
            site,
            remove,
        },
    )
}

fn change_pick() -> impl Strategy<Value = ChangePick> {
    (
        0usize..TABLES.len(),
        0usize..64,
        prop::collection::vec(cell_pick(), 0..7),
    )
        .prop_map(|(table, target, cells)| ChangePick {
            table,
            target,
            cells,
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0usize..6, prop::collection::vec(change_pick(), 1..4)).prop_map(|(a, c)| Step::Push(a, c)),
        4 => (0usize..6, 0usize..TABLES.len(), 0usize..64).prop_map(|(a, k, t)| Step::Honest(a, k, t)),
        2 => (0usize..6, 0usize..64).prop_map(|(a, k)| Step::Replay(a, k)),
        2 => (0i64..(2 * DAY)).prop_map(Step::Advance),
        1 => (0usize..6).prop_map(Step::Revoke),
        4 => change_pick().prop_map(Step::Own),
    ]
}

/// The world of one case: the server store, its clock and tokens, and what
/// the test remembers.
struct World {
    store: Store,
    time: Arc<ManualTime>,
    tokens: Tokens,
    /// Every row id seen (targets for hand-made changes), and the users.
    ids: Vec<Uuid>,
    /// Changes pushed and accepted, by whom.
    accepted: Vec<(usize, RowChange)>,
    /// Rows with a change held for their clock, and who pushed it.
    held: Vec<(Uuid, usize)>,
    /// Steps that changed the state (to see the test bites).
    changed_steps: usize,
    /// The fixed fields of every row when first seen.
    born: HashMap<(Table, Uuid), RowData>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let time = ManualTime::new(T0);
        let store = Store::open_with(
            dir.path().join("server.db"),
            time.clone(),
            StoreConfig {
                role: StoreRole::Server,
                sequence_remote: true,
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let actors = actors();
        let ids = actors.iter().map(|a| a.user).collect();
        World {
            store,
            time,
            tokens: Tokens {
                actors,
                revoked: Mutex::new(HashSet::new()),
            },
            ids,
            accepted: Vec::new(),
            held: Vec::new(),
            changed_steps: 0,
            born: HashMap::new(),
            _dir: dir,
        }
    }

    fn now(&self) -> i64 {
        use fushi_core::crdt::TimeSource;
        self.time.now_ms()
    }

    fn clock(&self, kind: u8) -> Hlc {
        let now = self.now();
        match kind {
            0..=9 => Hlc::new(now + i64::from(kind), 0),
            10 => Hlc::new(now - HOUR, 0),
            11 => Hlc::new(now + 10 * 60 * 1000, 0), // held
            12 => Hlc::new(now + 3 * HOUR, 0),       // held
            13 => Hlc::new(now + 2 * DAY, 0),        // refused
            14 => Hlc::new(1_500_000_000_000, 0),    // 2017: refused
            _ => Hlc(u64::MAX),                      // the year 10889
        }
    }

    fn value(&self, table: Table, column: usize, k: usize, actor: &Actor) -> Value {
        let col = table.def().columns[column];
        let pick = |n: usize| k % n.max(1);
        match col.check {
            Check::Ref(of) if k % 4 != 3 => {
                // Mostly a row of the table the column names.
                let rows: Vec<Uuid> = self
                    .born
                    .keys()
                    .filter(|(t, _)| *t == of)
                    .map(|(_, id)| *id)
                    .collect();
                let id = if rows.is_empty() {
                    self.ids[pick(self.ids.len())]
                } else {
                    let mut rows = rows;
                    rows.sort();
                    rows[pick(rows.len())]
                };
                Value::Text(id.to_string())
            }
            Check::Uuid | Check::Ref(_) => {
                if k % 3 == 0 {
                    Value::Text(actor.user.to_string())
                } else {
                    Value::Text(self.ids[pick(self.ids.len())].to_string())
                }
            }
            Check::Community => Value::from(["fushi", "cuiwei"][pick(2)]),
            Check::Time => Value::Int(self.now() + [0, -3 * DAY, HOUR, 40 * DAY][pick(4)]),
            Check::Year => Value::Int([2026, 2027, 1800][pick(3)]),
            Check::Words(list) => Value::from(list[pick(list.len())]),
            Check::OneOf(list) => Value::from(list[pick(list.len())].code),
            Check::Latitude => Value::Real(22.25),
            Check::Longitude => Value::Real(113.52),
            Check::MaxChars(_) if col.rule == Rule::Set => Value::Text(format!("p{}", pick(14))),
            Check::MaxChars(_) => Value::from(["旧书", "已被别人领走", "电话 138…"][pick(3)]),
            Check::None => match col.ty {
                Ty::Bool => Value::Int((k % 2) as i64),
                _ => Value::Int(k as i64),
            },
        }
    }

    /// A change as a hostile phone might send it: for a new row (every
    /// record, and a quarter of the listings) a well-formed creation by
    /// `actor`, then each picked cell put over it (a column given twice in
    /// one change now and then); for an existing row just the picked cells.
    fn build(&self, pick: &ChangePick, actor: &Actor) -> RowChange {
        let table = TABLES[pick.table].table;
        let def = table.def();
        let fresh = def.kind == TableKind::Record || pick.target % 4 == 0;
        let same: Vec<Uuid> = {
            let mut v: Vec<Uuid> = self
                .born
                .keys()
                .filter(|(t, _)| *t == table)
                .map(|(_, id)| *id)
                .collect();
            v.sort();
            v
        };
        let id = if fresh {
            Uuid::now_v7()
        } else if !same.is_empty() && pick.target % 8 != 1 {
            same[pick.target % same.len()]
        } else {
            self.ids[pick.target % self.ids.len()]
        };
        let twice = pick.target % 9 == 0;
        let base = Stamp {
            clock: self.clock(pick.cells.first().map_or(0, |c| c.clock % 10)),
            site: SiteId(Uuid::from_u128(0xfeed)),
        };
        let record_clock = self.clock(pick.cells.first().map_or(0, |c| c.clock));
        let mut cells: Vec<Cell> = Vec::new();
        if fresh {
            for (i, col) in def.columns.iter().enumerate() {
                let v = match col.name {
                    "owner" | "requester" | "by_user" => actor.user.to_string().into(),
                    "community" => actor.community.as_str().into(),
                    "created_at" => Value::Int(base.clock.wall_ms()),
                    "deleted" => Value::Int(0),
                    _ if col.required => self.value(table, i, pick.target + i, actor),
                    _ => continue,
                };
                cells.push(Cell {
                    column: col.name.into(),
                    op: CellOp::Set(v),
                    stamp: base,
                });
            }
        }
        for c in &pick.cells {
            let column = c.column % def.columns.len();
            let col = def.columns[column];
            let stamp = Stamp {
                clock: self.clock(c.clock),
                site: SiteId(Uuid::from_u128(u128::from(c.site) + 1)),
            };
            let v = self.value(table, column, c.value, actor);
            let op = match (col.rule, c.remove, v) {
                (Rule::Set, false, Value::Text(e)) => CellOp::Add(e),
                (Rule::Set, true, Value::Text(e)) => CellOp::Remove(e),
                (_, _, v) => CellOp::Set(v),
            };
            let cell = Cell {
                column: col.name.into(),
                op,
                stamp,
            };
            match cells.iter_mut().find(|x| x.column == col.name) {
                Some(x) if col.rule != Rule::Set && !twice => *x = cell,
                _ => cells.push(cell),
            }
        }
        if def.kind == TableKind::Record {
            for c in &mut cells {
                c.stamp = Stamp {
                    clock: record_clock,
                    site: base.site,
                };
            }
        }
        RowChange {
            table: def.name.into(),
            id,
            cells,
        }
    }

    /// A well-formed creation in `table` by `actor`.
    fn honest(&self, actor: &Actor, table: usize, target: usize) -> RowChange {
        let pick = ChangePick {
            table,
            target: target * 36,
            cells: Vec::new(),
        };
        self.build(&pick, actor)
    }

    fn push(&mut self, who: usize, changes: &[RowChange]) {
        let pusher = Pusher {
            actor: self.tokens.actors[who].clone(),
            key: vec![who as u8],
        };
        if self.tokens.revoked.lock().unwrap().contains(&who) {
            return; // the server answers 401 before any of it is read
        }
        match self
            .store
            .apply_pushed(&pusher, changes, &self.tokens, SCHEMA_VERSION)
        {
            Ok((report, rejections)) => {
                if std::env::var_os("ADVERSARIAL_TRACE").is_some() {
                    eprintln!(
                        "push by {who}: {:?}",
                        rejections
                            .iter()
                            .map(|r| r.code.as_str())
                            .collect::<Vec<_>>()
                    );
                }
                let refused: HashSet<usize> = rejections.iter().map(|r| r.index).collect();
                for (i, c) in changes.iter().enumerate() {
                    if !refused.contains(&i) {
                        self.accepted.push((who, c.clone()));
                        if report.quarantined > 0 {
                            self.held.push((c.id, who));
                        }
                    }
                }
            }
            Err(fushi_core::Error::Invalid { field, reason }) => {
                if std::env::var_os("ADVERSARIAL_TRACE").is_some() {
                    eprintln!("push by {who}: invalid {field}: {reason}");
                }
            }
            Err(e) => panic!("a hostile batch broke the server: {e}"),
        }
        for c in changes {
            if !self.ids.contains(&c.id) {
                self.ids.push(c.id);
            }
        }
    }
}

fn can_moderate(a: &Actor, community: &str) -> bool {
    a.role == Role::Admin || (a.role == Role::GridStaff && a.community == community)
}

/// Who may have made `after` out of `before` (`None`: created).
fn justified(a: &Actor, before: Option<&RowData>, after: &RowData) -> Result<(), String> {
    let def = after.table.def();
    let community = after.text_or_empty("community");
    let admin = a.role == Role::Admin;
    match before {
        None => {
            let self_field = ["owner", "requester", "by_user"]
                .into_iter()
                .find(|c| def.column_index(c).is_some());
            if let Some(f) = self_field {
                if after.uuid(f) != Some(a.user) {
                    return Err(format!("{} created for someone else", def.name));
                }
            }
            let city = matches!(after.table, Table::StationReport | Table::StationCheckin);
            if !city && !admin && community != a.community {
                return Err(format!("{} created in another community", def.name));
            }
            if after.table == Table::Station && !can_moderate(a, &community) {
                return Err("station created by a non-staff".into());
            }
            Ok(())
        }
        Some(b) => {
            for (i, col) in def.columns.iter().enumerate() {
                if b.values[i] == after.values[i] {
                    continue;
                }
                // `hidden` is moderation; stations are staff's.
                let ok = if col.name == "hidden" || after.table == Table::Station {
                    can_moderate(a, &community)
                } else {
                    admin || after.uuid("owner") == Some(a.user)
                };
                if !ok {
                    return Err(format!(
                        "{}.{} changed by a {:?}",
                        def.name, col.name, a.role
                    ));
                }
            }
            Ok(())
        }
    }
}

fn check_invariants(
    w: &mut World,
    before: &[RowData],
    after: &[RowData],
    by: &dyn Fn(Uuid) -> Vec<usize>,
) -> Result<(), TestCaseError> {
    let before: HashMap<(Table, Uuid), &RowData> =
        before.iter().map(|r| ((r.table, r.id), r)).collect();
    let revoked = w.tokens.revoked.lock().unwrap().clone();
    for row in after {
        let key = (row.table, row.id);
        let def = row.table.def();
        // Fixed fields and records stay as born.
        if let Some(born) = w.born.get(&key) {
            for (i, col) in def.columns.iter().enumerate() {
                let fixed = col.rule == Rule::Immutable || def.kind == TableKind::Record;
                prop_assert!(
                    !fixed || born.values[i] == row.values[i],
                    "{}.{} changed after creation",
                    def.name,
                    col.name
                );
            }
        } else {
            w.born.insert(key, row.clone());
        }
        for col in def.columns {
            if let Some(limit) = def.set_limit(col.name) {
                prop_assert!(
                    row.set(col.name).len() <= limit,
                    "{} over its limit",
                    col.name
                );
            }
        }
        let prev = before.get(&key).copied();
        if prev == Some(row) {
            continue;
        }
        // Someone who may (and whose token is not revoked) did it.
        let who: Vec<usize> = by(row.id)
            .into_iter()
            .filter(|i| !revoked.contains(i))
            .collect();
        let why: Vec<String> = who
            .iter()
            .filter_map(|i| justified(&w.tokens.actors[*i], prev, row).err())
            .collect();
        prop_assert!(
            who.iter()
                .any(|i| justified(&w.tokens.actors[*i], prev, row).is_ok()),
            "unjustified change: {:?} (by {:?})",
            why,
            who
        );
    }
    for key in before.keys() {
        prop_assert!(
            after.iter().any(|r| (r.table, r.id) == *key),
            "a row disappeared"
        );
    }
    Ok(())
}

/// A community's life before the attacks: every user posts one listing of
/// each kind (residents' stations are refused), then requests, check-ins,
/// reports and sessions about them.
fn seed() -> Vec<Step> {
    let mut steps = Vec::new();
    for table in 0..TABLES.len() {
        for who in 0..6 {
            steps.push(Step::Honest(who, table, who + 1));
        }
    }
    steps
}

fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let mut w = World::new();
    for step in seed().into_iter().chain(steps) {
        let before = w.store.snapshot().unwrap();
        // Who may have changed a row in this step.
        let mut by: Vec<usize> = Vec::new();
        let mut released = false;
        match step {
            Step::Push(who, picks) => {
                let actor = w.tokens.actors[who].clone();
                let changes: Vec<RowChange> = picks.iter().map(|p| w.build(p, &actor)).collect();
                w.push(who, &changes);
                by.push(who);
            }
            Step::Honest(who, kind, target) => {
                let actor = w.tokens.actors[who].clone();
                let change = w.honest(&actor, kind, target);
                w.push(who, &[change]);
                by.push(who);
            }
            Step::Replay(who, k) => {
                if !w.accepted.is_empty() {
                    let (_, change) = w.accepted[k % w.accepted.len()].clone();
                    w.push(who, &[change]);
                }
                by.push(who);
            }
            Step::Advance(ms) => {
                w.time.advance(ms);
                w.store.housekeeping(&w.tokens).unwrap();
                released = true;
            }
            Step::Revoke(who) => {
                w.tokens.revoked.lock().unwrap().insert(who);
            }
            Step::Own(mut pick) => {
                pick.table %= 4; // the listings
                if pick.target % 4 == 0 {
                    pick.target += 1;
                }
                let def = TABLES[pick.table];
                pick.cells
                    .retain(|c| def.columns[c.column % def.columns.len()].rule != Rule::Immutable);
                let probe = w.build(&pick, &w.tokens.actors[0].clone());
                let owner = w
                    .born
                    .get(&(def.table, probe.id))
                    .and_then(|r| r.uuid("owner"))
                    .and_then(|u| w.tokens.actors.iter().position(|a| a.user == u));
                if let (Some(who), false) = (owner, probe.cells.is_empty()) {
                    let actor = w.tokens.actors[who].clone();
                    let change = w.build(&pick, &actor);
                    w.push(who, &[change]);
                    by.push(who);
                }
            }
        }
        let after = w.store.snapshot().unwrap();
        if after != before {
            w.changed_steps += 1;
        }
        if released {
            // A release: each changed row by one of the users whose held
            // change named it.
            let held = w.held.clone();
            let by_row = move |id: Uuid| -> Vec<usize> {
                held.iter().filter(|h| h.0 == id).map(|h| h.1).collect()
            };
            check_invariants(&mut w, &before, &after, &by_row)?;
        } else {
            check_invariants(&mut w, &before, &after, &move |_| by.clone())?;
        }
    }
    if std::env::var_os("ADVERSARIAL_STATS").is_some() {
        eprintln!(
            "rows {} accepted {} held {} state-changing steps {} drops {}",
            w.born.len(),
            w.accepted.len(),
            w.held.len(),
            w.changed_steps,
            w.store.quarantine_drops().unwrap().len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_batches_never_break_the_servers_invariants(
        steps in prop::collection::vec(step(), 1..32)
    ) {
        run(steps)?;
    }
}

/// The attack of the issue, by hand: a column named twice to take a
/// neighbour's item.
#[test]
fn a_column_named_twice_is_refused_for_that_row_and_nothing_of_it_is_applied() {
    let mut w = World::new();
    let victim = w.tokens.actors[0].clone();
    let item = w.honest(&victim, 0, 0);
    w.push(0, std::slice::from_ref(&item));
    let me = w.tokens.actors[1].user.to_string();
    let stamp = |n: u16| Stamp {
        clock: Hlc::new(w.now(), n),
        site: SiteId(Uuid::from_u128(9)),
    };
    let takeover = RowChange {
        table: "item".into(),
        id: item.id,
        cells: vec![
            Cell {
                column: "owner".into(),
                op: CellOp::Set(victim.user.to_string().into()),
                stamp: stamp(0),
            },
            Cell {
                column: "owner".into(),
                op: CellOp::Set(me.into()),
                stamp: stamp(1),
            },
        ],
    };
    let pusher = Pusher {
        actor: w.tokens.actors[1].clone(),
        key: vec![1],
    };
    // The row is refused (code `invalid`, naming the column), the batch is
    // not failed, and nothing of the row is applied.
    let (_, refused) = w
        .store
        .apply_pushed(&pusher, &[takeover], &w.tokens, SCHEMA_VERSION)
        .unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, "invalid");
    assert!(
        refused[0].reason.contains("item.owner"),
        "{}",
        refused[0].reason
    );
    assert!(
        refused[0].reason.contains("given twice"),
        "{}",
        refused[0].reason
    );
    assert_eq!(
        w.store.item(item.id).unwrap().owner,
        victim.user,
        "still the victim's"
    );
}
