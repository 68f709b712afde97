import KafkaProtocol

/// One follower as its leader sees it (Kafka's `Replica.ReplicaState`, notes §3.2). Only the
/// leader keeps these; they are reset when leadership changes.
public struct FollowerReplicaState: Equatable, Sendable {
    /// The follower's log end offset: the offset of its last fetch (-1 = not heard from since
    /// this broker became leader).
    public var logEndOffset: Int64 = -1
    /// The leader's LEO at the follower's previous fetch (-1 = none).
    public var lastFetchLeaderLogEndOffset: Int64 = -1
    public var lastFetchTimeMs: Int64 = 0
    /// The latest time the follower was caught up with the leader's LEO (see
    /// ``updateFetchState(fetchOffset:nowMs:leaderEndOffset:brokerEpoch:)``).
    public var lastCaughtUpTimeMs: Int64 = 0
    /// The broker epoch its fetch carried (ReplicaState.ReplicaEpoch, KIP-903; -1 = the fetch
    /// version has none); nil before its first fetch.
    public var brokerEpoch: Int64?

    public init() {}

    /// Kafka's `Replica.updateFetchStateOrThrow`. A fetch at or past the leader's LEO now means
    /// caught up now; a fetch at or past the LEO the leader had at the previous fetch means the
    /// follower was caught up at the time of that previous fetch.
    public mutating func updateFetchState(fetchOffset: Int64, nowMs: Int64, leaderEndOffset: Int64, brokerEpoch: Int64) {
        if fetchOffset >= leaderEndOffset {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs, nowMs)
        } else if fetchOffset >= lastFetchLeaderLogEndOffset {
            lastCaughtUpTimeMs = max(lastCaughtUpTimeMs, lastFetchTimeMs)
        }
        logEndOffset = fetchOffset
        lastFetchLeaderLogEndOffset = max(leaderEndOffset, lastFetchLeaderLogEndOffset)
        lastFetchTimeMs = nowMs
        self.brokerEpoch = brokerEpoch
    }

    /// Kafka's `ReplicaState.isCaughtUp`: at the leader's LEO, or caught up within the lag time.
    public func isCaughtUp(leaderEndOffset: Int64, nowMs: Int64, replicaLagTimeMaxMs: Int64) -> Bool {
        leaderEndOffset == logEndOffset || nowMs - lastCaughtUpTimeMs <= replicaLagTimeMaxMs
    }

    /// Kafka's `Replica.resetReplicaState` (on a new leader epoch): ISR members count as caught
    /// up now, so a new leader does not shrink them out before they had a chance to fetch.
    public mutating func reset(nowMs: Int64, leaderEndOffset: Int64, isNewLeader: Bool, inSync: Bool) {
        lastCaughtUpTimeMs = inSync ? nowMs : 0
        if isNewLeader {
            logEndOffset = -1
            lastFetchLeaderLogEndOffset = -1
            lastFetchTimeMs = 0
            brokerEpoch = nil
        } else {
            lastFetchLeaderLogEndOffset = leaderEndOffset
            lastFetchTimeMs = nowMs
        }
    }
}

/// What the leader knows about another broker from the metadata image, for ISR eligibility.
public struct BrokerLiveness: Equatable, Sendable {
    public var fenced: Bool
    public var inControlledShutdown: Bool
    public var epoch: Int64
    public init(fenced: Bool, inControlledShutdown: Bool, epoch: Int64) {
        self.fenced = fenced; self.inControlledShutdown = inControlledShutdown; self.epoch = epoch
    }

    /// Kafka's `Partition.isReplicaIsrEligible` (KRaft, KIP-841/903): registered, not fenced,
    /// not in controlled shutdown, and the broker epoch of its fetch is the registered one (or
    /// -1: an old fetch version without ReplicaState skips the check). A follower that has not
    /// fetched since this broker became leader is not eligible.
    public static func isEligible(_ live: BrokerLiveness?, fetchBrokerEpoch: Int64?) -> Bool {
        guard let live, let fetchBrokerEpoch else { return false }
        return !live.fenced && !live.inControlledShutdown && (fetchBrokerEpoch == -1 || fetchBrokerEpoch == live.epoch)
    }
}

