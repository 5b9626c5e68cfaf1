//! Every lifecycle action is one transaction with its checks inside it:
//! the owner's phone runs them from several threads at once while requests
//! and cancellations arrive from neighbours' phones in between, and the item
//! is never reserved for two people, no request is accepted twice, and the
//! stored status always says what the records say.

mod common;
use common::*;
use fushi_core::model::NewItem;
use fushi_core::policy::Role;
use fushi_core::store::ItemState;
use fushi_core::Table;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

#[test]
fn concurrent_lifecycle_actions_keep_the_item_consistent() {
    // Races are chance: several items, each raced afresh.
    for _ in 0..5 {
        race_once();
    }
}

fn race_once() {
    let owner = phone(&actor(Role::Resident));
    let item = owner
        .store
        .post_item(NewItem {
            title: "儿童自行车".into(),
            category: "kids".into(),
            mode: "give".into(),
            pickup_area: "福石花园".into(),
            ..Default::default()
        })
        .unwrap();
    let neighbours: Vec<Phone> = (0..8).map(|_| phone(&actor(Role::Resident))).collect();
    for n in &neighbours {
        deliver(&owner, &[n]);
    }
    // Half of them ask before the races start, the rest during them.
    for n in &neighbours[..4] {
        n.store.request_item(item, None).unwrap();
        deliver(n, &[&owner]);
    }
    let store = Arc::new(owner.store);
    let late: Vec<Vec<fushi_core::crdt::RowChange>> = neighbours[4..]
        .iter()
        .map(|n| {
            n.store.request_item(item, None).unwrap();
            outbox(n)
        })
        .collect();

    let mut threads = Vec::new();
    for t in 0..4 {
        let store = store.clone();
        threads.push(std::thread::spawn(move || {
            for round in 0..25 {
                let lc = store.item_lifecycle(item).unwrap();
                let _ = match (t + round) % 4 {
                    0 => store.accept_next_request(item).map(|_| ()),
                    1 => match lc.accepted {
                        Some(a) => store.mark_no_show(a.request_id).map(|_| ()),
                        None => store.accept_next_request(item).map(|_| ()),
                    },
                    2 => match lc.queue.get(round % lc.queue.len().max(1)) {
                        Some(q) => store.decline_request(q.request_id),
                        None => Ok(()),
                    },
                    _ => store.renew_item(item),
                };
            }
        }));
    }
    // Sync pages land in between.
    let pages = {
        let store = store.clone();
        std::thread::spawn(move || {
            for page in late {
                store.apply_remote(&page).unwrap();
            }
        })
    };
    for t in threads {
        t.join().unwrap();
    }
    pages.join().unwrap();

    // What the records say.
    let rows = store.snapshot().unwrap();
    let mut accepted: HashMap<Uuid, usize> = HashMap::new();
    let mut closed: Vec<Uuid> = Vec::new();
    for r in rows.iter().filter(|r| r.table == Table::RequestOutcome) {
        let req = r.uuid("request_id").unwrap();
        match r.text("outcome").as_deref() {
            Some("accepted") => *accepted.entry(req).or_default() += 1,
            Some(_) => closed.push(req),
            None => unreachable!(),
        }
    }
    for (req, n) in &accepted {
        assert_eq!(*n, 1, "request {req} accepted {n} times");
    }
    let open: Vec<&Uuid> = accepted.keys().filter(|r| !closed.contains(r)).collect();
    assert!(
        open.len() <= 1,
        "reserved for {} people at once",
        open.len()
    );

    // The stored status and the derived state agree.
    let lc = store.item_lifecycle(item).unwrap();
    let it = store.item(item).unwrap();
    match open.first() {
        Some(req) => {
            assert_eq!(lc.state, ItemState::Reserved);
            assert_eq!(lc.accepted.as_ref().map(|a| a.request_id), Some(**req));
            assert_eq!(it.status, "reserved");
            assert_eq!(it.reserved_for, Some(**req));
        }
        None => {
            assert_eq!(lc.state, ItemState::Available);
            assert_eq!(it.status, "available");
            assert_eq!(it.reserved_for, None);
        }
    }
}
