//! "Navigate to this station": links that open a map app with a walking
//! route to a station, each in the coordinate system that app expects.
//!
//! The input is always the station's stored WGS-84 position; [`navigation_link`]
//! converts it ([`crate::geo`]) for the app:
//!
//! | [`MapApp`] | link (walking route, from the user's position) | coordinates |
//! |---|---|---|
//! | `Amap` (高德) | `https://uri.amap.com/navigation?to=lon,lat,name&mode=walk&src=…&coordinate=gaode&callnative=1` | GCJ-02 |
//! | `Baidu` (百度) | `baidumap://map/direction?destination=name:…\|latlng:lat,lng&coord_type=bd09ll&mode=walking&src=…` | BD-09 |
//! | `Tencent` (腾讯) | `qqmap://map/routeplan?type=walk&fromcoord=CurrentLocation&to=…&tocoord=lat,lng&referer=…` | GCJ-02 |
//! | `Apple` | `https://maps.apple.com/?daddr=lat,lon&dirflg=w` | GCJ-02 in mainland China, else WGS-84 |
//!
//! Sources, as documented by each provider: AMap URI API 路径规划
//! (`uri.amap.com/navigation`: `to`, `mode=walk`, `src`, `coordinate=gaode`,
//! `callnative=1` opens the app when installed, else the web page; the same
//! link works on Android and iOS), Baidu URI API 路线规划
//! (`baidumap://map/direction`, Android and iOS; `coord_type` and `src`
//! required), Tencent URI 导航和路线规划 (`qqmap://map/routeplan`, Android and
//! iOS; `fromcoord` and `referer` required, `referer` being the developer
//! key), Apple Map Links (`daddr`, `dirflg=w` for walking). Apple Maps draws
//! mainland China with GCJ-02 data, so there the point is offset like AMap's.
//!
//! Baidu and Tencent links need their app: on Android check the packages
//! `com.baidu.BaiduMap` / `com.tencent.map`, on iOS list `baidumap` / `qqmap`
//! in `LSApplicationQueriesSchemes` and ask `canOpenURL` before offering them.
//!
//! Text is percent-encoded as RFC 3986 query values (UTF-8, everything but
//! `A-Z a-z 0-9 - . _ ~` escaped), so Chinese names survive both Android's
//! `Uri.parse` and iOS's `URL(string:)`. In a name, the characters the
//! formats use as separators (`,` `|` `;`) become their full-width forms,
//! control characters are dropped, runs of whitespace become one space, and
//! it is cut to [`MAX_NAME_CHARS`] characters. An empty name is left out.

use crate::geo::{validate_wgs84, wgs84_to_bd09, wgs84_to_gcj02, GeoPoint};

/// Longest station name put into a link, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// A map app that can show a walking route to a station.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MapApp {
    /// AMap / Gaode (高德地图): GCJ-02.
    Amap,
    /// Baidu Maps (百度地图): BD-09.
    Baidu,
    /// Tencent Maps (腾讯地图): GCJ-02.
    Tencent,
    /// Apple Maps: GCJ-02 in mainland China, WGS-84 elsewhere.
    Apple,
}

/// A coordinate system a map app expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoordinateSystem {
    /// GPS, what the app stores.
    Wgs84,
    /// China's offset datum (AMap, Tencent, Apple Maps in mainland China).
    Gcj02,
    /// Baidu's offset of GCJ-02.
    Bd09,
}

/// Why a navigation link could not be built. Messages never contain the
/// position or the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapLinkError {
    /// The destination is not a valid WGS-84 coordinate.
    #[error("invalid destination: {0}")]
    InvalidDestination(&'static str),
    /// The app requires a source (AMap `src`, Baidu `src`, Tencent `referer`,
    /// which is the developer key) and none was given.
    #[error("this map app requires a source (app name or developer key)")]
    MissingSource,
}

