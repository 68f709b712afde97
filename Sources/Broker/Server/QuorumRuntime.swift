import KafkaProtocol
import LogStorage
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import KafkaClient
import Quorum

/// Everything a node runs for the KRaft quorum, assembled from its ``KRaftSettings``: the
/// ``NIORaftTransport`` to the voters, the ``QuorumHost`` over
/// `<metadata.log.dir>/__cluster_metadata-0`, and, on a node with the controller role, one
/// ``KafkaServer`` per controller listener with the ``ControllerApis`` table. A broker-only
/// node runs the host as an observer and no controller listener.
///
/// The broker wires it in (the metadata log helper replaces the JSON metadata store with
/// ``host``): build it, register ``registerBrokerListenerHandlers(into:)`` in the broker
/// listeners' registry, ``bind()`` and ``start()`` before the broker listeners, ``run()``
/// beside them, and ``shutdown()`` first on the way down (so a leader resigns while the network
/// is still up).
///
/// Thread-safe after construction.
public final class QuorumRuntime: Sendable {
    /// A controller listener to bind (`listeners` entries named in `controller.listener.names`).
    public struct Listener: Sendable, Equatable {
        public var name: String
        public var host: String
        public var port: Int
        public init(name: String, host: String, port: Int) { self.name = name; self.host = host; self.port = port }
    }

    public let settings: KRaftSettings
    public let host: QuorumHost
    public let transport: NIORaftTransport
    public let quorum: ControllerQuorum
    public let controllerServers: [KafkaServer]
    /// The TLS contexts of the SSL controller listeners, by name (watched for renewed
    /// certificates with the broker listeners' ones).
    public let tlsContexts: [String: ListenerTLSContext]
    /// The client TLS the transport connects to the voters' SSL controller listener with
    /// (nil: plaintext); each new connection asks it for the current configuration, so a
    /// renewed trust store or key store is used without a restart (watched with the listeners).
    public let clientTLS: ClientTLSContext?
    private let logger: Logger

    /// - Parameters:
    ///   - directory: the metadata partition's directory (`<metadata.log.dir>/__cluster_metadata-0`).
    ///   - controllerListeners: where this node's controller listeners bind; ignored without the
    ///     controller role.
    ///   - addControllerHandlers: more controller APIs (broker registration, heartbeats, ...)
    ///     registered on the controller listeners before ApiVersions is built.
    ///   - serverTLS: the TLS context of each SSL controller listener, by name (``ListenerTLSContext``,
    ///     built from the listener's `ssl.*` settings as for broker listeners), and the rules
    ///     naming a client by its certificate.
    ///   - clientTLS: how this node connects to the voters' controller listener when it is SSL
    ///     (trust store, client certificate, host name check), read again for every new
    ///     connection; nil: plaintext.
    public init(settings: KRaftSettings, clusterId: String?, directory: String, controllerListeners: [Listener],
                group: any EventLoopGroup, logger: Logger, fileSystem: any FileSystem = POSIXFileSystem(),
                clock: any LogClock = SystemLogClock(), maxFrameBytes: Int = 104_857_600,
                serverTLS: [String: ListenerTLSContext] = [:], principalMappers: [String: SslPrincipalMapper] = [:],
                clientTLS: ClientTLSContext? = nil,
                addControllerHandlers: (inout HandlerRegistry) -> Void = { _ in }) throws {
        self.settings = settings
        self.logger = logger
        let config = settings.quorumConfig(clusterId: clusterId)
        let voters = settings.isEmbeddedSingleNode && settings.voters.isEmpty ? [] : settings.voters
        self.clientTLS = clientTLS
        var options = NIORaftTransport.Options()
        if let clientTLS {
            // Called as each new connection is set up: the configuration current then.
            options.secureConnection = { channel, host in
                try channel.pipeline.syncOperations.addHandler(try clientTLS.current.makeClientHandler(host: host))
            }
        }
        transport = NIORaftTransport(localId: settings.nodeId, voters: voters, group: group, logger: logger, options: options)
        // A single voter talks to nobody: no transport traffic at all.
        let needsNetwork = config.voters != [settings.nodeId]
        host = try QuorumHost(nodeId: settings.nodeId, config: config, directory: directory, fileSystem: fileSystem, clock: clock,
                              transport: needsNetwork ? transport : nil, logger: logger)
        transport.attach(host)
        let listenerName = settings.controllerListenerNames.first ?? controllerListeners.first?.name ?? "CONTROLLER"
        quorum = ControllerQuorum(host: host, transport: transport, listenerName: listenerName)
        if settings.roles.contains(.controller) {
            var registry = HandlerRegistry(logger: logger)
            ControllerApis.register(into: &registry, quorum: quorum)
            addControllerHandlers(&registry)
            registry.registerApiVersions()
            let table = registry
            controllerServers = controllerListeners.map { listener in
                KafkaServer(configuration: KafkaServer.Configuration(host: listener.host, port: listener.port, listenerName: listener.name,
                                                                     maxFrameBytes: maxFrameBytes)
                                .withTLS(serverTLS[listener.name], principalMapper: principalMappers[listener.name]),
                            dispatcher: table, group: group, logger: logger)
            }
            tlsContexts = serverTLS.filter { name, _ in controllerListeners.contains { $0.name == name } }
        } else {
            controllerServers = []
            tlsContexts = [:]
        }
    }

    /// DescribeQuorum for the broker listeners (answered here when this node leads the quorum,
    /// else forwarded to the leader, as Kafka's broker forwards it to the active controller).
    public func registerBrokerListenerHandlers(into registry: inout HandlerRegistry) {
        registry.register(DescribeQuorumHandler(quorum: quorum, forwardToLeader: true))
    }

    /// Binds the controller listeners (port 0 picks a free port) and returns their addresses;
    /// this node's own voter endpoint is updated to the bound port.
    @discardableResult
    public func bind() async throws -> [SocketAddress] {
        var addresses: [SocketAddress] = []
        for server in controllerServers {
            let address = try await server.bind()
            addresses.append(address)
            logger.info("Controller listener \(server.configuration.listenerName) on \(address)")
        }
        if let first = addresses.first, let port = first.port {
            let configured = settings.voters.first { $0.id == settings.nodeId }
            transport.updateEndpoint(settings.nodeId, host: configured?.host ?? first.ipAddress ?? "localhost", port: port)
        }
        return addresses
    }

    /// Starts the quorum's timers (elections, fetches).
    public func start() async { await host.start() }

    /// Serves the controller listeners until ``shutdown()``.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for server in controllerServers { group.addTask { try await server.run() } }
        }
    }

    /// Resigns (if leader) while the network is up, then closes the listeners and connections.
    public func shutdown() async {
        await host.shutdown()
        for server in controllerServers { await server.shutdown() }
        transport.close()
    }
}
