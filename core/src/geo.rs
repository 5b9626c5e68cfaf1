//! Geometry helpers for "nearest open cool station" and similar searches.
//!
//! * [`distance_m`]: great-circle (haversine) distance on a sphere with the
//!   WGS-84 mean radius [`EARTH_RADIUS_M`].
//! * [`bounding_box`]: a latitude/longitude box guaranteed to contain a circle,
//!   for an SQLite R*Tree prefilter before the exact distance check.
//! * [`wgs84_to_gcj02`] / [`gcj02_to_wgs84`]: the public GCJ-02 ("Mars
//!   coordinates") offset used by Chinese map providers (AMap/Gaode, Tencent,
//!   and Apple Maps inside mainland China).
//!   The app stores WGS-84 (what GPS gives); convert only at the map boundary.
//! * [`gcj02_to_bd09`] / [`bd09_to_gcj02`], [`wgs84_to_bd09`] /
//!   [`bd09_to_wgs84`]: BD-09, Baidu's further offset of GCJ-02.
//! * [`validate_wgs84`]: reject impossible coordinates before they are stored.
//!
//! All functions are pure and cheap; none of them panics. Coordinates are in
//! decimal degrees, latitude first.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Mean Earth radius of the WGS-84 ellipsoid, in metres (IUGG R1).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point, WGS-84 unless a name says GCJ-02.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GeoPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// Great-circle distance in metres between two WGS-84 points (haversine).
///
/// Accurate to about 0.5 % against the ellipsoid, which is plenty for
/// "which station is nearest". NaN inputs give NaN.
///
/// ```
/// use fushi_core::geo::distance_m;
/// let d = distance_m(22.27, 113.57, 22.28, 113.57);
/// assert!((d - 1111.9).abs() < 1.0);
/// ```
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = (lat2 - lat1).to_radians();
    let dlambda = (lon2 - lon1).to_radians();
    let s_phi = (dphi * 0.5).sin();
    let s_lambda = (dlambda * 0.5).sin();
    let a = s_phi * s_phi + phi1.cos() * phi2.cos() * s_lambda * s_lambda;
    // Clamp: rounding can push `a` a hair above 1 for antipodal points;
    // atan2 keeps full precision there, where asin would not.
    let a = a.clamp(0.0, 1.0);
    2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
}

/// A box `(min_lat, min_lon, max_lat, max_lon)` that contains every point
/// within `radius_m` metres (by [`distance_m`]) of `(lat, lon)`.
///
/// Meant for an R*Tree prefilter: select candidates in the box, then keep
/// those whose [`distance_m`] is within the radius. The box is slightly
/// generous (a relative margin of 1e-9 plus 1e-9 degrees) so that rounding
/// can never exclude a point on the circle.
///
/// Special cases, all still containing the circle:
/// * a circle that reaches a pole spans all longitudes, `-180..=180`;
/// * a circle that crosses the ±180° meridian also spans all longitudes
///   (an R*Tree cannot express a wrapped box; none of our data is there);
/// * a negative or NaN radius is treated as 0, an infinite one covers the
///   globe.
///
/// Latitudes are clamped to `-90..=90`. Validate the centre with
/// [`validate_wgs84`] first: a NaN centre gives NaN bounds.
pub fn bounding_box(lat: f64, lon: f64, radius_m: f64) -> (f64, f64, f64, f64) {
    // `f64::max` ignores NaN, so NaN and negative radii become 0.
    let r = radius_m.max(0.0);
    let ang = r / EARTH_RADIUS_M * (1.0 + 1e-9);
    if ang >= PI {
        return (-90.0, -180.0, 90.0, 180.0);
    }
    let dlat = ang.to_degrees() + 1e-9;
    let min_lat = lat - dlat;
    let max_lat = lat + dlat;
    if min_lat <= -90.0 || max_lat >= 90.0 {
        return (min_lat.max(-90.0), -180.0, max_lat.min(90.0), 180.0);
    }
    // Widest longitude of a spherical cap of angular radius `ang` (< 90°
    // here, since the cap does not contain a pole).
    let ratio = ang.sin() / lat.to_radians().cos();
    if ratio.is_nan() || ratio >= 1.0 {
        return (min_lat, -180.0, max_lat, 180.0);
    }
    let dlon = ratio.asin().to_degrees() * (1.0 + 1e-9) + 1e-9;
    let min_lon = lon - dlon;
    let max_lon = lon + dlon;
    if min_lon < -180.0 || max_lon > 180.0 {
        return (min_lat, -180.0, max_lat, 180.0);
    }
    (min_lat, min_lon, max_lat, max_lon)
}

