import NIOCore
import XCTest
@testable import Broker

/// The coordinator actor over an in-memory `__consumer_offsets` and a manual clock: parking,
/// timers, persistence and reload after a "restart".
final class GroupsCoordinatorTests: XCTestCase {
    let node = CoordinatorNode(nodeId: 1, host: "localhost", port: 9092)

    func makeCoordinator(store: InMemoryGroupLogStore, scheduler: ManualGroupScheduler,
                         config: GroupCoordinatorConfig = GroupCoordinatorConfig(),
                         exists: (@Sendable (String, Int32) async -> Bool)? = nil) -> GroupCoordinator {
        let counter = Counter()
        let node = self.node
        return GroupCoordinator(config: config, store: store, scheduler: scheduler,
                                localNode: { $0 == "PLAINTEXT" ? node : nil },
                                partitionExists: exists, makeUUID: { "uuid\(counter.next())" })
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next() -> Int { lock.withLock { n += 1; return n } }
    }

    static func input(_ memberId: String = "", client: String, instance: String? = nil,
               topics: [String] = ["t"], version: Int16 = 5) -> JoinGroupInput {
        GroupHarness.joinInput(memberId: memberId, instanceId: instance, clientId: client,
                               protocols: [("range", topics)], version: version)
    }

    /// Runs a full two-member join/sync through the coordinator and returns (leader, follower).
    func formGroup(_ c: GroupCoordinator, _ scheduler: ManualGroupScheduler, group: String = "g") async -> (String, String) {
        let first = await c.joinGroup(groupId: group, Self.input(client: "a"))
        XCTAssertEqual(first.error, .memberIdRequired)
        XCTAssertEqual(first.memberId, "a-uuid1")
        let second = await c.joinGroup(groupId: group, Self.input(client: "b"))
        let inA = Self.input(first.memberId, client: "a"), inB = Self.input(second.memberId, client: "b")
        // The first member to join leads: park a before b joins, or under load b's task can
        // reach the coordinator first and lead instead.
        let ja = Task { await c.joinGroup(groupId: group, inA) }
        await eventually("leader parked") { await c.group(group)?.members.count == 1 }
        let jb = Task { await c.joinGroup(groupId: group, inB) }
        await eventually("both members parked") { await c.group(group)?.members.count == 2 }
        await scheduler.advance(by: 6_000)
        let (ra, rb) = (await ja.value, await jb.value)
        XCTAssertEqual(ra.generationId, 1)
        XCTAssertEqual(rb.leader, ra.memberId)
        XCTAssertEqual(ra.members.count, 2)
        let sb = Task { await c.syncGroup(groupId: group, SyncGroupInput(memberId: rb.memberId, generationId: 1)) }
        await eventually("follower sync parked") { await c.group(group)?.members[rb.memberId]?.isAwaitingSync == true }
        let sa = await c.syncGroup(groupId: group, SyncGroupInput(
            memberId: ra.memberId, generationId: 1,
            assignments: [(ra.memberId, ByteBuffer(string: "pa")), (rb.memberId, ByteBuffer(string: "pb"))]))
        XCTAssertEqual(sa.assignment.stringValue, "pa")
        let v1 = await sb.value.assignment.stringValue
        XCTAssertEqual(v1, "pb")
        return (ra.memberId, rb.memberId)
    }

