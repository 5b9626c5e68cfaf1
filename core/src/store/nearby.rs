//! Outdoor workers find the nearest open cool station, offline.
//!
//! Candidates come from the `station_geo` R*Tree (kept by triggers, holding
//! only live, visible stations), searched in a box that grows from a few
//! hundred metres to the asked radius until enough stations pass the filters;
//! each candidate's exact (haversine) distance is then checked. No query
//! scans every station.
//!
//! Opening hours are parsed once per distinct string and their status cached
//! per minute; the holiday calendar is set by the app ([`Store::set_holiday_calendar`],
//! default: the official 2026 Chinese schedule).
//!
//! Reports: only unexpired ones are shown, and of those only what is still
//! news. Reports are taken in the order they were made (`created_at`, then
//! id); a later report of a kind replaces an earlier one of the same kind, and
//! a `restocked` report clears the shortages (`no_water`, `no_power_bank`)
//! reported before it, while a shortage reported after a `restocked` replaces
//! it. So "no water since 10:20" disappears when someone says "restocked" at
//! 11:00, and comes back if someone reports "no water" again at 11:30.

use super::Store;
use crate::geo::{bounding_box, distance_m, validate_wgs84, wgs84_to_gcj02, GeoPoint};
use crate::hours::{self, HolidayCalendar, Hours, OpenStatus};
use crate::model::tables::Table;
use crate::model::{catalogue, columns};
use crate::{Error, Result};
use rusqlite::types::ValueRef;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// The widest radius a nearby search accepts: 100 km.
pub const MAX_RADIUS_M: f64 = 100_000.0;
/// The most stations one nearby search returns.
pub const MAX_NEARBY: usize = 100;
/// The first search box's radius; it grows fourfold until enough are found.
const FIRST_RADIUS_M: f64 = 400.0;
/// Distinct opening-hours strings kept parsed before the cache is emptied.
const HOURS_CACHE_MAX: usize = 4096;
/// Report kinds that a `restocked` report clears.
const SHORTAGES: &[&str] = &["no_water", "no_power_bank"];

/// Parsed opening hours and the holiday calendar, shared by the store's queries.
#[derive(Default)]
pub(crate) struct HoursState {
    inner: Mutex<HoursInner>,
}

#[derive(Default)]
struct HoursInner {
    /// The calendar in use: [`HolidayCalendar::layered`] of the built-in
    /// 2026, the published years and the app's own; rebuilt when one of
    /// those changes.
    calendar: Option<HolidayCalendar>,
    /// The years published by admins, received by sync (newest per year).
    published: HolidayCalendar,
    /// A calendar the app set ([`Store::set_holiday_calendar`]).
    app: Option<HolidayCalendar>,
    /// Parsed expressions by string; `None` for one that does not parse.
    parsed: HashMap<String, Option<Hours>>,
    /// Status by string, for one local minute.
    minute: i64,
    statuses: HashMap<String, Option<OpenStatus>>,
}

impl HoursInner {
    fn calendar(&mut self) -> &HolidayCalendar {
        let (published, app) = (&self.published, &self.app);
        self.calendar.get_or_insert_with(|| {
            let builtin = HolidayCalendar::china_2026();
            let mut layers = vec![&builtin, published];
            layers.extend(app.as_ref());
            HolidayCalendar::layered(&layers)
        })
    }

    /// The status of `expr` at `at_ms` for a station at `position` (its
    /// sunrise and sunset), parsed and evaluated at most once per minute
    /// (and place, for hours that follow the sun); `None` if the expression
    /// does not parse.
    fn status(&mut self, expr: &str, at_ms: i64, position: Option<GeoPoint>) -> Option<OpenStatus> {
        let minute = at_ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.statuses.clear();
        }
        // Sun times move by about a minute per 20 km: a key to 0.01° (1 km).
        let by_sun = ["sun", "dawn", "dusk"].iter().any(|w| expr.contains(w));
        let key = match (by_sun, position) {
            (true, Some(p)) => format!("{expr}@{:.2},{:.2}", p.lat, p.lon),
            _ => expr.to_owned(),
        };
        if let Some(s) = self.statuses.get(&key) {
            return *s;
        }
        if !self.parsed.contains_key(expr) {
            if self.parsed.len() >= HOURS_CACHE_MAX {
                self.parsed.clear();
            }
            self.parsed.insert(expr.to_owned(), hours::parse(expr).ok());
        }
        let local = hours::local_from_unix_ms(minute * 60_000);
        let status = match (self.parsed.get(expr).cloned().flatten(), local) {
            (Some(h), Some(at)) => Some(hours::status_with_position(
                &h,
                at,
                self.calendar(),
                position,
            )),
            _ => None,
        };
        if self.statuses.len() >= HOURS_CACHE_MAX {
            self.statuses.clear();
        }
        self.statuses.insert(key, status);
        status
    }
}

