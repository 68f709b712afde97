import KafkaProtocol
import LogStorage
import NIOCore
import Synchronization

/// A Kafka error code with a message: what a partition-level operation returns instead of
/// throwing arbitrary errors, so handlers can copy it into the response.
public struct PartitionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// One rejected record of a produced batch (Produce v8+ `RecordErrors`, Kafka's `RecordError`).
    public struct RecordError: Equatable, Sendable, CustomStringConvertible {
        public var batchIndex: Int32
        public var message: String
        public init(batchIndex: Int32, message: String) { self.batchIndex = batchIndex; self.message = message }
        /// Kafka's `RecordError.toString`, which its error message lists.
        public var description: String { "RecordError(batchIndex=\(batchIndex), message='\(message)')" }
    }

    public var code: Int16
    public var message: String
    /// The records that caused the error, when it is about records (INVALID_RECORD, INVALID_TIMESTAMP).
    public var recordErrors: [RecordError] = []
    public init(_ code: Int16, _ message: String) { self.code = code; self.message = message }
    public init(_ code: Int16, _ message: String, recordErrors: [RecordError]) {
        self.code = code; self.message = message; self.recordErrors = recordErrors
    }
    public var description: String { "error \(code): \(message)" }

    static func from(_ error: LogStorageError) -> PartitionError { .init(error.kafkaErrorCode, "\(error)") }
    static let notLeader = PartitionError(6, "This server is not the leader for that topic-partition.")
    static func fencedEpoch(_ asked: Int32, _ current: Int32) -> PartitionError {
        .init(74, "The leader epoch in the request (\(asked)) is older than the current leader epoch \(current)")
    }
    static func unknownEpoch(_ asked: Int32, _ current: Int32) -> PartitionError {
        .init(75, "The leader epoch in the request (\(asked)) is newer than the current leader epoch \(current)")
    }
}

/// The leadership facts of a partition as the metadata image states them.
public struct PartitionLeadership: Equatable, Sendable {
    public var topicID: TopicID
    public var leader: Int32
    public var leaderEpoch: Int32
    public var partitionEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
}

/// One hosted partition: its log, leadership state, high watermark, idempotent-producer state
/// and the fetches parked on it.
///
/// The high watermark is kept separately from the log end offset and only moves to the
/// minimum LEO over the ISR (here the leader alone when the ISR is just this broker), so the
/// same code holds when followers arrive. Invariant: HW <= LEO.
///
/// Thread-safe: appends are serialised by `appendState` (sequence check, append and producer
/// update are one critical section); reads go straight to the thread-safe ``PartitionLog``.
public final class Partition: Sendable {
    public let topic: String
    public let index: Int32
    public let log: PartitionLog
    public let localBrokerId: Int32
    let leadershipState: Mutex<PartitionLeadership>
    /// Internal (not private) so the follower append in Partition+Follower.swift shares it.
    let appendState = Mutex(ProducerStateManager())
    private let waiters = Mutex<[UInt64: DataWaiter]>([:])
    /// Parked follower fetches: woken by every leader append (the LEO moved), as well as by
    /// everything that wakes ``waiters``. Consumer fetches are not here: they only care about
    /// the HW, which an acks=all append does not move until the followers have it.
    private let appendWaiters = Mutex<[UInt64: DataWaiter]>([:])
    /// The leader's per-follower state, committed and pending ISR (LeaderIsrState.swift); a new
    /// leader epoch resets the followers' state (Kafka's makeLeader). Lock order: `isrState`
    /// before `leadershipState`.
    let isrState: Mutex<LeaderIsrState>
    /// Clock, lag time, broker liveness and the AlterPartition sender (PartitionReplication.swift).
    let replication = Mutex(PartitionReplicationContext())
    /// The topic's effective min.insync.replicas (ReplicaManager keeps it current).
    let minInsyncReplicasValue = Atomic<Int>(1)

    public init(topic: String, index: Int32, log: PartitionLog, localBrokerId: Int32, leadership: PartitionLeadership) {
        self.topic = topic
        self.index = index
        self.log = log
        self.localBrokerId = localBrokerId
        self.leadershipState = Mutex(leadership)
        var isr = LeaderIsrState(localBrokerId: localBrokerId)
        isr.applyMetadata(leadership, leaderEndOffset: log.logEndOffset, nowMs: SystemBrokerClock().nowMs())
        self.isrState = Mutex(isr)
    }