    func testJoinSyncHeartbeatCommitAndReloadAfterRestart() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let (leader, follower) = await formGroup(c, scheduler)
        let v2 = await c.heartbeat(groupId: "g", memberId: follower, groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(v2, .none)
        let results = await c.commitOffsets(groupId: "g", memberId: leader, groupInstanceId: nil, generationId: 1, offsets: [
            OffsetCommitEntry(topic: "t", partition: 0, offset: 10, leaderEpoch: 3, metadata: "meta"),
            OffsetCommitEntry(topic: "t", partition: 1, offset: 20),
        ])
        XCTAssertEqual(results, [.none, .none])
        let v3 = await c.commitOffsets(groupId: "g", memberId: leader, groupInstanceId: nil, generationId: 0,
                                             offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 99)])
        XCTAssertEqual(v3,
                       [.illegalGeneration])
        let fetched = await c.fetchOffsets(groupId: "g", topics: [("t", [0, 1, 2])])
        XCTAssertEqual(fetched.offsets.map(\.offset), [10, 20, -1])
        XCTAssertEqual(fetched.offsets[0].metadata, "meta")
        XCTAssertEqual(fetched.offsets[0].leaderEpoch, 3)
        await c.shutdown()

        // A new coordinator over the same log: the group is back, Stable, same generation.
        let restarted = makeCoordinator(store: store, scheduler: scheduler)
        try await restarted.start()
        let loadedGroup = await restarted.group("g")
        let g = try XCTUnwrap(loadedGroup)
        XCTAssertEqual(g.state, .stable)
        XCTAssertEqual(g.generationId, 1)
        XCTAssertEqual(g.leaderId, leader)
        XCTAssertEqual(g.members[follower]?.assignment.stringValue, "pb")
        let v4 = await restarted.fetchOffsets(groupId: "g", topics: nil).offsets.map(\.offset)
        XCTAssertEqual(v4, [10, 20])
        let v5 = await restarted.heartbeat(groupId: "g", memberId: leader, groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(v5, .none)
        // Only the leader keeps heartbeating; the follower's reloaded session expires.
        for _ in 0..<4 {
            await scheduler.advance(by: 3_000)
            _ = await restarted.heartbeat(groupId: "g", memberId: leader, groupInstanceId: nil, generationId: 1)
        }
        let v6 = await restarted.group("g")?.members[follower]
        XCTAssertNil(v6)
        let v7 = await restarted.group("g")?.state
        XCTAssertEqual(v7, .preparingRebalance)
        await restarted.shutdown()
    }

    func testLeaveRebalancesAndLastLeaveEmptiesGroup() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let (leader, follower) = await formGroup(c, scheduler)
        let out = await c.leaveGroup(groupId: "g", members: [LeavingMember(memberId: follower)])
        XCTAssertEqual(out.members.map(\.error), [.none])
        let v8 = await c.heartbeat(groupId: "g", memberId: leader, groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(v8, .rebalanceInProgress)
        let rejoin = await c.joinGroup(groupId: "g", Self.input(leader, client: "a"))
        XCTAssertEqual(rejoin.generationId, 2)
        _ = await c.leaveGroup(groupId: "g", members: [LeavingMember(memberId: leader)])
        let v9 = await c.group("g")?.state
        XCTAssertEqual(v9, .empty)
        let v10 = await c.leaveGroup(groupId: "nope", members: [LeavingMember(memberId: "x")]).members.map(\.error)
        XCTAssertEqual(v10,
                       [.unknownMemberId])
        await c.waitForWrites()
        let last = try XCTUnwrap(try store.allRecords().last)
        XCTAssertEqual(last.key, .groupMetadata(group: "g"))
        XCTAssertEqual(try GroupMetadataValue.decode(try XCTUnwrap(last.value)).members.count, 0)
        await c.shutdown()
    }

    func testRequestChecksBeforeAnyGroup() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        let v11 = await c.joinGroup(groupId: "g", Self.input(client: "a")).error
        XCTAssertEqual(v11, .coordinatorLoadInProgress)
        let v12 = await c.fetchOffsets(groupId: "g", topics: nil).error
        XCTAssertEqual(v12, .coordinatorLoadInProgress)
        try await c.start()
        let v13 = await c.joinGroup(groupId: "", Self.input(client: "a")).error
        XCTAssertEqual(v13, .invalidGroupId)
        var shortSession = Self.input(client: "a")
        shortSession.sessionTimeoutMs = 5_999
        let v14 = await c.joinGroup(groupId: "g", shortSession).error
        XCTAssertEqual(v14, .invalidSessionTimeout)
        shortSession.sessionTimeoutMs = 1_800_001
        let v15 = await c.joinGroup(groupId: "g", shortSession).error
        XCTAssertEqual(v15, .invalidSessionTimeout)
        let v16 = await c.joinGroup(groupId: "g", Self.input("stale-id", client: "a")).error
        XCTAssertEqual(v16, .unknownMemberId)
        let v17 = await c.syncGroup(groupId: "g", SyncGroupInput(memberId: "x", generationId: 1)).error
        XCTAssertEqual(v17, .unknownMemberId)
        let v18 = await c.heartbeat(groupId: "nope", memberId: "x", groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(v18, .unknownMemberId)
        let found = c.findCoordinator(key: "g", keyType: 0, listenerName: "PLAINTEXT")
        XCTAssertEqual(found.node, node)
        XCTAssertEqual(c.findCoordinator(key: "g", keyType: 0, listenerName: "OTHER").error, .coordinatorNotAvailable)
        XCTAssertEqual(c.findCoordinator(key: "g", keyType: 5, listenerName: "PLAINTEXT").error, .invalidRequest)
        await c.shutdown()
    }

    func testSimpleCommitsAndOffsetErrors() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler, exists: { topic, partition in topic == "t" && partition < 2 })
        try await c.start()
        let r = await c.commitOffsets(groupId: "simple", memberId: "", groupInstanceId: nil, generationId: -1, offsets: [
            OffsetCommitEntry(topic: "t", partition: 0, offset: 5),
            OffsetCommitEntry(topic: "t", partition: 7, offset: 5),
            OffsetCommitEntry(topic: "t", partition: 1, offset: 5, metadata: String(repeating: "x", count: 4_097)),
        ])
        XCTAssertEqual(r, [.none, .unknownTopicOrPartition, .offsetMetadataTooLarge])
        let v19 = await c.group("simple")?.state
        XCTAssertEqual(v19, .empty)
        let v20 = await c.group("simple")?.protocolType
        XCTAssertNil(v20)
        let v21 = await c.commitOffsets(groupId: "unknown", memberId: "m", groupInstanceId: nil, generationId: 3,
                                             offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 1)])
        XCTAssertEqual(v21,
                       [.illegalGeneration], "a member's commit to a group that does not exist is stale")

        store.setFailure(GroupErrorCode.notCoordinator)
        let v22 = await c.commitOffsets(groupId: "simple", memberId: "", groupInstanceId: nil, generationId: -1,
                                             offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 6)])
        XCTAssertEqual(v22, [.notCoordinator])
        struct DiskFull: Error {}
        store.setFailure(DiskFull())
        let v23 = await c.commitOffsets(groupId: "simple", memberId: "", groupInstanceId: nil, generationId: -1,
                                             offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 7)])
        XCTAssertEqual(v23, [.coordinatorNotAvailable])
        let v24 = await c.fetchOffsets(groupId: "simple", topics: [("t", [0])]).offsets.first?.offset
        XCTAssertEqual(v24, 5,
                       "failed commits are not visible")
        store.setFailure(nil)
        await c.shutdown()
    }

    func testDeleteGroupsAndOffsetDelete() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let (leader, _) = await formGroup(c, scheduler, group: "active")
        _ = await c.commitOffsets(groupId: "active", memberId: leader, groupInstanceId: nil, generationId: 1, offsets: [
            OffsetCommitEntry(topic: "t", partition: 0, offset: 1), OffsetCommitEntry(topic: "old", partition: 0, offset: 2),
        ])
        _ = await c.commitOffsets(groupId: "idle", memberId: "", groupInstanceId: nil, generationId: -1, offsets: [
            OffsetCommitEntry(topic: "t", partition: 0, offset: 3), OffsetCommitEntry(topic: "t", partition: 1, offset: 4),
        ])
        let deleted = await c.deleteGroups(["active", "missing", "idle"])
        XCTAssertEqual(deleted.map(\.error), [.nonEmptyGroup, .groupIdNotFound, .none])
        let v25 = await c.group("idle")
        XCTAssertNil(v25)
        let v26 = await c.fetchOffsets(groupId: "idle", topics: [("t", [0])]).offsets.first?.offset
        XCTAssertEqual(v26, -1)

        let od = await c.deleteOffsets(groupId: "active", partitions: [
            GroupTopicPartition(topic: "t", partition: 0), GroupTopicPartition(topic: "old", partition: 0)])
        XCTAssertEqual(od.error, .none)
        XCTAssertEqual(od.partitions.map(\.1), [.groupSubscribedToTopic, .none])
        let v27 = await c.fetchOffsets(groupId: "active", topics: nil).offsets.map(\.topic)
        XCTAssertEqual(v27, ["t"])
        let v28 = await c.deleteOffsets(groupId: "missing", partitions: []).error
        XCTAssertEqual(v28, .groupIdNotFound)
        await c.shutdown()

        let tombstones = try store.allRecords().filter { $0.value == nil }.map(\.key)
        XCTAssertTrue(tombstones.contains(.groupMetadata(group: "idle")))
        XCTAssertTrue(tombstones.contains(.offsetCommit(OffsetCommitKey(group: "idle", topic: "t", partition: 1))))
        XCTAssertTrue(tombstones.contains(.offsetCommit(OffsetCommitKey(group: "active", topic: "old", partition: 0))))

        let restarted = makeCoordinator(store: store, scheduler: scheduler)
        try await restarted.start()
        let v29 = await restarted.group("idle")
        XCTAssertNil(v29, "tombstones delete on reload")
        let v30 = await restarted.fetchOffsets(groupId: "active", topics: nil).offsets.map(\.offset)
        XCTAssertEqual(v30, [1])
        await restarted.shutdown()
    }

    func testListGroupsStatesFilterAndDescribeGroups() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let (leader, follower) = await formGroup(c, scheduler, group: "stable-group")
        _ = await c.commitOffsets(groupId: "empty-group", memberId: "", groupInstanceId: nil, generationId: -1,
                                  offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 1)])
        let all = await c.listGroups()
        XCTAssertEqual(all.groups.map(\.groupId), ["empty-group", "stable-group"])
        XCTAssertEqual(all.groups.map(\.protocolType), ["", "consumer"])
        let v31 = await c.listGroups(states: ["stable"]).groups.map(\.groupId)
        XCTAssertEqual(v31, ["stable-group"])
        let v32 = await c.listGroups(states: ["Empty", "Dead"]).groups.map(\.groupId)
        XCTAssertEqual(v32, ["empty-group"])
        let v33 = await c.listGroups(types: ["consumer"]).groups
        XCTAssertEqual(v33, [], "KIP-848 type filter: these are classic groups")
        let v34 = await c.listGroups(types: ["Classic"]).groups.count
        XCTAssertEqual(v34, 2)

        let described = await c.describeGroups(["stable-group", "nope"])
        let d = described[0]
        XCTAssertEqual(d.state, "Stable")
        XCTAssertEqual(d.protocolType, "consumer")
        XCTAssertEqual(d.protocolData, "range")
        XCTAssertEqual(d.members.map(\.memberId), [leader, follower])
        XCTAssertEqual(d.members[0].clientId, "a")
        XCTAssertEqual(d.members[0].clientHost, "/10.0.0.1")
        XCTAssertEqual(d.members[1].assignment.stringValue, "pb")
        XCTAssertEqual(ConsumerProtocolSubscription.topics(from: d.members[1].metadata), ["t"])
        XCTAssertEqual(described[1].state, "Dead")
        XCTAssertEqual(described[1].error, .none)
        await c.shutdown()
    }

    func testStaticMemberRestartThroughCoordinatorKeepsGeneration() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let inA = Self.input(client: "a", instance: "host-a")
        let ja = Task { await c.joinGroup(groupId: "s", inA) }
        await eventually("static member parked") { await c.group("s")?.members.count == 1 }
        await scheduler.advance(by: 3_000)
        let a = await ja.value
        XCTAssertEqual(a.generationId, 1)
        _ = await c.syncGroup(groupId: "s", SyncGroupInput(memberId: a.memberId, groupInstanceId: "host-a", generationId: 1,
                                                           assignments: [(a.memberId, ByteBuffer(string: "mine"))]))
        let again = await c.joinGroup(groupId: "s", Self.input(client: "a", instance: "host-a"))
        XCTAssertEqual(again.error, .none)
        XCTAssertEqual(again.generationId, 1)
        XCTAssertNotEqual(again.memberId, a.memberId)
        let v35 = await c.heartbeat(groupId: "s", memberId: a.memberId, groupInstanceId: "host-a", generationId: 1)
        XCTAssertEqual(v35,
                       .fencedInstanceId)
        let s = await c.syncGroup(groupId: "s", SyncGroupInput(memberId: again.memberId, groupInstanceId: "host-a", generationId: 1))
        XCTAssertEqual(s.assignment.stringValue, "mine")
        await c.shutdown()
    }

    func testOffsetsExpireAndEmptyGroupIsForgotten() async throws {
        var config = GroupCoordinatorConfig()
        config.offsetsRetentionMs = 60_000
        config.offsetsRetentionCheckIntervalMs = 10_000
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler, config: config)
        try await c.start()
        _ = await c.commitOffsets(groupId: "old", memberId: "", groupInstanceId: nil, generationId: -1,
                                  offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 1)])
        await scheduler.advance(by: 50_000)
        await c.waitForWrites()
        let v36 = await c.group("old")
        XCTAssertNotNil(v36)
        await scheduler.advance(by: 20_000)
        await c.waitForWrites()
        let v37 = await c.group("old")
        XCTAssertNil(v37)
        XCTAssertTrue(try store.allRecords().contains { $0.key == .groupMetadata(group: "old") && $0.value == nil })
        await c.shutdown()
    }

    func testShutdownAnswersParkedJoins() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let inA = Self.input(client: "a", version: 3)
        let parked = Task { await c.joinGroup(groupId: "g", inA) }
        await eventually("join parked") { await c.group("g")?.members.count == 1 }
        await c.shutdown()
        let v38 = await parked.value.error
        XCTAssertEqual(v38, .notCoordinator)
    }
}

