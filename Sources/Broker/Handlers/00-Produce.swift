// Produce (key 0), versions 0-10 advertised; record batches v2 (magic 2) only.
//
// Behaviour, per partition, in Kafka's order (`ProduceRequest.validateRecords`,
// `LogValidator`, `UnifiedLog.append`):
// * acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS for every partition);
// * unknown topic or partition -> UNKNOWN_TOPIC_OR_PARTITION; not the leader ->
//   NOT_LEADER_OR_FOLLOWER; an internal topic (__consumer_offsets) -> INVALID_TOPIC_EXCEPTION;
// * exactly one batch, magic 2, not a control batch, not transactional (no transaction
//   coordinator here), baseSequence >= 0 when a producer id is set -> else INVALID_RECORD;
// * zstd below v7 -> UNSUPPORTED_COMPRESSION_TYPE; a batch larger than the topic's
//   max.message.bytes -> MESSAGE_TOO_LARGE; CRC and lastOffsetDelta/recordCount are checked
//   by the log (CORRUPT_MESSAGE / INVALID_RECORD);
// * idempotent producers: a duplicate of one of the last five batches is answered with its
//   original offsets; sequence gaps -> OUT_OF_ORDER_SEQUENCE_NUMBER; old epochs ->
//   INVALID_PRODUCER_EPOCH;
// * acks=-1 while the committed ISR is smaller than min(min.insync.replicas, replication
//   factor) -> NOT_ENOUGH_REPLICAS, nothing written (never on a single node: ISR = replicas = 1);
// * Kafka's per-record rules (ProduceRecordRules, with the topic's effective configs read per
//   request, so an AlterConfigs applies to the next one): a topic whose cleanup.policy
//   contains compact needs a key in every record, else INVALID_RECORD; on a CreateTime topic
//   a timestamp outside message.timestamp.before/after.max.ms, and a LogAppendTime batch from
//   the producer, are INVALID_TIMESTAMP; one RecordError per rejected record (v8+) with
//   Kafka's LogValidator messages.
// Flush policy: acks=-1 fsyncs the partition before answering (the fsyncs of all partitions
// of one request run at once on `flushPool`, see `flushDeferred`); acks=1/0 answer once the
// batch is in the page cache (it survives kill -9, not power loss) and fsync per the topic's
// flush.messages / flush.ms. acks=-1 then waits (all partitions of the request at once) until
// the partition's HW covers the batch, i.e. every member of the maximal ISR has it (a single
// replica: at once), for at most the request's timeoutMs -> REQUEST_TIMED_OUT; the HW covers
// it but the maximal ISR is below min(min.insync.replicas, replicas) ->
// NOT_ENOUGH_REPLICAS_AFTER_APPEND; leadership lost meanwhile -> NOT_LEADER_OR_FOLLOWER.
// min.insync.replicas above the replication factor is accepted, as in Kafka, and counts as
// the replication factor (Kafka's effectiveMinIsr).
// acks=0: no response at all; if any partition failed, the connection is closed (Kafka's
// way of making the client refresh metadata).
// Version notes: v0-2 are advertised only because librdkafka < 2.11.1 checks Produce v0 before
// it compresses (notes §1.3); they work when the client sends v2 batches and get
// UNSUPPORTED_VERSION for legacy message sets. v3 transactional id; v5 log start offset;
// v7 zstd; v8 record errors and error message; v9 flexible; v10 optional leader hints (not sent).
import KafkaProtocol
import NIOCore
import NIOPosix

