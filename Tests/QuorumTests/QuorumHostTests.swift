import KafkaProtocol
import LogStorage
import Logging
import NIOCore
@testable import Quorum
import XCTest

/// The actor around RaftNode: single-voter start-up, proposals and commit waiting, leadership
/// loss, failure and shutdown. Time is a ManualLogClock and the network the in-memory one;
/// the hosts are driven by `tick()` and deliveries, never by sleeping.
final class QuorumHostTests: XCTestCase {
    let logger = Logger(label: "quorum-host-test")

    final class Recorder: @unchecked Sendable {
        private let lock = StorageLock()
        private var values: [Int64] = []
        func append(_ v: Int64) { lock.withLock { values.append(v) } }
        var all: [Int64] { lock.withLock { values } }
    }

    func testSingleVoterLeadsAtOnceCommitsOnItsOwnFlushAndRestartsInANewEpoch() async throws {
        let fs = SimulatedFileSystem()
        let clock = ManualLogClock()
        let config = QuorumConfig(voters: [1], clusterId: "c1")
        let dir = "/meta/__cluster_metadata-0"
        var host = try QuorumHost(nodeId: 1, config: config, directory: dir, fileSystem: fs, clock: clock,
                                  transport: nil, logger: logger, randomSeed: 1)
        // Kafka's initialize: the only voter stands at once and wins; no election timeout.
        XCTAssertEqual(host.leadership, QuorumLeadership(leaderId: 1, epoch: 1, highWatermark: 1, isLocalLeader: true, epochStartOffset: 0))
        let seen = Recorder()
        host.addCommitListener { seen.append($0) }
        await host.start()
        XCTAssertEqual(seen.all, [1], "start() reports the HW the LeaderChangeMessage reached while opening")

        let last = try await host.propose([ByteBuffer(string: "a"), ByteBuffer(string: "b")])
        XCTAssertEqual(last, 2)
        try await host.waitForCommit(last)
        XCTAssertEqual(host.leadership.highWatermark, 3)
        XCTAssertEqual(seen.all, [1, 3])

        let bytes = try await host.readCommitted(from: 0, maxBytes: 1 << 20)
        let batches = try BatchInfo.scan(bytes)
        XCTAssertEqual(batches.map(\.baseOffset), [0, 1])
        XCTAssertEqual(batches.map(\.lastOffset), [0, 2])
        let header = try RecordBatchHeader.peek(bytes, at: bytes.readerIndex)
        XCTAssertTrue(header.isControl, "the first batch is the LeaderChangeMessage")
        let tail = try await host.readCommitted(from: 1, maxBytes: 1 << 20)
        XCTAssertEqual(try BatchInfo.scan(tail).map(\.baseOffset), [1])
        let atEnd = try await host.readCommitted(from: 3, maxBytes: 1 << 20)
        XCTAssertEqual(atEnd.readableBytes, 0)
        do {
            _ = try await host.readCommitted(from: 4, maxBytes: 100)
            XCTFail("reading above the HW must fail")
        } catch let error as QuorumHostError {
            guard case .failed = error else { return XCTFail("\(error)") }
        }
        do {
            _ = try await host.propose([])
            XCTFail("an empty proposal must fail")
        } catch QuorumHostError.failed {}

        await host.shutdown()
        XCTAssertEqual(host.leadership.leaderId, nil)
        do { _ = try await host.propose([ByteBuffer(string: "x")]); XCTFail() } catch QuorumHostError.shutDown {}
        do { try await host.waitForCommit(10); XCTFail() } catch QuorumHostError.shutDown {}

        // Restarted: Resigned in epoch 1 (it led it), and as the only voter it leads epoch 2 at once.
        host = try QuorumHost(nodeId: 1, config: config, directory: dir, fileSystem: fs, clock: clock,
                              transport: nil, logger: logger, randomSeed: 2)
        XCTAssertEqual(host.leadership, QuorumLeadership(leaderId: 1, epoch: 2, highWatermark: 4, isLocalLeader: true, epochStartOffset: 3))
        let again = try await host.readCommitted(from: 0, maxBytes: 1 << 20)
        XCTAssertEqual(try BatchInfo.scan(again).map(\.baseOffset), [0, 1, 3])
        await host.shutdown()
    }

