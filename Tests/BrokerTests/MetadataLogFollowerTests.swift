import FoundationEssentials
import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import Quorum
import Synchronization
import XCTest
@testable import Broker

/// The metadata store over the real quorum host (one voter, simulated disk, manual clock):
/// commits through the log, one ordered apply path, restart = snapshot + log, torn snapshots
/// ignored, the JSON image of the previous release migrated, NOT_CONTROLLER.
final class MetadataLogFollowerTests: XCTestCase {
    private let logger = Logger(label: "metadata-follower-test")
    private let dir = "/meta/__cluster_metadata-0"

    private final class Node: Sendable {
        let host: QuorumHost
        let follower: MetadataLogFollower
        let controller: LocalController
        let task: Task<Void, Never>
        init(host: QuorumHost, follower: MetadataLogFollower, controller: LocalController) {
            self.host = host; self.follower = follower; self.controller = controller
            task = Task { await follower.run() }
        }
        func stop() async {
            follower.stop()
            await task.value
            await host.shutdown()
        }
    }

    private func open(_ fs: SimulatedFileSystem, policy: MetadataSnapshotPolicy = MetadataSnapshotPolicy(),
                      migrate json: String? = nil) async throws -> Node {
        let host = try QuorumHost(nodeId: 1, config: QuorumConfig(voters: [1], clusterId: "c1"), directory: dir, fileSystem: fs,
                                  clock: ManualLogClock(), transport: nil, logger: logger, randomSeed: 7)
        let follower = try await MetadataLogFollower.open(log: host, directory: dir, fileSystem: fs, clusterId: "c1", nodeId: 1,
                                                          policy: policy, clock: { 1_000 }, logger: logger)
        await host.start()
        let seed = Mutex<UInt64>(42)
        let controller = LocalController(store: follower.store, random: {
            seed.withLock { $0 = $0 &* 6364136223846793005 &+ 1442695040888963407; return $0 }
        })
        let node = Node(host: host, follower: follower, controller: controller)
        if let json { try await follower.migrateJSONImage(at: json, clusterId: "c1") }
        return node
    }

    private func populate(_ node: Node) async throws {
        try await node.controller.registerBroker(BrokerRegistration(id: 1, endpoints: [.init(listener: "PLAINTEXT", host: "h", port: 9092)],
                                                                    rack: nil, fenced: false))
        for i in 0..<20 {
            _ = try await node.controller.createTopic(name: "t\(i)", numPartitions: 2, replicationFactor: 1,
                                                      configs: i % 3 == 0 ? ["retention.ms": "100"] : [:])
        }
        _ = try await node.controller.deleteTopic(name: "t4", deletionEnabled: true)
        try await node.controller.createPartitions(topic: "t5", totalCount: 4, assignments: nil, validateOnly: false)
        try await node.controller.alterConfigs(resourceType: 4, resourceName: "", changes: [("log.retention.ms", "5")], validateOnly: false)
        _ = try await node.controller.allocateProducerIdBlock()
    }

    func testCommitsGoThroughTheLogAndAnswersSeeThem() async throws {
        let fs = SimulatedFileSystem()
        let node = try await open(fs)
        let seen = Mutex<[[String]]>([])
        node.follower.store.addListener { _, new in seen.withLock { $0.append(new.topics.keys.sorted()) } }
        try await populate(node)
        let image = node.follower.store.image
        XCTAssertEqual(image.topics.count, 19)
        XCTAssertEqual(image.topics["t5"]?.partitions.count, 4)
        XCTAssertEqual(image.brokerConfigs[""]?["log.retention.ms"], "5")
        XCTAssertEqual(image.nextProducerId, 1000)
        // Each controller answer already reflected its change: the listener saw 20 creations
        // one by one, in commit order.
        let history = seen.withLock { $0 }
        XCTAssertEqual(history.filter { $0.contains("t0") && $0.count == 1 }.count, 1)
        XCTAssertEqual(history.map(\.count).prefix(21), [0] + Array(1...20), "one topic more per commit, in order")
        // The synchronous path is refused for a log-backed store.
        XCTAssertThrowsError(try node.follower.store.commit([.noOp]))
        // A name already taken: validation against the committed image.
        do {
            _ = try await node.controller.createTopic(name: "t1", numPartitions: 1, replicationFactor: 1)
            XCTFail("duplicate")
        } catch let e as ControllerError { XCTAssertEqual(e.code, 36) }
        await node.stop()
    }

