import Foundation

/// Tunables of the sampler's history.
public struct SamplerConfig: Sendable, Equatable {
    /// Samples kept per partition end offset and per group total lag (sparklines, lag seconds).
    public var historyLength: Int = 120
    /// Samples used for rates (messages/s, drain rate).
    public var rateWindow: Int = 5
    /// Fetch topic configs every this many samples (they rarely change).
    public var configEvery: Int = 10
    public var lag = LagEvaluationConfig()
    public init(historyLength: Int = 120, rateWindow: Int = 5, configEvery: Int = 10, lag: LagEvaluationConfig = .init()) {
        self.historyLength = historyLength; self.rateWindow = rateWindow; self.configEvery = configEvery; self.lag = lag
    }
}

private struct GroupPartitionKey: Hashable, Sendable {
    var group: String
    var tp: TopicPartition
}

/// One sample of a counter (an end offset, a lag) at a time.
struct TimedValue: Sendable {
    var time: Date
    var value: Int64
}

/// The sampler's memory: the last good answer of every section and the history behind
/// trends. `ingest` turns one `RawSample` into the next immutable `ClusterSnapshot`.
///
/// A value type with no I/O and no clock of its own (time comes from the sample), so the
/// whole history logic is tested with fixtures. Owned by one `ClusterSampler` actor.
public struct SamplerState: Sendable {
    public var config: SamplerConfig
    public private(set) var sequence = 0
    private var metadata: ClusterMetadata?
    private var offsets: [TopicPartition: PartitionOffsets] = [:]
    private var logDirs: [Int32: BrokerLogDirs] = [:]
    private var logDirErrors: [Int32: String] = [:]
    private var groups: [GroupDescription] = []
    private var committed: [String: [TopicPartition: Int64]] = [:]
    private var configs: [String: [String: String]] = [:]
    private var quorum: QuorumInfo?
    /// The last ListPartitionReassignments answer, by partition.
    private var reassigning: [TopicPartition: OngoingReassignment] = [:]
    /// Each follower replica's offset lag per sample (DescribeLogDirs), newest last, at most
    /// `replicaLagHistoryLength` values: the Partitions pane's replica lag sparkline.
    private var replicaLagHistory: [TopicPartition: [Int32: [Int64]]] = [:]
    static let replicaLagHistoryLength = 60
    private var errors: [SnapshotSection: String] = [:]
    private var sectionTimes: [SnapshotSection: Date] = [:]
    private var failingSince: [SnapshotSection: Date] = [:]
    /// When each partition's offsets were last in a successful answer; older than
    /// `sectionTimes[.offsets]` means the last answer lacked it (its leader failed).
    private var offsetTimes: [TopicPartition: Date] = [:]
    private var brokerNotUpSince: [Int32: Date] = [:]
    private var endHistory: [TopicPartition: [TimedValue]] = [:]
    private var commitWindows: [GroupPartitionKey: [OffsetSample]] = [:]
    private var groupPartitionLag: [GroupPartitionKey: [TimedValue]] = [:]
    private var groupLagHistory: [String: [Int64]] = [:]
    private var unhealthySince: [TopicPartition: Date] = [:]
    private var knownBrokers: [Int32: BrokerEndpoint] = [:]
    /// Ids ever listed in Metadata (brokers, as opposed to controller-only quorum voters).
    private var seenAsBroker: Set<Int32> = []
    private var locallyManaged: Set<Int32> = []
    private var locallyRunning: Set<Int32> = []
    private var stoppedReasons: [Int32: String] = [:]
    /// Scrapes of each broker's metrics endpoint (oldest first) and the last scrape error.
    private var metricsHistory: [Int32: [MetricsPoint]] = [:]
    private var metricsErrors: [Int32: String] = [:]
    /// Which broker answered at each endpoint (its `app-info` id), for attributing failures.
    private var endpointBroker: [String: Int32] = [:]

