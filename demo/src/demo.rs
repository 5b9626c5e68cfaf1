//! `fushi-demo`: the project in one command. Seeds a server with
//! SAMPLE stations around Qianshan (invented, labelled as such), starts it on
//! loopback, and runs three phones through their stories against it:
//!
//! 1. a resident posts an item and a skill with no network, syncs later, and
//!    her neighbour sees them and asks for the item;
//! 2. an outdoor worker from the next community pulls the whole city's
//!    stations, finds the nearest open ones on the phone, and reports one
//!    out of water;
//! 3. a grid staff member fixes a station's hours and sees the report; a
//!    phone that claims more rights than its token gives is refused and
//!    rolled back.
//!
//! Each phone is a real SQLite file with the real sync client; the server is
//! the real HTTP server (`fushi-server`'s library).

use fushi_core::crdt::SystemClock;
use fushi_core::model::{NewItem, NewSkill, Station, StationEdit};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{ListingKind, NearbyQuery, SearchQuery};
use fushi_core::sync::{SyncClient, SyncConfig};
use fushi_core::{Error, Result, Store, StoreConfig, Table};
use fushi_server::storage::SyncStorage;
use fushi_server::{import, tokens, RunningServer, SqliteStorage};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

const SAMPLE_STATIONS: &str = include_str!("../data/sample_stations.geojson");

/// A phone in the demo.
struct Phone {
    label: &'static str,
    store: Arc<Store>,
    client: SyncClient,
}

fn phone(dir: &Path, label: &'static str, actor: Actor, token: String, url: &str) -> Result<Phone> {
    let clock = SystemClock::new();
    let store = Arc::new(Store::open_with(
        dir.join(format!("{label}.db")),
        clock.clone(),
        StoreConfig::default(),
    )?);
    store.set_actor(Some(actor));
    // The demo's server runs on loopback in this process, over plain HTTP:
    // cleartext allowed explicitly (a real phone talks HTTPS).
    let config = SyncConfig {
        allow_cleartext: true,
        ..SyncConfig::new(url, token)
    };
    let client = SyncClient::new(store.clone(), config)?.with_clock(clock);
    Ok(Phone {
        label,
        store,
        client,
    })
}

fn issue(storage: &SqliteStorage, role: Role, community: &str) -> Result<(Actor, String)> {
    let actor = Actor {
        user: Uuid::now_v7(),
        role,
        community: community.into(),
    };
    let token = tokens::generate().map_err(|e| Error::Offline(e.to_string()))?;
    storage.add_token(&tokens::hash(&token), &actor)?;
    Ok((actor, token))
}

async fn sync(p: &Phone) -> Result<()> {
    let r = p.client.sync().await?;
    println!(
        "  [{}] sync: pushed {}, refused {}, pulled {} ({} page(s)); {} waiting",
        p.label,
        r.pushed,
        r.rejected,
        r.pulled,
        r.pull_pages,
        p.client.pending_changes()?
    );
    Ok(())
}

fn stations(store: &Store) -> Result<Vec<Station>> {
    Ok(store
        .snapshot()?
        .iter()
        .filter(|r| r.table == Table::Station && !r.flag("deleted"))
        .map(Station::from)
        .collect())
}

fn listings_seen(p: &Phone) -> Result<()> {
    let page = p.store.search(&SearchQuery {
        kinds: vec![ListingKind::Item, ListingKind::Skill],
        limit: 20,
        ..Default::default()
    })?;
    println!("  [{}] sees {} listing(s):", p.label, page.hits.len());
    for h in page.hits {
        println!("      - {:?} 「{}」 ({})", h.kind, h.title, h.status);
    }
    Ok(())
}

/// Run the demo; `db` keeps the server's data in that file.
pub fn run(db: Option<PathBuf>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Offline(e.to_string()))?;
    rt.block_on(run_async(db))
}

