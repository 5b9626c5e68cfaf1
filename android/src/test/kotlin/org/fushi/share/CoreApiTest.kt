package org.fushi.share

import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import java.util.Collections
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** Records every call from Rust. */
private class RecordingObserver : ChangeObserver {
    val calls: MutableList<List<String>> = Collections.synchronizedList(mutableListOf())

    override fun onChange(ids: List<String>) {
        calls += ids
    }
}

class CoreApiTest {
    @Test
    fun coreVersionIsTheCrateVersion() {
        val expected = System.getProperty("fushi.expectedVersion")
        val version = coreVersion()
        assertTrue(Regex("""\d+\.\d+\.\d+.*""").matches(version), "not a semver: $version")
        if (expected != null) assertEquals(expected, version)
    }

    @Test
    fun validCoordinatesPass() {
        validateCoordinates(31.2304, 121.4737)
        validateCoordinates(-90.0, -180.0)
        validateCoordinates(90.0, 180.0)
    }

    @Test
    fun invalidLatitudeIsInvalidInputNamingTheField() {
        val e = assertFailsWith<FushiException.InvalidInput> { validateCoordinates(90.5, 0.0) }
        assertEquals("lat", e.field)
        assertTrue(e.reason.isNotBlank())
    }

    @Test
    fun nonFiniteLongitudeIsInvalidInput() {
        val e = assertFailsWith<FushiException.InvalidInput> { validateCoordinates(0.0, Double.NaN) }
        assertEquals("lon", e.field)
        // The sealed base type is what app code catches.
        assertFailsWith<FushiException> { validateCoordinates(0.0, Double.POSITIVE_INFINITY) }
    }

    @Test
    fun rustCallsTheKotlinObserver() {
        ChangeFeed().use { feed ->
            val a = RecordingObserver()
            val b = RecordingObserver()
            val subA = feed.subscribe(a)
            feed.subscribe(b)
            assertEquals(2u, feed.observerCount())

            assertEquals(2u, feed.publish(listOf("item-1", "item-2")))
            assertEquals(0u, feed.publish(emptyList()))
            assertEquals(listOf(listOf("item-1", "item-2")), a.calls)

            assertTrue(feed.unsubscribe(subA))
            assertTrue(!feed.unsubscribe(subA))
            assertEquals(1u, feed.publish(listOf("station-9")))
            assertEquals(1, a.calls.size)
            assertEquals(listOf(listOf("item-1", "item-2"), listOf("station-9")), b.calls)
        }
    }

    @Test
    fun asyncPublishSuspendsThenCallsBack() = runBlocking {
        ChangeFeed().use { feed ->
            val observer = RecordingObserver()
            feed.subscribe(observer)
            val start = System.nanoTime()
            val notified = feed.publishAfter(50uL, listOf("need-7"))
            val elapsedMs = (System.nanoTime() - start) / 1_000_000
            assertEquals(1u, notified)
            assertTrue(elapsedMs >= 45, "returned after $elapsedMs ms, before the delay")
            // uniffi polls Rust futures from the calling coroutine, so the callback
            // runs there; the tokio timer only wakes the future.
            assertEquals(listOf(listOf("need-7")), observer.calls)
        }
    }

    @Test
    fun asyncCallsRunConcurrently() = runBlocking {
        ChangeFeed().use { feed ->
            val observer = RecordingObserver()
            feed.subscribe(observer)
            val start = System.nanoTime()
            // Eight 300 ms waits on one thread: only concurrent if nothing blocks.
            val results = (1..8).map { n ->
                async { feed.publishAfter(300uL, listOf("id-$n")) }
            }.awaitAll()
            val elapsedMs = (System.nanoTime() - start) / 1_000_000
            assertEquals(List(8) { 1u }, results)
            assertEquals(8, observer.calls.size)
            assertTrue(elapsedMs < 2_000, "8 concurrent 300 ms calls took $elapsedMs ms")
        }
    }

    @Test
    fun asyncErrorsSurfaceAsExceptions() = runBlocking {
        ChangeFeed().use { feed ->
            val e = assertFailsWith<FushiException.InvalidInput> {
                feed.publishAfter(3_600_000uL, listOf("x"))
            }
            assertEquals("delay_ms", e.field)
        }
    }
}
