//! The writer hold of the worst pushes the server allows: how long one push
//! keeps every other phone's push waiting. Each push is at most 500 rows and
//! 4 MiB; measured on a server store (every change numbered, FULL sync)
//! already holding a community's items.
//!
//! - `photo_churn`: one item, every row the most set cells a change may
//!   carry (36: 18 photo adds and the removes of the same tags, so the set
//!   stays within its 9), 500 rows; pushed again and again, so removed tags
//!   pile up: the hold must not grow with them (the apply used to be
//!   quadratic).
//! - `photo_flood`: photo adds to one item far past the limit of 9 (refused
//!   after the ninth, each refusal with its winning row).
//! - `max_items`: 500 new items of 9 photos each.
//! - `held`: 500 edits stamped ahead (200 held, the rest refused as over
//!   the user's quarantine).

use crate::report::Report;
use crate::BoxResult;
use fushi_core::crdt::{Cell, CellOp, Hlc, RowChange, SiteId, Stamp, SystemClock, TimeSource};
use fushi_core::policy::{Actor, Role};
use fushi_core::store::{Credentials, Pusher};
use fushi_core::sync::wire::{encode_rows, PushRequest, MAX_BODY_BYTES, MAX_PUSH_ROWS};
use fushi_core::{Store, StoreConfig};
use std::path::Path;
use std::time::Instant;
use uuid::Uuid;

struct Same(Actor);

impl Credentials for Same {
    fn current(&self, _key: &[u8]) -> fushi_core::Result<Option<Actor>> {
        Ok(Some(self.0.clone()))
    }
}

fn body_bytes(rows: &[RowChange]) -> BoxResult<usize> {
    let (sites, rows) = encode_rows(rows);
    Ok(serde_json::to_vec(&PushRequest { sites, rows })?.len())
}

/// As many of `rows` as fit in one allowed push.
fn fit(mut rows: Vec<RowChange>) -> BoxResult<Vec<RowChange>> {
    rows.truncate(MAX_PUSH_ROWS);
    while body_bytes(&rows)? > MAX_BODY_BYTES {
        let keep = rows.len() * 9 / 10;
        rows.truncate(keep.max(1));
    }
    Ok(rows)
}

fn item(actor: &Actor, now: i64, photos: usize, n: usize) -> RowChange {
    let stamp = Stamp {
        clock: Hlc::new(now, 0),
        site: SiteId(Uuid::new_v4()),
    };
    let set = |c: &str, v: fushi_core::crdt::Value| Cell {
        column: c.into(),
        op: CellOp::Set(v),
        stamp,
    };
    let mut cells = vec![
        set("owner", actor.user.to_string().into()),
        set("community", actor.community.clone().into()),
        set("created_at", now.into()),
        set("deleted", 0i64.into()),
        set("title", format!("旧物 {n}").into()),
        set("description", "孩子长大了，免费送给需要的邻居".into()),
        set("category", "kids".into()),
        set("mode", "give".into()),
        set("status", "available".into()),
        set("pickup_area", "福石花园".into()),
        set("expires_at", (now + 30 * 86_400_000).into()),
    ];
    for p in 0..photos {
        cells.push(Cell {
            column: "photos".into(),
            op: CellOp::Add(format!("photo://{n}/{p:04}-{}", "x".repeat(40))),
            stamp,
        });
    }
    RowChange {
        table: "item".into(),
        id: Uuid::now_v7(),
        cells,
    }
}

fn timed(store: &Store, pusher: &Pusher, rows: &[RowChange]) -> BoxResult<(f64, usize, usize)> {
    let started = Instant::now();
    let (_, refused) = store.apply_pushed(
        pusher,
        rows,
        &Same(pusher.actor.clone()),
        fushi_core::store::SCHEMA_VERSION,
    )?;
    Ok((
        started.elapsed().as_secs_f64() * 1000.0,
        rows.len() - refused.len(),
        refused.len(),
    ))
}

