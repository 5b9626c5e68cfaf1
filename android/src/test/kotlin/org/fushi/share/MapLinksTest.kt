// "Navigate to this station": BD-09 conversions and the map apps' links, as
// the app calls them (issue 15, part 3).
package org.fushi.share

import org.fushi.share.core.*
import org.fushi.share.testing.Test
import java.net.URLDecoder
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class MapLinksTest {
    private val station = GeoPoint(lat = 22.2707, lon = 113.5767) // WGS-84, Zhuhai

    private fun close(a: GeoPoint, b: GeoPoint, tolerance: Double) =
        abs(a.lat - b.lat) < tolerance && abs(a.lon - b.lon) < tolerance

    /** The query value of [key], decoded. */
    private fun param(link: String, key: String): String? =
        link.substringAfter('?').split('&')
            .map { it.split('=', limit = 2) }
            .firstOrNull { it[0] == key }
            ?.let { URLDecoder.decode(it[1], "UTF-8") }

    @Test
    fun bd09ConversionsRoundTrip() {
        val bd = wgs84ToBd09(station)
        val gcj = wgs84ToGcj02(station)
        // BD-09 is GCJ-02 shifted further, roughly 0.006 degrees north-east.
        assertEquals(bd, gcj02ToBd09(gcj))
        assertTrue(bd.lat - gcj.lat > 0.005 && bd.lon - gcj.lon > 0.005, "$bd from $gcj")
        assertTrue(close(bd09ToWgs84(bd), station, 1e-6))
        assertTrue(close(bd09ToGcj02(bd), gcj, 1e-9))
    }

    @Test
    fun linksCarryTheAppsCoordinatesAndTheEncodedName() {
        val name = "香洲 纳凉点"
        val amap = navigationLink(MapApp.AMAP, station, name, "fushi")
        assertTrue(amap.startsWith("https://uri.amap.com/navigation?"), amap)
        val to = param(amap, "to")!!.split(',', limit = 3)
        assertEquals(name, to[2])
        val gcj = wgs84ToGcj02(station)
        assertTrue(close(GeoPoint(lat = to[1].toDouble(), lon = to[0].toDouble()), gcj, 1e-6))

        val baidu = navigationLink(MapApp.BAIDU, station, name, "andr.fushi.share")
        assertTrue(baidu.startsWith("baidumap://map/direction?"), baidu)
        assertTrue(baidu.all { it.code < 128 }, "not ASCII: $baidu")
        val (latS, lonS) = param(baidu, "destination")!!.substringAfter("latlng:").split(',')
        assertTrue(close(GeoPoint(lat = latS.toDouble(), lon = lonS.toDouble()), wgs84ToBd09(station), 1e-6))
        assertEquals("bd09ll", param(baidu, "coord_type"))

        val tencent = navigationLink(MapApp.TENCENT, station, name, "DEV-KEY")
        assertTrue(tencent.startsWith("qqmap://map/routeplan?type=walk"), tencent)
        assertEquals(name, param(tencent, "to"))
        assertEquals("DEV-KEY", param(tencent, "referer"))

        val apple = navigationLink(MapApp.APPLE, station, name, "")
        assertTrue(apple.startsWith("https://maps.apple.com/?daddr="), apple)
        assertEquals("w", param(apple, "dirflg"))
        // Outside mainland China Apple Maps takes WGS-84 as it is.
        val paris = GeoPoint(lat = 48.8566, lon = 2.3522)
        assertEquals("https://maps.apple.com/?daddr=48.856600,2.352200&dirflg=w", navigationLink(MapApp.APPLE, paris, "", ""))
    }

    @Test
    fun badInputNamesTheField() {
        val nowhere = GeoPoint(lat = 95.0, lon = 0.0)
        val e = assertFailsWith<FushiException.InvalidInput> { navigationLink(MapApp.AMAP, nowhere, "x", "fushi") }
        assertEquals("destination", e.field)
        val s = assertFailsWith<FushiException.InvalidInput> { navigationLink(MapApp.TENCENT, station, "x", " ") }
        assertEquals("source", s.field)
    }
}
