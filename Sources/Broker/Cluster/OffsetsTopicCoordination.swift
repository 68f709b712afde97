import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// The group coordinator on a multi-node cluster (issue 12): each broker coordinates the
/// groups whose `__consumer_offsets` partition it leads, as in Kafka.
///
/// * ``lookup(metadata:creator:)``: FindCoordinator's answer, the current leader of the
///   group's offsets partition (COORDINATOR_NOT_AVAILABLE while the topic is missing, the
///   partition has no leader, or the leader has no endpoint).
/// * ``leadershipChanges(old:new:nodeId:)``: what a metadata commit changed about who leads
///   the offsets partitions, fed to ``GroupCoordinator/offsetsLeadershipChanged(_:)`` (load on
///   election, unload on resignation).
/// * ``OffsetsTopicCreator``: the first FindCoordinator creates the topic through the active
///   controller (Kafka's `AutoTopicCreationManager`), with `offsets.topic.replication.factor`
///   replicas and not fewer: the controller refuses while too few brokers are registered and
///   clients keep retrying COORDINATOR_NOT_AVAILABLE.
enum OffsetsTopicCoordination {
    static let topic = ConsumerOffsetsLogStore.topic

    static func lookup(metadata: MetadataStore, creator: OffsetsTopicCreator)
        -> @Sendable (_ partition: Int32, _ listenerName: String) -> CoordinatorLookup {
        { partition, listenerName in
            let image = metadata.image
            guard let offsets = image.topics[topic] else {
                creator.requestCreation()
                return .unavailable("The coordinator is not available: \(topic) is being created")
            }
            guard partition >= 0, Int(partition) < offsets.partitions.count else {
                return .unavailable("The coordinator is not available: \(topic)-\(partition) does not exist")
            }
            let leader = offsets.partitions[Int(partition)].leader
            guard leader >= 0, let broker = image.brokers[leader],
                  let endpoint = broker.endpoints.first(where: { $0.listener == listenerName }) ?? broker.endpoints.first else {
                return .unavailable("The coordinator is not available: \(topic)-\(partition) has no leader")
            }
            return .node(CoordinatorNode(nodeId: leader, host: endpoint.host, port: endpoint.port))
        }
    }

    /// The offsets partitions whose leader or leader epoch differs between `old` (nil: every
    /// partition) and `new`, with whether `nodeId` leads them now. A partition of a deleted or
    /// re-created topic counts as changed.
    static func leadershipChanges(old: MetadataImage?, new: MetadataImage, nodeId: Int32) -> [OffsetsPartitionLeadership] {
        guard let offsets = new.topics[topic] else { return [] }
        let before = old?.topics[topic].flatMap { $0.id == offsets.id ? $0 : nil }
        var changes: [OffsetsPartitionLeadership] = []
        for reg in offsets.partitions {
            if let before, Int(reg.partition) < before.partitions.count {
                let was = before.partitions[Int(reg.partition)]
                if was.leader == reg.leader && was.leaderEpoch == reg.leaderEpoch { continue }
            }
            changes.append(OffsetsPartitionLeadership(partition: reg.partition, isLeader: reg.leader == nodeId,
                                                      leaderEpoch: reg.leaderEpoch))
        }
        return changes
    }
}

/// Creates `__consumer_offsets` on a multi-node cluster when FindCoordinator first needs it:
/// a CreateTopics request through the broker's own dispatcher, so it goes to the active
/// controller (forwarded in an Envelope, or served locally on the active controller) and is
/// validated like any CreateTopics. One creation in flight at a time; a refusal (too few
/// brokers for `offsets.topic.replication.factor`) is logged and retried at the next lookup.
final class OffsetsTopicCreator: Sendable {
    let dispatcher = LateBound<any RequestDispatcher>()
    private let inFlight = Mutex(false)
    private let config: BrokerConfig
    private let logger: Logger

    init(config: BrokerConfig, logger: Logger) { self.config = config; self.logger = logger }

    func requestCreation() {
        guard let target = dispatcher.value else { return }
        let start = inFlight.withLock { busy -> Bool in
            defer { busy = true }
            return !busy
        }
        guard start else { return }
        let configs = [("cleanup.policy", "compact"), ("segment.bytes", String(config.offsetsTopicSegmentBytes)),
                       ("compression.type", "producer")]
        let logger = self.logger
        let listener = config.listeners.first?.name ?? "PLAINTEXT"
        let (partitions, replicationFactor) = (config.offsetsTopicNumPartitions, config.offsetsTopicReplicationFactor)
        Task {
            defer { self.inFlight.withLock { $0 = false } }
            let result = await DispatchedTopicCreation.create(
                ConsumerOffsetsLogStore.topic, partitions: partitions,
                replicationFactor: replicationFactor, configs: configs,
                through: target, listener: listener, clientId: "offsets-topic-creation")
            switch result {
            case .success: logger.info("Created \(ConsumerOffsetsLogStore.topic) for the group coordinator")
            case .failure(let e): logger.warning("Could not create \(ConsumerOffsetsLogStore.topic): \(e)")
            }
        }
    }
}

/// A CreateTopics request (v4) sent through a broker's own dispatcher, so it reaches the active
/// controller as a client's would: forwarded in an Envelope from a broker that is not the
/// controller, or served locally on the one that is (Kafka's `AutoTopicCreationManager` sends
/// CreateTopics to the controller the same way). Used for `__consumer_offsets` and for topics
/// a Metadata request auto-creates.
enum DispatchedTopicCreation {
    /// Success includes TOPIC_ALREADY_EXISTS (someone else created it first).
    static func create(_ name: String, partitions: Int32, replicationFactor: Int16, configs: [(String, String)] = [],
                       through target: any RequestDispatcher, listener: String, clientId: String,
                       principal: String = ConnectionInfo.anonymous,
                       timeoutMs: Int32 = 30_000) async -> Result<Void, ControllerError> {
        var request = CreateTopicsRequest()
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = name
        topic.numPartitions = partitions
        topic.replicationFactor = replicationFactor
        topic.configs = configs.map { name, value in
            var c = CreateTopicsRequest.CreatableTopicConfig()
            c.name = name
            c.value = value
            return c
        }
        request.topics = [topic]
        request.timeoutMs = timeoutMs
        let version: Int16 = 4
        var encoded = ByteBuffer()
        do {
            try request.encode(into: &encoded, version: version, correlationId: 1, clientId: clientId)
        } catch {
            return .failure(ControllerError(ErrorCode.unknownServerError.rawValue, "could not encode CreateTopics: \(error)"))
        }
        let outcome = await target.dispatch(frame: encoded, connection: ConnectionInfo(
            connectionId: 0, clientHost: "127.0.0.1", clientPort: 0, listenerName: listener, principal: principal))
        guard case .respond(var bytes) = outcome else {
            return .failure(ControllerError(ErrorCode.notController.rawValue, "no answer from the controller"))
        }
        // size prefix, response header (v4 is not flexible: correlation id only), body
        bytes.moveReaderIndex(forwardBy: 8)
        guard let response = try? CreateTopicsResponse(from: &bytes, version: version), let result = response.topics.first else {
            return .failure(ControllerError(ErrorCode.unknownServerError.rawValue, "unreadable CreateTopics response"))
        }
        if result.errorCode == 0 || result.errorCode == ErrorCode.topicAlreadyExists.rawValue { return .success(()) }
        return .failure(ControllerError(result.errorCode, result.errorMessage ?? ErrorCode(rawValue: result.errorCode).name))
    }
}