/// Run the section into `rep`.
pub fn hostile_section(rep: &mut Report, dir: &Path, community_items: usize) -> BoxResult<()> {
    let path = dir.join("hostile-server.db");
    let store = Store::open_with(
        &path,
        SystemClock::new(),
        StoreConfig {
            sequence_remote: true,
            synchronous_full: true,
            ..StoreConfig::default()
        },
    )?;
    let actor = Actor {
        user: Uuid::now_v7(),
        role: Role::Resident,
        community: "fushi".into(),
    };
    let pusher = Pusher {
        actor: actor.clone(),
        key: vec![1],
    };
    let now = SystemClock::new().now_ms();
    // The community's items, pushed by their owners in allowed batches.
    let mut n = 0;
    while n < community_items {
        let batch: Vec<RowChange> = (n..(n + MAX_PUSH_ROWS).min(community_items))
            .map(|k| item(&actor, now, 2, k))
            .collect();
        n += batch.len();
        store.apply_pushed(
            &pusher,
            &batch,
            &Same(actor.clone()),
            fushi_core::store::SCHEMA_VERSION,
        )?;
    }
    let target = item(&actor, now, 1, usize::MAX);
    let id = target.id;
    store.apply_pushed(
        &pusher,
        &[target],
        &Same(actor.clone()),
        fushi_core::store::SCHEMA_VERSION,
    )?;
    let mut worst: f64 = 0.0;

    // Photo churn, pushed 5 times.
    let mut holds = Vec::new();
    for round in 0..5u16 {
        let rows: Vec<RowChange> = (0..MAX_PUSH_ROWS)
            .map(|r| {
                let site = SiteId(Uuid::new_v4());
                let mut cells = Vec::new();
                for k in 0..18u16 {
                    let stamp = Stamp {
                        clock: Hlc::new(now, round * 1000 + k),
                        site,
                    };
                    let e = format!("photo://churn/{r}/{k}");
                    cells.push(Cell {
                        column: "photos".into(),
                        op: CellOp::Add(e.clone()),
                        stamp,
                    });
                    cells.push(Cell {
                        column: "photos".into(),
                        op: CellOp::Remove(e),
                        stamp,
                    });
                }
                RowChange {
                    table: "item".into(),
                    id,
                    cells,
                }
            })
            .collect();
        let rows = fit(rows)?;
        if round == 0 {
            rep.put("hostile_churn_rows", rows.len() as f64);
            rep.put("hostile_churn_body_bytes", body_bytes(&rows)? as f64);
        }
        let (ms, ok, _) = timed(&store, &pusher, &rows)?;
        if ok != rows.len() {
            return Err("the churn push was refused".into());
        }
        holds.push(ms);
    }
    rep.put("hostile_churn_first_ms", holds[0]);
    rep.put("hostile_churn_fifth_ms", holds[4]);
    worst = holds.iter().fold(worst, |a, b| a.max(*b));

    // Photo flood: one add per cell to one item, far past the limit.
    let flood: Vec<RowChange> = (0..MAX_PUSH_ROWS)
        .map(|r| {
            let stamp = Stamp {
                clock: Hlc::new(now, r as u16),
                site: SiteId(Uuid::new_v4()),
            };
            RowChange {
                table: "item".into(),
                id,
                cells: (0..256)
                    .map(|k| Cell {
                        column: "photos".into(),
                        op: CellOp::Add(format!("photo://flood/{r}/{k}")),
                        stamp,
                    })
                    .collect(),
            }
        })
        .collect();
    let flood = fit(flood)?;
    let (ms, _, refused) = timed(&store, &pusher, &flood)?;
    rep.put("hostile_flood_ms", ms);
    rep.put("hostile_flood_refused", refused as f64);
    worst = worst.max(ms);

    // 500 new items with 9 photos each.
    let items = fit((0..MAX_PUSH_ROWS)
        .map(|k| item(&actor, now, 9, k))
        .collect())?;
    let (ms, ok, _) = timed(&store, &pusher, &items)?;
    rep.put("hostile_max_items_ms", ms);
    rep.put("hostile_max_items_rows", ok as f64);
    worst = worst.max(ms);

    // 500 edits stamped 10 minutes ahead.
    let ahead = Hlc::new(now + 600_000, 0);
    let held: Vec<RowChange> = (0..MAX_PUSH_ROWS)
        .map(|k| RowChange {
            table: "item".into(),
            id,
            cells: vec![Cell {
                column: "title".into(),
                op: CellOp::Set(format!("改名 {k}").into()),
                stamp: Stamp {
                    clock: Hlc(ahead.0 + k as u64),
                    site: SiteId(Uuid::new_v4()),
                },
            }],
        })
        .collect();
    let (ms, _, refused) = timed(&store, &pusher, &held)?;
    rep.put("hostile_held_ms", ms);
    rep.put("hostile_held_refused", refused as f64);
    worst = worst.max(ms);

    rep.put("hostile_worst_hold_ms", worst);
    eprintln!(
        "hostile: churn {:.0}/{:.0} ms (first/fifth), flood {:.0} ms, 500x9 photos {:.0} ms, held {:.0} ms",
        holds[0],
        holds[4],
        rep.get("hostile_flood_ms").unwrap_or_default(),
        rep.get("hostile_max_items_ms").unwrap_or_default(),
        rep.get("hostile_held_ms").unwrap_or_default()
    );
    Ok(())
}
