/// The broker config keys Samsa understands, with Kafka's names, types and defaults
/// (from Kafka's `ServerConfigs`, `ServerLogConfigs`, `SocketServerConfigs`,
/// `GroupCoordinatorConfig`, `ReplicationConfigs`). A key not in this table is reported as a
/// warning at start-up and otherwise ignored, as Kafka does for unknown keys.
public enum BrokerConfigKeys {
    public static let all: [ConfigDefinition] = [
        // Identity and listeners
        .init("node.id", .int, default: "-1", .range(min: -1, max: nil),
              doc: "The node id of this server. broker.id is accepted as a synonym; 1 is used when neither is set."),
        .init("broker.id", .int, default: "-1", .range(min: -1, max: nil), doc: "Synonym of node.id."),
        .init("cluster.id", .string, default: nil,
              doc: "Cluster id. Generated on first start and kept in meta.properties in every log dir when unset."),
        .init("process.roles", .list, default: "broker,controller", .listOf(["broker", "controller"]),
              doc: "The roles this process plays. A single Samsa node is its own controller."),
        .init("listeners", .list, default: "PLAINTEXT://:9092", .nonEmpty,
              doc: "Comma-separated listener URIs NAME://host:port. An empty host binds every interface."),
        .init("advertised.listeners", .list, default: nil,
              doc: "Listeners published to clients in Metadata. Defaults to listeners."),
        .init("listener.security.protocol.map", .list,
              default: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
              doc: "Map from listener name to security protocol. Only PLAINTEXT is supported."),
        .init("inter.broker.listener.name", .string, default: nil, doc: "Listener used between brokers."),
        .init("controller.listener.names", .list, default: nil, doc: "Listeners used by the controller."),
        .init("controller.quorum.voters", .list, default: nil, doc: "Controller quorum voters (id@host:port)."),
        .init("controller.quorum.bootstrap.servers", .list, default: nil,
              doc: "Controller endpoints (host:port) used to discover the quorum (KIP-853)."),
        .init("broker.rack", .string, default: nil, doc: "Rack of this broker, reported in Metadata."),
        // Network
        .init("num.network.threads", .int, default: "3", .range(min: 1, max: nil),
              doc: "Threads serving the network (event loops)."),
        .init("num.io.threads", .int, default: "8", .range(min: 1, max: nil), doc: "Accepted for compatibility."),
        .init("socket.send.buffer.bytes", .int, default: "102400", doc: "SO_SNDBUF; -1 uses the OS default."),
        .init("socket.receive.buffer.bytes", .int, default: "102400", doc: "SO_RCVBUF; -1 uses the OS default."),
        .init("socket.request.max.bytes", .int, default: "104857600", .range(min: 1, max: nil),
              doc: "The largest request frame accepted; a bigger frame closes the connection."),
        .init("connections.max.idle.ms", .long, default: "600000",
              doc: "Idle connections are closed after this many milliseconds."),
        .init("queued.max.requests", .int, default: "500", .range(min: 1, max: nil),
              doc: "Requests read ahead per connection before reading pauses."),
        // Logs
        .init("log.dirs", .list, default: nil, doc: "Directories holding the log data. Overrides log.dir."),
        .init("log.dir", .string, default: "/tmp/kafka-logs", doc: "Directory holding the log data."),
        .init("num.partitions", .int, default: "1", .range(min: 1, max: nil),
              doc: "Default number of partitions for auto-created topics and CreateTopics with -1."),
        .init("default.replication.factor", .int, default: "1", .range(min: 1, max: Int64(Int16.max)),
              doc: "Default replication factor of created topics."),
        .init("auto.create.topics.enable", .boolean, default: "true",
              doc: "Create topics when a client asks Metadata for one that does not exist."),
        .init("delete.topic.enable", .boolean, default: "true", doc: "Allow DeleteTopics."),
        .init("num.recovery.threads.per.data.dir", .int, default: "2", .range(min: 1, max: nil),
              doc: "Accepted for compatibility."),
        .init("log.retention.hours", .int, default: "168", doc: "Hours to keep a log segment."),
        .init("log.retention.minutes", .int, default: nil, doc: "Minutes to keep a log segment; overrides hours."),
        .init("log.retention.ms", .long, default: nil, .range(min: -1, max: nil), dynamic: true,
              doc: "Milliseconds to keep a log segment; overrides minutes. -1 keeps forever."),
        .init("log.retention.bytes", .long, default: "-1", dynamic: true,
              doc: "Bytes a partition may hold before old segments are deleted. -1 is unlimited."),
        .init("log.retention.check.interval.ms", .long, default: "300000", .range(min: 1, max: nil),
              doc: "How often retention is checked."),
        .init("log.segment.bytes", .int, default: "1073741824", .range(min: 14, max: nil), dynamic: true,
              doc: "Maximum size of a single segment file."),
        .init("log.roll.hours", .int, default: "168", .range(min: 1, max: nil), doc: "Hours before a new segment is rolled."),
        .init("log.roll.ms", .long, default: nil, dynamic: true, doc: "Milliseconds before a segment is rolled; overrides hours."),
        .init("log.index.interval.bytes", .int, default: "4096", .range(min: 0, max: nil), dynamic: true,
              doc: "Bytes between offset index entries."),
        .init("log.index.size.max.bytes", .int, default: "10485760", .range(min: 4, max: nil), dynamic: true,
              doc: "Maximum size of an offset index file."),
        .init("log.cleanup.policy", .list, default: "delete", .listOf(["delete", "compact"]), dynamic: true,
              doc: "Default cleanup policy of topics."),
        .init("log.cleaner.enable", .boolean, default: "true", doc: "Run the log cleaner for compacted topics."),
        .init("log.cleaner.delete.retention.ms", .long, default: "86400000", dynamic: true,
              doc: "How long tombstones are kept."),
        .init("log.cleaner.min.cleanable.ratio", .double, default: "0.5", .doubleRange(min: 0, max: 1), dynamic: true,
              doc: "Minimum dirty ratio before a log is cleaned."),
        .init("log.cleaner.min.compaction.lag.ms", .long, default: "0", dynamic: true,
              doc: "Minimum age of a record before it may be compacted."),
        .init("log.cleaner.max.compaction.lag.ms", .long, default: "9223372036854775807", .range(min: 1, max: nil),
              dynamic: true, doc: "Maximum time a record stays uncompacted."),
        .init("log.flush.interval.messages", .long, default: "9223372036854775807", .range(min: 1, max: nil),
              dynamic: true, doc: "Messages accumulated in a partition before it is fsynced."),
        .init("log.flush.interval.ms", .long, default: nil, dynamic: true,
              doc: "Milliseconds a message may stay unflushed; defaults to log.flush.scheduler.interval.ms."),
        .init("log.flush.scheduler.interval.ms", .long, default: "9223372036854775807",
              doc: "How often the flusher checks whether a log needs flushing."),
        .init("log.flush.offset.checkpoint.interval.ms", .int, default: "60000", .range(min: 0, max: nil),
              doc: "How often recovery points are checkpointed."),
        .init("log.message.timestamp.type", .string, default: "CreateTime", .oneOf(["CreateTime", "LogAppendTime"]),
              dynamic: true, doc: "Default timestamp type of topics."),
        .init("log.preallocate", .boolean, default: "false", dynamic: true, doc: "Preallocate segment files."),
        .init("compression.type", .string, default: "producer",
              .oneOf(["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]), dynamic: true,
              doc: "Final compression of topics; producer keeps the producer's codec."),
        .init("message.max.bytes", .int, default: "1048588", .range(min: 0, max: nil), dynamic: true,
              doc: "Largest record batch size allowed."),
        .init("min.insync.replicas", .int, default: "1", .range(min: 1, max: nil), dynamic: true,
              doc: "Replicas that must acknowledge an acks=all write."),
        .init("unclean.leader.election.enable", .boolean, default: "false", dynamic: true,
              doc: "Allow out-of-sync replicas to become leader."),
        .init("replica.lag.time.max.ms", .long, default: "30000", doc: "Follower lag before it leaves the ISR."),
        // Groups and offsets
        .init("offsets.topic.num.partitions", .int, default: "50", .range(min: 1, max: nil),
              doc: "Partitions of __consumer_offsets (fixed once the topic exists)."),
        .init("offsets.topic.replication.factor", .short, default: "3", .range(min: 1, max: nil),
              doc: "Replication factor of __consumer_offsets; capped at the live brokers."),
        .init("offsets.topic.segment.bytes", .int, default: "104857600", .range(min: 1, max: nil),
              doc: "Segment size of __consumer_offsets."),
        .init("offsets.retention.minutes", .int, default: "10080", .range(min: 1, max: nil),
              doc: "How long committed offsets of empty groups are kept."),
        .init("offsets.retention.check.interval.ms", .long, default: "600000", .range(min: 1, max: nil),
              doc: "How often expired offsets are removed."),
        .init("offset.metadata.max.bytes", .int, default: "4096", .range(min: 0, max: nil),
              doc: "Largest metadata string an offset commit may carry."),
        .init("group.initial.rebalance.delay.ms", .int, default: "3000", .range(min: 0, max: nil),
              doc: "Delay of the first rebalance of an empty group, to let more members join."),
        .init("group.min.session.timeout.ms", .int, default: "6000", doc: "Smallest session timeout allowed."),
        .init("group.max.session.timeout.ms", .int, default: "1800000", doc: "Largest session timeout allowed."),
        .init("group.max.size", .int, default: "2147483647", .range(min: 1, max: nil), doc: "Largest group allowed."),
        // Transactions (accepted so that stock configs load)
        .init("transaction.state.log.replication.factor", .short, default: "3", .range(min: 1, max: nil),
              doc: "Replication factor of the transaction state topic."),
        .init("transaction.state.log.min.isr", .int, default: "2", .range(min: 1, max: nil),
              doc: "min.insync.replicas of the transaction state topic."),
        .init("transaction.state.log.num.partitions", .int, default: "50", .range(min: 1, max: nil),
              doc: "Partitions of the transaction state topic."),
        .init("transactional.id.expiration.ms", .int, default: "604800000", .range(min: 1, max: nil),
              doc: "How long an idle transactional id is kept."),
        .init("producer.id.expiration.ms", .int, default: "86400000", .range(min: 1, max: nil),
              doc: "How long idle producer ids are kept."),
        .init("share.coordinator.state.topic.replication.factor", .short, default: "3", doc: "Accepted for compatibility."),
        .init("share.coordinator.state.topic.min.isr", .short, default: "2", doc: "Accepted for compatibility."),
        .init("metadata.log.dir", .string, default: nil, doc: "Directory of the metadata log; defaults to the first log dir."),
    ]

    /// Definitions by name.
    public static let byName: [String: ConfigDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Kafka's own default of every key that has one (DescribeConfigs' DEFAULT_CONFIG layer).
    public static let staticDefaults: [String: String] = all.reduce(into: [:]) { out, d in
        if let v = d.defaultValue { out[d.name] = v }
    }

    /// The keys that set one logical value, most specific first, as Kafka's
    /// `DynamicBrokerConfig.brokerConfigSynonyms` groups them; any other key stands alone.
    public static func synonymGroup(_ name: String) -> [String] {
        for group in synonymGroups where group.contains(name) { return group }
        return [name]
    }

    private static let synonymGroups: [[String]] = [
        ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
        ["log.roll.ms", "log.roll.hours"],
        ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
    ]
}
