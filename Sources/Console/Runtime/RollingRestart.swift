import Foundation

/// A rolling restart of a local cluster as a value (issue 13 item 4): one broker at a time,
/// and before the next, the restarted broker back in the cluster's metadata and every
/// partition's ISR full again, each wait bounded by `timeout`. The executor feeds it what
/// it observes and carries out its commands; it does no I/O and reads no clock, so tests
/// drive it step by step.
public struct RollingRestart: Equatable, Sendable {
    public enum Phase: Equatable, Sendable {
        case notStarted
        /// The restart of this broker (stop, then start until it accepts connections) runs.
        case restarting(Int32)
        /// Restarted at `since`; not yet running and listed in the cluster's metadata.
        case waitingForBroker(Int32, since: Date)
        /// Back; some partition's ISR is still smaller than its replica set.
        case waitingForISR(Int32, since: Date)
        case done
        case failed(String)
        case cancelled
    }

    /// What the cluster looks like at one moment.
    public struct Observation: Equatable, Sendable {
        /// Brokers whose processes run.
        public var running: Set<Int32>
        /// Brokers the cluster's metadata lists (registered and not fenced).
        public var registered: Set<Int32>
        /// Partitions whose ISR is smaller than their replica set, or without a leader.
        public var notFull: [TopicPartition]
        public init(running: Set<Int32>, registered: Set<Int32>, notFull: [TopicPartition]) {
            self.running = running; self.registered = registered; self.notFull = notFull
        }
        public init(metadata: ClusterMetadata, running: Set<Int32>) {
            self.running = running
            registered = Set(metadata.brokers.map(\.id))
            notFull = metadata.topics.flatMap { t in
                t.partitions.filter { $0.leader < 0 || Set($0.isr).count < Set($0.replicas).count }.map { TopicPartition(t.name, $0.partition) }
            }.sorted()
        }
    }

    /// What the executor does next.
    public enum Command: Equatable, Sendable {
        case restart(Int32)
        /// Observe the cluster again in a moment.
        case wait
        /// Finished (done, failed or cancelled): report `phase`.
        case finish
    }

    /// In restart order.
    public let brokers: [Int32]
    /// Bound of the wait after each broker's restart (back, then every ISR full), seconds.
    public let timeout: TimeInterval
    public private(set) var phase: Phase = .notStarted
    /// Brokers restarted and waited for, in order.
    public private(set) var completed: [Int32] = []
    /// The last observation, for the status line (how many partitions are not full).
    public private(set) var last: Observation?

    public init(brokers: [Int32], timeout: TimeInterval = 180) {
        self.brokers = brokers; self.timeout = timeout
    }

    /// Restart order: brokers by id, the active controller last, so the controller moves
    /// once, not every time a broker before it restarts (as operators roll Kafka).
    public static func order(_ ids: [Int32], controller: Int32?) -> [Int32] {
        let sorted = Array(Set(ids)).sorted()
        guard let controller, sorted.contains(controller) else { return sorted }
        return sorted.filter { $0 != controller } + [controller]
    }

    public var isFinished: Bool {
        switch phase {
        case .done, .failed, .cancelled: return true
        default: return false
        }
    }

    /// The broker being restarted or waited for.
    public var current: Int32? {
        switch phase {
        case .restarting(let id), .waitingForBroker(let id, _), .waitingForISR(let id, _): return id
        default: return nil
        }
    }

    static func list(_ tps: [TopicPartition], max: Int = 3) -> String {
        tps.prefix(max).map { "\($0.topic)-\($0.partition)" }.joined(separator: ", ") + (tps.count > max ? ", …" : "")
    }

    private var stoppedWhere: String {
        let next = current.flatMap { c in brokers.firstIndex(of: c) }.map { brokers.index(after: $0) }
        let restarted = completed.isEmpty ? "no broker fully restarted" : "restarted " + completed.map { "broker \($0)" }.joined(separator: ", ")
        if let next, next < brokers.count { return "stopped before broker \(brokers[next]) (\(restarted))" }
        return "stopped (\(restarted))"
    }

