import Foundation
import Logging
import TerminalUI

/// Options of one interactive console session.
public struct ConsoleOptions: Sendable {
    public var refresh: Duration
    public var readOnly: Bool
    /// Input timeout of the UI loop: also the worst-case resize latency (see
    /// swift-ncurses-notes.md §4: SIGWINCH is only noticed when the input wait ends).
    public var inputTimeoutMs: Int
    /// xterm mouse reporting (click selects, wheel scrolls); `--no-mouse` turns it off.
    public var mouse: Bool
    /// The clusters file's entries (`--clusters`): the name of this one (shown in the header)
    /// and of every one `:cluster NAME` may switch to. Empty without a clusters file.
    public var clusterName: String? = nil
    public var clusterNames: [String] = []
    /// Where `:cluster up N` starts a local demo cluster (nil: not offered, as in `samsa demo`,
    /// which runs one already), and whether the one it started is running (`:cluster down`).
    public var localClusterDirectory: String? = nil
    public var localClusterRunning = false
    /// Shown on the status line when the console opens (after a switch: which cluster, or why
    /// the switch did not happen).
    public var openingMessage: (text: String, isError: Bool)? = nil
    public init(refresh: Duration = .seconds(2), readOnly: Bool = false, inputTimeoutMs: Int = 100, mouse: Bool = true) {
        self.refresh = refresh; self.readOnly = readOnly; self.inputTimeoutMs = inputTimeoutMs; self.mouse = mouse
    }
}

/// Why an interactive session ended.
public enum ConsoleExit: Sendable, Equatable {
    case quit
    /// `:cluster NAME`: the caller opens the console again on that cluster.
    case switchCluster(String)
    /// `:cluster up N`: the caller starts a local demo cluster of N nodes in
    /// ``ConsoleOptions/localClusterDirectory`` and opens the console on it.
    case startLocalCluster(brokers: Int)
    /// `:cluster down`: the caller stops the local cluster it started (and deletes its data).
    case stopLocalCluster
}

/// Wires the sampler, the controller, the action executor and a terminal backend into the
/// running console, and owns the UI loop.
public final class ConsoleRuntime: Sendable {
    public let source: any ClusterDataSource
    public let actions: (any ClusterActions)?
    /// The client the Messages pane reads with (Fetch, ListOffsets by time). Kept in
    /// read-only mode, where `actions` is nil: the pane once said "needs a client".
    public let messageReader: (any ClusterActions)?
    public let brokerControl: (any BrokerControl)?
    public let options: ConsoleOptions
    public let store: SnapshotStore
    public let sampler: ClusterSampler
    public let inbox = EventInbox()
    let logger = Logger(label: "samsa.console")

    public init(source: any ClusterDataSource, actions: (any ClusterActions)?, brokerControl: (any BrokerControl)?, options: ConsoleOptions) {
        self.source = source
        self.actions = options.readOnly ? nil : actions
        self.messageReader = actions
        self.brokerControl = options.readOnly ? nil : brokerControl
        self.options = options
        store = SnapshotStore(.empty(bootstrap: source.displayName))
        sampler = ClusterSampler(source: source, store: store, interval: options.refresh)
    }

