import KafkaProtocol
import Logging
import Synchronization

extension Logger.Metadata {
    /// The fields operators grep for on a partition's log lines (issue 15): `topic_partition=
    /// orders-3`, and with an error `error_code=NOT_LEADER_OR_FOLLOWER(6)`, as the request log
    /// writes error codes.
    static func partition(_ topic: String, _ index: Int32, error: ErrorCode? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = ["topic_partition": "\(topic)-\(index)"]
        if let error { m["error_code"] = "\(error.name)(\(error.rawValue))" }
        return m
    }
}

/// Sends ISR changes to the active controller (``AlterPartitionManager`` in a cluster; a fake
/// in tests). `completion` is called once with the controller's answer for the partition.
public protocol AlterPartitionSubmitter: Sendable {
    func submit(_ change: PendingIsrChange, partition: Int32, completion: @escaping @Sendable (AlterPartitionResult) -> Void)
}

/// Committed ISR shrinks and expansions of the partitions a broker leads, for Kafka's
/// `IsrShrinksPerSec` / `IsrExpandsPerSec` meters. Thread-safe.
public final class IsrChangeCounters: Sendable {
    private let counts = Mutex<(shrinks: Int64, expands: Int64)>((0, 0))
    public init() {}
    public var shrinks: Int64 { counts.withLock { $0.shrinks } }
    public var expands: Int64 { counts.withLock { $0.expands } }
    /// Counts one committed change from `before` to `after` ISR members.
    public func record(before: Int, after: Int) {
        if after < before { counts.withLock { $0.shrinks += 1 } } else if after > before { counts.withLock { $0.expands += 1 } }
    }
}

/// What a partition needs from its broker for ISR management; ``ReplicaManager`` sets it.
/// The default (a single node, tests that do not care) has no sender: no ISR change is ever
/// proposed, which is right when the partition has no other replica.
public struct PartitionReplicationContext: Sendable {
    /// `replica.lag.time.max.ms`.
    public var replicaLagTimeMaxMs: Int64 = 30_000
    public var clock: any BrokerClock = SystemBrokerClock()
    /// The metadata image's view of a broker (nil = not registered).
    public var liveness: @Sendable (Int32) -> BrokerLiveness? = { _ in nil }
    /// This broker's own epoch, sent with its ISR entry (-1 = unknown).
    public var localBrokerEpoch: @Sendable () -> Int64 = { -1 }
    public var alterPartition: (any AlterPartitionSubmitter)?
    /// Backoff before re-sending a proposal the controller answered with an unexpected error
    /// (Kafka re-submits at once and its channel backs off; here the partition does).
    public var retryBackoffMs: Int64 = 100
    /// Where committed shrinks and expansions are counted (the broker's metrics).
    public var isrChanges: IsrChangeCounters?
    /// Where ISR changes are logged (Kafka's "Shrinking ISR from ... to ..." lines, which
    /// operators grep for); nil logs nothing (tests).
    public var logger: Logger?

    public init() {}
    public init(replicaLagTimeMaxMs: Int64, clock: any BrokerClock, liveness: @escaping @Sendable (Int32) -> BrokerLiveness?,
                localBrokerEpoch: @escaping @Sendable () -> Int64, alterPartition: (any AlterPartitionSubmitter)?,
                retryBackoffMs: Int64 = 100) {
        self.replicaLagTimeMaxMs = replicaLagTimeMaxMs; self.clock = clock; self.liveness = liveness
        self.localBrokerEpoch = localBrokerEpoch; self.alterPartition = alterPartition; self.retryBackoffMs = retryBackoffMs
    }
}

/// The ISR half of ``Partition`` on top of ``LeaderIsrState``: shrink checks, AlterPartition
/// answers, and the acks=all wait (Kafka's `DelayedProduce` + `checkEnoughReplicasReachOffset`).
extension Partition {
    public var replicationContext: PartitionReplicationContext { replication.withLock { $0 } }

