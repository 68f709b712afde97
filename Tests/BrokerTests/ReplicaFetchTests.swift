import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 12 item 1, the pure and in-process parts of the data plane: the truncation offset
/// (Kafka's getOffsetTruncationState), the follower's Fetch, a leader Partition serving a
/// follower Partition (byte copies, producer state, HW), divergence and truncation, the long
/// poll woken by appends, and the leader's errors for bad follower fetches.
final class ReplicaFetchTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = "/tmp/samsa-broker-replica-fetch-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectories(dir)
    }

    override func tearDownWithError() throws { try? runRemove(dir) }

    private let topicID = KafkaUUID.random()

    private func partition(node: Int32, leader: Int32, epoch: Int32, name: String) throws -> Partition {
        let log = try PartitionLog(directory: dir + "/" + name, topic: "t", partition: 0, config: LogConfig())
        let leadership = PartitionLeadership(topicID: topicID, leader: leader, leaderEpoch: epoch, partitionEpoch: 0,
                                             replicas: [1, 2, 3], isr: [1, 2, 3])
        let p = Partition(topic: "t", index: 0, log: log, localBrokerId: node, leadership: leadership)
        if leader == node { try log.assignEpochStartOffset(epoch: epoch) }
        return p
    }

    private func append(_ p: Partition, _ values: [String], producerId: Int64 = -1, sequence: Int32 = -1) throws -> Partition.AppendResult {
        let batch = try BrokerHarness.batch(values, producerId: producerId, epoch: producerId >= 0 ? 0 : -1, sequence: sequence)
        let header = try RecordBatchHeader.peek(batch, at: batch.readerIndex)
        return try p.appendAsLeader(batch, header: header, requiredAcks: 1)
    }

    private func bytes(_ log: PartitionLog) throws -> ByteBuffer {
        try log.read(from: log.logStartOffset, maxBytes: Int.max, maxOffset: nil, minOneBatch: true).readBytes()
    }

    /// One follower round trip: fetch at the follower's LEO, append, follow the HW.
    private func replicate(from leader: Partition, to follower: Partition, replicaId: Int32) throws -> FollowerReadResult {
        let log = follower.log
        let result = try leader.readForFollower(replicaId: replicaId, fetchOffset: log.logEndOffset,
                                                currentLeaderEpoch: follower.leadership.leaderEpoch,
                                                lastFetchedEpoch: log.latestEpoch ?? -1, maxBytes: 1 << 20, minOneBatch: true)
        if case .records(let r) = result {
            leader.updateFollowerFetchState(replicaId: replicaId, fetchOffset: log.logEndOffset, brokerEpoch: -1, nowMs: 0)
            if r.length > 0 { _ = try follower.appendAsFollower(try r.readBytes(), leaderEpoch: follower.leadership.leaderEpoch) }
            follower.updateFollowerHighWatermark(leaderHighWatermark: leader.highWatermark)
        }
        return result
    }

    // MARK: Pure parts

    func testTruncationOffsetFollowsKafka() {
        // Same epoch on both sides: the smaller of the two end offsets, capped at our LEO.
        var r = FollowerTruncation.offset(leaderEpoch: 3, leaderEndOffset: 120, followerEndOffsetForEpoch: (3, 150),
                                          followerLogEndOffset: 150, fetchOffset: 150)
        XCTAssertEqual(r.offset, 120); XCTAssertTrue(r.complete)
        r = FollowerTruncation.offset(leaderEpoch: 3, leaderEndOffset: 200, followerEndOffsetForEpoch: (3, 150),
                                      followerLogEndOffset: 150, fetchOffset: 150)
        XCTAssertEqual(r.offset, 150)
        // The follower does not know the leader's epoch: cut to the end of its own older epoch
        // and ask again.
        r = FollowerTruncation.offset(leaderEpoch: 4, leaderEndOffset: 120, followerEndOffsetForEpoch: (2, 90),
                                      followerLogEndOffset: 150, fetchOffset: 150)
        XCTAssertEqual(r.offset, 90); XCTAssertFalse(r.complete)
        // No epoch at or below the leader's: the leader's offset.
        r = FollowerTruncation.offset(leaderEpoch: 1, leaderEndOffset: 40, followerEndOffsetForEpoch: nil,
                                      followerLogEndOffset: 150, fetchOffset: 150)
        XCTAssertEqual(r.offset, 40); XCTAssertTrue(r.complete)
        // Unknown end offset: the fetch offset (nothing to cut).
        r = FollowerTruncation.offset(leaderEpoch: 1, leaderEndOffset: -1, followerEndOffsetForEpoch: nil,
                                      followerLogEndOffset: 150, fetchOffset: 150)
        XCTAssertEqual(r.offset, 150)
    }

    func testFetchRequestBatchesEveryPartitionOfOneLeader() throws {
        var settings = ReplicaFetchSettings()
        settings.maxBytes = 1000
        let entries = [
            ReplicaFetchEntry(topicPartition: TopicPartition("b", 1), currentLeaderEpoch: 7, fetchOffset: 10, lastFetchedEpoch: 6, logStartOffset: 2),
            ReplicaFetchEntry(topicPartition: TopicPartition("a", 0), currentLeaderEpoch: 3, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: 0),
            ReplicaFetchEntry(topicPartition: TopicPartition("b", 0), currentLeaderEpoch: 7, fetchOffset: 5, lastFetchedEpoch: 7, logStartOffset: 0),
        ]
        let req = ReplicaFetchRequestBuilder.build(replicaId: 2, settings: settings, entries: entries)
        XCTAssertEqual(req.replicaId, 2)
        XCTAssertEqual(req.maxWaitMs, 500)
        XCTAssertEqual(req.minBytes, 1)
        XCTAssertEqual(req.maxBytes, 10 << 20)
        XCTAssertEqual(req.sessionEpoch, -1)
        XCTAssertEqual(req.topics.map(\.topic), ["a", "b"])
        XCTAssertEqual(req.topics[1].partitions.map(\.partition), [0, 1])
        let b1 = req.topics[1].partitions[1]
        XCTAssertEqual([b1.fetchOffset, Int64(b1.currentLeaderEpoch), Int64(b1.lastFetchedEpoch), b1.logStartOffset, Int64(b1.partitionMaxBytes)],
                       [10, 7, 6, 2, 1000])
        // It encodes at v12 and decodes back the same (what the leader will read).
        var buf = ByteBuffer()
        try req.encode(into: &buf, version: 12)
        let decoded = try FetchRequest(from: &buf, version: 12)
        XCTAssertEqual(decoded.topics[1].partitions[1].lastFetchedEpoch, 6)
        XCTAssertEqual(decoded.replicaId, 2)
    }

    func testFetcherPlanFollowsOtherLeadersOnly() throws {
        let led = try partition(node: 2, leader: 2, epoch: 1, name: "led")
        let followed = try partition(node: 2, leader: 3, epoch: 4, name: "followed")
        let plan = ReplicaFetcherManager.plan(nodeId: 2, partitions: [led, followed])
        XCTAssertEqual(plan, [3: [TopicPartition("t", 0): 4]])
    }

    func testWholeBatchesDropsAPartialTail() throws {
        var buf = try BrokerHarness.batch(["a", "b"])
        let whole = buf.readableBytes
        var second = try BrokerHarness.batch(["c"])
        buf.writeBuffer(&second)
        buf.moveWriterIndex(to: buf.writerIndex - 3)
        XCTAssertEqual(Partition.wholeBatches(buf).readableBytes, whole)
    }

    // MARK: Leader and follower partitions

    func testFollowerGetsByteIdenticalCopyAndProducerState() throws {
        let leader = try partition(node: 1, leader: 1, epoch: 5, name: "leader")
        let follower = try partition(node: 2, leader: 1, epoch: 5, name: "follower")
        _ = try append(leader, ["a", "b", "c"], producerId: 77, sequence: 0)
        _ = try append(leader, ["d"])
        _ = try append(leader, ["e", "f"], producerId: 77, sequence: 3)
        // The HW waits for the ISR (followers 2 and 3 have not fetched).
        XCTAssertEqual(leader.highWatermark, 0)
        _ = try replicate(from: leader, to: follower, replicaId: 2)
        XCTAssertEqual(follower.logEndOffset, 6)
        XCTAssertEqual(try bytes(follower.log), try bytes(leader.log))
        XCTAssertEqual(follower.log.leaderEpochEntries.map(\.epoch), [5])
        // Same idempotent-producer state: after failover the follower deduplicates a retry.
        XCTAssertEqual(follower.producerState.producers, leader.producerState.producers)
        XCTAssertEqual(follower.producerState.producers.keys.sorted(), [77])
        // The follower's fetch at its new LEO moves the leader's HW (replica 3 still holds it back).
        _ = try replicate(from: leader, to: follower, replicaId: 2)
        XCTAssertEqual(leader.highWatermark, 0)
        leader.updateFollowerFetchState(replicaId: 3, fetchOffset: 6, brokerEpoch: -1, nowMs: 0)
        XCTAssertEqual(leader.highWatermark, 6)
        _ = try replicate(from: leader, to: follower, replicaId: 2)
        XCTAssertEqual(follower.highWatermark, 6, "follower HW = min(leader HW, own LEO)")

        // Promote the follower: a retry of the producer's last batch is a duplicate there.
        var l = follower.leadership
        l.leader = 2; l.leaderEpoch = 6
        follower.updateLeadership(l)
        let retry = try append(follower, ["e", "f"], producerId: 77, sequence: 3)
        XCTAssertTrue(retry.duplicate)
        XCTAssertEqual(retry.baseOffset, 4)
    }

    func testStaleEpochResponseIsNotAppended() throws {
        let leader = try partition(node: 1, leader: 1, epoch: 5, name: "leader")
        let follower = try partition(node: 2, leader: 1, epoch: 5, name: "follower")
        _ = try append(leader, ["a"])
        guard case .records(let r) = try leader.readForFollower(replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 5,
                                                                 lastFetchedEpoch: -1, maxBytes: 1 << 20, minOneBatch: true) else {
            return XCTFail("expected records")
        }
        var l = follower.leadership
        l.leader = 3; l.leaderEpoch = 6
        follower.updateLeadership(l)
        XCTAssertNil(try follower.appendAsFollower(try r.readBytes(), leaderEpoch: 5))
        XCTAssertEqual(follower.logEndOffset, 0)
    }

    func testDivergedFollowerTruncatesToTheLeadersLog() throws {
        // Broker 1 led epoch 5 and wrote 3 records that nobody fetched, then died. Broker 2
        // (which had the first record) leads epoch 6 and wrote 2 records.
        let old = try partition(node: 1, leader: 1, epoch: 5, name: "old")
        let new = try partition(node: 2, leader: 1, epoch: 5, name: "new")
        _ = try append(old, ["shared"])
        _ = try replicate(from: old, to: new, replicaId: 2)
        _ = try append(old, ["lost1", "lost2", "lost3"])
        var l = new.leadership
        l.leader = 2; l.leaderEpoch = 6
        new.updateLeadership(l)
        try new.log.assignEpochStartOffset(epoch: 6)
        _ = try append(new, ["new1", "new2"])
        // Broker 1 comes back as a follower of epoch 6.
        old.updateLeadership(l)
        XCTAssertEqual(old.logEndOffset, 4)
        let result = try new.readForFollower(replicaId: 1, fetchOffset: 4, currentLeaderEpoch: 6, lastFetchedEpoch: 5,
                                             maxBytes: 1 << 20, minOneBatch: true)
        guard case let .diverging(epoch, endOffset) = result else { return XCTFail("expected DivergingEpoch, got \(result)") }
        XCTAssertEqual(epoch, 5)
        XCTAssertEqual(endOffset, 1)
        let (offset, complete) = FollowerTruncation.offset(
            leaderEpoch: epoch, leaderEndOffset: endOffset, followerEndOffsetForEpoch: FollowerTruncation.followerEndOffset(old.log, forEpoch: epoch),
            followerLogEndOffset: old.logEndOffset, fetchOffset: 4)
        XCTAssertEqual(offset, 1); XCTAssertTrue(complete)
        try old.truncateAsFollower(to: offset, leaderEpoch: 6)
        XCTAssertEqual(old.logEndOffset, 1)
        guard case .records = try replicate(from: new, to: old, replicaId: 1) else { return XCTFail("expected records") }
        XCTAssertEqual(try bytes(old.log), try bytes(new.log))
        XCTAssertEqual(old.log.leaderEpochEntries.map(\.epoch), [5, 6])
        XCTAssertEqual(try BrokerHarness.values(try bytes(old.log)).map { $0.1 }, ["shared", "new1", "new2"])
    }

    func testLeaderRejectsBadFollowerFetches() throws {
        let leader = try partition(node: 1, leader: 1, epoch: 5, name: "leader")
        _ = try append(leader, ["a"])
        func code(_ body: () throws -> FollowerReadResult) -> Int16? {
            do { _ = try body(); return nil } catch let e as PartitionError { return e.code } catch { return -2 }
        }
        // Not in the replica set: UNKNOWN_LEADER_EPOCH with an epoch, NOT_LEADER_OR_FOLLOWER without.
        XCTAssertEqual(code { try leader.readForFollower(replicaId: 9, fetchOffset: 0, currentLeaderEpoch: 5, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 75)
        XCTAssertEqual(code { try leader.readForFollower(replicaId: 9, fetchOffset: 0, currentLeaderEpoch: -1, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 6)
        // Stale and future epochs.
        XCTAssertEqual(code { try leader.readForFollower(replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 4, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 74)
        XCTAssertEqual(code { try leader.readForFollower(replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 6, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 75)
        // Past the LEO.
        XCTAssertEqual(code { try leader.readForFollower(replicaId: 2, fetchOffset: 5, currentLeaderEpoch: 5, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 1)
        // A follower asked of a broker that does not lead.
        let follower = try partition(node: 2, leader: 1, epoch: 5, name: "follower")
        XCTAssertEqual(code { try follower.readForFollower(replicaId: 3, fetchOffset: 0, currentLeaderEpoch: 5, lastFetchedEpoch: -1, maxBytes: 100, minOneBatch: true) }, 6)
        // Reads go to the LEO, past the HW.
        guard case .records(let r) = try leader.readForFollower(replicaId: 2, fetchOffset: 0, currentLeaderEpoch: 5, lastFetchedEpoch: 5,
                                                                 maxBytes: 100, minOneBatch: true) else { return XCTFail() }
        XCTAssertEqual(leader.highWatermark, 0)
        XCTAssertGreaterThan(r.length, 0)
    }

    func testAppendWakesParkedFollowerFetchButNotConsumerFetch() throws {
        let leader = try partition(node: 1, leader: 1, epoch: 5, name: "leader")
        let followerWaiter = DataWaiter(id: 1), consumerWaiter = DataWaiter(id: 2)
        leader.addAppendWaiter(followerWaiter)
        leader.addWaiter(consumerWaiter)
        _ = try append(leader, ["a"])
        XCTAssertTrue(followerWaiter.hasFired, "a leader append must wake a parked follower fetch")
        XCTAssertFalse(consumerWaiter.hasFired, "the HW did not move: consumers stay parked")
        // When the followers' fetches move the HW, the consumer is woken.
        leader.updateFollowerFetchState(replicaId: 2, fetchOffset: 1, brokerEpoch: -1, nowMs: 0)
        leader.updateFollowerFetchState(replicaId: 3, fetchOffset: 1, brokerEpoch: -1, nowMs: 0)
        XCTAssertTrue(consumerWaiter.hasFired)
    }

    // MARK: Through the Fetch handler

    func testFetchHandlerServesAFollowerToTheLEOWithDivergingEpoch() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9093)],
                                                      rack: nil, fenced: false))
        _ = try await h.services.controller.createTopic(name: "r", numPartitions: -1, replicationFactor: -1,
                                                        assignments: [0: [1, 2], 1: [2, 1]])
        guard let p = h.services.replicas.allPartitions.first(where: { $0.isLeader && $0.topic == "r" }) else {
            return XCTFail("no partition of r led by broker 1")
        }
        let epoch = p.leadership.leaderEpoch
        _ = try await h.produce("r", partition: p.index, try BrokerHarness.batch(["x", "y"]), acks: 1)
        XCTAssertEqual(p.highWatermark, 0, "broker 2 has not fetched")
        var req = FetchRequest()
        req.replicaId = 2
        req.maxBytes = 1 << 20
        req.topics = [.init(topic: "r", partitions: [.init(partition: p.index, currentLeaderEpoch: epoch, fetchOffset: 0,
                                                           lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20)])]
        var pd = try await h.send(req, version: 12)!.responses[0].partitions[0]
        XCTAssertEqual(pd.errorCode, 0)
        XCTAssertEqual(try BrokerHarness.values(pd.records).map { $0.1 }, ["x", "y"], "followers read past the HW")
        XCTAssertEqual(pd.highWatermark, 0)
        // The next fetch at offset 2 tells the leader that broker 2 has both: the HW moves.
        req.topics[0].partitions[0].fetchOffset = 2
        req.topics[0].partitions[0].lastFetchedEpoch = epoch
        pd = try await h.send(req, version: 12)!.responses[0].partitions[0]
        XCTAssertEqual(pd.errorCode, 0)
        XCTAssertEqual(pd.highWatermark, 2)
        XCTAssertEqual(p.highWatermark, 2)
        // A follower whose log in this epoch runs past the leader's end (2): DivergingEpoch.
        req.topics[0].partitions[0].fetchOffset = 5
        req.topics[0].partitions[0].lastFetchedEpoch = epoch
        req.topics[0].partitions[0].currentLeaderEpoch = epoch
        pd = try await h.send(req, version: 12)!.responses[0].partitions[0]
        XCTAssertEqual(pd.errorCode, 0)
        XCTAssertEqual(pd.divergingEpoch.epoch, epoch)
        XCTAssertEqual(pd.divergingEpoch.endOffset, 2)
        XCTAssertEqual(pd.records?.readableBytes ?? 0, 0)
        XCTAssertEqual(p.followerLogEndOffsets[2], 2, "a diverging fetch does not record the follower's position")
        // An epoch the leader never had (later than its latest): OFFSET_OUT_OF_RANGE, as Kafka.
        req.topics[0].partitions[0].lastFetchedEpoch = epoch + 1
        pd = try await h.send(req, version: 12)!.responses[0].partitions[0]
        XCTAssertEqual(pd.errorCode, ErrorCode.offsetOutOfRange.rawValue)
        // A broker outside the replica set.
        req.replicaId = 9
        req.topics[0].partitions[0].lastFetchedEpoch = -1
        req.topics[0].partitions[0].fetchOffset = 0
        pd = try await h.send(req, version: 12)!.responses[0].partitions[0]
        XCTAssertEqual(pd.errorCode, ErrorCode.unknownLeaderEpoch.rawValue)
        // ListOffsets LATEST for a replica is the LEO, for a consumer the HW.
        _ = try await h.produce("r", partition: p.index, try BrokerHarness.batch(["z"]), acks: 1)
        for (replica, expected) in [(Int32(2), Int64(3)), (Int32(-1), Int64(2))] {
            var lo = ListOffsetsRequest()
            lo.replicaId = replica
            lo.topics = [.init(name: "r", partitions: [.init(partitionIndex: p.index, currentLeaderEpoch: epoch, timestamp: -1)])]
            let offset = try await h.send(lo, version: 4)!.topics[0].partitions[0].offset
            XCTAssertEqual(offset, expected, "ListOffsets LATEST for replica id \(replica)")
        }
    }
}

/// KIP-207 after a leader restart: the reopened leader keeps its leader epoch but its HW comes
/// from the checkpoint (here: none, so the log start), below the HW clients already saw. Until
/// the HW reaches the LEO it reopened at, ListOffsets LATEST answers OFFSET_NOT_AVAILABLE rather
/// than that lower HW (it used to answer it: the fault suite's HW watcher saw 0 after a
/// full-cluster crash).
final class LeaderRestartHighWatermarkTests: XCTestCase {
    private func latest(_ h: BrokerHarness, _ p: Int32, epoch: Int32) async throws -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var lo = ListOffsetsRequest()
        lo.replicaId = -1
        lo.topics = [.init(name: "r", partitions: [.init(partitionIndex: p, currentLeaderEpoch: epoch, timestamp: -1)])]
        return try await h.send(lo, version: 4)!.topics[0].partitions[0]
    }

    private func followerFetch(_ h: BrokerHarness, _ p: Int32, epoch: Int32, at offset: Int64) async throws -> FetchResponse.PartitionData {
        var req = FetchRequest()
        req.replicaId = 2
        req.maxBytes = 1 << 20
        req.topics = [.init(topic: "r", partitions: [.init(partition: p, currentLeaderEpoch: epoch, fetchOffset: offset,
                                                           lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20)])]
        return try await h.send(req, version: 12)!.responses[0].partitions[0]
    }

    func testARestartedLeaderDoesNotExposeAHighWatermarkBelowTheOneItHadAnswered() async throws {
        let dir = "/tmp/samsa-broker-hwr-\(UInt64.random(in: 0...UInt64.max))"
        let h = try BrokerHarness(dir: dir)
        defer { h.cleanup() }
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9093)],
                                                      rack: nil, fenced: false))
        _ = try await h.services.controller.createTopic(name: "r", numPartitions: -1, replicationFactor: -1, assignments: [0: [1, 2]])
        let p = try XCTUnwrap(h.services.replicas.partition("r", 0))
        let epoch = p.leadership.leaderEpoch
        _ = try await h.produce("r", partition: 0, try BrokerHarness.batch(["a", "b"]), acks: 1)
        let first = try await followerFetch(h, 0, epoch: epoch, at: 2)
        XCTAssertEqual(first.errorCode, 0)
        XCTAssertEqual(p.highWatermark, 2)
        _ = try await h.produce("r", partition: 0, try BrokerHarness.batch(["c"]), acks: 1)
        let before = try await latest(h, 0, epoch: epoch)
        XCTAssertEqual(before.errorCode, 0)
        XCTAssertEqual(before.offset, 2)
        try p.log.flush()

        // kill -9 and restart: same metadata (leader 1, same epoch), the logs reopened with no
        // HW checkpoint.
        let restarted = try BrokerHarness(dir: dir)
        let q = try XCTUnwrap(restarted.services.replicas.partition("r", 0))
        XCTAssertTrue(q.isLeader)
        XCTAssertEqual(q.leadership.leaderEpoch, epoch)
        XCTAssertEqual(q.logEndOffset, 3)
        XCTAssertLessThan(q.highWatermark, 2, "the HW reopened below what clients saw")
        XCTAssertEqual(q.leaderEpochStartOffset, 3)
        let lagging = try await latest(restarted, 0, epoch: epoch)
        XCTAssertEqual(lagging.errorCode, ErrorCode.offsetNotAvailable.rawValue,
                       "a lagging HW (\(q.highWatermark)) is not an answer: got offset \(lagging.offset)")
        // The follower catches up to the LEO the leader reopened at: the HW is known again.
        let caughtUp = try await followerFetch(restarted, 0, epoch: epoch, at: 3)
        XCTAssertEqual(caughtUp.errorCode, 0)
        XCTAssertEqual(q.highWatermark, 3)
        let after = try await latest(restarted, 0, epoch: epoch)
        XCTAssertEqual(after.errorCode, 0)
        XCTAssertEqual(after.offset, 3)
    }
}

