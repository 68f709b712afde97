import Foundation
import KafkaProtocol
import NIOCore
import XCTest
@testable import LogStorage

/// Simulated power losses at random points (see `SimulatedFileSystem` for the fault model).
/// One seed drives every choice; it is printed, and `SAMSA_CRASH_SEED=<seed>` replays a run.
/// `SAMSA_CRASH_ITERATIONS` changes the number of logs simulated (each crashes several times).
final class CrashConsistencyTests: XCTestCase {
    func testPowerLossKeepsFsyncedBatchesAndNeverReturnsCorruptData() throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["SAMSA_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        let iterations = env["SAMSA_CRASH_ITERATIONS"].flatMap(Int.init) ?? 1000
        print("crash-consistency seed: \(seed) (replay with SAMSA_CRASH_SEED=\(seed))")
        var rng = SeededRandom(seed: seed)
        var crashes = 0
        var recoveredWithTruncation = 0
        for iteration in 0..<iterations {
            do {
                let (c, t) = try runOneLog(&rng)
                crashes += c
                recoveredWithTruncation += t
            } catch {
                XCTFail("seed \(seed), iteration \(iteration): \(error)")
                return
            }
        }
        print("crash-consistency: \(crashes) simulated power losses, \(recoveredWithTruncation) recoveries cut a torn or corrupt tail")
        XCTAssertGreaterThanOrEqual(crashes, iterations * 2)
        // The fault model must actually produce torn tails, or the test proves nothing.
        XCTAssertGreaterThan(recoveredWithTruncation, crashes / 10)
    }