/// What an outdoor worker asks: stations near a point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NearbyQuery {
    /// The worker's latitude (WGS-84, as GPS gives it). Used on the phone only.
    pub lat: f64,
    /// The worker's longitude (WGS-84).
    pub lon: f64,
    /// Search radius in metres (at most [`MAX_RADIUS_M`]).
    #[cfg_attr(feature = "uniffi", uniffi(default = 3000.0))]
    pub radius_m: f64,
    /// How many stations at most (1–[`MAX_NEARBY`]).
    #[cfg_attr(feature = "uniffi", uniffi(default = 10))]
    pub limit: u32,
    /// Amenity codes every station must have (all of them).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub amenities: Vec<String>,
    /// Only stations of this kind code.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub kind: Option<String>,
    /// Only stations open at this moment (Unix ms); pass now for "open now".
    /// Stations without (parseable) hours are then left out.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub open_at: Option<i64>,
}

impl Default for NearbyQuery {
    fn default() -> Self {
        NearbyQuery {
            lat: 0.0,
            lon: 0.0,
            radius_m: 3_000.0,
            limit: 10,
            amenities: Vec::new(),
            kind: None,
            open_at: None,
        }
    }
}

/// A current report on a station.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StationReport {
    /// Report id.
    pub id: Uuid,
    /// Report kind code ([`catalogue::REPORT_KINDS`]).
    pub kind: String,
    /// The reporter's note.
    pub note: Option<String>,
    /// Reported at (Unix ms): "no water since 10:20".
    pub created_at: i64,
    /// No longer shown after (Unix ms).
    pub expires_at: i64,
}

/// A station near the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NearbyStation {
    /// Station id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Option<String>,
    /// Kind code.
    pub kind: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude in GCJ-02, for Chinese map SDKs.
    pub gcj02_lat: f64,
    /// Longitude in GCJ-02.
    pub gcj02_lon: f64,
    /// Metres from the asked point.
    pub distance_m: f64,
    /// Amenity codes, sorted.
    pub amenities: Vec<String>,
    /// Opening hours as entered.
    pub opening_hours: Option<String>,
    /// Open now; `None` without (parseable) hours.
    pub open_now: Option<bool>,
    /// Whether this phone knows the public holidays of this year (built in,
    /// or published by an admin and received by sync): if not, `open_now`
    /// did not apply `PH` rules or make-up days, and the app should say
    /// "holidays not yet known". `None` without hours.
    pub holidays_known: Option<bool>,
    /// When open: closes at (Unix ms), if within the next days.
    pub closes_at: Option<i64>,
    /// When closed: opens at (Unix ms), if within the next days.
    pub opens_at: Option<i64>,
    /// Host organisation.
    pub host_org: Option<String>,
    /// The host organisation's contact number.
    pub contact: Option<String>,
    /// Current reports, oldest first (see the module notes).
    pub reports: Vec<StationReport>,
}

/// A candidate: exact distance, id bytes and rid.
struct Candidate {
    dist: f64,
    id: [u8; 16],
    rid: i64,
}

impl Store {
    /// Set the app's own public holidays and make-up working days for
    /// opening hours: they replace, for each year they list, the built-in
    /// 2026 and what admins published (received by sync); other years keep
    /// those.
    pub fn set_holiday_calendar(&self, calendar: HolidayCalendar) {
        if let Ok(mut h) = self.hours.inner.lock() {
            h.app = Some(calendar);
            h.calendar = None;
            h.statuses.clear();
        }
    }

    /// An admin publishes `year`'s holidays and make-up working days for the
    /// whole city (the text format of [`HolidayCalendar::from_text`], every
    /// date in `year`): phones learn it by sync. A later publication of the
    /// same year replaces it. Errors: `Invalid` (`holidays`, `year`),
    /// `NotAllowed` for anyone but an admin.
    pub fn publish_holiday_calendar(&self, year: i32, holidays: &str) -> Result<Uuid> {
        let actor = self.actor()?;
        self.record(
            Table::HolidayCalendar,
            vec![
                (columns::BY_USER, actor.user.to_string().into()),
                (columns::YEAR, i64::from(year).into()),
                (columns::HOLIDAYS, holidays.into()),
                (columns::COMMUNITY, actor.community.into()),
            ],
        )
    }

    /// The years whose holidays this phone knows (built in, published,
    /// set by the app).
    pub fn holiday_years(&self) -> Vec<i32> {
        self.holiday_calendar().years().into_iter().collect()
    }

