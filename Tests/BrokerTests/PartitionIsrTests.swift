import Foundation
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Synchronization
import XCTest
@testable import Broker

/// A clock tests move by hand; sleeps are short real sleeps (retry backoffs).
final class ManualBrokerClock: BrokerClock {
    private let now = Mutex<Int64>(1_000_000)
    func nowMs() -> Int64 { now.withLock { $0 } }
    func advance(_ ms: Int64) { now.withLock { $0 += ms } }
    func sleep(ms: Int64) async { try? await Task.sleep(for: .milliseconds(min(ms, 20))) }
}

/// Records the ISR changes a partition sends; the test answers them.
final class FakeAlterPartitionSender: AlterPartitionSubmitter {
    private let sent = Mutex<[(PendingIsrChange, @Sendable (AlterPartitionResult) -> Void)]>([])
    func submit(_ change: PendingIsrChange, partition: Int32, completion: @escaping @Sendable (AlterPartitionResult) -> Void) {
        sent.withLock { $0.append((change, completion)) }
    }
    var changes: [PendingIsrChange] { sent.withLock { $0.map(\.0) } }
    /// Answers the oldest unanswered change.
    func answer(_ result: AlterPartitionResult) {
        let next = sent.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        next?.1(result)
    }
}

/// ``Partition`` with ISR management on a real log: the HW rule, expansion and shrink through a
/// fake AlterPartition sender, and the acks=all wait (timeout, after-append error, lost leadership).
final class PartitionIsrTests: XCTestCase {
    let topicID = KafkaUUID(mostSignificantBits: 3, leastSignificantBits: 4)
    var dir = ""
    let clock = ManualBrokerClock()
    let sender = FakeAlterPartitionSender()
    let liveness: [Int32: BrokerLiveness] = [
        1: .init(fenced: false, inControlledShutdown: false, epoch: 10),
        2: .init(fenced: false, inControlledShutdown: false, epoch: 20),
        3: .init(fenced: false, inControlledShutdown: false, epoch: 30),
    ]

    override func setUp() {
        dir = "/tmp/samsa-isr-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func leadership(replicas: [Int32] = [1, 2, 3], isr: [Int32], leader: Int32 = 1, leaderEpoch: Int32 = 0,
                    partitionEpoch: Int32 = 0) -> PartitionLeadership {
        PartitionLeadership(topicID: topicID, leader: leader, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch,
                            replicas: replicas, isr: isr)
    }

    let isrChanges = IsrChangeCounters()

    func makePartition(replicas: [Int32] = [1, 2, 3], isr: [Int32], minIsr: Int = 1, withSender: Bool = true) throws -> Partition {
        let log = try PartitionLog(directory: dir + "/t-0", topic: "t", partition: 0, config: LogConfig())
        let l = leadership(replicas: replicas, isr: isr)
        let p = Partition(topic: "t", index: 0, log: log, localBrokerId: 1, leadership: l)
        let table = liveness
        var context = PartitionReplicationContext(replicaLagTimeMaxMs: 3000, clock: clock, liveness: { table[$0] },
                                                  localBrokerEpoch: { 10 }, alterPartition: withSender ? sender : nil)
        context.isrChanges = isrChanges
        p.setReplicationContext(context)
        p.setMinInsyncReplicas(minIsr)
        p.updateLeadership(l)
        return p
    }

    @discardableResult
    func append(_ p: Partition, _ values: [String]) throws -> Partition.AppendResult {
        let batch = try BrokerHarness.batch(values)
        return try p.appendAsLeader(batch, header: try RecordBatchHeader.peek(batch, at: 0), requiredAcks: 1)
    }

    func fetch(_ p: Partition, _ id: Int32, _ offset: Int64) {
        p.updateFollowerFetchState(replicaId: id, fetchOffset: offset, brokerEpoch: liveness[id]!.epoch, nowMs: clock.nowMs())
    }

    func testHighWatermarkIsTheMinimumOverTheIsrAndOnlyMovesForward() throws {
        let p = try makePartition(isr: [1, 2])
        try append(p, ["a", "b", "c"])
        XCTAssertEqual(p.highWatermark, 0, "2 has not fetched")
        fetch(p, 2, 2)
        XCTAssertEqual(p.highWatermark, 2)
        fetch(p, 2, 3)
        XCTAssertEqual(p.highWatermark, 3)
        XCTAssertEqual(p.followerLogEndOffsets, [2: 3])
        // 3 joins the ISR through metadata without having fetched: the HW holds, never drops.
        p.updateLeadership(leadership(isr: [1, 2, 3], partitionEpoch: 1))
        try append(p, ["d"])
        XCTAssertEqual(p.highWatermark, 3)
        fetch(p, 2, 4)
        XCTAssertEqual(p.highWatermark, 3, "3 holds it")
        fetch(p, 3, 4)
        XCTAssertEqual(p.highWatermark, 4)
    }

