//! Residents search items, skills and needs by Chinese (or Latin) text,
//! offline, with filters, three orders and stable paging.
//!
//! The text is indexed into one contentless FTS5 table per listing kind, in
//! the index file of [`super::search_index`], as pairs of characters of the
//! folded text ([`crate::search::tokens`]), so any substring typed is found:
//! Chinese, Latin and digits inside words and codes, traditional or
//! simplified, full-width or not. Whatever the user types goes through
//! [`Query::parse`], so quotes, `*`, `AND`, `NEAR` or a lone `"` are searched
//! as text and never break the query. Listings not yet indexed are scanned.
//!
//! Residents never see deleted or hidden listings, nor expired items; grid
//! staff may ask for the hidden ones of their own community.

use super::search_index::{
    indexed_sql, waiting_sql, IndexedKind, ITEM_TEXT, NEED_TEXT, SKILL_TEXT,
};
use super::Store;
use crate::geo::{bounding_box, distance_m, validate_wgs84, GeoPoint};
use crate::model::catalogue;
use crate::model::ListingKind;
use crate::policy::Role;
use crate::search::tokens::{index_tokens_of, Query};
use crate::{Error, Result};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most hits one page may hold.
pub const MAX_PAGE: usize = 100;
/// Deepest offset a search pages to.
pub const MAX_OFFSET: usize = 10_000;
/// Above this many text matches in one kind, a search ranks by window (see
/// [`Store::search`]) instead of scoring every match.
pub const EXACT_MAX_MATCHES: i64 = 1000;

/// Register the store's SQL functions on a connection: the FTS triggers and
/// the queries call them. Done for the writer and every reader.
pub fn register_functions(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("fushi_tokens", -1, flags, |ctx| {
        let fields: Vec<std::borrow::Cow<'_, str>> = (0..ctx.len())
            .filter_map(|i| match ctx.get_raw(i) {
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t)),
                _ => None,
            })
            .collect();
        let fields: Vec<&str> = fields.iter().map(|f| f.as_ref()).collect();
        Ok(index_tokens_of(&fields))
    })?;
    // fushi_verify(words, field, ...): whether every word of a query
    // ([`Query::packed`]) is a substring of one folded field.
    conn.create_scalar_function("fushi_verify", -1, flags, |ctx| {
        let ValueRef::Text(words) = ctx.get_raw(0) else {
            return Ok(false);
        };
        let words = String::from_utf8_lossy(words);
        let fields: Vec<std::borrow::Cow<'_, str>> = (1..ctx.len())
            .filter_map(|i| match ctx.get_raw(i) {
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t)),
                _ => None,
            })
            .collect();
        Ok(Query::matches_packed(
            &words,
            fields.iter().map(|f| f.as_ref()),
        ))
    })?;
    conn.create_scalar_function("fushi_label", 2, flags, |ctx| {
        let (ValueRef::Text(kind), ValueRef::Text(code)) = (ctx.get_raw(0), ctx.get_raw(1)) else {
            return Ok(None);
        };
        let code = String::from_utf8_lossy(code);
        let lists: &[&'static [catalogue::Category]] = match kind {
            b"item" => &[catalogue::ITEM_CATEGORIES],
            b"skill" => &[catalogue::SKILL_CATEGORIES],
            _ => &[catalogue::ITEM_CATEGORIES, catalogue::SKILL_CATEGORIES],
        };
        Ok(lists
            .iter()
            .find_map(|l| catalogue::find(l, &code))
            .map(|c| c.zh))
    })?;
    conn.create_scalar_function("fushi_amenity_mask", 1, flags, |ctx| {
        let codes: Vec<String> = match ctx.get_raw(0) {
            ValueRef::Text(t) => serde_json::from_slice(t).unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(catalogue::amenity_mask(codes.iter().map(String::as_str)))
    })?;
    conn.create_scalar_function("fushi_distance", 4, flags, |ctx| {
        let mut v = [0f64; 4];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = match ctx.get_raw(i) {
                ValueRef::Real(r) => r,
                ValueRef::Integer(n) => n as f64,
                _ => return Ok(None),
            };
        }
        Ok(Some(distance_m(v[0], v[1], v[2], v[3])))
    })?;
    // The search statements vary by kind, order and text/no text.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// The order of search results. Every order ends with the listing id, so