    public var leadership: PartitionLeadership { leadershipState.withLock { $0 } }
    public var isLeader: Bool { leadership.leader == localBrokerId }
    public var highWatermark: Int64 { log.highWatermark }
    public var logStartOffset: Int64 { log.logStartOffset }
    public var logEndOffset: Int64 { log.logEndOffset }
    /// With no transactions the last stable offset is the high watermark.
    public var lastStableOffset: Int64 { log.highWatermark }
    /// While this broker leads: its LEO when it started leading in the current leader epoch
    /// (also when this process opened the partition as leader after a restart). Kafka's
    /// `leaderEpochStartOffsetOpt`: until the HW reaches it, the HW may be behind what an earlier
    /// leader (or this broker before a crash: the HW checkpoint lags) already exposed.
    public var leaderEpochStartOffset: Int64? {
        isrState.withLock { $0.isLeader ? $0.leaderEpochStartOffset : nil }
    }

    /// Applies a leadership change from the metadata image. Becoming leader moves the HW as
    /// far as the ISR allows.
    /// A registration whose partition epoch is older than ours is ignored: an AlterPartition
    /// answer already committed a newer ISR before this broker's image caught up.
    public func updateLeadership(_ new: PartitionLeadership) {
        let nowMs = replicationContext.clock.nowMs()
        let leaderEndOffset = log.logEndOffset
        let old: PartitionLeadership? = isrState.withLock { isr in
            guard isr.applyMetadata(new, leaderEndOffset: leaderEndOffset, nowMs: nowMs) else { return nil }
            return leadershipState.withLock { s -> PartitionLeadership in
                defer { s = new }
                return s
            }
        }
        guard let old else { return }
        if old.leader != new.leader || old.leaderEpoch != new.leaderEpoch, let logger = replicationContext.logger {
            // Kafka's makeLeader / makeFollower lines: what a post-mortem of a failover needs
            // (who led from which offset in which epoch).
            if new.leader == localBrokerId {
                logger.info("Leader \(topic)-\(index) starts at leader epoch \(new.leaderEpoch) from offset \(leaderEndOffset) with partition epoch \(new.partitionEpoch), high watermark \(highWatermark), ISR \(new.isr); previous leader \(old.leader) in epoch \(old.leaderEpoch)",
                            metadata: .partition(topic, index))
            } else {
                logger.info("Follower \(topic)-\(index) starts at leader epoch \(new.leaderEpoch) from offset \(leaderEndOffset) with partition epoch \(new.partitionEpoch) and high watermark \(highWatermark); leader \(new.leader), previous leader \(old.leader) in epoch \(old.leaderEpoch)",
                            metadata: .partition(topic, index))
            }
        }
        if new.leader == localBrokerId, old.leader != localBrokerId {
            // A new leader answers idempotent retries from its own producer state: rebuild it
            // from the log it holds now (what it replicated as follower, after any truncation),
            // so a batch the old leader wrote and replicated is recognised as a duplicate
            // (Kafka's leader has it from its follower appends; rebuilding does not depend on
            // how the follower path maintained it).
            do throws(PartitionError) {
                try appendState.withLock { producers throws(PartitionError) in
                    producers = try Self.scanProducerState(log).state
                }
            } catch {
                // The previous state stays; the log's own error surfaces on the next read.
            }
        }
        if new.leader == localBrokerId { _ = maybeAdvanceHighWatermark() }
        // Parked produces and fetches re-check who leads (a lost leadership ends their wait),
        // and acks=all re-checks the ISR against min.insync.replicas.
        if old.leader != new.leader || old.leaderEpoch != new.leaderEpoch || old.isr != new.isr { wakeWaiters() }
    }

    /// Checks a client's `CurrentLeaderEpoch` (-1 = not given) against ours (KIP-320).
    public func checkLeaderEpoch(_ current: Int32) throws(PartitionError) {
        guard current >= 0 else { return }
        let ours = leadership.leaderEpoch
        if current < ours { throw .fencedEpoch(current, ours) }
        if current > ours { throw .unknownEpoch(current, ours) }
    }

    /// What a leader append returns to Produce.
    public struct AppendResult: Equatable, Sendable {
        public var baseOffset: Int64
        public var lastOffset: Int64
        public var logAppendTime: Int64
        public var logStartOffset: Int64
        public var duplicate: Bool
        /// The leader epoch the append was made in: an acks=all wait succeeds only while this
        /// broker still leads in it (``waitForAcks(requiredOffset:leaderEpoch:timeoutMs:clock:makeWaiter:)``).
        public var leaderEpoch: Int32 = -1
    }