    public func setReplicationContext(_ context: PartitionReplicationContext) { replication.withLock { $0 = context } }

    /// The topic's min.insync.replicas (not yet bounded by the replica count).
    public var minInsyncReplicas: Int { minInsyncReplicasValue.load(ordering: .relaxed) }

    /// Sets min.insync.replicas (topic config or broker default); the HW may be unfrozen by it.
    public func setMinInsyncReplicas(_ value: Int) {
        let old = minInsyncReplicasValue.exchange(max(1, value), ordering: .relaxed)
        if old != value, maybeAdvanceHighWatermark() { wakeWaiters() }
    }

    /// A copy of the ISR state machine (tests, DescribeLogDirs, metrics).
    public var isrSnapshot: LeaderIsrState { isrState.withLock { $0 } }

    /// The maximal ISR (committed plus a pending expansion).
    public var maximalIsr: [Int32] { isrState.withLock { $0.maximalIsr } }

    /// The periodic ISR check (Kafka's `maybeShrinkIsr`, every replica.lag.time.max.ms / 2):
    /// ISR members not caught up within the lag time are proposed out of the ISR. Returns the
    /// proposal sent, if any.
    @discardableResult
    public func maybeShrinkIsr() -> PendingIsrChange? {
        let context = replicationContext
        guard context.alterPartition != nil else { return nil }
        let leaderEndOffset = log.logEndOffset
        let now = context.clock.nowMs()
        let localEpoch = context.localBrokerEpoch()
        let shrink = isrState.withLock { isr in
            isr.maybeShrinkIsr(leaderEndOffset: leaderEndOffset, nowMs: now, replicaLagTimeMaxMs: context.replicaLagTimeMaxMs,
                               localBrokerEpoch: localEpoch)
        }
        if let shrink { submitIsrChange(shrink) }
        return shrink
    }

    /// Sends `change` to the controller; the answer comes back to ``handleAlterPartitionResult(changeId:_:)``.
    /// Without a sender (single node) the proposal is dropped again, so a later check may retry.
    func submitIsrChange(_ change: PendingIsrChange) {
        if let logger = replicationContext.logger {
            let current = isrState.withLock { $0.isr }
            switch change.kind {
            case .shrink(let out):
                logger.info("Shrinking ISR from \(current) to \(change.isr): out of sync \(out) (leader end offset \(log.logEndOffset), high watermark \(highWatermark))",
                            metadata: .partition(topic, index))
            case .expand(let id):
                logger.info("Expanding ISR from \(current) to \(change.isr): broker \(id) caught up", metadata: .partition(topic, index))
            }
        }
        guard let sender = replicationContext.alterPartition else {
            _ = isrState.withLock { $0.handleAlterPartitionResult(changeId: change.id, .failure(.operationNotAttempted)) }
            return
        }
        sender.submit(change, partition: index) { [weak self] result in
            self?.handleAlterPartitionResult(changeId: change.id, result, resend: change)
        }
    }

    /// Applies the controller's answer (Kafka's `Partition.sendAlterPartitionRequest` callback):
    /// a committed change updates the ISR and partition epoch at once (before the metadata
    /// image shows them), may move the HW and wakes acks=all waits; unexpected errors resend
    /// the same proposal after a backoff.
    @discardableResult
    public func handleAlterPartitionResult(changeId: UInt64, _ result: AlterPartitionResult) -> AlterPartitionOutcome {
        handleAlterPartitionResult(changeId: changeId, result, resend: nil)
    }

