import KafkaProtocol
import LogStorage
import Logging
import NIOCore

/// Who leads the quorum, as this node knows it: a cheap snapshot for request handlers
/// (Metadata, DescribeCluster) that must not wait on the host's executor.
public struct QuorumLeadership: Sendable, Equatable {
    /// The leader of `epoch` as this node knows it; nil while an election runs, after this node
    /// resigned, or once the host stopped.
    public var leaderId: Int32?
    public var epoch: Int32
    /// Everything below is committed (this node's view: a follower learns it from the leader).
    public var highWatermark: Int64
    /// True only while this node is the Leader (not Resigned) of `epoch`.
    public var isLocalLeader: Bool
    /// While this node leads: the offset of its epoch's LeaderChangeMessage (its log end when
    /// elected). Everything below it was written by earlier leaders; a new leader may act on
    /// the metadata only once it has applied past it (Kafka's controller claims leadership
    /// only when its listener has read up to the epoch start offset). Nil when not leading.
    public var epochStartOffset: Int64?

    public init(leaderId: Int32?, epoch: Int32, highWatermark: Int64, isLocalLeader: Bool, epochStartOffset: Int64? = nil) {
        self.leaderId = leaderId; self.epoch = epoch; self.highWatermark = highWatermark; self.isLocalLeader = isLocalLeader
        self.epochStartOffset = epochStartOffset
    }
}

/// Why a ``QuorumHost`` call did not succeed.
public enum QuorumHostError: Error, Equatable, CustomStringConvertible {
    /// This node does not lead (or stopped leading before the entry committed: it may be
    /// truncated by the next leader). `leaderId` is the leader it knows, if any.
    case notLeader(leaderId: Int32?, epoch: Int32)
    /// ``QuorumHost/shutdown()`` ran.
    case shutDown
    /// The host stopped on a storage or Raft error (the reason), or the call itself was bad
    /// (an empty or oversized proposal, a read outside the log); the message says which.
    case failed(String)

    public var description: String {
        switch self {
        case .notLeader(let leader, let epoch):
            "not the quorum leader (leader \(leader.map(String.init) ?? "unknown") in epoch \(epoch))"
        case .shutDown: "the quorum host is shut down"
        case .failed(let reason): reason
        }
    }
}

