import Logging
import NIOCore

extension KafkaBroker {
    /// The Prometheus endpoint of `metrics.listener`, nil when it is unset.
    static func makeMetricsServer(config: BrokerConfig, metrics: BrokerMetrics?, services: BrokerServices,
                                  servers: [KafkaServer], coordinator: GroupCoordinator,
                                  group: EventLoopGroup, logger: Logger,
                                  isActiveController: @escaping @Sendable () -> Bool,
                                  raft: @escaping @Sendable () -> (leader: Int32, epoch: Int32, highWatermark: Int64)? = { nil },
                                  raftCommitLatency: @escaping @Sendable () -> (avgMs: Double, maxMs: Double)? = { nil },
                                  networkIdle: @escaping @Sendable () -> (average: Double, perThread: [Double])? = { nil })
                                  -> MetricsHTTPServer? {
        guard let listener = config.metricsListener, let metrics else { return nil }
        return MetricsHTTPServer(host: listener.host, port: listener.port, group: group, logger: logger) {
            if metrics.isShuttingDown { return .unavailable("broker \(config.nodeId) is shutting down") }
            var gauges = await scrapeInput(services: services, servers: servers, coordinator: coordinator,
                                           startTimeMs: metrics.startTimeMs, isActiveController: isActiveController())
            gauges.raft = raft()
            gauges.raftCommitLatency = raftCommitLatency()
            gauges.networkIdle = networkIdle()
            // Checked again: shutdown may have begun while the gauges were read.
            if metrics.isShuttingDown { return .unavailable("broker \(config.nodeId) is shutting down") }
            return .ok(metrics.render(gauges: BrokerMetricsScrape.write(gauges)))
        }
    }

    /// Reads the state the scrape-time gauges describe.
    static func scrapeInput(services: BrokerServices, servers: [KafkaServer],
                            coordinator: GroupCoordinator, startTimeMs: Int64,
                            isActiveController: Bool = true) async -> BrokerMetricsScrape.Input {
        let image = services.metadata.image
        var minIsrByTopic: [String: Int] = [:]
        var samples: [BrokerMetricsScrape.PartitionSample] = []
        let hosted = services.replicas.allPartitions
        samples.reserveCapacity(hosted.count)
        for p in hosted {
            let minIsr = minIsrByTopic[p.topic] ?? {
                let value = image.topics[p.topic].flatMap { Int(services.topicConfigValue($0, "min.insync.replicas") ?? "") } ?? 1
                minIsrByTopic[p.topic] = value
                return value
            }()
            let leadership = p.leadership
            samples.append(.init(topic: p.topic, partition: p.index, isLeader: leadership.leader == p.localBrokerId,
                                 replicas: leadership.replicas.count, isr: leadership.isr.count, minInSyncReplicas: minIsr,
                                 sizeBytes: p.log.size, logStartOffset: p.log.logStartOffset, logEndOffset: p.log.logEndOffset,
                                 segments: p.log.segmentCount))
        }
        let globalPartitions = image.topics.values.reduce(0) { $0 + $1.partitions.count }
        let connections = servers.map { (listener: $0.configuration.listenerName, count: $0.connectionCount) }
        let groups = await coordinator.groupCountsByState()
        var input = BrokerMetricsScrape.Input(nodeId: services.nodeId, startTimeMs: startTimeMs, partitions: samples, globalTopics: image.topics.count, globalPartitions: globalPartitions,
                     offlinePartitions: BrokerMetricsScrape.offlinePartitionCount(image), isActiveController: isActiveController,
                     connections: connections, groups: groups)
        (input.isrShrinks, input.isrExpands) = services.replicas.isrChangeCounts
        input.fetchSessions = services.fetchSessions.stats
        input.failedAuthentications = servers.compactMap { s in
            s.failedAuthentications.map { (listener: s.configuration.listenerName, count: $0) }
        }
        return input
    }
}

extension GroupCoordinator {
    /// Groups by state, for the `NumGroups<State>` gauges.
    public func groupCountsByState() -> [GroupState: Int] {
        var counts: [GroupState: Int] = [:]
        for g in groups.values { counts[g.state, default: 0] += 1 }
        return counts
    }
}
