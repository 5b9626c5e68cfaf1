//! Helpers for the end-to-end scenarios: a real sync server on a free
//! loopback port over a real SQLite file — or, when `FUSHI_TEST_BACKEND` is
//! `postgres`, over a fresh database of a real PostgreSQL ([`pg`]): the
//! README's test command runs every scenario both ways — and phones that
//! are real SQLite files in temp dirs, each with its own sync client.
//!
//! Servers speak plain HTTP unless started with TLS ([`Server::start_tls`],
//! a CA made in the test, [`certs`]); the phones of a plain one allow
//! cleartext explicitly (loopback, tests), those of a TLS one pin its CA.
#![allow(clippy::missing_panics_doc)]

use fushi_core::crdt::{SystemClock, TimeSource};
use fushi_core::model::{NewItem, NewStation, RowData};
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::{SyncClient, SyncConfig, Trust};
use fushi_core::{Store, StoreConfig, Table};
use fushi_server::postgres::PgStorage;
use fushi_server::storage::SyncStorage;
use fushi_server::{tokens, RunningServer, SqliteStorage};
use std::sync::Arc;
use uuid::Uuid;

/// Which storage the test servers keep their state in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (the default).
    Sqlite,
    /// A fresh database on the test PostgreSQL ([`pg`]).
    Postgres,
}

impl Backend {
    /// The backend `FUSHI_TEST_BACKEND` names (`sqlite`, the default, or
    /// `postgres`).
    pub fn from_env() -> Backend {
        match std::env::var("FUSHI_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("FUSHI_TEST_BACKEND must be sqlite or postgres, not {other}"),
        }
    }
}

/// Settings of a test server's storage beyond the store's.
#[derive(Clone, Copy, Debug, Default)]
pub struct StorageOptions {
    /// How long device tokens live unless renewed.
    pub token_ttl_ms: Option<i64>,
}

/// Open a storage of `backend` in `dir` (SQLite) or a fresh database.
pub fn open_storage(
    backend: Backend,
    dir: &std::path::Path,
    time: Arc<dyn TimeSource>,
    tweak: impl FnOnce(StoreConfig) -> StoreConfig,
    options: StorageOptions,
) -> (
    Arc<dyn SyncStorage>,
    Option<Arc<SqliteStorage>>,
    Option<String>,
) {
    match backend {
        Backend::Sqlite => {
            let mut s =
                SqliteStorage::open_with_config(&dir.join("server.db"), time, tweak).unwrap();
            if let Some(ttl) = options.token_ttl_ms {
                s = s.with_token_ttl(ttl);
            }
            let s = Arc::new(s);
            (s.clone(), Some(s), None)
        }
        Backend::Postgres => {
            let database = pg::fresh_database();
            let mut s = PgStorage::open_with_config(&database, time, tweak).unwrap();
            if let Some(ttl) = options.token_ttl_ms {
                s = s.with_token_ttl(ttl);
            }
            (Arc::new(s), None, Some(database))
        }
    }
}

/// A running server and its storage.
pub struct Server {
    /// The storage, to look at what the server holds.
    pub storage: Arc<dyn SyncStorage>,
    /// The same storage when it is SQLite (benchmarks that write the
    /// server's store directly).
    pub sqlite: Option<Arc<SqliteStorage>>,
    /// Its database's connection string when it is PostgreSQL.
    pub database: Option<String>,
    /// The HTTP server.
    pub running: RunningServer,
    /// Base URL.
    pub url: String,
    /// The test CA that signed its certificate, if it speaks TLS.
    pub ca: Option<certs::TestCa>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Start on a fresh SQLite file, system clock.
    pub async fn start() -> Server {
        Server::start_with(SystemClock::new()).await
    }

    /// Start with a given server clock.
    pub async fn start_with(time: Arc<dyn TimeSource>) -> Server {
        Server::start_custom(time, |c| c, fushi_server::Limits::default()).await
    }

    /// Start with a given server clock, store settings (from the server's)
    /// and limits.
    pub async fn start_custom(
        time: Arc<dyn TimeSource>,
        tweak: impl FnOnce(StoreConfig) -> StoreConfig,
        limits: fushi_server::Limits,
    ) -> Server {
        Server::start_full(time, tweak, limits, None).await
    }

    /// Start over TLS: a CA made for this test signs a certificate for
    /// `127.0.0.1`; [`Server::phone`]s pin that CA.
    pub async fn start_tls() -> Server {
        Server::start_tls_with(fushi_server::Limits::default()).await
    }

