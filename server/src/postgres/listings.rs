//! The replicated rows in PostgreSQL: pushes checked with the phones' policy
//! and merged with the phones' rules (`fushi_core::crdt::row`), held changes
//! and station records as on SQLite, and pull pages as
//! `fushi_core::store::changes` defines them.
//!
//! # Numbering with several server processes
//!
//! Every transaction that numbers changes (a push, housekeeping) first takes
//! the transaction-scoped advisory lock [`NUMBERING_LOCK`] and holds it
//! until it commits or rolls back; the counter (`fushi_meta.seq`) is read
//! and advanced only under it. So numbering transactions run one at a time
//! across every process, and each commits before the next reads the
//! counter: numbers become visible in order. A pull reads its page in one
//! `REPEATABLE READ` snapshot, which therefore holds every number up to the
//! largest it shows — the property the page-through argument of
//! `fushi_core::store::changes` rests on ("sequence numbers commit in
//! order"), so no cursor can pass a number whose change is not yet visible.
//! A transaction that fails rolls back with its numbers, which are then
//! handed out again: nothing was visible under them.
//!
//! The price is that pushes are applied one at a time, as on SQLite's single
//! writer; the lock is held for one transaction (rows read once, merged in
//! memory, written once each).

use super::{db_error, Pg};
use crate::storage::PushOutcome;
use deadpool_postgres::Pool;
use fushi_core::crdt::row::RowState;
use fushi_core::crdt::{RowChange, Stamp};
use fushi_core::model::columns;
use fushi_core::model::tables::{Table, TableDef, TableKind, TABLES};
use fushi_core::photo::PhotoRef;
use fushi_core::policy::{self, Actor, Denial, Facts, RowFacts};
use fushi_core::store::{
    city_wide, clock_denial_at, known_at, readable, validate, validate_at, validate_received,
    wire_size, ChangePage, Credentials, PageLimit, PhotoUse, Position, Pusher, Rejection, Scope,
};
use fushi_core::{Error, Result, StoreConfig};
use std::collections::{HashMap, HashSet};
use tokio_postgres::Transaction;
use uuid::Uuid;

/// The advisory lock every numbering transaction holds (`fushi` + 2).
pub const NUMBERING_LOCK: i64 = 0x6675_7368_6902;

/// Most empty pages one pull reads past before answering with an empty one
/// (as `fushi_core::store::changes`).
const MAX_EMPTY_PAGES: usize = 50;

type Key = (Table, Uuid);

/// The rows one transaction reads and writes, kept in memory: what the
/// policy checker asks about (every row is loaded before its change is
/// judged), and what is written back at the end.
#[derive(Default)]
struct Rows {
    rows: HashMap<Key, RowState>,
    loaded: HashSet<Key>,
    dirty: Vec<Key>,
    seq: i64,
}

impl Rows {
    fn get(&self, key: &Key) -> Option<&RowState> {
        self.rows.get(key).filter(|r| !r.is_empty())
    }

    /// Load the rows among `keys` not loaded yet, in one query.
    async fn load(&mut self, tx: &Transaction<'_>, keys: &[Key]) -> Result<()> {
        let want: Vec<Key> = keys
            .iter()
            .filter(|k| !self.loaded.contains(*k))
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if want.is_empty() {
            return Ok(());
        }
        let tbls: Vec<&str> = want.iter().map(|k| k.0.name()).collect();
        let ids: Vec<Uuid> = want.iter().map(|k| k.1).collect();
        let got = tx
            .query(
                "SELECT r.tbl, r.id, r.state FROM fushi_row r
                 JOIN unnest($1::text[], $2::uuid[]) AS k(tbl, id) ON r.tbl = k.tbl AND r.id = k.id",
                &[&tbls, &ids],
            )
            .await
            .map_err(db_error("read rows"))?;
        for row in got {
            let tbl: &str = row.get(0);
            let table = Table::from_name(tbl)
                .ok_or_else(|| Error::Corrupt("a row of an unknown table".into()))?;
            let state: RowState = serde_json::from_slice(row.get::<_, &[u8]>(2))?;
            self.rows.insert((table, row.get(1)), state);
        }
        self.loaded.extend(want);
        Ok(())
    }

