import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

final class LogManagerTests: XCTestCase {
    var dir: TempDir!
    let clock = ManualLogClock()

    override func setUp() { dir = TempDir("lm") }
    override func tearDown() { dir.cleanup() }

    func config(dirs: Int = 2) -> LogManagerConfig {
        LogManagerConfig(logDirs: (0..<dirs).map { dir.path + "/d\($0)" })
    }

    func testCreatesSpreadsAcrossDirsAndReopensCleanly() throws {
        var manager = try LogManager(config: config(), clock: clock)
        for p in 0..<4 {
            let log = try manager.getOrCreateLog(topic: "orders.v1-x", partition: Int32(p))
            try log.append(TestBatches.simple(count: p + 1))
            log.highWatermark = log.logEndOffset
        }
        XCTAssertEqual(Set(manager.topicPartitions.map(\.partition)), [0, 1, 2, 3])
        let sizes = manager.logDirSizes()
        XCTAssertEqual(sizes.count, 2)
        XCTAssertTrue(sizes.values.allSatisfy { $0 > 0 }, "\(sizes)")
        XCTAssertEqual(manager.partitionSizes().count, 4)
        XCTAssertThrowsError(try manager.getOrCreateLog(topic: "../evil", partition: 0)) { error in
            XCTAssertEqual((error as? LogStorageError)?.kafkaErrorCode, 17)
        }
        try manager.shutdown()
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/d0/.kafka_cleanshutdown"))
        let checkpoint = try String(contentsOfFile: dir.path + "/d0/recovery-point-offset-checkpoint", encoding: .utf8)
        XCTAssertTrue(checkpoint.hasPrefix("0\n2\norders.v1-x "), checkpoint)

        manager = try LogManager(config: config(), clock: clock)
        XCTAssertEqual(manager.startupSummary.partitions, 4)
        XCTAssertEqual(manager.startupSummary.recoveredPartitions, 0)
        XCTAssertEqual(manager.startupSummary.cleanDirectories.count, 2)
        // The marker is gone once loaded, so a crash from now on recovers.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/d0/.kafka_cleanshutdown"))
        for p in 0..<4 {
            let log = try XCTUnwrap(manager.log(topic: "orders.v1-x", partition: Int32(p)))
            XCTAssertEqual(log.logEndOffset, Int64(p + 1))
            XCTAssertEqual(log.highWatermark, Int64(p + 1))
        }
        try manager.shutdown()
    }

    func testUncleanStartRecoversAndDeleteLogRemovesFiles() throws {
        var manager = try LogManager(config: config(dirs: 1), clock: clock)
        let log = try manager.getOrCreateLog(topic: "t", partition: 0)
        try log.append(TestBatches.simple(count: 5))
        manager.writeCheckpoints()
        // DeleteRecords is checkpointed at once, so a crash cannot bring the records back.
        log.highWatermark = 5
        XCTAssertEqual(try log.deleteRecords(before: 3), 3)
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/d0/log-start-offset-checkpoint", encoding: .utf8), "0\n1\nt 0 3\n")
        // No shutdown: as if the process died.
        manager = try LogManager(config: config(dirs: 1), clock: clock)
        XCTAssertEqual(manager.startupSummary.recoveredPartitions, 1)
        XCTAssertEqual(manager.log(topic: "t", partition: 0)?.logEndOffset, 5)
        XCTAssertEqual(manager.log(topic: "t", partition: 0)?.logStartOffset, 3)
        XCTAssertTrue(try manager.deleteLog(topic: "t", partition: 0))
        XCTAssertFalse(try manager.deleteLog(topic: "t", partition: 0))
        XCTAssertNil(manager.log(topic: "t", partition: 0))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/d0").filter { $0.hasPrefix("t-") }, [])
        // A deletion interrupted after the rename is finished at startup.
        try FileManager.default.createDirectory(atPath: dir.path + "/d0/u-0.123-delete", withIntermediateDirectories: true)
        try manager.shutdown()
        manager = try LogManager(config: config(dirs: 1), clock: clock)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/d0/u-0.123-delete"))
        XCTAssertEqual(manager.topicPartitions, [])
        try manager.shutdown()
    }

