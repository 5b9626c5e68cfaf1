// Test support for the sync stories: what a phone shows, read through the
// public API field by field; what each phone confirmed to its user (the
// ledger); and syncing every phone until nothing moves.
package org.fushi.share

import org.fushi.share.core.*
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/** Centre of the test data (Fushi, Qianshan). */
const val CENTRE_LAT = 22.2700
const val CENTRE_LON = 113.5400

/** Sync settings with tiny pages, so every push and every pull takes many requests. */
fun TestServer.smallPages(account: Account, pushBatch: UInt, pullLimit: UInt): SyncSettings =
    settings(account).copy(pushBatch = pushBatch, pullLimit = pullLimit)

/** Every field of an item as the API returns it (the id is the key). */
fun Item.fields(): Map<String, Any?> = linkedMapOf(
    "owner" to owner,
    "community" to community,
    "createdAt" to createdAt,
    "title" to title,
    "description" to description,
    "category" to category,
    "condition" to condition,
    "mode" to mode,
    "status" to status,
    "swapFor" to swapFor,
    "pickupArea" to pickupArea,
    "lat" to lat, // Double: compared with equals, i.e. bit for bit
    "lon" to lon,
    "expiresAt" to expiresAt,
    "photos" to photos,
    "reservedFor" to reservedFor,
    "hidden" to hidden,
)

/** Every field of a station as the API returns it (the id is the key). */
fun Station.fields(): Map<String, Any?> = linkedMapOf(
    "owner" to owner,
    "community" to community,
    "createdAt" to createdAt,
    "name" to name,
    "address" to address,
    "lat" to lat,
    "lon" to lon,
    "kind" to kind,
    "amenities" to amenities,
    "openingHours" to openingHours,
    "hostOrg" to hostOrg,
    "contact" to contact,
    "note" to note,
    "hidden" to hidden,
)

private val NOT_FOUND: Map<String, Any?> = mapOf("state" to "not found")

/**
 * What one phone shows of the given rows, read through the public API: each
 * item and station field by field (or "not found", or the error), each
 * station's check-in count and current reports, and the ids the listings
 * show (item search by status, nearest stations).
 */
data class PhoneView(
    val items: Map<String, Map<String, Any?>>,
    val stations: Map<String, Map<String, Any?>>,
    val listedItems: Set<String>,
    val listedStations: Set<String>,
)

private inline fun read(block: () -> Map<String, Any?>): Map<String, Any?> = try {
    block()
} catch (e: FushiException.NotFound) {
    NOT_FOUND
} catch (e: FushiException) {
    mapOf("error" to e.toString())
}

/** Ids of every item the search lists with one of [statuses], all pages. */
fun FushiStore.listedItemIds(statuses: List<String> = listOf("available", "reserved", "given", "withdrawn")): Set<String> {
    val ids = mutableSetOf<String>()
    for (status in statuses) {
        var offset = 0u
        while (true) {
            val page = search(
                SearchQuery(
                    kinds = listOf(ListingKind.ITEM),
                    status = status,
                    sort = SortBy.RECENCY,
                    offset = offset,
                    limit = 100u,
                    includeHidden = true,
                ),
            )
            ids += page.hits.map { it.id }
            offset = page.nextOffset ?: break
        }
    }
    return ids
}

/** Ids of the stations within 100 km of the centre (at most 100). */
fun FushiStore.listedStationIds(): Set<String> =
    nearestStations(NearbyQuery(lat = CENTRE_LAT, lon = CENTRE_LON, radiusM = 100_000.0, limit = 100u))
        .map { it.id }.toSet()

/** What [this] phone shows of [itemIds] and [stationIds] (and what it lists). */
fun FushiStore.view(itemIds: Collection<String>, stationIds: Collection<String>): PhoneView {
    val listedItems = listedItemIds()
    val listedStations = listedStationIds()
    val items = (itemIds + listedItems).toSortedSet().associateWith { id -> read { item(id).fields() } }
    val stations = (stationIds + listedStations).toSortedSet().associateWith { id ->
        read {
            station(id).fields() + mapOf(
                "checkins" to checkinCount(id, null),
                "reports" to stationReports(id).map { "${it.id}|${it.kind}|${it.note}|${it.createdAt}|${it.expiresAt}" }.sorted(),
            )
        }
    }
    return PhoneView(items, stations, listedItems, listedStations)
}

