import NIOCore
import Synchronization

/// An in-memory ``FileSystem`` that models what a power loss does to a disk behind a page cache,
/// for crash-consistency tests (TigerBeetle/FoundationDB style: one seed drives every choice).
///
/// Model:
/// * File contents have two versions: what readers see now, and what is durable (as of the
///   last `sync()` of that file). Writes and truncations since then are pending.
/// * ``powerLoss(_:)`` rebuilds every file from its durable contents plus a random selection of
///   its pending operations, in order, the last one applied possibly torn (a random prefix of
///   its bytes); optionally the file keeps its new length with zeros where data was lost; and
///   optionally one page (up to 4 KiB) inside the byte ranges of pending writes is replaced with
///   random garbage. Synced bytes are never touched: the model assumes a disk that honours
///   `fdatasync` and does not corrupt data at rest.
/// * Directory operations (create, rename, remove) are durable at once, as on a journaling
///   file system in ordered mode once the directory is fsynced, which the log always does
///   before relying on one.
/// * Fault injection: ``failWrites`` makes every write and sync fail with ``injectedErrno``
///   (EIO unless set, e.g. ENOSPC); ``operationsUntilFailure`` stops the "machine" after a given
///   number of mutating operations, so a test can crash a multi-step operation (a compaction
///   swap) at every possible point; ``openFault`` fails chosen opens (EMFILE, EIO...);
///   ``capacityBytes`` is a disk size: a write that would grow the files past it fails with
///   ENOSPC and writes nothing, as a full disk does.
///
/// Thread-safe (one internal lock).
public final class SimulatedFileSystem: FileSystem, @unchecked Sendable {
    final class Node {
        var current: [UInt8]
        var durable: [UInt8]
        var pending: [Pending] = []
        init(_ bytes: [UInt8] = []) { current = bytes; durable = bytes }
    }

    enum Pending {
        case write(offset: Int, bytes: [UInt8])
        case truncate(Int)
    }

    /// What a power loss may do, each a probability in [0, 1].
    public struct PowerLossOptions: Sendable {
        /// Chance that one pending operation of a file survives (each independently).
        public var keepPendingProbability = 0.5
        /// Chance that the last surviving write of a file is torn.
        public var tornWriteProbability = 0.5
        /// Chance that a file keeps its pre-crash length, zero-filled where data was lost.
        public var zeroFilledTailProbability = 0.2
        /// Chance that a file with pending writes gets a page of garbage inside them.
        public var garbagePageProbability = 0.2
        public init() {}
    }

    private let lock = StorageLock()
    private var files: [String: Node] = [:]
    private var directories: Set<String> = ["/"]
    private var _failWrites = false
    private var _injectedErrno: CInt = 5
    private var _openFault: (@Sendable (String) -> CInt?)?
    private var _capacityBytes: Int?
    private var _writeFault: (@Sendable (String) -> CInt?)?
    /// Power losses simulated so far.
    public private(set) var powerLosses = 0

    public init() {}

    /// Open handles (``StorageFile`` objects alive), the simulated file descriptors.
    let openHandles = Atomic<Int>(0)
    private var _maxOpenFiles: Int?

    /// The process's descriptor limit (`ulimit -n`), nil for none: an open while this many
    /// handles are alive fails with EMFILE (24), as `open(2)` does.
    public var maxOpenFiles: Int? {
        get { lock.withLock { _maxOpenFiles } }
        set { lock.withLock { _maxOpenFiles = newValue } }
    }

    /// Handles alive now (descriptors a real process would hold).
    public var openFileCount: Int { openHandles.load(ordering: .relaxed) }

    private func checkDescriptorLimit(_ path: String) throws(FileSystemError) {
        if let max = _maxOpenFiles, openHandles.load(ordering: .relaxed) >= max {
            throw FileSystemError(operation: "open", path: path, errno: 24)
        }
    }

    /// While true every write, truncate and sync throws EIO (a failing disk).
    public var failWrites: Bool {
        get { lock.withLock { _failWrites } }
        set { lock.withLock { _failWrites = newValue } }
    }

