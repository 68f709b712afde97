import KafkaProtocol
import NIOCore
import LogStorage

/// A node id (`node.id`): brokers and controllers share one namespace, as in Kafka.
public typealias RaftNodeId = Int32

/// The replicated partition: `__cluster_metadata-0`, addressed by topic id from Fetch v13 on
/// (`Uuid.METADATA_TOPIC_ID`, `AAAAAAAAAAAAAAAAAAAAAQ`).
public enum MetadataPartition {
    public static let topicName = "__cluster_metadata"
    public static let partition: Int32 = 0
    public static let topicId = KafkaUUID.metadataTopicId
}

/// An (offset, epoch) pair, as Kafka's `OffsetAndEpoch`. Ordered by epoch first, then offset:
/// that is the "log is at least as up to date" order of Vote granting.
public struct OffsetAndEpoch: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var offset: Int64
    public var epoch: Int32
    public init(offset: Int64, epoch: Int32) { self.offset = offset; self.epoch = epoch }
    public static func < (a: Self, b: Self) -> Bool { (a.epoch, a.offset) < (b.epoch, b.offset) }
    public var description: String { "(offset \(offset), epoch \(epoch))" }
}

/// The timing settings of the quorum, with Kafka's names and defaults
/// (`raft/.../QuorumConfig.java`). Values in milliseconds.
public struct QuorumConfig: Sendable, Equatable {
    /// The static voter set (`controller.quorum.voters`, kraft.version 0), sorted.
    public var voters: [RaftNodeId]
    /// `controller.quorum.election.timeout.ms` (1000). The actual timeout is random in [T, 2T).
    public var electionTimeoutMs: Int64 = 1000
    /// `controller.quorum.fetch.timeout.ms` (2000). A follower that has not fetched successfully
    /// for this long starts an election; the leader resigns after 1.5x this without a majority.
    public var fetchTimeoutMs: Int64 = 2000
    /// `controller.quorum.election.backoff.max.ms` (1000).
    public var electionBackoffMaxMs: Int64 = 1000
    /// `controller.quorum.request.timeout.ms` (2000).
    public var requestTimeoutMs: Int64 = 2000
    /// `controller.quorum.retry.backoff.ms` (20).
    public var retryBackoffMs: Int64 = 20
    /// How long the leader parks a Fetch that has nothing new (Kafka's client sends 500).
    public var fetchMaxWaitMs: Int64 = 500
    /// `MAX_FETCH_SIZE_BYTES` of KafkaRaftClient (8 MiB).
    public var fetchMaxBytes: Int32 = 8 * 1024 * 1024
    /// The cluster id checked on every request (INCONSISTENT_CLUSTER_ID); nil checks nothing.
    public var clusterId: String?

    public init(voters: [RaftNodeId], clusterId: String? = nil) {
        self.voters = voters.sorted()
        self.clusterId = clusterId
    }

    /// Kafka's `RETRY_BACKOFF_BASE_MS`: base of the exponential election backoff.
    public static let retryBackoffBaseMs: Int64 = 100
    /// `LeaderState.CHECK_QUORUM_TIMEOUT_FACTOR`.
    public static let checkQuorumTimeoutFactor = 1.5

    public var majority: Int { voters.count / 2 + 1 }
    public func isVoter(_ id: RaftNodeId) -> Bool { voters.contains(id) }
}

/// What the leader must read from its log to answer a Fetch, or what a follower learnt from a
/// record batch header (the state machine never touches the disk: it keeps this mirror).
public struct BatchInfo: Equatable, Sendable {
    public var baseOffset: Int64
    public var lastOffset: Int64
    public var epoch: Int32
    public init(baseOffset: Int64, lastOffset: Int64, epoch: Int32) {
        self.baseOffset = baseOffset; self.lastOffset = lastOffset; self.epoch = epoch
    }

