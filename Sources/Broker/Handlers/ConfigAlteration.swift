import KafkaProtocol

/// Shared by AlterConfigs and IncrementalAlterConfigs: validates a topic's new override set and
/// commits the difference through the controller.
struct ConfigAlteration {
    let services: BrokerServices

    /// Applies `newConfigs` as the complete override set of topic `name`.
    func replaceTopicConfigs(_ name: String, with newConfigs: [String: String], validateOnly: Bool) throws(ControllerError) {
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
            try services.controller.alterConfigs(resourceType: 2, resourceName: name, changes: changes, validateOnly: validateOnly)
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(ErrorCode.unknownServerError.rawValue, "\(error)")
        }
    }

    /// The current dynamic configs of BROKER resource `resourceName` ("" is the cluster
    /// default, else it must be this broker's id, as a Kafka broker requires).
    func currentBrokerConfigs(_ resourceName: String) throws(ControllerError) -> [String: String] {
        guard resourceName.isEmpty || resourceName == String(services.nodeId) else {
            throw ControllerError(ErrorCode.invalidRequest.rawValue, "Unexpected broker id \(resourceName)")
        }
        return services.metadata.image.brokerConfigs[resourceName] ?? [:]
    }

    /// The value broker key `name` has now for BROKER resource `resourceName`, the starting
    /// point of APPEND/SUBTRACT: this broker's effective value (dynamic, static or default), or
    /// for the cluster default ("") the value below the per-broker layer.
    func effectiveBrokerValue(_ name: String, resourceName: String) -> String {
        var dynamic = services.dynamicBrokerConfigs
        if resourceName.isEmpty { dynamic.perBroker = [:] }
        return dynamic.value(name)?.value ?? services.config.brokerValue(name).value ?? ""
    }

    /// Applies `newConfigs` as the complete dynamic config set of BROKER resource
    /// `resourceName`, committed to the metadata log (so it survives restarts); the replica
    /// manager then re-applies topic defaults to every live log without its own override.
    /// Only keys Kafka can change dynamically (those DescribeConfigs reports writable) are
    /// accepted; any other is refused with INVALID_REQUEST, as Kafka refuses it, and a bad
    /// value with INVALID_CONFIG. Nothing changes unless every key is accepted.
    func replaceBrokerConfigs(_ resourceName: String, with newConfigs: [String: String],
                              validateOnly: Bool) throws(ControllerError) {
        let current = try currentBrokerConfigs(resourceName)
        let refused = newConfigs.keys.filter { BrokerConfigKeys.byName[$0]?.isDynamic != true }
        guard refused.isEmpty else {
            throw ControllerError(ErrorCode.invalidRequest.rawValue,
                                  "Cannot update these configs dynamically: \(refused.sorted().joined(separator: ", "))")
        }
        for (k, v) in newConfigs {
            do { _ = try BrokerConfigKeys.byName[k]?.parse(v) } catch {
                throw ControllerError(ErrorCode.invalidConfig.rawValue, "\(error)")
            }
        }
        var changes: [(String, String?)] = []
        for (k, v) in newConfigs.sorted(by: { $0.key < $1.key }) where current[k] != v { changes.append((k, v)) }
        for k in current.keys.sorted() where newConfigs[k] == nil { changes.append((k, nil)) }
        do {
            try services.controller.alterConfigs(resourceType: 4, resourceName: resourceName, changes: changes,
                                                 validateOnly: validateOnly)
        } catch let e as ControllerError {
            throw e
        } catch {
            throw ControllerError(ErrorCode.unknownServerError.rawValue, "\(error)")
        }
    }
}