/// One ISR member of a proposed ISR with the broker epoch the leader saw (AlterPartition v3
/// `NewIsrWithEpochs`; -1 = unknown, which the controller does not check).
public struct IsrMember: Equatable, Sendable {
    public var brokerId: Int32
    public var brokerEpoch: Int64
    public init(brokerId: Int32, brokerEpoch: Int64) { self.brokerId = brokerId; self.brokerEpoch = brokerEpoch }
}

/// An ISR change sent to the controller and not yet answered (Kafka's `PendingExpandIsr` /
/// `PendingShrinkIsr`).
public struct PendingIsrChange: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case expand(Int32)
        case shrink([Int32])
    }
    public var kind: Kind
    /// Distinguishes this proposal from later ones: a response for another id is stale.
    public var id: UInt64
    public var topicID: TopicID
    public var leaderEpoch: Int32
    /// The partition epoch the proposal is based on (the controller rejects it if stale).
    public var partitionEpoch: Int32
    public var newIsr: [IsrMember]
    public var isr: [Int32] { newIsr.map(\.brokerId) }
}

/// The controller's answer for one partition of an AlterPartition request.
public enum AlterPartitionResult: Equatable, Sendable {
    case success(leaderId: Int32, leaderEpoch: Int32, partitionEpoch: Int32, isr: [Int32])
    case failure(ErrorCode)
}

/// What the leader did with an AlterPartition answer (Kafka's `handleAlterPartitionUpdate` /
/// `handleAlterPartitionError`).
public enum AlterPartitionOutcome: Equatable, Sendable {
    /// The answer is about a proposal that is no longer pending (metadata replaced it), or has
    /// a stale leader or partition epoch: nothing changes.
    case ignored
    /// The new ISR and partition epoch are committed.
    case committed
    /// INELIGIBLE_REPLICA / OPERATION_NOT_ATTEMPTED: back to the last committed ISR.
    case reverted
    /// A stale epoch or unknown partition: the proposal stays pending until new metadata for
    /// this partition arrives (which replaces it).
    case awaitingMetadata
    /// Any other error: send the same proposal again.
    case retry
}

/// The leader's ISR state machine for one partition, a value with time passed in (notes
/// §3.2-§3.5; Kafka's `Partition` ISR half: `makeLeader`, `updateFollowerFetchState`,
/// `maybeExpandIsr`, `maybeShrinkIsr`, `maybeIncrementLeaderHW`, `handleAlterPartitionUpdate`).
///
/// * `isr` is the committed ISR (the metadata image's, or an AlterPartition answer applied
///   before the image caught up); `pending` the one in-flight change. The **maximal ISR** is
///   the committed ISR plus a pending expansion: an expansion counts toward the HW at once (a
///   larger set is safe), a shrink only once committed.
/// * One change in flight: no expansion or shrink is proposed while `pending` is set.
/// * New metadata for the partition (any partition epoch >= ours) replaces the committed state
///   and drops the pending change; a new leader epoch resets the followers' state.
public struct LeaderIsrState: Equatable, Sendable {
    public let localBrokerId: Int32
    public private(set) var topicID: TopicID = .zero
    public private(set) var leader: Int32 = -1
    public private(set) var leaderEpoch: Int32 = -1
    public private(set) var partitionEpoch: Int32 = -1
    public private(set) var replicas: [Int32] = []
    /// The committed ISR.
    public private(set) var isr: [Int32] = []
    public private(set) var pending: PendingIsrChange?
    /// Remote replicas' state; only while this broker leads.
    public private(set) var followers: [Int32: FollowerReplicaState] = [:]
    /// The leader's LEO when it started its current leader epoch: a follower joins the ISR
    /// only once it reached it (it then has everything this leader may have committed).
    public private(set) var leaderEpochStartOffset: Int64?
    private var nextChangeId: UInt64 = 1

    public init(localBrokerId: Int32) { self.localBrokerId = localBrokerId }

    public var isLeader: Bool { leader == localBrokerId }
    public var isInflight: Bool { pending != nil }

    /// The committed ISR plus a pending expansion (KIP-497).
    public var maximalIsr: [Int32] {
        if let pending, case .expand(let id) = pending.kind, !isr.contains(id) { return isr + [id] }
        return isr
    }

    /// Kafka's `effectiveMinIsr`: min.insync.replicas may exceed the replication factor (Kafka
    /// accepts such a config); the replica count then is the bound.
    public func effectiveMinIsr(_ minInsyncReplicas: Int) -> Int { max(1, min(minInsyncReplicas, replicas.count)) }