    /// The errno of injected write failures: EIO (5) unless set, e.g. ENOSPC (28).
    public var injectedErrno: CInt {
        get { lock.withLock { _injectedErrno } }
        set { lock.withLock { _injectedErrno = newValue } }
    }

    /// Called with the path of every open (existing files and new ones); a non-nil errno makes
    /// that open fail with it, e.g. EMFILE (24) for chosen segment files.
    public var openFault: (@Sendable (String) -> CInt?)? {
        get { lock.withLock { _openFault } }
        set { lock.withLock { _openFault = newValue } }
    }

    /// Called with the path of every mutating operation (write, truncate, sync, create,
    /// rename, remove); a non-nil errno makes it fail, e.g. EIO for one log directory only.
    public var writeFault: (@Sendable (String) -> CInt?)? {
        get { lock.withLock { _writeFault } }
        set { lock.withLock { _writeFault = newValue } }
    }

    /// Bytes the "disk" holds (nil: unlimited). A write that would grow the total size of all
    /// files past it throws ENOSPC (28) and changes nothing.
    public var capacityBytes: Int? {
        get { lock.withLock { _capacityBytes } }
        set { lock.withLock { _capacityBytes = newValue } }
    }

    /// Bytes in all files now (what ``capacityBytes`` is compared with).
    public var usedBytes: Int { lock.withLock { files.values.reduce(0) { $0 + $1.current.count } } }

    private var _operationsUntilFailure: Int?

    /// Crash-point injection: after this many more mutating operations (write, truncate, sync,
    /// create, rename, remove, directory sync) every further one fails with EIO, as if the
    /// machine had stopped right there. Follow with ``powerLoss(_:options:)`` and reset to nil.
    public var operationsUntilFailure: Int? {
        get { lock.withLock { _operationsUntilFailure } }
        set { lock.withLock { _operationsUntilFailure = newValue; if newValue == nil { _failWrites = false } } }
    }

    /// Counts one mutating operation; throws once the injected crash point is reached.
    /// Must be called with the lock held.
    private func mutate(_ operation: String, _ path: String) throws(FileSystemError) {
        if let remaining = _operationsUntilFailure {
            if remaining <= 0 { _failWrites = true } else { _operationsUntilFailure = remaining - 1 }
        }
        if _failWrites { throw FileSystemError(operation: operation, path: path, errno: _injectedErrno) }
        if let errno = _writeFault?(path) { throw FileSystemError(operation: operation, path: path, errno: errno) }
    }

    // MARK: FileSystem

    public func open(_ path: String, create: Bool) throws(FileSystemError) -> any StorageFile {
        try lock.withLock { () throws(FileSystemError) -> any StorageFile in
            if let errno = _openFault?(path) { throw FileSystemError(operation: "open", path: path, errno: errno) }
            try checkDescriptorLimit(path)
            if let node = files[path] { return SimulatedFile(path: path, node: node, fs: self) }
            guard create else { throw FileSystemError(operation: "open", path: path, errno: 2) }
            guard directories.contains(parentDirectory(of: path)) else { throw FileSystemError(operation: "open", path: path, errno: 2) }
            try mutate("open(create)", path)
            let node = Node()
            files[path] = node
            return SimulatedFile(path: path, node: node, fs: self)
        }
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        try lock.withLock { () throws(FileSystemError) -> [String] in
            guard directories.contains(path) else { throw FileSystemError(operation: "opendir", path: path, errno: 2) }
            let prefix = path.hasSuffix("/") ? path : path + "/"
            var names: [String] = []
            for key in files.keys where key.hasPrefix(prefix) && !key.dropFirst(prefix.count).contains("/") {
                names.append(String(key.dropFirst(prefix.count)))
            }
            for dir in directories where dir.hasPrefix(prefix) && dir != path && !dir.dropFirst(prefix.count).contains("/") {
                names.append(String(dir.dropFirst(prefix.count)))
            }
            return names
        }
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        lock.withLock {
            var p = path
            while p != "/" && p != "." && !p.isEmpty {
                directories.insert(p)
                p = parentDirectory(of: p)
            }
        }
    }

