import KafkaProtocol

/// A topic id is Kafka's 128-bit `Uuid` (the codec's ``KafkaUUID``), persisted in the metadata
/// image in Kafka's URL-safe base64 form.
public typealias TopicID = KafkaUUID

extension KafkaUUID: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let id = KafkaUUID(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad uuid \(s)"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension KafkaUUID {
    /// A random topic id drawn from the injected source `next` (see `random(using:)`).
    static func random(_ next: @escaping () -> UInt64) -> KafkaUUID {
        struct Source: RandomNumberGenerator {
            let draw: () -> UInt64
            mutating func next() -> UInt64 { draw() }
        }
        var source = Source(draw: next)
        return random(using: &source)
    }
}

/// A broker endpoint published in Metadata.
public struct BrokerEndpoint: Hashable, Sendable, Codable {
    public var listener: String
    public var host: String
    public var port: Int32
    /// Kafka's security protocol id (0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL), as
    /// RegisterBrokerRecord carries it.
    public var securityProtocol: Int16

    public init(listener: String, host: String, port: Int32, securityProtocol: Int16 = 0) {
        self.listener = listener; self.host = host; self.port = port; self.securityProtocol = securityProtocol
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listener = try c.decode(String.self, forKey: .listener)
        host = try c.decode(String.self, forKey: .host)
        port = try c.decode(Int32.self, forKey: .port)
        securityProtocol = try c.decodeIfPresent(Int16.self, forKey: .securityProtocol) ?? 0
    }
}

/// A broker as registered with the controller (Kafka's RegisterBrokerRecord + its later
/// Fence/Unfence/BrokerRegistrationChange records).
public struct BrokerRegistration: Equatable, Sendable, Codable {
    public var id: Int32
    public var endpoints: [BrokerEndpoint]
    public var rack: String?
    /// A fenced broker is not given leaderships and is not listed to clients.
    public var fenced: Bool
    /// The broker epoch: the metadata offset of its registration record (Kafka's rule), so a
    /// heartbeat or a record from an older incarnation is recognised and refused.
    public var epoch: Int64
    /// Random per process start (BrokerRegistrationRequest.IncarnationId): a second process
    /// registering the same node id with another incarnation is DUPLICATE_BROKER_REGISTRATION
    /// while the first one's session lives.
    public var incarnationId: KafkaUUID
    /// Set by a heartbeat with WantShutDown: leaderships move away before the process exits.
    public var inControlledShutdown: Bool

    public init(id: Int32, endpoints: [BrokerEndpoint], rack: String?, fenced: Bool, epoch: Int64 = 0,
                incarnationId: KafkaUUID = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0), inControlledShutdown: Bool = false) {
        self.id = id; self.endpoints = endpoints; self.rack = rack; self.fenced = fenced
        self.epoch = epoch; self.incarnationId = incarnationId; self.inControlledShutdown = inControlledShutdown
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int32.self, forKey: .id)
        endpoints = try c.decode([BrokerEndpoint].self, forKey: .endpoints)
        rack = try c.decodeIfPresent(String.self, forKey: .rack)
        fenced = try c.decode(Bool.self, forKey: .fenced)
        epoch = try c.decodeIfPresent(Int64.self, forKey: .epoch) ?? 0
        incarnationId = try c.decodeIfPresent(KafkaUUID.self, forKey: .incarnationId) ?? KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 0)
        inControlledShutdown = try c.decodeIfPresent(Bool.self, forKey: .inControlledShutdown) ?? false
    }
}

/// A change to one partition (Kafka's PartitionChangeRecord): nil fields are unchanged. Applying
/// it bumps the partition epoch, and the leader epoch when the leader changes (Kafka's
/// `PartitionRegistration.merge`).
public struct PartitionChange: Equatable, Sendable, Codable {
    public var topicID: TopicID
    public var partition: Int32
    public var leader: Int32?
    public var isr: [Int32]?
    public var replicas: [Int32]?
    /// A reassignment's replicas still to leave / to join (nil: unchanged; [] clears).
    public var removingReplicas: [Int32]?
    public var addingReplicas: [Int32]?