impl MapLinkError {
    /// The argument at fault: `"destination"` or `"source"`.
    pub fn field(&self) -> &'static str {
        match self {
            MapLinkError::InvalidDestination(_) => "destination",
            MapLinkError::MissingSource => "source",
        }
    }
}

impl MapApp {
    /// The coordinate system this app expects at `wgs84` (only Apple Maps
    /// depends on where the point is).
    pub fn coordinate_system(self, wgs84: GeoPoint) -> CoordinateSystem {
        match self {
            MapApp::Amap | MapApp::Tencent => CoordinateSystem::Gcj02,
            MapApp::Baidu => CoordinateSystem::Bd09,
            MapApp::Apple => {
                // Same rough rectangle as the GCJ-02 formula: outside it the
                // conversion is the identity, i.e. WGS-84.
                if wgs84_to_gcj02(wgs84.lat, wgs84.lon) == (wgs84.lat, wgs84.lon) {
                    CoordinateSystem::Wgs84
                } else {
                    CoordinateSystem::Gcj02
                }
            }
        }
    }

    /// `wgs84` in the coordinate system this app expects.
    pub fn convert(self, wgs84: GeoPoint) -> GeoPoint {
        let (lat, lon) = match self.coordinate_system(wgs84) {
            CoordinateSystem::Wgs84 => (wgs84.lat, wgs84.lon),
            CoordinateSystem::Gcj02 => wgs84_to_gcj02(wgs84.lat, wgs84.lon),
            CoordinateSystem::Bd09 => wgs84_to_bd09(wgs84.lat, wgs84.lon),
        };
        GeoPoint { lat, lon }
    }
}

/// A link that opens `app` with a walking route from the user's position to
/// `destination` (the station's stored WGS-84 point), labelled `name`.
///
/// `source` identifies the calling app: AMap's and Baidu's `src` (Baidu
/// suggests `andr.company.app` / `ios.company.app`) and Tencent's `referer`,
/// which Tencent asks to be the developer key. Required for those three,
/// unused for Apple Maps (which takes no label with coordinates either).
///
/// ```
/// use fushi_core::geo::GeoPoint;
/// use fushi_core::maps::{navigation_link, MapApp};
///
/// let station = GeoPoint { lat: 22.2707, lon: 113.5767 };
/// let link = navigation_link(MapApp::Tencent, station, "香洲 纳凉点", "KEY").unwrap();
/// assert_eq!(
///     link,
///     "qqmap://map/routeplan?type=walk&fromcoord=CurrentLocation\
///      &to=%E9%A6%99%E6%B4%B2%20%E7%BA%B3%E5%87%89%E7%82%B9\
///      &tocoord=22.267685,113.581739&referer=KEY"
/// );
/// ```
pub fn navigation_link(
    app: MapApp,
    destination: GeoPoint,
    name: &str,
    source: &str,
) -> Result<String, MapLinkError> {
    validate_wgs84(destination.lat, destination.lon).map_err(MapLinkError::InvalidDestination)?;
    let p = app.convert(destination);
    let (lat, lon) = (coord(p.lat), coord(p.lon));
    let name = clean_name(name);
    let source = source.trim();
    if app != MapApp::Apple && source.is_empty() {
        return Err(MapLinkError::MissingSource);
    }
    let src = encode(source);
    Ok(match app {
        MapApp::Amap => {
            let to = if name.is_empty() {
                format!("{lon},{lat}")
            } else {
                format!("{lon},{lat},{}", encode(&name))
            };
            format!(
                "https://uri.amap.com/navigation?to={to}&mode=walk&src={src}\
                 &coordinate=gaode&callnative=1"
            )
        }
        MapApp::Baidu => {
            let dest = if name.is_empty() {
                format!("latlng:{lat},{lon}")
            } else {
                format!("name:{}%7Clatlng:{lat},{lon}", encode(&name))
            };
            format!(
                "baidumap://map/direction?destination={dest}&coord_type=bd09ll\
                 &mode=walking&src={src}"
            )
        }
        MapApp::Tencent => {
            let to = if name.is_empty() {
                String::new()
            } else {
                format!("&to={}", encode(&name))
            };
            format!(
                "qqmap://map/routeplan?type=walk&fromcoord=CurrentLocation{to}\
                 &tocoord={lat},{lon}&referer={src}"
            )
        }
        MapApp::Apple => format!("https://maps.apple.com/?daddr={lat},{lon}&dirflg=w"),
    })
}

