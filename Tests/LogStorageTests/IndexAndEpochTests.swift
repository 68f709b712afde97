import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

final class IndexAndEpochTests: XCTestCase {
    func testEndOffsetForEpochFollowsKafka() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/p")
        let cache = try LeaderEpochCache(fileSystem: fs, directory: "/p")
        try cache.assign(epoch: 1, startOffset: 0)
        try cache.assign(epoch: 3, startOffset: 10)
        try cache.assign(epoch: 5, startOffset: 25)
        XCTAssertFalse(try cache.assign(epoch: 4, startOffset: 30), "older epochs are ignored")
        XCTAssertTrue(cache.endOffset(forEpoch: 5, logEndOffset: 40) == (5, 40))
        XCTAssertTrue(cache.endOffset(forEpoch: 3, logEndOffset: 40) == (3, 25))
        XCTAssertTrue(cache.endOffset(forEpoch: 4, logEndOffset: 40) == (3, 25), "largest epoch <= requested")
        XCTAssertTrue(cache.endOffset(forEpoch: 0, logEndOffset: 40) == (0, 0), "below every epoch")
        XCTAssertTrue(cache.endOffset(forEpoch: 9, logEndOffset: 40) == (-1, -1), "above every epoch")
        XCTAssertTrue(cache.endOffset(forEpoch: -1, logEndOffset: 40) == (-1, -1))

        // The checkpoint is Kafka's text format and reloads.
        XCTAssertEqual(try fs.readString("/p/leader-epoch-checkpoint"), "0\n3\n1 0\n3 10\n5 25\n")
        try cache.truncate(fromEnd: 12)
        try cache.truncate(fromStart: 5)
        XCTAssertEqual(cache.entries, [EpochEntry(epoch: 1, startOffset: 5), EpochEntry(epoch: 3, startOffset: 10)])
        XCTAssertEqual(try LeaderEpochCache(fileSystem: fs, directory: "/p").entries, cache.entries)
        XCTAssertNil(LeaderEpochCache.parse("0\n2\n1 0\n"), "count mismatch is malformed")
        XCTAssertNil(LeaderEpochCache.parse("0\n2\n3 0\n1 5\n"), "epochs must increase")
    }

    func testCorruptIndexFilesAreRebuiltOnCleanOpen() throws {
        let fs = SimulatedFileSystem()
        var config = LogConfig()
        config.indexIntervalBytes = 50
        config.segmentBytes = 2000
        var log = try PartitionLog(directory: "/d/t-0", topic: "t", partition: 0, config: config, fileSystem: fs)
        for i in 0..<40 { try log.append(TestBatches.simple(count: 2, valueSize: 30, timestamp: Int64(i) * 10, seed: UInt8(i))) }
        try log.close()
        let bases = log.segmentBaseOffsets
        XCTAssertGreaterThan(bases.count, 1)
        // Garbage in the first segment's offset index, a truncated time index in the last one.
        let index = try fs.open("/d/t-0/" + LogSegment.fileName(bases[0], ".index"), create: false)
        try index.write(ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]), at: 8)
        let timeIndex = try fs.open("/d/t-0/" + LogSegment.fileName(bases.last!, ".timeindex"), create: false)
        try timeIndex.truncate(to: try timeIndex.size() - 5)
        log = try PartitionLog(directory: "/d/t-0", topic: "t", partition: 0, config: config, fileSystem: fs, hadCleanShutdown: true)
        XCTAssertFalse(log.recoverySummary.recovered)
        XCTAssertEqual(log.logEndOffset, 80)
        XCTAssertEqual(try log.verifyConsistency(), [])
        for offset in stride(from: Int64(0), to: 80, by: 7) {
            let bytes = try log.read(from: offset, maxBytes: 1).readBytes()
            let h = try RecordBatchHeader.peek(bytes, at: bytes.readerIndex)
            XCTAssertTrue(h.baseOffset <= offset && offset <= h.lastOffset)
        }
        XCTAssertEqual(try log.offsetForTimestamp(205)?.offset, 42)
    }

    func testSegmentFileNames() {
        XCTAssertEqual(LogSegment.fileName(1234, ".log"), "00000000000000001234.log")
        XCTAssertEqual(LogSegment.baseOffset(fromFileName: "00000000000000001234.log", suffix: ".log"), 1234)
        XCTAssertNil(LogSegment.baseOffset(fromFileName: "1234.log", suffix: ".log"))
        XCTAssertNil(LogSegment.baseOffset(fromFileName: "00000000000000001234.index", suffix: ".log"))
        XCTAssertEqual(LogManager.parsePartitionDirectory("my-topic-12"), TopicPartition(topic: "my-topic", partition: 12))
        XCTAssertNil(LogManager.parsePartitionDirectory("my-topic-x"))
        XCTAssertNil(LogManager.parsePartitionDirectory("meta.properties"))
    }

    func testSimulatedPowerLossDropsOnlyUnsyncedWrites() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/x")
        let f = try fs.open("/x/a", create: true)
        try f.write(ByteBuffer(bytes: [1, 2, 3]), at: 0)
        try f.sync()
        try f.write(ByteBuffer(bytes: Array(repeating: 9, count: 5000)), at: 3)
        var options = SimulatedFileSystem.PowerLossOptions()
        options.keepPendingProbability = 0
        options.zeroFilledTailProbability = 0
        options.garbagePageProbability = 0
        var rng = SeededRandom(seed: 1)
        fs.powerLoss(&rng, options: options)
        let after = try fs.open("/x/a", create: false)
        XCTAssertEqual(Array(try after.read(at: 0, count: 100).readableBytesView), [1, 2, 3])
        XCTAssertEqual(fs.powerLosses, 1)
    }
}
