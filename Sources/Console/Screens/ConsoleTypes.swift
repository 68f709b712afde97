import Foundation
import KafkaClient

/// The console's panes. The top-level three are reached with Tab or 1/2/3; the others by
/// drilling down with Enter or through the `:` palette.
public enum PaneKind: Hashable, Sendable {
    case brokers, topics, groups
    case partitions(topic: String)
    case groupPartitions(group: String)
    case messages(topic: String, partition: Int32?)
    /// A group's members: member id, static instance id, client, host, assignment.
    case groupMembers(group: String)
    /// Every config of a topic or broker with its value, source and flags.
    case configs(ConfigTarget)
    /// The KRaft controller quorum (DescribeQuorum): voters and observers, their lag.
    case quorum
    /// Every ACL binding of the cluster (DescribeAcls, match-any filter), read on demand.
    case acls
    /// SCRAM users with their mechanisms and iterations (DescribeUserScramCredentials).
    case users

    public static let topLevel: [PaneKind] = [.brokers, .topics, .groups]

    var title: String {
        switch self {
        case .brokers: "Brokers"
        case .topics: "Topics"
        case .groups: "Groups"
        case .partitions(let t): t
        case .groupPartitions(let g): g
        case .messages(let t, let p): p.map { "\(t)-\($0) messages" } ?? "\(t) messages"
        case .groupMembers(let g): "\(g) members"
        case .configs(let target): "\(target) configs"
        case .quorum: "Quorum"
        case .acls: "ACLs"
        case .users: "Users"
        }
    }
}

/// How the Messages pane starts reading.
public enum TailStart: Equatable, Sendable {
    /// The last N messages of each partition, then follow.
    case latest(Int)
    case offset(Int64)
    case timestampMs(Int64)
}

public struct TailRequest: Equatable, Sendable {
    public var topic: String
    public var partition: Int32?
    public var start: TailStart
    /// Changes with every new request so late results of an old tail are dropped.
    public var id: Int
    /// At most this many records in total, until `ConsoleEffect.tailLimit` raises it; nil
    /// follows without limit. A pinned view (after a seek) reads only what the user can
    /// scroll to, so the record sought is never pushed out by newer ones.
    public var limit: Int? = nil
}

public struct ProduceSpec: Equatable, Sendable {
    public var topic: String
    public var partition: Int32?
    public var count: Int
    public var sizeBytes: Int
    /// Key pattern: empty for null keys; `{n}` is replaced by the message number.
    public var keyPattern: String
    /// Messages per second; 0 sends as fast as the cluster accepts.
    public var rate: Double

    /// Upper bound of `rate` the dialog accepts (and the executor enforces).
    public static let maxRate = 1_000_000.0
    /// Upper bound of `count * sizeBytes` for one produce run.
    public static let maxTotalBytes = 1 << 30
    /// Bytes of values sent per produce call, so 1 MB messages do not build 500 MB batches.
    public static let maxBatchBytes = 4 << 20

    /// Why the spec cannot run, nil when it can; checked by the executor as well as the
    /// dialog, so no caller can make the pacing maths trap.
    public var problem: String? {
        if count < 1 { return "message count must be at least 1" }
        if sizeBytes < 0 || sizeBytes > 1_000_000 { return "value size must be 0-1000000 bytes" }
        if !rate.isFinite || rate < 0 || rate > Self.maxRate { return "rate must be 0-\(Int(Self.maxRate)) msg/s" }
        let total = count.multipliedReportingOverflow(by: max(1, sizeBytes))
        if total.overflow || total.partialValue > Self.maxTotalBytes { return "at most \(Self.maxTotalBytes >> 20) MiB per produce run" }
        return nil
    }
}

public enum ResetStrategy: String, CaseIterable, Sendable {
    case earliest, latest, time, offset
    /// Kafka's `--shift-by N`: the committed offset plus N (may be negative), clamped to the log.
    case shiftBy = "shift-by"
}

public struct OffsetResetRequest: Equatable, Sendable {
    public var group: String
    /// Only this topic's partitions; nil for every partition the group has offsets for.
    public var topic: String?
    public var strategy: ResetStrategy
    /// For `time`: epoch milliseconds; for `offset`: the offset; for `shift-by`: N.
    public var value: Int64?

    /// "earliest", "offset 42", "shift by -10", "time 2026-11-26 10:00:00.000 UTC".
    public var targetDescription: String {
        switch strategy {
        case .earliest, .latest: return strategy.rawValue
        case .offset: return "offset \(value.map(String.init) ?? "?")"
        case .shiftBy: return "shift by \(value.map { $0 > 0 ? "+\($0)" : String($0) } ?? "?")"
        case .time: return "time " + (value.map { Format.timestamp.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) + " UTC" } ?? "?")
        }
    }
}

/// One partition of an offset-reset preview: where the group is and where it will be.
public struct OffsetResetRow: Equatable, Sendable {
    public var partition: TopicPartition
    public var current: Int64?
    public var target: Int64
    public var end: Int64?
    public var lagAfter: Int64? { end.map { max(0, $0 - target) } }
}

