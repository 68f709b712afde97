import Dispatch
import Logging

/// A topic partition, as used for log lookup and checkpoint files. A value type; `Sendable`.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) { self.topic = topic; self.partition = partition }
    public var description: String { "\(topic)-\(partition)" }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}

/// Broker-level storage settings, with Kafka's keys and defaults. A value type; `Sendable`.
public struct LogManagerConfig: Sendable {
    /// `log.dirs` (or `log.dir`): one or more directories holding partition directories.
    public var logDirs: [String]
    /// The broker-wide defaults every topic's config starts from (`log.segment.bytes`, ...).
    public var defaultLogConfig: LogConfig
    /// Partitions opened concurrently at startup (Kafka: `num.recovery.threads.per.data.dir`,
    /// per directory; here one pool for all directories, default: 2 per CPU).
    public var recoveryThreads: Int
    /// `log.flush.scheduler.interval.ms`: how often `flush.ms` is checked.
    public var flushCheckIntervalMs: Int64 = 1000
    /// `log.retention.check.interval.ms`.
    public var retentionCheckIntervalMs: Int64 = 300_000
    /// `log.flush.offset.checkpoint.interval.ms`: recovery-point checkpoint period.
    public var recoveryPointCheckpointIntervalMs: Int64 = 60_000
    /// `log.flush.start.offset.checkpoint.interval.ms`.
    public var logStartOffsetCheckpointIntervalMs: Int64 = 60_000
    /// `replica.high.watermark.checkpoint.interval.ms`.
    public var highWatermarkCheckpointIntervalMs: Int64 = 5000
    /// `log.cleaner.backoff.ms`: pause between compaction passes.
    public var cleanerBackoffMs: Int64 = 15_000
    /// `log.cleaner.enable`.
    public var cleanerEnabled = true
    /// `producer.id.expiration.ms`: compaction keeps the last (possibly emptied) batch of a
    /// producer id only while that producer wrote within this time.
    public var producerIdExpirationMs: Int64 = PartitionLog.defaultProducerIdExpirationMs
    /// `log.max.open.segment.files` (Samsa; Kafka keeps every segment open): segment files
    /// kept open across all partitions, in one LRU cache. nil: from the open-file limit
    /// (``FileDescriptorLimit/defaultSegmentFileCacheSize(softLimit:)``).
    public var maxOpenSegmentFiles: Int?

    public init(logDirs: [String], defaultLogConfig: LogConfig = LogConfig(), recoveryThreads: Int? = nil) {
        self.logDirs = logDirs
        self.defaultLogConfig = defaultLogConfig
        self.recoveryThreads = recoveryThreads ?? max(2, 2 * ProcessInfoLite.activeProcessorCount)
    }

    /// Reads `log.dirs`/`log.dir` and the keys above from `server.properties` entries.
    public init(brokerProperties p: [String: String]) throws(LogConfigError) {
        let dirs = (p["log.dirs"] ?? p["log.dir"] ?? "/tmp/kafka-logs").split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        self.init(logDirs: dirs, defaultLogConfig: try LogConfig(brokerProperties: p))
        func long(_ key: String, _ into: inout Int64) throws(LogConfigError) {
            guard let v = p[key] else { return }
            guard let n = Int64(v.trimmingWhitespace()), n >= 0 else { throw .invalidValue(key: key, value: v, reason: "expected a non-negative integer") }
            into = n
        }
        try long("log.flush.scheduler.interval.ms", &flushCheckIntervalMs)
        try long("log.retention.check.interval.ms", &retentionCheckIntervalMs)
        try long("log.flush.offset.checkpoint.interval.ms", &recoveryPointCheckpointIntervalMs)
        try long("log.flush.start.offset.checkpoint.interval.ms", &logStartOffsetCheckpointIntervalMs)
        try long("replica.high.watermark.checkpoint.interval.ms", &highWatermarkCheckpointIntervalMs)
        try long("log.cleaner.backoff.ms", &cleanerBackoffMs)
        try long("producer.id.expiration.ms", &producerIdExpirationMs)
        if let v = p["log.max.open.segment.files"], v.trimmingWhitespace() != "-1" {
            guard let n = Int(v.trimmingWhitespace()), n >= 1 else {
                throw .invalidValue(key: "log.max.open.segment.files", value: v, reason: "expected a positive integer, or -1 for a size from the open-file limit")
            }
            maxOpenSegmentFiles = n
        }
        if let v = p["log.cleaner.enable"] { cleanerEnabled = v.trimmingWhitespace().lowercased() != "false" }
        if let v = p["num.recovery.threads.per.data.dir"], let n = Int(v), n > 0 { recoveryThreads = max(recoveryThreads, n * dirs.count) }
    }
}

