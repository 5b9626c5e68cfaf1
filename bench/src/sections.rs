//! The measured sections, in the order of one run, on shared data.

use crate::data::{self, ItemData};
use crate::report::{median, Report};
use crate::{loro_side, mem, plain, BoxResult, Sizes};
use fushi_core::crdt::{RowChange, SiteId, SystemClock};
use fushi_core::model::tables::CONDITIONS;
use fushi_core::model::ItemEdit;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{
    ListingKind, NearbyQuery, PageLimit, Position, Pusher, Scope, SearchQuery,
};
use fushi_core::sync::wire::{encode_rows, PullResponse, PushRequest, MAX_PUSH_ROWS};
use fushi_core::sync::{SyncClient, SyncConfig};
use fushi_core::{Store, StoreConfig, StoreRole};
use fushi_server::storage::SyncStorage;
use fushi_server::{RunningServer, SqliteStorage};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

fn actor_ref(a: &Actor) -> &Actor {
    a
}

fn open_store(path: &Path, actor: &Actor) -> BoxResult<Store> {
    open_store_with(path, actor, true)
}

/// A phone's store; `background`: its full-text index kept up to date by
/// the store's thread (off: only `index_search_now`, so a timing measures
/// one thing at a time).
fn open_store_with(path: &Path, actor: &Actor, background: bool) -> BoxResult<Store> {
    let store = Store::open_with(
        path,
        SystemClock::new(),
        StoreConfig {
            search_in_background: background,
            ..StoreConfig::default()
        },
    )?;
    store.set_actor(Some(actor.clone()));
    Ok(store)
}

/// The search index file of a store and its WAL.
fn index_bytes(path: &Path) -> u64 {
    db_bytes(&fushi_core::store::search_index_path(path))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The database file and its WAL, if any.
fn db_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    file_size(path) + file_size(Path::new(&wal))
}

/// Fold the WAL of a closed store into its file: the store's read-only
/// reader connections cannot do it when they close last.
fn checkpoint(path: &Path) -> BoxResult<()> {
    let c = rusqlite::Connection::open(path)?;
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(c);
    Ok(())
}

/// Bytes of the pages in use (file size less the free list).
fn live_bytes(path: &Path) -> BoxResult<u64> {
    let c = rusqlite::Connection::open(path)?;
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", ".search", ".search-wal", ".search-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Page through a store's changes above `cursor` like a sync would.
fn pages_since(store: &Store, cursor: i64, page: usize) -> BoxResult<Vec<Vec<RowChange>>> {
    let mut pages = Vec::new();
    let mut pos = Position::at(cursor);
    loop {
        let mut p = store.changes_since(pos, PageLimit::rows(page), &Scope::default())?;
        let next = pos.after_page(&p);
        if !p.changes.is_empty() {
            pages.push(std::mem::take(&mut p.changes));
        }
        if !p.more || p.next == pos.after {
            break;
        }
        pos = next;
    }
    Ok(pages)
}

fn edit_values(n: usize, round: usize) -> Vec<&'static str> {
    (0..n)
        .map(|i| CONDITIONS[(i + round) % CONDITIONS.len()])
        .collect()
}

/// What the store sections leave for the later ones.
struct Built {
    /// The replica phone's file (100k items applied from the author).
    replica: PathBuf,
    /// The author phone's file size and path.
    author: PathBuf,
    full_pages: Vec<Vec<RowChange>>,
    edit_pages: Vec<Vec<RowChange>>,
    edit_ids: Vec<Uuid>,
}

