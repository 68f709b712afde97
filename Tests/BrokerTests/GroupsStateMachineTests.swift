import NIOCore
import XCTest
@testable import Broker

/// The classic group state machine, driven by hand without sockets, actors or clocks.
final class GroupsStateMachineTests: XCTestCase {
    typealias H = GroupHarness

    /// Builds a Stable group of `count` members (two-step joins, or static members with
    /// instance ids "i-0", "i-1", ...), the first being the leader; assignment of member i is "A<i>".
    func stableGroup(_ count: Int, staticMembers: Bool = false, version: Int16 = 5,
                     config: GroupCoordinatorConfig = GroupCoordinatorConfig()) -> (H, [String]) {
        var h = H(config: config)
        var tokens: [RequestToken] = []
        for i in 0..<count {
            if staticMembers {
                tokens.append(h.join(H.joinInput(instanceId: "i-\(i)", clientId: "c\(i)", version: version)))
            } else {
                tokens.append(h.joinTwoStep(H.joinInput(clientId: "c\(i)", version: version)).token)
            }
        }
        h.advance(by: 10_000)
        let outcomes = tokens.map { h.joins[$0]! }
        let ids = outcomes.map(\.memberId)
        XCTAssertEqual(h.group.state, .completingRebalance)
        for (i, id) in ids.enumerated() where i > 0 { h.sync(id, generation: outcomes[0].generationId) }
        h.sync(ids[0], generation: outcomes[0].generationId,
               assignments: ids.enumerated().map { ($1, "A\($0)") })
        h.finishWrites()
        XCTAssertEqual(h.group.state, .stable)
        return (h, ids)
    }

    func testJoinSyncRoundWithInitialDelayAndParkedFollowerSync() throws {
        var h = H()
        let (a, ta) = h.joinTwoStep(H.joinInput(clientId: "a"))
        XCTAssertEqual(h.group.state, .preparingRebalance)
        XCTAssertNil(h.joins[ta], "the first join waits for group.initial.rebalance.delay.ms")
        let (b, tb) = h.joinTwoStep(H.joinInput(clientId: "b", protocols: [("range", ["t", "u"])]))
        h.advance(by: 3_000)
        XCTAssertNil(h.joins[ta], "a member arrived during the delay, so it is extended")
        h.advance(by: 3_000)
        let ja = try XCTUnwrap(h.joins[ta]), jb = try XCTUnwrap(h.joins[tb])
        XCTAssertEqual(ja.error, .none)
        XCTAssertEqual(ja.generationId, 1)
        XCTAssertEqual(ja.leader, a)
        XCTAssertEqual(jb.leader, a)
        XCTAssertEqual(ja.protocolName, "range")
        XCTAssertEqual(ja.protocolType, "consumer")
        XCTAssertEqual(ja.members.map(\.memberId), [a, b], "the leader gets every member")
        XCTAssertEqual(ConsumerProtocolSubscription.topics(from: ja.members[1].metadata), ["t", "u"])
        XCTAssertEqual(jb.members, [], "followers get no members")
        XCTAssertEqual(h.group.state, .completingRebalance)
        XCTAssertEqual(h.group.subscribedTopics, ["t", "u"])

        let sb = h.sync(b, generation: 1)
        XCTAssertNil(h.syncs[sb], "a follower's SyncGroup waits for the leader's")
        let sa = h.sync(a, generation: 1, assignments: [(a, "for-a"), (b, "for-b")])
        XCTAssertNil(h.syncs[sa], "nobody gets an assignment before it is written")
        XCTAssertEqual(h.pendingWrites.count, 1)
        XCTAssertEqual(h.pendingWrites[0].value.members.map(\.assignment.stringValue), ["for-a", "for-b"])
        h.finishWrites()
        XCTAssertEqual(h.syncs[sa]?.assignment.stringValue, "for-a")
        XCTAssertEqual(h.syncs[sb]?.assignment.stringValue, "for-b")
        XCTAssertEqual(h.syncs[sb]?.protocolName, "range")
        XCTAssertEqual(h.group.state, .stable)
        XCTAssertEqual(h.writtenValues.last?.generation, 1)
        XCTAssertEqual(h.writtenValues.last?.leader, a)
        XCTAssertEqual(h.heartbeat(b, generation: 1), .none)
    }

