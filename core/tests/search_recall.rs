//! Search recall against a brute-force oracle.
//!
//! A generated corpus of realistic listings (simplified and traditional
//! Chinese, brands and model codes, units, full-width and compatibility
//! forms, Latin glued to Chinese) is posted to a real store; then every 1–4
//! character substring of every listing's text is searched, and the hits
//! are compared with what a plain substring test finds.
//!
//! The oracle is written here, apart from the store's code: it folds text
//! with `unicode-normalization`'s NFKC, `str::to_lowercase`, OpenCC's
//! `TSCharacters` table (through `hanconv`) and `char::is_alphanumeric`,
//! then asks `str::contains`. A query's white-space separated words must
//! each be in one field of the listing (title, description, swap wish,
//! pickup area, a tag, the category's label).
//!
//! Both paths of the store are checked: listings not yet indexed (scanned),
//! and the same listings once indexed.

mod common;

use common::{actor, T0};
use fushi_core::crdt::ManualTime;
use fushi_core::model::{catalogue, NewItem};
use fushi_core::policy::Role;
use fushi_core::store::ListingKind;
use fushi_core::store::{SearchQuery, SortBy};
use fushi_core::{Store, StoreConfig};
use std::collections::{BTreeSet, HashMap};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Simplified words and their traditional forms (the corpus uses either).
const WORDS: &[(&str, &str)] = &[
    ("书籍", "書籍"),
    ("手机", "手機"),
    ("家电", "家電"),
    ("婴儿车", "嬰兒車"),
    ("电动车", "電動車"),
    ("充电宝", "充電寶"),
    ("衣柜", "衣櫃"),
    ("沙发", "沙發"),
    ("自行车", "自行車"),
    ("书桌", "書桌"),
    ("电饭煲", "電飯煲"),
    ("绘本", "繪本"),
    ("羽绒服", "羽絨服"),
    ("闲置", "閒置"),
    ("九成新", "九成新"),
    ("免费送", "免費送"),
    ("儿童玩具", "兒童玩具"),
    ("显示器", "顯示器"),
    ("微波炉", "微波爐"),
    ("学习机", "學習機"),
];

/// Brands, models, units and compatibility forms.
const CODES: &[&str] = &[
    "iPhone 13",
    "iPhone14Pro",
    "WH-1000XM4",
    "小米Redmi Note 12",
    "Type-C",
    "USB3.0",
    "iPad Air",
    "Switch OLED",
    "戴森V8",
    "256GB",
    "20000mAh",
    "1.5米",
    "50㎡",
    "120cm",
    "3kg",
    "①号楼",
    "Ⅱ型",
    "２００元",
    "ＵＳＢ",
    "e充电",
    "ThinkPad X1",
    "A4纸",
    "5号电池",
    "1号楼",
    "15元",
    "12寸",
];

/// Queries typed another way than the listings: traditional for simplified
/// and back, full-width, compatibility forms, parts of codes, several words.
const TYPED: &[&str] = &[
    "書籍",
    "手機",
    "家電",
    "书籍",
    "手机",
    "家电",
    "1号楼",
    "m2",
    "II",
    "ii型",
    "usb",
    "ｉｐｈｏｎｅ",
    "XM4",
    "GB",
    "mah",
    "cm",
    "phone",
    "e充电",
    "1.5",
    "50",
    "200元",
    "手机 充电宝",
    "iPhone 13",
    "电动车 九成新",
    "Redmi Note",
    "可议价",
    "iphone13",
];

const GLUE: &[&str] = &["", "", "", " ", "，", "-", "（", "）", "/", "！", "　"];

const AREAS: &[&str] = &["福石花园3栋", "海湾新村", "翠竹苑二期", "香山里"];

const TAGS: &[&str] = &["可议价", "需自提", "九成新", "Free", "急出"];

fn piece(r: &mut Lcg) -> String {
    if r.below(3) == 0 {
        r.pick(CODES).to_owned()
    } else {
        let (s, t) = WORDS[r.below(WORDS.len())];
        if r.below(3) == 0 { t } else { s }.to_owned()
    }
}

fn text(r: &mut Lcg, pieces: usize) -> String {
    let mut out = String::new();
    for i in 0..pieces {
        if i > 0 {
            out.push_str(r.pick(GLUE));
        }
        out.push_str(&piece(r));
    }
    out
}