/// Run every section (or only `only`).
pub fn run_all(sizes: &Sizes, rep: &mut Report, only: Option<&str>) -> BoxResult<()> {
    let want = |s: &str| only.is_none_or(|o| o == s);
    let tmp = tempfile::Builder::new()
        .prefix("fushi-bench-")
        .tempdir_in(std::env::temp_dir())?;
    eprintln!("working in {}", tmp.path().display());
    let items = data::items(sizes.bulk, 42);
    let avg_bytes = items
        .iter()
        .map(|d| {
            d.title.len()
                + d.description.len()
                + d.category.len()
                + d.condition.len()
                + d.mode.len()
                + d.pickup_area.len()
                // lat, lon, created_at, expires_at; 16-byte id; 36-char owner;
                // community; status
                + 4 * 8 + 16 + 36 + "fushi".len() + "available".len()
        })
        .sum::<usize>() as f64
        / items.len() as f64;
    rep.put("data_item_bytes_avg", avg_bytes);
    let actor = Actor {
        user: Uuid::new_v4(),
        role: Role::Resident,
        community: "fushi".into(),
    };

    if only == Some("editapply") {
        // Profiling aid: the edit apply, many times over.
        let a_path = tmp.path().join("a.db");
        let a = open_store(&a_path, &actor)?;
        let ids = a.post_items(items.iter().map(ItemData::to_new_item).collect())?;
        let full = pages_since(&a, 0, sizes.page)?;
        let cursor = a.current_seq()?;
        let step = (sizes.bulk / sizes.edits).max(1);
        let values = edit_values(sizes.edits, 1);
        for i in 0..sizes.edits {
            a.edit_item(
                ids[(i * step) % ids.len()],
                ItemEdit {
                    condition: Some(values[i].to_owned()),
                    ..ItemEdit::default()
                },
            )?;
        }
        let edits = pages_since(&a, cursor, sizes.page)?;
        let b_path = tmp.path().join("b.db");
        let b = open_store(&b_path, &actor)?;
        for p in &full {
            b.apply_remote(p)?;
        }
        drop(b);
        checkpoint(&b_path)?;
        let mut runs = Vec::new();
        for r in 0..20 {
            let path = tmp.path().join(format!("e{r}.db"));
            std::fs::copy(&b_path, &path)?;
            let b = open_store(&path, &actor)?;
            let t = Instant::now();
            for p in &edits {
                b.apply_remote(p)?;
            }
            runs.push(sizes.edits as f64 / t.elapsed().as_secs_f64());
            drop(b);
            remove_db(&path);
        }
        rep.put("edit_apply_per_s", median(runs));
        let owner = actor.user.to_string();
        let (_, pids, from) = plain_bulk(tmp.path(), "pb.db", true, &items, &owner)?;
        let eids: Vec<(Uuid, &str)> = (0..sizes.edits)
            .map(|i| (pids[(i * step) % pids.len()], values[i]))
            .collect();
        let mut runs = Vec::new();
        for r in 0..20 {
            let path = tmp.path().join(format!("pe{r}.db"));
            std::fs::copy(&from, &path)?;
            let p = plain::Plain::create_or_open(&path)?;
            let t = Instant::now();
            p.updates(&eids, true)?;
            runs.push(sizes.edits as f64 / t.elapsed().as_secs_f64());
            drop(p);
            remove_db(&path);
        }
        rep.put("updates_plain_one_tx_per_s", median(runs));
        return Ok(());
    }
    if only == Some("replica") {
        // Profiling aid: the full replica applied to empty phones, again
        // and again (the index left to wait, as a sync leaves it), and the
        // index built once.
        let a = open_store(&tmp.path().join("a.db"), &actor)?;
        a.post_items(items.iter().map(ItemData::to_new_item).collect())?;
        let full = pages_since(&a, 0, sizes.page)?;
        drop(a);
        let mut runs = Vec::new();
        for r in 0..5 {
            let path = tmp.path().join(format!("r{r}.db"));
            let b = open_store_with(&path, &actor, false)?;
            let t = Instant::now();
            for p in &full {
                b.apply_remote(p)?;
            }
            runs.push(sizes.bulk as f64 / t.elapsed().as_secs_f64());
            if r == 0 {
                // And the index built once, alone.
                let t = Instant::now();
                let n = b.index_search_now()?;
                rep.put(
                    "replica_index_rows_per_s",
                    n as f64 / t.elapsed().as_secs_f64(),
                );
            }
            drop(b);
            remove_db(&path);
        }
        rep.put("replica_apply_rows_per_s", median(runs));
        return Ok(());
    }
    if only == Some("posts") {
        // Profiling aid: only the posts, store and plain.
        let path = tmp.path().join("posts.db");
        let store = open_store(&path, actor_ref(&actor))?;
        let t = Instant::now();
        for d in &items[..sizes.posts] {
            store.post_item(d.to_new_item())?;
        }
        rep.put(
            "posts_store_per_s",
            sizes.posts as f64 / t.elapsed().as_secs_f64(),
        );
        let p = plain::Plain::create(&tmp.path().join("plain.db"), true)?;
        let t = Instant::now();
        p.posts(&items[..sizes.posts], &actor.user.to_string(), now_ms())?;
        rep.put(
            "posts_plain_per_s",
            sizes.posts as f64 / t.elapsed().as_secs_f64(),
        );
        return Ok(());
    }
    let mut built = None;
    if want("store") {
        built = Some(store_sections(sizes, rep, tmp.path(), &items, &actor)?);
    }
    if only == Some("plain") {
        plain_sections(sizes, rep, tmp.path(), &items, &actor)?;
    }
    if want("store") || want("loro") {
        loro_sections(sizes, rep, &items, &actor)?;
    }
    if let Some(b) = &built {
        storage_section(rep, b)?;
        memory_section(sizes, rep, tmp.path(), b)?;
        wire_section(rep, b)?;
    }
    if want("queries") {
        query_sections(sizes, rep, tmp.path(), &items, &actor, built.as_ref())?;
    }
    rep.ratio(
        "ratio_posts_vs_plain",
        "posts_store_per_s",
        "posts_plain_per_s",
    );
    rep.ratio(
        "ratio_posts_vs_plain_nofts",
        "posts_store_per_s",
        "posts_plain_nofts_per_s",
    );
    rep.ratio(
        "ratio_bulk_vs_plain_bulk",
        "bulk_store_rows_per_s",
        "bulk_plain_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_vs_plain_bulk",
        "replica_apply_rows_per_s",
        "replica_base_plain_bulk_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_vs_plain_nofts_bulk",
        "replica_apply_rows_per_s",
        "replica_base_plain_nofts_bulk_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_nofts_diag_vs_plain_nofts_bulk",
        "replica_apply_nofts_diag_rows_per_s",
        "replica_base_plain_nofts_bulk_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_nofts_diag_vs_loro",
        "replica_apply_nofts_diag_rows_per_s",
        "loro_replica_import_rows_per_s",
    );
    rep.ratio(
        "ratio_edits_vs_plain_updates_each_tx",
        "edits_store_per_s",
        "updates_plain_each_tx_per_s",
    );
    rep.ratio(
        "ratio_edit_apply_vs_plain_updates",
        "edit_apply_per_s",
        "updates_plain_one_tx_per_s",
    );
    rep.ratio(
        "ratio_edit_apply_vs_plain_nofts_updates",
        "edit_apply_per_s",
        "updates_plain_nofts_one_tx_per_s",
    );
    rep.ratio(
        "ratio_replica_vs_loro",
        "replica_apply_rows_per_s",
        "loro_replica_import_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_searchable_vs_loro",
        "replica_searchable_rows_per_s",
        "loro_replica_import_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_index_vs_loro",
        "replica_index_rows_per_s",
        "loro_replica_import_rows_per_s",
    );
    rep.ratio(
        "ratio_replica_vs_loro_persist_diag",
        "replica_apply_rows_per_s",
        "loro_replica_import_persist_diag_rows_per_s",
    );
    rep.ratio(
        "ratio_edit_apply_vs_loro",
        "edit_apply_per_s",
        "loro_edit_import_per_s",
    );
    rep.ratio(
        "ratio_file_vs_plain",
        "storage_replica_file_bytes",
        "storage_plain_file_bytes",
    );
    rep.ratio(
        "ratio_live_vs_plain",
        "storage_replica_live_bytes",
        "storage_plain_live_bytes",
    );
    rep.ratio(
        "ratio_file_vs_plain_nofts",
        "storage_replica_file_bytes",
        "storage_plain_nofts_file_bytes",
    );
    rep.ratio(
        "ratio_author_file_vs_plain",
        "storage_author_file_bytes",
        "storage_plain_file_bytes",
    );
    if want("sync") {
        sync_section(sizes, rep, &items)?;
    }
    if want("serverstore") {
        server_store_section(sizes, rep, tmp.path(), &items)?;
    }
    if want("hostile") {
        crate::hostile::hostile_section(rep, tmp.path(), sizes.sync_community)?;
    }
    if want("photos") {
        crate::photos::photos_section(rep, tmp.path(), sizes.sync_community.min(2000))?;
    }
    Ok(())
}

/// Plain baselines: the search-indexed one and the one without.
const PLAIN: [(bool, &str); 2] = [(true, "plain"), (false, "plain_nofts")];

fn plain_bulk(
    dir: &Path,
    name: &str,
    fts: bool,
    items: &[ItemData],
    owner: &str,
) -> BoxResult<(f64, Vec<Uuid>, PathBuf)> {
    let path = dir.join(name);
    let p = plain::Plain::create(&path, fts)?;
    let t = Instant::now();
    let ids = p.bulk(items, owner, now_ms())?;
    let rate = items.len() as f64 / t.elapsed().as_secs_f64();
    drop(p);
    Ok((rate, ids, path))
}

/// Rename a closed database (and any WAL, and its search index) to `to`.
fn move_db(from: &Path, to: &Path) -> BoxResult<()> {
    for suffix in ["", "-wal", "-shm", ".search", ".search-wal", ".search-shm"] {
        let f = PathBuf::from(format!("{}{suffix}", from.display()));
        if f.exists() {
            std::fs::rename(&f, format!("{}{suffix}", to.display()))?;
        }
    }
    Ok(())
}