async fn run_async(db: Option<PathBuf>) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| Error::Offline(e.to_string()))?;
    let db = db.unwrap_or_else(|| dir.path().join("server.db"));
    let started = std::time::Instant::now();

    println!("福石共享家 Fushi Share — demo (all places and people below are SAMPLE data)\n");
    let storage = Arc::new(SqliteStorage::open(&db)?);
    let inputs = import::parse_geojson(SAMPLE_STATIONS.as_bytes(), "fushi")?;
    let report = import::import(&*storage, &inputs)?;
    println!(
        "server: {} sample stations imported around Qianshan, Zhuhai ({} already there)",
        report.added.len(),
        report.skipped
    );
    let (resident, t_res) = issue(&storage, Role::Resident, "fushi")?;
    let (neighbour, t_nb) = issue(&storage, Role::Resident, "fushi")?;
    let (worker, t_wk) = issue(&storage, Role::Resident, "cuiwei")?;
    let (staff, t_st) = issue(&storage, Role::GridStaff, "fushi")?;
    let server = RunningServer::start(storage.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| Error::Offline(e.to_string()))?;
    let url = server.url();
    println!("server: listening on {url} (SQLite at a temporary file)\n");

    let d = dir.path();
    let li = phone(d, "resident 李阿姨", resident.clone(), t_res.clone(), &url)?;
    let wang = phone(d, "neighbour 王先生", neighbour, t_nb, &url)?;
    let chen = phone(d, "outdoor worker 陈师傅", worker, t_wk, &url)?;
    let zhao = phone(d, "grid staff 赵网格员", staff, t_st, &url)?;

    println!("1. A resident posts with no signal; her neighbour sees it after both sync");
    let bike = li.store.post_item(NewItem {
        title: "九成新儿童自行车".into(),
        description: Some("孩子长大了，免费送给需要的邻居".into()),
        category: "kids".into(),
        condition: Some("like_new".into()),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        lat: Some(22.2575),
        lon: Some(113.5221),
        ..Default::default()
    })?;
    li.store.post_skill(NewSkill {
        title: "小家电维修，周末有空".into(),
        description: Some("电饭煲、风扇、台灯，义务帮忙看看".into()),
        category: "appliance_repair".into(),
        availability: Some("周六、周日下午".into()),
        ..Default::default()
    })?;
    let offline = SyncClient::new(
        li.store.clone(),
        SyncConfig {
            request_timeout: std::time::Duration::from_secs(2),
            // Loopback, plain HTTP (see `phone`); offline is offline: no retry.
            allow_cleartext: true,
            retry: fushi_core::sync::RetryPolicy::none(),
            ..SyncConfig::new("http://127.0.0.1:9", t_res)
        },
    )?;
    match offline.sync().await {
        Err(Error::Offline(why)) => println!(
            "  [{}] no network ({why}); {} change(s) wait in the outbox, nothing lost",
            li.label,
            offline.pending_changes()?
        ),
        other => println!("  [{}] unexpected: {other:?}", li.label),
    }
    sync(&li).await?;
    sync(&wang).await?;
    listings_seen(&wang)?;
    wang.store
        .request_item(bike, Some("周六上午可以来拿吗？".into()))?;
    sync(&wang).await?;
    sync(&li).await?;
    println!(
        "  [{}] her item 「{}」 has a request from a neighbour\n",
        li.label,
        li.store.item(bike)?.title
    );

    println!("2. An outdoor worker from the next community gets the whole city's stations");
    sync(&chen).await?;
    println!(
        "  [{}] holds {} stations city-wide and {} Fushi listings (not his community)",
        chen.label,
        stations(&chen.store)?.len(),
        chen.store
            .snapshot()?
            .iter()
            .filter(|r| r.table == Table::Item)
            .count()
    );
    // His position stays on the phone: the query below never leaves it.
    let here = (22.2555, 113.5200);
    let near = chen.store.nearest_stations(&NearbyQuery {
        lat: here.0,
        lon: here.1,
        radius_m: 2_000.0,
        limit: 3,
        amenities: vec!["drinking_water".into()],
        ..Default::default()
    })?;
    println!("  [{}] nearest stations with drinking water:", chen.label);
    for s in &near {
        let hhmm = |ms: i64| {
            fushi_core::hours::local_from_unix_ms(ms)
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default()
        };
        let open = match (s.open_now, s.closes_at, s.opens_at) {
            (Some(true), Some(c), _) => format!("open now, closes {}", hhmm(c)),
            (Some(true), None, _) => "open now".to_string(),
            (Some(false), _, Some(o)) => format!("closed now, opens {}", hhmm(o)),
            (Some(false), _, None) => "closed now".to_string(),
            (None, _, _) => "hours unknown".to_string(),
        };
        println!(
            "      - {} — {:.0} m, {}, {}",
            s.name,
            s.distance_m,
            open,
            s.amenities.join("/")
        );
    }
    let first = near
        .first()
        .map(|s| s.id)
        .ok_or(Error::NotFound("station"))?;
    chen.store
        .report_station(first, "no_water", Some("水桶空了".into()))?;
    sync(&chen).await?;
    println!();

    println!("3. Grid staff keep stations right; the server enforces who may write what");
    sync(&zhao).await?;
    let reports = zhao.store.station_reports(first)?;
    println!(
        "  [{}] sees {} report(s) at 「{}」: {}",
        zhao.label,
        reports.len(),
        zhao.store.station(first)?.name,
        reports
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    zhao.store.edit_station(
        first,
        StationEdit {
            opening_hours: Some("Mo-Su 07:00-22:00".into()),
            add_amenities: vec!["power_bank".into()],
            ..Default::default()
        },
    )?;
    sync(&zhao).await?;
    sync(&chen).await?;
    let st = chen.store.station(first)?;
    println!(
        "  [{}] now sees hours {} and amenities {}",
        chen.label,
        st.opening_hours.as_deref().unwrap_or("-"),
        st.amenities.join("/")
    );
    // A phone that believes its user is grid staff, with a resident's token.
    li.store.set_actor(Some(Actor {
        role: Role::GridStaff,
        ..resident.clone()
    }));
    li.store.edit_station(
        first,
        StationEdit {
            opening_hours: Some("Mo-Su 00:00-01:00".into()),
            ..Default::default()
        },
    )?;
    li.store.set_actor(Some(resident));
    sync(&li).await?;
    for r in li.client.rejections()? {
        println!(
            "  [{}] the server refused an edit of a {}: {} ({})",
            li.label, r.table, r.reason, r.code
        );
    }
    println!(
        "  [{}] her copy was rolled back to hours {}\n",
        li.label,
        li.store
            .station(first)?
            .opening_hours
            .as_deref()
            .unwrap_or("-")
    );

    for p in [&li, &wang, &chen, &zhao] {
        p.client.sync().await?;
    }
    let same = li.store.snapshot()? == wang.store.snapshot()?
        && wang.store.snapshot()? == zhao.store.snapshot()?;
    println!(
        "all Fushi phones hold identical state: {}; the worker holds every station: {}",
        if same { "yes" } else { "NO" },
        stations(&chen.store)?.len() == stations(storage.store())?.len()
    );
    server
        .stop()
        .await
        .map_err(|e| Error::Offline(e.to_string()))?;
    println!("done in {} ms", started.elapsed().as_millis());
    if same {
        Ok(())
    } else {
        Err(Error::Corrupt("phones did not converge".into()))
    }
}