/** The fields of [a] and [b] that differ, as `name: a ≠ b`. */
private fun fieldDiff(a: Map<String, Any?>, b: Map<String, Any?>): String =
    (a.keys + b.keys).filter { a[it] != b[it] }.joinToString("; ") { "$it: ${a[it]} ≠ ${b[it]}" }

/**
 * How [b] differs from [a]: a summary line with counts (items, stations,
 * listings), then up to [examples] differing rows field by field. Empty when
 * they are equal.
 */
fun describeDifferences(aName: String, a: PhoneView, bName: String, b: PhoneView, examples: Int = 4): List<String> {
    if (a == b) return emptyList()
    val items = (a.items.keys + b.items.keys).filter { a.items[it] != b.items[it] }
    val stations = (a.stations.keys + b.stations.keys).filter { a.stations[it] != b.stations[it] }
    val out = mutableListOf(
        "$bName differs from $aName: ${items.size} of ${a.items.size} items, " +
            "${stations.size} of ${a.stations.size} stations; item listing ${a.listedItems.size} vs ${b.listedItems.size} " +
            "(${(a.listedItems - b.listedItems).size} only on $aName, ${(b.listedItems - a.listedItems).size} only on $bName), " +
            "station listing ${a.listedStations.size} vs ${b.listedStations.size}",
    )
    for (id in items.take(examples)) {
        out += "  item $id: ${fieldDiff(a.items[id] ?: NOT_FOUND, b.items[id] ?: NOT_FOUND)}"
    }
    for (id in stations.take(examples)) {
        out += "  station $id: ${fieldDiff(a.stations[id] ?: NOT_FOUND, b.stations[id] ?: NOT_FOUND)}"
    }
    return out
}

/**
 * What the phones confirmed to their users: for each item and station the
 * fields as written (null for a deleted item), each station's check-ins and
 * reports. Filled by writer threads; thread-safe.
 */
class Ledger {
    val items: MutableMap<String, Map<String, Any?>> = ConcurrentHashMap()
    val deletedItems: MutableSet<String> = ConcurrentHashMap.newKeySet()
    val stations: MutableMap<String, Map<String, Any?>> = ConcurrentHashMap()
    val checkins: MutableMap<String, AtomicInteger> = ConcurrentHashMap()
    /** Per station: report id → report kind. */
    val reports: MutableMap<String, MutableMap<String, String>> = ConcurrentHashMap()

    /** Every station id, in posting order (writers pick check-in targets here). */
    val stationOrder: MutableList<String> = Collections.synchronizedList(mutableListOf())

    val itemIds: Set<String> get() = items.keys + deletedItems
    val stationIds: Set<String> get() = stations.keys.toSet()

    fun item(id: String, fields: Map<String, Any?>) {
        items[id] = (items[id] ?: emptyMap()) + fields
    }

    fun deleted(id: String) {
        items.remove(id)
        deletedItems += id
    }

    fun station(id: String, fields: Map<String, Any?>) {
        val first = id !in stations
        stations[id] = (stations[id] ?: emptyMap()) + fields
        if (first) stationOrder += id
    }

    fun checkedIn(stationId: String) {
        checkins.computeIfAbsent(stationId) { AtomicInteger() }.incrementAndGet()
    }

    fun reported(stationId: String, reportId: String, kind: String) {
        reports.computeIfAbsent(stationId) { ConcurrentHashMap() }[reportId] = kind
    }

    /** Reports confirmed, all stations. */
    val reportCount: Int get() = reports.values.sumOf { it.size }

    /** Check-ins confirmed, all stations. */
    val checkinCount: Int get() = checkins.values.sumOf { it.get() }

    /**
     * What the programme figures of a staff phone lack: every confirmed
     * check-in and report is counted (the station screens show only the
     * latest report of each kind; the figures count them all).
     */
    fun missingFromFigures(name: String, store: FushiStore): List<String> {
        val f = store.figures(FUSHI, Period(fromMs = 0, toMs = Long.MAX_VALUE))
        return if (f.checkIns == checkinCount.toULong() && f.stationReports == reportCount.toULong()) {
            emptyList()
        } else {
            listOf("$name's figures count ${f.checkIns} check-ins and ${f.stationReports} reports ($checkinCount and $reportCount confirmed)")
        }
    }

