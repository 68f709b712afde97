// IncrementalAlterConfigs (key 44), versions 0-1.
//
// Behaviour: for a topic (type 2) applies each operation to the current overrides:
// SET (0) sets the value, DELETE (1) returns the key to its default, APPEND (2) and
// SUBTRACT (3) add or remove elements of a list-typed key (cleanup.policy), starting from the
// effective value. The result is validated as a whole (INVALID_CONFIG, nothing changed) and
// committed through the controller unless validate_only. A key named twice in one resource,
// or an unknown operation, is INVALID_REQUEST. Broker resources (this node id, or "" for the
// cluster default) take the same operations on their dynamic broker configs: Kafka's dynamic
// set (listener overrides included) is accepted, keys Samsa does not apply are stored and
// reported; whatever Kafka refuses is INVALID_REQUEST (see ConfigAlteration.replaceBrokerConfigs).
// Version notes: v1 flexible.
import KafkaProtocol

public struct IncrementalAlterConfigsHandler: RequestHandler {
    public typealias Request = IncrementalAlterConfigsRequest
    public static let versions: ClosedRange<Int16> = 0...1

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: IncrementalAlterConfigsRequest, context: RequestContext) async throws -> IncrementalAlterConfigsResponse? {
        var response = IncrementalAlterConfigsResponse()
        var alteration = ConfigAlteration(services: services)
        alteration.forwarded = context.forwarded
        let duplicated = ConfigAlteration.duplicatedResources(request.resources.map { ($0.resourceType, $0.resourceName) })
        for resource in request.resources {
            var result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse()
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
                let names = resource.configs.map(\.name)
                guard Set(names).count == names.count else {
                    throw ControllerError(ErrorCode.invalidRequest.rawValue, "A config key appears more than once")
                }
                switch resource.resourceType {
                case 2:
                    guard let topic = services.metadata.image.topics[resource.resourceName] else {
                        throw ControllerError(ErrorCode.unknownTopicOrPartition.rawValue, "Topic \(resource.resourceName) does not exist")
                    }
                    var configs = topic.configs
                    for op in resource.configs {
                        guard let key = TopicConfigKeys.byName[op.name] else {
                            throw ControllerError(ErrorCode.invalidConfig.rawValue, "Unknown topic config \(op.name)")
                        }
                        switch op.configOperation {
                        case 0:
                            guard let v = op.value else {
                                throw ControllerError(ErrorCode.invalidRequest.rawValue, "Null value not supported for SET of \(op.name)")
                            }
                            configs[op.name] = v
                        case 1:
                            configs[op.name] = nil
                        case 2, 3:
                            guard key.definition.type == .list else {
                                throw ControllerError(ErrorCode.invalidConfig.rawValue, "\(op.name) is not a list; APPEND/SUBTRACT need one")
                            }
                            let current = configs[op.name] ?? services.config.effectiveTopicConfig([:], dynamic: services.dynamicBrokerConfigs)[op.name] ?? ""
                            var items = current.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                            let given = (op.value ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                            if op.configOperation == 2 {
                                for g in given where !items.contains(g) { items.append(g) }
                            } else {
                                items.removeAll { given.contains($0) }
                            }
                            configs[op.name] = items.joined(separator: ",")
                        default:
                            throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unknown config operation \(op.configOperation)")
                        }
                    }
                    try await alteration.replaceTopicConfigs(resource.resourceName, with: configs, validateOnly: request.validateOnly)
                case 4:
                    var configs = try alteration.currentBrokerConfigs(resource.resourceName)
                    for op in resource.configs {
                        switch op.configOperation {
                        case 0:
                            guard let v = op.value else {
                                throw ControllerError(ErrorCode.invalidRequest.rawValue, "Null value not supported for SET of \(op.name)")
                            }
                            configs[op.name] = v
                        case 1:
                            configs[op.name] = nil
                        case 2, 3:
                            guard BrokerConfigKeys.definition(op.name)?.type == .list else {
                                throw ControllerError(ErrorCode.invalidConfig.rawValue, "\(op.name) is not a list; APPEND/SUBTRACT need one")
                            }
                            let current = configs[op.name] ?? alteration.effectiveBrokerValue(op.name, resourceName: resource.resourceName)
                            var items = current.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                            let given = (op.value ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
                            if op.configOperation == 2 {
                                for g in given where !items.contains(g) { items.append(g) }
                            } else {
                                items.removeAll { given.contains($0) }
                            }
                            configs[op.name] = items.joined(separator: ",")
                        default:
                            throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unknown config operation \(op.configOperation)")
                        }
                    }
                    try await alteration.replaceBrokerConfigs(resource.resourceName, with: configs, validateOnly: request.validateOnly)
                default:
                    throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unsupported resource type \(resource.resourceType)")
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
