import KafkaClient
import KafkaProtocol
import Logging
import NIOCore
import Synchronization

/// Where the active controller is, as this node knows it: its node id and the address of its
/// controller listener (from `controller.quorum.voters`). Nil while no leader is known (an
/// election is running) or when this node itself is the active controller and the caller
/// should handle the request locally.
public struct ControllerEndpoint: Sendable, Equatable {
    public var nodeId: Int32
    public var host: String
    public var port: Int
    public init(nodeId: Int32, host: String, port: Int) { self.nodeId = nodeId; self.host = host; self.port = port }
}

/// Errors of the broker-to-controller channel.
public enum ControllerChannelError: Error, Equatable, CustomStringConvertible {
    /// No active controller is known (an election is running), or it stayed unreachable until
    /// the deadline.
    case noController(String)
    public var description: String {
        switch self {
        case .noController(let why): "no active controller: \(why)"
        }
    }
}

/// The one connection from a broker to the active controller (Kafka's
/// `NodeToControllerChannelManager`): broker registration and heartbeats and forwarded admin
/// requests (Envelope) all travel on it.
///
/// It asks `locate` where the controller is before every request and reconnects when the
/// answer changes, so a controller failover only costs the requests in flight: callers retry
/// on ``ControllerChannelError`` and on NOT_CONTROLLER after `retry.backoff.ms`. The client
/// library's ``BrokerConnection`` does the framing and version negotiation: the controller
/// listener answers ApiVersions like any Kafka listener.
///
/// Thread-safe.
public final class ControllerChannel: Sendable {
    private let locate: @Sendable () -> ControllerEndpoint?
    private let clientConfig: ClientConfig
    /// The controller listener's client TLS, asked again for each new connection (renewed
    /// certificates without a restart); nil: `clientConfig`'s own (plaintext in the broker).
    private let tls: ClientTLSContext?
    private let logger: Logger
    private let current = Mutex<(endpoint: ControllerEndpoint, connection: BrokerConnection)?>(nil)

    /// - Parameters:
    ///   - locate: the active controller's endpoint now (QuorumHost's leadership + the voters'
    ///     addresses); called before every request.
    ///   - clientId: sent in the request header (Kafka uses `broker-<id>-to-controller`).
    ///   - security: client properties for the controller listener's security protocol
    ///     (`security.protocol=SSL` and `ssl.*`: ``BrokerConfig/controllerClientSecurity``).
    ///   - tls: the reloadable TLS built from the same `security` (shared with the Raft
    ///     transport); when set, each new connection uses its current configuration.
    public init(clientId: String, requestTimeoutMs: Int = 30_000, security: [String: String] = [:], tls: ClientTLSContext? = nil,
                logger: Logger,
                locate: @escaping @Sendable () -> ControllerEndpoint?) throws {
        // bootstrap.servers is unused: the channel connects to the address `locate` gives.
        clientConfig = try ClientConfig(properties: ClientProperties(security.merging([
            "bootstrap.servers": "127.0.0.1:1", "client.id": clientId, "request.timeout.ms": String(requestTimeoutMs),
        ]) { _, b in b }))
        self.tls = tls
        self.locate = locate
        self.logger = logger
    }

    /// The connection to the controller `locate` names now, opened if needed.
    func connection() async throws -> (ControllerEndpoint, BrokerConnection) {
        guard let endpoint = locate() else { throw ControllerChannelError.noController("no leader of the controller quorum is known") }
        if let open = current.withLock({ $0 }), open.endpoint == endpoint, open.connection.isActive {
            return (endpoint, open.connection)
        }
        let connection = try await BrokerConnection.connect(to: BrokerAddress(host: endpoint.host, port: endpoint.port),
                                                            nodeId: endpoint.nodeId, config: tls?.applied(to: clientConfig) ?? clientConfig)
        let replaced = current.withLock { slot -> BrokerConnection? in
            let old = slot?.connection
            slot = (endpoint, connection)
            return old
        }
        replaced?.close()
        return (endpoint, connection)
    }

    /// Sends `request` to the active controller at the highest version both sides speak
    /// within `supported`. A connection error drops the connection (the next call reconnects,
    /// maybe to a new controller) and is rethrown.
    public func send<R: KafkaRequest>(_ request: @escaping (Int16) throws -> R, supported: ClosedRange<Int16>,
                                      timeout: Duration? = nil) async throws -> (R.Response, ControllerEndpoint) {
        let (endpoint, connection) = try await connection()
        // A controller that lost the quorum's leadership behind a partitioned network neither
        // answers nor closes: a request in flight to it (a heartbeat) would wait the whole
        // request timeout while the new controller fences this broker after
        // broker.session.timeout.ms (a network test saw every broker fenced for 23 s). So the
        // request is watched: once `locate` names another controller, the old connection is
        // dropped, the request fails at once, and the caller retries on the new one (Kafka's
        // channel manager disconnects from the old controller the same way).
        let watcher = Task { [locate] in
            while true {
                guard (try? await Task.sleep(for: .milliseconds(100))) != nil else { return }
                if let now = locate(), now != endpoint {
                    self.drop(connection)
                    return
                }
            }
        }
        defer { watcher.cancel() }
        do {
            let (response, _) = try await connection.send(supported: supported, timeout: timeout, request)
            return (response, endpoint)
        } catch {
            drop(connection)
            throw error
        }
    }

    /// Forgets `connection` if it is the current one (after an error or NOT_CONTROLLER).
    public func drop(_ connection: BrokerConnection) {
        let dropped = current.withLock { slot -> Bool in
            guard let open = slot, open.connection === connection else { return false }
            slot = nil
            return true
        }
        if dropped { connection.close() }
    }

    /// Forgets the current connection, whatever it is (the controller moved).
    public func reset() {
        current.withLock { slot -> BrokerConnection? in
            defer { slot = nil }
            return slot?.connection
        }?.close()
    }

    public func close() { reset() }
}
