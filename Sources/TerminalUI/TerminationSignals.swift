import Dispatch
import Foundation

/// Turns SIGINT, SIGTERM and SIGHUP into a flag the UI loop polls, so that quitting on a
/// signal goes through the same path as pressing `q`: the terminal is restored, child
/// processes are stopped and logs are flushed. (ncurses' own handlers would `exit(1)`
/// without running any of that.)
///
/// Thread-safe: the flag is guarded by a lock; handlers run on a private dispatch queue.
public final class TerminationSignals: @unchecked Sendable {
    public static let shared = TerminationSignals()
    private let lock = NSLock()
    private var installed = false
    private var received: Int32?
    private var count = 0
    private var shuttingDown = false
    private var force: (@Sendable (Int32) -> Void)?
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "samsa.signals")

    /// The first signal received since `install()`, if any.
    public var requested: Int32? { lock.withLock { received } }

    /// Installs the handlers (idempotent). Must run before curses starts, because ncurses
    /// only installs its own handlers for signals still at their default action.
    public func install() {
        lock.withLock {
            guard !installed else { return }
            installed = true
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                src.setEventHandler { [weak self] in self?.signalArrived(sig) }
                src.resume()
                sources.append(src)
            }
        }
    }

    /// Marks termination as requested (used by tests and by Ctrl-C read as a key).
    public func record(_ sig: Int32) { lock.withLock { if received == nil { received = sig } } }

    /// Signals received so far (a second Ctrl-C forces the exit).
    public var signalCount: Int { lock.withLock { count } }

    /// Called once the normal quit path runs (after `q`, or the first signal): from now on
    /// a SIGINT (that is, a second Ctrl-C) runs `force` on the signal queue instead of
    /// waiting for the orderly shutdown. `force` must not return to normal code paths:
    /// it kills what must not outlive the process and exits.
    public func beginShutdown(force: @escaping @Sendable (Int32) -> Void) {
        lock.withLock { shuttingDown = true; self.force = force }
    }

    private func signalArrived(_ sig: Int32) {
        let f: (@Sendable (Int32) -> Void)? = lock.withLock {
            count += 1
            if received == nil { received = sig }
            // The first signal starts the orderly quit; a Ctrl-C once it runs forces. Only
            // SIGINT forces: a hang-up may come with more signals, and must still end in the
            // orderly path (brokers stopped, data deleted).
            return shuttingDown && sig == SIGINT ? force : nil
        }
        f?(sig)
    }
}
