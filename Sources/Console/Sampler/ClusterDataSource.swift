import Foundation
import KafkaClient

/// Read access to a cluster, in the batched shape the sampler needs. Every call answers
/// for the whole cluster in a number of requests proportional to the brokers (one
/// Metadata, ListOffsets per leader, OffsetFetch per coordinator...), never per topic or
/// per group: per-item fan-out is what makes other consoles time out on big clusters.
///
/// Implementations must be safe to call from any task and must time out on their own;
/// the sampler treats a thrown error as "this section is unavailable right now".
public protocol ClusterDataSource: Sendable {
    /// A human-readable name for headers: usually the bootstrap servers.
    var displayName: String { get }
    func fetchMetadata() async throws -> ClusterMetadata
    /// Log start and end (high watermark) offsets of every given partition.
    func fetchOffsets(_ partitions: [TopicPartition], metadata: ClusterMetadata) async throws -> [TopicPartition: PartitionOffsets]
    /// DescribeLogDirs per broker; one result per broker, so one dead broker fails alone.
    func fetchLogDirs(brokers: [Int32]) async -> [Int32: Result<BrokerLogDirs, SourceError>]
    /// ListGroups and DescribeGroups (batched per coordinator).
    func fetchGroups() async throws -> [GroupDescription]
    /// Committed offsets per group (OffsetFetch batched per coordinator).
    func fetchCommittedOffsets(groups: [GroupDescription]) async throws -> [String: [TopicPartition: Int64]]
    /// Topic configs (DescribeConfigs, batched).
    func fetchTopicConfigs(_ topics: [String]) async throws -> [String: [String: String]]
    /// Scrapes of the brokers' Prometheus endpoints, one per endpoint; none when no endpoint
    /// is known (the default), and the console then shows no metrics columns.
    func fetchBrokerMetrics() async -> [BrokerMetricsScrapeResult]
    /// The KRaft controller quorum (DescribeQuorum); nil when the cluster does not report one.
    func fetchQuorum() async throws -> QuorumInfo?
    /// Reassignments under way (ListPartitionReassignments); nil when the cluster does not
    /// support the API.
    func fetchReassignments() async throws -> [OngoingReassignment]?
}

extension ClusterDataSource {
    public func fetchBrokerMetrics() async -> [BrokerMetricsScrapeResult] { [] }
    public func fetchQuorum() async throws -> QuorumInfo? { nil }
    public func fetchReassignments() async throws -> [OngoingReassignment]? { nil }
}

/// A record read for the Messages pane.
public struct ConsoleMessage: Sendable, Equatable, Codable {
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Date?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [MessageHeader]
    public init(partition: Int32, offset: Int64, timestamp: Date?, key: [UInt8]?, value: [UInt8]?, headers: [MessageHeader] = []) {
        self.partition = partition; self.offset = offset; self.timestamp = timestamp; self.key = key; self.value = value; self.headers = headers
    }
}

public struct MessageHeader: Sendable, Equatable, Codable {
    public var key: String
    public var value: [UInt8]?
    public init(key: String, value: [UInt8]?) { self.key = key; self.value = value }
}

/// A message to produce from the console's "produce test messages" action.
public struct OutgoingMessage: Sendable, Equatable {
    public var key: [UInt8]?
    public var value: [UInt8]
    public init(key: [UInt8]?, value: [UInt8]) { self.key = key; self.value = value }
}

