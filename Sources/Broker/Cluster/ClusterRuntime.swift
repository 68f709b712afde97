import FoundationEssentials
import KafkaClient
import KafkaProtocol
import Logging
import LogStorage
import NIOCore
import NIOPosix
import Quorum
import Synchronization

/// A value set once, after the object that needs it was built (the controller listener's
/// handlers exist before the controller and the handler table they lead to).
final class LateBound<T: Sendable>: Sendable {
    private let slot = Mutex<T?>(nil)
    func set(_ value: T) { slot.withLock { $0 = value } }
    var value: T? { slot.withLock { $0 } }
}

/// The controller's metadata log before the broker has built its ``LocalController``: requests
/// arriving that early are NOT_CONTROLLER (the broker retries).
struct LateControllerLog: ControllerMetadataLog {
    let controller: LateBound<LocalController>
    func appendComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R {
        guard let c = controller.value else { throw ControllerError(41, "The controller is still starting") }
        return try await c.commitComputedAsync(body)
    }
}

/// The broker's handler table, for forwarded requests (Envelope) that arrive on the controller
/// listener before it is built: they are refused and the forwarding broker retries.
struct LateDispatcher: RequestDispatcher {
    let target: LateBound<HandlerRegistry>
    func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome {
        guard let registry = target.value else { return .close(reason: "the node is still starting") }
        return await registry.dispatch(frame: frame, connection: connection)
    }
}

/// Everything a node of a multi-node KRaft cluster runs beyond the single node (issue 11): the
/// quorum over the network (``QuorumRuntime``: transport, host, controller listeners), and by
/// role:
/// * controller: the broker-lifecycle APIs (BrokerRegistration, BrokerHeartbeat) and Envelope on
///   the controller listener, and the active controller's loop: on becoming active, restart
///   every broker session (``ClusterControlService/activate()``) and write the bootstrap records
///   into an empty log; while active, fence brokers whose session expired.
/// * broker: the ``BrokerLifecycleDriver`` (registration, heartbeats, unfencing, controlled
///   shutdown) and the ``ForwardingDispatcher`` in front of the client listeners.
///
/// The single node (no `process.roles`, or a combined node that is the whole quorum) runs none
/// of this: it is its own controller, registers itself, and commits without the network.
public final class ClusterRuntime: Sendable {
    public let settings: KRaftSettings
    /// `request.timeout.ms`: how long a forwarded request may wait for the active controller.
    let requestTimeoutMs: Int
    public let quorum: QuorumRuntime
    public let service: ClusterControlService
    public let channel: ControllerChannel?
    private let controllerSlot = LateBound<LocalController>()
    private let registrySlot = LateBound<HandlerRegistry>()
    /// The node's authorizer, for the Envelope sender's CLUSTER_ACTION (set by ``attach``,
    /// before the controller listener is bound).
    private let authorizeSlot = LateBound<AuthorizeCheck>()
    private let lifecycle = LateBound<BrokerLifecycleDriver>()
    private let loops = Mutex<[Task<Void, Never>]>([])
    /// The quorum epoch in which this node finished activating as controller (-1: none).
    private let activation: ControllerActivation
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let clusterId: String
    /// unclean.leader.election.enable, auto.leader.rebalance.enable and the imbalance check.
    public let elections: LeaderElectionSettings

    public var host: QuorumHost { quorum.host }
    public var isController: Bool { settings.roles.contains(.controller) }
    public var isBroker: Bool { settings.roles.contains(.broker) }

    /// Is this node the active controller now? The quorum leader is only once its controller
    /// loop has applied everything earlier leaders committed and restarted the broker
    /// sessions (``ControllerActivation``); until then controller requests answer
    /// NOT_CONTROLLER and the sender retries.
    public var isActiveController: Bool { isController && activation.isActive(quorum.host.leadership) }

