import KafkaProtocol
import NIOCore

/// One segment of a partition log: a `.log` file of record batches plus its two sparse indexes,
/// all named by the 20-digit zero-padded base offset (`00000000000000001234.log`).
///
/// `.log` format: record batches v2 exactly as on the wire (see `RecordBatchHeader` for the
/// 61-byte header), back to back, with no file header and no padding. The first batch's
/// `baseOffset` is >= the segment's base offset; offsets strictly increase from batch to batch.
/// Index formats: see ``OffsetIndex`` and ``TimeIndex``.
///
/// Older segments are opened lazily: only the file size is read at startup, the indexes and the
/// end offset on first use. That is what lets thousands of partitions open in seconds.
///
/// Not thread-safe: owned by a ``PartitionLog`` and only used under its lock, except that the
/// immutable (non-active) segments are read by the cleaner from its own thread.
final class LogSegment {
    static let logSuffix = ".log"
    static let indexSuffix = ".index"
    static let timeIndexSuffix = ".timeindex"
    static let deletedSuffix = ".deleted"
    static let cleanedSuffix = ".cleaned"
    static let swapSuffix = ".swap"

    let baseOffset: Int64
    let directory: String
    let fileSystem: any FileSystem
    private(set) var logPath: String
    /// The open `.log` file when no shared cache is used (tests, tools).
    private var openFile: (any StorageFile)?
    /// The broker's bounded cache of open segment files, when the log manager gave one.
    private let fileCache: SegmentFileCache?
    private let cacheKey: SegmentFileCache.Key
    /// Bytes of batches in the `.log` file.
    private(set) var size: Int64
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex
    private(set) var indexesLoaded: Bool
    private var cachedNextOffset: Int64?
    /// Largest batch maxTimestamp in the segment (-1 before any), valid once indexes are loaded.
    private(set) var maxTimestampSoFar: Int64 = -1
    private(set) var offsetOfMaxTimestampSoFar: Int64
    private var bytesSinceLastIndexEntry = 0
    /// The first batch's maxTimestamp, the basis of `segment.ms` rolling (nil while empty or unknown).
    private(set) var rollingBasedTimestamp: Int64?
    /// When this object was created (a new segment) or loaded, for segments without timestamps.
    let createdMs: Int64
    /// Writes since the last fsync of the `.log` file.
    private var hasUnsyncedWrites = false
    /// The file was created and its directory entry is not yet known to be durable.
    private var needsDirectorySync = false

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// Parses `00000000000000001234.log` (or another suffix) back into 1234.
    static func baseOffset(fromFileName name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(stem)
    }

    /// Creates a new, empty segment (replacing any stale files with the same base offset).
    static func create(fileSystem: any FileSystem, directory: String, baseOffset: Int64, nowMs: Int64,
                       fileCache: SegmentFileCache? = nil) throws(FileSystemError) -> LogSegment {
        let segment = LogSegment(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, size: 0, nowMs: nowMs, loaded: true,
                                 fileCache: fileCache)
        let path = segment.logPath
        let file: any StorageFile
        if let fileCache {
            file = try fileCache.file(for: segment.cacheKey) { () throws(FileSystemError) in try fileSystem.open(path, create: true) }
        } else {
            file = try fileSystem.open(path, create: true)
            segment.openFile = file
        }
        if try file.size() != 0 { try file.truncate(to: 0) }
        try fileSystem.removeFile(segment.offsetIndex.path)
        try fileSystem.removeFile(segment.timeIndex.path)
        segment.cachedNextOffset = baseOffset
        segment.needsDirectorySync = true
        return segment
    }

    /// Describes an existing segment without reading it.
    static func existing(fileSystem: any FileSystem, directory: String, baseOffset: Int64, nowMs: Int64,
                         fileCache: SegmentFileCache? = nil) -> LogSegment {
        let path = joinPath(directory, fileName(baseOffset, logSuffix))
        let size = fileSystem.fileSize(path) ?? 0
        return LogSegment(fileSystem: fileSystem, directory: directory, baseOffset: baseOffset, size: size, nowMs: nowMs, loaded: false,
                          fileCache: fileCache)
    }

