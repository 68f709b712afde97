import KafkaProtocol

/// OffsetCommit (api key 8), versions 0-8.
///
/// Behaviour: stores offsets in `__consumer_offsets` (OffsetCommitValue v3, or v1 when the
/// commit carries a retention time) and answers once they are durable. A commit with
/// generation -1 and no member id is a "simple" commit, accepted only while the group has
/// no members; otherwise member id and generation must match (ILLEGAL_GENERATION,
/// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS during CompletingRebalance).
/// Per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
/// OFFSET_METADATA_TOO_LARGE beyond `offset.metadata.max.bytes`.
///
/// Version notes: v0 has no generation or member id (always a simple commit); v1 adds them
/// and a per-partition commit timestamp; v2-4 carry RetentionTimeMs (-1 = the broker's
/// `offsets.retention.minutes`), dropped in v5; v3 adds throttle time; v6 adds the committed
/// leader epoch; v7 adds GroupInstanceId; v8 is flexible. v9 (KIP-848 member epochs) is not
/// advertised.
public struct OffsetCommitHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...8
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: OffsetCommitRequest, context: RequestContext) async throws -> OffsetCommitResponse? {
        let version = context.apiVersion
        // Kafka: READ on the group (else every partition answers GROUP_AUTHORIZATION_FAILED),
        // then READ on each topic (TOPIC_AUTHORIZATION_FAILED, not committed).
        let groupAllowed = authorize(context, .read, .group, request.groupId)
        let deniedTopics = Set(request.topics.map(\.name).filter { !authorize(context, .read, .topic, $0) })
        guard groupAllowed else {
            return Self.uniform(request, ErrorCode.groupAuthorizationFailed.rawValue)
        }
        var entries: [OffsetCommitEntry] = []
        for topic in request.topics where !deniedTopics.contains(topic.name) {
            for p in topic.partitions {
                entries.append(OffsetCommitEntry(
                    topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset,
                    leaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
                    metadata: p.committedMetadata,
                    commitTimestampMs: version == 1 && p.commitTimestamp >= 0 ? p.commitTimestamp : nil))
            }
        }
        let errors = await coordinator.commitOffsets(
            groupId: request.groupId,
            memberId: version >= 1 ? request.memberId : "",
            groupInstanceId: version >= 7 ? request.groupInstanceId : nil,
            generationId: version >= 1 ? request.generationIdOrMemberEpoch : -1,
            retentionTimeMs: (2...4).contains(version) ? request.retentionTimeMs : -1,
            offsets: entries)
        var response = OffsetCommitResponse()
        var index = 0
        response.topics = request.topics.map { topic in
            var t = OffsetCommitResponse.OffsetCommitResponseTopic()
            t.name = topic.name
            t.partitions = topic.partitions.map { p in
                var r = OffsetCommitResponse.OffsetCommitResponsePartition()
                r.partitionIndex = p.partitionIndex
                if deniedTopics.contains(topic.name) {
                    r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                } else {
                    r.errorCode = errors[index].rawValue
                    index += 1
                }
                return r
            }
            return t
        }
        return response
    }

    /// Every requested partition with `code`.
    static func uniform(_ request: OffsetCommitRequest, _ code: Int16) -> OffsetCommitResponse {
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { topic in
            OffsetCommitResponse.OffsetCommitResponseTopic(name: topic.name, partitions: topic.partitions.map {
                OffsetCommitResponse.OffsetCommitResponsePartition(partitionIndex: $0.partitionIndex, errorCode: code)
            })
        }
        return response
    }
}