/// equal keys still come in one fixed order and pages never overlap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SortBy {
    /// Best text match first (FTS5 bm25, title weighted 5:1); newest first
    /// when there is no text.
    #[default]
    Relevance,
    /// Newest first (by `created_at`).
    Recency,
    /// Nearest to [`SearchQuery::near`] first; listings without a position last.
    Distance,
}

/// What a resident asks for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchQuery {
    /// What they typed. Blank browses everything that passes the filters;
    /// text without any letter, digit or Chinese character finds nothing.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub text: String,
    /// Kinds to search; empty means all three.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub kinds: Vec<ListingKind>,
    /// Category code (item or skill catalogue, or a need's category).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub category: Option<String>,
    /// Status. `None`: items available or reserved, skills active, needs open.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub status: Option<String>,
    /// Item mode, `give` or `swap`; only items are returned when set.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub mode: Option<String>,
    /// A WGS-84 point for distance filter and order.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub near: Option<GeoPoint>,
    /// Only listings within this many metres of `near` (listings without a
    /// position are then left out).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub within_m: Option<f64>,
    /// Order; `None` means [`SortBy::Relevance`].
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub sort: Option<SortBy>,
    /// Hits to skip (offset paging).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub offset: u32,
    /// Hits per page (1–[`MAX_PAGE`]; 0 means 20).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub limit: u32,
    /// Grid staff only: include listings hidden by moderation (of their own
    /// community). Ignored for residents.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub include_hidden: bool,
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchHit {
    /// Which kind.
    pub kind: ListingKind,
    /// Listing id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Category code (may be absent on needs).
    pub category: Option<String>,
    /// Status.
    pub status: String,
    /// Item mode (items only).
    pub mode: Option<String>,
    /// Posted at (Unix ms).
    pub created_at: i64,
    /// Compound-level pickup place (items only).
    pub pickup_area: Option<String>,
    /// Metres from [`SearchQuery::near`], when both positions are known.
    pub distance_m: Option<f64>,
    /// bm25 score (lower is better; 0 without text).
    pub score: f64,
    /// Hidden by moderation (only ever true for grid staff).
    pub hidden: bool,
}

/// One page of hits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchPage {
    /// The hits, in order.
    pub hits: Vec<SearchHit>,
    /// The offset of the next page, if there are more hits.
    pub next_offset: Option<u32>,
}

/// Per-kind SQL bits.
struct KindSql {
    /// Its table, index and text (one description with the indexer's).
    text: &'static IndexedKind,
    mode: &'static str,
    pickup: &'static str,
    /// Filter when the query gives no status.
    default_status: &'static str,
    /// Extra filter (items: not expired).
    extra: &'static str,
}

/// The kinds search looks through, with their SQL: items, skills and needs
/// (stations are found by [`Store::nearest_stations`]).
const SEARCHABLE: [(ListingKind, KindSql); 3] = [
    (
        ListingKind::Item,
        KindSql {
            text: &ITEM_TEXT,
            mode: "t.mode",
            pickup: "t.pickup_area",
            default_status: "t.status IN ('available', 'reserved')",
            extra: "t.expires_at > :now",
        },
    ),
    (
        ListingKind::Skill,
        KindSql {
            text: &SKILL_TEXT,
            mode: "NULL",
            pickup: "NULL",
            default_status: "t.status = 'active'",
            extra: "1",
        },
    ),
    (
        ListingKind::Need,
        KindSql {
            text: &NEED_TEXT,
            mode: "NULL",
            pickup: "NULL",
            default_status: "t.status = 'open'",
            extra: "1",
        },
    ),
];

/// Where one pass of a kind's search reads.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// Every listing, no text.
    Browse,
    /// The full-text index (listings indexed as they stand), each match
    /// checked with `fushi_verify` when `:verify` is set.
    Index,
    /// The listings waiting for the index, scanned with `fushi_verify`.
    Pending,
}

