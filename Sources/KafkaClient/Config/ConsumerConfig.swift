/// `auto.offset.reset`: where to start when a partition has no committed offset (or the
/// offset is out of range).
public enum AutoOffsetReset: String, Sendable {
    case earliest, latest, none
}

/// `isolation.level`.
public enum IsolationLevel: Int8, Sendable {
    case readUncommitted = 0
    case readCommitted = 1
}

/// Consumer settings, by Kafka's property names. Defaults are Kafka's.
public struct ConsumerConfig: Sendable {
    public var client: ClientConfig
    /// `group.id`: required for `subscribe` and for commits.
    public var groupId: String?
    /// `group.instance.id`: static membership (KIP-345).
    public var groupInstanceId: String?
    /// `auto.offset.reset` (default latest).
    public var autoOffsetReset: AutoOffsetReset
    /// `enable.auto.commit` (default true) and `auto.commit.interval.ms` (default 5000).
    public var enableAutoCommit: Bool
    public var autoCommitInterval: Duration
    /// `session.timeout.ms` (default 45000), `heartbeat.interval.ms` (default 3000),
    /// `max.poll.interval.ms` (default 300000, sent as the rebalance timeout).
    public var sessionTimeout: Duration
    public var heartbeatInterval: Duration
    public var maxPollInterval: Duration
    /// `fetch.min.bytes` (1), `fetch.max.bytes` (52428800), `max.partition.fetch.bytes`
    /// (1048576), `fetch.max.wait.ms` (500).
    public var fetchMinBytes: Int
    public var fetchMaxBytes: Int
    public var maxPartitionFetchBytes: Int
    public var fetchMaxWait: Duration
    /// `max.poll.records` (default 500).
    public var maxPollRecords: Int
    /// `isolation.level` (default read_uncommitted).
    public var isolationLevel: IsolationLevel
    /// `partition.assignment.strategy` (default range, cooperative-sticky, as in Kafka 3.x+).
    public var assignmentStrategies: [AssignorName]
    /// `check.crcs` (default true): verify each fetched batch's CRC-32C.
    public var checkCRCs: Bool

    public init(properties: ClientProperties) throws {
        client = try ClientConfig(properties: properties)
        groupId = properties["group.id"].flatMap { $0.isEmpty ? nil : $0 }
        groupInstanceId = properties["group.instance.id"].flatMap { $0.isEmpty ? nil : $0 }
        autoOffsetReset = try properties.oneOf("auto.offset.reset", default: .latest,
                                               ["earliest": .earliest, "smallest": .earliest, "beginning": .earliest,
                                                "latest": .latest, "largest": .latest, "end": .latest, "none": .none])
        enableAutoCommit = try properties.bool("enable.auto.commit", default: true)
        autoCommitInterval = try properties.milliseconds("auto.commit.interval.ms", default: 5000)
        sessionTimeout = try properties.milliseconds("session.timeout.ms", default: 45000)
        heartbeatInterval = try properties.milliseconds("heartbeat.interval.ms", default: 3000)
        maxPollInterval = try properties.milliseconds("max.poll.interval.ms", default: 300_000)
        fetchMinBytes = try properties.int("fetch.min.bytes", default: 1, range: 0...Int(Int32.max))
        fetchMaxBytes = try properties.int("fetch.max.bytes", default: 52_428_800, range: 1...Int(Int32.max))
        maxPartitionFetchBytes = try properties.int("max.partition.fetch.bytes", default: 1_048_576, range: 1...Int(Int32.max))
        fetchMaxWait = try properties.milliseconds("fetch.max.wait.ms", default: 500)
        maxPollRecords = try properties.int("max.poll.records", default: 500, range: 1...Int(Int32.max))
        isolationLevel = try properties.oneOf("isolation.level", default: .readUncommitted,
                                              ["read_uncommitted": .readUncommitted, "read_committed": .readCommitted])
        checkCRCs = try properties.bool("check.crcs", default: true)
        let names = properties.list("partition.assignment.strategy", default: ["range", "cooperative-sticky"])
        assignmentStrategies = try names.map { raw in
            guard let name = AssignorName(configValue: raw) else {
                throw KafkaClientError.invalidConfiguration(
                    key: "partition.assignment.strategy", value: raw, reason: "expected range, roundrobin or cooperative-sticky")
            }
            return name
        }
        if heartbeatInterval >= sessionTimeout {
            throw KafkaClientError.invalidConfiguration(
                key: "heartbeat.interval.ms", value: properties["heartbeat.interval.ms"] ?? "3000",
                reason: "must be lower than session.timeout.ms")
        }
    }
}