/// The store sections, each repeat interleaved with the same work done by
/// the plain baselines, so that load from elsewhere on the machine falls
/// on both sides of every ratio alike.
fn store_sections(
    sizes: &Sizes,
    rep: &mut Report,
    dir: &Path,
    items: &[ItemData],
    actor: &Actor,
) -> BoxResult<Built> {
    let owner = actor.user.to_string();
    eprintln!(
        "writes: {} posts, one transaction each (store, plain, plain_nofts)",
        sizes.posts
    );
    let mut store_runs = Vec::new();
    let mut plain_runs = [Vec::new(), Vec::new()];
    for r in 0..sizes.repeats {
        let path = dir.join(format!("posts{r}.db"));
        let store = open_store(&path, actor)?;
        let input: Vec<_> = items[..sizes.posts]
            .iter()
            .map(ItemData::to_new_item)
            .collect();
        let t = Instant::now();
        for new in input {
            store.post_item(new)?;
        }
        store_runs.push(sizes.posts as f64 / t.elapsed().as_secs_f64());
        drop(store);
        remove_db(&path);
        for (k, (fts, tag)) in PLAIN.iter().enumerate() {
            let path = dir.join(format!("{tag}_posts{r}.db"));
            let p = plain::Plain::create(&path, *fts)?;
            let t = Instant::now();
            p.posts(&items[..sizes.posts], &owner, now_ms())?;
            plain_runs[k].push(sizes.posts as f64 / t.elapsed().as_secs_f64());
            drop(p);
            remove_db(&path);
        }
    }
    rep.put("posts_store_per_s", median(store_runs));
    for (k, (_, tag)) in PLAIN.iter().enumerate() {
        rep.put(&format!("posts_{tag}_per_s"), median(plain_runs[k].clone()));
    }

    eprintln!(
        "writes: bulk insert of {} items in one transaction",
        sizes.bulk
    );
    let author = dir.join("author.db");
    let mut store_runs = Vec::new();
    let mut plain_runs = [Vec::new(), Vec::new()];
    let mut plain_dbs: [Option<(Vec<Uuid>, PathBuf)>; 2] = [None, None];
    let mut ids = Vec::new();
    for r in 0..sizes.repeats {
        let last = r + 1 == sizes.repeats;
        let path = dir.join(format!("bulk{r}.db"));
        let store = open_store(&path, actor)?;
        let input: Vec<_> = items.iter().map(ItemData::to_new_item).collect();
        let t = Instant::now();
        ids = store.post_items(input)?;
        store_runs.push(sizes.bulk as f64 / t.elapsed().as_secs_f64());
        drop(store);
        checkpoint(&path)?;
        if last {
            move_db(&path, &author)?;
        } else {
            remove_db(&path);
        }
        for (k, (fts, tag)) in PLAIN.iter().enumerate() {
            let (rate, pids, path) =
                plain_bulk(dir, &format!("{tag}_bulk{r}.db"), *fts, items, &owner)?;
            plain_runs[k].push(rate);
            if last {
                rep.put(&format!("storage_{tag}_file_bytes"), db_bytes(&path) as f64);
                rep.put(
                    &format!("storage_{tag}_live_bytes"),
                    live_bytes(&path)? as f64,
                );
                plain_dbs[k] = Some((pids, path));
            } else {
                remove_db(&path);
            }
        }
    }
    rep.put("bulk_store_rows_per_s", median(store_runs));
    for (k, (_, tag)) in PLAIN.iter().enumerate() {
        rep.put(
            &format!("bulk_{tag}_rows_per_s"),
            median(plain_runs[k].clone()),
        );
    }
    rep.put("storage_author_file_bytes", db_bytes(&author) as f64);
    rep.put("storage_author_live_bytes", live_bytes(&author)? as f64);
    let a = open_store(&author, actor)?;

    eprintln!("merge: the full replica as change pages of {}", sizes.page);
    let t = Instant::now();
    let full_pages = pages_since(&a, 0, sizes.page)?;
    rep.put(
        "replica_read_changes_ms",
        t.elapsed().as_secs_f64() * 1000.0,
    );
    let n_full: usize = full_pages.iter().map(Vec::len).sum();
    if n_full != sizes.bulk {
        return Err(format!("full replica has {n_full} rows, not {}", sizes.bulk).into());
    }

    eprintln!(
        "writes: {} single-field edits, one transaction each (store, plain, plain_nofts)",
        sizes.edits
    );
    let step = (sizes.bulk / sizes.edits).max(1);
    let edit_ids: Vec<Uuid> = (0..sizes.edits)
        .map(|i| ids[(i * step) % ids.len()])
        .collect();
    let plain_conns = plain_dbs
        .iter()
        .map(|d| {
            let (pids, path) = d.as_ref().ok_or("no plain database")?;
            let conn = plain::Plain::create_or_open(path)?;
            let eids: Vec<Uuid> = (0..sizes.edits)
                .map(|i| pids[(i * step) % pids.len()])
                .collect();
            Ok((conn, eids))
        })
        .collect::<BoxResult<Vec<_>>>()?;
    let mut store_runs = Vec::new();
    let mut plain_runs = [Vec::new(), Vec::new()];
    let mut cursor = 0;
    for r in 0..sizes.repeats {
        cursor = a.current_seq()?;
        let values = edit_values(edit_ids.len(), r + 1);
        let t = Instant::now();
        for (id, v) in edit_ids.iter().zip(&values) {
            a.edit_item(
                *id,
                ItemEdit {
                    condition: Some((*v).to_owned()),
                    ..ItemEdit::default()
                },
            )?;
        }
        store_runs.push(sizes.edits as f64 / t.elapsed().as_secs_f64());
        for (k, (p, eids)) in plain_conns.iter().enumerate() {
            let edits: Vec<(Uuid, &str)> =
                eids.iter().copied().zip(values.iter().copied()).collect();
            let t = Instant::now();
            p.updates(&edits, false)?;
            plain_runs[k].push(sizes.edits as f64 / t.elapsed().as_secs_f64());
        }
    }
    rep.put("edits_store_per_s", median(store_runs));
    for (k, (_, tag)) in PLAIN.iter().enumerate() {
        rep.put(
            &format!("updates_{tag}_each_tx_per_s"),
            median(plain_runs[k].clone()),
        );
    }
    let edit_pages = pages_since(&a, cursor, sizes.page)?;
    let n_edits: usize = edit_pages.iter().map(Vec::len).sum();
    let n_cells: usize = edit_pages.iter().flatten().map(|c| c.cells.len()).sum();
    if n_edits != sizes.edits || n_cells != sizes.edits {
        return Err(format!("edit pages hold {n_edits} rows and {n_cells} cells").into());
    }

    eprintln!("merge: apply the full replica to an empty phone (with plain bulk inserts between)");
    let replica = dir.join("replica.db");
    let mut store_runs = Vec::new();
    let mut index_runs = Vec::new();
    let mut searchable_runs = Vec::new();
    let mut nofts_runs = Vec::new();
    let mut plain_runs = [Vec::new(), Vec::new()];
    for r in 0..sizes.repeats {
        let path = dir.join(format!("replica{r}.db"));
        let b = open_store_with(&path, actor, false)?;
        let t = Instant::now();
        for p in &full_pages {
            b.apply_remote(p)?;
        }
        let usable = t.elapsed().as_secs_f64();
        store_runs.push(sizes.bulk as f64 / usable);
        // Then the full-text index, in one go (what the store's thread
        // does in the background, without the app waiting for it).
        let t = Instant::now();
        let indexed = b.index_search_now()?;
        let index = t.elapsed().as_secs_f64();
        if indexed as usize != sizes.bulk {
            return Err(format!("indexed {indexed} of {}", sizes.bulk).into());
        }
        index_runs.push(sizes.bulk as f64 / index);
        searchable_runs.push(sizes.bulk as f64 / (usable + index));
        // Counted on a connection of our own: the store's API has no SQL.
        let rows: i64 =
            rusqlite::Connection::open(&path)?
                .query_row("SELECT count(*) FROM item", [], |r| r.get(0))?;
        if rows as usize != sizes.bulk {
            return Err(format!("replica holds {rows} items").into());
        }
        for id in [ids[0], ids[ids.len() / 2], ids[ids.len() - 1]] {
            let theirs = a.fetch_row(fushi_core::Table::Item, id)?;
            let ours = b.fetch_row(fushi_core::Table::Item, id)?;
            // The author has edited since the pages were read: compare titles.
            if theirs.as_ref().map(|r| r.text("title")) != ours.as_ref().map(|r| r.text("title")) {
                return Err("replica differs from the author".into());
            }
        }
        drop(b);
        checkpoint(&path)?;
        if r + 1 == sizes.repeats {
            move_db(&path, &replica)?;
        } else {
            remove_db(&path);
        }
        for (k, (fts, tag)) in PLAIN.iter().enumerate() {
            let (rate, _, path) =
                plain_bulk(dir, &format!("{tag}_base{r}.db"), *fts, items, &owner)?;
            plain_runs[k].push(rate);
            remove_db(&path);
        }
        // Diagnostic: the same apply with the triggers that note items for
        // the search index dropped, to show the merge's own cost.
        let path = dir.join(format!("replica_nofts{r}.db"));
        drop(open_store_with(&path, actor, false)?);
        rusqlite::Connection::open(&path)?
            .execute_batch("DROP TRIGGER item_search_update; DROP TRIGGER item_search_delete;")?;
        let b = open_store_with(&path, actor, false)?;
        let t = Instant::now();
        for p in &full_pages {
            b.apply_remote(p)?;
        }
        nofts_runs.push(sizes.bulk as f64 / t.elapsed().as_secs_f64());
        drop(b);
        remove_db(&path);
    }
    rep.put("replica_apply_rows_per_s", median(store_runs.clone()));
    rep.put("replica_index_rows_per_s", median(index_runs));
    rep.put("replica_searchable_rows_per_s", median(searchable_runs));
    index_stall(sizes, rep, dir, actor, &full_pages)?;
    rep.put(
        "replica_apply_ms",
        sizes.bulk as f64 / median(store_runs) * 1000.0,
    );
    rep.put("replica_apply_nofts_diag_rows_per_s", median(nofts_runs));
    for (k, (_, tag)) in PLAIN.iter().enumerate() {
        rep.put(
            &format!("replica_base_{tag}_bulk_rows_per_s"),
            median(plain_runs[k].clone()),
        );
    }

    eprintln!(
        "merge: apply {} edits from another phone (with plain one-transaction updates between)",
        sizes.edits
    );
    for (p, _) in &plain_conns {
        p.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    let mut store_runs = Vec::new();
    let mut plain_runs = [Vec::new(), Vec::new()];
    for r in 0..sizes.repeats {
        let path = dir.join(format!("edit{r}.db"));
        std::fs::copy(&replica, &path)?;
        let b = open_store(&path, actor)?;
        let t = Instant::now();
        let mut changed = 0;
        for p in &edit_pages {
            changed += b.apply_remote(p)?.changed.len();
        }
        store_runs.push(sizes.edits as f64 / t.elapsed().as_secs_f64());
        let last = edit_ids[edit_ids.len() - 1];
        let want = a
            .fetch_row(fushi_core::Table::Item, last)?
            .map(|r| r.text("condition"));
        let got = b
            .fetch_row(fushi_core::Table::Item, last)?
            .map(|r| r.text("condition"));
        if want != got || changed != sizes.edits {
            return Err(
                format!("edit apply: {changed} changed, last row {got:?} vs {want:?}").into(),
            );
        }
        drop(b);
        remove_db(&path);
        // The same on a fresh copy of the plain database, fresh connection.
        for (k, (_, eids)) in plain_conns.iter().enumerate() {
            let (_, from) = plain_dbs[k].as_ref().ok_or("no plain database")?;
            let path = dir.join(format!("plain_edit{k}_{r}.db"));
            std::fs::copy(from, &path)?;
            let p = plain::Plain::create_or_open(&path)?;
            let values = edit_values(eids.len(), r + 7);
            let edits: Vec<(Uuid, &str)> =
                eids.iter().copied().zip(values.iter().copied()).collect();
            let t = Instant::now();
            p.updates(&edits, true)?;
            plain_runs[k].push(sizes.edits as f64 / t.elapsed().as_secs_f64());
            drop(p);
            remove_db(&path);
        }
    }
    rep.put("edit_apply_per_s", median(store_runs.clone()));
    rep.put(
        "edit_apply_ms",
        sizes.edits as f64 / median(store_runs) * 1000.0,
    );
    for (k, (_, tag)) in PLAIN.iter().enumerate() {
        rep.put(
            &format!("updates_{tag}_one_tx_per_s"),
            median(plain_runs[k].clone()),
        );
    }
    drop(plain_conns);
    for d in plain_dbs.iter().flatten() {
        remove_db(&d.1);
    }
    drop(a);
    Ok(Built {
        replica,
        author,
        full_pages,
        edit_pages,
        edit_ids,
    })
}

/// Writes while the store's thread indexes the full replica in the
/// background (a phone right after its first sync): each is timed, the
/// longest is how long indexing held the writer at most.
fn index_stall(
    sizes: &Sizes,
    rep: &mut Report,
    dir: &Path,
    actor: &Actor,
    full_pages: &[Vec<RowChange>],
) -> BoxResult<()> {
    eprintln!("merge: writes while the search index catches up in the background");
    let path = dir.join("stall.db");
    let b = open_store_with(&path, actor, false)?;
    for p in full_pages {
        b.apply_remote(p)?;
    }
    drop(b);
    // Opened again with the background index: its thread starts at open.
    let b = open_store_with(&path, actor, true)?;
    let t = Instant::now();
    let mut lat = Vec::new();
    let mut k = 0;
    while b.search_index_status()?.pending > 0 {
        let w = Instant::now();
        b.post_item(fushi_core::model::NewItem {
            title: format!("写入 {k}"),
            category: "other".into(),
            mode: "give".into(),
            pickup_area: "福石花园".into(),
            ..Default::default()
        })?;
        lat.push(w.elapsed().as_secs_f64() * 1000.0);
        k += 1;
        std::thread::sleep(std::time::Duration::from_millis(5));
        if t.elapsed().as_secs() > 600 {
            return Err("the background index did not catch up in 10 minutes".into());
        }
    }
    let caught_up = t.elapsed().as_secs_f64();
    rep.put("index_background_s", caught_up);
    rep.put("index_background_rows_per_s", sizes.bulk as f64 / caught_up);
    rep.put("index_write_count", lat.len() as f64);
    rep.put("index_write_median_ms", median(lat.clone()));
    rep.put("index_write_p99_ms", {
        let mut v = lat.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() * 99 / 100).copied().unwrap_or(f64::NAN)
    });
    rep.put(
        "index_write_stall_max_ms",
        lat.iter().copied().fold(0.0, f64::max),
    );
    drop(b);
    remove_db(&path);
    Ok(())
}

