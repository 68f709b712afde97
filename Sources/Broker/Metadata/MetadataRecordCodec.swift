import KafkaProtocol
import NIOCore

/// Why a ``MetadataRecord`` could not be turned into Kafka's record, or back.
public enum MetadataRecordCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Samsa's record holds a value Kafka's record cannot carry (a port above 65535, a
    /// "leave controlled shutdown" change, which Kafka expresses by re-registering).
    case notExpressible(String)
    /// Kafka's record holds a value this code does not know (a fencing change of 5).
    case invalidValue(String)
    /// The framed bytes did not decode (``MetadataRecordSerde``).
    case serde(MetadataRecordSerdeError)

    public var description: String {
        switch self {
        case .notExpressible(let m): "Metadata record cannot be written in Kafka's format: \(m)"
        case .invalidValue(let m): "Metadata record has an invalid value: \(m)"
        case .serde(let e): e.description
        }
    }
}

/// Samsa's internal ``MetadataRecord`` <-> Kafka's `__cluster_metadata` records (the generated
/// `RegisterBrokerRecord`, `TopicRecord`, ... framed by ``MetadataRecordSerde``).
///
/// ``MetadataRecord`` stays the broker's vocabulary; this codec is the one place that knows
/// Kafka's encoding, so the metadata log and snapshots are what Kafka 3.9/4.x write and read.
///
/// Versions written are those of Kafka 3.9 / 4.0 at their latest production `metadata.version`
/// (3.9-IV0 / 4.0-IV3, directory assignment on, eligible leader replicas off), from Kafka's
/// `MetadataVersion.*RecordVersion()`:
///
/// | record | version | why |
/// |---|---|---|
/// | RegisterBrokerRecord | 3 | LogDirs (directory assignment, 3.7-IV2+) |
/// | PartitionRecord | 1 | Directories (KIP-858); v2 only with ELR |
/// | PartitionChangeRecord | 1 | Directories; v2 only with ELR |
/// | BrokerRegistrationChangeRecord | 2 | LogDirs |
/// | every other record | 0 | their only version |
///
/// Any valid version decodes. Kafka records Samsa does not model (ACLs, quotas,
/// delegation tokens, transactions, ZK migration, controller registrations)
/// decode to `nil`: a replaying broker skips them, as it must not stop on a record a newer
/// controller wrote. Stateless; `Sendable`.
public enum MetadataRecordCodec {
    public static let registerBrokerRecordVersion: Int16 = 3
    public static let partitionRecordVersion: Int16 = 1
    public static let partitionChangeRecordVersion: Int16 = 1
    public static let brokerRegistrationChangeRecordVersion: Int16 = 2

    /// PartitionChangeRecord.Leader: the leader did not change (Kafka's `NO_LEADER_CHANGE`).
    public static let noLeaderChange: Int32 = -2
    /// PartitionChangeRecord/PartitionRecord.Leader: there is no leader (`NO_LEADER`).
    public static let noLeader: Int32 = -1

    /// Kafka's `BrokerRegistrationFencingChange`: the value of BrokerRegistrationChangeRecord.Fenced.
    public enum FencingChange: Int8, Sendable {
        case unfence = -1
        case none = 0
        case fence = 1
    }

    /// Kafka's `BrokerRegistrationInControlledShutdownChange`: the value of
    /// BrokerRegistrationChangeRecord.InControlledShutdown. There is no "leave" value: a broker
    /// leaves controlled shutdown by registering again.
    public enum InControlledShutdownChange: Int8, Sendable {
        case none = 0
        case inControlledShutdown = 1
    }

    /// Kafka's `DirectoryId.UNASSIGNED`: the replica's log directory is not known yet. Samsa
    /// does not assign directory ids, so every replica of a record it writes carries this.
    public static let unassignedDirectory = KafkaUUID.zero

    // MARK: Samsa -> Kafka