extension GroupsCoordinatorTests {
    /// A client-chosen retention of Int64.max used to overflow the expire timestamp and trap.
    func testHugeRetentionTimeSaturates() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        let r = await c.commitOffsets(groupId: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                      retentionTimeMs: Int64.max,
                                      offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 1)])
        XCTAssertEqual(r, [.none])
        let stored = await c.group("g")?.offsets[GroupTopicPartition(topic: "t", partition: 0)]
        XCTAssertEqual(stored?.expireTimestamp, Int64.max)
        XCTAssertEqual(GroupCoordinator.expireTimestamp(commitMs: 10, retentionMs: 5), 15)
        XCTAssertEqual(GroupCoordinator.expireTimestamp(commitMs: 10, retentionMs: -1), -1)
        await c.shutdown()
    }
}

extension GroupsCoordinatorTests {
    func testDeletedTopicsLoseTheirOffsetsAndOffsetOnlyGroupsAreForgotten() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store: store, scheduler: scheduler)
        try await c.start()
        _ = await c.commitOffsets(groupId: "both", memberId: "", groupInstanceId: nil, generationId: -1, offsets: [
            OffsetCommitEntry(topic: "gone", partition: 0, offset: 5), OffsetCommitEntry(topic: "kept", partition: 0, offset: 6),
        ])
        _ = await c.commitOffsets(groupId: "only-gone", memberId: "", groupInstanceId: nil, generationId: -1,
                                  offsets: [OffsetCommitEntry(topic: "gone", partition: 1, offset: 7)])
        await c.topicsDeleted(["gone"])
        await c.waitForWrites()
        let both = await c.fetchOffsets(groupId: "both", topics: nil).offsets.map(\.topic)
        XCTAssertEqual(both, ["kept"])
        let onlyGone = await c.group("only-gone")
        XCTAssertNil(onlyGone, "an empty group with no offsets left is forgotten")
        await c.shutdown()
        let reloaded = makeCoordinator(store: store, scheduler: scheduler)
        try await reloaded.start()
        let afterReload = await reloaded.fetchOffsets(groupId: "both", topics: nil).offsets.map(\.topic)
        XCTAssertEqual(afterReload, ["kept"])
        let groups = await reloaded.listGroups().groups.map(\.groupId)
        XCTAssertEqual(groups, ["both"])
        await reloaded.shutdown()
    }
}