/// Checks that `(lat, lon)` is a usable WGS-84 coordinate.
///
/// Rejects NaN and infinities, latitudes outside `-90..=90` and longitudes
/// outside `-180..=180`, returning the reason.
pub fn validate_wgs84(lat: f64, lon: f64) -> Result<(), &'static str> {
    if !lat.is_finite() {
        return Err("latitude is not a finite number");
    }
    if !lon.is_finite() {
        return Err("longitude is not a finite number");
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err("latitude out of range");
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err("longitude out of range");
    }
    Ok(())
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02.
const GCJ_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const GCJ_EE: f64 = 0.006_693_421_622_965_943;

/// True outside the rough rectangle where GCJ-02 applies (mainland China,
/// as the public formula defines it). Outside it GCJ-02 equals WGS-84.
#[inline]
fn outside_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset `(dlat, dlon)` in degrees at a WGS-84 point inside China.
fn gcj_delta(lat: f64, lon: f64) -> (f64, f64) {
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat.to_radians();
    let s = rad_lat.sin();
    let magic = 1.0 - GCJ_EE * s * s;
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (GCJ_A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

/// The grid a resident's listing position is kept and sent on: 0.001° (in
/// Zhuhai about 111 m north–south and 103 m east–west), so a position
/// names a block of a compound, never a flat.
pub const COARSE_STEP_DEG: f64 = 0.001;

/// A named compound (小区) of the community and its centre: a public place
/// a listing's position may be snapped to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Compound {
    /// Its name, e.g. "福石花园".
    pub name: String,
    /// Its centre, WGS-84.
    pub centre: GeoPoint,
    /// How far from the centre its grounds reach, in metres (a point
    /// within this is snapped to the centre).
    pub radius_m: f64,
}

/// Most a snap may move a point: a compound's radius counts up to this.
pub const MAX_COMPOUND_RADIUS_M: f64 = 500.0;

/// Where a resident's listing at `lat, lon` is kept and shown: the centre of
/// the compound whose grounds hold it, if any of `compounds` does (the
/// nearest such), else the point on the [`COARSE_STEP_DEG`] grid nearest to
/// it. Non-finite input is returned unchanged (validation refuses it).
pub fn coarsen(lat: f64, lon: f64, compounds: &[Compound]) -> (f64, f64) {
    if !lat.is_finite() || !lon.is_finite() {
        return (lat, lon);
    }
    let snapped = compounds
        .iter()
        .filter(|c| c.centre.lat.is_finite() && c.centre.lon.is_finite())
        .map(|c| (distance_m(lat, lon, c.centre.lat, c.centre.lon), c))
        .filter(|(d, c)| *d <= c.radius_m.clamp(0.0, MAX_COMPOUND_RADIUS_M))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    match snapped {
        Some((_, c)) => (c.centre.lat, c.centre.lon),
        None => (on_grid(lat), on_grid(lon)),
    }
}

/// The multiple of [`COARSE_STEP_DEG`] nearest to `deg`.
pub fn on_grid(deg: f64) -> f64 {
    (deg / COARSE_STEP_DEG).round() * COARSE_STEP_DEG
}

/// Converts a WGS-84 point to GCJ-02 with the standard public formula.
///
/// Identity outside mainland China's rough bounding rectangle (so Hong Kong
/// and Macau, inside the rectangle, do get shifted, as the formula does).
/// Non-finite input is returned unchanged.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if !lat.is_finite() || !lon.is_finite() || outside_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = gcj_delta(lat, lon);
    (lat + dlat, lon + dlon)
}