    public init(config: SamplerConfig = .init()) { self.config = config }

    /// Whether the next sample should include topic configs.
    public var wantsConfigs: Bool { sequence % max(1, config.configEvery) == 0 || configs.isEmpty }

    /// Brokers the local cluster manager started; a missing one shows as down even if the
    /// console never saw it in Metadata.
    public mutating func expectBrokers(_ brokers: [BrokerEndpoint]) {
        for b in brokers { knownBrokers[b.id] = b; locallyManaged.insert(b.id) }
    }

    /// Which locally managed brokers have a running process (see `expectBrokers`).
    public mutating func setLocallyRunning(_ ids: Set<Int32>, reasons: [Int32: String] = [:]) {
        locallyRunning = ids; stoppedReasons = reasons
    }

    public mutating func ingest(_ raw: RawSample, bootstrap: String) -> ClusterSnapshot {
        let now = raw.finishedAt
        sequence += 1
        if let v = record(.metadata, raw.metadata, now) { metadata = v }
        if let v = record(.offsets, raw.offsets, now) {
            // A partial answer keeps the last known offsets of the partitions it lacks
            // (shown greyed as stale) instead of blanking them.
            for tp in v.keys { offsetTimes[tp] = now }
            var merged = v
            let live = metadata.map { md in Set(md.topics.flatMap { t in t.partitions.map { TopicPartition(t.name, $0.partition) } }) }
            for (tp, o) in offsets where merged[tp] == nil && live?.contains(tp) == true { merged[tp] = o }
            offsets = merged
            if offsetTimes.count > 2 * max(1, merged.count) { offsetTimes = offsetTimes.filter { merged[$0.key] != nil } }
        }
        if let v = record(.groups, raw.groups, now) { groups = v }
        if let v = record(.committed, raw.committed, now) { committed = v }
        if let c = raw.topicConfigs, let v = record(.configs, c, now) { configs = v }
        if !raw.logDirs.isEmpty {
            logDirErrors = [:]
            var anyOK = false
            for (id, r) in raw.logDirs {
                switch r {
                case .success(let d):
                    logDirs[id] = d; anyOK = true
                    for (tp, lag) in d.replicaLag {
                        var h = replicaLagHistory[tp, default: [:]][id, default: []]
                        h.append(lag.offsets)
                        if h.count > Self.replicaLagHistoryLength { h.removeFirst(h.count - Self.replicaLagHistoryLength) }
                        replicaLagHistory[tp, default: [:]][id] = h
                    }
                case .failure(let e) where e.unsupported: logDirs[id] = nil
                case .failure(let e): logDirErrors[id] = e.message; logDirs[id] = nil
                }
            }
            if anyOK { sectionTimes[.logDirs] = now }
            errors[.logDirs] = logDirErrors.isEmpty ? nil : logDirErrors.sorted { $0.key < $1.key }.map { "broker \($0.key): \($0.value)" }.joined(separator: "; ")
        }
        if !raw.brokerMetrics.isEmpty { ingestMetrics(raw.brokerMetrics, now) }
        // A failed DescribeQuorum keeps the last answer (shown with the error); a cluster
        // without one (nil) has no quorum to show.
        if let q = raw.quorum, let v = record(.quorum, q, now) { quorum = v }
        // A failed ListPartitionReassignments keeps the last answer; no API (nil) means none.
        if let r = raw.reassignments, let v = record(.reassignments, r, now) {
            reassigning = Dictionary((v ?? []).map { ($0.partition, $0) }, uniquingKeysWith: { a, _ in a })
        }
        if case .success = raw.offsets { updateEndHistory(now) }
        if case .success = raw.committed { updateCommitWindows(now) }

        let brokers = buildBrokers(now)
        let topics = buildTopics(now)
        let groupViews = buildGroups(now)
        var health = ClusterHealth()
        for t in topics {
            for p in t.partitions {
                health.partitions += 1
                if p.health.underReplicated { health.underReplicated += 1 }
                if p.health.underMinIsr { health.underMinIsr += 1 }
                if p.health.offline { health.offline += 1 }
                if !p.health.preferredLeader { health.notOnPreferredLeader += 1 }
                if p.reassignment != nil { health.reassigning += 1 }
            }
        }
        // With a quorum, the active controller is its leader (KRaft brokers put any live
        // broker in Metadata's controller id, as Kafka does).
        let controller = (quorum?.leaderId).flatMap { $0 >= 0 ? $0 : nil } ?? metadata?.controllerId
        return ClusterSnapshot(sequence: sequence, takenAt: now, sampleSeconds: now.timeIntervalSince(raw.startedAt), bootstrap: bootstrap,
                               clusterId: metadata?.clusterId, controllerId: controller,
                               brokers: brokers, topics: topics, groups: groupViews, errors: errors, sectionTimes: sectionTimes,
                               failingSince: failingSince, quorum: quorum, health: health)
    }