    /// Appends one validated record batch as leader, with idempotent-producer checks, then
    /// applies the flush policy: `acks=-1` fsyncs before returning; other acks leave the data
    /// in the page cache (it survives a process crash) and fsync per `flush.messages`/`flush.ms`.
    ///
    /// With `deferFlush` and `requiredAcks == -1` it returns right after the append, before the
    /// fsync and the HW move; the caller must then call ``completeDeferredFlush()`` before it
    /// answers. Produce uses this to run the fsyncs of all partitions of a request at once.
    public func appendAsLeader(_ batch: ByteBuffer, header: RecordBatchHeader, requiredAcks: Int16,
                               deferFlush: Bool = false) throws(PartitionError) -> AppendResult {
        let state = leadership
        guard state.leader == localBrokerId else { throw .notLeader }
        let result = try appendState.withLock { producers throws(PartitionError) -> AppendResult in
            let lastSequence = header.baseSequence &+ header.lastOffsetDelta
            if header.hasProducerID {
                switch producers.check(producerId: header.producerId, epoch: header.producerEpoch,
                                       firstSequence: header.baseSequence, lastSequence: lastSequence) {
                case .append:
                    break
                case .duplicate(let original):
                    return AppendResult(baseOffset: original.firstOffset, lastOffset: original.lastOffset,
                                        logAppendTime: -1, logStartOffset: log.logStartOffset, duplicate: true,
                                        leaderEpoch: state.leaderEpoch)
                case let .reject(code, message):
                    throw PartitionError(code, message)
                }
            }
            let info: LogAppendInfo
            do throws(LogStorageError) {
                info = try log.append(batch, leaderEpoch: state.leaderEpoch, assignOffsets: true)
            } catch {
                throw PartitionError.from(error)
            }
            if header.hasProducerID {
                producers.update(producerId: header.producerId, epoch: header.producerEpoch, batch: .init(
                    firstSequence: header.baseSequence, lastSequence: lastSequence,
                    firstOffset: info.firstOffset, lastOffset: info.lastOffset, maxTimestamp: info.maxTimestamp))
            }
            return AppendResult(baseOffset: info.firstOffset, lastOffset: info.lastOffset,
                                logAppendTime: info.logAppendTime, logStartOffset: info.logStartOffset, duplicate: false,
                                leaderEpoch: state.leaderEpoch)
        }
        // Followers parked at the leader's LEO fetch now, overlapping the leader's own fsync.
        if !result.duplicate { wakeAppendWaiters() }
        if deferFlush, requiredAcks == -1 { return result }
        do throws(LogStorageError) {
            if requiredAcks == -1 {
                try log.flush()
            } else {
                _ = try log.flushIfDue()
            }
        } catch {
            throw PartitionError.from(error)
        }
        if !result.duplicate, maybeAdvanceHighWatermark() { wakeWaiters() }
        return result
    }

    /// The second half of an acks=-1 ``appendAsLeader(_:header:requiredAcks:deferFlush:)``: fsyncs
    /// the log, then moves the HW and wakes parked fetches, so a consumer still never sees an
    /// acks=-1 batch before it is on disk. Safe to call from several threads for different
    /// partitions at once; that is its point: on ext4, 8 overlapping fdatasyncs cost about one
    /// journal commit (~3 ms here) where 8 in a row cost ~25 ms.
    public func completeDeferredFlush() throws(PartitionError) {
        do throws(LogStorageError) {
            try log.flush()
        } catch {
            throw PartitionError.from(error)
        }
        if maybeAdvanceHighWatermark() { wakeWaiters() }
    }

    /// acks=-1 is refused (NOT_ENOUGH_REPLICAS, before anything is written) while the ISR is
    /// smaller than min(`min.insync.replicas`, replication factor), Kafka's `effectiveMinIsr`.
    public func checkEnoughReplicas(minInSyncReplicas: Int) throws(PartitionError) {
        let state = leadership
        let effectiveMinIsr = min(minInSyncReplicas, state.replicas.count)
        guard state.isr.count >= effectiveMinIsr else {
            throw PartitionError(19, "The size of the current ISR \(state.isr) is insufficient to satisfy the min.isr requirement of \(effectiveMinIsr)")
        }
    }

    // MARK: Follower state on the leader (issue 12 seam)