    /// kill -9 leaves appended batches in the page cache only; the restarted log recovers them.
    /// A flush() after that must really fsync them: the recovery point it reports (and a Raft
    /// voter's fetch offset) promises they survive a power loss. Found by the quorum simulation.
    func testFlushAfterRecoveryFsyncsWhatTheCrashLeftInThePageCache() throws {
        let fs = SimulatedFileSystem()
        let dir = "/data/t-0"
        let first = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs)
        for i in 0..<5 { try first.append(TestBatches.simple(count: 2, seed: UInt8(i))) }
        XCTAssertEqual(first.logEndOffset, 10)
        // kill -9: the object is gone, the page cache (pending writes) is not.
        let second = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs,
                                      hadCleanShutdown: false, recoveryPoint: 0)
        XCTAssertEqual(second.logEndOffset, 10)
        try second.flush()
        XCTAssertEqual(second.recoveryPoint, 10)
        var rng = SeededRandom(seed: 3)
        var options = SimulatedFileSystem.PowerLossOptions()
        options.keepPendingProbability = 0   // every unsynced write is lost
        fs.powerLoss(&rng, options: options)
        let third = try PartitionLog(directory: dir, topic: "t", partition: 0, config: LogConfig(), fileSystem: fs,
                                     hadCleanShutdown: false, recoveryPoint: 10)
        XCTAssertEqual(third.logEndOffset, 10, "flushed batches were lost to the power loss")
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One log through several generations of (random appends and flushes, power loss, recovery).
    func runOneLog(_ rng: inout SeededRandom) throws -> (crashes: Int, truncations: Int) {
        let fs = SimulatedFileSystem()
        let clock = ManualLogClock()
        var config = LogConfig()
        config.segmentBytes = Int.random(in: 1800...6000, using: &rng)
        config.indexIntervalBytes = Int.random(in: 0...600, using: &rng)
        config.segmentIndexBytes = [80, 800, 10_485_760].randomElement(using: &rng)!
        let dir = "/data/t-0"
        // What the log must hold: stamped batch bytes by base offset.
        var expected: [Int64: [UInt8]] = [:]
        var durableEnd: Int64 = 0
        var checkpointedRecoveryPoint: Int64 = 0
        var crashes = 0, truncations = 0
        var trace: [String] = []
        defer { if ProcessInfo.processInfo.environment["SAMSA_CRASH_TRACE"] != nil { print(trace.joined(separator: "\n")) } }
        let generations = Int.random(in: 2...4, using: &rng)
        for generation in 0..<generations {
            // The broker's metadata knows the newest epoch: batches of earlier generations only.
            let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: config, fileSystem: fs, clock: clock,
                                       hadCleanShutdown: false, recoveryPoint: checkpointedRecoveryPoint,
                                       maxLeaderEpoch: Int32(max(0, generation - 1)))
            if log.recoverySummary.truncatedBytes > 0 { truncations += 1 }
            trace.append("gen \(generation): opened with rp \(checkpointedRecoveryPoint): LEO \(log.logEndOffset) segments \(log.segmentBaseOffsets) \(log.recoverySummary)")
            try check(log, expected: &expected, durableEnd: durableEnd, context: "generation \(generation)", rng: &rng)
            durableEnd = log.logEndOffset   // after a power loss whatever is on disk is durable
            checkpointedRecoveryPoint = min(checkpointedRecoveryPoint, log.logEndOffset)

            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<75:
                    var buffer = ByteBuffer()
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        var b = TestBatches.simple(count: Int.random(in: 1...4, using: &rng), valueSize: Int.random(in: 0...100, using: &rng),
                                                   timestamp: clock.milliseconds(), seed: UInt8.random(in: 0...255, using: &rng))
                        buffer.writeBuffer(&b)
                    }
                    let before = log.logEndOffset
                    try log.append(buffer, leaderEpoch: Int32(generation))
                    trace.append("append \(before)..<\(log.logEndOffset) segments \(log.segmentBaseOffsets) sizes \(log.size)")
                    // Remember the stamped bytes exactly as the log must return them.
                    let stamped = try log.read(from: before, maxBytes: Int.max, minOneBatch: true).readBytes()
                    var index = stamped.readerIndex
                    while index < stamped.writerIndex {
                        let h = try RecordBatchHeader.peek(stamped, at: index)
                        if h.baseOffset >= before { expected[h.baseOffset] = stamped.getBytes(at: index, length: h.totalSize)! }
                        index += h.totalSize
                    }
                    clock.advance(byMilliseconds: Int64.random(in: 0...10, using: &rng))
                case 75..<90:
                    try log.flush()
                    durableEnd = log.logEndOffset
                    trace.append("flush \(durableEnd)")
                case 90..<95:
                    checkpointedRecoveryPoint = log.recoveryPoint
                    trace.append("checkpoint rp \(checkpointedRecoveryPoint)")
                case 95..<98:
                    // Replication truncation: the cut is fsynced.
                    let leo = log.logEndOffset
                    guard leo > 0 else { continue }
                    let target = Int64.random(in: 0...leo, using: &rng)
                    try log.truncate(to: target)
                    let newEnd = log.logEndOffset
                    trace.append("truncate to \(target): LEO \(newEnd)")
                    expected = expected.filter { $0.key < newEnd }
                    durableEnd = min(durableEnd, newEnd)
                    checkpointedRecoveryPoint = min(checkpointedRecoveryPoint, newEnd)
                default:
                    try log.roll()
                    trace.append("roll: segments \(log.segmentBaseOffsets)")
                }
            }
            fs.powerLoss(&rng)
            trace.append("power loss")
            crashes += 1
        }
        let log = try PartitionLog(directory: dir, topic: "t", partition: 0, config: config, fileSystem: fs, clock: clock,
                                   hadCleanShutdown: false, recoveryPoint: checkpointedRecoveryPoint,
                                   maxLeaderEpoch: Int32(generations - 1))
        if log.recoverySummary.truncatedBytes > 0 { truncations += 1 }
        trace.append("final: opened with rp \(checkpointedRecoveryPoint): LEO \(log.logEndOffset) segments \(log.segmentBaseOffsets) \(log.recoverySummary)")
        try check(log, expected: &expected, durableEnd: durableEnd, context: "final", rng: &rng)
        return (crashes, truncations)
    }

    /// The invariants after recovery; drops from `expected` what the crash legitimately lost.
    func check(_ log: PartitionLog, expected: inout [Int64: [UInt8]], durableEnd: Int64, context: String, rng: inout SeededRandom) throws {
        let leo = log.logEndOffset
        guard leo >= durableEnd else {
            throw Failure(description: "\(context): LEO \(leo) < fsynced end \(durableEnd) (\(log.recoverySummary))")
        }
        var offset = log.logStartOffset
        while offset < leo {
            let bytes = try log.read(from: offset, maxBytes: Int.random(in: 1...3000, using: &rng), minOneBatch: true).readBytes()
            var index = bytes.readerIndex
            guard index < bytes.writerIndex else { throw Failure(description: "\(context): empty read at \(offset) < LEO \(leo)") }
            while index < bytes.writerIndex {
                let h = try RecordBatchHeader.peek(bytes, at: index)
                try h.verifyCRC(of: bytes, at: index)
                guard h.baseOffset == offset else {
                    throw Failure(description: "\(context): offsets not contiguous: batch \(h.baseOffset), expected \(offset)")
                }
                guard let want = expected[h.baseOffset], want == bytes.getBytes(at: index, length: h.totalSize)! else {
                    let wanted = try expected[h.baseOffset].map { try RecordBatchHeader.peek(ByteBuffer(bytes: $0), at: 0) }
                    throw Failure(description: "\(context): batch at \(h.baseOffset) differs from what was appended: got \(h), expected \(String(describing: wanted)); LEO \(leo), fsynced end \(durableEnd), \(log.recoverySummary)")
                }
                offset = h.nextOffset
                index += h.totalSize
            }
        }
        guard offset == leo else { throw Failure(description: "\(context): batches end at \(offset), LEO \(leo)") }
        let problems = try log.verifyConsistency()
        guard problems.isEmpty else { throw Failure(description: "\(context): \(problems)") }
        // Reading from inside any batch returns the batch that contains the offset.
        if leo > 0 {
            let probe = Int64.random(in: 0..<leo, using: &rng)
            let bytes = try log.read(from: probe, maxBytes: 1).readBytes()
            let h = try RecordBatchHeader.peek(bytes, at: bytes.readerIndex)
            guard h.baseOffset <= probe, h.lastOffset >= probe else { throw Failure(description: "\(context): read(\(probe)) gave \(h.baseOffset)...\(h.lastOffset)") }
        }
        for entry in log.leaderEpochEntries where entry.startOffset >= leo {
            throw Failure(description: "\(context): epoch entry \(entry) past LEO \(leo)")
        }
        expected = expected.filter { $0.key < leo }
    }

    func testDiskErrorTakesLogOfflineWithoutCorruptingIt() throws {
        let fs = SimulatedFileSystem()
        var log = try PartitionLog(directory: "/d/t-0", topic: "t", partition: 0, config: LogConfig(), fileSystem: fs)
        try log.append(TestBatches.simple(count: 3))
        try log.flush()
        fs.failWrites = true
        XCTAssertThrowsError(try log.append(TestBatches.simple(count: 2))) { error in
            XCTAssertEqual((error as? LogStorageError)?.kafkaErrorCode, 56)
        }
        // Offline for writes until reopened, even after the disk recovers; what was written
        // before the error stays readable (issue 9: reads keep working while possible).
        fs.failWrites = false
        XCTAssertThrowsError(try log.append(TestBatches.simple(count: 1))) { error in
            XCTAssertEqual((error as? LogStorageError)?.kafkaErrorCode, 56)
        }
        XCTAssertEqual(try TestBatches.headers(log.read(from: 0, maxBytes: 1 << 20).readBytes()).reduce(0) { $0 + Int($1.recordCount) }, 3)
        var rng = SeededRandom(seed: 7)
        fs.powerLoss(&rng)
        log = try PartitionLog(directory: "/d/t-0", topic: "t", partition: 0, config: LogConfig(), fileSystem: fs)
        XCTAssertEqual(log.logEndOffset, 3)
        XCTAssertTrue(try log.verifyConsistency().isEmpty)
    }
}

