//! `fushi-ffi`: the uniffi surface of `fushi-core` for Android (Kotlin) and iOS (Swift).
//!
//! This crate stays thin: it converts between FFI-friendly types and the core's
//! API, and maps the core's errors onto [`FushiError`], the one error type a UI sees.
//! It never panics on input; every fallible call returns `Result<_, FushiError>`.
//!
//! The current exports are a small, real API that proves the pipeline and the
//! patterns the full API uses:
//! - plain functions ([`core_version`], [`validate_coordinates`]);
//! - a structured error enum surfaced as exceptions / Swift errors ([`FushiError`]);
//! - an object with a constructor and methods ([`ChangeFeed`]);
//! - a foreign trait that Rust calls back ([`ChangeObserver`]);
//! - an async method driven by tokio ([`ChangeFeed::publish_after`]), which is a
//!   `suspend fun` in Kotlin and an `async` func in Swift.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

uniffi::setup_scaffolding!();

/// The version of the Fushi core library, e.g. `"0.1.0"`.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The one error type of the Fushi API, with cases a UI can act on.
///
/// Messages never contain personal data: they name fields and reasons, not values.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error, thiserror::Error)]
pub enum FushiError {
    /// An argument is invalid; `field` names it, `reason` says why.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The name of the offending field or argument, e.g. `"lat"`.
        field: String,
        /// Why the value was refused.
        reason: String,
    },
    /// The caller's role does not allow this action.
    #[error("not allowed: {reason}")]
    NotAllowed {
        /// Why the action was refused.
        reason: String,
    },
    /// The requested record does not exist (or was erased).
    #[error("not found")]
    NotFound,
    /// The server could not be reached; local work is kept and synced later.
    #[error("offline")]
    Offline,
    /// The server refused a change.
    #[error("rejected by server ({code}): {reason}")]
    Rejected {
        /// A machine-readable code, e.g. `"not_owner"`.
        code: String,
        /// A human-readable reason.
        reason: String,
    },
    /// The server requires a newer app version.
    #[error("app upgrade required")]
    UpgradeRequired,
    /// The local store failed (disk full, corrupt file, ...).
    #[error("storage error: {reason}")]
    Storage {
        /// What went wrong, without personal data.
        reason: String,
    },
}

