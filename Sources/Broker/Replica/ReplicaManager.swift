import Logging
import LogStorage
import Synchronization

/// Where partition logs come from: LogStorage's `LogManager` in the broker, a temp-dir
/// implementation in tests.
public protocol PartitionLogProvider: Sendable {
    /// The partition's log, created when missing.
    func openLog(topic: String, partition: Int32, config: LogConfig) throws -> PartitionLog
    /// Closes and deletes the partition's log, if any.
    func removeLog(topic: String, partition: Int32) throws
}

/// A topic-partition key.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(_ topic: String, _ partition: Int32) { self.topic = topic; self.partition = partition }
    public var description: String { "\(topic)-\(partition)" }
}

/// Hosts this broker's partitions and keeps them in step with the metadata image.
///
/// It listens to ``MetadataStore`` commits: a partition assigned to this broker gets a log and
/// a ``Partition`` (with its producer state rebuilt from the log); a leadership change updates
/// the partition's epoch and ISR; a removed topic's logs are deleted and its parked fetches
/// woken. It never changes metadata itself: that is the controller's job.
///
/// Thread-safe.
public final class ReplicaManager: Sendable {
    public let nodeId: Int32
    private let logs: any PartitionLogProvider
    let config: BrokerConfig
    let logger: Logger
    private let partitions = Mutex<[TopicPartition: Partition]>([:])
    private let nextWaiterId = Atomic<UInt64>(1)
    private let stopping = Atomic<Bool>(false)
    /// Why a partition assigned here has no log (the open failed), until a later open succeeds.
    private let openFailures = Mutex<[TopicPartition: String]>([:])
    /// ISR management: broker liveness from the image, the replication context new partitions
    /// get, the isr-expiration task (ReplicaManager+Isr.swift).
    let isr = ReplicaIsrSupport()

    public init(nodeId: Int32, logs: any PartitionLogProvider, config: BrokerConfig, logger: Logger) {
        self.nodeId = nodeId
        self.logs = logs
        self.config = config
        self.logger = logger
    }

    public func partition(_ tp: TopicPartition) -> Partition? { partitions.withLock { $0[tp] } }
    public func partition(_ topic: String, _ index: Int32) -> Partition? { partition(TopicPartition(topic, index)) }
    public var allPartitions: [Partition] { partitions.withLock { Array($0.values) } }

    /// Why the log of a partition assigned to this broker could not be opened, nil when it is
    /// hosted (or was never tried). CreateTopics and CreatePartitions answer with it.
    public func openFailure(_ topic: String, _ index: Int32) -> String? {
        openFailures.withLock { $0[TopicPartition(topic, index)] }
    }