    /// [`Server::start_tls`] with given limits.
    pub async fn start_tls_with(limits: fushi_server::Limits) -> Server {
        let ca = certs::TestCa::new("Fushi test CA");
        let tls = ca.loopback().tls();
        Server::start_full(SystemClock::new(), |c| c, limits, Some((ca, tls))).await
    }

    /// Start over TLS with `tls` (a certificate signed by `ca`, or not).
    pub async fn start_full(
        time: Arc<dyn TimeSource>,
        tweak: impl FnOnce(StoreConfig) -> StoreConfig,
        limits: fushi_server::Limits,
        tls: Option<(certs::TestCa, fushi_server::ServerTls)>,
    ) -> Server {
        Server::start_storage(time, tweak, StorageOptions::default(), limits, tls).await
    }

    /// Start with device tokens living `ttl_ms` unless renewed.
    pub async fn start_token_ttl(time: Arc<dyn TimeSource>, ttl_ms: i64) -> Server {
        Server::start_storage(
            time,
            |c| c,
            StorageOptions {
                token_ttl_ms: Some(ttl_ms),
            },
            fushi_server::Limits::default(),
            None,
        )
        .await
    }

    /// [`Server::start_full`] with storage `options`, on the backend
    /// `FUSHI_TEST_BACKEND` names.
    pub async fn start_storage(
        time: Arc<dyn TimeSource>,
        tweak: impl FnOnce(StoreConfig) -> StoreConfig,
        options: StorageOptions,
        limits: fushi_server::Limits,
        tls: Option<(certs::TestCa, fushi_server::ServerTls)>,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (storage, sqlite, database) =
            open_storage(Backend::from_env(), dir.path(), time, tweak, options);
        let (ca, tls) = tls.map_or((None, None), |(ca, tls)| (Some(ca), Some(tls)));
        let running =
            RunningServer::start_tls(storage.clone(), ([127, 0, 0, 1], 0).into(), limits, tls)
                .await
                .unwrap();
        let url = running.url();
        Server {
            storage,
            sqlite,
            database,
            running,
            url,
            ca,
            _dir: dir,
        }
    }

    /// The sync settings of a phone of this server: its URL, the token,
    /// and the test CA pinned (TLS) or cleartext allowed (plain HTTP).
    pub fn config(&self, token: &str) -> SyncConfig {
        let mut config = SyncConfig::new(&self.url, token);
        match &self.ca {
            Some(ca) => config.trust = Trust::PinnedCa(ca.pem.clone()),
            None => config.allow_cleartext = true,
        }
        config
    }

    /// Issue a token for a new user.
    pub fn user(&self, role: Role, community: &str) -> (Actor, String) {
        let actor = Actor {
            user: Uuid::now_v7(),
            role,
            community: community.into(),
        };
        let token = tokens::generate().unwrap();
        self.storage
            .add_token(&tokens::hash(&token), &actor)
            .unwrap();
        (actor, token)
    }

    /// A phone for a new user.
    pub fn phone(&self, role: Role, community: &str) -> Phone {
        let (actor, token) = self.user(role, community);
        let config = self.config(&token);
        Phone::with_config(actor, token, config)
    }

    /// What the server holds that a reader of `community` may see.
    pub fn snapshot_for(&self, community: &str) -> Vec<RowData> {
        in_scope(self.held().snapshot().unwrap(), community)
    }

    /// What the server holds, every row whole, in a store of its own (a
    /// copy read through the storage's pull, whatever the backend): look
    /// rows up in it as in any store.
    pub fn held(&self) -> Held {
        held(&*self.storage)
    }

    /// Write on the server itself as `actor` (fixtures; see
    /// [`fushi_server::storage::write_as`]).
    pub fn write_as<T>(
        &self,
        actor: &Actor,
        write: impl FnOnce(&Store) -> fushi_core::Result<T>,
    ) -> T {
        fushi_server::storage::write_as(&*self.storage, actor, write).unwrap()
    }

