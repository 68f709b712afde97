// samsa-log-crashtest: the child process of LogStorageTests' real `kill -9` test.
//
// Usage: samsa-log-crashtest <log-dir> <progress-file>
//
// Opens partition `crash-0` under <log-dir> through a LogManager (recovering it if the previous
// child was killed), then appends batches forever. Every record's value is the decimal offset
// the log must give it, so the parent can check that every offset holds exactly its own record.
// After each append returns, the new log end offset is written (20 digits, pwrite at 0) to
// <progress-file>: the parent kills this process with SIGKILL at a random moment and then
// requires the recovered log to reach at least the last offset written there, since a process
// crash loses nothing that is in the page cache. Background flushes and checkpoints run every
// few milliseconds so the kill also lands in the middle of those.
#if canImport(Glibc)
import Glibc
#endif
import KafkaProtocol
import LogStorage
import NIOCore

func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

let args = CommandLine.arguments
guard args.count == 3 else {
    printError("usage: samsa-log-crashtest <log-dir> <progress-file>")
    exit(2)
}
var config = LogManagerConfig(logDirs: [args[1]], recoveryThreads: 1)
config.defaultLogConfig.segmentBytes = 64 * 1024
config.defaultLogConfig.indexIntervalBytes = 512
config.defaultLogConfig.flushMs = 20
config.flushCheckIntervalMs = 5
config.recoveryPointCheckpointIntervalMs = 15
config.logStartOffsetCheckpointIntervalMs = 15
config.highWatermarkCheckpointIntervalMs = 15

do {
    let manager = try LogManager(config: config)
    manager.startBackgroundTasks()
    let log = try manager.getOrCreateLog(topic: "crash", partition: 0)
    let progress = open(args[2], O_WRONLY | O_CREAT, 0o644)
    guard progress >= 0 else { printError("cannot open \(args[2])"); exit(1) }
    var round: UInt64 = 0
    while true {
        let base = log.logEndOffset
        let count = Int(round % 7) + 1
        var records: [Record] = []
        for i in 0..<count {
            let padding = String(repeating: "p", count: Int((round &* 31 &+ UInt64(i)) % 300))
            records.append(Record(offsetDelta: Int32(i), key: ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: "\(base + Int64(i)) \(padding)")))
        }
        let batch = RecordBatch(baseTimestamp: Int64(round), records: records)
        let info = try log.append(try batch.encoded(), leaderEpoch: 1)
        log.highWatermark = info.lastOffset + 1
        var digits = Array(String(info.lastOffset + 1).utf8)
        digits = Array(repeating: UInt8(ascii: "0"), count: 20 - digits.count) + digits
        _ = digits.withUnsafeBytes { pwrite(progress, $0.baseAddress, 20, 0) }
        round &+= 1
    }
} catch {
    printError("samsa-log-crashtest: \(error)")
    exit(1)
}