/// Only the plain baselines (`--only plain`).
fn plain_sections(
    sizes: &Sizes,
    rep: &mut Report,
    dir: &Path,
    items: &[ItemData],
    actor: &Actor,
) -> BoxResult<()> {
    let owner = actor.user.to_string();
    for (fts, tag) in PLAIN {
        let mut runs = Vec::new();
        for r in 0..sizes.repeats {
            let (rate, _, path) =
                plain_bulk(dir, &format!("{tag}_only{r}.db"), fts, items, &owner)?;
            runs.push(rate);
            remove_db(&path);
        }
        rep.put(&format!("bulk_{tag}_rows_per_s"), median(runs));
    }
    Ok(())
}

fn loro_sections(
    sizes: &Sizes,
    rep: &mut Report,
    items: &[ItemData],
    actor: &Actor,
) -> BoxResult<()> {
    eprintln!("loro: build, export, import");
    let owner = actor.user.to_string();
    let t = Instant::now();
    let (doc, maps) = loro_side::build(items, &owner, now_ms())?;
    rep.put("loro_build_ms", t.elapsed().as_secs_f64() * 1000.0);
    let all = loro_side::export_all(&doc)?;
    rep.put("loro_replica_update_bytes", all.len() as f64);
    rep.put(
        "loro_replica_update_zstd_bytes_per_row",
        zstd_len(&all)? as f64 / sizes.bulk as f64,
    );
    let mut runs = Vec::new();
    let mut replica = None;
    for _ in 0..sizes.repeats {
        let b = loro::LoroDoc::new();
        let t = Instant::now();
        loro_side::import(&b, &all)?;
        runs.push(sizes.bulk as f64 / t.elapsed().as_secs_f64());
        replica = Some(b);
    }
    rep.put("loro_replica_import_rows_per_s", median(runs));
    let replica = replica.ok_or("no Loro replica")?;
    // Diagnostic: a phone must also keep what it imported. Import, export
    // a snapshot and write it to a file (synced), as a Loro app would.
    let mut runs = Vec::new();
    let snap_path =
        std::env::temp_dir().join(format!("fushi-bench-loro-{}.bin", std::process::id()));
    for _ in 0..sizes.repeats {
        let b = loro::LoroDoc::new();
        let t = Instant::now();
        loro_side::import(&b, &all)?;
        let snap = b
            .export(loro::ExportMode::Snapshot)
            .map_err(|e| e.to_string())?;
        let mut f = std::fs::File::create(&snap_path)?;
        f.write_all(&snap)?;
        f.sync_all()?;
        runs.push(sizes.bulk as f64 / t.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_file(&snap_path);
    rep.put("loro_replica_import_persist_diag_rows_per_s", median(runs));
    if let Ok(snap) = replica.export(loro::ExportMode::Snapshot) {
        rep.put("loro_replica_snapshot_bytes", snap.len() as f64);
    }

    let step = (sizes.bulk / sizes.edits).max(1);
    let edited: Vec<loro::LoroMap> = (0..sizes.edits)
        .map(|i| maps[(i * step) % maps.len()].clone())
        .collect();
    let values = edit_values(edited.len(), 1);
    let updates = loro_side::edits(&doc, &edited, &values)?;
    rep.put(
        "loro_edit_update_bytes_per_change",
        updates.len() as f64 / sizes.edits as f64,
    );
    rep.put(
        "loro_edit_update_zstd_bytes_per_change",
        zstd_len(&updates)? as f64 / sizes.edits as f64,
    );
    let mut runs = Vec::new();
    for _ in 0..sizes.repeats {
        let b = replica.fork();
        let t = Instant::now();
        loro_side::import(&b, &updates)?;
        runs.push(sizes.edits as f64 / t.elapsed().as_secs_f64());
    }
    rep.put("loro_edit_import_per_s", median(runs));
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> BoxResult<usize> {
    gzip_len_at(bytes, flate2::Compression::default())
}

/// At the server's level for its answers (fastest).
fn gzip_len_at(bytes: &[u8], level: flate2::Compression) -> BoxResult<usize> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(bytes)?;
    Ok(e.finish()?.len())
}

fn zstd_len(bytes: &[u8]) -> BoxResult<usize> {
    Ok(zstd::bulk::compress(bytes, 3)?.len())
}

/// Sizes of a sequence of messages: raw, gzip, zstd.
#[derive(Default)]
struct Sizes3 {
    raw: usize,
    gzip: usize,
    gzip_fast: usize,
    zstd: usize,
}

impl Sizes3 {
    fn add(&mut self, bytes: &[u8]) -> BoxResult<()> {
        self.raw += bytes.len();
        self.gzip += gzip_len(bytes)?;
        self.gzip_fast += gzip_len_at(bytes, flate2::Compression::fast())?;
        self.zstd += zstd_len(bytes)?;
        Ok(())
    }

    fn put(&self, rep: &mut Report, prefix: &str, per: usize) {
        let per = per.max(1) as f64;
        rep.put(&format!("{prefix}_raw"), self.raw as f64 / per);
        rep.put(&format!("{prefix}_gzip"), self.gzip as f64 / per);
        rep.put(&format!("{prefix}_gzip_fast"), self.gzip_fast as f64 / per);
        rep.put(&format!("{prefix}_zstd"), self.zstd as f64 / per);
    }
}

fn pull_json(page: &[RowChange]) -> BoxResult<Vec<u8>> {
    let (sites, rows) = encode_rows(page);
    Ok(serde_json::to_vec(&PullResponse {
        sites,
        rows,
        next: "7bfe0861d9582ca5.1234000.1234567".into(),
        more: true,
        remaining: 0,
        server_time_ms: now_ms(),
    })?)
}

/// The untagged `Value` deserializer the core had before (derived), to time
/// against the hand-written one on the same pages.
mod old_decode {
    use serde::Deserialize;
    use uuid::Uuid;

    #[derive(Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    pub enum Value {
        Null,
        Int(i64),
        Real(f64),
        Text(String),
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Cell(pub String, pub u8, pub Value, pub u64, pub u32);

    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Row(pub String, pub Uuid, pub Vec<Cell>);

    #[derive(Deserialize)]
    #[allow(dead_code)]
    pub struct Pull {
        pub sites: Vec<Uuid>,
        pub rows: Vec<Row>,
        pub next: String,
        pub more: bool,
        pub server_time_ms: i64,
    }
}

fn wire_section(rep: &mut Report, b: &Built) -> BoxResult<()> {
    eprintln!("wire: decoding pull pages (JSON to row changes)");
    let bodies: Vec<Vec<u8>> = b
        .full_pages
        .iter()
        .map(|p| pull_json(p))
        .collect::<BoxResult<_>>()?;
    let mut new_runs = Vec::new();
    let mut old_runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        for body in &bodies {
            let page: PullResponse = serde_json::from_slice(body)?;
            let rows = fushi_core::sync::wire::decode_rows(&page.sites, &page.rows)?;
            std::hint::black_box(rows);
        }
        new_runs.push(t.elapsed().as_secs_f64() * 1000.0 / bodies.len() as f64);
        let t = Instant::now();
        for body in &bodies {
            let page: old_decode::Pull = serde_json::from_slice(body)?;
            std::hint::black_box(page);
        }
        old_runs.push(t.elapsed().as_secs_f64() * 1000.0 / bodies.len() as f64);
    }
    rep.put("wire_decode_page_ms", median(new_runs));
    rep.put("wire_decode_page_untagged_before_ms", median(old_runs));
    eprintln!("wire: bytes per change");
    for (label, pages) in [("replica", &b.full_pages), ("edit", &b.edit_pages)] {
        let n: usize = pages.iter().map(Vec::len).sum();
        let mut json = Sizes3::default();
        let mut pull = Sizes3::default();
        let mut push = Sizes3::default();
        for page in pages {
            json.add(&serde_json::to_vec(page)?)?;
            pull.add(&pull_json(page)?)?;
        }
        let all: Vec<&RowChange> = pages.iter().flatten().collect();
        for chunk in all.chunks(MAX_PUSH_ROWS) {
            let owned: Vec<RowChange> = chunk.iter().map(|c| (*c).clone()).collect();
            let (sites, rows) = encode_rows(&owned);
            push.add(&serde_json::to_vec(&PushRequest { sites, rows })?)?;
        }
        json.put(
            rep,
            &format!("wire_{label}_rowchange_json_bytes_per_change"),
            n,
        );
        pull.put(rep, &format!("wire_{label}_pull_bytes_per_change"), n);
        push.put(rep, &format!("wire_{label}_push_bytes_per_change"), n);
        // What the sync sends: the compact rows, gzip (both directions).
        let sent = (pull.gzip.max(push.gzip)) as f64 / n.max(1) as f64;
        rep.put(&format!("wire_{label}_bytes_per_change_sent"), sent);
        if label == "replica" {
            let cells: usize = pages.iter().flatten().map(|c| c.cells.len()).sum();
            rep.put("wire_replica_cells_per_row", cells as f64 / n.max(1) as f64);
        }
    }
    let _ = &b.edit_ids;
    Ok(())
}

fn dbstat_bytes(c: &rusqlite::Connection, names: &[&str]) -> BoxResult<i64> {
    let mut total = 0i64;
    for n in names {
        let v: Option<i64> =
            c.query_row("SELECT sum(pgsize) FROM dbstat WHERE name = ?1", [n], |r| {
                r.get(0)
            })?;
        total += v.unwrap_or(0);
    }
    Ok(total)
}

fn storage_section(rep: &mut Report, b: &Built) -> BoxResult<()> {
    eprintln!("storage: file sizes and merge metadata per row");
    // The store's file and its search index file, together.
    rep.put(
        "storage_replica_file_bytes",
        (db_bytes(&b.replica) + index_bytes(&b.replica)) as f64,
    );
    rep.put(
        "storage_replica_index_file_bytes",
        index_bytes(&b.replica) as f64,
    );
    rep.put(
        "storage_replica_total_mb",
        (db_bytes(&b.replica) + index_bytes(&b.replica)) as f64 / 1e6,
    );
    rep.put("storage_replica_live_bytes", live_bytes(&b.replica)? as f64);
    for (label, path) in [("replica", &b.replica), ("author", &b.author)] {
        let c = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let (rows, clk, seq_bytes): (i64, i64, i64) = c.query_row(
            "SELECT count(*), sum(length(_clk)), sum(CASE \
               WHEN _seq IN (0, 1) THEN 0 \
               WHEN _seq BETWEEN -128 AND 127 THEN 1 \
               WHEN _seq BETWEEN -32768 AND 32767 THEN 2 \
               WHEN _seq BETWEEN -8388608 AND 8388607 THEN 3 \
               WHEN _seq BETWEEN -2147483648 AND 2147483647 THEN 4 \
               WHEN _seq BETWEEN -140737488355328 AND 140737488355327 THEN 6 \
               ELSE 8 END) FROM item",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let dbstat_ok = c
            .query_row("SELECT count(*) FROM dbstat", [], |r| r.get::<_, i64>(0))
            .is_ok();
        if !dbstat_ok {
            rep.note("storage_dbstat", "not available");
            continue;
        }
        let seq_index = dbstat_bytes(&c, &["item_seq"])?;
        let sites_tags = dbstat_bytes(
            &c,
            &["crdt_site", "sqlite_autoindex_crdt_site_1", "crdt_tag"],
        )?;
        let rows_f = rows.max(1) as f64;
        // One record-header byte each for _clk and _seq.
        let inline = (clk + seq_bytes + 2 * rows) as f64;
        rep.put(
            &format!("storage_{label}_clk_bytes_per_row"),
            clk as f64 / rows_f,
        );
        rep.put(
            &format!("storage_{label}_seq_index_bytes_per_row"),
            seq_index as f64 / rows_f,
        );
        rep.put(
            &format!("storage_{label}_meta_bytes_per_row"),
            (inline + seq_index as f64 + sites_tags as f64) / rows_f,
        );
        let table = dbstat_bytes(&c, &["item"])?;
        let index = fushi_core::store::search_index_path(path);
        let fts: i64 = rusqlite::Connection::open_with_flags(
            &index,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?
        .query_row(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'item_fts%'",
            [],
            |r| r.get(0),
        )?;
        rep.put(
            &format!("storage_{label}_item_table_bytes_per_row"),
            table as f64 / rows_f,
        );
        rep.put(
            &format!("storage_{label}_fts_bytes_per_row"),
            fts as f64 / rows_f,
        );
    }
    Ok(())
}

/// Apply the full replica in a child process, page by page as decoded from
/// the wire, then let the store's thread index it (as after a sync), and
/// report the peak memory of the whole and of the apply alone.
fn memory_section(sizes: &Sizes, rep: &mut Report, dir: &Path, b: &Built) -> BoxResult<()> {
    eprintln!(
        "memory: peak while applying {} listings (child process)",
        sizes.bulk
    );
    let pages_file = dir.join("pages.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&pages_file)?);
        for page in &b.full_pages {
            f.write_all(&pull_json(page)?)?;
            f.write_all(b"\n")?;
        }
    }
    let db = dir.join("memory.db");
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--child-apply")
        .arg(&pages_file)
        .arg(&db)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "child apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mib = |k: &str| v[k].as_f64().unwrap_or(f64::NAN) / (1024.0 * 1024.0);
    rep.put("mem_replica_apply_rss_delta_mib", mib("rss_delta"));
    rep.put(
        "mem_replica_apply_only_rss_delta_mib",
        mib("rss_delta_apply"),
    );
    rep.put(
        "mem_replica_index_after_ms",
        v["index_ms"].as_f64().unwrap_or(f64::NAN),
    );
    rep.put("mem_replica_apply_heap_peak_delta_mib", mib("heap_delta"));
    rep.put("mem_replica_apply_rss_base_mib", mib("rss_base"));
    rep.put(
        "mem_replica_apply_child_ms",
        v["ms"].as_f64().unwrap_or(f64::NAN),
    );
    remove_db(&db);
    if let Some(keep) = std::env::var_os("FUSHI_BENCH_KEEP_PAGES") {
        std::fs::copy(&pages_file, keep)?;
    }
    let _ = std::fs::remove_file(&pages_file);
    Ok(())
}

/// The child side of [`memory_section`].
pub fn child_apply(args: &[String]) -> BoxResult<()> {
    let [pages, db] = args else {
        return Err("--child-apply PAGES DB".into());
    };
    let store = Store::open_with(db, SystemClock::new(), StoreConfig::default())?;
    let reader = std::io::BufReader::new(std::fs::File::open(pages)?);
    // Touch the reader pool once, as the app would have.
    store.current_seq()?;
    let rss_base = mem::proc_status_bytes("VmRSS").unwrap_or(0);
    let reset = mem::reset_rss_peak();
    mem::reset_heap_peak();
    let heap_base = mem::heap_now();
    let t = Instant::now();
    // As the sync client does: the index waits while the pages arrive,
    // and is built after them.
    let hold = store.hold_search_index();
    for line in reader.lines() {
        let line = line?;
        let page: PullResponse = serde_json::from_str(&line)?;
        let changes = fushi_core::sync::wire::decode_rows(&page.sites, &page.rows)?;
        drop(page);
        store.apply_remote(&changes)?;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let hwm_apply = mem::proc_status_bytes("VmHWM").unwrap_or(0);
    drop(hold);
    // Then until the store's thread has indexed every listing.
    while store.search_index_status()?.pending > 0 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let index_ms = t.elapsed().as_secs_f64() * 1000.0 - ms;
    let hwm = mem::proc_status_bytes("VmHWM").unwrap_or(0);
    let heap_peak = mem::heap_peak();
    let delta = |h: u64| {
        if reset {
            h.saturating_sub(rss_base) as f64
        } else {
            f64::NAN
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "rss_base": rss_base,
            "rss_hwm": hwm,
            "rss_delta": delta(hwm),
            "rss_delta_apply": delta(hwm_apply),
            "heap_base": heap_base,
            "heap_delta": heap_peak.saturating_sub(heap_base),
            "ms": ms,
            "index_ms": index_ms,
        })
    );
    Ok(())
}

fn time_queries<T>(
    n: usize,
    mut f: impl FnMut(usize) -> BoxResult<T>,
) -> BoxResult<(Vec<f64>, Vec<T>)> {
    for i in 0..n.min(20) {
        f(i)?;
    }
    let mut times = Vec::with_capacity(n);
    let mut outs = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let o = f(i)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        outs.push(o);
    }
    Ok((times, outs))
}

fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get((v.len() * 95) / 100).copied().unwrap_or(f64::NAN)
}

fn query_sections(
    sizes: &Sizes,
    rep: &mut Report,
    dir: &Path,
    items: &[ItemData],
    actor: &Actor,
    built: Option<&Built>,
) -> BoxResult<()> {
    let staff = Actor {
        user: Uuid::new_v4(),
        role: Role::GridStaff,
        community: "fushi".into(),
    };
    let server_site = SiteId(Uuid::new_v4());
    for (label, &n) in ["small", "large"].iter().zip(&sizes.stations) {
        eprintln!("queries: nearest 10 with an amenity among {n} stations");
        let path = dir.join(format!("stations{n}.db"));
        let store = open_store(&path, actor)?;
        let changes = data::station_changes(
            n,
            n as u64,
            staff.user,
            server_site,
            now_ms() - 3_600_000 - n as i64,
        );
        let t = Instant::now();
        for page in changes.chunks(sizes.page) {
            store.apply_remote(page)?;
        }
        rep.put(
            &format!("stations_{label}_apply_ms"),
            t.elapsed().as_secs_f64() * 1000.0,
        );
        rep.put(&format!("nearest_{label}_stations"), n as f64);
        let mut r = data::Lcg(7);
        let points: Vec<(f64, f64)> = (0..sizes.queries).map(|_| data::point(&mut r)).collect();
        let (times, found) = time_queries(sizes.queries, |i| {
            let (lat, lon) = points[i];
            Ok(store
                .nearest_stations(&NearbyQuery {
                    lat,
                    lon,
                    radius_m: 3000.0,
                    limit: 10,
                    amenities: vec!["drinking_water".into()],
                    ..NearbyQuery::default()
                })?
                .len())
        })?;
        rep.put(&format!("nearest_{label}_median_ms"), median(times.clone()));
        rep.put(&format!("nearest_{label}_p95_ms"), p95(times));
        rep.put(
            &format!("nearest_{label}_found_avg"),
            found.iter().sum::<usize>() as f64 / found.len().max(1) as f64,
        );
        drop(store);
        if *label == "large" {
            cold_open(rep, &path, actor, &points)?;
        }
        remove_db(&path);
    }

    eprintln!("queries: 2-character search among {} items", sizes.bulk);
    let path = match built {
        Some(b) => b.replica.clone(),
        None => {
            let path = dir.join("search.db");
            let s = open_store(&path, actor)?;
            s.post_items(items.iter().map(ItemData::to_new_item).collect())?;
            path
        }
    };
    let store = open_store(&path, actor)?;
    store.index_search_now()?;
    let mut all = Vec::new();
    let per = (sizes.queries / data::SEARCH_TERMS.len()).max(5);
    for (k, term) in data::SEARCH_TERMS.iter().enumerate() {
        // The oracle: the index's own count of matches, on a connection of our own.
        let q = fushi_core::search::tokens::match_query(term).unwrap_or_default();
        let total: i64 = rusqlite::Connection::open(fushi_core::store::search_index_path(&path))?
            .query_row(
            "SELECT count(*) FROM item_fts WHERE item_fts MATCH ?1",
            [q],
            |r| r.get(0),
        )?;
        let (times, hits) = time_queries(per, |_| {
            Ok(store
                .search(&SearchQuery {
                    text: (*term).into(),
                    kinds: vec![ListingKind::Item],
                    ..SearchQuery::default()
                })?
                .hits
                .len())
        })?;
        rep.put(&format!("search_term{k}_matching_items"), total as f64);
        rep.put(&format!("search_term{k}_median_ms"), median(times.clone()));
        if hits.first().copied().unwrap_or(0) == 0 && total > 0 {
            return Err(format!("search for {term} found nothing").into());
        }
        all.extend(times);
    }
    rep.put("search_median_ms", median(all.clone()));
    rep.put("search_p95_ms", p95(all));
    Ok(())
}

/// An app start: open the store of the most stations (closed, its pages
/// in the OS cache as after a recent use) and ask for the nearest stations,
/// repeatedly; and after it, check no thread of the store stays.
fn cold_open(rep: &mut Report, path: &Path, actor: &Actor, points: &[(f64, f64)]) -> BoxResult<()> {
    eprintln!("queries: open the store and answer the nearest stations, cold");
    let mut times = Vec::new();
    for (lat, lon) in points.iter().take(30) {
        let t = Instant::now();
        let store = open_store(path, actor)?;
        let found = store.nearest_stations(&NearbyQuery {
            lat: *lat,
            lon: *lon,
            radius_m: 3000.0,
            limit: 10,
            amenities: vec!["drinking_water".into()],
            ..NearbyQuery::default()
        })?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(found);
        drop(store);
    }
    rep.put("cold_open_nearest_median_ms", median(times.clone()));
    rep.put("cold_open_nearest_p95_ms", p95(times));
    // Idle: the store's threads (the search index's) have ended.
    let store = open_store(path, actor)?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    let threads = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                // The index thread's name, as Linux shortens it to 15 bytes.
                .filter(|n| n.trim() == "fushi-search-in")
                .count()
        })
        .unwrap_or(0);
    rep.put("idle_store_threads", threads as f64);
    drop(store);
    Ok(())
}

