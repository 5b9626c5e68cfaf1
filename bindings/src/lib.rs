//! `fushi-ffi`: the uniffi surface of `fushi-core` for Android (Kotlin) and iOS (Swift).
//!
//! The crate stays thin: the records and enums the app sees are the core's
//! own (derived with the core's `uniffi` feature); this crate exports the
//! store's methods over them, maps the core's errors onto [`FushiError`]
//! once, keeps the app's [`ListingObserver`]s (the core says which rows
//! changed) and drives the async sync. Everything else (policy, validation,
//! queries, merge, sync) is the core's.
//!
//! - [`FushiStore`]: open a store (with or without a sync server), sign a
//!   user in, every write and query of residents, outdoor workers and grid
//!   staff, sync (blocking and async), sync status, rejections, quarantine.
//! - Records for the data (`Item`, `Station`, `NearbyStation`, … of
//!   `fushi_core`): ids are UUID strings, times Unix milliseconds (`i64`),
//!   positions WGS-84 unless named GCJ-02, codes the catalogue's strings
//!   ([`catalogue`]).
//! - Free functions: [`core_version`], [`wgs84_to_gcj02`], [`gcj02_to_wgs84`],
//!   [`catalogue`], [`catalogue_label`], [`month_period`].
//! - TLS: syncing is HTTPS; the server's certificate is checked against the
//!   platform's trust store, or a CA pinned in [`SyncSettings`]. On Android
//!   the platform's verifier needs the app's `Context` once, through the JNI
//!   entry point `FushiTls.init(context)` (not a uniffi export; see
//!   `android/README.md`).
//!
//! # Threading
//!
//! Every object is `Send + Sync`; share one [`FushiStore`] per file. Calls
//! other than [`FushiStore::sync`] block on SQLite (and `sync_blocking` on the
//! network): make them from background threads. [`FushiStore::sync`] is a
//! `suspend fun` in Kotlin and an `async` func in Swift, driven by tokio.
//! Observers are called on the thread that made the write or polled the sync.
//!
//! # Errors
//!
//! Every fallible call returns [`FushiError`] (a `FushiException` in Kotlin,
//! a thrown `FushiError` in Swift). Nothing here unwraps or panics on input.

mod account;
mod error;
mod observer;
mod store;
mod tls;
mod types;

pub use error::FushiError;
pub use observer::{ListingObserver, SyncProgressListener};
pub use store::FushiStore;
pub use types::*;

use fushi_core::geo::GeoPoint;
use fushi_core::store::Period;

uniffi::setup_scaffolding!();

/// The version of the Fushi core library, e.g. `"0.1.0"`.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Converts a WGS-84 point (GPS) to GCJ-02, what Chinese map SDKs draw.
/// Identity outside mainland China.
#[uniffi::export]
pub fn wgs84_to_gcj02(point: GeoPoint) -> GeoPoint {
    let (lat, lon) = fushi_core::geo::wgs84_to_gcj02(point.lat, point.lon);
    GeoPoint { lat, lon }
}

/// Converts a GCJ-02 point (a tap on a Chinese map) back to WGS-84, to within
/// about a centimetre.
#[uniffi::export]
pub fn gcj02_to_wgs84(point: GeoPoint) -> GeoPoint {
    let (lat, lon) = fushi_core::geo::gcj02_to_wgs84(point.lat, point.lon);
    GeoPoint { lat, lon }
}

/// The codes and labels (Chinese, English) of one catalogue, in display order.
#[uniffi::export]
pub fn catalogue(kind: CatalogueKind) -> Vec<Category> {
    kind.entries().iter().map(Category::from).collect()
}

/// The labels of `code` in one catalogue. A code this version does not know
/// (added in a newer version and received from the server: such values are
/// kept, never refused) gets the fallback "其他" / "Other", with the code kept.
#[uniffi::export]
pub fn catalogue_label(kind: CatalogueKind, code: String) -> Category {
    let (zh, en) = fushi_core::model::catalogue::label(kind.entries(), &code);
    Category {
        code,
        zh: zh.to_string(),
        en: en.to_string(),
    }
}

/// A calendar month in Beijing time, for [`FushiStore::figures`].
///
/// Errors with `InvalidInput` (`"month"`) for a month outside 1–12.
#[uniffi::export]
pub fn month_period(year: i32, month: u32) -> Result<Period, FushiError> {
    Ok(Period::month(year, month)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(core_version(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn gcj02_round_trip() {
        let fushi = GeoPoint {
            lat: 22.2707,
            lon: 113.5767,
        };
        let gcj = wgs84_to_gcj02(fushi);
        assert!((gcj.lat - fushi.lat).abs() > 1e-4);
        let back = gcj02_to_wgs84(gcj);
        assert!((back.lat - fushi.lat).abs() < 1e-6 && (back.lon - fushi.lon).abs() < 1e-6);
    }

    #[test]
    fn bad_month_names_the_field() {
        assert!(matches!(
            month_period(2026, 13),
            Err(FushiError::InvalidInput { field, .. }) if field == "month"
        ));
    }
}
