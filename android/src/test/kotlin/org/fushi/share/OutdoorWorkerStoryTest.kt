// Outdoor workers (户外工作者): the nearest cool station that is open now and
// has water, on the map in GCJ-02; "out of water" reports and check-ins.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import kotlin.math.abs
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** A rider at a crossing in Fushi (WGS-84, as GPS gives it). */
private const val RIDER_LAT = 22.2700
private const val RIDER_LON = 113.5400

/** Stations as the street office publishes them (CSV for import-stations). */
private val STATIONS_CSV = """
    name,lat,lon,kind,amenities,opening_hours
    前山路口休息点,22.2702,113.5402,cool_station,seating;toilets,24/7
    福石社区服务中心,22.2710,113.5410,community_center,drinking_water;seating,
    福石清凉驿站,22.2730,113.5430,cool_station,drinking_water;device_charging;first_aid_kit,24/7
    南屏清凉驿站,22.3200,113.6000,cool_station,drinking_water,24/7
""".trimIndent()

class OutdoorWorkerStoryTest {
    @Test
    fun findsTheNearestOpenStationWithWaterAndReportsItRunsOut() {
        TestServer().use { server ->
            val rider = server.issue(Role.RESIDENT)
            server.importStations(STATIONS_CSV)
            server.start()
            server.phone(rider).use { phone ->
                phone.syncBlocking() // stations are city-wide: every phone pulls them

                // Nearest with water, open or not: the service centre (no hours).
                val withWater = phone.nearestStations(
                    NearbyQuery(lat = RIDER_LAT, lon = RIDER_LON, amenities = listOf("drinking_water")),
                )
                assertEquals(listOf("福石社区服务中心", "福石清凉驿站"), withWater.map { it.name })

                // Open now (by the store's clock) and with water: the cool station.
                val open = phone.nearestStations(
                    NearbyQuery(
                        lat = RIDER_LAT,
                        lon = RIDER_LON,
                        radiusM = 3_000.0,
                        limit = 5u,
                        amenities = listOf("drinking_water"),
                        kind = "cool_station",
                        openAt = phone.nowMs(),
                    ),
                )
                val station = open.single()
                assertEquals("福石清凉驿站", station.name)
                assertEquals(true, station.openNow)
                assertTrue(station.distanceM in 300.0..600.0, "distance ${station.distanceM}")
                assertTrue("drinking_water" in station.amenities)
                // The same answer through the Kotlin face.
                val viaFace = runBlocking {
                    phone.nearestOpenStations(RIDER_LAT, RIDER_LON, listOf("drinking_water"))
                }
                assertEquals(station.id, viaFace.first().id)

                // The map SDK draws GCJ-02: the store gives it, the functions agree.
                val gcj = wgs84ToGcj02(GeoPoint(lat = station.lat, lon = station.lon))
                assertTrue(abs(gcj.lat - station.gcj02Lat) < 1e-9 && abs(gcj.lon - station.gcj02Lon) < 1e-9)
                assertTrue(abs(gcj.lon - station.lon) > 1e-4, "GCJ-02 is shifted in China")
                val back = gcj02ToWgs84(gcj)
                assertTrue(abs(back.lat - station.lat) < 1e-6 && abs(back.lon - station.lon) < 1e-6)

                // Out of water: the next rider sees it. A check-in is only counted.
                val report = phone.reportStation(station.id, "no_water", "下午两点没水了")
                assertEquals(listOf(report), phone.stationReports(station.id).map { it.id })
                val again = phone.nearestStations(NearbyQuery(lat = RIDER_LAT, lon = RIDER_LON, openAt = phone.nowMs()))
                assertEquals("no_water", again.first { it.id == station.id }.reports.single().kind)
                phone.checkIn(station.id)
                assertEquals(1uL, phone.checkinCount(station.id, null))
                assertEquals(0uL, phone.checkinCount(station.id, phone.nowMs() + 60_000))
                assertEquals(station.name, phone.station(station.id).name)

                assertEquals(2uL, phone.pendingChanges())
                val sent = phone.syncBlocking()
                assertEquals(0u, sent.rejected)
                assertEquals(0uL, phone.pendingChanges())
            }
        }
    }

    @Test
    fun holidaysChangeWhatIsOpen() {
        val staff = newUser(Role.GRID_STAFF)
        openStore(staff).use { phone ->
            val id = phone.postStation(
                NewStation(
                    name = "福石清凉驿站",
                    lat = 22.2730,
                    lon = 113.5430,
                    kind = "cool_station",
                    amenities = listOf("drinking_water"),
                    openingHours = "Mo-Fr 08:00-18:00; PH off",
                ),
            )
            // 2026-10-01 (Thursday) 10:00 Beijing time = 02:00 UTC.
            val nationalDay = 1_790_820_000_000L
            val q = NearbyQuery(lat = 22.2730, lon = 113.5430, openAt = nationalDay)
            // The built-in 2026: National Day, PH off.
            assertEquals(emptyList(), phone.nearestStations(q).map { it.id })
            assertEquals(listOf(2026), phone.holidayYears())
            // The app's own calendar replaces the years it lists.
            phone.setHolidayCalendar("2026-10-08 holiday")
            assertEquals(listOf(id), phone.nearestStations(q).map { it.id })
            phone.setHolidayCalendar("2026-10-01 holiday  # 国庆节")
            assertEquals(emptyList(), phone.nearestStations(q).map { it.id })
            val e = assertFailsWith<FushiException.InvalidInput> { phone.setHolidayCalendar("2026-13-01 holiday") }
            assertEquals("calendar", e.field)
        }
    }

    @Test
    fun nextYearsHolidaysArriveBySync() {
        TestServer().use { server ->
            val admin = server.issue(Role.ADMIN)
            val rider = server.issue(Role.RESIDENT, "lianhua")
            server.start()
            server.phone(admin).use { adminPhone ->
                server.phone(rider).use { riderPhone ->
                    riderPhone.syncBlocking()
                    assertEquals(listOf(2026), riderPhone.holidayYears())
                    assertFailsWith<FushiException.NotAllowed> {
                        riderPhone.publishHolidayCalendar(2027, "2027-10-01 holiday")
                    }
                    adminPhone.publishHolidayCalendar(2027, "2027-10-01 holiday\n2027-10-02 holiday\n2027-10-09 workday")
                    adminPhone.syncBlocking()
                    riderPhone.syncBlocking()
                    assertEquals(listOf(2026, 2027), riderPhone.holidayYears())
                }
            }
        }
    }
}
