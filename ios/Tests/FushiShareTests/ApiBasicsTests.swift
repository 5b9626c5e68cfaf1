// Mirrors android/src/test/kotlin/org/fushi/share/ApiBasicsTest.kt (the Kotlin
// Flow face has no Swift counterpart yet: observers are used directly).
import Foundation
import XCTest

@testable import FushiShare

final class ApiBasicsTests: XCTestCase {
    func testCoreVersionIsSemver() {
        let version = coreVersion()
        XCTAssertNotNil(version.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression), version)
    }

    func testCataloguesHaveCodesAndBothLabels() {
        for kind in [CatalogueKind.itemCategories, .skillCategories, .amenities, .stationKinds, .reportKinds] {
            let entries = catalogue(kind: kind)
            XCTAssertFalse(entries.isEmpty)
            XCTAssertTrue(entries.allSatisfy { !$0.code.isEmpty && !$0.zh.isEmpty && !$0.en.isEmpty })
        }
        XCTAssertTrue(catalogue(kind: .amenities).contains { $0.code == "drinking_water" && $0.zh == "饮用水" })
        XCTAssertTrue(catalogue(kind: .reportKinds).contains { $0.code == "no_water" })
    }

    func testOutsideChinaCoordinatesAreNotShifted() {
        let paris = GeoPoint(lat: 48.8566, lon: 2.3522)
        XCTAssertEqual(wgs84ToGcj02(point: paris), paris)
        XCTAssertEqual(gcj02ToWgs84(point: paris), paris)
    }

    func testObserversAreAddedAndRemoved() throws {
        let phone = try openStore(user: newUser())
        let a = Recorder()
        let b = Recorder()
        let idA = phone.addObserver(observer: a)
        _ = phone.addObserver(observer: b)
        let first = try phone.postItem(item: bicycle())
        XCTAssertTrue(phone.removeObserver(id: idA))
        XCTAssertFalse(phone.removeObserver(id: idA))
        let second = try phone.postItem(item: bicycle("婴儿车"))
        XCTAssertEqual(a.changes, [ChangedRow(kind: .item, id: first)])
        XCTAssertEqual(b.changes.map(\.id), [first, second])
    }

    func testOneStoreCanBeUsedFromManyThreads() async throws {
        let phone = try openStore(user: newUser())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 1...4 {
                group.addTask {
                    for i in 0..<10 { _ = try phone.postItem(item: bicycle("物品 \(n)-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try phone.pendingChanges(), 40)
        XCTAssertEqual(try phone.search(query: SearchQuery(text: "物品", limit: 20)).hits.count, 20)
    }
}