    /// Read the published calendars again (the newest per year): at open,
    /// and after a write that brought one.
    pub(crate) fn reload_calendars(&self) {
        let published = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT year, holidays FROM holiday_calendar ORDER BY year, created_at, id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            let mut newest: std::collections::BTreeMap<i64, String> = Default::default();
            for row in rows {
                if let (Some(y), Some(text)) = row? {
                    newest.insert(y, text);
                }
            }
            Ok(newest)
        });
        let calendars: Vec<HolidayCalendar> = match published {
            Ok(newest) => newest
                .values()
                .filter_map(|text| HolidayCalendar::from_text(text).ok())
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "published holiday calendars could not be read");
                return;
            }
        };
        let layers: Vec<&HolidayCalendar> = calendars.iter().collect();
        if let Ok(mut h) = self.hours.inner.lock() {
            h.published = HolidayCalendar::layered(&layers);
            h.calendar = None;
            h.statuses.clear();
        }
    }

    /// The holiday calendar in use.
    pub fn holiday_calendar(&self) -> HolidayCalendar {
        self.hours
            .inner
            .lock()
            .map(|mut h| h.calendar().clone())
            .unwrap_or_default()
    }

    /// Whether a station with these hours is open at `at_ms`, with the store's
    /// calendar (cached like the nearby search). `None` if the hours do not parse.
    /// `sunrise`/`sunset` are taken at 07:00/19:00: see
    /// [`Store::opening_status_at`] for a station's own.
    pub fn opening_status(&self, opening_hours: &str, at_ms: i64) -> Option<OpenStatus> {
        self.opening_status_at(opening_hours, at_ms, None)
    }

    /// [`Store::opening_status`] for a station at `position`: its sunrise
    /// and sunset where the hours follow the sun.
    pub fn opening_status_at(
        &self,
        opening_hours: &str,
        at_ms: i64,
        position: Option<GeoPoint>,
    ) -> Option<OpenStatus> {
        self.hours
            .inner
            .lock()
            .ok()
            .and_then(|mut h| h.status(opening_hours, at_ms, position))
    }

    /// Stations near a point, nearest first (ties by id), with distance, open
    /// status and current reports. Offline; the position never leaves the phone.
    /// On the server's store: [`Error::PhoneOnly`].
    pub fn nearest_stations(&self, q: &NearbyQuery) -> Result<Vec<NearbyStation>> {
        self.phone_only("nearest stations")?;
        validate_wgs84(q.lat, q.lon).map_err(|r| Error::invalid("position", r))?;
        if !(q.radius_m.is_finite() && q.radius_m > 0.0 && q.radius_m <= MAX_RADIUS_M) {
            return Err(Error::invalid(
                "radius_m",
                "must be between 0 and 100000 metres",
            ));
        }
        let limit = q.limit as usize;
        if limit == 0 || limit > MAX_NEARBY {
            return Err(Error::invalid("limit", "must be between 1 and 100"));
        }
        let mut mask = 0i64;
        for a in &q.amenities {
            mask |= catalogue::amenity_mask([a.as_str()]);
            if catalogue::find(catalogue::AMENITIES, a).is_none() {
                return Err(Error::invalid("amenities", "is not a known category"));
            }
        }
        if let Some(k) = &q.kind {
            if catalogue::find(catalogue::STATION_KINDS, k).is_none() {
                return Err(Error::invalid("kind", "is not a known category"));
            }
        }
        let now = self.now_ms();
        let mut hours = self
            .hours
            .inner
            .lock()
            .map_err(|_| Error::Corrupt("hours cache poisoned".into()))?;
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.rid, s.id, s.lat, s.lon, s.opening_hours \
                 FROM station_geo g JOIN station s ON s.rid = g.rid \
                 WHERE g.max_lat >= ?1 AND g.min_lat <= ?3 AND g.max_lon >= ?2 AND g.min_lon <= ?4 \
                 AND (s.amenity_mask & ?5) = ?5 AND (?6 IS NULL OR s.kind = ?6) \
                 AND s.deleted = 0 AND s.hidden = 0",
            )?;
            let mut found: Vec<Candidate> = Vec::new();
            let mut r = FIRST_RADIUS_M.min(q.radius_m);
            loop {
                found.clear();
                let (a, b, c2, d) = bounding_box(q.lat, q.lon, r);
                let mut rows = stmt.query(rusqlite::params![a, b, c2, d, mask, q.kind])?;
                while let Some(row) = rows.next()? {
                    let (Some(lat), Some(lon)) =
                        (row.get::<_, Option<f64>>(2)?, row.get::<_, Option<f64>>(3)?)
                    else {
                        continue;
                    };
                    let dist = distance_m(q.lat, q.lon, lat, lon);
                    if dist.is_nan() || dist > r {
                        continue;
                    }
                    let open = match q.open_at {
                        None => true,
                        Some(at) => match row.get_ref(4)? {
                            ValueRef::Text(t) => std::str::from_utf8(t)
                                .ok()
                                .and_then(|h| hours.status(h, at, Some(GeoPoint { lat, lon })))
                                .is_some_and(|s| s.open),
                            _ => false,
                        },
                    };
                    if !open {
                        continue;
                    }
                    let id: [u8; 16] = match row.get_ref(1)? {
                        ValueRef::Blob(b) => b
                            .try_into()
                            .map_err(|_| Error::Corrupt("bad row id".into()))?,
                        _ => return Err(Error::Corrupt("bad row id".into())),
                    };
                    found.push(Candidate {
                        dist,
                        id,
                        rid: row.get(0)?,
                    });
                }
                if found.len() >= limit || r >= q.radius_m {
                    break;
                }
                r = (r * 4.0).min(q.radius_m);
            }
            found.sort_unstable_by(|a, b| a.dist.total_cmp(&b.dist).then(a.id.cmp(&b.id)));
            found.truncate(limit);
            let mut out = Vec::with_capacity(found.len());
            for cand in &found {
                out.push(station_view(c, cand, now, &mut hours)?);
            }
            Ok(out)
        })
    }

    /// How many times workers said "I rested here" at a station, since
    /// `since_ms` (all time if `None`). Check-ins are anonymous: only counted.
    pub fn checkin_count(&self, station_id: Uuid, since_ms: Option<i64>) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM station_checkin WHERE station_id = ?1 AND created_at >= ?2",
                )?
                .query_row(
                    rusqlite::params![station_id.to_string(), since_ms.unwrap_or(i64::MIN)],
                    |r| r.get(0),
                )?;
            Ok(n.max(0) as u64)
        })
    }

    /// The current reports on a station (see the module notes).
    pub fn station_reports(&self, station_id: Uuid) -> Result<Vec<StationReport>> {
        let now = self.now_ms();
        self.read(|c| current_reports(c, &station_id.to_string(), now))
    }
}

