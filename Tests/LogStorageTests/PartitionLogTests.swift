import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

final class PartitionLogTests: XCTestCase {
    var dir: TempDir!
    let clock = ManualLogClock()

    override func setUp() { dir = TempDir("plog") }
    override func tearDown() { dir.cleanup() }

    func open(_ config: LogConfig = LogConfig(), clean: Bool = false, recoveryPoint: Int64 = 0) throws -> PartitionLog {
        try PartitionLog(directory: dir.path + "/t-0", topic: "t", partition: 0, config: config,
                         clock: clock, hadCleanShutdown: clean, recoveryPoint: recoveryPoint)
    }

    func readAll(_ log: PartitionLog, from: Int64 = 0) throws -> [RecordBatchHeader] {
        var offset = from
        var all: [RecordBatchHeader] = []
        while offset < log.logEndOffset {
            let result = try log.read(from: offset, maxBytes: 100_000)
            let bytes = try result.readBytes()
            let headers = try TestBatches.headers(bytes)
            XCTAssertFalse(headers.isEmpty, "read at \(offset) returned nothing")
            if headers.isEmpty { break }
            all += headers
            offset = headers.last!.nextOffset
        }
        return all
    }

    func testAppendAssignsOffsetsAndStampsEpoch() throws {
        let log = try open()
        var two = TestBatches.simple(count: 3)
        var second = TestBatches.simple(count: 2, seed: 9)
        two.writeBuffer(&second)
        let info = try log.append(two, leaderEpoch: 4)
        XCTAssertEqual(info.firstOffset, 0)
        XCTAssertEqual(info.lastOffset, 4)
        XCTAssertEqual(info.recordCount, 5)
        XCTAssertEqual(info.batchCount, 2)
        XCTAssertEqual(info.logAppendTime, -1)
        let info2 = try log.append(TestBatches.simple(count: 1), leaderEpoch: 5)
        XCTAssertEqual(info2.firstOffset, 5)
        XCTAssertEqual(log.logEndOffset, 6)
        let headers = try readAll(log)
        XCTAssertEqual(headers.map(\.baseOffset), [0, 3, 5])
        XCTAssertEqual(headers.map(\.partitionLeaderEpoch), [4, 4, 5])
        XCTAssertEqual(log.leaderEpochEntries, [EpochEntry(epoch: 4, startOffset: 0), EpochEntry(epoch: 5, startOffset: 5)])
    }

    func testRejectsCorruptBatchAndWritesNothing() throws {
        let log = try open()
        var good = TestBatches.simple(count: 2)
        var bad = TestBatches.simple(count: 2)
        bad.setInteger(UInt8(0xff), at: bad.writerIndex - 1)
        good.writeBuffer(&bad)
        XCTAssertThrowsError(try log.append(good)) { error in
            guard case LogStorageError.corruptRecord = error else { return XCTFail("\(error)") }
            XCTAssertEqual((error as! LogStorageError).kafkaErrorCode, 2)
        }
        XCTAssertEqual(log.logEndOffset, 0)
        XCTAssertEqual(log.size, 0)

        var sparse = TestBatches.simple(count: 2)
        sparse.setInteger(Int32(5), at: 23) // lastOffsetDelta 5 with 2 records
        let crc = CRC32C.checksum(sparse, at: 21, length: sparse.readableBytes - 21)!
        sparse.setInteger(crc, at: 17)
        XCTAssertThrowsError(try log.append(sparse)) { error in
            guard case LogStorageError.invalidRecord = error else { return XCTFail("\(error)") }
        }
        var truncated = TestBatches.simple(count: 2)
        truncated.moveWriterIndex(to: truncated.writerIndex - 3)
        XCTAssertThrowsError(try log.append(truncated))

        var config = LogConfig(); config.maxMessageBytes = 100
        log.updateConfig(config)
        XCTAssertThrowsError(try log.append(TestBatches.simple(count: 10))) { error in
            XCTAssertEqual((error as! LogStorageError).kafkaErrorCode, 10)
        }
    }

    func testReplicatedAppendKeepsOffsetsAndRejectsGoingBack() throws {
        let log = try open()
        try log.append(TestBatches.simple(count: 3, baseOffset: 10).withEpoch(2), assignOffsets: false)
        XCTAssertEqual(log.logEndOffset, 13)
        XCTAssertEqual(log.leaderEpochEntries, [EpochEntry(epoch: 2, startOffset: 10)])
        XCTAssertThrowsError(try log.append(TestBatches.simple(count: 1, baseOffset: 12), assignOffsets: false)) { error in
            XCTAssertEqual(error as? LogStorageError, .unexpectedAppendOffset(expectedAtLeast: 13, got: 12))
        }
        try log.append(TestBatches.simple(count: 1, baseOffset: 20).withEpoch(3), assignOffsets: false)
        XCTAssertEqual(log.logEndOffset, 21)
        XCTAssertEqual(log.endOffset(forEpoch: 2).endOffset, 20)
        XCTAssertEqual(log.endOffset(forEpoch: 3).endOffset, 21)
    }

