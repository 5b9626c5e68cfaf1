// Mirrors android/src/test/kotlin/org/fushi/share/ResidentStoryTest.kt.
import Foundation
import XCTest

@testable import FushiShare

final class ResidentStoryTests: XCTestCase {
    func testAnItemPostedWithNoSignalIsKeptAndWaitsToBeSent() async throws {
        let owner = newUser()
        let phone = try openStore(user: owner, sync: unreachableSettings())
        let heard = Recorder()
        _ = phone.addObserver(observer: heard)
        let id = try phone.postItem(item: bicycle())
        XCTAssertTrue(heard.heard(.item, id))

        assertFushiError(try phone.syncBlocking(), isOffline)
        do {
            _ = try await phone.sync()
            XCTFail("expected Offline")
        } catch FushiError.Offline {
        }

        let item = try phone.item(id: id)
        XCTAssertEqual(item.title, "儿童自行车 八成新")
        XCTAssertEqual(item.status, "available")
        XCTAssertEqual(item.owner, owner.userId)
        XCTAssertEqual(try phone.pendingChanges(), 1)
        XCTAssertNil(try phone.lastSyncedAt())
    }

    func testTheOwnerEditsWithdrawsRenewsAndDeletesItems() throws {
        let phone = try openStore(user: newUser())
        let heard = Recorder()
        _ = phone.addObserver(observer: heard)
        let id = try phone.postItem(item: bicycle())
        try phone.editItem(id: id, edit: ItemEdit(description: "送给有孩子的邻居", addPhotos: ["photo-1"]))
        XCTAssertEqual(try phone.item(id: id).description, "送给有孩子的邻居")
        XCTAssertEqual(try phone.item(id: id).photos, ["photo-1"])

        let before = try phone.item(id: id).expiresAt
        Thread.sleep(forTimeInterval: 0.005)
        try phone.renewItem(itemId: id)
        XCTAssertGreaterThan(try phone.item(id: id).expiresAt, before)

        try phone.withdrawItem(id: id)
        XCTAssertEqual(try phone.item(id: id).status, "withdrawn")
        XCTAssertEqual(try phone.itemLifecycle(itemId: id).state, .withdrawn)

        try phone.deleteListing(kind: .item, id: id)
        assertFushiError(try phone.item(id: id), isNotFound)
        XCTAssertEqual(heard.changes.filter { $0.id == id }.count, 5)
    }

    func testAQueueOfRequestsEndsInAHandover() throws {
        let owner = newUser()
        let (first, second, third, fourth) = (newUser(), newUser(), newUser(), newUser())
        let phone = try openStore(user: owner)
        let heard = Recorder()
        _ = phone.addObserver(observer: heard)
        let item = try phone.postItem(item: bicycle())

        try phone.setUser(user: first)
        let r1 = try phone.requestItem(itemId: item, note: "周六上午可以来拿吗")
        XCTAssertTrue(heard.heard(.itemRequest, r1) && heard.heard(.item, item))
        try phone.setUser(user: second)
        let r2 = try phone.requestItem(itemId: item, note: nil)
        try phone.setUser(user: third)
        let r3 = try phone.requestItem(itemId: item, note: nil)
        try phone.setUser(user: fourth)
        let r4 = try phone.requestItem(itemId: item, note: nil)
        XCTAssertEqual(try phone.itemLifecycle(itemId: item).myPosition, 3)
        try phone.cancelRequest(requestId: r4)

        try phone.setUser(user: owner)
        let lc = try phone.itemLifecycle(itemId: item)
        XCTAssertEqual(lc.queue.map(\.requestId), [r1, r2, r3])
        XCTAssertEqual(lc.queue.first?.note, "周六上午可以来拿吗")
        XCTAssertEqual(lc.pickupArea, "福石花园")
        XCTAssertEqual(lc.expiry, .active)

        try phone.declineRequest(requestId: r2)
        XCTAssertEqual(try phone.acceptNextRequest(itemId: item), r1)
        XCTAssertEqual(try phone.itemLifecycle(itemId: item).state, .reserved)
        XCTAssertEqual(try phone.markNoShow(requestId: r1), r3)

        let afterGiver = try phone.confirmHandover(itemId: item)
        XCTAssertTrue(afterGiver.giverConfirmed)
        XCTAssertEqual(afterGiver.state, .reserved)
        try phone.setUser(user: third)
        let given = try phone.confirmHandover(itemId: item)
        XCTAssertEqual(given.state, .given)
        XCTAssertEqual(given.accepted?.requestId, r3)
    }

