#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Exclusive ownership of the broker's log directories, as Kafka's `.lock` file gives.
///
/// Two broker processes on one data directory would append to the same segment files and
/// overwrite each other's checkpoints, so the second one must refuse to start. Each directory
/// gets a `.lock` file held with `flock(LOCK_EX | LOCK_NB)` for the life of the broker; the
/// kernel drops the lock when the process exits, so a `kill -9` never leaves a stale lock
/// behind (unlike a pid file). Thread-safe.
public final class LogDirectoryLock: Sendable {
    public static let fileName = ".lock"
    private let descriptors: Mutex<[Int32]>

    /// Locks every directory (creating it if needed) or throws, releasing what it took.
    public init(directories: [String]) throws(LogDirectoryLockError) {
        var taken: [Int32] = []
        for dir in directories {
            // As Kafka, create the directory and any missing parents (a bare mkdir failed on
            // a missing parent and surfaced as a misleading "cannot lock").
            do throws(FileError) {
                try makeDirectories(dir)
            } catch {
                taken.forEach { _ = close($0) }
                throw .cannotCreate(directory: dir, reason: "\(error)")
            }
            let path = dir + "/" + Self.fileName
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                taken.forEach { _ = close($0) }
                throw .cannotOpen(path: path, reason: reason)
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let inUse = errno == EWOULDBLOCK
                let reason = String(cString: strerror(errno))
                _ = close(fd)
                taken.forEach { _ = close($0) }
                throw inUse ? .inUse(directory: dir) : .cannotOpen(path: path, reason: reason)
            }
            taken.append(fd)
        }
        descriptors = Mutex(taken)
    }

    /// Releases the locks (also done by the kernel at exit). Idempotent.
    public func release() {
        let fds = descriptors.withLock { fds -> [Int32] in defer { fds = [] }; return fds }
        for fd in fds { _ = flock(fd, LOCK_UN); _ = close(fd) }
    }

    deinit { release() }
}

/// Why the log directories could not be locked.
public enum LogDirectoryLockError: Error, Equatable, Sendable, CustomStringConvertible {
    case inUse(directory: String)
    case cannotOpen(path: String, reason: String)
    case cannotCreate(directory: String, reason: String)

    public var description: String {
        switch self {
        case .inUse(let dir):
            return "log directory \(dir) is in use by another broker process (its \(LogDirectoryLock.fileName) is locked)"
        case .cannotOpen(let path, let reason):
            return "cannot lock \(path): \(reason)"
        case .cannotCreate(let dir, let reason):
            return "cannot create log directory \(dir): \(reason)"
        }
    }
}