    func testStorageFailureStopsTheHostAndFailsWaiters() async throws {
        let fs = SimulatedFileSystem()
        let clock = ManualLogClock()
        let host = try QuorumHost(nodeId: 1, config: QuorumConfig(voters: [1]), directory: "/m/__cluster_metadata-0",
                                  fileSystem: fs, clock: clock, transport: nil, logger: logger, randomSeed: 3)
        let failures = Recorder()
        host.addFailureListener { _ in failures.append(1) }
        await host.start()
        fs.failWrites = true
        do {
            _ = try await host.propose([ByteBuffer(string: "x")])
            XCTFail("the append must fail")
        } catch let error as QuorumHostError {
            guard case .failed(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("metadata log"), reason)
        }
        XCTAssertEqual(failures.all, [1])
        XCTAssertEqual(host.leadership.leaderId, nil)
        XCTAssertFalse(host.leadership.isLocalLeader)
        let failure = await host.failure
        XCTAssertNotNil(failure)
        do { try await host.waitForCommit(0); XCTFail() } catch QuorumHostError.failed {}
        await host.shutdown()   // harmless after a failure
    }

    // MARK: Three voters over the in-memory network

    struct Cluster {
        let clock = ManualLogClock()
        let network: InMemoryRaftNetwork
        var hosts: [RaftNodeId: QuorumHost] = [:]

        init(voters: [RaftNodeId], observers: [RaftNodeId] = [], logger: Logger) throws {
            network = InMemoryRaftNetwork(clock: clock, seed: 11)
            let config = QuorumConfig(voters: voters, clusterId: "c1")
            for id in voters + observers {
                let fs = SimulatedFileSystem()
                hosts[id] = try QuorumHost(nodeId: id, config: config, directory: "/n\(id)/__cluster_metadata-0", fileSystem: fs,
                                           clock: clock, transport: network, logger: logger, randomSeed: UInt64(id) * 7919)
            }
        }

        /// Moves time 1 ms at a time, delivering what is due and ticking every host, until
        /// `done` holds or `limitMs` of simulated time passed. Returns whether `done` held.
        func run(limitMs: Int64 = 60_000, until done: () async -> Bool) async -> Bool {
            var elapsed: Int64 = 0
            while elapsed < limitMs {
                if await done() { return true }
                clock.advance(byMilliseconds: 1)
                elapsed += 1
                while let envelope = network.nextDue(now: clock.milliseconds()) {
                    await hosts[envelope.to]?.receive(envelope.message, from: envelope.from)
                }
                for id in hosts.keys.sorted() { await hosts[id]!.tick() }
            }
            return await done()
        }

        func leader() -> RaftNodeId? {
            let leaders = hosts.filter { $0.value.leadership.isLocalLeader }.map(\.key)
            return leaders.count == 1 ? leaders[0] : nil
        }
    }

    /// raft-metrics commit-latency-avg / -max: from the leader's append to the HW passing it,
    /// on the injected clock; followers report none; the window forgets old commits.
    func testCommitLatencyIsMeasuredOnTheLeader() async throws {
        let cluster = try Cluster(voters: [1, 2, 3], logger: logger)
        let elected = await cluster.run { cluster.leader() != nil }
        XCTAssertTrue(elected)
        let leaderId = try XCTUnwrap(cluster.leader())
        let leader = cluster.hosts[leaderId]!
        XCTAssertNil(leader.commitLatency(), "nothing proposed yet")
        let start = cluster.clock.milliseconds()
        let offset = try await leader.propose([ByteBuffer(string: "v1")])
        let committed = await cluster.run { leader.leadership.highWatermark > offset }
        XCTAssertTrue(committed)
        let took = Double(cluster.clock.milliseconds() - start)
        let latency = try XCTUnwrap(leader.commitLatency())
        XCTAssertGreaterThan(latency.maxMs, 0, "a commit needs a follower's fetch: some simulated ms")
        XCTAssertLessThanOrEqual(latency.maxMs, took)
        XCTAssertEqual(latency.avgMs, latency.maxMs, "one commit")
        for (id, host) in cluster.hosts where id != leaderId { XCTAssertNil(host.commitLatency(), "follower \(id)") }
        // 30 s later the window is empty again.
        cluster.clock.advance(byMilliseconds: QuorumHost.commitLatencyWindowMs + 1)
        XCTAssertNil(leader.commitLatency())
        for host in cluster.hosts.values { await host.shutdown() }
    }