    func testRollsOnSegmentBytesAndReadsAcrossSegments() throws {
        var config = LogConfig()
        config.segmentBytes = 1024
        config.indexIntervalBytes = 100
        let log = try open(config)
        for i in 0..<50 { try log.append(TestBatches.simple(count: 2, valueSize: 50, seed: UInt8(i))) }
        XCTAssertGreaterThan(log.segmentCount, 5)
        XCTAssertEqual(log.logEndOffset, 100)
        let headers = try readAll(log)
        XCTAssertEqual(headers.count, 50)
        XCTAssertEqual(headers.map(\.baseOffset), (0..<50).map { Int64($0 * 2) })
        // Reading from the middle of a batch returns that whole batch.
        let mid = try TestBatches.headers(try log.read(from: 41, maxBytes: 1).readBytes())
        XCTAssertEqual(mid.map(\.baseOffset), [40])
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        // The files are named by 20-digit base offsets.
        let names = try POSIXFileSystem().listDirectory(dir.path + "/t-0").sorted()
        XCTAssertTrue(names.contains("00000000000000000000.log"))
        XCTAssertTrue(names.contains(LogSegment.fileName(log.segmentBaseOffsets[1], ".log")))
    }

    func testRollsOnSegmentMsAndFullIndex() throws {
        var config = LogConfig()
        config.segmentMs = 1000
        let log = try open(config)
        try log.append(TestBatches.simple(count: 1, timestamp: 10_000))
        try log.append(TestBatches.simple(count: 1, timestamp: 10_500))
        XCTAssertEqual(log.segmentCount, 1)
        // The first batch's timestamp starts the segment's clock; a batch 1 s later rolls.
        try log.append(TestBatches.simple(count: 1, timestamp: 11_001))
        XCTAssertEqual(log.segmentBaseOffsets, [0, 2])
        XCTAssertEqual(log.recoveryPoint, 2, "a roll fsyncs the old segment")

        var small = LogConfig()
        small.indexIntervalBytes = 0
        small.segmentIndexBytes = 8 * 3   // three offset-index entries
        log.updateConfig(small)
        for _ in 0..<10 { try log.append(TestBatches.simple(count: 1, timestamp: 11_001)) }
        XCTAssertGreaterThan(log.segmentCount, 3)
        XCTAssertEqual(try log.verifyConsistency(), [])
    }

    func testReadLimits() throws {
        let log = try open()
        for _ in 0..<10 { try log.append(TestBatches.simple(count: 1, valueSize: 100)) }
        let batchSize = try log.read(from: 0, maxBytes: 1).length
        XCTAssertGreaterThan(batchSize, 100)
        XCTAssertEqual(try log.read(from: 0, maxBytes: batchSize * 3 + 5).length, batchSize * 3)
        XCTAssertEqual(try log.read(from: 0, maxBytes: 10, minOneBatch: false).length, 0)
        XCTAssertNil(try log.read(from: 0, maxBytes: 10, minOneBatch: false).slice)
        // The high watermark limits consumers.
        XCTAssertEqual(try log.read(from: 2, maxBytes: 100_000, maxOffset: 5).length, batchSize * 3)
        XCTAssertEqual(try log.read(from: 5, maxBytes: 100_000, maxOffset: 5).length, 0)
        XCTAssertEqual(try log.read(from: 10, maxBytes: 100_000).length, 0)
        XCTAssertThrowsError(try log.read(from: 11, maxBytes: 10)) { error in
            XCTAssertEqual(error as? LogStorageError, .offsetOutOfRange(offset: 11, logStartOffset: 0, logEndOffset: 10))
        }
        let slice = try log.read(from: 3, maxBytes: 1).slice!
        XCTAssertEqual(slice.firstBatchBaseOffset, 3)
        XCTAssertEqual(slice.position, Int64(batchSize * 3))
        let fd = try XCTUnwrap(slice.duplicateFileDescriptor())
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
    }

