import KafkaProtocol
import NIOCore

/// Envelope (58), on the controller listener only: a request a broker forwarded for a client
/// (KIP-590). The inner frame runs through `target` (the node's own admin handlers, which
/// commit through the quorum) as if the client had sent it; its response frame goes back in
/// `responseData`, without the size prefix, as Kafka's `ControllerApis.handleEnvelopeRequest`.
///
/// Errors as Kafka: CLUSTER_AUTHORIZATION_FAILED, first, when the sender (the connection's
/// principal: the forwarding broker's, not the client's) may not CLUSTER_ACTION the cluster,
/// as `ControllerApis.handleEnvelopeRequest` (the inner request is not run; without an
/// authorizer everything is allowed); NOT_CONTROLLER when this node is not the active
/// controller (the broker then looks the controller up again and retries), INVALID_REQUEST
/// for an inner request that
/// cannot be parsed or is not forwardable (Kafka refuses non-forwardable APIs the same way),
/// and never a closed connection for the broker: one bad forwarded request must not cut every
/// other client's admin traffic that shares the broker's channel.
public struct EnvelopeHandler: RequestHandler {
    public typealias Request = EnvelopeRequest
    public static let versions: ClosedRange<Int16> = 0...0

    let target: any RequestDispatcher
    let isActiveController: @Sendable () -> Bool
    /// The node's authorizer (``BrokerServices/authorize``), asked about the envelope's sender.
    let authorize: AuthorizeCheck

    public init(target: any RequestDispatcher, isActiveController: @escaping @Sendable () -> Bool,
                authorize: @escaping AuthorizeCheck = allowEverything) {
        self.target = target; self.isActiveController = isActiveController; self.authorize = authorize
    }

    public func handle(_ request: EnvelopeRequest, context: RequestContext) async throws -> EnvelopeResponse? {
        // Envelope has no error message field: Kafka's "Principal ... does not have required
        // CLUSTER_ACTION for envelope" is the ClusterAuthorizationException's, not on the wire.
        guard authorize(context, .clusterAction, .cluster, AclResources.clusterName) else {
            return EnvelopeResponse(errorCode: ErrorCode.clusterAuthorizationFailed.rawValue)
        }
        guard isActiveController() else { return EnvelopeResponse(errorCode: ErrorCode.notController.rawValue) }
        let inner = request.requestData
        guard let apiKey = inner.getInteger(at: inner.readerIndex, as: Int16.self),
              ForwardingDispatcher.forwardedApiKeys.contains(apiKey) else {
            return EnvelopeResponse(errorCode: ErrorCode.invalidRequest.rawValue)
        }
        var connection = ConnectionInfo(connectionId: context.connectionId,
                                        clientHost: Self.host(request.clientHostAddress) ?? context.clientHost,
                                        clientPort: 0, listenerName: context.listenerName)
        connection.forwarded = true
        // The client's principal as the forwarding broker authenticated it (`Type:name`), so
        // the controller authorizes the request (CreateAcls, CreateTopics, ...) as the client.
        if let bytes = request.requestPrincipal, case let principal = String(buffer: bytes), principal.contains(":") {
            connection.principal = principal
        }
        switch await target.dispatch(frame: inner, connection: connection) {
        case .respond(var frame):
            // Strip the size prefix the dispatcher wrote: the envelope carries header + body.
            guard let size = frame.readInteger(as: Int32.self), Int(size) == frame.readableBytes else {
                return EnvelopeResponse(errorCode: ErrorCode.unknownServerError.rawValue)
            }
            return EnvelopeResponse(responseData: frame, errorCode: 0)
        case .noResponse, .close, .respondThenClose:
            return EnvelopeResponse(errorCode: ErrorCode.invalidRequest.rawValue)
        }
    }

    /// The forwarded client address (4 or 16 bytes) as text, for logs and DescribeGroups-like
    /// fields; nil when absent or malformed.
    static func host(_ bytes: ByteBuffer) -> String? {
        let raw = Array(bytes.readableBytesView)
        if raw.count == 4 { return raw.map(String.init).joined(separator: ".") }
        if raw.count == 16 {
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(raw[$0]) << 8 | UInt16(raw[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return nil
    }
}
