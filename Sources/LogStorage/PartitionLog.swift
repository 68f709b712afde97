import KafkaProtocol
import NIOCore

/// The durable log of one partition: an ordered list of ``LogSegment``s in
/// `<log.dir>/<topic>-<partition>/`, the last of which (the active segment) takes appends.
///
/// Offsets: `logStartOffset` <= `highWatermark` <= `logEndOffset` (LEO). The log assigns offsets
/// on leader appends; replicated appends keep the leader's. `recoveryPoint` is the offset below
/// which every byte is known to be fsynced: recovery after an unclean shutdown re-validates only
/// the segments at or after it.
///
/// Thread-safe: every public method takes the internal lock, so writes to one partition are
/// serialised and reads see whole appends. Reads hand back a ``LogSlice`` whose bytes are read
/// (or sent with `sendfile`) after the lock is released. The compactor builds cleaned segments
/// outside the lock and swaps them in under it.
public final class PartitionLog: @unchecked Sendable {
    public let topic: String
    public let partition: Int32
    /// The partition directory, `<log.dir>/<topic>-<partition>`.
    public let directory: String
    let fileSystem: any FileSystem
    let clock: any LogClock
    /// The broker's shared cache of open segment files (nil: each segment keeps its own open).
    let fileCache: SegmentFileCache?
    /// Shared with the other logs of the same log directory.
    public let dirHealth: LogDirHealth

    let lock = StorageLock()
    // Everything below is guarded by `lock`.
    var _config: LogConfig
    var segments: [LogSegment]
    var _logStartOffset: Int64
    var _logEndOffset: Int64
    var _highWatermark: Int64
    var _recoveryPoint: Int64
    var unflushedRecords: Int64 = 0
    var lastFlushMs: Int64
    var epochCache: LeaderEpochCache
    var pendingDeletions: [(dueMs: Int64, paths: [String])] = []
    var failure: LogStorageError?
    var isClosed = false
    /// The partition directory was created by this object and its entry in the log directory is
    /// not yet known to be durable: the first flush fsyncs the log directory.
    var needsParentDirectorySync = false
    /// Bumped whenever segments are removed or truncated, so the cleaner can tell whether the
    /// segments it compacted are still the log's.
    var generation: UInt64 = 0
    /// Called (outside the lock) after DeleteRecords moved the log start offset.
    var logStartOffsetListener: (@Sendable () -> Void)?
    /// The offset up to which the log has been compacted (in memory; a restart recompacts once).
    var cleanerCheckpoint: Int64 = 0
    /// What recovery did at open, for logs and tests.
    public private(set) var recoverySummary: RecoverySummary
    /// Set at open when `leader-epoch-checkpoint` was missing, empty or malformed in a log with
    /// data (the cache was rebuilt from the batches): the log manager prints it as a warning.
    public private(set) var epochCheckpointProblem: String?

    /// What opening the log found.
    public struct RecoverySummary: Equatable, Sendable {
        /// Whether the segments past the recovery point were re-validated.
        public var recovered: Bool
        /// Segments re-validated.
        public var segmentsRecovered: Int
        /// Bytes cut from the end of the log (torn or corrupt batches and what followed them).
        public var truncatedBytes: Int64
        /// Segments deleted because they followed a corrupt batch.
        public var segmentsDeleted: Int
        /// Why the log was cut, if it was.
        public var reason: String?
    }

    // MARK: Opening

