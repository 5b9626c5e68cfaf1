//! Opening hours in OpenStreetMap `opening_hours` syntax, evaluated offline,
//! with Chinese public holidays, make-up working days (调休) and the sun at
//! the station.
//!
//! Parsing and per-day evaluation come from the [`opening_hours`] crate; this
//! module adds what it lacks for China:
//!
//! * **Public holidays** come from a [`HolidayCalendar`] the app configures
//!   (not from the crate's built-in country data), and are what the `PH`
//!   selector matches: `Mo-Fr 08:00-20:00; PH off` is closed on 2026-10-01.
//! * **Make-up working days** (调休, e.g. Sunday 2026-09-20) follow the rule
//!   below, so `Mo-Fr 08:00-20:00` is open that Sunday.
//! * **Sunrise and sunset** (`sunrise-sunset`, `(sunrise+00:30)-20:00`) are
//!   computed for the station's position when [`status_with_position`] is
//!   given one: in Zhuhai sunset moves between 17:40 and 19:13 over the year.
//!   Without a position they fall back to the crate's fixed 07:00 and 19:00.
//!
//! # The make-up working day rule
//!
//! A make-up working day uses the **weekday rules of the weekday it stands
//! in for** ([`HolidayCalendar::workday_acts_as`], Monday in the official
//! calendar), while **rules naming its date, week or month apply as
//! written**, and it is never a `PH`. **Overnight intervals behave as in the
//! real calendar**: what runs past midnight into a day comes from the
//! previous real day as that day was evaluated (with its own stand-in
//! weekday if it was a make-up day too), and what runs past midnight out of
//! a make-up day goes on into the next day. With Saturday 2026-10-10
//! standing in for Monday:
//!
//! | expression | on Sat 10-10 |
//! |---|---|
//! | `Mo-Fr 08:00-20:00` | open 08:00-20:00 (a Monday) |
//! | `Sa,Su 10:00-16:00` | closed (not a weekend day) |
//! | `Mo-Su 09:00-18:00; Oct 10 09:00-12:00` | open 09:00-12:00 (the date rule) |
//! | `Mo-Fr 20:00-08:00` | open until 08:00 (Friday's night) and from 20:00 until Sunday 08:00 |
//! | `Fr 18:00-02:00` | open until 02:00 (Friday's night) |
//!
//! and `Su 20:00-02:00` is not open in the night after Sunday 2026-09-20,
//! which stands in for a Monday. In the expression's weekday lists, a
//! `Mo[1]`-style bracket counts the make-up day by its position in its own
//! month; a weekday with a day offset (`Sa[-1] +1 day`) is evaluated on the
//! real calendar. `core/tests/hours_reference.rs` checks all this against
//! opening_hours.js, the reference evaluator of OSM tools, over every day of
//! 2026 (fixture written by `scripts/reference/hours.js`).
//!
//! All times are local to the community: Asia/Shanghai, UTC+8, no daylight
//! saving time. [`local_from_unix_ms`] converts a timestamp.
//!
//! ```
//! use chrono::NaiveDate;
//! use fushi_core::geo::GeoPoint;
//! use fushi_core::hours::{parse, status, status_with_position, HolidayCalendar};
//!
//! let cal = HolidayCalendar::china_2026();
//! let hours = parse("Mo-Fr 08:00-20:00; PH off").unwrap();
//! let at = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
//! let st = status(&hours, at, &cal); // a Sunday, but a make-up working day
//! assert!(st.open);
//! assert_eq!(st.closes_at, Some(at.date().and_hms_opt(20, 0, 0).unwrap()));
//!
//! // Sunset in Zhuhai on 1 January is before 18:00.
//! let zhuhai = GeoPoint { lat: 22.27, lon: 113.55 };
//! let dusk = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(18, 0, 0).unwrap();
//! let sun = parse("sunrise-sunset").unwrap();
//! assert!(!status_with_position(&sun, dusk, &cal, Some(zhuhai)).open);
//! assert!(status(&sun, dusk, &cal).open); // the 19:00 fallback
//! ```

mod calendar;
mod eval;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDateTime, TimeDelta, Timelike};
use opening_hours::{OpeningHours, RuleKind};