    func testConcurrentCreatesOfOneNameOneWins() async throws {
        let fs = SimulatedFileSystem()
        let node = try await open(fs)
        try await node.controller.registerBroker(BrokerRegistration(id: 1, endpoints: [], rack: nil, fenced: false))
        let controller = node.controller
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { (try? await controller.createTopic(name: "race", numPartitions: 1, replicationFactor: 1)) != nil }
            }
            var wins = 0
            for await ok in group where ok { wins += 1 }
            return wins
        }
        XCTAssertEqual(results, 1)
        await node.stop()
    }

    func testRestartRebuildsTheSameImageFromSnapshotAndLog() async throws {
        let fs = SimulatedFileSystem()
        // A snapshot after every ~1 KiB of records: several snapshots, plus log after the last.
        var node = try await open(fs, policy: MetadataSnapshotPolicy(maxBytesBetweenSnapshots: 1024, maxIntervalMs: 0))
        try await populate(node)
        let before = node.follower.store.image
        await node.stop()
        let snapshots = try MetadataSnapshots.list(in: dir, fileSystem: fs)
        XCTAssertEqual(snapshots.count, 1, "older snapshots are deleted: \(snapshots)")

        node = try await open(fs, policy: MetadataSnapshotPolicy(maxBytesBetweenSnapshots: 1024, maxIntervalMs: 0))
        var after = node.follower.store.image
        after.recordCount = before.recordCount
        XCTAssertEqual(after, before)
        await node.stop()

        // Tear the snapshot: it is ignored and the whole log rebuilds the same image.
        let path = dir + "/" + MetadataSnapshots.fileName(try XCTUnwrap(snapshots.last))
        let file = try fs.open(path, create: false)
        try file.truncate(to: try file.size() / 2)
        node = try await open(fs)
        after = node.follower.store.image
        after.recordCount = before.recordCount
        XCTAssertEqual(after, before)
        await node.stop()
    }

    func testTheJSONImageOfThePreviousReleaseIsMigratedOnce() async throws {
        let fs = SimulatedFileSystem()
        var legacy = MetadataImage(clusterId: "c1", controllerId: 1)
        legacy.apply(.registerBroker(BrokerRegistration(id: 1, endpoints: [.init(listener: "PLAINTEXT", host: "h", port: 9092)], rack: nil, fenced: false)))
        let id = TopicID(mostSignificantBits: 5, leastSignificantBits: 6)
        legacy.apply(.topic(name: "old", id: id))
        legacy.apply(.config(resourceType: 2, resourceName: "old", name: "cleanup.policy", value: "compact"))
        legacy.apply(.partition(topicID: id, PartitionRegistration(partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 3, partitionEpoch: 4)))
        legacy.apply(.producerIds(nextProducerId: 7000))
        let json = "/data/samsa-metadata.json"
        try fs.createDirectory("/data")
        try fs.writeAtomically(json, contents: String(decoding: try JSONEncoder().encode(legacy), as: UTF8.self))

        var node = try await open(fs, migrate: json)
        var migrated = node.follower.store.image
        migrated.recordCount = legacy.recordCount
        XCTAssertEqual(migrated, legacy)
        XCTAssertFalse(fs.fileExists(json))
        XCTAssertTrue(fs.fileExists(json + ".migrated"))
        let offset = node.follower.appliedOffset
        await node.stop()

        // A second start: nothing to migrate, same image from the log.
        node = try await open(fs, migrate: json)
        migrated = node.follower.store.image
        migrated.recordCount = legacy.recordCount
        XCTAssertEqual(migrated, legacy)
        XCTAssertGreaterThan(node.follower.appliedOffset, offset - 1)
        await node.stop()

        // A JSON image of another cluster is refused, naming the file.
        try fs.writeAtomically(json, contents: String(decoding: try JSONEncoder().encode(MetadataImage(clusterId: "other", controllerId: 1)), as: UTF8.self))
        do {
            node = try await open(fs, migrate: json)
            XCTFail("another cluster's image must be refused")
        } catch let e as MetadataStoreError {
            XCTAssertTrue("\(e)".contains("other"))
        }
    }

    /// The broker-lifecycle path: the offset handed to the computation is the real offset of
    /// the first record appended (a broker epoch is its RegisterBrokerRecord's offset).
    func testCommitComputedAsyncSeesTheRealNextOffset() async throws {
        let node = try await open(SimulatedFileSystem())
        for id in Int32(1)...3 {
            let epoch = try await node.controller.commitComputedAsync { image, offset -> ([MetadataRecord], Int64) in
                ([.registerBroker(BrokerRegistration(id: id, endpoints: [], rack: nil, fenced: true, epoch: offset))], offset)
            }
            let bytes = try await node.host.readCommitted(from: epoch, maxBytes: 1 << 20)
            let batch = try XCTUnwrap(RecordBatch.decodeAll(from: bytes).batches.first)
            XCTAssertEqual(batch.baseOffset, epoch)
            XCTAssertEqual(try MetadataRecordCodec.decode(XCTUnwrap(batch.records.first?.value)),
                           .registerBroker(BrokerRegistration(id: id, endpoints: [], rack: nil, fenced: true, epoch: epoch)))
            XCTAssertEqual(node.follower.store.image.brokers[id]?.epoch, epoch)
        }
        await node.stop()
    }

    /// A formatted node's bootstrap.checkpoint becomes the log's first records, once.
    func testBootstrapRecordsAreCommittedIntoAnEmptyLogOnly() async throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/meta")
        try KRaftStorage.writeBootstrapCheckpoint(directory: "/meta", now: 0, fileSystem: fs)
        var node = try await open(fs)
        try await node.follower.bootstrapIfEmpty(bootstrapFile: "/meta/bootstrap.checkpoint", defaults: [])
        XCTAssertEqual(node.follower.store.image.features["metadata.version"], KRaftStorage.bootstrapRecords.count == 1
                       ? { if case let .featureLevel(_, level) = KRaftStorage.bootstrapRecords[0] { return level } else { return nil } }() : nil)
        let offset = node.follower.appliedOffset
        await node.stop()
        node = try await open(fs)
        try await node.follower.bootstrapIfEmpty(bootstrapFile: "/meta/bootstrap.checkpoint", defaults: [.noOp])
        XCTAssertEqual(node.follower.appliedOffset, offset + 1, "only the new leader's LeaderChange batch, no second bootstrap")
        await node.stop()
        // An unreadable bootstrap file is refused, naming it.
        let other = SimulatedFileSystem()
        try other.createDirectory("/meta")
        try other.writeAtomically("/meta/bootstrap.checkpoint", contents: "garbage")
        node = try await open(other)
        do {
            try await node.follower.bootstrapIfEmpty(bootstrapFile: "/meta/bootstrap.checkpoint", defaults: [])
            XCTFail("garbage bootstrap file")
        } catch { XCTAssertTrue("\(error)".contains("bootstrap.checkpoint"), "\(error)") }
        await node.stop()
    }

    /// A log whose node does not lead: the controller answers NOT_CONTROLLER (41).
    func testNotLeaderIsNotController() async throws {
        final class Follows: MetadataLog {
            func propose(_ values: [ByteBuffer]) async throws -> Int64 { throw MetadataLogError.notLeader(leaderId: 3) }
            func waitForCommit(_ offset: Int64) async throws {}
            func readCommitted(from offset: Int64, maxBytes: Int) async throws -> ByteBuffer { ByteBuffer() }
            var committedOffset: Int64 { 0 }
            func addCommitListener(_ listener: @escaping @Sendable (Int64) -> Void) {}
        }
        let follower = try await MetadataLogFollower.open(log: Follows(), directory: dir, fileSystem: SimulatedFileSystem(), clusterId: "c1",
                                                          nodeId: 1, clock: { 0 }, logger: logger)
        let controller = LocalController(store: follower.store, random: { 1 })
        do {
            try await controller.registerBroker(BrokerRegistration(id: 1, endpoints: [], rack: nil, fenced: false))
            XCTFail("not the leader")
        } catch let e as ControllerError {
            XCTAssertEqual(e.code, 41)
            XCTAssertTrue(e.message.contains("3"), e.message)
        }
    }
}