    public init(config: BrokerConfig, clusterId: String, metadataDirectory: String, fileSystem: any FileSystem,
                logger: Logger) throws {
        let settings = config.kraft
        requestTimeoutMs = config.requestTimeoutMs
        self.settings = settings
        self.logger = logger
        self.clusterId = clusterId
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let controllerSlot = self.controllerSlot
        let registrySlot = self.registrySlot
        let authorizeSlot = self.authorizeSlot
        let hasAuthorizer = config.authorizer != nil
        let nowMs: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let elections = LeaderElectionSettings(config: config)
        self.elections = elections
        let service = ClusterControlService(clusterId: clusterId, sessionTimeoutMs: settings.brokerSessionTimeoutMs,
                                            log: LateControllerLog(controller: controllerSlot),
                                            uncleanLeaderElectionDefault: elections.uncleanLeaderElectionEnable, nowMs: nowMs)
        self.service = service
        let activeBox = LateBound<QuorumHost>()
        let activation = ControllerActivation()
        self.activation = activation
        let isActive: @Sendable () -> Bool = { activeBox.value.map { activation.isActive($0.leadership) } ?? false }
        let controllerTLS: [String: ListenerTLSContext]
        let clientTLS: ClientTLSContext?
        do {
            (controllerTLS, clientTLS) = try ClusterRuntime.controllerListenerTLS(config)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        do {
            quorum = try QuorumRuntime(
                settings: settings, clusterId: clusterId, directory: metadataDirectory,
                controllerListeners: config.controllerListeners.map { .init(name: $0.name, host: $0.host, port: $0.port) },
                group: group, logger: logger, fileSystem: fileSystem, maxFrameBytes: config.socketRequestMaxBytes,
                serverTLS: controllerTLS, principalMappers: config.sslPrincipalMappers, clientTLS: clientTLS,
                addControllerHandlers: { registry in
                    BrokerLifecycleApis.register(into: &registry, service: service, isActiveController: isActive, logger: logger)
                    registry.register(AlterPartitionHandler(service: AlterPartitionService(log: LateControllerLog(controller: controllerSlot)),
                                                            isActiveController: isActive, logger: logger))
                    registry.register(EnvelopeHandler(target: LateDispatcher(target: registrySlot), isActiveController: isActive,
                                                      authorize: { context, operation, type, name in
                        // Before attach (never once the listener is bound): refused if an
                        // authorizer is configured, as nothing can be checked yet.
                        guard let check = authorizeSlot.value else { return !hasAuthorizer }
                        return check(context, operation, type, name)
                    }))
                    registry.register(AllocateProducerIdsHandler(log: LateControllerLog(controller: controllerSlot),
                                                                 isActiveController: isActive, logger: logger))
                })
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        activeBox.set(quorum.host)
        if settings.roles.contains(.broker) {
            let voters = settings.voters
            let host = quorum.host
            channel = try ControllerChannel(clientId: "broker-\(settings.nodeId)-to-controller", requestTimeoutMs: config.requestTimeoutMs,
                                            security: config.controllerClientSecurity, tls: clientTLS, logger: logger) {
                guard let leader = host.leadership.leaderId, let v = voters.first(where: { $0.id == leader }) else { return nil }
                return ControllerEndpoint(nodeId: leader, host: v.host, port: v.port)
            }
        } else {
            channel = nil
        }
    }

    /// An SSL controller listener (`listener.security.protocol.map=CONTROLLER:SSL`): on a
    /// controller, the server context of each SSL controller listener (as a broker listener's:
    /// ``ListenerTLSContext``), and on every node the client side that the Raft transport and
    /// the broker's controller channel connect with, from the same listener's trust store and
    /// key store (``BrokerConfig/controllerClientSecurity``), as one ``ClientTLSContext`` both
    /// share, reloaded when those files change. A missing key store or an unreadable file is a
    /// ``ConfigError`` naming the key.
    static func controllerListenerTLS(_ config: BrokerConfig) throws -> (server: [String: ListenerTLSContext], client: ClientTLSContext?) {
        var server: [String: ListenerTLSContext] = [:]
        if config.kraft.roles.contains(.controller) {
            for l in config.controllerListeners where config.listenerSecurityProtocols[l.name] == .ssl {
                server[l.name] = try ListenerTLSContext(settings: config.sslSettings(listener: l.name))
            }
        }
        let client = try ClientTLSContext.make(properties: config.controllerClientSecurity,
                                               what: "the controller connections (Raft transport, broker-to-controller channel)")
        return (server, client)
    }

    /// The broker has built its controller and handler table: controller requests and
    /// forwarded requests are served from now on.
    public func attach(controller: LocalController, registry: HandlerRegistry, authorize: @escaping AuthorizeCheck = allowEverything) {
        controllerSlot.set(controller)
        registrySlot.set(registry)
        authorizeSlot.set(authorize)
    }

    /// The dispatcher for the client listeners: forwarding to the active controller when this
    /// node is not it.
    public func brokerDispatcher(local: HandlerRegistry) -> any RequestDispatcher {
        guard let channel else { return local }
        let runtime = self
        var forwarding = ForwardingDispatcher(local: local, channel: channel, logger: logger,
                                              isLocalController: { runtime.isActiveController })
        forwarding.preprocess = ForwardedConfigRequests(nodeId: settings.nodeId).plan
        forwarding.requestTimeoutMs = Int64(requestTimeoutMs)
        return forwarding
    }

    /// The controller id clients are told (Metadata, DescribeCluster): this broker, which
    /// forwards admin requests to the active controller, while it is registered and unfenced;
    /// else another live broker. Kafka tells clients a random live broker for the same reason.
    /// Naming the quorum leader instead would make every client cache the one node whose loss
    /// triggers a controller failover: librdkafka then keeps sending admin requests to the dead
    /// node until its next metadata refresh (`topic.metadata.refresh.interval.ms`, 5 minutes).
    public func controllerIdForClients(image: MetadataImage, localId: Int32) -> Int32 {
        if let me = image.brokers[localId], !me.fenced { return localId }
        return image.liveBrokers.first?.id ?? -1
    }

    /// A block of producer ids from the active controller (AllocateProducerIds, 67), for this
    /// broker's ``ProducerIdManager``. Retries NOT_CONTROLLER, STALE_BROKER_EPOCH (the
    /// registration is not applied here yet) and connection errors every `retryBackoffMs`
    /// until `timeoutMs`, then throws: InitProducerId answers COORDINATOR_NOT_AVAILABLE and the
    /// client retries.
    public func allocateProducerIds(brokerId: Int32, brokerEpoch: @escaping @Sendable () -> Int64,
                                    timeoutMs: Int64 = 10_000, retryBackoffMs: Int64 = 100) async throws -> ClosedRange<Int64> {
        guard let channel else { throw ControllerChannelError.noController("this node is not a broker") }
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        var lastError = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let epoch = brokerEpoch()
                let (response, _) = try await channel.send({ _ in AllocateProducerIdsRequest(brokerId: brokerId, brokerEpoch: epoch) },
                                                           supported: AllocateProducerIdsRequest.validVersions,
                                                           timeout: .milliseconds(timeoutMs))
                if response.errorCode == 0, response.producerIdLen > 0 {
                    return response.producerIdStart...(response.producerIdStart + Int64(response.producerIdLen) - 1)
                }
                lastError = "error \(response.errorCode)"
                if response.errorCode == ErrorCode.notController.rawValue { channel.reset() }
                guard response.errorCode == ErrorCode.notController.rawValue
                        || response.errorCode == ErrorCode.staleBrokerEpoch.rawValue else { break }
            } catch {
                lastError = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(retryBackoffMs))
        }
        logger.warning("Could not get producer ids from the controller: \(lastError)")
        throw ControllerChannelError.noController("AllocateProducerIds failed: \(lastError)")
    }

