import Foundation
import KafkaProtocol
import LogStorage
import NIOCore
import Synchronization
import XCTest
@testable import Broker

/// Producer-id blocks on a multi-node cluster (AllocateProducerIds, 67) and idempotent-producer
/// state after a leader change (issue 12 item 4).
final class ProducerIdBlockTests: XCTestCase {
    static func image(brokers: [Int32: Int64], nextProducerId: Int64 = 0) -> MetadataImage {
        var image = MetadataImage(clusterId: "c", controllerId: 1)
        for (id, epoch) in brokers {
            image.brokers[id] = BrokerRegistration(id: id, endpoints: [], rack: nil, fenced: false, epoch: epoch)
        }
        image.nextProducerId = nextProducerId
        return image
    }

    func testControllerPlanChecksTheBrokerEpochAndReservesABlock() {
        let image = Self.image(brokers: [1: 7], nextProducerId: 5000)
        let ok = AllocateProducerIdsHandler.plan(AllocateProducerIdsRequest(brokerId: 1, brokerEpoch: 7), image: image)
        XCTAssertEqual(ok.reply.errorCode, 0)
        XCTAssertEqual(ok.reply.producerIdStart, 5000)
        XCTAssertEqual(ok.reply.producerIdLen, 1000)
        XCTAssertEqual(ok.records, [.producerIds(nextProducerId: 6000)], "the next block starts after this one")

        let stale = AllocateProducerIdsHandler.plan(AllocateProducerIdsRequest(brokerId: 1, brokerEpoch: 6), image: image)
        XCTAssertEqual(stale.reply.errorCode, ErrorCode.staleBrokerEpoch.rawValue)
        XCTAssertEqual(stale.records, [])
        let unknown = AllocateProducerIdsHandler.plan(AllocateProducerIdsRequest(brokerId: 9, brokerEpoch: 7), image: image)
        XCTAssertEqual(unknown.reply.errorCode, ErrorCode.staleBrokerEpoch.rawValue)

        let exhausted = AllocateProducerIdsHandler.plan(AllocateProducerIdsRequest(brokerId: 1, brokerEpoch: 7),
                                                        image: Self.image(brokers: [1: 7], nextProducerId: Int64.max - 10))
        XCTAssertEqual(exhausted.reply.errorCode, ErrorCode.unknownServerError.rawValue)
        XCTAssertEqual(exhausted.records, [])
    }

    func testHandlerAnswersNotControllerUnlessActive() async throws {
        struct NoLog: ControllerMetadataLog {
            func appendComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R {
                XCTFail("nothing is written by a node that is not the active controller")
                return try body(MetadataImage(clusterId: "c", controllerId: 1), 0).1
            }
        }
        let handler = AllocateProducerIdsHandler(log: NoLog(), isActiveController: { false }, logger: .init(label: "t"))
        let reply = try await handler.handle(AllocateProducerIdsRequest(brokerId: 1, brokerEpoch: 0), context: .init(
            apiVersion: 0, correlationId: 1, clientId: nil, clientHost: "x", connectionId: 1, listenerName: "CONTROLLER"))
        XCTAssertEqual(reply?.errorCode, ErrorCode.notController.rawValue)
    }

    /// A stand-in for the metadata log: the controller's plan applied to one shared image,
    /// as the active controller commits it. `calls` counts AllocateProducerIds requests.
    final class FakeController: Sendable {
        let image: Mutex<MetadataImage>
        let calls = Mutex(0)
        init(_ image: MetadataImage) { self.image = Mutex(image) }
        func allocate(brokerId: Int32, epoch: Int64) async throws -> ClosedRange<Int64> {
            try await Task.sleep(for: .milliseconds(1))
            let reply = image.withLock { image -> AllocateProducerIdsResponse in
                let (records, reply) = AllocateProducerIdsHandler.plan(AllocateProducerIdsRequest(brokerId: brokerId, brokerEpoch: epoch),
                                                                       image: image)
                for r in records { image.apply(r) }
                return reply
            }
            calls.withLock { $0 += 1 }
            guard reply.errorCode == 0 else { throw ControllerError(reply.errorCode, "refused") }
            return reply.producerIdStart...(reply.producerIdStart + Int64(reply.producerIdLen) - 1)
        }
    }

