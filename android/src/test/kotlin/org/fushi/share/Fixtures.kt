// Test support for the stories: temporary store files, users, an observer
// that records what Rust tells it, and a real fushi-server process on
// loopback (the binary scripts/kotlin-test.sh builds; -Dfushi.server.bin),
// speaking HTTPS with a certificate of a CA made for the test
// (fushi-test-certs; -Dfushi.certs.bin) that the phones pin.
package org.fushi.share

import org.fushi.share.core.*
import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.Collections
import java.util.UUID
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/** Community of every test user. */
const val FUSHI = "fushi"

/** A fresh temporary directory, removed when the JVM exits. */
fun tempDir(): File = Files.createTempDirectory("fushi-kt").toFile().also { dir ->
    Runtime.getRuntime().addShutdownHook(Thread { dir.deleteRecursively() })
}

/** A store in a fresh SQLite file. */
fun openStore(user: User? = null, sync: SyncSettings? = null): FushiStore =
    FushiStore.open(File(tempDir(), "phone.db").path, sync).also { it.setUser(user) }

/** A user with a fresh account id (for stores that never sync). */
fun newUser(role: Role = Role.RESIDENT, community: String = FUSHI): User =
    User(userId = UUID.randomUUID().toString(), role = role, community = community)

/** A loopback URL nothing listens on: a phone with no signal. */
fun unreachableUrl(): String =
    ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { "https://127.0.0.1:${it.localPort}" }

/**
 * Settings of a phone with no signal: nothing answers at [unreachableUrl].
 * One attempt per request (no retries with backoff) and short timeouts keep
 * the tests quick.
 */
fun unreachableSettings(token: String = "t"): SyncSettings = SyncSettings(
    serverUrl = unreachableUrl(),
    token = token,
    connectTimeoutMs = 2_000u,
    requestTimeoutMs = 5_000u,
    maxAttempts = 1u,
)

/** A test CA and a certificate it signed for 127.0.0.1, made by `fushi-test-certs`. */
class TestCerts(val dir: File) {
    /** The CA's certificate, PEM: what phones pin. */
    val caPem: String get() = File(dir, "ca.pem").readText()
    val serverCert: File get() = File(dir, "server.pem")
    val serverKey: File get() = File(dir, "server.key")

    companion object {
        /** A fresh CA and server certificate in a temporary directory. */
        fun make(): TestCerts {
            val dir = tempDir()
            val bin = System.getProperty("fushi.certs.bin")
                ?: error("set -Dfushi.certs.bin (scripts/kotlin-test.sh does)")
            val p = ProcessBuilder(bin, dir.path).redirectErrorStream(true).start()
            val out = p.inputStream.bufferedReader().readText()
            check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "fushi-test-certs failed: $out" }
            return TestCerts(dir)
        }
    }
}

/** An idle item as a resident types it. */
fun bicycle(title: String = "儿童自行车 八成新"): NewItem = NewItem(
    title = title,
    category = "kids",
    mode = "give",
    pickupArea = "福石花园",
    lat = 22.2705,
    lon = 113.5405,
)

/** Records every call from Rust (any thread). */
class Recorder : ListingObserver {
    val changes: MutableList<ChangedRow> = Collections.synchronizedList(mutableListOf())
    val matches: MutableList<Match> = Collections.synchronizedList(mutableListOf())

    override fun onChanged(changes: List<ChangedRow>) {
        check(changes.isNotEmpty()) { "onChanged with an empty list" }
        this.changes += changes
    }

    override fun onNewMatches(matches: List<Match>) {
        check(matches.isNotEmpty()) { "onNewMatches with an empty list" }
        this.matches += matches
    }

    fun heard(kind: RowKind, id: String): Boolean =
        synchronized(changes) { changes.any { it.kind == kind && it.id == id } }
}

/** An account the server issued a token for. */
class Account(val user: User, val token: String)

/**
 * A real `fushi-server` on a fresh SQLite file. Issue tokens and import
 * stations first (the CLI writes the file directly), then [start] serving on a
 * free loopback port: over HTTPS with a test CA's certificate ([tls], the
 * default; phones pin the CA), or plain HTTP (phones allow cleartext).
 */
class TestServer(val tls: Boolean = true) : AutoCloseable {
    private val dir = tempDir()

    /** The certificates it serves with (if [tls]). */
    val certs: TestCerts? = if (tls) TestCerts.make() else null
    private val db = File(dir, "server.db")
    private var process: Process? = null

    /** Base URL once started. */
    var url: String = ""
        private set

    private fun cli(vararg args: String): String {
        val p = ProcessBuilder(listOf(bin) + args)
            .redirectError(File(dir, "cli.log"))
            .start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
            "fushi-server ${args.first()} failed: ${File(dir, "cli.log").readText()}"
        }
        return out
    }

    /** `fushi-server token issue`: a new user of [role] and their token. */
    fun issue(role: Role, community: String = FUSHI): Account {
        val roleName = when (role) {
            Role.RESIDENT -> "resident"
            Role.GRID_STAFF -> "grid_staff"
            Role.ADMIN -> "admin"
        }
        val out = cli("token", "issue", "--db", db.path, "--role", roleName, "--community", community)
        fun field(name: String) = out.lines().first { it.startsWith("$name:") }.substringAfter(':').trim()
        return Account(User(field("user"), role, community), field("token"))
    }

    /** `fushi-server import-stations` from CSV text. */
    fun importStations(csv: String) {
        val file = File(dir, "stations.csv").apply { writeText(csv) }
        cli("import-stations", "--db", db.path, "--community", FUSHI, file.path)
    }

    /** `fushi-server serve` on 127.0.0.1:0; returns once it listens. */
    fun start(): TestServer {
        val tlsArgs = certs?.let { listOf("--tls-cert", it.serverCert.path, "--tls-key", it.serverKey.path) }.orEmpty()
        val p = ProcessBuilder(
            listOf(
                bin, "serve", "--db", db.path, "--listen", "127.0.0.1:0",
                // Station records published as they come: these stories check
                // that they arrive, not the privacy windows (tested in Rust).
                "--record-window-secs", "0",
            ) + tlsArgs,
        )
            .redirectError(File(dir, "server.log"))
            .start()
        process = p
        val reader = BufferedReader(InputStreamReader(p.inputStream))
        val line = CompletableFuture.supplyAsync { reader.readLine() }.get(30, TimeUnit.SECONDS)
            ?: error("fushi-server exited: ${File(dir, "server.log").readText()}")
        check(line.startsWith("listening on ")) { "unexpected first line: $line" }
        url = (if (tls) "https://" else "http://") + line.removePrefix("listening on ").trim()
        // Keep draining stdout so the server never blocks on a full pipe.
        Thread { reader.useLines { it.forEach { } } }.apply { isDaemon = true }.start()
        return this
    }

    /**
     * Settings for a phone of [account]: the test CA pinned over HTTPS;
     * cleartext allowed explicitly for a plain-HTTP server.
     */
    fun settings(account: Account): SyncSettings = SyncSettings(
        serverUrl = url,
        token = account.token,
        caCertificatePem = certs?.caPem,
        allowCleartext = !tls,
    )

    /** A phone signed in as [account], syncing with this server. */
    fun phone(account: Account): FushiStore = openStore(account.user, settings(account))

    override fun close() {
        process?.let { p ->
            p.destroy() // SIGTERM: graceful shutdown
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly()
        }
    }

    companion object {
        val bin: String
            get() = System.getProperty("fushi.server.bin")
                ?: error("set -Dfushi.server.bin (scripts/kotlin-test.sh does)")
    }
}
