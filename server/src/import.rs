//! `import-stations`: load stations from a GeoJSON FeatureCollection of
//! points or a CSV, check them with the core's model rules, and write them
//! as admin changes (so phones pull them like any other change).
//!
//! GeoJSON properties and CSV columns: `name` (required), `address`, `kind`
//! (default `cool_station`), `amenities` (a JSON array, or codes separated by
//! `;`), `opening_hours` (OSM syntax), `host_org` (or `operator`), `contact`
//! (or `phone`), `note`, `community` (default: the `--community` given).
//! CSV also needs `lat` and `lon` (WGS-84). A station already present with
//! the same name within 50 m is skipped, so an import can be run again.
//!
//! The stations are written as the importer (an admin) on a scratch store
//! and pushed to the storage like any admin's changes
//! ([`crate::storage::write_as`]), so an import runs the same on SQLite and
//! PostgreSQL, and while servers serve the same database.

use crate::storage::{write_as, SyncStorage};
use fushi_core::geo::distance_m;
use fushi_core::model::{NewStation, Station};
use fushi_core::policy::{Actor, Role};
use fushi_core::{Error, Result, Store, Table};
use serde_json::Value as Json;
use uuid::Uuid;

/// The account id stations imported by the operator are owned by.
pub const IMPORTER: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);

/// One station to import, before validation.
#[derive(Clone, Debug, PartialEq)]
pub struct StationInput {
    /// The station.
    pub station: NewStation,
    /// Its community.
    pub community: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// Stations written.
    pub added: Vec<Uuid>,
    /// Stations skipped as already present.
    pub skipped: usize,
}

fn text(props: &Json, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| props.get(*k).and_then(Json::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn amenities_of(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(Json::as_str)
            .map(|s| s.trim().to_owned())
            .collect(),
        Some(Json::String(s)) => split_codes(s),
        _ => Vec::new(),
    }
}

fn split_codes(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn input(props: &Json, lat: f64, lon: f64, community: &str, at: &str) -> Result<StationInput> {
    let name = text(props, &["name"])
        .ok_or_else(|| Error::invalid(format!("{at}.name"), "is required"))?;
    Ok(StationInput {
        station: NewStation {
            name,
            address: text(props, &["address", "addr:full"]),
            lat,
            lon,
            kind: text(props, &["kind"]).unwrap_or_else(|| "cool_station".into()),
            amenities: amenities_of(props.get("amenities")),
            opening_hours: text(props, &["opening_hours"]),
            host_org: text(props, &["host_org", "operator"]),
            contact: text(props, &["contact", "phone"]),
            note: text(props, &["note"]),
        },
        community: text(props, &["community"]).unwrap_or_else(|| community.to_owned()),
    })
}

/// Parse a GeoJSON FeatureCollection of Point features.
pub fn parse_geojson(bytes: &[u8], community: &str) -> Result<Vec<StationInput>> {
    let doc: Json = serde_json::from_slice(bytes)?;
    if doc.get("type").and_then(Json::as_str) != Some("FeatureCollection") {
        return Err(Error::invalid("type", "must be FeatureCollection"));
    }
    let features = doc
        .get("features")
        .and_then(Json::as_array)
        .ok_or_else(|| Error::invalid("features", "must be an array"))?;
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = format!("features[{i}]");
            let geom = f.get("geometry").unwrap_or(&Json::Null);
            if geom.get("type").and_then(Json::as_str) != Some("Point") {
                return Err(Error::invalid(format!("{at}.geometry"), "must be a Point"));
            }
            let coords = geom
                .get("coordinates")
                .and_then(Json::as_array)
                .filter(|c| c.len() >= 2)
                .ok_or_else(|| Error::invalid(format!("{at}.coordinates"), "must be [lon, lat]"))?;
            let (Some(lon), Some(lat)) = (coords[0].as_f64(), coords[1].as_f64()) else {
                return Err(Error::invalid(
                    format!("{at}.coordinates"),
                    "must be numbers",
                ));
            };
            input(
                f.get("properties").unwrap_or(&Json::Null),
                lat,
                lon,
                community,
                &at,
            )
        })
        .collect()
}

/// Parse a CSV with a header row.
pub fn parse_csv(bytes: &[u8], community: &str) -> Result<Vec<StationInput>> {
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = rd
        .headers()
        .map_err(|_| Error::invalid("csv", "could not read the header row"))?
        .clone();
    let mut out = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let at = format!("row {}", i + 2);
        let rec = rec.map_err(|_| Error::invalid(at.clone(), "could not be read"))?;
        let mut props = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            props.insert(h.to_owned(), Json::String(v.to_owned()));
        }
        let props = Json::Object(props);
        let num = |k: &str| -> Result<f64> {
            text(&props, &[k])
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| Error::invalid(format!("{at}.{k}"), "must be a number"))
        };
        out.push(input(&props, num("lat")?, num("lon")?, community, &at)?);
    }
    Ok(out)
}

/// Parse by file name: `.csv` is CSV, anything else GeoJSON.
pub fn parse_file(path: &std::path::Path, community: &str) -> Result<Vec<StationInput>> {
    let bytes = std::fs::read(path).map_err(|_| Error::invalid("file", "could not be read"))?;
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        parse_csv(&bytes, community)
    } else {
        parse_geojson(&bytes, community)
    }
}

/// Publish `year`'s public holidays and make-up working days (the text
/// format of `HolidayCalendar::from_text`, every date in `year`) for the
/// whole city, as the server's importer (an admin): every phone learns them
/// at its next sync. Returns the record's id.
pub fn publish_holidays(storage: &dyn SyncStorage, year: i32, text: &str) -> Result<uuid::Uuid> {
    let importer = Actor {
        user: IMPORTER,
        role: Role::Admin,
        community: "city".into(),
    };
    write_as(storage, &importer, |store| {
        store.publish_holiday_calendar(year, text)
    })
}

/// Write the stations as admin changes, checked by the same rules as a
/// phone's `post_station`, one by one: the first invalid one stops the import
/// with its number and field; those before it stay (running the import again
/// skips them).
/// Stations already present (same name within 50 m) are skipped.
pub fn import(storage: &dyn SyncStorage, stations: &[StationInput]) -> Result<ImportReport> {
    let importer = Actor {
        user: IMPORTER,
        role: Role::Admin,
        community: "city".into(),
    };
    write_as(storage, &importer, |store| import_into(store, stations))
}

/// [`import`] on the importer's scratch store.
fn import_into(store: &Store, stations: &[StationInput]) -> Result<ImportReport> {
    let existing: Vec<Station> = store
        .snapshot()?
        .iter()
        .filter(|r| r.table == Table::Station && !r.flag("deleted"))
        .map(Station::from)
        .collect();
    let mut report = ImportReport::default();
    for (i, s) in stations.iter().enumerate() {
        let dup = existing.iter().any(|e| {
            e.name == s.station.name
                && distance_m(e.lat, e.lon, s.station.lat, s.station.lon) < 50.0
        });
        if dup {
            report.skipped += 1;
            continue;
        }
        // Each station in its own community, as that community's admin.
        store.set_actor(Some(Actor {
            user: IMPORTER,
            role: Role::Admin,
            community: s.community.clone(),
        }));
        let id = store.post_station(s.station.clone()).map_err(|e| match e {
            Error::Invalid { field, reason } => Error::Invalid {
                field: format!("station {}: {field}", i + 1),
                reason,
            },
            other => other,
        })?;
        report.added.push(id);
    }
    tracing::info!(
        added = report.added.len(),
        skipped = report.skipped,
        "stations imported"
    );
    Ok(report)
}