    /// Binds the controller listeners.
    public func bind() async throws { try await quorum.bind() }

    /// Starts the quorum, the active-controller loop (controllers) and the lifecycle driver
    /// (brokers). `store` and `follower` are the broker's metadata.
    public func start(store: MetadataStore, follower: MetadataLogFollower, config: BrokerConfig,
                      bootstrapFile: String, onLifecycle: @escaping @Sendable (BrokerLifecycleDriver.Event) -> Void) async {
        await quorum.start()
        if isController {
            let loop = Task { [weak self] () -> Void in await self?.controllerLoop(store: store, follower: follower, bootstrapFile: bootstrapFile) }
            loops.withLock { $0.append(loop) }
        }
        if isBroker, let channel {
            let listeners = config.advertisedListeners.map { l -> BrokerRegistrationRequest.Listener in
                var r = BrokerRegistrationRequest.Listener()
                r.name = l.name
                r.host = l.host.isEmpty ? KafkaBroker.defaultAdvertisedHost() : l.host
                r.port = UInt16(clamping: l.port)
                r.securityProtocol = 0
                return r
            }
            var feature = BrokerRegistrationRequest.Feature()
            feature.name = "metadata.version"
            feature.minSupportedVersion = 1
            feature.maxSupportedVersion = KRaftStorage.metadataVersion.featureLevel
            var rng = SystemRandomNumberGenerator()
            let settings = BrokerLifecycle.Settings(
                nodeId: config.nodeId, clusterId: clusterId, incarnationId: KafkaUUID.random(using: &rng), listeners: listeners,
                rack: config.rack, features: [feature], heartbeatIntervalMs: self.settings.brokerHeartbeatIntervalMs,
                initialRegistrationTimeoutMs: config.explicitValues["initial.broker.registration.timeout.ms"].flatMap { Int64($0) } ?? 60_000)
            let nowMs: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
            let box = lifecycle
            let driver = BrokerLifecycleDriver(lifecycle: BrokerLifecycle(settings: settings), channel: channel, logger: logger,
                                               nowMs: nowMs) { event in
                // Logs were recovered before the broker started: ask to be unfenced at once.
                if event == .caughtUp, let d = box.value { Task { await d.setReadyToUnfence() } }
                onLifecycle(event)
            }
            lifecycle.set(driver)
            store.addListener { _, _ in
                let offset = follower.appliedOffset - 1
                Task { await driver.metadataApplied(offset: offset) }
            }
            await driver.metadataApplied(offset: follower.appliedOffset - 1)
            await driver.start()
        }
    }