    /// Everything the server has written down, as bytes, named: each file
    /// in its folder (SQLite: the databases and what their write-ahead
    /// logs still hold), or its PostgreSQL database as `pg_dump` writes it.
    pub fn stored_bytes(&self) -> Vec<(String, Vec<u8>)> {
        match &self.database {
            Some(db) => {
                let out = std::process::Command::new("pg_dump")
                    .args(["--data-only", "-d", db])
                    .output()
                    .expect("pg_dump runs");
                assert!(out.status.success(), "pg_dump failed");
                vec![("the database".into(), out.stdout)]
            }
            None => std::fs::read_dir(self.dir())
                .unwrap()
                .flatten()
                .filter(|e| e.path().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect(),
        }
    }

    /// The folder of the server's files (`server.db`, `server.db.tokens`).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stop gracefully.
    pub async fn stop(self) {
        self.running.stop().await.unwrap();
    }
}

/// A copy of what a server holds, in a store of its own.
pub struct Held {
    store: Store,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Held {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Copy everything `storage` holds (all communities, every row whole) into
/// a store of its own.
pub fn held(storage: &dyn SyncStorage) -> Held {
    use fushi_core::store::{PageLimit, Position, Scope};
    let dir = tempfile::tempdir().unwrap();
    // On the server's time: rows stamped by a test's server clock are not
    // "ahead" of the copy.
    let store = Store::open_with(
        dir.path().join("held.db"),
        fushi_core::crdt::ManualTime::new(storage.now_ms()),
        StoreConfig {
            search_in_background: false,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let mut pos = Position {
        floor: -1,
        after: -1,
    };
    loop {
        let page = storage
            .pull(&Scope::default(), pos, PageLimit::rows(1_000))
            .unwrap();
        store.apply_remote(&page.changes).unwrap();
        if !page.more {
            break;
        }
        pos = pos.after_page(&page);
    }
    Held { store, _dir: dir }
}

/// The page that holds everything from the start, whole: every row with
/// every cell and its winning stamp (a set's removed tags left out).
fn whole_page() -> (fushi_core::store::Position, fushi_core::store::PageLimit) {
    (
        fushi_core::store::Position {
            floor: -1,
            after: -1,
        },
        fushi_core::store::PageLimit {
            rows: 1_000_000,
            bytes: usize::MAX,
        },
    )
}

/// Every row `storage` holds in `scope`, whole, as its pull sends them.
pub fn pull_whole(
    storage: &dyn SyncStorage,
    scope: &fushi_core::store::Scope,
) -> Vec<fushi_core::crdt::RowChange> {
    let (pos, limit) = whole_page();
    let page = storage.pull(scope, pos, limit).unwrap();
    assert!(!page.more);
    page.changes
}

/// Every row `store` holds in `scope`, whole (a phone's received cells
/// are numbered 0, above the floor -1).
pub fn store_whole(
    store: &Store,
    scope: &fushi_core::store::Scope,
) -> Vec<fushi_core::crdt::RowChange> {
    let (pos, limit) = whole_page();
    let page = store.changes_since(pos, limit, scope).unwrap();
    assert!(!page.more);
    page.changes
}

/// Rows a reader of `community` receives: its own, and the city's stations.
pub fn in_scope(rows: Vec<RowData>, community: &str) -> Vec<RowData> {
    rows.into_iter()
        .filter(|r| {
            matches!(
                r.table,
                Table::Station
                    | Table::StationReport
                    | Table::StationCheckin
                    | Table::HolidayCalendar
            ) || r.text("community").as_deref() == Some(community)
        })
        .collect()
}

/// A phone: its store, its sync client, its user and token.
pub struct Phone {
    /// The store.
    pub store: Arc<Store>,
    /// The sync client.
    pub client: SyncClient,
    /// The signed-in user.
    pub actor: Actor,
    /// The user's token.
    pub token: String,
    /// The phone's clock (corrected by the server).
    pub clock: Arc<SystemClock>,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// A phone for `actor` of the server at `url` (plain HTTP: cleartext
    /// allowed, as in every test on loopback), with `tweak` applied to its
    /// sync settings.
    pub fn new(
        url: &str,
        actor: Actor,
        token: String,
        tweak: impl FnOnce(SyncConfig) -> SyncConfig,
    ) -> Phone {
        let config = SyncConfig {
            allow_cleartext: true,
            ..SyncConfig::new(url, token.clone())
        };
        Phone::with_config(actor, token, tweak(config))
    }

    /// A phone for `actor` with these sync settings.
    pub fn with_config(actor: Actor, token: String, config: SyncConfig) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let clock = SystemClock::new();
        let store = Arc::new(
            Store::open_with(
                dir.path().join("phone.db"),
                clock.clone(),
                StoreConfig::default(),
            )
            .unwrap(),
        );
        store.set_actor(Some(actor.clone()));
        let client = SyncClient::new(store.clone(), config)
            .unwrap()
            .with_clock(clock.clone());
        Phone {
            store,
            client,
            actor,
            token,
            clock,
            _dir: dir,
        }
    }

    /// The phone's SQLite file (for tests that write what the app never
    /// would, bypassing the store).
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("phone.db")
    }

    /// Another client over the same store (other URL or settings; cleartext
    /// allowed unless `tweak` says otherwise).
    pub fn client_with(&self, tweak: impl FnOnce(SyncConfig) -> SyncConfig) -> SyncClient {
        self.try_client_with(tweak).unwrap()
    }

    /// [`Phone::client_with`], the error if the settings are refused.
    pub fn try_client_with(
        &self,
        tweak: impl FnOnce(SyncConfig) -> SyncConfig,
    ) -> fushi_core::Result<SyncClient> {
        let config = SyncConfig {
            allow_cleartext: true,
            ..SyncConfig::new("", self.token.clone())
        };
        SyncClient::new(self.store.clone(), tweak(config))
    }

    /// Everything this phone holds.
    pub fn snapshot(&self) -> Vec<RowData> {
        self.store.snapshot().unwrap()
    }
}

/// A fresh install of the app: its own file, no user set, a sync client
/// for `server` with `token` (empty: none yet, or the one it will get).
pub struct Install {
    /// The store.
    pub store: Arc<Store>,
    /// The sync client.
    pub client: SyncClient,
    _dir: tempfile::TempDir,
}

/// A fresh install syncing with `server` with `token`.
pub fn install(server: &Server, token: &str) -> Install {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_with(
            dir.path().join("phone.db"),
            SystemClock::new(),
            StoreConfig::default(),
        )
        .unwrap(),
    );
    let client = SyncClient::new(store.clone(), server.config(token)).unwrap();
    Install {
        store,
        client,
        _dir: dir,
    }
}

/// A sample item.
pub fn item(title: &str) -> NewItem {
    NewItem {
        title: title.into(),
        description: Some("孩子长大了，免费送给需要的邻居".into()),
        category: "kids".into(),
        condition: Some("like_new".into()),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        lat: Some(22.2575),
        lon: Some(113.5221),
        photos: vec![sample_photo_ref()],
        ..Default::default()
    }
}

/// The photo reference of [`sample_item`]: a reference with no bytes
/// behind it (the tests that follow photo bytes are in `tests/photos.rs`).
pub fn sample_photo_ref() -> String {
    fushi_core::photo::PhotoRef::of(b"sample photo 1").to_string()
}

/// A sample station.
pub fn station(name: &str) -> NewStation {
    NewStation {
        name: name.into(),
        address: Some("前山街道福石路（示例）".into()),
        lat: 22.2561,
        lon: 113.5198,
        kind: "cool_station".into(),
        amenities: vec!["drinking_water".into(), "seating".into()],
        opening_hours: Some("Mo-Su 08:00-20:00".into()),
        host_org: Some("福石社区居委会（示例）".into()),
        contact: None,
        note: None,
    }
}

/// The protocol headers and a bearer token, for hand-made requests.
pub fn raw(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .bearer_auth(token)
        .header("Fushi-Protocol", "1")
        .header(
            "Fushi-Schema",
            fushi_core::store::SCHEMA_VERSION.to_string(),
        )
}

pub mod certs;
pub mod faults;
pub mod pg;
pub mod proxy;

/// An HTTP client for hand-made requests (the rustls provider installed
/// first: the sync client's reqwest features reach this one too).
pub fn http() -> reqwest::Client {
    http_builder().build().unwrap()
}

/// [`http`]'s builder, to change settings.
pub fn http_builder() -> reqwest::ClientBuilder {
    fushi_core::sync::install_crypto_provider();
    reqwest::Client::builder()
}

/// A photo as a phone camera gives it: a `w`×`h` JPEG of noise seeded by
/// `seed` (so every photo differs, and compresses like a real one), with an
/// EXIF block carrying a GPS position. Made at test time.
pub fn camera_jpeg(seed: u64, w: u32, h: u32, quality: u8) -> Vec<u8> {
    use img_parts::ImageEXIF;
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let img = image::RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x & 0x3F) as u8;
        // A smooth picture with grain: what a phone photo compresses like.
        image::Rgb([
            ((px * 200 / w) as u8).wrapping_add(n),
            ((py * 200 / h) as u8).wrapping_add(n / 2),
            (((px + py) * 100 / (w + h)) as u8).wrapping_add(n),
        ])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, quality)
        .encode_image(&img)
        .unwrap();
    let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(plain.into()).unwrap();
    jpeg.set_exif(Some(img_parts::Bytes::from_static(
        b"MM\0*\0\0\0\x08GPSLatitude=31/1,13/1,4812/100 N;GPSLongitude=121/1,28/1,1234/100 E",
    )));
    jpeg.encoder().bytes().to_vec()
}

