//! Needs meet offers: for a resident's need, the items (want = item) or skill
//! offers (want = skill) that may answer it, ranked with a visible score; and
//! after every batch of changes, the offers that newly match the signed-in
//! user's open needs, so the app can notify.
//!
//! Score (0–1, higher is better), the sum of:
//! - text, up to 0.5: words shared by the need and the offer (Chinese
//!   two-character words and Latin words of their titles and descriptions),
//!   0.1 per shared word, at most five;
//! - category, 0.2: the need names the offer's category;
//! - distance, up to 0.15: both have a position, falling linearly to 0 at 5 km;
//! - freshness, up to 0.15: falling linearly to 0 at 30 days old.
//!
//! An offer matches only if it shares a word or the category: distance and
//! freshness rank matches, they never make one. Offers must be live, visible,
//! available (items, unexpired) or active (skills), and not the need owner's.

use super::{ApplyReport, Store};
use crate::geo::distance_m;
use crate::model::tables::Table;
use crate::model::ListingKind;
use crate::model::Need;
use crate::search::tokens::index_tokens;
use crate::{Error, Result};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;

const CANDIDATES: usize = 200;
const DISTANCE_ZERO_M: f64 = 5_000.0;
const FRESH_ZERO_DAYS: f64 = 30.0;

/// Why an offer ranks where it does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MatchScore {
    /// Words the need and the offer share.
    pub shared_words: u32,
    /// Text part of the score.
    pub text: f64,
    /// Category part.
    pub category: f64,
    /// Metres between need and offer, when both have a position.
    pub distance_m: Option<f64>,
    /// Distance part.
    pub distance: f64,
    /// Freshness part.
    pub freshness: f64,
    /// The sum.
    pub total: f64,
}

/// An offer that may answer a need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Match {
    /// The need.
    pub need_id: Uuid,
    /// Item or skill.
    pub kind: ListingKind,
    /// The offer.
    pub offer_id: Uuid,
    /// The offer's title.
    pub title: String,
    /// The score and its parts.
    pub score: MatchScore,
}

