import KafkaClient
import KafkaProtocol
import Logging
import Synchronization

/// The broker's sender of ISR changes to the active controller (Kafka's
/// `DefaultAlterPartitionManager`): partitions submit proposals, which are batched into one
/// AlterPartition (56) request at a time over the ``ControllerChannel``.
///
/// * One proposal per partition: a second one for a partition whose proposal is queued or in
///   flight is refused at once with OPERATION_NOT_ATTEMPTED (the partition keeps one pending
///   change anyway).
/// * One request in flight; what was submitted meanwhile goes in the next one.
/// * A connection error, a timeout or a top-level NOT_CONTROLLER keeps the batch and sends it
///   again after `retryBackoffMs` (NOT_CONTROLLER drops the channel first, so the controller is
///   looked up again). Any other top-level error (STALE_BROKER_EPOCH after this broker
///   re-registered) is every partition's answer; the partitions decide (they retry).
/// * Versions 2-3 (topic ids; v3 sends the broker epochs of the new ISR, KIP-903), the
///   highest the controller accepts.
///
/// Thread-safe.
public final class AlterPartitionManager: AlterPartitionSubmitter, Sendable {
    struct Key: Hashable, Sendable {
        var topicID: TopicID
        var partition: Int32
    }

    struct Item: Sendable {
        var change: PendingIsrChange
        var partition: Int32
        var completion: @Sendable (AlterPartitionResult) -> Void
    }

    struct State {
        /// Submitted, not yet answered (queued or in flight), in submission order.
        var unanswered: [Key: Item] = [:]
        var order: [Key] = []
        var inFlight = false
        var stopped = false
    }

    public static let supportedVersions: ClosedRange<Int16> = 2...3

    /// `replica.lag.time.max.ms` (default 30000): how long an ISR member may go without
    /// catching up before the leader proposes it out of the ISR.
    public static func replicaLagTimeMaxMs(_ config: BrokerConfig) -> Int64 {
        config.explicitValues["replica.lag.time.max.ms"].flatMap { Int64($0) }.map { max(1, $0) } ?? 30_000
    }

    private let channel: ControllerChannel
    private let brokerId: Int32
    private let brokerEpoch: @Sendable () -> Int64
    private let retryBackoffMs: Int64
    private let logger: Logger
    private let state = Mutex(State())

    public init(channel: ControllerChannel, brokerId: Int32, brokerEpoch: @escaping @Sendable () -> Int64,
                retryBackoffMs: Int64 = 100, logger: Logger) {
        self.channel = channel; self.brokerId = brokerId; self.brokerEpoch = brokerEpoch
        self.retryBackoffMs = retryBackoffMs; self.logger = logger
    }

    public func submit(_ change: PendingIsrChange, partition: Int32, completion: @escaping @Sendable (AlterPartitionResult) -> Void) {
        let key = Key(topicID: change.topicID, partition: partition)
        let accepted = state.withLock { s -> Bool in
            guard !s.stopped, s.unanswered[key] == nil else { return false }
            s.unanswered[key] = Item(change: change, partition: partition, completion: completion)
            s.order.append(key)
            return true
        }
        guard accepted else {
            completion(.failure(.operationNotAttempted))
            return
        }
        maybeSend()
    }

    /// Stops sending; unanswered proposals are dropped (the broker is stopping).
    public func stop() {
        state.withLock { s in
            s.stopped = true
            s.unanswered = [:]
            s.order = []
        }
    }

    /// Starts a request with every unanswered proposal unless one is in flight.
    private func maybeSend() {
        let batch = state.withLock { s -> [(Key, Item)]? in
            guard !s.stopped, !s.inFlight, !s.order.isEmpty else { return nil }
            s.inFlight = true
            return s.order.compactMap { k in s.unanswered[k].map { (k, $0) } }
        }
        guard let batch else { return }
        Task { await self.send(batch) }
    }

    /// The request for `batch` at `version` (v2+: topic ids; v3: NewIsrWithEpochs).
    static func request(brokerId: Int32, brokerEpoch: Int64, items: [Item], version: Int16) -> AlterPartitionRequest {
        var request = AlterPartitionRequest(brokerId: brokerId, brokerEpoch: brokerEpoch)
        var byTopic: [TopicID: Int] = [:]
        for item in items {
            var p = AlterPartitionRequest.PartitionData()
            p.partitionIndex = item.partition
            p.leaderEpoch = item.change.leaderEpoch
            p.partitionEpoch = item.change.partitionEpoch
            p.leaderRecoveryState = 0
            if version >= 3 {
                p.newIsrWithEpochs = item.change.newIsr.map { .init(brokerId: $0.brokerId, brokerEpoch: $0.brokerEpoch) }
            } else {
                p.newIsr = item.change.isr
            }
            if let t = byTopic[item.change.topicID] {
                request.topics[t].partitions.append(p)
            } else {
                byTopic[item.change.topicID] = request.topics.count
                var topic = AlterPartitionRequest.TopicData()
                topic.topicId = item.change.topicID
                topic.partitions = [p]
                request.topics.append(topic)
            }
        }
        return request
    }

    /// Each item's answer from `response` (a missing partition is UNKNOWN_SERVER_ERROR, which
    /// the partition retries, as Kafka's manager does).
    static func results(_ response: AlterPartitionResponse, for items: [(Key, Item)]) -> [(Key, AlterPartitionResult)] {
        if response.errorCode != 0 {
            return items.map { ($0.0, .failure(ErrorCode(rawValue: response.errorCode))) }
        }
        var answers: [Key: AlterPartitionResult] = [:]
        for topic in response.topics {
            for p in topic.partitions {
                let key = Key(topicID: topic.topicId, partition: p.partitionIndex)
                answers[key] = p.errorCode != 0
                    ? .failure(ErrorCode(rawValue: p.errorCode))
                    : .success(leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr)
            }
        }
        return items.map { ($0.0, answers[$0.0] ?? .failure(.unknownServerError)) }
    }

    private func send(_ batch: [(Key, Item)]) async {
        let items = batch.map(\.1)
        let brokerId = self.brokerId, epoch = brokerEpoch()
        do {
            let (response, endpoint) = try await channel.send({ version in
                Self.request(brokerId: brokerId, brokerEpoch: epoch, items: items, version: version)
            }, supported: Self.supportedVersions)
            if response.errorCode == ErrorCode.notController.rawValue {
                logger.debug("AlterPartition: controller \(endpoint.nodeId) is no longer active; retrying")
                channel.reset()
                await retryLater()
                return
            }
            let results = Self.results(response, for: batch)
            let completions = state.withLock { s -> [(Item, AlterPartitionResult)] in
                var out: [(Item, AlterPartitionResult)] = []
                for (key, result) in results {
                    if let item = s.unanswered.removeValue(forKey: key) { out.append((item, result)) }
                }
                let remaining = s.unanswered
                s.order.removeAll { remaining[$0] == nil }
                s.inFlight = false
                return out
            }
            for (item, result) in completions {
                if case .failure(let code) = result {
                    logger.info("AlterPartition of partition \(item.partition) (topic id \(item.change.topicID)) to ISR \(item.change.isr): \(code.name)")
                }
                item.completion(result)
            }
            maybeSend()
        } catch {
            logger.debug("AlterPartition request failed: \(error); retrying")
            await retryLater()
        }
    }

    private func retryLater() async {
        try? await Task.sleep(for: .milliseconds(retryBackoffMs))
        state.withLock { $0.inFlight = false }
        maybeSend()
    }
}
