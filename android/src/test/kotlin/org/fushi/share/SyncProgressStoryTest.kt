// A first sync of a whole community on a slow connection: the app draws a
// progress bar from a Flow, and the user leaves the screen half way (the
// sync is cancelled); the next sync goes on from where it stopped.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.fushi.share.testing.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** How many items this phone holds (browsing every page of a blank search). */
private fun FushiStore.itemCount(): Int {
    var n = 0
    var offset: UInt? = 0u
    while (offset != null) {
        val page = search(SearchQuery(kinds = listOf(ListingKind.ITEM), limit = 100u, offset = offset))
        n += page.hits.size
        offset = page.nextOffset
    }
    return n
}

class SyncProgressStoryTest {
    @Test
    fun aLongFirstSyncShowsItsProgressAndCanBeCancelledAndResumed() = runBlocking {
        TestServer().use { server ->
            val giver = server.issue(Role.RESIDENT)
            val newcomer = server.issue(Role.RESIDENT)
            server.start()
            val total = 120
            server.phone(giver).use { phone ->
                repeat(total) { phone.postItem(bicycle("闲置物品 $it")) }
                phone.syncBlocking()
            }
            val small = server.settings(newcomer).copy(pullLimit = 10u)

            // The progress bar: one value a page, counting down the server's estimate.
            openStore(newcomer.user, small).use { phone ->
                val bar = async(Dispatchers.Default) {
                    withTimeout(30_000) {
                        phone.syncProgress().takeWhile { it.remaining > 0uL || it.pulled < total.toUInt() }.toList()
                    }
                }
                // Let the collector register before syncing.
                Thread.sleep(200)
                val report = phone.sync()
                val seen = bar.await()
                assertEquals(total.toUInt(), report.pulled)
                assertTrue(seen.isNotEmpty())
                for (p in seen) assertEquals(total.toULong(), p.pulled.toULong() + p.remaining, "$p")
                assertTrue(seen.zipWithNext().all { (a, b) -> a.pulled < b.pulled })
            }

            // Cancelled after the second page, then resumed.
            openStore(newcomer.user, small).use { phone ->
                val id = phone.addSyncProgressListener(object : SyncProgressListener {
                    override fun onProgress(progress: SyncProgress) {
                        if (progress.pullPages == 2u) phone.cancelSync()
                    }
                })
                assertFailsWith<FushiException.Cancelled> { phone.sync() }
                assertTrue(phone.removeSyncProgressListener(id))
                val got = phone.itemCount()
                assertTrue(got in 20..30, "$got items after two pages")
                val rest = phone.sync()
                assertEquals(total - got, rest.pulled.toInt(), "each row once, from where it stopped")
                assertEquals(total, phone.itemCount())
            }
        }
    }
}