    /// The active controller's duties, checked every 100 ms: on becoming active, sessions
    /// restart and an empty log gets its bootstrap records; while active, expired sessions are
    /// fenced (their partitions get new leaders in the same batch).
    private func controllerLoop(store: MetadataStore, follower: MetadataLogFollower, bootstrapFile: String) async {
        var active = false
        var nextImbalanceCheck = Int64.max
        var nextElectionPass: Int64 = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let leadership = quorum.host.leadership
            guard leadership.isLocalLeader, !active || activation.isActive(leadership) else {
                if active { logger.info("No longer the active controller") }
                active = false
                activation.deactivate()
                continue
            }
            do {
                if !active {
                    // Everything earlier leaders wrote (all of it below this epoch's start
                    // offset, committed once this epoch's LeaderChange is) must be in the image
                    // before the controller acts on it: the sessions start from it, and
                    // requests are planned against it. The HW this node knew before it was
                    // elected can be far behind (a restarted node knows none).
                    guard ControllerActivation.caughtUp(leadership, appliedOffset: follower.appliedOffset) else { continue }
                    await follower.waitUntilApplied(leadership.epochStartOffset ?? 0)
                    if store.image.features["metadata.version"] == nil {
                        try await follower.bootstrapIfEmpty(bootstrapFile: bootstrapFile, defaults: KRaftStorage.bootstrapRecords)
                    }
                    try await service.activate()
                    guard activation.activate(leadership, current: quorum.host.leadership) else { continue }
                    active = true
                    nextImbalanceCheck = Int64(Date().timeIntervalSince1970 * 1000) + elections.imbalanceCheckIntervalMs
                    logger.info("Active controller in epoch \(leadership.epoch)")
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                if let due = service.nextSessionExpiry(image: store.image), due <= now {
                    let fenced = try await service.fenceExpiredSessions()
                    if !fenced.isEmpty { logger.info("Fenced brokers whose session expired: \(fenced.count) record(s)") }
                }
                if now >= nextElectionPass {
                    nextElectionPass = now + 1000
                    try await electionDuties(now: now, nextImbalanceCheck: &nextImbalanceCheck)
                }
            } catch {
                logger.warning("Active controller step failed: \(error)")
            }
        }
    }

