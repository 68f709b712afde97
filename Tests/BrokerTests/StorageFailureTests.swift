import Foundation
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import XCTest
@testable import Broker

/// Issue 9 at the broker level: a log that fails to load is a storage failure (never a stray
/// log to delete), a full disk stops the broker with KAFKA_STORAGE_ERROR answers, a damaged
/// batch is answered with CORRUPT_MESSAGE, and an admin request that cannot persist the
/// metadata gets an error code instead of a closed connection. Partition logs live on a
/// `SimulatedFileSystem` (faults injected there); the small files use a real temp dir.
final class StorageFailureTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = "/tmp/samsa-broker-storage-\(UInt64.random(in: 0...UInt64.max))" }
    override func tearDown() { try? runRemove(dir) }

    func config() throws -> BrokerConfig {
        try BrokerConfig(properties: PropertiesFile(parsing: "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(dir)\noffsets.topic.num.partitions=1\n"))
    }

    func append(_ broker: KafkaBroker, _ topic: String, _ partition: Int32, _ values: [String]) throws(PartitionError) {
        let batch = try! BrokerHarness.batch(values)
        _ = try broker.services.replicas.partition(topic, partition)!.appendAsLeader(
            batch, header: try! RecordBatchHeader.peek(batch, at: 0), requiredAcks: -1)
    }

    func testLogThatFailsToLoadStopsStartupAndIsNeverDeletedAsStray() async throws {
        let fs = SimulatedFileSystem()
        var broker = try await KafkaBroker(config: config(), logger: Logger(label: "test"), logFileSystem: fs)
        _ = try await broker.services.controller.createTopic(name: "t", numPartitions: 3, replicationFactor: 1,
                                                      configs: ["segment.bytes": "1024"])
        for p in 0..<3 { for i in 0..<20 { try append(broker, "t", Int32(p), ["value-\(i)-" + String(repeating: "x", count: 80)]) } }
        await broker.shutdown()
        let files = try fs.listDirectory(dir + "/t-1").sorted()
        XCTAssertGreaterThan(files.filter { $0.hasSuffix(".log") }.count, 2)
        // EMFILE on the oldest segment of t-1: opened only when producer state is rebuilt.
        let victim = dir + "/t-1/00000000000000000000.log"
        fs.openFault = { path in path == victim ? 24 : nil }
        do {
            _ = try await KafkaBroker(config: config(), logger: Logger(label: "test"), logFileSystem: fs)
            XCTFail("the broker must refuse to start")
        } catch {
            XCTAssertTrue("\(error)".contains("Too many open files") && "\(error)".contains("t-1"), "\(error)")
        }
        XCTAssertEqual(try fs.listDirectory(dir + "/t-1").sorted(), files, "the log that failed to load was touched")
        fs.openFault = nil
        broker = try await KafkaBroker(config: config(), logger: Logger(label: "test"), logFileSystem: fs)
        for p in 0..<3 { XCTAssertEqual(broker.services.replicas.partition("t", Int32(p))?.logEndOffset, 20) }
        await broker.shutdown()
    }

    func testDiskFullAnswersStorageErrorAndStopsTheBrokerUncleanly() async throws {
        let fs = SimulatedFileSystem()
        var broker = try await KafkaBroker(config: config(), logger: Logger(label: "test"), logFileSystem: fs)
        _ = try await broker.services.controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1)
        try append(broker, "t", 0, ["first"])
        fs.capacityBytes = fs.usedBytes + 30_000
        var acked: Int64 = 1
        var code: Int16 = 0
        while code == 0 {
            do throws(PartitionError) {
                try append(broker, "t", 0, (0..<5).map { "v\($0)" + String(repeating: "y", count: 300) })
                acked += 5
            } catch {
                code = error.code
                XCTAssertTrue(error.message.contains("No space left on device"), error.message)
            }
        }
        XCTAssertEqual(code, 56)
        XCTAssertNotNil(broker.storageFailureReason, "a single failed log dir must stop the broker")
        // The stop begins by itself (no SIGTERM): listeners close, parked fetches are woken.
        for _ in 0..<200 where !broker.services.replicas.isStopping { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertTrue(broker.services.replicas.isStopping, "the broker did not begin to stop after its only log dir failed")
        // (Reads after the error: StorageFaultTests; here the stop has already begun.)
        await broker.shutdown()
        XCTAssertFalse(fs.fileExists(dir + "/.kafka_cleanshutdown"), "no clean-shutdown marker after a storage failure")

        fs.capacityBytes = nil
        broker = try await KafkaBroker(config: config(), logger: Logger(label: "test"), logFileSystem: fs)
        XCTAssertEqual(broker.services.replicas.partition("t", 0)?.logEndOffset, acked)
        XCTAssertNil(broker.storageFailureReason)
        await broker.shutdown()
    }

    func testDamagedConsumerOffsetsSegmentStillLoadsTheGroups() async throws {
        let fs = SimulatedFileSystem()
        let props = "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(dir)\noffsets.topic.num.partitions=1\noffsets.topic.segment.bytes=1024\n"
        var broker = try await KafkaBroker(config: BrokerConfig(properties: PropertiesFile(parsing: props)), logger: Logger(label: "test"),
                                     logFileSystem: fs)
        _ = try await broker.services.controller.createTopic(name: "t", numPartitions: 1, replicationFactor: 1)
        try await broker.coordinator.start()
        for i in 0..<60 {   // simple (memberless) commits, one batch each: several segments
            let errors = await broker.coordinator.commitOffsets(groupId: "g\(i % 3)", memberId: "", groupInstanceId: nil, generationId: -1,
                                                                offsets: [OffsetCommitEntry(topic: "t", partition: 0, offset: Int64(i))])
            XCTAssertEqual(errors, [.none])
        }
        await broker.shutdown()
        let logDir = dir + "/__consumer_offsets-0"
        let segments = try fs.listDirectory(logDir).filter { $0.hasSuffix(".log") }.sorted()
        XCTAssertGreaterThan(segments.count, 2)
        // The first batch header of the first segment: batch length 7.
        let file = try fs.open(logDir + "/" + segments[0], create: false)
        var seven = ByteBuffer(); seven.writeInteger(Int32(7))
        try file.write(seven, at: 8)
        broker = try await KafkaBroker(config: BrokerConfig(properties: PropertiesFile(parsing: props)), logger: Logger(label: "test"),
                                 logFileSystem: fs)
        try await broker.coordinator.start()   // threw before: the damage made every group unavailable
        let (error, offsets) = await broker.coordinator.fetchOffsets(groupId: "g2", topics: [(topic: "t", partitions: [0])])
        XCTAssertEqual(error, .none)
        XCTAssertEqual(offsets.first?.offset, 59, "the newest commit (in an intact segment) is back")
        await broker.shutdown()
    }

    func testFailedLogDirGoesOfflineWhileTheOtherKeepsServing() async throws {
        let fs = SimulatedFileSystem()
        let props = "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(dir)/a,\(dir)/b\noffsets.topic.num.partitions=1\n"
        let broker = try await KafkaBroker(config: BrokerConfig(properties: PropertiesFile(parsing: props)), logger: Logger(label: "test"),
                                     logFileSystem: fs)
        _ = try await broker.services.controller.createTopic(name: "t", numPartitions: 2, replicationFactor: 1)
        let inA = try XCTUnwrap((0..<2).first { broker.services.replicas.partition("t", Int32($0))!.log.directory.hasPrefix(dir + "/a/") })
        let inB = 1 - inA
        try append(broker, "t", Int32(inA), ["before"])
        let failing = dir + "/a/"
        fs.writeFault = { path in path.hasPrefix(failing) ? 5 : nil }   // EIO in dir a only
        XCTAssertThrowsError(try append(broker, "t", Int32(inA), ["lost"])) { error in
            XCTAssertEqual((error as? PartitionError)?.code, 56)
            XCTAssertTrue("\(error)".contains("Input/output error"), "\(error)")
        }
        XCTAssertFalse(broker.services.replicas.isStopping, "one healthy dir left: the broker keeps serving")
        try append(broker, "t", Int32(inB), ["still fine"])
        // The failed dir's acknowledged data stays readable.
        let read = try broker.services.replicas.partition("t", Int32(inA))!.read(from: 0, maxBytes: 1 << 20, readCommitted: false, minOneBatch: true)
        XCTAssertEqual(try BrokerHarness.values(read.readBytes()).map(\.1), ["before"])
        let logDirs = try await DescribeLogDirsHandler(services: broker.services).handle(DescribeLogDirsRequest(topics: nil), context: .init(
            apiVersion: 4, correlationId: 1, clientId: nil, clientHost: "x", connectionId: 1, listenerName: "PLAINTEXT"))
        let byDir = Dictionary(uniqueKeysWithValues: (logDirs?.results ?? []).map { ($0.logDir, $0) })
        XCTAssertEqual(byDir[dir + "/a"]?.errorCode, ErrorCode.kafkaStorageError.rawValue)
        XCTAssertEqual(byDir[dir + "/b"]?.errorCode, 0)
        XCTAssertEqual(byDir[dir + "/b"]?.topics.first { $0.name == "t" }?.partitions.map(\.partitionIndex), [Int32(inB)])
        fs.writeFault = nil
        // A later SIGTERM still reports the failure (exit code 1), and marks nothing clean.
        XCTAssertNotNil(broker.storageFailureReason)
        await broker.shutdown()
        XCTAssertFalse(fs.fileExists(dir + "/a/.kafka_cleanshutdown"))
    }

    func testCleanerKeysAreAcceptedAndMissingLogDirParentsCreated() async throws {
        let keys = [
            "log.cleaner.enable=false", "log.cleaner.threads=2", "log.cleaner.io.max.bytes.per.second=1000000.0",
            "log.cleaner.dedupe.buffer.size=1048576", "log.cleaner.io.buffer.size=65536",
            "log.cleaner.io.buffer.load.factor=0.8", "log.cleaner.backoff.ms=2500", "log.cleaner.min.cleanable.ratio=0.4",
            "log.cleaner.min.compaction.lag.ms=10", "log.cleaner.max.compaction.lag.ms=1000000",
            "log.cleaner.delete.retention.ms=1000",
        ]
        let nested = dir + "/not/yet/there"
        let config = try BrokerConfig(properties: PropertiesFile(parsing: "listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=\(nested)\n"
            + keys.joined(separator: "\n") + "\n"))
        XCTAssertEqual(config.warnings, [], "every log.cleaner.* key is Kafka's")
        XCTAssertEqual(config.logCleanerBackoffMs, 2500)
        XCTAssertFalse(config.logCleanerEnable)
        // The parent of log.dirs does not exist: created, as Kafka does (was "cannot lock").
        let broker = try await KafkaBroker(config: config, logger: Logger(label: "test"), logFileSystem: SimulatedFileSystem())
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested + "/.lock"))
        await broker.shutdown()
    }

    func testCorruptBatchInOlderSegmentAnswersCorruptMessage() async throws {
        let h = try BrokerHarness(properties: "")
        defer { h.cleanup() }
        try h.createTopic("c", configs: ["segment.bytes": "1024"])
        for i in 0..<30 { _ = try await h.produce("c", try BrokerHarness.batch(["v\(i)-" + String(repeating: "z", count: 100)])) }
        let segments = try FileManager.default.contentsOfDirectory(atPath: h.dir + "/c-0").filter { $0.hasSuffix(".log") }.sorted()
        XCTAssertGreaterThan(segments.count, 2)
        // Batch length of the second batch of the second segment overwritten with 7.
        let path = h.dir + "/c-0/" + segments[1]
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let firstLength = Int(data[8]) << 24 | Int(data[9]) << 16 | Int(data[10]) << 8 | Int(data[11])
        let victim = 12 + firstLength
        let victimOffset = Int64(segments[1].dropLast(4))! + 1
        data.replaceSubrange((victim + 8)..<(victim + 12), with: [0, 0, 0, 7])
        try data.write(to: URL(fileURLWithPath: path))

        let damaged = try await h.fetch("c", offset: victimOffset)
        XCTAssertEqual(damaged?.errorCode, ErrorCode.corruptMessage.rawValue)
        XCTAssertEqual(damaged?.records?.readableBytes ?? 0, 0)
        let later = try await h.fetch("c", offset: Int64(segments[2].dropLast(4))!)
        XCTAssertEqual(later?.errorCode, 0)
        XCTAssertEqual(try BrokerHarness.values(later?.records).first?.0, Int64(segments[2].dropLast(4))!)
    }

    func testCreateTopicsThatCannotPersistMetadataAnswersStorageError() async throws {
        let h = try BrokerHarness(properties: "")
        defer { h.cleanup() }
        // The metadata image's temp file cannot be created (a directory sits in its place),
        // as on a full or failing disk.
        try FileManager.default.createDirectory(atPath: h.dir + "/samsa-metadata.json.tmp", withIntermediateDirectories: true)
        var create = CreateTopicsRequest()
        create.topics = [.init(name: "x", numPartitions: 1, replicationFactor: 1)]
        let response = try await h.send(create, version: 5)
        XCTAssertEqual(response?.topics.first?.errorCode, ErrorCode.kafkaStorageError.rawValue)
        XCTAssertTrue(response?.topics.first?.errorMessage?.contains("samsa-metadata.json") == true)
        XCTAssertNil(h.services.metadata.image.topics["x"])
        // Space again: the same request succeeds on the same connection's successor.
        try FileManager.default.removeItem(atPath: h.dir + "/samsa-metadata.json.tmp")
        let again = try await h.send(create, version: 5)
        XCTAssertEqual(again?.topics.first?.errorCode, 0)
    }
}
