import KafkaProtocol
import Synchronization

/// A metadata change the controller refused, with the Kafka error code to report.
public struct ControllerError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int16
    public var message: String
    public init(_ code: Int16, _ message: String) { self.code = code; self.message = message }
    public var description: String { "error \(code): \(message)" }

    static func unknownTopic(_ name: String) -> ControllerError { .init(3, "This server does not host this topic-partition: \(name)") }
    static func invalidTopic(_ m: String) -> ControllerError { .init(17, m) }
    static func topicExists(_ name: String) -> ControllerError { .init(36, "Topic '\(name)' already exists.") }
    static func invalidPartitions(_ m: String) -> ControllerError { .init(37, m) }
    static func invalidReplicationFactor(_ m: String) -> ControllerError { .init(38, m) }
    static func invalidReplicaAssignment(_ m: String) -> ControllerError { .init(39, m) }
    static func invalidConfig(_ m: String) -> ControllerError { .init(40, m) }
    static func invalidRequest(_ m: String) -> ControllerError { .init(42, m) }
    static func deletionDisabled() -> ControllerError { .init(73, "Topic deletion is disabled.") }
}

/// Kafka's topic name rules (`org.apache.kafka.common.internals.Topic`).
public enum TopicName {
    public static let maxLength = 249
    /// Kafka's `Topic.isInternal` set (Kafka 4.x `org.apache.kafka.common.internals.Topic`):
    /// topics only the coordinators write. Clients may not produce to them or delete their
    /// records (INVALID_TOPIC_EXCEPTION, as Kafka's ReplicaManager answers).
    public static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state", "__share_group_state"]
    /// KRaft's metadata log. Not a topic clients see: Kafka's controller refuses to create it.
    public static let clusterMetadataTopic = "__cluster_metadata"

    /// Why topic `name` may not be deleted, or nil when it may.
    ///
    /// Kafka's broker itself deletes an internal topic when asked (only `kafka-topics.sh`
    /// refuses: "is a kafka internal topic and is not allowed to be marked for deletion"), and
    /// deleting `__consumer_offsets` silently loses every group's offsets. Samsa refuses at the
    /// broker, so every client gets the refusal, with the code Kafka's broker uses for
    /// the other operations it refuses on internal topics (Produce, DeleteRecords):
    /// INVALID_TOPIC_EXCEPTION.
    public static func deletionRefusal(_ name: String) -> ControllerError? {
        guard internalTopics.contains(name) || name == clusterMetadataTopic else { return nil }
        return .invalidTopic("Topic \(name) is a Kafka internal topic and is not allowed to be deleted")
    }

    /// Throws INVALID_TOPIC_EXCEPTION for a name Kafka would refuse.
    public static func validate(_ name: String) throws(ControllerError) {
        guard !name.isEmpty else { throw .invalidTopic("Topic name is illegal, it can't be empty") }
        guard name != "." && name != ".." else { throw .invalidTopic("Topic name cannot be \".\" or \"..\"") }
        guard name.utf8.count <= maxLength else {
            throw .invalidTopic("Topic name is illegal, it can't be longer than \(maxLength) characters, topic name: \(name)")
        }
        for b in name.utf8 {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            guard ok else {
                throw .invalidTopic("Topic name \"\(name)\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'")
            }
        }
    }

    /// Kafka treats '.' and '_' as the same in metric names, so such names collide.
    public static func collisionKey(_ name: String) -> String {
        String(name.map { $0 == "." ? "_" : $0 })
    }
}

/// The single-node controller: validates admin changes against the current image and turns
/// them into ``MetadataRecord``s committed to the ``MetadataStore``.
///
/// It plays the role the active KRaft controller will play in a cluster (Kafka's
/// `ReplicationControlManager`), so the broker side never changes metadata any other way.
/// Thread-safe: commits are serialised by the store; validation reads a snapshot inside the
/// same critical section (`lock`) so two concurrent CreateTopics of one name cannot both win.
public final class LocalController: Sendable {
    public let store: MetadataStore
    private let lock = Mutex<Void>(())
    private let serial = AsyncSerialLock()
    private let nextRandom: @Sendable () -> UInt64
    /// Producer ids are handed out in blocks so that only one record per block is written.
    public static let producerIdBlockSize: Int64 = 1000