    func testHighWatermarkIsClamped() throws {
        let log = try open()
        try log.append(TestBatches.simple(count: 5))
        log.highWatermark = 100
        XCTAssertEqual(log.highWatermark, 5)
        log.highWatermark = -3
        XCTAssertEqual(log.highWatermark, 0)
        XCTAssertEqual(log.updateHighWatermark(3), 3)
    }

    func testCleanReopenKeepsEverythingAndIndexes() throws {
        var config = LogConfig()
        config.segmentBytes = 2000
        config.indexIntervalBytes = 150
        var log = try open(config)
        for i in 0..<40 { try log.append(TestBatches.simple(count: 3, valueSize: 30, timestamp: 1000 + Int64(i) * 10, seed: UInt8(i)), leaderEpoch: Int32(i / 10)) }
        let before = try readAll(log)
        try log.close()
        XCTAssertThrowsError(try log.append(TestBatches.simple(count: 1))) { XCTAssertEqual($0 as? LogStorageError, .closed) }
        log = try open(config, clean: true)
        XCTAssertFalse(log.recoverySummary.recovered)
        XCTAssertEqual(log.logEndOffset, 120)
        XCTAssertEqual(try readAll(log), before)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        XCTAssertEqual(log.leaderEpochEntries.map(\.epoch), [0, 1, 2, 3])
        try log.append(TestBatches.simple(count: 1))
        XCTAssertEqual(log.logEndOffset, 121)
    }

    func testRecoveryCutsTornTailAndRebuildsIndexes() throws {
        var config = LogConfig()
        config.indexIntervalBytes = 100
        var log = try open(config)
        for i in 0..<20 { try log.append(TestBatches.simple(count: 2, valueSize: 40, seed: UInt8(i)), leaderEpoch: 1) }
        try log.flush()
        XCTAssertEqual(log.recoveryPoint, 40)
        for i in 0..<5 { try log.append(TestBatches.simple(count: 2, valueSize: 40, seed: UInt8(i)), leaderEpoch: 2) }
        let segmentPath = dir.path + "/t-0/00000000000000000000.log"
        let fullSize = log.size
        try log.close()
        // Tear the last batch, and corrupt the one before it.
        let fs = POSIXFileSystem()
        let file = try fs.open(segmentPath, create: false)
        try file.truncate(to: fullSize - 7)
        let batchSize = fullSize / 25
        try file.write(ByteBuffer(bytes: [0xde, 0xad]), at: fullSize - 2 * batchSize + 70)
        try fs.removeFile(dir.path + "/t-0/00000000000000000000.index")

        log = try open(config, recoveryPoint: 0)
        XCTAssertTrue(log.recoverySummary.recovered)
        XCTAssertEqual(log.logEndOffset, 46)
        XCTAssertEqual(log.recoverySummary.truncatedBytes, 2 * batchSize - 7)
        XCTAssertNotNil(log.recoverySummary.reason)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        XCTAssertEqual(try readAll(log).count, 23)
        XCTAssertEqual(log.leaderEpochEntries, [EpochEntry(epoch: 1, startOffset: 0), EpochEntry(epoch: 2, startOffset: 40)])
        XCTAssertEqual(log.recoveryPoint, 0, "re-validated data is not fsynced, so it stays past the recovery point")
    }

    func testRecoveryDeletesSegmentsAfterCorruption() throws {
        var config = LogConfig()
        config.segmentBytes = 600
        var log = try open(config)
        for i in 0..<30 { try log.append(TestBatches.simple(count: 1, valueSize: 100, seed: UInt8(i))) }
        let bases = log.segmentBaseOffsets
        XCTAssertGreaterThan(bases.count, 4)
        try log.close()
        // Garbage in the middle of the second segment.
        let victim = dir.path + "/t-0/" + LogSegment.fileName(bases[1], ".log")
        try POSIXFileSystem().open(victim, create: false).write(ByteBuffer(repeating: 0x41, count: 200), at: 200)
        log = try open(config, recoveryPoint: 0)
        XCTAssertEqual(log.segmentBaseOffsets, Array(bases[0...1]))
        XCTAssertEqual(log.recoverySummary.segmentsDeleted, bases.count - 2)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        XCTAssertEqual(try readAll(log).count, Int(log.logEndOffset))
    }

