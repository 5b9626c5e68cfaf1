// The idiomatic Kotlin face of the generated bindings (org.fushi.share):
// listing events as a Flow over the ListingObserver callback, and suspend
// wrappers that move blocking store calls off the caller's thread.
//
// Threading: FushiStore is thread-safe. Its methods block on SQLite (and
// syncBlocking on the network), so call them from Dispatchers.IO, e.g. with
// [onIo]; `sync()` is already a suspend fun. Observers (and so these flows)
// hear of a write on the thread that made it.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.withContext

/** What a [FushiStore] tells its observers. */
sealed interface ListingEvent {
    /** Rows changed by a local write or a sync: refresh what shows them. */
    data class Changed(val changes: List<ChangedRow>) : ListingEvent

    /** Offers that arrived with a sync and match one of the user's open needs. */
    data class NewMatches(val matches: List<Match>) : ListingEvent
}

/**
 * Every [ListingEvent] of this store while collected. The observer is
 * registered when collection starts and removed when it stops; events are
 * buffered without limit, so a slow collector never loses one.
 */
fun FushiStore.events(): Flow<ListingEvent> = callbackFlow {
    val observer = object : ListingObserver {
        override fun onChanged(changes: List<ChangedRow>) {
            trySend(ListingEvent.Changed(changes))
        }

        override fun onNewMatches(matches: List<Match>) {
            trySend(ListingEvent.NewMatches(matches))
        }
    }
    val id = addObserver(observer)
    awaitClose { removeObserver(id) }
}.buffer(Channel.UNLIMITED)

/** The rows changed by each local write or sync. */
fun FushiStore.changes(): Flow<List<ChangedRow>> =
    events().filterIsInstance<ListingEvent.Changed>().map { it.changes }

/** The offers that newly match the signed-in user's needs, after each sync. */
fun FushiStore.newMatches(): Flow<List<Match>> =
    events().filterIsInstance<ListingEvent.NewMatches>().map { it.matches }

/**
 * How far each sync of this store has come while collected: after every batch
 * sent and every page received. A progress bar shows
 * `pulled / (pulled + remaining)`. Cancel a long sync with [FushiStore.cancelSync]
 * (or by cancelling the coroutine that runs `sync()`): what it applied stays,
 * and the next sync goes on from there.
 */
fun FushiStore.syncProgress(): Flow<SyncProgress> = callbackFlow {
    val listener = object : SyncProgressListener {
        override fun onProgress(progress: SyncProgress) {
            trySend(progress)
        }
    }
    val id = addSyncProgressListener(listener)
    awaitClose { removeSyncProgressListener(id) }
}.buffer(Channel.UNLIMITED)

/** Runs blocking store calls on [Dispatchers.IO]: `store.onIo { postItem(item) }`. */
suspend fun <T> FushiStore.onIo(block: FushiStore.() -> T): T =
    withContext(Dispatchers.IO) { block() }

/**
 * The outdoor worker's question: stations open now near a GPS (WGS-84)
 * position, with all of [amenities] (e.g. `"drinking_water"`), nearest first.
 * "Now" is the store's clock, corrected by the server's time after a sync.
 * The position never leaves the phone.
 */
suspend fun FushiStore.nearestOpenStations(
    lat: Double,
    lon: Double,
    amenities: List<String> = emptyList(),
    radiusM: Double = 3_000.0,
    limit: UInt = 10u,
): List<NearbyStation> = onIo {
    nearestStations(
        NearbyQuery(
            lat = lat,
            lon = lon,
            radiusM = radiusM,
            limit = limit,
            amenities = amenities,
            openAt = nowMs(),
        ),
    )
}
