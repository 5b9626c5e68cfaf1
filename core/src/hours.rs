//! Opening hours in OpenStreetMap `opening_hours` syntax, evaluated offline,
//! with Chinese public holidays and make-up working days (调休).
//!
//! Parsing and per-day evaluation come from the [`opening_hours`] crate; this
//! module adds what it lacks for China:
//!
//! * **Public holidays** come from a [`HolidayCalendar`] the app configures
//!   (not from the crate's built-in country data), and are what the `PH`
//!   selector matches: `Mo-Fr 08:00-20:00; PH off` is closed on 2026-10-01.
//! * **Make-up working days** (调休, e.g. Sunday 2026-09-20) are evaluated as
//!   the weekday the calendar says they act as (Monday unless configured),
//!   so `Mo-Fr 08:00-20:00` is open that Sunday.
//!
//! All times are local to the community: Asia/Shanghai, UTC+8, no daylight
//! saving time. [`local_from_unix_ms`] converts a timestamp.
//!
//! ```
//! use chrono::NaiveDate;
//! use fushi_core::hours::{parse, status, HolidayCalendar};
//!
//! let hours = parse("Mo-Fr 08:00-20:00; PH off").unwrap();
//! let cal = HolidayCalendar::china_2026();
//! let at = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
//! let st = status(&hours, at, &cal); // a Sunday, but a make-up working day
//! assert!(st.open);
//! assert_eq!(st.closes_at, Some(at.date().and_hms_opt(20, 0, 0).unwrap()));
//! ```
//!
//! Known approximation: a make-up day is evaluated with the schedule of a
//! nearby ordinary (non-holiday, non-make-up) date of the weekday it acts
//! as, *including* that date's overnight spill-over from its previous day.
//! So an interval that runs past midnight out of, or into, a make-up day
//! follows the substitute date's neighbours, not the real ones. This only
//! matters for weekday-specific overnight rules (e.g. `Fr 18:00-02:00`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Weekday};
use compact_calendar::CompactCalendar;
use opening_hours::{Context, ContextHolidays, OpeningHours, RuleKind};

/// Offset of Asia/Shanghai (China Standard Time) from UTC, in seconds.
pub const SHANGHAI_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// How many days after the evaluated day [`status`] looks for the next
/// opening or closing. Beyond that, `opens_at`/`closes_at` are `None`.
pub const LOOKAHEAD_DAYS: u64 = 8;

/// Longest `opening_hours` expression [`parse`] accepts, in bytes (OSM caps
/// tag values at 255 characters; this leaves room for full-width text).
pub const MAX_EXPRESSION_LEN: usize = 1024;

/// First year a [`HolidayCalendar`] accepts.
pub const MIN_CALENDAR_YEAR: i32 = 1900;
/// Last year a [`HolidayCalendar`] accepts.
pub const MAX_CALENDAR_YEAR: i32 = 2999;

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

/// Why a holiday calendar could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A line of the text format is wrong (`line` counts from 1).
    #[error("holiday calendar line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A date is listed both as a holiday and as a make-up working day.
    #[error("{0} is listed both as a holiday and as a working day")]
    Conflict(NaiveDate),
    /// A date lies outside [`MIN_CALENDAR_YEAR`]..=[`MAX_CALENDAR_YEAR`].
    #[error("{0} is outside the supported years {MIN_CALENDAR_YEAR}-{MAX_CALENDAR_YEAR}")]
    OutOfRange(NaiveDate),
}

/// The official 2026 schedule of the State Council of China (国务院办公厅),
/// in the text format of [`HolidayCalendar::from_text`].
///
/// Written from the published notice as best known when this was written;
/// it is data, not logic: check it against the notice and override it with
/// [`HolidayCalendar::from_text`] when needed (and add each new year when it
/// is announced, usually in November).
pub const CHINA_2026: &str = "\
# 元旦 New Year: 1-3 Jan, make-up working day Sun 4 Jan
2026-01-01 holiday
2026-01-02 holiday
2026-01-03 holiday
2026-01-04 workday
# 春节 Spring Festival: 15-23 Feb, make-up working days Sat 14 Feb, Sat 28 Feb
2026-02-14 workday
2026-02-15 holiday
2026-02-16 holiday
2026-02-17 holiday
2026-02-18 holiday
2026-02-19 holiday
2026-02-20 holiday
2026-02-21 holiday
2026-02-22 holiday
2026-02-23 holiday
2026-02-28 workday
# 清明节 Qingming: 4-6 Apr
2026-04-04 holiday
2026-04-05 holiday
2026-04-06 holiday
# 劳动节 Labour Day: 1-5 May, make-up working day Sat 9 May
2026-05-01 holiday
2026-05-02 holiday
2026-05-03 holiday
2026-05-04 holiday
2026-05-05 holiday
2026-05-09 workday
# 端午节 Dragon Boat: 19-21 Jun
2026-06-19 holiday
2026-06-20 holiday
2026-06-21 holiday
# 中秋节 Mid-Autumn: 25-27 Sep
2026-09-25 holiday
2026-09-26 holiday
2026-09-27 holiday
# 国庆节 National Day: 1-7 Oct, make-up working days Sun 20 Sep, Sat 10 Oct
2026-09-20 workday
2026-10-01 holiday
2026-10-02 holiday
2026-10-03 holiday
2026-10-04 holiday
2026-10-05 holiday
2026-10-06 holiday
2026-10-07 holiday
2026-10-10 workday
";

