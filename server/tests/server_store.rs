//! The server's SQLite storage keeps what the server needs (listings, merge
//! metadata, sequence, quarantine, tokens) and none of the phone's search
//! and map indexes, including in a file the server wrote before it knew
//! the difference.

use fushi_core::crdt::{ManualTime, RowChange};
use fushi_core::model::{NewItem, NewSkill, NewStation};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{PageLimit, Position, Pusher, Scope, SearchQuery};
use fushi_core::{Error, Store, StoreConfig, StoreRole};
use fushi_server::storage::SyncStorage;
use fushi_server::SqliteStorage;
use std::path::Path;
use uuid::Uuid;

/// 2026-07-15 10:00 Beijing time.
const T0: i64 = 1_784_080_800_000;

fn actor(role: Role) -> Actor {
    Actor {
        user: Uuid::now_v7(),
        role,
        community: "fushi".into(),
    }
}

/// A phone's outbox: an item and a skill of a resident, or a station of
/// grid staff.
fn outbox(dir: &Path, who: &Actor) -> Vec<RowChange> {
    let phone = Store::open_with(
        dir.join(format!("{}.db", who.user)),
        ManualTime::new(T0),
        StoreConfig::default(),
    )
    .unwrap();
    phone.set_actor(Some(who.clone()));
    if who.role == Role::Resident {
        phone
            .post_item(NewItem {
                title: "儿童自行车".into(),
                category: "kids".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..Default::default()
            })
            .unwrap();
        phone
            .post_skill(NewSkill {
                title: "修电扇".into(),
                category: "appliance_repair".into(),
                ..Default::default()
            })
            .unwrap();
    } else {
        phone
            .post_station(NewStation {
                name: "福石清凉驿站".into(),
                address: None,
                lat: 22.2555,
                lon: 113.52,
                kind: "cool_station".into(),
                amenities: vec!["drinking_water".into()],
                opening_hours: None,
                host_org: None,
                contact: None,
                note: None,
            })
            .unwrap();
    }
    phone
        .changes_since(
            Position::default(),
            PageLimit::rows(1000),
            &Scope::default(),
        )
        .unwrap()
        .changes
}

fn push(storage: &SqliteStorage, who: &Actor, changes: &[RowChange]) {
    let pusher = Pusher {
        actor: who.clone(),
        key: vec![1],
    };
    let out = storage
        .push(&pusher, changes, fushi_core::store::SCHEMA_VERSION)
        .unwrap();
    assert!(out.rejections.is_empty(), "{:?}", out.rejections);
    assert_eq!(out.accepted, changes.len());
}

/// Names in the file's schema that belong to the phone's offline queries.
fn phone_indexes(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' OR name LIKE '%_fts%' \
             OR name LIKE 'station_geo%' OR name IN ('item_created', 'skill_created', \
             'need_owner', 'item_request_created', 'handover_created', \
             'station_report_created', 'station_checkin_created', 'skill_session_created', \
             'skill_session_skill') \
             UNION ALL SELECT 'station.' || name FROM pragma_table_info('station') \
             WHERE name = 'amenity_mask' ORDER BY 1",
        )
        .unwrap();
    let names = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
}

fn all(storage: &SqliteStorage) -> Vec<RowChange> {
    storage
        .pull(
            &Scope::default(),
            Position::default(),
            PageLimit::rows(1000),
        )
        .unwrap()
        .changes
}

#[test]
fn the_server_file_has_no_phone_index_and_takes_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let storage = SqliteStorage::open_with(&db, ManualTime::new(T0)).unwrap();
    assert_eq!(storage.store().config().role, StoreRole::Server);
    let (resident, staff) = (actor(Role::Resident), actor(Role::GridStaff));
    push(&storage, &resident, &outbox(dir.path(), &resident));
    push(&storage, &staff, &outbox(dir.path(), &staff));
    assert_eq!(phone_indexes(&db), Vec::<String>::new());
    assert_eq!(all(&storage).len(), 3);
    assert_eq!(storage.current_seq().unwrap(), 3);
    assert!(matches!(
        storage.store().search(&SearchQuery::default()),
        Err(Error::PhoneOnly(_))
    ));
}

#[test]
fn a_server_file_from_before_the_roles_opens_and_loses_the_phone_indexes_not_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let (resident, staff) = (actor(Role::Resident), actor(Role::GridStaff));
    // What the server wrote before: a phone-shaped store numbering every
    // change, with no role recorded.
    let (rows, seq, epoch) = {
        let old = SqliteStorage::open_with_config(&db, ManualTime::new(T0), |c| StoreConfig {
            role: StoreRole::Phone,
            ..c
        })
        .unwrap();
        push(&old, &resident, &outbox(dir.path(), &resident));
        push(&old, &staff, &outbox(dir.path(), &staff));
        (all(&old), old.current_seq().unwrap(), old.epoch())
    };
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("DELETE FROM crdt_state WHERE key = 'store_role'", [])
        .unwrap();
    drop(c);
    assert!(phone_indexes(&db).len() > 10, "{:?}", phone_indexes(&db));

    let storage = SqliteStorage::open_with(&db, ManualTime::new(T0)).unwrap();
    assert_eq!(phone_indexes(&db), Vec::<String>::new());
    assert_eq!(all(&storage), rows);
    assert_eq!(storage.current_seq().unwrap(), seq);
    assert_eq!(storage.epoch(), epoch, "cursors of phones stay valid");
    // Pushes still apply after it.
    let other = actor(Role::Resident);
    push(&storage, &other, &outbox(dir.path(), &other));
    assert_eq!(storage.current_seq().unwrap(), seq + 2);
}
