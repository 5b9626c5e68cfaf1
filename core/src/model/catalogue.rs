//! The category catalogue: codes stored in the database, labels shown in the app.

/// One catalogue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Category {
    /// Stable code stored in listings.
    pub code: &'static str,
    /// Simplified Chinese label.
    pub zh: &'static str,
    /// English label.
    pub en: &'static str,
}

const fn c(code: &'static str, zh: &'static str, en: &'static str) -> Category {
    Category { code, zh, en }
}

/// Categories of idle items.
pub const ITEM_CATEGORIES: &[Category] = &[
    c("furniture", "家具", "Furniture"),
    c("appliance", "家电", "Home appliances"),
    c("kids", "儿童用品", "Children's things"),
    c("books", "书籍", "Books"),
    c("clothing", "衣物", "Clothing"),
    c("kitchen", "厨具", "Kitchenware"),
    c("electronics", "数码产品", "Electronics"),
    c("sports", "运动户外", "Sports and outdoors"),
    c("daily", "日用品", "Daily necessities"),
    c("other", "其他", "Other"),
];

/// Categories of skill offers.
pub const SKILL_CATEGORIES: &[Category] = &[
    c("appliance_repair", "家电维修", "Appliance repair"),
    c("tutoring", "辅导", "Tutoring"),
    c("haircut", "理发", "Haircut"),
    c("legal_advice", "法律咨询", "Legal advice"),
    c("counselling", "心理咨询", "Counselling"),
    c("livestream_selling", "直播带货", "Livestream selling"),
    c("elder_care", "助老服务", "Help for the elderly"),
    c("tailoring", "缝补", "Mending and tailoring"),
    c("other", "其他", "Other"),
];

/// Station amenities, in OpenStreetMap style. The bit of each is its index,
/// used for fast amenity filters.
pub const AMENITIES: &[Category] = &[
    c("drinking_water", "饮用水", "Drinking water"),
    c("toilets", "卫生间", "Toilets"),
    c("device_charging", "充电", "Device charging"),
    c("first_aid_kit", "急救箱", "First-aid kit"),
    c("seating", "座椅", "Seating"),
    c("air_conditioning", "空调", "Air conditioning"),
    c("microwave", "微波炉", "Microwave"),
    c("wifi", "无线网络", "Wi-Fi"),
    c("power_bank", "充电宝", "Power bank"),
    c("umbrella", "雨伞", "Umbrella"),
];

/// Kinds of station.
pub const STATION_KINDS: &[Category] = &[
    c("cool_station", "清凉驿站", "Cool station"),
    c("community_center", "社区服务中心", "Community centre"),
    c("sharing_home", "共享家", "Sharing home"),
    c("other", "其他", "Other"),
];

/// Kinds of station report.
pub const REPORT_KINDS: &[Category] = &[
    c("no_water", "没水了", "Out of water"),
    c("no_power_bank", "充电宝没了", "No power bank"),
    c("closed", "未开放", "Closed"),
    c("broken", "设施损坏", "Something is broken"),
    c("crowded", "人多", "Crowded"),
    c("restocked", "已补充", "Restocked"),
];

/// Look a code up in a catalogue.
pub fn find(list: &'static [Category], code: &str) -> Option<&'static Category> {
    list.iter().find(|c| c.code == code)
}

/// Whether `s` is shaped like a catalogue code: 1–40 of `a-z 0-9 _`.
pub fn is_code(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The label of `code` in `list`, or, for a code this version does not know
/// (added to the catalogue in a newer version, and received from the
/// server), the fallback label "其他" / "Other" with the code kept.
pub fn label(list: &'static [Category], code: &str) -> (&'static str, &'static str) {
    match find(list, code) {
        Some(c) => (c.zh, c.en),
        None => (FALLBACK_ZH, FALLBACK_EN),
    }
}

/// The Chinese label shown for a code this version does not know.
pub const FALLBACK_ZH: &str = "其他";
/// The English label shown for a code this version does not know.
pub const FALLBACK_EN: &str = "Other";

/// The bit mask of a set of amenity codes; unknown codes contribute nothing.
pub fn amenity_mask<'a>(codes: impl IntoIterator<Item = &'a str>) -> i64 {
    codes
        .into_iter()
        .filter_map(|code| AMENITIES.iter().position(|a| a.code == code))
        .fold(0i64, |m, i| m | (1 << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_in_each_catalogue() {
        for list in [
            ITEM_CATEGORIES,
            SKILL_CATEGORIES,
            AMENITIES,
            STATION_KINDS,
            REPORT_KINDS,
        ] {
            let mut codes: Vec<_> = list.iter().map(|c| c.code).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), list.len());
        }
    }

    #[test]
    fn labels_in_both_languages() {
        assert_eq!(
            find(ITEM_CATEGORIES, "kids").map(|c| c.zh),
            Some("儿童用品")
        );
        assert_eq!(
            find(SKILL_CATEGORIES, "livestream_selling").map(|c| c.zh),
            Some("直播带货")
        );
        assert_eq!(
            find(AMENITIES, "first_aid_kit").map(|c| c.en),
            Some("First-aid kit")
        );
        assert!(find(ITEM_CATEGORIES, "weapons").is_none());
    }

    #[test]
    fn amenity_masks() {
        assert_eq!(amenity_mask(["drinking_water", "toilets"]), 0b11);
        assert_eq!(amenity_mask(["wifi", "bogus"]), 1 << 7);
    }
}
