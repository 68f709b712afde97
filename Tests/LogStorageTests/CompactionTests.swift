import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

final class CompactionTests: XCTestCase {
    var dir: TempDir!
    let clock = ManualLogClock()

    override func setUp() { dir = TempDir("compact") }
    override func tearDown() { dir.cleanup() }

    func compactConfig() -> LogConfig {
        var c = LogConfig()
        c.cleanupPolicy = [.compact]
        c.segmentBytes = 1500
        c.deleteRetentionMs = 10_000
        return c
    }

    func open(_ config: LogConfig, clean: Bool = false) throws -> PartitionLog {
        try PartitionLog(directory: dir.path + "/c-0", topic: "c", partition: 0, config: config, clock: clock, hadCleanShutdown: clean)
    }

    /// key -> value (nil = tombstone) as a consumer reading the whole log would see it, in order.
    func contents(_ log: PartitionLog) throws -> [(offset: Int64, key: String, value: String?)] {
        var result: [(Int64, String, String?)] = []
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            var bytes = try log.read(from: offset, maxBytes: 1 << 20).readBytes()
            guard bytes.readableBytes > 0 else { break }
            while bytes.readableBytes > 0 {
                let batch = try RecordBatch.decode(from: &bytes)
                for r in batch.records {
                    result.append((batch.offset(of: r), String(buffer: r.key!), r.value.map { String(buffer: $0) }))
                }
                offset = batch.nextOffset
            }
        }
        return result
    }

    func put(_ log: PartitionLog, _ key: String, _ value: String?) throws {
        let batch = TestBatches.batch([TestBatches.Rec(key: Array(key.utf8), value: value.map { Array($0.utf8) }, timestamp: clock.milliseconds())])
        try log.append(batch)
        clock.advance(byMilliseconds: 1)
    }

    func testKeepsLatestPerKeyAndDropsOldTombstones() throws {
        let log = try open(compactConfig())
        for round in 0..<20 {
            for k in 0..<5 { try put(log, "key\(k)", "v\(round)-\(k)-" + String(repeating: "x", count: 30)) }
        }
        try put(log, "key3", nil)                      // tombstone
        try put(log, "other", "final")
        try log.roll()
        log.highWatermark = log.logEndOffset
        let leo = log.logEndOffset
        XCTAssertGreaterThan(log.segmentCount, 3)
        let sizeBefore = log.size

        let result = try XCTUnwrap(try log.compact())
        XCTAssertEqual(result.recordsRemoved, 100 - 4)
        XCTAssertEqual(result.tombstonesRemoved, 0)
        XCTAssertLessThan(log.size, sizeBefore / 4)
        XCTAssertEqual(log.logEndOffset, leo)
        var seen = try contents(log)
        XCTAssertEqual(seen.map(\.key), ["key0", "key1", "key2", "key4", "key3", "other"])
        XCTAssertEqual(seen[0].value, "v19-0-" + String(repeating: "x", count: 30))
        XCTAssertNil(seen[4].value)
        XCTAssertEqual(seen.map(\.offset), [95, 96, 97, 99, 100, 101])
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        // Nothing new is dirty: no second pass.
        XCTAssertNil(try log.compact())

        // After delete.retention.ms the tombstone goes too; appends and reads kept working.
        clock.advance(byMilliseconds: 20_000)
        try put(log, "late", "x")
        let forced = try XCTUnwrap(try log.compact(force: true))
        XCTAssertEqual(forced.tombstonesRemoved, 1)
        seen = try contents(log)
        XCTAssertEqual(seen.map(\.key), ["key0", "key1", "key2", "key4", "other", "late"])

        // The compacted log survives a clean and an unclean reopen.
        try log.close()
        let reopened = try open(compactConfig(), clean: true)
        XCTAssertEqual(try contents(reopened).map(\.key), ["key0", "key1", "key2", "key4", "other", "late"])
        try reopened.close()
        let recovered = try open(compactConfig(), clean: false)
        XCTAssertEqual(try contents(recovered).map(\.offset), seen.map(\.offset))
        XCTAssertTrue(try recovered.verifyConsistency().isEmpty)
    }

    func testNeverCompactsActiveSegmentOrAboveHighWatermarkOrYoungRecords() throws {
        var config = compactConfig()
        config.minCompactionLagMs = 60_000
        let log = try open(config)
        for i in 0..<40 { try put(log, "k", "value-\(i)-" + String(repeating: "y", count: 40)) }
        log.highWatermark = log.logEndOffset
        XCTAssertNil(try log.compact(force: true), "records younger than min.compaction.lag.ms")
        clock.advance(byMilliseconds: 120_000)
        log.highWatermark = 0
        XCTAssertNil(try log.compact(force: true), "nothing is below the high watermark")
        log.highWatermark = log.logEndOffset
        let result = try XCTUnwrap(try log.compact(force: true))
        XCTAssertGreaterThan(result.recordsRemoved, 0)
        // The active segment's records are all still there (it is never cleaned).
        let values = try contents(log)
        XCTAssertEqual(values.last?.value, "value-39-" + String(repeating: "y", count: 40))
        XCTAssertGreaterThan(values.count, 1)
    }

    /// A crash between the commit point (`.swap` files) and the end of the swap is finished on open.
    func testInterruptedSwapIsCompletedOnOpen() throws {
        let log = try open(compactConfig())
        for i in 0..<30 { try put(log, "k\(i % 3)", "value-\(i)-" + String(repeating: "z", count: 40)) }
        try log.roll()
        log.highWatermark = log.logEndOffset
        let expectedLEO = log.logEndOffset
        _ = try XCTUnwrap(try log.compact(force: true))
        let after = try contents(log)
        try log.close()
        // Re-create the state just after the commit point: the compacted first segment as .swap,
        // stale segments next to it, and a half-written .cleaned file.
        let fm = FileManager.default
        let segDir = dir.path + "/c-0"
        let first = segDir + "/" + LogSegment.fileName(0, ".log")
        try fm.moveItem(atPath: first, toPath: first + ".swap")
        try Data(repeating: 0x55, count: 500).write(to: URL(fileURLWithPath: first))   // a stale "old" segment
        try Data(repeating: 0x66, count: 100).write(to: URL(fileURLWithPath: segDir + "/" + LogSegment.fileName(5, ".log")))
        try Data(repeating: 0x77, count: 100).write(to: URL(fileURLWithPath: segDir + "/" + LogSegment.fileName(0, ".log.cleaned")))
        let reopened = try open(compactConfig())
        XCTAssertEqual(reopened.logEndOffset, expectedLEO)
        XCTAssertEqual(try contents(reopened).map(\.offset), after.map(\.offset))
        XCTAssertFalse(try fm.contentsOfDirectory(atPath: segDir).contains { $0.hasSuffix(".swap") || $0.hasSuffix(".cleaned") })
    }

    func testLogManagerCompactsCompactedTopicsOnly() throws {
        var c = LogManagerConfig(logDirs: [dir.path + "/d"])
        c.defaultLogConfig.segmentBytes = 1000
        let manager = try LogManager(config: c, clock: clock)
        var compacted = compactConfig()
        compacted.segmentBytes = 1000
        let a = try manager.getOrCreateLog(topic: "__consumer_offsets", partition: 0, config: compacted)
        let b = try manager.getOrCreateLog(topic: "plain", partition: 0)
        for i in 0..<30 {
            try put(a, "group", "offset-\(i)-" + String(repeating: "q", count: 30))
            try put(b, "group", "offset-\(i)-" + String(repeating: "q", count: 30))
        }
        for log in [a, b] { try log.roll(); log.highWatermark = log.logEndOffset }
        let sizeB = b.size
        XCTAssertEqual(manager.compactLogs(), 1)
        XCTAssertEqual(b.size, sizeB)
        XCTAssertEqual(try contents(a).count, 1)
        try manager.shutdown()
    }

    /// A crash at every step of a compaction (building, committing, swapping) leaves a log with
    /// only valid batches, increasing offsets, and the latest value of every key.
    func testCrashAtEveryStepOfCompaction() throws {
        var config = compactConfig()
        config.segmentBytes = 600
        var steps = 0
        var completed = false
        var crashPoint = 0
        while !completed {
            let fs = SimulatedFileSystem()
            let c = ManualLogClock()
            var log = try PartitionLog(directory: "/d/c-0", topic: "c", partition: 0, config: config, fileSystem: fs, clock: c)
            var latest: [String: String] = [:]
            for i in 0..<60 {
                let key = "k\(i % 4)", value = "v\(i)-" + String(repeating: "w", count: 20)
                try log.append(TestBatches.batch([TestBatches.Rec(key: Array(key.utf8), value: Array(value.utf8), timestamp: c.milliseconds())]))
                latest[key] = value
            }
            try log.roll()
            log.highWatermark = log.logEndOffset
            let leo = log.logEndOffset
            try log.flush()
            fs.operationsUntilFailure = crashPoint
            do { completed = try log.compact(force: true) != nil && fs.operationsUntilFailure! > 0 } catch { completed = false }
            fs.operationsUntilFailure = nil
            var rng = SeededRandom(seed: UInt64(crashPoint))
            fs.powerLoss(&rng)
            log = try PartitionLog(directory: "/d/c-0", topic: "c", partition: 0, config: config, fileSystem: fs, clock: c)
            XCTAssertEqual(try log.verifyConsistency(), [], "crash point \(crashPoint)")
            XCTAssertEqual(log.logEndOffset, leo, "crash point \(crashPoint)")
            var seen: [String: String] = [:]
            var lastOffset: Int64 = -1
            for (offset, key, value) in try contents(log) {
                XCTAssertGreaterThan(offset, lastOffset, "crash point \(crashPoint)")
                lastOffset = offset
                seen[key] = value
            }
            XCTAssertEqual(seen, latest, "crash point \(crashPoint)")
            crashPoint += 1
            steps += 1
            XCTAssertLessThan(steps, 500, "compaction never completed")
            if steps >= 500 { break }
        }
        XCTAssertGreaterThan(steps, 5)
    }

    // MARK: Issue 9 item 4: empty batches must not pile up

    /// Every batch header of the log, oldest first (empty batches included).
    func allBatches(_ log: PartitionLog) throws -> [RecordBatchHeader] {
        var headers: [RecordBatchHeader] = []
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            let bytes = try log.read(from: offset, maxBytes: 1 << 20).readBytes()
            guard bytes.readableBytes > 0 else { break }
            for h in try TestBatches.headers(bytes) where h.lastOffset >= offset { headers.append(h) }
            offset = headers.last!.nextOffset
        }
        return headers
    }

    func put(_ log: PartitionLog, _ key: String, _ value: String?, producerId: Int64) throws {
        let batch = TestBatches.batch([TestBatches.Rec(key: Array(key.utf8), value: value.map { Array($0.utf8) }, timestamp: clock.milliseconds())],
                                      producerId: producerId)
        try log.append(batch)
        clock.advance(byMilliseconds: 1)
    }

    /// A compacted topic cleaned after every round of updates (the shape of `__consumer_offsets`
    /// or a changelog topic) stays as small as its live keys: no empty batches accumulate, the
    /// small cleaned segments are merged, and every key's latest value is still readable.
    /// Before the fix every pass kept the last emptied batch of each segment group and copied
    /// every earlier empty batch again, so the log grew by a batch or more per pass forever.
    func testManyCleaningsKeepTheLogSmall() throws {
        var config = compactConfig()
        config.segmentBytes = 600                      // ~8 batches: segments roll while keys are rewritten
        let log = try open(config)
        var latest: [String: String] = [:]
        for round in 0..<60 {
            for k in 0..<10 {
                let value = "r\(round)-k\(k)"
                try put(log, "key\(k)", value)
                latest["key\(k)"] = value
            }
            // Cleaned while newer values of the same keys sit in the dirty, active segment: the
            // last cleaned batches lose their records every time.
            log.highWatermark = log.logEndOffset
            _ = try log.compact(force: true)
        }
        let batches = try allBatches(log)
        let empty = batches.filter { $0.recordCount == 0 }.count
        XCTAssertLessThanOrEqual(empty, log.segmentCount, "at most one empty batch (a group's end) per segment")
        XCTAssertLessThanOrEqual(batches.count, 30, "10 live keys, the uncleaned tail, and group ends")
        XCTAssertLessThanOrEqual(log.segmentCount, 6, "cleaned segments are merged up to segment.bytes")
        var seen: [String: String] = [:]
        for (_, key, value) in try contents(log) { seen[key] = value }
        XCTAssertEqual(seen, latest)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
    }

    /// With idempotent producers, only the last batch of each *active* producer id (in the whole
    /// log) is kept when it loses its records, as Kafka's cleaner does (RETAIN_EMPTY); once the
    /// producer expired (producer.id.expiration.ms) that batch goes too.
    func testOnlyTheLastBatchOfAnActiveProducerSurvivesEmpty() throws {
        var config = compactConfig()
        config.segmentBytes = 4000
        let log = try open(config)
        var latest: [String: String] = [:]
        let expiration: Int64 = 10_000
        for round in 0..<40 {
            let producer = Int64(1000 + round)       // one short-lived producer per round
            for k in 0..<10 {
                let value = "r\(round)-k\(k)"
                try put(log, "key\(k)", value, producerId: producer)
                latest["key\(k)"] = value
            }
            try log.roll()
            log.highWatermark = log.logEndOffset
            clock.advance(byMilliseconds: 3_000)
            _ = try log.compact(force: true, producerIdExpirationMs: expiration)
        }
        let batches = try allBatches(log)
        let empty = batches.filter { $0.recordCount == 0 }
        // Producers of the last ~3 rounds are active; each keeps at most its own last batch (plus
        // the end of the cleaned group).
        XCTAssertLessThanOrEqual(empty.count, 5, "\(empty.map(\.producerId))")
        XCTAssertEqual(Set(empty.map(\.producerId)).count, empty.count, "one empty batch per producer at most")
        for h in empty { XCTAssertGreaterThanOrEqual(h.producerId, 1000 + 40 - 5) }
        XCTAssertLessThanOrEqual(log.segmentCount, 4)
        var seen: [String: String] = [:]
        for (_, key, value) in try contents(log) { seen[key] = value }
        XCTAssertEqual(seen, latest)

        // The last batch of a producer that is still active keeps its producer state: its
        // header (producer id and last offset) is still in the log even though its record lost
        // to a newer value of the same key.
        let lastOfNewest = batches.last { $0.producerId == 1000 + 39 }
        XCTAssertNotNil(lastOfNewest)
    }

    /// A consumer read that starts in a run of record-less batches at the end of a segment gets
    /// the next segment's records instead (librdkafka counts an answer of only empty batches as
    /// "fetch size too small" and ends up reporting MSG_SIZE_TOO_LARGE); followers and the
    /// producer-state rebuild still see the empty batch.
    func testConsumerReadSkipsASegmentTailOfEmptyBatches() throws {
        var config = compactConfig()
        config.segmentBytes = 100                      // no merging: one batch per segment
        let log = try open(config)
        try put(log, "a", "first", producerId: 7)      // producer 7's only (and so last) batch
        try log.roll()
        try put(log, "a", "second")
        try put(log, "b", "x")
        try log.roll()
        log.highWatermark = log.logEndOffset
        _ = try XCTUnwrap(try log.compact(force: true))
        let headers = try allBatches(log)
        XCTAssertEqual(headers.first?.producerId, 7)
        XCTAssertEqual(headers.first?.recordCount, 0, "producer 7's batch is kept, empty, for its sequence")

        let plain = try TestBatches.headers(try log.read(from: 0, maxBytes: 1 << 20, maxOffset: log.highWatermark).readBytes())
        XCTAssertEqual(plain.map(\.recordCount), [0], "without skipping: the empty batch alone")
        let consumer = try TestBatches.headers(try log.read(from: 0, maxBytes: 1 << 20, maxOffset: log.highWatermark,
                                                            skipRecordlessBatches: true).readBytes())
        XCTAssertEqual(consumer.first?.baseOffset, 1)
        XCTAssertGreaterThan(consumer.first?.recordCount ?? 0, 0)
        // Nothing with records below the limit: the empty batch is answered, so the consumer moves on.
        let limited = try TestBatches.headers(try log.read(from: 0, maxBytes: 1 << 20, maxOffset: 1,
                                                           skipRecordlessBatches: true).readBytes())
        XCTAssertEqual(limited.map(\.recordCount), [0])
    }
}
