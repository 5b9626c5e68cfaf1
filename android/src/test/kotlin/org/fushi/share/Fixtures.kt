// Test support for the stories: temporary store files, users, an observer
// that records what Rust tells it, and a real fushi-server process on
// loopback (the binary scripts/kotlin-test.sh builds; -Dfushi.server.bin).
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
    ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { "http://127.0.0.1:${it.localPort}" }

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
 * free loopback port.
 */
class TestServer : AutoCloseable {
    private val dir = tempDir()
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
        val p = ProcessBuilder(
            bin, "serve", "--db", db.path, "--listen", "127.0.0.1:0",
            // Station records published as they come: these stories check
            // that they arrive, not the privacy windows (tested in Rust).
            "--record-window-secs", "0",
        )
            .redirectError(File(dir, "server.log"))
            .start()
        process = p
        val reader = BufferedReader(InputStreamReader(p.inputStream))
        val line = CompletableFuture.supplyAsync { reader.readLine() }.get(30, TimeUnit.SECONDS)
            ?: error("fushi-server exited: ${File(dir, "server.log").readText()}")
        check(line.startsWith("listening on ")) { "unexpected first line: $line" }
        url = "http://" + line.removePrefix("listening on ").trim()
        // Keep draining stdout so the server never blocks on a full pipe.
        Thread { reader.useLines { it.forEach { } } }.apply { isDaemon = true }.start()
        return this
    }

    /** Settings for a phone of [account]. */
    fun settings(account: Account): SyncSettings = SyncSettings(serverUrl = url, token = account.token)

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
