// Fetch (key 1), versions 4-16.
//
// Behaviour: for each partition, whole record batches from the one holding fetch_offset, up
// to the high watermark (read_uncommitted) or the last stable offset (read_committed; equal
// to the HW here, since there are no transactions). Limits: partition_max_bytes per
// partition and max_bytes for the response, except that the first non-empty partition always
// returns at least one whole batch (KIP-74), so a batch larger than the limits still flows.
// Long poll (Kafka's DelayedFetch): when fewer than min_bytes are available and nothing
// failed, the request parks on its partitions for up to max_wait_ms and is woken by any
// append that moves a high watermark; it then reads again. The connection stays muted
// meanwhile (serial processing), exactly as Kafka does.
// Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
// OFFSET_OUT_OF_RANGE (fetch offset outside [log start, LEO]), FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH (current_leader_epoch, v9+), CORRUPT_MESSAGE (a damaged batch header
// in the segment being read: answered and logged with file and position, never skipped),
// KAFKA_STORAGE_ERROR (the disk failed).
// Version notes: v4 isolation level, last stable offset, aborted transactions (always none);
// v5 log start offset; v7 fetch sessions (KIP-227, ``FetchSessionCache``: a full fetch with
// epoch 0 creates a session, incremental fetches read every partition of the session and
// answer only those with news; session errors are the top-level error code with no
// partitions); v9 current leader epoch; v10 zstd;
// v11 rack id / preferred read replica (-1); v12 flexible, LastFetchedEpoch / DivergingEpoch
// for followers; v13 topic ids instead of names (KIP-516: an id not in the image answers
// UNKNOWN_TOPIC_ID for each of its partitions; a recreated topic has a new id, so a client
// still fetching the old one cannot read the new topic's records); v14 no change; v15
// ReplicaState (replica id and broker epoch) replaces ReplicaId; v16 NodeEndpoints of the
// leaders named in CurrentLeader hints (KIP-951).
// Follower fetches (ReplicaId >= 0, Kafka's `Partition.fetchRecords` for a follower): the
// replica must be in the replica set (else UNKNOWN_LEADER_EPOCH when it sent an epoch,
// NOT_LEADER_OR_FOLLOWER when not); reads go to the LEO, not the HW; LastFetchedEpoch gets
// DivergingEpoch when the follower's log diverged (and then nothing is read and its position
// is not recorded); after the read the leader records the follower's LEO (= fetch offset)
// with `updateFollowerFetchState`, which may move the HW; the response carries the HW after
// that. A parked follower fetch is woken by every append on the leader (the LEO moved), not
// only by HW moves, so acks=all does not wait replica.fetch.wait.max.ms per round trip; an
// empty follower read parks like a consumer's (min_bytes 1), so idle followers do not spin.
// Zero copy (Kafka's FileRecords): on a listener without TLS the records of the final read stay
// in their segment files; the response carries placeholders (RecordsSplice) and the connection
// sends those bytes with sendfile (ResponsePartWriter), for consumers and followers alike.
import KafkaProtocol
import LogStorage
import NIOCore