    public func fileExists(_ path: String) -> Bool { lock.withLock { files[path] != nil || directories.contains(path) } }

    public func isDirectory(_ path: String) -> Bool { lock.withLock { directories.contains(path) } }

    public func removeFile(_ path: String) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            guard files[path] != nil else { return }
            try mutate("unlink", path)
            files.removeValue(forKey: path)
        }
    }

    public func removeDirectoryRecursively(_ path: String) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            try mutate("rmdir", path)
            let prefix = path + "/"
            files = files.filter { !$0.key.hasPrefix(prefix) && $0.key != path }
            directories = directories.filter { !$0.hasPrefix(prefix) && $0 != path }
        }
    }

    public func rename(_ from: String, to: String) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            try mutate("rename", from)
            if let node = files.removeValue(forKey: from) {
                files[to] = node
                return
            }
            guard directories.contains(from) else { throw FileSystemError(operation: "rename", path: from, errno: 2) }
            let prefix = from + "/"
            var moved: [String: Node] = [:]
            for (key, node) in files {
                if key.hasPrefix(prefix) { moved[to + "/" + key.dropFirst(prefix.count)] = node } else { moved[key] = node }
            }
            files = moved
            directories = Set(directories.map { $0 == from ? to : ($0.hasPrefix(prefix) ? to + "/" + $0.dropFirst(prefix.count) : $0) })
        }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in try mutate("fsync(dir)", path) }
    }

    public func fileSize(_ path: String) -> Int64? { lock.withLock { files[path].map { Int64($0.current.count) } } }

    // MARK: Power loss

    /// Simulates a power loss: every file falls back to its durable contents plus a random part
    /// of its pending writes (see the type's documentation). Open files of the old "boot" must be
    /// dropped: they keep pointing at the pre-crash contents.
    public func powerLoss<R: RandomNumberGenerator>(_ rng: inout R, options: PowerLossOptions = PowerLossOptions()) {
        lock.withLock {
            powerLosses += 1
            var survivors: [String: Node] = [:]
            for (path, node) in files.sorted(by: { $0.key < $1.key }) {
                survivors[path] = Node(Self.afterPowerLoss(node, &rng, options))
            }
            files = survivors
        }
    }

    /// A clean stop of the machine: everything written so far becomes durable.
    public func syncEverything() {
        lock.withLock {
            for node in files.values { node.durable = node.current; node.pending = [] }
        }
    }

    private static func afterPowerLoss<R: RandomNumberGenerator>(_ node: Node, _ rng: inout R, _ o: PowerLossOptions) -> [UInt8] {
        var bytes = node.durable
        guard !node.pending.isEmpty else { return bytes }
        var kept: [Pending] = node.pending.filter { _ in Double.random(in: 0..<1, using: &rng) < o.keepPendingProbability }
        if let lastWriteIndex = kept.lastIndex(where: { if case .write = $0 { return true } else { return false } }),
           Double.random(in: 0..<1, using: &rng) < o.tornWriteProbability,
           case .write(let offset, let data) = kept[lastWriteIndex], data.count > 1 {
            kept[lastWriteIndex] = .write(offset: offset, bytes: Array(data[0..<Int.random(in: 0..<data.count, using: &rng)]))
        }
        for op in kept {
            switch op {
            case .write(let offset, let data): apply(&bytes, offset, data)
            case .truncate(let size): resize(&bytes, size)
            }
        }
        if Double.random(in: 0..<1, using: &rng) < o.zeroFilledTailProbability, node.current.count > bytes.count {
            resize(&bytes, node.current.count)
        }
        if Double.random(in: 0..<1, using: &rng) < o.garbagePageProbability {
            let ranges: [(Int, Int)] = node.pending.compactMap {
                if case .write(let offset, let data) = $0, !data.isEmpty { return (offset, data.count) } else { return nil }
            }
            if let (offset, count) = ranges.randomElement(using: &rng) {
                let start = offset + Int.random(in: 0..<count, using: &rng)
                let length = min(Int.random(in: 1...4096, using: &rng), offset + count - start)
                let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if start < max(bytes.count, node.current.count) { apply(&bytes, start, garbage) }
            }
        }
        return bytes
    }

    static func apply(_ bytes: inout [UInt8], _ offset: Int, _ data: [UInt8]) {
        if bytes.count < offset + data.count { bytes.append(contentsOf: repeatElement(0, count: offset + data.count - bytes.count)) }
        bytes.replaceSubrange(offset..<(offset + data.count), with: data)
    }

    static func resize(_ bytes: inout [UInt8], _ size: Int) {
        if size < bytes.count { bytes.removeLast(bytes.count - size) } else { bytes.append(contentsOf: repeatElement(0, count: size - bytes.count)) }
    }

    // MARK: File operations (called by SimulatedFile)

    fileprivate func read(_ node: Node, at offset: Int64, count: Int) -> ByteBuffer {
        lock.withLock {
            let start = min(Int(offset), node.current.count)
            let end = min(start + count, node.current.count)
            return ByteBuffer(bytes: node.current[start..<end])
        }
    }

    fileprivate func write(_ node: Node, _ path: String, _ bytes: ByteBuffer, at offset: Int64) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            try mutate("pwrite", path)
            let data = Array(bytes.readableBytesView)
            if let capacity = _capacityBytes {
                let growth = max(0, Int(offset) + data.count - node.current.count)
                let used = files.values.reduce(0) { $0 + $1.current.count }
                if growth > 0 && used + growth > capacity { throw FileSystemError(operation: "pwrite", path: path, errno: 28) }
            }
            Self.apply(&node.current, Int(offset), data)
            node.pending.append(.write(offset: Int(offset), bytes: data))
        }
    }

    fileprivate func truncate(_ node: Node, _ path: String, to size: Int64) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            try mutate("ftruncate", path)
            Self.resize(&node.current, Int(size))
            node.pending.append(.truncate(Int(size)))
        }
    }

    fileprivate func sync(_ node: Node, _ path: String) throws(FileSystemError) {
        try lock.withLock { () throws(FileSystemError) in
            try mutate("fdatasync", path)
            node.durable = node.current
            node.pending = []
        }
    }

    fileprivate func size(_ node: Node) -> Int64 { lock.withLock { Int64(node.current.count) } }
}

