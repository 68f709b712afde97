/// The gauges computed on each scrape, from the state of the broker at that moment: the
/// metadata image (offline partitions, topic and partition totals), the hosted partitions
/// (leaders, under-replicated, under-min-ISR, log sizes and offsets), the listeners'
/// connections and the group coordinator's groups.
///
/// Pure: ``write(_:)`` turns a ``Input`` into text; ``KafkaBroker`` gathers the input.
public enum BrokerMetricsScrape {
    /// One hosted partition as the scrape sees it.
    public struct PartitionSample: Sendable {
        public var topic: String
        public var partition: Int32
        public var isLeader: Bool
        public var replicas: Int
        public var isr: Int
        public var minInSyncReplicas: Int
        public var sizeBytes: Int64
        public var logStartOffset: Int64
        public var logEndOffset: Int64
        public var segments: Int

        public init(topic: String, partition: Int32, isLeader: Bool, replicas: Int, isr: Int, minInSyncReplicas: Int,
                    sizeBytes: Int64, logStartOffset: Int64, logEndOffset: Int64, segments: Int) {
            self.topic = topic; self.partition = partition; self.isLeader = isLeader; self.replicas = replicas
            self.isr = isr; self.minInSyncReplicas = minInSyncReplicas; self.sizeBytes = sizeBytes
            self.logStartOffset = logStartOffset; self.logEndOffset = logEndOffset; self.segments = segments
        }
    }

    public struct Input: Sendable {
        public var nodeId: Int32
        public var startTimeMs: Int64
        public var partitions: [PartitionSample]
        /// Topics and partitions in the metadata image, and those without a live leader.
        public var globalTopics: Int
        public var globalPartitions: Int
        public var offlinePartitions: Int
        public var isActiveController: Bool
        public var connections: [(listener: String, count: Int)]
        /// Failed SASL authentications per SASL listener since start-up.
        public var failedAuthentications: [(listener: String, count: Int)] = []
        /// nil when the coordinator did not answer (it is not reported then).
        public var groups: [GroupState: Int]?
        /// Committed ISR shrinks and expansions since start-up.
        public var isrShrinks: Int64 = 0
        public var isrExpands: Int64 = 0
        /// The fetch session cache (``FetchSessionCache/stats``).
        public var fetchSessions: (sessions: Int, partitions: Int, evictions: Int64) = (0, 0, 0)
        /// The metadata quorum as this node sees it; nil on a single node without a network quorum.
        public var raft: (leader: Int32, epoch: Int32, highWatermark: Int64)?
        /// Commit latency of the records this node appended as quorum leader in the last 30 s;
        /// nil when it committed none (a follower, or an idle leader).
        public var raftCommitLatency: (avgMs: Double, maxMs: Double)?
        /// Idle fraction of the network threads since the previous scrape (``NetworkThreadIdleMeter``).
        public var networkIdle: (average: Double, perThread: [Double])?

        public init(nodeId: Int32, startTimeMs: Int64, partitions: [PartitionSample], globalTopics: Int, globalPartitions: Int, offlinePartitions: Int,
                    isActiveController: Bool, connections: [(listener: String, count: Int)], groups: [GroupState: Int]?) {
            self.nodeId = nodeId; self.startTimeMs = startTimeMs
            self.partitions = partitions; self.globalTopics = globalTopics; self.globalPartitions = globalPartitions
            self.offlinePartitions = offlinePartitions; self.isActiveController = isActiveController
            self.connections = connections; self.groups = groups
        }
    }

    /// Offline partitions of an image: no leader, or a leader that is not a registered,
    /// unfenced broker (Kafka's controller counts partitions whose leader is not live).
    public static func offlinePartitionCount(_ image: MetadataImage) -> Int {
        var n = 0
        for topic in image.topics.values {
            for p in topic.partitions {
                if p.leader < 0 { n += 1; continue }
                if let b = image.brokers[p.leader], !b.fenced { continue }
                n += 1
            }
        }
        return n
    }

