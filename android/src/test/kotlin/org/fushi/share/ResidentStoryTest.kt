// Residents (居民): post, edit, withdraw and delete items offline; ask for an
// item and hand it over; offer skills, post needs, search and find matches.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

private const val PHOTO_REF = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

class ResidentStoryTest {
    @Test
    fun anItemPostedWithNoSignalIsKeptAndWaitsToBeSent() = runBlocking {
        val owner = newUser()
        // A server is configured but nothing answers: the phone has no signal.
        openStore(owner, unreachableSettings()).use { phone ->
            val heard = Recorder()
            phone.addObserver(heard)
            val id = phone.postItem(bicycle())
            assertTrue(heard.heard(RowKind.ITEM, id), "the observer heard the post")

            assertFailsWith<FushiException.Offline> { phone.syncBlocking() }
            assertFailsWith<FushiException.Offline> { phone.sync() }

            val item = phone.item(id)
            assertEquals("儿童自行车 八成新", item.title)
            assertEquals("available", item.status)
            assertEquals(owner.userId, item.owner)
            assertEquals(1uL, phone.pendingChanges())
            assertNull(phone.lastSyncedAt())
        }
    }

    @Test
    fun anItemsPositionIsTheCompoundsNeverTheFlats() {
        openStore(newUser()).use { phone ->
            val flat = GeoPoint(22.27137, 113.54389)
            // No compound list: the ~100 m grid.
            val onGrid = phone.item(phone.postItem(bicycle().copy(lat = flat.lat, lon = flat.lon)))
            assertEquals(22.271, onGrid.lat!!, 1e-12)
            assertEquals(113.544, onGrid.lon!!, 1e-12)
            // Within a known compound's grounds: its centre.
            val garden = GeoPoint(22.2712, 113.5437)
            phone.setCompounds(listOf(Compound("福石花园", garden, 150.0)))
            val snapped = phone.item(phone.postItem(bicycle().copy(lat = flat.lat, lon = flat.lon)))
            assertEquals(garden.lat, snapped.lat!!, 0.0)
            assertEquals(garden.lon, snapped.lon!!, 0.0)
        }
    }

    @Test
    fun theOwnerEditsWithdrawsRenewsAndDeletesItems() {
        openStore(newUser()).use { phone ->
            val heard = Recorder()
            phone.addObserver(heard)
            val id = phone.postItem(bicycle())
            phone.editItem(
                id,
                ItemEdit(
                    description = "送给有孩子的邻居",
                    // A reference as photos are named: sha256 of their bytes.
                    addPhotos = listOf(PHOTO_REF),
                    addTags = listOf("儿童", "可议价"),
                ),
            )
            val edited = phone.item(id)
            assertEquals("送给有孩子的邻居", edited.description)
            assertEquals(listOf(PHOTO_REF), edited.photos)
            // A free-form reference is refused (post photos as bytes).
            val freeForm = assertFailsWith<FushiException.InvalidInput> {
                phone.editItem(id, ItemEdit(addPhotos = listOf("photo-1")))
            }
            assertEquals("photos", freeForm.field)
            assertEquals(listOf("儿童", "可议价"), edited.tags)
            phone.editItem(id, ItemEdit(removeTags = listOf("可议价")))
            assertEquals(listOf("儿童"), phone.item(id).tags)
            val tooLong = "长".repeat(21)
            val refused = assertFailsWith<FushiException.InvalidInput> {
                phone.editItem(id, ItemEdit(addTags = listOf(tooLong)))
            }
            assertEquals("tags", refused.field)

            val before = phone.item(id).expiresAt
            Thread.sleep(5)
            phone.renewItem(id)
            assertTrue(phone.item(id).expiresAt > before, "renewed")

            phone.withdrawItem(id)
            assertEquals("withdrawn", phone.item(id).status)
            assertEquals(ItemState.WITHDRAWN, phone.itemLifecycle(id).state)

            phone.deleteListing(ListingKind.ITEM, id)
            assertFailsWith<FushiException.NotFound> { phone.item(id) }
            assertEquals(6, heard.changes.count { it.id == id }, "one notice per write")
        }
    }