    /// Kafka's `isUnderMinIsr`: the committed ISR is smaller than the effective min ISR.
    public func isUnderMinIsr(_ minInsyncReplicas: Int) -> Bool { isLeader && isr.count < effectiveMinIsr(minInsyncReplicas) }

    // MARK: Metadata

    /// Applies the partition's registration from the metadata image (Kafka's `makeLeader` /
    /// `makeFollower`). Returns false, changing nothing, when its partition epoch is older than
    /// ours (an AlterPartition answer was applied before the image caught up).
    @discardableResult
    public mutating func applyMetadata(_ l: PartitionLeadership, leaderEndOffset: Int64, nowMs: Int64) -> Bool {
        if l.topicID == topicID, l.partitionEpoch < partitionEpoch { return false }
        let wasLeader = isLeader
        let isNewLeaderEpoch = l.topicID != topicID || l.leaderEpoch != leaderEpoch || l.leader != leader
        topicID = l.topicID
        leader = l.leader
        leaderEpoch = l.leaderEpoch
        partitionEpoch = l.partitionEpoch
        replicas = l.replicas
        isr = l.isr
        pending = nil
        guard isLeader else {
            followers = [:]
            leaderEpochStartOffset = nil
            return true
        }
        var next: [Int32: FollowerReplicaState] = [:]
        for r in replicas where r != localBrokerId {
            var f = followers[r] ?? FollowerReplicaState()
            if isNewLeaderEpoch {
                f.reset(nowMs: nowMs, leaderEndOffset: leaderEndOffset, isNewLeader: !wasLeader, inSync: isr.contains(r))
            }
            next[r] = f
        }
        followers = next
        if isNewLeaderEpoch || leaderEpochStartOffset == nil { leaderEpochStartOffset = leaderEndOffset }
        return true
    }

    // MARK: Follower fetches and ISR expansion

    /// A follower fetched at `fetchOffset` (its LEO). Updates its state and returns an ISR
    /// expansion to send when it just became in sync (Kafka's `maybeExpandIsr`): not in the ISR,
    /// no change in flight, ISR eligible, LEO >= HW and >= the leader epoch start offset.
    /// Fetches from brokers outside the replica set, or while not leading, change nothing.
    public mutating func updateFollowerFetch(replicaId: Int32, fetchOffset: Int64, brokerEpoch: Int64, nowMs: Int64,
                                             leaderEndOffset: Int64, highWatermark: Int64, localBrokerEpoch: Int64,
                                             liveness: (Int32) -> BrokerLiveness?) -> PendingIsrChange? {
        guard isLeader, replicaId != localBrokerId, var f = followers[replicaId] else { return nil }
        f.updateFetchState(fetchOffset: fetchOffset, nowMs: nowMs, leaderEndOffset: leaderEndOffset, brokerEpoch: brokerEpoch)
        followers[replicaId] = f
        guard pending == nil, !isr.contains(replicaId),
              BrokerLiveness.isEligible(liveness(replicaId), fetchBrokerEpoch: f.brokerEpoch),
              f.logEndOffset >= highWatermark, let start = leaderEpochStartOffset, f.logEndOffset >= start else { return nil }
        return propose(.expand(replicaId), newIsr: isr + [replicaId], localBrokerEpoch: localBrokerEpoch)
    }

    // MARK: ISR shrink

    /// ISR members (other than the leader) that are not caught up (Kafka's `getOutOfSyncReplicas`);
    /// empty while a change is in flight.
    public func outOfSyncReplicas(leaderEndOffset: Int64, nowMs: Int64, replicaLagTimeMaxMs: Int64) -> [Int32] {
        guard isLeader, pending == nil else { return [] }
        return isr.filter { id in
            id != localBrokerId
                && !(followers[id]?.isCaughtUp(leaderEndOffset: leaderEndOffset, nowMs: nowMs, replicaLagTimeMaxMs: replicaLagTimeMaxMs) ?? false)
        }
    }

