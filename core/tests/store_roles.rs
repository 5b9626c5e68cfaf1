//! A phone's store and the sync server's: the server keeps the rows, their
//! merge metadata and the sequence, and none of the phone's search and map
//! indexes; a file changes shape when opened in the other role, rows intact.

mod common;
use common::*;
use fushi_core::crdt::ManualTime;
use fushi_core::model::{NewNeed, NewSkill, NewStation};
use fushi_core::policy::Role;
use fushi_core::store::{ListingKind, NearbyQuery, PageLimit, Position, Scope, SearchQuery};
use fushi_core::{Error, Store, StoreConfig, StoreRole};
use std::collections::BTreeSet;
use std::path::Path;

/// Fushi community centre, Qianshan.
const HERE: (f64, f64) = (22.2555, 113.5200);

fn open(path: &Path, role: StoreRole) -> Store {
    Store::open_with(
        path,
        ManualTime::new(T0),
        StoreConfig {
            role,
            // What the server's store has always been told.
            sequence_remote: role == StoreRole::Server,
            ..StoreConfig::default()
        },
    )
    .unwrap()
}

/// The server's store as the code before the roles opened it: the phone's
/// shape, told to number every change, and no role recorded in the file.
fn open_old_server(path: &Path) -> Store {
    let s = Store::open_with(
        path,
        ManualTime::new(T0),
        StoreConfig {
            sequence_remote: true,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    drop(s);
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute("DELETE FROM crdt_state WHERE key = 'store_role'", [])
        .unwrap();
    drop(c);
    Store::open_with(
        path,
        ManualTime::new(T0),
        StoreConfig {
            sequence_remote: true,
            ..StoreConfig::default()
        },
    )
    .unwrap()
}

/// `(type, name)` of everything in the file's schema.
fn objects(path: &Path) -> BTreeSet<(String, String)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut stmt = c
        .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows
}

fn station_columns(path: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut stmt = c
        .prepare("SELECT name FROM pragma_table_info('station')")
        .unwrap();
    let cols = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    cols
}

/// The objects only a phone's file holds.
fn phone_only_objects(o: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    const INDEXES: [&str; 9] = [
        "item_created",
        "skill_created",
        "need_owner",
        "item_request_created",
        "handover_created",
        "station_report_created",
        "station_checkin_created",
        "skill_session_created",
        "skill_session_skill",
    ];
    o.iter()
        .filter(|(ty, name)| {
            ty == "trigger"
                || name.starts_with("station_geo")
                || name.contains("_fts")
                || name == "search_pending"
                || name == "search_mark"
                || INDEXES.contains(&name.as_str())
        })
        .cloned()
        .collect()
}

/// A resident's item, skill and need and grid staff's station, as pushed.
struct Pushed {
    resident: Phone,
    staff: Phone,
}

fn post_listings() -> Pushed {
    let resident = phone(&actor(Role::Resident));
    resident.store.post_item(give("儿童自行车")).unwrap();
    resident
        .store
        .post_skill(NewSkill {
            title: "修电扇".into(),
            category: "appliance_repair".into(),
            ..Default::default()
        })
        .unwrap();
    resident
        .store
        .post_need(NewNeed {
            title: "想要一个充电宝".into(),
            want: "item".into(),
            category: Some("electronics".into()),
            ..Default::default()
        })
        .unwrap();
    let staff = phone(&actor(Role::GridStaff));
    staff
        .store
        .post_station(NewStation {
            name: "福石清凉驿站".into(),
            address: Some("前山街道".into()),
            lat: HERE.0,
            lon: HERE.1,
            kind: "cool_station".into(),
            amenities: vec!["drinking_water".into(), "seating".into()],
            opening_hours: Some("Mo-Su 00:00-24:00".into()),
            host_org: None,
            contact: None,
            note: None,
        })
        .unwrap();
    Pushed { resident, staff }
}

/// Push both phones' outboxes through the server's checked path.
fn push(server: &Store, p: &Pushed) {
    for ph in [&p.resident, &p.staff] {
        let (report, rejections) = server.apply_checked(&ph.actor, &outbox(ph)).unwrap();
        assert!(rejections.is_empty(), "{rejections:?}");
        assert!(!report.changed.is_empty());
    }
}

fn feed(s: &Store) -> Vec<fushi_core::crdt::RowChange> {
    s.changes_since(
        Position::default(),
        PageLimit::rows(1_000_000),
        &Scope::default(),
    )
    .unwrap()
    .changes
}

fn near() -> NearbyQuery {
    NearbyQuery {
        lat: HERE.0,
        lon: HERE.1,
        radius_m: 1_000.0,
        limit: 5,
        amenities: vec!["drinking_water".into()],
        ..Default::default()
    }
}

fn search_all() -> SearchQuery {
    SearchQuery {
        text: "充电宝".into(),
        kinds: vec![ListingKind::Need],
        ..Default::default()
    }
}

fn assert_phone_only_refused(s: &Store) {
    assert!(matches!(
        s.search(&search_all()),
        Err(Error::PhoneOnly("search"))
    ));
    assert!(matches!(
        s.nearest_stations(&near()),
        Err(Error::PhoneOnly("nearest stations"))
    ));
    let need = s
        .snapshot()
        .unwrap()
        .into_iter()
        .find(|r| r.table == fushi_core::Table::Need)
        .unwrap();
    let err = s.matches_for_need(need.id, 5).unwrap_err();
    assert!(matches!(err, Error::PhoneOnly("need matching")));
    assert!(err.to_string().contains("phones only"), "{err}");
}

#[test]
fn a_server_store_has_none_of_the_phone_indexes_and_pushes_still_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (phone_path, server_path) = (dir.path().join("p.db"), dir.path().join("s.db"));
    let pushed = post_listings();
    let phone_store = open(&phone_path, StoreRole::Phone);
    let server = open(&server_path, StoreRole::Server);
    push(&phone_store, &pushed);
    push(&server, &pushed);

    let on_phone = objects(&phone_path);
    let on_server = objects(&server_path);
    let phone_only = phone_only_objects(&on_phone);
    for name in ["search_pending", "search_mark", "station_geo"] {
        assert!(
            phone_only.contains(&("table".into(), name.into())),
            "{name}"
        );
    }
    // The full text is in the phone's index file; the server has none.
    assert!(fushi_core::store::search_index_path(&phone_path).exists());
    assert!(!fushi_core::store::search_index_path(&server_path).exists());
    assert!(phone_only.iter().any(|(ty, _)| ty == "trigger"));
    assert!(phone_only_objects(&on_server).is_empty(), "{on_server:?}");
    // The server keeps everything else: tables, merge metadata, sequence
    // and query indexes of the pull and the policy.
    let rest: BTreeSet<_> = on_phone.difference(&phone_only).cloned().collect();
    assert_eq!(on_server, rest);
    assert!(station_columns(&phone_path).contains(&"amenity_mask".to_string()));
    assert!(!station_columns(&server_path).contains(&"amenity_mask".to_string()));

    // Same rows, same feed.
    assert_eq!(server.snapshot().unwrap(), phone_store.snapshot().unwrap());
    assert_eq!(feed(&server).len(), 4);
    assert_phone_only_refused(&server);
    // The phone answers from its indexes.
    assert_eq!(phone_store.search(&search_all()).unwrap().hits.len(), 1);
    assert_eq!(phone_store.nearest_stations(&near()).unwrap().len(), 1);
}