    private mutating func record<T>(_ section: SnapshotSection, _ result: Result<T, SourceError>, _ now: Date) -> T? {
        switch result {
        case .success(let v): errors[section] = nil; failingSince[section] = nil; sectionTimes[section] = now; return v
        case .failure(let e):
            errors[section] = e.message
            if failingSince[section] == nil { failingSince[section] = now }
            return nil
        }
    }

    /// Whether a partition's offsets are older than the last successful sample.
    private func offsetsStale(_ tp: TopicPartition) -> Bool {
        if errors[.metadata] != nil || errors[.offsets] != nil { return true }
        guard let t = offsetTimes[tp], let last = sectionTimes[.offsets] else { return false }
        return t < last
    }

    private mutating func updateEndHistory(_ now: Date) {
        // Only fresh answers: a kept (stale) offset appended again would read as "no growth".
        for (tp, o) in offsets where offsetTimes[tp] == now {
            var h = endHistory[tp] ?? []
            h.append(TimedValue(time: now, value: o.end))
            if h.count > config.historyLength { h.removeFirst(h.count - config.historyLength) }
            endHistory[tp] = h
        }
        // Forget partitions that no longer exist (deleted topics).
        if endHistory.count > offsets.count { endHistory = endHistory.filter { offsets[$0.key] != nil } }
    }

    private mutating func updateCommitWindows(_ now: Date) {
        var seen: Set<String> = []
        for (group, tps) in committed {
            seen.insert(group)
            var total: Int64 = 0
            for (tp, offset) in tps where offset >= 0 {
                let key = GroupPartitionKey(group: group, tp: tp)
                let lag = offsets[tp].map { max(0, $0.end - offset) } ?? 0
                total += lag
                var w = commitWindows[key] ?? []
                // A slot per observed commit (offset change), stamped when first seen.
                if w.last?.offset != offset {
                    w.append(OffsetSample(offset: offset, timestamp: now, lag: lag))
                    if w.count > config.lag.intervals { w.removeFirst(w.count - config.lag.intervals) }
                    commitWindows[key] = w
                }
                var l = groupPartitionLag[key] ?? []
                l.append(TimedValue(time: now, value: lag))
                if l.count > config.rateWindow + 1 { l.removeFirst(l.count - config.rateWindow - 1) }
                groupPartitionLag[key] = l
            }
            var h = groupLagHistory[group] ?? []
            h.append(total)
            if h.count > config.historyLength { h.removeFirst(h.count - config.historyLength) }
            groupLagHistory[group] = h
        }
        if groupLagHistory.count > seen.count { groupLagHistory = groupLagHistory.filter { seen.contains($0.key) } }
        if commitWindows.count > 4 * max(1, committed.values.reduce(0) { $0 + $1.count }) {
            commitWindows = commitWindows.filter { committed[$0.key.group]?[$0.key.tp] != nil }
            groupPartitionLag = groupPartitionLag.filter { committed[$0.key.group]?[$0.key.tp] != nil }
        }
    }