    /// The active controller's periodic leader work (Kafka's QuorumController periodic tasks):
    /// reassignments whose new replicas all joined the ISR are completed, leaderless partitions
    /// of topics with unclean.leader.election.enable get a leader, and every
    /// leader.imbalance.check.interval.seconds (with auto.leader.rebalance.enable) leadership
    /// moves back to preferred replicas. Each writes records only when something changes. Run
    /// once a second (each pass reads every partition).
    private func electionDuties(now: Int64, nextImbalanceCheck: inout Int64) async throws {
        let settings = elections
        let completed = try await service.append { ReplicationControl.completeReassignments(image: $0) }
        if !completed.isEmpty { logger.info("Completed partition reassignments: \(completed.count) record(s)") }
        let unclean = try await service.append {
            ReplicationControl.uncleanElections(image: $0, brokerDefault: settings.uncleanLeaderElectionEnable)
        }
        if !unclean.isEmpty { logger.warning("Unclean leader elections: \(unclean.count) partition(s) (data not in the ISR may be lost)") }
        guard settings.autoLeaderRebalanceEnable, now >= nextImbalanceCheck else { return }
        nextImbalanceCheck = now + settings.imbalanceCheckIntervalMs
        var moved = 0
        while true {
            let batch = try await service.append {
                ReplicationControl.preferredRebalance(image: $0, imbalancePercentage: settings.imbalancePerBrokerPercentage)
            }
            moved += batch.count
            // Kafka reschedules at once when a pass hit its cap of 1000 elections.
            if batch.count < 1000 { break }
        }
        if moved > 0 { logger.info("Auto leader rebalance: \(moved) partition(s) moved to their preferred leader") }
    }

    /// SIGTERM on a broker: leaderships move away before it stops (bounded by `timeoutMs`).
    public func controlledShutdown(timeoutMs: Int64) async {
        guard let driver = lifecycle.value else { return }
        logger.info("Controlled shutdown: asking the controller to move leaderships away")
        // With no quorum leader for a while (the other voters stopped first, as when a whole
        // cluster is stopped) nobody can answer: stop then instead of waiting out `timeoutMs`
        // (Kafka waits up to 5 minutes here; a stuck SIGTERM is what operators complain about).
        let host = quorum.host
        let watcher = Task {
            var leaderlessMs: Int64 = 0
            while !Task.isCancelled {
                guard (try? await Task.sleep(for: .milliseconds(100))) != nil else { return }
                leaderlessMs = host.leadership.leaderId == nil ? leaderlessMs + 100 : 0
                if leaderlessMs >= Self.leaderlessShutdownGraceMs {
                    await driver.abandonControlledShutdown("no metadata quorum leader for \(leaderlessMs) ms")
                    return
                }
            }
        }
        await driver.controlledShutdown(timeoutMs: timeoutMs)
        watcher.cancel()
    }