    public init(topicID: TopicID, partition: Int32, leader: Int32? = nil, isr: [Int32]? = nil, replicas: [Int32]? = nil,
                removingReplicas: [Int32]? = nil, addingReplicas: [Int32]? = nil) {
        self.topicID = topicID; self.partition = partition; self.leader = leader; self.isr = isr; self.replicas = replicas
        self.removingReplicas = removingReplicas; self.addingReplicas = addingReplicas
    }
}

/// Assignment and leadership of one partition, as the controller decides it.
///
/// Invariants: `leader` is -1 or a member of `isr`; `isr` is a subset of `replicas`;
/// `leaderEpoch` increases by one on every leader change; `partitionEpoch` on every change.
public struct PartitionRegistration: Equatable, Sendable, Codable {
    public var partition: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var leader: Int32
    public var leaderEpoch: Int32
    public var partitionEpoch: Int32
    /// An ongoing reassignment (Kafka's PartitionRecord Removing/AddingReplicas): `replicas` is
    /// target ++ (current - target) while it runs; `addingReplicas` = target - current,
    /// `removingReplicas` = current - target. Both empty when none runs.
    public var removingReplicas: [Int32] = []
    public var addingReplicas: [Int32] = []

    public init(partition: Int32, replicas: [Int32], isr: [Int32], leader: Int32, leaderEpoch: Int32, partitionEpoch: Int32,
                removingReplicas: [Int32] = [], addingReplicas: [Int32] = []) {
        self.partition = partition; self.replicas = replicas; self.isr = isr; self.leader = leader
        self.leaderEpoch = leaderEpoch; self.partitionEpoch = partitionEpoch
        self.removingReplicas = removingReplicas; self.addingReplicas = addingReplicas
    }

    /// Decodes images written before reassignments existed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partition = try c.decode(Int32.self, forKey: .partition)
        replicas = try c.decode([Int32].self, forKey: .replicas)
        isr = try c.decode([Int32].self, forKey: .isr)
        leader = try c.decode(Int32.self, forKey: .leader)
        leaderEpoch = try c.decode(Int32.self, forKey: .leaderEpoch)
        partitionEpoch = try c.decode(Int32.self, forKey: .partitionEpoch)
        removingReplicas = try c.decodeIfPresent([Int32].self, forKey: .removingReplicas) ?? []
        addingReplicas = try c.decodeIfPresent([Int32].self, forKey: .addingReplicas) ?? []
    }

    /// Kafka's `hasPreferredLeader`: led by the first replica.
    public var hasPreferredLeader: Bool { leader >= 0 && leader == replicas.first }
    /// Kafka's `isReassigning`.
    public var isReassigning: Bool { !addingReplicas.isEmpty || !removingReplicas.isEmpty }
}

/// A topic: name, id, partitions (index = partition number) and its config overrides.
public struct TopicImage: Equatable, Sendable, Codable {
    public var name: String
    public var id: TopicID
    public var partitions: [PartitionRegistration]
    /// Topic-level overrides only; defaults come from the broker config.
    public var configs: [String: String]
}

