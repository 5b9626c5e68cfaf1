//! Three servers over one PostgreSQL database, phones spread across them,
//! writing and syncing at the same time. Each server has its own
//! connection pool and listener, as a process of its own would; they share
//! only the database. At the end every phone holds exactly what the
//! database holds for its reader, every write a phone made is there once,
//! and the servers agree on the numbering.

use fushi_core::model::{ItemEdit, NewItem};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::Scope;
use fushi_core::Table;
use fushi_server::postgres::PgStorage;
use fushi_server::storage::SyncStorage;
use fushi_server::{tokens, Limits, RunningServer};
use fushi_tests::{pull_whole, store_whole, Phone};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

const SERVERS: usize = 3;
const ACCOUNTS: usize = 4;
const DEVICES: usize = 2;
const ROUNDS: usize = 4;
const POSTS: usize = 3;

/// Rows by key, each as its sorted cells.
fn keyed(changes: Vec<fushi_core::crdt::RowChange>) -> BTreeMap<(String, Uuid), String> {
    changes
        .into_iter()
        .map(|mut c| {
            c.cells.sort_by_key(|c| format!("{c:?}"));
            ((c.table.clone(), c.id), format!("{:?}", c.cells))
        })
        .collect()
}

fn everything(storage: &dyn SyncStorage, scope: &Scope) -> BTreeMap<(String, Uuid), String> {
    keyed(pull_whole(storage, scope))
}

fn held_by(phone: &Phone) -> BTreeMap<(String, Uuid), String> {
    keyed(store_whole(&phone.store, &Scope::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_on_one_database_lose_nothing_while_phones_race() {
    let url = fushi_tests::pg::fresh_database();
    let mut storages: Vec<Arc<PgStorage>> = Vec::new();
    let mut servers: Vec<RunningServer> = Vec::new();
    for _ in 0..SERVERS {
        let storage = Arc::new(PgStorage::open(&url).unwrap());
        let limits = Limits {
            rate_per_second: 10_000,
            rate_burst: 100_000,
            ..Limits::default()
        };
        servers.push(
            RunningServer::start_tls(storage.clone(), ([127, 0, 0, 1], 0).into(), limits, None)
                .await
                .unwrap(),
        );
        storages.push(storage);
    }
    // One epoch for the one database, whichever process made it.
    assert!(storages.iter().all(|s| s.epoch() == storages[0].epoch()));

    let mut phones = Vec::new();
    for a in 0..ACCOUNTS {
        let actor = Actor {
            user: Uuid::now_v7(),
            role: if a == 0 {
                Role::GridStaff
            } else {
                Role::Resident
            },
            community: "fushi".into(),
        };
        for d in 0..DEVICES {
            let token = tokens::generate().unwrap();
            // Tokens issued through one server work on every other.
            storages[(a + d) % SERVERS]
                .add_token(&tokens::hash(&token), &actor)
                .unwrap();
            let server = &servers[phones.len() % SERVERS];
            phones.push(Arc::new(Phone::new(
                &server.url(),
                actor.clone(),
                token,
                |c| c,
            )));
        }
    }

    // Every phone writes and syncs at once, round after round.
    let mut posted: Vec<Uuid> = Vec::new();
    for round in 0..ROUNDS {
        let mut tasks = Vec::new();
        for (i, phone) in phones.iter().enumerate() {
            let phone = phone.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for k in 0..POSTS {
                    let id = phone
                        .store
                        .post_item(NewItem {
                            title: format!("旧物 {round}-{i}-{k}"),
                            category: "other".into(),
                            mode: "give".into(),
                            pickup_area: "福石花园".into(),
                            ..Default::default()
                        })
                        .unwrap();
                    ids.push(id);
                }
                // Edit something of its own it already had.
                if let Some(own) = phone.store.snapshot().unwrap().into_iter().find(|r| {
                    r.table == Table::Item && r.text("owner") == Some(phone.actor.user.to_string())
                }) {
                    phone
                        .store
                        .edit_item(
                            own.id,
                            ItemEdit {
                                description: Some(format!("第 {round} 轮改过")),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                }
                phone.client.sync().await.unwrap();
                ids
            }));
        }
        for t in tasks {
            posted.extend(t.await.unwrap());
        }
    }
    // Settle: each phone syncs until it has nothing to send and nothing to
    // fetch, twice round.
    for _ in 0..2 {
        for phone in &phones {
            for _ in 0..20 {
                let report = phone.client.sync().await.unwrap();
                if !report.more && phone.store.pending_changes().unwrap() == 0 {
                    break;
                }
            }
        }
    }

    let whole = everything(&*storages[0], &Scope::default());
    for s in &storages[1..] {
        assert_eq!(everything(&**s, &Scope::default()), whole, "servers differ");
        assert_eq!(s.current_seq().unwrap(), storages[0].current_seq().unwrap());
    }
    let items: HashSet<Uuid> = whole
        .keys()
        .filter(|(t, _)| t == "item")
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(posted.len(), ACCOUNTS * DEVICES * ROUNDS * POSTS);
    for id in &posted {
        assert!(items.contains(id), "an acknowledged item is missing");
    }
    assert_eq!(
        items.len(),
        posted.len(),
        "items appeared that nobody posted"
    );
    for (i, phone) in phones.iter().enumerate() {
        let reader = everything(&*storages[i % SERVERS], &Scope::for_reader(&phone.actor));
        assert_eq!(
            held_by(phone),
            reader,
            "phone {i} differs from the database"
        );
    }
    for s in servers {
        s.stop().await.unwrap();
    }
}