    func testSkillsNeedsSearchAndMatches() throws {
        let phone = try openStore(user: newUser())
        let skill = try phone.postSkill(
            skill: NewSkill(title: "修理电风扇", category: "appliance_repair", availability: "周末"))
        try phone.editSkill(id: skill, edit: SkillEdit(description: "家电小修，免费"))
        XCTAssertEqual(try phone.skill(id: skill).description, "家电小修，免费")
        XCTAssertEqual(try phone.skill(id: skill).status, "active")

        try phone.setUser(user: newUser())
        Thread.sleep(forTimeInterval: 0.002)
        let need = try phone.postNeed(
            need: NewNeed(title: "电风扇坏了", want: "skill", category: "appliance_repair"))
        try phone.editNeed(id: need, edit: NeedEdit(description: "不转了"))
        XCTAssertEqual(try phone.need(id: need).description, "不转了")
        XCTAssertEqual(try phone.need(id: need).status, "open")

        let matches = try phone.matchesForNeed(needId: need, limit: 5)
        XCTAssertEqual(matches.first?.offerId, skill)
        XCTAssertEqual(matches.first?.kind, .skill)
        XCTAssertGreaterThan(matches.first?.score.total ?? 0, 0)

        let hits = try phone.search(query: SearchQuery(text: "风扇"))
        XCTAssertEqual(Set(hits.hits.map(\.id)), [skill, need])
        let skillsOnly = try phone.search(query: SearchQuery(text: "风扇", kinds: [.skill]))
        XCTAssertEqual(skillsOnly.hits.map(\.id), [skill])
        XCTAssertNil(skillsOnly.nextOffset)
        let newest = try phone.search(query: SearchQuery(sort: .recency, limit: 1))
        XCTAssertEqual(newest.hits.map(\.id), [need])
        XCTAssertNotNil(newest.nextOffset)

        XCTAssertFalse(try phone.confirmSkillSession(skillId: skill, note: "修好了").isEmpty)
    }

    func testANeighboursNewOfferArrivesAsAMatchAfterSync() async throws {
        let server = try TestServer()
        let giver = try server.issue(.resident)
        let seeker = try server.issue(.resident)
        let giverPhone = try server.phone(giver)
        let seekerPhone = try server.phone(seeker)
        let need = try seekerPhone.postNeed(
            need: NewNeed(title: "想要一辆儿童自行车", want: "item", category: "kids"))
        _ = try seekerPhone.syncBlocking()
        let heard = Recorder()
        _ = seekerPhone.addObserver(observer: heard)

        let item = try giverPhone.postItem(item: bicycle())
        let pushed = try giverPhone.syncBlocking()
        XCTAssertTrue(pushed.pushed >= 1 && pushed.rejected == 0)

        let pulled = try await seekerPhone.sync()
        XCTAssertTrue(pulled.changed.contains(ChangedRow(kind: .item, id: item)))
        XCTAssertTrue(heard.heard(.item, item))
        XCTAssertTrue(heard.matches.contains { $0.needId == need && $0.offerId == item })
        XCTAssertEqual(try seekerPhone.item(id: item).title, "儿童自行车 八成新")
        XCTAssertEqual(try seekerPhone.pendingChanges(), 0)
        XCTAssertNotNil(try seekerPhone.lastSyncedAt())
    }
}
