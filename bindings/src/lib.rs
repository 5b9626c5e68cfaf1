//! `fushi-ffi`: the uniffi surface of `fushi-core` for Android (Kotlin) and iOS (Swift).
//!
//! The crate stays thin: the records and enums the app sees are the core's
//! own (derived with the core's `uniffi` feature); this crate exports the
//! store's methods over them, maps the core's errors onto [`FushiError`]
//! once, keeps the app's [`ListingObserver`]s (the core says which rows
//! changed) and drives the async sync. Everything else (policy, validation,
//! queries, merge, sync) is the core's.
//!
//! - Photos (`photos`): post with photos as bytes or file paths, show,
//!   download (thumbnails first), the cache budget, transfer progress.
//! - [`FushiStore`]: open a store (with or without a sync server), sign a
//!   user in, every write and query of residents, outdoor workers and grid
//!   staff, sync (blocking and async), sync status, rejections, quarantine.
//! - Records for the data (`Item`, `Station`, `NearbyStation`, … of
//!   `fushi_core`): ids are UUID strings, times Unix milliseconds (`i64`),
//!   positions WGS-84 unless named GCJ-02, codes the catalogue's strings
//!   ([`catalogue`]).
//! - Free functions: [`core_version`], [`wgs84_to_gcj02`], [`gcj02_to_wgs84`],
//!   [`wgs84_to_bd09`], [`bd09_to_wgs84`], [`gcj02_to_bd09`], [`bd09_to_gcj02`],
//!   [`navigation_link`], [`catalogue`], [`catalogue_label`], [`month_period`].
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
mod photos;
mod store;
mod tls;
mod types;

pub use error::FushiError;
pub use observer::{ListingObserver, SyncProgressListener};
pub use store::FushiStore;
pub use types::*;

use fushi_core::geo::GeoPoint;
use fushi_core::maps::MapApp;
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

fn point((lat, lon): (f64, f64)) -> GeoPoint {
    GeoPoint { lat, lon }
}

/// Converts a WGS-84 point (GPS) to BD-09, what Baidu's maps draw.
#[uniffi::export]
pub fn wgs84_to_bd09(point: GeoPoint) -> GeoPoint {
    self::point(fushi_core::geo::wgs84_to_bd09(point.lat, point.lon))
}

/// Converts a BD-09 point (a tap on a Baidu map) back to WGS-84, to within
/// about a centimetre.
#[uniffi::export]
pub fn bd09_to_wgs84(point: GeoPoint) -> GeoPoint {
    self::point(fushi_core::geo::bd09_to_wgs84(point.lat, point.lon))
}

/// Converts a GCJ-02 point to BD-09 (the published formula).
#[uniffi::export]
pub fn gcj02_to_bd09(point: GeoPoint) -> GeoPoint {
    self::point(fushi_core::geo::gcj02_to_bd09(point.lat, point.lon))
}

/// Converts a BD-09 point back to GCJ-02 (the published inverse, refined).
#[uniffi::export]
pub fn bd09_to_gcj02(point: GeoPoint) -> GeoPoint {
    self::point(fushi_core::geo::bd09_to_gcj02(point.lat, point.lon))
}

/// A link that opens `app` with a walking route to `destination`, the
/// station's stored WGS-84 position, converted to the app's coordinates
/// (GCJ-02 for AMap and Tencent, BD-09 for Baidu, GCJ-02 in mainland China
/// else WGS-84 for Apple Maps); `name` is percent-encoded. `source` is the
/// calling app's id (AMap/Baidu `src`) or, for Tencent, the developer key.
/// Open it with an `ACTION_VIEW` intent / `UIApplication.open`.
///
/// Errors with `InvalidInput` (`"destination"`) for an impossible position
/// and (`"source"`) for an empty source where the app requires one.
#[uniffi::export]
pub fn navigation_link(
    app: MapApp,
    destination: GeoPoint,
    name: String,
    source: String,
) -> Result<String, FushiError> {
    fushi_core::maps::navigation_link(app, destination, &name, &source)
        .map_err(|e| FushiError::invalid(e.field(), &e.to_string()))
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
    fn bd09_and_navigation_links() {
        let fushi = GeoPoint {
            lat: 22.2707,
            lon: 113.5767,
        };
        let back = bd09_to_wgs84(wgs84_to_bd09(fushi));
        assert!((back.lat - fushi.lat).abs() < 1e-6 && (back.lon - fushi.lon).abs() < 1e-6);
        let g = wgs84_to_gcj02(fushi);
        let b = bd09_to_gcj02(gcj02_to_bd09(g));
        assert!((b.lat - g.lat).abs() < 1e-9 && (b.lon - g.lon).abs() < 1e-9);
        let link = navigation_link(MapApp::Baidu, fushi, "纳凉点".into(), "s".into()).unwrap();
        assert!(link.starts_with("baidumap://map/direction?"));
        let bad = GeoPoint {
            lat: f64::NAN,
            lon: 0.0,
        };
        assert!(matches!(
            navigation_link(MapApp::Apple, bad, String::new(), String::new()),
            Err(FushiError::InvalidInput { field, .. }) if field == "destination"
        ));
        assert!(matches!(
            navigation_link(MapApp::Tencent, fushi, String::new(), String::new()),
            Err(FushiError::InvalidInput { field, .. }) if field == "source"
        ));
    }

    #[test]
    fn bad_month_names_the_field() {
        assert!(matches!(
            month_period(2026, 13),
            Err(FushiError::InvalidInput { field, .. }) if field == "month"
        ));
    }
}
