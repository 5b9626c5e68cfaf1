//! Phones of two schema versions through one server, and a phone upgrading.
//!
//! Schema 2 added items' `tags`. The server serves phones of schema 1 and 2
//! at once: each gets only the columns its schema knows, a schema-1 phone's
//! push never erases tags it cannot know, and a phone that upgrades from 1
//! receives the tags it missed without downloading everything else again.
//!
//! Two kinds of "v1 phone" are used:
//! - files written by the v1 code itself (`tests/fixtures`: a server and a
//!   phone that had synced and then edited offline), opened by this build,
//!   which migrates them;
//! - a live phone of this build speaking schema 1 on the wire
//!   (`SyncClient::speaking_schema`): it sends `Fushi-Schema: 1` and reads
//!   pages as v1 code reads them (a row with a column it does not know is
//!   kept aside, never applied). What it is sent is checked, cell by cell,
//!   against the frozen v1 schema (`schema_v1.sql`).

use fushi_core::crdt::ManualTime;
use fushi_core::model::{Item, ItemEdit};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::SCHEMA_VERSION;
use fushi_core::sync::{SyncClient, SyncConfig, STATE_PULLED_SCHEMA};
use fushi_core::{Store, StoreConfig, Table};
use fushi_server::{RunningServer, SqliteStorage};
use fushi_tests::{http, item, send_raw, Phone, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// The columns of each table in schema v1, read from the frozen SQL (not
/// from the table definitions under test).
fn v1_columns() -> BTreeMap<String, BTreeSet<String>> {
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/src/store/sql/schema_v1.sql"
    ))
    .unwrap();
    let mut out = BTreeMap::new();
    let mut table: Option<String> = None;
    for line in sql.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            table = rest.split_whitespace().next().map(str::to_owned);
            out.insert(table.clone().unwrap(), BTreeSet::new());
        } else if line.starts_with(')') {
            table = None;
        } else if let (Some(t), Some(name)) = (&table, line.split_whitespace().next()) {
            if !["rid", "id", "_clk", "_seq"].contains(&name) {
                out.get_mut(t).unwrap().insert(name.to_owned());
            }
        }
    }
    assert_eq!(out.len(), 10, "ten tables in v1");
    assert!(out["item"].contains("photos") && !out["item"].contains("tags"));
    out
}

