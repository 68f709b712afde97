import NIOCore

/// Facts about a connection that every request on it shares.
public struct ConnectionInfo: Sendable {
    public var connectionId: UInt64
    public var clientHost: String
    public var clientPort: Int
    public var listenerName: String
    /// Who the connection is authenticated as, Kafka's `KafkaPrincipal`, as Kafka's default
    /// principal builder says: `User:alice` after SASL (set by ``SaslDispatcher`` per request);
    /// on an SSL listener the client certificate's mapped subject (`User:CN=alice,OU=eng`, set by
    /// ``KafkaServer`` from ``CertificatePrincipal``); else `User:ANONYMOUS`. For the authorizer.
    public var principal: String
    /// True for a request another broker forwarded in an Envelope (KIP-590): the receiving
    /// broker already did its per-broker checks, and this node answers as the controller.
    public var forwarded: Bool = false

    public init(connectionId: UInt64, clientHost: String, clientPort: Int, listenerName: String,
                principal: String = ConnectionInfo.anonymous) {
        self.connectionId = connectionId; self.clientHost = clientHost
        self.clientPort = clientPort; self.listenerName = listenerName; self.principal = principal
    }

    public static let anonymous = "User:ANONYMOUS"
}

/// What the connection loop does after a request was processed.
public enum DispatchOutcome: Sendable {
    /// Send these bytes (a complete frame: size prefix, response header, body).
    case respond(ByteBuffer)
    /// Send nothing (acks=0 produce) and read the next request.
    case noResponse
    /// Close the connection; `reason` goes to the log (unknown api, malformed header, acks=0 error).
    case close(reason: String)
    /// Send these bytes, then close (a failed SASL authentication: Kafka answers, then closes).
    case respondThenClose(ByteBuffer, reason: String)
}

/// Turns one request frame (without its size prefix) into an outcome. The server calls it for
/// one frame at a time per connection, in arrival order, and writes each response before it
/// reads the next request, so responses leave in request order (Kafka's muted channel).
public protocol RequestDispatcher: Sendable {
    func dispatch(frame: ByteBuffer, connection: ConnectionInfo) async -> DispatchOutcome
    /// The connection ended (either side): per-connection state may be freed.
    func connectionClosed(_ connection: ConnectionInfo)
}

extension RequestDispatcher {
    public func connectionClosed(_ connection: ConnectionInfo) {}
}