    /// Checks the cluster before anything is touched: at least two brokers, each running
    /// and in the metadata, no partition under-replicated (a restart would take them below
    /// their ISR, or offline).
    public mutating func start(_ obs: Observation) -> Command {
        guard phase == .notStarted else { return isFinished ? .finish : .wait }
        last = obs
        if brokers.count < 2 {
            phase = .failed("a rolling restart needs at least 2 brokers: with one, every restart is an outage (r restarts a broker)")
            return .finish
        }
        if let down = brokers.first(where: { !obs.running.contains($0) || !obs.registered.contains($0) }) {
            phase = .failed("broker \(down) is not \(obs.running.contains(down) ? "in the cluster's metadata" : "running"): start it and let the ISRs heal first")
            return .finish
        }
        if !obs.notFull.isEmpty {
            phase = .failed("not started: \(Format.plural(obs.notFull.count, "partition")) under-replicated (\(Self.list(obs.notFull))); "
                            + "restarting a broker now could take them offline: wait for the ISRs to heal")
            return .finish
        }
        phase = .restarting(brokers[0])
        return .restart(brokers[0])
    }

    /// The outcome of `.restart(id)`: nil when the broker was restarted (it accepts
    /// connections), else why not.
    public mutating func restarted(error: String?, now: Date) -> Command {
        guard case .restarting(let id) = phase else { return isFinished ? .finish : .wait }
        if let error {
            phase = .failed("broker \(id) did not restart: \(error); \(stoppedWhere)")
            return .finish
        }
        phase = .waitingForBroker(id, since: now)
        return .wait
    }

    /// One look at the cluster while waiting; nil when it could not be read (the wait goes
    /// on, bounded as ever).
    public mutating func observe(_ obs: Observation?, now: Date) -> Command {
        if let obs { last = obs }
        switch phase {
        case .waitingForBroker(let id, let since):
            if let obs, obs.running.contains(id), obs.registered.contains(id) {
                phase = .waitingForISR(id, since: since)
                return observe(obs, now: now)
            }
            if now.timeIntervalSince(since) > timeout {
                let obsRunning = obs?.running.contains(id) ?? last?.running.contains(id) ?? false
                phase = .failed("broker \(id) \(obsRunning ? "did not rejoin the cluster" : "is not running") \(Int(timeout)) s after its restart; \(stoppedWhere)")
                return .finish
            }
            return .wait
        case .waitingForISR(let id, let since):
            if let obs, obs.notFull.isEmpty, obs.registered.contains(id) {
                completed.append(id)
                guard let i = brokers.firstIndex(of: id), i + 1 < brokers.count else { phase = .done; return .finish }
                phase = .restarting(brokers[i + 1])
                return .restart(brokers[i + 1])
            }
            if now.timeIntervalSince(since) > timeout {
                let left = last?.notFull ?? []
                phase = .failed("\(Format.plural(left.count, "partition")) still under-replicated \(Int(timeout)) s after broker \(id)'s restart"
                                + (left.isEmpty ? "" : " (\(Self.list(left)))") + "; \(stoppedWhere)")
                return .finish
            }
            return .wait
        case .notStarted, .restarting: return .wait
        case .done, .failed, .cancelled: return .finish
        }
    }

    /// Esc: nothing further is restarted. A restart under way is not cut in half (that
    /// would leave the broker stopped); it finishes on its own.
    public mutating func cancel() {
        guard !isFinished else { return }
        cancelledIn = phase
        phase = .cancelled
    }

    /// The phase Esc interrupted.
    public private(set) var cancelledIn: Phase?

    /// The status line while it runs, and its final word when finished.
    public func status(now: Date) -> String {
        let step = current.flatMap { c in brokers.firstIndex(of: c) }.map { "\($0 + 1)/\(brokers.count)" } ?? ""
        switch phase {
        case .notStarted: return "rolling restart: checking the cluster…"
        case .restarting(let id): return "rolling restart \(step): restarting broker \(id)…"
        case .waitingForBroker(let id, let since):
            return "rolling restart \(step): waiting for broker \(id) to rejoin the cluster (\(Int(now.timeIntervalSince(since))) s of \(Int(timeout)))"
        case .waitingForISR(let id, let since):
            let n = last?.notFull.count ?? 0
            return "rolling restart \(step): broker \(id) back; waiting for ISRs: \(Format.plural(n, "partition")) under-replicated (\(Int(now.timeIntervalSince(since))) s of \(Int(timeout)))"
        case .done:
            return "rolling restart done: " + completed.map { "broker \($0)" }.joined(separator: ", ") + " restarted one at a time; every ISR full"
        case .failed(let why): return "rolling restart failed: \(why)"
        case .cancelled:
            var text = "rolling restart cancelled: " + (completed.isEmpty ? "no broker fully restarted" : "restarted " + completed.map { "broker \($0)" }.joined(separator: ", "))
            switch cancelledIn {
            case .restarting(let id)?: text += "; broker \(id)'s restart was under way and has finished"
            case .waitingForBroker(let id, _)?, .waitingForISR(let id, _)?: text += "; broker \(id) was restarted, its ISRs not yet full"
            default: break
            }
            return text
        }
    }
}