/// Pull the whole feed by hand as a phone of `schema`; every row's table
/// and cell columns.
async fn raw_feed(url: &str, token: &str, schema: i64) -> Vec<(String, Vec<String>)> {
    let mut cursor = "0".to_string();
    let mut rows = Vec::new();
    loop {
        let (status, body) = send_raw(
            http()
                .get(format!("{url}/v1/pull"))
                .query(&[("cursor", cursor.as_str()), ("limit", "2")])
                .bearer_auth(token)
                .header("Fushi-Protocol", "1")
                .header("Fushi-Schema", schema.to_string()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        for row in body["rows"].as_array().unwrap() {
            let table = row[0].as_str().unwrap().to_owned();
            let cols = row[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[0].as_str().unwrap().to_owned())
                .collect();
            rows.push((table, cols));
        }
        if !body["more"].as_bool().unwrap() {
            return rows;
        }
        cursor = body["next"].as_str().unwrap().to_owned();
    }
}

/// Every cell sent to a phone of schema 1 is of a v1 column.
fn assert_v1_only(rows: &[(String, Vec<String>)]) {
    let v1 = v1_columns();
    for (table, cols) in rows {
        for c in cols {
            assert!(v1[table].contains(c), "{table}.{c} sent to a v1 phone");
        }
    }
}

/// A second phone of `phone`'s user, with its own file.
fn second_phone(server: &Server, phone: &Phone) -> Phone {
    Phone::with_config(
        phone.actor.clone(),
        phone.token.clone(),
        server.config(&phone.token),
    )
}

/// `phone`'s client replaced by one speaking schema `schema`.
fn speaking(server: &Server, phone: &mut Phone, schema: i64) {
    phone.client = SyncClient::new(phone.store.clone(), server.config(&phone.token))
        .unwrap()
        .speaking_schema(schema)
        .unwrap();
}

fn items(store: &Store) -> Vec<Item> {
    let mut items: Vec<Item> = store
        .snapshot()
        .unwrap()
        .iter()
        .filter(|r| r.table == Table::Item)
        .map(|r| store.item(r.id).unwrap())
        .collect();
    items.sort_by_key(|i| i.id);
    items
}

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_phone_and_a_v2_phone_edit_one_listing_then_the_v1_phone_upgrades() {
    let server = Server::start().await;
    let mut old = server.phone(Role::Resident, "fushi");
    speaking(&server, &mut old, 1);
    let new = second_phone(&server, &old);
    let wang = server.phone(Role::Resident, "fushi");

    // Li posts a bike on her old phone; Wang posts three items.
    let bike = old.store.post_item(item("儿童自行车")).unwrap();
    old.client.sync().await.unwrap();
    for t in ["电饭煲", "旧台灯", "书架"] {
        wang.store.post_item(item(t)).unwrap();
    }
    wang.client.sync().await.unwrap();

    // Her new phone tags the bike and rewrites its description.
    new.client.sync().await.unwrap();
    new.store
        .edit_item(
            bike,
            ItemEdit {
                description: Some("刹车已换新".into()),
                add_tags: tags(&["可议价", "儿童"]),
                ..ItemEdit::default()
            },
        )
        .unwrap();
    new.client.sync().await.unwrap();

    // Her old phone renames it and moves the pickup, knowing nothing of
    // tags: its push carries no tag, and erases none.
    old.store
        .edit_item(
            bike,
            ItemEdit {
                title: Some("儿童自行车 已修好".into()),
                pickup_area: Some("福石花园北门".into()),
                ..ItemEdit::default()
            },
        )
        .unwrap();
    let report = old.client.sync().await.unwrap();
    assert_eq!(report.rejected, 0);
    let on_old = old.store.item(bike).unwrap();
    assert_eq!(on_old.description.as_deref(), Some("刹车已换新"));
    assert!(on_old.tags.is_empty(), "a v1 phone is sent no tags");
    assert_eq!(
        old.store.unreadable_count().unwrap(),
        0,
        "nothing kept aside"
    );

    new.client.sync().await.unwrap();
    let on_new = new.store.item(bike).unwrap();
    assert_eq!(on_new.title, "儿童自行车 已修好");
    assert_eq!(on_new.pickup_area, "福石花园北门");
    assert_eq!(
        on_new.tags,
        tags(&["儿童", "可议价"]),
        "the v1 push kept the tags"
    );

    // More of both, concurrently: the new phone swaps a tag, the old one
    // edits the description the new one wrote.
    new.store
        .edit_item(
            bike,
            ItemEdit {
                add_tags: tags(&["需自提"]),
                remove_tags: tags(&["可议价"]),
                ..ItemEdit::default()
            },
        )
        .unwrap();
    old.store
        .edit_item(
            bike,
            ItemEdit {
                description: Some("刹车和链条都换新了".into()),
                ..ItemEdit::default()
            },
        )
        .unwrap();
    new.client.sync().await.unwrap();
    old.client.sync().await.unwrap();
    new.client.sync().await.unwrap();

    // What either schema is sent, read by hand from the server.
    assert_v1_only(&raw_feed(&server.url, &old.token, 1).await);
    let v2_feed = raw_feed(&server.url, &old.token, 2).await;
    assert!(v2_feed
        .iter()
        .any(|(t, cols)| t == "item" && cols.iter().any(|c| c == "tags")));
    assert_eq!(old.store.unreadable_count().unwrap(), 0);

    // On the v1 columns the two phones agree already.
    let strip = |mut v: Vec<Item>| {
        for i in &mut v {
            i.tags.clear();
        }
        v
    };
    assert_eq!(strip(items(&old.store)), strip(items(&new.store)));
    assert!(items(&old.store).iter().all(|i| i.tags.is_empty()));

    // The old phone is upgraded: a client of this build on the same file.
    // It catches up on the tags it missed: the one tagged row, not the
    // other three items.
    let upgraded = SyncClient::new(old.store.clone(), server.config(&old.token)).unwrap();
    let report = upgraded.sync().await.unwrap();
    assert_eq!(report.pulled, 1, "only the tagged bike: {report:?}");
    assert_eq!(items(&old.store), items(&new.store));
    assert_eq!(
        old.store.item(bike).unwrap().tags,
        tags(&["儿童", "需自提"])
    );
    assert_eq!(
        old.store.state_get(STATE_PULLED_SCHEMA).unwrap(),
        Some(fushi_core::store::StateValue::Int(SCHEMA_VERSION))
    );
    // Caught up: the next sync has nothing to fetch again.
    assert_eq!(upgraded.sync().await.unwrap().pulled, 0);
    assert_eq!(items(&old.store), items(&new.store));
    assert_eq!(items(&wang.store).len(), 4);
}

/// The files of a v1 deployment, copied where this build may change them.
struct V1Files {
    dir: tempfile::TempDir,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
/// Li's bike in the fixture files.
const BIKE: Uuid = Uuid::from_u128(0x01a2_2b03_f485_767b_85e0_f6b1_e1ea_6951);
/// After every write of the fixtures (written at 1 795 000 000 000 to
/// 1 795 000 064 000).
const LATER: i64 = 1_795_000_120_000;

impl V1Files {
    fn copy() -> V1Files {
        let dir = tempfile::tempdir().unwrap();
        for f in ["server_v1.db", "server_v1.db.tokens", "phone_v1_li.db"] {
            std::fs::copy(Path::new(FIXTURES).join(f), dir.path().join(f)).unwrap();
        }
        V1Files { dir }
    }

    fn path(&self, f: &str) -> std::path::PathBuf {
        self.dir.path().join(f)
    }
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_written_by_the_v1_code_upgrade_and_converge_with_a_v2_phone() {
    let files = V1Files::copy();
    assert_eq!(user_version(&files.path("server_v1.db")), 1);
    assert_eq!(user_version(&files.path("phone_v1_li.db")), 1);
    let time = ManualTime::new(LATER);

    // The server is upgraded first: its file migrates on open.
    let storage = Arc::new(
        SqliteStorage::open_with_config(&files.path("server_v1.db"), time.clone(), |c| c).unwrap(),
    );
    assert_eq!(user_version(&files.path("server_v1.db")), SCHEMA_VERSION);
    let running = RunningServer::start_tls(
        storage.clone(),
        ([127, 0, 0, 1], 0).into(),
        fushi_server::Limits::default(),
        None,
    )
    .await
    .unwrap();
    let url = running.url();
    let li = Actor {
        user: Uuid::from_u128(0x11),
        role: Role::Resident,
        community: "fushi".into(),
    };
    let open_phone = |path: std::path::PathBuf| {
        let store = Arc::new(Store::open_with(path, time.clone(), StoreConfig::default()).unwrap());
        store.set_actor(Some(li.clone()));
        let config = SyncConfig {
            allow_cleartext: true,
            ..SyncConfig::new(&url, "v1-fixture-token-li")
        };
        let client = SyncClient::new(store.clone(), config).unwrap();
        (store, client)
    };

    // Li's new phone (this build) tags her bike: the v1 phone's rename of
    // it is still waiting in that phone's outbox, written by the v1 code.
    let new_dir = tempfile::tempdir().unwrap();
    let (new, new_client) = open_phone(new_dir.path().join("new.db"));
    assert_eq!(new_client.sync().await.unwrap().pulled, 4);
    assert_eq!(new.item(BIKE).unwrap().title, "儿童自行车");
    time.advance(1000);
    new.edit_item(
        BIKE,
        ItemEdit {
            add_tags: tags(&["儿童", "可议价"]),
            description: Some("刹车已换新".into()),
            ..ItemEdit::default()
        },
    )
    .unwrap();
    new_client.sync().await.unwrap();

    // The old phone is upgraded: the v1 file migrates on open, keeps its
    // unsent rename, and syncs it without erasing the tags.
    time.advance(1000);
    let (old, old_client) = open_phone(files.path("phone_v1_li.db"));
    assert_eq!(user_version(&files.path("phone_v1_li.db")), SCHEMA_VERSION);
    assert_eq!(old.pending_changes().unwrap(), 1);
    assert_eq!(old.item(BIKE).unwrap().title, "儿童自行车 已修好");
    assert!(old.item(BIKE).unwrap().tags.is_empty());
    let report = old_client.sync().await.unwrap();
    assert_eq!(report.pushed, 1);
    assert_eq!(report.rejected, 0);
    // Wang's three items are not sent again: the catch-up brings the one
    // tagged row, and the ordinary pull the row that changed since.
    assert!(report.pulled <= 2, "{report:?}");
    new_client.sync().await.unwrap();

    let bike_old = old.item(BIKE).unwrap();
    assert_eq!(bike_old.title, "儿童自行车 已修好");
    assert_eq!(bike_old.description.as_deref(), Some("刹车已换新"));
    assert_eq!(bike_old.tags, tags(&["儿童", "可议价"]));
    assert_eq!(items(&old), items(&new));
    assert_eq!(items(&old).len(), 4);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_a_range_of_schemas_and_says_who_must_upgrade() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let pull = |schema: i64, query: &'static str| {
        http()
            .get(format!("{}/v1/pull?{query}", server.url))
            .bearer_auth(&li.token)
            .header("Fushi-Protocol", "1")
            .header("Fushi-Schema", schema.to_string())
    };
    for schema in fushi_core::store::MIN_SCHEMA_VERSION..=SCHEMA_VERSION {
        let (status, body) = send_raw(pull(schema, "cursor=0")).await;
        assert_eq!(status, 200, "schema {schema}: {body}");
    }
    let (status, body) = send_raw(pull(0, "cursor=0")).await;
    assert_eq!(status, 426);
    assert_eq!(body["code"], "upgrade_required");
    let (status, body) = send_raw(pull(SCHEMA_VERSION + 1, "cursor=0")).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "server_outdated");
    // A catch-up names a schema older than the phone's.
    for bad in [
        "columns_after=2",
        "columns_after=0",
        "columns_after=-1",
        "columns_after=x",
    ] {
        let (status, body) = send_raw(pull(2, bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["code"], "bad_query", "{bad}");
    }
    let (status, _) = send_raw(pull(2, "columns_after=1")).await;
    assert_eq!(status, 200);
    let (_, health) = send_raw(http().get(format!("{}/v1/health", server.url))).await;
    assert_eq!(health["schema"], SCHEMA_VERSION);
    assert_eq!(health["min_schema"], fushi_core::store::MIN_SCHEMA_VERSION);

    // An operator who raised the bar to 2 turns v1 phones away with 426,
    // which the client reports as "upgrade the app".
    let strict = Server::start_custom(
        fushi_core::crdt::SystemClock::new(),
        |c| c,
        fushi_server::Limits {
            min_schema: 2,
            ..fushi_server::Limits::default()
        },
    )
    .await;
    let mut v1 = strict.phone(Role::Resident, "fushi");
    speaking(&strict, &mut v1, 1);
    v1.store.post_item(item("旧台灯")).unwrap();
    assert!(matches!(
        v1.client.sync().await,
        Err(fushi_core::Error::UpgradeRequired(_))
    ));
    assert_eq!(v1.store.pending_changes().unwrap(), 1, "nothing lost");
    let v2 = SyncClient::new(v1.store.clone(), strict.config(&v1.token)).unwrap();
    assert_eq!(v2.sync().await.unwrap().pushed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_push_carrying_a_newer_column_is_refused_for_that_row_and_answers_in_v1() {
    let server = Server::start().await;
    let li = server.phone(Role::Resident, "fushi");
    let wang = server.phone(Role::Resident, "fushi");
    let bike = li.store.post_item(item("儿童自行车")).unwrap();
    li.store
        .edit_item(
            bike,
            ItemEdit {
                add_tags: tags(&["儿童"]),
                ..ItemEdit::default()
            },
        )
        .unwrap();
    li.client.sync().await.unwrap();
    let lamp = wang.store.post_item(item("旧台灯")).unwrap();
    wang.client.sync().await.unwrap();

    // A batch claiming schema 1: a good rename of Wang's lamp, a row of a
    // tag (no v1 app sends one), and a rename of Li's bike (not Wang's).
    let now = {
        use fushi_core::crdt::TimeSource;
        fushi_core::crdt::Hlc::new(fushi_core::crdt::SystemClock::new().now_ms(), 0)
    };
    let good = fushi_tests::change_at(
        "item",
        lamp,
        now,
        &[("title", fushi_core::crdt::Value::from("旧台灯 可用"))],
    );
    let tagged = {
        let mut c = fushi_tests::change_at("item", lamp, now, &[]);
        c.cells.push(fushi_core::crdt::Cell {
            column: "tags".into(),
            op: fushi_core::crdt::CellOp::Add("可议价".into()),
            stamp: good.cells[0].stamp,
        });
        c
    };
    let not_mine = fushi_tests::change_at(
        "item",
        bike,
        now,
        &[("title", fushi_core::crdt::Value::from("我的车"))],
    );
    let (sites, rows) = fushi_core::sync::wire::encode_rows(&[good, tagged, not_mine]);
    let body = serde_json::to_vec(&fushi_core::sync::wire::PushRequest { sites, rows }).unwrap();
    let (status, resp) = send_raw(
        http()
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&wang.token)
            .header("Fushi-Protocol", "1")
            .header("Fushi-Schema", "1")
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], 1, "{resp}");
    let refused = resp["rejections"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{resp}");
    assert_eq!(refused[0]["index"], 1);
    assert_eq!(refused[0]["code"], "invalid");
    assert!(refused[0]["reason"].as_str().unwrap().contains("item.tags"));
    assert_eq!(refused[1]["index"], 2);
    assert_eq!(refused[1]["code"], "not_owner");
    // The winning states a v1 phone gets back carry v1 columns only (the
    // bike has tags on the server).
    let v1 = v1_columns();
    for r in refused {
        for cell in r["winning"][2].as_array().unwrap() {
            let col = cell[0].as_str().unwrap();
            assert!(v1["item"].contains(col), "item.{col} sent to a v1 phone");
        }
    }
    wang.client.sync().await.unwrap();
    assert_eq!(wang.store.item(lamp).unwrap().title, "旧台灯 可用");
    assert!(wang.store.item(lamp).unwrap().tags.is_empty());
    assert_eq!(wang.store.item(bike).unwrap().tags, tags(&["儿童"]));
}

/// One step of the mixed-version property test.
#[derive(Clone, Debug)]
enum Step {
    /// The v1 phone edits a v1 column of item `pick`.
    OldEdit { pick: usize, field: u8, n: u8 },
    /// The v2 phone edits a v1 column of item `pick`.
    NewEdit { pick: usize, field: u8, n: u8 },
    /// The v2 phone adds (or removes) tag `tag` on item `pick`.
    Tag { pick: usize, tag: u8, add: bool },
    /// The v1 phone posts an item.
    OldPost,
    /// A phone syncs (0: v1, 1: v2), in small pages.
    Sync(u8),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0usize..4, 0u8..3, 0u8..4).prop_map(|(pick, field, n)| Step::OldEdit { pick, field, n }),
        (0usize..4, 0u8..3, 0u8..4).prop_map(|(pick, field, n)| Step::NewEdit { pick, field, n }),
        (0usize..4, 0u8..4, any::<bool>()).prop_map(|(pick, tag, add)| Step::Tag {
            pick,
            tag,
            add
        }),
        Just(Step::OldPost),
        (0u8..2).prop_map(Step::Sync),
    ]
}

fn edit_of(field: u8, n: u8) -> ItemEdit {
    let text = format!("第{n}版");
    match field {
        0 => ItemEdit {
            title: Some(text),
            ..ItemEdit::default()
        },
        1 => ItemEdit {
            description: Some(text),
            ..ItemEdit::default()
        },
        _ => ItemEdit {
            pickup_area: Some(text),
            ..ItemEdit::default()
        },
    }
}

const TAGS: [&str; 4] = ["可议价", "儿童", "需自提", "九成新"];

/// Random interleavings of a schema-1 phone and a schema-2 phone of one
/// resident editing the same items through one server (with pages of two
/// rows): the schema-1 phone is never sent a column it cannot read, its
/// pushes never take a tag away, the server's tags are always what the
/// schema-2 phone made them, and after the schema-1 phone upgrades, the two
/// hold the same items, cell for cell.
#[test]
fn phones_of_two_schemas_never_lose_each_others_columns() {
    use proptest::prelude::*;
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases,
        max_shrink_iters: 100,
        ..ProptestConfig::default()
    };
    proptest!(config, |(steps in proptest::collection::vec(step(), 5..40))| {
        rt.block_on(mixed_versions(steps));
    });
}

async fn mixed_versions(steps: Vec<Step>) {
    let server = Server::start().await;
    let small = |c: SyncConfig| SyncConfig {
        pull_limit: 2,
        push_batch: 2,
        ..c
    };
    let mut old = server.phone(Role::Resident, "fushi");
    old.client = SyncClient::new(old.store.clone(), small(server.config(&old.token)))
        .unwrap()
        .speaking_schema(1)
        .unwrap();
    let mut new = second_phone(&server, &old);
    new.client = SyncClient::new(new.store.clone(), small(server.config(&new.token))).unwrap();
    let mut ids = vec![old.store.post_item(item("儿童自行车")).unwrap()];
    old.client.sync().await.unwrap();
    new.client.sync().await.unwrap();
    let server_tags =
        |id: Uuid| -> Vec<String> { server.held().item(id).map(|i| i.tags).unwrap_or_default() };
    for s in steps {
        let pick = |p: usize| ids[p % ids.len()];
        match s {
            Step::OldEdit { pick: p, field, n } => {
                // A row the phone has not received yet cannot be edited.
                let _ = old.store.edit_item(pick(p), edit_of(field, n));
            }
            Step::NewEdit { pick: p, field, n } => {
                let _ = new.store.edit_item(pick(p), edit_of(field, n));
            }
            Step::Tag { pick: p, tag, add } => {
                let t = vec![TAGS[usize::from(tag)].to_owned()];
                let edit = if add {
                    ItemEdit {
                        add_tags: t,
                        ..ItemEdit::default()
                    }
                } else {
                    ItemEdit {
                        remove_tags: t,
                        ..ItemEdit::default()
                    }
                };
                let _ = new.store.edit_item(pick(p), edit);
            }
            Step::OldPost => ids.push(old.store.post_item(item("旧台灯")).unwrap()),
            Step::Sync(0) => {
                old.client.sync().await.unwrap();
                assert!(items(&old.store).iter().all(|i| i.tags.is_empty()));
            }
            Step::Sync(_) => {
                new.client.sync().await.unwrap();
                // Synced just now: the server holds this phone's tags.
                for i in items(&new.store) {
                    assert_eq!(server_tags(i.id), i.tags, "{}", i.id);
                }
            }
        }
        assert_eq!(old.store.unreadable_count().unwrap(), 0);
    }
    // Everything delivered, the v1 phone sees its v1 columns as the v2 one.
    for _ in 0..2 {
        old.client.sync().await.unwrap();
        new.client.sync().await.unwrap();
    }
    let strip = |mut v: Vec<Item>| {
        for i in &mut v {
            i.tags.clear();
        }
        v
    };
    assert_eq!(strip(items(&old.store)), strip(items(&new.store)));
    for i in items(&new.store) {
        assert_eq!(server_tags(i.id), i.tags);
    }
    assert_v1_only(&raw_feed(&server.url, &old.token, 1).await);
    // Upgraded, it holds every column the v2 phone holds.
    let upgraded = SyncClient::new(old.store.clone(), small(server.config(&old.token))).unwrap();
    upgraded.sync().await.unwrap();
    assert_eq!(items(&old.store), items(&new.store));
    server.stop().await;
}