/// Public holidays and make-up working days (调休) used to evaluate hours.
///
/// Holidays are what the `PH` selector matches. A make-up working day is
/// evaluated as if it were the weekday it "acts as" (Monday by default).
/// Cheap to clone (the evaluation context is reference-counted); build it
/// once and share it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeMap<NaiveDate, Weekday>,
    /// Evaluation context with `holidays` as the public holiday calendar.
    ctx: Context,
}

fn check_year(date: NaiveDate) -> Result<(), CalendarError> {
    if (MIN_CALENDAR_YEAR..=MAX_CALENDAR_YEAR).contains(&date.year()) {
        Ok(())
    } else {
        Err(CalendarError::OutOfRange(date))
    }
}

/// Parses a weekday as OSM (`Mo`) or English (`Mon`, `monday`) spells it.
fn parse_weekday(s: &str) -> Option<Weekday> {
    let two = match s.to_ascii_lowercase().as_str() {
        "mo" => Some(Weekday::Mon),
        "tu" => Some(Weekday::Tue),
        "we" => Some(Weekday::Wed),
        "th" => Some(Weekday::Thu),
        "fr" => Some(Weekday::Fri),
        "sa" => Some(Weekday::Sat),
        "su" => Some(Weekday::Sun),
        _ => None,
    };
    two.or_else(|| s.parse().ok())
}

