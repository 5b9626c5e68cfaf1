//! fushi-core's opening hours against opening_hours.js, the reference
//! evaluator of OSM tools: every day of 2026 at 13 times of day, for a list
//! of realistic expressions, with the official 2026 holidays and make-up
//! working days and the station in Zhuhai.
//!
//! The expectations are in `fixtures/hours_reference_2026.json`, written by
//! `scripts/reference/hours.js` (which says how holidays, the position and
//! make-up days reach opening_hours.js); `node scripts/reference/hours.js
//! --check` tells whether the fixture is current.
//!
//! Every disagreement must be listed in [`KNOWN`] with a judgement; any
//! other fails the test, and so does a listed one that no longer happens.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use fushi_core::geo::GeoPoint;
use fushi_core::hours::{parse, status_with_position, HolidayCalendar};
use opening_hours::localization::Coordinates;
use opening_hours_syntax::rules::time::TimeEvent;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/hours_reference_2026.json");

/// A disagreement judged acceptable.
struct Known {
    expression: &'static str,
    /// Local time, `YYYY-MM-DD HH:MM`.
    at: &'static str,
    /// The sun event (with its offset in minutes) that falls on that minute.
    event: TimeEvent,
    offset_min: i64,
}

/// Every remaining disagreement: sun events where the two sides' times fall
/// on either side of the minute boundary. opening_hours.js computes them
/// with suncalc, fushi-core with the `sunrise` crate (through
/// `opening_hours::localization::Coordinates`); each truncates to the
/// minute. Against NOAA's algorithm (astral 3.2, Zhuhai 22.27 N 113.55 E)
/// suncalc is within about 15 s, the `sunrise` crate within about 1 min:
///
/// | date | event | NOAA | suncalc | sunrise crate |
/// |---|---|---|---|---|
/// | 01-13 | sunset | 18:01:08 | 18:01:21 | 18:00:47 |
/// | 02-09 | sunrise | 07:01:12 | 07:00:59 | 07:01:09 |
/// | 03-05 | sunset | 18:30:54 | 18:31:06 | 18:30:59 |
/// | 04-16 | sunset | 18:45:59 | 18:46:12 | 18:45:42 |
/// | 08-07 | sunrise | 06:00:13 | 06:00:02 | 05:59:56 |
/// | 08-29 | sunset | 18:45:32 | 18:45:44 | 18:46:30 |
/// | 09-14 | sunset | 18:30:16 | 18:30:26 | 18:31:09 |
///
/// Judgement: a minute of sunrise or sunset is below what either formula
/// (or the weather's refraction) promises; acceptable. The test checks each
/// listed instant lies within 90 s of fushi-core's event time.
const KNOWN: &[Known] = &[
    known("sunrise-sunset", "2026-01-13 18:00", TimeEvent::Sunset, 0),
    known("sunrise-sunset", "2026-02-09 07:00", TimeEvent::Sunrise, 0),
    known("sunrise-sunset", "2026-04-16 18:45", TimeEvent::Sunset, 0),
    known("sunrise-sunset", "2026-08-07 05:59", TimeEvent::Sunrise, 0),
    known("sunrise-sunset", "2026-08-29 18:45", TimeEvent::Sunset, 0),
    known(
        "Mo-Su sunrise-sunset; PH off",
        "2026-01-13 18:00",
        TimeEvent::Sunset,
        0,
    ),
    known(
        "Mo-Su sunrise-sunset; PH off",
        "2026-02-09 07:00",
        TimeEvent::Sunrise,
        0,
    ),
    known(
        "Mo-Su sunrise-sunset; PH off",
        "2026-04-16 18:45",
        TimeEvent::Sunset,
        0,
    ),
    known(
        "Mo-Su sunrise-sunset; PH off",
        "2026-08-07 05:59",
        TimeEvent::Sunrise,
        0,
    ),
    known(
        "Mo-Su sunrise-sunset; PH off",
        "2026-08-29 18:45",
        TimeEvent::Sunset,
        0,
    ),
    known(
        "(sunrise+00:30)-(sunset-00:30)",
        "2026-03-05 18:00",
        TimeEvent::Sunset,
        -30,
    ),
    known(
        "(sunrise+00:30)-(sunset-00:30)",
        "2026-09-14 18:00",
        TimeEvent::Sunset,
        -30,
    ),
    known(
        "Mo-Fr 06:00-sunset; Sa,Su sunrise-20:00",
        "2026-01-13 18:00",
        TimeEvent::Sunset,
        0,
    ),
    known(
        "Mo-Fr 06:00-sunset; Sa,Su sunrise-20:00",
        "2026-04-16 18:45",
        TimeEvent::Sunset,
        0,
    ),
];

const fn known(
    expression: &'static str,
    at: &'static str,
    event: TimeEvent,
    offset_min: i64,
) -> Known {
    Known {
        expression,
        at,
        event,
        offset_min,
    }
}

