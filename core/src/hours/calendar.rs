//! Public holidays and make-up working days (调休): [`HolidayCalendar`] and
//! the official 2026 schedule, [`CHINA_2026`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Weekday};
use compact_calendar::CompactCalendar;
use opening_hours::{Context, ContextHolidays};

/// First year a [`HolidayCalendar`] accepts.
pub const MIN_CALENDAR_YEAR: i32 = 1900;
/// Last year a [`HolidayCalendar`] accepts.
pub const MAX_CALENDAR_YEAR: i32 = 2999;

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
/// Holidays are what the `PH` selector matches. A make-up working day uses
/// the weekday rules of the weekday it "acts as" (Monday by default) and is
/// otherwise its own date: see the rule in the [module docs](super).
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

    /// The years this calendar has dates in: the years it knows.
    pub fn years(&self) -> BTreeSet<i32> {
        self.holidays
            .iter()
            .chain(self.workdays.keys())
            .map(Datelike::year)
            .collect()
    }

    /// Whether this calendar knows `year` (has any date in it). For a year
    /// it does not know, `PH` matches nothing and no day is a make-up day:
    /// an answer for such a day is a guess, and says so
    /// ([`super::OpenStatus::holidays_known`]).
    pub fn covers(&self, year: i32) -> bool {
        self.holidays
            .iter()
            .chain(self.workdays.keys())
            .any(|d| d.year() == year)
    }

    /// The calendars of `layers` over one another: each year from the last
    /// layer that knows it (a later layer overrides the years it covers).
    pub fn layered(layers: &[&HolidayCalendar]) -> HolidayCalendar {
        let mut holidays = BTreeSet::new();
        let mut workdays = BTreeMap::new();
        let mut years = BTreeSet::new();
        for layer in layers.iter().rev() {
            let own = layer.years();
            let fresh: BTreeSet<i32> = own.difference(&years).copied().collect();
            holidays.extend(layer.holidays.iter().filter(|d| fresh.contains(&d.year())));
            workdays.extend(
                layer
                    .workdays
                    .iter()
                    .filter(|(d, _)| fresh.contains(&d.year()))
                    .map(|(d, w)| (*d, *w)),
            );
            years.extend(own);
        }
        // Each year comes whole from one calendar, which had no date both
        // ways: the union cannot either.
        HolidayCalendar::new(holidays, workdays).unwrap_or_default()
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

    /// The weekday whose rules apply on `date`: the one a make-up working
    /// day acts as, else the date's own.
    pub fn effective_weekday(&self, date: NaiveDate) -> Weekday {
        self.workday_acts_as(date).unwrap_or_else(|| date.weekday())
    }

    /// The evaluation context: these holidays as the public holidays.
    pub(super) fn context(&self) -> &Context {
        &self.ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
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
    fn effective_weekday() {
        let cal = HolidayCalendar::china_2026();
        assert_eq!(cal.effective_weekday(date(2026, 10, 10)), Weekday::Mon);
        assert_eq!(cal.effective_weekday(date(2026, 10, 11)), Weekday::Sun);
        assert_eq!(cal.effective_weekday(date(2026, 10, 1)), Weekday::Thu);
    }
}