    /// Headers of the whole batches in `records` (a partial trailing batch is ignored, as a
    /// Fetch response may end with one). Throws on a corrupt batch.
    public static func scan(_ records: ByteBuffer) throws -> [BatchInfo] {
        var result: [BatchInfo] = []
        var index = records.readerIndex
        while records.writerIndex - index >= RecordBatchHeader.logOverhead + 5 {
            let header = try RecordBatchHeader.peek(records, at: index)
            guard header.totalSize <= records.writerIndex - index else { break }
            try header.verifyCRC(of: records, at: index)
            result.append(BatchInfo(baseOffset: header.baseOffset, lastOffset: header.lastOffset, epoch: header.partitionLeaderEpoch))
            index += header.totalSize
        }
        return result
    }
}

/// The state machine's mirror of its log: end offset and leader-epoch entries. It is kept equal
/// to `PartitionLog`'s (`logEndOffset`, `leaderEpochEntries`) by executing the effects in order;
/// the simulation checks that after every step.
public struct RaftLogView: Equatable, Sendable {
    public var endOffset: Int64
    public var epochs: [EpochEntry]

    public init(endOffset: Int64 = 0, epochs: [EpochEntry] = []) {
        self.endOffset = endOffset; self.epochs = epochs
    }

    /// Epoch of the last record, 0 for an empty log (Kafka's `lastFetchedEpoch`).
    public var lastFetchedEpoch: Int32 { epochs.last?.epoch ?? 0 }
    public var endOffsetAndEpoch: OffsetAndEpoch { OffsetAndEpoch(offset: endOffset, epoch: lastFetchedEpoch) }

    /// Kafka's `KafkaMetadataLog.endOffsetForEpoch` (over `LeaderEpochFileCache.endOffsetFor`):
    /// the largest epoch <= `epoch` and the offset where it ends; for an epoch newer than every
    /// known one, the log end and the last epoch.
    public func endOffsetForEpoch(_ epoch: Int32) -> OffsetAndEpoch {
        if let last = epochs.last, last.epoch == epoch { return OffsetAndEpoch(offset: endOffset, epoch: epoch) }
        guard let higher = epochs.first(where: { $0.epoch > epoch }) else {
            return OffsetAndEpoch(offset: endOffset, epoch: lastFetchedEpoch)
        }
        if let floor = epochs.last(where: { $0.epoch <= epoch }) {
            return OffsetAndEpoch(offset: higher.startOffset, epoch: floor.epoch)
        }
        return OffsetAndEpoch(offset: higher.startOffset, epoch: epoch)
    }

    /// Kafka's `validateOffsetAndEpoch` (without snapshots): nil when (offset, epoch) is on this
    /// log, else the diverging epoch and its end offset.
    public func diverging(fetchOffset: Int64, lastFetchedEpoch: Int32) -> OffsetAndEpoch? {
        let end = endOffsetForEpoch(lastFetchedEpoch)
        if end.epoch != lastFetchedEpoch || end.offset < fetchOffset { return end }
        return nil
    }

    /// Kafka's `truncateToEndOffset`: where a follower cuts its log when the leader reports
    /// `divergence`.
    public func truncationOffset(for divergence: OffsetAndEpoch) -> Int64 {
        if divergence.epoch == 0 { return min(divergence.offset, endOffset) }
        let local = endOffsetForEpoch(divergence.epoch)
        return local.epoch == divergence.epoch ? min(local.offset, divergence.offset) : local.offset
    }

    mutating func append(_ batches: [BatchInfo]) {
        for batch in batches {
            if epochs.last.map({ batch.epoch > $0.epoch }) ?? true {
                epochs.append(EpochEntry(epoch: batch.epoch, startOffset: batch.baseOffset))
            }
            endOffset = batch.lastOffset + 1
        }
    }

    mutating func truncate(to offset: Int64) {
        guard offset < endOffset else { return }
        endOffset = offset
        epochs.removeAll { $0.startOffset >= offset }
    }
}

/// Deliberately broken rules, for tests that prove the simulation's checker can fail. Never set
/// outside tests.
public struct RaftTestingFaults: Sendable, Equatable {
    /// Grant a vote without persisting it first.
    public var skipVotePersistence = false
    /// Grant votes without the "candidate's log is at least as up to date" check.
    public var grantVotesIgnoringLog = false
    /// Compute the high watermark from the largest follower offset instead of a majority.
    public var commitWithoutMajority = false
    public init() {}
    public static let none = RaftTestingFaults()
}
