import KafkaProtocol

/// Shared by AlterConfigs and IncrementalAlterConfigs: validates a topic's new override set and
/// commits the difference through the controller.
struct ConfigAlteration {
    let services: BrokerServices
    /// The request was forwarded by another broker (Envelope): this node is the controller,
    /// and a BROKER resource may name any broker, as Kafka's controller accepts (the broker
    /// the client sent it to is the one Kafka's `ConfigAdminManager` checks it against).
    var forwarded = false

    /// Applies `newConfigs` as the complete override set of topic `name`.
    func replaceTopicConfigs(_ name: String, with newConfigs: [String: String], validateOnly: Bool) async throws(ControllerError) {
        guard let topic = services.metadata.image.topics[name] else {
            throw ControllerError(ErrorCode.unknownTopicOrPartition.rawValue, "Topic \(name) does not exist")
        }
        for (k, v) in newConfigs {
            do { try TopicConfigKeys.validate(k, v) } catch {
                throw ControllerError(ErrorCode.invalidConfig.rawValue, "\(error)")
            }
        }
        var changes: [(String, String?)] = []
        for (k, v) in newConfigs.sorted(by: { $0.key < $1.key }) where topic.configs[k] != v { changes.append((k, v)) }
        for k in topic.configs.keys.sorted() where newConfigs[k] == nil { changes.append((k, nil)) }
        do {
            try await services.controller.alterConfigs(resourceType: 2, resourceName: name, changes: changes, validateOnly: validateOnly)
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(ErrorCode.unknownServerError.rawValue, "\(error)")
        }
    }

    /// A config resource (type, name), to find the ones a request names twice.
    struct ResourceKey: Hashable, Sendable {
        let type: Int8
        let name: String
        init(_ type: Int8, _ name: String) { self.type = type; self.name = name }
    }

    /// Kafka's answer to every copy of a resource named more than once in one AlterConfigs or
    /// IncrementalAlterConfigs (`ConfigAdminManager.preprocess`): which copy should win is
    /// undefined, so none is applied.
    static let duplicateResourceError = ControllerError(ErrorCode.invalidRequest.rawValue, "Each resource must appear at most once.")

    /// The resources that appear more than once in `keys` (each gets ``duplicateResourceError``).
    static func duplicatedResources(_ keys: [(Int8, String)]) -> Set<ResourceKey> {
        var seen = Set<ResourceKey>(), twice = Set<ResourceKey>()
        for (type, name) in keys where !seen.insert(ResourceKey(type, name)).inserted { twice.insert(ResourceKey(type, name)) }
        return twice
    }

    /// The refusal of a BROKER (4) resource the receiving broker must answer itself, before
    /// anything is forwarded (Kafka's `ConfigAdminManager.preprocess` /
    /// `validateResourceNameIsCurrentNodeId`): a name that is neither empty (the cluster
    /// default) nor this broker's id. Nil for every other resource. The same check and message
    /// on a node that handles the request itself (single node, active controller) and on one
    /// that forwards it (``ForwardedConfigRequests``).
    static func brokerIdRefusal(resourceType: Int8, resourceName: String, nodeId: Int32) -> ControllerError? {
        guard resourceType == 4, !resourceName.isEmpty else { return nil }
        guard Int32(resourceName) != nil else {
            return ControllerError(ErrorCode.invalidRequest.rawValue, "Node id must be an integer, but it is: \(resourceName)")
        }
        guard Int32(resourceName) == nodeId else {
            return ControllerError(ErrorCode.invalidRequest.rawValue,
                                   "Unexpected broker id, expected \(nodeId), but received \(resourceName)")
        }
        return nil
    }

    /// The current dynamic configs of BROKER resource `resourceName` ("" is the cluster
    /// default, else it must be this broker's id, as a Kafka broker requires; on a forwarded
    /// request any non-negative broker id, as Kafka's `ControllerConfigurationValidator`: the
    /// broker that forwarded it already refused another broker's id).
    func currentBrokerConfigs(_ resourceName: String) throws(ControllerError) -> [String: String] {
        if forwarded {
            if !resourceName.isEmpty {
                guard let id = Int32(resourceName) else {
                    throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unable to parse broker name as a base 10 number.")
                }
                guard id >= 0 else { throw ControllerError(ErrorCode.invalidRequest.rawValue, "Invalid negative broker ID.") }
            }
        } else if let refusal = Self.brokerIdRefusal(resourceType: 4, resourceName: resourceName, nodeId: services.nodeId) {
            throw refusal
        }
        return services.metadata.image.brokerConfigs[resourceName] ?? [:]
    }

    /// The value broker key `name` has now for BROKER resource `resourceName`, the starting
    /// point of APPEND/SUBTRACT: this broker's effective value (dynamic, static or default), or
    /// for the cluster default ("") the value below the per-broker layer.
    func effectiveBrokerValue(_ name: String, resourceName: String) -> String {
        var dynamic = services.dynamicBrokerConfigs
        if resourceName.isEmpty { dynamic.perBroker = [:] }
        if let id = Int32(resourceName), id != services.nodeId {
            dynamic = services.metadata.image.dynamicBrokerConfigs(nodeId: id)
        }
        return dynamic.value(name)?.value ?? services.config.brokerValue(name).value ?? ""
    }

    /// Applies `newConfigs` as the complete dynamic config set of BROKER resource
    /// `resourceName`, committed to the metadata log (so it survives restarts); the replica
    /// manager then re-applies topic defaults to every live log without its own override.
    /// Kafka's dynamic broker configs are accepted (``BrokerConfigKeys/kafkaDynamicConfigs``,
    /// listener overrides included); those Samsa does not apply are stored, logged and
    /// reported as such by DescribeConfigs. Everything Kafka refuses (a read-only key, an SSL
    /// key without listener prefix, a per-broker key on the cluster default, a bad value) is
    /// INVALID_REQUEST with Kafka's message, as Kafka's `ConfigAdminManager` answers. Nothing
    /// changes unless every key is accepted.
    func replaceBrokerConfigs(_ resourceName: String, with newConfigs: [String: String],
                              validateOnly: Bool) async throws(ControllerError) {
        let current = try currentBrokerConfigs(resourceName)
        if let refusal = BrokerConfigKeys.validateDynamic(newConfigs, clusterDefault: resourceName.isEmpty) {
            throw ControllerError(ErrorCode.invalidRequest.rawValue, refusal)
        }
        if !validateOnly {
            let inert = newConfigs.keys.filter { current[$0] != newConfigs[$0] && !BrokerConfigKeys.isAppliedDynamically($0) }
            if !inert.isEmpty {
                services.logger.warning("Stored dynamic broker config(s) \(inert.sorted().joined(separator: ", ")) for resource '\(resourceName)': Kafka accepts them, Samsa does not apply them")
            }
        }
        var changes: [(String, String?)] = []
        for (k, v) in newConfigs.sorted(by: { $0.key < $1.key }) where current[k] != v { changes.append((k, v)) }
        for k in current.keys.sorted() where newConfigs[k] == nil { changes.append((k, nil)) }
        do {
            try await services.controller.alterConfigs(resourceType: 4, resourceName: resourceName, changes: changes,
                                                 validateOnly: validateOnly)
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(ErrorCode.unknownServerError.rawValue, "\(error)")
        }
    }
}
