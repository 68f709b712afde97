import KafkaProtocol
import LogStorage
import NIOCore

// The data plane of replication on a Partition: the leader serving a follower's fetch
// (Kafka's `Partition.fetchRecords` / `readRecords` for a follower) and the follower appending
// what its leader sent, truncating when the logs diverged (`ReplicaFetcherThread`,
// `AbstractFetcherThread.getOffsetTruncationState`).

/// What the leader answers for one partition of a follower fetch.
public enum FollowerReadResult: Sendable {
    /// Batches from the fetch offset up to the leader's LEO (possibly none).
    case records(LogReadResult)
    /// The follower's log diverged at `LastFetchedEpoch`: the largest epoch the leader has
    /// that is <= it, and where that epoch ends on the leader (Fetch v12 `DivergingEpoch`).
    case diverging(epoch: Int32, endOffset: Int64)
}

extension Partition {
    // MARK: Leader side

    /// Serves one partition of a follower fetch, Kafka's order and errors:
    /// NOT_LEADER_OR_FOLLOWER when this broker does not lead it; FENCED_LEADER_EPOCH /
    /// UNKNOWN_LEADER_EPOCH for a `currentLeaderEpoch` older / newer than ours; a replica not in
    /// the replica set gets UNKNOWN_LEADER_EPOCH when it sent an epoch (KRaft: it may learn of a
    /// reassignment before we do) and NOT_LEADER_OR_FOLLOWER otherwise; with `lastFetchedEpoch`
    /// (v12) a diverged log gets `.diverging`; an offset outside [log start, LEO] is
    /// OFFSET_OUT_OF_RANGE. Reads go to the LEO, not the HW, and keep record-less batches
    /// (the follower's log must be a byte copy).
    ///
    /// It does not record the follower's position: the caller calls
    /// ``updateFollowerFetchState(replicaId:fetchOffset:brokerEpoch:nowMs:)`` after a read that
    /// did not diverge (Kafka skips it on divergence: the follower's offset then names records
    /// the leader does not have).
    public func readForFollower(replicaId: Int32, fetchOffset: Int64, currentLeaderEpoch: Int32, lastFetchedEpoch: Int32,
                                maxBytes: Int, minOneBatch: Bool) throws(PartitionError) -> FollowerReadResult {
        let state = leadership
        guard state.leader == localBrokerId else { throw .notLeader }
        try checkLeaderEpoch(currentLeaderEpoch)
        guard state.replicas.contains(replicaId) else {
            let message = "Replica \(replicaId) is not in the replica set \(state.replicas) of \(topic)-\(index) for leader epoch \(state.leaderEpoch)"
            throw PartitionError(currentLeaderEpoch >= 0 ? ErrorCode.unknownLeaderEpoch.rawValue : ErrorCode.notLeaderOrFollower.rawValue,
                                 message)
        }
        if lastFetchedEpoch >= 0 {
            let (epoch, endOffset) = log.endOffset(forEpoch: lastFetchedEpoch)
            if epoch < 0 || endOffset < 0 {
                throw PartitionError(ErrorCode.offsetOutOfRange.rawValue,
                                     "Could not determine the end offset of the last fetched epoch \(lastFetchedEpoch)")
            }
            let start = log.logStartOffset
            if fetchOffset < start {
                throw PartitionError(ErrorCode.offsetOutOfRange.rawValue,
                                     "Received request for offset \(fetchOffset) for partition \(topic)-\(index), but we only have log segments starting at \(start)")
            }
            if epoch < lastFetchedEpoch || endOffset < fetchOffset {
                return .diverging(epoch: epoch, endOffset: endOffset)
            }
        }
        do throws(LogStorageError) {
            return .records(try log.read(from: fetchOffset, maxBytes: maxBytes, maxOffset: nil, minOneBatch: minOneBatch,
                                         skipRecordlessBatches: false))
        } catch {
            throw PartitionError.from(error)
        }
    }

    // MARK: Follower side

    /// Appends batches fetched from the leader with the leader's offsets and epochs, and
    /// updates the idempotent-producer state from their headers (no sequence checks: the
    /// leader made them), so this replica deduplicates retries once it leads.
    ///
    /// Returns nil without writing when this broker is no longer a follower in
    /// `leaderEpoch` (the response is stale: leadership moved while it was in flight).
    /// A partial batch at the end of `records` (a leader may cut one at its size limit) is
    /// dropped; it is fetched whole next time. Does not fsync: see ``ReplicaFetcher``.
    public func appendAsFollower(_ records: ByteBuffer, leaderEpoch: Int32) throws(PartitionError) -> LogAppendInfo? {
        let whole = Self.wholeBatches(records)
        guard whole.readableBytes > 0 else { return nil }
        return try appendState.withLock { producers throws(PartitionError) -> LogAppendInfo? in
            let state = leadership
            guard state.leader != localBrokerId, state.leaderEpoch == leaderEpoch else { return nil }
            let info: LogAppendInfo
            do throws(LogStorageError) {
                info = try log.append(whole, leaderEpoch: nil, assignOffsets: false)
            } catch {
                throw PartitionError.from(error)
            }
            var index = whole.readerIndex
            while index < whole.writerIndex, let header = try? RecordBatchHeader.peek(whole, at: index) {
                if header.hasProducerID {
                    producers.update(producerId: header.producerId, epoch: header.producerEpoch, batch: .init(
                        firstSequence: header.baseSequence, lastSequence: header.baseSequence &+ header.lastOffsetDelta,
                        firstOffset: header.baseOffset, lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp))
                }
                index += header.totalSize
            }
            return info
        }
    }