fn corpus(n: usize) -> Vec<NewItem> {
    let mut r = Lcg(20_261_206);
    (0..n)
        .map(|_| {
            let n = 1 + r.below(3);
            let title = text(&mut r, n);
            let description = match r.below(4) {
                0 => None,
                _ => {
                    let n = 2 + r.below(4);
                    Some(text(&mut r, n))
                }
            };
            let mode = if r.below(4) == 0 { "swap" } else { "give" };
            let swap_for = (mode == "swap").then(|| text(&mut r, 1));
            let category = catalogue::ITEM_CATEGORIES[r.below(catalogue::ITEM_CATEGORIES.len())]
                .code
                .to_owned();
            let mut tags: Vec<String> = Vec::new();
            for _ in 0..r.below(3) {
                let t = r.pick(TAGS).to_owned();
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            NewItem {
                title,
                description,
                category,
                mode: mode.into(),
                swap_for,
                pickup_area: r.pick(AREAS).into(),
                tags,
                ..Default::default()
            }
        })
        .collect()
}

/// The oracle's folding (see the module documentation).
struct Oracle {
    t2s: HashMap<char, char>,
}

impl Oracle {
    fn new() -> Oracle {
        let mut t2s = HashMap::new();
        for (from, to) in hanconv::RawDictionary::TSCharacters.iter() {
            let mut f = from.chars();
            if let (Some(a), None, Some(b)) = (f.next(), f.next(), to.chars().next()) {
                t2s.entry(a).or_insert(b);
            }
        }
        Oracle { t2s }
    }

    /// NFKC, lower case, traditional to simplified; runs of letters and
    /// digits joined by one space, except that white space alone between
    /// Chinese and Latin or digits joins them (typographic spacing).
    fn fold(&self, s: &str) -> String {
        let lower = s.nfkc().collect::<String>().to_lowercase();
        let chinese = |c: char| {
            ('\u{4e00}'..='\u{9fff}').contains(&c)
                || ('\u{3400}'..='\u{4dbf}').contains(&c)
                || ('\u{3041}'..='\u{30ff}').contains(&c)
        };
        let mut out = String::new();
        // What lies between the last run character and the next: nothing,
        // white space only, or something else.
        let mut between: Option<bool> = None;
        for c in lower.chars().map(|c| *self.t2s.get(&c).unwrap_or(&c)) {
            if c.is_alphanumeric() {
                if let (Some(only_space), Some(prev)) = (between, out.chars().last()) {
                    if !(only_space && chinese(prev) != chinese(c)) {
                        out.push(' ');
                    }
                }
                between = None;
                out.push(c);
            } else if !out.is_empty() {
                let space = c.is_whitespace() && between != Some(false);
                between = Some(space);
            }
        }
        out
    }

    fn fields(&self, item: &NewItem) -> Vec<String> {
        let label = catalogue::find(catalogue::ITEM_CATEGORIES, &item.category)
            .map(|c| c.zh)
            .unwrap_or("");
        let mut f = vec![
            item.title.as_str(),
            item.description.as_deref().unwrap_or(""),
            item.swap_for.as_deref().unwrap_or(""),
            item.pickup_area.as_str(),
            label,
        ];
        f.extend(item.tags.iter().map(String::as_str));
        f.into_iter().map(|s| self.fold(s)).collect()
    }

    /// The folded words of a query (none: nothing to search for).
    fn words(&self, query: &str) -> Vec<String> {
        query
            .split_whitespace()
            .map(|w| self.fold(w))
            .filter(|w| !w.is_empty())
            .collect()
    }
}

/// Every distinct 1–4 character substring of the listings' texts.
fn queries(items: &[NewItem]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for it in items {
        let mut texts = vec![it.title.clone(), it.pickup_area.clone()];
        texts.extend(it.description.clone());
        texts.extend(it.swap_for.clone());
        texts.extend(it.tags.iter().cloned());
        for t in texts {
            let chars: Vec<char> = t.chars().collect();
            for len in 1..=4 {
                for w in chars.windows(len) {
                    out.insert(w.iter().collect());
                }
            }
        }
    }
    out
}

fn all_hits(store: &fushi_core::Store, text: &str) -> BTreeSet<Uuid> {
    let mut out = BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = store
            .search(&SearchQuery {
                text: text.into(),
                kinds: vec![ListingKind::Item],
                sort: Some(SortBy::Relevance),
                limit: 100,
                offset,
                ..Default::default()
            })
            .unwrap();
        out.extend(page.hits.iter().map(|h| h.id));
        match page.next_offset {
            Some(o) => offset = o,
            None => return out,
        }
    }
}

