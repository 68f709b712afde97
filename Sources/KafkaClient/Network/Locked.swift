import Foundation

/// A value guarded by a lock: the client's small shared states (correlation counters,
/// connection tables) are touched from NIO event loops and from Swift tasks, so they need a
/// lock rather than an actor hop on the hot path.
///
/// Concurrency: thread-safe; `withLock` must not be re-entered or suspended in.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A counting semaphore for async code: bounds the requests in flight on one connection
/// (`max.in.flight.requests.per.connection`). Waiters are resumed in FIFO order so request
/// order is preserved across waiting tasks.
///
/// Concurrency: thread-safe.
final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
        var nextId: UInt64 = 0
        var failure: KafkaClientError?
    }
    private let state: Locked<State>

    init(permits: Int) { state = Locked(State(permits: permits)) }

    func acquire() async throws {
        let id: UInt64? = try state.withLock { s in
            if let failure = s.failure { throw failure }
            if s.permits > 0 && s.waiters.isEmpty {
                s.permits -= 1
                return nil
            }
            s.nextId += 1
            return s.nextId
        }
        guard let id else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let immediate: Result<Void, Error>? = state.withLock { s in
                if let failure = s.failure { return .failure(failure) }
                if s.permits > 0 && s.waiters.isEmpty {
                    s.permits -= 1
                    return .success(())
                }
                s.waiters.append((id, continuation))
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Error>? = state.withLock { s in
            if s.waiters.isEmpty {
                s.permits += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    /// Fails every current and future waiter (the connection is gone).
    func fail(_ error: KafkaClientError) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Error>] in
            s.failure = error
            defer { s.waiters.removeAll() }
            return s.waiters.map(\.continuation)
        }
        for w in waiters { w.resume(throwing: error) }
    }
}
