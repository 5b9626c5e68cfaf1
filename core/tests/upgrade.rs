//! A phone's file written by an older app (`fixtures/phone_v1.db`: schema v1,
//! metadata v2, no recorded role; written by the app as of commit e1b1149
//! with a station, an item with a position and a check-in) opens in this
//! version: its metadata is migrated in place, everything it held reads
//! back, its unsent changes are still waiting, and the offline queries work.
//! Its replicated tables are migrated from schema v1 to this build's (v2:
//! items' `tags`; v3: the `holiday_calendar` table), and the new column
//! reads as empty on the rows v1 wrote.

use fushi_core::crdt::ManualTime;
use fushi_core::model::ListingKind;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{NearbyQuery, SearchQuery, StateValue, SCHEMA_VERSION};
use fushi_core::{Store, StoreConfig};
use uuid::Uuid;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/phone_v1.db");
/// Its clock (the fixture was written at this time).
const THEN: i64 = 1_790_000_000_000;

#[test]
fn a_phone_file_of_the_first_version_opens_upgraded_with_everything_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    let store = Store::open_with(
        &path,
        ManualTime::new(THEN + 60_000),
        StoreConfig::default(),
    )
    .unwrap();

    assert_eq!(
        SCHEMA_VERSION, 3,
        "a schema v4 needs a v3 → v4 step tested here"
    );
    let user_version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_version, SCHEMA_VERSION);
    assert_eq!(
        store.state_get("meta_version").unwrap(),
        Some(StateValue::Int(4))
    );
    // Metadata v4 (photos): an upgraded phone holds no photo files yet.
    assert_eq!(store.photo_storage_bytes().unwrap(), 0);
    // No role recorded means the phone's shape, which it keeps.
    assert_ne!(
        store.state_get("store_role").unwrap(),
        Some(StateValue::Text("server".into()))
    );

    let rows = store.snapshot().unwrap();
    assert_eq!(rows.len(), 3, "a station, an item and a check-in");
    let item = rows
        .iter()
        .find(|r| r.table == fushi_core::Table::Item)
        .map(|r| store.item(r.id).unwrap())
        .unwrap();
    assert_eq!(item.title, "儿童自行车 八成新");
    assert_eq!(item.owner, Uuid::from_u128(2));
    assert_eq!(item.pickup_area, "福石花园");
    assert!(item.tags.is_empty(), "a v1 row has no tags");
    assert_eq!(
        store.holiday_years(),
        vec![2026],
        "the built-in year, none published"
    );
    // Never synced: all three still wait to be sent.
    assert_eq!(store.pending_changes().unwrap(), 3);

    // The offline queries read the migrated file.
    store.set_actor(Some(Actor {
        user: Uuid::from_u128(3),
        role: Role::Resident,
        community: "fushi".into(),
    }));
    let hits = store
        .search(&SearchQuery {
            text: "自行车".into(),
            kinds: vec![ListingKind::Item],
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(hits.hits.len(), 1);
    let near = store
        .nearest_stations(&NearbyQuery {
            lat: 22.2586,
            lon: 113.5262,
            amenities: vec!["drinking_water".into()],
            ..NearbyQuery::default()
        })
        .unwrap();
    assert_eq!(near.len(), 1);
    assert_eq!(near[0].name, "福石清凉驿站");

    // And it takes new writes.
    store
        .post_item(fushi_core::model::NewItem {
            title: "旧台灯".into(),
            category: "books".into(),
            mode: "give".into(),
            pickup_area: "福石花园".into(),
            tags: vec!["可议价".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(store.pending_changes().unwrap(), 4);
    // And the v1 row takes the v2 column (from its owner).
    store.set_actor(Some(Actor {
        user: item.owner,
        role: Role::Resident,
        community: "fushi".into(),
    }));
    store
        .edit_item(
            item.id,
            fushi_core::model::ItemEdit {
                add_tags: vec!["儿童".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(store.item(item.id).unwrap().tags, vec!["儿童".to_string()]);
}

/// A phone's file whose new listings were each noted by a trigger for the
/// index file (phone indexes 2), written by the app as of commit 502aa28
/// with its index file (`fixtures/phone_index2.db` and `.search`): three
/// items indexed, one of them retitled since and one posted since, both
/// still waiting. It opens with its index kept (not made again), the two
/// still waiting, and every search right before and after they are taken.
#[test]
fn a_phone_file_whose_new_listings_were_noted_keeps_its_index_and_what_waited() {
    const DB: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/phone_index2.db"
    );
    const INDEX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/phone_index2.db.search"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    std::fs::copy(DB, &path).unwrap();
    std::fs::copy(INDEX, fushi_core::store::search_index_path(&path)).unwrap();
    let store = Store::open_with(
        &path,
        ManualTime::new(1_795_000_000_000 + 60_000),
        StoreConfig {
            search_in_background: false,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    store.set_actor(Some(Actor {
        user: Uuid::new_v4(),
        role: Role::Resident,
        community: "fushi".into(),
    }));
    let status = store.search_index_status().unwrap();
    assert_eq!(status.rebuilt, None, "the index file is kept");
    let hash_size: i64 = rusqlite::Connection::open(fushi_core::store::search_index_path(&path))
        .unwrap()
        .query_row(
            "SELECT v FROM item_fts_config WHERE k = 'hashsize'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hash_size, 2 * 1024 * 1024, "16 MiB before: set down once");
    assert_eq!(status.pending, 2, "the retitled item and the new one");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        let mark: i64 = c
            .query_row("SELECT rid FROM search_mark WHERE kind = 0", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(mark, 4, "the items' mark starts at their largest rid");
        let insert_triggers: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_search_insert'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(insert_triggers, 0);
        let noted: i64 = c
            .query_row("SELECT count(*) FROM search_pending", [], |r| r.get(0))
            .unwrap();
        assert_eq!(noted, 2, "what waited still waits");
    }
    let titles = |text: &str| -> Vec<String> {
        store
            .search(&SearchQuery {
                text: text.into(),
                kinds: vec![ListingKind::Item],
                ..Default::default()
            })
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.title)
            .collect()
    };
    for stage in ["before", "after"] {
        if stage == "after" {
            assert_eq!(store.index_search_now().unwrap(), 2);
            assert_eq!(store.search_index_status().unwrap().pending, 0);
        }
        assert_eq!(titles("书架"), ["实木书架 A"], "{stage}");
        assert_eq!(titles("热水壶"), ["电热水壶 B"], "{stage}");
        assert!(titles("电饭煲").is_empty(), "the old title, {stage}");
        assert_eq!(titles("自行车"), ["折叠自行车 C"], "{stage}");
        assert_eq!(titles("绘本"), ["儿童绘本 D"], "{stage}");
    }
}
