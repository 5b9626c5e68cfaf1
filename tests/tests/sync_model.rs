//! The sync protocol against the state it must produce, as a model-based
//! property test.
//!
//! Several phones (residents and a grid staff member, some of them new
//! installs of an existing account that join late) write at random — posts,
//! edits right after creation, coordinates with every digit, deletes, check-ins
//! and reports at stations just created, requests — and sync through the real
//! server (its SQLite storage, its HTTP handlers, the real sync client) with
//! tiny batches and pages, so that every push and pull spans several requests.
//! Syncs are cut off at any step: a request refused before the server sees
//! it, or an answer lost after the server applied it (the phone never learns
//! of it), pulls stop after a page or two so that other phones push in the
//! middle of a page-through, and phones restart from their files.
//!
//! After everything is delivered, every phone must hold exactly the server's
//! state of its scope, cell for cell with stamps (floats bit for bit), and
//! every write a phone confirmed must be on the server (or superseded by a
//! newer write or a delete). No push may be refused as malformed or for an
//! unknown target: those are the protocol losing a phone's own work.
//!
//! Cases: `PROPTEST_CASES` (CI runs the default below).

use fushi_core::crdt::{CellOp, RowChange, SystemClock, Value};
use fushi_core::model::{ItemEdit, NewItem, NewStation, StationEdit};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::Scope;
use fushi_core::sync::{RetryPolicy, SyncClient, SyncConfig};
use fushi_core::{Store, StoreConfig, Table};
use fushi_server::postgres::PgStorage;
use fushi_server::storage::SyncStorage;
use fushi_server::{router, tokens, AppState, SqliteStorage};
use fushi_tests::{pull_whole, store_whole, Backend};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const COMMUNITY: &str = "fushi";
/// Accounts: three residents and one grid staff member.
const ACCOUNTS: usize = 4;
const STAFF: usize = 3;

/// How the next sync of a phone is cut off.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// It runs to the end.
    None,
    /// Request number `n` (0-based) of the sync never reaches the server.
    Refuse(u8),
    /// Request number `n` is applied by the server, and its answer is lost.
    LoseAnswer(u8),
}

#[derive(Clone, Debug)]
enum Op {
    PostItem {
        phone: usize,
        lat: u32,
        lon: u32,
    },
    EditItem {
        phone: usize,
        pick: usize,
        lat: u32,
        lon: u32,
    },
    DeleteItem {
        phone: usize,
        pick: usize,
    },
    PostStation {
        phone: usize,
        lat: u32,
    },
    EditStation {
        phone: usize,
        pick: usize,
    },
    CheckIn {
        phone: usize,
        pick: usize,
    },
    Report {
        phone: usize,
        pick: usize,
    },
    RequestItem {
        phone: usize,
        pick: usize,
    },
    Sync {
        phone: usize,
        pages: Option<u8>,
        fault: Fault,
    },
    Restart {
        phone: usize,
    },
    NewInstall {
        account: usize,
    },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => Just(Fault::None),
        1 => (0u8..6).prop_map(Fault::Refuse),
        1 => (0u8..6).prop_map(Fault::LoseAnswer),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0usize..16;
    let pick = any::<usize>();
    prop_oneof![
        4 => (p.clone(), any::<u32>(), any::<u32>()).prop_map(|(phone, lat, lon)| Op::PostItem { phone, lat, lon }),
        4 => (p.clone(), pick, any::<u32>(), any::<u32>())
            .prop_map(|(phone, pick, lat, lon)| Op::EditItem { phone, pick, lat, lon }),
        1 => (p.clone(), pick).prop_map(|(phone, pick)| Op::DeleteItem { phone, pick }),
        2 => (p.clone(), any::<u32>()).prop_map(|(phone, lat)| Op::PostStation { phone, lat }),
        2 => (p.clone(), pick).prop_map(|(phone, pick)| Op::EditStation { phone, pick }),
        2 => (p.clone(), pick).prop_map(|(phone, pick)| Op::CheckIn { phone, pick }),
        1 => (p.clone(), pick).prop_map(|(phone, pick)| Op::Report { phone, pick }),
        1 => (p.clone(), pick).prop_map(|(phone, pick)| Op::RequestItem { phone, pick }),
        5 => (p.clone(), proptest::option::of(1u8..3), fault())
            .prop_map(|(phone, pages, fault)| Op::Sync { phone, pages, fault }),
        1 => p.clone().prop_map(|phone| Op::Restart { phone }),
        1 => (0..ACCOUNTS).prop_map(|account| Op::NewInstall { account }),
    ]
}

