import Foundation

/// BENCHMARK ONLY. A generated cluster of a chosen size (topics x partitions, groups) used
/// to measure the sampler and the screens at scales no test machine hosts (issue 6 asks for
/// 10,000 partitions and 1,000 groups). It is reachable only through the hidden
/// `samsa console --benchmark-synthetic` flag and never from the interactive console: the
/// product shows real clusters only.
///
/// Each sample advances end offsets and commits deterministically, so rates, lag trends and
/// verdicts are computed exactly as for a real cluster.
public final class SyntheticClusterSource: ClusterDataSource, @unchecked Sendable {
    public let displayName = "synthetic-benchmark"
    public let topics: Int
    public let partitionsPerTopic: Int
    public let groups: Int
    public let brokers: Int32 = 3
    private let lock = NSLock()
    private var round: Int64 = 0

    public init(partitions: Int, groups: Int, partitionsPerTopic: Int = 10) {
        self.partitionsPerTopic = partitionsPerTopic
        self.topics = max(1, partitions / partitionsPerTopic)
        self.groups = groups
    }

    private func tick() -> Int64 { lock.withLock { round += 1; return round } }
    private var currentRound: Int64 { lock.withLock { round } }

    public func fetchMetadata() async throws -> ClusterMetadata {
        _ = tick()
        return ClusterMetadata(clusterId: "synthetic", controllerId: 1,
                               brokers: (1...brokers).map { BrokerEndpoint(id: $0, host: "10.0.0.\($0)", port: 9092) },
                               topics: (0..<topics).map { t in
                                   TopicMetadata(name: String(format: "topic-%05d", t), partitions: (0..<partitionsPerTopic).map { p in
                                       let leader = Int32((t + p) % Int(brokers)) + 1
                                       let follower = leader % brokers + 1
                                       return PartitionMetadata(partition: Int32(p), leader: leader, replicas: [leader, follower],
                                                                isr: (t + p) % 97 == 0 ? [leader] : [leader, follower])
                                   })
                               })
    }

    public func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets] {
        let r = currentRound
        var out: [TopicPartition: PartitionOffsets] = [:]
        out.reserveCapacity(partitions.count)
        for tp in partitions { out[tp] = PartitionOffsets(logStart: 0, end: r * 100 + Int64(tp.partition)) }
        return out
    }

    public func fetchLogDirs(brokers ids: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>] {
        var out: [Int32: Result<BrokerLogDirs, SourceError>] = [:]
        for id in ids { out[id] = .success(BrokerLogDirs(brokerId: id, totalBytes: Int64(topics * partitionsPerTopic) * 1_000_000, partitionBytes: [:])) }
        return out
    }

    /// Group g consumes topic g % topics; odd groups keep up, even ones fall behind.
    public func fetchGroups() async throws -> [GroupDescription] {
        (0..<groups).map { g in
            let topic = String(format: "topic-%05d", g % topics)
            return GroupDescription(groupId: String(format: "group-%04d", g), state: "Stable", assignor: "range",
                                    members: [GroupMember(memberId: "m-\(g)", clientId: "client-\(g)", host: "/10.1.0.\(g % 250)",
                                                          assignment: (0..<partitionsPerTopic).map { TopicPartition(topic, Int32($0)) })],
                                    coordinator: Int32(g % Int(brokers)) + 1)
        }
    }

    public func fetchCommittedOffsets(groups gs: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]] {
        let r = currentRound
        var out: [String: [TopicPartition: Int64]] = [:]
        for (g, desc) in gs.enumerated() {
            var m: [TopicPartition: Int64] = [:]
            for tp in desc.members.flatMap(\.assignment) { m[tp] = g % 2 == 1 ? r * 100 : r * 60 }
            out[desc.groupId] = m
        }
        return out
    }

    public func fetchTopicConfigs(_ names: [String]) async throws -> [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, ["retention.ms": "604800000"]) })
    }
}
