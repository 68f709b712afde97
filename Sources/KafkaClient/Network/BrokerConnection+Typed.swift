import KafkaProtocol
import NIOCore

extension BrokerConnection {
    /// Sends a generated request at `version` and decodes the response at the same version.
    ///
    /// Header versions follow the body: flexible versions use request header v2 and response
    /// header v1, except ApiVersions whose response header is always v0 (KIP-511).
    public func send<R: KafkaRequest>(_ request: R, version: Int16, timeout: Duration? = nil) async throws -> R.Response {
        var body = ByteBuffer()
        try request.encode(into: &body, version: version)
        let flexible = R.isFlexible(version: version)
        let apiKey = R.apiKey.rawValue
        var response = try await sendRaw(
            apiKey: apiKey, apiVersion: version,
            requestHeaderVersion: flexible ? 2 : 1,
            responseHeaderVersion: (flexible && apiKey != Self.apiVersionsKey) ? 1 : 0,
            body: body, timeout: timeout)
        do {
            return try R.Response(from: &response, version: version)
        } catch {
            throw KafkaClientError.protocolViolation("cannot decode \(R.apiKey) v\(version) response from \(address): \(error)")
        }
    }

    /// Negotiates the version (highest in both `supported` and the broker's range), builds the
    /// request for it, and sends it.
    /// - Parameter supported: the versions whose semantics the caller implements (for example
    ///   Fetch without topic ids stops at 12).
    public func send<R: KafkaRequest>(
        supported: ClosedRange<Int16>, timeout: Duration? = nil, _ build: (Int16) throws -> R
    ) async throws -> (response: R.Response, version: Int16) {
        let clamped = max(supported.lowerBound, R.validVersions.lowerBound)...min(supported.upperBound, R.validVersions.upperBound)
        guard let version = version(for: R.apiKey.rawValue, supported: clamped) else {
            throw KafkaClientError.unsupportedApi(api: "\(R.apiKey)", broker: address.description)
        }
        let request = try build(version)
        return (try await send(request, version: version, timeout: timeout), version)
    }

    /// Sends a request that gets no response (acks=0 produce); returns once it is written.
    public func sendWithoutResponse<R: KafkaRequest>(_ request: R, version: Int16) async throws {
        var body = ByteBuffer()
        try request.encode(into: &body, version: version)
        _ = try await sendRaw(apiKey: R.apiKey.rawValue, apiVersion: version,
                              requestHeaderVersion: R.isFlexible(version: version) ? 2 : 1,
                              responseHeaderVersion: 0, body: body, expectsResponse: false)
    }
}

extension KafkaClientError {
    /// The error for a non-zero Kafka error code in a response.
    static func broker(_ code: Int16, _ context: String, message: String? = nil) -> KafkaClientError {
        .broker(code: code, name: ErrorCode(rawValue: code).name, context: context, message: message)
    }

    /// Whether retrying the same operation (after a metadata refresh) may succeed.
    public var isRetriable: Bool {
        switch self {
        case .connectionFailed, .connectionClosed, .timedOut: return true
        case let .broker(code, _, _, _): return ErrorCode(rawValue: code).isRetriable
        default: return false
        }
    }

    /// The Kafka error code when this is a broker error.
    public var errorCode: Int16? {
        if case let .broker(code, _, _, _) = self { return code }
        return nil
    }
}
