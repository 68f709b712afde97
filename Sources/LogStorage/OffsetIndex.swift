import NIOCore

/// The sparse offset index of one segment: `<20-digit base offset>.index`.
///
/// File format (Kafka's `OffsetIndex`), a flat array of 8-byte entries, big-endian, no header:
/// ```
/// 0 relativeOffset int32   lastOffset of an indexed batch minus the segment's base offset
/// 4 position       int32   byte position of that batch in the segment's .log file
/// ```
/// Entries are strictly increasing in both fields. One entry is added after more than
/// `index.interval.bytes` of batches since the previous one, so a lookup is a binary search for
/// the greatest entry <= target and then a short scan of batch headers in the `.log`.
///
/// Unlike Kafka the file is not pre-allocated and memory-mapped: the entries live in memory and
/// new ones are appended to the file on flush, roll and close. The file is not checksummed; it
/// is sanity-checked on load and rebuilt from the log whenever it is missing, malformed or
/// belongs to a segment being recovered.
///
/// Not thread-safe: owned by a ``LogSegment`` and used under its partition's lock.
final class OffsetIndex {
    static let entrySize = 8

    let baseOffset: Int64
    private(set) var path: String
    private(set) var relativeOffsets: [Int32] = []
    private(set) var positions: [Int32] = []
    private var fileState = IndexFileState()

    init(baseOffset: Int64, path: String) {
        self.baseOffset = baseOffset
        self.path = path
    }

    var count: Int { relativeOffsets.count }
    var isEmpty: Bool { relativeOffsets.isEmpty }
    var lastOffset: Int64? { relativeOffsets.last.map { baseOffset + Int64($0) } }
    var lastPosition: Int32? { positions.last }

    /// Loads and sanity-checks the file. Returns false (leaving the index empty) when the file is
    /// malformed, so the caller rebuilds it from the log.
    func load(fileSystem: any FileSystem, logSize: Int64) throws(FileSystemError) -> Bool {
        relativeOffsets = []; positions = []; fileState.loaded(count: 0)
        guard let size = fileSystem.fileSize(path) else { return false }
        guard size % Int64(Self.entrySize) == 0 else { return false }
        let file = try fileSystem.open(path, create: false)
        let buffer = try file.read(at: 0, count: Int(size))
        guard buffer.readableBytes == Int(size) else { return false }
        var index = buffer.readerIndex
        var previousOffset: Int32 = -1, previousPosition: Int32 = -1
        for _ in 0..<(Int(size) / Self.entrySize) {
            let rel = buffer.getInteger(at: index, as: Int32.self)!
            let pos = buffer.getInteger(at: index + 4, as: Int32.self)!
            guard rel > previousOffset, pos > previousPosition, Int64(pos) < logSize else {
                relativeOffsets = []; positions = []
                return false
            }
            relativeOffsets.append(rel); positions.append(pos)
            previousOffset = rel; previousPosition = pos
            index += Self.entrySize
        }
        fileState.loaded(count: relativeOffsets.count)
        return true
    }

    func append(offset: Int64, position: Int) {
        let rel = Int32(offset - baseOffset)
        if let last = relativeOffsets.last, rel <= last { return }
        relativeOffsets.append(rel)
        positions.append(Int32(position))
    }

    /// Byte position of the greatest indexed batch whose last offset is <= `offset` (0 if none),
    /// which is where a scan for the batch containing `offset` can start.
    func lookup(_ offset: Int64) -> Int {
        let rel = offset - baseOffset
        var lo = 0, hi = relativeOffsets.count - 1, found = -1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if Int64(relativeOffsets[mid]) <= rel { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found < 0 ? 0 : Int(positions[found])
    }

    /// Drops entries for batches at or past byte `position` (the log is being cut there).
    func truncate(toPosition position: Int) {
        var keep = positions.count
        while keep > 0, Int(positions[keep - 1]) >= position { keep -= 1 }
        if keep < relativeOffsets.count {
            relativeOffsets.removeLast(relativeOffsets.count - keep)
            positions.removeLast(positions.count - keep)
            fileState.entriesRemoved(keepingFirst: keep)
        }
    }

    func reset() {
        relativeOffsets = []; positions = []
        fileState.cleared()
    }

    /// Writes entries not yet in the file (and cuts removed ones), optionally fsyncing.
    func persist(fileSystem: any FileSystem, sync: Bool) throws(FileSystemError) {
        try fileState.persist(path: path, count: relativeOffsets.count, entrySize: Self.entrySize, fileSystem: fileSystem, sync: sync) { buffer, i in
            buffer.writeInteger(relativeOffsets[i]); buffer.writeInteger(positions[i])
        }
    }

    func rename(to newPath: String) { path = newPath }


    /// Every entry as (absolute offset, position), for consistency checks.
    var entries: [(offset: Int64, position: Int)] {
        (0..<count).map { (baseOffset + Int64(relativeOffsets[$0]), Int(positions[$0])) }
    }
}

/// The time index of one segment: `<20-digit base offset>.timeindex`.
///
/// File format (Kafka's `TimeIndex`), a flat array of 12-byte entries, big-endian, no header:
/// ```
/// 0 timestamp      int64   the largest batch maxTimestamp seen in the segment so far
/// 8 relativeOffset int32   lastOffset of the batch that carried it, minus the base offset
/// ```
/// Entries are strictly increasing in timestamp and non-decreasing in offset; one is added next
/// to an offset-index entry whenever the maximum timestamp has grown. Same persistence and
/// recovery rules as ``OffsetIndex``. Not thread-safe (partition lock).
final class TimeIndex {
    static let entrySize = 12