    /// Kafka's record (and the version to write it at) for `record`.
    public static func kafkaRecord(for record: MetadataRecord) throws(MetadataRecordCodecError) -> MetadataRecordAndVersion {
        switch record {
        case .registerBroker(let b):
            var r = RegisterBrokerRecord()
            r.brokerId = b.id
            r.incarnationId = b.incarnationId
            r.brokerEpoch = b.epoch
            r.endPoints = try b.endpoints.map { e throws(MetadataRecordCodecError) in
                guard let port = UInt16(exactly: e.port) else {
                    throw .notExpressible("broker \(b.id) endpoint \(e.listener) port \(e.port) is not a uint16")
                }
                return RegisterBrokerRecord.BrokerEndpoint(name: e.listener, host: e.host, port: port, securityProtocol: e.securityProtocol)
            }
            r.rack = b.rack
            r.fenced = b.fenced
            r.inControlledShutdown = b.inControlledShutdown
            return MetadataRecordAndVersion(r, version: registerBrokerRecordVersion)
        case let .topic(name, id):
            return MetadataRecordAndVersion(TopicRecord(name: name, topicId: id), version: 0)
        case let .partition(topicID, p):
            var r = PartitionRecord()
            r.partitionId = p.partition
            r.topicId = topicID
            r.replicas = p.replicas
            r.isr = p.isr
            r.leader = p.leader
            r.leaderRecoveryState = 0
            r.leaderEpoch = p.leaderEpoch
            r.partitionEpoch = p.partitionEpoch
            r.directories = Array(repeating: unassignedDirectory, count: p.replicas.count)
            r.removingReplicas = p.removingReplicas
            r.addingReplicas = p.addingReplicas
            return MetadataRecordAndVersion(r, version: partitionRecordVersion)
        case .removeTopic(let id):
            return MetadataRecordAndVersion(RemoveTopicRecord(topicId: id), version: 0)
        case let .config(type, resource, name, value):
            return MetadataRecordAndVersion(ConfigRecord(resourceType: type, resourceName: resource, name: name, value: value), version: 0)
        case .producerIds(let next):
            // Samsa's record keeps only the next block start (all Kafka's replay uses); the
            // requesting broker is not recorded, so BrokerId/BrokerEpoch say "none".
            return MetadataRecordAndVersion(ProducerIdsRecord(brokerId: -1, brokerEpoch: -1, nextProducerId: next), version: 0)
        case .partitionChange(let c):
            var r = PartitionChangeRecord()
            r.partitionId = c.partition
            r.topicId = c.topicID
            r.isr = c.isr
            r.leader = c.leader ?? noLeaderChange
            r.replicas = c.replicas
            r.removingReplicas = c.removingReplicas
            r.addingReplicas = c.addingReplicas
            if let replicas = c.replicas {
                r.directories = Array(repeating: unassignedDirectory, count: replicas.count)
            }
            if let leader = c.leader, leader < noLeader {
                throw .notExpressible("partition change leader \(leader)")
            }
            return MetadataRecordAndVersion(r, version: partitionChangeRecordVersion)
        case let .fenceBroker(id, epoch):
            return MetadataRecordAndVersion(FenceBrokerRecord(id: id, epoch: epoch), version: 0)
        case let .unfenceBroker(id, epoch):
            return MetadataRecordAndVersion(UnfenceBrokerRecord(id: id, epoch: epoch), version: 0)
        case let .brokerRegistrationChange(id, epoch, fenced, shuttingDown):
            var r = BrokerRegistrationChangeRecord()
            r.brokerId = id
            r.brokerEpoch = epoch
            r.fenced = (fenced.map { $0 ? FencingChange.fence : .unfence } ?? .none).rawValue
            switch shuttingDown {
            case nil: r.inControlledShutdown = InControlledShutdownChange.none.rawValue
            case true?: r.inControlledShutdown = InControlledShutdownChange.inControlledShutdown.rawValue
            case false?:
                throw .notExpressible("broker \(id): leaving controlled shutdown (Kafka re-registers the broker instead)")
            }
            return MetadataRecordAndVersion(r, version: brokerRegistrationChangeRecordVersion)
        case let .unregisterBroker(id, epoch):
            return MetadataRecordAndVersion(UnregisterBrokerRecord(brokerId: id, brokerEpoch: epoch), version: 0)
        case let .featureLevel(name, level):
            return MetadataRecordAndVersion(FeatureLevelRecord(name: name, featureLevel: level), version: 0)
        case .noOp:
            return MetadataRecordAndVersion(NoOpRecord(), version: 0)
        case let .scramCredential(name, mechanism, c):
            return MetadataRecordAndVersion(UserScramCredentialRecord(
                name: name, mechanism: mechanism, salt: ByteBuffer(bytes: c.salt), storedKey: ByteBuffer(bytes: c.storedKey),
                serverKey: ByteBuffer(bytes: c.serverKey), iterations: Int32(clamping: c.iterations)), version: 0)
        case let .removeScramCredential(name, mechanism):
            return MetadataRecordAndVersion(RemoveUserScramCredentialRecord(name: name, mechanism: mechanism), version: 0)
        case let .acl(b):
            guard let id = KafkaUUID(b.id) else { throw .notExpressible("ACL id \(b.id) is not a Kafka UUID") }
            return MetadataRecordAndVersion(AccessControlEntryRecord(
                id: id, resourceType: b.resourceType.rawValue, resourceName: b.resourceName, patternType: b.patternType.rawValue,
                principal: b.principal, host: b.host, operation: b.operation.rawValue, permissionType: b.permission.rawValue), version: 0)
        case let .removeAcl(id):
            guard let uuid = KafkaUUID(id) else { throw .notExpressible("ACL id \(id) is not a Kafka UUID") }
            return MetadataRecordAndVersion(RemoveAccessControlEntryRecord(id: uuid), version: 0)
        }
    }

    /// `record` as the framed bytes of one metadata log record value.
    public static func encode(_ record: MetadataRecord) throws -> ByteBuffer {
        let kafka = try kafkaRecord(for: record)
        return try MetadataRecordSerde.encode(kafka.record, version: kafka.version)
    }