    /// How long a controlled shutdown waits with no known quorum leader before giving up.
    static let leaderlessShutdownGraceMs: Int64 = 3000

    public func run() async throws { try await quorum.run() }

    /// Stops the loops and the lifecycle driver, then the quorum (a leader resigns while the
    /// network is up) and the network. `drain` runs after the quorum stopped and before the
    /// event loops close: the task serving the controller listeners (``run()``) still owns
    /// channels on them while it winds down, and closing the loops under it made NIO refuse its
    /// last tasks ("Cannot schedule tasks on an EventLoop that has already shut down") and left
    /// a SIGTERMed node hanging (CI, a rolling restart).
    public func shutdown(drain: () async -> Void = {}) async {
        for loop in loops.withLock({ $0 }) { loop.cancel() }
        if let driver = lifecycle.value { await driver.stop() }
        channel?.close()
        await quorum.shutdown()
        await drain()
        try? await group.shutdownGracefully()
    }
}

/// The controller's leader-election settings (Kafka's names and defaults).
public struct LeaderElectionSettings: Sendable, Equatable {
    /// `unclean.leader.election.enable` (false): the broker default; a topic config or the
    /// cluster-wide dynamic default overrides it per topic.
    public var uncleanLeaderElectionEnable: Bool
    /// `auto.leader.rebalance.enable` (true).
    public var autoLeaderRebalanceEnable: Bool
    /// `leader.imbalance.check.interval.seconds` (300), in ms.
    public var imbalanceCheckIntervalMs: Int64
    /// `leader.imbalance.per.broker.percentage` (10).
    public var imbalancePerBrokerPercentage: Int

    public init(config: BrokerConfig) {
        func bool(_ key: String) -> Bool { config.brokerValue(key).value?.lowercased() == "true" }
        uncleanLeaderElectionEnable = bool("unclean.leader.election.enable")
        autoLeaderRebalanceEnable = bool("auto.leader.rebalance.enable")
        imbalanceCheckIntervalMs = (config.brokerValue("leader.imbalance.check.interval.seconds").value.flatMap { Int64($0) } ?? 300) * 1000
        imbalancePerBrokerPercentage = config.brokerValue("leader.imbalance.per.broker.percentage").value.flatMap { Int($0) } ?? 10
    }
}

/// When the quorum leader may act as the active controller (Kafka's QuorumController `claim`):
/// only after it has applied every record below its epoch's start offset (everything earlier
/// leaders wrote) and restarted the broker sessions from that image. Before, its image can
/// miss committed records: a broker unfenced there would get no session (and could never be
/// replaced by a restarted incarnation), a topic created there would look absent.
/// The epoch it activated in is kept; a later epoch (it lost and regained leadership) needs a
/// new activation.
final class ControllerActivation: Sendable {
    private let epoch = Atomic<Int32>(-1)

    init() {}

    /// Whether `leadership` (this node's current view) is an activated one.
    func isActive(_ leadership: QuorumLeadership) -> Bool {
        leadership.isLocalLeader && epoch.load(ordering: .acquiring) == leadership.epoch
    }

    /// Marks `activated`'s epoch active if this node still leads it (`current`).
    func activate(_ activated: QuorumLeadership, current: QuorumLeadership) -> Bool {
        guard current.isLocalLeader, current.epoch == activated.epoch else { return false }
        epoch.store(activated.epoch, ordering: .releasing)
        return true
    }

    func deactivate() { epoch.store(-1, ordering: .releasing) }

    /// Whether a leader has applied its epoch's LeaderChange (so everything before it):
    /// `appliedOffset` is the metadata follower's next offset to apply.
    static func caughtUp(_ leadership: QuorumLeadership, appliedOffset: Int64) -> Bool {
        guard leadership.isLocalLeader, let start = leadership.epochStartOffset else { return false }
        return appliedOffset > start
    }
}
