// Many phones at once (多部手机同时使用): two grid staff and two residents write
// and sync at the same time through one real server, with tiny push batches
// and pull pages, two of them offline for most of the time. When everyone has
// synced they all show the same thing, field by field, every write a phone
// confirmed is there, and a new install of an old account equals the old phone.
package org.fushi.share

import org.fushi.share.core.*
import org.fushi.share.testing.Test
import java.io.File
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.random.Random
import kotlin.test.assertTrue

/** Items each phone posts (each edited right after posting). */
private const val ITEMS_PER_PHONE = 80

/** Tiny batches: every sync is many requests. */
private const val PUSH_BATCH = 7u
private const val PULL_LIMIT = 11u

class ManyPhonesSyncStoryTest {
    /** One phone: its account, store, and what went wrong on it while it ran. */
    private class Phone(val name: String, val account: Account, val store: FushiStore, val offlineUntil: Int) {
        val syncErrors: MutableList<String> = Collections.synchronizedList(mutableListOf())
        val queryErrors: MutableList<String> = Collections.synchronizedList(mutableListOf())
        val syncs = AtomicInteger()
        val written = AtomicInteger()
        val online = CountDownLatch(1)
        val staff get() = account.user.role == Role.GRID_STAFF
    }

    /** A writer: posts and edits items; staff add stations, check in, report and edit them; all check in elsewhere. */
    private fun write(phone: Phone, index: Int, ledger: Ledger) {
        val rnd = Random(1_000 + index)
        val store = phone.store
        val me = phone.account.user
        val posted = mutableListOf<String>()
        for (i in 0 until ITEMS_PER_PHONE) {
            if (i == phone.offlineUntil) phone.online.countDown()
            val (lat, lon) = rnd.nearCentre()
            val category = listOf("kids", "books", "kitchen", "furniture", "daily")[rnd.nextInt(5)]
            val id = store.postItem(
                NewItem(
                    title = "${phone.name} 的第${i}件",
                    category = category,
                    mode = "give",
                    pickupArea = "福石花园${i % 4}期",
                    lat = lat,
                    lon = lon,
                ),
            )
            // Edited right after posting: the row's latest change is not its creation.
            val title = "${phone.name} 的第${i}件 九成新"
            store.editItem(id, ItemEdit(title = title, description = "第${i}件，周末可取"))
            ledger.item(
                id,
                mapOf(
                    "owner" to me.userId, "community" to me.community, "title" to title,
                    "description" to "第${i}件，周末可取", "category" to category, "mode" to "give",
                    "pickupArea" to "福石花园${i % 4}期", "lat" to store.item(id).lat, "lon" to store.item(id).lon, "status" to "available",
                ),
            )
            when (i % 10) {
                3 -> { store.withdrawItem(id); ledger.item(id, mapOf("status" to "withdrawn")) }
                6 -> store.renewItem(id)
                8 -> { store.deleteListing(ListingKind.ITEM, id); ledger.deleted(id) }
            }
            if (i % 10 != 8) posted += id
            if (phone.staff && i % 5 == 0) {
                // A new station, used at once, then corrected: the check-in
                // and the report point at a row whose latest change is newer.
                val (sLat, sLon) = rnd.nearCentre()
                val station = store.postStation(
                    NewStation(
                        name = "${phone.name} 清凉驿站${i}",
                        lat = sLat,
                        lon = sLon,
                        kind = "cool_station",
                        amenities = listOf("drinking_water"),
                        openingHours = "24/7",
                    ),
                )
                store.checkIn(station)
                val report = store.reportStation(station, "no_water", "下午没水了")
                val (eLat, eLon) = rnd.nearCentre()
                val name = "${phone.name} 清凉驿站${i}（已核实）"
                store.editStation(
                    station,
                    StationEdit(name = name, lat = eLat, lon = eLon, addAmenities = listOf("seating"), note = "核实于第${i}轮"),
                )
                ledger.station(
                    station,
                    mapOf(
                        "owner" to me.userId, "community" to me.community, "name" to name, "lat" to eLat, "lon" to eLon,
                        "kind" to "cool_station", "amenities" to listOf("drinking_water", "seating"),
                        "openingHours" to "24/7", "note" to "核实于第${i}轮",
                    ),
                )
                ledger.checkedIn(station)
                ledger.reported(station, report, "no_water")
            }
            if (i % 3 == 1) {
                // A check-in (and now and then a report) at a station someone
                // else added, if it has reached this phone yet.
                val known = synchronized(ledger.stationOrder) { ledger.stationOrder.toList() }
                if (known.isNotEmpty()) {
                    val target = known[rnd.nextInt(known.size)]
                    try {
                        store.checkIn(target)
                        ledger.checkedIn(target)
                        if (i % 2 == 0) ledger.reported(target, store.reportStation(target, "crowded", null), "crowded")
                    } catch (e: FushiException.NotFound) {
                        // Not synced here yet: nothing was confirmed.
                    }
                }
            }
            // The app keeps reading while syncs run.
            try {
                store.nearestStations(NearbyQuery(lat = lat, lon = lon, radiusM = 5_000.0, limit = 20u))
                store.search(SearchQuery(text = "九成新", limit = 20u))
            } catch (e: FushiException) {
                phone.queryErrors += e.toString()
            }
            phone.written.incrementAndGet()
            Thread.sleep(rnd.nextLong(10, 40))
        }
        // Later: the price drops on a third of them, long after they were
        // posted (and, on the phones online all along, synced).
        for ((n, id) in posted.withIndex()) {
            if (n % 3 != 0) continue
            store.editItem(id, ItemEdit(description = "降价了，第${n}件"))
            ledger.item(id, mapOf("description" to "降价了，第${n}件"))
        }
    }

