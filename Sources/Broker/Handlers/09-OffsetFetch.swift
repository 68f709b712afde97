import KafkaProtocol

/// OffsetFetch (api key 9), versions 0-8.
///
/// Behaviour: returns committed offsets; a partition without one gets offset -1, leader
/// epoch -1 and metadata "". Offsets become visible once their commit is durable, so
/// RequireStable never yields UNSTABLE_OFFSET_COMMIT (there are no transactional offsets).
///
/// Version notes: v0-1 carry errors only per partition; v2 adds a top-level error and a
/// null topic list meaning "every partition the group committed"; v3 adds throttle time;
/// v5 returns the committed leader epoch; v6 is flexible; v7 adds RequireStable; v8 asks
/// for several groups at once (`Groups`) and answers per group. v9 (KIP-848 member epochs)
/// is not advertised.
public struct OffsetFetchHandler: RequestHandler {
    public static let versions: ClosedRange<Int16> = 0...8
    let coordinator: GroupCoordinator

    let authorize: AuthorizeCheck

    public init(coordinator: GroupCoordinator, authorize: @escaping AuthorizeCheck = allowEverything) {
        self.coordinator = coordinator; self.authorize = authorize
    }

    public func handle(_ request: OffsetFetchRequest, context: RequestContext) async throws -> OffsetFetchResponse? {
        let version = context.apiVersion
        var response = OffsetFetchResponse()
        if version >= 8 {
            for group in request.groups {
                var g = OffsetFetchResponse.OffsetFetchResponseGroup()
                g.groupId = group.groupId
                guard authorize(context, .describe, .group, group.groupId) else {
                    g.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                    response.groups.append(g)
                    continue
                }
                let wanted = group.topics.map { $0.map { (topic: $0.name, partitions: $0.partitionIndexes) } }
                let (error, fetchedOffsets) = await coordinator.fetchOffsets(
                    groupId: group.groupId, topics: wanted, requireStable: request.requireStable)
                let offsets = visible(fetchedOffsets, context)
                g.errorCode = error.rawValue
                g.topics = Self.grouped(offsets).map { name, partitions in
                    var t = OffsetFetchResponse.OffsetFetchResponseTopics()
                    t.name = name
                    t.partitions = partitions.map { o in
                        var p = OffsetFetchResponse.OffsetFetchResponsePartitions()
                        p.partitionIndex = o.partition
                        p.committedOffset = o.offset
                        p.committedLeaderEpoch = o.leaderEpoch
                        p.metadata = o.metadata
                        p.errorCode = o.error.rawValue
                        return p
                    }
                    return t
                }
                response.groups.append(g)
            }
            return response
        }
        let wanted = version >= 2
            ? request.topics.map { $0.map { (topic: $0.name, partitions: $0.partitionIndexes) } }
            : (request.topics ?? []).map { (topic: $0.name, partitions: $0.partitionIndexes) }
        guard authorize(context, .describe, .group, request.groupId) else {
            if version >= 2 {
                response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                return response
            }
            response.topics = (wanted ?? []).map { t in
                OffsetFetchResponse.OffsetFetchResponseTopic(name: t.topic, partitions: t.partitions.map {
                    OffsetFetchResponse.OffsetFetchResponsePartition(partitionIndex: $0, committedOffset: -1, metadata: "",
                                                                     errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
                })
            }
            return response
        }
        let (error, fetched) = await coordinator.fetchOffsets(
            groupId: request.groupId, topics: wanted, requireStable: version >= 7 && request.requireStable)
        var offsets = visible(fetched, context)
        if error != .none {
            if version >= 2 {
                response.errorCode = error.rawValue
                return response
            }
            // v0-1 have no top-level error: every requested partition carries it.
            offsets = (wanted ?? []).flatMap { topic in
                topic.partitions.map {
                    FetchedOffset(topic: topic.topic, partition: $0, offset: -1, leaderEpoch: -1, metadata: "", error: error)
                }
            }
        }
        response.topics = Self.grouped(offsets).map { name, partitions in
            var t = OffsetFetchResponse.OffsetFetchResponseTopic()
            t.name = name
            t.partitions = partitions.map { o in
                var p = OffsetFetchResponse.OffsetFetchResponsePartition()
                p.partitionIndex = o.partition
                p.committedOffset = o.offset
                p.committedLeaderEpoch = version >= 5 ? o.leaderEpoch : -1
                p.metadata = o.metadata
                p.errorCode = o.error.rawValue
                return p
            }
            return t
        }
        return response
    }

    /// Kafka hides the committed offsets of topics the principal may not DESCRIBE: asked for by
    /// name they answer TOPIC_AUTHORIZATION_FAILED, and a fetch of every offset leaves them out.
    private func visible(_ offsets: [FetchedOffset], _ context: RequestContext) -> [FetchedOffset] {
        var allowed: [String: Bool] = [:]
        return offsets.compactMap { o in
            let ok = allowed[o.topic] ?? { let v = authorize(context, .describe, .topic, o.topic); allowed[o.topic] = v; return v }()
            if ok { return o }
            var denied = o
            denied.offset = -1
            denied.leaderEpoch = -1
            denied.metadata = ""
            denied.error = .topicAuthorizationFailed
            return denied
        }
    }

    /// Groups offsets by topic, keeping the order topics first appear in.
    static func grouped(_ offsets: [FetchedOffset]) -> [(String, [FetchedOffset])] {
        var order: [String] = []
        var byTopic: [String: [FetchedOffset]] = [:]
        for o in offsets {
            if byTopic[o.topic] == nil { order.append(o.topic) }
            byTopic[o.topic, default: []].append(o)
        }
        return order.map { ($0, byTopic[$0]!) }
    }
}
