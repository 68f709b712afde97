import Foundation
import KafkaProtocol
import NIOCore
import NIOPosix

/// An asynchronous, batching, idempotent Kafka producer.
///
/// * Records are grouped per partition into batches that are sent when they reach
///   `batch.size` bytes or have waited `linger.ms`; every ready batch for one leader goes in a
///   single Produce request, and up to `max.in.flight.requests.per.connection` requests are
///   pipelined per broker.
/// * Keyed records are partitioned with ``Murmur2`` (same partitions as Java and librdkafka's
///   murmur2 partitioner); unkeyed records are sticky (see ``Partitioner``).
/// * Idempotence (on by default, as in Kafka 3+): the producer gets a producer id from
///   InitProducerId and numbers each partition's batches, so a retried batch is never written
///   twice or out of order; DUPLICATE_SEQUENCE_NUMBER answers count as success.
/// * Retriable errors (NOT_LEADER_OR_FOLLOWER, connection loss, timeouts...) refresh metadata
///   and retry until `delivery.timeout.ms`; each record's fate is reported exactly once.
///
/// Concurrency: an actor; `produce` and `send` may be called from any number of tasks.
public actor KafkaProducer {
    public nonisolated let config: ProducerConfig
    public nonisolated let cluster: KafkaCluster

    private struct PendingBatch {
        var tp: TopicPartition
        var records: [Record] = []
        var callbacks: [DeliveryCallback] = []
        var timestamps: [Int64] = []
        var bytes = 0
        var createdAt: ContinuousClock.Instant
        var baseTimestamp: Int64 = 0
        var baseSequence: Int32 = -1
        var attempts = 0
    }

    private struct PartitionQueue {
        var open: PendingBatch?
        var ready: [PendingBatch] = []
        var inFlight = 0
        var nextSequence: Int32 = 0
    }

    private var queues: [TopicPartition: PartitionQueue] = [:]
    private var partitionCounts: [String: Int] = [:]
    private var partitioner = Partitioner()
    private var leaderInFlight: [Int32: Int] = [:]
    private var bufferedBytes = 0
    private var pendingRecords = 0
    private var producerId: Int64 = -1
    private var producerEpoch: Int16 = -1
    private var closing = false
    private var flushRequests = 0
    private var fatalFailure: KafkaClientError?

    private var wakeup: CheckedContinuation<Void, Never>?
    private var wakePending = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var memoryWaiters: [CheckedContinuation<Void, Never>] = []
    private var senderTask: Task<Void, Never>?

    public init(config: ProducerConfig, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.config = config
        self.cluster = KafkaCluster(config: config.client, group: group)
    }

    /// Convenience: `bootstrap.servers` plus any other producer properties.
    public init(properties: ClientProperties) throws {
        self.init(config: try ProducerConfig(properties: properties))
    }

    // MARK: Public API

    /// Enqueues a record and returns as soon as it is buffered; `onDelivery` reports its fate.
    /// Waits (does not fail) while `buffer.memory` is exhausted.
    public func produce(_ record: ProducerRecord, onDelivery: DeliveryCallback? = nil) async throws {
        let size = try validate(record)
        let count = try await waitForRoom(record.topic, size: size)
        try enqueue(record, size: size, partitionCount: count, callback: onDelivery ?? { _ in })
    }

    /// Enqueues many records with one actor hop (cheaper than one `produce` call per record
    /// for bulk loads); `onDelivery` is called once per record.
    public func produce(contentsOf records: [ProducerRecord], onDelivery: DeliveryCallback? = nil) async throws {
        let callback = onDelivery ?? { _ in }
        for record in records {
            let size = try validate(record)
            // Fast path without suspension: known topic and buffer room.
            if let count = partitionCounts[record.topic], bufferedBytes + size <= config.bufferMemory {
                try enqueue(record, size: size, partitionCount: count, callback: callback)
            } else {
                let count = try await waitForRoom(record.topic, size: size)
                try enqueue(record, size: size, partitionCount: count, callback: callback)
            }
        }
    }

    /// Checks the producer state and the record's size; returns the size estimate.
    private func validate(_ record: ProducerRecord) throws -> Int {
        if closing { throw KafkaClientError.closed }
        if let fatalFailure { throw fatalFailure }
        let size = record.estimatedSize
        guard size + 61 <= config.maxRequestSize else {
            throw KafkaClientError.invalidArgument("record of \(size) bytes exceeds max.request.size \(config.maxRequestSize)")
        }
        return size
    }

    /// Waits while `buffer.memory` is exhausted, then returns the topic's partition count
    /// (fetching metadata the first time).
    private func waitForRoom(_ topic: String, size: Int) async throws -> Int {
        while bufferedBytes + size > config.bufferMemory && bufferedBytes > 0 {
            await withCheckedContinuation { memoryWaiters.append($0) }
            if closing { throw KafkaClientError.closed }
        }
        return try await partitionCount(topic)
    }

    private func enqueue(_ record: ProducerRecord, size: Int, partitionCount count: Int, callback: @escaping DeliveryCallback) throws {
        let partition: Int32
        if let explicit = record.partition {
            guard explicit >= 0 && Int(explicit) < count else {
                throw KafkaClientError.unknownPartition(topic: record.topic, partition: explicit)
            }
            partition = explicit
        } else {
            partition = partitioner.partition(topic: record.topic, key: record.key.map { Array($0.readableBytesView) },
                                              partitionCount: count, available: [])
        }
        append(record, to: TopicPartition(record.topic, partition), size: size, callback: callback)
        startSenderIfNeeded()
    }

    /// Produces one record and waits for its delivery.
    public func send(_ record: ProducerRecord) async throws -> RecordMetadata {
        let result: Result<RecordMetadata, KafkaClientError> = try await withCheckedThrowingContinuation { continuation in
            Task {
                do {
                    try await self.produce(record) { continuation.resume(returning: $0) }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return try result.get()
    }

    /// Sends everything buffered now (ignoring linger.ms) and waits until every record so far
    /// has been acknowledged or has failed.
    public func flush() async {
        guard pendingRecords > 0 else { return }
        flushRequests += 1
        signal()
        await withCheckedContinuation { idleWaiters.append($0) }
        flushRequests -= 1
    }

    /// Flushes, then closes connections. Later `produce` calls throw ``KafkaClientError/closed``.
    public func close() async {
        await flush()
        closing = true
        signal()
        for w in memoryWaiters { w.resume() }
        memoryWaiters.removeAll()
        await senderTask?.value
        await cluster.close()
    }

    // MARK: Accumulator

    private func partitionCount(_ topic: String) async throws -> Int {
        if let known = partitionCounts[topic] { return known }
        let cluster = self.cluster
        let count = try await Self.waitForTopic(topic, maxBlock: config.maxBlock, backoff: config.client.retryBackoff) {
            try await cluster.withRetries("metadata for \(topic)") {
                try await cluster.partitionCount(of: topic, allowAutoCreate: true)
            }
        }
        partitionCounts[topic] = count
        return count
    }

    /// Kafka's `KafkaProducer.waitOnMetadata`: while the metadata does not list `topic`
    /// (`fetch` throws ``KafkaClientError/unknownTopic(_:)``), asks again every `backoff` until
    /// `maxBlock` has passed, then rethrows that error. UNKNOWN_TOPIC_OR_PARTITION is retriable
    /// in Kafka: right after a restart a broker may answer Metadata before its own metadata has
    /// caught up, and a topic just created is not on every broker at once. (`fetch` goes to a
    /// random known broker each time and refetches, since the cached answer had an error.)
    /// Any other error is thrown at once.
    static func waitForTopic(_ topic: String, maxBlock: Duration, backoff: Duration,
                             fetch: () async throws -> Int) async throws -> Int {
        let deadline = ContinuousClock.now + maxBlock
        while true {
            do {
                return try await fetch()
            } catch KafkaClientError.unknownTopic(let name) where name == topic {
                let now = ContinuousClock.now
                guard now < deadline else { throw KafkaClientError.unknownTopic(name) }
                try await Task.sleep(for: min(backoff, deadline - now))
            }
        }
    }

    private func append(_ record: ProducerRecord, to tp: TopicPartition, size: Int, callback: @escaping DeliveryCallback) {
        let timestamp = record.timestamp ?? Int64(Date.nowMilliseconds)
        // One in-place access to the partition's queue: reading `queues[tp]` into a local
        // would copy (retain) the queue and its batch on every record.
        let (isNew, closed, full) = Self.append(record, size: size, timestamp: timestamp, callback: callback,
                                                batchSize: config.batchSize, tp: tp, into: &queues[tp, default: PartitionQueue()])
        if closed {
            partitioner.batchClosed(topic: tp.topic, partition: tp.partition, partitionCount: partitionCounts[tp.topic] ?? 1, available: [])
        }
        bufferedBytes += size
        pendingRecords += 1
        if isNew || closed || full { signal() }
    }

    /// Appends to the open batch (closing it first when the record would overflow it).
    /// Returns whether a batch was opened, closed, and whether the open one is now full.
    private static func append(
        _ record: ProducerRecord, size: Int, timestamp: Int64, callback: @escaping DeliveryCallback,
        batchSize: Int, tp: TopicPartition, into queue: inout PartitionQueue
    ) -> (opened: Bool, closed: Bool, full: Bool) {
        var closed = false
        if let bytes = queue.open?.bytes, bytes + size > batchSize, let full = queue.open.take() {
            queue.ready.append(full)
            closed = true
        }
        let opened = queue.open == nil
        if opened {
            var batch = PendingBatch(tp: tp, createdAt: .now, baseTimestamp: timestamp)
            batch.records.reserveCapacity(256)
            batch.callbacks.reserveCapacity(256)
            batch.timestamps.reserveCapacity(256)
            queue.open = batch
        }
        let offsetDelta = Int32(queue.open!.records.count)
        let delta = timestamp - queue.open!.baseTimestamp
        queue.open!.records.append(Record(
            offsetDelta: offsetDelta, timestampDelta: delta, key: record.key, value: record.value,
            headers: record.headers.isEmpty ? [] : record.headers.map { RecordHeader(key: $0.key, value: $0.value) }))
        queue.open!.callbacks.append(callback)
        queue.open!.timestamps.append(timestamp)
        queue.open!.bytes += size
        return (opened, closed, queue.open!.bytes >= batchSize)
    }

    // MARK: Sender

    private func startSenderIfNeeded() {
        guard senderTask == nil else { return }
        senderTask = Task { await self.runSender() }
    }

    private func signal() {
        if let w = wakeup {
            wakeup = nil
            w.resume()
        } else {
            wakePending = true
        }
    }

    private func waitForWork(until deadline: ContinuousClock.Instant?) async {
        if wakePending {
            wakePending = false
            return
        }
        if let deadline {
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.signal()
            }
        }
        await withCheckedContinuation { wakeup = $0 }
        wakePending = false
    }

    private func runSender() async {
        while true {
            if closing && pendingRecords == 0 { break }
            if config.enableIdempotence && producerId < 0 && pendingRecords > 0 {
                do {
                    try await initProducerId()
                } catch let error as KafkaClientError {
                    failEverything(error)
                    continue
                } catch {
                    failEverything(.protocolViolation("\(error)"))
                    continue
                }
            }
            let nextDeadline = await drainAndSend()
            if pendingRecords == 0 { notifyIdle() }
            if closing && pendingRecords == 0 { break }
            await waitForWork(until: nextDeadline)
        }
        notifyIdle()
    }

    private func initProducerId() async throws {
        let cluster = self.cluster
        let response = try await cluster.withRetries("InitProducerId") {
            let connection = try await cluster.anyConnection()
            let (response, _) = try await connection.send(supported: 0...4) { _ in
                InitProducerIdRequest(transactionalId: nil, transactionTimeoutMs: 60000)
            }
            guard response.errorCode == 0 else { throw KafkaClientError.broker(response.errorCode, "InitProducerId") }
            return response
        }
        producerId = response.producerId
        producerEpoch = response.producerEpoch
    }

    /// Moves due batches to ready, sends what in-flight limits allow, returns the next linger deadline.
    private func drainAndSend() async -> ContinuousClock.Instant? {
        let now = ContinuousClock.now
        let flushing = flushRequests > 0 || closing
        var nextDeadline: ContinuousClock.Instant?
        var snapshot = cluster.currentSnapshot
        var byLeader: [Int32: [PendingBatch]] = [:]
        var leaderBytes: [Int32: Int] = [:]
        // Periodic refresh (`metadata.max.age.ms`) picks up leader moves and added partitions.
        var needMetadata = snapshot.map { now - $0.fetchedAt >= config.client.metadataMaxAge } ?? false

        for tp in Array(queues.keys) {
            guard var queue = queues[tp] else { continue }
            if let open = queue.open, !open.records.isEmpty {
                let due = open.createdAt + config.linger
                if flushing || open.bytes >= config.batchSize || due <= now {
                    queue.ready.append(open)
                    queue.open = nil
                    partitioner.batchClosed(topic: tp.topic, partition: tp.partition, partitionCount: partitionCounts[tp.topic] ?? 1, available: [])
                } else {
                    nextDeadline = min(nextDeadline ?? due, due)
                }
            }
            while !queue.ready.isEmpty && queue.inFlight < config.client.maxInFlight {
                guard let leader = snapshot?.leader(for: tp) else {
                    needMetadata = true
                    break
                }
                if leaderInFlight[leader, default: 0] >= config.client.maxInFlight { break }
                // One request per leader per round, at most `max.request.size` of batches
                // (always at least one); the rest goes in the next round.
                if let used = leaderBytes[leader], used + queue.ready[0].bytes > config.maxRequestSize {
                    wakePending = true
                    break
                }
                leaderBytes[leader, default: 0] += queue.ready[0].bytes
                var batch = queue.ready.removeFirst()
                if config.enableIdempotence && batch.baseSequence < 0 {
                    batch.baseSequence = queue.nextSequence
                    queue.nextSequence = queue.nextSequence &+ Int32(batch.records.count)
                    if queue.nextSequence < 0 { queue.nextSequence = 0 }
                }
                queue.inFlight += 1
                byLeader[leader, default: []].append(batch)
            }
            queues[tp] = queue
        }
        for (leader, batches) in byLeader {
            leaderInFlight[leader, default: 0] += 1
            await send(batches, to: leader)
        }
        if needMetadata {
            let topics = Array(Set(queues.filter { !$0.value.ready.isEmpty }.map(\.key.topic)))
            do {
                let fresh = try await cluster.refreshMetadata(topics: Array(Set(topics + Array(partitionCounts.keys))), allowAutoCreate: true)
                snapshot = fresh
                // Keyed records follow the new partition count, as with Java's producer.
                for topic in partitionCounts.keys {
                    if let count = fresh.partitionCount(topic) { partitionCounts[topic] = count }
                }
            } catch {
                try? await Task.sleep(for: config.client.retryBackoff)
            }
            expireStaleBatches()
            wakePending = true
        }
        return nextDeadline
    }

    private func send(_ batches: [PendingBatch], to leader: Int32) async {
        let connection: BrokerConnection
        do {
            connection = try await cluster.connection(to: leader)
        } catch {
            complete(batches, leader: leader, response: .failure(error as? KafkaClientError ?? .connectionFailed(broker: "node \(leader)", reason: "\(error)")), version: 0)
            return
        }
        guard let version = connection.version(for: ApiKey.produce.rawValue, supported: config.compression == .zstd ? 7...10 : 3...10) else {
            complete(batches, leader: leader, response: .failure(.unsupportedApi(api: "Produce (record batch v2)", broker: connection.address.description)), version: 0)
            return
        }
        var request = ProduceRequest()
        request.acks = config.acks.rawValue
        request.timeoutMs = Int32(clamping: config.client.requestTimeout.milliseconds)
        let codec = CompressionCodec(rawValue: Int16(config.compression.codecId)) ?? CompressionCodec.none
        var topics: [String: [ProduceRequest.PartitionProduceData]] = [:]
        var encodable: [PendingBatch] = []
        for batch in batches {
            let recordBatch = RecordBatch(
                compression: codec, baseTimestamp: batch.baseTimestamp, maxTimestamp: batch.timestamps.max(),
                producerId: config.enableIdempotence ? producerId : -1,
                producerEpoch: config.enableIdempotence ? producerEpoch : -1,
                baseSequence: config.enableIdempotence ? batch.baseSequence : -1,
                records: batch.records)
            do {
                let bytes = try recordBatch.encoded()
                topics[batch.tp.topic, default: []].append(ProduceRequest.PartitionProduceData(index: batch.tp.partition, records: bytes))
                encodable.append(batch)
            } catch {
                complete([batch], leader: nil, response: .failure(.invalidArgument("cannot encode batch for \(batch.tp): \(error)")), version: version)
            }
        }
        if encodable.isEmpty {
            leaderInFlight[leader, default: 1] -= 1
            return
        }
        request.topicData = topics.sorted { $0.key < $1.key }.map { ProduceRequest.TopicProduceData(name: $0.key, partitionData: $0.value) }
        var body = ByteBuffer()
        do {
            try request.encode(into: &body, version: version)
        } catch {
            complete(encodable, leader: leader, response: .failure(.protocolViolation("cannot encode Produce v\(version): \(error)")), version: version)
            return
        }
        let flexible = ProduceRequest.isFlexible(version: version)
        let expectsResponse = config.acks != .none
        let future = connection.writeRaw(apiKey: ApiKey.produce.rawValue, apiVersion: version,
                                         requestHeaderVersion: flexible ? 2 : 1, responseHeaderVersion: flexible ? 1 : 0,
                                         body: body, expectsResponse: expectsResponse)
        let cluster = self.cluster
        let sent = encodable
        future.whenComplete { result in
            let decoded: Result<ProduceResponse?, KafkaClientError>
            switch result {
            case .success(var buffer):
                if expectsResponse {
                    do {
                        decoded = .success(try ProduceResponse(from: &buffer, version: version))
                    } catch {
                        decoded = .failure(.protocolViolation("cannot decode Produce v\(version) response: \(error)"))
                    }
                } else {
                    decoded = .success(nil)
                }
            case .failure(let error):
                decoded = .failure(error as? KafkaClientError ?? .connectionFailed(broker: connection.address.description, reason: "\(error)"))
                Task { await cluster.invalidate(connection) }
            }
            Task { await self.complete(sent, leader: leader, response: decoded, version: version) }
        }
    }

    private func complete(_ batches: [PendingBatch], leader: Int32?, response: Result<ProduceResponse?, KafkaClientError>, version: Int16) {
        if let leader { leaderInFlight[leader, default: 1] -= 1 }
        var partitionResults: [TopicPartition: ProduceResponse.PartitionProduceResponse] = [:]
        var hintEndpoints: [BrokerInfo] = []
        if case let .success(r?) = response {
            for t in r.responses {
                for p in t.partitionResponses { partitionResults[TopicPartition(t.name, p.index)] = p }
            }
            hintEndpoints = r.nodeEndpoints.map { BrokerInfo(nodeId: $0.nodeId, host: $0.host, port: $0.port, rack: $0.rack) }
        }
        var retry: [PendingBatch] = []
        for batch in batches {
            queues[batch.tp]?.inFlight -= 1
            let outcome: Result<(Int64, Int64), KafkaClientError>
            switch response {
            case .failure(let error):
                outcome = .failure(error)
            case .success(nil):
                outcome = .success((-1, -1))
            case .success(.some):
                guard let p = partitionResults[batch.tp] else {
                    outcome = .failure(.protocolViolation("Produce response lacks \(batch.tp)"))
                    break
                }
                if p.errorCode == 0 {
                    outcome = .success((p.baseOffset, p.logAppendTimeMs))
                } else if p.errorCode == ErrorCode.duplicateSequenceNumber.rawValue {
                    outcome = .success((-1, -1))
                } else {
                    // KIP-951: the broker named the new leader; the retry goes there.
                    if p.errorCode == ErrorCode.notLeaderOrFollower.rawValue || p.errorCode == ErrorCode.fencedLeaderEpoch.rawValue {
                        cluster.applyLeaderHint(batch.tp, leaderId: p.currentLeader.leaderId, leaderEpoch: p.currentLeader.leaderEpoch,
                                                endpoints: hintEndpoints)
                    }
                    outcome = .failure(.broker(p.errorCode, "produce to \(batch.tp)", message: p.errorMessage))
                }
            }
            switch outcome {
            case let .success((base, appendTime)):
                deliver(batch, .success(()), baseOffset: base, logAppendTime: appendTime)
            case let .failure(error):
                let outOfOrderAfterRetry = error.errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue
                    && (queues[batch.tp]?.ready.contains { $0.baseSequence >= 0 && $0.baseSequence < batch.baseSequence } ?? false || retry.contains { $0.tp == batch.tp })
                let retriable = error.isRetriable || outOfOrderAfterRetry
                if retriable && batch.attempts < config.retries && ContinuousClock.now - batch.createdAt < config.deliveryTimeout {
                    var again = batch
                    again.attempts += 1
                    retry.append(again)
                } else {
                    deliver(batch, .failure(error), baseOffset: -1, logAppendTime: -1)
                }
            }
        }
        if !retry.isEmpty {
            cluster.markMetadataStale()
            for batch in retry {
                // Back in front, in sequence order, so a retried batch precedes its successors.
                queues[batch.tp]?.ready.insert(batch, at: 0)
                queues[batch.tp]?.ready.sort { a, b in
                    (a.baseSequence < 0 ? Int32.max : a.baseSequence) < (b.baseSequence < 0 ? Int32.max : b.baseSequence)
                }
            }
            Task {
                try? await Task.sleep(for: config.client.retryBackoff)
                _ = try? await cluster.refreshMetadata(topics: Array(Set(retry.map(\.tp.topic))), allowAutoCreate: true)
                self.signal()
            }
        } else {
            signal()
        }
        if pendingRecords == 0 { notifyIdle() }
    }

    private func deliver(_ batch: PendingBatch, _ result: Result<Void, KafkaClientError>, baseOffset: Int64, logAppendTime: Int64) {
        for (i, callback) in batch.callbacks.enumerated() {
            switch result {
            case .success:
                let offset = baseOffset >= 0 ? baseOffset + Int64(i) : -1
                callback(.success(RecordMetadata(topicPartition: batch.tp, offset: offset,
                                                 timestamp: logAppendTime >= 0 ? logAppendTime : batch.timestamps[i])))
            case .failure(let error):
                callback(.failure(error))
            }
        }
        pendingRecords -= batch.records.count
        bufferedBytes -= batch.bytes
        if !memoryWaiters.isEmpty && bufferedBytes < config.bufferMemory {
            let waiters = memoryWaiters
            memoryWaiters.removeAll()
            for w in waiters { w.resume() }
        }
    }

    /// Fails ready batches whose delivery timeout passed while their partition had no leader.
    private func expireStaleBatches() {
        let now = ContinuousClock.now
        for tp in Array(queues.keys) {
            guard var queue = queues[tp] else { continue }
            let (expired, kept) = queue.ready.reduce(into: ([PendingBatch](), [PendingBatch]())) { acc, b in
                if now - b.createdAt >= config.deliveryTimeout { acc.0.append(b) } else { acc.1.append(b) }
            }
            queue.ready = kept
            queues[tp] = queue
            for b in expired {
                deliver(b, .failure(.timedOut(operation: "delivery to \(tp)", milliseconds: Int64(config.deliveryTimeout.milliseconds))),
                        baseOffset: -1, logAppendTime: -1)
            }
        }
    }

    private func failEverything(_ error: KafkaClientError) {
        for tp in Array(queues.keys) {
            guard var queue = queues[tp] else { continue }
            var batches = queue.ready
            if let open = queue.open { batches.append(open) }
            queue.ready = []
            queue.open = nil
            queues[tp] = queue
            for b in batches { deliver(b, .failure(error), baseOffset: -1, logAppendTime: -1) }
        }
        if !error.isRetriable { fatalFailure = error }
        notifyIdle()
    }

    private func notifyIdle() {
        guard pendingRecords == 0, !idleWaiters.isEmpty else { return }
        let waiters = idleWaiters
        idleWaiters.removeAll()
        for w in waiters { w.resume() }
    }
}

extension CompressionType {
    /// The codec id in the batch attributes (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    var codecId: Int {
        switch self {
        case .none: return 0
        case .gzip: return 1
        case .snappy: return 2
        case .lz4: return 3
        case .zstd: return 4
        }
    }
}