impl HolidayCalendar {
    /// Builds a calendar from holiday dates and make-up working days, each
    /// with the weekday it acts as.
    ///
    /// Fails if a date is both a holiday and a working day, or lies outside
    /// [`MIN_CALENDAR_YEAR`]..=[`MAX_CALENDAR_YEAR`].
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        workdays: impl IntoIterator<Item = (NaiveDate, Weekday)>,
    ) -> Result<Self, CalendarError> {
        let holidays: BTreeSet<NaiveDate> = holidays.into_iter().collect();
        let workdays: BTreeMap<NaiveDate, Weekday> = workdays.into_iter().collect();
        for &d in &holidays {
            check_year(d)?;
        }
        for &d in workdays.keys() {
            check_year(d)?;
            if holidays.contains(&d) {
                return Err(CalendarError::Conflict(d));
            }
        }
        let mut public = CompactCalendar::default();
        for &d in &holidays {
            public.insert(d);
        }
        let ctx = Context::default().with_holidays(ContextHolidays::new(
            Arc::new(public),
            Arc::new(CompactCalendar::default()),
        ));
        Ok(Self {
            holidays,
            workdays,
            ctx,
        })
    }

    /// The official Chinese 2026 schedule, [`CHINA_2026`]; make-up working
    /// days act as Mondays.
    pub fn china_2026() -> Self {
        // CHINA_2026 is checked by a unit test; an empty calendar is the
        // harmless fallback should it ever be edited wrongly.
        Self::from_text(CHINA_2026).unwrap_or_default()
    }

    /// Parses the simple text format, one date per line:
    ///
    /// ```text
    /// # comment; blank lines are ignored
    /// 2026-10-01 holiday        # also: 休
    /// 2026-09-20 workday        # also: 班; acts as Monday
    /// 2026-10-10 workday Fr     # acts as Friday (Mo..Su, Mon, friday, …)
    /// ```
    ///
    /// Errors name the 1-based line and the reason.
    pub fn from_text(text: &str) -> Result<Self, CalendarError> {
        let mut holidays = BTreeSet::new();
        let mut workdays = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |reason: String| CalendarError::Line { line, reason };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut parts = content.split_whitespace();
            let (Some(date_s), Some(kind)) = (parts.next(), parts.next()) else {
                return Err(err(format!(
                    "expected `YYYY-MM-DD holiday` or `YYYY-MM-DD workday`, got `{content}`"
                )));
            };
            let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d")
                .map_err(|e| err(format!("invalid date `{date_s}`: {e}")))?;
            check_year(date).map_err(|e| err(e.to_string()))?;
            let acts_as = parts.next();
            if let Some(extra) = parts.next() {
                return Err(err(format!("unexpected `{extra}`")));
            }
            match kind.to_ascii_lowercase().as_str() {
                "holiday" | "休" => {
                    if let Some(extra) = acts_as {
                        return Err(err(format!("unexpected `{extra}` after holiday")));
                    }
                    if workdays.contains_key(&date) {
                        return Err(err(CalendarError::Conflict(date).to_string()));
                    }
                    holidays.insert(date);
                }
                "workday" | "班" => {
                    let wd = match acts_as {
                        None => Weekday::Mon,
                        Some(w) => {
                            parse_weekday(w).ok_or_else(|| err(format!("unknown weekday `{w}`")))?
                        }
                    };
                    if holidays.contains(&date) {
                        return Err(err(CalendarError::Conflict(date).to_string()));
                    }
                    workdays.insert(date, wd);
                }
                _ => {
                    return Err(err(format!(
                        "unknown kind `{kind}`, expected `holiday` or `workday`"
                    )))
                }
            }
        }
        Self::new(holidays, workdays)
    }

    /// True if `date` is a configured public holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The weekday a make-up working day acts as, or `None` for other days.
    pub fn workday_acts_as(&self, date: NaiveDate) -> Option<Weekday> {
        self.workdays.get(&date).copied()
    }

    /// All configured holidays, in order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    /// All configured make-up working days with the weekday each acts as.
    pub fn workdays(&self) -> impl Iterator<Item = (NaiveDate, Weekday)> + '_ {
        self.workdays.iter().map(|(d, w)| (*d, *w))
    }

    /// The date whose schedule `day` follows: `day` itself, or for a
    /// make-up working day the nearest ordinary date (not a holiday, not a
    /// make-up day) with the weekday it acts as.
    fn substitute(&self, day: NaiveDate) -> NaiveDate {
        let Some(&acts_as) = self.workdays.get(&day) else {
            return day;
        };
        let want = i64::from(acts_as.num_days_from_monday());
        let have = i64::from(day.weekday().num_days_from_monday());
        let forward = (want - have).rem_euclid(7);
        if forward == 0 {
            return day;
        }
        // Offsets with the right weekday, nearest first, up to 6 weeks away.
        for week in 0..6i64 {
            let later = forward + 7 * week;
            let earlier = forward - 7 * (week + 1);
            let (first, second) = if later <= -earlier {
                (later, earlier)
            } else {
                (earlier, later)
            };
            for off in [first, second] {
                let Some(cand) = day.checked_add_signed(TimeDelta::days(off)) else {
                    continue;
                };
                if !self.holidays.contains(&cand) && !self.workdays.contains_key(&cand) {
                    return cand;
                }
            }
        }
        day
    }
}

/// A parsed `opening_hours` expression. Cheap to clone and cache (the rules
/// are reference-counted); evaluate it with [`status`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hours {
    oh: OpeningHours,
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
    std::panic::catch_unwind(|| s.parse::<OpeningHours>())
        .map_err(|_| HoursError::Invalid("the expression could not be evaluated".into()))?
        .map(|oh| Hours { oh })
        .map_err(|e| HoursError::Invalid(e.to_string()))
}

impl FromStr for Hours {
    type Err = HoursError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl fmt::Display for Hours {
    /// The expression in the crate's canonical spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.oh.fmt(f)
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
}

/// Evaluates `hours` at local time `at` (Asia/Shanghai) with the holidays
/// and make-up working days of `cal`. Seconds are ignored (minute precision).
pub fn status(hours: &Hours, at: NaiveDateTime, cal: &HolidayCalendar) -> OpenStatus {
    // As in `parse`: a panic inside the crate reads as "not known to be open".
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        status_inner(hours, at, cal)
    }))
    .unwrap_or_else(|_| {
        tracing::warn!("opening hours could not be evaluated");
        OpenStatus {
            open: false,
            closes_at: None,
            opens_at: None,
        }
    })
}