/// A phone with its sync client.
struct SyncPhone {
    store: Arc<Store>,
    client: Arc<SyncClient>,
    _dir: tempfile::TempDir,
}

fn sync_user(storage: &SqliteStorage, role: Role) -> BoxResult<(Actor, String)> {
    let actor = Actor {
        user: Uuid::now_v7(),
        role,
        community: "fushi".into(),
    };
    let token = fushi_server::tokens::generate().map_err(|e| format!("token: {e}"))?;
    storage.add_token(&fushi_server::tokens::hash(&token), &actor)?;
    Ok((actor, token))
}

/// A phone of the sync section; `index`: its search index kept up to date
/// by the store's thread while it syncs (off: a diagnostic of the sync
/// alone).
fn sync_phone(
    url: &str,
    storage: &SqliteStorage,
    push_only: bool,
    index: bool,
) -> BoxResult<SyncPhone> {
    let (actor, token) = sync_user(storage, Role::Resident)?;
    let dir = tempfile::tempdir()?;
    let clock = SystemClock::new();
    let store = Arc::new(Store::open_with(
        dir.path().join("phone.db"),
        clock.clone(),
        StoreConfig {
            search_in_background: index,
            ..StoreConfig::default()
        },
    )?);
    store.set_actor(Some(actor));
    let mut config = SyncConfig::new(url, token);
    // The bench's server runs on loopback, over plain HTTP.
    config.allow_cleartext = true;
    if push_only {
        config.max_pull_pages = Some(0);
    }
    let client = SyncClient::new(store.clone(), config)?.with_clock(clock);
    Ok(SyncPhone {
        store,
        client: Arc::new(client),
        _dir: dir,
    })
}