    private mutating func buildBrokers(_ now: Date) -> [BrokerView] {
        guard let md = metadata else { return [] }
        for b in md.brokers { knownBrokers[b.id] = b; seenAsBroker.insert(b.id) }
        // Controller-only voters are never in Metadata: listed from the quorum, no address.
        for r in quorum?.replicas ?? [] where knownBrokers[r.nodeId] == nil {
            knownBrokers[r.nodeId] = BrokerEndpoint(id: r.nodeId, host: "-", port: 0)
        }
        var led: [Int32: Int] = [:], placed: [Int32: Int] = [:], urpLed: [Int32: Int] = [:]
        for t in md.topics {
            for p in t.partitions {
                for r in p.replicas { placed[r, default: 0] += 1 }
                guard p.leader >= 0 else { continue }
                led[p.leader, default: 0] += 1
                if p.isr.count < p.replicas.count { urpLed[p.leader, default: 0] += 1 }
            }
        }
        let listed = Set(md.brokers.map(\.id))
        let metadataFailed = errors[.metadata] != nil
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        return knownBrokers.values.sorted { $0.id < $1.id }.map { b in
            let q = quorum?.replica(b.id)
            let isBroker = seenAsBroker.contains(b.id) || locallyManaged.contains(b.id) || (q.map { !$0.isVoter } ?? false)
            let role: NodeRole? = quorum == nil ? nil : (q?.isVoter == true ? (isBroker ? .both : .controller) : .broker)
            // "Alive" as far as the quorum tells: the leader itself, or fetched within 10 s.
            let inQuorumRecently = q.map { r in r.nodeId == quorum?.leaderId || r.lastFetchTimestampMs.map { nowMs - $0 < 10_000 } ?? false } ?? false
            let status: BrokerStatus
            var error: String?
            if locallyManaged.contains(b.id) && !locallyRunning.contains(b.id) { status = .down; error = stoppedReasons[b.id] ?? "process stopped (local cluster)" }
            else if !listed.contains(b.id) && role == .controller { status = inQuorumRecently ? .up : .down; error = inQuorumRecently ? nil : "controller not fetching from the quorum leader" }
            else if !listed.contains(b.id) && (locallyRunning.contains(b.id) || inQuorumRecently) {
                status = .fenced
                error = "alive (" + (locallyRunning.contains(b.id) ? "process running" : "fetching the metadata log") + ") but not in cluster metadata: fenced or still registering"
            }
            else if !listed.contains(b.id) { status = .down; error = "not in cluster metadata" }
            else if let e = logDirErrors[b.id] { status = .unreachable; error = e }
            else if metadataFailed { status = .unreachable; error = errors[.metadata] }
            else { status = .up }
            // A broker that is down leads nothing and controls nothing, whatever the last
            // Metadata said (a stopped demo broker showed "CTRL yes, LEADS 62").
            let down = status == .down
            if status == .up { brokerNotUpSince[b.id] = nil } else if brokerNotUpSince[b.id] == nil { brokerNotUpSince[b.id] = now }
            let controller = quorum.map { $0.leaderId } ?? md.controllerId
            let quorumState: String? = q.map { $0.nodeId == quorum?.leaderId ? "leader" : ($0.isVoter ? "follower" : "observer") }
            return BrokerView(id: b.id, host: b.host, port: b.port, rack: b.rack, isController: !down && controller == b.id,
                              status: status, partitionsLed: down ? 0 : led[b.id] ?? 0, logDirBytes: logDirs[b.id]?.totalBytes, error: error,
                              notUpSince: brokerNotUpSince[b.id], metrics: metricsView(b.id), role: role, quorumState: quorumState,
                              quorumLag: q?.lag, replicas: placed[b.id] ?? 0, underReplicatedLed: down ? 0 : urpLed[b.id] ?? 0)
        }
    }

    // MARK: broker metrics (issue 15)

