//! A quick timing check of the offline queries, not a timed test: run with
//! `cargo test --release -p fushi-core --test timing -- --ignored --nocapture`.

mod common;
use common::*;
use fushi_core::model::{NewItem, NewStation};
use fushi_core::policy::Role;
use fushi_core::store::{NearbyQuery, SearchQuery, SortBy};
use std::time::Instant;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

fn median_us(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Zhuhai, roughly 40 km × 45 km.
fn point(r: &mut Lcg) -> (f64, f64) {
    (22.10 + 0.35 * r.unit(), 113.20 + 0.45 * r.unit())
}

fn time_nearest(n: usize) {
    let p = phone(&actor(Role::GridStaff));
    let mut r = Lcg(n as u64);
    let hours = ["Mo-Su 08:00-20:00", "24/7", "Mo-Fr 08:00-18:00; PH off"];
    let amen = ["drinking_water", "seating", "device_charging", "toilets"];
    let t = Instant::now();
    for i in 0..n {
        let (lat, lon) = point(&mut r);
        p.store
            .post_station(NewStation {
                name: format!("驿站{i}"),
                lat,
                lon,
                kind: "cool_station".into(),
                amenities: vec![amen[i % 4].into(), amen[(i + 1) % 4].into()],
                opening_hours: Some(hours[i % 3].into()),
                ..Default::default()
            })
            .unwrap();
    }
    eprintln!("{n} stations posted in {:?}", t.elapsed());
    for (label, open) in [("no filter", false), ("open now", true)] {
        let mut times = Vec::new();
        for _ in 0..2000 {
            let (lat, lon) = point(&mut r);
            let q = NearbyQuery {
                lat,
                lon,
                radius_m: 3_000.0,
                limit: 10,
                open_at: open.then(|| p.store.now_ms()),
                ..Default::default()
            };
            let t = Instant::now();
            let got = p.store.nearest_stations(&q).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(got.len() <= 10);
        }
        eprintln!(
            "nearest-10 among {n} stations ({label}): median {:.1} µs",
            median_us(times)
        );
    }
}

#[test]
#[ignore]
fn nearest_ten_among_10k_and_100k_stations() {
    time_nearest(10_000);
    time_nearest(100_000);
}

#[test]
#[ignore]
fn two_character_search_among_100k_items() {
    let p = phone(&actor(Role::Resident));
    let words = [
        "儿童",
        "自行车",
        "充电宝",
        "台灯",
        "书架",
        "电饭煲",
        "婴儿车",
        "衣服",
        "玩具",
        "绘本",
        "电风扇",
        "椅子",
        "桌子",
        "锅",
        "水杯",
        "数据线",
        "充电器",
        "雨伞",
        "鞋子",
        "背包",
        "冰箱",
        "洗衣机",
        "微波炉",
        "电脑",
        "手机",
        "耳机",
        "键盘",
        "鼠标",
        "花盆",
        "收纳箱",
    ];
    let adj = [
        "九成新",
        "全新",
        "闲置",
        "八成新",
        "旧",
        "好用的",
        "免费",
        "",
    ];
    let mut r = Lcg(7);
    let n = 100_000;
    let t = Instant::now();
    for i in 0..n {
        let w = words[(r.next() as usize) % words.len()];
        let a = adj[(r.next() as usize) % adj.len()];
        let d = words[(r.next() as usize) % words.len()];
        p.store
            .post_item(NewItem {
                title: format!("{a}{w}"),
                description: Some(format!("送{d}一个，第{i}号")),
                category: "daily".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..Default::default()
            })
            .unwrap();
    }
    eprintln!("{n} items posted in {:?}", t.elapsed());
    for (text, sort) in [
        ("充电", SortBy::Relevance),
        ("儿童", SortBy::Relevance),
        ("充电", SortBy::Recency),
        ("车", SortBy::Relevance),
        ("充电宝", SortBy::Relevance),
    ] {
        let q = SearchQuery {
            text: text.into(),
            sort,
            limit: 20,
            ..Default::default()
        };
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..100 {
            let t = Instant::now();
            hits = p.store.search(&q).unwrap().hits.len();
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        eprintln!(
            "search {text:?} {sort:?} among {n} items: median {:.0} µs ({hits} hits/page)",
            median_us(times)
        );
    }
}

#[test]
#[ignore]
fn search_plans() {
    let p = phone(&actor(Role::Resident));
    let words = [
        "儿童",
        "自行车",
        "充电宝",
        "台灯",
        "书架",
        "电饭煲",
        "婴儿车",
        "衣服",
        "玩具",
        "绘本",
        "电风扇",
        "椅子",
        "桌子",
        "锅",
        "水杯",
        "数据线",
        "充电器",
        "雨伞",
        "鞋子",
        "背包",
    ];
    let mut r = Lcg(7);
    for i in 0..100_000 {
        let w = words[(r.next() as usize) % words.len()];
        let d = words[(r.next() as usize) % words.len()];
        p.store
            .post_item(NewItem {
                title: format!("闲置{w}"),
                description: Some(format!("送{d}一个，第{i}号")),
                category: "daily".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..Default::default()
            })
            .unwrap();
    }
    let m = "\"充电\"";
    for sql in [
        "SELECT count(*) FROM item_fts WHERE item_fts MATCH ?1",
        "SELECT count(*) FROM (SELECT rowid, bm25(item_fts, 5.0, 1.0) s FROM item_fts WHERE item_fts MATCH ?1 ORDER BY s LIMIT 21)",
        "SELECT count(*) FROM (SELECT rowid FROM item_fts WHERE item_fts MATCH ?1 ORDER BY rank LIMIT 21)",
        "SELECT count(*) FROM (SELECT t.id FROM item_fts JOIN item t ON t.rid = item_fts.rowid WHERE item_fts MATCH ?1 AND t.deleted = 0 ORDER BY bm25(item_fts, 5.0, 1.0) LIMIT 21)",
        "SELECT count(*) FROM (SELECT t.id FROM item t WHERE t.rid IN (SELECT rowid FROM item_fts WHERE item_fts MATCH ?1) AND t.deleted = 0 ORDER BY t.created_at DESC LIMIT 21)",
    ] {
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let n: i64 = p.store.read(|c| Ok(c.query_row(sql, [m], |r| r.get(0))?)).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(n > 0);
        }
        eprintln!("{:.0} µs  {sql}", median_us(times));
    }
}