public struct OffsetResetPlan: Equatable, Sendable {
    public var request: OffsetResetRequest
    public var rows: [OffsetResetRow]
    /// Kafka refuses offset commits from outside an active group; the preview says so.
    public var activeMembers: Int
}

/// Whose configs a Configs pane shows: a topic, or one broker (its per-broker view).
public enum ConfigTarget: Hashable, Sendable, CustomStringConvertible {
    case topic(String)
    case broker(Int32)
    public var description: String {
        switch self {
        case .topic(let t): "topic \(t)"
        case .broker(let id): "broker \(id)"
        }
    }
}

/// Kafka's `ConfigSource` (DescribeConfigs v1+), as the Configs pane names it.
public enum ConfigSourceKind: String, Sendable, Equatable, Codable {
    case topicOverride = "topic override"        // DYNAMIC_TOPIC_CONFIG
    case dynamicBroker = "broker dynamic"         // DYNAMIC_BROKER_CONFIG
    case dynamicClusterDefault = "cluster dynamic" // DYNAMIC_DEFAULT_BROKER_CONFIG
    case staticBroker = "server.properties"       // STATIC_BROKER_CONFIG
    case defaultValue = "default"                 // DEFAULT_CONFIG
    case logger = "logger"                        // DYNAMIC_BROKER_LOGGER_CONFIG
    case unknown = "-"

    public init(kafkaCode: Int8) {
        switch kafkaCode {
        case 1: self = .topicOverride
        case 2: self = .dynamicBroker
        case 3: self = .dynamicClusterDefault
        case 4: self = .staticBroker
        case 5: self = .defaultValue
        case 6: self = .logger
        default: self = .unknown
        }
    }
}

/// One config entry of a topic or broker (DescribeConfigs).
public struct ConfigRow: Sendable, Equatable, Codable {
    public var name: String
    /// nil when the broker hides it (sensitive) or it has no value.
    public var value: String?
    public var source: ConfigSourceKind
    public var isSensitive: Bool
    public var isReadOnly: Bool
    public init(name: String, value: String?, source: ConfigSourceKind, isSensitive: Bool = false, isReadOnly: Bool = false) {
        self.name = name; self.value = value; self.source = source; self.isSensitive = isSensitive; self.isReadOnly = isReadOnly
    }

    /// Whether "remove override" applies to this entry of `target`: a topic's own override,
    /// or a broker's per-broker dynamic value (IncrementalAlterConfigs DELETE on that resource).
    /// A cluster-wide dynamic default lives on the "" resource, not this broker's.
    public func isRemovable(in target: ConfigTarget) -> Bool {
        switch target {
        case .topic: source == .topicOverride
        case .broker: source == .dynamicBroker
        }
    }
}

/// One message to produce from the "Produce message" dialog.
public struct SingleMessage: Equatable, Sendable {
    public var topic: String
    /// nil = the producer's partitioner (murmur2 of the key, as Java and librdkafka).
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [MessageHeader]
    public init(topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?, headers: [MessageHeader]) {
        self.topic = topic; self.partition = partition; self.key = key; self.value = value; self.headers = headers
    }
}

/// Which messages an export writes, and where.
public struct ExportSpec: Equatable, Sendable {
    public var topic: String
    /// nil = every partition.
    public var partition: Int32?
    /// First offset per partition (clamped to the log start).
    public var fromOffset: Int64
    /// Offset to stop before, per partition; nil = up to the end (until a read comes back empty).
    public var toOffset: Int64?
    /// At most this many messages in all.
    public var maxMessages: Int
    public var path: String
}

public enum BrokerOperation: String, Sendable, CaseIterable {
    case stop, start, restart
    /// SIGKILL (`kill -9`): a crash, no graceful shutdown.
    case kill

    /// How dialogs and messages name it: "kill -9" says what actually happens.
    public var verb: String { self == .kill ? "kill -9" : rawValue }
}

/// Which partitions a preferred leader election covers (`:elect preferred [TOPIC[:PARTITION]]`).
public enum ElectionScope: Equatable, Sendable, CustomStringConvertible {
    case partition(TopicPartition)
    case topic(String)
    /// Every partition of the cluster (ElectLeaders with null partitions, as
    /// `kafka-leader-election.sh --all-topic-partitions`).
    case all

    public var description: String {
        switch self {
        case .partition(let tp): "\(tp.topic)-\(tp.partition)"
        case .topic(let t): "every partition of \(t)"
        case .all: "every partition"
        }
    }
}

/// One partition's answer to a preferred leader election.
public struct ElectionOutcome: Equatable, Sendable {
    public var partition: TopicPartition
    /// 0: elected; else Kafka's error code (84 ELECTION_NOT_NEEDED: already on its preferred leader).
    public var errorCode: Int16
    /// Kafka's error name, code and message, verbatim ("PREFERRED_LEADER_NOT_AVAILABLE (error 80): ...").
    public var error: String?
    public init(partition: TopicPartition, errorCode: Int16 = 0, error: String? = nil) {
        self.partition = partition; self.errorCode = errorCode; self.error = error
    }
    public static let electionNotNeeded: Int16 = 84
}

