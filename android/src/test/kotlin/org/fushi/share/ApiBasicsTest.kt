// The plain functions, the observer registry and the Kotlin face (Flow).
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.fushi.share.testing.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class ApiBasicsTest {
    @Test
    fun coreVersionIsTheCrateVersion() {
        val expected = System.getProperty("fushi.expectedVersion")
        val version = coreVersion()
        assertTrue(Regex("""\d+\.\d+\.\d+.*""").matches(version), "not a semver: $version")
        if (expected != null) assertEquals(expected, version)
    }

    @Test
    fun cataloguesHaveCodesAndBothLabels() {
        for (kind in CatalogueKind.values()) {
            val entries = catalogue(kind)
            assertTrue(entries.isNotEmpty(), "$kind")
            assertTrue(entries.all { it.code.isNotBlank() && it.zh.isNotBlank() && it.en.isNotBlank() })
        }
        assertTrue(catalogue(CatalogueKind.AMENITIES).any { it.code == "drinking_water" && it.zh == "饮用水" })
        assertTrue(catalogue(CatalogueKind.REPORT_KINDS).any { it.code == "no_water" })
        // A code this version does not know (from a newer app, via the server) is
        // shown with the fallback label; a known one with its own.
        assertEquals(Category("e_bike_parts", "其他", "Other"), catalogueLabel(CatalogueKind.ITEM_CATEGORIES, "e_bike_parts"))
        assertEquals("饮用水", catalogueLabel(CatalogueKind.AMENITIES, "drinking_water").zh)
    }

    @Test
    fun outsideChinaCoordinatesAreNotShifted() {
        val paris = GeoPoint(lat = 48.8566, lon = 2.3522)
        assertEquals(paris, wgs84ToGcj02(paris))
        assertEquals(paris, gcj02ToWgs84(paris))
    }

    @Test
    fun observersAreAddedAndRemoved() {
        openStore(newUser()).use { phone ->
            val a = Recorder()
            val b = Recorder()
            val idA = phone.addObserver(a)
            phone.addObserver(b)
            val first = phone.postItem(bicycle())
            assertTrue(phone.removeObserver(idA))
            assertFalse(phone.removeObserver(idA))
            val second = phone.postItem(bicycle("婴儿车"))
            assertEquals(listOf(ChangedRow(RowKind.ITEM, first)), a.changes)
            assertEquals(listOf(first, second), b.changes.map { it.id })
        }
    }

    @Test
    fun writesArriveAsAFlow() = runBlocking {
        openStore(newUser()).use { phone ->
            val next = async(Dispatchers.Default) { withTimeout(5_000) { phone.changes().first() } }
            // Let the collector register its observer before writing.
            var id = ""
            while (!next.isCompleted) {
                id = phone.onIo { postItem(bicycle()) }
                delay(50)
            }
            val changes = next.await()
            assertEquals(RowKind.ITEM, changes.single().kind)
            assertTrue(changes.single().id.isNotEmpty() && id.isNotEmpty())
        }
    }

    @Test
    fun manyStoresCanBeUsedFromManyThreads() {
        openStore(newUser()).use { phone ->
            val threads = (1..4).map { n ->
                Thread { repeat(10) { phone.postItem(bicycle("物品 $n-$it")) } }
            }
            threads.forEach { it.start() }
            threads.forEach { it.join() }
            assertEquals(40uL, phone.pendingChanges())
            assertEquals(20, phone.search(SearchQuery(text = "物品", limit = 20u)).hits.size)
        }
    }
}