    /// Merge `change` into its row with the next number. Whether it changed.
    fn merge(&mut self, table: Table, change: &RowChange) -> Result<bool> {
        let key = (table, change.id);
        let next = self.seq + 1;
        let row = self.rows.entry(key).or_default();
        if row.merge(table, change, next)? {
            self.seq = next;
            if !self.dirty.contains(&key) {
                self.dirty.push(key);
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Write back every changed row, the photos items use, and the counter.
    async fn save(&self, tx: &Transaction<'_>) -> Result<()> {
        let upsert = tx
            .prepare(
                "INSERT INTO fushi_row (tbl, id, community, seq, state) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tbl, id) DO UPDATE SET community = $3, seq = $4, state = $5",
            )
            .await
            .map_err(db_error("write rows"))?;
        for key in &self.dirty {
            let Some(row) = self.rows.get(key) else {
                continue;
            };
            let state = serde_json::to_vec(row)?;
            tx.execute(
                &upsert,
                &[&key.0.name(), &key.1, &row.community(), &row.seq(), &state],
            )
            .await
            .map_err(db_error("write rows"))?;
            if key.0 == Table::Item {
                save_photo_uses(tx, key.1, row).await?;
            }
        }
        tx.execute(
            "UPDATE fushi_meta SET value = $1 WHERE name = 'seq'",
            &[&self.seq],
        )
        .await
        .map_err(db_error("write rows"))?;
        Ok(())
    }
}

/// Keep which photos a live item uses (none once deleted).
async fn save_photo_uses(tx: &Transaction<'_>, id: Uuid, row: &RowState) -> Result<()> {
    tx.execute("DELETE FROM fushi_photo_use WHERE id = $1", &[&id])
        .await
        .map_err(db_error("write photo uses"))?;
    if row.deleted() {
        return Ok(());
    }
    let owner = row
        .text(columns::OWNER)
        .and_then(|s| Uuid::parse_str(s).ok());
    let hidden = row
        .cells
        .get(columns::HIDDEN)
        .is_some_and(|c| c.value.as_i64() == Some(1));
    for photo in row.set(columns::PHOTOS) {
        let Ok(r) = PhotoRef::parse(&photo) else {
            continue;
        };
        tx.execute(
            "INSERT INTO fushi_photo_use (photo, id, owner, community, hidden) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            &[&r.to_string(), &id, &owner, &row.community(), &hidden],
        )
        .await
        .map_err(db_error("write photo uses"))?;
    }
    Ok(())
}

impl Facts for Rows {
    type Error = Error;

    fn row(&self, table: Table, id: Uuid) -> Result<Option<RowFacts>> {
        let key = (table, id);
        if !self.loaded.contains(&key) {
            // Every row a change refers to is loaded before it is judged.
            return Err(Error::Database(
                "a row was judged before it was read".into(),
            ));
        }
        Ok(self.get(&key).map(|r| RowFacts::of_state(table, r)))
    }

    fn set_tags(&self, table: Table, id: Uuid, column: usize) -> Result<Vec<(String, Stamp)>> {
        let Some(col) = table.def().columns.get(column) else {
            return Ok(Vec::new());
        };
        Ok(self
            .get(&(table, id))
            .map(|r| r.present_tags(col.name))
            .unwrap_or_default())
    }
}

/// A change's own row and the rows it refers to.
fn keys_of(table: Table, change: &RowChange) -> Vec<Key> {
    let mut keys = vec![(table, change.id)];
    keys.extend(change.references());
    keys
}

/// What a held change's pusher is now, by credential key (resolved before
/// the transaction, outside the database runtime).
pub(crate) type Judged = HashMap<i64, Option<Actor>>;

/// The quarantine entries due by `limit` that carry a pusher: their ids and
/// credential keys.
pub(crate) fn due_keys(pg: &Pg, limit: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    pg.run(move |pool| async move {
        let client = Pg::client(&pool).await?;
        let rows = client
            .query(
                "SELECT id, pusher_key FROM fushi_quarantine WHERE wall_ms <= $1 AND pusher IS NOT NULL",
                &[&limit],
            )
            .await
            .map_err(db_error("read quarantine"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, Option<Vec<u8>>>(1).unwrap_or_default()))
            .collect())
    })
}

/// Resolve the pushers of the due held changes with `credentials`.
pub(crate) fn judge_due(
    pg: &Pg,
    config: &StoreConfig,
    now_ms: i64,
    credentials: &dyn Credentials,
) -> Result<Judged> {
    let mut out = HashMap::new();
    for (id, key) in due_keys(pg, now_ms.saturating_add(config.skew_bound_ms))? {
        out.insert(id, credentials.current(&key)?);
    }
    Ok(out)
}

/// One push (or, with no changes, housekeeping): see the module
/// documentation for the numbering.
pub(crate) struct PushJob {
    pub(crate) pusher: Option<Pusher>,
    pub(crate) changes: Vec<RowChange>,
    pub(crate) schema: i64,
    pub(crate) now_ms: i64,
    pub(crate) config: StoreConfig,
    pub(crate) judged: Judged,
}

/// Run `job` in one transaction.
pub(crate) async fn push(pool: Pool, job: PushJob) -> Result<PushOutcome> {
    // The whole batch validated first. A pushed row that fails is refused
    // naming the field; a trusted one fails the call (see `apply_trusted`);
    // any other failure fails the batch.
    let checked: Vec<std::result::Result<Table, Denial>> = job
        .changes
        .iter()
        .map(|change| match job.pusher {
            Some(_) => match validate_at(change, job.schema) {
                Ok(table) => Ok(Ok(table)),
                Err(Error::Invalid { field, reason }) => Ok(Err(Denial::Invalid { field, reason })),
                Err(e) => Err(e),
            },
            None => validate_received(change).map(Ok),
        })
        .collect::<Result<_>>()?;
    let mut client = Pg::client(&pool).await?;
    let tx = client.transaction().await.map_err(db_error("begin push"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&NUMBERING_LOCK])
        .await
        .map_err(db_error("lock numbering"))?;
    let mut rows = Rows {
        seq: tx
            .query_one("SELECT value FROM fushi_meta WHERE name = 'seq'", &[])
            .await
            .map_err(db_error("read numbering"))?
            .get(0),
        ..Rows::default()
    };
    let mut ctx = Ctx {
        tx: &tx,
        rows: &mut rows,
        now_ms: job.now_ms,
        config: &job.config,
        quarantined: 0,
    };
    ctx.release_due(&job.judged).await?;
    ctx.publish_due().await?;
    let mut rejections = Vec::new();
    let keys: Vec<Key> = job
        .changes
        .iter()
        .zip(&checked)
        .filter_map(|(c, t)| t.as_ref().ok().map(|t| keys_of(*t, c)))
        .flatten()
        .collect();
    ctx.rows.load(ctx.tx, &keys).await?;
    if job.pusher.is_none() {
        // Trusted: every change validated above, none judged by a policy.
        for (change, table) in job.changes.iter().zip(&checked) {
            if let Ok(table) = table {
                ctx.receive(*table, change, None)
                    .await?
                    .map_err(Error::NotAllowed)?;
            }
        }
    }
    if let Some(pusher) = &job.pusher {
        for (index, (change, checked)) in job.changes.iter().zip(&checked).enumerate() {
            let verdict = match checked {
                Err(denial) => Err(denial.clone()),
                Ok(table) => match clock_denial_at(change, job.now_ms, job.config.max_ahead_ms) {
                    Some(d) => Err(d),
                    None => match policy::check_change(&pusher.actor, change, &*ctx.rows)? {
                        Ok(()) => ctx.receive(*table, change, Some(pusher)).await?,
                        Err(d) => Err(d),
                    },
                },
            };
            if let Err(denial) = verdict {
                rejections.push(ctx.refusal(&pusher.actor, job.schema, index, change, &denial));
            }
        }
    }
    let quarantined = ctx.quarantined;
    rows.save(&tx).await?;
    tx.commit().await.map_err(db_error("commit push"))?;
    Ok(PushOutcome {
        accepted: job.changes.len() - rejections.len(),
        quarantined,
        rejections,
    })
}

/// One numbering transaction's state.
struct Ctx<'a, 't> {
    tx: &'a Transaction<'t>,
    rows: &'a mut Rows,
    now_ms: i64,
    config: &'a StoreConfig,
    quarantined: usize,
}

impl Ctx<'_, '_> {
    /// The answer to a refused row (as `fushi_core::store::accept`): the
    /// winning state only for rows the pusher may read, in its columns.
    fn refusal(
        &self,
        pusher: &Actor,
        schema: i64,
        index: usize,
        change: &RowChange,
        denial: &Denial,
    ) -> Rejection {
        tracing::info!(table = %change.table, code = denial.code(), "change rejected");
        let winning = Table::from_name(&change.table).and_then(|table| {
            self.rows
                .get(&(table, change.id))
                .and_then(|r| r.render(table, change.id, -1, false, |_| true))
                .and_then(|w| readable(pusher, table, w))
                .and_then(|w| known_at(schema, table, w))
        });
        Rejection {
            index,
            table: change.table.clone(),
            id: change.id,
            code: denial.code().into(),
            reason: denial.to_string(),
            winning,
        }
    }

    /// Hold what runs too far ahead, hold station records for their
    /// window, merge the rest (as `fushi_core::store::quarantine::receive`).
    async fn receive(
        &mut self,
        table: Table,
        change: &RowChange,
        pusher: Option<&Pusher>,
    ) -> Result<std::result::Result<(), Denial>> {
        let limit = self.now_ms.saturating_add(self.config.skew_bound_ms);
        let ahead = |c: &fushi_core::crdt::Cell| c.stamp.clock.wall_ms() > limit;
        let any_ahead = change.cells.iter().any(ahead);
        // A record, and a listing the change creates, are held whole.
        let whole = any_ahead
            && (table.def().kind == TableKind::Record
                || self.rows.get(&(table, change.id)).is_none());
        let held: Vec<_> = if whole {
            change.cells.clone()
        } else {
            change.cells.iter().filter(|c| ahead(c)).cloned().collect()
        };
        let applied;
        let to_apply = if held.is_empty() {
            change
        } else {
            let held = RowChange {
                table: change.table.clone(),
                id: change.id,
                cells: held,
            };
            let json = serde_json::to_vec(&held)?;
            if let Some(p) = pusher {
                let row = self
                    .tx
                    .query_one(
                        "SELECT count(*), coalesce(sum(bytes), 0)::bigint FROM fushi_quarantine WHERE pusher_user = $1",
                        &[&p.actor.user],
                    )
                    .await
                    .map_err(db_error("read quarantine"))?;
                let (n, bytes): (i64, i64) = (row.get(0), row.get(1));
                if n as usize >= self.config.quarantine_max_rows
                    || bytes as usize + json.len() > self.config.quarantine_max_bytes
                {
                    return Ok(Err(Denial::QuarantineFull));
                }
            }
            let wall = held.max_clock().wall_ms();
            tracing::warn!(table = %change.table, ahead_ms = wall - self.now_ms, "change quarantined: clock too far ahead");
            let (actor, key, user) = match pusher {
                Some(p) => (
                    Some(serde_json::to_vec(&p.actor)?),
                    Some(p.key.clone()),
                    Some(p.actor.user),
                ),
                None => (None, None, None),
            };
            self.tx
                .execute(
                    "INSERT INTO fushi_quarantine (received_at, wall_ms, change, pusher, pusher_key, pusher_user, bytes)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&self.now_ms, &wall, &json, &actor, &key, &user, &(json.len() as i32)],
                )
                .await
                .map_err(db_error("hold change"))?;
            self.quarantined += 1;
            if whole {
                return Ok(Ok(()));
            }
            applied = RowChange {
                table: change.table.clone(),
                id: change.id,
                cells: change.cells.iter().filter(|c| !ahead(c)).cloned().collect(),
            };
            &applied
        };
        if self.config.record_window_ms > 0
            && matches!(table, Table::StationReport | Table::StationCheckin)
        {
            let slot = self.now_ms.div_euclid(self.config.record_window_ms.max(1));
            self.tx
                .execute(
                    "INSERT INTO fushi_held_record (id, slot, change) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&to_apply.id, &slot, &serde_json::to_vec(to_apply)?],
                )
                .await
                .map_err(db_error("hold record"))?;
            return Ok(Ok(()));
        }
        self.rows.merge(table, to_apply)?;
        Ok(Ok(()))
    }

    async fn record_drop(&self, change: &RowChange, code: &str) -> Result<()> {
        tracing::info!(table = %change.table, code, "held change dropped");
        self.tx
            .execute(
                "INSERT INTO fushi_quarantine_drop (tbl, row_id, code, dropped_at) VALUES ($1, $2, $3, $4)",
                &[&change.table, &change.id, &code, &self.now_ms],
            )
            .await
            .map_err(db_error("record drop"))?;
        Ok(())
    }

    /// Drop expired held changes and release those due whose pushers were
    /// judged in `judged` (as `fushi_core::store::quarantine::release_due`).
    async fn release_due(&mut self, judged: &Judged) -> Result<()> {
        let expired = self
            .tx
            .query(
                "DELETE FROM fushi_quarantine WHERE pusher IS NOT NULL AND received_at < $1 RETURNING change",
                &[&self.now_ms.saturating_sub(self.config.quarantine_expiry_ms)],
            )
            .await
            .map_err(db_error("expire quarantine"))?;
        for row in expired {
            let change: RowChange = serde_json::from_slice(row.get::<_, &[u8]>(0))?;
            self.record_drop(&change, Denial::Expired.code()).await?;
        }
        let ids: Vec<i64> = judged.keys().copied().collect();
        let due = self
            .tx
            .query(
                "DELETE FROM fushi_quarantine WHERE id = ANY($1) RETURNING id, change, pusher, pusher_key",
                &[&ids],
            )
            .await
            .map_err(db_error("release quarantine"))?;
        let mut due: Vec<_> = due
            .into_iter()
            .map(|r| {
                (
                    r.get::<_, i64>(0),
                    r.get::<_, Vec<u8>>(1),
                    r.get::<_, Option<Vec<u8>>>(3).unwrap_or_default(),
                )
            })
            .collect();
        due.sort_by_key(|d| d.0);
        let mut released = 0usize;
        for (id, json, key) in due {
            let change: RowChange = serde_json::from_slice(&json)?;
            let table = match validate(&change) {
                Ok(table) => table,
                Err(Error::Invalid { field, reason }) => {
                    let denial = Denial::Invalid { field, reason };
                    self.record_drop(&change, denial.code()).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(Some(actor)) = judged.get(&id) else {
                self.record_drop(&change, Denial::Revoked.code()).await?;
                continue;
            };
            self.rows.load(self.tx, &keys_of(table, &change)).await?;
            if let Err(denial) = policy::check_change(actor, &change, &*self.rows)? {
                self.record_drop(&change, denial.code()).await?;
                continue;
            }
            let pusher = Pusher {
                actor: actor.clone(),
                key,
            };
            match self.receive(table, &change, Some(&pusher)).await? {
                Ok(()) => released += 1,
                Err(denial) => self.record_drop(&change, denial.code()).await?,
            }
        }
        if released > 0 {
            tracing::info!(rows = released, "quarantined changes released");
        }
        Ok(())
    }

    /// Publish the station records of ended windows, shuffled (as
    /// `fushi_core::store::quarantine::publish_due`).
    async fn publish_due(&mut self) -> Result<()> {
        let w = self.config.record_window_ms;
        if w <= 0 {
            return Ok(());
        }
        let current = self.now_ms.div_euclid(w);
        let row = self
            .tx
            .query_one(
                "SELECT count(*), min(slot) FROM fushi_held_record WHERE slot < $1",
                &[&current],
            )
            .await
            .map_err(db_error("read held records"))?;
        let (n, oldest): (i64, Option<i64>) = (row.get(0), row.get(1));
        let Some(oldest) = oldest else {
            return Ok(());
        };
        let waited = self.now_ms - oldest.saturating_mul(w);
        if (n as usize) < self.config.record_min_batch && waited < self.config.record_max_hold_ms {
            return Ok(());
        }
        let held = self
            .tx
            .query(
                "DELETE FROM fushi_held_record WHERE slot < $1 RETURNING change",
                &[&current],
            )
            .await
            .map_err(db_error("publish records"))?;
        let mut changes = Vec::with_capacity(held.len());
        for row in held {
            let change: RowChange = serde_json::from_slice(row.get::<_, &[u8]>(0))?;
            changes.push(change);
        }
        // Shuffled, so that the numbers show neither push nor moment.
        shuffle(&mut changes)?;
        let mut published = 0usize;
        for change in changes {
            let table = validate(&change)?;
            self.rows.load(self.tx, &[(table, change.id)]).await?;
            if self.rows.merge(table, &change)? {
                published += 1;
            }
        }
        if published > 0 {
            tracing::info!(rows = published, "station records published");
        }
        Ok(())
    }
}

/// Fisher–Yates with the system's randomness.
fn shuffle<T>(items: &mut [T]) -> Result<()> {
    for i in (1..items.len()).rev() {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|_| Error::Corrupt("no randomness".into()))?;
        let j = (u64::from_le_bytes(b) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    Ok(())
}

/// The tables a reader of `scope` gets, and those of them read city-wide.
fn tables_for(scope: &Scope) -> (Vec<&'static str>, Vec<&'static str>) {
    let known: Vec<&TableDef> = TABLES
        .iter()
        .copied()
        .filter(|d| d.known_at(scope.schema))
        .collect();
    (
        known.iter().map(|d| d.name).collect(),
        known
            .iter()
            .filter(|d| city_wide(d.table))
            .map(|d| d.name)
            .collect(),
    )
}

/// One page after `pos` within `limit` and `scope`, from one snapshot.
pub(crate) async fn pull(
    pool: Pool,
    scope: Scope,
    pos: Position,
    limit: PageLimit,
) -> Result<ChangePage> {
    let mut client = Pg::client(&pool).await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db_error("begin pull"))?;
    let (tables, city) = tables_for(&scope);
    let community = scope.community.clone();
    let rows_max = limit.rows.max(1);
    let page_sql = "SELECT tbl, id, seq, state FROM fushi_row
         WHERE seq > $1 AND tbl = ANY($2) AND ($3::text IS NULL OR community = $3 OR tbl = ANY($4))
         ORDER BY seq LIMIT $5";
    let mut after = pos.after;
    let mut empty = 0;
    loop {
        let got = tx
            .query(
                page_sql,
                &[&after, &tables, &community, &city, &(rows_max as i64 + 1)],
            )
            .await
            .map_err(db_error("read page"))?;
        let mut more = got.len() > rows_max;
        let mut last = after;
        let mut bytes = 0usize;
        let mut changes = Vec::new();
        for row in got.iter().take(rows_max) {
            let seq: i64 = row.get(2);
            if bytes >= limit.bytes && seq != last {
                more = true;
                break;
            }
            last = seq;
            let table = Table::from_name(row.get(0))
                .ok_or_else(|| Error::Corrupt("a row of an unknown table".into()))?;
            let id: Uuid = row.get(1);
            let state: RowState = serde_json::from_slice(row.get::<_, &[u8]>(3))?;
            let (hide, from) = match table.def().column_index(columns::HIDDEN) {
                Some(_) => scope.content_floor(
                    state
                        .cells
                        .get(columns::HIDDEN)
                        .is_some_and(|c| c.value.as_i64() == Some(1)),
                    state.text(columns::OWNER),
                    state.column_seq(columns::HIDDEN),
                    pos.floor,
                ),
                None => (false, pos.floor),
            };
            if let Some(ch) = state.render(table, id, from, hide, |c| scope.keeps(c)) {
                bytes += wire_size(&ch);
                changes.push(ch);
            }
        }
        if changes.is_empty() && more && empty < MAX_EMPTY_PAGES {
            after = last;
            empty += 1;
            continue;
        }
        let remaining = if more {
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM fushi_row
                     WHERE seq > $1 AND tbl = ANY($2) AND ($3::text IS NULL OR community = $3 OR tbl = ANY($4))",
                    &[&last, &tables, &community, &city],
                )
                .await
                .map_err(db_error("count rows"))?
                .get(0);
            n.max(0) as u64
        } else {
            0
        };
        tx.commit().await.map_err(db_error("end pull"))?;
        return Ok(ChangePage {
            changes,
            next: last,
            more,
            remaining,
        });
    }
}

/// The live items that use the photo `r`.
pub(crate) async fn photo_users(pool: Pool, r: String) -> Result<Vec<PhotoUse>> {
    let client = Pg::client(&pool).await?;
    let rows = client
        .query(
            "SELECT owner, community, hidden FROM fushi_photo_use WHERE photo = $1",
            &[&r],
        )
        .await
        .map_err(db_error("read photo uses"))?;
    Ok(rows
        .iter()
        .map(|row| PhotoUse {
            owner: row.get(0),
            community: row.get(1),
            hidden: row.get(2),
        })
        .collect())
}

/// The photos the items `ids` use now.
pub(crate) async fn photos_of(pool: Pool, ids: Vec<Uuid>) -> Result<Vec<String>> {
    let client = Pg::client(&pool).await?;
    let rows = client
        .query(
            "SELECT DISTINCT photo FROM fushi_photo_use WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(db_error("read photo uses"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The photos live items use, as hashes (the sweep keeps these).
pub(crate) async fn referenced_photos(pool: Pool) -> Result<HashSet<String>> {
    let client = Pg::client(&pool).await?;
    let rows = client
        .query("SELECT DISTINCT photo FROM fushi_photo_use", &[])
        .await
        .map_err(db_error("read photo uses"))?;
    Ok(rows
        .iter()
        .filter_map(|r| PhotoRef::parse(r.get::<_, &str>(0)).ok())
        .map(|r| r.hex())
        .collect())
}

/// The newest number handed out.
pub(crate) async fn current_seq(pool: Pool) -> Result<i64> {
    let client = Pg::client(&pool).await?;
    Ok(client
        .query_one("SELECT value FROM fushi_meta WHERE name = 'seq'", &[])
        .await
        .map_err(db_error("read numbering"))?
        .get(0))
}

/// The database's epoch: made once, by whichever process starts first.
pub(crate) async fn epoch(pool: Pool) -> Result<u64> {
    let client = Pg::client(&pool).await?;
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|_| Error::Corrupt("no randomness for the database epoch".into()))?;
    // Never 0: that is the start cursor's epoch.
    let fresh = (u64::from_le_bytes(bytes) | 1) as i64;
    client
        .execute(
            "INSERT INTO fushi_meta (name, value) VALUES ('epoch', $1) ON CONFLICT DO NOTHING",
            &[&fresh],
        )
        .await
        .map_err(db_error("make epoch"))?;
    let e: i64 = client
        .query_one("SELECT value FROM fushi_meta WHERE name = 'epoch'", &[])
        .await
        .map_err(db_error("read epoch"))?
        .get(0);
    Ok(e as u64)
}

/// The changes held for their clock, oldest first.
pub(crate) async fn quarantine(pool: Pool) -> Result<Vec<fushi_core::store::QuarantinedChange>> {
    let client = Pg::client(&pool).await?;
    let rows = client
        .query(
            "SELECT change, wall_ms, received_at FROM fushi_quarantine ORDER BY id",
            &[],
        )
        .await
        .map_err(db_error("read quarantine"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let change: RowChange = serde_json::from_slice(r.get::<_, &[u8]>(0))?;
        out.push(fushi_core::store::QuarantinedChange {
            table: change.table,
            id: change.id,
            clock_wall_ms: r.get(1),
            received_at: r.get(2),
            reason: "clock too far ahead of this device's time".into(),
        });
    }
    Ok(out)
}

/// Held changes dropped rather than applied, oldest first.
pub(crate) async fn quarantine_drops(pool: Pool) -> Result<Vec<fushi_core::store::QuarantineDrop>> {
    let client = Pg::client(&pool).await?;
    let rows = client
        .query(
            "SELECT tbl, row_id, code, dropped_at FROM fushi_quarantine_drop ORDER BY id",
            &[],
        )
        .await
        .map_err(db_error("read quarantine drops"))?;
    Ok(rows
        .iter()
        .map(|r| fushi_core::store::QuarantineDrop {
            table: r.get(0),
            id: r.get(1),
            code: r.get(2),
            dropped_at: r.get(3),
        })
        .collect())
}

/// Station records held for their window's batch.
pub(crate) async fn held_records(pool: Pool) -> Result<usize> {
    let client = Pg::client(&pool).await?;
    let n: i64 = client
        .query_one("SELECT count(*) FROM fushi_held_record", &[])
        .await
        .map_err(db_error("read held records"))?
        .get(0);
    Ok(n.max(0) as usize)
}