    func testTruncateTo() throws {
        var config = LogConfig()
        config.segmentBytes = 500
        config.indexIntervalBytes = 50
        let log = try open(config)
        for i in 0..<20 { try log.append(TestBatches.simple(count: 2, valueSize: 40, seed: UInt8(i)), leaderEpoch: Int32(i / 5)) }
        log.highWatermark = 40
        try log.truncate(to: 25) // mid-batch: the batch 24-25 goes too
        XCTAssertEqual(log.logEndOffset, 24)
        XCTAssertEqual(log.highWatermark, 24)
        XCTAssertEqual(log.leaderEpochEntries.map(\.epoch), [0, 1, 2])
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
        try log.append(TestBatches.simple(count: 1), leaderEpoch: 7)
        XCTAssertEqual(log.logEndOffset, 25)
        try log.truncateFullyAndStart(at: 100)
        XCTAssertEqual(log.logStartOffset, 100)
        XCTAssertEqual(log.logEndOffset, 100)
        XCTAssertEqual(log.segmentBaseOffsets, [100])
        try log.append(TestBatches.simple(count: 1))
        XCTAssertEqual(try readAll(log, from: 100).map(\.baseOffset), [100])
    }

    /// A broker that led in an epoch but lost leadership before writing keeps an epoch entry at
    /// its LEO; truncating to the LEO (what DivergingEpoch asks for then) must drop it, or the
    /// follower's LastFetchedEpoch keeps diverging and it never catches up (Kafka's truncateTo).
    func testTruncateToTheEndDropsAnEpochWithoutBatches() throws {
        let log = try open(LogConfig())
        try log.append(TestBatches.simple(count: 2), leaderEpoch: 3)
        try log.assignEpochStartOffset(epoch: 4)
        XCTAssertEqual(log.latestEpoch, 4)
        try log.truncate(to: 2)
        XCTAssertEqual(log.logEndOffset, 2)
        XCTAssertEqual(log.latestEpoch, 3)
        XCTAssertEqual(log.leaderEpochEntries.map(\.epoch), [3])
    }

    func testOffsetForTimestampAndMax() throws {
        var config = LogConfig()
        config.segmentBytes = 700
        config.indexIntervalBytes = 60
        let log = try open(config)
        for i in 0..<30 { try log.append(TestBatches.simple(count: 2, valueSize: 30, timestamp: 10_000 + Int64(i) * 100)) }
        // Batch i holds timestamps 10000 + 100 i and +1.
        XCTAssertEqual(try log.offsetForTimestamp(0)?.offset, 0)
        XCTAssertEqual(try log.offsetForTimestamp(10_001)?.offset, 1)
        XCTAssertEqual(try log.offsetForTimestamp(10_001)?.timestamp, 10_001)
        XCTAssertEqual(try log.offsetForTimestamp(10_002)?.offset, 2)
        XCTAssertEqual(try log.offsetForTimestamp(12_050)?.offset, 42)
        XCTAssertEqual(try log.offsetForTimestamp(12_050)?.timestamp, 12_100)
        // Record precision: the second record of batch 21 (offsets 42, 43; 12,100 and 12,101).
        XCTAssertEqual(try log.offsetForTimestamp(12_101)?.offset, 43)
        XCTAssertNil(try log.offsetForTimestamp(20_000))
        let max = try XCTUnwrap(try log.maxTimestampAndOffset())
        XCTAssertEqual(max.timestamp, 12_901)
        XCTAssertEqual(max.offset, 59)
        // The record with the largest timestamp need not be the last of its batch.
        try log.append(TestBatches.batch([TestBatches.Rec(key: nil, value: [1], timestamp: 20_000),
                                          TestBatches.Rec(key: nil, value: [2], timestamp: 19_000)]), leaderEpoch: 3)
        XCTAssertEqual(try log.maxTimestampAndOffset(), TimestampAndOffset(timestamp: 20_000, offset: 60, leaderEpoch: 3))
    }

    func testLogAppendTimeRewritesTimestampAndCRC() throws {
        var config = LogConfig()
        config.timestampType = .logAppendTime
        let log = try open(config)
        clock.set(milliseconds: 1_234_567)
        let info = try log.append(TestBatches.simple(count: 3, timestamp: 5))
        XCTAssertEqual(info.logAppendTime, 1_234_567)
        let h = try TestBatches.headers(try log.read(from: 0, maxBytes: 10_000).readBytes())
        XCTAssertEqual(h[0].maxTimestamp, 1_234_567)
        XCTAssertTrue(h[0].isLogAppendTime)
    }

