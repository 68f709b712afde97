// DeleteTopics (key 20), versions 0-6.
//
// Behaviour: the controller removes each topic from the metadata image; the replica manager
// then deletes its logs and wakes fetches parked on it. Refused with TOPIC_DELETION_DISABLED
// when delete.topic.enable=false; UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID for names or
// ids that do not exist. Internal topics (__consumer_offsets, __transaction_state,
// __share_group_state) and __cluster_metadata are refused with INVALID_TOPIC_EXCEPTION: Kafka's
// broker would delete them (only its kafka-topics.sh refuses), silently losing every group's
// offsets; see TopicName.deletionRefusal.
// Version notes: v0-5 take names (`topicNames`); v5 adds error messages; v4 flexible;
// v6 takes `topics` entries with a name or a topic id and answers with both.
import KafkaProtocol

public struct DeleteTopicsHandler: RequestHandler {
    public typealias Request = DeleteTopicsRequest
    public static let versions: ClosedRange<Int16> = 0...6

    let services: BrokerServices

    public init(services: BrokerServices) { self.services = services }

    public func handle(_ request: DeleteTopicsRequest, context: RequestContext) async throws -> DeleteTopicsResponse? {
        let version = context.apiVersion
        var response = DeleteTopicsResponse()
        let targets: [(name: String?, id: KafkaUUID)] = version >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, .zero) }
        for target in targets {
            var result = DeleteTopicsResponse.DeletableTopicResult()
            result.name = target.name
            result.topicId = target.id
            let image = services.metadata.image
            let name = target.name ?? image.topicNamesByID[target.id]
            do {
                guard let name else {
                    throw ControllerError(ErrorCode.unknownTopicId.rawValue, "Topic id \(target.id) does not exist")
                }
                guard services.authorize(context, .delete, .topic, name) else {
                    throw ControllerError(ErrorCode.topicAuthorizationFailed.rawValue, "Authorization failed.")
                }
                let id = try await services.controller.deleteTopic(name: name, deletionEnabled: services.config.deleteTopicEnable)
                if version >= 6 { result.name = name; result.topicId = id }
                services.logger.info("Deleted topic \(name)")
            } catch let error as ControllerError {
                result.errorCode = error.code
                if version >= 5 { result.errorMessage = error.message }
            }
            if version < 6, result.name == nil { result.name = "" }
            response.responses.append(result)
        }
        return response
    }
}