/// One KRaft replica of `__cluster_metadata-0` on real time: a ``RaftNode`` behind an actor,
/// which is the "one serial executor per replica" of DESIGN.md (Kafka's single raft I/O
/// thread). Every event (a timer, an inbound message, a proposal, shutdown) runs the
/// replica's effects to completion on this executor before the next one starts, so the
/// durability order of the effects holds.
///
/// Timers: after every step the host asks the replica for `nextDeadline()` and arms one task
/// that sleeps until then and ticks (an earlier deadline replaces a later one). Time comes from
/// the injected `LogClock`; tests with a `ManualLogClock` drive the host with ``tick()``.
///
/// Commit notification has two paths: ``addCommitListener(_:)`` (every HW move, in order,
/// called on the host's executor: keep it short and hand work off), and ``waitForCommit(_:)``
/// for a proposer. A `RaftNode` error (disk, `quorum-state`, a broken Raft rule) stops the
/// host for good: waiters get `.failed`, ``leadership`` shows no leader, the failure listeners
/// are told, and the process is expected to exit (as Kafka's raft thread dies).
///
/// The transport is attached before the host exists (the host needs it to send), so an NIO
/// transport learns the host afterwards and hands inbound messages to ``receive(_:from:)``.
public actor QuorumHost {
    public nonisolated let nodeId: RaftNodeId
    public nonisolated let config: QuorumConfig
    private let node: RaftNode
    private nonisolated let clock: any LogClock
    private let logger: Logger
    private nonisolated let shared: Shared
    /// The partition directory (snapshot files live beside the log) and its file system.
    private let directory: String
    private let fileSystem: any FileSystem

    private struct Waiter {
        var offset: Int64
        var epoch: Int32
        var continuation: CheckedContinuation<Void, any Error>
    }

    private var waiters: [Waiter] = []
    /// This leader's proposals not committed yet, oldest first: last offset and the clock
    /// (ms) at the append, for raft-metrics commit-latency-avg / -max.
    private var uncommitted: [(offset: Int64, atMs: Int64)] = []
    private var started = false
    private var shuttingDown = false
    /// Set once the host stopped (shut down or failed): every later call gets it.
    private var stopped: QuorumHostError?
    private var timer: Task<Void, Never>?
    private var timerDeadline: Int64?
    private var timerGeneration: UInt64 = 0

    /// How long ``shutdown()`` waits for the voters to acknowledge EndQuorumEpoch.
    public static let shutdownWaitMs: Int64 = 2000

    /// Opens (or creates) the metadata log in `directory` (`<metadata.log.dir>/__cluster_metadata-0`)
    /// and its `quorum-state`, and builds the replica. With this node as the only voter it
    /// leads at once (``QuorumHost/leadership`` shows it before ``start()``).
    ///
    /// - Parameter transport: nil for a quorum that talks to nobody (the single-node default).
    /// - Throws: ``RaftNodeError`` when the log or the state file cannot be opened.
    public init(nodeId: RaftNodeId, config: QuorumConfig, directory: String, fileSystem: any FileSystem, clock: any LogClock,
                transport: (any RaftTransport)?, logger: Logger, randomSeed: UInt64? = nil,
                logConfig: LogConfig = RaftNode.defaultLogConfig) throws {
        let shared = Shared()
        var log = logger
        log[metadataKey: "raft"] = "\(nodeId)"
        let nodeLogger = log
        let node = try RaftNode(id: nodeId, config: config, directory: directory, fileSystem: fileSystem, clock: clock,
                                transport: transport ?? NoRaftTransport(), now: clock.milliseconds(),
                                randomSeed: randomSeed ?? UInt64.random(in: .min ... .max), logConfig: logConfig)
        // Both hooks run on this actor's executor (RaftNode is only called from here).
        node.onCommit = { shared.committed($0) }
        node.onTransition = { from, to, epoch in
            nodeLogger.info("Quorum: \(from.rawValue) -> \(to.rawValue) in epoch \(epoch)")
        }
        self.nodeId = nodeId
        self.config = config
        self.node = node
        self.clock = clock
        self.logger = nodeLogger
        self.shared = shared
        self.directory = directory
        self.fileSystem = fileSystem
        shared.publish(Self.snapshot(of: node.replica))
        nodeLogger.info("Quorum: node \(nodeId) opened \(directory) (log end \(node.log.logEndOffset), voters \(config.voters)); \(node.replica.role.rawValue) in epoch \(node.replica.epoch)")
    }

    // MARK: Lifecycle

    /// Starts the timer loop. Commit listeners registered before this see every HW move,
    /// including the one a single voter made while it was being opened.
    public func start() {
        guard !started, stopped == nil else { return }
        started = true
        let hw = node.replica.highWatermark
        if hw > 0 { shared.committed(hw) }
        reschedule()
    }

    /// Graceful stop (Kafka's `KafkaRaftClient.shutdown`): a leader resigns and sends
    /// EndQuorumEpoch naming its preferred successors, then the host waits up to
    /// ``shutdownWaitMs`` for the voters to acknowledge (so the next leader is elected without
    /// waiting out a timeout), closes the log and refuses everything afterwards.
    public func shutdown() async {
        guard stopped == nil, !shuttingDown else { return }
        shuttingDown = true
        let wasLeader = node.replica.role == .leader
        step { try node.handle(.shutdown, now: clock.milliseconds()) }
        if wasLeader, stopped == nil {
            // Real time, not the injected clock: this is a bound on waiting for the network.
            var waitedMs: Int64 = 0
            while waitedMs < Self.shutdownWaitMs, stopped == nil,
                  case .resigned(let r) = node.replica.state, !r.unacknowledged.isEmpty {
                try? await Task.sleep(for: .milliseconds(10))
                waitedMs += 10
            }
        }
        guard stopped == nil else { return }
        stop(.shutDown)
        do { try node.close() } catch { logger.error("Quorum: closing the metadata log failed: \(error)") }
        logger.info("Quorum: node \(nodeId) shut down")
    }

    // MARK: Proposals and commits

    /// Appends `values` as one record batch in the leader's epoch (then flushes) and returns the
    /// batch's last offset. Committed once the high watermark passes it (``waitForCommit(_:)``).
    /// Throws `.notLeader` on a node that does not lead.
    public func propose(_ values: [ByteBuffer]) throws -> Int64 {
        try checkRunning()
        guard !values.isEmpty else { throw QuorumHostError.failed("propose: no records") }
        // Kafka's MAX_BATCH_SIZE_BYTES: a batch the log would refuse must not reach it (a refused
        // append is a storage error, which would stop the host).
        let estimate = values.reduce(RecordBatchHeader.logOverhead + 49) { $0 + $1.readableBytes + 21 }
        guard estimate <= Int(config.fetchMaxBytes) else {
            throw QuorumHostError.failed("propose: batch of about \(estimate) bytes exceeds \(config.fetchMaxBytes)")
        }
        guard node.replica.role == .leader else { throw notLeader() }
        var result: OffsetAndEpoch?
        let now = clock.milliseconds()
        step { result = try node.propose(values, now: now) }
        if let stopped { throw stopped }
        guard let result else { throw notLeader() }
        if node.replica.highWatermark > result.offset {
            shared.recordCommitLatency(clock.milliseconds() - now, at: clock.milliseconds())  // a single voter commits at once
        } else {
            uncommitted.append((result.offset, now))
        }
        return result.offset
    }

    /// Returns once the high watermark is above `offset` (the entry is committed). Throws
    /// `.notLeader` when this node is not, or stops being, the leader first (the entry may be
    /// truncated by the next leader: check the log before proposing it again), `.shutDown` or
    /// `.failed` when the host stops. Not cancellable: it always ends in one of those.
    public func waitForCommit(_ offset: Int64) async throws {
        try checkRunning()
        if node.replica.highWatermark > offset { return }
        guard node.replica.role == .leader else { throw notLeader() }
        let epoch = node.replica.epoch
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            waiters.append(Waiter(offset: offset, epoch: epoch, continuation: continuation))
        }
    }

    /// Raw record batches from `offset` (which must be a batch boundary: 0, or a previous
    /// read's end) up to the high watermark, at most `maxBytes` (but at least one batch).
    /// Control batches (LeaderChangeMessage) are included: readers skip them by their
    /// attribute. Empty at the high watermark.
    public func readCommitted(from offset: Int64, maxBytes: Int) throws -> ByteBuffer {
        if let stopped { throw stopped }
        let hw = node.replica.highWatermark
        guard offset < hw else {
            if offset > hw { throw QuorumHostError.failed("readCommitted: offset \(offset) is above the high watermark \(hw)") }
            return ByteBuffer()
        }
        do {
            return try node.log.read(from: offset, maxBytes: maxBytes, maxOffset: hw, minOneBatch: true).readBytes()
        } catch {
            throw QuorumHostError.failed("readCommitted from \(offset): \(error)")
        }
    }

    /// The current leadership snapshot (lock-protected; any thread, never waits on the actor).
    public nonisolated var leadership: QuorumLeadership { shared.leadership }

    /// `listener` is called with the new high watermark every time it moves, in order, on the
    /// host's executor (so it must not block or call back into the host synchronously).
    public nonisolated func addCommitListener(_ listener: @escaping @Sendable (Int64) -> Void) {
        shared.addCommitListener(listener)
    }

    /// `listener` is called once if the host stops on an error (not on ``shutdown()``), with
    /// the reason; the broker exits then.
    public nonisolated func addFailureListener(_ listener: @escaping @Sendable (String) -> Void) {
        shared.addFailureListener(listener)
    }

    /// Why the host stopped, nil while it runs.
    public var failure: QuorumHostError? { stopped }

    /// True once the host stopped (shut down or failed): inbound requests are no longer
    /// answered, so the transport refuses them at once instead of letting them time out.
    public nonisolated var isStopped: Bool { shared.isStopped }

    // MARK: Network and timers

    /// An inbound request or response from node `from`. Dropped once the host stopped.
    public func receive(_ message: RaftMessage, from: RaftNodeId) {
        guard stopped == nil else { return }
        step { try node.handle(.received(from: from, message), now: clock.milliseconds()) }
    }

    /// Runs the replica's timers at the clock's current time. The timer loop calls this; tests
    /// with a manual clock call it after moving the clock.
    public func tick() {
        guard stopped == nil else { return }
        step { try node.handle(.tick, now: clock.milliseconds()) }
    }

    /// DescribeQuorum's partition answer (leader id and epoch, HW, voters and observers with
    /// end offsets and last fetch / caught-up times); NOT_LEADER_OR_FOLLOWER on a non-leader.
    public func describeQuorum() -> DescribeQuorumResponse.PartitionData {
        node.replica.describeQuorum(now: clock.milliseconds())
    }

    /// The answer to a FetchSnapshot request (Kafka's rules, see ``SnapshotTransfer``): bytes of
    /// a snapshot file in this node's partition directory, when this node leads the epoch the
    /// request names.
    public func fetchSnapshot(_ request: FetchSnapshotRequest) -> FetchSnapshotResponse {
        SnapshotTransfer.answer(request, replica: node.replica, directory: directory, fileSystem: fileSystem,
                                shuttingDown: shuttingDown || stopped != nil)
    }

    /// The replica's role (for logs and tests).
    public var role: RaftRole { node.replica.role }

    /// The log end offset (for tests and DescribeQuorum callers that are not the leader).
    public var logEndOffset: Int64 { node.replica.log.endOffset }

    // MARK: Internals

    private func checkRunning() throws {
        if let stopped { throw stopped }
        if shuttingDown { throw QuorumHostError.shutDown }
    }

    /// `.notLeader` naming the leader this node knows, never itself (a Resigned node still
    /// reports itself as its epoch's leader, but it will not lead again).
    private func notLeader() -> QuorumHostError {
        let known = node.replica.leaderId
        return .notLeader(leaderId: known == nodeId ? nil : known, epoch: node.replica.epoch)
    }

    /// Runs one replica step; on error stops the host. Then publishes the new leadership,
    /// settles waiters and re-arms the timer.
    private func step(_ body: () throws -> Void) {
        guard stopped == nil else { return }
        do {
            try body()
        } catch {
            fail(error)
            return
        }
        let replica = node.replica
        shared.publish(Self.snapshot(of: replica))
        settleWaiters(replica)
        measureCommits(replica)
        reschedule()
    }

    /// Kafka's commit latency: from this leader's append to the high watermark passing it.
    /// Proposals of an epoch this node no longer leads are dropped unmeasured.
    private func measureCommits(_ replica: RaftReplica) {
        guard !uncommitted.isEmpty else { return }
        guard replica.role == .leader else { uncommitted.removeAll(); return }
        let now = clock.milliseconds()
        var done = 0
        for p in uncommitted {
            guard p.offset < replica.highWatermark else { break }
            shared.recordCommitLatency(now - p.atMs, at: now)
            done += 1
        }
        if done > 0 { uncommitted.removeFirst(done) }
    }

    /// raft-metrics commit-latency-avg and commit-latency-max (ms) over the last
    /// ``commitLatencyWindowMs``; nil when nothing was committed by this node as leader then.
    public nonisolated func commitLatency() -> (avgMs: Double, maxMs: Double)? {
        shared.commitLatency(now: clock.milliseconds())
    }

    /// Kafka samples its raft metrics over 30 s windows.
    public static let commitLatencyWindowMs: Int64 = 30_000

    private func settleWaiters(_ replica: RaftReplica) {
        guard !waiters.isEmpty else { return }
        let hw = replica.highWatermark
        let leading = replica.role == .leader
        var pending: [Waiter] = []
        for waiter in waiters {
            if waiter.offset < hw {
                waiter.continuation.resume()
            } else if !leading || replica.epoch != waiter.epoch {
                waiter.continuation.resume(throwing: notLeader())
            } else {
                pending.append(waiter)
            }
        }
        waiters = pending
    }

    private func fail(_ error: any Error) {
        let reason = "\(error)"
        logger.critical("Quorum: node \(nodeId) stopped: \(reason)")
        stop(.failed(reason))
        shared.failed(reason)
    }

    private func stop(_ reason: QuorumHostError) {
        stopped = reason
        shared.markStopped()
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        let replica = node.replica
        shared.publish(QuorumLeadership(leaderId: nil, epoch: replica.epoch, highWatermark: replica.highWatermark, isLocalLeader: false))
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.continuation.resume(throwing: reason) }
    }

    /// Arms the timer for the replica's next deadline unless one at or before it is armed.
    private func reschedule() {
        guard started, stopped == nil else { return }
        guard let deadline = node.replica.nextDeadline() else { return }
        if timer != nil, let armed = timerDeadline, armed <= deadline { return }
        timer?.cancel()
        timerGeneration &+= 1
        let generation = timerGeneration
        timerDeadline = deadline
        let delayMs = max(0, deadline - clock.milliseconds())
        timer = Task { [weak self] in
            if delayMs > 0 {
                do { try await Task.sleep(for: .milliseconds(delayMs)) } catch { return }
            }
            await self?.timerFired(generation)
        }
    }

    /// A tick that finds its deadline not yet reached (a manual clock, or a wall clock that
    /// stepped back) simply re-arms through `step`'s reschedule.
    private func timerFired(_ generation: UInt64) {
        guard generation == timerGeneration else { return }
        timer = nil
        timerDeadline = nil
        tick()
    }

    private static func snapshot(of replica: RaftReplica) -> QuorumLeadership {
        let leading = replica.role == .leader
        var start: Int64?
        if case .leader(let l) = replica.state { start = l.epochStartOffset }
        return QuorumLeadership(leaderId: replica.role == .resigned ? nil : replica.leaderId, epoch: replica.epoch,
                                highWatermark: replica.highWatermark, isLocalLeader: leading, epochStartOffset: start)
    }

    /// What threads other than the actor's read: the leadership snapshot and the listeners.
    final class Shared: @unchecked Sendable {
        private let lock = StorageLock()
        private var _leadership = QuorumLeadership(leaderId: nil, epoch: 0, highWatermark: 0, isLocalLeader: false)
        private var commitListeners: [@Sendable (Int64) -> Void] = []
        private var failureListeners: [@Sendable (String) -> Void] = []

        private var _stopped = false
        /// (clock ms when committed, latency ms), the last commitLatencyWindowMs of them.
        private var latencies: [(atMs: Int64, ms: Int64)] = []

        func recordCommitLatency(_ ms: Int64, at now: Int64) {
            lock.withLock {
                latencies.append((now, max(0, ms)))
                let horizon = now - QuorumHost.commitLatencyWindowMs
                if let keep = latencies.firstIndex(where: { $0.atMs >= horizon }), keep > 0 { latencies.removeFirst(keep) }
                if latencies.count > 100_000 { latencies.removeFirst(latencies.count - 100_000) }
            }
        }

        func commitLatency(now: Int64) -> (avgMs: Double, maxMs: Double)? {
            lock.withLock {
                let horizon = now - QuorumHost.commitLatencyWindowMs
                let recent = latencies.filter { $0.atMs >= horizon }
                guard !recent.isEmpty else { return nil }
                return (Double(recent.reduce(0) { $0 + $1.ms }) / Double(recent.count), Double(recent.map(\.ms).max()!))
            }
        }

        var leadership: QuorumLeadership { lock.withLock { _leadership } }

        var isStopped: Bool { lock.withLock { _stopped } }

        func markStopped() { lock.withLock { _stopped = true } }

        func publish(_ leadership: QuorumLeadership) { lock.withLock { _leadership = leadership } }

        func addCommitListener(_ listener: @escaping @Sendable (Int64) -> Void) { lock.withLock { commitListeners.append(listener) } }

        func addFailureListener(_ listener: @escaping @Sendable (String) -> Void) { lock.withLock { failureListeners.append(listener) } }

        /// The HW moved: the snapshot first (a listener reading it sees at least this), then
        /// the listeners, outside the lock.
        func committed(_ hw: Int64) {
            let listeners = lock.withLock { () -> [@Sendable (Int64) -> Void] in
                _leadership.highWatermark = max(_leadership.highWatermark, hw)
                return commitListeners
            }
            for listener in listeners { listener(hw) }
        }

        func failed(_ reason: String) {
            let listeners = lock.withLock { failureListeners }
            for listener in listeners { listener(reason) }
        }
    }
}

/// The transport of a quorum that talks to nobody: a single voter never sends, and anything a
/// misconfigured multi-voter node sends is dropped (it then never leads; KRaftSettings refuses
/// such a config at start-up).
final class NoRaftTransport: RaftTransport {
    func send(_ message: RaftMessage, from: RaftNodeId, to: RaftNodeId) {}
}