/// Owns every ``PartitionLog`` of the broker, across all of `log.dirs`.
///
/// Per log directory it keeps Kafka's files: `recovery-point-offset-checkpoint`,
/// `log-start-offset-checkpoint`, `replication-offset-checkpoint` (high watermarks), and the
/// `.kafka_cleanshutdown` marker, written last by ``shutdown()`` and removed once the next start
/// has loaded the logs; without it every log re-validates the data past its recovery point.
///
/// Checkpoint format (Kafka's `CheckpointFile`/`OffsetCheckpointFile`), text, written atomically:
/// ```
/// 0                     version
/// 2                     number of entries
/// orders 0 1234         "<topic> <partition> <offset>"
/// orders 1 99
/// ```
///
/// Thread-safe: the map of logs is guarded by a lock; each log serialises its own writes.
public final class LogManager: @unchecked Sendable {
    static let cleanShutdownFile = ".kafka_cleanshutdown"
    static let recoveryPointFile = "recovery-point-offset-checkpoint"
    static let logStartOffsetFile = "log-start-offset-checkpoint"
    static let highWatermarkFile = "replication-offset-checkpoint"

    public let config: LogManagerConfig
    /// The open segment files of every log (bounded: see ``SegmentFileCache``).
    public let fileCache: SegmentFileCache
    let fileSystem: any FileSystem
    let clock: any LogClock
    private let logger: Logger
    private let lock = StorageLock()
    private var logs: [TopicPartition: PartitionLog] = [:]
    private var logDirOf: [TopicPartition: String] = [:]
    private var scheduler: (any LogScheduler)?
    private var isShutdown = false
    /// One per log directory, shared by its logs: the first I/O error takes it offline.
    private let dirHealth: [String: LogDirHealth]
    private var dirFailureHandler: (@Sendable (String, LogStorageError) -> Void)?
    /// Serialises checkpoint writers (the background task and explicit calls).
    private let checkpointLock = StorageLock()
    /// What each checkpoint file (by path) holds, as last read or written: an unchanged
    /// checkpoint is not rewritten (no fsync churn on an idle broker, and an idle broker
    /// restarted on a full disk does not fail on a `.tmp` file). Guarded by `checkpointLock`.
    private var checkpointContents: [String: String] = [:]
    /// How long opening took and what it found.
    public private(set) var startupSummary: StartupSummary

    public struct StartupSummary: Sendable {
        public var partitions: Int
        public var recoveredPartitions: Int
        public var durationMs: Int64
        /// Directories whose clean-shutdown marker was present.
        public var cleanDirectories: [String]
    }