    /// What the leader learns from one follower fetch (Kafka's `Replica.updateFetchStateOrThrow`):
    /// the follower's log end offset is its fetch offset. The fetch handler calls this for every
    /// partition of a replica fetch (ReplicaId >= 0) before reading; the HW then moves to the
    /// minimum LEO over the ISR and parked fetches and acks=all produces are woken.
    ///
    /// It also records the follower's caught-up time and broker epoch (notes §3.2) and, when
    /// the follower just became in sync, sends an ISR expansion through AlterPartition (the
    /// pending expansion already counts toward the HW). Fetches from brokers outside the replica
    /// set, or while this broker does not lead, change nothing.
    public func updateFollowerFetchState(replicaId: Int32, fetchOffset: Int64, brokerEpoch: Int64, nowMs: Int64) {
        guard replicaId != localBrokerId else { return }
        let context = replicationContext
        let leaderEndOffset = log.logEndOffset
        let hw = log.highWatermark
        let localEpoch = context.localBrokerEpoch()
        let expansion = isrState.withLock { isr in
            isr.updateFollowerFetch(replicaId: replicaId, fetchOffset: fetchOffset, brokerEpoch: brokerEpoch, nowMs: nowMs,
                                    leaderEndOffset: leaderEndOffset, highWatermark: hw, localBrokerEpoch: localEpoch,
                                    liveness: context.liveness)
        }
        if let expansion { submitIsrChange(expansion) }
        if maybeAdvanceHighWatermark(nowMs: nowMs) || expansion != nil { wakeWaiters() }
    }

    /// Parks until the HW reaches `offset` (an acks=all produce, a coordinator write: Kafka's
    /// `DelayedProduce`), this broker stops leading the partition, or `timeoutMs` passes on
    /// `clock`. Returns whether the HW reached it. Woken by HW moves and leadership changes, not
    /// by polling. On a single node the HW moves with the append, so this returns at once.
    public func waitForHighWatermark(_ offset: Int64, timeoutMs: Int64, clock: any BrokerClock,
                                     makeWaiter: () -> DataWaiter) async -> Bool {
        let deadline = clock.nowMs() + max(0, timeoutMs)
        while true {
            if highWatermark >= offset { return true }
            guard isLeader, !Task.isCancelled else { return false }
            let remaining = deadline - clock.nowMs()
            guard remaining > 0 else { return false }
            let waiter = makeWaiter()
            addWaiter(waiter)
            // Re-check after registering, so a HW move between the check and addWaiter is not missed.
            if highWatermark >= offset || !isLeader {
                removeWaiter(waiter)
                continue
            }
            await waiter.wait(timeoutMs: remaining, clock: clock)
            removeWaiter(waiter)
        }
    }

    /// The last log end offset each follower reported by fetching (DescribeLogDirs, metrics).
    public var followerLogEndOffsets: [Int32: Int64] {
        isrState.withLock { $0.followers.compactMapValues { $0.logEndOffset >= 0 ? $0.logEndOffset : nil } }
    }

    /// Moves the HW forward to what ``LeaderIsrState/highWatermarkTarget(leaderEndOffset:nowMs:replicaLagTimeMaxMs:minInsyncReplicas:liveness:)``
    /// allows: the minimum LEO over the maximal ISR and caught-up eligible replicas, frozen
    /// while the ISR is below the effective min ISR. Returns whether it moved.
    @discardableResult
    public func maybeAdvanceHighWatermark(nowMs: Int64? = nil) -> Bool {
        let context = replicationContext
        let now = nowMs ?? context.clock.nowMs()
        let minIsr = minInsyncReplicas
        let leaderEndOffset = log.logEndOffset
        let target = isrState.withLock { isr in
            isr.highWatermarkTarget(leaderEndOffset: leaderEndOffset, nowMs: now, replicaLagTimeMaxMs: context.replicaLagTimeMaxMs,
                                    minInsyncReplicas: minIsr, liveness: context.liveness)
        }
        guard let hw = target else { return false }
        let old = log.highWatermark
        guard hw > old else { return false }
        return log.updateHighWatermark(hw) > old
    }

    /// The batches a consumer may read from `offset`: up to the HW (read_uncommitted) or the
    /// LSO (read_committed). Whole batches only; the first may start below `offset`.
    public func read(from offset: Int64, maxBytes: Int, readCommitted: Bool, minOneBatch: Bool) throws(PartitionError) -> LogReadResult {
        let limit = readCommitted ? lastStableOffset : highWatermark
        do throws(LogStorageError) {
            return try log.read(from: offset, maxBytes: maxBytes, maxOffset: limit, minOneBatch: minOneBatch,
                                skipRecordlessBatches: true)
        } catch {
            throw PartitionError.from(error)
        }
    }