/// End to end over loopback with the real server (`fushi-server`, SQLite
/// storage) and the real client (`fushi_core::sync`), default settings.
fn sync_section(sizes: &Sizes, rep: &mut Report, items: &[ItemData]) -> BoxResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let n = sizes.sync_community.min(items.len());
        eprintln!("sync: first sync of a {n}-listing community onto an empty phone");
        let dir = tempfile::tempdir()?;
        let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.db"))?);
        // The community: 20 residents' items, posted on the server's store.
        let store = storage.store();
        for chunk in items[..n].chunks(n.div_ceil(20).max(1)) {
            store.set_actor(Some(Actor {
                user: Uuid::now_v7(),
                role: Role::Resident,
                community: "fushi".into(),
            }));
            store.post_items(chunk.iter().map(ItemData::to_new_item).collect())?;
        }
        store.set_actor(None);
        let running = RunningServer::start(storage.clone(), ([127, 0, 0, 1], 0).into()).await?;
        let url = running.url();
        let mut runs = Vec::new();
        let mut searchable = Vec::new();
        let mut again = Vec::new();
        let mut pages = 0;
        for _ in 0..sizes.repeats {
            let phone = sync_phone(&url, &storage, false, true)?;
            let t = Instant::now();
            let r = phone.client.sync().await?;
            runs.push(t.elapsed().as_secs_f64());
            // Searchable: the store's thread has indexed every listing.
            while phone.store.search_index_status()?.pending > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            searchable.push(t.elapsed().as_secs_f64());
            if r.pulled as usize != n {
                return Err(format!("first sync pulled {} of {n}", r.pulled).into());
            }
            pages = r.pull_pages;
            let t = Instant::now();
            phone.client.sync().await?;
            again.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let first = median(runs);
        rep.put("sync_first_s", first);
        rep.put("sync_first_searchable_s", median(searchable));
        // Diagnostic: the same first sync with the index thread off (on
        // this 2-core machine the server runs in the same process, so the
        // index thread takes CPU from it; a phone's server is elsewhere).
        let mut alone = Vec::new();
        for _ in 0..sizes.repeats {
            let phone = sync_phone(&url, &storage, false, false)?;
            let t = Instant::now();
            phone.client.sync().await?;
            alone.push(t.elapsed().as_secs_f64());
        }
        rep.put("sync_first_index_off_diag_s", median(alone));
        rep.put("sync_first_rows_per_s", n as f64 / first);
        rep.put("sync_first_pages", pages as f64);
        rep.put("sync_nothing_new_ms", median(again));
        running.stop().await?;
        drop(storage);

        let (np, nc) = (sizes.sync_phones, sizes.sync_changes);
        eprintln!("sync: {np} phones pushing {nc} offline changes each, at once (push only)");
        let dir = tempfile::tempdir()?;
        let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.db"))?);
        let running = RunningServer::start(storage.clone(), ([127, 0, 0, 1], 0).into()).await?;
        let url = running.url();
        let mut phones = Vec::with_capacity(np);
        for k in 0..np {
            let p = sync_phone(&url, &storage, true, true)?;
            for d in items.iter().skip(k * nc).take(nc) {
                p.store.post_item(d.to_new_item())?;
            }
            phones.push(p);
        }
        let t = Instant::now();
        let tasks: Vec<_> = phones
            .iter()
            .map(|p| {
                let c = p.client.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let r = c.sync().await.map(|r| r.pushed as usize);
                    (t.elapsed().as_secs_f64(), r)
                })
            })
            .collect();
        let mut lat = Vec::with_capacity(np);
        let mut pushed = 0;
        for task in tasks {
            let (d, r) = task.await?;
            pushed += r?;
            lat.push(d);
        }
        let wall = t.elapsed().as_secs_f64();
        if pushed != np * nc {
            return Err(format!("pushed {pushed} of {}", np * nc).into());
        }
        rep.put("sync_many_phones", np as f64);
        rep.put("sync_many_push_wall_s", wall);
        rep.put("sync_many_push_changes_per_s", pushed as f64 / wall);
        rep.put("sync_many_push_p50_s", median(lat.clone()));
        rep.put("sync_many_push_p95_s", p95(lat));
        running.stop().await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