/// The scene most attack tests start from: a resident who posted a bike and
/// grid staff who posted a station, both synced. Returns the two phones and
/// the two rows.
pub async fn bike_and_station(server: &Server) -> (Phone, Phone, Uuid, Uuid) {
    let li = server.phone(Role::Resident, "fushi");
    let staff = server.phone(Role::GridStaff, "fushi");
    let bike = li.store.post_item(item("九成新儿童自行车")).unwrap();
    let st = staff
        .store
        .post_station(station("福石清凉驿站（示例）"))
        .unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    (li, staff, bike, st)
}

/// Push `changes` by hand with `token`; the answer's status and body.
pub async fn push_raw(
    url: &str,
    token: &str,
    changes: &[fushi_core::crdt::RowChange],
) -> (reqwest::StatusCode, serde_json::Value) {
    let (sites, rows) = fushi_core::sync::wire::encode_rows(changes);
    let body = serde_json::to_vec(&fushi_core::sync::wire::PushRequest { sites, rows }).unwrap();
    send_raw(
        raw(
            &http(),
            reqwest::Method::POST,
            &format!("{url}/v1/push"),
            token,
        )
        .header("content-type", "application/json")
        .body(body),
    )
    .await
}

/// Send a hand-made request; the answer's status and JSON body.
pub async fn send_raw(req: reqwest::RequestBuilder) -> (reqwest::StatusCode, serde_json::Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// The outbox of a scratch store where `actor` wrote with `write`: how a
/// modified app would build a change the real app never sends.
pub fn forged(actor: Actor, write: impl FnOnce(&Store)) -> Vec<fushi_core::crdt::RowChange> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path().join("scratch.db"),
        SystemClock::new(),
        StoreConfig::default(),
    )
    .unwrap();
    store.set_actor(Some(actor));
    write(&store);
    store
        .changes_since(
            fushi_core::store::Position::default(),
            fushi_core::store::PageLimit::rows(10_000),
            &fushi_core::store::Scope::default(),
        )
        .unwrap()
        .changes
}

