//! Three real `fushi-server` processes on one PostgreSQL database; one is
//! killed (SIGKILL) while phones push through it. The other two keep
//! serving throughout, the killed one's phones finish through another, and
//! nothing a server acknowledged is lost or doubled.

use fushi_core::model::NewItem;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::Scope;
use fushi_server::postgres::PgStorage;
use fushi_server::storage::SyncStorage;
use fushi_server::tokens;
use fushi_tests::{pull_whole, Phone};
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use uuid::Uuid;

/// The `fushi-server` binary beside this test's (built if missing).
fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = dir.join("fushi-server");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-q", "-p", "fushi-server", "--bin", "fushi-server"])
            .status()
            .unwrap();
        assert!(ok.success(), "fushi-server could not be built");
    }
    bin
}

struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(database_url: &str) -> Process {
    let mut child = Command::new(server_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "10000",
            "--record-window-secs",
            "0",
            "--database-url",
            database_url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the server said {line:?}"))
        .to_owned();
    Process {
        child,
        url: format!("http://{addr}"),
    }
}

fn item(title: String) -> NewItem {
    NewItem {
        title,
        category: "other".into(),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        ..Default::default()
    }
}

/// Sync until nothing is left to send or fetch.
async fn settle(phone: &Phone) {
    for _ in 0..50 {
        let report = phone.client.sync().await.unwrap();
        if !report.more && phone.store.pending_changes().unwrap() == 0 {
            return;
        }
    }
    panic!("a phone did not settle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_push_loses_nothing_and_the_others_keep_serving() {
    let url = fushi_tests::pg::fresh_database();
    let admin = PgStorage::open(&url).unwrap();
    let mut procs: Vec<Process> = (0..3).map(|_| spawn(&url)).collect();

    let mut phones = Vec::new();
    for i in 0..6 {
        let actor = Actor {
            user: Uuid::now_v7(),
            role: Role::Resident,
            community: "fushi".into(),
        };
        let token = tokens::generate().unwrap();
        admin.add_token(&tokens::hash(&token), &actor).unwrap();
        let url = procs[i % 3].url.clone();
        phones.push(Arc::new(Phone::new(&url, actor, token, |mut c| {
            c.push_batch = 5;
            c
        })));
    }
    // Acknowledged before anything goes wrong.
    let mut posted: Vec<Uuid> = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        for k in 0..5 {
            posted.push(p.store.post_item(item(format!("旧物 {i}-{k}"))).unwrap());
        }
        settle(p).await;
    }

    // Many small pushes through every server; server 0 is killed during
    // them.
    for (i, p) in phones.iter().enumerate() {
        for k in 0..300 {
            posted.push(p.store.post_item(item(format!("闲置 {i}-{k}"))).unwrap());
        }
    }
    let mut tasks = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        let p = p.clone();
        tasks.push((
            i,
            tokio::spawn(async move { p.client.sync().await.map(|r| r.pushed) }),
        ));
    }
    // Killed once the pushes are well under way (60 changes numbered).
    let start = admin.current_seq().unwrap();
    while admin.current_seq().unwrap() < start + 60 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &procs[0].child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = procs[0].child.wait();
    let mut cut_off = 0;
    for (i, task) in tasks {
        let result = task.await.unwrap();
        if i % 3 != 0 {
            // The other servers serve on.
            assert!(
                result.is_ok(),
                "phone {i} on a live server failed: {result:?}"
            );
        } else if result.is_err() {
            cut_off += 1;
        }
    }
    // The kill did land in the middle of the killed server's pushes.
    assert!(
        cut_off > 0,
        "the killed server's phones had finished already"
    );
    // The killed server's phones go on through another server.
    let clients: Vec<_> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.client_with(|mut c| {
                c.server_url = procs[if i % 3 == 0 { 1 } else { i % 3 }].url.clone();
                c.push_batch = 5;
                c
            })
        })
        .collect();
    for _round in 0..2 {
        for (p, client) in phones.iter().zip(&clients) {
            for _ in 0..50 {
                let report = client.sync().await.unwrap();
                if !report.more && p.store.pending_changes().unwrap() == 0 {
                    break;
                }
            }
            assert_eq!(p.store.pending_changes().unwrap(), 0);
        }
    }

    // Every item once, nothing else.
    let ids: Vec<Uuid> = pull_whole(&admin, &Scope::default())
        .iter()
        .filter(|c| c.table == "item")
        .map(|c| c.id)
        .collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a row was listed twice");
    assert_eq!(unique, posted.iter().copied().collect::<HashSet<_>>());
    // And every phone holds all of them.
    for (i, p) in phones.iter().enumerate() {
        let held: HashSet<Uuid> = p
            .store
            .snapshot()
            .unwrap()
            .iter()
            .filter(|r| r.table == fushi_core::Table::Item)
            .map(|r| r.id)
            .collect();
        assert_eq!(held, unique, "phone {i} differs");
    }
}