/// A change to cluster metadata. A single node produces these itself through
/// ``LocalController``; a controller quorum will later replicate the same records in a log, so
/// the broker only ever learns about metadata by applying records to an image.
public enum MetadataRecord: Equatable, Sendable, Codable {
    case registerBroker(BrokerRegistration)
    case topic(name: String, id: TopicID)
    case partition(topicID: TopicID, PartitionRegistration)
    case removeTopic(TopicID)
    /// `value` nil deletes the override. Resource type 2 = topic, 4 = broker (Kafka's codes).
    case config(resourceType: Int8, resourceName: String, name: String, value: String?)
    /// The next producer id block starts at `nextProducerId` (Kafka's ProducerIdsRecord).
    case producerIds(nextProducerId: Int64)
    /// Kafka's PartitionChangeRecord.
    case partitionChange(PartitionChange)
    /// Kafka's FenceBrokerRecord / UnfenceBrokerRecord: ignored unless `epoch` is the
    /// registered broker epoch (a record about an older incarnation changes nothing).
    case fenceBroker(id: Int32, epoch: Int64)
    case unfenceBroker(id: Int32, epoch: Int64)
    /// Kafka's BrokerRegistrationChangeRecord: nil = unchanged.
    case brokerRegistrationChange(id: Int32, epoch: Int64, fenced: Bool?, inControlledShutdown: Bool?)
    /// Kafka's UnregisterBrokerRecord.
    case unregisterBroker(id: Int32, epoch: Int64)
    /// Kafka's FeatureLevelRecord (`metadata.version` and friends); level 0 removes it.
    case featureLevel(name: String, level: Int16)
    /// Kafka's NoOpRecord: the active controller writes one to advance the log (and the brokers'
    /// "caught up" check) when nothing else happens.
    case noOp
    /// Kafka's UserScramCredentialRecord: `name`'s credential for `mechanism` (1 SCRAM-SHA-256,
    /// 2 SCRAM-SHA-512), created or replaced. Salt, keys and iterations, never the password.
    case scramCredential(name: String, mechanism: Int8, ScramCredential)
    /// Kafka's RemoveUserScramCredentialRecord.
    case removeScramCredential(name: String, mechanism: Int8)
    /// Kafka's AccessControlEntryRecord: one ACL binding (its id is the record's).
    case acl(AclBinding)
    /// Kafka's RemoveAccessControlEntryRecord.
    case removeAcl(id: String)
}

/// An immutable snapshot of cluster metadata: brokers, topics, partitions, configs.
///
/// Every reader takes a copy (copy-on-write makes this cheap) and sees one consistent state.
/// Built only by ``apply(_:)``, so a replayed record log and a live one give the same image.
public struct MetadataImage: Equatable, Sendable, Codable {
    public var clusterId: String
    public var controllerId: Int32
    public var brokers: [Int32: BrokerRegistration] = [:]
    public var topics: [String: TopicImage] = [:]
    public var topicNamesByID: [TopicID: String] = [:]
    /// Dynamic broker configs; resource name "" is the cluster-wide default.
    public var brokerConfigs: [String: [String: String]] = [:]
    public var nextProducerId: Int64 = 0
    /// Finalized features (`metadata.version` ...), from FeatureLevelRecords.
    public var features: [String: Int16] = [:]
    /// SCRAM credentials by user name, then mechanism type (UserScramCredentialRecords).
    public var scramCredentials: [String: [Int8: ScramCredential]] = [:]
    /// ACL bindings by id (AccessControlEntryRecords).
    public var acls: [String: AclBinding] = [:]
    /// How many records produced this image (the metadata offset + 1).
    public var recordCount: Int64 = 0

    public init(clusterId: String, controllerId: Int32) {
        self.clusterId = clusterId; self.controllerId = controllerId
    }