public struct FetchHandler: RequestHandler {
    public typealias Request = FetchRequest
    public static let versions: ClosedRange<Int16> = 4...16

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: FetchRequest, context: RequestContext) async throws -> FetchResponse? {
        let image = services.metadata.image
        let normalizedRequest = Self.normalized(request, version: context.apiVersion, image: image)
        let clock = services.clock
        let session: FetchSessionCache.Context
        let request: FetchRequest
        switch services.fetchSessions.newContext(normalizedRequest, version: context.apiVersion, nowMs: clock.nowMs(),
                                                 topicName: { image.topicNamesByID[$0] }) {
        case .error(let code):
            var response = FetchResponse()
            response.errorCode = code.rawValue
            response.sessionId = 0
            return response
        case let .read(c, r):
            session = c
            request = r
        }
        let deadline = clock.nowMs() + Int64(max(0, request.maxWaitMs))
        let minBytes = max(0, Int(request.minBytes))
        while true {
            let waiter = services.replicas.makeWaiter()
            let partitions = hostedPartitions(request)
            let fromFollower = request.replicaId >= 0
            for p in partitions { if fromFollower { p.addAppendWaiter(waiter) } else { p.addWaiter(waiter) } }
            let (read, bytes, hadError) = read(request, context: context)
            let response = LeaderHints.annotate(read, version: context.apiVersion, image: services.metadata.image,
                                                listener: context.listenerName)
            let remaining = deadline - clock.nowMs()
            if bytes >= minBytes || hadError || remaining <= 0 || partitions.isEmpty || services.replicas.isStopping {
                for p in partitions { if fromFollower { p.removeAppendWaiter(waiter) } else { p.removeWaiter(waiter) } }
                let answer = services.fetchSessions.answer(session, request: request, response: response, nowMs: clock.nowMs())
                record(request, answer)
                return answer
            }
            // Parked in the long poll: Kafka's "remote" time (DelayedFetch purgatory).
            let timing = RequestTiming.current
            let parkedAt = timing == nil ? 0 : BrokerMetrics.nowNanoseconds()
            await waiter.wait(timeoutMs: remaining, clock: clock)
            timing?.addRemote(nanoseconds: BrokerMetrics.nowNanoseconds() - parkedAt)
            for p in partitions { if fromFollower { p.removeAppendWaiter(waiter) } else { p.removeWaiter(waiter) } }
            if Task.isCancelled {
                let answer = services.fetchSessions.answer(session, request: request, response: response, nowMs: clock.nowMs())
                record(request, answer)
                return answer
            }
        }
    }

    /// The request with topic names and the replica id wherever its version carries them
    /// elsewhere: v13+ names topics by id (resolved from the image; an unknown id keeps an empty
    /// name and is answered UNKNOWN_TOPIC_ID), v15+ sends the replica id in ReplicaState.
    static func normalized(_ request: FetchRequest, version: Int16, image: MetadataImage) -> FetchRequest {
        var r = request
        if version >= 13 {
            for i in r.topics.indices { r.topics[i].topic = image.topicNamesByID[r.topics[i].topicId] ?? "" }
        }
        if version >= 15 { r.replicaId = r.replicaState.replicaId }
        return r
    }

    /// BrokerTopicMetrics of the answered fetch (only the final read of a long poll counts).
    private func record(_ request: FetchRequest, _ response: FetchResponse) {
        guard let metrics = services.metrics else { return }
        if request.replicaId >= 0 { RequestTiming.current?.markFollowerFetch() }
        for t in response.responses where !t.topic.isEmpty {
            let tm = metrics.topic(t.topic)
            tm.totalFetchRequests.increment()
            for p in t.partitions {
                if p.errorCode != 0 { tm.failedFetchRequests.increment() }
                if let records = p.records {
                    let n = RecordsSplice.current?.length(of: records) ?? records.readableBytes
                    if n > 0 { tm.bytesOut.increment(by: n) }
                }
            }
        }
    }

    /// The records of a read: a placeholder for the segment slice when the connection sends
    /// files (item 5 of issue 12: consumers and followers alike are served with `sendfile`,
    /// see ``RecordsSplice`` and ``ResponsePartWriter``), else the bytes read with `pread`.
    static func records(of result: LogReadResult) throws(LogStorageError) -> ByteBuffer {
        if let splice = RecordsSplice.current, let slice = result.slice, slice.isFileBacked {
            return splice.placeholder(length: slice.length, payload: slice)
        }
        return try result.readBytes()
    }

    private func hostedPartitions(_ request: FetchRequest) -> [Partition] {
        request.topics.flatMap { t in t.partitions.compactMap { services.replicas.partition(t.topic, $0.partition) } }
    }

    private func read(_ request: FetchRequest, context: RequestContext) -> (FetchResponse, Int, Bool) {
        let version = context.apiVersion
        let image = services.metadata.image
        let readCommitted = request.isolationLevel == 1
        // A read after a long-poll wake replaces the previous one: forget its placeholders.
        RecordsSplice.current?.reset()
        var response = FetchResponse()
        var remaining = Int(request.maxBytes <= 0 ? Int32.max : request.maxBytes)
        var total = 0
        var hadError = false
        // Kafka's checks: a follower needs CLUSTER_ACTION on the cluster, a consumer READ on
        // each topic; refused partitions answer TOPIC_AUTHORIZATION_FAILED and reveal nothing.
        let followerAllowed = request.replicaId < 0 || services.authorize(context, .clusterAction, .cluster, AclResources.clusterName)
        for t in request.topics {
            var topicResponse = FetchResponse.FetchableTopicResponse()
            topicResponse.topic = t.topic
            topicResponse.topicId = t.topicId
            let unknownId = version >= 13 && t.topic.isEmpty
            let allowed = request.replicaId >= 0 ? followerAllowed : services.authorize(context, .read, .topic, t.topic)
            for fp in t.partitions {
                var pd = FetchResponse.PartitionData()
                pd.partitionIndex = fp.partition
                pd.highWatermark = -1
                pd.lastStableOffset = -1
                pd.logStartOffset = -1
                pd.abortedTransactions = readCommitted ? [] : nil
                pd.records = ByteBuffer()
                if unknownId {
                    pd.errorCode = ErrorCode.unknownTopicId.rawValue
                    hadError = true
                    topicResponse.partitions.append(pd)
                    continue
                }
                guard allowed else {
                    pd.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    hadError = true
                    topicResponse.partitions.append(pd)
                    continue
                }
                do throws(PartitionError) {
                    guard image.partition(t.topic, fp.partition) != nil else {
                        throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "unknown topic-partition")
                    }
                    guard let partition = services.replicas.partition(t.topic, fp.partition), partition.isLeader else {
                        throw .notLeader
                    }
                    if request.replicaId >= 0 {
                        let limit = min(Int(max(0, fp.partitionMaxBytes)), remaining)
                        let read = try partition.readForFollower(
                            replicaId: request.replicaId, fetchOffset: fp.fetchOffset,
                            currentLeaderEpoch: version >= 9 ? fp.currentLeaderEpoch : -1,
                            lastFetchedEpoch: version >= 12 ? fp.lastFetchedEpoch : -1,
                            maxBytes: limit, minOneBatch: total == 0)
                        switch read {
                        case let .diverging(epoch, endOffset):
                            // Answered at once: the follower must truncate before anything else.
                            pd.divergingEpoch.epoch = epoch
                            pd.divergingEpoch.endOffset = endOffset
                            hadError = true
                        case .records(let result):
                            partition.updateFollowerFetchState(replicaId: request.replicaId, fetchOffset: fp.fetchOffset,
                                                               brokerEpoch: request.replicaState.replicaEpoch,
                                                               nowMs: services.clock.nowMs())
                            if result.length > 0 {
                                do {
                                    pd.records = try Self.records(of: result)
                                } catch {
                                    throw PartitionError.from(error)
                                }
                                total += result.length
                                remaining = max(0, remaining - result.length)
                            }
                        }
                        pd.highWatermark = partition.highWatermark
                        pd.lastStableOffset = partition.lastStableOffset
                        pd.logStartOffset = partition.logStartOffset
                        topicResponse.partitions.append(pd)
                        continue
                    }
                    if version >= 9 { try partition.checkLeaderEpoch(fp.currentLeaderEpoch) }
                    let limit = min(Int(max(0, fp.partitionMaxBytes)), remaining)
                    let result = try partition.read(from: fp.fetchOffset, maxBytes: limit, readCommitted: readCommitted,
                                                    minOneBatch: total == 0)
                    pd.highWatermark = result.highWatermark
                    pd.lastStableOffset = result.highWatermark
                    pd.logStartOffset = result.logStartOffset
                    if result.length > 0 {
                        do {
                            pd.records = try Self.records(of: result)
                        } catch {
                            throw PartitionError.from(error)
                        }
                        total += result.length
                        remaining = max(0, remaining - result.length)
                    }
                } catch {
                    hadError = true
                    pd.errorCode = error.code
                    if error.code == ErrorCode.corruptMessage.rawValue || error.code == ErrorCode.kafkaStorageError.rawValue {
                        // Damaged data or a failed disk: the operator must hear of it (Kafka logs both).
                        services.logger.error("Fetch \(t.topic)-\(fp.partition) at offset \(fp.fetchOffset) failed: \(error.message)")
                    }
                    if let partition = services.replicas.partition(t.topic, fp.partition) {
                        pd.highWatermark = partition.highWatermark
                        pd.lastStableOffset = partition.lastStableOffset
                        pd.logStartOffset = partition.logStartOffset
                    }
                }
                topicResponse.partitions.append(pd)
            }
            response.responses.append(topicResponse)
        }
        return (response, total, hadError)
    }
}