fn status_inner(hours: &Hours, at: NaiveDateTime, cal: &HolidayCalendar) -> OpenStatus {
    let oh = hours.oh.clone().with_context(cal.ctx.clone());
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
        for range in oh.schedule_at(cal.substitute(day)) {
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
                            opens_at: None,
                        }
                    } else {
                        OpenStatus {
                            open: false,
                            closes_at: None,
                            opens_at: change,
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
        closes_at: None,
        opens_at: None,
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
                opens_at: None
            }
        );
        // Even on a holiday: 24/7 has no PH rule.
        assert!(st("24/7", at(2026, 10, 1, 12, 0)).open);
    }

    #[test]
    fn never_open() {
        for e in ["off", "closed", "Mo-Su off"] {
            let s = st(e, at(2026, 3, 10, 12, 0));
            assert_eq!(s, OpenStatus::default(), "{e}");
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
        // Saturday 2026-02-14: the Monday after is a holiday, so the
        // substitute is the Monday before; still a working day.
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

    #[test]
    fn substitute_dates() {
        let cal = HolidayCalendar::china_2026();
        assert_eq!(cal.substitute(date(2026, 3, 10)), date(2026, 3, 10));
        assert_eq!(cal.substitute(date(2026, 9, 20)), date(2026, 9, 21));
        // 02-16 is a holiday, 02-09 an ordinary Monday.
        assert_eq!(cal.substitute(date(2026, 2, 14)), date(2026, 2, 9));
        assert_eq!(cal.substitute(date(2026, 1, 4)), date(2026, 1, 5));
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
        assert_eq!(s, OpenStatus::default());
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
    fn china_2026_parses() {
        let cal = HolidayCalendar::from_text(CHINA_2026).unwrap();
        assert_eq!(cal, HolidayCalendar::china_2026());
        assert_eq!(cal.holidays().count(), 33);
        assert_eq!(cal.workdays().count(), 6);
        for (d, w) in cal.workdays() {
            assert!(
                matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
                "make-up day {d} is a weekend day"
            );
            assert_eq!(w, Weekday::Mon);
        }
        assert!(cal.is_holiday(date(2026, 2, 17))); // 春节, lunar new year's day
        assert_eq!(cal.workday_acts_as(date(2026, 2, 28)), Some(Weekday::Mon));
        assert_eq!(cal.workday_acts_as(date(2026, 3, 1)), None);
    }

    #[test]
    fn calendar_text_format() {
        let cal = HolidayCalendar::from_text(
            "# test\n\n2026-10-01 holiday\n 2026-10-02 休 # note\n2026-09-20 workday\n\
             2026-10-10 班 friday\n2026-10-11 workday Sa\n",
        )
        .unwrap();
        assert!(cal.is_holiday(date(2026, 10, 1)));
        assert!(cal.is_holiday(date(2026, 10, 2)));
        assert_eq!(cal.workday_acts_as(date(2026, 9, 20)), Some(Weekday::Mon));
        assert_eq!(cal.workday_acts_as(date(2026, 10, 10)), Some(Weekday::Fri));
        assert_eq!(cal.workday_acts_as(date(2026, 10, 11)), Some(Weekday::Sat));
    }

    #[test]
    fn calendar_errors_name_the_line() {
        let cases = [
            ("2026-13-01 holiday", 1, "invalid date"),
            ("# c\n2026-01-01 party", 2, "unknown kind"),
            ("2026-01-01", 1, "expected"),
            ("2026-01-01 holiday\n\n2026-01-01 workday", 3, "both"),
            ("2026-01-01 workday\n2026-01-01 holiday", 2, "both"),
            ("2026-01-04 workday Xy", 1, "unknown weekday"),
            ("2026-01-04 workday Mo extra", 1, "unexpected"),
            ("2026-01-01 holiday Mo", 1, "unexpected"),
            ("1800-01-01 holiday", 1, "outside"),
            ("2026/01/01 holiday", 1, "invalid date"),
            ("26-1-1 holiday", 1, "outside"),
        ];
        for (text, line, needle) in cases {
            match HolidayCalendar::from_text(text) {
                Err(CalendarError::Line { line: l, reason }) => {
                    assert_eq!(l, line, "{text:?}");
                    assert!(reason.contains(needle), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn calendar_new_checks() {
        let d = date(2026, 5, 1);
        assert_eq!(
            HolidayCalendar::new([d], [(d, Weekday::Mon)]),
            Err(CalendarError::Conflict(d))
        );
        let far = date(5000, 1, 1);
        assert_eq!(
            HolidayCalendar::new([far], []),
            Err(CalendarError::OutOfRange(far))
        );
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