/// Converts a GCJ-02 point back to WGS-84.
///
/// The formula has no closed-form inverse, so this iterates
/// `wgs ← wgs − (to_gcj(wgs) − gcj)` until the step is below 1e-7 degrees
/// (about 1 cm), at most 30 times; it converges in a handful of steps.
/// Identity outside the GCJ-02 rectangle; non-finite input is returned
/// unchanged.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !lat.is_finite() || !lon.is_finite() || outside_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = gcj_delta(lat, lon);
    let (mut wlat, mut wlon) = (lat - dlat, lon - dlon);
    for _ in 0..30 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (elat, elon) = (glat - lat, glon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < 1e-7 && elon.abs() < 1e-7 {
            break;
        }
    }
    (wlat, wlon)
}

/// `x_pi` of the published BD-09 formula: π × 3000 / 180.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Converts a GCJ-02 point to BD-09 (Baidu) with the published formula:
///
/// ```text
/// z = sqrt(x² + y²) + 0.00002 sin(y x_pi),  θ = atan2(y, x) + 0.000003 cos(x x_pi)
/// bd_lon = z cos θ + 0.0065,                bd_lat = z sin θ + 0.006
/// ```
///
/// with `x` the GCJ-02 longitude, `y` the latitude and `x_pi` = π × 3000 / 180.
/// Applied everywhere (Baidu's offset has no "outside China" case).
/// Non-finite input is returned unchanged.
pub fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    if !lat.is_finite() || !lon.is_finite() {
        return (lat, lon);
    }
    let (x, y) = (lon, lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// The published inverse of [`gcj02_to_bd09`]: subtract the constant shift,
/// then undo the rotation and scaling with the same terms of opposite sign.
/// Off by up to about 2e-6 degrees (0.2 m).
fn bd09_to_gcj02_published(lat: f64, lon: f64) -> (f64, f64) {
    let (x, y) = (lon - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    (z * theta.sin(), z * theta.cos())
}

/// Converts a BD-09 point (e.g. a tap on a Baidu map) back to GCJ-02.
///
/// Starts from the published inverse formula (up to about 0.2 m off) and
/// refines it as [`gcj02_to_wgs84`] does, until [`gcj02_to_bd09`] of the
/// result is within 1e-10 degrees of the input (at most 10 steps; two or
/// three are enough). Non-finite input is returned unchanged.
pub fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if !lat.is_finite() || !lon.is_finite() {
        return (lat, lon);
    }
    let (mut glat, mut glon) = bd09_to_gcj02_published(lat, lon);
    for _ in 0..10 {
        let (blat, blon) = gcj02_to_bd09(glat, glon);
        let (elat, elon) = (blat - lat, blon - lon);
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
        glat -= elat;
        glon -= elon;
    }
    (glat, glon)
}

/// Converts a WGS-84 point to BD-09: [`wgs84_to_gcj02`], then
/// [`gcj02_to_bd09`] (so outside China only Baidu's own offset applies).
pub fn wgs84_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let (glat, glon) = wgs84_to_gcj02(lat, lon);
    gcj02_to_bd09(glat, glon)
}