    /// Runs the console until the user quits or a termination signal arrives. The backend
    /// is created by `makeBackend` on the UI thread (curses must stay on one thread) and is
    /// always shut down before this returns, including when the loop throws.
    @discardableResult
    public func run(themes: [Theme], themeIndex: Int, makeBackend: @escaping @Sendable () throws -> any TerminalBackend) async throws -> ConsoleExit {
        let sampler = self.sampler
        if let bc = brokerControl { await sampler.attach(bc) }
        let samplerTask = Task { await sampler.run() }
        let tailer = MessageTailer(source: source, actions: messageReader, inbox: inbox)
        let executor = ActionExecutor(source: source, actions: actions, reader: messageReader, brokerControl: brokerControl, inbox: inbox, sampler: sampler)
        defer { samplerTask.cancel() }
        let readOnly = options.readOnly, control = brokerControl != nil
        let inbox = self.inbox, store = self.store, timeout = options.inputTimeoutMs, logger = self.logger
        // The loop blocks its thread on curses input with a short timeout; running it on the
        // MainActor keeps it off the (2-thread) cooperative pool the sampler needs.
        let options = self.options
        let exit = try await MainActor.run { () throws -> ConsoleExit in
            let backend = try makeBackend()
            defer { backend.shutdown() }
            let controller = ConsoleController(readOnly: readOnly, brokerControl: control, themes: themes, themeIndex: themeIndex)
            controller.clusterName = options.clusterName
            controller.clusterNames = options.clusterNames
            controller.localClusterDirectory = options.localClusterDirectory
            controller.localClusterRunning = options.localClusterRunning
            if let m = options.openingMessage {
                controller.receive(m.isError ? .failed(m.text) : .succeeded(m.text), now: Date())
                controller.offeredLocalCluster = true
            }
            var exit = ConsoleExit.quit
            Self.loop(backend: backend, controller: controller, store: store, inbox: inbox, timeoutMs: timeout,
                      onEffect: { effect, snap in
                          switch effect {
                          case .quit: return false
                          case .switchCluster(let name): exit = .switchCluster(name); return false
                          case .startLocalCluster(let n): exit = .startLocalCluster(brokers: n); return false
                          case .stopLocalCluster: exit = .stopLocalCluster; return false
                          // Detached: a plain Task would inherit the MainActor, which this
                          // loop occupies, and would not run until the console quits.
                          case .refresh: Task.detached { await sampler.refreshNow() }
                          case .perform(let a): executor.perform(a, snapshot: snap)
                          case .tail(let r): Task.detached { await tailer.start(r) }
                          case .clipboard: break  // handled by the loop, which owns the terminal
                          case .tailLimit(let id, let limit): Task.detached { await tailer.setLimit(id: id, limit: limit) }
                          case .cancelRollingRestart: executor.cancelRollingRestart()
                          }
                          return true
                      })
            return exit
        }
        await tailer.start(nil)
        // A rolling restart must not restart a broker after the console (and `samsa demo`'s
        // stop of every node) is gone: cancel it and let a restart under way finish, bounded.
        if await executor.stopRollingRestart(within: .seconds(30)) == false {
            logger.warning("the rolling restart did not stop within 30 s")
        }
        logger.info("console closed")
        return exit
    }

    /// The UI loop: drain events, draw when something changed (or once a second for ages),
    /// wait for a key, dispatch its effects. Returns when an effect handler returns false
    /// or a termination signal was recorded.
    public static func loop(backend: any TerminalBackend, controller: ConsoleController, store: SnapshotStore, inbox: EventInbox,
                            timeoutMs: Int, maxIterations: Int? = nil,
                            onEffect: (ConsoleEffect, ClusterSnapshot) -> Bool) {
        var lastSequence = -1
        var lastDraw = Date.distantPast
        var dirty = true
        var iterations = 0
        while TerminationSignals.shared.requested == nil {
            if let maxIterations { if iterations >= maxIterations { return }; iterations += 1 }
            let now = Date()
            for e in inbox.drain() { controller.receive(e, now: now); dirty = true }
            let snap = store.latest
            if snap.sequence != lastSequence { controller.observe(snap, now: now) }
            if dirty || snap.sequence != lastSequence || now.timeIntervalSince(lastDraw) >= 1 {
                var canvas = backend.makeCanvas()
                controller.render(snap, into: &canvas, now: now, sampling: store.isSampling)
                backend.present(canvas, theme: controller.theme)
                lastSequence = snap.sequence; lastDraw = now; dirty = false
            }
            guard let key = backend.readKey(timeoutMs: timeoutMs) else { continue }
            dirty = true
            for effect in controller.handle(key, snapshot: snap, now: Date()) {
                if case .clipboard(let text) = effect {
                    // OSC 52 goes to the terminal itself; whether it lands is up to the terminal.
                    controller.receive(backend.copyToClipboard(text)
                        ? .succeeded("copied \(Format.plural(text.utf8.count, "byte")) to the clipboard (OSC 52; the terminal must allow it)")
                        : .failed("this terminal cannot take a clipboard copy; write to a file instead"), now: Date())
                    continue
                }
                if !onEffect(effect, snap) { return }
            }
        }
    }
}
