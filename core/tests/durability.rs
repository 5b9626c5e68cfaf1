//! Sequence numbers are never handed out twice, even when another process
//! (`fushi-server import-stations`) writes the server's file while the
//! server serves it: a phone pulling after each write sees every row.

mod common;
use common::T0;
use fushi_core::crdt::ManualTime;
use fushi_core::model::NewStation;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{PageLimit, Position, Scope};
use fushi_core::{Store, StoreConfig, StoreRole};
use uuid::Uuid;

fn station(name: &str) -> NewStation {
    NewStation {
        name: name.into(),
        address: None,
        lat: 22.2561,
        lon: 113.5198,
        kind: "cool_station".into(),
        amenities: vec!["drinking_water".into()],
        opening_hours: None,
        host_org: None,
        contact: None,
        note: None,
    }
}

#[test]
fn a_second_writer_on_the_servers_file_never_reuses_a_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let config = StoreConfig {
        role: StoreRole::Server,
        sequence_remote: true,
        synchronous_full: true,
        ..StoreConfig::default()
    };
    let time = ManualTime::new(T0);
    let server = Store::open_with(&path, time.clone(), config.clone()).unwrap();
    let import = Store::open_with(&path, time.clone(), config).unwrap();
    let staff = Actor {
        user: Uuid::now_v7(),
        role: Role::GridStaff,
        community: "fushi".into(),
    };
    let admin = Actor {
        user: Uuid::now_v7(),
        role: Role::Admin,
        community: "fushi".into(),
    };
    import.set_actor(Some(admin));
    // A phone of the staff member, whose pushes the server applies.
    let phone_dir = tempfile::tempdir().unwrap();
    let phone = Store::open_with(
        phone_dir.path().join("phone.db"),
        time.clone(),
        StoreConfig::default(),
    )
    .unwrap();
    phone.set_actor(Some(staff.clone()));

    let mut cursor = Position::default();
    let mut mark = Position::default();
    for k in 0..6 {
        time.advance(1000);
        let id = if k % 2 == 0 {
            let id = phone
                .post_station(station(&format!("推送的驿站{k}")))
                .unwrap();
            let page = phone.outbox_batch(mark, PageLimit::rows(100)).unwrap();
            mark = mark.after_page(&page);
            let (_, refused) = server.apply_checked(&staff, &page.changes).unwrap();
            assert!(refused.is_empty());
            id
        } else {
            import
                .post_station(station(&format!("导入的驿站{k}")))
                .unwrap()
        };
        // A phone pulling now gets the new row above its cursor.
        let page = server
            .changes_since(cursor, PageLimit::rows(100), &Scope::default())
            .unwrap();
        assert!(
            page.changes.iter().any(|c| c.id == id),
            "write {k} was numbered at or below a cursor already handed out"
        );
        assert!(page.next > cursor.after);
        cursor = cursor.after_page(&page);
    }
}

#[test]
fn a_file_of_the_first_metadata_version_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let time = ManualTime::new(T0);
    drop(Store::open_with(&path, time.clone(), StoreConfig::default()).unwrap());
    {
        // Back to what the first version created.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE photo_file; DROP TABLE photo_awaited; DROP INDEX crdt_tag_elem;
             DROP TABLE sync_unreadable;
             DROP TABLE crdt_quarantine_drop; DROP TABLE crdt_held_record;
             DROP INDEX crdt_tag_present; DROP INDEX crdt_quarantine_user;
             DROP INDEX crdt_quarantine_received;
             ALTER TABLE crdt_quarantine DROP COLUMN pusher;
             ALTER TABLE crdt_quarantine DROP COLUMN pusher_key;
             ALTER TABLE crdt_quarantine DROP COLUMN pusher_user;
             ALTER TABLE crdt_quarantine DROP COLUMN bytes;
             DELETE FROM crdt_state WHERE key = 'meta_version';",
        )
        .unwrap();
    }
    let store = Store::open_with(&path, time, StoreConfig::default()).unwrap();
    assert!(store.quarantine_drops().unwrap().is_empty());
    assert_eq!(store.held_records().unwrap(), 0);
    assert_eq!(
        store.state_get("meta_version").unwrap(),
        Some(fushi_core::store::StateValue::Int(4))
    );
    assert_eq!(store.photo_storage_bytes().unwrap(), 0);
}
