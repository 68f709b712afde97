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

    /// Broker configs are static in this version: every key is reported read-only by
    /// DescribeConfigs, and an update is refused the way Kafka refuses a read-only key.
    func refuseBrokerUpdate(_ resourceName: String, keys: [String]) -> ControllerError {
        if !(resourceName.isEmpty || resourceName == String(services.nodeId)) {
            return ControllerError(ErrorCode.invalidRequest.rawValue, "Unexpected broker id \(resourceName)")
        }
        return ControllerError(ErrorCode.invalidRequest.rawValue,
                               "Cannot update these configs dynamically: \(keys.sorted().joined(separator: ", "))")
    }
}
