import Foundation

/// The hand-off point between the sampler and the UI: holds the latest published
/// snapshot. Thread-safe (a lock around one reference-sized value), so the UI thread reads
/// it every frame without awaiting anything and never blocks on a slow broker.
public final class SnapshotStore: @unchecked Sendable {
    private let lock = NSLock()
    private var current: ClusterSnapshot
    private var sampling = false

    public init(_ initial: ClusterSnapshot) { current = initial }

    public var latest: ClusterSnapshot { lock.withLock { current } }
    public func publish(_ s: ClusterSnapshot) { lock.withLock { current = s } }
    /// True while a sample is in flight (the header shows a spinner-free "refreshing").
    public var isSampling: Bool {
        get { lock.withLock { sampling } }
        set { lock.withLock { sampling = newValue } }
    }
}

/// Polls a `ClusterDataSource` on an interval, feeding `SamplerState` and publishing each
/// snapshot to a `SnapshotStore`. An actor: one sample at a time, history owned here.
public actor ClusterSampler {
    public let source: any ClusterDataSource
    public let store: SnapshotStore
    private var state: SamplerState
    private let interval: Duration
    private var wakeUp: CheckedContinuation<Void, Never>?

    public init(source: any ClusterDataSource, store: SnapshotStore, interval: Duration, config: SamplerConfig = .init()) {
        self.source = source; self.store = store; self.interval = interval; self.state = SamplerState(config: config)
    }

    private var brokerControl: (any BrokerControl)?

    /// Brokers a local cluster manager runs: they show even when missing from Metadata, and
    /// as down (not merely unreachable) while their process is stopped.
    public func attach(_ control: any BrokerControl) async {
        brokerControl = control
        state.expectBrokers(await control.expectedBrokers())
    }

    /// Takes one sample now and publishes it.
    @discardableResult
    public func sampleOnce() async -> ClusterSnapshot {
        store.isSampling = true
        defer { store.isSampling = false }
        let raw = await Self.collect(from: source, withConfigs: state.wantsConfigs)
        if let bc = brokerControl { state.setLocallyRunning(await bc.runningBrokers(), reasons: await bc.stoppedReasons()) }
        let snap = state.ingest(raw, bootstrap: source.displayName)
        store.publish(snap)
        return snap
    }

    /// Samples until the task is cancelled, one sample starting every `interval` (fixed rate:
    /// waiting a whole interval after each sample made the period interval + sample time, and a
    /// leader change reached the screen 1.8 s after the controller made it with --refresh 1 on
    /// 1,000 partitions). A sample slower than the interval is followed by a quarter-interval
    /// pause, so a slow cluster is never sampled back to back. `refreshNow()` cuts a wait short.
    public func run() async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            await sampleOnce()
            let elapsed = ContinuousClock.now - started
            await sleepOrWake(max(interval - elapsed, interval / 4))
        }
    }

    public func refreshNow() {
        wakeUp?.resume()
        wakeUp = nil
    }

    private func sleepOrWake(_ pause: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: pause) }
            group.addTask { await self.waitForWake() }
            await group.next()
            group.cancelAll()
            self.refreshNow()
        }
    }

    private func waitForWake() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if Task.isCancelled { c.resume(); return }
            wakeUp?.resume()
            wakeUp = c
        }
    }

    /// One round of batched calls: metadata first (everything else depends on it), then
    /// offsets, log dirs, groups (+ committed offsets) and configs concurrently.
    public static func collect(from source: any ClusterDataSource, withConfigs: Bool) async -> RawSample {
        let started = Date()
        let metadata: Result<ClusterMetadata, SourceError>
        do { metadata = .success(try await source.fetchMetadata()) } catch { metadata = .failure(SourceError(error)) }
        guard case .success(let md) = metadata else {
            let e = SourceError("skipped: metadata unavailable")
            return RawSample(metadata: metadata, offsets: .failure(e), logDirs: [:], groups: .failure(e), committed: .failure(e),
                             topicConfigs: nil, startedAt: started, finishedAt: Date())
        }
        let tps = md.topics.flatMap { t in t.partitions.map { TopicPartition(t.name, $0.partition) } }
        async let offsets: Result<[TopicPartition: PartitionOffsets], SourceError> = {
            do { return .success(try await source.fetchOffsets(tps, metadata: md)) } catch { return .failure(SourceError(error)) }
        }()
        async let logDirs = source.fetchLogDirs(brokers: md.brokers.map(\.id))
        async let groupsAndCommitted: (Result<[GroupDescription], SourceError>, Result<[String: [TopicPartition: Int64]], SourceError>) = {
            do {
                let g = try await source.fetchGroups()
                do { return (.success(g), .success(try await source.fetchCommittedOffsets(groups: g))) }
                catch { return (.success(g), .failure(SourceError(error))) }
            } catch {
                return (.failure(SourceError(error)), .failure(SourceError("skipped: groups unavailable")))
            }
        }()
        async let configs: Result<[String: [String: String]], SourceError>? = withConfigs ? {
            do { return .success(try await source.fetchTopicConfigs(md.topics.map(\.name))) } catch { return .failure(SourceError(error)) }
        }() : nil
        async let brokerMetrics = source.fetchBrokerMetrics()
        async let quorum: Result<QuorumInfo?, SourceError> = {
            do { return .success(try await source.fetchQuorum()) } catch { return .failure(SourceError(error)) }
        }()
        async let reassignments: Result<[OngoingReassignment]?, SourceError> = {
            do { return .success(try await source.fetchReassignments()) } catch { return .failure(SourceError(error)) }
        }()
        let (o, l, gc, c, m, q, ra) = await (offsets, logDirs, groupsAndCommitted, configs, brokerMetrics, quorum, reassignments)
        var raw = RawSample(metadata: metadata, offsets: o, logDirs: l, groups: gc.0, committed: gc.1, topicConfigs: c,
                            startedAt: started, finishedAt: Date())
        raw.brokerMetrics = m
        raw.quorum = q
        raw.reassignments = ra
        return raw
    }
}
