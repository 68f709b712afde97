import Broker
import Foundation
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import NIOPosix
@testable import Quorum
import XCTest

/// Three voters and an observer as QuorumHosts over real loopback sockets: NIORaftTransport
/// outbound, the controller listener (KafkaServer + ControllerApis) inbound, real time and the
/// real file system. Every wait is on a condition with a generous bound, never a sleep used as
/// an assertion.
final class QuorumNetworkTests: XCTestCase {
    let logger: Logger = {
        var l = Logger(label: "quorum-net-test")
        l.logLevel = ProcessInfo.processInfo.environment["SAMSA_TEST_LOG"] == nil ? .critical : .debug
        return l
    }()

    struct Node {
        let id: RaftNodeId
        let host: QuorumHost
        let transport: NIORaftTransport
        let server: KafkaServer
        let port: Int
    }

    var group: MultiThreadedEventLoopGroup!
    var root: String!
    var nodes: [RaftNodeId: Node] = [:]

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        root = NSTemporaryDirectory() + "samsa-quorumnet-\(UUID().uuidString)"
    }

    override func tearDown() async throws {
        for node in nodes.values {
            await node.host.shutdown()
            await node.server.shutdown()
            node.transport.close()
        }
        nodes = [:]
        try await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Short timers so elections on a busy CI machine take seconds, not tens of seconds.
    func quorumConfig(_ voters: [RaftNodeId], clusterId: String = "net-cluster") -> QuorumConfig {
        var config = QuorumConfig(voters: voters, clusterId: clusterId)
        config.electionTimeoutMs = 500
        config.fetchTimeoutMs = 1500
        config.requestTimeoutMs = 1000
        config.electionBackoffMaxMs = 500
        return config
    }

    /// A node with its listener bound on an ephemeral loopback port: the controller listener
    /// for a voter; for an observer a "broker listener" serving only DescribeQuorum (forwarded).
    func makeNode(_ id: RaftNodeId, config: QuorumConfig) async throws -> Node {
        let transport = NIORaftTransport(localId: id, endpoints: [:], group: group, logger: logger)
        let host = try QuorumHost(nodeId: id, config: config, directory: "\(root!)/n\(id)/__cluster_metadata-0",
                                  fileSystem: POSIXFileSystem(), clock: SystemLogClock(), transport: transport, logger: logger)
        transport.attach(host)
        let quorum = ControllerQuorum(host: host, transport: transport)
        let registry: HandlerRegistry
        if config.isVoter(id) {
            registry = ControllerApis.registry(quorum: quorum, logger: logger)
        } else {
            var r = HandlerRegistry(logger: logger)
            r.register(DescribeQuorumHandler(quorum: quorum, forwardToLeader: true))
            r.registerApiVersions()
            registry = r
        }
        let server = KafkaServer(configuration: .init(host: "127.0.0.1", port: 0, listenerName: config.isVoter(id) ? "CONTROLLER" : "PLAINTEXT"),
                                 dispatcher: registry, group: group, logger: logger)
        let address = try await server.bind()
        Task { try? await server.run() }
        let node = Node(id: id, host: host, transport: transport, server: server, port: address.port!)
        nodes[id] = node
        return node
    }

    /// Voters 1-3 (and observer 4 if asked), every transport told every voter's address, started.
    func startCluster(observer: Bool = true) async throws {
        let config = quorumConfig([1, 2, 3])
        for id: RaftNodeId in observer ? [1, 2, 3, 4] : [1, 2, 3] { _ = try await makeNode(id, config: config) }
        for node in nodes.values {
            for voter: RaftNodeId in [1, 2, 3] { node.transport.updateEndpoint(voter, host: "127.0.0.1", port: nodes[voter]!.port) }
        }
        for node in nodes.values { await node.host.start() }
    }

    func waitUntil(_ what: String, seconds: Double = 60, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTFail("timed out after \(seconds) s waiting for \(what)")
        throw CancellationError()
    }

    func soleLeader(among ids: [RaftNodeId]? = nil) -> RaftNodeId? {
        let candidates = (ids ?? Array(nodes.keys)).compactMap { nodes[$0] }
        let leaders = candidates.filter { $0.host.leadership.isLocalLeader }
        guard leaders.count == 1 else { return nil }
        let id = leaders[0].id
        let epoch = leaders[0].host.leadership.epoch
        // Everyone else (still running) agrees.
        return candidates.allSatisfy { $0.host.leadership.leaderId == id && $0.host.leadership.epoch == epoch } ? id : nil
    }

    /// The values of the non-control records in `bytes`, in order.
    func values(_ bytes: ByteBuffer) throws -> [String] {
        var buffer = bytes
        var out: [String] = []
        while buffer.readableBytes > 0 {
            let batch = try RecordBatch.decode(from: &buffer)
            guard !batch.isControl else { continue }
            for record in batch.records { out.append(record.value.map { String(buffer: $0) } ?? "") }
        }
        return out
    }

    func testThreeVotersElectCommitFailOverAndAnObserverFollows() async throws {
        try await startCluster()
        try await waitUntil("one leader all nodes agree on") { soleLeader() != nil }
        let first = try XCTUnwrap(soleLeader())
        let leader = nodes[first]!.host
        var offset: Int64 = -1
        for i in 0..<5 { offset = try await leader.propose([ByteBuffer(string: "entry-\(i)")]) }
        try await leader.waitForCommit(offset)
        try await waitUntil("every node (the observer too) at the HW") {
            nodes.values.allSatisfy { $0.host.leadership.highWatermark > offset }
        }
        for node in nodes.values {
            let read = try await node.host.readCommitted(from: 0, maxBytes: 1 << 20)
            XCTAssertEqual(try values(read), (0..<5).map { "entry-\($0)" }, "node \(node.id)")
        }

        // Graceful shutdown of the leader: it resigns (EndQuorumEpoch), another voter leads, and
        // what was committed is still there and still commits new entries.
        let old = nodes.removeValue(forKey: first)!
        await old.host.shutdown()
        await old.server.shutdown()
        old.transport.close()
        try await waitUntil("a new leader") { soleLeader().map { $0 != first } ?? false }
        let second = try XCTUnwrap(soleLeader())
        let next = try await nodes[second]!.host.propose([ByteBuffer(string: "after-failover")])
        try await nodes[second]!.host.waitForCommit(next)
        try await waitUntil("the remaining nodes at the new HW") {
            nodes.values.allSatisfy { $0.host.leadership.highWatermark > next }
        }
        for node in nodes.values {
            let read = try await node.host.readCommitted(from: 0, maxBytes: 1 << 20)
            XCTAssertEqual(try values(read), (0..<5).map { "entry-\($0)" } + ["after-failover"], "node \(node.id)")
        }
    }

    func testDescribeQuorumOnTheControllerAndBrokerListeners() async throws {
        try await startCluster()
        try await waitUntil("one leader") { soleLeader() != nil }
        let leaderId = try XCTUnwrap(soleLeader())
        let offset = try await nodes[leaderId]!.host.propose([ByteBuffer(string: "x")])
        try await waitUntil("every node at the HW, the observer fetching") {
            guard nodes.values.allSatisfy({ $0.host.leadership.highWatermark > offset }) else { return false }
            let d = await nodes[leaderId]!.host.describeQuorum()
            return d.observers.map(\.replicaId) == [4]
        }

        var request = DescribeQuorumRequest()
        request.topics = [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])]
        let answer = try await exchange(request, version: 2, port: nodes[leaderId]!.port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(answer.errorCode, 0)
        let p = try XCTUnwrap(answer.topics.first?.partitions.first)
        XCTAssertEqual(p.errorCode, 0)
        XCTAssertEqual(p.leaderId, leaderId)
        XCTAssertGreaterThan(p.highWatermark, offset)
        XCTAssertEqual(p.currentVoters.map(\.replicaId), [1, 2, 3])
        XCTAssertEqual(p.observers.map(\.replicaId), [4])
        XCTAssertTrue(p.currentVoters.allSatisfy { $0.lastFetchTimestamp > 0 }, "\(p.currentVoters)")
        XCTAssertEqual(answer.nodes.map(\.nodeId), [1, 2, 3])
        XCTAssertEqual(answer.nodes.first { $0.nodeId == leaderId }?.listeners.first?.port, UInt16(nodes[leaderId]!.port))

        // v0 carries neither timestamps nor nodes.
        let v0 = try await exchange(request, version: 0, port: nodes[leaderId]!.port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(v0.topics.first?.partitions.first?.currentVoters.map(\.replicaId), [1, 2, 3])

        // Another controller refuses (Kafka's raft client: NOT_LEADER_OR_FOLLOWER).
        let follower: RaftNodeId = leaderId == 1 ? 2 : 1
        let refused = try await exchange(request, version: 2, port: nodes[follower]!.port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(refused.topics.first?.partitions.first?.errorCode, ErrorCode.notLeaderOrFollower.rawValue)

        // The observer's broker listener forwards to the leader.
        let forwarded = try await exchange(request, version: 2, port: nodes[4]!.port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(forwarded.topics.first?.partitions.first?.leaderId, leaderId)
        XCTAssertEqual(forwarded.topics.first?.partitions.first?.currentVoters.map(\.replicaId), [1, 2, 3])

        // A Raft request on a broker listener is not enabled there: the connection is closed.
        var vote = VoteRequest()
        vote.clusterId = "net-cluster"
        vote.topics = [.init(topicName: "__cluster_metadata", partitions: [.init()])]
        let onBrokerListener = try await rawExchange(try vote.encodeFrame(version: 1, correlationId: 8, clientId: "t"), port: nodes[4]!.port)
        XCTAssertNil(onBrokerListener)

        // Another partition: UNKNOWN_TOPIC_OR_PARTITION per partition.
        var wrong = DescribeQuorumRequest()
        wrong.topics = [.init(topicName: "orders", partitions: [.init(partitionIndex: 3)])]
        let unknown = try await exchange(wrong, version: 2, port: nodes[leaderId]!.port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(unknown.topics.first?.partitions.first?.errorCode, ErrorCode.unknownTopicOrPartition.rawValue)
        XCTAssertEqual(unknown.topics.first?.partitions.first?.partitionIndex, 3)
    }

    func testBadInputOnTheControllerListener() async throws {
        try await startCluster(observer: false)
        try await waitUntil("one leader") { soleLeader() != nil }
        let leaderId = try XCTUnwrap(soleLeader())
        let port = nodes[leaderId == 1 ? 2 : 1]!.port

        // A Vote from another cluster: INCONSISTENT_CLUSTER_ID, and the epoch does not move.
        let epoch = nodes[leaderId]!.host.leadership.epoch
        var vote = VoteRequest()
        vote.clusterId = "someone-else"
        var p = VoteRequest.PartitionData()
        p.candidateId = 9; p.candidateEpoch = epoch + 5; p.lastOffset = 1000; p.lastOffsetEpoch = epoch
        vote.topics = [.init(topicName: "__cluster_metadata", partitions: [p])]
        let answer = try await exchange(vote, version: 1, port: port, as: VoteResponse.self)
        XCTAssertEqual(answer.errorCode, ErrorCode.inconsistentClusterId.rawValue)

        // A malformed Vote closes that connection only.
        var garbage = ByteBuffer()
        try garbage.writeKafkaFrame { body in
            body.writeInteger(ApiKey.vote.rawValue); body.writeInteger(Int16(1)); body.writeInteger(Int32(77))
            body.writeInteger(Int16(-1))           // null client id
            body.writeInteger(UInt8(0))            // no tagged fields
            body.writeBytes([0xFF, 0xFF, 0xFF, 0x7F, 0x01])   // a compact string of absurd length
        }
        let closed = try await rawExchange(garbage, port: port)
        XCTAssertNil(closed, "the connection is closed without an answer")

        // A broker API on the controller listener: not enabled there, the connection is closed.
        let metadata = try MetadataRequest().encodeFrame(version: 12, correlationId: 5, clientId: "test")
        let refused = try await rawExchange(metadata, port: port)
        XCTAssertNil(refused)

        // ApiVersions lists exactly the controller APIs.
        let versions = try await exchange(ApiVersionsRequest(), version: 0, port: port, as: ApiVersionsResponse.self)
        XCTAssertEqual(versions.apiKeys.map(\.apiKey).sorted(), [1, 18, 52, 53, 54, 55, 59])

        // The quorum is unaffected: it still commits, with the same leader and epoch.
        let offset = try await nodes[leaderId]!.host.propose([ByteBuffer(string: "still-alive")])
        try await nodes[leaderId]!.host.waitForCommit(offset)
        XCTAssertEqual(nodes[leaderId]!.host.leadership.epoch, epoch)

        // A node whose host stopped (its listener still up) refuses Raft requests at once by
        // closing the connection, instead of holding them until the inbound timeout.
        let stopped = nodes[leaderId == 1 ? 2 : 1]!
        await stopped.host.shutdown()
        XCTAssertEqual(stopped.transport.pendingInboundCount, 0)
        let refusedVote = try await rawExchange(try vote.encodeFrame(version: 1, correlationId: 9, clientId: "t"), port: stopped.port)
        XCTAssertNil(refusedVote)
    }

    func testQuorumRuntimeOfASingleControllerLeadsAndAnswersOnItsControllerListener() async throws {
        let settings = try KRaftSettings(properties: [
            "process.roles": "controller", "node.id": "1", "controller.quorum.voters": "1@127.0.0.1:9",
            "controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://127.0.0.1:0",
        ])
        let runtime = try QuorumRuntime(settings: settings, clusterId: "rt", directory: "\(root!)/rt/__cluster_metadata-0",
                                        controllerListeners: [.init(name: "CONTROLLER", host: "127.0.0.1", port: 0)],
                                        group: group, logger: logger)
        let addresses = try await runtime.bind()
        await runtime.start()
        let serving = Task { try await runtime.run() }
        XCTAssertEqual(runtime.host.leadership, QuorumLeadership(leaderId: 1, epoch: 1, highWatermark: 1, isLocalLeader: true, epochStartOffset: 0))
        let port = try XCTUnwrap(addresses.first?.port)
        var request = DescribeQuorumRequest()
        request.topics = [.init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])]
        let answer = try await exchange(request, version: 2, port: port, as: DescribeQuorumResponse.self)
        XCTAssertEqual(answer.topics.first?.partitions.first?.leaderId, 1)
        XCTAssertEqual(answer.nodes.first?.listeners.first?.port, UInt16(port), "the bound port, not the configured one")
        XCTAssertEqual(answer.nodes.first?.listeners.first?.name, "CONTROLLER")
        await runtime.shutdown()
        try await serving.value
        do { _ = try await runtime.host.propose([ByteBuffer(string: "x")]); XCTFail() } catch QuorumHostError.shutDown {}
    }

    func testFetchSnapshotServesKafkasFilesAndADownloadIsByteForByte() async throws {
        try await startCluster(observer: false)
        try await waitUntil("one leader") { soleLeader() != nil }
        let leaderId = try XCTUnwrap(soleLeader())
        let epoch = nodes[leaderId]!.host.leadership.epoch
        let followerId: RaftNodeId = leaderId == 1 ? 2 : 1
        // Any bytes: FetchSnapshot moves the file, it does not parse it.
        var content = ByteBuffer()
        for i in 0..<10_000 { content.writeInteger(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
        let id = OffsetAndEpoch(offset: 5, epoch: 1)
        let leaderDir = "\(root!)/n\(leaderId)/__cluster_metadata-0"
        XCTAssertEqual(SnapshotTransfer.fileName(id), "00000000000000000005-0000000001.checkpoint")
        let file = try POSIXFileSystem().open(leaderDir + "/" + SnapshotTransfer.fileName(id), create: true)
        try file.write(content, at: 0)
        try file.sync()

        let target = "\(root!)/download/__cluster_metadata-0"
        let follower = nodes[followerId]!
        let path = try await SnapshotTransfer.download(id, epoch: epoch, from: leaderId, transport: follower.transport,
                                                       directory: target, fileSystem: POSIXFileSystem(), chunkBytes: 999,
                                                       clusterId: "net-cluster")
        XCTAssertEqual(path, target + "/00000000000000000005-0000000001.checkpoint")
        let copy = try POSIXFileSystem().open(path, create: false)
        XCTAssertEqual(try copy.read(at: 0, count: 20_000), content)
        XCTAssertFalse(POSIXFileSystem().fileExists(target + "/00000000000000000005-0000000001.checkpoint.part"))

        // Kafka's errors.
        do {
            try await SnapshotTransfer.download(OffsetAndEpoch(offset: 6, epoch: 1), epoch: epoch, from: leaderId, transport: follower.transport,
                                                directory: target, fileSystem: POSIXFileSystem())
            XCTFail("no such snapshot")
        } catch let error as SnapshotTransfer.DownloadError {
            XCTAssertTrue(error.reason.contains("\(ErrorCode.snapshotNotFound)"), error.reason)
        }
        do {
            try await SnapshotTransfer.download(OffsetAndEpoch(offset: 7, epoch: 1), epoch: epoch - 1, from: leaderId, transport: follower.transport,
                                                directory: target, fileSystem: POSIXFileSystem())
            XCTFail("stale epoch")
        } catch let error as SnapshotTransfer.DownloadError {
            XCTAssertTrue(error.reason.contains("\(ErrorCode.fencedLeaderEpoch)"), error.reason)
        }
        func request(position: Int64, epoch: Int32, cluster: String? = "net-cluster") -> FetchSnapshotRequest {
            var p = FetchSnapshotRequest.PartitionSnapshot()
            p.currentLeaderEpoch = epoch
            p.snapshotId = .init(endOffset: 5, epoch: 1)
            p.position = position
            var r = FetchSnapshotRequest()
            r.clusterId = cluster
            r.topics = [.init(name: "__cluster_metadata", partitions: [p])]
            return r
        }
        let outOfRange = try await exchange(request(position: 10_000, epoch: epoch), version: 1, port: nodes[leaderId]!.port,
                                            as: FetchSnapshotResponse.self)
        XCTAssertEqual(outOfRange.topics.first?.partitions.first?.errorCode, ErrorCode.positionOutOfRange.rawValue)
        let notLeader = try await exchange(request(position: 0, epoch: epoch), version: 1, port: follower.port, as: FetchSnapshotResponse.self)
        XCTAssertEqual(notLeader.topics.first?.partitions.first?.errorCode, ErrorCode.notLeaderOrFollower.rawValue)
        XCTAssertEqual(notLeader.topics.first?.partitions.first?.currentLeader.leaderId, leaderId)
        let foreign = try await exchange(request(position: 0, epoch: epoch, cluster: "other"), version: 0, port: nodes[leaderId]!.port,
                                         as: FetchSnapshotResponse.self)
        XCTAssertEqual(foreign.errorCode, ErrorCode.inconsistentClusterId.rawValue)
        let tail = try await exchange(request(position: 9_990, epoch: epoch), version: 0, port: nodes[leaderId]!.port, as: FetchSnapshotResponse.self)
        XCTAssertEqual(tail.topics.first?.partitions.first?.size, 10_000)
        XCTAssertEqual(tail.topics.first?.partitions.first?.unalignedRecords, content.getSlice(at: 9_990, length: 10))
    }

    /// Measurements, not assertions (skipped unless `SAMSA_QUORUM_BENCH=<rounds>`): with Kafka's
    /// default timers, how long the first election takes, how long a proposal takes to commit
    /// on 3 voters over loopback, and how long after a graceful leader shutdown a new leader
    /// is elected (the old one restarted each round). Prints one summary line.
    func testMeasureElectionCommitAndGracefulFailover() async throws {
        guard let rounds = ProcessInfo.processInfo.environment["SAMSA_QUORUM_BENCH"].flatMap(Int.init) else {
            throw XCTSkip("set SAMSA_QUORUM_BENCH=<rounds> to measure")
        }
        let config = QuorumConfig(voters: [1, 2, 3], clusterId: "bench")   // Kafka's defaults
        let clock = ContinuousClock()
        var start = clock.now
        for id: RaftNodeId in [1, 2, 3] { _ = try await makeNode(id, config: config) }
        for node in nodes.values {
            for voter: RaftNodeId in [1, 2, 3] { node.transport.updateEndpoint(voter, host: "127.0.0.1", port: nodes[voter]!.port) }
        }
        start = clock.now
        for node in nodes.values { await node.host.start() }
        try await waitUntil("first leader") { soleLeader() != nil }
        let firstElection = clock.now - start

        var commits: [Duration] = []
        var failovers: [Duration] = []
        for round in 0..<rounds {
            let leaderId = try XCTUnwrap(soleLeader())
            for i in 0..<20 {
                let t = clock.now
                let offset = try await nodes[leaderId]!.host.propose([ByteBuffer(string: "r\(round)-\(i)")])
                try await nodes[leaderId]!.host.waitForCommit(offset)
                commits.append(clock.now - t)
            }
            let old = nodes.removeValue(forKey: leaderId)!
            let t = clock.now
            await old.host.shutdown()
            try await waitUntil("a new leader") { soleLeader().map { $0 != leaderId } ?? false }
            failovers.append(clock.now - t)
            await old.server.shutdown()
            old.transport.close()
            // Restart the old leader on its directory and address.
            let transport = NIORaftTransport(localId: leaderId, endpoints: [:], group: group, logger: logger)
            let host = try QuorumHost(nodeId: leaderId, config: config, directory: "\(root!)/n\(leaderId)/__cluster_metadata-0",
                                      fileSystem: POSIXFileSystem(), clock: SystemLogClock(), transport: transport, logger: logger)
            transport.attach(host)
            let server = KafkaServer(configuration: .init(host: "127.0.0.1", port: old.port, listenerName: "CONTROLLER"),
                                     dispatcher: ControllerApis.registry(quorum: ControllerQuorum(host: host, transport: transport), logger: logger),
                                     group: group, logger: logger)
            _ = try await server.bind()
            Task { try? await server.run() }
            nodes[leaderId] = Node(id: leaderId, host: host, transport: transport, server: server, port: old.port)
            for voter: RaftNodeId in [1, 2, 3] { transport.updateEndpoint(voter, host: "127.0.0.1", port: nodes[voter]!.port) }
            await host.start()
            try await waitUntil("the restarted node follows") { soleLeader() != nil }
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        func pct(_ v: [Duration], _ p: Double) -> String {
            let sorted = v.map(ms).sorted()
            return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
        }
        print("QUORUM-BENCH first election \(String(format: "%.0f", ms(firstElection))) ms; commit (3 voters, fsync) p50 \(pct(commits, 0.5)) ms p99 \(pct(commits, 0.99)) ms max \(pct(commits, 1)) ms over \(commits.count); graceful failover p50 \(pct(failovers, 0.5)) ms max \(pct(failovers, 1)) ms over \(failovers.count)")
    }

    // MARK: A raw Kafka client

    func exchange<R: KafkaRequest>(_ request: R, version: Int16, port: Int, as: R.Response.Type) async throws -> R.Response {
        let frame = try request.encodeFrame(version: version, correlationId: 4242, clientId: "quorum-test")
        guard var payload = try await rawExchange(frame, port: port) else {
            throw ProtocolError.malformed("connection closed without an answer to \(R.apiKey)")
        }
        let (header, response) = try R.Response.decode(from: &payload, version: version)
        XCTAssertEqual(header.correlationId, 4242)
        return response
    }

    /// Sends one frame and returns the answer's payload, nil when the server closed instead.
    func rawExchange(_ frame: ByteBuffer, port: Int) async throws -> ByteBuffer? {
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(frame)
            var iterator = inbound.makeAsyncIterator()
            do { return try await iterator.next() } catch { return nil }
        }
    }
}
