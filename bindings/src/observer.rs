//! The app's listeners: [`ListingObserver`] (changed listings, new
//! matches) and [`SyncProgressListener`] (how far a sync has come), and the
//! registry a store keeps of each.

use fushi_core::store::{ChangedRow, Match};
use fushi_core::sync::SyncProgress;
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

/// Hears how far a running sync has come: after every batch sent and every
/// page received (Kotlin: `FushiStore.syncProgress()`, a `Flow`). Called on
/// the sync's thread; return quickly, do not throw.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// Where the sync stands.
    fn on_progress(&self, progress: SyncProgress);
}

/// Listeners the app registered, by id: the observers of a store, its sync
/// progress listeners.
pub(crate) struct Registry<L: ?Sized> {
    inner: Mutex<RegistryList<L>>,
}

struct RegistryList<L: ?Sized> {
    next_id: u64,
    list: Vec<(u64, Arc<L>)>,
}

impl<L: ?Sized> Default for Registry<L> {
    fn default() -> Self {
        Registry {
            inner: Mutex::new(RegistryList {
                next_id: 0,
                list: Vec::new(),
            }),
        }
    }
}

impl<L: ?Sized> Registry<L> {
    /// The list; a poisoned lock (a panic elsewhere) still yields it: it is
    /// only ever left consistent.
    fn lock(&self) -> MutexGuard<'_, RegistryList<L>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self, listener: Arc<L>) -> u64 {
        let mut l = self.lock();
        l.next_id += 1;
        let id = l.next_id;
        l.list.push((id, listener));
        id
    }

    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut l = self.lock();
        let before = l.list.len();
        l.list.retain(|(i, _)| *i != id);
        l.list.len() != before
    }

    /// A copy of the list, so callbacks run outside the lock (a listener
    /// may add or remove listeners from its callback).
    fn snapshot(&self) -> Vec<Arc<L>> {
        self.lock()
            .list
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect()
    }
}

/// The observers of one store.
pub(crate) type Observers = Registry<dyn ListingObserver>;

impl Registry<dyn ListingObserver> {
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

/// The sync progress listeners of one store.
pub(crate) type ProgressListeners = Registry<dyn SyncProgressListener>;

impl Registry<dyn SyncProgressListener> {
    pub(crate) fn tell(&self, progress: SyncProgress) {
        for l in self.snapshot() {
            l.on_progress(progress);
        }
    }
}
