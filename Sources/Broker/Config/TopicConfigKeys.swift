/// Topic-level config keys (Kafka's `TopicConfig`/`LogConfig`), each with the broker key whose
/// value is the topic default (its "synonym" in DescribeConfigs).
public enum TopicConfigKeys {
    public struct Key: Sendable {
        public let definition: ConfigDefinition
        /// Broker keys that supply the default, most specific first
        /// (`retention.ms` <- `log.retention.ms`, `log.retention.minutes`, `log.retention.hours`).
        public let brokerSynonyms: [String]
        /// Converts the synonym's value into this key's unit (hours -> ms and so on).
        public let synonymScale: [Int64]
    }

    private static func k(_ name: String, _ type: ConfigType, _ def: String?, _ v: ConfigDefinition.Validator? = nil,
                          synonyms: [String], scale: [Int64]? = nil, doc: String) -> Key {
        Key(definition: ConfigDefinition(name, type, default: def, v, dynamic: true, doc: doc),
            brokerSynonyms: synonyms, synonymScale: scale ?? Array(repeating: 1, count: synonyms.count))
    }

    public static let all: [Key] = [
        k("cleanup.policy", .list, "delete", .listOf(["delete", "compact"]), synonyms: ["log.cleanup.policy"],
          doc: "delete removes old segments; compact keeps the last value of each key."),
        k("compression.type", .string, "producer", .oneOf(["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
          synonyms: ["compression.type"], doc: "Final compression of the topic; producer keeps the producer's codec."),
        k("delete.retention.ms", .long, "86400000", .range(min: 0, max: nil), synonyms: ["log.cleaner.delete.retention.ms"],
          doc: "How long tombstones are kept in compacted topics."),
        k("file.delete.delay.ms", .long, "60000", .range(min: 0, max: nil), synonyms: [],
          doc: "Delay before a deleted segment's file is removed."),
        k("flush.messages", .long, "9223372036854775807", .range(min: 1, max: nil), synonyms: ["log.flush.interval.messages"],
          doc: "Messages written before the partition is fsynced."),
        k("flush.ms", .long, "9223372036854775807", .range(min: 0, max: nil),
          synonyms: ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
          doc: "Milliseconds a message may stay unflushed."),
        k("index.interval.bytes", .int, "4096", .range(min: 0, max: nil), synonyms: ["log.index.interval.bytes"],
          doc: "Bytes between offset index entries."),
        k("max.compaction.lag.ms", .long, "9223372036854775807", .range(min: 1, max: nil),
          synonyms: ["log.cleaner.max.compaction.lag.ms"], doc: "Maximum time a record stays uncompacted."),
        k("max.message.bytes", .int, "1048588", .range(min: 0, max: nil), synonyms: ["message.max.bytes"],
          doc: "Largest record batch size allowed."),
        k("message.timestamp.type", .string, "CreateTime", .oneOf(["CreateTime", "LogAppendTime"]),
          synonyms: ["log.message.timestamp.type"], doc: "CreateTime keeps producer timestamps; LogAppendTime stamps broker time."),
        k("message.timestamp.before.max.ms", .long, "9223372036854775807", .range(min: 0, max: nil),
          synonyms: ["log.message.timestamp.before.max.ms"],
          doc: "How far in the past a record timestamp may be (CreateTime topics; else INVALID_TIMESTAMP)."),
        k("message.timestamp.after.max.ms", .long, "3600000", .range(min: 0, max: nil),
          synonyms: ["log.message.timestamp.after.max.ms"],
          doc: "How far in the future a record timestamp may be (CreateTime topics; else INVALID_TIMESTAMP)."),
        k("min.cleanable.dirty.ratio", .double, "0.5", .doubleRange(min: 0, max: 1),
          synonyms: ["log.cleaner.min.cleanable.ratio"], doc: "Minimum dirty ratio before the log is compacted."),
        k("min.compaction.lag.ms", .long, "0", .range(min: 0, max: nil), synonyms: ["log.cleaner.min.compaction.lag.ms"],
          doc: "Minimum age of a record before it may be compacted."),
        k("min.insync.replicas", .int, "1", .range(min: 1, max: nil), synonyms: ["min.insync.replicas"],
          doc: "Replicas that must acknowledge an acks=all write."),
        k("preallocate", .boolean, "false", synonyms: ["log.preallocate"], doc: "Preallocate segment files."),
        k("retention.bytes", .long, "-1", synonyms: ["log.retention.bytes"],
          doc: "Bytes a partition may hold before old segments are deleted; -1 is unlimited."),
        k("retention.ms", .long, "604800000", .range(min: -1, max: nil),
          synonyms: ["log.retention.ms", "log.retention.minutes", "log.retention.hours"], scale: [1, 60_000, 3_600_000],
          doc: "Milliseconds a segment is kept; -1 keeps forever."),
        k("segment.bytes", .int, "1073741824", .range(min: 14, max: nil), synonyms: ["log.segment.bytes"],
          doc: "Maximum size of a segment file."),
        k("segment.index.bytes", .int, "10485760", .range(min: 4, max: nil), synonyms: ["log.index.size.max.bytes"],
          doc: "Maximum size of an offset index file."),
        k("segment.jitter.ms", .long, "0", .range(min: 0, max: nil), synonyms: [],
          doc: "Random jitter subtracted from segment.ms."),
        k("segment.ms", .long, "604800000", .range(min: 1, max: nil), synonyms: ["log.roll.ms", "log.roll.hours"],
          scale: [1, 3_600_000], doc: "Milliseconds before a segment is rolled."),
        k("unclean.leader.election.enable", .boolean, "false", synonyms: ["unclean.leader.election.enable"],
          doc: "Allow out-of-sync replicas to become leader."),
    ]

    public static let byName: [String: Key] = Dictionary(uniqueKeysWithValues: all.map { ($0.definition.name, $0) })

    /// Validates a topic config assignment, as CreateTopics and AlterConfigs do.
    public static func validate(_ name: String, _ value: String) throws(ConfigError) {
        guard let key = byName[name] else { throw .unknownKey(name) }
        _ = try key.definition.parse(value)
    }
}
