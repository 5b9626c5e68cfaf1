//! [`ListingObserver`], the app's listener for changed listings and new
//! matches, and the registry a store keeps of them.

use fushi_core::store::{ChangedRow, Match};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Hears which rows changed, after a local write or a sync, and which offers
/// newly match the signed-in user's needs after a sync.
///
/// Implemented by the app (Kotlin / Swift). `on_changed` is called once per
/// committed write with exactly the rows it changed (a record also names the
/// rows it refers to: a request its item, a report its station), on the
/// thread that committed it: the caller's for a local action, a background
/// thread for each page a sync applies. Implementations must be
/// thread-safe, return quickly, and not throw.
#[uniffi::export(with_foreign)]
pub trait ListingObserver: Send + Sync {
    /// Rows that changed; never called with an empty list.
    fn on_changed(&self, changes: Vec<ChangedRow>);
    /// Offers that arrived with a sync and match one of the signed-in user's
    /// open needs, best first; never called with an empty list.
    fn on_new_matches(&self, matches: Vec<Match>);
}

/// The observers of one store.
#[derive(Default)]
pub(crate) struct Observers {
    inner: Mutex<ObserverList>,
}

#[derive(Default)]
struct ObserverList {
    next_id: u64,
    list: Vec<(u64, Arc<dyn ListingObserver>)>,
}

impl Observers {
    /// The list; a poisoned lock (a panic elsewhere) still yields it: it is
    /// only ever left consistent.
    fn lock(&self) -> MutexGuard<'_, ObserverList> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, observer: Arc<dyn ListingObserver>) -> u64 {
        let mut l = self.lock();
        l.next_id += 1;
        let id = l.next_id;
        l.list.push((id, observer));
        id
    }

    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut l = self.lock();
        let before = l.list.len();
        l.list.retain(|(i, _)| *i != id);
        l.list.len() != before
    }

    /// A copy of the list, so callbacks run outside the lock (an observer
    /// may add or remove observers from its callback).
    fn snapshot(&self) -> Vec<Arc<dyn ListingObserver>> {
        self.lock()
            .list
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect()
    }

    pub(crate) fn changed(&self, changes: Vec<ChangedRow>) {
        if changes.is_empty() {
            return;
        }
        for o in self.snapshot() {
            o.on_changed(changes.clone());
        }
    }

    pub(crate) fn new_matches(&self, matches: Vec<Match>) {
        if matches.is_empty() {
            return;
        }
        for o in self.snapshot() {
            o.on_new_matches(matches.clone());
        }
    }
}