    func testExpansionAndShrinkThroughAlterPartition() throws {
        let p = try makePartition(replicas: [1, 2], isr: [1], minIsr: 2)
        try append(p, ["a", "b"])
        XCTAssertEqual(p.highWatermark, 0, "ISR 1 < min ISR 2: frozen")
        fetch(p, 2, 2)
        XCTAssertEqual(sender.changes.map(\.kind), [.expand(2)])
        XCTAssertEqual(sender.changes.first?.newIsr, [.init(brokerId: 1, brokerEpoch: 10), .init(brokerId: 2, brokerEpoch: 20)])
        XCTAssertEqual(p.maximalIsr, [1, 2])
        XCTAssertEqual(p.highWatermark, 0, "still frozen: the committed ISR is what min ISR counts")
        XCTAssertEqual(isrChanges.expands, 0, "counted when committed, not when proposed")
        sender.answer(.success(leaderId: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1, 2]))
        XCTAssertEqual(isrChanges.expands, 1)
        XCTAssertEqual(p.leadership.isr, [1, 2])
        XCTAssertEqual(p.leadership.partitionEpoch, 1)
        XCTAssertEqual(p.highWatermark, 2, "unfrozen by the committed expansion")
        // The metadata image catching up later changes nothing; an older one is ignored.
        p.updateLeadership(leadership(replicas: [1, 2], isr: [1], partitionEpoch: 0))
        XCTAssertEqual(p.leadership.isr, [1, 2])
        // 2 stops fetching while the leader appends: out after the lag time.
        try append(p, ["c"])
        clock.advance(2000)
        XCTAssertNil(p.maybeShrinkIsr())
        clock.advance(1001)
        XCTAssertEqual(p.maybeShrinkIsr()?.kind, .shrink([2]))
        sender.answer(.success(leaderId: 1, leaderEpoch: 0, partitionEpoch: 2, isr: [1]))
        XCTAssertEqual(p.leadership.isr, [1])
        XCTAssertEqual(p.highWatermark, 2, "under min ISR again: frozen")
        XCTAssertEqual(isrChanges.shrinks, 1)
        XCTAssertEqual(isrChanges.expands, 1)
    }

    /// Kafka's "Shrinking ISR from ... to ..." / "Expanding ISR" lines, which operators grep for,
    /// with the topic_partition (and on a refusal error_code) fields.
    func testIsrChangesAreLoggedWithThePartitionAndErrorFields() throws {
        let lines = CapturedLogLines()
        let p = try makePartition(replicas: [1, 2], isr: [1])
        var context = p.replicationContext
        context.logger = Logger(label: "test") { _ in CapturingLogHandler(lines) }
        p.setReplicationContext(context)
        try append(p, ["a"])
        fetch(p, 2, 1)
        sender.answer(.success(leaderId: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1, 2]))
        clock.advance(3001)
        try append(p, ["b"])
        XCTAssertNotNil(p.maybeShrinkIsr())
        sender.answer(.failure(.ineligibleReplica))
        let seen = lines.all
        XCTAssertEqual(seen.map(\.message), [
            "Expanding ISR from [1] to [1, 2]: broker 2 caught up",
            "ISR updated to [1, 2] and partition epoch to 1",
            "Shrinking ISR from [1, 2] to [1]: out of sync [2] (leader end offset 2, high watermark 1)",
            "The controller refused the ISR change (INELIGIBLE_REPLICA); the ISR stays [1, 2]",
        ])
        XCTAssertEqual(Set(seen.map { $0.metadata["topic_partition"] }), ["t-0"])
        XCTAssertEqual(seen.last?.metadata["error_code"], "INELIGIBLE_REPLICA(107)")
        XCTAssertEqual(seen.last?.level, .warning)
    }

    func testUnexpectedErrorResendsTheSameProposal() async throws {
        let p = try makePartition(replicas: [1, 2], isr: [1])
        fetch(p, 2, 0)
        XCTAssertEqual(sender.changes.count, 1)
        let first = sender.changes[0]
        sender.answer(.failure(.unknownServerError))
        for _ in 0..<100 where sender.changes.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(sender.changes, [first], "sent again after the backoff")
        sender.answer(.failure(.ineligibleReplica))
        XCTAssertNil(p.isrSnapshot.pending, "reverted")
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertEqual(sender.changes, [], "a reverted proposal is not resent")
    }

    func testAcksAllWaitsUntilTheFollowerHasTheBatch() async throws {
        let p = try makePartition(replicas: [1, 2], isr: [1, 2], minIsr: 2)
        let r = try append(p, ["a", "b"])
        let done = Atomic<Bool>(false)
        let waiter = Task { () -> PartitionError? in
            let e = await p.waitForAcks(requiredOffset: r.lastOffset + 1, timeoutMs: 10_000, clock: SystemBrokerClock(),
                                        makeWaiter: { DataWaiter(id: UInt64.random(in: 1...UInt64.max)) })
            done.store(true, ordering: .sequentiallyConsistent)
            return e
        }
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertFalse(done.load(ordering: .sequentiallyConsistent), "parked while the follower lacks it")
        fetch(p, 2, 1)
        try await Task.sleep(for: .milliseconds(50))
        XCTAssertFalse(done.load(ordering: .sequentiallyConsistent), "the follower has only the first record")
        let t0 = ContinuousClock.now
        fetch(p, 2, 2)
        let error = await waiter.value
        XCTAssertNil(error)
        XCTAssertLessThan(ContinuousClock.now - t0, .seconds(2), "woken by the fetch, not the timeout")
    }

    func testAcksAllTimesOut() async throws {
        let p = try makePartition(replicas: [1, 2], isr: [1, 2])
        let r = try append(p, ["a"])
        let t0 = ContinuousClock.now
        let error = await p.waitForAcks(requiredOffset: r.lastOffset + 1, timeoutMs: 150, clock: SystemBrokerClock(),
                                        makeWaiter: { DataWaiter(id: 1) })
        XCTAssertEqual(error?.code, ErrorCode.requestTimedOut.rawValue)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - t0, .milliseconds(140))
        XCTAssertEqual(p.logEndOffset, 1, "the record stays in the log (the outcome is ambiguous to the producer)")
    }

    func testAcksAllAfterAppendErrorWhenTheIsrShrankBelowMin() async throws {
        let p = try makePartition(replicas: [1, 2, 3], isr: [1, 2, 3], minIsr: 2)
        let r = try append(p, ["a"])
        fetch(p, 2, 1)
        fetch(p, 3, 1)
        XCTAssertEqual(p.highWatermark, 1)
        // Before the delayed produce completes, the ISR shrank to the leader alone.
        p.updateLeadership(leadership(isr: [1], partitionEpoch: 1))
        let error = await p.waitForAcks(requiredOffset: r.lastOffset + 1, timeoutMs: 1000, clock: SystemBrokerClock(),
                                        makeWaiter: { DataWaiter(id: 1) })
        XCTAssertEqual(error?.code, ErrorCode.notEnoughReplicasAfterAppend.rawValue)
        XCTAssertThrowsError(try p.checkEnoughReplicas(minInSyncReplicas: 2), "the next acks=all is refused before appending")
    }

    func testAcksAllEndsWithNotLeaderWhenLeadershipMoves() async throws {
        let p = try makePartition(replicas: [1, 2], isr: [1, 2])
        let r = try append(p, ["a"])
        let waiter = Task {
            await p.waitForAcks(requiredOffset: r.lastOffset + 1, timeoutMs: 10_000, clock: SystemBrokerClock(),
                                makeWaiter: { DataWaiter(id: UInt64.random(in: 1...UInt64.max)) })
        }
        try await Task.sleep(for: .milliseconds(100))
        let t0 = ContinuousClock.now
        p.updateLeadership(leadership(replicas: [1, 2], isr: [2], leader: 2, leaderEpoch: 1, partitionEpoch: 1))
        let error = await waiter.value
        XCTAssertEqual(error?.code, ErrorCode.notLeaderOrFollower.rawValue)
        XCTAssertLessThan(ContinuousClock.now - t0, .seconds(2))
    }

    /// Led, lost and led again while a write waited: the offsets may hold the interim leader's
    /// records now, so the write must not be acknowledged when the HW passes them.
    func testAcksAllFailsWhenLeadershipWasLostAndRegained() async throws {
        let p = try makePartition(replicas: [1, 2], isr: [1, 2])
        let r = try append(p, ["a"])
        XCTAssertEqual(r.leaderEpoch, 0)
        p.updateLeadership(leadership(replicas: [1, 2], isr: [2], leader: 2, leaderEpoch: 1, partitionEpoch: 1))
        p.updateLeadership(leadership(replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 2, partitionEpoch: 2))
        XCTAssertTrue(p.isLeader)
        XCTAssertGreaterThanOrEqual(p.highWatermark, r.lastOffset + 1, "ISR [1]: the HW covers the batch")
        let error = await p.waitForAcks(requiredOffset: r.lastOffset + 1, leaderEpoch: r.leaderEpoch, timeoutMs: 1000,
                                        clock: SystemBrokerClock(), makeWaiter: { DataWaiter(id: 1) })
        XCTAssertEqual(error?.code, ErrorCode.notLeaderOrFollower.rawValue)
        let same = await p.waitForAcks(requiredOffset: r.lastOffset + 1, leaderEpoch: 2, timeoutMs: 1000,
                                       clock: SystemBrokerClock(), makeWaiter: { DataWaiter(id: 2) })
        XCTAssertNil(same, "a write of the current epoch is acknowledged")
    }

    func testProduceAcksAllWaitsForTheFollowerAndTimesOutWithout() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try await h.services.controller.registerBroker(.init(id: 2, endpoints: [.init(listener: "PLAINTEXT", host: "h2", port: 9092)],
                                                       rack: nil, fenced: false))
        _ = try await h.services.controller.createTopic(name: "r2", numPartitions: -1, replicationFactor: -1,
                                                        assignments: [0: [1, 2], 1: [1, 2]], configs: [:])
        let p0 = try XCTUnwrap(h.services.replicas.partition("r2", 0))
        let p1 = try XCTUnwrap(h.services.replicas.partition("r2", 1))
        // One request, two partitions: both wait at once; the follower fetch of each releases it.
        var req = ProduceRequest()
        req.acks = -1
        req.timeoutMs = 5000
        req.topicData = [.init(name: "r2", partitionData: [.init(index: 0, records: try BrokerHarness.batch(["x"])),
                                                           .init(index: 1, records: try BrokerHarness.batch(["y", "z"]))])]
        let task = Task { try await h.send(req, version: 9) }
        for _ in 0..<200 where p0.logEndOffset < 1 || p1.logEndOffset < 2 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        p1.updateFollowerFetchState(replicaId: 2, fetchOffset: 2, brokerEpoch: -1, nowMs: 0)
        p0.updateFollowerFetchState(replicaId: 2, fetchOffset: 1, brokerEpoch: -1, nowMs: 0)
        let response = try await task.value
        XCTAssertEqual(response?.responses.first?.partitionResponses.map(\.errorCode), [0, 0])
        XCTAssertEqual(response?.responses.first?.partitionResponses.map(\.baseOffset), [0, 0])
        // No follower fetch: REQUEST_TIMED_OUT after the request's timeout (the harness sends 1000 ms).
        let t0 = ContinuousClock.now
        let timedOut = try await h.produce("r2", try BrokerHarness.batch(["w"]), acks: -1)
        XCTAssertEqual(timedOut?.errorCode, ErrorCode.requestTimedOut.rawValue)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - t0, .milliseconds(900))
        let acksOne = try await h.produce("r2", try BrokerHarness.batch(["v"]), acks: 1)
        XCTAssertEqual(acksOne?.errorCode, 0, "acks=1 does not wait")
    }

    func testMinInsyncReplicasAboveTheReplicationFactorIsAcceptedAndBoundedByIt() async throws {
        let h = try BrokerHarness()
        defer { h.cleanup() }
        try h.createTopic("m", configs: ["min.insync.replicas": "3"])
        XCTAssertEqual(h.services.metadata.image.topics["m"]?.configs["min.insync.replicas"], "3", "accepted, as Kafka does")
        let produced = try await h.produce("m", try BrokerHarness.batch(["a"]), acks: -1)
        XCTAssertEqual(produced?.errorCode, 0, "effective min ISR = min(3, replication factor 1)")
    }
}

/// Log lines a test looks at: message, level and metadata rendered as strings.
final class CapturedLogLines: Sendable {
    struct Line: Sendable { var level: Logger.Level; var message: String; var metadata: [String: String] }
    private let lines = Mutex<[Line]>([])
    func append(_ l: Line) { lines.withLock { $0.append(l) } }
    var all: [Line] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let lines: CapturedLogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    init(_ lines: CapturedLogLines) { self.lines = lines }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.append(.init(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
}
