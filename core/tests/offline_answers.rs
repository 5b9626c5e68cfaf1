//! What each user asks of the phone, answered offline: the nearest open cool
//! station, Chinese search, an item's queue and hand-over, needs meeting
//! offers, and the grid staff's figures.

mod common;
use common::*;
use fushi_core::geo::GeoPoint;
use fushi_core::hours::{local_to_unix_ms, HolidayCalendar};
use fushi_core::model::{NewItem, NewNeed, NewSkill, NewStation, StationEdit};
use fushi_core::policy::Role;
use fushi_core::store::{Expiry, ItemState, ListingKind, NearbyQuery, Period, SearchQuery, SortBy};
use fushi_core::{Error, Table};

const HOUR: i64 = 60 * 60 * 1000;
const DAY: i64 = 24 * HOUR;
/// Near 福石社区, Qianshan, Zhuhai.
const HERE: (f64, f64) = (22.2586, 113.5262);

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    local_to_unix_ms(
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

/// A station `north_m` metres north of HERE.
fn station(name: &str, north_m: f64, amenities: &[&str], hours: Option<&str>) -> NewStation {
    NewStation {
        name: name.into(),
        address: Some("前山街道".into()),
        lat: HERE.0 + north_m / 111_195.0,
        lon: HERE.1,
        kind: "cool_station".into(),
        amenities: amenities.iter().map(|s| s.to_string()).collect(),
        opening_hours: hours.map(Into::into),
        host_org: Some("福石社区居委会".into()),
        contact: None,
        note: None,
    }
}

fn item(title: &str, description: &str) -> NewItem {
    NewItem {
        title: title.into(),
        description: Some(description.into()),
        category: "daily".into(),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        lat: Some(HERE.0),
        lon: Some(HERE.1),
        ..Default::default()
    }
}

fn near(radius_m: f64) -> NearbyQuery {
    NearbyQuery {
        lat: HERE.0,
        lon: HERE.1,
        radius_m,
        ..Default::default()
    }
}

fn titles(p: &Phone, text: &str) -> Vec<String> {
    let page = p
        .store
        .search(&SearchQuery {
            text: text.into(),
            ..Default::default()
        })
        .unwrap();
    let mut t: Vec<String> = page.hits.into_iter().map(|h| h.title).collect();
    t.sort();
    t
}

// --- Outdoor workers -------------------------------------------------------

#[test]
fn a_rider_finds_the_nearest_stations_in_order_and_never_one_outside_the_radius() {
    let staff = actor(Role::GridStaff);
    let s = phone(&staff);
    let far = s
        .store
        .post_station(station("远处驿站", 2_500.0, &["drinking_water"], None))
        .unwrap();
    let b = s
        .store
        .post_station(station("二号驿站", 600.0, &["drinking_water"], None))
        .unwrap();
    let a = s
        .store
        .post_station(station(
            "一号驿站",
            150.0,
            &["drinking_water", "seating"],
            None,
        ))
        .unwrap();
    let rider = phone(&actor(Role::Resident));
    deliver(&s, &[&rider]);

    let got = rider.store.nearest_stations(&near(1_000.0)).unwrap();
    let ids: Vec<_> = got.iter().map(|g| g.id).collect();
    assert_eq!(ids, vec![a, b], "the station 2.5 km away is outside 1 km");
    assert!((got[0].distance_m - 150.0).abs() < 1.0);
    assert!((got[1].distance_m - 600.0).abs() < 1.0);
    // GCJ-02 for the map is offset by a few hundred metres in China.
    assert!((got[0].gcj02_lon - got[0].lon).abs() > 0.001);

    let wider = rider.store.nearest_stations(&near(3_000.0)).unwrap();
    assert_eq!(wider.len(), 3);
    assert_eq!(wider[2].id, far);

    // Amenity filter: only the station with seating.
    let mut q = near(3_000.0);
    q.amenities = vec!["seating".into()];
    let seats = rider.store.nearest_stations(&q).unwrap();
    assert_eq!(seats.iter().map(|g| g.id).collect::<Vec<_>>(), vec![a]);
    q.amenities = vec!["jacuzzi".into()];
    assert!(matches!(
        rider.store.nearest_stations(&q),
        Err(Error::Invalid { field, .. }) if field == "amenities"
    ));
}

#[test]
fn the_amenity_filter_follows_amenities_changed_on_another_phone() {
    let staff = actor(Role::GridStaff);
    let s = phone(&staff);
    let id = s
        .store
        .post_station(station("一号", 100.0, &["drinking_water"], None))
        .unwrap();
    let rider = phone(&actor(Role::Resident));
    deliver(&s, &[&rider]);
    let with = |p: &Phone, a: &str| -> usize {
        let mut q = near(1_000.0);
        q.amenities = vec![a.into()];
        p.store.nearest_stations(&q).unwrap().len()
    };
    assert_eq!(with(&rider, "drinking_water"), 1);
    assert_eq!(with(&rider, "power_bank"), 0);

    // The water runs out for good and a power bank arrives; the rider's
    // phone hears it by sync only.
    s.store
        .edit_station(
            id,
            StationEdit {
                add_amenities: vec!["power_bank".into()],
                remove_amenities: vec!["drinking_water".into()],
                ..Default::default()
            },
        )
        .unwrap();
    deliver(&s, &[&rider]);
    assert_eq!(with(&rider, "drinking_water"), 0);
    assert_eq!(with(&rider, "power_bank"), 1);

    // Deleting the station erases its amenities with it.
    s.store.delete_listing(Table::Station, id).unwrap();
    deliver(&s, &[&rider]);
    assert_eq!(with(&rider, "power_bank"), 0);
}

#[test]
fn hidden_deleted_and_moved_stations_follow_the_index() {
    let staff = actor(Role::GridStaff);
    let s = phone(&staff);
    let a = s
        .store
        .post_station(station("一号", 100.0, &[], None))
        .unwrap();
    let b = s
        .store
        .post_station(station("二号", 200.0, &[], None))
        .unwrap();
    let c = s
        .store
        .post_station(station("三号", 300.0, &[], None))
        .unwrap();
    s.store.hide_listing(Table::Station, a, true).unwrap();
    s.store.delete_listing(Table::Station, b).unwrap();
    // Moved 5 km north: out of a 1 km search.
    s.store
        .edit_station(
            c,
            fushi_core::model::StationEdit {
                lat: Some(HERE.0 + 0.05),
                lon: Some(HERE.1),
                ..Default::default()
            },
        )
        .unwrap();
    let rider = phone(&actor(Role::Resident));
    deliver(&s, &[&rider]);
    for p in [&s, &rider] {
        assert!(p.store.nearest_stations(&near(1_000.0)).unwrap().is_empty());
    }
    s.store.hide_listing(Table::Station, a, false).unwrap();
    let got = s.store.nearest_stations(&near(1_000.0)).unwrap();
    assert_eq!(got.iter().map(|g| g.id).collect::<Vec<_>>(), vec![a]);
}

#[test]
fn opening_hours_across_midnight_and_on_a_national_holiday() {
    let staff = actor(Role::GridStaff);
    let s = phone_at(&staff, at(2026, 9, 29, 12, 0));
    let night = s
        .store
        .post_station(station("夜班驿站", 100.0, &[], Some("Mo-Su 18:00-02:00")))
        .unwrap();
    let weekday = s
        .store
        .post_station(station(
            "工作日驿站",
            200.0,
            &[],
            Some("Mo-Fr 08:00-20:00; PH off"),
        ))
        .unwrap();

    // Tuesday 29 Sept 01:30: the night station is open from Monday evening,
    // closing at 02:00; the weekday one opens at 08:00.
    s.time.set(at(2026, 9, 29, 1, 30));
    let got = s.store.nearest_stations(&near(1_000.0)).unwrap();
    assert_eq!(got[0].id, night);
    assert_eq!(got[0].open_now, Some(true));
    assert_eq!(got[0].closes_at, Some(at(2026, 9, 29, 2, 0)));
    assert_eq!(got[1].open_now, Some(false));
    assert_eq!(got[1].opens_at, Some(at(2026, 9, 29, 8, 0)));

    // "Open at" filter at 23:00: only the night station.
    let mut q = near(1_000.0);
    q.open_at = Some(at(2026, 9, 29, 23, 0));
    let open: Vec<_> = s
        .store
        .nearest_stations(&q)
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(open, vec![night]);

    // National Day (Thursday 1 Oct) is a holiday: closed at noon.
    s.time.set(at(2026, 10, 1, 12, 0));
    let got = s.store.nearest_stations(&near(1_000.0)).unwrap();
    assert_eq!(got[1].id, weekday);
    assert_eq!(got[1].open_now, Some(false));
    // With the app's own 2026 calendar, which does not list it, the same
    // Thursday is an ordinary working day (the app's calendar replaces the
    // years it lists; an empty one replaces none).
    s.store.set_holiday_calendar(
        HolidayCalendar::new([chrono::NaiveDate::from_ymd_opt(2026, 10, 8).unwrap()], []).unwrap(),
    );
    let got = s.store.nearest_stations(&near(1_000.0)).unwrap();
    assert_eq!(got[1].open_now, Some(true));
}

#[test]
fn no_water_is_shown_until_it_expires_or_someone_restocks() {
    let staff = actor(Role::GridStaff);
    let s = phone(&staff);
    let id = s
        .store
        .post_station(station("一号", 100.0, &["drinking_water"], None))
        .unwrap();
    let worker = phone(&actor(Role::Resident));
    deliver(&s, &[&worker]);
    worker
        .store
        .report_station(id, "no_water", Some("10:20 起没水".into()))
        .unwrap();
    worker.store.report_station(id, "crowded", None).unwrap();
    let kinds = |p: &Phone| -> Vec<String> {
        p.store
            .nearest_stations(&near(500.0))
            .unwrap()
            .remove(0)
            .reports
            .into_iter()
            .map(|r| r.kind)
            .collect()
    };
    // Made in the same minute (reports keep the minute only), so their
    // order is by id: the same on every phone, but not the order typed.
    let mut first = kinds(&worker);
    first.sort();
    assert_eq!(first, vec!["crowded", "no_water"]);

    worker.time.advance(HOUR);
    worker.store.report_station(id, "restocked", None).unwrap();
    assert_eq!(kinds(&worker), vec!["crowded", "restocked"]);
    worker.time.advance(HOUR);
    worker.store.report_station(id, "no_water", None).unwrap();
    assert_eq!(kinds(&worker), vec!["crowded", "no_water"]);

    // Reports last 4 hours.
    worker.time.advance(3 * HOUR);
    assert_eq!(kinds(&worker), vec!["no_water"]);
    worker.time.advance(2 * HOUR);
    assert!(kinds(&worker).is_empty());
}

#[test]
fn check_ins_are_counted() {
    let staff = actor(Role::GridStaff);
    let s = phone(&staff);
    let id = s
        .store
        .post_station(station("一号", 100.0, &[], None))
        .unwrap();
    let w = phone(&actor(Role::Resident));
    deliver(&s, &[&w]);
    w.store.check_in(id).unwrap();
    w.time.advance(HOUR);
    w.store.check_in(id).unwrap();
    assert_eq!(w.store.checkin_count(id, None).unwrap(), 2);
    assert_eq!(w.store.checkin_count(id, Some(T0 + HOUR)).unwrap(), 1);
}

// --- Residents: search -----------------------------------------------------

fn search_phone() -> Phone {
    let p = phone(&actor(Role::Resident));
    for (t, d) in [
        ("婴儿童车", "八成新，可折叠"),
        ("充电宝 20000mAh", "小米的，送给需要的人"),
        ("电动车充电器", "48V 通用"),
        ("儿童绘本", "一箱，适合三到六岁"),
        ("iPhone 数据线", "Lightning 接口"),
    ] {
        p.store.post_item(item(t, d)).unwrap();
        p.time.advance(1_000);
    }
    p
}

#[test]
fn chinese_queries_of_one_two_and_more_characters_and_mixed_latin() {
    let p = search_phone();
    assert_eq!(titles(&p, "充电"), vec!["充电宝 20000mAh", "电动车充电器"]);
    assert_eq!(titles(&p, "童车"), vec!["婴儿童车"]);
    assert_eq!(titles(&p, "童"), vec!["儿童绘本", "婴儿童车"]);
    assert_eq!(titles(&p, "充电器"), vec!["电动车充电器"]);
    assert_eq!(titles(&p, "iphone数据线"), vec!["iPhone 数据线"]);
    assert_eq!(titles(&p, "小米 充电"), vec!["充电宝 20000mAh"]);
    // Latin prefix while typing; full-width letters fold.
    assert_eq!(titles(&p, "ｉｐｈ"), vec!["iPhone 数据线"]);
    // Category label and pickup area are searchable too.
    assert_eq!(titles(&p, "日用品").len(), 5);
    assert!(titles(&p, "冰箱").is_empty());
}

#[test]
fn hostile_query_strings_are_searched_as_text() {
    let p = search_phone();
    for q in [
        "\"",
        "\"\"",
        "*",
        "充电*",
        "AND",
        "充电 AND",
        "NEAR(充电 宝)",
        "title:充电",
        "^充电",
        "-充电",
        "(",
        ")",
        "'; DROP TABLE item; --",
        "\u{0}",
        "充电\" OR \"童车",
    ] {
        let res = p.store.search(&SearchQuery {
            text: q.into(),
            ..Default::default()
        });
        assert!(res.is_ok(), "{q:?} failed: {res:?}");
    }
    assert_eq!(titles(&p, "充电*"), vec!["充电宝 20000mAh", "电动车充电器"]);
    assert!(titles(&p, "\"").is_empty());
    assert!(titles(&p, "AND").is_empty());
}

#[test]
fn a_hidden_listing_is_never_returned_to_residents_but_staff_may_see_it() {
    let owner = phone(&actor(Role::Resident));
    let id = owner.store.post_item(item("充电宝", "全新")).unwrap();
    let staff = phone(&actor(Role::GridStaff));
    let neighbour = phone(&actor(Role::Resident));
    sync_all(&[&owner, &staff, &neighbour]);
    staff.store.hide_listing(Table::Item, id, true).unwrap();
    sync_all(&[&owner, &staff, &neighbour]);
    for p in [&owner, &neighbour, &staff] {
        assert!(titles(p, "充电").is_empty());
        let q = SearchQuery {
            include_hidden: true,
            ..Default::default()
        };
        let hits = p.store.search(&q).unwrap().hits;
        if p.actor.role == Role::GridStaff {
            assert_eq!(hits.len(), 1);
            assert!(hits[0].hidden);
        } else {
            assert!(hits.is_empty(), "a resident asked for hidden ones too");
        }
    }
    owner.store.delete_listing(Table::Item, id).unwrap();
    sync_all(&[&owner, &staff, &neighbour]);
    let q = SearchQuery {
        include_hidden: true,
        ..Default::default()
    };
    assert!(staff.store.search(&q).unwrap().hits.is_empty());
}

#[test]
fn filters_orders_and_pages_never_skip_or_repeat() {
    let p = phone(&actor(Role::Resident));
    for i in 0..25 {
        let mut it = item(&format!("水杯{i}"), "干净");
        it.lat = Some(HERE.0 + f64::from(i) * 0.001);
        if i % 2 == 0 {
            it.mode = "swap".into();
        }
        p.store.post_item(it).unwrap();
    }
    p.store
        .post_skill(NewSkill {
            title: "修水杯".into(),
            category: "appliance_repair".into(),
            ..Default::default()
        })
        .unwrap();
    for sort in [SortBy::Relevance, SortBy::Recency, SortBy::Distance] {
        let mut seen = Vec::new();
        let mut q = SearchQuery {
            text: "水杯".into(),
            near: Some(GeoPoint {
                lat: HERE.0,
                lon: HERE.1,
            }),
            sort: Some(sort),
            limit: 7,
            ..Default::default()
        };
        loop {
            let page = p.store.search(&q).unwrap();
            seen.extend(page.hits.iter().map(|h| h.id));
            match page.next_offset {
                Some(o) => q.offset = o,
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 26, "{sort:?}");
        assert_eq!(unique.len(), 26, "{sort:?}");
    }
    let by_distance = p
        .store
        .search(&SearchQuery {
            text: "水杯".into(),
            kinds: vec![ListingKind::Item],
            near: Some(GeoPoint {
                lat: HERE.0,
                lon: HERE.1,
            }),
            // Items are kept on the 0.001° grid: 水杯3 is 22.262, 378 m north.
            within_m: Some(400.0),
            sort: Some(SortBy::Distance),
            ..Default::default()
        })
        .unwrap();
    let titles: Vec<_> = by_distance.hits.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(titles, vec!["水杯0", "水杯1", "水杯2", "水杯3"]);
    let swaps = p
        .store
        .search(&SearchQuery {
            mode: Some("swap".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(swaps.hits.len(), 13);
    assert!(swaps.hits.iter().all(|h| h.kind == ListingKind::Item));
}

#[test]
fn expired_items_are_not_offered_and_expiring_ones_are_flagged() {
    let owner = phone(&actor(Role::Resident));
    let id = owner.store.post_item(item("台灯", "能用")).unwrap();
    assert_eq!(
        owner.store.item_lifecycle(id).unwrap().expiry,
        Expiry::Active
    );
    owner.time.advance(28 * DAY);
    assert_eq!(
        owner.store.item_lifecycle(id).unwrap().expiry,
        Expiry::ExpiringSoon
    );
    assert_eq!(titles(&owner, "台灯").len(), 1);
    owner.time.advance(2 * DAY);
    assert_eq!(
        owner.store.item_lifecycle(id).unwrap().expiry,
        Expiry::Expired
    );
    assert!(titles(&owner, "台灯").is_empty());
    owner.store.renew_item(id).unwrap();
    assert_eq!(titles(&owner, "台灯").len(), 1);
}

// --- Residents: an item's life ---------------------------------------------

#[test]
fn three_phones_request_offline_and_every_replica_agrees_on_the_queue() {
    let owner = phone(&actor(Role::Resident));
    let id = owner.store.post_item(item("婴儿车", "九成新")).unwrap();
    let (a, b, c) = (
        phone(&actor(Role::Resident)),
        phone(&actor(Role::Resident)),
        phone(&actor(Role::Resident)),
    );
    sync_all(&[&owner, &a, &b, &c]);
    // Offline, almost at once; c's clock even runs a little behind.
    a.time.advance(5_000);
    b.time.advance(5_000);
    c.time.advance(4_000);
    let ra = a.store.request_item(id, None).unwrap();
    let rb = b.store.request_item(id, None).unwrap();
    let rc = c.store.request_item(id, None).unwrap();
    // Delivered in different orders to different phones.
    deliver(&c, &[&owner]);
    deliver(&a, &[&owner]);
    deliver(&b, &[&owner]);
    deliver(&b, &[&a, &c]);
    deliver(&a, &[&c, &b]);
    deliver(&c, &[&b, &a]);
    let queue = |p: &Phone| -> Vec<_> {
        p.store
            .item_lifecycle(id)
            .unwrap()
            .queue
            .into_iter()
            .map(|r| r.request_id)
            .collect()
    };
    let q = queue(&owner);
    assert_eq!(q.len(), 3);
    assert_eq!(q[0], rc, "the earliest clock is first in line");
    for p in [&a, &b, &c] {
        assert_eq!(queue(p), q);
    }
    let stamps: Vec<_> = q
        .iter()
        .map(|r| owner.store.record_stamp(Table::ItemRequest, *r).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]));
    assert!(q.contains(&ra) && q.contains(&rb));
    assert_eq!(c.store.item_lifecycle(id).unwrap().my_position, Some(0));
}

#[test]
fn accept_no_show_next_and_both_sides_confirm_the_hand_over() {
    let owner = phone(&actor(Role::Resident));
    let id = owner.store.post_item(item("书架", "自提")).unwrap();
    let (a, b) = (phone(&actor(Role::Resident)), phone(&actor(Role::Resident)));
    sync_all(&[&owner, &a, &b]);
    let ra = a.store.request_item(id, None).unwrap();
    b.time.advance(1_000);
    let rb = b.store.request_item(id, None).unwrap();
    sync_all(&[&owner, &a, &b]);

    assert!(matches!(
        a.store.accept_next_request(id),
        Err(Error::NotAllowed(_))
    ));
    assert_eq!(owner.store.accept_next_request(id).unwrap(), Some(ra));
    let lc = owner.store.item_lifecycle(id).unwrap();
    assert_eq!(lc.state, ItemState::Reserved);
    assert_eq!(owner.store.item(id).unwrap().reserved_for, Some(ra));
    assert_eq!(lc.pickup_area, "福石花园");

    // A never comes: the owner marks a no-show and B is next.
    assert_eq!(owner.store.mark_no_show(ra).unwrap(), Some(rb));
    sync_all(&[&owner, &a, &b]);
    assert_eq!(
        b.store
            .item_lifecycle(id)
            .unwrap()
            .accepted
            .map(|r| r.request_id),
        Some(rb)
    );
    // Both confirm, the receiver first.
    let lc = b.store.confirm_handover(id).unwrap();
    assert!(lc.receiver_confirmed && !lc.giver_confirmed);
    assert!(matches!(
        a.store.confirm_handover(id),
        Err(Error::NotAllowed(_))
    ));
    sync_all(&[&owner, &a, &b]);
    let lc = owner.store.confirm_handover(id).unwrap();
    assert_eq!(lc.state, ItemState::Given);
    assert_eq!(lc.stored_status, "given");
    sync_all(&[&owner, &a, &b]);
    for p in [&owner, &a, &b] {
        assert_eq!(p.store.item_lifecycle(id).unwrap().state, ItemState::Given);
    }
    assert_converged(&[&owner, &a, &b]);
}

#[test]
fn a_requester_cancels_and_the_owner_declines() {
    let owner = phone(&actor(Role::Resident));
    let id = owner.store.post_item(item("电饭煲", "好用")).unwrap();
    let (a, b) = (phone(&actor(Role::Resident)), phone(&actor(Role::Resident)));
    sync_all(&[&owner, &a, &b]);
    let ra = a.store.request_item(id, None).unwrap();
    b.time.advance(1_000);
    let rb = b.store.request_item(id, None).unwrap();
    sync_all(&[&owner, &a, &b]);
    owner.store.accept_next_request(id).unwrap();
    sync_all(&[&owner, &a, &b]);
    // A changes their mind: every phone shows the item available again.
    a.store.cancel_request(ra).unwrap();
    assert!(matches!(
        b.store.cancel_request(ra),
        Err(Error::NotAllowed(_))
    ));
    sync_all(&[&owner, &a, &b]);
    for p in [&owner, &a, &b] {
        let lc = p.store.item_lifecycle(id).unwrap();
        assert_eq!(lc.state, ItemState::Available);
        assert_eq!(lc.queue.len(), 1);
    }
    owner.store.decline_request(rb).unwrap();
    let lc = owner.store.item_lifecycle(id).unwrap();
    assert!(lc.queue.is_empty());
    assert_eq!(owner.store.accept_next_request(id).unwrap(), None);
}

// --- Needs meet offers -----------------------------------------------------

#[test]
fn a_need_finds_offers_with_a_score_and_new_offers_notify() {
    let asker = phone(&actor(Role::Resident));
    let giver = phone(&actor(Role::Resident));
    let need = asker
        .store
        .post_need(NewNeed {
            title: "想要一个充电宝".into(),
            want: "item".into(),
            category: Some("electronics".into()),
            lat: Some(HERE.0),
            lon: Some(HERE.1),
            ..Default::default()
        })
        .unwrap();
    let mut bank = item("充电宝", "还有八成电量");
    bank.category = "electronics".into();
    let bank = giver.store.post_item(bank).unwrap();
    let other = giver.store.post_item(item("旧报纸", "一捆")).unwrap();
    let mut report = fushi_core::store::ApplyReport::default();
    for c in outbox(&giver) {
        let r = asker.store.apply_remote(&[c]).unwrap();
        report.changed.extend(r.changed);
    }
    let fresh = asker.store.new_matches(&report).unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!((fresh[0].need_id, fresh[0].offer_id), (need, bank));
    assert!(fresh.iter().all(|m| m.offer_id != other));

    let ranked = asker.store.matches_for_need(need, 10).unwrap();
    assert_eq!(ranked[0].offer_id, bank);
    let s = &ranked[0].score;
    assert_eq!(s.shared_words, 2, "充电 and 电宝");
    assert!(s.category > 0.0 && s.distance > 0.0 && s.freshness > 0.0);
    assert!((s.total - (s.text + s.category + s.distance + s.freshness)).abs() < 1e-9);
    // The giver's own phone has no open need: nothing to notify.
    assert!(giver.store.new_matches(&report).unwrap().is_empty());
}

// --- Grid staff figures ----------------------------------------------------

#[test]
fn grid_staff_see_the_month_in_figures() {
    let start = at(2026, 7, 1, 9, 0);
    let staff_actor = actor(Role::GridStaff);
    let staff = phone_at(&staff_actor, start);
    let owner = phone_at(&actor(Role::Resident), start);
    let receiver = phone_at(&actor(Role::Resident), start);
    let st = staff
        .store
        .post_station(station("一号", 100.0, &[], None))
        .unwrap();
    let id = owner.store.post_item(item("书桌", "实木")).unwrap();
    let skill = owner
        .store
        .post_skill(NewSkill {
            title: "修电扇".into(),
            category: "appliance_repair".into(),
            ..Default::default()
        })
        .unwrap();
    sync_all(&[&staff, &owner, &receiver]);
    receiver.store.request_item(id, None).unwrap();
    receiver.store.check_in(st).unwrap();
    receiver.store.report_station(st, "no_water", None).unwrap();
    sync_all(&[&staff, &owner, &receiver]);
    owner.store.accept_next_request(id).unwrap();
    sync_all(&[&staff, &owner, &receiver]);
    receiver.store.confirm_handover(id).unwrap();
    receiver.store.confirm_skill_session(skill, None).unwrap();
    assert!(owner.store.confirm_skill_session(skill, None).is_err());
    sync_all(&[&staff, &owner, &receiver]);
    owner.store.confirm_handover(id).unwrap();
    sync_all(&[&staff, &owner, &receiver]);

    let july = Period::month(2026, 7).unwrap();
    let f = staff.store.figures("fushi", july).unwrap();
    assert_eq!(f.items_posted, 1);
    assert_eq!(f.items_given, 1);
    assert_eq!(f.requests, 1);
    assert_eq!(f.station_reports, 1);
    assert_eq!(f.check_ins, 1);
    assert_eq!(f.skill_sessions, 1);
    assert_eq!(f.item_receivers, 1);
    assert_eq!(f.skill_beneficiaries, 1);
    assert_eq!(
        f.people_served, 2,
        "one distinct resident served plus one check-in"
    );
    let august = staff
        .store
        .figures("fushi", Period::month(2026, 8).unwrap())
        .unwrap();
    assert_eq!(august, Default::default());
    assert!(matches!(
        owner.store.figures("fushi", july),
        Err(Error::NotAllowed(_))
    ));
    assert!(matches!(
        staff.store.figures("other", july),
        Err(Error::NotAllowed(_))
    ));
}

#[test]
fn a_common_word_over_many_listings_pages_title_matches_first_without_repeats() {
    let p = phone(&actor(Role::Resident));
    let n = fushi_core::store::EXACT_MAX_MATCHES as usize + 10;
    for i in 0..n {
        p.store
            .post_item(item(&format!("水杯{i}"), "干净"))
            .unwrap();
    }
    for i in 0..5 {
        p.store
            .post_item(item(&format!("杯垫{i}"), "配套的水杯也有"))
            .unwrap();
    }
    let mut q = SearchQuery {
        text: "水杯".into(),
        kinds: vec![ListingKind::Item],
        limit: 100,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = p.store.search(&q).unwrap();
        seen.extend(page.hits.into_iter().map(|h| (h.id, h.title)));
        match page.next_offset {
            Some(o) => q.offset = o,
            None => break,
        }
    }
    assert_eq!(seen.len(), n + 5);
    let mut ids: Vec<_> = seen.iter().map(|s| s.0).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n + 5);
    assert!(seen[..n].iter().all(|s| s.1.starts_with("水杯")));
    assert!(seen[n..].iter().all(|s| s.1.starts_with("杯垫")));
}
