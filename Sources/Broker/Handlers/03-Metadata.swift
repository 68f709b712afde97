// Metadata (key 3), versions 0-12.
//
// Behaviour: brokers (the endpoints of the listener the request arrived on), cluster id,
// controller id, and topics with their partitions' leader, leader epoch, replicas and ISR,
// read from one snapshot of the metadata image. A requested topic that does not exist is
// created with num.partitions/default.replication.factor when auto.create.topics.enable is
// set and the request allows it; otherwise it gets UNKNOWN_TOPIC_OR_PARTITION (or
// INVALID_TOPIC_EXCEPTION for an illegal name, which is never auto-created).
// Version notes:
// * v0: an empty topic list means all topics; v1+: null means all, empty means none.
// * v1 adds rack, controller id, is_internal; v2 cluster id; v4 AllowAutoTopicCreation
//   (before v4 auto-creation is always allowed); v5 offline replicas; v7 leader epoch;
//   v8 authorized operations: when IncludeTopicAuthorizedOperations is set, every topic
//   entry (errors included, as Kafka) gets Kafka's full TOPIC set, and in v8-v10 with
//   IncludeClusterAuthorizedOperations the CLUSTER set: with no authorizer Kafka grants
//   everything (see AuthorizedOperations); otherwise INT32_MIN ("not requested");
//   v9 flexible; v10 topic ids in the response and by-id lookup in the request; v12
//   nullable topic name in the response (for unknown ids).
import KafkaProtocol

public struct MetadataHandler: RequestHandler {
    public typealias Request = MetadataRequest
    public static let versions: ClosedRange<Int16> = 0...12

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: MetadataRequest, context: RequestContext) async throws -> MetadataResponse? {
        let version = context.apiVersion
        var image = services.metadata.image
        var response = MetadataResponse()
        response.clusterId = image.clusterId
        response.controllerId = services.reportedControllerId(image)
        // v11 removed the cluster field (DescribeCluster replaces it); Kafka fills it in v8-v10 only.
        if (8...10).contains(version), request.includeClusterAuthorizedOperations {
            response.clusterAuthorizedOperations = services.authorizedOperations(context, .cluster, AclResources.clusterName)
        }

        let allTopics = request.topics == nil || (version == 0 && request.topics?.isEmpty == true)
        var names: [String] = []
        var unknownIds: [KafkaUUID] = []
        // Authorization (Kafka's handleTopicMetadataRequest): listing every topic shows only those
        // the principal may DESCRIBE; a named one it may not describe answers
        // TOPIC_AUTHORIZATION_FAILED, whether it exists or not, and is never auto-created.
        var unauthorized: Set<String> = []
        if allTopics {
            names = image.topics.keys.sorted().filter { services.authorize(context, .describe, .topic, $0) }
        } else {
            for t in request.topics ?? [] {
                if let name = t.name {
                    if !names.contains(name) { names.append(name) }
                } else if let name = image.topicNamesByID[t.topicId] {
                    if !names.contains(name) { names.append(name) }
                } else {
                    unknownIds.append(t.topicId)
                }
            }
        }

        for name in names where !services.authorize(context, .describe, .topic, name) { unauthorized.insert(name) }

        // Auto-create what is missing (CREATE on the cluster or the topic), then re-read the
        // image so the answer includes it.
        let mayCreate = !allTopics && services.config.autoCreateTopicsEnable && (version < 4 || request.allowAutoTopicCreation)
        var autoCreated: Set<String> = []
        if mayCreate {
            var created = false
            let clusterCreate = services.authorize(context, .create, .cluster, AclResources.clusterName)
            for name in names where image.topics[name] == nil && (try? TopicName.validate(name)) != nil && !unauthorized.contains(name) {
                guard clusterCreate || services.authorize(context, .create, .topic, name) else {
                    unauthorized.insert(name)
                    continue
                }
                if (try? await services.autoCreateTopic(name, principal: context.principal)) == true { created = true; autoCreated.insert(name) }
            }
            if created {
                // On a cluster the controller commits the topic and this broker applies it a
                // moment later: wait briefly so the answer can carry the new partitions.
                image = await Self.imageIncluding(autoCreated, services: services, withinMs: 1000)
            }
        }

        for broker in image.liveBrokers {
            guard let endpoint = broker.endpoints.first(where: { $0.listener == context.listenerName })
                ?? broker.endpoints.first else { continue }
            response.brokers.append(.init(nodeId: broker.id, host: endpoint.host, port: endpoint.port, rack: broker.rack))
        }

        for name in names {
            var topicResponse = MetadataResponse.MetadataResponseTopic()
            topicResponse.name = name
            if unauthorized.contains(name) {
                topicResponse.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                response.topics.append(topicResponse)
                continue
            }
            guard let topic = image.topics[name] else {
                if autoCreated.contains(name) {
                    // Created but not applied here yet: retriable, as Kafka answers for a topic
                    // whose creation is in progress (UNKNOWN_TOPIC_OR_PARTITION made librdkafka
                    // fail the producer's messages after topic.metadata.propagation.max.ms).
                    topicResponse.errorCode = ErrorCode.leaderNotAvailable.rawValue
                } else if (try? TopicName.validate(name)) == nil {
                    topicResponse.errorCode = ErrorCode.invalidTopicException.rawValue
                } else {
                    topicResponse.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                }
                response.topics.append(topicResponse)
                continue
            }
            topicResponse.topicId = topic.id
            topicResponse.isInternal = TopicName.internalTopics.contains(name)
            topicResponse.partitions = topic.partitions.map { p in
                let leaderLive = image.brokers[p.leader].map { !$0.fenced } ?? false
                return MetadataResponse.MetadataResponsePartition(
                    errorCode: leaderLive ? 0 : ErrorCode.leaderNotAvailable.rawValue,
                    partitionIndex: p.partition,
                    leaderId: leaderLive ? p.leader : -1,
                    leaderEpoch: p.leaderEpoch,
                    replicaNodes: p.replicas,
                    isrNodes: p.isr,
                    offlineReplicas: p.replicas.filter { image.brokers[$0]?.fenced ?? true })
            }
            response.topics.append(topicResponse)
        }
        for id in unknownIds {
            var t = MetadataResponse.MetadataResponseTopic()
            t.name = version >= 12 ? nil : ""
            t.topicId = id
            t.errorCode = ErrorCode.unknownTopicId.rawValue
            response.topics.append(t)
        }
        if version >= 8, request.includeTopicAuthorizedOperations {
            for i in response.topics.indices where response.topics[i].errorCode != ErrorCode.topicAuthorizationFailed.rawValue {
                response.topics[i].topicAuthorizedOperations = services.authorizedOperations(context, .topic, response.topics[i].name ?? "")
            }
        }
        return response
    }

    /// The metadata image once it includes every topic of `names`, or after `withinMs`.
    static func imageIncluding(_ names: Set<String>, services: BrokerServices, withinMs: Int) async -> MetadataImage {
        var waited = 0
        while true {
            let image = services.metadata.image
            if names.allSatisfy({ image.topics[$0] != nil }) || waited >= withinMs { return image }
            try? await Task.sleep(for: .milliseconds(10))
            waited += 10
        }
    }
}