impl FushiError {
    fn invalid(field: &str, reason: &str) -> Self {
        FushiError::InvalidInput {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Checks a WGS-84 position: `lat` in [-90, 90], `lon` in [-180, 180], both finite.
///
/// Errors with [`FushiError::InvalidInput`] naming `"lat"` or `"lon"`.
#[uniffi::export]
pub fn validate_coordinates(lat: f64, lon: f64) -> Result<(), FushiError> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(FushiError::invalid(
            "lat",
            "must be a finite number in [-90, 90]",
        ));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(FushiError::invalid(
            "lon",
            "must be a finite number in [-180, 180]",
        ));
    }
    Ok(())
}

/// Receives the ids of listings that changed (a local write or a sync).
///
/// Implemented by the app (Kotlin / Swift) and called by Rust, possibly from a
/// background thread: implementations must be thread-safe and return quickly.
#[uniffi::export(with_foreign)]
pub trait ChangeObserver: Send + Sync {
    /// Called with the ids of the changed listings; never with an empty list.
    fn on_change(&self, ids: Vec<String>);
}

/// The longest delay [`ChangeFeed::publish_after`] accepts, in milliseconds.
pub const MAX_PUBLISH_DELAY_MS: u64 = 60_000;

/// A fan-out of change notifications to registered [`ChangeObserver`]s.
#[derive(uniffi::Object)]
pub struct ChangeFeed {
    state: Mutex<FeedState>,
}

#[derive(Default)]
struct FeedState {
    next_id: u64,
    observers: Vec<(u64, Arc<dyn ChangeObserver>)>,
}

impl ChangeFeed {
    /// Locks the state; a poisoned lock (a panic elsewhere) still yields the data,
    /// which is only ever left consistent.
    fn state(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls every observer with `ids`, outside the lock (an observer may subscribe
    /// or unsubscribe from its callback). Returns how many observers were called.
    fn deliver(&self, ids: Vec<String>) -> u32 {
        if ids.is_empty() {
            return 0;
        }
        let observers: Vec<Arc<dyn ChangeObserver>> = self
            .state()
            .observers
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect();
        for observer in &observers {
            observer.on_change(ids.clone());
        }
        u32::try_from(observers.len()).unwrap_or(u32::MAX)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl ChangeFeed {
    /// A feed with no observers.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(ChangeFeed {
            state: Mutex::new(FeedState::default()),
        })
    }

    /// Registers `observer`; returns a subscription id for [`Self::unsubscribe`].
    pub fn subscribe(&self, observer: Arc<dyn ChangeObserver>) -> u64 {
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        state.observers.push((id, observer));
        id
    }

    /// Removes a subscription; returns whether it existed.
    pub fn unsubscribe(&self, subscription: u64) -> bool {
        let mut state = self.state();
        let before = state.observers.len();
        state.observers.retain(|(id, _)| *id != subscription);
        state.observers.len() != before
    }

    /// The number of registered observers.
    pub fn observer_count(&self) -> u32 {
        u32::try_from(self.state().observers.len()).unwrap_or(u32::MAX)
    }

    /// Notifies every observer of `ids` now, on the calling thread.
    /// Returns how many observers were called (0 when `ids` is empty).
    pub fn publish(&self, ids: Vec<String>) -> u32 {
        self.deliver(ids)
    }

    /// Waits `delay_ms` milliseconds (a tokio timer; the caller is suspended, not
    /// blocked), then notifies every observer of `ids` on the thread polling the
    /// future. Returns how many observers were called.
    ///
    /// Errors with [`FushiError::InvalidInput`] (`"delay_ms"`) above
    /// [`MAX_PUBLISH_DELAY_MS`].
    pub async fn publish_after(&self, delay_ms: u64, ids: Vec<String>) -> Result<u32, FushiError> {
        if delay_ms > MAX_PUBLISH_DELAY_MS {
            return Err(FushiError::invalid("delay_ms", "must be at most 60000"));
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        Ok(self.deliver(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Recorder {
        calls: AtomicUsize,
        seen: Mutex<Vec<String>>,
    }

    impl ChangeObserver for Recorder {
        fn on_change(&self, ids: Vec<String>) {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(ids);
        }
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(core_version(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn coordinates_are_checked() {
        assert_eq!(validate_coordinates(31.23, 121.47), Ok(()));
        assert_eq!(validate_coordinates(-90.0, 180.0), Ok(()));
        for (lat, lon, field) in [
            (90.5, 0.0, "lat"),
            (f64::NAN, 0.0, "lat"),
            (0.0, -180.1, "lon"),
            (0.0, f64::INFINITY, "lon"),
        ] {
            match validate_coordinates(lat, lon) {
                Err(FushiError::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("({lat}, {lon}): expected InvalidInput, got {other:?}"),
            }
        }
    }

    #[test]
    fn feed_fans_out_and_unsubscribes() {
        let feed = ChangeFeed::new();
        let a = Arc::new(Recorder::default());
        let b = Arc::new(Recorder::default());
        let sub_a = feed.subscribe(a.clone());
        feed.subscribe(b.clone());
        assert_eq!(feed.observer_count(), 2);
        assert_eq!(feed.publish(vec!["x".into()]), 2);
        assert_eq!(feed.publish(vec![]), 0);
        assert!(feed.unsubscribe(sub_a));
        assert!(!feed.unsubscribe(sub_a));
        assert_eq!(feed.publish(vec!["y".into()]), 1);
        assert_eq!(a.calls.load(Ordering::SeqCst), 1);
        assert_eq!(b.calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            *b.seen.lock().unwrap_or_else(PoisonError::into_inner),
            vec!["x".to_string(), "y".to_string()]
        );
    }

    #[test]
    fn errors_display_without_values() {
        let e = FushiError::invalid("lat", "out of range");
        assert_eq!(e.to_string(), "invalid lat: out of range");
    }
}