    /// The periodic check (every replica.lag.time.max.ms / 2): a shrink to send when ISR
    /// members stopped keeping up (Kafka's `maybeShrinkIsr`).
    public mutating func maybeShrinkIsr(leaderEndOffset: Int64, nowMs: Int64, replicaLagTimeMaxMs: Int64,
                                        localBrokerEpoch: Int64) -> PendingIsrChange? {
        let outOfSync = outOfSyncReplicas(leaderEndOffset: leaderEndOffset, nowMs: nowMs, replicaLagTimeMaxMs: replicaLagTimeMaxMs)
        guard !outOfSync.isEmpty else { return nil }
        return propose(.shrink(outOfSync), newIsr: isr.filter { !outOfSync.contains($0) }, localBrokerEpoch: localBrokerEpoch)
    }

    private mutating func propose(_ kind: PendingIsrChange.Kind, newIsr: [Int32], localBrokerEpoch: Int64) -> PendingIsrChange {
        let members = newIsr.map { id in
            IsrMember(brokerId: id, brokerEpoch: id == localBrokerId ? localBrokerEpoch : (followers[id]?.brokerEpoch ?? -1))
        }
        let change = PendingIsrChange(kind: kind, id: nextChangeId, topicID: topicID, leaderEpoch: leaderEpoch,
                                      partitionEpoch: partitionEpoch, newIsr: members)
        nextChangeId += 1
        pending = change
        return change
    }

    // MARK: AlterPartition answers

    /// Applies the controller's answer to proposal `changeId`.
    public mutating func handleAlterPartitionResult(changeId: UInt64, _ result: AlterPartitionResult) -> AlterPartitionOutcome {
        // The state moved on (new metadata) since the proposal: the answer is out of date.
        guard let pending, pending.id == changeId else { return .ignored }
        switch result {
        case let .success(_, newLeaderEpoch, newPartitionEpoch, newIsr):
            // Kafka leaves the proposal pending here; the next metadata update replaces it.
            if newLeaderEpoch != leaderEpoch || newPartitionEpoch < partitionEpoch { return .ignored }
            isr = newIsr
            partitionEpoch = newPartitionEpoch
            self.pending = nil
            return .committed
        case .failure(let code):
            switch code {
            case .operationNotAttempted, .ineligibleReplica:
                self.pending = nil
                return .reverted
            case .unknownTopicOrPartition, .unknownTopicId, .fencedLeaderEpoch, .invalidUpdateVersion, .invalidRequest,
                 .newLeaderElected:
                return .awaitingMetadata
            default:
                return .retry
            }
        }
    }

    // MARK: High watermark

    /// The HW the leader may move to now (Kafka's `maybeIncrementLeaderHW`, notes §3.3): the
    /// minimum LEO over the leader, the maximal ISR, and every caught-up, ISR-eligible replica
    /// not yet in it (so a follower catching up can reach a HW that otherwise runs ahead with
    /// the leader's LEO). Nil while not leading or while the committed ISR is smaller than the
    /// effective min ISR (strict min ISR, KIP-966): the HW does not advance then, whatever the
    /// acks of the writes. The caller moves the HW only forward.
    public func highWatermarkTarget(leaderEndOffset: Int64, nowMs: Int64, replicaLagTimeMaxMs: Int64,
                                    minInsyncReplicas: Int, liveness: (Int32) -> BrokerLiveness?) -> Int64? {
        guard isLeader, !isUnderMinIsr(minInsyncReplicas) else { return nil }
        let maximal = maximalIsr
        var hw = leaderEndOffset
        for (id, f) in followers where f.logEndOffset < hw {
            if maximal.contains(id)
                || (f.isCaughtUp(leaderEndOffset: leaderEndOffset, nowMs: nowMs, replicaLagTimeMaxMs: replicaLagTimeMaxMs)
                    && BrokerLiveness.isEligible(liveness(id), fetchBrokerEpoch: f.brokerEpoch)) {
                hw = f.logEndOffset
            }
        }
        return hw
    }

    /// Kafka's `checkEnoughReplicasReachOffset` for an acks=all write ending before
    /// `requiredOffset`: nil while the HW has not reached it; then success, or
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND when the maximal ISR is below the effective min ISR.
    public func acksOutcome(requiredOffset: Int64, highWatermark: Int64, minInsyncReplicas: Int) -> ErrorCode? {
        guard highWatermark >= requiredOffset else { return nil }
        return maximalIsr.count >= effectiveMinIsr(minInsyncReplicas) ? ErrorCode.none : .notEnoughReplicasAfterAppend
    }
}
