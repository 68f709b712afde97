import Logging
import Synchronization

/// Starts and stops this broker's follower fetchers as the metadata changes who leads what
/// (Kafka's `ReplicaFetcherManager` driven by `ReplicaManager.applyDelta`): one
/// ``ReplicaFetcher`` per leader broker, replicating every partition hosted here that it
/// leads. A partition this broker comes to lead stops being fetched; a follower whose leader
/// changes moves to the new leader's fetcher (and starts over with the new leader epoch).
///
/// ``apply(_:)`` runs on every committed metadata change, after ``ReplicaManager/apply(old:new:)``
/// (which updates the partitions' leadership first). Thread-safe.
public final class ReplicaFetcherManager: Sendable {
    private let nodeId: Int32
    private let replicas: ReplicaManager
    private let settings: ReplicaFetchSettings
    private let listenerName: String
    /// The inter-broker listener's client TLS, shared by every fetcher (nil: no TLS).
    private let tls: ClientTLSContext?
    private let clock: any BrokerClock
    private let logger: Logger
    private let fetchers = Mutex<[Int32: ReplicaFetcher]>([:])
    private let stopped = Mutex(false)
    /// Off until ``enable(_:)``: a node of a cluster follows only once its metadata has caught
    /// up with the quorum (a stale image could name a stale leader to truncate to).
    private let enabled = Mutex(false)

    /// - Parameter listenerName: the inter-broker listener (`inter.broker.listener.name`); a
    ///   leader registered without it is reached on its first listener.
    /// - Parameter tls: the reloadable client TLS built from `settings.clientSecurity`; each
    ///   fetcher's new connection uses its current configuration.
    public init(nodeId: Int32, replicas: ReplicaManager, settings: ReplicaFetchSettings, listenerName: String,
                tls: ClientTLSContext? = nil, clock: any BrokerClock, logger: Logger) {
        self.nodeId = nodeId
        self.replicas = replicas
        self.settings = settings
        self.listenerName = listenerName
        self.tls = tls
        self.clock = clock
        self.logger = logger
    }

    /// What this broker should fetch under `image`: for every hosted partition led by another
    /// broker, that leader's partitions with their leader epochs. Pure (tests use it).
    static func plan(nodeId: Int32, partitions: [Partition]) -> [Int32: [TopicPartition: Int32]] {
        var plan: [Int32: [TopicPartition: Int32]] = [:]
        for p in partitions {
            let l = p.leadership
            guard l.leader >= 0, l.leader != nodeId, l.replicas.contains(nodeId) else { continue }
            plan[l.leader, default: [:]][TopicPartition(p.topic, p.index)] = l.leaderEpoch
        }
        return plan
    }

    /// The endpoint of `broker` on the inter-broker listener (else its first), nil when unknown.
    static func endpoint(of broker: Int32, in image: MetadataImage, listenerName: String) -> FetcherEndpoint? {
        guard let reg = image.brokers[broker] else { return nil }
        guard let e = reg.endpoints.first(where: { $0.listener.uppercased() == listenerName.uppercased() }) ?? reg.endpoints.first else {
            return nil
        }
        return FetcherEndpoint(host: e.host.isEmpty ? "127.0.0.1" : e.host, port: Int(e.port))
    }

    /// Starts following (the metadata caught up) and applies `image`.
    public func enable(_ image: MetadataImage) {
        enabled.withLock { $0 = true }
        apply(image)
    }

    /// Brings the fetchers in line with `image` and the hosted partitions' leadership.
    public func apply(_ image: MetadataImage) {
        guard enabled.withLock({ $0 }) else { return }
        let plan = Self.plan(nodeId: nodeId, partitions: replicas.allPartitions)
        var toStop: [ReplicaFetcher] = []
        var toStart: [ReplicaFetcher] = []
        fetchers.withLock { map in
            guard !stopped.withLock({ $0 }) else { return }
            for (leader, fetcher) in map where plan[leader] == nil || Self.endpoint(of: leader, in: image, listenerName: listenerName) == nil {
                toStop.append(fetcher)
                map[leader] = nil
            }
            for (leader, partitions) in plan {
                guard let endpoint = Self.endpoint(of: leader, in: image, listenerName: listenerName) else {
                    logger.warning("Broker \(leader) leads \(partitions.count) partition(s) followed here but has no registered endpoint")
                    continue
                }
                if let fetcher = map[leader] {
                    fetcher.update(endpoint: endpoint, partitions: partitions)
                    continue
                }
                do {
                    let fetcher = try ReplicaFetcher(sourceBroker: leader, endpoint: endpoint, nodeId: nodeId, replicas: replicas,
                                                     settings: settings, tls: tls, clock: clock, logger: logger)
                    fetcher.update(endpoint: endpoint, partitions: partitions)
                    map[leader] = fetcher
                    toStart.append(fetcher)
                } catch {
                    logger.error("Could not create the follower fetcher for broker \(leader): \(error)")
                }
            }
        }
        for f in toStart {
            logger.info("Started follower fetcher for broker \(f.sourceBroker) (\(f.followed.count) partition(s))")
            f.start()
        }
        for f in toStop {
            logger.info("Stopping follower fetcher for broker \(f.sourceBroker)")
            Task { await f.stop() }
        }
    }

    /// The fetcher for `leader`, if any (tests, metrics).
    func fetcher(for leader: Int32) -> ReplicaFetcher? { fetchers.withLock { $0[leader] } }

    /// What every fetcher follows: leader -> (partition -> leader epoch).
    public var followed: [Int32: [TopicPartition: Int32]] { fetchers.withLock { $0.mapValues(\.followed) } }

    /// Stops every fetcher and waits for them (broker shutdown).
    public func shutdown() async {
        let all = fetchers.withLock { map -> [ReplicaFetcher] in
            stopped.withLock { $0 = true }
            defer { map.removeAll() }
            return Array(map.values)
        }
        for f in all { await f.stop() }
    }
}