/// The SQL of one kind's search; parameters are named so one statement
/// serves every combination of filters (a NULL parameter means "any").
fn search_sql(
    k: &KindSql,
    source: Source,
    sort: SortBy,
    default_status: bool,
    window: bool,
) -> String {
    let (from, score, arrival) = match source {
        Source::Index => (
            format!(
                "s.{fts} JOIN {t} t ON t.rid = {fts}.rowid WHERE {fts} MATCH :match \
                 AND {indexed} \
                 AND (:verify IS NULL OR fushi_verify(:verify, {fields})) AND",
                fts = k.text.fts,
                t = k.text.table,
                indexed = indexed_sql(k.text.no, "t.rid"),
                fields = k.text.fields_sql(),
            ),
            format!("bm25({}, 5.0, 1.0)", k.text.fts),
            format!("{}.rowid DESC", k.text.fts),
        ),
        Source::Pending => (
            format!(
                "{t} t WHERE t.rid IN ({waiting}) \
                 AND fushi_verify(:verify, {fields}) AND",
                t = k.text.table,
                waiting = waiting_sql(k.text.no, k.text.table),
                fields = k.text.fields_sql(),
            ),
            "0.0".to_owned(),
            // By relevance: title matches first, as the index's two passes
            // give them.
            if sort == SortBy::Relevance {
                "NOT fushi_verify(:verify, t.title), t.rid DESC".to_owned()
            } else {
                "t.rid DESC".to_owned()
            },
        ),
        Source::Browse => (
            format!("{} t WHERE", k.text.table),
            "0.0".to_owned(),
            "t.rid DESC".to_owned(),
        ),
    };
    let text = source != Source::Browse;
    let in_title = match (source, sort) {
        (Source::Pending, SortBy::Relevance) => "fushi_verify(:verify, t.title)",
        _ => "NULL",
    };
    let status = if default_status {
        k.default_status
    } else {
        "t.status = :status"
    };
    let order = match (sort, text) {
        _ if window => arrival.as_str(),
        (SortBy::Relevance, true) => "score, t.id",
        (SortBy::Relevance | SortBy::Recency, _) => "t.created_at DESC, t.id",
        (SortBy::Distance, _) => "dist IS NULL, dist, t.id",
    };
    format!(
        "SELECT t.id, t.title, t.category, t.status, {mode}, t.created_at, {pickup}, \
         fushi_distance(:lat, :lon, t.lat, t.lon) AS dist, {score} AS score, t.hidden, t.rid, \
         {in_title} FROM {from} t.deleted = 0 AND (t.hidden = 0 OR t.community = :staff_of) \
         AND {status} AND {extra} \
         AND (:category IS NULL OR t.category = :category) \
         AND (:mode IS NULL OR {mode} = :mode) \
         AND (:within IS NULL OR (t.lat BETWEEN :min_lat AND :max_lat \
              AND t.lon BETWEEN :min_lon AND :max_lon \
              AND fushi_distance(:lat, :lon, t.lat, t.lon) <= :within)) \
         ORDER BY {order} LIMIT :limit",
        mode = k.mode,
        pickup = k.pickup,
        extra = k.extra,
    )
}

/// Sort key of a hit, comparable across kinds: primary, secondary, id.
type Key = (f64, i64, Uuid);

fn cmp_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
}

/// How matches are ranked for one query.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Every match scored and sorted.
    Exact,
    /// Many matches: title matches before body-only matches (relevance),
    /// each tier newest-arrived first, read in index order and stopped early.
    Window,
}