    func testBackgroundTasksRunOnTheInjectedScheduler() throws {
        var c = config(dirs: 1)
        c.defaultLogConfig.retentionMs = 1000
        c.defaultLogConfig.segmentBytes = 300
        c.defaultLogConfig.flushMs = 50
        c.retentionCheckIntervalMs = 500
        let manager = try LogManager(config: c, clock: clock)
        let scheduler = ManualLogScheduler(clock: clock)
        manager.startBackgroundTasks(scheduler: scheduler)
        XCTAssertEqual(Set(scheduler.taskNames), ["flush", "retention", "recovery-point-checkpoint", "log-start-offset-checkpoint",
                                                  "high-watermark-checkpoint", "cleaner"])
        let log = try manager.getOrCreateLog(topic: "t", partition: 0)
        for _ in 0..<6 { try log.append(TestBatches.simple(count: 1, valueSize: 100, timestamp: clock.milliseconds())) }
        log.highWatermark = log.logEndOffset
        XCTAssertLessThan(log.recoveryPoint, log.logEndOffset)
        clock.advance(byMilliseconds: 1000)
        XCTAssertTrue(scheduler.runDue().contains("flush"))
        XCTAssertEqual(log.recoveryPoint, log.logEndOffset)
        clock.advance(byMilliseconds: 5000)
        XCTAssertTrue(scheduler.runDue().contains("retention"))
        XCTAssertGreaterThan(log.logStartOffset, 0)
        let hw = try String(contentsOfFile: dir.path + "/d0/replication-offset-checkpoint", encoding: .utf8)
        XCTAssertEqual(hw, "0\n1\nt 0 6\n")
        try manager.shutdown()
    }

    func testParsesBrokerProperties() throws {
        let c = try LogManagerConfig(brokerProperties: [
            "log.dirs": "/a, /b", "log.retention.hours": "1", "log.segment.bytes": "1048576",
            "log.cleanup.policy": "compact,delete", "log.retention.check.interval.ms": "1000",
        ])
        XCTAssertEqual(c.logDirs, ["/a", "/b"])
        XCTAssertEqual(c.defaultLogConfig.retentionMs, 3_600_000)
        XCTAssertEqual(c.defaultLogConfig.segmentBytes, 1_048_576)
        XCTAssertEqual(c.defaultLogConfig.cleanupPolicy, [.compact, .delete])
        XCTAssertEqual(c.retentionCheckIntervalMs, 1000)
        XCTAssertThrowsError(try LogConfig(topicConfigs: ["segment.bytes": "ten"]))
        XCTAssertThrowsError(try LogConfig(topicConfigs: ["cleanup.policy": "shred"]))
        XCTAssertThrowsError(try LogConfig(topicConfigs: ["message.timestamp.type": "Now"]))
        let topic = try LogConfig(topicConfigs: ["retention.ms": "-1", "min.insync.replicas": "2"], defaults: c.defaultLogConfig)
        XCTAssertEqual(topic.retentionMs, -1)
        XCTAssertEqual(topic.segmentBytes, 1_048_576)
        XCTAssertEqual(LogConfig().topicConfigs["max.message.bytes"], "1048588")
    }

    /// 10,000 partitions open in parallel (measured; the figure goes to BENCHMARKS.md). Kept at
    /// 300 by default so the suite stays fast; SAMSA_OPEN_PARTITIONS=10000 for the full run.
    func testOpensThousandsOfPartitionsInParallel() throws {
        let count = ProcessInfo.processInfo.environment["SAMSA_OPEN_PARTITIONS"].flatMap(Int.init) ?? 300
        // Each open log holds one descriptor (its active segment): release one manager before
        // opening the next, or two generations of 10,000 logs exceed the descriptor limit.
        var manager: LogManager? = try LogManager(config: config(dirs: 2), clock: clock)
        for p in 0..<count {
            let log = try manager!.getOrCreateLog(topic: "many", partition: Int32(p))
            try log.append(TestBatches.simple(count: 2))
        }
        try manager!.shutdown()
        manager = nil
        manager = try LogManager(config: config(dirs: 2), clock: clock)
        print("opened \(count) partitions after a clean shutdown in \(manager!.startupSummary.durationMs) ms")
        XCTAssertEqual(manager!.startupSummary.partitions, count)
        XCTAssertEqual(manager!.log(topic: "many", partition: Int32(count - 1))?.logEndOffset, 2)
        // Dropped without shutdown (a crash): the next start re-validates every partition.
        manager = nil
        manager = try LogManager(config: config(dirs: 2), clock: clock)
        print("opened \(count) partitions after an unclean shutdown (full recovery) in \(manager!.startupSummary.durationMs) ms")
        XCTAssertEqual(manager!.startupSummary.recoveredPartitions, count)
        try manager!.shutdown()
    }
}
