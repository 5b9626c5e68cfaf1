// Mirrors android/src/test/kotlin/org/fushi/share/OutdoorWorkerStoryTest.kt.
// The Kotlin story imports the stations into a real server and syncs them to
// the rider's phone; here (no server process on iOS) grid staff post the same
// stations on the phone, then the rider asks.
import Foundation
import XCTest

@testable import FushiShare

private let riderLat = 22.2700
private let riderLon = 113.5400

final class OutdoorWorkerStoryTests: XCTestCase {
    func testFindsTheNearestOpenStationWithWaterAndReportsItRunsOut() throws {
        let rider = newUser()
        let phone = try openStore(user: newUser(.gridStaff))
        for s in [
            NewStation(name: "前山路口休息点", lat: 22.2702, lon: 113.5402, kind: "cool_station",
                       amenities: ["seating", "toilets"], openingHours: "24/7"),
            NewStation(name: "福石社区服务中心", lat: 22.2710, lon: 113.5410, kind: "community_center",
                       amenities: ["drinking_water", "seating"]),
            NewStation(name: "福石清凉驿站", lat: 22.2730, lon: 113.5430, kind: "cool_station",
                       amenities: ["drinking_water", "device_charging", "first_aid_kit"], openingHours: "24/7"),
            NewStation(name: "南屏清凉驿站", lat: 22.3200, lon: 113.6000, kind: "cool_station",
                       amenities: ["drinking_water"], openingHours: "24/7"),
        ] {
            _ = try phone.postStation(station: s)
        }
        try phone.setUser(user: rider)

        let withWater = try phone.nearestStations(
            query: NearbyQuery(lat: riderLat, lon: riderLon, amenities: ["drinking_water"]))
        XCTAssertEqual(withWater.map(\.name), ["福石社区服务中心", "福石清凉驿站"])

        let open = try phone.nearestStations(query: NearbyQuery(
            lat: riderLat, lon: riderLon, radiusM: 3000, limit: 5, amenities: ["drinking_water"],
            kind: "cool_station", openAt: phone.nowMs()))
        XCTAssertEqual(open.count, 1)
        let station = try XCTUnwrap(open.first)
        XCTAssertEqual(station.name, "福石清凉驿站")
        XCTAssertEqual(station.openNow, true)
        XCTAssertTrue((300.0...600.0).contains(station.distanceM))

        let gcj = wgs84ToGcj02(point: GeoPoint(lat: station.lat, lon: station.lon))
        XCTAssertEqual(gcj.lat, station.gcj02Lat, accuracy: 1e-9)
        XCTAssertEqual(gcj.lon, station.gcj02Lon, accuracy: 1e-9)
        XCTAssertGreaterThan(abs(gcj.lon - station.lon), 1e-4)
        let back = gcj02ToWgs84(point: gcj)
        XCTAssertEqual(back.lat, station.lat, accuracy: 1e-6)
        XCTAssertEqual(back.lon, station.lon, accuracy: 1e-6)

        let report = try phone.reportStation(stationId: station.id, kind: "no_water", note: "下午两点没水了")
        XCTAssertEqual(try phone.stationReports(stationId: station.id).map(\.id), [report])
        let again = try phone.nearestStations(
            query: NearbyQuery(lat: riderLat, lon: riderLon, openAt: phone.nowMs()))
        XCTAssertEqual(again.first { $0.id == station.id }?.reports.map(\.kind), ["no_water"])
        _ = try phone.checkIn(stationId: station.id)
        XCTAssertEqual(try phone.checkinCount(stationId: station.id, sinceMs: nil), 1)
        XCTAssertEqual(try phone.checkinCount(stationId: station.id, sinceMs: phone.nowMs() + 60_000), 0)
        XCTAssertEqual(try phone.station(id: station.id).name, station.name)
    }

    func testHolidaysChangeWhatIsOpen() throws {
        let phone = try openStore(user: newUser(.gridStaff))
        let id = try phone.postStation(station: NewStation(
            name: "福石清凉驿站", lat: 22.2730, lon: 113.5430, kind: "cool_station",
            amenities: ["drinking_water"], openingHours: "Mo-Fr 08:00-18:00; PH off"))
        // 2026-10-01 (Thursday) 10:00 Beijing time.
        let query = NearbyQuery(lat: 22.2730, lon: 113.5430, openAt: 1_790_820_000_000)
        try phone.setHolidayCalendar(text: "")
        XCTAssertEqual(try phone.nearestStations(query: query).map(\.id), [id])
        try phone.setHolidayCalendar(text: "2026-10-01 holiday  # 国庆节")
        XCTAssertEqual(try phone.nearestStations(query: query).map(\.id), [])
        assertFushiError(try phone.setHolidayCalendar(text: "2026-13-01 holiday"), isInvalid("calendar"))
    }
}
