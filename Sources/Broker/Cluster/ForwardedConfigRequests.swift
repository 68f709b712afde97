import KafkaProtocol
import NIOCore

/// What a broker does with a forwardable request before it forwards it to the controller.
public enum ForwardingPlan: Sendable {
    /// Forward the frame exactly as the client sent it.
    case forwardUnchanged
    /// Nothing is left for the controller: answer the client with this size-prefixed frame.
    case answer(ByteBuffer)
    /// Forward `frame` (header + body, no size prefix) instead of the client's, then turn the
    /// controller's response (header + body, no size prefix) into the client's size-prefixed
    /// response with `reassemble`.
    case forward(ByteBuffer, reassemble: @Sendable (ByteBuffer) throws -> ByteBuffer)
}

/// The part of AlterConfigs (33) and IncrementalAlterConfigs (44) a broker answers itself
/// before forwarding, as Kafka's `KafkaApis.handle(Incremental)AlterConfigsRequest` with
/// `ConfigAdminManager.preprocess`: a BROKER resource naming another broker is refused here,
/// per resource, with Kafka's INVALID_REQUEST "Unexpected broker id, expected X, but received
/// Y" (or "Node id must be an integer, but it is: Y"), because the controller cannot tell which
/// broker the client addressed and accepts any broker id on a forwarded request; every copy of
/// a resource named twice is refused with INVALID_REQUEST "Each resource must appear at most
/// once." (the controller's reassembly could not tell the copies' answers apart). The other
/// resources go to the controller in a request re-encoded without the refused ones (same
/// header and version, as Kafka's `copyWithoutPreprocessed`); the answers are put back in the
/// client's order (`reassembleIncrementalResponse`), a resource the controller did not answer
/// is UNKNOWN_SERVER_ERROR. A request with nothing to refuse, or one that does not decode
/// (the controller answers that), is forwarded as it came.
public struct ForwardedConfigRequests: Sendable {
    public let nodeId: Int32

    public init(nodeId: Int32) { self.nodeId = nodeId }

    struct ResourceResult: Sendable {
        var type: Int8
        var name: String
        var code: Int16
        var message: String?
    }

    public func plan(frame: ByteBuffer) -> ForwardingPlan {
        switch frame.getInteger(at: frame.readerIndex, as: Int16.self) {
        case ApiKey.alterConfigs.rawValue:
            return plan(frame, AlterConfigsRequest.self,
                        resources: { $0.resources.map { ($0.resourceType, $0.resourceName) } },
                        keeping: { r, kept in var r = r; r.resources = kept.map { r.resources[$0] }; return r },
                        results: { ($0.throttleTimeMs, $0.responses.map { ResourceResult(type: $0.resourceType, name: $0.resourceName, code: $0.errorCode, message: $0.errorMessage) }) },
                        response: { throttle, results in
                            AlterConfigsResponse(throttleTimeMs: throttle, responses: results.map {
                                .init(errorCode: $0.code, errorMessage: $0.message, resourceType: $0.type, resourceName: $0.name)
                            })
                        })
        case ApiKey.incrementalAlterConfigs.rawValue:
            return plan(frame, IncrementalAlterConfigsRequest.self,
                        resources: { $0.resources.map { ($0.resourceType, $0.resourceName) } },
                        keeping: { r, kept in var r = r; r.resources = kept.map { r.resources[$0] }; return r },
                        results: { ($0.throttleTimeMs, $0.responses.map { ResourceResult(type: $0.resourceType, name: $0.resourceName, code: $0.errorCode, message: $0.errorMessage) }) },
                        response: { throttle, results in
                            IncrementalAlterConfigsResponse(throttleTimeMs: throttle, responses: results.map {
                                .init(errorCode: $0.code, errorMessage: $0.message, resourceType: $0.type, resourceName: $0.name)
                            })
                        })
        default:
            return .forwardUnchanged
        }
    }

    private func plan<R: KafkaRequest>(
        _ frame: ByteBuffer, _: R.Type,
        resources: (R) -> [(Int8, String)],
        keeping: (R, [Int]) -> R,
        results: @escaping @Sendable (R.Response) -> (Int32, [ResourceResult]),
        response: @escaping @Sendable (Int32, [ResourceResult]) -> R.Response
    ) -> ForwardingPlan {
        var buffer = frame
        guard let header = try? RequestHeader.decode(from: &buffer), let apiKey = header.apiKey,
              let request = try? R(from: &buffer, version: header.requestApiVersion) else { return .forwardUnchanged }
        let version = header.requestApiVersion
        let keys = resources(request)
        let nodeId = nodeId
        let duplicated = ConfigAlteration.duplicatedResources(keys)
        let refusals: [Int: ControllerError] = Dictionary(uniqueKeysWithValues: keys.enumerated().compactMap { i, key in
            if duplicated.contains(ConfigAlteration.ResourceKey(key.0, key.1)) { return (i, ConfigAlteration.duplicateResourceError) }
            return ConfigAlteration.brokerIdRefusal(resourceType: key.0, resourceName: key.1, nodeId: nodeId).map { (i, $0) }
        })
        if refusals.isEmpty { return .forwardUnchanged }
        let kept = keys.indices.filter { refusals[$0] == nil }
        let assemble: @Sendable (Int32, [ResourceResult]) -> R.Response = { throttle, answered in
            response(throttle, keys.enumerated().map { i, key in
                if let refusal = refusals[i] {
                    return ResourceResult(type: key.0, name: key.1, code: refusal.code, message: refusal.message)
                }
                if let hit = answered.first(where: { $0.type == key.0 && $0.name == key.1 }) { return hit }
                return ResourceResult(type: key.0, name: key.1, code: ErrorCode.unknownServerError.rawValue,
                                      message: "The controller returned no result for this resource")
            })
        }
        let correlationId = header.correlationId
        do {
            if kept.isEmpty {
                return .answer(try assemble(0, []).encodeFrame(version: version, correlationId: correlationId))
            }
            var remaining = ByteBuffer()
            try header.encode(into: &remaining, version: apiKey.requestHeaderVersion(apiVersion: version))
            try keeping(request, kept).encode(into: &remaining, version: version)
            return .forward(remaining, reassemble: { data in
                var data = data
                let (_, body) = try R.Response.decode(from: &data, version: version)
                let (throttle, answered) = results(body)
                return try assemble(throttle, answered).encodeFrame(version: version, correlationId: correlationId)
            })
        } catch {
            return .forwardUnchanged
        }
    }
}
