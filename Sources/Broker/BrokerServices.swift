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
    /// Incremental fetch sessions (KIP-227), shared by every connection.
    public let fetchSessions: FetchSessionCache

    public init(config: BrokerConfig, metadata: MetadataStore, controller: LocalController, replicas: ReplicaManager,
                clock: any BrokerClock, logger: Logger, metrics: BrokerMetrics? = nil) {
        self.metrics = metrics
        self.fetchSessions = FetchSessionCache(maxSessions: config.maxIncrementalFetchSessions)
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

    /// Multi-node KRaft: the broker's own dispatcher, through which an auto-created topic's
    /// CreateTopics reaches the active controller (``DispatchedTopicCreation``); unset on the
    /// single node, whose local controller creates it.
    let topicCreationDispatcher = LateBound<any RequestDispatcher>()

    /// Creates `name` with the broker defaults if auto-creation applies (Metadata), on behalf
    /// of `principal` (the controller authorizes the forwarded CreateTopics as that client).
    func autoCreateTopic(_ name: String, principal: String = ConnectionInfo.anonymous) async throws -> Bool {
        if let target = topicCreationDispatcher.value {
            let listener = config.listeners.first?.name ?? "PLAINTEXT"
            switch await DispatchedTopicCreation.create(name, partitions: config.numPartitions,
                                                        replicationFactor: config.defaultReplicationFactor,
                                                        through: target, listener: listener, clientId: "auto-topic-creation",
                                                        principal: principal) {
            case .success:
                logger.info("Auto-created topic \(name) with \(config.numPartitions) partition(s)")
                return true
            case .failure(let e):
                logger.warning("Could not auto-create topic \(name): \(e)")
                throw e
            }
        }
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
/// restarts and brokers without a metadata write per InitProducerId. Thread-safe.
///
/// The single node takes its blocks from its own controller, when the current block is used
/// up. A node of a multi-node cluster gets them from the active controller with
/// AllocateProducerIds (67) through ``setBlockSource(prefetch:_:)`` and, as Kafka's
/// `RPCProducerIdManager`, asks for the next block once 90% of the current one is handed
/// out, so InitProducerId rarely waits for the controller.
public final class ProducerIdManager: Sendable {
    public typealias BlockSource = @Sendable () async throws -> ClosedRange<Int64>

    private struct Blocks {
        var next: Int64 = 0
        var end: Int64 = -1
        /// Handing out this id starts the prefetch of the next block.
        var prefetchAt: Int64 = .max
        var pending: Task<ClosedRange<Int64>, any Error>?
    }
    private let state = Mutex(Blocks())
    private let source: Mutex<(fetch: BlockSource, prefetch: Bool)>
    /// One block installation at a time; ids within a block are handed out under `state` alone.
    private let refill = AsyncSerialLock()

    public init(controller: LocalController) {
        source = Mutex(({ try await controller.allocateProducerIdBlock() }, false))
    }

    public init(prefetch: Bool, source: @escaping BlockSource) {
        self.source = Mutex((source, prefetch))
    }

    /// Replaces where blocks come from (a multi-node broker: AllocateProducerIds to the
    /// active controller). Set before the first InitProducerId is served.
    public func setBlockSource(prefetch: Bool, _ fetch: @escaping BlockSource) {
        source.withLock { $0 = (fetch, prefetch) }
    }

    public func next() async throws -> Int64 {
        if let id = take() { return id }
        await refill.lock()
        do {
            // Another caller may have refilled while this one waited.
            if let id = take() { await refill.unlock(); return id }
            let pending = state.withLock { s -> Task<ClosedRange<Int64>, any Error>? in
                defer { s.pending = nil }
                return s.pending
            }
            var range: ClosedRange<Int64>?
            // A prefetch that failed is retried here, synchronously.
            if let pending { range = try? await pending.value }
            if range == nil { range = try await source.withLock { $0.fetch }() }
            install(range!)
            await refill.unlock()
        } catch {
            await refill.unlock()
            throw error
        }
        return try await next()
    }

    private func install(_ range: ClosedRange<Int64>) {
        let prefetch = source.withLock { $0.prefetch }
        state.withLock { s in
            s.next = range.lowerBound
            s.end = range.upperBound
            let length = range.upperBound - range.lowerBound + 1
            s.prefetchAt = prefetch ? range.lowerBound + length * 9 / 10 : .max
        }
    }

    private func take() -> Int64? {
        let fetch = source.withLock { $0.fetch }
        return state.withLock { b -> Int64? in
            guard b.next <= b.end else { return nil }
            defer { b.next += 1 }
            if b.next >= b.prefetchAt, b.pending == nil {
                b.prefetchAt = .max
                b.pending = Task { try await fetch() }
            }
            return b.next
        }
    }
}
