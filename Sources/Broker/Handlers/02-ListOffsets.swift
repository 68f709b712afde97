// ListOffsets (key 2), versions 1-7.
//
// Behaviour per partition: timestamp -2 (EARLIEST) -> log start offset; -1 (LATEST) -> the
// high watermark (or the last stable offset for read_committed, the same here), which is what
// lag tools subtract committed offsets from; -3 (MAX_TIMESTAMP, v7) -> the offset of the
// record with the largest timestamp; any other timestamp -> the first offset whose timestamp
// is >= it, or offset -1 / timestamp -1 when there is none. The leader epoch returned (v4+)
// is the epoch of the batch holding the offset, from the leader-epoch cache.
// Errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH
// (current_leader_epoch, v4+), UNSUPPORTED_VERSION for -3 below v7.
// Version notes: v0 (multiple old-style offsets) is not advertised; librdkafka's feature
// probe needs only v1. v2 isolation level; v4 leader epochs; v6 flexible; v7 max timestamp.
import KafkaProtocol
import LogStorage

public struct ListOffsetsHandler: RequestHandler {
    public typealias Request = ListOffsetsRequest
    public static let versions: ClosedRange<Int16> = 1...7

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: ListOffsetsRequest, context: RequestContext) async throws -> ListOffsetsResponse? {
        let version = context.apiVersion
        let image = services.metadata.image
        var response = ListOffsetsResponse()
        for t in request.topics {
            var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse()
            topicResponse.name = t.name
            let allowed = services.authorize(context, .describe, .topic, t.name)
            for lp in t.partitions {
                var pr = ListOffsetsResponse.ListOffsetsPartitionResponse()
                pr.partitionIndex = lp.partitionIndex
                do throws(PartitionError) {
                    // Kafka: DESCRIBE on the topic, else TOPIC_AUTHORIZATION_FAILED.
                    guard allowed else { throw PartitionError(ErrorCode.topicAuthorizationFailed.rawValue, "Topic authorization failed.") }
                    guard image.partition(t.name, lp.partitionIndex) != nil else {
                        throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "unknown topic-partition")
                    }
                    guard let partition = services.replicas.partition(t.name, lp.partitionIndex), partition.isLeader else {
                        throw .notLeader
                    }
                    if version >= 4 { try partition.checkLeaderEpoch(lp.currentLeaderEpoch) }
                    let found = try lookup(partition, timestamp: lp.timestamp, readCommitted: request.isolationLevel == 1,
                                           version: version, fromReplica: request.replicaId >= 0)
                    pr.timestamp = found.timestamp
                    pr.offset = found.offset
                    if version >= 4 { pr.leaderEpoch = found.leaderEpoch }
                } catch {
                    pr.errorCode = error.code
                }
                topicResponse.partitions.append(pr)
            }
            response.topics.append(topicResponse)
        }
        return response
    }

    /// The log answers at batch granularity; Kafka answers with the first *record* whose
    /// timestamp is >= the target, so the batch is decoded and searched.
    private func refine(_ found: Found, timestamp: Int64, in log: PartitionLog) throws(LogStorageError) -> Found {
        var bytes = try log.read(from: found.offset, maxBytes: 1, maxOffset: nil, minOneBatch: true).readBytes()
        while bytes.readableBytes > 0 {
            guard let batch = try? RecordBatch.decode(from: &bytes) else { break }
            for record in batch.records {
                let offset = batch.offset(of: record)
                let ts = batch.timestampType == .logAppendTime ? batch.effectiveMaxTimestamp : batch.timestamp(of: record)
                if offset >= found.offset, ts >= timestamp {
                    return Found(timestamp: ts, offset: offset, leaderEpoch: batch.partitionLeaderEpoch)
                }
            }
        }
        return found
    }

    /// A lookup's answer (LogStorage's `TimestampAndOffset` has no public initializer).
    struct Found {
        var timestamp: Int64
        var offset: Int64
        var leaderEpoch: Int32
        init(timestamp: Int64, offset: Int64, leaderEpoch: Int32) {
            self.timestamp = timestamp; self.offset = offset; self.leaderEpoch = leaderEpoch
        }
        init(_ t: TimestampAndOffset) { self.init(timestamp: t.timestamp, offset: t.offset, leaderEpoch: t.leaderEpoch) }
    }

    /// KIP-207 (Kafka's Partition.fetchOffsetForTimestamp): for a client, a leader whose HW has
    /// not reached the offset it started leading at cannot say where the committed end is yet:
    /// OFFSET_NOT_AVAILABLE (retriable). The start is the LEO when this broker became leader,
    /// not the first batch of its epoch in the log: a leader restarted after a crash keeps its
    /// epoch but reopens with the HW of its last checkpoint (up to
    /// replica.high.watermark.checkpoint.interval.ms old, or the log start when none was
    /// written), below the HW it had already answered with; and a new leader that has not
    /// written yet has no batch of its epoch.
    private func laggingHighWatermark(_ partition: Partition) -> PartitionError? {
        guard let start = partition.leaderEpochStartOffset else { return nil }
        let hw = partition.highWatermark
        guard start > hw else { return nil }
        return PartitionError(ErrorCode.offsetNotAvailable.rawValue,
                              "Failed to fetch offsets: the high watermark \(hw) is behind the offset \(start) at which this broker "
                                  + "started leading epoch \(partition.leadership.leaderEpoch)")
    }

    /// `fromReplica`: a follower asking (ReplicaId >= 0): LATEST is then the LEO, as in Kafka
    /// (no isolation for replicas); a follower ahead of its leader truncates to it.
    private func lookup(_ partition: Partition, timestamp: Int64, readCommitted: Bool,
                        version: Int16, fromReplica: Bool = false) throws(PartitionError) -> Found {
        let log = partition.log
        func epoch(at offset: Int64) -> Int32 {
            log.leaderEpochEntries.last(where: { $0.startOffset <= offset })?.epoch ?? -1
        }
        switch timestamp {
        case -2:
            let offset = partition.logStartOffset
            return Found(timestamp: -1, offset: offset, leaderEpoch: epoch(at: offset))
        case -1:
            if !fromReplica, let lagging = laggingHighWatermark(partition) { throw lagging }
            let offset = fromReplica ? partition.logEndOffset : (readCommitted ? partition.lastStableOffset : partition.highWatermark)
            // The epoch of the last record below the offset (the batch the consumer ends on).
            return Found(timestamp: -1, offset: offset, leaderEpoch: epoch(at: max(0, offset - 1)))
        case -3:
            guard version >= 7 else {
                throw PartitionError(ErrorCode.unsupportedVersion.rawValue, "MAX_TIMESTAMP needs ListOffsets v7")
            }
            do throws(LogStorageError) {
                return try log.maxTimestampAndOffset().map(Found.init) ?? Found(timestamp: -1, offset: -1, leaderEpoch: -1)
            } catch {
                throw PartitionError.from(error)
            }
        default:
            guard timestamp >= 0 else {
                throw PartitionError(ErrorCode.invalidRequest.rawValue, "Unsupported special timestamp \(timestamp)")
            }
            do throws(LogStorageError) {
                if let found = try log.offsetForTimestamp(timestamp), found.offset < partition.highWatermark {
                    return try refine(Found(found), timestamp: timestamp, in: log)
                }
            } catch {
                throw PartitionError.from(error)
            }
            // Beyond the HW: while the HW lags, the answer "none" may be wrong (Kafka).
            if !fromReplica, let lagging = laggingHighWatermark(partition) { throw lagging }
            return Found(timestamp: -1, offset: -1, leaderEpoch: -1)
        }
    }
}
