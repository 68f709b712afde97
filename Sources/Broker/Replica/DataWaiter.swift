import Synchronization

/// A one-shot wake-up for a parked fetch (Kafka's `DelayedFetch`): partitions fire it when
/// their high watermark moves; the fetch also fires it itself when `max.wait.ms` expires.
///
/// Thread-safe; firing more than once, or before anyone waits, is harmless.
public final class DataWaiter: Sendable {
    private struct State {
        var fired = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    public let id: UInt64

    public init(id: UInt64) { self.id = id }

    public func fire() {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.fired = true
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume()
    }

    public var hasFired: Bool { state.withLock { $0.fired } }

    /// Returns when fired, or after `timeoutMs` on `clock`, whichever comes first.
    public func wait(timeoutMs: Int64, clock: any BrokerClock) async {
        guard timeoutMs > 0 else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { s -> Bool in
                        if s.fired { return true }
                        s.continuation = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            }
            group.addTask {
                await clock.sleep(ms: timeoutMs)
                self.fire()
            }
            await group.next()
            self.fire()
            group.cancelAll()
        }
    }
}