    struct MetricsPoint: Sendable {
        var time: Date
        var reading: BrokerMetricsReading
    }

    /// Files each scrape under the broker that answered (its `app-info` id; with one broker
    /// in the metadata and no id, that broker). A failed scrape is charged to the broker that
    /// last answered at that endpoint, else reported for the metrics section.
    private mutating func ingestMetrics(_ results: [BrokerMetricsScrapeResult], _ now: Date) {
        var unattributed: [String] = []
        let onlyBroker = metadata.flatMap { $0.brokers.count == 1 ? $0.brokers[0].id : nil }
        for r in results {
            switch r.result {
            case .success(let reading):
                guard let id = reading.brokerId ?? endpointBroker[r.endpoint] ?? onlyBroker else {
                    unattributed.append("\(r.endpoint): no kafka_server_app_info_start_time_ms{id=...} to tell which broker it is")
                    continue
                }
                endpointBroker[r.endpoint] = id
                metricsErrors[id] = nil
                var h = metricsHistory[id] ?? []
                h.append(MetricsPoint(time: now, reading: reading))
                if h.count > config.historyLength { h.removeFirst(h.count - config.historyLength) }
                metricsHistory[id] = h
            case .failure(let e):
                if let id = endpointBroker[r.endpoint] ?? onlyBroker { metricsErrors[id] = e.message; endpointBroker[r.endpoint] = id }
                else { unattributed.append(e.message) }
            }
        }
        errors[.metrics] = unattributed.isEmpty ? nil : unattributed.joined(separator: "; ")
        if unattributed.isEmpty { failingSince[.metrics] = nil; sectionTimes[.metrics] = now }
        else if failingSince[.metrics] == nil { failingSince[.metrics] = now }
    }

    /// Rates between consecutive scrapes (a counter that went down, a broker restart, gives
    /// no rate for that step), over the rate window for the current values.
    private func metricsView(_ id: Int32) -> BrokerMetricsView? {
        let h = metricsHistory[id] ?? []
        guard let last = h.last else {
            return metricsErrors[id].map { BrokerMetricsView(endpoint: "", bytesInHistory: [], bytesOutHistory: [], requestsHistory: [], error: $0) }
        }
        func step(_ a: MetricsPoint, _ b: MetricsPoint, _ value: (BrokerMetricsReading) -> Double) -> Double? {
            let dt = b.time.timeIntervalSince(a.time)
            let dv = value(b.reading) - value(a.reading)
            return dt > 0 && dv >= 0 ? dv / dt : nil
        }
        func history(_ value: (BrokerMetricsReading) -> Double) -> [Double] {
            h.count < 2 ? [] : (1..<h.count).compactMap { step(h[$0 - 1], h[$0], value) }
        }
        let first = h[max(0, h.count - 1 - config.rateWindow)]
        func rate(_ value: (BrokerMetricsReading) -> Double) -> Double? { h.count < 2 ? nil : step(first, last, value) }
        // p99 of the produce requests inside the window; with one scrape, since the broker started.
        let buckets = h.count < 2 ? last.reading.produceLatencyBuckets
            : BrokerMetricsReading.delta(last.reading.produceLatencyBuckets, first.reading.produceLatencyBuckets)
        return BrokerMetricsView(endpoint: last.reading.endpoint, bytesInPerSecond: rate(\.bytesIn), bytesOutPerSecond: rate(\.bytesOut),
                                 requestsPerSecond: rate(\.requests),
                                 produceP99Ms: buckets.flatMap { BrokerMetricsReading.quantile(0.99, $0) },
                                 underReplicated: last.reading.underReplicated,
                                 bytesInHistory: history(\.bytesIn), bytesOutHistory: history(\.bytesOut), requestsHistory: history(\.requests),
                                 error: metricsErrors[id])
    }

