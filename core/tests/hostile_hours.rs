//! Opening hours arrive from other phones: whatever the string, parsing and
//! evaluating it answers, never takes the app down.

use fushi_core::hours::{parse, status, HolidayCalendar};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_expression_parses_or_errors_and_evaluates(s in "[A-Za-z0-9:;,+\\-/ \\[\\]()\"<>=PHSHsunrise]{0,60}") {
        let cal = HolidayCalendar::china_2026();
        if let Ok(h) = parse(&s) {
            let at = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
            let st = status(&h, at, &cal);
            prop_assert!(!(st.open && st.opens_at.is_some()));
        }
    }
}