/// What matching needs of an offer.
struct Offer {
    id: Uuid,
    title: String,
    description: Option<String>,
    category: String,
    created_at: i64,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// Words of a text: tokens of two or more characters (Chinese bigrams and
/// Latin words; single Chinese characters are too common to mean a match).
fn words(title: &str, description: Option<&str>) -> BTreeSet<String> {
    let mut text = title.to_owned();
    if let Some(d) = description {
        text.push(' ');
        text.push_str(d);
    }
    index_tokens(&text)
        .split(' ')
        .filter(|t| t.chars().count() >= 2 || t.chars().all(|c| c.is_ascii_alphanumeric()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn score(need: &Need, need_words: &BTreeSet<String>, offer: &Offer, now: i64) -> MatchScore {
    let offer_words = words(&offer.title, offer.description.as_deref());
    let shared = need_words.intersection(&offer_words).count() as u32;
    let text = 0.1 * f64::from(shared.min(5));
    let category = if need.category.as_deref() == Some(offer.category.as_str()) {
        0.2
    } else {
        0.0
    };
    let dist = match (need.lat, need.lon, offer.lat, offer.lon) {
        (Some(a), Some(b), Some(c), Some(d)) => Some(distance_m(a, b, c, d)),
        _ => None,
    };
    let distance = dist.map_or(0.0, |d| 0.15 * (1.0 - d / DISTANCE_ZERO_M).max(0.0));
    let age_days = (now - offer.created_at).max(0) as f64 / 86_400_000.0;
    let freshness = 0.15 * (1.0 - age_days / FRESH_ZERO_DAYS).max(0.0);
    MatchScore {
        shared_words: shared,
        text,
        category,
        distance_m: dist,
        distance,
        freshness,
        total: text + category + distance + freshness,
    }
}

fn qualifies(s: &MatchScore) -> bool {
    s.shared_words > 0 || s.category > 0.0
}

fn offer_kind(want: &str) -> Option<ListingKind> {
    match want {
        "item" => Some(ListingKind::Item),
        "skill" => Some(ListingKind::Skill),
        _ => None,
    }
}

/// Columns and the "offered" filter of an offer table.
fn offer_sql(kind: ListingKind) -> (&'static str, &'static str) {
    match kind {
        ListingKind::Item => (
            "item",
            "t.deleted = 0 AND t.hidden = 0 AND t.status = 'available' AND t.expires_at > ?2 AND t.owner IS NOT ?3",
        ),
        _ => (
            "skill",
            "t.deleted = 0 AND t.hidden = 0 AND t.status = 'active' AND ?2 IS NOT NULL AND t.owner IS NOT ?3",
        ),
    }
}

fn read_offers(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    out: &mut Vec<Offer>,
    seen: &mut HashSet<Uuid>,
) -> Result<()> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    while let Some(r) = rows.next()? {
        let id: Vec<u8> = r.get(0)?;
        let id = Uuid::from_slice(&id).map_err(|_| Error::Corrupt("bad row id".into()))?;
        if !seen.insert(id) {
            continue;
        }
        out.push(Offer {
            id,
            title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            description: r.get(2)?,
            category: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            created_at: r.get::<_, Option<i64>>(4)?.unwrap_or_default(),
            lat: r.get(5)?,
            lon: r.get(6)?,
        });
    }
    Ok(())
}

const OFFER_COLS: &str = "t.id, t.title, t.description, t.category, t.created_at, t.lat, t.lon";

/// Offered listings sharing a word or the category with the need.
fn candidates(
    c: &Connection,
    need: &Need,
    need_words: &BTreeSet<String>,
    kind: ListingKind,
    now: i64,
) -> Result<Vec<Offer>> {
    let (table, offered) = offer_sql(kind);
    let owner = need.owner.to_string();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    if !need_words.is_empty() {
        let expr = need_words
            .iter()
            .take(crate::search::tokens::MAX_QUERY_TERMS)
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT {OFFER_COLS} FROM s.{table}_fts JOIN {table} t ON t.rid = {table}_fts.rowid \
             WHERE {table}_fts MATCH ?1 AND {offered} ORDER BY {table}_fts.rowid DESC LIMIT {CANDIDATES}"
        );
        read_offers(
            c,
            &sql,
            rusqlite::params![expr, now, owner],
            &mut out,
            &mut seen,
        )?;
        // Offers not in the full-text index yet (scored below like the rest).
        let kind_no = super::search_index::KINDS
            .iter()
            .find(|k| k.table == table)
            .map_or(-1, |k| k.no);
        let sql = format!(
            "SELECT {OFFER_COLS} FROM {table} t \
             WHERE t.rid IN ({}) AND {offered} \
             ORDER BY t.rid DESC LIMIT {CANDIDATES}",
            super::search_index::waiting_sql(kind_no, table)
        );
        read_offers(
            c,
            &sql,
            rusqlite::params![rusqlite::types::Null, now, owner],
            &mut out,
            &mut seen,
        )?;
    }
    if let Some(cat) = &need.category {
        let sql = format!(
            "SELECT {OFFER_COLS} FROM {table} t WHERE t.category = ?1 AND {offered} \
             ORDER BY t.created_at DESC LIMIT {CANDIDATES}"
        );
        read_offers(
            c,
            &sql,
            rusqlite::params![cat, now, owner],
            &mut out,
            &mut seen,
        )?;
    }
    Ok(out)
}

fn ranked(mut matches: Vec<Match>) -> Vec<Match> {
    matches.sort_by(|a, b| {
        b.score
            .total
            .total_cmp(&a.score.total)
            .then(a.offer_id.cmp(&b.offer_id))
    });
    matches
}

impl Store {
    /// Offers that may answer a need, best first (ties by id), at most `limit`.
    /// On the server's store: [`crate::Error::PhoneOnly`].
    pub fn matches_for_need(&self, need_id: Uuid, limit: usize) -> Result<Vec<Match>> {
        self.phone_only("need matching")?;
        let need = self.need(need_id)?;
        let Some(kind) = offer_kind(&need.want) else {
            return Ok(Vec::new());
        };
        let now = self.now_ms();
        let need_words = words(&need.title, need.description.as_deref());
        let offers = self.read_search(|c| candidates(c, &need, &need_words, kind, now))?;
        let mut matches: Vec<Match> = offers
            .into_iter()
            .filter_map(|o| {
                let s = score(&need, &need_words, &o, now);
                qualifies(&s).then_some(Match {
                    need_id,
                    kind,
                    offer_id: o.id,
                    title: o.title,
                    score: s,
                })
            })
            .collect();
        matches = ranked(matches);
        matches.truncate(limit);
        Ok(matches)
    }

    /// The offers among `report.changed` (a local write or a remote apply)
    /// that match one of the signed-in user's open needs, best first. Offers
    /// that stopped being offered, and the user's own, are left out.
    pub fn new_matches(&self, report: &ApplyReport) -> Result<Vec<Match>> {
        let Ok(actor) = self.actor() else {
            return Ok(Vec::new());
        };
        let mut changed: Vec<(ListingKind, Uuid)> = report
            .changed
            .iter()
            .filter_map(|(t, id)| match t {
                Table::Item => Some((ListingKind::Item, *id)),
                Table::Skill => Some((ListingKind::Skill, *id)),
                _ => None,
            })
            .collect();
        changed.sort();
        changed.dedup();
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let owner = actor.user.to_string();
        self.read(|c| {
            let needs: Vec<Need> = super::listings::select_rows(
                c,
                Table::Need,
                "owner = ?1 AND status = 'open' AND deleted = 0 AND hidden = 0",
                [&owner],
            )?
            .iter()
            .map(Need::from)
            .collect();
            if needs.is_empty() {
                return Ok(Vec::new());
            }
            let needs: Vec<(Need, BTreeSet<String>)> = needs
                .into_iter()
                .map(|n| {
                    let w = words(&n.title, n.description.as_deref());
                    (n, w)
                })
                .collect();
            let mut out = Vec::new();
            for (kind, id) in changed {
                let (table, offered) = offer_sql(kind);
                let sql =
                    format!("SELECT {OFFER_COLS} FROM {table} t WHERE t.id = ?1 AND {offered}");
                let mut offers = Vec::new();
                read_offers(
                    c,
                    &sql,
                    rusqlite::params![id.as_bytes(), now, owner],
                    &mut offers,
                    &mut HashSet::new(),
                )?;
                for o in &offers {
                    for (need, need_words) in &needs {
                        if offer_kind(&need.want) != Some(kind) {
                            continue;
                        }
                        let s = score(need, need_words, o, now);
                        if qualifies(&s) {
                            out.push(Match {
                                need_id: need.id,
                                kind,
                                offer_id: o.id,
                                title: o.title.clone(),
                                score: s,
                            });
                        }
                    }
                }
            }
            Ok(ranked(out))
        })
    }
}