/// Coordinates around Zhuhai with every digit an f64 can carry.
fn coord(base: f64, bits: u32) -> f64 {
    base + f64::from(bits) / f64::from(u32::MAX) * 0.05 + 1e-13 * f64::from(bits % 7)
}

/// The fault shared with the server's middleware: which request to break
/// and how many requests of the current sync have been seen.
#[derive(Default)]
struct FaultState {
    fault: Option<Fault>,
    seen: u8,
}

async fn inject(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<FaultState>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let action = {
        let mut s = state.lock().unwrap();
        let n = s.seen;
        s.seen = s.seen.saturating_add(1);
        match s.fault {
            Some(Fault::Refuse(k)) if k == n => Some(true),
            Some(Fault::LoseAnswer(k)) if k == n => Some(false),
            _ => None,
        }
    };
    let unavailable =
        || axum::response::IntoResponse::into_response(axum::http::StatusCode::SERVICE_UNAVAILABLE);
    match action {
        Some(true) => unavailable(),
        Some(false) => {
            // The server does the work; the phone never hears of it.
            let _ = next.run(req).await;
            unavailable()
        }
        None => next.run(req).await,
    }
}

struct ModelPhone {
    account: usize,
    path: PathBuf,
    store: Arc<Store>,
    clock: Arc<SystemClock>,
    /// Local writes this phone confirmed: the row as it stood right after.
    confirmed: Vec<(Table, Uuid, RowChange)>,
}