/// The fetcher's response handling (everything but the socket) against a harness broker that
/// follows broker 2: append + fsync, OFFSET_OUT_OF_RANGE both ways, back-off on errors.
final class ReplicaFetcherRoundTests: XCTestCase {
    private func setUp(_ h: BrokerHarness) async throws -> (ReplicaFetcher, Partition, Int32) {
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9)],
                                                            rack: nil, fenced: false))
        _ = try await h.services.controller.createTopic(name: "f", numPartitions: -1, replicationFactor: -1, assignments: [0: [2, 1]])
        let p = try XCTUnwrap(h.services.replicas.partition("f", 0))
        XCTAssertFalse(p.isLeader)
        let epoch = p.leadership.leaderEpoch
        let fetcher = try ReplicaFetcher(sourceBroker: 2, endpoint: FetcherEndpoint(host: "127.0.0.1", port: 9), nodeId: 1,
                                         replicas: h.services.replicas, settings: ReplicaFetchSettings(), clock: InstantClock(),
                                         logger: Logger(label: "fetcher-test"))
        fetcher.update(endpoint: FetcherEndpoint(host: "127.0.0.1", port: 9), partitions: [TopicPartition("f", 0): epoch])
        return (fetcher, p, epoch)
    }

    /// Batches as the leader would send them: offsets from `base`, stamped with `epoch`.
    private func leaderBatch(_ values: [String], base: Int64, epoch: Int32) throws -> ByteBuffer {
        var b = try BrokerHarness.batch(values)
        let start = b.readerIndex
        RecordBatchHeader.setBaseOffset(base, in: &b, at: start)
        RecordBatchHeader.setPartitionLeaderEpoch(epoch, in: &b, at: start)
        return b
    }

    private func response(_ pd: FetchResponse.PartitionData) -> FetchResponse {
        var r = FetchResponse()
        r.responses = [.init(topic: "f", partitions: [pd])]
        return r
    }

    private func entry(_ p: Partition, _ epoch: Int32) -> ReplicaFetchEntry {
        ReplicaFetchEntry(topicPartition: TopicPartition("f", 0), currentLeaderEpoch: epoch, fetchOffset: p.logEndOffset,
                          lastFetchedEpoch: p.log.latestEpoch ?? -1, logStartOffset: p.logStartOffset)
    }

    func testAppendedRecordsAreFsyncedBeforeTheNextFetch() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let (fetcher, p, epoch) = try await setUp(h)
        var pd = FetchResponse.PartitionData()
        pd.highWatermark = 1
        pd.records = try leaderBatch(["a", "b"], base: 0, epoch: epoch)
        let appended = await fetcher.applyRound(response(pd), entries: [entry(p, epoch)]) { _, _, _ in XCTFail("no ListOffsets"); return 0 }
        XCTAssertEqual(appended.count, 1)
        XCTAssertEqual(p.logEndOffset, 2)
        XCTAssertEqual(p.log.recoveryPoint, 2, "the follower fsyncs a round's appends before its next fetch")
        XCTAssertEqual(p.highWatermark, 1, "follower HW = min(leader HW, own LEO)")
        XCTAssertEqual(p.log.leaderEpochEntries.map(\.epoch), [epoch])
        // A stale response (an epoch this fetcher no longer follows) is ignored.
        var stale = entry(p, epoch)
        stale.currentLeaderEpoch = epoch - 1
        pd.records = try leaderBatch(["c"], base: 2, epoch: epoch)
        let none = await fetcher.applyRound(response(pd), entries: [stale]) { _, _, _ in 0 }
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(p.logEndOffset, 2)
    }

    func testOffsetOutOfRangeTruncatesToTheLeadersEndOrRestartsAtItsStart() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let (fetcher, p, epoch) = try await setUp(h)
        var pd = FetchResponse.PartitionData()
        var two = try leaderBatch(["a"], base: 0, epoch: epoch)
        var second = try leaderBatch(["b", "c"], base: 1, epoch: epoch)
        two.writeBuffer(&second)
        pd.records = two
        await fetcher.applyRound(response(pd), entries: [entry(p, epoch)]) { _, _, _ in 0 }
        XCTAssertEqual(p.logEndOffset, 3)
        // Ahead of the leader (its LEO is 1): truncate to 1.
        var oor = FetchResponse.PartitionData()
        oor.errorCode = ErrorCode.offsetOutOfRange.rawValue
        await fetcher.applyRound(response(oor), entries: [entry(p, epoch)]) { _, ts, _ in ts == -1 ? 1 : 0 }
        XCTAssertEqual(p.logEndOffset, 1)
        // Behind the leader's log start (50, LEO 100): start empty at 50.
        await fetcher.applyRound(response(oor), entries: [entry(p, epoch)]) { _, ts, _ in ts == -1 ? 100 : 50 }
        XCTAssertEqual(p.logStartOffset, 50)
        XCTAssertEqual(p.logEndOffset, 50)
        XCTAssertTrue(fetcher.backingOff.isEmpty)
    }

    func testLeaderErrorsBackThePartitionOff() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        let (fetcher, p, epoch) = try await setUp(h)
        for code in [ErrorCode.notLeaderOrFollower, .fencedLeaderEpoch, .unknownLeaderEpoch, .kafkaStorageError] {
            fetcher.update(endpoint: FetcherEndpoint(host: "127.0.0.1", port: 9), partitions: [:])
            fetcher.update(endpoint: FetcherEndpoint(host: "127.0.0.1", port: 9), partitions: [TopicPartition("f", 0): epoch])
            XCTAssertTrue(fetcher.backingOff.isEmpty)
            var pd = FetchResponse.PartitionData()
            pd.errorCode = code.rawValue
            await fetcher.applyRound(response(pd), entries: [entry(p, epoch)]) { _, _, _ in 0 }
            XCTAssertEqual(fetcher.backingOff, [TopicPartition("f", 0)], "\(code)")
        }
    }
}