    /// The prefix of `records` made of whole batches.
    static func wholeBatches(_ records: ByteBuffer) -> ByteBuffer {
        var index = records.readerIndex
        while records.writerIndex - index >= RecordBatchHeader.logOverhead,
              let length = records.getInteger(at: index + 8, as: Int32.self), length >= 0,
              index + RecordBatchHeader.logOverhead + Int(length) <= records.writerIndex {
            index += RecordBatchHeader.logOverhead + Int(length)
        }
        return records.getSlice(at: records.readerIndex, length: index - records.readerIndex) ?? ByteBuffer()
    }

    /// Sets the follower's HW to min(leader HW, own LEO), forward only (Kafka's
    /// `ReplicaFetcherThread.processPartitionData`). Returns whether it moved.
    @discardableResult
    public func updateFollowerHighWatermark(leaderHighWatermark: Int64) -> Bool {
        guard !isLeader else { return false }
        let target = min(leaderHighWatermark, log.logEndOffset)
        let old = log.highWatermark
        guard target > old else { return false }
        return log.updateHighWatermark(target) > old
    }

    /// Truncates a follower's log to `offset` (divergence, or the leader's LEO is below ours),
    /// then rebuilds producer state. Nothing happens when this broker is no longer a follower
    /// in `leaderEpoch`. The cut is fsynced by the log.
    public func truncateAsFollower(to offset: Int64, leaderEpoch: Int32) throws(PartitionError) {
        let done = try appendState.withLock { _ throws(PartitionError) -> Bool in
            let state = leadership
            guard state.leader != localBrokerId, state.leaderEpoch == leaderEpoch else { return false }
            do throws(LogStorageError) { try log.truncate(to: offset) } catch { throw PartitionError.from(error) }
            return true
        }
        if done { try rebuildProducerState() }
    }

    /// Empties a follower's log and restarts it at `offset` (the leader's log start is past
    /// our LEO: what we have is gone from the leader).
    public func truncateFullyAsFollower(startAt offset: Int64, leaderEpoch: Int32) throws(PartitionError) {
        let done = try appendState.withLock { _ throws(PartitionError) -> Bool in
            let state = leadership
            guard state.leader != localBrokerId, state.leaderEpoch == leaderEpoch else { return false }
            do throws(LogStorageError) { try log.truncateFullyAndStart(at: offset) } catch { throw PartitionError.from(error) }
            return true
        }
        if done { try rebuildProducerState() }
    }
}

/// Kafka's `AbstractFetcherThread.getOffsetTruncationState`, as a pure function: where a
/// follower truncates after the leader answered `DivergingEpoch(leaderEpoch, leaderEndOffset)`.
///
/// - Parameters:
///   - followerEndOffsetForEpoch: the follower's own `endOffsetForEpoch(leaderEpoch)`: the
///     largest epoch <= it the follower knows and where that epoch ends, nil when unknown.
///   - followerLogEndOffset: the follower's LEO.
/// - Returns: the offset to truncate to, and whether truncation is complete (false: the
///   follower did not know the leader's epoch; it cut to the end of its own older epoch and
///   the next fetch, carrying that epoch as LastFetchedEpoch, checks again).
public enum FollowerTruncation {
    public static func offset(leaderEpoch: Int32, leaderEndOffset: Int64,
                              followerEndOffsetForEpoch: (epoch: Int32, endOffset: Int64)?,
                              followerLogEndOffset: Int64, fetchOffset: Int64) -> (offset: Int64, complete: Bool) {
        if leaderEndOffset < 0 { return (fetchOffset, true) }
        if leaderEpoch < 0 { return (min(leaderEndOffset, followerLogEndOffset), true) }
        guard let follower = followerEndOffsetForEpoch else {
            return (min(leaderEndOffset, followerLogEndOffset), true)
        }
        if follower.epoch != leaderEpoch {
            return (min(follower.endOffset, followerLogEndOffset), false)
        }
        return (min(min(follower.endOffset, leaderEndOffset), followerLogEndOffset), true)
    }

    /// The follower's `endOffsetForEpoch` from its log (nil when the log has no such epoch).
    public static func followerEndOffset(_ log: PartitionLog, forEpoch epoch: Int32) -> (epoch: Int32, endOffset: Int64)? {
        let (e, end) = log.endOffset(forEpoch: epoch)
        return e < 0 || end < 0 ? nil : (e, end)
    }
}
