import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import NIOPosix
import Quorum
import Synchronization

/// One Samsa broker process: configuration, log directories, metadata, the replica manager,
/// the handler registry and one ``KafkaServer`` per listener, wired together.
///
/// Start-up order matters for crash safety: meta.properties is checked first (a disk from
/// another cluster or node is refused), then the metadata image is rebuilt from the metadata log
/// (`__cluster_metadata-0`: latest snapshot + committed records after it), then the logs are
/// opened (LogStorage recovers anything past its recovery point), then partitions are hosted
/// (producer state rebuilt from the logs), and only then do listeners accept connections.
/// ``shutdown()`` reverses it: stop accepting, close connections, flush every log, write the
/// checkpoints and the clean-shutdown marker.
///
/// Thread-safe.
public final class KafkaBroker: Sendable {
    public let config: BrokerConfig
    public let services: BrokerServices
    public let registry: HandlerRegistry
    private let logManager: LogManager
    public let coordinator: GroupCoordinator
    private let servers: [KafkaServer]
    /// `metrics.listener`'s endpoint and the instruments behind it (nil when off).
    public let metrics: BrokerMetrics?
    private let metricsServer: MetricsHTTPServer?
    /// Measures the network threads' idle time for the metrics endpoint (made at start-up).
    private let networkIdle = NetworkIdleSource()
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let boundAddresses = Mutex<[SocketAddress]>([])
    private let shutdownTask = Mutex<Task<Void, Never>?>(nil)
    /// Serves the controller listeners (multi-node), from ``bind()`` until the cluster runtime
    /// shuts down (after the client listeners: a leader resigns over them).
    private let controllerListenersTask = Mutex<Task<Void, Never>?>(nil)
    /// The SSL listeners' contexts, reloaded when their files change (``watchTLSFiles``).
    private let tlsContexts: [String: ListenerTLSContext]
    /// The follower fetchers' client TLS (nil unless the inter-broker listener is SSL or
    /// SASL_SSL), watched with ``tlsContexts``.
    private let fetcherTLS: ClientTLSContext?
    private let tlsWatch = Mutex<Task<Void, Never>?>(nil)
    /// The metadata log (a single voter of `__cluster_metadata-0`) and the task that applies
    /// its commits to the metadata store.
    public let quorum: QuorumHost
    public let metadataFollower: MetadataLogFollower
    /// The multi-node KRaft pieces (network quorum, controller duties, broker lifecycle,
    /// forwarding); nil for the single node, which is its own controller.
    public let cluster: ClusterRuntime?
    /// The follower fetchers (issue 12): started once the metadata is the cluster's.
    public let replicaFetchers: ReplicaFetcherManager
    private let followerTask: Task<Void, Never>
    /// Whether ``run()`` started and whether it returned: the event loops may only be shut
    /// down after every connection task has finished with its channel.
    private let runState = Mutex<(started: Bool, finished: Bool)>((false, false))
    /// Held from before anything touches the log directories until shutdown has closed them.
    private let directoryLock: LogDirectoryLock
    /// Set when the broker stops because no log directory is left online (a full or failing
    /// disk): the process then exits non-zero and leaves no clean-shutdown marker.
    private let storageFailure = Mutex<String?>(nil)