/// A single-cell change to an existing row, stamped now by a new site.
pub fn cell_change(
    table: &str,
    id: Uuid,
    column: &str,
    value: fushi_core::crdt::Value,
) -> fushi_core::crdt::RowChange {
    use fushi_core::crdt::{Cell, CellOp, Hlc, RowChange, SiteId, Stamp};
    RowChange {
        table: table.into(),
        id,
        cells: vec![Cell {
            column: column.into(),
            op: CellOp::Set(value),
            stamp: Stamp {
                clock: Hlc::new(SystemClock::new().now_ms(), 0),
                site: SiteId(Uuid::new_v4()),
            },
        }],
    }
}

/// A change of `cells` to row `id` of `table`, every cell stamped `clock` by
/// a new site: how a hand-written request looks.
pub fn change_at(
    table: &str,
    id: Uuid,
    clock: fushi_core::crdt::Hlc,
    cells: &[(&str, fushi_core::crdt::Value)],
) -> fushi_core::crdt::RowChange {
    use fushi_core::crdt::{Cell, CellOp, RowChange, SiteId, Stamp};
    let site = SiteId(Uuid::new_v4());
    RowChange {
        table: table.into(),
        id,
        cells: cells
            .iter()
            .map(|(c, v)| Cell {
                column: (*c).into(),
                op: CellOp::Set(v.clone()),
                stamp: Stamp { clock, site },
            })
            .collect(),
    }
}

/// How many items a store holds (its snapshot's `item` rows).
pub fn items_in(store: &Store) -> usize {
    store
        .snapshot()
        .unwrap()
        .iter()
        .filter(|r| r.table == Table::Item)
        .count()
}
