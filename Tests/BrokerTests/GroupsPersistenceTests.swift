import NIOCore
import XCTest
@testable import Broker

/// How the coordinator's memory and its `__consumer_offsets` log stay in step: ordered
/// writes, deletes that race with joins, and reload of logs with foreign or corrupt records.
final class GroupsPersistenceTests: XCTestCase {
    func coordinator(_ store: any GroupLogStore, _ scheduler: ManualGroupScheduler) -> GroupCoordinator {
        GroupCoordinator(store: store, scheduler: scheduler,
                         localNode: { _ in CoordinatorNode(nodeId: 1, host: "h", port: 1) }, makeUUID: { "u" })
    }

    func testConcurrentCommitsLeaveMemoryEqualToWhatReloadReads() async throws {
        let store = InMemoryGroupLogStore(partitionCount: 2), scheduler = ManualGroupScheduler()
        let c = coordinator(store, scheduler)
        try await c.start()
        await withTaskGroup(of: Void.self) { tasks in
            for i in 0..<200 {
                tasks.addTask {
                    _ = await c.commitOffsets(groupId: "g\(i % 3)", memberId: "", groupInstanceId: nil, generationId: -1,
                                              offsets: [OffsetCommitEntry(topic: "t", partition: Int32(i % 4), offset: Int64(i))])
                }
            }
        }
        var inMemory: [String: [Int64]] = [:]
        for g in ["g0", "g1", "g2"] {
            inMemory[g] = await c.fetchOffsets(groupId: g, topics: nil).offsets.map(\.offset)
        }
        await c.shutdown()
        let reloaded = coordinator(store, scheduler)
        try await reloaded.start()
        for g in ["g0", "g1", "g2"] {
            let fromLog = await reloaded.fetchOffsets(groupId: g, topics: nil).offsets.map(\.offset)
            XCTAssertEqual(fromLog, inMemory[g], "group \(g): the log's last write per key is what memory holds")
        }
        await reloaded.shutdown()
    }

    func testGroupBeingDeletedRefusesJoinsUntilTheTombstonesAreWritten() async throws {
        let inner = InMemoryGroupLogStore(), gated = GatedGroupLogStore(inner: inner), scheduler = ManualGroupScheduler()
        let c = coordinator(gated, scheduler)
        try await c.start()
        _ = await c.commitOffsets(groupId: "old", memberId: "", groupInstanceId: nil, generationId: -1,
                                  offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 9)])
        gated.close()
        let deletion = Task { await c.deleteGroups(["old"]) }
        await eventually("tombstones in flight") { gated.blocked == 1 }
        let state = await c.group("old")?.state
        XCTAssertEqual(state, .dead)
        let join = await c.joinGroup(groupId: "old", GroupHarness.joinInput(clientId: "x", version: 3))
        XCTAssertEqual(join.error, .coordinatorNotAvailable, "nothing may join a group whose deletion is being written")
        let commit = await c.commitOffsets(groupId: "old", memberId: "", groupInstanceId: nil, generationId: -1,
                                           offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 10)])
        XCTAssertEqual(commit, [.coordinatorNotAvailable])
        gated.open()
        let deleted = await deletion.value
        XCTAssertEqual(deleted.map(\.error), [.none])
        let gone = await c.group("old")
        XCTAssertNil(gone)
        await c.shutdown()
    }

    func testFailedDeleteRestoresTheGroup() async throws {
        let store = InMemoryGroupLogStore(), scheduler = ManualGroupScheduler()
        let c = coordinator(store, scheduler)
        try await c.start()
        _ = await c.commitOffsets(groupId: "keep", memberId: "", groupInstanceId: nil, generationId: -1,
                                  offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: 4)])
        struct Broken: Error {}
        store.setFailure(Broken())
        let result = await c.deleteGroups(["keep"])
        XCTAssertEqual(result.map(\.error), [.coordinatorNotAvailable])
        store.setFailure(nil)
        let state = await c.group("keep")?.state
        XCTAssertEqual(state, .empty)
        let offsets = await c.fetchOffsets(groupId: "keep", topics: nil).offsets.map(\.offset)
        XCTAssertEqual(offsets, [4])
        await c.shutdown()
    }

    func testReloadSkipsForeignAndCorruptRecordsAndAppliesTombstones() async throws {
        let store = InMemoryGroupLogStore(partitionCount: 1), scheduler = ManualGroupScheduler()
        func key(_ k: GroupRecordKey) throws -> ByteBuffer { try k.encode() }
        let good = try OffsetCommitValue(offset: 7, metadata: "", commitTimestamp: 1).encode()
        try await store.append(partition: 0, records: [
            (try key(.offsetCommit(OffsetCommitKey(group: "a", topic: "t", partition: 0))), good),
            (ByteBuffer(bytes: [0x00, 0x03, 0x00, 0x01, 0x78]), ByteBuffer(bytes: [0x00, 0x00, 0x01])),  // KIP-848 record
            (try key(.offsetCommit(OffsetCommitKey(group: "a", topic: "t", partition: 1))), ByteBuffer(bytes: [0x00, 0x03, 0x01])),  // corrupt
            (try key(.offsetCommit(OffsetCommitKey(group: "a", topic: "t", partition: 2))), good),
            (try key(.offsetCommit(OffsetCommitKey(group: "a", topic: "t", partition: 2))), nil),
            (try key(.groupMetadata(group: "b")), try GroupMetadataValue(
                protocolType: "consumer", generation: 4, protocol: nil, leader: nil, currentStateTimestamp: 5, members: []).encode()),
            (try key(.groupMetadata(group: "c")), try GroupMetadataValue(
                protocolType: "consumer", generation: 1, protocol: nil, leader: nil, currentStateTimestamp: 5, members: []).encode()),
            (try key(.groupMetadata(group: "c")), nil),
        ])
        let c = coordinator(store, scheduler)
        try await c.start()
        let a = await c.fetchOffsets(groupId: "a", topics: nil).offsets.map { ($0.partition, $0.offset) }
        XCTAssertEqual(a.map(\.0), [0])
        XCTAssertEqual(a.map(\.1), [7])
        let b = await c.group("b")
        XCTAssertEqual(b?.state, .empty)
        XCTAssertEqual(b?.generationId, 4)
        XCTAssertEqual(b?.protocolType, "consumer")
        let gone = await c.group("c")
        XCTAssertNil(gone)
        await c.shutdown()
    }
}
