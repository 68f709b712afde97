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
                src.setEventHandler { [weak self] in self?.record(sig) }
                src.resume()
                sources.append(src)
            }
        }
    }

    /// Marks termination as requested (used by tests and by Ctrl-C read as a key).
    public func record(_ sig: Int32) { lock.withLock { if received == nil { received = sig } } }
}
