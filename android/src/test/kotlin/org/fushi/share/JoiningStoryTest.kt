// Joining from a phone: grid staff invite, a resident redeems the code on a
// fresh install and syncs, links her tablet, signs a lost device out; staff
// sign a resident out. Against the real server over HTTPS.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

class JoiningStoryTest {
    /** A fresh install: no user, no token, only the server's address. */
    private fun freshInstall(server: TestServer): FushiStore =
        openStore(null, server.settings(Account(newUser(), "")))

    @Test
    fun aResidentJoinsWithACodeLinksHerTabletAndStaffCanSignHerOut() {
        TestServer().use { server ->
            val staff = server.issue(Role.GRID_STAFF)
            server.start()
            server.phone(staff).use { staffPhone ->
                runBlocking {
                    val invite = staffPhone.createInvite(InviteRequest(uses = 1u))
                    assertEquals("resident", invite.role)
                    assertTrue(Regex("[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}").matches(invite.code))

                    freshInstall(server).use { phone ->
                        val me = phone.redeemInvite(invite.code.lowercase(), "android")
                        assertEquals("fushi", me.community)
                        assertEquals(me.user, phone.whoAmI().user)
                        val bike = phone.postItem(bicycle())
                        phone.sync()

                        // Her tablet joins her account with a code from her phone.
                        val link = phone.createInvite(InviteRequest(ownDevice = true))
                        freshInstall(server).use { tablet ->
                            val onTablet = tablet.redeemInvite(link.code, "android")
                            assertEquals(me.user, onTablet.user)
                            assertNotEquals(me.device, onTablet.device)
                            tablet.sync()
                            assertEquals("儿童自行车 八成新", tablet.item(bike).title)

                            val devices = phone.devices(null)
                            assertEquals(2, devices.size)
                            assertEquals(me.device, devices.single { it.current }.device)

                            // The tablet is lost: signed out from her phone.
                            assertEquals(1u, phone.revokeDevice(onTablet.device, null))
                            assertFailsWith<FushiException.SignedOut> { tablet.sync() }
                            phone.sync()
                        }

                        // Grid staff sign the resident out (abuse, a lost phone).
                        assertEquals(1, staffPhone.devices(me.user).size)
                        assertEquals(1u, staffPhone.signOutUser(me.user))
                        val e = assertFailsWith<FushiException.SignedOut> { phone.sync() }
                        assertEquals("revoked_token", e.code)
                        // Nothing written on the phone is lost: it waits.
                        phone.postItem(bicycle("旧台灯"))
                        assertEquals(1uL, phone.pendingChanges())
                    }

                    // A used code is refused.
                    freshInstall(server).use { late ->
                        val e = assertFailsWith<FushiException.Rejected> {
                            late.redeemInvite(invite.code, "ios")
                        }
                        assertEquals("invite_used", e.code)
                    }
                }
            }
        }
    }
}