    // MARK: Kafka -> Samsa

    /// Samsa's record for Kafka's `record`, or nil for a record type Samsa does not model.
    public static func metadataRecord(from record: any KafkaMetadataRecord) throws(MetadataRecordCodecError) -> MetadataRecord? {
        switch record {
        case let r as RegisterBrokerRecord:
            return .registerBroker(BrokerRegistration(
                id: r.brokerId,
                endpoints: r.endPoints.map { BrokerEndpoint(listener: $0.name, host: $0.host, port: Int32($0.port), securityProtocol: $0.securityProtocol) },
                rack: r.rack, fenced: r.fenced, epoch: r.brokerEpoch, incarnationId: r.incarnationId,
                inControlledShutdown: r.inControlledShutdown))
        case let r as TopicRecord:
            return .topic(name: r.name, id: r.topicId)
        case let r as PartitionRecord:
            return .partition(topicID: r.topicId, PartitionRegistration(
                partition: r.partitionId, replicas: r.replicas, isr: r.isr, leader: r.leader,
                leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch,
                removingReplicas: r.removingReplicas, addingReplicas: r.addingReplicas))
        case let r as RemoveTopicRecord:
            return .removeTopic(r.topicId)
        case let r as ConfigRecord:
            return .config(resourceType: r.resourceType, resourceName: r.resourceName, name: r.name, value: r.value)
        case let r as ProducerIdsRecord:
            return .producerIds(nextProducerId: r.nextProducerId)
        case let r as PartitionChangeRecord:
            let leader: Int32?
            switch r.leader {
            case noLeaderChange: leader = nil
            case noLeader...: leader = r.leader
            default: throw .invalidValue("PartitionChangeRecord leader \(r.leader)")
            }
            return .partitionChange(PartitionChange(topicID: r.topicId, partition: r.partitionId, leader: leader,
                                                    isr: r.isr, replicas: r.replicas,
                                                    removingReplicas: r.removingReplicas, addingReplicas: r.addingReplicas))
        case let r as FenceBrokerRecord:
            return .fenceBroker(id: r.id, epoch: r.epoch)
        case let r as UnfenceBrokerRecord:
            return .unfenceBroker(id: r.id, epoch: r.epoch)
        case let r as BrokerRegistrationChangeRecord:
            guard let fencing = FencingChange(rawValue: r.fenced) else {
                throw .invalidValue("BrokerRegistrationChangeRecord fenced \(r.fenced)")
            }
            guard let shutdown = InControlledShutdownChange(rawValue: r.inControlledShutdown) else {
                throw .invalidValue("BrokerRegistrationChangeRecord inControlledShutdown \(r.inControlledShutdown)")
            }
            let fenced: Bool? = switch fencing { case .none: nil; case .fence: true; case .unfence: false }
            return .brokerRegistrationChange(id: r.brokerId, epoch: r.brokerEpoch, fenced: fenced,
                                             inControlledShutdown: shutdown == .inControlledShutdown ? true : nil)
        case let r as UnregisterBrokerRecord:
            return .unregisterBroker(id: r.brokerId, epoch: r.brokerEpoch)
        case let r as FeatureLevelRecord:
            return .featureLevel(name: r.name, level: r.featureLevel)
        case is NoOpRecord:
            return .noOp
        case let r as UserScramCredentialRecord:
            return .scramCredential(name: r.name, mechanism: r.mechanism, ScramCredential(
                salt: Array(r.salt.readableBytesView), storedKey: Array(r.storedKey.readableBytesView),
                serverKey: Array(r.serverKey.readableBytesView), iterations: Int(r.iterations)))
        case let r as RemoveUserScramCredentialRecord:
            return .removeScramCredential(name: r.name, mechanism: r.mechanism)
        case let r as AccessControlEntryRecord:
            // Codes this version does not know are kept as UNKNOWN: such a binding never matches.
            return .acl(AclBinding(id: r.id.description, resourceType: AclResourceType(rawValue: r.resourceType) ?? .unknown,
                                   resourceName: r.resourceName, patternType: AclPatternType(rawValue: r.patternType) ?? .unknown,
                                   principal: r.principal, host: r.host, operation: AclOperation(rawValue: r.operation) ?? .unknown,
                                   permission: AclPermission(rawValue: r.permissionType) ?? .unknown))
        case let r as RemoveAccessControlEntryRecord:
            return .removeAcl(id: r.id.description)
        default:
            return nil
        }
    }

    /// Decodes the framed bytes of one metadata log record value.
    public static func decode(_ value: ByteBuffer) throws(MetadataRecordCodecError) -> MetadataRecord? {
        let decoded: MetadataRecordAndVersion
        do { decoded = try MetadataRecordSerde.decode(value) } catch { throw .serde(error) }
        return try metadataRecord(from: decoded.record)
    }
}
