// DescribeConfigs (key 32), versions 0-4.
//
// Behaviour: topic resources (type 2) list every topic config with its effective value and
// source: DYNAMIC_TOPIC_CONFIG for the topic's own overrides, STATIC_BROKER_CONFIG when the
// default comes from a log.* key in server.properties, DYNAMIC_BROKER_CONFIG /
// DYNAMIC_DEFAULT_BROKER_CONFIG when from a dynamic broker config, DEFAULT_CONFIG otherwise;
// synonyms follow Kafka's ConfigHelper (source-major, from the first entry of the primary
// broker key, so retention.ms with only log.retention.hours set has none). Broker resource
// type 4 with this node id lists every broker key Samsa knows, read-only unless dynamically
// alterable; with "" (the cluster default) only the keys that have a dynamic cluster
// default, as Kafka does. configuration_keys (non-null)
// restricts the answer. Unknown topic -> UNKNOWN_TOPIC_OR_PARTITION; another broker's id or
// an unsupported resource type (broker loggers) -> INVALID_REQUEST.
// Version notes: v0 reports is_default instead of a source; v1 adds config_source and
// synonyms (most specific first, only when include_synonyms); v3 adds config_type and
// documentation (when include_documentation); v4 flexible.
import KafkaProtocol

public struct DescribeConfigsHandler: RequestHandler {
    public typealias Request = DescribeConfigsRequest
    public static let versions: ClosedRange<Int16> = 0...4

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DescribeConfigsRequest, context: RequestContext) async throws -> DescribeConfigsResponse? {
        let version = context.apiVersion
        let image = services.metadata.image
        var response = DescribeConfigsResponse()
        for resource in request.resources {
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            result.errorMessage = nil
            if let denied = services.configAuthorizationError(context, resource.resourceType, resource.resourceName, .describeConfigs) {
                result.errorCode = denied.rawValue
                result.errorMessage = "Authorization failed."
                response.results.append(result)
                continue
            }
            let described: [DescribedConfig]
            switch resource.resourceType {
            case 2:
                guard let topic = image.topics[resource.resourceName] else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic \(resource.resourceName) does not exist"
                    response.results.append(result)
                    continue
                }
                described = services.config.describeTopicConfigs(topic.configs, dynamic: image.dynamicBrokerConfigs(nodeId: services.nodeId))
            case 4:
                guard resource.resourceName.isEmpty || resource.resourceName == String(services.nodeId) else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "Unexpected broker id \(resource.resourceName), this is broker \(services.nodeId)"
                    response.results.append(result)
                    continue
                }
                described = services.config.describeBrokerConfigs(dynamic: image.dynamicBrokerConfigs(nodeId: services.nodeId),
                                                                  clusterDefault: resource.resourceName.isEmpty)
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Unsupported resource type \(resource.resourceType)"
                response.results.append(result)
                continue
            }
            let wanted = resource.configurationKeys.map(Set.init)
            for d in described where wanted?.contains(d.name) ?? true {
                var c = DescribeConfigsResponse.DescribeConfigsResourceResult()
                c.name = d.name
                c.value = d.isSensitive ? nil : d.value
                c.readOnly = d.readOnly
                c.isSensitive = d.isSensitive
                if version == 0 {
                    c.isDefault = d.isDefault
                } else {
                    c.configSource = d.source.rawValue
                    if request.includeSynonyms {
                        c.synonyms = d.synonyms.map { .init(name: $0.name, value: $0.value, source: $0.source.rawValue) }
                    }
                }
                if version >= 3 {
                    c.configType = d.type.rawValue
                    c.documentation = request.includeDocumentation ? d.documentation : nil
                }
                result.configs.append(c)
            }
            response.results.append(result)
        }
        return response
    }
}