    private init(fileSystem: any FileSystem, directory: String, baseOffset: Int64, size: Int64, nowMs: Int64, loaded: Bool,
                 fileCache: SegmentFileCache?) {
        self.fileCache = fileCache
        self.cacheKey = fileCache?.makeKey() ?? 0
        self.fileSystem = fileSystem
        self.directory = directory
        self.baseOffset = baseOffset
        self.logPath = joinPath(directory, Self.fileName(baseOffset, Self.logSuffix))
        self.offsetIndex = OffsetIndex(baseOffset: baseOffset, path: joinPath(directory, Self.fileName(baseOffset, Self.indexSuffix)))
        self.timeIndex = TimeIndex(baseOffset: baseOffset, path: joinPath(directory, Self.fileName(baseOffset, Self.timeIndexSuffix)))
        self.size = size
        self.indexesLoaded = loaded
        self.offsetOfMaxTimestampSoFar = baseOffset
        self.createdMs = nowMs
    }

    deinit { fileCache?.remove(cacheKey) }

    /// The open `.log` file: from the shared cache (opened again after an eviction), or kept
    /// by the segment itself when there is no cache.
    func file() throws(FileSystemError) -> any StorageFile {
        if let fileCache {
            let fs = fileSystem, path = logPath
            return try fileCache.file(for: cacheKey) { () throws(FileSystemError) in try fs.open(path, create: false) }
        }
        if let openFile { return openFile }
        let file = try fileSystem.open(logPath, create: false)
        openFile = file
        return file
    }

    /// Lets the segment's descriptor go (segment deleted, replaced or its log closed). Reads in
    /// flight keep the file open until they finish.
    func releaseFile() {
        fileCache?.remove(cacheKey)
        openFile = nil
    }

    // MARK: Indexes and end offset

    /// Loads the index files, rebuilding them from the log when they are missing or inconsistent.
    func ensureIndexes(indexIntervalBytes: Int) throws(FileSystemError) {
        guard !indexesLoaded else { return }
        indexesLoaded = true
        let offsetsOK = try offsetIndex.load(fileSystem: fileSystem, logSize: size)
        var consistent = offsetsOK
        if consistent, let lastPosition = offsetIndex.lastPosition, let lastOffset = offsetIndex.lastOffset {
            // The last entry must point at a real batch ending at the recorded offset.
            let header = try header(at: Int64(lastPosition))
            consistent = header?.lastOffset == lastOffset
        }
        if consistent {
            let upper = offsetIndex.lastOffset ?? baseOffset
            consistent = try timeIndex.load(fileSystem: fileSystem, lastOffset: max(upper, try nextOffset(indexIntervalBytes: indexIntervalBytes) - 1))
        }
        if consistent {
            if let ts = timeIndex.lastTimestamp, let entry = timeIndex.entries.last {
                maxTimestampSoFar = ts; offsetOfMaxTimestampSoFar = entry.offset
            }
            bytesSinceLastIndexEntry = Int(size) - Int(offsetIndex.lastPosition ?? 0)
            if size > 0, let first = try header(at: 0) { rollingBasedTimestamp = first.maxTimestamp }
        } else {
            try rebuildIndexes(indexIntervalBytes: indexIntervalBytes)
        }
    }