    func testRetentionByTimeAndSizeAndDeleteRecords() throws {
        var config = LogConfig()
        config.segmentBytes = 400
        config.retentionMs = 10_000
        config.fileDeleteDelayMs = 1000
        let log = try open(config)
        for i in 0..<20 {
            try log.append(TestBatches.simple(count: 1, valueSize: 100, timestamp: clock.milliseconds(), seed: UInt8(i)))
            clock.advance(byMilliseconds: 1000)
        }
        let segmentsBefore = log.segmentCount
        XCTAssertGreaterThan(segmentsBefore, 5)
        // Nothing is deleted above the high watermark.
        XCTAssertEqual(try log.applyRetention(), 0)
        log.highWatermark = log.logEndOffset
        let deleted = try log.applyRetention()
        XCTAssertGreaterThan(deleted, 0)
        XCTAssertEqual(log.logStartOffset, log.segmentBaseOffsets[0])
        XCTAssertGreaterThan(log.logStartOffset, 0)
        // Every remaining segment but the last has a record newer than retention.ms.
        let files = try POSIXFileSystem().listDirectory(dir.path + "/t-0")
        XCTAssertTrue(files.contains { $0.hasSuffix(".deleted") })
        clock.advance(byMilliseconds: 1001)
        XCTAssertGreaterThan(log.removeExpiredDeletedFiles(), 0)
        XCTAssertFalse(try POSIXFileSystem().listDirectory(dir.path + "/t-0").contains { $0.hasSuffix(".deleted") })
        XCTAssertThrowsError(try log.read(from: 0, maxBytes: 100)) { error in
            XCTAssertEqual((error as! LogStorageError).kafkaErrorCode, 1)
        }

        // retention.bytes keeps the log under the limit, whole segments at a time.
        config.retentionMs = -1
        config.retentionBytes = 500
        log.updateConfig(config)
        try log.applyRetention()
        XCTAssertLessThanOrEqual(log.size, 500 + 400)
        XCTAssertGreaterThan(log.size, 0)

        // DeleteRecords moves the start offset, not past the high watermark.
        let target = log.logEndOffset - 1
        XCTAssertEqual(try log.deleteRecords(before: target), target)
        XCTAssertEqual(log.logStartOffset, target)
        XCTAssertThrowsError(try log.deleteRecords(before: log.logEndOffset + 1))
        let r = try log.read(from: target, maxBytes: 1000)
        XCTAssertEqual(try TestBatches.headers(try r.readBytes()).last?.lastOffset, target)
        XCTAssertEqual(r.logStartOffset, target)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
    }

    func testRetentionCanEmptyTheLogAndKeepsLEO() throws {
        var config = LogConfig()
        config.retentionMs = 100
        let log = try open(config)
        try log.append(TestBatches.simple(count: 4, timestamp: clock.milliseconds()))
        log.highWatermark = 4
        clock.advance(byMilliseconds: 1000)
        XCTAssertEqual(try log.applyRetention(), 1)
        XCTAssertEqual(log.logStartOffset, 4)
        XCTAssertEqual(log.logEndOffset, 4)
        XCTAssertEqual(try log.read(from: 4, maxBytes: 100).length, 0)
        try log.append(TestBatches.simple(count: 1))
        XCTAssertEqual(log.logEndOffset, 5)
    }

    func testSlicesSurviveSegmentDeletion() throws {
        var config = LogConfig()
        config.fileDeleteDelayMs = 0
        config.segmentBytes = 300
        let log = try open(config)
        for _ in 0..<6 { try log.append(TestBatches.simple(count: 1, valueSize: 100)) }
        let slice = try log.read(from: 0, maxBytes: 10_000).slice!
        log.highWatermark = 6
        try log.deleteRecords(before: 6)
        log.removeExpiredDeletedFiles()
        XCTAssertFalse(POSIXFileSystem().fileExists(slice.path))
        XCTAssertEqual(try TestBatches.headers(try slice.readBytes()).first?.baseOffset, 0)
    }

    func testFlushMessagesPolicyMovesRecoveryPoint() throws {
        var config = LogConfig()
        config.flushMessages = 3
        let log = try open(config)
        try log.append(TestBatches.simple(count: 2))
        XCTAssertEqual(log.recoveryPoint, 0)
        try log.append(TestBatches.simple(count: 1))
        XCTAssertEqual(log.recoveryPoint, 3)
        config.flushMs = 500
        log.updateConfig(config)
        try log.append(TestBatches.simple(count: 1))
        XCTAssertFalse(try log.flushIfDue())
        clock.advance(byMilliseconds: 600)
        XCTAssertTrue(try log.flushIfDue())
        XCTAssertEqual(log.recoveryPoint, 4)
    }
}

extension ByteBuffer {
    /// The batch with its partitionLeaderEpoch set (not covered by the CRC).
    func withEpoch(_ epoch: Int32) -> ByteBuffer {
        var copy = self
        RecordBatchHeader.setPartitionLeaderEpoch(epoch, in: &copy, at: copy.readerIndex)
        return copy
    }
}
