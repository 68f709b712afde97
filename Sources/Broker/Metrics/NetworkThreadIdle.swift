import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kafka's `NetworkProcessorAvgIdlePercent` (and per processor `IdlePercent`) for SwiftNIO's
/// event loops, which serve the listeners as Kafka's network processors do.
///
/// NIO has no idle-time API, so the idle fraction is measured from the kernel's CPU accounting
/// of each event-loop thread: a thread waiting in `epoll_wait` uses no CPU, one that reads,
/// writes, decodes or runs handler code does. Idle = 1 - (thread CPU time / wall time) over the
/// interval since the previous sample (one Prometheus scrape to the next; since start-up for
/// the first). Kafka's processor measures the time spent in `select` the same way; both read
/// 1.0 on an idle broker and fall toward 0 when the network threads are saturated.
///
/// The per-thread CPU clocks (`pthread_getcpuclockid`) are taken once, on each loop's own
/// thread, at start-up; reading a clock later needs only its id (the kernel answers EINVAL once
/// the thread is gone, and that thread is then left out). Thread-safe.
public final class NetworkThreadIdleMeter: Sendable {
    /// Reads a thread's CPU time in nanoseconds (nil if it cannot), and the wall clock.
    struct Clocks: Sendable {
        var cpuNanoseconds: @Sendable (clockid_t) -> Int64?
        var wallNanoseconds: @Sendable () -> Int64

        static let system = Clocks(cpuNanoseconds: { id in
            var ts = timespec()
            guard clock_gettime(id, &ts) == 0 else { return nil }
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        }, wallNanoseconds: {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        })
    }

    private struct Sample {
        var wallNs: Int64
        var cpuNs: [Int64?]
    }

    private let threadClocks: [clockid_t]
    private let clocks: Clocks
    private let last: Mutex<Sample>

    init(threadClocks: [clockid_t], clocks: Clocks = .system) {
        self.threadClocks = threadClocks
        self.clocks = clocks
        last = Mutex(Sample(wallNs: clocks.wallNanoseconds(), cpuNs: threadClocks.map { clocks.cpuNanoseconds($0) }))
    }

    /// A meter over every event loop of `group` (asks each loop for its thread's CPU clock).
    public static func make(group: MultiThreadedEventLoopGroup) async -> NetworkThreadIdleMeter? {
        var ids: [clockid_t] = []
        for loop in group.makeIterator() {
            let id = try? await loop.submit { () -> clockid_t? in
                var id = clockid_t()
                return pthread_getcpuclockid(pthread_self(), &id) == 0 ? id : nil
            }.get()
            if let id = id.flatMap({ $0 }) { ids.append(id) }
        }
        return ids.isEmpty ? nil : NetworkThreadIdleMeter(threadClocks: ids)
    }

    /// The idle fraction (0...1) of each thread since the previous call, and their average.
    /// nil when no time has passed or no thread could be read.
    public func sample() -> (average: Double, perThread: [Double])? {
        let now = clocks.wallNanoseconds()
        let cpu = threadClocks.map { clocks.cpuNanoseconds($0) }
        let previous = last.withLock { s -> Sample in
            let old = s
            s = Sample(wallNs: now, cpuNs: cpu)
            return old
        }
        let wall = now - previous.wallNs
        guard wall > 0 else { return nil }
        var perThread: [Double] = []
        for (before, after) in zip(previous.cpuNs, cpu) {
            guard let before, let after else { continue }
            let busy = Double(max(0, after - before)) / Double(wall)
            perThread.append(min(1, max(0, 1 - busy)))
        }
        guard !perThread.isEmpty else { return nil }
        return (perThread.reduce(0, +) / Double(perThread.count), perThread)
    }
}

/// Holds the broker's meter, made once the event loops run (a scrape before that reports none).
final class NetworkIdleSource: Sendable {
    private let meter = Mutex<NetworkThreadIdleMeter?>(nil)
    func set(_ m: NetworkThreadIdleMeter?) { meter.withLock { $0 = m } }
    func sample() -> (average: Double, perThread: [Double])? { meter.withLock { $0 }?.sample() }
}