struct Case {
    expression: String,
    days: Vec<String>,
}

struct Fixture {
    year: i32,
    times: Vec<NaiveTime>,
    station: GeoPoint,
    holidays: Vec<NaiveDate>,
    workdays: BTreeMap<NaiveDate, String>,
    cases: Vec<Case>,
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

fn load() -> Fixture {
    let v: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    Fixture {
        year: i32::try_from(v["year"].as_i64().expect("year")).expect("year"),
        times: str_list(&v["times"])
            .iter()
            .map(|t| NaiveTime::parse_from_str(t, "%H:%M").expect("a time"))
            .collect(),
        station: GeoPoint {
            lat: v["station"]["lat"].as_f64().expect("lat"),
            lon: v["station"]["lon"].as_f64().expect("lon"),
        },
        holidays: str_list(&v["holidays"]).iter().map(|d| date(d)).collect(),
        workdays: v["workdays"]
            .as_object()
            .expect("workdays")
            .iter()
            .map(|(d, w)| (date(d), w.as_str().expect("weekday").to_owned()))
            .collect(),
        cases: v["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| Case {
                expression: c["expression"].as_str().expect("expression").to_owned(),
                days: str_list(&c["days"]),
            })
            .collect(),
    }
}

fn osm_weekday(w: Weekday) -> &'static str {
    ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"][w.num_days_from_monday() as usize]
}

#[test]
fn fixture_calendar_is_china_2026() {
    let f = load();
    let cal = HolidayCalendar::china_2026();
    assert_eq!(f.holidays, cal.holidays().collect::<Vec<_>>());
    let ours: BTreeMap<NaiveDate, String> = cal
        .workdays()
        .map(|(d, w)| (d, osm_weekday(w).to_owned()))
        .collect();
    assert_eq!(f.workdays, ours);
}

#[test]
fn agrees_with_opening_hours_js_over_2026() {
    let f = load();
    let cal = HolidayCalendar::china_2026();
    let first = NaiveDate::from_ymd_opt(f.year, 1, 1).expect("1 January");
    let mut compared = 0usize;
    let mut found: Vec<(String, NaiveDateTime, bool)> = Vec::new();
    for case in &f.cases {
        let hours = parse(&case.expression).unwrap_or_else(|e| panic!("{}: {e}", case.expression));
        assert_eq!(case.days.len(), 365, "{}", case.expression);
        for (i, day) in case.days.iter().enumerate() {
            let d = first + chrono::Days::new(i as u64);
            assert_eq!(d.year(), f.year);
            assert_eq!(day.len(), f.times.len(), "{} {d}", case.expression);
            for (t, c) in f.times.iter().zip(day.chars()) {
                let at = d.and_time(*t);
                // opening_hours.js's `unknown` is not open here either.
                let expected = c == '1';
                let st = status_with_position(&hours, at, &cal, Some(f.station));
                compared += 1;
                if st.open != expected {
                    found.push((case.expression.clone(), at, expected));
                }
            }
        }
    }
    println!(
        "compared {compared} expression x instant cases ({} expressions x {} days x {} times); {} disagreements",
        f.cases.len(),
        365,
        f.times.len(),
        found.len()
    );
    let key = |at: &NaiveDateTime| at.format("%Y-%m-%d %H:%M").to_string();
    let mut unexplained = Vec::new();
    for (e, at, expected) in &found {
        match KNOWN.iter().find(|k| k.expression == e && k.at == key(at)) {
            Some(k) => {
                println!(
                    "known: {e:?} at {}: opening_hours.js says open={expected}",
                    k.at
                );
                check_sun_explains(k, *at, f.station);
            }
            None => unexplained.push(format!(
                "{e:?} at {} ({}): opening_hours.js says open={expected}",
                key(at),
                at.weekday()
            )),
        }
    }
    let stale: Vec<_> = KNOWN
        .iter()
        .filter(|k| {
            !found
                .iter()
                .any(|(e, at, _)| e == k.expression && key(at) == k.at)
        })
        .map(|k| format!("{:?} at {}", k.expression, k.at))
        .collect();
    assert!(
        unexplained.is_empty() && stale.is_empty(),
        "{} unexplained disagreements:\n{}\nlisted but no longer found: {stale:?}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert_eq!(compared, 37 * 365 * 13);
}

/// A listed sun disagreement must sit within 90 s of fushi-core's event.
fn check_sun_explains(k: &Known, at: NaiveDateTime, station: GeoPoint) {
    let coords = Coordinates::new(station.lat, station.lon).expect("station");
    let utc = coords
        .event_time(at.date(), k.event)
        .expect("the sun rises and sets");
    let local = utc.naive_utc() + TimeDelta::hours(8) + TimeDelta::minutes(k.offset_min);
    let gap = (local - at).num_seconds().abs();
    assert!(
        gap <= 90,
        "{:?} at {}: event at {local}, {gap} s away",
        k.expression,
        k.at
    );
}