    /**
     * Every confirmed write [view] lacks: items missing or with a field other
     * than written (and an `expires_at` not after `created_at`), deleted items
     * still shown, stations missing or changed, check-ins and reports missing.
     * A summary line with counts, then up to [examples] rows.
     */
    fun missingFrom(name: String, view: PhoneView, examples: Int = 4): List<String> {
        val badItems = items.filter { (id, want) ->
            val got = view.items[id] ?: NOT_FOUND
            want.any { (k, v) -> got[k] != v } ||
                (got["expiresAt"] as? Long ?: 0L) <= (got["createdAt"] as? Long ?: 0L)
        }
        val notFound = badItems.keys.count { view.items[it] == NOT_FOUND }
        val undeleted = deletedItems.filter { view.items[it] != NOT_FOUND }
        val badStations = stations.filter { (id, want) ->
            val got = view.stations[id] ?: NOT_FOUND
            want.any { (k, v) -> got[k] != v }
        }
        val badCheckins = checkins.filter { (id, n) -> view.stations[id]?.get("checkins") != n.get().toULong() }
        // A station shows the latest report of each kind: one of the
        // confirmed reports of every kind reported there.
        val badReports = reports.filter { (id, want) ->
            val shown = (view.stations[id]?.get("reports") as? List<*>).orEmpty()
                .map { it.toString().split('|') }.associate { it[1] to it[0] }
            want.values.toSet().any { kind -> shown[kind]?.let { want[it] } != kind }
        }
        if (badItems.isEmpty() && undeleted.isEmpty() && badStations.isEmpty() && badCheckins.isEmpty() && badReports.isEmpty()) {
            return emptyList()
        }
        val out = mutableListOf(
            "$name lacks confirmed writes: ${badItems.size} of ${items.size} items wrong or missing " +
                "($notFound not found), ${undeleted.size} of ${deletedItems.size} deleted items still shown, " +
                "${badStations.size} of ${stations.size} stations wrong or missing, " +
                "check-in counts wrong at ${badCheckins.size} of ${checkins.size} stations " +
                "(${checkins.values.sumOf { it.get() }} confirmed, " +
                "${view.stations.values.sumOf { (it["checkins"] as? ULong ?: 0uL).toLong() }} shown), " +
                "a confirmed report kind not shown at ${badReports.size} of ${reports.size} stations",
        )
        for ((id, want) in badItems.entries.take(examples)) {
            val got = view.items[id] ?: NOT_FOUND
            if (got == NOT_FOUND || "error" in got) {
                out += "  item $id: ${got.values.single()} (confirmed title ${want["title"]}, status ${want["status"]})"
                continue
            }
            out += "  item $id: " + (want.keys + listOf("createdAt", "expiresAt"))
                .filter { it !in want || got[it] != want[it] }
                .joinToString("; ") { "$it: ${got[it]}" + if (it in want) " (confirmed ${want[it]})" else "" }
        }
        for ((id, want) in badStations.entries.take(examples)) {
            val got = view.stations[id] ?: NOT_FOUND
            if (got == NOT_FOUND || "error" in got) {
                out += "  station $id: ${got.values.single()} (confirmed name ${want["name"]})"
                continue
            }
            out += "  station $id: " + want.keys.filter { got[it] != want[it] }
                .joinToString("; ") { "$it: ${got[it]} (confirmed ${want[it]})" }
        }
        for ((id, n) in badCheckins.entries.take(examples)) {
            out += "  station $id: ${view.stations[id]?.get("checkins")} check-ins (confirmed $n)"
        }
        return out
    }
}

/**
 * Syncs every phone in turn until a whole round sends and receives nothing
 * (at most [maxRounds]); returns the number of rounds.
 */
fun syncUntilQuiet(phones: List<FushiStore>, maxRounds: Int = 12): Int {
    for (round in 1..maxRounds) {
        var moved = 0u
        for (phone in phones) {
            val r = phone.syncBlocking()
            moved += r.pushed + r.pulled
            check(!r.more) { "a sync stopped before catching up" }
        }
        if (moved == 0u) return round
    }
    error("still syncing after $maxRounds rounds")
}

/** How many refusals of each code a phone has recorded, e.g. `{unknown_target=3}`. */
fun FushiStore.rejectionCounts(): Map<String, Int> =
    syncRejections().groupingBy { "${it.table}/${it.code}" }.eachCount().toSortedMap()

/** A point with all 17 significant digits, within about a kilometre of the centre. */
fun kotlin.random.Random.nearCentre(): Pair<Double, Double> =
    (CENTRE_LAT + (nextDouble() - 0.5) * 0.02) to (CENTRE_LON + (nextDouble() - 0.5) * 0.02)