pub use calendar::{
    CalendarError, HolidayCalendar, CHINA_2026, MAX_CALENDAR_YEAR, MIN_CALENDAR_YEAR,
};

use crate::geo::GeoPoint;
use eval::DayEvaluator;

/// Offset of Asia/Shanghai (China Standard Time) from UTC, in seconds.
pub const SHANGHAI_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// How many days after the evaluated day [`status`] looks for the next
/// opening or closing. Beyond that, `opens_at`/`closes_at` are `None`.
pub const LOOKAHEAD_DAYS: u64 = 8;

/// Longest `opening_hours` expression [`parse`] accepts, in bytes (OSM caps
/// tag values at 255 characters; this leaves room for full-width text).
pub const MAX_EXPRESSION_LEN: usize = 1024;

/// Why an opening hours expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// The expression is empty or only whitespace.
    #[error("opening hours are empty")]
    Empty,
    /// The expression is longer than [`MAX_EXPRESSION_LEN`].
    #[error("opening hours are too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the rejected expression in bytes.
        len: usize,
        /// The limit, [`MAX_EXPRESSION_LEN`].
        max: usize,
    },
    /// The expression does not follow the OSM `opening_hours` syntax.
    #[error("invalid opening hours: {0}")]
    Invalid(String),
}

/// A parsed `opening_hours` expression. Cheap to clone and cache (the rules
/// are reference-counted); evaluate it with [`status`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hours {
    /// As parsed: what [`Display`](fmt::Display) prints.
    oh: OpeningHours,
    /// What is evaluated: `oh` with the crate's overnight gap closed
    /// (see [`eval::spill_as_additional`]).
    eval: OpeningHours,
}

/// Parses an OSM `opening_hours` expression such as `Mo-Fr 08:00-20:00; PH off`
/// or `24/7`. Surrounding whitespace is ignored.
pub fn parse(s: &str) -> Result<Hours, HoursError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(HoursError::Empty);
    }
    if s.len() > MAX_EXPRESSION_LEN {
        return Err(HoursError::TooLong {
            len: s.len(),
            max: MAX_EXPRESSION_LEN,
        });
    }
    // Expressions come from other phones: a parser bug must not take the
    // app down, so a panic inside the crate is an invalid expression.
    std::panic::catch_unwind(|| {
        let oh = s.parse::<OpeningHours>()?;
        let eval = eval::spill_as_additional(&oh).unwrap_or_else(|| oh.clone());
        Ok(Hours { oh, eval })
    })
    .map_err(|_| HoursError::Invalid("the expression could not be evaluated".into()))?
    .map_err(|e: opening_hours_syntax::Error| HoursError::Invalid(e.to_string()))
}

impl FromStr for Hours {
    type Err = HoursError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Hours {
    /// The expression in the crate's canonical spelling (which [`parse`]
    /// reads back to the same rules).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&eval::print(&self.oh.get_expression()))
    }
}

/// Whether a place is open at a moment, and when that next changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenStatus {
    /// Open now. `unknown` periods of the expression count as not open.
    pub open: bool,
    /// When open: the moment it closes, if within [`LOOKAHEAD_DAYS`] days
    /// after today (`None` for always open, e.g. `24/7`).
    pub closes_at: Option<NaiveDateTime>,
    /// When not open: the moment it opens, if within [`LOOKAHEAD_DAYS`] days
    /// after today (`None` when it never opens in that window).
    pub opens_at: Option<NaiveDateTime>,
    /// Whether the calendar knows the holidays of this day's year. If not
    /// (next year's schedule not yet published), `PH` rules and make-up
    /// days were not applied: the answer is a guess and the app says so.
    pub holidays_known: bool,
}

/// Evaluates `hours` at local time `at` (Asia/Shanghai) with the holidays
/// and make-up working days of `cal`. Seconds are ignored (minute precision).
///
/// Sunrise and sunset are the fixed fallback 07:00 and 19:00: use
/// [`status_with_position`] for a place whose position is known.
pub fn status(hours: &Hours, at: NaiveDateTime, cal: &HolidayCalendar) -> OpenStatus {
    status_with_position(hours, at, cal, None)
}