/// A password typed in the console. It never prints: actions are logged ("action failed:
/// \(action)") and a password must not reach the console's log file.
public struct Secret: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<hidden>" }
    public var debugDescription: String { "<hidden>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// A mutation or on-demand read the controller asks the runtime to perform.
public enum ConsoleAction: Equatable, Sendable {
    case createTopic(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String])
    case deleteTopic(String)
    case alterTopicConfig(topic: String, key: String, value: String)
    case produce(ProduceSpec)
    case planOffsetReset(OffsetResetRequest)
    case executeOffsetReset(OffsetResetPlan)
    case broker(BrokerOperation, id: Int32)
    case addPartitions(topic: String, total: Int32)
    case deleteGroup(String)
    case produceMessage(SingleMessage)
    /// Reads a topic's or broker's configs (not a mutation).
    case describeConfigs(ConfigTarget)
    case setConfig(ConfigTarget, key: String, value: String)
    /// Removes an override (IncrementalAlterConfigs DELETE): the value falls back to the
    /// next source (broker, then default).
    case deleteConfig(ConfigTarget, key: String)
    /// Writes messages read from the cluster to a file as JSON lines (a read; the file is local).
    case exportMessages(ExportSpec)
    /// Writes bytes to a local file (a copied message).
    case writeFile(path: String, contents: [UInt8], what: String)
    /// Preferred leader election (ElectLeaders PREFERRED).
    case electPreferred(ElectionScope)
    /// Restarts the local cluster's brokers one at a time, waiting for every ISR to be full
    /// between them (progress arrives as `ConsoleEvent.rollingRestart`).
    case rollingRestart
    /// Moves partitions' replicas (AlterPartitionReassignments); progress follows from the
    /// snapshots' ListPartitionReassignments.
    case reassign(ReassignmentPlan)
    /// Cancels the reassignments under way of these partitions (their replicas go back).
    case cancelReassignments([TopicPartition])
    /// Reads every ACL (DescribeAcls, match-any filter; not a mutation).
    case describeAcls
    /// Creates ACL bindings (CreateAcls), then re-reads the list.
    case createAcls([KafkaAcl.Binding])
    /// Deletes exactly this binding (DeleteAcls with a filter matching only it).
    case deleteAcl(KafkaAcl.Binding)
    /// Reads every SCRAM user (DescribeUserScramCredentials; not a mutation).
    case describeUsers
    /// Creates a SCRAM user or replaces its password for one mechanism (AlterUserScramCredentials upsertion).
    case setUserPassword(user: String, mechanism: ScramUserMechanism, password: Secret, iterations: Int)
    /// Deletes a user's credentials for these mechanisms (AlterUserScramCredentials deletions).
    case deleteUser(user: String, mechanisms: [ScramUserMechanism])

    var isMutation: Bool {
        switch self {
        case .planOffsetReset, .describeConfigs, .exportMessages, .writeFile, .describeAcls, .describeUsers: return false
        default: return true
        }
    }
}

/// What a key press asks the runtime to do (the controller itself does no I/O).
public enum ConsoleEffect: Equatable, Sendable {
    case quit
    case refresh
    case perform(ConsoleAction)
    /// Start (or, with nil, stop) tailing messages.
    case tail(TailRequest?)
    /// Put text on the terminal's clipboard (OSC 52; the terminal may ignore it).
    case clipboard(String)
    /// Changes how many records tail `id` may deliver in total (nil: no limit, following).
    case tailLimit(id: Int, limit: Int?)
    /// Esc during a rolling restart: restart no further broker.
    case cancelRollingRestart
    /// `:cluster NAME`: leave this cluster and open the console on another of the clusters file.
    case switchCluster(String)
    /// `:cluster up N`: leave this cluster, start a local demo cluster of N nodes, open it.
    case startLocalCluster(brokers: Int)
    /// `:cluster down`: stop the local cluster this console started, back to the one before.
    case stopLocalCluster
}

/// Results the runtime posts back to the controller.
public enum ConsoleEvent: Equatable, Sendable {
    case succeeded(String)
    case failed(String)
    /// An action failed; the dialog it came from (if any) reopens with this error.
    case actionFailed(ConsoleAction, String)
    case resetPlan(OffsetResetPlan)
    case messages(tailId: Int, [ConsoleMessage])
    case tailError(tailId: Int, String)
    case configs(ConfigTarget, [ConfigRow])
    case configsFailed(ConfigTarget, String)
    /// A rolling restart's state after each step (the last one is finished).
    case rollingRestart(RollingRestart)
    /// Kafka accepted a reassignment of these partitions: follow it until it is done.
    case reassignmentStarted(String, [TopicPartition])
    /// Every ACL binding, as DescribeAcls answered.
    case acls([KafkaAcl.Binding])
    /// DescribeAcls failed: the text, and Kafka's error code when the broker answered one
    /// (54 SECURITY_DISABLED: no authorizer).
    case aclsFailed(String, code: Int16?)
    case users([ScramUserDescription])
    case usersFailed(String, code: Int16?)
}