    let baseOffset: Int64
    private(set) var path: String
    private(set) var timestamps: [Int64] = []
    private(set) var relativeOffsets: [Int32] = []
    private var fileState = IndexFileState()

    init(baseOffset: Int64, path: String) {
        self.baseOffset = baseOffset
        self.path = path
    }

    var count: Int { timestamps.count }
    var lastTimestamp: Int64? { timestamps.last }

    func load(fileSystem: any FileSystem, lastOffset: Int64) throws(FileSystemError) -> Bool {
        timestamps = []; relativeOffsets = []; fileState.loaded(count: 0)
        guard let size = fileSystem.fileSize(path) else { return false }
        guard size % Int64(Self.entrySize) == 0 else { return false }
        let file = try fileSystem.open(path, create: false)
        let buffer = try file.read(at: 0, count: Int(size))
        guard buffer.readableBytes == Int(size) else { return false }
        var index = buffer.readerIndex
        var previousTimestamp = Int64.min, previousOffset: Int32 = -1
        for _ in 0..<(Int(size) / Self.entrySize) {
            let ts = buffer.getInteger(at: index, as: Int64.self)!
            let rel = buffer.getInteger(at: index + 8, as: Int32.self)!
            guard ts > previousTimestamp, rel >= previousOffset, baseOffset + Int64(rel) <= lastOffset else {
                timestamps = []; relativeOffsets = []
                return false
            }
            timestamps.append(ts); relativeOffsets.append(rel)
            previousTimestamp = ts; previousOffset = rel
            index += Self.entrySize
        }
        fileState.loaded(count: timestamps.count)
        return true
    }

    func maybeAppend(timestamp: Int64, offset: Int64) {
        if let last = timestamps.last, timestamp <= last { return }
        timestamps.append(timestamp)
        relativeOffsets.append(Int32(offset - baseOffset))
    }

    /// The offset of the last entry whose timestamp is strictly below `timestamp`: every record up
    /// to and including that offset is older than `timestamp`, so a search can start after it.
    func lastOffset(before timestamp: Int64) -> Int64? {
        var lo = 0, hi = timestamps.count - 1, found = -1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if timestamps[mid] < timestamp { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found < 0 ? nil : baseOffset + Int64(relativeOffsets[found])
    }

    /// Drops entries pointing at offsets >= `offset`.
    func truncate(toOffset offset: Int64) {
        var keep = relativeOffsets.count
        while keep > 0, baseOffset + Int64(relativeOffsets[keep - 1]) >= offset { keep -= 1 }
        if keep < timestamps.count {
            timestamps.removeLast(timestamps.count - keep)
            relativeOffsets.removeLast(relativeOffsets.count - keep)
            fileState.entriesRemoved(keepingFirst: keep)
        }
    }

    func reset() {
        timestamps = []; relativeOffsets = []
        fileState.cleared()
    }

    func persist(fileSystem: any FileSystem, sync: Bool) throws(FileSystemError) {
        try fileState.persist(path: path, count: timestamps.count, entrySize: Self.entrySize, fileSystem: fileSystem, sync: sync) { buffer, i in
            buffer.writeInteger(timestamps[i]); buffer.writeInteger(relativeOffsets[i])
        }
    }

    func rename(to newPath: String) { path = newPath }


    var entries: [(timestamp: Int64, offset: Int64)] {
        (0..<count).map { (timestamps[$0], baseOffset + Int64(relativeOffsets[$0])) }
    }
}

/// What one index file holds compared with its entries in memory, shared by ``OffsetIndex`` and
/// ``TimeIndex``: both keep their entries in memory and append the new ones to a flat file of
/// fixed-size entries on flush, roll and close. Not thread-safe (partition lock).
struct IndexFileState {
    /// How many entries are already in the file.
    private var persistedCount = 0
    /// The file holds entries that were removed from memory (truncation), so it must be cut.
    private var needsTruncation = false
    /// The file changed since its last fsync.
    private var unsynced = false

    /// The file was just read and holds exactly `count` entries.
    mutating func loaded(count: Int) { persistedCount = count }

    /// Memory kept only its first `keep` entries; the file must be cut to match on next persist.
    mutating func entriesRemoved(keepingFirst keep: Int) {
        if keep < persistedCount { persistedCount = keep; needsTruncation = true }
    }

    /// Memory dropped every entry: the file is cut to empty on next persist.
    mutating func cleared() { persistedCount = 0; needsTruncation = true }

    /// Writes entries `persistedCount..<count` (each `entrySize` bytes, encoded by `encode`) and
    /// cuts removed ones, optionally fsyncing.
    mutating func persist(
        path: String, count: Int, entrySize: Int, fileSystem: any FileSystem, sync: Bool,
        encode: (inout ByteBuffer, Int) -> Void
    ) throws(FileSystemError) {
        let dirty = persistedCount < count || needsTruncation
        guard dirty || (sync && unsynced) else { return }
        // Opened per persist, not kept: 10,000 partitions must not hold 30,000 descriptors.
        let file = try fileSystem.open(path, create: true)
        if dirty { unsynced = true }
        if needsTruncation {
            try file.truncate(to: Int64(persistedCount * entrySize))
            needsTruncation = false
        }
        if persistedCount < count {
            var buffer = ByteBufferAllocator().buffer(capacity: (count - persistedCount) * entrySize)
            for i in persistedCount..<count { encode(&buffer, i) }
            try file.write(buffer, at: Int64(persistedCount * entrySize))
            persistedCount = count
        }
        if sync && unsynced { try file.sync(); unsynced = false }
    }
}