/// Converts a BD-09 point back to WGS-84: [`bd09_to_gcj02`], then
/// [`gcj02_to_wgs84`]; within about a centimetre.
pub fn bd09_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    let (glat, glon) = bd09_to_gcj02(lat, lon);
    gcj02_to_wgs84(glat, glon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point `dist` metres from `(lat, lon)` along initial `bearing_deg`.
    fn destination(lat: f64, lon: f64, bearing_deg: f64, dist: f64) -> (f64, f64) {
        let d = dist / EARTH_RADIUS_M;
        let (phi1, l1, th) = (lat.to_radians(), lon.to_radians(), bearing_deg.to_radians());
        let phi2 = (phi1.sin() * d.cos() + phi1.cos() * d.sin() * th.cos()).asin();
        let l2 = l1 + (th.sin() * d.sin() * phi1.cos()).atan2(d.cos() - phi1.sin() * phi2.sin());
        let mut lon2 = l2.to_degrees();
        while lon2 > 180.0 {
            lon2 -= 360.0;
        }
        while lon2 < -180.0 {
            lon2 += 360.0;
        }
        (phi2.to_degrees(), lon2)
    }

    #[test]
    fn distance_known_values() {
        assert_eq!(distance_m(22.27, 113.57, 22.27, 113.57), 0.0);
        // One degree of latitude on the mean sphere.
        let one_deg = EARTH_RADIUS_M * PI / 180.0;
        assert!((distance_m(0.0, 0.0, 1.0, 0.0) - one_deg).abs() < 1e-6);
        // A degree of longitude at 60° is half as long.
        let d = distance_m(60.0, 10.0, 60.0, 11.0);
        assert!((d - one_deg / 2.0).abs() < 10.0, "{d}");
        // Antipodes: half the circumference, no NaN.
        let d = distance_m(10.0, 20.0, -10.0, -160.0);
        assert!((d - PI * EARTH_RADIUS_M).abs() < 1.0, "{d}");
        // Symmetric.
        let (a, b) = (
            distance_m(22.25, 113.52, 22.35, 113.58),
            distance_m(22.35, 113.58, 22.25, 113.52),
        );
        assert!((a - b).abs() < 1e-9);
        // Zhuhai to Guangzhou, roughly 120 km.
        let d = distance_m(22.2710, 113.5767, 23.1291, 113.2644);
        assert!((95_000.0..125_000.0).contains(&d), "{d}");
    }

    #[test]
    fn destination_helper_agrees_with_distance() {
        let (lat, lon) = destination(22.3, 113.5, 37.0, 1234.5);
        assert!((distance_m(22.3, 113.5, lat, lon) - 1234.5).abs() < 1e-6);
    }

    fn assert_circle_in_box(lat: f64, lon: f64, r: f64) {
        let (min_lat, min_lon, max_lat, max_lon) = bounding_box(lat, lon, r);
        assert!(min_lat <= lat && lat <= max_lat && min_lon <= lon && lon <= max_lon);
        assert!((-90.0..=90.0).contains(&min_lat) && (-90.0..=90.0).contains(&max_lat));
        assert!((-180.0..=180.0).contains(&min_lon) && (-180.0..=180.0).contains(&max_lon));
        for i in 0..720 {
            let b = f64::from(i) * 0.5;
            let (plat, plon) = destination(lat, lon, b, r);
            assert!(
                min_lat <= plat && plat <= max_lat && min_lon <= plon && plon <= max_lon,
                "centre ({lat},{lon}) r={r} bearing {b}: ({plat},{plon}) outside \
                 ({min_lat},{min_lon},{max_lat},{max_lon})"
            );
        }
    }

    #[test]
    fn bounding_box_contains_circle() {
        for &(lat, lon) in &[
            (22.27, 113.57),
            (0.0, 0.0),
            (-33.9, 151.2),
            (60.0, 10.0),
            (89.9, 0.0),
            (-89.99, 45.0),
            (10.0, 179.999),
            (10.0, -179.999),
            (85.0, 100.0),
        ] {
            for &r in &[
                0.0,
                1.0,
                500.0,
                3_000.0,
                50_000.0,
                1_000_000.0,
                10_000_000.0,
            ] {
                assert_circle_in_box(lat, lon, r);
            }
        }
    }

    #[test]
    fn bounding_box_is_tight_in_zhuhai() {
        let (min_lat, min_lon, max_lat, max_lon) = bounding_box(22.27, 113.57, 1000.0);
        let dlat = 1000.0 / EARTH_RADIUS_M * 180.0 / PI;
        assert!((max_lat - 22.27 - dlat).abs() < 1e-6);
        assert!((22.27 - min_lat - dlat).abs() < 1e-6);
        let dlon = max_lon - 113.57;
        assert!(dlon > dlat && dlon < dlat * 1.1, "{dlon}");
        assert!((113.57 - min_lon - dlon).abs() < 1e-9);
    }

    #[test]
    fn bounding_box_degenerate_radii() {
        let b = bounding_box(22.27, 113.57, f64::NAN);
        assert!((b.2 - b.0) < 1e-8 && (b.3 - b.1) < 1e-8);
        let b = bounding_box(22.27, 113.57, -5.0);
        assert!((b.2 - b.0) < 1e-8);
        assert_eq!(
            bounding_box(22.27, 113.57, f64::INFINITY),
            (-90.0, -180.0, 90.0, 180.0)
        );
        assert_eq!(
            bounding_box(22.27, 113.57, 1e9),
            (-90.0, -180.0, 90.0, 180.0)
        );
        // Pole inside: all longitudes.
        let b = bounding_box(89.99, 10.0, 5_000.0);
        assert_eq!((b.1, b.2, b.3), (-180.0, 90.0, 180.0));
    }

    #[test]
    fn validate() {
        assert_eq!(validate_wgs84(22.27, 113.57), Ok(()));
        assert_eq!(validate_wgs84(90.0, 180.0), Ok(()));
        assert_eq!(validate_wgs84(-90.0, -180.0), Ok(()));
        assert_eq!(validate_wgs84(90.0001, 0.0), Err("latitude out of range"));
        assert_eq!(validate_wgs84(-91.0, 0.0), Err("latitude out of range"));
        assert_eq!(validate_wgs84(0.0, 180.5), Err("longitude out of range"));
        assert_eq!(validate_wgs84(0.0, -200.0), Err("longitude out of range"));
        assert_eq!(
            validate_wgs84(f64::NAN, 0.0),
            Err("latitude is not a finite number")
        );
        assert_eq!(
            validate_wgs84(f64::INFINITY, 0.0),
            Err("latitude is not a finite number")
        );
        assert_eq!(
            validate_wgs84(0.0, f64::NEG_INFINITY),
            Err("longitude is not a finite number")
        );
        assert_eq!(
            validate_wgs84(0.0, f64::NAN),
            Err("longitude is not a finite number")
        );
    }

    #[test]
    fn gcj_offset_in_zhuhai_is_a_few_hundred_metres() {
        let mut lat = 22.2;
        while lat <= 22.4 + 1e-9 {
            let mut lon = 113.4;
            while lon <= 113.6 + 1e-9 {
                let (glat, glon) = wgs84_to_gcj02(lat, lon);
                let off = distance_m(lat, lon, glat, glon);
                assert!((200.0..800.0).contains(&off), "({lat},{lon}) offset {off}");
                // GCJ-02 shifts south China east and slightly south.
                assert!(glon > lon, "({lat},{lon})");
                lon += 0.02;
            }
            lat += 0.02;
        }
    }

    #[test]
    fn gcj_known_reference_point() {
        // Reference output of the standard formula (as used by common open
        // source converters) at Tiananmen: WGS (39.908692, 116.397477)
        // maps to roughly (39.910094, 116.403719).
        let (glat, glon) = wgs84_to_gcj02(39.908692, 116.397477);
        assert!((glat - 39.910094).abs() < 2e-5, "{glat}");
        assert!((glon - 116.403719).abs() < 2e-5, "{glon}");
    }

    fn assert_round_trip(lat: f64, lon: f64) {
        let (glat, glon) = wgs84_to_gcj02(lat, lon);
        let (wlat, wlon) = gcj02_to_wgs84(glat, glon);
        let err = distance_m(lat, lon, wlat, wlon);
        assert!(err < 1.0, "({lat},{lon}) round trip error {err} m");
    }

    #[test]
    fn gcj_round_trip_zhuhai_grid() {
        for i in 0..=40 {
            for j in 0..=40 {
                let lat = 22.2 + f64::from(i) * 0.005;
                let lon = 113.4 + f64::from(j) * 0.005;
                assert_round_trip(lat, lon);
            }
        }
    }

    #[test]
    fn gcj_round_trip_across_china() {
        let mut lat = 18.0;
        while lat <= 53.5 {
            let mut lon = 73.5;
            while lon <= 135.0 {
                assert_round_trip(lat, lon);
                lon += 0.7;
            }
            lat += 0.5;
        }
    }

    #[test]
    fn gcj_identity_outside_china() {
        for &(lat, lon) in &[(51.5, -0.12), (-33.9, 151.2), (40.7, -74.0), (60.0, 100.0)] {
            assert_eq!(wgs84_to_gcj02(lat, lon), (lat, lon));
            assert_eq!(gcj02_to_wgs84(lat, lon), (lat, lon));
        }
        let (a, b) = wgs84_to_gcj02(f64::NAN, 113.0);
        assert!(a.is_nan() && b == 113.0);
        let (a, _) = gcj02_to_wgs84(f64::INFINITY, 113.0);
        assert!(a.is_infinite());
    }

    #[test]
    fn bd09_published_formula_by_hand() {
        // The formula written out step by step for Tiananmen's GCJ-02 point.
        let (lat, lon): (f64, f64) = (39.910_094, 116.403_719);
        let x_pi = std::f64::consts::PI * 3000.0 / 180.0;
        let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * x_pi).sin();
        let theta = lat.atan2(lon) + 0.000003 * (lon * x_pi).cos();
        let expect = (z * theta.sin() + 0.006, z * theta.cos() + 0.0065);
        assert_eq!(gcj02_to_bd09(lat, lon), expect);
        // Baidu's own coordinate of Tiananmen is about (39.915, 116.404):
        // BD-09 sits roughly 0.006 north and east of GCJ-02.
        let (blat, blon) = expect;
        assert!((blat - lat - 0.006).abs() < 0.002, "{blat}");
        assert!((blon - lon - 0.0065).abs() < 0.002, "{blon}");
    }

    #[test]
    fn bd09_round_trips() {
        let mut worst: f64 = 0.0;
        let mut worst_published: f64 = 0.0;
        let mut lat = 18.0;
        while lat <= 53.5 {
            let mut lon = 73.5;
            while lon <= 135.0 {
                let (blat, blon) = gcj02_to_bd09(lat, lon);
                let (glat, glon) = bd09_to_gcj02(blat, blon);
                worst = worst.max((glat - lat).abs()).max((glon - lon).abs());
                let (plat, plon) = bd09_to_gcj02_published(blat, blon);
                worst_published = worst_published
                    .max((plat - lat).abs())
                    .max((plon - lon).abs());
                // WGS-84 through BD-09 and back: within 1 m.
                let (wlat, wlon) =
                    bd09_to_wgs84(wgs84_to_bd09(lat, lon).0, wgs84_to_bd09(lat, lon).1);
                assert!(distance_m(lat, lon, wlat, wlon) < 1.0, "({lat},{lon})");
                lon += 0.7;
            }
            lat += 0.5;
        }
        assert!(worst < 1e-9, "refined inverse off by {worst}");
        // The published inverse alone is off by up to about 2e-6 degrees.
        assert!(worst_published < 2.5e-6, "{worst_published}");
        assert!(worst_published > 1e-7, "{worst_published}");
    }

    #[test]
    fn bd09_shift_in_zhuhai_is_about_a_kilometre_from_wgs84() {
        let (lat, lon) = (22.2707, 113.5767);
        let (blat, blon) = wgs84_to_bd09(lat, lon);
        let off = distance_m(lat, lon, blat, blon);
        assert!((600.0..1500.0).contains(&off), "{off}");
        // Outside China only Baidu's own offset applies (about 1 km).
        let (blat, blon) = wgs84_to_bd09(51.5, -0.12);
        assert_eq!(gcj02_to_bd09(51.5, -0.12), (blat, blon));
    }

    #[test]
    fn bd09_non_finite_unchanged() {
        let (a, b) = gcj02_to_bd09(f64::NAN, 113.0);
        assert!(a.is_nan() && b == 113.0);
        let (a, b) = bd09_to_gcj02(22.0, f64::INFINITY);
        assert!(a == 22.0 && b.is_infinite());
        let (a, _) = bd09_to_wgs84(f64::NAN, 1.0);
        assert!(a.is_nan());
    }
}
