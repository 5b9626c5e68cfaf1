//! TEMPORARY: writes the v1 upgrade fixtures with the code of schema v1.
use fushi_core::crdt::ManualTime;
use fushi_core::model::ItemEdit;
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::{SyncClient, SyncConfig};
use fushi_core::{Store, StoreConfig};
use fushi_server::{tokens, RunningServer, SqliteStorage};
use fushi_server::storage::SyncStorage;
use fushi_tests::item;
use std::sync::Arc;
use uuid::Uuid;

const THEN: i64 = 1_795_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn make() {
    let out = std::path::PathBuf::from(std::env::var("FIXTURE_OUT").unwrap());
    let time = ManualTime::new(THEN);
    let storage = Arc::new(
        SqliteStorage::open_with_config(&out.join("server_v1.db"), time.clone(), |c| c).unwrap(),
    );
    let li = Actor { user: Uuid::from_u128(0x11), role: Role::Resident, community: "fushi".into() };
    let wang = Actor { user: Uuid::from_u128(0x22), role: Role::Resident, community: "fushi".into() };
    storage.add_token(&tokens::hash("v1-fixture-token-li"), &li).unwrap();
    storage.add_token(&tokens::hash("v1-fixture-token-wang"), &wang).unwrap();
    let running = RunningServer::start_tls(storage.clone(), ([127, 0, 0, 1], 0).into(), fushi_server::Limits::default(), None).await.unwrap();
    let url = running.url();
    let phone = |name: &str, actor: &Actor, token: &str| {
        let store = Arc::new(Store::open_with(out.join(name), time.clone(), StoreConfig::default()).unwrap());
        store.set_actor(Some(actor.clone()));
        let config = SyncConfig { allow_cleartext: true, ..SyncConfig::new(&url, token) };
        let client = SyncClient::new(store.clone(), config).unwrap();
        (store, client)
    };
    let (li_store, li_client) = phone("phone_v1_li.db", &li, "v1-fixture-token-li");
    let (wang_store, wang_client) = phone("phone_v1_wang.db", &wang, "v1-fixture-token-wang");
    let bike = li_store.post_item(item("儿童自行车")).unwrap();
    time.advance(1000);
    li_client.sync().await.unwrap();
    for t in ["电饭煲", "旧台灯", "书架"] {
        wang_store.post_item(item(t)).unwrap();
        time.advance(1000);
    }
    wang_client.sync().await.unwrap();
    time.advance(1000);
    li_client.sync().await.unwrap();
    wang_client.sync().await.unwrap();
    assert_eq!(li_store.snapshot().unwrap().len(), 4);
    assert_eq!(wang_store.snapshot().unwrap().len(), 4);
    time.advance(60_000);
    // Li edits her bike offline: waits in the outbox of the v1 file.
    li_store.edit_item(bike, ItemEdit { title: Some("儿童自行车 已修好".into()), ..Default::default() }).unwrap();
    assert_eq!(li_store.pending_changes().unwrap(), 1);
    println!("bike {bike}");
    running.stop().await.unwrap();
}
