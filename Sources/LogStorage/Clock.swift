#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time as the log sees it: segment ages, `retention.ms`, `segment.ms`, `flush.ms`,
/// log-append timestamps. Injected so tests can move time by hand. (Not named `Clock` so it does
/// not shadow the standard library's `Clock` protocol in modules that import LogStorage.)
public protocol LogClock: Sendable {
    /// Milliseconds since the Unix epoch, as Kafka's `Time.milliseconds()`.
    func milliseconds() -> Int64
}

/// The real wall clock (`CLOCK_REALTIME`). Stateless, thread-safe.
public struct SystemLogClock: LogClock {
    public init() {}
    public func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to. Thread-safe (internal lock).
public final class ManualLogClock: LogClock, @unchecked Sendable {
    private let lock = StorageLock()
    private var now: Int64

    public init(milliseconds: Int64 = 1_700_000_000_000) { now = milliseconds }

    public func milliseconds() -> Int64 { lock.withLock { now } }

    public func advance(byMilliseconds delta: Int64) { lock.withLock { now += delta } }

    public func set(milliseconds: Int64) { lock.withLock { now = milliseconds } }
}

/// A plain pthread mutex. Used instead of Foundation's `NSLock` to keep LogStorage free of
/// Foundation, and instead of `Synchronization.Mutex` because that needs macOS 15.
/// Not recursive: never call back into code that takes the same lock.
public final class StorageLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