    private func rate(_ h: [TimedValue]?) -> Double? {
        guard let h, h.count >= 2 else { return nil }
        let a = h[max(0, h.count - 1 - config.rateWindow)], b = h[h.count - 1]
        let dt = b.time.timeIntervalSince(a.time)
        guard dt > 0 else { return nil }
        return Double(max(0, b.value - a.value)) / dt
    }

    private mutating func buildTopics(_ now: Date) -> [TopicView] {
        guard let md = metadata else { return [] }
        var healthyNow: Set<TopicPartition> = []
        var result: [TopicView] = []
        result.reserveCapacity(md.topics.count)
        // Internal topics (__consumer_offsets...) sort last: they are rarely what one looks for.
        for t in md.topics.sorted(by: { ($0.isInternal ? 1 : 0, $0.name) < ($1.isInternal ? 1 : 0, $1.name) }) {
            var parts: [PartitionView] = []
            parts.reserveCapacity(t.partitions.count)
            var size: Int64 = 0, haveSize = false, count: Int64 = 0, haveCount = false
            var rateSum = 0.0, haveRate = false, anyStale = false
            let minIsr = configs[t.name]?["min.insync.replicas"].flatMap { Int($0) }
            for p in t.partitions.sorted(by: { $0.partition < $1.partition }) {
                let tp = TopicPartition(t.name, p.partition)
                let o = offsets[tp]
                let moving = reassigning[tp]
                // While a reassignment adds replicas they are not in the ISR yet: the partition
                // is under-replicated only against the replicas it had (Kafka's
                // OngoingReassignmentState.replicationFactor), not because of a copy in progress.
                let expected = p.replicas.count - (moving?.adding.filter { p.replicas.contains($0) }.count ?? 0)
                let unhealthy = p.leader < 0 || p.isr.count < expected
                if unhealthy { if unhealthySince[tp] == nil { unhealthySince[tp] = now } } else { healthyNow.insert(tp) }
                var sz = p.leader >= 0 ? logDirs[p.leader]?.partitionBytes[tp] : nil
                if sz == nil { for r in p.replicas { if let v = logDirs[r]?.partitionBytes[tp] { sz = v; break } } }
                var followers: [FollowerLag] = []
                for r in p.replicas where r != p.leader {
                    if let l = logDirs[r]?.replicaLag[tp] { followers.append(FollowerLag(brokerId: r, lag: l, history: replicaLagHistory[tp]?[r] ?? [])) }
                }
                let stale = offsetsStale(tp)
                // A rate from old samples is not a current rate: unknown while stale.
                let r = stale ? nil : rate(endHistory[tp])
                if stale { anyStale = true }
                if let sz { size += sz; haveSize = true }
                if let o { count += max(0, o.end - o.logStart); haveCount = true }
                if let r { rateSum += r; haveRate = true }
                let health = PartitionHealth(underReplicated: p.leader >= 0 && p.isr.count < expected,
                                             underMinIsr: p.leader >= 0 && minIsr.map { p.isr.count < $0 } ?? false,
                                             offline: p.leader < 0, preferredLeader: p.leader >= 0 && p.leader == p.replicas.first)
                parts.append(PartitionView(topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr,
                                           offlineReplicas: p.offlineReplicas, logStartOffset: o?.logStart, highWatermark: o?.end,
                                           sizeBytes: sz, unhealthySince: unhealthy ? unhealthySince[tp] : nil,
                                           messagesPerSecond: r, followerLag: followers, isStale: stale,
                                           leaderEpoch: p.leaderEpoch, minInSyncReplicas: minIsr, health: health,
                                           reassignment: moving.map { PartitionReassigning(adding: $0.adding, removing: $0.removing) }))
            }
            let cfg = configs[t.name]
            result.append(TopicView(name: t.name, isInternal: t.isInternal, partitions: parts,
                                    replicationFactor: t.partitions.map(\.replicas.count).max() ?? 0,
                                    underReplicated: parts.filter { $0.health.underReplicated }.count,
                                    offline: parts.filter(\.isOffline).count, underMinIsr: parts.filter(\.health.underMinIsr).count,
                                    sizeBytes: haveSize ? size : nil, messageCount: haveCount ? count : nil,
                                    messagesPerSecond: haveRate && !anyStale ? rateSum : nil,
                                    retentionMs: cfg?["retention.ms"].flatMap { Int64($0) },
                                    retentionBytes: cfg?["retention.bytes"].flatMap { Int64($0) }, configs: cfg,
                                    isStale: anyStale || errors[.metadata] != nil))
        }
        for tp in healthyNow { unhealthySince[tp] = nil }
        // Histories of partitions gone from Metadata, and of replicas moved off a partition.
        if errors[.metadata] == nil {
            var present: [TopicPartition: Set<Int32>] = [:]
            for t in md.topics { for p in t.partitions { present[TopicPartition(t.name, p.partition)] = Set(p.replicas) } }
            var pruned: [TopicPartition: [Int32: [Int64]]] = [:]
            for (tp, byBroker) in replicaLagHistory {
                guard let replicas = present[tp] else { continue }
                let kept = byBroker.filter { replicas.contains($0.key) }
                if !kept.isEmpty { pruned[tp] = kept }
            }
            replicaLagHistory = pruned
        }
        return result
    }