    /// `max.broker.partitions` (KIP-578): most partitions one broker may host.
    public let maxBrokerPartitions: Int

    public init(store: MetadataStore, random: @escaping @Sendable () -> UInt64, maxBrokerPartitions: Int = Int(Int32.max)) {
        self.store = store
        self.nextRandom = random
        self.maxBrokerPartitions = maxBrokerPartitions
    }

    /// Refuses a change that would make any broker host more than `max.broker.partitions`
    /// partitions, before anything is created (POLICY_VIOLATION, as KIP-578 proposed; the
    /// message names the limit, so the operator knows what to change). A broker opens a log
    /// per partition it hosts, so an unbounded topic (20,000 partitions from the console) once
    /// left the broker creating logs for minutes and out of descriptors.
    private func checkPartitionLimit(adding replicaSets: [[Int32]], image: MetadataImage) throws(ControllerError) {
        var added: [Int32: Int] = [:]
        for replicas in replicaSets { for b in replicas { added[b, default: 0] += 1 } }
        for (broker, count) in added.sorted(by: { $0.key < $1.key }) {
            let hosted = image.topics.values.reduce(0) { sum, t in sum + t.partitions.filter { $0.replicas.contains(broker) }.count }
            if hosted + count > maxBrokerPartitions {
                throw ControllerError(44, "Adding \(count) partition(s) would make broker \(broker) host \(hosted + count) partitions, "
                    + "above max.broker.partitions=\(maxBrokerPartitions) (it hosts \(hosted) now).")
            }
        }
    }

    /// Registers (or re-registers) a broker. A single node registers itself at start-up.
    public func registerBroker(_ registration: BrokerRegistration) throws {
        try perform { image in (image.brokers[registration.id] != registration ? [.registerBroker(registration)] : [], ()) }
    }

    public func registerBroker(_ registration: BrokerRegistration) async throws {
        try await perform { image in (image.brokers[registration.id] != registration ? [.registerBroker(registration)] : [], ()) }
    }

    // MARK: Serialising operations

    /// Runs one controller operation: `plan` validates against the current image and returns
    /// the records to commit and the answer. Synchronous: for a store that commits locally
    /// (tests, tools); a log-backed store refuses it.
    private func perform<T>(_ plan: (MetadataImage) throws -> (records: [MetadataRecord], result: T)) throws -> T {
        try lock.withLock { _ throws -> T in
            let (records, result) = try plan(store.image)
            if !records.isEmpty { try store.commit(records) }
            return result
        }
    }

    /// The same through the metadata log: one operation in flight at a time (``serial``), and
    /// the next one validates only after the previous one's records are committed and applied,
    /// so validation always sees every earlier change (two CreateTopics of one name cannot both
    /// pass). Waiting happens off the lock: no thread is blocked.
    private func perform<T: Sendable>(_ plan: @Sendable (MetadataImage) throws -> (records: [MetadataRecord], result: T)) async throws -> T {
        await serial.lock()
        do {
            let (records, result) = try plan(store.image)
            if !records.isEmpty { try await store.commitAsync(records) }
            await serial.unlock()
            return result
        } catch {
            await serial.unlock()
            throw error
        }
    }