    func testMemberIdRequiredHandsOutAnIdThatExpiresIfNotUsed() {
        var h = H()
        let t = h.join(H.joinInput(clientId: "consumer-1", version: 4))
        XCTAssertEqual(h.joins[t]?.error, .memberIdRequired)
        XCTAssertEqual(h.joins[t]?.memberId, "consumer-1-1")
        XCTAssertEqual(h.group.pendingJoinMembers, ["consumer-1-1"])
        XCTAssertTrue(h.group.members.isEmpty)
        h.advance(by: 10_001)
        XCTAssertEqual(h.group.pendingJoinMembers, [], "the id expires after the session timeout")

        let old = h.join(H.joinInput(clientId: "old", version: 3))
        XCTAssertNil(h.joins[old], "JoinGroup v3 gets no MEMBER_ID_REQUIRED, it joins at once")
        XCTAssertEqual(h.group.members.count, 1)
    }

    func testPendingMemberIdHoldsTheJoinPhaseUntilItRejoins() {
        var (h, ids) = stableGroup(1)
        // A second member asks for an id; the first rejoins. The phase waits for the second.
        let first = h.join(H.joinInput(clientId: "late"))
        let lateId = h.joins[first]!.memberId
        XCTAssertEqual(h.group.state, .stable, "a MEMBER_ID_REQUIRED answer does not start a rebalance")
        let ta = h.join(H.joinInput(memberId: ids[0], clientId: "c0", protocols: [("range", ["t", "x"])]))
        XCTAssertEqual(h.group.state, .preparingRebalance)
        XCTAssertNil(h.joins[ta])
        let tl = h.join(H.joinInput(memberId: lateId, clientId: "late"))
        XCTAssertEqual(h.joins[ta]?.generationId, 2, "the phase ends once every member and pending id joined")
        XCTAssertEqual(h.joins[tl]?.generationId, 2)
        XCTAssertEqual(h.joins[ta]?.members.count, 2)
    }

    func testLeaveTriggersRebalanceAndRemainingMemberCompletesAlone() throws {
        var (h, ids) = stableGroup(2)
        let out = h.leave([LeavingMember(memberId: ids[1])])
        XCTAssertEqual(out.error, .none)
        XCTAssertEqual(out.members.map(\.error), [.none])
        XCTAssertEqual(h.group.state, .preparingRebalance)
        XCTAssertEqual(h.heartbeat(ids[0], generation: 1), .rebalanceInProgress)
        let t = h.join(H.joinInput(memberId: ids[0], clientId: "c0"))
        let j = try XCTUnwrap(h.joins[t], "the only member rejoined: no need to wait")
        XCTAssertEqual(j.generationId, 2)
        XCTAssertEqual(j.leader, ids[0])
        XCTAssertEqual(j.members.map(\.memberId), [ids[0]])
        XCTAssertEqual(h.leave([LeavingMember(memberId: "nobody")]).members.map(\.error), [.unknownMemberId])
    }

    func testLastMemberLeavingEmptiesTheGroupAndWritesIt() {
        var (h, ids) = stableGroup(1)
        _ = h.leave([LeavingMember(memberId: ids[0])])
        XCTAssertEqual(h.group.state, .empty)
        XCTAssertEqual(h.group.generationId, 2, "the generation ends even with no members")
        XCTAssertNil(h.group.protocolName)
        XCTAssertEqual(h.pendingWrites.last?.value.members.count, 0)
        XCTAssertEqual(h.heartbeat(ids[0], generation: 2), .unknownMemberId)
    }

    func testSessionExpiryRemovesSilentMember() {
        var (h, ids) = stableGroup(2)
        for _ in 0..<5 {
            h.advance(by: 3_000)
            XCTAssertEqual(h.heartbeat(ids[0], generation: 1), h.group.state == .stable ? .none : .rebalanceInProgress)
        }
        XCTAssertNil(h.group.members[ids[1]], "the member that stopped heartbeating is gone")
        XCTAssertEqual(h.group.state, .preparingRebalance)
        let t = h.join(H.joinInput(memberId: ids[0], clientId: "c0"))
        XCTAssertEqual(h.joins[t]?.generationId, 2)
    }

