// Mirrors android/src/test/kotlin/org/fushi/share/ErrorCasesTest.kt.
import Foundation
import XCTest

@testable import FushiShare

final class ErrorCasesTests: XCTestCase {
    func testInvalidInputNamesTheField() throws {
        let phone = try openStore(user: newUser())
        assertFushiError(try phone.postItem(item: bicycle("")), isInvalid("title"))
        assertFushiError(try phone.item(id: "not-an-id"), isInvalid("id"))
        var halfPosition = bicycle()
        halfPosition.lon = nil
        assertFushiError(try phone.postItem(item: halfPosition), isInvalid("lon"))
        assertFushiError(try phone.search(query: SearchQuery(kinds: [.station])), isInvalid("kinds"))
        assertFushiError(
            try phone.setUser(user: User(userId: "13800138000", role: .resident, community: fushi)),
            isInvalid("user_id"))
        assertFushiError(try monthPeriod(year: 2026, month: 13), isInvalid("month"))
        do {
            try phone.setUser(user: User(userId: "13800138000", role: .resident, community: fushi))
        } catch {
            XCTAssertFalse("\(error.localizedDescription)".contains("13800138000"))
        }
    }

    func testNotAllowedForResidentsOnStaffWorkAndForNobodySignedIn() throws {
        let phone = try openStore(user: newUser())
        assertFushiError(
            try phone.postStation(station: NewStation(name: "驿站", lat: 22.27, lon: 113.54, kind: "cool_station")),
            isNotAllowed)
        let item = try phone.postItem(item: bicycle())
        try phone.setUser(user: newUser())
        assertFushiError(try phone.hideListing(kind: .item, id: item, hidden: true), isNotAllowed)
        assertFushiError(try phone.editItem(id: item, edit: ItemEdit(title: "我的了")), isNotAllowed)
        try phone.setUser(user: nil)
        assertFushiError(try phone.postItem(item: bicycle()), isNotAllowed)
    }

    func testNotFoundForAnUnknownListing() throws {
        let phone = try openStore(user: newUser())
        let unknown = UUID().uuidString.lowercased()
        assertFushiError(try phone.item(id: unknown), isNotFound)
        assertFushiError(try phone.station(id: unknown), isNotFound)
        assertFushiError(try phone.skill(id: unknown), isNotFound)
        assertFushiError(try phone.need(id: unknown), isNotFound)
        assertFushiError(try phone.requestItem(itemId: unknown, note: nil), isNotFound)
    }

    func testOfflineWithoutAServerAndWithAnUnreachableOne() async throws {
        let phone = try openStore(user: newUser())
        assertFushiError(try phone.syncBlocking(), isOffline)
        try phone.configureSync(settings: unreachableSettings(token: "token"))
        do { _ = try await phone.sync(); XCTFail("expected Offline") } catch FushiError.Offline {}
        try phone.configureSync(settings: nil)
        do { _ = try await phone.sync(); XCTFail("expected Offline") } catch FushiError.Offline {}
    }

    func testRejectedWhenTheServerRefusesTheToken() throws {
        let server = try TestServer()
        let resident = try server.issue(.resident)
        var forged = server.settings(resident)
        forged.token = "revoked-or-forged"
        let phone = try openStore(user: resident.user, sync: forged)
        assertFushiError(try phone.syncBlocking()) { e in
            if case let .Rejected(code, reason) = e { return !code.isEmpty && !reason.isEmpty }
            return false
        }
        try phone.configureSync(settings: server.settings(resident))
        _ = try phone.syncBlocking()
    }

    func testUpgradeRequiredForADatabaseFromANewerApp() throws {
        let path = tempDir().appendingPathComponent("phone.db").path
        do {
            let store = try FushiStore.open(path: path, sync: nil)
            try store.setUser(user: newUser())
            _ = try store.postItem(item: bicycle())
        } // released: SQLite closes the file and folds the WAL back in
        // The header's user_version (offset 60, big-endian): what a newer app writes.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        handle.seek(toFileOffset: 60)
        handle.write(Data([0, 0, 0, 99]))
        handle.closeFile()
        assertFushiError(try FushiStore.open(path: path, sync: nil)) { e in
            if case .UpgradeRequired = e { return true } else { return false }
        }
    }

    func testStorageErrorForAFileThatIsNotADatabase() throws {
        let path = tempDir().appendingPathComponent("notes.db").path
        try String(repeating: "这不是数据库 ", count: 200).write(toFile: path, atomically: true, encoding: .utf8)
        assertFushiError(try FushiStore.open(path: path, sync: nil)) { e in
            if case let .Storage(reason) = e { return !reason.isEmpty && !reason.contains("这不是数据库") }
            return false
        }
    }
}
