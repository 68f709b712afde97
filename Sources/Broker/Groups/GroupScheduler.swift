import Foundation

/// A pending timer; cancelling it after it fired is harmless.
public protocol GroupTimerHandle: Sendable {
    func cancel()
}

/// Time for the group coordinator: the current time and delayed work. Injected so tests can
/// drive session timeouts and rebalance delays with a manual clock.
///
/// Implementations must be thread-safe.
public protocol GroupScheduler: Sendable {
    /// Milliseconds since the Unix epoch (commit timestamps are stored in this unit).
    func nowMs() -> Int64
    /// Runs `action` once, no earlier than `delayMs` from now.
    func schedule(afterMs delayMs: Int64, _ action: @escaping @Sendable () async -> Void) -> any GroupTimerHandle
}

/// The real clock: wall time from the system, delays with `Task.sleep`.
public struct SystemGroupScheduler: GroupScheduler {
    public init() {}

    public func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }

    public func schedule(afterMs delayMs: Int64, _ action: @escaping @Sendable () async -> Void) -> any GroupTimerHandle {
        let task = Task {
            if delayMs > 0 {
                let (nanoseconds, overflow) = UInt64(delayMs).multipliedReportingOverflow(by: 1_000_000)
                do { try await Task.sleep(nanoseconds: overflow ? UInt64.max : nanoseconds) } catch { return }
            }
            guard !Task.isCancelled else { return }
            await action()
        }
        return TaskTimerHandle(task: task)
    }

    private struct TaskTimerHandle: GroupTimerHandle {
        let task: Task<Void, Never>
        func cancel() { task.cancel() }
    }
}