/// Misses and false hits of every query, as text lines.
fn compare(
    store: &fushi_core::Store,
    oracle: &Oracle,
    folded: &[(Uuid, Vec<String>)],
    queries: &BTreeSet<String>,
) -> (usize, Vec<String>, Vec<String>) {
    let mut checked = 0;
    let mut misses = Vec::new();
    let mut false_hits = Vec::new();
    for q in queries {
        let words = oracle.words(q);
        if words.is_empty() {
            continue;
        }
        checked += 1;
        let want: BTreeSet<Uuid> = folded
            .iter()
            .filter(|(_, fields)| words.iter().all(|w| fields.iter().any(|f| f.contains(w))))
            .map(|(id, _)| *id)
            .collect();
        let got = all_hits(store, q);
        if let Some(id) = want.difference(&got).next() {
            misses.push(format!(
                "{q:?}: {} missed, e.g. {id}",
                want.difference(&got).count()
            ));
        }
        if let Some(id) = got.difference(&want).next() {
            false_hits.push(format!(
                "{q:?}: {} false, e.g. {id}",
                got.difference(&want).count()
            ));
        }
    }
    (checked, misses, false_hits)
}

#[test]
fn every_substring_finds_exactly_what_a_substring_test_finds() {
    let owner = actor(Role::Resident);
    let dir = tempfile::tempdir().unwrap();
    // Indexed only when the test says so: the first stage is all scanned.
    let store = Store::open_with(
        dir.path().join("phone.db"),
        ManualTime::new(T0),
        StoreConfig {
            search_in_background: false,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    store.set_actor(Some(owner));
    let items = corpus(240);
    let ids = store.post_items(items.clone()).unwrap();
    let oracle = Oracle::new();
    let folded: Vec<(Uuid, Vec<String>)> = ids
        .iter()
        .zip(&items)
        .map(|(id, it)| (*id, oracle.fields(it)))
        .collect();
    let mut qs = queries(&items);
    for q in TYPED {
        qs.insert((*q).to_owned());
    }
    // The found must be found whichever way it is typed.
    assert_eq!(all_hits(&store, "書籍"), all_hits(&store, "书籍"));
    assert_eq!(all_hits(&store, "①号楼"), all_hits(&store, "1号楼"));

    for stage in ["scanned, not yet indexed", "indexed"] {
        if stage == "indexed" {
            assert_eq!(store.index_search_now().unwrap(), items.len() as u64);
            assert_eq!(store.search_index_status().unwrap().pending, 0);
        } else {
            assert_eq!(
                store.search_index_status().unwrap().pending,
                items.len() as u64
            );
        }
        // Scanning folds every listing for every query: a sample (every
        // eighth substring, and all the typed-another-way ones) keeps the
        // unoptimised test build quick; the indexed stage asks them all.
        let sample: BTreeSet<String> = match stage {
            "indexed" => qs.clone(),
            _ => qs
                .iter()
                .enumerate()
                .filter(|(i, q)| i % 8 == 0 || TYPED.contains(&q.as_str()))
                .map(|(_, q)| q.clone())
                .collect(),
        };
        let (checked, misses, false_hits) = compare(&store, &oracle, &folded, &sample);
        eprintln!(
            "{stage}: {checked} queries over {} listings: {} with misses, {} with false hits",
            items.len(),
            misses.len(),
            false_hits.len()
        );
        assert!(
            checked > sample.len() * 9 / 10 && checked > 500,
            "{checked} queries"
        );
        assert!(
            misses.is_empty(),
            "{stage}: misses: {:#?}",
            &misses[..misses.len().min(20)]
        );
        assert!(
            false_hits.is_empty(),
            "{stage}: false hits: {:#?}",
            &false_hits[..false_hits.len().min(20)]
        );
    }
}
