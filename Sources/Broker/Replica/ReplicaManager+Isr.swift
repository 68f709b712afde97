import KafkaProtocol
import Logging
import Synchronization

/// The brokers of the metadata image as ISR eligibility needs them, updated on every commit
/// before partitions see their new registrations.
public final class BrokerLivenessTable: Sendable {
    private let table = Mutex<[Int32: BrokerLiveness]>([:])
    public init() {}
    public func update(_ brokers: [Int32: BrokerRegistration]) {
        let next = brokers.mapValues { BrokerLiveness(fenced: $0.fenced, inControlledShutdown: $0.inControlledShutdown, epoch: $0.epoch) }
        table.withLock { $0 = next }
    }
    public func liveness(_ id: Int32) -> BrokerLiveness? { table.withLock { $0[id] } }
}

/// The ISR-related state of a ``ReplicaManager``.
final class ReplicaIsrSupport: Sendable {
    struct Settings: Sendable {
        var replicaLagTimeMaxMs: Int64
        var clock: any BrokerClock
        var sender: (any AlterPartitionSubmitter)?
        var localBrokerEpoch: @Sendable () -> Int64
        /// Where partitions log their ISR changes (nil until replication is enabled).
        var logger: Logger? = nil
    }

    let liveness = BrokerLivenessTable()
    /// Committed ISR shrinks and expansions of this broker's led partitions (metrics).
    let changes = IsrChangeCounters()
    let settings = Mutex<Settings>(Settings(replicaLagTimeMaxMs: 30_000, clock: SystemBrokerClock(), sender: nil,
                                            localBrokerEpoch: { -1 }))
    private let expiration = Mutex<Task<Void, Never>?>(nil)

    func context(for partition: Partition) -> PartitionReplicationContext {
        let s = settings.withLock { $0 }
        let table = liveness
        var context = PartitionReplicationContext(replicaLagTimeMaxMs: s.replicaLagTimeMaxMs, clock: s.clock,
                                                  liveness: { table.liveness($0) }, localBrokerEpoch: s.localBrokerEpoch,
                                                  alterPartition: s.sender)
        context.isrChanges = changes
        context.logger = s.logger
        return context
    }

    func setExpiration(_ task: Task<Void, Never>) {
        expiration.withLock { old in
            old?.cancel()
            old = task
        }
    }

    /// The broker is stopping: no more shrink checks, and the sender drops what it has not
    /// sent (it would otherwise retry against a closed controller channel until exit).
    func stopExpiration() {
        expiration.withLock { t in
            t?.cancel()
            t = nil
        }
        (settings.withLock { $0.sender } as? AlterPartitionManager)?.stop()
    }
}

extension ReplicaManager {
    /// Committed ISR shrinks and expansions since start-up (Kafka's `IsrShrinksPerSec` and
    /// `IsrExpandsPerSec` counts).
    public var isrChangeCounts: (shrinks: Int64, expands: Int64) { (isr.changes.shrinks, isr.changes.expands) }

    /// Turns on ISR management for a broker of a multi-node cluster: ISR changes go to the
    /// controller through `sender`, followers leave the ISR after `replicaLagTimeMaxMs`
    /// (`replica.lag.time.max.ms`). Applies to hosted partitions and every one opened later.
    public func enableReplication(replicaLagTimeMaxMs: Int64, clock: any BrokerClock, sender: any AlterPartitionSubmitter,
                                  localBrokerEpoch: @escaping @Sendable () -> Int64) {
        isr.settings.withLock {
            $0 = .init(replicaLagTimeMaxMs: replicaLagTimeMaxMs, clock: clock, sender: sender, localBrokerEpoch: localBrokerEpoch,
                       logger: logger)
        }
        for p in allPartitions { p.setReplicationContext(isr.context(for: p)) }
    }

    /// Starts Kafka's "isr-expiration" task: every replica.lag.time.max.ms / 2 each partition
    /// this broker leads checks for ISR members that fell behind (``Partition/maybeShrinkIsr()``).
    /// Stopped by ``beginShutdown()``.
    public func startIsrExpiration() {
        let s = isr.settings.withLock { $0 }
        let interval = max(1, s.replicaLagTimeMaxMs / 2)
        let task = Task { [weak self] in
            while !Task.isCancelled {
                await s.clock.sleep(ms: interval)
                guard let self, !Task.isCancelled, !self.isStopping else { return }
                for p in self.allPartitions where p.isLeader { p.maybeShrinkIsr() }
            }
        }
        isr.setExpiration(task)
    }

    /// A topic's effective min.insync.replicas: its override, else the (dynamic) broker default.
    func minInsyncReplicas(_ topic: TopicImage, dynamic: DynamicBrokerConfigs) -> Int {
        let effective = config.effectiveTopicConfig(topic.configs, dynamic: dynamic)
        return effective["min.insync.replicas"].flatMap { Int($0) } ?? 1
    }
}
