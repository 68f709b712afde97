/// Wall-clock time and sleeping, injected so that tests can drive time (never read ambiently
/// below the server shell).
public protocol BrokerClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMs() -> Int64
    /// Suspends for `ms` milliseconds (or until the task is cancelled).
    func sleep(ms: Int64) async
}

/// The real clock.
public struct SystemBrokerClock: BrokerClock {
    public init() {}

    public func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func sleep(ms: Int64) async {
        try? await Task.sleep(for: .milliseconds(max(0, ms)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
