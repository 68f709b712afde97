import KafkaProtocol
import Logging

/// The active controller's handling of AlterPartition (56) as a pure function of the metadata
/// image: Kafka's `ReplicationControlManager.alterPartition` with `validateAlterPartitionData`
/// (notes §3.4).
///
/// * The sender's broker epoch must be its registered one, else the whole request is refused
///   with a top-level STALE_BROKER_EPOCH (Kafka's `checkBrokerEpoch`).
/// * An unknown topic: UNKNOWN_TOPIC_ID (v2+, by id) or UNKNOWN_TOPIC_OR_PARTITION (v0-1, by
///   name) for each of its partitions.
/// * Each partition is validated in Kafka's order (``validate(brokerId:partition:data:version:image:)``);
///   a valid one gets a PartitionChangeRecord with the new ISR when it differs (applying it
///   bumps the partition epoch) and is answered with the resulting leader, leader epoch, ISR
///   and partition epoch. The same ISR again writes nothing and answers the current state.
/// * Partitions are validated against the image as changed by the earlier partitions of the
///   same request.
///
/// The caller appends ``Outcome/records`` and sends ``Outcome/response`` only once they are
/// committed.
public enum AlterPartitionControl {
    public struct Outcome: Equatable, Sendable {
        public var records: [MetadataRecord]
        public var response: AlterPartitionResponse
    }

    /// LeaderRecoveryState values (KIP-704); partitions here are always RECOVERED.
    static let recovered: Int8 = 0
    static let recovering: Int8 = 1

    public static func alterPartition(_ request: AlterPartitionRequest, version: Int16, image: MetadataImage) -> Outcome {
        var response = AlterPartitionResponse()
        guard let broker = image.brokers[request.brokerId], broker.epoch == request.brokerEpoch else {
            response.errorCode = ErrorCode.staleBrokerEpoch.rawValue
            return Outcome(records: [], response: response)
        }
        var working = image
        var records: [MetadataRecord] = []
        for topicData in request.topics {
            var topicResponse = AlterPartitionResponse.TopicData()
            if version >= 2 { topicResponse.topicId = topicData.topicId } else { topicResponse.topicName = topicData.topicName }
            let name: String? = version >= 2
                ? (topicData.topicId == .zero ? nil : working.topicNamesByID[topicData.topicId])
                : (working.topics[topicData.topicName] != nil ? topicData.topicName : nil)
            guard let name, let topic = working.topics[name] else {
                let code: ErrorCode = version >= 2 ? .unknownTopicId : .unknownTopicOrPartition
                topicResponse.partitions = topicData.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: code.rawValue) }
                response.topics.append(topicResponse)
                continue
            }
            for var data in topicData.partitions {
                if version < 3 { data.newIsrWithEpochs = data.newIsr.map { .init(brokerId: $0, brokerEpoch: -1) } }
                let index = data.partitionIndex
                let current = index >= 0 && Int(index) < topic.partitions.count ? working.topics[name]!.partitions[Int(index)] : nil
                let error = validate(brokerId: request.brokerId, partition: current, data: data, version: version, image: working)
                guard error == ErrorCode.none, var partition = current else {
                    topicResponse.partitions.append(.init(partitionIndex: index, errorCode: error.rawValue))
                    continue
                }
                let newIsr = data.newIsrWithEpochs.map(\.brokerId)
                if newIsr != partition.isr {
                    let record = MetadataRecord.partitionChange(PartitionChange(topicID: topic.id, partition: index, isr: newIsr))
                    working.apply(record)
                    records.append(record)
                    partition = working.topics[name]!.partitions[Int(index)]
                }
                topicResponse.partitions.append(.init(partitionIndex: index, errorCode: 0, leaderId: partition.leader,
                                                      leaderEpoch: partition.leaderEpoch, isr: partition.isr,
                                                      leaderRecoveryState: recovered, partitionEpoch: partition.partitionEpoch))
            }
            response.topics.append(topicResponse)
        }
        return Outcome(records: records, response: response)
    }

    /// Kafka's `validateAlterPartitionData`, in its order:
    /// 1. unknown partition: UNKNOWN_TOPIC_OR_PARTITION;
    /// 2. leader epoch or partition epoch newer than ours (this controller is behind, another
    ///    must be active): NOT_CONTROLLER;
    /// 3. leader epoch older: FENCED_LEADER_EPOCH;
    /// 4. sender is not the leader: INVALID_REQUEST;
    /// 5. partition epoch older: INVALID_UPDATE_VERSION;
    /// 6. ISR with duplicates or non-replicas, or without the leader: INVALID_REQUEST;
    /// 7. RECOVERING with more than one ISR member, or RECOVERED -> RECOVERING (or an unknown
    ///    state): INVALID_REQUEST;
    /// 8. a proposed member unregistered, in controlled shutdown, fenced, or with another broker
    ///    epoch than the one given (-1 skips that check): INELIGIBLE_REPLICA (v2+),
    ///    OPERATION_NOT_ATTEMPTED (v0-1).
    public static func validate(brokerId: Int32, partition: PartitionRegistration?, data: AlterPartitionRequest.PartitionData,
                                version: Int16, image: MetadataImage) -> ErrorCode {
        guard let partition else { return .unknownTopicOrPartition }
        if data.leaderEpoch > partition.leaderEpoch || data.partitionEpoch > partition.partitionEpoch { return .notController }
        if data.leaderEpoch < partition.leaderEpoch { return .fencedLeaderEpoch }
        if brokerId != partition.leader { return .invalidRequest }
        if data.partitionEpoch < partition.partitionEpoch { return .invalidUpdateVersion }
        let newIsr = data.newIsrWithEpochs.map(\.brokerId)
        guard Set(newIsr).count == newIsr.count, newIsr.allSatisfy(partition.replicas.contains) else { return .invalidRequest }
        guard newIsr.contains(partition.leader) else { return .invalidRequest }
        switch data.leaderRecoveryState {
        case recovered: break
        case recovering:
            // Ours are always RECOVERED (no unclean election yet): RECOVERED -> RECOVERING is invalid.
            return .invalidRequest
        default:
            return .invalidRequest
        }
        for member in data.newIsrWithEpochs {
            let eligible: Bool
            if let b = image.brokers[member.brokerId] {
                eligible = !b.inControlledShutdown && !b.fenced && (member.brokerEpoch == -1 || member.brokerEpoch == b.epoch)
            } else {
                eligible = false
            }
            if !eligible { return version >= 2 ? .ineligibleReplica : .operationNotAttempted }
        }
        return .none
    }
}

/// ``AlterPartitionControl`` on the controller's metadata log: validation and records in one
/// atomic step against the log's current image, the answer returned once the records are
/// committed (so a leader never acts on an ISR a controller failover could lose).
public struct AlterPartitionService: Sendable {
    let log: any ControllerMetadataLog

    public init(log: any ControllerMetadataLog) { self.log = log }

    public func alterPartition(_ request: AlterPartitionRequest, version: Int16) async throws -> AlterPartitionResponse {
        try await log.appendComputed { image, _ in
            let outcome = AlterPartitionControl.alterPartition(request, version: version, image: image)
            return (outcome.records, outcome.response)
        }
    }
}
