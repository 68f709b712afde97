import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import Broker

/// One replicated `__consumer_offsets` seen by several brokers: every broker reads and writes
/// the same records, but only the leader of a partition may (NOT_COORDINATOR otherwise, as
/// `ConsumerOffsetsLogStore` answers). `blockReads` holds loads until released.
final class LeaderAwareGroupLogStore: GroupLogStore, @unchecked Sendable {
    let shared: InMemoryGroupLogStore
    private let lock = NSLock()
    private var leads: Set<Int32>
    private var gate: [CheckedContinuation<Void, Never>] = []
    private var blocked = false
    var partitionCount: Int32 { shared.partitionCount }

    init(shared: InMemoryGroupLogStore, leads: Set<Int32>) { self.shared = shared; self.leads = leads }

    func setLeads(_ partitions: Set<Int32>) { lock.withLock { leads = partitions } }
    func blockReads(_ on: Bool) {
        let waiting = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            blocked = on
            defer { if !on { gate.removeAll() } }
            return on ? [] : gate
        }
        for w in waiting { w.resume() }
    }

    func append(partition: Int32, records: [(key: ByteBuffer, value: ByteBuffer?)]) async throws {
        guard lock.withLock({ leads.contains(partition) }) else { throw GroupErrorCode.notCoordinator }
        try await shared.append(partition: partition, records: records)
    }

    func readAll(partition: Int32) async throws -> [(key: ByteBuffer, value: ByteBuffer?)] {
        guard lock.withLock({ leads.contains(partition) }) else { throw GroupErrorCode.notCoordinator }
        let wait = lock.withLock { blocked }
        if wait {
            await withCheckedContinuation { c in
                let resumeNow = lock.withLock { () -> Bool in
                    guard blocked else { return true }
                    gate.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
        return try await shared.readAll(partition: partition)
    }
}

/// The coordinator following `__consumer_offsets` leadership (issue 12): load on election,
/// unload (NOT_COORDINATOR, parked requests answered) on resignation, COORDINATOR_LOAD_IN_PROGRESS
/// while loading, stale epochs ignored; FindCoordinator names the partition's leader.
final class GroupsLeadershipTests: XCTestCase {
    static let partitions: Int32 = 4

    func makeCoordinator(_ store: LeaderAwareGroupLogStore, _ scheduler: ManualGroupScheduler, nodeId: Int32,
                         lookup: (@Sendable (Int32, String) -> CoordinatorLookup)? = nil) -> GroupCoordinator {
        let node = CoordinatorNode(nodeId: nodeId, host: "broker\(nodeId)", port: 9092)
        return GroupCoordinator(store: store, scheduler: scheduler, localNode: { _ in node },
                                makeUUID: { UUID().uuidString.lowercased() }, coordinatorFor: lookup)
    }

    /// Waits (bounded) until `condition` holds on the coordinator.
    func eventually(_ what: String, _ condition: () async -> Bool) async {
        for _ in 0..<500 {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("timed out waiting for: \(what)")
    }

    func testOffsetsMoveToTheNewLeaderAndTheOldOneAnswersNotCoordinator() async throws {
        let shared = InMemoryGroupLogStore(partitionCount: Self.partitions)
        let storeA = LeaderAwareGroupLogStore(shared: shared, leads: Set(0..<Self.partitions))
        let storeB = LeaderAwareGroupLogStore(shared: shared, leads: [])
        let scheduler = ManualGroupScheduler()
        let a = makeCoordinator(storeA, scheduler, nodeId: 1), b = makeCoordinator(storeB, scheduler, nodeId: 2)
        try await a.start()
        try await b.start()
        let p = consumerOffsetsPartition(for: "g", partitionCount: Self.partitions)

        let committed = await a.commitOffsets(groupId: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                              offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 42)])
        XCTAssertEqual(committed, [.none])
        let onB = await b.fetchOffsets(groupId: "g", topics: nil)
        XCTAssertEqual(onB.error, .notCoordinator, "B does not lead the group's offsets partition")

        // Leadership of p moves from A to B in leader epoch 1.
        storeA.setLeads(Set(0..<Self.partitions).subtracting([p]))
        storeB.setLeads([p])
        a.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: false, leaderEpoch: 1)])
        b.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: true, leaderEpoch: 1)])
        await eventually("B loads partition \(p)") { await b.coordinates(offsetsPartition: p) }
        await eventually("A unloads partition \(p)") { await !a.coordinates(offsetsPartition: p) }

        let loaded = await b.fetchOffsets(groupId: "g", topics: nil)
        XCTAssertEqual(loaded.error, .none)
        XCTAssertEqual(loaded.offsets.map(\.offset), [42], "the committed offset survives the move")
        let onA = await a.fetchOffsets(groupId: "g", topics: nil)
        XCTAssertEqual(onA.error, .notCoordinator)
        let commitOnA = await a.commitOffsets(groupId: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                              offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 43)])
        XCTAssertEqual(commitOnA, [.notCoordinator])
        let heartbeatOnA = await a.heartbeat(groupId: "g", memberId: "m", groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(heartbeatOnA, .notCoordinator)
        // A's other partitions are still its own.
        let other = (0..<Self.partitions).first { $0 != p }!
        let stillOwned = await a.coordinates(offsetsPartition: other)
        XCTAssertTrue(stillOwned)

        // A stale event (epoch 0 says A leads) changes nothing on either side.
        a.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: true, leaderEpoch: 0)])
        b.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: false, leaderEpoch: 0)])
        // A later event on another partition is processed after the stale ones: once it is, they were too.
        b.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: other, isLeader: false, leaderEpoch: 5)])
        try await Task.sleep(for: .milliseconds(50))
        let bStill = await b.coordinates(offsetsPartition: p)
        let aStill = await a.coordinates(offsetsPartition: p)
        XCTAssertTrue(bStill, "an older epoch does not unload")
        XCTAssertFalse(aStill, "an older epoch does not load")

        // B commits; A takes the partition back in epoch 2 and sees B's commit.
        let commitOnB = await b.commitOffsets(groupId: "g", memberId: "", groupInstanceId: nil, generationId: -1,
                                              offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 50)])
        XCTAssertEqual(commitOnB, [.none])
        storeB.setLeads([])
        storeA.setLeads(Set(0..<Self.partitions))
        b.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: false, leaderEpoch: 2)])
        a.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: true, leaderEpoch: 2)])
        await eventually("A reloads partition \(p)") { await a.coordinates(offsetsPartition: p) }
        let back = await a.fetchOffsets(groupId: "g", topics: nil)
        XCTAssertEqual(back.offsets.map(\.offset), [50])
        await a.shutdown()
        await b.shutdown()
    }

    func testLoadInProgressAndParkedJoinAnsweredOnResignation() async throws {
        let shared = InMemoryGroupLogStore(partitionCount: Self.partitions)
        let store = LeaderAwareGroupLogStore(shared: shared, leads: [])
        let scheduler = ManualGroupScheduler()
        let c = makeCoordinator(store, scheduler, nodeId: 1)
        try await c.start()
        let p = consumerOffsetsPartition(for: "g", partitionCount: Self.partitions)
        let before = await c.heartbeat(groupId: "g", memberId: "m", groupInstanceId: nil, generationId: 1)
        XCTAssertEqual(before, .notCoordinator)

        store.setLeads([p])
        store.blockReads(true)
        c.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: true, leaderEpoch: 3)])
        await eventually("the load starts") {
            await c.heartbeat(groupId: "g", memberId: "m", groupInstanceId: nil, generationId: 1) == .coordinatorLoadInProgress
        }
        let listed = await c.listGroups()
        XCTAssertEqual(listed.error, .coordinatorLoadInProgress)
        store.blockReads(false)
        await eventually("the load ends") { await c.coordinates(offsetsPartition: p) }

        // A join parks (the initial rebalance delay); losing the partition answers it.
        let first = await c.joinGroup(groupId: "g", GroupHarness.joinInput(clientId: "a"))
        XCTAssertEqual(first.error, .memberIdRequired)
        let parked = Task { await c.joinGroup(groupId: "g", GroupHarness.joinInput(memberId: first.memberId, clientId: "a")) }
        await eventually("the join parks") { await c.group("g")?.members.isEmpty == false }
        c.offsetsLeadershipChanged([OffsetsPartitionLeadership(partition: p, isLeader: false, leaderEpoch: 4)])
        let answer = await parked.value
        XCTAssertEqual(answer.error, .notCoordinator)
        let gone = await c.group("g")
        XCTAssertNil(gone, "the group is forgotten here; the new coordinator loads it")
        await c.shutdown()
    }

    func testFindCoordinatorNamesThePartitionLeader() async throws {
        let store = LeaderAwareGroupLogStore(shared: InMemoryGroupLogStore(partitionCount: Self.partitions), leads: [])
        let p = consumerOffsetsPartition(for: "g", partitionCount: Self.partitions)
        let c = makeCoordinator(store, ManualGroupScheduler(), nodeId: 1, lookup: { partition, listener in
            partition == p ? .node(CoordinatorNode(nodeId: 3, host: "broker3-\(listener)", port: 9093)) : .unavailable("no leader")
        })
        let found = c.findCoordinator(key: "g", keyType: 0, listenerName: "PLAINTEXT")
        XCTAssertEqual(found.error, .none)
        XCTAssertEqual(found.node, CoordinatorNode(nodeId: 3, host: "broker3-PLAINTEXT", port: 9093))
        let other = (0..<1000).map { "group-\($0)" }.first { consumerOffsetsPartition(for: $0, partitionCount: Self.partitions) != p }!
        let missing = c.findCoordinator(key: other, keyType: 0, listenerName: "PLAINTEXT")
        XCTAssertEqual(missing.error, .coordinatorNotAvailable)
        XCTAssertNil(missing.node)
    }

    func testLeadershipChangesFromMetadata() throws {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        let id = TopicID.random()
        let parts = (0..<3).map { i in
            PartitionRegistration(partition: Int32(i), replicas: [1, 2, 3], isr: [1, 2, 3], leader: Int32(i + 1),
                                  leaderEpoch: 0, partitionEpoch: 0)
        }
        image.topics["__consumer_offsets"] = TopicImage(name: "__consumer_offsets", id: id, partitions: parts, configs: [:])
        let all = OffsetsTopicCoordination.leadershipChanges(old: nil, new: image, nodeId: 2)
        XCTAssertEqual(all, [.init(partition: 0, isLeader: false, leaderEpoch: 0), .init(partition: 1, isLeader: true, leaderEpoch: 0),
                             .init(partition: 2, isLeader: false, leaderEpoch: 0)])
        var next = image
        next.topics["__consumer_offsets"]!.partitions[1].leader = 3
        next.topics["__consumer_offsets"]!.partitions[1].leaderEpoch = 1
        next.topics["__consumer_offsets"]!.partitions[2].isr = [3]   // no leader change: no event
        XCTAssertEqual(OffsetsTopicCoordination.leadershipChanges(old: image, new: next, nodeId: 2),
                       [.init(partition: 1, isLeader: false, leaderEpoch: 1)])
        XCTAssertEqual(OffsetsTopicCoordination.leadershipChanges(old: image, new: MetadataImage(clusterId: "c", controllerId: 1), nodeId: 2), [])
    }
}
