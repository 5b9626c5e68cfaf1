// Grid staff (网格员): keep stations right (two staff editing one station at
// once both keep their edits), moderate listings, see the programme figures.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import java.time.ZoneId
import java.time.ZonedDateTime
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

class GridStaffStoryTest {
    @Test
    fun twoStaffEditOneStationAtOnceAndBothEditsSurviveTheSync() {
        TestServer().use { server ->
            val wang = server.issue(Role.GRID_STAFF)
            val li = server.issue(Role.GRID_STAFF)
            server.start()
            server.phone(wang).use { wangPhone ->
                server.phone(li).use { liPhone ->
                    val id = wangPhone.postStation(
                        NewStation(
                            name = "福石清凉驿站",
                            address = "前山街道福石路",
                            lat = 22.2730,
                            lon = 113.5430,
                            kind = "cool_station",
                            amenities = listOf("drinking_water"),
                            openingHours = "Mo-Fr 08:00-18:00",
                            hostOrg = "福石社区居委会",
                        ),
                    )
                    wangPhone.syncBlocking()
                    runBlocking { liPhone.sync() }
                    assertEquals("福石清凉驿站", liPhone.station(id).name)

                    // Both edit before either syncs again.
                    liPhone.editStation(
                        id,
                        StationEdit(openingHours = "Mo-Su 07:00-20:00", addAmenities = listOf("first_aid_kit")),
                    )
                    wangPhone.editStation(
                        id,
                        StationEdit(contact = "0756-1234567", addAmenities = listOf("device_charging")),
                    )
                    val heard = Recorder()
                    wangPhone.addObserver(heard)
                    liPhone.syncBlocking()
                    val wangReport = runBlocking { wangPhone.sync() }
                    liPhone.syncBlocking()

                    assertTrue(wangReport.pulled >= 1u)
                    assertTrue(heard.heard(RowKind.STATION, id), "the pulled edit was announced")
                    for (phone in listOf(wangPhone, liPhone)) {
                        val s = phone.station(id)
                        assertEquals("Mo-Su 07:00-20:00", s.openingHours)
                        assertEquals("0756-1234567", s.contact)
                        assertEquals(listOf("device_charging", "drinking_water", "first_aid_kit"), s.amenities)
                    }
                }
            }
        }
    }

    @Test
    fun staffHideAListingAndReadTheFigures() {
        TestServer().use { server ->
            val staff = server.issue(Role.GRID_STAFF)
            val resident = server.issue(Role.RESIDENT)
            server.start()
            server.phone(resident).use { residentPhone ->
                server.phone(staff).use { staffPhone ->
                    val item = residentPhone.postItem(bicycle("全新电饭煲"))
                    residentPhone.syncBlocking()
                    staffPhone.syncBlocking()

                    staffPhone.hideListing(ListingKind.ITEM, item, true)
                    val seenByStaff = staffPhone.search(SearchQuery(text = "电饭煲", includeHidden = true))
                    assertTrue(seenByStaff.hits.single().hidden)
                    staffPhone.syncBlocking()
                    residentPhone.syncBlocking()
                    assertEquals(emptyList(), residentPhone.search(SearchQuery(text = "电饭煲")).hits)
                    assertTrue(residentPhone.item(item).hidden)

                    val now = ZonedDateTime.now(ZoneId.of("Asia/Shanghai"))
                    val month = monthPeriod(now.year, now.monthValue.toUInt())
                    assertTrue(month.fromMs <= staffPhone.nowMs() && staffPhone.nowMs() < month.toMs)
                    val figures = staffPhone.figures(FUSHI, month)
                    assertEquals(1uL, figures.itemsPosted)
                    assertEquals(0uL, figures.itemsGiven)
                    val everything = staffPhone.figures(FUSHI, Period(fromMs = 0, toMs = Long.MAX_VALUE))
                    assertEquals(figures, everything)

                    // Only staff of the community see the figures.
                    assertFailsWith<FushiException.NotAllowed> { residentPhone.figures(FUSHI, month) }
                    assertFailsWith<FushiException.NotAllowed> { staffPhone.figures("nanping", month) }
                }
            }
        }
    }

    @Test
    fun aChangeTheServerRefusesIsRolledBackAndListed() {
        TestServer().use { server ->
            val resident = server.issue(Role.RESIDENT)
            server.start()
            // The app believes this user is staff; the server's token says resident.
            val pretending = resident.user.copy(role = Role.GRID_STAFF)
            openStore(pretending, server.settings(resident)).use { phone ->
                val heard = Recorder()
                phone.addObserver(heard)
                val id = phone.postStation(
                    NewStation(name = "假驿站", lat = 22.27, lon = 113.54, kind = "cool_station"),
                )
                val report = phone.syncBlocking()
                assertEquals(1u, report.rejected)
                assertTrue(report.changed.any { it.kind == RowKind.STATION && it.id == id })
                assertFailsWith<FushiException.NotFound> { phone.station(id) }

                val rejection = phone.syncRejections().single()
                assertEquals("station", rejection.table)
                assertEquals(id, rejection.id)
                assertEquals("staff_only", rejection.code)
                assertTrue(rejection.reason.isNotBlank())
                phone.clearSyncRejections()
                assertEquals(emptyList(), phone.syncRejections())
                // Nothing arrived with a clock far ahead.
                assertEquals(emptyList(), phone.quarantine())
            }
        }
    }
}