/// Evaluates `hours` at local time `at` (Asia/Shanghai) with the holidays
/// and make-up working days of `cal`, computing sunrise, sunset, dawn and
/// dusk for `position` (the place's stored WGS-84 point). With `None`, or a
/// position that is not a valid coordinate, these are 07:00, 19:00, 06:00
/// and 20:00. Seconds are ignored (minute precision).
pub fn status_with_position(
    hours: &Hours,
    at: NaiveDateTime,
    cal: &HolidayCalendar,
    position: Option<GeoPoint>,
) -> OpenStatus {
    // As in `parse`: a panic inside the crate reads as "not known to be open".
    let holidays_known = cal.covers(chrono::Datelike::year(&at));
    let st = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        status_inner(hours, at, cal, position)
    }))
    .unwrap_or_else(|_| {
        tracing::warn!("opening hours could not be evaluated");
        OpenStatus::default()
    });
    OpenStatus {
        holidays_known,
        ..st
    }
}

fn status_inner(
    hours: &Hours,
    at: NaiveDateTime,
    cal: &HolidayCalendar,
    position: Option<GeoPoint>,
) -> OpenStatus {
    let eval = DayEvaluator::new(&hours.eval, cal, position);
    let today = at.date();
    let now_min = at.hour() * 60 + at.minute();
    let mut current: Option<bool> = None;

    for offset in 0..=LOOKAHEAD_DAYS {
        let Some(day) = today.checked_add_days(Days::new(offset)) else {
            break;
        };
        let Some(midnight) = day.and_hms_opt(0, 0, 0) else {
            break;
        };
        for range in eval.schedule(day) {
            let start = u32::from(range.range.start.mins_from_midnight());
            let end = u32::from(range.range.end.mins_from_midnight()).min(24 * 60);
            if start >= end {
                continue;
            }
            let open = range.kind == RuleKind::Open;
            match current {
                None => {
                    if start <= now_min && now_min < end {
                        current = Some(open);
                    }
                }
                Some(cur) if cur != open => {
                    let change = midnight.checked_add_signed(TimeDelta::minutes(i64::from(start)));
                    return if cur {
                        OpenStatus {
                            open: true,
                            closes_at: change,
                            ..OpenStatus::default()
                        }
                    } else {
                        OpenStatus {
                            opens_at: change,
                            ..OpenStatus::default()
                        }
                    };
                }
                Some(_) => {}
            }
        }
        // The day's ranges always cover it whole; if not, call it closed.
        current.get_or_insert(false);
    }

    OpenStatus {
        open: current.unwrap_or(false),
        ..OpenStatus::default()
    }
}

/// Converts a Unix timestamp in milliseconds to local time in Asia/Shanghai
/// (UTC+8, no DST). `None` if out of chrono's range.
pub fn local_from_unix_ms(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms)?
        .naive_utc()
        .checked_add_signed(TimeDelta::seconds(SHANGHAI_UTC_OFFSET_SECS))
}

