// CreatePartitions (key 37), versions 0-3.
//
// Behaviour: grows each topic to `count` partitions; new partitions get the topic's
// replication factor, placed round-robin over live brokers unless `assignments` gives one
// replica list per new partition. The new partitions are hosted (empty logs) before the
// response is sent. validate_only checks without changing anything. A topic named twice in
// one request gets INVALID_REQUEST.
// Errors: UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS (count not above the current one),
// INVALID_REPLICA_ASSIGNMENT, POLICY_VIOLATION (above max.broker.partitions),
// KAFKA_STORAGE_ERROR (a new partition's log could not be created).
// Version notes: v1 same as v0; v2 flexible; v3 same as v2. librdkafka's admin client uses v0.
import KafkaProtocol

public struct CreatePartitionsHandler: RequestHandler {
    public typealias Request = CreatePartitionsRequest
    public static let versions: ClosedRange<Int16> = 0...3

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: CreatePartitionsRequest, context: RequestContext) async throws -> CreatePartitionsResponse? {
        var response = CreatePartitionsResponse()
        var counts: [String: Int] = [:]
        for t in request.topics { counts[t.name, default: 0] += 1 }
        for t in request.topics {
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult()
            result.name = t.name
            do {
                guard counts[t.name] == 1 else {
                    throw ControllerError(ErrorCode.invalidRequest.rawValue, "Duplicate topic in request: \(t.name)")
                }
                guard services.authorize(context, .alter, .topic, t.name) else {
                    throw ControllerError(ErrorCode.topicAuthorizationFailed.rawValue, "Authorization failed.")
                }
                let before = Int32(services.metadata.image.topics[t.name]?.partitions.count ?? 0)
                try await services.controller.createPartitions(topic: t.name, totalCount: t.count,
                                                         assignments: t.assignments?.map(\.brokerIds),
                                                         validateOnly: request.validateOnly)
                if !request.validateOnly {
                    // Partitions cannot be removed again, so a log that failed to open is reported
                    // (it stays offline until the broker can open it, e.g. after a restart).
                    let missing = (before..<t.count).filter { p in
                        services.metadata.image.partition(t.name, p)?.replicas.contains(services.nodeId) == true
                            && services.replicas.partition(t.name, p) == nil
                    }
                    if let first = missing.first {
                        throw ControllerError(56, "The logs of \(missing.count) new partition(s) could not be created "
                            + "(partition \(first): \(services.replicas.openFailure(t.name, first) ?? "no log")).")
                    }
                }
            } catch let error as ControllerError {
                result.errorCode = error.code
                result.errorMessage = error.message
            }
            response.results.append(result)
        }
        return response
    }
}
