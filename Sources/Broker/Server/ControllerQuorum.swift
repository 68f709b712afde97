import KafkaProtocol
import Logging
import Quorum

/// What the controller listener's handlers (and DescribeQuorum on the broker listener) reach:
/// this node's ``QuorumHost`` and the ``NIORaftTransport`` that carries its messages.
public struct ControllerQuorum: Sendable {
    public let host: QuorumHost
    public let transport: NIORaftTransport
    /// The controller listener's name (`controller.listener.names`' first entry), reported in
    /// DescribeQuorum v2's Nodes.
    public var listenerName: String

    public init(host: QuorumHost, transport: NIORaftTransport, listenerName: String = "CONTROLLER") {
        self.host = host; self.transport = transport; self.listenerName = listenerName
    }

    public var nodeId: Int32 { host.nodeId }

    /// Hands an inbound Raft request to the replica and returns its answer; no answer (host
    /// stopped, timeout) closes the connection, as a Kafka controller that cannot process a
    /// request drops it.
    func serve(_ request: RaftRequest, context: RequestContext) async throws -> RaftResponse {
        guard let response = await transport.serve(request, correlationId: context.correlationId) else {
            throw CloseConnection("the quorum did not answer \(request.apiKey) (correlation id \(context.correlationId))")
        }
        return response
    }

    /// DescribeQuorum v2's Nodes: every voter with its controller endpoint.
    func voterNodes() -> [DescribeQuorumResponse.Node] {
        let endpoints = transport.endpoints
        return host.config.voters.compactMap { id in
            guard let e = endpoints[id], let port = UInt16(exactly: e.port) else { return nil }
            return DescribeQuorumResponse.Node(nodeId: id, listeners: [.init(name: listenerName, host: e.host, port: port)])
        }
    }
}

/// The controller listener's handler table, Kafka's `ControllerApis` for the quorum: Vote,
/// BeginQuorumEpoch, EndQuorumEpoch, Fetch (of `__cluster_metadata` only), DescribeQuorum,
/// FetchSnapshot and ApiVersions built from exactly these. Any other API on this listener closes the connection
/// (Kafka's SocketServer refuses an api key that is not enabled for the listener's type), and
/// the broker listeners do not register the Raft APIs, so a Raft request there closes the
/// connection too.
public enum ControllerApis {
    public static func registry(quorum: ControllerQuorum, logger: Logger) -> HandlerRegistry {
        var registry = HandlerRegistry(logger: logger)
        register(into: &registry, quorum: quorum)
        registry.registerApiVersions()
        return registry
    }

    /// The quorum's handlers, for a registry that gets more controller APIs before
    /// `registerApiVersions()`.
    public static func register(into registry: inout HandlerRegistry, quorum: ControllerQuorum) {
        registry.register(VoteHandler(quorum: quorum))
        registry.register(BeginQuorumEpochHandler(quorum: quorum))
        registry.register(EndQuorumEpochHandler(quorum: quorum))
        registry.register(ControllerFetchHandler(quorum: quorum))
        registry.register(DescribeQuorumHandler(quorum: quorum, forwardToLeader: false))
        registry.register(FetchSnapshotHandler(quorum: quorum))
    }
}
