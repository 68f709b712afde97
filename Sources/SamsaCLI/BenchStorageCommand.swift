import ArgumentParser
import Foundation
import KafkaProtocol
import LogStorage
import NIOCore

/// `samsa bench storage`: the partition log against `dd` and `cat` on the same file system.
///
/// For 100 B and 1 KB records packed into ~16 KiB batches (Kafka's default `batch.size`):
/// * append without fsync: `PartitionLog.append` of every batch (validation, CRC check, offset
///   stamping, index upkeep, one `pwrite`) vs `dd bs=16k` writing the same bytes;
/// * append with fsync per batch: `flush.messages=1` (an `fdatasync` after every append) vs
///   `dd bs=16k oflag=dsync` (each write synchronous);
/// * sequential read: 1 MiB `read` + `readBytes` calls over the segment vs `cat segment > /dev/null`.
///
/// Each figure is the best of `--rounds`; samsa and dd alternate within a round so page-cache
/// writeback pressure hits both alike. dd's time includes starting the process (about a
/// millisecond, negligible at these sizes).
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Partition log append/read throughput vs dd and cat on the same file system."
    )

    @Option(help: "Directory to write in (its file system is what is measured); removed afterwards.")
    var dir = ".samsa-bench-storage"

    @Option(name: .customLong("mib"), help: "MiB written per run without fsync.")
    var mebibytes = 256

    @Option(name: .customLong("fsync-mib"), help: "MiB written per run with fsync per batch.")
    var fsyncMebibytes = 8

    @Option(help: "Timed rounds per figure; the best is reported.")
    var rounds = 3

    @Option(name: .customLong("batch-kib"), help: "Batch size in KiB.")
    var batchKiB = 16

    func run() async throws {
        #if DEBUG
        print("warning: debug build; use `swift build -c release --product samsa` for real numbers")
        #endif
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        let absolute = URL(fileURLWithPath: dir).standardizedFileURL.path
        print("samsa bench storage: \(absolute) (\(fileSystemName(absolute))), \(batchKiB) KiB batches, best of \(rounds)")
        print("  without fsync: \(mebibytes) MiB per run; with fsync per batch: \(fsyncMebibytes) MiB per run")
        print("")
        print("  " + pad("figure", 40) + pad("samsa MB/s", 12) + pad("dd/cat MB/s", 13) + "samsa/dd")
        for recordSize in [100, 1024] {
            let batches = makeBatches(recordSize: recordSize)
            let perBatch = batches[0].readableBytes
            let noSyncCount = max(1, mebibytes * 1_048_576 / perBatch)
            let syncCount = max(1, fsyncMebibytes * 1_048_576 / perBatch)
            let records = try recordCount(of: batches[0])

            // The exact bytes the log will hold, as dd's input.
            let source = absolute + "/source.bin"
            try writeStream(batches, count: noSyncCount, to: source)

            var bestLog = 0.0, bestDD = 0.0, bestSyncLog = 0.0, bestSyncDD = 0.0, bestRead = 0.0, bestCat = 0.0
            for _ in 0..<rounds {
                let logDir = absolute + "/log-\(recordSize)"
                bestLog = max(bestLog, try appendRun(batches, count: noSyncCount, directory: logDir, fsyncEach: false))
                bestRead = max(bestRead, try readRun(directory: logDir))
                bestCat = max(bestCat, try commandRun("cat '\(logDir)/00000000000000000000.log' > /dev/null",
                                                     bytes: perBatch * noSyncCount))
                try? fm.removeItem(atPath: logDir)
                bestDD = max(bestDD, try commandRun("dd if='\(source)' of='\(absolute)/dd.out' bs=\(batchKiB)k status=none",
                                                   bytes: perBatch * noSyncCount))
                try? fm.removeItem(atPath: absolute + "/dd.out")

                bestSyncLog = max(bestSyncLog, try appendRun(batches, count: syncCount, directory: logDir, fsyncEach: true))
                try? fm.removeItem(atPath: logDir)
                bestSyncDD = max(bestSyncDD, try commandRun(
                    "dd if='\(source)' of='\(absolute)/dd.out' bs=\(batchKiB)k count=\(syncCount * perBatch / (batchKiB * 1024)) oflag=dsync status=none",
                    bytes: (syncCount * perBatch / (batchKiB * 1024)) * batchKiB * 1024))
                try? fm.removeItem(atPath: absolute + "/dd.out")
            }
            try? fm.removeItem(atPath: source)
            let label = recordSize == 100 ? "100 B" : "1 KB"
            print("  " + pad("append \(label) records, no fsync", 40) + mbps(bestLog) + mbps(bestDD, 13) + ratio(bestLog, bestDD)
                  + "   (\(records) records/batch, \(Int(bestLog / Double(perBatch) * Double(records) / 1000)) k records/s)")
            print("  " + pad("append \(label) records, fsync per batch", 40) + mbps(bestSyncLog) + mbps(bestSyncDD, 13) + ratio(bestSyncLog, bestSyncDD))
            print("  " + pad("sequential read \(label) records (1 MiB reads)", 40) + mbps(bestRead) + mbps(bestCat, 13) + ratio(bestRead, bestCat) + "   (vs cat)")
        }
    }

    /// Batches of `recordSize`-byte values (random bytes, so nothing compresses by accident)
    /// filling `batchKiB` KiB each; a few distinct ones, cycled.
    func makeBatches(recordSize: Int) -> [ByteBuffer] {
        var rng = SeededRandom(seed: 42)
        return (0..<8).map { _ in
            var records: [Record] = []
            var size = RecordBatchHeader.size
            while true {
                let value = ByteBuffer(bytes: (0..<recordSize).map { _ in UInt8.random(in: 0...255, using: &rng) })
                let overhead = 10   // length, attributes, deltas, key/value lengths, header count
                if size + recordSize + overhead > batchKiB * 1024 { break }
                records.append(Record(offsetDelta: Int32(records.count), timestampDelta: Int64(records.count), value: value))
                size += recordSize + overhead
            }
            return try! RecordBatch(baseTimestamp: 1_700_000_000_000, records: records).encoded()
        }
    }

    func writeStream(_ batches: [ByteBuffer], count: Int, to path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var chunk = Data()
        for i in 0..<count {
            chunk.append(contentsOf: batches[i % batches.count].readableBytesView)
            if chunk.count >= 8 << 20 { try handle.write(contentsOf: chunk); chunk.removeAll(keepingCapacity: true) }
        }
        try handle.write(contentsOf: chunk)
    }

    /// Appends `count` batches to a fresh log; returns bytes per second.
    func appendRun(_ batches: [ByteBuffer], count: Int, directory: String, fsyncEach: Bool) throws -> Double {
        try? FileManager.default.removeItem(atPath: directory)
        var config = LogConfig()
        if fsyncEach { config.flushMessages = 1 }
        let log = try PartitionLog(directory: directory, topic: "bench", partition: 0, config: config)
        var bytes = 0
        let start = ContinuousClock.now
        for i in 0..<count {
            let info = try log.append(batches[i % batches.count], leaderEpoch: 0)
            bytes += info.validBytes
        }
        let elapsed = seconds(ContinuousClock.now - start)
        try log.close()
        return Double(bytes) / elapsed
    }

    /// Reads the whole log sequentially in 1 MiB reads; returns bytes per second.
    func readRun(directory: String) throws -> Double {
        let log = try PartitionLog(directory: directory, topic: "bench", partition: 0, config: LogConfig(), hadCleanShutdown: true)
        var offset = log.logStartOffset
        var bytes = 0
        let start = ContinuousClock.now
        while offset < log.logEndOffset {
            let result = try log.read(from: offset, maxBytes: 1 << 20)
            let buffer = try result.readBytes()
            bytes += buffer.readableBytes
            guard let slice = result.slice else { break }
            // The next batch starts right after the slice: find its offset from the last header.
            offset = try lastNextOffset(buffer, fallback: slice.firstBatchBaseOffset)
        }
        let elapsed = seconds(ContinuousClock.now - start)
        try log.close()
        return Double(bytes) / elapsed
    }

    func lastNextOffset(_ buffer: ByteBuffer, fallback: Int64) throws -> Int64 {
        var index = buffer.readerIndex
        var next = fallback
        while index < buffer.writerIndex {
            let header = try RecordBatchHeader.peek(buffer, at: index)
            next = header.nextOffset
            index += header.totalSize
        }
        return next
    }

    /// Runs a shell command; returns `bytes` per second of its wall time.
    func commandRun(_ command: String, bytes: Int) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = seconds(ContinuousClock.now - start)
        guard process.terminationStatus == 0 else { throw ValidationError("`\(command)` failed with status \(process.terminationStatus)") }
        return Double(bytes) / elapsed
    }

    func fileSystemName(_ path: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "df -T '\(path)' | tail -1 | awk '{print $2\" on \"$1}'"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return "unknown file system" }
        process.waitUntilExit()
        let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8) ?? ""
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func recordCount(of batch: ByteBuffer) throws -> Int {
        Int(try RecordBatchHeader.peek(batch, at: batch.readerIndex).recordCount)
    }

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    func mbps(_ bytesPerSecond: Double, _ width: Int = 12) -> String { pad(String(format: "%.0f", bytesPerSecond / 1e6), width) }
    func ratio(_ a: Double, _ b: Double) -> String { String(format: "%5.0f%%", a / b * 100) }
    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
