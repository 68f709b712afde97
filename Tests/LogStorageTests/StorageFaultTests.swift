import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

/// Issue 9: storage faults must never lose or hide acknowledged records. Each test drives the
/// real LogStorage code over `SimulatedFileSystem` with an injected fault.
final class StorageFaultTests: XCTestCase {
    let dir = "/data/t-0"

    /// Every record value in the log, by offset, read through the public read path.
    func contents(_ log: PartitionLog) throws -> [Int64: Int32] {
        var out: [Int64: Int32] = [:]
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            let bytes = try log.read(from: offset, maxBytes: 1 << 20).readBytes()
            let headers = try TestBatches.headers(bytes)
            XCTAssertFalse(headers.isEmpty, "empty read at \(offset)")
            for h in headers {
                XCTAssertEqual(h.baseOffset, offset, "offsets not contiguous")
                out[h.baseOffset] = h.recordCount
                offset = h.nextOffset
            }
            if headers.isEmpty { break }
        }
        return out
    }

    /// A log with batches in epochs 0 and 2 over several segments, left as a kill -9 leaves
    /// it: every write in the page cache, no clean-shutdown marker, recovery point 0.
    func crashedLog(_ fs: SimulatedFileSystem) throws -> (leo: Int64, batches: [Int64: Int32]) {
        var config = LogConfig()
        config.segmentBytes = 2000
        let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: config, fileSystem: fs)
        for i in 0..<40 { try log.append(TestBatches.simple(count: 1 + i % 3, valueSize: 40), leaderEpoch: i < 20 ? 0 : 2) }
        XCTAssertGreaterThan(log.segmentCount, 3)
        let result = (log.logEndOffset, try contents(log))
        fs.syncEverything()   // a process crash keeps the page cache
        return result
    }

    // MARK: Item 2: leader-epoch-checkpoint missing or garbled after an unclean stop

    func testMissingOrGarbledEpochCheckpointAfterCrashCutsNothing() throws {
        for damage in ["missing", "garbage", "empty", "stale"] {
            let fs = SimulatedFileSystem()
            let (leo, batches) = try crashedLog(fs)
            let path = dir + "/leader-epoch-checkpoint"
            switch damage {
            case "missing": try fs.removeFile(path)
            case "garbage": try fs.writeAtomically(path, contents: "\u{0}\u{17}garbage\nnot a checkpoint\n")
            case "empty": try fs.writeAtomically(path, contents: "")
            default: try fs.writeAtomically(path, contents: "0\n1\n0 0\n")   // an old copy: epoch 2 unknown
            }
            var config = LogConfig()
            config.segmentBytes = 2000
            let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: config, fileSystem: fs,
                                       hadCleanShutdown: false, recoveryPoint: 0, maxLeaderEpoch: 2)
            XCTAssertEqual(log.recoverySummary.truncatedBytes, 0, "\(damage): \(log.recoverySummary)")
            XCTAssertEqual(log.logEndOffset, leo, damage)
            XCTAssertEqual(try contents(log), batches, damage)
            // The cache is rebuilt from the batches (a stale file is completed by recovery).
            XCTAssertEqual(log.leaderEpochEntries.map(\.epoch), [0, 2], damage)
            XCTAssertEqual(log.leaderEpochEntries.first?.startOffset, 0, damage)
            if damage != "stale" {
                XCTAssertTrue(log.epochCheckpointProblem?.contains("leader-epoch-checkpoint") == true, damage)
            }
            // Written back once, parseable.
            XCTAssertEqual(LeaderEpochCache.parse(try fs.readString(path) ?? "")?.map(\.epoch), [0, 2], damage)
            // Later appends get fresh offsets.
            let info = try log.append(TestBatches.simple(count: 2), leaderEpoch: 2)
            XCTAssertEqual(info.firstOffset, leo, damage)
        }
    }

    func testMissingEpochCheckpointAfterCleanShutdownIsRebuilt() throws {
        let fs = SimulatedFileSystem()
        let (leo, batches) = try crashedLog(fs)
        try fs.removeFile(dir + "/leader-epoch-checkpoint")
        let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs,
                                   hadCleanShutdown: true)
        XCTAssertEqual(log.logEndOffset, leo)
        XCTAssertEqual(try contents(log), batches)
        XCTAssertEqual(log.leaderEpochEntries.map(\.epoch), [0, 2])
    }

    func testRecoveryStillCutsABatchWhoseEpochIsBeyondTheMetadata() throws {
        // The protection the checkpoint bound gave, now from the metadata's epoch: a batch
        // whose (CRC-less) epoch field claims epoch 9 when the partition is at epoch 2 is garbage.
        let fs = SimulatedFileSystem()
        let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs)
        try log.append(TestBatches.simple(count: 3), leaderEpoch: 2)
        let sizeBefore = log.size
        try log.append(TestBatches.simple(count: 3), leaderEpoch: 2)
        // Overwrite the second batch's epoch field (bytes 12..15) with 9.
        let file = try fs.open(dir + "/00000000000000000000.log", create: false)
        var nine = ByteBuffer(); nine.writeInteger(Int32(9))
        try file.write(nine, at: sizeBefore + 12)
        fs.syncEverything()
        let reopened = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs,
                                        hadCleanShutdown: false, recoveryPoint: 0, maxLeaderEpoch: 2)
        XCTAssertEqual(reopened.logEndOffset, 3)
        XCTAssertTrue(reopened.recoverySummary.reason?.contains("leader epoch 9") == true, "\(reopened.recoverySummary)")
        // Lower than its predecessor is cut too.
        XCTAssertEqual(reopened.leaderEpochEntries.map(\.epoch), [2])
    }

    // MARK: Item 3: a damaged batch header in an older segment

    func testCorruptHeaderInOldSegmentIsReportedNotSkipped() throws {
        let fs = SimulatedFileSystem()
        var config = LogConfig()
        config.segmentBytes = 1500
        config.indexIntervalBytes = 1 << 20   // no index entries: reads scan from the start
        let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: config, fileSystem: fs)
        for _ in 0..<30 { try log.append(TestBatches.simple(count: 2, valueSize: 60)) }
        log.highWatermark = log.logEndOffset
        let bases = log.segmentBaseOffsets
        XCTAssertGreaterThan(bases.count, 3)
        // The third batch of the second segment: batch length overwritten with 7.
        let path = dir + "/" + LogSegment.fileName(bases[1], LogSegment.logSuffix)
        let file = try fs.open(path, create: false)
        var batches: [(position: Int64, header: RecordBatchHeader)] = []
        var position: Int64 = 0
        while position < (try file.size()) {
            let h = try RecordBatchHeader.peek(try file.read(at: position, count: RecordBatchHeader.size), at: 0)
            batches.append((position, h))
            position += Int64(h.totalSize)
        }
        XCTAssertGreaterThan(batches.count, 3)
        let victim = batches[2]
        var seven = ByteBuffer(); seven.writeInteger(Int32(7))
        try file.write(seven, at: victim.position + 8)

        // At, and before (inside the same segment), the damage: CORRUPT_MESSAGE naming the
        // partition, the file, the byte and the problem; never the next segment's batches.
        for offset in [victim.header.baseOffset, victim.header.lastOffset] {
            XCTAssertThrowsError(try log.read(from: offset, maxBytes: 1 << 20)) { error in
                let e = error as? LogStorageError
                XCTAssertEqual(e?.kafkaErrorCode, 2, "\(error)")
                let text = "\(error)"
                XCTAssertTrue(text.contains("t-0") && text.contains(path) && text.contains("at byte \(victim.position)"), text)
            }
        }
        // From the segment's start: the batches before the damage, nothing at or after it.
        let before = try TestBatches.headers(log.read(from: bases[1], maxBytes: 1 << 20).readBytes())
        XCTAssertEqual(before.map(\.baseOffset), [batches[0].header.baseOffset, batches[1].header.baseOffset])
        // Later segments and appends are unaffected: the log is not failed.
        XCTAssertEqual(try TestBatches.headers(log.read(from: bases[2], maxBytes: 100).readBytes()).first?.baseOffset, bases[2])
        let leo = log.logEndOffset
        XCTAssertEqual(try log.append(TestBatches.simple(count: 1)).firstOffset, leo)
    }

    // MARK: Items 1 and 6: I/O errors take the log directory offline, nothing is deleted

    func testDiskFullTakesTheDirectoryOfflineKeepsReadsAndRecoversAfterRestart() throws {
        let fs = SimulatedFileSystem()
        let config = LogManagerConfig(logDirs: ["/data"])
        var manager = try LogManager(config: config, fileSystem: fs)
        let failures = FailureRecorder()
        manager.setLogDirFailureHandler { dir, error in failures.record(dir, error) }
        let a = try manager.getOrCreateLog(topic: "a", partition: 0)
        let b = try manager.getOrCreateLog(topic: "b", partition: 0)
        try a.append(TestBatches.simple(count: 1))
        try b.append(TestBatches.simple(count: 1))
        fs.capacityBytes = fs.usedBytes + 20_000
        // Acknowledged = appended and flushed (acks=all), until the disk is full.
        var acked: Int64 = 1
        var failure: LogStorageError?
        while failure == nil {
            do {
                try a.append(TestBatches.simple(count: 5, valueSize: 200))
                try a.flush()
                acked = a.logEndOffset
            } catch {
                failure = error
            }
        }
        XCTAssertEqual(failure?.kafkaErrorCode, 56)
        XCTAssertTrue("\(failure!)".contains("No space left on device"), "\(failure!)")
        // The whole directory is offline: the other partition refuses writes too...
        XCTAssertThrowsError(try b.append(TestBatches.simple(count: 1))) { error in
            XCTAssertEqual((error as? LogStorageError)?.kafkaErrorCode, 56)
        }
        XCTAssertThrowsError(try manager.getOrCreateLog(topic: "c", partition: 0))
        XCTAssertEqual(manager.offlineLogDirs, ["/data"])
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failures.directories, ["/data"])
        // ...but acknowledged data stays readable.
        a.highWatermark = acked
        XCTAssertEqual(try contents(a).values.reduce(0) { $0 + Int($1) }, Int(acked))
        // Shutdown leaves no clean-shutdown marker: the next start re-validates.
        XCTAssertThrowsError(try manager.shutdown())
        XCTAssertFalse(fs.fileExists("/data/.kafka_cleanshutdown"))

        // Space again: a restart recovers every acknowledged record.
        fs.capacityBytes = nil
        manager = try LogManager(config: config, fileSystem: fs)
        let reopened = try XCTUnwrap(manager.log(topic: "a", partition: 0))
        XCTAssertGreaterThanOrEqual(reopened.logEndOffset, acked)
        XCTAssertEqual(try XCTUnwrap(manager.log(topic: "b", partition: 0)).logEndOffset, 1)
        try manager.shutdown()
    }

    func testLogThatFailsToOpenStopsStartupAndIsNotTouched() throws {
        let fs = SimulatedFileSystem()
        let config = LogManagerConfig(logDirs: ["/data"])
        var manager = try LogManager(config: config, fileSystem: fs)
        for p in 0..<3 { try manager.getOrCreateLog(topic: "t", partition: Int32(p)).append(TestBatches.simple(count: 4)) }
        try manager.shutdown()
        let filesBefore = try fs.listDirectory("/data/t-1").sorted()
        fs.openFault = { path in path.hasPrefix("/data/t-1/") && path.hasSuffix(".log") ? 24 : nil }   // EMFILE
        XCTAssertThrowsError(try LogManager(config: config, fileSystem: fs)) { error in
            XCTAssertTrue("\(error)".contains("Too many open files"), "\(error)")
        }
        fs.openFault = nil
        XCTAssertEqual(try fs.listDirectory("/data/t-1").sorted(), filesBefore)
        manager = try LogManager(config: config, fileSystem: fs)
        for p in 0..<3 { XCTAssertEqual(manager.log(topic: "t", partition: Int32(p))?.logEndOffset, 4) }
        try manager.shutdown()
    }

    // MARK: Item 8: a restart writes no leader-epoch-checkpoint whose content is unchanged

    func testRestartOfIdlePartitionsWritesNoEpochCheckpoint() throws {
        let fs = SimulatedFileSystem()
        let config = LogManagerConfig(logDirs: ["/data"])
        var manager = try LogManager(config: config, fileSystem: fs)
        let empty = try manager.getOrCreateLog(topic: "idle", partition: 0)
        try empty.assignEpochStartOffset(epoch: 0)              // what a new leader records
        let busy = try manager.getOrCreateLog(topic: "busy", partition: 0)
        try busy.append(TestBatches.simple(count: 3), leaderEpoch: 0)
        busy.highWatermark = busy.logEndOffset
        try manager.shutdown()
        // Any write of a checkpoint goes through a .tmp file: make those fail (a full disk).
        fs.openFault = { path in path.hasSuffix(".tmp") ? 28 : nil }
        for clean in [true, false] {
            if !clean { try fs.removeFile("/data/.kafka_cleanshutdown") }
            manager = try LogManager(config: config, fileSystem: fs)
            for topic in ["idle", "busy"] {
                let log = try XCTUnwrap(manager.log(topic: topic, partition: 0))
                try log.assignEpochStartOffset(epoch: 0)         // the leader again, same epoch
                XCTAssertEqual(log.leaderEpochEntries, [EpochEntry(epoch: 0, startOffset: 0)])
                log.highWatermark = log.logEndOffset
            }
            // Nor are unchanged offset checkpoints rewritten (the periodic tasks' work).
            manager.writeCheckpoints()
            XCTAssertTrue(manager.offlineLogDirs.isEmpty)
            try manager.shutdown()
        }
    }
}

/// Collects log-directory failure notifications (thread-safe).
final class FailureRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [(String, LogStorageError)] = []
    func record(_ dir: String, _ error: LogStorageError) { lock.withLock { seen.append((dir, error)) } }
    var count: Int { lock.withLock { seen.count } }
    var directories: [String] { lock.withLock { seen.map(\.0) } }
}