/// The pushes of the sync section's many phones (`sync_phones` phones,
/// `sync_changes` new items each), applied straight to the server's SQLite
/// storage through its push path (`SyncStorage::push`: policy check, merge,
/// sequence, one transaction each), without HTTP: once with the server's
/// store ([`StoreRole::Server`]) and once with a phone-shaped store told to
/// number every change, which is what the server's store was before issue
/// 11 (full text, R*Tree and query indexes kept on every push). Both
/// durable as served (`synchronous=FULL`), and both without the fsyncs
/// (`NORMAL`), which leaves the CPU and page writes of the indexes.
fn server_store_section(
    sizes: &Sizes,
    rep: &mut Report,
    dir: &Path,
    items: &[ItemData],
) -> BoxResult<()> {
    let (np, nc) = (sizes.sync_phones, sizes.sync_changes);
    eprintln!("serverstore: {np} pushes of {nc} new items each, applied to the server's storage");
    let mut batches = Vec::with_capacity(np);
    for k in 0..np {
        let actor = Actor {
            user: Uuid::now_v7(),
            role: Role::Resident,
            community: "fushi".into(),
        };
        let path = dir.join(format!("serverstore-phone-{k}.db"));
        let phone = open_store(&path, &actor)?;
        phone.post_items(
            items
                .iter()
                .skip(k * nc)
                .take(nc)
                .map(ItemData::to_new_item)
                .collect(),
        )?;
        let changes = phone
            .changes_since(
                Position::default(),
                PageLimit::rows(MAX_PUSH_ROWS),
                &Scope::default(),
            )?
            .changes;
        drop(phone);
        remove_db(&path);
        let key = (k as u32).to_le_bytes().to_vec();
        batches.push((Pusher { actor, key }, changes));
    }
    let total: usize = batches.iter().map(|b| b.1.len()).sum();
    let kinds = [
        ("server", StoreRole::Server, true),
        ("phone_shaped", StoreRole::Phone, true),
        ("server_nosync", StoreRole::Server, false),
        ("phone_shaped_nosync", StoreRole::Phone, false),
    ];
    let mut runs = vec![Vec::new(); kinds.len()];
    let mut sizes_bytes = vec![0u64; kinds.len()];
    for r in 0..sizes.repeats {
        // Alternate which goes first, so a drift of the machine does not
        // favour one.
        let mut order: Vec<usize> = (0..kinds.len()).collect();
        if r % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (label, role, durable) = kinds[i];
            let path = dir.join(format!("serverstore-{label}-{r}.db"));
            let storage =
                SqliteStorage::open_with_config(&path, SystemClock::new(), |c| StoreConfig {
                    role,
                    synchronous_full: durable,
                    ..c
                })?;
            let t = Instant::now();
            for (pusher, changes) in &batches {
                let out = storage.push(pusher, changes, fushi_core::store::SCHEMA_VERSION)?;
                if !out.rejections.is_empty() || out.accepted != changes.len() {
                    return Err(format!("{label}: push refused {:?}", out.rejections).into());
                }
            }
            runs[i].push(total as f64 / t.elapsed().as_secs_f64());
            drop(storage);
            checkpoint(&path)?;
            sizes_bytes[i] = file_size(&path);
            remove_db(&path);
            remove_db(&fushi_server::sqlite::tokens_path(&path));
        }
    }
    for (i, (label, _, _)) in kinds.iter().enumerate() {
        rep.put(
            &format!("server_store_push_{label}_changes_per_s"),
            median(std::mem::take(&mut runs[i])),
        );
        rep.put(
            &format!("server_store_{label}_file_bytes"),
            sizes_bytes[i] as f64,
        );
    }
    rep.ratio(
        "ratio_server_store_push_vs_phone_shaped",
        "server_store_push_server_changes_per_s",
        "server_store_push_phone_shaped_changes_per_s",
    );
    rep.ratio(
        "ratio_server_store_push_vs_phone_shaped_nosync",
        "server_store_push_server_nosync_changes_per_s",
        "server_store_push_phone_shaped_nosync_changes_per_s",
    );
    Ok(())
}
