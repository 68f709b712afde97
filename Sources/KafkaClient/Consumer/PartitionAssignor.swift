/// The assignment strategies a consumer can offer in JoinGroup, by the protocol names Kafka
/// clients use on the wire (so Swift, Java, librdkafka and kafka-python members of one group
/// agree on a common strategy).
public enum AssignorName: String, Sendable, CaseIterable {
    case range
    case roundRobin = "roundrobin"
    case cooperativeSticky = "cooperative-sticky"

    /// Accepts the wire name or Java's class name (`org.apache.kafka.clients.consumer.RangeAssignor`).
    public init?(configValue: String) {
        let v = configValue.trimmingCharacters(in: .whitespaces)
        if let direct = AssignorName(rawValue: v.lowercased()) { self = direct; return }
        switch v.split(separator: ".").last.map(String.init) {
        case "RangeAssignor": self = .range
        case "RoundRobinAssignor": self = .roundRobin
        case "CooperativeStickyAssignor": self = .cooperativeSticky
        default: return nil
        }
    }

    /// Eager strategies revoke everything at each rebalance; cooperative ones revoke only the
    /// partitions that move (KIP-429).
    public var isCooperative: Bool { self == .cooperativeSticky }

    public var assignor: any PartitionAssignor {
        switch self {
        case .range: return RangeAssignor()
        case .roundRobin: return RoundRobinAssignor()
        case .cooperativeSticky: return CooperativeStickyAssignor()
        }
    }
}

/// One member's subscription as the group leader sees it after JoinGroup.
public struct GroupMemberSubscription: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var topics: [String]
    public var userData: [UInt8]?
    /// Partitions the member owns now (ConsumerProtocolSubscription v1+); sticky assignors keep them.
    public var ownedPartitions: [TopicPartition]
    /// The generation in which the member owned them (v2+), -1 when unknown; resolves two
    /// members claiming one partition after a missed rebalance.
    public var generationId: Int32

    public init(memberId: String, groupInstanceId: String? = nil, topics: [String], userData: [UInt8]? = nil,
                ownedPartitions: [TopicPartition] = [], generationId: Int32 = -1) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationId = generationId
    }

    /// Kafka's `MemberInfo` order: static members (by instance id) first, then by member id.
    /// Every client sorts this way, so a mixed group computes the same range/round-robin result.
    static func kafkaOrder(_ a: GroupMemberSubscription, _ b: GroupMemberSubscription) -> Bool {
        switch (a.groupInstanceId, b.groupInstanceId) {
        case let (x?, y?): return x < y
        case (.some, .none): return true
        case (.none, .some): return false
        case (.none, .none): return a.memberId < b.memberId
        }
    }
}

/// A client-side partition assignment strategy, run by the group leader. Pure: the result
/// depends only on the arguments, so every strategy is tested without a broker.
public protocol PartitionAssignor: Sendable {
    var name: AssignorName { get }
    /// - Parameters:
    ///   - members: every member's subscription.
    ///   - partitionCounts: partition count of every subscribed topic that exists; topics
    ///     missing here are not assigned.
    /// - Returns: member id -> sorted partitions, with an entry (possibly empty) for every member.
    func assign(members: [GroupMemberSubscription], partitionCounts: [String: Int32]) -> [String: [TopicPartition]]
}

/// Kafka's `RangeAssignor`: per topic, the sorted subscribers get contiguous ranges; the first
/// `partitions % subscribers` members get one extra partition.
public struct RangeAssignor: PartitionAssignor {
    public init() {}
    public var name: AssignorName { .range }

    public func assign(members: [GroupMemberSubscription], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        let sorted = members.sorted(by: GroupMemberSubscription.kafkaOrder)
        let topics = Set(members.flatMap(\.topics)).sorted()
        for topic in topics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let subscribers = sorted.filter { $0.topics.contains(topic) }
            let perMember = Int(count) / subscribers.count
            let extra = Int(count) % subscribers.count
            for (i, member) in subscribers.enumerated() {
                let start = perMember * i + min(i, extra)
                let length = perMember + (i < extra ? 1 : 0)
                for p in start..<(start + length) {
                    result[member.memberId, default: []].append(TopicPartition(topic, Int32(p)))
                }
            }
        }
        return result.mapValues { $0.sorted() }
    }
}

/// Kafka's `RoundRobinAssignor`: all partitions sorted by (topic, partition) are dealt to the
/// sorted members in turn, skipping members that do not subscribe to the partition's topic.
public struct RoundRobinAssignor: PartitionAssignor {
    public init() {}
    public var name: AssignorName { .roundRobin }

    public func assign(members: [GroupMemberSubscription], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        let sorted = members.sorted(by: GroupMemberSubscription.kafkaOrder)
        guard !sorted.isEmpty else { return result }
        let subscriptions = sorted.map { Set($0.topics) }
        var cursor = 0
        for topic in Set(members.flatMap(\.topics)).sorted() {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            for p in 0..<count {
                // Some member subscribes to `topic` (it came from a subscription), so this ends.
                while !subscriptions[cursor].contains(topic) { cursor = (cursor + 1) % sorted.count }
                result[sorted[cursor].memberId, default: []].append(TopicPartition(topic, p))
                cursor = (cursor + 1) % sorted.count
            }
        }
        return result
    }
}