    /// Seconds since the log end passed `committed`, interpolated from end-offset history.
    static func lagSeconds(committed: Int64, history: [(Date, Int64)], now: Date) -> (Double, Bool)? {
        lagSeconds(committed: committed, history: history.map { TimedValue(time: $0.0, value: $0.1) }, now: now)
    }

    /// The same over the stored history (no copy: this runs for every group partition).
    static func lagSeconds(committed: Int64, history: [TimedValue], now: Date) -> (Double, Bool)? {
        guard let last = history.last else { return nil }
        if committed >= last.value { return (0, false) }
        guard let first = history.first else { return nil }
        if first.value > committed {
            // Only "more than the history spans": with one sample that is nothing, and
            // ">0s" next to a lag of thousands read as "no delay".
            let d = now.timeIntervalSince(first.time)
            return d > 0 ? (d, true) : nil
        }
        // Binary search for the first sample past the committed offset (end offsets only grow,
        // except after a topic is recreated, where any answer in range is acceptable).
        var lo = 1, hi = history.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if history[mid].value > committed { hi = mid } else { lo = mid + 1 }
        }
        for i in lo..<history.count where history[i].value > committed {
            let (t0, e0) = (history[i - 1].time, history[i - 1].value), (t1, e1) = (history[i].time, history[i].value)
            let frac = Double(committed + 1 - e0) / Double(max(1, e1 - e0))
            let t = t0.addingTimeInterval(min(1, max(0, frac)) * t1.timeIntervalSince(t0))
            return (max(0, now.timeIntervalSince(t)), false)
        }
        return (0, false)
    }

    private func buildGroups(_ wallNow: Date) -> [GroupView] {
        // Verdicts and lag seconds are judged as of the data, not the wall clock: while the
        // broker is unreachable the commits stop changing only because we cannot read
        // them, and judging them against the wall clock turned every group into STOP.
        let now = min(sectionTimes[.committed] ?? wallNow, sectionTimes[.offsets] ?? wallNow, wallNow)
        var byId: [String: GroupDescription] = [:]
        for g in groups { byId[g.groupId] = g }
        // Groups with committed offsets but missing from ListGroups still show (as Unknown).
        for id in committed.keys where byId[id] == nil { byId[id] = GroupDescription(groupId: id, state: "Unknown") }
        return byId.values.sorted { $0.groupId < $1.groupId }.map { g in
            var owner: [TopicPartition: GroupMember] = [:]
            for m in g.members { for tp in m.assignment { owner[tp] = m } }
            let tps = Set((committed[g.groupId] ?? [:]).keys).union(owner.keys).sorted()
            var views: [GroupPartitionView] = []
            var evals: [(TopicPartition, PartitionEvaluation)] = []
            var total: Int64 = 0, haveLag = false
            var maxSeconds: Double?
            let inactive = g.members.isEmpty && (g.state == "Empty" || g.state == "Dead" || g.state == "Unknown")
            let groupStale = errors[.metadata] != nil || errors[.groups] != nil || errors[.committed] != nil
            var anyStale = groupStale
            for tp in tps {
                let c = committed[g.groupId]?[tp].flatMap { $0 >= 0 ? $0 : nil }
                let o = offsets[tp]
                let key = GroupPartitionKey(group: g.groupId, tp: tp)
                var lag: Int64?
                if let c, let o { lag = max(0, o.end - c); total += lag!; haveLag = true }
                var secs: (Double, Bool)?
                if let c, let h = endHistory[tp] { secs = Self.lagSeconds(committed: c, history: h, now: now) }
                if let s = secs?.0 { maxSeconds = max(maxSeconds ?? 0, s) }
                let stale = groupStale || offsetsStale(tp)
                if stale { anyStale = true }
                var drain: Double?
                if !stale, let l = groupPartitionLag[key], l.count >= 2 {
                    let a = l[0], b = l[l.count - 1]
                    let dt = b.time.timeIntervalSince(a.time)
                    if dt > 0 { drain = Double(a.value - b.value) / dt }
                }
                let eta: Double? = stale ? nil : ((lag ?? 0) > 0 && (drain ?? 0) > 0 ? Double(lag!) / drain! : ((lag ?? 1) == 0 ? 0 : nil))
                var ev: PartitionEvaluation
                if c == nil {
                    ev = PartitionEvaluation(status: .ok, reason: "no committed offset", complete: 0)
                } else {
                    ev = LagEvaluator.evaluate(commits: commitWindows[key] ?? [], brokerOffsets: (endHistory[tp] ?? []).suffix(3).map(\.value),
                                               currentLag: lag ?? 0, logStart: o?.logStart, now: now, config: config.lag)
                    // Beyond Burrow: a group with no members cannot be consuming, whatever
                    // its commit history says; Burrow cannot see membership, we can.
                    if inactive, ev.status == .ok || ev.status == .collecting, (lag ?? 0) > config.lag.allowedLag {
                        ev = PartitionEvaluation(status: .stop, reason: "group has no active members, lag \(lag ?? 0)", complete: ev.complete)
                    }
                    evals.append((tp, ev))
                }
                let m = owner[tp]
                views.append(GroupPartitionView(topic: tp.topic, partition: tp.partition, committedOffset: c, endOffset: o?.end,
                                                logStartOffset: o?.logStart, lag: lag, lagSeconds: secs?.0,
                                                lagSecondsIsLowerBound: secs?.1 ?? false, memberId: m?.memberId, clientId: m?.clientId,
                                                host: m?.host, drainRate: drain, etaSeconds: eta, status: ev.status, reason: ev.reason,
                                                isStale: stale))
            }
            let (status, reason) = LagEvaluator.rollUp(evals)
            let history = groupLagHistory[g.groupId] ?? []
            return GroupView(groupId: g.groupId, state: g.state, protocolType: g.protocolType, assignor: g.assignor, members: g.members,
                             coordinator: g.coordinator, partitions: views, totalLag: haveLag ? total : nil, maxLagSeconds: maxSeconds,
                             lagHistory: history, trend: anyStale ? .unknown : Self.trend(history), status: status,
                             reason: "\(status.rawValue): \(reason)", isStale: anyStale)
        }
    }

    /// Growing / draining / flat from the last five total-lag samples.
    static func trend(_ history: [Int64]) -> LagTrend {
        let tail = history.suffix(5)
        guard let first = tail.first, let last = tail.last, tail.count >= 2 else { return .unknown }
        if last > first { return .growing }
        if last < first { return .draining }
        return .flat
    }
}