struct World {
    rt: tokio::runtime::Runtime,
    storage: Arc<dyn SyncStorage>,
    url: String,
    faults: Arc<Mutex<FaultState>>,
    accounts: Vec<(Actor, String)>,
    phones: Vec<ModelPhone>,
    push_batch: usize,
    pull_limit: usize,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl World {
    fn new(push_batch: usize, pull_limit: usize, initial_phones: usize, backend: Backend) -> World {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let storage: Arc<dyn SyncStorage> = match backend {
            Backend::Sqlite => {
                Arc::new(SqliteStorage::open(&dir.path().join("server.db")).unwrap())
            }
            Backend::Postgres => {
                Arc::new(PgStorage::open(&fushi_tests::pg::fresh_database()).unwrap())
            }
        };
        let faults = Arc::new(Mutex::new(FaultState::default()));
        let app = router(AppState::new(storage.clone()))
            .layer(axum::middleware::from_fn_with_state(faults.clone(), inject));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let url = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
            format!("http://{addr}")
        });
        let accounts = (0..ACCOUNTS)
            .map(|i| {
                let actor = Actor {
                    user: Uuid::now_v7(),
                    role: if i == STAFF {
                        Role::GridStaff
                    } else {
                        Role::Resident
                    },
                    community: COMMUNITY.into(),
                };
                let token = tokens::generate().unwrap();
                storage.add_token(&tokens::hash(&token), &actor).unwrap();
                (actor, token)
            })
            .collect();
        let mut world = World {
            rt,
            storage,
            url,
            faults,
            accounts,
            phones: Vec::new(),
            push_batch,
            pull_limit,
            dir,
            stop: Some(stop),
        };
        for i in 0..initial_phones {
            world.install(i % ACCOUNTS);
        }
        world
    }

    fn open(path: &PathBuf, actor: &Actor) -> (Arc<Store>, Arc<SystemClock>) {
        let clock = SystemClock::new();
        let store =
            Arc::new(Store::open_with(path, clock.clone(), StoreConfig::default()).unwrap());
        store.set_actor(Some(actor.clone()));
        (store, clock)
    }

    fn install(&mut self, account: usize) {
        let path = self
            .dir
            .path()
            .join(format!("phone{}.db", self.phones.len()));
        let (store, clock) = World::open(&path, &self.accounts[account].0);
        self.phones.push(ModelPhone {
            account,
            path,
            store,
            clock,
            confirmed: Vec::new(),
        });
    }

    fn sync(&self, phone: usize, pages: Option<u8>, fault: Fault) -> bool {
        let p = &self.phones[phone];
        let mut config = SyncConfig::new(&self.url, self.accounts[p.account].1.clone());
        config.push_batch = self.push_batch;
        config.pull_limit = self.pull_limit;
        config.max_pull_pages = pages.map(usize::from);
        // Plain HTTP on loopback; and a cut-off request stays cut off (a
        // retry would heal the fault this model is about: retries are
        // tested in tests/retry.rs).
        config.allow_cleartext = true;
        config.retry = RetryPolicy::none();
        let client = SyncClient::new(p.store.clone(), config)
            .unwrap()
            .with_clock(p.clock.clone());
        {
            let mut f = self.faults.lock().unwrap();
            f.fault = match fault {
                Fault::None => None,
                other => Some(other),
            };
            f.seen = 0;
        }
        let out = self.rt.block_on(client.sync());
        self.faults.lock().unwrap().fault = None;
        match out {
            Ok(report) => !report.more,
            Err(fushi_core::Error::Server { .. }) if !matches!(fault, Fault::None) => false,
            Err(e) => panic!("sync failed without a fault: {e}"),
        }
    }

    /// Rows of `table` this phone holds (live ones).
    fn rows(&self, phone: usize, table: Table) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.phones[phone]
            .store
            .snapshot()
            .unwrap()
            .into_iter()
            .filter(|r| r.table == table && r.int("deleted") != Some(1))
            .map(|r| r.id)
            .collect();
        ids.sort();
        ids
    }

    fn pick(&self, phone: usize, table: Table, pick: usize) -> Option<Uuid> {
        let rows = self.rows(phone, table);
        (!rows.is_empty()).then(|| rows[pick % rows.len()])
    }

    /// Keep what a successful local write made, to check it arrives.
    fn confirm(&mut self, phone: usize, table: Table, id: Uuid) {
        let state = self.phones[phone].store.row_state(table, id).unwrap();
        if let Some(state) = state {
            self.phones[phone].confirmed.push((table, id, state));
        }
    }

    fn run(&mut self, op: &Op) {
        let n = self.phones.len();
        match *op {
            Op::PostItem { phone, lat, lon } => {
                let phone = phone % n;
                let id = self.phones[phone].store.post_item(NewItem {
                    title: format!("旧物 {lat}"),
                    description: Some("八成新，自取".into()),
                    category: "other".into(),
                    mode: "give".into(),
                    pickup_area: "福石花园".into(),
                    lat: Some(coord(22.25, lat)),
                    lon: Some(coord(113.52, lon)),
                    ..Default::default()
                });
                if let Ok(id) = id {
                    self.confirm(phone, Table::Item, id);
                }
            }
            Op::EditItem {
                phone,
                pick,
                lat,
                lon,
            } => {
                let phone = phone % n;
                let Some(id) = self.pick(phone, Table::Item, pick) else {
                    return;
                };
                let edit = ItemEdit {
                    title: Some(format!("改过的标题 {lon}")),
                    description: Some(format!("改过的描述 {lat}")),
                    ..Default::default()
                };
                if self.phones[phone].store.edit_item(id, edit).is_ok() {
                    self.confirm(phone, Table::Item, id);
                }
            }
            Op::DeleteItem { phone, pick } => {
                let phone = phone % n;
                let Some(id) = self.pick(phone, Table::Item, pick) else {
                    return;
                };
                if self.phones[phone]
                    .store
                    .delete_listing(Table::Item, id)
                    .is_ok()
                {
                    self.confirm(phone, Table::Item, id);
                }
            }
            Op::PostStation { phone, lat } => {
                let phone = phone % n;
                let id = self.phones[phone].store.post_station(NewStation {
                    name: format!("清凉驿站 {lat}"),
                    lat: coord(22.25, lat),
                    lon: coord(113.52, lat.rotate_left(7)),
                    kind: "cool_station".into(),
                    amenities: vec!["drinking_water".into()],
                    opening_hours: Some("Mo-Su 07:00-21:00".into()),
                    ..Default::default()
                });
                if let Ok(id) = id {
                    self.confirm(phone, Table::Station, id);
                }
            }
            Op::EditStation { phone, pick } => {
                let phone = phone % n;
                let Some(id) = self.pick(phone, Table::Station, pick) else {
                    return;
                };
                let edit = StationEdit {
                    note: Some(format!("今日补水 {pick}")),
                    lat: Some(coord(22.25, pick as u32)),
                    lon: Some(coord(113.52, (pick >> 32) as u32)),
                    add_amenities: vec!["seating".into()],
                    ..Default::default()
                };
                if self.phones[phone].store.edit_station(id, edit).is_ok() {
                    self.confirm(phone, Table::Station, id);
                }
            }
            Op::CheckIn { phone, pick } => {
                let phone = phone % n;
                let Some(st) = self.pick(phone, Table::Station, pick) else {
                    return;
                };
                if let Ok(id) = self.phones[phone].store.check_in(st) {
                    self.confirm(phone, Table::StationCheckin, id);
                }
            }
            Op::Report { phone, pick } => {
                let phone = phone % n;
                let Some(st) = self.pick(phone, Table::Station, pick) else {
                    return;
                };
                if let Ok(id) = self.phones[phone]
                    .store
                    .report_station(st, "no_water", None)
                {
                    self.confirm(phone, Table::StationReport, id);
                }
            }
            Op::RequestItem { phone, pick } => {
                let phone = phone % n;
                let Some(item) = self.pick(phone, Table::Item, pick) else {
                    return;
                };
                if let Ok(id) = self.phones[phone].store.request_item(item, None) {
                    self.confirm(phone, Table::ItemRequest, id);
                }
            }
            Op::Sync {
                phone,
                pages,
                fault,
            } => {
                self.sync(phone % n, pages, fault);
            }
            Op::Restart { phone } => {
                // The app is killed: every committed step is in the file.
                let phone = phone % n;
                let actor = self.accounts[self.phones[phone].account].0.clone();
                let p = &mut self.phones[phone];
                let (store, clock) = World::open(&p.path, &actor);
                p.store = store;
                p.clock = clock;
            }
            Op::NewInstall { account } => {
                if self.phones.len() < 8 {
                    self.install(account);
                }
            }
        }
    }

    /// Sync every phone until nothing moves: all outboxes empty, every
    /// page-through finished, twice over.
    fn settle(&self) {
        for _round in 0..3 {
            for p in 0..self.phones.len() {
                for _ in 0..100 {
                    if self.sync(p, None, Fault::None)
                        && self.phones[p].store.pending_changes().unwrap() == 0
                    {
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A state, cell by cell: (table, id) → sorted cells written as text, floats
/// by their bits.
type Canon = BTreeMap<(String, Uuid), Vec<String>>;

fn cell_text(cell: &fushi_core::crdt::Cell) -> String {
    let v = |v: &Value| match v {
        Value::Real(f) => format!("real:{:016x}", f.to_bits()),
        other => format!("{other:?}"),
    };
    let op = match &cell.op {
        CellOp::Set(x) => format!("set {}", v(x)),
        CellOp::Add(e) => format!("add {e}"),
        CellOp::Remove(e) => format!("remove {e}"),
    };
    format!(
        "{} {op} @{}/{}",
        cell.column, cell.stamp.clock.0, cell.stamp.site.0
    )
}

fn canon_of(changes: Vec<RowChange>) -> Canon {
    changes
        .into_iter()
        .map(|c| {
            let mut cells: Vec<String> = c.cells.iter().map(cell_text).collect();
            cells.sort();
            ((c.table, c.id), cells)
        })
        .collect()
}

fn canon(store: &Store, scope: &Scope) -> Canon {
    canon_of(store_whole(store, scope))
}

fn check(world: &World) {
    // Every row the server holds, whole (as a refusal's winning state).
    let whole: BTreeMap<(String, Uuid), RowChange> = pull_whole(&*world.storage, &Scope::default())
        .into_iter()
        .map(|c| ((c.table.clone(), c.id), c))
        .collect();
    for (i, p) in world.phones.iter().enumerate() {
        // What the server holds that this phone's user may read.
        let server = canon_of(pull_whole(
            &*world.storage,
            &Scope::for_reader(&world.accounts[p.account].0),
        ));
        let rejected: HashSet<(String, Uuid)> = p
            .store
            .sync_rejections()
            .unwrap()
            .into_iter()
            .map(|r| {
                assert!(
                    !matches!(r.code.as_str(), "malformed" | "unknown_target"),
                    "phone {i}: the server refused its own work as {}: {}",
                    r.code,
                    r.reason
                );
                (r.table, r.id)
            })
            .collect();
        let mine = canon(&p.store, &Scope::default());
        if mine != server {
            let missing_rows: Vec<_> = server.keys().filter(|k| !mine.contains_key(*k)).collect();
            let missing = missing_rows.len();
            eprintln!("phone {i} (account {}) misses {missing_rows:?}", p.account);
            let extra = mine.keys().filter(|k| !server.contains_key(*k)).count();
            let differ = server
                .iter()
                .filter(|(k, v)| mine.get(*k).is_some_and(|m| m != *v))
                .map(|(k, v)| format!("{k:?}\n server {v:?}\n phone  {:?}", mine[k]))
                .take(3)
                .collect::<Vec<_>>();
            panic!(
                "phone {i} differs from the server: {missing} rows missing, {extra} extra, {} differ, e.g. {differ:#?}",
                differ.len()
            );
        }
        for (table, id, state) in &p.confirmed {
            if rejected.contains(&(table.name().to_owned(), *id)) {
                continue;
            }
            let Some(cells) = server.get(&(table.name().to_owned(), *id)) else {
                panic!(
                    "phone {i}: a confirmed {} never reached the server",
                    table.name()
                );
            };
            let held = whole
                .get(&(table.name().to_owned(), *id))
                .expect("the server holds the row");
            let deleted = held
                .cells
                .iter()
                .any(|c| c.column == "deleted" && c.op == CellOp::Set(Value::Int(1)));
            for cell in &state.cells {
                let on_server = held.cells.iter().find(|c| {
                    c.column == cell.column
                        && match (&c.op, &cell.op) {
                            (CellOp::Set(_), CellOp::Set(_)) => true,
                            (a, b) => a == b,
                        }
                });
                let content = table
                    .def()
                    .columns
                    .iter()
                    .any(|c| c.name == cell.column && c.content);
                match on_server {
                    Some(s) => assert!(
                        s.stamp >= cell.stamp,
                        "phone {i}: {}.{} went back to an older write",
                        table.name(),
                        cell.column
                    ),
                    None => assert!(
                        (deleted && content)
                            || matches!(cell.op, CellOp::Remove(_) | CellOp::Add(_)),
                        "phone {i}: a confirmed {}.{} is not on the server ({} cells there)",
                        table.name(),
                        cell.column,
                        cells.len()
                    ),
                }
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn phones_converge_on_the_servers_state_through_any_interleaving(
        push_batch in 1usize..=5,
        pull_limit in 1usize..=5,
        initial in 2usize..=4,
        ops in proptest::collection::vec(op(), 10..70),
    ) {
        let mut world = World::new(push_batch, pull_limit, initial, Backend::from_env());
        for op in &ops {
            world.run(op);
        }
        world.settle();
        check(&world);
    }
}
