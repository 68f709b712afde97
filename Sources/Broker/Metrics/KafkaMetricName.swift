/// A Kafka JMX metric (`domain:type=T,name=N` plus tag keys) and the Prometheus name it is
/// exported under.
///
/// **The one mapping rule** (the JMX exporter's common Kafka rules, made total):
/// `<domain>_<type>_<name>`, lower-cased, every character outside `[a-z0-9_]` turned into
/// `_`; a meter (Kafka's `...PerSec`, counted events) drops the `PerSec` suffix and gains
/// `_total`; a Yammer histogram or timer (`...TimeMs`) becomes a Prometheus histogram of the
/// same base name (`_bucket`/`_sum`/`_count`, observations in the MBean's unit, milliseconds);
/// a gauge keeps the name. The MBean's other keys (`topic`, `partition`, `request`, `error`,
/// `listener`, `version`) become labels with the same key. So
/// `kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=t` is
/// `kafka_server_brokertopicmetrics_messagesin_total{topic="t"}` and
/// `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce` is
/// `kafka_network_requestmetrics_totaltimems_bucket{request="Produce",le="..."}`.
///
/// A value type; `Sendable`.
public struct KafkaMetricName: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// Kafka's Meter (a count and rates): a Prometheus counter.
        case meter
        /// Kafka's Gauge: a Prometheus gauge.
        case gauge
        /// Kafka's Histogram / Timer (percentiles): a Prometheus histogram.
        case histogram
    }

    /// `kafka.server`, `kafka.network`, `kafka.log`, `kafka.controller`, ...
    public var domain: String
    /// The MBean's `type` key.
    public var type: String
    /// The MBean's `name` key (or attribute, for Kafka's own `socket-server-metrics`).
    public var name: String
    public var kind: Kind
    /// The MBean's other keys, in Kafka's order; they become labels.
    public var tags: [String]
    /// One line for `# HELP` and the documentation table.
    public var help: String

    public init(_ domain: String, type: String, name: String, _ kind: Kind, tags: [String] = [], help: String) {
        self.domain = domain; self.type = type; self.name = name; self.kind = kind; self.tags = tags; self.help = help
    }

    /// The JMX object name as Kafka registers it, with `<tag>` placeholders.
    public var jmxName: String {
        (["\(domain):type=\(type)", "name=\(name)"] + tags.map { "\($0)=<\($0)>" }).joined(separator: ",")
    }

    /// The Prometheus metric name (for a histogram, the base of `_bucket`/`_sum`/`_count`).
    public var prometheusName: String {
        var base = name
        if kind == .meter, base.hasSuffix("PerSec") { base.removeLast("PerSec".count) }
        let raw = "\(domain)_\(type)_\(base)" + (kind == .meter ? "_total" : "")
        return Self.sanitize(raw)
    }

    /// Lower-case, and every character outside `[a-z0-9_]` becomes `_` (dots of the domain,
    /// dashes of `socket-server-metrics`). The result is a valid Prometheus name because
    /// every domain starts with `kafka`.
    public static func sanitize(_ text: String) -> String {
        String(String.UnicodeScalarView(text.lowercased().unicodeScalars.map { s in
            (s >= "a" && s <= "z") || (s >= "0" && s <= "9") || s == "_" ? s : "_"
        }))
    }
}