    func testRebalanceTimeoutDropsMembersThatDoNotRejoin() throws {
        var (h, ids) = stableGroup(2)
        // The leader rejoins with new metadata; the follower keeps heartbeating but never rejoins.
        let t = h.join(H.joinInput(memberId: ids[0], clientId: "c0", protocols: [("range", ["t", "new"])]))
        XCTAssertEqual(h.group.state, .preparingRebalance)
        for _ in 0..<9 {
            h.advance(by: 3_000)
            XCTAssertEqual(h.heartbeat(ids[1], generation: 1), .rebalanceInProgress)
            XCTAssertNil(h.joins[t])
        }
        h.advance(by: 3_001)
        let j = try XCTUnwrap(h.joins[t], "the rebalance timeout (30 s) ends the join phase")
        XCTAssertEqual(j.members.map(\.memberId), [ids[0]])
        XCTAssertNil(h.group.members[ids[1]])
        XCTAssertEqual(h.heartbeat(ids[1], generation: 2), .unknownMemberId)
    }

    func testNewMemberJoinTimeoutDropsAMemberThatNeverGetsItsResponse() {
        var config = GroupCoordinatorConfig()
        config.newMemberJoinTimeoutMs = 5_000
        var (h, ids) = stableGroup(1, config: config)
        let (newId, t) = h.joinTwoStep(H.joinInput(clientId: "new"))
        XCTAssertEqual(h.group.state, .preparingRebalance)
        h.advance(by: 3_000)
        _ = h.heartbeat(ids[0], generation: 1)
        h.advance(by: 2_001)
        XCTAssertEqual(h.joins[t]?.error, .unknownMemberId)
        XCTAssertNil(h.group.members[newId])
    }

    func testStaticMemberRestartKeepsAssignmentWithoutRebalance() throws {
        var (h, ids) = stableGroup(2, staticMembers: true)
        let t = h.join(H.joinInput(instanceId: "i-1", clientId: "c1"))
        XCTAssertNil(h.joins[t], "answered once the new member id is written")
        XCTAssertEqual(h.pendingWrites.count, 1)
        h.finishWrites()
        let j = try XCTUnwrap(h.joins[t])
        XCTAssertEqual(j.error, .none)
        XCTAssertNotEqual(j.memberId, ids[1])
        XCTAssertEqual(j.generationId, 1, "no new generation")
        XCTAssertEqual(j.leader, ids[0])
        XCTAssertEqual(h.group.state, .stable)
        XCTAssertEqual(h.group.staticMembers["i-1"], j.memberId)
        XCTAssertEqual(h.writtenValues.last?.members.map(\.memberId), [ids[0], j.memberId])

        XCTAssertEqual(h.heartbeat(ids[1], generation: 1, instanceId: "i-1"), .fencedInstanceId)
        XCTAssertEqual(h.group.validateOffsetCommit(memberId: ids[1], instanceId: "i-1", generationId: 1), .fencedInstanceId)
        let oldJoin = h.join(H.joinInput(memberId: ids[1], instanceId: "i-1", clientId: "c1"))
        XCTAssertEqual(h.joins[oldJoin]?.error, .fencedInstanceId)
        let s = h.sync(j.memberId, generation: 1, instanceId: "i-1")
        XCTAssertEqual(h.syncs[s]?.assignment.stringValue, "A1", "the restarted member keeps its assignment")
        XCTAssertEqual(h.heartbeat(j.memberId, generation: 1, instanceId: "i-1"), .none)
    }

