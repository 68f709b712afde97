// ApiVersions (key 18), versions 0-4.
//
// Behaviour: returns the registry's table, built from the handlers actually registered, so
// nothing is advertised that is not implemented. Versions the broker does not know are
// answered by the registry itself (v0 body, UNSUPPORTED_VERSION, only this entry; KIP-511).
// Version notes:
// * The response header is always v0, even for the flexible v3/v4 bodies (the codec's
//   `ApiKey.responseHeaderVersion` encodes that rule).
// * v1+ adds throttle_time_ms. v3+ carries ClientSoftwareName/Version, validated against
//   Kafka's pattern; a mismatch gets INVALID_REQUEST (librdkafka then falls back to v0).
// * No features are reported: their tagged fields stay at their defaults and are therefore
//   not written at all, which Debian's librdkafka 2.0.2 needs (it mis-skips tagged fields).
// * v4 is identical to v3 (it only signals that the client understands the error reply).
import KafkaProtocol

public struct ApiVersionsHandler: RequestHandler {
    public typealias Request = ApiVersionsRequest
    public static let versions: ClosedRange<Int16> = 0...4

    let apiKeys: [ApiVersionsResponse.ApiVersion]

    public init(apiKeys: [ApiVersionsResponse.ApiVersion]) { self.apiKeys = apiKeys }

    public func handle(_ request: ApiVersionsRequest, context: RequestContext) async throws -> ApiVersionsResponse? {
        var response = ApiVersionsResponse()
        response.apiKeys = apiKeys
        if context.apiVersion >= 3,
           !(Self.isValidSoftwareField(request.clientSoftwareName) && Self.isValidSoftwareField(request.clientSoftwareVersion)) {
            response.errorCode = ErrorCode.invalidRequest.rawValue
        }
        return response
    }

    /// Kafka's `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
    static func isValidSoftwareField(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        func alnum(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        guard alnum(first), alnum(last) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
