// Mirrors android/src/test/kotlin/org/fushi/share/GridStaffStoryTest.kt
// (needs a server: see Fixtures.swift).
import Foundation
import XCTest

@testable import FushiShare

final class GridStaffStoryTests: XCTestCase {
    func testTwoStaffEditOneStationAtOnceAndBothEditsSurviveTheSync() async throws {
        let server = try TestServer()
        let wangPhone = try server.phone(try server.issue(.gridStaff))
        let liPhone = try server.phone(try server.issue(.gridStaff))
        let id = try wangPhone.postStation(station: NewStation(
            name: "福石清凉驿站", address: "前山街道福石路", lat: 22.2730, lon: 113.5430,
            kind: "cool_station", amenities: ["drinking_water"], openingHours: "Mo-Fr 08:00-18:00",
            hostOrg: "福石社区居委会"))
        _ = try wangPhone.syncBlocking()
        _ = try await liPhone.sync()
        XCTAssertEqual(try liPhone.station(id: id).name, "福石清凉驿站")

        try liPhone.editStation(id: id, edit: StationEdit(
            addAmenities: ["first_aid_kit"], openingHours: "Mo-Su 07:00-20:00"))
        try wangPhone.editStation(id: id, edit: StationEdit(
            addAmenities: ["device_charging"], contact: "0756-1234567"))
        let heard = Recorder()
        _ = wangPhone.addObserver(observer: heard)
        _ = try liPhone.syncBlocking()
        let wangReport = try await wangPhone.sync()
        _ = try liPhone.syncBlocking()

        XCTAssertGreaterThanOrEqual(wangReport.pulled, 1)
        XCTAssertTrue(heard.heard(.station, id))
        for phone in [wangPhone, liPhone] {
            let s = try phone.station(id: id)
            XCTAssertEqual(s.openingHours, "Mo-Su 07:00-20:00")
            XCTAssertEqual(s.contact, "0756-1234567")
            XCTAssertEqual(s.amenities, ["device_charging", "drinking_water", "first_aid_kit"])
        }
    }

    func testStaffHideAListingAndReadTheFigures() throws {
        let server = try TestServer()
        let residentPhone = try server.phone(try server.issue(.resident))
        let staffPhone = try server.phone(try server.issue(.gridStaff))
        let item = try residentPhone.postItem(item: bicycle("全新电饭煲"))
        _ = try residentPhone.syncBlocking()
        _ = try staffPhone.syncBlocking()

        try staffPhone.hideListing(kind: .item, id: item, hidden: true)
        let seenByStaff = try staffPhone.search(query: SearchQuery(text: "电饭煲", includeHidden: true))
        XCTAssertEqual(seenByStaff.hits.map(\.hidden), [true])
        _ = try staffPhone.syncBlocking()
        _ = try residentPhone.syncBlocking()
        XCTAssertEqual(try residentPhone.search(query: SearchQuery(text: "电饭煲")).hits, [])
        XCTAssertTrue(try residentPhone.item(id: item).hidden)

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let now = calendar.dateComponents([.year, .month], from: Date())
        let month = try monthPeriod(year: Int32(now.year!), month: UInt32(now.month!))
        XCTAssertTrue(month.fromMs <= staffPhone.nowMs() && staffPhone.nowMs() < month.toMs)
        // A shared server may hold other tests' items: compare with the whole history.
        let figures = try staffPhone.figures(community: fushi, period: month)
        XCTAssertGreaterThanOrEqual(figures.itemsPosted, 1)
        let everything = try staffPhone.figures(community: fushi, period: Period(fromMs: 0, toMs: Int64.max))
        XCTAssertGreaterThanOrEqual(everything.itemsPosted, figures.itemsPosted)

        assertFushiError(try residentPhone.figures(community: fushi, period: month), isNotAllowed)
        assertFushiError(try staffPhone.figures(community: "nanping", period: month), isNotAllowed)
    }

    func testAChangeTheServerRefusesIsRolledBackAndListed() throws {
        let server = try TestServer()
        let resident = try server.issue(.resident)
        // The app believes this user is staff; the server's token says resident.
        var pretending = resident.user
        pretending.role = .gridStaff
        let phone = try openStore(user: pretending, sync: server.settings(resident))
        let id = try phone.postStation(
            station: NewStation(name: "假驿站", lat: 22.27, lon: 113.54, kind: "cool_station"))
        let report = try phone.syncBlocking()
        XCTAssertEqual(report.rejected, 1)
        XCTAssertTrue(report.changed.contains(ChangedRow(kind: .station, id: id)))
        assertFushiError(try phone.station(id: id), isNotFound)

        let rejection = try XCTUnwrap(try phone.syncRejections().first)
        XCTAssertEqual(rejection.table, "station")
        XCTAssertEqual(rejection.id, id)
        XCTAssertEqual(rejection.code, "staff_only")
        try phone.clearSyncRejections()
        XCTAssertEqual(try phone.syncRejections(), [])
        XCTAssertEqual(try phone.quarantine(), [])
    }
}