public struct ProduceHandler: RequestHandler {
    public typealias Request = ProduceRequest
    public static let versions: ClosedRange<Int16> = 0...10

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: ProduceRequest, context: RequestContext) async throws -> ProduceResponse? {
        let version = context.apiVersion
        let image = services.metadata.image
        var response = ProduceResponse()
        var failed: [String] = []
        let acksValid = request.acks == -1 || request.acks == 0 || request.acks == 1
        var toFlush: [(topic: Int, partition: Int, replica: Partition)] = []
        var toWait: [(topic: Int, partition: Int, replica: Partition, requiredOffset: Int64, leaderEpoch: Int32)] = []
        let metrics = services.metrics
        var topicMetrics: [BrokerMetrics.TopicMetrics] = []
        for topicData in request.topicData {
            // BrokerTopicMetrics: one lookup per topic of the request, atomics per partition.
            let tm = metrics?.topic(topicData.name)
            if let tm { tm.totalProduceRequests.increment(); topicMetrics.append(tm) }
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topicData.name
            // Kafka checks WRITE on the topic first: an unauthorized topic answers
            // TOPIC_AUTHORIZATION_FAILED whether it exists or not.
            let authorized = services.authorize(context, .write, .topic, topicData.name)
            for data in topicData.partitionData {
                var p = ProduceResponse.PartitionProduceResponse()
                p.index = data.index
                p.baseOffset = -1
                let outcome: Result<(Partition, Partition.AppendResult), PartitionError>
                if !acksValid {
                    outcome = .failure(PartitionError(ErrorCode.invalidRequiredAcks.rawValue, "acks must be -1, 0 or 1"))
                } else if !authorized {
                    outcome = .failure(PartitionError(ErrorCode.topicAuthorizationFailed.rawValue, "Topic authorization failed."))
                } else {
                    outcome = Result { () throws(PartitionError) in
                        try append(topic: topicData.name, partition: data.index, records: data.records,
                                   acks: request.acks, version: version, image: image)
                    }
                }
                switch outcome {
                case .success(let (partition, result)):
                    if request.acks == -1 {
                        toFlush.append((response.responses.count, topicResponse.partitionResponses.count, partition))
                        toWait.append((response.responses.count, topicResponse.partitionResponses.count, partition, result.lastOffset + 1,
                                       result.leaderEpoch))
                    }
                    p.baseOffset = result.baseOffset
                    p.logAppendTimeMs = result.logAppendTime
                    if let tm {
                        tm.bytesIn.increment(by: data.records?.readableBytes ?? 0)
                        if !result.duplicate { tm.messagesIn.increment(by: Int(result.lastOffset - result.baseOffset + 1)) }
                    }
                    if version >= 5 { p.logStartOffset = result.logStartOffset }
                case .failure(let error):
                    p.errorCode = error.code
                    if version >= 8 {
                        p.errorMessage = error.message
                        p.recordErrors = error.recordErrors.map { .init(batchIndex: $0.batchIndex, batchIndexErrorMessage: $0.message) }
                    }
                    failed.append("\(topicData.name)-\(data.index): \(error)")
                    tm?.failedProduceRequests.increment()
                }
                topicResponse.partitionResponses.append(p)
            }
            response.responses.append(topicResponse)
        }
        let flushFailed = await flushDeferred(toFlush)
        let waitFailed = await waitForReplicas(toWait.filter { w in !flushFailed.contains { $0.0 == w.topic && $0.1 == w.partition } },
                                               timeoutMs: Int64(request.timeoutMs))
        for (t, i, error) in flushFailed + waitFailed {
            var p = response.responses[t].partitionResponses[i]
            p.baseOffset = -1
            p.logAppendTimeMs = -1
            p.errorCode = error.code
            if version >= 8 { p.errorMessage = error.message }
            response.responses[t].partitionResponses[i] = p
            if t < topicMetrics.count { topicMetrics[t].failedProduceRequests.increment() }
        }
        if request.acks == 0 {
            if !failed.isEmpty { throw CloseConnection("acks=0 produce failed: \(failed.joined(separator: "; "))") }
            return nil
        }
        return LeaderHints.annotate(response, version: version, image: services.metadata.image, listener: context.listenerName)
    }

    private func append(topic name: String, partition index: Int32, records: ByteBuffer?, acks: Int16,
                        version: Int16, image: MetadataImage) throws(PartitionError) -> (Partition, Partition.AppendResult) {
        guard let topic = image.topics[name], index >= 0, Int(index) < topic.partitions.count else {
            throw PartitionError(ErrorCode.unknownTopicOrPartition.rawValue, "This server does not host this topic-partition.")
        }
        guard let partition = services.replicas.partition(name, index), partition.isLeader else {
            throw .notLeader
        }
        // Kafka refuses client writes to internal topics (only the coordinators write them).
        guard !TopicName.internalTopics.contains(name) else {
            throw PartitionError(ErrorCode.invalidTopicException.rawValue, "Cannot append to internal topic \(name)")
        }
        guard let records, records.readableBytes > 0 else {
            throw PartitionError(ErrorCode.invalidRecord.rawValue, "Produce request with no record batches")
        }
        if records.readableBytes > RecordBatchHeader.magicOffset,
           let magic = records.getInteger(at: records.readerIndex + RecordBatchHeader.magicOffset, as: Int8.self), magic != 2 {
            throw PartitionError(version < 3 ? ErrorCode.unsupportedVersion.rawValue : ErrorCode.invalidRecord.rawValue,
                                 "Only record batches with magic 2 are accepted, got magic \(magic)")
        }
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader.peek(records, at: records.readerIndex)
        } catch {
            throw PartitionError(ErrorCode.corruptMessage.rawValue, "Malformed record batch: \(error)")
        }
        guard header.totalSize == records.readableBytes else {
            throw PartitionError(ErrorCode.invalidRecord.rawValue,
                                 header.totalSize < records.readableBytes
                                     ? "Produce requests must contain exactly one record batch per partition"
                                     : "Record batch is truncated: \(records.readableBytes) of \(header.totalSize) bytes")
        }
        let maxMessageBytes = Int(services.topicConfigValue(topic, "max.message.bytes") ?? "") ?? Int(services.config.messageMaxBytes)
        guard header.totalSize <= maxMessageBytes else {
            throw PartitionError(ErrorCode.messageTooLarge.rawValue,
                                 "The record batch of \(header.totalSize) bytes exceeds max.message.bytes (\(maxMessageBytes))")
        }
        guard !header.isControl else {
            throw PartitionError(ErrorCode.invalidRecord.rawValue, "Clients may not write control batches")
        }
        guard !header.isTransactional else {
            throw PartitionError(ErrorCode.invalidRecord.rawValue, "Transactional batches are not supported by this broker")
        }
        if header.hasProducerID, header.baseSequence < 0 {
            throw PartitionError(ErrorCode.invalidRecord.rawValue, "Idempotent batches must have a non-negative base sequence")
        }
        if header.compressionCodecID == 4, version < 7 {
            throw PartitionError(ErrorCode.unsupportedCompressionType.rawValue, "zstd needs Produce v7 or later")
        }
        if acks == -1 {
            let minIsr = Int(services.topicConfigValue(topic, "min.insync.replicas") ?? "") ?? 1
            try partition.checkEnoughReplicas(minInSyncReplicas: minIsr)
        }
        let rules = ProduceRecordRules(
            compacted: Self.isCompacted(cleanupPolicy: services.topicConfigValue(topic, "cleanup.policy")),
            logAppendTime: services.topicConfigValue(topic, "message.timestamp.type") == "LogAppendTime",
            timestampBeforeMaxMs: Int64(services.topicConfigValue(topic, "message.timestamp.before.max.ms") ?? "") ?? .max,
            timestampAfterMaxMs: Int64(services.topicConfigValue(topic, "message.timestamp.after.max.ms") ?? "") ?? .max,
            nowMs: services.clock.nowMs(), topicPartition: "\(name)-\(index)")
        try rules.validate(records, header: header)
        return (partition, try partition.appendAsLeader(records, header: header, requiredAcks: acks, deferFlush: true))
    }

    /// The acks=-1 wait for the ISR (Kafka's `DelayedProduce`), for every appended partition of
    /// the request at once: each parks until its HW covers its batch (woken by follower fetches,
    /// not polled), for at most the request's `timeoutMs`. Returns the response positions that
    /// failed: REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER.
    private func waitForReplicas(_ pending: [(topic: Int, partition: Int, replica: Partition, requiredOffset: Int64, leaderEpoch: Int32)],
                                 timeoutMs: Int64) async -> [(Int, Int, PartitionError)] {
        guard !pending.isEmpty else { return [] }
        let clock = services.clock
        let replicas = services.replicas
        return await withTaskGroup(of: (Int, Int, PartitionError?).self) { group in
            for (t, i, replica, required, epoch) in pending {
                group.addTask {
                    let error = await replica.waitForAcks(requiredOffset: required, leaderEpoch: epoch, timeoutMs: timeoutMs, clock: clock,
                                                          makeWaiter: { replicas.makeWaiter() })
                    return (t, i, error)
                }
            }
            var failed: [(Int, Int, PartitionError)] = []
            for await (t, i, error) in group { if let error { failed.append((t, i, error)) } }
            return failed
        }
    }

    /// Whether a cleanup.policy value ("compact", "compact,delete", ...) includes compaction.
    static func isCompacted(cleanupPolicy: String?) -> Bool {
        (cleanupPolicy ?? "").split(separator: ",").contains { String($0).trimmingWhitespace() == "compact" }
    }

    /// Threads for acks=-1 fsyncs: they block for milliseconds, so they must not run on the
    /// two-thread cooperative pool (that would stall every other connection), and there must be
    /// enough of them to overlap the fsyncs of one request's partitions, since ext4 commits
    /// overlapping fdatasyncs in one journal transaction (8 partitions: ~3 ms instead of ~25 ms
    /// in a row). Started on first use; idle threads cost no CPU.
    private static let flushPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// Completes the deferred acks=-1 appends of one request, all at once; returns the
    /// (topic, partition) response positions whose fsync failed, with the error.
    private func flushDeferred(_ pending: [(topic: Int, partition: Int, replica: Partition)]) async -> [(Int, Int, PartitionError)] {
        guard !pending.isEmpty else { return [] }
        let flushTimer = services.metrics?.logFlushTimeMs
        return await withTaskGroup(of: (Int, Int, PartitionError?).self) { group in
            for (t, i, replica) in pending {
                group.addTask {
                    do {
                        let started = flushTimer == nil ? 0 : BrokerMetrics.nowNanoseconds()
                        try await Self.flushPool.runIfActive { () throws -> Void in try replica.completeDeferredFlush() }
                        flushTimer?.record(Double(BrokerMetrics.nowNanoseconds() - started) / 1_000_000)
                        return (t, i, nil)
                    } catch let error as PartitionError {
                        return (t, i, error)
                    } catch {
                        return (t, i, PartitionError(ErrorCode.kafkaStorageError.rawValue, "fsync not run: \(error)"))
                    }
                }
            }
            var failed: [(Int, Int, PartitionError)] = []
            for await (t, i, error) in group { if let error { failed.append((t, i, error)) } }
            return failed
        }
    }
}