    func testIdsNeverRepeatAcrossBrokersAndRestarts() async throws {
        let controller = FakeController(Self.image(brokers: [1: 10, 2: 20, 3: 30]))
        let managers = (1...3).map { id in
            ProducerIdManager(prefetch: true) { try await controller.allocate(brokerId: Int32(id), epoch: Int64(id) * 10) }
        }
        // Three brokers hand out ids concurrently, across several blocks each.
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for m in managers {
                for _ in 0..<4 {
                    group.addTask { var out: [Int64] = []; for _ in 0..<600 { out.append(try await m.next()) }; return out }
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        XCTAssertEqual(ids.count, 3 * 4 * 600)
        XCTAssertEqual(Set(ids).count, ids.count, "no producer id is handed out twice")

        // Broker 1 restarts (a new manager; its unused block is lost, never reused).
        let restarted = ProducerIdManager(prefetch: true) { try await controller.allocate(brokerId: 1, epoch: 10) }
        let after = try await restarted.next()
        XCTAssertFalse(ids.contains(after))
        XCTAssertGreaterThan(after, ids.max()!, "a new block starts past every block handed out")
    }

    func testNextBlockIsRequestedAtNinetyPercent() async throws {
        let controller = FakeController(Self.image(brokers: [1: 1]))
        let m = ProducerIdManager(prefetch: true) { try await controller.allocate(brokerId: 1, epoch: 1) }
        for _ in 0..<900 { _ = try await m.next() }
        XCTAssertEqual(controller.calls.withLock { $0 }, 1)
        _ = try await m.next()   // id 900: 90% of the block handed out
        for _ in 0..<200 where controller.calls.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertEqual(controller.calls.withLock { $0 }, 2, "the next block is fetched before this one runs out")
        var rest: [Int64] = []
        for _ in 0..<200 { rest.append(try await m.next()) }
        XCTAssertEqual(rest.first, 901)
        XCTAssertEqual(rest.last, 1100, "the prefetched block follows without a gap")
        XCTAssertEqual(controller.calls.withLock { $0 }, 2)
    }

    func testRefusedBlockFailsInitProducerIdAndALaterOneWorks() async throws {
        let controller = FakeController(Self.image(brokers: [1: 1]))
        let epoch = Mutex<Int64>(99)   // stale until the registration is applied
        let m = ProducerIdManager(prefetch: true) { try await controller.allocate(brokerId: 1, epoch: epoch.withLock { $0 }) }
        do {
            _ = try await m.next()
            XCTFail("a refused block gives no id")
        } catch {}
        epoch.withLock { $0 = 1 }
        let id = try await m.next()
        XCTAssertEqual(id, 0)
    }

    // MARK: Producer state after a leader change

    func testNewLeaderRebuildsProducerStateAndDeduplicatesARetry() throws {
        let dir = "/tmp/samsa-broker-pid-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectories(dir)
        defer { try? runRemove(dir) }
        let log = try PartitionLog(directory: dir + "/t-0", topic: "t", partition: 0, config: LogConfig())
        let topicID = KafkaUUID.random()
        // Broker 1 follows broker 2 in epoch 0.
        let partition = Partition(topic: "t", index: 0, log: log, localBrokerId: 1, leadership: PartitionLeadership(
            topicID: topicID, leader: 2, leaderEpoch: 0, partitionEpoch: 0, replicas: [2, 1], isr: [2, 1]))
        let b0 = try BrokerHarness.batch(["a", "b"], producerId: 7, epoch: 0, sequence: 0)
        let b1 = try BrokerHarness.batch(["c"], producerId: 7, epoch: 0, sequence: 2)
        // The old leader's batches arrive by replication (straight into the log here: whatever
        // the follower path did with producer state, the new leader must know these batches).
        for b in [b0, b1] { _ = try log.append(b, leaderEpoch: 0, assignOffsets: true) }
        XCTAssertThrowsError(try partition.appendAsLeader(b1, header: try RecordBatchHeader.peek(b1, at: 0), requiredAcks: 1),
                             "a follower refuses produce")

        // Broker 2 dies; broker 1 leads in epoch 1.
        partition.updateLeadership(PartitionLeadership(topicID: topicID, leader: 1, leaderEpoch: 1, partitionEpoch: 1,
                                                       replicas: [2, 1], isr: [1]))
        XCTAssertEqual(partition.producerState.producers[7]?.batches.map(\.lastSequence), [1, 2])
        // The producer never got the answer for b1 and retries it on the new leader.
        let retry = try partition.appendAsLeader(b1, header: try RecordBatchHeader.peek(b1, at: 0), requiredAcks: -1)
        XCTAssertTrue(retry.duplicate, "the retried batch is not written twice")
        XCTAssertEqual(retry.baseOffset, 2)
        XCTAssertEqual(partition.logEndOffset, 3)
        // The next batch in sequence is appended; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER.
        let b2 = try BrokerHarness.batch(["d"], producerId: 7, epoch: 0, sequence: 3)
        let next = try partition.appendAsLeader(b2, header: try RecordBatchHeader.peek(b2, at: 0), requiredAcks: -1)
        XCTAssertFalse(next.duplicate)
        XCTAssertEqual(next.baseOffset, 3)
        let gap = try BrokerHarness.batch(["e"], producerId: 7, epoch: 0, sequence: 9)
        XCTAssertThrowsError(try partition.appendAsLeader(gap, header: try RecordBatchHeader.peek(gap, at: 0), requiredAcks: -1)) {
            XCTAssertEqual(($0 as? PartitionError)?.code, 45)
        }
        try log.close()
    }

    // MARK: Coordinator writes wait for the ISR

    func testOffsetsAppendIsAcknowledgedOnlyOnceTheIsrHasIt() async throws {
        let h = try BrokerHarness(properties: "offsets.topic.num.partitions=1\noffsets.commit.timeout.ms=300\n")
        defer { h.cleanup() }
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "127.0.0.1", port: 9093)],
                                                       rack: nil, fenced: false))
        _ = try await h.services.controller.createTopic(name: "__consumer_offsets", numPartitions: -1, replicationFactor: -1,
                                                  assignments: [0: [h.config.nodeId, 2]],
                                                  configs: ["cleanup.policy": "compact"])
        let store = try await ConsumerOffsetsLogStore(services: h.services)
        let partition = try XCTUnwrap(h.services.replicas.partition("__consumer_offsets", 0))
        XCTAssertEqual(partition.leadership.isr.sorted(), [h.config.nodeId, 2].sorted())
        let record = [(key: ByteBuffer(string: "k"), value: Optional(ByteBuffer(string: "v")))]

        // The follower never fetches: the write is not acknowledged (Kafka: REQUEST_TIMED_OUT,
        // which the coordinator answers as COORDINATOR_NOT_AVAILABLE).
        do {
            try await store.append(partition: 0, records: record)
            XCTFail("acknowledged without the follower")
        } catch let error as GroupErrorCode {
            XCTAssertEqual(error, .coordinatorNotAvailable)
        }
        XCTAssertEqual(partition.highWatermark, 0)

        // The follower catches up while the next write waits: it is acknowledged then.
        let services = h.services
        let write = Task { try await store.append(partition: 0, records: record) }
        for _ in 0..<100 where partition.logEndOffset < 2 { try await Task.sleep(for: .milliseconds(5)) }
        partition.updateFollowerFetchState(replicaId: 2, fetchOffset: partition.logEndOffset, brokerEpoch: 0,
                                           nowMs: services.clock.nowMs())
        try await write.value
        XCTAssertEqual(partition.highWatermark, 2)
    }
}
