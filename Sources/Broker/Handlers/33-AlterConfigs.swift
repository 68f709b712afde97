// AlterConfigs (key 33), versions 0-2.
//
// Behaviour: for a topic (type 2) the given configs become the topic's complete override set
// (keys not listed return to their defaults), as in Kafka's non-incremental API. Every key
// and value is validated first (INVALID_CONFIG) and nothing changes unless all are valid.
// validate_only checks without changing anything. Broker resources (type 4; this node id, or
// "" for the cluster default) take Kafka's dynamic broker configs the same way (a complete
// set, persisted in the metadata log); Kafka's dynamic set is accepted (keys Samsa does not
// apply are stored and reported), whatever Kafka refuses is INVALID_REQUEST.
// Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION.
// Version notes: v1 same as v0; v2 flexible. librdkafka's admin client uses v0.
import KafkaProtocol

public struct AlterConfigsHandler: RequestHandler {
    public typealias Request = AlterConfigsRequest
    public static let versions: ClosedRange<Int16> = 0...2

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: AlterConfigsRequest, context: RequestContext) async throws -> AlterConfigsResponse? {
        var response = AlterConfigsResponse()
        var alteration = ConfigAlteration(services: services)
        alteration.forwarded = context.forwarded
        let duplicated = ConfigAlteration.duplicatedResources(request.resources.map { ($0.resourceType, $0.resourceName) })
        for resource in request.resources {
            var result = AlterConfigsResponse.AlterConfigsResourceResponse()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            result.errorMessage = nil
            do throws(ControllerError) {
                if duplicated.contains(ConfigAlteration.ResourceKey(resource.resourceType, resource.resourceName)) {
                    throw ConfigAlteration.duplicateResourceError
                }
                // Another broker's id is refused before authorization, as Kafka's broker does
                // in `ConfigAdminManager.preprocess` (a forwarded request was checked by the
                // broker that forwarded it).
                if !context.forwarded, let refusal = ConfigAlteration.brokerIdRefusal(
                    resourceType: resource.resourceType, resourceName: resource.resourceName, nodeId: services.nodeId) {
                    throw refusal
                }
                if let denied = services.configAuthorizationError(context, resource.resourceType, resource.resourceName, .alterConfigs) {
                    throw ControllerError(denied.rawValue, "Authorization failed.")
                }
                guard resource.resourceType == 2 || resource.resourceType == 4 else {
                    throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unsupported resource type \(resource.resourceType)")
                }
                var configs: [String: String] = [:]
                for c in resource.configs {
                    guard let v = c.value else {
                        throw ControllerError(ErrorCode.invalidConfig.rawValue, "Null value not supported for \(c.name)")
                    }
                    configs[c.name] = v
                }
                if resource.resourceType == 2 {
                    try await alteration.replaceTopicConfigs(resource.resourceName, with: configs, validateOnly: request.validateOnly)
                } else {
                    try await alteration.replaceBrokerConfigs(resource.resourceName, with: configs, validateOnly: request.validateOnly)
                }
            } catch {
                result.errorCode = error.code
                result.errorMessage = error.message
            }
            response.responses.append(result)
        }
        return response
    }
}