    public static func write(_ input: Input) -> PrometheusTextWriter {
        var w = PrometheusTextWriter(reservingCapacity: 512 + input.partitions.count * 4 * 90)
        let partitions = input.partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        var leaders = 0, under = 0, underMin = 0
        for p in partitions where p.isLeader {
            leaders += 1
            if p.isr < p.replicas { under += 1 }
            if p.isr < min(p.minInSyncReplicas, p.replicas) { underMin += 1 }
        }
        func single(_ m: KafkaMetricName, _ value: Int) {
            w.family(m)
            w.sample(m, Int64(value))
        }
        single(KafkaMetrics.partitionCount, partitions.count)
        single(KafkaMetrics.leaderCount, leaders)
        single(KafkaMetrics.underReplicated, under)
        single(KafkaMetrics.underMinIsr, underMin)
        w.family(KafkaMetrics.isrShrinks)
        w.sample(KafkaMetrics.isrShrinks, input.isrShrinks)
        w.family(KafkaMetrics.isrExpands)
        w.sample(KafkaMetrics.isrExpands, input.isrExpands)
        single(KafkaMetrics.fetchSessions, input.fetchSessions.sessions)
        single(KafkaMetrics.fetchSessionPartitions, input.fetchSessions.partitions)
        w.family(KafkaMetrics.fetchSessionEvictions)
        w.sample(KafkaMetrics.fetchSessionEvictions, input.fetchSessions.evictions)
        if let raft = input.raft {
            single(KafkaMetrics.raftCurrentLeader, Int(raft.leader))
            single(KafkaMetrics.raftCurrentEpoch, Int(raft.epoch))
            w.family(KafkaMetrics.raftHighWatermark)
            w.sample(KafkaMetrics.raftHighWatermark, raft.highWatermark)
        }
        if let c = input.raftCommitLatency {
            w.family(KafkaMetrics.raftCommitLatencyAvg)
            w.sample(KafkaMetrics.raftCommitLatencyAvg, c.avgMs)
            w.family(KafkaMetrics.raftCommitLatencyMax)
            w.sample(KafkaMetrics.raftCommitLatencyMax, c.maxMs)
        }
        single(KafkaMetrics.activeControllerCount, input.isActiveController ? 1 : 0)
        single(KafkaMetrics.offlinePartitions, input.offlinePartitions)
        single(KafkaMetrics.globalTopicCount, input.globalTopics)
        single(KafkaMetrics.globalPartitionCount, input.globalPartitions)

        w.family(KafkaMetrics.appInfoStartTime)
        w.sample(KafkaMetrics.appInfoStartTime.prometheusName, labels: [("id", String(input.nodeId))], input.startTimeMs)

        w.family(KafkaMetrics.connectionCount)
        for c in input.connections {
            w.sample(KafkaMetrics.connectionCount.prometheusName, labels: [("listener", c.listener)], Int64(c.count))
        }

        if let idle = input.networkIdle {
            w.family(KafkaMetrics.networkProcessorAvgIdle)
            w.sample(KafkaMetrics.networkProcessorAvgIdle, idle.average)
            w.family(KafkaMetrics.processorIdle)
            for (i, value) in idle.perThread.enumerated() {
                w.sample(KafkaMetrics.processorIdle.prometheusName, labels: [("networkProcessor", String(i))], double: value)
            }
        }

        if !input.failedAuthentications.isEmpty {
            w.family(KafkaMetrics.failedAuthentication)
            for c in input.failedAuthentications {
                w.sample(KafkaMetrics.failedAuthentication.prometheusName, labels: [("listener", c.listener)], Int64(c.count))
            }
        }

        if let groups = input.groups {
            single(KafkaMetrics.numGroups, groups.values.reduce(0, +))
            for state in GroupState.allCases { single(KafkaMetrics.numGroups(state: state), groups[state] ?? 0) }
        }

        if !partitions.isEmpty {
            let logMetrics: [(KafkaMetricName, (PartitionSample) -> Int64)] = [
                (KafkaMetrics.logSize, { $0.sizeBytes }),
                (KafkaMetrics.logStartOffset, { $0.logStartOffset }),
                (KafkaMetrics.logEndOffset, { $0.logEndOffset }),
                (KafkaMetrics.numLogSegments, { Int64($0.segments) }),
            ]
            for (metric, value) in logMetrics {
                w.family(metric)
                let name = metric.prometheusName
                for p in partitions {
                    w.sample(name, labels: [("topic", p.topic), ("partition", String(p.partition))], value(p))
                }
            }
        }
        return w
    }
}