    /// Runs `body` on the current image and the offset its first record will get, and commits
    /// the records it returns, all under the controller's lock: the broker-lifecycle logic
    /// (`Controller/ClusterControlService.swift`) needs the real offset of the records it writes
    /// (a broker epoch is its RegisterBrokerRecord's offset). In this store the offset of a record
    /// is the number of records before it (`MetadataImage.recordCount`).
    public func commitComputed<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) throws -> R {
        try lock.withLock { _ throws -> R in
            let image = store.image
            let (records, result) = try body(image, image.recordCount)
            if !records.isEmpty { try store.commit(records) }
            return result
        }
    }

    /// ``commitComputed(_:)`` for a log-backed store (the broker's): `body` gets the committed
    /// image and the offset its first record will get in `__cluster_metadata-0`, and its records
    /// are proposed, committed and applied before this returns. Serialised with every other
    /// controller operation, so no write comes between the offset read and the append (the
    /// controller is the only writer while it leads; its epoch's LeaderChange batch is
    /// committed before it serves). Without a log it is ``commitComputed(_:)``.
    public func commitComputedAsync<R>(_ body: (MetadataImage, Int64) throws -> ([MetadataRecord], R)) async throws -> R {
        guard store.isLogBacked else { return try commitComputed(body) }
        await serial.lock()
        do {
            let image = store.image
            let (records, result) = try body(image, store.nextWriteOffset)
            if !records.isEmpty { try await store.commitAsync(records) }
            await serial.unlock()
            return result
        } catch {
            await serial.unlock()
            throw error
        }
    }

    /// AlterUserScramCredentials (KIP-554): validates against the committed image and commits
    /// the UserScramCredentialRecords / RemoveUserScramCredentialRecords of the users without
    /// errors (``ScramCredentialChanges``), serialised with every other controller operation.
    public func alterUserScramCredentials(deletions: [ScramCredentialChanges.Deletion],
                                          upsertions: [ScramCredentialChanges.Upsertion]) async throws -> [ScramCredentialChanges.UserResult] {
        try await commitComputedAsync { image, _ in
            let plan = ScramCredentialChanges.plan(deletions: deletions, upsertions: upsertions, image: image)
            return (plan.records, plan.results)
        }
    }

    /// CreateAcls: validates each binding and commits an AccessControlEntryRecord (with a new
    /// id) for each new one (``AclChanges/planCreate(_:existing:)``); one result per creation.
    public func createAcls(_ creations: [AclBinding]) async throws -> [AclChanges.CreationResult] {
        try await commitComputedAsync { image, _ in
            let withIds = creations.map { b -> AclBinding in var b = b; b.id = KafkaUUID.random().description; return b }
            let plan = AclChanges.planCreate(withIds, existing: image.acls.values)
            return (plan.records, plan.results)
        }
    }

    /// DeleteAcls: removes every binding a filter matches (RemoveAccessControlEntryRecords);
    /// per filter the bindings it matched, or why the filter is invalid.
    public func deleteAcls(_ filters: [AclBindingFilter]) async throws -> [Result<[AclBinding], AclChanges.InvalidFilter>] {
        try await commitComputedAsync { image, _ in
            let plan = AclChanges.planDelete(filters, existing: Array(image.acls.values))
            return (plan.records, plan.matches)
        }
    }

    /// What a successful (or validate-only) topic creation yields.
    public struct CreatedTopic: Sendable, Equatable {
        public var id: TopicID
        public var numPartitions: Int32
        public var replicationFactor: Int16
        public var configs: [String: String]
    }

    /// Creates a topic. `assignments` (partition -> replicas) replaces the automatic placement.
    public func createTopic(name: String, numPartitions: Int32, replicationFactor: Int16,
                            assignments: [Int32: [Int32]] = [:], configs: [String: String] = [:],
                            validateOnly: Bool = false) throws -> CreatedTopic {
        try perform { image in
            try self.planCreateTopic(image: image, name: name, numPartitions: numPartitions, replicationFactor: replicationFactor,
                                     assignments: assignments, configs: configs, validateOnly: validateOnly)
        }
    }

    public func createTopic(name: String, numPartitions: Int32, replicationFactor: Int16,
                            assignments: [Int32: [Int32]] = [:], configs: [String: String] = [:],
                            validateOnly: Bool = false) async throws -> CreatedTopic {
        try await perform { image in
            try self.planCreateTopic(image: image, name: name, numPartitions: numPartitions, replicationFactor: replicationFactor,
                                     assignments: assignments, configs: configs, validateOnly: validateOnly)
        }
    }

    private func planCreateTopic(image: MetadataImage, name: String, numPartitions: Int32, replicationFactor: Int16,
                                 assignments: [Int32: [Int32]], configs: [String: String],
                                 validateOnly: Bool) throws -> (records: [MetadataRecord], result: CreatedTopic) {
        try TopicName.validate(name)
        // Kafka's ControllerApis.createTopics drops this name and answers
        // TOPIC_AUTHORIZATION_FAILED (29) for it; the message here says why.
        if name == TopicName.clusterMetadataTopic {
            throw ControllerError(29, "Topic \(name) is the cluster metadata log and cannot be created as a regular topic")
        }
        if image.topics[name] != nil { throw ControllerError.topicExists(name) }
        let key = TopicName.collisionKey(name)
        if let other = image.topics.keys.first(where: { TopicName.collisionKey($0) == key }) {
            throw ControllerError.invalidTopic("Topic '\(name)' collides with existing topic: \(other)")
        }
        for (k, v) in configs {
            do { try TopicConfigKeys.validate(k, v) } catch { throw ControllerError.invalidConfig("\(error)") }
        }
        let replicaSets: [[Int32]]
        if !assignments.isEmpty {
            guard numPartitions == -1 && replicationFactor == -1 else {
                throw ControllerError.invalidRequest("Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
            }
            replicaSets = try checkedAssignments(assignments, firstPartition: 0, image: image, expectedRF: nil)
        } else {
            guard numPartitions >= 1 else {
                throw ControllerError.invalidPartitions("Number of partitions was set to an invalid non-positive value.")
            }
            guard replicationFactor >= 1 else {
                throw ControllerError.invalidReplicationFactor("Replication factor must be larger than 0.")
            }
            replicaSets = try placeReplicas(count: Int(numPartitions), firstPartition: 0,
                                            replicationFactor: Int(replicationFactor), image: image)
        }
        try checkPartitionLimit(adding: replicaSets, image: image)
        let id = TopicID.random(nextRandom)
        let created = CreatedTopic(id: id, numPartitions: Int32(replicaSets.count),
                                   replicationFactor: Int16(replicaSets.first?.count ?? 0), configs: configs)
        if validateOnly { return ([], created) }
        var records: [MetadataRecord] = [.topic(name: name, id: id)]
        for (k, v) in configs.sorted(by: { $0.key < $1.key }) {
            records.append(.config(resourceType: 2, resourceName: name, name: k, value: v))
        }
        for (p, replicas) in replicaSets.enumerated() {
            records.append(.partition(topicID: id, PartitionRegistration(
                partition: Int32(p), replicas: replicas, isr: Self.initialIsr(replicas, image), leader: replicas[0],
                leaderEpoch: 0, partitionEpoch: 0)))
        }
        return (records, created)
    }

    /// Deletes a topic by name.
    public func deleteTopic(name: String, deletionEnabled: Bool) throws -> TopicID {
        try perform { image in try Self.planDeleteTopic(image: image, name: name, deletionEnabled: deletionEnabled) }
    }

    public func deleteTopic(name: String, deletionEnabled: Bool) async throws -> TopicID {
        try await perform { image in try Self.planDeleteTopic(image: image, name: name, deletionEnabled: deletionEnabled) }
    }

    private static func planDeleteTopic(image: MetadataImage, name: String, deletionEnabled: Bool) throws -> (records: [MetadataRecord], result: TopicID) {
        guard deletionEnabled else { throw ControllerError.deletionDisabled() }
        if let refusal = TopicName.deletionRefusal(name) { throw refusal }
        guard let topic = image.topics[name] else { throw ControllerError.unknownTopic(name) }
        return ([.removeTopic(topic.id)], topic.id)
    }

    /// Grows a topic to `totalCount` partitions.
    public func createPartitions(topic name: String, totalCount: Int32, assignments: [[Int32]]?,
                                 validateOnly: Bool) throws {
        try perform { image in
            try self.planCreatePartitions(image: image, name: name, totalCount: totalCount, assignments: assignments, validateOnly: validateOnly)
        }
    }

    public func createPartitions(topic name: String, totalCount: Int32, assignments: [[Int32]]?,
                                 validateOnly: Bool) async throws {
        try await perform { image in
            try self.planCreatePartitions(image: image, name: name, totalCount: totalCount, assignments: assignments, validateOnly: validateOnly)
        }
    }

    private func planCreatePartitions(image: MetadataImage, name: String, totalCount: Int32, assignments: [[Int32]]?,
                                      validateOnly: Bool) throws -> (records: [MetadataRecord], result: Void) {
        guard let topic = image.topics[name] else { throw ControllerError.unknownTopic(name) }
        let current = Int32(topic.partitions.count)
        guard totalCount > current else {
            throw ControllerError.invalidPartitions(totalCount == current
                ? "Topic already has \(current) partitions."
                : "Topic currently has \(current) partitions, which is higher than the requested \(totalCount).")
        }
        let rf = topic.partitions.first?.replicas.count ?? 1
        let replicaSets: [[Int32]]
        if let assignments {
            guard assignments.count == Int(totalCount - current) else {
                throw ControllerError.invalidReplicaAssignment(
                    "Attempted to add \(totalCount - current) additional partition(s), but only \(assignments.count) assignment(s) were specified.")
            }
            var dict: [Int32: [Int32]] = [:]
            for (i, a) in assignments.enumerated() { dict[current + Int32(i)] = a }
            replicaSets = try checkedAssignments(dict, firstPartition: current, image: image, expectedRF: rf)
        } else {
            replicaSets = try placeReplicas(count: Int(totalCount - current), firstPartition: Int(current),
                                            replicationFactor: rf, existing: topic.partitions.map(\.replicas), image: image)
        }
        try checkPartitionLimit(adding: replicaSets, image: image)
        if validateOnly { return ([], ()) }
        let records = replicaSets.enumerated().map { i, replicas in
            MetadataRecord.partition(topicID: topic.id, PartitionRegistration(
                partition: current + Int32(i), replicas: replicas, isr: Self.initialIsr(replicas, image), leader: replicas[0],
                leaderEpoch: 0, partitionEpoch: 0))
        }
        return (records, ())
    }

    /// Sets (value non-nil) or removes (nil) configs of a topic (type 2) or broker (type 4).
    public func alterConfigs(resourceType: Int8, resourceName: String, changes: [(String, String?)],
                             validateOnly: Bool) throws {
        let changes = changes.map { ConfigChange(name: $0.0, value: $0.1) }
        try perform { image in try Self.planAlterConfigs(image: image, resourceType: resourceType, resourceName: resourceName,
                                                          changes: changes, validateOnly: validateOnly) }
    }

    public func alterConfigs(resourceType: Int8, resourceName: String, changes: [(String, String?)],
                             validateOnly: Bool) async throws {
        let changes = changes.map { ConfigChange(name: $0.0, value: $0.1) }
        try await perform { image in try Self.planAlterConfigs(image: image, resourceType: resourceType, resourceName: resourceName,
                                                                changes: changes, validateOnly: validateOnly) }
    }

    private struct ConfigChange: Sendable { var name: String; var value: String? }

    private static func planAlterConfigs(image: MetadataImage, resourceType: Int8, resourceName: String, changes: [ConfigChange],
                                         validateOnly: Bool) throws -> (records: [MetadataRecord], result: Void) {
        if resourceType == 2, image.topics[resourceName] == nil {
            throw ControllerError.unknownTopic(resourceName)
        }
        let records = changes.map { MetadataRecord.config(resourceType: resourceType, resourceName: resourceName,
                                                          name: $0.name, value: $0.value) }
        return (validateOnly ? [] : records, ())
    }

    /// Reserves a block of producer ids and returns its first id. The block is committed before
    /// any id in it is used, so ids stay unique across restarts.
    public func allocateProducerIdBlock() throws -> ClosedRange<Int64> {
        try perform(Self.planProducerIdBlock)
    }

    public func allocateProducerIdBlock() async throws -> ClosedRange<Int64> {
        try await perform(Self.planProducerIdBlock)
    }

    @Sendable private static func planProducerIdBlock(image: MetadataImage) -> (records: [MetadataRecord], result: ClosedRange<Int64>) {
        let start = image.nextProducerId
        return ([.producerIds(nextProducerId: start + producerIdBlockSize)], start...(start + producerIdBlockSize - 1))
    }

    /// Kafka's striped, rack-aware placement over the usable brokers
    /// (`Controller/StripedReplicaPlacer.swift`), continuing the stripe of the topic's
    /// existing partitions for CreatePartitions; its refusals are INVALID_REPLICATION_FACTOR
    /// with Kafka's `ReplicationControlManager` wording.
    private func placeReplicas(count: Int, firstPartition: Int, replicationFactor: Int, existing: [[Int32]] = [],
                               image: MetadataImage) throws(ControllerError) -> [[Int32]] {
        var random = ClosureRandomSource(draw: nextRandom)
        do {
            return try StripedReplicaPlacer.place(partitions: count, replicationFactor: replicationFactor,
                                                  brokers: StripedReplicaPlacer.usableBrokers(image), existing: existing, random: &random)
        } catch {
            throw .invalidReplicationFactor("Unable to replicate the partition \(replicationFactor) time(s): \(error.message)")
        }
    }

    /// Kafka's `createTopic`: the ISR of a new partition is its active replicas (the placer may
    /// put followers on fenced brokers once the unfenced ones are used; the leader never is).
    static func initialIsr(_ replicas: [Int32], _ image: MetadataImage) -> [Int32] {
        let active = replicas.filter { ClusterControl.isActive($0, image: image) }
        return active.isEmpty ? replicas : active
    }

    private func checkedAssignments(_ assignments: [Int32: [Int32]], firstPartition: Int32, image: MetadataImage,
                                    expectedRF: Int?) throws(ControllerError) -> [[Int32]] {
        var out: [[Int32]] = []
        var rf = expectedRF
        for p in 0..<Int32(assignments.count) {
            guard let replicas = assignments[firstPartition + p] else {
                throw .invalidReplicaAssignment("Partitions must be consecutive, starting at \(firstPartition); \(firstPartition + p) is missing.")
            }
            guard !replicas.isEmpty else { throw .invalidReplicaAssignment("The replica assignment of partition \(firstPartition + p) is empty.") }
            guard Set(replicas).count == replicas.count else {
                throw .invalidReplicaAssignment("Duplicate brokers in the assignment of partition \(firstPartition + p).")
            }
            for b in replicas where image.brokers[b] == nil || image.brokers[b]?.fenced == true {
                throw .invalidReplicaAssignment("The assignment of partition \(firstPartition + p) names broker \(b), which is not registered.")
            }
            if let rf, rf != replicas.count {
                throw .invalidReplicaAssignment("All partitions must have the same replication factor (\(rf)).")
            }
            rf = replicas.count
            out.append(replicas)
        }
        return out
    }
}

/// A `RandomNumberGenerator` over the controller's injected source, for the placer.
struct ClosureRandomSource: RandomNumberGenerator {
    let draw: () -> UInt64
    mutating func next() -> UInt64 { draw() }
}

/// A FIFO lock for async code: waiting suspends the task instead of blocking a thread, so a
/// controller operation can hold it across the quorum round trip.
actor AsyncSerialLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        guard locked else { locked = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
    }
}
