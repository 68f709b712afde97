// CreateTopics (key 19), versions 0-7.
//
// Behaviour: each topic is validated and created by the controller (Kafka's name rules:
// 1-249 of [a-zA-Z0-9._-], not "." or "..", no '.'/'_' collision with an existing topic;
// config keys and values checked; replication factor not above the live brokers), and is
// visible in Metadata as soon as the response is sent. validate_only (v1+) checks without
// creating. A name given twice in one request gets INVALID_REQUEST for each occurrence.
// Errors: TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
// INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG, INVALID_REQUEST;
// POLICY_VIOLATION when the broker would host more than max.broker.partitions; and
// KAFKA_STORAGE_ERROR when partition logs could not be created (the topic is removed again).
// Version notes: v1 validate_only and error messages; v2 throttle time; v4 -1 partitions /
// replication factor mean the broker defaults; v5 flexible, and the response carries
// partitions, replication factor and the effective configs; v7 topic id.
import KafkaProtocol

public struct CreateTopicsHandler: RequestHandler {
    public typealias Request = CreateTopicsRequest
    public static let versions: ClosedRange<Int16> = 0...7

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: CreateTopicsRequest, context: RequestContext) async throws -> CreateTopicsResponse? {
        let version = context.apiVersion
        var response = CreateTopicsResponse()
        var counts: [String: Int] = [:]
        for t in request.topics { counts[t.name, default: 0] += 1 }
        for t in request.topics {
            var result = CreateTopicsResponse.CreatableTopicResult()
            result.name = t.name
            result.errorMessage = nil
            do {
                guard counts[t.name] == 1 else {
                    throw ControllerError.invalidRequest("Create topics request from client contains multiple entries for the following topics: \(t.name)")
                }
                // Kafka: CREATE on the cluster, or on the topic.
                guard services.authorize(context, .create, .cluster, AclResources.clusterName)
                        || services.authorize(context, .create, .topic, t.name) else {
                    throw ControllerError(ErrorCode.topicAuthorizationFailed.rawValue, "Authorization failed.")
                }
                var configs: [String: String] = [:]
                for c in t.configs {
                    guard let value = c.value else {
                        throw ControllerError.invalidConfig("Null value not supported for topic configs: \(c.name)")
                    }
                    configs[c.name] = value
                }
                var assignments: [Int32: [Int32]] = [:]
                for a in t.assignments { assignments[a.partitionIndex] = a.brokerIds }
                let useDefaults = version >= 4
                let partitions = (t.numPartitions == -1 && useDefaults && assignments.isEmpty) ? services.config.numPartitions : t.numPartitions
                let rf = (t.replicationFactor == -1 && useDefaults && assignments.isEmpty) ? services.config.defaultReplicationFactor : t.replicationFactor
                let created = try await services.controller.createTopic(
                    name: t.name, numPartitions: partitions, replicationFactor: rf, assignments: assignments,
                    configs: configs, validateOnly: request.validateOnly)
                if version >= 7 { result.topicId = request.validateOnly ? .zero : created.id }
                if version >= 5 {
                    result.numPartitions = created.numPartitions
                    result.replicationFactor = created.replicationFactor
                    result.configs = services.config.describeTopicConfigs(configs, dynamic: services.dynamicBrokerConfigs).map { d in
                        .init(name: d.name, value: d.value, readOnly: d.readOnly, configSource: d.source.rawValue,
                              isSensitive: d.isSensitive)
                    }
                }
                if !request.validateOnly {
                    try await checkLogsCreated(topic: t.name, partitions: created.numPartitions)
                    services.logger.info("Created topic \(t.name) (\(created.numPartitions) partitions, id \(created.id))")
                }
            } catch let error as ControllerError {
                result.errorCode = error.code
                if version >= 1 { result.errorMessage = error.message }
            }
            response.topics.append(result)
        }
        return response
    }

    /// The metadata commit hosts the new partitions synchronously; if some logs could not be
    /// created (out of descriptors, disk full...), the topic is removed again and the client
    /// gets KAFKA_STORAGE_ERROR with the reason, instead of a success for a topic whose
    /// partitions do not exist.
    private func checkLogsCreated(topic: String, partitions: Int32) async throws(ControllerError) {
        let image = services.metadata.image
        var failed: [(Int32, String)] = []
        for p in 0..<partitions {
            guard let reg = image.partition(topic, p), reg.replicas.contains(services.nodeId),
                  services.replicas.partition(topic, p) == nil else { continue }
            failed.append((p, services.replicas.openFailure(topic, p) ?? "no log"))
        }
        guard let first = failed.first else { return }
        _ = try? await services.controller.deleteTopic(name: topic, deletionEnabled: true)
        services.logger.error("Creating topic \(topic) failed: \(failed.count) of \(partitions) partition logs could not be created (first: partition \(first.0): \(first.1)); the topic was removed again")
        throw ControllerError(56, "Could not create the logs of \(failed.count) of \(partitions) partitions "
            + "(partition \(first.0): \(first.1)); the topic was not created.")
    }
}
