// Mirrors android/src/test/kotlin/org/fushi/share/CoreApiTest.kt.
import Foundation
import XCTest

@testable import FushiShare

/// Records every call from Rust. Rust may call from any thread, hence the lock.
private final class RecordingObserver: ChangeObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [[String]] = []

    var calls: [[String]] {
        lock.lock()
        defer { lock.unlock() }
        return _calls
    }

    func onChange(ids: [String]) {
        lock.lock()
        defer { lock.unlock() }
        _calls.append(ids)
    }
}

final class CoreApiTests: XCTestCase {
    func testCoreVersionIsSemver() {
        let version = coreVersion()
        XCTAssertNotNil(
            version.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression),
            "not a semver: \(version)")
    }

    func testValidCoordinatesPass() throws {
        try validateCoordinates(lat: 31.2304, lon: 121.4737)
        try validateCoordinates(lat: -90.0, lon: -180.0)
        try validateCoordinates(lat: 90.0, lon: 180.0)
    }

    func testInvalidLatitudeIsInvalidInputNamingTheField() {
        XCTAssertThrowsError(try validateCoordinates(lat: 90.5, lon: 0.0)) { error in
            guard case let FushiError.InvalidInput(field, reason) = error else {
                return XCTFail("expected FushiError.InvalidInput, got \(error)")
            }
            XCTAssertEqual(field, "lat")
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testNonFiniteLongitudeIsInvalidInput() {
        XCTAssertThrowsError(try validateCoordinates(lat: 0.0, lon: .nan)) { error in
            guard case let FushiError.InvalidInput(field, _) = error else {
                return XCTFail("expected FushiError.InvalidInput, got \(error)")
            }
            XCTAssertEqual(field, "lon")
        }
        XCTAssertThrowsError(try validateCoordinates(lat: 0.0, lon: .infinity)) { error in
            XCTAssertTrue(error is FushiError)
        }
    }

    func testRustCallsTheSwiftObserver() {
        let feed = ChangeFeed()
        let a = RecordingObserver()
        let b = RecordingObserver()
        let subA = feed.subscribe(observer: a)
        _ = feed.subscribe(observer: b)
        XCTAssertEqual(feed.observerCount(), 2)

        XCTAssertEqual(feed.publish(ids: ["item-1", "item-2"]), 2)
        XCTAssertEqual(feed.publish(ids: []), 0)
        XCTAssertEqual(a.calls, [["item-1", "item-2"]])

        XCTAssertTrue(feed.unsubscribe(subscription: subA))
        XCTAssertFalse(feed.unsubscribe(subscription: subA))
        XCTAssertEqual(feed.publish(ids: ["station-9"]), 1)
        XCTAssertEqual(a.calls.count, 1)
        XCTAssertEqual(b.calls, [["item-1", "item-2"], ["station-9"]])
    }

    func testAsyncPublishSuspendsThenCallsBack() async throws {
        let feed = ChangeFeed()
        let observer = RecordingObserver()
        _ = feed.subscribe(observer: observer)
        let start = Date()
        let notified = try await feed.publishAfter(delayMs: 50, ids: ["need-7"])
        let elapsedMs = Date().timeIntervalSince(start) * 1000
        XCTAssertEqual(notified, 1)
        XCTAssertGreaterThanOrEqual(elapsedMs, 45, "returned before the delay")
        XCTAssertEqual(observer.calls, [["need-7"]])
    }

    func testAsyncCallsRunConcurrently() async throws {
        let feed = ChangeFeed()
        let observer = RecordingObserver()
        _ = feed.subscribe(observer: observer)
        let start = Date()
        let results = try await withThrowingTaskGroup(of: UInt32.self) { group in
            for n in 1...8 {
                group.addTask { try await feed.publishAfter(delayMs: 300, ids: ["id-\(n)"]) }
            }
            return try await group.reduce(into: [UInt32]()) { $0.append($1) }
        }
        let elapsedMs = Date().timeIntervalSince(start) * 1000
        XCTAssertEqual(results, Array(repeating: 1, count: 8))
        XCTAssertEqual(observer.calls.count, 8)
        XCTAssertLessThan(elapsedMs, 2000, "8 concurrent 300 ms calls took \(elapsedMs) ms")
    }

    func testAsyncErrorsSurfaceAsThrows() async {
        let feed = ChangeFeed()
        do {
            _ = try await feed.publishAfter(delayMs: 3_600_000, ids: ["x"])
            XCTFail("expected FushiError.InvalidInput")
        } catch let FushiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "delay_ms")
        } catch {
            XCTFail("expected FushiError.InvalidInput, got \(error)")
        }
    }
}
