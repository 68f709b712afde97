/// Leader epoch -> first offset written in that epoch, for OffsetForLeaderEpoch and follower
/// truncation (KIP-101, KIP-279). Persisted as `leader-epoch-checkpoint` in the partition
/// directory, in Kafka's checkpoint text format:
/// ```
/// 0                    version
/// 2                    number of entries
/// 0 0                  "<epoch> <startOffset>", epochs and offsets increasing
/// 3 1200
/// ```
/// Every change is written atomically (temp file, fsync, rename, fsync of the directory), and
/// only when the content changes: a restart of an idle broker writes nothing (on a full disk it
/// could not).
///
/// The file is a cache of what the batches say, never a reason to cut data (as in Kafka's
/// `LeaderEpochFileCache`): when it is missing, empty or malformed, opening the log reports it
/// (``loadProblem``) and rebuilds the cache from the `partitionLeaderEpoch` of every batch.
/// After a crash the log may be shorter than the checkpoint claims, so recovery truncates the
/// cache to the recovered log end offset and re-learns epochs from the batches it re-validates.
///
/// Not thread-safe by itself: owned by a ``PartitionLog`` and used under its lock.
public struct EpochEntry: Equatable, Sendable {
    public var epoch: Int32
    public var startOffset: Int64
    public init(epoch: Int32, startOffset: Int64) { self.epoch = epoch; self.startOffset = startOffset }
}

final class LeaderEpochCache {
    static let fileName = "leader-epoch-checkpoint"
    /// Kafka's `UNDEFINED_EPOCH` / `UNDEFINED_EPOCH_OFFSET`.
    static let undefinedEpoch: Int32 = -1
    static let undefinedOffset: Int64 = -1

    private let fileSystem: any FileSystem
    let path: String
    private(set) var entries: [EpochEntry] = []
    /// What the file holds, nil when it is missing or malformed.
    private var persisted: [EpochEntry]?
    /// While true (opening the log), changes stay in memory; ``finishLoading()`` writes once.
    private var deferWrites = false
    /// Why the file could not be used (missing with data in the log, empty, malformed), for
    /// the warning the log manager prints; nil when it was read fine.
    private(set) var loadProblem: String?
    /// The file was unusable: the cache must be rebuilt from the batches.
    var needsRebuild: Bool { persisted == nil }

    init(fileSystem: any FileSystem, directory: String, deferWrites: Bool = false) throws(FileSystemError) {
        self.fileSystem = fileSystem
        self.path = joinPath(directory, Self.fileName)
        self.deferWrites = deferWrites
        if let text = try fileSystem.readString(path) {
            if let parsed = Self.parse(text), !text.isEmpty {
                entries = parsed
                persisted = parsed
            } else {
                loadProblem = text.isEmpty ? "\(path) is empty" : "\(path) is malformed"
            }
        } else {
            loadProblem = "\(path) is missing"
        }
    }

    /// Ends the deferred writes of opening: writes the file once if the cache learnt an epoch
    /// (or a start offset) the file lacks. Entries the file has beyond the log end are left
    /// there: every open removes them again, and the next real change rewrites the file.
    func finishLoading() throws(FileSystemError) {
        deferWrites = false
        let onDisk = persisted ?? []
        if entries.contains(where: { !onDisk.contains($0) }) { try persist() }
    }

    /// Parses the checkpoint; nil when it is malformed (then the cache starts empty and is
    /// rebuilt from the batches' epochs during recovery).
    static func parse(_ text: String) -> [EpochEntry]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count == lines.count - 2 else {
            return text.isEmpty ? [] : nil
        }
        var result: [EpochEntry] = []
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let epoch = Int32(parts[0]), let offset = Int64(parts[1]) else { return nil }
            if let last = result.last, epoch <= last.epoch || offset < last.startOffset { return nil }
            result.append(EpochEntry(epoch: epoch, startOffset: offset))
        }
        return result
    }

    var latestEpoch: Int32? { entries.last?.epoch }

    /// Records that `epoch` starts at `startOffset` if it is newer than every known epoch.
    /// Returns true when the cache changed.
    @discardableResult
    func assign(epoch: Int32, startOffset: Int64) throws(FileSystemError) -> Bool {
        guard epoch >= 0 else { return false }
        if let last = entries.last, epoch <= last.epoch { return false }
        // An entry whose start is at or past the new one can no longer be right (Kafka removes it too).
        entries.removeAll { $0.startOffset >= startOffset }
        entries.append(EpochEntry(epoch: epoch, startOffset: startOffset))
        try persist()
        return true
    }

    /// Kafka's `endOffsetFor`: the largest epoch <= `requested` and the offset where the next
    /// higher epoch starts (or the LEO for the latest epoch); (-1, -1) when unknown.
    func endOffset(forEpoch requested: Int32, logEndOffset: Int64) -> (epoch: Int32, endOffset: Int64) {
        if requested == Self.undefinedEpoch { return (Self.undefinedEpoch, Self.undefinedOffset) }
        if let last = entries.last, last.epoch == requested { return (requested, logEndOffset) }
        guard let higher = entries.first(where: { $0.epoch > requested }) else {
            return (Self.undefinedEpoch, Self.undefinedOffset)
        }
        if let floor = entries.last(where: { $0.epoch <= requested }) {
            return (floor.epoch, higher.startOffset)
        }
        return (requested, higher.startOffset)
    }

    /// Removes epochs that start at or after `endOffset` (the log was truncated there).
    func truncate(fromEnd endOffset: Int64) throws(FileSystemError) {
        let before = entries.count
        entries.removeAll { $0.startOffset >= endOffset }
        if entries.count != before { try persist() }
    }

    /// Drops epochs wholly before `startOffset` and moves the one containing it to start there.
    func truncate(fromStart startOffset: Int64) throws(FileSystemError) {
        guard let keepIndex = entries.lastIndex(where: { $0.startOffset <= startOffset }), keepIndex > 0 || entries[0].startOffset < startOffset else { return }
        var newEntries = Array(entries[keepIndex...])
        newEntries[0].startOffset = startOffset
        entries = newEntries
        try persist()
    }

    func clear() throws(FileSystemError) {
        entries = []
        try persist()
    }

    private func persist() throws(FileSystemError) {
        guard !deferWrites, entries != persisted else { return }
        var text = "0\n\(entries.count)\n"
        for e in entries { text += "\(e.epoch) \(e.startOffset)\n" }
        try fileSystem.writeAtomically(path, contents: text)
        persisted = entries
    }
}
