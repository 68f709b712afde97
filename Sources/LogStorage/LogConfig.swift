/// A partition log's settings, named and defaulted as Kafka's topic-level configs
/// (`storage/.../log/LogConfig.java`). A value type; `Sendable`.
///
/// Parse topic configs with ``init(topicConfigs:defaults:)`` (keys such as `segment.bytes`) and
/// broker-wide defaults with ``init(brokerProperties:)`` (keys such as `log.segment.bytes`).
public struct LogConfig: Equatable, Sendable {
    /// `cleanup.policy`: what happens to old data.
    public struct CleanupPolicy: OptionSet, Hashable, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let delete = CleanupPolicy(rawValue: 1)
        public static let compact = CleanupPolicy(rawValue: 2)
    }

    /// `message.timestamp.type`.
    public enum TimestampType: String, Sendable {
        case createTime = "CreateTime"
        case logAppendTime = "LogAppendTime"
    }

    /// `segment.bytes`: roll a new segment when the active one would exceed this size.
    public var segmentBytes: Int = 1_073_741_824
    /// `segment.ms`: roll when the active segment's first batch is older than this.
    public var segmentMs: Int64 = 604_800_000
    /// `index.interval.bytes`: bytes of batches between two sparse index entries.
    public var indexIntervalBytes: Int = 4096
    /// `segment.index.bytes`: maximum offset-index size; a full index rolls the segment.
    public var segmentIndexBytes: Int = 10_485_760
    /// `retention.ms`: delete segments whose newest timestamp is older (-1: keep forever).
    public var retentionMs: Int64 = 604_800_000
    /// `retention.bytes`: delete oldest segments while the log is larger (-1: no limit).
    public var retentionBytes: Int64 = -1
    /// `cleanup.policy`: `delete`, `compact` or both.
    public var cleanupPolicy: CleanupPolicy = .delete
    /// `delete.retention.ms`: how long compaction keeps tombstones.
    public var deleteRetentionMs: Int64 = 86_400_000
    /// `min.compaction.lag.ms`: records younger than this are never compacted.
    public var minCompactionLagMs: Int64 = 0
    /// `min.cleanable.dirty.ratio`: compact when this share of the cleanable bytes is dirty.
    public var minCleanableDirtyRatio: Double = 0.5
    /// `flush.messages`: fsync after this many appended records (Int64.max: never by count).
    public var flushMessages: Int64 = .max
    /// `flush.ms`: fsync when the last flush is older than this (Int64.max: never by time).
    public var flushMs: Int64 = .max
    /// `max.message.bytes`: largest record batch accepted.
    public var maxMessageBytes: Int = 1_048_588
    /// `message.timestamp.type`.
    public var timestampType: TimestampType = .createTime
    /// `file.delete.delay.ms`: how long a deleted segment's files linger as `.deleted`.
    public var fileDeleteDelayMs: Int64 = 60_000

    public init() {}

    /// The topic-level keys this type understands, in Kafka's spelling.
    public static let topicKeys: [String] = [
        "segment.bytes", "segment.ms", "index.interval.bytes", "segment.index.bytes", "retention.ms",
        "retention.bytes", "cleanup.policy", "delete.retention.ms", "min.compaction.lag.ms",
        "min.cleanable.dirty.ratio", "flush.messages", "flush.ms", "max.message.bytes",
        "message.timestamp.type", "file.delete.delay.ms",
    ]

    /// Broker key (`server.properties`) for each topic key, as in Kafka's `ServerTopicConfigSynonyms`.
    public static let brokerSynonyms: [String: String] = [
        "segment.bytes": "log.segment.bytes", "segment.ms": "log.roll.ms",
        "index.interval.bytes": "log.index.interval.bytes", "segment.index.bytes": "log.index.size.max.bytes",
        "retention.ms": "log.retention.ms", "retention.bytes": "log.retention.bytes",
        "cleanup.policy": "log.cleanup.policy", "delete.retention.ms": "log.cleaner.delete.retention.ms",
        "min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms",
        "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
        "flush.messages": "log.flush.interval.messages", "flush.ms": "log.flush.interval.ms",
        "max.message.bytes": "message.max.bytes", "message.timestamp.type": "log.message.timestamp.type",
        "file.delete.delay.ms": "log.segment.delete.delay.ms",
    ]

    /// Applies topic-level overrides on top of `defaults`. Keys this type does not know
    /// (`min.insync.replicas`, ...) are ignored: they belong to the broker.
    public init(topicConfigs: [String: String], defaults: LogConfig = LogConfig()) throws(LogConfigError) {
        self = defaults
        for (key, value) in topicConfigs { try set(key, value) }
    }

    /// Broker-wide defaults from `server.properties` keys (`log.segment.bytes`, `log.retention.hours`, ...).
    /// Like Kafka, `log.retention.ms` beats `log.retention.minutes` beats `log.retention.hours`,
    /// and `log.roll.ms` beats `log.roll.hours`.
    public init(brokerProperties: [String: String]) throws(LogConfigError) {
        self.init()
        for (topicKey, brokerKey) in Self.brokerSynonyms {
            if let value = brokerProperties[brokerKey] { try set(topicKey, value) }
        }
        if brokerProperties["log.retention.ms"] == nil {
            if let minutes = brokerProperties["log.retention.minutes"] {
                retentionMs = try Self.long("log.retention.minutes", minutes, min: -1) * 60_000
            } else if let hours = brokerProperties["log.retention.hours"] {
                retentionMs = try Self.long("log.retention.hours", hours, min: -1) * 3_600_000
            }
            if retentionMs < 0 { retentionMs = -1 }
        }
        if brokerProperties["log.roll.ms"] == nil, let hours = brokerProperties["log.roll.hours"] {
            segmentMs = try Self.long("log.roll.hours", hours, min: 1) * 3_600_000
        }
    }

    /// Sets one topic-level key, validating it as Kafka does. Unknown keys are ignored.
    public mutating func set(_ key: String, _ value: String) throws(LogConfigError) {
        switch key {
        case "segment.bytes": segmentBytes = Int(try Self.long(key, value, min: 14, max: Int64(Int32.max)))
        case "segment.ms": segmentMs = try Self.long(key, value, min: 1)
        case "index.interval.bytes": indexIntervalBytes = Int(try Self.long(key, value, min: 0, max: Int64(Int32.max)))
        case "segment.index.bytes": segmentIndexBytes = Int(try Self.long(key, value, min: 4, max: Int64(Int32.max)))
        case "retention.ms": retentionMs = try Self.long(key, value, min: -1)
        case "retention.bytes": retentionBytes = try Self.long(key, value, min: .min)
        case "cleanup.policy":
            var policy: CleanupPolicy = []
            for part in value.split(separator: ",") {
                switch part.trimmingWhitespace().lowercased() {
                case "delete": policy.insert(.delete)
                case "compact": policy.insert(.compact)
                case "": continue
                default: throw .invalidValue(key: key, value: value, reason: "expected delete and/or compact")
                }
            }
            cleanupPolicy = policy
        case "delete.retention.ms": deleteRetentionMs = try Self.long(key, value, min: 0)
        case "min.compaction.lag.ms": minCompactionLagMs = try Self.long(key, value, min: 0)
        case "min.cleanable.dirty.ratio":
            guard let ratio = Double(value.trimmingWhitespace()), ratio >= 0, ratio <= 1 else {
                throw .invalidValue(key: key, value: value, reason: "expected a number in [0, 1]")
            }
            minCleanableDirtyRatio = ratio
        case "flush.messages": flushMessages = try Self.long(key, value, min: 1)
        case "flush.ms": flushMs = try Self.long(key, value, min: 0)
        case "max.message.bytes": maxMessageBytes = Int(try Self.long(key, value, min: 0, max: Int64(Int32.max)))
        case "message.timestamp.type":
            guard let type = TimestampType(rawValue: value.trimmingWhitespace()) else {
                throw .invalidValue(key: key, value: value, reason: "expected CreateTime or LogAppendTime")
            }
            timestampType = type
        case "file.delete.delay.ms": fileDeleteDelayMs = try Self.long(key, value, min: 0)
        default: break
        }
    }

    /// Every topic-level key with its current value, as DescribeConfigs would show it.
    public var topicConfigs: [String: String] {
        var policy: [String] = []
        if cleanupPolicy.contains(.delete) { policy.append("delete") }
        if cleanupPolicy.contains(.compact) { policy.append("compact") }
        return [
            "segment.bytes": String(segmentBytes), "segment.ms": String(segmentMs),
            "index.interval.bytes": String(indexIntervalBytes), "segment.index.bytes": String(segmentIndexBytes),
            "retention.ms": String(retentionMs), "retention.bytes": String(retentionBytes),
            "cleanup.policy": policy.joined(separator: ","), "delete.retention.ms": String(deleteRetentionMs),
            "min.compaction.lag.ms": String(minCompactionLagMs),
            "min.cleanable.dirty.ratio": String(minCleanableDirtyRatio),
            "flush.messages": String(flushMessages), "flush.ms": String(flushMs),
            "max.message.bytes": String(maxMessageBytes), "message.timestamp.type": timestampType.rawValue,
            "file.delete.delay.ms": String(fileDeleteDelayMs),
        ]
    }

    /// Offset-index entries that fit in `segment.index.bytes` (8 bytes each).
    var maxIndexEntries: Int { max(1, segmentIndexBytes / OffsetIndex.entrySize) }

    private static func long(_ key: String, _ value: String, min: Int64, max: Int64 = .max) throws(LogConfigError) -> Int64 {
        guard let n = Int64(value.trimmingWhitespace()) else {
            throw .invalidValue(key: key, value: value, reason: "expected an integer")
        }
        guard n >= min, n <= max else {
            throw .invalidValue(key: key, value: value, reason: "expected a value in [\(min), \(max)]")
        }
        return n
    }
}

/// A config value Kafka would reject (maps to INVALID_CONFIG, error code 40).
public enum LogConfigError: Error, Equatable, Sendable {
    case invalidValue(key: String, value: String, reason: String)
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
