import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

/// Issue 9, item 5: a broker's logs must not need one file descriptor per partition.
final class FileDescriptorTests: XCTestCase {
    let clock = ManualLogClock()

    /// 3,000 partitions (each with an active segment and, for a third of them, older segments)
    /// under a simulated `ulimit -n` of 200 with a 64-file cache: every append, read, roll,
    /// close and reopen works, and the logs never hold more descriptors than the cache allows.
    /// Before the cache every partition kept its active segment open, so the 201st partition
    /// failed with EMFILE.
    func testThousandsOfPartitionsUnderADescriptorLimit() throws {
        let fs = SimulatedFileSystem()
        fs.maxOpenFiles = 200
        var config = LogManagerConfig(logDirs: ["/data"], recoveryThreads: 2)
        config.maxOpenSegmentFiles = 64
        config.defaultLogConfig.segmentBytes = 400
        let partitions = 3_000
        var manager = try LogManager(config: config, fileSystem: fs, clock: clock)
        for p in 0..<partitions {
            let log = try manager.getOrCreateLog(topic: "wide", partition: Int32(p))
            let rounds = p % 3 == 0 ? 6 : 1          // some partitions get several segments
            for r in 0..<rounds { try log.append(TestBatches.simple(count: 2, valueSize: 40, seed: UInt8(truncatingIfNeeded: p + r))) }
            XCTAssertLessThanOrEqual(fs.openFileCount, 64, "partition \(p)")
        }
        XCTAssertEqual(manager.fileCache.count, 64)
        XCTAssertGreaterThan(manager.fileCache.evictions, 0)

        func checkAll(_ manager: LogManager) throws {
            for p in stride(from: 0, to: partitions, by: 7) {
                let log = try XCTUnwrap(manager.log(topic: "wide", partition: Int32(p)))
                let rounds = p % 3 == 0 ? 6 : 1
                XCTAssertEqual(log.logEndOffset, Int64(2 * rounds))
                var offset: Int64 = 0, records = 0
                while offset < log.logEndOffset {
                    let bytes = try log.read(from: offset, maxBytes: 1 << 20).readBytes()
                    for batch in try RecordBatch.decodeAll(from: bytes).batches {
                        records += batch.records.count
                        offset = batch.nextOffset
                    }
                }
                XCTAssertEqual(records, 2 * rounds, "partition \(p)")
                XCTAssertLessThanOrEqual(fs.openFileCount, 64 + 1)
            }
        }
        try checkAll(manager)
        try manager.shutdown()
        // A clean restart, then an unclean one (every segment past the recovery point re-read).
        manager = try LogManager(config: config, fileSystem: fs, clock: clock)
        try checkAll(manager)
        XCTAssertLessThanOrEqual(fs.openFileCount, 64 + 1)
        manager = try LogManager(config: config, fileSystem: fs, clock: clock)   // no shutdown: unclean
        XCTAssertEqual(manager.startupSummary.partitions, partitions)
        try checkAll(manager)
    }

    /// A read in flight keeps its segment's file even when the cache evicts it meanwhile (and
    /// when retention deletes the segment): the descriptor closes only after the read.
    func testEvictionDoesNotBreakAReadInFlight() throws {
        let fs = SimulatedFileSystem()
        let cache = SegmentFileCache(capacity: 1)
        let a = try PartitionLog(directory: "/d/a-0", topic: "a", partition: 0, config: LogConfig(), fileSystem: fs, clock: clock,
                                 fileCache: cache)
        let b = try PartitionLog(directory: "/d/b-0", topic: "b", partition: 0, config: LogConfig(), fileSystem: fs, clock: clock,
                                 fileCache: cache)
        try a.append(TestBatches.simple(count: 3))
        let slice = try a.read(from: 0, maxBytes: 1 << 20)      // holds a's file
        try b.append(TestBatches.simple(count: 3))                 // evicts a's file from the cache
        XCTAssertEqual(cache.count, 1)
        XCTAssertGreaterThan(cache.evictions, 0)
        XCTAssertEqual(fs.openFileCount, 2, "the slice still holds a's file")
        let bytes = try slice.readBytes()
        XCTAssertEqual(try RecordBatch.decodeAll(from: bytes).batches.first?.records.count, 3)
        // a reopens its file on the next use.
        XCTAssertEqual(try a.read(from: 0, maxBytes: 1 << 20).length, slice.length)
    }

    /// EMFILE while opening a segment (descriptors taken by sockets, say) makes the cache give
    /// back half of its files and try again, instead of failing the log.
    func testEMFILEReleasesCachedFilesAndRetries() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory("/d")
        for i in 0...10 { _ = try fs.open("/d/f\(i)", create: true) }
        let cache = SegmentFileCache(capacity: 20)
        for i in 0..<10 { _ = try cache.file(for: UInt64(i)) { () throws(FileSystemError) in try fs.open("/d/f\(i)", create: false) } }
        XCTAssertEqual(fs.openFileCount, 10)
        fs.maxOpenFiles = 10                                      // the process is out of descriptors
        XCTAssertThrowsError(try fs.open("/d/f10", create: false))
        let file = try cache.file(for: 10) { () throws(FileSystemError) in try fs.open("/d/f10", create: false) }
        XCTAssertEqual(file.path, "/d/f10")
        XCTAssertEqual(cache.count, 6, "half of the 10 cached files were given back, then the new one cached")
        XCTAssertEqual(fs.openFileCount, 6)
    }
}
