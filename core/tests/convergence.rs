//! Property tests: replicas that write concurrently, delete, add and remove
//! set elements, and receive each other's changes in random order, with
//! duplicates and partial batches, end with identical tables.

mod common;
use common::*;
use fushi_core::crdt::RowChange;
use fushi_core::model::{ItemEdit, NewItem, NewStation, StationEdit};
use fushi_core::policy::Role;
use fushi_core::store::{PageLimit, Position};
use fushi_core::Table;
use proptest::prelude::*;
use uuid::Uuid;

const AMENITIES: [&str; 4] = [
    "drinking_water",
    "toilets",
    "device_charging",
    "first_aid_kit",
];
const HOURS: [&str; 3] = ["24/7", "Mo-Fr 08:00-20:00", "Mo-Su 07:00-22:00; PH off"];

#[derive(Clone, Debug)]
enum Op {
    PostItem(usize),
    EditTitle(usize, usize, u8),
    AddPhoto(usize, usize, u8),
    RemovePhoto(usize, usize, u8),
    DeleteItem(usize, usize),
    HideItem(usize, usize, bool),
    Withdraw(usize, usize),
    Request(usize, usize),
    PostStation(usize),
    AddAmenity(usize, usize, u8),
    RemoveAmenity(usize, usize, u8),
    EditHours(usize, usize, u8),
    DeleteStation(usize, usize),
    Report(usize, usize),
    Tick(usize, u16),
    Deliver {
        from: usize,
        to: usize,
        keep: u8,
        dup: bool,
        seed: u64,
    },
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    let r = 0..n;
    let i = 0usize..6;
    prop_oneof![
        2 => r.clone().prop_map(Op::PostItem),
        3 => (r.clone(), i.clone(), any::<u8>()).prop_map(|(a, b, c)| Op::EditTitle(a, b, c)),
        2 => (r.clone(), i.clone(), 0u8..3).prop_map(|(a, b, c)| Op::AddPhoto(a, b, c)),
        2 => (r.clone(), i.clone(), 0u8..3).prop_map(|(a, b, c)| Op::RemovePhoto(a, b, c)),
        1 => (r.clone(), i.clone()).prop_map(|(a, b)| Op::DeleteItem(a, b)),
        1 => (r.clone(), i.clone(), any::<bool>()).prop_map(|(a, b, c)| Op::HideItem(a, b, c)),
        1 => (r.clone(), i.clone()).prop_map(|(a, b)| Op::Withdraw(a, b)),
        2 => (r.clone(), i.clone()).prop_map(|(a, b)| Op::Request(a, b)),
        1 => r.clone().prop_map(Op::PostStation),
        3 => (r.clone(), i.clone(), 0u8..4).prop_map(|(a, b, c)| Op::AddAmenity(a, b, c)),
        3 => (r.clone(), i.clone(), 0u8..4).prop_map(|(a, b, c)| Op::RemoveAmenity(a, b, c)),
        2 => (r.clone(), i.clone(), 0u8..3).prop_map(|(a, b, c)| Op::EditHours(a, b, c)),
        1 => (r.clone(), i.clone()).prop_map(|(a, b)| Op::DeleteStation(a, b)),
        1 => (r.clone(), i.clone()).prop_map(|(a, b)| Op::Report(a, b)),
        3 => (r.clone(), 0u16..3000).prop_map(|(a, b)| Op::Tick(a, b)),
        4 => (r.clone(), r, any::<u8>(), any::<bool>(), any::<u64>())
            .prop_map(|(from, to, keep, dup, seed)| Op::Deliver { from, to, keep, dup, seed }),
    ]
}

fn new_item(k: usize) -> NewItem {
    NewItem {
        title: format!("闲置物品{k}"),
        description: Some("可以自取".into()),
        category: "other".into(),
        mode: "give".into(),
        pickup_area: "福石花园".into(),
        photos: vec![fushi_core::photo::PhotoRef::of(format!("photo-{k}").as_bytes()).to_string()],
        ..Default::default()
    }
}

fn new_station(k: usize) -> NewStation {
    NewStation {
        name: format!("清凉驿站{k}"),
        lat: 22.25 + k as f64 * 0.001,
        lon: 113.52,
        kind: "cool_station".into(),
        amenities: vec!["seating".into()],
        ..Default::default()
    }
}

