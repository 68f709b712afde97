import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
/// Each figure is the best of `--rounds`; samsa and dd take turns going first, and every timed
/// run starts after a `sync`, so neither pays for the other's page-cache writeback. dd's time includes starting the process (about a
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
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).joined(separator: " ")
        print("samsa bench storage: \(absolute) (\(fileSystemName(absolute))), \(batchKiB) KiB batches, best of \(rounds); load average \(load)")
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

            var bestRaw = 0.0
            var bestSendfile = 0.0
            var bestLog = 0.0, bestDD = 0.0, bestSyncLog = 0.0, bestSyncDD = 0.0, bestRead = 0.0, bestCat = 0.0
            let logDir = absolute + "/log-\(recordSize)"
            let ddOut = absolute + "/dd.out"
            let ddBlocks = syncCount * perBatch / (batchKiB * 1024)
            for round in 0..<rounds {
                // Alternate who goes first, and start every timed run with no dirty pages, so
                // neither side pays for the other's writeback.
                let samsaFirst = round % 2 == 0
                for turn in 0..<2 {
                    try settle()
                    if (turn == 0) == samsaFirst {
                        bestLog = max(bestLog, try appendRun(batches, count: noSyncCount, directory: logDir, fsyncEach: false))
                        // Sequential reads of the segment just written (in the page cache).
                        bestSendfile = max(bestSendfile, try sendfileRun(directory: logDir))
                        if samsaFirst {
                            bestRead = max(bestRead, try readRun(directory: logDir))
                            bestCat = max(bestCat, try commandRun("cat '\(logDir)/00000000000000000000.log' > /dev/null", bytes: perBatch * noSyncCount))
                        } else {
                            bestCat = max(bestCat, try commandRun("cat '\(logDir)/00000000000000000000.log' > /dev/null", bytes: perBatch * noSyncCount))
                            bestRead = max(bestRead, try readRun(directory: logDir))
                        }
                        try? fm.removeItem(atPath: logDir)
                    } else {
                        bestDD = max(bestDD, try commandRun("dd if='\(source)' of='\(ddOut)' bs=\(batchKiB)k status=none", bytes: perBatch * noSyncCount))
                        try? fm.removeItem(atPath: ddOut)
                    }
                }
                try settle()
                bestRaw = max(bestRaw, try rawWriteRun(batches, count: noSyncCount, path: ddOut))
                try? fm.removeItem(atPath: ddOut)
                for turn in 0..<2 {
                    try settle()
                    if (turn == 0) == samsaFirst {
                        bestSyncLog = max(bestSyncLog, try appendRun(batches, count: syncCount, directory: logDir, fsyncEach: true))
                        try? fm.removeItem(atPath: logDir)
                    } else {
                        bestSyncDD = max(bestSyncDD, try commandRun(
                            "dd if='\(source)' of='\(ddOut)' bs=\(batchKiB)k count=\(ddBlocks) oflag=dsync status=none",
                            bytes: ddBlocks * batchKiB * 1024))
                        try? fm.removeItem(atPath: ddOut)
                    }
                }
            }
            try? fm.removeItem(atPath: source)
            let label = recordSize == 100 ? "100 B" : "1 KB"
            print("  " + pad("append \(label) records, no fsync", 40) + mbps(bestLog) + mbps(bestDD, 13) + ratio(bestLog, bestDD)
                  + "   (\(records) records/batch, \(Int(bestLog / Double(perBatch) * Double(records) / 1000)) k records/s)")
            print("  " + pad("  (plain pwrite loop, same bytes)", 40) + mbps(bestRaw) + mbps(bestDD, 13) + ratio(bestRaw, bestDD))
            print("  " + pad("append \(label) records, fsync per batch", 40) + mbps(bestSyncLog) + mbps(bestSyncDD, 13) + ratio(bestSyncLog, bestSyncDD))
            print("  " + pad("sequential read \(label), sendfile of slices", 40) + mbps(bestSendfile) + mbps(bestCat, 13) + ratio(bestSendfile, bestCat) + "   (vs cat)")
            print("  " + pad("sequential read \(label), readBytes()", 40) + mbps(bestRead) + mbps(bestCat, 13) + ratio(bestRead, bestCat) + "   (vs cat)")
        }
    }

    /// Batches of `recordSize`-byte values (random bytes, so nothing compresses by accident),
    /// each exactly `batchKiB` KiB encoded (the last record's value is sized to fit), so dd's
    /// blocks and the log's writes are the same size and alignment; a few distinct ones, cycled.
    func makeBatches(recordSize: Int) -> [ByteBuffer] {
        var rng = SeededRandom(seed: 42)
        let target = batchKiB * 1024
        func value(_ size: Int) -> ByteBuffer { ByteBuffer(bytes: (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        return (0..<8).map { _ in
            var records: [Record] = []
            var size = RecordBatchHeader.size
            let overhead = 12   // length, attributes, timestamp and offset deltas, key/value lengths, header count
            while size + 2 * (recordSize + overhead) <= target {
                records.append(Record(offsetDelta: Int32(records.count), timestampDelta: Int64(records.count), value: value(recordSize)))
                size += recordSize + overhead
            }
            // One last record absorbs the remainder exactly.
            var lastSize = max(0, target - (try! RecordBatch(baseTimestamp: 1_700_000_000_000, records: records).encoded().readableBytes) - overhead)
            for _ in 0..<8 {
                let candidate = records + [Record(offsetDelta: Int32(records.count), timestampDelta: Int64(records.count), value: value(lastSize))]
                let encoded = try! RecordBatch(baseTimestamp: 1_700_000_000_000, records: candidate).encoded()
                if encoded.readableBytes == target { return encoded }
                lastSize = max(0, lastSize + target - encoded.readableBytes)
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

    /// The floor: the same batches written with one `pwrite` each and nothing else, to separate
    /// the log's own cost from the write system call's.
    func rawWriteRun(_ batches: [ByteBuffer], count: Int, path: String) throws -> Double {
        let file = try POSIXFileSystem().open(path, create: true)
        var position: Int64 = 0
        let start = ContinuousClock.now
        for i in 0..<count {
            let batch = batches[i % batches.count]
            try file.write(batch, at: position)
            position += Int64(batch.readableBytes)
        }
        return Double(position) / seconds(ContinuousClock.now - start)
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

    /// Reads the whole log the way the broker serves a fetch: 1 MiB slices sent with `sendfile`
    /// (here to /dev/null); the next offset comes from the next batch's header.
    func sendfileRun(directory: String) throws -> Double {
        let log = try PartitionLog(directory: directory, topic: "bench", partition: 0, config: LogConfig(), hadCleanShutdown: true)
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        var offset = log.logStartOffset
        var bytes = 0
        let start = ContinuousClock.now
        while offset < log.logEndOffset {
            guard let slice = try log.read(from: offset, maxBytes: 1 << 20).slice, let fd = slice.duplicateFileDescriptor() else { break }
            defer { close(fd) }
            var position = off_t(slice.position)
            var left = slice.length
            while left > 0 {
                let n = sendfile(devNull, fd, &position, left)
                guard n > 0 else { throw ValidationError("sendfile failed: errno \(errno)") }
                left -= n
            }
            bytes += slice.length
            var header = [UInt8](repeating: 0, count: 8)
            let got = pread(fd, &header, 8, position)
            offset = got == 8 ? header.reduce(Int64(0)) { $0 << 8 | Int64($1) } : log.logEndOffset
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

    /// Writes back every dirty page (`sync`) so the next timed run starts from the same state.
    func settle() throws {
        _ = try commandRun("sync", bytes: 0)
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
