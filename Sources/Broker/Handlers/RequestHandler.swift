import KafkaProtocol

/// Who sent a request, passed to every handler.
public struct RequestContext: Sendable {
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    /// Peer IP, for DescribeGroups' member host.
    public var clientHost: String
    public var connectionId: UInt64
    public var listenerName: String
    /// The authenticated principal of the connection (``ConnectionInfo/principal``).
    public var principal: String
    /// The request came inside an Envelope from another broker (``ConnectionInfo/forwarded``).
    public var forwarded: Bool = false

    public init(apiVersion: Int16, correlationId: Int32, clientId: String?, clientHost: String,
                connectionId: UInt64, listenerName: String, principal: String = ConnectionInfo.anonymous) {
        self.apiVersion = apiVersion; self.correlationId = correlationId; self.clientId = clientId
        self.clientHost = clientHost; self.connectionId = connectionId; self.listenerName = listenerName
        self.principal = principal
    }
}

/// One per API key. The registry builds the ApiVersions response from the handlers'
/// `versions`, so every advertised version is one a handler really implements.
public protocol RequestHandler: Sendable {
    associatedtype Request: KafkaRequest
    /// Versions advertised in ApiVersions and fully implemented.
    static var versions: ClosedRange<Int16> { get }
    /// Returns nil only when no response must be sent (Produce with acks=0).
    func handle(_ request: Request, context: RequestContext) async throws -> Request.Response?
    /// Reports the response's error codes for the `ErrorsPerSec` metric; called only when
    /// metrics are on. The default (Metrics/RequestTiming.swift) counts a top-level code.
    static func countErrors(_ response: Request.Response, into timing: RequestTiming)
}

/// A handler may throw this to have the connection closed after logging `reason`, which is
/// what Kafka does for an acks=0 produce that failed (the client then refreshes metadata) and
/// for requests it cannot parse.
public struct CloseConnection: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