    /// Decodes images written before `features` existed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clusterId = try c.decode(String.self, forKey: .clusterId)
        controllerId = try c.decode(Int32.self, forKey: .controllerId)
        brokers = try c.decode([Int32: BrokerRegistration].self, forKey: .brokers)
        topics = try c.decode([String: TopicImage].self, forKey: .topics)
        topicNamesByID = try c.decode([TopicID: String].self, forKey: .topicNamesByID)
        brokerConfigs = try c.decode([String: [String: String]].self, forKey: .brokerConfigs)
        nextProducerId = try c.decode(Int64.self, forKey: .nextProducerId)
        features = try c.decodeIfPresent([String: Int16].self, forKey: .features) ?? [:]
        scramCredentials = try c.decodeIfPresent([String: [Int8: ScramCredential]].self, forKey: .scramCredentials) ?? [:]
        acls = try c.decodeIfPresent([String: AclBinding].self, forKey: .acls) ?? [:]
        recordCount = try c.decode(Int64.self, forKey: .recordCount)
    }

    public func topic(id: TopicID) -> TopicImage? { topicNamesByID[id].flatMap { topics[$0] } }

    public func partition(_ topic: String, _ partition: Int32) -> PartitionRegistration? {
        guard let t = topics[topic], partition >= 0, Int(partition) < t.partitions.count else { return nil }
        return t.partitions[Int(partition)]
    }

    /// The image after `record`. Records that do not fit (a partition of an unknown topic) are
    /// ignored, as a replaying broker must not crash on a record the controller accepted.
    public func applying(_ record: MetadataRecord) -> MetadataImage {
        var next = self
        next.apply(record)
        return next
    }

    public mutating func apply(_ record: MetadataRecord) {
        recordCount += 1
        switch record {
        case .registerBroker(let b):
            brokers[b.id] = b
        case let .topic(name, id):
            guard topics[name] == nil else { return }
            topics[name] = TopicImage(name: name, id: id, partitions: [], configs: [:])
            topicNamesByID[id] = name
        case let .partition(topicID, p):
            guard let name = topicNamesByID[topicID], var t = topics[name] else { return }
            let index = Int(p.partition)
            if index < t.partitions.count {
                t.partitions[index] = p
            } else if index == t.partitions.count {
                t.partitions.append(p)
            } else {
                return  // partitions are created densely; a gap means a lost record
            }
            topics[name] = t
        case .removeTopic(let id):
            guard let name = topicNamesByID.removeValue(forKey: id) else { return }
            topics[name] = nil
        case let .config(type, resource, name, value):
            switch type {
            case 2:
                guard var t = topics[resource] else { return }
                t.configs[name] = value
                topics[resource] = t
            case 4:
                brokerConfigs[resource, default: [:]][name] = value
                if brokerConfigs[resource]?.isEmpty == true { brokerConfigs[resource] = nil }
            default:
                return
            }
        case .producerIds(let next):
            nextProducerId = max(nextProducerId, next)
        case .partitionChange(let change):
            guard let name = topicNamesByID[change.topicID], var t = topics[name],
                  change.partition >= 0, Int(change.partition) < t.partitions.count else { return }
            var p = t.partitions[Int(change.partition)]
            if let replicas = change.replicas { p.replicas = replicas }
            if let isr = change.isr { p.isr = isr }
            if let removing = change.removingReplicas { p.removingReplicas = removing }
            if let adding = change.addingReplicas { p.addingReplicas = adding }
            if let leader = change.leader, leader != p.leader {
                p.leader = leader
                p.leaderEpoch += 1
            }
            p.partitionEpoch += 1
            t.partitions[Int(change.partition)] = p
            topics[name] = t
        case let .fenceBroker(id, epoch):
            guard var b = brokers[id], b.epoch == epoch else { return }
            b.fenced = true
            brokers[id] = b
        case let .unfenceBroker(id, epoch):
            guard var b = brokers[id], b.epoch == epoch else { return }
            b.fenced = false
            brokers[id] = b
        case let .brokerRegistrationChange(id, epoch, fenced, shuttingDown):
            guard var b = brokers[id], b.epoch == epoch else { return }
            if let fenced { b.fenced = fenced }
            if let shuttingDown { b.inControlledShutdown = shuttingDown }
            brokers[id] = b
        case let .unregisterBroker(id, epoch):
            guard brokers[id]?.epoch == epoch else { return }
            brokers[id] = nil
        case let .featureLevel(name, level):
            features[name] = level == 0 ? nil : level
        case .noOp:
            break
        case let .scramCredential(name, mechanism, credential):
            scramCredentials[name, default: [:]][mechanism] = credential
        case let .removeScramCredential(name, mechanism):
            scramCredentials[name]?[mechanism] = nil
            if scramCredentials[name]?.isEmpty == true { scramCredentials[name] = nil }
        case let .acl(binding):
            acls[binding.id] = binding
        case let .removeAcl(id):
            acls[id] = nil
        }
    }

    /// `user`'s SCRAM credential for `mechanism`, if any.
    public func scramCredential(_ mechanism: ScramMechanism, user: String) -> ScramCredential? {
        scramCredentials[user]?[mechanism.type]
    }

    /// Live (unfenced) brokers, by id.
    public var liveBrokers: [BrokerRegistration] {
        brokers.values.filter { !$0.fenced }.sorted { $0.id < $1.id }
    }
}
