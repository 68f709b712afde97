import Foundation

/// The console's panes. The top-level three are reached with Tab or 1/2/3; the others by
/// drilling down with Enter or through the `:` palette.
public enum PaneKind: Hashable, Sendable {
    case brokers, topics, groups
    case partitions(topic: String)
    case groupPartitions(group: String)
    case messages(topic: String, partition: Int32?)

    public static let topLevel: [PaneKind] = [.brokers, .topics, .groups]

    var title: String {
        switch self {
        case .brokers: "Brokers"
        case .topics: "Topics"
        case .groups: "Groups"
        case .partitions(let t): t
        case .groupPartitions(let g): g
        case .messages(let t, let p): p.map { "\(t)-\($0) messages" } ?? "\(t) messages"
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
}

public struct OffsetResetRequest: Equatable, Sendable {
    public var group: String
    /// Only this topic's partitions; nil for every partition the group has offsets for.
    public var topic: String?
    public var strategy: ResetStrategy
    /// For `time`: epoch milliseconds; for `offset`: the offset.
    public var value: Int64?
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

public enum BrokerOperation: String, Sendable, CaseIterable {
    case stop, start, restart
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

    var isMutation: Bool {
        if case .planOffsetReset = self { return false }
        return true
    }
}

/// What a key press asks the runtime to do (the controller itself does no I/O).
public enum ConsoleEffect: Equatable, Sendable {
    case quit
    case refresh
    case perform(ConsoleAction)
    /// Start (or, with nil, stop) tailing messages.
    case tail(TailRequest?)
    /// Changes how many records tail `id` may deliver in total (nil: no limit, following).
    case tailLimit(id: Int, limit: Int?)
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
}