    /// Rebuilds both indexes by scanning batch headers (no CRC check: used for segments below the
    /// recovery point, whose bytes were fsynced).
    func rebuildIndexes(indexIntervalBytes: Int) throws(FileSystemError) {
        offsetIndex.reset(); timeIndex.reset()
        indexesLoaded = true
        maxTimestampSoFar = -1; offsetOfMaxTimestampSoFar = baseOffset; bytesSinceLastIndexEntry = 0
        rollingBasedTimestamp = nil
        var scanner = BatchScanner(file: try file(), from: 0, to: size, wantBodies: false)
        var next = baseOffset
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { break }
            indexBatch(batch.header, position: Int(batch.position), indexIntervalBytes: indexIntervalBytes)
            next = batch.header.nextOffset
        }
        cachedNextOffset = next
        finishTimeIndex()
    }

    private func indexBatch(_ header: RecordBatchHeader, position: Int, indexIntervalBytes: Int) {
        if rollingBasedTimestamp == nil { rollingBasedTimestamp = header.maxTimestamp }
        if header.maxTimestamp > maxTimestampSoFar {
            maxTimestampSoFar = header.maxTimestamp
            offsetOfMaxTimestampSoFar = header.lastOffset
        }
        if bytesSinceLastIndexEntry > indexIntervalBytes {
            offsetIndex.append(offset: header.lastOffset, position: position)
            timeIndex.maybeAppend(timestamp: maxTimestampSoFar, offset: offsetOfMaxTimestampSoFar)
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += header.totalSize
    }

    /// Records the segment's final maximum timestamp in the time index (Kafka does this when a
    /// segment stops being active), so retention by time can read it from the last entry.
    func finishTimeIndex() {
        if maxTimestampSoFar >= 0 { timeIndex.maybeAppend(timestamp: maxTimestampSoFar, offset: offsetOfMaxTimestampSoFar) }
    }

    /// The offset after the last batch (the base offset when empty).
    func nextOffset(indexIntervalBytes: Int) throws(FileSystemError) -> Int64 {
        if let cachedNextOffset { return cachedNextOffset }
        var next = baseOffset
        let start = Int64(offsetIndex.lastPosition ?? 0)
        var scanner = BatchScanner(file: try file(), from: start, to: size, chunkSize: 64 * 1024, wantBodies: false)
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { break }
            next = batch.header.nextOffset
        }
        cachedNextOffset = next
        return next
    }

    /// Calls `body` with every batch header in order, stopping quietly at a damaged one (used to
    /// re-learn leader epochs; recovery is what judges damage).
    func forEachBatchHeader(_ body: (RecordBatchHeader) throws(FileSystemError) -> Void) throws(FileSystemError) {
        var scanner = BatchScanner(file: try file(), from: 0, to: size, wantBodies: false)
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { return }
            try body(batch.header)
        }
    }

    /// The header of the segment's last batch, nil when it is empty (or damaged before any).
    func lastBatchHeader(indexIntervalBytes: Int) throws(FileSystemError) -> RecordBatchHeader? {
        try ensureIndexes(indexIntervalBytes: indexIntervalBytes)
        var scanner = BatchScanner(file: try file(), from: Int64(offsetIndex.lastPosition ?? 0), to: size,
                                   chunkSize: 64 * 1024, wantBodies: false)
        var last: RecordBatchHeader?
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { break }
            last = batch.header
        }
        return last
    }

    /// The header at `position`, nil when there is no plausible batch there.
    func header(at position: Int64) throws(FileSystemError) -> RecordBatchHeader? {
        guard position + Int64(RecordBatchHeader.size) <= size else { return nil }
        let buffer = try file().read(at: position, count: RecordBatchHeader.size)
        return try? RecordBatchHeader.peek(buffer, at: buffer.readerIndex)
    }

    // MARK: Recovery

    /// Re-validates every batch (structure, CRC, increasing offsets that fit the segment),
    /// rebuilds the indexes, and cuts the file at the first invalid or torn batch.
    /// `onBatch` sees every valid batch (used to rebuild the leader-epoch cache).
    /// Returns the number of bytes cut off.
    ///
    /// `partitionLeaderEpoch` is not covered by the CRC, so it is checked separately: epochs never
    /// decrease along the log (`previousEpoch` is the last epoch seen before this segment) and
    /// never exceed `maxEpoch`, the partition's leader epoch in the broker's metadata (durable
    /// before any batch of that epoch is written). The leader-epoch checkpoint plays no part.
    func recover(indexIntervalBytes: Int, previousEpoch: inout Int32, maxEpoch: Int32,
                 onBatch: (RecordBatchHeader) -> Void) throws(FileSystemError) -> (truncatedBytes: Int64, stop: ScanStop?) {
        offsetIndex.reset(); timeIndex.reset()
        indexesLoaded = true
        // After a kill -9 these bytes may be only in the page cache: the next flush() must
        // fsync them, or it would move the recovery point over data a power loss can still take.
        hasUnsyncedWrites = true
        maxTimestampSoFar = -1; offsetOfMaxTimestampSoFar = baseOffset; bytesSinceLastIndexEntry = 0
        rollingBasedTimestamp = nil
        let actualSize = try file().size()
        size = actualSize
        var scanner = BatchScanner(file: try file(), from: 0, to: actualSize, wantBodies: true)
        var next = baseOffset
        var validEnd: Int64 = 0
        var stop: ScanStop?
        while let result = try scanner.next() {
            switch result {
            case .failure(let s):
                stop = s
            case .success(let batch):
                let h = batch.header
                do {
                    try h.verifyCRC(of: batch.bytes!, at: batch.bytes!.readerIndex)
                } catch {
                    stop = ScanStop(position: batch.position, reason: "\(error)")
                }
                if stop == nil, h.baseOffset < next {
                    stop = ScanStop(position: batch.position, reason: "offset \(h.baseOffset) below expected \(next)")
                }
                if stop == nil, h.partitionLeaderEpoch < previousEpoch || h.partitionLeaderEpoch > maxEpoch {
                    stop = ScanStop(position: batch.position, reason: "leader epoch \(h.partitionLeaderEpoch) outside \(previousEpoch)...\(maxEpoch)")
                }
                if stop == nil, h.lastOffset - baseOffset > Int64(Int32.max) {
                    stop = ScanStop(position: batch.position, reason: "offset \(h.lastOffset) does not fit segment \(baseOffset)")
                }
                if stop == nil {
                    indexBatch(h, position: Int(batch.position), indexIntervalBytes: indexIntervalBytes)
                    onBatch(h)
                    previousEpoch = h.partitionLeaderEpoch
                    next = h.nextOffset
                    validEnd = batch.position + Int64(h.totalSize)
                }
            }
            if stop != nil { break }
        }
        let truncated = actualSize - validEnd
        if truncated > 0 {
            // The cut must be durable before anything is appended after it: otherwise a later
            // power loss could drop the truncation but keep new writes, and old batches past the
            // new ones would come back to life (found by the crash simulation, seed 3007039240168558357).
            try file().truncate(to: validEnd)
            try file().sync()
            size = validEnd
        }
        cachedNextOffset = next
        return (truncated, stop)
    }

    // MARK: Append

    /// Writes already-validated, already-stamped batches (given as consecutive byte ranges) at the
    /// end of the file in one `pwritev` and updates the indexes.
    func append(_ parts: [ByteBuffer], byteCount: Int, batches: [RecordBatchHeader], indexIntervalBytes: Int) throws(FileSystemError) {
        precondition(indexesLoaded, "append to a segment whose indexes are not loaded")
        let start = size
        hasUnsyncedWrites = true
        try file().write(parts, at: start)
        var position = Int(start)
        for header in batches {
            indexBatch(header, position: position, indexIntervalBytes: indexIntervalBytes)
            position += header.totalSize
        }
        size += Int64(byteCount)
        if let last = batches.last { cachedNextOffset = last.nextOffset }
    }

    // MARK: Reads

    /// What ``lookup(_:indexIntervalBytes:)`` found.
    enum Lookup {
        /// The first batch whose last offset is >= the offset asked for.
        case found(ScannedBatch)
        /// Every batch of the segment ends before the offset.
        case notFound
        /// The scan met bytes that are not a whole, plausible batch before reaching the offset:
        /// the segment is damaged there (never a reason to skip ahead silently).
        case corrupt(ScanStop)
    }

    /// Position and header of the first batch whose last offset is >= `offset`, scanning forward
    /// from the index; or where the scan met a damaged batch header first.
    func lookup(_ offset: Int64, indexIntervalBytes: Int) throws(FileSystemError) -> Lookup {
        try ensureIndexes(indexIntervalBytes: indexIntervalBytes)
        let start = Int64(offsetIndex.lookup(offset))
        var scanner = BatchScanner(file: try file(), from: start, to: size, chunkSize: 16 * 1024, wantBodies: false)
        while let result = try scanner.next() {
            switch result {
            case .failure(let stop): return .corrupt(stop)
            case .success(let batch): if batch.header.lastOffset >= offset { return .found(batch) }
            }
        }
        return .notFound
    }

    /// Position and header of the first batch whose last offset is >= `offset`, scanning forward
    /// from the index; nil when no such batch exists in this segment or a damaged batch comes
    /// first (callers that serve clients use ``lookup(_:indexIntervalBytes:)`` to tell them apart).
    func translate(_ offset: Int64, indexIntervalBytes: Int) throws(FileSystemError) -> ScannedBatch? {
        if case .found(let batch) = try lookup(offset, indexIntervalBytes: indexIntervalBytes) { return batch }
        return nil
    }

    /// The last batch boundary at or before `limit`, at or after `from` (a batch boundary).
    func lastBoundary(from: Int64, notAfter limit: Int64) throws(FileSystemError) -> Int64 {
        var start = from
        // Jump ahead with the index: its positions are batch starts.
        let positions = offsetIndex.positions
        var lo = 0, hi = positions.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let p = Int64(positions[mid])
            if p <= limit { if p > start { start = p }; lo = mid + 1 } else { hi = mid - 1 }
        }
        return try scanBoundary(from: start, notAfter: limit, chunkSize: 16 * 1024)
    }

    /// Whether every batch in [from, to) (batch boundaries) is a data batch without records.
    func onlyRecordlessBatches(from: Int64, to: Int64) throws(FileSystemError) -> Bool {
        var scanner = BatchScanner(file: try file(), from: from, to: to, chunkSize: 16 * 1024, wantBodies: false)
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { return false }
            if batch.header.recordCount != 0 || batch.header.isControl { return false }
        }
        return true
    }

    /// The end of the whole, plausible batches from `from` (a batch boundary) up to `limit`,
    /// scanning every header on the way (no index jumps): a read of an older segment, whose
    /// bytes recovery may never have re-validated, stops before a damaged batch instead of
    /// handing it to a client. The next read from there reports the damage.
    func validatedBoundary(from: Int64, notAfter limit: Int64) throws(FileSystemError) -> Int64 {
        try scanBoundary(from: from, notAfter: limit, chunkSize: 64 * 1024)
    }

    /// The end of the last whole, plausible batch from `start` (a batch boundary) that ends at
    /// or before `limit`, reading every header on the way; stops before a damaged batch.
    private func scanBoundary(from start: Int64, notAfter limit: Int64, chunkSize: Int) throws(FileSystemError) -> Int64 {
        var scanner = BatchScanner(file: try file(), from: start, to: size, chunkSize: chunkSize, wantBodies: false)
        var boundary = start
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { break }
            let end = batch.position + Int64(batch.header.totalSize)
            if end > limit { break }
            boundary = end
        }
        return boundary
    }

    /// The first batch whose maxTimestamp is >= `timestamp`, nil when none.
    func firstBatch(withTimestampAtLeast timestamp: Int64, indexIntervalBytes: Int) throws(FileSystemError) -> ScannedBatch? {
        try ensureIndexes(indexIntervalBytes: indexIntervalBytes)
        var start: Int64 = 0
        if let offset = timeIndex.lastOffset(before: timestamp) {
            // Every record up to `offset` is older; the batch after it may be the one.
            start = Int64(offsetIndex.lookup(offset + 1))
        }
        var scanner = BatchScanner(file: try file(), from: start, to: size, chunkSize: 64 * 1024, wantBodies: false)
        while let result = try scanner.next() {
            guard case .success(let batch) = result else { return nil }
            if batch.header.maxTimestamp >= timestamp { return batch }
        }
        return nil
    }

    // MARK: Truncation, flush, deletion

    /// Keeps only batches whose last offset is < `offset`; returns the bytes removed.
    func truncate(to offset: Int64, indexIntervalBytes: Int) throws(FileSystemError) -> Int64 {
        guard let batch = try translate(offset, indexIntervalBytes: indexIntervalBytes) else { return 0 }
        let cut = batch.position
        let removed = size - cut
        hasUnsyncedWrites = true
        try file().truncate(to: cut)
        size = cut
        offsetIndex.truncate(toPosition: Int(cut))
        timeIndex.truncate(toOffset: batch.header.baseOffset)
        cachedNextOffset = nil
        // Recompute max timestamp, rolling timestamp and the byte counter from what is left.
        try rebuildIndexes(indexIntervalBytes: indexIntervalBytes)
        return removed
    }

    /// fsyncs the log and, when `includingIndexes`, writes and fsyncs the indexes (each only if
    /// it changed), and the directory once after the segment was created.
    ///
    /// The active segment's indexes need no fsync on every flush: recovery always starts at the
    /// segment holding the recovery point and rebuilds that segment's indexes. They are fsynced
    /// when the segment rolls and on close.
    func flush(includingIndexes: Bool = true) throws(FileSystemError) {
        if hasUnsyncedWrites {
            try file().sync()
            hasUnsyncedWrites = false
        }
        if indexesLoaded && includingIndexes {
            try offsetIndex.persist(fileSystem: fileSystem, sync: true)
            try timeIndex.persist(fileSystem: fileSystem, sync: true)
        }
        if needsDirectorySync {
            try fileSystem.syncDirectory(directory)
            needsDirectorySync = false
        }
    }

    /// Writes pending index entries without fsync (used on close and roll).
    func persistIndexes() throws(FileSystemError) {
        guard indexesLoaded else { return }
        try offsetIndex.persist(fileSystem: fileSystem, sync: false)
        try timeIndex.persist(fileSystem: fileSystem, sync: false)
    }

    /// Renames the segment's files to `<name>.deleted` (an atomic unlink from the log's point of
    /// view) and returns the new paths so they can be removed after `file.delete.delay.ms`.
    func renameToDeleted() throws(FileSystemError) -> [String] {
        var renamed: [String] = []
        for path in [logPath, offsetIndex.path, timeIndex.path] where fileSystem.fileExists(path) {
            try fileSystem.rename(path, to: path + Self.deletedSuffix)
            renamed.append(path + Self.deletedSuffix)
        }
        logPath += Self.deletedSuffix
        offsetIndex.rename(to: offsetIndex.path + Self.deletedSuffix)
        timeIndex.rename(to: timeIndex.path + Self.deletedSuffix)
        return renamed
    }

    /// Every batch boundary, header and index entry agree (for tests and debugging).
    func checkConsistency(indexIntervalBytes: Int) throws -> [String] {
        try ensureIndexes(indexIntervalBytes: indexIntervalBytes)
        var problems: [String] = []
        var scanner = BatchScanner(file: try file(), from: 0, to: size, wantBodies: true)
        var starts: [Int64: RecordBatchHeader] = [:]
        while let result = try scanner.next() {
            switch result {
            case .failure(let stop): problems.append("segment \(baseOffset): \(stop.reason) at \(stop.position)")
            case .success(let batch):
                starts[batch.position] = batch.header
                do { try batch.header.verifyCRC(of: batch.bytes!, at: batch.bytes!.readerIndex) } catch {
                    problems.append("segment \(baseOffset): CRC at \(batch.position): \(error)")
                }
            }
        }
        for entry in offsetIndex.entries {
            if starts[Int64(entry.position)]?.lastOffset != entry.offset {
                problems.append("segment \(baseOffset): index entry \(entry) does not match a batch")
            }
        }
        for entry in timeIndex.entries {
            if !starts.values.contains(where: { $0.lastOffset == entry.offset && $0.maxTimestamp == entry.timestamp }) {
                problems.append("segment \(baseOffset): time index entry \(entry) does not match a batch")
            }
        }
        return problems
    }
}
