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
}

/// A broker as registered with the controller.
public struct BrokerRegistration: Equatable, Sendable, Codable {
    public var id: Int32
    public var endpoints: [BrokerEndpoint]
    public var rack: String?
    /// A fenced broker is not given leaderships and is not listed to clients.
    public var fenced: Bool
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
    /// How many records produced this image (the metadata offset + 1).
    public var recordCount: Int64 = 0

    public init(clusterId: String, controllerId: Int32) {
        self.clusterId = clusterId; self.controllerId = controllerId
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
        }
    }

    /// Live (unfenced) brokers, by id.
    public var liveBrokers: [BrokerRegistration] {
        brokers.values.filter { !$0.fenced }.sorted { $0.id < $1.id }
    }
}
