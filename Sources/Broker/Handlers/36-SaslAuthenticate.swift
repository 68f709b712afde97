import KafkaProtocol

/// SaslAuthenticate (api key 36), versions 0-2.
///
/// Behaviour: on a SASL listener the ``SaslDispatcher`` runs the exchange
/// (``SaslAuthenticator/authenticate(token:version:nowMs:credentials:)``): v1+ tells the
/// client its session lifetime (`connections.max.reauth.ms`), v2 is the flexible encoding.
/// What reaches this handler is a SaslAuthenticate Kafka's `KafkaApis` sees (a PLAINTEXT or SSL
/// listener, or after authentication completed): ILLEGAL_SASL_STATE with Kafka's message.
public struct SaslAuthenticateHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...2

    public init() {}

    public func handle(_ request: SaslAuthenticateRequest, context: RequestContext) async throws -> SaslAuthenticateResponse? {
        var response = SaslAuthenticateResponse()
        response.errorCode = ErrorCode.illegalSaslState.rawValue
        response.errorMessage = "SaslAuthenticate request received after successful authentication"
        return response
    }
}
