import KafkaProtocol

/// OffsetDelete (api key 47), version 0.
///
/// Behaviour: deletes committed offsets (tombstones) of a group. A group with members keeps
/// the offsets of topics its members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC per partition);
/// a non-`consumer` group with members refuses everything (NON_EMPTY_GROUP); an unknown
/// group gets GROUP_ID_NOT_FOUND.
public struct OffsetDeleteHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...0
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: OffsetDeleteRequest, context: RequestContext) async throws -> OffsetDeleteResponse? {
        guard authorize(context, .delete, .group, request.groupId) else {
            var denied = OffsetDeleteResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        let partitions = request.topics.flatMap { topic in
            topic.partitions.map { GroupTopicPartition(topic: topic.name, partition: $0.partitionIndex) }
        }
        let (error, results) = await coordinator.deleteOffsets(groupId: request.groupId, partitions: partitions)
        var response = OffsetDeleteResponse()
        response.errorCode = error.rawValue
        guard error == .none else { return response }
        var errors: [GroupTopicPartition: GroupErrorCode] = [:]
        for (tp, e) in results { errors[tp] = e }
        response.topics = request.topics.map { topic in
            var t = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            t.name = topic.name
            t.partitions = topic.partitions.map { p in
                var r = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                r.partitionIndex = p.partitionIndex
                r.errorCode = (errors[GroupTopicPartition(topic: topic.name, partition: p.partitionIndex)] ?? .none).rawValue
                return r
            }
            return t
        }
        return response
    }
}