    func testStaticLeaderRestartSkipsAssignmentOnlyFromJoinGroupV9() throws {
        var (h, ids) = stableGroup(2, staticMembers: true, version: 9)
        let t9 = h.join(H.joinInput(instanceId: "i-0", clientId: "c0", version: 9))
        h.finishWrites()
        let j9 = try XCTUnwrap(h.joins[t9])
        XCTAssertTrue(j9.skipAssignment)
        XCTAssertEqual(j9.leader, j9.memberId, "v9: the restarted leader learns it leads")
        XCTAssertEqual(j9.members.count, 2)

        let t5 = h.join(H.joinInput(instanceId: "i-0", clientId: "c0", version: 5))
        h.finishWrites()
        let j5 = try XCTUnwrap(h.joins[t5])
        XCTAssertFalse(j5.skipAssignment)
        XCTAssertEqual(j5.leader, j9.memberId, "pre-v9: told the previous leader id, so it does not assign")
        XCTAssertNotEqual(j5.memberId, j9.memberId)
        XCTAssertEqual(j5.members, [])
        XCTAssertEqual(h.group.state, .stable)
        XCTAssertNotEqual(ids[0], j5.memberId)
    }

    func testStaticMemberRestartWithFailedWriteKeepsOldMemberId() {
        var (h, ids) = stableGroup(2, staticMembers: true)
        let t = h.join(H.joinInput(instanceId: "i-1", clientId: "c1"))
        h.finishWrites(error: .coordinatorNotAvailable)
        XCTAssertEqual(h.joins[t]?.error, .coordinatorNotAvailable)
        XCTAssertEqual(h.group.staticMembers["i-1"], ids[1])
        XCTAssertEqual(h.heartbeat(ids[1], generation: 1, instanceId: "i-1"), .none)
    }

    func testStaticMemberRestartWithOtherProtocolsRebalances() {
        var (h, _) = stableGroup(2, staticMembers: true)
        _ = h.join(H.joinInput(instanceId: "i-1", clientId: "c1", protocols: [("roundrobin", ["t"]), ("range", ["t"])]))
        XCTAssertEqual(h.group.state, .stable, "range is still everyone's choice")
        h.finishWrites()
        // Three members that all support both; i-2 prefers roundrobin. When i-1 comes back
        // preferring roundrobin too, the vote flips, so the group must rebalance.
        var (h2, _) = stableGroup(3, staticMembers: true)
        let both = [GroupProtocolMetadata(name: "range", metadata: H.subscription(["t"])),
                    GroupProtocolMetadata(name: "roundrobin", metadata: H.subscription(["t"]))]
        for (instance, memberId) in h2.group.staticMembers {
            h2.group.members[memberId]!.protocols = instance == "i-2" ? both.reversed() : both
        }
        let rejected = h2.join(H.joinInput(instanceId: "i-1", clientId: "c1", protocols: [("sticky", ["t"])]))
        XCTAssertEqual(h2.joins[rejected]?.error, .inconsistentGroupProtocol)
        _ = h2.join(H.joinInput(instanceId: "i-1", clientId: "c1", protocols: [("roundrobin", ["t"]), ("range", ["t"])]))
        XCTAssertEqual(h2.group.state, .preparingRebalance, "the chosen protocol would change")
    }

    func testProtocolChosenByVoteAndInconsistentProtocolsRejected() {
        var h = H()
        let a = h.joinTwoStep(H.joinInput(clientId: "a", protocols: [("range", ["t"]), ("roundrobin", ["t"])])).token
        _ = h.joinTwoStep(H.joinInput(clientId: "b", protocols: [("roundrobin", ["t"]), ("range", ["t"])]))
        _ = h.joinTwoStep(H.joinInput(clientId: "c", protocols: [("roundrobin", ["t"]), ("range", ["t"])]))
        let bad = h.join(H.joinInput(clientId: "d", protocols: [("sticky", ["t"])]))
        XCTAssertEqual(h.joins[bad]?.error, .inconsistentGroupProtocol)
        var otherType = H.joinInput(clientId: "e")
        otherType.protocolType = "connect"
        let badType = h.join(otherType)
        XCTAssertEqual(h.joins[badType]?.error, .inconsistentGroupProtocol)
        h.advance(by: 10_000)
        XCTAssertEqual(h.joins[a]?.protocolName, "roundrobin", "two of three members prefer roundrobin")
    }

