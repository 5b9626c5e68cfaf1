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
            phone.configureSync(unreachableSettings(token = "token"))
            assertFailsWith<FushiException.Offline> { phone.sync() }
            phone.configureSync(null)
            assertFailsWith<FushiException.Offline> { phone.sync() }
        }
    }

    @Test
    fun signedOutWhenTheServerRefusesTheToken() {
        TestServer().use { server ->
            val resident = server.issue(Role.RESIDENT)
            server.start()
            openStore(resident.user, server.settings(resident).copy(token = "revoked-or-forged")).use { phone ->
                val e = assertFailsWith<FushiException.SignedOut> { phone.syncBlocking() }
                assertEquals("invalid_token", e.code)
                assertTrue(e.reason.isNotBlank())
                assertFalse("revoked-or-forged" in e.message.orEmpty(), "the token is not echoed")
                // With the right token the same phone syncs.
                phone.configureSync(server.settings(resident))
                phone.syncBlocking()
            }
        }
    }

    @Test
    fun certificateErrorWhenTheServersCertificateIsNotTrusted() = runBlocking {
        TestServer().use { server ->
            val resident = server.issue(Role.RESIDENT)
            server.start()
            val trusted = server.settings(resident)
            // The platform's store does not know the test CA; nor does
            // another CA pinned instead of the deployment's.
            val untrusted = listOf(
                trusted.copy(caCertificatePem = null, maxAttempts = 5u),
                trusted.copy(caCertificatePem = TestCerts.make().caPem),
            )
            openStore(resident.user, null).use { phone ->
                phone.postItem(bicycle())
                for (settings in untrusted) {
                    phone.configureSync(settings)
                    val e = assertFailsWith<FushiException.Certificate> { phone.syncBlocking() }
                    assertTrue(e.reason.isNotBlank())
                    assertFalse(resident.token in e.message.orEmpty(), "the token is not echoed")
                    assertFailsWith<FushiException.Certificate> { phone.sync() }
                    assertEquals(1uL, phone.pendingChanges(), "nothing lost")
                }
                // Pinning the deployment's CA, the same phone syncs.
                phone.configureSync(trusted)
                assertEquals(1u, phone.sync().pushed)
            }
        }
    }

    @Test
    fun cleartextIsRefusedUnlessAllowed() {
        TestServer(tls = false).use { server ->
            val resident = server.issue(Role.RESIDENT)
            server.start()
            assertTrue(server.url.startsWith("http://"))
            val cleartext = server.settings(resident)
            openStore(resident.user, null).use { phone ->
                val e = assertFailsWith<FushiException.InvalidInput> {
                    phone.configureSync(cleartext.copy(allowCleartext = false))
                }
                assertEquals("server_url", e.field)
                // Explicitly allowed (loopback development, tests): it syncs.
                phone.configureSync(cleartext)
                phone.postItem(bicycle())
                assertEquals(1u, phone.syncBlocking().pushed)
            }
        }
    }

    @Test
    fun aPinnedCaThatIsNotPemIsInvalidInput() {
        openStore(newUser()).use { phone ->
            val e = assertFailsWith<FushiException.InvalidInput> {
                phone.configureSync(unreachableSettings().copy(caCertificatePem = "not a certificate"))
            }
            assertEquals("ca_certificate_pem", e.field)
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