    @discardableResult
    func handleAlterPartitionResult(changeId: UInt64, _ result: AlterPartitionResult, resend: PendingIsrChange?) -> AlterPartitionOutcome {
        let (outcome, sizes) = isrState.withLock { isr -> (AlterPartitionOutcome, (Int, Int)) in
            let before = isr.isr.count
            let outcome = isr.handleAlterPartitionResult(changeId: changeId, result)
            if outcome == .committed {
                let committed = isr
                leadershipState.withLock { s in
                    s.isr = committed.isr
                    s.partitionEpoch = committed.partitionEpoch
                }
            }
            return (outcome, (before, isr.isr.count))
        }
        let logger = replicationContext.logger
        switch (outcome, result) {
        case (.committed, _):
            logger?.info("ISR updated to \(leadershipState.withLock { $0.isr }) and partition epoch to \(leadershipState.withLock { $0.partitionEpoch })",
                         metadata: .partition(topic, index))
        case (.retry, .failure(let code)):
            logger?.info("AlterPartition answered \(code.name); sending the ISR change again", metadata: .partition(topic, index, error: code))
        case (.awaitingMetadata, .failure(let code)):
            logger?.info("AlterPartition answered \(code.name); the ISR change waits for new metadata of this partition",
                         metadata: .partition(topic, index, error: code))
        case (.reverted, .failure(let code)):
            logger?.warning("The controller refused the ISR change (\(code.name)); the ISR stays \(isrState.withLock { $0.isr })",
                            metadata: .partition(topic, index, error: code))
        default:
            break
        }
        switch outcome {
        case .committed:
            replicationContext.isrChanges?.record(before: sizes.0, after: sizes.1)
            _ = maybeAdvanceHighWatermark()
            wakeWaiters()
        case .retry:
            if let resend {
                let context = replicationContext
                Task { [weak self] in
                    await context.clock.sleep(ms: context.retryBackoffMs)
                    guard let self, self.isrState.withLock({ $0.pending?.id == changeId }) else { return }
                    self.submitIsrChange(resend)
                }
            }
        case .ignored, .reverted, .awaitingMetadata:
            break
        }
        return outcome
    }

    /// The acks=all wait of a batch that ends before `requiredOffset` (last offset + 1), after
    /// its local append (Kafka's `DelayedProduce`): parks until the HW covers it, woken by HW
    /// moves, ISR changes and leadership changes, for at most `timeoutMs`. Returns nil on
    /// success, else NOT_LEADER_OR_FOLLOWER (leadership lost while waiting),
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (the HW covers it but the maximal ISR is below the
    /// effective min ISR: the data is in the log, the write is not acknowledged), or
    /// REQUEST_TIMED_OUT (outcome unknown to the producer).
    ///
    /// `leaderEpoch` is the epoch the batch was appended in: if this broker lost leadership and
    /// won it back meanwhile, its log was truncated to the interim leader's and the offsets may
    /// hold other records now, so the write fails even though this broker leads again (Kafka
    /// completes its delayed produces with an error the moment the partition becomes a follower).
    public func waitForAcks(requiredOffset: Int64, leaderEpoch: Int32? = nil, timeoutMs: Int64, clock: any BrokerClock,
                            makeWaiter: () -> DataWaiter) async -> PartitionError? {
        _ = await waitForHighWatermark(requiredOffset, timeoutMs: timeoutMs, clock: clock, makeWaiter: makeWaiter)
        let state = leadership
        guard state.leader == localBrokerId, leaderEpoch.map({ $0 == state.leaderEpoch }) ?? true else { return .notLeader }
        let minIsr = minInsyncReplicas
        let hw = highWatermark
        switch isrState.withLock({ $0.acksOutcome(requiredOffset: requiredOffset, highWatermark: hw, minInsyncReplicas: minIsr) }) {
        case .some(ErrorCode.none):
            return nil
        case .some(let code):
            let isr = maximalIsr
            return PartitionError(code.rawValue, "The size of the current ISR \(isr) is insufficient to satisfy the min.isr requirement of "
                + "\(min(minIsr, leadership.replicas.count)) for partition \(topic)-\(index); the records were appended")
        case nil:
            return PartitionError(ErrorCode.requestTimedOut.rawValue,
                                  "The ISR did not replicate the records to offset \(requiredOffset) within \(timeoutMs) ms (high watermark \(hw))")
        }
    }
}