    /// Opens every partition under `config.logDirs`, in parallel.
    ///
    /// - Parameter topicConfig: the config for a topic found on disk (from the broker's metadata);
    ///   nil means `config.defaultLogConfig`.
    public init(
        config: LogManagerConfig, fileSystem: any FileSystem = POSIXFileSystem(), clock: any LogClock = SystemLogClock(),
        logger: Logger = Logger(label: "samsa.logstorage"),
        topicConfig: @Sendable (String) -> LogConfig? = { _ in nil },
        leaderEpochBound: @Sendable (TopicPartition) -> Int32? = { _ in nil }
    ) throws(LogStorageError) {
        self.config = config
        self.fileCache = SegmentFileCache(capacity: config.maxOpenSegmentFiles ?? FileDescriptorLimit.defaultSegmentFileCacheSize())
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.dirHealth = Dictionary(config.logDirs.map { ($0, LogDirHealth(directory: $0)) }, uniquingKeysWith: { a, _ in a })
        self.startupSummary = StartupSummary(partitions: 0, recoveredPartitions: 0, durationMs: 0, cleanDirectories: [])
        let started = SystemMonotonic.nanoseconds()

        struct Job { var dir: String; var tp: TopicPartition; var clean: Bool; var recoveryPoint: Int64; var start: Int64?; var hw: Int64? }
        var jobs: [Job] = []
        var cleanDirs: [String] = []
        do throws(FileSystemError) {
            for dir in config.logDirs {
                try fileSystem.createDirectory(dir)
                let markerPath = joinPath(dir, Self.cleanShutdownFile)
                let clean = fileSystem.fileExists(markerPath)
                if clean { cleanDirs.append(dir) }
                let recovery = Self.readCheckpoint(fileSystem, joinPath(dir, Self.recoveryPointFile))
                let starts = Self.readCheckpoint(fileSystem, joinPath(dir, Self.logStartOffsetFile))
                let hws = Self.readCheckpoint(fileSystem, joinPath(dir, Self.highWatermarkFile))
                for name in [Self.recoveryPointFile, Self.logStartOffsetFile, Self.highWatermarkFile] {
                    let path = joinPath(dir, name)
                    if let text = try? fileSystem.readString(path) { checkpointContents[path] = text }
                }
                for name in try fileSystem.listDirectory(dir) {
                    let path = joinPath(dir, name)
                    if name.hasSuffix("-delete") {
                        // A topic deletion that a crash interrupted: finish it.
                        try fileSystem.removeDirectoryRecursively(path)
                        continue
                    }
                    // The KRaft metadata log lives beside the partitions (in the first log dir
                    // unless metadata.log.dir is set) but belongs to the quorum, never to the
                    // log manager: opening it here would make it a stray log to delete. Kafka's
                    // LogManager skips it the same way.
                    if name == Self.metadataLogDirectoryName { continue }
                    guard let tp = Self.parsePartitionDirectory(name), fileSystem.isDirectory(path) else { continue }
                    jobs.append(Job(dir: dir, tp: tp, clean: clean, recoveryPoint: recovery[tp] ?? 0, start: starts[tp], hw: hws[tp]))
                }
            }
        } catch {
            throw .storage(error)
        }

        // Open in parallel: each partition is independent, and recovery is mostly I/O.
        let opened = OpenResults(count: jobs.count)
        let workers = max(1, min(config.recoveryThreads, jobs.count))
        let fs = fileSystem, clk = clock, defaults = config.defaultLogConfig, cache = fileCache
        let jobList = jobs
        let health = dirHealth
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < jobList.count {
                let job = jobList[i]
                let result = Result { () throws(LogStorageError) -> PartitionLog in
                    try PartitionLog(directory: joinPath(job.dir, job.tp.description), topic: job.tp.topic, partition: job.tp.partition,
                                     config: topicConfig(job.tp.topic) ?? defaults, fileSystem: fs, clock: clk,
                                     hadCleanShutdown: job.clean, recoveryPoint: job.recoveryPoint,
                                     logStartOffset: job.start, highWatermark: job.hw,
                                     maxLeaderEpoch: leaderEpochBound(job.tp), dirHealth: health[job.dir], fileCache: cache)
                }
                opened.set(i, result)
                i += workers
            }
        }
        var recovered = 0
        var failures: [(TopicPartition, String, LogStorageError)] = []
        for (i, job) in jobs.enumerated() {
            switch opened.get(i) {
            case .success(let log):
                log.setLogStartOffsetListener { [weak self] in self?.checkpoint(Self.logStartOffsetFile) }
                logs[job.tp] = log
                logDirOf[job.tp] = job.dir
                if log.recoverySummary.recovered { recovered += 1 }
                if let reason = log.recoverySummary.reason {
                    logger.warning("recovered \(job.tp): truncated \(log.recoverySummary.truncatedBytes) bytes: \(reason)")
                }
                if let problem = log.epochCheckpointProblem { logger.warning("\(job.tp): \(problem)") }
            case .failure(let error):
                failures.append((job.tp, job.dir, error))
            case nil:
                failures.append((job.tp, job.dir, .closed))
            }
        }
        // A log that cannot be loaded is a storage failure, never a reason to drop it: name
        // each one, close what did load (without the clean-shutdown marker: nothing was
        // checked) and refuse to start. Its files are untouched.
        if let (_, _, first) = failures.first {
            for (tp, dir, error) in failures.prefix(20) { logger.critical("Could not load log \(tp) in \(dir): \(error)") }
            if failures.count > 20 { logger.critical("... and \(failures.count - 20) more logs could not be loaded") }
            for log in logs.values { try? log.close() }
            throw first
        }
        // Only now is it safe to forget the clean shutdown: a crash from here on must recover.
        do throws(FileSystemError) {
            for dir in cleanDirs {
                try fileSystem.removeFile(joinPath(dir, Self.cleanShutdownFile))
                try fileSystem.syncDirectory(dir)
            }
        } catch {
            throw .storage(error)
        }
        startupSummary = StartupSummary(partitions: jobs.count, recoveredPartitions: recovered,
                                        durationMs: (SystemMonotonic.nanoseconds() - started) / 1_000_000, cleanDirectories: cleanDirs)
        logger.info("loaded \(jobs.count) partitions (\(recovered) recovered) in \(startupSummary.durationMs) ms")
        for health in dirHealth.values {
            health.setListener { [weak self] dir, error in self?.logDirFailed(dir, error) }
        }
    }

    // MARK: Log directory failures

    /// Sets what runs (once per directory) when a log directory goes offline after an I/O
    /// error; the broker stops when no directory is left. Runs on the failing thread: it must
    /// not call back into a log.
    public func setLogDirFailureHandler(_ handler: (@Sendable (String, LogStorageError) -> Void)?) {
        lock.withLock { dirFailureHandler = handler }
    }

    /// Log directories taken offline by an I/O error since start-up.
    public var offlineLogDirs: [String] { config.logDirs.filter { dirHealth[$0]?.isOffline == true } }

    /// Whether `dir` is still usable.
    public func isOnline(_ dir: String) -> Bool { dirHealth[dir]?.isOffline != true }

    private func logDirFailed(_ dir: String, _ error: LogStorageError) {
        let count = lock.withLock { logDirOf.values.filter { $0 == dir }.count }
        logger.critical("Log directory \(dir) failed: \(error). Its \(count) partition(s) are offline (writes answer KAFKA_STORAGE_ERROR) until the broker is restarted.")
        let handler = lock.withLock { dirFailureHandler }
        handler?(dir, error)
    }

    /// `orders-3` -> (orders, 3). Topic names may contain `-`; the partition is after the last one.
    /// `__cluster_metadata-0`: the KRaft metadata log's directory, which the log manager never opens.
    public static let metadataLogDirectoryName = "__cluster_metadata-0"

    static func parsePartitionDirectory(_ name: String) -> TopicPartition? {
        guard let dash = name.lastIndex(of: "-"), dash != name.startIndex else { return nil }
        guard let partition = Int32(name[name.index(after: dash)...]), partition >= 0 else { return nil }
        let topic = String(name[..<dash])
        guard Self.isValidTopicName(topic) else { return nil }
        return TopicPartition(topic: topic, partition: partition)
    }

    /// Kafka's rule: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
    public static func isValidTopicName(_ topic: String) -> Bool {
        guard !topic.isEmpty, topic.utf8.count <= 249, topic != ".", topic != ".." else { return false }
        return topic.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }

    // MARK: Logs

    public func log(topic: String, partition: Int32) -> PartitionLog? {
        lock.withLock { logs[TopicPartition(topic: topic, partition: partition)] }
    }

    /// The partition's log, created (in the log directory with the fewest partitions) when missing.
    public func getOrCreateLog(topic: String, partition: Int32, config logConfig: LogConfig? = nil) throws(LogStorageError) -> PartitionLog {
        guard Self.isValidTopicName(topic), partition >= 0 else { throw .invalidTopic(topic) }
        let tp = TopicPartition(topic: topic, partition: partition)
        return try lock.withLock { () throws(LogStorageError) -> PartitionLog in
            if isShutdown { throw .closed }
            if let existing = logs[tp] { return existing }
            var counts: [String: Int] = Dictionary(uniqueKeysWithValues: config.logDirs.map { ($0, 0) })
            for dir in logDirOf.values { counts[dir, default: 0] += 1 }
            let dir = config.logDirs.min { (counts[$0] ?? 0, $0) < (counts[$1] ?? 0, $1) } ?? config.logDirs[0]
            if let failure = dirHealth[dir]?.failure { throw failure }
            let log = try PartitionLog(directory: joinPath(dir, tp.description), topic: topic, partition: partition,
                                       config: logConfig ?? config.defaultLogConfig, fileSystem: fileSystem, clock: clock,
                                       hadCleanShutdown: false, recoveryPoint: 0, dirHealth: dirHealth[dir], fileCache: fileCache)
            log.setLogStartOffsetListener { [weak self] in self?.checkpoint(Self.logStartOffsetFile) }
            logs[tp] = log
            logDirOf[tp] = dir
            return log
        }
    }

    /// Deletes the partition's log and its files (topic deletion). Returns false when unknown.
    @discardableResult
    public func deleteLog(topic: String, partition: Int32) throws(LogStorageError) -> Bool {
        let tp = TopicPartition(topic: topic, partition: partition)
        let removed: PartitionLog? = lock.withLock {
            logDirOf[tp] = nil
            return logs.removeValue(forKey: tp)
        }
        guard let removed else { return false }
        try removed.deleteFiles(deleteSuffix: String(clock.milliseconds()))
        return true
    }

    public var allLogs: [PartitionLog] { lock.withLock { Array(logs.values) } }

    public var topicPartitions: [TopicPartition] { lock.withLock { logs.keys.sorted() } }

    /// Bytes per partition.
    public func partitionSizes() -> [TopicPartition: Int64] {
        let snapshot = lock.withLock { logs }
        return snapshot.mapValues(\.size)
    }

    /// Bytes of partition data per log directory (every configured directory appears).
    public func logDirSizes() -> [String: Int64] {
        let (snapshot, dirs) = lock.withLock { (logs, logDirOf) }
        var result = Dictionary(uniqueKeysWithValues: config.logDirs.map { ($0, Int64(0)) })
        for (tp, log) in snapshot { result[dirs[tp] ?? "", default: 0] += log.size }
        return result
    }

    /// The log directory holding a partition.
    public func logDirectory(topic: String, partition: Int32) -> String? {
        lock.withLock { logDirOf[TopicPartition(topic: topic, partition: partition)] }
    }

    // MARK: Background work

    /// Starts the periodic tasks: flush (`flush.ms`), retention and `.deleted` file removal,
    /// compaction, and the three checkpoints.
    public func startBackgroundTasks(scheduler: any LogScheduler = DispatchLogScheduler()) {
        lock.withLock { self.scheduler = scheduler }
        scheduler.schedule(name: "flush", initialDelayMs: config.flushCheckIntervalMs, periodMs: config.flushCheckIntervalMs) { [weak self] in
            self?.flushDueLogs()
        }
        scheduler.schedule(name: "retention", initialDelayMs: config.retentionCheckIntervalMs, periodMs: config.retentionCheckIntervalMs) { [weak self] in
            self?.applyRetention()
        }
        scheduler.schedule(name: "recovery-point-checkpoint", initialDelayMs: config.recoveryPointCheckpointIntervalMs,
                           periodMs: config.recoveryPointCheckpointIntervalMs) { [weak self] in
            self?.checkpoint(Self.recoveryPointFile)
        }
        scheduler.schedule(name: "log-start-offset-checkpoint", initialDelayMs: config.logStartOffsetCheckpointIntervalMs,
                           periodMs: config.logStartOffsetCheckpointIntervalMs) { [weak self] in
            self?.checkpoint(Self.logStartOffsetFile)
        }
        scheduler.schedule(name: "high-watermark-checkpoint", initialDelayMs: config.highWatermarkCheckpointIntervalMs,
                           periodMs: config.highWatermarkCheckpointIntervalMs) { [weak self] in
            self?.checkpoint(Self.highWatermarkFile)
        }
        if config.cleanerEnabled {
            scheduler.schedule(name: "cleaner", initialDelayMs: config.cleanerBackoffMs, periodMs: config.cleanerBackoffMs) { [weak self] in
                self?.compactLogs()
            }
        }
    }

    /// Flushes every log whose `flush.ms` has passed, and removes expired `.deleted` files.
    public func flushDueLogs() {
        for log in allLogs {
            do throws(LogStorageError) { try log.flushIfDue() } catch {
                // A log deleted or closed since the snapshot was taken is not an error.
                if error != .closed { logger.error("flush of \(log.topic)-\(log.partition) failed: \(error)") }
            }
            log.removeExpiredDeletedFiles()
        }
    }

    /// One retention pass over every log. Returns the number of segments deleted.
    @discardableResult
    public func applyRetention() -> Int {
        var deleted = 0
        for log in allLogs {
            do throws(LogStorageError) { deleted += try log.applyRetention() } catch {
                if error != .closed { logger.error("retention of \(log.topic)-\(log.partition) failed: \(error)") }
            }
            log.removeExpiredDeletedFiles()
        }
        if deleted > 0 { checkpoint(Self.logStartOffsetFile) }
        return deleted
    }

    /// One compaction pass over every log whose cleanup.policy includes compact. Returns the
    /// number of logs compacted.
    @discardableResult
    public func compactLogs() -> Int {
        var compacted = 0
        for log in allLogs where log.config.cleanupPolicy.contains(.compact) {
            do throws(LogStorageError) {
                if try log.compact(producerIdExpirationMs: config.producerIdExpirationMs) != nil { compacted += 1 }
            } catch {
                if error != .closed { logger.error("compaction of \(log.topic)-\(log.partition) failed: \(error)") }
            }
        }
        return compacted
    }

    /// Writes all three checkpoint files now (e.g. after DeleteRecords).
    public func writeCheckpoints() {
        checkpoint(Self.recoveryPointFile)
        checkpoint(Self.logStartOffsetFile)
        checkpoint(Self.highWatermarkFile)
    }

    private func checkpoint(_ fileName: String) {
        let (snapshot, dirs) = lock.withLock { (logs, logDirOf) }
        checkpointLock.withLock {
            for dir in config.logDirs where isOnline(dir) {
                var entries: [(TopicPartition, Int64)] = []
                for (tp, log) in snapshot where dirs[tp] == dir {
                    switch fileName {
                    case Self.recoveryPointFile: entries.append((tp, log.recoveryPoint))
                    case Self.logStartOffsetFile: entries.append((tp, log.logStartOffset))
                    default: entries.append((tp, log.highWatermark))
                    }
                }
                entries.sort { $0.0 < $1.0 }
                var text = "0\n\(entries.count)\n"
                for (tp, offset) in entries { text += "\(tp.topic) \(tp.partition) \(offset)\n" }
                let path = joinPath(dir, fileName)
                if checkpointContents[path] == text { continue }
                do throws(FileSystemError) {
                    try fileSystem.writeAtomically(path, contents: text)
                    checkpointContents[path] = text
                } catch {
                    logger.error("writing \(fileName) in \(dir) failed: \(error)")
                    dirHealth[dir]?.fail(.storage(error))
                }
            }
        }
    }

    static func readCheckpoint(_ fileSystem: any FileSystem, _ path: String) -> [TopicPartition: Int64] {
        guard let text = try? fileSystem.readString(path) else { return [:] }
        let lines = text.split(separator: "\n")
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count == lines.count - 2 else { return [:] }
        var result: [TopicPartition: Int64] = [:]
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let p = Int32(parts[1]), let o = Int64(parts[2]) else { return [:] }
            result[TopicPartition(topic: String(parts[0]), partition: p)] = o
        }
        return result
    }

    // MARK: Shutdown

    /// Stops the background tasks, flushes and closes every log, writes the checkpoints and
    /// then the clean-shutdown marker, so the next start skips recovery.
    ///
    /// With `writeCleanShutdownMarker` false (stopping after a storage failure, or a start-up
    /// that failed) the logs are closed but no marker is written: the next start re-validates.
    public func shutdown(writeCleanShutdownMarker: Bool = true) throws(LogStorageError) {
        let (sched, snapshot): ((any LogScheduler)?, [PartitionLog]) = lock.withLock {
            isShutdown = true
            return (scheduler, Array(logs.values))
        }
        sched?.shutdown()
        // Close (flush) in parallel: thousands of fsyncs overlap far better than in a row.
        let errors = OpenResults(count: 0)
        let workers = max(1, min(config.recoveryThreads, snapshot.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < snapshot.count {
                do throws(LogStorageError) { try snapshot[i].close() } catch { errors.recordError(error) }
                i += workers
            }
        }
        let firstError = errors.firstError
        if let firstError { logger.error("closing logs failed: \(firstError)") }
        writeCheckpoints()
        // A log that failed to close must be recovered next time: no marker for its directory,
        // nor for a directory that went offline.
        guard firstError == nil else { throw firstError! }
        if let offline = offlineLogDirs.first, let failure = dirHealth[offline]?.failure { throw failure }
        guard writeCleanShutdownMarker else { return }
        do throws(FileSystemError) {
            for dir in config.logDirs {
                let file = try fileSystem.open(joinPath(dir, Self.cleanShutdownFile), create: true)
                try file.sync()
                try fileSystem.syncDirectory(dir)
            }
        } catch {
            throw .storage(error)
        }
    }
}

/// Per-index results written from `concurrentPerform` workers.
private final class OpenResults: @unchecked Sendable {
    private let lock = StorageLock()
    private var results: [Result<PartitionLog, LogStorageError>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<PartitionLog, LogStorageError>) { lock.withLock { results[i] = r } }
    func get(_ i: Int) -> Result<PartitionLog, LogStorageError>? { lock.withLock { results[i] } }
    private var errors: [LogStorageError] = []
    func recordError(_ e: LogStorageError) { lock.withLock { errors.append(e) } }
    var firstError: LogStorageError? { lock.withLock { errors.first } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time for measuring durations (not injected: only used for log messages and figures).
enum SystemMonotonic {
    static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

enum ProcessInfoLite {
    static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