    /// Builds the broker and opens its storage; call ``bind()`` then ``run()``.
    ///
    /// - Parameter logFileSystem: where partition logs live (tests inject a
    ///   `SimulatedFileSystem` to fail opens or fill the disk); the small files
    ///   (`meta.properties`, `.lock`) always use the real disk.
    /// - Parameter metadataFileSystem: where the metadata log and its snapshots live
    ///   (`metadata.log.dir`, else the first log dir, `/__cluster_metadata-0`).
    public init(config: BrokerConfig, logger: Logger, clock: any BrokerClock = SystemBrokerClock(),
                logFileSystem: any FileSystem = POSIXFileSystem(),
                metadataFileSystem: any FileSystem = POSIXFileSystem()) async throws {
        self.config = config
        self.logger = logger
        // Descriptors: raise the soft limit to the hard one (what most servers do; the default
        // soft limit of 1,024 is far below what sockets plus segment files may need) and say
        // what we got, since everything below is sized from it.
        let limits = FileDescriptorLimit.raiseSoftToHard()
        let segmentFiles = config.logMaxOpenSegmentFiles ?? FileDescriptorLimit.defaultSegmentFileCacheSize(softLimit: limits.after.soft)
        logger.info("Open-file limit: soft \(Self.describeLimit(limits.before.soft)) -> \(Self.describeLimit(limits.after.soft)), hard \(Self.describeLimit(limits.after.hard)); keeping at most \(segmentFiles) segment files open")
        if limits.after.soft < 4096 {
            logger.warning("The open-file limit \(limits.after.soft) is low: each client connection takes a descriptor, and segment files beyond \(segmentFiles) are reopened on use. Raise it (ulimit -n) for many connections.")
        }
        directoryLock = try LogDirectoryLock(directories: config.logDirs)
        try Self.checkKRaftStartup(config: config)   // KafkaBroker+KRaft.swift: formatted storage, supported roles
        // The follower fetchers' client TLS to an SSL / SASL_SSL inter-broker listener, watched
        // with the listeners so renewed certificates reach new fetch connections (Server/ClientTLS.swift).
        let fetcherTLS = try ClientTLSContext.make(properties: config.replicaFetch.clientSecurity,
                                                   what: "the replica fetchers (inter-broker listener \(config.interBrokerListenerName))")
        self.fetcherTLS = fetcherTLS
        var rng = SystemRandomNumberGenerator()
        let clusterId = try MetaProperties.ensure(logDirs: config.logDirs, nodeId: config.nodeId,
                                                  configuredClusterId: config.clusterId,
                                                  random: { KafkaUUID.random(using: &rng) })
        // The metadata log: Kafka's rule, metadata.log.dir else the first log dir. A single
        // node is the only voter of its quorum, so it leads at once and commits on its own
        // flush (the embedded default; a multi-node quorum is configured through KRaftSettings).
        let metadataRoot = config.metadataLogDir
        let metadataDir = metadataRoot + "/" + LogManager.metadataLogDirectoryName
        let jsonImage = config.logDirs[0] + "/" + MetadataStore.fileName
        let imageExisted = fileExists(jsonImage) || metadataFileSystem.isDirectory(metadataDir)
        let properties = config.explicitValues
        let snapshotPolicy = MetadataSnapshotPolicy(
            maxBytesBetweenSnapshots: properties["metadata.log.max.record.bytes.between.snapshots"].flatMap { Int64($0) } ?? 20 * 1024 * 1024,
            maxIntervalMs: properties["metadata.log.max.snapshot.interval.ms"].flatMap { Int64($0) } ?? 3_600_000)
        try metadataFileSystem.createDirectory(metadataDir)
        var quorumConfig = config.kraft.quorumConfig(clusterId: clusterId)
        // Kafka's stock single node names itself only in controller.quorum.bootstrap.servers
        // (formatted --standalone): it is then the only voter.
        if quorumConfig.voters.isEmpty { quorumConfig.voters = [config.nodeId] }
        let cluster: ClusterRuntime? = Self.isMultiNode(config)
            ? try ClusterRuntime(config: config, clusterId: clusterId, metadataDirectory: metadataDir,
                                 fileSystem: metadataFileSystem, logger: logger)
            : nil
        self.cluster = cluster
        let quorum = try cluster?.host ?? QuorumHost(nodeId: config.nodeId, config: quorumConfig,
                                                     directory: metadataDir, fileSystem: metadataFileSystem, clock: SystemLogClock(),
                                                     transport: nil, logger: logger)
        let follower: MetadataLogFollower
        do {
            follower = try await MetadataLogFollower.open(log: quorum, directory: metadataDir, fileSystem: metadataFileSystem,
                                                          clusterId: clusterId, nodeId: config.nodeId, policy: snapshotPolicy,
                                                          clock: { clock.nowMs() }, logger: logger)
        } catch {
            if let cluster { await cluster.shutdown() } else { await quorum.shutdown() }
            throw error
        }
        if cluster == nil { await quorum.start() }
        let followerTask = Task { await follower.run() }
        self.quorum = quorum
        self.metadataFollower = follower
        self.followerTask = followerTask
        let store = follower.store
        let controller = LocalController(store: store, random: { UInt64.random(in: .min ... .max) },
                                         maxBrokerPartitions: config.maxBrokerPartitions)
        if cluster == nil { do {
            // An image persisted as JSON by an earlier release becomes the log's first records.
            try await follower.migrateJSONImage(at: jsonImage, clusterId: clusterId)
            // A new cluster: the bootstrap records (metadata.version) of `samsa storage format`,
            // or the same defaults for the embedded single node, which is never formatted.
            try await follower.bootstrapIfEmpty(bootstrapFile: metadataRoot + "/" + KRaftStorage.bootstrapFileName,
                                                defaults: KRaftStorage.bootstrapRecords)
        } catch {
            follower.stop()
            await quorum.shutdown()
            throw error
        }
        let registration = BrokerRegistration(
            id: config.nodeId,
            endpoints: config.advertisedListeners.map {
                BrokerEndpoint(listener: $0.name, host: $0.host.isEmpty ? Self.defaultAdvertisedHost() : $0.host,
                               port: Int32($0.port), securityProtocol: config.listenerSecurityProtocols[$0.name]?.id ?? 0)
            },
            rack: config.rack, fenced: false)
        try await controller.registerBroker(registration)
        }  // multi-node: the active controller bootstraps the log; brokers register over the network

        var managerConfig = LogManagerConfig(logDirs: config.logDirs, defaultLogConfig: LogConfig())
        managerConfig.flushCheckIntervalMs = min(config.logFlushSchedulerIntervalMs, 1000)
        managerConfig.retentionCheckIntervalMs = config.logRetentionCheckIntervalMs
        managerConfig.recoveryPointCheckpointIntervalMs = config.logFlushOffsetCheckpointIntervalMs
        managerConfig.maxOpenSegmentFiles = segmentFiles
        managerConfig.producerIdExpirationMs = config.producerIdExpirationMs
        managerConfig.cleanerEnabled = config.logCleanerEnable
        managerConfig.cleanerBackoffMs = max(100, config.logCleanerBackoffMs)   // 0 would be a busy loop
        let image = store.image
        let brokerConfig = config
        let topicConfig: @Sendable (String) -> LogConfig? = { name in
            guard let topic = image.topics[name] else { return nil }
            return try? LogConfig(topicConfigs: brokerConfig.effectiveTopicConfig(
                topic.configs, dynamic: image.dynamicBrokerConfigs(nodeId: brokerConfig.nodeId)))
        }
        // Recovery cuts at a batch claiming a leader epoch newer than the metadata's (the
        // epoch field is outside the CRC); the metadata is durable before such a batch exists.
        let leaderEpochBound: @Sendable (LogStorage.TopicPartition) -> Int32? = { tp in
            image.topics[tp.topic].flatMap { t in
                tp.partition >= 0 && Int(tp.partition) < t.partitions.count ? t.partitions[Int(tp.partition)].leaderEpoch : nil
            }
        }
        logManager = try LogManager(config: managerConfig, fileSystem: logFileSystem, logger: logger,
                                    topicConfig: topicConfig, leaderEpochBound: leaderEpochBound)

        let replicas = ReplicaManager(nodeId: config.nodeId, logs: logManager, config: config, logger: logger)
        let notHosted = replicas.apply(old: nil, new: image)
        if !notHosted.isEmpty {
            // A log that fails to load (EMFILE, EIO, ...) is a storage failure: stop with its
            // name and reason. Deleting it as "stray" (it is not hosted) would lose its data.
            for (tp, reason) in notHosted.prefix(20) { logger.critical("Could not load log \(tp): \(reason)") }
            try? logManager.shutdown(writeCleanShutdownMarker: false)
            await Self.stopMetadata(follower, followerTask, quorum)
            throw BrokerStartupError.logsNotLoaded(count: notHosted.count, first: "\(notHosted[0].0)", reason: notHosted[0].1)
        }
        store.addListener { old, new in replicas.apply(old: old, new: new) }
        // After the partitions' leadership is updated (listeners run in order).
        let fetchers = ReplicaFetcherManager(nodeId: config.nodeId, replicas: replicas, settings: config.replicaFetch,
                                             listenerName: config.interBrokerListenerName, tls: fetcherTLS, clock: clock, logger: logger)
        replicaFetchers = fetchers
        store.addListener { _, new in fetchers.apply(new) }
        // Partition logs without any metadata image mean the image was lost, not that every
        // topic was deleted: refuse to start rather than treat all the data as stray.
        if !imageExisted, let tp = logManager.topicPartitions.first {
            try? logManager.shutdown()
            await Self.stopMetadata(follower, followerTask, quorum)
            throw MetadataStoreError.corrupt(
                path: metadataDir,
                reason: "missing (and no \(MetadataStore.fileName)), but partition logs exist (e.g. \(tp)); restore it or move the logs away")
        }
        // Logs on disk for partitions the image no longer assigns here (a topic deleted while
        // the broker was down mid-deletion) are removed, as Kafka's log manager does.
        // Stray means the metadata does not assign the partition here, nothing else. A node of
        // a multi-node cluster does not know the metadata yet at this point (its log is only
        // committed up to what the quorum leader tells it): it removes stray logs only once the
        // controller says it caught up (see bind()), or it would delete every partition it hosts.
        if cluster == nil {
            Self.removeStrayLogs(logManager: logManager, replicas: replicas, image: image, logger: logger)
        }
        logManager.startBackgroundTasks()
        let metrics = config.metricsListener == nil ? nil : BrokerMetrics()
        self.metrics = metrics
        services = BrokerServices(config: config, metadata: store, controller: controller, replicas: replicas,
                                  clock: clock, logger: logger, metrics: metrics)
        if let cluster {
            let nodeId = config.nodeId
            services.controllerIdForClients.set { image in cluster.controllerIdForClients(image: image, localId: nodeId) }
            if let channel = cluster.channel {
                // ISR management (issue 12): expansions and shrinks go to the active controller.
                let epoch: @Sendable () -> Int64 = { store.image.brokers[nodeId]?.epoch ?? -1 }
                let sender = AlterPartitionManager(channel: channel, brokerId: nodeId, brokerEpoch: epoch, logger: logger)
                replicas.enableReplication(replicaLagTimeMaxMs: AlterPartitionManager.replicaLagTimeMaxMs(config), clock: clock,
                                           sender: sender, localBrokerEpoch: epoch)
                replicas.startIsrExpiration()
            }
            // Producer ids come from the active controller in blocks (AllocateProducerIds).
            services.producerIds.setBlockSource(prefetch: true) {
                try await cluster.allocateProducerIds(brokerId: nodeId, brokerEpoch: { store.image.brokers[nodeId]?.epoch ?? -1 })
            }
        }
        var registry = HandlerRegistry(logger: logger)
        KafkaBrokerHandlers.register(into: &registry, services: services)
        // Multi-node: a group's coordinator is the leader of its __consumer_offsets partition.
        let offsetsTopicCreator = OffsetsTopicCreator(config: config, logger: logger)
        coordinator = try await Self.makeGroupCoordinator(
            services: services, logger: logger,
            coordinatorFor: cluster == nil ? nil : OffsetsTopicCoordination.lookup(metadata: store, creator: offsetsTopicCreator))
        let authorizingServices = services
        registerGroupHandlers(into: &registry, coordinator: coordinator,
                              authorize: { authorizingServices.authorize($0, $1, $2, $3) })
        // Committed offsets of a deleted topic are dropped (Kafka's onPartitionsDeleted), so a
        // topic re-created under the same name does not inherit them.
        let groupCoordinator = coordinator
        store.addListener { old, new in
            let deleted = old.topics.values.filter { new.topics[$0.name]?.id != $0.id }.map(\.name)
            if !deleted.isEmpty { Task { await groupCoordinator.topicsDeleted(deleted) } }
            if !deleted.isEmpty { metrics?.removeTopics(deleted) }
            // Load the groups of offsets partitions this broker now leads, unload the others
            // (after the replica manager's listener applied the same change to the partitions).
            groupCoordinator.offsetsLeadershipChanged(
                OffsetsTopicCoordination.leadershipChanges(old: old, new: new, nodeId: config.nodeId))
        }
        cluster?.quorum.registerBrokerListenerHandlers(into: &registry)
        registry.registerApiVersions()
        self.registry = registry
        cluster?.attach(controller: controller, registry: registry, authorize: { authorizingServices.authorize($0, $1, $2, $3) })
        let dispatcher = cluster?.brokerDispatcher(local: registry) ?? registry
        offsetsTopicCreator.dispatcher.set(dispatcher)
        if cluster != nil { services.topicCreationDispatcher.set(dispatcher) }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.numNetworkThreads)
        self.group = group
        // One budget for every listener: the limits are the broker's, as Kafka's.
        let requestBudget = RequestQueueBudget(maxRequests: config.queuedMaxRequests, maxBytes: config.queuedMaxRequestBytes)
        let tlsContexts = try Self.makeTLSContexts(config)   // Server/ListenerTLS.swift
        self.tlsContexts = tlsContexts
        servers = config.listeners.map { listener in
            // SASL listeners authenticate each connection before the handler table sees it
            // (Security/SaslDispatcher.swift); SCRAM credentials are the metadata image's.
            let listenerDispatcher: any RequestDispatcher = config.saslSettings[listener.name].map { sasl in
                SaslDispatcher(inner: dispatcher, settings: sasl,
                               credentials: { mechanism, user in store.image.scramCredential(mechanism, user: user) },
                               logger: logger)
            } ?? dispatcher
            return KafkaServer(configuration: KafkaServer.Configuration(host: listener.host, port: listener.port, listenerName: listener.name,
                                             maxFrameBytes: config.socketRequestMaxBytes,
                                             idleTimeoutMs: config.connectionsMaxIdleMs,
                                             sendBufferBytes: config.socketSendBufferBytes,
                                             receiveBufferBytes: config.socketReceiveBufferBytes,
                                             maxQueuedRequests: 16,
                                             sendsFiles: config.fetchZeroCopy)
                                .withTLS(tlsContexts[listener.name], principalMapper: config.sslPrincipalMappers[listener.name]),
                        dispatcher: listenerDispatcher, group: group, logger: logger, requestBudget: requestBudget, metrics: metrics)
        }
        // The single-node LocalController is this process's, so it is always active; on a
        // multi-node cluster only the quorum leader among the controllers is.
        let runtime = cluster
        metricsServer = Self.makeMetricsServer(config: config, metrics: metrics, services: services, servers: servers,
                                               coordinator: coordinator, group: group, logger: logger,
                                               isActiveController: { runtime?.isActiveController ?? true },
                                               raft: {
                                                   guard let l = runtime?.quorum.host.leadership else { return nil }
                                                   return (l.leaderId ?? -1, l.epoch, l.highWatermark)
                                               },
                                               raftCommitLatency: { runtime?.quorum.host.commitLatency() },
                                               networkIdle: { [networkIdle] in networkIdle.sample() })
        logger.info("Broker \(config.nodeId) of cluster \(clusterId): \(replicas.allPartitions.count) partition(s) loaded")
        let manager = logManager
        let dirCount = config.logDirs.count
        manager.setLogDirFailureHandler { [weak self] dir, error in
            // Kafka's rule: a broker with no log directory left stops (it can serve nothing
            // durable); with others left it keeps serving their partitions.
            guard manager.offlineLogDirs.count >= dirCount, let self else { return }
            let reason = "every log directory has failed (last: \(dir): \(error))"
            self.storageFailure.withLock { $0 = $0 ?? reason }
            self.logger.critical("Stopping the broker: \(reason)")
            Task { await self.shutdown() }
        }
        // A metadata log that stopped (a disk error under __cluster_metadata-0) cannot commit
        // any admin change again: stop, as Kafka's process exits when its raft thread dies.
        quorum.addFailureListener { [weak self] failure in
            guard let self else { return }
            let reason = "the metadata log failed: \(failure)"
            self.storageFailure.withLock { $0 = $0 ?? reason }
            self.logger.critical("Stopping the broker: \(reason)")
            Task { await self.shutdown() }
        }
    }

    /// Why the broker stops (or stopped) after a storage failure, nil if none happened: the
    /// command exits non-zero then. Set when the last log dir failed, or when any log dir is
    /// offline (the others kept serving until SIGTERM).
    public var storageFailureReason: String? {
        if let reason = storageFailure.withLock({ $0 }) { return reason }
        let offline = logManager.offlineLogDirs
        return offline.isEmpty ? nil : "log director\(offline.count == 1 ? "y" : "ies") \(offline.joined(separator: ", ")) failed"
    }

    /// Stops applying metadata commits, then shuts the quorum host down.
    private static func stopMetadata(_ follower: MetadataLogFollower, _ task: Task<Void, Never>, _ quorum: QuorumHost) async {
        follower.stop()
        await task.value
        await quorum.shutdown()
    }

    /// Deletes the logs on disk that `image` does not assign to this broker.
    static func removeStrayLogs(logManager: LogManager, replicas: ReplicaManager, image: MetadataImage, logger: Logger) {
        for tp in logManager.topicPartitions where !replicas.isAssigned(topic: tp.topic, partition: tp.partition, in: image) {
            logger.info("Removing stray log \(tp): the metadata does not assign it to this broker")
            _ = try? logManager.deleteLog(topic: tp.topic, partition: tp.partition)
        }
    }

    /// A KRaft node that is not the whole quorum by itself: it needs the network quorum.
    static func isMultiNode(_ config: BrokerConfig) -> Bool {
        guard config.isKRaftMode else { return false }
        let k = config.kraft
        let soleVoter = k.voters.map(\.id) == [k.nodeId] || (k.voters.isEmpty && k.bootstrapServers.count == 1)
        return !(soleVoter && k.roles == [.broker, .controller])
    }

    private static func describeLimit(_ n: Int) -> String { n == Int.max ? "unlimited" : String(n) }

    /// The classic group coordinator over `__consumer_offsets` (created here on first start),
    /// with this broker as coordinator of every group.
    static func makeGroupCoordinator(
        services: BrokerServices, logger: Logger,
        coordinatorFor: (@Sendable (Int32, String) -> CoordinatorLookup)? = nil
    ) async throws -> GroupCoordinator {
        let config = services.config
        let store = try await ConsumerOffsetsLogStore(services: services, createIfMissing: coordinatorFor == nil)
        let groupConfig = GroupCoordinatorConfig(
            groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
            groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
            groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
            groupMaxSize: config.groupMaxSize,
            offsetMetadataMaxBytes: config.offsetMetadataMaxBytes,
            offsetsRetentionMs: Int64(config.offsetsRetentionMinutes) * 60_000,
            offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs)
        let metadata = services.metadata
        let nodeId = services.nodeId
        return GroupCoordinator(
            config: groupConfig, store: store, logger: logger,
            localNode: { listener in
                guard let me = metadata.image.brokers[nodeId],
                      let endpoint = me.endpoints.first(where: { $0.listener == listener }) ?? me.endpoints.first else { return nil }
                return CoordinatorNode(nodeId: nodeId, host: endpoint.host, port: endpoint.port)
            },
            partitionExists: { topic, partition in metadata.image.partition(topic, partition) != nil },
            coordinatorFor: coordinatorFor)
    }

    /// Loads the groups, then binds every listener; returns the bound addresses (port 0 picks
    /// free ports).
    @discardableResult
    public func bind() async throws -> [SocketAddress] {
        try await coordinator.start()
        // Offsets partitions led here that start() could not load yet (a multi-node node
        // catches up with the metadata later) load as soon as the image says so.
        coordinator.offsetsLeadershipChanged(
            OffsetsTopicCoordination.leadershipChanges(old: nil, new: services.metadata.image, nodeId: config.nodeId))
        // The metrics port first: a clash stops start-up before any client connects.
        if let metricsServer {
            let meter = await NetworkThreadIdleMeter.make(group: group)
            networkIdle.set(meter)
            let address = try await metricsServer.bind()
            logger.info("Metrics at http://\(address.ipAddress ?? "?"):\(address.port ?? 0)/metrics")
        }
        let caughtUp = Mutex(false)
        if let cluster {
            try await cluster.bind()
            let logger = self.logger
            controllerListenersTask.withLock { $0 = Task {
                do { try await cluster.run() } catch { logger.error("Controller listener failed: \(error)") }
            } }
            await cluster.start(store: services.metadata, follower: metadataFollower, config: config,
                                bootstrapFile: config.metadataLogDir + "/" + KRaftStorage.bootstrapFileName,
                                onLifecycle: { [weak self] event in
                                    guard let self else { return }
                                    switch event {
                                    case .caughtUp:
                                        caughtUp.withLock { $0 = true }
                                        // The image is now the cluster's: what it does not assign
                                        // here is stray (a topic deleted while this node was down).
                                        Self.removeStrayLogs(logManager: self.logManager, replicas: self.services.replicas,
                                                             image: self.services.metadata.image, logger: self.logger)
                                        // Only now: a stale image could name a stale leader to truncate to.
                                        self.replicaFetchers.enable(self.services.metadata.image)
                                    case .failedStartup(let reason):
                                        self.storageFailure.withLock { $0 = $0 ?? reason }
                                        Task { await self.shutdown() }
                                    case .unfenced, .shutdownNow:
                                        break
                                    }
                                })
        }
        // Kafka's BrokerServer enables request processing only once the broker has caught up
        // with the metadata log: before that its image is stale (a client told "no such topic"
        // by a restarted broker stops producing to it: librdkafka's idempotent producer never
        // resumed). So a multi-node broker opens its client ports after the controller says it
        // caught up, bounded so a node cut off from the quorum still listens (and says why).
        if cluster != nil, config.kraft.roles.contains(.broker), !servers.isEmpty {
            let limitMs = 60_000
            var waitedMs = 0
            while !caughtUp.withLock({ $0 }) && storageFailure.withLock({ $0 }) == nil && waitedMs < limitMs {
                try? await Task.sleep(for: .milliseconds(20))
                waitedMs += 20
            }
            if storageFailure.withLock({ $0 }) != nil {
                // Reported below.
            } else if waitedMs >= limitMs {
                logger.warning("Not caught up with the metadata log after \(limitMs / 1000) s (no controller quorum?): opening the client listeners anyway")
            } else if waitedMs > 0 {
                logger.info("Caught up with the metadata log after \(waitedMs) ms: opening the client listeners")
            }
        }
        // Start-up failed meanwhile (no controller quorum within
        // initial.broker.registration.timeout.ms): the shutdown it started is closing the event
        // loops, and binding on them now crashed the process instead of exiting 1.
        if let reason = storageFailure.withLock({ $0 }) ?? (shutdownTask.withLock({ $0 }) != nil ? "shutting down" : nil) {
            throw StartupAborted(reason: reason)
        }
        var out: [SocketAddress] = []
        for s in servers { out.append(try await s.bind()) }
        boundAddresses.withLock { $0 = out }
        for a in out { logger.info("Listening on \(a)") }
        // The SSL controller listeners' certificates are renewed the same way (new connections),
        // and so are the client certificates and trust stores of the connections this node
        // opens (Raft transport and controller channel, follower fetchers).
        let watched = tlsContexts.merging(cluster?.quorum.tlsContexts ?? [:]) { a, _ in a }
        let clients = [cluster?.quorum.clientTLS, fetcherTLS].compactMap { $0 }
        tlsWatch.withLock { $0 = Self.watchTLSFiles(watched, clients: clients, logger: logger) }
        return out
    }

    public var addresses: [SocketAddress] { boundAddresses.withLock { $0 } }

    /// Where `metrics.listener` is bound, once ``bind()`` returned (nil when off).
    public var metricsAddress: SocketAddress? { metricsServer?.localAddress }

    /// Serves until ``shutdown()``.
    public func run() async throws {
        runState.withLock { $0.started = true }
        do {
            defer { runState.withLock { $0.finished = true } }
            try await withThrowingDiscardingTaskGroup { group in
                for s in servers { group.addTask { try await s.run() } }
            }
        }
        // A controller (a controller-only node has no client listener at all) serves until its
        // controller listeners stop, at the end of shutdown. Not bounded while serving: a bound
        // here (15 s, from the start) made every controller-only node cancel its listeners and
        // shut down 15 s after start (the quorum soak saw controllers leave one by one); the
        // shutdown bounds and cancels them instead, and its end also ends this wait, so a
        // listener that ignores cancellation cannot keep a stopped node alive.
        await awaitControllerListeners()
    }

    /// Returns when the controller listeners' task ends or when the shutdown has finished,
    /// whichever comes first.
    private func awaitControllerListeners() async {
        guard let task = controllerListenersTask.withLock({ $0 }) else { return }
        let once = ResumeOnce()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Task {
                await task.value
                if once.claim() { c.resume() }
            }
            Task { [self] in
                while shutdownTask.withLock({ $0 }) == nil, !once.isClaimed { try? await Task.sleep(for: .milliseconds(100)) }
                await shutdownTask.withLock({ $0 })?.value
                if once.claim() { c.resume() }
            }
        }
    }

    /// Graceful stop: close listeners and connections, flush logs, write checkpoints and the
    /// clean-shutdown marker. Idempotent: every caller waits for the one shutdown to finish.
    public func shutdown() async {
        let task = shutdownTask.withLock { t -> Task<Void, Never> in
            if let t { return t }
            let new = Task { await self.performShutdown() }
            t = new
            return new
        }
        await task.value
    }

    /// Order matters: connections first (no new requests), then everything a connection task
    /// may be parked on (long-poll fetches, JoinGroup/SyncGroup), then wait for those tasks to
    /// finish with their channels, and only then close the logs and the event loops. Shutting
    /// the event loops down while a connection task still owned a channel left the process
    /// hanging after SIGTERM with clients connected.
    private func performShutdown() async {
        logger.info("Shutting down")
        metrics?.beginShutdown()   // scrapes answer 503 from here on
        // A broker of a cluster hands its leaderships over first, while it can still serve.
        await cluster?.controlledShutdown(timeoutMs: 30_000)
        tlsWatch.withLock { $0?.cancel() }
        for s in servers { await s.shutdown() }
        await replicaFetchers.shutdown()
        services.replicas.beginShutdown()
        await coordinator.shutdown()
        var waitedMs = 0
        while waitedMs < 10_000 {
            let state = runState.withLock { $0 }
            if !state.started || state.finished { break }
            try? await Task.sleep(for: .milliseconds(10))
            waitedMs += 10
        }
        if waitedMs >= 10_000 { logger.warning("Connections still busy after 10 s; closing the logs anyway") }
        // The metadata log after every request is answered and before the logs close: a
        // single voter resigns and closes its log.
        if let cluster {
            metadataFollower.stop()
            await followerTask.value
            let listeners = controllerListenersTask.withLock({ $0 })
            await cluster.shutdown(drain: { [logger] in
                await Self.awaitBounded(listeners, seconds: 5, what: "the controller listeners", logger: logger)
            })
        } else {
            await Self.stopMetadata(metadataFollower, followerTask, quorum)
        }
        let failed = storageFailureReason
        var clean = failed == nil
        if clean { services.replicas.flushAll() }
        do {
            try logManager.shutdown(writeCleanShutdownMarker: clean)
        } catch {
            logger.error("Log manager shutdown failed: \(error)")
            clean = false
        }
        await metricsServer?.close()
        try? await group.shutdownGracefully()
        directoryLock.release()
        if let failed {
            logger.critical("Stopped after a failure (\(failed)); no clean-shutdown marker was written, so the next start re-validates the logs. Exit code 1.")
        } else if clean {
            logger.info("Shut down cleanly")
        } else {
            logger.error("Shut down, but the logs could not all be closed cleanly: the next start re-validates them")
        }
    }

    /// Waits for `task` at most `seconds`, then cancels it and goes on. A controller listener
    /// whose connection task waits on an answer the stopped quorum will never give kept a
    /// SIGTERMed node alive until it was killed (CI: a rolling restart's node did not exit in
    /// 60 s after "Quorum: node 1 shut down"); shutdown must end whatever a connection waits for.
    static func awaitBounded(_ task: Task<Void, Never>?, seconds: Int, what: String, logger: Logger) async {
        guard let task else { return }
        let once = ResumeOnce()
        let finished: Bool = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            Task {
                await task.value
                if once.claim() { c.resume(returning: true) }
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if once.claim() { c.resume(returning: false) }
            }
        }
        if !finished {
            logger.warning("Shutdown: \(what) did not stop within \(seconds) s; cancelling them and going on")
            task.cancel()
        }
    }

    /// Kafka advertises the canonical host name when a listener has no host; we use the
    /// machine's host name.
    static func defaultAdvertisedHost() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// Why the broker refused to start after opening its storage.
public enum BrokerStartupError: Error, CustomStringConvertible {
    case logsNotLoaded(count: Int, first: String, reason: String)

    public var description: String {
        switch self {
        case let .logsNotLoaded(count, first, reason):
            return "\(count) partition log(s) could not be loaded (first: \(first): \(reason)); "
                + "nothing was deleted. Fix the cause (e.g. raise `ulimit -n`, check the disk) and restart."
        }
    }
}

extension LogManager: PartitionLogProvider {
    public func openLog(topic: String, partition: Int32, config: LogConfig) throws -> PartitionLog {
        try getOrCreateLog(topic: topic, partition: partition, config: config)
    }

    public func removeLog(topic: String, partition: Int32) throws {
        _ = try deleteLog(topic: topic, partition: partition)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``KafkaBroker/bind()`` found start-up already failed (or a shutdown begun) before the client
/// listeners opened.
public struct StartupAborted: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "start-up aborted: \(reason)" }
}

/// Lets exactly one of several racing tasks resume a continuation.
private final class ResumeOnce: Sendable {
    private let done = Mutex(false)
    /// True for the first caller only.
    func claim() -> Bool { done.withLock { d in defer { d = true }; return !d } }
    var isClaimed: Bool { done.withLock { $0 } }
}