    func testThreeVotersElectCommitAndAWaiterLearnsOfLostLeadership() async throws {
        let cluster = try Cluster(voters: [1, 2, 3], observers: [4], logger: logger)
        let elected = await cluster.run { cluster.leader() != nil }
        XCTAssertTrue(elected)
        let leaderId = try XCTUnwrap(cluster.leader())
        let leader = cluster.hosts[leaderId]!
        let offset = try await leader.propose([ByteBuffer(string: "v1")])
        let waiter = Task { try await leader.waitForCommit(offset) }
        let committedEverywhere = await cluster.run {
            guard cluster.hosts.values.allSatisfy({ $0.leadership.highWatermark > offset }) else { return false }
            // ...and the leader has seen every voter fetch past it (the fetch after the one that
            // brought the HW).
            return await leader.describeQuorum().currentVoters.allSatisfy { $0.logEndOffset > offset }
        }
        XCTAssertTrue(committedEverywhere, "voters and the observer reach the HW")
        try await waiter.value

        let described = await leader.describeQuorum()
        XCTAssertEqual(described.errorCode, 0)
        XCTAssertEqual(described.leaderId, leaderId)
        XCTAssertEqual(described.currentVoters.map(\.replicaId), [1, 2, 3])
        XCTAssertEqual(described.observers.map(\.replicaId), [4])
        XCTAssertTrue(described.currentVoters.allSatisfy { $0.logEndOffset > offset }, "\(described.currentVoters)")
        XCTAssertTrue(described.currentVoters.allSatisfy { $0.lastCaughtUpTimestamp > 0 })
        let follower = cluster.hosts[leaderId == 1 ? 2 : 1]!
        let notLeader = await follower.describeQuorum()
        XCTAssertEqual(notLeader.errorCode, ErrorCode.notLeaderOrFollower.rawValue)
        XCTAssertEqual(notLeader.leaderId, leaderId)
        do {
            _ = try await follower.propose([ByteBuffer(string: "no")])
            XCTFail("a follower must refuse")
        } catch QuorumHostError.notLeader(let known, _) {
            XCTAssertEqual(known, leaderId)
        }

        // Isolate the leader: its new entry cannot commit, and its waiter fails once it learns
        // it no longer leads (check-quorum resigns it), instead of hanging.
        var cut = Set<InMemoryRaftNetwork.Link>()
        for other in cluster.hosts.keys where other != leaderId {
            cut.insert(.init(from: leaderId, to: other)); cut.insert(.init(from: other, to: leaderId))
        }
        cluster.network.cut = cut
        let orphan = try await leader.propose([ByteBuffer(string: "lost")])
        let outcome = Task { () -> QuorumHostError? in
            do { try await leader.waitForCommit(orphan); return nil } catch let e as QuorumHostError { return e } catch { return .failed("\(error)") }
        }
        let newLeader = await cluster.run {
            if let l = cluster.leader(), l != leaderId { return !leader.leadership.isLocalLeader }
            return false
        }
        XCTAssertTrue(newLeader)
        let error = await outcome.value
        guard case .notLeader = error else { return XCTFail("expected notLeader, got \(String(describing: error))") }

        // Healed: the old leader follows, its uncommitted entry is truncated, and the new leader's
        // proposal commits everywhere.
        cluster.network.cut = []
        let next = try XCTUnwrap(cluster.leader())
        let nextOffset = try await cluster.hosts[next]!.propose([ByteBuffer(string: "v2")])
        let healed = await cluster.run {
            cluster.hosts.values.allSatisfy { $0.leadership.highWatermark > nextOffset }
        }
        XCTAssertTrue(healed)
        for host in cluster.hosts.values { await host.shutdown() }
    }
}
