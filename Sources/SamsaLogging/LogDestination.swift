#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where log lines go: a file opened for appending (and reopened on request, for log
/// rotation), or an inherited descriptor (standard error).
///
/// Thread-safe: one lock around the descriptor, and each line is handed to one `write(2)` under
/// it, so lines from many threads never interleave. ``reopen()`` swaps the descriptor under the
/// same lock: every line written before the swap is in the old file, every line after it in
/// the new one, none is lost or split between them.
public final class LogDestination: Sendable {
    /// The file, nil for an inherited descriptor (``standardError``).
    public let path: String?
    private let descriptor: Mutex<Int32>

    /// Standard error (descriptor 2), never closed nor reopened.
    public static let standardError = LogDestination(inherited: 2)

    private init(inherited fd: Int32) {
        path = nil
        descriptor = Mutex(fd)
    }

    /// Opens `path` for appending, creating it (mode 0644) and its parent directories when
    /// missing. Throws ``LogFileError`` when it cannot be written.
    public init(path: String) throws(LogFileError) {
        self.path = path
        descriptor = Mutex(try Self.open(path))
    }

    deinit {
        if path != nil { descriptor.withLock { _ = close($0) } }
    }

    /// Opens the path again and writes every later line there: after `logrotate` (or `mv`)
    /// renamed the file, lines go to a new file at the path. On failure the current file stays
    /// in use and the error is thrown. Returns false (and does nothing) for ``standardError``.
    @discardableResult
    public func reopen() throws(LogFileError) -> Bool {
        guard let path else { return false }
        let fresh = try Self.open(path)
        let old = descriptor.withLock { fd -> Int32 in
            let old = fd
            fd = fresh
            return old
        }
        _ = close(old)
        return true
    }

    /// Writes `line` (which should end with a newline) with one `write(2)`; a short write
    /// (a full pipe) is continued, an interrupted one retried. Errors are dropped: there is
    /// nowhere left to report them.
    public func write(_ line: String) {
        var line = line
        line.withUTF8 { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            descriptor.withLock { fd in
                var offset = 0
                while offset < bytes.count {
                    let n = systemWrite(fd, base + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += n
                }
            }
        }
    }

    private static func open(_ path: String) throws(LogFileError) -> Int32 {
        try makeParentDirectories(of: path)
        let fd = systemOpen(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw LogFileError(path: path, errno: errno) }
        return fd
    }

    /// `mkdir -p` of the path's directory.
    private static func makeParentDirectories(of path: String) throws(LogFileError) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return }
        parts.removeLast()
        var dir = path.hasPrefix("/") ? "" : "."
        for part in parts where !part.isEmpty {
            dir += "/" + part
            if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw LogFileError(path: dir, errno: errno) }
        }
    }
}

/// A log file that cannot be opened: the path and the system's reason.
public struct LogFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot open log file \(path): \(String(cString: strerror(errno)))" }
}

#if canImport(Glibc)
private func systemWrite(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int { Glibc.write(fd, p, n) }
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Glibc.open(path, flags, mode) }
#elseif canImport(Darwin)
private func systemWrite(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int { Darwin.write(fd, p, n) }
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Darwin.open(path, flags, mode) }
#endif