/// An open simulated file: a handle on the node, like a descriptor on an inode (it follows
/// renames and outlives removal).
final class SimulatedFile: StorageFile, @unchecked Sendable {
    let path: String
    private let node: SimulatedFileSystem.Node
    private let fs: SimulatedFileSystem

    init(path: String, node: SimulatedFileSystem.Node, fs: SimulatedFileSystem) {
        self.path = path; self.node = node; self.fs = fs
        fs.openHandles.add(1, ordering: .relaxed)
    }
    deinit { fs.openHandles.subtract(1, ordering: .relaxed) }

    var fileDescriptor: CInt? { nil }
    func size() throws(FileSystemError) -> Int64 { fs.size(node) }
    func read(at offset: Int64, count: Int) throws(FileSystemError) -> ByteBuffer { fs.read(node, at: offset, count: count) }
    func write(_ bytes: ByteBuffer, at offset: Int64) throws(FileSystemError) { try fs.write(node, path, bytes, at: offset) }
    /// A gather write lands in the page cache as one contiguous write, so it is one pending
    /// operation here too (what a power loss may tear or drop).
    func write(_ parts: [ByteBuffer], at offset: Int64) throws(FileSystemError) {
        var joined = ByteBuffer()
        for var part in parts { joined.writeBuffer(&part) }
        try fs.write(node, path, joined, at: offset)
    }
    func truncate(to size: Int64) throws(FileSystemError) { try fs.truncate(node, path, to: size) }
    func sync() throws(FileSystemError) { try fs.sync(node, path) }
}

/// SplitMix64: a tiny, fast, seedable generator, so a failing simulation can be replayed from
/// its printed seed. A value type; `Sendable`.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