    public func makeWaiter() -> DataWaiter {
        DataWaiter(id: nextWaiterId.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    /// The log config of `topic`: broker defaults (with dynamic broker configs) overlaid with
    /// the topic's overrides.
    public func logConfig(for topic: TopicImage, dynamic: DynamicBrokerConfigs = .none) -> LogConfig {
        let effective = config.effectiveTopicConfig(topic.configs, dynamic: dynamic)
        do {
            return try LogConfig(topicConfigs: effective)
        } catch {
            logger.error("Invalid config for topic \(topic.name), using defaults: \(error)")
            return LogConfig()
        }
    }

    /// Brings hosted partitions in line with `new`. Called for every committed change and once
    /// at start-up with the loaded image. Returns the partitions assigned here that could not
    /// be hosted (their log failed to open or to load), with the reason: a storage failure the
    /// caller must act on. Their logs are left untouched.
    @discardableResult
    public func apply(old: MetadataImage?, new: MetadataImage) -> [(TopicPartition, String)] {
        var failed: [(TopicPartition, String)] = []
        isr.liveness.update(new.brokers)
        // Partitions whose topic vanished or was recreated under a new id.
        var removed: [Partition] = []
        partitions.withLock { map in
            for (tp, p) in map {
                guard let topic = new.topics[tp.topic], topic.id == p.leadership.topicID,
                      Int(tp.partition) < topic.partitions.count,
                      topic.partitions[Int(tp.partition)].replicas.contains(nodeId) else {
                    removed.append(p)
                    map[tp] = nil
                    continue
                }
            }
        }
        openFailures.withLock { failures in
            for tp in failures.keys where new.topics[tp.topic] == nil { failures[tp] = nil }
        }
        for p in removed {
            p.wakeWaiters()
            do {
                try logs.removeLog(topic: p.topic, partition: p.index)
                logger.info("Deleted log \(p.topic)-\(p.index)", metadata: .partition(p.topic, p.index))
            } catch {
                logger.error("Could not delete log \(p.topic)-\(p.index): \(error)", metadata: .partition(p.topic, p.index))
            }
        }
        // A dynamic broker config changes the defaults of every topic without its own override.
        let dynamic = new.dynamicBrokerConfigs(nodeId: nodeId)
        let dynamicChanged = old.map { $0.dynamicBrokerConfigs(nodeId: nodeId) != dynamic } ?? true
        for topic in new.topics.values {
            let configChanged = dynamicChanged || old?.topics[topic.name]?.configs != topic.configs
            let logConfig = logConfig(for: topic, dynamic: dynamic)
            for reg in topic.partitions where reg.replicas.contains(nodeId) {
                let tp = TopicPartition(topic.name, reg.partition)
                let leadership = PartitionLeadership(topicID: topic.id, leader: reg.leader, leaderEpoch: reg.leaderEpoch,
                                                     partitionEpoch: reg.partitionEpoch, replicas: reg.replicas, isr: reg.isr)
                if let existing = partition(tp) {
                    if existing.leadership != leadership { existing.updateLeadership(leadership) }
                    if configChanged {
                        existing.log.updateConfig(logConfig)
                        existing.setMinInsyncReplicas(minInsyncReplicas(topic, dynamic: dynamic))
                    }
                    recordLeaderEpochStart(existing.log, reg, tp)
                    continue
                }
                do {
                    let log = try logs.openLog(topic: topic.name, partition: reg.partition, config: logConfig)
                    let p = Partition(topic: topic.name, index: reg.partition, log: log, localBrokerId: nodeId,
                                      leadership: leadership)
                    for warning in try p.rebuildProducerState() { logger.error("\(warning)") }
                    p.setReplicationContext(isr.context(for: p))
                    p.setMinInsyncReplicas(minInsyncReplicas(topic, dynamic: dynamic))
                    p.updateLeadership(leadership)
                    recordLeaderEpochStart(log, reg, tp)
                    partitions.withLock { $0[tp] = p }
                    openFailures.withLock { $0[tp] = nil }
                } catch {
                    logger.error("Could not open log \(tp): \(error)", metadata: .partition(tp.topic, tp.partition))
                    openFailures.withLock { $0[tp] = "\(error)" }
                    failed.append((tp, "\(error)"))
                }
            }
        }
        return failed
    }

    /// Whether `image` assigns `topic`-`partition` to this broker: the only reason a log on
    /// disk may be deleted as stray is that this is false (never that it failed to open).
    public func isAssigned(topic: String, partition: Int32, in image: MetadataImage) -> Bool {
        guard let t = image.topics[topic], partition >= 0, Int(partition) < t.partitions.count else { return false }
        return t.partitions[Int(partition)].replicas.contains(nodeId)
    }

    /// When this broker leads `reg` in an epoch the log has not seen, records that the epoch
    /// starts at the LEO, as Kafka's `Partition.makeLeader` does. Without it a fresh (or
    /// newly elected, not yet written) leader answers OffsetForLeaderEpoch for its own current
    /// epoch with (-1, -1), and a consumer validating its position after a leader change
    /// would treat that as truncation. Later appends in the same epoch keep this entry.
    private func recordLeaderEpochStart(_ log: PartitionLog, _ reg: PartitionRegistration, _ tp: TopicPartition) {
        guard reg.leader == nodeId, reg.leaderEpoch > (log.latestEpoch ?? -1) else { return }
        do {
            try log.assignEpochStartOffset(epoch: reg.leaderEpoch)
        } catch {
            logger.error("Could not record leader epoch \(reg.leaderEpoch) of \(tp): \(error)", metadata: .partition(tp.topic, tp.partition))
        }
    }

    /// Set once the broker is shutting down: parked fetches return at once and do not park again.
    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Starts a shutdown: no fetch parks any more, and every parked one is woken.
    public func beginShutdown() {
        stopping.store(true, ordering: .releasing)
        isr.stopExpiration()
        for p in allPartitions { p.wakeWaiters() }
    }

    /// Flushes every log (clean shutdown).
    public func flushAll() {
        for p in allPartitions {
            do { try p.log.flush() } catch { logger.error("Flush of \(p.topic)-\(p.index) failed: \(error)", metadata: .partition(p.topic, p.index)) }
        }
    }
}