/// Six decimals (about 0.1 m), as the providers' docs ask.
fn coord(v: f64) -> String {
    format!("{v:.6}")
}

/// The name as it goes into a link (before encoding); see the module docs.
fn clean_name(name: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in name.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if out.chars().count() >= MAX_NAME_CHARS {
            break;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(match c {
            ',' => '，',
            '|' => '｜',
            ';' => '；',
            other => other,
        });
    }
    out
}

/// Percent-encodes `s` as an RFC 3986 query value: UTF-8 bytes, all but
/// the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex).
pub fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{bd09_to_wgs84, distance_m, gcj02_to_wgs84};

    const STATION: GeoPoint = GeoPoint {
        lat: 22.2707,
        lon: 113.5767,
    };

    /// The query value of `key` in `link`, percent-decoded.
    fn param(link: &str, key: &str) -> Option<String> {
        let query = link.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| decode(v))
        })
    }

    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn pair(s: &str) -> (f64, f64) {
        let (a, b) = s.split_once(',').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    }

    #[test]
    fn amap_link() {
        let link = navigation_link(MapApp::Amap, STATION, "拱北 纳凉点", "fushi").unwrap();
        assert!(
            link.starts_with("https://uri.amap.com/navigation?"),
            "{link}"
        );
        let to = param(&link, "to").unwrap();
        let parts: Vec<&str> = to.splitn(3, ',').collect();
        assert_eq!(parts[2], "拱北 纳凉点");
        let (lon, lat): (f64, f64) = (parts[0].parse().unwrap(), parts[1].parse().unwrap());
        let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
        assert!(distance_m(wlat, wlon, STATION.lat, STATION.lon) < 0.5);
        assert!(distance_m(lat, lon, STATION.lat, STATION.lon) > 200.0);
        assert_eq!(param(&link, "mode").as_deref(), Some("walk"));
        assert_eq!(param(&link, "coordinate").as_deref(), Some("gaode"));
        assert_eq!(param(&link, "callnative").as_deref(), Some("1"));
        assert_eq!(param(&link, "src").as_deref(), Some("fushi"));
    }

    #[test]
    fn baidu_link() {
        let link = navigation_link(MapApp::Baidu, STATION, "香洲|站", "andr.fushi.share").unwrap();
        assert!(link.starts_with("baidumap://map/direction?"), "{link}");
        let dest = param(&link, "destination").unwrap();
        let (name, latlng) = dest.split_once('|').unwrap();
        assert_eq!(name, "name:香洲｜站");
        let (lat, lon) = pair(latlng.strip_prefix("latlng:").unwrap());
        let (wlat, wlon) = bd09_to_wgs84(lat, lon);
        assert!(distance_m(wlat, wlon, STATION.lat, STATION.lon) < 0.5);
        assert_eq!(param(&link, "coord_type").as_deref(), Some("bd09ll"));
        assert_eq!(param(&link, "mode").as_deref(), Some("walking"));
        assert_eq!(param(&link, "src").as_deref(), Some("andr.fushi.share"));
    }

    #[test]
    fn tencent_link() {
        let link = navigation_link(MapApp::Tencent, STATION, "A&B=C 站", "KEY-1").unwrap();
        assert!(link.starts_with("qqmap://map/routeplan?"), "{link}");
        assert_eq!(param(&link, "to").as_deref(), Some("A&B=C 站"));
        assert!(link.contains("&to=A%26B%3DC%20%E7%AB%99&"), "{link}");
        let (lat, lon) = pair(&param(&link, "tocoord").unwrap());
        let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
        assert!(distance_m(wlat, wlon, STATION.lat, STATION.lon) < 0.5);
        assert_eq!(param(&link, "type").as_deref(), Some("walk"));
        assert_eq!(
            param(&link, "fromcoord").as_deref(),
            Some("CurrentLocation")
        );
        assert_eq!(param(&link, "referer").as_deref(), Some("KEY-1"));
    }

    #[test]
    fn apple_link_offsets_only_in_china() {
        let link = navigation_link(MapApp::Apple, STATION, "ignored", "").unwrap();
        let (lat, lon) = pair(&param(&link, "daddr").unwrap());
        let (glat, glon) = wgs84_to_gcj02(STATION.lat, STATION.lon);
        assert!((lat - glat).abs() < 1e-6 && (lon - glon).abs() < 1e-6);
        assert_eq!(param(&link, "dirflg").as_deref(), Some("w"));
        let london = GeoPoint {
            lat: 51.5007,
            lon: -0.1246,
        };
        assert_eq!(
            navigation_link(MapApp::Apple, london, "", "").unwrap(),
            "https://maps.apple.com/?daddr=51.500700,-0.124600&dirflg=w"
        );
        assert_eq!(
            MapApp::Apple.coordinate_system(london),
            CoordinateSystem::Wgs84
        );
        assert_eq!(
            MapApp::Apple.coordinate_system(STATION),
            CoordinateSystem::Gcj02
        );
    }

    #[test]
    fn empty_names_are_left_out() {
        let amap = navigation_link(MapApp::Amap, STATION, " \t ", "s").unwrap();
        assert_eq!(param(&amap, "to").unwrap().split(',').count(), 2);
        let baidu = navigation_link(MapApp::Baidu, STATION, "", "s").unwrap();
        assert!(param(&baidu, "destination").unwrap().starts_with("latlng:"));
        let tencent = navigation_link(MapApp::Tencent, STATION, "\u{7}", "s").unwrap();
        assert_eq!(param(&tencent, "to"), None);
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("  a \n\t b  "), "a b");
        assert_eq!(clean_name("x,y;z|w"), "x，y；z｜w");
        assert_eq!(clean_name("a\u{0}b"), "ab");
        let long: String = "站".repeat(100);
        assert_eq!(clean_name(&long).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn encoding_is_rfc3986() {
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            encode("a b&c=d/e?f#g%h+i"),
            "a%20b%26c%3Dd%2Fe%3Ff%23g%25h%2Bi"
        );
        assert_eq!(encode("!*'()"), "%21%2A%27%28%29");
        assert_eq!(encode("纳凉"), "%E7%BA%B3%E5%87%89");
        assert_eq!(encode("😀"), "%F0%9F%98%80");
    }

    #[test]
    fn invalid_input() {
        for bad in [
            GeoPoint {
                lat: f64::NAN,
                lon: 113.0,
            },
            GeoPoint {
                lat: 91.0,
                lon: 113.0,
            },
            GeoPoint {
                lat: 22.0,
                lon: f64::INFINITY,
            },
        ] {
            for app in [MapApp::Amap, MapApp::Baidu, MapApp::Tencent, MapApp::Apple] {
                let e = navigation_link(app, bad, "x", "s").unwrap_err();
                assert!(matches!(e, MapLinkError::InvalidDestination(_)));
                assert_eq!(e.field(), "destination");
            }
        }
        for app in [MapApp::Amap, MapApp::Baidu, MapApp::Tencent] {
            assert_eq!(
                navigation_link(app, STATION, "x", "  "),
                Err(MapLinkError::MissingSource)
            );
        }
        assert_eq!(MapLinkError::MissingSource.field(), "source");
    }
}
