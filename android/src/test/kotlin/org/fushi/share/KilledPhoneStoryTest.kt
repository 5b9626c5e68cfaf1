// A phone killed mid-sync (同步中被杀掉): a grid staff member comes back from
// a long time offline with hundreds of posts and edits waiting; the system
// kills the app while it syncs. Reopened, the phone still has everything she
// confirmed, sends it, and ends up equal to a neighbour's phone.
package org.fushi.share

import org.fushi.share.core.*
import org.fushi.share.testing.Test
import java.io.File
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.random.Random
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

/** Posts waiting on the phone that gets killed (each edited, some twice). */
private const val OFFLINE_ITEMS = 640
private const val OFFLINE_STATIONS = 12
private const val PUSH_BATCH = 25u
private const val PULL_LIMIT = 40u

class KilledPhoneStoryTest {
    /** Writes a long offline outbox into [store]; records what was confirmed. */
    private fun workOffline(store: FushiStore, user: User, ledger: Ledger) {
        val rnd = Random(42)
        repeat(OFFLINE_STATIONS) { s ->
            val (lat, lon) = rnd.nearCentre()
            val id = store.postStation(NewStation(name = "新驿站$s", lat = lat, lon = lon, kind = "cool_station", amenities = listOf("drinking_water")))
            store.checkIn(id)
            val report = store.reportStation(id, "no_power_bank", null)
            store.editStation(id, StationEdit(name = "新驿站$s（已核实）", hostOrg = "福石社区居委会"))
            ledger.station(
                id,
                mapOf(
                    "owner" to user.userId, "community" to user.community, "name" to "新驿站$s（已核实）",
                    "lat" to lat, "lon" to lon, "kind" to "cool_station", "amenities" to listOf("drinking_water"),
                    "hostOrg" to "福石社区居委会",
                ),
            )
            ledger.checkedIn(id)
            ledger.reported(id, report, "no_power_bank")
        }
        val ids = (0 until OFFLINE_ITEMS).map { i ->
            val (lat, lon) = rnd.nearCentre()
            val id = store.postItem(NewItem(title = "闲置$i", category = "daily", mode = "give", pickupArea = "福石花园", lat = lat, lon = lon))
            store.editItem(id, ItemEdit(title = "闲置$i 九成新"))
            ledger.item(
                id,
                mapOf(
                    "owner" to user.userId, "community" to user.community, "title" to "闲置$i 九成新", "category" to "daily",
                    "mode" to "give", "pickupArea" to "福石花园", "lat" to store.item(id).lat, "lon" to store.item(id).lon, "status" to "available",
                ),
            )
            id
        }
        // Later the same day: more edits to some of them.
        ids.forEachIndexed { i, id ->
            when {
                i % 13 == 5 -> { store.deleteListing(ListingKind.ITEM, id); ledger.deleted(id) }
                i % 7 == 2 -> { store.withdrawItem(id); ledger.item(id, mapOf("status" to "withdrawn")) }
                i % 3 == 0 -> { store.editItem(id, ItemEdit(description = "可小刀")); ledger.item(id, mapOf("description" to "可小刀")) }
            }
        }
    }

    /** Starts [PhoneProcessKt] syncing [file] in a child JVM with this JVM's classpath and properties. */
    private fun startPhoneProcess(file: File, server: TestServer, account: Account, log: File): Process {
        val java = ProcessHandle.current().info().command().orElse(File(System.getProperty("java.home"), "bin/java").path)
        val props = System.getProperties().stringPropertyNames()
            .filter { it.startsWith("jna.") || it.startsWith("fushi.") }
            .map { "-D$it=${System.getProperty(it)}" }
        val user = account.user
        return ProcessBuilder(
            listOf(java) + props + listOf(
                "-cp", System.getProperty("java.class.path"), "org.fushi.share.PhoneProcessKt",
                file.path, server.url, account.token, user.userId, user.role.name, user.community,
                PUSH_BATCH.toString(), PULL_LIMIT.toString(),
                File(checkNotNull(server.certs) { "an HTTPS server" }.dir, "ca.pem").path,
            ),
        ).redirectError(log).start()
    }