impl Store {
    /// Search items, skills and needs on this phone, offline.
    ///
    /// Ranking: with at most [`EXACT_MAX_MATCHES`] text matches per kind,
    /// every match is scored (bm25, title weighted 5:1) or sorted by
    /// `created_at`, ties by id. With more (a one- or two-character query
    /// over a large store), scoring all would take tens of milliseconds, so
    /// the search reads the index newest-arrived first and stops after the
    /// page: relevance then means title matches before body-only matches,
    /// and "newest" means the order listings reached this phone (posting
    /// order, except listings that arrived late from an offline phone). The
    /// plan depends only on the data, so paging stays stable.
    ///
    /// Errors name the field: `near` (bad coordinates), `within_m`,
    /// `limit`, `offset`, `sort` (distance order without `near`), `mode`.
    /// On the server's store: [`Error::PhoneOnly`].
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage> {
        self.phone_only("search")?;
        if q.kinds.contains(&ListingKind::Station) {
            return Err(Error::invalid(
                "kinds",
                "stations are found with nearest_stations, not search",
            ));
        }
        let sort = q.sort.unwrap_or_default();
        let near = q.near.map(|p| (p.lat, p.lon));
        let offset = q.offset as usize;
        let limit = match q.limit as usize {
            0 => 20,
            n if n <= MAX_PAGE => n,
            _ => return Err(Error::invalid("limit", "at most 100 hits per page")),
        };
        if offset > MAX_OFFSET {
            return Err(Error::invalid("offset", "pages too deep"));
        }
        if let Some((lat, lon)) = near {
            validate_wgs84(lat, lon).map_err(|r| Error::invalid("near", r))?;
        }
        if sort == SortBy::Distance && near.is_none() {
            return Err(Error::invalid("sort", "distance order needs a point"));
        }
        let within = match (q.within_m, near) {
            (None, _) => None,
            (Some(_), None) => return Err(Error::invalid("within_m", "needs a point")),
            (Some(r), Some(_)) if !(r.is_finite() && r >= 0.0) => {
                return Err(Error::invalid("within_m", "must be a distance in metres"))
            }
            (Some(r), Some(p)) => Some((r, p)),
        };
        if let Some(m) = &q.mode {
            if !crate::model::tables::MODES.contains(&m.as_str()) {
                return Err(Error::invalid("mode", "is not an allowed value"));
            }
        }
        let query = if q.text.trim().is_empty() {
            None
        } else {
            match Query::parse(&q.text) {
                Some(m) => Some(m),
                // Only punctuation or symbols: nothing can match.
                None => return Ok(SearchPage::default()),
            }
        };
        let staff_of = self
            .actor()
            .ok()
            .filter(|a| q.include_hidden && matches!(a.role, Role::GridStaff | Role::Admin))
            .map(|a| a.community);
        let kinds: Vec<&(ListingKind, KindSql)> = SEARCHABLE
            .iter()
            .filter(|(k, _)| q.kinds.is_empty() || q.kinds.contains(k))
            .filter(|(k, _)| q.mode.is_none() || *k == ListingKind::Item)
            .collect();
        let want = offset + limit + 1;
        let now = self.now_ms();
        let matcher = query.as_ref().map(|m| m.fts().to_owned());
        let packed = query.as_ref().map(Query::packed);
        // Checked against the fields when the index alone is not exact.
        let verify = query.as_ref().filter(|m| !m.exact()).map(Query::packed);
        let mut hits = self.read_search(|c| {
            let mut hits: Vec<(Key, SearchHit)> = Vec::new();
            let mut plan = Plan::Exact;
            if let (Some(m), Some(words), true) = (&matcher, &packed, sort != SortBy::Distance) {
                // Matches of each kind, indexed or waiting (so the plan does
                // not change while the index catches up), up to the bound.
                for (_, k) in &kinds {
                    let (fts, t, kind, fields) = (k.text.fts, k.text.table, k.text.no, k.text.fields_sql());
                    let indexed: i64 = match &verify {
                        None => c
                            .prepare_cached(&format!(
                                "SELECT count(*) FROM (SELECT 1 FROM s.{fts} WHERE {fts} MATCH ?1 \
                                 AND {} LIMIT ?2)",
                                indexed_sql(kind, &format!("{fts}.rowid"))
                            ))?
                            .query_row(rusqlite::params![m, EXACT_MAX_MATCHES + 1], |r| r.get(0))?,
                        Some(v) => c
                            .prepare_cached(&format!(
                                "SELECT count(*) FROM (SELECT 1 FROM s.{fts} JOIN {t} t ON t.rid = {fts}.rowid \
                                 WHERE {fts} MATCH ?1 AND {} \
                                 AND fushi_verify(?3, {fields}) LIMIT ?2)",
                                indexed_sql(kind, "t.rid")
                            ))?
                            .query_row(rusqlite::params![m, EXACT_MAX_MATCHES + 1, v], |r| r.get(0))?,
                    };
                    let waiting: i64 = c
                        .prepare_cached(&format!(
                            "SELECT count(*) FROM (SELECT 1 FROM {t} t \
                             WHERE t.rid IN ({}) \
                             AND t.deleted = 0 AND fushi_verify(?1, {fields}) LIMIT ?2)",
                            waiting_sql(kind, t)
                        ))?
                        .query_row(rusqlite::params![words, EXACT_MAX_MATCHES + 1], |r| r.get(0))?;
                    if indexed + waiting > EXACT_MAX_MATCHES {
                        plan = Plan::Window;
                    }
                }
            }
            // (source, match expression, tier) passes.
            let passes: Vec<(Source, Option<String>, i64)> = match (&matcher, plan, sort) {
                (None, _, _) => vec![(Source::Browse, None, 0)],
                (Some(m), Plan::Window, SortBy::Relevance) => vec![
                    (Source::Index, Some(format!("title : ({m})")), 0),
                    (Source::Index, Some(format!("({m}) NOT title : ({m})")), 1),
                    (Source::Pending, None, 0),
                ],
                (Some(m), _, _) => vec![
                    (Source::Index, Some(m.clone()), 0),
                    (Source::Pending, None, 0),
                ],
            };
            for (kind, (source, pass, tier)) in kinds
                .iter()
                .flat_map(|k| passes.iter().map(move |p| (k, p)))
            {
                let matcher = pass;
                let sql = search_sql(
                    &kind.1,
                    *source,
                    sort,
                    q.status.is_none(),
                    plan == Plan::Window,
                );
                let verify = match source {
                    Source::Pending => &packed,
                    _ => &verify,
                };
                let mut stmt = c.prepare_cached(&sql)?;
                let bind = |stmt: &mut rusqlite::CachedStatement<'_>,
                            name: &str,
                            v: &dyn rusqlite::ToSql|
                 -> Result<()> {
                    if let Some(i) = stmt.parameter_index(name)? {
                        stmt.raw_bind_parameter(i, v)?;
                    }
                    Ok(())
                };
                let (lat, lon) = near.map_or((None, None), |(a, b)| (Some(a), Some(b)));
                let bbox = within.map(|(r, (lat, lon))| bounding_box(lat, lon, r));
                bind(&mut stmt, ":match", matcher)?;
                bind(&mut stmt, ":verify", verify)?;
                bind(&mut stmt, ":status", &q.status)?;
                bind(&mut stmt, ":now", &now)?;
                bind(&mut stmt, ":staff_of", &staff_of)?;
                bind(&mut stmt, ":category", &q.category)?;
                bind(&mut stmt, ":lat", &lat)?;
                bind(&mut stmt, ":lon", &lon)?;
                bind(&mut stmt, ":within", &within.map(|w| w.0))?;
                bind(&mut stmt, ":min_lat", &bbox.map(|b| b.0))?;
                bind(&mut stmt, ":min_lon", &bbox.map(|b| b.1))?;
                bind(&mut stmt, ":max_lat", &bbox.map(|b| b.2))?;
                bind(&mut stmt, ":max_lon", &bbox.map(|b| b.3))?;
                bind(&mut stmt, ":limit", &(want as i64))?;
                bind(&mut stmt, ":mode", &q.mode)?;
                let mut rows = stmt.raw_query();
                while let Some(r) = rows.next()? {
                    let id: [u8; 16] = match r.get_ref(0)? {
                        ValueRef::Blob(b) => b
                            .try_into()
                            .map_err(|_| Error::Corrupt("bad row id".into()))?,
                        _ => return Err(Error::Corrupt("bad row id".into())),
                    };
                    let mode: Option<String> = r.get(4)?;
                    let id = Uuid::from_bytes(id);
                    let created_at = r.get::<_, Option<i64>>(5)?.unwrap_or_default();
                    let distance_m: Option<f64> = r.get(7)?;
                    let score: f64 = r.get(8)?;
                    let rid: i64 = r.get(10)?;
                    let text = *source != Source::Browse;
                    let tier = match r.get::<_, Option<bool>>(11)? {
                        Some(in_title) => i64::from(!in_title),
                        None => *tier,
                    };
                    let key: Key = match (plan, sort, text) {
                        (Plan::Window, _, _) => (tier as f64, -rid, id),
                        (_, SortBy::Distance, _) => {
                            (distance_m.unwrap_or(f64::INFINITY), 0, id)
                        }
                        (_, SortBy::Relevance, true) => (score, 0, id),
                        _ => (-(created_at as f64), 0, id),
                    };
                    hits.push((key, SearchHit {
                        kind: kind.0,
                        id,
                        title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        category: r.get(2)?,
                        status: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        mode,
                        created_at,
                        pickup_area: r.get(6)?,
                        distance_m,
                        score,
                        hidden: r.get::<_, i64>(9)? != 0,
                    }));
                }
            }
            Ok(hits)
        })?;
        hits.sort_by(|a, b| cmp_keys(&a.0, &b.0));
        let more = hits.len() > offset + limit;
        let page: Vec<SearchHit> = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(_, h)| h)
            .collect();
        Ok(SearchPage {
            next_offset: more.then(|| u32::try_from(offset + limit).unwrap_or(u32::MAX)),
            hits: page,
        })
    }
}
