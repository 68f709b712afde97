import KafkaProtocol
import Logging
import Synchronization

/// Everything a handler may need, shared by all handlers of one broker: configuration,
/// metadata (image, controller), hosted partitions, producer ids, clock, logger.
///
/// Thread-safe: every member is.
public final class BrokerServices: Sendable {
    public let config: BrokerConfig
    public let nodeId: Int32
    public let metadata: MetadataStore
    public let controller: LocalController
    public let replicas: ReplicaManager
    public let producerIds: ProducerIdManager
    public let clock: any BrokerClock
    public let logger: Logger
    /// The broker's instruments; nil when `metrics.listener` is unset (nothing is counted).
    public let metrics: BrokerMetrics?

    public init(config: BrokerConfig, metadata: MetadataStore, controller: LocalController, replicas: ReplicaManager,
                clock: any BrokerClock, logger: Logger, metrics: BrokerMetrics? = nil) {
        self.metrics = metrics
        self.config = config
        self.nodeId = config.nodeId
        self.metadata = metadata
        self.controller = controller
        self.replicas = replicas
        self.producerIds = ProducerIdManager(controller: controller)
        self.clock = clock
        self.logger = logger
    }

    /// Multi-node KRaft: which controller id clients are told (``ClusterRuntime``); unset on the
    /// single node, which reports the image's (itself).
    let controllerIdForClients = LateBound<@Sendable (MetadataImage) -> Int32>()

    /// The controller id for Metadata and DescribeCluster responses.
    public func reportedControllerId(_ image: MetadataImage) -> Int32 {
        controllerIdForClients.value?(image) ?? image.controllerId
    }

    /// The live config of `topic`, for validation in Produce (max.message.bytes): its own
    /// override, else the broker default including dynamic broker configs.
    public func topicConfigValue(_ topic: TopicImage, _ key: String) -> String? {
        topic.configs[key] ?? (try? config.topicDefault(key, dynamic: dynamicBrokerConfigs).value)
    }

    /// The dynamic broker configs that apply to this broker now.
    public var dynamicBrokerConfigs: DynamicBrokerConfigs { metadata.image.dynamicBrokerConfigs(nodeId: nodeId) }

    /// Creates `name` with the broker defaults if auto-creation applies (Metadata).
    func autoCreateTopic(_ name: String) async throws -> Bool {
        do {
            _ = try await controller.createTopic(name: name, numPartitions: config.numPartitions,
                                           replicationFactor: config.defaultReplicationFactor)
            logger.info("Auto-created topic \(name) with \(config.numPartitions) partition(s)")
            return true
        } catch let error as ControllerError where error.code == ErrorCode.topicAlreadyExists.rawValue {
            return true
        }
    }
}

/// Hands out producer ids from blocks the controller commits, so ids are unique across
/// restarts without a metadata write per InitProducerId. Thread-safe.
public final class ProducerIdManager: Sendable {
    private let controller: LocalController
    private let block = Mutex<(next: Int64, end: Int64)>((0, -1))
    /// One block allocation at a time; ids within a block are handed out under `block` alone.
    private let refill = AsyncSerialLock()

    public init(controller: LocalController) { self.controller = controller }

    public func next() async throws -> Int64 {
        if let id = take() { return id }
        await refill.lock()
        do {
            // Another caller may have refilled while this one waited.
            if let id = take() { await refill.unlock(); return id }
            let range = try await controller.allocateProducerIdBlock()
            block.withLock { $0 = (range.lowerBound, range.upperBound) }
            await refill.unlock()
        } catch {
            await refill.unlock()
            throw error
        }
        return try await next()
    }

    private func take() -> Int64? {
        block.withLock { b -> Int64? in
            guard b.next <= b.end else { return nil }
            defer { b.next += 1 }
            return b.next
        }
    }
}