#[test]
fn an_old_server_file_opens_as_a_server_and_loses_the_phone_indexes_but_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let pushed = post_listings();
    let (snapshot, seq, changes, site) = {
        let old = open_old_server(&path);
        push(&old, &pushed);
        assert!(!phone_only_objects(&objects(&path)).is_empty());
        (
            old.snapshot().unwrap(),
            old.current_seq().unwrap(),
            feed(&old),
            old.site(),
        )
    };
    let server = open(&path, StoreRole::Server);
    assert!(phone_only_objects(&objects(&path)).is_empty());
    assert!(!station_columns(&path).contains(&"amenity_mask".to_string()));
    assert_eq!(server.snapshot().unwrap(), snapshot);
    assert_eq!(server.current_seq().unwrap(), seq);
    assert_eq!(server.site(), site);
    assert_eq!(feed(&server), changes);
    assert_phone_only_refused(&server);

    // It takes pushes, and numbers them after what it had.
    let more = phone(&pushed.resident.actor);
    more.store.post_item(give("书架")).unwrap();
    let (_, rejections) = server.apply_checked(&more.actor, &outbox(&more)).unwrap();
    assert!(rejections.is_empty());
    assert_eq!(server.current_seq().unwrap(), seq + 1);
    drop(server);

    // Opened again as a server: nothing more to do, the same shape.
    let fresh = dir.path().join("fresh.db");
    drop(open(&fresh, StoreRole::Server));
    let again = open(&path, StoreRole::Server);
    assert_eq!(objects(&path), objects(&fresh));
    assert_eq!(station_columns(&path), station_columns(&fresh));
    assert_eq!(again.current_seq().unwrap(), seq + 1);
}

#[test]
fn a_server_file_opened_as_a_phone_gets_its_indexes_back_from_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let pushed = post_listings();
    {
        let server = open(&path, StoreRole::Server);
        push(&server, &pushed);
    }
    let phone_store = open(&path, StoreRole::Phone);
    let fresh = dir.path().join("fresh.db");
    drop(open(&fresh, StoreRole::Phone));
    assert_eq!(objects(&path), objects(&fresh));
    assert_eq!(station_columns(&path), station_columns(&fresh));
    // Search, the amenity filter and need matching answer from rebuilt indexes.
    assert_eq!(phone_store.search(&search_all()).unwrap().hits.len(), 1);
    let items = phone_store
        .search(&SearchQuery {
            text: "自行车".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(items.hits.len(), 1);
    let near = phone_store.nearest_stations(&near()).unwrap();
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].name, "福石清凉驿站");
    let need = phone_store
        .snapshot()
        .unwrap()
        .into_iter()
        .find(|r| r.table == fushi_core::Table::Need)
        .unwrap();
    phone_store.matches_for_need(need.id, 5).unwrap();
}
