#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The open `.log` files of every segment of a broker, at most `capacity` of them: a bounded
/// LRU shared by all partitions, so the number of file descriptors the logs hold does not grow
/// with the number of partitions (issue 9, item 5: one descriptor per partition made 1,000
/// partitions fail under the common `ulimit -n` of 1,024).
///
/// A segment asks for its file with ``file(for:open:)``; a miss opens it and may evict the
/// least recently used file. Evicting only drops the cache's reference: the descriptor is closed
/// when the last reference goes (``StorageFile`` closes in `deinit`), so a ``LogSlice`` being sent
/// or read, or a compaction pass reading a segment, keeps its file open and is never broken by an
/// eviction, exactly as a retention delete does not break it. The descriptors actually open are
/// therefore at most `capacity` plus the reads in flight.
///
/// Writes need nothing special: a segment reopened after an eviction writes at its own positions
/// (`pwrite`), and `fdatasync` on the new descriptor flushes the file's dirty pages whichever
/// descriptor wrote them. (One Linux subtlety: a write-back error that happened while no
/// descriptor was open may be reported to the next `fdatasync` only since Linux 4.13's errseq;
/// Kafka keeps every descriptor open and has no such window.)
///
/// When `open` fails with EMFILE/ENFILE (the process or system is out of descriptors, e.g. many
/// client connections), half of the cached files are released and the open is tried once more,
/// so a burst of sockets degrades into re-opens rather than a failed log.
///
/// Thread-safe (one lock; `open` runs under it, which serialises opens across partitions: they
/// are rare and short).
public final class SegmentFileCache: @unchecked Sendable {
    /// Identifies one segment's entry (segments are given a fresh id when created).
    public typealias Key = UInt64

    private final class Node {
        let key: Key
        var file: any StorageFile
        var newer: Node?
        weak var older: Node?
        init(key: Key, file: any StorageFile) { self.key = key; self.file = file }
    }

    /// Most files kept open.
    public let capacity: Int
    private let lock = StorageLock()
    private var nodes: [Key: Node] = [:]
    /// Least recently used first (`oldest`), most recently used last (`newest`).
    private var oldest: Node?
    private var newest: Node?
    private var nextKey: Key = 1
    private var _opens = 0
    private var _evictions = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "a file cache must hold at least one file")
        self.capacity = capacity
    }

    /// Files currently held by the cache.
    public var count: Int { lock.withLock { nodes.count } }
    /// Files opened on a miss so far.
    public var opens: Int { lock.withLock { _opens } }
    /// Files dropped to stay within `capacity` (or to free descriptors after EMFILE).
    public var evictions: Int { lock.withLock { _evictions } }

    /// A new key for a segment.
    func makeKey() -> Key {
        lock.withLock {
            defer { nextKey &+= 1 }
            return nextKey
        }
    }

    /// The cached file for `key`, else `open()`'s, which is cached (evicting the least recently
    /// used file when full).
    func file(for key: Key, open: () throws(FileSystemError) -> any StorageFile) throws(FileSystemError) -> any StorageFile {
        try lock.withLock { () throws(FileSystemError) -> any StorageFile in
            if let node = nodes[key] {
                touch(node)
                return node.file
            }
            let file: any StorageFile
            do throws(FileSystemError) {
                file = try open()
            } catch {
                guard error.errno == EMFILE || error.errno == ENFILE, !nodes.isEmpty else { throw error }
                // Out of descriptors: give back half of ours (closed unless a read holds them).
                evict(count: max(1, nodes.count / 2))
                file = try open()
            }
            _opens += 1
            insert(key, file)
            return file
        }
    }

    /// Forgets a segment's file (segment deleted, replaced or closed). The descriptor closes
    /// once no read holds the file any more.
    func remove(_ key: Key) {
        lock.withLock {
            guard let node = nodes.removeValue(forKey: key) else { return }
            unlink(node)
        }
    }

    // MARK: LRU list (lock held)

    private func insert(_ key: Key, _ file: any StorageFile) {
        if nodes.count >= capacity { evict(count: nodes.count - capacity + 1) }
        let node = Node(key: key, file: file)
        nodes[key] = node
        append(node)
    }

    private func evict(count: Int) {
        var left = count
        while left > 0, let victim = oldest {
            nodes[victim.key] = nil
            unlink(victim)
            _evictions += 1
            left -= 1
        }
    }

    private func touch(_ node: Node) {
        guard newest !== node else { return }
        unlink(node)
        append(node)
    }

    private func append(_ node: Node) {
        node.older = newest
        node.newer = nil
        newest?.newer = node
        newest = node
        if oldest == nil { oldest = node }
    }

    private func unlink(_ node: Node) {
        let older = node.older, newer = node.newer
        if let older { older.newer = newer } else { oldest = newer }
        if let newer { newer.older = older } else { newest = older }
        node.older = nil
        node.newer = nil
    }
}

/// The process's open-file limit (`RLIMIT_NOFILE`).
public enum FileDescriptorLimit {
    /// (soft, hard); `rlim_t.max` (RLIM_INFINITY) reads as Int.max.
    public static func current() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit, as Kafka's start scripts expect the operator to
    /// and as most servers do themselves. Returns the limits before and after (after == before
    /// when the kernel refused).
    @discardableResult
    public static func raiseSoftToHard() -> (before: (soft: Int, hard: Int), after: (soft: Int, hard: Int)) {
        let before = current()
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (before, before) }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return (before, current())
    }

    /// The segment-file cache size used when `log.max.open.segment.files` is not set: a quarter
    /// of the soft limit (the rest is for sockets, index and checkpoint writes, the metadata
    /// file), at least 16 and at most 10,000 (enough to keep every active segment of 10,000
    /// busy partitions open; idle ones reopen on demand).
    public static func defaultSegmentFileCacheSize(softLimit: Int = current().soft) -> Int {
        min(10_000, max(16, softLimit / 4))
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value >= rlim_t(Int.max) ? Int.max : Int(value)
    }
}
