import KafkaProtocol

/// SaslHandshake (api key 17), versions 0-1.
///
/// Behaviour: on a SASL listener the ``SaslDispatcher`` answers the handshake before any
/// request reaches this table (``SaslAuthenticator/handshake(mechanism:version:)``); v0 is
/// followed by raw length-prefixed tokens, v1 by SaslAuthenticate, both implemented. What
/// reaches this handler is a handshake Kafka's `KafkaApis` sees: on a PLAINTEXT or SSL listener,
/// or on an authenticated SASL connection that may not re-authenticate
/// (`connections.max.reauth.ms=0`): ILLEGAL_SASL_STATE, as Kafka answers.
public struct SaslHandshakeHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...1

    public init() {}

    public func handle(_ request: SaslHandshakeRequest, context: RequestContext) async throws -> SaslHandshakeResponse? {
        var response = SaslHandshakeResponse()
        response.errorCode = ErrorCode.illegalSaslState.rawValue
        return response
    }
}