/// Every metric the broker exports. The README table is this list; `KafkaMetricNameTests`
/// pins the names.
public enum KafkaMetrics {
    // BrokerTopicMetrics, per topic (the all-topics MBean without a topic key is not exported:
    // sum by topic; a Prometheus family has one label set).
    public static let messagesIn = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "MessagesInPerSec", .meter,
                                                   tags: ["topic"], help: "Records appended by produce requests.")
    public static let bytesIn = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "BytesInPerSec", .meter,
                                                tags: ["topic"], help: "Record batch bytes appended by produce requests.")
    public static let bytesOut = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "BytesOutPerSec", .meter,
                                                 tags: ["topic"], help: "Record batch bytes sent in fetch responses.")
    public static let totalProduceRequests = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "TotalProduceRequestsPerSec", .meter,
                                                             tags: ["topic"], help: "Produce requests that wrote to the topic.")
    public static let totalFetchRequests = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "TotalFetchRequestsPerSec", .meter,
                                                           tags: ["topic"], help: "Fetch requests that read the topic.")
    public static let failedProduceRequests = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "FailedProduceRequestsPerSec", .meter,
                                                              tags: ["topic"], help: "Partitions of produce requests answered with an error.")
    public static let failedFetchRequests = KafkaMetricName("kafka.server", type: "BrokerTopicMetrics", name: "FailedFetchRequestsPerSec", .meter,
                                                            tags: ["topic"], help: "Partitions of fetch requests answered with an error.")

    // RequestMetrics, per API (Kafka's request names: Produce, FetchConsumer, FetchFollower, Metadata, ...).
    public static let requests = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "RequestsPerSec", .meter,
                                                 tags: ["request", "version"], help: "Requests received, by API and version.")
    public static let errors = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "ErrorsPerSec", .meter,
                                               tags: ["request", "error"], help: "Error codes in responses (NONE included), by API.")
    public static let totalTime = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "TotalTimeMs", .histogram,
                                                  tags: ["request"], help: "Frame received to response written, ms.")
    public static let requestQueueTime = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "RequestQueueTimeMs", .histogram,
                                                         tags: ["request"], help: "Frame received to handler start (waiting behind the connection's earlier requests), ms.")
    public static let localTime = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "LocalTimeMs", .histogram,
                                                  tags: ["request"], help: "Handler time, minus the remote time, ms.")
    public static let remoteTime = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "RemoteTimeMs", .histogram,
                                                   tags: ["request"], help: "Time parked waiting for data (fetch long poll), ms.")
    public static let responseSendTime = KafkaMetricName("kafka.network", type: "RequestMetrics", name: "ResponseSendTimeMs", .histogram,
                                                         tags: ["request"], help: "Writing the response to the socket, ms.")

    // Log
    public static let logFlush = KafkaMetricName("kafka.log", type: "LogFlushStats", name: "LogFlushRateAndTimeMs", .histogram,
                                                 help: "fsync of a partition log for acks=all produce requests, ms.")
    public static let logSize = KafkaMetricName("kafka.log", type: "Log", name: "Size", .gauge,
                                                tags: ["topic", "partition"], help: "Bytes of the partition's segments.")
    public static let logStartOffset = KafkaMetricName("kafka.log", type: "Log", name: "LogStartOffset", .gauge,
                                                       tags: ["topic", "partition"], help: "First offset of the partition.")
    public static let logEndOffset = KafkaMetricName("kafka.log", type: "Log", name: "LogEndOffset", .gauge,
                                                     tags: ["topic", "partition"], help: "Next offset of the partition.")
    public static let numLogSegments = KafkaMetricName("kafka.log", type: "Log", name: "NumLogSegments", .gauge,
                                                       tags: ["topic", "partition"], help: "Segments of the partition.")

    // ReplicaManager, controller
    public static let partitionCount = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "PartitionCount", .gauge,
                                                       help: "Partitions hosted by this broker.")
    public static let leaderCount = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "LeaderCount", .gauge,
                                                    help: "Partitions this broker leads.")
    public static let underReplicated = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "UnderReplicatedPartitions", .gauge,
                                                        help: "Led partitions whose ISR is smaller than the replica set.")
    public static let underMinIsr = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "UnderMinIsrPartitionCount", .gauge,
                                                    help: "Led partitions whose ISR is below min.insync.replicas.")
    public static let isrShrinks = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "IsrShrinksPerSec", .meter,
                                                   help: "Committed ISR shrinks of partitions this broker leads.")
    public static let isrExpands = KafkaMetricName("kafka.server", type: "ReplicaManager", name: "IsrExpandsPerSec", .meter,
                                                   help: "Committed ISR expansions of partitions this broker leads.")
    // Incremental fetch sessions (KIP-227), Kafka's `kafka.server:type=FetchSessionCache`.
    public static let fetchSessions = KafkaMetricName("kafka.server", type: "FetchSessionCache", name: "NumIncrementalFetchSessions", .gauge,
                                                      help: "Incremental fetch sessions in the cache.")
    public static let fetchSessionPartitions = KafkaMetricName("kafka.server", type: "FetchSessionCache", name: "NumIncrementalFetchPartitionsCached", .gauge,
                                                               help: "Partitions held by all incremental fetch sessions.")
    public static let fetchSessionEvictions = KafkaMetricName("kafka.server", type: "FetchSessionCache", name: "IncrementalFetchSessionEvictionsPerSec", .meter,
                                                              help: "Sessions evicted to make room for a new one.")
    // KRaft (Kafka's `kafka.server:type=raft-metrics` attributes), on nodes of a multi-node cluster.
    public static let raftCurrentLeader = KafkaMetricName("kafka.server", type: "raft-metrics", name: "current-leader", .gauge,
                                                          help: "The metadata quorum's leader as this node knows it (-1 while unknown).")
    public static let raftCurrentEpoch = KafkaMetricName("kafka.server", type: "raft-metrics", name: "current-epoch", .gauge,
                                                         help: "The metadata quorum's epoch.")
    public static let raftHighWatermark = KafkaMetricName("kafka.server", type: "raft-metrics", name: "high-watermark", .gauge,
                                                          help: "The committed end of the metadata log as this node knows it.")
    public static let raftCommitLatencyAvg = KafkaMetricName("kafka.server", type: "raft-metrics", name: "commit-latency-avg", .gauge,
                                                             help: "Average ms from this leader's append of a metadata record to its commit, last 30 s.")
    public static let raftCommitLatencyMax = KafkaMetricName("kafka.server", type: "raft-metrics", name: "commit-latency-max", .gauge,
                                                             help: "Largest ms from this leader's append of a metadata record to its commit, last 30 s.")
    public static let activeControllerCount = KafkaMetricName("kafka.controller", type: "KafkaController", name: "ActiveControllerCount", .gauge,
                                                              help: "1 on the active controller.")
    public static let offlinePartitions = KafkaMetricName("kafka.controller", type: "KafkaController", name: "OfflinePartitionsCount", .gauge,
                                                          help: "Partitions without a live leader (from the metadata image).")
    public static let globalTopicCount = KafkaMetricName("kafka.controller", type: "KafkaController", name: "GlobalTopicCount", .gauge,
                                                         help: "Topics in the metadata image.")
    public static let globalPartitionCount = KafkaMetricName("kafka.controller", type: "KafkaController", name: "GlobalPartitionCount", .gauge,
                                                             help: "Partitions in the metadata image.")

    // Network
    public static let connectionCount = KafkaMetricName("kafka.server", type: "socket-server-metrics", name: "connection-count", .gauge,
                                                        tags: ["listener"], help: "Open client connections, by listener.")
    /// Kafka's `failed-authentication-total` (a cumulative count, exported as the JMX exporter
    /// exports the attribute: a gauge keeping its name).
    public static let failedAuthentication = KafkaMetricName("kafka.server", type: "socket-server-metrics", name: "failed-authentication-total", .gauge,
                                                             tags: ["listener"], help: "Failed SASL authentications since start-up, by SASL listener.")

    // Which broker this is: Kafka's AppInfo MBean (`kafka.server:type=app-info,id=<node id>`,
    // attribute start-time-ms); the console maps an endpoint to its broker with it.
    public static let appInfoStartTime = KafkaMetricName("kafka.server", type: "app-info", name: "start-time-ms", .gauge,
                                                         tags: ["id"], help: "When the broker started (ms since the epoch); id is its node id.")

    // Group coordinator (Kafka's GroupMetadataManager gauges, one per state).
    public static let numGroups = KafkaMetricName("kafka.coordinator.group", type: "GroupMetadataManager", name: "NumGroups", .gauge,
                                                  help: "Classic consumer groups.")
    public static func numGroups(state: GroupState) -> KafkaMetricName {
        KafkaMetricName("kafka.coordinator.group", type: "GroupMetadataManager", name: "NumGroups\(state.kafkaName)", .gauge,
                        help: "Classic consumer groups in state \(state.kafkaName).")
    }

    // Network threads (SocketServer / Processor): the idle fraction of the event loops.
    public static let networkProcessorAvgIdle = KafkaMetricName("kafka.network", type: "SocketServer", name: "NetworkProcessorAvgIdlePercent", .gauge,
                                                                help: "Average idle fraction (0-1) of the network threads since the previous scrape, from their CPU time.")
    public static let processorIdle = KafkaMetricName("kafka.network", type: "Processor", name: "IdlePercent", .gauge,
                                                      tags: ["networkProcessor"],
                                                      help: "Idle fraction (0-1) of one network thread since the previous scrape.")

    /// Every exported metric, in documentation order.
    public static var all: [KafkaMetricName] {
        [messagesIn, bytesIn, bytesOut, totalProduceRequests, totalFetchRequests, failedProduceRequests, failedFetchRequests,
         requests, errors, totalTime, requestQueueTime, localTime, remoteTime, responseSendTime,
         logFlush, logSize, logStartOffset, logEndOffset, numLogSegments,
         partitionCount, leaderCount, underReplicated, underMinIsr, isrShrinks, isrExpands,
         raftCurrentLeader, raftCurrentEpoch, raftHighWatermark,
         activeControllerCount, offlinePartitions, globalTopicCount, globalPartitionCount,
         connectionCount, failedAuthentication, networkProcessorAvgIdle, processorIdle, appInfoStartTime, numGroups] + GroupState.allCases.map { numGroups(state: $0) }
    }
}