    /** A sync loop: waits until the phone is online, then syncs until told to stop. */
    private fun syncLoop(phone: Phone, stop: AtomicBoolean) {
        phone.online.await()
        val rnd = Random(phone.name.hashCode())
        while (!stop.get()) {
            try {
                phone.store.syncBlocking()
                phone.syncs.incrementAndGet()
            } catch (e: FushiException) {
                phone.syncErrors += e.toString()
            }
            Thread.sleep(rnd.nextLong(0, 15))
        }
    }

    @Test
    fun fourPhonesWriteAndSyncAtOnceThenAllShowTheSameAndANewInstallEqualsTheOldPhone() {
        TestServer().use { server ->
            val accounts = listOf(
                server.issue(Role.GRID_STAFF), server.issue(Role.RESIDENT),
                server.issue(Role.RESIDENT), server.issue(Role.GRID_STAFF),
            )
            server.start()
            // Wang (staff) and Chen (resident) sync all along; Liu (resident)
            // and Zhao (staff) are offline for most of their writing.
            val names = listOf("王", "陈", "刘", "赵")
            val offlineUntil = listOf(0, 0, ITEMS_PER_PHONE * 2 / 3, ITEMS_PER_PHONE * 4 / 5)
            val phones = accounts.mapIndexed { i, account ->
                Phone(names[i], account, openStore(account.user, server.smallPages(account, PUSH_BATCH, PULL_LIMIT)), offlineUntil[i])
            }
            val ledger = Ledger()
            val stop = AtomicBoolean(false)
            val failures = Collections.synchronizedList(mutableListOf<Throwable>())
            fun thread(name: String, body: () -> Unit) = Thread({
                try { body() } catch (e: Throwable) { failures += e }
            }, name).apply { isDaemon = true; start() }

            val syncers = phones.map { p -> thread("sync-${p.name}") { syncLoop(p, stop) } }
            val writers = phones.mapIndexed { i, p ->
                thread("write-${p.name}") {
                    try { write(p, i, ledger) } finally { p.online.countDown() }
                }
            }
            writers.forEach { it.join(TimeUnit.SECONDS.toMillis(60)) }
            stop.set(true)
            syncers.forEach { it.join(TimeUnit.SECONDS.toMillis(30)) }
            failures.firstOrNull()?.let { throw AssertionError("a writer or sync thread failed: $it", it) }
            check(phones.all { it.written.get() == ITEMS_PER_PHONE }) { "a writer did not finish" }
            check(phones.all { it.syncs.get() > 0 }) { "every phone synced while writing: ${phones.map { it.syncs.get() }}" }

            val rounds = syncUntilQuiet(phones.map { it.store })
            val problems = mutableListOf<String>()
            for (p in phones) {
                if (p.syncErrors.isNotEmpty()) problems += "${p.name}: ${p.syncErrors.size} syncs failed, first: ${p.syncErrors.first()}"
                if (p.queryErrors.isNotEmpty()) problems += "${p.name}: ${p.queryErrors.size} queries failed, first: ${p.queryErrors.first()}"
                val refused = p.store.rejectionCounts()
                if (refused.isNotEmpty()) problems += "${p.name}: the server refused (and the phone rolled back) $refused"
                val pending = p.store.pendingChanges()
                if (pending != 0uL) problems += "${p.name}: $pending changes still pending after $rounds quiet rounds"
            }

            // Every phone shows what the first shows, and everything confirmed.
            val views = phones.map { it.store.view(ledger.itemIds, ledger.stationIds) }
            for (i in phones.indices) {
                problems += ledger.missingFrom(phones[i].name, views[i])
                if (i > 0) problems += describeDifferences(phones[0].name, views[0], phones[i].name, views[i])
                if (phones[i].staff) problems += ledger.missingFromFigures(phones[i].name, phones[i].store)
            }

            // Liu installs the app again on a new phone: same account, same token, empty file.
            val liu = phones[2]
            val newInstall = FushiStore.open(File(tempDir(), "new-install.db").path, server.smallPages(liu.account, PUSH_BATCH, PULL_LIMIT))
            newInstall.use { fresh ->
                fresh.setUser(liu.account.user)
                val first = fresh.syncBlocking()
                check(first.pulled > PULL_LIMIT * 3u) { "the new install's first sync took many pages (pulled ${first.pulled})" }
                syncUntilQuiet(listOf(fresh))
                val freshView = fresh.view(ledger.itemIds, ledger.stationIds)
                problems += describeDifferences("${liu.name}'s old phone", views[2], "${liu.name}'s new install", freshView)
                problems += ledger.missingFrom("${liu.name}'s new install", freshView)
                val refused = fresh.rejectionCounts()
                if (refused.isNotEmpty()) problems += "new install: the server refused $refused"
            }
            phones.forEach { it.store.close() }

            val items = ledger.items.size + ledger.deletedItems.size
            println(
                "  ${phones.size} phones, $items items (${ledger.deletedItems.size} deleted), ${ledger.stations.size} stations, " +
                    "${ledger.checkinCount} check-ins, ${ledger.reportCount} reports; " +
                    "syncs while writing ${phones.map { it.syncs.get() }}, quiet after $rounds rounds",
            )
            // The data is non-trivial: the checks above compared real rows.
            assertTrue(views[0].items.size >= items && views[0].stations.size >= ledger.stations.size && ledger.checkins.isNotEmpty())
            assertTrue(problems.isEmpty(), "the phones did not converge on everything they confirmed:\n" + problems.joinToString("\n"))
        }
    }
}