/// A random part of `changes`: a subset of rows, listing rows cut to a
/// subset of their cells, shuffled, some sent twice.
/// A small deterministic generator (xorshift64*), so a failing case replays.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn upto(&mut self, n: usize) -> usize {
        (self.next() % (n as u64 + 1)) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.upto(i);
            v.swap(i, j);
        }
    }
}

fn partial(changes: &[RowChange], keep: u8, dup: bool, rng: &mut Rng) -> Vec<RowChange> {
    let mut out = Vec::new();
    for ch in changes {
        if rng.byte() > keep {
            continue;
        }
        let listing = Table::from_name(&ch.table).is_some_and(|t| t.is_listing());
        if listing && rng.chance(0.5) {
            let cells: Vec<_> = ch
                .cells
                .iter()
                .filter(|_| rng.chance(0.6))
                .cloned()
                .collect();
            if !cells.is_empty() {
                out.push(RowChange {
                    table: ch.table.clone(),
                    id: ch.id,
                    cells,
                });
            }
        } else {
            out.push(ch.clone());
        }
    }
    if dup {
        let extra: Vec<_> = out.iter().filter(|_| rng.chance(0.3)).cloned().collect();
        out.extend(extra);
    }
    rng.shuffle(&mut out);
    out
}

fn run(n: usize, ops: Vec<Op>, seed: u64) {
    let actors: Vec<_> = (0..n).map(|_| actor(Role::Admin)).collect();
    let phones: Vec<Phone> = actors.iter().map(phone).collect();
    let mut items: Vec<Uuid> = Vec::new();
    let mut stations: Vec<Uuid> = Vec::new();
    let pick = |v: &Vec<Uuid>, i: usize| {
        if v.is_empty() {
            None
        } else {
            Some(v[i % v.len()])
        }
    };
    // Every change each replica ever emitted, captured right after each write:
    // the final state must not depend on the order they are delivered in.
    let mut emitted: Vec<Vec<RowChange>> = vec![Vec::new(); n];
    let mut marks: Vec<i64> = vec![0; n];
    for op in ops {
        let writer = match op {
            Op::PostItem(r) | Op::PostStation(r) | Op::Tick(r, _) => r,
            Op::EditTitle(r, ..)
            | Op::AddPhoto(r, ..)
            | Op::RemovePhoto(r, ..)
            | Op::DeleteItem(r, _) => r,
            Op::HideItem(r, ..)
            | Op::Withdraw(r, _)
            | Op::Request(r, _)
            | Op::AddAmenity(r, ..) => r,
            Op::RemoveAmenity(r, ..)
            | Op::EditHours(r, ..)
            | Op::DeleteStation(r, _)
            | Op::Report(r, _) => r,
            Op::Deliver { to, .. } => to,
        };
        // Errors (not found yet, not offered any more…) are expected; the
        // state must stay consistent anyway.
        let _ = match op {
            Op::PostItem(r) => phones[r]
                .store
                .post_item(new_item(items.len()))
                .map(|id| items.push(id)),
            Op::EditTitle(r, i, t) => match pick(&items, i) {
                Some(id) => phones[r].store.edit_item(
                    id,
                    ItemEdit {
                        title: Some(format!("标题{t}")),
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::AddPhoto(r, i, p) => match pick(&items, i) {
                Some(id) => phones[r].store.edit_item(
                    id,
                    ItemEdit {
                        add_photos: vec![fushi_core::photo::PhotoRef::of(&[p]).to_string()],
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::RemovePhoto(r, i, p) => match pick(&items, i) {
                Some(id) => phones[r].store.edit_item(
                    id,
                    ItemEdit {
                        remove_photos: vec![fushi_core::photo::PhotoRef::of(&[p]).to_string()],
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::DeleteItem(r, i) => {
                pick(&items, i).map_or(Ok(()), |id| phones[r].store.delete_listing(Table::Item, id))
            }
            Op::HideItem(r, i, h) => pick(&items, i).map_or(Ok(()), |id| {
                phones[r].store.hide_listing(Table::Item, id, h)
            }),
            Op::Withdraw(r, i) => {
                pick(&items, i).map_or(Ok(()), |id| phones[r].store.withdraw_item(id))
            }
            Op::Request(r, i) => pick(&items, i).map_or(Ok(()), |id| {
                phones[r].store.request_item(id, None).map(|_| ())
            }),
            Op::PostStation(r) => phones[r]
                .store
                .post_station(new_station(stations.len()))
                .map(|id| stations.push(id)),
            Op::AddAmenity(r, i, a) => match pick(&stations, i) {
                Some(id) => phones[r].store.edit_station(
                    id,
                    StationEdit {
                        add_amenities: vec![AMENITIES[a as usize].into()],
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::RemoveAmenity(r, i, a) => match pick(&stations, i) {
                Some(id) => phones[r].store.edit_station(
                    id,
                    StationEdit {
                        remove_amenities: vec![AMENITIES[a as usize].into()],
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::EditHours(r, i, h) => match pick(&stations, i) {
                Some(id) => phones[r].store.edit_station(
                    id,
                    StationEdit {
                        opening_hours: Some(HOURS[h as usize].into()),
                        ..Default::default()
                    },
                ),
                None => Ok(()),
            },
            Op::DeleteStation(r, i) => pick(&stations, i).map_or(Ok(()), |id| {
                phones[r].store.delete_listing(Table::Station, id)
            }),
            Op::Report(r, i) => pick(&stations, i).map_or(Ok(()), |id| {
                phones[r]
                    .store
                    .report_station(id, "no_water", None)
                    .map(|_| ())
            }),
            Op::Tick(r, ms) => {
                phones[r].time.advance(i64::from(ms));
                Ok(())
            }
            Op::Deliver {
                from,
                to,
                keep,
                dup,
                seed,
            } => {
                if from != to {
                    let mut rng = Rng::new(seed);
                    let batch = partial(&emitted[from], keep, dup, &mut rng);
                    // Delivered in up to three separate batches.
                    let cut1 = rng.upto(batch.len());
                    let cut2 = cut1 + rng.upto(batch.len() - cut1);
                    for part in [&batch[..cut1], &batch[cut1..cut2], &batch[cut2..]] {
                        phones[to].store.apply_remote(part).unwrap();
                    }
                }
                Ok(())
            }
        };
        let page = phones[writer]
            .store
            .changes_since(
                Position::at(marks[writer]),
                PageLimit::rows(1_000_000),
                &Default::default(),
            )
            .unwrap();
        marks[writer] = page.next;
        emitted[writer].extend(page.changes);
    }
    // Let time pass everywhere (nothing stays quarantined), then everyone
    // receives everything, in a random order, twice.
    let latest = phones.iter().map(|p| p.store.now_ms()).max().unwrap_or(T0);
    for p in &phones {
        p.time.set(latest + 3_600_000);
    }
    let mut rng = Rng::new(seed ^ 0x5eed);
    for (b, p) in phones.iter().enumerate() {
        let mut all: Vec<RowChange> = emitted
            .iter()
            .enumerate()
            .filter(|(a, _)| *a != b)
            .flat_map(|(_, e)| e.iter().cloned())
            .collect();
        rng.shuffle(&mut all);
        let cut = rng.upto(all.len());
        p.store.apply_remote(&all[..cut]).unwrap();
        p.store.apply_remote(&all[cut..]).unwrap();
        // And everything once more: duplicates change nothing.
        p.store.apply_remote(&all).unwrap();
    }
    let refs: Vec<&Phone> = phones.iter().collect();
    for p in &refs {
        assert!(p.store.quarantine().unwrap().is_empty());
    }
    assert_converged(&refs);
    // Sanity: the materialized sets match the tags everywhere.
    for p in &refs {
        for id in &stations {
            if let Ok(s) = p.store.station(*id) {
                let mut sorted = s.amenities.clone();
                sorted.sort();
                assert_eq!(sorted, s.amenities);
            }
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn three_replicas_converge(ops in proptest::collection::vec(op(3), 1..60), seed in any::<u64>()) {
        run(3, ops, seed);
    }

    #[test]
    fn four_replicas_converge(ops in proptest::collection::vec(op(4), 1..80), seed in any::<u64>()) {
        run(4, ops, seed);
    }
}