    @Test
    fun aPhoneKilledWhileSendingALongOfflineOutboxIsReopenedAndLosesNothing() {
        TestServer().use { server ->
            val staff = server.issue(Role.GRID_STAFF)
            val neighbour = server.issue(Role.RESIDENT)
            server.start()
            val ledger = Ledger()
            val dir = tempDir()
            val file = File(dir, "staff-phone.db")

            // A neighbour's phone, in use all along.
            val other = openStore(neighbour.user, server.smallPages(neighbour, PUSH_BATCH, PULL_LIMIT))
            repeat(30) { i ->
                val id = other.postItem(bicycle("邻居的第${i}件"))
                ledger.item(id, mapOf("owner" to neighbour.user.userId, "title" to "邻居的第${i}件", "status" to "available"))
            }
            other.syncBlocking()

            // Offline for days: hundreds of rows wait in the outbox.
            FushiStore.open(file.path, null).use { phone ->
                phone.setUser(staff.user)
                workOffline(phone, staff.user, ledger)
                assertTrue(phone.pendingChanges() > 600uL, "outbox ${phone.pendingChanges()}")
            }

            // Back online: the phone syncs in its own process, and is killed
            // as soon as the server has acknowledged its first batch.
            val child = startPhoneProcess(file, server, staff, File(dir, "phone-process.log"))
            val (outbox, atKill) = try {
                val lines = child.inputStream.bufferedReader()
                fun next(): String = CompletableFuture.supplyAsync { lines.readLine() }.get(30, TimeUnit.SECONDS)
                    ?: fail("the phone process exited early: ${File(dir, "phone-process.log").readText()}")
                val start = next().removePrefix("pending ").toULong()
                var line = next()
                while (line.startsWith("pending ") && line.removePrefix("pending ").toULong() == start) line = next()
                assertTrue(line.startsWith("pending "), "the phone finished its sync before it could be killed: $line")
                child.destroyForcibly()
                start to line.removePrefix("pending ").toULong()
            } finally {
                child.destroyForcibly()
                child.waitFor(10, TimeUnit.SECONDS)
            }
            assertTrue(atKill < outbox && atKill > 0uL, "killed mid-sync: outbox $outbox, $atKill left")
            assertTrue(!child.isAlive && child.exitValue() != 0, "the phone process was killed, not finished")

            // The neighbour sees the first batch already.
            other.syncBlocking()
            val arrivedEarly = ledger.items.keys.count { id ->
                runCatching { other.item(id).owner == staff.user.userId }.getOrDefault(false)
            }

            // Reopened: everything she confirmed is still on her phone, then sent.
            val reopened = FushiStore.open(file.path, server.smallPages(staff, PUSH_BATCH, PULL_LIMIT))
            reopened.use { phone ->
                phone.setUser(staff.user)
                val problems = mutableListOf<String>()
                val ownRows = ledger.items.filterValues { it["owner"] == staff.user.userId }.keys
                val beforeSync = phone.view(ownRows + ledger.deletedItems, ledger.stationIds)
                val lostInKill = ledger.items.keys.filter { it in ownRows && beforeSync.items[it]?.get("title") != ledger.items[it]?.get("title") }
                if (lostInKill.isNotEmpty()) problems += "the reopened file lacks ${lostInKill.size} confirmed items before syncing"
                val pendingAfterKill = phone.pendingChanges()

                val rounds = syncUntilQuiet(listOf(phone, other))
                for ((name, store) in listOf("reopened phone" to phone, "neighbour" to other)) {
                    val refused = store.rejectionCounts()
                    if (refused.isNotEmpty()) problems += "$name: the server refused (and the phone rolled back) $refused"
                    if (store.pendingChanges() != 0uL) problems += "$name: ${store.pendingChanges()} changes still pending"
                }
                val mine = phone.view(ledger.itemIds, ledger.stationIds)
                val theirs = other.view(ledger.itemIds, ledger.stationIds)
                problems += ledger.missingFrom("reopened phone", mine)
                problems += ledger.missingFrom("neighbour", theirs)
                problems += describeDifferences("reopened phone", mine, "neighbour", theirs)
                problems += ledger.missingFromFigures("reopened phone", phone)

                println(
                    "  outbox $outbox rows, killed with $atKill left; $arrivedEarly items reached the neighbour before the kill; " +
                        "$pendingAfterKill pending after reopening; quiet after $rounds rounds",
                )
                assertEquals(ledger.items.size + ledger.deletedItems.size, OFFLINE_ITEMS + 30)
                assertTrue(mine.items.size >= OFFLINE_ITEMS + 30 && mine.stations.size >= OFFLINE_STATIONS)
                assertTrue(problems.isEmpty(), "the killed phone lost or diverged:\n" + problems.joinToString("\n"))
            }
            other.close()
        }
    }
}