    /// Opens (or creates) the log in `directory`.
    ///
    /// - Parameters:
    ///   - hadCleanShutdown: the log directory's clean-shutdown marker was present, so the index
    ///     files and the recovery point can be trusted and nothing is re-validated.
    ///   - recoveryPoint: from `recovery-point-offset-checkpoint` (0 when unknown).
    ///   - logStartOffset: from `log-start-offset-checkpoint` (nil when unknown).
    ///   - highWatermark: from `replication-offset-checkpoint` (nil when unknown).
    ///   - maxLeaderEpoch: the partition's leader epoch in the broker's metadata, which is
    ///     durable before any batch of that epoch is written: recovery cuts at a batch claiming a
    ///     newer epoch (the epoch field is not covered by the CRC). nil: no upper bound.
    ///   - dirHealth: shared by the logs of one log directory (see ``LogDirHealth``).
    public init(
        directory: String, topic: String, partition: Int32, config: LogConfig,
        fileSystem: any FileSystem = POSIXFileSystem(), clock: any LogClock = SystemLogClock(),
        hadCleanShutdown: Bool = false, recoveryPoint: Int64 = 0,
        logStartOffset: Int64? = nil, highWatermark: Int64? = nil,
        maxLeaderEpoch: Int32? = nil, dirHealth: LogDirHealth? = nil,
        fileCache: SegmentFileCache? = nil
    ) throws(LogStorageError) {
        self.fileCache = fileCache
        self.dirHealth = dirHealth ?? LogDirHealth(directory: parentDirectory(of: directory))
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.fileSystem = fileSystem
        self.clock = clock
        self._config = config
        let now = clock.milliseconds()
        self.lastFlushMs = now
        do {
            needsParentDirectorySync = !fileSystem.isDirectory(directory)
            try fileSystem.createDirectory(directory)
            epochCache = try LeaderEpochCache(fileSystem: fileSystem, directory: directory, deferWrites: true)
            var summary = RecoverySummary(recovered: false, segmentsRecovered: 0, truncatedBytes: 0, segmentsDeleted: 0, reason: nil)
            segments = try Self.loadSegments(fileSystem: fileSystem, directory: directory, nowMs: now, fileCache: fileCache)
            if segments.isEmpty {
                segments = [try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: logStartOffset ?? 0, nowMs: now,
                                                  fileCache: fileCache)]
            }
            _logStartOffset = 0; _logEndOffset = 0; _highWatermark = 0; _recoveryPoint = 0
            recoverySummary = summary
            if hadCleanShutdown {
                if epochCache.needsRebuild { _ = try relearnEpochs(segmentsBefore: segments.count, config: config) }
                try segments.last!.ensureIndexes(indexIntervalBytes: config.indexIntervalBytes)
                _logEndOffset = try segments.last!.nextOffset(indexIntervalBytes: config.indexIntervalBytes)
                _recoveryPoint = _logEndOffset
            } else {
                summary = try recover(fromRecoveryPoint: recoveryPoint, config: config, maxLeaderEpoch: maxLeaderEpoch)
                recoverySummary = summary
            }
            _logStartOffset = min(max(logStartOffset ?? segments[0].baseOffset, segments[0].baseOffset), _logEndOffset)
            _highWatermark = min(max(highWatermark ?? _logStartOffset, _logStartOffset), _logEndOffset)
            cleanerCheckpoint = _logStartOffset
            try epochCache.truncate(fromEnd: _logEndOffset)
            try epochCache.truncate(fromStart: _logStartOffset)
            // Only a log holding batches makes a missing checkpoint worth a warning.
            if let problem = epochCache.loadProblem, _logEndOffset > _logStartOffset {
                epochCheckpointProblem = "\(problem); rebuilt the leader epoch cache from the record batches"
            }
            try epochCache.finishLoading()
        } catch let error as FileSystemError {
            throw .storage(error)
        } catch let error as LogStorageError {
            throw error
        } catch {
            throw .storage(FileSystemError(operation: "open log", path: directory, errno: 0))
        }
    }

    /// Lists the segments, finishing or discarding what an interrupted operation left behind:
    /// `.deleted` and `.cleaned` files go; a `.swap` file (the last step of compaction) replaces the
    /// segments it covers; index files without a `.log` go.
    static func loadSegments(fileSystem: any FileSystem, directory: String, nowMs: Int64,
                             fileCache: SegmentFileCache? = nil) throws(FileSystemError) -> [LogSegment] {
        var names = try fileSystem.listDirectory(directory)
        var changed = false
        for name in names where name.hasSuffix(LogSegment.deletedSuffix) || name.hasSuffix(LogSegment.cleanedSuffix) || name.hasSuffix(".tmp") {
            try fileSystem.removeFile(joinPath(directory, name)); changed = true
        }
        let swaps = names.compactMap { LogSegment.baseOffset(fromFileName: $0, suffix: LogSegment.logSuffix + LogSegment.swapSuffix) }.sorted()
        if !swaps.isEmpty {
            try completeSwaps(swaps, fileSystem: fileSystem, directory: directory, names: names)
            changed = true
        }
        if changed { names = try fileSystem.listDirectory(directory); try fileSystem.syncDirectory(directory) }
        let bases = Set(names.compactMap { LogSegment.baseOffset(fromFileName: $0, suffix: LogSegment.logSuffix) })
        for name in names {
            let base = LogSegment.baseOffset(fromFileName: name, suffix: LogSegment.indexSuffix)
                ?? LogSegment.baseOffset(fromFileName: name, suffix: LogSegment.timeIndexSuffix)
            if let base, !bases.contains(base) { try fileSystem.removeFile(joinPath(directory, name)) }
        }
        return bases.sorted().map {
            LogSegment.existing(fileSystem: fileSystem, directory: directory, baseOffset: $0, nowMs: nowMs, fileCache: fileCache)
        }
    }

    /// A `.log.swap` file holds compacted data replacing every segment whose base offset lies in
    /// [swap base, swap next offset). It only exists once fully written and fsynced, so finishing
    /// the swap is always safe: remove the replaced segments, rename the swap file into place.
    private static func completeSwaps(_ swaps: [Int64], fileSystem: any FileSystem, directory: String, names: [String]) throws(FileSystemError) {
        let logBases = names.compactMap { LogSegment.baseOffset(fromFileName: $0, suffix: LogSegment.logSuffix) }
        for (i, base) in swaps.enumerated() {
            let swapPath = joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix + LogSegment.swapSuffix))
            let file = try fileSystem.open(swapPath, create: false)
            var scanner = BatchScanner(file: file, from: 0, to: try file.size(), wantBodies: false)
            var next = base
            while let result = try scanner.next() {
                guard case .success(let batch) = result else { break }
                next = batch.header.nextOffset
            }
            let limit = i + 1 < swaps.count ? min(next, swaps[i + 1]) : next
            for old in logBases where old >= base && (old < limit || old == base) {
                for suffix in [LogSegment.logSuffix, LogSegment.indexSuffix, LogSegment.timeIndexSuffix] {
                    try fileSystem.removeFile(joinPath(directory, LogSegment.fileName(old, suffix)))
                }
            }
            try fileSystem.rename(swapPath, to: joinPath(directory, LogSegment.fileName(base, LogSegment.logSuffix)))
        }
    }

    /// Learns the leader epochs of `segments[0..<end]` from their batch headers (no CRC check:
    /// these segments are below the recovery point, or were shut down cleanly), for a log whose
    /// `leader-epoch-checkpoint` was missing or malformed. A damaged header ends the scan of
    /// that segment and cuts nothing. Returns the epoch of the last batch seen (-1: none).
    private func relearnEpochs(segmentsBefore end: Int, config: LogConfig) throws(FileSystemError) -> Int32 {
        var last: Int32 = -1
        for segment in segments[0..<end] where segment.size > 0 {
            try segment.forEachBatchHeader { (header: RecordBatchHeader) throws(FileSystemError) in
                try epochCache.assign(epoch: header.partitionLeaderEpoch, startOffset: header.baseOffset)
                last = max(last, header.partitionLeaderEpoch)
            }
        }
        return last
    }

    /// Re-validates every segment from the one holding `recoveryPoint` to the end, cutting the log
    /// at the first bad batch and deleting every later segment.
    ///
    /// The leader epoch of a batch (`partitionLeaderEpoch`) is not covered by its CRC, so it is
    /// checked against what the log itself and the broker's metadata say, never against
    /// `leader-epoch-checkpoint` (a cache that may be missing, stale or garbled): epochs never
    /// decrease along the log (the lower bound is the last batch before the recovered segments)
    /// and never exceed `maxLeaderEpoch`, the partition's epoch in the metadata.
    private func recover(fromRecoveryPoint recoveryPoint: Int64, config: LogConfig, maxLeaderEpoch: Int32?) throws -> RecoverySummary {
        var summary = RecoverySummary(recovered: true, segmentsRecovered: 0, truncatedBytes: 0, segmentsDeleted: 0, reason: nil)
        let startIndex = segmentIndex(containing: recoveryPoint)
        var expectedNext: Int64? = nil
        let maxEpoch = maxLeaderEpoch ?? Int32.max
        var previousEpoch: Int32 = -1
        if epochCache.needsRebuild {
            previousEpoch = try relearnEpochs(segmentsBefore: startIndex, config: config)
        } else if startIndex > 0 {
            previousEpoch = try segments[startIndex - 1].lastBatchHeader(indexIntervalBytes: config.indexIntervalBytes)?.partitionLeaderEpoch ?? -1
        }
        var i = startIndex
        while i < segments.count {
            let segment = segments[i]
            if let expected = expectedNext, segment.baseOffset < expected {
                // Overlaps its predecessor: cannot be a segment this log wrote in order.
                summary.reason = summary.reason ?? "segment \(segment.baseOffset) overlaps offsets up to \(expected)"
                try deleteSegments(from: i, summary: &summary)
                break
            }
            var epochs: [(Int32, Int64)] = []
            let (truncated, stop) = try segment.recover(indexIntervalBytes: config.indexIntervalBytes,
                                                        previousEpoch: &previousEpoch, maxEpoch: maxEpoch) { header in
                epochs.append((header.partitionLeaderEpoch, header.baseOffset))
            }
            summary.segmentsRecovered += 1
            summary.truncatedBytes += truncated
            for (epoch, offset) in epochs { try epochCache.assign(epoch: epoch, startOffset: offset) }
            expectedNext = try segment.nextOffset(indexIntervalBytes: config.indexIntervalBytes)
            if let stop {
                // Everything after a torn or corrupt batch was written later and never fsynced
                // (rolls fsync the old segment first), so it goes too.
                summary.reason = "segment \(segment.baseOffset): \(stop.reason) at byte \(stop.position)"
                try deleteSegments(from: i + 1, summary: &summary)
                break
            }
            i += 1
        }
        let last = segments.last!
        try last.ensureIndexes(indexIntervalBytes: config.indexIntervalBytes)
        _logEndOffset = try last.nextOffset(indexIntervalBytes: config.indexIntervalBytes)
        // What was just validated may still be only in the page cache (after a kill -9), so the
        // recovery point stays where it was: a later crash re-validates it again. Nothing is
        // fsynced here, which keeps opening thousands of partitions fast.
        _recoveryPoint = min(max(recoveryPoint, segments[startIndex].baseOffset), _logEndOffset)
        return summary
    }

    private func deleteSegments(from index: Int, summary: inout RecoverySummary) throws(FileSystemError) {
        guard index < segments.count else { return }
        for later in segments[index...] {
            summary.truncatedBytes += later.size
            summary.segmentsDeleted += 1
            for path in [later.logPath, later.offsetIndex.path, later.timeIndex.path] { try fileSystem.removeFile(path) }
        }
        segments.removeLast(segments.count - index)
        try fileSystem.syncDirectory(directory)
        if segments.isEmpty {
            // Only possible when the first segment overlapped nothing; keep an empty log.
            segments = [try LogSegment.create(fileSystem: fileSystem, directory: directory, baseOffset: 0, nowMs: clock.milliseconds(),
                                              fileCache: fileCache)]
        }
    }

    // MARK: State

    public var config: LogConfig { lock.withLock { _config } }

    /// Applies new topic configs (AlterConfigs); takes effect on the next append or background pass.
    public func updateConfig(_ config: LogConfig) { lock.withLock { _config = config } }

    public var logStartOffset: Int64 { lock.withLock { _logStartOffset } }
    public var logEndOffset: Int64 { lock.withLock { _logEndOffset } }
    /// Offset below which every byte is fsynced.
    public var recoveryPoint: Int64 { lock.withLock { _recoveryPoint } }

    /// The high watermark the broker maintains. Setting clamps into [log start offset, LEO].
    public var highWatermark: Int64 {
        get { lock.withLock { _highWatermark } }
        set { lock.withLock { _highWatermark = min(max(newValue, _logStartOffset), _logEndOffset) } }
    }

    /// Sets the high watermark (clamped) and returns the value it now has.
    @discardableResult
    public func updateHighWatermark(_ offset: Int64) -> Int64 {
        lock.withLock {
            _highWatermark = min(max(offset, _logStartOffset), _logEndOffset)
            return _highWatermark
        }
    }

    /// Bytes in all segments.
    public var size: Int64 { lock.withLock { segments.reduce(0) { $0 + $1.size } } }
    public var segmentCount: Int { lock.withLock { segments.count } }
    /// Base offsets of the segments, oldest first.
    public var segmentBaseOffsets: [Int64] { lock.withLock { segments.map(\.baseOffset) } }

    /// Leader epoch entries (epoch, start offset), oldest first.
    public var leaderEpochEntries: [EpochEntry] { lock.withLock { epochCache.entries } }
    public var latestEpoch: Int32? { lock.withLock { epochCache.latestEpoch } }

    /// OffsetForLeaderEpoch: the largest epoch <= `epoch` and where it ends; (-1, -1) when unknown.
    public func endOffset(forEpoch epoch: Int32) -> (epoch: Int32, endOffset: Int64) {
        lock.withLock { epochCache.endOffset(forEpoch: epoch, logEndOffset: _logEndOffset) }
    }

    /// Records that `epoch` starts at the current LEO (a new leader does this on election).
    public func assignEpochStartOffset(epoch: Int32) throws(LogStorageError) {
        try withLog { () throws(FileSystemError) in _ = try epochCache.assign(epoch: epoch, startOffset: _logEndOffset) }
    }

    /// Sets the hook run after DeleteRecords moves the log start offset (the log manager uses it
    /// to checkpoint the new start offset at once).
    public func setLogStartOffsetListener(_ listener: (@Sendable () -> Void)?) {
        lock.withLock { logStartOffsetListener = listener }
    }

    /// Index of the last segment whose base offset is <= `offset` (0 when none): the segment that
    /// holds `offset` if any does. Binary search, as logs can have thousands of segments.
    func segmentIndex(containing offset: Int64) -> Int {
        var lo = 0, hi = segments.count - 1, found = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if segments[mid].baseOffset <= offset { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    /// Runs `body` under the lock, mapping disk errors and refusing work on a closed or failed log.
    func withLog<T>(_ body: () throws(FileSystemError) -> T) throws(LogStorageError) -> T {
        try lock.withLock { () throws(LogStorageError) -> T in
            if isClosed { throw .closed }
            if let failure = currentFailure { throw failure }
            do throws(FileSystemError) { return try body() } catch {
                throw recordFailure(error)
            }
        }
    }

    /// This log's own failure, else its directory's (another log there hit an I/O error).
    /// Must be called with the lock held.
    var currentFailure: LogStorageError? { failure ?? dirHealth.failure }

    /// Marks the log failed after an I/O error and takes its log directory offline (every log
    /// there refuses writes from now on, as Kafka's `LogDirFailureChannel` does). Must be called
    /// with the lock held; returns the error to throw.
    func recordFailure(_ error: FileSystemError) -> LogStorageError {
        let storageError = LogStorageError.storage(error)
        if failure == nil { failure = storageError }
        dirHealth.fail(storageError)
        return storageError
    }
}

/// The health of one log directory, shared by every ``PartitionLog`` in it (Kafka's
/// `LogDirFailureChannel`): the first I/O error of any of them (EIO, ENOSPC, EMFILE...) takes
/// the whole directory offline, since the cause (a failing or full disk) is the directory's,
/// not the partition's. From then on every write to a log there throws
/// ``LogStorageError/storage(_:)`` (KAFKA_STORAGE_ERROR); reads of data already written keep
/// being served while the files can still be read. Only a restart brings it back.
///
/// Thread-safe. The listener runs once, on the thread that hit the error, while that log's
/// lock is held: it must not call back into any ``PartitionLog``.
public final class LogDirHealth: @unchecked Sendable {
    public let directory: String
    private let lock = StorageLock()
    private var _failure: LogStorageError?
    private var listener: (@Sendable (String, LogStorageError) -> Void)?

    public init(directory: String) { self.directory = directory }

    /// The error that took the directory offline, nil while it is online.
    public var failure: LogStorageError? { lock.withLock { _failure } }
    public var isOffline: Bool { failure != nil }

    /// Sets what to run when the directory goes offline (once).
    public func setListener(_ listener: (@Sendable (String, LogStorageError) -> Void)?) {
        lock.withLock { self.listener = listener }
    }

    /// Takes the directory offline with `error`; only the first call has an effect. Returns
    /// whether this call did it.
    @discardableResult
    public func fail(_ error: LogStorageError) -> Bool {
        let notify: ((@Sendable (String, LogStorageError) -> Void)?)? = lock.withLock {
            guard _failure == nil else { return nil }
            _failure = error
            return .some(listener)
        }
        guard let notify else { return false }
        notify?(directory, error)
        return true
    }
}

extension PartitionLog: CustomStringConvertible {
    public var description: String { "PartitionLog(\(topic)-\(partition))" }
}