/// Converts an Asia/Shanghai local time back to a Unix timestamp in
/// milliseconds.
pub fn local_to_unix_ms(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp_millis() - SHANGHAI_UTC_OFFSET_SECS * 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn st(expr: &str, when: NaiveDateTime) -> OpenStatus {
        status(&parse(expr).unwrap(), when, &HolidayCalendar::china_2026())
    }

    #[test]
    fn always_open() {
        let s = st("24/7", at(2026, 3, 10, 3, 0));
        assert_eq!(
            s,
            OpenStatus {
                open: true,
                closes_at: None,
                opens_at: None,
                holidays_known: true,
            }
        );
        // Even on a holiday: 24/7 has no PH rule.
        assert!(st("24/7", at(2026, 10, 1, 12, 0)).open);
    }

    #[test]
    fn never_open() {
        for e in ["off", "closed", "Mo-Su off"] {
            let s = st(e, at(2026, 3, 10, 12, 0));
            assert_eq!(
                s,
                OpenStatus {
                    holidays_known: true,
                    ..OpenStatus::default()
                },
                "{e}"
            );
        }
    }

    #[test]
    fn weekday_hours() {
        let e = "Mo-Fr 08:00-20:00; PH off";
        // Tuesday 2026-03-10 10:00: open until 20:00.
        let s = st(e, at(2026, 3, 10, 10, 0));
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 3, 10, 20, 0)));
        assert_eq!(s.opens_at, None);
        // 07:59 closed, opens 08:00; 20:00 sharp is closed.
        let s = st(e, at(2026, 3, 10, 7, 59));
        assert!(!s.open);
        assert_eq!(s.opens_at, Some(at(2026, 3, 10, 8, 0)));
        assert!(!st(e, at(2026, 3, 10, 20, 0)).open);
        // Friday evening: next opening Monday.
        let s = st(e, at(2026, 3, 13, 21, 0));
        assert_eq!(s.opens_at, Some(at(2026, 3, 16, 8, 0)));
        // An ordinary Sunday is closed.
        assert!(!st(e, at(2026, 3, 15, 10, 0)).open);
    }

    #[test]
    fn across_midnight() {
        let e = "18:00-02:00";
        let s = st(e, at(2026, 3, 10, 1, 0));
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 3, 10, 2, 0)));
        let s = st(e, at(2026, 3, 10, 17, 0));
        assert!(!s.open);
        assert_eq!(s.opens_at, Some(at(2026, 3, 10, 18, 0)));
        let s = st(e, at(2026, 3, 10, 23, 30));
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 3, 11, 2, 0)));
    }

    #[test]
    fn closed_on_holiday() {
        let e = "Mo-Fr 08:00-20:00; PH off";
        // Thursday 2026-10-01, National Day: closed until Thursday 10-08.
        let s = st(e, at(2026, 10, 1, 10, 0));
        assert!(!s.open);
        assert_eq!(s.opens_at, Some(at(2026, 10, 8, 8, 0)));
        // Friday 2026-09-25, Mid-Autumn.
        assert!(!st(e, at(2026, 9, 25, 10, 0)).open);
        // With no calendar, 10-01 is an ordinary Thursday.
        let s = status(
            &parse(e).unwrap(),
            at(2026, 10, 1, 10, 0),
            &HolidayCalendar::default(),
        );
        assert!(s.open);
    }

    #[test]
    fn ph_specific_hours() {
        let e = "Mo-Fr 08:00-20:00; PH 10:00-14:00";
        let s = st(e, at(2026, 10, 3, 11, 0)); // a Saturday holiday
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 10, 3, 14, 0)));
    }

    #[test]
    fn makeup_sunday_opens_as_weekday() {
        let e = "Mo-Fr 08:00-20:00; PH off";
        // Sunday 2026-09-20 is a make-up working day.
        let s = st(e, at(2026, 9, 20, 9, 0));
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 9, 20, 20, 0)));
        // The evening before (Saturday) it opens on the make-up Sunday.
        let s = st(e, at(2026, 9, 19, 21, 0));
        assert_eq!(s.opens_at, Some(at(2026, 9, 20, 8, 0)));
        // Saturday 2026-02-14, the eve of the Spring Festival holidays.
        assert!(st(e, at(2026, 2, 14, 9, 0)).open);
        // A place closed on Mondays stays closed on a Monday-like make-up day.
        assert!(!st("Tu-Su 09:00-17:00", at(2026, 9, 20, 10, 0)).open);
        // A weekend-only place is closed on the make-up Saturday 10-10.
        assert!(!st("Sa,Su 09:00-17:00", at(2026, 10, 10, 10, 0)).open);
    }

    #[test]
    fn makeup_day_acting_as_configured_weekday() {
        let cal = HolidayCalendar::from_text("2026-09-20 workday Fr").unwrap();
        let h = parse("Mo-Th 08:00-20:00; Fr 08:00-12:00").unwrap();
        let s = status(&h, at(2026, 9, 20, 9, 0), &cal);
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 9, 20, 12, 0)));
    }

    /// The cases of issue 15 that the substitute-date evaluation got wrong.
    #[test]
    fn makeup_days_keep_their_date_and_their_nights() {
        // Fr 18:00-02:00: Friday 02-13 closes at 02:00 on the make-up
        // Saturday 02-14, and that Saturday night is Friday's.
        let e = "Fr 18:00-02:00";
        let s = st(e, at(2026, 2, 13, 20, 0));
        assert_eq!(s.closes_at, Some(at(2026, 2, 14, 2, 0)));
        assert!(st(e, at(2026, 2, 14, 1, 0)).open);
        assert!(!st(e, at(2026, 2, 14, 2, 0)).open);
        // Mo-Fr 20:00-08:00 on the make-up Saturday 10-10: Friday's night
        // until 08:00, then its own night (as a Monday) into Sunday.
        let e = "Mo-Fr 20:00-08:00";
        let s = st(e, at(2026, 10, 10, 6, 0));
        assert!(s.open);
        assert_eq!(s.closes_at, Some(at(2026, 10, 10, 8, 0)));
        let s = st(e, at(2026, 10, 10, 12, 0));
        assert_eq!(s.opens_at, Some(at(2026, 10, 10, 20, 0)));
        assert!(st(e, at(2026, 10, 11, 6, 0)).open);
        assert!(!st(e, at(2026, 10, 11, 9, 0)).open);
        // And on an ordinary Saturday morning, Friday's night.
        assert!(st(e, at(2026, 3, 14, 6, 0)).open);
        // Su 20:00-02:00: Sunday 09-20 stands in for Monday, so no night
        // runs into Monday 09-21.
        let e = "Su 20:00-02:00";
        assert!(!st(e, at(2026, 9, 20, 21, 0)).open);
        let s = st(e, at(2026, 9, 21, 0, 0));
        assert!(!s.open);
        assert_eq!(s.opens_at, Some(at(2026, 9, 27, 20, 0)));
        // Rules naming the date apply as written.
        assert!(!st("Mo-Su 10:00-22:00; Feb 14 off", at(2026, 2, 14, 12, 0)).open);
        let e = "Mo-Su 09:00-18:00; Oct 10 09:00-12:00";
        let s = st(e, at(2026, 10, 10, 10, 0));
        assert_eq!(s.closes_at, Some(at(2026, 10, 10, 12, 0)));
        assert!(!st(e, at(2026, 10, 10, 14, 0)).open);
        // Month rules follow the real month: 02-28 is in February.
        assert!(!st("Mo-Su 08:00-20:00; Feb off", at(2026, 2, 28, 10, 0)).open);
        assert!(!st("Mar-Nov Mo-Fr 08:00-18:00", at(2026, 2, 28, 10, 0)).open);
        assert!(st("Mar-Nov Mo-Fr 08:00-18:00", at(2026, 5, 9, 10, 0)).open);
    }

    #[test]
    fn sunrise_and_sunset_at_the_station() {
        let cal = HolidayCalendar::china_2026();
        let zhuhai = Some(GeoPoint {
            lat: 22.27,
            lon: 113.55,
        });
        let h = parse("sunrise-sunset").unwrap();
        // 1 January: sunrise about 07:06, sunset about 17:50.
        let s = status_with_position(&h, at(2026, 1, 1, 12, 0), &cal, zhuhai);
        let close = s.closes_at.unwrap();
        assert!(
            (at(2026, 1, 1, 17, 45)..at(2026, 1, 1, 17, 56)).contains(&close),
            "{close}"
        );
        let s = status_with_position(&h, at(2026, 1, 2, 3, 0), &cal, zhuhai);
        let open = s.opens_at.unwrap();
        assert!(
            (at(2026, 1, 2, 7, 2)..at(2026, 1, 2, 7, 12)).contains(&open),
            "{open}"
        );
        // 21 June: sunset about 19:12.
        let s = status_with_position(&h, at(2026, 6, 21, 19, 0), &cal, zhuhai);
        assert!(s.open);
        let close = s.closes_at.unwrap();
        assert!(
            (at(2026, 6, 21, 19, 8)..at(2026, 6, 21, 19, 17)).contains(&close),
            "{close}"
        );
        // No position, or an invalid one: the fixed 07:00-19:00.
        for pos in [
            None,
            Some(GeoPoint {
                lat: f64::NAN,
                lon: 113.55,
            }),
            Some(GeoPoint {
                lat: 95.0,
                lon: 0.0,
            }),
        ] {
            let s = status_with_position(&h, at(2026, 6, 21, 12, 0), &cal, pos);
            assert_eq!(s.closes_at, Some(at(2026, 6, 21, 19, 0)));
        }
        // Polar night: no sunrise at all; closed, and no panic.
        let tromso = Some(GeoPoint {
            lat: 69.65,
            lon: 18.96,
        });
        let s = status_with_position(&h, at(2026, 12, 21, 12, 0), &cal, tromso);
        assert!(!s.open);
    }

    #[test]
    fn invalid_expressions() {
        assert_eq!(parse(""), Err(HoursError::Empty));
        assert_eq!(parse("   "), Err(HoursError::Empty));
        assert!(matches!(
            parse("not a valid expression"),
            Err(HoursError::Invalid(_))
        ));
        assert!(matches!(parse("Mo-Fr 08:00-"), Err(HoursError::Invalid(_))));
        assert!(matches!(
            parse("Xx 10:00-12:00"),
            Err(HoursError::Invalid(_))
        ));
        assert!(matches!(
            parse("Mo-Fr 8点-20点"),
            Err(HoursError::Invalid(_))
        ));
        let long = "Mo 08:00-09:00; ".repeat(100);
        assert!(matches!(parse(&long), Err(HoursError::TooLong { .. })));
        let e = parse("garbage").unwrap_err();
        assert!(e.to_string().starts_with("invalid opening hours"));
    }

    #[test]
    fn valid_expressions_and_display() {
        for e in [
            "24/7",
            " Mo-Fr 08:00-20:00; PH off ",
            "Mo-Fr 07:00-19:00; Sa 09:00-12:00; Su,PH off",
            "Jun-Sep 09:00-21:00",
            "sunrise-sunset",
            "Mo-Su 00:00-24:00",
            "Mo-Fr 08:00-18:00; PH +1 day off",
        ] {
            let h: Hours = e.parse().unwrap();
            assert!(!h.to_string().is_empty());
            let again = parse(&h.to_string()).unwrap();
            assert_eq!(again.to_string(), h.to_string());
        }
    }

    #[test]
    fn seasonal_and_lookahead_limit() {
        // Closed in March; the June opening is beyond the lookahead window.
        let s = st("Jun-Sep 09:00-21:00", at(2026, 3, 10, 10, 0));
        assert_eq!(
            s,
            OpenStatus {
                holidays_known: true,
                ..OpenStatus::default()
            }
        );
        let s = st("Jun-Sep 09:00-21:00", at(2026, 5, 28, 10, 0));
        assert_eq!(s.opens_at, Some(at(2026, 6, 1, 9, 0)));
    }

    #[test]
    fn seconds_are_ignored() {
        let h = parse("08:00-20:00").unwrap();
        let t = date(2026, 3, 10).and_hms_opt(19, 59, 59).unwrap();
        assert!(status(&h, t, &HolidayCalendar::default()).open);
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let h = parse("Mo-Fr 08:00-20:00; PH off").unwrap();
        let cal = HolidayCalendar::china_2026();
        let _ = status(&h, NaiveDateTime::MAX, &cal);
        let _ = status(&h, NaiveDateTime::MIN, &cal);
        let _ = status(&h, at(9999, 12, 30, 12, 0), &cal);
        let _ = status(&h, at(1899, 12, 31, 12, 0), &cal);
    }

    #[test]
    fn unix_ms_conversion() {
        assert_eq!(local_from_unix_ms(0), Some(at(1970, 1, 1, 8, 0)));
        // 2026-10-01 00:00 +08:00 is 2026-09-30 16:00 UTC.
        let ms = 1_790_784_000_000;
        assert_eq!(local_from_unix_ms(ms), Some(at(2026, 10, 1, 0, 0)));
        assert_eq!(local_to_unix_ms(at(2026, 10, 1, 0, 0)), ms);
        assert_eq!(local_from_unix_ms(i64::MAX), None);
        assert_eq!(local_from_unix_ms(i64::MIN), None);
    }
}
