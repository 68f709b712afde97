import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage engine's view of the disk: just the handful of operations a log needs, so that
/// tests can swap in ``SimulatedFileSystem`` and inject power loss, torn writes and garbage.
///
/// Paths are plain absolute strings joined with `/`. Every method throws ``FileSystemError``
/// instead of trapping. Implementations must be thread-safe (`Sendable`): the log manager opens
/// partitions from several threads at once, each partition from at most one thread at a time.
public protocol FileSystem: Sendable {
    /// Opens `path` for reading and writing, creating it (empty) when `create` is true.
    func open(_ path: String, create: Bool) throws(FileSystemError) -> any StorageFile
    /// Names (not paths) of the entries of a directory, in no particular order.
    func listDirectory(_ path: String) throws(FileSystemError) -> [String]
    /// Creates the directory and any missing parents; succeeds when it already exists.
    func createDirectory(_ path: String) throws(FileSystemError)
    func fileExists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    /// Removes a file; succeeds when it does not exist.
    func removeFile(_ path: String) throws(FileSystemError)
    /// Removes a directory and everything under it; succeeds when it does not exist.
    func removeDirectoryRecursively(_ path: String) throws(FileSystemError)
    /// Atomically replaces `to` with `from` (POSIX `rename`).
    func rename(_ from: String, to: String) throws(FileSystemError)
    /// Makes the directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws(FileSystemError)
    /// Size of a file without opening it, nil when it does not exist.
    func fileSize(_ path: String) -> Int64?
}

/// One open file. Positioned I/O only (`pread`/`pwrite`), so concurrent readers never share
/// a file offset. Thread-safe: reads may run concurrently with one writer.
///
/// The descriptor is closed when the last reference goes away, never earlier: a ``LogSlice``
/// handed to the network layer keeps its segment's file alive even if retention deletes the
/// segment in the meantime, exactly like an open descriptor on an unlinked file in Kafka.
public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    /// Current size in bytes (including writes that are not yet durable).
    func size() throws(FileSystemError) -> Int64
    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(at offset: Int64, count: Int) throws(FileSystemError) -> ByteBuffer
    /// Writes every readable byte of `bytes` at `offset` (loops over short writes).
    func write(_ bytes: ByteBuffer, at offset: Int64) throws(FileSystemError)
    /// Writes the parts back to back from `offset` (a gather write: `pwritev`).
    func write(_ parts: [ByteBuffer], at offset: Int64) throws(FileSystemError)
    /// Cuts (or extends with zeros) the file to `size` bytes.
    func truncate(to size: Int64) throws(FileSystemError)
    /// Makes every write so far durable (`fdatasync`: data plus the size, not the mtime).
    func sync() throws(FileSystemError)
    /// The POSIX descriptor, for zero-copy sends; nil for simulated files. Valid only while
    /// this object is alive; callers that keep it longer must `dup` it.
    var fileDescriptor: CInt? { get }
}

/// A file-system failure, with the errno (or simulated equivalent) and the path.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: CInt

    public init(operation: String, path: String, errno: CInt) {
        self.operation = operation; self.path = path; self.errno = errno
    }

    /// `open /data/t-0/00000000000000000000.log: Too many open files (errno 24)`: the
    /// operating system's text first, so an operator reads "No space left on device" rather
    /// than a bare number.
    public var description: String {
        errno == 0 ? "\(operation) \(path)" : "\(operation) \(path): \(Self.message(forErrno: errno)) (errno \(errno))"
    }

    /// `strerror` text of an errno value.
    public static func message(forErrno code: CInt) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

extension StorageFile {
    /// One write per part, for file systems without a gather write.
    public func write(_ parts: [ByteBuffer], at offset: Int64) throws(FileSystemError) {
        var position = offset
        for part in parts {
            try write(part, at: position)
            position += Int64(part.readableBytes)
        }
    }
}

extension FileSystem {
    /// Writes `contents` to `path` so that after a crash the file holds either the old or the
    /// new contents, never a mix: write a temporary file, fsync it, rename it over the target,
    /// fsync the directory (Kafka's `CheckpointFile` does the same).
    public func writeAtomically(_ path: String, contents: String) throws(FileSystemError) {
        let tmp = path + ".tmp"
        let file = try open(tmp, create: true)
        try file.truncate(to: 0)
        try file.write(ByteBuffer(string: contents), at: 0)
        try file.sync()
        try rename(tmp, to: path)
        try syncDirectory(parentDirectory(of: path))
    }

    /// The whole file as a UTF-8 string, nil when it does not exist.
    public func readString(_ path: String) throws(FileSystemError) -> String? {
        guard fileExists(path) else { return nil }
        let file = try open(path, create: false)
        let size = try file.size()
        var buffer = try file.read(at: 0, count: Int(size))
        return buffer.readString(length: buffer.readableBytes)
    }
}

/// `a/b/c` -> `a/b`.
@inlinable
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

@inlinable
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