    func testSyncErrorsAndParkedSyncAnsweredWhenRebalanceStarts() {
        var (h, ids) = stableGroup(2)
        XCTAssertEqual(h.syncs[h.sync(ids[1], generation: 7)]?.error, .illegalGeneration)
        XCTAssertEqual(h.syncs[h.sync("ghost", generation: 1)]?.error, .unknownMemberId)
        // Follower rejoins with new metadata: rebalance; both rejoin; follower syncs and waits.
        let t1 = h.join(H.joinInput(memberId: ids[1], clientId: "c1", protocols: [("range", ["t", "z"])]))
        XCTAssertEqual(h.syncs[h.sync(ids[0], generation: 1)]?.error, .rebalanceInProgress)
        let t0 = h.join(H.joinInput(memberId: ids[0], clientId: "c0"))
        XCTAssertEqual(h.joins[t0]?.generationId, 2)
        XCTAssertEqual(h.joins[t1]?.generationId, 2)
        let parked = h.sync(ids[1], generation: 2)
        XCTAssertNil(h.syncs[parked])
        // The leader leaves before syncing: the parked follower is told to rejoin.
        _ = h.leave([LeavingMember(memberId: ids[0])])
        XCTAssertEqual(h.syncs[parked]?.error, .rebalanceInProgress)
        XCTAssertEqual(h.group.state, .preparingRebalance)
    }

    func testFailedAssignmentWriteFailsEverySyncAndRebalances() {
        var h = H()
        let (a, ta) = h.joinTwoStep(H.joinInput(clientId: "a"))
        let (b, _) = h.joinTwoStep(H.joinInput(clientId: "b"))
        h.advance(by: 10_000)
        XCTAssertNotNil(h.joins[ta])
        let sb = h.sync(b, generation: 1)
        let sa = h.sync(a, generation: 1, assignments: [(a, "x"), (b, "y")])
        h.finishWrites(error: .coordinatorNotAvailable)
        XCTAssertEqual(h.syncs[sa]?.error, .coordinatorNotAvailable)
        XCTAssertEqual(h.syncs[sb]?.error, .coordinatorNotAvailable)
        XCTAssertEqual(h.group.state, .preparingRebalance)
    }

    func testMemberThatNeverSyncsIsRemovedAfterRebalanceTimeout() {
        var h = H()
        let (a, _) = h.joinTwoStep(H.joinInput(clientId: "a"))
        let (b, _) = h.joinTwoStep(H.joinInput(clientId: "b"))
        h.advance(by: 10_000)
        h.sync(a, generation: 1, assignments: [(a, "x"), (b, "y")])
        h.finishWrites()
        XCTAssertEqual(h.group.state, .stable)
        XCTAssertEqual(h.group.pendingSyncMembers, [b])
        for _ in 0..<11 {
            h.advance(by: 3_000)
            _ = h.heartbeat(a, generation: 1)
            _ = h.heartbeat(b, generation: 1)
        }
        XCTAssertNil(h.group.members[b], "b heartbeated but never synced within the rebalance timeout")
        XCTAssertEqual(h.group.state, .preparingRebalance)
    }

    func testOffsetCommitValidationAcrossStates() {
        var h = H()
        XCTAssertNil(h.group.validateOffsetCommit(memberId: "", instanceId: nil, generationId: -1),
                     "simple commits go to an empty group")
        var (s, ids) = stableGroup(2)
        XCTAssertEqual(s.group.validateOffsetCommit(memberId: "", instanceId: nil, generationId: -1), .unknownMemberId)
        XCTAssertEqual(s.group.validateOffsetCommit(memberId: ids[0], instanceId: nil, generationId: 0), .illegalGeneration)
        XCTAssertEqual(s.group.validateOffsetCommit(memberId: "ghost", instanceId: nil, generationId: 1), .unknownMemberId)
        XCTAssertNil(s.group.validateOffsetCommit(memberId: ids[0], instanceId: nil, generationId: 1))
        _ = s.join(H.joinInput(memberId: ids[1], clientId: "c1", protocols: [("range", ["q"])]))
        XCTAssertEqual(s.group.state, .preparingRebalance)
        XCTAssertNil(s.group.validateOffsetCommit(memberId: ids[0], instanceId: nil, generationId: 1),
                     "the ending generation may still commit")
        _ = s.join(H.joinInput(memberId: ids[0], clientId: "c0"))
        XCTAssertEqual(s.group.state, .completingRebalance)
        XCTAssertEqual(s.group.validateOffsetCommit(memberId: ids[0], instanceId: nil, generationId: 2), .rebalanceInProgress)
        XCTAssertEqual(s.group.validateOffsetCommit(memberId: ids[0], instanceId: nil, generationId: 1), .illegalGeneration)
        h.group.applyCommittedOffsets([(GroupTopicPartition(topic: "t", partition: 0),
                                        OffsetCommitValue(offset: 5, metadata: "", commitTimestamp: 0))])
        XCTAssertEqual(h.group.offsets.count, 1)
    }