fn station_view(
    c: &rusqlite::Connection,
    cand: &Candidate,
    now: i64,
    hours: &mut HoursInner,
) -> Result<NearbyStation> {
    let mut stmt = c.prepare_cached(
        "SELECT name, address, kind, lat, lon, amenities, opening_hours, host_org, contact \
         FROM station WHERE rid = ?1",
    )?;
    let mut s = stmt.query_row([cand.rid], |r| {
        let lat: f64 = r.get(3)?;
        let lon: f64 = r.get(4)?;
        let (gcj02_lat, gcj02_lon) = wgs84_to_gcj02(lat, lon);
        Ok(NearbyStation {
            id: Uuid::from_bytes(cand.id),
            name: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            address: r.get(1)?,
            kind: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            lat,
            lon,
            gcj02_lat,
            gcj02_lon,
            distance_m: cand.dist,
            amenities: r
                .get::<_, Option<String>>(5)?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            opening_hours: r.get(6)?,
            open_now: None,
            holidays_known: None,
            closes_at: None,
            opens_at: None,
            host_org: r.get(7)?,
            contact: r.get(8)?,
            reports: Vec::new(),
        })
    })?;
    if let Some(st) = s.opening_hours.as_deref().and_then(|h| {
        hours.status(
            h,
            now,
            Some(GeoPoint {
                lat: s.lat,
                lon: s.lon,
            }),
        )
    }) {
        s.open_now = Some(st.open);
        s.holidays_known = Some(st.holidays_known);
        s.closes_at = st.closes_at.map(hours::local_to_unix_ms);
        s.opens_at = st.opens_at.map(hours::local_to_unix_ms);
    }
    s.reports = current_reports(c, &s.id.to_string(), now)?;
    Ok(s)
}

/// Unexpired reports on a station that are still news.
fn current_reports(
    c: &rusqlite::Connection,
    station: &str,
    now: i64,
) -> Result<Vec<StationReport>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, kind, note, created_at, expires_at FROM station_report \
         WHERE station_id = ?1 AND expires_at > ?2 ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map(rusqlite::params![station, now], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out: Vec<StationReport> = Vec::new();
    for row in rows {
        let (id, kind, note, created_at, expires_at) = row?;
        let id = Uuid::from_slice(&id).map_err(|_| Error::Corrupt("bad row id".into()))?;
        if kind == "restocked" {
            out.retain(|r| !SHORTAGES.contains(&r.kind.as_str()));
        } else if SHORTAGES.contains(&kind.as_str()) {
            out.retain(|r| r.kind != "restocked");
        }
        out.retain(|r| r.kind != kind);
        out.push(StationReport {
            id,
            kind,
            note,
            created_at,
            expires_at,
        });
    }
    Ok(out)
}