/// The mutations and on-demand reads the console's actions need. Separate from the data
/// source so `--read-only` can simply not have one.
public protocol ClusterActions: Sendable {
    func createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) async throws
    func deleteTopic(name: String) async throws
    /// Sets (incrementally) one topic config key.
    func alterTopicConfig(topic: String, key: String, value: String) async throws
    /// Produces messages (to `partition`, or by the client's partitioner when nil);
    /// returns how many were acknowledged.
    func produce(topic: String, partition: Int32?, messages: [OutgoingMessage]) async throws -> Int
    /// The earliest offset whose timestamp is >= `timestampMs`, per partition (ListOffsets by time).
    func offsetsForTime(_ partitions: [TopicPartition], timestampMs: Int64) async throws -> [TopicPartition: Int64]
    /// Commits offsets for a group that has no active members (an offset reset).
    func commitOffsets(group: String, offsets: [TopicPartition: Int64]) async throws
    /// Reads up to `maxCount` records of one partition starting at `offset`.
    func fetchMessages(_ partition: TopicPartition, fromOffset offset: Int64, maxCount: Int) async throws -> [ConsoleMessage]
    /// Raises a topic's partition count to `total` (CreatePartitions).
    func addPartitions(topic: String, total: Int32) async throws
    /// Deletes a consumer group (DeleteGroups; Kafka refuses while it has members).
    func deleteGroup(_ group: String) async throws
    /// Produces one message and returns where it landed.
    func produceMessage(_ message: SingleMessage) async throws -> (partition: Int32, offset: Int64)
    /// Every config of a topic or broker (DescribeConfigs; a read, also in read-only mode).
    func describeConfigs(_ target: ConfigTarget) async throws -> [ConfigRow]
    /// Sets and removes config keys of a topic or broker (IncrementalAlterConfigs SET / DELETE).
    func alterConfigs(_ target: ConfigTarget, set: [String: String], delete: [String]) async throws
    /// Preferred leader elections (ElectLeaders PREFERRED) for `partitions`, or every
    /// partition (nil: Kafka then answers only the partitions that needed one).
    func electPreferredLeaders(_ partitions: [TopicPartition]?) async throws -> [ElectionOutcome]
    /// Starts (a replica list) or cancels (nil) partition reassignments
    /// (AlterPartitionReassignments); Kafka answers per partition.
    func reassign(_ targets: [TopicPartition: [Int32]?]) async throws -> [ReassignmentOutcome]
    /// Every ACL binding (DescribeAcls with the match-any filter; a read, also in read-only mode).
    func describeAcls() async throws -> [KafkaAcl.Binding]
    /// Creates ACL bindings (CreateAcls); throws Kafka's first refusal verbatim.
    func createAcls(_ bindings: [KafkaAcl.Binding]) async throws
    /// Deletes the ACLs exactly matching `binding` (DeleteAcls); returns how many Kafka removed.
    func deleteAcl(_ binding: KafkaAcl.Binding) async throws -> Int
    /// Every SCRAM user (DescribeUserScramCredentials; a read).
    func describeScramUsers() async throws -> [ScramUserDescription]
    /// Creates a SCRAM credential or replaces its password (AlterUserScramCredentials).
    func upsertScramUser(_ user: String, mechanism: ScramUserMechanism, password: String, iterations: Int) async throws
    /// Deletes a user's SCRAM credential for one mechanism (AlterUserScramCredentials).
    func deleteScramUser(_ user: String, mechanism: ScramUserMechanism) async throws
}

extension ClusterActions {
    public func electPreferredLeaders(_ partitions: [TopicPartition]?) async throws -> [ElectionOutcome] {
        throw SourceError("preferred leader election is not supported here", unsupported: true)
    }
    public func reassign(_ targets: [TopicPartition: [Int32]?]) async throws -> [ReassignmentOutcome] {
        throw SourceError("partition reassignment is not supported here", unsupported: true)
    }
    public func describeAcls() async throws -> [KafkaAcl.Binding] { throw SourceError("ACLs are not supported here", unsupported: true) }
    public func createAcls(_ bindings: [KafkaAcl.Binding]) async throws { throw SourceError("ACLs are not supported here", unsupported: true) }
    public func deleteAcl(_ binding: KafkaAcl.Binding) async throws -> Int { throw SourceError("ACLs are not supported here", unsupported: true) }
    public func describeScramUsers() async throws -> [ScramUserDescription] {
        throw SourceError("SCRAM users are not supported here", unsupported: true)
    }
    public func upsertScramUser(_ user: String, mechanism: ScramUserMechanism, password: String, iterations: Int) async throws {
        throw SourceError("SCRAM users are not supported here", unsupported: true)
    }
    public func deleteScramUser(_ user: String, mechanism: ScramUserMechanism) async throws {
        throw SourceError("SCRAM users are not supported here", unsupported: true)
    }
}
