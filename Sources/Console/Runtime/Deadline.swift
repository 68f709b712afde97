import Foundation

/// Bounded waiting for shutdown steps. Closing Kafka clients waits on the cluster (a
/// producer's flush lasts up to `delivery.timeout.ms`, 120 s by default; a consumer's
/// close commits and leaves the group), so with the broker down `samsa demo` took 121 s
/// to quit. Each step now gets a deadline; a step that misses it is cancelled and left to
/// end on its own (the process is exiting).
public enum Deadline {
    private final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Bool, Never>?
        init(_ c: CheckedContinuation<Bool, Never>) { continuation = c }
        /// Resumes once; true for the caller that did.
        @discardableResult func resume(_ value: Bool) -> Bool {
            let c = lock.withLock { () -> CheckedContinuation<Bool, Never>? in defer { continuation = nil }; return continuation }
            c?.resume(returning: value)
            return c != nil
        }
    }

    /// Runs `operation` in a detached task and waits at most `limit` for it. Returns true
    /// when it finished in time; otherwise it is cancelled and the wait ends at the limit.
    @discardableResult
    public static func run(_ limit: Duration, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let once = Once(c)
            let work = Task.detached { await operation(); once.resume(true) }
            Task.detached {
                try? await Task.sleep(for: limit)
                if once.resume(false) { work.cancel() }
            }
        }
    }
}