    func testDeleteAndOffsetDeleteRules() {
        let (s, _) = stableGroup(1)
        XCTAssertEqual(s.group.validateDelete(), .nonEmptyGroup)
        let t = GroupTopicPartition(topic: "t", partition: 0), u = GroupTopicPartition(topic: "u", partition: 1)
        let check = s.group.validateOffsetDelete([t, u])
        XCTAssertNil(check.error)
        XCTAssertEqual(check.perPartition[t], .groupSubscribedToTopic)
        XCTAssertEqual(check.perPartition[u], GroupErrorCode.none)
        let empty = H().group
        XCTAssertNil(empty.validateDelete())
        XCTAssertEqual(empty.validateOffsetDelete([t]).perPartition[t], GroupErrorCode.none)
    }

    func testOffsetExpiryRules() {
        var simple = Group(groupId: "s", now: 0)
        let tp = GroupTopicPartition(topic: "t", partition: 0)
        simple.applyCommittedOffsets([(tp, OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 1_000))])
        XCTAssertEqual(simple.expiredOffsets(now: 1_000 + 99, retentionMs: 100), [])
        XCTAssertEqual(simple.expiredOffsets(now: 1_000 + 100, retentionMs: 100), [tp])
        var explicit = Group(groupId: "e", now: 0)
        explicit.applyCommittedOffsets([(tp, OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 0, expireTimestamp: 50))])
        XCTAssertEqual(explicit.expiredOffsets(now: 49, retentionMs: 1_000_000), [])
        XCTAssertEqual(explicit.expiredOffsets(now: 50, retentionMs: 1_000_000), [tp])

        var (s, _) = stableGroup(1)
        let other = GroupTopicPartition(topic: "gone", partition: 0)
        s.group.applyCommittedOffsets([(tp, OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 0)),
                                       (other, OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 0))])
        XCTAssertEqual(s.group.expiredOffsets(now: 10_000_000, retentionMs: 10), [other],
                       "a stable consumer group keeps offsets of topics it subscribes to")
    }

    func testLoadedGroupIsStableWithItsMembers() {
        let (s, ids) = stableGroup(2, staticMembers: true)
        let value = s.group.metadataValue()
        let loaded = Group(groupId: "g", loadedFrom: value, now: 5)
        XCTAssertEqual(loaded.state, .stable)
        XCTAssertEqual(loaded.generationId, 1)
        XCTAssertEqual(loaded.leaderId, ids[0])
        XCTAssertEqual(loaded.protocolName, "range")
        XCTAssertEqual(loaded.sortedMembers.map(\.memberId), ids)
        XCTAssertEqual(loaded.members[ids[1]]?.assignment.stringValue, "A1")
        XCTAssertEqual(loaded.staticMembers, ["i-0": ids[0], "i-1": ids[1]])
        XCTAssertEqual(loaded.subscribedTopics, ["t"])
        XCTAssertEqual(Group(groupId: "x", loadedFrom: GroupMetadataValue(
            protocolType: "consumer", generation: 3, protocol: nil, leader: nil, currentStateTimestamp: -1, members: []),
                             now: 5).state, .empty)
    }
}