    // MARK: Parked fetches

    public func addWaiter(_ waiter: DataWaiter) { waiters.withLock { $0[waiter.id] = waiter } }
    public func removeWaiter(_ waiter: DataWaiter) { _ = waiters.withLock { $0.removeValue(forKey: waiter.id) } }

    /// Parks a follower fetch: woken by leader appends as well as by HW and leadership moves.
    public func addAppendWaiter(_ waiter: DataWaiter) { appendWaiters.withLock { $0[waiter.id] = waiter } }
    public func removeAppendWaiter(_ waiter: DataWaiter) { _ = appendWaiters.withLock { $0.removeValue(forKey: waiter.id) } }

    /// Wakes every parked fetch (data arrived, or the partition is going away).
    public func wakeWaiters() {
        let all = waiters.withLock { w -> [DataWaiter] in
            defer { w.removeAll() }
            return Array(w.values)
        }
        for w in all { w.fire() }
        wakeAppendWaiters()
    }

    /// Wakes the parked follower fetches only (the LEO moved; the HW may not have).
    func wakeAppendWaiters() {
        let all = appendWaiters.withLock { w -> [DataWaiter] in
            guard !w.isEmpty else { return [] }
            defer { w.removeAll() }
            return Array(w.values)
        }
        for w in all { w.fire() }
    }

    // MARK: Producer state

    /// Rebuilds idempotent-producer state by scanning the batch headers from the log start
    /// to the LEO (start-up, after truncation). Reads in 1 MiB chunks of whole batches.
    /// A damaged batch header (CORRUPT_MESSAGE) does not stop it: the rest of that segment is
    /// skipped and reported in the returned warnings, so the partition is still hosted and
    /// Fetch can answer CORRUPT_MESSAGE for the damaged range. I/O errors throw.
    @discardableResult
    public func rebuildProducerState() throws(PartitionError) -> [String] {
        let (state, warnings) = try Self.scanProducerState(log)
        appendState.withLock { $0 = state }
        return warnings
    }

    /// The producer state the batch headers of `log` give, from its start to its LEO.
    static func scanProducerState(_ log: PartitionLog) throws(PartitionError) -> (state: ProducerStateManager, warnings: [String]) {
        var state = ProducerStateManager()
        var warnings: [String] = []
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let result: LogReadResult
            let bytes: ByteBuffer
            do throws(LogStorageError) {
                result = try log.read(from: offset, maxBytes: 1 << 20, maxOffset: nil, minOneBatch: true)
                bytes = try result.readBytes()
            } catch {
                if case .corruptRecord(let what) = error,
                   let next = log.segmentBaseOffsets.first(where: { $0 > offset }) {
                    warnings.append("\(what); producer state rebuilt without offsets \(offset)..<\(next)")
                    offset = next
                    continue
                }
                throw PartitionError.from(error)
            }
            guard bytes.readableBytes > 0 else { break }
            var index = bytes.readerIndex
            var progressed = false
            while index < bytes.writerIndex {
                guard let header = try? RecordBatchHeader.peek(bytes, at: index) else { break }
                if header.hasProducerID, header.lastOffset >= offset {
                    state.update(producerId: header.producerId, epoch: header.producerEpoch, batch: .init(
                        firstSequence: header.baseSequence, lastSequence: header.baseSequence &+ header.lastOffsetDelta,
                        firstOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp))
                }
                if header.nextOffset > offset { offset = header.nextOffset; progressed = true }
                index += header.totalSize
            }
            if !progressed { break }
        }
        return (state, warnings)
    }

    /// Producer ids with state here (for tests and DescribeProducers).
    public var producerState: ProducerStateManager { appendState.withLock { $0 } }

    /// DeleteRecords: moves the log start offset up to `offset` (-1 = the HW).
    public func deleteRecords(before offset: Int64) throws(PartitionError) -> Int64 {
        guard isLeader else { throw .notLeader }
        let target = offset == -1 ? highWatermark : offset
        guard target >= 0, target <= highWatermark else {
            throw PartitionError(1, "Cannot delete records before \(target): it is beyond the high watermark \(highWatermark)")
        }
        do throws(LogStorageError) {
            let start = try log.deleteRecords(before: target)
            appendState.withLock { $0.removeBelow(start) }
            return start
        } catch {
            throw PartitionError.from(error)
        }
    }
}