    @Test
    fun aQueueOfRequestsEndsInAHandover() {
        val owner = newUser()
        val (first, second, third, fourth) = List(4) { newUser() }
        openStore(owner).use { phone ->
            val heard = Recorder()
            phone.addObserver(heard)
            val item = phone.postItem(bicycle())

            // Neighbours ask, in turn (one phone, users switching, for brevity).
            phone.setUser(first)
            val r1 = phone.requestItem(item, "周六上午可以来拿吗")
            assertTrue(heard.heard(RowKind.ITEM_REQUEST, r1) && heard.heard(RowKind.ITEM, item))
            phone.setUser(second)
            val r2 = phone.requestItem(item, null)
            phone.setUser(third)
            val r3 = phone.requestItem(item, null)
            phone.setUser(fourth)
            val r4 = phone.requestItem(item, null)
            assertEquals(3u, phone.itemLifecycle(item).myPosition)
            phone.cancelRequest(r4)

            phone.setUser(owner)
            val lc = phone.itemLifecycle(item)
            assertEquals(listOf(r1, r2, r3), lc.queue.map { it.requestId })
            assertEquals("周六上午可以来拿吗", lc.queue.first().note)
            assertEquals("福石花园", lc.pickupArea)
            assertEquals(Expiry.ACTIVE, lc.expiry)

            phone.declineRequest(r2)
            assertEquals(r1, phone.acceptNextRequest(item))
            assertEquals(ItemState.RESERVED, phone.itemLifecycle(item).state)
            // The first never came: the next in line gets it.
            assertEquals(r3, phone.markNoShow(r1))

            val afterGiver = phone.confirmHandover(item)
            assertTrue(afterGiver.giverConfirmed)
            assertEquals(ItemState.RESERVED, afterGiver.state)
            phone.setUser(third)
            val given = phone.confirmHandover(item)
            assertEquals(ItemState.GIVEN, given.state)
            assertEquals(r3, given.accepted?.requestId)
        }
    }

    @Test
    fun skillsNeedsSearchAndMatches() {
        val handy = newUser()
        val neighbour = newUser()
        openStore(handy).use { phone ->
            val skill = phone.postSkill(
                NewSkill(title = "修理电风扇", category = "appliance_repair", availability = "周末"),
            )
            phone.editSkill(skill, SkillEdit(description = "家电小修，免费"))
            assertEquals("家电小修，免费", phone.skill(skill).description)
            assertEquals("active", phone.skill(skill).status)

            phone.setUser(neighbour)
            Thread.sleep(2) // a later posting time than the skill's, for the newest-first page
            val need = phone.postNeed(
                NewNeed(title = "电风扇坏了", want = "skill", category = "appliance_repair"),
            )
            phone.editNeed(need, NeedEdit(description = "不转了"))
            assertEquals("不转了", phone.need(need).description)
            assertEquals("open", phone.need(need).status)

            val matches = phone.matchesForNeed(need, 5u)
            assertEquals(skill, matches.first().offerId)
            assertEquals(ListingKind.SKILL, matches.first().kind)
            assertTrue(matches.first().score.total > 0.0)

            val hits = phone.search(SearchQuery(text = "风扇"))
            assertEquals(setOf(skill, need), hits.hits.map { it.id }.toSet())
            // Typed in traditional characters, found the same.
            assertEquals(hits.hits.map { it.id }.toSet(), phone.search(SearchQuery(text = "風扇")).hits.map { it.id }.toSet())
            // The index file was made new, never rebuilt; what waits is at most what was posted.
            val status = phone.searchIndexStatus()
            assertNull(status.rebuilt)
            assertTrue(status.pending <= 2uL)
            val skillsOnly = phone.search(SearchQuery(text = "风扇", kinds = listOf(ListingKind.SKILL)))
            assertEquals(listOf(skill), skillsOnly.hits.map { it.id })
            assertNull(skillsOnly.nextOffset)
            val newest = phone.search(SearchQuery(sort = SortBy.RECENCY, limit = 1u))
            assertEquals(need, newest.hits.single().id)
            assertNotNull(newest.nextOffset)

            // "She fixed my fan": counted in the figures.
            val session = phone.confirmSkillSession(skill, "修好了")
            assertTrue(session.isNotEmpty())
        }
    }

    @Test
    fun aNeighboursNewOfferArrivesAsAMatchAfterSync() {
        TestServer().use { server ->
            val giver = server.issue(Role.RESIDENT)
            val seeker = server.issue(Role.RESIDENT)
            server.start()
            server.phone(giver).use { giverPhone ->
                server.phone(seeker).use { seekerPhone ->
                    val need = seekerPhone.postNeed(
                        NewNeed(title = "想要一辆儿童自行车", want = "item", category = "kids"),
                    )
                    seekerPhone.syncBlocking()
                    val heard = Recorder()
                    seekerPhone.addObserver(heard)

                    val item = giverPhone.postItem(bicycle())
                    val pushed = giverPhone.syncBlocking()
                    assertTrue(pushed.pushed >= 1u && pushed.rejected == 0u)

                    val pulled = runBlocking { seekerPhone.sync() }
                    assertTrue(pulled.changed.any { it.kind == RowKind.ITEM && it.id == item })
                    assertTrue(heard.heard(RowKind.ITEM, item))
                    val match = heard.matches.single()
                    assertEquals(need, match.needId)
                    assertEquals(item, match.offerId)
                    assertEquals("儿童自行车 八成新", seekerPhone.item(item).title)
                    assertEquals(0uL, seekerPhone.pendingChanges())
                    assertNotNull(seekerPhone.lastSyncedAt())
                }
            }
        }
    }
}
