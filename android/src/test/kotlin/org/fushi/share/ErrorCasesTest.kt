// Every FushiException case a UI acts on, each reached through the real
// library: bad input names the field; no personal data in any message.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import java.io.File
import java.io.RandomAccessFile
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

class ErrorCasesTest {
    @Test
    fun invalidInputNamesTheField() {
        openStore(newUser()).use { phone ->
            val title = assertFailsWith<FushiException.InvalidInput> { phone.postItem(bicycle(title = "")) }
            assertEquals("title", title.field)
            assertTrue(title.reason.isNotBlank())

            val id = assertFailsWith<FushiException.InvalidInput> { phone.item("not-an-id") }
            assertEquals("id", id.field)

            val lat = assertFailsWith<FushiException.InvalidInput> {
                phone.postItem(bicycle().copy(lat = 22.27, lon = null))
            }
            assertEquals("lon", lat.field)

            val kinds = assertFailsWith<FushiException.InvalidInput> {
                phone.search(SearchQuery(kinds = listOf(ListingKind.STATION)))
            }
            assertEquals("kinds", kinds.field)

            val user = assertFailsWith<FushiException.InvalidInput> {
                phone.setUser(User(userId = "13800138000", role = Role.RESIDENT, community = FUSHI))
            }
            assertEquals("user_id", user.field)
            assertFalse("13800138000" in user.message.orEmpty(), "no value in the message")

            val month = assertFailsWith<FushiException.InvalidInput> { monthPeriod(2026, 13u) }
            assertEquals("month", month.field)
        }
    }

    @Test
    fun notAllowedForResidentsOnStaffWorkAndForNobodySignedIn() {
        openStore(newUser(Role.RESIDENT)).use { phone ->
            val e = assertFailsWith<FushiException.NotAllowed> {
                phone.postStation(NewStation(name = "驿站", lat = 22.27, lon = 113.54, kind = "cool_station"))
            }
            assertTrue(e.reason.isNotBlank())
            val item = phone.postItem(bicycle())
            phone.setUser(newUser(Role.RESIDENT))
            assertFailsWith<FushiException.NotAllowed> { phone.hideListing(ListingKind.ITEM, item, true) }
            assertFailsWith<FushiException.NotAllowed> { phone.editItem(item, ItemEdit(title = "我的了")) }
            phone.setUser(null)
            assertFailsWith<FushiException.NotAllowed> { phone.postItem(bicycle()) }
        }
    }

    @Test
    fun notFoundForAnUnknownListing() {
        openStore(newUser()).use { phone ->
            val unknown = UUID.randomUUID().toString()
            assertFailsWith<FushiException.NotFound> { phone.item(unknown) }
            assertFailsWith<FushiException.NotFound> { phone.station(unknown) }
            assertFailsWith<FushiException.NotFound> { phone.skill(unknown) }
            assertFailsWith<FushiException.NotFound> { phone.need(unknown) }
            assertFailsWith<FushiException.NotFound> { phone.requestItem(unknown, null) }
        }
    }

    @Test
    fun offlineWithoutAServerAndWithAnUnreachableOne() = runBlocking {
        openStore(newUser()).use { phone ->
            // No server configured yet: the store works offline.
            assertFailsWith<FushiException.Offline> { phone.syncBlocking() }
            phone.configureSync(SyncSettings(serverUrl = unreachableUrl(), token = "token"))
            assertFailsWith<FushiException.Offline> { phone.sync() }
            phone.configureSync(null)
            assertFailsWith<FushiException.Offline> { phone.sync() }
        }
    }

    @Test
    fun rejectedWhenTheServerRefusesTheToken() {
        TestServer().use { server ->
            val resident = server.issue(Role.RESIDENT)
            server.start()
            openStore(resident.user, SyncSettings(serverUrl = server.url, token = "revoked-or-forged")).use { phone ->
                val e = assertFailsWith<FushiException.Rejected> { phone.syncBlocking() }
                assertTrue(e.code.isNotBlank() && e.reason.isNotBlank())
                assertFalse("revoked-or-forged" in e.message.orEmpty(), "the token is not echoed")
                // With the right token the same phone syncs.
                phone.configureSync(server.settings(resident))
                phone.syncBlocking()
            }
        }
    }

    @Test
    fun upgradeRequiredForADatabaseFromANewerApp() {
        val path = File(tempDir(), "phone.db")
        FushiStore.open(path.path, null).use { it.setUser(newUser()); it.postItem(bicycle()) }
        // The header's user_version (offset 60): what a newer app's migration would write.
        RandomAccessFile(path, "rw").use { f ->
            f.seek(60)
            f.writeInt(99)
        }
        assertFailsWith<FushiException.UpgradeRequired> { FushiStore.open(path.path, null) }
    }

    @Test
    fun storageErrorForAFileThatIsNotADatabase() {
        val path = File(tempDir(), "notes.db").apply { writeText("这不是数据库 ".repeat(200)) }
        val e = assertFailsWith<FushiException.Storage> { FushiStore.open(path.path, null) }
        assertTrue(e.reason.isNotBlank())
        assertFalse("这不是数据库" in e.message.orEmpty())
    }
}
