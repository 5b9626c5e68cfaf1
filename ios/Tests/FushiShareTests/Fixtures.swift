// Test support, mirroring android/src/test/kotlin/org/fushi/share/Fixtures.kt.
//
// iOS has no `Process`, so the tests that need a sync server do not start one:
// make a test CA and certificate (`cargo run -p fushi-tests --bin fushi-test-certs DIR`),
// run `fushi-server serve --listen 0.0.0.0:8443 --tls-cert DIR/server.pem
// --tls-key DIR/server.key` on the Mac, issue tokens with
// `fushi-server token issue --role ... --community fushi`, and pass them in the
// scheme's environment:
//   FUSHI_TEST_SERVER_URL = https://127.0.0.1:8443
//   FUSHI_TEST_CA_PEM     = the text of DIR/ca.pem (pinned by the phones)
//   FUSHI_TEST_ACCOUNTS   = one account per line: "<role> <user-uuid> <token>"
//                           (4 resident lines and 2 grid_staff lines cover every test)
// (A plain `http://` server URL is allowed too: the phones then allow cleartext.)
// Without them those tests are skipped; the offline tests always run.
import Foundation
import XCTest

@testable import FushiShare

let fushi = "fushi"

func tempDir() -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("fushi-swift-\(UUID().uuidString)", isDirectory: true)
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func openStore(user: User? = nil, sync: SyncSettings? = nil) throws -> FushiStore {
    let store = try FushiStore.open(path: tempDir().appendingPathComponent("phone.db").path, sync: sync)
    try store.setUser(user: user)
    return store
}

func newUser(_ role: Role = .resident, community: String = fushi) -> User {
    User(userId: UUID().uuidString.lowercased(), role: role, community: community)
}

/// A loopback URL nothing listens on (port 9 is discard; nothing serves it here).
let unreachableUrl = "https://127.0.0.1:9"

/// Settings of a phone with no signal: one attempt per request, short timeouts.
func unreachableSettings(token: String = "t") -> SyncSettings {
    SyncSettings(
        serverUrl: unreachableUrl, token: token,
        connectTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 1
    )
}

func bicycle(_ title: String = "儿童自行车 八成新") -> NewItem {
    NewItem(title: title, category: "kids", mode: "give", pickupArea: "福石花园", lat: 22.2705, lon: 113.5405)
}

/// Records every call from Rust (any thread).
final class Recorder: ListingObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _changes: [ChangedRow] = []
    private var _matches: [Match] = []

    var changes: [ChangedRow] { lock.lock(); defer { lock.unlock() }; return _changes }
    var matches: [Match] { lock.lock(); defer { lock.unlock() }; return _matches }

    func onChanged(changes: [ChangedRow]) {
        lock.lock(); defer { lock.unlock() }
        _changes += changes
    }

    func onNewMatches(matches: [Match]) {
        lock.lock(); defer { lock.unlock() }
        _matches += matches
    }

    func heard(_ kind: RowKind, _ id: String) -> Bool {
        changes.contains { $0.kind == kind && $0.id == id }
    }
}

struct Account {
    let user: User
    let token: String
}

/// The server and accounts given in the environment (see the top of this file).
final class TestServer {
    let url: String
    let caPem: String?
    private var pool: [Account]

    init() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["FUSHI_TEST_SERVER_URL"], let accounts = env["FUSHI_TEST_ACCOUNTS"] else {
            throw XCTSkip("set FUSHI_TEST_SERVER_URL and FUSHI_TEST_ACCOUNTS to run the sync stories")
        }
        self.url = url
        caPem = env["FUSHI_TEST_CA_PEM"]
        pool = accounts.split(whereSeparator: \.isNewline).compactMap { line in
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 3 else { return nil }
            let role: Role = parts[0] == "grid_staff" ? .gridStaff : (parts[0] == "admin" ? .admin : .resident)
            return Account(user: User(userId: parts[1], role: role, community: fushi), token: parts[2])
        }
    }

    /// An unused account of `role` (each test run needs fresh ones for exact counts).
    func issue(_ role: Role) throws -> Account {
        guard let i = pool.firstIndex(where: { $0.user.role == role }) else {
            throw XCTSkip("FUSHI_TEST_ACCOUNTS has no more \(role) accounts")
        }
        return pool.remove(at: i)
    }

    func settings(_ account: Account) -> SyncSettings {
        SyncSettings(
            serverUrl: url, token: account.token,
            caCertificatePem: caPem, allowCleartext: url.hasPrefix("http://")
        )
    }

    func phone(_ account: Account) throws -> FushiStore {
        try openStore(user: account.user, sync: settings(account))
    }
}

/// Asserts that `body` throws a `FushiError` matching `matches`.
func assertFushiError<T>(
    _ body: @autoclosure () throws -> T,
    file: StaticString = #filePath, line: UInt = #line,
    _ matches: (FushiError) -> Bool
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let e = error as? FushiError, matches(e) else {
            return XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }
}

func isInvalid(_ field: String) -> (FushiError) -> Bool {
    { if case let .InvalidInput(f, _) = $0 { return f == field } else { return false } }
}

func isNotAllowed(_ e: FushiError) -> Bool { if case .NotAllowed = e { return true } else { return false } }
func isNotFound(_ e: FushiError) -> Bool { if case .NotFound = e { return true } else { return false } }
func isOffline(_ e: FushiError) -> Bool { if case .Offline = e { return true } else { return false } }
